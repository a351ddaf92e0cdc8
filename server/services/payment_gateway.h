/* What the payment flow needs of the adapters (server/gateway): send one operation to a
 * processor's adapter and learn how it ended, and read a processor's capabilities. */
#ifndef CCPAY_SERVICES_PAYMENT_GATEWAY_H
#define CCPAY_SERVICES_PAYMENT_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"
#include "services.h"

typedef enum gateway_method {
  GATEWAY_AUTHORIZE,
  GATEWAY_CAPTURE,
  GATEWAY_VOID,
  GATEWAY_REFUND,
  GATEWAY_LOOKUP,
} gateway_method;

typedef struct gateway_outcome {
  /* An OperationResult came back (any processor outcome, declines included). */
  bool answered;
  Ccpay__Gateway__V1__OperationResult *result; /* when answered, in the caller's arena */
  /* When not answered: whether the adapter may have acted (the call was sent and its
   * answer lost) — the transaction's outcome is then UNKNOWN — or surely did not (the
   * adapter is down, or refused the request). */
  bool maybe_sent;
  ccpay_error error; /* when not answered: why */
} gateway_outcome;

/* Sends request (the Gateway request message of method) to processor's adapter and
 * waits at most timeout_ms. Blocks: call it from the payment flow's gateway threads. */
void payment_gateway_send(service_env *env, const char *processor, gateway_method method,
                          const ProtobufCMessage *request, int64_t timeout_ms, arena *a,
                          gateway_outcome *out);

/* Whether ccpayd has an adapter for processor (configured, whatever its state). */
bool payment_gateway_known(service_env *env, const char *processor);

/* The capabilities the adapter reported at its last start; false when it has not come
 * up yet (the caller assumes the cautious answer). */
bool payment_gateway_multiple_captures(service_env *env, const char *processor);
bool payment_gateway_unlinked_refunds(service_env *env, const char *processor);

#endif
