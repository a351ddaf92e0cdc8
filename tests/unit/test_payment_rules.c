/* Payment rules: what a new payment line must hold (a card token, never a card number;
 * a card not expired; the order's currency), and the bookkeeping of amounts as
 * operations start and end, counting what is in flight: captured <= authorized,
 * refunded <= captured, a declined authorization ends the card's use, an authorization
 * that never reached the processor leaves the payment NEW. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/payment.h"
#include "test_records.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define STATUS(x) CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_##x
#define KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x
#define STATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x

/* 2026-11-23T00:00:00Z */
static const int64_t NOW_MS = 1795392000000LL;

static Ccpay__V1__Payment *card_payment(arena *a, int64_t amount) {
  Ccpay__V1__Payment *p = arena_alloc(a, sizeof *p);
  Ccpay__V1__CardDetails *c = arena_alloc(a, sizeof *c);
  assert_non_null(p);
  assert_non_null(c);
  ccpay__v1__payment__init(p);
  ccpay__v1__card_details__init(c);
  c->processor = "stripe";
  c->token = "pm_card_visa";
  c->brand = "visa";
  c->last4 = "4242";
  c->exp_month = 12;
  c->exp_year = 2030;
  p->id = "pay_1";
  p->order_id = "ord_1";
  p->tender_type = TENDER(CARD);
  p->amount = test_records_money(a, "USD", amount);
  p->card = c;
  return p;
}

static void expect_invalid(const Ccpay__V1__Payment *p, ccpay_err code, const char *text) {
  ccpay_error error;
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), code);
  if (strstr(error.message, text) == NULL) fail_msg("\"%s\" lacks \"%s\"", error.message, text);
}

static void validation_names_the_field(void **state) {
  arena *a = *state;
  ccpay_error error;
  Ccpay__V1__Payment *p = card_payment(a, 1000);
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), CCPAY_OK);

  p->card->token = "4242 4242 4242 4242";
  expect_invalid(p, CCPAY_ERR_CARD_DATA_IN_TEXT, "payment.card.token");
  p->card->token = "";
  expect_invalid(p, CCPAY_ERR_FIELD_REQUIRED, "payment.card.token");
  p->card->token = "pm card";
  expect_invalid(p, CCPAY_ERR_FIELD_INVALID, "payment.card.token");
  p->card->token = "pm_card_visa";

  p->card->last4 = "42";
  expect_invalid(p, CCPAY_ERR_FIELD_INVALID, "payment.card.last4");
  p->card->last4 = "4242";
  p->card->exp_month = 13;
  expect_invalid(p, CCPAY_ERR_FIELD_OUT_OF_RANGE, "payment.card.exp_month");
  p->card->exp_month = 10, p->card->exp_year = 2026; /* ended before November 2026 */
  expect_invalid(p, CCPAY_ERR_FIELD_INVALID, "expired 10/2026");
  p->card->exp_month = 11; /* good through the end of this month */
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), CCPAY_OK);

  p->amount->currency_code = "EUR";
  expect_invalid(p, CCPAY_ERR_FIELD_INVALID, "payment.amount.currency_code");
  p->amount->currency_code = "USD";
  p->amount->amount_minor = -5;
  expect_invalid(p, CCPAY_ERR_FIELD_OUT_OF_RANGE, "payment.amount");
  p->amount->amount_minor = 1000;

  p->card = NULL;
  expect_invalid(p, CCPAY_ERR_FIELD_REQUIRED, "payment.card");
  p->tender_type = TENDER(CHECK);
  expect_invalid(p, CCPAY_ERR_FIELD_REQUIRED, "payment.check_number");
  p->check_number = "10442";
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), CCPAY_OK);
  p->tender_type = TENDER(ACH);
  expect_invalid(p, CCPAY_ERR_FIELD_REQUIRED, "payment.reference");
  p->reference = "ACH-TRACE-0091";
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), CCPAY_OK);
  p->tender_type = TENDER(GIFT_CARD_EXTERNAL);
  p->reference = "6011 1111 1111 1117"; /* a card number is never a reference */
  expect_invalid(p, CCPAY_ERR_CARD_DATA_IN_TEXT, "payment.reference");
  p->tender_type = TENDER(CUSTOMER_ACCOUNT); /* stored whatever the tender: refused too */
  expect_invalid(p, CCPAY_ERR_CARD_DATA_IN_TEXT, "payment.reference");
  p->reference = "";
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), CCPAY_OK);
  p->tender_type = TENDER(LOYALTY_CARD);
  p->reference = "LOY-000042";
  assert_int_equal(payment_validate_new(p, "USD", NOW_MS, &error), CCPAY_OK);
  p->tender_type = TENDER(GIFT_CARD_INTERNAL);
  p->reference = "gc 1";
  expect_invalid(p, CCPAY_ERR_FIELD_INVALID, "payment.reference");
  p->reference = "4242424242424242";
  expect_invalid(p, CCPAY_ERR_CARD_DATA_IN_TEXT, "payment.reference");
  p->tender_type = 0;
  p->reference = "";
  expect_invalid(p, CCPAY_ERR_FIELD_REQUIRED, "payment.tender_type");
}

static Ccpay__V1__Transaction *txn(arena *a, const char *id, Ccpay__V1__TransactionKind kind,
                                   int64_t amount) {
  Ccpay__V1__Transaction *t = arena_alloc(a, sizeof *t);
  assert_non_null(t);
  ccpay__v1__transaction__init(t);
  t->id = (char *)id;
  t->payment_id = "pay_1";
  t->kind = kind;
  t->state = STATE(PENDING);
  t->amount = test_records_money(a, "USD", amount);
  t->processor_reference = "pi_1";
  return t;
}

/* Starts and finishes an operation with the given final state. */
static void run(Ccpay__V1__Payment *p, Ccpay__V1__Transaction *t,
                Ccpay__V1__TransactionState state) {
  ccpay_error error;
  assert_int_equal(payment_check_start(p, t->kind, t->amount->amount_minor, &error), CCPAY_OK);
  payment_start(p, t);
  t->state = state;
  payment_finish(p, t);
}

static void captures_refunds_and_releases_add_up(void **state) {
  arena *a = *state;
  ccpay_error error;
  Ccpay__V1__Payment *p = card_payment(a, 10000);
  assert_true(payment_init_amounts(p, a));
  p->open_transaction_id = "";
  assert_int_equal(p->status, STATUS(NEW));

  run(p, txn(a, "txn_a", KIND(AUTHORIZE), 10000), STATE(SUCCEEDED));
  assert_int_equal(p->status, STATUS(AUTHORIZED));
  assert_int_equal(payment_capturable(p), 10000);

  /* A capture in flight reserves its amount: a second may not take it again. */
  Ccpay__V1__Transaction *c1 = txn(a, "txn_c1", KIND(CAPTURE), 6000);
  assert_int_equal(payment_check_start(p, KIND(CAPTURE), 6000, &error), CCPAY_OK);
  payment_start(p, c1);
  assert_int_equal(payment_capturable(p), 4000);
  assert_int_equal(payment_check_start(p, KIND(CAPTURE), 1, &error), CCPAY_ERR_PAYMENT_IN_PROGRESS);
  c1->state = STATE(SUCCEEDED);
  payment_finish(p, c1);
  assert_int_equal(p->captured->amount_minor, 6000);
  assert_int_equal(p->status, STATUS(CAPTURED));

  assert_int_equal(payment_check_start(p, KIND(CAPTURE), 4001, &error), CCPAY_ERR_AMOUNT_EXCEEDED);
  assert_non_null(strstr(error.message, "4000 left to capture"));

  /* A final capture releases the rest of the authorization. */
  Ccpay__V1__Transaction *c2 = txn(a, "txn_c2", KIND(CAPTURE), 1500);
  c2->final_capture = true;
  run(p, c2, STATE(SUCCEEDED));
  assert_int_equal(p->captured->amount_minor, 7500);
  assert_int_equal(p->released->amount_minor, 2500);
  assert_int_equal(payment_capturable(p), 0);

  /* Refunds up to what was captured; a declined refund gives the amount back. */
  run(p, txn(a, "txn_r1", KIND(REFUND), 5000), STATE(DECLINED));
  assert_int_equal(payment_refundable(p), 7500);
  run(p, txn(a, "txn_r2", KIND(REFUND), 5000), STATE(SUCCEEDED));
  assert_int_equal(payment_check_start(p, KIND(REFUND), 2501, &error), CCPAY_ERR_AMOUNT_EXCEEDED);
  run(p, txn(a, "txn_r3", KIND(REFUND), 2500), STATE(SUCCEEDED));
  assert_int_equal(p->status, STATUS(REFUNDED));
  assert_int_equal(payment_check_start(p, KIND(REFUND), 1, &error), CCPAY_ERR_AMOUNT_EXCEEDED);
}

static void declines_and_unsent_authorizations(void **state) {
  arena *a = *state;
  ccpay_error error;
  Ccpay__V1__Payment *p = card_payment(a, 2500);
  assert_true(payment_init_amounts(p, a));
  p->open_transaction_id = "";

  /* The adapter was down: nothing happened, the card may be tried again. */
  Ccpay__V1__Transaction *unsent = txn(a, "txn_u", KIND(AUTHORIZE), 2500);
  unsent->not_sent = true;
  run(p, unsent, STATE(FAILED));
  assert_int_equal(p->status, STATUS(NEW));

  Ccpay__V1__Transaction *declined = txn(a, "txn_d", KIND(AUTHORIZE), 2500);
  declined->decline_code = "insufficient_funds";
  declined->message = "Your card has insufficient funds.";
  run(p, declined, STATE(DECLINED));
  assert_int_equal(p->status, STATUS(DECLINED));
  assert_string_equal(p->decline_code, "insufficient_funds");
  assert_int_equal(payment_check_start(p, KIND(AUTHORIZE), 2500, &error), CCPAY_ERR_INVALID_STATE);
  assert_int_equal(payment_check_start(p, KIND(CAPTURE), 1, &error), CCPAY_ERR_INVALID_STATE);
}

static void voids_and_sales(void **state) {
  arena *a = *state;
  ccpay_error error;
  Ccpay__V1__Payment *p = card_payment(a, 4000);
  assert_true(payment_init_amounts(p, a));
  p->open_transaction_id = "";
  run(p, txn(a, "txn_a", KIND(AUTHORIZE), 4000), STATE(SUCCEEDED));
  run(p, txn(a, "txn_v", KIND(VOID), 4000), STATE(SUCCEEDED));
  assert_int_equal(p->status, STATUS(VOIDED));
  assert_int_equal(p->released->amount_minor, 4000);
  assert_int_equal(payment_check_start(p, KIND(VOID), 0, &error), CCPAY_ERR_INVALID_STATE);

  Ccpay__V1__Payment *s = card_payment(a, 900);
  assert_true(payment_init_amounts(s, a));
  s->open_transaction_id = "";
  run(s, txn(a, "txn_s", KIND(SALE), 900), STATE(SUCCEEDED));
  assert_int_equal(s->status, STATUS(CAPTURED));
  assert_int_equal(s->captured->amount_minor, 900);
  assert_int_equal(payment_refundable(s), 900);

  Ccpay__V1__Payment *check = card_payment(a, 500);
  check->tender_type = TENDER(CHECK);
  assert_true(payment_init_amounts(check, a));
  assert_int_equal(check->status, STATUS(RECEIVED));
  assert_int_equal(payment_check_start(check, KIND(REFUND), 1, &error), CCPAY_ERR_INVALID_STATE);
}

static void redaction_removes_the_token(void **state) {
  arena *a = *state;
  Ccpay__V1__Payment *p = card_payment(a, 100);
  Ccpay__V1__Payment *shown = payment_redact(p, a);
  assert_non_null(shown);
  assert_string_equal(shown->card->token, "");
  assert_string_equal(shown->card->last4, "4242");
  assert_string_equal(p->card->token, "pm_card_visa"); /* the stored copy keeps it */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(validation_names_the_field, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(captures_refunds_and_releases_add_up,
                                      test_records_arena_setup, test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(declines_and_unsent_authorizations, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(voids_and_sales, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(redaction_removes_the_token, test_records_arena_setup,
                                      test_records_arena_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
