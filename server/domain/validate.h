/* Checks shared by every request: request ids, free text, card-number guard. Each
 * function names the field in its error ("customer.name: ...") and changes nothing.
 * Pure functions: no I/O, no state. */
#ifndef CCPAY_DOMAIN_VALIDATE_H
#define CCPAY_DOMAIN_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* request_id: 1..REQUEST_ID_BYTES_MAX bytes of printable ASCII (0x21..0x7e). */
ccpay_err validate_request_id(const char *request_id, ccpay_error *error);

/* Free text: valid UTF-8, no control characters, at most bytes_max bytes, at least one
 * byte when required, and no card number in it (see validate_has_card_number). */
ccpay_err validate_text(const char *field, const char *text, size_t bytes_max, bool required,
                        ccpay_error *error);

/* A code (hold code, charge code, reason code): 1..bytes_max upper-case letters, digits
 * or underscores. */
ccpay_err validate_code(const char *field, const char *code, size_t bytes_max, ccpay_error *error);

/* True when text holds a run of 13 to 19 digits (spaces and dashes between digits
 * allowed) that passes the Luhn check: a primary account number typed into a field
 * where it must never be stored. */
bool validate_has_card_number(const char *text);

/* True when text is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool validate_utf8(const char *text, size_t len);

#endif
