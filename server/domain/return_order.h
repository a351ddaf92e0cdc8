/* Return order (RMA) rules, pure: what a valid return is, what each line credits, how
 * returned quantities are taken from the original order, and which action each status
 * allows. No I/O; works on ccpay.v1 messages in an arena.
 *
 * A line against an original order credits exactly what the original line's units
 * carried (net of their share of the discount, and their share of the tax, by the
 * cumulative rounding of domain/order.h): the units of a line are taken back in the
 * order they were returned, so all returns of a line add up to the line, cent for cent.
 * A line may be returned up to what was invoiced, less what other returns took (counted
 * from CreateReturn, given back when a return is cancelled). */
#ifndef CCPAY_DOMAIN_RETURN_ORDER_H
#define CCPAY_DOMAIN_RETURN_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/return.pb-c.h"

/* Checks CreateReturn's fields ("return_order.lines[1].quantity: ..."): customer id
 * present, 1..RETURN_LINES_MAX lines, each with a quantity and a reason code; against an
 * original order each names original_line_number, otherwise each has sku, description,
 * unit_price and tax_rate_bp. The customer's currency is checked by the caller. */
ccpay_err return_order_validate_new(const Ccpay__V1__ReturnOrder *input, ccpay_error *error);

/* A new OPEN return from validated input, in currency (the customer's): lines numbered
 * 1..n, amounts and totals computed. With original (the writer's copy of the original
 * order, of the same customer and currency, checked here) each line is checked against
 * it and its quantity_returned is moved; original is NULL for a return with no original
 * order. id, times and version are left to the caller. Errors name the line:
 * CCPAY_ERR_INVALID_STATE when the original order was never invoiced,
 * CCPAY_ERR_AMOUNT_EXCEEDED past what is left to return; the original is then
 * half-changed and must be discarded. */
ccpay_err return_order_build(const Ccpay__V1__ReturnOrder *input, const char *currency,
                             Ccpay__V1__Order *original, arena *a, Ccpay__V1__ReturnOrder **out,
                             ccpay_error *error);

/* Gives r's quantities back to its original order o (r is cancelled). */
void return_order_release(const Ccpay__V1__ReturnOrder *r, Ccpay__V1__Order *o);

typedef enum return_action {
  RETURN_ACTION_COMPLETE,
  RETURN_ACTION_SUBMIT,
  RETURN_ACTION_INVOICE,
  RETURN_ACTION_CANCEL,
  RETURN_ACTION_OVERRIDE,
  RETURN_ACTION_REPLACE,
} return_action;

/* CCPAY_OK when r's status allows action, else CCPAY_ERR_INVALID_STATE naming the
 * status. INVOICE is allowed again on an INVOICED return while a refund line is FAILED
 * (a retry); OVERRIDE while a line is still PENDING or FAILED. */
ccpay_err return_order_check_action(const Ccpay__V1__ReturnOrder *r, return_action action,
                                    ccpay_error *error);

/* The name of a status as the API spells it ("COMPLETED"). */
const char *return_status_name(Ccpay__V1__ReturnStatus status);

/* Sets r->totals->issued_total from its refund lines. False when the arena is exhausted. */
bool return_order_sum_issued(Ccpay__V1__ReturnOrder *r, arena *a);

#endif
