#include "payment_gateway.h"

#include <string.h>

#include "base/check.h"
#include "gateway/gateway.h"
#include "gateway/supervisor.h"

static const char *const method_names[] = {
    [GATEWAY_AUTHORIZE] = GATEWAY_RPC_AUTHORIZE, [GATEWAY_CAPTURE] = GATEWAY_RPC_CAPTURE,
    [GATEWAY_VOID] = GATEWAY_RPC_VOID,           [GATEWAY_REFUND] = GATEWAY_RPC_REFUND,
    [GATEWAY_LOOKUP] = GATEWAY_RPC_LOOKUP,
};

static gateway_adapter *find(service_env *env, const char *processor) {
  return env->gateway != NULL ? supervisor_find(env->gateway, processor) : NULL;
}

void payment_gateway_send(service_env *env, const char *processor, gateway_method method,
                          const ProtobufCMessage *request, int64_t timeout_ms, arena *a,
                          gateway_outcome *out) {
  CHECK(method >= GATEWAY_AUTHORIZE && method <= GATEWAY_LOOKUP);
  memset(out, 0, sizeof *out);
  gateway_adapter *adapter = find(env, processor);
  if (adapter == NULL) { /* configured when the payment was added, gone since a restart */
    ccpay_error_set(&out->error, CCPAY_ERR_ADAPTER_UNAVAILABLE,
                    "no adapter named \"%s\" is configured", processor);
    return;
  }
  ProtobufCMessage *reply = NULL;
  ccpay_err rc = gateway_call(adapter, method_names[method], request,
                              &ccpay__gateway__v1__operation_result__descriptor, timeout_ms, a,
                              &reply, &out->error);
  if (rc == CCPAY_OK) {
    out->answered = true;
    out->result = (Ccpay__Gateway__V1__OperationResult *)reply;
    return;
  }
  /* Only a lost answer may have acted; an adapter down, or one that refused the request,
   * did nothing (the Gateway contract). */
  out->maybe_sent = rc == CCPAY_ERR_OUTCOME_UNKNOWN;
}

bool payment_gateway_known(service_env *env, const char *processor) {
  return find(env, processor) != NULL;
}

/* The capabilities of processor's adapter; false when it has not come up yet. */
static bool capabilities(service_env *env, const char *processor, gateway_caps *caps) {
  gateway_adapter *adapter = find(env, processor);
  return adapter != NULL && gateway_capabilities(adapter, caps);
}

bool payment_gateway_multiple_captures(service_env *env, const char *processor) {
  gateway_caps caps;
  return capabilities(env, processor, &caps) && caps.multiple_captures;
}

bool payment_gateway_unlinked_refunds(service_env *env, const char *processor) {
  gateway_caps caps;
  return capabilities(env, processor, &caps) && caps.unlinked_refunds;
}
