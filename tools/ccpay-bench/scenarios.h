/* ccpay-bench's scenarios: what each operation sends and how its calls chain.
 *
 * baseline        grpc.health.v1.Health/Check (the empty handler: the stack's ceiling)
 * get-order       GetOrder over a pre-loaded set of order ids
 * create-order    CreateOrder with three lines (each reply durable)
 * csr-flow        CreateOrder → AddPayment (card, exactly the total) → SubmitOrder
 *                 (authorize) → InvoiceOrder (capture of every line): one operation
 * stream          StreamEntries from sequence 0 without follow: entries are the units */
#ifndef CCPAY_TOOLS_BENCH_SCENARIOS_H
#define CCPAY_TOOLS_BENCH_SCENARIOS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench.h"

/* Order ids: pre-loaded by create-order (collect), read by get-order. */
typedef struct bench_ids {
  char (*ids)[BENCH_ID_BYTES_MAX];
  size_t capacity;
  atomic_size_t count;
  atomic_size_t next; /* get-order's round robin */
} bench_ids;

typedef struct bench_scenario_state {
  char customer_id[BENCH_ID_BYTES_MAX];
  const char *processor; /* the card's processor ("stripe") */
  char request_prefix[32];
  atomic_uint_fast64_t request_seq;
  bench_ids *collect; /* create-order: store the new orders' ids here (NULL: do not) */
  bench_ids *orders;  /* get-order reads these */
} bench_scenario_state;

extern const bench_scenario_ops bench_baseline_ops;
extern const bench_scenario_ops bench_get_order_ops;
extern const bench_scenario_ops bench_create_order_ops;
extern const bench_scenario_ops bench_csr_flow_ops;
extern const bench_scenario_ops bench_stream_ops;

/* The packed CreateCustomer request of the customer every order belongs to. */
bool bench_customer_request(bench_scenario_state *s, uint8_t **bytes, size_t *len);

/* The id in a packed Customer reply; false when it does not decode. */
bool bench_customer_id(const uint8_t *reply, size_t len, char *out, size_t size);

#endif
