/* The out-of-balance check of SubmitOrder, and ccpay.v1.BalanceReviewService: the
 * out-of-balance queue and refund check processing (see balance_review.h). */
#include "balance_review.h"

#include <stddef.h>
#include <string.h>

#include "audit_trail.h"
#include "base/check.h"
#include "base/limits.h"
#include "ccpay/v1/balance_review.pb-c.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/balance.h"
#include "domain/money.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/validate.h"
#include "mutation.h"
#include "order_service.h"
#include "paging.h"
#include "payment_service.h"
#include "refunds.h"
#include "services.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/returns.h"
#include "timestamps.h"

#define RESOLUTION(x) CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_##x
#define CHECK_STATUS(x) CCPAY__V1__REFUND_CHECK_STATUS__REFUND_CHECK_STATUS_##x

/* The order's payments and where they stand against its total. */
static ccpay_err order_balance(store_txn *txn, const Ccpay__V1__Order *o, arena *a, balance *out,
                               ccpay_error *error) {
  Ccpay__V1__Payment **payments = arena_alloc(a, (o->n_payment_ids + 1) * sizeof *payments);
  if (payments == NULL) return service_exhausted(error);
  for (size_t i = 0; i < o->n_payment_ids; i++) {
    ccpay_err rc = payment_read(txn, o->payment_ids[i], a, &payments[i], error);
    if (rc != CCPAY_OK) return rc;
  }
  balance_of(payments, o->n_payment_ids, o->totals->total->amount_minor, out);
  return CCPAY_OK;
}

static bool in_queue(const Ccpay__V1__Order *o) {
  return o->hold != NULL && strcmp(o->hold->code, BALANCE_HOLD_CODE) == 0;
}

static int64_t magnitude(int64_t v) { return v < 0 ? -v : v; }

ccpay_err balance_check_submit(store_txn *txn, Ccpay__V1__Order *o, arena *a, bool *queue,
                               ccpay_error *error) {
  *queue = false;
  if (balance_resolved(o->balance_review)) return CCPAY_OK;
  Ccpay__V1__Parameters *params = NULL;
  balance b;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc == CCPAY_OK) rc = order_balance(txn, o, a, &b, error);
  if (rc != CCPAY_OK) return rc;
  int64_t max = balance_currency_amount(params->over_under_max, params->n_over_under_max,
                                        o->currency_code, 0);
  if (b.lines == 0 || magnitude(b.difference) <= max) return CCPAY_OK; /* on account, or even */
  Ccpay__V1__BalanceReview *review = balance_review_new(&b, o->currency_code, a);
  if (review == NULL) return service_exhausted(error);
  if (!params->allow_out_of_balance) {
    return ccpay_error_set(error, CCPAY_ERR_OUT_OF_BALANCE, "order %s: %s", o->id, review->message);
  }
  Ccpay__V1__OrderHold *hold = arena_alloc(a, sizeof *hold);
  if (hold == NULL) return service_exhausted(error);
  ccpay__v1__order_hold__init(hold);
  hold->code = BALANCE_HOLD_CODE;
  hold->reason = review->message;
  hold->hold_time = review->review_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (hold->hold_time == NULL) return service_exhausted(error);
  o->hold = hold;
  o->balance_review = review;
  *queue = true;
  return CCPAY_OK;
}

/* The write-off of difference (payments − total) as one entry: an overpayment's credit
 * to over/under income, an underpayment's debit to over/under expense. */
static ccpay_err post_write_off(store_txn *txn, const Ccpay__V1__Order *o, int64_t difference,
                                arena *a, int64_t *sequence, ccpay_error *error) {
  char *receivable = account_receivable(o->customer_id, a);
  if (receivable == NULL) return service_exhausted(error);
  bool overpaid = difference > 0;
  Ccpay__V1__JournalEntry *e = accounts_transfer_entry(
      ENTRY_KIND_OVER_UNDER_WRITTEN_OFF, overpaid ? receivable : ACCOUNT_OVER_UNDER,
      overpaid ? ACCOUNT_OVER_UNDER : receivable, o->currency_code, magnitude(difference), a);
  if (e == NULL) return service_exhausted(error);
  e->customer_id = o->customer_id;
  e->order_id = o->id;
  e->entry_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (e->entry_time == NULL) return service_exhausted(error);
  ccpay_err rc = ledger_append(txn, e, error);
  *sequence = e->sequence;
  return rc;
}

ccpay_err balance_write_off(store_txn *txn, Ccpay__V1__Order *o, arena *a, ccpay_error *error) {
  Ccpay__V1__BalanceReview *review = o->balance_review;
  if (review != NULL && review->entry_sequence != 0) return CCPAY_OK; /* written off once */
  if (review != NULL && (review->resolution == RESOLUTION(REFUND_EXCESS) ||
                         review->resolution == RESOLUTION(BILL_TO_ACCOUNT))) {
    return CCPAY_OK; /* settled another way */
  }
  balance b;
  ccpay_err rc = order_balance(txn, o, a, &b, error);
  if (rc != CCPAY_OK || b.difference == 0 || b.lines == 0) return rc;
  if (review == NULL) {
    review = balance_review_new(&b, o->currency_code, a);
    if (review == NULL) return service_exhausted(error);
    review->review_time = timestamp_from_ms(a, store_txn_time_ms(txn));
    o->balance_review = review;
  }
  if (review->resolution != RESOLUTION(WRITE_OFF)) review->resolution = RESOLUTION(AUTO_WRITE_OFF);
  return post_write_off(txn, o, b.difference, a, &review->entry_sequence, error);
}

ccpay_err balance_after_payment(store_txn *txn, Ccpay__V1__Order *o, arena *a, ccpay_error *error) {
  if (!in_queue(o)) return CCPAY_OK;
  Ccpay__V1__Parameters *params = NULL;
  balance b;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc == CCPAY_OK) rc = order_balance(txn, o, a, &b, error);
  if (rc != CCPAY_OK) return rc;
  int64_t max = balance_currency_amount(params->over_under_max, params->n_over_under_max,
                                        o->currency_code, 0);
  if (magnitude(b.difference) > max) return CCPAY_OK; /* still apart: stays queued */
  o->hold = NULL;
  o->balance_review->resolution = RESOLUTION(PAYMENT_ADDED);
  o->balance_review->resolved_by = (char *)audit_trail_agent_id();
  return CCPAY_OK;
}

/* An account payment for what an underpaid order misses: billed to the customer. */
static ccpay_err bill_to_account(store_txn *txn, Ccpay__V1__Order *o, int64_t missing, arena *a,
                                 ccpay_error *error) {
  if (o->n_payment_ids >= PAYMENTS_PER_ORDER_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order %s: at most %d payments", o->id,
                           PAYMENTS_PER_ORDER_MAX);
  }
  Ccpay__V1__Payment *p = arena_alloc(a, sizeof *p);
  if (p == NULL) return service_exhausted(error);
  ccpay__v1__payment__init(p);
  p->tender_type = CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CUSTOMER_ACCOUNT;
  p->amount = money_message(a, o->currency_code, missing);
  if (p->amount == NULL) return service_exhausted(error);
  ccpay_err rc = payment_validate_new(p, o->currency_code, store_txn_time_ms(txn), error);
  return rc == CCPAY_OK ? payment_attach(txn, o, p, a, error) : rc;
}

ccpay_err balance_release(store_txn *txn, Ccpay__V1__Order *o,
                          Ccpay__V1__BalanceResolution resolution, const char *agent_id, arena *a,
                          ccpay_error *error) {
  if (!in_queue(o) || o->balance_review == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s is not in the out-of-balance queue", o->id);
  }
  Ccpay__V1__Parameters *params = NULL;
  balance b;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc == CCPAY_OK) rc = order_balance(txn, o, a, &b, error);
  if (rc != CCPAY_OK) return rc;
  char by[48];
  balance_format(magnitude(b.difference), o->currency_code, by, sizeof by);
  const char *why = NULL;
  if (resolution == RESOLUTION(REFUND_EXCESS) && b.difference <= 0) {
    why = "refunding the excess needs an overpaid order";
  } else if (resolution == RESOLUTION(BILL_TO_ACCOUNT) && b.difference >= 0) {
    why = "billing the rest to the customer's account needs an underpaid order";
  } else if (resolution == RESOLUTION(WRITE_OFF) &&
             magnitude(b.difference) > balance_currency_amount(params->review_write_off_max,
                                                               params->n_review_write_off_max,
                                                               o->currency_code, 0)) {
    why = "the difference is more than the review write-off limit of its currency";
  }
  if (why != NULL) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "order %s is %s by %s: %s", o->id,
                           b.difference > 0 ? "overpaid" : "underpaid", by, why);
  }
  if (resolution == RESOLUTION(BILL_TO_ACCOUNT))
    rc = bill_to_account(txn, o, -b.difference, a, error);
  o->hold = NULL;
  o->balance_review->resolution = resolution;
  o->balance_review->resolved_by = (char *)agent_id;
  return rc;
}

ccpay_err refund_check_initial_status(store_txn *txn, Ccpay__V1__RefundCheck *c, arena *a,
                                      ccpay_error *error) {
  Ccpay__V1__Parameters *params = NULL;
  ccpay_err rc = parameters_get(txn, a, &params, error);
  if (rc != CCPAY_OK) return rc;
  int64_t threshold = balance_currency_amount(params->refund_check_approval_threshold,
                                              params->n_refund_check_approval_threshold,
                                              c->amount->currency_code, -1);
  bool approved = c->amount->amount_minor <= threshold;
  c->status = approved ? CHECK_STATUS(APPROVED) : CHECK_STATUS(PENDING_APPROVAL);
  c->approved_by = approved ? "auto" : "";
  return CCPAY_OK;
}

/* --- BalanceReviewService: the queue ---------------------------------------------------- */

static void list_out_of_balance(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListOutOfBalanceOrdersRequest *r =
      (const Ccpay__V1__ListOutOfBalanceOrdersRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  order_query q = {.by = ORDER_LIST_HOLD_CODE, .hold_code = BALANCE_HOLD_CODE};
  uint8_t *after = NULL;
  ccpay_err rc = paging_size(r->page_size, &q.limit, &error);
  if (rc == CCPAY_OK) {
    rc = paging_decode(r->page_token, LISTING_OUT_OF_BALANCE, a, &after, &q.after_key_len, &error);
  }
  q.after_key = after;
  Ccpay__V1__ListOutOfBalanceOrdersResponse reply =
      CCPAY__V1__LIST_OUT_OF_BALANCE_ORDERS_RESPONSE__INIT;
  store_txn *txn = NULL;
  order_page page = {0};
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = orders_list(txn, &q, a, &page, &error);
    store_read_end(txn);
  }
  if (rc == CCPAY_OK) {
    reply.orders = page.orders;
    reply.n_orders = page.count;
    reply.next_page_token =
        paging_encode(LISTING_OUT_OF_BALANCE, page.next_key, page.next_key_len, a);
    if (reply.next_page_token == NULL) rc = service_exhausted(&error);
  }
  service_reply_or_fail(call, rc, &reply.base, &error);
}

static void release_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ReleaseOrderRequest *r = (const Ccpay__V1__ReleaseOrderRequest *)message;
  ccpay_error error;
  ccpay_err rc = validate_text("reason", r->reason, ORDER_REASON_BYTES_MAX, false, &error);
  if (rc == CCPAY_OK && r->resolution != RESOLUTION(REFUND_EXCESS) &&
      r->resolution != RESOLUTION(BILL_TO_ACCOUNT) && r->resolution != RESOLUTION(WRITE_OFF)) {
    rc = ccpay_error_set(&error,
                         r->resolution == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_INVALID,
                         "resolution: REFUND_EXCESS, BILL_TO_ACCOUNT or WRITE_OFF");
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  order_submit_start(call, message, r->request_id, r->order_id, r->resolution);
}

static void cancel_queued_order(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CancelQueuedOrderRequest *r =
      (const Ccpay__V1__CancelQueuedOrderRequest *)message;
  order_cancel_start(call, message, r->request_id, r->order_id, r->reason, true);
}

/* --- BalanceReviewService: refund checks ----------------------------------------------- */

typedef struct check_change check_change;
typedef ccpay_err (*check_apply_fn)(store_txn *txn, Ccpay__V1__RefundCheck *c,
                                    const check_change *change, arena *a, ccpay_error *error);

struct check_change {
  uint64_t id; /* first: service_change_new parses it */
  check_apply_fn apply;
  const ProtobufCMessage *request;
};
_Static_assert(offsetof(check_change, id) == 0, "id first");

static ccpay_err check_change_execute(store_txn *txn, const void *input, arena *a,
                                      ProtobufCMessage **reply, ccpay_error *error) {
  const check_change *change = input;
  Ccpay__V1__RefundCheck *before = NULL, *after = NULL;
  ccpay_err rc = refund_checks_get(txn, change->id, a, &before, error);
  if (rc == CCPAY_OK) rc = refund_checks_get(txn, change->id, a, &after, error);
  if (rc == CCPAY_OK) rc = change->apply(txn, after, change, a, error);
  if (rc != CCPAY_OK) return rc;
  after->version = before->version + 1;
  after->audit = audit_stamp_updated(a, before->audit, store_txn_time_ms(txn));
  if (after->audit == NULL) return service_exhausted(error);
  rc = refund_checks_put(txn, before, after, error);
  *reply = &after->base;
  return rc;
}

static void check_change_submit(rpc_call *call, const ProtobufCMessage *request,
                                const char *request_id, const char *id, check_apply_fn apply) {
  check_change *change =
      service_change_new(call, sizeof *change, request_id, ID_REFUND_CHECK, "id", id);
  if (change == NULL) return;
  change->apply = apply;
  change->request = request;
  service_env *env = rpc_call_context(call);
  mutation_submit(call, env->store, request_id, request, check_change_execute, change);
}

static const char *check_status_name(Ccpay__V1__RefundCheckStatus s) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&ccpay__v1__refund_check_status__descriptor, (int)s);
  return v != NULL ? v->name + strlen("REFUND_CHECK_STATUS_") : "UNSPECIFIED";
}

static ccpay_err expect_status(const Ccpay__V1__RefundCheck *c, Ccpay__V1__RefundCheckStatus want,
                               const char *rule, ccpay_error *error) {
  if (c->status == want) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "refund check %s is %s: %s", c->id,
                         check_status_name(c->status), rule);
}

static ccpay_err apply_approve(store_txn *txn, Ccpay__V1__RefundCheck *c,
                               const check_change *change, arena *a, ccpay_error *error) {
  (void)txn, (void)change, (void)a;
  ccpay_err rc = expect_status(c, CHECK_STATUS(PENDING_APPROVAL),
                               "only a check waiting for "
                               "approval is approved",
                               error);
  c->status = CHECK_STATUS(APPROVED);
  c->approved_by = (char *)audit_trail_agent_id();
  return rc;
}

/* One two-posting entry of the check's amount, naming it. */
static ccpay_err post_check_entry(store_txn *txn, Ccpay__V1__RefundCheck *c, const char *kind,
                                  const char *debit, const char *credit, arena *a,
                                  int64_t *sequence, ccpay_error *error) {
  Ccpay__V1__JournalEntry *e =
      debit != NULL && credit != NULL
          ? accounts_transfer_entry(kind, debit, credit, c->amount->currency_code,
                                    c->amount->amount_minor, a)
          : NULL;
  if (e == NULL) return service_exhausted(error);
  e->customer_id = c->customer_id;
  e->order_id = c->order_id;
  e->return_id = c->return_id;
  e->refund_check_id = c->id;
  e->entry_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (e->entry_time == NULL) return service_exhausted(error);
  ccpay_err rc = ledger_append(txn, e, error);
  *sequence = e->sequence;
  return rc;
}

/* The customer's credit leaves as the check: receivable → refund checks payable → bank. */
static ccpay_err apply_post(store_txn *txn, Ccpay__V1__RefundCheck *c, const check_change *change,
                            arena *a, ccpay_error *error) {
  const Ccpay__V1__PostRefundCheckRequest *r =
      (const Ccpay__V1__PostRefundCheckRequest *)change->request;
  ccpay_err rc =
      expect_status(c, CHECK_STATUS(APPROVED), "only an approved check is posted", error);
  if (rc != CCPAY_OK) return rc;
  char *receivable = account_receivable(c->customer_id, a);
  int64_t ignored = 0;
  rc = post_check_entry(txn, c, ENTRY_KIND_REFUND_CHECK_ISSUED, receivable,
                        ACCOUNT_REFUND_CHECKS_PAYABLE, a, &ignored, error);
  if (rc == CCPAY_OK) {
    rc = post_check_entry(txn, c, ENTRY_KIND_REFUND_CHECK_POSTED, ACCOUNT_REFUND_CHECKS_PAYABLE,
                          ACCOUNT_BANK, a, &c->entry_sequence, error);
  }
  c->status = CHECK_STATUS(POSTED);
  c->check_number = r->check_number;
  c->post_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  return rc == CCPAY_OK && c->post_time == NULL ? service_exhausted(error) : rc;
}

/* A check that will not be cashed: the money is the customer's credit again (a posted one
 * comes back from the bank), and its refund line can be issued another way. */
static ccpay_err apply_void(store_txn *txn, Ccpay__V1__RefundCheck *c, const check_change *change,
                            arena *a, ccpay_error *error) {
  const Ccpay__V1__VoidRefundCheckRequest *r =
      (const Ccpay__V1__VoidRefundCheckRequest *)change->request;
  if (c->status == CHECK_STATUS(VOID)) {
    return expect_status(c, CHECK_STATUS(APPROVED), "it is void already", error);
  }
  ccpay_err rc = CCPAY_OK;
  if (c->status == CHECK_STATUS(POSTED)) {
    rc = post_check_entry(txn, c, ENTRY_KIND_REFUND_CHECK_VOIDED, ACCOUNT_BANK,
                          account_receivable(c->customer_id, a), a, &c->void_entry_sequence, error);
  }
  if (rc == CCPAY_OK) rc = refunds_check_voided(txn, c, r->reason, a, error);
  c->status = CHECK_STATUS(VOID);
  c->void_reason = r->reason;
  return rc;
}

static void approve_refund_check(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ApproveRefundCheckRequest *r =
      (const Ccpay__V1__ApproveRefundCheckRequest *)message;
  check_change_submit(call, message, r->request_id, r->id, apply_approve);
}

static void post_refund_check(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__PostRefundCheckRequest *r = (const Ccpay__V1__PostRefundCheckRequest *)message;
  ccpay_error error;
  if (validate_text("check_number", r->check_number, PAYMENT_CHECK_NUMBER_BYTES_MAX, true,
                    &error) != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  check_change_submit(call, message, r->request_id, r->id, apply_post);
}

static void void_refund_check(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__VoidRefundCheckRequest *r = (const Ccpay__V1__VoidRefundCheckRequest *)message;
  ccpay_error error;
  if (validate_text("reason", r->reason, REFUND_REASON_BYTES_MAX, true, &error) != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  check_change_submit(call, message, r->request_id, r->id, apply_void);
}

static void list_refund_checks(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListRefundChecksRequest *r = (const Ccpay__V1__ListRefundChecksRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  refund_check_query q = {.status = r->status};
  uint8_t listing = r->status != 0 ? LISTING_REFUND_CHECKS_STATUS : LISTING_REFUND_CHECKS_ALL;
  uint8_t *after = NULL;
  ccpay_err rc = CCPAY_OK;
  if (r->status != 0 && strcmp(check_status_name(r->status), "UNSPECIFIED") == 0) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_INVALID, "status: not a refund check status");
  }
  if (rc == CCPAY_OK) rc = paging_size(r->page_size, &q.limit, &error);
  if (rc == CCPAY_OK)
    rc = paging_decode(r->page_token, listing, a, &after, &q.after_key_len, &error);
  q.after_key = after;
  Ccpay__V1__ListRefundChecksResponse reply = CCPAY__V1__LIST_REFUND_CHECKS_RESPONSE__INIT;
  store_txn *txn = NULL;
  refund_check_page page = {0};
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = refund_checks_list(txn, &q, a, &page, &error);
    store_read_end(txn);
  }
  if (rc == CCPAY_OK) {
    reply.refund_checks = page.checks;
    reply.n_refund_checks = page.count;
    reply.next_page_token = paging_encode(listing, page.next_key, page.next_key_len, a);
    if (reply.next_page_token == NULL) rc = service_exhausted(&error);
  }
  service_reply_or_fail(call, rc, &reply.base, &error);
}

size_t balance_review_service_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
#define REVIEW_METHOD(name, fn, request, reply, needs)                                         \
  out[n++] = SERVICE_METHOD("BalanceReviewService", name, RPC_UNARY, fn, ccpay__v1__##request, \
                            ccpay__v1__##reply, needs)
  REVIEW_METHOD("ListOutOfBalanceOrders", list_out_of_balance, list_out_of_balance_orders_request,
                list_out_of_balance_orders_response, "balance_review.read");
  REVIEW_METHOD("ReleaseOrder", release_order, release_order_request, order,
                "balance_review.write");
  REVIEW_METHOD("CancelOrder", cancel_queued_order, cancel_queued_order_request, order,
                "balance_review.write");
  REVIEW_METHOD("ListRefundChecks", list_refund_checks, list_refund_checks_request,
                list_refund_checks_response, "balance_review.read");
  REVIEW_METHOD("ApproveRefundCheck", approve_refund_check, approve_refund_check_request,
                refund_check, "balance_review.write");
  REVIEW_METHOD("PostRefundCheck", post_refund_check, post_refund_check_request, refund_check,
                "balance_review.write");
  REVIEW_METHOD("VoidRefundCheck", void_refund_check, void_refund_check_request, refund_check,
                "balance_review.write");
#undef REVIEW_METHOD
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
