/* rpc_wire: a NUL inside a string field, at the top or nested, is found and named; other
 * bytes (NULs in numbers, unknown fields) are not; malformed bytes are said to be so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <string.h>

#include "ccpay/v1/customer.pb-c.h"
#include "rpc/rpc_wire.h"

static const ProtobufCMessageDescriptor *create = &ccpay__v1__create_customer_request__descriptor;

static void test_clean_and_empty(void **state) {
  (void)state;
  /* customer { name: "Ana" } request_id: "r-1"; a zero varint elsewhere is not a string. */
  static const uint8_t bytes[] = {0x0a, 0x05, 0x12, 0x03, 'A', 'n', 'a', 0x12, 0x03, 'r', '-', '1'};
  assert_int_equal(rpc_wire_check_strings(create, bytes, sizeof bytes, NULL), RPC_WIRE_CLEAN);
  assert_int_equal(rpc_wire_check_strings(create, NULL, 0, NULL), RPC_WIRE_CLEAN);
}

static void test_nul_found_and_named(void **state) {
  (void)state;
  const char *field = NULL;
  static const uint8_t top[] = {0x12, 0x05, 'r', '-', 0x00, '-', '1'};
  assert_int_equal(rpc_wire_check_strings(create, top, sizeof top, &field), RPC_WIRE_NUL);
  assert_string_equal(field, "request_id");
  static const uint8_t nested[] = {0x0a, 0x05, 0x12, 0x03, 'A', 0x00, 'a'};
  assert_int_equal(rpc_wire_check_strings(create, nested, sizeof nested, &field), RPC_WIRE_NUL);
  assert_string_equal(field, "name");
}

static void test_unknown_fields_and_malformed(void **state) {
  (void)state;
  /* Field 15 (unknown) with a NUL in its bytes: not a string we know, left alone. */
  static const uint8_t unknown[] = {0x7a, 0x02, 0x00, 0x00};
  assert_int_equal(rpc_wire_check_strings(create, unknown, sizeof unknown, NULL), RPC_WIRE_CLEAN);
  static const uint8_t truncated[] = {0x12, 0x09, 'r'};
  assert_int_equal(rpc_wire_check_strings(create, truncated, sizeof truncated, NULL),
                   RPC_WIRE_MALFORMED);
  /* Field number 0, its key written in two bytes: protobuf-c decodes it, the walker
   * does not (a fuzzing find). */
  static const uint8_t field_zero[] = {0x1d, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00};
  assert_int_equal(rpc_wire_check_strings(create, field_zero, sizeof field_zero, NULL),
                   RPC_WIRE_MALFORMED);
  static const uint8_t group[] = {0x0b, 0x0c};
  assert_int_equal(rpc_wire_check_strings(create, group, sizeof group, NULL), RPC_WIRE_MALFORMED);
  static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(rpc_wire_check_strings(create, long_varint, sizeof long_varint, NULL),
                   RPC_WIRE_MALFORMED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_and_empty),
      cmocka_unit_test(test_nul_found_and_named),
      cmocka_unit_test(test_unknown_fields_and_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
