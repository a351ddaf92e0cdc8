/* Customer validation and updates, as pure rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "domain/customer.h"

static Ccpay__V1__Customer valid_customer(void) {
  Ccpay__V1__Customer c = CCPAY__V1__CUSTOMER__INIT;
  c.name = "Dana Reyes";
  c.email = "dana@example.com";
  c.phone = "+44 20 7946 0000";
  c.currency_code = "GBP";
  return c;
}

static void accepts_a_valid_customer(void **state) {
  (void)state;
  Ccpay__V1__Customer c = valid_customer();
  ccpay_error e;
  assert_int_equal(customer_validate(&c, &e), CCPAY_OK);
  c.email = "";
  c.phone = "";
  assert_int_equal(customer_validate(&c, &e), CCPAY_OK);
}

static void names_the_field_it_refuses(void **state) {
  (void)state;
  struct {
    const char *name, *email, *phone, *currency;
    ccpay_err expected;
    const char *field;
  } cases[] = {
      {"", "a@b.co", "", "USD", CCPAY_ERR_FIELD_REQUIRED, "customer.name"},
      {"Ada", "ada.example.com", "", "USD", CCPAY_ERR_FIELD_INVALID, "customer.email"},
      {"Ada", "ada@example", "", "USD", CCPAY_ERR_FIELD_INVALID, "customer.email"},
      {"Ada", "a@@b.co", "", "USD", CCPAY_ERR_FIELD_INVALID, "customer.email"},
      {"Ada", "", "12ab", "USD", CCPAY_ERR_FIELD_INVALID, "customer.phone"},
      {"Ada", "", "123", "USD", CCPAY_ERR_FIELD_INVALID, "customer.phone"},
      {"Ada", "", "", "", CCPAY_ERR_FIELD_REQUIRED, "customer.currency_code"},
      {"Ada", "", "", "XYZ", CCPAY_ERR_UNKNOWN_CURRENCY, "customer.currency_code"},
      {"Ada", "", "", "usd", CCPAY_ERR_UNKNOWN_CURRENCY, "customer.currency_code"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Ccpay__V1__Customer c = valid_customer();
    c.name = (char *)cases[i].name;
    c.email = (char *)cases[i].email;
    c.phone = (char *)cases[i].phone;
    c.currency_code = (char *)cases[i].currency;
    ccpay_error e;
    assert_int_equal(customer_validate(&c, &e), cases[i].expected);
    assert_non_null(strstr(e.message, cases[i].field));
  }
}

static void credit_limit_rules(void **state) {
  (void)state;
  Ccpay__V1__Customer c = valid_customer();
  Ccpay__V1__Money limit = CCPAY__V1__MONEY__INIT;
  c.credit_limit = &limit;
  ccpay_error e;
  limit.amount_minor = 50000;
  assert_int_equal(customer_validate(&c, &e), CCPAY_OK); /* currency taken from customer */
  limit.currency_code = "USD";
  assert_int_equal(customer_validate(&c, &e), CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(e.message, "customer.credit_limit.currency_code"));
  limit.currency_code = "GBP";
  limit.amount_minor = -1;
  assert_int_equal(customer_validate(&c, &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_non_null(strstr(e.message, "customer.credit_limit.amount_minor"));
}

static void update_masks(void **state) {
  (void)state;
  unsigned fields = 0;
  ccpay_error e;
  char *ok[] = {"name", "customer.email", "credit_limit"};
  assert_int_equal(customer_parse_update_mask(ok, 3, &fields, &e), CCPAY_OK);
  assert_int_equal(fields,
                   CUSTOMER_FIELD_NAME | CUSTOMER_FIELD_EMAIL | CUSTOMER_FIELD_CREDIT_LIMIT);
  assert_int_equal(customer_parse_update_mask(NULL, 0, &fields, &e), CCPAY_ERR_FIELD_REQUIRED);
  char *currency[] = {"currency_code"};
  assert_int_equal(customer_parse_update_mask(currency, 1, &fields, &e), CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(e.message, "never changes"));
  char *unknown[] = {"balance"};
  assert_int_equal(customer_parse_update_mask(unknown, 1, &fields, &e), CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(e.message, "balance"));
}

static void apply_update_changes_only_masked_fields(void **state) {
  (void)state;
  arena *a = arena_create(1 << 20);
  Ccpay__V1__Customer input = valid_customer();
  Ccpay__V1__Customer *current = customer_build(&input, a);
  assert_non_null(current);
  assert_string_equal(current->credit_limit->currency_code, "GBP");
  assert_int_equal(current->credit_limit->amount_minor, 0);

  Ccpay__V1__Customer change = CCPAY__V1__CUSTOMER__INIT;
  change.name = "Dana King";
  change.email = "ignored@example.com";
  ccpay_error e;
  assert_int_equal(customer_validate_update(&change, CUSTOMER_FIELD_NAME, "GBP", &e), CCPAY_OK);
  Ccpay__V1__Customer *updated = customer_apply_update(current, &change, CUSTOMER_FIELD_NAME, a);
  assert_string_equal(updated->name, "Dana King");
  assert_string_equal(updated->email, "dana@example.com");
  assert_string_equal(updated->currency_code, "GBP");

  change.name = "";
  assert_int_equal(customer_validate_update(&change, CUSTOMER_FIELD_NAME, "GBP", &e),
                   CCPAY_ERR_FIELD_REQUIRED);
  arena_destroy(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(accepts_a_valid_customer),
      cmocka_unit_test(names_the_field_it_refuses),
      cmocka_unit_test(credit_limit_rules),
      cmocka_unit_test(update_masks),
      cmocka_unit_test(apply_update_changes_only_masked_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
