/* The sandbox's memory: every payment the simulated processors hold, the operations on
 * each (authorization, captures, cancels, refunds), and each processor's idempotency
 * records. In memory only; gone when the process ends.
 *
 * Threads: one mutex guards everything. Connection threads call sim_lock, read and
 * change state, then sim_unlock; every function below except create/destroy requires
 * the lock (CHECKed). A processor module makes its decision and its change under one
 * hold of the lock, so two requests never both capture the same money.
 *
 * Money is int64 minor units. Invariants CHECKed on every change:
 *   0 <= captured <= authorized, 0 <= capturable <= authorized - captured,
 *   0 <= refunded <= captured (unlinked refunds: authorized = captured = 0, refunded
 *   only, flagged unlinked). */
#ifndef CCPAY_PROCSIM_SIM_STATE_H
#define CCPAY_PROCSIM_SIM_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_message.h"

enum {
  SIM_PAYMENTS_MAX = 100000,
  SIM_OPERATIONS_PER_PAYMENT_MAX = 64,
  SIM_IDEMPOTENCY_RECORDS_MAX = 200000,
  /* Stripe allows 255 bytes, Adyen 64; the processor module checks its own limit. */
  SIM_KEY_BYTES_MAX = 255,
  SIM_REFERENCE_BYTES_MAX = 48,
  SIM_TEXT_BYTES_MAX = 128,
  SIM_FINGERPRINT_BYTES = 32,
};

typedef enum sim_processor {
  SIM_STRIPE,
  SIM_ADYEN,
  SIM_AUTHORIZENET,
  SIM_PROCESSOR_COUNT
} sim_processor;

/* "stripe", "adyen", "authorizenet". */
const char *sim_processor_name(sim_processor processor);

typedef struct sim_operation {
  char kind[16];                   /* authorize, capture, cancel, refund, reversal, void */
  char key[SIM_KEY_BYTES_MAX + 1]; /* idempotency key or refId; may be "" */
  char merchant_reference[SIM_TEXT_BYTES_MAX + 1]; /* Adyen reference, invoiceNumber */
  char reference[SIM_REFERENCE_BYTES_MAX + 1];     /* the processor's id of the operation */
  int64_t amount;
  int64_t created_ms;
} sim_operation;

typedef struct sim_payment {
  sim_processor processor;
  char reference[SIM_REFERENCE_BYTES_MAX + 1];        /* pi_…, pspReference, transId */
  char charge_reference[SIM_REFERENCE_BYTES_MAX + 1]; /* Stripe's ch_…; "" otherwise */
  char merchant_reference[SIM_TEXT_BYTES_MAX + 1];
  char currency[4]; /* ISO 4217, upper case */
  char status[40];  /* the processor's own word */
  int64_t amount;   /* requested */
  int64_t authorized;
  int64_t capturable;
  int64_t captured;
  int64_t refunded;
  int64_t created_ms;
  bool unlinked; /* an unreferenced refund (Adyen refundWithData) */
  /* Processor details kept for later answers. */
  char payment_method[SIM_TEXT_BYTES_MAX + 1]; /* Stripe pm_…, Adyen holderName */
  char card_last4[5];
  char avs_result[64];
  char cvc_result[64];
  char decline_code[48];
  bool manual_capture;
  bool multicapture;
  json_t *metadata; /* Stripe metadata (owned; an object) */
  sim_operation *operations;
  size_t operation_count;
} sim_payment;

typedef struct sim_state sim_state;

/* seed drives the ids handed out, so a run is repeatable. NULL when out of memory. */
sim_state *sim_state_create(uint64_t seed);
void sim_state_destroy(sim_state *state);

void sim_lock(sim_state *state);
void sim_unlock(sim_state *state);

/* Adds a payment with reference (which must be new for its processor); NULL when
 * SIM_PAYMENTS_MAX is reached or out of memory. The payment lives until destroy. */
sim_payment *sim_payment_add(sim_state *state, sim_processor processor, const char *reference);

/* Makes a second reference (e.g. Stripe's charge id) find payment. False when full. */
bool sim_payment_alias(sim_state *state, sim_payment *payment, const char *reference);

/* Appends an operation (its reference, if not "", becomes findable). NULL when the
 * payment has SIM_OPERATIONS_PER_PAYMENT_MAX operations. Strings are truncated to fit. */
sim_operation *sim_operation_add(sim_state *state, sim_payment *payment, const char *kind,
                                 const char *key, int64_t amount, const char *reference);

/* Finds a payment of processor by its reference or alias, or the payment an operation
 * reference belongs to (then *operation is that operation, else NULL). NULL when none. */
sim_payment *sim_find(sim_state *state, sim_processor processor, const char *reference,
                      sim_operation **operation);

/* Checks the money invariants of payment (CHECK: a violation is a procsim bug). */
void sim_payment_check(const sim_payment *payment);

size_t sim_payment_count(const sim_state *state);
sim_payment *sim_payment_at(sim_state *state, size_t index);

/* A new id: prefix followed by length random characters from alphabet (e.g. 24
 * letters and digits for Stripe, 16 digits for Adyen). out must hold prefix + length +
 * 1 bytes (CHECKed against size). Repeatable for a given seed. */
void sim_new_id(sim_state *state, const char *prefix, const char *alphabet, size_t length,
                char *out, size_t size);

/* A number from the seeded generator (state's, under the lock). */
uint64_t sim_random(sim_state *state);

/* --- Idempotency ----------------------------------------------------------------------- */

typedef enum sim_idem_status {
  SIM_IDEM_NEW,         /* recorded as in progress: act, then complete or abandon */
  SIM_IDEM_REPLAY,      /* done before with the same fingerprint: *replay filled */
  SIM_IDEM_MISMATCH,    /* done or running with another fingerprint */
  SIM_IDEM_IN_PROGRESS, /* the first request with the key has not finished */
  SIM_IDEM_FULL,        /* SIM_IDEMPOTENCY_RECORDS_MAX reached */
} sim_idem_status;

/* Looks up (scope, key); scope names the processor and, for Adyen, the endpoint. On
 * SIM_IDEM_REPLAY *replay receives a copy of the saved response (caller clears it). */
sim_idem_status sim_idem_begin(sim_state *state, const char *scope, const char *key,
                               const unsigned char fingerprint[SIM_FINGERPRINT_BYTES],
                               http_response *replay);

/* Saves response as the answer for (scope, key), which must be in progress. */
void sim_idem_complete(sim_state *state, const char *scope, const char *key,
                       const http_response *response);

/* Forgets an in-progress (scope, key): nothing was done, a resend acts. */
void sim_idem_abandon(sim_state *state, const char *scope, const char *key);

/* SHA-256 of the parts, each preceded by its length (no ambiguity between parts). */
void sim_fingerprint(const char *const *parts, const size_t *lengths, size_t count,
                     unsigned char out[SIM_FINGERPRINT_BYTES]);

/* The ledger document of docs/PROCSIM.md (a new reference; NULL when out of memory). */
json_t *sim_ledger_json(sim_state *state);

/* Copies text into a fixed buffer, truncating; returns dst. */
char *sim_copy(char *dst, size_t size, const char *text);

#endif
