/* The out-of-balance review (docs/BALANCE_REVIEW.md): SubmitOrder compares what an
 * order's payments will collect with its total (domain/balance.h). Equal: submitted.
 * Apart by no more than the maximum over/under payment of its currency: submitted, and
 * the difference written off to the over/under account. Apart by more: into the
 * out-of-balance queue (hold code OUT_OF_BALANCE, with the message) when the
 * allow-out-of-balance parameter is on, else refused (OUT_OF_BALANCE), nothing changed.
 * The payments department works the queue through BalanceReviewService, and refund
 * checks through the same service. Everything here runs on the writer thread unless it
 * says otherwise. */
#ifndef CCPAY_SERVICES_BALANCE_REVIEW_H
#define CCPAY_SERVICES_BALANCE_REVIEW_H

#include <stdbool.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "storage/store.h"

/* SubmitOrder, before any card is authorized, on the writer's copy o of the order (not
 * written here): CCPAY_OK with *queue false when it may be submitted; CCPAY_OK with
 * *queue true when it goes to the queue (o is given its hold and balance_review: the
 * caller writes it and answers it); CCPAY_ERR_OUT_OF_BALANCE when the difference is
 * refused. */
ccpay_err balance_check_submit(store_txn *txn, Ccpay__V1__Order *o, arena *a, bool *queue,
                               ccpay_error *error);

/* As o becomes SUBMITTED: a difference within the maximum (or released with WRITE_OFF)
 * is written off to the over/under account, once; balance_review records it. */
ccpay_err balance_write_off(store_txn *txn, Ccpay__V1__Order *o, arena *a, ccpay_error *error);

/* AddPayment on o (the writer's copy, its new payment attached): an order in the queue
 * leaves it when it now balances within the maximum (resolution PAYMENT_ADDED). */
ccpay_err balance_after_payment(store_txn *txn, Ccpay__V1__Order *o, arena *a, ccpay_error *error);

/* ReleaseOrder on the writer's copy o, before it is submitted: o must be in the queue,
 * and resolution fit its difference as it is now; the hold is lifted and the resolution
 * kept (BILL_TO_ACCOUNT adds a customer-account payment for what is missing). */
ccpay_err balance_release(store_txn *txn, Ccpay__V1__Order *o,
                          Ccpay__V1__BalanceResolution resolution, const char *agent_id, arena *a,
                          ccpay_error *error);

/* The status a new refund check starts in: APPROVED (approved_by "auto") up to the
 * approval threshold of its currency, else PENDING_APPROVAL. */
ccpay_err refund_check_initial_status(store_txn *txn, Ccpay__V1__RefundCheck *c, arena *a,
                                      ccpay_error *error);

#endif
