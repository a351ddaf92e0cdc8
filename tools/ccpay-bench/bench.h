/* ccpay-bench's load engine on the gRPC C core client.
 *
 * A run holds a few channels (each its own HTTP/2 connection) and `threads` worker
 * threads, each polling its own completion queue. `concurrency` slots each carry one
 * operation at a time: a unary call, a chain of unary calls (a flow: each reply starts
 * the next call from the worker thread), or a server-streaming call whose messages are
 * counted. Unpaced (rate 0), a slot starts its next operation as soon as one ends: the
 * saturation throughput. Paced, the main thread starts operations at fixed times on idle
 * slots and latency counts from the scheduled start, so a slow server cannot hide its
 * queueing (no coordinated omission).
 *
 * Every scenario is bounded: by its duration and/or count, every call by a deadline. */
#ifndef CCPAY_TOOLS_BENCH_H
#define CCPAY_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_stats.h"

enum {
  BENCH_THREADS_MAX = 16,
  BENCH_CHANNELS_MAX = 64,
  BENCH_CONCURRENCY_MAX = 4096,
  BENCH_CALL_TIMEOUT_MS = 30000, /* every call's deadline */
  BENCH_ID_BYTES_MAX = 40,
  BENCH_STOP_TIMEOUT_MS = 40000, /* for slots in flight to end after the scenario's time */
};

typedef struct bench_run bench_run;
typedef struct bench_slot bench_slot;

/* What an operation of a scenario does. Called on worker threads (start: also on the
 * pacer); each function gets the slot and its own state. */
typedef struct bench_scenario_ops {
  /* Builds the first call of a new operation: method and the packed request (malloc'd
   * into *bytes). Returns false to start nothing (e.g. out of pre-loaded data). */
  bool (*first_call)(bench_slot *slot, const char **method, uint8_t **bytes, size_t *len);
  /* After call step (0-based) ended with status and reply bytes (NULL unless OK): builds
   * the next call and returns true, or returns false when the operation is over. */
  bool (*next_call)(bench_slot *slot, int step, int status, const uint8_t *reply, size_t len,
                    const char **method, uint8_t **next_bytes, size_t *next_len);
  bool streaming; /* one server-streaming call per operation; each message counts as a unit */
} bench_scenario_ops;

typedef struct bench_options {
  const char *target; /* "127.0.0.1:50051" */
  const char *token;  /* sent as `authorization: Bearer` on every call */
  int threads;
  int channels;
  int concurrency;
  double duration_s; /* 0: only count bounds the run */
  uint64_t count;    /* operations to start; 0: only duration bounds it */
  double rate;       /* operations started per second; 0: as fast as they end */
} bench_options;

bench_run *bench_run_create(const bench_options *options);
void bench_run_destroy(bench_run *run);

/* Runs one scenario to its end; merged stats into *out (cleared first); *elapsed_s the
 * time from the first start to the last end. scenario_state is handed to the ops through
 * bench_slot_scenario. False when the run could not start or did not end in time. */
bool bench_run_scenario(bench_run *run, const bench_scenario_ops *ops, void *scenario_state,
                        const bench_options *options, bench_stats *out, double *elapsed_s);

/* The scenario state passed to bench_run_scenario, and the slot's own small memory
 * (BENCH_SLOT_SCRATCH_BYTES, zeroed when an operation starts). */
enum { BENCH_SLOT_SCRATCH_BYTES = 256 };
void *bench_slot_scenario(bench_slot *slot);
void *bench_slot_scratch(bench_slot *slot);
int bench_slot_index(const bench_slot *slot);

/* One unary call made synchronously (for set-up): status, and the reply bytes (malloc'd,
 * *reply_len) when OK. */
int bench_call_once(bench_run *run, const char *method, const uint8_t *bytes, size_t len,
                    uint8_t **reply, size_t *reply_len);

#endif
