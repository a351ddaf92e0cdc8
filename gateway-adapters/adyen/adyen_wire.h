/* Adyen's wire format, without I/O: the JSON bodies the adapter sends to Checkout API v71
 * (and to the classic Payment API v68 for unlinked refunds), and the mapping of Adyen's
 * answers to a gateway_result. Unit-tested on its own (tests/unit/test_adyen_wire.c).
 *
 * Every function draws its memory from the arena given; nothing is kept between calls,
 * so any thread may use the module. Bodies are NUL-terminated JSON, NULL only when the
 * arena is exhausted. */
#ifndef CCPAY_GATEWAY_ADAPTERS_ADYEN_WIRE_H
#define CCPAY_GATEWAY_ADAPTERS_ADYEN_WIRE_H

#include <stdbool.h>

#include "base/arena.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"

enum {
  ADYEN_WIRE_REFERENCE_BYTES_MAX = 80,     /* Adyen's merchant reference */
  ADYEN_WIRE_PSP_REFERENCE_BYTES_MAX = 64, /* pspReference: 16 alphanumerics today */
};

typedef struct adyen_wire_options {
  const char *merchant_account;           /* required */
  const char *shopper_interaction;        /* e.g. "ContAuth"; NULL or "": not sent */
  const char *recurring_processing_model; /* e.g. "CardOnFile"; NULL or "": not sent */
} adyen_wire_options;

/* POST /payments: amount, merchantAccount, reference (the order reference, else the
 * idempotency key), paymentMethod {type "scheme", storedPaymentMethodId, holderName},
 * and additionalData.manualCapture "true" unless the request is a sale. A sale omits it:
 * Adyen's default (and the account setting this adapter requires) captures a payment
 * immediately after authorisation. */
char *adyen_wire_payment_body(arena *a, const adyen_wire_options *o,
                              const Ccpay__Gateway__V1__AuthorizeRequest *request);

/* Modification bodies: merchantAccount, amount (captures and refunds) and reference (the
 * idempotency key, so a webhook can be matched to our transaction). */
char *adyen_wire_capture_body(arena *a, const adyen_wire_options *o,
                              const Ccpay__Gateway__V1__CaptureRequest *request);
char *adyen_wire_cancel_body(arena *a, const adyen_wire_options *o,
                             const Ccpay__Gateway__V1__VoidRequest *request);
char *adyen_wire_refund_body(arena *a, const adyen_wire_options *o,
                             const Ccpay__Gateway__V1__RefundRequest *request);

/* Classic refundWithData (unlinked): amount, merchantAccount, reference, the stored card
 * as selectedRecurringDetailReference with recurring.contract "RECURRING". */
char *adyen_wire_refund_with_data_body(arena *a, const adyen_wire_options *o,
                                       const Ccpay__Gateway__V1__RefundRequest *request);

/* True when reference may be put in a URL path: 1..ADYEN_WIRE_PSP_REFERENCE_BYTES_MAX
 * ASCII letters and digits. */
bool adyen_wire_psp_reference_valid(const char *reference);

typedef enum adyen_wire_call {
  ADYEN_WIRE_PAYMENT,      /* POST /payments */
  ADYEN_WIRE_MODIFICATION, /* /captures, /cancels, /refunds */
  ADYEN_WIRE_CLASSIC,      /* /pal/servlet/Payment/v68/refundWithData */
} adyen_wire_call;

/* Maps an HTTP answer of Adyen (the request reached Adyen and an answer came back) into
 * *result, whose fields must be initialised (text fields "" or arena strings); text is
 * copied into arena a. requested is the amount sent, reported when Adyen's answer does
 * not repeat it (may be NULL). transient is the answer's Transient-Error header.
 *
 *   payment 200 resultCode Authorised → SUCCEEDED (pspReference, avs/cvc, fraud score)
 *                          Refused / Cancelled → DECLINED (refusalReasonCode, refusalReason)
 *                          Error → FAILED
 *                          Pending / Received / unknown / unreadable → UNKNOWN
 *                          a shopper action (RedirectShopper, ...) → FAILED: no shopper
 *                          is present to act on it, nothing is charged
 *   modification 200/201 status "received" → SUCCEEDED, status "received"
 *   classic 200 with a pspReference → SUCCEEDED, status the "response" text
 *   401 / 403 → FAILED (configuration: key, role or merchant account)
 *   409, 429, 5xx, Transient-Error → UNKNOWN (same key may be resent; Lookup)
 *   other 4xx (400, 404, 422 validation, ...) → FAILED with errorCode and message
 *
 * Returns false only when the arena is exhausted (result then partly filled). */
bool adyen_wire_map(arena *a, adyen_wire_call call, long http_status, bool transient,
                    const char *body, const Ccpay__V1__Money *requested,
                    Ccpay__Gateway__V1__OperationResult *result);

#endif
