#include "test_records.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"

int test_records_arena_setup(void **state) {
  *state = arena_create(CALL_ARENA_BYTES_MAX);
  return *state != NULL ? 0 : -1;
}

int test_records_arena_teardown(void **state) {
  arena_destroy(*state);
  return 0;
}

Ccpay__V1__Money *test_records_money(arena *a, const char *currency, int64_t amount) {
  Ccpay__V1__Money *m = arena_alloc(a, sizeof *m);
  CHECK(m != NULL);
  ccpay__v1__money__init(m);
  m->currency_code = (char *)currency;
  m->amount_minor = amount;
  return m;
}

char *test_records_id(arena *a, id_kind kind, uint64_t value) {
  char text[ID_TEXT_BYTES_MAX];
  id_format(kind, value, text);
  char *copy = arena_strndup(a, text, strlen(text));
  CHECK(copy != NULL);
  return copy;
}

Ccpay__V1__Customer *test_records_customer(arena *a, uint64_t id, const char *name,
                                           const char *email, const char *phone) {
  Ccpay__V1__Customer *c = arena_calloc(a, sizeof *c);
  CHECK(c != NULL);
  ccpay__v1__customer__init(c);
  c->id = test_records_id(a, ID_CUSTOMER, id);
  c->name = (char *)name;
  c->email = (char *)email;
  c->phone = (char *)phone;
  c->currency_code = "USD";
  return c;
}

Ccpay__V1__Order *test_records_order(arena *a, uint64_t id, uint64_t customer,
                                     Ccpay__V1__OrderStatus status, const char *hold_code) {
  Ccpay__V1__Order *o = arena_calloc(a, sizeof *o);
  CHECK(o != NULL);
  ccpay__v1__order__init(o);
  o->id = test_records_id(a, ID_ORDER, id);
  o->customer_id = test_records_id(a, ID_CUSTOMER, customer);
  o->currency_code = "USD";
  o->source_code = "CAT1";
  o->status = status;
  if (hold_code != NULL) {
    o->hold = arena_calloc(a, sizeof *o->hold);
    CHECK(o->hold != NULL);
    ccpay__v1__order_hold__init(o->hold);
    o->hold->code = (char *)hold_code;
  }
  return o;
}
