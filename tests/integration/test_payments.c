/* Card payments end to end: the real ccpayd with its three real adapter processes
 * against the real ccpay-procsim, driven over gRPC. For each processor: authorize at
 * submission → partial capture at the first invoice → the rest at the second (or, where
 * the processor takes one capture per authorization, the documented fallback) → a
 * linked refund; a decline; a void by cancelling; a sale. Then the failures: every
 * injected fault (timeout, 5xx, slow, commit-then-drop) and an adapter killed in the
 * middle of a call end with the transaction resolved and procsim's money equal to
 * ccpay's, payment by payment; an adapter that is down answers UNAVAILABLE at once; the
 * fraud rules refuse a card-code mismatch and hold address mismatches and large amounts.
 * Each test ends with `ccpay-admin verify` on the data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpay/v1/stored_value.pb-c.h"
#include "ccpayd_fixture.h" /* assert_reply */
#include "order_calls.h"
#include "payment_calls.h"
#include "payments_fixture.h"

#define STATUS(x) CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_##x
#define STATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x

enum {
  RESOLVE_TIMEOUT_MS = 20000, /* the recovery loop's grace, back-off and one look-up */
  POLL_MS = 100,
  FAST_FAIL_MS = 1000, /* "at once": an adapter that is down must not cost a timeout */
};

/* One processor as the tests use it: a card token that approves and one that declines
 * (with what the decline code must say), and whether one authorization takes several
 * captures. */
typedef struct processor_case {
  const char *name;
  const char *approve_token;
  const char *decline_token;
  const char *decline_holder; /* Adyen declines by holder name */
  const char *decline_zip;    /* Authorize.Net by billing postal code */
  const char *decline_code;
  bool multiple_captures;
} processor_case;

static const processor_case stripe = {
    "stripe", "pm_card_visa", "pm_card_visa_chargeDeclinedInsufficientFunds",
    NULL,     NULL,           "insufficient_funds",
    true};
static const processor_case adyen = {
    "adyen", "adyen_stored_card_visa", "adyen_stored_card_visa", "NOT_ENOUGH_BALANCE", NULL, "12",
    true};
static const processor_case authorizenet = {
    "authorizenet", "tok_visa_4242", "tok_visa_4242", NULL, "46282", "2", false};

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* --- Building an order ------------------------------------------------------------------ */

typedef struct order_ids {
  char customer[TEST_ID_BYTES];
  char order[TEST_ID_BYTES];
  char payment[TEST_ID_BYTES];
} order_ids;

/* A customer and an order of two lines: line 1 is 2 × 10.00, line 2 is 1 × 30.00; no tax,
 * so the total is 50.00 USD. */
static void make_order(test_client *c, order_ids *ids) {
  test_reply r;
  rid id = next_rid("customer");
  call_create_customer(c, id.text, "Dana Reyes", "USD", 30, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  snprintf(ids->customer, sizeof ids->customer, "%s", REPLY_AS(Ccpay__V1__Customer, &r)->id);
  test_reply_clear(&r);
  order_draft d;
  order_draft_init(&d, ids->customer, "USD");
  order_draft_line(&d, "SKU-MUG", 2, 1000, 0, 0);
  order_draft_line(&d, "SKU-LAMP", 1, 3000, 0, 0);
  id = next_rid("order");
  call_create_order(c, id.text, &d, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  snprintf(ids->order, sizeof ids->order, "%s", REPLY_AS(Ccpay__V1__Order, &r)->id);
  test_reply_clear(&r);
}

/* Adds a card of processor p (approving or declining) for amount; keeps its id. */
static void add_card(test_client *c, const processor_case *p, bool decline, int64_t amount,
                     order_ids *ids) {
  test_reply r;
  rid id = next_rid("card");
  call_add_card(c, id.text, ids->order, p->name, decline ? p->decline_token : p->approve_token,
                decline ? p->decline_holder : "Dana Reyes", decline ? p->decline_zip : "10001",
                "USD", amount, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__Payment *pay = REPLY_AS(Ccpay__V1__Payment, &r);
  assert_int_equal(pay->status, STATUS(NEW));
  assert_string_equal(pay->card->token, ""); /* never shown */
  snprintf(ids->payment, sizeof ids->payment, "%s", pay->id);
  test_reply_clear(&r);
}

static Ccpay__V1__Payment *get_payment(test_client *c, const char *id, test_reply *r) {
  call_get_payment(c, id, r);
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return (Ccpay__V1__Payment *)r->message;
}

/* An order of 50.00 paid by an approving card of processor p, submitted (authorized). */
static void submitted_order(test_client *c, const processor_case *p, order_ids *ids) {
  test_reply r;
  make_order(c, ids);
  add_card(c, p, false, 5000, ids);
  rid submit = next_rid("submit");
  call_submit_order(c, submit.text, ids->order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__Order, &r)->status,
                   CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED);
  test_reply_clear(&r);
}

static Ccpay__V1__InvoiceOrderResponse *invoice_line(test_client *c, const char *order_id,
                                                     int32_t line, int64_t quantity,
                                                     test_reply *r) {
  ship_spec ship = {line, quantity};
  rid id = next_rid("invoice");
  call_invoice_order(c, id.text, order_id, &ship, 1, r);
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return (Ccpay__V1__InvoiceOrderResponse *)r->message;
}

/* --- Checking money ------------------------------------------------------------------- */

/* procsim's record of the payment equals ccpay's: what was captured and refunded. */
static void assert_procsim_matches(payments_fixture *f, const char *payment_id) {
  test_reply r;
  char why[512];
  Ccpay__V1__Payment *p = get_payment(f->client, payment_id, &r);
  if (!payments_fixture_procsim_matches(f, p, why, sizeof why)) fail_msg("%s", why);
  test_reply_clear(&r);
}

/* How many payments procsim holds for processor (every authorization is one). */
static size_t procsim_payments(payments_fixture *f, const char *processor) {
  procsim_ledger *ledger = malloc(sizeof *ledger);
  assert_non_null(ledger);
  assert_true(procsim_read_ledger(&f->control, ledger));
  size_t n = 0;
  for (size_t i = 0; i < ledger->count; i++)
    n += strcmp(ledger->payments[i].processor, processor) == 0;
  free(ledger);
  return n;
}

/* The balance of account in USD, from the trial balance (0 when absent). */
static int64_t account_balance(test_client *c, const char *account) {
  test_reply r;
  call_get_trial_balance(c, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__TrialBalance *tb = REPLY_AS(Ccpay__V1__TrialBalance, &r);
  int64_t balance = 0;
  for (size_t i = 0; i < tb->n_accounts; i++) {
    if (strcmp(tb->accounts[i]->account, account) == 0) {
      balance = tb->accounts[i]->balance->amount_minor;
    }
  }
  test_reply_clear(&r);
  return balance;
}

/* Waits until the payment has no transaction open (the recovery loop resolved it). */
static void wait_resolved(test_client *c, const char *payment_id) {
  for (int waited = 0; waited < RESOLVE_TIMEOUT_MS; waited += POLL_MS) {
    test_reply r;
    Ccpay__V1__Payment *p = get_payment(c, payment_id, &r);
    bool open = p->open_transaction_id[0] != '\0';
    test_reply_clear(&r);
    if (!open) return;
    sleep_ms(POLL_MS);
  }
  fail_msg("payment %s still has a transaction open after %d ms", payment_id, RESOLVE_TIMEOUT_MS);
}

/* Stops ccpayd and proves every invariant of its database offline. */
static void verify_offline(payments_fixture *f) {
  char why[1024];
  if (!payments_fixture_verify(f, why, sizeof why)) fail_msg("%s", why);
  print_message("%s", why);
}

/* --- The card life, per processor ----------------------------------------------------- */

static void card_life(payments_fixture *f, const processor_case *p) {
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  submitted_order(c, p, &ids);
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(AUTHORIZED));
  assert_int_equal(pay->authorized->amount_minor, 5000);
  assert_true(pay->processor_reference[0] != '\0');
  test_reply_clear(&r);

  /* First invoice: line 1 (20.00) is captured, not final. */
  Ccpay__V1__InvoiceOrderResponse *inv = invoice_line(c, ids.order, 1, 2, &r);
  assert_int_equal(inv->n_captures, 1);
  assert_int_equal(inv->captures[0]->state, STATE(SUCCEEDED));
  assert_int_equal(inv->captures[0]->amount->amount_minor, 2000);
  assert_int_equal(inv->captures[0]->final_capture, !p->multiple_captures);
  test_reply_clear(&r);

  /* Second invoice: the rest, where a second capture is allowed; otherwise the first
   * capture released the rest and the invoice stays on the customer's account. */
  inv = invoice_line(c, ids.order, 2, 1, &r);
  assert_int_equal(inv->order->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED);
  if (p->multiple_captures) {
    assert_int_equal(inv->n_captures, 1);
    assert_int_equal(inv->captures[0]->state, STATE(SUCCEEDED));
    assert_int_equal(inv->captures[0]->amount->amount_minor, 3000);
    assert_true(inv->captures[0]->final_capture);
  } else {
    assert_int_equal(inv->n_captures, 0);
  }
  test_reply_clear(&r);
  int64_t captured = p->multiple_captures ? 5000 : 2000;
  pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(CAPTURED));
  assert_int_equal(pay->captured->amount_minor, captured);
  assert_int_equal(pay->released->amount_minor, 5000 - captured);
  test_reply_clear(&r);

  /* A linked refund of part of it; more than is left is refused and changes nothing. */
  rid refund = next_rid("refund");
  call_refund(c, refund.text, ids.payment, "USD", 1500, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__Payment, &r)->refunded->amount_minor, 1500);
  test_reply_clear(&r);
  rid too_much = next_rid("refund");
  call_refund(c, too_much.text, ids.payment, "USD", captured, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", "left to refund");
  test_reply_clear(&r);
  /* The same refund again (a retry) is answered as the first time, once. */
  call_refund(c, refund.text, ids.payment, "USD", 1500, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__Payment, &r)->refunded->amount_minor, 1500);
  test_reply_clear(&r);

  char clearing[64], receivable[64];
  snprintf(clearing, sizeof clearing, "card_clearing:%s", p->name);
  snprintf(receivable, sizeof receivable, "receivable:%s", ids.customer);
  assert_int_equal(account_balance(c, clearing), captured - 1500);
  assert_int_equal(account_balance(c, receivable), 5000 - captured + 1500);

  call_list_transactions(c, ids.payment, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__ListTransactionsResponse *txns =
      REPLY_AS(Ccpay__V1__ListTransactionsResponse, &r);
  assert_int_equal(txns->n_transactions, p->multiple_captures ? 4 : 3);
  for (size_t i = 0; i < txns->n_transactions; i++) {
    assert_int_equal(txns->transactions[i]->state, STATE(SUCCEEDED));
  }
  test_reply_clear(&r);
  assert_procsim_matches(f, ids.payment);
}

static void decline_then_another_card(payments_fixture *f, const processor_case *p) {
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  make_order(c, &ids);
  add_card(c, p, true, 5000, &ids);
  char declined[TEST_ID_BYTES];
  snprintf(declined, sizeof declined, "%s", ids.payment);

  rid submit = next_rid("submit");
  call_submit_order(c, submit.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "PAYMENT_DECLINED", p->decline_code);
  test_reply_clear(&r);
  /* A retry gets the same answer; the order waits, OPEN, for another card. */
  call_submit_order(c, submit.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "PAYMENT_DECLINED", p->decline_code);
  test_reply_clear(&r);
  Ccpay__V1__Payment *pay = get_payment(c, declined, &r);
  assert_int_equal(pay->status, STATUS(DECLINED));
  assert_string_equal(pay->decline_code, p->decline_code);
  assert_int_equal(pay->authorized->amount_minor, 0);
  test_reply_clear(&r);

  add_card(c, p, false, 5000, &ids);
  rid again = next_rid("submit");
  call_submit_order(c, again.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(AUTHORIZED));
  test_reply_clear(&r);
}

static void cancel_voids(payments_fixture *f, const processor_case *p) {
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  submitted_order(c, p, &ids);
  rid cancel = next_rid("cancel");
  call_cancel_order(c, cancel.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(VOIDED));
  assert_int_equal(pay->released->amount_minor, 5000);
  test_reply_clear(&r);
  assert_procsim_matches(f, ids.payment);
}

/* Issues value onto an internal gift card or loyalty card. */
static void issue_value(test_client *c, Ccpay__V1__StoredValueKind kind, const char *number,
                        int64_t amount) {
  Ccpay__V1__Money m = CCPAY__V1__MONEY__INIT;
  m.currency_code = "USD";
  m.amount_minor = amount;
  Ccpay__V1__IssueValueRequest req = CCPAY__V1__ISSUE_VALUE_REQUEST__INIT;
  req.kind = kind;
  req.number = (char *)number;
  req.amount = &m;
  rid id = next_rid("issue");
  req.request_id = id.text;
  test_reply r;
  test_client_call(c, "/ccpay.v1.StoredValueService/IssueValue", &req.base,
                   &ccpay__v1__stored_value_balance__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__StoredValueBalance, &r)->balance->amount_minor, amount);
  test_reply_clear(&r);
}

/* Tenders ccpay takes itself are posted when taken and leave nothing to capture: a check
 * and an ACH payment reach their clearing accounts, gift and loyalty cards spend their
 * balance, and a payment on account stays on the customer's receivable (billed). */
static void other_tenders(payments_fixture *f) {
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  make_order(c, &ids);
  struct {
    Ccpay__V1__TenderType tender;
    const char *reference;
    int64_t amount;
  } tenders[] = {{CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK, "10442", 1000},
                 {CCPAY__V1__TENDER_TYPE__TENDER_TYPE_ACH, "ACH-TRACE-0091", 1000},
                 {CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CUSTOMER_ACCOUNT, NULL, 1000}};
  for (size_t i = 0; i < sizeof tenders / sizeof *tenders; i++) {
    rid id = next_rid("tender");
    call_add_tender(c, id.text, ids.order, tenders[i].tender, tenders[i].reference, "USD",
                    tenders[i].amount, &r);
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    assert_int_equal(REPLY_AS(Ccpay__V1__Payment, &r)->status, STATUS(RECEIVED));
    test_reply_clear(&r);
  }
  /* Value ccpay holds itself: a gift card sold for 15.00 and 5.00 of loyalty pay the
   * other 20.00 due; a card pays no more than is left on it. */
  issue_value(c, CCPAY__V1__STORED_VALUE_KIND__STORED_VALUE_KIND_GIFT_CARD, "GC-2026-0001", 1500);
  issue_value(c, CCPAY__V1__STORED_VALUE_KIND__STORED_VALUE_KIND_LOYALTY, "LOY-000042", 500);
  rid over = next_rid("tender");
  call_add_tender(c, over.text, ids.order, CCPAY__V1__TENDER_TYPE__TENDER_TYPE_GIFT_CARD_INTERNAL,
                  "GC-2026-0001", "USD", 1600, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "AMOUNT_EXCEEDED", "1500 USD left");
  test_reply_clear(&r);
  struct {
    Ccpay__V1__TenderType tender;
    const char *number;
    int64_t amount;
  } stored[] = {{CCPAY__V1__TENDER_TYPE__TENDER_TYPE_GIFT_CARD_INTERNAL, "GC-2026-0001", 1500},
                {CCPAY__V1__TENDER_TYPE__TENDER_TYPE_LOYALTY_CARD, "LOY-000042", 500}};
  for (size_t i = 0; i < sizeof stored / sizeof *stored; i++) {
    rid id = next_rid("tender");
    call_add_tender(c, id.text, ids.order, stored[i].tender, stored[i].number, "USD",
                    stored[i].amount, &r);
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    test_reply_clear(&r);
  }
  assert_int_equal(account_balance(c, "gift_card:GC-2026-0001"), 0);
  assert_int_equal(account_balance(c, "loyalty:LOY-000042"), 0);
  rid submit = next_rid("submit");
  call_submit_order(c, submit.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  Ccpay__V1__InvoiceOrderResponse *inv = invoice_line(c, ids.order, 1, 2, &r);
  assert_int_equal(inv->n_captures, 0);
  test_reply_clear(&r);
  char receivable[64];
  snprintf(receivable, sizeof receivable, "receivable:%s", ids.customer);
  assert_int_equal(account_balance(c, "undeposited_checks"), 1000);
  assert_int_equal(account_balance(c, "ach_clearing"), 1000);
  /* Invoiced 20.00; paid 20.00 by check and ACH and 20.00 from stored value: in credit. */
  assert_int_equal(account_balance(c, receivable), 2000 - 4000);
}

static void each_processor(void **state) {
  payments_fixture *f = *state;
  const processor_case *cases[] = {&stripe, &adyen, &authorizenet};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    print_message("processor %s\n", cases[i]->name);
    card_life(f, cases[i]);
    decline_then_another_card(f, cases[i]);
    cancel_voids(f, cases[i]);
  }
  other_tenders(f);
  verify_offline(f);
  f->passed = true;
}

/* --- Sale: authorize and capture at submission ---------------------------------------- */

static int sale_setup(void **state) {
  payments_fixture_options o = {.capture_at_submit = true};
  return payments_fixture_setup_with(state, &o);
}

static void sale_at_submit(void **state) {
  payments_fixture *f = *state;
  const processor_case *cases[] = {&stripe, &adyen, &authorizenet};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    test_client *c = f->client;
    order_ids ids;
    test_reply r;
    submitted_order(c, cases[i], &ids);
    Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
    assert_int_equal(pay->status, STATUS(CAPTURED));
    assert_int_equal(pay->captured->amount_minor, 5000);
    test_reply_clear(&r);
    /* Invoicing finds nothing left to capture. */
    Ccpay__V1__InvoiceOrderResponse *inv = invoice_line(c, ids.order, 1, 2, &r);
    assert_int_equal(inv->n_captures, 0);
    test_reply_clear(&r);
    assert_procsim_matches(f, ids.payment);
  }
  verify_offline(f);
  f->passed = true;
}

/* --- Faults ---------------------------------------------------------------------------- */

/* Authorization through p with fault injected on its first request: the transaction
 * ends resolved, one charge at procsim, and a retry of SubmitOrder with the same
 * request_id submits the order. */
static void authorize_through_fault(payments_fixture *f, const processor_case *p, const char *path,
                                    const char *fault) {
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  make_order(c, &ids);
  add_card(c, p, false, 5000, &ids);
  size_t before = procsim_payments(f, p->name);
  assert_true(procsim_inject(&f->control, p->name, path, fault, 1));
  rid submit = next_rid("submit");
  call_submit_order(c, submit.text, ids.order, &r);
  print_message("%s %s: SubmitOrder answered %s %s\n", p->name, fault, test_status_name(r.status),
                r.reason);
  bool answered = r.status == GRPC_STATUS_OK;
  if (!answered) assert_reply(&r, GRPC_STATUS_UNAVAILABLE, "OUTCOME_UNKNOWN", "retry");
  test_reply_clear(&r);
  wait_resolved(c, ids.payment);
  assert_true(procsim_clear_faults(&f->control));
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(AUTHORIZED));
  test_reply_clear(&r);
  call_submit_order(c, submit.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__Order, &r)->status,
                   CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED);
  test_reply_clear(&r);
  assert_int_equal(procsim_payments(f, p->name), before + 1); /* no double charge */
  assert_procsim_matches(f, ids.payment);
}

/* A capture whose answer is lost (the money moved): the invoice stands, the capture
 * resolves to SUCCEEDED, captured once. */
static void capture_through_drop(payments_fixture *f, const processor_case *p, const char *path) {
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  submitted_order(c, p, &ids);
  assert_true(procsim_inject(&f->control, p->name, path, "drop_after_commit", 2));
  Ccpay__V1__InvoiceOrderResponse *inv = invoice_line(c, ids.order, 1, 2, &r);
  assert_int_equal(inv->n_captures, 1);
  assert_int_equal(inv->captures[0]->state, STATE(UNKNOWN));
  test_reply_clear(&r);
  wait_resolved(c, ids.payment);
  assert_true(procsim_clear_faults(&f->control));
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->captured->amount_minor, 2000);
  test_reply_clear(&r);
  assert_procsim_matches(f, ids.payment);
}

static void faults_resolve(void **state) {
  payments_fixture *f = *state;
  const char *faults[] = {"drop_after_commit", "timeout", "5xx", "slow"};
  for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
    authorize_through_fault(f, &stripe, "/v1/payment_intents", faults[i]);
    authorize_through_fault(f, &adyen, "/v71/payments", faults[i]);
    authorize_through_fault(f, &authorizenet, "/xml/v1/request.api", faults[i]);
  }
  capture_through_drop(f, &stripe, "/capture");
  capture_through_drop(f, &adyen, "/captures");
  capture_through_drop(f, &authorizenet, "/xml/v1/request.api");
  test_reply r;
  call_list_open_transactions(f->client, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__ListTransactionsResponse, &r)->n_transactions, 0);
  test_reply_clear(&r);
  verify_offline(f);
  f->passed = true;
}

/* --- An adapter killed in the middle of a call ----------------------------------------- */

typedef struct submit_thread {
  test_client *client;
  const char *order_id;
  const char *request_id;
  test_reply reply;
} submit_thread;

static void *submit_in_thread(void *argument) {
  submit_thread *t = argument;
  call_submit_order(t->client, t->request_id, t->order_id, &t->reply);
  return NULL;
}

static void adapter_killed_mid_call(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  make_order(c, &ids);
  add_card(c, &stripe, false, 5000, &ids);
  size_t before = procsim_payments(f, "stripe");
  /* procsim takes the charge, then answers slowly: the adapter dies while it waits. */
  assert_true(procsim_inject(&f->control, "stripe", "/v1/payment_intents", "slow", 1));
  int old_pid = payments_fixture_adapter_pid(f, "stripe");
  assert_true(old_pid > 0);
  rid submit = next_rid("submit");
  submit_thread t = {.client = c, .order_id = ids.order, .request_id = submit.text};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, submit_in_thread, &t), 0);
  sleep_ms(500);
  assert_int_equal(kill(old_pid, SIGKILL), 0); /* the adapter is a child ccpayd started */
  pthread_join(thread, NULL);
  assert_reply(&t.reply, GRPC_STATUS_UNAVAILABLE, "OUTCOME_UNKNOWN", NULL);
  test_reply_clear(&t.reply);

  /* ccpayd restarts the adapter; the recovery loop asks about the transaction. */
  for (int waited = 0; payments_fixture_adapter_pid(f, "stripe") == old_pid; waited += POLL_MS) {
    if (waited > RESOLVE_TIMEOUT_MS) fail_msg("the stripe adapter was not restarted");
    sleep_ms(POLL_MS);
  }
  wait_resolved(c, ids.payment);
  assert_true(procsim_clear_faults(&f->control));
  call_submit_order(c, submit.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  assert_int_equal(procsim_payments(f, "stripe"), before + 1);
  assert_procsim_matches(f, ids.payment);
  verify_offline(f);
  f->passed = true;
}

/* --- Fraud rules -------------------------------------------------------------------------- */

static int fraud_setup(void **state) {
  payments_fixture_options o = {.hold_above = "USD:4000"};
  return payments_fixture_setup_with(state, &o);
}

/* Submits an order paid by a Stripe card with token for amount, and a check for the rest
 * of its total of 50.00 (so it balances); returns the reply's status. */
static grpc_status_code submit_with_card(payments_fixture *f, const char *token, int64_t amount,
                                         order_ids *ids, test_reply *r) {
  make_order(f->client, ids);
  processor_case card = stripe;
  card.approve_token = token;
  add_card(f->client, &card, false, amount, ids);
  if (amount < 5000) {
    rid check = next_rid("check");
    call_add_check(f->client, check.text, ids->order, "2201", "USD", 5000 - amount, r);
    assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
    test_reply_clear(r);
  }
  rid submit = next_rid("submit");
  return call_submit_order(f->client, submit.text, ids->order, r);
}

/* The default rules: a card-code mismatch refuses the card and voids its authorization;
 * an address mismatch, or an amount above the threshold, holds the order for review. */
static void fraud_rules_apply(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  test_reply r;

  submit_with_card(f, "pm_card_cvcCheckFail", 3000, &ids, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "PAYMENT_DECLINED", "CVV mismatch");
  test_reply_clear(&r);
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(DECLINED));
  assert_string_equal(pay->decline_code, "fraud_rule");
  assert_int_equal(pay->released->amount_minor, 3000); /* the authorization was voided */
  test_reply_clear(&r);
  assert_procsim_matches(f, ids.payment);

  submit_with_card(f, "pm_card_avsZipFail", 3000, &ids, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__Order *o = REPLY_AS(Ccpay__V1__Order, &r);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED);
  assert_non_null(o->hold);
  assert_string_equal(o->hold->code, "FRAUD_REVIEW");
  assert_non_null(strstr(o->hold->reason, "AVS mismatch"));
  test_reply_clear(&r);

  submit_with_card(f, "pm_card_visa", 5000, &ids, &r); /* above USD:4000 */
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  o = REPLY_AS(Ccpay__V1__Order, &r);
  assert_non_null(o->hold);
  assert_non_null(strstr(o->hold->reason, "above the review threshold"));
  test_reply_clear(&r);

  /* The review queue is the hold listing. */
  Ccpay__V1__ListOrdersRequest list = CCPAY__V1__LIST_ORDERS_REQUEST__INIT;
  list.hold_code = "FRAUD_REVIEW";
  test_client_call(c, "/ccpay.v1.OrderService/ListOrders", &list.base,
                   &ccpay__v1__list_orders_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(REPLY_AS(Ccpay__V1__ListOrdersResponse, &r)->n_orders, 2);
  test_reply_clear(&r);
  verify_offline(f);
  f->passed = true;
}

/* --- Cancelled while authorizing ----------------------------------------------------------- */

/* The order is cancelled while its card waits on the processor: the authorization that
 * then arrives is voided, and SubmitOrder says why. */
static void cancel_during_authorization(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  make_order(c, &ids);
  add_card(c, &stripe, false, 5000, &ids);
  assert_true(procsim_inject(&f->control, "stripe", "/v1/payment_intents", "slow", 1));
  rid submit = next_rid("submit");
  submit_thread t = {.client = c, .order_id = ids.order, .request_id = submit.text};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, submit_in_thread, &t), 0);
  sleep_ms(300);
  rid cancel = next_rid("cancel");
  call_cancel_order(c, cancel.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  pthread_join(thread, NULL);
  assert_reply(&t.reply, GRPC_STATUS_FAILED_PRECONDITION, "INVALID_STATE", "was cancelled");
  test_reply_clear(&t.reply);
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(VOIDED));
  assert_int_equal(pay->released->amount_minor, 5000);
  test_reply_clear(&r);
  assert_procsim_matches(f, ids.payment);
  verify_offline(f);
  f->passed = true;
}

/* --- An adapter that is down ------------------------------------------------------------ */

static int broken_adapter_setup(void **state) {
  payments_fixture_options o = {.break_authorizenet = true};
  return payments_fixture_setup_with(state, &o);
}

static void adapter_down_fails_fast(void **state) {
  payments_fixture *f = *state;
  test_client *c = f->client;
  order_ids ids;
  test_reply r;
  make_order(c, &ids);
  add_card(c, &authorizenet, false, 5000, &ids);
  rid submit = next_rid("submit");
  call_submit_order(c, submit.text, ids.order, &r);
  assert_reply(&r, GRPC_STATUS_UNAVAILABLE, "ADAPTER_UNAVAILABLE", "authorizenet");
  assert_true(r.elapsed_ms < FAST_FAIL_MS);
  test_reply_clear(&r);
  /* Nothing was sent: the card may be tried again later. */
  Ccpay__V1__Payment *pay = get_payment(c, ids.payment, &r);
  assert_int_equal(pay->status, STATUS(NEW));
  assert_string_equal(pay->open_transaction_id, "");
  test_reply_clear(&r);
  call_list_transactions(c, ids.payment, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__ListTransactionsResponse *txns =
      REPLY_AS(Ccpay__V1__ListTransactionsResponse, &r);
  assert_int_equal(txns->n_transactions, 1);
  assert_int_equal(txns->transactions[0]->state, STATE(FAILED));
  assert_true(txns->transactions[0]->not_sent);
  test_reply_clear(&r);
  /* A processor nobody configured is refused when the card is added. */
  rid bad = next_rid("card");
  call_add_card(c, bad.text, ids.order, "braintree", "tok", "Ada", NULL, "USD", 100, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "payment.card.processor");
  test_reply_clear(&r);
  verify_offline(f);
  f->passed = true;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(each_processor, payments_fixture_setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(sale_at_submit, sale_setup, payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(faults_resolve, payments_fixture_setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(adapter_killed_mid_call, payments_fixture_setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(adapter_down_fails_fast, broken_adapter_setup,
                                      payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(fraud_rules_apply, fraud_setup, payments_fixture_teardown),
      cmocka_unit_test_setup_teardown(cancel_during_authorization, payments_fixture_setup,
                                      payments_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
