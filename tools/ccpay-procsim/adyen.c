/* Adyen Checkout API v71 (payments and modifications) and the classic refundWithData
 * (docs/PROCSIM.md, "Adyen").
 *
 * A refusal is HTTP 200 with resultCode Refused. Modifications answer 201 "received";
 * the real outcome would come by webhook. Procsim decides at once instead: a
 * modification that breaks the rules (capture over the capturable amount, refund over
 * the unrefunded capture, cancel with nothing left) is refused with HTTP 422, where
 * Adyen would accept it and send a webhook with success=false.
 *
 * Idempotency: an Idempotency-Key is scoped to the endpoint (path), as Adyen binds it to
 * the merchant account and endpoint; a resend gets the first answer whatever its body;
 * while the first is in progress, 409 errorCode 704 with Transient-Error: true. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "procsim.h"

#define ADYEN_API_KEY "procsim_adyen_key"
#define ADYEN_MERCHANT_ACCOUNT "CcpayProcsim"
#define DIGITS "0123456789"

/* Largest amount value accepted, in minor units: well past any test amount. */
static const int64_t ADYEN_AMOUNT_MAX = 100000000000LL;

enum {
  ADYEN_KEY_BYTES_MAX = 64,
  ADYEN_REFERENCE_BYTES_MAX = 80,
  ADYEN_PSP_DIGITS = 16,
};

/* --- Errors ------------------------------------------------------------------------------- */

static void reply_error(procsim_call *call, int status, const char *code, const char *type,
                        const char *message) {
  procsim_reply_json(call, status,
                     json_pack("{s:i, s:s, s:s, s:s}", "status", status, "errorCode", code,
                               "message", message, "errorType", type));
}

static void reply_validation(procsim_call *call, const char *code, const char *message) {
  reply_error(call, 422, code, "validation", message);
}

void adyen_server_error(procsim_call *call) {
  reply_error(call, 500, "000", "internal", "Internal error (procsim fault).");
  http_response_add_header(call->response, "Transient-Error", "true");
}

static void idem_in_progress(procsim_call *call) {
  reply_error(call, 409, "704", "validation", "request already processed or in progress");
  http_response_add_header(call->response, "Transient-Error", "true");
}

static const procsim_idem_style idem_style = {
    .mismatch = idem_in_progress, /* not reached: Adyen does not compare bodies */
    .in_progress = idem_in_progress,
    .replay_header = NULL,
};

/* --- Request fields ----------------------------------------------------------------------- */

typedef struct adyen_amount {
  int64_t value;
  char currency[4];
} adyen_amount;

/* Reads {"value": int > 0, "currency": "XXX"} from body.amount; answers 422 when bad. */
static bool parse_amount(procsim_call *call, const json_t *body, adyen_amount *out) {
  const json_t *amount = json_object_get(body, "amount");
  if (amount == NULL) {
    reply_validation(call, "100", "Required field 'amount' is not provided.");
    return false;
  }
  const json_t *value = json_object_get(amount, "value");
  const char *currency = json_string_value(json_object_get(amount, "currency"));
  if (!json_is_integer(value) || json_integer_value(value) <= 0 ||
      json_integer_value(value) > ADYEN_AMOUNT_MAX) {
    reply_validation(call, "137", "Invalid amount specified");
    return false;
  }
  bool ok = currency != NULL && strlen(currency) == 3;
  for (int i = 0; ok && i < 3; i++) ok = currency[i] >= 'A' && currency[i] <= 'Z';
  if (!ok) {
    reply_validation(call, "138", "Invalid currency specified");
    return false;
  }
  out->value = (int64_t)json_integer_value(value);
  memcpy(out->currency, currency, 4);
  return true;
}

static bool check_merchant(procsim_call *call, const json_t *body) {
  const char *account = json_string_value(json_object_get(body, "merchantAccount"));
  if (account == NULL) {
    reply_validation(call, "14_003", "Required field 'merchantAccount' is not provided.");
    return false;
  }
  if (strcmp(account, ADYEN_MERCHANT_ACCOUNT) != 0) {
    reply_error(call, 403, "901", "security", "Invalid Merchant Account");
    return false;
  }
  return true;
}

static json_t *amount_json(int64_t value, const char *currency) {
  return json_pack("{s:s, s:I}", "currency", currency, "value", (json_int_t)value);
}

static void new_psp(procsim_call *call, char *out, size_t size) {
  do {
    sim_new_id(call->sim->state, "", DIGITS, ADYEN_PSP_DIGITS, out, size);
  } while (out[0] == '0' || sim_find(call->sim->state, SIM_ADYEN, out, NULL) != NULL);
}

/* --- POST /v71/payments ------------------------------------------------------------------- */

typedef struct refusal {
  const char *holder;
  const char *reason;
  const char *code;
} refusal;

static const refusal refusals[] = {
    {"DECLINED", "Refused", "2"},
    {"CARD_EXPIRED", "Expired Card", "6"},
    {"NOT_ENOUGH_BALANCE", "Not enough balance", "12"},
    {"BLOCK_CARD", "Blocked Card", "5"},
};

typedef struct payment_args {
  const json_t *body;
  adyen_amount amount;
  const char *reference;
  const char *holder;
  bool manual;
} payment_args;

static const refusal *refusal_of(const char *holder) {
  for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
    if (strcmp(refusals[i].holder, holder) == 0) return &refusals[i];
  }
  return NULL;
}

static void payment_act(procsim_call *call, void *argument) {
  payment_args *a = argument;
  char psp[SIM_REFERENCE_BYTES_MAX + 1];
  new_psp(call, psp, sizeof psp);
  sim_payment *p = sim_payment_add(call->sim->state, SIM_ADYEN, psp);
  if (p == NULL) {
    reply_error(call, 500, "000", "internal", "procsim holds too many payments.");
    return;
  }
  const refusal *r = refusal_of(a->holder);
  sim_copy(p->merchant_reference, sizeof p->merchant_reference, a->reference);
  sim_copy(p->currency, sizeof p->currency, a->amount.currency);
  sim_copy(p->payment_method, sizeof p->payment_method, a->holder);
  sim_copy(p->avs_result, sizeof p->avs_result,
           strcmp(a->holder, "AVS_FAIL") == 0 ? "2 Neither postal code nor address match"
                                              : "7 Both postal code and address match");
  sim_copy(p->cvc_result, sizeof p->cvc_result,
           strcmp(a->holder, "CVC_FAIL") == 0 ? "2 Does not match" : "1 Matches");
  p->amount = a->amount.value;
  p->manual_capture = a->manual;
  if (r == NULL) {
    p->authorized = a->amount.value;
    p->capturable = a->manual ? a->amount.value : 0;
    p->captured = a->manual ? 0 : a->amount.value;
  }
  sim_copy(p->status, sizeof p->status,
           r != NULL ? "Refused" : (a->manual ? "Authorised" : "Captured"));
  sim_operation *op =
      sim_operation_add(call->sim->state, p, "authorize", call->key, p->authorized, psp);
  if (op != NULL) sim_copy(op->merchant_reference, sizeof op->merchant_reference, a->reference);
  if (r == NULL && !a->manual)
    sim_operation_add(call->sim->state, p, "capture", call->key, p->captured, "");
  sim_payment_check(p);
  json_t *reply =
      json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:o, s:s}", "additionalData", "avsResult",
                p->avs_result, "cvcResult", p->cvc_result, "fraudResultType", "GREEN",
                "pspReference", psp, "resultCode", r != NULL ? "Refused" : "Authorised", "amount",
                amount_json(p->amount, p->currency), "merchantReference", a->reference);
  if (reply != NULL && r != NULL) {
    json_object_set_new(reply, "refusalReason", json_string(r->reason));
    json_object_set_new(reply, "refusalReasonCode", json_string(r->code));
  }
  procsim_reply_json(call, 200, reply);
}

static bool validate_payment(procsim_call *call, const json_t *body, payment_args *a) {
  if (!parse_amount(call, body, &a->amount)) return false;
  a->reference = json_string_value(json_object_get(body, "reference"));
  if (a->reference == NULL || a->reference[0] == '\0') {
    reply_validation(call, "130", "Required field 'reference' is not provided.");
    return false;
  }
  if (strlen(a->reference) > ADYEN_REFERENCE_BYTES_MAX) {
    reply_validation(call, "130", "Field 'reference' is too long.");
    return false;
  }
  const json_t *method = json_object_get(body, "paymentMethod");
  if (!json_is_object(method)) {
    reply_validation(call, "08_001", "Required field 'paymentMethod' is not provided.");
    return false;
  }
  const char *holder = json_string_value(json_object_get(method, "holderName"));
  a->holder = holder != NULL ? holder : "";
  const char *manual =
      json_string_value(json_object_get(json_object_get(body, "additionalData"), "manualCapture"));
  a->manual = manual != NULL && strcmp(manual, "true") == 0;
  return true;
}

/* --- Modifications ------------------------------------------------------------------------ */

typedef enum modification { MOD_CAPTURE, MOD_CANCEL, MOD_REFUND, MOD_REVERSAL } modification;

static const char *const modification_kinds[] = {"capture", "cancel", "refund", "reversal"};

typedef struct modification_args {
  modification kind;
  char psp[SIM_REFERENCE_BYTES_MAX + 1];
  adyen_amount amount; /* captures and refunds */
  const char *reference;
} modification_args;

/* Checks the rules for a on p; answers 422 and returns false when broken. */
static bool modification_allowed(procsim_call *call, const modification_args *a,
                                 const sim_payment *p) {
  bool amount_kind = a->kind == MOD_CAPTURE || a->kind == MOD_REFUND;
  if (amount_kind && strcmp(a->amount.currency, p->currency) != 0) {
    reply_validation(call, "138", "Currency of the modification does not match the payment.");
    return false;
  }
  switch (a->kind) {
    case MOD_CAPTURE:
      if (a->amount.value > p->capturable) {
        reply_validation(call, "137", "Invalid amount specified: more than the capturable amount.");
        return false;
      }
      return true;
    case MOD_CANCEL:
      if (p->capturable == 0) {
        reply_validation(call, "167", "Original pspReference has nothing left to cancel.");
        return false;
      }
      return true;
    case MOD_REFUND:
      if (a->amount.value > p->captured - p->refunded) {
        reply_validation(call, "137",
                         "Invalid amount specified: more than the unrefunded capture.");
        return false;
      }
      return true;
    case MOD_REVERSAL:
      if (p->capturable == 0 && p->captured == p->refunded) {
        reply_validation(call, "167", "Original pspReference has nothing left to reverse.");
        return false;
      }
      return true;
  }
  return false;
}

/* Applies a (allowed) to p; returns the amount of the operation. */
static int64_t modification_apply(const modification_args *a, sim_payment *p) {
  int64_t amount = 0;
  switch (a->kind) {
    case MOD_CAPTURE:
      amount = a->amount.value;
      p->captured += amount;
      p->capturable -= amount;
      break;
    case MOD_CANCEL:
      amount = p->capturable;
      p->capturable = 0;
      break;
    case MOD_REFUND:
      amount = a->amount.value;
      p->refunded += amount;
      break;
    case MOD_REVERSAL:
      /* Cancel what is uncaptured, refund what is captured and not yet refunded. */
      amount = p->captured - p->refunded;
      p->refunded = p->captured;
      p->capturable = 0;
      break;
  }
  if (p->capturable == 0 && p->captured == 0) {
    sim_copy(p->status, sizeof p->status, "Cancelled");
  } else if (p->capturable == 0) {
    sim_copy(p->status, sizeof p->status, "Captured");
  }
  sim_payment_check(p);
  return amount;
}

static void modification_act(procsim_call *call, void *argument) {
  modification_args *a = argument;
  sim_operation *found = NULL;
  sim_payment *p = sim_find(call->sim->state, SIM_ADYEN, a->psp, &found);
  if (p == NULL || found != NULL || p->unlinked || strcmp(p->status, "Refused") == 0) {
    reply_validation(call, "167", "Original pspReference required for this operation");
    return;
  }
  if (!modification_allowed(call, a, p)) return;
  if (p->operation_count >= SIM_OPERATIONS_PER_PAYMENT_MAX) {
    reply_validation(call, "000", "Too many modifications of this payment.");
    return;
  }
  char psp[SIM_REFERENCE_BYTES_MAX + 1];
  new_psp(call, psp, sizeof psp);
  int64_t amount = modification_apply(a, p);
  sim_operation *op =
      sim_operation_add(call->sim->state, p, modification_kinds[a->kind], call->key, amount, psp);
  CHECK(op != NULL);
  sim_copy(op->merchant_reference, sizeof op->merchant_reference,
           a->reference != NULL ? a->reference : "");
  json_t *reply =
      json_pack("{s:s, s:s, s:s, s:s}", "merchantAccount", ADYEN_MERCHANT_ACCOUNT,
                "paymentPspReference", p->reference, "pspReference", psp, "status", "received");
  if (reply != NULL && a->reference != NULL) {
    json_object_set_new(reply, "reference", json_string(a->reference));
  }
  if (reply != NULL && (a->kind == MOD_CAPTURE || a->kind == MOD_REFUND)) {
    json_object_set_new(reply, "amount", amount_json(a->amount.value, a->amount.currency));
  }
  procsim_reply_json(call, 201, reply);
}

/* --- refundWithData (classic, unlinked) ----------------------------------------------------- */

typedef struct unlinked_args {
  adyen_amount amount;
  const char *reference;
} unlinked_args;

static void unlinked_act(procsim_call *call, void *argument) {
  unlinked_args *a = argument;
  char psp[SIM_REFERENCE_BYTES_MAX + 1];
  new_psp(call, psp, sizeof psp);
  sim_payment *p = sim_payment_add(call->sim->state, SIM_ADYEN, psp);
  if (p == NULL) {
    reply_error(call, 500, "000", "internal", "procsim holds too many payments.");
    return;
  }
  p->unlinked = true;
  p->amount = a->amount.value;
  p->refunded = a->amount.value;
  sim_copy(p->currency, sizeof p->currency, a->amount.currency);
  sim_copy(p->merchant_reference, sizeof p->merchant_reference, a->reference);
  sim_copy(p->status, sizeof p->status, "Refunded");
  sim_operation *op = sim_operation_add(call->sim->state, p, "refund", call->key, p->refunded, psp);
  if (op != NULL) sim_copy(op->merchant_reference, sizeof op->merchant_reference, a->reference);
  sim_payment_check(p);
  procsim_reply_json(
      call, 200,
      json_pack("{s:s, s:s}", "pspReference", psp, "response", "[refundWithData-received]"));
}

/* --- Routing ------------------------------------------------------------------------------- */

/* Parses "/v71/payments/{psp}/{captures|cancels|refunds|reversals}". */
static bool parse_modification_path(const char *path, modification_args *a) {
  static const char prefix[] = "/v71/payments/";
  if (strncmp(path, prefix, sizeof prefix - 1) != 0) return false;
  const char *psp = path + sizeof prefix - 1;
  const char *slash = strchr(psp, '/');
  if (slash == NULL || slash == psp || (size_t)(slash - psp) >= sizeof a->psp) return false;
  memcpy(a->psp, psp, (size_t)(slash - psp));
  a->psp[slash - psp] = '\0';
  static const char *const suffixes[] = {"/captures", "/cancels", "/refunds", "/reversals"};
  for (int k = MOD_CAPTURE; k <= MOD_REVERSAL; k++) {
    if (strcmp(slash, suffixes[k]) == 0) {
      a->kind = (modification)k;
      return true;
    }
  }
  return false;
}

static void route(procsim_call *call, const json_t *body, const char *key) {
  static const unsigned char any_body[SIM_FINGERPRINT_BYTES] = {0};
  const char *path = call->request->path;
  char scope[HTTP_PATH_BYTES_MAX + 8];
  snprintf(scope, sizeof scope, "adyen %s", path);
  modification_args m = {0};
  if (strcmp(path, "/v71/payments") == 0) {
    payment_args a = {.body = body};
    if (validate_payment(call, body, &a)) {
      procsim_execute(call, scope, key, any_body, &idem_style, payment_act, &a);
    }
  } else if (parse_modification_path(path, &m)) {
    bool amount_kind = m.kind == MOD_CAPTURE || m.kind == MOD_REFUND;
    m.reference = json_string_value(json_object_get(body, "reference"));
    if (!amount_kind || parse_amount(call, body, &m.amount)) {
      procsim_execute(call, scope, key, any_body, &idem_style, modification_act, &m);
    }
  } else if (strcmp(path, "/pal/servlet/Payment/v68/refundWithData") == 0) {
    unlinked_args a = {.reference = json_string_value(json_object_get(body, "reference"))};
    if (!call->sim->config.adyen_unlinked_refunds) {
      reply_error(call, 403, "010", "security", "Not allowed");
    } else if (a.reference == NULL) {
      reply_validation(call, "130", "Required field 'reference' is not provided.");
    } else if (parse_amount(call, body, &a.amount)) {
      procsim_execute(call, scope, key, any_body, &idem_style, unlinked_act, &a);
    }
  } else {
    reply_error(call, 404, "000", "validation", "Unknown endpoint");
  }
}

void adyen_handle(procsim_call *call) {
  const http_request *request = call->request;
  const char *api_key = http_header_get(request, "X-API-Key");
  if (api_key == NULL || strcmp(api_key, ADYEN_API_KEY) != 0) {
    reply_error(call, 401, "000", "security", "HTTP Status Response - Unauthorized");
    return;
  }
  if (strcmp(request->method, "POST") != 0) {
    reply_error(call, 405, "000", "validation", "Method not allowed");
    return;
  }
  const char *key = http_header_get(request, "Idempotency-Key");
  if (key != NULL && (key[0] == '\0' || strlen(key) > ADYEN_KEY_BYTES_MAX)) {
    reply_validation(call, "000", "Idempotency-Key must be 1 to 64 characters.");
    return;
  }
  json_error_t error;
  json_t *body = json_loadb(request->body, request->body_len, JSON_REJECT_DUPLICATES, &error);
  if (!json_is_object(body)) {
    reply_error(call, 400, "702", "validation", "Unexpected input: the body is not a JSON object.");
  } else if (check_merchant(call, body)) {
    route(call, body, key);
  }
  json_decref(body);
}
