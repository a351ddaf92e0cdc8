#include "payment_flow.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_trail.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/money.h"
#include "domain/payment.h"
#include "mutation.h"
#include "payment_gateway.h"
#include "storage/idempotency.h"
#include "storage/ledger.h"
#include "storage/payments.h"
#include "timestamps.h"

#define STATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x
#define KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x
#define OUTCOME(x) CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_##x

enum {
  /* Transactions being driven at once, by calls and the recovery loop together. */
  CLAIMS_MAX = 4096,
  /* A recovery flow's own arena (no call's arena to borrow). */
  RECOVERY_ARENA_BYTES = 1 << 20,
  /* The longest the recovery loop waits between asking about one transaction. */
  RECOVERY_BACKOFF_MAX_MS = 60000,
};

typedef struct flow_step {
  Ccpay__V1__Transaction *txn;      /* as written by begin (or read, for a look-up) */
  Ccpay__V1__Payment *payment;      /* as begin saw it: card and references */
  bool lookup;                      /* ask about txn rather than send it new */
  gateway_outcome outcome;          /* stage 2 */
  Ccpay__V1__Transaction *resolved; /* stage 3 */
} flow_step;

struct payment_flow {
  store_write write; /* first: the writer hands it back */
  payment_engine *engine;
  service_env *env;
  rpc_call *call; /* NULL for recovery */
  arena *arena;
  bool own_arena;
  const char *request_id; /* NULL: not stored */
  uint8_t hash[IDEMPOTENCY_HASH_BYTES];
  payment_flow_spec spec;
  flow_step steps[PAYMENTS_PER_ORDER_MAX];
  size_t n_steps;
  size_t steps_sent;    /* steps[0..steps_sent) went to the gateway */
  size_t steps_applied; /* and [0..steps_applied) had their outcome written */
  bool follow_up;       /* end added steps: send them, then end again */
  uint8_t *reply;       /* packed, to send */
  size_t reply_len;
  bool answer_now;      /* begin answered (stored reply, or nothing to send) */
  bool has_reply_error; /* end chose an error answer; its effects are kept */
  ccpay_error reply_error;
  payment_flow_done_fn done;
  void *done_context;
  payment_flow *next; /* gateway queue */
  /* The call's request and caller, for its audit record (calls only). */
  const ProtobufCMessage *request;
  audit_caller who;
};

struct payment_engine {
  service_env *env;
  pthread_mutex_t lock;
  pthread_cond_t wake;          /* gateway threads: a flow is queued, or stopping */
  pthread_cond_t recovery_wake; /* the recovery thread: stopping */
  payment_flow *queue_head, *queue_tail;
  bool stopping;
  pthread_t gateway_threads[PAYMENT_GATEWAY_THREADS];
  pthread_t recovery_thread;
  unsigned recovery_active;    /* recovery flows not yet done */
  unsigned flows_active;       /* flows started and not yet finished */
  pthread_cond_t flows_idle;   /* signalled when flows_active drops to 0 */
  uint64_t recovery_after_id;  /* where the next pass starts in the open list */
  uint64_t claims[CLAIMS_MAX]; /* transaction ids being driven; 0 = free */
};

static void flows_started(payment_engine *e) {
  pthread_mutex_lock(&e->lock);
  e->flows_active++;
  pthread_mutex_unlock(&e->lock);
}

static void flows_finished(payment_engine *e) {
  pthread_mutex_lock(&e->lock);
  CHECK(e->flows_active > 0);
  if (--e->flows_active == 0) pthread_cond_broadcast(&e->flows_idle);
  pthread_mutex_unlock(&e->lock);
}

/* --- Claims: one driver per transaction ------------------------------------------- */

static bool claim(payment_engine *e, uint64_t id) {
  CHECK(id != 0);
  pthread_mutex_lock(&e->lock);
  size_t free_slot = CLAIMS_MAX;
  bool taken = false;
  for (size_t i = 0; i < CLAIMS_MAX; i++) {
    if (e->claims[i] == id) taken = true;
    if (e->claims[i] == 0 && free_slot == CLAIMS_MAX) free_slot = i;
  }
  bool ok = !taken && free_slot < CLAIMS_MAX;
  if (ok) e->claims[free_slot] = id;
  pthread_mutex_unlock(&e->lock);
  return ok;
}

static bool claimed(payment_engine *e, uint64_t id) {
  pthread_mutex_lock(&e->lock);
  bool found = false;
  for (size_t i = 0; i < CLAIMS_MAX && !found; i++) found = e->claims[i] == id;
  pthread_mutex_unlock(&e->lock);
  return found;
}

static void unclaim(payment_engine *e, uint64_t id) {
  pthread_mutex_lock(&e->lock);
  for (size_t i = 0; i < CLAIMS_MAX; i++) {
    if (e->claims[i] == id) e->claims[i] = 0;
  }
  pthread_mutex_unlock(&e->lock);
}

static uint64_t txn_id_of(const Ccpay__V1__Transaction *t) {
  uint64_t id = 0;
  CHECK(id_parse(ID_TXN, t->id, &id));
  return id;
}

static void release_claims(payment_flow *f) {
  for (size_t i = 0; i < f->n_steps; i++) unclaim(f->engine, txn_id_of(f->steps[i].txn));
}

/* --- Accessors ---------------------------------------------------------------------- */

const void *payment_flow_input(const payment_flow *f) { return f->spec.input; }
arena *payment_flow_arena(const payment_flow *f) { return f->arena; }
service_env *payment_flow_env(const payment_flow *f) { return f->env; }
size_t payment_flow_step_count(const payment_flow *f) { return f->n_steps; }

const Ccpay__V1__Transaction *payment_flow_step_transaction(const payment_flow *f, size_t i) {
  CHECK(i < f->n_steps);
  return f->steps[i].resolved != NULL ? f->steps[i].resolved : f->steps[i].txn;
}

/* --- Adding steps (stage 1) ----------------------------------------------------------- */

static ccpay_err add_step(payment_flow *f, Ccpay__V1__Transaction *t, Ccpay__V1__Payment *p,
                          bool lookup, ccpay_error *error) {
  if (f->n_steps >= PAYMENTS_PER_ORDER_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED,
                           "at most %d processor operations in one call", PAYMENTS_PER_ORDER_MAX);
  }
  if (!claim(f->engine, txn_id_of(t))) {
    return ccpay_error_set(error, CCPAY_ERR_PAYMENT_IN_PROGRESS,
                           "transaction %s is being driven by another call; retry when it ends",
                           t->id);
  }
  flow_step *s = &f->steps[f->n_steps++];
  memset(s, 0, sizeof *s);
  s->txn = t, s->payment = p, s->lookup = lookup;
  return CCPAY_OK;
}

ccpay_err payment_flow_add_operation(payment_flow *f, store_txn *txn, Ccpay__V1__Payment *p,
                                     Ccpay__V1__TransactionKind kind, int64_t amount,
                                     bool final_capture, ccpay_error *error) {
  arena *a = f->arena;
  if (kind == KIND(AUTHORIZE) || kind == KIND(SALE)) amount = p->amount->amount_minor;
  if (kind == KIND(VOID)) amount = payment_capturable(p);
  ccpay_err rc = payment_check_start(p, kind, amount, error);
  if (rc != CCPAY_OK) return rc;
  CHECK(amount > 0);
  uint64_t id = 0;
  rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  int64_t now_ms = store_txn_time_ms(txn);
  Ccpay__V1__Transaction *t = arena_alloc(a, sizeof *t);
  char **ids = arena_alloc(a, (p->n_transaction_ids + 1) * sizeof *ids);
  if (t == NULL || ids == NULL) return service_exhausted(error);
  ccpay__v1__transaction__init(t);
  t->id = service_format_id(ID_TXN, id, a);
  t->payment_id = p->id;
  t->order_id = p->order_id;
  t->kind = kind;
  t->state = STATE(PENDING);
  t->amount = money_message(a, p->amount->currency_code, amount);
  t->processor = p->card->processor;
  t->final_capture = final_capture;
  t->create_time = timestamp_from_ms(a, now_ms);
  t->update_time = t->create_time;
  t->request_id = f->request_id != NULL ? (char *)f->request_id : "";
  t->created_by = f->call != NULL ? f->who.agent_id : "";
  if (t->id == NULL || t->amount == NULL || t->create_time == NULL) {
    return service_exhausted(error);
  }
  if (p->n_transaction_ids > 0) {
    memcpy(ids, p->transaction_ids, p->n_transaction_ids * sizeof *ids);
  }
  ids[p->n_transaction_ids] = t->id;
  p->transaction_ids = ids;
  p->n_transaction_ids++;
  payment_start(p, t);
  p->version++;
  p->audit = audit_stamp_updated(a, p->audit, now_ms);
  if (p->audit == NULL) return service_exhausted(error);
  rc = transactions_put(txn, t, true, error);
  if (rc == CCPAY_OK) rc = payments_put(txn, p, false, error);
  if (rc == CCPAY_OK) rc = add_step(f, t, p, false, error);
  if (rc == CCPAY_OK) {
    log_info("event=transaction_pending txn=%s payment=%s kind=%s amount=%lld currency=%s", t->id,
             p->id, transaction_kind_name(kind), (long long)amount, p->amount->currency_code);
  }
  return rc;
}

ccpay_err payment_flow_add_lookup(payment_flow *f, store_txn *txn, Ccpay__V1__Transaction *t,
                                  ccpay_error *error) {
  CHECK(transaction_state_open(t->state));
  uint64_t payment_id = 0;
  CHECK(id_parse(ID_PAYMENT, t->payment_id, &payment_id));
  Ccpay__V1__Payment *p = NULL;
  ccpay_err rc = payments_get(txn, payment_id, f->arena, &p, error);
  return rc == CCPAY_OK ? add_step(f, t, p, true, error) : rc;
}

/* --- Stage 2: the gateway ------------------------------------------------------------- */

static Ccpay__Gateway__V1__Card *gateway_card(const Ccpay__V1__CardDetails *c, arena *a) {
  Ccpay__Gateway__V1__Card *g = arena_alloc(a, sizeof *g);
  if (g == NULL) return NULL;
  ccpay__gateway__v1__card__init(g);
  g->token = c->token;
  g->brand = c->brand;
  g->last4 = c->last4;
  g->exp_month = c->exp_month;
  g->exp_year = c->exp_year;
  g->holder_name = c->holder_name;
  g->postal_code = c->postal_code;
  return g;
}

/* The Gateway request for step's transaction; *method says which call. NULL when the
 * arena is exhausted. An authorization asks for several captures where the processor
 * offers them (never for a sale, which captures at once). */
static ProtobufCMessage *gateway_request(const payment_flow *f, const flow_step *s, arena *a,
                                         gateway_method *method,
                                         Ccpay__Gateway__V1__Operation *operation) {
  const Ccpay__V1__Transaction *t = s->txn;
  const Ccpay__V1__Payment *p = s->payment;
  switch (t->kind) {
    case KIND(AUTHORIZE):
    case KIND(SALE): {
      Ccpay__Gateway__V1__AuthorizeRequest *r = arena_alloc(a, sizeof *r);
      if (r == NULL) return NULL;
      ccpay__gateway__v1__authorize_request__init(r);
      r->idempotency_key = t->id;
      r->amount = t->amount;
      r->card = gateway_card(p->card, a);
      r->capture = t->kind == KIND(SALE);
      r->order_reference = p->order_id;
      r->multiple_captures =
          t->kind == KIND(AUTHORIZE) && payment_gateway_multiple_captures(f->env, t->processor);
      *method = GATEWAY_AUTHORIZE;
      *operation = t->kind == KIND(SALE) ? CCPAY__GATEWAY__V1__OPERATION__OPERATION_SALE
                                         : CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE;
      return r->card != NULL ? &r->base : NULL;
    }
    case KIND(CAPTURE): {
      Ccpay__Gateway__V1__CaptureRequest *r = arena_alloc(a, sizeof *r);
      if (r == NULL) return NULL;
      ccpay__gateway__v1__capture_request__init(r);
      r->idempotency_key = t->id;
      r->payment_reference = p->processor_reference;
      r->amount = t->amount;
      r->final_capture = t->final_capture;
      r->order_reference = p->order_id;
      *method = GATEWAY_CAPTURE;
      *operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_CAPTURE;
      return &r->base;
    }
    case KIND(VOID): {
      Ccpay__Gateway__V1__VoidRequest *r = arena_alloc(a, sizeof *r);
      if (r == NULL) return NULL;
      ccpay__gateway__v1__void_request__init(r);
      r->idempotency_key = t->id;
      r->payment_reference = p->processor_reference;
      r->amount = t->amount;
      r->order_reference = p->order_id;
      *method = GATEWAY_VOID;
      *operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_VOID;
      return &r->base;
    }
    case KIND(REFUND): {
      Ccpay__Gateway__V1__RefundRequest *r = arena_alloc(a, sizeof *r);
      if (r == NULL) return NULL;
      ccpay__gateway__v1__refund_request__init(r);
      r->idempotency_key = t->id;
      r->amount = t->amount;
      r->payment_reference = p->processor_reference;
      r->card = gateway_card(p->card, a);
      r->order_reference = p->order_id;
      *method = GATEWAY_REFUND;
      *operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_REFUND;
      return r->card != NULL ? &r->base : NULL;
    }
    default:
      CHECK(false && "unknown transaction kind");
      return NULL;
  }
}

static void outcome_exhausted(gateway_outcome *out) {
  memset(out, 0, sizeof *out);
  ccpay_error_set(&out->error, CCPAY_ERR_LIMIT_EXCEEDED, "out of memory building the request");
}

/* Sends one step: the operation, or a look-up (and the operation again under the same
 * key when the processor has never heard of it). */
static void send_step(payment_flow *f, flow_step *s) {
  gateway_method method;
  Ccpay__Gateway__V1__Operation operation;
  ProtobufCMessage *request = gateway_request(f, s, f->arena, &method, &operation);
  if (request == NULL) return outcome_exhausted(&s->outcome);
  const char *processor = s->txn->processor;
  if (!s->lookup) {
    payment_gateway_send(f->env, processor, method, request, PAYMENT_GATEWAY_CALL_TIMEOUT_MS,
                         f->arena, &s->outcome);
    return;
  }
  Ccpay__Gateway__V1__LookupRequest *l = arena_alloc(f->arena, sizeof *l);
  if (l == NULL) return outcome_exhausted(&s->outcome);
  ccpay__gateway__v1__lookup_request__init(l);
  l->idempotency_key = s->txn->id;
  l->operation = operation;
  switch (method) {
    case GATEWAY_AUTHORIZE:
      l->original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST;
      l->authorize_request = (Ccpay__Gateway__V1__AuthorizeRequest *)request;
      break;
    case GATEWAY_CAPTURE:
      l->original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST;
      l->capture_request = (Ccpay__Gateway__V1__CaptureRequest *)request;
      break;
    case GATEWAY_VOID:
      l->original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST;
      l->void_request = (Ccpay__Gateway__V1__VoidRequest *)request;
      break;
    case GATEWAY_REFUND:
      l->original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST;
      l->refund_request = (Ccpay__Gateway__V1__RefundRequest *)request;
      break;
    case GATEWAY_LOOKUP:
      CHECK(false && "a look-up of a look-up");
  }
  payment_gateway_send(f->env, processor, GATEWAY_LOOKUP, &l->base, PAYMENT_GATEWAY_CALL_TIMEOUT_MS,
                       f->arena, &s->outcome);
  if (s->outcome.answered && s->outcome.result->outcome == OUTCOME(NOT_FOUND)) {
    log_info("event=transaction_resend txn=%s reason=processor_has_no_record", s->txn->id);
    payment_gateway_send(f->env, processor, method, request, PAYMENT_GATEWAY_CALL_TIMEOUT_MS,
                         f->arena, &s->outcome);
  }
}

/* --- Stage 3: applying outcomes --------------------------------------------------------- */

static void copy_result(Ccpay__V1__Transaction *t, const Ccpay__Gateway__V1__OperationResult *r) {
  if (r->processor_reference[0] != '\0') t->processor_reference = r->processor_reference;
  t->decline_code = r->decline_code;
  t->message = r->message;
  t->avs_result = r->avs_result;
  t->cvv_result = r->cvv_result;
  t->risk_score = r->risk_score;
  t->processor_status = r->processor_status;
}

/* The state the outcome leaves t in. */
static Ccpay__V1__TransactionState resolved_state(const flow_step *s, Ccpay__V1__Transaction *t) {
  const gateway_outcome *o = &s->outcome;
  if (!o->answered) {
    /* Nothing reached the adapter: a new operation surely did not happen. A look-up that
     * could not be asked changes nothing. */
    if (!o->maybe_sent && !s->lookup) {
      t->message = (char *)o->error.message;
      t->not_sent = true;
      return STATE(FAILED);
    }
    if (!s->lookup) t->message = "the answer was lost; the recovery loop will ask the processor";
    return STATE(UNKNOWN);
  }
  copy_result(t, o->result);
  switch (o->result->outcome) {
    case OUTCOME(SUCCEEDED):
      return STATE(SUCCEEDED);
    case OUTCOME(DECLINED):
      return STATE(DECLINED);
    case OUTCOME(FAILED):
      return STATE(FAILED);
    default: /* UNKNOWN, or NOT_FOUND after a resend that was lost */
      return STATE(UNKNOWN);
  }
}

/* Posts the money a succeeded capture, sale or refund moved. */
static ccpay_err post_movement(store_txn *txn, Ccpay__V1__Transaction *t,
                               const Ccpay__V1__Payment *p, arena *a, ccpay_error *error) {
  bool refund = t->kind == KIND(REFUND);
  if (t->kind != KIND(CAPTURE) && t->kind != KIND(SALE) && !refund) return CCPAY_OK;
  char *clearing = account_card_clearing(t->processor, a);
  char *receivable = account_receivable(p->customer_id, a);
  if (clearing == NULL || receivable == NULL) return service_exhausted(error);
  Ccpay__V1__JournalEntry *e =
      accounts_transfer_entry(refund ? ENTRY_KIND_REFUND_ISSUED : ENTRY_KIND_PAYMENT_CAPTURED,
                              refund ? receivable : clearing, refund ? clearing : receivable,
                              t->amount->currency_code, t->amount->amount_minor, a);
  if (e == NULL) return service_exhausted(error);
  e->customer_id = p->customer_id;
  e->order_id = p->order_id;
  e->payment_id = p->id;
  e->transaction_id = t->id;
  e->entry_time = t->update_time;
  ccpay_err rc = ledger_append(txn, e, error);
  t->entry_sequence = e->sequence;
  return rc;
}

static ccpay_err apply_step(store_txn *txn, payment_flow *f, flow_step *s, ccpay_error *error) {
  arena *a = f->arena;
  uint64_t txn_id = txn_id_of(s->txn), payment_id = 0;
  Ccpay__V1__Transaction *t = NULL;
  Ccpay__V1__Payment *p = NULL;
  CHECK(id_parse(ID_PAYMENT, s->txn->payment_id, &payment_id));
  ccpay_err rc = transactions_get(txn, txn_id, a, &t, error);
  if (rc == CCPAY_OK) rc = payments_get(txn, payment_id, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  s->resolved = t;
  if (!transaction_state_open(t->state)) return CCPAY_OK; /* resolved meanwhile */
  int64_t now_ms = store_txn_time_ms(txn);
  Ccpay__V1__TransactionState state = resolved_state(s, t);
  t->update_time = timestamp_from_ms(a, now_ms);
  if (t->update_time == NULL) return service_exhausted(error);
  if (s->lookup) t->lookups++;
  if (state == STATE(UNKNOWN)) {
    if (t->state == STATE(PENDING) || s->lookup) {
      t->state = STATE(UNKNOWN);
      log_warn("event=transaction_unknown txn=%s payment=%s lookups=%d", t->id, p->id, t->lookups);
    }
    return transactions_put(txn, t, false, error);
  }
  t->state = state;
  payment_finish(p, t);
  bool approved_authorization = state == STATE(SUCCEEDED) && s->outcome.answered &&
                                (t->kind == KIND(AUTHORIZE) || t->kind == KIND(SALE));
  if (approved_authorization && s->outcome.result->authorization_expires_ms > 0) {
    p->authorization_expire_time =
        timestamp_from_ms(a, s->outcome.result->authorization_expires_ms);
    if (p->authorization_expire_time == NULL) return service_exhausted(error);
  }
  p->version++;
  p->audit = audit_stamp_updated(a, p->audit, now_ms);
  if (p->audit == NULL) return service_exhausted(error);
  if (state == STATE(SUCCEEDED)) rc = post_movement(txn, t, p, a, error);
  if (rc == CCPAY_OK) rc = transactions_put(txn, t, false, error);
  if (rc == CCPAY_OK) rc = payments_put(txn, p, false, error);
  if (rc == CCPAY_OK) {
    log_info("event=transaction_resolved txn=%s payment=%s kind=%s state=%s processor=%s", t->id,
             p->id, transaction_kind_name(t->kind), transaction_state_name(t->state), t->processor);
  }
  return rc;
}

ccpay_err payment_flow_step_error(const payment_flow *f, size_t i, ccpay_error *error) {
  CHECK(i < f->n_steps);
  const flow_step *s = &f->steps[i];
  const Ccpay__V1__Transaction *t = payment_flow_step_transaction(f, i);
  switch (t->state) {
    case STATE(SUCCEEDED):
      return CCPAY_OK;
    case STATE(DECLINED):
      return ccpay_error_set(
          error, CCPAY_ERR_PAYMENT_DECLINED, "payment %s: %s declined by %s: %s (%s)",
          t->payment_id, transaction_kind_name(t->kind), t->processor, t->decline_code, t->message);
    case STATE(FAILED):
      if (!s->outcome.answered && !s->outcome.maybe_sent) {
        *error = s->outcome.error;
        return error->code;
      }
      return ccpay_error_set(error, CCPAY_ERR_PAYMENT_FAILED, "payment %s: %s rejected by %s: %s",
                             t->payment_id, transaction_kind_name(t->kind), t->processor,
                             t->message);
    default:
      return ccpay_error_set(error, CCPAY_ERR_OUTCOME_UNKNOWN,
                             "payment %s: the processor's answer to transaction %s was lost; it "
                             "is being resolved; retry with the same request_id",
                             t->payment_id, t->id);
  }
}

/* --- The flow's three stages ------------------------------------------------------------ */

static void flow_free(payment_flow *f) {
  if (f->own_arena) {
    arena *a = f->arena;
    arena_destroy(a); /* f lives in it */
  }
}

/* Ends the flow: answers the call (or tells the recovery loop) and lets go of it. A flow
 * of a call lives in the call's arena: once answered, it may be gone, so everything
 * needed afterwards is read first. */
static void flow_finish(payment_flow *f, ccpay_err result, const ccpay_error *error) {
  payment_engine *e = f->engine;
  payment_flow_done_fn done = f->done;
  void *done_context = f->done_context;
  if (f->call != NULL) {
    if (result != CCPAY_OK) {
      rpc_call_fail(f->call, error);
    } else if (f->has_reply_error) {
      rpc_call_fail(f->call, &f->reply_error);
    } else {
      rpc_call_reply_packed(f->call, f->reply, f->reply_len);
    }
  } else {
    flow_free(f); /* a recovery flow owns its arena */
  }
  if (done != NULL) done(done_context, result);
  flows_finished(e);
}

static ccpay_err store_reply(store_txn *txn, payment_flow *f, ProtobufCMessage *reply, bool update,
                             ccpay_error *error) {
  CHECK(reply != NULL);
  ccpay_err rc = mutation_pack_reply(reply, f->arena, &f->reply, &f->reply_len, error);
  if (rc != CCPAY_OK || f->request_id == NULL) return rc;
  return update ? idempotency_update(txn, f->request_id, f->hash, f->reply, f->reply_len, error)
                : idempotency_record(txn, f->request_id, f->hash, f->reply, f->reply_len, error);
}

/* The audit record of a call's flow once its answer is settled: OK with reply, or the
 * answer's error (whose effects are kept). Recovery flows have no caller to record. */
static ccpay_err flow_audit(store_txn *txn, payment_flow *f, const ProtobufCMessage *reply,
                            const ccpay_error *answer, ccpay_error *error) {
  if (f->call == NULL) return CCPAY_OK;
  return audit_trail_append(txn, &f->who, f->request_id, f->request, reply, answer, f->arena,
                            error);
}

/* A stage that failed had its changes rolled back: the call's record, with the failure. */
static ccpay_err flow_after_failure(store_txn *txn, store_write *w) {
  payment_flow *f = (payment_flow *)w;
  ccpay_error failure = w->error;
  return flow_audit(txn, f, NULL, &failure, &w->error);
}

static ccpay_err flow_begin_run(store_txn *txn, payment_flow *f, store_write *w);
static ccpay_err flow_end_run(store_txn *txn, payment_flow *f, store_write *w);

/* Each stage runs with the caller current, so what it creates is stamped with its agent. */
static ccpay_err flow_begin_execute(store_txn *txn, store_write *w) {
  payment_flow *f = (payment_flow *)w;
  if (f->call != NULL) audit_trail_enter(&f->who);
  ccpay_err rc = flow_begin_run(txn, f, w);
  audit_trail_leave();
  return rc;
}

static ccpay_err flow_end_execute(store_txn *txn, store_write *w) {
  payment_flow *f = (payment_flow *)w;
  if (f->call != NULL) audit_trail_enter(&f->who);
  ccpay_err rc = flow_end_run(txn, f, w);
  audit_trail_leave();
  return rc;
}

static ccpay_err flow_begin_run(store_txn *txn, payment_flow *f, store_write *w) {
  if (f->call != NULL && rpc_call_cancelled(f->call)) {
    return ccpay_error_set(&w->error, CCPAY_ERR_CANCELLED, "cancelled before it was written");
  }
  if (f->request_id != NULL) {
    store_val stored;
    ccpay_err rc = idempotency_lookup(txn, f->request_id, f->hash, &stored, &w->error);
    if (rc == CCPAY_OK) { /* answered before: the same answer */
      f->reply = arena_alloc(f->arena, stored.len == 0 ? 1 : stored.len);
      if (f->reply == NULL) return service_exhausted(&w->error);
      if (stored.len > 0) memcpy(f->reply, stored.data, stored.len);
      f->reply_len = stored.len;
      f->answer_now = true;
      return CCPAY_OK;
    }
    if (rc != CCPAY_ERR_NOT_FOUND) return rc;
  }
  ProtobufCMessage *reply = NULL;
  ccpay_err rc = f->spec.begin(txn, f, &reply, &w->error);
  if (rc != CCPAY_OK) {
    release_claims(f);
    f->n_steps = 0;
    return rc;
  }
  f->answer_now = f->n_steps == 0;
  if (f->answer_now || f->spec.store_begin_reply) {
    if (reply == NULL && f->call == NULL) return CCPAY_OK; /* recovery: nothing to do */
    rc = store_reply(txn, f, reply, false, &w->error);
  }
  if (rc == CCPAY_OK && f->answer_now) rc = flow_audit(txn, f, reply, NULL, &w->error);
  if (rc != CCPAY_OK) {
    release_claims(f);
    f->n_steps = 0;
  }
  return rc;
}

static void enqueue(payment_flow *f) {
  payment_engine *e = f->engine;
  pthread_mutex_lock(&e->lock);
  if (e->stopping) { /* the steps stay PENDING: the next start's recovery resolves them */
    pthread_mutex_unlock(&e->lock);
    release_claims(f);
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_SHUTTING_DOWN, "ccpayd is stopping; retry");
    return flow_finish(f, CCPAY_ERR_SHUTTING_DOWN, &error);
  }
  f->next = NULL;
  if (e->queue_tail != NULL) {
    e->queue_tail->next = f;
  } else {
    e->queue_head = f;
  }
  e->queue_tail = f;
  pthread_cond_signal(&e->wake);
  pthread_mutex_unlock(&e->lock);
}

static void flow_begin_done(store_write *w) {
  payment_flow *f = (payment_flow *)w;
  if (w->result != CCPAY_OK) {
    release_claims(f); /* the batch failed: the steps were never written */
    return flow_finish(f, w->result, &w->error);
  }
  if (f->answer_now) return flow_finish(f, CCPAY_OK, NULL);
  enqueue(f);
}

static ccpay_err flow_end_run(store_txn *txn, payment_flow *f, store_write *w) {
  for (size_t i = f->steps_applied; i < f->n_steps; i++) {
    ccpay_err rc = apply_step(txn, f, &f->steps[i], &w->error);
    if (rc != CCPAY_OK) return rc;
  }
  f->steps_applied = f->n_steps;
  if (f->spec.end == NULL) return CCPAY_OK;
  ProtobufCMessage *reply = NULL;
  ccpay_error answer;
  ccpay_error_clear(&answer);
  f->has_reply_error = false;
  ccpay_err rc = f->spec.end(txn, f, &reply, &answer);
  if (f->n_steps > f->steps_applied) { /* follow-up operations: answer after them */
    f->follow_up = true;
    return CCPAY_OK;
  }
  if (rc != CCPAY_OK) {
    /* The outcomes above are kept; the caller is told what they mean. */
    f->has_reply_error = true;
    f->reply_error = answer;
    return flow_audit(txn, f, NULL, &answer, &w->error);
  }
  rc = store_reply(txn, f, reply, f->spec.store_begin_reply, &w->error);
  if (rc == CCPAY_OK) rc = flow_audit(txn, f, reply, NULL, &w->error);
  return rc;
}

static void flow_end_done(store_write *w) {
  payment_flow *f = (payment_flow *)w;
  if (w->result == CCPAY_OK && f->follow_up) {
    f->follow_up = false;
    return enqueue(f);
  }
  release_claims(f);
  flow_finish(f, w->result, &w->error);
}

static void *gateway_thread(void *argument) {
  payment_engine *e = argument;
  for (;;) {
    pthread_mutex_lock(&e->lock);
    while (e->queue_head == NULL && !e->stopping) pthread_cond_wait(&e->wake, &e->lock);
    payment_flow *f = e->queue_head;
    if (f == NULL) { /* stopping, and the queue is drained */
      pthread_mutex_unlock(&e->lock);
      return NULL;
    }
    e->queue_head = f->next;
    if (e->queue_head == NULL) e->queue_tail = NULL;
    pthread_mutex_unlock(&e->lock);

    for (size_t i = f->steps_sent; i < f->n_steps; i++) send_step(f, &f->steps[i]);
    f->steps_sent = f->n_steps;
    f->write.execute = flow_end_execute;
    f->write.done = flow_end_done;
    store_write_submit(f->env->store, &f->write);
  }
}

static payment_flow *flow_new(payment_engine *engine, arena *a, bool own_arena,
                              const payment_flow_spec *spec) {
  payment_flow *f = arena_calloc(a, sizeof *f);
  if (f == NULL) return NULL;
  f->engine = engine;
  f->env = engine->env;
  f->arena = a;
  f->own_arena = own_arena;
  f->spec = *spec;
  f->write.execute = flow_begin_execute;
  f->write.done = flow_begin_done;
  f->write.context = f;
  return f;
}

void payment_flow_start(rpc_call *call, const char *request_id, const ProtobufCMessage *request,
                        const payment_flow_spec *spec) {
  service_env *env = rpc_call_context(call);
  CHECK(env->payments != NULL && spec->begin != NULL);
  payment_flow *f = flow_new(env->payments, rpc_call_arena(call), false, spec);
  if (f == NULL || (request_id != NULL && !mutation_request_hash(call, request, f->hash))) {
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_LIMIT_EXCEEDED, "request too large for one call");
    rpc_call_fail(call, &error);
    return;
  }
  flows_started(env->payments);
  f->call = call;
  f->request_id = request_id;
  f->request = request;
  audit_caller_capture(call, &f->who);
  f->write.after_failure = flow_after_failure;
  f->write.actor = f->who.agent_id;
  if (request_id != NULL) rpc_call_set_request_id(call, request_id);
  store_write_submit(env->store, &f->write);
}

/* --- Recovery ----------------------------------------------------------------------------- */

typedef struct recover_input {
  uint64_t transaction_id;
} recover_input;

static ccpay_err recover_begin(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                               ccpay_error *error) {
  const recover_input *in = payment_flow_input(f);
  Ccpay__V1__Transaction *t = NULL;
  ccpay_err rc = transactions_get(txn, in->transaction_id, f->arena, &t, error);
  if (rc != CCPAY_OK) return rc;
  if (!transaction_state_open(t->state)) return CCPAY_OK; /* resolved meanwhile */
  rc = payment_flow_add_lookup(f, txn, t, error);
  /* Another flow drives it right now: nothing for the recovery loop to do. */
  return rc == CCPAY_ERR_PAYMENT_IN_PROGRESS ? CCPAY_OK : rc;
}

ccpay_err payment_flow_recover(payment_engine *engine, uint64_t transaction_id,
                               payment_flow_done_fn done, void *context, ccpay_error *error) {
  arena *a = arena_create(RECOVERY_ARENA_BYTES);
  if (a == NULL) return service_exhausted(error);
  recover_input *in = arena_calloc(a, sizeof *in);
  payment_flow_spec spec = {.begin = recover_begin, .input = in};
  payment_flow *f = in != NULL ? flow_new(engine, a, true, &spec) : NULL;
  if (f == NULL) {
    arena_destroy(a);
    return service_exhausted(error);
  }
  in->transaction_id = transaction_id;
  flows_started(engine);
  f->done = done;
  f->done_context = context;
  store_write_submit(engine->env->store, &f->write);
  return CCPAY_OK;
}

static void recovery_done(void *context, ccpay_err result) {
  payment_engine *e = context;
  pthread_mutex_lock(&e->lock);
  CHECK(e->recovery_active > 0);
  e->recovery_active--;
  pthread_mutex_unlock(&e->lock);
}

/* Whether t has waited long enough since it was last touched: the grace period, doubled
 * for every look-up already made (up to RECOVERY_BACKOFF_MAX_MS). */
static bool recovery_due(const Ccpay__V1__Transaction *t, int64_t now_ms) {
  int64_t wait_ms = PAYMENT_RECOVERY_GRACE_MS;
  for (int i = 0; i < t->lookups && wait_ms < RECOVERY_BACKOFF_MAX_MS; i++) wait_ms *= 2;
  if (wait_ms > RECOVERY_BACKOFF_MAX_MS) wait_ms = RECOVERY_BACKOFF_MAX_MS;
  int64_t touched_ms =
      t->update_time != NULL ? t->update_time->seconds * 1000 + t->update_time->nanos / 1000000 : 0;
  return now_ms - touched_ms >= wait_ms;
}

/* One pass: starts a look-up for each open transaction that is due and not driven. */
static void recovery_pass(payment_engine *e) {
  uint64_t ids[PAYMENT_RECOVERY_BATCH];
  size_t count = 0;
  ccpay_error error;
  store_txn *txn = NULL;
  arena *a = arena_create(RECOVERY_ARENA_BYTES);
  if (a == NULL) return;
  ccpay_err rc = store_read_begin(e->env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = transactions_open_list(txn, e->recovery_after_id, ids, PAYMENT_RECOVERY_BATCH, &count,
                                &error);
  }
  int64_t now_ms = clock_wall_ms();
  uint64_t due[PAYMENT_RECOVERY_BATCH];
  size_t n_due = 0;
  for (size_t i = 0; rc == CCPAY_OK && i < count; i++) {
    Ccpay__V1__Transaction *t = NULL;
    if (claimed(e, ids[i])) continue;
    if (transactions_get(txn, ids[i], a, &t, &error) != CCPAY_OK) continue;
    if (recovery_due(t, now_ms)) due[n_due++] = ids[i];
  }
  if (txn != NULL) store_read_end(txn);
  arena_destroy(a);
  if (rc != CCPAY_OK) {
    log_error("event=recovery_scan_failed error=\"%s\"", error.message);
    return;
  }
  /* Next pass continues after this batch, and wraps around at the end. */
  e->recovery_after_id = count == PAYMENT_RECOVERY_BATCH ? ids[count - 1] : 0;
  for (size_t i = 0; i < n_due; i++) {
    pthread_mutex_lock(&e->lock);
    bool room = e->recovery_active < PAYMENT_RECOVERY_BATCH && !e->stopping;
    if (room) e->recovery_active++;
    pthread_mutex_unlock(&e->lock);
    if (!room) return;
    if (payment_flow_recover(e, due[i], recovery_done, e, &error) != CCPAY_OK) {
      recovery_done(e, CCPAY_OK);
      return;
    }
  }
}

static void *recovery_thread(void *argument) {
  payment_engine *e = argument;
  pthread_mutex_lock(&e->lock);
  while (!e->stopping) {
    pthread_mutex_unlock(&e->lock);
    recovery_pass(e);
    pthread_mutex_lock(&e->lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PAYMENT_RECOVERY_INTERVAL_MS / 1000;
    until.tv_nsec += (long)(PAYMENT_RECOVERY_INTERVAL_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    if (!e->stopping) pthread_cond_timedwait(&e->recovery_wake, &e->lock, &until);
  }
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

/* --- Engine ----------------------------------------------------------------------------- */

ccpay_err payment_engine_start(service_env *env, payment_engine **out, ccpay_error *error) {
  payment_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return service_exhausted(error);
  e->env = env;
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->wake, NULL);
  pthread_cond_init(&e->recovery_wake, NULL);
  pthread_cond_init(&e->flows_idle, NULL);
  for (size_t i = 0; i < PAYMENT_GATEWAY_THREADS; i++) {
    CHECK(pthread_create(&e->gateway_threads[i], NULL, gateway_thread, e) == 0);
  }
  CHECK(pthread_create(&e->recovery_thread, NULL, recovery_thread, e) == 0);
  *out = e;
  return CCPAY_OK;
}

void payment_engine_stop(payment_engine *e) {
  if (e == NULL) return;
  pthread_mutex_lock(&e->lock);
  e->stopping = true;
  pthread_cond_broadcast(&e->wake);
  pthread_cond_signal(&e->recovery_wake);
  pthread_mutex_unlock(&e->lock);
  CHECK(pthread_join(e->recovery_thread, NULL) == 0);
  for (size_t i = 0; i < PAYMENT_GATEWAY_THREADS; i++) {
    CHECK(pthread_join(e->gateway_threads[i], NULL) == 0);
  }
  /* Flows still with the writer finish there; wait for them before letting go. */
  pthread_mutex_lock(&e->lock);
  while (e->flows_active > 0) pthread_cond_wait(&e->flows_idle, &e->lock);
  pthread_mutex_unlock(&e->lock);
  pthread_mutex_destroy(&e->lock);
  pthread_cond_destroy(&e->wake);
  pthread_cond_destroy(&e->recovery_wake);
  pthread_cond_destroy(&e->flows_idle);
  free(e);
}
