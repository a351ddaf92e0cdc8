/* One page of a listing read by walking an index database (or a record database keyed
 * by id): the walk shared by customer searches and order listings. The caller owns the
 * key layout and the records; this module owns the cursor, the page token and paging.
 *
 * Contract:
 *  - The walk starts at the first entry in walk->direction from walk->prefix (FORWARD:
 *    the first key >= prefix; BACKWARD: the last key <= prefix, the last of all for an
 *    empty prefix), or strictly after walk->after_key when one is given, and goes on
 *    while keys start with walk->prefix.
 *  - after_key is a page token: ops->token_ok must accept it, else the page fails with
 *    CCPAY_ERR_FIELD_INVALID "page_token does not belong to this <ops->listing>". Its
 *    own entry may since have gone; the walk resumes at the next key either way.
 *  - Each entry up to walk->limit goes through ops->entry_id (key -> record id; its
 *    errors are passed on) and ops->load (reads the record into slot out->count of the
 *    caller's page, kept in walk->context). CCPAY_ERR_NOT_FOUND from load becomes
 *    CCPAY_ERR_STORAGE "index points at missing <ops->record>": an index entry without
 *    its record is corruption.
 *  - out->next_key is set only when one more matching entry exists after a full page:
 *    a copy, in arena a, of the key of the last entry returned, to pass back as
 *    after_key. Otherwise it is NULL.
 *  - Errors: as above; CCPAY_ERR_LIMIT_EXCEEDED when arena a runs out (for next_key);
 *    CCPAY_ERR_STORAGE from the cursor. On any error out is all zero (records already
 *    loaded into the caller's slots stay in the arena, unused).
 * Threads: as the transaction (one thread at a time). */
#ifndef CCPAY_STORAGE_INDEX_WALK_H
#define CCPAY_STORAGE_INDEX_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "keys.h"
#include "store.h"

typedef struct index_walk index_walk;

/* What one kind of listing knows about its keys and records. */
typedef struct index_walk_ops {
  const char *listing; /* names the listing in the page_token error: "search", "listing" */
  const char *record;  /* names the record in the missing-record error: "order" */
  /* Whether after is a key this walk could return, prefix included. */
  bool (*token_ok)(const index_walk *walk, store_val after);
  /* The record id the entry under key names; CCPAY_ERR_STORAGE for a corrupt key. */
  ccpay_err (*entry_id)(const index_walk *walk, store_val key, uint64_t *id, ccpay_error *error);
  /* Reads record id into slot of the caller's page (walk->context), in arena a. */
  ccpay_err (*load)(const index_walk *walk, store_txn *txn, uint64_t id, arena *a, size_t slot,
                    ccpay_error *error);
} index_walk_ops;

struct index_walk {
  store_db db;
  store_direction direction;
  key_builder prefix;       /* every key of the listing starts with it; may be empty */
  const uint8_t *after_key; /* resume strictly after this key (a page token); NULL: start */
  size_t after_key_len;
  unsigned limit; /* 1..PAGE_SIZE_MAX records at most */
  const index_walk_ops *ops;
  void *context; /* the caller's page, for ops->load */
};

typedef struct index_walk_page {
  size_t count;      /* records loaded, into slots 0..count-1 */
  uint8_t *next_key; /* in arena a, only when more follow; else NULL */
  size_t next_key_len;
} index_walk_page;

/* Reads one page as the contract above says. */
ccpay_err index_walk_read(store_txn *txn, const index_walk *walk, arena *a, index_walk_page *out,
                          ccpay_error *error);

/* Whether key starts with walk->prefix. */
bool index_walk_has_prefix(const index_walk *walk, store_val key);

#endif
