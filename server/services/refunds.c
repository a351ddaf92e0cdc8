#include "refunds.h"

#include <string.h>

#include "balance_review.h"
#include "base/check.h"
#include "base/log.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/money.h"
#include "domain/payment.h"
#include "domain/refund.h"
#include "domain/return_order.h"
#include "payment_gateway.h"
#include "payment_service.h"
#include "storage/ledger.h"
#include "storage/payments.h"
#include "storage/returns.h"
#include "timestamps.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define LINE(x) CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_##x
#define TSTATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x

/* Moves amount of line l's money on its source payment into (or, negative, out of)
 * refunded_elsewhere. Nothing when the line has no source. */
static ccpay_err charge_source(store_txn *txn, const Ccpay__V1__RefundLine *l, int64_t amount,
                               arena *a, ccpay_error *error) {
  if (l->source_payment_id[0] == '\0') return CCPAY_OK;
  Ccpay__V1__Payment *p = NULL;
  ccpay_err rc = payment_read(txn, l->source_payment_id, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  if (amount > payment_refundable(p)) {
    return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                           "refund line %d: %lld is more than the %lld payment %s has left to "
                           "give back",
                           l->line_number, (long long)amount, (long long)payment_refundable(p),
                           p->id);
  }
  if (p->refunded_elsewhere == NULL) { /* a payment written before it had the field */
    p->refunded_elsewhere = money_message(a, p->amount->currency_code, 0);
    if (p->refunded_elsewhere == NULL) return service_exhausted(error);
  }
  payment_refund_elsewhere(p, amount);
  p->version++;
  p->audit = audit_stamp_updated(a, p->audit, store_txn_time_ms(txn));
  if (p->audit == NULL) return service_exhausted(error);
  return payments_put(txn, p, false, error);
}

/* The journal entry of a line paid out by ccpay itself: receivable → credit_account. */
static ccpay_err post_line(store_txn *txn, const refund_owner *owner, Ccpay__V1__RefundLine *l,
                           const char *kind, const char *credit_account, arena *a,
                           ccpay_error *error) {
  char *receivable = account_receivable(owner->customer_id, a);
  Ccpay__V1__JournalEntry *e =
      receivable != NULL && credit_account != NULL
          ? accounts_transfer_entry(kind, receivable, credit_account, owner->currency,
                                    l->amount->amount_minor, a)
          : NULL;
  if (e == NULL) return service_exhausted(error);
  e->customer_id = (char *)owner->customer_id;
  e->order_id = (char *)owner->order_id;
  e->return_id = (char *)owner->return_id;
  e->refund_check_id = l->refund_check_id;
  e->entry_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (e->entry_time == NULL) return service_exhausted(error);
  ccpay_err rc = ledger_append(txn, e, error);
  l->entry_sequence = e->sequence;
  return rc;
}

/* A refund check for line l, for the payments department to approve and post: the money
 * stays the customer's credit until it is posted (BalanceReviewService.PostRefundCheck). */
static ccpay_err write_refund_check(store_txn *txn, const refund_owner *owner,
                                    Ccpay__V1__RefundLine *l, arena *a, ccpay_error *error) {
  uint64_t id = 0;
  ccpay_err rc = id_next(txn, &id, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__RefundCheck *c = arena_alloc(a, sizeof *c);
  if (c == NULL) return service_exhausted(error);
  ccpay__v1__refund_check__init(c);
  c->id = service_format_id(ID_REFUND_CHECK, id, a);
  c->customer_id = (char *)owner->customer_id;
  c->order_id = (char *)owner->order_id;
  c->return_id = (char *)owner->return_id;
  c->amount = l->amount;
  c->source_payment_id = l->source_payment_id;
  c->audit = audit_stamp_new(a, store_txn_time_ms(txn));
  c->version = 1;
  if (c->id == NULL || c->audit == NULL) return service_exhausted(error);
  l->refund_check_id = c->id;
  rc = refund_check_initial_status(txn, c, a, error);
  return rc == CCPAY_OK ? refund_checks_put(txn, NULL, c, error) : rc;
}

/* Issues a line ccpay pays out itself, at once. */
static ccpay_err issue_in_house(store_txn *txn, const refund_owner *owner, Ccpay__V1__RefundLine *l,
                                arena *a, ccpay_error *error) {
  ccpay_err rc = CCPAY_OK;
  switch (l->tender_type) {
    case TENDER(CHECK):
      rc = write_refund_check(txn, owner, l, a, error);
      break;
    case TENDER(CASH):
      rc = post_line(txn, owner, l, ENTRY_KIND_REFUND_CREDITED, ACCOUNT_CASH, a, error);
      break;
    case TENDER(GIFT_CARD_INTERNAL):
    case TENDER(LOYALTY_CARD):
      rc = post_line(txn, owner, l, ENTRY_KIND_REFUND_CREDITED,
                     account_stored_value(l->tender_type == TENDER(LOYALTY_CARD), l->reference, a),
                     a, error);
      break;
    case TENDER(CUSTOMER_ACCOUNT):
      break; /* the credit stays on the customer's receivable */
    default:
      CHECK(false && "a refund line's tender is checked when it is set");
  }
  if (rc == CCPAY_OK) rc = charge_source(txn, l, l->amount->amount_minor, a, error);
  if (rc == CCPAY_OK) {
    l->status = LINE(ISSUED);
    l->message = "";
  }
  return rc;
}

/* Starts a card line's refund on its target payment. */
static ccpay_err issue_card(store_txn *txn, payment_flow *f, Ccpay__V1__RefundLine *l,
                            ccpay_error *error) {
  arena *a = payment_flow_arena(f);
  CHECK(l->target_payment_id[0] != '\0');
  Ccpay__V1__Payment *p = NULL;
  ccpay_err rc = payment_read(txn, l->target_payment_id, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  bool unlinked = strcmp(l->target_payment_id, l->source_payment_id) != 0;
  /* The account may have changed since the override: asked again before any call. */
  if (unlinked && !payment_gateway_unlinked_refunds(payment_flow_env(f), p->card->processor)) {
    return ccpay_error_set(error, CCPAY_ERR_UNLINKED_REFUND_NOT_ALLOWED,
                           "refund line %d: %s does not allow unlinked refunds on this account "
                           "now; override the line to another tender",
                           l->line_number, p->card->processor);
  }
  if (unlinked) rc = charge_source(txn, l, l->amount->amount_minor, a, error);
  if (rc == CCPAY_OK) {
    rc = payment_flow_add_operation(f, txn, p, CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_REFUND,
                                    l->amount->amount_minor, false, error);
  }
  if (rc != CCPAY_OK) return rc;
  const Ccpay__V1__Transaction *t =
      payment_flow_step_transaction(f, payment_flow_step_count(f) - 1);
  l->transaction_id = t->id;
  l->status = LINE(IN_PROGRESS);
  l->message = "";
  return CCPAY_OK;
}

ccpay_err refunds_issue(store_txn *txn, payment_flow *f, const refund_owner *owner,
                        Ccpay__V1__RefundLine **lines, size_t count, ccpay_error *error) {
  CHECK(owner != NULL && (lines != NULL || count == 0));
  for (size_t i = 0; i < count; i++) {
    Ccpay__V1__RefundLine *l = lines[i];
    if (l->status != LINE(PENDING) && l->status != LINE(FAILED)) continue;
    CHECK(strcmp(l->amount->currency_code, owner->currency) == 0 && l->amount->amount_minor > 0);
    ccpay_err rc = l->tender_type == TENDER(CARD)
                       ? issue_card(txn, f, l, error)
                       : issue_in_house(txn, owner, l, payment_flow_arena(f), error);
    if (rc != CCPAY_OK) return rc;
    /* Written with the batch that commits it (a failed command rolls back and says so). */
    log_info(
        "event=refund_line return=%s order=%s line=%d tender=%s amount=%lld currency=%s "
        "derivation=%s status=%s source=%s",
        owner->return_id, owner->order_id, l->line_number, payment_tender_name(l->tender_type),
        (long long)l->amount->amount_minor, owner->currency, refund_derivation_name(l->derivation),
        refund_line_status_name(l->status), l->source_payment_id);
  }
  return CCPAY_OK;
}

ccpay_err refunds_refresh(store_txn *txn, arena *a, Ccpay__V1__RefundLine **lines, size_t count,
                          bool write, bool *changed, ccpay_error *error) {
  *changed = false;
  for (size_t i = 0; i < count; i++) {
    Ccpay__V1__RefundLine *l = lines[i];
    if (l->status != LINE(IN_PROGRESS)) continue;
    uint64_t id = 0;
    CHECK(id_parse(ID_TXN, l->transaction_id, &id));
    Ccpay__V1__Transaction *t = NULL;
    ccpay_err rc = transactions_get(txn, id, a, &t, error);
    if (rc != CCPAY_OK) return rc;
    if (t->state == TSTATE(SUCCEEDED)) {
      l->status = LINE(ISSUED);
    } else if (t->state == TSTATE(DECLINED) || t->state == TSTATE(FAILED)) {
      l->status = LINE(FAILED);
      l->message = t->message[0] != '\0' ? t->message : t->decline_code;
      bool unlinked = strcmp(l->target_payment_id, l->source_payment_id) != 0;
      if (write && unlinked) rc = charge_source(txn, l, -l->amount->amount_minor, a, error);
      if (rc != CCPAY_OK) return rc;
    } else {
      continue;
    }
    *changed = true;
  }
  return CCPAY_OK;
}

/* The line of lines that check c paid, or NULL. */
static Ccpay__V1__RefundLine *line_of_check(Ccpay__V1__RefundLine **lines, size_t count,
                                            const char *check_id) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(lines[i]->refund_check_id, check_id) == 0) return lines[i];
  }
  return NULL;
}

/* Fails line l of a voided check: its source payment gets the money back to give again. */
static ccpay_err fail_check_line(store_txn *txn, Ccpay__V1__RefundLine *l, const char *reason,
                                 arena *a, ccpay_error *error) {
  CHECK(l->status == LINE(ISSUED));
  l->status = LINE(FAILED);
  l->message = arena_printf(a, "refund check %s voided: %s", l->refund_check_id, reason);
  if (l->message == NULL) return service_exhausted(error);
  l->refund_check_id = "";
  return charge_source(txn, l, -l->amount->amount_minor, a, error);
}

ccpay_err refunds_check_voided(store_txn *txn, const Ccpay__V1__RefundCheck *c, const char *reason,
                               arena *a, ccpay_error *error) {
  uint64_t id = 0;
  if (c->return_id[0] != '\0') {
    CHECK(id_parse(ID_RETURN, c->return_id, &id));
    Ccpay__V1__ReturnOrder *before = NULL, *r = NULL;
    ccpay_err rc = service_return_edit(txn, id, a, &before, &r, error);
    if (rc != CCPAY_OK) return rc;
    Ccpay__V1__RefundLine *l = line_of_check(r->refund_lines, r->n_refund_lines, c->id);
    if (l == NULL) return CCPAY_OK;
    rc = fail_check_line(txn, l, reason, a, error);
    return rc == CCPAY_OK ? service_return_write(txn, before, r, a, error) : rc;
  }
  if (c->order_id[0] == '\0') return CCPAY_OK;
  CHECK(id_parse(ID_ORDER, c->order_id, &id));
  Ccpay__V1__Order *before = NULL, *o = NULL;
  ccpay_err rc = service_order_edit(txn, id, a, &before, &o, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__RefundLine *l = line_of_check(o->refund_lines, o->n_refund_lines, c->id);
  if (l == NULL) return CCPAY_OK;
  rc = fail_check_line(txn, l, reason, a, error);
  return rc == CCPAY_OK ? service_order_write(txn, before, o, a, error) : rc;
}
