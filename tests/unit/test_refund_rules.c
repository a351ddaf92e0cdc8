/* Refund rules: where the money of a refund goes (domain/refund.h's derivation is the
 * contract). First what the order put on the customer's account goes back there; then the
 * order's money, payment by payment, oldest first, each at most payment_refundable, to a
 * tender chosen by the kind of tender it came in (card → the same card, cash or check →
 * the currency's method, internal gift card or loyalty card → the same number, anything
 * else or several kinds → the default return method); what is left is a credit on the
 * account. Apply credit sends everything to the apply-credit method, no original order to
 * the default return method. The property test at the end checks the same rules against
 * a small model on random orders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/limits.h"
#include "domain/payment.h"
#include "domain/refund.h"
#include "test_records.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define DERIVED(x) CCPAY__V1__REFUND_DERIVATION__REFUND_DERIVATION_##x
#define LINE_STATUS(x) CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_##x
#define PAY_STATUS(x) CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_##x

/* --- Building payments and parameters ------------------------------------------------- */

/* A payment pay_<id> of order 1 that took in `captured` (authorized and captured, as a
 * settled card or a posted check leaves it), nothing refunded yet. Stored-value tenders
 * and external ones carry reference. */
static Ccpay__V1__Payment *paid(arena *a, uint64_t id, Ccpay__V1__TenderType tender,
                                int64_t captured, const char *reference) {
  Ccpay__V1__Payment *p = test_records_payment(a, id, 1, 1, tender, captured);
  p->authorized->amount_minor = captured;
  p->captured->amount_minor = captured;
  p->refunded_elsewhere = test_records_money(a, "USD", 0);
  if (reference != NULL) p->reference = (char *)reference;
  if (tender == TENDER(CARD))
    p->status = captured > 0 ? PAY_STATUS(CAPTURED) : PAY_STATUS(DECLINED);
  return p;
}

/* Parameters naming a refund method per currency (pairs of currency, tender), a default
 * return method (UNSPECIFIED: the default) and no apply-credit method. */
static Ccpay__V1__Parameters *params(arena *a, Ccpay__V1__TenderType default_method,
                                     size_t n_methods, const char *const *currencies,
                                     const Ccpay__V1__TenderType *methods) {
  Ccpay__V1__Parameters *p = arena_alloc(a, sizeof *p);
  assert_non_null(p);
  ccpay__v1__parameters__init(p);
  p->default_return_method = default_method;
  p->refund_methods = arena_alloc(a, (n_methods + 1) * sizeof *p->refund_methods);
  assert_non_null(p->refund_methods);
  for (size_t i = 0; i < n_methods; i++) {
    Ccpay__V1__CurrencyRefundMethod *m = arena_alloc(a, sizeof *m);
    assert_non_null(m);
    ccpay__v1__currency_refund_method__init(m);
    m->currency_code = (char *)currencies[i];
    m->tender_type = methods[i];
    p->refund_methods[i] = m;
  }
  p->n_refund_methods = n_methods;
  return p;
}

static refund_policy policy_of(const Ccpay__V1__Parameters *p, const char *currency,
                               bool apply_credit) {
  refund_policy policy;
  memset(&policy, 0xA5, sizeof policy); /* every field must be set */
  refund_policy_for(p, currency, apply_credit, &policy);
  return policy;
}

/* --- Deriving and checking ------------------------------------------------------------ */

typedef struct derived {
  Ccpay__V1__RefundLine **lines;
  size_t count;
} derived;

/* refund_derive, which must succeed; checks what every derivation keeps: the lines add
 * up to amount, are numbered from first, PENDING, positive, in currency. */
static derived derive_from(arena *a, const refund_policy *policy, bool has_original,
                           Ccpay__V1__Payment *const *payments, size_t n, const char *currency,
                           int64_t amount, int32_t first) {
  derived d = {NULL, 0};
  ccpay_error e;
  ccpay_err rc = refund_derive(policy, has_original, payments, n, currency, amount, first, a,
                               &d.lines, &d.count, &e);
  if (rc != CCPAY_OK) fail_msg("refund_derive: %s", e.message);
  assert_true(d.count <= REFUND_LINES_MAX);
  assert_int_equal(refund_lines_total(d.lines, d.count, 0), amount);
  for (size_t i = 0; i < d.count; i++) {
    const Ccpay__V1__RefundLine *l = d.lines[i];
    assert_int_equal(l->line_number, first + (int32_t)i);
    assert_int_equal(l->status, LINE_STATUS(PENDING));
    assert_non_null(l->amount);
    assert_string_equal(l->amount->currency_code, currency);
    assert_true(l->amount->amount_minor > 0);
  }
  return d;
}

static derived derive(arena *a, const refund_policy *policy, Ccpay__V1__Payment *const *payments,
                      size_t n, int64_t amount) {
  return derive_from(a, policy, true, payments, n, "USD", amount, 1);
}

typedef struct line_spec {
  Ccpay__V1__TenderType tender;
  int64_t amount;
  Ccpay__V1__RefundDerivation derivation;
  const char *source; /* source_payment_id ("" for none) */
  const char *target; /* target_payment_id */
  const char *reference;
} line_spec;

static void assert_line_is(const Ccpay__V1__RefundLine *l, line_spec want) {
  if (l->tender_type != want.tender) {
    fail_msg("line %d: tender %s, want %s", l->line_number, payment_tender_name(l->tender_type),
             payment_tender_name(want.tender));
  }
  if (l->amount->amount_minor != want.amount) {
    fail_msg("line %d: amount %lld, want %lld", l->line_number, (long long)l->amount->amount_minor,
             (long long)want.amount);
  }
  if (l->derivation != want.derivation) {
    fail_msg("line %d: derivation %s, want %s", l->line_number,
             refund_derivation_name(l->derivation), refund_derivation_name(want.derivation));
  }
  assert_string_equal(l->source_payment_id, want.source);
  assert_string_equal(l->target_payment_id, want.target);
  assert_string_equal(l->reference, want.reference);
  assert_string_equal(l->transaction_id, "");
  assert_string_equal(l->refund_check_id, "");
  assert_null(l->override);
}

/* The lines of d are exactly want, in order. */
static void assert_lines(derived d, const line_spec *want, size_t n) {
  if (d.count != n) {
    for (size_t i = 0; i < d.count; i++) {
      print_message("  line %d: %s %lld %s from \"%s\"\n", d.lines[i]->line_number,
                    payment_tender_name(d.lines[i]->tender_type),
                    (long long)d.lines[i]->amount->amount_minor,
                    refund_derivation_name(d.lines[i]->derivation), d.lines[i]->source_payment_id);
    }
    fail_msg("%zu lines, want %zu", d.count, n);
  }
  for (size_t i = 0; i < n; i++) assert_line_is(d.lines[i], want[i]);
}

#define LINES(...) (const line_spec[]){__VA_ARGS__}, COUNT(((const line_spec[]){__VA_ARGS__}))
#define PAYMENTS(...) \
  (Ccpay__V1__Payment *const[]){__VA_ARGS__}, COUNT(((Ccpay__V1__Payment *const[]){__VA_ARGS__}))

/* got is want, and the message holds text (the field it must name). */
static void assert_error(ccpay_err got, const ccpay_error *e, ccpay_err want, const char *text) {
  if (got == CCPAY_OK) fail_msg("accepted; want %s naming %s", ccpay_err_reason(want), text);
  if (got != want) {
    fail_msg("%s (%s); want %s", ccpay_err_reason(got), e->message, ccpay_err_reason(want));
  }
  if (strstr(e->message, text) == NULL) fail_msg("\"%s\" does not name \"%s\"", e->message, text);
}

/* --- Policy --------------------------------------------------------------------------- */

static void policy_defaults_and_parameters(void **state) {
  arena *a = *state;
  refund_policy p = policy_of(NULL, "USD", false);
  assert_int_equal(p.currency_method, TENDER(CHECK));
  assert_int_equal(p.default_method, TENDER(CHECK));
  assert_false(p.apply_credit);
  assert_int_equal(p.apply_credit_method, TENDER(CUSTOMER_ACCOUNT));
  assert_true(policy_of(NULL, "USD", true).apply_credit);

  /* Parameters with nothing set are the defaults. */
  Ccpay__V1__Parameters *none = params(a, TENDER(UNSPECIFIED), 0, NULL, NULL);
  p = policy_of(none, "USD", false);
  assert_int_equal(p.currency_method, TENDER(CHECK));
  assert_int_equal(p.default_method, TENDER(CHECK));
  assert_int_equal(p.apply_credit_method, TENDER(CUSTOMER_ACCOUNT));

  /* A currency's own method applies to it only. */
  Ccpay__V1__Parameters *cash_eur =
      params(a, TENDER(CUSTOMER_ACCOUNT), 2, (const char *const[]){"EUR", "GBP"},
             (const Ccpay__V1__TenderType[]){TENDER(CASH), TENDER(CHECK)});
  cash_eur->apply_credit_method = TENDER(CUSTOMER_ACCOUNT);
  p = policy_of(cash_eur, "EUR", true);
  assert_int_equal(p.currency_method, TENDER(CASH));
  assert_int_equal(p.default_method, TENDER(CUSTOMER_ACCOUNT));
  assert_true(p.apply_credit);
  assert_int_equal(p.apply_credit_method, TENDER(CUSTOMER_ACCOUNT));
  assert_int_equal(policy_of(cash_eur, "USD", false).currency_method, TENDER(CHECK));
  assert_int_equal(policy_of(cash_eur, "GBP", false).currency_method, TENDER(CHECK));
  assert_int_equal(policy_of(cash_eur, "USD", false).default_method, TENDER(CUSTOMER_ACCOUNT));
}

/* --- Cards ---------------------------------------------------------------------------- */

static void card_refund_goes_back_to_the_same_card(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__Payment *card = paid(a, 1, TENDER(CARD), 5000, NULL);
  const char *id = card->id;
  assert_lines(derive(a, &policy, PAYMENTS(card), 2000),
               LINES({TENDER(CARD), 2000, DERIVED(SAME_CARD), id, id, ""}));
  /* All of it, and numbered from first_line_number. */
  derived d = derive_from(a, &policy, true, PAYMENTS(card), "USD", 5000, 4);
  assert_lines(d, LINES({TENDER(CARD), 5000, DERIVED(SAME_CARD), id, id, ""}));
  assert_int_equal(d.lines[0]->line_number, 4);
}

static void card_refund_splits_across_cards_oldest_first(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  /* Card A captured 30.00 of which 10.00 was refunded; card B captured 50.00. */
  Ccpay__V1__Payment *card_a = paid(a, 1, TENDER(CARD), 3000, NULL);
  card_a->refunded->amount_minor = 1000;
  Ccpay__V1__Payment *card_b = paid(a, 2, TENDER(CARD), 5000, NULL);
  const char *ida = card_a->id, *idb = card_b->id;

  assert_lines(derive(a, &policy, PAYMENTS(card_a, card_b), 6000),
               LINES({TENDER(CARD), 2000, DERIVED(SAME_CARD), ida, ida, ""},
                     {TENDER(CARD), 4000, DERIVED(SAME_CARD), idb, idb, ""}));
  /* Less than the oldest card has left: the oldest only. */
  assert_lines(derive(a, &policy, PAYMENTS(card_a, card_b), 1500),
               LINES({TENDER(CARD), 1500, DERIVED(SAME_CARD), ida, ida, ""}));
  /* Exactly what the oldest has left: no zero line for the other. */
  assert_lines(derive(a, &policy, PAYMENTS(card_a, card_b), 2000),
               LINES({TENDER(CARD), 2000, DERIVED(SAME_CARD), ida, ida, ""}));
  /* Everything both can give back. */
  assert_lines(derive(a, &policy, PAYMENTS(card_a, card_b), 7000),
               LINES({TENDER(CARD), 2000, DERIVED(SAME_CARD), ida, ida, ""},
                     {TENDER(CARD), 5000, DERIVED(SAME_CARD), idb, idb, ""}));
  /* The payments' order is the age: B first when it is the older. */
  assert_lines(derive(a, &policy, PAYMENTS(card_b, card_a), 6000),
               LINES({TENDER(CARD), 5000, DERIVED(SAME_CARD), idb, idb, ""},
                     {TENDER(CARD), 1000, DERIVED(SAME_CARD), ida, ida, ""}));
  /* The derivation reads the payments, never changes them. */
  assert_int_equal(payment_refundable(card_a), 2000);
  assert_int_equal(payment_refundable(card_b), 5000);
}

static void card_refund_counts_what_was_given_back_elsewhere(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  /* A: 30.00 captured, 25.00 given back by a refund check; B: 50.00 captured, 5.00 of a
   * refund in flight; C: declined, nothing captured (no money, not a kind). */
  Ccpay__V1__Payment *card_a = paid(a, 1, TENDER(CARD), 3000, NULL);
  card_a->refunded_elsewhere->amount_minor = 2500;
  Ccpay__V1__Payment *card_b = paid(a, 2, TENDER(CARD), 5000, NULL);
  card_b->pending_refund->amount_minor = 500;
  Ccpay__V1__Payment *card_c = paid(a, 3, TENDER(CARD), 0, NULL);
  const char *ida = card_a->id, *idb = card_b->id;
  assert_lines(derive(a, &policy, PAYMENTS(card_c, card_a, card_b), 4000),
               LINES({TENDER(CARD), 500, DERIVED(SAME_CARD), ida, ida, ""},
                     {TENDER(CARD), 3500, DERIVED(SAME_CARD), idb, idb, ""}));

  /* A card whose money all went back elsewhere gives nothing: the rest is B's. */
  card_a->refunded_elsewhere->amount_minor = 3000;
  assert_lines(derive(a, &policy, PAYMENTS(card_a, card_b), 4000),
               LINES({TENDER(CARD), 4000, DERIVED(SAME_CARD), idb, idb, ""}));

  /* A declined card is no kind of the order's money: a check alone decides. */
  Ccpay__V1__Payment *check = paid(a, 4, TENDER(CHECK), 2000, NULL);
  assert_lines(derive(a, &policy, PAYMENTS(card_c, check), 2000),
               LINES({TENDER(CHECK), 2000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
}

/* --- Cash and checks ------------------------------------------------------------------ */

static void cash_and_check_orders_get_the_currency_method(void **state) {
  arena *a = *state;
  Ccpay__V1__Payment *check = paid(a, 1, TENDER(CHECK), 5000, NULL);
  Ccpay__V1__Payment *cash = paid(a, 2, TENDER(CASH), 4000, NULL);
  Ccpay__V1__Payment *check2 = paid(a, 3, TENDER(CHECK), 1000, NULL);

  /* By default a refund check. */
  refund_policy policy = policy_of(NULL, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(check), 1234),
               LINES({TENDER(CHECK), 1234, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
  assert_lines(derive(a, &policy, PAYMENTS(cash), 4000),
               LINES({TENDER(CHECK), 4000, DERIVED(CURRENCY_REFUND_METHOD), cash->id, "", ""}));
  /* Two checks: each its own line, oldest first. */
  assert_lines(derive(a, &policy, PAYMENTS(check, check2), 5500),
               LINES({TENDER(CHECK), 5000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""},
                     {TENDER(CHECK), 500, DERIVED(CURRENCY_REFUND_METHOD), check2->id, "", ""}));

  /* CASH when the parameters name it for the order's currency. */
  Ccpay__V1__Parameters *usd_cash = params(a, TENDER(UNSPECIFIED), 1, (const char *const[]){"USD"},
                                           (const Ccpay__V1__TenderType[]){TENDER(CASH)});
  policy = policy_of(usd_cash, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(check), 1234),
               LINES({TENDER(CASH), 1234, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
  assert_lines(derive(a, &policy, PAYMENTS(cash), 100),
               LINES({TENDER(CASH), 100, DERIVED(CURRENCY_REFUND_METHOD), cash->id, "", ""}));

  /* Another currency's entry does not apply; the default return method does not either. */
  Ccpay__V1__Parameters *eur_cash =
      params(a, TENDER(CUSTOMER_ACCOUNT), 1, (const char *const[]){"EUR"},
             (const Ccpay__V1__TenderType[]){TENDER(CASH)});
  policy = policy_of(eur_cash, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(cash), 4000),
               LINES({TENDER(CHECK), 4000, DERIVED(CURRENCY_REFUND_METHOD), cash->id, "", ""}));
  /* ... while it does for an order in its currency. */
  policy = policy_of(eur_cash, "EUR", false);
  derived d = derive_from(a, &policy, true, PAYMENTS(check), "EUR", 700, 1);
  assert_lines(d, LINES({TENDER(CASH), 700, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
  assert_string_equal(d.lines[0]->amount->currency_code, "EUR");
}

/* --- Stored value --------------------------------------------------------------------- */

static void stored_value_goes_back_to_the_same_number(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__Payment *loyalty = paid(a, 1, TENDER(LOYALTY_CARD), 3000, "LOY-000042");
  assert_lines(derive(a, &policy, PAYMENTS(loyalty), 1250),
               LINES({TENDER(LOYALTY_CARD), 1250, DERIVED(SAME_STORED_VALUE), loyalty->id, "",
                      "LOY-000042"}));

  Ccpay__V1__Payment *gift = paid(a, 2, TENDER(GIFT_CARD_INTERNAL), 2500, "GC-0001-ABCD");
  assert_lines(derive(a, &policy, PAYMENTS(gift), 2500),
               LINES({TENDER(GIFT_CARD_INTERNAL), 2500, DERIVED(SAME_STORED_VALUE), gift->id, "",
                      "GC-0001-ABCD"}));

  /* Two gift cards: split oldest first, each back to its own number. */
  Ccpay__V1__Payment *gift_a = paid(a, 3, TENDER(GIFT_CARD_INTERNAL), 2000, "GC-AAAA-0001");
  Ccpay__V1__Payment *gift_b = paid(a, 4, TENDER(GIFT_CARD_INTERNAL), 3000, "GC-BBBB-0002");
  assert_lines(derive(a, &policy, PAYMENTS(gift_a, gift_b), 4000),
               LINES({TENDER(GIFT_CARD_INTERNAL), 2000, DERIVED(SAME_STORED_VALUE), gift_a->id, "",
                      "GC-AAAA-0001"},
                     {TENDER(GIFT_CARD_INTERNAL), 2000, DERIVED(SAME_STORED_VALUE), gift_b->id, "",
                      "GC-BBBB-0002"}));
  /* The parameters' methods do not change it. */
  Ccpay__V1__Parameters *p = params(a, TENDER(CASH), 1, (const char *const[]){"USD"},
                                    (const Ccpay__V1__TenderType[]){TENDER(CASH)});
  policy = policy_of(p, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(loyalty), 3000),
               LINES({TENDER(LOYALTY_CARD), 3000, DERIVED(SAME_STORED_VALUE), loyalty->id, "",
                      "LOY-000042"}));
}

/* --- The default return method -------------------------------------------------------- */

static void other_tenders_get_the_default_method(void **state) {
  arena *a = *state;
  Ccpay__V1__Payment *external = paid(a, 1, TENDER(GIFT_CARD_EXTERNAL), 3000, "EXT-GC-77");
  Ccpay__V1__Payment *ach = paid(a, 2, TENDER(ACH), 8000, "ACH-TRACE-0091");

  refund_policy policy = policy_of(NULL, "USD", false);
  /* The external number is not credited: no reference on the line. */
  assert_lines(derive(a, &policy, PAYMENTS(external), 3000),
               LINES({TENDER(CHECK), 3000, DERIVED(DEFAULT_RETURN_METHOD), external->id, "", ""}));
  assert_lines(derive(a, &policy, PAYMENTS(ach), 100),
               LINES({TENDER(CHECK), 100, DERIVED(DEFAULT_RETURN_METHOD), ach->id, "", ""}));

  Ccpay__V1__Parameters *to_account = params(a, TENDER(CUSTOMER_ACCOUNT), 0, NULL, NULL);
  policy = policy_of(to_account, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(external), 3000),
               LINES({TENDER(CUSTOMER_ACCOUNT), 3000, DERIVED(DEFAULT_RETURN_METHOD), external->id,
                      "", ""}));
  assert_lines(
      derive(a, &policy, PAYMENTS(ach), 8000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 8000, DERIVED(DEFAULT_RETURN_METHOD), ach->id, "", ""}));

  /* The currency's method is for cash and checks only. */
  Ccpay__V1__Parameters *to_cash = params(a, TENDER(CASH), 1, (const char *const[]){"USD"},
                                          (const Ccpay__V1__TenderType[]){TENDER(CHECK)});
  policy = policy_of(to_cash, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(ach), 8000),
               LINES({TENDER(CASH), 8000, DERIVED(DEFAULT_RETURN_METHOD), ach->id, "", ""}));
}

static void several_tenders_get_the_default_method(void **state) {
  arena *a = *state;
  Ccpay__V1__Payment *card = paid(a, 1, TENDER(CARD), 3000, NULL);
  Ccpay__V1__Payment *check = paid(a, 2, TENDER(CHECK), 2000, NULL);

  /* Card + check: every money line the default method, each with its own source; the
   * card's line is no linked refund (no target). */
  refund_policy policy = policy_of(NULL, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(card, check), 4000),
               LINES({TENDER(CHECK), 3000, DERIVED(DEFAULT_RETURN_METHOD), card->id, "", ""},
                     {TENDER(CHECK), 1000, DERIVED(DEFAULT_RETURN_METHOD), check->id, "", ""}));

  Ccpay__V1__Parameters *to_account =
      params(a, TENDER(CUSTOMER_ACCOUNT), 1, (const char *const[]){"USD"},
             (const Ccpay__V1__TenderType[]){TENDER(CASH)});
  policy = policy_of(to_account, "USD", false);
  assert_lines(
      derive(a, &policy, PAYMENTS(card, check), 5000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 3000, DERIVED(DEFAULT_RETURN_METHOD), card->id, "", ""},
            {TENDER(CUSTOMER_ACCOUNT), 2000, DERIVED(DEFAULT_RETURN_METHOD), check->id, "", ""}));

  /* Cash and check are two kinds; so are a gift card and a loyalty card. */
  Ccpay__V1__Payment *cash = paid(a, 3, TENDER(CASH), 1500, NULL);
  policy = policy_of(NULL, "USD", false);
  assert_lines(derive(a, &policy, PAYMENTS(cash, check), 2500),
               LINES({TENDER(CHECK), 1500, DERIVED(DEFAULT_RETURN_METHOD), cash->id, "", ""},
                     {TENDER(CHECK), 1000, DERIVED(DEFAULT_RETURN_METHOD), check->id, "", ""}));
  Ccpay__V1__Payment *gift = paid(a, 4, TENDER(GIFT_CARD_INTERNAL), 1000, "GC-0001-ABCD");
  Ccpay__V1__Payment *loyalty = paid(a, 5, TENDER(LOYALTY_CARD), 1000, "LOY-000042");
  assert_lines(derive(a, &policy, PAYMENTS(gift, loyalty), 2000),
               LINES({TENDER(CHECK), 1000, DERIVED(DEFAULT_RETURN_METHOD), gift->id, "", ""},
                     {TENDER(CHECK), 1000, DERIVED(DEFAULT_RETURN_METHOD), loyalty->id, "", ""}));

  /* A payment with nothing left to give back is no kind any more: the card alone. */
  check->refunded_elsewhere->amount_minor = 2000;
  assert_lines(derive(a, &policy, PAYMENTS(card, check), 3000),
               LINES({TENDER(CARD), 3000, DERIVED(SAME_CARD), card->id, card->id, ""}));
}

/* --- No original order, apply credit -------------------------------------------------- */

static void no_original_order_gets_the_default_method(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  assert_lines(derive_from(a, &policy, false, NULL, 0, "USD", 4599, 1),
               LINES({TENDER(CHECK), 4599, DERIVED(DEFAULT_RETURN_METHOD), "", "", ""}));
  Ccpay__V1__Parameters *cash = params(a, TENDER(CASH), 0, NULL, NULL);
  policy = policy_of(cash, "USD", false);
  assert_lines(derive_from(a, &policy, false, NULL, 0, "USD", 10, 3),
               LINES({TENDER(CASH), 10, DERIVED(DEFAULT_RETURN_METHOD), "", "", ""}));
  Ccpay__V1__Parameters *account = params(a, TENDER(CUSTOMER_ACCOUNT), 0, NULL, NULL);
  policy = policy_of(account, "USD", false);
  assert_lines(derive_from(a, &policy, false, NULL, 0, "USD", 10, 1),
               LINES({TENDER(CUSTOMER_ACCOUNT), 10, DERIVED(DEFAULT_RETURN_METHOD), "", "", ""}));
}

static void apply_credit_goes_to_the_account_whatever_the_tenders(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", true);
  Ccpay__V1__Payment *card = paid(a, 1, TENDER(CARD), 3000, NULL);
  Ccpay__V1__Payment *check = paid(a, 2, TENDER(CHECK), 2000, NULL);
  Ccpay__V1__Payment *account = paid(a, 3, TENDER(CUSTOMER_ACCOUNT), 1000, NULL);
  assert_lines(derive(a, &policy, PAYMENTS(card, check, account), 4500),
               LINES({TENDER(CUSTOMER_ACCOUNT), 4500, DERIVED(APPLY_CREDIT), "", "", ""}));
  /* More than was paid, too: still one line. */
  assert_lines(derive(a, &policy, PAYMENTS(card), 9999),
               LINES({TENDER(CUSTOMER_ACCOUNT), 9999, DERIVED(APPLY_CREDIT), "", "", ""}));
  /* And with no original order. */
  assert_lines(derive_from(a, &policy, false, NULL, 0, "USD", 700, 2),
               LINES({TENDER(CUSTOMER_ACCOUNT), 700, DERIVED(APPLY_CREDIT), "", "", ""}));
  /* The parameters' apply-credit method. */
  Ccpay__V1__Parameters *p = params(a, TENDER(CASH), 0, NULL, NULL);
  p->apply_credit_method = TENDER(CUSTOMER_ACCOUNT);
  policy = policy_of(p, "USD", true);
  assert_lines(derive(a, &policy, PAYMENTS(card), 100),
               LINES({TENDER(CUSTOMER_ACCOUNT), 100, DERIVED(APPLY_CREDIT), "", "", ""}));
}

/* --- The customer's account ----------------------------------------------------------- */

static void account_payments_go_back_first(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  /* The seed case: $50.00 by check, then $19.99 on the customer's account. */
  Ccpay__V1__Payment *check = paid(a, 1, TENDER(CHECK), 5000, NULL);
  Ccpay__V1__Payment *account = paid(a, 2, TENDER(CUSTOMER_ACCOUNT), 1999, NULL);
  assert_lines(
      derive(a, &policy, PAYMENTS(check, account), 6999),
      LINES({TENDER(CUSTOMER_ACCOUNT), 1999, DERIVED(CUSTOMER_ACCOUNT), account->id, "", ""},
            {TENDER(CHECK), 5000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
  /* A partial refund: the account first, the rest from the check. */
  assert_lines(
      derive(a, &policy, PAYMENTS(check, account), 3000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 1999, DERIVED(CUSTOMER_ACCOUNT), account->id, "", ""},
            {TENDER(CHECK), 1001, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
  /* Less than the account took: the account only. */
  assert_lines(
      derive(a, &policy, PAYMENTS(check, account), 1000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 1000, DERIVED(CUSTOMER_ACCOUNT), account->id, "", ""}));
  /* The account is no kind of money: with a card, the card still gets its linked refund. */
  Ccpay__V1__Payment *card = paid(a, 3, TENDER(CARD), 3000, NULL);
  assert_lines(
      derive(a, &policy, PAYMENTS(card, account), 4000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 1999, DERIVED(CUSTOMER_ACCOUNT), account->id, "", ""},
            {TENDER(CARD), 2001, DERIVED(SAME_CARD), card->id, card->id, ""}));
  /* What already went back to the account is not given twice. */
  account->refunded_elsewhere->amount_minor = 999;
  assert_lines(
      derive(a, &policy, PAYMENTS(check, account), 3000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 1000, DERIVED(CUSTOMER_ACCOUNT), account->id, "", ""},
            {TENDER(CHECK), 2000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""}));
}

static void more_than_paid_is_credited_to_the_account(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  /* Underpaid: a $50.00 check on a $69.99 order. */
  Ccpay__V1__Payment *check = paid(a, 1, TENDER(CHECK), 5000, NULL);
  assert_lines(derive(a, &policy, PAYMENTS(check), 6999),
               LINES({TENDER(CHECK), 5000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""},
                     {TENDER(CUSTOMER_ACCOUNT), 1999, DERIVED(CUSTOMER_ACCOUNT), "", "", ""}));
  /* Even when the default method is not the account. */
  Ccpay__V1__Parameters *cash = params(a, TENDER(CASH), 0, NULL, NULL);
  policy = policy_of(cash, "USD", false);
  Ccpay__V1__Payment *card = paid(a, 2, TENDER(CARD), 1000, NULL);
  assert_lines(derive(a, &policy, PAYMENTS(card), 1500),
               LINES({TENDER(CARD), 1000, DERIVED(SAME_CARD), card->id, card->id, ""},
                     {TENDER(CUSTOMER_ACCOUNT), 500, DERIVED(CUSTOMER_ACCOUNT), "", "", ""}));
  /* An original order that took nothing (never paid). */
  policy = policy_of(NULL, "USD", false);
  assert_lines(derive(a, &policy, NULL, 0, 2500),
               LINES({TENDER(CUSTOMER_ACCOUNT), 2500, DERIVED(CUSTOMER_ACCOUNT), "", "", ""}));
  Ccpay__V1__Payment *declined = paid(a, 3, TENDER(CARD), 0, NULL);
  assert_lines(derive(a, &policy, PAYMENTS(declined), 2500),
               LINES({TENDER(CUSTOMER_ACCOUNT), 2500, DERIVED(CUSTOMER_ACCOUNT), "", "", ""}));
  /* Account, money, then the rest: three lines, in that order. */
  Ccpay__V1__Payment *account = paid(a, 4, TENDER(CUSTOMER_ACCOUNT), 300, NULL);
  assert_lines(
      derive(a, &policy, PAYMENTS(check, account), 6000),
      LINES({TENDER(CUSTOMER_ACCOUNT), 300, DERIVED(CUSTOMER_ACCOUNT), account->id, "", ""},
            {TENDER(CHECK), 5000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""},
            {TENDER(CUSTOMER_ACCOUNT), 700, DERIVED(CUSTOMER_ACCOUNT), "", "", ""}));
}

/* A refund-only card (the unlinked refund of an earlier override) was never charged: it
 * took nothing in, so by the header's rule ("no refund line ever sends out more than a
 * payment took in") it is no money of the order and gives nothing back.
 *
 * BUG (refund.c, reported, left failing on purpose): is_money() and derive_money() use
 * payment_refundable(), which for a refund_only payment is what it may still *receive*
 * (amount - refunded - pending_refund). So the refund-only card counts as a CARD kind
 * (card + check = several kinds: the check loses CURRENCY_REFUND_METHOD) and becomes the
 * source of a 10.00 line of money it never took in, instead of that 10.00 being a credit
 * on the customer's account. Got: CHECK 5000 DEFAULT_RETURN_METHOD from the check, CHECK
 * 1000 DEFAULT_RETURN_METHOD from the refund-only card. */
static void refund_only_card_took_nothing_in(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__Payment *check = paid(a, 1, TENDER(CHECK), 5000, NULL);
  Ccpay__V1__Payment *refund_only = paid(a, 2, TENDER(CARD), 0, NULL);
  refund_only->refund_only = true;
  refund_only->amount->amount_minor = 2000; /* what it may receive */
  refund_only->status = PAY_STATUS(NEW);
  assert_int_equal(payment_refundable(refund_only), 2000);
  assert_lines(derive(a, &policy, PAYMENTS(check, refund_only), 6000),
               LINES({TENDER(CHECK), 5000, DERIVED(CURRENCY_REFUND_METHOD), check->id, "", ""},
                     {TENDER(CUSTOMER_ACCOUNT), 1000, DERIVED(CUSTOMER_ACCOUNT), "", "", ""}));
}

/* --- Amounts, numbering, limits ------------------------------------------------------- */

static void zero_amount_gives_no_lines(void **state) {
  arena *a = *state;
  Ccpay__V1__Payment *check = paid(a, 1, TENDER(CHECK), 5000, NULL);
  Ccpay__V1__Payment *account = paid(a, 2, TENDER(CUSTOMER_ACCOUNT), 1999, NULL);
  refund_policy policy = policy_of(NULL, "USD", false);
  assert_int_equal(derive(a, &policy, PAYMENTS(check, account), 0).count, 0);
  assert_int_equal(derive_from(a, &policy, false, NULL, 0, "USD", 0, 1).count, 0);
  assert_int_equal(derive(a, &policy, NULL, 0, 0).count, 0);
  policy = policy_of(NULL, "USD", true);
  assert_int_equal(derive(a, &policy, PAYMENTS(check), 0).count, 0);
}

static void lines_are_numbered_from_the_first_number(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__Payment *card_a = paid(a, 1, TENDER(CARD), 1000, NULL);
  Ccpay__V1__Payment *card_b = paid(a, 2, TENDER(CARD), 1000, NULL);
  Ccpay__V1__Payment *account = paid(a, 3, TENDER(CUSTOMER_ACCOUNT), 1000, NULL);
  derived d = derive_from(a, &policy, true, PAYMENTS(card_a, account, card_b), "USD", 3500, 7);
  assert_int_equal(d.count, 4);
  for (size_t i = 0; i < d.count; i++) assert_int_equal(d.lines[i]->line_number, 7 + (int)i);
  assert_string_equal(d.lines[0]->source_payment_id, account->id);
  assert_string_equal(d.lines[1]->source_payment_id, card_a->id);
  assert_string_equal(d.lines[2]->source_payment_id, card_b->id);
  assert_string_equal(d.lines[3]->source_payment_id, "");
}

static void more_lines_than_the_limit_are_refused(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__Payment *cards[REFUND_LINES_MAX];
  for (size_t i = 0; i < COUNT(cards); i++) cards[i] = paid(a, i + 1, TENDER(CARD), 1, NULL);
  /* One cent from each of REFUND_LINES_MAX cards: exactly the limit. */
  derived d = derive(a, &policy, cards, COUNT(cards), REFUND_LINES_MAX);
  assert_int_equal(d.count, REFUND_LINES_MAX);
  assert_string_equal(d.lines[REFUND_LINES_MAX - 1]->source_payment_id,
                      cards[REFUND_LINES_MAX - 1]->id);
  /* One cent more needs a line for the account: one too many. */
  Ccpay__V1__RefundLine **lines = NULL;
  size_t count = 0;
  ccpay_error e;
  ccpay_err rc = refund_derive(&policy, true, cards, COUNT(cards), "USD", REFUND_LINES_MAX + 1, 1,
                               a, &lines, &count, &e);
  assert_error(rc, &e, CCPAY_ERR_LIMIT_EXCEEDED, "lines");
}

static void an_exhausted_arena_is_refused(void **state) {
  (void)state;
  arena *small = arena_create(64);
  assert_non_null(small);
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__RefundLine **lines = NULL;
  size_t count = 0;
  ccpay_error e;
  ccpay_err rc = refund_derive(&policy, false, NULL, 0, "USD", 100, 1, small, &lines, &count, &e);
  arena_destroy(small);
  assert_int_equal(rc, CCPAY_ERR_LIMIT_EXCEEDED);
}

/* --- Checks of tenders, names, totals ------------------------------------------------- */

static void override_tenders(void **state) {
  (void)state;
  ccpay_error e;
  static const Ccpay__V1__TenderType allowed[] = {TENDER(CARD),
                                                  TENDER(CHECK),
                                                  TENDER(CASH),
                                                  TENDER(CUSTOMER_ACCOUNT),
                                                  TENDER(GIFT_CARD_INTERNAL),
                                                  TENDER(LOYALTY_CARD)};
  for (size_t i = 0; i < COUNT(allowed); i++) {
    assert_int_equal(refund_check_override_tender("tender_type", allowed[i], &e), CCPAY_OK);
  }
  assert_error(refund_check_override_tender("tender_type", TENDER(GIFT_CARD_EXTERNAL), &e), &e,
               CCPAY_ERR_FIELD_INVALID, "tender_type: one of CARD");
  assert_error(refund_check_override_tender("tender_type", TENDER(ACH), &e), &e,
               CCPAY_ERR_FIELD_INVALID, "tender_type");
  assert_error(refund_check_override_tender("tender_type", (Ccpay__V1__TenderType)42, &e), &e,
               CCPAY_ERR_FIELD_INVALID, "tender_type");
  assert_error(refund_check_override_tender("tender_type", TENDER(UNSPECIFIED), &e), &e,
               CCPAY_ERR_FIELD_REQUIRED, "tender_type");
}

static void currency_methods(void **state) {
  (void)state;
  ccpay_error e;
  const char *field = "refund_methods[1].tender_type";
  assert_int_equal(refund_check_currency_method(field, TENDER(CHECK), &e), CCPAY_OK);
  assert_int_equal(refund_check_currency_method(field, TENDER(CASH), &e), CCPAY_OK);
  assert_error(refund_check_currency_method(field, TENDER(CUSTOMER_ACCOUNT), &e), &e,
               CCPAY_ERR_FIELD_INVALID, "refund_methods[1].tender_type");
  assert_non_null(strstr(e.message, "customer's account"));
  assert_error(refund_check_currency_method(field, TENDER(CARD), &e), &e, CCPAY_ERR_FIELD_INVALID,
               field);
  assert_error(refund_check_currency_method(field, TENDER(GIFT_CARD_INTERNAL), &e), &e,
               CCPAY_ERR_FIELD_INVALID, field);
  assert_error(refund_check_currency_method(field, TENDER(UNSPECIFIED), &e), &e,
               CCPAY_ERR_FIELD_REQUIRED, field);
}

static void default_methods(void **state) {
  (void)state;
  ccpay_error e;
  const char *field = "default_return_method";
  assert_int_equal(refund_check_default_method(field, TENDER(CHECK), &e), CCPAY_OK);
  assert_int_equal(refund_check_default_method(field, TENDER(CASH), &e), CCPAY_OK);
  assert_int_equal(refund_check_default_method(field, TENDER(CUSTOMER_ACCOUNT), &e), CCPAY_OK);
  static const Ccpay__V1__TenderType refused[] = {TENDER(CARD), TENDER(GIFT_CARD_INTERNAL),
                                                  TENDER(GIFT_CARD_EXTERNAL), TENDER(LOYALTY_CARD),
                                                  TENDER(ACH)};
  for (size_t i = 0; i < COUNT(refused); i++) {
    assert_error(refund_check_default_method(field, refused[i], &e), &e, CCPAY_ERR_FIELD_INVALID,
                 "default_return_method: one of CHECK, CASH, CUSTOMER_ACCOUNT");
  }
  assert_error(refund_check_default_method(field, TENDER(UNSPECIFIED), &e), &e,
               CCPAY_ERR_FIELD_REQUIRED, field);
}

static void names(void **state) {
  (void)state;
  assert_string_equal(refund_derivation_name(DERIVED(SAME_CARD)), "SAME_CARD");
  assert_string_equal(refund_derivation_name(DERIVED(SAME_STORED_VALUE)), "SAME_STORED_VALUE");
  assert_string_equal(refund_derivation_name(DERIVED(CURRENCY_REFUND_METHOD)),
                      "CURRENCY_REFUND_METHOD");
  assert_string_equal(refund_derivation_name(DERIVED(DEFAULT_RETURN_METHOD)),
                      "DEFAULT_RETURN_METHOD");
  assert_string_equal(refund_derivation_name(DERIVED(CUSTOMER_ACCOUNT)), "CUSTOMER_ACCOUNT");
  assert_string_equal(refund_derivation_name(DERIVED(APPLY_CREDIT)), "APPLY_CREDIT");
  assert_string_equal(refund_derivation_name(DERIVED(OVERRIDE)), "OVERRIDE");
  assert_string_equal(refund_derivation_name(DERIVED(UNSPECIFIED)), "UNSPECIFIED");
  assert_string_equal(refund_derivation_name((Ccpay__V1__RefundDerivation)99), "UNSPECIFIED");

  assert_string_equal(refund_line_status_name(LINE_STATUS(PENDING)), "PENDING");
  assert_string_equal(refund_line_status_name(LINE_STATUS(IN_PROGRESS)), "IN_PROGRESS");
  assert_string_equal(refund_line_status_name(LINE_STATUS(ISSUED)), "ISSUED");
  assert_string_equal(refund_line_status_name(LINE_STATUS(FAILED)), "FAILED");
  assert_string_equal(refund_line_status_name(LINE_STATUS(CANCELLED)), "CANCELLED");
  assert_string_equal(refund_line_status_name(LINE_STATUS(UNSPECIFIED)), "UNSPECIFIED");
  assert_string_equal(refund_line_status_name((Ccpay__V1__RefundLineStatus)-3), "UNSPECIFIED");
}

static void totals_by_status(void **state) {
  arena *a = *state;
  refund_policy policy = policy_of(NULL, "USD", false);
  Ccpay__V1__Payment *cards[4];
  for (size_t i = 0; i < COUNT(cards); i++) cards[i] = paid(a, i + 1, TENDER(CARD), 1000, NULL);
  derived d = derive(a, &policy, cards, COUNT(cards), 3700); /* 1000 1000 1000 700 */
  assert_int_equal(d.count, 4);
  d.lines[0]->status = LINE_STATUS(ISSUED);
  d.lines[1]->status = LINE_STATUS(FAILED);
  d.lines[2]->status = LINE_STATUS(ISSUED);
  assert_int_equal(refund_lines_total(d.lines, d.count, 0), 3700);
  assert_int_equal(refund_lines_total(d.lines, d.count, LINE_STATUS(ISSUED)), 2000);
  assert_int_equal(refund_lines_total(d.lines, d.count, LINE_STATUS(FAILED)), 1000);
  assert_int_equal(refund_lines_total(d.lines, d.count, LINE_STATUS(PENDING)), 700);
  assert_int_equal(refund_lines_total(d.lines, d.count, LINE_STATUS(CANCELLED)), 0);
  assert_int_equal(refund_lines_total(NULL, 0, 0), 0);
}

/* --- Property: random orders against a model ------------------------------------------ */

static unsigned long long rng_state;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static int64_t rng_below(int64_t n) { return n <= 0 ? 0 : (int64_t)(rng_next() % (uint64_t)n); }

static const Ccpay__V1__TenderType all_tenders[] = {TENDER(CARD),
                                                    TENDER(CHECK),
                                                    TENDER(CASH),
                                                    TENDER(CUSTOMER_ACCOUNT),
                                                    TENDER(GIFT_CARD_INTERNAL),
                                                    TENDER(GIFT_CARD_EXTERNAL),
                                                    TENDER(LOYALTY_CARD),
                                                    TENDER(ACH)};

static bool is_stored_value(Ccpay__V1__TenderType t) {
  return t == TENDER(GIFT_CARD_INTERNAL) || t == TENDER(LOYALTY_CARD);
}

/* A payment of a random tender that took in 0..`most` and has given some of it back. */
static Ccpay__V1__Payment *random_payment(arena *a, uint64_t id, int64_t most) {
  Ccpay__V1__TenderType tender = all_tenders[rng_below(COUNT(all_tenders))];
  const char *reference = NULL;
  if (is_stored_value(tender) || tender == TENDER(GIFT_CARD_EXTERNAL) || tender == TENDER(ACH)) {
    reference = arena_printf(a, "REF-%04llu", (unsigned long long)id);
  }
  int64_t captured = rng_below(4) == 0 ? 0 : rng_below(most + 1);
  Ccpay__V1__Payment *p = paid(a, id, tender, captured, reference);
  int64_t left = captured;
  int64_t refunded = rng_below(3) == 0 ? rng_below(left + 1) : 0;
  left -= refunded;
  int64_t pending = rng_below(5) == 0 ? rng_below(left + 1) : 0;
  left -= pending;
  int64_t elsewhere = rng_below(4) == 0 ? rng_below(left + 1) : 0;
  p->refunded->amount_minor = refunded;
  p->pending_refund->amount_minor = pending;
  p->refunded_elsewhere->amount_minor = elsewhere;
  return p;
}

typedef struct model_line {
  Ccpay__V1__TenderType tender;
  int64_t amount;
  Ccpay__V1__RefundDerivation derivation;
  const Ccpay__V1__Payment *source;
} model_line;

/* The derivation as the header states it, written independently. */
static size_t model_derive(const refund_policy *policy, bool has_original,
                           Ccpay__V1__Payment *const *ps, size_t n, int64_t amount,
                           model_line *out) {
  size_t count = 0;
  int64_t left = amount;
#define MODEL_PUT(t, most, how, src)                             \
  do {                                                           \
    int64_t take_ = (most) < 0 || (most) > left ? left : (most); \
    if (take_ > 0) {                                             \
      out[count++] = (model_line){(t), take_, (how), (src)};     \
      left -= take_;                                             \
    }                                                            \
  } while (0)
  if (policy->apply_credit) {
    MODEL_PUT(policy->apply_credit_method, -1, DERIVED(APPLY_CREDIT), NULL);
    return count;
  }
  if (!has_original) {
    MODEL_PUT(policy->default_method, -1, DERIVED(DEFAULT_RETURN_METHOD), NULL);
    return count;
  }
  for (size_t i = 0; i < n; i++) {
    if (ps[i]->tender_type != TENDER(CUSTOMER_ACCOUNT)) continue;
    MODEL_PUT(TENDER(CUSTOMER_ACCOUNT), payment_refundable(ps[i]), DERIVED(CUSTOMER_ACCOUNT),
              ps[i]);
  }
  /* The kinds of the money that can still go back. */
  bool seen[16] = {false};
  size_t kinds = 0;
  Ccpay__V1__TenderType kind = TENDER(UNSPECIFIED);
  for (size_t i = 0; i < n; i++) {
    Ccpay__V1__TenderType t = ps[i]->tender_type;
    if (t == TENDER(CUSTOMER_ACCOUNT) || payment_refundable(ps[i]) <= 0) continue;
    if (!seen[t]) kinds++;
    seen[t] = true;
    kind = t;
  }
  Ccpay__V1__TenderType target = policy->default_method;
  Ccpay__V1__RefundDerivation how = DERIVED(DEFAULT_RETURN_METHOD);
  if (kinds == 1 && kind == TENDER(CARD)) {
    target = TENDER(CARD), how = DERIVED(SAME_CARD);
  } else if (kinds == 1 && (kind == TENDER(CASH) || kind == TENDER(CHECK))) {
    target = policy->currency_method, how = DERIVED(CURRENCY_REFUND_METHOD);
  } else if (kinds == 1 && is_stored_value(kind)) {
    target = kind, how = DERIVED(SAME_STORED_VALUE);
  }
  for (size_t i = 0; i < n; i++) {
    if (ps[i]->tender_type == TENDER(CUSTOMER_ACCOUNT) || payment_refundable(ps[i]) <= 0) continue;
    MODEL_PUT(target, payment_refundable(ps[i]), how, ps[i]);
  }
  MODEL_PUT(TENDER(CUSTOMER_ACCOUNT), -1, DERIVED(CUSTOMER_ACCOUNT), NULL);
#undef MODEL_PUT
  return count;
}

/* The rules every derived line keeps, whatever the model says. */
static void check_line_rules(const refund_policy *policy, Ccpay__V1__Payment *const *ps, size_t n,
                             derived d) {
  for (size_t i = 0; i < d.count; i++) {
    const Ccpay__V1__RefundLine *l = d.lines[i];
    const Ccpay__V1__Payment *src = NULL;
    for (size_t j = 0; j < n; j++) {
      if (strcmp(ps[j]->id, l->source_payment_id) == 0) src = ps[j];
    }
    if (l->source_payment_id[0] == '\0') {
      /* No source: apply credit, no original order, or never paid (to the account). */
      assert_true(l->tender_type == policy->apply_credit_method ||
                  l->tender_type == policy->default_method ||
                  l->tender_type == TENDER(CUSTOMER_ACCOUNT));
      assert_string_equal(l->target_payment_id, "");
      assert_string_equal(l->reference, "");
      continue;
    }
    assert_non_null(src);
    /* No source gives back more than it has left. */
    int64_t from_src = 0;
    for (size_t k = 0; k < d.count; k++) {
      if (strcmp(d.lines[k]->source_payment_id, src->id) == 0) {
        from_src += d.lines[k]->amount->amount_minor;
      }
    }
    if (from_src > payment_refundable(src)) {
      fail_msg("%s gives back %lld of %lld", src->id, (long long)from_src,
               (long long)payment_refundable(src));
    }
    /* Money goes to the source's own tender (the same card or number) or a configured
     * method. */
    bool own = l->tender_type == src->tender_type;
    bool configured =
        l->tender_type == policy->currency_method || l->tender_type == policy->default_method;
    assert_true(own || configured);
    if (l->tender_type == TENDER(CARD)) {
      assert_int_equal(src->tender_type, TENDER(CARD));
      assert_string_equal(l->target_payment_id, src->id);
    } else {
      assert_string_equal(l->target_payment_id, "");
    }
    if (is_stored_value(l->tender_type) && own) {
      assert_string_equal(l->reference, src->reference);
    } else {
      assert_string_equal(l->reference, "");
    }
    if (l->tender_type == TENDER(CUSTOMER_ACCOUNT) && !own) {
      assert_int_equal(policy->default_method, TENDER(CUSTOMER_ACCOUNT));
    }
  }
}

static void random_orders_match_the_model(void **state) {
  (void)state;
  const char *seed_text = getenv("CCPAY_TEST_SEED");
  unsigned long long seed =
      seed_text != NULL ? strtoull(seed_text, NULL, 10) : (unsigned long long)time(NULL);
  print_message("random_orders_match_the_model: seed %llu (CCPAY_TEST_SEED=%llu to repeat)\n", seed,
                seed);
  rng_state = seed;
  static const Ccpay__V1__TenderType currency_methods[] = {TENDER(CHECK), TENDER(CASH)};
  static const Ccpay__V1__TenderType default_methods[] = {TENDER(CHECK), TENDER(CASH),
                                                          TENDER(CUSTOMER_ACCOUNT)};
  for (int round = 0; round < 3000; round++) {
    arena *a = arena_create(1 << 20);
    assert_non_null(a);
    Ccpay__V1__Parameters *p =
        params(a, default_methods[rng_below(3)], 1, (const char *const[]){"USD"},
               (const Ccpay__V1__TenderType[]){currency_methods[rng_below(2)]});
    refund_policy policy = policy_of(rng_below(8) == 0 ? NULL : p, "USD", rng_below(10) == 0);
    bool has_original = rng_below(10) != 0;
    size_t n = has_original ? (size_t)rng_below(PAYMENTS_PER_ORDER_MAX + 1) : 0;
    /* Few tenders at times, so that one-kind orders come up often. */
    if (n > 0 && rng_below(2) == 0) n = 1 + (size_t)rng_below(3);
    Ccpay__V1__Payment *ps[PAYMENTS_PER_ORDER_MAX];
    int64_t refundable = 0;
    for (size_t i = 0; i < n; i++) {
      ps[i] = random_payment(a, i + 1, rng_below(3) == 0 ? 100 : 100000);
      refundable += payment_refundable(ps[i]);
    }
    int64_t amount = rng_below(refundable + (rng_below(4) == 0 ? 5000 : 1) + 1);
    int32_t first = 1 + (int32_t)rng_below(5);

    derived d = derive_from(a, &policy, has_original, ps, n, "USD", amount, first);
    check_line_rules(&policy, ps, n, d);

    model_line want[REFUND_LINES_MAX + 1];
    size_t n_want = model_derive(&policy, has_original, ps, n, amount, want);
    if (d.count != n_want) {
      fail_msg("round %d (seed %llu): %zu lines, model %zu", round, seed, d.count, n_want);
    }
    for (size_t i = 0; i < n_want; i++) {
      const Ccpay__V1__RefundLine *l = d.lines[i];
      if (l->tender_type != want[i].tender || l->amount->amount_minor != want[i].amount ||
          l->derivation != want[i].derivation ||
          strcmp(l->source_payment_id, want[i].source != NULL ? want[i].source->id : "") != 0) {
        fail_msg("round %d (seed %llu) line %zu: %s %lld %s from \"%s\", model %s %lld %s", round,
                 seed, i, payment_tender_name(l->tender_type), (long long)l->amount->amount_minor,
                 refund_derivation_name(l->derivation), l->source_payment_id,
                 payment_tender_name(want[i].tender), (long long)want[i].amount,
                 refund_derivation_name(want[i].derivation));
      }
    }
    arena_destroy(a);
  }
}

int main(void) {
#define T(f) \
  cmocka_unit_test_setup_teardown(f, test_records_arena_setup, test_records_arena_teardown)
  const struct CMUnitTest tests[] = {
      T(policy_defaults_and_parameters),
      T(card_refund_goes_back_to_the_same_card),
      T(card_refund_splits_across_cards_oldest_first),
      T(card_refund_counts_what_was_given_back_elsewhere),
      T(cash_and_check_orders_get_the_currency_method),
      T(stored_value_goes_back_to_the_same_number),
      T(other_tenders_get_the_default_method),
      T(several_tenders_get_the_default_method),
      T(no_original_order_gets_the_default_method),
      T(apply_credit_goes_to_the_account_whatever_the_tenders),
      T(account_payments_go_back_first),
      T(more_than_paid_is_credited_to_the_account),
      T(refund_only_card_took_nothing_in),
      T(zero_amount_gives_no_lines),
      T(lines_are_numbered_from_the_first_number),
      T(more_lines_than_the_limit_are_refused),
      T(an_exhausted_arena_is_refused),
      T(override_tenders),
      T(currency_methods),
      T(default_methods),
      T(names),
      T(totals_by_status),
      T(random_orders_match_the_model),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
