/* Calls to the card processors' adapters: one adapter process per processor, spawned and
 * supervised by ccpayd (supervisor.h), reached over a unix socket with the internal
 * ccpay.gateway.v1.Gateway service (api/ccpay/gateway/v1/gateway.proto).
 *
 * gateway_call is what the payment code uses. It blocks the calling thread for at most
 * the call's timeout (plus a short grace): call it from threads that may block, never
 * from an rpc worker. It is thread-safe; calls from many threads run independently.
 *
 * How a call ends tells the caller what may have happened at the processor:
 *   - CCPAY_OK: the adapter answered; *reply is its answer (for the operations, an
 *     OperationResult with any processor outcome, declines included).
 *   - CCPAY_ERR_ADAPTER_UNAVAILABLE: nothing was sent. The adapter is down, restarting,
 *     not connected, or stopping and refused the call. Safe to report as failed.
 *   - CCPAY_ERR_OUTCOME_UNKNOWN: the request may have reached the adapter, and no answer
 *     came (deadline passed, connection lost, adapter crashed, reply unreadable). The
 *     operation may have happened: resolve it with Lookup under the same key.
 *   - any other error: the adapter answered with an error, which by the Gateway contract
 *     means it did not act. The ccpay error the adapter sent (ccpay-reason) is passed
 *     through with its message: FIELD_INVALID / FIELD_REQUIRED / ... for
 *     INVALID_ARGUMENT, CAPABILITY_MISSING for FAILED_PRECONDITION, and so on; an error
 *     without a reason maps by status (INVALID_ARGUMENT → FIELD_INVALID,
 *     FAILED_PRECONDITION → CAPABILITY_MISSING, UNIMPLEMENTED → UNIMPLEMENTED,
 *     RESOURCE_EXHAUSTED → LIMIT_EXCEEDED; anything else → OUTCOME_UNKNOWN).
 * Every error message names the processor ("stripe adapter: ..."). */
#ifndef CCPAY_GATEWAY_GATEWAY_H
#define CCPAY_GATEWAY_GATEWAY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/limits.h"

/* Full method names of the Gateway service, for gateway_call. */
#define GATEWAY_RPC_GET_CAPABILITIES "/ccpay.gateway.v1.Gateway/GetCapabilities"
#define GATEWAY_RPC_AUTHORIZE "/ccpay.gateway.v1.Gateway/Authorize"
#define GATEWAY_RPC_CAPTURE "/ccpay.gateway.v1.Gateway/Capture"
#define GATEWAY_RPC_VOID "/ccpay.gateway.v1.Gateway/VoidAuthorization"
#define GATEWAY_RPC_REFUND "/ccpay.gateway.v1.Gateway/Refund"
#define GATEWAY_RPC_LOOKUP "/ccpay.gateway.v1.Gateway/Lookup"

/* One supervised adapter. Owned by its supervisor: valid from supervisor_start until
 * supervisor_stop returns, whatever the process's state. */
typedef struct gateway_adapter gateway_adapter;

typedef enum gateway_adapter_state {
  GATEWAY_ADAPTER_DOWN,     /* not running: waiting to be restarted, or stopped */
  GATEWAY_ADAPTER_STARTING, /* running, not yet answering health checks */
  GATEWAY_ADAPTER_UP,       /* answering: calls are sent */
} gateway_adapter_state;

/* A processor's capabilities as its adapter reported them (ccpay.gateway.v1.Capabilities),
 * copied into plain storage: no pointers, no lifetime. */
typedef struct gateway_caps {
  char processor[GATEWAY_ADAPTER_NAME_BYTES_MAX];
  bool partial_capture;
  bool multiple_captures;
  bool void_supported;
  bool unlinked_refunds;
  bool refund_requires_settlement;
  int32_t authorization_validity_days;
  size_t currency_count; /* at most GATEWAY_CURRENCIES_MAX (more are dropped) */
  char currencies[GATEWAY_CURRENCIES_MAX][4]; /* ISO 4217, NUL-terminated */
} gateway_caps;

/* A snapshot of one adapter, for logs and tests. */
typedef struct gateway_adapter_info {
  char name[GATEWAY_ADAPTER_NAME_BYTES_MAX]; /* the processor: "stripe" */
  gateway_adapter_state state;
  pid_t pid;         /* the running process; 0 when none */
  unsigned restarts; /* processes started after the first */
} gateway_adapter_info;

/* Calls method (GATEWAY_RPC_*) on the adapter with request, waiting at most timeout_ms
 * (0: the supervisor's configured call timeout). On CCPAY_OK, *reply is the answer
 * decoded as reply_descriptor into a (valid until arena_destroy); otherwise *reply is
 * NULL and *error (may be NULL) says why, as described at the top of this file.
 * Thread-safe; blocks. adapter must not be NULL. */
ccpay_err gateway_call(gateway_adapter *adapter, const char *method,
                       const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *reply_descriptor, int64_t timeout_ms,
                       arena *a, ProtobufCMessage **reply, ccpay_error *error);

/* Copies the capabilities the adapter reported when it last came up into *out. False
 * (and *out zeroed) when it has never come up. Thread-safe; never blocks on I/O. */
bool gateway_capabilities(gateway_adapter *adapter, gateway_caps *out);

/* The adapter's name (its processor: "stripe"). Valid as long as the adapter. */
const char *gateway_adapter_name(const gateway_adapter *adapter);

/* A snapshot of the adapter's state. Thread-safe. */
void gateway_adapter_describe(gateway_adapter *adapter, gateway_adapter_info *out);

/* "DOWN", "STARTING", "UP". */
const char *gateway_adapter_state_name(gateway_adapter_state state);

#endif
