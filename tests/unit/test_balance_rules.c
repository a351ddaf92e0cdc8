/* The out-of-balance rule (domain/balance.h): what payments will collect against a total,
 * cards counted only up to what is still owed, the per-currency parameters, the message
 * people read, and which resolutions settle a difference for good. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <string.h>

#include "domain/balance.h"
#include "test_records.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define PSTATUS(x) CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_##x

/* A tender ccpay took in: received and posted for amount. */
static Ccpay__V1__Payment *received(arena *a, uint64_t id, Ccpay__V1__TenderType tender,
                                    int64_t amount) {
  Ccpay__V1__Payment *p = test_records_payment(a, id, 1, 1, tender, amount);
  p->authorized->amount_minor = amount;
  p->captured->amount_minor = amount;
  return p;
}

static Ccpay__V1__Payment *card(arena *a, uint64_t id, int64_t amount,
                                Ccpay__V1__PaymentStatus status) {
  Ccpay__V1__Payment *p = test_records_payment(a, id, 1, 1, TENDER(CARD), amount);
  p->status = status;
  if (status == PSTATUS(AUTHORIZED)) p->authorized->amount_minor = amount;
  return p;
}

static void checks_and_cards_against_the_total(void **state) {
  arena *a = *state;
  balance b;
  /* The seed: a $100.00 check on $69.99 is overpaid by $30.01. */
  Ccpay__V1__Payment *over[] = {received(a, 10, TENDER(CHECK), 10000)};
  balance_of(over, 1, 6999, &b);
  assert_int_equal(b.payments_total, 10000);
  assert_int_equal(b.difference, 3001);
  assert_int_equal(b.lines, 1);
  /* A $50.00 check is underpaid by $19.99. */
  Ccpay__V1__Payment *under[] = {received(a, 11, TENDER(CHECK), 5000)};
  balance_of(under, 1, 6999, &b);
  assert_int_equal(b.difference, -1999);
  /* A card counts only what is still owed after the check: never overpaid by a card. */
  Ccpay__V1__Payment *mixed[] = {received(a, 12, TENDER(CHECK), 2000),
                                 card(a, 13, 9000, PSTATUS(NEW))};
  balance_of(mixed, 2, 6999, &b);
  assert_int_equal(b.payments_total, 6999);
  assert_int_equal(b.difference, 0);
  /* An authorized card short of the total leaves it underpaid. */
  Ccpay__V1__Payment *short_card[] = {card(a, 14, 6996, PSTATUS(AUTHORIZED))};
  balance_of(short_card, 1, 6999, &b);
  assert_int_equal(b.difference, -3);
}

static void refused_cards_and_no_lines(void **state) {
  arena *a = *state;
  balance b;
  Ccpay__V1__Payment *refused[] = {card(a, 20, 6999, PSTATUS(DECLINED)),
                                   card(a, 21, 6999, PSTATUS(FAILED)),
                                   card(a, 22, 6999, PSTATUS(VOIDED))};
  balance_of(refused, 3, 6999, &b);
  assert_int_equal(b.payments_total, 0);
  assert_int_equal(b.lines, 0); /* billed to the account: not checked */
  balance_of(NULL, 0, 6999, &b);
  assert_int_equal(b.lines, 0);
  assert_int_equal(b.difference, -6999);
  /* What a check gave back elsewhere no longer counts. */
  Ccpay__V1__Payment *check = received(a, 23, TENDER(CHECK), 5000);
  check->refunded_elsewhere = test_records_money(a, "USD", 1000);
  Ccpay__V1__Payment *one[] = {check};
  balance_of(one, 1, 4000, &b);
  assert_int_equal(b.difference, 0);
}

static void per_currency_amounts_and_message(void **state) {
  arena *a = *state;
  Ccpay__V1__Money *list[] = {test_records_money(a, "USD", 5), test_records_money(a, "JPY", 10)};
  assert_int_equal(balance_currency_amount(list, 2, "USD", 0), 5);
  assert_int_equal(balance_currency_amount(list, 2, "JPY", 0), 10);
  assert_int_equal(balance_currency_amount(list, 2, "EUR", -1), -1);
  char text[48];
  balance_format(-1999, "USD", text, sizeof text);
  assert_string_equal(text, "-19.99 USD");
  balance_format(2754, "JPY", text, sizeof text);
  assert_string_equal(text, "2754 JPY");
  balance_format(1005, "BHD", text, sizeof text);
  assert_string_equal(text, "1.005 BHD");
  balance b = {.payments_total = 10000, .order_total = 6999, .difference = 3001, .lines = 1};
  Ccpay__V1__BalanceReview *r = balance_review_new(&b, "USD", a);
  assert_non_null(r);
  assert_string_equal(r->message,
                      "The total payment amount and total sales amount do not balance: "
                      "payments 100.00 USD, order total 69.99 USD, overpaid by 30.01 USD");
  assert_int_equal(r->difference->amount_minor, 3001);
  assert_int_equal(r->resolution, 0);
}

static void which_resolutions_settle(void **state) {
  (void)state;
  Ccpay__V1__BalanceReview r = CCPAY__V1__BALANCE_REVIEW__INIT;
  assert_false(balance_resolved(NULL));
  assert_false(balance_resolved(&r)); /* in the queue */
  r.resolution = CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_PAYMENT_ADDED;
  assert_false(balance_resolved(&r)); /* checked again at submission */
  Ccpay__V1__BalanceResolution settled[] = {
      CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_AUTO_WRITE_OFF,
      CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_REFUND_EXCESS,
      CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_BILL_TO_ACCOUNT,
      CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_WRITE_OFF};
  for (size_t i = 0; i < sizeof settled / sizeof *settled; i++) {
    r.resolution = settled[i];
    assert_true(balance_resolved(&r));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(checks_and_cards_against_the_total, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(refused_cards_and_no_lines, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(per_currency_amounts_and_message, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test(which_resolutions_settle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
