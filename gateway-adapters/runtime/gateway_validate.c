#include "gateway_validate.h"

#include <stdbool.h>
#include <string.h>

#include "base/check.h"
#include "domain/currency.h"

/* Printable ASCII, no space: safe in a header, a URL path segment's check, a log line. */
static bool printable_word(const char *text) {
  for (const char *p = text; *p != '\0'; p++) {
    if (*p <= 0x20 || *p >= 0x7f) return false;
  }
  return true;
}

static ccpay_err check_word(const char *prefix, const char *field, const char *text,
                            size_t bytes_max, bool required, ccpay_error *error) {
  if (text == NULL || text[0] == '\0') {
    if (!required) return CCPAY_OK;
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s%s: required", prefix, field);
  }
  if (strnlen(text, bytes_max + 1) > bytes_max) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s%s: longer than %zu bytes",
                           prefix, field, bytes_max);
  }
  if (!printable_word(text)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s%s: must be printable ASCII without spaces", prefix, field);
  }
  return CCPAY_OK;
}

/* Free text of a card (holder name): bounded, no control bytes. */
static ccpay_err check_text(const char *prefix, const char *field, const char *text,
                            ccpay_error *error) {
  if (text == NULL) return CCPAY_OK;
  if (strnlen(text, GATEWAY_CARD_TEXT_BYTES_MAX + 1) > GATEWAY_CARD_TEXT_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s%s: longer than %d bytes",
                           prefix, field, GATEWAY_CARD_TEXT_BYTES_MAX);
  }
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s%s: holds a control character",
                             prefix, field);
    }
  }
  return CCPAY_OK;
}

ccpay_err gateway_validate_key(const char *field, const char *key, ccpay_error *error) {
  return check_word("", field, key, GATEWAY_KEY_BYTES_MAX, true, error);
}

static bool currency_accepted(const Ccpay__Gateway__V1__Capabilities *caps, const char *code) {
  if (caps == NULL || caps->n_currencies == 0) return true;
  for (size_t i = 0; i < caps->n_currencies; i++) {
    if (strcmp(caps->currencies[i], code) == 0) return true;
  }
  return false;
}

/* amount: present, a known currency the account accepts, and > 0 (>= 0 when zero_ok). */
static ccpay_err check_money(const char *prefix, const Ccpay__V1__Money *m, bool required,
                             bool zero_ok, const Ccpay__Gateway__V1__Capabilities *caps,
                             ccpay_error *error) {
  if (m == NULL) {
    if (!required) return CCPAY_OK;
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%samount: required", prefix);
  }
  const char *code = m->currency_code != NULL ? m->currency_code : "";
  if (code[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%samount.currency_code: required",
                           prefix);
  }
  if (currency_find(code) == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                           "%samount.currency_code: \"%.8s\" is not an ISO 4217 code ccpay knows",
                           prefix, code);
  }
  if (m->amount_minor < 0 || (m->amount_minor == 0 && !zero_ok)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%samount.amount_minor: must be %s",
                           prefix, zero_ok ? "zero or more" : "positive");
  }
  if (!currency_accepted(caps, code)) {
    return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                           "%samount.currency_code: %s is not accepted by this %s account", prefix,
                           code, caps->processor);
  }
  return CCPAY_OK;
}

static ccpay_err check_card(const char *prefix, const Ccpay__Gateway__V1__Card *card,
                            bool token_required, ccpay_error *error) {
  if (card == NULL) {
    if (!token_required) return CCPAY_OK;
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%scard: required", prefix);
  }
  ccpay_err rc =
      check_word(prefix, "card.token", card->token, GATEWAY_TOKEN_BYTES_MAX, token_required, error);
  if (rc == CCPAY_OK) rc = check_text(prefix, "card.brand", card->brand, error);
  if (rc == CCPAY_OK) rc = check_text(prefix, "card.last4", card->last4, error);
  if (rc == CCPAY_OK) rc = check_text(prefix, "card.holder_name", card->holder_name, error);
  if (rc == CCPAY_OK) rc = check_text(prefix, "card.postal_code", card->postal_code, error);
  if (rc == CCPAY_OK && (card->exp_month < 0 || card->exp_month > 12)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%scard.exp_month: must be 1 to 12",
                         prefix);
  }
  if (rc == CCPAY_OK && (card->exp_year < 0 || card->exp_year > 9999)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%scard.exp_year: out of range",
                         prefix);
  }
  return rc;
}

static ccpay_err check_key(const char *prefix, const char *key, ccpay_error *error) {
  return check_word(prefix, "idempotency_key", key, GATEWAY_KEY_BYTES_MAX, true, error);
}

ccpay_err gateway_validate_authorize(const Ccpay__Gateway__V1__AuthorizeRequest *r,
                                     const Ccpay__Gateway__V1__Capabilities *caps,
                                     const char *prefix, ccpay_error *error) {
  ccpay_err rc = check_key(prefix, r->idempotency_key, error);
  if (rc == CCPAY_OK) rc = check_money(prefix, r->amount, true, false, caps, error);
  if (rc == CCPAY_OK) rc = check_card(prefix, r->card, true, error);
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "order_reference", r->order_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    false, error);
  }
  if (rc == CCPAY_OK && r->capture && r->multiple_captures) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "%smultiple_captures: a sale (capture set) takes no later captures",
                         prefix);
  }
  if (rc == CCPAY_OK && r->multiple_captures && caps != NULL && !caps->multiple_captures) {
    rc = ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                         "%smultiple_captures: %s does not offer several captures", prefix,
                         caps->processor);
  }
  return rc;
}

ccpay_err gateway_validate_capture(const Ccpay__Gateway__V1__CaptureRequest *r,
                                   const Ccpay__Gateway__V1__Capabilities *caps, const char *prefix,
                                   ccpay_error *error) {
  ccpay_err rc = check_key(prefix, r->idempotency_key, error);
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "payment_reference", r->payment_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    true, error);
  }
  if (rc == CCPAY_OK) rc = check_money(prefix, r->amount, true, false, caps, error);
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "order_reference", r->order_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    false, error);
  }
  return rc;
}

ccpay_err gateway_validate_void(const Ccpay__Gateway__V1__VoidRequest *r,
                                const Ccpay__Gateway__V1__Capabilities *caps, const char *prefix,
                                ccpay_error *error) {
  ccpay_err rc = check_key(prefix, r->idempotency_key, error);
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "payment_reference", r->payment_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    true, error);
  }
  if (rc == CCPAY_OK) rc = check_money(prefix, r->amount, false, true, caps, error);
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "order_reference", r->order_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    false, error);
  }
  if (rc == CCPAY_OK && caps != NULL && !caps->void_supported) {
    rc = ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                         "VoidAuthorization: %s cannot release an authorization", caps->processor);
  }
  return rc;
}

ccpay_err gateway_validate_refund(const Ccpay__Gateway__V1__RefundRequest *r,
                                  const Ccpay__Gateway__V1__Capabilities *caps, const char *prefix,
                                  ccpay_error *error) {
  ccpay_err rc = check_key(prefix, r->idempotency_key, error);
  if (rc == CCPAY_OK) rc = check_money(prefix, r->amount, true, false, caps, error);
  bool unlinked = r->payment_reference == NULL || r->payment_reference[0] == '\0';
  /* An unlinked refund the account cannot make is refused for that, whatever else the
   * request holds. */
  if (rc == CCPAY_OK && unlinked && caps != NULL && !caps->unlinked_refunds) {
    rc = ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                         "%spayment_reference: required: unlinked refunds are not allowed on this "
                         "%s account",
                         prefix, caps->processor);
  }
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "payment_reference", r->payment_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    false, error);
  }
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "capture_reference", r->capture_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    false, error);
  }
  if (rc == CCPAY_OK) rc = check_card(prefix, r->card, unlinked, error);
  if (rc == CCPAY_OK) {
    rc = check_word(prefix, "order_reference", r->order_reference, GATEWAY_REFERENCE_BYTES_MAX,
                    false, error);
  }
  return rc;
}

/* The oneof case a lookup of operation must carry. */
static Ccpay__Gateway__V1__LookupRequest__OriginalCase original_case_of(
    Ccpay__Gateway__V1__Operation operation) {
  switch (operation) {
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE:
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_SALE:
      return CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST;
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_CAPTURE:
      return CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST;
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_VOID:
      return CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST;
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_REFUND:
      return CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST;
    default:
      return CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL__NOT_SET;
  }
}

static ccpay_err check_original_key(const char *key, const char *original, const char *prefix,
                                    ccpay_error *error) {
  if (original == NULL || original[0] == '\0' || strcmp(original, key) == 0) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "%sidempotency_key: must be empty or equal idempotency_key", prefix);
}

/* The original, validated; its own key may be empty (the look-up's is used then). */
static ccpay_err check_original(const Ccpay__Gateway__V1__LookupRequest *r,
                                const Ccpay__Gateway__V1__Capabilities *caps, ccpay_error *error) {
  const char *key = r->idempotency_key;
  ccpay_err rc = CCPAY_OK;
  switch (r->original_case) {
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST: {
      Ccpay__Gateway__V1__AuthorizeRequest copy = *r->authorize_request;
      const char *p = "authorize_request.";
      rc = check_original_key(key, copy.idempotency_key, p, error);
      copy.idempotency_key = (char *)key;
      if (rc == CCPAY_OK) rc = gateway_validate_authorize(&copy, caps, p, error);
      bool sale = r->operation == CCPAY__GATEWAY__V1__OPERATION__OPERATION_SALE;
      if (rc == CCPAY_OK && copy.capture != sale) {
        rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "authorize_request.capture: must be %s for operation %s",
                             sale ? "true" : "false",
                             sale ? "OPERATION_SALE" : "OPERATION_AUTHORIZE");
      }
      return rc;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST: {
      Ccpay__Gateway__V1__CaptureRequest copy = *r->capture_request;
      rc = check_original_key(key, copy.idempotency_key, "capture_request.", error);
      copy.idempotency_key = (char *)key;
      return rc == CCPAY_OK ? gateway_validate_capture(&copy, caps, "capture_request.", error) : rc;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST: {
      Ccpay__Gateway__V1__VoidRequest copy = *r->void_request;
      rc = check_original_key(key, copy.idempotency_key, "void_request.", error);
      copy.idempotency_key = (char *)key;
      return rc == CCPAY_OK ? gateway_validate_void(&copy, caps, "void_request.", error) : rc;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST: {
      Ccpay__Gateway__V1__RefundRequest copy = *r->refund_request;
      rc = check_original_key(key, copy.idempotency_key, "refund_request.", error);
      copy.idempotency_key = (char *)key;
      return rc == CCPAY_OK ? gateway_validate_refund(&copy, caps, "refund_request.", error) : rc;
    }
    default:
      break;
  }
  CHECK(!"original_case checked by the caller");
}

ccpay_err gateway_validate_lookup(const Ccpay__Gateway__V1__LookupRequest *r,
                                  const Ccpay__Gateway__V1__Capabilities *caps,
                                  ccpay_error *error) {
  ccpay_err rc = check_key("", r->idempotency_key, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__Gateway__V1__LookupRequest__OriginalCase expected = original_case_of(r->operation);
  if (expected == CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL__NOT_SET) {
    return ccpay_error_set(error,
                           r->operation == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_INVALID,
                           "operation: %s", r->operation == 0 ? "required" : "unknown value");
  }
  if (r->original_case == CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL__NOT_SET) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "original: required (the operation as first sent)");
  }
  if (r->original_case != expected) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "original: does not match operation (%d)", (int)r->operation);
  }
  return check_original(r, caps, error);
}
