/* Order, customer and ledger calls for integration tests: an order_draft builds the lines
 * and charges of a CreateOrder or UpdateOrderLines request without hand-wiring protobuf-c
 * pointers, and one small function per call fills a test_reply (no assertions here: the
 * test checks the reply, e.g. with assert_reply). Used by test_orders and
 * test_ledger_stream. */
#ifndef CCPAY_TESTS_SUPPORT_ORDER_CALLS_H
#define CCPAY_TESTS_SUPPORT_ORDER_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "test_client.h"

enum {
  /* One over the server's 200 lines, so a test can send too many. */
  ORDER_DRAFT_LINES_MAX = 201,
  ORDER_DRAFT_CHARGES_MAX = 11,
  TEST_ID_BYTES = 32, /* an id ("ord_" and 13 characters; cus_, inv_ too), with room */
};

/* An order being written. It points into itself: initialise it where it stays, and do not
 * copy it. Amounts are minor units of the draft's currency. */
typedef struct order_draft {
  Ccpay__V1__Order order; /* customer_id, currency_code, source_code, type, lines, charges */
  Ccpay__V1__OrderLine lines[ORDER_DRAFT_LINES_MAX];
  Ccpay__V1__OrderLine *line_ptrs[ORDER_DRAFT_LINES_MAX];
  Ccpay__V1__Money prices[ORDER_DRAFT_LINES_MAX];
  Ccpay__V1__Money discounts[ORDER_DRAFT_LINES_MAX];
  Ccpay__V1__Charge charges[ORDER_DRAFT_CHARGES_MAX];
  Ccpay__V1__Charge *charge_ptrs[ORDER_DRAFT_CHARGES_MAX];
  Ccpay__V1__Money charge_amounts[ORDER_DRAFT_CHARGES_MAX];
} order_draft;

/* A SALES order from source "WEB" for customer_id in currency_code, with no lines yet.
 * The strings are not copied. */
void order_draft_init(order_draft *d, const char *customer_id, const char *currency_code);

/* Adds a line (sku is not copied); aborts past ORDER_DRAFT_LINES_MAX. */
void order_draft_line(order_draft *d, const char *sku, int64_t quantity, int64_t unit_price,
                      int64_t discount, int32_t tax_rate_bp);

/* Adds a charge such as SHIPPING (code is not copied); aborts past ORDER_DRAFT_CHARGES_MAX. */
void order_draft_charge(order_draft *d, const char *code, int64_t amount, int32_t tax_rate_bp);

/* What shipped of one line, for InvoiceOrder. */
typedef struct ship_spec {
  int32_t line_number;
  int64_t quantity;
} ship_spec;

grpc_status_code call_create_customer(test_client *client, const char *request_id, const char *name,
                                      const char *currency_code, int32_t payment_terms_days,
                                      test_reply *r);
grpc_status_code call_get_customer(test_client *client, const char *id, test_reply *r);
grpc_status_code call_create_order(test_client *client, const char *request_id,
                                   const order_draft *d, test_reply *r);
grpc_status_code call_submit_order(test_client *client, const char *request_id,
                                   const char *order_id, test_reply *r);
/* InvoiceOrder with count ShipLines (at most ORDER_DRAFT_LINES_MAX). */
grpc_status_code call_invoice_order(test_client *client, const char *request_id,
                                    const char *order_id, const ship_spec *ship, size_t count,
                                    test_reply *r);
grpc_status_code call_list_entries(test_client *client, int64_t after_sequence, int32_t page_size,
                                   test_reply *r);
grpc_status_code call_get_trial_balance(test_client *client, test_reply *r);

/* The reply of an OK call as its type (NULL when the call failed). */
#define REPLY_AS(type, r) ((const type *)(r)->message)

#endif
