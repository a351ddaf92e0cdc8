/* Returns, refunds to the original tender, overrides and excess funds, end to end: the
 * real ccpayd with its three real adapters against the real ccpay-procsim, driven over
 * gRPC. The seed's return (an order paid $50 by check and $19.99 on account gives back
 * $50 by refund check and $19.99 to the account); a card return split across two cards
 * with procsim's money equal to ccpay's and every over-refund refused; every override
 * path (no right, the code, a wrong code, the lock) with an unlinked refund refused by
 * Stripe before any processor call and allowed by Adyen where the account allows it;
 * advance credit; a replacement order paid with the return's credit; excess funds of a
 * cancelled, paid order (AUTO, OPTIONAL to a gift card, NONE). Each test ends with
 * `ccpay-admin verify`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/balance_review.pb-c.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "ccpay/v1/stored_value.pb-c.h"
#include "ccpayd_fixture.h" /* assert_reply, ccpayd_client_for_role */
#include "order_calls.h"
#include "payment_calls.h"
#include "payments_fixture.h"

#define RETURNS "/ccpay.v1.ReturnService/"
#define ADMIN "/ccpay.v1.AdminService/"
#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define LINE(x) CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_##x
#define DERIVED(x) CCPAY__V1__REFUND_DERIVATION__REFUND_DERIVATION_##x
#define RSTATUS(x) CCPAY__V1__RETURN_STATUS__RETURN_STATUS_##x

enum { OVERRIDE_CODE_FAILURES = 5 };

static const char override_code[] = "Counter7Override";

static const void *ok(test_reply *r) {
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return r->message;
}

/* --- Orders to return ------------------------------------------------------------------- */

typedef struct order_ids {
  char customer[TEST_ID_BYTES];
  char order[TEST_ID_BYTES];
  char payments[4][TEST_ID_BYTES];
} order_ids;

/* A customer and an order: line 1 is 2 × 10.00, line 2 is 1 × price2; no tax. */
static void make_order(test_client *c, int64_t price2, order_ids *ids) {
  test_reply r;
  call_create_customer(c, next_rid("customer").text, "Ines Moreau", "USD", 30, &r);
  snprintf(ids->customer, sizeof ids->customer, "%s", ((const Ccpay__V1__Customer *)ok(&r))->id);
  test_reply_clear(&r);
  order_draft d;
  order_draft_init(&d, ids->customer, "USD");
  order_draft_line(&d, "SKU-MUG", 2, 1000, 0, 0);
  order_draft_line(&d, "SKU-LAMP", 1, price2, 0, 0);
  call_create_order(c, next_rid("order").text, &d, &r);
  snprintf(ids->order, sizeof ids->order, "%s", ((const Ccpay__V1__Order *)ok(&r))->id);
  test_reply_clear(&r);
}

static void add_card(test_client *c, order_ids *ids, int slot, const char *processor,
                     const char *token, int64_t amount) {
  test_reply r;
  call_add_card(c, next_rid("card").text, ids->order, processor, token, "Ines Moreau", "10001",
                "USD", amount, &r);
  snprintf(ids->payments[slot], TEST_ID_BYTES, "%s", ((const Ccpay__V1__Payment *)ok(&r))->id);
  test_reply_clear(&r);
}

static void add_tender(test_client *c, order_ids *ids, int slot, Ccpay__V1__TenderType tender,
                       const char *reference, int64_t amount) {
  test_reply r;
  call_add_tender(c, next_rid("tender").text, ids->order, tender, reference, "USD", amount, &r);
  snprintf(ids->payments[slot], TEST_ID_BYTES, "%s", ((const Ccpay__V1__Payment *)ok(&r))->id);
  test_reply_clear(&r);
}

/* Submits the order and invoices every line. */
static void submit_and_invoice(test_client *c, const order_ids *ids) {
  test_reply r;
  call_submit_order(c, next_rid("submit").text, ids->order, &r);
  ok(&r);
  test_reply_clear(&r);
  ship_spec ship[] = {{1, 2}, {2, 1}};
  call_invoice_order(c, next_rid("invoice").text, ids->order, ship, 2, &r);
  const Ccpay__V1__InvoiceOrderResponse *inv = ok(&r);
  for (size_t i = 0; i < inv->n_captures; i++) {
    assert_int_equal(inv->captures[i]->state,
                     CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_SUCCEEDED);
  }
  test_reply_clear(&r);
}

/* An order of 50.00 paid whole by a Stripe card, submitted and invoiced (captured). */
static void card_paid_order(test_client *c, order_ids *ids) {
  make_order(c, 3000, ids);
  add_card(c, ids, 0, "stripe", "pm_card_visa", 5000);
  submit_and_invoice(c, ids);
}

/* --- ReturnService calls ---------------------------------------------------------------- */

typedef struct return_spec {
  int32_t line;
  int64_t quantity;
} return_spec;

static grpc_status_code create_return(test_client *c, const order_ids *ids,
                                      const return_spec *lines, size_t n, test_reply *r) {
  Ccpay__V1__ReturnLine rl[4];
  Ccpay__V1__ReturnLine *ptrs[4];
  assert_true(n <= 4);
  for (size_t i = 0; i < n; i++) {
    ccpay__v1__return_line__init(&rl[i]);
    rl[i].original_line_number = lines[i].line;
    rl[i].quantity = lines[i].quantity;
    rl[i].reason_code = "DAMAGED";
    ptrs[i] = &rl[i];
  }
  Ccpay__V1__ReturnOrder ro = CCPAY__V1__RETURN_ORDER__INIT;
  ro.customer_id = (char *)ids->customer;
  ro.original_order_id = (char *)ids->order;
  ro.lines = ptrs;
  ro.n_lines = n;
  Ccpay__V1__CreateReturnRequest req = CCPAY__V1__CREATE_RETURN_REQUEST__INIT;
  req.return_order = &ro;
  rid id = next_rid("create-return");
  req.request_id = id.text;
  return test_client_call(c, RETURNS "CreateReturn", &req.base,
                          &ccpay__v1__return_order__descriptor, 0, r);
}

/* A return step that takes return_id and request_id (Complete, Submit, Invoice). */
static grpc_status_code return_step(test_client *c, const char *method, const char *return_id,
                                    test_reply *r) {
  Ccpay__V1__CompleteReturnRequest req = CCPAY__V1__COMPLETE_RETURN_REQUEST__INIT;
  _Static_assert(sizeof req == sizeof(Ccpay__V1__SubmitReturnRequest) &&
                     sizeof req == sizeof(Ccpay__V1__InvoiceReturnRequest),
                 "the three requests are return_id and request_id");
  rid id = next_rid(method);
  req.return_id = (char *)return_id;
  req.request_id = id.text;
  char full[96];
  snprintf(full, sizeof full, RETURNS "%s", method);
  return test_client_call(c, full, &req.base, &ccpay__v1__return_order__descriptor, 0, r);
}

/* Runs method on return_id and expects OK; the reply stays in r. */
static const Ccpay__V1__ReturnOrder *step_ok(test_client *c, const char *method,
                                             const char *return_id, test_reply *r) {
  return_step(c, method, return_id, r);
  return ok(r);
}

/* A new return of lines against ids' order, completed (refunds computed) when complete;
 * its id into return_id. */
static void new_return(test_client *c, const order_ids *ids, const return_spec *lines, size_t n,
                       bool complete, char return_id[TEST_ID_BYTES]) {
  test_reply r;
  create_return(c, ids, lines, n, &r);
  snprintf(return_id, TEST_ID_BYTES, "%s", ((const Ccpay__V1__ReturnOrder *)ok(&r))->id);
  test_reply_clear(&r);
  if (!complete) return;
  step_ok(c, "CompleteReturn", return_id, &r);
  test_reply_clear(&r);
}

static void expect_line(const Ccpay__V1__ReturnOrder *ro, size_t i, Ccpay__V1__TenderType tender,
                        int64_t amount, Ccpay__V1__RefundDerivation how, const char *source) {
  assert_true(i < ro->n_refund_lines);
  const Ccpay__V1__RefundLine *l = ro->refund_lines[i];
  if (l->tender_type != tender || l->amount->amount_minor != amount || l->derivation != how ||
      (source != NULL && strcmp(l->source_payment_id, source) != 0)) {
    fail_msg(
        "refund line %zu: tender %d amount %lld derivation %d source %s; expected %d %lld %d "
        "%s",
        i, l->tender_type, (long long)l->amount->amount_minor, l->derivation, l->source_payment_id,
        tender, (long long)amount, how, source ? source : "(any)");
  }
}

static grpc_status_code override_line(test_client *c, const char *return_id, int32_t line,
                                      Ccpay__V1__TenderType tender, Ccpay__V1__CardDetails *card,
                                      const char *code, test_reply *r) {
  Ccpay__V1__OverrideRefundPaymentRequest req = CCPAY__V1__OVERRIDE_REFUND_PAYMENT_REQUEST__INIT;
  rid id = next_rid("override");
  req.return_id = (char *)return_id;
  req.line_number = line;
  req.tender_type = tender;
  req.card = card;
  req.override_code = (char *)code;
  req.reason = "customer closed the original card";
  req.request_id = id.text;
  return test_client_call(c, RETURNS "OverrideRefundPayment", &req.base,
                          &ccpay__v1__return_order__descriptor, 0, r);
}

/* --- AdminService calls ----------------------------------------------------------------- */

static void update_parameters(test_client *c, Ccpay__V1__Parameters *p, const char *field) {
  Ccpay__V1__UpdateParametersRequest req = CCPAY__V1__UPDATE_PARAMETERS_REQUEST__INIT;
  rid id = next_rid("parameters");
  char *mask[] = {(char *)field};
  req.parameters = p;
  req.update_mask = mask;
  req.n_update_mask = 1;
  req.request_id = id.text;
  test_reply r;
  test_client_call(c, ADMIN "UpdateParameters", &req.base, &ccpay__v1__parameters__descriptor, 0,
                   &r);
  ok(&r);
  test_reply_clear(&r);
}

static void set_excess_funds(test_client *c, Ccpay__V1__RefundExcessFunds setting) {
  Ccpay__V1__Parameters p = CCPAY__V1__PARAMETERS__INIT;
  p.refund_excess_funds = setting;
  update_parameters(c, &p, "refund_excess_funds");
}

static void set_override_code(test_client *c) {
  Ccpay__V1__SetOverrideCodeRequest req = CCPAY__V1__SET_OVERRIDE_CODE_REQUEST__INIT;
  rid id = next_rid("code");
  req.code = (char *)override_code;
  req.request_id = id.text;
  test_reply r;
  test_client_call(c, ADMIN "SetOverrideCode", &req.base,
                   &ccpay__v1__set_override_code_response__descriptor, 0, &r);
  ok(&r);
  test_reply_clear(&r);
}

/* --- Refund checks ---------------------------------------------------------------------- */

#define REVIEW "/ccpay.v1.BalanceReviewService/"

/* Approves refund check id (when it waits for approval) and posts it with a number: the
 * money leaves the customer's credit for the bank. */
static void approve_and_post(test_client *c, const char *id) {
  test_reply r;
  Ccpay__V1__ApproveRefundCheckRequest approve = CCPAY__V1__APPROVE_REFUND_CHECK_REQUEST__INIT;
  rid approve_id = next_rid("approve");
  approve.id = (char *)id;
  approve.request_id = approve_id.text;
  test_client_call(c, REVIEW "ApproveRefundCheck", &approve.base,
                   &ccpay__v1__refund_check__descriptor, 0, &r);
  if (r.status != GRPC_STATUS_OK)
    assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, NULL, "APPROVED");
  test_reply_clear(&r);
  Ccpay__V1__PostRefundCheckRequest post = CCPAY__V1__POST_REFUND_CHECK_REQUEST__INIT;
  rid post_id = next_rid("post");
  post.id = (char *)id;
  post.check_number = "900101";
  post.request_id = post_id.text;
  test_client_call(c, REVIEW "PostRefundCheck", &post.base, &ccpay__v1__refund_check__descriptor, 0,
                   &r);
  const Ccpay__V1__RefundCheck *posted = ok(&r);
  assert_int_equal(posted->status, CCPAY__V1__REFUND_CHECK_STATUS__REFUND_CHECK_STATUS_POSTED);
  assert_string_equal(posted->check_number, "900101");
  test_reply_clear(&r);
}

/* --- Checking money --------------------------------------------------------------------- */

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
  assert_int_equal(total, 0); /* the trial balance */
  test_reply_clear(&r);
  return balance;
}

static int64_t customer_balance(test_client *c, const char *customer_id) {
  char account[64];
  snprintf(account, sizeof account, "receivable:%s", customer_id);
  return balance_of(c, account);
}

static Ccpay__V1__Payment *get_payment(test_client *c, const char *id, test_reply *r) {
  call_get_payment(c, id, r);
  return (Ccpay__V1__Payment *)ok(r);
}

/* procsim's record of a card payment equals ccpay's: captured and refunded. */
static void assert_procsim_matches(payments_fixture *f, const char *payment_id) {
  test_reply r;
  char why[512];
  Ccpay__V1__Payment *p = get_payment(f->client, payment_id, &r);
  if (!payments_fixture_procsim_matches(f, p, why, sizeof why)) fail_msg("%s", why);
  test_reply_clear(&r);
}

static size_t procsim_payment_count(payments_fixture *f) {
  procsim_ledger *ledger = malloc(sizeof *ledger);
  assert_non_null(ledger);
  assert_true(procsim_read_ledger(&f->control, ledger));
  size_t n = ledger->count;
  free(ledger);
  return n;
}

static void verify_offline(payments_fixture *f) {
  char why[1024];
  if (!payments_fixture_verify(f, why, sizeof why)) fail_msg("%s", why);
  f->passed = true;
}

/* --- The seed's return ------------------------------------------------------------------ */

/* An order of 69.99 paid $50.00 by check and $19.99 on account, returned whole: $19.99 back
 * to the customer's account and $50.00 by refund check; the customer's balance ends at 0. */
static void seed_check_and_account_return(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  make_order(c, 4999, &ids); /* 2000 + 4999 = 69.99 */
  add_tender(c, &ids, 0, TENDER(CHECK), "1001", 5000);
  add_tender(c, &ids, 1, TENDER(CUSTOMER_ACCOUNT), NULL, 1999);
  submit_and_invoice(c, &ids);
  assert_int_equal(customer_balance(c, ids.customer), 1999);

  test_reply r;
  create_return(c, &ids, (return_spec[]){{1, 2}, {2, 1}}, 2, &r);
  const Ccpay__V1__ReturnOrder *ro = ok(&r);
  assert_int_equal(ro->totals->total->amount_minor, 6999);
  char return_id[TEST_ID_BYTES];
  snprintf(return_id, sizeof return_id, "%s", ro->id);
  test_reply_clear(&r);

  ro = step_ok(c, "CompleteReturn", return_id, &r);
  assert_int_equal(ro->status, RSTATUS(COMPLETED));
  assert_int_equal(ro->n_refund_lines, 2);
  expect_line(ro, 0, TENDER(CUSTOMER_ACCOUNT), 1999, DERIVED(CUSTOMER_ACCOUNT), ids.payments[1]);
  expect_line(ro, 1, TENDER(CHECK), 5000, DERIVED(CURRENCY_REFUND_METHOD), ids.payments[0]);
  test_reply_clear(&r);
  ro = step_ok(c, "SubmitReturn", return_id, &r);
  assert_int_equal(ro->refund_lines[1]->status, LINE(PENDING)); /* no advance credit */
  test_reply_clear(&r);

  ro = step_ok(c, "InvoiceReturn", return_id, &r);
  assert_int_equal(ro->status, RSTATUS(INVOICED));
  assert_int_equal(ro->refund_lines[0]->status, LINE(ISSUED));
  assert_int_equal(ro->refund_lines[1]->status, LINE(ISSUED));
  assert_int_equal(ro->totals->issued_total->amount_minor, 6999);
  char check_id[TEST_ID_BYTES];
  snprintf(check_id, sizeof check_id, "%s", ro->refund_lines[1]->refund_check_id);
  test_reply_clear(&r);

  Ccpay__V1__GetRefundCheckRequest get = CCPAY__V1__GET_REFUND_CHECK_REQUEST__INIT;
  get.id = check_id;
  test_client_call(c, RETURNS "GetRefundCheck", &get.base, &ccpay__v1__refund_check__descriptor, 0,
                   &r);
  const Ccpay__V1__RefundCheck *chk = ok(&r);
  assert_int_equal(chk->amount->amount_minor, 5000);
  assert_int_equal(chk->status,
                   CCPAY__V1__REFUND_CHECK_STATUS__REFUND_CHECK_STATUS_PENDING_APPROVAL);
  assert_string_equal(chk->return_id, return_id);
  test_reply_clear(&r);
  /* The $50.00 is the customer's credit until the check is posted. */
  assert_int_equal(customer_balance(c, ids.customer), -5000);
  approve_and_post(c, check_id);
  assert_int_equal(customer_balance(c, ids.customer), 0);
  assert_int_equal(balance_of(c, "refund_checks_payable"), 0);
  assert_int_equal(balance_of(c, "bank"), -5000);

  /* Everything paid is given back: nothing more can be returned. */
  create_return(c, &ids, (return_spec[]){{2, 1}}, 1, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", "not yet returned");
  test_reply_clear(&r);
  verify_offline(f);
}

/* --- Cards: split across captures, and every limit -------------------------------------- */

static void card_return_split_across_two_cards(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  make_order(c, 3000, &ids); /* 50.00 */
  add_card(c, &ids, 0, "stripe", "pm_card_visa", 2000);
  add_card(c, &ids, 1, "stripe", "pm_card_visa", 3000);
  submit_and_invoice(c, &ids);

  test_reply r;
  create_return(c, &ids, (return_spec[]){{1, 1}, {2, 1}}, 2, &r); /* 10.00 + 30.00 */
  char return_id[TEST_ID_BYTES];
  snprintf(return_id, sizeof return_id, "%s", ((const Ccpay__V1__ReturnOrder *)ok(&r))->id);
  test_reply_clear(&r);
  const Ccpay__V1__ReturnOrder *ro = step_ok(c, "CompleteReturn", return_id, &r);
  assert_int_equal(ro->n_refund_lines, 2);
  expect_line(ro, 0, TENDER(CARD), 2000, DERIVED(SAME_CARD), ids.payments[0]);
  expect_line(ro, 1, TENDER(CARD), 2000, DERIVED(SAME_CARD), ids.payments[1]);
  test_reply_clear(&r);
  step_ok(c, "SubmitReturn", return_id, &r);
  test_reply_clear(&r);
  ro = step_ok(c, "InvoiceReturn", return_id, &r);
  assert_int_equal(ro->refund_lines[0]->status, LINE(ISSUED));
  assert_int_equal(ro->refund_lines[1]->status, LINE(ISSUED));
  test_reply_clear(&r);
  assert_procsim_matches(f, ids.payments[0]);
  assert_procsim_matches(f, ids.payments[1]);
  Ccpay__V1__Payment *p = get_payment(c, ids.payments[1], &r);
  assert_int_equal(p->refunded->amount_minor, 2000);
  test_reply_clear(&r);

  /* Card A gave everything back; card B has 10.00 left, and no more. */
  call_refund(c, next_rid("refund").text, ids.payments[0], "USD", 1, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", NULL);
  test_reply_clear(&r);
  call_refund(c, next_rid("refund").text, ids.payments[1], "USD", 1001, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", "left to refund");
  test_reply_clear(&r);
  create_return(c, &ids, (return_spec[]){{1, 2}}, 1, &r); /* one mug is left to return */
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", "not yet returned");
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, ids.customer), 0);
  verify_offline(f);
}

/* --- Overrides -------------------------------------------------------------------------- */

static Ccpay__V1__CardDetails new_card(const char *processor, const char *token) {
  Ccpay__V1__CardDetails card = CCPAY__V1__CARD_DETAILS__INIT;
  card.processor = (char *)processor;
  card.token = (char *)token;
  card.brand = "visa";
  card.last4 = "1111";
  card.exp_month = 12;
  card.exp_year = 2031;
  card.holder_name = "Ines Moreau";
  return card;
}

/* The audit trail holds the refused overrides of agent: not permitted, a wrong code,
 * locked out; each at least as many times as given. */
static void expect_audited_refusals(test_client *c, const char *agent, int not_permitted,
                                    int wrong_code, int locked) {
  Ccpay__V1__StreamAuditRequest request = CCPAY__V1__STREAM_AUDIT_REQUEST__INIT;
  test_stream *s = test_stream_start(c, ADMIN "StreamAudit", &request.base,
                                     &ccpay__v1__audit_record__descriptor, 0);
  assert_non_null(s);
  int seen[3] = {0};
  ProtobufCMessage *m = NULL;
  while (test_stream_read(s, 2000, &m) == TEST_STREAM_MESSAGE) {
    const Ccpay__V1__AuditRecord *a = (const Ccpay__V1__AuditRecord *)m;
    if (strcmp(a->agent_id, agent) == 0 && strstr(a->method, "OverrideRefundPayment") != NULL) {
      seen[0] += strcmp(a->outcome, "OVERRIDE_NOT_PERMITTED") == 0;
      seen[1] += strcmp(a->outcome, "OVERRIDE_CODE_INVALID") == 0;
      seen[2] += strcmp(a->outcome, "OVERRIDE_LOCKED") == 0;
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  test_reply r;
  assert_int_equal(test_stream_finish(s, 2000, &r), GRPC_STATUS_OK);
  if (seen[0] < not_permitted || seen[1] < wrong_code || seen[2] < locked) {
    fail_msg("audit trail of %s: %d not permitted, %d wrong codes, %d locked", agent, seen[0],
             seen[1], seen[2]);
  }
}

static void overrides_and_unlinked_refunds(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  card_paid_order(c, &ids);
  test_reply r;
  char return_id[TEST_ID_BYTES];
  new_return(c, &ids, (return_spec[]){{2, 1}}, 1, true, return_id);
  /* A CSR holds no alternate-payment right: only the code lets one override. */
  test_client *csr = ccpayd_client_for_role(&f->server, "csr", "csr-1");
  test_client *supervisor = ccpayd_client_for_role(&f->server, "supervisor", "sup-1");
  assert_non_null(csr);
  assert_non_null(supervisor);

  /* No right and no code. */
  override_line(csr, return_id, 1, TENDER(CHECK), NULL, "", &r);
  assert_reply(&r, GRPC_STATUS_PERMISSION_DENIED, "OVERRIDE_NOT_PERMITTED", "alternate-payment");
  test_reply_clear(&r);
  /* A code, but none was ever set. */
  override_line(csr, return_id, 1, TENDER(CHECK), NULL, override_code, &r);
  assert_reply(&r, GRPC_STATUS_PERMISSION_DENIED, "OVERRIDE_NOT_PERMITTED", "no security override");
  test_reply_clear(&r);
  set_override_code(c);

  /* Stripe never takes an unlinked refund: refused before any processor call. */
  size_t sim_before = procsim_payment_count(f);
  Ccpay__V1__CardDetails stripe_card = new_card("stripe", "pm_card_mastercard");
  override_line(csr, return_id, 1, TENDER(CARD), &stripe_card, override_code, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "UNLINKED_REFUND_NOT_ALLOWED", "stripe");
  test_reply_clear(&r);
  assert_int_equal(procsim_payment_count(f), sim_before);

  /* Adyen, on an account with unlinked refunds enabled, with the right code. */
  Ccpay__V1__CardDetails adyen_card = new_card("adyen", "adyen_stored_card_mc");
  override_line(csr, return_id, 1, TENDER(CARD), &adyen_card, override_code, &r);
  const Ccpay__V1__ReturnOrder *ro = ok(&r);
  const Ccpay__V1__RefundLine *l = ro->refund_lines[0];
  assert_int_equal(l->derivation, DERIVED(OVERRIDE));
  assert_int_equal(l->override->authority,
                   CCPAY__V1__OVERRIDE_AUTHORITY__OVERRIDE_AUTHORITY_OVERRIDE_CODE);
  assert_string_equal(l->override->overridden_by, "csr-1");
  assert_string_equal(l->source_payment_id, ids.payments[0]);
  assert_string_not_equal(l->target_payment_id, ids.payments[0]);
  assert_int_equal(ro->n_refund_payment_ids, 1);
  test_reply_clear(&r);
  step_ok(c, "SubmitReturn", return_id, &r);
  test_reply_clear(&r);
  ro = step_ok(c, "InvoiceReturn", return_id, &r);
  assert_int_equal(ro->refund_lines[0]->status, LINE(ISSUED));
  test_reply_clear(&r);
  /* The original card gave its money back elsewhere: nothing more is refundable there
   * than the 20.00 of the mugs. */
  Ccpay__V1__Payment *p = get_payment(c, ids.payments[0], &r);
  assert_int_equal(p->refunded_elsewhere->amount_minor, 3000);
  assert_int_equal(p->refunded->amount_minor, 0);
  test_reply_clear(&r);
  call_refund(c, next_rid("refund").text, ids.payments[0], "USD", 2001, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", NULL);
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, ids.customer), 0);

  /* Wrong codes are counted, then the caller is locked out, right code or not. */
  new_return(c, &ids, (return_spec[]){{1, 1}}, 1, true, return_id);
  for (int i = 0; i < OVERRIDE_CODE_FAILURES; i++) {
    override_line(csr, return_id, 1, TENDER(CHECK), NULL, "Wrong0Code", &r);
    assert_reply(&r, GRPC_STATUS_PERMISSION_DENIED, "OVERRIDE_CODE_INVALID", "not the security");
    test_reply_clear(&r);
  }
  override_line(csr, return_id, 1, TENDER(CHECK), NULL, override_code, &r);
  assert_reply(&r, GRPC_STATUS_RESOURCE_EXHAUSTED, "OVERRIDE_LOCKED", "too many");
  test_reply_clear(&r);
  /* A supervisor holds the alternate-payment right: no code needed. */
  override_line(supervisor, return_id, 1, TENDER(CASH), NULL, "", &r);
  ro = ok(&r);
  assert_int_equal(ro->refund_lines[0]->tender_type, TENDER(CASH));
  assert_int_equal(ro->refund_lines[0]->override->authority,
                   CCPAY__V1__OVERRIDE_AUTHORITY__OVERRIDE_AUTHORITY_PERMISSION);
  assert_string_equal(ro->refund_lines[0]->override->overridden_by, "sup-1");
  test_reply_clear(&r);
  /* Every refused attempt is in the audit trail: who, and why. */
  expect_audited_refusals(c, "csr-1", 2, OVERRIDE_CODE_FAILURES, 1);
  test_client_destroy(csr);
  test_client_destroy(supervisor);
  Ccpay__V1__CancelReturnRequest cancel = CCPAY__V1__CANCEL_RETURN_REQUEST__INIT;
  rid cancel_id = next_rid("cancel-return");
  cancel.return_id = return_id;
  cancel.reason = "customer kept the mug";
  cancel.request_id = cancel_id.text;
  test_client_call(c, RETURNS "CancelReturn", &cancel.base, &ccpay__v1__return_order__descriptor, 0,
                   &r);
  ro = ok(&r);
  assert_int_equal(ro->status, RSTATUS(CANCELLED));
  test_reply_clear(&r);
  verify_offline(f);
}

/* --- Advance credit ---------------------------------------------------------------------- */

static void advance_credit_refunds_at_submit(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  Ccpay__V1__Parameters p = CCPAY__V1__PARAMETERS__INIT;
  p.advance_credit = true;
  update_parameters(c, &p, "advance_credit");
  order_ids ids;
  make_order(c, 3000, &ids);
  add_tender(c, &ids, 0, TENDER(CASH), NULL, 5000);
  submit_and_invoice(c, &ids);
  test_reply r;
  char return_id[TEST_ID_BYTES];
  new_return(c, &ids, (return_spec[]){{2, 1}}, 1, false, return_id);
  const Ccpay__V1__ReturnOrder *ro = step_ok(c, "CompleteReturn", return_id, &r);
  expect_line(ro, 0, TENDER(CHECK), 3000, DERIVED(CURRENCY_REFUND_METHOD), ids.payments[0]);
  test_reply_clear(&r);
  ro = step_ok(c, "SubmitReturn", return_id, &r);
  assert_true(ro->advance_credit);
  assert_int_equal(ro->refund_lines[0]->status, LINE(ISSUED)); /* before the goods arrive */
  char check_id[TEST_ID_BYTES];
  snprintf(check_id, sizeof check_id, "%s", ro->refund_lines[0]->refund_check_id);
  test_reply_clear(&r);
  approve_and_post(c, check_id); /* the check goes out before the goods come back */
  assert_int_equal(customer_balance(c, ids.customer), 3000); /* an advance, until invoiced */
  ro = step_ok(c, "InvoiceReturn", return_id, &r);
  assert_int_equal(ro->status, RSTATUS(INVOICED));
  assert_true(ro->credit_memo_entry_sequence > 0);
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, ids.customer), 0);
  verify_offline(f);
}

/* --- Replacement orders with apply credit ------------------------------------------------ */

static grpc_status_code replace(test_client *c, const char *return_id, const char *customer,
                                bool apply_credit, test_reply *r) {
  order_draft d;
  order_draft_init(&d, customer, "USD");
  order_draft_line(&d, "SKU-LAMP-2", 1, 3000, 0, 0);
  Ccpay__V1__CreateReplacementOrderRequest req = CCPAY__V1__CREATE_REPLACEMENT_ORDER_REQUEST__INIT;
  rid id = next_rid("replace");
  req.return_id = (char *)return_id;
  req.order = &d.order;
  req.apply_credit = apply_credit;
  req.request_id = id.text;
  return test_client_call(c, RETURNS "CreateReplacementOrder", &req.base,
                          &ccpay__v1__order__descriptor, 0, r);
}

static void replacement_with_apply_credit(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  card_paid_order(c, &ids);
  test_reply r;
  char return_id[TEST_ID_BYTES];
  new_return(c, &ids, (return_spec[]){{2, 1}}, 1, false, return_id);

  replace(c, return_id, ids.customer, true, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->type, CCPAY__V1__ORDER_TYPE__ORDER_TYPE_REPLACEMENT);
  assert_string_equal(o->return_id, return_id);
  assert_int_equal(o->n_payment_ids, 1);
  char payment_id[TEST_ID_BYTES];
  snprintf(payment_id, sizeof payment_id, "%s", o->payment_ids[0]);
  test_reply_clear(&r);
  Ccpay__V1__Payment *p = get_payment(c, payment_id, &r);
  assert_int_equal(p->tender_type, TENDER(CUSTOMER_ACCOUNT));
  assert_int_equal(p->amount->amount_minor, 3000);
  test_reply_clear(&r);

  const Ccpay__V1__ReturnOrder *ro = step_ok(c, "CompleteReturn", return_id, &r);
  assert_true(ro->apply_credit);
  assert_int_equal(ro->n_refund_lines, 1);
  expect_line(ro, 0, TENDER(CUSTOMER_ACCOUNT), 3000, DERIVED(APPLY_CREDIT), "");
  test_reply_clear(&r);
  step_ok(c, "SubmitReturn", return_id, &r);
  test_reply_clear(&r);
  step_ok(c, "InvoiceReturn", return_id, &r);
  test_reply_clear(&r);
  /* No money went out: the card kept its capture. */
  p = get_payment(c, ids.payments[0], &r);
  assert_int_equal(p->refunded->amount_minor, 0);
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, ids.customer), -3000); /* until the replacement ships */

  /* Apply credit after CompleteReturn computed the refunds: start again. */
  new_return(c, &ids, (return_spec[]){{1, 1}}, 1, true, return_id);
  replace(c, return_id, ids.customer, true, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "REFUNDS_ALREADY_COMPUTED", "start again");
  test_reply_clear(&r);
  verify_offline(f);
}

/* --- Excess funds of a cancelled, paid order ------------------------------------------- */

static grpc_status_code cancel_lines(test_client *c, const char *order_id, int32_t line,
                                     test_reply *r) {
  Ccpay__V1__CancelLinesRequest req = CCPAY__V1__CANCEL_LINES_REQUEST__INIT;
  rid id = next_rid("cancel-lines");
  req.order_id = (char *)order_id;
  req.line_numbers = &line;
  req.n_line_numbers = 1;
  req.request_id = id.text;
  return test_client_call(c, "/ccpay.v1.OrderService/CancelLines", &req.base,
                          &ccpay__v1__order__descriptor, 0, r);
}

static int64_t excess_of(test_client *c, const char *order_id) {
  Ccpay__V1__CalculateOrderRequest req = CCPAY__V1__CALCULATE_ORDER_REQUEST__INIT;
  req.order_id = (char *)order_id;
  test_reply r;
  test_client_call(c, "/ccpay.v1.OrderService/CalculateOrder", &req.base,
                   &ccpay__v1__order_totals__descriptor, 0, &r);
  int64_t excess = ((const Ccpay__V1__OrderTotals *)ok(&r))->total_excess_funds->amount_minor;
  test_reply_clear(&r);
  return excess;
}

static grpc_status_code refund_excess(test_client *c, const char *order_id, test_reply *r) {
  Ccpay__V1__RefundExcessFundsRequest req = CCPAY__V1__REFUND_EXCESS_FUNDS_REQUEST__INIT;
  rid id = next_rid("excess");
  req.order_id = (char *)order_id;
  req.destination = CCPAY__V1__CREDIT_DESTINATION__CREDIT_DESTINATION_GIFT_CARD;
  req.gift_card_number = "GC-2026-0042";
  req.reason_code = "LINE_CANCELLED";
  req.request_id = id.text;
  return test_client_call(c, "/ccpay.v1.OrderService/RefundExcessFunds", &req.base,
                          &ccpay__v1__order__descriptor, 0, r);
}

/* Captured at submission (a sale), then a line cancelled: AUTO refunds the card at once;
 * OPTIONAL waits for the CSR, who credits a gift card; NONE refuses. */
static void excess_funds_of_cancelled_lines(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  make_order(c, 3000, &ids);
  add_card(c, &ids, 0, "stripe", "pm_card_visa", 5000);
  test_reply r;
  call_submit_order(c, next_rid("submit").text, ids.order, &r);
  ok(&r);
  test_reply_clear(&r);
  cancel_lines(c, ids.order, 2, &r);
  const Ccpay__V1__Order *o = ok(&r);
  assert_int_equal(o->n_refund_lines, 1);
  assert_int_equal(o->refund_lines[0]->tender_type, TENDER(CARD));
  assert_int_equal(o->refund_lines[0]->amount->amount_minor, 3000);
  assert_int_equal(o->refund_lines[0]->status, LINE(ISSUED));
  test_reply_clear(&r);
  assert_int_equal(excess_of(c, ids.order), 0);
  assert_procsim_matches(f, ids.payments[0]);

  set_excess_funds(c, CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_OPTIONAL);
  order_ids second;
  make_order(c, 3000, &second);
  add_card(c, &second, 0, "stripe", "pm_card_visa", 5000);
  call_submit_order(c, next_rid("submit").text, second.order, &r);
  ok(&r);
  test_reply_clear(&r);
  cancel_lines(c, second.order, 2, &r);
  assert_int_equal(((const Ccpay__V1__Order *)ok(&r))->n_refund_lines, 0);
  test_reply_clear(&r);
  assert_int_equal(excess_of(c, second.order), 3000);
  refund_excess(c, second.order, &r);
  o = ok(&r);
  assert_int_equal(o->n_refund_lines, 1);
  assert_int_equal(o->refund_lines[0]->tender_type, TENDER(GIFT_CARD_INTERNAL));
  assert_int_equal(o->refund_lines[0]->derivation, DERIVED(GIFT_CARD_CREDIT));
  assert_int_equal(o->refund_lines[0]->status, LINE(ISSUED));
  test_reply_clear(&r);
  assert_int_equal(excess_of(c, second.order), 0);
  assert_int_equal(balance_of(c, "gift_card:GC-2026-0042"), -3000);
  refund_excess(c, second.order, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "no excess funds");
  test_reply_clear(&r);

  set_excess_funds(c, CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_NONE);
  refund_excess(c, second.order, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "EXCESS_FUNDS_NOT_REFUNDED", "NONE");
  test_reply_clear(&r);
  verify_offline(f);
}

/* --- Stored value, no original order ---------------------------------------------------- */

static void issue_gift_card(test_client *c, const char *number, int64_t amount) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = "USD";
  m.amount_minor = amount;
  Ccpay__V1__IssueValueRequest req = CCPAY__V1__ISSUE_VALUE_REQUEST__INIT;
  rid id = next_rid("issue");
  req.kind = CCPAY__V1__STORED_VALUE_KIND__STORED_VALUE_KIND_GIFT_CARD;
  req.number = (char *)number;
  req.amount = &m;
  req.request_id = id.text;
  test_reply r;
  test_client_call(c, "/ccpay.v1.StoredValueService/IssueValue", &req.base,
                   &ccpay__v1__stored_value_balance__descriptor, 0, &r);
  ok(&r);
  test_reply_clear(&r);
}

/* Creates a return of the given lines, runs it to INVOICED and keeps its id. */
static const Ccpay__V1__ReturnOrder *run_return(test_client *c, const char *return_id,
                                                test_reply *r) {
  step_ok(c, "SubmitReturn", return_id, r);
  test_reply_clear(r);
  return step_ok(c, "InvoiceReturn", return_id, r);
}

/* An order paid by an internal gift card gives back to the same card; a return with no
 * original order gets the default return method, a refund check. */
static void gift_card_and_standalone_returns(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  static const char number[] = "GC-2026-0100";
  issue_gift_card(c, number, 5000);
  order_ids ids;
  make_order(c, 3000, &ids);
  add_tender(c, &ids, 0, TENDER(GIFT_CARD_INTERNAL), number, 5000);
  submit_and_invoice(c, &ids);
  assert_int_equal(balance_of(c, "gift_card:GC-2026-0100"), 0);
  test_reply r;
  char return_id[TEST_ID_BYTES];
  new_return(c, &ids, (return_spec[]){{2, 1}}, 1, false, return_id);
  const Ccpay__V1__ReturnOrder *ro = step_ok(c, "CompleteReturn", return_id, &r);
  expect_line(ro, 0, TENDER(GIFT_CARD_INTERNAL), 3000, DERIVED(SAME_STORED_VALUE), ids.payments[0]);
  assert_string_equal(ro->refund_lines[0]->reference, number);
  test_reply_clear(&r);
  ro = run_return(c, return_id, &r);
  assert_int_equal(ro->refund_lines[0]->status, LINE(ISSUED));
  test_reply_clear(&r);
  assert_int_equal(balance_of(c, "gift_card:GC-2026-0100"), -3000); /* a liability again */

  /* No original order: the lines carry their prices. */
  Ccpay__V1__Money price = CCPAY__V1__MONEY__INIT;
  price.currency_code = "USD";
  price.amount_minor = 1500;
  Ccpay__V1__ReturnLine line = CCPAY__V1__RETURN_LINE__INIT;
  line.sku = "SKU-SCARF";
  line.description = "bought at a fair";
  line.quantity = 1;
  line.unit_price = &price;
  line.tax_rate_bp = 1000;
  line.reason_code = "UNWANTED";
  Ccpay__V1__ReturnLine *lines[] = {&line};
  Ccpay__V1__ReturnOrder ro_in = CCPAY__V1__RETURN_ORDER__INIT;
  ro_in.customer_id = ids.customer;
  ro_in.lines = lines;
  ro_in.n_lines = 1;
  Ccpay__V1__CreateReturnRequest req = CCPAY__V1__CREATE_RETURN_REQUEST__INIT;
  rid id = next_rid("standalone");
  req.return_order = &ro_in;
  req.request_id = id.text;
  test_client_call(c, RETURNS "CreateReturn", &req.base, &ccpay__v1__return_order__descriptor, 0,
                   &r);
  ro = ok(&r);
  assert_int_equal(ro->totals->total->amount_minor, 1650);
  snprintf(return_id, sizeof return_id, "%s", ro->id);
  test_reply_clear(&r);
  ro = step_ok(c, "CompleteReturn", return_id, &r);
  assert_int_equal(ro->n_refund_lines, 1);
  expect_line(ro, 0, TENDER(CHECK), 1650, DERIVED(DEFAULT_RETURN_METHOD), "");
  test_reply_clear(&r);
  ro = run_return(c, return_id, &r);
  assert_int_equal(ro->refund_lines[0]->status, LINE(ISSUED));
  char check_id[TEST_ID_BYTES];
  snprintf(check_id, sizeof check_id, "%s", ro->refund_lines[0]->refund_check_id);
  test_reply_clear(&r);
  approve_and_post(c, check_id);
  assert_int_equal(customer_balance(c, ids.customer), 0);
  verify_offline(f);
}

/* --- A refund whose answer is lost ------------------------------------------------------ */

static void lost_refund_answer_resolves_once(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  card_paid_order(c, &ids);
  test_reply r;
  char return_id[TEST_ID_BYTES];
  new_return(c, &ids, (return_spec[]){{2, 1}}, 1, true, return_id);
  step_ok(c, "SubmitReturn", return_id, &r);
  test_reply_clear(&r);
  /* procsim refunds, then drops the answer (and the adapter's resend's). */
  assert_true(procsim_inject(&f->control, "stripe", "/v1/refunds", "drop_after_commit", 2));
  const Ccpay__V1__ReturnOrder *ro = step_ok(c, "InvoiceReturn", return_id, &r);
  assert_int_equal(ro->status, RSTATUS(INVOICED));
  assert_int_equal(ro->refund_lines[0]->status, LINE(IN_PROGRESS));
  test_reply_clear(&r);
  assert_true(procsim_clear_faults(&f->control));
  /* The recovery loop asks Stripe under the same key; the line shows the outcome. */
  bool issued = false;
  for (int waited = 0; !issued && waited < 20000; waited += 100) {
    Ccpay__V1__GetReturnRequest get = CCPAY__V1__GET_RETURN_REQUEST__INIT;
    get.id = return_id;
    test_client_call(c, RETURNS "GetReturn", &get.base, &ccpay__v1__return_order__descriptor, 0,
                     &r);
    issued = ((const Ccpay__V1__ReturnOrder *)ok(&r))->refund_lines[0]->status == LINE(ISSUED);
    test_reply_clear(&r);
    if (!issued) nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
  }
  assert_true(issued);
  assert_procsim_matches(f, ids.payments[0]); /* refunded once */
  Ccpay__V1__Payment *p = get_payment(c, ids.payments[0], &r);
  assert_int_equal(p->refunded->amount_minor, 3000);
  test_reply_clear(&r);
  /* Invoicing again has nothing left to do. */
  return_step(c, "InvoiceReturn", return_id, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "INVOICED");
  test_reply_clear(&r);
  assert_int_equal(customer_balance(c, ids.customer), 0);
  verify_offline(f);
}

/* --- Refused input changes nothing ------------------------------------------------------ */

static void expect_refused(test_reply *r, grpc_status_code status, const char *reason,
                           const char *text) {
  assert_reply(r, status, reason, text);
  test_reply_clear(r);
}

static int64_t last_sequence(test_client *c) {
  test_reply r;
  call_list_entries(c, 0, 200, &r);
  const Ccpay__V1__ListEntriesResponse *page = ok(&r);
  int64_t last = page->n_entries > 0 ? page->entries[page->n_entries - 1]->sequence : 0;
  test_reply_clear(&r);
  return last;
}

static void bad_input_changes_nothing(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids, other;
  make_order(c, 3000, &ids);
  add_tender(c, &ids, 0, TENDER(CASH), NULL, 5000);
  submit_and_invoice(c, &ids);
  make_order(c, 3000, &other); /* another customer's, never invoiced */
  int64_t sequence = last_sequence(c);
  test_reply r;

  create_return(c, &ids, (return_spec[]){{2, 0}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE", "lines[0].quantity");
  create_return(c, &ids, (return_spec[]){{3, 1}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE", "has no line 3");
  create_return(c, &ids, (return_spec[]){{2, 2}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", "not yet returned");
  create_return(c, &other, (return_spec[]){{1, 1}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "nothing of it");
  order_ids mixed = ids;
  snprintf(mixed.order, sizeof mixed.order, "%s", other.order);
  create_return(c, &mixed, (return_spec[]){{1, 1}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "is not customer");
  snprintf(mixed.order, sizeof mixed.order, "%s", "ord_0000000000001");
  create_return(c, &mixed, (return_spec[]){{1, 1}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_NOT_FOUND, "NOT_FOUND", "ord_0000000000001");
  snprintf(mixed.order, sizeof mixed.order, "%s", ids.customer);
  create_return(c, &mixed, (return_spec[]){{1, 1}}, 1, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "original_order_id");

  Ccpay__V1__Parameters p = CCPAY__V1__PARAMETERS__INIT;
  Ccpay__V1__CurrencyRefundMethod m = CCPAY__V1__CURRENCY_REFUND_METHOD__INIT;
  Ccpay__V1__CurrencyRefundMethod *methods[] = {&m};
  m.currency_code = "USD";
  m.tender_type = TENDER(CUSTOMER_ACCOUNT);
  p.refund_methods = methods;
  p.n_refund_methods = 1;
  char *mask[] = {"refund_methods"};
  Ccpay__V1__UpdateParametersRequest up = CCPAY__V1__UPDATE_PARAMETERS_REQUEST__INIT;
  up.parameters = &p;
  up.update_mask = mask;
  up.n_update_mask = 1;
  up.request_id = "bad-parameters";
  test_client_call(c, ADMIN "UpdateParameters", &up.base, &ccpay__v1__parameters__descriptor, 0,
                   &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID",
                 "refund_methods[0].tender_type");
  mask[0] = "override_code_set";
  up.request_id = "bad-mask";
  test_client_call(c, ADMIN "UpdateParameters", &up.base, &ccpay__v1__parameters__descriptor, 0,
                   &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "update_mask");
  Ccpay__V1__SetOverrideCodeRequest weak = CCPAY__V1__SET_OVERRIDE_CODE_REQUEST__INIT;
  weak.code = "short1";
  weak.request_id = "weak-code";
  test_client_call(c, ADMIN "SetOverrideCode", &weak.base,
                   &ccpay__v1__set_override_code_response__descriptor, 0, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "code:");

  /* A good return, then overrides that are malformed. */
  char return_id[TEST_ID_BYTES];
  new_return(c, &ids, (return_spec[]){{2, 1}}, 1, true, return_id);
  override_line(c, return_id, 1, TENDER(ACH), NULL, override_code, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "tender_type");
  override_line(c, return_id, 1, TENDER(CARD), NULL, override_code, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED", "payment_id or card");
  override_line(c, return_id, 1, TENDER(GIFT_CARD_INTERNAL), NULL, override_code, &r);
  expect_refused(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED", "reference");
  return_step(c, "CompleteReturn", return_id, &r);
  expect_refused(&r, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "COMPLETED");
  assert_int_equal(last_sequence(c), sequence);

  Ccpay__V1__GetParametersRequest get = CCPAY__V1__GET_PARAMETERS_REQUEST__INIT;
  test_client_call(c, ADMIN "GetParameters", &get.base, &ccpay__v1__parameters__descriptor, 0, &r);
  const Ccpay__V1__Parameters *now = ok(&r);
  assert_int_equal(now->n_refund_methods, 0);
  assert_int_equal(now->default_return_method, TENDER(CHECK));
  assert_int_equal(now->refund_excess_funds,
                   CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_AUTO);
  assert_false(now->override_code_set);
  test_reply_clear(&r);
  verify_offline(f);
}

static int setup(void **state) {
  payments_fixture_options o = {.adyen_unlinked_refunds = true};
  return payments_fixture_setup_with(state, &o);
}

static int setup_sale(void **state) {
  payments_fixture_options o = {.capture_at_submit = true};
  return payments_fixture_setup_with(state, &o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(seed_check_and_account_return, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(card_return_split_across_two_cards, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(overrides_and_unlinked_refunds, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(advance_credit_refunds_at_submit, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(replacement_with_apply_credit, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(excess_funds_of_cancelled_lines, setup_sale,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(gift_card_and_standalone_returns, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(lost_refund_answer_resolves_once, setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(bad_input_changes_nothing, setup, payments_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
