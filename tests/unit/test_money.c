/* Money arithmetic: overflow is reported, never wrapped; rounding is half to even. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "domain/money.h"

static void overflow_is_reported(void **state) {
  (void)state;
  int64_t out = 7;
  assert_true(money_add(INT64_MAX - 1, 1, &out));
  assert_true(out == INT64_MAX);
  assert_false(money_add(INT64_MAX, 1, &out));
  assert_false(money_sub(INT64_MIN, 1, &out));
  assert_false(money_mul(INT64_MAX / 2 + 1, 2, &out));
  assert_true(money_mul(-3, 4, &out));
  assert_int_equal(out, -12);
}

static void half_even_rounding(void **state) {
  (void)state;
  struct {
    int64_t amount, numerator, denominator, expected;
  } cases[] = {
      {5, 1, 2, 2},   /* 2.5 -> 2 */
      {15, 1, 10, 2}, /* 1.5 -> 2 */
      {25, 1, 10, 2}, /* 2.5 -> 2 */
      {35, 1, 10, 4}, /* 3.5 -> 4 */
      {26, 1, 10, 3}, /* 2.6 -> 3 */
      {24, 1, 10, 2}, /* 2.4 -> 2 */
      {-25, 1, 10, -2}, {-35, 1, 10, -4}, {-26, 1, 10, -3}, {0, 825, 10000, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t out;
    assert_true(
        money_mul_div_round(cases[i].amount, cases[i].numerator, cases[i].denominator, &out));
    assert_int_equal(out, cases[i].expected);
  }
}

static void tax_in_each_exponent(void **state) {
  (void)state;
  int64_t tax;
  /* USD: $19.99 at 8.25 % = 1.649175 -> $1.65 */
  assert_true(money_tax(1999, 825, &tax));
  assert_int_equal(tax, 165);
  /* USD: $10.00 at 8.25 % = 82.5 cents exactly -> 82, the even neighbour */
  assert_true(money_tax(1000, 825, &tax));
  assert_int_equal(tax, 82);
  /* JPY has no minor unit: ¥1,980 at 10 % = ¥198; ¥1,985 at 10 % = 198.5 -> 198 */
  assert_true(money_tax(1980, 1000, &tax));
  assert_int_equal(tax, 198);
  assert_true(money_tax(1985, 1000, &tax));
  assert_int_equal(tax, 198);
  /* BHD has three: 12.345 BHD at 5 % = 0.61725 -> 0.617 */
  assert_true(money_tax(12345, 500, &tax));
  assert_int_equal(tax, 617);
}

static void large_amounts_near_the_limit(void **state) {
  (void)state;
  int64_t out;
  /* The 128-bit product keeps a huge amount times a rate exact. */
  assert_true(money_tax(INT64_MAX, 10000, &out));
  assert_true(out == INT64_MAX);
  assert_false(money_tax(INT64_MAX, 10001, &out));
  assert_true(money_mul_div_round(INT64_MAX, 3, 4, &out));
  assert_true(out == (int64_t)(((__int128)INT64_MAX * 3 + 2) / 4));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(overflow_is_reported),
      cmocka_unit_test(half_even_rounding),
      cmocka_unit_test(tax_in_each_exponent),
      cmocka_unit_test(large_amounts_near_the_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
