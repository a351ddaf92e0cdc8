/* Adyen's wire module: the bodies sent to Checkout v71 and the classic API, and every
 * mapping of an answer to an outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include "test_records.h"

#include "adyen_wire.h"

typedef Ccpay__Gateway__V1__OperationResult result_t;

static const adyen_wire_options options = {.merchant_account = "CcpayProcsim",
                                           .shopper_interaction = "ContAuth",
                                           .recurring_processing_model = "CardOnFile"};

/* The requests of the tests, built on the stack. */
typedef struct fixture {
  Ccpay__V1__Money money;
  Ccpay__Gateway__V1__Card card;
  Ccpay__Gateway__V1__AuthorizeRequest authorize;
  Ccpay__Gateway__V1__CaptureRequest capture;
  Ccpay__Gateway__V1__VoidRequest void_request;
  Ccpay__Gateway__V1__RefundRequest refund;
} fixture;

static void fixture_init(fixture *f) {
  f->money = (Ccpay__V1__Money)CCPAY__V1__MONEY__INIT;
  f->money.currency_code = "EUR";
  f->money.amount_minor = 1234;
  f->card = (Ccpay__Gateway__V1__Card)CCPAY__GATEWAY__V1__CARD__INIT;
  f->card.token = "8415718415172204";
  f->card.holder_name = "Jane Doe";
  f->card.last4 = "1111";
  f->card.postal_code = "1011 DJ";
  f->authorize = (Ccpay__Gateway__V1__AuthorizeRequest)CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  f->authorize.idempotency_key = "txn_038G8B9B7M000";
  f->authorize.amount = &f->money;
  f->authorize.card = &f->card;
  f->authorize.order_reference = "ord_038G8B9B7M001";
  f->capture = (Ccpay__Gateway__V1__CaptureRequest)CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  f->capture.idempotency_key = "txn_CAPTURE0000001";
  f->capture.payment_reference = "8835511210681331";
  f->capture.amount = &f->money;
  f->void_request = (Ccpay__Gateway__V1__VoidRequest)CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
  f->void_request.idempotency_key = "txn_VOID000000001";
  f->void_request.payment_reference = "8835511210681331";
  f->refund = (Ccpay__Gateway__V1__RefundRequest)CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  f->refund.idempotency_key = "txn_REFUND0000001";
  f->refund.payment_reference = "8835511210681331";
  f->refund.amount = &f->money;
  f->refund.card = &f->card;
}

static json_t *load(const char *text) {
  assert_non_null(text);
  json_error_t error;
  json_t *root = json_loads(text, 0, &error);
  assert_true(json_is_object(root));
  return root;
}

static const char *text_at(const json_t *o, const char *a, const char *b) {
  const json_t *v = json_object_get(o, a);
  if (b != NULL) v = json_object_get(v, b);
  return json_string_value(v);
}

static void payment_body_authorize_only(void **state) {
  fixture f;
  fixture_init(&f);
  json_t *body = load(adyen_wire_payment_body(*state, &options, &f.authorize));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "amount"), "value")),
                   1234);
  assert_string_equal(text_at(body, "amount", "currency"), "EUR");
  assert_string_equal(text_at(body, "merchantAccount", NULL), "CcpayProcsim");
  assert_string_equal(text_at(body, "reference", NULL), "ord_038G8B9B7M001");
  assert_string_equal(text_at(body, "paymentMethod", "type"), "scheme");
  assert_string_equal(text_at(body, "paymentMethod", "storedPaymentMethodId"), "8415718415172204");
  assert_string_equal(text_at(body, "paymentMethod", "holderName"), "Jane Doe");
  assert_string_equal(text_at(body, "shopperInteraction", NULL), "ContAuth");
  assert_string_equal(text_at(body, "recurringProcessingModel", NULL), "CardOnFile");
  assert_string_equal(text_at(body, "billingAddress", "postalCode"), "1011 DJ");
  assert_string_equal(text_at(body, "additionalData", "manualCapture"), "true");
  json_decref(body);
}

static void payment_body_sale_and_defaults(void **state) {
  fixture f;
  fixture_init(&f);
  f.authorize.capture = true;
  f.authorize.order_reference = "";
  f.card.holder_name = "";
  f.card.postal_code = "";
  adyen_wire_options plain = {.merchant_account = "M"};
  json_t *body = load(adyen_wire_payment_body(*state, &plain, &f.authorize));
  assert_null(json_object_get(body, "additionalData")); /* captured at once */
  assert_string_equal(text_at(body, "reference", NULL), "txn_038G8B9B7M000");
  assert_null(json_object_get(json_object_get(body, "paymentMethod"), "holderName"));
  assert_null(json_object_get(body, "shopperInteraction"));
  assert_null(json_object_get(body, "billingAddress"));
  json_decref(body);
}

static void modification_bodies(void **state) {
  fixture f;
  fixture_init(&f);
  f.money.amount_minor = 500;
  assert_string_equal(adyen_wire_capture_body(*state, &options, &f.capture),
                      "{\"merchantAccount\":\"CcpayProcsim\",\"amount\":{\"value\":500,"
                      "\"currency\":\"EUR\"},\"reference\":\"txn_CAPTURE0000001\"}");
  assert_string_equal(adyen_wire_cancel_body(*state, &options, &f.void_request),
                      "{\"merchantAccount\":\"CcpayProcsim\",\"reference\":\"txn_VOID000000001\"}");
  assert_string_equal(adyen_wire_refund_body(*state, &options, &f.refund),
                      "{\"merchantAccount\":\"CcpayProcsim\",\"amount\":{\"value\":500,"
                      "\"currency\":\"EUR\"},\"reference\":\"txn_REFUND0000001\"}");
  json_t *body = load(adyen_wire_refund_with_data_body(*state, &options, &f.refund));
  assert_string_equal(text_at(body, "selectedRecurringDetailReference", NULL), "8415718415172204");
  assert_string_equal(text_at(body, "recurring", "contract"), "RECURRING");
  assert_string_equal(text_at(body, "reference", NULL), "txn_REFUND0000001");
  assert_string_equal(text_at(body, "merchantAccount", NULL), "CcpayProcsim");
  json_decref(body);
}

static void psp_reference_check(void **state) {
  (void)state;
  assert_true(adyen_wire_psp_reference_valid("8835511210681331"));
  assert_true(adyen_wire_psp_reference_valid("ABCdef123"));
  assert_false(adyen_wire_psp_reference_valid(""));
  assert_false(adyen_wire_psp_reference_valid(NULL));
  assert_false(adyen_wire_psp_reference_valid("88/../cancels"));
  assert_false(adyen_wire_psp_reference_valid("88 35"));
  char longer[ADYEN_WIRE_PSP_REFERENCE_BYTES_MAX + 2];
  memset(longer, '7', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  assert_false(adyen_wire_psp_reference_valid(longer));
}

static result_t map(arena *a, adyen_wire_call call, long status, bool transient, const char *body,
                    const Ccpay__V1__Money *requested) {
  result_t r = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(adyen_wire_map(a, call, status, transient, body, requested, &r));
  return r;
}

static void authorised_succeeds(void **state) {
  result_t r = map(*state, ADYEN_WIRE_PAYMENT, 200, false,
                   "{\"additionalData\":{\"avsResult\":\"7 Both postal code and address match\","
                   "\"cvcResult\":\"1 Matches\",\"fraudResultType\":\"GREEN\"},"
                   "\"fraudResult\":{\"accountScore\":12},"
                   "\"pspReference\":\"8835511210681331\",\"resultCode\":\"Authorised\","
                   "\"amount\":{\"currency\":\"EUR\",\"value\":1234},"
                   "\"merchantReference\":\"ord_1\"}",
                   NULL);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r.processor_reference, "8835511210681331");
  assert_string_equal(r.processor_status, "Authorised");
  assert_string_equal(r.avs_result, "7 Both postal code and address match");
  assert_string_equal(r.cvv_result, "1 Matches");
  assert_int_equal(r.risk_score, 12);
  assert_non_null(r.amount);
  assert_string_equal(r.amount->currency_code, "EUR");
  assert_int_equal(r.amount->amount_minor, 1234);
  assert_string_equal(r.decline_code, "");
}

static void refused_is_declined(void **state) {
  fixture f;
  fixture_init(&f);
  result_t r = map(*state, ADYEN_WIRE_PAYMENT, 200, false,
                   "{\"pspReference\":\"9935511210681332\",\"resultCode\":\"Refused\","
                   "\"refusalReason\":\"Not enough balance\",\"refusalReasonCode\":\"12\"}",
                   &f.money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(r.decline_code, "12");
  assert_string_equal(r.message, "Not enough balance");
  assert_string_equal(r.processor_reference, "9935511210681332");
  assert_int_equal(r.amount->amount_minor, 1234); /* the requested amount */
}

static void other_result_codes(void **state) {
  struct {
    const char *code;
    Ccpay__Gateway__V1__Outcome outcome;
  } cases[] = {
      {"Error", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED},
      {"Cancelled", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED},
      {"Pending", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN},
      {"Received", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN},
      {"RedirectShopper", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED},
      {"SomethingNew", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char body[256];
    snprintf(body, sizeof body, "{\"pspReference\":\"1\",\"resultCode\":\"%s\"}", cases[i].code);
    result_t r = map(*state, ADYEN_WIRE_PAYMENT, 200, false, body, NULL);
    assert_int_equal(r.outcome, cases[i].outcome);
    assert_string_equal(r.processor_status, cases[i].code);
    if (r.outcome != CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED) {
      assert_true(strlen(r.message) > 0);
    }
  }
  result_t none = map(*state, ADYEN_WIRE_PAYMENT, 200, false, "{}", NULL);
  assert_int_equal(none.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  result_t garbage = map(*state, ADYEN_WIRE_PAYMENT, 200, false, "<html>", NULL);
  assert_int_equal(garbage.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
}

static void modification_received_succeeds(void **state) {
  fixture f;
  fixture_init(&f);
  result_t r = map(*state, ADYEN_WIRE_MODIFICATION, 201, false,
                   "{\"merchantAccount\":\"CcpayProcsim\",\"paymentPspReference\":"
                   "\"8835511210681331\",\"pspReference\":\"7735511210681399\","
                   "\"status\":\"received\",\"amount\":{\"currency\":\"EUR\",\"value\":500}}",
                   &f.money);
  assert_int_equal(r.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r.processor_reference, "7735511210681399");
  assert_string_equal(r.processor_status, "received");
  assert_int_equal(r.amount->amount_minor, 500);
  /* A cancel answers without an amount: the requested one is reported. */
  result_t c = map(*state, ADYEN_WIRE_MODIFICATION, 201, false,
                   "{\"pspReference\":\"7735511210681400\",\"status\":\"received\"}", &f.money);
  assert_int_equal(c.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(c.amount->amount_minor, 1234);
  result_t odd = map(*state, ADYEN_WIRE_MODIFICATION, 201, false, "{\"status\":\"other\"}", NULL);
  assert_int_equal(odd.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  result_t classic = map(*state, ADYEN_WIRE_CLASSIC, 200, false,
                         "{\"pspReference\":\"6635511210681301\",\"response\":"
                         "\"[refundWithData-received]\"}",
                         &f.money);
  assert_int_equal(classic.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(classic.processor_status, "[refundWithData-received]");
}

static void errors_by_status(void **state) {
  result_t v = map(*state, ADYEN_WIRE_MODIFICATION, 422, false,
                   "{\"status\":422,\"errorCode\":\"137\",\"message\":\"Invalid amount "
                   "specified\",\"errorType\":\"validation\"}",
                   NULL);
  assert_int_equal(v.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  assert_string_equal(v.decline_code, "137");
  assert_non_null(strstr(v.message, "Invalid amount specified"));
  result_t auth = map(*state, ADYEN_WIRE_PAYMENT, 401, false,
                      "{\"status\":401,\"errorCode\":\"000\",\"errorType\":\"security\"}", NULL);
  assert_int_equal(auth.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  assert_non_null(strstr(auth.message, "configuration"));
  result_t forbidden = map(*state, ADYEN_WIRE_CLASSIC, 403, false, "", NULL);
  assert_int_equal(forbidden.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  result_t busy = map(*state, ADYEN_WIRE_PAYMENT, 409, true,
                      "{\"status\":409,\"errorCode\":\"704\",\"errorType\":\"validation\"}", NULL);
  assert_int_equal(busy.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  assert_string_equal(busy.decline_code, "704");
  result_t down = map(*state, ADYEN_WIRE_PAYMENT, 500, false, "{\"status\":500}", NULL);
  assert_int_equal(down.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  result_t transient = map(*state, ADYEN_WIRE_PAYMENT, 200, true, "{}", NULL);
  assert_int_equal(transient.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  result_t missing = map(*state, ADYEN_WIRE_MODIFICATION, 404, false, "not json", NULL);
  assert_int_equal(missing.outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(payment_body_authorize_only, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(payment_body_sale_and_defaults, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(modification_bodies, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(psp_reference_check, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(authorised_succeeds, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(refused_is_declined, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(other_result_codes, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(modification_received_succeeds, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(errors_by_status, test_records_arena_setup,
                                      test_records_arena_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
