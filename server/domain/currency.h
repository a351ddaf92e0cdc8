/* The ISO 4217 currencies ccpay accepts, each with its minor-unit exponent (USD 2,
 * JPY 0, BHD 3). Amounts are int64 minor units; the exponent says how to show them and
 * how to round. The table is in currency.c, sorted by code. */
#ifndef CCPAY_DOMAIN_CURRENCY_H
#define CCPAY_DOMAIN_CURRENCY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct currency {
  char code[4];     /* "USD" */
  uint16_t numeric; /* 840 */
  uint8_t exponent; /* digits after the decimal point: 0, 2 or 3 */
} currency;

/* The currency with this alphabetic code (exactly three upper-case letters), or NULL. */
const currency *currency_find(const char *code);

/* How many currencies the table holds, and the i-th of them in code order. */
unsigned currency_count(void);
const currency *currency_at(unsigned index);

/* 10^exponent: minor units in one major unit (100 for USD). */
int64_t currency_minor_per_major(const currency *c);

#endif
