/* Stripe PaymentIntents and refunds (docs/PROCSIM.md, "Stripe").
 *
 * Requests are form-encoded with bracket-nested keys kept flat ("metadata[order]").
 * Every endpoint knows its parameters; anything else is 400 parameter_unknown, as
 * Stripe answers, so an adapter sending what Stripe would refuse fails here too.
 * Credentials and parameter errors are answered before the idempotency layer (Stripe
 * saves nothing for requests that fail validation); everything after is saved under
 * the Idempotency-Key, declines (402) and rule refusals (400) included. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "procsim.h"

#define STRIPE_SECRET_KEY "sk_test_procsim"
#define ID_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

enum {
  STRIPE_KEY_BYTES_MAX = 255,
  STRIPE_AMOUNT_MAX = 99999999, /* Stripe's largest amount (8 digits) */
  STRIPE_ID_RANDOM_CHARS = 24,
  STRIPE_AUTH_HEADER_BYTES_MAX = 512,
  STRIPE_CAPTURE_BEFORE_S = 7 * 24 * 3600, /* uncaptured intents lapse after 7 days */
  STRIPE_CANONICAL_BYTES_MAX = 2 * HTTP_BODY_BYTES_MAX,
};

/* --- Errors ------------------------------------------------------------------------------ */

static json_t *error_object(const char *type, const char *code, const char *message,
                            const char *param) {
  json_t *error = json_pack("{s:s, s:s}", "type", type, "message", message);
  if (error == NULL) return NULL;
  if (code != NULL) json_object_set_new(error, "code", json_string(code));
  if (param != NULL) json_object_set_new(error, "param", json_string(param));
  if (code != NULL) {
    char url[128];
    snprintf(url, sizeof url, "https://stripe.com/docs/error-codes/%s", code);
    json_object_set_new(error, "doc_url", json_string(url));
  }
  return error;
}

static void reply_error(procsim_call *call, int status, const char *type, const char *code,
                        const char *message, const char *param) {
  json_t *error = error_object(type, code, message, param);
  procsim_reply_json(call, status, error != NULL ? json_pack("{s:o}", "error", error) : NULL);
}

static void reply_invalid(procsim_call *call, const char *code, const char *message,
                          const char *param) {
  reply_error(call, 400, "invalid_request_error", code, message, param);
}

void stripe_server_error(procsim_call *call) {
  reply_error(call, 500, "api_error", NULL,
              "An unknown error occurred while processing your request (procsim fault).", NULL);
}

static void idem_mismatch(procsim_call *call) {
  char message[SIM_KEY_BYTES_MAX + 256];
  snprintf(message, sizeof message,
           "Keys for idempotent requests can only be used with the same parameters they were "
           "first used with. Try using a key other than '%s' if you meant to execute a "
           "different request.",
           call->key);
  reply_error(call, 400, "idempotency_error", NULL, message, NULL);
}

static void idem_in_progress(procsim_call *call) {
  reply_error(call, 409, "idempotency_error", "idempotency_key_in_use",
              "There is currently another in-progress request using this idempotency key. "
              "Please try again later.",
              NULL);
}

static const procsim_idem_style idem_style = {
    .mismatch = idem_mismatch,
    .in_progress = idem_in_progress,
    .replay_header = "Idempotent-Replayed",
};

/* --- Credentials -------------------------------------------------------------------------- */

/* True for "Bearer sk_test_procsim" or Basic with user sk_test_procsim (any password). */
static bool authorized(const http_request *request) {
  const char *header = http_header_get(request, "Authorization");
  if (header == NULL) return false;
  if (strncmp(header, "Bearer ", 7) == 0) return strcmp(header + 7, STRIPE_SECRET_KEY) == 0;
  if (strncmp(header, "Basic ", 6) != 0) return false;
  const char *encoded = header + 6;
  size_t len = strlen(encoded);
  if (len == 0 || len % 4 != 0 || len > STRIPE_AUTH_HEADER_BYTES_MAX) return false;
  unsigned char decoded[STRIPE_AUTH_HEADER_BYTES_MAX];
  int n = EVP_DecodeBlock(decoded, (const unsigned char *)encoded, (int)len);
  if (n < 0) return false;
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  for (size_t i = len; i > 0 && encoded[i - 1] == '='; i--) n--;
  const char *colon = memchr(decoded, ':', (size_t)n);
  size_t user_len = colon != NULL ? (size_t)(colon - (const char *)decoded) : (size_t)n;
  return user_len == strlen(STRIPE_SECRET_KEY) && memcmp(decoded, STRIPE_SECRET_KEY, user_len) == 0;
}

/* --- Parameters --------------------------------------------------------------------------- */

/* Whether key matches pattern: exact, or "name[*]" (any single bracketed suffix, e.g.
 * metadata[k] or expand[0]). */
static bool key_matches(const char *key, const char *pattern) {
  size_t len = strlen(pattern);
  if (len >= 3 && strcmp(pattern + len - 3, "[*]") == 0) {
    size_t stem = len - 3;
    size_t key_len = strlen(key);
    return strncmp(key, pattern, stem) == 0 && key[stem] == '[' && key_len > stem + 1 &&
           key[key_len - 1] == ']' && memchr(key + stem + 1, '[', key_len - stem - 2) == NULL;
  }
  return strcmp(key, pattern) == 0;
}

/* Answers 400 parameter_unknown for the first key no pattern allows. */
static bool check_known(procsim_call *call, const form *f, const char *const *allowed) {
  for (size_t i = 0; i < f->count; i++) {
    bool known = false;
    for (size_t j = 0; allowed[j] != NULL && !known; j++) {
      known = key_matches(f->params[i].key, allowed[j]);
    }
    if (!known) {
      char message[512];
      snprintf(message, sizeof message, "Received unknown parameter: %.400s", f->params[i].key);
      reply_invalid(call, "parameter_unknown", message, f->params[i].key);
      return false;
    }
  }
  return true;
}

/* Parses an amount parameter (1..STRIPE_AMOUNT_MAX); answers 400 when bad. A missing
 * one is *present = false (not an error here). */
static bool parse_amount(procsim_call *call, const form *f, const char *name, bool *present,
                         int64_t *out) {
  const char *text = form_get(f, name);
  *present = text != NULL;
  if (text == NULL) return true;
  int64_t value = 0;
  bool ok = *text != '\0';
  for (const char *p = text; ok && *p != '\0'; p++) {
    ok = *p >= '0' && *p <= '9' && value <= STRIPE_AMOUNT_MAX;
    if (ok) value = value * 10 + (*p - '0');
  }
  if (!ok || value < 1 || value > STRIPE_AMOUNT_MAX) {
    char message[256];
    snprintf(message, sizeof message, "Invalid integer: %.100s", text);
    reply_invalid(call, "parameter_invalid_integer", message, name);
    return false;
  }
  *out = value;
  return true;
}

static bool parse_bool(procsim_call *call, const form *f, const char *name, bool fallback,
                       bool *out) {
  const char *text = form_get(f, name);
  if (text == NULL) {
    *out = fallback;
    return true;
  }
  if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
    *out = text[0] == 't';
    return true;
  }
  reply_invalid(call, "parameter_invalid_boolean", "Invalid boolean", name);
  return false;
}

static void reply_missing(procsim_call *call, const char *name) {
  char message[128];
  snprintf(message, sizeof message, "Missing required param: %s.", name);
  reply_invalid(call, "parameter_missing", message, name);
}

/* The metadata[...] parameters as an object. */
static json_t *metadata_of(const form *f) {
  json_t *metadata = json_object();
  for (size_t i = 0; metadata != NULL && i < f->count; i++) {
    const char *key = f->params[i].key;
    if (!key_matches(key, "metadata[*]")) continue;
    char name[256];
    size_t len = strlen(key) - strlen("metadata[") - 1;
    if (len >= sizeof name) continue;
    memcpy(name, key + strlen("metadata["), len);
    name[len] = '\0';
    json_object_set_new(metadata, name, json_string(f->params[i].value));
  }
  return metadata;
}

static int compare_params(const void *a, const void *b) {
  const form_param *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c != 0 ? c : strcmp(x->value, y->value);
}

/* The request's identity for idempotency: method, path and the parameters in key order
 * (Stripe compares parameters, not bytes). */
static void fingerprint_of(const procsim_call *call, const form *f,
                           unsigned char out[SIM_FINGERPRINT_BYTES]) {
  form_param sorted[FORM_PARAMS_MAX];
  memcpy(sorted, f->params, f->count * sizeof sorted[0]);
  qsort(sorted, f->count, sizeof sorted[0], compare_params);
  const char *parts[2 + 2 * FORM_PARAMS_MAX];
  size_t lengths[2 + 2 * FORM_PARAMS_MAX];
  size_t n = 0;
  parts[n] = call->request->method;
  lengths[n] = strlen(parts[n]);
  n++;
  parts[n] = call->request->path;
  lengths[n] = strlen(parts[n]);
  n++;
  for (size_t i = 0; i < f->count; i++) {
    parts[n] = sorted[i].key;
    lengths[n] = strlen(parts[n]);
    n++;
    parts[n] = sorted[i].value;
    lengths[n] = strlen(parts[n]);
    n++;
  }
  sim_fingerprint(parts, lengths, n, out);
}

/* --- Objects ------------------------------------------------------------------------------ */

static void lower_currency(const char *upper, char out[4]) {
  for (int i = 0; i < 3; i++)
    out[i] = (char)(upper[i] >= 'A' && upper[i] <= 'Z' ? upper[i] + 32 : upper[i]);
  out[3] = '\0';
}

static json_t *check_value(const char *result) {
  return result[0] != '\0' ? json_string(result) : json_null();
}

static json_t *charge_json(const sim_payment *p) {
  char currency[4];
  lower_currency(p->currency, currency);
  bool failed = p->decline_code[0] != '\0';
  json_t *checks = json_pack("{s:n, s:o, s:o}", "address_line1_check", "address_postal_code_check",
                             check_value(p->avs_result), "cvc_check", check_value(p->cvc_result));
  json_t *card =
      json_pack("{s:s, s:s, s:i, s:i, s:o, s:I}", "brand", "visa", "last4", p->card_last4,
                "exp_month", 12, "exp_year", 2034, "checks", checks, "capture_before",
                (json_int_t)(p->created_ms / 1000 + STRIPE_CAPTURE_BEFORE_S));
  json_t *outcome =
      json_pack("{s:s, s:s, s:I, s:s, s:s}", "network_status",
                failed ? "declined_by_network" : "approved_by_network", "risk_level", "normal",
                "risk_score", (json_int_t)(p->created_ms % 50 + 5), "seller_message",
                failed ? "The bank did not return any further details with this decline."
                       : "Payment complete.",
                "type", failed ? "issuer_declined" : "authorized");
  return json_pack(
      "{s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:s, s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:I}", "id",
      p->charge_reference, "object", "charge", "amount", (json_int_t)p->amount, "amount_captured",
      (json_int_t)p->captured, "amount_refunded", (json_int_t)p->refunded, "captured",
      p->captured > 0, "refunded", p->captured > 0 && p->refunded == p->captured, "currency",
      currency, "paid", !failed, "status", failed ? "failed" : "succeeded", "payment_intent",
      p->reference, "payment_method", p->payment_method, "failure_code",
      failed ? json_string(p->decline_code) : json_null(), "outcome", outcome,
      "payment_method_details", json_pack("{s:s, s:o}", "type", "card", "card", card), "created",
      (json_int_t)(p->created_ms / 1000));
}

static json_t *intent_json(const sim_payment *p) {
  char currency[4];
  lower_currency(p->currency, currency);
  json_t *metadata = p->metadata != NULL ? json_deep_copy(p->metadata) : json_object();
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:{s:s}}, s:I, s:b}",
                   "id", p->reference, "object", "payment_intent", "amount", (json_int_t)p->amount,
                   "amount_capturable", (json_int_t)p->capturable, "amount_received",
                   (json_int_t)p->captured, "capture_method",
                   p->manual_capture ? "manual" : "automatic", "currency", currency, "status",
                   p->status, "payment_method", p->payment_method, "latest_charge", charge_json(p),
                   "metadata", metadata, "payment_method_options", "card", "request_multicapture",
                   p->multicapture ? "if_available" : "never", "created",
                   (json_int_t)(p->created_ms / 1000), "livemode", 0);
}

static json_t *refund_json(const sim_payment *p, const sim_operation *op) {
  char currency[4];
  lower_currency(p->currency, currency);
  return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:I}", "id", op->reference, "object",
                   "refund", "amount", (json_int_t)op->amount, "charge", p->charge_reference,
                   "currency", currency, "payment_intent", p->reference, "status", "succeeded",
                   "metadata", json_object(), "created", (json_int_t)(op->created_ms / 1000));
}

/* --- Test payment methods ----------------------------------------------------------------- */

typedef struct test_card {
  const char *payment_method;
  const char *code;         /* NULL: approved */
  const char *decline_code; /* NULL: none */
  const char *message;
  const char *avs;
  const char *cvc;
} test_card;

static const test_card test_cards[] = {
    {"pm_card_visa_chargeDeclined", "card_declined", "generic_decline", "Your card was declined.",
     "pass", "pass"},
    {"pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
     "Your card has insufficient funds.", "pass", "pass"},
    {"pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card", "Your card was declined.",
     "pass", "pass"},
    {"pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card",
     "Your card was declined.", "pass", "pass"},
    {"pm_card_visa_chargeDeclinedIncorrectCvc", "incorrect_cvc", NULL,
     "Your card's security code is incorrect.", "pass", "fail"},
    {"pm_card_chargeDeclinedExpiredCard", "expired_card", NULL, "Your card has expired.", "pass",
     "pass"},
    {"pm_card_chargeDeclinedProcessingError", "processing_error", NULL,
     "An error occurred while processing your card. Try again in a little bit.", "pass", "pass"},
    {"pm_card_avsZipFail", NULL, NULL, NULL, "fail", "pass"},
    {"pm_card_cvcCheckFail", NULL, NULL, NULL, "pass", "fail"},
};

static const test_card approved_card = {NULL, NULL, NULL, NULL, "pass", "pass"};

static const test_card *test_card_of(const char *payment_method) {
  for (size_t i = 0; i < sizeof test_cards / sizeof test_cards[0]; i++) {
    if (strcmp(test_cards[i].payment_method, payment_method) == 0) return &test_cards[i];
  }
  return &approved_card;
}

/* --- POST /v1/payment_intents -------------------------------------------------------------- */

typedef struct create_args {
  const form *form;
  int64_t amount;
  char currency[4];
  const char *payment_method;
  bool manual;
  bool multicapture;
} create_args;

static void new_intent(procsim_call *call, sim_payment **out) {
  sim_state *state = call->sim->state;
  char id[SIM_REFERENCE_BYTES_MAX + 1];
  do {
    sim_new_id(state, "pi_", ID_ALPHABET, STRIPE_ID_RANDOM_CHARS, id, sizeof id);
  } while (sim_find(state, SIM_STRIPE, id, NULL) != NULL);
  *out = sim_payment_add(state, SIM_STRIPE, id);
  if (*out == NULL) return;
  char charge[SIM_REFERENCE_BYTES_MAX + 1];
  sim_new_id(state, "ch_", ID_ALPHABET, STRIPE_ID_RANDOM_CHARS, charge, sizeof charge);
  sim_copy((*out)->charge_reference, sizeof(*out)->charge_reference, charge);
  sim_payment_alias(state, *out, charge);
}

static void create_act(procsim_call *call, void *argument) {
  create_args *a = argument;
  sim_payment *p = NULL;
  new_intent(call, &p);
  if (p == NULL) {
    reply_error(call, 503, "api_error", NULL, "procsim holds too many payments.", NULL);
    return;
  }
  const test_card *card = test_card_of(a->payment_method);
  sim_copy(p->currency, sizeof p->currency, a->currency);
  sim_copy(p->payment_method, sizeof p->payment_method, a->payment_method);
  sim_copy(p->card_last4, sizeof p->card_last4, "4242");
  sim_copy(p->avs_result, sizeof p->avs_result, card->avs);
  sim_copy(p->cvc_result, sizeof p->cvc_result, card->cvc);
  const char *order = form_get(a->form, "metadata[order_id]");
  sim_copy(p->merchant_reference, sizeof p->merchant_reference, order != NULL ? order : "");
  p->metadata = metadata_of(a->form);
  p->amount = a->amount;
  p->manual_capture = a->manual;
  p->multicapture = a->multicapture;
  if (card->code != NULL) {
    sim_copy(p->decline_code, sizeof p->decline_code,
             card->decline_code != NULL ? card->decline_code : card->code);
    sim_copy(p->status, sizeof p->status, "requires_payment_method");
    sim_operation_add(call->sim->state, p, "authorize", call->key, 0, p->charge_reference);
    json_t *error = error_object("card_error", card->code, card->message, NULL);
    if (error != NULL) {
      if (card->decline_code != NULL) {
        json_object_set_new(error, "decline_code", json_string(card->decline_code));
      }
      json_object_set_new(error, "charge", json_string(p->charge_reference));
      json_object_set_new(error, "payment_intent", intent_json(p));
    }
    procsim_reply_json(call, 402, error != NULL ? json_pack("{s:o}", "error", error) : NULL);
    return;
  }
  p->authorized = a->amount;
  if (a->manual) {
    p->capturable = a->amount;
    sim_copy(p->status, sizeof p->status, "requires_capture");
  } else {
    p->captured = a->amount;
    sim_copy(p->status, sizeof p->status, "succeeded");
  }
  sim_operation_add(call->sim->state, p, "authorize", call->key, a->amount, p->charge_reference);
  if (!a->manual) sim_operation_add(call->sim->state, p, "capture", call->key, a->amount, "");
  sim_payment_check(p);
  procsim_reply_json(call, 200, intent_json(p));
}

static const char *const create_params[] = {"amount",
                                            "currency",
                                            "payment_method",
                                            "capture_method",
                                            "confirm",
                                            "metadata[*]",
                                            "payment_method_options[card][request_multicapture]",
                                            "description",
                                            "statement_descriptor",
                                            "statement_descriptor_suffix",
                                            "expand[*]",
                                            NULL};

static bool validate_currency(procsim_call *call, const form *f, char out[4]) {
  const char *currency = form_get(f, "currency");
  if (currency == NULL) {
    reply_missing(call, "currency");
    return false;
  }
  bool ok = strlen(currency) == 3;
  for (int i = 0; ok && i < 3; i++) {
    char c = currency[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    out[i] = (char)(c >= 'a' ? c - 32 : c);
  }
  out[3] = '\0';
  if (!ok) reply_invalid(call, "parameter_invalid_string", "Invalid currency", "currency");
  return ok;
}

static bool validate_create(procsim_call *call, const form *f, create_args *a) {
  bool present = false;
  if (!parse_amount(call, f, "amount", &present, &a->amount)) return false;
  if (!present) {
    reply_missing(call, "amount");
    return false;
  }
  if (!validate_currency(call, f, a->currency)) return false;
  a->payment_method = form_get(f, "payment_method");
  if (a->payment_method == NULL) {
    reply_missing(call, "payment_method");
    return false;
  }
  if (strncmp(a->payment_method, "pm_", 3) != 0) {
    char message[256];
    snprintf(message, sizeof message, "No such PaymentMethod: '%.100s'", a->payment_method);
    reply_invalid(call, "resource_missing", message, "payment_method");
    return false;
  }
  const char *method = form_get(f, "capture_method");
  if (method != NULL && strcmp(method, "manual") != 0 && strcmp(method, "automatic") != 0 &&
      strcmp(method, "automatic_async") != 0) {
    reply_invalid(call, "parameter_invalid_string", "Invalid capture_method", "capture_method");
    return false;
  }
  a->manual = method != NULL && strcmp(method, "manual") == 0;
  bool confirm = false;
  if (!parse_bool(call, f, "confirm", false, &confirm)) return false;
  if (!confirm) {
    /* Unconfirmed intents (requires_confirmation) are not simulated. */
    reply_invalid(call, "parameter_invalid_string",
                  "procsim serves only confirm=true PaymentIntents.", "confirm");
    return false;
  }
  const char *multi = form_get(f, "payment_method_options[card][request_multicapture]");
  if (multi != NULL && strcmp(multi, "if_available") != 0 && strcmp(multi, "never") != 0) {
    reply_invalid(call, "parameter_invalid_string", "Invalid request_multicapture",
                  "payment_method_options[card][request_multicapture]");
    return false;
  }
  a->multicapture = multi != NULL && strcmp(multi, "if_available") == 0;
  return true;
}

/* --- Capture, cancel ------------------------------------------------------------------------ */

typedef struct intent_args {
  const char *id;
  int64_t amount; /* 0: all that is capturable */
  bool final;
} intent_args;

static sim_payment *find_intent(procsim_call *call, const char *id) {
  sim_operation *op = NULL;
  sim_payment *p = sim_find(call->sim->state, SIM_STRIPE, id, &op);
  if (p == NULL || op != NULL || strcmp(p->reference, id) != 0) {
    char message[256];
    snprintf(message, sizeof message, "No such payment_intent: '%.100s'", id);
    reply_error(call, 404, "invalid_request_error", "resource_missing", message, "intent");
    return NULL;
  }
  return p;
}

static void reply_unexpected_state(procsim_call *call, const sim_payment *p, const char *action,
                                   const char *allowed) {
  char message[512];
  snprintf(message, sizeof message,
           "This PaymentIntent could not be %s because it has a status of %s. Only a "
           "PaymentIntent with one of the following statuses may be %s: %s.",
           action, p->status, action, allowed);
  json_t *error =
      error_object("invalid_request_error", "payment_intent_unexpected_state", message, NULL);
  if (error != NULL) json_object_set_new(error, "payment_intent", intent_json(p));
  procsim_reply_json(call, 400, error != NULL ? json_pack("{s:o}", "error", error) : NULL);
}

static void capture_act(procsim_call *call, void *argument) {
  intent_args *a = argument;
  sim_payment *p = find_intent(call, a->id);
  if (p == NULL) return;
  if (strcmp(p->status, "requires_capture") != 0) {
    reply_unexpected_state(call, p, "captured", "requires_capture");
    return;
  }
  int64_t amount = a->amount != 0 ? a->amount : p->capturable;
  if (amount > p->capturable) {
    char message[256];
    snprintf(message, sizeof message,
             "The amount_to_capture (%" PRId64
             ") must be less than or equal to the "
             "amount_capturable (%" PRId64 ").",
             amount, p->capturable);
    reply_invalid(call, "amount_too_large", message, "amount_to_capture");
    return;
  }
  if (!a->final && !p->multicapture) {
    reply_invalid(call, "parameter_invalid_string",
                  "final_capture=false needs payment_method_options[card][request_multicapture]"
                  "=if_available.",
                  "final_capture");
    return;
  }
  if (sim_operation_add(call->sim->state, p, "capture", call->key, amount, "") == NULL) {
    reply_invalid(call, "parameter_invalid_integer", "Too many captures.", "amount_to_capture");
    return;
  }
  p->captured += amount;
  p->capturable = a->final ? 0 : p->capturable - amount;
  if (p->capturable == 0) sim_copy(p->status, sizeof p->status, "succeeded");
  sim_payment_check(p);
  procsim_reply_json(call, 200, intent_json(p));
}

static void cancel_act(procsim_call *call, void *argument) {
  intent_args *a = argument;
  sim_payment *p = find_intent(call, a->id);
  if (p == NULL) return;
  if (strcmp(p->status, "requires_capture") != 0 &&
      strcmp(p->status, "requires_payment_method") != 0) {
    reply_unexpected_state(call, p, "canceled", "requires_payment_method, requires_capture");
    return;
  }
  if (sim_operation_add(call->sim->state, p, "cancel", call->key, p->capturable, "") == NULL) {
    reply_invalid(call, NULL, "Too many operations.", NULL);
    return;
  }
  p->capturable = 0;
  sim_copy(p->status, sizeof p->status, p->captured > 0 ? "succeeded" : "canceled");
  sim_payment_check(p);
  procsim_reply_json(call, 200, intent_json(p));
}

/* --- Refunds -------------------------------------------------------------------------------- */

typedef struct refund_args {
  const char *payment_intent;
  const char *charge;
  int64_t amount; /* 0: the rest */
} refund_args;

static void refund_act(procsim_call *call, void *argument) {
  refund_args *a = argument;
  const char *id = a->payment_intent != NULL ? a->payment_intent : a->charge;
  sim_operation *found_op = NULL;
  sim_payment *p = sim_find(call->sim->state, SIM_STRIPE, id, &found_op);
  bool matches = p != NULL && found_op == NULL &&
                 strcmp(a->payment_intent != NULL ? p->reference : p->charge_reference, id) == 0;
  if (!matches) {
    char message[256];
    snprintf(message, sizeof message, "No such %s: '%.100s'",
             a->payment_intent != NULL ? "payment_intent" : "charge", id);
    reply_error(call, 404, "invalid_request_error", "resource_missing", message,
                a->payment_intent != NULL ? "payment_intent" : "charge");
    return;
  }
  if (p->captured == 0) {
    reply_invalid(call, "charge_not_refundable",
                  "This PaymentIntent does not have a successful charge to refund.",
                  a->payment_intent != NULL ? "payment_intent" : "charge");
    return;
  }
  if (p->refunded == p->captured) {
    char message[256];
    snprintf(message, sizeof message, "Charge %s has already been refunded.", p->charge_reference);
    reply_invalid(call, "charge_already_refunded", message, NULL);
    return;
  }
  int64_t remaining = p->captured - p->refunded;
  int64_t amount = a->amount != 0 ? a->amount : remaining;
  if (amount > remaining) {
    char message[256];
    snprintf(message, sizeof message,
             "Refund amount (%" PRId64 ") is greater than unrefunded amount on charge (%" PRId64
             ").",
             amount, remaining);
    reply_invalid(call, "amount_too_large", message, "amount");
    return;
  }
  char id_out[SIM_REFERENCE_BYTES_MAX + 1];
  sim_new_id(call->sim->state, "re_", ID_ALPHABET, STRIPE_ID_RANDOM_CHARS, id_out, sizeof id_out);
  sim_operation *op = sim_operation_add(call->sim->state, p, "refund", call->key, amount, id_out);
  if (op == NULL) {
    reply_invalid(call, NULL, "Too many refunds.", NULL);
    return;
  }
  p->refunded += amount;
  sim_payment_check(p);
  procsim_reply_json(call, 200, refund_json(p, op));
}

/* --- Routing -------------------------------------------------------------------------------- */

static const char *const capture_params[] = {"amount_to_capture", "final_capture", "metadata[*]",
                                             "expand[*]", NULL};
static const char *const cancel_params[] = {"cancellation_reason", "expand[*]", NULL};
static const char *const refund_params[] = {"payment_intent", "charge",    "amount", "reason",
                                            "metadata[*]",    "expand[*]", NULL};
static const char *const get_params[] = {"expand[*]", NULL};

typedef enum route {
  ROUTE_NONE,
  ROUTE_CREATE,
  ROUTE_RETRIEVE,
  ROUTE_CAPTURE,
  ROUTE_CANCEL,
  ROUTE_REFUND,
  ROUTE_REFUND_RETRIEVE,
} route;

/* Matches the path; *id receives the {id} segment (in id, size bytes). */
static route route_of(const http_request *request, char *id, size_t size) {
  const char *path = request->path;
  bool post = strcmp(request->method, "POST") == 0;
  bool get = strcmp(request->method, "GET") == 0;
  id[0] = '\0';
  if (strcmp(path, "/v1/payment_intents") == 0) return post ? ROUTE_CREATE : ROUTE_NONE;
  if (strcmp(path, "/v1/refunds") == 0) return post ? ROUTE_REFUND : ROUTE_NONE;
  const char *rest = NULL;
  bool refund = false;
  if (strncmp(path, "/v1/payment_intents/", 20) == 0) {
    rest = path + 20;
  } else if (strncmp(path, "/v1/refunds/", 12) == 0) {
    rest = path + 12;
    refund = true;
  } else {
    return ROUTE_NONE;
  }
  const char *slash = strchr(rest, '/');
  size_t len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
  if (len == 0 || len >= size) return ROUTE_NONE;
  memcpy(id, rest, len);
  id[len] = '\0';
  if (slash == NULL) return get ? (refund ? ROUTE_REFUND_RETRIEVE : ROUTE_RETRIEVE) : ROUTE_NONE;
  if (refund || !post) return ROUTE_NONE;
  if (strcmp(slash, "/capture") == 0) return ROUTE_CAPTURE;
  if (strcmp(slash, "/cancel") == 0) return ROUTE_CANCEL;
  return ROUTE_NONE;
}

static void retrieve(procsim_call *call, route r, const char *id) {
  sim_lock(call->sim->state);
  sim_operation *op = NULL;
  sim_payment *p = sim_find(call->sim->state, SIM_STRIPE, id, &op);
  if (r == ROUTE_RETRIEVE) {
    if (find_intent(call, id) != NULL) procsim_reply_json(call, 200, intent_json(p));
  } else if (p != NULL && op != NULL && strcmp(op->kind, "refund") == 0) {
    procsim_reply_json(call, 200, refund_json(p, op));
  } else {
    char message[256];
    snprintf(message, sizeof message, "No such refund: '%.100s'", id);
    reply_error(call, 404, "invalid_request_error", "resource_missing", message, "id");
  }
  sim_unlock(call->sim->state);
}

/* Runs one POST route after its parameters are checked. */
static void execute_post(procsim_call *call, route r, const char *id, const form *f,
                         const char *key) {
  unsigned char fingerprint[SIM_FINGERPRINT_BYTES];
  fingerprint_of(call, f, fingerprint);
  bool present = false;
  if (r == ROUTE_CREATE) {
    create_args a = {.form = f};
    if (!check_known(call, f, create_params) || !validate_create(call, f, &a)) return;
    procsim_execute(call, "stripe", key, fingerprint, &idem_style, create_act, &a);
  } else if (r == ROUTE_CAPTURE || r == ROUTE_CANCEL) {
    intent_args a = {.id = id};
    if (!check_known(call, f, r == ROUTE_CAPTURE ? capture_params : cancel_params)) return;
    if (r == ROUTE_CAPTURE && (!parse_amount(call, f, "amount_to_capture", &present, &a.amount) ||
                               !parse_bool(call, f, "final_capture", true, &a.final))) {
      return;
    }
    procsim_execute(call, "stripe", key, fingerprint, &idem_style,
                    r == ROUTE_CAPTURE ? capture_act : cancel_act, &a);
  } else {
    refund_args a = {.payment_intent = form_get(f, "payment_intent"),
                     .charge = form_get(f, "charge")};
    if (!check_known(call, f, refund_params)) return;
    if (a.payment_intent == NULL && a.charge == NULL) {
      reply_invalid(call, "parameter_missing",
                    "One of the following params should be provided for this request: "
                    "payment_intent or charge.",
                    NULL);
      return;
    }
    if (!parse_amount(call, f, "amount", &present, &a.amount)) return;
    procsim_execute(call, "stripe", key, fingerprint, &idem_style, refund_act, &a);
  }
}

void stripe_handle(procsim_call *call) {
  const http_request *request = call->request;
  if (!authorized(request)) {
    reply_error(call, 401, "invalid_request_error", NULL,
                "Invalid API Key provided. You did not provide a valid secret key.", NULL);
    return;
  }
  char id[SIM_REFERENCE_BYTES_MAX + 1];
  route r = route_of(request, id, sizeof id);
  if (r == ROUTE_NONE) {
    char message[HTTP_PATH_BYTES_MAX + 64];
    snprintf(message, sizeof message, "Unrecognized request URL (%s: %s).", request->method,
             request->path);
    reply_error(call, 404, "invalid_request_error", NULL, message, NULL);
    return;
  }
  bool post = r != ROUTE_RETRIEVE && r != ROUTE_REFUND_RETRIEVE;
  const char *text = post ? request->body : request->query;
  form f;
  if (!form_decode(text, strlen(text), &f)) {
    reply_invalid(call, NULL, "Invalid request body: malformed form encoding.", NULL);
    return;
  }
  if (!post) {
    if (check_known(call, &f, get_params)) retrieve(call, r, id);
    form_free(&f);
    return;
  }
  const char *key = http_header_get(request, "Idempotency-Key");
  if (key != NULL && (key[0] == '\0' || strlen(key) > STRIPE_KEY_BYTES_MAX)) {
    reply_invalid(call, NULL, "Idempotency-Key must be 1 to 255 characters.", NULL);
  } else {
    execute_post(call, r, id, &f, key);
  }
  form_free(&f);
}
