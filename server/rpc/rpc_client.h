/* A synchronous unary gRPC client on the C core, for ccpayd's calls to its adapters over
 * unix sockets (plaintext: the socket is 0600 in a 0700 directory).
 *
 * One rpc_channel per peer; channels are thread-safe, and each call runs on its own
 * completion queue (pluck), so calls from many threads are independent. Every call has
 * a deadline and every wait inside is bounded by it (plus a short grace).
 *
 * Whether a request may have reached the server matters to a payment: a call refused
 * before anything was sent can be reported as failed, one that was sent and got no
 * answer has an unknown outcome. rpc_client_call starts a call only on a READY channel
 * (waiting a moment for a channel that is still connecting), so result.sent is false
 * exactly when nothing was written to the peer.
 *
 * Like server/rpc as a whole, the only code that includes grpc.h. */
#ifndef CCPAY_RPC_RPC_CLIENT_H
#define CCPAY_RPC_RPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

typedef struct rpc_channel rpc_channel;

enum {
  RPC_CLIENT_MESSAGE_BYTES_MAX = CCPAY_ERROR_MESSAGE_MAX, /* status message kept */
  RPC_CLIENT_REASON_BYTES_MAX = 64,                       /* ccpay-reason kept */
};

/* How one call ended. status holds grpc_status_code values (0 OK, 4 DEADLINE_EXCEEDED,
 * 14 UNAVAILABLE, ...), as error.h's ccpay_err_grpc_status does. */
typedef struct rpc_client_result {
  int status;
  char message[RPC_CLIENT_MESSAGE_BYTES_MAX]; /* the status message (truncated) */
  /* The ccpay-reason trailer ("FIELD_INVALID"): the peer is a server/rpc server that
   * ended the call itself with a ccpay error. "" when absent (gRPC's own errors: lost
   * connection, deadline, unknown method). */
  char reason[RPC_CLIENT_REASON_BYTES_MAX];
  /* False only when the call was never started because the channel was not READY
   * (status UNAVAILABLE): the peer surely saw nothing. True otherwise, including for
   * every error that came after the request may have been written. */
  bool sent;
  /* Status OK, but the reply did not decode as the descriptor or did not fit the
   * arena (then status is set to INTERNAL, 13). */
  bool reply_undecodable;
  int64_t elapsed_ms;
} rpc_client_result;

/* Opens a channel to target ("unix:/run/ccpay/adapters/stripe.sock", "127.0.0.1:7000"),
 * plaintext. Connects lazily; reconnects after a failure within about a second (short
 * back-off: the peer is a local process that a supervisor restarts); never goes idle.
 * Calls grpc_init (balanced by rpc_channel_close). Errors: CCPAY_ERR_FIELD_INVALID for
 * an empty or too long target, CCPAY_ERR_INTERNAL when out of memory. */
ccpay_err rpc_channel_open(const char *target, rpc_channel **out, ccpay_error *error);

/* Destroys the channel. No call on it may be in flight, and none may start after. NULL
 * is allowed. */
void rpc_channel_close(rpc_channel *channel);

/* True when the channel is connected (READY). When it is IDLE, starts connecting (and
 * returns false): ask again later. Never blocks. Thread-safe. */
bool rpc_channel_ready(rpc_channel *channel);

/* Waits up to wait_ms for the channel to become READY (trying to connect); true when it
 * is. Thread-safe. */
bool rpc_channel_wait_ready(rpc_channel *channel, int64_t wait_ms);

/* Calls method ("/ccpay.gateway.v1.Gateway/Authorize") with request and waits for the
 * end, at most timeout_ms (> 0). If the channel is IDLE or CONNECTING, first waits for
 * READY up to RPC_CLIENT_CONNECT_WAIT_MS (within the timeout); if it is not READY then,
 * the call is not started: UNAVAILABLE with sent false. The call fails fast (no
 * wait-for-ready): a connection lost while it runs ends it with UNAVAILABLE, sent true.
 *
 * On status OK *reply is the reply decoded as reply_descriptor into a (valid until
 * arena_destroy) and true is returned. Otherwise *reply is NULL and false is returned;
 * *result always says how the call ended. Blocks the calling thread; thread-safe. */
bool rpc_client_call(rpc_channel *channel, const char *method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *reply_descriptor, int64_t timeout_ms,
                     arena *a, ProtobufCMessage **reply, rpc_client_result *result);

#endif
