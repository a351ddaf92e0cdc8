/* The out-of-balance review and refund check processing, on the real ccpayd over gRPC,
 * with the seed's numbers: an order of $69.99 taken on a payment hold, then paid by a
 * $100.00 prepaid check (overpaid: the queue, released to refund the excess, invoiced, a
 * $30.01 refund check auto-approved and posted, the balance back to zero) or by a $50.00
 * check (underpaid: released to bill the customer's account, which then owes $19.99);
 * a payment $0.03 short within a maximum of $0.05 (written off, no queue); out of balance
 * not allowed (refused, nothing changed); and every queue action refused where it makes
 * no sense. Each test ends with `ccpay-admin verify`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/balance_review.pb-c.h"
#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "ccpayd_fixture.h"
#include "order_calls.h"
#include "payment_calls.h"

#define REVIEW "/ccpay.v1.BalanceReviewService/"
#define ORDERS "/ccpay.v1.OrderService/"
#define RESOLUTION(x) CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_##x
#define CHECK_STATUS(x) CCPAY__V1__REFUND_CHECK_STATUS__REFUND_CHECK_STATUS_##x
#define OSTATUS(x) CCPAY__V1__ORDER_STATUS__ORDER_STATUS_##x

enum { SEED_TOTAL = 6999 };

static const void *ok(test_reply *r) {
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return r->message;
}

/* --- Parameters ------------------------------------------------------------------------- */

typedef struct review_settings {
  bool allow;
  int64_t over_under_max;     /* USD */
  int64_t write_off_max;      /* USD */
  int64_t approval_threshold; /* USD; < 0: none set */
} review_settings;

static void set_parameters(test_client *c, review_settings s) {
  Ccpay__V1__Money over = CCPAY__V1__MONEY__INIT, write_off = CCPAY__V1__MONEY__INIT,
                   threshold = CCPAY__V1__MONEY__INIT;
  over.currency_code = write_off.currency_code = threshold.currency_code = "USD";
  over.amount_minor = s.over_under_max;
  write_off.amount_minor = s.write_off_max;
  threshold.amount_minor = s.approval_threshold;
  Ccpay__V1__Money *over_list[] = {&over}, *write_off_list[] = {&write_off},
                   *threshold_list[] = {&threshold};
  Ccpay__V1__Parameters p = CCPAY__V1__PARAMETERS__INIT;
  p.allow_out_of_balance = s.allow;
  p.over_under_max = over_list;
  p.n_over_under_max = 1;
  p.review_write_off_max = write_off_list;
  p.n_review_write_off_max = 1;
  p.refund_check_approval_threshold = threshold_list;
  p.n_refund_check_approval_threshold = s.approval_threshold >= 0 ? 1 : 0;
  char *mask[] = {"allow_out_of_balance", "over_under_max", "review_write_off_max",
                  "refund_check_approval_threshold"};
  Ccpay__V1__UpdateParametersRequest req = CCPAY__V1__UPDATE_PARAMETERS_REQUEST__INIT;
  rid id = next_rid("parameters");
  req.parameters = &p;
  req.update_mask = mask;
  req.n_update_mask = 4;
  req.request_id = id.text;
  test_reply r;
  test_client_call(c, "/ccpay.v1.AdminService/UpdateParameters", &req.base,
                   &ccpay__v1__parameters__descriptor, 0, &r);
  ok(&r);
  test_reply_clear(&r);
}

/* --- The seed's order --------------------------------------------------------------------- */

typedef struct seed_order {
  char customer[TEST_ID_BYTES];
  char order[TEST_ID_BYTES];
} seed_order;

/* A customer at zero and an order of $69.99 (one lamp, no tax), taken on the payment hold
 * until the customer's check arrives; the payments department finds it by its hold code,
 * releases it and enters the prepaid check of check_amount. */
static void seed_order_paid_by_check(test_client *c, int64_t check_amount, seed_order *s) {
  test_reply r;
  call_create_customer(c, next_rid("customer").text, "Cora Check", "USD", 30, &r);
  snprintf(s->customer, sizeof s->customer, "%s", ((const Ccpay__V1__Customer *)ok(&r))->id);
  test_reply_clear(&r);
  order_draft d;
  order_draft_init(&d, s->customer, "USD");
  order_draft_line(&d, "SKU-LAMP", 1, SEED_TOTAL, 0, 0);
  call_create_order(c, next_rid("order").text, &d, &r);
  snprintf(s->order, sizeof s->order, "%s", ((const Ccpay__V1__Order *)ok(&r))->id);
  test_reply_clear(&r);

  Ccpay__V1__HoldOrderRequest hold = CCPAY__V1__HOLD_ORDER_REQUEST__INIT;
  rid hold_id = next_rid("hold");
  hold.order_id = s->order;
  hold.hold_code = "PAYMENT_PENDING";
  hold.reason = "customer pays by check";
  hold.request_id = hold_id.text;
  test_client_call(c, ORDERS "HoldOrder", &hold.base, &ccpay__v1__order__descriptor, 0, &r);
  ok(&r);
  test_reply_clear(&r);
  Ccpay__V1__ListOrdersRequest list = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
  list.hold_code = "PAYMENT_PENDING";
  test_client_call(c, ORDERS "ListOrders", &list.base, &ccpay__v1__list_orders_response__descriptor,
                   0, &r);
  const Ccpay__V1__ListOrdersResponse *held = ok(&r);
  assert_true(held->n_orders >= 1);
  assert_string_equal(held->orders[0]->id, s->order);
  test_reply_clear(&r);
  Ccpay__V1__ReleaseHoldRequest release = CCPAY__V1__RELEASE_HOLD_REQUEST__INIT;
  rid release_id = next_rid("release");
  release.order_id = s->order;
  release.request_id = release_id.text;
  test_client_call(c, ORDERS "ReleaseHold", &release.base, &ccpay__v1__order__descriptor, 0, &r);
  ok(&r);
  test_reply_clear(&r);
  call_add_check(c, next_rid("check").text, s->order, "5521", "USD", check_amount, &r);
  ok(&r);
  test_reply_clear(&r);
}

static int64_t customer_balance(test_client *c, const char *customer_id) {
  test_reply r;
  call_get_customer(c, customer_id, &r);
  const Ccpay__V1__Customer *cus = ok(&r);
  int64_t balance = cus->balance != NULL ? cus->balance->amount_minor : 0;
  test_reply_clear(&r);
  return balance;
}

/* The balance of account in USD; the trial balance must be zero. */
static int64_t balance_of(test_client *c, const char *account) {
  test_reply r;
  call_get_trial_balance(c, &r);
  const Ccpay__V1__TrialBalance *tb = ok(&r);
  int64_t balance = 0, total = 0;
  for (size_t i = 0; i < tb->n_accounts; i++) {
    total += tb->accounts[i]->balance->amount_minor;
    if (strcmp(tb->accounts[i]->account, account) == 0) {
      balance = tb->accounts[i]->balance->amount_minor;
    }
  }
  assert_int_equal(total, 0);
  test_reply_clear(&r);
  return balance;
}

static grpc_status_code release_order(test_client *c, const char *order_id,
                                      Ccpay__V1__BalanceResolution resolution, test_reply *r) {
  Ccpay__V1__ReleaseOrderRequest req = CCPAY__V1__RELEASE_ORDER_REQUEST__INIT;
  rid id = next_rid("release-order");
  req.order_id = (char *)order_id;
  req.resolution = resolution;
  req.reason = "reviewed with the customer";
  req.request_id = id.text;
  return test_client_call(c, REVIEW "ReleaseOrder", &req.base, &ccpay__v1__order__descriptor, 0, r);
}

/* PostRefundCheck of check_id with number under request_id. */
static grpc_status_code post_check(test_client *c, const char *check_id, const char *number,
                                   const char *request_id, test_reply *r) {
  Ccpay__V1__PostRefundCheckRequest post = CCPAY__V1__POST_REFUND_CHECK_REQUEST__INIT;
  post.id = (char *)check_id;
  post.check_number = (char *)number;
  post.request_id = (char *)request_id;
  return test_client_call(c, REVIEW "PostRefundCheck", &post.base,
                          &ccpay__v1__refund_check__descriptor, 0, r);
}

static void invoice_all(test_client *c, const char *order_id) {
  test_reply r;
  ship_spec ship = {1, 1};
  call_invoice_order(c, next_rid("invoice").text, order_id, &ship, 1, &r);
  ok(&r);
  test_reply_clear(&r);
}

static void verify_offline(ccpayd_fixture *f) {
  test_client_destroy(f->client);
  f->client = NULL;
  char why[1024];
  if (!ccpayd_stop_and_verify(&f->server, why, sizeof why)) fail_msg("%s", why);
  f->passed = true;
}

/* --- The seed's scenarios ---------------------------------------------------------------- */

static void overpaid_goes_to_the_queue_then_a_refund_check(void **state) {
  ccpayd_fixture *f = *state;
  test_client *c = f->client;
  set_parameters(c, (review_settings){.allow = true, .approval_threshold = 10000});
  seed_order s;
  seed_order_paid_by_check(c, 10000, &s);
  /* The prepaid check is posted when entered: the customer is in credit at once. */
  assert_int_equal(customer_balance(c, s.customer), -10000);

  test_reply r;
  call_submit_order(c, next_rid("submit").text, s.order, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->status, OSTATUS(OPEN));
  assert_non_null(o->hold);
  assert_string_equal(o->hold->code, "OUT_OF_BALANCE");
  assert_non_null(o->balance_review);
  assert_non_null(strstr(o->balance_review->message,
                         "The total payment amount and total sales amount do not balance"));
  assert_int_equal(o->balance_review->difference->amount_minor, 3001);
  test_reply_clear(&r);

  Ccpay__V1__ListOutOfBalanceOrdersRequest list =
      CCPAY__V1__LIST_OUT_OF_BALANCE_ORDERS_REQUEST__INIT;
  test_client_call(c, REVIEW "ListOutOfBalanceOrders", &list.base,
                   &ccpay__v1__list_out_of_balance_orders_response__descriptor, 0, &r);
  const Ccpay__V1__ListOutOfBalanceOrdersResponse *queue = ok(&r);
  assert_int_equal(queue->n_orders, 1);
  assert_string_equal(queue->orders[0]->id, s.order);
  test_reply_clear(&r);

  /* Overpaid: billing the account makes no sense; refunding the excess does. */
  release_order(c, s.order, RESOLUTION(BILL_TO_ACCOUNT), &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "overpaid by 30.01 USD");
  test_reply_clear(&r);
  release_order(c, s.order, RESOLUTION(REFUND_EXCESS), &r);
  o = ok(&r);
  assert_int_equal(o->status, OSTATUS(SUBMITTED));
  assert_null(o->hold);
  assert_int_equal(o->balance_review->resolution, RESOLUTION(REFUND_EXCESS));
  test_reply_clear(&r);

  invoice_all(c, s.order);
  assert_int_equal(customer_balance(c, s.customer), -3001);
  Ccpay__V1__ListRefundChecksRequest checks = CCPAY__V1__LIST_REFUND_CHECKS_REQUEST__INIT;
  checks.status = CHECK_STATUS(APPROVED);
  test_client_call(c, REVIEW "ListRefundChecks", &checks.base,
                   &ccpay__v1__list_refund_checks_response__descriptor, 0, &r);
  const Ccpay__V1__ListRefundChecksResponse *approved = ok(&r);
  assert_int_equal(approved->n_refund_checks, 1);
  const Ccpay__V1__RefundCheck *chk = approved->refund_checks[0];
  assert_int_equal(chk->amount->amount_minor, 3001);
  assert_string_equal(chk->approved_by, "auto"); /* within the approval threshold */
  assert_string_equal(chk->order_id, s.order);
  char check_id[TEST_ID_BYTES];
  snprintf(check_id, sizeof check_id, "%s", chk->id);
  test_reply_clear(&r);

  rid post_id = next_rid("post");
  post_check(c, check_id, "100234", post_id.text, &r);
  assert_int_equal(((const Ccpay__V1__RefundCheck *)ok(&r))->status, CHECK_STATUS(POSTED));
  test_reply_clear(&r);
  post_check(c, check_id, "100234", post_id.text, &r); /* a retry answers the same */
  assert_int_equal(((const Ccpay__V1__RefundCheck *)ok(&r))->status, CHECK_STATUS(POSTED));
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, s.customer), 0);
  assert_int_equal(balance_of(c, "refund_checks_payable"), 0);
  assert_int_equal(balance_of(c, "bank"), -3001);

  /* The check is never cashed: voided after posting, the bank gives the money back and
   * it is the customer's credit again; its refund line can go out another way. */
  Ccpay__V1__VoidRefundCheckRequest void_req = CCPAY__V1__VOID_REFUND_CHECK_REQUEST__INIT;
  rid void_id = next_rid("void");
  void_req.id = check_id;
  void_req.reason = "returned by the post office";
  void_req.request_id = void_id.text;
  test_client_call(c, REVIEW "VoidRefundCheck", &void_req.base,
                   &ccpay__v1__refund_check__descriptor, 0, &r);
  const Ccpay__V1__RefundCheck *voided = ok(&r);
  assert_int_equal(voided->status, CHECK_STATUS(VOID));
  assert_true(voided->void_entry_sequence > 0);
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, s.customer), -3001);
  assert_int_equal(balance_of(c, "bank"), 0);
  test_client_call(c, REVIEW "VoidRefundCheck", &void_req.base,
                   &ccpay__v1__refund_check__descriptor, 0, &r); /* a retry: the same */
  assert_int_equal(((const Ccpay__V1__RefundCheck *)ok(&r))->status, CHECK_STATUS(VOID));
  test_reply_clear(&r);
  void_req.request_id = "void-again";
  test_client_call(c, REVIEW "VoidRefundCheck", &void_req.base,
                   &ccpay__v1__refund_check__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "void already");
  test_reply_clear(&r);
  verify_offline(f);
}

static void underpaid_is_billed_to_the_account(void **state) {
  ccpayd_fixture *f = *state;
  test_client *c = f->client;
  set_parameters(c, (review_settings){.allow = true});
  seed_order s;
  seed_order_paid_by_check(c, 5000, &s);
  test_reply r;
  call_submit_order(c, next_rid("submit").text, s.order, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_string_equal(o->hold->code, "OUT_OF_BALANCE");
  assert_int_equal(o->balance_review->difference->amount_minor, -1999);
  assert_non_null(strstr(o->balance_review->message, "underpaid by 19.99 USD"));
  test_reply_clear(&r);
  release_order(c, s.order, RESOLUTION(REFUND_EXCESS), &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "underpaid");
  test_reply_clear(&r);
  release_order(c, s.order, RESOLUTION(WRITE_OFF), &r); /* no write-off limit set */
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "write-off limit");
  test_reply_clear(&r);
  release_order(c, s.order, RESOLUTION(BILL_TO_ACCOUNT), &r);
  o = ok(&r);
  assert_int_equal(o->status, OSTATUS(SUBMITTED));
  assert_int_equal(o->n_payment_ids, 2); /* the check, and the account for the rest */
  test_reply_clear(&r);
  invoice_all(c, s.order);
  assert_int_equal(customer_balance(c, s.customer), 1999); /* still owed */

  /* Returned whole: $50.00 back by refund check, $19.99 onto the customer's account. */
  Ccpay__V1__ReturnLine line = CCPAY__V1__RETURN_LINE__INIT;
  line.original_line_number = 1;
  line.quantity = 1;
  line.reason_code = "DAMAGED";
  Ccpay__V1__ReturnLine *lines[] = {&line};
  Ccpay__V1__ReturnOrder ro = CCPAY__V1__RETURN_ORDER__INIT;
  ro.customer_id = s.customer;
  ro.original_order_id = s.order;
  ro.lines = lines;
  ro.n_lines = 1;
  Ccpay__V1__CreateReturnRequest create = CCPAY__V1__CREATE_RETURN_REQUEST__INIT;
  rid create_id = next_rid("return");
  create.return_order = &ro;
  create.request_id = create_id.text;
  test_client_call(c, "/ccpay.v1.ReturnService/CreateReturn", &create.base,
                   &ccpay__v1__return_order__descriptor, 0, &r);
  Ccpay__V1__CompleteReturnRequest complete = CCPAY__V1__COMPLETE_RETURN_REQUEST__INIT;
  rid complete_id = next_rid("complete");
  complete.return_id = (char *)((const Ccpay__V1__ReturnOrder *)ok(&r))->id;
  complete.request_id = complete_id.text;
  test_reply r2;
  test_client_call(c, "/ccpay.v1.ReturnService/CompleteReturn", &complete.base,
                   &ccpay__v1__return_order__descriptor, 0, &r2);
  const Ccpay__V1__ReturnOrder *done = ok(&r2);
  assert_int_equal(done->n_refund_lines, 2);
  assert_int_equal(done->refund_lines[0]->tender_type,
                   CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CUSTOMER_ACCOUNT);
  assert_int_equal(done->refund_lines[0]->amount->amount_minor, 1999);
  assert_int_equal(done->refund_lines[1]->tender_type, CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK);
  assert_int_equal(done->refund_lines[1]->amount->amount_minor, 5000);
  test_reply_clear(&r2);
  test_reply_clear(&r);
  verify_offline(f);
}

static void within_the_maximum_is_written_off(void **state) {
  ccpayd_fixture *f = *state;
  test_client *c = f->client;
  set_parameters(c, (review_settings){.allow = false, .over_under_max = 5});
  seed_order s;
  seed_order_paid_by_check(c, SEED_TOTAL - 3, &s);
  test_reply r;
  call_submit_order(c, next_rid("submit").text, s.order, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->status, OSTATUS(SUBMITTED));
  assert_null(o->hold);
  assert_int_equal(o->balance_review->resolution, RESOLUTION(AUTO_WRITE_OFF));
  assert_int_equal(o->balance_review->difference->amount_minor, -3);
  assert_true(o->balance_review->entry_sequence > 0);
  test_reply_clear(&r);
  assert_int_equal(balance_of(c, "over_under"), 3); /* an expense */
  invoice_all(c, s.order);
  assert_int_equal(customer_balance(c, s.customer), 0);
  verify_offline(f);
}

static void not_allowed_is_refused_and_changes_nothing(void **state) {
  ccpayd_fixture *f = *state;
  test_client *c = f->client;
  set_parameters(c, (review_settings){.allow = false});
  seed_order s;
  seed_order_paid_by_check(c, 10000, &s);
  test_reply r;
  call_list_entries(c, 0, 200, &r);
  size_t entries = ((const Ccpay__V1__ListEntriesResponse *)ok(&r))->n_entries;
  test_reply_clear(&r);
  call_submit_order(c, next_rid("submit").text, s.order, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "OUT_OF_BALANCE",
               "The total payment amount and total sales amount do not balance");
  test_reply_clear(&r);
  Ccpay__V1__GetOrderRequest get = CCPAY__V1__GET_ORDER_REQUEST__INIT;
  get.id = s.order;
  test_client_call(c, ORDERS "GetOrder", &get.base, &ccpay__v1__order__descriptor, 0, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->status, OSTATUS(OPEN));
  assert_null(o->hold);
  assert_null(o->balance_review);
  test_reply_clear(&r);
  call_list_entries(c, 0, 200, &r);
  assert_int_equal(((const Ccpay__V1__ListEntriesResponse *)ok(&r))->n_entries, entries);
  test_reply_clear(&r);
  verify_offline(f);
}

/* The queue's other ways out: another payment that balances it, or cancelling it; and the
 * actions refused where they make no sense. */
static void queue_actions_only_where_they_make_sense(void **state) {
  ccpayd_fixture *f = *state;
  test_client *c = f->client;
  set_parameters(c, (review_settings){.allow = true});
  seed_order s;
  seed_order_paid_by_check(c, 5000, &s);
  test_reply r;
  release_order(c, s.order, RESOLUTION(BILL_TO_ACCOUNT), &r); /* not in the queue yet */
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "not in the out-of-balance");
  test_reply_clear(&r);
  call_submit_order(c, next_rid("submit").text, s.order, &r);
  ok(&r);
  test_reply_clear(&r);
  Ccpay__V1__ReleaseHoldRequest release = CCPAY__V1__RELEASE_HOLD_REQUEST__INIT;
  rid release_id = next_rid("release-hold");
  release.order_id = s.order;
  release.request_id = release_id.text;
  test_client_call(c, ORDERS "ReleaseHold", &release.base, &ccpay__v1__order__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "ReleaseOrder");
  test_reply_clear(&r);
  Ccpay__V1__HoldOrderRequest hold = CCPAY__V1__HOLD_ORDER_REQUEST__INIT;
  rid hold_id = next_rid("hold");
  hold.order_id = s.order;
  hold.hold_code = "OUT_OF_BALANCE";
  hold.request_id = hold_id.text;
  test_client_call(c, ORDERS "HoldOrder", &hold.base, &ccpay__v1__order__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "hold_code");
  test_reply_clear(&r);

  /* The rest arrives by a second check: out of the queue, then submitted. */
  call_add_check(c, next_rid("check").text, s.order, "5522", "USD", 1999, &r);
  ok(&r);
  test_reply_clear(&r);
  Ccpay__V1__GetOrderRequest get = CCPAY__V1__GET_ORDER_REQUEST__INIT;
  get.id = s.order;
  test_client_call(c, ORDERS "GetOrder", &get.base, &ccpay__v1__order__descriptor, 0, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_null(o->hold);
  assert_int_equal(o->balance_review->resolution, RESOLUTION(PAYMENT_ADDED));
  test_reply_clear(&r);
  call_submit_order(c, next_rid("submit").text, s.order, &r);
  assert_int_equal(((const Ccpay__V1__Order *)ok(&r))->status, OSTATUS(SUBMITTED));
  test_reply_clear(&r);

  /* Another overpaid order, cancelled from the queue: its check comes back as a refund
   * check waiting for approval (no threshold set), which is then voided. */
  seed_order t;
  seed_order_paid_by_check(c, 10000, &t);
  call_submit_order(c, next_rid("submit").text, t.order, &r);
  ok(&r);
  test_reply_clear(&r);
  Ccpay__V1__CancelQueuedOrderRequest cancel = CCPAY__V1__CANCEL_QUEUED_ORDER_REQUEST__INIT;
  rid cancel_id = next_rid("cancel");
  cancel.order_id = t.order;
  cancel.reason = "customer changed their mind";
  cancel.request_id = cancel_id.text;
  test_client_call(c, REVIEW "CancelOrder", &cancel.base, &ccpay__v1__order__descriptor, 0, &r);
  o = ok(&r);
  assert_int_equal(o->status, OSTATUS(CANCELLED));
  assert_int_equal(o->n_refund_lines, 1);
  assert_int_equal(o->refund_lines[0]->tender_type, CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK);
  assert_int_equal(o->refund_lines[0]->amount->amount_minor, 10000);
  char check_id[TEST_ID_BYTES];
  snprintf(check_id, sizeof check_id, "%s", o->refund_lines[0]->refund_check_id);
  test_reply_clear(&r);
  rid post_id = next_rid("post");
  post_check(c, check_id, "100235", post_id.text, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "PENDING_APPROVAL");
  test_reply_clear(&r);
  Ccpay__V1__VoidRefundCheckRequest void_req = CCPAY__V1__VOID_REFUND_CHECK_REQUEST__INIT;
  rid void_id = next_rid("void");
  void_req.id = check_id;
  void_req.reason = "customer asked for a store credit instead";
  void_req.request_id = void_id.text;
  test_client_call(c, REVIEW "VoidRefundCheck", &void_req.base,
                   &ccpay__v1__refund_check__descriptor, 0, &r);
  assert_int_equal(((const Ccpay__V1__RefundCheck *)ok(&r))->status, CHECK_STATUS(VOID));
  test_reply_clear(&r);
  get.id = t.order;
  test_client_call(c, ORDERS "GetOrder", &get.base, &ccpay__v1__order__descriptor, 0, &r);
  o = ok(&r);
  assert_int_equal(o->refund_lines[0]->status,
                   CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_FAILED);
  assert_non_null(strstr(o->refund_lines[0]->message, "voided"));
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, t.customer), -10000); /* the credit is theirs again */
  verify_offline(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(overpaid_goes_to_the_queue_then_a_refund_check,
                                      ccpayd_fixture_setup, ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(underpaid_is_billed_to_the_account, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(within_the_maximum_is_written_off, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(not_allowed_is_refused_and_changes_nothing,
                                      ccpayd_fixture_setup, ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(queue_actions_only_where_they_make_sense,
                                      ccpayd_fixture_setup, ccpayd_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
