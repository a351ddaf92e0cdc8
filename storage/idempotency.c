/* Record layout in STORE_DB_IDEMPOTENCY, under the request_id's bytes (no terminator):
 *
 *   offset  0  hash        32 bytes, idempotency_hash of the first request
 *   offset 32  created_ms   8 bytes, big-endian two's complement: the batch time
 *   offset 40  reply        the packed reply, to the end of the value
 *
 * STORE_DB_IDEMPOTENCY_BY_TIME holds created_ms (key_add_i64) ++ request_id -> "", so
 * the purge walks the oldest records first without reading any record. */
#include "idempotency.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "base/log.h"
#include "digest.h"
#include "keys.h"

enum {
  IDEMPOTENCY_CREATED_OFFSET = IDEMPOTENCY_HASH_BYTES,
  IDEMPOTENCY_REPLY_OFFSET = IDEMPOTENCY_CREATED_OFFSET + 8,
  IDEMPOTENCY_TIME_KEY_BYTES = 8, /* the created_ms prefix of a by-time key */
};

static const uint8_t idempotency_empty = 0; /* the value of by-time entries (0 bytes) */

/* The request_id's length, checked: callers validate request_ids before storage. */
static size_t idempotency_key_len(const char *request_id) {
  CHECK(request_id != NULL);
  size_t len = strnlen(request_id, REQUEST_ID_BYTES_MAX + 1);
  CHECK(len > 0 && len <= REQUEST_ID_BYTES_MAX);
  return len;
}

void idempotency_hash(const char *method, const uint8_t *request, size_t request_len,
                      uint8_t out[IDEMPOTENCY_HASH_BYTES]) {
  CHECK(method != NULL && out != NULL);
  CHECK(request != NULL || request_len == 0);
  /* The separator keeps ("ab", "c...") and ("a", "bc...") apart; method names never
   * contain 0x00. */
  static const uint8_t separator = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  CHECK(ctx != NULL); /* only out of memory, which we do not survive here either */
  unsigned int len = 0;
  CHECK(EVP_DigestInit_ex(ctx, digest_sha256(), NULL) == 1);
  CHECK(EVP_DigestUpdate(ctx, method, strlen(method)) == 1);
  CHECK(EVP_DigestUpdate(ctx, &separator, 1) == 1);
  if (request_len > 0) CHECK(EVP_DigestUpdate(ctx, request, request_len) == 1);
  CHECK(EVP_DigestFinal_ex(ctx, out, &len) == 1);
  CHECK(len == IDEMPOTENCY_HASH_BYTES);
  EVP_MD_CTX_free(ctx);
}

ccpay_err idempotency_lookup(store_txn *txn, const char *request_id,
                             const uint8_t hash[IDEMPOTENCY_HASH_BYTES], store_val *reply,
                             ccpay_error *error) {
  size_t key_len = idempotency_key_len(request_id);
  CHECK(hash != NULL && reply != NULL);
  store_val value;
  ccpay_err err = store_get(txn, STORE_DB_IDEMPOTENCY, request_id, key_len, &value, error);
  if (err != CCPAY_OK) return err; /* NOT_FOUND: a new key */
  if (value.len < IDEMPOTENCY_REPLY_OFFSET) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record in idempotency");
  }
  /* Constant time, as for any comparison of digests, though a hash is no secret here. */
  if (CRYPTO_memcmp(value.data, hash, IDEMPOTENCY_HASH_BYTES) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_IDEMPOTENCY_KEY_REUSED,
                           "request_id \"%s\" was already used for a different request",
                           request_id);
  }
  reply->data = value.data + IDEMPOTENCY_REPLY_OFFSET;
  reply->len = value.len - IDEMPOTENCY_REPLY_OFFSET;
  return CCPAY_OK;
}

ccpay_err idempotency_record(store_txn *txn, const char *request_id,
                             const uint8_t hash[IDEMPOTENCY_HASH_BYTES], const uint8_t *reply,
                             size_t reply_len, ccpay_error *error) {
  size_t key_len = idempotency_key_len(request_id);
  CHECK(reply != NULL || reply_len == 0);
  CHECK(reply_len <= SIZE_MAX - IDEMPOTENCY_REPLY_OFFSET);
  int64_t created_ms = store_txn_time_ms(txn); /* CHECKs a write transaction */

  /* One record per request_id: replacing one would orphan its by-time entry and
   * forget the reply a retry must get. */
  store_val existing;
  ccpay_err err = idempotency_lookup(txn, request_id, hash, &existing, error);
  if (err == CCPAY_OK) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL,
                           "request_id \"%s\" already has a stored reply", request_id);
  }
  if (err != CCPAY_ERR_NOT_FOUND) return err;

  uint8_t *space = NULL;
  err = store_put_reserve(txn, STORE_DB_IDEMPOTENCY, request_id, key_len,
                          IDEMPOTENCY_REPLY_OFFSET + reply_len, &space, error);
  if (err != CCPAY_OK) return err;
  memcpy(space, hash, IDEMPOTENCY_HASH_BYTES);
  key_put_u64(space + IDEMPOTENCY_CREATED_OFFSET, (uint64_t)created_ms);
  if (reply_len > 0) memcpy(space + IDEMPOTENCY_REPLY_OFFSET, reply, reply_len);

  key_builder k;
  key_init(&k);
  key_add_i64(&k, created_ms);
  key_add_bytes(&k, request_id, key_len);
  CHECK(!k.overflow); /* REQUEST_ID_BYTES_MAX + 8 fits a key */
  return store_put(txn, STORE_DB_IDEMPOTENCY_BY_TIME, k.bytes, k.len, &idempotency_empty, 0, error);
}

ccpay_err idempotency_update(store_txn *txn, const char *request_id,
                             const uint8_t hash[IDEMPOTENCY_HASH_BYTES], const uint8_t *reply,
                             size_t reply_len, ccpay_error *error) {
  size_t key_len = idempotency_key_len(request_id);
  CHECK(reply != NULL || reply_len == 0);
  CHECK(reply_len <= SIZE_MAX - IDEMPOTENCY_REPLY_OFFSET);
  store_val existing;
  ccpay_err err = idempotency_lookup(txn, request_id, hash, &existing, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "request_id \"%s\" has no stored reply",
                           request_id);
  }
  if (err != CCPAY_OK) return err;
  /* Same hash and creation time (the by-time entry stays valid); only the reply moves. */
  store_val record;
  err = store_get(txn, STORE_DB_IDEMPOTENCY, request_id, key_len, &record, error);
  if (err != CCPAY_OK) return err;
  uint64_t created = key_get_u64(record.data + IDEMPOTENCY_CREATED_OFFSET);
  uint8_t *space = NULL;
  err = store_put_reserve(txn, STORE_DB_IDEMPOTENCY, request_id, key_len,
                          IDEMPOTENCY_REPLY_OFFSET + reply_len, &space, error);
  if (err != CCPAY_OK) return err;
  memcpy(space, hash, IDEMPOTENCY_HASH_BYTES);
  key_put_u64(space + IDEMPOTENCY_CREATED_OFFSET, created);
  if (reply_len > 0) memcpy(space + IDEMPOTENCY_REPLY_OFFSET, reply, reply_len);
  return CCPAY_OK;
}

bool idempotency_time_key(const uint8_t *request_id, size_t request_id_len, store_val record,
                          key_builder *k) {
  CHECK(request_id != NULL && k != NULL);
  CHECK(request_id_len > 0 && request_id_len <= REQUEST_ID_BYTES_MAX);
  if (record.len < IDEMPOTENCY_REPLY_OFFSET) return false;
  key_init(k);
  key_add_i64(k, (int64_t)key_get_u64(record.data + IDEMPOTENCY_CREATED_OFFSET));
  key_add_bytes(k, request_id, request_id_len);
  CHECK(!k->overflow); /* REQUEST_ID_BYTES_MAX + 8 fits a key */
  return true;
}

/* Deletes the record named by the by-time key k and then k itself. */
static ccpay_err idempotency_delete(store_txn *txn, const key_builder *k, ccpay_error *error) {
  CHECK(!k->overflow && k->len > IDEMPOTENCY_TIME_KEY_BYTES);
  const uint8_t *request_id = k->bytes + IDEMPOTENCY_TIME_KEY_BYTES;
  size_t request_id_len = k->len - IDEMPOTENCY_TIME_KEY_BYTES;
  ccpay_err err = store_delete(txn, STORE_DB_IDEMPOTENCY, request_id, request_id_len, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    /* An entry without its record: drop it so the purge does not stop here forever. */
    log_warn("event=idempotency_orphan_entry request_id_bytes=%zu", request_id_len);
    err = CCPAY_OK;
  }
  if (err != CCPAY_OK) return err;
  err = store_delete(txn, STORE_DB_IDEMPOTENCY_BY_TIME, k->bytes, k->len, error);
  CHECK(err != CCPAY_ERR_NOT_FOUND); /* the cursor just read it in this transaction */
  return err;
}

ccpay_err idempotency_purge(store_txn *txn, int64_t before_ms, unsigned records_max,
                            unsigned *purged, ccpay_error *error) {
  CHECK(purged != NULL);
  CHECK(records_max > 0);
  (void)store_txn_time_ms(txn); /* CHECKs a write transaction */
  *purged = 0;
  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, STORE_DB_IDEMPOTENCY_BY_TIME, &c, error);
  if (err != CCPAY_OK) return err;

  while (*purged < records_max) {
    /* Re-seek the first entry each time: the previous one was just deleted. */
    store_val key;
    if (!store_cursor_seek(c, STORE_FORWARD, NULL, 0, &key, NULL)) {
      err = store_cursor_error(c, error);
      break;
    }
    if (key.len <= IDEMPOTENCY_TIME_KEY_BYTES || key.len > STORE_KEY_BYTES_MAX) {
      err = ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in idempotency_by_time");
      break;
    }
    int64_t created_ms = (int64_t)(key_get_u64(key.data) ^ ((uint64_t)1 << 63));
    if (created_ms >= before_ms) break; /* the rest are newer */
    key_builder k;                      /* a copy: the view dies with the first delete */
    key_init(&k);
    key_add_bytes(&k, key.data, key.len);
    err = idempotency_delete(txn, &k, error);
    if (err != CCPAY_OK) break;
    (*purged)++;
  }
  store_cursor_close(c);
  CHECK(*purged <= records_max);
  return err;
}
