/* ccpay-adapter-stripe: ccpay.gateway.v1.Gateway for Stripe's PaymentIntents API.
 *
 * Config ([processor] section; see adapter.h for the runtime's keys):
 *   secret_key = sk_...          required; sent as the basic-auth user, never logged
 *   currencies = USD,EUR,GBP,CAD the account's currencies (that is the default)
 *   api_version = 2024-06-20     optional: pinned with the Stripe-Version header
 *
 * Every operation sends ccpayd's transaction id as the Idempotency-Key, so a resend
 * (http.c, on 409 or 5xx) and a Lookup never act twice: Lookup sends the original
 * operation again under its key, and Stripe answers with what it saved, or acts now
 * (once) when the first request never reached it. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "base/check.h"
#include "stripe_wire.h"

enum {
  STRIPE_CURRENCIES_MAX = ADAPTER_CURRENCIES_MAX,
  STRIPE_SECRET_BYTES_MAX = 255,
  STRIPE_URL_BYTES_MAX = 1024,
};

#define STRIPE_DEFAULT_CURRENCIES "USD,EUR,GBP,CAD"

typedef struct stripe_state {
  char authorization[16 + 4 * ((STRIPE_SECRET_BYTES_MAX + 3) / 3) + 1]; /* "Basic ..." */
  const char *api_version;                                              /* NULL: not sent */
  adapter_currencies currencies;
} stripe_state;

static const char *const stripe_config_keys[] = {"secret_key", "currencies", "api_version", NULL};

static ccpay_err stripe_configure(adapter *a, void **state_out, ccpay_error *error) {
  const char *key = NULL;
  if (!adapter_config_required(a, "secret_key", &key, error)) return error->code;
  adapter_add_secret(a, key);
  size_t key_len = strlen(key);
  bool word = key_len <= STRIPE_SECRET_BYTES_MAX && strpbrk(key, " :\t\r\n") == NULL;
  if (!word || (strncmp(key, "sk_", 3) != 0 && strncmp(key, "rk_", 3) != 0)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "secret_key: must be a Stripe secret or restricted key (sk_... or "
                           "rk_..., at most %d bytes)",
                           STRIPE_SECRET_BYTES_MAX);
  }
  stripe_state *s = calloc(1, sizeof *s);
  CHECK(s != NULL);
  /* Basic auth: the key as user, no password ("key:"). */
  char user_password[STRIPE_SECRET_BYTES_MAX + 2];
  int n = snprintf(user_password, sizeof user_password, "%s:", key);
  CHECK(n > 0 && (size_t)n < sizeof user_password);
  memcpy(s->authorization, "Basic ", 6);
  EVP_EncodeBlock((unsigned char *)s->authorization + 6, (const unsigned char *)user_password, n);
  adapter_add_secret(a, s->authorization + 6);
  explicit_bzero(user_password, sizeof user_password);

  ccpay_err rc = CCPAY_OK;
  if (!adapter_config_currencies(a, STRIPE_DEFAULT_CURRENCIES, STRIPE_CURRENCIES_MAX,
                                 &s->currencies, error)) {
    rc = error->code;
  }
  const char *version = adapter_config_get(a, "api_version");
  if (rc == CCPAY_OK && version != NULL &&
      (version[0] == '\0' || strlen(version) > 64 || strpbrk(version, " \t\r\n") != NULL)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "api_version: a Stripe API version such "
                         "as 2024-06-20");
  }
  if (rc != CCPAY_OK) {
    free(s);
    return rc;
  }
  s->api_version = version;
  *state_out = s;
  return CCPAY_OK;
}

static void stripe_release(adapter *a, void *state) {
  stripe_state *s = state;
  /* The encoded key is a credential: do not leave it in freed memory. */
  explicit_bzero(s->authorization, sizeof s->authorization);
  free(s);
}

static void stripe_capabilities(adapter *a, gateway_capabilities *out) {
  stripe_state *s = adapter_state(a);
  out->processor = "stripe";
  out->partial_capture = true;
  out->multiple_captures = true;
  out->void_supported = true;
  out->unlinked_refunds = false; /* refunds go to the original payment only */
  adapter_capabilities_set_currencies(out, &s->currencies);
  out->authorization_validity_days = STRIPE_WIRE_AUTHORIZATION_DAYS;
  out->refund_requires_settlement = false;
}

/* --- One exchange ------------------------------------------------------------------- */

/* POSTs body to path under the base URL with the operation's key and maps the answer. */
static ccpay_err post(adapter_op *op, stripe_wire_call call, const char *path, const char *body,
                      const Ccpay__V1__Money *requested, gateway_result *result,
                      ccpay_error *error) {
  stripe_state *s = adapter_state(op->adapter);
  if (body == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "request too large");
  char *url = arena_printf(op->arena, "%s%s", adapter_base_url(op->adapter), path);
  if (url == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  http_header headers[3] = {
      {"Authorization", s->authorization},
      {"Idempotency-Key", op->key},
  };
  size_t header_count = 2;
  if (s->api_version != NULL)
    headers[header_count++] = (http_header){"Stripe-Version", s->api_version};
  http_request request = {
      .method = "POST",
      .url = url,
      .content_type = "application/x-www-form-urlencoded",
      .body = body,
      .body_len = strlen(body),
      .headers = headers,
      .header_count = header_count,
      .idempotent = true,
  };
  http_response response;
  adapter_http_send(op, &request, &response);
  if (response.transport != HTTP_TRANSPORT_OK) {
    adapter_result_from_transport(op, result, &response);
    return CCPAY_OK;
  }
  if (!stripe_wire_map(op->arena, call, response.status, response.body, response.body_len,
                       requested, result)) {
    /* The answer was read but could not be kept: what happened is not known here. */
    adapter_result_set(op, result, CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN, "out_of_memory",
                       "the answer could not be kept");
  }
  return CCPAY_OK;
}

static ccpay_err reference_error(const char *field, ccpay_error *error) {
  return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "%s: not a Stripe id (letters, digits and '_')", field);
}

static ccpay_err stripe_authorize(adapter_op *op, const gateway_authorize_request *r,
                                  gateway_result *result, ccpay_error *error) {
  if (!stripe_wire_id_valid(r->card->token)) return reference_error("card.token", error);
  return post(op, STRIPE_WIRE_AUTHORIZE, "/v1/payment_intents",
              stripe_wire_authorize_body(op->arena, r), NULL, result, error);
}

static ccpay_err stripe_capture(adapter_op *op, const gateway_capture_request *r,
                                gateway_result *result, ccpay_error *error) {
  if (!stripe_wire_id_valid(r->payment_reference))
    return reference_error("payment_reference", error);
  char *path = arena_printf(op->arena, "/v1/payment_intents/%s/capture", r->payment_reference);
  if (path == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  return post(op, STRIPE_WIRE_CAPTURE, path, stripe_wire_capture_body(op->arena, r), r->amount,
              result, error);
}

static ccpay_err stripe_void(adapter_op *op, const gateway_void_request *r, gateway_result *result,
                             ccpay_error *error) {
  if (!stripe_wire_id_valid(r->payment_reference))
    return reference_error("payment_reference", error);
  char *path = arena_printf(op->arena, "/v1/payment_intents/%s/cancel", r->payment_reference);
  if (path == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  return post(op, STRIPE_WIRE_CANCEL, path, stripe_wire_cancel_body(op->arena, r), r->amount,
              result, error);
}

static ccpay_err stripe_refund(adapter_op *op, const gateway_refund_request *r,
                               gateway_result *result, ccpay_error *error) {
  if (r->payment_reference == NULL || r->payment_reference[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_CAPABILITY_MISSING,
                           "payment_reference: required: Stripe refunds only to the original "
                           "payment (no unlinked refunds)");
  }
  if (!stripe_wire_id_valid(r->payment_reference))
    return reference_error("payment_reference", error);
  return post(op, STRIPE_WIRE_REFUND, "/v1/refunds", stripe_wire_refund_body(op->arena, r), NULL,
              result, error);
}

/* Sends the original again under the same key: Stripe replays its saved answer, or acts
 * now if the first request never reached it. An answer that only says this resend was
 * not executed (credentials, rate limit, not sent) tells nothing about the original. */
static ccpay_err stripe_lookup(adapter_op *op, const gateway_lookup_request *r,
                               gateway_result *result, ccpay_error *error) {
  ccpay_err rc;
  switch (r->original_case) {
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_AUTHORIZE_REQUEST: {
      gateway_authorize_request original = *r->authorize_request;
      original.idempotency_key = (char *)op->key;
      rc = stripe_authorize(op, &original, result, error);
      break;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST: {
      gateway_capture_request original = *r->capture_request;
      original.idempotency_key = (char *)op->key;
      rc = stripe_capture(op, &original, result, error);
      break;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_VOID_REQUEST: {
      gateway_void_request original = *r->void_request;
      original.idempotency_key = (char *)op->key;
      rc = stripe_void(op, &original, result, error);
      break;
    }
    case CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_REFUND_REQUEST: {
      gateway_refund_request original = *r->refund_request;
      original.idempotency_key = (char *)op->key;
      rc = stripe_refund(op, &original, result, error);
      break;
    }
    default:
      return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "original: required");
  }
  if (rc != CCPAY_OK) return rc;
  bool not_sent =
      result->outcome == CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_FAILED && op->http_status == 0;
  if (not_sent || stripe_wire_lookup_adjust(op->http_status, result)) {
    result->outcome = CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_UNKNOWN;
  }
  return CCPAY_OK;
}

static const adapter_ops stripe_ops = {
    .processor = "stripe",
    .configure = stripe_configure,
    .capabilities = stripe_capabilities,
    .authorize = stripe_authorize,
    .capture = stripe_capture,
    .void_ = stripe_void,
    .refund = stripe_refund,
    .lookup = stripe_lookup,
    .config_keys = stripe_config_keys,
    .release = stripe_release,
};

int main(int argc, char **argv) { return adapter_main(argc, argv, &stripe_ops); }
