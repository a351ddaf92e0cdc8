/* Customer records: STORE_DB_CUSTOMERS maps the id (8 bytes, big-endian) to the packed
 * ccpay.v1.Customer. Each index entry is normalized value, 0x00, ~id (8 bytes,
 * big-endian) -> "": a forward cursor meets equal values newest first, and the 0x00
 * ends the value so "ann" sorts before "anna" and an exact match is a prefix match on
 * "value\0". Names are always indexed; empty emails and phones are not. */
#include "customers.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "ids.h"
#include "index_walk.h"
#include "keys.h"

typedef enum customer_index {
  CUSTOMER_INDEX_NAME,
  CUSTOMER_INDEX_EMAIL,
  CUSTOMER_INDEX_PHONE,
  CUSTOMER_INDEX_COUNT
} customer_index;

static const struct {
  store_db db;
  const char *field;
} customer_indexes[CUSTOMER_INDEX_COUNT] = {
    [CUSTOMER_INDEX_NAME] = {STORE_DB_CUSTOMERS_BY_NAME, "name"},
    [CUSTOMER_INDEX_EMAIL] = {STORE_DB_CUSTOMERS_BY_EMAIL, "email"},
    [CUSTOMER_INDEX_PHONE] = {STORE_DB_CUSTOMERS_BY_PHONE, "phone"},
};

enum { CUSTOMER_ID_KEY_BYTES = 8 };

static const uint8_t customer_empty = 0; /* index entries have empty values */

static const char *customer_field(const Ccpay__V1__Customer *c, customer_index index) {
  CHECK(c != NULL);
  CHECK(index >= 0 && index < CUSTOMER_INDEX_COUNT);
  const char *value = index == CUSTOMER_INDEX_NAME    ? c->name
                      : index == CUSTOMER_INDEX_EMAIL ? c->email
                                                      : c->phone;
  return value != NULL ? value : ""; /* protobuf-c's default is "", but be lenient */
}

/* Appends value as the index compares it: ASCII letters in lower case for names and
 * emails (other bytes, UTF-8 included, as they are); only the digits of a phone, so
 * "+1 (555) 010-0000" and "15550100000" meet. */
static void customer_normalize(customer_index index, const char *value, key_builder *k) {
  CHECK(value != NULL && k != NULL);
  for (const char *p = value; *p != '\0'; p++) {
    uint8_t ch = (uint8_t)*p;
    if (index == CUSTOMER_INDEX_PHONE) {
      if (ch >= '0' && ch <= '9') key_add_bytes(k, &ch, 1);
      continue;
    }
    if (ch >= 'A' && ch <= 'Z') ch = (uint8_t)(ch - 'A' + 'a');
    key_add_bytes(k, &ch, 1);
  }
}

/* Builds the index entry of value for customer id into k; false when there is none
 * (an email or phone that normalizes to nothing). Check k->overflow after. */
static bool customer_index_key(customer_index index, const char *value, uint64_t id,
                               key_builder *k) {
  key_init(k);
  customer_normalize(index, value, k);
  if (k->len == 0 && !k->overflow && index != CUSTOMER_INDEX_NAME) return false;
  key_add_bytes(k, &customer_empty, 1);
  key_add_u64(k, ~id);
  return true;
}

/* Moves customer id's entry in one index from old_value (NULL for a new customer) to
 * new_value; nothing when both normalize the same. */
static ccpay_err customer_index_move(store_txn *txn, customer_index index, const char *old_value,
                                     const char *new_value, uint64_t id, ccpay_error *error) {
  store_db db = customer_indexes[index].db;
  key_builder old_key, new_key;
  bool has_old = old_value != NULL && customer_index_key(index, old_value, id, &old_key);
  bool has_new = customer_index_key(index, new_value, id, &new_key);
  if ((has_old && old_key.overflow) || (has_new && new_key.overflow)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "customer.%s is too long to index",
                           customer_indexes[index].field);
  }
  if (has_old && has_new && old_key.len == new_key.len &&
      memcmp(old_key.bytes, new_key.bytes, old_key.len) == 0) {
    return CCPAY_OK;
  }
  if (has_old) {
    ccpay_err err = store_delete(txn, db, old_key.bytes, old_key.len, error);
    if (err == CCPAY_ERR_NOT_FOUND) {
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "index by %s misses a customer",
                             customer_indexes[index].field);
    }
    if (err != CCPAY_OK) return err;
  }
  if (!has_new) return CCPAY_OK;
  return store_put(txn, db, new_key.bytes, new_key.len, &customer_empty, 0, error);
}

ccpay_err customers_put(store_txn *txn, const Ccpay__V1__Customer *before,
                        const Ccpay__V1__Customer *after, ccpay_error *error) {
  CHECK(txn != NULL && after != NULL && after->id != NULL);
  uint64_t id = 0;
  CHECK(id_parse(ID_CUSTOMER, after->id, &id));
  CHECK(before == NULL || (before->id != NULL && strcmp(before->id, after->id) == 0));

  /* The balance comes from the ledger on every read; storing it would only let it go
   * stale. A shallow copy without it is enough for packing. */
  Ccpay__V1__Customer stored = *after;
  stored.balance = NULL;
  uint8_t key[CUSTOMER_ID_KEY_BYTES];
  key_put_u64(key, id);
  ccpay_err err = store_put_message(txn, STORE_DB_CUSTOMERS, key, sizeof key, &stored.base, error);
  if (err != CCPAY_OK) return err;

  for (int i = 0; i < CUSTOMER_INDEX_COUNT; i++) {
    customer_index index = (customer_index)i;
    const char *old_value = before != NULL ? customer_field(before, index) : NULL;
    err = customer_index_move(txn, index, old_value, customer_field(after, index), id, error);
    if (err != CCPAY_OK) return err;
  }
  return CCPAY_OK;
}

bool customers_index_key(const Ccpay__V1__Customer *c, uint64_t id, store_db db, key_builder *k) {
  CHECK(c != NULL && k != NULL);
  for (int i = 0; i < CUSTOMER_INDEX_COUNT; i++) {
    if (customer_indexes[i].db != db) continue;
    customer_index index = (customer_index)i;
    return customer_index_key(index, customer_field(c, index), id, k);
  }
  CHECK(!"db is a customer index");
  return false;
}

ccpay_err customers_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Customer **out,
                        ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = id_get_record(txn, STORE_DB_CUSTOMERS, ID_CUSTOMER, id,
                                &ccpay__v1__customer__descriptor, a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__Customer *)message;
  return err;
}

/* --- Search ----------------------------------------------------------------------------- */

/* Sets how one search walks: which database, which way, and the bytes every matching
 * key starts with (none for CUSTOMER_SEARCH_ALL). */
static ccpay_err customer_walk_init(const customer_query *query, index_walk *walk,
                                    ccpay_error *error) {
  key_init(&walk->prefix);
  if (query->by == CUSTOMER_SEARCH_ALL) {
    walk->db = STORE_DB_CUSTOMERS;
    walk->direction = STORE_BACKWARD; /* ids grow with time: newest first */
    return CCPAY_OK;
  }
  static const customer_index search_indexes[] = {
      [CUSTOMER_SEARCH_NAME_PREFIX] = CUSTOMER_INDEX_NAME,
      [CUSTOMER_SEARCH_EMAIL] = CUSTOMER_INDEX_EMAIL,
      [CUSTOMER_SEARCH_PHONE] = CUSTOMER_INDEX_PHONE,
  };
  CHECK(query->by > CUSTOMER_SEARCH_ALL && query->by <= CUSTOMER_SEARCH_PHONE);
  CHECK(query->value != NULL);
  customer_index index = search_indexes[query->by];
  walk->db = customer_indexes[index].db;
  walk->direction = STORE_FORWARD;
  customer_normalize(index, query->value, &walk->prefix);
  /* An exact match includes the terminator; a name prefix must not. */
  if (index != CUSTOMER_INDEX_NAME) key_add_bytes(&walk->prefix, &customer_empty, 1);
  if (walk->prefix.overflow) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "the %s to search for is too long",
                           customer_indexes[index].field);
  }
  return CCPAY_OK;
}

/* Whether a page token could be a key of this search: the prefix and something after
 * it (the id, 8 bytes exactly in the customers database). */
static bool customer_walk_token_ok(const index_walk *walk, store_val after) {
  return after.len > walk->prefix.len && after.len <= STORE_KEY_BYTES_MAX &&
         index_walk_has_prefix(walk, after) &&
         (walk->db != STORE_DB_CUSTOMERS || after.len == CUSTOMER_ID_KEY_BYTES);
}

/* The customer id an entry of the walk names. */
static ccpay_err customer_walk_id(const index_walk *walk, store_val key, uint64_t *id,
                                  ccpay_error *error) {
  if (walk->db == STORE_DB_CUSTOMERS) {
    if (key.len != CUSTOMER_ID_KEY_BYTES) {
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in customers");
    }
    *id = key_get_u64(key.data);
    return CCPAY_OK;
  }
  /* value, 0x00, ~id: at least the terminator and the id, and all of the prefix. */
  if (key.len < CUSTOMER_ID_KEY_BYTES + 1 || key.len < walk->prefix.len + CUSTOMER_ID_KEY_BYTES ||
      key.data[key.len - CUSTOMER_ID_KEY_BYTES - 1] != 0) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in a customer index");
  }
  *id = ~key_get_u64(key.data + key.len - CUSTOMER_ID_KEY_BYTES);
  return CCPAY_OK;
}

/* Reads customer id into slot of the page being filled (walk->context). */
static ccpay_err customer_walk_load(const index_walk *walk, store_txn *txn, uint64_t id, arena *a,
                                    size_t slot, ccpay_error *error) {
  customer_page *page = walk->context;
  CHECK(page != NULL && slot < walk->limit);
  return customers_get(txn, id, a, &page->customers[slot], error);
}

static const index_walk_ops customer_walk_ops = {
    .listing = "search",
    .record = "customer",
    .token_ok = customer_walk_token_ok,
    .entry_id = customer_walk_id,
    .load = customer_walk_load,
};

ccpay_err customers_search(store_txn *txn, const customer_query *query, arena *a,
                           customer_page *out, ccpay_error *error) {
  CHECK(txn != NULL && query != NULL && a != NULL && out != NULL);
  CHECK(query->limit >= 1 && query->limit <= PAGE_SIZE_MAX);
  CHECK(query->after_key != NULL || query->after_key_len == 0);
  memset(out, 0, sizeof *out);
  out->customers = arena_alloc(a, query->limit * sizeof *out->customers);
  if (out->customers == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  index_walk walk = {.after_key = query->after_key,
                     .after_key_len = query->after_key_len,
                     .limit = query->limit,
                     .ops = &customer_walk_ops,
                     .context = out};
  ccpay_err err = customer_walk_init(query, &walk, error);
  if (err != CCPAY_OK) return err;
  index_walk_page page;
  err = index_walk_read(txn, &walk, a, &page, error);
  out->count = page.count; /* all zero on an error */
  out->next_key = page.next_key;
  out->next_key_len = page.next_key_len;
  return err;
}
