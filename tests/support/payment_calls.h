/* Payment calls for integration tests, in the style of order_calls.h: one small function
 * per call, filling a test_reply (no assertions here). */
#ifndef CCPAY_TESTS_SUPPORT_PAYMENT_CALLS_H
#define CCPAY_TESTS_SUPPORT_PAYMENT_CALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "ccpay/v1/payment.pb-c.h"
#include "test_client.h"

/* AddPayment of a card held by processor, with token (e.g. "pm_card_visa"), last4 4242,
 * expiry 12/2030, and postal_code (NULL: none). */
grpc_status_code call_add_card(test_client *client, const char *request_id, const char *order_id,
                               const char *processor, const char *token, const char *holder_name,
                               const char *postal_code, const char *currency, int64_t amount,
                               test_reply *r);

/* AddPayment of a check with check_number. */
grpc_status_code call_add_check(test_client *client, const char *request_id, const char *order_id,
                                const char *check_number, const char *currency, int64_t amount,
                                test_reply *r);

/* AddPayment of a tender ccpay takes itself (CHECK, CASH, ACH, GIFT_CARD_EXTERNAL,
 * CUSTOMER_ACCOUNT), with check_number or reference (NULL: none). */
grpc_status_code call_add_tender(test_client *client, const char *request_id, const char *order_id,
                                 Ccpay__V1__TenderType tender, const char *reference,
                                 const char *currency, int64_t amount, test_reply *r);

grpc_status_code call_get_payment(test_client *client, const char *payment_id, test_reply *r);

grpc_status_code call_list_transactions(test_client *client, const char *payment_id, test_reply *r);

/* Every open (PENDING or UNKNOWN) transaction, first page of up to 100. */
grpc_status_code call_list_open_transactions(test_client *client, test_reply *r);

/* amount 0: the rest (capture) or everything left (refund). */
grpc_status_code call_capture(test_client *client, const char *request_id, const char *payment_id,
                              const char *currency, int64_t amount, bool final_capture,
                              test_reply *r);
grpc_status_code call_void(test_client *client, const char *request_id, const char *payment_id,
                           test_reply *r);
grpc_status_code call_refund(test_client *client, const char *request_id, const char *payment_id,
                             const char *currency, int64_t amount, test_reply *r);
grpc_status_code call_sync_transaction(test_client *client, const char *transaction_id,
                                       test_reply *r);
grpc_status_code call_cancel_order(test_client *client, const char *request_id,
                                   const char *order_id, test_reply *r);

#endif
