/* Ids: text format, parsing, and strictly increasing generation across restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "storage/ids.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "store_fixture.h"

/* Each storage test gets its own store on a data dir under /tmp, removed after it. */
static int setup(void **state) {
  return store_fixture_setup(state, &(store_fixture_options){.name = "ids"});
}

/* --- Format and parse ------------------------------------------------------------------- */

static uint64_t test_random(uint64_t *seed) {
  /* xorshift64*: a fixed seed, so a failure replays. */
  *seed ^= *seed >> 12;
  *seed ^= *seed << 25;
  *seed ^= *seed >> 27;
  return *seed * 2685821657736338717ULL;
}

static void test_format(void **state) {
  (void)state;
  char text[ID_TEXT_BYTES_MAX];
  id_format(ID_CUSTOMER, 1, text);
  assert_string_equal(text, "cus_0000000000001");
  id_format(ID_ENTRY, 32, text);
  assert_string_equal(text, "je_0000000000010");
  id_format(ID_ORDER, UINT64_MAX, text);
  assert_string_equal(text, "ord_FZZZZZZZZZZZZ");
  const char *prefixes[ID_KIND_COUNT] = {"cus", "ord", "pay", "txn", "rma",
                                         "inv", "je",  "rck", "tok"};
  for (int kind = 0; kind < ID_KIND_COUNT; kind++) {
    assert_string_equal(id_prefix((id_kind)kind), prefixes[kind]);
  }
}

static void test_round_trip_and_order(void **state) {
  (void)state;
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 10000; i++) {
    uint64_t a = test_random(&seed) >> (i % 64);
    uint64_t b = test_random(&seed) >> (i % 61);
    if (a == 0 || b == 0 || a == b) continue;
    char text_a[ID_TEXT_BYTES_MAX], text_b[ID_TEXT_BYTES_MAX];
    id_format(ID_PAYMENT, a, text_a);
    id_format(ID_PAYMENT, b, text_b);
    assert_int_equal(strlen(text_a), 4 + 13);
    uint64_t parsed = 0;
    assert_true(id_parse(ID_PAYMENT, text_a, &parsed));
    assert_true(parsed == a);
    /* Text order is numeric order. */
    assert_true((strcmp(text_a, text_b) < 0) == (a < b));
  }
}

static void test_parse_rejects(void **state) {
  (void)state;
  uint64_t value = 0;
  assert_true(id_parse(ID_CUSTOMER, "cus_0GBJ5Z8W1Q2M4", &value));
  uint64_t lower = 0;
  assert_true(id_parse(ID_CUSTOMER, "cus_0gbj5z8w1q2m4", &lower)); /* lower case accepted */
  assert_true(lower == value);

  const char *bad[] = {
      "ord_0GBJ5Z8W1Q2M4",  /* another kind */
      "CUS_0GBJ5Z8W1Q2M4",  /* the prefix is lower case */
      "cus0GBJ5Z8W1Q2M4",   /* no "_" */
      "cus-0GBJ5Z8W1Q2M4",  /* wrong separator */
      "cus_0GBJ5Z8W1Q2M",   /* 12 digits */
      "cus_0GBJ5Z8W1Q2M45", /* 14 digits */
      "cus_",               /* none */
      "",                   /* nothing */
      "cus_0GBJ5Z8W1Q2MI",  /* I is not a digit */
      "cus_0GBJ5Z8W1Q2ML",  /* nor L */
      "cus_0GBJ5Z8W1Q2MO",  /* nor O */
      "cus_0GBJ5Z8W1Q2MU",  /* nor U */
      "cus_0GBJ5Z8W1Q2M!",  /* nor punctuation */
      "cus_0GBJ5Z8W1Q2M ",  /* nor space */
      "cus_G000000000000",  /* 65 bits */
      "cus_0000000000000",  /* zero is never an id */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t out = 12345;
    assert_false(id_parse(ID_CUSTOMER, bad[i], &out));
    assert_true(out == 12345);
  }
}

/* --- Generation ---------------------------------------------------------------------------- */

typedef struct id_batch {
  unsigned count;
  uint64_t first;
  uint64_t last;
  bool fail; /* fail the command after generating, to check the rollback */
} id_batch;

static ccpay_err id_batch_execute(store_txn *txn, void *context, ccpay_error *error) {
  id_batch *b = context;
  uint64_t previous = 0;
  for (unsigned i = 0; i < b->count; i++) {
    uint64_t id = 0;
    ccpay_err err = id_next(txn, &id, error);
    if (err != CCPAY_OK) return err;
    if (id <= previous) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "not increasing");
    if (i == 0) b->first = id;
    previous = id;
  }
  b->last = previous;
  if (b->fail) return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "failing on purpose");
  return CCPAY_OK;
}

static void test_next_increasing_across_reopen(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  /* Many ids in one command: far more than one per ms, so the mark does the work. */
  id_batch b = {.count = 100000};
  int64_t before_ms = clock_wall_ms();
  assert_int_equal(store_fixture_write(env->s, id_batch_execute, &b, NULL), CCPAY_OK);
  assert_true(b.first >= (uint64_t)before_ms << 16);
  assert_true(b.last > b.first);
  uint64_t last = b.last;

  /* A failed command hands out nothing: the next ids still follow the committed ones. */
  id_batch failed = {.count = 10, .fail = true};
  assert_int_equal(store_fixture_write(env->s, id_batch_execute, &failed, NULL),
                   CCPAY_ERR_INVALID_STATE);

  for (int round = 0; round < 3; round++) {
    assert_int_equal(store_fixture_reopen(env, &error), CCPAY_OK);
    id_batch next = {.count = 1000};
    assert_int_equal(store_fixture_write(env->s, id_batch_execute, &next, NULL), CCPAY_OK);
    assert_true(next.first > last);
    last = next.last;
  }
}

typedef struct high_water {
  uint64_t mark;
  uint64_t id;
} high_water;

static ccpay_err high_water_set(store_txn *txn, void *context, ccpay_error *error) {
  high_water *h = context;
  uint8_t be[8];
  key_put_u64(be, h->mark);
  return store_put(txn, STORE_DB_META, "id_high_water", strlen("id_high_water"), be, sizeof be,
                   error);
}

static ccpay_err high_water_next(store_txn *txn, void *context, ccpay_error *error) {
  high_water *h = context;
  return id_next(txn, &h->id, error);
}

static void test_next_after_clock_step_back(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  /* A mark an hour ahead stands for a clock that has since stepped back. */
  high_water h = {.mark = (uint64_t)(clock_wall_ms() + 3600 * 1000) << 16};
  assert_int_equal(store_fixture_write(env->s, high_water_set, &h, NULL), CCPAY_OK);
  assert_int_equal(store_fixture_write(env->s, high_water_next, &h, NULL), CCPAY_OK);
  assert_true(h.id == h.mark + 1);
  assert_int_equal(store_fixture_reopen(env, &error), CCPAY_OK);
  uint64_t previous = h.id;
  assert_int_equal(store_fixture_write(env->s, high_water_next, &h, NULL), CCPAY_OK);
  assert_true(h.id == previous + 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_round_trip_and_order),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test_setup_teardown(test_next_increasing_across_reopen, setup,
                                      store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_next_after_clock_step_back, setup,
                                      store_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
