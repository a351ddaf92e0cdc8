#include "return_order.h"

#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "money.h"
#include "order.h"
#include "refund.h"
#include "validate.h"

#define RSTATUS(x) CCPAY__V1__RETURN_STATUS__RETURN_STATUS_##x
#define LINE_STATUS(x) CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_##x

static bool has_original(const Ccpay__V1__ReturnOrder *r) {
  return r->original_order_id != NULL && r->original_order_id[0] != '\0';
}

/* A line with no original order, seen as an order line, so that the order rules check it
 * and compute its amounts. */
static void as_order_line(const Ccpay__V1__ReturnLine *in, Ccpay__V1__OrderLine *out) {
  ccpay__v1__order_line__init(out);
  out->sku = in->sku;
  out->description = in->description;
  out->quantity = in->quantity;
  out->unit_price = in->unit_price;
  out->tax_rate_bp = in->tax_rate_bp;
}

static ccpay_err validate_standalone_lines(const Ccpay__V1__ReturnOrder *in, ccpay_error *error) {
  Ccpay__V1__OrderLine lines[RETURN_LINES_MAX];
  Ccpay__V1__OrderLine *pointers[RETURN_LINES_MAX];
  for (size_t i = 0; i < in->n_lines; i++) {
    as_order_line(in->lines[i], &lines[i]);
    pointers[i] = &lines[i];
  }
  const char *currency = in->lines[0]->unit_price != NULL ? in->lines[0]->unit_price->currency_code
                                                          : in->currency_code;
  return order_validate_lines(pointers, in->n_lines, NULL, 0, currency, "return_order.", error);
}

ccpay_err return_order_validate_new(const Ccpay__V1__ReturnOrder *in, ccpay_error *error) {
  if (in == NULL) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "return_order: required");
  if (in->customer_id[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "return_order.customer_id: required");
  }
  if (in->n_lines == 0 || in->n_lines > RETURN_LINES_MAX) {
    return ccpay_error_set(
        error, in->n_lines == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_OUT_OF_RANGE,
        "return_order.lines: 1 to %d lines", RETURN_LINES_MAX);
  }
  char name[96];
  for (size_t i = 0; i < in->n_lines; i++) {
    const Ccpay__V1__ReturnLine *l = in->lines[i];
    snprintf(name, sizeof name, "return_order.lines[%zu].reason_code", i);
    ccpay_err rc = validate_code(name, l->reason_code, RETURN_REASON_CODE_BYTES_MAX, error);
    if (rc != CCPAY_OK) return rc;
    if (l->quantity < 1 || l->quantity > ORDER_LINE_QUANTITY_MAX) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "return_order.lines[%zu].quantity: must be 1 to %d whole units", i,
                             ORDER_LINE_QUANTITY_MAX);
    }
    if (has_original(in) &&
        (l->original_line_number < 1 || l->original_line_number > ORDER_LINES_MAX)) {
      return ccpay_error_set(
          error,
          l->original_line_number == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_OUT_OF_RANGE,
          "return_order.lines[%zu].original_line_number: a line of order %s", i,
          in->original_order_id);
    }
    if (!has_original(in) && l->original_line_number != 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "return_order.lines[%zu].original_line_number: only with "
                             "return_order.original_order_id",
                             i);
    }
  }
  return has_original(in) ? CCPAY_OK : validate_standalone_lines(in, error);
}

/* --- Building ------------------------------------------------------------------------- */

static ccpay_err exhausted(ccpay_error *error) {
  return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "return too large");
}

/* Takes line l's quantity back from the original order's line: the next units not yet
 * returned, with what they carried. */
static ccpay_err take_from_original(Ccpay__V1__ReturnLine *l, size_t index,
                                    Ccpay__V1__Order *original, int64_t *net, int64_t *tax,
                                    ccpay_error *error) {
  if ((size_t)l->original_line_number > original->n_lines) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "return_order.lines[%zu].original_line_number: order %s has no line %d",
                           index, original->id, l->original_line_number);
  }
  Ccpay__V1__OrderLine *ol = original->lines[l->original_line_number - 1];
  int64_t left = ol->quantity_invoiced - ol->quantity_returned;
  if (l->quantity > left) {
    return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                           "return_order.lines[%zu].quantity: %lld is more than the %lld of line "
                           "%d invoiced and not yet returned",
                           index, (long long)l->quantity, (long long)left, ol->line_number);
  }
  int64_t from = ol->quantity_returned;
  if (!order_line_units_amounts(ol, from, from + l->quantity, net, tax)) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "line %d: amount overflow", ol->line_number);
  }
  ol->quantity_returned = from + l->quantity;
  l->sku = ol->sku;
  l->description = ol->description;
  l->unit_price = ol->unit_price;
  l->tax_rate_bp = ol->tax_rate_bp;
  return CCPAY_OK;
}

static ccpay_err check_original(const Ccpay__V1__Order *o, const char *customer_id,
                                const char *currency, ccpay_error *error) {
  if (strcmp(o->customer_id, customer_id) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "return_order.original_order_id: order %s is not customer %s's", o->id,
                           customer_id);
  }
  CHECK(strcmp(o->currency_code, currency) == 0); /* an order has its customer's currency */
  if (o->n_invoice_ids == 0) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "order %s is %s: nothing of it was invoiced, so nothing can be "
                           "returned (cancel lines instead)",
                           o->id, order_status_name(o->status));
  }
  return CCPAY_OK;
}

ccpay_err return_order_build(const Ccpay__V1__ReturnOrder *in, const char *currency,
                             Ccpay__V1__Order *original, arena *a, Ccpay__V1__ReturnOrder **out,
                             ccpay_error *error) {
  CHECK(in != NULL && currency != NULL && out != NULL);
  CHECK(has_original(in) == (original != NULL));
  if (original != NULL) {
    ccpay_err rc = check_original(original, in->customer_id, currency, error);
    if (rc != CCPAY_OK) return rc;
  }
  Ccpay__V1__ReturnOrder *r = arena_alloc(a, sizeof *r);
  Ccpay__V1__ReturnLine **lines = arena_alloc(a, in->n_lines * sizeof *lines);
  Ccpay__V1__ReturnTotals *totals = arena_alloc(a, sizeof *totals);
  if (r == NULL || lines == NULL || totals == NULL) return exhausted(error);
  ccpay__v1__return_order__init(r);
  ccpay__v1__return_totals__init(totals);
  r->customer_id = in->customer_id;
  r->currency_code = (char *)currency;
  r->original_order_id = original != NULL ? original->id : "";
  r->status = RSTATUS(OPEN);
  int64_t net_total = 0, tax_total = 0, total = 0;
  for (size_t i = 0; i < in->n_lines; i++) {
    Ccpay__V1__ReturnLine *l = arena_alloc(a, sizeof *l);
    if (l == NULL) return exhausted(error);
    *l = *in->lines[i];
    l->line_number = (int32_t)i + 1;
    int64_t net = 0, tax = 0;
    if (original != NULL) {
      ccpay_err rc = take_from_original(l, i, original, &net, &tax, error);
      if (rc != CCPAY_OK) return rc;
    } else if (strcmp(l->unit_price->currency_code, currency) != 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "return_order.lines[%zu].unit_price.currency_code: must be the "
                             "customer's currency %s",
                             i, currency);
    } else {
      Ccpay__V1__OrderLine as_line;
      as_order_line(l, &as_line);
      CHECK(order_line_units_amounts(&as_line, 0, l->quantity, &net, &tax)); /* validated */
    }
    int64_t line_total = 0;
    if (!money_add(net, tax, &line_total) || !money_add(net_total, net, &net_total) ||
        !money_add(tax_total, tax, &tax_total) || !money_add(net_total, tax_total, &total)) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "return_order.lines: the total is larger than an amount can be");
    }
    l->net_amount = money_message(a, currency, net);
    l->tax_amount = money_message(a, currency, tax);
    l->total_amount = money_message(a, currency, line_total);
    if (l->net_amount == NULL || l->tax_amount == NULL || l->total_amount == NULL) {
      return exhausted(error);
    }
    lines[i] = l;
  }
  totals->net_total = money_message(a, currency, net_total);
  totals->tax_total = money_message(a, currency, tax_total);
  totals->total = money_message(a, currency, total);
  totals->issued_total = money_message(a, currency, 0);
  if (totals->net_total == NULL || totals->tax_total == NULL || totals->total == NULL ||
      totals->issued_total == NULL) {
    return exhausted(error);
  }
  r->lines = lines;
  r->n_lines = in->n_lines;
  r->totals = totals;
  *out = r;
  return CCPAY_OK;
}

void return_order_release(const Ccpay__V1__ReturnOrder *r, Ccpay__V1__Order *o) {
  CHECK(strcmp(r->original_order_id, o->id) == 0);
  for (size_t i = 0; i < r->n_lines; i++) {
    const Ccpay__V1__ReturnLine *l = r->lines[i];
    CHECK(l->original_line_number >= 1 && (size_t)l->original_line_number <= o->n_lines);
    Ccpay__V1__OrderLine *ol = o->lines[l->original_line_number - 1];
    CHECK(ol->quantity_returned >= l->quantity);
    ol->quantity_returned -= l->quantity;
  }
}

/* --- Status machine ------------------------------------------------------------------- */

const char *return_status_name(Ccpay__V1__ReturnStatus status) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&ccpay__v1__return_status__descriptor, (int)status);
  return v != NULL ? v->name + strlen("RETURN_STATUS_") : "UNSPECIFIED";
}

static bool has_line_in(const Ccpay__V1__ReturnOrder *r, Ccpay__V1__RefundLineStatus a,
                        Ccpay__V1__RefundLineStatus b) {
  for (size_t i = 0; i < r->n_refund_lines; i++) {
    if (r->refund_lines[i]->status == a || r->refund_lines[i]->status == b) return true;
  }
  return false;
}

ccpay_err return_order_check_action(const Ccpay__V1__ReturnOrder *r, return_action action,
                                    ccpay_error *error) {
  Ccpay__V1__ReturnStatus s = r->status;
  const char *why = NULL;
  switch (action) {
    case RETURN_ACTION_COMPLETE:
      if (s != RSTATUS(OPEN)) why = "refunds are computed once, while it is OPEN";
      break;
    case RETURN_ACTION_SUBMIT:
      if (s != RSTATUS(COMPLETED)) why = "it is submitted once CompleteReturn has run";
      break;
    case RETURN_ACTION_INVOICE:
      if (s == RSTATUS(INVOICED) && !has_line_in(r, LINE_STATUS(FAILED), LINE_STATUS(PENDING))) {
        why = "it is invoiced and every refund is issued or in progress";
      } else if (s != RSTATUS(SUBMITTED) && s != RSTATUS(INVOICED)) {
        why = "goods are received on a SUBMITTED return";
      }
      break;
    case RETURN_ACTION_CANCEL:
      if (s != RSTATUS(OPEN) && s != RSTATUS(COMPLETED) &&
          !(s == RSTATUS(SUBMITTED) && !r->advance_credit)) {
        why = "only a return whose refunds were not issued can be cancelled";
      }
      break;
    case RETURN_ACTION_OVERRIDE:
      if ((s != RSTATUS(COMPLETED) && s != RSTATUS(SUBMITTED) && s != RSTATUS(INVOICED)) ||
          !has_line_in(r, LINE_STATUS(PENDING), LINE_STATUS(FAILED))) {
        why = "refund lines are overridden after CompleteReturn, while not yet issued";
      }
      break;
    case RETURN_ACTION_REPLACE:
      if (s == RSTATUS(CANCELLED)) {
        why = "it is cancelled";
      } else if (r->replacement_order_id[0] != '\0') {
        why = "it has a replacement order already";
      }
      break;
  }
  if (why == NULL) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "return %s is %s: %s", r->id,
                         return_status_name(s), why);
}

bool return_order_sum_issued(Ccpay__V1__ReturnOrder *r, arena *a) {
  int64_t issued = refund_lines_total(r->refund_lines, r->n_refund_lines, LINE_STATUS(ISSUED));
  r->totals->issued_total = money_message(a, r->currency_code, issued);
  return r->totals->issued_total != NULL;
}
