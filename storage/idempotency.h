/* Idempotency records: request_id -> (hash of the request, packed reply, time). A retry
 * with the same request_id and the same request gets the stored reply; the same
 * request_id with a different request is refused with CCPAY_ERR_IDEMPOTENCY_KEY_REUSED.
 * Only successful replies are stored: a refused request changed nothing and may be
 * retried. Records are kept IDEMPOTENCY_RETENTION_MS and then purged by the writer. */
#ifndef CCPAY_STORAGE_IDEMPOTENCY_H
#define CCPAY_STORAGE_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "keys.h"
#include "store.h"

enum { IDEMPOTENCY_HASH_BYTES = 32 };

/* SHA-256 over the method name and the canonical request bytes (the request re-encoded
 * by protobuf-c, so field order on the wire does not matter). */
void idempotency_hash(const char *method, const uint8_t *request, size_t request_len,
                      uint8_t out[IDEMPOTENCY_HASH_BYTES]);

/* Looks request_id up. CCPAY_OK with *reply set (valid as store_val) when the same
 * request was answered before; CCPAY_ERR_NOT_FOUND when the key is new;
 * CCPAY_ERR_IDEMPOTENCY_KEY_REUSED (error filled) when it was used for another request. */
ccpay_err idempotency_lookup(store_txn *txn, const char *request_id,
                             const uint8_t hash[IDEMPOTENCY_HASH_BYTES], store_val *reply,
                             ccpay_error *error);

/* Write transaction only: stores the reply for request_id at the batch's time. The
 * request_id must be new (look it up in the same transaction first): when it already has
 * a record, CCPAY_ERR_IDEMPOTENCY_KEY_REUSED for another request, CCPAY_ERR_INTERNAL for
 * this one, and the stored reply stays. */
ccpay_err idempotency_record(store_txn *txn, const char *request_id,
                             const uint8_t hash[IDEMPOTENCY_HASH_BYTES], const uint8_t *reply,
                             size_t reply_len, ccpay_error *error);

/* Write transaction only: replaces the stored reply of request_id (which must have one,
 * for the same request) with a newer one, keeping its creation time: an operation that
 * answers in two steps (an invoice at once, its captures when the processor answers)
 * stores its latest reply. */
ccpay_err idempotency_update(store_txn *txn, const char *request_id,
                             const uint8_t hash[IDEMPOTENCY_HASH_BYTES], const uint8_t *reply,
                             size_t reply_len, ccpay_error *error);

/* Write transaction only: deletes up to records_max records created before
 * before_ms; *purged says how many. */
ccpay_err idempotency_purge(store_txn *txn, int64_t before_ms, unsigned records_max,
                            unsigned *purged, ccpay_error *error);

/* For verify (storage-internal): builds into k the STORE_DB_IDEMPOTENCY_BY_TIME key of
 * the record value stored under request_id (request_id_len bytes, 1 to
 * REQUEST_ID_BYTES_MAX). False when record is too short to be a record. */
bool idempotency_time_key(const uint8_t *request_id, size_t request_id_len, store_val record,
                          key_builder *k);

#endif
