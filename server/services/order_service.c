/* ccpay.v1.OrderService: taking orders, holds, submission, invoicing (with its journal
 * entry, in the same transaction as the invoice) and cancellation. Rules live in
 * domain/order.c; this file reads, applies them and writes. */
#include <stddef.h>
#include <string.h>

#include "audit_trail.h"
#include "balance_review.h"
#include "base/check.h"
#include "base/limits.h"
#include "ccpay/v1/order.pb-c.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/balance.h"
#include "domain/fraud.h"
#include "domain/money.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/validate.h"
#include "excess_funds.h"
#include "mutation.h"
#include "order_service.h"
#include "paging.h"
#include "payment_flow.h"
#include "payment_gateway.h"
#include "payment_service.h"
#include "services.h"
#include "storage/customers.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/payments.h"
#include "storage/returns.h"
#include "timestamps.h"

enum {
  MS_PER_DAY = 24 * 3600 * 1000,
};

/* --- CreateOrder ---------------------------------------------------------------------- */

typedef struct create_input {
  const Ccpay__V1__CreateOrderRequest *request;
  uint64_t customer_id;
} create_input;

static ccpay_err create_order_execute(store_txn *txn, const void *input, arena *a,
                                      ProtobufCMessage **reply, ccpay_error *error) {
  const create_input *in = input;
  const Ccpay__V1__Order *requested = in->request->order;
  Ccpay__V1__Customer *customer = NULL;
  ccpay_err rc = customers_get(txn, in->customer_id, a, &customer, error);
  if (rc == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_NOT_FOUND, "order.customer_id: no customer %s",
                           requested->customer_id);
  }
  if (rc != CCPAY_OK) return rc;
  if (strcmp(customer->currency_code, requested->currency_code) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "order.currency_code: must be the customer's currency %s, not %s",
                           customer->currency_code, requested->currency_code);
  }
  Ccpay__V1__Order *o = order_build(requested, a, error);
  if (o == NULL) return error->code;
  uint64_t id;
  rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  o->id = service_format_id(ID_ORDER, id, a);
  o->audit = audit_stamp_new(a, store_txn_time_ms(txn));
  o->version = 1;
  if (o->id == NULL || o->audit == NULL) return service_exhausted(error);
  rc = orders_put(txn, NULL, o, error);
  *reply = &o->base;
  return rc;
}

static void create_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CreateOrderRequest *request = (const Ccpay__V1__CreateOrderRequest *)message;
  service_env *env = rpc_call_context(call);
  create_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc =
      in == NULL ? service_exhausted(&error) : validate_request_id(request->request_id, &error);
  if (rc == CCPAY_OK) rc = order_validate_new(request->order, &error);
  if (rc == CCPAY_OK) {
    rc = service_parse_id(ID_CUSTOMER, "order.customer_id", request->order->customer_id,
                          &in->customer_id, &error);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->request = request;
  mutation_submit(call, env->store, request->request_id, message, create_order_execute, in);
}

/* --- Changes to one order ------------------------------------------------------------- */

/* Applies a change to the writer's copy of the order (already checked against the
 * status machine). May fill extra output in the change. */
typedef struct order_change order_change;
typedef ccpay_err (*order_apply_fn)(store_txn *txn, Ccpay__V1__Order *order, order_change *change,
                                    arena *a, ccpay_error *error);

struct order_change {
  uint64_t order_id; /* first: service_change_new parses it */
  order_action action;
  order_apply_fn apply;
  const ProtobufCMessage *request;
  Ccpay__V1__Invoice *invoice; /* InvoiceOrder's output */
  const char *fraud_hold;      /* SubmitOrder: why the fraud rules hold the order, or NULL */
  const char *reason;          /* CancelOrder */
  bool queued_only;            /* BalanceReviewService.CancelOrder: only a queued order */
};
/* service_change_new and excess_funds_end read the order id as the first field. */
_Static_assert(offsetof(order_change, order_id) == 0, "order_id first");

/* Reads the order twice (the stored "before" keeps its index keys), applies the change
 * to the second copy, and writes it with a new version. */
static ccpay_err order_change_run(store_txn *txn, order_change *change, arena *a,
                                  Ccpay__V1__Order **out, ccpay_error *error) {
  Ccpay__V1__Order *before = NULL, *after = NULL;
  ccpay_err rc = service_order_edit(txn, change->order_id, a, &before, &after, error);
  if (rc == CCPAY_OK) rc = order_check_action(after, change->action, error);
  if (rc == CCPAY_OK) rc = change->apply(txn, after, change, a, error);
  if (rc != CCPAY_OK) return rc;
  rc = service_order_write(txn, before, after, a, error);
  *out = after;
  return rc;
}

static ccpay_err order_change_execute(store_txn *txn, const void *input, arena *a,
                                      ProtobufCMessage **reply, ccpay_error *error) {
  Ccpay__V1__Order *order = NULL;
  ccpay_err rc = order_change_run(txn, (order_change *)input, a, &order, error);
  *reply = order != NULL ? &order->base : NULL;
  return rc;
}

/* A change of the order named by order_id, in the call's arena, after checking the
 * common fields; NULL when they are wrong (the call has been failed then). */
static order_change *order_change_new(rpc_call *call, const ProtobufCMessage *request,
                                      const char *request_id, const char *order_id,
                                      order_action action, order_apply_fn apply) {
  order_change *change =
      service_change_new(call, sizeof *change, request_id, ID_ORDER, "order_id", order_id);
  if (change == NULL) return NULL;
  change->action = action;
  change->apply = apply;
  change->request = request;
  return change;
}

/* Validates the common fields and queues the change; the handler has checked the rest. */
static void order_change_submit(rpc_call *call, const ProtobufCMessage *request,
                                const char *request_id, const char *order_id, order_action action,
                                order_apply_fn apply, mutation_execute_fn execute) {
  order_change *change = order_change_new(call, request, request_id, order_id, action, apply);
  if (change == NULL) return;
  service_env *env = rpc_call_context(call);
  mutation_submit(call, env->store, request_id, request, execute, change);
}

/* Like order_change_submit, for changes that go on to processor operations: begin runs
 * the change and adds the operations; its reply is stored at once (a retry must not
 * run the change again) and replaced by end's when the processor has answered. */
static void order_change_flow(rpc_call *call, const ProtobufCMessage *request,
                              const char *request_id, const char *order_id, order_action action,
                              order_apply_fn apply, payment_flow_fn begin, payment_flow_fn end) {
  order_change *change = order_change_new(call, request, request_id, order_id, action, apply);
  if (change == NULL) return;
  payment_flow_spec spec = {.begin = begin, .end = end, .store_begin_reply = true, .input = change};
  payment_flow_start(call, request_id, request, &spec);
}

/* --- UpdateOrderLines ----------------------------------------------------------------- */

static ccpay_err apply_update_lines(store_txn *txn, Ccpay__V1__Order *o, order_change *change,
                                    arena *a, ccpay_error *error) {
  const Ccpay__V1__UpdateOrderLinesRequest *r =
      (const Ccpay__V1__UpdateOrderLinesRequest *)change->request;
  ccpay_err rc = order_validate_lines(r->lines, r->n_lines, r->charges, r->n_charges,
                                      o->currency_code, "", error);
  if (rc != CCPAY_OK) return rc;
  return order_replace_lines(o, r->lines, r->n_lines, r->charges, r->n_charges, a, error);
}

static void update_order_lines(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__UpdateOrderLinesRequest *r = (const Ccpay__V1__UpdateOrderLinesRequest *)message;
  order_change_submit(call, message, r->request_id, r->order_id, ORDER_ACTION_UPDATE_LINES,
                      apply_update_lines, order_change_execute);
}

/* --- Holds ---------------------------------------------------------------------------- */

static ccpay_err apply_hold(store_txn *txn, Ccpay__V1__Order *o, order_change *change, arena *a,
                            ccpay_error *error) {
  const Ccpay__V1__HoldOrderRequest *r = (const Ccpay__V1__HoldOrderRequest *)change->request;
  Ccpay__V1__OrderHold *hold = arena_alloc(a, sizeof *hold);
  if (hold == NULL) return service_exhausted(error);
  ccpay__v1__order_hold__init(hold);
  hold->code = r->hold_code;
  hold->reason = r->reason;
  hold->hold_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (hold->hold_time == NULL) return service_exhausted(error);
  o->hold = hold;
  return CCPAY_OK;
}

static void hold_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__HoldOrderRequest *r = (const Ccpay__V1__HoldOrderRequest *)message;
  ccpay_error error;
  ccpay_err rc = order_check_hold_code("hold_code", r->hold_code, &error);
  if (rc == CCPAY_OK && strcmp(r->hold_code, BALANCE_HOLD_CODE) == 0) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_INVALID,
                         "hold_code: " BALANCE_HOLD_CODE
                         " is the out-of-balance queue, which "
                         "SubmitOrder fills");
  }
  if (rc == CCPAY_OK)
    rc = validate_text("reason", r->reason, ORDER_REASON_BYTES_MAX, false, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  order_change_submit(call, message, r->request_id, r->order_id, ORDER_ACTION_HOLD, apply_hold,
                      order_change_execute);
}

static ccpay_err apply_release(store_txn *txn, Ccpay__V1__Order *o, order_change *change, arena *a,
                               ccpay_error *error) {
  o->hold = NULL;
  return CCPAY_OK;
}

static void release_hold(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ReleaseHoldRequest *r = (const Ccpay__V1__ReleaseHoldRequest *)message;
  order_change_submit(call, message, r->request_id, r->order_id, ORDER_ACTION_RELEASE_HOLD,
                      apply_release, order_change_execute);
}

/* --- SubmitOrder ---------------------------------------------------------------------- */

/* Submitted; on the fraud review hold when the fraud rules asked for it. */
static ccpay_err apply_submit(store_txn *txn, Ccpay__V1__Order *o, order_change *change, arena *a,
                              ccpay_error *error) {
  o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED;
  ccpay_err rc = balance_write_off(txn, o, a, error);
  if (rc != CCPAY_OK || change->fraud_hold == NULL) return rc;
  Ccpay__V1__OrderHold *hold = arena_alloc(a, sizeof *hold);
  if (hold == NULL) return service_exhausted(error);
  ccpay__v1__order_hold__init(hold);
  hold->code = FRAUD_HOLD_CODE;
  hold->reason = (char *)change->fraud_hold;
  hold->hold_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (hold->hold_time == NULL) return service_exhausted(error);
  o->hold = hold;
  return CCPAY_OK;
}

#define KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x

/* A payment the fraud rules refused: its authorization voided (or its sale refunded). */
static bool refused_by_fraud(const Ccpay__V1__Payment *p) {
  return strcmp(p->decline_code, FRAUD_DECLINE_CODE) == 0;
}

/* A declined or failed card stays on the order as history; while it is the latest card,
 * submitting answers its decline again (the same answer a retry of the first attempt
 * gets) until another payment is added. */
static ccpay_err submit_check_latest_card(const Ccpay__V1__Payment *latest, ccpay_error *error) {
  if (latest == NULL) return CCPAY_OK;
  if (latest->status == CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_DECLINED ||
      refused_by_fraud(latest)) {
    return ccpay_error_set(error, CCPAY_ERR_PAYMENT_DECLINED,
                           "payment %s: declined by %s: %s (%s); add another payment", latest->id,
                           latest->card->processor, latest->decline_code, latest->decline_message);
  }
  if (latest->status == CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_FAILED) {
    return ccpay_error_set(error, CCPAY_ERR_PAYMENT_FAILED,
                           "payment %s: rejected by %s: %s; add another payment", latest->id,
                           latest->card->processor, latest->decline_message);
  }
  return CCPAY_OK;
}

/* Every card payment of the order gets its authorization (or sale) started; one left
 * open by an earlier attempt whose answer was lost is asked about instead. */
static ccpay_err submit_add_authorizations(store_txn *txn, payment_flow *f,
                                           const Ccpay__V1__Order *o, ccpay_error *error) {
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err prc = parameters_get(txn, a, &params, error);
  if (prc != CCPAY_OK) return prc;
  bool sale = params->capture_mode == CCPAY__V1__CAPTURE_MODE__CAPTURE_MODE_CAPTURE_AT_SUBMIT;
  const Ccpay__V1__Payment *latest_card = NULL;
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    Ccpay__V1__Payment *p = NULL;
    ccpay_err rc = payment_read(txn, o->payment_ids[i], a, &p, error);
    if (rc != CCPAY_OK) return rc;
    if (p->tender_type != CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD) continue;
    latest_card = p;
    if (p->open_transaction_id[0] != '\0') {
      uint64_t open_id = 0;
      Ccpay__V1__Transaction *t = NULL;
      CHECK(id_parse(ID_TXN, p->open_transaction_id, &open_id));
      rc = transactions_get(txn, open_id, a, &t, error);
      if (rc == CCPAY_OK) rc = payment_flow_add_lookup(f, txn, t, error);
    } else if (p->status == CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_NEW) {
      rc = payment_flow_add_operation(f, txn, p, sale ? KIND(SALE) : KIND(AUTHORIZE), 0, false,
                                      error);
    }
    if (rc != CCPAY_OK) return rc;
  }
  return payment_flow_step_count(f) == 0 ? submit_check_latest_card(latest_card, error) : CCPAY_OK;
}

/* Marks the order SUBMITTED (checked against the status machine again: the order may
 * have changed while the processor answered), held for review when fraud_hold says why. */
static ccpay_err submit_write(store_txn *txn, uint64_t order_id, const char *fraud_hold, arena *a,
                              ProtobufCMessage **reply, ccpay_error *error) {
  order_change change = {.order_id = order_id,
                         .action = ORDER_ACTION_SUBMIT,
                         .apply = apply_submit,
                         .fraud_hold = fraud_hold};
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = order_change_run(txn, &change, a, &o, error);
  *reply = o != NULL ? &o->base : NULL;
  return rc;
}

/* SubmitOrder's and ReleaseOrder's input. */
typedef struct submit_input {
  uint64_t order_id;                    /* first: the flow's other functions read it as the input */
  Ccpay__V1__BalanceResolution release; /* ReleaseOrder's resolution; 0 for SubmitOrder */
} submit_input;

/* The balance check first (a queued order is written and answered at once); then every
 * card is authorized, or, with none to authorize, the order is submitted. */
static ccpay_err submit_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                              ccpay_error *error) {
  const submit_input *in = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Order *before = NULL, *o = NULL;
  ccpay_err rc = service_order_edit(txn, in->order_id, a, &before, &o, error);
  if (rc == CCPAY_OK && in->release != 0) {
    rc = balance_release(txn, o, in->release, audit_trail_agent_id(), a, error);
  }
  if (rc == CCPAY_OK) rc = order_check_action(o, ORDER_ACTION_SUBMIT, error);
  bool queue = false;
  if (rc == CCPAY_OK) rc = balance_check_submit(txn, o, a, &queue, error);
  if (rc == CCPAY_OK && (queue || in->release != 0))
    rc = service_order_write(txn, before, o, a, error);
  if (rc != CCPAY_OK || queue) {
    *reply = rc == CCPAY_OK ? &o->base : NULL;
    return rc;
  }
  rc = submit_add_authorizations(txn, f, o, error);
  if (rc != CCPAY_OK) return rc;
  if (payment_flow_step_count(f) > 0) return CCPAY_OK;
  return submit_write(txn, in->order_id, NULL, a, reply, error);
}

/* Refuses an approved payment: records why, and starts the void of the authorization (or
 * the refund of a sale) as a follow-up operation. */
static ccpay_err submit_refuse(store_txn *txn, payment_flow *f, Ccpay__V1__Payment *p,
                               const char *reason, ccpay_error *error) {
  p->decline_code = FRAUD_DECLINE_CODE;
  p->decline_message =
      arena_printf(payment_flow_arena(f), "refused by the fraud rules: %s", reason);
  if (p->decline_message == NULL) return service_exhausted(error);
  bool sale = p->captured->amount_minor > 0;
  return payment_flow_add_operation(f, txn, p, sale ? KIND(REFUND) : KIND(VOID),
                                    sale ? payment_refundable(p) : 0, false, error);
}

/* Applies the fraud rules to each payment this submission authorized: holds are
 * collected into *hold (in the flow's arena), declines refuse the payment. A payment
 * refused in an earlier pass (its void done) is marked DECLINED now. *refused names
 * the first refused payment. */
static ccpay_err submit_assess_fraud(store_txn *txn, payment_flow *f, const char **hold,
                                     const Ccpay__V1__Payment **refused, ccpay_error *error) {
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err prc = parameters_get(txn, a, &params, error);
  if (prc != CCPAY_OK) return prc;
  fraud_rules rules;
  fraud_rules_from(params->fraud_rules, &rules);
  for (size_t i = 0; i < payment_flow_step_count(f); i++) {
    const Ccpay__V1__Transaction *t = payment_flow_step_transaction(f, i);
    if (t->state != CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_SUCCEEDED) continue;
    Ccpay__V1__Payment *p = NULL;
    ccpay_err rc = payment_read(txn, t->payment_id, a, &p, error);
    if (rc != CCPAY_OK) return rc;
    if (refused_by_fraud(p)) {
      if (*refused == NULL) *refused = p;
      if (p->open_transaction_id[0] == '\0' &&
          p->status != CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_DECLINED) {
        p->status = CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_DECLINED;
        p->version++;
        rc = payments_put(txn, p, false, error);
      }
      if (rc != CCPAY_OK) return rc;
      continue;
    }
    if (t->kind != KIND(AUTHORIZE) && t->kind != KIND(SALE)) continue;
    fraud_verdict verdict;
    fraud_assess(&rules, p, &verdict);
    if (verdict.action == FRAUD_DECLINE) {
      rc = submit_refuse(txn, f, p, verdict.reason, error);
      if (*refused == NULL) *refused = p;
    } else if (verdict.action == FRAUD_HOLD) {
      *hold = *hold == NULL ? arena_printf(a, "%s: %s", p->id, verdict.reason)
                            : arena_printf(a, "%s; %s: %s", *hold, p->id, verdict.reason);
      if (*hold == NULL) rc = service_exhausted(error);
    }
    if (rc != CCPAY_OK) return rc;
  }
  return CCPAY_OK;
}

/* Submitted only when every card was authorized and the fraud rules accept it (or hold
 * the order for review); a decline or a lost answer is told to the caller, and the order
 * stays OPEN (the decline recorded on its payment). */
/* An order cancelled while its cards were being authorized: what they approved is
 * released (voided, or refunded for a sale) as follow-up operations, since the
 * cancellation could not void an authorization that did not exist yet. */
static ccpay_err submit_release_cancelled(store_txn *txn, payment_flow *f, bool *cancelled,
                                          ccpay_error *error) {
  const uint64_t *order_id = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = orders_get(txn, *order_id, a, &o, error);
  *cancelled = rc == CCPAY_OK && o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED;
  for (size_t i = 0; *cancelled && rc == CCPAY_OK && i < payment_flow_step_count(f); i++) {
    const Ccpay__V1__Transaction *t = payment_flow_step_transaction(f, i);
    bool approved = t->state == CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_SUCCEEDED &&
                    (t->kind == KIND(AUTHORIZE) || t->kind == KIND(SALE));
    Ccpay__V1__Payment *p = NULL;
    if (approved) rc = payment_read(txn, t->payment_id, a, &p, error);
    if (p == NULL || rc != CCPAY_OK || p->open_transaction_id[0] != '\0') continue;
    if (payment_capturable(p) > 0) {
      rc = payment_flow_add_operation(f, txn, p, KIND(VOID), 0, false, error);
    } else if (payment_refundable(p) > 0) {
      rc = payment_flow_add_operation(f, txn, p, KIND(REFUND), payment_refundable(p), false, error);
    }
  }
  return rc;
}

static ccpay_err submit_end(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                            ccpay_error *error) {
  bool cancelled = false;
  ccpay_err rc = submit_release_cancelled(txn, f, &cancelled, error);
  if (rc != CCPAY_OK) return rc;
  if (cancelled) {
    const uint64_t *order_id = payment_flow_input(f);
    char id[ID_TEXT_BYTES_MAX];
    id_format(ID_ORDER, *order_id, id);
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s was cancelled while its cards were being authorized: what "
                           "they approved is released",
                           id);
  }
  for (size_t i = 0; i < payment_flow_step_count(f); i++) {
    const Ccpay__V1__Transaction *t = payment_flow_step_transaction(f, i);
    if (t->kind != KIND(AUTHORIZE) && t->kind != KIND(SALE)) continue; /* fraud follow-ups */
    rc = payment_flow_step_error(f, i, error);
    if (rc != CCPAY_OK) return rc;
  }
  const char *hold = NULL;
  const Ccpay__V1__Payment *refused = NULL;
  rc = submit_assess_fraud(txn, f, &hold, &refused, error);
  if (rc != CCPAY_OK) return rc;
  if (refused != NULL) {
    return ccpay_error_set(error, CCPAY_ERR_PAYMENT_DECLINED,
                           "payment %s: %s (%s); add another payment", refused->id,
                           refused->decline_message, FRAUD_DECLINE_CODE);
  }
  const uint64_t *order_id = payment_flow_input(f);
  return submit_write(txn, *order_id, hold, payment_flow_arena(f), reply, error);
}

void order_submit_start(rpc_call *call, const ProtobufCMessage *request, const char *request_id,
                        const char *order_id, Ccpay__V1__BalanceResolution release) {
  submit_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc = in == NULL ? service_exhausted(&error) : validate_request_id(request_id, &error);
  if (rc == CCPAY_OK) rc = service_parse_id(ID_ORDER, "order_id", order_id, &in->order_id, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->release = release;
  payment_flow_spec spec = {.begin = submit_begin, .end = submit_end, .input = in};
  payment_flow_start(call, request_id, request, &spec);
}

static void submit_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__SubmitOrderRequest *r = (const Ccpay__V1__SubmitOrderRequest *)message;
  order_submit_start(call, message, r->request_id, r->order_id, 0);
}

/* --- InvoiceOrder --------------------------------------------------------------------- */

/* Appends the invoice's journal entry; the invoice records its sequence. */
static ccpay_err post_invoice(store_txn *txn, Ccpay__V1__Invoice *inv, arena *a,
                              ccpay_error *error) {
  Ccpay__V1__JournalEntry *entry = NULL;
  ccpay_err rc = accounts_invoice_entry(inv, a, &entry, error);
  if (rc != CCPAY_OK || entry == NULL) return rc;
  entry->entry_time = inv->invoice_time;
  rc = ledger_append(txn, entry, error);
  inv->entry_sequence = entry->sequence;
  return rc;
}

static ccpay_err apply_invoice(store_txn *txn, Ccpay__V1__Order *o, order_change *change, arena *a,
                               ccpay_error *error) {
  const Ccpay__V1__InvoiceOrderRequest *r = (const Ccpay__V1__InvoiceOrderRequest *)change->request;
  Ccpay__V1__Invoice *inv = NULL;
  ccpay_err rc = order_invoice(o, r->lines, r->n_lines, a, &inv, error);
  if (rc != CCPAY_OK) return rc;
  uint64_t customer_id = 0, invoice_id = 0;
  CHECK(id_parse(ID_CUSTOMER, o->customer_id, &customer_id));
  Ccpay__V1__Customer *customer = NULL;
  rc = customers_get(txn, customer_id, a, &customer, error);
  if (rc == CCPAY_OK) rc = id_next(txn, &invoice_id, error);
  if (rc != CCPAY_OK) return rc;
  int64_t now_ms = store_txn_time_ms(txn);
  inv->id = service_format_id(ID_INVOICE, invoice_id, a);
  inv->invoice_time = timestamp_from_ms(a, now_ms);
  inv->due_time = timestamp_from_ms(a, now_ms + (int64_t)customer->payment_terms_days * MS_PER_DAY);
  char **ids = arena_alloc(a, (o->n_invoice_ids + 1) * sizeof *ids);
  if (inv->id == NULL || inv->invoice_time == NULL || inv->due_time == NULL || ids == NULL) {
    return service_exhausted(error);
  }
  if (o->n_invoice_ids > 0) memcpy(ids, o->invoice_ids, o->n_invoice_ids * sizeof *ids);
  ids[o->n_invoice_ids] = inv->id;
  o->invoice_ids = ids;
  o->n_invoice_ids++;
  rc = post_invoice(txn, inv, a, error);
  if (rc == CCPAY_OK) rc = invoices_put(txn, inv, error);
  change->invoice = inv;
  return rc;
}

/* Sums what the order's payments have collected or are collecting: card captures done
 * and in flight, and checks and cash received. */
static ccpay_err order_collected(store_txn *txn, const Ccpay__V1__Order *o, arena *a,
                                 Ccpay__V1__Payment **payments, int64_t *collected,
                                 ccpay_error *error) {
  *collected = 0;
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    ccpay_err rc = payment_read(txn, o->payment_ids[i], a, &payments[i], error);
    if (rc != CCPAY_OK) return rc;
    const Ccpay__V1__Payment *p = payments[i];
    CHECK(money_add(*collected, p->captured->amount_minor - p->refunded->amount_minor, collected));
    CHECK(money_add(*collected, p->pending_capture->amount_minor, collected));
  }
  return CCPAY_OK;
}

static bool card_with_authorization_left(const Ccpay__V1__Payment *p) {
  return p->tender_type == CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD &&
         p->open_transaction_id[0] == '\0' && payment_capturable(p) > 0 &&
         (p->status == CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_AUTHORIZED ||
          p->status == CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_CAPTURED);
}

/* Captures what has been invoiced and not yet collected from the order's card
 * authorizations, oldest first. A capture is final once the order is fully invoiced,
 * or when the processor takes one capture per authorization (the rest is released
 * then, and a later invoice stays on the customer's account). When the order is fully
 * invoiced, authorizations not needed are voided. */
static ccpay_err invoice_add_captures(store_txn *txn, payment_flow *f, const Ccpay__V1__Order *o,
                                      ccpay_error *error) {
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Payment **payments = arena_alloc(a, (o->n_payment_ids + 1) * sizeof *payments);
  if (payments == NULL) return service_exhausted(error);
  int64_t collected = 0;
  ccpay_err rc = order_collected(txn, o, a, payments, &collected, error);
  if (rc != CCPAY_OK) return rc;
  int64_t due = o->totals->invoiced_total->amount_minor - collected;
  bool closing = o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED;
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    Ccpay__V1__Payment *p = payments[i];
    if (!card_with_authorization_left(p)) continue;
    if (due > 0) {
      int64_t take = due < payment_capturable(p) ? due : payment_capturable(p);
      bool final =
          closing || !payment_gateway_multiple_captures(payment_flow_env(f), p->card->processor);
      rc = payment_flow_add_operation(f, txn, p, KIND(CAPTURE), take, final, error);
      due -= take;
    } else if (closing) {
      rc = payment_flow_add_operation(f, txn, p, KIND(VOID), 0, false, error);
    }
    if (rc != CCPAY_OK) return rc;
  }
  return CCPAY_OK;
}

/* The reply: the order as it is now, the invoice, and the captures with their state. */
static ccpay_err invoice_reply(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                               ccpay_error *error) {
  const order_change *change = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__InvoiceOrderResponse *response = arena_alloc(a, sizeof *response);
  size_t steps = payment_flow_step_count(f);
  Ccpay__V1__Transaction **captures = arena_alloc(a, (steps + 1) * sizeof *captures);
  if (response == NULL || captures == NULL) return service_exhausted(error);
  ccpay__v1__invoice_order_response__init(response);
  ccpay_err rc = orders_get(txn, change->order_id, a, &response->order, error);
  if (rc != CCPAY_OK) return rc;
  response->invoice = change->invoice;
  for (size_t i = 0; i < steps; i++) {
    const Ccpay__V1__Transaction *t = payment_flow_step_transaction(f, i);
    if (t->kind == KIND(CAPTURE)) captures[response->n_captures++] = (Ccpay__V1__Transaction *)t;
  }
  response->captures = captures;
  *reply = &response->base;
  return CCPAY_OK;
}

static ccpay_err invoice_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                               ccpay_error *error) {
  order_change *change = (order_change *)payment_flow_input(f);
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = order_change_run(txn, change, payment_flow_arena(f), &o, error);
  if (rc == CCPAY_OK) rc = invoice_add_captures(txn, f, o, error);
  if (rc == CCPAY_OK && o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED) {
    rc = excess_funds_refund_invoiced(txn, f, change->order_id, error);
  }
  if (rc == CCPAY_OK) rc = invoice_reply(txn, f, reply, error);
  return rc;
}

static void invoice_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__InvoiceOrderRequest *r = (const Ccpay__V1__InvoiceOrderRequest *)message;
  order_change_flow(call, message, r->request_id, r->order_id, ORDER_ACTION_INVOICE, apply_invoice,
                    invoice_begin, invoice_reply);
}

/* --- Cancelling ----------------------------------------------------------------------- */

static ccpay_err apply_cancel(store_txn *txn, Ccpay__V1__Order *o, order_change *change, arena *a,
                              ccpay_error *error) {
  bool queued = o->hold != NULL && strcmp(o->hold->code, BALANCE_HOLD_CODE) == 0;
  if (change->queued_only && !queued) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s is not in the out-of-balance queue", o->id);
  }
  if (queued) o->hold = NULL; /* a cancelled order leaves the queue */
  o->cancel_reason = (char *)change->reason;
  return order_cancel(o, a, error);
}

static ccpay_err cancel_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                              ccpay_error *error) {
  order_change *change = (order_change *)payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = order_change_run(txn, change, a, &o, error);
  for (size_t i = 0; rc == CCPAY_OK && i < o->n_payment_ids; i++) {
    Ccpay__V1__Payment *p = NULL;
    rc = payment_read(txn, o->payment_ids[i], a, &p, error);
    if (rc == CCPAY_OK && card_with_authorization_left(p)) {
      rc = payment_flow_add_operation(f, txn, p, KIND(VOID), 0, false, error);
    }
  }
  if (rc == CCPAY_OK) rc = excess_funds_refund_auto(txn, f, change->order_id, error);
  if (rc == CCPAY_OK) rc = orders_get(txn, change->order_id, a, &o, error);
  *reply = o != NULL ? &o->base : NULL;
  return rc;
}

void order_cancel_start(rpc_call *call, const ProtobufCMessage *request, const char *request_id,
                        const char *order_id, const char *reason, bool queued_only) {
  ccpay_error error;
  if (validate_text("reason", reason, ORDER_REASON_BYTES_MAX, false, &error) != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  order_change *change =
      order_change_new(call, request, request_id, order_id, ORDER_ACTION_CANCEL, apply_cancel);
  if (change == NULL) return;
  change->reason = reason;
  change->queued_only = queued_only;
  payment_flow_spec spec = {
      .begin = cancel_begin, .end = excess_funds_end, .store_begin_reply = true, .input = change};
  payment_flow_start(call, request_id, request, &spec);
}

static void cancel_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CancelOrderRequest *r = (const Ccpay__V1__CancelOrderRequest *)message;
  order_cancel_start(call, message, r->request_id, r->order_id, r->reason, false);
}

static ccpay_err apply_cancel_lines(store_txn *txn, Ccpay__V1__Order *o, order_change *change,
                                    arena *a, ccpay_error *error) {
  const Ccpay__V1__CancelLinesRequest *r = (const Ccpay__V1__CancelLinesRequest *)change->request;
  ccpay_err rc = order_cancel_lines(o, r->line_numbers, r->n_line_numbers, a, error);
  if (r->reason[0] != '\0') o->cancel_reason = r->reason;
  return rc;
}

/* Cancelled lines of a paid order may leave excess funds: refunded at once when AUTO. */
static ccpay_err cancel_lines_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                                    ccpay_error *error) {
  order_change *change = (order_change *)payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = order_change_run(txn, change, a, &o, error);
  if (rc == CCPAY_OK) rc = excess_funds_refund_auto(txn, f, change->order_id, error);
  if (rc == CCPAY_OK) rc = orders_get(txn, change->order_id, a, &o, error);
  *reply = o != NULL ? &o->base : NULL;
  return rc;
}

static void cancel_lines(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CancelLinesRequest *r = (const Ccpay__V1__CancelLinesRequest *)message;
  ccpay_error error;
  if (validate_text("reason", r->reason, ORDER_REASON_BYTES_MAX, false, &error) != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  order_change_flow(call, message, r->request_id, r->order_id, ORDER_ACTION_CANCEL_LINES,
                    apply_cancel_lines, cancel_lines_begin, excess_funds_end);
}

/* --- Reads ---------------------------------------------------------------------------- */

/* Reads one order by the id in field; the reply lives in the call's arena. */
static ccpay_err read_order(rpc_call *call, const char *field, const char *id_text,
                            Ccpay__V1__Order **out, ccpay_error *error) {
  service_env *env = rpc_call_context(call);
  uint64_t id;
  ccpay_err rc = service_parse_id(ID_ORDER, field, id_text, &id, error);
  store_txn *txn = NULL;
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  rc = orders_get(txn, id, rpc_call_arena(call), out, error);
  int64_t excess = 0;
  if (rc == CCPAY_OK) rc = excess_funds_of(txn, *out, rpc_call_arena(call), &excess, error);
  store_read_end(txn);
  if (rc == CCPAY_OK) {
    (*out)->totals->total_excess_funds =
        money_message(rpc_call_arena(call), (*out)->currency_code, excess);
    if ((*out)->totals->total_excess_funds == NULL) rc = service_exhausted(error);
  }
  return rc;
}

static void get_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetOrderRequest *r = (const Ccpay__V1__GetOrderRequest *)message;
  Ccpay__V1__Order *o = NULL;
  ccpay_error error;
  ccpay_err rc = read_order(call, "id", r->id, &o, &error);
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &o->base : NULL, &error);
}

static void calculate_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CalculateOrderRequest *r = (const Ccpay__V1__CalculateOrderRequest *)message;
  Ccpay__V1__Order *o = NULL;
  ccpay_error error;
  ccpay_err rc = read_order(call, "order_id", r->order_id, &o, &error);
  CHECK(rc != CCPAY_OK || o->totals != NULL);
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &o->totals->base : NULL, &error);
}

static void get_invoice(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetInvoiceRequest *r = (const Ccpay__V1__GetInvoiceRequest *)message;
  service_env *env = rpc_call_context(call);
  ccpay_error error;
  uint64_t id;
  Ccpay__V1__Invoice *inv = NULL;
  store_txn *txn = NULL;
  ccpay_err rc = service_parse_id(ID_INVOICE, "id", r->id, &id, &error);
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = invoices_get(txn, id, rpc_call_arena(call), &inv, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &inv->base : NULL, &error);
}

static ccpay_err list_query(const Ccpay__V1__ListOrdersRequest *r, order_query *q, uint8_t *listing,
                            ccpay_error *error) {
  int filters = (r->status != 0) + (r->customer_id[0] != '\0') + (r->hold_code[0] != '\0');
  if (filters > 1) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "status, customer_id, hold_code: give at most one filter");
  }
  q->by = ORDER_LIST_ALL, *listing = LISTING_ORDERS_ALL;
  if (r->status != 0) {
    if (strcmp(order_status_name(r->status), "UNSPECIFIED") == 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "status: not an order status");
    }
    q->by = ORDER_LIST_STATUS, q->status = r->status, *listing = LISTING_ORDERS_STATUS;
  } else if (r->customer_id[0] != '\0') {
    q->by = ORDER_LIST_CUSTOMER, *listing = LISTING_ORDERS_CUSTOMER;
    ccpay_err rc =
        service_parse_id(ID_CUSTOMER, "customer_id", r->customer_id, &q->customer_id, error);
    if (rc != CCPAY_OK) return rc;
  } else if (r->hold_code[0] != '\0') {
    q->by = ORDER_LIST_HOLD_CODE, q->hold_code = r->hold_code, *listing = LISTING_ORDERS_HOLD;
    ccpay_err rc = order_check_hold_code("hold_code", r->hold_code, error);
    if (rc != CCPAY_OK) return rc;
  }
  return paging_size(r->page_size, &q->limit, error);
}

static ccpay_err list_page(service_env *env, const order_query *q, uint8_t listing, arena *a,
                           Ccpay__V1__ListOrdersResponse *reply, ccpay_error *error) {
  store_txn *txn;
  ccpay_err rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  order_page page = {0};
  rc = orders_list(txn, q, a, &page, error);
  store_read_end(txn);
  if (rc != CCPAY_OK) return rc;
  reply->orders = page.orders;
  reply->n_orders = page.count;
  reply->next_page_token = paging_encode(listing, page.next_key, page.next_key_len, a);
  return reply->next_page_token != NULL ? CCPAY_OK : service_exhausted(error);
}

static void list_orders(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListOrdersRequest *r = (const Ccpay__V1__ListOrdersRequest *)message;
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  order_query q = {0};
  uint8_t listing = 0;
  uint8_t *after = NULL;
  ccpay_err rc = list_query(r, &q, &listing, &error);
  if (rc == CCPAY_OK)
    rc = paging_decode(r->page_token, listing, a, &after, &q.after_key_len, &error);
  q.after_key = after;
  Ccpay__V1__ListOrdersResponse reply = CCPAY__V1__LIST_ORDERS_RESPONSE__INIT;
  if (rc == CCPAY_OK) rc = list_page(rpc_call_context(call), &q, listing, a, &reply, &error);
  service_reply_or_fail(call, rc, &reply.base, &error);
}

/* --- Method table --------------------------------------------------------------------- */

size_t order_service_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
  out[n++] = SERVICE_METHOD("OrderService", "CreateOrder", RPC_UNARY, create_order,
                            ccpay__v1__create_order_request, ccpay__v1__order, "orders.write");
  out[n++] = SERVICE_METHOD("OrderService", "GetOrder", RPC_UNARY, get_order,
                            ccpay__v1__get_order_request, ccpay__v1__order, "orders.read");
  out[n++] = SERVICE_METHOD("OrderService", "ListOrders", RPC_UNARY, list_orders,
                            ccpay__v1__list_orders_request, ccpay__v1__list_orders_response,
                            "orders.read");
  out[n++] =
      SERVICE_METHOD("OrderService", "UpdateOrderLines", RPC_UNARY, update_order_lines,
                     ccpay__v1__update_order_lines_request, ccpay__v1__order, "orders.write");
  out[n++] =
      SERVICE_METHOD("OrderService", "CalculateOrder", RPC_UNARY, calculate_order,
                     ccpay__v1__calculate_order_request, ccpay__v1__order_totals, "orders.read");
  out[n++] = SERVICE_METHOD("OrderService", "HoldOrder", RPC_UNARY, hold_order,
                            ccpay__v1__hold_order_request, ccpay__v1__order, "orders.hold");
  out[n++] = SERVICE_METHOD("OrderService", "ReleaseHold", RPC_UNARY, release_hold,
                            ccpay__v1__release_hold_request, ccpay__v1__order, "orders.hold");
  out[n++] = SERVICE_METHOD("OrderService", "SubmitOrder", RPC_UNARY, submit_order,
                            ccpay__v1__submit_order_request, ccpay__v1__order, "orders.write");
  out[n++] = SERVICE_METHOD("OrderService", "InvoiceOrder", RPC_UNARY, invoice_order,
                            ccpay__v1__invoice_order_request, ccpay__v1__invoice_order_response,
                            "orders.invoice");
  out[n++] = SERVICE_METHOD("OrderService", "GetInvoice", RPC_UNARY, get_invoice,
                            ccpay__v1__get_invoice_request, ccpay__v1__invoice, "orders.read");
  out[n++] = SERVICE_METHOD("OrderService", "CancelOrder", RPC_UNARY, cancel_order,
                            ccpay__v1__cancel_order_request, ccpay__v1__order, "orders.cancel");
  out[n++] = SERVICE_METHOD("OrderService", "CancelLines", RPC_UNARY, cancel_lines,
                            ccpay__v1__cancel_lines_request, ccpay__v1__order, "orders.cancel");
  out[n++] = SERVICE_METHOD("OrderService", "AddPayment", RPC_UNARY, payment_add_to_order,
                            ccpay__v1__add_payment_request, ccpay__v1__payment, "payments.write");
  out[n++] =
      SERVICE_METHOD("OrderService", "RefundExcessFunds", RPC_UNARY, excess_funds_refund_now,
                     ccpay__v1__refund_excess_funds_request, ccpay__v1__order, "payments.refund");
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
