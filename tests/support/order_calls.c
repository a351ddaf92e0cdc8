#include "order_calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUSTOMER_SERVICE "/ccpay.v1.CustomerService/"
#define ORDER_SERVICE "/ccpay.v1.OrderService/"
#define LEDGER_SERVICE "/ccpay.v1.LedgerService/"

static void money_set(Ccpay__V1__Money *m, const char *currency_code, int64_t amount) {
  ccpay__v1__money__init(m);
  m->currency_code = (char *)currency_code;
  m->amount_minor = amount;
}

void order_draft_init(order_draft *d, const char *customer_id, const char *currency_code) {
  memset(d, 0, sizeof *d);
  ccpay__v1__order__init(&d->order);
  d->order.customer_id = (char *)customer_id;
  d->order.currency_code = (char *)currency_code;
  d->order.source_code = "WEB";
  d->order.type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_SALES;
  d->order.lines = d->line_ptrs;
  d->order.charges = d->charge_ptrs;
}

void order_draft_line(order_draft *d, const char *sku, int64_t quantity, int64_t unit_price,
                      int64_t discount, int32_t tax_rate_bp) {
  size_t i = d->order.n_lines;
  if (i >= ORDER_DRAFT_LINES_MAX) {
    fprintf(stderr, "order_draft: more than %d lines\n", ORDER_DRAFT_LINES_MAX);
    abort();
  }
  Ccpay__V1__OrderLine *line = &d->lines[i];
  ccpay__v1__order_line__init(line);
  line->sku = (char *)sku;
  line->quantity = quantity;
  money_set(&d->prices[i], d->order.currency_code, unit_price);
  money_set(&d->discounts[i], d->order.currency_code, discount);
  line->unit_price = &d->prices[i];
  line->line_discount = &d->discounts[i];
  line->tax_rate_bp = tax_rate_bp;
  d->line_ptrs[i] = line;
  d->order.n_lines = i + 1;
}

void order_draft_charge(order_draft *d, const char *code, int64_t amount, int32_t tax_rate_bp) {
  size_t i = d->order.n_charges;
  if (i >= ORDER_DRAFT_CHARGES_MAX) {
    fprintf(stderr, "order_draft: more than %d charges\n", ORDER_DRAFT_CHARGES_MAX);
    abort();
  }
  Ccpay__V1__Charge *charge = &d->charges[i];
  ccpay__v1__charge__init(charge);
  charge->code = (char *)code;
  money_set(&d->charge_amounts[i], d->order.currency_code, amount);
  charge->amount = &d->charge_amounts[i];
  charge->tax_rate_bp = tax_rate_bp;
  d->charge_ptrs[i] = charge;
  d->order.n_charges = i + 1;
}

grpc_status_code call_create_customer(test_client *client, const char *request_id, const char *name,
                                      const char *currency_code, int32_t payment_terms_days,
                                      test_reply *r) {
  Ccpay__V1__Customer customer = CCPAY__V1__CUSTOMER__INIT;
  customer.name = (char *)name;
  customer.currency_code = (char *)currency_code;
  customer.payment_terms_days = payment_terms_days;
  Ccpay__V1__CreateCustomerRequest request = CCPAY__V1__CREATE_CUSTOMER_REQUEST__INIT;
  request.customer = &customer;
  request.request_id = (char *)request_id;
  return test_client_call(client, CUSTOMER_SERVICE "CreateCustomer", &request.base,
                          &ccpay__v1__customer__descriptor, 0, r);
}

grpc_status_code call_get_customer(test_client *client, const char *id, test_reply *r) {
  Ccpay__V1__GetCustomerRequest request = CCPAY__V1__GET_CUSTOMER_REQUEST__INIT;
  request.id = (char *)id;
  return test_client_call(client, CUSTOMER_SERVICE "GetCustomer", &request.base,
                          &ccpay__v1__customer__descriptor, 0, r);
}

grpc_status_code call_create_order(test_client *client, const char *request_id,
                                   const order_draft *d, test_reply *r) {
  Ccpay__V1__CreateOrderRequest request = CCPAY__V1__CREATE_ORDER_REQUEST__INIT;
  request.order = (Ccpay__V1__Order *)&d->order;
  request.request_id = (char *)request_id;
  return test_client_call(client, ORDER_SERVICE "CreateOrder", &request.base,
                          &ccpay__v1__order__descriptor, 0, r);
}

grpc_status_code call_submit_order(test_client *client, const char *request_id,
                                   const char *order_id, test_reply *r) {
  Ccpay__V1__SubmitOrderRequest request = CCPAY__V1__SUBMIT_ORDER_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.request_id = (char *)request_id;
  return test_client_call(client, ORDER_SERVICE "SubmitOrder", &request.base,
                          &ccpay__v1__order__descriptor, 0, r);
}

grpc_status_code call_invoice_order(test_client *client, const char *request_id,
                                    const char *order_id, const ship_spec *ship, size_t count,
                                    test_reply *r) {
  if (count > ORDER_DRAFT_LINES_MAX) abort();
  Ccpay__V1__ShipLine lines[ORDER_DRAFT_LINES_MAX];
  Ccpay__V1__ShipLine *pointers[ORDER_DRAFT_LINES_MAX];
  for (size_t i = 0; i < count; i++) {
    ccpay__v1__ship_line__init(&lines[i]);
    lines[i].line_number = ship[i].line_number;
    lines[i].quantity = ship[i].quantity;
    pointers[i] = &lines[i];
  }
  Ccpay__V1__InvoiceOrderRequest request = CCPAY__V1__INVOICE_ORDER_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.lines = pointers;
  request.n_lines = count;
  request.request_id = (char *)request_id;
  return test_client_call(client, ORDER_SERVICE "InvoiceOrder", &request.base,
                          &ccpay__v1__invoice_order_response__descriptor, 0, r);
}

grpc_status_code call_list_entries(test_client *client, int64_t after_sequence, int32_t page_size,
                                   test_reply *r) {
  Ccpay__V1__ListEntriesRequest request = CCPAY__V1__LIST_ENTRIES_REQUEST__INIT;
  request.after_sequence = after_sequence;
  request.page_size = page_size;
  return test_client_call(client, LEDGER_SERVICE "ListEntries", &request.base,
                          &ccpay__v1__list_entries_response__descriptor, 0, r);
}

grpc_status_code call_get_trial_balance(test_client *client, test_reply *r) {
  Ccpay__V1__GetTrialBalanceRequest request = CCPAY__V1__GET_TRIAL_BALANCE_REQUEST__INIT;
  return test_client_call(client, LEDGER_SERVICE "GetTrialBalance", &request.base,
                          &ccpay__v1__trial_balance__descriptor, 0, r);
}
