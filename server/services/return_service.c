/* ccpay.v1.ReturnService: return orders (RMAs), their refund summary, overrides of it,
 * and replacement orders. Rules live in domain/return_order.c (the return) and
 * domain/refund.c (where refunds go); refunds.c issues them; this file reads, applies
 * and writes. */
#include <stddef.h>
#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/money.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/refund.h"
#include "domain/return_order.h"
#include "domain/validate.h"
#include "mutation.h"
#include "override_code.h"
#include "paging.h"
#include "payment_flow.h"
#include "payment_gateway.h"
#include "payment_service.h"
#include "refunds.h"
#include "services.h"
#include "storage/customers.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/payments.h"
#include "storage/returns.h"
#include "timestamps.h"

#define RSTATUS(x) CCPAY__V1__RETURN_STATUS__RETURN_STATUS_##x
#define LINE(x) CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_##x
#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x

static refund_owner owner_of(const Ccpay__V1__ReturnOrder *r) {
  return (refund_owner){.customer_id = r->customer_id,
                        .currency = r->currency_code,
                        .order_id = r->original_order_id,
                        .return_id = r->id};
}

/* The original order's payments, oldest first (none without an original order). */
static ccpay_err original_payments(store_txn *txn, const Ccpay__V1__ReturnOrder *r, arena *a,
                                   Ccpay__V1__Payment ***out, size_t *count, ccpay_error *error) {
  *out = NULL;
  *count = 0;
  if (r->original_order_id[0] == '\0') return CCPAY_OK;
  uint64_t order_id = 0;
  CHECK(id_parse(ID_ORDER, r->original_order_id, &order_id));
  Ccpay__V1__Order *o = NULL;
  ccpay_err rc = orders_get(txn, order_id, a, &o, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Payment **payments = arena_alloc(a, (o->n_payment_ids + 1) * sizeof *payments);
  if (payments == NULL) return service_exhausted(error);
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    rc = payment_read(txn, o->payment_ids[i], a, &payments[i], error);
    if (rc != CCPAY_OK) return rc;
  }
  *out = payments;
  *count = o->n_payment_ids;
  return CCPAY_OK;
}

/* --- CreateReturn ---------------------------------------------------------------------- */

typedef struct create_input {
  const Ccpay__V1__CreateReturnRequest *request;
  uint64_t customer_id;
  uint64_t order_id; /* 0: no original order */
} create_input;

static ccpay_err create_return_execute(store_txn *txn, const void *input, arena *a,
                                       ProtobufCMessage **reply, ccpay_error *error) {
  const create_input *in = input;
  const Ccpay__V1__ReturnOrder *requested = in->request->return_order;
  Ccpay__V1__Customer *customer = NULL;
  ccpay_err rc = customers_get(txn, in->customer_id, a, &customer, error);
  if (rc == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_NOT_FOUND, "return_order.customer_id: no customer %s",
                           requested->customer_id);
  }
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Order *before = NULL, *original = NULL;
  if (in->order_id != 0) rc = service_order_edit(txn, in->order_id, a, &before, &original, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__ReturnOrder *r = NULL;
  rc = return_order_build(requested, customer->currency_code, original, a, &r, error);
  uint64_t id = 0;
  if (rc == CCPAY_OK) rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  int64_t now_ms = store_txn_time_ms(txn);
  r->id = service_format_id(ID_RETURN, id, a);
  r->audit = audit_stamp_new(a, now_ms);
  r->version = 1;
  if (r->id == NULL || r->audit == NULL) return service_exhausted(error);
  if (original != NULL) rc = service_order_write(txn, before, original, a, error);
  if (rc == CCPAY_OK) rc = returns_put(txn, NULL, r, error);
  *reply = &r->base;
  return rc;
}

static void create_return(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CreateReturnRequest *r = (const Ccpay__V1__CreateReturnRequest *)message;
  service_env *env = rpc_call_context(call);
  create_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc =
      in == NULL ? service_exhausted(&error) : validate_request_id(r->request_id, &error);
  if (rc == CCPAY_OK) rc = return_order_validate_new(r->return_order, &error);
  if (rc == CCPAY_OK) {
    rc = service_parse_id(ID_CUSTOMER, "return_order.customer_id", r->return_order->customer_id,
                          &in->customer_id, &error);
  }
  if (rc == CCPAY_OK && r->return_order->original_order_id[0] != '\0') {
    rc = service_parse_id(ID_ORDER, "return_order.original_order_id",
                          r->return_order->original_order_id, &in->order_id, &error);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->request = r;
  mutation_submit(call, env->store, r->request_id, message, create_return_execute, in);
}

/* --- Changes to one return ------------------------------------------------------------- */

/* A change of one return: the handler parsed its id; apply runs on the writer with the
 * stored copy (before) and the one to change (after), already checked against action. */
typedef struct return_change return_change;
typedef ccpay_err (*return_apply_fn)(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c,
                                     arena *a, ccpay_error *error);

struct return_change {
  uint64_t return_id; /* first: service_change_new parses it */
  return_action action;
  return_apply_fn apply;
  const ProtobufCMessage *request;
  Ccpay__V1__OverrideAuthority authority; /* OverrideRefundPayment */
  const char *agent_id;
  service_env *env;
  ccpay_error refusal;           /* OverrideRefundPayment: why the override is not permitted */
  Ccpay__V1__Order *replacement; /* CreateReplacementOrder's reply */
};
_Static_assert(offsetof(return_change, return_id) == 0, "return_id first");

static ccpay_err return_change_run(store_txn *txn, return_change *c, payment_flow *f, arena *a,
                                   Ccpay__V1__ReturnOrder **out, ccpay_error *error) {
  Ccpay__V1__ReturnOrder *before = NULL, *after = NULL;
  ccpay_err rc = service_return_edit(txn, c->return_id, a, &before, &after, error);
  bool changed = false;
  if (rc == CCPAY_OK) {
    rc = refunds_refresh(txn, a, after->refund_lines, after->n_refund_lines, true, &changed, error);
  }
  if (rc == CCPAY_OK) rc = return_order_check_action(after, c->action, error);
  if (rc == CCPAY_OK) rc = c->apply(txn, after, c, a, error);
  if (rc == CCPAY_OK && f != NULL) {
    refund_owner owner = owner_of(after);
    bool issue = after->status == RSTATUS(INVOICED) ||
                 (after->status == RSTATUS(SUBMITTED) && after->advance_credit);
    if (issue)
      rc = refunds_issue(txn, f, &owner, after->refund_lines, after->n_refund_lines, error);
  }
  if (rc == CCPAY_OK) rc = service_return_write(txn, before, after, a, error);
  *out = after;
  return rc;
}

static ccpay_err return_change_execute(store_txn *txn, const void *input, arena *a,
                                       ProtobufCMessage **reply, ccpay_error *error) {
  return_change *c = (return_change *)input;
  Ccpay__V1__ReturnOrder *r = NULL;
  ccpay_err rc = return_change_run(txn, c, NULL, a, &r, error);
  *reply = c->replacement != NULL ? &c->replacement->base : (r != NULL ? &r->base : NULL);
  return rc;
}

static return_change *return_change_new(rpc_call *call, const ProtobufCMessage *request,
                                        const char *request_id, const char *return_id,
                                        return_action action, return_apply_fn apply) {
  return_change *c =
      service_change_new(call, sizeof *c, request_id, ID_RETURN, "return_id", return_id);
  if (c == NULL) return NULL;
  c->action = action;
  c->apply = apply;
  c->request = request;
  c->agent_id = rpc_call_agent_id(call);
  c->env = rpc_call_context(call);
  return c;
}

static void return_change_submit(rpc_call *call, const ProtobufCMessage *request,
                                 const char *request_id, const char *return_id,
                                 return_action action, return_apply_fn apply,
                                 const ProtobufCMessage *hashed) {
  return_change *c = return_change_new(call, request, request_id, return_id, action, apply);
  if (c == NULL) return;
  service_env *env = rpc_call_context(call);
  mutation_submit(call, env->store, request_id, hashed, return_change_execute, c);
}

/* --- Issuing refunds: SubmitReturn and InvoiceReturn ----------------------------------- */

static ccpay_err issue_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                             ccpay_error *error) {
  return_change *c = (return_change *)payment_flow_input(f);
  Ccpay__V1__ReturnOrder *r = NULL;
  ccpay_err rc = return_change_run(txn, c, f, payment_flow_arena(f), &r, error);
  *reply = r != NULL ? &r->base : NULL;
  return rc;
}

/* The refunds' outcomes are on their transactions: the lines catch up, and the reply is
 * the return as it is now. */
static ccpay_err issue_end(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                           ccpay_error *error) {
  const return_change *c = payment_flow_input(f);
  arena *a = payment_flow_arena(f);
  Ccpay__V1__ReturnOrder *before = NULL, *after = NULL;
  ccpay_err rc = service_return_edit(txn, c->return_id, a, &before, &after, error);
  bool changed = false;
  if (rc == CCPAY_OK) {
    rc = refunds_refresh(txn, a, after->refund_lines, after->n_refund_lines, true, &changed, error);
  }
  if (rc == CCPAY_OK && changed) rc = service_return_write(txn, before, after, a, error);
  *reply = after != NULL ? &after->base : NULL;
  return rc;
}

static void return_change_flow(rpc_call *call, const ProtobufCMessage *request,
                               const char *request_id, const char *return_id, return_action action,
                               return_apply_fn apply) {
  return_change *c = return_change_new(call, request, request_id, return_id, action, apply);
  if (c == NULL) return;
  payment_flow_spec spec = {
      .begin = issue_begin, .end = issue_end, .store_begin_reply = true, .input = c};
  payment_flow_start(call, request_id, request, &spec);
}

static ccpay_err apply_submit(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c, arena *a,
                              ccpay_error *error) {
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc != CCPAY_OK) return rc;
  r->status = RSTATUS(SUBMITTED);
  r->advance_credit = params->advance_credit;
  return CCPAY_OK;
}

static void submit_return(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__SubmitReturnRequest *r = (const Ccpay__V1__SubmitReturnRequest *)message;
  return_change_flow(call, message, r->request_id, r->return_id, RETURN_ACTION_SUBMIT,
                     apply_submit);
}

/* Goods received: the credit memo (once), then every refund not yet issued. */
static ccpay_err apply_invoice(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c,
                               arena *a, ccpay_error *error) {
  if (r->status == RSTATUS(INVOICED)) return CCPAY_OK; /* a retry of failed refunds */
  Ccpay__V1__JournalEntry *e = NULL;
  ccpay_err rc = accounts_return_entry(r, a, &e, error);
  if (rc != CCPAY_OK) return rc;
  if (e != NULL) {
    e->entry_time = timestamp_from_ms(a, store_txn_time_ms(txn));
    if (e->entry_time == NULL) return service_exhausted(error);
    rc = ledger_append(txn, e, error);
    r->credit_memo_entry_sequence = e->sequence;
  }
  r->status = RSTATUS(INVOICED);
  return rc;
}

static void invoice_return(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__InvoiceReturnRequest *r = (const Ccpay__V1__InvoiceReturnRequest *)message;
  return_change_flow(call, message, r->request_id, r->return_id, RETURN_ACTION_INVOICE,
                     apply_invoice);
}

/* --- CompleteReturn, CancelReturn ------------------------------------------------------ */

static ccpay_err apply_complete(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c,
                                arena *a, ccpay_error *error) {
  Ccpay__V1__Parameters *params = NULL;
  Ccpay__V1__Payment **payments = NULL;
  size_t n = 0;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc == CCPAY_OK) rc = original_payments(txn, r, a, &payments, &n, error);
  if (rc != CCPAY_OK) return rc;
  refund_policy policy;
  refund_policy_for(params, r->currency_code, r->apply_credit, &policy);
  rc = refund_derive(&policy, r->original_order_id[0] != '\0', payments, n, r->currency_code,
                     r->totals->total->amount_minor, 1, a, &r->refund_lines, &r->n_refund_lines,
                     error);
  r->status = RSTATUS(COMPLETED);
  return rc;
}

static void complete_return(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CompleteReturnRequest *r = (const Ccpay__V1__CompleteReturnRequest *)message;
  return_change_submit(call, message, r->request_id, r->return_id, RETURN_ACTION_COMPLETE,
                       apply_complete, message);
}

static ccpay_err apply_cancel(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c, arena *a,
                              ccpay_error *error) {
  const Ccpay__V1__CancelReturnRequest *req = (const Ccpay__V1__CancelReturnRequest *)c->request;
  r->status = RSTATUS(CANCELLED);
  r->cancel_reason = req->reason;
  for (size_t i = 0; i < r->n_refund_lines; i++) r->refund_lines[i]->status = LINE(CANCELLED);
  if (r->original_order_id[0] == '\0') return CCPAY_OK;
  uint64_t order_id = 0;
  CHECK(id_parse(ID_ORDER, r->original_order_id, &order_id));
  Ccpay__V1__Order *before = NULL, *o = NULL;
  ccpay_err rc = service_order_edit(txn, order_id, a, &before, &o, error);
  if (rc != CCPAY_OK) return rc;
  return_order_release(r, o);
  return service_order_write(txn, before, o, a, error);
}

static void cancel_return(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CancelReturnRequest *r = (const Ccpay__V1__CancelReturnRequest *)message;
  ccpay_error error;
  if (validate_text("reason", r->reason, ORDER_REASON_BYTES_MAX, false, &error) != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  return_change_submit(call, message, r->request_id, r->return_id, RETURN_ACTION_CANCEL,
                       apply_cancel, message);
}

/* --- OverrideRefundPayment -------------------------------------------------------------- */

static Ccpay__V1__RefundLine *find_line(Ccpay__V1__ReturnOrder *r, int32_t number) {
  for (size_t i = 0; i < r->n_refund_lines; i++) {
    if (r->refund_lines[i]->line_number == number) return r->refund_lines[i];
  }
  return NULL;
}

/* A card payment of the original order that captured money still to give back. */
static Ccpay__V1__Payment *original_card(Ccpay__V1__Payment **payments, size_t n,
                                         const char *payment_id, const char *token) {
  for (size_t i = 0; i < n; i++) {
    Ccpay__V1__Payment *p = payments[i];
    if (p->tender_type != TENDER(CARD) || payment_refundable(p) <= 0) continue;
    if (payment_id != NULL && strcmp(p->id, payment_id) == 0) return p;
    if (token != NULL && strcmp(p->card->token, token) == 0) return p;
  }
  return NULL;
}

/* A refund-only card payment of the return, for an unlinked refund of line l. */
static ccpay_err new_refund_only_card(store_txn *txn, Ccpay__V1__ReturnOrder *r,
                                      Ccpay__V1__RefundLine *l, Ccpay__V1__CardDetails *card,
                                      arena *a, ccpay_error *error) {
  if (r->n_refund_payment_ids >= REFUND_LINES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "return %s: at most %d refund cards",
                           r->id, REFUND_LINES_MAX);
  }
  Ccpay__V1__Payment *p = arena_alloc(a, sizeof *p);
  char **ids = arena_alloc(a, (r->n_refund_payment_ids + 1) * sizeof *ids);
  if (p == NULL || ids == NULL) return service_exhausted(error);
  ccpay__v1__payment__init(p);
  p->tender_type = TENDER(CARD);
  p->amount = l->amount;
  p->card = card;
  ccpay_err rc = payment_validate_new(p, r->currency_code, store_txn_time_ms(txn), error);
  uint64_t id = 0;
  if (rc == CCPAY_OK) rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  p->id = service_format_id(ID_PAYMENT, id, a);
  p->order_id = r->id;
  p->customer_id = r->customer_id;
  p->refund_only = true;
  p->audit = audit_stamp_new(a, store_txn_time_ms(txn));
  p->version = 1;
  if (p->id == NULL || p->audit == NULL || !payment_init_amounts(p, a)) {
    return service_exhausted(error);
  }
  if (r->n_refund_payment_ids > 0) {
    memcpy(ids, r->refund_payment_ids, r->n_refund_payment_ids * sizeof *ids);
  }
  ids[r->n_refund_payment_ids++] = p->id;
  r->refund_payment_ids = ids;
  l->target_payment_id = p->id;
  return payments_put(txn, p, true, error);
}

/* Points card line l at the card the request names: another card of the original order
 * (a linked refund against its capture), or a new card (an unlinked refund, only where
 * the processor allows it). */
static ccpay_err override_to_card(store_txn *txn, Ccpay__V1__ReturnOrder *r,
                                  Ccpay__V1__RefundLine *l,
                                  const Ccpay__V1__OverrideRefundPaymentRequest *req,
                                  service_env *env, arena *a, ccpay_error *error) {
  Ccpay__V1__Payment **payments = NULL;
  size_t n = 0;
  ccpay_err rc = original_payments(txn, r, a, &payments, &n, error);
  if (rc != CCPAY_OK) return rc;
  const char *token = req->card != NULL ? req->card->token : NULL;
  Ccpay__V1__Payment *linked =
      original_card(payments, n, req->payment_id[0] != '\0' ? req->payment_id : NULL, token);
  if (linked != NULL) {
    if (payment_refundable(linked) < l->amount->amount_minor) {
      return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                             "payment %s has %lld left to refund, less than line %d's %lld",
                             linked->id, (long long)payment_refundable(linked), l->line_number,
                             (long long)l->amount->amount_minor);
    }
    l->source_payment_id = linked->id;
    l->target_payment_id = linked->id;
    return CCPAY_OK;
  }
  if (req->payment_id[0] != '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "payment_id: %.40s is no card payment of order %s with money to "
                           "refund",
                           req->payment_id, r->original_order_id);
  }
  if (req->card == NULL || req->card->processor[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "card.processor: required for a card the order was not paid with");
  }
  if (!payment_gateway_known(env, req->card->processor)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "card.processor: no adapter named \"%.32s\" is configured",
                           req->card->processor);
  }
  if (!payment_gateway_unlinked_refunds(env, req->card->processor)) {
    return ccpay_error_set(error, CCPAY_ERR_UNLINKED_REFUND_NOT_ALLOWED,
                           "card: it has no capture on this order, and %s does not allow "
                           "unlinked refunds on this account; refund to the original card",
                           req->card->processor);
  }
  return new_refund_only_card(txn, r, l, req->card, a, error);
}

static ccpay_err apply_override(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c,
                                arena *a, ccpay_error *error) {
  const Ccpay__V1__OverrideRefundPaymentRequest *req =
      (const Ccpay__V1__OverrideRefundPaymentRequest *)c->request;
  if (c->authority == 0) {
    /* Refused here, on the writer, so the refused attempt is recorded like any change. */
    return ccpay_error_set(error, c->refusal.code, "%s", c->refusal.message);
  }
  Ccpay__V1__RefundLine *l = find_line(r, req->line_number);
  if (l == NULL || (l->status != LINE(PENDING) && l->status != LINE(FAILED))) {
    return ccpay_error_set(error, l == NULL ? CCPAY_ERR_NOT_FOUND : CCPAY_ERR_INVALID_STATE,
                           "line_number: return %s has no refund line %d still to issue", r->id,
                           req->line_number);
  }
  Ccpay__V1__RefundOverride *o = arena_alloc(a, sizeof *o);
  if (o == NULL) return service_exhausted(error);
  ccpay__v1__refund_override__init(o);
  o->previous_tender_type = l->tender_type;
  o->previous_payment_id =
      l->target_payment_id[0] != '\0' ? l->target_payment_id : l->source_payment_id;
  o->authority = c->authority;
  o->reason = req->reason;
  o->overridden_by = (char *)c->agent_id;
  o->override_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (o->override_time == NULL) return service_exhausted(error);
  l->target_payment_id = "";
  l->reference = "";
  ccpay_err rc = CCPAY_OK;
  if (req->tender_type == TENDER(CARD)) {
    rc = override_to_card(txn, r, l, req, c->env, a, error);
  } else if (req->tender_type == TENDER(GIFT_CARD_INTERNAL) ||
             req->tender_type == TENDER(LOYALTY_CARD)) {
    l->reference = req->reference;
  }
  l->tender_type = req->tender_type;
  l->derivation = CCPAY__V1__REFUND_DERIVATION__REFUND_DERIVATION_OVERRIDE;
  l->override = o;
  l->status = LINE(PENDING);
  return rc;
}

static void override_refund_payment(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__OverrideRefundPaymentRequest *r =
      (const Ccpay__V1__OverrideRefundPaymentRequest *)message;
  ccpay_error error;
  ccpay_err rc = refund_check_override_tender("tender_type", r->tender_type, &error);
  if (rc == CCPAY_OK)
    rc = validate_text("reason", r->reason, REFUND_REASON_BYTES_MAX, true, &error);
  if (rc == CCPAY_OK &&
      (r->tender_type == TENDER(GIFT_CARD_INTERNAL) || r->tender_type == TENDER(LOYALTY_CARD))) {
    rc = payment_check_stored_value_number("reference", r->reference, &error);
  }
  if (rc == CCPAY_OK && r->tender_type == TENDER(CARD) && r->payment_id[0] == '\0' &&
      r->card == NULL) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_REQUIRED,
                         "payment_id or card: the card the refund goes to");
  }
  if (rc == CCPAY_OK && r->payment_id[0] != '\0') {
    uint64_t ignored = 0;
    rc = service_parse_id(ID_PAYMENT, "payment_id", r->payment_id, &ignored, &error);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  return_change *c = return_change_new(call, message, r->request_id, r->return_id,
                                       RETURN_ACTION_OVERRIDE, apply_override);
  if (c == NULL) return;
  /* The code is never part of what the idempotency record hashes. */
  Ccpay__V1__OverrideRefundPaymentRequest *hashed =
      arena_alloc(rpc_call_arena(call), sizeof *hashed);
  if (hashed == NULL) {
    service_exhausted(&error);
    rpc_call_fail(call, &error);
    return;
  }
  *hashed = *r;
  hashed->override_code = "";
  ccpay_error_clear(&c->refusal);
  c->authority = override_code_authority(call, r->override_code, &c->refusal);
  service_env *env = rpc_call_context(call);
  mutation_submit(call, env->store, r->request_id, &hashed->base, return_change_execute, c);
}

/* --- CreateReplacementOrder ------------------------------------------------------------ */

/* The replacement's payment when the return's credit pays for it: the apply-credit
 * method (the customer's account) for its whole total. */
static ccpay_err pay_with_credit(store_txn *txn, Ccpay__V1__Order *o, Ccpay__V1__TenderType method,
                                 arena *a, ccpay_error *error) {
  if (o->totals->total->amount_minor == 0) return CCPAY_OK;
  Ccpay__V1__Payment *p = arena_alloc(a, sizeof *p);
  if (p == NULL) return service_exhausted(error);
  ccpay__v1__payment__init(p);
  p->tender_type = method;
  p->amount = money_message(a, o->currency_code, o->totals->total->amount_minor);
  if (p->amount == NULL) return service_exhausted(error);
  ccpay_err rc = payment_validate_new(p, o->currency_code, store_txn_time_ms(txn), error);
  return rc == CCPAY_OK ? payment_attach(txn, o, p, a, error) : rc;
}

static ccpay_err apply_replace(store_txn *txn, Ccpay__V1__ReturnOrder *r, return_change *c,
                               arena *a, ccpay_error *error) {
  const Ccpay__V1__CreateReplacementOrderRequest *req =
      (const Ccpay__V1__CreateReplacementOrderRequest *)c->request;
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc != CCPAY_OK) return rc;
  bool apply_credit = req->apply_credit || params->apply_credit;
  if (apply_credit && r->status != RSTATUS(OPEN)) {
    return ccpay_error_set(error, CCPAY_ERR_REFUNDS_ALREADY_COMPUTED,
                           "return %s is %s: CompleteReturn has computed its refunds, so apply "
                           "credit cannot be turned on now; cancel this return and start again "
                           "with a new return, turning apply credit on before CompleteReturn",
                           r->id, return_status_name(r->status));
  }
  Ccpay__V1__Order input = *req->order;
  input.customer_id = r->customer_id;
  input.currency_code = r->currency_code;
  input.type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_REPLACEMENT;
  rc = order_validate_new(&input, error);
  Ccpay__V1__Order *o = rc == CCPAY_OK ? order_build(&input, a, error) : NULL;
  if (o == NULL) return rc != CCPAY_OK ? rc : error->code;
  uint64_t id = 0;
  rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  o->id = service_format_id(ID_ORDER, id, a);
  o->audit = audit_stamp_new(a, store_txn_time_ms(txn));
  o->version = 1;
  o->return_id = r->id;
  if (o->id == NULL || o->audit == NULL) return service_exhausted(error);
  if (apply_credit) {
    refund_policy policy;
    refund_policy_for(params, r->currency_code, true, &policy);
    rc = pay_with_credit(txn, o, policy.apply_credit_method, a, error);
    r->apply_credit = true;
  }
  if (rc == CCPAY_OK) rc = orders_put(txn, NULL, o, error);
  r->replacement_order_id = o->id;
  c->replacement = o;
  return rc;
}

static void create_replacement_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CreateReplacementOrderRequest *r =
      (const Ccpay__V1__CreateReplacementOrderRequest *)message;
  if (r->order == NULL) {
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_FIELD_REQUIRED, "order: required");
    rpc_call_fail(call, &error);
    return;
  }
  return_change_submit(call, message, r->request_id, r->return_id, RETURN_ACTION_REPLACE,
                       apply_replace, message);
}

/* --- Reads ----------------------------------------------------------------------------- */

/* A return as a caller sees it: lines whose refund is in flight show its outcome once
 * the processor (or the recovery loop) has it. */
static ccpay_err return_view(store_txn *txn, Ccpay__V1__ReturnOrder *r, arena *a,
                             ccpay_error *error) {
  bool changed = false;
  ccpay_err rc =
      refunds_refresh(txn, a, r->refund_lines, r->n_refund_lines, false, &changed, error);
  if (rc == CCPAY_OK && changed && !return_order_sum_issued(r, a)) rc = service_exhausted(error);
  return rc;
}

static void get_return(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetReturnRequest *r = (const Ccpay__V1__GetReturnRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  uint64_t id = 0;
  ccpay_error error;
  Ccpay__V1__ReturnOrder *out = NULL;
  store_txn *txn = NULL;
  ccpay_err rc = service_parse_id(ID_RETURN, "id", r->id, &id, &error);
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = returns_get(txn, id, a, &out, &error);
    if (rc == CCPAY_OK) rc = return_view(txn, out, a, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &out->base : NULL, &error);
}

static ccpay_err list_query(const Ccpay__V1__ListReturnsRequest *r, return_query *q,
                            uint8_t *listing, ccpay_error *error) {
  int filters = (r->status != 0) + (r->customer_id[0] != '\0') + (r->original_order_id[0] != '\0');
  if (filters > 1) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "status, customer_id, original_order_id: give at most one filter");
  }
  q->by = RETURN_LIST_ALL, *listing = LISTING_RETURNS_ALL;
  ccpay_err rc = CCPAY_OK;
  if (r->status != 0) {
    if (strcmp(return_status_name(r->status), "UNSPECIFIED") == 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "status: not a return status");
    }
    q->by = RETURN_LIST_STATUS, q->status = r->status, *listing = LISTING_RETURNS_STATUS;
  } else if (r->customer_id[0] != '\0') {
    q->by = RETURN_LIST_CUSTOMER, *listing = LISTING_RETURNS_CUSTOMER;
    rc = service_parse_id(ID_CUSTOMER, "customer_id", r->customer_id, &q->id, error);
  } else if (r->original_order_id[0] != '\0') {
    q->by = RETURN_LIST_ORDER, *listing = LISTING_RETURNS_ORDER;
    rc = service_parse_id(ID_ORDER, "original_order_id", r->original_order_id, &q->id, error);
  }
  return rc == CCPAY_OK ? paging_size(r->page_size, &q->limit, error) : rc;
}

static void list_returns(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListReturnsRequest *r = (const Ccpay__V1__ListReturnsRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  return_query q = {0};
  uint8_t listing = 0;
  uint8_t *after = NULL;
  ccpay_err rc = list_query(r, &q, &listing, &error);
  if (rc == CCPAY_OK)
    rc = paging_decode(r->page_token, listing, a, &after, &q.after_key_len, &error);
  q.after_key = after;
  Ccpay__V1__ListReturnsResponse reply = CCPAY__V1__LIST_RETURNS_RESPONSE__INIT;
  store_txn *txn = NULL;
  return_page page;
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = returns_list(txn, &q, a, &page, &error);
    for (size_t i = 0; rc == CCPAY_OK && i < page.count; i++) {
      rc = return_view(txn, page.returns[i], a, &error);
    }
    store_read_end(txn);
  }
  if (rc == CCPAY_OK) {
    reply.returns = page.returns;
    reply.n_returns = page.count;
    reply.next_page_token =
        page.next_key != NULL ? paging_encode(listing, page.next_key, page.next_key_len, a) : "";
    if (reply.next_page_token == NULL) rc = service_exhausted(&error);
  }
  service_reply_or_fail(call, rc, &reply.base, &error);
}

static void get_refund_check(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetRefundCheckRequest *r = (const Ccpay__V1__GetRefundCheckRequest *)message;
  service_env *env = rpc_call_context(call);
  uint64_t id = 0;
  ccpay_error error;
  Ccpay__V1__RefundCheck *out = NULL;
  store_txn *txn = NULL;
  ccpay_err rc = service_parse_id(ID_REFUND_CHECK, "id", r->id, &id, &error);
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = refund_checks_get(txn, id, rpc_call_arena(call), &out, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &out->base : NULL, &error);
}

size_t return_service_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
#define RETURN_METHOD(name, fn, request, reply, needs)                                  \
  out[n++] = SERVICE_METHOD("ReturnService", name, RPC_UNARY, fn, ccpay__v1__##request, \
                            ccpay__v1__##reply, needs)
  RETURN_METHOD("CreateReturn", create_return, create_return_request, return_order,
                "returns.write");
  RETURN_METHOD("GetReturn", get_return, get_return_request, return_order, "returns.read");
  RETURN_METHOD("ListReturns", list_returns, list_returns_request, list_returns_response,
                "returns.read");
  RETURN_METHOD("CompleteReturn", complete_return, complete_return_request, return_order,
                "returns.write");
  RETURN_METHOD("SubmitReturn", submit_return, submit_return_request, return_order,
                "returns.write");
  RETURN_METHOD("InvoiceReturn", invoice_return, invoice_return_request, return_order,
                "returns.write");
  RETURN_METHOD("CancelReturn", cancel_return, cancel_return_request, return_order,
                "returns.write");
  RETURN_METHOD("OverrideRefundPayment", override_refund_payment, override_refund_payment_request,
                return_order, "returns.write");
  RETURN_METHOD("CreateReplacementOrder", create_replacement_order,
                create_replacement_order_request, order, "returns.write");
  RETURN_METHOD("GetRefundCheck", get_refund_check, get_refund_check_request, refund_check,
                "returns.read");
#undef RETURN_METHOD
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
