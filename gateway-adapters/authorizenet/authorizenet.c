/* The Authorize.Net adapter: ccpay.gateway.v1.Gateway on Authorize.Net's JSON API.
 *
 * Facts this relies on (Authorize.Net's API reference and AnetApiSchema.xsd, and
 * docs/PROCSIM.md):
 *   - One endpoint, {base_url} (…/xml/v1/request.api); elements in schema order;
 *     answers start with a UTF-8 byte order mark (authorizenet_wire.c).
 *   - authOnlyTransaction lapses uncaptured after 30 days; priorAuthCaptureTransaction
 *     captures once (the rest is released); voidTransaction acts on unsettled
 *     transactions only; refundTransaction needs the capture settled (before that: void)
 *     and the card's last four digits; an unlinked credit needs Expanded Credit
 *     Capabilities on the account (config unlinked_refunds).
 *   - There is no idempotency key. The adapter sends ccpay's transaction id as refId and
 *     order.invoiceNumber, never lets the HTTP client resend (idempotent = false), and
 *     finds an operation again before anything is sent twice:
 *       authorize, sale, refund: getUnsettledTransactionListRequest, the transaction
 *         whose invoiceNumber is the key (then getTransactionDetailsRequest for its
 *         AVS / card code results);
 *       capture, void: getTransactionDetailsRequest of the authorization (refTransId):
 *         captured → the capture happened, voided → the void happened, still
 *         authorizedPendingCapture → neither did (NOT_FOUND: it may be sent again).
 *     A duplicate answer (responseCode 3, reason 11: the same invoiceNumber and amount
 *     within the duplicate window) is resolved by the same look-up.
 *   - responseCode 4 (held for review by the fraud filters) is reported UNKNOWN: the
 *     merchant's review may still decline it. Lookup keeps it UNKNOWN until reviewed.
 *
 * Known limit: the unsettled list holds transactions until their batch settles (daily).
 * A look-up made after settlement does not find an authorization captured in a sale or
 * a refund there and answers NOT_FOUND; ccpayd looks up within seconds of a lost
 * answer, long before settlement. Searching settled batches (getSettledBatchListRequest,
 * getTransactionListRequest) would close this.
 *
 * Config keys ([processor]): api_login_id, transaction_key (secret), currencies (default
 * USD: an Authorize.Net account settles in one currency), unlinked_refunds (default
 * false), authorization_validity_days (default 30), lookup_pages_max (default 5 pages of
 * 1000 transactions). */
#include "authorizenet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorizenet_wire.h"
#include "base/check.h"
#include "domain/currency.h"
#include "domain/money.h"

enum {
  ANET_CURRENCIES_MAX = 8,
  ANET_VALIDITY_DAYS_DEFAULT = 30,
  ANET_LOOKUP_PAGES_DEFAULT = 5,
  ANET_LOOKUP_PAGES_MAX = 50,
};
_Static_assert((int)ANET_CURRENCIES_MAX <= (int)ADAPTER_CURRENCIES_MAX,
               "the runtime's list bounds ours");

#define OUTCOME(x) CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_##x

typedef struct anet_state {
  authorizenet_wire_credentials credentials;
  bool unlinked_refunds;
  int32_t validity_days;
  unsigned lookup_pages_max;
  adapter_currencies currencies;
} anet_state;

/* --- Configuration ------------------------------------------------------------------------- */

/* The state holds only pointers into the runtime's config: the struct is all there is
 * to free. */
static void anet_release(adapter *a, void *state) { free(state); }

/* Reads the keys into s; false (error naming the key) at the first bad one. */
static bool anet_config_read(adapter *a, anet_state *s, ccpay_error *error) {
  long pages = 0;
  if (!adapter_config_required(a, "api_login_id", &s->credentials.api_login_id, error) ||
      !adapter_config_required(a, "transaction_key", &s->credentials.transaction_key, error) ||
      !adapter_config_bool(a, "unlinked_refunds", false, &s->unlinked_refunds, error) ||
      !adapter_config_currencies(a, "USD", ANET_CURRENCIES_MAX, &s->currencies, error) ||
      !adapter_config_validity_days(a, ANET_VALIDITY_DAYS_DEFAULT, &s->validity_days, error) ||
      !adapter_config_int(a, "lookup_pages_max", 1, ANET_LOOKUP_PAGES_MAX,
                          ANET_LOOKUP_PAGES_DEFAULT, &pages, error)) {
    return false;
  }
  s->lookup_pages_max = (unsigned)pages;
  return true;
}

static ccpay_err anet_configure(adapter *a, void **state_out, ccpay_error *error) {
  anet_state *s = calloc(1, sizeof *s);
  if (s == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  if (!anet_config_read(a, s, error)) {
    free(s);
    return error->code;
  }
  adapter_add_secret(a, s->credentials.transaction_key);
  *state_out = s; /* freed by anet_release */
  return CCPAY_OK;
}

static void anet_capabilities(adapter *a, gateway_capabilities *out) {
  const anet_state *s = adapter_state(a);
  out->processor = "authorizenet";
  out->partial_capture = true;
  out->multiple_captures = false; /* one priorAuthCapture per authorization */
  out->void_supported = true;
  out->unlinked_refunds = s->unlinked_refunds;
  adapter_capabilities_set_currencies(out, &s->currencies);
  out->authorization_validity_days = s->validity_days;
  out->refund_requires_settlement = true;
}

/* --- Sending ------------------------------------------------------------------------------- */

static ccpay_err check_currency(const anet_state *s, const Ccpay__V1__Money *amount,
                                ccpay_error *error) {
  if (adapter_currencies_contain(&s->currencies, amount->currency_code)) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                         "amount.currency_code: %.3s is not this Authorize.Net account's currency",
                         amount->currency_code);
}

/* POSTs body once: Authorize.Net has no idempotency key, so the HTTP client never
 * resends it. */
static void anet_post(adapter_op *op, const char *body, http_response *response) {
  http_request request = {.method = "POST",
                          .url = adapter_base_url(op->adapter),
                          .content_type = "application/json",
                          .body = body,
                          .body_len = strlen(body),
                          .headers = NULL,
                          .header_count = 0,
                          .idempotent = false};
  memset(response, 0, sizeof *response);
  adapter_http_send(op, &request, response);
}

/* A look-up that could not be made: the operation's outcome stays unknown. */
static void lookup_unknown(adapter_op *op, gateway_result *result, const char *why) {
  adapter_result_set(op, result, OUTCOME(UNKNOWN), "", why);
}

static unsigned exponent_of(const char *code) {
  const currency *c = currency_find(code);
  return c != NULL ? c->exponent : 2;
}

/* --- Look-ups ------------------------------------------------------------------------------ */

/* The details of trans_id mapped for kind; fills *result. */
static void lookup_details(adapter_op *op, authorizenet_wire_kind kind, const char *trans_id,
                           const char *currency_code, gateway_result *result) {
  const anet_state *s = adapter_state(op->adapter);
  const char *body = authorizenet_wire_details_body(op->arena, &s->credentials, trans_id);
  if (body == NULL) {
    lookup_unknown(op, result, "out of memory building the look-up");
    return;
  }
  http_response response;
  anet_post(op, body, &response);
  if (response.transport != HTTP_TRANSPORT_OK || response.status != 200) {
    lookup_unknown(op, result, "Authorize.Net could not be asked; look it up later");
    return;
  }
  if (!authorizenet_wire_map_details(op->arena, kind, response.body, response.body_len,
                                     currency_code, exponent_of(currency_code), result)) {
    lookup_unknown(op, result, "out of memory reading the look-up");
  }
}

/* Finds the transaction whose invoiceNumber is key (authorize, sale, refund) in the
 * unsettled list, newest first, at most lookup_pages_max pages. */
static void lookup_invoice(adapter_op *op, authorizenet_wire_kind kind, const char *key,
                           const char *currency_code, gateway_result *result) {
  const anet_state *s = adapter_state(op->adapter);
  char trans_id[ANET_WIRE_TRANS_ID_BYTES_MAX + 1] = "";
  for (unsigned page = 1; page <= s->lookup_pages_max; page++) {
    const char *body = authorizenet_wire_unsettled_body(op->arena, &s->credentials, page);
    if (body == NULL) {
      lookup_unknown(op, result, "out of memory building the look-up");
      return;
    }
    http_response response;
    anet_post(op, body, &response);
    if (response.transport != HTTP_TRANSPORT_OK || response.status != 200) {
      lookup_unknown(op, result, "Authorize.Net could not be asked; look it up later");
      return;
    }
    switch (authorizenet_wire_map_list(op->arena, kind, response.body, response.body_len, key,
                                       currency_code, exponent_of(currency_code), result,
                                       trans_id)) {
      case ANET_WIRE_LIST_FOUND:
        if (result->outcome == OUTCOME(SUCCEEDED) &&
            (kind == ANET_WIRE_AUTH_ONLY || kind == ANET_WIRE_AUTH_CAPTURE)) {
          /* The details add AVS / card code results; without them the list's answer
           * stands. */
          gateway_result details = *result;
          lookup_details(op, kind, trans_id, currency_code, &details);
          if (details.outcome == OUTCOME(SUCCEEDED)) *result = details;
        }
        return;
      case ANET_WIRE_LIST_LAST_PAGE:
        adapter_result_set(op, result, OUTCOME(NOT_FOUND), "",
                           "no transaction carries this key as its invoice number");
        return;
      case ANET_WIRE_LIST_ERROR:
        return; /* result says UNKNOWN */
      case ANET_WIRE_LIST_ABSENT:
        break;
    }
  }
  lookup_unknown(op, result, "the key is not among the newest unsettled transactions searched");
}

/* The look-up of an operation of kind; original fields as sent. */
static void lookup_kind(adapter_op *op, authorizenet_wire_kind kind, const char *key,
                        const char *ref_trans_id, const Ccpay__V1__Money *amount,
                        gateway_result *result) {
  const char *code = amount != NULL ? amount->currency_code : "USD";
  if (kind == ANET_WIRE_PRIOR_AUTH_CAPTURE || kind == ANET_WIRE_VOID) {
    lookup_details(op, kind, ref_trans_id, code, result);
    if (kind == ANET_WIRE_VOID && result->outcome == OUTCOME(SUCCEEDED) && amount != NULL) {
      /* What was left to release, as requested. */
      result->amount = money_message(op->arena, amount->currency_code, amount->amount_minor);
    }
  } else {
    lookup_invoice(op, kind, key, code, result);
  }
}

/* Sends a createTransactionRequest and maps the answer; a duplicate is looked up. */
static ccpay_err anet_transact(adapter_op *op, authorizenet_wire_kind kind, const char *body,
                               const char *key, const char *ref_trans_id,
                               const Ccpay__V1__Money *amount, gateway_result *result) {
  http_response response;
  anet_post(op, body, &response);
  if (response.transport != HTTP_TRANSPORT_OK) {
    adapter_result_from_transport(op, result, &response);
    return CCPAY_OK;
  }
  bool duplicate = false;
  if (!authorizenet_wire_map_transaction(op->arena, kind, response.status, response.body,
                                         response.body_len, amount, result, &duplicate)) {
    lookup_unknown(op, result, "out of memory reading Authorize.Net's answer");
    return CCPAY_OK;
  }
  if (duplicate) {
    /* The same key within the duplicate window: an earlier send of this operation
     * reached Authorize.Net. Its outcome is this operation's. */
    gateway_result found = *result;
    lookup_kind(op, kind, key, ref_trans_id, amount, &found);
    if (found.outcome != OUTCOME(NOT_FOUND)) *result = found;
  }
  return CCPAY_OK;
}

/* --- Operations ---------------------------------------------------------------------------- */

static ccpay_err anet_authorize(adapter_op *op, const gateway_authorize_request *request,
                                gateway_result *result, ccpay_error *error) {
  const anet_state *s = adapter_state(op->adapter);
  CHECK(request->amount != NULL);
  ccpay_err err = check_currency(s, request->amount, error);
  if (err != CCPAY_OK) return err;
  char *body = NULL;
  err = authorizenet_wire_authorize_body(op->arena, &s->credentials, request, &body, error);
  if (err != CCPAY_OK) return err;
  authorizenet_wire_kind kind = request->capture ? ANET_WIRE_AUTH_CAPTURE : ANET_WIRE_AUTH_ONLY;
  err = anet_transact(op, kind, body, request->idempotency_key, NULL, request->amount, result);
  if (err == CCPAY_OK && !request->capture && result->outcome == OUTCOME(SUCCEEDED)) {
    result->authorization_expires_ms = adapter_authorization_expires_ms(s->validity_days);
  }
  return err;
}

static ccpay_err anet_capture(adapter_op *op, const gateway_capture_request *request,
                              gateway_result *result, ccpay_error *error) {
  const anet_state *s = adapter_state(op->adapter);
  CHECK(request->amount != NULL);
  ccpay_err err = check_currency(s, request->amount, error);
  if (err != CCPAY_OK) return err;
  char *body = NULL;
  err = authorizenet_wire_capture_body(op->arena, &s->credentials, request, &body, error);
  if (err != CCPAY_OK) return err;
  return anet_transact(op, ANET_WIRE_PRIOR_AUTH_CAPTURE, body, request->idempotency_key,
                       request->payment_reference, request->amount, result);
}

static ccpay_err anet_void(adapter_op *op, const gateway_void_request *request,
                           gateway_result *result, ccpay_error *error) {
  const anet_state *s = adapter_state(op->adapter);
  char *body = NULL;
  ccpay_err err = authorizenet_wire_void_body(op->arena, &s->credentials, request, &body, error);
  if (err != CCPAY_OK) return err;
  return anet_transact(op, ANET_WIRE_VOID, body, request->idempotency_key,
                       request->payment_reference, request->amount, result);
}

static ccpay_err anet_refund(adapter_op *op, const gateway_refund_request *request,
                             gateway_result *result, ccpay_error *error) {
  const anet_state *s = adapter_state(op->adapter);
  CHECK(request->amount != NULL);
  ccpay_err err = check_currency(s, request->amount, error);
  if (err != CCPAY_OK) return err;
  bool linked = request->payment_reference[0] != '\0';
  if (!linked && !s->unlinked_refunds) {
    return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                           "unlinked credits need Expanded Credit Capabilities on this "
                           "Authorize.Net account (config unlinked_refunds)");
  }
  if (request->card == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           linked ? "card.last4: required to refund at Authorize.Net"
                                  : "card.token: required for an unlinked credit");
  }
  char *body = NULL;
  err = authorizenet_wire_refund_body(op->arena, &s->credentials, request, &body, error);
  if (err != CCPAY_OK) return err;
  return anet_transact(op, linked ? ANET_WIRE_REFUND : ANET_WIRE_CREDIT, body,
                       request->idempotency_key, linked ? request->payment_reference : NULL,
                       request->amount, result);
}

static ccpay_err anet_lookup(adapter_op *op, const gateway_lookup_request *request,
                             gateway_result *result, ccpay_error *error) {
  const char *key = request->idempotency_key;
  if (strlen(key) > ANET_WIRE_REF_ID_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "idempotency_key: Authorize.Net takes at most %d characters",
                           ANET_WIRE_REF_ID_BYTES_MAX);
  }
  switch (request->original_case) {
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST: {
      const gateway_authorize_request *o = request->authorize_request;
      lookup_kind(op, o->capture ? ANET_WIRE_AUTH_CAPTURE : ANET_WIRE_AUTH_ONLY, key, NULL,
                  o->amount, result);
      return CCPAY_OK;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST:
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST: {
      bool capture =
          request->original_case == CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST;
      const char *ref = capture ? request->capture_request->payment_reference
                                : request->void_request->payment_reference;
      if (!authorizenet_wire_trans_id_valid(ref)) {
        return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                               "original.payment_reference: an Authorize.Net transId is digits");
      }
      lookup_kind(op, capture ? ANET_WIRE_PRIOR_AUTH_CAPTURE : ANET_WIRE_VOID, key, ref,
                  capture ? request->capture_request->amount : request->void_request->amount,
                  result);
      return CCPAY_OK;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST: {
      const gateway_refund_request *o = request->refund_request;
      lookup_kind(op, o->payment_reference[0] != '\0' ? ANET_WIRE_REFUND : ANET_WIRE_CREDIT, key,
                  NULL, o->amount, result);
      return CCPAY_OK;
    }
    default:
      break;
  }
  /* Without the original: authorizations and refunds are found by key alone. */
  switch (request->operation) {
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_AUTHORIZE:
      lookup_kind(op, ANET_WIRE_AUTH_ONLY, key, NULL, NULL, result);
      return CCPAY_OK;
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_SALE:
      lookup_kind(op, ANET_WIRE_AUTH_CAPTURE, key, NULL, NULL, result);
      return CCPAY_OK;
    case CCPAY__GATEWAY__V1__OPERATION__OPERATION_REFUND:
      lookup_kind(op, ANET_WIRE_REFUND, key, NULL, NULL, result);
      return CCPAY_OK;
    default:
      return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                             "original: a capture or void is found through its authorization");
  }
}

static const char *const anet_config_keys[] = {"api_login_id",
                                               "transaction_key",
                                               "currencies",
                                               "unlinked_refunds",
                                               "authorization_validity_days",
                                               "lookup_pages_max",
                                               NULL};

const adapter_ops authorizenet_ops = {
    .processor = "authorizenet",
    .configure = anet_configure,
    .release = anet_release,
    .capabilities = anet_capabilities,
    .authorize = anet_authorize,
    .capture = anet_capture,
    .void_ = anet_void,
    .refund = anet_refund,
    .lookup = anet_lookup,
    .config_keys = anet_config_keys,
};
