/* HTTPS for the adapters: libcurl with OpenSSL, one client per worker thread so that
 * connections to the processor are reused, connect and total timeouts, and certificate
 * verification always on (peer and host name; a CA file may be configured so tests
 * trust ccpay-procsim's certificate).
 *
 * Retries: http_send resends a request that got HTTP 5xx, 409 (Stripe: same key in
 * flight; Adyen: errorCode 704) or an Adyen `Transient-Error: true` answer, up to
 * `retries` times with a short back-off, and only when the request carries an
 * idempotency key (request->idempotent), so a resend can never act twice. A request
 * that timed out or lost its connection after it was sent is not resent here: its
 * outcome is unknown and Lookup decides. (libcurl itself resends once when a reused
 * connection proves dead before any answer; a request without a key therefore always
 * gets a fresh connection, so that cannot happen to it.) */
#ifndef CCPAY_GATEWAY_ADAPTERS_RUNTIME_HTTP_H
#define CCPAY_GATEWAY_ADAPTERS_RUNTIME_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

typedef struct http_client http_client;

typedef struct http_client_options {
  const char *ca_file;     /* NULL: the system's CA store */
  long connect_timeout_ms; /* e.g. 2000 */
  long timeout_ms;         /* whole request, e.g. 15000 */
  unsigned retries;        /* resends for 5xx/409/transient, same key only */
} http_client_options;

typedef enum http_transport {
  HTTP_TRANSPORT_OK,       /* an HTTP answer arrived (any status) */
  HTTP_TRANSPORT_NOT_SENT, /* connect/DNS/TLS failed: the request never left */
  HTTP_TRANSPORT_LOST,     /* sent, but no complete answer (timeout, reset) */
} http_transport;

typedef struct http_header {
  const char *name;
  const char *value;
} http_header;

typedef struct http_request {
  const char *method;       /* "POST", "GET" */
  const char *url;          /* absolute */
  const char *content_type; /* NULL for no body */
  const char *body;
  size_t body_len;
  const http_header *headers; /* extra headers (auth, Idempotency-Key) */
  size_t header_count;
  bool idempotent; /* carries an idempotency key: 5xx/409/transient may be resent */
  /* Milliseconds all attempts together may take (the caller's deadline); 0: no bound but
   * the client's timeouts. Each attempt's timeout is cut to what is left; with too little
   * left, no attempt is made (NOT_SENT). adapter_http_send sets it from the operation. */
  int64_t budget_ms;
} http_request;

typedef struct http_response {
  http_transport transport;
  long status; /* HTTP status when transport is OK */
  char *body;  /* NUL-terminated, in the arena; "" when none */
  size_t body_len;
  bool transient_error; /* Adyen's Transient-Error: true header */
  bool replayed;        /* Idempotent-Replayed: true (Stripe, procsim): a saved answer */
  unsigned attempts;    /* sends made, resends included */
  char error[256];      /* curl's message when transport is not OK */
} http_response;

/* Initialises libcurl for the process (curl_global_init). Call once, before any thread
 * exists; false when libcurl cannot start. adapter_main does it. */
bool http_global_init(void);
void http_global_cleanup(void);

/* A client owns one libcurl easy handle and its connections: use it from one thread at a
 * time (the runtime keeps one per worker thread). NULL when out of memory. */
http_client *http_client_create(const http_client_options *options);
void http_client_destroy(http_client *client);

/* Makes every transfer in flight, in every client, end at its next progress check (about
 * once a second at most) as if it had timed out, and every later send fail at once
 * (NOT_SENT). For shutdown, once calls had their time to drain. Thread-safe. */
void http_abort_all(void);

/* Sends request and fills *response (body in arena a). Never fails otherwise: the
 * transport field says what happened. Bodies over HTTP_BODY_BYTES_MAX are cut and
 * reported as LOST. A failure counts as NOT_SENT only when libcurl never reached the
 * point of sending (no connection, DNS, TLS handshake or certificate failure, a timeout
 * before the connection was ready); anything later is LOST. Header values must not hold
 * CR or LF (such a request is not sent). Redirects are never followed; only https URLs
 * are allowed. */
enum { HTTP_BODY_BYTES_MAX = 1 << 20 };
void http_send(http_client *client, const http_request *request, arena *a, http_response *response);

#endif
