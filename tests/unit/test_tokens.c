/* Agent tokens and the audit trail in storage: secrets (format, randomness, hashing),
 * issue and look-up by hash, revocation and expiry, listing, and audit sequences; the
 * role table's agent ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/limits.h"
#include "domain/roles.h"
#include "storage/audit.h"
#include "storage/store.h"
#include "storage/tokens.h"
#include "store_fixture.h"

static int setup(void **state) {
  return store_fixture_setup(state, &(store_fixture_options){.name = "tokens"});
}

static void test_secret_format(void **state) {
  (void)state;
  char a[TOKEN_TEXT_BYTES + 1], b[TOKEN_TEXT_BYTES + 1];
  assert_true(token_secret_generate(a));
  assert_true(token_secret_generate(b));
  assert_int_equal(strlen(a), TOKEN_TEXT_BYTES);
  assert_int_equal(strncmp(a, "ccp_", 4), 0);
  assert_int_equal(
      strspn(a + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      TOKEN_TEXT_BYTES - 4);
  assert_string_not_equal(a, b);
  uint8_t ha[TOKEN_HASH_BYTES], ha2[TOKEN_HASH_BYTES], hb[TOKEN_HASH_BYTES];
  token_secret_hash(a, strlen(a), ha);
  token_secret_hash(a, strlen(a), ha2);
  token_secret_hash(b, strlen(b), hb);
  assert_memory_equal(ha, ha2, sizeof ha);
  assert_memory_not_equal(ha, hb, sizeof ha);
}

typedef struct issue_args {
  const char *role;
  int64_t ttl_ms;
  uint8_t hash[TOKEN_HASH_BYTES];
  char id[32];
  bool revoke;
} issue_args;

static ccpay_err issue_execute(store_txn *txn, void *context, ccpay_error *error) {
  issue_args *in = context;
  arena *a = arena_create(64 << 10);
  Ccpay__V1__Token *t = NULL;
  ccpay_err rc = tokens_issue(txn, in->role, "agent-1", "tester",
                              store_txn_time_ms(txn) + in->ttl_ms, in->hash, a, &t, error);
  if (rc == CCPAY_OK) snprintf(in->id, sizeof in->id, "%s", t->id);
  arena_destroy(a);
  return rc;
}

static ccpay_err revoke_execute(store_txn *txn, void *context, ccpay_error *error) {
  issue_args *in = context;
  arena *a = arena_create(64 << 10);
  Ccpay__V1__Token *t = NULL;
  uint8_t key_hash[TOKEN_HASH_BYTES];
  memcpy(key_hash, in->hash, sizeof key_hash);
  ccpay_err rc = tokens_find_by_hash(txn, key_hash, a, &t, error);
  Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  now.seconds = store_txn_time_ms(txn) / 1000;
  if (rc == CCPAY_OK) {
    t->revoke_time = &now;
    rc = tokens_update(txn, t, error);
  }
  arena_destroy(a);
  return rc;
}

/* The token under hash as a reader sees it now: CCPAY_OK when usable. */
static ccpay_err lookup(store *s, const uint8_t hash[TOKEN_HASH_BYTES], int64_t now_ms, char *role,
                        size_t role_size) {
  store_txn *txn = NULL;
  ccpay_error error;
  assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
  arena *a = arena_create(64 << 10);
  Ccpay__V1__Token *t = NULL;
  ccpay_err rc = tokens_find_by_hash(txn, hash, a, &t, &error);
  if (rc == CCPAY_OK) {
    snprintf(role, role_size, "%s", t->role);
    rc = token_check_usable(t, now_ms, &error);
  }
  arena_destroy(a);
  store_read_end(txn);
  return rc;
}

static void test_issue_find_revoke_expire(void **state) {
  store_fixture *f = *state;
  char secret[TOKEN_TEXT_BYTES + 1];
  assert_true(token_secret_generate(secret));
  issue_args in = {.role = "csr", .ttl_ms = 60000};
  token_secret_hash(secret, strlen(secret), in.hash);
  ccpay_error error;
  assert_int_equal(store_fixture_write(f->s, issue_execute, &in, &error), CCPAY_OK);
  assert_int_equal(strncmp(in.id, "tok_", 4), 0);
  char role[16];
  int64_t now_ms = clock_wall_ms();
  assert_int_equal(lookup(f->s, in.hash, now_ms, role, sizeof role), CCPAY_OK);
  assert_string_equal(role, "csr");
  /* Expired at its expire time. */
  assert_int_equal(lookup(f->s, in.hash, now_ms + 120000, role, sizeof role),
                   CCPAY_ERR_UNAUTHENTICATED);
  /* An unknown secret. */
  uint8_t other[TOKEN_HASH_BYTES];
  token_secret_hash("ccp_nothing", 11, other);
  assert_int_equal(lookup(f->s, other, now_ms, role, sizeof role), CCPAY_ERR_NOT_FOUND);
  /* The same secret twice is refused. */
  issue_args again = in;
  assert_int_equal(store_fixture_write(f->s, issue_execute, &again, &error), CCPAY_ERR_INTERNAL);
  /* Revoked: refused at once. */
  assert_int_equal(store_fixture_write(f->s, revoke_execute, &in, &error), CCPAY_OK);
  assert_int_equal(lookup(f->s, in.hash, now_ms, role, sizeof role), CCPAY_ERR_UNAUTHENTICATED);

  /* Listing: the revoked one only when inactive ones are asked for. */
  issue_args second = {.role = "admin", .ttl_ms = 60000};
  token_secret_hash("ccp_second", 10, second.hash);
  assert_int_equal(store_fixture_write(f->s, issue_execute, &second, &error), CCPAY_OK);
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  arena *a = arena_create(64 << 10);
  Ccpay__V1__Token **tokens = NULL;
  size_t count = 0;
  uint64_t next = 0;
  assert_int_equal(tokens_list(txn, 0, 10, false, now_ms, a, &tokens, &count, &next, &error),
                   CCPAY_OK);
  assert_int_equal(count, 1);
  assert_string_equal(tokens[0]->id, second.id);
  assert_int_equal(tokens_list(txn, 0, 1, true, now_ms, a, &tokens, &count, &next, &error),
                   CCPAY_OK);
  assert_int_equal(count, 1); /* newest first, one per page */
  assert_string_equal(tokens[0]->id, second.id);
  assert_true(next != 0);
  assert_int_equal(tokens_list(txn, next, 1, true, now_ms, a, &tokens, &count, &next, &error),
                   CCPAY_OK);
  assert_int_equal(count, 1);
  assert_string_equal(tokens[0]->id, in.id);
  assert_int_equal(next, 0);
  arena_destroy(a);
  store_read_end(txn);
}

static ccpay_err append_execute(store_txn *txn, void *context, ccpay_error *error) {
  int64_t *sequence = context;
  Ccpay__V1__AuditRecord r = CCPAY__V1__AUDIT_RECORD__INIT;
  r.method = "/test/Method";
  r.outcome = "OK";
  ccpay_err rc = audit_append(txn, &r, error);
  *sequence = r.sequence;
  return rc;
}

static ccpay_err append_then_fail(store_txn *txn, void *context, ccpay_error *error) {
  ccpay_err rc = append_execute(txn, context, error);
  return rc == CCPAY_OK ? ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "rolled back") : rc;
}

static void test_audit_sequence(void **state) {
  store_fixture *f = *state;
  ccpay_error error;
  int64_t sequence = 0;
  assert_int_equal(store_fixture_write(f->s, append_execute, &sequence, &error), CCPAY_OK);
  assert_int_equal(sequence, 1);
  /* A rolled-back append leaves no gap: the next one is 2. */
  assert_int_equal(store_fixture_write(f->s, append_then_fail, &sequence, &error),
                   CCPAY_ERR_INVALID_STATE);
  assert_int_equal(store_fixture_write(f->s, append_execute, &sequence, &error), CCPAY_OK);
  assert_int_equal(sequence, 2);
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(f->s, &txn, &error), CCPAY_OK);
  arena *a = arena_create(64 << 10);
  Ccpay__V1__AuditRecord **records = NULL;
  size_t count = 0;
  assert_int_equal(audit_read(txn, 0, 10, a, &records, &count, &error), CCPAY_OK);
  assert_int_equal(count, 2);
  assert_int_equal(records[0]->sequence, 1);
  assert_int_equal(records[1]->sequence, 2);
  assert_int_equal(audit_read(txn, 1, 10, a, &records, &count, &error), CCPAY_OK);
  assert_int_equal(count, 1);
  uint64_t last = 0;
  assert_int_equal(audit_last_sequence(txn, &last, &error), CCPAY_OK);
  assert_int_equal(last, 2);
  arena_destroy(a);
  store_read_end(txn);
}

static void test_agent_ids(void **state) {
  (void)state;
  ccpay_error error;
  assert_int_equal(roles_validate_agent_id("agent", "csr-0042", &error), CCPAY_OK);
  assert_int_equal(roles_validate_agent_id("agent", "", &error), CCPAY_ERR_FIELD_REQUIRED);
  assert_int_equal(roles_validate_agent_id("agent", "two words", &error), CCPAY_ERR_FIELD_INVALID);
  assert_int_equal(roles_validate_agent_id("agent", "4111111111111111", &error),
                   CCPAY_ERR_CARD_DATA_IN_TEXT);
  char long_id[AGENT_ID_BYTES_MAX + 2];
  memset(long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  assert_int_equal(roles_validate_agent_id("agent", long_id, &error), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_non_null(roles_find("supervisor"));
  assert_null(roles_find("root"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secret_format),
      cmocka_unit_test_setup_teardown(test_issue_find_revoke_expire, setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_audit_sequence, setup, store_fixture_teardown),
      cmocka_unit_test(test_agent_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
