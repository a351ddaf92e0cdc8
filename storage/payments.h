/* Payment and transaction records, and the list of open transactions.
 *
 * A payment is a line of an order (the order lists its payment_ids; the payment lists
 * its transaction_ids, oldest first), so neither needs an index of its own. A
 * transaction is one processor operation; while it is PENDING or UNKNOWN its id is also
 * in STORE_DB_TRANSACTIONS_OPEN, the recovery loop's work list, written in the same
 * transaction as the record so the two never disagree. */
#ifndef CCPAY_STORAGE_PAYMENTS_H
#define CCPAY_STORAGE_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/payment.pb-c.h"
#include "store.h"

/* Write transaction only. Stores p (its id, order_id and transaction ids must parse);
 * is_new says it must not exist yet (CCPAY_ERR_INTERNAL if it does). */
ccpay_err payments_put(store_txn *txn, const Ccpay__V1__Payment *p, bool is_new,
                       ccpay_error *error);

/* Reads a payment into arena a; CCPAY_ERR_NOT_FOUND (error filled) when absent. */
ccpay_err payments_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Payment **out,
                       ccpay_error *error);

/* Write transaction only. Stores t and keeps the open list in step with its state:
 * listed while PENDING or UNKNOWN, removed once resolved. is_new as for payments. */
ccpay_err transactions_put(store_txn *txn, const Ccpay__V1__Transaction *t, bool is_new,
                           ccpay_error *error);

ccpay_err transactions_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Transaction **out,
                           ccpay_error *error);

/* True for the states the recovery loop must still resolve. */
bool transaction_state_open(Ccpay__V1__TransactionState state);

/* Up to limit ids of open transactions greater than after_id (0: from the first),
 * oldest first, into ids; *count says how many. Errors: CCPAY_ERR_STORAGE. */
ccpay_err transactions_open_list(store_txn *txn, uint64_t after_id, uint64_t *ids, size_t limit,
                                 size_t *count, ccpay_error *error);

#endif
