#include "rpc_wire.h"

#include <stdbool.h>
#include <string.h>

#include "base/check.h"
#include "base/limits.h"

enum {
  WIRE_VARINT = 0,
  WIRE_64BIT = 1,
  WIRE_LENGTH = 2,
  WIRE_32BIT = 5,
  VARINT_BYTES_MAX = 10,
  FIELD_NUMBER_MAX = (1 << 29) - 1,
};

/* Reads a varint at *at (before end); false when it is truncated or too long. */
static bool read_varint(const uint8_t **at, const uint8_t *end, uint64_t *out) {
  uint64_t value = 0;
  for (unsigned i = 0; i < VARINT_BYTES_MAX; i++) {
    if (*at >= end) return false;
    uint8_t byte = *(*at)++;
    value |= (uint64_t)(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
  return false;
}

static rpc_wire_result check_message(const ProtobufCMessageDescriptor *d, const uint8_t *at,
                                     const uint8_t *end, unsigned depth, const char **field) {
  if (depth > RPC_WIRE_DEPTH_MAX) return RPC_WIRE_MALFORMED;
  while (at < end) {
    uint64_t key = 0;
    if (!read_varint(&at, end, &key)) return RPC_WIRE_MALFORMED;
    unsigned wire_type = (unsigned)(key & 7);
    uint64_t number = key >> 3;
    /* Field numbers run from 1 to 2^29 - 1; protobuf-c lets a zero through when its key
     * is written in two bytes (0x80 0x00), and would then keep it as an unknown field. */
    if (number == 0 || number > FIELD_NUMBER_MAX) return RPC_WIRE_MALFORMED;
    uint64_t skipped = 0;
    switch (wire_type) {
      case WIRE_VARINT:
        if (!read_varint(&at, end, &skipped)) return RPC_WIRE_MALFORMED;
        continue;
      case WIRE_64BIT:
      case WIRE_32BIT: {
        size_t size = wire_type == WIRE_64BIT ? 8 : 4;
        if ((size_t)(end - at) < size) return RPC_WIRE_MALFORMED;
        at += size;
        continue;
      }
      case WIRE_LENGTH:
        break;
      default:
        return RPC_WIRE_MALFORMED;
    }
    uint64_t length = 0;
    if (!read_varint(&at, end, &length) || length > (uint64_t)(end - at)) {
      return RPC_WIRE_MALFORMED;
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(d, (unsigned)number);
    if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(at, 0, (size_t)length) != NULL) {
      if (field != NULL) *field = f->name;
      return RPC_WIRE_NUL;
    }
    if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
      rpc_wire_result inner = check_message(f->descriptor, at, at + length, depth + 1, field);
      if (inner != RPC_WIRE_CLEAN) return inner;
    }
    at += length;
  }
  return RPC_WIRE_CLEAN;
}

rpc_wire_result rpc_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *bytes,
                                       size_t len, const char **field) {
  CHECK(d != NULL);
  CHECK(bytes != NULL || len == 0);
  if (len == 0) return RPC_WIRE_CLEAN;
  return check_message(d, bytes, bytes + len, 0, field);
}
