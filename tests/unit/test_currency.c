/* The currency table: exponents of the standard, lookups, order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "domain/currency.h"

static void known_exponents(void **state) {
  (void)state;
  struct {
    const char *code;
    int exponent;
    int numeric;
  } cases[] = {{"USD", 2, 840}, {"EUR", 2, 978}, {"JPY", 0, 392}, {"KRW", 0, 410},
               {"BHD", 3, 48},  {"KWD", 3, 414}, {"CLP", 0, 152}, {"GBP", 2, 826}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const currency *c = currency_find(cases[i].code);
    assert_non_null(c);
    assert_string_equal(c->code, cases[i].code);
    assert_int_equal(c->exponent, cases[i].exponent);
    assert_int_equal(c->numeric, cases[i].numeric);
  }
  assert_int_equal(currency_minor_per_major(currency_find("USD")), 100);
  assert_int_equal(currency_minor_per_major(currency_find("JPY")), 1);
  assert_int_equal(currency_minor_per_major(currency_find("BHD")), 1000);
}

static void unknown_and_malformed_codes(void **state) {
  (void)state;
  const char *bad[] = {"", "US", "USDD", "usd", "XYZ", "XAU", "US1", "U D"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_null(currency_find(bad[i]));
  assert_null(currency_find(NULL));
}

static void table_sorted_unique_and_sane(void **state) {
  (void)state;
  assert_true(currency_count() > 100);
  for (unsigned i = 0; i < currency_count(); i++) {
    const currency *c = currency_at(i);
    assert_int_equal(strlen(c->code), 3);
    assert_true(c->exponent <= 3);
    assert_true(c->numeric > 0 && c->numeric < 1000);
    if (i > 0) assert_true(strcmp(currency_at(i - 1)->code, c->code) < 0);
    assert_ptr_equal(currency_find(c->code), c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(known_exponents),
      cmocka_unit_test(unknown_and_malformed_codes),
      cmocka_unit_test(table_sorted_unique_and_sane),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
