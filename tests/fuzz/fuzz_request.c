/* libFuzzer target: every request of the public API as the server receives it. The first
 * byte picks a method of the server's own method table; the rest are the request bytes.
 * They are decoded with protobuf-c as the server does, checked for NULs in strings
 * (rpc_wire), re-encoded and decoded again (the canonical form must be a fixed point, as
 * the idempotency hash relies on it), and handed to the pure validators of the domain
 * layer for the request types that have one. Nothing may crash, leak or misbehave under
 * ASan/UBSan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/error.h"
#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "domain/customer.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/return_order.h"
#include "domain/validate.h"
#include "rpc/rpc_wire.h"
#include "services/services.h"

enum { NOW_MS = 1764900000000 }; /* a fixed "now" keeps runs reproducible */

static void validate(const ProtobufCMessage *m) {
  ccpay_error error;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  const ProtobufCFieldDescriptor *rid =
      protobuf_c_message_descriptor_get_field_by_name(d, "request_id");
  if (rid != NULL && rid->type == PROTOBUF_C_TYPE_STRING) {
    const char *text = *(const char *const *)((const char *)m + rid->offset);
    (void)validate_request_id(text, &error);
    (void)validate_has_card_number(text);
  }
  if (d == &ccpay__v1__create_customer_request__descriptor) {
    const Ccpay__V1__CreateCustomerRequest *r = (const void *)m;
    if (r->customer != NULL) (void)customer_validate(r->customer, &error);
  } else if (d == &ccpay__v1__update_customer_request__descriptor) {
    const Ccpay__V1__UpdateCustomerRequest *r = (const void *)m;
    unsigned fields = 0;
    if (customer_parse_update_mask(r->update_mask, r->n_update_mask, &fields, &error) == CCPAY_OK &&
        r->customer != NULL) {
      (void)customer_validate_update(r->customer, fields, "USD", &error);
    }
  } else if (d == &ccpay__v1__create_order_request__descriptor) {
    const Ccpay__V1__CreateOrderRequest *r = (const void *)m;
    if (r->order != NULL) (void)order_validate_new(r->order, &error);
  } else if (d == &ccpay__v1__update_order_lines_request__descriptor) {
    const Ccpay__V1__UpdateOrderLinesRequest *r = (const void *)m;
    (void)order_validate_lines(r->lines, r->n_lines, r->charges, r->n_charges, "USD", "", &error);
  } else if (d == &ccpay__v1__add_payment_request__descriptor) {
    const Ccpay__V1__AddPaymentRequest *r = (const void *)m;
    if (r->payment != NULL) (void)payment_validate_new(r->payment, "USD", NOW_MS, &error);
  } else if (d == &ccpay__v1__create_return_request__descriptor) {
    const Ccpay__V1__CreateReturnRequest *r = (const void *)m;
    if (r->return_order != NULL) (void)return_order_validate_new(r->return_order, &error);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static service_env env; /* the table only keeps a pointer to it */
  size_t count = 0;
  const rpc_method *methods = services_methods(&env, &count);
  if (size < 1 || count == 0) return 0;
  const ProtobufCMessageDescriptor *d = methods[data[0] % count].request_descriptor;
  const uint8_t *bytes = data + 1;
  size_t len = size - 1;

  ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, bytes);
  rpc_wire_result strings = rpc_wire_check_strings(d, bytes, len, NULL);
  if (m == NULL) return 0;         /* refused as MALFORMED_REQUEST */
  if (strings != RPC_WIRE_CLEAN) { /* the server refuses it before any handler */
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
  }
  validate(m);

  size_t packed_size = protobuf_c_message_get_packed_size(m);
  uint8_t *packed = malloc(packed_size + 1);
  CHECK(packed != NULL);
  CHECK(protobuf_c_message_pack(m, packed) == packed_size);
  ProtobufCMessage *again = protobuf_c_message_unpack(d, NULL, packed_size, packed);
  CHECK(again != NULL);
  size_t again_size = protobuf_c_message_get_packed_size(again);
  uint8_t *repacked = malloc(again_size + 1);
  CHECK(repacked != NULL);
  CHECK(protobuf_c_message_pack(again, repacked) == again_size);
  CHECK(again_size == packed_size && memcmp(packed, repacked, packed_size) == 0);
  free(repacked);
  free(packed);
  protobuf_c_message_free_unpacked(again, NULL);
  protobuf_c_message_free_unpacked(m, NULL);
  return 0;
}
