/* Payment rules, pure: what a new payment line must hold, and the bookkeeping of a
 * payment's amounts as its processor operations start and end.
 *
 * Invariants every function here keeps (and asserts), per payment, in minor units:
 *   captured + released + pending_capture <= authorized
 *   refunded + pending_refund + refunded_elsewhere <= captured
 * and for a refund-only card (an unlinked refund): nothing authorized or captured,
 *   refunded + pending_refund <= amount
 * "pending" amounts are reserved by operations whose outcome is not known yet, so two
 * operations in flight can never together exceed what is there. */
#ifndef CCPAY_DOMAIN_PAYMENT_H
#define CCPAY_DOMAIN_PAYMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/payment.pb-c.h"

/* The tender's name without prefix ("CARD"), "UNSPECIFIED" for unknown values. */
const char *payment_tender_name(Ccpay__V1__TenderType tender);
const char *payment_status_name(Ccpay__V1__PaymentStatus status);
const char *transaction_kind_name(Ccpay__V1__TransactionKind kind);
const char *transaction_state_name(Ccpay__V1__TransactionState state);

/* Checks a payment line as AddPayment receives it ("payment." prefixes field names):
 * tender and its fields, amount positive in the order's currency, a card that is a
 * token (never a card number) with an expiry not before now_ms, a check number, an
 * external reference for ACH and external gift cards, a stored-value number for
 * internal gift cards and loyalty cards. */
ccpay_err payment_validate_new(const Ccpay__V1__Payment *p, const char *order_currency,
                               int64_t now_ms, ccpay_error *error);

/* Checks the number of an internal gift card or loyalty card (field names it): 6 to
 * STORED_VALUE_NUMBER_BYTES_MAX of A-Z, 0-9 and "-", and never a payment card number. */
ccpay_err payment_check_stored_value_number(const char *field, const char *number,
                                            ccpay_error *error);

/* Fills a new payment's amounts (all zero, in its currency) and status: NEW for cards,
 * RECEIVED for every other tender. The card's token is kept; clear it before a reply with
 * payment_redact. NULL-safe arena failure: returns false. */
bool payment_init_amounts(Ccpay__V1__Payment *p, arena *a);

/* What can still be captured: authorized - captured - released - pending_capture. */
int64_t payment_capturable(const Ccpay__V1__Payment *p);
/* What can still be given back: captured - refunded - pending_refund -
 * refunded_elsewhere (for a refund-only card: amount - refunded - pending_refund). */
int64_t payment_refundable(const Ccpay__V1__Payment *p);

/* Records amount (> 0 to give back, < 0 to undo a refund that failed) of p's money as
 * refunded by another means than p's own processor (a refund check, a gift card, the
 * customer's account, another card); at most payment_refundable(p). */
void payment_refund_elsewhere(Ccpay__V1__Payment *p, int64_t amount);

/* Checks that an operation of kind for amount may start now (the payment's status and
 * amounts, counting what is in flight) and names the rule when not:
 * CCPAY_ERR_INVALID_STATE, CCPAY_ERR_AMOUNT_EXCEEDED, CCPAY_ERR_PAYMENT_IN_PROGRESS. */
ccpay_err payment_check_start(const Ccpay__V1__Payment *p, Ccpay__V1__TransactionKind kind,
                              int64_t amount, ccpay_error *error);

/* Reserves the amount of an operation that starts (pending capture or refund) and
 * records t as the payment's open transaction. */
void payment_start(Ccpay__V1__Payment *p, const Ccpay__V1__Transaction *t);

/* Applies the resolved outcome of t (SUCCEEDED, DECLINED or FAILED) to p: amounts,
 * status, references, decline code and message, AVS/CVV; releases what was reserved.
 * For a final capture the rest of the authorization counts as released. An
 * authorization that never reached the processor (t->not_sent) leaves the payment NEW. */
void payment_finish(Ccpay__V1__Payment *p, const Ccpay__V1__Transaction *t);

/* A copy of p safe to show a caller: the card token removed. NULL when exhausted. */
Ccpay__V1__Payment *payment_redact(const Ccpay__V1__Payment *p, arena *a);

#endif
