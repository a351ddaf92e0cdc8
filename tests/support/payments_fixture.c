#include "payments_fixture.h"

#include "ccpay/v1/admin.pb-c.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
  ADAPTER_UP_TIMEOUT_MS = 15000,
  DEFAULT_ADAPTER_TIMEOUT_MS = 3000,
  POLL_MS = 20,
  LOG_SCAN_BYTES_MAX = 8 << 20,
};

static const char *const processors[] = {"stripe", "adyen", "authorizenet"};

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* Writes text to path with mode (created or replaced). */
static bool write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return false;
  size_t len = strlen(text);
  bool ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0;
  return close(fd) == 0 && ok;
}

/* The [processor] section of one adapter's config, with procsim's credentials. False
 * when it does not fit out. */
static bool adapter_config(const payments_fixture *f, const char *processor, int timeout_ms,
                           char *out, size_t size) {
  int port = f->procsim.port;
  const char *ca = f->procsim.ca_file;
  int n;
  if (strcmp(processor, "stripe") == 0) {
    n = snprintf(out, size,
                 "[processor]\nbase_url = https://127.0.0.1:%d\nca_file = %s\ntimeout_ms = %d\n"
                 "secret_key = sk_test_procsim\n",
                 port, ca, timeout_ms);
  } else if (strcmp(processor, "adyen") == 0) {
    n = snprintf(out, size,
                 "[processor]\nbase_url = https://127.0.0.1:%d/v71\nca_file = %s\ntimeout_ms = %d\n"
                 "api_key = procsim_adyen_key\nmerchant_account = CcpayProcsim\n"
                 "pal_base_url = https://127.0.0.1:%d\n",
                 port, ca, timeout_ms, port);
  } else {
    n = snprintf(out, size,
                 "[processor]\nbase_url = https://127.0.0.1:%d/xml/v1/request.api\nca_file = %s\n"
                 "timeout_ms = %d\napi_login_id = procsim_login\n"
                 "transaction_key = procsim_transaction_key\n",
                 port, ca, timeout_ms);
  }
  return n > 0 && (size_t)n < size;
}

/* The adapters' configs, and ccpayd's INI naming them. */
static bool write_configs(payments_fixture *f, const payments_fixture_options *o) {
  char ini[4 * PATH_MAX];
  size_t used = 0;
  ini[0] = '\0';
  int timeout_ms = o->adapter_timeout_ms > 0 ? o->adapter_timeout_ms : DEFAULT_ADAPTER_TIMEOUT_MS;
  for (size_t i = 0; i < sizeof processors / sizeof *processors; i++) {
    char path[PATH_MAX], text[PATH_MAX + 1024];
    int n = snprintf(path, sizeof path, "%s/%s.ini", f->server.dir, processors[i]);
    if (n < 0 || (size_t)n >= sizeof path) return false;
    if (!adapter_config(f, processors[i], timeout_ms, text, sizeof text)) return false;
    if (o->adyen_unlinked_refunds && strcmp(processors[i], "adyen") == 0) {
      size_t length = strlen(text);
      int added = snprintf(text + length, sizeof text - length, "unlinked_refunds = true\n");
      if (added < 0 || (size_t)added >= sizeof text - length) return false;
    }
    /* Without its credentials the adapter exits 2 at every start: it never comes up. */
    if (o->break_authorizenet && strcmp(processors[i], "authorizenet") == 0) {
      char *credentials = strstr(text, "api_login_id");
      if (credentials != NULL) *credentials = '\0';
    }
    if (!write_file(path, text, 0600)) return false;
    used += (size_t)snprintf(ini + used, sizeof ini - used, "[adapter.%s]\nconfig = %s\n",
                             processors[i], path);
    if (used >= sizeof ini) return false;
  }
  int n = snprintf(f->config_path, sizeof f->config_path, "%s/ccpayd.ini", f->server.dir);
  if (n < 0 || (size_t)n >= sizeof f->config_path) return false;
  return write_file(f->config_path, ini, 0600);
}

/* Reads the whole of ccpayd's log (bounded) into a malloc'd string. */
static char *read_log(const payments_fixture *f) {
  FILE *in = fopen(f->server.log_path, "r");
  if (in == NULL) return NULL;
  char *text = malloc(LOG_SCAN_BYTES_MAX + 1);
  size_t n = text != NULL ? fread(text, 1, LOG_SCAN_BYTES_MAX, in) : 0;
  fclose(in);
  if (text != NULL) text[n] = '\0';
  return text;
}

int payments_fixture_adapter_pid(const payments_fixture *f, const char *processor) {
  char *log = read_log(f);
  if (log == NULL) return 0;
  char needle[96];
  snprintf(needle, sizeof needle, "event=adapter_up processor=%s ", processor);
  int pid = 0;
  for (const char *at = strstr(log, needle); at != NULL; at = strstr(at + 1, needle)) {
    const char *p = strstr(at, "pid=");
    const char *eol = strchr(at, '\n');
    if (p != NULL && (eol == NULL || p < eol)) pid = atoi(p + 4);
  }
  free(log);
  return pid;
}

bool payments_fixture_wait_adapter(payments_fixture *f, const char *processor, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += POLL_MS) {
    if (payments_fixture_adapter_pid(f, processor) > 0) return true;
    sleep_ms(POLL_MS);
  }
  return false;
}

static bool start_server(payments_fixture *f, const payments_fixture_options *o) {
  const char *args[] = {"--config", f->config_path, NULL};
  if (!ccpayd_start(&f->server, args)) return false;
  f->client = test_client_create(f->server.port);
  if (f->client != NULL) test_client_set_token(f->client, f->server.admin_token);
  for (size_t i = 0; i < sizeof processors / sizeof *processors; i++) {
    if (o->break_authorizenet && strcmp(processors[i], "authorizenet") == 0) continue;
    if (!payments_fixture_wait_adapter(f, processors[i], ADAPTER_UP_TIMEOUT_MS)) {
      fprintf(stderr, "adapter %s did not come up\n", processors[i]);
      ccpayd_print_log(&f->server, "adapter did not come up");
      return false;
    }
  }
  return f->client != NULL;
}

static payments_fixture_options saved_options; /* for restarts */

/* The options that are business parameters (kept in the data directory: set once):
 * capture_at_submit and hold_above ("USD:4000"). */
static bool set_parameters(payments_fixture *f, const payments_fixture_options *o) {
  if (!o->capture_at_submit && o->hold_above == NULL) return true;
  Ccpay__V1__Parameters p = CCPAY__V1__PARAMETERS__INIT;
  Ccpay__V1__FraudRules rules = CCPAY__V1__FRAUD_RULES__INIT;
  Ccpay__V1__Money limit = CCPAY__V1__MONEY__INIT;
  Ccpay__V1__Money *limits[] = {&limit};
  char currency[4] = "";
  char *mask[2];
  size_t n_mask = 0;
  if (o->capture_at_submit) {
    p.capture_mode = CCPAY__V1__CAPTURE_MODE__CAPTURE_MODE_CAPTURE_AT_SUBMIT;
    mask[n_mask++] = "capture_mode";
  }
  if (o->hold_above != NULL) {
    long long amount = 0;
    if (sscanf(o->hold_above, "%3[A-Z]:%lld", currency, &amount) != 2) return false;
    limit.currency_code = currency;
    limit.amount_minor = amount;
    rules.hold_above = limits;
    rules.n_hold_above = 1;
    p.fraud_rules = &rules;
    mask[n_mask++] = "fraud_rules";
  }
  Ccpay__V1__UpdateParametersRequest req = CCPAY__V1__UPDATE_PARAMETERS_REQUEST__INIT;
  req.parameters = &p;
  req.update_mask = mask;
  req.n_update_mask = n_mask;
  req.request_id = "fixture-parameters";
  test_reply r;
  grpc_status_code status = test_client_call(f->client, "/ccpay.v1.AdminService/UpdateParameters",
                                             &req.base, &ccpay__v1__parameters__descriptor, 0, &r);
  if (status != GRPC_STATUS_OK) fprintf(stderr, "fixture: UpdateParameters: %s\n", r.details);
  test_reply_clear(&r);
  return status == GRPC_STATUS_OK;
}

int payments_fixture_setup_with(void **state, const payments_fixture_options *options) {
  payments_fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  saved_options = *options;
  /* Slow answers come well inside the adapters' timeout; hung ones well outside it. */
  const char *const procsim_args[] = {
      "--slow-ms",
      "1000",
      "--hang-ms",
      "10000",
      options->adyen_unlinked_refunds ? "--adyen-unlinked-refunds" : NULL,
      NULL};
  if (!procsim_start(&f->procsim, procsim_args)) {
    free(f);
    return -1;
  }
  snprintf(f->control.base_url, sizeof f->control.base_url, "https://127.0.0.1:%d",
           f->procsim.port);
  int n = snprintf(f->control.ca_file, sizeof f->control.ca_file, "%s", f->procsim.ca_file);
  if (n < 0 || (size_t)n >= sizeof f->control.ca_file) {
    procsim_destroy(&f->procsim);
    free(f);
    return -1;
  }
  if (!ccpayd_init(&f->server) || !write_configs(f, options) || !start_server(f, options) ||
      !set_parameters(f, options)) {
    if (f->client != NULL) test_client_destroy(f->client);
    ccpayd_destroy(&f->server);
    procsim_destroy(&f->procsim);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

int payments_fixture_setup(void **state) {
  payments_fixture_options defaults = {0};
  return payments_fixture_setup_with(state, &defaults);
}

bool payments_fixture_restart(payments_fixture *f) {
  if (f->client != NULL) test_client_destroy(f->client);
  f->client = NULL;
  return start_server(f, &saved_options);
}

int payments_fixture_teardown(void **state) {
  payments_fixture *f = *state;
  if (f == NULL) return 0;
  if (f->client != NULL) test_client_destroy(f->client);
  bool server_clean = ccpayd_finish(&f->server, f->passed);
  int procsim_status = procsim_stop(&f->procsim, PROCSIM_STOP_TIMEOUT_MS);
  bool procsim_clean = procsim_status == 0 && !procsim_log_has_sanitizer_report(&f->procsim);
  if (!f->passed || !procsim_clean) procsim_print_log(&f->procsim, "payments test");
  procsim_destroy(&f->procsim);
  free(f);
  return server_clean && procsim_clean ? 0 : -1;
}

bool payments_fixture_verify(payments_fixture *f, char *why, size_t why_size) {
  test_client_destroy(f->client);
  f->client = NULL;
  return ccpayd_stop_and_verify(&f->server, why, why_size);
}

bool payments_fixture_procsim_matches(payments_fixture *f, const Ccpay__V1__Payment *p, char *why,
                                      size_t why_size) {
  procsim_ledger *ledger = malloc(sizeof *ledger);
  bool read = ledger != NULL && procsim_read_ledger(&f->control, ledger);
  const procsim_payment *sim = read ? procsim_find(ledger, p->processor_reference) : NULL;
  bool same = sim != NULL && sim->captured == p->captured->amount_minor &&
              sim->refunded == p->refunded->amount_minor;
  if (sim == NULL) {
    snprintf(why, why_size, "procsim has no payment %s (%s)", p->processor_reference, p->id);
  } else if (!same) {
    snprintf(why, why_size,
             "%s: procsim captured %lld refunded %lld; ccpay captured %lld refunded %lld", p->id,
             (long long)sim->captured, (long long)sim->refunded,
             (long long)p->captured->amount_minor, (long long)p->refunded->amount_minor);
  }
  free(ledger);
  return same;
}
