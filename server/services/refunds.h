/* Issuing refund lines (domain/refund.h derives them): the one path by which a return's
 * refunds and an order's excess funds go back to the customer, on the writer thread.
 *
 * A CARD line is a REFUND operation added to a payment flow (payment_flow.h): on its
 * source payment (a linked refund against the original capture), or on a refund-only
 * payment of the return (an unlinked refund, after an audited override). The line is
 * IN_PROGRESS until its transaction resolves: refunds_refresh reads the outcome (ISSUED,
 * or FAILED with the processor's message). Any other line is issued at once, in the same
 * LMDB transaction, with its journal entry:
 *
 *   CHECK              a refund check record (PENDING_APPROVAL), receivable → refund
 *                      checks payable
 *   CASH               receivable → cash
 *   GIFT_CARD_INTERNAL receivable → gift_card:<number> (its balance grows)
 *   LOYALTY_CARD       receivable → loyalty:<number>
 *   CUSTOMER_ACCOUNT   nothing: the credit stays on the customer's receivable
 *
 * Money given back from a source payment by another means than its own processor is
 * recorded on it (refunded_elsewhere), so no payment ever gives back more than it took
 * in, counting refunds in flight. */
#ifndef CCPAY_SERVICES_REFUNDS_H
#define CCPAY_SERVICES_REFUNDS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "payment_flow.h"
#include "storage/store.h"

/* Whose refund lines these are. */
typedef struct refund_owner {
  const char *customer_id;
  const char *currency;
  const char *order_id;  /* the original order; "" for a return with none */
  const char *return_id; /* "" for an order's excess funds */
} refund_owner;

/* Issues every PENDING or FAILED line of lines (the writer's copies, changed in place;
 * the caller writes their record). Card lines go to flow f as REFUND operations.
 * Errors name the line; on an error the caller's nested transaction is rolled back. */
ccpay_err refunds_issue(store_txn *txn, payment_flow *f, const refund_owner *owner,
                        Ccpay__V1__RefundLine **lines, size_t count, ccpay_error *error);

/* Brings IN_PROGRESS lines up to date with their transactions: SUCCEEDED → ISSUED,
 * DECLINED or FAILED → FAILED with the processor's message; still open → unchanged.
 * With write (a write transaction), a failed unlinked refund gives its source payment
 * back what was reserved on it; without, only the lines in arena a change (a read shows
 * the truth of the moment). *changed says whether any line changed. */
ccpay_err refunds_refresh(store_txn *txn, arena *a, Ccpay__V1__RefundLine **lines, size_t count,
                          bool write, bool *changed, ccpay_error *error);

/* Refund check c was voided: the refund line it paid (of its return, or of its order's
 * excess funds) is FAILED again with reason, and its source payment may give the money
 * back another way. */
ccpay_err refunds_check_voided(store_txn *txn, const Ccpay__V1__RefundCheck *c, const char *reason,
                               arena *a, ccpay_error *error);

#endif
