/* Small pieces every service handler uses: id fields, the error for a call that ran out
 * of memory, ending a read's call. (Money messages: money_message in domain/money.h.) */
#ifndef CCPAY_SERVICES_COMMON_H
#define CCPAY_SERVICES_COMMON_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/common.pb-c.h"
#include "rpc/rpc.h"
#include "storage/ids.h"

/* Parses field's text as an id of kind: FIELD_REQUIRED when empty, FIELD_INVALID naming
 * the expected prefix when malformed. */
ccpay_err service_parse_id(id_kind kind, const char *field, const char *text, uint64_t *id,
                           ccpay_error *error);

/* The text form of id, in arena a (NULL when exhausted). */
char *service_format_id(id_kind kind, uint64_t id, arena *a);

/* LIMIT_EXCEEDED: the call needed more memory than CALL_ARENA_BYTES_MAX. */
ccpay_err service_exhausted(ccpay_error *error);

/* Ends a read's call: with reply when rc is CCPAY_OK, else with error. */
void service_reply_or_fail(rpc_call *call, ccpay_err rc, const ProtobufCMessage *reply,
                           const ccpay_error *error);

#endif
