/* The control API of a running ccpay-procsim (docs/PROCSIM.md), for tests: inject
 * faults, and read what the sandbox charged, captured and refunded, to compare with
 * ccpay's own records. HTTPS with libcurl, trusting the sandbox's ca.pem. */
#ifndef CCPAY_TESTS_SUPPORT_PROCSIM_CONTROL_H
#define CCPAY_TESTS_SUPPORT_PROCSIM_CONTROL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { PROCSIM_PAYMENTS_MAX = 256, PROCSIM_TEXT_BYTES = 96 };

/* One payment as procsim holds it; amounts in minor units. */
typedef struct procsim_payment {
  char processor[PROCSIM_TEXT_BYTES];
  char reference[PROCSIM_TEXT_BYTES];
  char merchant_reference[PROCSIM_TEXT_BYTES];
  char status[PROCSIM_TEXT_BYTES];
  int64_t authorized, captured, refunded;
} procsim_payment;

typedef struct procsim_ledger {
  procsim_payment payments[PROCSIM_PAYMENTS_MAX];
  size_t count;
} procsim_ledger;

/* base_url "https://127.0.0.1:PORT"; ca_file the sandbox's ca.pem. */
typedef struct procsim_control {
  char base_url[128];
  char ca_file[PATH_MAX];
} procsim_control;

/* The next count requests to processor ("stripe", "adyen", "authorizenet", "any") whose
 * path contains path_contains get fault ("timeout", "5xx", "slow",
 * "drop_after_commit"). False (message on stderr) when procsim refused. */
bool procsim_inject(const procsim_control *c, const char *processor, const char *path_contains,
                    const char *fault, int count);

/* Removes every injected fault. */
bool procsim_clear_faults(const procsim_control *c);

/* Reads GET /procsim/ledger into *out. */
bool procsim_read_ledger(const procsim_control *c, procsim_ledger *out);

/* The payment whose reference is reference, or NULL. */
const procsim_payment *procsim_find(const procsim_ledger *l, const char *reference);

#endif
