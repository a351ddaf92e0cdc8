/* List paging per AIP-158: page_size (0 means PAGE_SIZE_DEFAULT, at most PAGE_SIZE_MAX)
 * and an opaque page_token. A token is the hex of one byte naming the listing it belongs
 * to and the storage key to resume after; a token from another listing, or altered, is
 * refused with INVALID_ARGUMENT naming page_token. */
#ifndef CCPAY_SERVICES_PAGING_H
#define CCPAY_SERVICES_PAGING_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

/* The listing byte of every paged listing, in one place so that no two share one (a token
 * of one listing is then always refused by another). Never renumbered: tokens hold them. */
typedef enum paging_listing {
  LISTING_CUSTOMERS_ALL = 0x01,
  LISTING_CUSTOMERS_NAME_PREFIX = 0x02,
  LISTING_CUSTOMERS_EMAIL = 0x03,
  LISTING_CUSTOMERS_PHONE = 0x04,
  LISTING_ORDERS_ALL = 0x10,
  LISTING_ORDERS_STATUS = 0x11,
  LISTING_ORDERS_CUSTOMER = 0x12,
  LISTING_ORDERS_HOLD = 0x13,
  LISTING_ACCOUNT_POSTINGS = 0x20,
  LISTING_OPEN_TRANSACTIONS = 0x21,
  LISTING_TOKENS = 0x30,
  LISTING_RETURNS_ALL = 0x40,
  LISTING_RETURNS_CUSTOMER = 0x41,
  LISTING_RETURNS_ORDER = 0x42,
  LISTING_RETURNS_STATUS = 0x43,
  LISTING_OUT_OF_BALANCE = 0x50,
  LISTING_REFUND_CHECKS_ALL = 0x51,
  LISTING_REFUND_CHECKS_STATUS = 0x52,
} paging_listing;

ccpay_err paging_size(int32_t page_size, unsigned *out, ccpay_error *error);

/* An empty token gives *key = NULL, *key_len = 0. */
ccpay_err paging_decode(const char *token, uint8_t listing, arena *a, uint8_t **key,
                        size_t *key_len, ccpay_error *error);

/* The token for resuming after key, in arena a; "" when key is NULL (the last page).
 * NULL when the arena is exhausted. */
char *paging_encode(uint8_t listing, const uint8_t *key, size_t key_len, arena *a);

#endif
