/* ccpay.v1.PaymentService, and OrderService.AddPayment: payment lines, and card
 * operations on one payment through payment_flow (PENDING before the adapter is called,
 * the outcome after). Rules live in domain/payment.c. */
#include "payment_service.h"

#include <string.h>

#include "balance_review.h"
#include "base/check.h"
#include "base/limits.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/money.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/validate.h"
#include "mutation.h"
#include "paging.h"
#include "payment_flow.h"
#include "payment_gateway.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/payments.h"
#include "timestamps.h"

#define KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x
#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x

ccpay_err payment_read(store_txn *txn, const char *payment_id, arena *a, Ccpay__V1__Payment **out,
                       ccpay_error *error) {
  uint64_t id = 0;
  CHECK(id_parse(ID_PAYMENT, payment_id, &id));
  return payments_get(txn, id, a, out, error);
}

/* --- AddPayment ------------------------------------------------------------------------- */

typedef struct add_input {
  const Ccpay__V1__AddPaymentRequest *request;
  uint64_t order_id;
} add_input;

/* The account a tender other than a card is posted from: where its money is held until
 * it reaches the bank, or the gift or loyalty card's own liability account. NULL with
 * CCPAY_OK for a payment on the customer's account, which moves no money (the receivable
 * stays, and the customer is billed). */
static ccpay_err received_account(const Ccpay__V1__Payment *p, arena *a, const char **out,
                                  ccpay_error *error) {
  *out = NULL;
  switch (p->tender_type) {
    case TENDER(CHECK):
      *out = ACCOUNT_UNDEPOSITED_CHECKS;
      return CCPAY_OK;
    case TENDER(CASH):
      *out = ACCOUNT_CASH;
      return CCPAY_OK;
    case TENDER(ACH):
      *out = ACCOUNT_ACH_CLEARING;
      return CCPAY_OK;
    case TENDER(GIFT_CARD_EXTERNAL):
      *out = ACCOUNT_EXTERNAL_GIFT_CARD_CLEARING;
      return CCPAY_OK;
    case TENDER(GIFT_CARD_INTERNAL):
    case TENDER(LOYALTY_CARD):
      *out = account_stored_value(p->tender_type == TENDER(LOYALTY_CARD), p->reference, a);
      return *out != NULL ? CCPAY_OK : service_exhausted(error);
    default:
      return CCPAY_OK;
  }
}

/* A gift or loyalty card pays only what is left on it (its liability balance, a
 * credit, so negative in the ledger). */
static ccpay_err check_stored_value(store_txn *txn, const Ccpay__V1__Payment *p,
                                    const char *account, ccpay_error *error) {
  if (p->tender_type != TENDER(GIFT_CARD_INTERNAL) && p->tender_type != TENDER(LOYALTY_CARD)) {
    return CCPAY_OK;
  }
  int64_t balance = 0;
  ccpay_err rc = ledger_balance(txn, account, p->amount->currency_code, &balance, error);
  if (rc != CCPAY_OK) return rc;
  if (-balance < p->amount->amount_minor) {
    return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                           "payment.amount: %lld is more than the %lld %s left on %s",
                           (long long)p->amount->amount_minor, (long long)-balance,
                           p->amount->currency_code, p->reference);
  }
  return CCPAY_OK;
}

/* A tender other than a card is settled when it is taken: its money is posted to the
 * customer's account at once, and it counts as collected (nothing to capture for it). */
static ccpay_err post_received(store_txn *txn, Ccpay__V1__Payment *p, arena *a,
                               ccpay_error *error) {
  const char *currency = p->amount->currency_code;
  int64_t amount = p->amount->amount_minor;
  p->authorized = money_message(a, currency, amount);
  p->captured = money_message(a, currency, amount);
  if (p->authorized == NULL || p->captured == NULL) return service_exhausted(error);
  const char *debit = NULL;
  ccpay_err rc = received_account(p, a, &debit, error);
  if (rc == CCPAY_OK && debit != NULL) rc = check_stored_value(txn, p, debit, error);
  if (rc != CCPAY_OK || debit == NULL) return rc; /* on account: nothing moves */
  char *receivable = account_receivable(p->customer_id, a);
  Ccpay__V1__JournalEntry *e = receivable != NULL
                                   ? accounts_transfer_entry(ENTRY_KIND_PAYMENT_RECEIVED, debit,
                                                             receivable, currency, amount, a)
                                   : NULL;
  if (e == NULL) return service_exhausted(error);
  e->customer_id = p->customer_id;
  e->order_id = p->order_id;
  e->payment_id = p->id;
  e->entry_time = p->audit->create_time;
  rc = ledger_append(txn, e, error);
  p->entry_sequence = e->sequence;
  return rc;
}

static ccpay_err add_payment_execute(store_txn *txn, const void *input, arena *a,
                                     ProtobufCMessage **reply, ccpay_error *error) {
  const add_input *in = input;
  Ccpay__V1__Order *before = NULL, *order = NULL;
  ccpay_err rc = service_order_edit(txn, in->order_id, a, &before, &order, error);
  if (rc != CCPAY_OK) return rc;
  if (order->status != CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s is %s: payments are added while it is OPEN", order->id,
                           order_status_name(order->status));
  }
  if (order->n_payment_ids >= PAYMENTS_PER_ORDER_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order %s: at most %d payments",
                           order->id, PAYMENTS_PER_ORDER_MAX);
  }
  Ccpay__V1__Payment *p = in->request->payment;
  rc = payment_validate_new(p, order->currency_code, store_txn_time_ms(txn), error);
  if (rc == CCPAY_OK) rc = payment_attach(txn, order, p, a, error);
  if (rc == CCPAY_OK) rc = balance_after_payment(txn, order, a, error);
  if (rc == CCPAY_OK) rc = service_order_write(txn, before, order, a, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Payment *shown = payment_redact(p, a);
  if (shown == NULL) return service_exhausted(error);
  *reply = &shown->base;
  return rc;
}

ccpay_err payment_attach(store_txn *txn, Ccpay__V1__Order *order, Ccpay__V1__Payment *p, arena *a,
                         ccpay_error *error) {
  CHECK(order->n_payment_ids < PAYMENTS_PER_ORDER_MAX);
  int64_t now_ms = store_txn_time_ms(txn);
  uint64_t id = 0;
  ccpay_err rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  p->id = service_format_id(ID_PAYMENT, id, a);
  p->order_id = order->id;
  p->customer_id = order->customer_id;
  p->audit = audit_stamp_new(a, now_ms);
  p->version = 1;
  p->n_transaction_ids = 0;
  p->open_transaction_id = "";
  p->processor_reference = p->decline_code = p->decline_message = "";
  char **ids = arena_alloc(a, (order->n_payment_ids + 1) * sizeof *ids);
  if (p->id == NULL || p->audit == NULL || ids == NULL || !payment_init_amounts(p, a)) {
    return service_exhausted(error);
  }
  if (p->tender_type != TENDER(CARD)) {
    rc = post_received(txn, p, a, error);
    if (rc != CCPAY_OK) return rc;
  }
  if (order->n_payment_ids > 0) memcpy(ids, order->payment_ids, order->n_payment_ids * sizeof *ids);
  ids[order->n_payment_ids] = p->id;
  order->payment_ids = ids;
  order->n_payment_ids++;
  return payments_put(txn, p, true, error);
}

void payment_add_to_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__AddPaymentRequest *r = (const Ccpay__V1__AddPaymentRequest *)message;
  service_env *env = rpc_call_context(call);
  add_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc =
      in == NULL ? service_exhausted(&error) : validate_request_id(r->request_id, &error);
  if (rc == CCPAY_OK)
    rc = service_parse_id(ID_ORDER, "order_id", r->order_id, &in->order_id, &error);
  if (rc == CCPAY_OK && r->payment == NULL) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_REQUIRED, "payment: required");
  }
  if (rc == CCPAY_OK && r->payment->card != NULL && r->payment->card->processor[0] != '\0' &&
      !payment_gateway_known(env, r->payment->card->processor)) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_INVALID,
                         "payment.card.processor: no adapter named \"%.32s\" is configured",
                         r->payment->card->processor);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->request = r;
  mutation_submit(call, env->store, r->request_id, message, add_payment_execute, in);
}

/* --- Operations on one payment ---------------------------------------------------------- */

typedef struct operation_input {
  uint64_t payment_id;
  Ccpay__V1__TransactionKind kind;
  int64_t amount; /* 0: all that is left */
  bool final_capture;
} operation_input;

/* Starts the operation, or, when an earlier attempt of the same kind was left open (a
 * retry after a lost answer), asks the processor about that one instead. */
static ccpay_err operation_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                                 ccpay_error *error) {
  const operation_input *in = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Payment *p = NULL;
  ccpay_err rc = payments_get(txn, in->payment_id, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  if (p->open_transaction_id[0] != '\0') {
    uint64_t open_id = 0;
    Ccpay__V1__Transaction *t = NULL;
    CHECK(id_parse(ID_TXN, p->open_transaction_id, &open_id));
    rc = transactions_get(txn, open_id, a, &t, error);
    if (rc != CCPAY_OK) return rc;
    if (t->kind == in->kind) return payment_flow_add_lookup(f, txn, t, error);
  }
  int64_t amount = in->amount;
  if (amount == 0 && in->kind == KIND(CAPTURE)) amount = payment_capturable(p);
  if (amount == 0 && in->kind == KIND(REFUND)) amount = payment_refundable(p);
  return payment_flow_add_operation(f, txn, p, in->kind, amount, in->final_capture, error);
}

static ccpay_err operation_end(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                               ccpay_error *error) {
  CHECK(payment_flow_step_count(f) == 1);
  ccpay_err rc = payment_flow_step_error(f, 0, error);
  if (rc != CCPAY_OK) return rc;
  const operation_input *in = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Payment *p = NULL;
  rc = payments_get(txn, in->payment_id, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Payment *shown = payment_redact(p, a);
  if (shown == NULL) return service_exhausted(error);
  *reply = &shown->base;
  return CCPAY_OK;
}

/* Checks an optional amount field: unset means "all that is left". */
static ccpay_err parse_amount(const char *field, const Ccpay__V1__Money *m, int64_t *out,
                              ccpay_error *error) {
  *out = 0;
  if (m == NULL) return CCPAY_OK;
  if (m->amount_minor <= 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s: must be positive", field);
  }
  if (m->currency_code[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s.currency_code: required", field);
  }
  *out = m->amount_minor;
  return CCPAY_OK;
}

static void start_operation(rpc_call *call, const ProtobufCMessage *request, const char *request_id,
                            const char *payment_id, Ccpay__V1__TransactionKind kind,
                            const Ccpay__V1__Money *amount, bool final_capture) {
  operation_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc = in == NULL ? service_exhausted(&error) : validate_request_id(request_id, &error);
  if (rc == CCPAY_OK)
    rc = service_parse_id(ID_PAYMENT, "payment_id", payment_id, &in->payment_id, &error);
  if (rc == CCPAY_OK) rc = parse_amount("amount", amount, &in->amount, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->kind = kind;
  in->final_capture = final_capture;
  payment_flow_spec spec = {.begin = operation_begin, .end = operation_end, .input = in};
  payment_flow_start(call, request_id, request, &spec);
}

static void authorize_payment(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__AuthorizePaymentRequest *r = (const void *)message;
  start_operation(call, message, r->request_id, r->payment_id, KIND(AUTHORIZE), NULL, false);
}

static void capture_payment(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CapturePaymentRequest *r = (const void *)message;
  start_operation(call, message, r->request_id, r->payment_id, KIND(CAPTURE), r->amount,
                  r->final_capture);
}

static void void_payment(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__VoidPaymentRequest *r = (const void *)message;
  start_operation(call, message, r->request_id, r->payment_id, KIND(VOID), NULL, false);
}

static void refund_payment(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__RefundPaymentRequest *r = (const void *)message;
  ccpay_error error;
  if (validate_text("reason", r->reason, ORDER_REASON_BYTES_MAX, false, &error) != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  start_operation(call, message, r->request_id, r->payment_id, KIND(REFUND), r->amount, false);
}

/* --- SyncTransaction ---------------------------------------------------------------------- */

static ccpay_err sync_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                            ccpay_error *error) {
  const uint64_t *id = payment_flow_input(f);
  Ccpay__V1__Transaction *t = NULL;
  ccpay_err rc = transactions_get(txn, *id, payment_flow_arena(f), &t, error);
  if (rc != CCPAY_OK) return rc;
  if (!transaction_state_open(t->state)) { /* already resolved: nothing to ask */
    *reply = &t->base;
    return CCPAY_OK;
  }
  return payment_flow_add_lookup(f, txn, t, error);
}

static ccpay_err sync_end(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                          ccpay_error *error) {
  *reply = (ProtobufCMessage *)&payment_flow_step_transaction(f, 0)->base;
  return CCPAY_OK;
}

static void sync_transaction(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__SyncTransactionRequest *r = (const void *)message;
  uint64_t *id = arena_alloc(rpc_call_arena(call), sizeof *id);
  ccpay_error error;
  ccpay_err rc = id == NULL
                     ? service_exhausted(&error)
                     : service_parse_id(ID_TXN, "transaction_id", r->transaction_id, id, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  payment_flow_spec spec = {.begin = sync_begin, .end = sync_end, .input = id};
  payment_flow_start(call, NULL, message, &spec);
}

/* --- Reads ---------------------------------------------------------------------------- */

static void get_payment(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetPaymentRequest *r = (const void *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  uint64_t id = 0;
  store_txn *txn = NULL;
  Ccpay__V1__Payment *p = NULL;
  ccpay_err rc = service_parse_id(ID_PAYMENT, "id", r->id, &id, &error);
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = payments_get(txn, id, a, &p, &error);
    store_read_end(txn);
  }
  if (rc == CCPAY_OK && (p = payment_redact(p, a)) == NULL) rc = service_exhausted(&error);
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &p->base : NULL, &error);
}

static ccpay_err list_payments_read(store_txn *txn, uint64_t order_id, arena *a,
                                    Ccpay__V1__ListPaymentsResponse *out, ccpay_error *error) {
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = orders_get(txn, order_id, a, &o, error);
  if (rc != CCPAY_OK) return rc;
  out->payments = arena_alloc(a, (o->n_payment_ids + 1) * sizeof *out->payments);
  if (out->payments == NULL) return service_exhausted(error);
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    Ccpay__V1__Payment *p = NULL;
    rc = payment_read(txn, o->payment_ids[i], a, &p, error);
    if (rc != CCPAY_OK) return rc;
    if ((p = payment_redact(p, a)) == NULL) return service_exhausted(error);
    out->payments[out->n_payments++] = p;
  }
  return CCPAY_OK;
}

static void list_payments(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListPaymentsRequest *r = (const void *)message;
  service_env *env = rpc_call_context(call);
  ccpay_error error;
  uint64_t order_id = 0;
  store_txn *txn = NULL;
  Ccpay__V1__ListPaymentsResponse reply = CCPAY__V1__LIST_PAYMENTS_RESPONSE__INIT;
  ccpay_err rc = service_parse_id(ID_ORDER, "order_id", r->order_id, &order_id, &error);
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = list_payments_read(txn, order_id, rpc_call_arena(call), &reply, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, &reply.base, &error);
}

/* The transactions of one payment, oldest first (bounded by TRANSACTIONS_PER_PAYMENT_MAX). */
static ccpay_err transactions_of_payment(store_txn *txn, const char *payment_id, arena *a,
                                         Ccpay__V1__ListTransactionsResponse *out,
                                         ccpay_error *error) {
  uint64_t id = 0;
  Ccpay__V1__Payment *p = NULL;
  ccpay_err rc = service_parse_id(ID_PAYMENT, "payment_id", payment_id, &id, error);
  if (rc == CCPAY_OK) rc = payments_get(txn, id, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  out->transactions = arena_alloc(a, (p->n_transaction_ids + 1) * sizeof *out->transactions);
  if (out->transactions == NULL) return service_exhausted(error);
  for (size_t i = 0; i < p->n_transaction_ids; i++) {
    uint64_t txn_id = 0;
    CHECK(id_parse(ID_TXN, p->transaction_ids[i], &txn_id));
    rc = transactions_get(txn, txn_id, a, &out->transactions[out->n_transactions], error);
    if (rc != CCPAY_OK) return rc;
    out->n_transactions++;
  }
  return CCPAY_OK;
}

/* Every open transaction, oldest first, a page at a time (the token is the last id). */
static ccpay_err open_transactions(store_txn *txn, const Ccpay__V1__ListTransactionsRequest *r,
                                   arena *a, Ccpay__V1__ListTransactionsResponse *out,
                                   ccpay_error *error) {
  unsigned limit = 0;
  uint8_t *after = NULL;
  size_t after_len = 0;
  ccpay_err rc = paging_size(r->page_size, &limit, error);
  if (rc == CCPAY_OK) {
    rc = paging_decode(r->page_token, LISTING_OPEN_TRANSACTIONS, a, &after, &after_len, error);
  }
  if (rc != CCPAY_OK) return rc;
  if (after != NULL && after_len != 8) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "page_token: not a token of this list");
  }
  uint64_t *ids = arena_alloc(a, (limit + 1) * sizeof *ids);
  out->transactions = arena_alloc(a, (limit + 1) * sizeof *out->transactions);
  if (ids == NULL || out->transactions == NULL) return service_exhausted(error);
  size_t count = 0;
  rc = transactions_open_list(txn, after != NULL ? key_get_u64(after) : 0, ids, limit + 1, &count,
                              error);
  for (size_t i = 0; rc == CCPAY_OK && i < count && i < limit; i++) {
    rc = transactions_get(txn, ids[i], a, &out->transactions[out->n_transactions++], error);
  }
  if (rc != CCPAY_OK) return rc;
  uint8_t next[8];
  if (count > limit) key_put_u64(next, ids[limit - 1]);
  out->next_page_token =
      paging_encode(LISTING_OPEN_TRANSACTIONS, count > limit ? next : NULL, sizeof next, a);
  return out->next_page_token != NULL ? CCPAY_OK : service_exhausted(error);
}

static void list_transactions(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListTransactionsRequest *r = (const void *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  Ccpay__V1__ListTransactionsResponse reply = CCPAY__V1__LIST_TRANSACTIONS_RESPONSE__INIT;
  bool by_payment = r->payment_id[0] != '\0';
  ccpay_err rc = CCPAY_OK;
  if (by_payment == r->open_only) {
    rc = ccpay_error_set(&error, by_payment ? CCPAY_ERR_FIELD_INVALID : CCPAY_ERR_FIELD_REQUIRED,
                         "payment_id, open_only: give exactly one");
  }
  store_txn *txn = NULL;
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = by_payment ? transactions_of_payment(txn, r->payment_id, a, &reply, &error)
                    : open_transactions(txn, r, a, &reply, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, &reply.base, &error);
}

/* --- Method table --------------------------------------------------------------------- */

size_t payment_service_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
  out[n++] = SERVICE_METHOD("PaymentService", "GetPayment", RPC_UNARY, get_payment,
                            ccpay__v1__get_payment_request, ccpay__v1__payment, "payments.read");
  out[n++] = SERVICE_METHOD("PaymentService", "ListPayments", RPC_UNARY, list_payments,
                            ccpay__v1__list_payments_request, ccpay__v1__list_payments_response,
                            "payments.read");
  out[n++] = SERVICE_METHOD("PaymentService", "ListTransactions", RPC_UNARY, list_transactions,
                            ccpay__v1__list_transactions_request,
                            ccpay__v1__list_transactions_response, "payments.read");
  out[n++] =
      SERVICE_METHOD("PaymentService", "Authorize", RPC_UNARY, authorize_payment,
                     ccpay__v1__authorize_payment_request, ccpay__v1__payment, "payments.write");
  out[n++] =
      SERVICE_METHOD("PaymentService", "Capture", RPC_UNARY, capture_payment,
                     ccpay__v1__capture_payment_request, ccpay__v1__payment, "payments.write");
  out[n++] = SERVICE_METHOD("PaymentService", "Void", RPC_UNARY, void_payment,
                            ccpay__v1__void_payment_request, ccpay__v1__payment, "payments.write");
  out[n++] =
      SERVICE_METHOD("PaymentService", "Refund", RPC_UNARY, refund_payment,
                     ccpay__v1__refund_payment_request, ccpay__v1__payment, "payments.refund");
  out[n++] =
      SERVICE_METHOD("PaymentService", "SyncTransaction", RPC_UNARY, sync_transaction,
                     ccpay__v1__sync_transaction_request, ccpay__v1__transaction, "payments.write");
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
