/* A check of request bytes that protobuf-c cannot make: a string field that holds a NUL
 * byte. protobuf-c decodes a string into a C string, so "ab\0cd" would reach a handler as
 * "ab": two different request_ids would be one idempotency key, and a stored name would
 * differ from what was sent. Such requests are refused before any handler runs.
 *
 * Pure: no gRPC, no allocation; safe from any thread. */
#ifndef CCPAY_RPC_RPC_WIRE_H
#define CCPAY_RPC_RPC_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rpc_wire_result {
  RPC_WIRE_CLEAN,     /* no string field holds a NUL */
  RPC_WIRE_NUL,       /* a string field holds a NUL; *field names it */
  RPC_WIRE_MALFORMED, /* the bytes are not a message of d (a field number 0 included,
                         which protobuf-c may let through), or nest deeper than
                         RPC_WIRE_DEPTH_MAX */
} rpc_wire_result;

/* Walks bytes (len of them) as a message of d, into nested messages of known fields.
 * On RPC_WIRE_NUL, *field (when field is non-NULL) is the name of the string field, owned
 * by the descriptor. */
rpc_wire_result rpc_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *bytes,
                                       size_t len, const char **field);

#endif
