/* Order and invoice storage: records, the indexes by status, customer and hold code,
 * paging through each listing, index entries moving when an order changes, invoices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/limits.h"
#include "storage/customers.h"
#include "storage/ids.h"
#include "storage/orders.h"
#include "storage/store.h"
#include "storage/verify.h"
#include "store_fixture.h"
#include "test_records.h"

enum { TEST_ARENA_BYTES = 4 << 20, TEST_IDS_MAX = 32 };

#define OPEN CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN
#define SUBMITTED CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED
#define CANCELLED CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED

static const store_fixture_options test_options = {.name = "orders"};

static int setup(void **state) { return store_fixture_setup(state, &test_options); }

/* Each test's messages live in one arena, freed by teardown. */
static arena *test_arena;

static int test_setup(void **state) {
  test_arena = arena_create(TEST_ARENA_BYTES);
  return test_arena != NULL ? setup(state) : -1;
}

static int test_teardown(void **state) {
  arena_destroy(test_arena);
  test_arena = NULL;
  return store_fixture_teardown(state);
}

/* An order of customer `customer` in status, held with hold_code (reason "checking")
 * unless it is NULL. */
static Ccpay__V1__Order *test_order(uint64_t id, uint64_t customer, Ccpay__V1__OrderStatus status,
                                    const char *hold_code) {
  Ccpay__V1__Order *o = test_records_order(test_arena, id, customer, status, hold_code);
  if (o->hold != NULL) o->hold->reason = "checking";
  return o;
}

/* A shallow copy to change: the "after" of an update. */
static Ccpay__V1__Order *test_change(const Ccpay__V1__Order *before) {
  Ccpay__V1__Order *after = arena_alloc(test_arena, sizeof *after);
  assert_non_null(after);
  *after = *before;
  return after;
}

typedef struct put_context {
  const Ccpay__V1__Order *before, *after;
  const Ccpay__V1__Invoice *invoice;
} put_context;

static ccpay_err put_execute(store_txn *txn, void *context, ccpay_error *error) {
  put_context *p = context;
  if (p->invoice != NULL) return invoices_put(txn, p->invoice, error);
  return orders_put(txn, p->before, p->after, error);
}

static ccpay_err test_put(store *s, const Ccpay__V1__Order *before, const Ccpay__V1__Order *after,
                          ccpay_error *error) {
  put_context p = {.before = before, .after = after};
  return store_fixture_write(s, put_execute, &p, error);
}

static void test_put_ok(store *s, const Ccpay__V1__Order *before, const Ccpay__V1__Order *after) {
  ccpay_error error;
  ccpay_err err = test_put(s, before, after, &error);
  if (err != CCPAY_OK) fprintf(stderr, "orders_put: %s\n", error.message);
  assert_int_equal(err, CCPAY_OK);
}

/* Pages through query with page size limit and checks the ids come out as expected, a
 * next_key with every page but the last. */
static void test_list(store *s, order_query query, unsigned limit, const uint64_t *expected,
                      size_t expected_count) {
  ccpay_error error;
  query.limit = limit;
  size_t seen = 0;
  for (unsigned pages = 0; pages <= TEST_IDS_MAX; pages++) {
    store_txn *txn = NULL;
    assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
    order_page page;
    ccpay_err err = orders_list(txn, &query, test_arena, &page, &error);
    store_read_end(txn);
    assert_int_equal(err, CCPAY_OK);
    assert_true(page.count <= limit);
    for (size_t i = 0; i < page.count; i++) {
      assert_true(seen < expected_count);
      uint64_t id = 0;
      assert_true(id_parse(ID_ORDER, page.orders[i]->id, &id));
      assert_int_equal(id, expected[seen]);
      seen++;
    }
    if (page.next_key == NULL) break;
    assert_int_equal(page.count, limit); /* only a full page says more follow */
    query.after_key = page.next_key;
    query.after_key_len = page.next_key_len;
  }
  assert_int_equal(seen, expected_count);
}

static void test_list_each_size(store *s, order_query query, const uint64_t *expected,
                                size_t expected_count) {
  for (unsigned limit = 1; limit <= 4; limit++)
    test_list(s, query, limit, expected, expected_count);
  test_list(s, query, PAGE_SIZE_MAX, expected, expected_count);
}

/* The whole database satisfies verify: the indexes match the records. */
static void test_verify_ok(store *s) {
  verify_report report;
  ccpay_error error;
  ccpay_err err = verify_store(s, &report, &error);
  if (err != CCPAY_OK) fprintf(stderr, "verify: %s\n", error.message);
  assert_int_equal(err, CCPAY_OK);
}

static ccpay_err customer_execute(store_txn *txn, void *context, ccpay_error *error) {
  return customers_put(txn, NULL, context, error);
}

/* Customer id, for orders to name (verify checks that they exist). */
static void test_put_customer(store *s, uint64_t id) {
  Ccpay__V1__Customer *c = arena_alloc(test_arena, sizeof *c);
  assert_non_null(c);
  ccpay__v1__customer__init(c);
  c->id = test_records_id(test_arena, ID_CUSTOMER, id);
  c->name = arena_printf(test_arena, "Customer %llu", (unsigned long long)id);
  c->currency_code = "USD";
  ccpay_error error;
  assert_int_equal(store_fixture_write(s, customer_execute, c, &error), CCPAY_OK);
}

/* --- Records ------------------------------------------------------------------------------ */

static void test_put_get(void **state) {
  store_fixture *f = *state;
  Ccpay__V1__Order *o = test_order(7, 3, OPEN, NULL);
  test_put_ok(f->s, NULL, o);
  ccpay_error error;
  assert_int_equal(store_fixture_reopen(f, &error), CCPAY_OK); /* durable */

  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  Ccpay__V1__Order *got = NULL;
  assert_int_equal(orders_get(txn, 7, test_arena, &got, &error), CCPAY_OK);
  assert_string_equal(got->id, o->id);
  assert_string_equal(got->customer_id, o->customer_id);
  assert_string_equal(got->source_code, "CAT1");
  assert_int_equal(got->status, OPEN);
  assert_null(got->hold);
  assert_int_equal(orders_get(txn, 8, test_arena, &got, &error), CCPAY_ERR_NOT_FOUND);
  assert_non_null(strstr(error.message, "ord_"));
  store_read_end(txn);
}

static void test_new_order_twice_refused(void **state) {
  store_fixture *f = *state;
  Ccpay__V1__Order *o = test_order(7, 3, OPEN, NULL);
  test_put_ok(f->s, NULL, o);
  ccpay_error error;
  assert_int_equal(test_put(f->s, NULL, test_order(7, 4, SUBMITTED, NULL), &error),
                   CCPAY_ERR_INTERNAL);
  assert_non_null(strstr(error.message, "already exists"));
  /* The refused command changed nothing. */
  order_query q = {.by = ORDER_LIST_STATUS, .status = SUBMITTED};
  test_list(f->s, q, 10, NULL, 0);
  q.status = OPEN;
  test_list(f->s, q, 10, (uint64_t[]){7}, 1);
}

/* --- Listings ------------------------------------------------------------------------------ */

/* Orders 1..8 over three customers, three statuses and two hold codes, one a prefix of
 * the other. */
static void test_put_sample(store *s) {
  static const struct {
    uint64_t customer;
    Ccpay__V1__OrderStatus status;
    const char *hold;
  } sample[] = {
      {1, OPEN, NULL},      {2, OPEN, "FRAUD"}, {1, SUBMITTED, NULL},    {3, OPEN, "FRAUD_REVIEW"},
      {1, CANCELLED, NULL}, {2, OPEN, "FRAUD"}, {1, SUBMITTED, "FRAUD"}, {2, OPEN, ""},
  };
  for (uint64_t id = 1; id <= 3; id++) test_put_customer(s, id);
  for (size_t i = 0; i < sizeof sample / sizeof sample[0]; i++) {
    test_put_ok(s, NULL, test_order(i + 1, sample[i].customer, sample[i].status, sample[i].hold));
  }
}

static void test_list_all(void **state) {
  store_fixture *f = *state;
  test_put_sample(f->s);
  order_query q = {.by = ORDER_LIST_ALL};
  test_list_each_size(f->s, q, (uint64_t[]){8, 7, 6, 5, 4, 3, 2, 1}, 8);
  test_verify_ok(f->s);
}

static void test_list_by_status(void **state) {
  store_fixture *f = *state;
  test_put_sample(f->s);
  order_query q = {.by = ORDER_LIST_STATUS, .status = OPEN};
  test_list_each_size(f->s, q, (uint64_t[]){8, 6, 4, 2, 1}, 5);
  q.status = SUBMITTED;
  test_list_each_size(f->s, q, (uint64_t[]){7, 3}, 2);
  q.status = CANCELLED;
  test_list_each_size(f->s, q, (uint64_t[]){5}, 1);
  q.status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED;
  test_list_each_size(f->s, q, NULL, 0);
}

static void test_list_by_customer(void **state) {
  store_fixture *f = *state;
  test_put_sample(f->s);
  order_query q = {.by = ORDER_LIST_CUSTOMER, .customer_id = 1};
  test_list_each_size(f->s, q, (uint64_t[]){7, 5, 3, 1}, 4);
  q.customer_id = 2;
  test_list_each_size(f->s, q, (uint64_t[]){8, 6, 2}, 3);
  q.customer_id = 9;
  test_list_each_size(f->s, q, NULL, 0);
}

static void test_list_by_hold(void **state) {
  store_fixture *f = *state;
  test_put_sample(f->s);
  /* "FRAUD" does not match "FRAUD_REVIEW"; an empty code is no hold. */
  order_query q = {.by = ORDER_LIST_HOLD_CODE, .hold_code = "FRAUD"};
  test_list_each_size(f->s, q, (uint64_t[]){7, 6, 2}, 3);
  q.hold_code = "FRAUD_REVIEW";
  test_list_each_size(f->s, q, (uint64_t[]){4}, 1);
  q.hold_code = "FRAUD_";
  test_list_each_size(f->s, q, NULL, 0);
}

static void test_page_token_of_another_listing(void **state) {
  store_fixture *f = *state;
  test_put_sample(f->s);
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  order_query q = {.by = ORDER_LIST_STATUS, .status = OPEN, .limit = 1};
  order_page page;
  assert_int_equal(orders_list(txn, &q, test_arena, &page, &error), CCPAY_OK);
  assert_non_null(page.next_key);
  const uint8_t *token = page.next_key; /* in the arena: outlives page */
  order_query other = {.by = ORDER_LIST_CUSTOMER,
                       .customer_id = 1,
                       .limit = 1,
                       .after_key = token,
                       .after_key_len = page.next_key_len};
  assert_int_equal(orders_list(txn, &other, test_arena, &page, &error), CCPAY_ERR_FIELD_INVALID);
  other = (order_query){.by = ORDER_LIST_STATUS, /* the right listing, a cut token */
                        .status = OPEN,
                        .limit = 1,
                        .after_key = token,
                        .after_key_len = 3};
  assert_int_equal(orders_list(txn, &other, test_arena, &page, &error), CCPAY_ERR_FIELD_INVALID);
  store_read_end(txn);
}

/* --- Changes move index entries ---------------------------------------------------------- */

static void test_status_change_moves_index(void **state) {
  store_fixture *f = *state;
  test_put_customer(f->s, 5);
  Ccpay__V1__Order *v1 = test_order(1, 5, OPEN, NULL);
  test_put_ok(f->s, NULL, v1);
  test_put_ok(f->s, NULL, test_order(2, 5, OPEN, NULL));
  Ccpay__V1__Order *v2 = test_change(v1);
  v2->status = SUBMITTED;
  test_put_ok(f->s, v1, v2);

  order_query q = {.by = ORDER_LIST_STATUS, .status = OPEN};
  test_list(f->s, q, 10, (uint64_t[]){2}, 1);
  q.status = SUBMITTED;
  test_list(f->s, q, 10, (uint64_t[]){1}, 1);
  q = (order_query){.by = ORDER_LIST_CUSTOMER, .customer_id = 5}; /* unchanged */
  test_list(f->s, q, 10, (uint64_t[]){2, 1}, 2);

  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  Ccpay__V1__Order *got = NULL;
  assert_int_equal(orders_get(txn, 1, test_arena, &got, &error), CCPAY_OK);
  assert_int_equal(got->status, SUBMITTED);
  store_read_end(txn);
  test_verify_ok(f->s);
}

static void test_hold_moves_index(void **state) {
  store_fixture *f = *state;
  test_put_customer(f->s, 5);
  Ccpay__V1__Order *open = test_order(1, 5, OPEN, NULL);
  test_put_ok(f->s, NULL, open);
  order_query fraud = {.by = ORDER_LIST_HOLD_CODE, .hold_code = "FRAUD_REVIEW"};
  order_query payment = {.by = ORDER_LIST_HOLD_CODE, .hold_code = "PAYMENT_PENDING"};
  test_list(f->s, fraud, 10, NULL, 0);

  Ccpay__V1__Order *held = test_order(1, 5, OPEN, "FRAUD_REVIEW");
  test_put_ok(f->s, open, held);
  test_list(f->s, fraud, 10, (uint64_t[]){1}, 1);

  Ccpay__V1__Order *moved = test_order(1, 5, OPEN, "PAYMENT_PENDING");
  test_put_ok(f->s, held, moved);
  test_list(f->s, fraud, 10, NULL, 0);
  test_list(f->s, payment, 10, (uint64_t[]){1}, 1);

  Ccpay__V1__Order *same = test_order(1, 5, SUBMITTED, "PAYMENT_PENDING"); /* code kept */
  test_put_ok(f->s, moved, same);
  test_list(f->s, payment, 10, (uint64_t[]){1}, 1);

  Ccpay__V1__Order *released = test_order(1, 5, SUBMITTED, NULL);
  test_put_ok(f->s, same, released);
  test_list(f->s, payment, 10, NULL, 0);
  order_query all = {.by = ORDER_LIST_ALL};
  test_list(f->s, all, 10, (uint64_t[]){1}, 1);
  test_verify_ok(f->s);
}

/* --- Invoices ------------------------------------------------------------------------------ */

static Ccpay__V1__Invoice *test_invoice(uint64_t id, uint64_t order) {
  Ccpay__V1__Invoice *inv = arena_alloc(test_arena, sizeof *inv);
  assert_non_null(inv);
  ccpay__v1__invoice__init(inv);
  inv->id = test_records_id(test_arena, ID_INVOICE, id);
  inv->order_id = test_records_id(test_arena, ID_ORDER, order);
  inv->customer_id = test_records_id(test_arena, ID_CUSTOMER, 1);
  inv->currency_code = "USD";
  inv->entry_sequence = 0;
  return inv;
}

static void test_invoices(void **state) {
  store_fixture *f = *state;
  ccpay_error error;
  put_context p = {.invoice = test_invoice(11, 7)};
  assert_int_equal(store_fixture_write(f->s, put_execute, &p, &error), CCPAY_OK);
  /* Invoices are written once. */
  assert_int_equal(store_fixture_write(f->s, put_execute, &p, &error), CCPAY_ERR_INTERNAL);

  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  Ccpay__V1__Invoice *got = NULL;
  assert_int_equal(invoices_get(txn, 11, test_arena, &got, &error), CCPAY_OK);
  assert_string_equal(got->id, p.invoice->id);
  assert_string_equal(got->order_id, p.invoice->order_id);
  assert_int_equal(invoices_get(txn, 12, test_arena, &got, &error), CCPAY_ERR_NOT_FOUND);
  assert_non_null(strstr(error.message, "inv_"));
  store_read_end(txn);
}

/* verify reads orders as orders_put writes them; an order of a customer that does not
 * exist is a violation (tests/integration/test_verify covers the rest). */
static void test_verify_sees_orders(void **state) {
  store_fixture *f = *state;
  test_put_customer(f->s, 5);
  test_put_ok(f->s, NULL, test_order(1, 5, OPEN, "FRAUD"));
  verify_report report;
  ccpay_error error;
  assert_int_equal(verify_store(f->s, &report, &error), CCPAY_OK);
  assert_int_equal(report.orders, 1);
  assert_int_equal(report.customers, 1);
  assert_int_equal(report.index_entries, 3 + 1); /* status, customer, hold; a name */
  test_put_ok(f->s, NULL, test_order(2, 6, OPEN, NULL));
  assert_int_equal(verify_store(f->s, &report, &error), CCPAY_ERR_INTERNAL);
  assert_non_null(strstr(error.message, "which does not exist"));
}

#define ORDERS_TEST(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      ORDERS_TEST(test_put_get),
      ORDERS_TEST(test_new_order_twice_refused),
      ORDERS_TEST(test_list_all),
      ORDERS_TEST(test_list_by_status),
      ORDERS_TEST(test_list_by_customer),
      ORDERS_TEST(test_list_by_hold),
      ORDERS_TEST(test_page_token_of_another_listing),
      ORDERS_TEST(test_status_change_moves_index),
      ORDERS_TEST(test_hold_moves_index),
      ORDERS_TEST(test_invoices),
      ORDERS_TEST(test_verify_sees_orders),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
