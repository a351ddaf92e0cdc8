/* The journal entry an invoice posts: receivable debited with the total, revenue, tax
 * and charge revenue credited; zero postings left out; every entry sums to zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "domain/accounts.h"
#include "domain/order.h"
#include "test_records.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

typedef struct charge_spec {
  const char *code;
  int64_t amount;
} charge_spec;

/* An invoice of order ord_1 for cus_1 as order_invoice builds one: subtotal (the lines'
 * net), tax_total, the charges and their total; total = subtotal + tax + charges. */
static Ccpay__V1__Invoice *make_invoice(arena *a, const char *currency, int64_t subtotal,
                                        int64_t tax, const charge_spec *charges, size_t n_charges) {
  Ccpay__V1__Invoice *inv = arena_alloc(a, sizeof *inv);
  assert_non_null(inv);
  ccpay__v1__invoice__init(inv);
  inv->id = "inv_1";
  inv->order_id = "ord_1";
  inv->customer_id = "cus_1";
  inv->currency_code = (char *)currency;
  inv->charges = arena_alloc(a, (n_charges + 1) * sizeof *inv->charges);
  assert_non_null(inv->charges);
  int64_t charges_total = 0;
  for (size_t i = 0; i < n_charges; i++) {
    Ccpay__V1__Charge *c = arena_alloc(a, sizeof *c);
    assert_non_null(c);
    ccpay__v1__charge__init(c);
    c->code = (char *)charges[i].code;
    c->amount = test_records_money(a, currency, charges[i].amount);
    c->invoiced = true;
    inv->charges[i] = c;
    charges_total += charges[i].amount;
  }
  inv->n_charges = n_charges;
  inv->subtotal = test_records_money(a, currency, subtotal);
  inv->tax_total = test_records_money(a, currency, tax);
  inv->charges_total = test_records_money(a, currency, charges_total);
  inv->total = test_records_money(a, currency, subtotal + tax + charges_total);
  return inv;
}

typedef struct posting_spec {
  const char *account;
  int64_t amount;
} posting_spec;

/* The entry has exactly these postings, in this order, in the invoice's currency, and
 * they sum to zero. */
static void assert_postings(const Ccpay__V1__JournalEntry *e, const Ccpay__V1__Invoice *inv,
                            const posting_spec *want, size_t n) {
  assert_non_null(e);
  assert_string_equal(e->kind, ENTRY_KIND_ORDER_INVOICED);
  assert_string_equal(e->customer_id, inv->customer_id);
  assert_string_equal(e->order_id, inv->order_id);
  assert_string_equal(e->invoice_id, inv->id);
  assert_int_equal(e->sequence, 0); /* storage numbers it */
  assert_null(e->entry_time);       /* the caller stamps it */
  assert_int_equal(e->reverses_sequence, 0);
  assert_int_equal(e->n_postings, n);
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    const Ccpay__V1__Posting *p = e->postings[i];
    assert_string_equal(p->account, want[i].account);
    assert_string_equal(p->amount->currency_code, inv->currency_code);
    if (p->amount->amount_minor != want[i].amount) {
      fail_msg("%s: %lld, want %lld", p->account, (long long)p->amount->amount_minor,
               (long long)want[i].amount);
    }
    sum += p->amount->amount_minor;
  }
  assert_int_equal(sum, 0);
}

#define POSTINGS(...) \
  (const posting_spec[]){__VA_ARGS__}, COUNT(((const posting_spec[]){__VA_ARGS__}))

static Ccpay__V1__JournalEntry *entry_of(const Ccpay__V1__Invoice *inv, arena *a) {
  Ccpay__V1__JournalEntry *e = NULL;
  ccpay_error error;
  if (accounts_invoice_entry(inv, a, &e, &error) != CCPAY_OK) fail_msg("%s", error.message);
  return e;
}

static void receivable_is_per_customer(void **state) {
  arena *a = *state;
  assert_string_equal(account_receivable("cus_9f2c", a), "receivable:cus_9f2c");
  assert_string_equal(ACCOUNT_RECEIVABLE_PREFIX, "receivable:");
  char *r = account_receivable("cus_1", a);
  assert_int_equal(strncmp(r, ACCOUNT_RECEIVABLE_PREFIX, strlen(ACCOUNT_RECEIVABLE_PREFIX)), 0);
  assert_string_equal(r + strlen(ACCOUNT_RECEIVABLE_PREFIX), "cus_1");
}

static void every_account_of_an_invoice(void **state) {
  arena *a = *state;
  /* Lines net $59.47, tax $5.20, shipping $7.95, gift wrap $3.00 and handling $2.00:
   * total 5947 + 520 + 795 + 300 + 200 = 7762; other charges 300 + 200 = 500. */
  static const charge_spec charges[] = {{"SHIPPING", 795}, {"GIFT_WRAP", 300}, {"HANDLING", 200}};
  Ccpay__V1__Invoice *inv = make_invoice(a, "USD", 5947, 520, charges, COUNT(charges));
  assert_postings(
      entry_of(inv, a), inv,
      POSTINGS({"receivable:cus_1", 7762}, {ACCOUNT_REVENUE, -5947}, {ACCOUNT_TAX_PAYABLE, -520},
               {ACCOUNT_SHIPPING_REVENUE, -795}, {ACCOUNT_OTHER_CHARGES_REVENUE, -500}));
}

static void zero_postings_are_left_out(void **state) {
  arena *a = *state;
  /* Untaxed lines, no charges: 450 against revenue only. */
  Ccpay__V1__Invoice *inv = make_invoice(a, "USD", 450, 0, NULL, 0);
  assert_postings(entry_of(inv, a), inv,
                  POSTINGS({"receivable:cus_1", 450}, {ACCOUNT_REVENUE, -450}));
  /* Free goods with taxed shipping: 0 + 66 + 795 = 861; no revenue posting. */
  static const charge_spec shipping[] = {{"SHIPPING", 795}};
  inv = make_invoice(a, "USD", 0, 66, shipping, 1);
  assert_postings(entry_of(inv, a), inv,
                  POSTINGS({"receivable:cus_1", 861}, {ACCOUNT_TAX_PAYABLE, -66},
                           {ACCOUNT_SHIPPING_REVENUE, -795}));
  /* A zero shipping charge and a gift wrap: shipping left out, other charges 250. */
  static const charge_spec free_shipping[] = {{"SHIPPING", 0}, {"GIFT_WRAP", 250}};
  inv = make_invoice(a, "JPY", 1000, 100, free_shipping, 2);
  assert_postings(entry_of(inv, a), inv,
                  POSTINGS({"receivable:cus_1", 1350}, {ACCOUNT_REVENUE, -1000},
                           {ACCOUNT_TAX_PAYABLE, -100}, {ACCOUNT_OTHER_CHARGES_REVENUE, -250}));
}

static void charges_of_a_kind_are_summed(void **state) {
  arena *a = *state;
  /* Two SHIPPING charges (795 + 1205 = 2000) and two others (300 + 1 = 301). BHD fils. */
  static const charge_spec charges[] = {
      {"SHIPPING", 795}, {"GIFT_WRAP", 300}, {"SHIPPING", 1205}, {"SHIPPING_INSURANCE", 1}};
  Ccpay__V1__Invoice *inv = make_invoice(a, "BHD", 10000, 1230, charges, COUNT(charges));
  /* 10000 + 1230 + 2000 + 301 = 13531. */
  assert_postings(
      entry_of(inv, a), inv,
      POSTINGS({"receivable:cus_1", 13531}, {ACCOUNT_REVENUE, -10000}, {ACCOUNT_TAX_PAYABLE, -1230},
               {ACCOUNT_SHIPPING_REVENUE, -2000}, {ACCOUNT_OTHER_CHARGES_REVENUE, -301}));
}

static void zero_total_posts_nothing(void **state) {
  arena *a = *state;
  static const charge_spec free_shipping[] = {{"SHIPPING", 0}};
  Ccpay__V1__Invoice *inv = make_invoice(a, "USD", 0, 0, free_shipping, 1);
  Ccpay__V1__JournalEntry *e = (Ccpay__V1__JournalEntry *)inv; /* must be overwritten */
  ccpay_error error;
  assert_int_equal(accounts_invoice_entry(inv, a, &e, &error), CCPAY_OK);
  assert_null(e);
  inv = make_invoice(a, "USD", 0, 0, NULL, 0);
  assert_null(entry_of(inv, a));
}

static void amounts_near_int64_max(void **state) {
  arena *a = *state;
  /* INT64_MAX − 3 of goods, tax 1, shipping 1, handling 1: total INT64_MAX. */
  static const charge_spec charges[] = {{"SHIPPING", 1}, {"HANDLING", 1}};
  Ccpay__V1__Invoice *inv = make_invoice(a, "USD", INT64_MAX - 3, 1, charges, 2);
  assert_postings(entry_of(inv, a), inv,
                  POSTINGS({"receivable:cus_1", INT64_MAX}, {ACCOUNT_REVENUE, -(INT64_MAX - 3)},
                           {ACCOUNT_TAX_PAYABLE, -1}, {ACCOUNT_SHIPPING_REVENUE, -1},
                           {ACCOUNT_OTHER_CHARGES_REVENUE, -1}));
}

/* --- Invoices from the order rules ---------------------------------------------------- */

static Ccpay__V1__OrderLine *order_line(arena *a, int64_t quantity, int64_t price, int64_t discount,
                                        int32_t rate_bp) {
  Ccpay__V1__OrderLine *l = arena_alloc(a, sizeof *l);
  assert_non_null(l);
  ccpay__v1__order_line__init(l);
  l->sku = "SKU-1";
  l->quantity = quantity;
  l->unit_price = test_records_money(a, "USD", price);
  l->line_discount = test_records_money(a, "USD", discount);
  l->tax_rate_bp = rate_bp;
  return l;
}

/* Line 1: 3 × $10.00 less $1.00 at 8.25 % (net 2900, tax 239); line 2: 2 × $4.50
 * untaxed; shipping $7.95 at 8.25 % (tax 66). Total 4900. Submitted. */
static Ccpay__V1__Order *submitted_order(arena *a) {
  Ccpay__V1__Order in = CCPAY__V1__ORDER__INIT;
  Ccpay__V1__OrderLine *lines[] = {order_line(a, 3, 1000, 100, 825), order_line(a, 2, 450, 0, 0)};
  Ccpay__V1__Charge shipping = CCPAY__V1__CHARGE__INIT, *charges[] = {&shipping};
  shipping.code = "SHIPPING";
  shipping.amount = test_records_money(a, "USD", 795);
  shipping.tax_rate_bp = 825;
  in.customer_id = "cus_1";
  in.currency_code = "USD";
  in.source_code = "WEB";
  in.type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_SALES;
  in.lines = lines;
  in.n_lines = COUNT(lines);
  in.charges = charges;
  in.n_charges = COUNT(charges);
  ccpay_error error;
  assert_int_equal(order_validate_new(&in, &error), CCPAY_OK);
  Ccpay__V1__Order *o = order_build(&in, a, &error);
  assert_non_null(o);
  o->id = "ord_1";
  o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED;
  assert_int_equal(o->totals->total->amount_minor, 4900);
  return o;
}

static Ccpay__V1__Invoice *ship(arena *a, Ccpay__V1__Order *o, int32_t line, int64_t quantity,
                                const char *invoice_id) {
  Ccpay__V1__ShipLine s = CCPAY__V1__SHIP_LINE__INIT, *list[] = {&s};
  s.line_number = line;
  s.quantity = quantity;
  Ccpay__V1__Invoice *inv = NULL;
  ccpay_error error;
  if (order_invoice(o, list, 1, a, &inv, &error) != CCPAY_OK) fail_msg("%s", error.message);
  inv->id = (char *)invoice_id;
  return inv;
}

static void entries_of_an_order_invoiced_in_parts(void **state) {
  arena *a = *state;
  Ccpay__V1__Order *o = submitted_order(a);
  /* Invoice 1: one unit of line 1 (net 1000 − 33 = 967, tax 80) and the shipping
   * (795, tax 66): 967 + 146 + 795 = 1908. */
  Ccpay__V1__Invoice *i1 = ship(a, o, 1, 1, "inv_1");
  assert_postings(entry_of(i1, a), i1,
                  POSTINGS({"receivable:cus_1", 1908}, {ACCOUNT_REVENUE, -967},
                           {ACCOUNT_TAX_PAYABLE, -146}, {ACCOUNT_SHIPPING_REVENUE, -795}));
  /* Invoice 2: the other two units of line 1: net 2000 − 67 = 1933, tax 159: 2092. */
  Ccpay__V1__Invoice *i2 = ship(a, o, 1, 2, "inv_2");
  assert_postings(
      entry_of(i2, a), i2,
      POSTINGS({"receivable:cus_1", 2092}, {ACCOUNT_REVENUE, -1933}, {ACCOUNT_TAX_PAYABLE, -159}));
  /* Invoice 3: line 2, untaxed: 900. */
  Ccpay__V1__Invoice *i3 = ship(a, o, 2, 2, "inv_3");
  assert_postings(entry_of(i3, a), i3,
                  POSTINGS({"receivable:cus_1", 900}, {ACCOUNT_REVENUE, -900}));
  /* The receivable was debited 1908 + 2092 + 900 = 4900: the order's total. */
  assert_int_equal(o->totals->invoiced_total->amount_minor, 4900);
  assert_int_equal(o->status, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED);
}

#define TEST(f) \
  cmocka_unit_test_setup_teardown(f, test_records_arena_setup, test_records_arena_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(receivable_is_per_customer),
      TEST(every_account_of_an_invoice),
      TEST(zero_postings_are_left_out),
      TEST(charges_of_a_kind_are_summed),
      TEST(zero_total_posts_nothing),
      TEST(amounts_near_int64_max),
      TEST(entries_of_an_order_invoiced_in_parts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
