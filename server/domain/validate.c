#include "validate.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"

enum { PAN_DIGITS_MIN = 13, PAN_DIGITS_MAX = 19 };

ccpay_err validate_request_id(const char *request_id, ccpay_error *error) {
  size_t len = strnlen(request_id, REQUEST_ID_BYTES_MAX + 1);
  if (len == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "request_id: required (an idempotency key, unique per change)");
  }
  if (len > REQUEST_ID_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "request_id: at most %d characters",
                           REQUEST_ID_BYTES_MAX);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)request_id[i];
    if (c < 0x21 || c > 0x7e) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "request_id: only printable ASCII without spaces");
    }
  }
  return CCPAY_OK;
}

bool validate_utf8(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t extra;
    unsigned cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (len - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false; /* overlong */
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

static bool luhn_valid(const char *digits, size_t count) {
  unsigned sum = 0;
  for (size_t i = 0; i < count; i++) {
    unsigned d = (unsigned)(digits[count - 1 - i] - '0');
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

bool validate_has_card_number(const char *text) {
  char digits[PAN_DIGITS_MAX + 1];
  for (const char *start = text; *start != '\0'; start++) {
    if (*start < '0' || *start > '9') continue;
    if (start != text && start[-1] >= '0' && start[-1] <= '9') continue; /* not a run start */
    /* Gather the run: digits, with single spaces or dashes between them. */
    size_t count = 0;
    for (const char *p = start; *p != '\0'; p++) {
      if (*p >= '0' && *p <= '9') {
        if (count == PAN_DIGITS_MAX) break; /* longer than any card number */
        digits[count++] = *p;
        /* Every length from 13 up is a candidate: "4111...1111 ext 12" still leaks. */
        if (count >= PAN_DIGITS_MIN && luhn_valid(digits, count)) {
          char next = p[1];
          bool run_ends = next < '0' || next > '9';
          if (run_ends) return true;
        }
      } else if ((*p == ' ' || *p == '-') && p[1] >= '0' && p[1] <= '9') {
        continue;
      } else {
        break;
      }
    }
  }
  return false;
}

ccpay_err validate_text(const char *field, const char *text, size_t bytes_max, bool required,
                        ccpay_error *error) {
  CHECK(field != NULL && text != NULL);
  size_t len = strlen(text);
  if (len == 0) {
    return required ? ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field)
                    : CCPAY_OK;
  }
  if (len > bytes_max) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s: at most %zu bytes", field,
                           bytes_max);
  }
  if (!validate_utf8(text, len)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s: not valid UTF-8", field);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x20 || c == 0x7f) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "%s: control characters are not allowed", field);
    }
  }
  if (validate_has_card_number(text)) {
    return ccpay_error_set(error, CCPAY_ERR_CARD_DATA_IN_TEXT,
                           "%s: looks like a card number; card data must never be stored", field);
  }
  return CCPAY_OK;
}

ccpay_err validate_code(const char *field, const char *code, size_t bytes_max, ccpay_error *error) {
  size_t len = strnlen(code, bytes_max + 1);
  if (len == 0) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field);
  bool ok = len <= bytes_max;
  for (size_t i = 0; ok && i < len; i++) {
    char c = code[i];
    ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  if (!ok) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s: 1 to %zu upper-case letters, digits or underscores", field,
                           bytes_max);
  }
  /* Digits are allowed, so a code could carry a card number: never store one. */
  if (validate_has_card_number(code)) {
    return ccpay_error_set(error, CCPAY_ERR_CARD_DATA_IN_TEXT,
                           "%s: looks like a card number; card data must never be stored", field);
  }
  return CCPAY_OK;
}
