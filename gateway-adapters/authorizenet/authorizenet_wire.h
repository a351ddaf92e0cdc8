/* Authorize.Net's wire format, without I/O: the JSON documents the adapter posts to the
 * one API endpoint, and the mapping of the answers to a gateway_result. Unit-tested on
 * its own (tests/unit/test_authorizenet_wire.c).
 *
 * The JSON API is the XML schema (AnetApiSchema.xsd) in JSON form, and Authorize.Net
 * enforces the schema's element order: an element out of order is refused with E00003.
 * Every object here is built member by member in the order of the schema's sequence and
 * serialised in insertion order. refId and order.invoiceNumber are at most 20
 * characters. Answers start with a UTF-8 byte order mark, stripped before parsing.
 *
 * Memory comes from the arena given; nothing is kept between calls (any thread). */
#ifndef CCPAY_GATEWAY_ADAPTERS_AUTHORIZENET_WIRE_H
#define CCPAY_GATEWAY_ADAPTERS_AUTHORIZENET_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"

enum {
  ANET_WIRE_REF_ID_BYTES_MAX = 20,       /* refId and order.invoiceNumber */
  ANET_WIRE_DESCRIPTION_BYTES_MAX = 255, /* order.description */
  ANET_WIRE_NAME_BYTES_MAX = 50,         /* billTo.firstName / lastName */
  ANET_WIRE_ZIP_BYTES_MAX = 20,          /* billTo.zip */
  ANET_WIRE_TRANS_ID_BYTES_MAX = 32,     /* a transId: digits */
  ANET_WIRE_LIST_PAGE_LIMIT = 1000,      /* the API's largest page of a transaction list */
};

typedef struct authorizenet_wire_credentials {
  const char *api_login_id;    /* merchantAuthentication.name */
  const char *transaction_key; /* merchantAuthentication.transactionKey */
} authorizenet_wire_credentials;

/* The transaction kinds the adapter sends. */
typedef enum authorizenet_wire_kind {
  ANET_WIRE_AUTH_ONLY,          /* authOnlyTransaction */
  ANET_WIRE_AUTH_CAPTURE,       /* authCaptureTransaction: a sale */
  ANET_WIRE_PRIOR_AUTH_CAPTURE, /* priorAuthCaptureTransaction */
  ANET_WIRE_VOID,               /* voidTransaction */
  ANET_WIRE_REFUND,             /* refundTransaction with refTransId */
  ANET_WIRE_CREDIT,             /* refundTransaction without one: unlinked (ECC) */
} authorizenet_wire_kind;

/* The opaque data descriptor sent with a card token. */
#define ANET_WIRE_DATA_DESCRIPTOR "COMMON.ACCEPT.INAPP.PAYMENT"

/* --- Requests ---------------------------------------------------------------------------
 * Each builder sets *body_out to the JSON document in arena a and returns CCPAY_OK, or
 * returns (and fills *error with) CCPAY_ERR_FIELD_OUT_OF_RANGE / _FIELD_INVALID /
 * _FIELD_REQUIRED naming a field Authorize.Net cannot take, or CCPAY_ERR_INTERNAL when
 * the arena is exhausted. */

/* authOnlyTransaction or, when request->capture, authCaptureTransaction: amount,
 * payment.opaqueData {dataDescriptor, dataValue: the token}, order {invoiceNumber: the
 * key, description: the order reference}, billTo {firstName, lastName, zip}. */
ccpay_err authorizenet_wire_authorize_body(arena *a, const authorizenet_wire_credentials *c,
                                           const Ccpay__Gateway__V1__AuthorizeRequest *request,
                                           char **body_out, ccpay_error *error);

/* priorAuthCaptureTransaction: amount, refTransId, order.invoiceNumber. */
ccpay_err authorizenet_wire_capture_body(arena *a, const authorizenet_wire_credentials *c,
                                         const Ccpay__Gateway__V1__CaptureRequest *request,
                                         char **body_out, ccpay_error *error);

/* voidTransaction: refTransId. */
ccpay_err authorizenet_wire_void_body(arena *a, const authorizenet_wire_credentials *c,
                                      const Ccpay__Gateway__V1__VoidRequest *request,
                                      char **body_out, ccpay_error *error);

/* refundTransaction. Linked (payment_reference set): amount, payment.creditCard
 * {cardNumber: last 4, expirationDate "XXXX"}, refTransId, order. Unlinked: amount,
 * payment.opaqueData with the token, order, billTo. */
ccpay_err authorizenet_wire_refund_body(arena *a, const authorizenet_wire_credentials *c,
                                        const Ccpay__Gateway__V1__RefundRequest *request,
                                        char **body_out, ccpay_error *error);

/* getTransactionDetailsRequest {merchantAuthentication, transId}. NULL when the arena is
 * exhausted. */
char *authorizenet_wire_details_body(arena *a, const authorizenet_wire_credentials *c,
                                     const char *trans_id);

/* getUnsettledTransactionListRequest, newest first, page (1-based) of
 * ANET_WIRE_LIST_PAGE_LIMIT transactions. NULL when the arena is exhausted. */
char *authorizenet_wire_unsettled_body(arena *a, const authorizenet_wire_credentials *c,
                                       unsigned page);

/* --- Values ------------------------------------------------------------------------------ */

/* Writes amount_minor in the currency's major units with exactly `exponent` decimals
 * ("12.34", "1234" for exponent 0), integers only. False when it does not fit. */
bool authorizenet_wire_format_amount(int64_t amount_minor, unsigned exponent, char *out,
                                     size_t size);

/* Parses a decimal "12.34" / "12.3" / "12" (at most `exponent` decimals) into minor
 * units. False for anything else. */
bool authorizenet_wire_parse_amount(const char *text, unsigned exponent, int64_t *minor_out);

/* The body without a leading UTF-8 byte order mark (EF BB BF); *len adjusted. */
const char *authorizenet_wire_skip_bom(const char *body, size_t *len);

/* True when s is a transId: 1..ANET_WIRE_TRANS_ID_BYTES_MAX digits. */
bool authorizenet_wire_trans_id_valid(const char *s);

/* --- Answers ----------------------------------------------------------------------------- */

/* Maps the answer to a createTransactionRequest of kind into *result (fields
 * initialised; text copied into a). requested: the amount sent (reported on success;
 * may be NULL). *duplicate_out is set when Authorize.Net answered responseCode 3 reason
 * 11 (a duplicate within its window): the outcome is then UNKNOWN and the caller must
 * look the operation up.
 *
 *   responseCode 1 → SUCCEEDED (transId, avsResultCode, cvvResultCode)
 *   responseCode 2 → DECLINED (errors[0].errorCode / errorText)
 *   responseCode 3 → FAILED (errors[0]), except reason 11 (duplicate) → UNKNOWN
 *   responseCode 4 → UNKNOWN, status "heldForReview": held by the fraud filters; the
 *                    merchant's review may still decline it, so it is not yet money.
 *                    Lookup follows it (FDS statuses stay UNKNOWN until reviewed).
 *   messages.resultCode Error without a transactionResponse → FAILED with the E-code
 *   HTTP 5xx, unreadable body → UNKNOWN; other non-200 → FAILED
 * Returns false only when the arena is exhausted. */
bool authorizenet_wire_map_transaction(arena *a, authorizenet_wire_kind kind, long http_status,
                                       const char *body, size_t body_len,
                                       const Ccpay__V1__Money *requested,
                                       Ccpay__Gateway__V1__OperationResult *result,
                                       bool *duplicate_out);

/* What a transaction list says about one invoice number. */
typedef enum authorizenet_wire_list_state {
  ANET_WIRE_LIST_FOUND,     /* *result filled from the matching transaction */
  ANET_WIRE_LIST_ABSENT,    /* not on this page */
  ANET_WIRE_LIST_LAST_PAGE, /* not on this page, and no page follows */
  ANET_WIRE_LIST_ERROR,     /* an error answer or unreadable: *result says so (UNKNOWN) */
} authorizenet_wire_list_state;

/* Looks for invoice (the operation's key) in the answer to a
 * getUnsettledTransactionListRequest. kind is the operation looked up (AUTH_ONLY,
 * AUTH_CAPTURE, REFUND or CREDIT). When found, fills *result from transactionStatus (see
 * authorizenet_wire_status_outcome), transId and settleAmount (in currency, exponent
 * digits), and copies the transId into trans_id_out (ANET_WIRE_TRANS_ID_BYTES_MAX + 1
 * bytes). When several transactions carry the invoice, a successful one wins. */
authorizenet_wire_list_state authorizenet_wire_map_list(
    arena *a, authorizenet_wire_kind kind, const char *body, size_t body_len, const char *invoice,
    const char *currency_code, unsigned exponent, Ccpay__Gateway__V1__OperationResult *result,
    char *trans_id_out);

/* Maps the answer to a getTransactionDetailsRequest for the look-up of an operation of
 * kind: for AUTH_ONLY / AUTH_CAPTURE / REFUND / CREDIT the transaction is the operation
 * itself; for PRIOR_AUTH_CAPTURE and VOID it is the authorization the operation acted
 * on, and its status tells whether the operation happened (authorizedPendingCapture →
 * NOT_FOUND). Fills outcome, transId, status, AVS / card code responses and the amount
 * (settleAmount, else authAmount). E00040 (no such transaction) → NOT_FOUND for the
 * operation itself, FAILED for a capture or void (the authorization is unknown). Returns
 * false only when the arena is exhausted. */
bool authorizenet_wire_map_details(arena *a, authorizenet_wire_kind kind, const char *body,
                                   size_t body_len, const char *currency_code, unsigned exponent,
                                   Ccpay__Gateway__V1__OperationResult *result);

/* The outcome of an operation of kind whose transaction (for captures and voids: whose
 * authorization) has transactionStatus status. */
Ccpay__Gateway__V1__Outcome authorizenet_wire_status_outcome(authorizenet_wire_kind kind,
                                                             const char *status);

#endif
