/* Adyen's wire format (see adyen_wire.h). Facts from Adyen's Checkout API v71 reference
 * (Adyen/adyen-openapi, CheckoutService-v71.json) and the classic Payment API v68:
 *   - a refusal is HTTP 200 with resultCode "Refused", refusalReason and
 *     refusalReasonCode; an authorisation is "Authorised"; "Pending" and "Received" mean
 *     the outcome is not known yet;
 *   - modifications answer 201 with status "received", their own pspReference and the
 *     payment's paymentPspReference; the outcome comes later by webhook;
 *   - errors are {status, errorCode, message, errorType, pspReference}; 409 errorCode 704
 *     means a request with the same Idempotency-Key is still in progress, and an answer
 *     with the header Transient-Error: true may be resent with the same key. */
#include "adyen_wire.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "domain/money.h"

typedef Ccpay__Gateway__V1__OperationResult result_t;

enum { ADYEN_WIRE_TEXT_BYTES_MAX = 512 }; /* longest processor text kept in a result */

/* --- Building ------------------------------------------------------------------------------ */

/* Serialises object (stolen) into the arena, members in insertion order. */
static char *dump(arena *a, json_t *object) {
  if (object == NULL) return NULL;
  char *text = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(object);
  if (text == NULL) return NULL;
  char *copy = arena_strndup(a, text, strlen(text));
  free(text);
  return copy;
}

static json_t *amount_json(const Ccpay__V1__Money *m) {
  CHECK(m != NULL);
  return json_pack("{s:I, s:s}", "value", (json_int_t)m->amount_minor, "currency",
                   m->currency_code);
}

static bool present(const char *s) { return s != NULL && s[0] != '\0'; }

/* Adds name: value when value is not empty. Returns false when out of memory. */
static bool add_text(json_t *object, const char *name, const char *value) {
  if (!present(value)) return true;
  return json_object_set_new(object, name, json_string(value)) == 0;
}

char *adyen_wire_payment_body(arena *a, const adyen_wire_options *o,
                              const Ccpay__Gateway__V1__AuthorizeRequest *request) {
  CHECK(o != NULL && present(o->merchant_account));
  CHECK(request != NULL && request->amount != NULL && request->card != NULL);
  const char *reference =
      present(request->order_reference) ? request->order_reference : request->idempotency_key;
  json_t *method =
      json_pack("{s:s, s:s}", "type", "scheme", "storedPaymentMethodId", request->card->token);
  json_t *body =
      json_pack("{s:o, s:s, s:s, s:o}", "amount", amount_json(request->amount), "merchantAccount",
                o->merchant_account, "reference", reference, "paymentMethod", method);
  if (body == NULL) return NULL;
  bool ok = add_text(method, "holderName", request->card->holder_name) &&
            add_text(body, "shopperInteraction", o->shopper_interaction) &&
            add_text(body, "recurringProcessingModel", o->recurring_processing_model);
  if (ok && present(request->card->postal_code)) {
    /* AVS: the billing postal code (country unknown to ccpay, left to Adyen). */
    ok = json_object_set_new(body, "billingAddress",
                             json_pack("{s:s}", "postalCode", request->card->postal_code)) == 0;
  }
  if (ok && !request->capture) {
    ok = json_object_set_new(body, "additionalData", json_pack("{s:s}", "manualCapture", "true")) ==
         0;
  }
  if (!ok) {
    json_decref(body);
    return NULL;
  }
  return dump(a, body);
}

char *adyen_wire_capture_body(arena *a, const adyen_wire_options *o,
                              const Ccpay__Gateway__V1__CaptureRequest *request) {
  CHECK(o != NULL && present(o->merchant_account) && request != NULL && request->amount != NULL);
  return dump(a, json_pack("{s:s, s:o, s:s}", "merchantAccount", o->merchant_account, "amount",
                           amount_json(request->amount), "reference", request->idempotency_key));
}

char *adyen_wire_cancel_body(arena *a, const adyen_wire_options *o,
                             const Ccpay__Gateway__V1__VoidRequest *request) {
  CHECK(o != NULL && present(o->merchant_account) && request != NULL);
  return dump(a, json_pack("{s:s, s:s}", "merchantAccount", o->merchant_account, "reference",
                           request->idempotency_key));
}

char *adyen_wire_refund_body(arena *a, const adyen_wire_options *o,
                             const Ccpay__Gateway__V1__RefundRequest *request) {
  CHECK(o != NULL && present(o->merchant_account) && request != NULL && request->amount != NULL);
  return dump(a, json_pack("{s:s, s:o, s:s}", "merchantAccount", o->merchant_account, "amount",
                           amount_json(request->amount), "reference", request->idempotency_key));
}

char *adyen_wire_refund_with_data_body(arena *a, const adyen_wire_options *o,
                                       const Ccpay__Gateway__V1__RefundRequest *request) {
  CHECK(o != NULL && present(o->merchant_account));
  CHECK(request != NULL && request->amount != NULL && request->card != NULL);
  json_t *body = json_pack("{s:o, s:s, s:s, s:s, s:{s:s}}", "amount", amount_json(request->amount),
                           "merchantAccount", o->merchant_account, "reference",
                           request->idempotency_key, "selectedRecurringDetailReference",
                           request->card->token, "recurring", "contract", "RECURRING");
  if (body == NULL) return NULL;
  if (!add_text(body, "shopperInteraction", o->shopper_interaction)) {
    json_decref(body);
    return NULL;
  }
  return dump(a, body);
}

bool adyen_wire_psp_reference_valid(const char *reference) {
  if (reference == NULL) return false;
  size_t len = strnlen(reference, ADYEN_WIRE_PSP_REFERENCE_BYTES_MAX + 1);
  if (len == 0 || len > ADYEN_WIRE_PSP_REFERENCE_BYTES_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = reference[i];
    bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum) return false;
  }
  return true;
}

/* --- Mapping ------------------------------------------------------------------------------- */

/* *field = a copy of text (cut to ADYEN_WIRE_TEXT_BYTES_MAX) in the arena; NULL text
 * leaves the field alone. */
static bool set_text(arena *a, char **field, const char *text) {
  if (text == NULL) return true;
  size_t len = strlen(text); /* NUL-terminated: jansson's or a literal */
  char *copy =
      arena_strndup(a, text, len < ADYEN_WIRE_TEXT_BYTES_MAX ? len : ADYEN_WIRE_TEXT_BYTES_MAX);
  if (copy == NULL) return false;
  *field = copy;
  return true;
}

static const char *text_at(const json_t *object, const char *name) {
  return json_string_value(json_object_get(object, name));
}

/* The amount of the answer ({value, currency}) or else the requested one. */
static bool set_amount(arena *a, const json_t *body, const Ccpay__V1__Money *requested,
                       result_t *r) {
  const json_t *amount = json_object_get(body, "amount");
  const json_t *value = json_object_get(amount, "value");
  const char *currency = text_at(amount, "currency");
  if (json_is_integer(value) && currency != NULL && strlen(currency) == 3) {
    char *code = arena_strndup(a, currency, 3);
    r->amount = code != NULL ? money_message(a, code, (int64_t)json_integer_value(value)) : NULL;
    return r->amount != NULL;
  }
  if (requested == NULL) return true;
  r->amount = money_message(a, requested->currency_code, requested->amount_minor);
  return r->amount != NULL;
}

/* A risk score: fraudResult.accountScore, else additionalData.totalFraudScore. */
static int32_t risk_score_of(const json_t *body) {
  const json_t *score = json_object_get(json_object_get(body, "fraudResult"), "accountScore");
  if (json_is_integer(score)) {
    json_int_t v = json_integer_value(score);
    return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
  }
  const char *text = text_at(json_object_get(body, "additionalData"), "totalFraudScore");
  if (text == NULL) return 0;
  char *end = NULL;
  long v = strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < INT32_MIN || v > INT32_MAX) return 0;
  return (int32_t)v;
}

static bool is_shopper_action(const char *code) {
  static const char *const actions[] = {"RedirectShopper",        "IdentifyShopper",
                                        "ChallengeShopper",       "PresentToShopper",
                                        "AuthenticationFinished", "AuthenticationNotRequired"};
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
    if (strcmp(code, actions[i]) == 0) return true;
  }
  return false;
}

static Ccpay__Gateway__V1__Outcome payment_outcome(const char *code) {
  if (code == NULL) return CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN;
  if (strcmp(code, "Authorised") == 0) return CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED;
  if (strcmp(code, "Refused") == 0 || strcmp(code, "Cancelled") == 0) {
    return CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED;
  }
  if (strcmp(code, "Error") == 0 || is_shopper_action(code)) {
    return CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED;
  }
  return CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN; /* Pending, Received, anything new */
}

static bool map_payment(arena *a, const json_t *body, const Ccpay__V1__Money *requested,
                        result_t *r) {
  const char *code = text_at(body, "resultCode");
  r->outcome = payment_outcome(code);
  const json_t *extra = json_object_get(body, "additionalData");
  bool ok = set_text(a, &r->processor_reference, text_at(body, "pspReference")) &&
            set_text(a, &r->processor_status, code) && set_amount(a, body, requested, r);
  switch (r->outcome) {
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED:
      r->risk_score = risk_score_of(body);
      return ok && set_text(a, &r->avs_result, text_at(extra, "avsResult")) &&
             set_text(a, &r->cvv_result, text_at(extra, "cvcResult"));
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED:
      return ok && set_text(a, &r->decline_code, text_at(body, "refusalReasonCode")) &&
             set_text(
                 a, &r->message,
                 text_at(body, "refusalReason") != NULL ? text_at(body, "refusalReason") : code) &&
             set_text(a, &r->avs_result, text_at(extra, "avsResult")) &&
             set_text(a, &r->cvv_result, text_at(extra, "cvcResult"));
    case CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED: {
      const char *reason = text_at(body, "refusalReason");
      const char *text = code != NULL && strcmp(code, "Error") != 0
                             ? "Adyen asks for a shopper action, which a phone order cannot give"
                             : (reason != NULL ? reason : "Adyen answered resultCode Error");
      return ok && set_text(a, &r->decline_code, text_at(body, "refusalReasonCode")) &&
             set_text(a, &r->message, text);
    }
    default:
      return ok && set_text(a, &r->message,
                            code == NULL ? "Adyen's answer has no resultCode"
                                         : "Adyen has not decided yet; look it up later");
  }
}

static bool map_modification(arena *a, adyen_wire_call call, const json_t *body,
                             const Ccpay__V1__Money *requested, result_t *r) {
  const char *psp = text_at(body, "pspReference");
  const char *status =
      call == ADYEN_WIRE_CLASSIC ? text_at(body, "response") : text_at(body, "status");
  bool received = psp != NULL && status != NULL &&
                  (call == ADYEN_WIRE_CLASSIC || strcmp(status, "received") == 0);
  /* Received is all Adyen says at once; the CAPTURE / CANCELLATION / REFUND webhook
   * confirms it. Webhooks are not handled by this adapter: ccpay records the
   * modification as done when Adyen has accepted it. */
  r->outcome = received ? CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED
                        : CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN;
  return set_text(a, &r->processor_reference, psp) && set_text(a, &r->processor_status, status) &&
         set_amount(a, body, requested, r) &&
         (received || set_text(a, &r->message, "Adyen's answer does not say received"));
}

/* An answer in Adyen's error shape. */
static bool map_error(arena *a, long status, bool transient, const json_t *body, result_t *r) {
  bool retryable = transient || status == 409 || status == 429 || status >= 500;
  r->outcome = retryable ? CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN
                         : CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED;
  const char *code = text_at(body, "errorCode");
  const char *message = text_at(body, "message");
  char text[ADYEN_WIRE_TEXT_BYTES_MAX];
  const char *what = status == 401 || status == 403 ? "configuration: Adyen refused the credentials"
                     : retryable                    ? "Adyen could not answer; look it up later"
                                                    : "Adyen refused the request";
  snprintf(text, sizeof text, "%s (HTTP %ld%s%s)%s%s", what, status,
           code != NULL ? ", errorCode " : "", code != NULL ? code : "",
           message != NULL ? ": " : "", message != NULL ? message : "");
  return set_text(a, &r->decline_code, code) && set_text(a, &r->message, text) &&
         set_text(a, &r->processor_reference, text_at(body, "pspReference"));
}

bool adyen_wire_map(arena *a, adyen_wire_call call, long http_status, bool transient,
                    const char *body, const Ccpay__V1__Money *requested, result_t *result) {
  CHECK(a != NULL && result != NULL);
  json_error_t error;
  json_t *root = body != NULL ? json_loads(body, 0, &error) : NULL;
  bool ok;
  bool answered = http_status >= 200 && http_status < 300 && !transient;
  if (answered && !json_is_object(root)) {
    /* A success status without a readable body: it may have been acted on. */
    result->outcome = CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN;
    ok = set_text(a, &result->message, "Adyen's answer is not a JSON object; look it up later");
  } else if (answered && call == ADYEN_WIRE_PAYMENT) {
    ok = map_payment(a, root, requested, result);
  } else if (answered) {
    ok = map_modification(a, call, root, requested, result);
  } else {
    ok = map_error(a, http_status, transient, root, result);
  }
  json_decref(root);
  CHECK(result->outcome != CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNSPECIFIED);
  return ok;
}
