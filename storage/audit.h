/* The audit trail: ccpay.v1.AuditRecord under a sequence number 1, 2, 3… with no gaps.
 * Append-only: nothing here changes or removes a record. A record is appended in the
 * same write transaction as the change it describes, so the two are durable together
 * or not at all. The last sequence is kept in META, so appending is one get and two
 * puts. */
#ifndef CCPAY_STORAGE_AUDIT_H
#define CCPAY_STORAGE_AUDIT_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/admin.pb-c.h"
#include "store.h"

/* Write transaction only. Gives r the next sequence (r->sequence is set) and stores it. */
ccpay_err audit_append(store_txn *txn, Ccpay__V1__AuditRecord *r, ccpay_error *error);

/* The last sequence appended; 0 when the trail is empty. */
ccpay_err audit_last_sequence(store_txn *txn, uint64_t *out, ccpay_error *error);

/* Up to limit records with a sequence greater than after, in order, into arena a. */
ccpay_err audit_read(store_txn *txn, uint64_t after, unsigned limit, arena *a,
                     Ccpay__V1__AuditRecord ***out, size_t *count, ccpay_error *error);

#endif
