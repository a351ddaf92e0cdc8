/* Key encoding: byte order of built keys must be the order of the values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storage/keys.h"

/* memcmp order of two keys, shorter first on a common prefix, as LMDB compares. */
static int key_compare(const key_builder *a, const key_builder *b) {
  size_t len = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->bytes, b->bytes, len);
  if (c != 0) return c;
  return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static void test_u64_order(void **state) {
  (void)state;
  const uint64_t values[] = {0,          1,
                             255,        256,
                             65535,      65536,
                             1ULL << 32, (1ULL << 32) + 1,
                             1ULL << 63, UINT64_MAX - 1,
                             UINT64_MAX};
  size_t count = sizeof values / sizeof values[0];
  for (size_t i = 0; i + 1 < count; i++) {
    key_builder a, b;
    key_init(&a);
    key_init(&b);
    key_add_u64(&a, values[i]);
    key_add_u64(&b, values[i + 1]);
    assert_int_equal(a.len, 8);
    assert_true(key_compare(&a, &b) < 0);
    assert_true(key_get_u64(a.bytes) == values[i]);
  }
}

static void test_u64_big_endian(void **state) {
  (void)state;
  uint8_t out[8];
  key_put_u64(out, 0x0102030405060708ULL);
  const uint8_t expected[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_memory_equal(out, expected, 8);
  assert_true(key_get_u64(out) == 0x0102030405060708ULL);
}

static void test_i64_order(void **state) {
  (void)state;
  const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -65536, -256,          -1,       0, 1,
                            255,       256,           65536,  INT64_MAX - 1, INT64_MAX};
  size_t count = sizeof values / sizeof values[0];
  for (size_t i = 0; i + 1 < count; i++) {
    key_builder a, b;
    key_init(&a);
    key_init(&b);
    key_add_i64(&a, values[i]);
    key_add_i64(&b, values[i + 1]);
    assert_true(key_compare(&a, &b) < 0);
  }
  /* Zero is 0x80 followed by zeros: the sign bit flipped. */
  key_builder zero;
  key_init(&zero);
  key_add_i64(&zero, 0);
  assert_int_equal(zero.bytes[0], 0x80);
  assert_int_equal(zero.bytes[7], 0);
}

static void test_string_order(void **state) {
  (void)state;
  /* The terminator sorts a string before its extensions, whatever follows it. */
  const char *values[] = {"", "a", "ann", "anna", "annb", "b", "z"};
  size_t count = sizeof values / sizeof values[0];
  for (size_t i = 0; i + 1 < count; i++) {
    key_builder a, b;
    key_init(&a);
    key_init(&b);
    key_add_str(&a, values[i]);
    key_add_u64(&a, UINT64_MAX);
    key_add_str(&b, values[i + 1]);
    key_add_u64(&b, 0);
    assert_int_equal(a.len, strlen(values[i]) + 1 + 8);
    assert_int_equal(a.bytes[strlen(values[i])], 0);
    assert_true(key_compare(&a, &b) < 0);
  }
}

static void test_bytes_and_overflow(void **state) {
  (void)state;
  key_builder k;
  key_init(&k);
  key_add_bytes(&k, "abc", 3);
  assert_int_equal(k.len, 3);
  assert_memory_equal(k.bytes, "abc", 3);
  assert_false(k.overflow);

  uint8_t big[STORE_KEY_BYTES_MAX];
  memset(big, 'x', sizeof big);
  key_add_bytes(&k, big, sizeof big - 3); /* exactly full */
  assert_int_equal(k.len, STORE_KEY_BYTES_MAX);
  assert_false(k.overflow);
  key_add_u64(&k, 1); /* does not fit: nothing appended, key marked */
  assert_true(k.overflow);
  assert_int_equal(k.len, STORE_KEY_BYTES_MAX);
  key_add_bytes(&k, "", 0); /* stays marked */
  assert_true(k.overflow);

  key_init(&k);
  assert_false(k.overflow);
  assert_int_equal(k.len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_u64_order),          cmocka_unit_test(test_u64_big_endian),
      cmocka_unit_test(test_i64_order),          cmocka_unit_test(test_string_order),
      cmocka_unit_test(test_bytes_and_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
