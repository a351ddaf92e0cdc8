/* ccpay.v1.CustomerService against the real ccpayd: round trips, idempotency, validation
 * (and that a refused call changes nothing), updates, search and paging, durability
 * across kill -9, and concurrent creates. Each test runs its own ccpayd on a fresh data
 * directory, so counts are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpay/v1/customer.pb-c.h"
#include "ccpayd_fixture.h"
#include "test_client.h"

#define CREATE_CUSTOMER "/ccpay.v1.CustomerService/CreateCustomer"
#define GET_CUSTOMER "/ccpay.v1.CustomerService/GetCustomer"
#define UPDATE_CUSTOMER "/ccpay.v1.CustomerService/UpdateCustomer"
#define SEARCH_CUSTOMERS "/ccpay.v1.CustomerService/SearchCustomers"

enum {
  ID_BYTES = 32,           /* "cus_" + 13, with room */
  ID_TEXT_LEN = 4 + 13,    /* the documented id length */
  LISTING_PAGES_MAX = 100, /* a listing that pages longer than this is broken */
  CONCURRENT_THREADS = 8,
  CONCURRENT_CALLS_PER_THREAD = 50,
  CONCURRENT_CALLS = CONCURRENT_THREADS * CONCURRENT_CALLS_PER_THREAD,
};

/* --- Calls ---------------------------------------------------------------------------- */

static Ccpay__V1__Customer customer_of(const char *name, const char *email, const char *phone,
                                       const char *currency_code) {
  Ccpay__V1__Customer c = CCPAY__V1__CUSTOMER__INIT;
  c.name = (char *)name;
  c.email = (char *)email;
  c.phone = (char *)phone;
  c.currency_code = (char *)currency_code;
  return c;
}

static grpc_status_code create(test_client *client, const char *request_id,
                               const Ccpay__V1__Customer *customer, test_reply *r) {
  Ccpay__V1__CreateCustomerRequest request = CCPAY__V1__CREATE_CUSTOMER_REQUEST__INIT;
  request.customer = (Ccpay__V1__Customer *)customer;
  request.request_id = (char *)request_id;
  return test_client_call(client, CREATE_CUSTOMER, &request.base, &ccpay__v1__customer__descriptor,
                          0, r);
}

/* Creates a customer that must succeed; its id goes to id_out (ID_BYTES). */
static void create_ok(test_client *client, const char *request_id, const char *name,
                      const char *email, const char *phone, char *id_out) {
  Ccpay__V1__Customer c = customer_of(name, email, phone, "USD");
  test_reply r;
  create(client, request_id, &c, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  snprintf(id_out, ID_BYTES, "%s", ((const Ccpay__V1__Customer *)r.message)->id);
  test_reply_clear(&r);
}

static grpc_status_code get(test_client *client, const char *id, test_reply *r) {
  Ccpay__V1__GetCustomerRequest request = CCPAY__V1__GET_CUSTOMER_REQUEST__INIT;
  request.id = (char *)id;
  return test_client_call(client, GET_CUSTOMER, &request.base, &ccpay__v1__customer__descriptor, 0,
                          r);
}

static grpc_status_code update(test_client *client, const char *request_id,
                               const Ccpay__V1__Customer *customer, const char *const *mask,
                               size_t mask_count, test_reply *r) {
  Ccpay__V1__UpdateCustomerRequest request = CCPAY__V1__UPDATE_CUSTOMER_REQUEST__INIT;
  request.customer = (Ccpay__V1__Customer *)customer;
  request.update_mask = (char **)mask;
  request.n_update_mask = mask_count;
  request.request_id = (char *)request_id;
  return test_client_call(client, UPDATE_CUSTOMER, &request.base, &ccpay__v1__customer__descriptor,
                          0, r);
}

static grpc_status_code search(test_client *client,
                               const Ccpay__V1__SearchCustomersRequest *request, test_reply *r) {
  return test_client_call(client, SEARCH_CUSTOMERS, &request->base,
                          &ccpay__v1__search_customers_response__descriptor, 0, r);
}

static const Ccpay__V1__Customer *customer_in(const test_reply *r) {
  return (const Ccpay__V1__Customer *)r->message;
}

static const Ccpay__V1__SearchCustomersResponse *page_in(const test_reply *r) {
  return (const Ccpay__V1__SearchCustomersResponse *)r->message;
}

/* Pages through a listing (request's filters, page_size) and collects every id in order,
 * at most ids_max. Returns how many there were. */
static size_t list_ids(test_client *client, Ccpay__V1__SearchCustomersRequest request,
                       char (*ids)[ID_BYTES], size_t ids_max) {
  char token[2048] = "";
  size_t count = 0;
  for (int pages = 0;; pages++) {
    assert_true(pages < LISTING_PAGES_MAX);
    request.page_token = token;
    test_reply r;
    search(client, &request, &r);
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    const Ccpay__V1__SearchCustomersResponse *page = page_in(&r);
    assert_true(request.page_size == 0 || page->n_customers <= (size_t)request.page_size);
    for (size_t i = 0; i < page->n_customers; i++, count++) {
      if (count < ids_max) snprintf(ids[count], ID_BYTES, "%s", page->customers[i]->id);
    }
    assert_true(strlen(page->next_page_token) < sizeof token);
    snprintf(token, sizeof token, "%s", page->next_page_token);
    test_reply_clear(&r);
    if (token[0] == '\0') return count;
  }
}

/* SearchCustomers with no filter, every page: how many customers exist. */
static size_t count_customers(test_client *client) {
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  request.page_size = 200;
  return list_ids(client, request, NULL, 0);
}

/* One search page that must succeed; the caller clears r. */
static const Ccpay__V1__SearchCustomersResponse *search_ok(
    test_client *client, const Ccpay__V1__SearchCustomersRequest *request, test_reply *r) {
  search(client, request, r);
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return page_in(r);
}

/* --- Create and get ------------------------------------------------------------------- */

static void assert_new_customer(const Ccpay__V1__Customer *c) {
  assert_int_equal(strlen(c->id), ID_TEXT_LEN);
  assert_memory_equal(c->id, "cus_", 4);
  assert_string_equal(c->name, "Zoë Ferreira");
  assert_string_equal(c->email, "zoe@example.pt");
  assert_string_equal(c->phone, "+351 21 000 0000");
  assert_string_equal(c->currency_code, "EUR");
  assert_int_equal(c->version, 1);
  /* credit_limit's currency is filled in from the customer's. */
  assert_non_null(c->credit_limit);
  assert_string_equal(c->credit_limit->currency_code, "EUR");
  assert_int_equal(c->credit_limit->amount_minor, 50000);
  /* No ledger activity yet: a zero balance, in the customer's currency. */
  assert_non_null(c->balance);
  assert_string_equal(c->balance->currency_code, "EUR");
  assert_int_equal(c->balance->amount_minor, 0);
  assert_non_null(c->audit);
  assert_non_null(c->audit->create_time);
  assert_true(c->audit->create_time->seconds > 1600000000); /* a real wall-clock time */
}

static void create_then_get_round_trips(void **state) {
  ccpayd_fixture *f = *state;
  Ccpay__V1__Money limit = CCPAY__V1__MONEY__INIT;
  limit.amount_minor = 50000; /* no currency: the server fills it in */
  Ccpay__V1__Customer input =
      customer_of("Zoë Ferreira", "zoe@example.pt", "+351 21 000 0000", "EUR");
  input.credit_limit = &limit;
  test_reply created;
  create(f->client, "round-trip-1", &input, &created);
  assert_reply(&created, GRPC_STATUS_OK, NULL, NULL);
  assert_new_customer(customer_in(&created));

  test_reply got;
  get(f->client, customer_in(&created)->id, &got);
  assert_reply(&got, GRPC_STATUS_OK, NULL, NULL);
  assert_new_customer(customer_in(&got));
  assert_string_equal(customer_in(&got)->id, customer_in(&created)->id);
  assert_int_equal(customer_in(&got)->audit->create_time->seconds,
                   customer_in(&created)->audit->create_time->seconds);
  assert_int_equal(count_customers(f->client), 1);
  test_reply_clear(&created);
  test_reply_clear(&got);
  f->passed = true;
}

static void retry_with_same_request_id_returns_same_customer(void **state) {
  ccpayd_fixture *f = *state;
  Ccpay__V1__Customer input = customer_of("Ann Retry", "", "", "USD");
  test_reply first, again;
  create(f->client, "retry-1", &input, &first);
  assert_reply(&first, GRPC_STATUS_OK, NULL, NULL);
  create(f->client, "retry-1", &input, &again);
  assert_reply(&again, GRPC_STATUS_OK, NULL, NULL);
  assert_string_equal(customer_in(&again)->id, customer_in(&first)->id);
  assert_int_equal(customer_in(&again)->version, 1);
  assert_int_equal(customer_in(&again)->audit->create_time->nanos,
                   customer_in(&first)->audit->create_time->nanos);
  assert_int_equal(count_customers(f->client), 1);
  test_reply_clear(&first);
  test_reply_clear(&again);
  f->passed = true;
}

static void same_request_id_with_other_body_is_refused(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "reuse-1", "Ann Original", "", "", id);
  Ccpay__V1__Customer other = customer_of("Bob Different", "", "", "USD");
  test_reply r;
  create(f->client, "reuse-1", &other, &r);
  assert_reply(&r, GRPC_STATUS_FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", "request_id");
  assert_int_equal(count_customers(f->client), 1);
  get(f->client, id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_string_equal(customer_in(&r)->name, "Ann Original");
  test_reply_clear(&r);
  f->passed = true;
}

/* --- Validation: each refusal names the field and leaves nothing behind --------------- */

static void expect_create_refused(ccpayd_fixture *f, const char *request_id,
                                  const Ccpay__V1__Customer *customer, const char *reason,
                                  const char *field) {
  char id[ID_BYTES];
  create_ok(f->client, "valid-before", "Valid Customer", "", "", id);
  size_t before = count_customers(f->client);
  test_reply r;
  create(f->client, request_id, customer, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, reason, field);
  assert_int_equal(count_customers(f->client), before);
  f->passed = true;
}

static void empty_name_is_required(void **state) {
  Ccpay__V1__Customer c = customer_of("", "", "", "USD");
  expect_create_refused(*state, "v-name", &c, "FIELD_REQUIRED", "customer.name");
}

static void malformed_email_is_invalid(void **state) {
  Ccpay__V1__Customer c = customer_of("Eve", "eve.example.com", "", "USD");
  expect_create_refused(*state, "v-email", &c, "FIELD_INVALID", "customer.email");
}

static void unknown_currency_is_refused(void **state) {
  Ccpay__V1__Customer c = customer_of("Xavier", "", "", "XYZ");
  expect_create_refused(*state, "v-currency", &c, "UNKNOWN_CURRENCY", "customer.currency_code");
}

static void negative_credit_limit_is_out_of_range(void **state) {
  Ccpay__V1__Money limit = CCPAY__V1__MONEY__INIT;
  limit.currency_code = "USD";
  limit.amount_minor = -1;
  Ccpay__V1__Customer c = customer_of("Neg Limit", "", "", "USD");
  c.credit_limit = &limit;
  expect_create_refused(*state, "v-negative", &c, "FIELD_OUT_OF_RANGE",
                        "customer.credit_limit.amount_minor");
}

static void credit_limit_in_other_currency_is_invalid(void **state) {
  Ccpay__V1__Money limit = CCPAY__V1__MONEY__INIT;
  limit.currency_code = "EUR";
  limit.amount_minor = 1000;
  Ccpay__V1__Customer c = customer_of("Cross Currency", "", "", "USD");
  c.credit_limit = &limit;
  expect_create_refused(*state, "v-cross", &c, "FIELD_INVALID",
                        "customer.credit_limit.currency_code");
}

static void card_number_in_name_is_refused(void **state) {
  Ccpay__V1__Customer c = customer_of("4111 1111 1111 1111", "", "", "USD");
  expect_create_refused(*state, "v-card", &c, "CARD_NUMBER_IN_TEXT", "customer.name");
}

static void missing_request_id_is_required(void **state) {
  Ccpay__V1__Customer c = customer_of("No Key", "", "", "USD");
  expect_create_refused(*state, "", &c, "FIELD_REQUIRED", "request_id");
}

/* --- GetCustomer ---------------------------------------------------------------------- */

static void get_with_malformed_id_is_invalid(void **state) {
  ccpayd_fixture *f = *state;
  static const char *const malformed[] = {"cus_123", "ord_0000000000001", "customer-1",
                                          "cus_00000000000U!"};
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    test_reply r;
    get(f->client, malformed[i], &r);
    assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "id");
  }
  test_reply r;
  get(f->client, "", &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED", "id");
  f->passed = true;
}

static void get_with_unknown_id_is_not_found(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "known-1", "Known Customer", "", "", id);
  /* Well formed, but not an id the server handed out: change the last character. */
  char unknown[ID_BYTES];
  snprintf(unknown, sizeof unknown, "%s", id);
  unknown[ID_TEXT_LEN - 1] = unknown[ID_TEXT_LEN - 1] == '7' ? '8' : '7';
  test_reply r;
  get(f->client, unknown, &r);
  assert_reply(&r, GRPC_STATUS_NOT_FOUND, "NOT_FOUND", NULL);
  get(f->client, id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  f->passed = true;
}

/* --- UpdateCustomer ------------------------------------------------------------------- */

static void update_changes_masked_fields_and_version(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "upd-create", "Old Name", "old@example.com", "+1 555 010 0000", id);
  Ccpay__V1__Customer change = customer_of("New Name", "new@example.com", "+44 20 0000 0000", "");
  change.id = id;
  const char *const mask[] = {"name", "email"}; /* phone is in the body, not the mask */
  test_reply r;
  update(f->client, "upd-1", &change, mask, 2, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(customer_in(&r)->version, 2);
  test_reply_clear(&r);

  get(f->client, id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  const Ccpay__V1__Customer *c = customer_in(&r);
  assert_string_equal(c->name, "New Name");
  assert_string_equal(c->email, "new@example.com");
  assert_string_equal(c->phone, "+1 555 010 0000");
  assert_string_equal(c->currency_code, "USD");
  assert_int_equal(c->version, 2);
  test_reply_clear(&r);

  /* The indexes moved with the values. */
  Ccpay__V1__SearchCustomersRequest by_name = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  by_name.name_prefix = "old";
  assert_int_equal(search_ok(f->client, &by_name, &r)->n_customers, 0);
  test_reply_clear(&r);
  Ccpay__V1__SearchCustomersRequest by_email = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  by_email.email = "new@example.com";
  assert_int_equal(search_ok(f->client, &by_email, &r)->n_customers, 1);
  test_reply_clear(&r);
  f->passed = true;
}

static void update_retry_does_not_apply_twice(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "upd-retry-create", "Before", "", "", id);
  Ccpay__V1__Customer change = customer_of("After", "", "", "");
  change.id = id;
  const char *const mask[] = {"name"};
  test_reply r;
  for (int attempt = 0; attempt < 2; attempt++) {
    update(f->client, "upd-retry-1", &change, mask, 1, &r);
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    assert_int_equal(customer_in(&r)->version, 2);
    test_reply_clear(&r);
  }
  get(f->client, id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(customer_in(&r)->version, 2);
  test_reply_clear(&r);
  f->passed = true;
}

static void expect_version(test_client *client, const char *id, int64_t version) {
  test_reply r;
  get(client, id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_int_equal(customer_in(&r)->version, version);
  assert_string_equal(customer_in(&r)->currency_code, "USD");
  test_reply_clear(&r);
}

static void update_of_currency_is_refused(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "cur-create", "Fixed Currency", "", "", id);
  Ccpay__V1__Customer change = customer_of("", "", "", "EUR");
  change.id = id;
  static const char *const mask[] = {"currency_code"};
  test_reply r;
  update(f->client, "cur-1", &change, mask, 1, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "update_mask");
  static const char *const mixed[] = {"name", "customer.currency_code"};
  change.name = "Sneaky";
  update(f->client, "cur-2", &change, mixed, 2, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "update_mask");
  expect_version(f->client, id, 1);
  f->passed = true;
}

static void update_with_empty_mask_is_refused(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "mask-create", "Masked", "", "", id);
  Ccpay__V1__Customer change = customer_of("Unmasked", "", "", "");
  change.id = id;
  test_reply r;
  update(f->client, "mask-1", &change, NULL, 0, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_REQUIRED", "update_mask");
  expect_version(f->client, id, 1);
  f->passed = true;
}

/* --- SearchCustomers ------------------------------------------------------------------ */

/* Asserts that the page holds exactly the ids in expected (any order). */
static void assert_page_ids(const Ccpay__V1__SearchCustomersResponse *page,
                            const char *const *expected, size_t count) {
  if (page->n_customers != count) {
    fail_msg("%zu customers found, expected %zu", page->n_customers, count);
  }
  for (size_t i = 0; i < count; i++) {
    bool found = false;
    for (size_t k = 0; k < page->n_customers && !found; k++) {
      found = strcmp(page->customers[k]->id, expected[i]) == 0;
    }
    if (!found) fail_msg("customer %s missing from the page", expected[i]);
  }
}

static void search_by_name_prefix_ignores_case(void **state) {
  ccpayd_fixture *f = *state;
  char alice[ID_BYTES], alicia[ID_BYTES], bob[ID_BYTES], al[ID_BYTES];
  create_ok(f->client, "n-1", "Alice Smith", "", "", alice);
  create_ok(f->client, "n-2", "ALICIA Keys", "", "", alicia);
  create_ok(f->client, "n-3", "Bob Alison", "", "", bob); /* "ali" inside, not a prefix */
  create_ok(f->client, "n-4", "Al", "", "", al);          /* shorter than the prefix */
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  test_reply r;
  request.name_prefix = "ali";
  assert_page_ids(search_ok(f->client, &request, &r), (const char *const[]){alice, alicia}, 2);
  test_reply_clear(&r);
  request.name_prefix = "ALICE";
  assert_page_ids(search_ok(f->client, &request, &r), (const char *const[]){alice}, 1);
  test_reply_clear(&r);
  request.name_prefix = "alice smith and more";
  assert_page_ids(search_ok(f->client, &request, &r), NULL, 0);
  test_reply_clear(&r);
  f->passed = true;
}

static void search_by_email(void **state) {
  ccpayd_fixture *f = *state;
  char bob[ID_BYTES], bobby[ID_BYTES], none[ID_BYTES];
  create_ok(f->client, "e-1", "Bob", "bob@example.com", "", bob);
  create_ok(f->client, "e-2", "Bobby", "bobby@example.com", "", bobby);
  create_ok(f->client, "e-3", "No Email", "", "", none);
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  test_reply r;
  request.email = "bob@example.com"; /* exact: not a prefix of bobby's */
  assert_page_ids(search_ok(f->client, &request, &r), (const char *const[]){bob}, 1);
  test_reply_clear(&r);
  request.email = "BOB@Example.COM"; /* emails are indexed in lower case */
  assert_page_ids(search_ok(f->client, &request, &r), (const char *const[]){bob}, 1);
  test_reply_clear(&r);
  request.email = "nobody@example.com";
  assert_page_ids(search_ok(f->client, &request, &r), NULL, 0);
  test_reply_clear(&r);
  f->passed = true;
}

static void search_by_phone_ignores_punctuation(void **state) {
  ccpayd_fixture *f = *state;
  char plain[ID_BYTES], other[ID_BYTES];
  create_ok(f->client, "p-1", "Plain Digits", "", "15550100000", plain);
  create_ok(f->client, "p-2", "Next Number", "", "15550100001", other);
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  test_reply r;
  request.phone = "+1 (555) 010-0000";
  assert_page_ids(search_ok(f->client, &request, &r), (const char *const[]){plain}, 1);
  test_reply_clear(&r);
  request.phone = "1.555.010.0001";
  assert_page_ids(search_ok(f->client, &request, &r), (const char *const[]){other}, 1);
  test_reply_clear(&r);
  f->passed = true;
}

static void paging_yields_every_customer_once_newest_first(void **state) {
  ccpayd_fixture *f = *state;
  char created[5][ID_BYTES];
  for (int i = 0; i < 5; i++) {
    char request_id[32], name[32];
    snprintf(request_id, sizeof request_id, "page-%d", i);
    snprintf(name, sizeof name, "Pager %d", i);
    create_ok(f->client, request_id, name, "", "", created[i]);
  }
  /* No filter: newest first, so exactly the creation order reversed, over 3 pages. */
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  request.page_size = 2;
  char listed[8][ID_BYTES];
  assert_int_equal(list_ids(f->client, request, listed, 8), 5);
  for (int i = 0; i < 5; i++) assert_string_equal(listed[i], created[4 - i]);

  /* The first page says more follow. */
  test_reply r;
  const Ccpay__V1__SearchCustomersResponse *page = search_ok(f->client, &request, &r);
  assert_int_equal(page->n_customers, 2);
  assert_true(page->next_page_token[0] != '\0');
  test_reply_clear(&r);

  /* A filtered listing pages too, each customer once. */
  request.name_prefix = "pager";
  assert_int_equal(list_ids(f->client, request, listed, 8), 5);
  for (int i = 0; i < 5; i++) {
    int seen = 0;
    for (int k = 0; k < 5; k++) seen += strcmp(listed[k], created[i]) == 0;
    assert_int_equal(seen, 1);
  }
  f->passed = true;
}

static void expect_token_refused(test_client *client, const char *token, const char *name_prefix) {
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  request.page_size = 2;
  request.page_token = (char *)token;
  request.name_prefix = (char *)name_prefix;
  test_reply r;
  search(client, &request, &r);
  assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_INVALID", "page_token");
}

static void altered_page_token_is_refused(void **state) {
  ccpayd_fixture *f = *state;
  char ids[3][ID_BYTES];
  for (int i = 0; i < 3; i++) {
    char request_id[32];
    snprintf(request_id, sizeof request_id, "token-%d", i);
    create_ok(f->client, request_id, "Tokened", "", "", ids[i]);
  }
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  request.page_size = 2;
  test_reply r;
  char token[2048];
  snprintf(token, sizeof token, "%s", search_ok(f->client, &request, &r)->next_page_token);
  test_reply_clear(&r);
  size_t len = strlen(token);
  assert_true(len >= 4);

  char altered[2048];
  snprintf(altered, sizeof altered, "%s", token);
  altered[len / 2] = 'z'; /* not hex */
  expect_token_refused(f->client, altered, "");
  snprintf(altered, sizeof altered, "%.*s", (int)len - 1, token); /* truncated */
  expect_token_refused(f->client, altered, "");
  snprintf(altered, sizeof altered, "%.*sXY", (int)len, token); /* garbage appended */
  expect_token_refused(f->client, altered, "");
  /* Valid hex, but a key one byte short or long: not a key this listing gave out. */
  snprintf(altered, sizeof altered, "%.*s", (int)len - 2, token);
  expect_token_refused(f->client, altered, "");
  snprintf(altered, sizeof altered, "%.*s00", (int)len, token);
  expect_token_refused(f->client, altered, "");
  /* Another listing's token: the filters changed between pages. */
  expect_token_refused(f->client, token, "tok");
  /* The genuine token still works. */
  request.page_token = token;
  assert_int_equal(search_ok(f->client, &request, &r)->n_customers, 1);
  test_reply_clear(&r);
  f->passed = true;
}

static void page_size_over_max_is_refused(void **state) {
  ccpayd_fixture *f = *state;
  static const int32_t bad_sizes[] = {201, -1, 100000};
  for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
    Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
    request.page_size = bad_sizes[i];
    test_reply r;
    search(f->client, &request, &r);
    assert_reply(&r, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE", "page_size");
  }
  Ccpay__V1__SearchCustomersRequest request = CCPAY__V1__SEARCH_CUSTOMERS_REQUEST__INIT;
  request.page_size = 200; /* the maximum itself is fine */
  test_reply r;
  search_ok(f->client, &request, &r);
  test_reply_clear(&r);
  f->passed = true;
}

/* --- Durability and concurrency ------------------------------------------------------- */

static void acknowledged_create_survives_kill_9(void **state) {
  ccpayd_fixture *f = *state;
  char id[ID_BYTES];
  create_ok(f->client, "durable-1", "Durable Dora", "dora@example.com", "", id);
  /* A crash right after the acknowledgement: nothing gets flushed or closed. */
  ccpayd_kill(&f->server);
  assert_true(ccpayd_fixture_start(f));

  test_reply r;
  get(f->client, id, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_string_equal(customer_in(&r)->name, "Durable Dora");
  test_reply_clear(&r);
  /* The idempotency record survived with it: a retry answers the same customer. */
  Ccpay__V1__Customer input = customer_of("Durable Dora", "dora@example.com", "", "USD");
  create(f->client, "durable-1", &input, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  assert_string_equal(customer_in(&r)->id, id);
  test_reply_clear(&r);
  assert_int_equal(count_customers(f->client), 1);
  f->passed = true;
}

typedef struct create_worker {
  test_client *client;
  int thread_index;
  char (*ids)[ID_BYTES]; /* CONCURRENT_CALLS_PER_THREAD of them */
  test_reply failure;    /* the first call that did not succeed */
  bool failed;
} create_worker;

static void *create_worker_main(void *argument) {
  create_worker *w = argument;
  for (int i = 0; i < CONCURRENT_CALLS_PER_THREAD; i++) {
    char request_id[32], name[32];
    snprintf(request_id, sizeof request_id, "conc-%d-%d", w->thread_index, i);
    snprintf(name, sizeof name, "Concurrent %d %d", w->thread_index, i);
    Ccpay__V1__Customer c = customer_of(name, "", "", "USD");
    test_reply r;
    create(w->client, request_id, &c, &r);
    if (r.status != GRPC_STATUS_OK || r.message == NULL) {
      w->failure = r;
      w->failed = true;
      return NULL; /* cmocka assertions belong to the test's own thread */
    }
    snprintf(w->ids[i], ID_BYTES, "%s", customer_in(&r)->id);
    test_reply_clear(&r);
  }
  return NULL;
}

static int compare_ids(const void *a, const void *b) { return strcmp(a, b); }

static void concurrent_creates_all_succeed_with_distinct_ids(void **state) {
  ccpayd_fixture *f = *state;
  static char ids[CONCURRENT_CALLS][ID_BYTES];
  create_worker workers[CONCURRENT_THREADS];
  pthread_t threads[CONCURRENT_THREADS];
  for (int k = 0; k < CONCURRENT_THREADS; k++) {
    workers[k] = (create_worker){
        .client = f->client, .thread_index = k, .ids = ids + k * CONCURRENT_CALLS_PER_THREAD};
    assert_int_equal(pthread_create(&threads[k], NULL, create_worker_main, &workers[k]), 0);
  }
  for (int k = 0; k < CONCURRENT_THREADS; k++) pthread_join(threads[k], NULL);
  for (int k = 0; k < CONCURRENT_THREADS; k++) {
    if (workers[k].failed) assert_reply(&workers[k].failure, GRPC_STATUS_OK, NULL, NULL);
  }
  qsort(ids, CONCURRENT_CALLS, ID_BYTES, compare_ids);
  for (int i = 1; i < CONCURRENT_CALLS; i++) {
    if (strcmp(ids[i - 1], ids[i]) == 0) fail_msg("id %s handed out twice", ids[i]);
  }
  assert_int_equal(count_customers(f->client), CONCURRENT_CALLS);
  f->passed = true;
}

#define CUSTOMER_TEST(name) \
  cmocka_unit_test_setup_teardown(name, ccpayd_fixture_setup, ccpayd_fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      CUSTOMER_TEST(create_then_get_round_trips),
      CUSTOMER_TEST(retry_with_same_request_id_returns_same_customer),
      CUSTOMER_TEST(same_request_id_with_other_body_is_refused),
      CUSTOMER_TEST(empty_name_is_required),
      CUSTOMER_TEST(malformed_email_is_invalid),
      CUSTOMER_TEST(unknown_currency_is_refused),
      CUSTOMER_TEST(negative_credit_limit_is_out_of_range),
      CUSTOMER_TEST(credit_limit_in_other_currency_is_invalid),
      CUSTOMER_TEST(card_number_in_name_is_refused),
      CUSTOMER_TEST(missing_request_id_is_required),
      CUSTOMER_TEST(get_with_malformed_id_is_invalid),
      CUSTOMER_TEST(get_with_unknown_id_is_not_found),
      CUSTOMER_TEST(update_changes_masked_fields_and_version),
      CUSTOMER_TEST(update_retry_does_not_apply_twice),
      CUSTOMER_TEST(update_of_currency_is_refused),
      CUSTOMER_TEST(update_with_empty_mask_is_refused),
      CUSTOMER_TEST(search_by_name_prefix_ignores_case),
      CUSTOMER_TEST(search_by_email),
      CUSTOMER_TEST(search_by_phone_ignores_punctuation),
      CUSTOMER_TEST(paging_yields_every_customer_once_newest_first),
      CUSTOMER_TEST(altered_page_token_is_refused),
      CUSTOMER_TEST(page_size_over_max_is_refused),
      CUSTOMER_TEST(acknowledged_create_survives_kill_9),
      CUSTOMER_TEST(concurrent_creates_all_succeed_with_distinct_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
