/* Record builders and arena fixtures shared by unit and integration tests.
 *
 * Contract: every builder allocates from the arena it is given and returns a message
 * initialised with its protobuf-c init and then filled in; strings passed in are
 * referenced, not copied (they must outlive the arena's use). Builders never return NULL:
 * arena exhaustion is a test bug and aborts through CHECK. No cmocka: the fixtures only
 * have cmocka's setup/teardown signature. */
#ifndef CCPAY_TESTS_TEST_RECORDS_H
#define CCPAY_TESTS_TEST_RECORDS_H

#include <stdint.h>

#include "base/arena.h"
#include "ccpay/v1/common.pb-c.h"
#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "storage/ids.h"

/* Setup: *state = a fresh arena of CALL_ARENA_BYTES_MAX; -1 when it cannot be made. */
int test_records_arena_setup(void **state);

/* Teardown: destroys the arena in *state; returns 0. */
int test_records_arena_teardown(void **state);

/* Money of amount minor units in currency. */
Ccpay__V1__Money *test_records_money(arena *a, const char *currency, int64_t amount);

/* The text id of kind and value, e.g. "ord_...", copied into a. */
char *test_records_id(arena *a, id_kind kind, uint64_t value);

/* A USD customer with id ID_CUSTOMER id and the given name, email and phone. */
Ccpay__V1__Customer *test_records_customer(arena *a, uint64_t id, const char *name,
                                           const char *email, const char *phone);

/* A USD order from source CAT1, of customer `customer` in status, held with hold_code
 * (the hold's other fields left at their defaults) unless hold_code is NULL. */
Ccpay__V1__Order *test_records_order(arena *a, uint64_t id, uint64_t customer,
                                     Ccpay__V1__OrderStatus status, const char *hold_code);

/* A USD payment of amount on order `order` of customer `customer`, as AddPayment leaves
 * it: every running amount (authorized, captured, refunded, released, pending_capture,
 * pending_refund) 0 in USD, no transactions, no open transaction. A CARD holds a
 * "stripe" token card and is NEW; a CHECK (check number "1001") or CASH is RECEIVED
 * (set authorized, captured and entry_sequence as posting it does). */
Ccpay__V1__Payment *test_records_payment(arena *a, uint64_t id, uint64_t order, uint64_t customer,
                                         Ccpay__V1__TenderType tender, int64_t amount);

/* A "stripe" transaction of kind in state for amount USD, of payment `payment` on order
 * `order`, posting nothing (entry_sequence 0). */
Ccpay__V1__Transaction *test_records_transaction(arena *a, uint64_t id, uint64_t payment,
                                                 uint64_t order, Ccpay__V1__TransactionKind kind,
                                                 Ccpay__V1__TransactionState state, int64_t amount);

#endif
