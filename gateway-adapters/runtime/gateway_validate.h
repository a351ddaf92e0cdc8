/* The checks the runtime makes on every Gateway request before processor code sees it,
 * so each adapter receives well-formed requests: an error names the field
 * (INVALID_ARGUMENT), or the capability the account lacks (FAILED_PRECONDITION,
 * CAPABILITY_MISSING). Pure functions. */
#ifndef CCPAY_GATEWAY_ADAPTERS_RUNTIME_GATEWAY_VALIDATE_H
#define CCPAY_GATEWAY_ADAPTERS_RUNTIME_GATEWAY_VALIDATE_H

#include "base/error.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"

enum {
  GATEWAY_KEY_BYTES_MAX = 64,        /* idempotency_key: printable ASCII, no space */
  GATEWAY_REFERENCE_BYTES_MAX = 64,  /* payment_reference, capture_reference, order_reference */
  GATEWAY_TOKEN_BYTES_MAX = 255,     /* card.token */
  GATEWAY_CARD_TEXT_BYTES_MAX = 100, /* brand, holder_name, postal_code, last4 */
};

/* What every request carries: idempotency_key 1..GATEWAY_KEY_BYTES_MAX bytes of
 * printable ASCII without spaces. */
ccpay_err gateway_validate_key(const char *field, const char *key, ccpay_error *error);

/* Each check takes the capabilities the adapter reported (currencies, unlinked refunds)
 * and a field prefix for messages ("" or "authorize_request."). Authorize: key, amount
 * (known ISO 4217 code the account accepts, positive), card.token, card text fields,
 * order_reference. Capture: key, payment_reference, amount. Void: key,
 * payment_reference, amount when given (>= 0). Refund: key, amount, references; an
 * unlinked refund (no payment_reference) needs card.token and the capability. */
ccpay_err gateway_validate_authorize(const Ccpay__Gateway__V1__AuthorizeRequest *r,
                                     const Ccpay__Gateway__V1__Capabilities *caps,
                                     const char *prefix, ccpay_error *error);
ccpay_err gateway_validate_capture(const Ccpay__Gateway__V1__CaptureRequest *r,
                                   const Ccpay__Gateway__V1__Capabilities *caps, const char *prefix,
                                   ccpay_error *error);
ccpay_err gateway_validate_void(const Ccpay__Gateway__V1__VoidRequest *r,
                                const Ccpay__Gateway__V1__Capabilities *caps, const char *prefix,
                                ccpay_error *error);
ccpay_err gateway_validate_refund(const Ccpay__Gateway__V1__RefundRequest *r,
                                  const Ccpay__Gateway__V1__Capabilities *caps, const char *prefix,
                                  ccpay_error *error);

/* Lookup: its key; the operation named and the original of the same kind (a sale is an
 * authorize_request with capture set, an authorization one without); the original's
 * key empty or equal to the look-up's; the original valid as its own request. */
ccpay_err gateway_validate_lookup(const Ccpay__Gateway__V1__LookupRequest *r,
                                  const Ccpay__Gateway__V1__Capabilities *caps, ccpay_error *error);

#endif
