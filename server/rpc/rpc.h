/* The gRPC runtime shared by ccpayd and the gateway adapters: a gRPC C-core server,
 * worker threads each polling its own completion queue, one method table, unary,
 * server-streaming and message-by-message bidirectional calls, deadlines and client
 * cancellation, errors mapped to a status with a stable reason, standard health
 * checking and server reflection, and a bounded graceful shutdown.
 *
 * This layer (server/rpc) is the only one that includes grpc.h.
 *
 * Call lifecycle: the runtime decodes the request into the call's arena and runs the
 * method's handler on a worker thread. A unary handler must end the call exactly once,
 * with rpc_call_reply, rpc_call_reply_packed or rpc_call_fail; it may do so later, from
 * any thread (e.g. the storage writer's, after a durable commit), and must not block on
 * I/O meanwhile. After that call the rpc_call and its arena are no longer the handler's.
 *
 * The gateway adapters use the runtime differently: their handlers block on the
 * processor's HTTPS API on the worker thread, so the worker count is the number of
 * operations in flight (and a health check waits while every worker is busy). They
 * listen on "unix:/path" targets, for which rpc_server_start reports port 1. */
#ifndef CCPAY_RPC_RPC_H
#define CCPAY_RPC_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/limits.h"

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

typedef enum rpc_kind {
  RPC_UNARY,            /* one request, one reply */
  RPC_SERVER_STREAMING, /* one request, replies sent with rpc_stream_send */
  RPC_BIDI_PER_MESSAGE, /* each request message answered by one reply (reflection) */
} rpc_kind;

/* Unary and server-streaming handlers: request is in the call's arena. */
typedef void (*rpc_handler_fn)(rpc_call *call, const ProtobufCMessage *request);

/* Bidirectional, message by message: answer one request with *reply (in the call's
 * arena), or return an error to end the call with it. */
typedef ccpay_err (*rpc_message_fn)(rpc_call *call, const ProtobufCMessage *request,
                                    ProtobufCMessage **reply, ccpay_error *error);

typedef struct rpc_method {
  const char *name; /* "/ccpay.v1.CustomerService/CreateCustomer" */
  rpc_kind kind;
  const ProtobufCMessageDescriptor *request_descriptor;
  const ProtobufCMessageDescriptor *reply_descriptor;
  rpc_handler_fn handler;    /* RPC_UNARY, RPC_SERVER_STREAMING */
  rpc_message_fn on_message; /* RPC_BIDI_PER_MESSAGE */
  /* The permission a caller needs ("customers.write"); NULL for open methods (health,
   * reflection). Enforced when the server has an authenticator. */
  const char *permission;
  void *context; /* the service's state, given back by rpc_call_context */
} rpc_method;

/* --- Authentication ------------------------------------------------------------------
 *
 * A server with an authenticator checks every call of a method that names a permission
 * (health and reflection name none and stay open), before its request is decoded: the
 * `authorization: Bearer <token>` metadata goes to the authenticator, which says who the
 * caller is (UNAUTHENTICATED otherwise); then the method's permission must be among the
 * caller's (PERMISSION_DENIED naming it otherwise). The runtime knows nothing of tokens
 * or roles: the authenticator and its role table are the application's. */

/* Who is calling, as the authenticator found them. */
typedef struct rpc_principal {
  char agent_id[AGENT_ID_BYTES_MAX + 1];
  char role[ROLE_NAME_BYTES_MAX + 1];
  const char *const *permissions; /* NULL-terminated, static (the role table's) */
} rpc_principal;

typedef struct rpc_auth_request {
  const char *method;     /* "/ccpay.v1.OrderService/CreateOrder" */
  const char *permission; /* what the method needs; never NULL here */
  /* The token after "Bearer " in the authorization metadata; NULL when the call had no
   * such metadata (or another scheme, or an over-long value). Never log it. */
  const char *bearer;
  const char *peer; /* the client's address, "ipv4:127.0.0.1:40112" */
} rpc_auth_request;

/* Runs on a worker thread for each such call; must not block on I/O other than a read
 * snapshot. Fill *out and return CCPAY_OK, or return an error (filled):
 * CCPAY_ERR_UNAUTHENTICATED, CCPAY_ERR_AUTH_RATE_LIMITED, CCPAY_ERR_STORAGE… */
typedef ccpay_err (*rpc_authenticate_fn)(void *context, const rpc_auth_request *request,
                                         rpc_principal *out, ccpay_error *error);

/* TLS on the listening port: PEM text (not file names), each NUL-terminated and owned by
 * the caller for the duration of rpc_server_start. */
typedef struct rpc_tls_options {
  const char *cert_chain_pem;  /* the server's certificate chain */
  const char *private_key_pem; /* its key */
  const char *client_ca_pem;   /* non-NULL: mutual TLS, clients must present a
                                  certificate this CA signed */
} rpc_tls_options;

typedef struct rpc_server_options {
  const char *listen_address; /* "127.0.0.1:50051"; port 0 binds an ephemeral port;
                                 "unix:/path" a unix socket (the adapters) */
  unsigned threads;           /* worker threads, 1..SERVER_THREADS_MAX */
  size_t request_bytes_max;   /* larger requests get RESOURCE_EXHAUSTED */
  const rpc_method *methods;  /* the application's methods; must outlive the server */
  size_t method_count;
  /* The FileDescriptorSet served by reflection (protoc --include_imports); NULL
   * disables reflection. Must outlive the server. */
  const uint8_t *descriptor_set;
  size_t descriptor_set_len;
  /* NULL: no authentication (the adapters, on their 0600 unix sockets). */
  rpc_authenticate_fn authenticate;
  void *authenticate_context;
  /* NULL: plaintext (the caller checks that the address is loopback). */
  const rpc_tls_options *tls;
} rpc_server_options;

/* Creates, binds and starts the server: with TLS when options->tls is set, else
 * plaintext (the caller checks that the address is loopback). *port_out receives the bound port.
 * Health reports NOT_SERVING until rpc_server_set_serving. Errors: CCPAY_ERR_FIELD_INVALID for
 * options, CCPAY_ERR_INTERNAL when the address cannot be bound (message names it). */
ccpay_err rpc_server_start(const rpc_server_options *options, rpc_server **out, int *port_out,
                           ccpay_error *error);

/* What grpc.health.v1.Health/Check answers for the server and each of its services. */
void rpc_server_set_serving(rpc_server *server, bool serving);

/* Graceful stop: refuses new calls, waits up to drain_ms for calls in flight (their
 * handlers may still be waiting on storage or a processor, which must stay up until this
 * returns), then cancels what is left, waits until every handler has ended its call (a
 * cancelled call must still be answered), joins the workers and frees everything. */
void rpc_server_stop(rpc_server *server, unsigned drain_ms);

/* --- Inside a handler ---------------------------------------------------------------- */

/* The call's arena: request, reply and scratch live here until the call ends. */
arena *rpc_call_arena(rpc_call *call);

/* The method's context pointer and full name. */
void *rpc_call_context(const rpc_call *call);
const char *rpc_call_method_name(const rpc_call *call);

/* Recorded in the call's log line. The text is copied (truncated to 128 bytes). */
void rpc_call_set_request_id(rpc_call *call, const char *request_id);

/* Who is calling: the agent id of the caller's bearer token ("" when the server runs
 * without authentication). Valid for the call's life. */
const char *rpc_call_agent_id(const rpc_call *call);

/* The caller's role ("" without authentication), and the client's address ("" when
 * unknown). Valid for the call's life. */
const char *rpc_call_role(const rpc_call *call);
const char *rpc_call_peer(const rpc_call *call);

/* True when the caller's role grants permission (a name of the method table's kind,
 * e.g. "payments.alternate_payment"). Handlers ask this for rights a method checks
 * beyond the one it needs to be called at all. Without authentication no caller holds
 * such a right. */
bool rpc_call_has_permission(const rpc_call *call, const char *permission);

/* True once the client cancelled or the deadline passed; a handler that has not yet
 * done its work may stop and rpc_call_fail with CCPAY_ERR_CANCELLED. */
bool rpc_call_cancelled(rpc_call *call);

/* Milliseconds left before the client's deadline; INT64_MAX when it set none. */
int64_t rpc_call_remaining_ms(const rpc_call *call);

/* Ends a unary call with reply (packed here). */
void rpc_call_reply(rpc_call *call, const ProtobufCMessage *reply);

/* Ends a unary call with a reply that is already encoded (a stored idempotent reply). */
void rpc_call_reply_packed(rpc_call *call, const uint8_t *bytes, size_t len);

/* Ends any call with error's status, message and reason. */
void rpc_call_fail(rpc_call *call, const ccpay_error *error);

/* --- Server streaming ---------------------------------------------------------------- */

/* Runs on a worker thread when a sent message left (ok) or the stream broke (!ok: the
 * client went away; finish the call then). */
typedef void (*rpc_sent_fn)(rpc_call *call, bool ok, void *argument);

/* Sends one message of a server-streaming call. One send at a time: the next may be
 * started from sent (or later), never before it ran. */
void rpc_stream_send(rpc_call *call, const ProtobufCMessage *message, rpc_sent_fn sent,
                     void *argument);

/* Ends a server-streaming call: OK when error is NULL. */
void rpc_stream_finish(rpc_call *call, const ccpay_error *error);

/* Long-lived calls (a stream that waits for new data) need to hear about cancellation
 * while nothing is in flight, and need their own state to outlive every callback. */
typedef void (*rpc_call_fn)(rpc_call *call, void *argument);

/* cancelled runs once, on a worker thread, if the client cancels or its deadline passes
 * (possibly after the call already ended: check your own state). A cancellation that
 * came before this was set may not run it: check rpc_call_cancelled right after. */
void rpc_call_on_cancel(rpc_call *call, rpc_call_fn cancelled, void *argument);

/* freed runs once when the runtime lets go of the call, after every other callback of
 * the call has returned: the place to free state the callbacks use. */
void rpc_call_on_free(rpc_call *call, rpc_call_fn freed, void *argument);

#endif
