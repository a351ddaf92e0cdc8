/* Refund rules, pure: which tender a refund goes to, derived from the original order's
 * payments (the call-center rules of docs/RETURNS.md), and which tenders a refund line may
 * be changed to. No I/O; works on ccpay.v1 messages in an arena.
 *
 * The derivation of refund_derive, for an amount owed back to the customer:
 *   1. apply credit (a return with a replacement order): everything to the apply-credit
 *      method (the customer's account);
 *   2. no original order: everything to the default return method;
 *   3. otherwise, first what the order put on the customer's account (CUSTOMER_ACCOUNT
 *      payments) goes back to the account; then the order's money, payment by payment,
 *      oldest first, each at most what it has left to give back
 *      (payment_refundable), to a tender chosen by the kind of tender the order's money
 *      came in:
 *        one kind, CARD              → the same card, a linked refund (split across cards)
 *        one kind, CASH or CHECK     → the order currency's refund method (CHECK, CASH)
 *        one kind, GIFT_CARD_INTERNAL or LOYALTY_CARD → the same number
 *        one kind, anything else (external gift card, ACH), or several kinds
 *                                    → the default return method;
 *   4. what is left (more than the order's payments can give back: never paid) is a
 *      credit on the customer's account.
 * So no refund line ever sends out more than a payment took in, and money goes only to a
 * tender the order was paid with, or to the configured refund methods. */
#ifndef CCPAY_DOMAIN_REFUND_H
#define CCPAY_DOMAIN_REFUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"

/* What the derivation needs of the business parameters, for one currency. */
typedef struct refund_policy {
  Ccpay__V1__TenderType currency_method;     /* cash or check orders: CHECK or CASH */
  Ccpay__V1__TenderType default_method;      /* CHECK, CASH or CUSTOMER_ACCOUNT */
  bool apply_credit;                         /* the return has a replacement order */
  Ccpay__V1__TenderType apply_credit_method; /* CUSTOMER_ACCOUNT */
} refund_policy;

/* The policy of params for currency (a currency with no refund method of its own gets
 * CHECK). params may be NULL: the defaults. */
void refund_policy_for(const Ccpay__V1__Parameters *params, const char *currency, bool apply_credit,
                       refund_policy *out);

/* The refund lines for amount (>= 0 minor units in currency) owed back on an order with
 * payments (oldest first; none when has_original_order is false). Lines are numbered
 * from first_line_number, PENDING, each with its source payment (when money of one is
 * given back) and, for a card, target_payment_id = the source; stored-value lines carry
 * the number in reference. Zero-amount lines are left out; amount 0 gives no lines.
 * CCPAY_ERR_LIMIT_EXCEEDED when more than REFUND_LINES_MAX lines would be needed or the
 * arena is exhausted. */
ccpay_err refund_derive(const refund_policy *policy, bool has_original_order,
                        Ccpay__V1__Payment *const *payments, size_t payment_count,
                        const char *currency, int64_t amount, int32_t first_line_number, arena *a,
                        Ccpay__V1__RefundLine ***out, size_t *out_count, ccpay_error *error);

/* The tender a refund line may be overridden to (field names it): CARD, CHECK, CASH,
 * CUSTOMER_ACCOUNT, GIFT_CARD_INTERNAL, LOYALTY_CARD. */
ccpay_err refund_check_override_tender(const char *field, Ccpay__V1__TenderType tender,
                                       ccpay_error *error);

/* The refund method of a cash or check order (field names it): CHECK or CASH. */
ccpay_err refund_check_currency_method(const char *field, Ccpay__V1__TenderType tender,
                                       ccpay_error *error);

/* The default return method (field names it): CHECK, CASH or CUSTOMER_ACCOUNT. */
ccpay_err refund_check_default_method(const char *field, Ccpay__V1__TenderType tender,
                                      ccpay_error *error);

const char *refund_derivation_name(Ccpay__V1__RefundDerivation value);
const char *refund_line_status_name(Ccpay__V1__RefundLineStatus status);

/* Sum of the amounts of lines in the given status (any status when status is 0). */
int64_t refund_lines_total(Ccpay__V1__RefundLine *const *lines, size_t count,
                           Ccpay__V1__RefundLineStatus status);

#endif
