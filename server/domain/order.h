/* Order rules: what valid order input is, how totals are computed, which action each
 * status allows, and what invoicing and cancelling do to an order. Pure: no I/O; works on
 * ccpay.v1 messages in an arena. The status machine is written down in docs/ORDERS.md.
 *
 * Amounts of a line: gross = quantity × unit price; the line discount and the line's tax
 * are spread over its units by cumulative rounding: the first q units carry
 * round_half_even(x × q / quantity) of an amount x. So any split of a line into
 * invoices and cancellations adds up exactly to the whole line, cent for cent. */
#ifndef CCPAY_DOMAIN_ORDER_H
#define CCPAY_DOMAIN_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/order.pb-c.h"

/* Checks the caller's fields of a new order ("order.lines[2].quantity: ..."): customer
 * id present, known currency, source code, type, 1..ORDER_LINES_MAX lines, charges. The
 * customer's currency is checked by the caller, which reads the customer. */
ccpay_err order_validate_new(const Ccpay__V1__Order *input, ccpay_error *error);

/* Checks lines and charges (field names start with prefix, e.g. "order." or ""). */
ccpay_err order_validate_lines(Ccpay__V1__OrderLine *const *lines, size_t line_count,
                               Ccpay__V1__Charge *const *charges, size_t charge_count,
                               const char *currency_code, const char *prefix, ccpay_error *error);

/* A new OPEN order in arena a from validated input: caller fields copied, line numbers
 * 1..n, totals computed. id, times and version are left to the caller. NULL with error
 * set when a total overflows or the arena is exhausted. */
Ccpay__V1__Order *order_build(const Ccpay__V1__Order *input, arena *a, ccpay_error *error);

/* Replaces the lines and charges of order with validated ones, renumbered; recomputes
 * the totals. */
ccpay_err order_replace_lines(Ccpay__V1__Order *order, Ccpay__V1__OrderLine *const *lines,
                              size_t line_count, Ccpay__V1__Charge *const *charges,
                              size_t charge_count, arena *a, ccpay_error *error);

/* Recomputes every output amount of the order's lines and charges, and its totals. */
ccpay_err order_compute_totals(Ccpay__V1__Order *order, arena *a, ccpay_error *error);

typedef enum order_action {
  ORDER_ACTION_UPDATE_LINES,
  ORDER_ACTION_HOLD,
  ORDER_ACTION_RELEASE_HOLD,
  ORDER_ACTION_SUBMIT,
  ORDER_ACTION_INVOICE,
  ORDER_ACTION_CANCEL,
  ORDER_ACTION_CANCEL_LINES,
} order_action;

/* CCPAY_OK when the order's status (and hold) allow action; else
 * CCPAY_ERR_INVALID_STATE naming the status ("order ord_… is INVOICED: ..."). */
ccpay_err order_check_action(const Ccpay__V1__Order *order, order_action action,
                             ccpay_error *error);

/* Hold codes: 1..ORDER_HOLD_CODE_BYTES_MAX upper-case letters, digits or underscores. */
ccpay_err order_check_hold_code(const char *field, const char *code, ccpay_error *error);

/* The name of a status as the API spells it ("SUBMITTED"). */
const char *order_status_name(Ccpay__V1__OrderStatus status);

/* Invoices the shipped quantities: checks each ShipLine (known line, 1..remaining
 * quantity, each line at most once), moves quantity_invoiced, adds the charges on the
 * order's first invoice, sets the status, and builds the invoice (lines, charges,
 * amounts; id, times and entry sequence are left to the caller) in arena a. A refused
 * invoice (bad ship lines) leaves the order untouched; after CCPAY_ERR_LIMIT_EXCEEDED
 * (arena exhausted) the order is half-changed and must be discarded. */
ccpay_err order_invoice(Ccpay__V1__Order *order, Ccpay__V1__ShipLine *const *ship,
                        size_t ship_count, arena *a, Ccpay__V1__Invoice **out, ccpay_error *error);

/* Cancels the uninvoiced quantity of the named lines (each known, once, with something
 * left to cancel). When nothing is left to invoice the order becomes INVOICED (if
 * anything was) or CANCELLED (charges too). A finished order's hold is cleared. */
ccpay_err order_cancel_lines(Ccpay__V1__Order *order, const int32_t *line_numbers, size_t count,
                             arena *a, ccpay_error *error);

/* Cancels a whole order that has not been invoiced: every line and charge. */
ccpay_err order_cancel(Ccpay__V1__Order *order, arena *a, ccpay_error *error);

/* What units [from, to) of a line carry: their net (gross less their share of the
 * discount) and their share of the line's tax, as invoicing counts them. False on
 * overflow. */
bool order_line_units_amounts(const Ccpay__V1__OrderLine *line, int64_t from, int64_t to,
                              int64_t *net, int64_t *tax);

/* The part of amount carried by units [from, to) of a line of quantity units. */
bool order_line_share(int64_t amount, int64_t quantity, int64_t from, int64_t to, int64_t *out);

#endif
