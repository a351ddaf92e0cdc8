#include "stripe_wire.h"

#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "domain/money.h"
#include "form.h"
#include "json_util.h"

typedef Ccpay__Gateway__V1__OperationResult result_t;

enum { STRIPE_BODY_BYTES_MAX = 4096, STRIPE_TEXT_BYTES_MAX = 512 };

bool stripe_wire_id_valid(const char *id) {
  if (id == NULL || id[0] == '\0' || strlen(id) > STRIPE_WIRE_ID_BYTES_MAX) return false;
  for (const char *p = id; *p != '\0'; p++) {
    char c = *p;
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

/* Stripe wants lower-case ISO codes. */
static void lower_currency(const char *code, char out[4]) {
  size_t i = 0;
  for (; i < 3 && code[i] != '\0'; i++) {
    char c = code[i];
    out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  out[i] = '\0';
}

static void upper_currency(const char *code, char out[4]) {
  size_t i = 0;
  for (; i < 3 && code[i] != '\0'; i++) {
    char c = code[i];
    out[i] = (char)(c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c);
  }
  out[i] = '\0';
}

static char *finish(form_body *f) { return (char *)form_body_text(f); }

static bool present(const char *text) { return text != NULL && text[0] != '\0'; }

char *stripe_wire_authorize_body(arena *a, const Ccpay__Gateway__V1__AuthorizeRequest *r) {
  CHECK(r->amount != NULL && r->card != NULL);
  form_body f;
  form_body_init(&f, a, STRIPE_BODY_BYTES_MAX);
  char currency[4];
  lower_currency(r->amount->currency_code, currency);
  form_body_add_int(&f, "amount", r->amount->amount_minor);
  form_body_add(&f, "currency", currency);
  form_body_add(&f, "payment_method", r->card->token);
  form_body_add(&f, "capture_method", r->capture ? "automatic" : "manual");
  form_body_add(&f, "confirm", "true");
  if (r->multiple_captures && !r->capture) {
    form_body_add(&f, "payment_method_options[card][request_multicapture]", "if_available");
  }
  /* Our references, for support in Stripe's dashboard: the order (also as order_id, the
   * merchant reference procsim and common Stripe practice read) and the transaction. */
  if (present(r->order_reference)) {
    form_body_add(&f, "metadata[ccpay_order]", r->order_reference);
    form_body_add(&f, "metadata[order_id]", r->order_reference);
  }
  form_body_add(&f, "metadata[ccpay_txn]", r->idempotency_key);
  form_body_add(&f, "expand[]", "latest_charge");
  return finish(&f);
}

char *stripe_wire_capture_body(arena *a, const Ccpay__Gateway__V1__CaptureRequest *r) {
  CHECK(r->amount != NULL);
  form_body f;
  form_body_init(&f, a, STRIPE_BODY_BYTES_MAX);
  form_body_add_int(&f, "amount_to_capture", r->amount->amount_minor);
  if (!r->final_capture) form_body_add(&f, "final_capture", "false");
  form_body_add(&f, "metadata[ccpay_txn]", r->idempotency_key);
  form_body_add(&f, "expand[]", "latest_charge");
  return finish(&f);
}

char *stripe_wire_cancel_body(arena *a, const Ccpay__Gateway__V1__VoidRequest *r) {
  /* Cancel takes no amount (it releases everything) and no metadata. */
  form_body f;
  form_body_init(&f, a, STRIPE_BODY_BYTES_MAX);
  form_body_add(&f, "expand[]", "latest_charge");
  return finish(&f);
}

char *stripe_wire_refund_body(arena *a, const Ccpay__Gateway__V1__RefundRequest *r) {
  CHECK(r->amount != NULL && present(r->payment_reference));
  form_body f;
  form_body_init(&f, a, STRIPE_BODY_BYTES_MAX);
  form_body_add(&f, "payment_intent", r->payment_reference);
  form_body_add_int(&f, "amount", r->amount->amount_minor);
  if (present(r->order_reference)) form_body_add(&f, "metadata[ccpay_order]", r->order_reference);
  form_body_add(&f, "metadata[ccpay_txn]", r->idempotency_key);
  return finish(&f);
}

/* --- Answers ---------------------------------------------------------------------------- */

static bool set_text(arena *a, char **field, const char *text) {
  if (text == NULL) return true;
  char *copy = arena_strndup(a, text, strnlen(text, STRIPE_TEXT_BYTES_MAX));
  if (copy == NULL) return false;
  *field = copy;
  return true;
}

static bool set_outcome(arena *a, result_t *r, Ccpay__Gateway__V1__Outcome outcome,
                        const char *code, const char *message) {
  r->outcome = outcome;
  return set_text(a, &r->decline_code, code) && set_text(a, &r->message, message);
}

static bool set_amount(arena *a, result_t *r, const char *currency, int64_t amount) {
  char upper[4];
  upper_currency(currency, upper);
  char *code = arena_strndup(a, upper, strlen(upper));
  r->amount = code != NULL ? money_message(a, code, amount) : NULL;
  return r->amount != NULL;
}

static bool copy_requested(arena *a, result_t *r, const Ccpay__V1__Money *requested) {
  if (requested == NULL) return true;
  return set_amount(a, r, requested->currency_code, requested->amount_minor);
}

/* AVS, CVC and risk from the PaymentIntent's latest_charge (when expanded); the hold's
 * expiry from capture_before, else 7 days after the intent's creation. */
static bool map_charge(arena *a, const json_t *intent, bool hold, result_t *r) {
  const json_t *charge = json_util_get(intent, "latest_charge");
  bool ok = true;
  if (json_is_object(charge)) {
    ok = set_text(a, &r->avs_result,
                  json_util_string(charge,
                                   "payment_method_details.card.checks."
                                   "address_postal_code_check")) &&
         set_text(a, &r->cvv_result,
                  json_util_string(charge, "payment_method_details.card.checks.cvc_check"));
    int64_t risk = 0;
    if (json_util_int(charge, "outcome.risk_score", &risk) && risk >= 0 && risk <= 100) {
      r->risk_score = (int32_t)risk;
    }
  }
  if (hold) {
    int64_t seconds = 0;
    if (json_is_object(charge) &&
        json_util_int(charge, "payment_method_details.card.capture_before", &seconds) &&
        seconds > 0) {
      r->authorization_expires_ms = seconds * 1000;
    } else if (json_util_int(intent, "created", &seconds) && seconds > 0) {
      r->authorization_expires_ms =
          (seconds + (int64_t)STRIPE_WIRE_AUTHORIZATION_DAYS * 24 * 3600) * 1000;
    }
  }
  return ok;
}

/* A 200 PaymentIntent. */
static bool map_intent(arena *a, stripe_wire_call call, const json_t *intent,
                       const Ccpay__V1__Money *requested, result_t *r) {
  const char *id = json_util_string(intent, "id");
  const char *status = json_util_string(intent, "status");
  const char *currency = json_util_string(intent, "currency");
  const char *object = json_util_string(intent, "object");
  if (id == NULL || status == NULL || object == NULL || strcmp(object, "payment_intent") != 0) {
    return set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, "unreadable_answer",
                       "Stripe answered 200 without a readable PaymentIntent");
  }
  bool ok = set_text(a, &r->processor_reference, id) && set_text(a, &r->processor_status, status);
  bool hold = strcmp(status, "requires_capture") == 0;
  bool succeeded = false;
  switch (call) {
    case STRIPE_WIRE_AUTHORIZE:
      succeeded = hold || strcmp(status, "succeeded") == 0;
      break;
    case STRIPE_WIRE_CAPTURE:
      succeeded = hold || strcmp(status, "succeeded") == 0;
      hold = false;
      break;
    case STRIPE_WIRE_CANCEL:
      succeeded = strcmp(status, "canceled") == 0;
      hold = false;
      break;
    case STRIPE_WIRE_REFUND:
      CHECK(!"refunds answer a Refund");
  }
  ok = ok && map_charge(a, intent, call == STRIPE_WIRE_AUTHORIZE && hold, r);
  int64_t amount = 0, received = 0;
  if (call == STRIPE_WIRE_AUTHORIZE) {
    const char *field = strcmp(status, "succeeded") == 0 ? "amount_received" : "amount";
    if (json_util_int(intent, field, &amount) && currency != NULL) {
      ok = ok && set_amount(a, r, currency, amount);
    }
  } else if (call == STRIPE_WIRE_CAPTURE || requested != NULL) {
    ok = ok && copy_requested(a, r, requested);
  } else if (json_util_int(intent, "amount", &amount) && currency != NULL) {
    /* A void reports what was left: the amount not received. */
    json_util_int(intent, "amount_received", &received);
    ok = ok && set_amount(a, r, currency, amount - received);
  }
  if (succeeded)
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, NULL, NULL);
  char message[160];
  snprintf(message, sizeof message, "PaymentIntent %.64s is %.40s", id, status);
  if (strcmp(status, "requires_payment_method") == 0) {
    const char *code = json_util_string(intent, "last_payment_error.decline_code");
    if (code == NULL) code = json_util_string(intent, "last_payment_error.code");
    const char *text = json_util_string(intent, "last_payment_error.message");
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED,
                             code != NULL ? code : "requires_payment_method",
                             text != NULL ? text : message);
  }
  if (strcmp(status, "requires_action") == 0 || strcmp(status, "requires_confirmation") == 0) {
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED, status, message);
  }
  return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, status, message);
}

/* A 200 Refund. */
static bool map_refund(arena *a, const json_t *refund, result_t *r) {
  const char *id = json_util_string(refund, "id");
  const char *status = json_util_string(refund, "status");
  const char *currency = json_util_string(refund, "currency");
  const char *object = json_util_string(refund, "object");
  int64_t amount = 0;
  if (id == NULL || status == NULL || object == NULL || strcmp(object, "refund") != 0) {
    return set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, "unreadable_answer",
                       "Stripe answered 200 without a readable Refund");
  }
  bool ok = set_text(a, &r->processor_reference, id) && set_text(a, &r->processor_status, status);
  if (json_util_int(refund, "amount", &amount) && currency != NULL) {
    ok = ok && set_amount(a, r, currency, amount);
  }
  /* A card refund is pending until the network confirms it; Stripe has accepted it and
   * it does not come back (a rare later failure arrives as refund.failed). */
  if (strcmp(status, "succeeded") == 0 || strcmp(status, "pending") == 0) {
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED, NULL, NULL);
  }
  if (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0) {
    const char *reason = json_util_string(refund, "failure_reason");
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED,
                             reason != NULL ? reason : status, "Stripe did not make the refund");
  }
  return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, status,
                           "the refund waits for an action");
}

/* An error answer: {"error":{...}}. */
static bool map_error(arena *a, long status, const json_t *root, result_t *r) {
  const char *type = json_util_string(root, "error.type");
  const char *code = json_util_string(root, "error.code");
  const char *decline = json_util_string(root, "error.decline_code");
  const char *text = json_util_string(root, "error.message");
  char message[STRIPE_TEXT_BYTES_MAX];
  snprintf(message, sizeof message, "Stripe HTTP %ld %s%s%s", status, type != NULL ? type : "error",
           text != NULL ? ": " : "", text != NULL ? text : "");
  bool ok = true;
  const json_t *intent = json_util_get(root, "error.payment_intent");
  if (json_is_object(intent)) {
    ok = set_text(a, &r->processor_reference, json_util_string(intent, "id")) &&
         set_text(a, &r->processor_status, json_util_string(intent, "status"));
  }
  if (status == 402 || (type != NULL && strcmp(type, "card_error") == 0)) {
    const char *why = decline != NULL ? decline : code != NULL ? code : "card_declined";
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_DECLINED, why,
                             text != NULL ? text : message);
  }
  bool idempotency = type != NULL && strcmp(type, "idempotency_error") == 0;
  if (status == 409 || status >= 500 || idempotency) {
    return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN,
                             code != NULL  ? code
                             : idempotency ? "idempotency_error"
                                           : "http_status",
                             message);
  }
  return ok && set_outcome(a, r, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED,
                           code != NULL   ? code
                           : type != NULL ? type
                                          : "http_status",
                           message);
}

bool stripe_wire_map(arena *a, stripe_wire_call call, long http_status, const char *body,
                     size_t body_len, const Ccpay__V1__Money *requested, result_t *result) {
  CHECK(a != NULL && result != NULL);
  json_t *root = json_util_parse(body, body_len);
  bool ok;
  if (http_status == 200 && root != NULL) {
    ok = call == STRIPE_WIRE_REFUND ? map_refund(a, root, result)
                                    : map_intent(a, call, root, requested, result);
  } else if (http_status >= 400 && root != NULL && json_is_object(json_util_get(root, "error"))) {
    ok = map_error(a, http_status, root, result);
  } else {
    /* Nothing readable: a 2xx may have moved money, a 5xx may have too. Only a 4xx we
     * cannot read is still a refusal by Stripe's own rules (nothing executed). */
    char message[128];
    snprintf(message, sizeof message, "Stripe answered HTTP %ld without a readable body",
             http_status);
    bool refused = http_status >= 400 && http_status < 500 && http_status != 409;
    ok = set_outcome(a, result,
                     refused ? CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED
                             : CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN,
                     "unreadable_answer", message);
  }
  json_decref(root);
  return ok;
}

bool stripe_wire_lookup_adjust(long http_status, result_t *result) {
  bool says_nothing = http_status == 401 || http_status == 403 || http_status == 429;
  if (!says_nothing || result->outcome != CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED) {
    return false;
  }
  result->outcome = CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN;
  return true;
}
