/* Order and invoice records, and the order indexes: by status, by customer and by hold
 * code (held orders only: the hold screen). Every index walks newest first. The order
 * record is the ccpay.v1.Order message as the service last wrote it, totals included. */
#ifndef CCPAY_STORAGE_ORDERS_H
#define CCPAY_STORAGE_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/order.pb-c.h"
#include "keys.h"
#include "store.h"

/* Write transaction only. Stores after (its id, customer_id and invoice_ids must parse)
 * and moves its index entries from before's status, customer and hold code to after's;
 * before is NULL for a new order, which must not exist yet (CCPAY_ERR_INTERNAL if it
 * does: its old index entries would stay behind). */
ccpay_err orders_put(store_txn *txn, const Ccpay__V1__Order *before, const Ccpay__V1__Order *after,
                     ccpay_error *error);

/* Reads the order with id into arena a; CCPAY_ERR_NOT_FOUND (error filled, naming the
 * id) when there is none. */
ccpay_err orders_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Order **out,
                     ccpay_error *error);

typedef enum order_list_by {
  ORDER_LIST_ALL,       /* every order */
  ORDER_LIST_STATUS,    /* orders in one status */
  ORDER_LIST_CUSTOMER,  /* orders of one customer */
  ORDER_LIST_HOLD_CODE, /* orders held with one hold code */
} order_list_by;

typedef struct order_query {
  order_list_by by;
  Ccpay__V1__OrderStatus status; /* ORDER_LIST_STATUS */
  uint64_t customer_id;          /* ORDER_LIST_CUSTOMER */
  const char *hold_code;         /* ORDER_LIST_HOLD_CODE */
  const uint8_t *after_key;      /* resume strictly after this index key; NULL: start */
  size_t after_key_len;
  unsigned limit; /* 1..PAGE_SIZE_MAX */
} order_query;

typedef struct order_page {
  Ccpay__V1__Order **orders; /* in arena a, newest first */
  size_t count;
  uint8_t *next_key; /* set only when more follow; pass back as after_key */
  size_t next_key_len;
} order_page;

/* Errors: CCPAY_ERR_FIELD_INVALID when after_key is not a key of this listing;
 * CCPAY_ERR_LIMIT_EXCEEDED when arena a runs out; CCPAY_ERR_STORAGE. */
ccpay_err orders_list(store_txn *txn, const order_query *query, arena *a, order_page *out,
                      ccpay_error *error);

/* Write transaction only. Stores a new invoice (id and order_id must parse); one that
 * exists already is CCPAY_ERR_INTERNAL (invoices are never rewritten). */
ccpay_err invoices_put(store_txn *txn, const Ccpay__V1__Invoice *invoice, ccpay_error *error);

/* Reads an invoice; CCPAY_ERR_NOT_FOUND (error filled) when there is none. */
ccpay_err invoices_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Invoice **out,
                       ccpay_error *error);

/* For verify (storage-internal): the entry order o, whose id is id, calls for in index
 * db (STORE_DB_ORDERS_BY_STATUS, _BY_CUSTOMER or _BY_HOLD; o->customer_id must parse),
 * built into k as orders_put builds it. False when o has none there (orders_by_hold for
 * an order not on hold). When true, k->overflow says the key would not fit. */
bool orders_index_key(const Ccpay__V1__Order *o, uint64_t id, store_db db, key_builder *k);

#endif
