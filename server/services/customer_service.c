/* ccpay.v1.CustomerService: create, read, update and search customers. */
#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "ccpay/v1/customer.pb-c.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/customer.h"
#include "domain/money.h"
#include "domain/validate.h"
#include "mutation.h"
#include "paging.h"
#include "services.h"
#include "storage/customers.h"
#include "storage/ids.h"
#include "storage/ledger.h"
#include "timestamps.h"

/* The balance is the customer's receivable account in the ledger (positive: owes). */
static ccpay_err set_balance(store_txn *txn, Ccpay__V1__Customer *c, arena *a, ccpay_error *error) {
  char *account = account_receivable(c->id, a);
  if (account == NULL) return service_exhausted(error);
  int64_t balance = 0;
  ccpay_err rc = ledger_balance(txn, account, c->currency_code, &balance, error);
  if (rc != CCPAY_OK) return rc;
  c->balance = money_message(a, c->currency_code, balance);
  return c->balance != NULL ? CCPAY_OK : service_exhausted(error);
}

/* --- CreateCustomer ------------------------------------------------------------------- */

static ccpay_err create_customer_execute(store_txn *txn, const void *input, arena *a,
                                         ProtobufCMessage **reply, ccpay_error *error) {
  const Ccpay__V1__CreateCustomerRequest *request = input;
  Ccpay__V1__Customer *c = customer_build(request->customer, a);
  if (c == NULL) return service_exhausted(error);
  uint64_t id;
  ccpay_err rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  char id_text[ID_TEXT_BYTES_MAX];
  id_format(ID_CUSTOMER, id, id_text);
  c->id = arena_strndup(a, id_text, strlen(id_text));
  c->audit = audit_stamp_new(a, store_txn_time_ms(txn));
  c->version = 1;
  if (c->id == NULL || c->audit == NULL) return service_exhausted(error);
  rc = customers_put(txn, NULL, c, error);
  if (rc != CCPAY_OK) return rc;
  rc = set_balance(txn, c, a, error);
  *reply = &c->base;
  return rc;
}

static void create_customer(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CreateCustomerRequest *request =
      (const Ccpay__V1__CreateCustomerRequest *)message;
  service_env *env = rpc_call_context(call);
  ccpay_error error;
  ccpay_err rc = validate_request_id(request->request_id, &error);
  if (rc == CCPAY_OK) rc = customer_validate(request->customer, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  mutation_submit(call, env->store, request->request_id, message, create_customer_execute, request);
}

/* --- GetCustomer ---------------------------------------------------------------------- */

static void get_customer(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetCustomerRequest *request = (const Ccpay__V1__GetCustomerRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  uint64_t id;
  ccpay_err rc = service_parse_id(ID_CUSTOMER, "id", request->id, &id, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }

  store_txn *txn;
  rc = store_read_begin(env->store, &txn, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  Ccpay__V1__Customer *c = NULL;
  rc = customers_get(txn, id, a, &c, &error);
  if (rc == CCPAY_OK) rc = set_balance(txn, c, a, &error);
  store_read_end(txn);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  rpc_call_reply(call, &c->base);
}

/* --- UpdateCustomer ------------------------------------------------------------------- */

typedef struct update_input {
  const Ccpay__V1__UpdateCustomerRequest *request;
  uint64_t id;
  unsigned fields;
} update_input;

static ccpay_err update_customer_execute(store_txn *txn, const void *input, arena *a,
                                         ProtobufCMessage **reply, ccpay_error *error) {
  const update_input *u = input;
  Ccpay__V1__Customer *current = NULL;
  ccpay_err rc = customers_get(txn, u->id, a, &current, error);
  if (rc != CCPAY_OK) return rc;
  rc = customer_validate_update(u->request->customer, u->fields, current->currency_code, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Customer *updated = customer_apply_update(current, u->request->customer, u->fields, a);
  if (updated == NULL) return service_exhausted(error);
  updated->version = current->version + 1;
  updated->audit = audit_stamp_updated(a, current->audit, store_txn_time_ms(txn));
  if (updated->audit == NULL) return service_exhausted(error);
  rc = customers_put(txn, current, updated, error);
  if (rc != CCPAY_OK) return rc;
  rc = set_balance(txn, updated, a, error);
  *reply = &updated->base;
  return rc;
}

static void update_customer(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__UpdateCustomerRequest *request =
      (const Ccpay__V1__UpdateCustomerRequest *)message;
  service_env *env = rpc_call_context(call);
  update_input *u = arena_calloc(rpc_call_arena(call), sizeof *u);
  ccpay_error error;
  ccpay_err rc =
      u == NULL ? service_exhausted(&error) : validate_request_id(request->request_id, &error);
  if (rc == CCPAY_OK && request->customer == NULL) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_REQUIRED, "customer: required");
  }
  if (rc == CCPAY_OK)
    rc = service_parse_id(ID_CUSTOMER, "customer.id", request->customer->id, &u->id, &error);
  if (rc == CCPAY_OK) {
    rc = customer_parse_update_mask(request->update_mask, request->n_update_mask, &u->fields,
                                    &error);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  u->request = request;
  mutation_submit(call, env->store, request->request_id, message, update_customer_execute, u);
}

/* --- SearchCustomers ------------------------------------------------------------------ */

static ccpay_err search_query(const Ccpay__V1__SearchCustomersRequest *request,
                              customer_query *query, ccpay_error *error) {
  int filters =
      (request->name_prefix[0] != '\0') + (request->email[0] != '\0') + (request->phone[0] != '\0');
  if (filters > 1) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "name_prefix, email, phone: give at most one filter");
  }
  query->by = CUSTOMER_SEARCH_ALL;
  query->value = "";
  const char *field = NULL;
  if (request->name_prefix[0] != '\0') {
    query->by = CUSTOMER_SEARCH_NAME_PREFIX, query->value = request->name_prefix;
    field = "name_prefix";
  } else if (request->email[0] != '\0') {
    query->by = CUSTOMER_SEARCH_EMAIL, query->value = request->email, field = "email";
  } else if (request->phone[0] != '\0') {
    query->by = CUSTOMER_SEARCH_PHONE, query->value = request->phone, field = "phone";
  }
  if (field != NULL) {
    ccpay_err rc = validate_text(field, query->value, CUSTOMER_EMAIL_BYTES_MAX, false, error);
    if (rc != CCPAY_OK) return rc;
  }
  return paging_size(request->page_size, &query->limit, error);
}

static uint8_t listing_of(customer_search_by by) {
  switch (by) {
    case CUSTOMER_SEARCH_ALL:
      return LISTING_CUSTOMERS_ALL;
    case CUSTOMER_SEARCH_NAME_PREFIX:
      return LISTING_CUSTOMERS_NAME_PREFIX;
    case CUSTOMER_SEARCH_EMAIL:
      return LISTING_CUSTOMERS_EMAIL;
    case CUSTOMER_SEARCH_PHONE:
      return LISTING_CUSTOMERS_PHONE;
  }
  CHECK(!"unknown customer search");
  return 0;
}

static ccpay_err search_page(service_env *env, const customer_query *query, arena *a,
                             Ccpay__V1__SearchCustomersResponse *reply, ccpay_error *error) {
  store_txn *txn;
  ccpay_err rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  customer_page page = {0};
  rc = customers_search(txn, query, a, &page, error);
  for (size_t i = 0; i < page.count && rc == CCPAY_OK; i++) {
    rc = set_balance(txn, page.customers[i], a, error);
  }
  store_read_end(txn);
  if (rc != CCPAY_OK) return rc;
  reply->customers = page.customers;
  reply->n_customers = page.count;
  reply->next_page_token =
      paging_encode(listing_of(query->by), page.next_key, page.next_key_len, a);
  if (rc == CCPAY_OK && reply->next_page_token == NULL) rc = service_exhausted(error);
  return rc;
}

static void search_customers(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__SearchCustomersRequest *request =
      (const Ccpay__V1__SearchCustomersRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  customer_query query = {0};
  ccpay_err rc = search_query(request, &query, &error);
  uint8_t *after = NULL;
  if (rc == CCPAY_OK) {
    rc = paging_decode(request->page_token, listing_of(query.by), a, &after, &query.after_key_len,
                       &error);
  }
  query.after_key = after;
  Ccpay__V1__SearchCustomersResponse reply = CCPAY__V1__SEARCH_CUSTOMERS_RESPONSE__INIT;
  if (rc == CCPAY_OK) rc = search_page(env, &query, a, &reply, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  rpc_call_reply(call, &reply.base);
}

/* --- Method table --------------------------------------------------------------------- */

size_t customer_service_methods(service_env *env, rpc_method *out) {
  out[0] =
      SERVICE_METHOD("CustomerService", "CreateCustomer", RPC_UNARY, create_customer,
                     ccpay__v1__create_customer_request, ccpay__v1__customer, "customers.write");
  out[1] = SERVICE_METHOD("CustomerService", "GetCustomer", RPC_UNARY, get_customer,
                          ccpay__v1__get_customer_request, ccpay__v1__customer, "customers.read");
  out[2] =
      SERVICE_METHOD("CustomerService", "UpdateCustomer", RPC_UNARY, update_customer,
                     ccpay__v1__update_customer_request, ccpay__v1__customer, "customers.write");
  out[3] = SERVICE_METHOD("CustomerService", "SearchCustomers", RPC_UNARY, search_customers,
                          ccpay__v1__search_customers_request, ccpay__v1__search_customers_response,
                          "customers.read");
  return 4;
}
