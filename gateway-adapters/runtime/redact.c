#include "redact.h"

#include <stdbool.h>
#include <string.h>

#include "base/check.h"

/* The length of the longest secret that occurs at text (0: none). A secret of which only
 * a prefix (>= REDACT_PREFIX_BYTES_MIN bytes) is left before the end of text counts. */
static size_t match_at(const char *text, size_t left, const char *const *secrets, size_t count) {
  size_t best = 0;
  for (size_t i = 0; i < count; i++) {
    const char *secret = secrets[i];
    if (secret == NULL || secret[0] == '\0') continue;
    size_t len = strlen(secret);
    size_t n = len <= left ? len : left;
    if (memcmp(text, secret, n) != 0) continue;
    bool whole = n == len;
    bool cut_tail = n < len && n >= REDACT_PREFIX_BYTES_MIN;
    if ((whole || cut_tail) && n > best) best = n;
  }
  return best;
}

size_t redact_text(const char *text, const char *const *secrets, size_t count, char *out,
                   size_t size) {
  CHECK(out != NULL && size >= 1);
  if (text == NULL) text = "";
  size_t left = strlen(text);
  size_t used = 0;
  const size_t mark_len = strlen(REDACT_MARK);
  while (left > 0 && used + 1 < size) {
    size_t matched = match_at(text, left, secrets, count);
    if (matched > 0) {
      /* The mark is cut where the buffer ends; the secret itself is never copied. */
      size_t n = mark_len < size - 1 - used ? mark_len : size - 1 - used;
      memcpy(out + used, REDACT_MARK, n);
      used += n;
      text += matched;
      left -= matched;
      continue;
    }
    out[used++] = *text++;
    left--;
  }
  out[used] = '\0';
  CHECK(used < size);
  return used;
}
