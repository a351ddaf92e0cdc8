/* The out-of-balance check of a submitted order, pure: what its payments will collect
 * against its total, and what the business parameters say about the difference
 * (docs/BALANCE_REVIEW.md).
 *
 * What payments collect: a tender ccpay takes itself (check, cash, ACH, gift cards, the
 * customer's account) what it holds (payment_refundable); cards at most what is still
 * owed once those are counted, since a card is never captured beyond what is invoiced.
 * Declined, failed and voided cards, and refund-only cards, collect nothing. */
#ifndef CCPAY_DOMAIN_BALANCE_H
#define CCPAY_DOMAIN_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/common.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"

/* The hold code of the out-of-balance queue. Only BalanceReviewService releases it. */
#define BALANCE_HOLD_CODE "OUT_OF_BALANCE"

/* What the payments will collect (payments_total) and the difference (payments_total −
 * order_total: positive overpaid, negative underpaid). lines counts the payment lines
 * that may still collect: an order with none is billed to the customer's account on its
 * payment terms, and is not checked. */
typedef struct balance {
  int64_t payments_total;
  int64_t order_total;
  int64_t difference;
  size_t lines;
} balance;

void balance_of(Ccpay__V1__Payment *const *payments, size_t count, int64_t order_total,
                balance *out);

/* The amount listed for currency in a per-currency parameter, or absent when none is. */
int64_t balance_currency_amount(Ccpay__V1__Money *const *list, size_t count,
                                const char *currency_code, int64_t absent);

/* "The total payment amount and total sales amount do not balance: payments 100.00 USD,
 * order total 69.99 USD, overpaid by 30.01 USD", in arena a (NULL when exhausted). */
char *balance_message(const balance *b, const char *currency, arena *a);

/* A BalanceReview message for b, unresolved, in arena a (NULL when exhausted). */
Ccpay__V1__BalanceReview *balance_review_new(const balance *b, const char *currency, arena *a);

/* Whether a resolution settles the difference for good (released from the queue, or
 * written off at submission), so SubmitOrder does not check again. */
bool balance_resolved(const Ccpay__V1__BalanceReview *review);

/* Amounts as people read them: "30.01 USD", "-19.99 USD", "500 JPY", into out. */
void balance_format(int64_t amount, const char *currency, char *out, size_t size);

#endif
