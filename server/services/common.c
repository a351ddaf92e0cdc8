#include "common.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "domain/return_order.h"
#include "domain/validate.h"
#include "storage/orders.h"
#include "storage/returns.h"
#include "timestamps.h"

ccpay_err service_parse_id(id_kind kind, const char *field, const char *text, uint64_t *id,
                           ccpay_error *error) {
  if (text[0] == '\0')
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field);
  if (!id_parse(kind, text, id)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s: %.40s is not a %s_ id (%s_ and 13 characters)", field, text,
                           id_prefix(kind), id_prefix(kind));
  }
  return CCPAY_OK;
}

char *service_format_id(id_kind kind, uint64_t id, arena *a) {
  char text[ID_TEXT_BYTES_MAX];
  id_format(kind, id, text);
  return arena_strndup(a, text, strlen(text));
}

ccpay_err service_exhausted(ccpay_error *error) {
  return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED,
                         "the call needs more than %d MiB of memory", CALL_ARENA_BYTES_MAX >> 20);
}

void service_reply_or_fail(rpc_call *call, ccpay_err rc, const ProtobufCMessage *reply,
                           const ccpay_error *error) {
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, error);
  } else {
    rpc_call_reply(call, reply);
  }
}

ccpay_err service_order_edit(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Order **before,
                             Ccpay__V1__Order **after, ccpay_error *error) {
  *before = *after = NULL;
  ccpay_err rc = orders_get(txn, id, a, before, error);
  return rc == CCPAY_OK ? orders_get(txn, id, a, after, error) : rc;
}

ccpay_err service_order_write(store_txn *txn, const Ccpay__V1__Order *before,
                              Ccpay__V1__Order *after, arena *a, ccpay_error *error) {
  after->version = before->version + 1;
  after->audit = audit_stamp_updated(a, before->audit, store_txn_time_ms(txn));
  if (after->audit == NULL) return service_exhausted(error);
  return orders_put(txn, before, after, error);
}

void *service_change_new(rpc_call *call, size_t size, const char *request_id, id_kind kind,
                         const char *id_field, const char *id_text) {
  CHECK(size >= sizeof(uint64_t));
  uint64_t *change = arena_calloc(rpc_call_arena(call), size);
  ccpay_error error;
  ccpay_err rc =
      change == NULL ? service_exhausted(&error) : validate_request_id(request_id, &error);
  if (rc == CCPAY_OK) rc = service_parse_id(kind, id_field, id_text, change, &error);
  if (rc == CCPAY_OK) return change;
  rpc_call_fail(call, &error);
  return NULL;
}

ccpay_err service_return_edit(store_txn *txn, uint64_t id, arena *a,
                              Ccpay__V1__ReturnOrder **before, Ccpay__V1__ReturnOrder **after,
                              ccpay_error *error) {
  *before = *after = NULL;
  ccpay_err rc = returns_get(txn, id, a, before, error);
  return rc == CCPAY_OK ? returns_get(txn, id, a, after, error) : rc;
}

ccpay_err service_return_write(store_txn *txn, const Ccpay__V1__ReturnOrder *before,
                               Ccpay__V1__ReturnOrder *after, arena *a, ccpay_error *error) {
  if (!return_order_sum_issued(after, a)) return service_exhausted(error);
  after->version = before->version + 1;
  after->audit = audit_stamp_updated(a, before->audit, store_txn_time_ms(txn));
  if (after->audit == NULL) return service_exhausted(error);
  return returns_put(txn, before, after, error);
}
