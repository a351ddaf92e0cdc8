/* ccpay-adapter-stripe as a process, against the real ccpay-procsim: the adapter is
 * started on a unix socket in a 0700 temporary directory with a 0600 config naming
 * procsim's base URL, CA and secret key, and driven through ccpay.gateway.v1.Gateway
 * with the test client. Covers capabilities, authorize → partial capture → refund,
 * multicapture, sale, void, decline, an idempotent resend, a resend after a 5xx, Lookup
 * after a lost answer, request validation, the refusal of unlinked refunds, the refusal
 * of a config others may read and of an open socket directory, redaction of the secret
 * key in the log, and a clean stop (exit 0, no sanitizer report). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapter_harness.h"

#ifndef CCPAY_ADAPTER_PATH
#error "CCPAY_ADAPTER_PATH must name the ccpay-adapter-stripe binary (set by CMake)"
#endif

enum {
  ADAPTER_TIMEOUT_MS = 1500, /* the adapter's whole-request timeout (config) */
};

#define GATEWAY "/ccpay.gateway.v1.Gateway/"

typedef Ccpay__Gateway__V1__OperationResult result_t;

typedef struct fixture {
  adapter_harness h; /* procsim, the adapter (--threads 3, debug log) and the client */
  int key_counter;
} fixture;

/* --- Files ----------------------------------------------------------------------------- */

/* out = dir/name; the test fails when it does not fit. */
static void path_join(char *out, size_t size, const char *dir, const char *name) {
  int n = snprintf(out, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size) fail_msg("path too long: %s/%s", dir, name);
}

/* The adapter's config for procsim, with extra lines appended. */
static bool write_config(const fixture *f, const char *path, const char *extra, mode_t mode) {
  char text[2 * PATH_MAX];
  int n = snprintf(text, sizeof text,
                   "[processor]\nbase_url = https://127.0.0.1:%d\nca_file = %s\n"
                   "secret_key = sk_test_procsim\ntimeout_ms = %d\nconnect_timeout_ms = 1000\n"
                   "retries = 2\n%s",
                   f->h.procsim.port, f->h.procsim.ca_file, ADAPTER_TIMEOUT_MS,
                   extra != NULL ? extra : "");
  return n > 0 && (size_t)n < sizeof text && adapter_harness_write_file(path, text, mode);
}

/* --- Fixture ----------------------------------------------------------------------------- */

static int group_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  static const char *const procsim_args[] = {"--hang-ms", "5000", NULL};
  if (!adapter_harness_open(&f->h, "stripe", CCPAY_ADAPTER_PATH, procsim_args)) {
    free(f);
    return -1;
  }
  static const char *const adapter_args[] = {"--threads", "3", "--log-level", "debug", NULL};
  if (!write_config(f, f->h.config, NULL, 0600) || !adapter_harness_start(&f->h, adapter_args)) {
    adapter_harness_close(&f->h, NULL);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  fixture *f = *state;
  static const char *const secrets[] = {
      "sk_test_procsim", "c2tfdGVzdF9wcm9jc2ltOg" /* base64 "sk_test_procsim:" */, NULL};
  bool clean = adapter_harness_close(&f->h, secrets);
  free(f);
  return clean ? 0 : -1;
}

/* --- Calls ----------------------------------------------------------------------------- */

static const char *new_key(fixture *f, const char *label) {
  static char key[64];
  snprintf(key, sizeof key, "txn_%s_%d_%d", label, (int)getpid(), ++f->key_counter);
  return key;
}

static Ccpay__V1__Money usd(int64_t amount) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = "USD";
  m.amount_minor = amount;
  return m;
}

/* Calls method and checks it answered OK; returns the result (free with test_reply_clear). */
static const result_t *call_ok(fixture *f, const char *method, const ProtobufCMessage *request,
                               test_reply *r) {
  test_client_call(f->h.client, method, request, &ccpay__gateway__v1__operation_result__descriptor,
                   0, r);
  char why[2048];
  if (!test_reply_check(r, GRPC_STATUS_OK, NULL, NULL, why, sizeof why)) {
    fail_msg("%s: %s", method, why);
  }
  return (const result_t *)r->message;
}

typedef struct authorize_args {
  const char *key;
  const char *token;
  int64_t amount;
  bool capture;
  bool multiple;
} authorize_args;

static Ccpay__Gateway__V1__AuthorizeRequest authorize_request(const authorize_args *a,
                                                              Ccpay__V1__Money *money,
                                                              Ccpay__Gateway__V1__Card *card) {
  *money = usd(a->amount);
  Ccpay__Gateway__V1__Card c = CCPAY__GATEWAY__V1__CARD__INIT;
  c.token = (char *)a->token;
  c.brand = "visa";
  c.last4 = "4242";
  c.exp_month = 12;
  c.exp_year = 2030;
  *card = c;
  Ccpay__Gateway__V1__AuthorizeRequest r = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  r.idempotency_key = (char *)a->key;
  r.amount = money;
  r.card = card;
  r.capture = a->capture;
  r.order_reference = "ord_it_1";
  r.multiple_captures = a->multiple;
  return r;
}

static const result_t *authorize(fixture *f, const authorize_args *a, test_reply *r) {
  Ccpay__V1__Money money;
  Ccpay__Gateway__V1__Card card;
  Ccpay__Gateway__V1__AuthorizeRequest request = authorize_request(a, &money, &card);
  return call_ok(f, GATEWAY "Authorize", &request.base, r);
}

static const result_t *capture(fixture *f, const char *reference, int64_t amount, bool final,
                               test_reply *r) {
  Ccpay__V1__Money money = usd(amount);
  Ccpay__Gateway__V1__CaptureRequest request = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  request.idempotency_key = (char *)new_key(f, "cap");
  request.payment_reference = (char *)reference;
  request.amount = &money;
  request.final_capture = final;
  return call_ok(f, GATEWAY "Capture", &request.base, r);
}

static const result_t *refund(fixture *f, const char *reference, int64_t amount, test_reply *r) {
  Ccpay__V1__Money money = usd(amount);
  Ccpay__Gateway__V1__RefundRequest request = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  request.idempotency_key = (char *)new_key(f, "ref");
  request.payment_reference = (char *)reference;
  request.amount = &money;
  return call_ok(f, GATEWAY "Refund", &request.base, r);
}

static void expect_outcome(const result_t *result, Ccpay__Gateway__V1__Outcome outcome) {
  if (result->outcome != outcome) {
    fail_msg("outcome %d, expected %d (decline_code \"%s\", message \"%s\")", result->outcome,
             outcome, result->decline_code, result->message);
  }
}

/* procsim's record of the payment with reference (copied into *out). */
static void procsim_payment_of(fixture *f, const char *reference, procsim_payment *out) {
  assert_true(adapter_harness_payment(&f->h, reference, out));
}

static size_t procsim_payment_count(fixture *f) {
  long count = adapter_harness_payment_count(&f->h, NULL);
  assert_true(count >= 0);
  return (size_t)count;
}

/* --- Tests --------------------------------------------------------------------------------- */

static void capabilities(void **state) {
  fixture *f = *state;
  Ccpay__Gateway__V1__GetCapabilitiesRequest request =
      CCPAY__GATEWAY__V1__GET_CAPABILITIES_REQUEST__INIT;
  test_reply r;
  assert_int_equal(test_client_call(f->h.client, GATEWAY "GetCapabilities", &request.base,
                                    &ccpay__gateway__v1__capabilities__descriptor, 0, &r),
                   GRPC_STATUS_OK);
  const Ccpay__Gateway__V1__Capabilities *c = (const void *)r.message;
  assert_string_equal(c->processor, "stripe");
  assert_true(c->partial_capture);
  assert_true(c->multiple_captures);
  assert_true(c->void_supported);
  assert_false(c->unlinked_refunds);
  assert_int_equal(c->authorization_validity_days, 7);
  assert_int_equal(c->n_currencies, 4);
  assert_string_equal(c->currencies[0], "USD");
  test_reply_clear(&r);
  /* The socket is 0600 in a directory the adapter made 0700. */
  struct stat st;
  assert_int_equal(stat(f->h.socket, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char dir[PATH_MAX];
  path_join(dir, sizeof dir, f->h.dir, "run");
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
}

static void authorize_partial_capture_refund(void **state) {
  fixture *f = *state;
  test_reply ra, rc, rr;
  authorize_args a = {.key = new_key(f, "auth"), .token = "pm_card_visa", .amount = 2500};
  const result_t *auth = authorize(f, &a, &ra);
  expect_outcome(auth, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(auth->processor_status, "requires_capture");
  assert_int_equal(strncmp(auth->processor_reference, "pi_", 3), 0);
  assert_int_equal(auth->amount->amount_minor, 2500);
  assert_string_equal(auth->amount->currency_code, "USD");
  assert_string_equal(auth->cvv_result, "pass");
  assert_true(auth->risk_score > 0);
  int64_t now_ms = (int64_t)time(NULL) * 1000;
  assert_true(auth->authorization_expires_ms > now_ms + 6LL * 86400 * 1000);
  assert_true(auth->authorization_expires_ms < now_ms + 8LL * 86400 * 1000);

  const result_t *cap = capture(f, auth->processor_reference, 1000, true, &rc);
  expect_outcome(cap, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(cap->processor_reference, auth->processor_reference);
  assert_string_equal(cap->processor_status, "succeeded");
  assert_int_equal(cap->amount->amount_minor, 1000);

  const result_t *ref = refund(f, auth->processor_reference, 400, &rr);
  expect_outcome(ref, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(strncmp(ref->processor_reference, "re_", 3), 0);
  assert_int_equal(ref->amount->amount_minor, 400);

  procsim_payment p;
  procsim_payment_of(f, auth->processor_reference, &p);
  assert_int_equal(p.authorized, 2500);
  assert_int_equal(p.captured, 1000);
  assert_int_equal(p.refunded, 400);
  assert_string_equal(p.merchant_reference, "ord_it_1");
  test_reply_clear(&ra);
  test_reply_clear(&rc);
  test_reply_clear(&rr);
}

static void multiple_captures(void **state) {
  fixture *f = *state;
  test_reply ra, r1, r2;
  authorize_args a = {
      .key = new_key(f, "multi"), .token = "pm_card_visa", .amount = 3000, .multiple = true};
  const result_t *auth = authorize(f, &a, &ra);
  expect_outcome(auth, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  const result_t *first = capture(f, auth->processor_reference, 1000, false, &r1);
  expect_outcome(first, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(first->processor_status, "requires_capture");
  const result_t *last = capture(f, auth->processor_reference, 500, true, &r2);
  expect_outcome(last, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(last->processor_status, "succeeded");
  procsim_payment p;
  procsim_payment_of(f, auth->processor_reference, &p);
  assert_int_equal(p.captured, 1500);
  test_reply_clear(&ra);
  test_reply_clear(&r1);
  test_reply_clear(&r2);
}

static void sale(void **state) {
  fixture *f = *state;
  test_reply r;
  authorize_args a = {
      .key = new_key(f, "sale"), .token = "pm_card_visa", .amount = 1234, .capture = true};
  const result_t *result = authorize(f, &a, &r);
  expect_outcome(result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(result->processor_status, "succeeded");
  assert_int_equal(result->amount->amount_minor, 1234);
  assert_int_equal(result->authorization_expires_ms, 0);
  procsim_payment p;
  procsim_payment_of(f, result->processor_reference, &p);
  assert_int_equal(p.captured, 1234);
  test_reply_clear(&r);
}

static void void_authorization(void **state) {
  fixture *f = *state;
  test_reply ra, rv;
  authorize_args a = {.key = new_key(f, "tovoid"), .token = "pm_card_visa", .amount = 800};
  const result_t *auth = authorize(f, &a, &ra);
  expect_outcome(auth, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  Ccpay__V1__Money money = usd(800);
  Ccpay__Gateway__V1__VoidRequest request = CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
  request.idempotency_key = (char *)new_key(f, "void");
  request.payment_reference = auth->processor_reference;
  request.amount = &money;
  const result_t *result = call_ok(f, GATEWAY "VoidAuthorization", &request.base, &rv);
  expect_outcome(result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(result->processor_status, "canceled");
  assert_int_equal(result->amount->amount_minor, 800);
  procsim_payment p;
  procsim_payment_of(f, auth->processor_reference, &p);
  assert_int_equal(p.captured, 0);
  assert_string_equal(p.status, "canceled");
  test_reply_clear(&ra);
  test_reply_clear(&rv);
}

static void decline(void **state) {
  fixture *f = *state;
  test_reply r;
  authorize_args a = {.key = new_key(f, "decl"),
                      .token = "pm_card_visa_chargeDeclinedInsufficientFunds",
                      .amount = 5000};
  const result_t *result = authorize(f, &a, &r);
  expect_outcome(result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(result->decline_code, "insufficient_funds");
  assert_true(strlen(result->message) > 0);
  test_reply_clear(&r);
  authorize_args cvc = {
      .key = new_key(f, "cvc"), .token = "pm_card_visa_chargeDeclinedIncorrectCvc", .amount = 10};
  result = authorize(f, &cvc, &r);
  expect_outcome(result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED);
  assert_string_equal(result->decline_code, "incorrect_cvc");
  test_reply_clear(&r);
}

static void idempotent_resend(void **state) {
  fixture *f = *state;
  test_reply r1, r2;
  authorize_args a = {.key = new_key(f, "again"), .token = "pm_card_visa", .amount = 700};
  const result_t *first = authorize(f, &a, &r1);
  expect_outcome(first, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  size_t before = procsim_payment_count(f);
  const result_t *second = authorize(f, &a, &r2);
  expect_outcome(second, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(first->processor_reference, second->processor_reference);
  assert_int_equal(procsim_payment_count(f), before);
  test_reply_clear(&r1);
  test_reply_clear(&r2);
}

static void resends_after_5xx_with_the_same_key(void **state) {
  fixture *f = *state;
  assert_true(procsim_inject(&f->h.control, "stripe", "/v1/payment_intents", "5xx", 1));
  test_reply r;
  authorize_args a = {.key = new_key(f, "fivexx"), .token = "pm_card_visa", .amount = 650};
  const result_t *result = authorize(f, &a, &r);
  expect_outcome(result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  procsim_payment p;
  procsim_payment_of(f, result->processor_reference, &p);
  assert_int_equal(p.authorized, 650);
  test_reply_clear(&r);
  assert_true(procsim_clear_faults(&f->h.control));
}

static const result_t *lookup_authorize(fixture *f, const authorize_args *a, test_reply *r) {
  Ccpay__V1__Money money;
  Ccpay__Gateway__V1__Card card;
  Ccpay__Gateway__V1__AuthorizeRequest original = authorize_request(a, &money, &card);
  Ccpay__Gateway__V1__LookupRequest request = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__INIT;
  request.idempotency_key = (char *)a->key;
  request.operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE;
  request.original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST;
  request.authorize_request = &original;
  return call_ok(f, GATEWAY "Lookup", &request.base, r);
}

static void lookup_after_a_timeout(void **state) {
  fixture *f = *state;
  /* procsim reads the request and never acts on it: the answer is lost (UNKNOWN). */
  assert_true(procsim_inject(&f->h.control, "stripe", "/v1/payment_intents", "timeout", 1));
  test_reply r1, r2, r3;
  char key[64];
  snprintf(key, sizeof key, "%s", new_key(f, "lost"));
  authorize_args a = {.key = key, .token = "pm_card_visa", .amount = 990};
  const result_t *first = authorize(f, &a, &r1);
  expect_outcome(first, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN);
  /* The look-up sends it again under the key: procsim never acted, so it acts now. */
  const result_t *found = lookup_authorize(f, &a, &r2);
  expect_outcome(found, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(found->amount->amount_minor, 990);
  /* And a second look-up is the saved answer: the same PaymentIntent, charged once. */
  const result_t *again = lookup_authorize(f, &a, &r3);
  expect_outcome(again, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_string_equal(again->processor_reference, found->processor_reference);
  procsim_payment p;
  procsim_payment_of(f, found->processor_reference, &p);
  assert_int_equal(p.authorized, 990);
  test_reply_clear(&r1);
  test_reply_clear(&r2);
  test_reply_clear(&r3);
  assert_true(procsim_clear_faults(&f->h.control));
}

static void lookup_after_a_dropped_answer(void **state) {
  fixture *f = *state;
  /* procsim acts (money moves), saves the answer, then drops the connection. */
  assert_true(procsim_inject(&f->h.control, "stripe", "/capture", "drop_after_commit", 1));
  test_reply ra, rc, rl;
  authorize_args a = {.key = new_key(f, "dropauth"), .token = "pm_card_visa", .amount = 1500};
  const result_t *auth = authorize(f, &a, &ra);
  expect_outcome(auth, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  Ccpay__V1__Money money = usd(600);
  Ccpay__Gateway__V1__CaptureRequest request = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  char key[64];
  snprintf(key, sizeof key, "%s", new_key(f, "dropcap"));
  request.idempotency_key = key;
  request.payment_reference = auth->processor_reference;
  request.amount = &money;
  request.final_capture = true;
  const result_t *cap = call_ok(f, GATEWAY "Capture", &request.base, &rc);
  /* libcurl may have resent at once on a new connection and got the replay. */
  assert_true(cap->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN ||
              cap->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  Ccpay__Gateway__V1__LookupRequest lookup = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__INIT;
  lookup.idempotency_key = key;
  lookup.operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_CAPTURE;
  lookup.original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST;
  lookup.capture_request = &request;
  const result_t *found = call_ok(f, GATEWAY "Lookup", &lookup.base, &rl);
  expect_outcome(found, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  assert_int_equal(found->amount->amount_minor, 600);
  procsim_payment p;
  procsim_payment_of(f, auth->processor_reference, &p);
  assert_int_equal(p.captured, 600); /* once */
  test_reply_clear(&ra);
  test_reply_clear(&rc);
  test_reply_clear(&rl);
  assert_true(procsim_clear_faults(&f->h.control));
}

static void expect_error(fixture *f, const char *method, const ProtobufCMessage *request,
                         grpc_status_code status, const char *reason, const char *text) {
  test_reply r;
  test_client_call(f->h.client, method, request, &ccpay__gateway__v1__operation_result__descriptor,
                   0, &r);
  char why[2048];
  if (!test_reply_check(&r, status, reason, text, why, sizeof why)) fail_msg("%s", why);
  test_reply_clear(&r);
}

static void invalid_requests_name_the_field(void **state) {
  fixture *f = *state;
  Ccpay__Gateway__V1__Card card = CCPAY__GATEWAY__V1__CARD__INIT;
  card.token = "pm_card_visa";
  Ccpay__Gateway__V1__AuthorizeRequest a = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  a.idempotency_key = "txn_no_amount";
  a.card = &card;
  expect_error(f, GATEWAY "Authorize", &a.base, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED",
               "amount: required");
  Ccpay__V1__Money money = usd(100);
  a.amount = &money;
  a.idempotency_key = "";
  expect_error(f, GATEWAY "Authorize", &a.base, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED",
               "idempotency_key");
  a.idempotency_key = "txn_bad_token";
  card.token = "pm_card/../x";
  expect_error(f, GATEWAY "Authorize", &a.base, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID",
               "card.token");
  Ccpay__Gateway__V1__CaptureRequest c = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  c.idempotency_key = "txn_no_ref";
  c.amount = &money;
  expect_error(f, GATEWAY "Capture", &c.base, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED",
               "payment_reference");
  Ccpay__Gateway__V1__LookupRequest l = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__INIT;
  l.idempotency_key = "txn_lookup";
  l.operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_CAPTURE;
  expect_error(f, GATEWAY "Lookup", &l.base, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED",
               "original");
}

static void unlinked_refund_is_refused(void **state) {
  fixture *f = *state;
  Ccpay__V1__Money money = usd(100);
  Ccpay__Gateway__V1__Card card = CCPAY__GATEWAY__V1__CARD__INIT;
  card.token = "pm_card_visa";
  Ccpay__Gateway__V1__RefundRequest r = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  r.idempotency_key = (char *)new_key(f, "unlinked");
  r.amount = &money;
  r.card = &card;
  size_t before = procsim_payment_count(f);
  expect_error(f, GATEWAY "Refund", &r.base, GRPC_STATUS_FAILED_PRECONDITION, "CAPABILITY_MISSING",
               "unlinked refunds");
  assert_int_equal(procsim_payment_count(f), before);
}

static void processor_refusal_is_failed(void **state) {
  fixture *f = *state;
  test_reply ra, rc;
  authorize_args a = {.key = new_key(f, "over"), .token = "pm_card_visa", .amount = 100};
  const result_t *auth = authorize(f, &a, &ra);
  expect_outcome(auth, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED);
  const result_t *cap = capture(f, auth->processor_reference, 500, true, &rc);
  expect_outcome(cap, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED);
  assert_string_equal(cap->decline_code, "amount_too_large");
  test_reply_clear(&ra);
  test_reply_clear(&rc);
}

/* Runs the adapter with config and socket; returns its exit status, output in log. */
static int run_adapter(fixture *f, const char *config, const char *socket, const char *log) {
  return adapter_harness_run(&f->h, config, socket, log);
}

static void config_readable_by_others_is_refused(void **state) {
  fixture *f = *state;
  char config[PATH_MAX], socket[PATH_MAX], log[PATH_MAX];
  path_join(config, sizeof config, f->h.dir, "open.ini");
  path_join(socket, sizeof socket, f->h.dir, "other/stripe.sock");
  path_join(log, sizeof log, f->h.dir, "open.log");
  assert_true(write_config(f, config, NULL, 0644));
  assert_int_equal(run_adapter(f, config, socket, log), 2);
  assert_true(child_log_contains(log, config));
  assert_true(child_log_contains(log, "chmod 600"));
  assert_false(child_log_contains(log, "sk_test_procsim"));
  assert_int_equal(access(socket, F_OK), -1);
}

static void open_socket_directory_is_refused(void **state) {
  fixture *f = *state;
  char config[PATH_MAX], dir[PATH_MAX], socket[PATH_MAX], log[PATH_MAX];
  path_join(config, sizeof config, f->h.dir, "closed.ini");
  path_join(dir, sizeof dir, f->h.dir, "shared");
  path_join(socket, sizeof socket, dir, "stripe.sock");
  path_join(log, sizeof log, f->h.dir, "shared.log");
  assert_true(write_config(f, config, NULL, 0600));
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(chmod(dir, 0750), 0);
  assert_int_equal(run_adapter(f, config, socket, log), 2);
  assert_true(child_log_contains(log, "must be 0700"));
}

static void unknown_config_key_is_refused(void **state) {
  fixture *f = *state;
  char config[PATH_MAX], socket[PATH_MAX], log[PATH_MAX];
  path_join(config, sizeof config, f->h.dir, "typo.ini");
  path_join(socket, sizeof socket, f->h.dir, "typo/stripe.sock");
  path_join(log, sizeof log, f->h.dir, "typo.log");
  assert_true(write_config(f, config, "secret_kye = x\n", 0600));
  assert_int_equal(run_adapter(f, config, socket, log), 2);
  assert_true(child_log_contains(log, "secret_kye"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(capabilities),
      cmocka_unit_test(authorize_partial_capture_refund),
      cmocka_unit_test(multiple_captures),
      cmocka_unit_test(sale),
      cmocka_unit_test(void_authorization),
      cmocka_unit_test(decline),
      cmocka_unit_test(idempotent_resend),
      cmocka_unit_test(resends_after_5xx_with_the_same_key),
      cmocka_unit_test(lookup_after_a_timeout),
      cmocka_unit_test(lookup_after_a_dropped_answer),
      cmocka_unit_test(invalid_requests_name_the_field),
      cmocka_unit_test(unlinked_refund_is_refused),
      cmocka_unit_test(processor_refusal_is_failed),
      cmocka_unit_test(config_readable_by_others_is_refused),
      cmocka_unit_test(open_socket_directory_is_refused),
      cmocka_unit_test(unknown_config_key_is_refused),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
