/* Customer records and their indexes (by name, email and phone). The record is the
 * ccpay.v1.Customer message; balance is not stored (it comes from the ledger). Index
 * keys use normalized values: ASCII lower case for name and email, digits only for
 * phone, so searches ignore case and punctuation. */
#ifndef CCPAY_STORAGE_CUSTOMERS_H
#define CCPAY_STORAGE_CUSTOMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/customer.pb-c.h"
#include "keys.h"
#include "store.h"

/* Write transaction only. Stores after (after->id must parse as a customer id) and
 * moves its index entries from before's values to after's; before is NULL for a new
 * customer. */
ccpay_err customers_put(store_txn *txn, const Ccpay__V1__Customer *before,
                        const Ccpay__V1__Customer *after, ccpay_error *error);

/* Reads the customer with id into arena a. CCPAY_ERR_NOT_FOUND when there is none
 * (error filled, naming the id). */
ccpay_err customers_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Customer **out,
                        ccpay_error *error);

typedef enum customer_search_by {
  CUSTOMER_SEARCH_ALL,         /* every customer, newest first */
  CUSTOMER_SEARCH_NAME_PREFIX, /* by normalized name, then newest first */
  CUSTOMER_SEARCH_EMAIL,       /* exact normalized email, newest first */
  CUSTOMER_SEARCH_PHONE,       /* exact normalized phone, newest first */
} customer_search_by;

typedef struct customer_query {
  customer_search_by by;
  const char *value;        /* the name prefix, email or phone as the caller gave it */
  const uint8_t *after_key; /* resume after this index key (a page token); NULL: start */
  size_t after_key_len;
  unsigned limit; /* 1..PAGE_SIZE_MAX */
} customer_query;

typedef struct customer_page {
  Ccpay__V1__Customer **customers; /* in arena a */
  size_t count;
  /* When more follow: the index key of the last customer returned (in arena a), to pass
   * back as after_key; NULL at the end. */
  uint8_t *next_key;
  size_t next_key_len;
} customer_page;

ccpay_err customers_search(store_txn *txn, const customer_query *query, arena *a,
                           customer_page *out, ccpay_error *error);

/* For verify (storage-internal): the entry that customer c, whose id is id, calls for
 * in index db (STORE_DB_CUSTOMERS_BY_NAME, _BY_EMAIL or _BY_PHONE), built into k as
 * customers_put builds it. False when the value is not indexed (an email or phone that
 * normalizes to nothing). When true, k->overflow says the key would not fit. */
bool customers_index_key(const Ccpay__V1__Customer *c, uint64_t id, store_db db, key_builder *k);

#endif
