#include "paging.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"

static const char hex_digits[] = "0123456789abcdef";

ccpay_err paging_size(int32_t page_size, unsigned *out, ccpay_error *error) {
  if (page_size < 0 || page_size > PAGE_SIZE_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "page_size: must be 0 (the default, %d) to %d", PAGE_SIZE_DEFAULT,
                           PAGE_SIZE_MAX);
  }
  *out = page_size == 0 ? PAGE_SIZE_DEFAULT : (unsigned)page_size;
  return CCPAY_OK;
}

static int hex_value(char c) {
  const char *p = c != '\0' ? strchr(hex_digits, c) : NULL;
  return p == NULL ? -1 : (int)(p - hex_digits);
}

ccpay_err paging_decode(const char *token, uint8_t listing, arena *a, uint8_t **key,
                        size_t *key_len, ccpay_error *error) {
  *key = NULL;
  *key_len = 0;
  size_t len = strnlen(token, PAGE_TOKEN_BYTES_MAX + 1);
  if (len == 0) return CCPAY_OK;
  if (len > PAGE_TOKEN_BYTES_MAX || len % 2 != 0 || len < 4) goto invalid;
  uint8_t *bytes = arena_alloc(a, len / 2);
  if (bytes == NULL) goto invalid;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_value(token[2 * i]);
    int lo = hex_value(token[2 * i + 1]);
    if (hi < 0 || lo < 0) goto invalid;
    bytes[i] = (uint8_t)(hi << 4 | lo);
  }
  if (bytes[0] != listing) goto invalid;
  *key = bytes + 1;
  *key_len = len / 2 - 1;
  return CCPAY_OK;

invalid:
  return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "page_token: not a token this listing gave out; pass next_page_token "
                         "from the previous page unchanged, with the same filters");
}

char *paging_encode(uint8_t listing, const uint8_t *key, size_t key_len, arena *a) {
  if (key == NULL) return arena_strndup(a, "", 0);
  CHECK(2 * (key_len + 1) <= PAGE_TOKEN_BYTES_MAX);
  char *token = arena_alloc(a, 2 * (key_len + 1) + 1);
  if (token == NULL) return NULL;
  token[0] = hex_digits[listing >> 4];
  token[1] = hex_digits[listing & 15];
  for (size_t i = 0; i < key_len; i++) {
    token[2 + 2 * i] = hex_digits[key[i] >> 4];
    token[3 + 2 * i] = hex_digits[key[i] & 15];
  }
  token[2 * (key_len + 1)] = '\0';
  return token;
}
