#include "money.h"

#include "base/check.h"

bool money_add(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }

bool money_sub(int64_t a, int64_t b, int64_t *out) { return !__builtin_sub_overflow(a, b, out); }

bool money_mul(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }

bool money_mul_div_round(int64_t amount, int64_t numerator, int64_t denominator, int64_t *out) {
  CHECK(denominator > 0);
  __int128 product = (__int128)amount * numerator; /* |product| < 2^126: no overflow */
  __int128 quotient = product / denominator;       /* truncates toward zero */
  __int128 remainder = product % denominator;      /* same sign as product */
  __int128 twice = remainder < 0 ? -2 * remainder : 2 * remainder;
  int sign = product < 0 ? -1 : 1;
  if (twice > denominator || (twice == denominator && (quotient % 2) != 0)) quotient += sign;
  if (quotient > INT64_MAX || quotient < INT64_MIN) return false;
  *out = (int64_t)quotient;
  CHECK(twice < 2 * (__int128)denominator);
  return true;
}

bool money_tax(int64_t amount, int32_t rate_bp, int64_t *out) {
  CHECK(rate_bp >= 0);
  return money_mul_div_round(amount, rate_bp, MONEY_BASIS_POINTS_ONE, out);
}

Ccpay__V1__Money *money_message(arena *a, const char *currency_code, int64_t amount_minor) {
  CHECK(currency_code != NULL);
  Ccpay__V1__Money *m = arena_alloc(a, sizeof *m);
  if (m == NULL) return NULL;
  ccpay__v1__money__init(m);
  m->currency_code = (char *)currency_code;
  m->amount_minor = amount_minor;
  return m;
}
