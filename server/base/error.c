#include "error.h"

#include <stdarg.h>
#include <stdio.h>

#include "check.h"

/* gRPC status code numbers (grpc/status.h), repeated here so this layer stays free of
 * grpc.h; the values are fixed by the gRPC protocol. */
enum {
  GRPC_OK = 0,
  GRPC_CANCELLED = 1,
  GRPC_INVALID_ARGUMENT = 3,
  GRPC_DEADLINE_EXCEEDED = 4,
  GRPC_NOT_FOUND = 5,
  GRPC_RESOURCE_EXHAUSTED = 8,
  GRPC_FAILED_PRECONDITION = 9,
  GRPC_ABORTED = 10,
  GRPC_UNIMPLEMENTED = 12,
  GRPC_INTERNAL = 13,
  GRPC_UNAVAILABLE = 14,
};

static const struct {
  const char *reason;
  int grpc_status;
} error_table[CCPAY_ERR_COUNT] = {
    [CCPAY_OK] = {"OK", GRPC_OK},
    [CCPAY_ERR_MALFORMED_REQUEST] = {"MALFORMED_REQUEST", GRPC_INVALID_ARGUMENT},
    [CCPAY_ERR_FIELD_REQUIRED] = {"FIELD_REQUIRED", GRPC_INVALID_ARGUMENT},
    [CCPAY_ERR_FIELD_INVALID] = {"FIELD_INVALID", GRPC_INVALID_ARGUMENT},
    [CCPAY_ERR_FIELD_OUT_OF_RANGE] = {"FIELD_OUT_OF_RANGE", GRPC_INVALID_ARGUMENT},
    [CCPAY_ERR_UNKNOWN_CURRENCY] = {"UNKNOWN_CURRENCY", GRPC_INVALID_ARGUMENT},
    [CCPAY_ERR_CARD_DATA_IN_TEXT] = {"CARD_DATA_IN_TEXT", GRPC_INVALID_ARGUMENT},
    [CCPAY_ERR_NOT_FOUND] = {"NOT_FOUND", GRPC_NOT_FOUND},
    [CCPAY_ERR_IDEMPOTENCY_KEY_REUSED] = {"IDEMPOTENCY_KEY_REUSED", GRPC_FAILED_PRECONDITION},
    [CCPAY_ERR_INVALID_STATE] = {"INVALID_STATE", GRPC_FAILED_PRECONDITION},
    [CCPAY_ERR_STORAGE_FULL] = {"STORAGE_FULL", GRPC_RESOURCE_EXHAUSTED},
    [CCPAY_ERR_LIMIT_EXCEEDED] = {"LIMIT_EXCEEDED", GRPC_RESOURCE_EXHAUSTED},
    [CCPAY_ERR_SHUTTING_DOWN] = {"SHUTTING_DOWN", GRPC_UNAVAILABLE},
    [CCPAY_ERR_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", GRPC_DEADLINE_EXCEEDED},
    [CCPAY_ERR_CANCELLED] = {"CANCELLED", GRPC_CANCELLED},
    [CCPAY_ERR_UNIMPLEMENTED] = {"UNIMPLEMENTED", GRPC_UNIMPLEMENTED},
    [CCPAY_ERR_STORAGE] = {"STORAGE_ERROR", GRPC_INTERNAL},
    [CCPAY_ERR_INTERNAL] = {"INTERNAL", GRPC_INTERNAL},
    [CCPAY_ERR_ADAPTER_UNAVAILABLE] = {"ADAPTER_UNAVAILABLE", GRPC_UNAVAILABLE},
    [CCPAY_ERR_PAYMENT_DECLINED] = {"PAYMENT_DECLINED", GRPC_FAILED_PRECONDITION},
    [CCPAY_ERR_PAYMENT_FAILED] = {"PAYMENT_FAILED", GRPC_FAILED_PRECONDITION},
    [CCPAY_ERR_OUTCOME_UNKNOWN] = {"OUTCOME_UNKNOWN", GRPC_UNAVAILABLE},
    [CCPAY_ERR_PAYMENT_IN_PROGRESS] = {"PAYMENT_IN_PROGRESS", GRPC_ABORTED},
    [CCPAY_ERR_AMOUNT_EXCEEDED] = {"AMOUNT_EXCEEDED", GRPC_FAILED_PRECONDITION},
    [CCPAY_ERR_CAPABILITY_MISSING] = {"CAPABILITY_MISSING", GRPC_FAILED_PRECONDITION},
};

const char *ccpay_err_reason(ccpay_err code) {
  CHECK(code >= 0 && code < CCPAY_ERR_COUNT);
  CHECK(error_table[code].reason != NULL);
  return error_table[code].reason;
}

int ccpay_err_grpc_status(ccpay_err code) {
  CHECK(code >= 0 && code < CCPAY_ERR_COUNT);
  return error_table[code].grpc_status;
}

ccpay_err ccpay_error_set(ccpay_error *error, ccpay_err code, const char *format, ...) {
  CHECK(code > CCPAY_OK && code < CCPAY_ERR_COUNT);
  if (error == NULL) return code;
  error->code = code;
  va_list args;
  va_start(args, format);
  vsnprintf(error->message, sizeof error->message, format, args);
  va_end(args);
  return code;
}

void ccpay_error_clear(ccpay_error *error) {
  error->code = CCPAY_OK;
  error->message[0] = '\0';
}
