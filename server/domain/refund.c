#include "refund.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "money.h"
#include "payment.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define DERIVED(x) CCPAY__V1__REFUND_DERIVATION__REFUND_DERIVATION_##x
#define LINE_STATUS(x) CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_##x

void refund_policy_for(const Ccpay__V1__Parameters *params, const char *currency, bool apply_credit,
                       refund_policy *out) {
  CHECK(currency != NULL && out != NULL);
  out->currency_method = TENDER(CHECK);
  out->default_method = TENDER(CHECK);
  out->apply_credit = apply_credit;
  out->apply_credit_method = TENDER(CUSTOMER_ACCOUNT);
  if (params == NULL) return;
  for (size_t i = 0; i < params->n_refund_methods; i++) {
    const Ccpay__V1__CurrencyRefundMethod *m = params->refund_methods[i];
    if (strcmp(m->currency_code, currency) == 0) out->currency_method = m->tender_type;
  }
  if (params->default_return_method != TENDER(UNSPECIFIED)) {
    out->default_method = params->default_return_method;
  }
  if (params->apply_credit_method != TENDER(UNSPECIFIED)) {
    out->apply_credit_method = params->apply_credit_method;
  }
}

/* The lines being built. */
typedef struct refund_build {
  Ccpay__V1__RefundLine **lines;
  size_t count;
  int32_t next_number;
  const char *currency;
  int64_t left; /* of the amount, not yet placed on a line */
  arena *a;
} refund_build;

/* Places up to max (all that is left when max < 0) on a new line to tender; *taken says
 * how much. */
static ccpay_err derive_line(refund_build *d, Ccpay__V1__TenderType tender,
                             Ccpay__V1__RefundDerivation how, const Ccpay__V1__Payment *source,
                             int64_t max, ccpay_error *error) {
  int64_t take = max < 0 || max > d->left ? d->left : max;
  if (take <= 0) return CCPAY_OK;
  if (d->count >= REFUND_LINES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "a refund takes at most %d lines",
                           REFUND_LINES_MAX);
  }
  Ccpay__V1__RefundLine *l = arena_alloc(d->a, sizeof *l);
  if (l == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "refund too large");
  ccpay__v1__refund_line__init(l);
  l->line_number = d->next_number++;
  l->tender_type = tender;
  l->amount = money_message(d->a, d->currency, take);
  if (l->amount == NULL)
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "refund too large");
  l->derivation = how;
  l->status = LINE_STATUS(PENDING);
  if (source != NULL) {
    l->source_payment_id = source->id;
    if (tender == TENDER(CARD)) l->target_payment_id = source->id;
    if (tender == TENDER(GIFT_CARD_INTERNAL) || tender == TENDER(LOYALTY_CARD)) {
      l->reference = source->reference;
    }
  }
  d->lines[d->count++] = l;
  d->left -= take;
  CHECK(d->left >= 0);
  return CCPAY_OK;
}

/* Money the order took in: every payment but the customer's account that has something
 * left to give back. */
static bool is_money(const Ccpay__V1__Payment *p) {
  return p->tender_type != TENDER(CUSTOMER_ACCOUNT) && !p->refund_only && payment_refundable(p) > 0;
}

/* Where money that came in as tender goes back when it is the order's only kind. */
static void derive_target(const refund_policy *policy, Ccpay__V1__TenderType tender,
                          Ccpay__V1__TenderType *target, Ccpay__V1__RefundDerivation *how) {
  switch (tender) {
    case TENDER(CARD):
      *target = TENDER(CARD);
      *how = DERIVED(SAME_CARD);
      return;
    case TENDER(CASH):
    case TENDER(CHECK):
      *target = policy->currency_method;
      *how = DERIVED(CURRENCY_REFUND_METHOD);
      return;
    case TENDER(GIFT_CARD_INTERNAL):
    case TENDER(LOYALTY_CARD):
      *target = tender;
      *how = DERIVED(SAME_STORED_VALUE);
      return;
    default:
      *target = policy->default_method;
      *how = DERIVED(DEFAULT_RETURN_METHOD);
      return;
  }
}

/* Step 3 of the derivation: the order's money, by the kind of tender it came in. */
static ccpay_err derive_money(refund_build *d, const refund_policy *policy,
                              Ccpay__V1__Payment *const *payments, size_t n, ccpay_error *error) {
  Ccpay__V1__TenderType kind = TENDER(UNSPECIFIED);
  bool several = false;
  for (size_t i = 0; i < n; i++) {
    if (!is_money(payments[i])) continue;
    if (kind != TENDER(UNSPECIFIED) && kind != payments[i]->tender_type) several = true;
    kind = payments[i]->tender_type;
  }
  Ccpay__V1__TenderType target = policy->default_method;
  Ccpay__V1__RefundDerivation how = DERIVED(DEFAULT_RETURN_METHOD);
  if (!several) derive_target(policy, kind, &target, &how);
  for (size_t i = 0; i < n && d->left > 0; i++) {
    if (!is_money(payments[i])) continue;
    ccpay_err rc = derive_line(d, target, how, payments[i], payment_refundable(payments[i]), error);
    if (rc != CCPAY_OK) return rc;
  }
  return CCPAY_OK;
}

ccpay_err refund_derive(const refund_policy *policy, bool has_original_order,
                        Ccpay__V1__Payment *const *payments, size_t payment_count,
                        const char *currency, int64_t amount, int32_t first_line_number, arena *a,
                        Ccpay__V1__RefundLine ***out, size_t *out_count, ccpay_error *error) {
  CHECK(policy != NULL && currency != NULL && out != NULL && out_count != NULL);
  CHECK(amount >= 0 && first_line_number >= 1);
  CHECK(has_original_order || payment_count == 0);
  refund_build d = {.next_number = first_line_number, .currency = currency, .left = amount, .a = a};
  d.lines = arena_alloc(a, REFUND_LINES_MAX * sizeof *d.lines);
  if (d.lines == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "refund too large");
  ccpay_err rc = CCPAY_OK;
  if (policy->apply_credit) {
    rc = derive_line(&d, policy->apply_credit_method, DERIVED(APPLY_CREDIT), NULL, -1, error);
  } else if (!has_original_order) {
    rc = derive_line(&d, policy->default_method, DERIVED(DEFAULT_RETURN_METHOD), NULL, -1, error);
  } else {
    for (size_t i = 0; rc == CCPAY_OK && i < payment_count; i++) {
      const Ccpay__V1__Payment *p = payments[i];
      if (p->tender_type != TENDER(CUSTOMER_ACCOUNT)) continue;
      rc = derive_line(&d, TENDER(CUSTOMER_ACCOUNT), DERIVED(CUSTOMER_ACCOUNT), p,
                       payment_refundable(p), error);
    }
    if (rc == CCPAY_OK) rc = derive_money(&d, policy, payments, payment_count, error);
    if (rc == CCPAY_OK) {
      rc = derive_line(&d, TENDER(CUSTOMER_ACCOUNT), DERIVED(CUSTOMER_ACCOUNT), NULL, -1, error);
    }
  }
  if (rc != CCPAY_OK) return rc;
  CHECK(d.left == 0);
  CHECK(refund_lines_total(d.lines, d.count, 0) == amount);
  *out = d.lines;
  *out_count = d.count;
  return CCPAY_OK;
}

static ccpay_err tender_one_of(const char *field, Ccpay__V1__TenderType tender,
                               const Ccpay__V1__TenderType *allowed, size_t n, const char *names,
                               ccpay_error *error) {
  for (size_t i = 0; i < n; i++) {
    if (tender == allowed[i]) return CCPAY_OK;
  }
  return ccpay_error_set(
      error, tender == TENDER(UNSPECIFIED) ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_INVALID,
      "%s: one of %s", field, names);
}

ccpay_err refund_check_override_tender(const char *field, Ccpay__V1__TenderType tender,
                                       ccpay_error *error) {
  static const Ccpay__V1__TenderType allowed[] = {TENDER(CARD),
                                                  TENDER(CHECK),
                                                  TENDER(CASH),
                                                  TENDER(CUSTOMER_ACCOUNT),
                                                  TENDER(GIFT_CARD_INTERNAL),
                                                  TENDER(LOYALTY_CARD)};
  return tender_one_of(field, tender, allowed, sizeof allowed / sizeof *allowed,
                       "CARD, CHECK, CASH, CUSTOMER_ACCOUNT, GIFT_CARD_INTERNAL, LOYALTY_CARD",
                       error);
}

ccpay_err refund_check_currency_method(const char *field, Ccpay__V1__TenderType tender,
                                       ccpay_error *error) {
  static const Ccpay__V1__TenderType allowed[] = {TENDER(CHECK), TENDER(CASH)};
  return tender_one_of(field, tender, allowed, 2,
                       "CHECK, CASH (the customer's account is no refund method for cash or "
                       "check orders)",
                       error);
}

ccpay_err refund_check_default_method(const char *field, Ccpay__V1__TenderType tender,
                                      ccpay_error *error) {
  static const Ccpay__V1__TenderType allowed[] = {TENDER(CHECK), TENDER(CASH),
                                                  TENDER(CUSTOMER_ACCOUNT)};
  return tender_one_of(field, tender, allowed, 3, "CHECK, CASH, CUSTOMER_ACCOUNT", error);
}

const char *refund_derivation_name(Ccpay__V1__RefundDerivation value) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&ccpay__v1__refund_derivation__descriptor, (int)value);
  return v != NULL ? v->name + strlen("REFUND_DERIVATION_") : "UNSPECIFIED";
}

const char *refund_line_status_name(Ccpay__V1__RefundLineStatus status) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&ccpay__v1__refund_line_status__descriptor, (int)status);
  return v != NULL ? v->name + strlen("REFUND_LINE_STATUS_") : "UNSPECIFIED";
}

int64_t refund_lines_total(Ccpay__V1__RefundLine *const *lines, size_t count,
                           Ccpay__V1__RefundLineStatus status) {
  int64_t total = 0;
  for (size_t i = 0; i < count; i++) {
    if (status != 0 && lines[i]->status != status) continue;
    CHECK(money_add(total, lines[i]->amount->amount_minor, &total));
  }
  return total;
}
