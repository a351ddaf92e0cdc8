/* Authorize.Net's wire format (see authorizenet_wire.h). Facts from the AnetApiSchema.xsd
 * and the API reference (developer.authorize.net/api/reference):
 *   - createTransactionRequest: merchantAuthentication, clientId, refId,
 *     transactionRequest, in that order; transactionRequestType's sequence begins
 *     transactionType, amount, currencyCode, payment, profile, solution, callId,
 *     terminalNumber, authCode, refTransId, splitTenderId, order, lineItems, tax, duty,
 *     shipping, taxExempt, poNumber, customer, billTo, shipTo, ...;
 *   - orderType: invoiceNumber (≤ 20), description (≤ 255), ...; nameAndAddressType:
 *     firstName, lastName, company, address, city, state, zip, country;
 *   - paymentType is a choice: creditCard {cardNumber, expirationDate, cardCode}, ...,
 *     opaqueData {dataDescriptor, dataValue, dataKey};
 *   - getTransactionDetailsRequest: merchantAuthentication, clientId, refId, transId;
 *     getUnsettledTransactionListRequest: merchantAuthentication, clientId, refId,
 *     status, sorting {orderBy, orderDescending}, paging {limit, offset};
 *   - transactionResponse: responseCode 1 approved, 2 declined, 3 error, 4 held for
 *     review; errors [{errorCode, errorText}]; reason 11 is a duplicate within the
 *     duplicate window (default 120 s). */
#include "authorizenet_wire.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "domain/currency.h"
#include "domain/money.h"

typedef Ccpay__Gateway__V1__OperationResult result_t;

enum {
  ANET_WIRE_TEXT_BYTES_MAX = 512,
  ANET_WIRE_AMOUNT_BYTES_MAX = 32,
  ANET_WIRE_EXPONENT_MAX = 4,
};

#define OUTCOME(x) CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_##x

/* --- Small utilities ----------------------------------------------------------------------- */

static bool present(const char *s) { return s != NULL && s[0] != '\0'; }

static char *dump(arena *a, json_t *document) {
  if (document == NULL) return NULL;
  char *text = json_dumps(document, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(document);
  if (text == NULL) return NULL;
  char *copy = arena_strndup(a, text, strlen(text));
  free(text);
  return copy;
}

/* Appends name: value (stolen) to object; false when out of memory (value freed). */
static bool put(json_t *object, const char *name, json_t *value) {
  if (value == NULL) return false;
  return json_object_set_new(object, name, value) == 0;
}

static bool put_text(json_t *object, const char *name, const char *value) {
  return put(object, name, json_string(value));
}

/* The first element of an array, or the value itself when it is an object (an XML list
 * of one may come as a bare object). */
static const json_t *first_of(const json_t *v) {
  return json_is_array(v) ? json_array_get(v, 0) : v;
}

static const char *text_at(const json_t *object, const char *name) {
  return json_string_value(json_object_get(object, name));
}

static bool set_text(arena *a, char **field, const char *text) {
  if (text == NULL) return true;
  size_t len = strlen(text); /* NUL-terminated: jansson's or a literal */
  char *copy =
      arena_strndup(a, text, len < ANET_WIRE_TEXT_BYTES_MAX ? len : ANET_WIRE_TEXT_BYTES_MAX);
  if (copy == NULL) return false;
  *field = copy;
  return true;
}

/* The first len bytes of s, cut to at most max bytes on a UTF-8 character boundary. */
static json_t *string_prefix(const char *s, size_t len, size_t max) {
  if (len > max) {
    len = max;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
  }
  return json_stringn(s, len);
}

static json_t *merchant_authentication(const authorizenet_wire_credentials *c) {
  CHECK(c != NULL && present(c->api_login_id) && present(c->transaction_key));
  json_t *auth = json_object();
  if (auth == NULL) return NULL;
  if (!put_text(auth, "name", c->api_login_id) ||
      !put_text(auth, "transactionKey", c->transaction_key)) {
    json_decref(auth);
    return NULL;
  }
  return auth;
}

/* --- Values -------------------------------------------------------------------------------- */

bool authorizenet_wire_format_amount(int64_t amount_minor, unsigned exponent, char *out,
                                     size_t size) {
  CHECK(out != NULL && size > 0);
  if (amount_minor < 0 || exponent > ANET_WIRE_EXPONENT_MAX) return false;
  int64_t scale = 1;
  for (unsigned i = 0; i < exponent; i++) scale *= 10;
  int n = exponent == 0 ? snprintf(out, size, "%" PRId64, amount_minor)
                        : snprintf(out, size, "%" PRId64 ".%0*" PRId64, amount_minor / scale,
                                   (int)exponent, amount_minor % scale);
  return n > 0 && (size_t)n < size;
}

bool authorizenet_wire_parse_amount(const char *text, unsigned exponent, int64_t *minor_out) {
  CHECK(minor_out != NULL);
  if (text == NULL || exponent > ANET_WIRE_EXPONENT_MAX) return false;
  const int64_t limit = INT64_MAX / 10 - 9;
  int64_t minor = 0;
  const char *p = text;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (minor > limit) return false;
    minor = minor * 10 + (*p - '0');
  }
  if (p == text) return false;
  unsigned decimals = 0;
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++, decimals++) {
      if (decimals >= exponent || minor > limit) return false;
      minor = minor * 10 + (*p - '0');
    }
    if (decimals == 0) return false;
  }
  if (*p != '\0') return false;
  for (; decimals < exponent; decimals++) {
    if (minor > limit) return false;
    minor *= 10;
  }
  *minor_out = minor;
  return true;
}

const char *authorizenet_wire_skip_bom(const char *body, size_t *len) {
  CHECK(len != NULL);
  if (body != NULL && *len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
    *len -= 3;
    return body + 3;
  }
  return body;
}

bool authorizenet_wire_trans_id_valid(const char *s) {
  if (s == NULL) return false;
  size_t len = strnlen(s, ANET_WIRE_TRANS_ID_BYTES_MAX + 1);
  if (len == 0 || len > ANET_WIRE_TRANS_ID_BYTES_MAX) return false;
  return strspn(s, "0123456789") == len;
}

/* An amount as JSON: a number from the real API, a decimal string from some answers. */
static bool amount_of(const json_t *v, unsigned exponent, int64_t *minor) {
  if (json_is_string(v))
    return authorizenet_wire_parse_amount(json_string_value(v), exponent, minor);
  if (json_is_integer(v)) {
    char text[ANET_WIRE_AMOUNT_BYTES_MAX];
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return authorizenet_wire_parse_amount(text, exponent, minor);
  }
  if (json_is_real(v)) {
    /* Rounded to the currency's decimals, then read exactly as a decimal string. */
    char text[ANET_WIRE_AMOUNT_BYTES_MAX];
    double d = json_real_value(v);
    if (!(d >= 0 && d < 1e15)) return false;
    snprintf(text, sizeof text, "%.*f", (int)exponent, d);
    return authorizenet_wire_parse_amount(text, exponent, minor);
  }
  return false;
}

/* --- Requests ------------------------------------------------------------------------------ */

typedef struct txn_parts {
  authorizenet_wire_kind kind;
  const char *key;
  const Ccpay__V1__Money *amount; /* NULL: no amount element */
  const Ccpay__Gateway__V1__Card *card;
  const char *ref_trans_id; /* NULL: none */
  const char *description;  /* order.description; may be NULL */
  bool order;               /* send order {invoiceNumber: key, ...} */
} txn_parts;

static const char *const kind_names[] = {
    [ANET_WIRE_AUTH_ONLY] = "authOnlyTransaction",
    [ANET_WIRE_AUTH_CAPTURE] = "authCaptureTransaction",
    [ANET_WIRE_PRIOR_AUTH_CAPTURE] = "priorAuthCaptureTransaction",
    [ANET_WIRE_VOID] = "voidTransaction",
    [ANET_WIRE_REFUND] = "refundTransaction",
    [ANET_WIRE_CREDIT] = "refundTransaction",
};

static json_t *payment_opaque(const Ccpay__Gateway__V1__Card *card) {
  return json_pack("{s:{s:s, s:s}}", "opaqueData", "dataDescriptor", ANET_WIRE_DATA_DESCRIPTOR,
                   "dataValue", card->token);
}

static json_t *payment_last4(const Ccpay__Gateway__V1__Card *card) {
  return json_pack("{s:{s:s, s:s}}", "creditCard", "cardNumber", card->last4, "expirationDate",
                   "XXXX");
}

/* billTo: the holder's name split at its last space (first name(s), last name), and the
 * postal code; NULL members are left out. Returns an empty object when nothing is known. */
static json_t *bill_to(const Ccpay__Gateway__V1__Card *card) {
  json_t *to = json_object();
  if (to == NULL) return NULL;
  bool ok = true;
  const char *name = card->holder_name;
  if (present(name)) {
    const char *space = strrchr(name, ' ');
    bool split = space != NULL && space != name && space[1] != '\0';
    if (split) {
      ok = put(to, "firstName",
               string_prefix(name, (size_t)(space - name), ANET_WIRE_NAME_BYTES_MAX));
    }
    const char *last = split ? space + 1 : name;
    ok = ok && put(to, "lastName", string_prefix(last, strlen(last), ANET_WIRE_NAME_BYTES_MAX));
  }
  if (ok && present(card->postal_code)) {
    ok = put(to, "zip",
             string_prefix(card->postal_code, strlen(card->postal_code), ANET_WIRE_ZIP_BYTES_MAX));
  }
  if (!ok) {
    json_decref(to);
    return NULL;
  }
  return to;
}

/* transactionRequest, in the schema's order. */
static json_t *transaction_request(const txn_parts *t, const char *amount_text) {
  json_t *r = json_object();
  if (r == NULL) return NULL;
  bool ok = put_text(r, "transactionType", kind_names[t->kind]);
  if (ok && amount_text != NULL) ok = put_text(r, "amount", amount_text);
  bool opaque = t->kind == ANET_WIRE_AUTH_ONLY || t->kind == ANET_WIRE_AUTH_CAPTURE ||
                t->kind == ANET_WIRE_CREDIT;
  if (ok && opaque) ok = put(r, "payment", payment_opaque(t->card));
  if (ok && t->kind == ANET_WIRE_REFUND) ok = put(r, "payment", payment_last4(t->card));
  if (ok && t->ref_trans_id != NULL) ok = put_text(r, "refTransId", t->ref_trans_id);
  if (ok && t->order) {
    json_t *order = json_pack("{s:s}", "invoiceNumber", t->key);
    ok = order != NULL;
    if (ok && present(t->description)) {
      ok = put(
          order, "description",
          string_prefix(t->description, strlen(t->description), ANET_WIRE_DESCRIPTION_BYTES_MAX));
    }
    ok = ok ? put(r, "order", order) : (json_decref(order), false);
  }
  if (ok && opaque) {
    json_t *to = bill_to(t->card);
    ok = to != NULL && (json_object_size(to) == 0 ? (json_decref(to), true) : put(r, "billTo", to));
  }
  if (!ok) {
    json_decref(r);
    return NULL;
  }
  return r;
}

static ccpay_err build(arena *a, const authorizenet_wire_credentials *c, const txn_parts *t,
                       char **body_out, ccpay_error *error) {
  CHECK(a != NULL && body_out != NULL && t->key != NULL);
  *body_out = NULL;
  if (strlen(t->key) > ANET_WIRE_REF_ID_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "idempotency_key: Authorize.Net takes at most %d characters (refId, "
                           "invoiceNumber)",
                           ANET_WIRE_REF_ID_BYTES_MAX);
  }
  char amount_text[ANET_WIRE_AMOUNT_BYTES_MAX];
  if (t->amount != NULL) {
    const currency *cur = currency_find(t->amount->currency_code);
    if (cur == NULL) {
      return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY, "amount.currency_code: unknown");
    }
    if (!authorizenet_wire_format_amount(t->amount->amount_minor, cur->exponent, amount_text,
                                         sizeof amount_text)) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "amount: cannot be sent");
    }
  }
  bool needs_card = t->kind != ANET_WIRE_PRIOR_AUTH_CAPTURE && t->kind != ANET_WIRE_VOID;
  if (needs_card && t->card == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "card: required");
  }
  if (t->kind != ANET_WIRE_REFUND && needs_card && !present(t->card->token)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "card.token: required");
  }
  if (t->kind == ANET_WIRE_REFUND &&
      (strlen(t->card->last4) != 4 || strspn(t->card->last4, "0123456789") != 4)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "card.last4: Authorize.Net needs the card's last four digits to refund");
  }
  if (t->ref_trans_id != NULL && !authorizenet_wire_trans_id_valid(t->ref_trans_id)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "payment_reference: an Authorize.Net transId is digits only");
  }
  json_t *request = json_object();
  json_t *root = request != NULL ? json_pack("{s:o}", "createTransactionRequest", request) : NULL;
  bool ok = root != NULL && put(request, "merchantAuthentication", merchant_authentication(c)) &&
            put_text(request, "refId", t->key) &&
            put(request, "transactionRequest",
                transaction_request(t, t->amount != NULL ? amount_text : NULL));
  if (!ok) {
    json_decref(root);
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory building the request");
  }
  *body_out = dump(a, root);
  if (*body_out == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory building the request");
  }
  return CCPAY_OK;
}

ccpay_err authorizenet_wire_authorize_body(arena *a, const authorizenet_wire_credentials *c,
                                           const Ccpay__Gateway__V1__AuthorizeRequest *request,
                                           char **body_out, ccpay_error *error) {
  CHECK(request != NULL && request->amount != NULL);
  txn_parts t = {.kind = request->capture ? ANET_WIRE_AUTH_CAPTURE : ANET_WIRE_AUTH_ONLY,
                 .key = request->idempotency_key,
                 .amount = request->amount,
                 .card = request->card,
                 .description = request->order_reference,
                 .order = true};
  return build(a, c, &t, body_out, error);
}

ccpay_err authorizenet_wire_capture_body(arena *a, const authorizenet_wire_credentials *c,
                                         const Ccpay__Gateway__V1__CaptureRequest *request,
                                         char **body_out, ccpay_error *error) {
  CHECK(request != NULL && request->amount != NULL);
  txn_parts t = {.kind = ANET_WIRE_PRIOR_AUTH_CAPTURE,
                 .key = request->idempotency_key,
                 .amount = request->amount,
                 .ref_trans_id = request->payment_reference,
                 .description = request->order_reference,
                 .order = true};
  return build(a, c, &t, body_out, error);
}

ccpay_err authorizenet_wire_void_body(arena *a, const authorizenet_wire_credentials *c,
                                      const Ccpay__Gateway__V1__VoidRequest *request,
                                      char **body_out, ccpay_error *error) {
  CHECK(request != NULL);
  txn_parts t = {.kind = ANET_WIRE_VOID,
                 .key = request->idempotency_key,
                 .ref_trans_id = request->payment_reference};
  return build(a, c, &t, body_out, error);
}

ccpay_err authorizenet_wire_refund_body(arena *a, const authorizenet_wire_credentials *c,
                                        const Ccpay__Gateway__V1__RefundRequest *request,
                                        char **body_out, ccpay_error *error) {
  CHECK(request != NULL && request->amount != NULL);
  bool linked = present(request->payment_reference);
  txn_parts t = {.kind = linked ? ANET_WIRE_REFUND : ANET_WIRE_CREDIT,
                 .key = request->idempotency_key,
                 .amount = request->amount,
                 .card = request->card,
                 .ref_trans_id = linked ? request->payment_reference : NULL,
                 .description = request->order_reference,
                 .order = true};
  return build(a, c, &t, body_out, error);
}

/* {root_name: {merchantAuthentication, ...}}: the document and, in *request_out, its
 * request object (borrowed) to append to. NULL when out of memory. */
static json_t *query_document(const char *root_name, const authorizenet_wire_credentials *c,
                              json_t **request_out) {
  json_t *request = json_object();
  json_t *root = request != NULL ? json_pack("{s:o}", root_name, request) : NULL;
  if (root == NULL || !put(request, "merchantAuthentication", merchant_authentication(c))) {
    json_decref(root);
    return NULL;
  }
  *request_out = request;
  return root;
}

char *authorizenet_wire_details_body(arena *a, const authorizenet_wire_credentials *c,
                                     const char *trans_id) {
  CHECK(authorizenet_wire_trans_id_valid(trans_id));
  json_t *request = NULL;
  json_t *root = query_document("getTransactionDetailsRequest", c, &request);
  if (root != NULL && !put_text(request, "transId", trans_id)) {
    json_decref(root);
    return NULL;
  }
  return dump(a, root);
}

char *authorizenet_wire_unsettled_body(arena *a, const authorizenet_wire_credentials *c,
                                       unsigned page) {
  CHECK(page >= 1);
  json_t *request = NULL;
  json_t *root = query_document("getUnsettledTransactionListRequest", c, &request);
  if (root != NULL &&
      (!put(request, "sorting",
            json_pack("{s:s, s:b}", "orderBy", "submitTimeUTC", "orderDescending", 1)) ||
       !put(request, "paging",
            json_pack("{s:i, s:i}", "limit", ANET_WIRE_LIST_PAGE_LIMIT, "offset", (int)page)))) {
    json_decref(root);
    return NULL;
  }
  return dump(a, root);
}

/* --- Answers ------------------------------------------------------------------------------- */

static json_t *parse(const char *body, size_t body_len) {
  if (body == NULL) return NULL;
  const char *text = authorizenet_wire_skip_bom(body, &body_len);
  json_error_t error;
  json_t *root = json_loadb(text, body_len, 0, &error);
  if (!json_is_object(root)) {
    json_decref(root);
    return NULL;
  }
  return root;
}

/* The status word a successful operation of kind leaves its transaction in. */
static const char *success_status(authorizenet_wire_kind kind) {
  switch (kind) {
    case ANET_WIRE_AUTH_ONLY:
      return "authorizedPendingCapture";
    case ANET_WIRE_AUTH_CAPTURE:
    case ANET_WIRE_PRIOR_AUTH_CAPTURE:
      return "capturedPendingSettlement";
    case ANET_WIRE_VOID:
      return "voided";
    case ANET_WIRE_REFUND:
    case ANET_WIRE_CREDIT:
      return "refundPendingSettlement";
  }
  return "";
}

static bool set_requested(arena *a, const Ccpay__V1__Money *requested, result_t *r) {
  if (requested == NULL) return true;
  r->amount = money_message(a, requested->currency_code, requested->amount_minor);
  return r->amount != NULL;
}

/* messages.resultCode Error (no transaction answer): FAILED with the first E-code. */
static bool map_messages_error(arena *a, const json_t *root, result_t *r) {
  const json_t *m = first_of(json_object_get(json_object_get(root, "messages"), "message"));
  const char *code = text_at(m, "code");
  const char *text = text_at(m, "text");
  r->outcome = OUTCOME(FAILED);
  char message[ANET_WIRE_TEXT_BYTES_MAX];
  bool auth = code != NULL && strcmp(code, "E00007") == 0;
  snprintf(message, sizeof message, "%s%s", auth ? "configuration: " : "",
           text != NULL ? text : "Authorize.Net answered Error");
  return set_text(a, &r->decline_code, code) && set_text(a, &r->message, message) &&
         set_text(a, &r->processor_status, "error");
}

static bool map_transaction_response(arena *a, authorizenet_wire_kind kind, const json_t *t,
                                     const Ccpay__V1__Money *requested, result_t *r,
                                     bool *duplicate) {
  const char *code = text_at(t, "responseCode");
  const json_t *e = first_of(json_object_get(t, "errors"));
  const char *error_code = text_at(e, "errorCode");
  const char *error_text = text_at(e, "errorText");
  const char *trans_id = text_at(t, "transId");
  bool real_id = trans_id != NULL && strcmp(trans_id, "0") != 0;
  bool ok = (!real_id || set_text(a, &r->processor_reference, trans_id)) &&
            set_text(a, &r->avs_result, text_at(t, "avsResultCode")) &&
            set_text(a, &r->cvv_result, text_at(t, "cvvResultCode"));
  if (code != NULL && strcmp(code, "1") == 0) {
    r->outcome = OUTCOME(SUCCEEDED);
    return ok && set_text(a, &r->processor_status, success_status(kind)) &&
           set_requested(a, requested, r);
  }
  if (code != NULL && strcmp(code, "2") == 0) {
    r->outcome = OUTCOME(DECLINED);
    return ok && set_text(a, &r->decline_code, error_code) &&
           set_text(a, &r->message, error_text) && set_text(a, &r->processor_status, "declined");
  }
  if (code != NULL && strcmp(code, "3") == 0 && error_code != NULL &&
      strcmp(error_code, "11") == 0) {
    *duplicate = true;
    r->outcome = OUTCOME(UNKNOWN);
    return ok && set_text(a, &r->decline_code, error_code) &&
           set_text(a, &r->message, "duplicate of a transaction within the window; look it up") &&
           set_text(a, &r->processor_status, "duplicate");
  }
  if (code != NULL && strcmp(code, "3") == 0) {
    r->outcome = OUTCOME(FAILED);
    return ok && set_text(a, &r->decline_code, error_code) &&
           set_text(a, &r->message, error_text != NULL ? error_text : "Authorize.Net error") &&
           set_text(a, &r->processor_status, "error");
  }
  if (code != NULL && strcmp(code, "4") == 0) {
    r->outcome = OUTCOME(UNKNOWN);
    return ok && set_text(a, &r->processor_status, "heldForReview") &&
           set_text(a, &r->message, "held for review by the fraud filters; look it up later") &&
           set_requested(a, requested, r);
  }
  r->outcome = OUTCOME(UNKNOWN);
  return ok && set_text(a, &r->message, "Authorize.Net's answer has no known responseCode");
}

bool authorizenet_wire_map_transaction(arena *a, authorizenet_wire_kind kind, long http_status,
                                       const char *body, size_t body_len,
                                       const Ccpay__V1__Money *requested, result_t *result,
                                       bool *duplicate_out) {
  CHECK(a != NULL && result != NULL && duplicate_out != NULL);
  *duplicate_out = false;
  if (http_status != 200) {
    bool maybe = http_status >= 500 || http_status == 408 || http_status == 429;
    result->outcome = maybe ? OUTCOME(UNKNOWN) : OUTCOME(FAILED);
    char text[ANET_WIRE_TEXT_BYTES_MAX];
    snprintf(text, sizeof text, "Authorize.Net answered HTTP %ld%s", http_status,
             maybe ? "; look it up later" : "");
    return set_text(a, &result->message, text);
  }
  json_t *root = parse(body, body_len);
  const json_t *t = json_object_get(root, "transactionResponse");
  const char *result_code = text_at(json_object_get(root, "messages"), "resultCode");
  bool ok;
  if (json_is_object(t) && text_at(t, "responseCode") != NULL) {
    ok = map_transaction_response(a, kind, t, requested, result, duplicate_out);
  } else if (root != NULL && result_code != NULL && strcmp(result_code, "Error") == 0) {
    ok = map_messages_error(a, root, result);
  } else {
    result->outcome = OUTCOME(UNKNOWN);
    ok = set_text(a, &result->message, "Authorize.Net's answer cannot be read; look it up later");
  }
  json_decref(root);
  return ok;
}

/* --- Look-ups ------------------------------------------------------------------------------ */

static bool in(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(s, list[i]) == 0) return true;
  }
  return false;
}

#define IN(s, list) in((s), (list), sizeof(list) / sizeof((list)[0]))

static const char *const declined_statuses[] = {"declined", "failedReview"};
static const char *const review_statuses[] = {"FDSPendingReview", "FDSAuthorizedPendingReview",
                                              "underReview"};
static const char *const error_statuses[] = {"generalError", "communicationError",
                                             "settlementError"};
static const char *const captured_statuses[] = {"capturedPendingSettlement",
                                                "settledSuccessfully",
                                                "pendingFinalSettlement",
                                                "pendingSettlement",
                                                "updatingSettlement",
                                                "returnedItem",
                                                "chargeback",
                                                "chargebackReversal"};

Ccpay__Gateway__V1__Outcome authorizenet_wire_status_outcome(authorizenet_wire_kind kind,
                                                             const char *status) {
  if (status == NULL) return OUTCOME(UNKNOWN);
  if (IN(status, review_statuses)) return OUTCOME(UNKNOWN);
  switch (kind) {
    case ANET_WIRE_PRIOR_AUTH_CAPTURE:
      /* The authorization's status: captured means our capture happened (one capture
       * per authorization); still pending capture means it never did. */
      if (IN(status, captured_statuses)) return OUTCOME(SUCCEEDED);
      if (strcmp(status, "authorizedPendingCapture") == 0) return OUTCOME(NOT_FOUND);
      return OUTCOME(FAILED); /* voided, expired, declined: nothing to capture */
    case ANET_WIRE_VOID:
      if (strcmp(status, "voided") == 0) return OUTCOME(SUCCEEDED);
      if (strcmp(status, "authorizedPendingCapture") == 0) return OUTCOME(NOT_FOUND);
      return OUTCOME(FAILED); /* captured or lapsed: a void can no longer act */
    default:
      /* The operation's own transaction: it exists, so it happened unless refused. */
      if (IN(status, declined_statuses)) return OUTCOME(DECLINED);
      if (IN(status, error_statuses)) return OUTCOME(FAILED);
      return OUTCOME(SUCCEEDED);
  }
}

static bool set_amount_of(arena *a, const json_t *v, const char *currency_code, unsigned exponent,
                          result_t *r) {
  int64_t minor = 0;
  if (currency_code == NULL || !amount_of(v, exponent, &minor)) return true;
  r->amount = money_message(a, currency_code, minor);
  return r->amount != NULL;
}

static bool fill_from_status(arena *a, authorizenet_wire_kind kind, const char *status,
                             result_t *r) {
  r->outcome = authorizenet_wire_status_outcome(kind, status);
  bool ok = set_text(a, &r->processor_status, status);
  switch (r->outcome) {
    case OUTCOME(DECLINED):
      return ok && set_text(a, &r->message, "declined");
    case OUTCOME(FAILED):
      return ok && set_text(a, &r->message, status);
    case OUTCOME(UNKNOWN):
      return ok && set_text(a, &r->message, "under review; look it up later");
    case OUTCOME(NOT_FOUND):
      return ok && set_text(a, &r->message, "the authorization shows no such operation");
    default:
      return ok;
  }
}

/* A transaction's rank when several carry the same invoice: success first. */
static int rank_of(authorizenet_wire_kind kind, const char *status) {
  switch (authorizenet_wire_status_outcome(kind, status)) {
    case OUTCOME(SUCCEEDED):
      return 4;
    case OUTCOME(UNKNOWN):
      return 3;
    case OUTCOME(DECLINED):
      return 2;
    default:
      return 1;
  }
}

authorizenet_wire_list_state authorizenet_wire_map_list(
    arena *a, authorizenet_wire_kind kind, const char *body, size_t body_len, const char *invoice,
    const char *currency_code, unsigned exponent, result_t *result, char *trans_id_out) {
  CHECK(a != NULL && invoice != NULL && result != NULL && trans_id_out != NULL);
  json_t *root = parse(body, body_len);
  const char *result_code = text_at(json_object_get(root, "messages"), "resultCode");
  if (root == NULL || result_code == NULL || strcmp(result_code, "Ok") != 0) {
    result->outcome = OUTCOME(UNKNOWN);
    const json_t *m = first_of(json_object_get(json_object_get(root, "messages"), "message"));
    set_text(a, &result->decline_code, text_at(m, "code"));
    set_text(a, &result->message, "the transaction list could not be read; look it up later");
    json_decref(root);
    return ANET_WIRE_LIST_ERROR;
  }
  const json_t *list = json_object_get(root, "transactions");
  if (json_is_object(list)) list = json_object_get(list, "transaction"); /* XML-shaped */
  size_t n = json_is_array(list) ? json_array_size(list) : (json_is_object(list) ? 1 : 0);
  const json_t *best = NULL;
  int best_rank = 0;
  for (size_t i = 0; i < n && i < ANET_WIRE_LIST_PAGE_LIMIT; i++) {
    const json_t *t = json_is_array(list) ? json_array_get(list, i) : list;
    const char *number = text_at(t, "invoiceNumber");
    const char *id = text_at(t, "transId");
    if (number == NULL || strcmp(number, invoice) != 0 || !authorizenet_wire_trans_id_valid(id)) {
      continue;
    }
    int rank = rank_of(kind, text_at(t, "transactionStatus"));
    if (rank > best_rank) {
      best = t;
      best_rank = rank;
    }
  }
  authorizenet_wire_list_state state =
      n < ANET_WIRE_LIST_PAGE_LIMIT ? ANET_WIRE_LIST_LAST_PAGE : ANET_WIRE_LIST_ABSENT;
  if (best != NULL) {
    const char *id = text_at(best, "transId");
    snprintf(trans_id_out, ANET_WIRE_TRANS_ID_BYTES_MAX + 1, "%s", id);
    bool ok =
        fill_from_status(a, kind, text_at(best, "transactionStatus"), result) &&
        set_text(a, &result->processor_reference, id) &&
        set_amount_of(a, json_object_get(best, "settleAmount"), currency_code, exponent, result);
    state = ok ? ANET_WIRE_LIST_FOUND : ANET_WIRE_LIST_ERROR;
  }
  json_decref(root);
  return state;
}

bool authorizenet_wire_map_details(arena *a, authorizenet_wire_kind kind, const char *body,
                                   size_t body_len, const char *currency_code, unsigned exponent,
                                   result_t *result) {
  CHECK(a != NULL && result != NULL);
  json_t *root = parse(body, body_len);
  const json_t *m = first_of(json_object_get(json_object_get(root, "messages"), "message"));
  const char *code = text_at(m, "code");
  const json_t *t = json_object_get(root, "transaction");
  bool ok;
  if (code != NULL && strcmp(code, "E00040") == 0) {
    bool own = kind != ANET_WIRE_PRIOR_AUTH_CAPTURE && kind != ANET_WIRE_VOID;
    result->outcome = own ? OUTCOME(NOT_FOUND) : OUTCOME(FAILED);
    ok = set_text(a, &result->decline_code, code) &&
         set_text(a, &result->message,
                  own ? "no such transaction" : "Authorize.Net has no such authorization");
  } else if (!json_is_object(t)) {
    result->outcome = OUTCOME(UNKNOWN);
    ok = set_text(a, &result->decline_code, code) &&
         set_text(a, &result->message, "the transaction details could not be read");
  } else {
    const json_t *amount = json_object_get(t, "settleAmount");
    int64_t settle = 0;
    if (!amount_of(amount, exponent, &settle) || settle == 0)
      amount = json_object_get(t, "authAmount");
    ok = fill_from_status(a, kind, text_at(t, "transactionStatus"), result) &&
         set_text(a, &result->processor_reference, text_at(t, "transId")) &&
         set_text(a, &result->avs_result, text_at(t, "AVSResponse")) &&
         set_text(a, &result->cvv_result, text_at(t, "cardCodeResponse")) &&
         set_amount_of(a, amount, currency_code, exponent, result);
  }
  json_decref(root);
  return ok;
}
