/* Authorize.Net's JSON API on its one endpoint (docs/PROCSIM.md, "Authorize.Net").
 *
 * The JSON API is the XML schema in JSON clothes: elements must come in schema order
 * (out of order or unknown → E00003, the schema validation error), refId and
 * invoiceNumber are at most 20 characters, every answer is HTTP 200 and starts with a
 * UTF-8 byte order mark. Amounts are decimal strings ("12.34"), parsed exactly into
 * minor units (2-decimal currencies only).
 *
 * There is no idempotency key: a request repeated within the duplicate window (same
 * invoiceNumber and amount, default 120 s, transactionSettings duplicateWindow
 * overrides) answers responseCode 3, reason 11, transId "0". Captures settle at once,
 * so a refund may follow a capture straight away; a void applies only to an
 * authorization not captured. priorAuthCapture and void answer with the original
 * transaction's transId (they change it, they make no new transaction); a refund is a
 * new transaction. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/check.h"
#include "base/clock.h"
#include "procsim.h"

#define ANET_LOGIN "procsim_login"
#define ANET_TRANSACTION_KEY "procsim_transaction_key"
#define BOM "\xEF\xBB\xBF"
#define DIGITS "0123456789"
#define NAMESPACE "AnetApi/xml/v1/schema/AnetApiSchema.xsd"

/* Largest amount accepted, in minor units (one billion dollars). */
static const int64_t ANET_AMOUNT_MINOR_MAX = 100000000000LL;

enum {
  ANET_REF_ID_BYTES_MAX = 20,
  ANET_INVOICE_BYTES_MAX = 20,
  ANET_TRANS_ID_DIGITS = 11,
  ANET_DUPLICATE_WINDOW_S = 120,
  ANET_DUPLICATE_WINDOW_S_MAX = 28800, /* the API's own maximum (8 hours) */
  ANET_LIST_TRANSACTIONS_MAX = 1000,   /* one page of the unsettled list */
  ANET_SCHEMA_DEPTH_MAX = 8,
};

/* Zips that steer the sandbox, as Authorize.Net's test guide does. */
#define ZIP_DECLINE "46282"
#define ZIP_AVS_NO_MATCH "46205"
#define ZIP_CVV_NO_MATCH "46203"

/* --- Schema order ------------------------------------------------------------------------ */

typedef struct element {
  const char *name;
  const struct element *children; /* NULL: contents not checked */
} element;

static const element merchant_authentication[] = {{"name", NULL},
                                                  {"transactionKey", NULL},
                                                  {"sessionToken", NULL},
                                                  {"password", NULL},
                                                  {"impersonationAuthentication", NULL},
                                                  {"fingerPrint", NULL},
                                                  {"clientKey", NULL},
                                                  {"accessToken", NULL},
                                                  {"mobileDeviceId", NULL},
                                                  {NULL, NULL}};
static const element credit_card[] = {
    {"cardNumber", NULL},       {"expirationDate", NULL},    {"cardCode", NULL},
    {"isPaymentToken", NULL},   {"cryptogram", NULL},        {"tokenRequestorName", NULL},
    {"tokenRequestorId", NULL}, {"tokenRequestorEci", NULL}, {NULL, NULL}};
static const element payment[] = {{"creditCard", credit_card},
                                  {"bankAccount", NULL},
                                  {"trackData", NULL},
                                  {"encryptedTrackData", NULL},
                                  {"payPal", NULL},
                                  {"opaqueData", NULL},
                                  {"emv", NULL},
                                  {"dataSource", NULL},
                                  {NULL, NULL}};
static const element order[] = {{"invoiceNumber", NULL},
                                {"description", NULL},
                                {"discountAmount", NULL},
                                {"taxIsAfterDiscount", NULL},
                                {"totalTaxTypeCode", NULL},
                                {"purchaserVATRegistrationNumber", NULL},
                                {"merchantVATRegistrationNumber", NULL},
                                {"vatInvoiceReferenceNumber", NULL},
                                {"purchaserCode", NULL},
                                {"summaryCommodityCode", NULL},
                                {"purchaseOrderDateUTC", NULL},
                                {"supplierOrderReference", NULL},
                                {"authorizedContactName", NULL},
                                {"cardAcceptorRefNumber", NULL},
                                {"amexDataTAA1", NULL},
                                {"amexDataTAA2", NULL},
                                {"amexDataTAA3", NULL},
                                {"amexDataTAA4", NULL},
                                {NULL, NULL}};
static const element address[] = {{"firstName", NULL}, {"lastName", NULL}, {"company", NULL},
                                  {"address", NULL},   {"city", NULL},     {"state", NULL},
                                  {"zip", NULL},       {"country", NULL},  {"phoneNumber", NULL},
                                  {"faxNumber", NULL}, {"email", NULL},    {NULL, NULL}};
static const element customer[] = {{"type", NULL},      {"id", NULL},
                                   {"email", NULL},     {"phoneNumber", NULL},
                                   {"faxNumber", NULL}, {"driversLicense", NULL},
                                   {"taxId", NULL},     {NULL, NULL}};
static const element transaction_request[] = {{"transactionType", NULL},
                                              {"amount", NULL},
                                              {"currencyCode", NULL},
                                              {"payment", payment},
                                              {"profile", NULL},
                                              {"solution", NULL},
                                              {"callId", NULL},
                                              {"terminalNumber", NULL},
                                              {"authCode", NULL},
                                              {"refTransId", NULL},
                                              {"splitTenderId", NULL},
                                              {"order", order},
                                              {"lineItems", NULL},
                                              {"tax", NULL},
                                              {"duty", NULL},
                                              {"shipping", NULL},
                                              {"taxExempt", NULL},
                                              {"poNumber", NULL},
                                              {"customer", customer},
                                              {"billTo", address},
                                              {"shipTo", address},
                                              {"customerIP", NULL},
                                              {"cardholderAuthentication", NULL},
                                              {"retail", NULL},
                                              {"employeeId", NULL},
                                              {"transactionSettings", NULL},
                                              {"userFields", NULL},
                                              {"surcharge", NULL},
                                              {"merchantDescriptor", NULL},
                                              {"subMerchant", NULL},
                                              {"tip", NULL},
                                              {"processingOptions", NULL},
                                              {"subsequentAuthInformation", NULL},
                                              {"otherTax", NULL},
                                              {"shipFrom", NULL},
                                              {"authorizationIndicatorType", NULL},
                                              {NULL, NULL}};
static const element create_transaction[] = {{"merchantAuthentication", merchant_authentication},
                                             {"clientId", NULL},
                                             {"refId", NULL},
                                             {"transactionRequest", transaction_request},
                                             {NULL, NULL}};
static const element get_details[] = {{"merchantAuthentication", merchant_authentication},
                                      {"clientId", NULL},
                                      {"refId", NULL},
                                      {"transId", NULL},
                                      {NULL, NULL}};
static const element get_unsettled[] = {{"merchantAuthentication", merchant_authentication},
                                        {"clientId", NULL},
                                        {"refId", NULL},
                                        {"status", NULL},
                                        {"sorting", NULL},
                                        {"paging", NULL},
                                        {NULL, NULL}};

/* The list of names from index on, quoted, for the error text. */
static void expected_names(const element *schema, long from, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (long i = from < 0 ? 0 : from; schema[i].name != NULL && used + 1 < size; i++) {
    int n = snprintf(out + used, size - used, "%s'%s'", used > 0 ? ", " : "", schema[i].name);
    if (n < 0 || (size_t)n >= size - used) break;
    used += (size_t)n;
  }
}

/* Checks that object's members are known and in schema order, recursively. On failure
 * writes the schema error text into message and returns false. */
static bool check_order(const json_t *object, const element *schema, const char *parent, int depth,
                        char *message, size_t size) {
  CHECK(depth <= ANET_SCHEMA_DEPTH_MAX);
  long last = -1;
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)object, key, value) {
    long index = -1;
    for (long i = 0; schema[i].name != NULL; i++) {
      if (strcmp(schema[i].name, key) == 0) index = i;
    }
    if (index <= last) {
      char expected[512];
      expected_names(schema, last + 1, expected, sizeof expected);
      snprintf(message, size,
               "The element '%s' in namespace '" NAMESPACE
               "' has invalid child element '%.64s' "
               "in namespace '" NAMESPACE "'. List of possible elements expected: %s.",
               parent, key, expected);
      return false;
    }
    last = index;
    if (schema[index].children != NULL && json_is_object(value) &&
        !check_order(value, schema[index].children, key, depth + 1, message, size)) {
      return false;
    }
  }
  return true;
}

/* --- Replies ------------------------------------------------------------------------------ */

static json_t *messages_json(bool ok, const char *code, const char *text) {
  return json_pack("{s:s, s:[{s:s, s:s}]}", "resultCode", ok ? "Ok" : "Error", "message", "code",
                   code, "text", text);
}

/* Sends the root document (stolen) with the BOM, always HTTP 200. */
static void reply(procsim_call *call, json_t *document) {
  if (document == NULL) {
    http_response_set(call->response, 500, "application/json", NULL, 0);
    return;
  }
  http_response_json(call->response, 200, document, BOM);
  json_decref(document);
}

static void reply_error(procsim_call *call, const char *ref_id, const char *code,
                        const char *text) {
  json_t *document = json_object();
  if (document != NULL && ref_id != NULL)
    json_object_set_new(document, "refId", json_string(ref_id));
  if (document != NULL) json_object_set_new(document, "messages", messages_json(false, code, text));
  reply(call, document);
}

void authorizenet_server_error(procsim_call *call) {
  json_t *document = json_pack("{s:o}", "messages",
                               messages_json(false, "E00001",
                                             "An error occurred during processing. Please try "
                                             "again."));
  if (document == NULL) return;
  http_response_json(call->response, 500, document, BOM);
  json_decref(document);
}

/* --- Request values ------------------------------------------------------------------------ */

/* An amount: a string "12", "12.3", "12.34" or a JSON integer of whole units, > 0. */
static bool parse_amount(const json_t *value, int64_t *out) {
  if (json_is_integer(value)) {
    json_int_t units = json_integer_value(value);
    if (units <= 0 || units > ANET_AMOUNT_MINOR_MAX / 100) return false;
    *out = (int64_t)units * 100;
    return true;
  }
  const char *text = json_string_value(value);
  if (text == NULL || *text == '\0') return false;
  int64_t minor = 0;
  const char *p = text;
  for (; *p >= '0' && *p <= '9'; p++) {
    minor = minor * 10 + (*p - '0');
    if (minor > ANET_AMOUNT_MINOR_MAX / 100) return false;
  }
  if (p == text) return false;
  int decimals = 0;
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9' && decimals < 2; p++, decimals++) {
      minor = minor * 10 + (*p - '0');
    }
    if (decimals == 0) return false;
  }
  if (*p != '\0') return false;
  for (; decimals < 2; decimals++) minor *= 10;
  if (minor <= 0) return false;
  *out = minor;
  return true;
}

static const char *string_at(const json_t *object, const char *a, const char *b, const char *c) {
  const json_t *v = json_object_get(object, a);
  if (b != NULL) v = json_object_get(v, b);
  if (c != NULL) v = json_object_get(v, c);
  return json_string_value(v);
}

static void format_time(int64_t ms, bool utc_suffix, char *out, size_t size) {
  time_t seconds = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%03d%s", base, (int)(ms % 1000), utc_suffix ? "Z" : "");
}

/* --- Transactions ------------------------------------------------------------------------- */

typedef struct txn_request {
  const json_t *request; /* transactionRequest */
  const char *ref_id;    /* may be NULL */
  const char *type;
  const char *invoice; /* may be NULL */
  const char *zip;     /* may be NULL */
  int64_t amount;      /* 0 when absent */
  int64_t duplicate_window_s;
} txn_request;

/* The transactionResponse object: approved (reason 1) or with one error. */
static json_t *txn_response(const char *response_code, const char *trans_id,
                            const char *ref_trans_id, const char *avs, const char *cvv,
                            const char *last4, const char *error_code, const char *text) {
  char account[16];
  snprintf(account, sizeof account, "XXXX%s", last4);
  char auth_code[8] = "";
  size_t id_len = strlen(trans_id);
  if (strcmp(response_code, "1") == 0 && id_len >= 5) {
    snprintf(auth_code, sizeof auth_code, "A%s", trans_id + id_len - 5);
  }
  json_t *r =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "responseCode",
                response_code, "authCode", auth_code, "avsResultCode", avs, "cvvResultCode", cvv,
                "cavvResultCode", "", "transId", trans_id, "refTransID", ref_trans_id, "transHash",
                "", "testRequest", "0", "accountNumber", last4[0] != '\0' ? account : "",
                "accountType", last4[0] != '\0' ? "Visa" : "");
  if (r == NULL) return NULL;
  if (error_code == NULL) {
    json_object_set_new(r, "messages", json_pack("[{s:s, s:s}]", "code", "1", "description", text));
  } else {
    json_object_set_new(r, "errors",
                        json_pack("[{s:s, s:s}]", "errorCode", error_code, "errorText", text));
  }
  return r;
}

/* Replies with a transactionResponse; messages Ok for responseCode 1, else E00027. */
static void reply_txn(procsim_call *call, const txn_request *t, json_t *response) {
  bool ok = response != NULL &&
            strcmp(json_string_value(json_object_get(response, "responseCode")), "1") == 0;
  json_t *document = json_pack("{s:o*}", "transactionResponse", response);
  if (document != NULL && t->ref_id != NULL) {
    json_object_set_new(document, "refId", json_string(t->ref_id));
  }
  if (document != NULL) {
    json_object_set_new(document, "messages",
                        ok ? messages_json(true, "I00001", "Successful.")
                           : messages_json(false, "E00027", "The transaction was unsuccessful."));
  }
  reply(call, document);
}

static void reply_txn_error(procsim_call *call, const txn_request *t, const char *code,
                            const char *ref_trans_id, const char *text) {
  reply_txn(call, t, txn_response("3", "0", ref_trans_id, "P", "", "", code, text));
}

/* Whether a transaction with t's invoiceNumber and amount was submitted within the
 * window. Scans every Authorize.Net transaction (bounded by SIM_PAYMENTS_MAX). */
static bool is_duplicate(sim_state *state, const txn_request *t) {
  if (t->invoice == NULL || t->amount == 0 || t->duplicate_window_s == 0) return false;
  int64_t since_ms = clock_wall_ms() - t->duplicate_window_s * 1000;
  size_t count = sim_payment_count(state);
  for (size_t i = 0; i < count; i++) {
    const sim_payment *p = sim_payment_at(state, i);
    if (p->processor != SIM_AUTHORIZENET) continue;
    for (size_t j = 0; j < p->operation_count; j++) {
      const sim_operation *op = &p->operations[j];
      if (op->created_ms >= since_ms && op->amount == t->amount &&
          strcmp(op->merchant_reference, t->invoice) == 0) {
        return true;
      }
    }
    if (p->created_ms >= since_ms && p->amount == t->amount &&
        strcmp(p->merchant_reference, t->invoice) == 0) {
      return true;
    }
  }
  return false;
}

static void new_trans_id(sim_state *state, char *out, size_t size) {
  do {
    sim_new_id(state, "", DIGITS, ANET_TRANS_ID_DIGITS, out, size);
  } while (out[0] == '0' || sim_find(state, SIM_AUTHORIZENET, out, NULL) != NULL);
}

static sim_operation *record_operation(procsim_call *call, const txn_request *t, sim_payment *p,
                                       const char *kind, int64_t amount, const char *reference) {
  sim_operation *op = sim_operation_add(call->sim->state, p, kind,
                                        t->ref_id != NULL ? t->ref_id : "", amount, reference);
  if (op != NULL) {
    sim_copy(op->merchant_reference, sizeof op->merchant_reference,
             t->invoice != NULL ? t->invoice : "");
  }
  return op;
}

/* The last four digits of the card a payment names: a card number's own, or for an
 * Accept.js token (opaqueData, what ccpay sends) the four digits the sandbox token ends
 * with ("tok_visa_4242"), else 1111. NULL when neither form is usable. */
static const char *card_last4(const txn_request *t) {
  const char *number = string_at(t->request, "payment", "creditCard", "cardNumber");
  if (number != NULL) {
    size_t len = strlen(number);
    bool digits = len >= 13 && len <= 16 && strspn(number, DIGITS) == len;
    bool expiry = string_at(t->request, "payment", "creditCard", "expirationDate") != NULL;
    return digits && expiry ? number + len - 4 : NULL;
  }
  const char *token = string_at(t->request, "payment", "opaqueData", "dataValue");
  if (token == NULL || token[0] == '\0') return NULL;
  size_t len = strlen(token);
  return len >= 4 && strspn(token + len - 4, DIGITS) == 4 ? token + len - 4 : "1111";
}

/* authOnlyTransaction and authCaptureTransaction. */
static void authorize(procsim_call *call, const txn_request *t, bool capture) {
  const char *last4 = card_last4(t);
  if (last4 == NULL) {
    reply_txn_error(call, t, "6", "", "The credit card number is invalid.");
    return;
  }
  char trans_id[SIM_REFERENCE_BYTES_MAX + 1];
  new_trans_id(call->sim->state, trans_id, sizeof trans_id);
  sim_payment *p = sim_payment_add(call->sim->state, SIM_AUTHORIZENET, trans_id);
  if (p == NULL) {
    reply_txn_error(call, t, "19", "", "An error occurred during processing. Please try again.");
    return;
  }
  const char *zip = t->zip != NULL ? t->zip : "";
  bool declined = strcmp(zip, ZIP_DECLINE) == 0;
  sim_copy(p->card_last4, sizeof p->card_last4, last4);
  sim_copy(p->merchant_reference, sizeof p->merchant_reference,
           t->invoice != NULL ? t->invoice : "");
  sim_copy(p->currency, sizeof p->currency, "USD");
  sim_copy(p->avs_result, sizeof p->avs_result, strcmp(zip, ZIP_AVS_NO_MATCH) == 0 ? "N" : "Y");
  sim_copy(p->cvc_result, sizeof p->cvc_result, strcmp(zip, ZIP_CVV_NO_MATCH) == 0 ? "N" : "M");
  p->amount = t->amount;
  p->manual_capture = !capture;
  if (declined) {
    sim_copy(p->decline_code, sizeof p->decline_code, "2");
    sim_copy(p->status, sizeof p->status, "declined");
  } else {
    p->authorized = t->amount;
    p->capturable = capture ? 0 : t->amount;
    p->captured = capture ? t->amount : 0;
    sim_copy(p->status, sizeof p->status,
             capture ? "settledSuccessfully" : "authorizedPendingCapture");
  }
  record_operation(call, t, p, "authorize", p->authorized, trans_id);
  if (capture && !declined) record_operation(call, t, p, "capture", p->captured, "");
  sim_payment_check(p);
  reply_txn(call, t,
            declined ? txn_response("2", trans_id, "", p->avs_result, p->cvc_result, p->card_last4,
                                    "2", "This transaction has been declined.")
                     : txn_response("1", trans_id, "", p->avs_result, p->cvc_result, p->card_last4,
                                    NULL, "This transaction has been approved."));
}

/* The authorization named by refTransId, or NULL after answering. */
static sim_payment *referenced(procsim_call *call, const txn_request *t, const char **ref) {
  *ref = string_at(t->request, "refTransId", NULL, NULL);
  if (*ref == NULL || **ref == '\0') {
    reply_txn_error(call, t, "33", "", "refTransId cannot be left blank.");
    return NULL;
  }
  sim_operation *op = NULL;
  sim_payment *p = sim_find(call->sim->state, SIM_AUTHORIZENET, *ref, &op);
  if (p == NULL || op != NULL) {
    reply_txn_error(call, t, "16", *ref, "The transaction cannot be found.");
    return NULL;
  }
  return p;
}

static void prior_auth_capture(procsim_call *call, const txn_request *t) {
  const char *ref = NULL;
  sim_payment *p = referenced(call, t, &ref);
  if (p == NULL) return;
  if (strcmp(p->status, "settledSuccessfully") == 0) {
    reply_txn_error(call, t, "311", ref, "This transaction has already been captured.");
    return;
  }
  if (strcmp(p->status, "authorizedPendingCapture") != 0) {
    reply_txn_error(call, t, "16", ref, "The transaction cannot be found.");
    return;
  }
  int64_t amount = t->amount != 0 ? t->amount : p->authorized;
  if (amount > p->authorized) {
    reply_txn_error(call, t, "47", ref,
                    "The amount requested for settlement cannot be greater than the original "
                    "amount authorized.");
    return;
  }
  if (record_operation(call, t, p, "capture", amount, "") == NULL) {
    reply_txn_error(call, t, "19", ref, "An error occurred during processing.");
    return;
  }
  p->captured = amount;
  p->capturable = 0; /* one capture per authorization: the rest is released */
  sim_copy(p->status, sizeof p->status, "settledSuccessfully");
  sim_payment_check(p);
  reply_txn(call, t,
            txn_response("1", p->reference, p->reference, "P", "", p->card_last4, NULL,
                         "This transaction has been approved."));
}

static void void_transaction(procsim_call *call, const txn_request *t) {
  const char *ref = NULL;
  sim_payment *p = referenced(call, t, &ref);
  if (p == NULL) return;
  if (strcmp(p->status, "voided") == 0) {
    reply_txn_error(call, t, "310", ref, "This transaction has already been voided.");
    return;
  }
  if (strcmp(p->status, "authorizedPendingCapture") != 0) {
    /* Settled (captures settle at once) or declined: nothing a void can act on. */
    reply_txn_error(call, t, "16", ref, "The transaction cannot be found.");
    return;
  }
  if (record_operation(call, t, p, "void", p->capturable, "") == NULL) {
    reply_txn_error(call, t, "19", ref, "An error occurred during processing.");
    return;
  }
  p->capturable = 0;
  sim_copy(p->status, sizeof p->status, "voided");
  sim_payment_check(p);
  reply_txn(call, t,
            txn_response("1", p->reference, p->reference, "P", "", p->card_last4, NULL,
                         "This transaction has been approved."));
}

static void refund(procsim_call *call, const txn_request *t) {
  const char *ref = string_at(t->request, "refTransId", NULL, NULL);
  if (ref == NULL || *ref == '\0') {
    /* An unlinked credit needs Expanded Credit Capabilities, which this account lacks. */
    reply_txn_error(call, t, "54", "",
                    "The referenced transaction does not meet the criteria for issuing a credit.");
    return;
  }
  sim_payment *p = referenced(call, t, &ref);
  if (p == NULL) return;
  const char *number = string_at(t->request, "payment", "creditCard", "cardNumber");
  size_t len = number != NULL ? strlen(number) : 0;
  bool card_matches = len >= 4 && strcmp(number + len - 4, p->card_last4) == 0;
  if (strcmp(p->status, "settledSuccessfully") != 0 || !card_matches) {
    reply_txn_error(call, t, "54", ref,
                    "The referenced transaction does not meet the criteria for issuing a credit.");
    return;
  }
  if (t->amount == 0 || t->amount > p->captured - p->refunded) {
    reply_txn_error(call, t, "55", ref,
                    "The sum of credits against the referenced transaction would exceed original "
                    "debit amount.");
    return;
  }
  char trans_id[SIM_REFERENCE_BYTES_MAX + 1];
  new_trans_id(call->sim->state, trans_id, sizeof trans_id);
  if (record_operation(call, t, p, "refund", t->amount, trans_id) == NULL) {
    reply_txn_error(call, t, "19", ref, "An error occurred during processing.");
    return;
  }
  p->refunded += t->amount;
  sim_payment_check(p);
  reply_txn(call, t,
            txn_response("1", trans_id, ref, "P", "", p->card_last4, NULL,
                         "This transaction has been approved."));
}

static void transaction_act(procsim_call *call, void *argument) {
  const txn_request *t = argument;
  if (is_duplicate(call->sim->state, t)) {
    reply_txn_error(call, t, "11", "", "A duplicate transaction has been submitted.");
    return;
  }
  if (strcmp(t->type, "authOnlyTransaction") == 0) {
    authorize(call, t, false);
  } else if (strcmp(t->type, "authCaptureTransaction") == 0) {
    authorize(call, t, true);
  } else if (strcmp(t->type, "priorAuthCaptureTransaction") == 0) {
    prior_auth_capture(call, t);
  } else if (strcmp(t->type, "voidTransaction") == 0) {
    void_transaction(call, t);
  } else {
    CHECK(strcmp(t->type, "refundTransaction") == 0);
    refund(call, t);
  }
}

/* The duplicateWindow setting in seconds, or the default. */
static int64_t duplicate_window_of(const json_t *request) {
  const json_t *settings =
      json_object_get(json_object_get(request, "transactionSettings"), "setting");
  const json_t *list = json_is_array(settings) ? settings : NULL;
  size_t n = list != NULL ? json_array_size(list) : (settings != NULL ? 1 : 0);
  for (size_t i = 0; i < n; i++) {
    const json_t *s = list != NULL ? json_array_get(list, i) : settings;
    const char *name = json_string_value(json_object_get(s, "settingName"));
    const char *value = json_string_value(json_object_get(s, "settingValue"));
    if (name == NULL || value == NULL || strcmp(name, "duplicateWindow") != 0) continue;
    char *end = NULL;
    long seconds = strtol(value, &end, 10);
    if (end != value && *end == '\0' && seconds >= 0 && seconds <= ANET_DUPLICATE_WINDOW_S_MAX) {
      return seconds;
    }
  }
  return ANET_DUPLICATE_WINDOW_S;
}

static void create_transaction_request(procsim_call *call, const json_t *root) {
  const json_t *request = json_object_get(root, "transactionRequest");
  txn_request t = {.request = request,
                   .ref_id = json_string_value(json_object_get(root, "refId")),
                   .type = json_string_value(json_object_get(request, "transactionType")),
                   .invoice = string_at(request, "order", "invoiceNumber", NULL),
                   .zip = string_at(request, "billTo", "zip", NULL),
                   .duplicate_window_s = duplicate_window_of(request)};
  static const char *const types[] = {"authOnlyTransaction", "authCaptureTransaction",
                                      "priorAuthCaptureTransaction", "voidTransaction",
                                      "refundTransaction"};
  bool known = false;
  for (size_t i = 0; t.type != NULL && i < sizeof types / sizeof types[0]; i++) {
    known = known || strcmp(t.type, types[i]) == 0;
  }
  if (!json_is_object(request) || !known) {
    reply_error(call, t.ref_id, "E00003", "The 'transactionType' element is invalid.");
    return;
  }
  if ((t.invoice != NULL && strlen(t.invoice) > ANET_INVOICE_BYTES_MAX)) {
    reply_error(call, t.ref_id, "E00003",
                "The '" NAMESPACE
                ":invoiceNumber' element is invalid - The actual length is "
                "greater than the MaxLength value.");
    return;
  }
  const json_t *amount = json_object_get(request, "amount");
  bool needs_amount =
      strcmp(t.type, "voidTransaction") != 0 && strcmp(t.type, "priorAuthCaptureTransaction") != 0;
  if ((amount != NULL || needs_amount) && !parse_amount(amount, &t.amount)) {
    reply_txn_error(call, &t, "5", "", "A valid amount is required.");
    return;
  }
  procsim_execute(call, NULL, NULL, NULL, NULL, transaction_act, &t);
}

/* --- Reports -------------------------------------------------------------------------------- */

static json_t *payment_details(const sim_payment *p) {
  char submitted_utc[40], submitted_local[40], auth_amount[32], settle_amount[32];
  format_time(p->created_ms, true, submitted_utc, sizeof submitted_utc);
  format_time(p->created_ms, false, submitted_local, sizeof submitted_local);
  bool settled = strcmp(p->status, "settledSuccessfully") == 0;
  bool pending = strcmp(p->status, "authorizedPendingCapture") == 0;
  procsim_format_decimal(p->amount, auth_amount, sizeof auth_amount);
  procsim_format_decimal(settled   ? p->captured
                         : pending ? p->authorized
                                   : 0,
                         settle_amount, sizeof settle_amount);
  bool declined = p->decline_code[0] != '\0';
  char account[16];
  snprintf(account, sizeof account, "XXXX%s", p->card_last4);
  return json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:{s:s}, s:s, s:s, "
      "s:{s:{s:s, s:s, s:s}}}",
      "transId", p->reference, "submitTimeUTC", submitted_utc, "submitTimeLocal", submitted_local,
      "transactionType", p->manual_capture ? "authOnlyTransaction" : "authCaptureTransaction",
      "transactionStatus", p->status, "responseCode", declined ? 2 : 1, "responseReasonCode",
      declined ? 2 : 1, "responseReasonDescription", declined ? "Declined" : "Approval",
      "AVSResponse", p->avs_result, "cardCodeResponse", p->cvc_result, "order", "invoiceNumber",
      p->merchant_reference, "authAmount", auth_amount, "settleAmount", settle_amount, "payment",
      "creditCard", "cardNumber", account, "expirationDate", "XXXX", "cardType", "Visa");
}

static json_t *refund_details(const sim_payment *p, const sim_operation *op) {
  char submitted_utc[40], submitted_local[40], amount[32];
  format_time(op->created_ms, true, submitted_utc, sizeof submitted_utc);
  format_time(op->created_ms, false, submitted_local, sizeof submitted_local);
  procsim_format_decimal(op->amount, amount, sizeof amount);
  char account[16];
  snprintf(account, sizeof account, "XXXX%s", p->card_last4);
  return json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:{s:s}, s:s, s:s, "
      "s:{s:{s:s, s:s, s:s}}}",
      "transId", op->reference, "refTransId", p->reference, "submitTimeUTC", submitted_utc,
      "submitTimeLocal", submitted_local, "transactionType", "refundTransaction",
      "transactionStatus", "refundSettledSuccessfully", "responseCode", 1, "responseReasonCode", 1,
      "responseReasonDescription", "Approval", "order", "invoiceNumber", op->merchant_reference,
      "authAmount", amount, "settleAmount", amount, "payment", "creditCard", "cardNumber", account,
      "expirationDate", "XXXX", "cardType", "Visa");
}

static void transaction_details(procsim_call *call, const json_t *root) {
  const char *ref_id = json_string_value(json_object_get(root, "refId"));
  const char *trans_id = json_string_value(json_object_get(root, "transId"));
  if (trans_id == NULL) {
    reply_error(call, ref_id, "E00003", "The 'transId' element is required.");
    return;
  }
  sim_lock(call->sim->state);
  sim_operation *op = NULL;
  sim_payment *p = sim_find(call->sim->state, SIM_AUTHORIZENET, trans_id, &op);
  json_t *transaction = p == NULL ? NULL : op != NULL ? refund_details(p, op) : payment_details(p);
  sim_unlock(call->sim->state);
  if (transaction == NULL) {
    reply_error(call, ref_id, "E00040", "The record cannot be found.");
    return;
  }
  json_t *document = json_pack("{s:o}", "transaction", transaction);
  if (document != NULL && ref_id != NULL)
    json_object_set_new(document, "refId", json_string(ref_id));
  if (document != NULL) {
    json_object_set_new(document, "messages", messages_json(true, "I00001", "Successful."));
  }
  reply(call, document);
}

static json_t *list_entry(const sim_payment *p, const sim_operation *op) {
  json_t *details = op != NULL ? refund_details(p, op) : payment_details(p);
  if (details == NULL) return NULL;
  json_t *entry = json_pack(
      "{s:O, s:O, s:O, s:O, s:O, s:s, s:s, s:O, s:s, s:s}", "transId",
      json_object_get(details, "transId"), "submitTimeUTC",
      json_object_get(details, "submitTimeUTC"), "submitTimeLocal",
      json_object_get(details, "submitTimeLocal"), "transactionStatus",
      json_object_get(details, "transactionStatus"), "invoiceNumber",
      json_object_get(json_object_get(details, "order"), "invoiceNumber"), "accountType", "Visa",
      "accountNumber",
      json_string_value(json_object_get(
          json_object_get(json_object_get(details, "payment"), "creditCard"), "cardNumber")),
      "settleAmount", json_object_get(details, "settleAmount"), "marketType", "eCommerce",
      "product", "Card Not Present");
  json_decref(details);
  return entry;
}

static void unsettled_list(procsim_call *call, const json_t *root) {
  const char *ref_id = json_string_value(json_object_get(root, "refId"));
  json_t *transactions = json_array();
  sim_lock(call->sim->state);
  size_t count = sim_payment_count(call->sim->state);
  for (size_t i = 0; transactions != NULL && i < count; i++) {
    const sim_payment *p = sim_payment_at(call->sim->state, i);
    if (p->processor != SIM_AUTHORIZENET) continue;
    if (json_array_size(transactions) < ANET_LIST_TRANSACTIONS_MAX) {
      json_array_append_new(transactions, list_entry(p, NULL));
    }
    for (size_t j = 0; j < p->operation_count; j++) {
      if (strcmp(p->operations[j].kind, "refund") != 0) continue;
      if (json_array_size(transactions) >= ANET_LIST_TRANSACTIONS_MAX) break;
      json_array_append_new(transactions, list_entry(p, &p->operations[j]));
    }
  }
  sim_unlock(call->sim->state);
  size_t n = json_array_size(transactions);
  json_t *document =
      json_pack("{s:o*, s:I}", "transactions", transactions, "totalNumInResultSet", (json_int_t)n);
  if (document != NULL && ref_id != NULL)
    json_object_set_new(document, "refId", json_string(ref_id));
  if (document != NULL) {
    json_object_set_new(document, "messages", messages_json(true, "I00001", "Successful."));
  }
  reply(call, document);
}

/* --- Entry ---------------------------------------------------------------------------------- */

static bool authenticated(const json_t *root) {
  const char *name = string_at(root, "merchantAuthentication", "name", NULL);
  const char *key = string_at(root, "merchantAuthentication", "transactionKey", NULL);
  return name != NULL && key != NULL && strcmp(name, ANET_LOGIN) == 0 &&
         strcmp(key, ANET_TRANSACTION_KEY) == 0;
}

typedef struct root_kind {
  const char *name;
  const element *schema;
  void (*serve)(procsim_call *call, const json_t *root);
} root_kind;

static const root_kind roots[] = {
    {"createTransactionRequest", create_transaction, create_transaction_request},
    {"getTransactionDetailsRequest", get_details, transaction_details},
    {"getUnsettledTransactionListRequest", get_unsettled, unsettled_list},
};

static void serve_document(procsim_call *call, const json_t *document) {
  const char *name = json_object_iter_key(json_object_iter((json_t *)document));
  const json_t *root = json_object_iter_value(json_object_iter((json_t *)document));
  const root_kind *kind = NULL;
  for (size_t i = 0; name != NULL && i < sizeof roots / sizeof roots[0]; i++) {
    if (strcmp(roots[i].name, name) == 0) kind = &roots[i];
  }
  if (kind == NULL || json_object_size(document) != 1 || !json_is_object(root)) {
    reply_error(call, NULL, "E00045", "The root node does not reference a valid XML namespace.");
    return;
  }
  const char *ref_id = json_string_value(json_object_get(root, "refId"));
  char message[1024];
  if (!check_order(root, kind->schema, kind->name, 0, message, sizeof message)) {
    reply_error(call, ref_id, "E00003", message);
    return;
  }
  if (ref_id != NULL && strlen(ref_id) > ANET_REF_ID_BYTES_MAX) {
    reply_error(call, NULL, "E00003",
                "The '" NAMESPACE
                ":refId' element is invalid - The actual length is greater "
                "than the MaxLength value.");
    return;
  }
  if (!authenticated(root)) {
    reply_error(call, ref_id, "E00007",
                "User authentication failed due to invalid authentication values.");
    return;
  }
  if (ref_id != NULL) sim_copy(call->key, sizeof call->key, ref_id);
  kind->serve(call, root);
}

void authorizenet_handle(procsim_call *call) {
  const http_request *request = call->request;
  if (strcmp(request->method, "POST") != 0) {
    reply_error(call, NULL, "E00003", "Only POST is served.");
    return;
  }
  const char *body = request->body;
  size_t len = request->body_len;
  if (len >= 3 && memcmp(body, BOM, 3) == 0) {
    body += 3;
    len -= 3;
  }
  json_error_t error;
  json_t *document = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
  if (!json_is_object(document)) {
    reply_error(call, NULL, "E00003", "An error occurred while parsing the JSON request.");
  } else {
    serve_document(call, document);
  }
  json_decref(document);
}
