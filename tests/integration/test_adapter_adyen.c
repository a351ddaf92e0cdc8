/* ccpay-adapter-adyen against the real ccpay-procsim: the adapter runs as a child on a
 * unix socket in a 0700 directory with a 0600 config, and the tests call its Gateway
 * service. Money is checked against procsim's own ledger, so a lost answer resolved by
 * Lookup is proven to have charged once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ccpay/gateway/v1/gateway.pb-c.h"
#include "procsim_control.h"
#include "procsim_process.h"
#include "test_client.h"

enum {
  ADAPTER_START_TIMEOUT_MS = 10000,
  ADAPTER_STOP_TIMEOUT_MS = 10000,
  POLL_MS = 50,
};

typedef Ccpay__Gateway__V1__OperationResult result_t;

/* --- The adapter as a child process -------------------------------------------------------- */

typedef struct adapter_child {
  pid_t pid;
  char dir[128];
  char config[PATH_MAX];
  char socket[PATH_MAX];
  char log[PATH_MAX];
} adapter_child;

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static bool write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return false;
  size_t len = strlen(text);
  bool ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0;
  return close(fd) == 0 && ok;
}

static void print_file(const char *path, const char *why) {
  fprintf(stderr, "---- %s: %s ----\n", why, path);
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  char line[1024];
  for (int i = 0; i < 400 && fgets(line, sizeof line, f) != NULL; i++) fputs(line, stderr);
  fclose(f);
}

/* Starts the adapter with config_text (written 0600) and waits for its socket. */
static bool adapter_start(adapter_child *c, const char *config_text) {
  memset(c, 0, sizeof *c);
  snprintf(c->dir, sizeof c->dir, "/tmp/ccpay-adyen-test-XXXXXX");
  if (mkdtemp(c->dir) == NULL || chmod(c->dir, 0700) != 0) return false;
  snprintf(c->config, sizeof c->config, "%s/adyen.ini", c->dir);
  snprintf(c->socket, sizeof c->socket, "%s/adyen.sock", c->dir);
  snprintf(c->log, sizeof c->log, "%s/adapter.log", c->dir);
  if (!write_file(c->config, config_text, 0600)) return false;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    int out = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
    char *const argv[] = {
        (char *)CCPAY_ADAPTER_PATH, "--config", c->config, "--socket", c->socket, NULL};
    execv(argv[0], argv);
    _exit(127);
  }
  c->pid = pid;
  for (int waited = 0; waited < ADAPTER_START_TIMEOUT_MS; waited += POLL_MS) {
    struct stat st;
    if (stat(c->socket, &st) == 0 && S_ISSOCK(st.st_mode)) return true;
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      c->pid = 0;
      break;
    }
    sleep_ms(POLL_MS);
  }
  print_file(c->log, "adapter did not start");
  return false;
}

/* SIGTERM, bounded wait, then SIGKILL; returns the exit code (or 128 + signal, -1). */
static int adapter_stop(adapter_child *c) {
  if (c->pid <= 0) return -1;
  kill(c->pid, SIGTERM);
  int status = 0;
  for (int waited = 0; waited < ADAPTER_STOP_TIMEOUT_MS; waited += POLL_MS) {
    if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
      c->pid = 0;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    sleep_ms(POLL_MS);
  }
  kill(c->pid, SIGKILL);
  waitpid(c->pid, &status, 0);
  c->pid = 0;
  return -1;
}

static void adapter_cleanup(adapter_child *c) {
  unlink(c->config);
  unlink(c->socket);
  unlink(c->log);
  rmdir(c->dir);
}

/* --- The fixture: procsim, the adapter, a client ------------------------------------------- */

typedef struct fixture {
  procsim_process procsim;
  procsim_control control;
  adapter_child adapter;
  test_client *client;
  unsigned serial;
} fixture;

static fixture fx;

static int group_setup(void **state) {
  (void)state;
  const char *const procsim_args[] = {NULL};
  if (!procsim_start(&fx.procsim, procsim_args)) return -1;
  snprintf(fx.control.base_url, sizeof fx.control.base_url, "https://127.0.0.1:%d",
           fx.procsim.port);
  snprintf(fx.control.ca_file, sizeof fx.control.ca_file, "%.*s",
           (int)sizeof fx.control.ca_file - 1, fx.procsim.ca_file);
  char config[PATH_MAX + 1024];
  snprintf(config, sizeof config,
           "[processor]\nbase_url = https://127.0.0.1:%d/v71\nca_file = %s\n"
           "timeout_ms = 5000\nretries = 2\napi_key = procsim_adyen_key\n"
           "merchant_account = CcpayProcsim\ncurrencies = EUR,USD\n"
           "pal_base_url = https://127.0.0.1:%d\n",
           fx.procsim.port, fx.procsim.ca_file, fx.procsim.port);
  if (!adapter_start(&fx.adapter, config)) return -1;
  char target[PATH_MAX + 8];
  snprintf(target, sizeof target, "unix:%s", fx.adapter.socket);
  fx.client = test_client_create_target(target);
  return fx.client != NULL ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  if (fx.client != NULL) test_client_destroy(fx.client);
  int code = adapter_stop(&fx.adapter);
  if (code != 0) print_file(fx.adapter.log, "adapter exit");
  adapter_cleanup(&fx.adapter);
  procsim_stop(&fx.procsim, PROCSIM_STOP_TIMEOUT_MS);
  procsim_destroy(&fx.procsim);
  return code == 0 ? 0 : -1;
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
  char path[128];
  snprintf(path, sizeof path, "/ccpay.gateway.v1.Gateway/%s", method);
  test_client_call(fx.client, path, request, &ccpay__gateway__v1__operation_result__descriptor,
                   15000, reply);
  if (reply->status != GRPC_STATUS_OK) {
    fprintf(stderr, "%s: %s %s (%s)\n", method, test_status_name(reply->status), reply->details,
            reply->reason);
    print_file(fx.adapter.log, "adapter log");
  }
  assert_int_equal(reply->status, GRPC_STATUS_OK);
  assert_non_null(reply->message);
  return (result_t *)reply->message;
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
  static procsim_ledger ledger; /* large: not on the stack */
  assert_true(procsim_read_ledger(&fx.control, &ledger));
  const procsim_payment *p = procsim_find(&ledger, psp);
  assert_non_null(p);
  return *p;
}

/* --- Tests ---------------------------------------------------------------------------------- */

static void capabilities(void **state) {
  (void)state;
  Ccpay__Gateway__V1__GetCapabilitiesRequest r = CCPAY__GATEWAY__V1__GET_CAPABILITIES_REQUEST__INIT;
  test_reply reply;
  test_client_call(fx.client, "/ccpay.gateway.v1.Gateway/GetCapabilities", &r.base,
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
  test_client_call(fx.client, "/ccpay.gateway.v1.Gateway/Refund", &r.base,
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
  assert_true(procsim_inject(&fx.control, "adyen", "/v71/payments", "drop_after_commit", 2));
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
  assert_true(procsim_clear_faults(&fx.control));

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

  static procsim_ledger ledger;
  assert_true(procsim_read_ledger(&fx.control, &ledger));
  int charged = 0;
  for (size_t i = 0; i < ledger.count; i++) {
    if (strcmp(ledger.payments[i].merchant_reference, key) == 0) charged++;
  }
  assert_int_equal(charged, 1);
  assert_int_equal(procsim_find(&ledger, psp)->authorized, 7700);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(capabilities),
      cmocka_unit_test(authorize_two_captures_refund),
      cmocka_unit_test(sale_is_captured),
      cmocka_unit_test(void_releases),
      cmocka_unit_test(decline),
      cmocka_unit_test(unlinked_refund_needs_the_capability),
      cmocka_unit_test(lost_answer_resolved_by_lookup),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
