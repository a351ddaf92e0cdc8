/* ccpay-adapter-adyen against the real ccpay-procsim: the adapter runs as a child on a
 * unix socket in a 0700 directory with a 0600 config, and the tests call its Gateway
 * service. Money is checked against procsim's own ledger, so a lost answer resolved by
 * Lookup is proven to have charged once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adapter_harness.h"

#ifndef CCPAY_ADAPTER_PATH
#error "CCPAY_ADAPTER_PATH must name the adapter binary under test (set by CMake)"
#endif

typedef Ccpay__Gateway__V1__OperationResult result_t;

/* --- The fixture: procsim, the adapter, a client ------------------------------------------- */

typedef struct fixture {
  adapter_harness h;
  unsigned serial;
} fixture;

static fixture fx;

static int group_setup(void **state) {
  (void)state;
  if (!adapter_harness_open(&fx.h, "adyen", CCPAY_ADAPTER_PATH, NULL)) return -1;
  char config[PATH_MAX + 1024];
  snprintf(config, sizeof config,
           "[processor]\nbase_url = https://127.0.0.1:%d/v71\nca_file = %s\n"
           "timeout_ms = 5000\nretries = 2\napi_key = procsim_adyen_key\n"
           "merchant_account = CcpayProcsim\ncurrencies = EUR,USD\n"
           "pal_base_url = https://127.0.0.1:%d\n",
           fx.h.procsim.port, fx.h.procsim.ca_file, fx.h.procsim.port);
  if (!adapter_harness_write_file(fx.h.config, config, 0600) ||
      !adapter_harness_start(&fx.h, NULL)) {
    adapter_harness_close(&fx.h, NULL);
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  static const char *const secrets[] = {"procsim_adyen_key", NULL};
  return adapter_harness_close(&fx.h, secrets) ? 0 : -1;
}

/* A fresh idempotency key, unique across runs of the same procsim. */
static void new_key(char *out, size_t size) {
  snprintf(out, size, "txn_ady%06u%04d", ++fx.serial, (int)(getpid() % 10000));
}

static Ccpay__V1__Money money(const char *currency, int64_t minor) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = (char *)currency;
  m.amount_minor = minor;
  return m;
}

/* Calls method and returns the OperationResult (caller frees with test_reply_clear). */
static result_t *call(const char *method, const ProtobufCMessage *request, test_reply *reply) {
  const result_t *result = adapter_harness_call(&fx.h, method, request, 15000, reply);
  assert_int_equal(reply->status, GRPC_STATUS_OK);
  assert_non_null(result);
  return (result_t *)result;
}

static Ccpay__Gateway__V1__Card card_of(const char *holder) {
  Ccpay__Gateway__V1__Card c = CCPAY__GATEWAY__V1__CARD__INIT;
  c.token = "8415718415172204";
  c.brand = "visa";
  c.last4 = "1111";
  c.exp_month = 3;
  c.exp_year = 2030;
  c.holder_name = (char *)holder;
  c.postal_code = "1011 DJ";
  return c;
}

/* Authorizes amount; copies the pspReference into psp. */
static void authorize(const char *key, int64_t amount, bool capture, const char *holder,
                      Ccpay__Gateway__V1__Outcome expected, char *psp, size_t psp_size) {
  Ccpay__V1__Money m = money("EUR", amount);
  Ccpay__Gateway__V1__Card card = card_of(holder);
  Ccpay__Gateway__V1__AuthorizeRequest r = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  r.idempotency_key = (char *)key;
  r.amount = &m;
  r.card = &card;
  r.capture = capture;
  r.order_reference = "ord_adyen_test";
  test_reply reply;
  result_t *res = call("Authorize", &r.base, &reply);
  assert_int_equal(res->outcome, expected);
  if (psp != NULL) snprintf(psp, psp_size, "%s", res->processor_reference);
  test_reply_clear(&reply);
}

static void modify(const char *method, const char *psp, int64_t amount) {
  char key[40];
  new_key(key, sizeof key);
  Ccpay__V1__Money m = money("EUR", amount);
  test_reply reply;
  result_t *res = NULL;
  if (strcmp(method, "Capture") == 0) {
    Ccpay__Gateway__V1__CaptureRequest r = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
    r.idempotency_key = key;
    r.payment_reference = (char *)psp;
    r.amount = &m;
    res = call(method, &r.base, &reply);
  } else if (strcmp(method, "Refund") == 0) {
    Ccpay__Gateway__V1__Card card = card_of("Jane Doe");
    Ccpay__Gateway__V1__RefundRequest r = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
    r.idempotency_key = key;
    r.payment_reference = (char *)psp;
    r.amount = &m;
    r.card = &card;
    res = call(method, &r.base, &reply);
  } else {
    Ccpay__Gateway__V1__VoidRequest r = CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
    r.idempotency_key = key;
    r.payment_reference = (char *)psp;
    r.amount = &m;
    res = call(method, &r.base, &reply);
  }
  assert_int_equal(res->outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(res->processor_status, "received");
  assert_true(strlen(res->processor_reference) > 0);
  assert_string_not_equal(res->processor_reference, psp); /* the modification's own */
  test_reply_clear(&reply);
}

static procsim_payment ledger_payment(const char *psp) {
  procsim_payment p;
  assert_true(adapter_harness_payment(&fx.h, psp, &p));
  return p;
}

/* --- Tests ---------------------------------------------------------------------------------- */

static void capabilities(void **state) {
  (void)state;
  Ccpay__Gateway__V1__GetCapabilitiesRequest r = CCPAY__GATEWAY__V1__GET_CAPABILITIES_REQUEST__INIT;
  test_reply reply;
  test_client_call(fx.h.client, "/ccpay.gateway.v1.Gateway/GetCapabilities", &r.base,
                   &ccpay__gateway__v1__capabilities__descriptor, 0, &reply);
  assert_int_equal(reply.status, GRPC_STATUS_OK);
  const Ccpay__Gateway__V1__Capabilities *c = (void *)reply.message;
  assert_string_equal(c->processor, "adyen");
  assert_true(c->partial_capture && c->multiple_captures && c->void_supported);
  assert_false(c->unlinked_refunds);
  assert_false(c->refund_requires_settlement);
  assert_int_equal(c->authorization_validity_days, 28);
  assert_int_equal(c->n_currencies, 2);
  assert_string_equal(c->currencies[0], "EUR");
  test_reply_clear(&reply);
}

static void authorize_two_captures_refund(void **state) {
  (void)state;
  char key[40], psp[64];
  new_key(key, sizeof key);
  authorize(key, 10000, false, "Jane Doe", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, psp,
            sizeof psp);
  modify("Capture", psp, 4000);
  modify("Capture", psp, 3000);
  modify("Refund", psp, 2500);
  procsim_payment p = ledger_payment(psp);
  assert_int_equal(p.authorized, 10000);
  assert_int_equal(p.captured, 7000);
  assert_int_equal(p.refunded, 2500);
}

/* With multiple partial captures on, a final capture releases the rest of the
 * authorisation: nothing more can be captured after it. */
static void final_capture_releases_the_rest(void **state) {
  (void)state;
  char key[40], psp[64];
  new_key(key, sizeof key);
  authorize(key, 10000, false, "Jane Doe", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, psp,
            sizeof psp);
  Ccpay__V1__Money m = money("EUR", 4000);
  Ccpay__Gateway__V1__CaptureRequest r = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  char capture_key[40];
  new_key(capture_key, sizeof capture_key);
  r.idempotency_key = capture_key;
  r.payment_reference = psp;
  r.amount = &m;
  r.final_capture = true;
  test_reply reply;
  result_t *res = call("Capture", &r.base, &reply);
  assert_int_equal(res->outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  test_reply_clear(&reply);

  char more_key[40];
  new_key(more_key, sizeof more_key);
  Ccpay__V1__Money rest = money("EUR", 1000);
  r.idempotency_key = more_key;
  r.amount = &rest;
  r.final_capture = false;
  res = call("Capture", &r.base, &reply);
  assert_int_equal(res->outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  test_reply_clear(&reply);
  procsim_payment p = ledger_payment(psp);
  assert_int_equal(p.captured, 4000);
}

static void sale_is_captured(void **state) {
  (void)state;
  char key[40], psp[64];
  new_key(key, sizeof key);
  authorize(key, 4200, true, "Jane Doe", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, psp,
            sizeof psp);
  procsim_payment p = ledger_payment(psp);
  assert_int_equal(p.captured, 4200);
}

static void void_releases(void **state) {
  (void)state;
  char key[40], psp[64];
  new_key(key, sizeof key);
  authorize(key, 3000, false, "Jane Doe", CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, psp,
            sizeof psp);
  modify("VoidAuthorization", psp, 3000);
  procsim_payment p = ledger_payment(psp);
  assert_int_equal(p.captured, 0);
  assert_string_equal(p.status, "Cancelled");
}

static void decline(void **state) {
  (void)state;
  char key[40];
  new_key(key, sizeof key);
  Ccpay__V1__Money m = money("EUR", 1500);
  Ccpay__Gateway__V1__Card card = card_of("NOT_ENOUGH_BALANCE");
  Ccpay__Gateway__V1__AuthorizeRequest r = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  r.idempotency_key = key;
  r.amount = &m;
  r.card = &card;
  test_reply reply;
  result_t *res = call("Authorize", &r.base, &reply);
  assert_int_equal(res->outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(res->decline_code, "12");
  assert_string_equal(res->message, "Not enough balance");
  test_reply_clear(&reply);
}

static void unlinked_refund_needs_the_capability(void **state) {
  (void)state;
  char key[40];
  new_key(key, sizeof key);
  Ccpay__V1__Money m = money("EUR", 500);
  Ccpay__Gateway__V1__Card card = card_of("Jane Doe");
  Ccpay__Gateway__V1__RefundRequest r = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  r.idempotency_key = key;
  r.amount = &m;
  r.card = &card;
  test_reply reply;
  test_client_call(fx.h.client, "/ccpay.gateway.v1.Gateway/Refund", &r.base,
                   &ccpay__gateway__v1__operation_result__descriptor, 0, &reply);
  char why[2048];
  bool ok = test_reply_check(&reply, GRPC_STATUS_FAILED_PRECONDITION, "CAPABILITY_MISSING",
                             "unlinked", why, sizeof why);
  if (!ok) fprintf(stderr, "%s\n", why);
  assert_true(ok);
  test_reply_clear(&reply);
}

/* The answer to an authorization is lost after procsim charged: Authorize is UNKNOWN, and
 * Lookup (the same request, the same key) finds the one authorization. */
static void lost_answer_resolved_by_lookup(void **state) {
  (void)state;
  char key[40];
  new_key(key, sizeof key);
  /* Two drops: libcurl resends once by itself when a reused connection closes without
   * an answer; the second drop makes sure no answer comes back at all. */
  assert_true(procsim_inject(&fx.h.control, "adyen", "/v71/payments", "drop_after_commit", 2));
  Ccpay__V1__Money m = money("EUR", 7700);
  Ccpay__Gateway__V1__Card card = card_of("Jane Doe");
  Ccpay__Gateway__V1__AuthorizeRequest r = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  r.idempotency_key = key;
  r.amount = &m;
  r.card = &card;
  r.order_reference = key; /* to find it in procsim's ledger */
  test_reply reply;
  result_t *res = call("Authorize", &r.base, &reply);
  assert_int_equal(res->outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  test_reply_clear(&reply);
  assert_true(procsim_clear_faults(&fx.h.control));

  Ccpay__Gateway__V1__LookupRequest l = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__INIT;
  l.idempotency_key = key;
  l.operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE;
  l.original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST;
  l.authorize_request = &r;
  res = call("Lookup", &l.base, &reply);
  assert_int_equal(res->outcome, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  char psp[64];
  snprintf(psp, sizeof psp, "%s", res->processor_reference);
  test_reply_clear(&reply);

  assert_int_equal(adapter_harness_payment_count(&fx.h, key), 1);
  assert_int_equal(ledger_payment(psp).authorized, 7700);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(capabilities),
      cmocka_unit_test(authorize_two_captures_refund),
      cmocka_unit_test(final_capture_releases_the_rest),
      cmocka_unit_test(sale_is_captured),
      cmocka_unit_test(void_releases),
      cmocka_unit_test(decline),
      cmocka_unit_test(unlinked_refund_needs_the_capability),
      cmocka_unit_test(lost_answer_resolved_by_lookup),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
