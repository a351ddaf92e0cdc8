/* Key encoding. Keys are built big-endian so LMDB's byte order is numeric order, and
 * "newest first" index entries store the bitwise complement of an id. Strings in keys
 * end with 0x00 (they never contain it: validation refuses control bytes). */
#ifndef CCPAY_STORAGE_KEYS_H
#define CCPAY_STORAGE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

typedef struct key_builder {
  uint8_t bytes[STORE_KEY_BYTES_MAX];
  size_t len;
  bool overflow; /* set once anything did not fit; the key must not be used then */
} key_builder;

void key_init(key_builder *k);
void key_add_u64(key_builder *k, uint64_t value);   /* 8 bytes, big-endian */
void key_add_i64(key_builder *k, int64_t value);    /* 8 bytes, sign bit flipped so order holds */
void key_add_str(key_builder *k, const char *text); /* the bytes, then 0x00 */
void key_add_bytes(key_builder *k, const void *bytes, size_t len); /* raw, no terminator */

void key_put_u64(uint8_t out[8], uint64_t value);
uint64_t key_get_u64(const uint8_t in[8]);

#endif
