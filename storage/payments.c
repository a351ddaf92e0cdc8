#include "payments.h"

#include <string.h>

#include "base/check.h"
#include "ids.h"
#include "keys.h"

static uint64_t parse_id_or_die(id_kind kind, const char *text) {
  uint64_t id = 0;
  CHECK(text != NULL && id_parse(kind, text, &id));
  return id;
}

/* A record about to be created must not exist: an overwrite would lose history. */
static ccpay_err check_absent(store_txn *txn, store_db db, const uint8_t key[8], const char *id,
                              ccpay_error *error) {
  store_val old;
  ccpay_err rc = store_get(txn, db, key, 8, &old, error);
  if (rc == CCPAY_OK) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "%s exists already", id);
  return rc == CCPAY_ERR_NOT_FOUND ? CCPAY_OK : rc;
}

ccpay_err payments_put(store_txn *txn, const Ccpay__V1__Payment *p, bool is_new,
                       ccpay_error *error) {
  CHECK(txn != NULL && p != NULL);
  uint64_t id = parse_id_or_die(ID_PAYMENT, p->id);
  /* A refund-only card (an unlinked refund) belongs to its return. */
  (void)parse_id_or_die(p->refund_only ? ID_RETURN : ID_ORDER, p->order_id);
  for (size_t i = 0; i < p->n_transaction_ids; i++) {
    (void)parse_id_or_die(ID_TXN, p->transaction_ids[i]);
  }
  uint8_t key[8];
  key_put_u64(key, id);
  if (is_new) {
    ccpay_err rc = check_absent(txn, STORE_DB_PAYMENTS, key, p->id, error);
    if (rc != CCPAY_OK) return rc;
  }
  return store_put_message(txn, STORE_DB_PAYMENTS, key, sizeof key, &p->base, error);
}

ccpay_err payments_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Payment **out,
                       ccpay_error *error) {
  ProtobufCMessage *m = NULL;
  ccpay_err rc = id_get_record(txn, STORE_DB_PAYMENTS, ID_PAYMENT, id,
                               &ccpay__v1__payment__descriptor, a, &m, error);
  if (rc == CCPAY_OK) *out = (Ccpay__V1__Payment *)m;
  return rc;
}

bool transaction_state_open(Ccpay__V1__TransactionState state) {
  return state == CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_PENDING ||
         state == CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_UNKNOWN;
}

ccpay_err transactions_put(store_txn *txn, const Ccpay__V1__Transaction *t, bool is_new,
                           ccpay_error *error) {
  CHECK(txn != NULL && t != NULL);
  uint64_t id = parse_id_or_die(ID_TXN, t->id);
  (void)parse_id_or_die(ID_PAYMENT, t->payment_id);
  uint8_t key[8];
  key_put_u64(key, id);
  if (is_new) {
    ccpay_err rc = check_absent(txn, STORE_DB_TRANSACTIONS, key, t->id, error);
    if (rc != CCPAY_OK) return rc;
  }
  ccpay_err rc = store_put_message(txn, STORE_DB_TRANSACTIONS, key, sizeof key, &t->base, error);
  if (rc != CCPAY_OK) return rc;
  if (transaction_state_open(t->state)) {
    return store_put(txn, STORE_DB_TRANSACTIONS_OPEN, key, sizeof key, "", 0, error);
  }
  rc = store_delete(txn, STORE_DB_TRANSACTIONS_OPEN, key, sizeof key, error);
  return rc == CCPAY_ERR_NOT_FOUND ? CCPAY_OK : rc;
}

ccpay_err transactions_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Transaction **out,
                           ccpay_error *error) {
  ProtobufCMessage *m = NULL;
  ccpay_err rc = id_get_record(txn, STORE_DB_TRANSACTIONS, ID_TXN, id,
                               &ccpay__v1__transaction__descriptor, a, &m, error);
  if (rc == CCPAY_OK) *out = (Ccpay__V1__Transaction *)m;
  return rc;
}

ccpay_err transactions_open_list(store_txn *txn, uint64_t after_id, uint64_t *ids, size_t limit,
                                 size_t *count, ccpay_error *error) {
  CHECK(ids != NULL && count != NULL && limit > 0);
  *count = 0;
  store_cursor *c = NULL;
  ccpay_err rc = store_cursor_open(txn, STORE_DB_TRANSACTIONS_OPEN, &c, error);
  if (rc != CCPAY_OK) return rc;
  uint8_t start[8];
  key_put_u64(start, after_id == UINT64_MAX ? after_id : after_id + 1);
  store_val k;
  bool more = store_cursor_seek(c, STORE_FORWARD, start, sizeof start, &k, NULL);
  while (more && *count < limit) {
    if (k.len != 8) {
      store_cursor_close(c);
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt open-transaction key");
    }
    ids[(*count)++] = key_get_u64(k.data);
    more = store_cursor_step(c, STORE_FORWARD, &k, NULL);
  }
  rc = store_cursor_error(c, error);
  store_cursor_close(c);
  return rc;
}
