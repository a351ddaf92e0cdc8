#include "keys.h"

#include <string.h>

#include "base/check.h"

void key_init(key_builder *k) {
  CHECK(k != NULL);
  k->len = 0;
  k->overflow = false;
}

/* Appends len bytes, or marks the key unusable when they do not fit: a truncated key
 * would silently name another record, so nothing is appended then. */
static void key_append(key_builder *k, const void *bytes, size_t len) {
  CHECK(k != NULL);
  CHECK(k->len <= sizeof k->bytes);
  if (k->overflow || len > sizeof k->bytes - k->len) {
    k->overflow = true;
    return;
  }
  if (len > 0) memcpy(k->bytes + k->len, bytes, len);
  k->len += len;
}

void key_add_u64(key_builder *k, uint64_t value) {
  uint8_t be[8];
  key_put_u64(be, value);
  key_append(k, be, sizeof be);
}

void key_add_i64(key_builder *k, int64_t value) {
  /* Flipping the sign bit maps INT64_MIN..INT64_MAX onto 0..UINT64_MAX in order, so
   * negative values sort before positive ones byte by byte. */
  key_add_u64(k, (uint64_t)value ^ ((uint64_t)1 << 63));
}

void key_add_str(key_builder *k, const char *text) {
  CHECK(text != NULL);
  key_append(k, text, strlen(text) + 1); /* with the 0x00 that ends it */
}

void key_add_bytes(key_builder *k, const void *bytes, size_t len) {
  CHECK(bytes != NULL || len == 0);
  key_append(k, bytes, len);
}

void key_put_u64(uint8_t out[8], uint64_t value) {
  CHECK(out != NULL);
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)(value & 0xff);
    value >>= 8;
  }
}

uint64_t key_get_u64(const uint8_t in[8]) {
  CHECK(in != NULL);
  uint64_t value = 0;
  for (int i = 0; i < 8; i++) value = (value << 8) | in[i];
  return value;
}
