/* Order rules: validation, totals, the status machine, invoicing and cancelling. Expected
 * amounts are worked out by hand in the comments beside them (tax = round_half_even(net ×
 * rate_bp / 10000); a line's discount and tax spread over its units by cumulative
 * rounding). The property test at the end checks the same rules against a small model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "domain/money.h"
#include "domain/order.h"
#include "test_records.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define STATUS_OPEN CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN
#define STATUS_SUBMITTED CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED
#define STATUS_PARTIAL CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED
#define STATUS_INVOICED CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED
#define STATUS_CANCELLED CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED

/* --- Building test orders ------------------------------------------------------------- */

typedef struct line_spec {
  int64_t quantity, unit_price, discount;
  int32_t tax_rate_bp;
} line_spec;

typedef struct charge_spec {
  const char *code;
  int64_t amount;
  int32_t tax_rate_bp;
} charge_spec;

typedef struct ship_spec {
  int32_t line_number;
  int64_t quantity;
} ship_spec;

/* An input line; a zero discount is left unset, as a client would. */
static Ccpay__V1__OrderLine *input_line(arena *a, const char *currency, line_spec s) {
  Ccpay__V1__OrderLine *l = arena_alloc(a, sizeof *l);
  assert_non_null(l);
  ccpay__v1__order_line__init(l);
  l->sku = "SKU-1";
  l->description = "Widget, blue";
  l->quantity = s.quantity;
  l->unit_price = test_records_money(a, currency, s.unit_price);
  if (s.discount != 0) l->line_discount = test_records_money(a, currency, s.discount);
  l->tax_rate_bp = s.tax_rate_bp;
  return l;
}

static Ccpay__V1__Charge *input_charge(arena *a, const char *currency, charge_spec s) {
  Ccpay__V1__Charge *c = arena_alloc(a, sizeof *c);
  assert_non_null(c);
  ccpay__v1__charge__init(c);
  c->code = (char *)s.code;
  c->description = "Ground, 3 to 5 days";
  c->amount = test_records_money(a, currency, s.amount);
  c->tax_rate_bp = s.tax_rate_bp;
  return c;
}

/* A CreateOrder input: customer cus_1, source WEB, a sales order. */
static Ccpay__V1__Order *input_order(arena *a, const char *currency, const line_spec *lines,
                                     size_t n_lines, const charge_spec *charges, size_t n_charges) {
  Ccpay__V1__Order *o = arena_alloc(a, sizeof *o);
  assert_non_null(o);
  ccpay__v1__order__init(o);
  o->customer_id = "cus_1";
  o->currency_code = (char *)currency;
  o->source_code = "WEB";
  o->type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_SALES;
  o->lines = arena_alloc(a, (n_lines + 1) * sizeof *o->lines);
  o->charges = arena_alloc(a, (n_charges + 1) * sizeof *o->charges);
  assert_true(o->lines != NULL && o->charges != NULL);
  for (size_t i = 0; i < n_lines; i++) o->lines[i] = input_line(a, currency, lines[i]);
  for (size_t i = 0; i < n_charges; i++) o->charges[i] = input_charge(a, currency, charges[i]);
  o->n_lines = n_lines;
  o->n_charges = n_charges;
  return o;
}

/* input validated and built as order ord_1 in status. */
static Ccpay__V1__Order *build(arena *a, const Ccpay__V1__Order *input,
                               Ccpay__V1__OrderStatus status) {
  ccpay_error e;
  if (order_validate_new(input, &e) != CCPAY_OK) fail_msg("order_validate_new: %s", e.message);
  Ccpay__V1__Order *o = order_build(input, a, &e);
  if (o == NULL) fail_msg("order_build: %s", e.message);
  o->id = "ord_1";
  o->status = status;
  return o;
}

static Ccpay__V1__Order *new_order(arena *a, const char *currency, const line_spec *lines,
                                   size_t n_lines, const charge_spec *charges, size_t n_charges,
                                   Ccpay__V1__OrderStatus status) {
  return build(a, input_order(a, currency, lines, n_lines, charges, n_charges), status);
}

static ccpay_err invoice(arena *a, Ccpay__V1__Order *o, const ship_spec *ship, size_t n,
                         Ccpay__V1__Invoice **out, ccpay_error *e) {
  Ccpay__V1__ShipLine **list = arena_alloc(a, (n + 1) * sizeof *list);
  assert_non_null(list);
  for (size_t i = 0; i < n; i++) {
    list[i] = arena_alloc(a, sizeof *list[i]);
    assert_non_null(list[i]);
    ccpay__v1__ship_line__init(list[i]);
    list[i]->line_number = ship[i].line_number;
    list[i]->quantity = ship[i].quantity;
  }
  *out = NULL;
  return order_invoice(o, list, n, a, out, e);
}

static Ccpay__V1__Invoice *invoice_ok(arena *a, Ccpay__V1__Order *o, const ship_spec *ship,
                                      size_t n) {
  Ccpay__V1__Invoice *inv;
  ccpay_error e;
  if (invoice(a, o, ship, n, &inv, &e) != CCPAY_OK) fail_msg("order_invoice: %s", e.message);
  assert_non_null(inv);
  return inv;
}

/* INVOICE_OK(a, o, {line, quantity}, ...) */
#define SHIP(...) (const ship_spec[]){__VA_ARGS__}, COUNT(((const ship_spec[]){__VA_ARGS__}))
#define INVOICE_OK(a, o, ...) invoice_ok(a, o, SHIP(__VA_ARGS__))
#define LINE_NUMBERS(...) (const int32_t[]){__VA_ARGS__}, COUNT(((const int32_t[]){__VA_ARGS__}))

/* --- Checking results ----------------------------------------------------------------- */

static void assert_amount(const Ccpay__V1__Money *m, const char *currency, int64_t want) {
  assert_non_null(m);
  assert_string_equal(m->currency_code, currency);
  if (m->amount_minor != want) {
    fail_msg("amount %lld, want %lld", (long long)m->amount_minor, (long long)want);
  }
}

typedef struct totals_spec {
  int64_t subtotal, discount, tax, charges, total, invoiced, cancelled;
} totals_spec;

static void assert_totals(const Ccpay__V1__Order *o, totals_spec want) {
  const Ccpay__V1__OrderTotals *t = o->totals;
  const char *cur = o->currency_code;
  assert_non_null(t);
  assert_amount(t->subtotal, cur, want.subtotal);
  assert_amount(t->discount_total, cur, want.discount);
  assert_amount(t->tax_total, cur, want.tax);
  assert_amount(t->charges_total, cur, want.charges);
  assert_amount(t->total, cur, want.total);
  assert_amount(t->invoiced_total, cur, want.invoiced);
  assert_amount(t->cancelled_total, cur, want.cancelled);
  assert_amount(t->total_excess_funds, cur, 0);
}

static void assert_line(const Ccpay__V1__Order *o, size_t i, int64_t net, int64_t tax,
                        int64_t total) {
  const Ccpay__V1__OrderLine *l = o->lines[i];
  assert_int_equal(l->line_number, i + 1);
  assert_amount(l->net_amount, o->currency_code, net);
  assert_amount(l->tax_amount, o->currency_code, tax);
  assert_amount(l->total_amount, o->currency_code, total);
}

typedef struct invoice_spec {
  int64_t subtotal, tax, charges, total;
  size_t n_lines, n_charges;
} invoice_spec;

static void assert_invoice(const Ccpay__V1__Invoice *inv, const char *cur, invoice_spec want) {
  assert_string_equal(inv->order_id, "ord_1");
  assert_string_equal(inv->customer_id, "cus_1");
  assert_string_equal(inv->currency_code, cur);
  assert_int_equal(inv->n_lines, want.n_lines);
  assert_int_equal(inv->n_charges, want.n_charges);
  assert_amount(inv->subtotal, cur, want.subtotal);
  assert_amount(inv->tax_total, cur, want.tax);
  assert_amount(inv->charges_total, cur, want.charges);
  assert_amount(inv->total, cur, want.total);
}

static void assert_invoice_line(const Ccpay__V1__Invoice *inv, size_t i, int32_t line_number,
                                int64_t quantity, int64_t net, int64_t tax) {
  const Ccpay__V1__InvoiceLine *l = inv->lines[i];
  assert_int_equal(l->line_number, line_number);
  assert_string_equal(l->sku, "SKU-1");
  assert_int_equal(l->quantity, quantity);
  assert_amount(l->net_amount, inv->currency_code, net);
  assert_amount(l->tax_amount, inv->currency_code, tax);
}

/* got is want, and the message holds text (the field or status it must name). */
static void assert_error(ccpay_err got, const ccpay_error *e, ccpay_err want, const char *text) {
  if (got == CCPAY_OK) fail_msg("accepted; want %s naming %s", ccpay_err_reason(want), text);
  if (got != want) {
    fail_msg("%s (%s); want %s", ccpay_err_reason(got), e->message, ccpay_err_reason(want));
  }
  if (strstr(e->message, text) == NULL) fail_msg("\"%s\" does not name \"%s\"", e->message, text);
}

/* --- Totals --------------------------------------------------------------------------- */

/* 3 × $19.99 at 8.25 % less $5.00, 1 × $4.50 untaxed, shipping $7.95 at 8.25 %. */
static const line_spec usd_lines[] = {{3, 1999, 500, 825}, {1, 450, 0, 0}};
static const charge_spec usd_shipping[] = {{"SHIPPING", 795, 825}};

static void usd_totals(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = new_order(a, "USD", usd_lines, 2, usd_shipping, 1, STATUS_OPEN);
  /* Line 1: gross 3 × 1999 = 5997; net 5997 − 500 = 5497;
   * tax 5497 × 825 / 10000 = 453.5025 → 454; total 5497 + 454 = 5951. */
  assert_line(o, 0, 5497, 454, 5951);
  /* Line 2: 1 × 450, no tax. */
  assert_line(o, 1, 450, 0, 450);
  /* Shipping: 795 × 825 / 10000 = 65.5875 → 66. */
  assert_amount(o->charges[0]->tax_amount, "USD", 66);
  /* subtotal 5997 + 450 = 6447; discount 500; tax 454 + 66 = 520; charges 795;
   * total 6447 − 500 + 795 + 520 = 7262 (= 5951 + 450 + 795 + 66). */
  assert_totals(
      o,
      (totals_spec){.subtotal = 6447, .discount = 500, .tax = 520, .charges = 795, .total = 7262});
  assert_int_equal(o->status, STATUS_OPEN);
  assert_string_equal(o->customer_id, "cus_1");
  assert_string_equal(o->source_code, "WEB");
  /* A line without a discount gets an explicit zero one. */
  assert_amount(o->lines[1]->line_discount, "USD", 0);
}

static void jpy_totals(void **state) {
  /* JPY has no minor unit: amounts are whole yen, and tax rounds to the yen. */
  static const line_spec lines[] = {{3, 1980, 100, 825}, {1, 500, 0, 0}};
  static const charge_spec shipping[] = {{"SHIPPING", 550, 825}};
  Ccpay__V1__Order *o = new_order(*state, "JPY", lines, 2, shipping, 1, STATUS_OPEN);
  /* Line 1: gross 5940; net 5840; tax 5840 × 0.0825 = 481.8 → 482; total 6322. */
  assert_line(o, 0, 5840, 482, 6322);
  assert_line(o, 1, 500, 0, 500);
  /* Shipping: 550 × 0.0825 = 45.375 → 45. */
  assert_amount(o->charges[0]->tax_amount, "JPY", 45);
  /* subtotal 6440; discount 100; tax 527; charges 550; total 6440 − 100 + 550 + 527 = 7417. */
  assert_totals(
      o,
      (totals_spec){.subtotal = 6440, .discount = 100, .tax = 527, .charges = 550, .total = 7417});
}

static void bhd_totals(void **state) {
  /* BHD has three decimals: 19.999 BHD is 19999 fils. VAT 10 %. */
  static const line_spec lines[] = {{3, 19999, 5000, 1000}, {1, 4500, 0, 0}};
  static const charge_spec shipping[] = {{"SHIPPING", 7950, 1000}};
  Ccpay__V1__Order *o = new_order(*state, "BHD", lines, 2, shipping, 1, STATUS_OPEN);
  /* Line 1: gross 59997; net 54997; tax 5499.7 → 5500; total 60497. */
  assert_line(o, 0, 54997, 5500, 60497);
  assert_line(o, 1, 4500, 0, 4500);
  /* Shipping: 7950 × 0.10 = 795. */
  assert_amount(o->charges[0]->tax_amount, "BHD", 795);
  /* subtotal 64497; discount 5000; tax 6295; charges 7950;
   * total 64497 − 5000 + 7950 + 6295 = 73742. */
  assert_totals(
      o, (totals_spec){
             .subtotal = 64497, .discount = 5000, .tax = 6295, .charges = 7950, .total = 73742});
}

static void tax_rounds_half_to_even(void **state) {
  /* At 8.25 % a net of 200 + 400k gives an exact half cent: 200 → 16.5, 600 → 49.5,
   * 1000 → 82.5, 1400 → 115.5. At 5 %: 10 → 0.5, 30 → 1.5, 50 → 2.5, 70 → 3.5. */
  static const line_spec lines[] = {
      {1, 200, 0, 825}, {2, 300, 0, 825}, {4, 250, 0, 825}, {1, 1500, 100, 825},
      {1, 10, 0, 500},  {3, 10, 0, 500},  {1, 50, 0, 500},  {7, 10, 0, 500},
  };
  static const charge_spec charges[] = {{"SHIPPING", 200, 825}, {"HANDLING", 600, 825}};
  static const int64_t want_tax[] = {16, 50, 82, 116, 0, 2, 2, 4};
  Ccpay__V1__Order *o = new_order(*state, "USD", lines, COUNT(lines), charges, 2, STATUS_OPEN);
  for (size_t i = 0; i < COUNT(lines); i++) {
    int64_t net = lines[i].quantity * lines[i].unit_price - lines[i].discount;
    assert_line(o, i, net, want_tax[i], net + want_tax[i]);
  }
  assert_amount(o->charges[0]->tax_amount, "USD", 16); /* 16.5 → 16 */
  assert_amount(o->charges[1]->tax_amount, "USD", 50); /* 49.5 → 50 */
  /* subtotal 200+600+1000+1500+10+30+50+70 = 3460; discount 100;
   * tax 16+50+82+116+0+2+2+4 + 16+50 = 338; charges 800; total 3460−100+800+338 = 4498. */
  assert_totals(
      o,
      (totals_spec){.subtotal = 3460, .discount = 100, .tax = 338, .charges = 800, .total = 4498});
}

static void line_share_rounds_cumulatively(void **state) {
  (void)state;
  int64_t s;
  /* 6 over 4 units: cumulative 1.5 → 2, 3, 4.5 → 4, 6: unit shares 2, 1, 1, 2. */
  static const int64_t want[] = {2, 1, 1, 2};
  for (int64_t u = 0; u < 4; u++) {
    assert_true(order_line_share(6, 4, u, u + 1, &s));
    assert_int_equal(s, want[u]);
  }
  /* 101 over 2: 50.5 → 50, then 51. */
  assert_true(order_line_share(101, 2, 0, 1, &s));
  assert_int_equal(s, 50);
  assert_true(order_line_share(101, 2, 1, 2, &s));
  assert_int_equal(s, 51);
  /* 100 over 3: 33.3 → 33, 66.7 → 67, 100: shares 33, 34, 33. */
  assert_true(order_line_share(100, 3, 1, 2, &s));
  assert_int_equal(s, 34);
  assert_true(order_line_share(100, 3, 0, 3, &s));
  assert_int_equal(s, 100);
  assert_true(order_line_share(100, 3, 2, 2, &s));
  assert_int_equal(s, 0);
  /* Near INT64_MAX no product overflows: the whole is the whole. */
  assert_true(order_line_share(INT64_MAX, ORDER_LINE_QUANTITY_MAX, 0, ORDER_LINE_QUANTITY_MAX, &s));
  assert_int_equal(s, INT64_MAX);
}

static void replace_lines_renumbers_and_recomputes(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = new_order(a, "USD", usd_lines, 2, usd_shipping, 1, STATUS_OPEN);
  Ccpay__V1__Order *in = input_order(a, "USD", usd_lines + 1, 1, NULL, 0);
  ccpay_error e;
  assert_int_equal(order_validate_lines(in->lines, 1, NULL, 0, "USD", "", &e), CCPAY_OK);
  assert_int_equal(order_replace_lines(o, in->lines, 1, NULL, 0, a, &e), CCPAY_OK);
  assert_int_equal(o->n_lines, 1);
  assert_int_equal(o->n_charges, 0);
  assert_line(o, 0, 450, 0, 450);
  assert_totals(o, (totals_spec){.subtotal = 450, .total = 450});
}

/* --- Amounts near INT64_MAX ----------------------------------------------------------- */

static void validation_refuses_gross_overflow(void **state) {
  /* 1,000,000 × 10^13 = 10^19 > INT64_MAX (≈ 9.22 × 10^18). */
  static const line_spec lines[] = {{1, 100, 0, 0}, {1000000, 10000000000000, 0, 0}};
  Ccpay__V1__Order *in = input_order(*state, "USD", lines, 2, NULL, 0);
  ccpay_error e;
  assert_error(order_validate_new(in, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "order.lines[1]: quantity × unit_price");
  /* 1,000,000 × 9,223,372,036,854 = 9,223,372,036,854,000,000 still fits. */
  in->lines[1]->unit_price->amount_minor = 9223372036854;
  assert_int_equal(order_validate_new(in, &e), CCPAY_OK);
}

static ccpay_err build_error(arena *a, const line_spec *lines, size_t n, const charge_spec *charges,
                             size_t n_charges, ccpay_error *e) {
  Ccpay__V1__Order *in = input_order(a, "USD", lines, n, charges, n_charges);
  ccpay_err rc = order_validate_new(in, e);
  if (rc != CCPAY_OK) fail_msg("order_validate_new: %s", e->message);
  Ccpay__V1__Order *o = order_build(in, a, e);
  return o != NULL ? CCPAY_OK : e->code;
}

static void build_refuses_line_total_overflow(void **state) {
  arena *a = *state;
  ccpay_error e;
  /* INT64_MAX at 0 %: the total is exactly INT64_MAX. */
  static const line_spec fits[] = {{1, INT64_MAX, 0, 0}};
  Ccpay__V1__Order *o = new_order(a, "USD", fits, 1, NULL, 0, STATUS_OPEN);
  assert_totals(o, (totals_spec){.subtotal = INT64_MAX, .total = INT64_MAX});
  /* A discount of all of it: net 0. */
  static const line_spec free_line[] = {{1, INT64_MAX, INT64_MAX, 10000}};
  o = new_order(a, "USD", free_line, 1, NULL, 0, STATUS_OPEN);
  assert_totals(o, (totals_spec){.subtotal = INT64_MAX, .discount = INT64_MAX});
  /* At 1 bp the tax is 922337203685477.58 → 922337203685478: net + tax overflows. */
  static const line_spec taxed[] = {{1, INT64_MAX, 0, 1}};
  assert_error(build_error(a, taxed, 1, NULL, 0, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "lines[0]: total");
  /* A 1-cent charge on top of INT64_MAX. */
  static const charge_spec cent[] = {{"SHIPPING", 1, 0}};
  assert_error(build_error(a, fits, 1, cent, 1, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "order: the total");
}

static void build_refuses_total_overflow_across_lines(void **state) {
  arena *a = *state;
  ccpay_error e;
  /* Each line INT64_MAX / 100 = 92233720368547758: 100 of them sum to
   * 9223372036854775800 ≤ INT64_MAX; 101 do not fit. */
  line_spec many[ORDER_LINES_MAX];
  for (size_t i = 0; i < ORDER_LINES_MAX; i++) many[i] = (line_spec){1, INT64_MAX / 100, 0, 0};
  Ccpay__V1__Order *o = new_order(a, "USD", many, 100, NULL, 0, STATUS_OPEN);
  assert_totals(o, (totals_spec){.subtotal = 9223372036854775800, .total = 9223372036854775800});
  assert_error(build_error(a, many, 101, NULL, 0, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "order: the total");
  assert_error(build_error(a, many, ORDER_LINES_MAX, NULL, 0, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "order: the total");
  /* Three lines of 1,000,000 × 4 × 10^12 = 4 × 10^18 each: 1.2 × 10^19 in all. */
  static const line_spec three[] = {{1000000, 4000000000000, 0, 0},
                                    {1000000, 4000000000000, 0, 0},
                                    {1000000, 4000000000000, 0, 0}};
  assert_error(build_error(a, three, 3, NULL, 0, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "order: the total");
  /* Subtotal fits (2 × 4 × 10^18) but the 20 % tax on it does not. */
  static const line_spec taxed[] = {{1000000, 4000000000000, 0, 2000},
                                    {1000000, 4000000000000, 0, 2000}};
  assert_error(build_error(a, taxed, 2, NULL, 0, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "order: the total");
}

static void invoices_near_int64_max_add_up(void **state) {
  arena *a = *state;
  /* 1,000,000 × 9 × 10^12 = 9 × 10^18 gross; discount 999999; at 2 %:
   * net 8999999999999000001, tax net / 50 = 179999999999980000.02 → 179999999999980000,
   * total 9179999999998980001 (fits). */
  static const line_spec big[] = {{1000000, 9000000000000, 999999, 200}};
  Ccpay__V1__Order *o = new_order(a, "USD", big, 1, NULL, 0, STATUS_SUBMITTED);
  assert_line(o, 0, 8999999999999000001, 179999999999980000, 9179999999998980001);
  /* First 333333 units: discount round(999999 × 0.333333) = round(333332.67) = 333333;
   * tax round(179999999999980000 × 0.333333) = round(59999939999993333.33) = 59999939999993333;
   * net 9 × 10^12 × 333333 − 333333 = 2999996999999666667. */
  Ccpay__V1__Invoice *first = INVOICE_OK(a, o, {1, 333333});
  assert_invoice_line(first, 0, 1, 333333, 2999996999999666667, 59999939999993333);
  /* The rest: net 9 × 10^12 × 666667 − 666666 = 6000002999999333334;
   * tax 179999999999980000 − 59999939999993333 = 120000059999986667. */
  Ccpay__V1__Invoice *rest = INVOICE_OK(a, o, {1, 666667});
  assert_invoice_line(rest, 0, 1, 666667, 6000002999999333334, 120000059999986667);
  /* 3059996939999660000 + 6120003059999320001 = 9179999999998980001. */
  assert_amount(first->total, "USD", 3059996939999660000);
  assert_amount(rest->total, "USD", 6120003059999320001);
  assert_int_equal(o->status, STATUS_INVOICED);
  assert_amount(o->totals->invoiced_total, "USD", 9179999999998980001);
}

/* --- Validation ----------------------------------------------------------------------- */

typedef void mutation(Ccpay__V1__Order *o);

/* The cases change lines[1] (1 × $4.50, no discount) or charges[0] (shipping). */
static Ccpay__V1__OrderLine *second_line(Ccpay__V1__Order *o) { return o->lines[1]; }
static void set_discount(Ccpay__V1__Order *o, const char *currency, int64_t amount) {
  static Ccpay__V1__Money discount;
  ccpay__v1__money__init(&discount);
  discount.currency_code = (char *)currency;
  discount.amount_minor = amount;
  second_line(o)->line_discount = &discount;
}
static void no_customer(Ccpay__V1__Order *o) { o->customer_id = ""; }
static void no_currency(Ccpay__V1__Order *o) { o->currency_code = ""; }
static void unknown_currency(Ccpay__V1__Order *o) { o->currency_code = "XYZ"; }
static void lower_case_currency(Ccpay__V1__Order *o) { o->currency_code = "usd"; }
static void no_source(Ccpay__V1__Order *o) { o->source_code = ""; }
static void long_source(Ccpay__V1__Order *o) {
  o->source_code = "SPRING-CATALOG-2024-EAST-REGION-X"; /* 33 bytes */
}
static void no_type(Ccpay__V1__Order *o) {
  o->type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_UNSPECIFIED;
}
static void bad_type(Ccpay__V1__Order *o) { o->type = (Ccpay__V1__OrderType)7; }
static void no_lines(Ccpay__V1__Order *o) { o->n_lines = 0; }
static void too_many_lines(Ccpay__V1__Order *o) {
  static Ccpay__V1__OrderLine *lines[ORDER_LINES_MAX + 1];
  for (size_t i = 0; i < COUNT(lines); i++) lines[i] = second_line(o);
  o->lines = lines;
  o->n_lines = COUNT(lines);
}
static void zero_quantity(Ccpay__V1__Order *o) { second_line(o)->quantity = 0; }
static void negative_quantity(Ccpay__V1__Order *o) { second_line(o)->quantity = -1; }
static void huge_quantity(Ccpay__V1__Order *o) {
  second_line(o)->quantity = ORDER_LINE_QUANTITY_MAX + 1;
}
static void no_sku(Ccpay__V1__Order *o) { second_line(o)->sku = ""; }
static void card_in_description(Ccpay__V1__Order *o) {
  second_line(o)->description = "per phone, card 4111 1111 1111 1111";
}
static void control_in_description(Ccpay__V1__Order *o) {
  second_line(o)->description = "two\nlines";
}
static void no_price(Ccpay__V1__Order *o) { second_line(o)->unit_price = NULL; }
static void negative_price(Ccpay__V1__Order *o) { second_line(o)->unit_price->amount_minor = -1; }
static void price_in_euros(Ccpay__V1__Order *o) {
  second_line(o)->unit_price->currency_code = "EUR";
}
static void discount_in_euros(Ccpay__V1__Order *o) { set_discount(o, "EUR", 10); }
static void negative_discount(Ccpay__V1__Order *o) { set_discount(o, "USD", -1); }
static void discount_above_gross(Ccpay__V1__Order *o) { set_discount(o, "USD", 451); }
static void negative_rate(Ccpay__V1__Order *o) { second_line(o)->tax_rate_bp = -1; }
static void rate_above_one(Ccpay__V1__Order *o) { second_line(o)->tax_rate_bp = 10001; }
static void lower_case_code(Ccpay__V1__Order *o) { o->charges[0]->code = "shipping"; }
static void dashed_code(Ccpay__V1__Order *o) { o->charges[0]->code = "GIFT-WRAP"; }
static void no_code(Ccpay__V1__Order *o) { o->charges[0]->code = ""; }
static void long_code(Ccpay__V1__Order *o) {
  o->charges[0]->code = "SHIPPING_AND_HANDLING_EXPRESS_INT"; /* 33 bytes */
}
static void card_in_charge(Ccpay__V1__Order *o) {
  o->charges[0]->description = "4111-1111-1111-1111";
}
static void no_charge_amount(Ccpay__V1__Order *o) { o->charges[0]->amount = NULL; }
static void charge_in_euros(Ccpay__V1__Order *o) { o->charges[0]->amount->currency_code = "EUR"; }
static void negative_charge(Ccpay__V1__Order *o) { o->charges[0]->amount->amount_minor = -795; }
static void charge_rate_above_one(Ccpay__V1__Order *o) { o->charges[0]->tax_rate_bp = 10001; }
static void too_many_charges(Ccpay__V1__Order *o) {
  static Ccpay__V1__Charge *charges[ORDER_CHARGES_MAX + 1];
  for (size_t i = 0; i < COUNT(charges); i++) charges[i] = o->charges[0];
  o->charges = charges;
  o->n_charges = COUNT(charges);
}

static const struct {
  mutation *mutate;
  ccpay_err want;
  const char *text;
} refusals[] = {
    {no_customer, CCPAY_ERR_FIELD_REQUIRED, "order.customer_id: required"},
    {no_currency, CCPAY_ERR_FIELD_REQUIRED, "order.currency_code: required"},
    {unknown_currency, CCPAY_ERR_UNKNOWN_CURRENCY, "order.currency_code: XYZ"},
    {lower_case_currency, CCPAY_ERR_UNKNOWN_CURRENCY, "order.currency_code: usd"},
    {no_source, CCPAY_ERR_FIELD_REQUIRED, "order.source_code: required"},
    {long_source, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.source_code: at most 32"},
    {no_type, CCPAY_ERR_FIELD_INVALID, "order.type:"},
    {bad_type, CCPAY_ERR_FIELD_INVALID, "order.type:"},
    {no_lines, CCPAY_ERR_FIELD_REQUIRED, "order.lines: at least one"},
    {too_many_lines, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines: at most 200"},
    {zero_quantity, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].quantity: must be 1 to 1000000"},
    {negative_quantity, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].quantity:"},
    {huge_quantity, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].quantity:"},
    {no_sku, CCPAY_ERR_FIELD_REQUIRED, "order.lines[1].sku: required"},
    {card_in_description, CCPAY_ERR_CARD_DATA_IN_TEXT, "order.lines[1].description:"},
    {control_in_description, CCPAY_ERR_FIELD_INVALID, "order.lines[1].description:"},
    {no_price, CCPAY_ERR_FIELD_REQUIRED, "order.lines[1].unit_price: required"},
    {negative_price, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].unit_price.amount_minor:"},
    {price_in_euros, CCPAY_ERR_FIELD_INVALID,
     "order.lines[1].unit_price.currency_code: must be the order's currency USD, not EUR"},
    {discount_in_euros, CCPAY_ERR_FIELD_INVALID, "order.lines[1].line_discount.currency_code:"},
    {negative_discount, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].line_discount.amount_minor:"},
    {discount_above_gross, CCPAY_ERR_FIELD_OUT_OF_RANGE,
     "order.lines[1].line_discount: at most quantity × unit_price (450)"},
    {negative_rate, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].tax_rate_bp:"},
    {rate_above_one, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.lines[1].tax_rate_bp:"},
    {lower_case_code, CCPAY_ERR_FIELD_INVALID, "order.charges[0].code: 1 to 32 upper-case"},
    {dashed_code, CCPAY_ERR_FIELD_INVALID, "order.charges[0].code:"},
    {no_code, CCPAY_ERR_FIELD_REQUIRED, "order.charges[0].code: required"},
    {long_code, CCPAY_ERR_FIELD_INVALID, "order.charges[0].code:"},
    {card_in_charge, CCPAY_ERR_CARD_DATA_IN_TEXT, "order.charges[0].description:"},
    {no_charge_amount, CCPAY_ERR_FIELD_REQUIRED, "order.charges[0].amount: required"},
    {charge_in_euros, CCPAY_ERR_FIELD_INVALID, "order.charges[0].amount.currency_code:"},
    {negative_charge, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.charges[0].amount.amount_minor:"},
    {charge_rate_above_one, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.charges[0].tax_rate_bp:"},
    {too_many_charges, CCPAY_ERR_FIELD_OUT_OF_RANGE, "order.charges: at most 10"},
};

static void validation_names_the_field_it_refuses(void **state) {
  arena *a = *state;
  for (size_t i = 0; i < COUNT(refusals); i++) {
    Ccpay__V1__Order *in = input_order(a, "USD", usd_lines, 2, usd_shipping, 1);
    ccpay_error e;
    assert_int_equal(order_validate_new(in, &e), CCPAY_OK);
    refusals[i].mutate(in);
    assert_error(order_validate_new(in, &e), &e, refusals[i].want, refusals[i].text);
  }
  ccpay_error e;
  assert_error(order_validate_new(NULL, &e), &e, CCPAY_ERR_FIELD_REQUIRED, "order: required");
}

static void validation_accepts_the_limits(void **state) {
  arena *a = *state;
  /* Quantity 1 and 1,000,000; rate 0 and 10000; a discount of the whole gross; price 0. */
  static const line_spec edges[] = {
      {1, 0, 0, 0}, {ORDER_LINE_QUANTITY_MAX, 1, ORDER_LINE_QUANTITY_MAX, 10000}, {2, 5, 10, 0}};
  static const charge_spec codes[] = {{"GIFT_WRAP2", 0, 10000}, {"X", 1, 0}};
  Ccpay__V1__Order *in = input_order(a, "USD", edges, 3, codes, 2);
  in->type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_REPLACEMENT;
  in->lines[0]->unit_price->currency_code = ""; /* empty: the order's currency */
  in->lines[1]->description = "";
  in->charges[0]->code = "SHIPPING_AND_HANDLING_EXPRESS_IN"; /* 32 bytes */
  ccpay_error e;
  assert_int_equal(order_validate_new(in, &e), CCPAY_OK);
  /* ORDER_LINES_MAX lines and ORDER_CHARGES_MAX charges. */
  line_spec lines[ORDER_LINES_MAX];
  charge_spec charges[ORDER_CHARGES_MAX];
  for (size_t i = 0; i < ORDER_LINES_MAX; i++) lines[i] = usd_lines[i % 2];
  for (size_t i = 0; i < ORDER_CHARGES_MAX; i++) charges[i] = usd_shipping[0];
  in = input_order(a, "USD", lines, ORDER_LINES_MAX, charges, ORDER_CHARGES_MAX);
  assert_int_equal(order_validate_new(in, &e), CCPAY_OK);
  Ccpay__V1__Order *o = build(a, in, STATUS_OPEN);
  assert_int_equal(o->lines[ORDER_LINES_MAX - 1]->line_number, ORDER_LINES_MAX);
  /* 100 × (5997 + 450) = 644700; discount 100 × 500; tax 100 × 454 + 10 × 66 = 46060;
   * charges 7950; total 644700 − 50000 + 7950 + 46060 = 648710. */
  assert_totals(
      o,
      (totals_spec){
          .subtotal = 644700, .discount = 50000, .tax = 46060, .charges = 7950, .total = 648710});
}

static void validate_lines_uses_the_prefix(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *in = input_order(a, "GBP", usd_lines, 2, usd_shipping, 1);
  ccpay_error e;
  assert_int_equal(order_validate_lines(in->lines, 2, in->charges, 1, "GBP", "", &e), CCPAY_OK);
  in->lines[0]->quantity = 0;
  assert_int_equal(order_validate_lines(in->lines, 2, in->charges, 1, "GBP", "", &e),
                   CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_true(strncmp(e.message, "lines[0].quantity:", 18) == 0);
  /* The order's currency is the one lines are held to. */
  in->lines[0]->quantity = 1;
  assert_error(order_validate_lines(in->lines, 2, in->charges, 1, "USD", "", &e), &e,
               CCPAY_ERR_FIELD_INVALID,
               "lines[0].unit_price.currency_code: must be the order's "
               "currency USD, not GBP");
  assert_error(order_validate_lines(in->lines, 0, in->charges, 1, "GBP", "", &e), &e,
               CCPAY_ERR_FIELD_REQUIRED, "lines: at least one line");
}

/* --- Status machine ------------------------------------------------------------------- */

static const order_action actions[] = {
    ORDER_ACTION_UPDATE_LINES, ORDER_ACTION_HOLD,   ORDER_ACTION_RELEASE_HOLD, ORDER_ACTION_SUBMIT,
    ORDER_ACTION_INVOICE,      ORDER_ACTION_CANCEL, ORDER_ACTION_CANCEL_LINES,
};
static const Ccpay__V1__OrderStatus statuses[] = {STATUS_OPEN, STATUS_SUBMITTED, STATUS_PARTIAL,
                                                  STATUS_INVOICED, STATUS_CANCELLED};

/* allowed[held][status][action], in the order of the two arrays above. */
static const bool allowed[2][5][7] = {
    /* not held:  UPDATE HOLD RELEASE SUBMIT INVOICE CANCEL CANCEL_LINES */
    {
        /* OPEN */ {1, 1, 0, 1, 0, 1, 1},
        /* SUBMITTED */ {0, 1, 0, 0, 1, 1, 1},
        /* PARTIALLY_INVOICED */ {0, 1, 0, 0, 1, 0, 1},
        /* INVOICED */ {0, 0, 0, 0, 0, 0, 0},
        /* CANCELLED */ {0, 0, 0, 0, 0, 0, 0},
    },
    /* held: no SUBMIT, INVOICE or second HOLD; RELEASE allowed */
    {
        /* OPEN */ {1, 0, 1, 0, 0, 1, 1},
        /* SUBMITTED */ {0, 0, 1, 0, 0, 1, 1},
        /* PARTIALLY_INVOICED */ {0, 0, 1, 0, 0, 0, 1},
        /* INVOICED */ {0, 0, 0, 0, 0, 0, 0},
        /* CANCELLED */ {0, 0, 0, 0, 0, 0, 0},
    },
};

static void status_machine_table(void **state) {
  Ccpay__V1__Order *o = new_order(*state, "USD", usd_lines, 2, NULL, 0, STATUS_OPEN);
  Ccpay__V1__OrderHold hold = CCPAY__V1__ORDER_HOLD__INIT;
  hold.code = "FRAUD_REVIEW";
  for (int held = 0; held < 2; held++) {
    o->hold = held ? &hold : NULL;
    for (size_t s = 0; s < COUNT(statuses); s++) {
      o->status = statuses[s];
      const char *name = order_status_name(o->status);
      char want_text[64];
      snprintf(want_text, sizeof want_text, "order ord_1 is %s", name);
      for (size_t i = 0; i < COUNT(actions); i++) {
        ccpay_error e;
        ccpay_err rc = order_check_action(o, actions[i], &e);
        if (allowed[held][s][i]) {
          if (rc != CCPAY_OK) fail_msg("held %d, action %zu: %s", held, i, e.message);
        } else {
          assert_error(rc, &e, CCPAY_ERR_INVALID_STATE, want_text);
        }
      }
    }
  }
}

static void holds(void **state) {
  Ccpay__V1__Order *o = new_order(*state, "USD", usd_lines, 2, NULL, 0, STATUS_SUBMITTED);
  Ccpay__V1__OrderHold hold = CCPAY__V1__ORDER_HOLD__INIT;
  hold.code = "PAYMENT_PENDING";
  o->hold = &hold;
  ccpay_error e;
  const order_action refused[] = {ORDER_ACTION_SUBMIT, ORDER_ACTION_INVOICE, ORDER_ACTION_HOLD};
  for (size_t i = 0; i < COUNT(refused); i++) {
    o->status = refused[i] == ORDER_ACTION_SUBMIT ? STATUS_OPEN : STATUS_SUBMITTED;
    assert_error(order_check_action(o, refused[i], &e), &e, CCPAY_ERR_INVALID_STATE,
                 "and on hold (PAYMENT_PENDING): release the hold first");
  }
  assert_int_equal(order_check_action(o, ORDER_ACTION_RELEASE_HOLD, &e), CCPAY_OK);
  o->hold = NULL;
  assert_error(order_check_action(o, ORDER_ACTION_RELEASE_HOLD, &e), &e, CCPAY_ERR_INVALID_STATE,
               "order ord_1 is SUBMITTED and not on hold");
  /* The status rule is quoted before the hold: an INVOICED order names its status. */
  o->hold = &hold;
  o->status = STATUS_INVOICED;
  assert_error(order_check_action(o, ORDER_ACTION_INVOICE, &e), &e, CCPAY_ERR_INVALID_STATE,
               "order ord_1 is INVOICED: only a SUBMITTED or PARTIALLY_INVOICED");
}

static void status_names(void **state) {
  (void)state;
  assert_string_equal(order_status_name(STATUS_OPEN), "OPEN");
  assert_string_equal(order_status_name(STATUS_SUBMITTED), "SUBMITTED");
  assert_string_equal(order_status_name(STATUS_PARTIAL), "PARTIALLY_INVOICED");
  assert_string_equal(order_status_name(STATUS_INVOICED), "INVOICED");
  assert_string_equal(order_status_name(STATUS_CANCELLED), "CANCELLED");
  assert_string_equal(order_status_name(CCPAY__V1__ORDER_STATUS__ORDER_STATUS_UNSPECIFIED),
                      "UNSPECIFIED");
}

/* --- Invoicing ------------------------------------------------------------------------ */

/* Line 1: 3 × $10.00 less $1.00 at 8.25 %: gross 3000, net 2900,
 *   tax 2900 × 0.0825 = 239.25 → 239, total 3139.
 *   Discount by unit (cumulative 33.3 → 33, 66.7 → 67, 100): 33, 34, 33.
 *   Tax by unit (cumulative 79.67 → 80, 159.33 → 159, 239): 80, 79, 80.
 * Line 2: 2 × $4.50 untaxed: 900.
 * Shipping $7.95 at 8.25 %: tax 66, 861 in all.
 * Order: subtotal 3900, discount 100, tax 239 + 66 = 305, charges 795,
 *   total 3900 − 100 + 795 + 305 = 4900. */
static const line_spec split_lines[] = {{3, 1000, 100, 825}, {2, 450, 0, 0}};
static const totals_spec split_totals = {
    .subtotal = 3900, .discount = 100, .tax = 305, .charges = 795, .total = 4900};

static Ccpay__V1__Order *split_order(arena *a, Ccpay__V1__OrderStatus status) {
  return new_order(a, "USD", split_lines, 2, usd_shipping, 1, status);
}

static void partial_invoices_add_up_to_the_order(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  assert_totals(o, split_totals);

  /* Invoice 1: unit 1 of line 1 (net 1000 − 33 = 967, tax 80) and the shipping:
   * subtotal 967, tax 80 + 66 = 146, charges 795, total 1908. */
  Ccpay__V1__Invoice *i1 = INVOICE_OK(a, o, {1, 1});
  assert_invoice(i1, "USD", (invoice_spec){967, 146, 795, 1908, 1, 1});
  assert_invoice_line(i1, 0, 1, 1, 967, 80);
  assert_string_equal(i1->charges[0]->code, "SHIPPING");
  assert_true(o->charges[0]->invoiced);
  assert_int_equal(o->status, STATUS_PARTIAL);
  assert_int_equal(o->lines[0]->quantity_invoiced, 1);
  totals_spec t = split_totals;
  t.invoiced = 1908;
  assert_totals(o, t);

  /* Invoice 2: units 2–3 of line 1 (net 2000 − 67 = 1933, tax 159) and one of line 2
   * (450), named in the other order; no charges: subtotal 2383, tax 159, total 2542. */
  Ccpay__V1__Invoice *i2 = INVOICE_OK(a, o, {2, 1}, {1, 2});
  assert_invoice(i2, "USD", (invoice_spec){2383, 159, 0, 2542, 2, 0});
  assert_invoice_line(i2, 0, 2, 1, 450, 0);
  assert_invoice_line(i2, 1, 1, 2, 1933, 159);
  assert_int_equal(o->status, STATUS_PARTIAL);
  t.invoiced = 1908 + 2542;
  assert_totals(o, t);

  /* Invoice 3: the last unit of line 2: 450. */
  Ccpay__V1__Invoice *i3 = INVOICE_OK(a, o, {2, 1});
  assert_invoice(i3, "USD", (invoice_spec){450, 0, 0, 450, 1, 0});
  assert_int_equal(o->status, STATUS_INVOICED);
  /* Line 1 in invoices: net 967 + 1933 = 2900, tax 80 + 159 = 239, as on the line.
   * 1908 + 2542 + 450 = 4900 = the total. */
  t.invoiced = 4900;
  assert_totals(o, t);
  assert_false(o->charges[0]->cancelled);
}

static void unit_by_unit_invoices_spread_the_remainders(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  /* Units of line 1 one at a time: net 1000 − (33, 34, 33), tax (80, 79, 80). */
  static const int64_t net[] = {967, 966, 967}, tax[] = {80, 79, 80};
  for (size_t u = 0; u < 3; u++) {
    Ccpay__V1__Invoice *inv = INVOICE_OK(a, o, {1, 1});
    assert_invoice_line(inv, 0, 1, 1, net[u], tax[u]);
    assert_int_equal(inv->n_charges, u == 0 ? 1 : 0);
  }
  assert_int_equal(o->status, STATUS_PARTIAL);
  /* 3139 of line 1 and 861 of shipping. */
  assert_amount(o->totals->invoiced_total, "USD", 4000);
  INVOICE_OK(a, o, {2, 2});
  assert_int_equal(o->status, STATUS_INVOICED);
  assert_amount(o->totals->invoiced_total, "USD", 4900);
}

static void one_invoice_for_everything(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  Ccpay__V1__Invoice *inv = INVOICE_OK(a, o, {1, 3}, {2, 2});
  /* subtotal 2900 + 900, tax 239 + 66, charges 795: 4900. */
  assert_invoice(inv, "USD", (invoice_spec){3800, 305, 795, 4900, 2, 1});
  assert_int_equal(o->status, STATUS_INVOICED);
}

static void invoice_refusals(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  INVOICE_OK(a, o, {1, 2});
  Ccpay__V1__Invoice *inv;
  ccpay_error e;
  /* One unit of line 1 is left. */
  assert_error(invoice(a, o, SHIP({1, 2}), &inv, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "lines[0].quantity: line 1 has 1 left to invoice");
  assert_error(invoice(a, o, SHIP({2, 0}), &inv, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "lines[0].quantity: line 2 has 2 left");
  assert_error(invoice(a, o, SHIP({2, -1}), &inv, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "lines[0].quantity:");
  assert_error(invoice(a, o, SHIP({3, 1}), &inv, &e), &e, CCPAY_ERR_FIELD_INVALID,
               "lines[0].line_number: order ord_1 has no line 3 (it has lines 1 to 2)");
  assert_error(invoice(a, o, SHIP({0, 1}), &inv, &e), &e, CCPAY_ERR_FIELD_INVALID,
               "lines[0].line_number: order ord_1 has no line 0");
  assert_error(invoice(a, o, SHIP({2, 1}, {2, 1}), &inv, &e), &e, CCPAY_ERR_FIELD_INVALID,
               "lines[1].line_number: line 2 is named twice");
  assert_error(invoice(a, o, SHIP({1, 1}, {2, 1}, {1, 1}), &inv, &e), &e,
               CCPAY_ERR_FIELD_OUT_OF_RANGE, "lines: order ord_1 has 2 lines");
  assert_error(invoice(a, o, NULL, 0, &inv, &e), &e, CCPAY_ERR_FIELD_REQUIRED,
               "lines: name the lines that shipped");
  /* None of that changed the order: 2 units of line 1 and the shipping invoiced,
   * 2000 − 67 + 159 + 861 = 2953. */
  assert_int_equal(o->status, STATUS_PARTIAL);
  assert_int_equal(o->lines[0]->quantity_invoiced, 2);
  assert_int_equal(o->lines[1]->quantity_invoiced, 0);
  totals_spec t = split_totals;
  t.invoiced = 2953;
  assert_totals(o, t);
}

/* --- Cancelling ----------------------------------------------------------------------- */

static ccpay_err cancel(arena *a, Ccpay__V1__Order *o, const int32_t *numbers, size_t n,
                        ccpay_error *e) {
  return order_cancel_lines(o, numbers, n, a, e);
}

static void cancel_the_rest_then_invoice(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  ccpay_error e;
  INVOICE_OK(a, o, {1, 1}); /* 967 + 80 + 861 = 1908 */
  assert_int_equal(cancel(a, o, LINE_NUMBERS(1), &e), CCPAY_OK);
  /* Units 2–3 of line 1 cancelled: 2000 − 67 + 159 = 2092. Left: line 2, 900.
   * subtotal 3900 − 2000 = 1900, discount 100 − 67 = 33, tax 305 − 159 = 146,
   * total 1900 − 33 + 795 + 146 = 2808 = 4900 − 2092. */
  assert_int_equal(o->status, STATUS_PARTIAL);
  assert_int_equal(o->lines[0]->quantity_cancelled, 2);
  assert_totals(o, (totals_spec){.subtotal = 1900,
                                 .discount = 33,
                                 .tax = 146,
                                 .charges = 795,
                                 .total = 2808,
                                 .invoiced = 1908,
                                 .cancelled = 2092});
  INVOICE_OK(a, o, {2, 2});
  /* invoiced 1908 + 900 = 2808; 2808 + 2092 = 4900, the original total. */
  assert_int_equal(o->status, STATUS_INVOICED);
  assert_totals(o, (totals_spec){.subtotal = 1900,
                                 .discount = 33,
                                 .tax = 146,
                                 .charges = 795,
                                 .total = 2808,
                                 .invoiced = 2808,
                                 .cancelled = 2092});
}

static void cancel_a_line_before_any_invoice(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  ccpay_error e;
  assert_int_equal(cancel(a, o, LINE_NUMBERS(2), &e), CCPAY_OK);
  assert_int_equal(o->status, STATUS_SUBMITTED);
  assert_totals(o, (totals_spec){.subtotal = 3000,
                                 .discount = 100,
                                 .tax = 305,
                                 .charges = 795,
                                 .total = 4000,
                                 .cancelled = 900});
  /* The charges still go on the first invoice. */
  Ccpay__V1__Invoice *inv = INVOICE_OK(a, o, {1, 3});
  assert_invoice(inv, "USD", (invoice_spec){2900, 305, 795, 4000, 1, 1});
  assert_int_equal(o->status, STATUS_INVOICED);
  assert_totals(o, (totals_spec){.subtotal = 3000,
                                 .discount = 100,
                                 .tax = 305,
                                 .charges = 795,
                                 .total = 4000,
                                 .invoiced = 4000,
                                 .cancelled = 900});
}

static void cancelled_totals(const Ccpay__V1__Order *o) {
  assert_int_equal(o->status, STATUS_CANCELLED);
  assert_true(o->charges[0]->cancelled);
  assert_false(o->charges[0]->invoiced);
  for (size_t i = 0; i < o->n_lines; i++) {
    assert_int_equal(o->lines[i]->quantity_cancelled, o->lines[i]->quantity);
  }
  /* Everything cancelled: 4900, charges and their tax included. */
  assert_totals(o, (totals_spec){.cancelled = 4900});
}

static void cancelling_every_line_cancels_the_order(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  ccpay_error e;
  assert_int_equal(cancel(a, o, LINE_NUMBERS(2, 1), &e), CCPAY_OK);
  cancelled_totals(o);
  /* One at a time, from OPEN. */
  o = split_order(a, STATUS_OPEN);
  assert_int_equal(cancel(a, o, LINE_NUMBERS(1), &e), CCPAY_OK);
  assert_int_equal(o->status, STATUS_OPEN);
  assert_int_equal(cancel(a, o, LINE_NUMBERS(2), &e), CCPAY_OK);
  cancelled_totals(o);
}

static void cancel_whole_order(void **state) {
  arena *a = *state;
  ccpay_error e;
  const Ccpay__V1__OrderStatus from[] = {STATUS_OPEN, STATUS_SUBMITTED};
  for (size_t i = 0; i < COUNT(from); i++) {
    Ccpay__V1__Order *o = split_order(a, from[i]);
    assert_int_equal(order_check_action(o, ORDER_ACTION_CANCEL, &e), CCPAY_OK);
    assert_int_equal(order_cancel(o, a, &e), CCPAY_OK);
    cancelled_totals(o);
  }
  /* After a line was cancelled: the rest goes too. */
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  assert_int_equal(cancel(a, o, LINE_NUMBERS(1), &e), CCPAY_OK);
  assert_int_equal(order_cancel(o, a, &e), CCPAY_OK);
  cancelled_totals(o);
}

static void cancel_lines_refusals(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  ccpay_error e;
  INVOICE_OK(a, o, {1, 3});
  assert_error(cancel(a, o, NULL, 0, &e), &e, CCPAY_ERR_FIELD_REQUIRED,
               "line_numbers: name the lines to cancel");
  assert_error(cancel(a, o, LINE_NUMBERS(2, 3), &e), &e, CCPAY_ERR_FIELD_INVALID,
               "line_numbers[1]: order ord_1 has no line 3");
  assert_error(cancel(a, o, LINE_NUMBERS(2, 2), &e), &e, CCPAY_ERR_FIELD_INVALID,
               "line_numbers[1]: line 2 is named twice");
  assert_error(cancel(a, o, LINE_NUMBERS(2, 1), &e), &e, CCPAY_ERR_INVALID_STATE,
               "line_numbers[1]: line 1 has nothing left to cancel");
  /* Nothing was cancelled by the refused lists: line 2 is still there to invoice. */
  assert_int_equal(o->lines[1]->quantity_cancelled, 0);
  assert_int_equal(o->status, STATUS_PARTIAL);
  assert_amount(o->totals->cancelled_total, "USD", 0);
}

/* --- Property: invoices and cancellations always add up ------------------------------- */

enum { PROPERTY_ORDERS = 2000, PROPERTY_LINES_MAX = 10, PROPERTY_STEPS_MAX = 1000 };

static struct {
  unsigned long long seed;
  int order, step;
} where;

static void prop_eq(int64_t got, int64_t want, const char *what, int line) {
  if (got != want) {
    fail_msg("seed %llu (CCPAY_PROPERTY_SEED), order %d, step %d, line %d: %s is %lld, want %lld",
             where.seed, where.order, where.step, line, what, (long long)got, (long long)want);
  }
}
#define PROP_EQ(got, want) prop_eq((int64_t)(got), (int64_t)(want), #got, __LINE__)

/* splitmix64: the same sequence on every platform. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in lo..hi (the modulo bias is irrelevant here). */
static int64_t rng_range(uint64_t *s, int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

static int32_t rng_rate(uint64_t *s) {
  static const int32_t common[] = {0, 1, 500, 825, 1000, 2000, 9999, 10000};
  return rng_range(s, 0, 1) ? common[rng_range(s, 0, COUNT(common) - 1)]
                            : (int32_t)rng_range(s, 0, MONEY_BASIS_POINTS_ONE);
}

/* The model: each line as ordered, its tax worked out independently, and what the
 * order's rules should have done with it. */
typedef struct model_line {
  int64_t quantity, price, discount, tax, invoiced;
  bool cancelled;
} model_line;

typedef struct model {
  model_line lines[PROPERTY_LINES_MAX];
  size_t n_lines;
  int64_t charges; /* amount plus tax of every charge */
  bool charges_invoiced, charges_cancelled;
  int64_t invoiced; /* sum of the invoices' totals */
  int64_t original_total;
} model;

/* round_half_even(num / den) for num ≥ 0, den > 0. */
static int64_t ref_round(__int128 num, int64_t den) {
  __int128 q = num / den, r = num % den;
  if (2 * r > den || (2 * r == den && q % 2 == 1)) q++;
  return (int64_t)q;
}

/* What the first units of a line come to: units × price less their discount share plus
 * their tax share. */
static int64_t ref_upto(const model_line *l, int64_t units) {
  return units * l->price - ref_round((__int128)l->discount * units, l->quantity) +
         ref_round((__int128)l->tax * units, l->quantity);
}

static line_spec random_line(uint64_t *s) {
  line_spec l;
  l.quantity =
      rng_range(s, 0, 7) == 0 ? rng_range(s, 1, ORDER_LINE_QUANTITY_MAX) : rng_range(s, 1, 12);
  l.unit_price = rng_range(s, 0, 7) == 0 ? rng_range(s, 0, 1000000000) : rng_range(s, 0, 20000);
  int64_t gross = l.quantity * l.unit_price;
  l.discount = rng_range(s, 0, 1) ? rng_range(s, 0, gross) : 0;
  l.tax_rate_bp = rng_rate(s);
  return l;
}

static Ccpay__V1__Order *random_order(arena *a, uint64_t *s, model *m) {
  static const char *codes[] = {"SHIPPING", "HANDLING", "GIFT_WRAP"};
  line_spec lines[PROPERTY_LINES_MAX];
  charge_spec charges[2];
  memset(m, 0, sizeof *m);
  m->n_lines = (size_t)rng_range(s, 1, PROPERTY_LINES_MAX);
  for (size_t i = 0; i < m->n_lines; i++) {
    lines[i] = random_line(s);
    model_line *ml = &m->lines[i];
    *ml = (model_line){
        .quantity = lines[i].quantity, .price = lines[i].unit_price, .discount = lines[i].discount};
    int64_t net = ml->quantity * ml->price - ml->discount;
    ml->tax = ref_round((__int128)net * lines[i].tax_rate_bp, MONEY_BASIS_POINTS_ONE);
    m->original_total += net + ml->tax;
  }
  size_t n_charges = (size_t)rng_range(s, 0, 2);
  for (size_t i = 0; i < n_charges; i++) {
    charges[i].code = codes[rng_range(s, 0, 2)]; /* one draw per statement: same order */
    charges[i].amount = rng_range(s, 0, 5000);   /* with every compiler */
    charges[i].tax_rate_bp = rng_rate(s);
    m->charges +=
        charges[i].amount +
        ref_round((__int128)charges[i].amount * charges[i].tax_rate_bp, MONEY_BASIS_POINTS_ONE);
  }
  m->original_total += m->charges;
  return new_order(a, "USD", lines, m->n_lines, charges, n_charges, STATUS_SUBMITTED);
}

static bool anything_invoiced(const model *m) {
  for (size_t i = 0; i < m->n_lines; i++) {
    if (m->lines[i].invoiced > 0) return true;
  }
  return false;
}

/* Lines with something left to invoice or cancel, as 0-based indexes. */
static size_t open_lines(const model *m, size_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < m->n_lines; i++) {
    const model_line *l = &m->lines[i];
    if (!l->cancelled && l->invoiced < l->quantity) out[n++] = i;
  }
  return n;
}

static void check_against_model(const Ccpay__V1__Order *o, const model *m) {
  int64_t remaining = 0, cancelled = 0;
  size_t left[PROPERTY_LINES_MAX];
  for (size_t i = 0; i < m->n_lines; i++) {
    const model_line *l = &m->lines[i];
    int64_t rest = ref_upto(l, l->quantity) - ref_upto(l, l->invoiced);
    *(l->cancelled ? &cancelled : &remaining) += rest;
    PROP_EQ(o->lines[i]->quantity_invoiced, l->invoiced);
    PROP_EQ(o->lines[i]->quantity_cancelled, l->cancelled ? l->quantity - l->invoiced : 0);
  }
  if (m->charges_cancelled) cancelled += m->charges;
  if (!m->charges_invoiced && !m->charges_cancelled) remaining += m->charges;
  for (size_t i = 0; i < o->n_charges; i++) {
    PROP_EQ(o->charges[i]->invoiced, m->charges_invoiced);
    PROP_EQ(o->charges[i]->cancelled, m->charges_cancelled);
  }
  const Ccpay__V1__OrderTotals *t = o->totals;
  PROP_EQ(t->invoiced_total->amount_minor, m->invoiced);
  PROP_EQ(t->total->amount_minor, m->invoiced + remaining);
  PROP_EQ(t->cancelled_total->amount_minor, cancelled);
  PROP_EQ(t->total->amount_minor + t->cancelled_total->amount_minor, m->original_total);
  PROP_EQ(t->subtotal->amount_minor - t->discount_total->amount_minor +
              t->charges_total->amount_minor + t->tax_total->amount_minor,
          t->total->amount_minor);
  Ccpay__V1__OrderStatus want = open_lines(m, left) > 0
                                    ? (anything_invoiced(m) ? STATUS_PARTIAL : STATUS_SUBMITTED)
                                    : (anything_invoiced(m) ? STATUS_INVOICED : STATUS_CANCELLED);
  PROP_EQ(o->status, want);
}

/* Shuffles the first n of items and returns how many of them to use: 1..n. */
static size_t random_pick(uint64_t *s, size_t *items, size_t n) {
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = (size_t)rng_range(s, 0, (int64_t)i), tmp = items[i];
    items[i] = items[j], items[j] = tmp;
  }
  return (size_t)rng_range(s, 1, (int64_t)n);
}

static void random_invoice(arena *a, uint64_t *s, Ccpay__V1__Order *o, model *m) {
  size_t left[PROPERTY_LINES_MAX];
  size_t n = random_pick(s, left, open_lines(m, left));
  ship_spec ship[PROPERTY_LINES_MAX];
  int64_t want_total = m->charges_invoiced ? 0 : m->charges;
  for (size_t k = 0; k < n; k++) {
    model_line *l = &m->lines[left[k]];
    int64_t rest = l->quantity - l->invoiced;
    ship[k] = (ship_spec){(int32_t)left[k] + 1, rng_range(s, 0, 3) ? rng_range(s, 1, rest) : rest};
  }
  ccpay_error e;
  Ccpay__V1__Invoice *inv;
  PROP_EQ(order_check_action(o, ORDER_ACTION_INVOICE, &e), CCPAY_OK);
  PROP_EQ(invoice(a, o, ship, n, &inv, &e), CCPAY_OK);
  PROP_EQ(inv->n_lines, n);
  PROP_EQ(inv->n_charges, m->charges_invoiced ? 0 : o->n_charges);
  for (size_t k = 0; k < n; k++) {
    model_line *l = &m->lines[left[k]];
    int64_t from = l->invoiced, to = from + ship[k].quantity;
    int64_t discount = ref_round((__int128)l->discount * to, l->quantity) -
                       ref_round((__int128)l->discount * from, l->quantity);
    int64_t tax = ref_round((__int128)l->tax * to, l->quantity) -
                  ref_round((__int128)l->tax * from, l->quantity);
    PROP_EQ(inv->lines[k]->line_number, ship[k].line_number);
    PROP_EQ(inv->lines[k]->net_amount->amount_minor, ship[k].quantity * l->price - discount);
    PROP_EQ(inv->lines[k]->tax_amount->amount_minor, tax);
    want_total += ref_upto(l, to) - ref_upto(l, from);
    l->invoiced = to;
  }
  PROP_EQ(inv->total->amount_minor, want_total);
  PROP_EQ(
      inv->subtotal->amount_minor + inv->tax_total->amount_minor + inv->charges_total->amount_minor,
      inv->total->amount_minor);
  m->invoiced += inv->total->amount_minor;
  m->charges_invoiced = true;
}

static void settle_model(model *m) {
  size_t left[PROPERTY_LINES_MAX];
  if (open_lines(m, left) == 0 && !m->charges_invoiced) m->charges_cancelled = true;
}

static void random_cancel(arena *a, uint64_t *s, Ccpay__V1__Order *o, model *m) {
  size_t left[PROPERTY_LINES_MAX];
  size_t n = random_pick(s, left, open_lines(m, left));
  int32_t numbers[PROPERTY_LINES_MAX];
  for (size_t k = 0; k < n; k++) {
    numbers[k] = (int32_t)left[k] + 1;
    m->lines[left[k]].cancelled = true;
  }
  ccpay_error e;
  PROP_EQ(order_check_action(o, ORDER_ACTION_CANCEL_LINES, &e), CCPAY_OK);
  PROP_EQ(cancel(a, o, numbers, n, &e), CCPAY_OK);
  settle_model(m);
}

static void cancel_all(arena *a, Ccpay__V1__Order *o, model *m) {
  ccpay_error e;
  PROP_EQ(order_check_action(o, ORDER_ACTION_CANCEL, &e), CCPAY_OK);
  PROP_EQ(order_cancel(o, a, &e), CCPAY_OK);
  for (size_t i = 0; i < m->n_lines; i++) m->lines[i].cancelled = true;
  settle_model(m);
}

static void run_random_order(uint64_t *s) {
  arena *a = arena_create(CALL_ARENA_BYTES_MAX);
  assert_non_null(a);
  model m;
  Ccpay__V1__Order *o = random_order(a, s, &m);
  PROP_EQ(o->totals->total->amount_minor, m.original_total);
  size_t left[PROPERTY_LINES_MAX];
  int64_t sum_of_invoices = 0;
  for (where.step = 0; open_lines(&m, left) > 0; where.step++) {
    if (where.step >= PROPERTY_STEPS_MAX) fail_msg("seed %llu: no end in sight", where.seed);
    int64_t before = m.invoiced;
    int64_t dice = rng_range(s, 0, 39);
    if (dice == 0 && !anything_invoiced(&m)) {
      cancel_all(a, o, &m);
    } else if (dice < 8) {
      random_cancel(a, s, o, &m);
    } else {
      random_invoice(a, s, o, &m);
    }
    sum_of_invoices += m.invoiced - before;
    check_against_model(o, &m);
  }
  ccpay_error e;
  const Ccpay__V1__OrderTotals *t = o->totals;
  PROP_EQ(t->invoiced_total->amount_minor + t->cancelled_total->amount_minor, m.original_total);
  PROP_EQ(t->invoiced_total->amount_minor, sum_of_invoices);
  PROP_EQ(t->total->amount_minor, t->invoiced_total->amount_minor);
  PROP_EQ(order_check_action(o, ORDER_ACTION_INVOICE, &e), CCPAY_ERR_INVALID_STATE);
  PROP_EQ(order_check_action(o, ORDER_ACTION_CANCEL_LINES, &e), CCPAY_ERR_INVALID_STATE);
  arena_destroy(a);
}

static void random_orders_always_add_up(void **state) {
  (void)state;
  const char *env = getenv("CCPAY_PROPERTY_SEED");
  where.seed = env != NULL ? strtoull(env, NULL, 0) : 20240611ULL;
  uint64_t s = where.seed;
  for (where.order = 0; where.order < PROPERTY_ORDERS; where.order++) run_random_order(&s);
}

/* --- Refusals change nothing, an exhausted arena is reported ------------------------ */

/* A refused invoice leaves the order as it was, even when an earlier ship line was fine. */
static void refused_invoice_changes_nothing(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = split_order(a, STATUS_SUBMITTED);
  Ccpay__V1__Invoice *inv;
  ccpay_error e;
  assert_error(invoice(a, o, SHIP({1, 1}, {2, 5}), &inv, &e), &e, CCPAY_ERR_FIELD_OUT_OF_RANGE,
               "lines[1].quantity: line 2 has 2 left to invoice");
  assert_int_equal(o->lines[0]->quantity_invoiced, 0); /* got 1 */
  assert_error(invoice(a, o, SHIP({1, 1}, {7, 1}), &inv, &e), &e, CCPAY_ERR_FIELD_INVALID,
               "lines[1].line_number");
  assert_int_equal(o->lines[0]->quantity_invoiced, 0);
}

/* order_compute_totals (so order_build) does not check the Money it allocates: when the
 * call's arena runs out part way, it returns CCPAY_OK with NULL amounts on the lines and
 * totals (the split order built with 1344 to 1712 bytes left; 2 to 8 NULL amounts). */
static void build_reports_an_exhausted_arena(void **state) {
  Ccpay__V1__Order *in = input_order(*state, "USD", split_lines, 2, usd_shipping, 1);
  for (size_t budget = 16;; budget += 16) {
    arena *small = arena_create(budget);
    assert_non_null(small);
    ccpay_error e;
    Ccpay__V1__Order *o = order_build(in, small, &e);
    if (o == NULL) {
      assert_int_equal(e.code, CCPAY_ERR_LIMIT_EXCEEDED);
      arena_destroy(small);
      continue;
    }
    for (size_t i = 0; i < o->n_lines; i++) {
      assert_non_null(o->lines[i]->net_amount);
      assert_non_null(o->lines[i]->tax_amount);
      assert_non_null(o->lines[i]->total_amount);
    }
    assert_non_null(o->charges[0]->tax_amount);
    assert_non_null(o->totals->total);
    assert_non_null(o->totals->total_excess_funds);
    arena_destroy(small);
    break;
  }
}

/* order_invoice does not check the Money of its invoice lines either: with an arena that
 * runs out there, it dereferences NULL (order.c, sum_add of net_amount) and crashes
 * (one line shipped with 224 to 256 bytes left). With a little more, it returns
 * LIMIT_EXCEEDED but has moved quantity_invoiced. */
static void invoice_reports_an_exhausted_arena(void **state) {
  for (size_t budget = 16; budget < 4096; budget += 16) {
    Ccpay__V1__Order *o = split_order(*state, STATUS_SUBMITTED);
    arena *small = arena_create(budget);
    assert_non_null(small);
    Ccpay__V1__ShipLine one = CCPAY__V1__SHIP_LINE__INIT, *ship[] = {&one};
    one.line_number = 1;
    one.quantity = 1;
    Ccpay__V1__Invoice *inv;
    ccpay_error e;
    ccpay_err rc = order_invoice(o, ship, 1, small, &inv, &e);
    /* Reported, never a crash; the order is then discarded, as order.h says. */
    if (rc != CCPAY_OK) assert_int_equal(rc, CCPAY_ERR_LIMIT_EXCEEDED);
    arena_destroy(small);
    if (rc == CCPAY_OK) break;
  }
}

#define TEST(f) \
  cmocka_unit_test_setup_teardown(f, test_records_arena_setup, test_records_arena_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(usd_totals),
      TEST(jpy_totals),
      TEST(bhd_totals),
      TEST(tax_rounds_half_to_even),
      TEST(line_share_rounds_cumulatively),
      TEST(replace_lines_renumbers_and_recomputes),
      TEST(validation_refuses_gross_overflow),
      TEST(build_refuses_line_total_overflow),
      TEST(build_refuses_total_overflow_across_lines),
      TEST(invoices_near_int64_max_add_up),
      TEST(validation_names_the_field_it_refuses),
      TEST(validation_accepts_the_limits),
      TEST(validate_lines_uses_the_prefix),
      TEST(status_machine_table),
      TEST(holds),
      TEST(status_names),
      TEST(partial_invoices_add_up_to_the_order),
      TEST(unit_by_unit_invoices_spread_the_remainders),
      TEST(one_invoice_for_everything),
      TEST(invoice_refusals),
      TEST(cancel_the_rest_then_invoice),
      TEST(cancel_a_line_before_any_invoice),
      TEST(cancelling_every_line_cancels_the_order),
      TEST(cancel_whole_order),
      TEST(cancel_lines_refusals),
      TEST(random_orders_always_add_up),
      TEST(refused_invoice_changes_nothing),
      TEST(build_reports_an_exhausted_arena),
      TEST(invoice_reports_an_exhausted_arena),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
