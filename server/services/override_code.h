/* The security override code: a secret a few trusted people know, which lets a caller
 * without the alternate-payment permission override a refund's payment method.
 *
 * Kept only as a salted PBKDF2-HMAC-SHA256 hash (OVERRIDE_CODE_HASH_ITERATIONS) in the
 * store; compared in constant time; never logged or returned. Wrong codes are counted
 * per caller (its agent id): after OVERRIDE_CODE_FAILURES_MAX within
 * OVERRIDE_CODE_WINDOW_MS, that caller's attempts answer OVERRIDE_LOCKED until the window
 * passes, before any hash is computed. The counts live in memory: a restart clears them. */
#ifndef CCPAY_SERVICES_OVERRIDE_CODE_H
#define CCPAY_SERVICES_OVERRIDE_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "rpc/rpc.h"

enum { OVERRIDE_CODE_SALT_BYTES = 16, OVERRIDE_CODE_HASH_BYTES = 32 };

/* Checks a new code (field names it): OVERRIDE_CODE_BYTES_MIN..MAX printable ASCII with
 * at least one letter and one digit. */
ccpay_err override_code_validate(const char *field, const char *code, ccpay_error *error);

/* Fills r's salt (fresh random bytes), iterations and hash for code; salt and hash point
 * into salt_out and hash_out. CCPAY_ERR_INTERNAL when OpenSSL fails. */
ccpay_err override_code_seal(const char *code, uint8_t salt_out[OVERRIDE_CODE_SALT_BYTES],
                             uint8_t hash_out[OVERRIDE_CODE_HASH_BYTES],
                             Ccpay__V1__OverrideCodeRecord *r, ccpay_error *error);

/* How call may override a refund line: OVERRIDE_AUTHORITY_PERMISSION when its role holds
 * the alternate-payment permission; else, when it gave code, OVERRIDE_AUTHORITY_OVERRIDE_CODE
 * if the code is right. Otherwise 0 (UNSPECIFIED) with error saying why:
 * OVERRIDE_NOT_PERMITTED (no right, no code, or no code set), OVERRIDE_CODE_INVALID,
 * OVERRIDE_LOCKED. Reads the stored record in a snapshot; costs one slow hash. */
Ccpay__V1__OverrideAuthority override_code_authority(rpc_call *call, const char *code,
                                                     ccpay_error *error);

#define PERMISSION_ALTERNATE_PAYMENT "payments.alternate_payment"

#endif
