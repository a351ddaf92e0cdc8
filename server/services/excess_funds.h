/* Excess funds: what an order's payments hold beyond what is still owed on it (its total,
 * which counts only what was not cancelled), as Salesforce Order Management's "total excess funds".
 * They arise when lines of a paid order are cancelled (captured at submission, or prepaid). The
 * refund-excess-funds parameter says what happens: AUTO refunds them as the cancellation runs;
 * OPTIONAL waits for OrderService.RefundExcessFunds (the CSR's choice, with a credit destination
 * and a reason code); NONE never refunds them through ccpay. The refund lines are derived like a
 * return's (domain/refund.h) and issued by refunds.h; they are the order's refund_lines. */
#ifndef CCPAY_SERVICES_EXCESS_FUNDS_H
#define CCPAY_SERVICES_EXCESS_FUNDS_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/order.pb-c.h"
#include "payment_flow.h"
#include "rpc/rpc.h"
#include "storage/store.h"

/* The excess funds of o (>= 0). */
ccpay_err excess_funds_of(store_txn *txn, const Ccpay__V1__Order *o, arena *a, int64_t *excess,
                          ccpay_error *error);

/* In a flow's begin: when the parameter is AUTO, refunds the order's excess funds (if
 * any) to its original payment methods; card refunds join flow f. */
ccpay_err excess_funds_refund_auto(store_txn *txn, payment_flow *f, uint64_t order_id,
                                   ccpay_error *error);

/* In InvoiceOrder's begin, once the order is fully invoiced: an overpaid order leaves the
 * customer in credit, so its excess is refunded (a refund check for a check) whatever the
 * parameter: the order is done and the money is the customer's. */
ccpay_err excess_funds_refund_invoiced(store_txn *txn, payment_flow *f, uint64_t order_id,
                                       ccpay_error *error);

/* A flow's end for changes that refund excess funds: the order's refund lines catch up
 * with their transactions; the reply is the order. */
ccpay_err excess_funds_end(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                           ccpay_error *error);

/* OrderService.RefundExcessFunds. */
void excess_funds_refund_now(rpc_call *call, const ProtobufCMessage *request);

#endif
