/* ccpay.v1.OrderService and the ledger it posts to, against the real ccpayd: an order's
 * whole life with the ledger checked after every step, a zero-exponent currency, partial
 * cancellation, cancelling orders, refused input that changes nothing, idempotent retries,
 * listings, and a bounded random walk over every order action whose books must balance
 * and pass `ccpay-admin verify` afterwards. Each test runs its own ccpayd on a fresh data
 * directory, so counts and sequences are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpayd_fixture.h"
#include "order_calls.h"
#include "test_client.h"

#define ORDER_SERVICE "/ccpay.v1.OrderService/"
#define LEDGER_SERVICE "/ccpay.v1.LedgerService/"

enum {
  SECONDS_PER_DAY = 86400,
  TERMS_DAYS = 30,
  LISTING_PAGES_MAX = 100, /* a listing that pages longer than this is broken */
  TOKEN_BYTES = 2048,
  VERIFY_OUTPUT_BYTES = 8192,
};

/* --- Calls this file alone makes ------------------------------------------------------ */

static grpc_status_code order_call(test_client *client, const char *method,
                                   const ProtobufCMessage *request, test_reply *r) {
  char name[96];
  snprintf(name, sizeof name, ORDER_SERVICE "%s", method);
  return test_client_call(client, name, request, &ccpay__v1__order__descriptor, 0, r);
}

static grpc_status_code get_order(test_client *client, const char *id, test_reply *r) {
  Ccpay__V1__GetOrderRequest request = CCPAY__V1__GET_ORDER_REQUEST__INIT;
  request.id = (char *)id;
  return order_call(client, "GetOrder", &request.base, r);
}

static grpc_status_code calculate_order(test_client *client, const char *id, test_reply *r) {
  Ccpay__V1__CalculateOrderRequest request = CCPAY__V1__CALCULATE_ORDER_REQUEST__INIT;
  request.order_id = (char *)id;
  return test_client_call(client, ORDER_SERVICE "CalculateOrder", &request.base,
                          &ccpay__v1__order_totals__descriptor, 0, r);
}

static grpc_status_code update_lines(test_client *client, const char *request_id,
                                     const char *order_id, const order_draft *d, test_reply *r) {
  Ccpay__V1__UpdateOrderLinesRequest request = CCPAY__V1__UPDATE_ORDER_LINES_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.lines = d->order.lines;
  request.n_lines = d->order.n_lines;
  request.charges = d->order.charges;
  request.n_charges = d->order.n_charges;
  request.request_id = (char *)request_id;
  return order_call(client, "UpdateOrderLines", &request.base, r);
}

static grpc_status_code hold_order(test_client *client, const char *request_id,
                                   const char *order_id, const char *code, test_reply *r) {
  Ccpay__V1__HoldOrderRequest request = CCPAY__V1__HOLD_ORDER_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.hold_code = (char *)code;
  request.reason = "needs a look";
  request.request_id = (char *)request_id;
  return order_call(client, "HoldOrder", &request.base, r);
}

static grpc_status_code release_hold(test_client *client, const char *request_id,
                                     const char *order_id, test_reply *r) {
  Ccpay__V1__ReleaseHoldRequest request = CCPAY__V1__RELEASE_HOLD_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.request_id = (char *)request_id;
  return order_call(client, "ReleaseHold", &request.base, r);
}

static grpc_status_code cancel_order(test_client *client, const char *request_id,
                                     const char *order_id, test_reply *r) {
  Ccpay__V1__CancelOrderRequest request = CCPAY__V1__CANCEL_ORDER_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.reason = "customer changed their mind";
  request.request_id = (char *)request_id;
  return order_call(client, "CancelOrder", &request.base, r);
}

static grpc_status_code cancel_lines(test_client *client, const char *request_id,
                                     const char *order_id, const int32_t *lines, size_t count,
                                     test_reply *r) {
  Ccpay__V1__CancelLinesRequest request = CCPAY__V1__CANCEL_LINES_REQUEST__INIT;
  request.order_id = (char *)order_id;
  request.line_numbers = (int32_t *)lines;
  request.n_line_numbers = count;
  request.reason = "out of stock";
  request.request_id = (char *)request_id;
  return order_call(client, "CancelLines", &request.base, r);
}

static grpc_status_code get_invoice(test_client *client, const char *id, test_reply *r) {
  Ccpay__V1__GetInvoiceRequest request = CCPAY__V1__GET_INVOICE_REQUEST__INIT;
  request.id = (char *)id;
  return test_client_call(client, ORDER_SERVICE "GetInvoice", &request.base,
                          &ccpay__v1__invoice__descriptor, 0, r);
}

static grpc_status_code list_orders(test_client *client,
                                    const Ccpay__V1__ListOrdersRequest *request, test_reply *r) {
  return test_client_call(client, ORDER_SERVICE "ListOrders", &request->base,
                          &ccpay__v1__list_orders_response__descriptor, 0, r);
}

/* One page of an account's postings (page_size 0: the default). */
static grpc_status_code get_account_page(test_client *client, const char *account,
                                         const char *currency_code, int32_t page_size,
                                         const char *page_token, test_reply *r) {
  Ccpay__V1__GetAccountRequest request = CCPAY__V1__GET_ACCOUNT_REQUEST__INIT;
  request.account = (char *)account;
  request.currency_code = (char *)currency_code;
  request.page_size = page_size;
  request.page_token = (char *)page_token;
  return test_client_call(client, LEDGER_SERVICE "GetAccount", &request.base,
                          &ccpay__v1__account__descriptor, 0, r);
}

static grpc_status_code get_account(test_client *client, const char *account,
                                    const char *currency_code, test_reply *r) {
  return get_account_page(client, account, currency_code, 200, "", r);
}

/* --- Checking replies ----------------------------------------------------------------- */

/* The reply of a call that must have succeeded; the caller clears r. */
static const void *ok(test_reply *r) {
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return r->message;
}

/* A call refused because of the order's status; message names what it must. */
static void expect_invalid_state(test_reply *r, const char *named) {
  assert_reply(r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", named);
}

static void assert_money(const Ccpay__V1__Money *m, const char *currency_code, int64_t amount,
                         const char *what) {
  if (m == NULL) fail_msg("%s: no amount, expected %" PRId64 " %s", what, amount, currency_code);
  if (strcmp(m->currency_code, currency_code) != 0 || m->amount_minor != amount) {
    fail_msg("%s: %" PRId64 " %s, expected %" PRId64 " %s", what, m->amount_minor, m->currency_code,
             amount, currency_code);
  }
}

typedef struct totals {
  int64_t subtotal, discount, tax, charges, total, invoiced, cancelled;
} totals;

static void assert_totals(const Ccpay__V1__OrderTotals *t, const char *currency, totals want) {
  assert_non_null(t);
  assert_money(t->subtotal, currency, want.subtotal, "subtotal");
  assert_money(t->discount_total, currency, want.discount, "discount_total");
  assert_money(t->tax_total, currency, want.tax, "tax_total");
  assert_money(t->charges_total, currency, want.charges, "charges_total");
  assert_money(t->total, currency, want.total, "total");
  assert_money(t->invoiced_total, currency, want.invoiced, "invoiced_total");
  assert_money(t->cancelled_total, currency, want.cancelled, "cancelled_total");
  assert_money(t->total_excess_funds, currency, 0, "total_excess_funds");
}

/* Two messages are the same when they encode to the same bytes. */
static void assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t len = protobuf_c_message_get_packed_size(a);
  assert_int_equal(len, protobuf_c_message_get_packed_size(b));
  uint8_t *bytes_a = malloc(len + 1), *bytes_b = malloc(len + 1);
  assert_non_null(bytes_a);
  assert_non_null(bytes_b);
  protobuf_c_message_pack(a, bytes_a);
  protobuf_c_message_pack(b, bytes_b);
  assert_memory_equal(bytes_a, bytes_b, len);
  free(bytes_a);
  free(bytes_b);
}

static void assert_line(const Ccpay__V1__OrderLine *line, int32_t number, int64_t net, int64_t tax,
                        const char *currency) {
  assert_int_equal(line->line_number, number);
  assert_money(line->net_amount, currency, net, "line net_amount");
  assert_money(line->tax_amount, currency, tax, "line tax_amount");
  assert_money(line->total_amount, currency, net + tax, "line total_amount");
}

/* GetOrder shows totals want, and CalculateOrder answers exactly the same numbers. */
static void expect_stored_totals(test_client *client, const char *order_id, const char *currency,
                                 totals want) {
  test_reply got, calculated;
  get_order(client, order_id, &got);
  calculate_order(client, order_id, &calculated);
  const Ccpay__V1__Order *o = ok(&got);
  const Ccpay__V1__OrderTotals *t = ok(&calculated);
  assert_totals(o->totals, currency, want);
  assert_same_message(&o->totals->base, &t->base);
  test_reply_clear(&got);
  test_reply_clear(&calculated);
}

static Ccpay__V1__OrderStatus status_of(test_client *client, const char *order_id) {
  test_reply r;
  get_order(client, order_id, &r);
  Ccpay__V1__OrderStatus status = ((const Ccpay__V1__Order *)ok(&r))->status;
  test_reply_clear(&r);
  return status;
}

/* --- Setting up ----------------------------------------------------------------------- */

static void new_customer(test_client *client, const char *currency, int32_t terms_days,
                         char *id_out) {
  test_reply r;
  call_create_customer(client, next_rid("customer").text, "Order Taker", currency, terms_days, &r);
  const Ccpay__V1__Customer *c = ok(&r);
  assert_int_equal(c->payment_terms_days, terms_days);
  snprintf(id_out, TEST_ID_BYTES, "%s", c->id);
  test_reply_clear(&r);
}

static void new_order(test_client *client, const order_draft *d, char *id_out) {
  test_reply r;
  call_create_order(client, next_rid("order").text, d, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN);
  snprintf(id_out, TEST_ID_BYTES, "%s", o->id);
  test_reply_clear(&r);
}

static void submit(test_client *client, const char *order_id) {
  test_reply r;
  call_submit_order(client, next_rid("submit").text, order_id, &r);
  assert_int_equal(((const Ccpay__V1__Order *)ok(&r))->status,
                   CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED);
  test_reply_clear(&r);
}

/* An order with one line of quantity units at unit_price, untaxed, submitted. */
static void new_submitted_order(test_client *client, const char *customer, int64_t quantity,
                                int64_t unit_price, char *id_out) {
  order_draft d;
  order_draft_init(&d, customer, "USD");
  order_draft_line(&d, "PLAIN", quantity, unit_price, 0, 0);
  new_order(client, &d, id_out);
  submit(client, id_out);
}

/* InvoiceOrder that must succeed; the reply stays in r. */
static const Ccpay__V1__InvoiceOrderResponse *invoice(test_client *client, const char *order_id,
                                                      const ship_spec *ship, size_t count,
                                                      test_reply *r) {
  call_invoice_order(client, next_rid("invoice").text, order_id, ship, count, r);
  const Ccpay__V1__InvoiceOrderResponse *response = ok(r);
  assert_non_null(response->order);
  assert_non_null(response->invoice);
  return response;
}

/* --- Ledger checks -------------------------------------------------------------------- */

/* The trial balance sums to zero in every currency; returns its as_of_sequence. */
static int64_t expect_trial_balance_zero(test_client *client) {
  test_reply r;
  call_get_trial_balance(client, &r);
  const Ccpay__V1__TrialBalance *tb = ok(&r);
  for (size_t i = 0; i < tb->n_totals; i++) {
    assert_money(tb->totals[i], tb->totals[i]->currency_code, 0, "trial balance total");
  }
  int64_t as_of = tb->as_of_sequence;
  test_reply_clear(&r);
  return as_of;
}

static int64_t customer_balance(test_client *client, const char *customer_id,
                                const char *currency) {
  test_reply r;
  call_get_customer(client, customer_id, &r);
  const Ccpay__V1__Customer *c = ok(&r);
  assert_non_null(c->balance);
  assert_string_equal(c->balance->currency_code, currency);
  int64_t balance = c->balance->amount_minor;
  test_reply_clear(&r);
  return balance;
}

/* The customer's balance and receivable account are balance, the journal has exactly
 * entries entries, and the books balance. */
static void expect_ledger(test_client *client, const char *customer_id, const char *currency,
                          int64_t balance, int64_t entries) {
  assert_int_equal(customer_balance(client, customer_id, currency), balance);
  assert_int_equal(expect_trial_balance_zero(client), entries);
  char account[64];
  snprintf(account, sizeof account, "receivable:%s", customer_id);
  test_reply r;
  get_account(client, account, currency, &r);
  assert_money(((const Ccpay__V1__Account *)ok(&r))->balance, currency, balance,
               "receivable balance");
  test_reply_clear(&r);
}

static void expect_posting(const Ccpay__V1__JournalEntry *e, const char *account, int64_t amount,
                           const char *currency) {
  for (size_t i = 0; i < e->n_postings; i++) {
    if (strcmp(e->postings[i]->account, account) == 0) {
      assert_money(e->postings[i]->amount, currency, amount, account);
      return;
    }
  }
  fail_msg("entry %" PRId64 " has no posting to %s", e->sequence, account);
}

/* ListEntries after after_sequence must hold one entry, the one posting the invoice. The
 * reply stays in r. */
static const Ccpay__V1__JournalEntry *only_entry_after(test_client *client, int64_t after,
                                                       const Ccpay__V1__Invoice *inv,
                                                       test_reply *r) {
  call_list_entries(client, after, 0, r);
  const Ccpay__V1__ListEntriesResponse *page = ok(r);
  assert_int_equal(page->n_entries, 1);
  const Ccpay__V1__JournalEntry *e = page->entries[0];
  assert_int_equal(e->sequence, inv->entry_sequence);
  assert_string_equal(e->kind, "ORDER_INVOICED");
  assert_string_equal(e->invoice_id, inv->id);
  assert_string_equal(e->order_id, inv->order_id);
  assert_string_equal(e->customer_id, inv->customer_id);
  return e;
}

/* --- An order's whole life ------------------------------------------------------------ */

/* The order of the life test, in USD (exponent 2; amounts in cents):
 *   line 1  3 × 20.00 − 10.00 discount = net 50.00; tax 8.25 % = 412.5 → 412 (half to even)
 *   line 2  2 × 27.00               = net 54.00; tax 8.25 % = 445.5 → 446 (half to even)
 *   SHIPPING 14.00,                       tax 8.25 % = 115.5 → 116 (half to even)
 * subtotal 11400, discount 1000, charges 1400, tax 412 + 446 + 116 = 974,
 * total 11400 − 1000 + 1400 + 974 = 12774. UpdateOrderLines then adds
 *   line 3  4 × 2.50 untaxed = net 10.00, tax 0,
 * so subtotal 12400 and total 13774. */
static const totals LIFE_CREATED = {
    .subtotal = 11400, .discount = 1000, .tax = 974, .charges = 1400, .total = 12774};
static const totals LIFE_UPDATED = {
    .subtotal = 12400, .discount = 1000, .tax = 974, .charges = 1400, .total = 13774};

/* The first invoice ships line 1 × 1 and line 3 × 4, and carries the shipping:
 *   line 1, units [0, 1) of 3: discount share round(1000 × 1/3) = 333, net 2000 − 333 =
 *     1667; tax share round(412 × 1/3) = round(137.33) = 137
 *   line 3 whole: net 1000, tax 0
 *   SHIPPING 1400, tax 116
 * subtotal (lines' net) 2667, tax 137 + 116 = 253, charges 1400, total 4320.
 * The second ships the rest, line 1 × 2 and line 2 × 2:
 *   line 1, units [1, 3): discount 1000 − 333 = 667, net 4000 − 667 = 3333; tax 412 − 137 =
 *     275
 *   line 2 whole: net 5400, tax 446
 * subtotal 8733, tax 721, charges 0, total 9454; 4320 + 9454 = 13774, the order's total. */
enum {
  FIRST_INVOICE_SUBTOTAL = 2667,
  FIRST_INVOICE_TAX = 253,
  FIRST_INVOICE_TOTAL = 4320,
  SECOND_INVOICE_SUBTOTAL = 8733,
  SECOND_INVOICE_TAX = 721,
  SECOND_INVOICE_TOTAL = 9454,
};

typedef struct life {
  test_client *client;
  char customer[TEST_ID_BYTES];
  char order[TEST_ID_BYTES];
  test_reply first_invoice; /* InvoiceOrder's reply, kept for the GetInvoice round trip */
} life;

static void life_draft(order_draft *d, const char *customer, bool with_third_line) {
  order_draft_init(d, customer, "USD");
  order_draft_line(d, "WIDGET-20", 3, 2000, 1000, 825);
  order_draft_line(d, "GADGET-27", 2, 2700, 0, 825);
  if (with_third_line) order_draft_line(d, "STICKER-PACK", 4, 250, 0, 0);
  order_draft_charge(d, "SHIPPING", 1400, 825);
}

static void life_create(life *l) {
  new_customer(l->client, "USD", TERMS_DAYS, l->customer);
  order_draft d;
  life_draft(&d, l->customer, false);
  test_reply r;
  call_create_order(l->client, next_rid("life-create").text, &d, &r);
  const Ccpay__V1__Order *o = ok(&r);
  snprintf(l->order, sizeof l->order, "%s", o->id);
  assert_memory_equal(o->id, "ord_", 4);
  assert_int_equal(strlen(o->id), 4 + 13);
  assert_string_equal(o->customer_id, l->customer);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN);
  assert_int_equal(o->version, 1);
  assert_int_equal(o->n_lines, 2);
  assert_line(o->lines[0], 1, 5000, 412, "USD");
  assert_line(o->lines[1], 2, 5400, 446, "USD");
  assert_int_equal(o->n_charges, 1);
  assert_money(o->charges[0]->tax_amount, "USD", 116, "shipping tax");
  assert_totals(o->totals, "USD", LIFE_CREATED);
  test_reply_clear(&r);
  expect_stored_totals(l->client, l->order, "USD", LIFE_CREATED);
  expect_ledger(l->client, l->customer, "USD", 0, 0);
}

static void life_update_lines(life *l) {
  order_draft d;
  life_draft(&d, l->customer, true);
  test_reply r;
  update_lines(l->client, next_rid("life-update").text, l->order, &d, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->version, 2);
  assert_int_equal(o->n_lines, 3);
  assert_line(o->lines[2], 3, 1000, 0, "USD");
  assert_totals(o->totals, "USD", LIFE_UPDATED);
  test_reply_clear(&r);
  expect_stored_totals(l->client, l->order, "USD", LIFE_UPDATED);
  expect_ledger(l->client, l->customer, "USD", 0, 0);
}

/* ListOrders by hold code: exactly count orders, the first being order_id if count > 0. */
static void expect_hold_screen(test_client *client, const char *code, const char *order_id,
                               size_t count) {
  Ccpay__V1__ListOrdersRequest request = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
  request.hold_code = (char *)code;
  test_reply r;
  list_orders(client, &request, &r);
  const Ccpay__V1__ListOrdersResponse *page = ok(&r);
  assert_int_equal(page->n_orders, count);
  if (count > 0) {
    assert_string_equal(page->orders[0]->id, order_id);
    assert_non_null(page->orders[0]->hold);
    assert_string_equal(page->orders[0]->hold->code, code);
  }
  test_reply_clear(&r);
}

static void life_hold_blocks_submit(life *l) {
  test_reply r;
  hold_order(l->client, next_rid("life-hold").text, l->order, "CREDIT_REVIEW", &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_non_null(o->hold);
  assert_string_equal(o->hold->code, "CREDIT_REVIEW");
  assert_non_null(o->hold->hold_time);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN);
  test_reply_clear(&r);

  call_submit_order(l->client, next_rid("life-submit-held").text, l->order, &r);
  expect_invalid_state(&r, "CREDIT_REVIEW");
  assert_int_equal(status_of(l->client, l->order), CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN);
  expect_hold_screen(l->client, "CREDIT_REVIEW", l->order, 1);
  expect_hold_screen(l->client, "FRAUD_REVIEW", NULL, 0);
  expect_ledger(l->client, l->customer, "USD", 0, 0);
}

static void life_release_and_submit(life *l) {
  test_reply r;
  release_hold(l->client, next_rid("life-release").text, l->order, &r);
  assert_null(((const Ccpay__V1__Order *)ok(&r))->hold);
  test_reply_clear(&r);
  expect_hold_screen(l->client, "CREDIT_REVIEW", NULL, 0);

  submit(l->client, l->order);
  order_draft d;
  life_draft(&d, l->customer, false);
  update_lines(l->client, next_rid("life-update-late").text, l->order, &d, &r);
  expect_invalid_state(&r, "SUBMITTED");
  expect_stored_totals(l->client, l->order, "USD", LIFE_UPDATED);
  expect_ledger(l->client, l->customer, "USD", 0, 0);
}

static void assert_due_after_terms(const Ccpay__V1__Invoice *inv, int32_t terms_days) {
  assert_non_null(inv->invoice_time);
  assert_non_null(inv->due_time);
  assert_true(inv->invoice_time->seconds > 1600000000);
  assert_int_equal(inv->due_time->seconds,
                   inv->invoice_time->seconds + (int64_t)terms_days * SECONDS_PER_DAY);
  assert_int_equal(inv->due_time->nanos, inv->invoice_time->nanos);
}

static void life_first_invoice(life *l) {
  static const ship_spec ship[] = {{1, 1}, {3, 4}};
  const Ccpay__V1__InvoiceOrderResponse *resp =
      invoice(l->client, l->order, ship, 2, &l->first_invoice);
  const Ccpay__V1__Invoice *inv = resp->invoice;
  assert_memory_equal(inv->id, "inv_", 4);
  assert_string_equal(inv->order_id, l->order);
  assert_string_equal(inv->customer_id, l->customer);
  assert_int_equal(inv->n_lines, 2);
  assert_money(inv->lines[0]->net_amount, "USD", 1667, "invoice line 1 net");
  assert_money(inv->lines[0]->tax_amount, "USD", 137, "invoice line 1 tax");
  assert_money(inv->lines[1]->net_amount, "USD", 1000, "invoice line 3 net");
  assert_int_equal(inv->n_charges, 1);
  assert_string_equal(inv->charges[0]->code, "SHIPPING");
  assert_money(inv->subtotal, "USD", FIRST_INVOICE_SUBTOTAL, "invoice subtotal");
  assert_money(inv->tax_total, "USD", FIRST_INVOICE_TAX, "invoice tax_total");
  assert_money(inv->charges_total, "USD", 1400, "invoice charges_total");
  assert_money(inv->total, "USD", FIRST_INVOICE_TOTAL, "invoice total");
  assert_due_after_terms(inv, TERMS_DAYS);
  assert_int_equal(inv->entry_sequence, 1);

  const Ccpay__V1__Order *o = resp->order;
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED);
  assert_int_equal(o->n_invoice_ids, 1);
  assert_string_equal(o->invoice_ids[0], inv->id);
  totals want = LIFE_UPDATED;
  want.invoiced = FIRST_INVOICE_TOTAL;
  assert_totals(o->totals, "USD", want);
  expect_stored_totals(l->client, l->order, "USD", want);
  expect_ledger(l->client, l->customer, "USD", FIRST_INVOICE_TOTAL, 1);

  /* The entry: receivable debited, revenue, tax and shipping revenue credited. */
  test_reply r;
  const Ccpay__V1__JournalEntry *e = only_entry_after(l->client, 0, inv, &r);
  char receivable[64];
  snprintf(receivable, sizeof receivable, "receivable:%s", l->customer);
  assert_int_equal(e->n_postings, 4);
  expect_posting(e, receivable, FIRST_INVOICE_TOTAL, "USD");
  expect_posting(e, "revenue", -FIRST_INVOICE_SUBTOTAL, "USD");
  expect_posting(e, "tax_payable", -FIRST_INVOICE_TAX, "USD");
  expect_posting(e, "shipping_revenue", -1400, "USD");
  test_reply_clear(&r);

  /* The customer's account shows that one posting. */
  get_account(l->client, receivable, "USD", &r);
  const Ccpay__V1__Account *account = ok(&r);
  assert_int_equal(account->n_postings, 1);
  assert_int_equal(account->postings[0]->sequence, 1);
  assert_money(account->postings[0]->amount, "USD", FIRST_INVOICE_TOTAL, "receivable posting");
  assert_string_equal(account->postings[0]->kind, "ORDER_INVOICED");
  test_reply_clear(&r);
}

/* The receivable account pages one posting at a time, newest first: sequence 2, then 1. */
static void expect_postings_paged(test_client *client, const char *customer, int64_t first,
                                  int64_t second) {
  char account[64], token[TOKEN_BYTES];
  snprintf(account, sizeof account, "receivable:%s", customer);
  test_reply r;
  get_account_page(client, account, "USD", 1, "", &r);
  const Ccpay__V1__Account *page = ok(&r);
  assert_int_equal(page->n_postings, 1);
  assert_int_equal(page->postings[0]->sequence, 2);
  assert_money(page->postings[0]->amount, "USD", second, "newest posting");
  assert_money(page->balance, "USD", first + second, "balance on a page");
  assert_true(page->next_page_token[0] != '\0');
  snprintf(token, sizeof token, "%s", page->next_page_token);
  test_reply_clear(&r);
  get_account_page(client, account, "USD", 1, token, &r);
  page = ok(&r);
  assert_int_equal(page->n_postings, 1);
  assert_int_equal(page->postings[0]->sequence, 1);
  assert_money(page->postings[0]->amount, "USD", first, "oldest posting");
  assert_string_equal(page->next_page_token, "");
  test_reply_clear(&r);
}

static void life_final_invoice(life *l) {
  static const ship_spec rest[] = {{1, 2}, {2, 2}};
  test_reply r;
  const Ccpay__V1__InvoiceOrderResponse *resp = invoice(l->client, l->order, rest, 2, &r);
  const Ccpay__V1__Invoice *inv = resp->invoice;
  assert_money(inv->lines[0]->net_amount, "USD", 3333, "invoice 2 line 1 net");
  assert_money(inv->lines[0]->tax_amount, "USD", 275, "invoice 2 line 1 tax");
  assert_int_equal(inv->n_charges, 0); /* the first invoice carried them */
  assert_money(inv->subtotal, "USD", SECOND_INVOICE_SUBTOTAL, "invoice 2 subtotal");
  assert_money(inv->tax_total, "USD", SECOND_INVOICE_TAX, "invoice 2 tax_total");
  assert_money(inv->charges_total, "USD", 0, "invoice 2 charges_total");
  assert_money(inv->total, "USD", SECOND_INVOICE_TOTAL, "invoice 2 total");
  assert_int_equal(inv->entry_sequence, 2);
  assert_int_equal(resp->order->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED);
  assert_int_equal(resp->order->n_invoice_ids, 2);
  test_reply entry;
  only_entry_after(l->client, 1, inv, &entry);
  test_reply_clear(&entry);
  test_reply_clear(&r);

  totals want = LIFE_UPDATED;
  want.invoiced = LIFE_UPDATED.total;
  expect_stored_totals(l->client, l->order, "USD", want);
  expect_ledger(l->client, l->customer, "USD", LIFE_UPDATED.total, 2);

  expect_postings_paged(l->client, l->customer, FIRST_INVOICE_TOTAL, SECOND_INVOICE_TOTAL);

  /* Nothing is left to invoice. */
  static const ship_spec more[] = {{1, 1}};
  call_invoice_order(l->client, next_rid("life-invoice-again").text, l->order, more, 1, &r);
  expect_invalid_state(&r, "INVOICED");
  expect_ledger(l->client, l->customer, "USD", LIFE_UPDATED.total, 2);

  /* The first invoice reads back exactly as InvoiceOrder answered it. */
  const Ccpay__V1__Invoice *first =
      ((const Ccpay__V1__InvoiceOrderResponse *)l->first_invoice.message)->invoice;
  get_invoice(l->client, first->id, &r);
  assert_same_message(&first->base, ok(&r));
  test_reply_clear(&r);
  test_reply_clear(&l->first_invoice);
}

static void order_life_with_ledger_after_each_step(void **state) {
  ccpayd_fixture *f = *state;
  life l = {.client = f->client};
  life_create(&l);
  life_update_lines(&l);
  life_hold_blocks_submit(&l);
  life_release_and_submit(&l);
  life_first_invoice(&l);
  life_final_invoice(&l);
  f->passed = true;
}

/* --- Other currencies, partial cancellation, cancelling ------------------------------- */

/* JPY has exponent 0: amounts are whole yen and tax rounds to the yen.
 *   TEA-SET 3 × ¥333 = 999, tax 10 % = 99.9 → 100
 *   CUP     1 × ¥1005 = 1005, tax 10 % = 100.5 → 100 (half to even)
 *   SHIPPING ¥500, tax 10 % = 50
 * subtotal 2004, tax 250, charges 500, total 2754. */
static void yen_order_has_whole_yen_totals(void **state) {
  ccpayd_fixture *f = *state;
  static const totals want = {.subtotal = 2004, .tax = 250, .charges = 500, .total = 2754};
  char customer[TEST_ID_BYTES], order[TEST_ID_BYTES];
  new_customer(f->client, "JPY", 0, customer);
  order_draft d;
  order_draft_init(&d, customer, "JPY");
  order_draft_line(&d, "TEA-SET", 3, 333, 0, 1000);
  order_draft_line(&d, "CUP", 1, 1005, 0, 1000);
  order_draft_charge(&d, "SHIPPING", 500, 1000);
  new_order(f->client, &d, order);
  expect_stored_totals(f->client, order, "JPY", want);
  submit(f->client, order);

  static const ship_spec all[] = {{1, 3}, {2, 1}};
  test_reply r;
  const Ccpay__V1__Invoice *inv = invoice(f->client, order, all, 2, &r)->invoice;
  assert_money(inv->total, "JPY", want.total, "invoice total");
  assert_money(inv->tax_total, "JPY", want.tax, "invoice tax");
  assert_due_after_terms(inv, 0); /* due on receipt */
  test_reply_clear(&r);
  totals invoiced = want;
  invoiced.invoiced = want.total;
  expect_stored_totals(f->client, order, "JPY", invoiced);
  expect_ledger(f->client, customer, "JPY", want.total, 1);
  f->passed = true;
}

/* USD, one charge that is not shipping:
 *   line 1  4 × 10.00 − 1.00 = net 3900, tax 8.25 % = 321.75 → 322
 *   line 2  5 × 3.00        = net 1500, tax 8.25 % = 123.75 → 124
 *   line 3  1 × 7.00        = net  700, untaxed
 *   HANDLING 2.50 untaxed
 * total 6200 − 100 + 250 + 446 = 6796.
 * Invoice 1: line 1 × 1: discount round(100/4) = 25, net 975, tax round(322/4) = 80.5 → 80;
 *   with HANDLING: total 975 + 80 + 250 = 1305.
 * CancelLines [2]: 1500 + 124 = 1624 cancelled; the order's total becomes 5172.
 * Invoice 2: line 1 × 3 (net 3000 − 75 = 2925, tax 242) and line 3 (700): 3867.
 * Invoiced 1305 + 3867 = 5172 = the total; invoiced + cancelled = 6796. */
static void cancel_lines_then_invoice_the_rest(void **state) {
  ccpayd_fixture *f = *state;
  char customer[TEST_ID_BYTES], order[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, customer);
  order_draft d;
  order_draft_init(&d, customer, "USD");
  order_draft_line(&d, "BOOK", 4, 1000, 100, 825);
  order_draft_line(&d, "PEN", 5, 300, 0, 825);
  order_draft_line(&d, "MAP", 1, 700, 0, 0);
  order_draft_charge(&d, "HANDLING", 250, 0);
  new_order(f->client, &d, order);
  expect_stored_totals(
      f->client, order, "USD",
      (totals){.subtotal = 6200, .discount = 100, .tax = 446, .charges = 250, .total = 6796});
  submit(f->client, order);
  test_reply r;
  const Ccpay__V1__Invoice *inv = invoice(f->client, order, (ship_spec[]){{1, 1}}, 1, &r)->invoice;
  assert_money(inv->total, "USD", 1305, "invoice 1 total");
  test_reply r_entry;
  expect_posting(only_entry_after(f->client, 0, inv, &r_entry), "other_charges_revenue", -250,
                 "USD");
  test_reply_clear(&r_entry);
  test_reply_clear(&r);

  cancel_lines(f->client, next_rid("cancel-pen").text, order, (int32_t[]){2}, 1, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED);
  assert_int_equal(o->lines[1]->quantity_cancelled, 5);
  test_reply_clear(&r);
  totals after_cancel = {.subtotal = 4700,
                         .discount = 100,
                         .tax = 322,
                         .charges = 250,
                         .total = 5172,
                         .invoiced = 1305,
                         .cancelled = 1624};
  expect_stored_totals(f->client, order, "USD", after_cancel);
  expect_ledger(f->client, customer, "USD", 1305, 1);

  inv = invoice(f->client, order, (ship_spec[]){{1, 3}, {3, 1}}, 2, &r)->invoice;
  assert_money(inv->total, "USD", 3867, "invoice 2 total");
  assert_int_equal(((const Ccpay__V1__InvoiceOrderResponse *)r.message)->order->status,
                   CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED);
  test_reply_clear(&r);
  after_cancel.invoiced = 5172;
  expect_stored_totals(f->client, order, "USD", after_cancel);
  assert_int_equal(after_cancel.invoiced + after_cancel.cancelled, 6796);
  expect_ledger(f->client, customer, "USD", 5172, 2);
  f->passed = true;
}

static void cancel_open_order_and_refuse_after_invoice(void **state) {
  ccpayd_fixture *f = *state;
  char customer[TEST_ID_BYTES], open[TEST_ID_BYTES], shipped[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, customer);
  order_draft d;
  order_draft_init(&d, customer, "USD");
  order_draft_line(&d, "LAMP", 2, 1500, 0, 1000); /* 3000 + 300 tax */
  order_draft_charge(&d, "SHIPPING", 500, 0);     /* total 3800 */
  new_order(f->client, &d, open);

  test_reply r;
  cancel_order(f->client, next_rid("cancel-open").text, open, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED);
  assert_string_equal(o->cancel_reason, "customer changed their mind");
  assert_int_equal(o->lines[0]->quantity_cancelled, 2);
  assert_true(o->charges[0]->cancelled);
  test_reply_clear(&r);
  expect_stored_totals(f->client, open, "USD", (totals){.cancelled = 3800});
  cancel_order(f->client, next_rid("cancel-twice").text, open, &r);
  expect_invalid_state(&r, "CANCELLED");
  expect_ledger(f->client, customer, "USD", 0, 0);

  new_submitted_order(f->client, customer, 3, 1000, shipped);
  const Ccpay__V1__Invoice *inv =
      invoice(f->client, shipped, (ship_spec[]){{1, 1}}, 1, &r)->invoice;
  int64_t invoiced = inv->total->amount_minor;
  test_reply_clear(&r);
  cancel_order(f->client, next_rid("cancel-shipped").text, shipped, &r);
  expect_invalid_state(&r, "PARTIALLY_INVOICED");
  assert_int_equal(status_of(f->client, shipped),
                   CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED);
  expect_ledger(f->client, customer, "USD", invoiced, 1);
  f->passed = true;
}

/* --- Refused input changes nothing ---------------------------------------------------- */

/* Pages through ListOrders with request's filter; collects ids (newest first) into ids
 * (at most ids_max, may be NULL) and returns how many there were. */
static size_t list_order_ids(test_client *client, Ccpay__V1__ListOrdersRequest request,
                             char (*ids)[TEST_ID_BYTES], size_t ids_max) {
  char token[TOKEN_BYTES] = "";
  size_t count = 0;
  for (int pages = 0;; pages++) {
    assert_true(pages < LISTING_PAGES_MAX);
    request.page_token = token;
    test_reply r;
    list_orders(client, &request, &r);
    const Ccpay__V1__ListOrdersResponse *page = ok(&r);
    assert_true(request.page_size == 0 || page->n_orders <= (size_t)request.page_size);
    for (size_t i = 0; i < page->n_orders; i++, count++) {
      if (count < ids_max) snprintf(ids[count], TEST_ID_BYTES, "%s", page->orders[i]->id);
    }
    assert_true(strlen(page->next_page_token) < sizeof token);
    snprintf(token, sizeof token, "%s", page->next_page_token);
    test_reply_clear(&r);
    if (token[0] == '\0') return count;
  }
}

static size_t count_orders(test_client *client) {
  Ccpay__V1__ListOrdersRequest request = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
  request.page_size = 200;
  return list_order_ids(client, request, NULL, 0);
}

typedef struct bad_context {
  const char *eur_customer;     /* a customer who buys in EUR */
  const char *unknown_customer; /* well formed, never handed out */
} bad_context;

typedef struct bad_order {
  const char *name;
  void (*spoil)(order_draft *d, const bad_context *ctx);
  grpc_status_code status;
  const char *reason;
  const char *field;
} bad_order;

static void zero_quantity(order_draft *d, const bad_context *ctx) { d->lines[0].quantity = 0; }
static void negative_price(order_draft *d, const bad_context *ctx) {
  d->prices[1].amount_minor = -1;
}
static void unknown_currency(order_draft *d, const bad_context *ctx) {
  d->order.currency_code = "XYZ";
}
static void other_currency(order_draft *d, const bad_context *ctx) {
  d->order.customer_id = (char *)ctx->eur_customer; /* the order is in USD */
}
static void too_many_lines(order_draft *d, const bad_context *ctx) {
  while (d->order.n_lines < 201) order_draft_line(d, "FILLER", 1, 100, 0, 0);
}
static void discount_above_gross(order_draft *d, const bad_context *ctx) {
  d->discounts[0].amount_minor = 3 * 2000 + 1; /* 3 × 20.00 is 6000 */
}
static void tax_rate_over_100_percent(order_draft *d, const bad_context *ctx) {
  d->lines[1].tax_rate_bp = 10001;
}
static void lowercase_charge_code(order_draft *d, const bad_context *ctx) {
  d->charges[0].code = "shipping";
}
static void unknown_customer(order_draft *d, const bad_context *ctx) {
  d->order.customer_id = (char *)ctx->unknown_customer;
}

static const bad_order BAD_ORDERS[] = {
    {"quantity 0", zero_quantity, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE",
     "order.lines[0].quantity"},
    {"negative price", negative_price, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE",
     "order.lines[1].unit_price"},
    {"unknown currency", unknown_currency, GRPC_STATUS_INVALID_ARGUMENT, "UNKNOWN_CURRENCY",
     "order.currency_code"},
    {"not the customer's currency", other_currency, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID",
     "order.currency_code"},
    {"201 lines", too_many_lines, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE",
     "order.lines"},
    {"discount above gross", discount_above_gross, GRPC_STATUS_INVALID_ARGUMENT,
     "FIELD_OUT_OF_RANGE", "order.lines[0].line_discount"},
    {"tax rate 10001 bp", tax_rate_over_100_percent, GRPC_STATUS_INVALID_ARGUMENT,
     "FIELD_OUT_OF_RANGE", "order.lines[1].tax_rate_bp"},
    {"lower-case charge code", lowercase_charge_code, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID",
     "order.charges[0].code"},
    {"unknown customer", unknown_customer, GRPC_STATUS_NOT_FOUND, "NOT_FOUND", "order.customer_id"},
};

/* A customer id like known that the server never handed out (last character changed). */
static void unknown_id_like(const char *known, char *out) {
  snprintf(out, TEST_ID_BYTES, "%s", known);
  size_t last = strlen(out) - 1;
  out[last] = out[last] == '7' ? '8' : '7';
}

static void bad_orders_are_refused_naming_the_field(void **state) {
  ccpayd_fixture *f = *state;
  char usd[TEST_ID_BYTES], eur[TEST_ID_BYTES], unknown[TEST_ID_BYTES], valid[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, usd);
  new_customer(f->client, "EUR", TERMS_DAYS, eur);
  unknown_id_like(usd, unknown);
  const bad_context ctx = {.eur_customer = eur, .unknown_customer = unknown};
  order_draft d;
  life_draft(&d, usd, false);
  new_order(f->client, &d, valid);
  for (size_t i = 0; i < sizeof BAD_ORDERS / sizeof BAD_ORDERS[0]; i++) {
    const bad_order *bad = &BAD_ORDERS[i];
    print_message("refused order: %s\n", bad->name);
    life_draft(&d, usd, false);
    bad->spoil(&d, &ctx);
    test_reply r;
    call_create_order(f->client, next_rid("bad").text, &d, &r);
    assert_reply(&r, bad->status, bad->reason, bad->field);
    assert_int_equal(count_orders(f->client), 1);
  }
  expect_ledger(f->client, usd, "USD", 0, 0);
  f->passed = true;
}

static void malformed_order_ids_are_refused(void **state) {
  ccpayd_fixture *f = *state;
  char customer[TEST_ID_BYTES], order[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, customer);
  new_submitted_order(f->client, customer, 2, 500, order);
  test_reply r;
  get_order(f->client, "ord_123", &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "id");
  calculate_order(f->client, "order-1", &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "order_id");
  call_submit_order(f->client, next_rid("bad-id").text, customer, &r); /* a cus_ id */
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "order_id");
  call_invoice_order(f->client, next_rid("bad-id").text, "", (ship_spec[]){{1, 1}}, 1, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED", "order_id");
  cancel_order(f->client, next_rid("bad-id").text, "ord_00000000000U!", &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "order_id");
  get_invoice(f->client, order, &r); /* an ord_ id where an inv_ id belongs */
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "id");
  assert_int_equal(count_orders(f->client), 1);
  assert_int_equal(status_of(f->client, order), CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED);
  expect_ledger(f->client, customer, "USD", 0, 0);
  f->passed = true;
}

/* --- Idempotency ---------------------------------------------------------------------- */

static void create_order_retry_returns_the_same_order(void **state) {
  ccpayd_fixture *f = *state;
  char customer[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, customer);
  order_draft d;
  life_draft(&d, customer, false);
  test_reply first, again;
  call_create_order(f->client, "create-once", &d, &first);
  call_create_order(f->client, "create-once", &d, &again);
  assert_same_message(ok(&first), ok(&again)); /* same id, times and version */
  test_reply_clear(&first);
  test_reply_clear(&again);
  assert_int_equal(count_orders(f->client), 1);

  /* The same key for another order is refused, and creates nothing. */
  d.lines[0].quantity = 4;
  call_create_order(f->client, "create-once", &d, &again);
  assert_reply(&again, GRPC_STATUS_FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", "request_id");
  assert_int_equal(count_orders(f->client), 1);
  f->passed = true;
}

static void invoice_retry_returns_the_same_invoice_and_posts_once(void **state) {
  ccpayd_fixture *f = *state;
  char customer[TEST_ID_BYTES], order[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, customer);
  new_submitted_order(f->client, customer, 5, 1200, order);
  static const ship_spec two[] = {{1, 2}};
  test_reply first, again;
  call_invoice_order(f->client, "invoice-once", order, two, 1, &first);
  call_invoice_order(f->client, "invoice-once", order, two, 1, &again);
  const Ccpay__V1__InvoiceOrderResponse *a = ok(&first), *b = ok(&again);
  assert_same_message(&a->invoice->base, &b->invoice->base);
  assert_int_equal(a->invoice->entry_sequence, 1);
  assert_money(a->invoice->total, "USD", 2400, "invoice total");
  test_reply_clear(&again);

  /* The same key for other quantities is refused and posts nothing. */
  static const ship_spec three[] = {{1, 3}};
  call_invoice_order(f->client, "invoice-once", order, three, 1, &again);
  assert_reply(&again, GRPC_STATUS_FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", "request_id");

  test_reply r;
  get_order(f->client, order, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->n_invoice_ids, 1);
  assert_int_equal(o->lines[0]->quantity_invoiced, 2);
  test_reply_clear(&r);
  test_reply entry;
  only_entry_after(f->client, 0, a->invoice, &entry);
  test_reply_clear(&entry);
  expect_ledger(f->client, customer, "USD", 2400, 1);

  /* A retry that comes after the order moved on still answers the first invoice. */
  static const ship_spec rest[] = {{1, 3}};
  invoice(f->client, order, rest, 1, &r);
  assert_int_equal(((const Ccpay__V1__InvoiceOrderResponse *)r.message)->order->status,
                   CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED);
  test_reply_clear(&r);
  call_invoice_order(f->client, "invoice-once", order, two, 1, &again);
  assert_same_message(&a->invoice->base,
                      &((const Ccpay__V1__InvoiceOrderResponse *)ok(&again))->invoice->base);
  test_reply_clear(&again);
  test_reply_clear(&first);
  expect_ledger(f->client, customer, "USD", 6000, 2);
  f->passed = true;
}

/* --- Listings ------------------------------------------------------------------------- */

static void assert_ids(char (*listed)[TEST_ID_BYTES], size_t count, const char *const *want,
                       size_t want_count) {
  assert_int_equal(count, want_count);
  for (size_t i = 0; i < count; i++) assert_string_equal(listed[i], want[i]);
}

static void list_orders_filters_and_pages_newest_first(void **state) {
  ccpayd_fixture *f = *state;
  char a[TEST_ID_BYTES], b[TEST_ID_BYTES];
  new_customer(f->client, "USD", TERMS_DAYS, a);
  new_customer(f->client, "USD", TERMS_DAYS, b);
  /* Created in this order: A0 B0 A1 A2 B1 A3 A4; then B0, A1 and A3 are submitted. */
  const char *owners[] = {a, b, a, a, b, a, a};
  char orders[7][TEST_ID_BYTES];
  for (size_t i = 0; i < 7; i++) {
    order_draft d;
    order_draft_init(&d, owners[i], "USD");
    order_draft_line(&d, "ITEM", 1, 100 + (int64_t)i, 0, 0);
    new_order(f->client, &d, orders[i]);
  }
  submit(f->client, orders[1]);
  submit(f->client, orders[2]);
  submit(f->client, orders[5]);

  char listed[8][TEST_ID_BYTES];
  Ccpay__V1__ListOrdersRequest request = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
  request.page_size = 2;
  request.customer_id = a;
  size_t n = list_order_ids(f->client, request, listed, 8);
  assert_ids(listed, n,
             (const char *const[]){orders[6], orders[5], orders[3], orders[2], orders[0]}, 5);

  request.customer_id = "";
  request.status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED;
  n = list_order_ids(f->client, request, listed, 8);
  assert_ids(listed, n, (const char *const[]){orders[5], orders[2], orders[1]}, 3);
  request.status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN;
  n = list_order_ids(f->client, request, listed, 8);
  assert_ids(listed, n, (const char *const[]){orders[6], orders[4], orders[3], orders[0]}, 4);

  request.status = 0;
  request.page_size = 3;
  n = list_order_ids(f->client, request, listed, 8);
  assert_int_equal(n, 7);
  for (size_t i = 0; i < 7; i++) assert_string_equal(listed[i], orders[6 - i]);

  request.status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN;
  request.customer_id = a;
  test_reply r;
  list_orders(f->client, &request, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "at most one filter");
  f->passed = true;
}

/* --- A random walk through the order actions ------------------------------------------ */

/* The server is driven with random customers, orders and actions; a model on this side
 * predicts each outcome (the status machine of docs/ORDERS.md) and tracks what was
 * invoiced. Afterwards the books must balance, every customer's balance must be what
 * was invoiced to them, the listings must agree with the model, and the stopped
 * database must pass `ccpay-admin verify`. The seed is printed; CCPAY_PROPERTY_SEED
 * replays another. */
enum {
  WALK_OPERATIONS = 150,
  WALK_DEFAULT_SEED = 20240611,
  WALK_CUSTOMERS_MAX = 16,
  WALK_ORDERS_MAX = WALK_OPERATIONS,
  WALK_LINES_MAX = 4,
};

typedef enum walk_op {
  OP_CREATE_CUSTOMER,
  OP_CREATE_ORDER,
  OP_UPDATE_LINES,
  OP_HOLD,
  OP_RELEASE,
  OP_SUBMIT,
  OP_INVOICE,
  OP_CANCEL_ORDER,
  OP_CANCEL_LINES,
  OP_COUNT
} walk_op;

static const char *const OP_NAMES[OP_COUNT] = {"CreateCustomer", "CreateOrder", "UpdateOrderLines",
                                               "HoldOrder",      "ReleaseHold", "SubmitOrder",
                                               "InvoiceOrder",   "CancelOrder", "CancelLines"};
static const int OP_WEIGHTS[OP_COUNT] = {1, 5, 2, 2, 2, 4, 6, 1, 2};
static const char *const WALK_CURRENCIES[] = {"USD", "JPY", "BHD"};
static const char *const WALK_HOLD_CODES[] = {"CREDIT_REVIEW", "FRAUD_REVIEW"};
static const char *const WALK_CHARGE_CODES[] = {"SHIPPING", "HANDLING", "GIFT_WRAP"};
static const int32_t WALK_TAX_RATES[] = {0, 500, 825, 1000, 2000};

typedef struct walk_line {
  int64_t quantity, invoiced, cancelled;
} walk_line;

typedef struct walk_order {
  char id[TEST_ID_BYTES];
  size_t customer;
  Ccpay__V1__OrderStatus status;
  const char *hold; /* NULL when not held */
  size_t n_lines;
  walk_line lines[WALK_LINES_MAX];
  int64_t whole_total; /* every line and charge with its tax, computed here */
  int64_t invoiced;    /* sum of this order's invoice totals */
} walk_order;

typedef struct walk_customer {
  char id[TEST_ID_BYTES];
  const char *currency;
  int64_t invoiced;
} walk_customer;

typedef struct walk {
  test_client *client;
  uint64_t rng;
  walk_customer customers[WALK_CUSTOMERS_MAX];
  size_t n_customers;
  walk_order orders[WALK_ORDERS_MAX];
  size_t n_orders;
  int64_t entries;       /* journal entries expected: invoices with a non-zero total */
  int done[OP_COUNT];    /* applied */
  int refused[OP_COUNT]; /* refused as the model predicted */
} walk;

static uint64_t walk_next(walk *w) { /* splitmix64 */
  uint64_t z = (w->rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A uniform number in [low, high]. */
static int64_t walk_range(walk *w, int64_t low, int64_t high) {
  return low + (int64_t)(walk_next(w) % (uint64_t)(high - low + 1));
}

#define WALK_PICK(w, array) ((array)[walk_range((w), 0, sizeof(array) / sizeof((array)[0]) - 1)])

/* round_half_even(amount × rate_bp / 10000) for amount ≥ 0: the documented tax rule,
 * computed independently of the server. */
static int64_t tax_of(int64_t amount, int32_t rate_bp) {
  int64_t product = amount * rate_bp, quotient = product / 10000, rest = product % 10000;
  if (rest > 5000 || (rest == 5000 && quotient % 2 == 1)) quotient++;
  return quotient;
}

/* Random lines and charges for order o (its model lines reset) in currency. */
static void walk_draft(walk *w, walk_order *o, const char *customer, const char *currency,
                       order_draft *d) {
  order_draft_init(d, customer, currency);
  o->n_lines = (size_t)walk_range(w, 1, WALK_LINES_MAX);
  o->whole_total = 0;
  for (size_t i = 0; i < o->n_lines; i++) {
    int64_t quantity = walk_range(w, 1, 5), price = walk_range(w, 0, 5000);
    int64_t discount = walk_range(w, 0, 3) == 0 ? walk_range(w, 0, quantity * price) : 0;
    int32_t rate = WALK_PICK(w, WALK_TAX_RATES);
    order_draft_line(d, "SKU-W", quantity, price, discount, rate);
    o->lines[i] = (walk_line){.quantity = quantity};
    o->whole_total += quantity * price - discount + tax_of(quantity * price - discount, rate);
  }
  for (int64_t i = walk_range(w, 0, 2); i > 0; i--) {
    int64_t amount = walk_range(w, 0, 1500);
    int32_t rate = WALK_PICK(w, WALK_TAX_RATES);
    order_draft_charge(d, WALK_PICK(w, WALK_CHARGE_CODES), amount, rate);
    o->whole_total += amount + tax_of(amount, rate);
  }
}

static bool walk_open_status(Ccpay__V1__OrderStatus s) {
  return s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN ||
         s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED ||
         s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED;
}

/* Whether docs/ORDERS.md allows op on o as the model has it. */
static bool walk_allowed(const walk_order *o, walk_op op) {
  Ccpay__V1__OrderStatus s = o->status;
  bool invoicable = s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED ||
                    s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED;
  switch (op) {
    case OP_UPDATE_LINES:
      return s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN;
    case OP_HOLD:
      return walk_open_status(s) && o->hold == NULL;
    case OP_RELEASE:
      return walk_open_status(s) && o->hold != NULL;
    case OP_SUBMIT:
      return s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN && o->hold == NULL;
    case OP_INVOICE:
      return invoicable && o->hold == NULL;
    case OP_CANCEL_ORDER:
      return s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN ||
             s == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED;
    case OP_CANCEL_LINES:
      return walk_open_status(s);
    default:
      return false;
  }
}

static int64_t walk_left(const walk_line *line) {
  return line->quantity - line->invoiced - line->cancelled;
}

/* The status after invoicing or cancelling, as docs/ORDERS.md settles it. */
static void walk_settle(walk_order *o) {
  bool left = false, invoiced = false;
  for (size_t i = 0; i < o->n_lines; i++) {
    left |= walk_left(&o->lines[i]) > 0;
    invoiced |= o->lines[i].invoiced > 0;
  }
  if (left && invoiced) o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED;
  if (!left) {
    o->status = invoiced ? CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED
                         : CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED;
    o->hold = NULL;
  }
}

/* The server's order agrees with the model. */
static void walk_check_order(const walk *w, const walk_order *o, const Ccpay__V1__Order *got) {
  const char *currency = w->customers[o->customer].currency;
  if (got->status != o->status) {
    fail_msg("order %s is %d, the model says %d", o->id, got->status, o->status);
  }
  assert_int_equal(got->hold != NULL, o->hold != NULL);
  if (o->hold != NULL) assert_string_equal(got->hold->code, o->hold);
  assert_int_equal(got->n_lines, o->n_lines);
  for (size_t i = 0; i < o->n_lines; i++) {
    assert_int_equal(got->lines[i]->quantity_invoiced, o->lines[i].invoiced);
    assert_int_equal(got->lines[i]->quantity_cancelled, o->lines[i].cancelled);
  }
  const Ccpay__V1__OrderTotals *t = got->totals;
  assert_money(t->invoiced_total, currency, o->invoiced, "invoiced_total");
  /* What stands plus what was cancelled is the whole order, cent for cent. */
  assert_money(t->total, currency, o->whole_total - t->cancelled_total->amount_minor, "total");
  if (o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED) {
    assert_money(t->invoiced_total, currency, t->total->amount_minor, "invoiced = total");
  }
  if (o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED) {
    assert_money(t->total, currency, 0, "total of a cancelled order");
  }
}

/* Checks the reply of an order action: refused when the model did not allow it, else
 * applied (the caller has updated the model) and agreeing with the model. */
static void walk_expect(walk *w, const walk_order *o, walk_op op, bool allowed, test_reply *r,
                        const void *got) {
  if (!allowed) {
    expect_invalid_state(r, o->id);
    w->refused[op]++;
    return;
  }
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  walk_check_order(w, o, got);
  w->done[op]++;
}

/* The order op acts on: four times in five one that allows it (when there is one), else
 * any order, so both applied and refused actions happen often. */
static walk_order *walk_some_order(walk *w, walk_op op) {
  size_t allowed[WALK_ORDERS_MAX], count = 0;
  for (size_t i = 0; i < w->n_orders; i++) {
    if (walk_allowed(&w->orders[i], op)) allowed[count++] = i;
  }
  if (count > 0 && walk_range(w, 0, 4) > 0) {
    return &w->orders[allowed[walk_range(w, 0, (int64_t)count - 1)]];
  }
  return &w->orders[walk_range(w, 0, (int64_t)w->n_orders - 1)];
}

static void walk_create_customer(walk *w) {
  walk_customer *c = &w->customers[w->n_customers++];
  c->currency = WALK_PICK(w, WALK_CURRENCIES);
  new_customer(w->client, c->currency, (int32_t)walk_range(w, 0, 365), c->id);
  w->done[OP_CREATE_CUSTOMER]++;
}

static void walk_create_order(walk *w) {
  walk_order *o = &w->orders[w->n_orders];
  o->customer = (size_t)walk_range(w, 0, (int64_t)w->n_customers - 1);
  const walk_customer *c = &w->customers[o->customer];
  order_draft d;
  walk_draft(w, o, c->id, c->currency, &d);
  test_reply r;
  call_create_order(w->client, next_rid("walk-create").text, &d, &r);
  const Ccpay__V1__Order *got = ok(&r);
  snprintf(o->id, sizeof o->id, "%s", got->id);
  o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN;
  w->n_orders++;
  walk_check_order(w, o, got);
  test_reply_clear(&r);
  w->done[OP_CREATE_ORDER]++;
}

static void walk_update_lines(walk *w, walk_order *o) {
  walk_order proposed = *o;
  order_draft d;
  walk_draft(w, &proposed, w->customers[o->customer].id, w->customers[o->customer].currency, &d);
  bool allowed = walk_allowed(o, OP_UPDATE_LINES);
  test_reply r;
  update_lines(w->client, next_rid("walk-update").text, o->id, &d, &r);
  if (allowed) *o = proposed;
  walk_expect(w, o, OP_UPDATE_LINES, allowed, &r, r.message);
  test_reply_clear(&r);
}

static void walk_hold(walk *w, walk_order *o) {
  const char *code = WALK_PICK(w, WALK_HOLD_CODES);
  bool allowed = walk_allowed(o, OP_HOLD);
  test_reply r;
  hold_order(w->client, next_rid("walk-hold").text, o->id, code, &r);
  /* Held twice: the refusal names the hold already there. */
  if (!allowed && o->hold != NULL) expect_invalid_state(&r, o->hold);
  if (allowed) o->hold = code;
  walk_expect(w, o, OP_HOLD, allowed, &r, r.message);
  test_reply_clear(&r);
}

static void walk_release(walk *w, walk_order *o) {
  bool allowed = walk_allowed(o, OP_RELEASE);
  test_reply r;
  release_hold(w->client, next_rid("walk-release").text, o->id, &r);
  if (allowed) o->hold = NULL;
  walk_expect(w, o, OP_RELEASE, allowed, &r, r.message);
  test_reply_clear(&r);
}

static void walk_submit(walk *w, walk_order *o) {
  bool allowed = walk_allowed(o, OP_SUBMIT);
  test_reply r;
  call_submit_order(w->client, next_rid("walk-submit").text, o->id, &r);
  if (allowed) o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED;
  walk_expect(w, o, OP_SUBMIT, allowed, &r, r.message);
  test_reply_clear(&r);
}

/* Ships a random part of what is left (or, one time in ten, one unit too many). */
static void walk_invoice(walk *w, walk_order *o) {
  ship_spec ship[WALK_LINES_MAX];
  size_t count = 0;
  bool too_many = walk_range(w, 0, 9) == 0;
  for (size_t i = 0; i < o->n_lines; i++) {
    int64_t left = walk_left(&o->lines[i]);
    if (left == 0 || (count > 0 && walk_range(w, 0, 1) == 0)) continue;
    ship[count++] = (ship_spec){(int32_t)(i + 1), walk_range(w, 1, left)};
  }
  if (count == 0) ship[count++] = (ship_spec){1, 1}; /* nothing left: a refused call */
  if (too_many) ship[0].quantity = walk_left(&o->lines[ship[0].line_number - 1]) + 1;
  bool allowed = walk_allowed(o, OP_INVOICE);
  test_reply r;
  call_invoice_order(w->client, next_rid("walk-invoice").text, o->id, ship, count, &r);
  if (allowed && too_many) {
    assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE", "quantity");
    return;
  }
  const Ccpay__V1__InvoiceOrderResponse *resp = (const void *)r.message;
  if (allowed) {
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    for (size_t i = 0; i < count; i++)
      o->lines[ship[i].line_number - 1].invoiced += ship[i].quantity;
    int64_t total = resp->invoice->total->amount_minor;
    o->invoiced += total;
    w->customers[o->customer].invoiced += total;
    w->entries += total != 0;
    assert_int_equal(resp->invoice->entry_sequence, total != 0 ? w->entries : 0);
    walk_settle(o);
  }
  walk_expect(w, o, OP_INVOICE, allowed, &r, resp != NULL ? resp->order : NULL);
  test_reply_clear(&r);
}

static void walk_cancel_order(walk *w, walk_order *o) {
  bool allowed = walk_allowed(o, OP_CANCEL_ORDER);
  test_reply r;
  cancel_order(w->client, next_rid("walk-cancel").text, o->id, &r);
  if (allowed) {
    for (size_t i = 0; i < o->n_lines; i++) o->lines[i].cancelled = o->lines[i].quantity;
    o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED;
    o->hold = NULL;
  }
  walk_expect(w, o, OP_CANCEL_ORDER, allowed, &r, r.message);
  test_reply_clear(&r);
}

static void walk_cancel_lines(walk *w, walk_order *o) {
  int32_t numbers[WALK_LINES_MAX];
  size_t count = 0;
  for (size_t i = 0; i < o->n_lines; i++) {
    bool pick = walk_left(&o->lines[i]) > 0 && (count == 0 || walk_range(w, 0, 2) == 0);
    if (pick) numbers[count++] = (int32_t)(i + 1);
  }
  if (count == 0) numbers[count++] = 1; /* nothing left: a refused call */
  bool allowed = walk_allowed(o, OP_CANCEL_LINES);
  test_reply r;
  cancel_lines(w->client, next_rid("walk-cancel-lines").text, o->id, numbers, count, &r);
  if (allowed) {
    for (size_t i = 0; i < count; i++) {
      walk_line *line = &o->lines[numbers[i] - 1];
      line->cancelled += walk_left(line);
    }
    walk_settle(o);
  }
  walk_expect(w, o, OP_CANCEL_LINES, allowed, &r, r.message);
  test_reply_clear(&r);
}

static walk_op walk_choose(walk *w) {
  if (w->n_customers == 0) return OP_CREATE_CUSTOMER;
  if (w->n_orders == 0) return OP_CREATE_ORDER;
  int sum = 0;
  for (int op = 0; op < OP_COUNT; op++) sum += OP_WEIGHTS[op];
  int pick = (int)walk_range(w, 0, sum - 1);
  walk_op op = 0;
  while (pick >= OP_WEIGHTS[op]) pick -= OP_WEIGHTS[op++];
  if (op == OP_CREATE_CUSTOMER && w->n_customers == WALK_CUSTOMERS_MAX) op = OP_CREATE_ORDER;
  return op;
}

typedef void (*walk_order_fn)(walk *w, walk_order *o);

static void walk_step(walk *w) {
  static const walk_order_fn order_ops[OP_COUNT] = {
      [OP_UPDATE_LINES] = walk_update_lines, [OP_HOLD] = walk_hold,
      [OP_RELEASE] = walk_release,           [OP_SUBMIT] = walk_submit,
      [OP_INVOICE] = walk_invoice,           [OP_CANCEL_ORDER] = walk_cancel_order,
      [OP_CANCEL_LINES] = walk_cancel_lines,
  };
  walk_op op = walk_choose(w);
  if (op == OP_CREATE_CUSTOMER) {
    walk_create_customer(w);
  } else if (op == OP_CREATE_ORDER) {
    walk_create_order(w);
  } else {
    order_ops[op](w, walk_some_order(w, op));
  }
}

/* Every order as stored agrees with the model, and the status and hold listings hold
 * exactly the orders the model puts there. */
static void walk_check_listings(walk *w) {
  for (size_t i = 0; i < w->n_orders; i++) {
    test_reply r;
    get_order(w->client, w->orders[i].id, &r);
    walk_check_order(w, &w->orders[i], ok(&r));
    test_reply_clear(&r);
  }
  for (int s = 1; s <= 5; s++) {
    Ccpay__V1__ListOrdersRequest request = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
    request.status = s;
    size_t want = 0;
    for (size_t i = 0; i < w->n_orders; i++) want += (int)w->orders[i].status == s;
    assert_int_equal(list_order_ids(w->client, request, NULL, 0), want);
  }
  for (size_t h = 0; h < sizeof WALK_HOLD_CODES / sizeof WALK_HOLD_CODES[0]; h++) {
    Ccpay__V1__ListOrdersRequest request = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
    request.hold_code = (char *)WALK_HOLD_CODES[h];
    size_t want = 0;
    for (size_t i = 0; i < w->n_orders; i++) {
      want += w->orders[i].hold != NULL && strcmp(w->orders[i].hold, WALK_HOLD_CODES[h]) == 0;
    }
    assert_int_equal(list_order_ids(w->client, request, NULL, 0), want);
  }
}

static int64_t count_entries(test_client *client) {
  int64_t count = 0, after = 0;
  for (int pages = 0; pages < LISTING_PAGES_MAX; pages++) {
    test_reply r;
    call_list_entries(client, after, 50, &r);
    const Ccpay__V1__ListEntriesResponse *page = ok(&r);
    count += (int64_t)page->n_entries;
    after = page->next_after_sequence;
    test_reply_clear(&r);
    if (after == 0) return count;
  }
  fail_msg("ListEntries pages past %d pages", LISTING_PAGES_MAX);
  return -1;
}

static void walk_check_books(walk *w) {
  assert_int_equal(expect_trial_balance_zero(w->client), w->entries);
  assert_int_equal(count_entries(w->client), w->entries);
  for (size_t i = 0; i < w->n_customers; i++) {
    const walk_customer *c = &w->customers[i];
    if (customer_balance(w->client, c->id, c->currency) != c->invoiced) {
      fail_msg("customer %s: balance %" PRId64 ", invoiced %" PRId64, c->id,
               customer_balance(w->client, c->id, c->currency), c->invoiced);
    }
  }
}

/* Stops ccpayd and runs `ccpay-admin verify` on its data directory. The client goes first:
 * gRPC's shutdown waits (up to the drain) for connected clients to leave. */
static void verify_offline(ccpayd_fixture *f) {
  test_client_destroy(f->client);
  f->client = NULL;
  char why[VERIFY_OUTPUT_BYTES];
  if (!ccpayd_stop_and_verify(&f->server, why, sizeof why)) fail_msg("%s", why);
  print_message("%s", why);
}

static void random_walk_keeps_the_books(void **state) {
  ccpayd_fixture *f = *state;
  static walk w; /* large: keep it off the stack */
  memset(&w, 0, sizeof w);
  w.client = f->client;
  const char *seed_text = getenv("CCPAY_PROPERTY_SEED");
  uint64_t seed = seed_text != NULL ? strtoull(seed_text, NULL, 10) : WALK_DEFAULT_SEED;
  w.rng = seed;
  print_message("random walk: seed %" PRIu64 " (CCPAY_PROPERTY_SEED=%" PRIu64 " replays it)\n",
                seed, seed);
  for (int i = 0; i < WALK_OPERATIONS; i++) walk_step(&w);
  for (int op = 0; op < OP_COUNT; op++)
    print_message("  %-16s %3d applied, %3d refused\n", OP_NAMES[op], w.done[op], w.refused[op]);
  walk_check_listings(&w);
  walk_check_books(&w);
  verify_offline(f);
  f->passed = true;
}

#define ORDER_TEST(name) \
  cmocka_unit_test_setup_teardown(name, ccpayd_fixture_setup, ccpayd_fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      ORDER_TEST(order_life_with_ledger_after_each_step),
      ORDER_TEST(yen_order_has_whole_yen_totals),
      ORDER_TEST(cancel_lines_then_invoice_the_rest),
      ORDER_TEST(cancel_open_order_and_refuse_after_invoice),
      ORDER_TEST(bad_orders_are_refused_naming_the_field),
      ORDER_TEST(malformed_order_ids_are_refused),
      ORDER_TEST(create_order_retry_returns_the_same_order),
      ORDER_TEST(invoice_retry_returns_the_same_invoice_and_posts_once),
      ORDER_TEST(list_orders_filters_and_pages_newest_first),
      ORDER_TEST(random_walk_keeps_the_books),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
