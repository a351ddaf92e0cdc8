/* Customer rules: what a valid customer is, and what an update may change. Pure: works
 * on ccpay.v1 messages, does no I/O. Errors name the field as the API spells it. */
#ifndef CCPAY_DOMAIN_CUSTOMER_H
#define CCPAY_DOMAIN_CUSTOMER_H

#include <stdbool.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/customer.pb-c.h"

/* Fields an update_mask may name. */
typedef enum customer_field {
  CUSTOMER_FIELD_NAME = 1 << 0,
  CUSTOMER_FIELD_EMAIL = 1 << 1,
  CUSTOMER_FIELD_PHONE = 1 << 2,
  CUSTOMER_FIELD_CREDIT_LIMIT = 1 << 3,
  CUSTOMER_FIELD_PAYMENT_TERMS = 1 << 4,
} customer_field;

/* Checks the caller-settable fields of a new customer ("customer.name", ...). Output
 * fields (id, balance, audit, version) are ignored, as the API says. */
ccpay_err customer_validate(const Ccpay__V1__Customer *customer, ccpay_error *error);

/* Checks the fields named in `fields` (customer_field bits) of an update's input for a
 * customer whose currency is currency_code. */
ccpay_err customer_validate_update(const Ccpay__V1__Customer *input, unsigned fields,
                                   const char *currency_code, ccpay_error *error);

/* Parses update_mask into a set of customer_field bits. Unknown names, the currency
 * (which never changes), and an empty mask are refused. */
ccpay_err customer_parse_update_mask(char **paths, size_t count, unsigned *fields_out,
                                     ccpay_error *error);

/* A new customer in arena a: the caller's fields of input, normalized (credit_limit in
 * the customer's currency, zero when absent), with id, times and version left to the
 * caller. NULL when the arena is exhausted. */
Ccpay__V1__Customer *customer_build(const Ccpay__V1__Customer *input, arena *a);

/* A copy of current in arena a with the fields in `fields` taken from input (which passed
 * customer_validate_update); version and update_time are left to the caller. */
Ccpay__V1__Customer *customer_apply_update(const Ccpay__V1__Customer *current,
                                           const Ccpay__V1__Customer *input, unsigned fields,
                                           arena *a);

/* Email: one "@", a non-empty local part, a domain with an inner dot, no spaces. */
bool customer_email_valid(const char *email);

/* Phone: an optional leading "+", then digits with spaces, dashes, dots or brackets;
 * CUSTOMER_PHONE_DIGITS_MIN to 15 digits (E.164). */
bool customer_phone_valid(const char *phone);

#endif
