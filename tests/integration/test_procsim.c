/* ccpay-procsim as a process: each test starts the real binary on an ephemeral port with
 * a temporary directory and drives it over HTTPS with libcurl, trusting DIR/ca.pem with
 * host verification on, as the adapters do. Covers the Stripe, Adyen and Authorize.Net
 * flows, idempotency, decline triggers, strict parameters, each fault kind, the ledger,
 * keep-alive and a clean stop (exit 0, no sanitizer report). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procsim_process.h"

enum {
  REQUEST_TIMEOUT_MS = 10000,
  CONNECT_TIMEOUT_MS = 5000,
  SLOW_MS = 700,
  HANG_MS = 800,
  RESPONSE_BYTES_MAX = 1 << 20,
  URL_BYTES_MAX = 512,
  RUN_TIMEOUT_MS = 10000,
};

#define BOM "\xEF\xBB\xBF"
#define ANET_AUTH                                                                        \
  "\"merchantAuthentication\":{\"name\":\"procsim_login\",\"transactionKey\":\"procsim_" \
  "transaction_key\"}"

typedef struct fixture {
  procsim_process server;
  CURL *curl; /* one handle: connections are reused, as an adapter's are */
  bool passed;
  /* libcurl resends a request whose reused connection closes before any answer; fault
   * tests that need to see the lost answer use a new connection per request. */
  bool fresh_connections;
} fixture;

typedef struct reply {
  CURLcode code;
  long status;
  char *body;
  size_t len;
  char headers[4096];
  json_t *json; /* the body parsed (after a BOM), or NULL */
  bool bom;
  long elapsed_ms;
} reply;

/* --- Fixture -------------------------------------------------------------------------------- */

static int start(void **state, const char *const *args) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  if (!procsim_start(&f->server, args)) {
    free(f);
    return -1;
  }
  f->curl = curl_easy_init();
  *state = f;
  return f->curl != NULL ? 0 : -1;
}

static int setup(void **state) {
  static const char *const args[] = {"--seed", "42", "--slow-ms", "700", "--hang-ms", "800", NULL};
  return start(state, args);
}

static int setup_unlinked(void **state) {
  static const char *const args[] = {"--adyen-unlinked-refunds", NULL};
  return start(state, args);
}

static int setup_random_5xx(void **state) {
  static const char *const args[] = {"--seed", "7", "--fault-rate", "1", "--faults", "5xx", NULL};
  return start(state, args);
}

static int teardown(void **state) {
  fixture *f = *state;
  curl_easy_cleanup(f->curl);
  int exit_status = procsim_stop(&f->server, PROCSIM_STOP_TIMEOUT_MS);
  bool report = procsim_log_has_sanitizer_report(&f->server);
  bool clean = exit_status == 0 && report == false;
  if (!clean || !f->passed) procsim_print_log(&f->server, clean ? "test failed" : "unclean stop");
  procsim_destroy(&f->server);
  free(f);
  if (!clean)
    fprintf(stderr, "procsim stop: exit status %d, sanitizer report %d\n", exit_status, report);
  return clean ? 0 : -1;
}

/* --- HTTP ------------------------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t count, void *user) {
  reply *r = user;
  size_t n = size * count;
  if (r->len + n >= RESPONSE_BYTES_MAX) return 0;
  char *grown = realloc(r->body, r->len + n + 1);
  if (grown == NULL) return 0;
  r->body = grown;
  memcpy(r->body + r->len, data, n);
  r->len += n;
  r->body[r->len] = '\0';
  return n;
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
  reply *r = user;
  size_t n = size * count, used = strlen(r->headers);
  if (used + n < sizeof r->headers) {
    memcpy(r->headers + used, data, n);
    r->headers[used + n] = '\0';
  }
  return n;
}

static void reply_clear(reply *r) {
  free(r->body);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

/* Sends method path with headers (NULL-terminated list, may be NULL) and body (NULL for
 * none) on handle, with every timeout bounded by timeout_ms. */
static void send_on(CURL *curl, const procsim_process *server, const char *method, const char *path,
                    const char *const *headers, const char *body, long timeout_ms, bool fresh,
                    reply *r) {
  memset(r, 0, sizeof *r);
  char url[URL_BYTES_MAX];
  snprintf(url, sizeof url, "https://127.0.0.1:%d%s", server->port, path);
  struct curl_slist *list = NULL;
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
    list = curl_slist_append(list, headers[i]);
  }
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CAINFO, server->ca_file);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
  if (body != NULL) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  r->code = curl_easy_perform(curl);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(list);
  if (r->body != NULL) {
    r->bom = r->len >= 3 && memcmp(r->body, BOM, 3) == 0;
    const char *text = r->bom ? r->body + 3 : r->body;
    r->json = json_loads(text, 0, NULL);
  }
}

static void send_request(fixture *f, const char *method, const char *path,
                         const char *const *headers, const char *body, reply *r) {
  send_on(f->curl, &f->server, method, path, headers, body, REQUEST_TIMEOUT_MS,
          f->fresh_connections, r);
}

static void stripe_on(CURL *curl, const procsim_process *server, bool fresh, const char *path,
                      const char *key, const char *body, reply *r) {
  char key_header[320];
  snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key != NULL ? key : "");
  /* Basic auth with the secret key as user: "sk_test_procsim:" in base64. */
  const char *headers[] = {"Authorization: Basic c2tfdGVzdF9wcm9jc2ltOg==",
                           "Content-Type: application/x-www-form-urlencoded",
                           key != NULL ? key_header : NULL, NULL};
  send_on(curl, server, body != NULL ? "POST" : "GET", path, headers, body, REQUEST_TIMEOUT_MS,
          fresh, r);
}

static void stripe(fixture *f, const char *path, const char *key, const char *body, reply *r) {
  stripe_on(f->curl, &f->server, f->fresh_connections, path, key, body, r);
}

static void adyen(fixture *f, const char *path, const char *key, const char *body, reply *r) {
  char key_header[128];
  snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key != NULL ? key : "");
  const char *headers[] = {"X-API-Key: procsim_adyen_key", "Content-Type: application/json",
                           key != NULL ? key_header : NULL, NULL};
  send_request(f, "POST", path, headers, body, r);
}

static void anet(fixture *f, const char *body, reply *r) {
  const char *headers[] = {"Content-Type: application/json", NULL};
  send_request(f, "POST", "/xml/v1/request.api", headers, body, r);
}

static void fault(fixture *f, const char *processor, const char *path_contains, const char *kind,
                  int count) {
  char body[256];
  snprintf(body, sizeof body,
           "{\"processor\":\"%s\",\"path_contains\":\"%s\",\"fault\":\"%s\",\"count\":%d}",
           processor, path_contains, kind, count);
  reply r;
  send_request(f, "POST", "/procsim/faults", NULL, body, &r);
  assert_int_equal(r.code, CURLE_OK);
  assert_int_equal(r.status, 200);
  reply_clear(&r);
}

/* --- JSON ------------------------------------------------------------------------------------ */

/* The value at a dotted path ("error.code", "payments.0.captured"). */
static json_t *at(json_t *root, const char *path) {
  char copy[256];
  snprintf(copy, sizeof copy, "%s", path);
  json_t *v = root;
  for (char *save = NULL, *part = strtok_r(copy, ".", &save); part != NULL && v != NULL;
       part = strtok_r(NULL, ".", &save)) {
    v = json_is_array(v) ? json_array_get(v, strtoul(part, NULL, 10)) : json_object_get(v, part);
  }
  return v;
}

static const char *str(json_t *root, const char *path) {
  const char *s = json_string_value(at(root, path));
  return s != NULL ? s : "(missing)";
}

static long long num(json_t *root, const char *path) {
  json_t *v = at(root, path);
  if (!json_is_integer(v)) fail_msg("%s is not an integer", path);
  return json_integer_value(v);
}

#define assert_reply(r, expected_status)                                                         \
  do {                                                                                           \
    if ((r)->code != CURLE_OK || (r)->status != (expected_status) || (r)->json == NULL)          \
      fail_msg("expected %d, got curl %d status %ld body %s", (expected_status), (int)(r)->code, \
               (r)->status, (r)->body != NULL ? (r)->body : "(none)");                           \
  } while (0)

/* The ledger entry of reference (fails when absent); a new reference into *ledger. */
static json_t *ledger_payment(fixture *f, const char *reference, reply *ledger) {
  send_request(f, "GET", "/procsim/ledger", NULL, NULL, ledger);
  assert_reply(ledger, 200);
  json_t *payments = at(ledger->json, "payments");
  for (size_t i = 0; i < json_array_size(payments); i++) {
    json_t *p = json_array_get(payments, i);
    if (strcmp(str(p, "reference"), reference) == 0) return p;
  }
  fail_msg("no payment %s in the ledger: %s", reference, ledger->body);
  return NULL;
}

static size_t ledger_size(fixture *f) {
  reply r;
  send_request(f, "GET", "/procsim/ledger", NULL, NULL, &r);
  assert_reply(&r, 200);
  size_t n = json_array_size(at(r.json, "payments"));
  reply_clear(&r);
  return n;
}

#define INTENT_BODY(pm, extra)                  \
  "amount=1000&currency=usd&payment_method=" pm \
  "&capture_method=manual&confirm=true"         \
  "&metadata[order_id]=ord_1" extra

/* --- Stripe ----------------------------------------------------------------------------------- */

static void stripe_authorize_capture_refund(void **state) {
  fixture *f = *state;
  reply r;
  stripe(f, "/v1/payment_intents", "auth-1", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "status"), "requires_capture");
  assert_int_equal(num(r.json, "amount_capturable"), 1000);
  assert_string_equal(str(r.json, "currency"), "usd");
  assert_string_equal(str(r.json, "metadata.order_id"), "ord_1");
  assert_string_equal(str(r.json, "latest_charge.payment_method_details.card.checks.cvc_check"),
                      "pass");
  char id[64], path[128];
  snprintf(id, sizeof id, "%s", str(r.json, "id"));
  reply_clear(&r);

  snprintf(path, sizeof path, "/v1/payment_intents/%s/capture", id);
  stripe(f, path, "cap-1", "amount_to_capture=1200", &r);
  assert_reply(&r, 400);
  assert_string_equal(str(r.json, "error.code"), "amount_too_large");
  reply_clear(&r);
  stripe(f, path, "cap-2", "amount_to_capture=600", &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "status"), "succeeded");
  assert_int_equal(num(r.json, "amount_received"), 600);
  assert_int_equal(num(r.json, "amount_capturable"), 0);
  reply_clear(&r);
  stripe(f, path, "cap-3", "amount_to_capture=100", &r);
  assert_reply(&r, 400);
  assert_string_equal(str(r.json, "error.code"), "payment_intent_unexpected_state");
  reply_clear(&r);

  char body[256];
  snprintf(body, sizeof body, "payment_intent=%s&amount=200", id);
  stripe(f, "/v1/refunds", "ref-1", body, &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "object"), "refund");
  assert_int_equal(num(r.json, "amount"), 200);
  char refund_path[128];
  snprintf(refund_path, sizeof refund_path, "/v1/refunds/%s", str(r.json, "id"));
  reply_clear(&r);
  snprintf(body, sizeof body, "payment_intent=%s&amount=401", id);
  stripe(f, "/v1/refunds", "ref-2", body, &r);
  assert_reply(&r, 400);
  assert_string_equal(str(r.json, "error.code"), "amount_too_large");
  reply_clear(&r);
  stripe(f, refund_path, NULL, NULL, &r);
  assert_reply(&r, 200);
  assert_int_equal(num(r.json, "amount"), 200);
  reply_clear(&r);

  snprintf(path, sizeof path, "/v1/payment_intents/%s", id);
  stripe(f, path, NULL, NULL, &r);
  assert_reply(&r, 200);
  assert_int_equal(num(r.json, "latest_charge.amount_refunded"), 200);
  assert_int_equal(num(r.json, "latest_charge.amount_captured"), 600);
  reply_clear(&r);

  reply ledger;
  json_t *p = ledger_payment(f, id, &ledger);
  assert_int_equal(num(p, "authorized"), 1000);
  assert_int_equal(num(p, "captured"), 600);
  assert_int_equal(num(p, "refunded"), 200);
  assert_string_equal(str(p, "operations.1.kind"), "capture");
  assert_string_equal(str(p, "operations.1.key"), "cap-2");
  reply_clear(&ledger);

  /* Cancel releases what a second authorization holds. */
  stripe(f, "/v1/payment_intents", "auth-2", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 200);
  snprintf(path, sizeof path, "/v1/payment_intents/%s/cancel", str(r.json, "id"));
  reply_clear(&r);
  stripe(f, path, "void-2", "", &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "status"), "canceled");
  assert_int_equal(num(r.json, "amount_capturable"), 0);
  reply_clear(&r);
  f->passed = true;
}

static void *in_flight_main(void *argument) {
  fixture *f = argument;
  CURL *curl = curl_easy_init();
  reply *r = calloc(1, sizeof *r);
  if (curl != NULL && r != NULL) {
    stripe_on(curl, &f->server, false, "/v1/payment_intents", "slow-key",
              INTENT_BODY("pm_card_visa", ""), r);
  }
  curl_easy_cleanup(curl);
  return r;
}

static void stripe_idempotency(void **state) {
  fixture *f = *state;
  reply first, again;
  stripe(f, "/v1/payment_intents", "idem-1", INTENT_BODY("pm_card_visa", ""), &first);
  assert_reply(&first, 200);
  /* The same parameters in another order are the same request. */
  stripe(f, "/v1/payment_intents", "idem-1",
         "confirm=true&currency=usd&amount=1000&metadata[order_id]=ord_1"
         "&capture_method=manual&payment_method=pm_card_visa",
         &again);
  assert_reply(&again, 200);
  assert_string_equal(str(again.json, "id"), str(first.json, "id"));
  assert_non_null(strstr(again.headers, "Idempotent-Replayed: true"));
  reply_clear(&again);

  stripe(f, "/v1/payment_intents", "idem-1", INTENT_BODY("pm_card_visa", "&description=x"), &again);
  assert_reply(&again, 400);
  assert_string_equal(str(again.json, "error.type"), "idempotency_error");
  reply_clear(&again);
  reply_clear(&first);
  assert_int_equal(ledger_size(f), 1);

  /* While the first request with a key is still running, the key answers 409. */
  fault(f, "stripe", "/v1/payment_intents", "slow", 1);
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, in_flight_main, f), 0);
  struct timespec pause = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
  nanosleep(&pause, NULL);
  stripe(f, "/v1/payment_intents", "slow-key", INTENT_BODY("pm_card_visa", ""), &again);
  void *result = NULL;
  pthread_join(thread, &result);
  reply *slow = result;
  assert_non_null(slow);
  assert_reply(&again, 409);
  assert_string_equal(str(again.json, "error.code"), "idempotency_key_in_use");
  assert_reply(slow, 200);
  assert_true(slow->elapsed_ms >= SLOW_MS - 50);
  reply_clear(&again);
  stripe(f, "/v1/payment_intents", "slow-key", INTENT_BODY("pm_card_visa", ""), &again);
  assert_reply(&again, 200);
  assert_string_equal(str(again.json, "id"), str(slow->json, "id"));
  reply_clear(&again);
  reply_clear(slow);
  free(slow);
  assert_int_equal(ledger_size(f), 2);
  f->passed = true;
}

static void stripe_declines(void **state) {
  fixture *f = *state;
  static const struct {
    const char *pm, *code, *decline_code;
  } cases[] = {
      {"pm_card_visa_chargeDeclined", "card_declined", "generic_decline"},
      {"pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
      {"pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"},
      {"pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"},
      {"pm_card_visa_chargeDeclinedIncorrectCvc", "incorrect_cvc", NULL},
      {"pm_card_chargeDeclinedExpiredCard", "expired_card", NULL},
      {"pm_card_chargeDeclinedProcessingError", "processing_error", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char body[256];
    snprintf(body, sizeof body,
             "amount=500&currency=usd&payment_method=%s&capture_method=manual&confirm=true",
             cases[i].pm);
    reply r;
    stripe(f, "/v1/payment_intents", NULL, body, &r);
    assert_reply(&r, 402);
    assert_string_equal(str(r.json, "error.type"), "card_error");
    assert_string_equal(str(r.json, "error.code"), cases[i].code);
    if (cases[i].decline_code != NULL) {
      assert_string_equal(str(r.json, "error.decline_code"), cases[i].decline_code);
    } else {
      assert_null(at(r.json, "error.decline_code"));
    }
    assert_string_equal(str(r.json, "error.payment_intent.status"), "requires_payment_method");
    reply_clear(&r);
  }
  reply r;
  stripe(f, "/v1/payment_intents", NULL, INTENT_BODY("pm_card_avsZipFail", ""), &r);
  assert_reply(&r, 200);
  assert_string_equal(
      str(r.json, "latest_charge.payment_method_details.card.checks.address_postal_code_check"),
      "fail");
  reply_clear(&r);
  stripe(f, "/v1/payment_intents", NULL, INTENT_BODY("pm_card_cvcCheckFail", ""), &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "latest_charge.payment_method_details.card.checks.cvc_check"),
                      "fail");
  assert_string_equal(str(r.json, "status"), "requires_capture");
  reply_clear(&r);
  f->passed = true;
}

static void stripe_strict(void **state) {
  fixture *f = *state;
  reply r;
  stripe(f, "/v1/payment_intents", "k-unknown", INTENT_BODY("pm_card_visa", "&shipping_speed=fast"),
         &r);
  assert_reply(&r, 400);
  assert_string_equal(str(r.json, "error.code"), "parameter_unknown");
  assert_string_equal(str(r.json, "error.param"), "shipping_speed");
  reply_clear(&r);
  /* A refused parameter saves nothing under the key: the corrected request acts. */
  stripe(f, "/v1/payment_intents", "k-unknown", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 200);
  reply_clear(&r);

  stripe(f, "/v1/refunds", "k-unlinked", "amount=100", &r);
  assert_reply(&r, 400);
  assert_string_equal(str(r.json, "error.code"), "parameter_missing");
  reply_clear(&r);
  stripe(f, "/v1/payment_intents/pi_nope", NULL, NULL, &r);
  assert_reply(&r, 404);
  assert_string_equal(str(r.json, "error.code"), "resource_missing");
  reply_clear(&r);

  const char *bad_key[] = {"Authorization: Bearer sk_test_wrong", NULL};
  send_request(f, "POST", "/v1/payment_intents", bad_key, INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 401);
  assert_string_equal(str(r.json, "error.type"), "invalid_request_error");
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 1);
  f->passed = true;
}

/* --- Adyen -------------------------------------------------------------------------------------
 */

#define ADYEN_PAYMENT(holder)                                                               \
  "{\"merchantAccount\":\"CcpayProcsim\",\"amount\":{\"value\":1000,\"currency\":\"EUR\"}," \
  "\"reference\":\"ord-7\",\"paymentMethod\":{\"type\":\"scheme\",\"holderName\":\"" holder \
  "\"},\"additionalData\":{\"manualCapture\":\"true\"}}"
#define ADYEN_AMOUNT(value) \
  "{\"merchantAccount\":\"CcpayProcsim\",\"amount\":{\"value\":" value ",\"currency\":\"EUR\"}}"

static void adyen_flow(void **state) {
  fixture *f = *state;
  reply r;
  adyen(f, "/v71/payments", "a-auth", ADYEN_PAYMENT("Jane Doe"), &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "resultCode"), "Authorised");
  assert_string_equal(str(r.json, "merchantReference"), "ord-7");
  char psp[64], path[128];
  snprintf(psp, sizeof psp, "%s", str(r.json, "pspReference"));
  reply_clear(&r);
  adyen(f, "/v71/payments", "a-auth", ADYEN_PAYMENT("Jane Doe"), &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "pspReference"), psp);
  reply_clear(&r);

  snprintf(path, sizeof path, "/v71/payments/%s/captures", psp);
  adyen(f, path, "a-cap-1", ADYEN_AMOUNT("600"), &r);
  assert_reply(&r, 201);
  assert_string_equal(str(r.json, "status"), "received");
  assert_string_equal(str(r.json, "paymentPspReference"), psp);
  reply_clear(&r);
  adyen(f, path, "a-cap-2", ADYEN_AMOUNT("500"), &r);
  assert_reply(&r, 422);
  reply_clear(&r);
  adyen(f, path, "a-cap-3", ADYEN_AMOUNT("300"), &r);
  assert_reply(&r, 201);
  reply_clear(&r);

  snprintf(path, sizeof path, "/v71/payments/%s/refunds", psp);
  adyen(f, path, "a-ref-1", ADYEN_AMOUNT("250"), &r);
  assert_reply(&r, 201);
  reply_clear(&r);
  adyen(f, path, "a-ref-2", ADYEN_AMOUNT("651"), &r);
  assert_reply(&r, 422);
  reply_clear(&r);
  snprintf(path, sizeof path, "/v71/payments/%s/cancels", psp);
  adyen(f, path, "a-cancel", "{\"merchantAccount\":\"CcpayProcsim\"}", &r);
  assert_reply(&r, 201);
  reply_clear(&r);

  reply ledger;
  json_t *p = ledger_payment(f, psp, &ledger);
  assert_int_equal(num(p, "authorized"), 1000);
  assert_int_equal(num(p, "captured"), 900);
  assert_int_equal(num(p, "refunded"), 250);
  assert_string_equal(str(p, "status"), "Captured");
  reply_clear(&ledger);

  adyen(f, "/v71/payments", NULL, ADYEN_PAYMENT("NOT_ENOUGH_BALANCE"), &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "resultCode"), "Refused");
  assert_string_equal(str(r.json, "refusalReason"), "Not enough balance");
  assert_string_equal(str(r.json, "refusalReasonCode"), "12");
  reply_clear(&r);
  adyen(f, "/v71/payments", NULL, ADYEN_PAYMENT("CVC_FAIL"), &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "resultCode"), "Authorised");
  assert_string_equal(str(r.json, "additionalData.cvcResult"), "2 Does not match");
  reply_clear(&r);

  const char *bad_key[] = {"X-API-Key: wrong", NULL};
  send_request(f, "POST", "/v71/payments", bad_key, ADYEN_PAYMENT("x"), &r);
  assert_reply(&r, 401);
  assert_string_equal(str(r.json, "errorType"), "security");
  reply_clear(&r);
  adyen(f, "/pal/servlet/Payment/v68/refundWithData", NULL,
        "{\"merchantAccount\":\"CcpayProcsim\",\"amount\":{\"value\":100,\"currency\":\"EUR\"},"
        "\"reference\":\"u-1\"}",
        &r);
  assert_reply(&r, 403);
  reply_clear(&r);
  f->passed = true;
}

static void adyen_unlinked_refund(void **state) {
  fixture *f = *state;
  reply r;
  adyen(f, "/pal/servlet/Payment/v68/refundWithData", "u-key",
        "{\"merchantAccount\":\"CcpayProcsim\",\"amount\":{\"value\":100,\"currency\":\"EUR\"},"
        "\"reference\":\"u-1\"}",
        &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "response"), "[refundWithData-received]");
  reply ledger;
  json_t *p = ledger_payment(f, str(r.json, "pspReference"), &ledger);
  assert_int_equal(num(p, "refunded"), 100);
  assert_int_equal(num(p, "captured"), 0);
  reply_clear(&ledger);
  reply_clear(&r);
  f->passed = true;
}

/* --- Authorize.Net -----------------------------------------------------------------------------
 */

static void anet_transaction(fixture *f, const char *ref_id, const char *request, reply *r) {
  char body[2048];
  snprintf(body, sizeof body,
           "{\"createTransactionRequest\":{" ANET_AUTH
           ",\"refId\":\"%s\",\"transactionRequest\":{%s}}}",
           ref_id, request);
  anet(f, body, r);
  assert_reply(r, 200);
  assert_true(r->bom);
}

#define ANET_CARD                                                                        \
  "\"payment\":{\"creditCard\":{\"cardNumber\":\"4111111111111111\",\"expirationDate\":" \
  "\"2030-12\",\"cardCode\":\"123\"}}"

static void authorizenet_flow(void **state) {
  fixture *f = *state;
  reply r;
  anet_transaction(f, "an-auth",
                   "\"transactionType\":\"authOnlyTransaction\",\"amount\":\"12.34\"," ANET_CARD
                   ",\"order\":{\"invoiceNumber\":\"an-auth\"},\"billTo\":{\"zip\":\"10001\"}",
                   &r);
  assert_string_equal(str(r.json, "messages.resultCode"), "Ok");
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "1");
  assert_string_equal(str(r.json, "transactionResponse.accountNumber"), "XXXX1111");
  assert_string_equal(str(r.json, "refId"), "an-auth");
  char trans_id[32], request[1024];
  snprintf(trans_id, sizeof trans_id, "%s", str(r.json, "transactionResponse.transId"));
  reply_clear(&r);

  /* The same invoice and amount again, within the window: a duplicate. */
  anet_transaction(f, "an-auth",
                   "\"transactionType\":\"authOnlyTransaction\",\"amount\":\"12.34\"," ANET_CARD
                   ",\"order\":{\"invoiceNumber\":\"an-auth\"}",
                   &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "3");
  assert_string_equal(str(r.json, "transactionResponse.errors.0.errorCode"), "11");
  reply_clear(&r);

  snprintf(request, sizeof request,
           "\"transactionType\":\"priorAuthCaptureTransaction\",\"amount\":\"10.00\","
           "\"refTransId\":\"%s\",\"order\":{\"invoiceNumber\":\"an-cap\"}",
           trans_id);
  anet_transaction(f, "an-cap", request, &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "1");
  assert_string_equal(str(r.json, "transactionResponse.transId"), trans_id);
  reply_clear(&r);

  snprintf(request, sizeof request, "\"transactionType\":\"voidTransaction\",\"refTransId\":\"%s\"",
           trans_id);
  anet_transaction(f, "an-void", request, &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "3");
  reply_clear(&r);

  snprintf(request, sizeof request,
           "\"transactionType\":\"refundTransaction\",\"amount\":\"2.50\",\"payment\":{"
           "\"creditCard\":{\"cardNumber\":\"1111\",\"expirationDate\":\"XXXX\"}},"
           "\"refTransId\":\"%s\",\"order\":{\"invoiceNumber\":\"an-ref\"}",
           trans_id);
  anet_transaction(f, "an-ref", request, &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "1");
  assert_string_not_equal(str(r.json, "transactionResponse.transId"), trans_id);
  reply_clear(&r);
  snprintf(request, sizeof request,
           "\"transactionType\":\"refundTransaction\",\"amount\":\"7.51\",\"payment\":{"
           "\"creditCard\":{\"cardNumber\":\"1111\",\"expirationDate\":\"XXXX\"}},"
           "\"refTransId\":\"%s\",\"order\":{\"invoiceNumber\":\"an-ref2\"}",
           trans_id);
  anet_transaction(f, "an-ref2", request, &r);
  assert_string_equal(str(r.json, "transactionResponse.errors.0.errorCode"), "55");
  reply_clear(&r);

  char body[1024];
  snprintf(body, sizeof body,
           "{\"getTransactionDetailsRequest\":{" ANET_AUTH ",\"transId\":\"%s\"}}", trans_id);
  anet(f, body, &r);
  assert_reply(&r, 200);
  assert_true(r.bom);
  assert_string_equal(str(r.json, "transaction.transactionStatus"), "settledSuccessfully");
  assert_string_equal(str(r.json, "transaction.settleAmount"), "10.00");
  assert_string_equal(str(r.json, "transaction.authAmount"), "12.34");
  assert_string_equal(str(r.json, "transaction.order.invoiceNumber"), "an-auth");
  reply_clear(&r);
  anet(f, "{\"getUnsettledTransactionListRequest\":{" ANET_AUTH "}}", &r);
  assert_reply(&r, 200);
  assert_int_equal(json_array_size(at(r.json, "transactions")), 2);
  assert_string_equal(str(r.json, "transactions.1.invoiceNumber"), "an-ref");
  assert_string_equal(str(r.json, "transactions.1.settleAmount"), "2.50");
  reply_clear(&r);

  reply ledger;
  json_t *p = ledger_payment(f, trans_id, &ledger);
  assert_int_equal(num(p, "authorized"), 1234);
  assert_int_equal(num(p, "captured"), 1000);
  assert_int_equal(num(p, "refunded"), 250);
  reply_clear(&ledger);
  f->passed = true;
}

static void authorizenet_rules(void **state) {
  fixture *f = *state;
  reply r;
  /* amount before transactionType: out of schema order. */
  anet_transaction(f, "an-order", "\"amount\":\"5.00\",\"transactionType\":\"authOnlyTransaction\"",
                   &r);
  assert_string_equal(str(r.json, "messages.resultCode"), "Error");
  assert_string_equal(str(r.json, "messages.message.0.code"), "E00003");
  reply_clear(&r);
  anet_transaction(f, "an-decl",
                   "\"transactionType\":\"authOnlyTransaction\",\"amount\":\"5.00\"," ANET_CARD
                   ",\"order\":{\"invoiceNumber\":\"an-decl\"},\"billTo\":{\"zip\":\"46282\"}",
                   &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "2");
  assert_string_equal(str(r.json, "transactionResponse.errors.0.errorCode"), "2");
  reply_clear(&r);
  anet_transaction(f, "an-avs",
                   "\"transactionType\":\"authOnlyTransaction\",\"amount\":\"5.00\"," ANET_CARD
                   ",\"order\":{\"invoiceNumber\":\"an-avs\"},\"billTo\":{\"zip\":\"46205\"}",
                   &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "1");
  assert_string_equal(str(r.json, "transactionResponse.avsResultCode"), "N");
  char request[512];
  snprintf(request, sizeof request, "\"transactionType\":\"voidTransaction\",\"refTransId\":\"%s\"",
           str(r.json, "transactionResponse.transId"));
  reply_clear(&r);
  anet_transaction(f, "an-void", request, &r);
  assert_string_equal(str(r.json, "transactionResponse.responseCode"), "1");
  reply_clear(&r);

  anet(f,
       "{\"createTransactionRequest\":{\"merchantAuthentication\":{\"name\":\"procsim_login\","
       "\"transactionKey\":\"wrong\"},\"transactionRequest\":{\"transactionType\":"
       "\"authOnlyTransaction\",\"amount\":\"1.00\"}}}",
       &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "messages.message.0.code"), "E00007");
  reply_clear(&r);
  f->passed = true;
}

/* --- Faults -------------------------------------------------------------------------------------
 */

static void fault_5xx(void **state) {
  fixture *f = *state;
  fault(f, "stripe", "/v1/payment_intents", "5xx", 1);
  reply r;
  stripe(f, "/v1/payment_intents", "f-5xx", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 500);
  assert_string_equal(str(r.json, "error.type"), "api_error");
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 0);
  /* Nothing saved under the key: the resend acts. */
  stripe(f, "/v1/payment_intents", "f-5xx", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 200);
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 1);

  fault(f, "adyen", "", "5xx", 1);
  adyen(f, "/v71/payments", "f-5xx-a", ADYEN_PAYMENT("x"), &r);
  assert_reply(&r, 500);
  assert_non_null(strstr(r.headers, "Transient-Error: true"));
  reply_clear(&r);
  fault(f, "authorizenet", "", "5xx", 1);
  anet(f, "{}", &r);
  assert_reply(&r, 500);
  assert_true(r.bom);
  assert_string_equal(str(r.json, "messages.message.0.code"), "E00001");
  reply_clear(&r);
  f->passed = true;
}

static void fault_timeout(void **state) {
  fixture *f = *state;
  f->fresh_connections = true;
  fault(f, "stripe", "", "timeout", 2);
  reply r;
  stripe(f, "/v1/payment_intents", "f-timeout", INTENT_BODY("pm_card_visa", ""), &r);
  assert_int_not_equal(r.code, CURLE_OK);
  assert_true(r.elapsed_ms >= HANG_MS - 50);
  reply_clear(&r);
  /* A client that gives up first: procsim notices and goes on serving. */
  const char *headers[] = {"Authorization: Bearer sk_test_procsim", NULL};
  send_on(f->curl, &f->server, "POST", "/v1/payment_intents", headers,
          INTENT_BODY("pm_card_visa", ""), 200, true, &r);
  assert_int_equal(r.code, CURLE_OPERATION_TIMEDOUT);
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 0);
  stripe(f, "/v1/payment_intents", "f-timeout", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 200);
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 1);
  f->passed = true;
}

static void fault_slow(void **state) {
  fixture *f = *state;
  fault(f, "adyen", "/payments", "slow", 1);
  reply r;
  adyen(f, "/v71/payments", "f-slow", ADYEN_PAYMENT("x"), &r);
  assert_reply(&r, 200);
  assert_true(r.elapsed_ms >= SLOW_MS - 50);
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 1);
  f->passed = true;
}

static void fault_drop_after_commit(void **state) {
  fixture *f = *state;
  reply r;
  stripe(f, "/v1/payment_intents", "d-auth", INTENT_BODY("pm_card_visa", ""), &r);
  assert_reply(&r, 200);
  char id[64], path[128];
  snprintf(id, sizeof id, "%s", str(r.json, "id"));
  reply_clear(&r);
  fault(f, "any", "/capture", "drop_after_commit", 1);
  f->fresh_connections = true;
  snprintf(path, sizeof path, "/v1/payment_intents/%s/capture", id);
  stripe(f, path, "d-cap", "amount_to_capture=400", &r);
  assert_int_not_equal(r.code, CURLE_OK);
  reply_clear(&r);
  reply ledger;
  json_t *p = ledger_payment(f, id, &ledger);
  assert_int_equal(num(p, "captured"), 400); /* the money moved */
  reply_clear(&ledger);
  stripe(f, path, "d-cap", "amount_to_capture=400", &r);
  assert_reply(&r, 200);
  assert_int_equal(num(r.json, "amount_received"), 400);
  assert_non_null(strstr(r.headers, "Idempotent-Replayed: true"));
  reply_clear(&r);

  /* Authorize.Net has no key: the resend is a duplicate; the list finds the sale. */
  fault(f, "authorizenet", "", "drop_after_commit", 1);
  char body[1024];
  snprintf(body, sizeof body,
           "{\"createTransactionRequest\":{" ANET_AUTH
           ",\"refId\":\"d-sale\",\"transactionRequest\":{\"transactionType\":"
           "\"authCaptureTransaction\",\"amount\":\"3.00\"," ANET_CARD
           ",\"order\":{\"invoiceNumber\":\"d-sale\"}}}}");
  anet(f, body, &r);
  assert_int_not_equal(r.code, CURLE_OK);
  reply_clear(&r);
  anet(f, body, &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "transactionResponse.errors.0.errorCode"), "11");
  reply_clear(&r);
  anet(f, "{\"getUnsettledTransactionListRequest\":{" ANET_AUTH "}}", &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "transactions.0.invoiceNumber"), "d-sale");
  assert_string_equal(str(r.json, "transactions.0.transactionStatus"), "settledSuccessfully");
  reply_clear(&r);
  f->passed = true;
}

static void random_fault_rate(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 3; i++) {
    reply r;
    stripe(f, "/v1/payment_intents", NULL, INTENT_BODY("pm_card_visa", ""), &r);
    assert_reply(&r, 500);
    reply_clear(&r);
  }
  reply r;
  send_request(f, "GET", "/procsim/health", NULL, NULL, &r);
  assert_reply(&r, 200);
  assert_string_equal(str(r.json, "status"), "ok");
  reply_clear(&r);
  assert_int_equal(ledger_size(f), 0);
  f->passed = true;
}

/* --- The server itself
 * ---------------------------------------------------------------------------- */

static void keep_alive_and_health(void **state) {
  fixture *f = *state;
  reply r;
  send_request(f, "GET", "/procsim/health", NULL, NULL, &r);
  assert_reply(&r, 200);
  reply_clear(&r);
  for (int i = 0; i < 5; i++) {
    send_request(f, "GET", "/procsim/health", NULL, NULL, &r);
    assert_reply(&r, 200);
    long connects = -1;
    curl_easy_getinfo(f->curl, CURLINFO_NUM_CONNECTS, &connects);
    assert_int_equal(connects, 0); /* the connection was reused */
    reply_clear(&r);
  }
  send_request(f, "GET", "/nowhere", NULL, NULL, &r);
  assert_reply(&r, 404);
  reply_clear(&r);
  f->passed = true;
}

static void refuses_bad_command_lines(void **state) {
  static const char *const non_loopback[] = {"--listen", "0.0.0.0:0", "--dir", "d", NULL};
  static const char *const no_dir[] = {"--listen", "127.0.0.1:0", NULL};
  static const char *const bad_rate[] = {"--dir", "d", "--fault-rate", "1.5", NULL};
  static const char *const bad_fault[] = {"--dir", "d", "--faults", "meteor", NULL};
  assert_int_equal(procsim_run(non_loopback, RUN_TIMEOUT_MS), 2);
  assert_int_equal(procsim_run(no_dir, RUN_TIMEOUT_MS), 2);
  assert_int_equal(procsim_run(bad_rate, RUN_TIMEOUT_MS), 2);
  assert_int_equal(procsim_run(bad_fault, RUN_TIMEOUT_MS), 2);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  const struct CMUnitTest tests[] = {
      TEST(stripe_authorize_capture_refund),
      TEST(stripe_idempotency),
      TEST(stripe_declines),
      TEST(stripe_strict),
      TEST(adyen_flow),
      cmocka_unit_test_setup_teardown(adyen_unlinked_refund, setup_unlinked, teardown),
      TEST(authorizenet_flow),
      TEST(authorizenet_rules),
      TEST(fault_5xx),
      TEST(fault_timeout),
      TEST(fault_slow),
      TEST(fault_drop_after_commit),
      cmocka_unit_test_setup_teardown(random_fault_rate, setup_random_5xx, teardown),
      TEST(keep_alive_and_health),
      cmocka_unit_test(refuses_bad_command_lines),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return failed;
}
