/* Stripe's wire format (PaymentIntents API), without I/O: the form bodies the adapter
 * sends and the mapping of Stripe's answers to a gateway_result. Unit-tested on its own
 * (tests/unit/test_stripe_wire.c).
 *
 * Facts relied on (docs.stripe.com/api, /payments/place-a-hold-on-a-payment-method,
 * /payments/multicapture, /refunds, /idempotency, /error-codes):
 *   - Bodies are application/x-www-form-urlencoded with bracket nesting
 *     (metadata[k]=v); answers are JSON; amounts are integers in the currency's
 *     smallest unit and currencies lower-case ISO codes.
 *   - POST /v1/payment_intents with amount, currency, payment_method, confirm=true and
 *     capture_method=manual places a hold (status requires_capture); automatic charges
 *     at once (status succeeded). payment_method_options[card][request_multicapture]
 *     =if_available asks for several captures. expand[]=latest_charge returns the charge
 *     object instead of its id: its payment_method_details.card.checks hold the AVS and
 *     CVC results, outcome.risk_score the risk score, and payment_method_details.card
 *     .capture_before when the hold lapses (7 days by default).
 *   - POST /v1/payment_intents/{id}/capture with amount_to_capture (the rest is
 *     released) and, for a capture that is not the last of a multicapture hold,
 *     final_capture=false. POST /v1/payment_intents/{id}/cancel releases the hold.
 *   - POST /v1/refunds with payment_intent and amount. Refunds go to the original
 *     payment only: Stripe has no unlinked refunds.
 *   - Errors are {"error":{"type","code","decline_code","message","param",
 *     "payment_intent"}}: HTTP 402 card_error is a decline; 400 invalid_request_error
 *     a refusal (idempotency_error when a key is reused with other parameters); 401
 *     bad key; 404 unknown object; 409 the key in use by a request still running; 429
 *     rate limited (not executed); 5xx Stripe's own failure.
 *
 * Every function draws its memory from the arena given; nothing is kept between calls. */
#ifndef CCPAY_GATEWAY_ADAPTERS_STRIPE_WIRE_H
#define CCPAY_GATEWAY_ADAPTERS_STRIPE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"

enum {
  STRIPE_WIRE_ID_BYTES_MAX = 255, /* Stripe object ids ("pi_...", "pm_...") */
  /* An uncaptured PaymentIntent is cancelled after 7 days unless capture_before says
   * otherwise. */
  STRIPE_WIRE_AUTHORIZATION_DAYS = 7,
};

/* True when id is 1..STRIPE_WIRE_ID_BYTES_MAX letters, digits and '_' (safe in a URL
 * path; every Stripe id has this shape). */
bool stripe_wire_id_valid(const char *id);

/* The request bodies (NUL-terminated form text), NULL when the arena is exhausted. */
char *stripe_wire_authorize_body(arena *a, const Ccpay__Gateway__V1__AuthorizeRequest *r);
char *stripe_wire_capture_body(arena *a, const Ccpay__Gateway__V1__CaptureRequest *r);
char *stripe_wire_cancel_body(arena *a, const Ccpay__Gateway__V1__VoidRequest *r);
char *stripe_wire_refund_body(arena *a, const Ccpay__Gateway__V1__RefundRequest *r);

typedef enum stripe_wire_call {
  STRIPE_WIRE_AUTHORIZE, /* POST /v1/payment_intents (authorization or sale) */
  STRIPE_WIRE_CAPTURE,   /* POST /v1/payment_intents/{id}/capture */
  STRIPE_WIRE_CANCEL,    /* POST /v1/payment_intents/{id}/cancel */
  STRIPE_WIRE_REFUND,    /* POST /v1/refunds */
} stripe_wire_call;

/* Maps an HTTP answer of Stripe (the request reached Stripe and an answer came back)
 * into *result, whose text fields must be initialised; text is copied into arena a.
 * requested is the amount sent (reported for captures and voids, whose answer is the
 * whole PaymentIntent).
 *
 *   200 PaymentIntent requires_capture (authorize; a non-final multicapture capture)
 *       or succeeded (sale; capture) or canceled (cancel) → SUCCEEDED with the pi id,
 *       amount, AVS / CVC checks, risk score, status, and for a hold its expiry
 *   200 Refund succeeded or pending → SUCCEEDED with the re id; failed / canceled →
 *       DECLINED with the failure reason
 *   200 in another state: requires_payment_method → DECLINED, requires_action → FAILED
 *       (no customer is present to authenticate), processing and the rest → UNKNOWN
 *   402 card_error → DECLINED: decline_code (else code) and message
 *   400 idempotency_error → UNKNOWN: the key already served other parameters
 *   400 / 404 other → FAILED: code and message
 *   401 / 403 / 429 → FAILED (nothing was executed), 409 and 5xx → UNKNOWN
 *   anything unreadable → UNKNOWN
 *
 * Returns false only when the arena is exhausted (result then partly filled). */
bool stripe_wire_map(arena *a, stripe_wire_call call, long http_status, const char *body,
                     size_t body_len, const Ccpay__V1__Money *requested,
                     Ccpay__Gateway__V1__OperationResult *result);

/* For a look-up, which resends the original: answers that say nothing about the original
 * operation (401, 403, 429: nothing was executed now) become UNKNOWN. True when result
 * was changed. */
bool stripe_wire_lookup_adjust(long http_status, Ccpay__Gateway__V1__OperationResult *result);

#endif
