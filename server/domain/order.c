#include "order.h"

#include <stdio.h>
#include <string.h>

#include "balance.h"
#include "base/check.h"
#include "base/limits.h"
#include "currency.h"
#include "money.h"
#include "validate.h"

/* --- Validation ----------------------------------------------------------------------- */

static ccpay_err check_money(const Ccpay__V1__Money *m, const char *currency_code,
                             const char *field, bool required, ccpay_error *error) {
  if (m == NULL) {
    return required ? ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field)
                    : CCPAY_OK;
  }
  if (m->currency_code[0] != '\0' && strcmp(m->currency_code, currency_code) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s.currency_code: must be the order's currency %s, not %.8s", field,
                           currency_code, m->currency_code);
  }
  if (m->amount_minor < 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "%s.amount_minor: must not be negative", field);
  }
  return CCPAY_OK;
}

static ccpay_err check_tax_rate(int32_t rate_bp, const char *field, ccpay_error *error) {
  if (rate_bp < 0 || rate_bp > MONEY_BASIS_POINTS_ONE) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "%s.tax_rate_bp: must be 0 to %d basis points (825 is 8.25 %%)", field,
                           MONEY_BASIS_POINTS_ONE);
  }
  return CCPAY_OK;
}

static ccpay_err check_line(const Ccpay__V1__OrderLine *line, const char *currency_code,
                            const char *field, ccpay_error *error) {
  char name[96];
  snprintf(name, sizeof name, "%s.sku", field);
  ccpay_err rc = validate_text(name, line->sku, ORDER_SKU_BYTES_MAX, true, error);
  snprintf(name, sizeof name, "%s.description", field);
  if (rc == CCPAY_OK)
    rc = validate_text(name, line->description, ORDER_DESCRIPTION_BYTES_MAX, false, error);
  if (rc != CCPAY_OK) return rc;
  if (line->quantity < 1 || line->quantity > ORDER_LINE_QUANTITY_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "%s.quantity: must be 1 to %d whole units", field,
                           ORDER_LINE_QUANTITY_MAX);
  }
  snprintf(name, sizeof name, "%s.unit_price", field);
  rc = check_money(line->unit_price, currency_code, name, true, error);
  snprintf(name, sizeof name, "%s.line_discount", field);
  if (rc == CCPAY_OK) rc = check_money(line->line_discount, currency_code, name, false, error);
  if (rc == CCPAY_OK) rc = check_tax_rate(line->tax_rate_bp, field, error);
  if (rc != CCPAY_OK) return rc;
  int64_t gross;
  if (!money_mul(line->unit_price->amount_minor, line->quantity, &gross)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "%s: quantity × unit_price is larger than an amount can be", field);
  }
  int64_t discount = line->line_discount != NULL ? line->line_discount->amount_minor : 0;
  if (discount > gross) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "%s.line_discount: at most quantity × unit_price (%lld)", field,
                           (long long)gross);
  }
  return CCPAY_OK;
}

static ccpay_err check_charge(const Ccpay__V1__Charge *charge, const char *currency_code,
                              const char *field, ccpay_error *error) {
  char name[96];
  snprintf(name, sizeof name, "%s.code", field);
  ccpay_err rc = validate_code(name, charge->code, ORDER_CHARGE_CODE_BYTES_MAX, error);
  snprintf(name, sizeof name, "%s.description", field);
  if (rc == CCPAY_OK)
    rc = validate_text(name, charge->description, ORDER_DESCRIPTION_BYTES_MAX, false, error);
  snprintf(name, sizeof name, "%s.amount", field);
  if (rc == CCPAY_OK) rc = check_money(charge->amount, currency_code, name, true, error);
  if (rc == CCPAY_OK) rc = check_tax_rate(charge->tax_rate_bp, field, error);
  return rc;
}

ccpay_err order_validate_lines(Ccpay__V1__OrderLine *const *lines, size_t line_count,
                               Ccpay__V1__Charge *const *charges, size_t charge_count,
                               const char *currency_code, const char *prefix, ccpay_error *error) {
  if (line_count == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%slines: at least one line", prefix);
  }
  if (line_count > ORDER_LINES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%slines: at most %d lines", prefix,
                           ORDER_LINES_MAX);
  }
  if (charge_count > ORDER_CHARGES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%scharges: at most %d charges",
                           prefix, ORDER_CHARGES_MAX);
  }
  char field[64];
  for (size_t i = 0; i < line_count; i++) {
    snprintf(field, sizeof field, "%slines[%zu]", prefix, i);
    ccpay_err rc = check_line(lines[i], currency_code, field, error);
    if (rc != CCPAY_OK) return rc;
  }
  for (size_t i = 0; i < charge_count; i++) {
    snprintf(field, sizeof field, "%scharges[%zu]", prefix, i);
    ccpay_err rc = check_charge(charges[i], currency_code, field, error);
    if (rc != CCPAY_OK) return rc;
  }
  return CCPAY_OK;
}

ccpay_err order_validate_new(const Ccpay__V1__Order *o, ccpay_error *error) {
  if (o == NULL) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "order: required");
  if (o->customer_id[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "order.customer_id: required");
  }
  if (o->currency_code[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "order.currency_code: required");
  }
  if (currency_find(o->currency_code) == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                           "order.currency_code: %.8s is not an ISO 4217 currency code",
                           o->currency_code);
  }
  ccpay_err rc =
      validate_text("order.source_code", o->source_code, ORDER_SOURCE_CODE_BYTES_MAX, true, error);
  if (rc != CCPAY_OK) return rc;
  if (o->type != CCPAY__V1__ORDER_TYPE__ORDER_TYPE_SALES &&
      o->type != CCPAY__V1__ORDER_TYPE__ORDER_TYPE_REPLACEMENT) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "order.type: ORDER_TYPE_SALES or ORDER_TYPE_REPLACEMENT");
  }
  return order_validate_lines(o->lines, o->n_lines, o->charges, o->n_charges, o->currency_code,
                              "order.", error);
}

/* --- Amounts -------------------------------------------------------------------------- */

bool order_line_share(int64_t amount, int64_t quantity, int64_t from, int64_t to, int64_t *out) {
  CHECK(quantity > 0 && from >= 0 && from <= to && to <= quantity);
  int64_t upto_to, upto_from;
  if (!money_mul_div_round(amount, to, quantity, &upto_to)) return false;
  if (!money_mul_div_round(amount, from, quantity, &upto_from)) return false;
  return money_sub(upto_to, upto_from, out);
}

/* Sums that remember an overflow instead of wrapping, so totals read as a plain list. */
typedef struct sum {
  int64_t value;
  bool overflow;
} sum;

static void sum_add(sum *s, int64_t v) {
  if (!s->overflow && !money_add(s->value, v, &s->value)) s->overflow = true;
}

static void sum_sub(sum *s, int64_t v) {
  if (!s->overflow && !money_sub(s->value, v, &s->value)) s->overflow = true;
}

/* What one line contributes: to the order as it stands, to what was cancelled and to
 * what was invoiced. */
typedef struct line_amounts {
  int64_t gross, discount, tax; /* the whole line as ordered */
  sum active_gross, active_discount, active_tax;
  sum cancelled, invoiced;
} line_amounts;

static bool line_compute(const Ccpay__V1__OrderLine *line, line_amounts *out) {
  memset(out, 0, sizeof *out);
  int64_t qty = line->quantity, inv = line->quantity_invoiced, canc = line->quantity_cancelled;
  CHECK(inv >= 0 && canc >= 0 && inv + canc <= qty);
  int64_t price = line->unit_price->amount_minor;
  out->discount = line->line_discount != NULL ? line->line_discount->amount_minor : 0;
  int64_t net;
  if (!money_mul(price, qty, &out->gross) || !money_sub(out->gross, out->discount, &net) ||
      !money_tax(net, line->tax_rate_bp, &out->tax)) {
    return false;
  }
  int64_t canc_gross = price * canc, canc_discount, canc_tax; /* price*canc <= gross */
  int64_t inv_gross = price * inv, inv_discount, inv_tax;
  if (!order_line_share(out->discount, qty, inv, inv + canc, &canc_discount) ||
      !order_line_share(out->tax, qty, inv, inv + canc, &canc_tax) ||
      !order_line_share(out->discount, qty, 0, inv, &inv_discount) ||
      !order_line_share(out->tax, qty, 0, inv, &inv_tax)) {
    return false;
  }
  out->active_gross.value = out->gross - canc_gross;
  out->active_discount.value = out->discount - canc_discount;
  out->active_tax.value = out->tax - canc_tax;
  sum_add(&out->cancelled, canc_gross), sum_sub(&out->cancelled, canc_discount);
  sum_add(&out->cancelled, canc_tax);
  sum_add(&out->invoiced, inv_gross), sum_sub(&out->invoiced, inv_discount);
  sum_add(&out->invoiced, inv_tax);
  return !out->cancelled.overflow && !out->invoiced.overflow;
}

bool order_line_units_amounts(const Ccpay__V1__OrderLine *line, int64_t from, int64_t to,
                              int64_t *net, int64_t *tax) {
  CHECK(line != NULL && from >= 0 && from <= to && to <= line->quantity);
  line_amounts la;
  int64_t discount;
  if (!line_compute(line, &la) ||
      !order_line_share(la.discount, line->quantity, from, to, &discount) ||
      !order_line_share(la.tax, line->quantity, from, to, tax)) {
    return false;
  }
  *net = line->unit_price->amount_minor * (to - from) - discount; /* <= gross: no overflow */
  return true;
}

typedef struct order_sums {
  sum subtotal, discount, tax, charges, invoiced, cancelled;
} order_sums;

static ccpay_err lines_total(Ccpay__V1__Order *o, arena *a, order_sums *t, ccpay_error *error) {
  for (size_t i = 0; i < o->n_lines; i++) {
    Ccpay__V1__OrderLine *line = o->lines[i];
    line_amounts la;
    if (!line_compute(line, &la)) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "lines[%zu]: amounts larger than an amount can be", i);
    }
    line->net_amount = money_message(a, o->currency_code, la.gross - la.discount);
    line->tax_amount = money_message(a, o->currency_code, la.tax);
    int64_t line_total;
    bool fits = money_add(la.gross - la.discount, la.tax, &line_total);
    line->total_amount = money_message(a, o->currency_code, fits ? line_total : 0);
    if (line->net_amount == NULL || line->tax_amount == NULL || line->total_amount == NULL) {
      return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order: too large for one call");
    }
    if (!fits) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "lines[%zu]: total larger than an amount can be", i);
    }
    sum_add(&t->subtotal, la.active_gross.value);
    sum_add(&t->discount, la.active_discount.value);
    sum_add(&t->tax, la.active_tax.value);
    sum_add(&t->cancelled, la.cancelled.value);
    sum_add(&t->invoiced, la.invoiced.value);
  }
  return CCPAY_OK;
}

static ccpay_err charges_total(Ccpay__V1__Order *o, arena *a, order_sums *t, ccpay_error *error) {
  for (size_t i = 0; i < o->n_charges; i++) {
    Ccpay__V1__Charge *charge = o->charges[i];
    int64_t tax;
    if (!money_tax(charge->amount->amount_minor, charge->tax_rate_bp, &tax)) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "charges[%zu]: tax larger than an amount can be", i);
    }
    charge->tax_amount = money_message(a, o->currency_code, tax);
    if (charge->tax_amount == NULL) {
      return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order: too large for one call");
    }
    sum *where = charge->cancelled ? &t->cancelled : NULL;
    if (!charge->cancelled) {
      sum_add(&t->charges, charge->amount->amount_minor);
      sum_add(&t->tax, tax);
      if (charge->invoiced) where = &t->invoiced;
    }
    if (where != NULL) sum_add(where, charge->amount->amount_minor), sum_add(where, tax);
  }
  return CCPAY_OK;
}

ccpay_err order_compute_totals(Ccpay__V1__Order *o, arena *a, ccpay_error *error) {
  order_sums t;
  memset(&t, 0, sizeof t);
  ccpay_err rc = lines_total(o, a, &t, error);
  if (rc == CCPAY_OK) rc = charges_total(o, a, &t, error);
  if (rc != CCPAY_OK) return rc;
  sum total = t.subtotal;
  sum_sub(&total, t.discount.value);
  sum_add(&total, t.charges.value);
  sum_add(&total, t.tax.value);
  bool overflow = t.subtotal.overflow || t.discount.overflow || t.tax.overflow ||
                  t.charges.overflow || t.invoiced.overflow || t.cancelled.overflow ||
                  total.overflow;
  if (overflow) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "order: the total is larger than an amount can be");
  }
  Ccpay__V1__OrderTotals *totals = arena_alloc(a, sizeof *totals);
  if (totals == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order too large");
  ccpay__v1__order_totals__init(totals);
  const char *cur = o->currency_code;
  totals->subtotal = money_message(a, cur, t.subtotal.value);
  totals->discount_total = money_message(a, cur, t.discount.value);
  totals->tax_total = money_message(a, cur, t.tax.value);
  totals->charges_total = money_message(a, cur, t.charges.value);
  totals->total = money_message(a, cur, total.value);
  totals->invoiced_total = money_message(a, cur, t.invoiced.value);
  totals->cancelled_total = money_message(a, cur, t.cancelled.value);
  totals->total_excess_funds = money_message(a, cur, 0);
  bool complete = totals->subtotal && totals->discount_total && totals->tax_total &&
                  totals->charges_total && totals->total && totals->invoiced_total &&
                  totals->cancelled_total && totals->total_excess_funds;
  if (!complete) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order too large");
  /* Prices, discounts (at most the gross) and rates are never negative. */
  CHECK(t.invoiced.value >= 0 && t.cancelled.value >= 0 && total.value >= 0);
  o->totals = totals;
  return CCPAY_OK;
}

/* --- Building ------------------------------------------------------------------------- */

static char *copy(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

static Ccpay__V1__OrderLine *line_copy(const Ccpay__V1__OrderLine *in, int32_t number,
                                       const char *currency_code, arena *a) {
  Ccpay__V1__OrderLine *line = arena_alloc(a, sizeof *line);
  if (line == NULL) return NULL;
  ccpay__v1__order_line__init(line);
  line->line_number = number;
  line->sku = copy(a, in->sku);
  line->description = copy(a, in->description);
  line->quantity = in->quantity;
  line->unit_price = money_message(a, currency_code, in->unit_price->amount_minor);
  int64_t discount = in->line_discount != NULL ? in->line_discount->amount_minor : 0;
  line->line_discount = money_message(a, currency_code, discount);
  line->tax_rate_bp = in->tax_rate_bp;
  bool ok = line->sku && line->description && line->unit_price && line->line_discount;
  return ok ? line : NULL;
}

static Ccpay__V1__Charge *charge_copy(const Ccpay__V1__Charge *in, const char *currency_code,
                                      arena *a) {
  Ccpay__V1__Charge *charge = arena_alloc(a, sizeof *charge);
  if (charge == NULL) return NULL;
  ccpay__v1__charge__init(charge);
  charge->code = copy(a, in->code);
  charge->description = copy(a, in->description);
  charge->amount = money_message(a, currency_code, in->amount->amount_minor);
  charge->tax_rate_bp = in->tax_rate_bp;
  return charge->code && charge->description && charge->amount ? charge : NULL;
}

ccpay_err order_replace_lines(Ccpay__V1__Order *o, Ccpay__V1__OrderLine *const *lines,
                              size_t line_count, Ccpay__V1__Charge *const *charges,
                              size_t charge_count, arena *a, ccpay_error *error) {
  CHECK(line_count >= 1 && line_count <= ORDER_LINES_MAX && charge_count <= ORDER_CHARGES_MAX);
  o->lines = arena_alloc(a, line_count * sizeof *o->lines);
  o->charges = arena_alloc(a, (charge_count + 1) * sizeof *o->charges);
  if (o->lines == NULL || o->charges == NULL) goto exhausted;
  for (size_t i = 0; i < line_count; i++) {
    o->lines[i] = line_copy(lines[i], (int32_t)(i + 1), o->currency_code, a);
    if (o->lines[i] == NULL) goto exhausted;
  }
  for (size_t i = 0; i < charge_count; i++) {
    o->charges[i] = charge_copy(charges[i], o->currency_code, a);
    if (o->charges[i] == NULL) goto exhausted;
  }
  o->n_lines = line_count;
  o->n_charges = charge_count;
  return order_compute_totals(o, a, error);

exhausted:
  return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order: too large for one call");
}

Ccpay__V1__Order *order_build(const Ccpay__V1__Order *input, arena *a, ccpay_error *error) {
  Ccpay__V1__Order *o = arena_alloc(a, sizeof *o);
  if (o == NULL) {
    ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order: too large for one call");
    return NULL;
  }
  ccpay__v1__order__init(o);
  o->customer_id = copy(a, input->customer_id);
  o->currency_code = copy(a, input->currency_code);
  o->source_code = copy(a, input->source_code);
  o->type = input->type;
  o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN;
  if (o->customer_id == NULL || o->currency_code == NULL || o->source_code == NULL) {
    ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "order: too large for one call");
    return NULL;
  }
  ccpay_err rc = order_replace_lines(o, input->lines, input->n_lines, input->charges,
                                     input->n_charges, a, error);
  return rc == CCPAY_OK ? o : NULL;
}

ccpay_err order_check_hold_code(const char *field, const char *code, ccpay_error *error) {
  return validate_code(field, code, ORDER_HOLD_CODE_BYTES_MAX, error);
}

/* --- Status machine ------------------------------------------------------------------- */

const char *order_status_name(Ccpay__V1__OrderStatus status) {
  switch (status) {
    case CCPAY__V1__ORDER_STATUS__ORDER_STATUS_OPEN:
      return "OPEN";
    case CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED:
      return "SUBMITTED";
    case CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED:
      return "PARTIALLY_INVOICED";
    case CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED:
      return "INVOICED";
    case CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED:
      return "CANCELLED";
    default:
      return "UNSPECIFIED";
  }
}

enum { STATUS_COUNT = 6 };

/* Which statuses allow each action (indexed by status), and the rule to quote. */
static const struct {
  bool allowed[STATUS_COUNT];
  const char *rule;
} action_rules[] = {
    [ORDER_ACTION_UPDATE_LINES] = {{[1] = true}, "lines can change only while the order is OPEN"},
    [ORDER_ACTION_HOLD] = {{[1] = true, [2] = true, [3] = true},
                           "only an order not yet fully invoiced or cancelled can be held"},
    [ORDER_ACTION_RELEASE_HOLD] = {{[1] = true, [2] = true, [3] = true},
                                   "only an open, submitted or partly invoiced order has a hold"},
    [ORDER_ACTION_SUBMIT] = {{[1] = true}, "only an OPEN order can be submitted"},
    [ORDER_ACTION_INVOICE] = {{[2] = true, [3] = true},
                              "only a SUBMITTED or PARTIALLY_INVOICED order can be invoiced"},
    [ORDER_ACTION_CANCEL] = {{[1] = true, [2] = true},
                             "only an order with nothing invoiced can be cancelled; use "
                             "CancelLines for what is left to ship"},
    [ORDER_ACTION_CANCEL_LINES] = {{[1] = true, [2] = true, [3] = true},
                                   "lines can be cancelled only before they are all invoiced"},
};

ccpay_err order_check_action(const Ccpay__V1__Order *o, order_action action, ccpay_error *error) {
  CHECK(action >= 0 && (size_t)action < sizeof action_rules / sizeof action_rules[0]);
  CHECK((int)o->status > 0 && (int)o->status < STATUS_COUNT);
  const char *status = order_status_name(o->status);
  if (!action_rules[action].allowed[o->status]) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "order %s is %s: %s", o->id, status,
                           action_rules[action].rule);
  }
  bool held = o->hold != NULL;
  if (held && (action == ORDER_ACTION_SUBMIT || action == ORDER_ACTION_INVOICE ||
               action == ORDER_ACTION_HOLD)) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s is %s and on hold (%s): release the hold first", o->id, status,
                           o->hold->code);
  }
  if (!held && action == ORDER_ACTION_RELEASE_HOLD) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "order %s is %s and not on hold", o->id,
                           status);
  }
  if (held && action == ORDER_ACTION_RELEASE_HOLD &&
      strcmp(o->hold->code, BALANCE_HOLD_CODE) == 0) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s is in the out-of-balance queue: the payments department "
                           "releases it (BalanceReviewService.ReleaseOrder)",
                           o->id);
  }
  return CCPAY_OK;
}

/* --- Invoicing and cancelling --------------------------------------------------------- */

static int64_t line_remaining(const Ccpay__V1__OrderLine *line) {
  int64_t left = line->quantity - line->quantity_invoiced - line->quantity_cancelled;
  CHECK(left >= 0);
  return left;
}

/* After invoicing or cancelling: INVOICED or CANCELLED once nothing is left to ship. */
static void settle_status(Ccpay__V1__Order *o) {
  bool anything_left = false, anything_invoiced = false;
  for (size_t i = 0; i < o->n_lines; i++) {
    anything_left |= line_remaining(o->lines[i]) > 0;
    anything_invoiced |= o->lines[i]->quantity_invoiced > 0;
  }
  if (anything_left) {
    if (anything_invoiced) o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED;
    return;
  }
  o->status = anything_invoiced ? CCPAY__V1__ORDER_STATUS__ORDER_STATUS_INVOICED
                                : CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED;
  o->hold = NULL; /* a finished order leaves the hold screen */
  for (size_t i = 0; i < o->n_charges; i++) {
    /* Charges go out with the first invoice; with no invoice they are cancelled. */
    if (!o->charges[i]->invoiced) o->charges[i]->cancelled = true;
  }
}

static ccpay_err find_line(const Ccpay__V1__Order *o, int32_t number, const char *field,
                           Ccpay__V1__OrderLine **out, ccpay_error *error) {
  if (number < 1 || (size_t)number > o->n_lines) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s: order %s has no line %d (it has lines 1 to %zu)", field, o->id,
                           number, o->n_lines);
  }
  *out = o->lines[number - 1];
  CHECK((*out)->line_number == number);
  return CCPAY_OK;
}

/* Checks one shipped line against the order: a known line, 1..what is left. */
static ccpay_err check_ship_line(const Ccpay__V1__Order *o, const Ccpay__V1__ShipLine *ship,
                                 size_t index, ccpay_error *error) {
  char field[48];
  snprintf(field, sizeof field, "lines[%zu].line_number", index);
  Ccpay__V1__OrderLine *line;
  ccpay_err rc = find_line(o, ship->line_number, field, &line, error);
  if (rc != CCPAY_OK) return rc;
  int64_t left = line_remaining(line);
  if (ship->quantity < 1 || ship->quantity > left) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "lines[%zu].quantity: line %d has %lld left to invoice", index,
                           ship->line_number, (long long)left);
  }
  return CCPAY_OK;
}

/* Invoices one checked line: moves its quantity and builds the invoice line. */
static ccpay_err invoice_line(Ccpay__V1__Order *o, const Ccpay__V1__ShipLine *ship, arena *a,
                              Ccpay__V1__InvoiceLine **out, ccpay_error *error) {
  Ccpay__V1__OrderLine *line = o->lines[ship->line_number - 1];
  CHECK(ship->quantity >= 1 && ship->quantity <= line_remaining(line));
  line_amounts la;
  CHECK(line_compute(line, &la)); /* the order's totals were computed before */
  int64_t from = line->quantity_invoiced, to = from + ship->quantity, discount, tax;
  if (!order_line_share(la.discount, line->quantity, from, to, &discount) ||
      !order_line_share(la.tax, line->quantity, from, to, &tax)) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "line %d: share overflow", line->line_number);
  }
  Ccpay__V1__InvoiceLine *il = arena_alloc(a, sizeof *il);
  if (il == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice too large");
  ccpay__v1__invoice_line__init(il);
  il->line_number = line->line_number;
  il->sku = line->sku;
  il->quantity = ship->quantity;
  il->net_amount = money_message(a, o->currency_code,
                                 line->unit_price->amount_minor * ship->quantity - discount);
  il->tax_amount = money_message(a, o->currency_code, tax);
  if (il->net_amount == NULL || il->tax_amount == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice too large");
  }
  line->quantity_invoiced = to;
  *out = il;
  return CCPAY_OK;
}

static ccpay_err check_ship_list(const Ccpay__V1__Order *o, Ccpay__V1__ShipLine *const *ship,
                                 size_t count, ccpay_error *error) {
  if (count == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "lines: name the lines that shipped");
  }
  if (count > o->n_lines) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "lines: order %s has %zu lines",
                           o->id, o->n_lines);
  }
  /* Everything is checked before anything changes: a refused invoice leaves the order. */
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < i; j++) {
      if (ship[i]->line_number == ship[j]->line_number) {
        return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                               "lines[%zu].line_number: line %d is named twice", i,
                               ship[i]->line_number);
      }
    }
    ccpay_err rc = check_ship_line(o, ship[i], i, error);
    if (rc != CCPAY_OK) return rc;
  }
  return CCPAY_OK;
}

/* Adds the charges not yet invoiced to the invoice, and their amounts to the sums. */
static ccpay_err invoice_charges(Ccpay__V1__Order *o, Ccpay__V1__Invoice *inv, arena *a,
                                 sum *charges, sum *tax, ccpay_error *error) {
  inv->charges = arena_alloc(a, (o->n_charges + 1) * sizeof *inv->charges);
  if (inv->charges == NULL)
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice too large");
  for (size_t i = 0; i < o->n_charges; i++) {
    Ccpay__V1__Charge *c = o->charges[i];
    if (c->invoiced || c->cancelled) continue;
    c->invoiced = true;
    inv->charges[inv->n_charges++] = c;
    sum_add(charges, c->amount->amount_minor);
    sum_add(tax, c->tax_amount->amount_minor);
  }
  return CCPAY_OK;
}

ccpay_err order_invoice(Ccpay__V1__Order *o, Ccpay__V1__ShipLine *const *ship, size_t ship_count,
                        arena *a, Ccpay__V1__Invoice **out, ccpay_error *error) {
  ccpay_err rc = check_ship_list(o, ship, ship_count, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Invoice *inv = arena_alloc(a, sizeof *inv);
  if (inv == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice too large");
  ccpay__v1__invoice__init(inv);
  inv->order_id = o->id;
  inv->customer_id = o->customer_id;
  inv->currency_code = o->currency_code;
  inv->lines = arena_alloc(a, ship_count * sizeof *inv->lines);
  if (inv->lines == NULL)
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice too large");
  sum net = {0}, tax = {0}, charges = {0};
  for (size_t i = 0; i < ship_count && rc == CCPAY_OK; i++) {
    rc = invoice_line(o, ship[i], a, &inv->lines[i], error);
    if (rc != CCPAY_OK) break;
    inv->n_lines++;
    sum_add(&net, inv->lines[i]->net_amount->amount_minor);
    sum_add(&tax, inv->lines[i]->tax_amount->amount_minor);
  }
  if (rc == CCPAY_OK) rc = invoice_charges(o, inv, a, &charges, &tax, error);
  if (rc != CCPAY_OK) return rc;
  sum total = net;
  sum_add(&total, charges.value), sum_add(&total, tax.value);
  CHECK(!net.overflow && !tax.overflow && !charges.overflow && !total.overflow);
  inv->subtotal = money_message(a, o->currency_code, net.value);
  inv->tax_total = money_message(a, o->currency_code, tax.value);
  inv->charges_total = money_message(a, o->currency_code, charges.value);
  inv->total = money_message(a, o->currency_code, total.value);
  if (!inv->subtotal || !inv->tax_total || !inv->charges_total || !inv->total) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice too large");
  }
  if (o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_SUBMITTED) {
    o->status = CCPAY__V1__ORDER_STATUS__ORDER_STATUS_PARTIALLY_INVOICED;
  }
  settle_status(o);
  *out = inv;
  return order_compute_totals(o, a, error);
}

ccpay_err order_cancel_lines(Ccpay__V1__Order *o, const int32_t *numbers, size_t count, arena *a,
                             ccpay_error *error) {
  if (count == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "line_numbers: name the lines to cancel");
  }
  for (size_t i = 0; i < count; i++) {
    char field[40];
    snprintf(field, sizeof field, "line_numbers[%zu]", i);
    Ccpay__V1__OrderLine *line;
    ccpay_err rc = find_line(o, numbers[i], field, &line, error);
    if (rc != CCPAY_OK) return rc;
    for (size_t j = 0; j < i; j++) {
      if (numbers[j] == numbers[i]) {
        return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s: line %d is named twice", field,
                               numbers[i]);
      }
    }
    if (line_remaining(line) == 0) {
      return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                             "%s: line %d has nothing left to cancel", field, numbers[i]);
    }
  }
  for (size_t i = 0; i < count; i++) {
    Ccpay__V1__OrderLine *line = o->lines[numbers[i] - 1];
    line->quantity_cancelled += line_remaining(line);
  }
  settle_status(o);
  return order_compute_totals(o, a, error);
}

ccpay_err order_cancel(Ccpay__V1__Order *o, arena *a, ccpay_error *error) {
  for (size_t i = 0; i < o->n_lines; i++) {
    CHECK(o->lines[i]->quantity_invoiced == 0); /* order_check_action allowed it */
    o->lines[i]->quantity_cancelled = o->lines[i]->quantity;
  }
  settle_status(o);
  CHECK(o->status == CCPAY__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED);
  return order_compute_totals(o, a, error);
}
