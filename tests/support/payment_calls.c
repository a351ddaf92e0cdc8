#include "payment_calls.h"

#include "ccpay/v1/order.pb-c.h"

#define PAYMENT_SERVICE "/ccpay.v1.PaymentService/"
#define ORDER_SERVICE "/ccpay.v1.OrderService/"

static grpc_status_code add_payment(test_client *client, const char *request_id,
                                    const char *order_id, Ccpay__V1__Payment *p,
                                    const char *currency, int64_t amount, test_reply *r) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = (char *)currency;
  m.amount_minor = amount;
  p->amount = &m;
  Ccpay__V1__AddPaymentRequest req = CCPAY__V1__ADD_PAYMENT_REQUEST__INIT;
  req.order_id = (char *)order_id;
  req.payment = p;
  req.request_id = (char *)request_id;
  return test_client_call(client, ORDER_SERVICE "AddPayment", &req.base,
                          &ccpay__v1__payment__descriptor, 0, r);
}

grpc_status_code call_add_card(test_client *client, const char *request_id, const char *order_id,
                               const char *processor, const char *token, const char *holder_name,
                               const char *postal_code, const char *currency, int64_t amount,
                               test_reply *r) {
  Ccpay__V1__CardDetails card = CCPAY__V1__CARD_DETAILS__INIT;
  card.processor = (char *)processor;
  card.token = (char *)token;
  card.brand = "visa";
  card.last4 = "4242";
  card.exp_month = 12;
  card.exp_year = 2030;
  card.holder_name = holder_name != NULL ? (char *)holder_name : "";
  card.postal_code = postal_code != NULL ? (char *)postal_code : "";
  Ccpay__V1__Payment p = CCPAY__V1__PAYMENT__INIT;
  p.tender_type = CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD;
  p.card = &card;
  return add_payment(client, request_id, order_id, &p, currency, amount, r);
}

grpc_status_code call_add_check(test_client *client, const char *request_id, const char *order_id,
                                const char *check_number, const char *currency, int64_t amount,
                                test_reply *r) {
  return call_add_tender(client, request_id, order_id, CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK,
                         check_number, currency, amount, r);
}

grpc_status_code call_add_tender(test_client *client, const char *request_id, const char *order_id,
                                 Ccpay__V1__TenderType tender, const char *reference,
                                 const char *currency, int64_t amount, test_reply *r) {
  Ccpay__V1__Payment p = CCPAY__V1__PAYMENT__INIT;
  p.tender_type = tender;
  if (tender == CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK) {
    p.check_number = reference != NULL ? (char *)reference : "";
  } else {
    p.reference = reference != NULL ? (char *)reference : "";
  }
  return add_payment(client, request_id, order_id, &p, currency, amount, r);
}

grpc_status_code call_get_payment(test_client *client, const char *payment_id, test_reply *r) {
  Ccpay__V1__GetPaymentRequest req = CCPAY__V1__GET_PAYMENT_REQUEST__INIT;
  req.id = (char *)payment_id;
  return test_client_call(client, PAYMENT_SERVICE "GetPayment", &req.base,
                          &ccpay__v1__payment__descriptor, 0, r);
}

grpc_status_code call_list_transactions(test_client *client, const char *payment_id,
                                        test_reply *r) {
  Ccpay__V1__ListTransactionsRequest req = CCPAY__V1__LIST_TRANSACTIONS_REQUEST__INIT;
  req.payment_id = (char *)payment_id;
  return test_client_call(client, PAYMENT_SERVICE "ListTransactions", &req.base,
                          &ccpay__v1__list_transactions_response__descriptor, 0, r);
}

grpc_status_code call_list_open_transactions(test_client *client, test_reply *r) {
  Ccpay__V1__ListTransactionsRequest req = CCPAY__V1__LIST_TRANSACTIONS_REQUEST__INIT;
  req.open_only = true;
  req.page_size = 100;
  return test_client_call(client, PAYMENT_SERVICE "ListTransactions", &req.base,
                          &ccpay__v1__list_transactions_response__descriptor, 0, r);
}

grpc_status_code call_capture(test_client *client, const char *request_id, const char *payment_id,
                              const char *currency, int64_t amount, bool final_capture,
                              test_reply *r) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = (char *)currency;
  m.amount_minor = amount;
  Ccpay__V1__CapturePaymentRequest req = CCPAY__V1__CAPTURE_PAYMENT_REQUEST__INIT;
  req.payment_id = (char *)payment_id;
  req.amount = amount > 0 ? &m : NULL;
  req.final_capture = final_capture;
  req.request_id = (char *)request_id;
  return test_client_call(client, PAYMENT_SERVICE "Capture", &req.base,
                          &ccpay__v1__payment__descriptor, 0, r);
}

grpc_status_code call_void(test_client *client, const char *request_id, const char *payment_id,
                           test_reply *r) {
  Ccpay__V1__VoidPaymentRequest req = CCPAY__V1__VOID_PAYMENT_REQUEST__INIT;
  req.payment_id = (char *)payment_id;
  req.request_id = (char *)request_id;
  return test_client_call(client, PAYMENT_SERVICE "Void", &req.base,
                          &ccpay__v1__payment__descriptor, 0, r);
}

grpc_status_code call_refund(test_client *client, const char *request_id, const char *payment_id,
                             const char *currency, int64_t amount, test_reply *r) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = (char *)currency;
  m.amount_minor = amount;
  Ccpay__V1__RefundPaymentRequest req = CCPAY__V1__REFUND_PAYMENT_REQUEST__INIT;
  req.payment_id = (char *)payment_id;
  req.amount = amount > 0 ? &m : NULL;
  req.reason = "customer returned the goods";
  req.request_id = (char *)request_id;
  return test_client_call(client, PAYMENT_SERVICE "Refund", &req.base,
                          &ccpay__v1__payment__descriptor, 0, r);
}

grpc_status_code call_sync_transaction(test_client *client, const char *transaction_id,
                                       test_reply *r) {
  Ccpay__V1__SyncTransactionRequest req = CCPAY__V1__SYNC_TRANSACTION_REQUEST__INIT;
  req.transaction_id = (char *)transaction_id;
  return test_client_call(client, PAYMENT_SERVICE "SyncTransaction", &req.base,
                          &ccpay__v1__transaction__descriptor, 0, r);
}

grpc_status_code call_cancel_order(test_client *client, const char *request_id,
                                   const char *order_id, test_reply *r) {
  Ccpay__V1__CancelOrderRequest req = CCPAY__V1__CANCEL_ORDER_REQUEST__INIT;
  req.order_id = (char *)order_id;
  req.reason = "customer changed their mind";
  req.request_id = (char *)request_id;
  return test_client_call(client, ORDER_SERVICE "CancelOrder", &req.base,
                          &ccpay__v1__order__descriptor, 0, r);
}
