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

Ccpay__V1__Payment *test_records_payment(arena *a, uint64_t id, uint64_t order, uint64_t customer,
                                         Ccpay__V1__TenderType tender, int64_t amount) {
  Ccpay__V1__Payment *p = arena_calloc(a, sizeof *p);
  CHECK(p != NULL);
  ccpay__v1__payment__init(p);
  p->id = test_records_id(a, ID_PAYMENT, id);
  p->order_id = test_records_id(a, ID_ORDER, order);
  p->customer_id = test_records_id(a, ID_CUSTOMER, customer);
  p->tender_type = tender;
  p->amount = test_records_money(a, "USD", amount);
  Ccpay__V1__Money **running[] = {&p->authorized, &p->captured,        &p->refunded,
                                  &p->released,   &p->pending_capture, &p->pending_refund};
  for (size_t i = 0; i < sizeof running / sizeof *running; i++) {
    *running[i] = test_records_money(a, "USD", 0);
  }
  if (tender == CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD) {
    p->card = arena_calloc(a, sizeof *p->card);
    CHECK(p->card != NULL);
    ccpay__v1__card_details__init(p->card);
    p->card->processor = "stripe";
    p->card->token = "tok_visa_test";
    p->card->brand = "visa";
    p->card->last4 = "4242";
    p->card->exp_month = 12;
    p->card->exp_year = 2099;
    p->status = CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_NEW;
  } else {
    if (tender == CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CHECK) p->check_number = "1001";
    p->status = CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_RECEIVED;
  }
  p->version = 1;
  return p;
}

Ccpay__V1__Transaction *test_records_transaction(arena *a, uint64_t id, uint64_t payment,
                                                 uint64_t order, Ccpay__V1__TransactionKind kind,
                                                 Ccpay__V1__TransactionState state,
                                                 int64_t amount) {
  Ccpay__V1__Transaction *t = arena_calloc(a, sizeof *t);
  CHECK(t != NULL);
  ccpay__v1__transaction__init(t);
  t->id = test_records_id(a, ID_TXN, id);
  t->payment_id = test_records_id(a, ID_PAYMENT, payment);
  t->order_id = test_records_id(a, ID_ORDER, order);
  t->kind = kind;
  t->state = state;
  t->amount = test_records_money(a, "USD", amount);
  t->processor = "stripe";
  return t;
}
