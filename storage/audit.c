#include "audit.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "keys.h"

/* META key of the last sequence appended (8 bytes BE): appending never walks the trail,
 * and verify checks it against the last key. */
static const char audit_sequence_key[] = "audit_sequence";

ccpay_err audit_last_sequence(store_txn *txn, uint64_t *out, ccpay_error *error) {
  CHECK(txn != NULL && out != NULL);
  store_val value;
  ccpay_err err =
      store_get(txn, STORE_DB_META, audit_sequence_key, strlen(audit_sequence_key), &value, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    *out = 0;
    return CCPAY_OK;
  }
  if (err != CCPAY_OK) return err;
  if (value.len != 8) return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt audit_sequence");
  *out = key_get_u64(value.data);
  return CCPAY_OK;
}

ccpay_err audit_append(store_txn *txn, Ccpay__V1__AuditRecord *r, ccpay_error *error) {
  CHECK(r != NULL && r->method != NULL && r->outcome != NULL && r->outcome[0] != '\0');
  CHECK(r->n_target_ids <= AUDIT_TARGETS_MAX);
  uint64_t last = 0;
  ccpay_err err = audit_last_sequence(txn, &last, error);
  if (err != CCPAY_OK) return err;
  CHECK(last < INT64_MAX);
  uint64_t sequence = last + 1;
  uint8_t key[8];
  key_put_u64(key, sequence);
  r->sequence = (int64_t)sequence;
  err = store_put_message(txn, STORE_DB_AUDIT, key, sizeof key, &r->base, error);
  if (err == CCPAY_OK) {
    err = store_put(txn, STORE_DB_META, audit_sequence_key, strlen(audit_sequence_key), key,
                    sizeof key, error);
  }
  return err;
}

ccpay_err audit_read(store_txn *txn, uint64_t after, unsigned limit, arena *a,
                     Ccpay__V1__AuditRecord ***out, size_t *count, ccpay_error *error) {
  CHECK(limit > 0 && out != NULL && count != NULL);
  *count = 0;
  *out = arena_calloc(a, limit * sizeof **out);
  if (*out == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "out of call memory");
  if (after == UINT64_MAX) return CCPAY_OK;
  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, STORE_DB_AUDIT, &c, error);
  if (err != CCPAY_OK) return err;
  uint8_t key[8];
  key_put_u64(key, after + 1);
  store_val k, v;
  bool found = store_cursor_seek(c, STORE_FORWARD, key, sizeof key, &k, &v);
  ProtobufCAllocator allocator = arena_protobuf_allocator(a);
  while (found && *count < limit) {
    Ccpay__V1__AuditRecord *r = ccpay__v1__audit_record__unpack(&allocator, v.len, v.data);
    if (k.len != 8 || r == NULL || (uint64_t)r->sequence != key_get_u64(k.data)) {
      err = ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record in audit");
      break;
    }
    (*out)[(*count)++] = r;
    found = store_cursor_step(c, STORE_FORWARD, &k, &v);
  }
  if (err == CCPAY_OK) err = store_cursor_error(c, error);
  store_cursor_close(c);
  return err;
}
