/* ccpayd as a process: health, unknown methods, undecodable requests, graceful shutdown
 * with calls in flight, and start-up refusing bad configuration. Each test runs its own
 * ccpayd on a fresh data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccpay/v1/customer.pb-c.h"
#include "ccpayd_fixture.h"
#include "grpc/health/v1/health.pb-c.h"
#include "test_client.h"

#define HEALTH_CHECK "/grpc.health.v1.Health/Check"
#define CREATE_CUSTOMER "/ccpay.v1.CustomerService/CreateCustomer"
#define GET_CUSTOMER "/ccpay.v1.CustomerService/GetCustomer"
#define SEARCH_CUSTOMERS "/ccpay.v1.CustomerService/SearchCustomers"

enum {
  UNIMPLEMENTED_ANSWER_MS_MAX = 2000, /* "quickly": far below the 10 s deadline */
  CONFIG_EXIT_TIMEOUT_MS = 10000,
  OUTPUT_BYTES_MAX = 4096,
  INFLIGHT_THREADS = 4,
  INFLIGHT_CALLS_PER_THREAD_MAX = 2000,
  INFLIGHT_ACKED_BEFORE_STOP = 40, /* calls flowing steadily before SIGTERM */
  INFLIGHT_WAIT_MS_MAX = 20000,
};

static size_t count_customers(test_client *client) {
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  request.page_size = 200;
  test_reply r;
  test_client_call(client, SEARCH_CUSTOMERS, &request.base,
                   &ccpay__v1__search_customers_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__SearchCustomersResponse *page = (const void *)r.message;
  assert_string_equal(page->next_page_token, ""); /* these tests make fewer than a page */
  size_t count = page->n_customers;
  test_reply_clear(&r);
  return count;
}

/* --- Health, unknown methods, undecodable requests ------------------------------------ */

static Grpc__Health__V1__HealthCheckResponse__ServingStatus health_of(test_client *client,
                                                                      const char *service) {
  Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  request.service = (char *)service;
  test_reply r;
  test_client_call(client, HEALTH_CHECK, &request.base,
                   &grpc__health__v1__health_check_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  Grpc__Health__V1__HealthCheckResponse__ServingStatus status =
      ((const Grpc__Health__V1__HealthCheckResponse *)r.message)->status;
  test_reply_clear(&r);
  return status;
}

static void health_check_answers_serving(void **state) {
  ccpayd_fixture *f = *state;
  const Grpc__Health__V1__HealthCheckResponse__ServingStatus serving =
      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
  assert_int_equal(health_of(f->client, ""), serving);
  assert_int_equal(health_of(f->client, "ccpay.v1.CustomerService"), serving);

  /* A service the server does not have is NOT_FOUND, not a cheerful SERVING. */
  Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  request.service = "no.such.v1.Service";
  test_reply r;
  test_client_call(f->client, HEALTH_CHECK, &request.base,
                   &grpc__health__v1__health_check_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_NOT_FOUND, "NOT_FOUND", "no.such.v1.Service");
  f->passed = true;
}

static void expect_unimplemented(test_client *client, const char *method) {
  static const uint8_t empty_message[1];
  test_reply r;
  test_client_call_raw(client, method, empty_message, 0,
                       &grpc__health__v1__health_check_response__descriptor, 10000, &r);
  assert_reply(&r, GRPC_STATUS_UNIMPLEMENTED, "UNIMPLEMENTED", method);
  if (r.elapsed_ms > UNIMPLEMENTED_ANSWER_MS_MAX) {
    fail_msg("%s answered after %lld ms: the server let it wait for the deadline", method,
             (long long)r.elapsed_ms);
  }
}

static void unknown_method_answers_unimplemented_quickly(void **state) {
  ccpayd_fixture *f = *state;
  expect_unimplemented(f->client, "/ccpay.v1.CustomerService/DeleteCustomer");
  expect_unimplemented(f->client, "/no.such.v1.Service/Method");
  /* Served methods still work on the same connection afterwards. */
  assert_int_equal(health_of(f->client, ""),
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  f->passed = true;
}

static void undecodable_request_is_malformed(void **state) {
  ccpayd_fixture *f = *state;
  /* Field 1 (customer) claims 5 bytes but only 1 follows. */
  static const uint8_t truncated[] = {0x0a, 0x05, 'A'};
  /* Field 2 (request_id) with wire type 7, which does not exist. */
  static const uint8_t bad_wire_type[] = {0x17, 0x00};
  test_reply r;
  test_client_call_raw(f->client, CREATE_CUSTOMER, truncated, sizeof truncated,
                       &ccpay__v1__customer__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "MALFORMED_REQUEST", "request");
  test_client_call_raw(f->client, GET_CUSTOMER, bad_wire_type, sizeof bad_wire_type,
                       &ccpay__v1__customer__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "MALFORMED_REQUEST", "request");
  assert_int_equal(count_customers(f->client), 0);
  f->passed = true;
}

/* --- Graceful stop with calls in flight ----------------------------------------------- */

typedef struct inflight {
  test_client *client;
  atomic_int *acked; /* CreateCustomer calls answered OK, over all threads */
  atomic_bool *stop;
  int thread_index;
  /* Per thread: the ids acknowledged, and the first status other than OK/UNAVAILABLE. */
  char (*ids)[32];
  size_t id_count;
  test_reply unexpected;
  bool has_unexpected;
  char unexpected_request_id[64];
} inflight;

/* Creates customers until the server goes away (the first non-OK answer) or stop. */
static void *inflight_thread(void *argument) {
  inflight *t = argument;
  for (int i = 0; i < INFLIGHT_CALLS_PER_THREAD_MAX && !atomic_load(t->stop); i++) {
    char request_id[64];
    snprintf(request_id, sizeof request_id, "inflight-%d-%d", t->thread_index, i);
    Ccpay__V1__Customer customer = CCPAY__V1__CUSTOMER__INIT;
    customer.name = "In Flight";
    customer.currency_code = "USD";
    Ccpay__V1__CreateCustomerRequest request = CCPAY__V1__CREATE_CUSTOMER_REQUEST__INIT;
    request.customer = &customer;
    request.request_id = request_id;
    test_reply r;
    test_client_call(t->client, CREATE_CUSTOMER, &request.base, &ccpay__v1__customer__descriptor, 0,
                     &r);
    if (r.status != GRPC_STATUS_OK) {
      t->has_unexpected = r.status != GRPC_STATUS_UNAVAILABLE;
      t->unexpected = r;
      snprintf(t->unexpected_request_id, sizeof t->unexpected_request_id, "%s", request_id);
      break;
    }
    snprintf(t->ids[t->id_count++], 32, "%s", ((const Ccpay__V1__Customer *)r.message)->id);
    test_reply_clear(&r);
    atomic_fetch_add(t->acked, 1);
  }
  return NULL;
}

static void wait_for_acks(atomic_int *acked, int wanted) {
  for (int waited_ms = 0; atomic_load(acked) < wanted; waited_ms += 5) {
    if (waited_ms > INFLIGHT_WAIT_MS_MAX) fail_msg("only %d calls answered", atomic_load(acked));
    usleep(5000);
  }
}

/* Every acknowledged customer must be readable after a restart. */
static void expect_acked_survive(ccpayd_fixture *f, inflight *threads, size_t acked) {
  assert_true(ccpayd_fixture_start(f));
  assert_true(count_customers(f->client) >= acked);
  for (int k = 0; k < INFLIGHT_THREADS; k++) {
    for (size_t i = 0; i < threads[k].id_count; i++) {
      Ccpay__V1__GetCustomerRequest get = CCPAY__V1__GET_CUSTOMER_REQUEST__INIT;
      get.id = threads[k].ids[i];
      test_reply r;
      test_client_call(f->client, GET_CUSTOMER, &get.base, &ccpay__v1__customer__descriptor, 0, &r);
      assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
      test_reply_clear(&r);
    }
  }
}

/* Draining answers the calls ccpayd accepted; calls it refuses must not have run. Known
 * gRPC core behaviour (1.51): a call that reaches the server after
 * grpc_server_shutdown_and_notify but before the client has seen GOAWAY is dropped by the
 * core ("zombied") and the client sees CANCELLED, not UNAVAILABLE/SHUTTING_DOWN. Accepted
 * here only when ccpayd's log shows the call never reached a handler (every handled
 * CreateCustomer is logged with its request_id), so the client may safely retry it; any
 * other ending fails. ccpay means such calls to get UNAVAILABLE (SHUTTING_DOWN). */
static void expect_not_run(const ccpayd_fixture *f, const inflight *t) {
  const test_reply *r = &t->unexpected;
  char logged[96]; /* as the call's log line quotes it, so "-1" cannot match "-10" */
  snprintf(logged, sizeof logged, "request_id=\"%s\"", t->unexpected_request_id);
  bool handled = ccpayd_log_contains(&f->server, logged);
  if (r->status == GRPC_STATUS_CANCELLED && r->reason[0] == '\0' && !handled) {
    print_message("note: %s ended CANCELLED (\"%s\") without reaching ccpayd's handler\n",
                  t->unexpected_request_id, r->details);
    return;
  }
  fail_msg("call %s during the stop ended %s: \"%s\" reason=%s; ccpayd %s it",
           t->unexpected_request_id, test_status_name(r->status), r->details, r->reason,
           handled ? "handled" : "never handled");
}

static void sigterm_exits_cleanly_with_calls_in_flight(void **state) {
  ccpayd_fixture *f = *state;
  static char ids[INFLIGHT_THREADS][INFLIGHT_CALLS_PER_THREAD_MAX][32];
  inflight threads[INFLIGHT_THREADS];
  atomic_int acked;
  atomic_bool stop;
  atomic_init(&acked, 0);
  atomic_init(&stop, false);
  pthread_t handles[INFLIGHT_THREADS];
  for (int k = 0; k < INFLIGHT_THREADS; k++) {
    threads[k] = (inflight){
        .client = f->client, .acked = &acked, .stop = &stop, .thread_index = k, .ids = ids[k]};
    assert_int_equal(pthread_create(&handles[k], NULL, inflight_thread, &threads[k]), 0);
  }
  /* Calls are flowing steadily from every thread: SIGTERM lands with some in flight. */
  wait_for_acks(&acked, INFLIGHT_ACKED_BEFORE_STOP);

  int exit_status = ccpayd_stop(&f->server, CCPAYD_STOP_TIMEOUT_MS);
  atomic_store(&stop, true);
  size_t total = 0;
  for (int k = 0; k < INFLIGHT_THREADS; k++) {
    pthread_join(handles[k], NULL);
    total += threads[k].id_count;
  }
  assert_int_equal(exit_status, 0);
  for (int k = 0; k < INFLIGHT_THREADS; k++) {
    if (threads[k].has_unexpected) expect_not_run(f, &threads[k]);
  }
  print_message("%zu calls acknowledged before and during the stop\n", total);
  expect_acked_survive(f, threads, total);
  f->passed = true;
}

/* --- Bad configuration ---------------------------------------------------------------- */

/* Runs ccpayd with args and expects exit code 2, a message containing setting, and no
 * port file (it never served). */
static void expect_refused(ccpayd_fixture *f, const char *const *args, const char *setting) {
  char output[OUTPUT_BYTES_MAX];
  int exit_status = ccpayd_run(&f->server, args, CONFIG_EXIT_TIMEOUT_MS, output, sizeof output);
  if (exit_status != 2 || strstr(output, setting) == NULL) {
    fail_msg("expected exit 2 naming %s; got exit %d with output:\n%s", setting, exit_status,
             output);
  }
  assert_int_equal(access(f->server.port_file, F_OK), -1);
  f->passed = true;
}

/* Valid flags around the one under test, so only that one can be the reason. */
#define VALID_REST "--data-dir", "data", "--port-file", "port"

static void config_listen_not_loopback_refused(void **state) {
  const char *args[] = {"--listen", "0.0.0.0:0", "--plaintext", VALID_REST, NULL};
  expect_refused(*state, args, "--listen");
}

static void config_without_plaintext_refused(void **state) {
  const char *args[] = {"--listen", "127.0.0.1:0", VALID_REST, NULL};
  expect_refused(*state, args, "--plaintext");
}

static void config_zero_threads_refused(void **state) {
  const char *args[] = {"--listen", "127.0.0.1:0", "--plaintext", "--threads",
                        "0",        VALID_REST,    NULL};
  expect_refused(*state, args, "--threads");
}

static void config_bad_map_size_refused(void **state) {
  const char *args[] = {"--listen", "127.0.0.1:0", "--plaintext", "--map-size",
                        "12Q",      VALID_REST,    NULL};
  expect_refused(*state, args, "--map-size");
}

static void config_bad_log_level_refused(void **state) {
  const char *args[] = {"--listen", "127.0.0.1:0", "--plaintext", "--log-level",
                        "loud",     VALID_REST,    NULL};
  expect_refused(*state, args, "--log-level");
}

static void config_unknown_flag_refused(void **state) {
  const char *args[] = {"--listen", "127.0.0.1:0", "--plaintext", "--frobnicate", VALID_REST, NULL};
  expect_refused(*state, args, "--frobnicate");
}

static void write_config(const ccpayd_fixture *f, const char *text, char *path) {
  int n = snprintf(path, PATH_MAX, "%.*s/ccpayd.ini", PATH_MAX - 16, f->server.dir);
  assert_true(n > 0 && n < PATH_MAX);
  FILE *file = fopen(path, "w");
  assert_non_null(file);
  assert_true(fputs(text, file) >= 0);
  assert_int_equal(fclose(file), 0);
}

static void config_file_unknown_key_refused(void **state) {
  char path[PATH_MAX];
  write_config(*state,
               "[server]\nlisten = 127.0.0.1:0\nplaintext = true\nfrobnicate = 3\n"
               "[storage]\ndata_dir = data\n",
               path);
  const char *args[] = {"--config", path, "--port-file", "port", NULL};
  expect_refused(*state, args, "[server] frobnicate");
}

static void config_file_bad_value_refused(void **state) {
  char path[PATH_MAX];
  write_config(*state, "[server]\nlisten = 127.0.0.1:0\nplaintext = true\nthreads = 65\n", path);
  const char *args[] = {"--config", path, VALID_REST, NULL};
  expect_refused(*state, args, "[server] threads");
}

/* Tests with a running server, and tests that run ccpayd themselves. */
#define SERVER_TEST(name) \
  cmocka_unit_test_setup_teardown(name, ccpayd_fixture_setup, ccpayd_fixture_teardown)
#define NO_SERVER_TEST(name) \
  cmocka_unit_test_setup_teardown(name, ccpayd_fixture_setup_no_server, ccpayd_fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      SERVER_TEST(health_check_answers_serving),
      SERVER_TEST(unknown_method_answers_unimplemented_quickly),
      SERVER_TEST(undecodable_request_is_malformed),
      SERVER_TEST(sigterm_exits_cleanly_with_calls_in_flight),
      NO_SERVER_TEST(config_listen_not_loopback_refused),
      NO_SERVER_TEST(config_without_plaintext_refused),
      NO_SERVER_TEST(config_zero_threads_refused),
      NO_SERVER_TEST(config_bad_map_size_refused),
      NO_SERVER_TEST(config_bad_log_level_refused),
      NO_SERVER_TEST(config_unknown_flag_refused),
      NO_SERVER_TEST(config_file_unknown_key_refused),
      NO_SERVER_TEST(config_file_bad_value_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
