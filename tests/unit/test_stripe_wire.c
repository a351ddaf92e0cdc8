/* Stripe's wire format without HTTP: the form bodies sent, and the mapping of Stripe's
 * answers (PaymentIntents, Refunds, errors) to OperationResult. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_records.h"

#include "base/arena.h"
#include "stripe_wire.h"

typedef Ccpay__Gateway__V1__OperationResult result_t;

static result_t map(arena *a, stripe_wire_call call, long status, const char *body,
                    const Ccpay__V1__Money *requested) {
  result_t r = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(stripe_wire_map(a, call, status, body, strlen(body), requested, &r));
  return r;
}

/* --- Bodies ------------------------------------------------------------------------------ */

static void authorize_body(void **state) {
  arena *a = *state;
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "USD";
  money.amount_minor = 2599;
  Ccpay__Gateway__V1__Card card = CCPAY__GATEWAY__V1__CARD__INIT;
  card.token = "pm_card_visa";
  Ccpay__Gateway__V1__AuthorizeRequest r = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  r.idempotency_key = "txn_0ABC";
  r.amount = &money;
  r.card = &card;
  r.order_reference = "ord_42";
  r.multiple_captures = true;
  assert_string_equal(stripe_wire_authorize_body(a, &r),
                      "amount=2599&currency=usd&payment_method=pm_card_visa"
                      "&capture_method=manual&confirm=true"
                      "&payment_method_options[card][request_multicapture]=if_available"
                      "&metadata[ccpay_order]=ord_42&metadata[order_id]=ord_42"
                      "&metadata[ccpay_txn]=txn_0ABC&expand[]=latest_charge");
  /* A sale: automatic capture, never multicapture; no order: no order metadata. */
  r.capture = true;
  r.order_reference = "";
  assert_string_equal(stripe_wire_authorize_body(a, &r),
                      "amount=2599&currency=usd&payment_method=pm_card_visa"
                      "&capture_method=automatic&confirm=true&metadata[ccpay_txn]=txn_0ABC"
                      "&expand[]=latest_charge");
}

static void capture_cancel_refund_bodies(void **state) {
  arena *a = *state;
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "USD";
  money.amount_minor = 500;
  Ccpay__Gateway__V1__CaptureRequest c = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  c.idempotency_key = "txn_c";
  c.payment_reference = "pi_1";
  c.amount = &money;
  c.final_capture = true;
  assert_string_equal(stripe_wire_capture_body(a, &c),
                      "amount_to_capture=500&metadata[ccpay_txn]=txn_c&expand[]=latest_charge");
  c.final_capture = false;
  assert_string_equal(stripe_wire_capture_body(a, &c),
                      "amount_to_capture=500&final_capture=false&metadata[ccpay_txn]=txn_c"
                      "&expand[]=latest_charge");
  Ccpay__Gateway__V1__VoidRequest v = CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
  v.idempotency_key = "txn_v";
  v.payment_reference = "pi_1";
  assert_string_equal(stripe_wire_cancel_body(a, &v), "expand[]=latest_charge");
  Ccpay__Gateway__V1__RefundRequest r = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  r.idempotency_key = "txn_r";
  r.payment_reference = "pi_1";
  r.amount = &money;
  assert_string_equal(stripe_wire_refund_body(a, &r),
                      "payment_intent=pi_1&amount=500&metadata[ccpay_txn]=txn_r");
}

static void ids(void **state) {
  (void)state;
  assert_true(stripe_wire_id_valid("pi_3MtwBwLkdIwHu7ix28a3tqPa"));
  assert_true(stripe_wire_id_valid("pm_card_visa_chargeDeclined"));
  assert_false(stripe_wire_id_valid(""));
  assert_false(stripe_wire_id_valid(NULL));
  assert_false(stripe_wire_id_valid("pi_1/../refunds"));
  assert_false(stripe_wire_id_valid("pi_1?x=1"));
}

/* --- Answers ------------------------------------------------------------------------------ */

static const char hold[] =
    "{\"id\":\"pi_A\",\"object\":\"payment_intent\",\"amount\":2599,\"amount_capturable\":2599,"
    "\"amount_received\":0,\"currency\":\"usd\",\"status\":\"requires_capture\","
    "\"created\":1700000000,\"latest_charge\":{\"id\":\"ch_A\",\"object\":\"charge\","
    "\"outcome\":{\"risk_score\":32,\"type\":\"authorized\"},\"payment_method_details\":"
    "{\"type\":\"card\",\"card\":{\"checks\":{\"address_line1_check\":null,"
    "\"address_postal_code_check\":\"pass\",\"cvc_check\":\"fail\"}}}}}";

static void authorization_succeeds(void **state) {
  arena *a = *state;
  result_t r = map(a, STRIPE_WIRE_AUTHORIZE, 200, hold, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r.processor_reference, "pi_A");
  assert_string_equal(r.processor_status, "requires_capture");
  assert_non_null(r.amount);
  assert_string_equal(r.amount->currency_code, "USD");
  assert_int_equal(r.amount->amount_minor, 2599);
  assert_string_equal(r.avs_result, "pass");
  assert_string_equal(r.cvv_result, "fail");
  assert_int_equal(r.risk_score, 32);
  /* No capture_before: seven days after creation. */
  assert_int_equal(r.authorization_expires_ms, (1700000000LL + 7 * 86400) * 1000);
  assert_string_equal(r.decline_code, "");
}

static void capture_before_sets_the_expiry(void **state) {
  arena *a = *state;
  const char *body =
      "{\"id\":\"pi_B\",\"object\":\"payment_intent\",\"amount\":100,\"currency\":\"eur\","
      "\"status\":\"requires_capture\",\"created\":1700000000,\"latest_charge\":{"
      "\"payment_method_details\":{\"card\":{\"capture_before\":1700300000}}}}";
  result_t r = map(a, STRIPE_WIRE_AUTHORIZE, 200, body, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(r.authorization_expires_ms, 1700300000LL * 1000);
  assert_string_equal(r.amount->currency_code, "EUR");
  /* latest_charge not expanded (an id): no checks, expiry from creation. */
  const char *unexpanded =
      "{\"id\":\"pi_C\",\"object\":\"payment_intent\",\"amount\":100,\"currency\":\"usd\","
      "\"status\":\"requires_capture\",\"created\":1700000000,\"latest_charge\":\"ch_C\"}";
  r = map(a, STRIPE_WIRE_AUTHORIZE, 200, unexpanded, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r.avs_result, "");
  assert_int_equal(r.authorization_expires_ms, (1700000000LL + 7 * 86400) * 1000);
}

static void sale_reports_the_amount_received(void **state) {
  arena *a = *state;
  const char *body =
      "{\"id\":\"pi_S\",\"object\":\"payment_intent\",\"amount\":900,\"amount_received\":900,"
      "\"currency\":\"gbp\",\"status\":\"succeeded\",\"created\":1700000000}";
  result_t r = map(a, STRIPE_WIRE_AUTHORIZE, 200, body, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(r.amount->amount_minor, 900);
  assert_string_equal(r.processor_status, "succeeded");
  assert_int_equal(r.authorization_expires_ms, 0); /* captured: nothing lapses */
}

static void decline_maps_decline_code_else_code(void **state) {
  arena *a = *state;
  const char *body =
      "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"
      "\"insufficient_funds\",\"message\":\"Your card has insufficient funds.\","
      "\"payment_intent\":{\"id\":\"pi_D\",\"object\":\"payment_intent\",\"status\":"
      "\"requires_payment_method\"}}}";
  result_t r = map(a, STRIPE_WIRE_AUTHORIZE, 402, body, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(r.decline_code, "insufficient_funds");
  assert_string_equal(r.message, "Your card has insufficient funds.");
  assert_string_equal(r.processor_reference, "pi_D");
  assert_string_equal(r.processor_status, "requires_payment_method");
  const char *cvc =
      "{\"error\":{\"type\":\"card_error\",\"code\":\"incorrect_cvc\",\"message\":\"Your "
      "card's security code is incorrect.\"}}";
  r = map(a, STRIPE_WIRE_AUTHORIZE, 402, cvc, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(r.decline_code, "incorrect_cvc");
}

static void invalid_request_fails(void **state) {
  arena *a = *state;
  const char *body =
      "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"amount_too_large\","
      "\"message\":\"The amount to capture is too large.\",\"param\":\"amount_to_capture\"}}";
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "USD";
  money.amount_minor = 99999;
  result_t r = map(a, STRIPE_WIRE_CAPTURE, 400, body, &money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  assert_string_equal(r.decline_code, "amount_too_large");
  assert_non_null(strstr(r.message, "The amount to capture is too large."));
  assert_non_null(strstr(r.message, "400"));
  r = map(a, STRIPE_WIRE_CAPTURE, 404,
          "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"resource_missing\"}}", &money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  r = map(a, STRIPE_WIRE_CAPTURE, 401,
          "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API Key\"}}",
          &money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  assert_true(stripe_wire_lookup_adjust(401, &r));
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
}

static void unknown_when_stripe_may_have_acted(void **state) {
  arena *a = *state;
  result_t r =
      map(a, STRIPE_WIRE_AUTHORIZE, 500,
          "{\"error\":{\"type\":\"api_error\",\"message\":\"Something went wrong\"}}", NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  r = map(a, STRIPE_WIRE_AUTHORIZE, 409,
          "{\"error\":{\"type\":\"idempotency_error\",\"code\":\"idempotency_key_in_use\"}}", NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  assert_string_equal(r.decline_code, "idempotency_key_in_use");
  r = map(a, STRIPE_WIRE_AUTHORIZE, 400,
          "{\"error\":{\"type\":\"idempotency_error\",\"message\":\"Keys for idempotent "
          "requests can only be used with the same parameters\"}}",
          NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  assert_false(stripe_wire_lookup_adjust(400, &r));
  r = map(a, STRIPE_WIRE_AUTHORIZE, 200, "<html>oops</html>", NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  r = map(a, STRIPE_WIRE_AUTHORIZE, 502, "", NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  r = map(a, STRIPE_WIRE_AUTHORIZE, 200,
          "{\"id\":\"pi_P\",\"object\":\"payment_intent\",\"status\":\"processing\"}", NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  r = map(a, STRIPE_WIRE_AUTHORIZE, 200,
          "{\"id\":\"pi_Q\",\"object\":\"payment_intent\",\"status\":\"requires_action\"}", NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
}

static void capture_and_cancel(void **state) {
  arena *a = *state;
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "USD";
  money.amount_minor = 1000;
  const char *captured =
      "{\"id\":\"pi_A\",\"object\":\"payment_intent\",\"amount\":2599,\"amount_received\":1000,"
      "\"currency\":\"usd\",\"status\":\"succeeded\",\"created\":1700000000}";
  result_t r = map(a, STRIPE_WIRE_CAPTURE, 200, captured, &money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(r.amount->amount_minor, 1000);
  assert_int_equal(r.authorization_expires_ms, 0);
  /* A non-final multicapture capture leaves the intent requires_capture. */
  r = map(a, STRIPE_WIRE_CAPTURE, 200, hold, &money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  const char *canceled =
      "{\"id\":\"pi_A\",\"object\":\"payment_intent\",\"amount\":2599,\"amount_received\":1000,"
      "\"currency\":\"usd\",\"status\":\"canceled\"}";
  r = map(a, STRIPE_WIRE_CANCEL, 200, canceled, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r.processor_status, "canceled");
  assert_int_equal(r.amount->amount_minor, 1599); /* what was left */
  /* A cancel answered with an intent in another state did not release anything. */
  r = map(a, STRIPE_WIRE_CANCEL, 200, captured, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
}

static void refunds(void **state) {
  arena *a = *state;
  const char *body =
      "{\"id\":\"re_1\",\"object\":\"refund\",\"amount\":300,\"currency\":\"usd\","
      "\"payment_intent\":\"pi_A\",\"status\":\"succeeded\"}";
  result_t r = map(a, STRIPE_WIRE_REFUND, 200, body, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r.processor_reference, "re_1");
  assert_int_equal(r.amount->amount_minor, 300);
  const char *failed =
      "{\"id\":\"re_2\",\"object\":\"refund\",\"amount\":300,\"currency\":\"usd\","
      "\"status\":\"failed\",\"failure_reason\":\"expired_or_canceled_card\"}";
  r = map(a, STRIPE_WIRE_REFUND, 200, failed, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(r.decline_code, "expired_or_canceled_card");
  const char *too_much =
      "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"charge_already_refunded\","
      "\"message\":\"Charge ch_A has already been refunded.\"}}";
  r = map(a, STRIPE_WIRE_REFUND, 400, too_much, NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  assert_string_equal(r.decline_code, "charge_already_refunded");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(authorize_body, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(capture_cancel_refund_bodies, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test(ids),
      cmocka_unit_test_setup_teardown(authorization_succeeds, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(capture_before_sets_the_expiry, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(sale_reports_the_amount_received, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(decline_maps_decline_code_else_code, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(invalid_request_fails, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(unknown_when_stripe_may_have_acted, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(capture_and_cancel, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(refunds, test_records_arena_setup,
                                      test_records_arena_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
