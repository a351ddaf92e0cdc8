/* Fraud rules: which processor verification results are mismatches, the parameter table
 * (actions and per-currency thresholds), and the verdict on an approved payment, where a
 * decline wins over a hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/fraud.h"
#include "test_records.h"

static void mismatches_in_each_processors_words(void **state) {
  assert_true(fraud_cvv_mismatch("fail"));                                    /* Stripe */
  assert_true(fraud_avs_mismatch("N"));                                       /* Authorize.Net */
  assert_true(fraud_avs_mismatch("2 Neither postal code nor address match")); /* Adyen */
  assert_true(fraud_cvv_mismatch("2 Does not match"));
  const char *fine[] = {"pass", "unavailable", "unchecked", "Y", "M", "1 Matches", "", "20", NULL};
  for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
    assert_false(fraud_cvv_mismatch(fine[i]));
    assert_false(fraud_avs_mismatch(fine[i]));
  }
}

static void rules_from_parameters(void **state) {
  arena *a = *state;
  fraud_rules r;
  fraud_rules_from(NULL, &r);
  assert_int_equal(r.cvv_mismatch, FRAUD_DECLINE);
  assert_int_equal(r.avs_mismatch, FRAUD_HOLD);
  assert_int_equal(r.threshold_count, 0);

  Ccpay__V1__FraudRules p = CCPAY__V1__FRAUD_RULES__INIT;
  Ccpay__V1__Money *limits[] = {test_records_money(a, "USD", 100000),
                                test_records_money(a, "JPY", 50000)};
  p.cvv_mismatch = CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_ALLOW;
  p.hold_above = limits;
  p.n_hold_above = 2;
  fraud_rules_from(&p, &r);
  assert_int_equal(r.cvv_mismatch, FRAUD_ALLOW);
  assert_int_equal(r.avs_mismatch, FRAUD_HOLD); /* unset keeps the default */
  assert_int_equal(r.threshold_count, 2);
  assert_string_equal(r.hold_above[1].currency, "JPY");
  assert_int_equal(r.hold_above[1].amount_minor, 50000);
}

static Ccpay__V1__Payment *approved(arena *a, const char *avs, const char *cvv, int64_t amount) {
  Ccpay__V1__Payment *p = arena_alloc(a, sizeof *p);
  Ccpay__V1__CardDetails *c = arena_alloc(a, sizeof *c);
  assert_non_null(p);
  assert_non_null(c);
  ccpay__v1__payment__init(p);
  ccpay__v1__card_details__init(c);
  c->processor = "stripe";
  p->card = c;
  p->amount = test_records_money(a, "USD", amount);
  p->authorized = test_records_money(a, "USD", amount);
  p->avs_result = (char *)avs;
  p->cvv_result = (char *)cvv;
  return p;
}

static void verdicts(void **state) {
  arena *a = *state;
  fraud_rules r;
  Ccpay__V1__Money *limit[] = {test_records_money(a, "USD", 4000)};
  Ccpay__V1__FraudRules p = CCPAY__V1__FRAUD_RULES__INIT;
  p.hold_above = limit;
  p.n_hold_above = 1;
  fraud_rules_from(&p, &r);
  fraud_verdict v;

  fraud_assess(&r, approved(a, "pass", "pass", 3000), &v);
  assert_int_equal(v.action, FRAUD_ALLOW);
  assert_string_equal(v.reason, "");

  fraud_assess(&r, approved(a, "fail", "pass", 3000), &v);
  assert_int_equal(v.action, FRAUD_HOLD);
  assert_string_equal(v.reason, "AVS mismatch (stripe: fail)");

  fraud_assess(&r, approved(a, "fail", "pass", 5000), &v); /* two holds: both said */
  assert_int_equal(v.action, FRAUD_HOLD);
  assert_non_null(strstr(v.reason, "AVS mismatch"));
  assert_non_null(strstr(v.reason, "amount 5000 above the review threshold 4000 USD"));

  fraud_assess(&r, approved(a, "fail", "fail", 5000), &v); /* a decline wins */
  assert_int_equal(v.action, FRAUD_DECLINE);
  assert_string_equal(v.reason, "CVV mismatch (stripe: fail)");

  r.cvv_mismatch = FRAUD_ALLOW;
  r.avs_mismatch = FRAUD_ALLOW;
  r.threshold_count = 0;
  fraud_assess(&r, approved(a, "fail", "fail", 5000), &v);
  assert_int_equal(v.action, FRAUD_ALLOW);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mismatches_in_each_processors_words),
      cmocka_unit_test_setup_teardown(rules_from_parameters, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(verdicts, test_records_arena_setup,
                                      test_records_arena_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
