/* The adapter runtime (see adapter.h): command line, config file, socket directory,
 * the Gateway service on server/rpc, request validation, one log line per operation,
 * and the stop on SIGTERM/SIGINT. */
#include "adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "domain/currency.h"
#include "gateway_validate.h"
#include "redact.h"
#include "rpc/rpc.h"

enum {
  ADAPTER_CONFIG_KEYS_MAX = 64,
  ADAPTER_CONFIG_VALUE_BYTES_MAX = 4096,
  ADAPTER_THREADS_DEFAULT = 4,
  /* What an operation keeps of ccpayd's deadline to send its answer back. */
  ADAPTER_ANSWER_MARGIN_MS = 250,
  ADAPTER_LOG_TEXT_BYTES_MAX = 512,
  ADAPTER_METHODS = 6,
};

typedef struct config_entry {
  char *key;
  char *value;
} config_entry;

struct adapter {
  const adapter_ops *ops;
  void *state;
  const char *config_path;
  config_entry config[ADAPTER_CONFIG_KEYS_MAX];
  size_t config_count;
  char base_url[ADAPTER_CONFIG_VALUE_BYTES_MAX];
  http_client_options http_options;
  char *secrets[ADAPTER_SECRETS_MAX];
  size_t secret_count;
  bool serving; /* set once before the server starts; secrets are fixed from then on */
  gateway_capabilities capabilities;

  /* One http_client per worker thread, created on its first operation. */
  pthread_mutex_t clients_lock;
  http_client *clients[SERVER_THREADS_MAX];
  size_t client_count;

  rpc_method methods[ADAPTER_METHODS];
};

static _Thread_local http_client *worker_client;

/* --- Config ---------------------------------------------------------------------------- */

/* Keys the runtime itself reads from [processor]. */
static const char *const runtime_keys[] = {"base_url",   "ca_file", "connect_timeout_ms",
                                           "timeout_ms", "retries", NULL};

const char *adapter_config_get(const adapter *a, const char *key) {
  for (size_t i = 0; i < a->config_count; i++) {
    if (strcmp(a->config[i].key, key) == 0) return a->config[i].value;
  }
  return NULL;
}

bool adapter_config_int(const adapter *a, const char *key, long min, long max, long fallback,
                        long *out, ccpay_error *error) {
  const char *text = adapter_config_get(a, key);
  if (text == NULL) {
    *out = fallback;
    return true;
  }
  errno = 0;
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s: must be an integer from %ld to %ld",
                    key, min, max);
    return false;
  }
  *out = value;
  return true;
}

bool adapter_config_bool(const adapter *a, const char *key, bool fallback, bool *out,
                         ccpay_error *error) {
  const char *text = adapter_config_get(a, key);
  if (text == NULL) {
    *out = fallback;
    return true;
  }
  if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
    *out = text[0] == 't';
    return true;
  }
  ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s: must be true or false", key);
  return false;
}

bool adapter_config_required(const adapter *a, const char *key, const char **out,
                             ccpay_error *error) {
  CHECK(key != NULL && out != NULL);
  *out = adapter_config_get(a, key);
  if (*out == NULL || (*out)[0] == '\0') {
    ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", key);
    return false;
  }
  return true;
}

const char *adapter_config_text(const adapter *a, const char *key, const char *fallback) {
  const char *text = adapter_config_get(a, key);
  return text != NULL ? text : fallback;
}

/* Adds the code of len bytes at text to out; false (error) when it is not a currency ccpay
 * knows, is listed already, or would be one more than count_max. */
static bool currencies_add(adapter_currencies *out, const char *text, size_t len, size_t count_max,
                           ccpay_error *error) {
  char code[4] = "";
  if (len == 3) memcpy(code, text, 3);
  if (len != 3 || currency_find(code) == NULL) {
    ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                    "currencies: \"%.*s\" is not an ISO 4217 code ccpay knows",
                    (int)(len < 16 ? len : 16), text);
    return false;
  }
  if (adapter_currencies_contain(out, code)) {
    ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "currencies: %s given twice", code);
    return false;
  }
  if (out->count == count_max) {
    ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "currencies: more than %zu", count_max);
    return false;
  }
  memcpy(out->codes[out->count], code, 4);
  out->list[out->count] = out->codes[out->count];
  out->count++;
  return true;
}

bool adapter_config_currencies(const adapter *a, const char *fallback, size_t count_max,
                               adapter_currencies *out, ccpay_error *error) {
  CHECK(fallback != NULL && out != NULL);
  CHECK(count_max >= 1 && count_max <= ADAPTER_CURRENCIES_MAX);
  memset(out, 0, sizeof *out);
  const char *at = adapter_config_text(a, "currencies", fallback);
  while (*at != '\0') {
    while (*at == ' ' || *at == ',') at++;
    if (*at == '\0') break;
    size_t len = strcspn(at, ", ");
    if (!currencies_add(out, at, len, count_max, error)) return false;
    at += len;
  }
  if (out->count == 0) {
    ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "currencies: at least one");
    return false;
  }
  CHECK(out->count <= count_max);
  return true;
}

bool adapter_currencies_contain(const adapter_currencies *currencies, const char *code) {
  CHECK(currencies->count <= ADAPTER_CURRENCIES_MAX);
  for (size_t i = 0; i < currencies->count; i++) {
    if (strcmp(currencies->codes[i], code) == 0) return true;
  }
  return false;
}

bool adapter_config_validity_days(const adapter *a, int32_t fallback, int32_t *out,
                                  ccpay_error *error) {
  CHECK(fallback >= 1 && fallback <= ADAPTER_VALIDITY_DAYS_MAX);
  long days = 0;
  if (!adapter_config_int(a, "authorization_validity_days", 1, ADAPTER_VALIDITY_DAYS_MAX, fallback,
                          &days, error)) {
    return false;
  }
  *out = (int32_t)days;
  return true;
}

void adapter_capabilities_set_currencies(gateway_capabilities *out,
                                         const adapter_currencies *currencies) {
  CHECK(currencies->count >= 1 && currencies->count <= ADAPTER_CURRENCIES_MAX);
  out->n_currencies = currencies->count;
  /* protobuf-c's field is not const; Capabilities is only read (packed) from it. */
  out->currencies = (char **)currencies->list;
}

int64_t adapter_authorization_expires_ms(int32_t validity_days) {
  CHECK(validity_days >= 1 && validity_days <= ADAPTER_VALIDITY_DAYS_MAX);
  static const int64_t day_ms = 86400000;
  return clock_wall_ms() + validity_days * day_ms;
}

static bool key_listed(const char *const *keys, const char *key) {
  for (size_t i = 0; keys != NULL && keys[i] != NULL; i++) {
    if (strcmp(keys[i], key) == 0) return true;
  }
  return false;
}

typedef struct config_parse {
  adapter *a;
  char message[CCPAY_ERROR_MESSAGE_MAX];
} config_parse;

static int config_on_pair(void *user, const char *section, const char *name, const char *value) {
  config_parse *p = user;
  adapter *a = p->a;
  if (strcmp(section, "processor") != 0) {
    snprintf(p->message, sizeof p->message, "section [%.64s] is not known (only [processor])",
             section);
    return 0;
  }
  if (adapter_config_get(a, name) != NULL) {
    snprintf(p->message, sizeof p->message, "%.64s: given twice", name);
    return 0;
  }
  bool known = key_listed(runtime_keys, name) || a->ops->config_keys == NULL ||
               key_listed(a->ops->config_keys, name);
  if (!known) {
    snprintf(p->message, sizeof p->message, "%.64s: not a key of the %s adapter", name,
             a->ops->processor);
    return 0;
  }
  if (a->config_count == ADAPTER_CONFIG_KEYS_MAX ||
      strlen(value) >= ADAPTER_CONFIG_VALUE_BYTES_MAX) {
    snprintf(p->message, sizeof p->message, "%.64s: too many keys or too long a value", name);
    return 0;
  }
  config_entry *e = &a->config[a->config_count];
  e->key = strdup(name);
  e->value = strdup(value);
  CHECK(e->key != NULL && e->value != NULL);
  a->config_count++;
  return 1;
}

/* Reads the config file, refusing one that group or others may read or write: it holds
 * the processor's credentials. */
static bool config_read(adapter *a, const char *path, char *message, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(message, size, "config %s: %s", path, strerror(errno));
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(message, size, "config %s: not a regular file", path);
    close(fd);
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(message, size,
             "config %s: mode %04o lets group or others reach the processor's credentials; "
             "chmod 600 it",
             path, (unsigned)(st.st_mode & 07777));
    close(fd);
    return false;
  }
  FILE *f = fdopen(fd, "r");
  CHECK(f != NULL);
  config_parse p = {.a = a};
  int rc = ini_parse_file(f, config_on_pair, &p);
  fclose(f);
  if (rc != 0) {
    if (p.message[0] == '\0') snprintf(p.message, sizeof p.message, "not valid INI");
    snprintf(message, size, "config %s: line %d: %s", path, rc, p.message);
    return false;
  }
  return true;
}

/* The runtime's own keys: base_url, ca_file and the HTTP timeouts. */
static bool config_check(adapter *a, char *message, size_t size) {
  const char *path = a->config_path;
  const char *base_url = adapter_config_get(a, "base_url");
  if (base_url == NULL || strncmp(base_url, "https://", 8) != 0 || base_url[8] == '\0') {
    snprintf(message, size, "config %s: base_url: required, an https:// URL", path);
    return false;
  }
  snprintf(a->base_url, sizeof a->base_url, "%s", base_url);
  size_t len = strlen(a->base_url);
  while (len > 8 && a->base_url[len - 1] == '/') a->base_url[--len] = '\0';
  const char *ca_file = adapter_config_get(a, "ca_file");
  if (ca_file != NULL && access(ca_file, R_OK) != 0) {
    snprintf(message, size, "config %s: ca_file: cannot read %s: %s", path, ca_file,
             strerror(errno));
    return false;
  }
  long connect_ms = 0, timeout_ms = 0, retries = 0;
  ccpay_error error;
  if (!adapter_config_int(a, "connect_timeout_ms", 1, 60000, 2000, &connect_ms, &error) ||
      !adapter_config_int(a, "timeout_ms", 100, 300000, 15000, &timeout_ms, &error) ||
      !adapter_config_int(a, "retries", 0, 5, 2, &retries, &error)) {
    snprintf(message, size, "config %s: %s", path, error.message);
    return false;
  }
  a->http_options = (http_client_options){.ca_file = ca_file,
                                          .connect_timeout_ms = connect_ms,
                                          .timeout_ms = timeout_ms,
                                          .retries = (unsigned)retries};
  return true;
}

const char *adapter_base_url(const adapter *a) { return a->base_url; }
void *adapter_state(const adapter *a) { return a->state; }

/* --- Secrets and redaction -------------------------------------------------------------- */

void adapter_add_secret(adapter *a, const char *secret) {
  CHECK(!a->serving); /* read without a lock by every worker afterwards */
  CHECK(a->secret_count < ADAPTER_SECRETS_MAX);
  if (secret == NULL || secret[0] == '\0') return;
  a->secrets[a->secret_count] = strdup(secret);
  CHECK(a->secrets[a->secret_count] != NULL);
  a->secret_count++;
}

/* Redacts the registered secrets and, when given, one more (a request's card token). */
static const char *redact_with(const adapter *a, const char *extra, const char *text, char *out,
                               size_t size) {
  const char *secrets[ADAPTER_SECRETS_MAX + 1];
  size_t count = 0;
  for (size_t i = 0; i < a->secret_count; i++) secrets[count++] = a->secrets[i];
  if (extra != NULL && extra[0] != '\0') secrets[count++] = extra;
  redact_text(text, secrets, count, out, size);
  return out;
}

const char *adapter_redact(const adapter *a, const char *text, char *out, size_t size) {
  return redact_with(a, NULL, text, out, size);
}

/* --- Results ---------------------------------------------------------------------------- */

const char *adapter_outcome_name(Ccpay__Gateway__V1__Outcome outcome) {
  switch (outcome) {
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED:
      return "SUCCEEDED";
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED:
      return "DECLINED";
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED:
      return "FAILED";
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN:
      return "UNKNOWN";
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_NOT_FOUND:
      return "NOT_FOUND";
    default:
      return "UNSPECIFIED";
  }
}

/* A copy in the arena, or "" when the arena is exhausted (protobuf-c's empty string is
 * what an unset string field holds). */
static char *arena_text(arena *a, const char *text) {
  char *copy = text != NULL ? arena_strndup(a, text, strlen(text)) : NULL;
  return copy != NULL ? copy : (char *)protobuf_c_empty_string;
}

void adapter_result_set(adapter_op *op, gateway_result *result, Ccpay__Gateway__V1__Outcome outcome,
                        const char *decline_code, const char *message) {
  result->outcome = outcome;
  if (decline_code != NULL) result->decline_code = arena_text(op->arena, decline_code);
  if (message != NULL) result->message = arena_text(op->arena, message);
}

void adapter_result_from_transport(adapter_op *op, gateway_result *result,
                                   const http_response *response) {
  char message[CCPAY_ERROR_MESSAGE_MAX + sizeof response->error];
  switch (response->transport) {
    case HTTP_TRANSPORT_NOT_SENT:
      snprintf(message, sizeof message, "not sent to %s: %s", op->adapter->ops->processor,
               response->error);
      adapter_result_set(op, result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED, "not_sent",
                         message);
      return;
    case HTTP_TRANSPORT_LOST:
      snprintf(message, sizeof message, "sent to %s, answer lost: %s", op->adapter->ops->processor,
               response->error);
      adapter_result_set(op, result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, "answer_lost",
                         message);
      return;
    case HTTP_TRANSPORT_OK:
      /* An answer that says nothing final (5xx, 409 after the resends). */
      snprintf(message, sizeof message, "%s answered HTTP %ld after %u attempt%s",
               op->adapter->ops->processor, response->status, response->attempts,
               response->attempts == 1 ? "" : "s");
      adapter_result_set(op, result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, "http_status",
                         message);
      return;
  }
  CHECK(!"unknown transport");
}

/* --- HTTP -------------------------------------------------------------------------------- */

static http_client *client_of_this_worker(adapter *a) {
  if (worker_client != NULL) return worker_client;
  http_client *c = http_client_create(&a->http_options);
  if (c == NULL) return NULL;
  pthread_mutex_lock(&a->clients_lock);
  CHECK(a->client_count < SERVER_THREADS_MAX);
  a->clients[a->client_count++] = c;
  pthread_mutex_unlock(&a->clients_lock);
  worker_client = c;
  return c;
}

void adapter_http_send(adapter_op *op, http_request *request, http_response *response) {
  CHECK(op != NULL && op->http != NULL);
  request->budget_ms = 0;
  if (op->deadline_us != 0) {
    int64_t left_ms = (op->deadline_us - clock_mono_us()) / 1000 - ADAPTER_ANSWER_MARGIN_MS;
    request->budget_ms = left_ms > 1 ? left_ms : 1;
  }
  int64_t start_us = clock_mono_us();
  http_send(op->http, request, op->arena, response);
  op->http_status = response->status;
  op->http_attempts += response->attempts;
  if (log_enabled(LOG_DEBUG)) {
    char error[2 * sizeof response->error + 8];
    char redacted[sizeof response->error];
    log_quote(adapter_redact(op->adapter, response->error, redacted, sizeof redacted), error,
              sizeof error);
    log_debug(
        "event=http key=%s method=%s url=%s status=%ld transport=%d attempts=%u "
        "replayed=%s elapsed_ms=%lld error=%s",
        op->key, request->method, request->url, response->status, (int)response->transport,
        response->attempts, response->replayed ? "true" : "false",
        (long long)((clock_mono_us() - start_us) / 1000), error);
  }
}

/* --- Serving Gateway ------------------------------------------------------------------- */

typedef enum op_kind { OP_AUTHORIZE, OP_CAPTURE, OP_VOID, OP_REFUND, OP_LOOKUP } op_kind;

static const char *const op_names[] = {"authorize", "capture", "void", "refund", "lookup"};

/* The request's key and card token (for redaction); either may be NULL. */
static void request_key_and_token(op_kind kind, const ProtobufCMessage *m, const char **key,
                                  const char **token) {
  *token = NULL;
  switch (kind) {
    case OP_AUTHORIZE: {
      const gateway_authorize_request *r = (const gateway_authorize_request *)m;
      *key = r->idempotency_key;
      if (r->card != NULL) *token = r->card->token;
      return;
    }
    case OP_CAPTURE:
      *key = ((const gateway_capture_request *)m)->idempotency_key;
      return;
    case OP_VOID:
      *key = ((const gateway_void_request *)m)->idempotency_key;
      return;
    case OP_REFUND: {
      const gateway_refund_request *r = (const gateway_refund_request *)m;
      *key = r->idempotency_key;
      if (r->card != NULL) *token = r->card->token;
      return;
    }
    case OP_LOOKUP: {
      const gateway_lookup_request *r = (const gateway_lookup_request *)m;
      *key = r->idempotency_key;
      if (r->original_case == CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST &&
          r->authorize_request->card != NULL) {
        *token = r->authorize_request->card->token;
      } else if (r->original_case == CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST &&
                 r->refund_request->card != NULL) {
        *token = r->refund_request->card->token;
      }
      return;
    }
  }
  CHECK(!"unknown operation kind");
}

static ccpay_err validate(const adapter *a, op_kind kind, const ProtobufCMessage *m,
                          ccpay_error *error) {
  const gateway_capabilities *caps = &a->capabilities;
  switch (kind) {
    case OP_AUTHORIZE:
      return gateway_validate_authorize((const gateway_authorize_request *)m, caps, "", error);
    case OP_CAPTURE:
      return gateway_validate_capture((const gateway_capture_request *)m, caps, "", error);
    case OP_VOID:
      return gateway_validate_void((const gateway_void_request *)m, caps, "", error);
    case OP_REFUND:
      return gateway_validate_refund((const gateway_refund_request *)m, caps, "", error);
    case OP_LOOKUP:
      return gateway_validate_lookup((const gateway_lookup_request *)m, caps, error);
  }
  CHECK(!"unknown operation kind");
}

static ccpay_err dispatch(adapter_op *op, op_kind kind, const ProtobufCMessage *m,
                          gateway_result *result, ccpay_error *error) {
  const adapter_ops *ops = op->adapter->ops;
  switch (kind) {
    case OP_AUTHORIZE:
      return ops->authorize(op, (const gateway_authorize_request *)m, result, error);
    case OP_CAPTURE:
      return ops->capture(op, (const gateway_capture_request *)m, result, error);
    case OP_VOID:
      return ops->void_(op, (const gateway_void_request *)m, result, error);
    case OP_REFUND:
      return ops->refund(op, (const gateway_refund_request *)m, result, error);
    case OP_LOOKUP:
      return ops->lookup(op, (const gateway_lookup_request *)m, result, error);
  }
  CHECK(!"unknown operation kind");
}

/* The operation's one log line: what was asked, how it ended, how long it took; texts
 * redacted and quoted. */
static void log_operation(const adapter_op *op, op_kind kind, const char *key,
                          const gateway_result *result, ccpay_err rc, const ccpay_error *error,
                          int64_t start_us) {
  char key_q[2 * GATEWAY_KEY_BYTES_MAX + 8], message_q[2 * ADAPTER_LOG_TEXT_BYTES_MAX + 8];
  char reference_q[160], code_q[160], status_q[160];
  char key_text[GATEWAY_KEY_BYTES_MAX + 1];
  snprintf(key_text, sizeof key_text, "%s", key != NULL ? key : "");
  log_quote(key_text, key_q, sizeof key_q);
  long long elapsed_ms = (long long)((clock_mono_us() - start_us) / 1000);
  if (rc != CCPAY_OK) {
    log_quote(error->message, message_q, sizeof message_q);
    log_warn(
        "event=operation processor=%s operation=%s key=%s outcome=ERROR reason=%s "
        "http_status=%ld attempts=%u elapsed_ms=%lld message=%s",
        op->adapter->ops->processor, op_names[kind], key_q, ccpay_err_reason(rc), op->http_status,
        op->http_attempts, elapsed_ms, message_q);
    return;
  }
  log_quote(result->message, message_q, sizeof message_q);
  log_quote(result->processor_reference, reference_q, sizeof reference_q);
  log_quote(result->decline_code, code_q, sizeof code_q);
  log_quote(result->processor_status, status_q, sizeof status_q);
  bool settled = result->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED ||
                 result->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED ||
                 result->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_NOT_FOUND;
  log_write(settled ? LOG_INFO : LOG_WARN,
            "event=operation processor=%s operation=%s key=%s outcome=%s reference=%s "
            "processor_status=%s decline_code=%s amount_minor=%lld http_status=%ld attempts=%u "
            "elapsed_ms=%lld message=%s",
            op->adapter->ops->processor, op_names[kind], key_q,
            adapter_outcome_name(result->outcome), reference_q, status_q, code_q,
            (long long)(result->amount != NULL ? result->amount->amount_minor : 0), op->http_status,
            op->http_attempts, elapsed_ms, message_q);
}

/* Every text of the result that may echo the request or the processor's words passes
 * through redaction before it leaves. */
static void redact_result(const adapter *a, const char *token, arena *ar, gateway_result *r) {
  char text[ADAPTER_LOG_TEXT_BYTES_MAX];
  char **fields[] = {&r->message, &r->decline_code, &r->processor_status};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (*fields[i] == NULL || (*fields[i])[0] == '\0') continue;
    redact_with(a, token, *fields[i], text, sizeof text);
    if (strcmp(text, *fields[i]) != 0) *fields[i] = arena_text(ar, text);
  }
}

static void serve_operation(rpc_call *call, const ProtobufCMessage *request, op_kind kind) {
  adapter *a = rpc_call_context(call);
  int64_t start_us = clock_mono_us();
  const char *key = NULL, *token = NULL;
  request_key_and_token(kind, request, &key, &token);
  rpc_call_set_request_id(call, key != NULL ? key : "");
  arena *ar = rpc_call_arena(call);
  gateway_result *result = arena_calloc(ar, sizeof *result);
  CHECK(result != NULL);
  ccpay__gateway__v1__operation_result__init(result);
  int64_t remaining_ms = rpc_call_remaining_ms(call);
  adapter_op op = {
      .adapter = a,
      .arena = ar,
      .key = key,
      .remaining_ms = remaining_ms,
      /* No deadline, or one further than a day: bounded by the HTTP timeouts alone. */
      .deadline_us = remaining_ms > 86400000 ? 0 : start_us + remaining_ms * 1000,
  };
  ccpay_error error;
  ccpay_error_clear(&error);
  ccpay_err rc = validate(a, kind, request, &error);
  if (rc == CCPAY_OK) {
    op.http = client_of_this_worker(a);
    if (op.http == NULL) rc = ccpay_error_set(&error, CCPAY_ERR_INTERNAL, "out of memory");
  }
  if (rc == CCPAY_OK) rc = dispatch(&op, kind, request, result, &error);
  if (rc != CCPAY_OK) {
    char text[CCPAY_ERROR_MESSAGE_MAX];
    redact_with(a, token, error.message, text, sizeof text);
    memcpy(error.message, text, sizeof error.message);
    error.code = rc;
    log_operation(&op, kind, key, result, rc, &error, start_us);
    rpc_call_fail(call, &error);
    return;
  }
  CHECK(result->outcome != CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNSPECIFIED);
  redact_result(a, token, ar, result);
  log_operation(&op, kind, key, result, rc, &error, start_us);
  rpc_call_reply(call, &result->base);
}

static void handle_authorize(rpc_call *call, const ProtobufCMessage *request) {
  serve_operation(call, request, OP_AUTHORIZE);
}
static void handle_capture(rpc_call *call, const ProtobufCMessage *request) {
  serve_operation(call, request, OP_CAPTURE);
}
static void handle_void(rpc_call *call, const ProtobufCMessage *request) {
  serve_operation(call, request, OP_VOID);
}
static void handle_refund(rpc_call *call, const ProtobufCMessage *request) {
  serve_operation(call, request, OP_REFUND);
}
static void handle_lookup(rpc_call *call, const ProtobufCMessage *request) {
  serve_operation(call, request, OP_LOOKUP);
}

static void handle_capabilities(rpc_call *call, const ProtobufCMessage *request) {
  adapter *a = rpc_call_context(call);
  rpc_call_reply(call, &a->capabilities.base);
}

static void build_methods(adapter *a) {
  static const struct {
    const char *name;
    rpc_handler_fn handler;
    const ProtobufCMessageDescriptor *request;
    const ProtobufCMessageDescriptor *reply;
  } table[ADAPTER_METHODS] = {
      {"/ccpay.gateway.v1.Gateway/GetCapabilities", handle_capabilities,
       &ccpay__gateway__v1__get_capabilities_request__descriptor,
       &ccpay__gateway__v1__capabilities__descriptor},
      {"/ccpay.gateway.v1.Gateway/Authorize", handle_authorize,
       &ccpay__gateway__v1__authorize_request__descriptor,
       &ccpay__gateway__v1__operation_result__descriptor},
      {"/ccpay.gateway.v1.Gateway/Capture", handle_capture,
       &ccpay__gateway__v1__capture_request__descriptor,
       &ccpay__gateway__v1__operation_result__descriptor},
      {"/ccpay.gateway.v1.Gateway/VoidAuthorization", handle_void,
       &ccpay__gateway__v1__void_request__descriptor,
       &ccpay__gateway__v1__operation_result__descriptor},
      {"/ccpay.gateway.v1.Gateway/Refund", handle_refund,
       &ccpay__gateway__v1__refund_request__descriptor,
       &ccpay__gateway__v1__operation_result__descriptor},
      {"/ccpay.gateway.v1.Gateway/Lookup", handle_lookup,
       &ccpay__gateway__v1__lookup_request__descriptor,
       &ccpay__gateway__v1__operation_result__descriptor},
  };
  for (size_t i = 0; i < ADAPTER_METHODS; i++) {
    a->methods[i] = (rpc_method){.name = table[i].name,
                                 .kind = RPC_UNARY,
                                 .request_descriptor = table[i].request,
                                 .reply_descriptor = table[i].reply,
                                 .handler = table[i].handler,
                                 .permission = NULL, /* the socket's mode is the gate */
                                 .context = a};
  }
}

/* --- Command line ------------------------------------------------------------------------ */

typedef struct adapter_args {
  const char *config;
  const char *socket;
  unsigned threads;
  log_level level;
  bool help;
} adapter_args;

static void usage(FILE *out, const char *processor) {
  fprintf(out,
          "Usage: ccpay-adapter-%s --config FILE --socket PATH [--threads N] [--log-level L]\n"
          "\n"
          "Serves ccpay.gateway.v1.Gateway for %s on a unix socket, for ccpayd.\n"
          "\n"
          "  --config FILE     INI file with a [processor] section (credentials: it must\n"
          "                    not be readable by group or others)\n"
          "  --socket PATH     the socket to serve; its directory is created 0700 when\n"
          "                    missing and must not be reachable by group or others\n"
          "  --threads N       operations in flight at once, 1 to %d (%d)\n"
          "  --log-level L     debug, info, warn or error (info)\n"
          "\n"
          "SIGTERM or SIGINT stop it after the operations in flight (bounded).\n",
          processor, processor, SERVER_THREADS_MAX, ADAPTER_THREADS_DEFAULT);
}

static bool parse_args(int argc, char **argv, adapter_args *out, char *message, size_t size) {
  static const struct option options[] = {
      {"config", required_argument, NULL, 'c'},  {"socket", required_argument, NULL, 's'},
      {"threads", required_argument, NULL, 't'}, {"log-level", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  *out = (adapter_args){.threads = ADAPTER_THREADS_DEFAULT, .level = LOG_INFO};
  opterr = 0;
  optind = 1;
  for (;;) {
    int c = getopt_long(argc, argv, "", options, NULL);
    if (c == -1) break;
    switch (c) {
      case 'c':
        out->config = optarg;
        break;
      case 's':
        out->socket = optarg;
        break;
      case 't': {
        char *end = NULL;
        errno = 0;
        long n = strtol(optarg, &end, 10);
        if (errno != 0 || end == optarg || *end != '\0' || n < 1 || n > SERVER_THREADS_MAX) {
          snprintf(message, size, "--threads: must be 1 to %d", SERVER_THREADS_MAX);
          return false;
        }
        out->threads = (unsigned)n;
        break;
      }
      case 'l':
        if (!log_level_parse(optarg, &out->level)) {
          snprintf(message, size, "--log-level: debug, info, warn or error");
          return false;
        }
        break;
      case 'h':
        out->help = true;
        return true;
      default:
        snprintf(message, size, "unknown or incomplete option %s", argv[optind - 1]);
        return false;
    }
  }
  if (optind < argc) {
    snprintf(message, size, "unexpected argument %s", argv[optind]);
    return false;
  }
  if (out->config == NULL || out->socket == NULL) {
    snprintf(message, size, "--config and --socket are required");
    return false;
  }
  return true;
}

/* --- The socket ---------------------------------------------------------------------------- */

/* The socket's directory must be ours and closed to group and others: created 0700 when
 * missing; an existing one that group or others may enter is refused, as is anything at
 * the socket's path that is not a stale socket. */
static bool prepare_socket(const char *path, char *message, size_t size) {
  struct sockaddr_un address;
  if (path[0] != '/' || strlen(path) >= sizeof address.sun_path) {
    snprintf(message, size, "--socket %s: must be an absolute path shorter than %zu bytes", path,
             sizeof address.sun_path);
    return false;
  }
  char copy[sizeof address.sun_path];
  snprintf(copy, sizeof copy, "%s", path);
  const char *dir = dirname(copy);
  struct stat st;
  if (lstat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0700) != 0 || lstat(dir, &st) != 0) {
      snprintf(message, size, "--socket: directory %s: %s", dir, strerror(errno));
      return false;
    }
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
    snprintf(message, size, "--socket: %s is not a directory of this user", dir);
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(message, size,
             "--socket: directory %s has mode %04o; it must be 0700 (group and others kept out)",
             dir, (unsigned)(st.st_mode & 07777));
    return false;
  }
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      snprintf(message, size, "--socket %s: exists and is not a socket", path);
      return false;
    }
    /* A socket left by an adapter that did not stop cleanly. */
    if (unlink(path) != 0) {
      snprintf(message, size, "--socket %s: cannot remove the old socket: %s", path,
               strerror(errno));
      return false;
    }
  }
  return true;
}

/* --- Running -------------------------------------------------------------------------------- */

typedef struct stop_watchdog {
  pthread_mutex_t lock;
  pthread_cond_t done;
  bool finished;
  unsigned after_ms;
} stop_watchdog;

/* While the server drains, operations may finish their HTTPS exchange; once the drain
 * time is over, the transfers still running are aborted so the workers can be joined. */
static void *stop_watchdog_main(void *argument) {
  stop_watchdog *w = argument;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += w->after_ms / 1000;
  deadline.tv_nsec += (long)(w->after_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->lock);
  while (!w->finished) {
    if (pthread_cond_timedwait(&w->done, &w->lock, &deadline) != 0) break;
  }
  bool finished = w->finished;
  pthread_mutex_unlock(&w->lock);
  if (!finished) {
    log_warn("event=abort_http after_ms=%u", w->after_ms);
    http_abort_all();
  }
  return NULL;
}

static void stop_server(rpc_server *server) {
  stop_watchdog w = {.after_ms = SHUTDOWN_DRAIN_MS};
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.done, NULL);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, stop_watchdog_main, &w) == 0);
  rpc_server_stop(server, SHUTDOWN_DRAIN_MS);
  pthread_mutex_lock(&w.lock);
  w.finished = true;
  pthread_cond_signal(&w.done);
  pthread_mutex_unlock(&w.lock);
  pthread_join(thread, NULL);
  pthread_cond_destroy(&w.done);
  pthread_mutex_destroy(&w.lock);
}

static int serve(adapter *a, const adapter_args *args) {
  char listen[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
  snprintf(listen, sizeof listen, "unix:%s", args->socket);
  build_methods(a);
  rpc_server_options options = {
      .listen_address = listen,
      .threads = args->threads,
      .request_bytes_max = REQUEST_BYTES_MAX,
      .methods = a->methods,
      .method_count = ADAPTER_METHODS,
  };
  rpc_server *server = NULL;
  int port = 0;
  ccpay_error error;
  /* Whatever umask says, the socket is born closed to others; chmod below makes it 0600. */
  mode_t old_mask = umask(077);
  ccpay_err rc = rpc_server_start(&options, &server, &port, &error);
  umask(old_mask);
  if (rc != CCPAY_OK) {
    fprintf(stderr, "ccpay-adapter-%s: %s\n", a->ops->processor, error.message);
    return 1;
  }
  if (chmod(args->socket, 0600) != 0) {
    fprintf(stderr, "ccpay-adapter-%s: chmod %s: %s\n", a->ops->processor, args->socket,
            strerror(errno));
    stop_server(server);
    return 1;
  }
  rpc_server_set_serving(server, true);
  char socket_q[2 * sizeof listen + 8];
  log_info("event=ready processor=%s socket=%s threads=%u pid=%d", a->ops->processor,
           log_quote(args->socket, socket_q, sizeof socket_q), args->threads, (int)getpid());

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log_info("event=stopping processor=%s signal=%s drain_ms=%d", a->ops->processor,
           signal_number == SIGINT ? "SIGINT" : "SIGTERM", SHUTDOWN_DRAIN_MS);
  stop_server(server);
  unlink(args->socket);
  return 0;
}

static void adapter_free(adapter *a) {
  if (a->state != NULL && a->ops->release != NULL) a->ops->release(a, a->state);
  for (size_t i = 0; i < a->client_count; i++) http_client_destroy(a->clients[i]);
  for (size_t i = 0; i < a->config_count; i++) {
    free(a->config[i].key);
    free(a->config[i].value);
  }
  for (size_t i = 0; i < a->secret_count; i++) free(a->secrets[i]);
  pthread_mutex_destroy(&a->clients_lock);
  free(a);
}

/* Reads and checks the config, then lets the processor configure itself. */
static bool configure(adapter *a, const adapter_args *args, char *message, size_t size) {
  a->config_path = args->config;
  if (!config_read(a, args->config, message, size) || !config_check(a, message, size)) {
    return false;
  }
  ccpay_error error;
  ccpay_error_clear(&error);
  if (a->ops->configure(a, &a->state, &error) != CCPAY_OK) {
    char text[CCPAY_ERROR_MESSAGE_MAX];
    snprintf(message, size, "config %s: %s", args->config,
             adapter_redact(a, error.message, text, sizeof text));
    return false;
  }
  ccpay__gateway__v1__capabilities__init(&a->capabilities);
  a->ops->capabilities(a, &a->capabilities);
  CHECK(a->capabilities.processor != NULL &&
        strcmp(a->capabilities.processor, a->ops->processor) == 0);
  return true;
}

int adapter_main(int argc, char **argv, const adapter_ops *ops) {
  CHECK(ops != NULL && ops->processor != NULL && ops->configure != NULL &&
        ops->capabilities != NULL && ops->authorize != NULL && ops->capture != NULL &&
        ops->void_ != NULL && ops->refund != NULL && ops->lookup != NULL);
  /* Block the stop signals in every thread (gRPC's and libcurl's resolver threads
   * included); serve() takes them with sigwait. A closed peer must not kill us. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  signal(SIGPIPE, SIG_IGN);

  char message[1024] = "";
  adapter_args args;
  if (!parse_args(argc, argv, &args, message, sizeof message)) {
    fprintf(stderr, "ccpay-adapter-%s: %s\n", ops->processor, message);
    usage(stderr, ops->processor);
    return 2;
  }
  if (args.help) {
    usage(stdout, ops->processor);
    return 0;
  }
  log_set_level(args.level);
  if (!http_global_init()) {
    fprintf(stderr, "ccpay-adapter-%s: libcurl did not initialise\n", ops->processor);
    return 1;
  }
  adapter *a = calloc(1, sizeof *a);
  CHECK(a != NULL);
  a->ops = ops;
  pthread_mutex_init(&a->clients_lock, NULL);
  int rc = 2;
  if (configure(a, &args, message, sizeof message) &&
      prepare_socket(args.socket, message, sizeof message)) {
    a->serving = true;
    rc = serve(a, &args);
  } else {
    fprintf(stderr, "ccpay-adapter-%s: %s\n", ops->processor, message);
  }
  adapter_free(a);
  http_global_cleanup();
  if (rc == 0) log_info("event=stopped processor=%s", ops->processor);
  return rc;
}
