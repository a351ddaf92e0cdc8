/* Ledger storage: sequences, balances, posting lists, overflow refusal, paging through
 * entries and postings, the trial balance rows, and the writer's commit listener. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/limits.h"
#include "storage/ledger.h"
#include "storage/store.h"
#include "storage/verify.h"
#include "store_fixture.h"

enum { TEST_ARENA_BYTES = 4 << 20, TEST_POSTINGS_MAX = 8 };

static const store_fixture_options test_options = {.name = "ledger"};

static arena *test_arena;

static int test_setup(void **state) {
  test_arena = arena_create(TEST_ARENA_BYTES);
  return test_arena != NULL ? store_fixture_setup(state, &test_options) : -1;
}

static int test_teardown(void **state) {
  arena_destroy(test_arena);
  test_arena = NULL;
  return store_fixture_teardown(state);
}

typedef struct test_posting {
  const char *account;
  const char *currency_code;
  int64_t amount;
} test_posting;

static Ccpay__V1__JournalEntry *test_entry(const test_posting *postings, size_t count) {
  assert_true(count <= TEST_POSTINGS_MAX);
  Ccpay__V1__JournalEntry *e = arena_alloc(test_arena, sizeof *e);
  Ccpay__V1__Posting **list = arena_alloc(test_arena, count * sizeof *list);
  assert_true(e != NULL && list != NULL);
  ccpay__v1__journal_entry__init(e);
  e->kind = "TEST";
  for (size_t i = 0; i < count; i++) {
    Ccpay__V1__Posting *p = arena_alloc(test_arena, sizeof *p);
    Ccpay__V1__Money *m = arena_alloc(test_arena, sizeof *m);
    assert_true(p != NULL && m != NULL);
    ccpay__v1__posting__init(p);
    ccpay__v1__money__init(m);
    p->account = (char *)postings[i].account;
    m->currency_code = (char *)postings[i].currency_code;
    m->amount_minor = postings[i].amount;
    p->amount = m;
    list[i] = p;
  }
  e->postings = list;
  e->n_postings = count;
  return e;
}

/* Appends in a command that commits whatever ledger_append did, even when it refused:
 * what it wrote on a refusal would then show. */
typedef struct append_context {
  Ccpay__V1__JournalEntry *entry;
  ccpay_err result;
  ccpay_error error;
} append_context;

static ccpay_err append_execute(store_txn *txn, void *context, ccpay_error *error) {
  append_context *a = context;
  a->result = ledger_append(txn, a->entry, &a->error);
  (void)error;
  return CCPAY_OK;
}

static ccpay_err test_append(store *s, const test_posting *postings, size_t count,
                             append_context *out) {
  *out = (append_context){.entry = test_entry(postings, count)};
  ccpay_error error;
  assert_int_equal(store_fixture_write(s, append_execute, out, &error), CCPAY_OK);
  return out->result;
}

#define TEST_APPEND(s, ...)                                                                  \
  do {                                                                                       \
    const test_posting postings_[] = {__VA_ARGS__};                                          \
    append_context a_;                                                                       \
    ccpay_err err_ = test_append(s, postings_, sizeof postings_ / sizeof postings_[0], &a_); \
    if (err_ != CCPAY_OK) fprintf(stderr, "ledger_append: %s\n", a_.error.message);          \
    assert_int_equal(err_, CCPAY_OK);                                                        \
  } while (0)

static int64_t test_balance(store *s, const char *account, const char *currency_code) {
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
  int64_t balance = -1;
  assert_int_equal(ledger_balance(txn, account, currency_code, &balance, &error), CCPAY_OK);
  store_read_end(txn);
  return balance;
}

static uint64_t test_last_sequence(store *s) {
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
  uint64_t last = UINT64_MAX;
  assert_int_equal(ledger_last_sequence(txn, &last, &error), CCPAY_OK);
  store_read_end(txn);
  return last;
}

static void test_verify_ok(store *s, uint64_t entries, uint64_t accounts) {
  verify_report report;
  ccpay_error error;
  ccpay_err err = verify_store(s, &report, &error);
  if (err != CCPAY_OK) fprintf(stderr, "verify: %s\n", error.message);
  assert_int_equal(err, CCPAY_OK);
  assert_int_equal(report.entries, entries);
  assert_int_equal(report.accounts, accounts);
}

/* Pages through an account's postings, checking (sequence, amount) pairs newest first. */
static void test_postings(store *s, const char *account, const char *currency_code, unsigned limit,
                          const ledger_posting_row *expected, size_t count) {
  ccpay_error error;
  const uint8_t *after = NULL;
  size_t after_len = 0, seen = 0;
  for (unsigned pages = 0; pages <= count + 1; pages++) {
    store_txn *txn = NULL;
    assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
    ledger_posting_page page;
    assert_int_equal(ledger_account_postings(txn, account, currency_code, after, after_len, limit,
                                             test_arena, &page, &error),
                     CCPAY_OK);
    store_read_end(txn);
    assert_true(page.count <= limit);
    for (size_t i = 0; i < page.count; i++, seen++) {
      assert_true(seen < count);
      assert_int_equal(page.rows[i].sequence, expected[seen].sequence);
      assert_int_equal(page.rows[i].amount, expected[seen].amount);
    }
    if (page.next_key == NULL) break;
    assert_int_equal(page.count, limit);
    after = page.next_key;
    after_len = page.next_key_len;
  }
  assert_int_equal(seen, count);
}

/* --- Appending ---------------------------------------------------------------------------- */

static void test_sequences_from_one(void **state) {
  store_fixture *f = *state;
  assert_int_equal(test_last_sequence(f->s), 0);
  for (int64_t i = 1; i <= 3; i++) {
    append_context a;
    const test_posting p[] = {{"cash", "USD", 100 * i}, {"revenue", "USD", -100 * i}};
    assert_int_equal(test_append(f->s, p, 2, &a), CCPAY_OK);
    assert_int_equal(a.entry->sequence, i);
    assert_int_equal(test_last_sequence(f->s), (uint64_t)i);
  }
  ccpay_error error;
  assert_int_equal(store_fixture_reopen(f, &error), CCPAY_OK);
  assert_int_equal(test_last_sequence(f->s), 3);
  assert_int_equal(test_balance(f->s, "cash", "USD"), 600);
  assert_int_equal(test_balance(f->s, "revenue", "USD"), -600);
  test_verify_ok(f->s, 3, 2);
}

static void test_balances_per_currency(void **state) {
  store_fixture *f = *state;
  TEST_APPEND(f->s, {"receivable:cus_1", "USD", 1082}, {"revenue", "USD", -1000},
              {"tax_payable", "USD", -82});
  TEST_APPEND(f->s, {"receivable:cus_1", "EUR", 500}, {"revenue", "EUR", -500});
  TEST_APPEND(f->s, {"cash", "USD", 1082}, {"receivable:cus_1", "USD", -1082});
  assert_int_equal(test_balance(f->s, "receivable:cus_1", "USD"), 0);
  assert_int_equal(test_balance(f->s, "receivable:cus_1", "EUR"), 500);
  assert_int_equal(test_balance(f->s, "revenue", "USD"), -1000);
  assert_int_equal(test_balance(f->s, "tax_payable", "USD"), -82);
  assert_int_equal(test_balance(f->s, "cash", "USD"), 1082);
  assert_int_equal(test_balance(f->s, "cash", "EUR"), 0);   /* never moved */
  assert_int_equal(test_balance(f->s, "nobody", "JPY"), 0); /* never existed */
  test_postings(f->s, "receivable:cus_1", "USD", 10, (ledger_posting_row[]){{3, -1082}, {1, 1082}},
                2);
  test_postings(f->s, "receivable:cus_1", "EUR", 10, (ledger_posting_row[]){{2, 500}}, 1);
  test_postings(f->s, "cash", "EUR", 10, NULL, 0);
  test_verify_ok(f->s, 3, 6);
}

/* Both postings move the balance; the posting list keeps one row per entry with their
 * sum (ledger.h). */
static void test_two_postings_to_one_account(void **state) {
  store_fixture *f = *state;
  TEST_APPEND(f->s, {"cash", "USD", 30}, {"revenue", "USD", -50}, {"cash", "USD", 20});
  TEST_APPEND(f->s, {"cash", "USD", -5}, {"cash", "USD", 5}, {"fees", "USD", 1},
              {"cash", "USD", -1});
  assert_int_equal(test_balance(f->s, "cash", "USD"), 49);
  test_postings(f->s, "cash", "USD", 10, (ledger_posting_row[]){{2, -1}, {1, 50}}, 2);
  test_postings(f->s, "fees", "USD", 10, (ledger_posting_row[]){{2, 1}}, 1);
  test_verify_ok(f->s, 2, 3);
}

static void test_overflow_refused(void **state) {
  store_fixture *f = *state;
  TEST_APPEND(f->s, {"big_asset", "USD", INT64_MAX - 10}, {"big_equity", "USD", -(INT64_MAX - 10)});
  append_context a;
  const test_posting more[] = {{"big_asset", "USD", 20}, {"big_equity", "USD", -20}};
  assert_int_equal(test_append(f->s, more, 2, &a), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_non_null(strstr(a.error.message, "big_asset"));
  assert_int_equal(a.entry->sequence, 0);
  /* The command committed; ledger_append itself wrote nothing. */
  assert_int_equal(test_last_sequence(f->s), 1);
  assert_int_equal(test_balance(f->s, "big_asset", "USD"), INT64_MAX - 10);
  assert_int_equal(test_balance(f->s, "big_equity", "USD"), -(INT64_MAX - 10));
  test_postings(f->s, "big_asset", "USD", 10, (ledger_posting_row[]){{1, INT64_MAX - 10}}, 1);

  /* Within one entry: two postings to one account that overflow together. */
  const test_posting within[] = {
      {"x", "USD", INT64_MAX}, {"y", "USD", -INT64_MAX}, {"x", "USD", 1}, {"y", "USD", -1}};
  assert_int_equal(test_append(f->s, within, 4, &a), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_non_null(strstr(a.error.message, "account x"));
  assert_int_equal(test_last_sequence(f->s), 1);
  assert_int_equal(test_balance(f->s, "x", "USD"), 0);
  test_verify_ok(f->s, 1, 2);
}

/* --- Reading ------------------------------------------------------------------------------ */

static void test_entries_paging(void **state) {
  store_fixture *f = *state;
  for (int i = 1; i <= 5; i++) TEST_APPEND(f->s, {"cash", "USD", i}, {"revenue", "USD", -i});
  static const struct {
    uint64_t after;
    unsigned limit;
    uint64_t first;
    size_t count;
  } cases[] = {{0, 2, 1, 2},  {2, 2, 3, 2}, {4, 2, 5, 1},          {5, 2, 0, 0},
               {0, 10, 1, 5}, {3, 1, 4, 1}, {UINT64_MAX, 3, 0, 0}, {INT64_MAX, 3, 0, 0}};
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    Ccpay__V1__JournalEntry **entries = NULL;
    size_t count = 99;
    assert_int_equal(
        ledger_entries(txn, cases[c].after, cases[c].limit, test_arena, &entries, &count, &error),
        CCPAY_OK);
    assert_int_equal(count, cases[c].count);
    for (size_t i = 0; i < count; i++) {
      assert_int_equal(entries[i]->sequence, cases[c].first + i);
      assert_int_equal(entries[i]->n_postings, 2);
      assert_int_equal(entries[i]->postings[0]->amount->amount_minor,
                       (int64_t)(cases[c].first + i));
      assert_string_equal(entries[i]->kind, "TEST");
    }
  }
  store_read_end(txn);
}

static void test_all_balances_sorted(void **state) {
  store_fixture *f = *state;
  TEST_APPEND(f->s, {"b", "USD", 1}, {"a:x", "USD", -1});
  TEST_APPEND(f->s, {"cash", "EUR", 7}, {"a", "EUR", -7});
  TEST_APPEND(f->s, {"a", "USD", 3}, {"b", "USD", -3});
  TEST_APPEND(f->s, {"cash", "CHF", 2}, {"a", "CHF", -2});
  static const struct {
    const char *account, *currency_code;
    int64_t balance;
  } expected[] = {{"a", "CHF", -2}, {"a", "EUR", -7},   {"a", "USD", 3},   {"a:x", "USD", -1},
                  {"b", "USD", -2}, {"cash", "CHF", 2}, {"cash", "EUR", 7}};
  size_t expected_count = sizeof expected / sizeof expected[0];

  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  ledger_balance_row *rows = NULL;
  size_t count = 0;
  assert_int_equal(ledger_all_balances(txn, test_arena, &rows, &count, &error), CCPAY_OK);
  store_read_end(txn);
  assert_int_equal(count, expected_count);
  for (size_t i = 0; i < count; i++) {
    assert_string_equal(rows[i].account, expected[i].account);
    assert_string_equal(rows[i].currency_code, expected[i].currency_code);
    assert_int_equal(rows[i].balance, expected[i].balance);
  }
  test_verify_ok(f->s, 4, expected_count);
}

static void test_all_balances_empty(void **state) {
  store_fixture *f = *state;
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  ledger_balance_row *rows = NULL;
  size_t count = 99;
  assert_int_equal(ledger_all_balances(txn, test_arena, &rows, &count, &error), CCPAY_OK);
  store_read_end(txn);
  assert_int_equal(count, 0);
  test_verify_ok(f->s, 0, 0);
}

static void test_account_postings_paging(void **state) {
  store_fixture *f = *state;
  for (int i = 1; i <= 5; i++) {
    TEST_APPEND(f->s, {"cash", "USD", 10 * i}, {"revenue", "USD", -10 * i});
    TEST_APPEND(f->s, {"cash_usd", "USD", i}, {"revenue", "USD", -i}); /* "cash" is a prefix */
  }
  const ledger_posting_row cash[] = {{9, 50}, {7, 40}, {5, 30}, {3, 20}, {1, 10}};
  for (unsigned limit = 1; limit <= 6; limit++) test_postings(f->s, "cash", "USD", limit, cash, 5);
  const ledger_posting_row cash_usd[] = {{10, 5}, {8, 4}, {6, 3}, {4, 2}, {2, 1}};
  test_postings(f->s, "cash_usd", "USD", 2, cash_usd, 5);

  /* A token from another account's list is refused. */
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  ledger_posting_page page;
  assert_int_equal(
      ledger_account_postings(txn, "cash", "USD", NULL, 0, 1, test_arena, &page, &error), CCPAY_OK);
  assert_non_null(page.next_key);
  assert_int_equal(ledger_account_postings(txn, "cash_usd", "USD", page.next_key, page.next_key_len,
                                           1, test_arena, &page, &error),
                   CCPAY_ERR_FIELD_INVALID);
  store_read_end(txn);
}

/* --- The commit listener ------------------------------------------------------------------ */

static atomic_uint listener_calls;

static void count_commit(void *context) {
  assert_ptr_equal(context, &listener_calls);
  atomic_fetch_add(&listener_calls, 1);
}

/* A command whose done callback notes how many commits the listener had seen. */
typedef struct noted_write {
  store_write w;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool done;
  unsigned calls_at_done;
} noted_write;

static ccpay_err noted_execute(store_txn *txn, store_write *w) {
  (void)txn;
  (void)w;
  return CCPAY_OK;
}

static void noted_done(store_write *w) {
  noted_write *n = w->context;
  pthread_mutex_lock(&n->mutex);
  n->calls_at_done = atomic_load(&listener_calls);
  n->done = true;
  pthread_cond_signal(&n->cond);
  pthread_mutex_unlock(&n->mutex);
}

static unsigned test_noted_write(store *s) {
  noted_write n = {.done = false};
  n.w = (store_write){.execute = noted_execute, .done = noted_done, .context = &n};
  pthread_mutex_init(&n.mutex, NULL);
  pthread_cond_init(&n.cond, NULL);
  store_write_submit(s, &n.w);
  pthread_mutex_lock(&n.mutex);
  while (!n.done) pthread_cond_wait(&n.cond, &n.mutex);
  pthread_mutex_unlock(&n.mutex);
  pthread_cond_destroy(&n.cond);
  pthread_mutex_destroy(&n.mutex);
  assert_int_equal(n.w.result, CCPAY_OK);
  return n.calls_at_done;
}

static void test_commit_listener(void **state) {
  store_fixture *f = *state;
  atomic_store(&listener_calls, 0);
  store_set_commit_listener(f->s, count_commit, &listener_calls);
  /* Synchronous writes: one batch each, and the listener runs before done. */
  for (unsigned i = 1; i <= 3; i++) assert_int_equal(test_noted_write(f->s), i);
  TEST_APPEND(f->s, {"cash", "USD", 1}, {"revenue", "USD", -1});
  store_stats stats;
  store_get_stats(f->s, &stats);
  assert_int_equal(stats.batches_committed, 4);
  assert_int_equal(atomic_load(&listener_calls), stats.batches_committed);
}

#define LEDGER_TEST(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      LEDGER_TEST(test_sequences_from_one),
      LEDGER_TEST(test_balances_per_currency),
      LEDGER_TEST(test_two_postings_to_one_account),
      LEDGER_TEST(test_overflow_refused),
      LEDGER_TEST(test_entries_paging),
      LEDGER_TEST(test_all_balances_sorted),
      LEDGER_TEST(test_all_balances_empty),
      LEDGER_TEST(test_account_postings_paging),
      LEDGER_TEST(test_commit_listener),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
