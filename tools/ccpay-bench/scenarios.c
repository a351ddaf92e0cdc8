#include "scenarios.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "server/base/check.h"

enum { LINES = 3, REQUEST_ID_BYTES = 64 };

/* What a csr-flow operation carries from one call to the next (in the slot's scratch). */
typedef struct flow_scratch {
  char order_id[BENCH_ID_BYTES_MAX];
  int64_t total_minor;
} flow_scratch;
_Static_assert(sizeof(flow_scratch) <= BENCH_SLOT_SCRATCH_BYTES, "flow state fits the slot");

static void next_request_id(bench_scenario_state *s, char *out) {
  uint64_t n = atomic_fetch_add(&s->request_seq, 1);
  snprintf(out, REQUEST_ID_BYTES, "%s-%" PRIu64, s->request_prefix, n);
}

/* Packs message into a malloc'd buffer. */
static bool pack(const ProtobufCMessage *message, uint8_t **bytes, size_t *len) {
  *len = protobuf_c_message_get_packed_size(message);
  *bytes = malloc(*len + 1);
  CHECK(*bytes != NULL);
  CHECK(protobuf_c_message_pack(message, *bytes) == *len);
  return true;
}

static void copy_id(char *out, const char *id) { snprintf(out, BENCH_ID_BYTES_MAX, "%s", id); }

/* --- baseline ------------------------------------------------------------------------ */

static bool baseline_first(bench_slot *slot, const char **method, uint8_t **bytes, size_t *len) {
  *method = "/grpc.health.v1.Health/Check";
  *bytes = malloc(1); /* an empty HealthCheckRequest */
  CHECK(*bytes != NULL);
  *len = 0;
  return true;
}

const bench_scenario_ops bench_baseline_ops = {.first_call = baseline_first};

/* --- create-order -------------------------------------------------------------------- */

static bool create_order_request(bench_scenario_state *s, uint8_t **bytes, size_t *len) {
  static const char *const skus[LINES] = {"MUG", "TEA-TIN", "COASTER-SET"};
  static const int64_t prices[LINES] = {1250, 899, 1575};
  Ccpay__V1__Money money[LINES];
  Ccpay__V1__OrderLine lines[LINES];
  Ccpay__V1__OrderLine *line_ptrs[LINES];
  for (int i = 0; i < LINES; i++) {
    ccpay__v1__money__init(&money[i]);
    money[i].currency_code = "USD";
    money[i].amount_minor = prices[i];
    ccpay__v1__order_line__init(&lines[i]);
    lines[i].sku = (char *)skus[i];
    lines[i].quantity = i + 1;
    lines[i].unit_price = &money[i];
    line_ptrs[i] = &lines[i];
  }
  Ccpay__V1__Order order = CCPAY__V1__ORDER__INIT;
  order.customer_id = s->customer_id;
  order.currency_code = "USD";
  order.source_code = "PHONE";
  order.type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_SALES;
  order.lines = line_ptrs;
  order.n_lines = LINES;
  char request_id[REQUEST_ID_BYTES];
  next_request_id(s, request_id);
  Ccpay__V1__CreateOrderRequest req = CCPAY__V1__CREATE_ORDER_REQUEST__INIT;
  req.order = &order;
  req.request_id = request_id;
  return pack(&req.base, bytes, len);
}

static bool create_order_first(bench_slot *slot, const char **method, uint8_t **bytes,
                               size_t *len) {
  *method = "/ccpay.v1.OrderService/CreateOrder";
  return create_order_request(bench_slot_scenario(slot), bytes, len);
}

/* Keeps the new order's id when the scenario collects them (the get-order pre-load). */
static bool create_order_next(bench_slot *slot, int step, int status, const uint8_t *reply,
                              size_t len, const char **method, uint8_t **bytes, size_t *out_len) {
  bench_scenario_state *s = bench_slot_scenario(slot);
  if (s->collect == NULL || reply == NULL) return false;
  Ccpay__V1__Order *order = ccpay__v1__order__unpack(NULL, len, reply);
  if (order == NULL) return false;
  size_t at = atomic_fetch_add(&s->collect->count, 1);
  if (at < s->collect->capacity) {
    copy_id(s->collect->ids[at], order->id);
  } else {
    atomic_fetch_sub(&s->collect->count, 1);
  }
  ccpay__v1__order__free_unpacked(order, NULL);
  return false;
}

const bench_scenario_ops bench_create_order_ops = {.first_call = create_order_first,
                                                   .next_call = create_order_next};

/* --- get-order ----------------------------------------------------------------------- */

static bool get_order_first(bench_slot *slot, const char **method, uint8_t **bytes, size_t *len) {
  bench_scenario_state *s = bench_slot_scenario(slot);
  size_t n = atomic_load(&s->orders->count);
  if (n == 0) return false;
  size_t at = atomic_fetch_add(&s->orders->next, 1) % n;
  Ccpay__V1__GetOrderRequest req = CCPAY__V1__GET_ORDER_REQUEST__INIT;
  req.id = s->orders->ids[at];
  *method = "/ccpay.v1.OrderService/GetOrder";
  return pack(&req.base, bytes, len);
}

const bench_scenario_ops bench_get_order_ops = {.first_call = get_order_first};

/* --- csr-flow ------------------------------------------------------------------------ */

static bool add_payment_request(bench_scenario_state *s, const flow_scratch *f, uint8_t **bytes,
                                size_t *len) {
  Ccpay__V1__Money amount = CCPAY__V1__MONEY__INIT;
  amount.currency_code = "USD";
  amount.amount_minor = f->total_minor;
  Ccpay__V1__CardDetails card = CCPAY__V1__CARD_DETAILS__INIT;
  card.processor = (char *)s->processor;
  card.token = "pm_card_visa";
  card.brand = "visa";
  card.last4 = "4242";
  card.exp_month = 12;
  card.exp_year = 2030;
  Ccpay__V1__Payment payment = CCPAY__V1__PAYMENT__INIT;
  payment.tender_type = CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD;
  payment.amount = &amount;
  payment.card = &card;
  char request_id[REQUEST_ID_BYTES];
  next_request_id(s, request_id);
  Ccpay__V1__AddPaymentRequest req = CCPAY__V1__ADD_PAYMENT_REQUEST__INIT;
  req.order_id = (char *)f->order_id;
  req.payment = &payment;
  req.request_id = request_id;
  return pack(&req.base, bytes, len);
}

static bool submit_request(bench_scenario_state *s, const flow_scratch *f, uint8_t **bytes,
                           size_t *len) {
  char request_id[REQUEST_ID_BYTES];
  next_request_id(s, request_id);
  Ccpay__V1__SubmitOrderRequest req = CCPAY__V1__SUBMIT_ORDER_REQUEST__INIT;
  req.order_id = (char *)f->order_id;
  req.request_id = request_id;
  return pack(&req.base, bytes, len);
}

/* Ships every line in full: the invoice captures the whole authorization. */
static bool invoice_request(bench_scenario_state *s, const flow_scratch *f, uint8_t **bytes,
                            size_t *len) {
  Ccpay__V1__ShipLine lines[LINES];
  Ccpay__V1__ShipLine *line_ptrs[LINES];
  for (int i = 0; i < LINES; i++) {
    ccpay__v1__ship_line__init(&lines[i]);
    lines[i].line_number = i + 1;
    lines[i].quantity = i + 1;
    line_ptrs[i] = &lines[i];
  }
  char request_id[REQUEST_ID_BYTES];
  next_request_id(s, request_id);
  Ccpay__V1__InvoiceOrderRequest req = CCPAY__V1__INVOICE_ORDER_REQUEST__INIT;
  req.order_id = (char *)f->order_id;
  req.lines = line_ptrs;
  req.n_lines = LINES;
  req.request_id = request_id;
  return pack(&req.base, bytes, len);
}

static bool flow_next(bench_slot *slot, int step, int status, const uint8_t *reply, size_t len,
                      const char **method, uint8_t **bytes, size_t *out_len) {
  bench_scenario_state *s = bench_slot_scenario(slot);
  flow_scratch *f = bench_slot_scratch(slot);
  if (status != 0 || reply == NULL) return false;
  switch (step) {
    case 0: {
      Ccpay__V1__Order *order = ccpay__v1__order__unpack(NULL, len, reply);
      if (order == NULL) return false;
      copy_id(f->order_id, order->id);
      f->total_minor = order->totals != NULL && order->totals->total != NULL
                           ? order->totals->total->amount_minor
                           : 0;
      ccpay__v1__order__free_unpacked(order, NULL);
      *method = "/ccpay.v1.OrderService/AddPayment";
      return add_payment_request(s, f, bytes, out_len);
    }
    case 1:
      *method = "/ccpay.v1.OrderService/SubmitOrder";
      return submit_request(s, f, bytes, out_len);
    case 2:
      *method = "/ccpay.v1.OrderService/InvoiceOrder";
      return invoice_request(s, f, bytes, out_len);
    default:
      return false;
  }
}

static bool flow_first(bench_slot *slot, const char **method, uint8_t **bytes, size_t *len) {
  *method = "/ccpay.v1.OrderService/CreateOrder";
  return create_order_request(bench_slot_scenario(slot), bytes, len);
}

const bench_scenario_ops bench_csr_flow_ops = {.first_call = flow_first, .next_call = flow_next};

/* --- stream -------------------------------------------------------------------------- */

static bool stream_first(bench_slot *slot, const char **method, uint8_t **bytes, size_t *len) {
  Ccpay__V1__StreamEntriesRequest req = CCPAY__V1__STREAM_ENTRIES_REQUEST__INIT;
  req.after_sequence = 0;
  req.follow = false;
  *method = "/ccpay.v1.LedgerService/StreamEntries";
  return pack(&req.base, bytes, len);
}

const bench_scenario_ops bench_stream_ops = {.first_call = stream_first, .streaming = true};

/* --- set-up -------------------------------------------------------------------------- */

bool bench_customer_request(bench_scenario_state *s, uint8_t **bytes, size_t *len) {
  Ccpay__V1__Customer customer = CCPAY__V1__CUSTOMER__INIT;
  customer.name = "Bench Customer";
  customer.email = "bench@example.com";
  customer.currency_code = "USD";
  char request_id[REQUEST_ID_BYTES];
  next_request_id(s, request_id);
  Ccpay__V1__CreateCustomerRequest req = CCPAY__V1__CREATE_CUSTOMER_REQUEST__INIT;
  req.customer = &customer;
  req.request_id = request_id;
  return pack(&req.base, bytes, len);
}

bool bench_customer_id(const uint8_t *reply, size_t len, char *out, size_t size) {
  Ccpay__V1__Customer *c = ccpay__v1__customer__unpack(NULL, len, reply);
  if (c == NULL) return false;
  snprintf(out, size, "%s", c->id);
  ccpay__v1__customer__free_unpacked(c, NULL);
  return true;
}
