/* Security through the real ccpayd: the method x role matrix walked over the server's own
 * method table, calls without a valid token, token expiry and revocation, rate-limited
 * failed authentication, the audit trail of a scripted session (replayed and followed),
 * and the agent id on what a call creates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/limits.h"
#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpayd_fixture.h"
#include "domain/roles.h"
#include "grpc/health/v1/health.pb-c.h"
#include "order_calls.h"
#include "services/services.h"
#include "test_client.h"

#define CREATE_TOKEN "/ccpay.v1.AdminService/CreateToken"
#define REVOKE_TOKEN "/ccpay.v1.AdminService/RevokeToken"
#define LIST_TOKENS "/ccpay.v1.AdminService/ListTokens"
#define STREAM_AUDIT "/ccpay.v1.AdminService/StreamAudit"
#define GET_CUSTOMER "/ccpay.v1.CustomerService/GetCustomer"
#define SEARCH_CUSTOMERS "/ccpay.v1.CustomerService/SearchCustomers"
#define HOLD_ORDER "/ccpay.v1.OrderService/HoldOrder"

enum {
  ROLES_MAX = 16,
  TOKEN_BYTES = 128,
  STREAM_WAIT_MS = 5000,
  AUDIT_RECORDS_MAX = 64,
};

/* The server's real method table: what the server registers, so a method added later is
 * in the matrix without a change here. */
static const rpc_method *server_methods(size_t *count) {
  static service_env env; /* the table only keeps a pointer to it */
  return services_methods(&env, count);
}

/* Calls method m with an empty request through client: a unary call, or a stream that is
 * drained (follow is off in an empty request, so streams end). The status only. */
static grpc_status_code call_empty(test_client *client, const rpc_method *m, test_reply *r) {
  uint8_t nothing = 0;
  if (m->kind == RPC_SERVER_STREAMING) {
    ProtobufCMessage *request = calloc(1, m->request_descriptor->sizeof_message);
    assert_non_null(request);
    m->request_descriptor->message_init(request);
    test_stream *s = test_stream_start(client, m->name, request, m->reply_descriptor, 0);
    free(request);
    assert_non_null(s);
    return test_stream_finish(s, STREAM_WAIT_MS, r);
  }
  return test_client_call_raw(client, m->name, &nothing, 0, m->reply_descriptor, 0, r);
}

/* --- The tables ----------------------------------------------------------------------- */

static void test_every_permission_is_known(void **state) {
  (void)state;
  size_t count = 0;
  const rpc_method *methods = server_methods(&count);
  assert_true(count > 30);
  for (size_t i = 0; i < count; i++) {
    if (methods[i].permission == NULL || !roles_permission_known(methods[i].permission)) {
      fail_msg("%s needs permission \"%s\", which no role table entry knows", methods[i].name,
               methods[i].permission != NULL ? methods[i].permission : "(none)");
    }
  }
  size_t role_count = 0;
  const role_def *roles = roles_all(&role_count);
  for (size_t r = 0; r < role_count; r++) {
    for (const char *const *p = roles[r].permissions; *p != NULL; p++) {
      if (!roles_permission_known(*p)) fail_msg("role %s: unknown %s", roles[r].name, *p);
    }
  }
  /* The alternate-payment right (refund overrides): supervisor and payments only, apart
   * from admin, which holds every right. */
  for (size_t r = 0; r < role_count; r++) {
    bool expected = strcmp(roles[r].name, "supervisor") == 0 ||
                    strcmp(roles[r].name, "payments") == 0 || strcmp(roles[r].name, "admin") == 0;
    assert_int_equal(roles_grants(&roles[r], "payments.alternate_payment"), expected);
  }
  /* support is read-only everywhere. */
  const role_def *support = roles_find("support");
  for (const char *const *p = support->permissions; *p != NULL; p++) {
    size_t len = strlen(*p);
    assert_true(len > 5 && strcmp(*p + len - 5, ".read") == 0);
  }
}

/* Every method with every role: allowed exactly when the role table grants the method's
 * permission; a refusal is PERMISSION_DENIED naming the permission. */
static void test_method_role_matrix(void **state) {
  ccpayd_fixture *f = *state;
  size_t count = 0, role_count = 0;
  const rpc_method *methods = server_methods(&count);
  const role_def *roles = roles_all(&role_count);
  assert_true(role_count <= ROLES_MAX);
  for (size_t r = 0; r < role_count; r++) {
    char token[TOKEN_BYTES];
    char agent[64];
    snprintf(agent, sizeof agent, "matrix-%s", roles[r].name);
    assert_true(ccpayd_token_create(&f->server, roles[r].name, agent, NULL, token, sizeof token));
    test_client *client = test_client_create(f->server.port);
    test_client_set_token(client, token);
    for (size_t i = 0; i < count; i++) {
      const rpc_method *m = &methods[i];
      bool granted = roles_grants(&roles[r], m->permission);
      test_reply reply;
      grpc_status_code status = call_empty(client, m, &reply);
      test_reply_clear(&reply);
      if (granted &&
          (status == GRPC_STATUS_PERMISSION_DENIED || status == GRPC_STATUS_UNAUTHENTICATED)) {
        fail_msg("role %s was refused %s (%s): %s", roles[r].name, m->name,
                 test_status_name(status), reply.details);
      }
      if (!granted) {
        if (status != GRPC_STATUS_PERMISSION_DENIED || strcmp(reply.reason, "PERMISSION_DENIED") ||
            strstr(reply.details, m->permission) == NULL) {
          fail_msg("role %s was not refused %s as it should be: %s %s", roles[r].name, m->name,
                   test_status_name(status), reply.details);
        }
      }
    }
    test_client_destroy(client);
  }
  f->passed = true;
}

/* --- Authentication ------------------------------------------------------------------- */

/* No method but health and reflection answers without a valid token; failures past the
 * per-peer limit are refused before they are checked; a valid token still works. */
static void test_no_token_no_answer(void **state) {
  ccpayd_fixture *f = *state;
  size_t count = 0;
  const rpc_method *methods = server_methods(&count);
  test_client *anonymous = test_client_create(f->server.port);
  test_client *forged = test_client_create(f->server.port);
  test_client_set_token(forged, "ccp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  test_reply r;
  Grpc__Health__V1__HealthCheckRequest health = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  test_client_call(anonymous, "/grpc.health.v1.Health/Check", &health.base,
                   &grpc__health__v1__health_check_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);

  unsigned failures = 0;
  for (size_t i = 0; i < count; i++) {
    test_client *client = i % 2 == 0 ? anonymous : forged;
    call_empty(client, &methods[i], &r);
    test_reply_clear(&r);
    failures++;
    if (failures <= AUTH_FAILURES_PER_PEER_MAX) {
      assert_reply(&r, GRPC_STATUS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
    } else {
      assert_reply(&r, GRPC_STATUS_RESOURCE_EXHAUSTED, "TOO_MANY_AUTH_FAILURES", NULL);
    }
  }
  assert_true(failures > AUTH_FAILURES_PER_PEER_MAX);
  /* The same peer with a valid token is served. */
  Ccpay__V1__SearchCustomersRequest search = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  test_client_call(f->client, SEARCH_CUSTOMERS, &search.base,
                   &ccpay__v1__search_customers_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  test_client_destroy(anonymous);
  test_client_destroy(forged);
  /* Never a token in the log. */
  assert_false(ccpayd_log_contains(&f->server, f->server.admin_token));
  assert_false(ccpayd_log_contains(&f->server, "ccp_AAAA"));
  f->passed = true;
}

static grpc_status_code search_with(test_client *client, test_reply *r) {
  Ccpay__V1__SearchCustomersRequest search = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  grpc_status_code status =
      test_client_call(client, SEARCH_CUSTOMERS, &search.base,
                       &ccpay__v1__search_customers_response__descriptor, 0, r);
  test_reply_clear(r);
  return status;
}

static void test_token_expires(void **state) {
  ccpayd_fixture *f = *state;
  char token[TOKEN_BYTES];
  assert_true(ccpayd_token_create(&f->server, "support", "short-lived", "2s", token, sizeof token));
  test_client *client = test_client_create(f->server.port);
  test_client_set_token(client, token);
  test_reply r;
  assert_int_equal(search_with(client, &r), GRPC_STATUS_OK);
  sleep(2);
  usleep(200 * 1000);
  search_with(client, &r);
  assert_reply(&r, GRPC_STATUS_UNAUTHENTICATED, "UNAUTHENTICATED", "expired");
  test_client_destroy(client);
  f->passed = true;
}

/* CreateToken online shows the secret once; the token works at once; RevokeToken ends
 * it at once; ListTokens never shows a secret. */
static void test_token_online_lifecycle(void **state) {
  ccpayd_fixture *f = *state;
  Ccpay__V1__Token wanted = CCPAY__V1__TOKEN__INIT;
  wanted.role = "csr";
  wanted.agent_id = "csr-0042";
  Ccpay__V1__CreateTokenRequest create = CCPAY__V1__CREATE_TOKEN_REQUEST__INIT;
  create.token = &wanted;
  create.request_id = "tok-1";
  test_reply r;
  test_client_call(f->client, CREATE_TOKEN, &create.base,
                   &ccpay__v1__create_token_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__CreateTokenResponse *created = (const void *)r.message;
  assert_int_equal(strlen(created->secret), TOKEN_TEXT_BYTES);
  assert_string_equal(created->token->role, "csr");
  assert_string_equal(created->token->agent_id, "csr-0042");
  assert_string_equal(created->token->created_by, "test-admin");
  char secret[TOKEN_BYTES], id[64];
  snprintf(secret, sizeof secret, "%s", created->secret);
  snprintf(id, sizeof id, "%s", created->token->id);
  test_reply_clear(&r);

  /* A retry answers the same token, without its secret. */
  test_client_call(f->client, CREATE_TOKEN, &create.base,
                   &ccpay__v1__create_token_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_string_equal(((const Ccpay__V1__CreateTokenResponse *)r.message)->secret, "");
  assert_string_equal(((const Ccpay__V1__CreateTokenResponse *)r.message)->token->id, id);
  test_reply_clear(&r);

  test_client *csr = test_client_create(f->server.port);
  test_client_set_token(csr, secret);
  assert_int_equal(search_with(csr, &r), GRPC_STATUS_OK);
  /* A CSR may not manage tokens. */
  Ccpay__V1__ListTokensRequest list = CCPAY__V1__LIST_TOKENS_REQUEST__INIT;
  test_client_call(csr, LIST_TOKENS, &list.base, &ccpay__v1__list_tokens_response__descriptor, 0,
                   &r);
  assert_reply(&r, GRPC_STATUS_PERMISSION_DENIED, "PERMISSION_DENIED", "tokens.read");
  test_reply_clear(&r);

  /* ListTokens: the admin's and the CSR's, newest first. */
  test_client_call(f->client, LIST_TOKENS, &list.base, &ccpay__v1__list_tokens_response__descriptor,
                   0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__ListTokensResponse *tokens = (const void *)r.message;
  assert_int_equal(tokens->n_tokens, 2);
  assert_string_equal(tokens->tokens[0]->id, id);
  test_reply_clear(&r);

  Ccpay__V1__RevokeTokenRequest revoke = CCPAY__V1__REVOKE_TOKEN_REQUEST__INIT;
  revoke.id = id;
  revoke.request_id = "revoke-1";
  test_client_call(f->client, REVOKE_TOKEN, &revoke.base, &ccpay__v1__token__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_non_null(((const Ccpay__V1__Token *)r.message)->revoke_time);
  test_reply_clear(&r);
  search_with(csr, &r);
  assert_reply(&r, GRPC_STATUS_UNAUTHENTICATED, "UNAUTHENTICATED", "revoked");
  test_client_destroy(csr);

  /* Revoked tokens are listed only when asked for. */
  test_client_call(f->client, LIST_TOKENS, &list.base, &ccpay__v1__list_tokens_response__descriptor,
                   0, &r);
  assert_int_equal(((const Ccpay__V1__ListTokensResponse *)r.message)->n_tokens, 1);
  test_reply_clear(&r);
  list.include_inactive = true;
  test_client_call(f->client, LIST_TOKENS, &list.base, &ccpay__v1__list_tokens_response__descriptor,
                   0, &r);
  assert_int_equal(((const Ccpay__V1__ListTokensResponse *)r.message)->n_tokens, 2);
  test_reply_clear(&r);
  assert_false(ccpayd_log_contains(&f->server, secret));
  f->passed = true;
}

/* --- The audit trail ------------------------------------------------------------------ */

typedef struct audit_seen {
  size_t count;
  char method[AUDIT_RECORDS_MAX][96];
  char outcome[AUDIT_RECORDS_MAX][48];
  char agent[AUDIT_RECORDS_MAX][64];
  char targets[AUDIT_RECORDS_MAX][256];
  char after[AUDIT_RECORDS_MAX][256];
  int64_t sequence[AUDIT_RECORDS_MAX];
} audit_seen;

static void audit_keep(audit_seen *seen, const Ccpay__V1__AuditRecord *a) {
  assert_true(seen->count < AUDIT_RECORDS_MAX);
  size_t i = seen->count++;
  snprintf(seen->method[i], sizeof seen->method[i], "%s", a->method);
  snprintf(seen->outcome[i], sizeof seen->outcome[i], "%s", a->outcome);
  snprintf(seen->agent[i], sizeof seen->agent[i], "%s", a->agent_id);
  snprintf(seen->after[i], sizeof seen->after[i], "%s", a->after);
  seen->targets[i][0] = '\0';
  for (size_t t = 0; t < a->n_target_ids; t++) {
    strncat(seen->targets[i], a->target_ids[t],
            sizeof seen->targets[i] - strlen(seen->targets[i]) - 2);
    strcat(seen->targets[i], " ");
  }
  seen->sequence[i] = a->sequence;
}

/* Replays the whole trail (follow off). */
static void audit_replay(test_client *client, audit_seen *seen) {
  memset(seen, 0, sizeof *seen);
  Ccpay__V1__StreamAuditRequest request = CCPAY__V1__STREAM_AUDIT_REQUEST__INIT;
  test_stream *s = test_stream_start(client, STREAM_AUDIT, &request.base,
                                     &ccpay__v1__audit_record__descriptor, 0);
  ProtobufCMessage *m = NULL;
  while (test_stream_read(s, STREAM_WAIT_MS, &m) == TEST_STREAM_MESSAGE) {
    audit_keep(seen, (const Ccpay__V1__AuditRecord *)m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  test_reply r;
  assert_int_equal(test_stream_finish(s, STREAM_WAIT_MS, &r), GRPC_STATUS_OK);
}

static void test_audit_of_a_session(void **state) {
  ccpayd_fixture *f = *state;
  /* A follower from the start, to see the records arrive live. */
  Ccpay__V1__StreamAuditRequest follow = CCPAY__V1__STREAM_AUDIT_REQUEST__INIT;
  follow.follow = true;
  test_stream *live = test_stream_start(f->client, STREAM_AUDIT, &follow.base,
                                        &ccpay__v1__audit_record__descriptor, 30000);

  test_client *csr = ccpayd_client_for_role(&f->server, "csr", "csr-7");
  assert_non_null(csr);
  test_reply r;
  call_create_customer(csr, "s-1", "Dana Reyes", "USD", 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__Customer *c = (const void *)r.message;
  assert_string_equal(c->audit->created_by, "csr-7");
  char customer_id[TEST_ID_BYTES];
  snprintf(customer_id, sizeof customer_id, "%s", c->id);
  test_reply_clear(&r);

  order_draft d;
  order_draft_init(&d, customer_id, "USD");
  order_draft_line(&d, "MUG", 2, 1250, 0, 0);
  call_create_order(csr, "s-2", &d, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  char order_id[TEST_ID_BYTES];
  snprintf(order_id, sizeof order_id, "%s", ((const Ccpay__V1__Order *)r.message)->id);
  assert_string_equal(((const Ccpay__V1__Order *)r.message)->audit->created_by, "csr-7");
  test_reply_clear(&r);

  /* Cash for the whole order (the write path of mutations), then SubmitOrder (the path of
   * payment flows, which here has no processor to call). */
  Ccpay__V1__Money cash = CCPAY__V1__MONEY__INIT;
  cash.currency_code = "USD";
  cash.amount_minor = 2500;
  Ccpay__V1__Payment payment = CCPAY__V1__PAYMENT__INIT;
  payment.tender_type = CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CASH;
  payment.amount = &cash;
  Ccpay__V1__AddPaymentRequest add = CCPAY__V1__ADD_PAYMENT_REQUEST__INIT;
  add.order_id = order_id;
  add.payment = &payment;
  add.request_id = "s-pay";
  test_client_call(csr, "/ccpay.v1.OrderService/AddPayment", &add.base,
                   &ccpay__v1__payment__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  char payment_id[TEST_ID_BYTES];
  snprintf(payment_id, sizeof payment_id, "%s", ((const Ccpay__V1__Payment *)r.message)->id);
  assert_string_equal(((const Ccpay__V1__Payment *)r.message)->audit->created_by, "csr-7");
  test_reply_clear(&r);
  call_submit_order(csr, "s-submit", order_id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  /* The cash's journal entry names its agent too. */
  call_list_entries(f->client, 0, 10, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__ListEntriesResponse *entries = (const void *)r.message;
  assert_int_equal(entries->n_entries, 1);
  assert_string_equal(entries->entries[0]->payment_id, payment_id);
  assert_string_equal(entries->entries[0]->created_by, "csr-7");
  test_reply_clear(&r);

  /* A change the writer refuses: audited with its outcome. */
  Ccpay__V1__HoldOrderRequest hold = CCPAY__V1__HOLD_ORDER_REQUEST__INIT;
  hold.order_id = "ord_0000000000001";
  hold.hold_code = "FRAUD";
  hold.request_id = "s-3";
  test_client_call(csr, HOLD_ORDER, &hold.base, &ccpay__v1__order__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_NOT_FOUND, "NOT_FOUND", NULL);
  test_reply_clear(&r);
  /* A retry of s-1 writes nothing and records nothing. */
  call_create_customer(csr, "s-1", "Dana Reyes", "USD", 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  /* A failed authentication. */
  test_client_set_token(csr, "ccp_not-a-token");
  search_with(csr, &r);
  assert_reply(&r, GRPC_STATUS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
  test_client_destroy(csr);

  /* The token's creation (offline, by ccpay-admin) came first: the fixture's admin token,
   * then csr-7's. */
  static const char *const methods[] = {
      "ccpay-admin token create",
      "ccpay-admin token create",
      "/ccpay.v1.CustomerService/CreateCustomer",
      "/ccpay.v1.OrderService/CreateOrder",
      "/ccpay.v1.OrderService/AddPayment",
      "/ccpay.v1.OrderService/SubmitOrder",
      "/ccpay.v1.OrderService/HoldOrder",
      "/ccpay.v1.CustomerService/SearchCustomers",
  };
  static const char *const outcomes[] = {"OK", "OK", "OK",        "OK",
                                         "OK", "OK", "NOT_FOUND", "UNAUTHENTICATED"};
  enum { EXPECTED = sizeof methods / sizeof methods[0] };
  /* The (unfiltered) wait for every record is bounded: the failed authentication's record
   * is written without holding up its answer. */
  audit_seen seen;
  for (int tries = 0; tries < 50; tries++) {
    audit_replay(f->client, &seen);
    if (seen.count >= EXPECTED) break;
    usleep(100 * 1000);
  }
  assert_int_equal(seen.count, EXPECTED);
  for (size_t i = 0; i < EXPECTED; i++) {
    assert_int_equal(seen.sequence[i], (int64_t)i + 1);
    assert_string_equal(seen.method[i], methods[i]);
    assert_string_equal(seen.outcome[i], outcomes[i]);
  }
  assert_string_equal(seen.agent[2], "csr-7");
  assert_non_null(strstr(seen.targets[2], customer_id));
  assert_non_null(strstr(seen.targets[3], order_id));
  assert_non_null(strstr(seen.targets[3], customer_id));
  assert_non_null(strstr(seen.after[1], "role=csr agent_id=csr-7"));
  assert_non_null(strstr(seen.targets[4], payment_id));
  assert_non_null(strstr(seen.targets[5], order_id));
  assert_string_equal(seen.agent[5], "csr-7");
  assert_string_equal(seen.agent[7], ""); /* an unknown token names nobody */

  /* The follower saw the same records, in the same order, as they were committed. */
  for (size_t i = 0; i < EXPECTED; i++) {
    ProtobufCMessage *m = NULL;
    assert_int_equal(test_stream_read(live, STREAM_WAIT_MS, &m), TEST_STREAM_MESSAGE);
    const Ccpay__V1__AuditRecord *a = (const void *)m;
    assert_int_equal(a->sequence, (int64_t)i + 1);
    assert_string_equal(a->method, methods[i]);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  test_stream_cancel(live);
  test_stream_finish(live, STREAM_WAIT_MS, &r);

  /* The stopped database verifies, audit sequence included. */
  assert_int_equal(ccpayd_stop(&f->server, CCPAYD_STOP_TIMEOUT_MS), 0);
  const char *args[] = {"verify", "--data-dir", f->server.data_dir, NULL};
  char output[2048];
  int status =
      ccpayd_run_program(&f->server, ccpayd_admin_path(), args, 30000, output, sizeof output);
  if (status != 0) fail_msg("verify: %s", output);
  assert_non_null(strstr(output, "2 tokens, 8 audit records"));
  f->passed = true;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_permission_is_known),
      cmocka_unit_test_setup_teardown(test_method_role_matrix, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_no_token_no_answer, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_token_expires, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_token_online_lifecycle, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_audit_of_a_session, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
