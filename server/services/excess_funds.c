#include "excess_funds.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "common.h"
#include "domain/money.h"
#include "domain/payment.h"
#include "domain/refund.h"
#include "domain/validate.h"
#include "payment_service.h"
#include "refunds.h"
#include "storage/orders.h"
#include "storage/returns.h"
#include "timestamps.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define EXCESS(x) CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_##x

/* The order's payments, oldest first, and the excess they hold. */
static ccpay_err read_payments(store_txn *txn, const Ccpay__V1__Order *o, arena *a,
                               Ccpay__V1__Payment ***out, int64_t *excess, ccpay_error *error) {
  Ccpay__V1__Payment **payments = arena_alloc(a, (o->n_payment_ids + 1) * sizeof *payments);
  if (payments == NULL) return service_exhausted(error);
  int64_t held = 0;
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    ccpay_err rc = payment_read(txn, o->payment_ids[i], a, &payments[i], error);
    if (rc != CCPAY_OK) return rc;
    CHECK(money_add(held, payment_refundable(payments[i]), &held));
  }
  int64_t owed = o->totals->total->amount_minor; /* what is not cancelled */
  /* A difference written off at submission was settled there, not owed or in excess. */
  const Ccpay__V1__BalanceReview *review = o->balance_review;
  if (review != NULL && review->entry_sequence != 0) {
    CHECK(money_add(owed, review->difference->amount_minor, &owed));
  }
  *excess = held > owed ? held - owed : 0;
  *out = payments;
  return CCPAY_OK;
}

ccpay_err excess_funds_of(store_txn *txn, const Ccpay__V1__Order *o, arena *a, int64_t *excess,
                          ccpay_error *error) {
  Ccpay__V1__Payment **payments = NULL;
  return read_payments(txn, o, a, &payments, excess, error);
}

/* Derives refund lines for the order's excess funds, appends them to the order and issues
 * them. request is the CSR's (RefundExcessFunds) or NULL for an automatic refund, whose
 * lines carry auto_reason. */
static ccpay_err refund_excess(store_txn *txn, payment_flow *f, uint64_t order_id,
                               const Ccpay__V1__RefundExcessFundsRequest *request,
                               const char *auto_reason, ccpay_error *error) {
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Order *before = NULL, *o = NULL;
  ccpay_err rc = service_order_edit(txn, order_id, a, &before, &o, error);
  Ccpay__V1__Payment **payments = NULL;
  int64_t excess = 0;
  if (rc == CCPAY_OK) rc = read_payments(txn, o, a, &payments, &excess, error);
  if (rc != CCPAY_OK) return rc;
  if (excess == 0) {
    if (request == NULL) return CCPAY_OK;
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s has no excess funds: its payments hold no more than it owes",
                           o->id);
  }
  Ccpay__V1__Parameters *params = NULL;
  rc = parameters_get(txn, a, &params, error);
  if (rc != CCPAY_OK) return rc;
  refund_policy policy;
  refund_policy_for(params, o->currency_code, false, &policy);
  Ccpay__V1__RefundLine **added = NULL;
  size_t n = 0;
  rc = refund_derive(&policy, true, payments, o->n_payment_ids, o->currency_code, excess,
                     (int32_t)o->n_refund_lines + 1, a, &added, &n, error);
  if (rc != CCPAY_OK) return rc;
  if (o->n_refund_lines + n > REFUND_LINES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order %s: at most %d refund lines",
                           o->id, REFUND_LINES_MAX);
  }
  bool gift_card =
      request != NULL &&
      request->destination == CCPAY__V1__CREDIT_DESTINATION__CREDIT_DESTINATION_GIFT_CARD;
  for (size_t i = 0; i < n; i++) {
    added[i]->reason_code = request != NULL ? request->reason_code : (char *)auto_reason;
    added[i]->reason = request != NULL ? request->reason : "";
    if (!gift_card) continue;
    added[i]->tender_type = TENDER(GIFT_CARD_INTERNAL);
    added[i]->reference = request->gift_card_number;
    added[i]->target_payment_id = "";
    added[i]->derivation = CCPAY__V1__REFUND_DERIVATION__REFUND_DERIVATION_GIFT_CARD_CREDIT;
  }
  refund_owner owner = {.customer_id = o->customer_id,
                        .currency = o->currency_code,
                        .order_id = o->id,
                        .return_id = ""};
  rc = refunds_issue(txn, f, &owner, added, n, error);
  Ccpay__V1__RefundLine **lines = arena_alloc(a, (o->n_refund_lines + n) * sizeof *lines);
  if (rc == CCPAY_OK && lines == NULL) rc = service_exhausted(error);
  if (rc != CCPAY_OK) return rc;
  if (o->n_refund_lines > 0) memcpy(lines, o->refund_lines, o->n_refund_lines * sizeof *lines);
  memcpy(lines + o->n_refund_lines, added, n * sizeof *lines);
  o->refund_lines = lines;
  o->n_refund_lines += n;
  return service_order_write(txn, before, o, a, error);
}

ccpay_err excess_funds_refund_auto(store_txn *txn, payment_flow *f, uint64_t order_id,
                                   ccpay_error *error) {
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err rc = parameters_get(txn, payment_flow_arena(f), &params, error);
  if (rc != CCPAY_OK) return rc;
  if (params->refund_excess_funds != EXCESS(UNSPECIFIED) &&
      params->refund_excess_funds != EXCESS(AUTO)) {
    return CCPAY_OK;
  }
  return refund_excess(txn, f, order_id, NULL, "ORDER_CANCELLED", error);
}

ccpay_err excess_funds_refund_invoiced(store_txn *txn, payment_flow *f, uint64_t order_id,
                                       ccpay_error *error) {
  return refund_excess(txn, f, order_id, NULL, "OVERPAID", error);
}

/* The order's id is the first field of every input these flows carry. */
ccpay_err excess_funds_end(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                           ccpay_error *error) {
  const uint64_t *order_id = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Order *before = NULL, *o = NULL;
  ccpay_err rc = service_order_edit(txn, *order_id, a, &before, &o, error);
  bool changed = false;
  if (rc == CCPAY_OK)
    rc = refunds_refresh(txn, a, o->refund_lines, o->n_refund_lines, true, &changed, error);
  if (rc == CCPAY_OK && changed) rc = service_order_write(txn, before, o, a, error);
  *reply = o != NULL ? &o->base : NULL;
  return rc;
}

/* --- RefundExcessFunds ------------------------------------------------------------------ */

typedef struct refund_now_input {
  uint64_t order_id; /* first: excess_funds_end reads it */
  const Ccpay__V1__RefundExcessFundsRequest *request;
} refund_now_input;

static ccpay_err refund_now_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                                  ccpay_error *error) {
  const refund_now_input *in = payment_flow_input(f);
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err rc = parameters_get(txn, payment_flow_arena(f), &params, error);
  if (rc != CCPAY_OK) return rc;
  if (params->refund_excess_funds == EXCESS(NONE)) {
    return ccpay_error_set(error, CCPAY_ERR_EXCESS_FUNDS_NOT_REFUNDED,
                           "the refund-excess-funds parameter is NONE: excess funds are not "
                           "refunded through ccpay");
  }
  rc = refund_excess(txn, f, in->order_id, in->request, NULL, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Order *o = NULL;
  rc = orders_get(txn, in->order_id, payment_flow_arena(f), &o, error);
  *reply = o != NULL ? &o->base : NULL;
  return rc;
}

static ccpay_err check_request(const Ccpay__V1__RefundExcessFundsRequest *r, ccpay_error *error) {
  ccpay_err rc = validate_request_id(r->request_id, error);
  if (rc == CCPAY_OK)
    rc = validate_code("reason_code", r->reason_code, ORDER_HOLD_CODE_BYTES_MAX, error);
  if (rc == CCPAY_OK)
    rc = validate_text("reason", r->reason, REFUND_REASON_BYTES_MAX, false, error);
  if (rc != CCPAY_OK) return rc;
  switch (r->destination) {
    case CCPAY__V1__CREDIT_DESTINATION__CREDIT_DESTINATION_ORIGINAL_PAYMENT_METHOD:
      return CCPAY_OK;
    case CCPAY__V1__CREDIT_DESTINATION__CREDIT_DESTINATION_GIFT_CARD:
      return payment_check_stored_value_number("gift_card_number", r->gift_card_number, error);
    default:
      return ccpay_error_set(
          error, r->destination == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_INVALID,
          "destination: ORIGINAL_PAYMENT_METHOD or GIFT_CARD");
  }
}

void excess_funds_refund_now(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__RefundExcessFundsRequest *r =
      (const Ccpay__V1__RefundExcessFundsRequest *)message;
  refund_now_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc = in == NULL ? service_exhausted(&error) : check_request(r, &error);
  if (rc == CCPAY_OK)
    rc = service_parse_id(ID_ORDER, "order_id", r->order_id, &in->order_id, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->request = r;
  payment_flow_spec spec = {.begin = refund_now_begin, .end = excess_funds_end, .input = in};
  payment_flow_start(call, r->request_id, message, &spec);
}
