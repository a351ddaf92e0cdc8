/* Money arithmetic in int64 minor units. Every operation that can overflow says so
 * (returns false) instead of wrapping; callers turn that into an error naming the field.
 * Rounding is written down once, here: half to even ("banker's rounding") on the exact
 * quotient, computed in 128 bits so no intermediate product overflows. */
#ifndef CCPAY_DOMAIN_MONEY_H
#define CCPAY_DOMAIN_MONEY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "ccpay/v1/common.pb-c.h"

/* Basis points in one whole: a tax rate of 825 bp is 8.25 %. */
enum { MONEY_BASIS_POINTS_ONE = 10000 };

/* *out = a + b; false on overflow (out untouched). */
bool money_add(int64_t a, int64_t b, int64_t *out);

/* *out = a - b; false on overflow. */
bool money_sub(int64_t a, int64_t b, int64_t *out);

/* *out = a * b; false on overflow. */
bool money_mul(int64_t a, int64_t b, int64_t *out);

/* *out = round_half_even(amount * numerator / denominator); denominator > 0. False
 * when the result does not fit int64. */
bool money_mul_div_round(int64_t amount, int64_t numerator, int64_t denominator, int64_t *out);

/* Tax on amount at rate_bp basis points, rounded half to even in minor units. */
bool money_tax(int64_t amount, int32_t rate_bp, int64_t *out);

/* A ccpay.v1.Money in arena a. The currency string is shared, not copied: it must live
 * as long as the message (a string of the same arena, or a literal). NULL when the
 * arena is exhausted. */
Ccpay__V1__Money *money_message(arena *a, const char *currency_code, int64_t amount_minor);

#endif
