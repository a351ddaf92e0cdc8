/* Page tokens round-trip, belong to one listing, and refuse tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "services/paging.h"

static void sizes(void **state) {
  (void)state;
  unsigned size = 0;
  ccpay_error e;
  assert_int_equal(paging_size(0, &size, &e), CCPAY_OK);
  assert_int_equal(size, PAGE_SIZE_DEFAULT);
  assert_int_equal(paging_size(PAGE_SIZE_MAX, &size, &e), CCPAY_OK);
  assert_int_equal(size, PAGE_SIZE_MAX);
  assert_int_equal(paging_size(PAGE_SIZE_MAX + 1, &size, &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_non_null(strstr(e.message, "page_size"));
  assert_int_equal(paging_size(-1, &size, &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
}

static void tokens(void **state) {
  (void)state;
  arena *a = arena_create(1 << 16);
  const uint8_t key[] = {0x00, 0x01, 0xfe, 0xff, 'a', 0};
  char *token = paging_encode(7, key, sizeof key, a);
  assert_non_null(token);
  uint8_t *decoded = NULL;
  size_t len = 0;
  ccpay_error e;
  assert_int_equal(paging_decode(token, 7, a, &decoded, &len, &e), CCPAY_OK);
  assert_int_equal(len, sizeof key);
  assert_memory_equal(decoded, key, sizeof key);
  /* Another listing's token, a tampered one, an odd-length one. */
  assert_int_equal(paging_decode(token, 8, a, &decoded, &len, &e), CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(e.message, "page_token"));
  token[3] = 'z';
  assert_int_equal(paging_decode(token, 7, a, &decoded, &len, &e), CCPAY_ERR_FIELD_INVALID);
  assert_int_equal(paging_decode("070", 7, a, &decoded, &len, &e), CCPAY_ERR_FIELD_INVALID);
  /* The empty token starts at the beginning; the last page gives an empty token. */
  assert_int_equal(paging_decode("", 7, a, &decoded, &len, &e), CCPAY_OK);
  assert_null(decoded);
  assert_string_equal(paging_encode(7, NULL, 0, a), "");
  arena_destroy(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(sizes), cmocka_unit_test(tokens)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
