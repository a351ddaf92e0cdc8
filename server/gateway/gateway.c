/* gateway_call: one call to an adapter, and what its end means for the payment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "gateway_internal.h"

/* grpc_status_code values (this layer does not include grpc.h). */
enum {
  STATUS_OK = 0,
  STATUS_INVALID_ARGUMENT = 3,
  STATUS_DEADLINE_EXCEEDED = 4,
  STATUS_NOT_FOUND = 5,
  STATUS_RESOURCE_EXHAUSTED = 8,
  STATUS_FAILED_PRECONDITION = 9,
  STATUS_UNIMPLEMENTED = 12,
  STATUS_UNAVAILABLE = 14,
};

static const char *status_name(int status) {
  static const char *const names[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (status >= 0 && (size_t)status < sizeof names / sizeof names[0]) return names[status];
  return "?";
}

const char *gateway_adapter_state_name(gateway_adapter_state state) {
  switch (state) {
    case GATEWAY_ADAPTER_DOWN:
      return "DOWN";
    case GATEWAY_ADAPTER_STARTING:
      return "STARTING";
    case GATEWAY_ADAPTER_UP:
      return "UP";
  }
  return "?";
}

const char *gateway_adapter_name(const gateway_adapter *a) { return a->name; }

void gateway_channel_release(supervisor *s, gateway_channel *c) {
  CHECK(pthread_mutex_lock(&s->lock) == 0);
  CHECK(c->refs > 0);
  bool last = --c->refs == 0;
  CHECK(pthread_mutex_unlock(&s->lock) == 0);
  if (!last) return;
  rpc_channel_close(c->channel);
  free(c);
}

/* The ccpay error whose reason string is reason; CCPAY_OK when none is. */
static ccpay_err err_of_reason(const char *reason) {
  for (int code = CCPAY_OK + 1; code < CCPAY_ERR_COUNT; code++) {
    if (strcmp(ccpay_err_reason((ccpay_err)code), reason) == 0) return (ccpay_err)code;
  }
  return CCPAY_OK;
}

static ccpay_err unknown_outcome(const gateway_adapter *a, const rpc_client_result *r,
                                 int64_t timeout_ms, ccpay_error *error) {
  if (r->status == STATUS_DEADLINE_EXCEEDED) {
    return ccpay_error_set(error, CCPAY_ERR_OUTCOME_UNKNOWN,
                           "%s adapter: no answer within %lld ms; the operation may have "
                           "happened",
                           a->name, (long long)timeout_ms);
  }
  return ccpay_error_set(error, CCPAY_ERR_OUTCOME_UNKNOWN,
                         "%s adapter: no answer (%s: %s); the operation may have happened", a->name,
                         status_name(r->status), r->message);
}

/* An error the adapter itself sent (a ccpay-reason came with it): by the Gateway
 * contract it did not act, except where the error says the call was cut short. */
static ccpay_err adapter_error(const gateway_adapter *a, ccpay_err code, const rpc_client_result *r,
                               int64_t timeout_ms, ccpay_error *error) {
  switch (code) {
    case CCPAY_ERR_SHUTTING_DOWN:
    case CCPAY_ERR_ADAPTER_UNAVAILABLE:
      return ccpay_error_set(error, CCPAY_ERR_ADAPTER_UNAVAILABLE,
                             "%s adapter is stopping: %s; nothing was done", a->name, r->message);
    case CCPAY_ERR_DEADLINE_EXCEEDED:
    case CCPAY_ERR_CANCELLED:
    case CCPAY_ERR_INTERNAL:
    case CCPAY_ERR_STORAGE:
    case CCPAY_ERR_OUTCOME_UNKNOWN:
      return unknown_outcome(a, r, timeout_ms, error);
    default:
      return ccpay_error_set(error, code, "%s adapter: %s", a->name, r->message);
  }
}

static ccpay_err call_failed(const gateway_adapter *a, const rpc_client_result *r,
                             int64_t timeout_ms, ccpay_error *error) {
  if (!r->sent) {
    return ccpay_error_set(error, CCPAY_ERR_ADAPTER_UNAVAILABLE,
                           "%s adapter is unavailable (not connected); nothing was sent", a->name);
  }
  if (r->reply_undecodable) return unknown_outcome(a, r, timeout_ms, error);
  ccpay_err code = r->reason[0] != '\0' ? err_of_reason(r->reason) : CCPAY_OK;
  if (code != CCPAY_OK) return adapter_error(a, code, r, timeout_ms, error);
  switch (r->status) {
    case STATUS_INVALID_ARGUMENT:
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s adapter: %s", a->name, r->message);
    case STATUS_FAILED_PRECONDITION:
      return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING, "%s adapter: %s", a->name,
                             r->message);
    case STATUS_UNIMPLEMENTED:
      return ccpay_error_set(error, CCPAY_ERR_UNIMPLEMENTED, "%s adapter: %s", a->name, r->message);
    case STATUS_RESOURCE_EXHAUSTED:
      return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "%s adapter: %s", a->name,
                             r->message);
    case STATUS_NOT_FOUND:
      return ccpay_error_set(error, CCPAY_ERR_NOT_FOUND, "%s adapter: %s", a->name, r->message);
    default:
      return unknown_outcome(a, r, timeout_ms, error);
  }
}

/* Takes a reference to the published channel; NULL (and *state) when not UP. */
static gateway_channel *channel_take(gateway_adapter *a, gateway_adapter_state *state) {
  supervisor *s = a->owner;
  CHECK(pthread_mutex_lock(&s->lock) == 0);
  gateway_channel *c = a->state == GATEWAY_ADAPTER_UP ? a->published : NULL;
  if (c != NULL) c->refs++;
  *state = a->state;
  CHECK(pthread_mutex_unlock(&s->lock) == 0);
  return c;
}

ccpay_err gateway_call(gateway_adapter *a, const char *method, const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *reply_descriptor, int64_t timeout_ms,
                       arena *ar, ProtobufCMessage **reply, ccpay_error *error) {
  CHECK(a != NULL && method != NULL && request != NULL && reply_descriptor != NULL);
  CHECK(ar != NULL && reply != NULL);
  *reply = NULL;
  if (timeout_ms <= 0) timeout_ms = a->owner->call_timeout_ms;
  gateway_adapter_state state;
  gateway_channel *c = channel_take(a, &state);
  if (c == NULL) {
    log_debug("event=gateway_call processor=%s method=%s result=ADAPTER_UNAVAILABLE state=%s",
              a->name, method, gateway_adapter_state_name(state));
    return ccpay_error_set(error, CCPAY_ERR_ADAPTER_UNAVAILABLE,
                           "%s adapter is unavailable (%s); nothing was sent", a->name,
                           state == GATEWAY_ADAPTER_STARTING ? "starting" : "down, restarting");
  }
  rpc_client_result r;
  bool ok =
      rpc_client_call(c->channel, method, request, reply_descriptor, timeout_ms, ar, reply, &r);
  gateway_channel_release(a->owner, c);
  ccpay_err code = ok ? CCPAY_OK : call_failed(a, &r, timeout_ms, error);
  if (ok) ccpay_error_clear(error);
  log_debug("event=gateway_call processor=%s method=%s status=%s sent=%s result=%s elapsed_ms=%lld",
            a->name, method, status_name(r.status), r.sent ? "true" : "false",
            ccpay_err_reason(code), (long long)r.elapsed_ms);
  return code;
}

bool gateway_capabilities(gateway_adapter *a, gateway_caps *out) {
  supervisor *s = a->owner;
  CHECK(pthread_mutex_lock(&s->lock) == 0);
  bool has = a->has_caps;
  if (has) {
    *out = a->caps;
  } else {
    memset(out, 0, sizeof *out);
  }
  CHECK(pthread_mutex_unlock(&s->lock) == 0);
  return has;
}

void gateway_adapter_describe(gateway_adapter *a, gateway_adapter_info *out) {
  supervisor *s = a->owner;
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", a->name);
  CHECK(pthread_mutex_lock(&s->lock) == 0);
  out->state = a->state;
  out->pid = a->pid;
  out->restarts = a->restarts;
  CHECK(pthread_mutex_unlock(&s->lock) == 0);
}
