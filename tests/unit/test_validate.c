/* Shared request checks: request ids, free text, UTF-8, and the card-number guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "domain/validate.h"

static void request_ids(void **state) {
  (void)state;
  ccpay_error e;
  assert_int_equal(validate_request_id("order-42-attempt", &e), CCPAY_OK);
  assert_int_equal(validate_request_id("", &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_non_null(strstr(e.message, "request_id"));
  assert_int_equal(validate_request_id("has space", &e), CCPAY_ERR_FIELD_INVALID);
  assert_int_equal(validate_request_id("tab\there", &e), CCPAY_ERR_FIELD_INVALID);
  char longest[REQUEST_ID_BYTES_MAX + 2];
  memset(longest, 'a', sizeof longest);
  longest[REQUEST_ID_BYTES_MAX] = '\0';
  assert_int_equal(validate_request_id(longest, &e), CCPAY_OK);
  longest[REQUEST_ID_BYTES_MAX] = 'a';
  longest[REQUEST_ID_BYTES_MAX + 1] = '\0';
  assert_int_equal(validate_request_id(longest, &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
}

static void utf8(void **state) {
  (void)state;
  const char *good[] = {"plain", "Jos\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x92\xb3"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_true(validate_utf8(good[i], strlen(good[i])));
  }
  const char *bad[] = {"\xc3",         "\xc0\xaf",         "\xe0\x80\xaf",
                       "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(validate_utf8(bad[i], strlen(bad[i])));
  }
}

static void card_numbers(void **state) {
  (void)state;
  /* Luhn-valid test PANs, plain and grouped, alone or inside text. */
  assert_true(validate_has_card_number("4111111111111111"));
  assert_true(validate_has_card_number("4111 1111 1111 1111"));
  assert_true(validate_has_card_number("card 4111-1111-1111-1111 exp 12/29"));
  assert_true(validate_has_card_number("5555555555554444"));
  assert_true(validate_has_card_number("378282246310005")); /* 15 digits */
  /* Not card numbers: Luhn-invalid, too short, phone numbers, order references. */
  assert_false(validate_has_card_number("4111111111111112"));
  assert_false(validate_has_card_number("411111111111"));
  assert_false(validate_has_card_number("+1 (555) 010-0000"));
  assert_false(validate_has_card_number("order 12345 for Ada"));
  assert_false(validate_has_card_number(""));
  /* More than 19 digits is not a PAN. */
  assert_false(validate_has_card_number("41111111111111111111111"));
}

static void text_fields(void **state) {
  (void)state;
  ccpay_error e;
  assert_int_equal(validate_text("customer.name", "Dana Reyes", 200, true, &e), CCPAY_OK);
  assert_int_equal(validate_text("customer.name", "", 200, true, &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_string_equal(e.message, "customer.name: required");
  assert_int_equal(validate_text("customer.email", "", 200, false, &e), CCPAY_OK);
  assert_int_equal(validate_text("f", "abcdef", 5, true, &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_int_equal(validate_text("f", "line\nbreak", 50, true, &e), CCPAY_ERR_FIELD_INVALID);
  assert_int_equal(validate_text("f", "bad \xff utf8", 50, true, &e), CCPAY_ERR_FIELD_INVALID);
  assert_int_equal(validate_text("customer.name", "4111 1111 1111 1111", 50, true, &e),
                   CCPAY_ERR_CARD_DATA_IN_TEXT);
  assert_non_null(strstr(e.message, "customer.name"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(request_ids),
      cmocka_unit_test(utf8),
      cmocka_unit_test(card_numbers),
      cmocka_unit_test(text_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
