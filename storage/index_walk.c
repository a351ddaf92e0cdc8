/* The index walk behind customer searches and order listings: see index_walk.h. */
#include "index_walk.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"

bool index_walk_has_prefix(const index_walk *walk, store_val key) {
  CHECK(walk != NULL);
  return key.len >= walk->prefix.len && memcmp(key.data, walk->prefix.bytes, walk->prefix.len) == 0;
}

/* Positions c at the first entry of the page: strictly after walk->after_key when given
 * (a page token must come from the same listing), else at the start. */
static ccpay_err index_walk_start(const index_walk *walk, store_cursor *c, bool *found,
                                  store_val *key, ccpay_error *error) {
  if (walk->after_key == NULL) {
    *found = store_cursor_seek(c, walk->direction, walk->prefix.bytes, walk->prefix.len, key, NULL);
    return CCPAY_OK;
  }
  store_val after = {walk->after_key, walk->after_key_len};
  if (!walk->ops->token_ok(walk, after)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "page_token does not belong to this %s",
                           walk->ops->listing);
  }
  *found = store_cursor_seek(c, walk->direction, after.data, after.len, key, NULL);
  /* Resume strictly after the token's entry, which may since have gone. */
  if (*found && key->len == after.len && memcmp(key->data, after.data, after.len) == 0) {
    *found = store_cursor_step(c, walk->direction, key, NULL);
  }
  return CCPAY_OK;
}

/* Loads the record the entry under key names into slot out->count. */
static ccpay_err index_walk_load(store_txn *txn, const index_walk *walk, store_val key, arena *a,
                                 index_walk_page *out, ccpay_error *error) {
  uint64_t id = 0;
  ccpay_err err = walk->ops->entry_id(walk, key, &id, error);
  if (err != CCPAY_OK) return err;
  err = walk->ops->load(walk, txn, id, a, out->count, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "index points at missing %s",
                           walk->ops->record);
  }
  return err;
}

/* Copies the key of the last record returned into out->next_key. */
static ccpay_err index_walk_next_key(store_val last_key, arena *a, index_walk_page *out,
                                     ccpay_error *error) {
  CHECK(last_key.data != NULL && last_key.len > 0);
  out->next_key = arena_alloc(a, last_key.len);
  if (out->next_key == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  memcpy(out->next_key, last_key.data, last_key.len);
  out->next_key_len = last_key.len;
  return CCPAY_OK;
}

/* Reads the page the cursor is at into out. */
static ccpay_err index_walk_collect(store_txn *txn, const index_walk *walk, store_cursor *c,
                                    bool found, store_val key, arena *a, index_walk_page *out,
                                    ccpay_error *error) {
  store_val last_key = {NULL, 0};
  bool more = false;
  for (; found && index_walk_has_prefix(walk, key);
       found = store_cursor_step(c, walk->direction, &key, NULL)) {
    if (out->count == walk->limit) {
      more = true; /* one more match exists: the page gets a next_key */
      break;
    }
    ccpay_err err = index_walk_load(txn, walk, key, a, out, error);
    if (err != CCPAY_OK) return err;
    out->count++;
    last_key = key;
  }
  /* An error never reads as the end of the listing. */
  if (!found) {
    ccpay_err err = store_cursor_error(c, error);
    if (err != CCPAY_OK) return err;
  }
  CHECK(out->count <= walk->limit);
  return more ? index_walk_next_key(last_key, a, out, error) : CCPAY_OK;
}

ccpay_err index_walk_read(store_txn *txn, const index_walk *walk, arena *a, index_walk_page *out,
                          ccpay_error *error) {
  CHECK(txn != NULL && walk != NULL && a != NULL && out != NULL);
  CHECK(walk->ops != NULL && walk->ops->token_ok != NULL && walk->ops->entry_id != NULL &&
        walk->ops->load != NULL);
  CHECK(walk->limit >= 1 && walk->limit <= PAGE_SIZE_MAX);
  CHECK(walk->after_key != NULL || walk->after_key_len == 0);
  CHECK(!walk->prefix.overflow); /* the caller reports an overlong prefix itself */
  memset(out, 0, sizeof *out);

  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, walk->db, &c, error);
  if (err != CCPAY_OK) return err;
  bool found = false;
  store_val key = {NULL, 0};
  err = index_walk_start(walk, c, &found, &key, error);
  if (err == CCPAY_OK) err = index_walk_collect(txn, walk, c, found, key, a, out, error);
  store_cursor_close(c);
  if (err != CCPAY_OK) memset(out, 0, sizeof *out);
  return err;
}
