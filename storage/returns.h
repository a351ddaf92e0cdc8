/* Return orders and refund checks, with their indexes, and the business parameters.
 *
 *   returns                 id BE -> ccpay.v1.ReturnOrder
 *   returns_by_customer     customer id BE ++ ~id BE -> ""
 *   returns_by_order        original order id BE ++ ~id BE -> "" (returns with an order)
 *   returns_by_status       status (1 byte) ++ ~id BE -> ""
 *   refund_checks           id BE -> ccpay.v1.RefundCheck
 *   refund_checks_by_status status (1 byte) ++ ~id BE -> ""
 *   meta "parameters"       ccpay.v1.Parameters (absent: every default)
 *   meta "override_code"    ccpay.v1.OverrideCodeRecord (absent: no code set)
 *
 * Index entries move in the same transaction as their record; every listing walks
 * newest first. */
#ifndef CCPAY_STORAGE_RETURNS_H
#define CCPAY_STORAGE_RETURNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "keys.h"
#include "store.h"

/* Write transaction only. Stores after (its id, customer_id and original_order_id must
 * parse) and moves its index entries from before's values; before is NULL for a new
 * return, which must not exist yet (CCPAY_ERR_INTERNAL). */
ccpay_err returns_put(store_txn *txn, const Ccpay__V1__ReturnOrder *before,
                      const Ccpay__V1__ReturnOrder *after, ccpay_error *error);

/* Reads the return with id into arena a; CCPAY_ERR_NOT_FOUND (error filled) when absent. */
ccpay_err returns_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__ReturnOrder **out,
                      ccpay_error *error);

typedef enum return_list_by {
  RETURN_LIST_ALL,
  RETURN_LIST_CUSTOMER,
  RETURN_LIST_ORDER,
  RETURN_LIST_STATUS,
} return_list_by;

typedef struct return_query {
  return_list_by by;
  uint64_t id;                    /* RETURN_LIST_CUSTOMER, RETURN_LIST_ORDER */
  Ccpay__V1__ReturnStatus status; /* RETURN_LIST_STATUS */
  const uint8_t *after_key;       /* a page token's key; NULL: from the start */
  size_t after_key_len;
  unsigned limit; /* 1..PAGE_SIZE_MAX */
} return_query;

typedef struct return_page {
  Ccpay__V1__ReturnOrder **returns; /* in arena a, newest first */
  size_t count;
  uint8_t *next_key; /* only when more follow */
  size_t next_key_len;
} return_page;

/* Errors: CCPAY_ERR_FIELD_INVALID for a token of another listing;
 * CCPAY_ERR_LIMIT_EXCEEDED; CCPAY_ERR_STORAGE. */
ccpay_err returns_list(store_txn *txn, const return_query *query, arena *a, return_page *out,
                       ccpay_error *error);

typedef struct refund_check_query {
  Ccpay__V1__RefundCheckStatus status; /* 0: every status */
  const uint8_t *after_key;
  size_t after_key_len;
  unsigned limit; /* 1..PAGE_SIZE_MAX */
} refund_check_query;

typedef struct refund_check_page {
  Ccpay__V1__RefundCheck **checks; /* newest first */
  size_t count;
  uint8_t *next_key;
  size_t next_key_len;
} refund_check_page;

/* Refund checks, newest first, of one status or all. Errors as returns_list. */
ccpay_err refund_checks_list(store_txn *txn, const refund_check_query *query, arena *a,
                             refund_check_page *out, ccpay_error *error);

/* Write transaction only. Stores a refund check and moves its status index entry;
 * before is NULL for a new one. */
ccpay_err refund_checks_put(store_txn *txn, const Ccpay__V1__RefundCheck *before,
                            const Ccpay__V1__RefundCheck *after, ccpay_error *error);

ccpay_err refund_checks_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__RefundCheck **out,
                            ccpay_error *error);

/* The business parameters as stored, or a fresh message with every default (version 0)
 * when none were ever set. */
ccpay_err parameters_get(store_txn *txn, arena *a, Ccpay__V1__Parameters **out, ccpay_error *error);

/* Write transaction only. */
ccpay_err parameters_put(store_txn *txn, const Ccpay__V1__Parameters *p, ccpay_error *error);

/* The override code's record; CCPAY_ERR_NOT_FOUND when no code was ever set. */
ccpay_err override_code_get(store_txn *txn, arena *a, Ccpay__V1__OverrideCodeRecord **out,
                            ccpay_error *error);

/* Write transaction only. */
ccpay_err override_code_put(store_txn *txn, const Ccpay__V1__OverrideCodeRecord *r,
                            ccpay_error *error);

/* For verify: the key refund check c (id) has in index db (refund_checks_by_status). */
bool refund_checks_index_key(const Ccpay__V1__RefundCheck *c, uint64_t id, store_db db,
                             key_builder *k);

/* For verify: the key return r (id) has in index db (false when it has none there:
 * returns_by_order for a return with no original order). */
bool returns_index_key(const Ccpay__V1__ReturnOrder *r, uint64_t id, store_db db, key_builder *k);

#endif
