/* Small pieces every service handler uses: id fields, the error for a call that ran out
 * of memory, ending a read's call. (Money messages: money_message in domain/money.h.) */
#ifndef CCPAY_SERVICES_COMMON_H
#define CCPAY_SERVICES_COMMON_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/common.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "rpc/rpc.h"
#include "storage/ids.h"
#include "storage/store.h"

/* Parses field's text as an id of kind: FIELD_REQUIRED when empty, FIELD_INVALID naming
 * the expected prefix when malformed. */
ccpay_err service_parse_id(id_kind kind, const char *field, const char *text, uint64_t *id,
                           ccpay_error *error);

/* The text form of id, in arena a (NULL when exhausted). */
char *service_format_id(id_kind kind, uint64_t id, arena *a);

/* The start of a change to one record: request_id checked, the target's id (field id_field,
 * of kind) parsed into the first field of a zeroed struct of size bytes in the call's
 * arena, which is returned. NULL when a field is wrong: the call has been failed then. */
void *service_change_new(rpc_call *call, size_t size, const char *request_id, id_kind kind,
                         const char *id_field, const char *id_text);

/* Reads order id twice into arena a: before, as stored (orders_put moves its index
 * entries from it), and after, the copy to change. Writer thread. */
ccpay_err service_order_edit(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Order **before,
                             Ccpay__V1__Order **after, ccpay_error *error);

/* Writes after, changed from before: its version one more, its audit stamp updated. */
ccpay_err service_order_write(store_txn *txn, const Ccpay__V1__Order *before,
                              Ccpay__V1__Order *after, arena *a, ccpay_error *error);

/* The same for a return: read twice, and written with its issued total summed, its
 * version one more and its audit stamp updated. */
ccpay_err service_return_edit(store_txn *txn, uint64_t id, arena *a,
                              Ccpay__V1__ReturnOrder **before, Ccpay__V1__ReturnOrder **after,
                              ccpay_error *error);
ccpay_err service_return_write(store_txn *txn, const Ccpay__V1__ReturnOrder *before,
                               Ccpay__V1__ReturnOrder *after, arena *a, ccpay_error *error);

/* LIMIT_EXCEEDED: the call needed more memory than CALL_ARENA_BYTES_MAX. */
ccpay_err service_exhausted(ccpay_error *error);

/* Ends a read's call: with reply when rc is CCPAY_OK, else with error. */
void service_reply_or_fail(rpc_call *call, ccpay_err rc, const ProtobufCMessage *reply,
                           const ccpay_error *error);

#endif
