/* `ccpay-admin verify` as a real process on real databases: one built through the
 * storage API passes; then, one copy per kind of violation, each corrupted on purpose
 * through the storage API, fails with exit status 1 and a message naming the violation.
 * Also the usage errors: no data.mdb, a missing directory, --help. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "storage/customers.h"
#include "storage/idempotency.h"
#include "storage/ids.h"
#include "storage/keys.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/store.h"
#include "store_fixture.h"
#include "test_records.h"

#ifndef CCPAY_ADMIN_PATH
#error "CCPAY_ADMIN_PATH must name the ccpay-admin binary"
#endif

enum {
  TEST_ARENA_BYTES = 4 << 20,
  TEST_OUTPUT_BYTES = 8192,
  /* Ids of the sample database. */
  CUS_ANN = 1,
  CUS_BOB = 2,
  ORD_OPEN = 10,
  ORD_HELD = 11,
  ORD_INVOICED = 12,
  INV_FIRST = 20,
  ID_MISSING = 99,
};

static arena *test_arena;
static store_fixture *test_base; /* the sample database, closed; built once */

/* --- Running ccpay-admin ----------------------------------------------------------------- */

typedef struct admin_result {
  int status; /* the exit status; -1 when killed by a signal */
  char out[TEST_OUTPUT_BYTES];
  char err[TEST_OUTPUT_BYTES];
} admin_result;

/* Reads both pipes until both close, so neither side can block the child. */
static void admin_drain(int out_fd, int err_fd, admin_result *r) {
  struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
  char *bufs[2] = {r->out, r->err};
  size_t lens[2] = {0, 0};
  int open_count = 2;
  while (open_count > 0) {
    assert_true(poll(fds, 2, 30000) > 0);
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, bufs[i] + lens[i], TEST_OUTPUT_BYTES - 1 - lens[i]);
      if (n > 0) {
        lens[i] += (size_t)n;
        continue;
      }
      assert_true(n == 0 || errno == EINTR);
      if (n == 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_count--;
      }
    }
  }
  r->out[lens[0]] = '\0';
  r->err[lens[1]] = '\0';
}

/* Runs ccpay-admin with args (NULL-terminated after argv[0]) and waits for it. */
static void admin_run(admin_result *r, const char *const *args) {
  char *argv[8];
  size_t argc = 0;
  argv[argc++] = (char *)CCPAY_ADMIN_PATH;
  for (; args[argc - 1] != NULL; argc++) {
    assert_true(argc < sizeof argv / sizeof argv[0]);
    argv[argc] = (char *)args[argc - 1];
  }
  argv[argc] = NULL;
  int out_pipe[2], err_pipe[2];
  assert_int_equal(pipe(out_pipe), 0);
  assert_int_equal(pipe(err_pipe), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    close(out_pipe[0]), close(out_pipe[1]), close(err_pipe[0]), close(err_pipe[1]);
    execv(CCPAY_ADMIN_PATH, argv);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  admin_drain(out_pipe[0], err_pipe[0], r);
  int wstatus = 0;
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

static void admin_verify(const char *dir, admin_result *r) {
  admin_run(r, (const char *const[]){"verify", "--data-dir", dir, NULL});
}

/* --- The sample database ------------------------------------------------------------------ */

static Ccpay__V1__Invoice *sample_invoice(uint64_t id, uint64_t order, int64_t entry_sequence) {
  Ccpay__V1__Invoice *inv = arena_calloc(test_arena, sizeof *inv);
  assert_non_null(inv);
  ccpay__v1__invoice__init(inv);
  inv->id = test_records_id(test_arena, ID_INVOICE, id);
  inv->order_id = test_records_id(test_arena, ID_ORDER, order);
  inv->customer_id = test_records_id(test_arena, ID_CUSTOMER, CUS_BOB);
  inv->currency_code = "USD";
  inv->entry_sequence = entry_sequence;
  return inv;
}

typedef struct sample_posting {
  const char *account, *currency_code;
  int64_t amount;
} sample_posting;

static Ccpay__V1__JournalEntry *sample_entry(const sample_posting *postings, size_t count) {
  Ccpay__V1__JournalEntry *e = arena_calloc(test_arena, sizeof *e);
  Ccpay__V1__Posting **list = arena_calloc(test_arena, count * sizeof *list);
  assert_true(e != NULL && list != NULL);
  ccpay__v1__journal_entry__init(e);
  e->kind = "TEST";
  for (size_t i = 0; i < count; i++) {
    list[i] = arena_calloc(test_arena, sizeof *list[i]);
    Ccpay__V1__Money *m = arena_calloc(test_arena, sizeof *m);
    assert_true(list[i] != NULL && m != NULL);
    ccpay__v1__posting__init(list[i]);
    ccpay__v1__money__init(m);
    list[i]->account = (char *)postings[i].account;
    m->currency_code = (char *)postings[i].currency_code;
    m->amount_minor = postings[i].amount;
    list[i]->amount = m;
  }
  e->postings = list;
  e->n_postings = count;
  return e;
}

#define SAMPLE_ENTRY(...)                             \
  sample_entry((const sample_posting[]){__VA_ARGS__}, \
               sizeof((const sample_posting[]){__VA_ARGS__}) / sizeof(sample_posting))

static ccpay_err sample_people(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  ccpay_err err = customers_put(
      txn, NULL,
      test_records_customer(test_arena, CUS_ANN, "Ann Lee", "ann@example.com", "+1 555 010 0000"),
      error);
  if (err == CCPAY_OK) {
    err = customers_put(txn, NULL, test_records_customer(test_arena, CUS_BOB, "Bob Roe", "", ""),
                        error);
  }
  if (err == CCPAY_OK) {
    uint8_t hash[IDEMPOTENCY_HASH_BYTES];
    idempotency_hash("CreateCustomer", (const uint8_t *)"x", 1, hash);
    err = idempotency_record(txn, "req-1", hash, (const uint8_t *)"reply", 5, error);
  }
  return err;
}

static ccpay_err sample_orders(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Order *invoiced = test_records_order(
      test_arena, ORD_INVOICED, CUS_BOB, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED, NULL);
  char *invoice_ids[] = {test_records_id(test_arena, ID_INVOICE, INV_FIRST)};
  invoiced->invoice_ids = invoice_ids;
  invoiced->n_invoice_ids = 1;
  ccpay_err err = orders_put(txn, NULL,
                             test_records_order(test_arena, ORD_OPEN, CUS_ANN,
                                                CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN, NULL),
                             error);
  if (err == CCPAY_OK) {
    err = orders_put(
        txn, NULL,
        test_records_order(test_arena, ORD_HELD, CUS_ANN,
                           CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED, "FRAUD_REVIEW"),
        error);
  }
  if (err == CCPAY_OK) err = orders_put(txn, NULL, invoiced, error);
  return err;
}

static ccpay_err sample_ledger(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  ccpay_err err =
      ledger_append(txn,
                    SAMPLE_ENTRY({"receivable:cus_2", "USD", 1082}, {"revenue", "USD", -1000},
                                 {"tax_payable", "USD", -82}),
                    error);
  if (err == CCPAY_OK) err = invoices_put(txn, sample_invoice(INV_FIRST, ORD_INVOICED, 1), error);
  if (err == CCPAY_OK) {
    err = ledger_append(txn, SAMPLE_ENTRY({"cash", "USD", 500}, {"receivable:cus_2", "USD", -500}),
                        error);
  }
  if (err == CCPAY_OK) {
    err = ledger_append(
        txn, SAMPLE_ENTRY({"receivable:cus_1", "EUR", 300}, {"revenue", "EUR", -300}), error);
  }
  return err;
}

static void sample_write(store *s, store_fixture_write_fn fn) {
  ccpay_error error;
  ccpay_err err = store_fixture_write(s, fn, NULL, &error);
  if (err != CCPAY_OK) fprintf(stderr, "sample: %s\n", error.message);
  assert_int_equal(err, CCPAY_OK);
}

static int group_setup(void **state) {
  (void)state;
  test_arena = arena_create(TEST_ARENA_BYTES);
  ccpay_error error;
  store_fixture_options options = {.name = "verify"};
  if (test_arena == NULL || store_fixture_create(&options, &test_base, &error) != CCPAY_OK) {
    return -1;
  }
  sample_write(test_base->s, sample_people);
  sample_write(test_base->s, sample_orders);
  sample_write(test_base->s, sample_ledger);
  store_fixture_close(test_base); /* copies are taken of a closed database */
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  store_fixture_destroy(test_base);
  arena_destroy(test_arena);
  return 0;
}

/* --- Copies to corrupt -------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  assert_true(in >= 0 && out >= 0);
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    assert_true(n >= 0);
    if (n == 0) break;
    assert_int_equal(write(out, buf, (size_t)n), n);
  }
  close(in);
  assert_int_equal(close(out), 0);
}

/* A copy of the sample's data.mdb in a fresh directory, opened. */
static store_fixture *sample_copy(void) {
  store_fixture *f = NULL;
  ccpay_error error;
  store_fixture_options options = {.name = "verify-copy", .closed = true};
  assert_int_equal(store_fixture_create(&options, &f, &error), CCPAY_OK);
  char from[256], to[256];
  snprintf(from, sizeof from, "%s/data.mdb", test_base->dir);
  snprintf(to, sizeof to, "%s/data.mdb", f->dir);
  copy_file(from, to);
  assert_int_equal(store_fixture_open(f, &error), CCPAY_OK);
  return f;
}

/* Corrupts a copy with fn, runs verify on it, and expects a failure whose message holds
 * every one of the NULL-terminated texts. */
static void expect_violation(store_fixture_write_fn fn, ...) {
  store_fixture *f = sample_copy();
  ccpay_error error;
  ccpay_err err = store_fixture_write(f->s, fn, NULL, &error);
  if (err != CCPAY_OK) fprintf(stderr, "corrupting: %s\n", error.message);
  assert_int_equal(err, CCPAY_OK);
  store_fixture_close(f);

  admin_result r;
  admin_verify(f->dir, &r);
  fprintf(stderr, "  verify said: %s", r.err);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.err, "ccpay-admin: verify: "));
  va_list texts;
  va_start(texts, fn);
  for (const char *text = va_arg(texts, const char *); text != NULL;
       text = va_arg(texts, const char *)) {
    if (strstr(r.err, text) == NULL) fprintf(stderr, "  missing: %s\n", text);
    assert_non_null(strstr(r.err, text));
  }
  va_end(texts);
  assert_string_equal(r.out, "");
  store_fixture_destroy(f);
}

static void put_u64(store_txn *txn, store_db db, const void *key, size_t key_len, uint64_t value) {
  uint8_t be[8];
  key_put_u64(be, value);
  ccpay_error error;
  assert_int_equal(store_put(txn, db, key, key_len, be, sizeof be, &error), CCPAY_OK);
}

static void delete_key(store_txn *txn, store_db db, const void *key, size_t key_len) {
  ccpay_error error;
  assert_int_equal(store_delete(txn, db, key, key_len, &error), CCPAY_OK);
}

static void put_empty(store_txn *txn, store_db db, const key_builder *k) {
  ccpay_error error;
  assert_false(k->overflow);
  assert_int_equal(store_put(txn, db, k->bytes, k->len, "", 0, &error), CCPAY_OK);
}

static void entry_key(uint64_t sequence, uint8_t out[8]) { key_put_u64(out, sequence); }

/* --- The good database -------------------------------------------------------------------- */

static void test_sample_passes(void **state) {
  (void)state;
  admin_result r;
  admin_verify(test_base->dir, &r);
  if (r.status != 0) fprintf(stderr, "verify: %s", r.err);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out,
                      "ok: 3 entries, 6 accounts, 2 customers, 3 orders, 1 invoices, "
                      "19 index entries\n");
  assert_string_equal(r.err, "");
}

/* --- The ledger --------------------------------------------------------------------------- */

static ccpay_err corrupt_unbalanced(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__JournalEntry *e =
      SAMPLE_ENTRY({"cash", "USD", 500}, {"receivable:cus_2", "USD", -495});
  e->sequence = 2;
  uint8_t key[8];
  entry_key(2, key);
  return store_put_message(txn, STORE_DB_ENTRIES, key, sizeof key, &e->base, error);
}

static void test_unbalanced_entry(void **state) {
  (void)state;
  expect_violation(corrupt_unbalanced, "entry 2: postings sum to 5 in USD, not 0", NULL);
}

static ccpay_err corrupt_gap(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  uint8_t key[8];
  entry_key(2, key);
  delete_key(txn, STORE_DB_ENTRIES, key, sizeof key);
  return CCPAY_OK;
}

static void test_sequence_gap(void **state) {
  (void)state;
  expect_violation(corrupt_gap, "sequence 2 is missing", NULL);
}

static ccpay_err corrupt_last_sequence(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  put_u64(txn, STORE_DB_META, "ledger_sequence", strlen("ledger_sequence"), 4);
  return CCPAY_OK;
}

static void test_last_sequence_ahead(void **state) {
  (void)state;
  expect_violation(corrupt_last_sequence, "ledger_sequence is 4 but the entries end at 3", NULL);
}

static ccpay_err corrupt_balance(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  static const char key[] = "revenue\0USD";
  put_u64(txn, STORE_DB_ACCOUNT_BALANCES, key, sizeof key - 1, (uint64_t)(int64_t)-999);
  return CCPAY_OK;
}

static void test_balance_disagrees(void **state) {
  (void)state;
  expect_violation(corrupt_balance,
                   "account revenue in USD: the balance is -999, the postings sum to -1000", NULL);
}

static ccpay_err corrupt_balance_missing(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  static const char key[] = "cash\0USD";
  delete_key(txn, STORE_DB_ACCOUNT_BALANCES, key, sizeof key - 1);
  return CCPAY_OK;
}

static void test_balance_missing(void **state) {
  (void)state;
  expect_violation(corrupt_balance_missing, "account cash in USD has postings summing to 500",
                   "no balance", NULL);
}

static ccpay_err corrupt_posting_removed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  key_builder k;
  ledger_posting_key("cash", "USD", 2, &k);
  delete_key(txn, STORE_DB_ACCOUNT_POSTINGS, k.bytes, k.len);
  return CCPAY_OK;
}

static void test_posting_removed(void **state) {
  (void)state;
  expect_violation(corrupt_posting_removed, "entry 2: account_postings has no row for cash in USD",
                   NULL);
}

static ccpay_err corrupt_posting_extra(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  key_builder k;
  ledger_posting_key("cash", "USD", 1, &k); /* entry 1 does not touch cash */
  put_u64(txn, STORE_DB_ACCOUNT_POSTINGS, k.bytes, k.len, 0);
  return CCPAY_OK;
}

static void test_posting_extra(void **state) {
  (void)state;
  expect_violation(corrupt_posting_extra, "account_postings: a row for cash in USD at sequence 1",
                   NULL);
}

/* --- Customers ---------------------------------------------------------------------------- */

static ccpay_err corrupt_dangling_customer_entry(store_txn *txn, void *context,
                                                 ccpay_error *error) {
  (void)context, (void)error;
  key_builder k;
  key_init(&k);
  key_add_str(&k, "ghost@example.com");
  key_add_u64(&k, ~(uint64_t)ID_MISSING);
  put_empty(txn, STORE_DB_CUSTOMERS_BY_EMAIL, &k);
  return CCPAY_OK;
}

static void test_dangling_customer_entry(void **state) {
  (void)state;
  char id[ID_TEXT_BYTES_MAX];
  id_format(ID_CUSTOMER, ID_MISSING, id);
  expect_violation(corrupt_dangling_customer_entry, "customers_by_email: an entry names customer",
                   id, "does not exist", NULL);
}

static ccpay_err corrupt_customer_unindexed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  key_builder k;
  Ccpay__V1__Customer *ann =
      test_records_customer(test_arena, CUS_ANN, "Ann Lee", "ann@example.com", "+1 555 010 0000");
  assert_true(customers_index_key(ann, CUS_ANN, STORE_DB_CUSTOMERS_BY_PHONE, &k));
  delete_key(txn, STORE_DB_CUSTOMERS_BY_PHONE, k.bytes, k.len);
  return CCPAY_OK;
}

static void test_customer_unindexed(void **state) {
  (void)state;
  char id[ID_TEXT_BYTES_MAX];
  id_format(ID_CUSTOMER, CUS_ANN, id);
  expect_violation(corrupt_customer_unindexed, id, "has no entry in customers_by_phone", NULL);
}

static ccpay_err corrupt_customer_renamed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The record changes without its index: the old name's entry no longer matches. */
  Ccpay__V1__Customer *bob = test_records_customer(test_arena, CUS_BOB, "Robert Roe", "", "");
  uint8_t key[8];
  key_put_u64(key, CUS_BOB);
  return store_put_message(txn, STORE_DB_CUSTOMERS, key, sizeof key, &bob->base, error);
}

static void test_customer_renamed(void **state) {
  (void)state;
  expect_violation(corrupt_customer_renamed, "has no entry in customers_by_name", NULL);
}

/* --- Orders and invoices ------------------------------------------------------------------ */

static key_builder order_status_key(uint8_t status, uint64_t id) {
  key_builder k;
  key_init(&k);
  key_add_bytes(&k, &status, 1);
  key_add_u64(&k, ~id);
  return k;
}

static ccpay_err corrupt_status_extra(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  key_builder k = order_status_key(CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED, ORD_OPEN);
  put_empty(txn, STORE_DB_ORDERS_BY_STATUS, &k);
  return CCPAY_OK;
}

static void test_status_entry_wrong(void **state) {
  (void)state;
  char id[ID_TEXT_BYTES_MAX];
  id_format(ID_ORDER, ORD_OPEN, id);
  expect_violation(corrupt_status_extra, "orders_by_status: the entry for order", id,
                   "does not match its status", NULL);
}

static ccpay_err corrupt_status_moved(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  key_builder k = order_status_key(CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN, ORD_OPEN);
  delete_key(txn, STORE_DB_ORDERS_BY_STATUS, k.bytes, k.len);
  k = order_status_key(CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED, ORD_OPEN);
  put_empty(txn, STORE_DB_ORDERS_BY_STATUS, &k);
  return CCPAY_OK;
}

static void test_status_entry_moved(void **state) {
  (void)state;
  char id[ID_TEXT_BYTES_MAX];
  id_format(ID_ORDER, ORD_OPEN, id);
  expect_violation(corrupt_status_moved, id, "has no entry in orders_by_status", NULL);
}

static ccpay_err corrupt_hold_released(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The hold is released in the record only: the hold screen still shows the order. */
  Ccpay__V1__Order *held = test_records_order(
      test_arena, ORD_HELD, CUS_ANN, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED, NULL);
  uint8_t key[8];
  key_put_u64(key, ORD_HELD);
  return store_put_message(txn, STORE_DB_ORDERS, key, sizeof key, &held->base, error);
}

static void test_hold_entry_stale(void **state) {
  (void)state;
  expect_violation(corrupt_hold_released, "orders_by_hold: the entry for order",
                   "does not match its hold code", NULL);
}

static ccpay_err corrupt_customer_entry_missing(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  key_builder k;
  Ccpay__V1__Order *o = test_records_order(test_arena, ORD_INVOICED, CUS_BOB,
                                           CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED, NULL);
  assert_true(orders_index_key(o, ORD_INVOICED, STORE_DB_ORDERS_BY_CUSTOMER, &k));
  delete_key(txn, STORE_DB_ORDERS_BY_CUSTOMER, k.bytes, k.len);
  return CCPAY_OK;
}

static void test_order_customer_entry_missing(void **state) {
  (void)state;
  expect_violation(corrupt_customer_entry_missing, "has no entry in orders_by_customer", NULL);
}

static ccpay_err corrupt_invoice_orphan(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  return invoices_put(txn, sample_invoice(INV_FIRST + 1, ID_MISSING, 0), error);
}

static void test_invoice_names_missing_order(void **state) {
  (void)state;
  char invoice[ID_TEXT_BYTES_MAX], order[ID_TEXT_BYTES_MAX];
  id_format(ID_INVOICE, INV_FIRST + 1, invoice);
  id_format(ID_ORDER, ID_MISSING, order);
  expect_violation(corrupt_invoice_orphan, invoice, order, "which does not exist", NULL);
}

static ccpay_err corrupt_invoice_removed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  uint8_t key[8];
  key_put_u64(key, INV_FIRST);
  delete_key(txn, STORE_DB_INVOICES, key, sizeof key);
  return CCPAY_OK;
}

static void test_order_lists_missing_invoice(void **state) {
  (void)state;
  expect_violation(corrupt_invoice_removed, "lists invoice", "which does not exist", NULL);
}

/* --- Idempotency -------------------------------------------------------------------------- */

static ccpay_err corrupt_idempotency_unindexed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  store_val record;
  assert_int_equal(store_get(txn, STORE_DB_IDEMPOTENCY, "req-1", 5, &record, error), CCPAY_OK);
  key_builder k;
  assert_true(idempotency_time_key((const uint8_t *)"req-1", 5, record, &k));
  delete_key(txn, STORE_DB_IDEMPOTENCY_BY_TIME, k.bytes, k.len);
  return CCPAY_OK;
}

static void test_idempotency_unindexed(void **state) {
  (void)state;
  expect_violation(corrupt_idempotency_unindexed, "\"req-1\" has no entry in idempotency_by_time",
                   NULL);
}

/* --- Usage -------------------------------------------------------------------------------- */

static void test_no_database(void **state) {
  (void)state;
  store_fixture *f = NULL;
  ccpay_error error;
  store_fixture_options options = {.name = "verify-empty", .closed = true};
  assert_int_equal(store_fixture_create(&options, &f, &error), CCPAY_OK);
  admin_result r;
  admin_verify(f->dir, &r);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "no database"));
  struct stat st;
  char path[256];
  snprintf(path, sizeof path, "%s/data.mdb", f->dir);
  assert_int_not_equal(stat(path, &st), 0); /* nothing created */
  snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
  assert_int_not_equal(stat(path, &st), 0);

  snprintf(path, sizeof path, "%s/missing", f->dir);
  admin_verify(path, &r);
  assert_int_equal(r.status, 2);
  assert_int_not_equal(stat(path, &st), 0);
  store_fixture_destroy(f);
}

static void test_usage(void **state) {
  (void)state;
  admin_result r;
  admin_run(&r, (const char *const[]){"--help", NULL});
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "verify --data-dir DIR"));
  admin_run(&r, (const char *const[]){"verify", "--help", NULL});
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "usage: ccpay-admin verify"));
  admin_run(&r, (const char *const[]){NULL});
  assert_int_equal(r.status, 2);
  admin_run(&r, (const char *const[]){"verify", NULL});
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "--data-dir"));
  admin_run(&r, (const char *const[]){"frobnicate", NULL});
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "unknown command"));
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sample_passes),
      cmocka_unit_test(test_unbalanced_entry),
      cmocka_unit_test(test_sequence_gap),
      cmocka_unit_test(test_last_sequence_ahead),
      cmocka_unit_test(test_balance_disagrees),
      cmocka_unit_test(test_balance_missing),
      cmocka_unit_test(test_posting_removed),
      cmocka_unit_test(test_posting_extra),
      cmocka_unit_test(test_dangling_customer_entry),
      cmocka_unit_test(test_customer_unindexed),
      cmocka_unit_test(test_customer_renamed),
      cmocka_unit_test(test_status_entry_wrong),
      cmocka_unit_test(test_status_entry_moved),
      cmocka_unit_test(test_hold_entry_stale),
      cmocka_unit_test(test_order_customer_entry_missing),
      cmocka_unit_test(test_invoice_names_missing_order),
      cmocka_unit_test(test_order_lists_missing_invoice),
      cmocka_unit_test(test_idempotency_unindexed),
      cmocka_unit_test(test_no_database),
      cmocka_unit_test(test_usage),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
