/* ccpay-adapter-authorizenet against the real ccpay-procsim: the adapter runs as a child
 * on a unix socket in a 0700 directory with a 0600 config, and the tests call its
 * Gateway service. Authorize.Net has no idempotency key, so the tests lose answers on
 * purpose and check, in procsim's own ledger, that Lookup and the duplicate check found
 * the operation instead of charging twice. */
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
  if (!adapter_harness_open(&fx.h, "authorizenet", CCPAY_ADAPTER_PATH, NULL)) return -1;
  char config[PATH_MAX + 1024];
  snprintf(config, sizeof config,
           "[processor]\nbase_url = https://127.0.0.1:%d/xml/v1/request.api\nca_file = %s\n"
           "timeout_ms = 5000\napi_login_id = procsim_login\n"
           "transaction_key = procsim_transaction_key\n",
           fx.h.procsim.port, fx.h.procsim.ca_file);
  if (!adapter_harness_write_file(fx.h.config, config, 0600) ||
      !adapter_harness_start(&fx.h, NULL)) {
    adapter_harness_close(&fx.h, NULL);
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  static const char *const secrets[] = {"procsim_transaction_key", NULL};
  return adapter_harness_close(&fx.h, secrets) ? 0 : -1;
}

/* A fresh idempotency key (≤ 20 characters: refId and invoiceNumber). */
static void new_key(char *out, size_t size) {
  snprintf(out, size, "txn_an%05u%05d", ++fx.serial, (int)(getpid() % 100000));
}

static Ccpay__V1__Money money(int64_t minor) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = "USD";
  m.amount_minor = minor;
  return m;
}

static Ccpay__Gateway__V1__Card card_of(const char *zip) {
  Ccpay__Gateway__V1__Card c = CCPAY__GATEWAY__V1__CARD__INIT;
  c.token = "eyJjb2RlIjoiNTBfMl8wNjAwMDUzOTk3";
  c.brand = "visa";
  c.last4 = "1111";
  c.exp_month = 3;
  c.exp_year = 2030;
  c.holder_name = "Jane Doe";
  c.postal_code = (char *)zip;
  return c;
}

static result_t *call(const char *method, const ProtobufCMessage *request, test_reply *reply) {
  const result_t *result = adapter_harness_call(&fx.h, method, request, 15000, reply);
  assert_int_equal(reply->status, GRPC_STATUS_OK);
  assert_non_null(result);
  return (result_t *)result;
}

static void expect(const result_t *r, Ccpay__Gateway__V1__Outcome outcome) {
  if (r->outcome != outcome) {
    fprintf(stderr, "outcome %d, wanted %d: %s %s (%s)\n", r->outcome, outcome, r->decline_code,
            r->message, r->processor_status);
    child_print_log(fx.h.log, "adapter log");
  }
  assert_int_equal(r->outcome, outcome);
}

typedef struct auth_call {
  char key[32];
  Ccpay__V1__Money amount;
  Ccpay__Gateway__V1__Card card;
  Ccpay__Gateway__V1__AuthorizeRequest request;
} auth_call;

static void auth_init(auth_call *a, int64_t amount, bool capture, const char *zip) {
  new_key(a->key, sizeof a->key);
  a->amount = money(amount);
  a->card = card_of(zip);
  a->request = (Ccpay__Gateway__V1__AuthorizeRequest)CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  a->request.idempotency_key = a->key;
  a->request.amount = &a->amount;
  a->request.card = &a->card;
  a->request.capture = capture;
  a->request.order_reference = "ord_anet_test";
}

/* Authorizes; copies the transId into trans_id. */
static void authorize(auth_call *a, Ccpay__Gateway__V1__Outcome expected, char *trans_id,
                      size_t size) {
  test_reply reply;
  result_t *r = call("Authorize", &a->request.base, &reply);
  expect(r, expected);
  snprintf(trans_id, size, "%s", r->processor_reference);
  test_reply_clear(&reply);
}

static void capture_init(Ccpay__Gateway__V1__CaptureRequest *r, char *key, size_t size,
                         const char *trans_id, Ccpay__V1__Money *m) {
  new_key(key, size);
  *r = (Ccpay__Gateway__V1__CaptureRequest)CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  r->idempotency_key = key;
  r->payment_reference = (char *)trans_id;
  r->amount = m;
  r->final_capture = true;
}

static procsim_payment ledger_payment(const char *trans_id) {
  procsim_payment p;
  assert_true(adapter_harness_payment(&fx.h, trans_id, &p));
  return p;
}

static long payments_with_invoice(const char *key) {
  long n = adapter_harness_payment_count(&fx.h, key);
  assert_true(n >= 0);
  return n;
}

static result_t *lookup(const char *key, Ccpay__Gateway__V1__Operation operation,
                        Ccpay__Gateway__V1__LookupRequest__OriginalCase which, void *original,
                        test_reply *reply) {
  Ccpay__Gateway__V1__LookupRequest l = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__INIT;
  l.idempotency_key = (char *)key;
  l.operation = operation;
  l.original_case = which;
  l.authorize_request = original; /* the union's members are all pointers */
  return call("Lookup", &l.base, reply);
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
  assert_string_equal(c->processor, "authorizenet");
  assert_true(c->partial_capture && c->void_supported && c->refund_requires_settlement);
  assert_false(c->multiple_captures);
  assert_false(c->unlinked_refunds);
  assert_int_equal(c->authorization_validity_days, 30);
  assert_int_equal(c->n_currencies, 1);
  assert_string_equal(c->currencies[0], "USD");
  test_reply_clear(&reply);
}

static void authorize_partial_capture_refund(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 10000, false, "10001");
  char trans_id[64];
  authorize(&a, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, trans_id, sizeof trans_id);

  char key[32];
  Ccpay__V1__Money m = money(6000);
  Ccpay__Gateway__V1__CaptureRequest c;
  capture_init(&c, key, sizeof key, trans_id, &m);
  test_reply reply;
  result_t *r = call("Capture", &c.base, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r->processor_reference, trans_id);
  test_reply_clear(&reply);

  char refund_key[32];
  new_key(refund_key, sizeof refund_key);
  Ccpay__V1__Money rm = money(2000);
  Ccpay__Gateway__V1__Card card = card_of("10001");
  Ccpay__Gateway__V1__RefundRequest f = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  f.idempotency_key = refund_key;
  f.payment_reference = trans_id;
  f.amount = &rm;
  f.card = &card;
  r = call("Refund", &f.base, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_not_equal(r->processor_reference, trans_id); /* a refund is a transaction */
  test_reply_clear(&reply);

  procsim_payment p = ledger_payment(trans_id);
  assert_int_equal(p.authorized, 10000);
  assert_int_equal(p.captured, 6000);
  assert_int_equal(p.refunded, 2000);
}

static void sale_is_captured(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 4200, true, "10001");
  char trans_id[64];
  authorize(&a, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, trans_id, sizeof trans_id);
  assert_int_equal(ledger_payment(trans_id).captured, 4200);
}

static void void_releases(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 3000, false, "10001");
  char trans_id[64];
  authorize(&a, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, trans_id, sizeof trans_id);
  char key[32];
  new_key(key, sizeof key);
  Ccpay__Gateway__V1__VoidRequest v = CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
  v.idempotency_key = key;
  v.payment_reference = trans_id;
  v.amount = &a.amount;
  test_reply reply;
  /* Before the void, a look-up of it says it never happened. */
  result_t *r = lookup(key, CCPAY__GATEWAY__V1__OPERATION__OPERATION_VOID,
                       CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST, &v, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_NOT_FOUND);
  test_reply_clear(&reply);
  r = call("VoidAuthorization", &v.base, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  test_reply_clear(&reply);
  procsim_payment p = ledger_payment(trans_id);
  assert_int_equal(p.captured, 0);
  assert_string_equal(p.status, "voided");
}

static void decline(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 1500, false, "46282");
  test_reply reply;
  result_t *r = call("Authorize", &a.request.base, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(r->decline_code, "2");
  assert_string_equal(r->message, "This transaction has been declined.");
  test_reply_clear(&reply);
}

static void unlinked_credit_needs_the_capability(void **state) {
  (void)state;
  char key[32];
  new_key(key, sizeof key);
  Ccpay__V1__Money m = money(500);
  Ccpay__Gateway__V1__Card card = card_of("10001");
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

static void lookup_of_a_key_never_sent(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 100, false, "10001");
  test_reply reply;
  result_t *r =
      lookup(a.key, CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE,
             CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST, &a.request, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_NOT_FOUND);
  test_reply_clear(&reply);
}

/* The answer to an authorization is lost after procsim charged: Authorize is UNKNOWN;
 * Lookup finds the transaction by its invoice number; sending the same operation again
 * meets the duplicate check and is resolved to the same transaction. One charge. */
static void lost_authorization_found_once(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 7700, false, "10001");
  /* Two drops: libcurl resends once by itself when a reused connection closes without an
   * answer (here met by the duplicate check); the second drop loses that answer too. */
  assert_true(procsim_inject(&fx.h.control, "authorizenet", "request.api", "drop_after_commit", 2));
  test_reply reply;
  result_t *r = call("Authorize", &a.request.base, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  test_reply_clear(&reply);
  assert_true(procsim_clear_faults(&fx.h.control));

  r = lookup(a.key, CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE,
             CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST, &a.request, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  char trans_id[64];
  snprintf(trans_id, sizeof trans_id, "%s", r->processor_reference);
  assert_true(strlen(trans_id) > 0);
  assert_int_equal(r->amount->amount_minor, 7700);
  test_reply_clear(&reply);

  r = call("Authorize", &a.request.base, &reply); /* a resend: duplicate → look-up */
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r->processor_reference, trans_id);
  test_reply_clear(&reply);

  assert_int_equal(payments_with_invoice(a.key), 1);
  assert_int_equal(ledger_payment(trans_id).authorized, 7700);
}

/* A capture whose answer is lost is found through the authorization's status. */
static void lost_capture_found(void **state) {
  (void)state;
  auth_call a;
  auth_init(&a, 5000, false, "10001");
  char trans_id[64];
  authorize(&a, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, trans_id, sizeof trans_id);
  char key[32];
  Ccpay__V1__Money m = money(4500);
  Ccpay__Gateway__V1__CaptureRequest c;
  capture_init(&c, key, sizeof key, trans_id, &m);
  /* Two drops: libcurl resends once by itself when a reused connection closes without an
   * answer (here met by the duplicate check); the second drop loses that answer too. */
  assert_true(procsim_inject(&fx.h.control, "authorizenet", "request.api", "drop_after_commit", 2));
  test_reply reply;
  result_t *r = call("Capture", &c.base, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  test_reply_clear(&reply);
  assert_true(procsim_clear_faults(&fx.h.control));
  r = lookup(key, CCPAY__GATEWAY__V1__OPERATION__OPERATION_CAPTURE,
             CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST, &c, &reply);
  expect(r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(r->processor_reference, trans_id);
  assert_int_equal(r->amount->amount_minor, 4500);
  test_reply_clear(&reply);
  assert_int_equal(ledger_payment(trans_id).captured, 4500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(capabilities),
      cmocka_unit_test(authorize_partial_capture_refund),
      cmocka_unit_test(sale_is_captured),
      cmocka_unit_test(void_releases),
      cmocka_unit_test(decline),
      cmocka_unit_test(unlinked_credit_needs_the_capability),
      cmocka_unit_test(lookup_of_a_key_never_sent),
      cmocka_unit_test(lost_authorization_found_once),
      cmocka_unit_test(lost_capture_found),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
