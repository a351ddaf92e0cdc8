#include "payment.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "currency.h"
#include "money.h"
#include "validate.h"

typedef Ccpay__V1__Payment payment;
typedef Ccpay__V1__Transaction transaction;

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define STATUS(x) CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_##x
#define KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x
#define STATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x

/* The name of an enum value without its prefix, from protobuf-c's descriptor. */
static const char *enum_short_name(const ProtobufCEnumDescriptor *d, int value,
                                   const char *prefix) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
  if (v == NULL) return "UNSPECIFIED";
  size_t n = strlen(prefix);
  return strncmp(v->name, prefix, n) == 0 ? v->name + n : v->name;
}

const char *payment_tender_name(Ccpay__V1__TenderType t) {
  return enum_short_name(&ccpay__v1__tender_type__descriptor, (int)t, "TENDER_TYPE_");
}
const char *payment_status_name(Ccpay__V1__PaymentStatus s) {
  return enum_short_name(&ccpay__v1__payment_status__descriptor, (int)s, "PAYMENT_STATUS_");
}
const char *transaction_kind_name(Ccpay__V1__TransactionKind k) {
  return enum_short_name(&ccpay__v1__transaction_kind__descriptor, (int)k, "TRANSACTION_KIND_");
}
const char *transaction_state_name(Ccpay__V1__TransactionState s) {
  return enum_short_name(&ccpay__v1__transaction_state__descriptor, (int)s, "TRANSACTION_STATE_");
}

static bool is_digits(const char *s, size_t n) {
  if (strlen(s) != n) return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

/* A token is printable ASCII without spaces; a run of digits that passes Luhn is a card
 * number, which ccpay must never receive. */
static ccpay_err validate_token(const char *token, ccpay_error *error) {
  size_t n = strlen(token);
  if (n == 0)
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "payment.card.token: required");
  if (n > PAYMENT_TOKEN_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "payment.card.token: longer than %d bytes", PAYMENT_TOKEN_BYTES_MAX);
  }
  if (validate_has_card_number(token)) {
    return ccpay_error_set(error, CCPAY_ERR_CARD_DATA_IN_TEXT,
                           "payment.card.token: holds a card number; send the processor's token");
  }
  for (size_t i = 0; i < n; i++) {
    if (token[i] <= ' ' || token[i] > '~') {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "payment.card.token: printable ASCII without spaces only");
    }
  }
  return CCPAY_OK;
}

/* The UTC calendar year and month (1..12) of ms since the epoch (days-from-civil,
 * inverted; proleptic Gregorian). */
static void civil_year_month(int64_t ms, int64_t *year, int64_t *month) {
  int64_t days = ms / (24LL * 3600 * 1000);
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = yoe + era * 400 + (*month <= 2);
}

static ccpay_err validate_card(const Ccpay__V1__CardDetails *c, int64_t now_ms,
                               ccpay_error *error) {
  if (c == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "payment.card: required for CARD");
  }
  ccpay_err rc = validate_text("payment.card.processor", c->processor, PAYMENT_PROCESSOR_BYTES_MAX,
                               true, error);
  if (rc == CCPAY_OK) rc = validate_token(c->token, error);
  if (rc == CCPAY_OK) {
    rc = validate_text("payment.card.brand", c->brand, PAYMENT_BRAND_BYTES_MAX, false, error);
  }
  if (rc == CCPAY_OK) {
    rc = validate_text("payment.card.holder_name", c->holder_name, PAYMENT_HOLDER_NAME_BYTES_MAX,
                       false, error);
  }
  if (rc == CCPAY_OK) {
    rc = validate_text("payment.card.postal_code", c->postal_code, PAYMENT_POSTAL_CODE_BYTES_MAX,
                       false, error);
  }
  if (rc != CCPAY_OK) return rc;
  if (!is_digits(c->last4, 4)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "payment.card.last4: four digits");
  }
  if (c->exp_month < 1 || c->exp_month > 12) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "payment.card.exp_month: 1 to 12");
  }
  if (c->exp_year < 2000 || c->exp_year > 2100) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "payment.card.exp_year: a four-digit year");
  }
  /* A card is good through the last day of its expiry month. */
  int64_t year = 0, month = 0;
  civil_year_month(now_ms, &year, &month);
  if ((int64_t)c->exp_year * 12 + c->exp_month < year * 12 + month) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "payment.card: expired %02d/%d",
                           c->exp_month, c->exp_year);
  }
  return CCPAY_OK;
}

ccpay_err payment_check_stored_value_number(const char *field, const char *number,
                                            ccpay_error *error) {
  size_t len = strlen(number);
  if (len == 0) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field);
  if (validate_has_card_number(number)) {
    return ccpay_error_set(error, CCPAY_ERR_CARD_DATA_IN_TEXT,
                           "%s: holds a payment card number; use the gift or loyalty card's own "
                           "number",
                           field);
  }
  bool shaped = len >= STORED_VALUE_NUMBER_BYTES_MIN && len <= STORED_VALUE_NUMBER_BYTES_MAX &&
                strspn(number, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == len;
  if (!shaped) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s: %d to %d of A-Z, 0-9 and \"-\"",
                           field, STORED_VALUE_NUMBER_BYTES_MIN, STORED_VALUE_NUMBER_BYTES_MAX);
  }
  return CCPAY_OK;
}

/* Card details belong to CARD payments only. */
static ccpay_err no_card(const payment *p, ccpay_error *error) {
  if (p->card == NULL) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "payment.card: only for CARD");
}

ccpay_err payment_validate_new(const payment *p, const char *order_currency, int64_t now_ms,
                               ccpay_error *error) {
  if (p == NULL) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "payment: required");
  if (p->amount == NULL || p->amount->amount_minor == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "payment.amount: required");
  }
  if (p->amount->amount_minor < 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "payment.amount: must be positive");
  }
  if (strcmp(p->amount->currency_code, order_currency) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "payment.amount.currency_code: must be the order's currency %s",
                           order_currency);
  }
  /* Whatever the tender, these texts are stored as given: never a card number in them. */
  ccpay_err text_rc =
      validate_text("payment.reference", p->reference, PAYMENT_REFERENCE_BYTES_MAX, false, error);
  if (text_rc == CCPAY_OK) {
    text_rc = validate_text("payment.check_number", p->check_number, PAYMENT_CHECK_NUMBER_BYTES_MAX,
                            false, error);
  }
  if (text_rc != CCPAY_OK) return text_rc;
  switch (p->tender_type) {
    case TENDER(CARD):
      return validate_card(p->card, now_ms, error);
    case TENDER(CHECK): {
      ccpay_err rc = validate_text("payment.check_number", p->check_number,
                                   PAYMENT_CHECK_NUMBER_BYTES_MAX, true, error);
      return rc == CCPAY_OK ? no_card(p, error) : rc;
    }
    case TENDER(CASH):
    case TENDER(CUSTOMER_ACCOUNT):
      return no_card(p, error);
    case TENDER(GIFT_CARD_EXTERNAL):
    case TENDER(ACH): {
      /* The external processor's reference (an authorization code, an ACH trace), never
       * a card or account number: free text, guarded against card numbers. */
      ccpay_err rc = validate_text("payment.reference", p->reference, PAYMENT_REFERENCE_BYTES_MAX,
                                   true, error);
      return rc == CCPAY_OK ? no_card(p, error) : rc;
    }
    case TENDER(GIFT_CARD_INTERNAL):
    case TENDER(LOYALTY_CARD): {
      ccpay_err rc = payment_check_stored_value_number("payment.reference", p->reference, error);
      return rc == CCPAY_OK ? no_card(p, error) : rc;
    }
    default:
      return ccpay_error_set(
          error, p->tender_type == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_INVALID,
          "payment.tender_type: one of CARD, CHECK, CASH, CUSTOMER_ACCOUNT, "
          "GIFT_CARD_INTERNAL, GIFT_CARD_EXTERNAL, LOYALTY_CARD, ACH");
  }
}

static int64_t amount_of(const Ccpay__V1__Money *m) { return m != NULL ? m->amount_minor : 0; }

static void add_to(Ccpay__V1__Money *m, int64_t delta) {
  CHECK(m != NULL);
  int64_t out;
  CHECK(money_add(m->amount_minor, delta, &out));
  m->amount_minor = out;
}

/* The invariants of the header, asserted after every change. */
static void payment_check_invariants(const payment *p) {
  int64_t authorized = amount_of(p->authorized), captured = amount_of(p->captured);
  CHECK(authorized >= 0 && captured >= 0 && amount_of(p->released) >= 0);
  CHECK(amount_of(p->pending_capture) >= 0 && amount_of(p->pending_refund) >= 0);
  CHECK(captured + amount_of(p->released) + amount_of(p->pending_capture) <= authorized);
  CHECK(amount_of(p->refunded_elsewhere) >= 0);
  if (p->refund_only) {
    CHECK(authorized == 0 && captured == 0 && amount_of(p->refunded_elsewhere) == 0);
    CHECK(amount_of(p->refunded) + amount_of(p->pending_refund) <= amount_of(p->amount));
  } else {
    CHECK(amount_of(p->refunded) + amount_of(p->pending_refund) +
              amount_of(p->refunded_elsewhere) <=
          captured);
  }
}

bool payment_init_amounts(payment *p, arena *a) {
  const char *cur = p->amount->currency_code;
  Ccpay__V1__Money **fields[] = {&p->authorized,        &p->captured,        &p->refunded,
                                 &p->released,          &p->pending_capture, &p->pending_refund,
                                 &p->refunded_elsewhere};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    *fields[i] = money_message(a, cur, 0);
    if (*fields[i] == NULL) return false;
  }
  p->status = p->tender_type == TENDER(CARD) ? STATUS(NEW) : STATUS(RECEIVED);
  return true;
}

int64_t payment_capturable(const payment *p) {
  return amount_of(p->authorized) - amount_of(p->captured) - amount_of(p->released) -
         amount_of(p->pending_capture);
}

int64_t payment_refundable(const payment *p) {
  int64_t limit = p->refund_only ? amount_of(p->amount) : amount_of(p->captured);
  return limit - amount_of(p->refunded) - amount_of(p->pending_refund) -
         amount_of(p->refunded_elsewhere);
}

void payment_refund_elsewhere(payment *p, int64_t amount) {
  CHECK(!p->refund_only);
  CHECK(amount <= payment_refundable(p));
  CHECK(amount_of(p->refunded_elsewhere) + amount >= 0);
  add_to(p->refunded_elsewhere, amount);
  payment_check_invariants(p);
}

ccpay_err payment_check_start(const payment *p, Ccpay__V1__TransactionKind kind, int64_t amount,
                              ccpay_error *error) {
  if (p->tender_type != TENDER(CARD)) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "payment %s: %s payments have no processor operations", p->id,
                           payment_tender_name(p->tender_type));
  }
  if (p->open_transaction_id[0] != '\0') {
    return ccpay_error_set(error, CCPAY_ERR_PAYMENT_IN_PROGRESS,
                           "payment %s: transaction %s is still in flight; retry when it ends",
                           p->id, p->open_transaction_id);
  }
  if (p->n_transaction_ids >= TRANSACTIONS_PER_PAYMENT_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "payment %s: at most %d transactions",
                           p->id, TRANSACTIONS_PER_PAYMENT_MAX);
  }
  const char *status = payment_status_name(p->status);
  if (p->refund_only && kind != KIND(REFUND)) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                           "payment %s only receives a refund: it was never charged", p->id);
  }
  switch (kind) {
    case KIND(AUTHORIZE):
    case KIND(SALE):
      if (p->status != STATUS(NEW)) {
        return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                               "payment %s is %s: only a NEW card payment is authorized", p->id,
                               status);
      }
      return CCPAY_OK;
    case KIND(CAPTURE):
    case KIND(VOID):
      if (p->status != STATUS(AUTHORIZED) && p->status != STATUS(CAPTURED)) {
        return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE,
                               "payment %s is %s: nothing authorized to %s", p->id, status,
                               kind == KIND(VOID) ? "void" : "capture");
      }
      if (payment_capturable(p) <= 0) {
        return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                               "payment %s: nothing left of the authorization", p->id);
      }
      if (kind == KIND(CAPTURE) && amount > payment_capturable(p)) {
        return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                               "amount: %lld is more than the %lld left to capture on %s",
                               (long long)amount, (long long)payment_capturable(p), p->id);
      }
      return CCPAY_OK;
    case KIND(REFUND):
      if (payment_refundable(p) <= 0) {
        return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                               "payment %s is %s: nothing captured left to refund", p->id, status);
      }
      if (amount > payment_refundable(p)) {
        return ccpay_error_set(error, CCPAY_ERR_AMOUNT_EXCEEDED,
                               "amount: %lld is more than the %lld left to refund on %s",
                               (long long)amount, (long long)payment_refundable(p), p->id);
      }
      return CCPAY_OK;
    default:
      CHECK(false && "unknown transaction kind");
      return CCPAY_ERR_INTERNAL;
  }
}

void payment_start(payment *p, const transaction *t) {
  CHECK(p->open_transaction_id[0] == '\0');
  int64_t amount = amount_of(t->amount);
  if (t->kind == KIND(CAPTURE)) add_to(p->pending_capture, amount);
  if (t->kind == KIND(REFUND)) add_to(p->pending_refund, amount);
  p->open_transaction_id = t->id;
  payment_check_invariants(p);
}

static void finish_success(payment *p, const transaction *t) {
  int64_t amount = amount_of(t->amount);
  switch (t->kind) {
    case KIND(AUTHORIZE):
    case KIND(SALE):
      add_to(p->authorized, amount);
      if (t->kind == KIND(SALE)) add_to(p->captured, amount);
      p->processor_reference = t->processor_reference;
      p->avs_result = t->avs_result;
      p->cvv_result = t->cvv_result;
      p->risk_score = t->risk_score;
      p->status = t->kind == KIND(SALE) ? STATUS(CAPTURED) : STATUS(AUTHORIZED);
      break;
    case KIND(CAPTURE):
      add_to(p->captured, amount);
      if (t->final_capture) add_to(p->released, payment_capturable(p));
      p->status = STATUS(CAPTURED);
      break;
    case KIND(VOID):
      add_to(p->released, payment_capturable(p));
      if (amount_of(p->captured) == 0) p->status = STATUS(VOIDED);
      break;
    case KIND(REFUND):
      add_to(p->refunded, amount);
      if (p->refund_only
              ? payment_refundable(p) == 0
              : amount_of(p->refunded) == amount_of(p->captured) && payment_capturable(p) == 0) {
        p->status = STATUS(REFUNDED);
      }
      break;
    default:
      CHECK(false && "unknown transaction kind");
  }
}

void payment_finish(payment *p, const transaction *t) {
  CHECK(t->state == STATE(SUCCEEDED) || t->state == STATE(DECLINED) || t->state == STATE(FAILED));
  CHECK(strcmp(p->open_transaction_id, t->id) == 0);
  int64_t amount = amount_of(t->amount);
  if (t->kind == KIND(CAPTURE)) add_to(p->pending_capture, -amount);
  if (t->kind == KIND(REFUND)) add_to(p->pending_refund, -amount);
  p->open_transaction_id = "";
  if (t->state == STATE(SUCCEEDED)) {
    finish_success(p, t);
  } else if ((t->kind == KIND(AUTHORIZE) || t->kind == KIND(SALE)) && !t->not_sent) {
    /* A refused authorization ends the card's use on this order: add another card. */
    p->status = t->state == STATE(DECLINED) ? STATUS(DECLINED) : STATUS(FAILED);
    p->decline_code = t->decline_code;
    p->decline_message = t->message;
    p->avs_result = t->avs_result;
    p->cvv_result = t->cvv_result;
  }
  payment_check_invariants(p);
}

Ccpay__V1__Payment *payment_redact(const payment *p, arena *a) {
  payment *copy = arena_alloc(a, sizeof *copy);
  Ccpay__V1__CardDetails *card = p->card != NULL ? arena_alloc(a, sizeof *card) : NULL;
  if (copy == NULL || (p->card != NULL && card == NULL)) return NULL;
  *copy = *p;
  if (card != NULL) {
    *card = *p->card;
    card->token = "";
    copy->card = card;
  }
  return copy;
}
