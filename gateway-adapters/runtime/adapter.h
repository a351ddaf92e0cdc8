/* The adapter runtime: what every ccpay-adapter-<processor> process shares.
 *
 * An adapter is one processor's implementation of ccpay.gateway.v1.Gateway. Its main()
 * is one line: return adapter_main(argc, argv, &my_processor_ops). The runtime
 *   - parses the command line: --config FILE (required), --socket PATH (required; the
 *     unix socket to serve, created 0600 in a directory that must be 0700), --threads N,
 *     --log-level LEVEL;
 *   - reads the adapter's INI config file, refusing it (exit 2, message naming the file)
 *     when group or others may read it, since it holds the processor's credentials;
 *   - serves Gateway on the socket with the same gRPC runtime as ccpayd (server/rpc),
 *     plus grpc.health.v1 (ccpayd's supervisor polls it);
 *   - validates each request's common fields (idempotency_key 1..64 printable ASCII,
 *     amount currency and positive amount, required references) before the processor
 *     code sees it, answering INVALID_ARGUMENT naming the field, and refuses what the
 *     reported capabilities rule out (a currency not listed, an unlinked refund, a void,
 *     several captures) with FAILED_PRECONDITION / CAPABILITY_MISSING
 *     (gateway_validate.h); a Lookup's original is validated as its own request;
 *   - logs one line per operation with key, operation, outcome and elapsed time, never
 *     a credential or a card token (adapter_redact);
 *   - stops on SIGTERM/SIGINT, draining calls in flight.
 *
 * Processor code runs on the runtime's worker threads and may block on HTTPS (each
 * worker is one operation in flight; --threads bounds concurrency towards the
 * processor). It fills an OperationResult and returns CCPAY_OK for every processor
 * outcome, declines included; it returns an error (filled) only when it did not act on
 * the request at all (a field the processor cannot take, a capability the account lacks).
 *
 * Config file (INI), read by the runtime; processor code reads its own keys with
 * adapter_config_get:
 *   [processor]
 *   base_url = https://127.0.0.1:8443      ; required, https only: the processor's API
 *                                          ; root (procsim in tests)
 *   ca_file = /path/ca.pem                 ; optional: trust this CA (verification is
 *                                          ; always on)
 *   connect_timeout_ms = 2000              ; 1..60000
 *   timeout_ms = 15000                     ; whole request, 100..300000
 *   retries = 2                            ; 0..5 resends of a 5xx/409 with the same key
 *   ... processor keys: secret_key (stripe), api_key + merchant_account (adyen),
 *       api_login_id + transaction_key (authorizenet), unlinked_refunds = true|false,
 *       currencies = USD,EUR,...
 * Only a [processor] section is allowed; a key given twice is refused, and so is a key
 * neither the runtime nor the processor (adapter_ops.config_keys) knows.
 *
 * Exit codes: 0 after a clean stop; 2 for a bad command line, config or socket
 * directory (one line on stderr naming the file, key or directory); 1 when the socket
 * cannot be served.
 *
 * Log lines (logfmt, stderr): event=ready once serving; per operation one
 * event=operation line (processor, operation, key, outcome or ERROR with reason,
 * reference, processor_status, decline_code, amount_minor, http_status, attempts,
 * elapsed_ms, message), besides the rpc runtime's event=call line; event=http per
 * exchange at debug level; event=stopping / event=stopped.
 */
#ifndef CCPAY_GATEWAY_ADAPTERS_RUNTIME_ADAPTER_H
#define CCPAY_GATEWAY_ADAPTERS_RUNTIME_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"
#include "http.h"

typedef struct adapter adapter;

typedef Ccpay__Gateway__V1__Capabilities gateway_capabilities;
typedef Ccpay__Gateway__V1__AuthorizeRequest gateway_authorize_request;
typedef Ccpay__Gateway__V1__CaptureRequest gateway_capture_request;
typedef Ccpay__Gateway__V1__VoidRequest gateway_void_request;
typedef Ccpay__Gateway__V1__RefundRequest gateway_refund_request;
typedef Ccpay__Gateway__V1__LookupRequest gateway_lookup_request;
typedef Ccpay__Gateway__V1__OperationResult gateway_result;

/* One operation being served: the processor code's view. */
typedef struct adapter_op {
  adapter *adapter;
  arena *arena;         /* the call's: request, result and scratch live here */
  http_client *http;    /* this worker's client (connections reused per worker) */
  const char *key;      /* the idempotency key of the operation */
  int64_t remaining_ms; /* before ccpayd's deadline (INT64_MAX: none), at the start */
  /* Set by the runtime: the deadline on the monotonic clock (clock_mono_us; 0 none). */
  int64_t deadline_us;
  /* Set by adapter_http_send, for the operation's log line: the last HTTP status (0 when
   * no answer came) and the number of sends made in all. */
  long http_status;
  unsigned http_attempts;
} adapter_op;

/* What one processor provides. Each operation fills *result (already initialised, in
 * op->arena) and returns CCPAY_OK, or returns an error (filled) when it did not act. */
typedef struct adapter_ops {
  const char *processor; /* "stripe" */
  /* Reads processor keys from the config (adapter_config_get) and checks them; a
   * missing or bad key is an error naming it (the adapter exits 2). state_out receives
   * the processor's state, given back by adapter_state. */
  ccpay_err (*configure)(adapter *a, void **state_out, ccpay_error *error);
  void (*capabilities)(adapter *a, gateway_capabilities *out);
  ccpay_err (*authorize)(adapter_op *op, const gateway_authorize_request *request,
                         gateway_result *result, ccpay_error *error);
  ccpay_err (*capture)(adapter_op *op, const gateway_capture_request *request,
                       gateway_result *result, ccpay_error *error);
  ccpay_err (*void_)(adapter_op *op, const gateway_void_request *request, gateway_result *result,
                     ccpay_error *error);
  ccpay_err (*refund)(adapter_op *op, const gateway_refund_request *request, gateway_result *result,
                      ccpay_error *error);
  ccpay_err (*lookup)(adapter_op *op, const gateway_lookup_request *request, gateway_result *result,
                      ccpay_error *error);
  /* The [processor] keys this processor reads, NULL-terminated. When set, a key in the
   * config file that neither the runtime nor the processor knows is refused (exit 2,
   * naming it), so a misspelt key never passes silently. NULL: not checked. */
  const char *const *config_keys;
  /* Frees the state configure made, after the server has stopped (or when the adapter
   * does not start after configure succeeded). NULL: nothing to free. */
  void (*release)(adapter *a, void *state);
} adapter_ops;

/* Runs the adapter until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
 * stop, 2 for a bad command line or config (message on stderr). */
int adapter_main(int argc, char **argv, const adapter_ops *ops);

/* The processor's state from configure. */
void *adapter_state(const adapter *a);

/* A key of the config file's [processor] section; NULL when absent. Valid for the
 * adapter's life. */
const char *adapter_config_get(const adapter *a, const char *key);

/* The base URL (no trailing slash), from the config. */
const char *adapter_base_url(const adapter *a);

/* Registers a secret (credential) so that it is replaced by "[redacted]" in every log
 * line and error message the runtime writes. Card tokens of requests are redacted by
 * the runtime without being registered. Call from configure only (before serving);
 * the text is copied. At most ADAPTER_SECRETS_MAX secrets. */
enum { ADAPTER_SECRETS_MAX = 16 };
void adapter_add_secret(adapter *a, const char *secret);

/* Copies text into out (size bytes, always NUL-terminated, truncated) with every
 * registered secret replaced by "[redacted]" (see redact.h). Returns out. Thread-safe. */
const char *adapter_redact(const adapter *a, const char *text, char *out, size_t size);

/* http_send with the operation's client, its remaining time as the request's budget
 * (less a margin to answer in), and op->http_status / op->http_attempts recorded. Logs
 * the exchange at debug level (method, URL, status, attempts, time; never a body). */
void adapter_http_send(adapter_op *op, http_request *request, http_response *response);

/* The [processor] key as an integer in [min, max], or fallback when absent. False (error
 * naming the key) when present and not such an integer. */
bool adapter_config_int(const adapter *a, const char *key, long min, long max, long fallback,
                        long *out, ccpay_error *error);

/* The [processor] key as a boolean ("true"/"false"), or fallback when absent. */
bool adapter_config_bool(const adapter *a, const char *key, bool fallback, bool *out,
                         ccpay_error *error);

/* The [processor] key, present and not empty. *out points into the config (valid for the
 * adapter's life), NULL when absent. False (CCPAY_ERR_FIELD_REQUIRED, "KEY: required")
 * when absent or empty. */
bool adapter_config_required(const adapter *a, const char *key, const char **out,
                             ccpay_error *error);

/* The [processor] key's text, or fallback when absent (an empty value is returned as is).
 * Valid for the adapter's life. */
const char *adapter_config_text(const adapter *a, const char *key, const char *fallback);

/* The currencies an account takes, as Capabilities reports them. codes holds them;
 * list[i] points at codes[i] (protobuf-c's repeated string field). */
enum { ADAPTER_CURRENCIES_MAX = 32 };
typedef struct adapter_currencies {
  char codes[ADAPTER_CURRENCIES_MAX][4];
  char *list[ADAPTER_CURRENCIES_MAX];
  size_t count;
} adapter_currencies;

/* The key "currencies" ("USD,EUR" or "USD EUR"), or fallback (same form) when absent,
 * into *out (overwritten). Each item must be an ISO 4217 code ccpay knows (upper case),
 * none twice, at least one and at most count_max (1..ADAPTER_CURRENCIES_MAX, asserted).
 * False, with an error naming "currencies" (CCPAY_ERR_FIELD_INVALID for a bad or repeated
 * code, CCPAY_ERR_FIELD_OUT_OF_RANGE for too many, CCPAY_ERR_FIELD_REQUIRED for none),
 * otherwise. */
bool adapter_config_currencies(const adapter *a, const char *fallback, size_t count_max,
                               adapter_currencies *out, ccpay_error *error);

/* Whether code is one of currencies. */
bool adapter_currencies_contain(const adapter_currencies *currencies, const char *code);

/* The key "authorization_validity_days": how long the processor keeps an uncaptured
 * authorization, 1..ADAPTER_VALIDITY_DAYS_MAX, or fallback (in that range, asserted) when
 * absent. False (CCPAY_ERR_FIELD_OUT_OF_RANGE naming the key) when not such a number. */
enum { ADAPTER_VALIDITY_DAYS_MAX = 365 };
bool adapter_config_validity_days(const adapter *a, int32_t fallback, int32_t *out,
                                  ccpay_error *error);

/* Sets out->currencies and out->n_currencies to point into currencies, which must stay
 * valid as long as out is used (the processor's state: the adapter's life). */
void adapter_capabilities_set_currencies(gateway_capabilities *out,
                                         const adapter_currencies *currencies);

/* When an authorization made now lapses, on the wall clock (ms since the epoch), for a
 * processor that does not say: now plus validity_days (1..ADAPTER_VALIDITY_DAYS_MAX). */
int64_t adapter_authorization_expires_ms(int32_t validity_days);

/* Result helpers: set outcome and text fields, copying text into op->arena. */
void adapter_result_set(adapter_op *op, gateway_result *result, Ccpay__Gateway__V1__Outcome outcome,
                        const char *decline_code, const char *message);

/* Maps an HTTP exchange that produced no usable answer to an outcome: a request that
 * never left (connection refused, DNS, TLS handshake failure) is FAILED — nothing
 * happened (decline_code "not_sent"); anything after the request may have been received
 * (timeout, reset: "answer_lost"; an HTTP answer that settles nothing, such as 5xx or
 * 409 after the resends: "http_status") is UNKNOWN. */
void adapter_result_from_transport(adapter_op *op, gateway_result *result,
                                   const http_response *response);

/* The outcome's name as logged ("SUCCEEDED"). */
const char *adapter_outcome_name(Ccpay__Gateway__V1__Outcome outcome);

#endif
