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
#include "storage/audit.h"
#include "storage/customers.h"
#include "storage/idempotency.h"
#include "storage/ids.h"
#include "storage/keys.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/payments.h"
#include "storage/returns.h"
#include "storage/store.h"
#include "storage/tokens.h"
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
  /* Payments: a card captured in part, refunded in part, with a capture UNKNOWN (Bob's
   * invoiced order); a card whose authorization is PENDING after one never sent, and a
   * received check (Ann's open order). */
  PAY_CARD = 30,
  PAY_NEW = 31,
  PAY_CHECK = 32,
  PAY_STRAY = 33,
  TXN_AUTH = 40,
  TXN_CAPTURE = 41,
  TXN_REFUND = 42,
  TXN_CAPTURE_UNKNOWN = 43,
  TXN_AUTH_NOT_SENT = 44,
  TXN_AUTH_PENDING = 45,
  TXN_STRAY = 46,
  /* The entries the payments post, after the three of sample_ledger. */
  ENTRY_CAPTURE = 4,
  ENTRY_REFUND = 5,
  ENTRY_CHECK = 6,
  ENTRY_COUNT = 6,
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

/* Ann's open order, with its two payments. */
static Ccpay__V1__Order *sample_open_order(void) {
  Ccpay__V1__Order *o = test_records_order(test_arena, ORD_OPEN, CUS_ANN,
                                           CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN, NULL);
  char **ids = arena_calloc(test_arena, 2 * sizeof *ids);
  assert_non_null(ids);
  ids[0] = test_records_id(test_arena, ID_PAYMENT, PAY_NEW);
  ids[1] = test_records_id(test_arena, ID_PAYMENT, PAY_CHECK);
  o->payment_ids = ids;
  o->n_payment_ids = 2;
  return o;
}

static ccpay_err sample_orders(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Order *invoiced = test_records_order(
      test_arena, ORD_INVOICED, CUS_BOB, CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED, NULL);
  char *invoice_ids[] = {test_records_id(test_arena, ID_INVOICE, INV_FIRST)};
  invoiced->invoice_ids = invoice_ids;
  invoiced->n_invoice_ids = 1;
  char *invoiced_payments[] = {test_records_id(test_arena, ID_PAYMENT, PAY_CARD)};
  invoiced->payment_ids = invoiced_payments;
  invoiced->n_payment_ids = 1;
  ccpay_err err = orders_put(txn, NULL, sample_open_order(), error);
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

/* --- The sample's payments ---------------------------------------------------------------- */

#define KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x
#define STATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x

static char **sample_ids(id_kind kind, const uint64_t *ids, size_t count) {
  char **list = arena_calloc(test_arena, count * sizeof *list);
  assert_non_null(list);
  for (size_t i = 0; i < count; i++) list[i] = test_records_id(test_arena, kind, ids[i]);
  return list;
}

/* Bob's card on the invoiced order: authorized 1082, captured 800, refunded 100, a
 * capture of 200 UNKNOWN (reserved, and the open transaction). */
static Ccpay__V1__Payment *sample_card_payment(void) {
  Ccpay__V1__Payment *p = test_records_payment(test_arena, PAY_CARD, ORD_INVOICED, CUS_BOB,
                                               CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD, 1082);
  static const uint64_t txns[] = {TXN_AUTH, TXN_CAPTURE, TXN_REFUND, TXN_CAPTURE_UNKNOWN};
  p->transaction_ids = sample_ids(ID_TXN, txns, 4);
  p->n_transaction_ids = 4;
  p->open_transaction_id = test_records_id(test_arena, ID_TXN, TXN_CAPTURE_UNKNOWN);
  p->status = CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_CAPTURED;
  p->authorized->amount_minor = 1082;
  p->captured->amount_minor = 800;
  p->refunded->amount_minor = 100;
  p->pending_capture->amount_minor = 200;
  return p;
}

/* Ann's card on the open order: an authorization never sent, then one PENDING. */
static Ccpay__V1__Payment *sample_new_payment(void) {
  Ccpay__V1__Payment *p = test_records_payment(test_arena, PAY_NEW, ORD_OPEN, CUS_ANN,
                                               CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD, 500);
  static const uint64_t txns[] = {TXN_AUTH_NOT_SENT, TXN_AUTH_PENDING};
  p->transaction_ids = sample_ids(ID_TXN, txns, 2);
  p->n_transaction_ids = 2;
  p->open_transaction_id = test_records_id(test_arena, ID_TXN, TXN_AUTH_PENDING);
  return p;
}

/* Ann's check of 250 on the open order, received and posted. */
static Ccpay__V1__Payment *sample_check_payment(void) {
  Ccpay__V1__Payment *p = test_records_payment(test_arena, PAY_CHECK, ORD_OPEN, CUS_ANN,
                                               CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK, 250);
  p->authorized->amount_minor = 250;
  p->captured->amount_minor = 250;
  p->entry_sequence = ENTRY_CHECK;
  return p;
}

/* The sample's transaction id, as stored. */
static Ccpay__V1__Transaction *sample_transaction(uint64_t id) {
  switch (id) {
    case TXN_AUTH:
      return test_records_transaction(test_arena, id, PAY_CARD, ORD_INVOICED, KIND(AUTHORIZE),
                                      STATE(SUCCEEDED), 1082);
    case TXN_CAPTURE:
    case TXN_REFUND: {
      bool capture = id == TXN_CAPTURE;
      Ccpay__V1__Transaction *t = test_records_transaction(test_arena, id, PAY_CARD, ORD_INVOICED,
                                                           capture ? KIND(CAPTURE) : KIND(REFUND),
                                                           STATE(SUCCEEDED), capture ? 800 : 100);
      t->entry_sequence = capture ? ENTRY_CAPTURE : ENTRY_REFUND;
      return t;
    }
    case TXN_CAPTURE_UNKNOWN:
      return test_records_transaction(test_arena, id, PAY_CARD, ORD_INVOICED, KIND(CAPTURE),
                                      STATE(UNKNOWN), 200);
    case TXN_AUTH_NOT_SENT: {
      Ccpay__V1__Transaction *t = test_records_transaction(test_arena, id, PAY_NEW, ORD_OPEN,
                                                           KIND(AUTHORIZE), STATE(FAILED), 500);
      t->not_sent = true;
      return t;
    }
    case TXN_AUTH_PENDING:
      return test_records_transaction(test_arena, id, PAY_NEW, ORD_OPEN, KIND(AUTHORIZE),
                                      STATE(PENDING), 500);
    default:
      fail_msg("no sample transaction %llu", (unsigned long long)id);
      return NULL;
  }
}

/* Appends the entry of a payment (and transaction, unless 0), which must get sequence. */
static ccpay_err sample_post(store_txn *txn, Ccpay__V1__JournalEntry *e, uint64_t payment,
                             uint64_t transaction, int64_t sequence, ccpay_error *error) {
  e->payment_id = test_records_id(test_arena, ID_PAYMENT, payment);
  if (transaction != 0) e->transaction_id = test_records_id(test_arena, ID_TXN, transaction);
  ccpay_err err = ledger_append(txn, e, error);
  if (err == CCPAY_OK) assert_int_equal(e->sequence, sequence);
  return err;
}

static ccpay_err sample_payments(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  ccpay_err err = sample_post(
      txn, SAMPLE_ENTRY({"card_clearing:stripe", "USD", 800}, {"receivable:cus_2", "USD", -800}),
      PAY_CARD, TXN_CAPTURE, ENTRY_CAPTURE, error);
  if (err == CCPAY_OK) {
    err = sample_post(
        txn, SAMPLE_ENTRY({"receivable:cus_2", "USD", 100}, {"card_clearing:stripe", "USD", -100}),
        PAY_CARD, TXN_REFUND, ENTRY_REFUND, error);
  }
  if (err == CCPAY_OK) {
    err = sample_post(
        txn, SAMPLE_ENTRY({"undeposited_checks", "USD", 250}, {"receivable:cus_1", "USD", -250}),
        PAY_CHECK, 0, ENTRY_CHECK, error);
  }
  if (err == CCPAY_OK) err = payments_put(txn, sample_card_payment(), true, error);
  if (err == CCPAY_OK) err = payments_put(txn, sample_new_payment(), true, error);
  if (err == CCPAY_OK) err = payments_put(txn, sample_check_payment(), true, error);
  for (uint64_t id = TXN_AUTH; err == CCPAY_OK && id <= TXN_AUTH_PENDING; id++) {
    err = transactions_put(txn, sample_transaction(id), true, error);
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
  sample_write(test_base->s, sample_payments);
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
  /* 9 accounts: the 6 of the orders, card_clearing:stripe, undeposited_checks and Ann's
   * USD receivable; 27 index entries: 4 of customers, 7 of orders, 1 of idempotency, 13
   * posting rows and 2 open transactions. */
  assert_string_equal(r.out,
                      "ok: 6 entries, 9 accounts, 2 customers, 3 orders, 1 invoices, "
                      "3 payments, 6 transactions, 0 returns, 0 refund checks, 27 index entries, "
                      "0 tokens, 0 audit records\n");
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

/* Three audit records, the second removed. */
static ccpay_err corrupt_audit_gap(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  for (int i = 0; i < 3; i++) {
    Ccpay__V1__AuditRecord r = CCPAY__V1__AUDIT_RECORD__INIT;
    r.method = "/ccpay.v1.CustomerService/CreateCustomer";
    r.outcome = "OK";
    ccpay_err err = audit_append(txn, &r, error);
    if (err != CCPAY_OK) return err;
  }
  uint8_t key[8];
  key_put_u64(key, 2);
  delete_key(txn, STORE_DB_AUDIT, key, sizeof key);
  return CCPAY_OK;
}

static void test_audit_gap(void **state) {
  (void)state;
  expect_violation(corrupt_audit_gap, "audit: record 3 follows 1", NULL);
}

/* A token whose hash entry is gone. */
static ccpay_err corrupt_token_unindexed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  uint8_t hash[TOKEN_HASH_BYTES];
  token_secret_hash("ccp_sample", 10, hash);
  Ccpay__V1__Token *t = NULL;
  ccpay_err err = tokens_issue(txn, "csr", "csr-1", "ccpay-admin", store_txn_time_ms(txn) + 60000,
                               hash, test_arena, &t, error);
  if (err != CCPAY_OK) return err;
  delete_key(txn, STORE_DB_TOKENS_BY_HASH, hash, sizeof hash);
  return CCPAY_OK;
}

static void test_token_unindexed(void **state) {
  (void)state;
  expect_violation(corrupt_token_unindexed, "tokens: 1 tokens but 0 tokens_by_hash entries", NULL);
}

static ccpay_err corrupt_last_sequence(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  put_u64(txn, STORE_DB_META, "ledger_sequence", strlen("ledger_sequence"), ENTRY_COUNT + 1);
  return CCPAY_OK;
}

static void test_last_sequence_ahead(void **state) {
  (void)state;
  expect_violation(corrupt_last_sequence, "ledger_sequence is 7 but the entries end at 6", NULL);
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

/* --- Payments and transactions ------------------------------------------------------------ */

static const char *text_id(id_kind kind, uint64_t id) {
  return test_records_id(test_arena, kind, id);
}

static ccpay_err corrupt_captured_over_authorized(store_txn *txn, void *context,
                                                  ccpay_error *error) {
  (void)context;
  Ccpay__V1__Payment *p = sample_card_payment();
  p->captured->amount_minor = 1100;
  return payments_put(txn, p, false, error);
}

static void test_captured_over_authorized(void **state) {
  (void)state;
  expect_violation(corrupt_captured_over_authorized, "payment", text_id(ID_PAYMENT, PAY_CARD),
                   "captured 1100 + released 0 + pending_capture 200 exceed authorized 1082", NULL);
}

static ccpay_err corrupt_refunded_over_captured(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Payment *p = sample_card_payment();
  p->refunded->amount_minor = 900;
  return payments_put(txn, p, false, error);
}

static void test_refunded_over_captured(void **state) {
  (void)state;
  expect_violation(corrupt_refunded_over_captured, text_id(ID_PAYMENT, PAY_CARD),
                   "refunded 900 + pending_refund 0 + refunded_elsewhere 0 exceed captured 800",
                   NULL);
}

static ccpay_err corrupt_amount_currency(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Payment *p = sample_card_payment();
  p->refunded->currency_code = "EUR";
  return payments_put(txn, p, false, error);
}

static void test_amount_in_other_currency(void **state) {
  (void)state;
  expect_violation(corrupt_amount_currency, text_id(ID_PAYMENT, PAY_CARD),
                   "refunded is in \"EUR\", the payment is in USD", NULL);
}

static ccpay_err corrupt_listed_transaction_missing(store_txn *txn, void *context,
                                                    ccpay_error *error) {
  (void)context, (void)error;
  uint8_t key[8];
  key_put_u64(key, TXN_AUTH_NOT_SENT);
  delete_key(txn, STORE_DB_TRANSACTIONS, key, sizeof key);
  return CCPAY_OK;
}

static void test_listed_transaction_missing(void **state) {
  (void)state;
  expect_violation(corrupt_listed_transaction_missing, text_id(ID_PAYMENT, PAY_NEW),
                   "lists transaction", text_id(ID_TXN, TXN_AUTH_NOT_SENT), "which does not exist",
                   NULL);
}

static ccpay_err corrupt_transaction_unlisted(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* A declined authorization the payment never recorded. */
  return transactions_put(txn,
                          test_records_transaction(test_arena, TXN_STRAY, PAY_NEW, ORD_OPEN,
                                                   KIND(AUTHORIZE), STATE(DECLINED), 500),
                          true, error);
}

static void test_transaction_unlisted(void **state) {
  (void)state;
  expect_violation(corrupt_transaction_unlisted, "transaction", text_id(ID_TXN, TXN_STRAY),
                   "its payment", text_id(ID_PAYMENT, PAY_NEW),
                   "does not list it in transaction_ids", NULL);
}

static ccpay_err corrupt_open_unlisted(store_txn *txn, void *context, ccpay_error *error) {
  (void)context, (void)error;
  uint8_t key[8];
  key_put_u64(key, TXN_AUTH_PENDING);
  delete_key(txn, STORE_DB_TRANSACTIONS_OPEN, key, sizeof key);
  return CCPAY_OK;
}

static void test_open_transaction_not_in_open_list(void **state) {
  (void)state;
  expect_violation(corrupt_open_unlisted, text_id(ID_TXN, TXN_AUTH_PENDING),
                   "is PENDING but not in transactions_open", NULL);
}

static ccpay_err corrupt_resolved_listed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  uint8_t key[8];
  key_put_u64(key, TXN_CAPTURE);
  return store_put(txn, STORE_DB_TRANSACTIONS_OPEN, key, sizeof key, "", 0, error);
}

static void test_resolved_transaction_in_open_list(void **state) {
  (void)state;
  expect_violation(corrupt_resolved_listed, text_id(ID_TXN, TXN_CAPTURE),
                   "is SUCCEEDED but still in transactions_open", NULL);
}

static ccpay_err corrupt_open_list_dangling(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  uint8_t key[8];
  key_put_u64(key, ID_MISSING);
  return store_put(txn, STORE_DB_TRANSACTIONS_OPEN, key, sizeof key, "", 0, error);
}

static void test_open_list_names_missing_transaction(void **state) {
  (void)state;
  expect_violation(corrupt_open_list_dangling, "transactions_open: an entry names transaction",
                   text_id(ID_TXN, ID_MISSING), "which does not exist", NULL);
}

static ccpay_err corrupt_payment_unlisted(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* A payment on the held order, which does not list it. */
  return payments_put(txn,
                      test_records_payment(test_arena, PAY_STRAY, ORD_HELD, CUS_ANN,
                                           CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD, 300),
                      true, error);
}

static void test_payment_order_does_not_list_it(void **state) {
  (void)state;
  expect_violation(corrupt_payment_unlisted, "payment", text_id(ID_PAYMENT, PAY_STRAY), "its order",
                   text_id(ID_ORDER, ORD_HELD), "does not list it in payment_ids", NULL);
}

static ccpay_err corrupt_payment_customer(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Payment *p = sample_new_payment();
  p->customer_id = test_records_id(test_arena, ID_CUSTOMER, CUS_BOB);
  return payments_put(txn, p, false, error);
}

static void test_payment_customer_differs(void **state) {
  (void)state;
  expect_violation(corrupt_payment_customer, text_id(ID_PAYMENT, PAY_NEW),
                   "is not its order's customer", text_id(ID_CUSTOMER, CUS_ANN), NULL);
}

static ccpay_err corrupt_order_lists_missing_payment(store_txn *txn, void *context,
                                                     ccpay_error *error) {
  (void)context;
  Ccpay__V1__Order *before =
      test_records_order(test_arena, ORD_HELD, CUS_ANN,
                         CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED, "FRAUD_REVIEW");
  Ccpay__V1__Order *after =
      test_records_order(test_arena, ORD_HELD, CUS_ANN,
                         CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED, "FRAUD_REVIEW");
  static const uint64_t ids[] = {ID_MISSING};
  after->payment_ids = sample_ids(ID_PAYMENT, ids, 1);
  after->n_payment_ids = 1;
  return orders_put(txn, before, after, error);
}

static void test_order_lists_missing_payment(void **state) {
  (void)state;
  expect_violation(corrupt_order_lists_missing_payment, text_id(ID_ORDER, ORD_HELD),
                   "lists payment", text_id(ID_PAYMENT, ID_MISSING), "which does not exist", NULL);
}

static ccpay_err corrupt_capture_amount(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The capture's record says 700 while the payment (and the ledger) say 800. */
  Ccpay__V1__Transaction *t = sample_transaction(TXN_CAPTURE);
  t->amount->amount_minor = 700;
  return transactions_put(txn, t, false, error);
}

static void test_capture_sum_disagrees(void **state) {
  (void)state;
  expect_violation(corrupt_capture_amount, text_id(ID_PAYMENT, PAY_CARD),
                   "captured is 800, its SUCCEEDED captures and sales sum to 700", NULL);
}

static ccpay_err corrupt_pending_capture(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Payment *p = sample_card_payment();
  p->pending_capture->amount_minor = 150;
  return payments_put(txn, p, false, error);
}

static void test_pending_capture_disagrees(void **state) {
  (void)state;
  expect_violation(corrupt_pending_capture, text_id(ID_PAYMENT, PAY_CARD),
                   "pending_capture is 150, its PENDING and UNKNOWN captures sum to 200", NULL);
}

static ccpay_err corrupt_open_id_resolved(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__Payment *p = sample_card_payment();
  p->open_transaction_id = test_records_id(test_arena, ID_TXN, TXN_CAPTURE);
  return payments_put(txn, p, false, error);
}

static void test_open_transaction_id_resolved(void **state) {
  (void)state;
  expect_violation(corrupt_open_id_resolved, text_id(ID_PAYMENT, PAY_CARD), "open_transaction_id",
                   text_id(ID_TXN, TXN_CAPTURE), "is SUCCEEDED, not PENDING or UNKNOWN", NULL);
}

static ccpay_err corrupt_two_open(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The authorization that was never sent comes back as UNKNOWN next to the PENDING one. */
  Ccpay__V1__Transaction *t = sample_transaction(TXN_AUTH_NOT_SENT);
  t->state = STATE(UNKNOWN);
  t->not_sent = false;
  return transactions_put(txn, t, false, error);
}

static void test_two_open_transactions(void **state) {
  (void)state;
  expect_violation(corrupt_two_open, text_id(ID_PAYMENT, PAY_NEW), "has two open transactions",
                   text_id(ID_TXN, TXN_AUTH_NOT_SENT), text_id(ID_TXN, TXN_AUTH_PENDING), NULL);
}

static ccpay_err corrupt_posted_twice(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The capture posted a second time: balances and posting lists still agree. */
  return sample_post(
      txn, SAMPLE_ENTRY({"card_clearing:stripe", "USD", 800}, {"receivable:cus_2", "USD", -800}),
      PAY_CARD, TXN_CAPTURE, ENTRY_COUNT + 1, error);
}

static void test_capture_posted_twice(void **state) {
  (void)state;
  expect_violation(corrupt_posted_twice, "entry 7 names transaction", text_id(ID_TXN, TXN_CAPTURE),
                   "whose entry_sequence is 4", NULL);
}

static ccpay_err corrupt_entry_of_other(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The capture names the refund's entry. */
  Ccpay__V1__Transaction *t = sample_transaction(TXN_CAPTURE);
  t->entry_sequence = ENTRY_REFUND;
  return transactions_put(txn, t, false, error);
}

static void test_transaction_names_other_entry(void **state) {
  (void)state;
  expect_violation(corrupt_entry_of_other, "entry 4 names transaction",
                   text_id(ID_TXN, TXN_CAPTURE), "whose entry_sequence is 5", NULL);
}

static ccpay_err corrupt_capture_unposted(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  /* The UNKNOWN capture resolved as SUCCEEDED, on the payment too, but never posted. */
  Ccpay__V1__Transaction *t = sample_transaction(TXN_CAPTURE_UNKNOWN);
  t->state = STATE(SUCCEEDED);
  Ccpay__V1__Payment *p = sample_card_payment();
  p->captured->amount_minor = 1000;
  p->pending_capture->amount_minor = 0;
  p->open_transaction_id = "";
  ccpay_err err = transactions_put(txn, t, false, error);
  return err == CCPAY_OK ? payments_put(txn, p, false, error) : err;
}

static void test_succeeded_capture_unposted(void **state) {
  (void)state;
  expect_violation(corrupt_capture_unposted, "transaction", text_id(ID_TXN, TXN_CAPTURE_UNKNOWN),
                   "a SUCCEEDED CAPTURE names no entry", NULL);
}

/* --- Returns and refund checks --------------------------------------------------------- */

enum { RMA_SAMPLE = 50, RCK_SAMPLE = 51 };

/* A return of Ann's with no original order: one line crediting 10.00, refund lines
 * holding refunds (10.00 when whole). */
static Ccpay__V1__ReturnOrder *sample_return(int64_t refunds) {
  arena *a = test_arena;
  Ccpay__V1__ReturnOrder *r = arena_alloc(a, sizeof *r);
  Ccpay__V1__ReturnLine *line = arena_alloc(a, sizeof *line);
  Ccpay__V1__RefundLine *refund = arena_alloc(a, sizeof *refund);
  Ccpay__V1__ReturnTotals *totals = arena_alloc(a, sizeof *totals);
  Ccpay__V1__ReturnLine **lines = arena_alloc(a, sizeof *lines);
  Ccpay__V1__RefundLine **refunds_list = arena_alloc(a, sizeof *refunds_list);
  assert_true(r && line && refund && totals && lines && refunds_list);
  ccpay__v1__return_order__init(r);
  ccpay__v1__return_line__init(line);
  ccpay__v1__refund_line__init(refund);
  ccpay__v1__return_totals__init(totals);
  r->id = test_records_id(a, ID_RETURN, RMA_SAMPLE);
  r->customer_id = test_records_id(a, ID_CUSTOMER, CUS_ANN);
  r->currency_code = "USD";
  r->status = CCPAY__V1__RETURN_STATUS__RETURN_STATUS_COMPLETED;
  line->line_number = 1;
  line->quantity = 1;
  line->net_amount = test_records_money(a, "USD", 1000);
  line->tax_amount = test_records_money(a, "USD", 0);
  line->total_amount = test_records_money(a, "USD", 1000);
  totals->net_total = test_records_money(a, "USD", 1000);
  totals->tax_total = test_records_money(a, "USD", 0);
  totals->total = test_records_money(a, "USD", 1000);
  totals->issued_total = test_records_money(a, "USD", 0);
  refund->line_number = 1;
  refund->tender_type = CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK;
  refund->amount = test_records_money(a, "USD", refunds);
  refund->status = CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_PENDING;
  lines[0] = line;
  refunds_list[0] = refund;
  r->lines = lines;
  r->n_lines = 1;
  r->refund_lines = refunds_list;
  r->n_refund_lines = 1;
  r->totals = totals;
  r->version = 1;
  return r;
}

static ccpay_err corrupt_return_refunds(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  return returns_put(txn, NULL, sample_return(900), error);
}

static void test_return_refunds_do_not_add_up(void **state) {
  (void)state;
  expect_violation(corrupt_return_refunds, "refund lines hold 900, the return credits 1000", NULL);
}

static ccpay_err corrupt_return_unindexed(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__ReturnOrder *r = sample_return(1000);
  ccpay_err err = returns_put(txn, NULL, r, error);
  key_builder k;
  assert_true(returns_index_key(r, RMA_SAMPLE, STORE_DB_RETURNS_BY_STATUS, &k));
  if (err == CCPAY_OK) delete_key(txn, STORE_DB_RETURNS_BY_STATUS, k.bytes, k.len);
  return err;
}

static void test_return_unindexed(void **state) {
  (void)state;
  char id[ID_TEXT_BYTES_MAX];
  id_format(ID_RETURN, RMA_SAMPLE, id);
  expect_violation(corrupt_return_unindexed, id, "has no entry in returns_by_status", NULL);
}

static ccpay_err corrupt_refund_check_customer(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  Ccpay__V1__RefundCheck *c = arena_alloc(test_arena, sizeof *c);
  assert_non_null(c);
  ccpay__v1__refund_check__init(c);
  c->id = test_records_id(test_arena, ID_REFUND_CHECK, RCK_SAMPLE);
  c->customer_id = test_records_id(test_arena, ID_CUSTOMER, 99);
  c->amount = test_records_money(test_arena, "USD", 500);
  c->status = CCPAY__V1__REFUND_CHECK_STATUS__REFUND_CHECK_STATUS_PENDING_APPROVAL;
  return refund_checks_put(txn, NULL, c, error);
}

static void test_refund_check_unknown_customer(void **state) {
  (void)state;
  expect_violation(corrupt_refund_check_customer, "names customer", "which does not exist", NULL);
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
      cmocka_unit_test(test_audit_gap),
      cmocka_unit_test(test_token_unindexed),
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
      cmocka_unit_test(test_captured_over_authorized),
      cmocka_unit_test(test_refunded_over_captured),
      cmocka_unit_test(test_amount_in_other_currency),
      cmocka_unit_test(test_listed_transaction_missing),
      cmocka_unit_test(test_transaction_unlisted),
      cmocka_unit_test(test_open_transaction_not_in_open_list),
      cmocka_unit_test(test_resolved_transaction_in_open_list),
      cmocka_unit_test(test_return_refunds_do_not_add_up),
      cmocka_unit_test(test_return_unindexed),
      cmocka_unit_test(test_refund_check_unknown_customer),
      cmocka_unit_test(test_open_list_names_missing_transaction),
      cmocka_unit_test(test_payment_order_does_not_list_it),
      cmocka_unit_test(test_payment_customer_differs),
      cmocka_unit_test(test_order_lists_missing_payment),
      cmocka_unit_test(test_capture_sum_disagrees),
      cmocka_unit_test(test_pending_capture_disagrees),
      cmocka_unit_test(test_open_transaction_id_resolved),
      cmocka_unit_test(test_two_open_transactions),
      cmocka_unit_test(test_capture_posted_twice),
      cmocka_unit_test(test_transaction_names_other_entry),
      cmocka_unit_test(test_succeeded_capture_unposted),
      cmocka_unit_test(test_no_database),
      cmocka_unit_test(test_usage),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
