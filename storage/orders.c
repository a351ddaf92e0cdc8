/* Order and invoice records. STORE_DB_ORDERS and STORE_DB_INVOICES map the id (8 bytes,
 * big-endian) to the packed message. The order indexes hold "" under:
 *
 *   orders_by_status    status (1 byte) ++ ~id (8 bytes)
 *   orders_by_customer  customer id (8 bytes) ++ ~id (8 bytes)
 *   orders_by_hold      hold code ++ 0x00 ++ ~id (8 bytes), only while the order has a
 *                       hold with a non-empty code
 *
 * The complemented id makes a forward cursor meet the newest order of a group first;
 * the 0x00 ends the code so that "FRAUD" and "FRAUD_REVIEW" stay apart. */
#include "orders.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "ids.h"
#include "index_walk.h"
#include "keys.h"

enum {
  ORDER_ID_KEY_BYTES = 8,
  ORDER_STATUS_KEY_BYTES = 1 + 8,
  ORDER_CUSTOMER_KEY_BYTES = 8 + 8,
};

static const uint8_t order_empty = 0; /* index entries have empty values */

static const store_db order_index_dbs[] = {
    STORE_DB_ORDERS_BY_STATUS,
    STORE_DB_ORDERS_BY_CUSTOMER,
    STORE_DB_ORDERS_BY_HOLD,
};

/* The id an order or invoice record names: a record that does not carry a valid id is
 * a bug in the service that built it. */
static uint64_t order_parse_id(id_kind kind, const char *text) {
  CHECK(text != NULL);
  uint64_t id = 0;
  CHECK(id_parse(kind, text, &id));
  return id;
}

static bool order_has_hold(const Ccpay__V1__Order *o) {
  CHECK(o != NULL);
  return o->hold != NULL && o->hold->code != NULL && o->hold->code[0] != '\0';
}

bool orders_index_key(const Ccpay__V1__Order *o, uint64_t id, store_db db, key_builder *k) {
  CHECK(o != NULL && k != NULL);
  CHECK(id != 0);
  key_init(k);
  if (db == STORE_DB_ORDERS_BY_STATUS) {
    CHECK(o->status >= 0 && o->status <= UINT8_MAX); /* the key has one byte for it */
    uint8_t status = (uint8_t)o->status;
    key_add_bytes(k, &status, 1);
  } else if (db == STORE_DB_ORDERS_BY_CUSTOMER) {
    key_add_u64(k, order_parse_id(ID_CUSTOMER, o->customer_id));
  } else {
    CHECK(db == STORE_DB_ORDERS_BY_HOLD);
    if (!order_has_hold(o)) return false;
    key_add_str(k, o->hold->code);
  }
  key_add_u64(k, ~id);
  return true;
}

/* Moves order id's entry in index db from before's values (before NULL: a new order) to
 * after's; nothing when both call for the same key. */
static ccpay_err order_index_move(store_txn *txn, store_db db, const Ccpay__V1__Order *before,
                                  const Ccpay__V1__Order *after, uint64_t id, ccpay_error *error) {
  key_builder old_key, new_key;
  bool has_old = before != NULL && orders_index_key(before, id, db, &old_key);
  bool has_new = orders_index_key(after, id, db, &new_key);
  if ((has_old && old_key.overflow) || (has_new && new_key.overflow)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.hold.code is too long");
  }
  if (has_old && has_new && old_key.len == new_key.len &&
      memcmp(old_key.bytes, new_key.bytes, old_key.len) == 0) {
    return CCPAY_OK;
  }
  if (has_old) {
    ccpay_err err = store_delete(txn, db, old_key.bytes, old_key.len, error);
    if (err == CCPAY_ERR_NOT_FOUND) {
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "an order index misses an order");
    }
    if (err != CCPAY_OK) return err;
  }
  if (!has_new) return CCPAY_OK;
  return store_put(txn, db, new_key.bytes, new_key.len, &order_empty, 0, error);
}

/* A new order must not replace a stored one: its index entries would stay behind. */
static ccpay_err order_check_new(store_txn *txn, const uint8_t key[ORDER_ID_KEY_BYTES],
                                 const char *id_text, ccpay_error *error) {
  store_val existing;
  ccpay_err err = store_get(txn, STORE_DB_ORDERS, key, ORDER_ID_KEY_BYTES, &existing, error);
  if (err == CCPAY_ERR_NOT_FOUND) return CCPAY_OK;
  if (err != CCPAY_OK) return err;
  return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "order %s already exists", id_text);
}

ccpay_err orders_put(store_txn *txn, const Ccpay__V1__Order *before, const Ccpay__V1__Order *after,
                     ccpay_error *error) {
  CHECK(txn != NULL && after != NULL);
  uint64_t id = order_parse_id(ID_ORDER, after->id);
  (void)order_parse_id(ID_CUSTOMER, after->customer_id);
  CHECK(before == NULL || (before->id != NULL && strcmp(before->id, after->id) == 0));
  for (size_t i = 0; i < after->n_invoice_ids; i++) {
    (void)order_parse_id(ID_INVOICE, after->invoice_ids[i]);
  }
  uint8_t key[ORDER_ID_KEY_BYTES];
  key_put_u64(key, id);
  if (before == NULL) {
    ccpay_err err = order_check_new(txn, key, after->id, error);
    if (err != CCPAY_OK) return err;
  }
  ccpay_err err = store_put_message(txn, STORE_DB_ORDERS, key, sizeof key, &after->base, error);
  for (size_t i = 0; err == CCPAY_OK && i < sizeof order_index_dbs / sizeof *order_index_dbs; i++) {
    err = order_index_move(txn, order_index_dbs[i], before, after, id, error);
  }
  return err;
}

ccpay_err orders_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Order **out,
                     ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = id_get_record(txn, STORE_DB_ORDERS, ID_ORDER, id, &ccpay__v1__order__descriptor,
                                a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__Order *)message;
  return err;
}

/* --- Listing ---------------------------------------------------------------------------- */

/* Sets how one listing walks: which database, which way, and the bytes every key of the
 * listing starts with (none for ORDER_LIST_ALL). */
static ccpay_err order_walk_init(const order_query *query, index_walk *walk, ccpay_error *error) {
  CHECK(query->by >= ORDER_LIST_ALL && query->by <= ORDER_LIST_HOLD_CODE);
  key_init(&walk->prefix);
  walk->direction = STORE_FORWARD;
  if (query->by == ORDER_LIST_ALL) {
    walk->db = STORE_DB_ORDERS;
    walk->direction = STORE_BACKWARD; /* ids grow with time: newest first */
  } else if (query->by == ORDER_LIST_STATUS) {
    CHECK(query->status >= 0 && query->status <= UINT8_MAX);
    uint8_t status = (uint8_t)query->status;
    walk->db = STORE_DB_ORDERS_BY_STATUS;
    key_add_bytes(&walk->prefix, &status, 1);
  } else if (query->by == ORDER_LIST_CUSTOMER) {
    CHECK(query->customer_id != 0);
    walk->db = STORE_DB_ORDERS_BY_CUSTOMER;
    key_add_u64(&walk->prefix, query->customer_id);
  } else {
    CHECK(query->hold_code != NULL && query->hold_code[0] != '\0');
    walk->db = STORE_DB_ORDERS_BY_HOLD;
    key_add_str(&walk->prefix, query->hold_code); /* the code and its 0x00: exact */
  }
  if (walk->prefix.overflow) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "hold_code is too long");
  }
  return CCPAY_OK;
}

/* Whether key has the shape of an entry of the walk: its prefix, then the id. */
static bool order_walk_matches(const index_walk *walk, store_val key) {
  return index_walk_has_prefix(walk, key) && key.len == walk->prefix.len + ORDER_ID_KEY_BYTES;
}

/* The order id an entry of the walk names. The prefix ends the listing; inside it, a
 * key of another shape is corruption. */
static ccpay_err order_walk_id(const index_walk *walk, store_val key, uint64_t *id,
                               ccpay_error *error) {
  if (!order_walk_matches(walk, key)) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in an order index");
  }
  uint64_t tail = key_get_u64(key.data + walk->prefix.len);
  *id = walk->db == STORE_DB_ORDERS ? tail : ~tail;
  return CCPAY_OK;
}

/* Reads order id into slot of the page being filled (walk->context). */
static ccpay_err order_walk_load(const index_walk *walk, store_txn *txn, uint64_t id, arena *a,
                                 size_t slot, ccpay_error *error) {
  order_page *page = walk->context;
  CHECK(page != NULL && slot < walk->limit);
  return orders_get(txn, id, a, &page->orders[slot], error);
}

static const index_walk_ops order_walk_ops = {
    .listing = "listing",
    .record = "order",
    .token_ok = order_walk_matches,
    .entry_id = order_walk_id,
    .load = order_walk_load,
};

ccpay_err orders_list(store_txn *txn, const order_query *query, arena *a, order_page *out,
                      ccpay_error *error) {
  CHECK(txn != NULL && query != NULL && a != NULL && out != NULL);
  CHECK(query->limit >= 1 && query->limit <= PAGE_SIZE_MAX);
  CHECK(query->after_key != NULL || query->after_key_len == 0);
  memset(out, 0, sizeof *out);
  out->orders = arena_alloc(a, query->limit * sizeof *out->orders);
  if (out->orders == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  index_walk walk = {.after_key = query->after_key,
                     .after_key_len = query->after_key_len,
                     .limit = query->limit,
                     .ops = &order_walk_ops,
                     .context = out};
  ccpay_err err = order_walk_init(query, &walk, error);
  if (err != CCPAY_OK) return err;
  index_walk_page page;
  err = index_walk_read(txn, &walk, a, &page, error);
  out->count = page.count; /* all zero on an error */
  out->next_key = page.next_key;
  out->next_key_len = page.next_key_len;
  return err;
}

/* --- Invoices --------------------------------------------------------------------------- */

ccpay_err invoices_put(store_txn *txn, const Ccpay__V1__Invoice *invoice, ccpay_error *error) {
  CHECK(txn != NULL && invoice != NULL);
  uint64_t id = order_parse_id(ID_INVOICE, invoice->id);
  (void)order_parse_id(ID_ORDER, invoice->order_id);
  uint8_t key[ORDER_ID_KEY_BYTES];
  key_put_u64(key, id);
  /* Invoices are never rewritten: an existing one means an id was handed out twice. */
  store_val existing;
  ccpay_err err = store_get(txn, STORE_DB_INVOICES, key, sizeof key, &existing, error);
  if (err == CCPAY_OK) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "invoice %s already exists", invoice->id);
  }
  if (err != CCPAY_ERR_NOT_FOUND) return err;
  return store_put_message(txn, STORE_DB_INVOICES, key, sizeof key, &invoice->base, error);
}

ccpay_err invoices_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Invoice **out,
                       ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = id_get_record(txn, STORE_DB_INVOICES, ID_INVOICE, id,
                                &ccpay__v1__invoice__descriptor, a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__Invoice *)message;
  return err;
}
