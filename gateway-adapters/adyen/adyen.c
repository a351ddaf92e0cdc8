/* The Adyen adapter: ccpay.gateway.v1.Gateway on Adyen's Checkout API v71.
 *
 * Facts this relies on (Adyen's API reference, Checkout v71, and docs/PROCSIM.md):
 *   - POST {base_url}/payments authorises a stored card (paymentMethod.type "scheme",
 *     storedPaymentMethodId); additionalData.manualCapture "true" keeps it uncaptured.
 *     A sale leaves it out: the merchant account must keep Adyen's default capture
 *     setting (immediate automatic capture) for a sale to be captured at once.
 *   - Captures, cancels and refunds are modifications of the payment's pspReference:
 *     POST /payments/{pspReference}/captures | /cancels | /refunds, answered 201 with
 *     status "received". Adyen confirms each by webhook (CAPTURE, CANCELLATION, REFUND).
 *     This adapter does not receive webhooks: a received modification is reported as
 *     SUCCEEDED, and a modification Adyen later rejects must be reconciled from Adyen's
 *     reports (out of scope here).
 *   - Every request carries Idempotency-Key = ccpay's transaction id (≤ 64 characters,
 *     kept by Adyen at least 31 days). The runtime's HTTP client resends 5xx, 409
 *     (errorCode 704: the same key in progress) and Transient-Error answers with the
 *     same key; a Lookup resends the original request with the same key, and Adyen
 *     answers with the first outcome (or acts, if the first never arrived).
 *   - After a partial capture Adyen cancels the rest unless multiple partial captures
 *     are enabled on the account (config multiple_captures); then a final capture is
 *     followed by a cancel of the rest.
 *   - Unlinked refunds use the classic Payment API v68 refundWithData, enabled per
 *     account only (config unlinked_refunds, pal_base_url).
 *   - An uncaptured card authorisation is kept 28 days by default
 *     (authorization_validity_days overrides it; schemes may expire it earlier).
 *
 * Config keys ([processor]): api_key (secret), merchant_account, currencies (default
 * EUR,GBP,USD), multiple_captures (default true), unlinked_refunds (default false),
 * pal_base_url (required when unlinked_refunds), authorization_validity_days (default
 * 28), shopper_interaction (default ContAuth), recurring_processing_model (default
 * CardOnFile). */
#include "adyen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adyen_wire.h"
#include "base/check.h"
#include "base/log.h"

enum {
  ADYEN_VALIDITY_DAYS_DEFAULT = 28,
};

typedef Ccpay__Gateway__V1__Outcome outcome_t;

typedef struct adyen_state {
  adyen_wire_options wire;
  const char *api_key;
  const char *pal_base_url; /* NULL unless unlinked refunds are enabled */
  bool unlinked_refunds;
  bool multiple_captures;
  int32_t validity_days;
  adapter_currencies currencies;
} adyen_state;

/* --- Configuration ------------------------------------------------------------------------- */

/* The state holds only pointers into the runtime's config: the struct is all there is
 * to free. */
static void adyen_release(adapter *a, void *state) { free(state); }

/* Reads the keys into s; false (error naming the key) at the first bad one. */
static bool adyen_config_read(adapter *a, adyen_state *s, ccpay_error *error) {
  if (!adapter_config_required(a, "api_key", &s->api_key, error) ||
      !adapter_config_required(a, "merchant_account", &s->wire.merchant_account, error) ||
      !adapter_config_bool(a, "multiple_captures", true, &s->multiple_captures, error) ||
      !adapter_config_bool(a, "unlinked_refunds", false, &s->unlinked_refunds, error)) {
    return false;
  }
  if (s->unlinked_refunds && !adapter_config_required(a, "pal_base_url", &s->pal_base_url, error)) {
    return false;
  }
  return adapter_config_currencies(a, "EUR,GBP,USD", ADAPTER_CURRENCIES_MAX, &s->currencies,
                                   error) &&
         adapter_config_validity_days(a, ADYEN_VALIDITY_DAYS_DEFAULT, &s->validity_days, error);
}

static ccpay_err adyen_configure(adapter *a, void **state_out, ccpay_error *error) {
  adyen_state *s = calloc(1, sizeof *s);
  if (s == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  if (!adyen_config_read(a, s, error)) {
    free(s);
    return error->code;
  }
  s->wire.shopper_interaction = adapter_config_text(a, "shopper_interaction", "ContAuth");
  s->wire.recurring_processing_model =
      adapter_config_text(a, "recurring_processing_model", "CardOnFile");
  adapter_add_secret(a, s->api_key);
  *state_out = s; /* freed by adyen_release */
  return CCPAY_OK;
}

static void adyen_capabilities(adapter *a, gateway_capabilities *out) {
  const adyen_state *s = adapter_state(a);
  out->processor = "adyen";
  out->partial_capture = true;
  out->multiple_captures = s->multiple_captures;
  out->void_supported = true;
  out->unlinked_refunds = s->unlinked_refunds;
  adapter_capabilities_set_currencies(out, &s->currencies);
  out->authorization_validity_days = s->validity_days;
  out->refund_requires_settlement = false;
}

/* --- Sending ------------------------------------------------------------------------------- */

static ccpay_err check_currency(const adyen_state *s, const Ccpay__V1__Money *amount,
                                ccpay_error *error) {
  if (adapter_currencies_contain(&s->currencies, amount->currency_code)) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                         "amount.currency_code: %.3s is not accepted by this Adyen account",
                         amount->currency_code);
}

static ccpay_err check_psp(const char *reference, ccpay_error *error) {
  if (adyen_wire_psp_reference_valid(reference)) return CCPAY_OK;
  return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "payment_reference: an Adyen pspReference is letters and digits only");
}

/* POSTs body to url with the API key and the idempotency key, and maps the answer. */
static ccpay_err adyen_exchange(adapter_op *op, adyen_wire_call call, const char *url,
                                const char *body, const char *key,
                                const Ccpay__V1__Money *requested, gateway_result *result,
                                ccpay_error *error) {
  if (url == NULL || body == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory building the request");
  }
  const adyen_state *s = adapter_state(op->adapter);
  const http_header headers[] = {{"X-API-Key", s->api_key}, {"Idempotency-Key", key}};
  http_request request = {.method = "POST",
                          .url = url,
                          .content_type = "application/json",
                          .body = body,
                          .body_len = strlen(body),
                          .headers = headers,
                          .header_count = sizeof headers / sizeof headers[0],
                          .idempotent = true};
  http_response response;
  memset(&response, 0, sizeof response);
  adapter_http_send(op, &request, &response);
  if (response.transport != HTTP_TRANSPORT_OK) {
    adapter_result_from_transport(op, result, &response);
    return CCPAY_OK;
  }
  if (!adyen_wire_map(op->arena, call, response.status, response.transient_error, response.body,
                      requested, result)) {
    /* The request was answered but the answer could not be kept: look it up later. */
    adapter_result_set(op, result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, "",
                       "out of memory reading Adyen's answer");
  }
  return CCPAY_OK;
}

/* --- Operations ---------------------------------------------------------------------------- */

static ccpay_err adyen_authorize(adapter_op *op, const gateway_authorize_request *request,
                                 gateway_result *result, ccpay_error *error) {
  const adyen_state *s = adapter_state(op->adapter);
  CHECK(request->amount != NULL);
  if (request->card == NULL || request->card->token[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "card.token: required");
  }
  if (strlen(request->order_reference) > ADYEN_WIRE_REFERENCE_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "order_reference: Adyen takes at most %d characters",
                           ADYEN_WIRE_REFERENCE_BYTES_MAX);
  }
  ccpay_err err = check_currency(s, request->amount, error);
  if (err != CCPAY_OK) return err;
  const char *url = arena_printf(op->arena, "%s/payments", adapter_base_url(op->adapter));
  const char *body = adyen_wire_payment_body(op->arena, &s->wire, request);
  err = adyen_exchange(op, ADYEN_WIRE_PAYMENT, url, body, request->idempotency_key, request->amount,
                       result, error);
  if (err == CCPAY_OK && !request->capture &&
      result->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED) {
    /* Adyen does not say; this is the account's configured validity. */
    result->authorization_expires_ms = adapter_authorization_expires_ms(s->validity_days);
  }
  return err;
}

/* With multiple partial captures enabled Adyen keeps the rest of an authorisation after
 * a capture; a final capture must release it. The cancel goes under its own key derived
 * from the capture's (a Lookup that resends the capture resends the same cancel, which
 * Adyen then answers from its record). The capture's outcome stands either way: a cancel
 * that fails only leaves the rest to lapse, and is logged. */
static void release_rest(adapter_op *op, const adyen_state *s,
                         const gateway_capture_request *capture) {
  gateway_void_request cancel = CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
  cancel.idempotency_key = arena_printf(op->arena, "%s-rest", capture->idempotency_key);
  cancel.payment_reference = capture->payment_reference;
  cancel.order_reference = capture->order_reference;
  const char *url = arena_printf(op->arena, "%s/payments/%s/cancels", adapter_base_url(op->adapter),
                                 capture->payment_reference);
  gateway_result *outcome = arena_alloc(op->arena, sizeof *outcome);
  if (cancel.idempotency_key == NULL || url == NULL || outcome == NULL) return;
  ccpay__gateway__v1__operation_result__init(outcome);
  ccpay_error error;
  ccpay_err err = adyen_exchange(op, ADYEN_WIRE_MODIFICATION, url,
                                 adyen_wire_cancel_body(op->arena, &s->wire, &cancel),
                                 cancel.idempotency_key, NULL, outcome, &error);
  if (err != CCPAY_OK || outcome->outcome != CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED) {
    log_warn("event=release_rest_failed key=%s outcome=%s", capture->idempotency_key,
             err != CCPAY_OK ? error.message : adapter_outcome_name(outcome->outcome));
  }
}

static ccpay_err adyen_capture(adapter_op *op, const gateway_capture_request *request,
                               gateway_result *result, ccpay_error *error) {
  const adyen_state *s = adapter_state(op->adapter);
  CHECK(request->amount != NULL);
  ccpay_err err = check_psp(request->payment_reference, error);
  if (err == CCPAY_OK) err = check_currency(s, request->amount, error);
  if (err != CCPAY_OK) return err;
  const char *url = arena_printf(op->arena, "%s/payments/%s/captures",
                                 adapter_base_url(op->adapter), request->payment_reference);
  err = adyen_exchange(op, ADYEN_WIRE_MODIFICATION, url,
                       adyen_wire_capture_body(op->arena, &s->wire, request),
                       request->idempotency_key, request->amount, result, error);
  if (err == CCPAY_OK && request->final_capture && s->multiple_captures &&
      result->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_SUCCEEDED) {
    release_rest(op, s, request);
  }
  return err;
}

static ccpay_err adyen_void(adapter_op *op, const gateway_void_request *request,
                            gateway_result *result, ccpay_error *error) {
  const adyen_state *s = adapter_state(op->adapter);
  ccpay_err err = check_psp(request->payment_reference, error);
  if (err != CCPAY_OK) return err;
  const char *url = arena_printf(op->arena, "%s/payments/%s/cancels", adapter_base_url(op->adapter),
                                 request->payment_reference);
  return adyen_exchange(op, ADYEN_WIRE_MODIFICATION, url,
                        adyen_wire_cancel_body(op->arena, &s->wire, request),
                        request->idempotency_key, request->amount, result, error);
}

static ccpay_err adyen_refund(adapter_op *op, const gateway_refund_request *request,
                              gateway_result *result, ccpay_error *error) {
  const adyen_state *s = adapter_state(op->adapter);
  CHECK(request->amount != NULL);
  ccpay_err err = check_currency(s, request->amount, error);
  if (err != CCPAY_OK) return err;
  if (request->payment_reference[0] != '\0') {
    err = check_psp(request->payment_reference, error);
    if (err != CCPAY_OK) return err;
    const char *url = arena_printf(op->arena, "%s/payments/%s/refunds",
                                   adapter_base_url(op->adapter), request->payment_reference);
    return adyen_exchange(op, ADYEN_WIRE_MODIFICATION, url,
                          adyen_wire_refund_body(op->arena, &s->wire, request),
                          request->idempotency_key, request->amount, result, error);
  }
  if (!s->unlinked_refunds) {
    return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                           "unlinked refunds are not enabled for this Adyen account "
                           "(config unlinked_refunds)");
  }
  if (request->card == NULL || request->card->token[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "card.token: required for an unlinked refund");
  }
  const char *url =
      arena_printf(op->arena, "%s/pal/servlet/Payment/v68/refundWithData", s->pal_base_url);
  return adyen_exchange(op, ADYEN_WIRE_CLASSIC, url,
                        adyen_wire_refund_with_data_body(op->arena, &s->wire, request),
                        request->idempotency_key, request->amount, result, error);
}

/* Adyen keeps the first answer under an Idempotency-Key: a look-up resends the original
 * request with the same key. Adyen answers with the first outcome, or, if the first
 * request never reached it, acts now: either way the answer is the operation's outcome. */
static ccpay_err adyen_lookup(adapter_op *op, const gateway_lookup_request *request,
                              gateway_result *result, ccpay_error *error) {
  switch (request->original_case) {
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST:
      return adyen_authorize(op, request->authorize_request, result, error);
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST:
      return adyen_capture(op, request->capture_request, result, error);
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST:
      return adyen_void(op, request->void_request, result, error);
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST:
      return adyen_refund(op, request->refund_request, result, error);
    default:
      return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                             "original: Adyen finds an operation by resending it");
  }
}

static const char *const adyen_config_keys[] = {"api_key",
                                                "merchant_account",
                                                "currencies",
                                                "multiple_captures",
                                                "unlinked_refunds",
                                                "pal_base_url",
                                                "authorization_validity_days",
                                                "shopper_interaction",
                                                "recurring_processing_model",
                                                NULL};

const adapter_ops adyen_ops = {
    .processor = "adyen",
    .configure = adyen_configure,
    .release = adyen_release,
    .capabilities = adyen_capabilities,
    .authorize = adyen_authorize,
    .capture = adyen_capture,
    .void_ = adyen_void,
    .refund = adyen_refund,
    .lookup = adyen_lookup,
    .config_keys = adyen_config_keys,
};
