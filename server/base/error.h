/* Domain errors: one enum with a stable, machine-readable reason per value, mapped once
 * to a gRPC status code (error.c holds the table). Functions that can fail return a
 * ccpay_err and, where a caller will show it, fill a ccpay_error with a message that
 * names the field or rule. The values are never renumbered; add new ones at the end.
 *
 * This header does not include grpc.h: the gRPC code is returned as a plain int with
 * the values of grpc_status_code. */
#ifndef CCPAY_BASE_ERROR_H
#define CCPAY_BASE_ERROR_H

#include <stddef.h>

typedef enum ccpay_err {
  CCPAY_OK = 0,
  CCPAY_ERR_MALFORMED_REQUEST,      /* INVALID_ARGUMENT: bytes that do not decode */
  CCPAY_ERR_FIELD_REQUIRED,         /* INVALID_ARGUMENT: a required field is empty */
  CCPAY_ERR_FIELD_INVALID,          /* INVALID_ARGUMENT: a field's value is malformed */
  CCPAY_ERR_FIELD_OUT_OF_RANGE,     /* INVALID_ARGUMENT: a number or length outside its limits */
  CCPAY_ERR_UNKNOWN_CURRENCY,       /* INVALID_ARGUMENT: not an ISO 4217 code we know */
  CCPAY_ERR_CARD_DATA_IN_TEXT,      /* INVALID_ARGUMENT: a card number in a free-text field
                                       (reason CARD_NUMBER_IN_TEXT) */
  CCPAY_ERR_NOT_FOUND,              /* NOT_FOUND */
  CCPAY_ERR_IDEMPOTENCY_KEY_REUSED, /* FAILED_PRECONDITION: same request_id, other request */
  CCPAY_ERR_INVALID_STATE,          /* FAILED_PRECONDITION: not allowed in the current state */
  CCPAY_ERR_STORAGE_FULL,           /* RESOURCE_EXHAUSTED: LMDB map or disk full */
  CCPAY_ERR_LIMIT_EXCEEDED,         /* RESOURCE_EXHAUSTED: a documented limit */
  CCPAY_ERR_SHUTTING_DOWN,          /* UNAVAILABLE: the server is stopping */
  CCPAY_ERR_DEADLINE_EXCEEDED,      /* DEADLINE_EXCEEDED */
  CCPAY_ERR_CANCELLED,              /* CANCELLED: the client went away */
  CCPAY_ERR_UNIMPLEMENTED,          /* UNIMPLEMENTED */
  CCPAY_ERR_STORAGE,                /* INTERNAL: an LMDB or file-system error */
  CCPAY_ERR_INTERNAL,               /* INTERNAL: a bug or an impossible state */
  CCPAY_ERR_ADAPTER_UNAVAILABLE,    /* UNAVAILABLE: the processor's adapter is down */
  CCPAY_ERR_PAYMENT_DECLINED,       /* FAILED_PRECONDITION: the processor declined */
  CCPAY_ERR_PAYMENT_FAILED,         /* FAILED_PRECONDITION: the processor rejected it */
  CCPAY_ERR_OUTCOME_UNKNOWN,        /* UNAVAILABLE: sent, answer lost; being resolved */
  CCPAY_ERR_PAYMENT_IN_PROGRESS,    /* ABORTED: another operation on it is in flight */
  CCPAY_ERR_AMOUNT_EXCEEDED,        /* FAILED_PRECONDITION: over what is authorized, etc. */
  CCPAY_ERR_CAPABILITY_MISSING,     /* FAILED_PRECONDITION: the processor cannot do it */
  CCPAY_ERR_UNLINKED_REFUND_NOT_ALLOWED, /* FAILED_PRECONDITION: no unlinked refunds there */
  CCPAY_ERR_OVERRIDE_NOT_PERMITTED,    /* PERMISSION_DENIED: no alternate-payment right, no code */
  CCPAY_ERR_OVERRIDE_CODE_INVALID,     /* PERMISSION_DENIED: the security override code is wrong */
  CCPAY_ERR_OVERRIDE_LOCKED,           /* RESOURCE_EXHAUSTED: too many wrong override codes */
  CCPAY_ERR_REFUNDS_ALREADY_COMPUTED,  /* FAILED_PRECONDITION: apply credit after CompleteReturn */
  CCPAY_ERR_EXCESS_FUNDS_NOT_REFUNDED, /* FAILED_PRECONDITION: refund-excess-funds is NONE */
  /* --- Security (authentication, authorization, transport) --- */
  CCPAY_ERR_UNAUTHENTICATED,   /* UNAUTHENTICATED: no, unknown, revoked or expired token */
  CCPAY_ERR_PERMISSION_DENIED, /* PERMISSION_DENIED: the caller's role lacks the permission */
  CCPAY_ERR_AUTH_RATE_LIMITED, /* RESOURCE_EXHAUSTED: too many failed authentications */
  CCPAY_ERR_OUT_OF_BALANCE,    /* FAILED_PRECONDITION: payments and total apart, not allowed */
  CCPAY_ERR_COUNT
} ccpay_err;

enum { CCPAY_ERROR_MESSAGE_MAX = 256 };

/* An error to show a caller: the code plus a message naming the field or rule. */
typedef struct ccpay_error {
  ccpay_err code;
  char message[CCPAY_ERROR_MESSAGE_MAX];
} ccpay_error;

/* The stable reason string of a code, e.g. "IDEMPOTENCY_KEY_REUSED". Never NULL. */
const char *ccpay_err_reason(ccpay_err code);

/* The grpc_status_code value a code maps to (0 for CCPAY_OK). */
int ccpay_err_grpc_status(ccpay_err code);

/* Sets *error (which may be NULL) to code and a printf-formatted message, truncated to
 * CCPAY_ERROR_MESSAGE_MAX - 1 bytes; returns code so callers can `return` it. */
ccpay_err ccpay_error_set(ccpay_error *error, ccpay_err code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears *error to CCPAY_OK with an empty message. */
void ccpay_error_clear(ccpay_error *error);

#endif
