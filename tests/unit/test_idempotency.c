/* Idempotency records: look-up, recording, reuse with another request, and expiry. */
#include <openssl/crypto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "storage/idempotency.h"
#include "storage/store.h"
#include "store_fixture.h"

/* Each storage test gets its own store on a data dir under /tmp, removed after it. */
static int setup(void **state) {
  return store_fixture_setup(state, &(store_fixture_options){.name = "idem"});
}

/* --- Helpers ------------------------------------------------------------------------------ */

static const char test_method[] = "/ccpay.v1.CustomerService/CreateCustomer";

static void test_hash(const char *request, uint8_t out[IDEMPOTENCY_HASH_BYTES]) {
  idempotency_hash(test_method, (const uint8_t *)request, strlen(request), out);
}

typedef struct record_args {
  const char *request_id;
  const char *request;
  const char *reply;
  int64_t time_ms; /* out: the batch's time */
} record_args;

static ccpay_err record_execute(store_txn *txn, void *context, ccpay_error *error) {
  record_args *r = context;
  uint8_t hash[IDEMPOTENCY_HASH_BYTES];
  test_hash(r->request, hash);
  r->time_ms = store_txn_time_ms(txn);
  return idempotency_record(txn, r->request_id, hash, (const uint8_t *)r->reply, strlen(r->reply),
                            error);
}

static ccpay_err test_record(store_fixture *env, const char *request_id, const char *request,
                             const char *reply, int64_t *time_ms) {
  record_args r = {.request_id = request_id, .request = request, .reply = reply};
  ccpay_err err = store_fixture_write(env->s, record_execute, &r, NULL);
  if (time_ms != NULL) *time_ms = r.time_ms;
  return err;
}

/* Looks request_id up in a read transaction; on CCPAY_OK copies the reply into reply. */
static ccpay_err test_lookup(store_fixture *env, const char *request_id, const char *request,
                             char *reply, size_t reply_size, ccpay_error *error) {
  uint8_t hash[IDEMPOTENCY_HASH_BYTES];
  test_hash(request, hash);
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(env->s, &txn, error), CCPAY_OK);
  store_val value = {NULL, 0};
  ccpay_err err = idempotency_lookup(txn, request_id, hash, &value, error);
  if (err == CCPAY_OK) {
    assert_true(value.len < reply_size);
    memcpy(reply, value.data, value.len);
    reply[value.len] = '\0';
  }
  store_read_end(txn);
  return err;
}

typedef struct purge_args {
  int64_t before_ms;
  unsigned records_max;
  unsigned purged;
} purge_args;

static ccpay_err purge_execute(store_txn *txn, void *context, ccpay_error *error) {
  purge_args *p = context;
  return idempotency_purge(txn, p->before_ms, p->records_max, &p->purged, error);
}

static unsigned test_purge(store_fixture *env, int64_t before_ms, unsigned records_max) {
  purge_args p = {.before_ms = before_ms, .records_max = records_max};
  assert_int_equal(store_fixture_write(env->s, purge_execute, &p, NULL), CCPAY_OK);
  return p.purged;
}

/* Waits until the wall clock has passed time_ms, so the next batch has a later time. */
static void test_clock_pass(int64_t time_ms) {
  while (clock_wall_ms() <= time_ms) usleep(500);
}

/* --- Tests --------------------------------------------------------------------------------- */

static void test_hash_value(void **state) {
  (void)state;
  uint8_t hash[IDEMPOTENCY_HASH_BYTES];
  test_hash("abc", hash);
  /* sha256("/ccpay.v1.CustomerService/CreateCustomer" "\0" "abc") */
  const uint8_t expected[IDEMPOTENCY_HASH_BYTES] = {0x8e, 0x33, 0x84, 0x4c, 0xe9, 0xcc, 0x80, 0xd9,
                                                    0x77, 0xed, 0xb2, 0x89, 0x13, 0x82, 0x80, 0x30,
                                                    0x77, 0x26, 0x7e, 0xdb, 0x92, 0x30, 0xc2, 0x07,
                                                    0xbc, 0x7a, 0x89, 0x49, 0x75, 0x51, 0x76, 0x76};
  assert_memory_equal(hash, expected, sizeof expected);

  /* The separator keeps method and request apart. */
  uint8_t a[IDEMPOTENCY_HASH_BYTES], b[IDEMPOTENCY_HASH_BYTES];
  idempotency_hash("ab", (const uint8_t *)"c", 1, a);
  idempotency_hash("a", (const uint8_t *)"bc", 2, b);
  assert_true(CRYPTO_memcmp(a, b, sizeof a) != 0);
  idempotency_hash("a", NULL, 0, a);
  idempotency_hash("a", (const uint8_t *)"", 0, b);
  assert_memory_equal(a, b, sizeof a);
}

static void test_lookup_not_found(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  char reply[64];
  assert_int_equal(test_lookup(env, "req-1", "abc", reply, sizeof reply, &error),
                   CCPAY_ERR_NOT_FOUND);
}

static void test_record_then_lookup(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  char reply[64];
  assert_int_equal(test_record(env, "req-1", "abc", "reply-1", NULL), CCPAY_OK);
  assert_int_equal(test_lookup(env, "req-1", "abc", reply, sizeof reply, &error), CCPAY_OK);
  assert_string_equal(reply, "reply-1");
  /* An empty reply is a reply too. */
  assert_int_equal(test_record(env, "req-2", "abc", "", NULL), CCPAY_OK);
  assert_int_equal(test_lookup(env, "req-2", "abc", reply, sizeof reply, &error), CCPAY_OK);
  assert_string_equal(reply, "");
  /* Other keys stay new. */
  assert_int_equal(test_lookup(env, "req-3", "abc", reply, sizeof reply, &error),
                   CCPAY_ERR_NOT_FOUND);
}

static void test_key_reused(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  char reply[64];
  assert_int_equal(test_record(env, "req-1", "abc", "reply-1", NULL), CCPAY_OK);
  assert_int_equal(test_lookup(env, "req-1", "abd", reply, sizeof reply, &error),
                   CCPAY_ERR_IDEMPOTENCY_KEY_REUSED);
  assert_int_equal(error.code, CCPAY_ERR_IDEMPOTENCY_KEY_REUSED);
  assert_string_equal(error.message,
                      "request_id \"req-1\" was already used for a different request");

  /* Recording over an existing key is refused either way; the first reply stays. */
  assert_int_equal(test_record(env, "req-1", "abd", "reply-2", NULL),
                   CCPAY_ERR_IDEMPOTENCY_KEY_REUSED);
  assert_int_equal(test_record(env, "req-1", "abc", "reply-2", NULL), CCPAY_ERR_INTERNAL);
  assert_int_equal(test_lookup(env, "req-1", "abc", reply, sizeof reply, &error), CCPAY_OK);
  assert_string_equal(reply, "reply-1");
}

static void test_purge_old_only(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  char reply[64];
  int64_t old_ms = 0, new_ms = 0;
  assert_int_equal(test_record(env, "old-1", "abc", "r", &old_ms), CCPAY_OK);
  assert_int_equal(test_record(env, "old-2", "abc", "r", NULL), CCPAY_OK);
  int64_t last_old_ms = 0;
  assert_int_equal(test_record(env, "old-3", "abc", "r", &last_old_ms), CCPAY_OK);
  test_clock_pass(last_old_ms);
  assert_int_equal(test_record(env, "new-1", "abc", "r", &new_ms), CCPAY_OK);
  assert_true(new_ms > last_old_ms && last_old_ms >= old_ms);

  /* Nothing is older than the oldest. */
  assert_int_equal(test_purge(env, old_ms, 32), 0);
  /* records_max bounds one purge; the rest go in the next. */
  assert_int_equal(test_purge(env, new_ms, 2), 2);
  assert_int_equal(test_purge(env, new_ms, 32), 1);
  assert_int_equal(test_purge(env, new_ms, 32), 0);

  const char *gone[] = {"old-1", "old-2", "old-3"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(test_lookup(env, gone[i], "abc", reply, sizeof reply, &error),
                     CCPAY_ERR_NOT_FOUND);
  }
  assert_int_equal(test_lookup(env, "new-1", "abc", reply, sizeof reply, &error), CCPAY_OK);

  /* A purged key is new again: it may be recorded afresh, for any request. */
  assert_int_equal(test_record(env, "old-1", "xyz", "r2", NULL), CCPAY_OK);
  assert_int_equal(test_lookup(env, "old-1", "xyz", reply, sizeof reply, &error), CCPAY_OK);
  assert_string_equal(reply, "r2");
  /* Everything goes once the cut-off passes it, and survives nothing. */
  assert_int_equal(test_purge(env, clock_wall_ms() + 1000, 32), 2);
  assert_int_equal(test_lookup(env, "new-1", "abc", reply, sizeof reply, &error),
                   CCPAY_ERR_NOT_FOUND);
}

static ccpay_err update_execute(store_txn *txn, void *context, ccpay_error *error) {
  record_args *r = context;
  uint8_t hash[IDEMPOTENCY_HASH_BYTES];
  test_hash(r->request, hash);
  return idempotency_update(txn, r->request_id, hash, (const uint8_t *)r->reply, strlen(r->reply),
                            error);
}

/* A two-step answer: the newer reply replaces the first, the record keeps its time (the
 * purge still finds it by that time), and only an existing record for the same request
 * may be updated. */
static void test_update_keeps_time(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  char reply[64];
  int64_t created_ms = 0;
  assert_int_equal(test_record(env, "req-1", "abc", "invoice, captures pending", &created_ms),
                   CCPAY_OK);
  test_clock_pass(created_ms);
  record_args update = {.request_id = "req-1", .request = "abc", .reply = "captures done"};
  assert_int_equal(store_fixture_write(env->s, update_execute, &update, NULL), CCPAY_OK);
  assert_int_equal(test_lookup(env, "req-1", "abc", reply, sizeof reply, &error), CCPAY_OK);
  assert_string_equal(reply, "captures done");

  record_args other = {.request_id = "req-1", .request = "abd", .reply = "x"};
  assert_int_equal(store_fixture_write(env->s, update_execute, &other, NULL),
                   CCPAY_ERR_IDEMPOTENCY_KEY_REUSED);
  record_args missing = {.request_id = "req-2", .request = "abc", .reply = "x"};
  assert_int_equal(store_fixture_write(env->s, update_execute, &missing, NULL), CCPAY_ERR_INTERNAL);

  /* Found by its creation time, not the update's. */
  assert_int_equal(test_purge(env, created_ms + 1, 32), 1);
  assert_int_equal(test_lookup(env, "req-1", "abc", reply, sizeof reply, &error),
                   CCPAY_ERR_NOT_FOUND);
}

static void test_record_survives_reopen(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  char reply[64];
  assert_int_equal(test_record(env, "req-1", "abc", "reply-1", NULL), CCPAY_OK);
  assert_int_equal(store_fixture_reopen(env, &error), CCPAY_OK);
  assert_int_equal(test_lookup(env, "req-1", "abc", reply, sizeof reply, &error), CCPAY_OK);
  assert_string_equal(reply, "reply-1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_value),
      cmocka_unit_test_setup_teardown(test_lookup_not_found, setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_record_then_lookup, setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_key_reused, setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_purge_old_only, setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_record_survives_reopen, setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_update_keeps_time, setup, store_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
