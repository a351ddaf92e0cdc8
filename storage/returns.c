#include "returns.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "ids.h"
#include "index_walk.h"

enum { RETURN_ID_KEY_BYTES = 8 };

static const uint8_t returns_empty = 0; /* index entries have empty values */
static const char parameters_key[] = "parameters";
static const char override_code_key[] = "override_code";

static uint64_t returns_parse_id(id_kind kind, const char *text) {
  CHECK(text != NULL);
  uint64_t id = 0;
  CHECK(id_parse(kind, text, &id));
  return id;
}

static bool has_original(const Ccpay__V1__ReturnOrder *r) {
  return r->original_order_id != NULL && r->original_order_id[0] != '\0';
}

static void key_add_status(key_builder *k, int status) {
  CHECK(status >= 0 && status <= UINT8_MAX); /* one byte of key */
  uint8_t byte = (uint8_t)status;
  key_add_bytes(k, &byte, 1);
}

bool returns_index_key(const Ccpay__V1__ReturnOrder *r, uint64_t id, store_db db, key_builder *k) {
  CHECK(r != NULL && k != NULL && id != 0);
  key_init(k);
  if (db == STORE_DB_RETURNS_BY_CUSTOMER) {
    key_add_u64(k, returns_parse_id(ID_CUSTOMER, r->customer_id));
  } else if (db == STORE_DB_RETURNS_BY_ORDER) {
    if (!has_original(r)) return false;
    key_add_u64(k, returns_parse_id(ID_ORDER, r->original_order_id));
  } else {
    CHECK(db == STORE_DB_RETURNS_BY_STATUS);
    key_add_status(k, r->status);
  }
  key_add_u64(k, ~id);
  return true;
}

/* Moves an index entry from old_key (NULL: none) to new_key (NULL: none). */
static ccpay_err index_move(store_txn *txn, store_db db, const key_builder *old_key,
                            const key_builder *new_key, ccpay_error *error) {
  CHECK((old_key == NULL || !old_key->overflow) && (new_key == NULL || !new_key->overflow));
  if (old_key != NULL && new_key != NULL && old_key->len == new_key->len &&
      memcmp(old_key->bytes, new_key->bytes, old_key->len) == 0) {
    return CCPAY_OK;
  }
  if (old_key != NULL) {
    ccpay_err err = store_delete(txn, db, old_key->bytes, old_key->len, error);
    if (err == CCPAY_ERR_NOT_FOUND) {
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "an index misses its record");
    }
    if (err != CCPAY_OK) return err;
  }
  if (new_key == NULL) return CCPAY_OK;
  return store_put(txn, db, new_key->bytes, new_key->len, &returns_empty, 0, error);
}

/* A new record must not replace a stored one: its index entries would stay behind. */
static ccpay_err check_new(store_txn *txn, store_db db, const uint8_t *key, const char *id_text,
                           ccpay_error *error) {
  store_val existing;
  ccpay_err err = store_get(txn, db, key, RETURN_ID_KEY_BYTES, &existing, error);
  if (err == CCPAY_ERR_NOT_FOUND) return CCPAY_OK;
  if (err != CCPAY_OK) return err;
  return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "%s already exists", id_text);
}

static const store_db return_index_dbs[] = {
    STORE_DB_RETURNS_BY_CUSTOMER,
    STORE_DB_RETURNS_BY_ORDER,
    STORE_DB_RETURNS_BY_STATUS,
};

ccpay_err returns_put(store_txn *txn, const Ccpay__V1__ReturnOrder *before,
                      const Ccpay__V1__ReturnOrder *after, ccpay_error *error) {
  CHECK(txn != NULL && after != NULL);
  uint64_t id = returns_parse_id(ID_RETURN, after->id);
  CHECK(before == NULL || strcmp(before->id, after->id) == 0);
  if (after->replacement_order_id[0] != '\0') {
    (void)returns_parse_id(ID_ORDER, after->replacement_order_id);
  }
  uint8_t key[RETURN_ID_KEY_BYTES];
  key_put_u64(key, id);
  ccpay_err err =
      before == NULL ? check_new(txn, STORE_DB_RETURNS, key, after->id, error) : CCPAY_OK;
  if (err == CCPAY_OK) {
    err = store_put_message(txn, STORE_DB_RETURNS, key, sizeof key, &after->base, error);
  }
  for (size_t i = 0; err == CCPAY_OK && i < sizeof return_index_dbs / sizeof *return_index_dbs;
       i++) {
    key_builder old_key, new_key;
    store_db db = return_index_dbs[i];
    bool has_old = before != NULL && returns_index_key(before, id, db, &old_key);
    bool has_new = returns_index_key(after, id, db, &new_key);
    err = index_move(txn, db, has_old ? &old_key : NULL, has_new ? &new_key : NULL, error);
  }
  return err;
}

ccpay_err returns_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__ReturnOrder **out,
                      ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = id_get_record(txn, STORE_DB_RETURNS, ID_RETURN, id,
                                &ccpay__v1__return_order__descriptor, a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__ReturnOrder *)message;
  return err;
}

/* --- Listing ---------------------------------------------------------------------------- */

static void return_walk_init(const return_query *q, index_walk *walk) {
  key_init(&walk->prefix);
  walk->direction = STORE_FORWARD;
  switch (q->by) {
    case RETURN_LIST_ALL:
      walk->db = STORE_DB_RETURNS;
      walk->direction = STORE_BACKWARD; /* ids grow with time: newest first */
      return;
    case RETURN_LIST_CUSTOMER:
    case RETURN_LIST_ORDER:
      CHECK(q->id != 0);
      walk->db =
          q->by == RETURN_LIST_CUSTOMER ? STORE_DB_RETURNS_BY_CUSTOMER : STORE_DB_RETURNS_BY_ORDER;
      key_add_u64(&walk->prefix, q->id);
      return;
    case RETURN_LIST_STATUS:
      walk->db = STORE_DB_RETURNS_BY_STATUS;
      key_add_status(&walk->prefix, q->status);
      return;
  }
  CHECK(false && "unknown listing");
}

static bool return_walk_matches(const index_walk *walk, store_val key) {
  return index_walk_has_prefix(walk, key) && key.len == walk->prefix.len + RETURN_ID_KEY_BYTES;
}

static ccpay_err return_walk_id(const index_walk *walk, store_val key, uint64_t *id,
                                ccpay_error *error) {
  if (!return_walk_matches(walk, key)) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in a return index");
  }
  uint64_t tail = key_get_u64(key.data + walk->prefix.len);
  *id = walk->db == STORE_DB_RETURNS ? tail : ~tail;
  return CCPAY_OK;
}

static ccpay_err return_walk_load(const index_walk *walk, store_txn *txn, uint64_t id, arena *a,
                                  size_t slot, ccpay_error *error) {
  return_page *page = walk->context;
  CHECK(page != NULL && slot < walk->limit);
  return returns_get(txn, id, a, &page->returns[slot], error);
}

static const index_walk_ops return_walk_ops = {
    .listing = "listing",
    .record = "return",
    .token_ok = return_walk_matches,
    .entry_id = return_walk_id,
    .load = return_walk_load,
};

/* One page of a listing: walk has its database, direction, prefix, ops and page (context)
 * set; the slots its load fills are the caller's. The page's end goes to the out fields. */
static ccpay_err read_listing(store_txn *txn, index_walk *walk, const uint8_t *after_key,
                              size_t after_key_len, unsigned limit, arena *a, size_t *count,
                              uint8_t **next_key, size_t *next_key_len, ccpay_error *error) {
  CHECK(limit >= 1 && limit <= PAGE_SIZE_MAX);
  walk->after_key = after_key;
  walk->after_key_len = after_key_len;
  walk->limit = limit;
  index_walk_page page;
  ccpay_err err = index_walk_read(txn, walk, a, &page, error);
  *count = page.count;
  *next_key = page.next_key;
  *next_key_len = page.next_key_len;
  return err;
}

ccpay_err returns_list(store_txn *txn, const return_query *query, arena *a, return_page *out,
                       ccpay_error *error) {
  CHECK(txn != NULL && query != NULL && a != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  out->returns = arena_alloc(a, query->limit * sizeof *out->returns);
  if (out->returns == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  index_walk walk = {.limit = query->limit, .ops = &return_walk_ops, .context = out};
  return_walk_init(query, &walk);
  return read_listing(txn, &walk, query->after_key, query->after_key_len, query->limit, a,
                      &out->count, &out->next_key, &out->next_key_len, error);
}

/* --- Refund checks ---------------------------------------------------------------------- */

bool refund_checks_index_key(const Ccpay__V1__RefundCheck *c, uint64_t id, store_db db,
                             key_builder *k) {
  CHECK(c != NULL && k != NULL && id != 0 && db == STORE_DB_REFUND_CHECKS_BY_STATUS);
  key_init(k);
  key_add_status(k, c->status);
  key_add_u64(k, ~id);
  return true;
}

ccpay_err refund_checks_put(store_txn *txn, const Ccpay__V1__RefundCheck *before,
                            const Ccpay__V1__RefundCheck *after, ccpay_error *error) {
  CHECK(txn != NULL && after != NULL);
  uint64_t id = returns_parse_id(ID_REFUND_CHECK, after->id);
  (void)returns_parse_id(ID_CUSTOMER, after->customer_id);
  CHECK(before == NULL || strcmp(before->id, after->id) == 0);
  uint8_t key[RETURN_ID_KEY_BYTES];
  key_put_u64(key, id);
  ccpay_err err =
      before == NULL ? check_new(txn, STORE_DB_REFUND_CHECKS, key, after->id, error) : CCPAY_OK;
  if (err == CCPAY_OK) {
    err = store_put_message(txn, STORE_DB_REFUND_CHECKS, key, sizeof key, &after->base, error);
  }
  key_builder old_key, new_key;
  if (before != NULL)
    (void)refund_checks_index_key(before, id, STORE_DB_REFUND_CHECKS_BY_STATUS, &old_key);
  (void)refund_checks_index_key(after, id, STORE_DB_REFUND_CHECKS_BY_STATUS, &new_key);
  if (err == CCPAY_OK) {
    err = index_move(txn, STORE_DB_REFUND_CHECKS_BY_STATUS, before != NULL ? &old_key : NULL,
                     &new_key, error);
  }
  return err;
}

ccpay_err refund_checks_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__RefundCheck **out,
                            ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = id_get_record(txn, STORE_DB_REFUND_CHECKS, ID_REFUND_CHECK, id,
                                &ccpay__v1__refund_check__descriptor, a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__RefundCheck *)message;
  return err;
}

static ccpay_err refund_check_walk_load(const index_walk *walk, store_txn *txn, uint64_t id,
                                        arena *a, size_t slot, ccpay_error *error) {
  refund_check_page *page = walk->context;
  CHECK(page != NULL && slot < walk->limit);
  return refund_checks_get(txn, id, a, &page->checks[slot], error);
}

static ccpay_err refund_check_walk_id(const index_walk *walk, store_val key, uint64_t *id,
                                      ccpay_error *error) {
  if (!return_walk_matches(walk, key)) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in a refund check index");
  }
  uint64_t tail = key_get_u64(key.data + walk->prefix.len);
  *id = walk->db == STORE_DB_REFUND_CHECKS ? tail : ~tail;
  return CCPAY_OK;
}

static const index_walk_ops refund_check_walk_ops = {
    .listing = "listing",
    .record = "refund check",
    .token_ok = return_walk_matches,
    .entry_id = refund_check_walk_id,
    .load = refund_check_walk_load,
};

ccpay_err refund_checks_list(store_txn *txn, const refund_check_query *query, arena *a,
                             refund_check_page *out, ccpay_error *error) {
  CHECK(txn != NULL && query != NULL && a != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  out->checks = arena_alloc(a, query->limit * sizeof *out->checks);
  if (out->checks == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  index_walk walk = {.limit = query->limit, .ops = &refund_check_walk_ops, .context = out};
  key_init(&walk.prefix);
  walk.direction = STORE_FORWARD;
  if (query->status == 0) {
    walk.db = STORE_DB_REFUND_CHECKS;
    walk.direction = STORE_BACKWARD;
  } else {
    walk.db = STORE_DB_REFUND_CHECKS_BY_STATUS;
    key_add_status(&walk.prefix, query->status);
  }
  return read_listing(txn, &walk, query->after_key, query->after_key_len, query->limit, a,
                      &out->count, &out->next_key, &out->next_key_len, error);
}

/* --- Parameters and the override code --------------------------------------------------- */

ccpay_err parameters_get(store_txn *txn, arena *a, Ccpay__V1__Parameters **out,
                         ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = store_get_message(txn, STORE_DB_META, parameters_key, sizeof parameters_key - 1,
                                    &ccpay__v1__parameters__descriptor, a, &message, error);
  if (err == CCPAY_OK) {
    *out = (Ccpay__V1__Parameters *)message;
    return CCPAY_OK;
  }
  if (err != CCPAY_ERR_NOT_FOUND) return err;
  Ccpay__V1__Parameters *p = arena_alloc(a, sizeof *p);
  if (p == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "out of memory");
  ccpay__v1__parameters__init(p);
  *out = p;
  return CCPAY_OK;
}

ccpay_err parameters_put(store_txn *txn, const Ccpay__V1__Parameters *p, ccpay_error *error) {
  CHECK(txn != NULL && p != NULL && p->version >= 1);
  return store_put_message(txn, STORE_DB_META, parameters_key, sizeof parameters_key - 1, &p->base,
                           error);
}

ccpay_err override_code_get(store_txn *txn, arena *a, Ccpay__V1__OverrideCodeRecord **out,
                            ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err =
      store_get_message(txn, STORE_DB_META, override_code_key, sizeof override_code_key - 1,
                        &ccpay__v1__override_code_record__descriptor, a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__OverrideCodeRecord *)message;
  return err;
}

ccpay_err override_code_put(store_txn *txn, const Ccpay__V1__OverrideCodeRecord *r,
                            ccpay_error *error) {
  CHECK(txn != NULL && r != NULL && r->salt.len > 0 && r->hash.len > 0 && r->iterations > 0);
  return store_put_message(txn, STORE_DB_META, override_code_key, sizeof override_code_key - 1,
                           &r->base, error);
}
