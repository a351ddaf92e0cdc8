#include "form.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"

static bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

size_t form_encode(const char *text, bool key, char *out, size_t size) {
  static const char hex[] = "0123456789ABCDEF";
  CHECK(text != NULL && out != NULL && size >= 1);
  size_t used = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    bool plain = unreserved(*p) || (key && (*p == '[' || *p == ']'));
    size_t need = plain ? 1 : 3;
    if (used + need + 1 > size) {
      out[0] = '\0';
      return (size_t)-1;
    }
    if (plain) {
      out[used++] = (char)*p;
    } else {
      out[used++] = '%';
      out[used++] = hex[*p >> 4];
      out[used++] = hex[*p & 0x0f];
    }
  }
  out[used] = '\0';
  return used;
}

void form_body_init(form_body *f, arena *a, size_t capacity) {
  CHECK(capacity >= 1 && capacity <= FORM_BODY_BYTES_MAX);
  memset(f, 0, sizeof *f);
  f->text = arena_alloc(a, capacity);
  f->capacity = capacity;
  f->overflowed = f->text == NULL;
  if (f->text != NULL) f->text[0] = '\0';
}

void form_body_add(form_body *f, const char *key, const char *value) {
  CHECK(key != NULL && key[0] != '\0' && value != NULL);
  if (f->overflowed) return;
  size_t start = f->len;
  size_t at = start;
  if (at > 0) {
    if (at + 2 > f->capacity) goto overflow;
    f->text[at++] = '&';
  }
  size_t n = form_encode(key, true, f->text + at, f->capacity - at);
  if (n == (size_t)-1) goto overflow;
  at += n;
  if (at + 2 > f->capacity) goto overflow;
  f->text[at++] = '=';
  n = form_encode(value, false, f->text + at, f->capacity - at);
  if (n == (size_t)-1) goto overflow;
  f->len = at + n;
  CHECK(f->len < f->capacity && f->text[f->len] == '\0');
  return;

overflow:
  f->text[start] = '\0';
  f->overflowed = true;
}

void form_body_add_int(form_body *f, const char *key, int64_t value) {
  char digits[24];
  snprintf(digits, sizeof digits, "%" PRId64, value);
  form_body_add(f, key, digits);
}

const char *form_body_text(const form_body *f) { return f->overflowed ? NULL : f->text; }
