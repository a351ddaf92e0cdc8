/* Fault injection: which request gets which fault. Rules added by the control API
 * (POST /procsim/faults) take the next `count` matching requests, oldest rule first; a
 * request no rule takes gets a fault at random with probability --fault-rate, chosen
 * among --faults, from a generator seeded by --seed (so a run replays from its seed when
 * requests arrive in the same order). The control API itself is never faulted.
 *
 * What each fault does is up to the dispatcher (see docs/PROCSIM.md): timeout (no
 * action, no answer for --hang-ms), 5xx (no action, HTTP 500), slow (act, answer after
 * --slow-ms), drop_after_commit (act, close without an answer). Thread-safe. */
#ifndef CCPAY_PROCSIM_FAULTS_H
#define CCPAY_PROCSIM_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

enum {
  FAULT_RULES_MAX = 64,
  FAULT_RULE_COUNT_MAX = 1000000,
  FAULT_PATH_BYTES_MAX = 256,
  /* Rates are parts per million: "0.25" is 250000. */
  FAULT_RATE_PPM_MAX = 1000000,
};

typedef enum fault_kind {
  FAULT_NONE,
  FAULT_TIMEOUT,
  FAULT_5XX,
  FAULT_SLOW,
  FAULT_DROP_AFTER_COMMIT,
  FAULT_KIND_COUNT
} fault_kind;

/* "none", "timeout", "5xx", "slow", "drop_after_commit". */
const char *fault_kind_name(fault_kind kind);
bool fault_kind_parse(const char *text, fault_kind *out);

/* "timeout,5xx,…" into a bit mask (1 << kind); false for an unknown or empty name. */
bool fault_kinds_parse(const char *text, unsigned *mask_out);

/* A decimal fraction 0..1 ("0", "0.05", "1") in parts per million, parsed exactly. */
bool fault_rate_parse(const char *text, uint32_t *ppm_out);

typedef struct faults faults;

/* kinds_mask: faults the random rate may choose (0 with a rate > 0 means all). */
faults *faults_create(uint64_t seed, uint32_t rate_ppm, unsigned kinds_mask);
void faults_destroy(faults *f);

/* processor: "stripe", "adyen", "authorizenet" or "any"; path_contains may be "". False
 * when FAULT_RULES_MAX rules are active or an argument is out of range. */
bool faults_add_rule(faults *f, const char *processor, const char *path_contains, fault_kind kind,
                     unsigned count);
void faults_clear(faults *f);

/* The fault for one request of processor to path (FAULT_NONE mostly). */
fault_kind faults_pick(faults *f, const char *processor, const char *path);

#endif
