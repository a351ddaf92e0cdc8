/* Latency samples and status counts of one benchmark scenario.
 *
 * Each worker thread owns one bench_stats and is the only one to touch it while the
 * scenario runs; the main thread merges them once every worker is idle. Samples are kept
 * exactly (microseconds, up to BENCH_SAMPLES_MAX per series and thread: the rest are
 * counted but not kept), so the percentiles are read from sorted samples, not estimated. */
#ifndef CCPAY_TOOLS_BENCH_STATS_H
#define CCPAY_TOOLS_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  BENCH_SERIES_MAX = 5,        /* 0: the operation (a call or a whole flow); 1..4: its steps */
  BENCH_STATUS_MAX = 17,       /* gRPC status codes 0..16 */
  BENCH_SAMPLES_MAX = 4 << 20, /* kept per series and thread */
};

typedef struct bench_series {
  uint32_t *samples_us; /* malloc'd, grows by doubling up to BENCH_SAMPLES_MAX */
  size_t count;         /* kept */
  size_t capacity;
  uint64_t dropped; /* recorded beyond BENCH_SAMPLES_MAX */
  uint64_t status_count[BENCH_STATUS_MAX];
} bench_series;

typedef struct bench_stats {
  bench_series series[BENCH_SERIES_MAX];
  uint64_t units; /* what the scenario counts beyond operations (stream: entries) */
} bench_stats;

/* Records one end of series index with status (0..16) and its latency. */
void bench_stats_record(bench_stats *stats, int index, int status, int64_t latency_ns);

/* Adds from into into (samples appended); from is left as it was. False when out of memory. */
bool bench_stats_merge(bench_stats *into, const bench_stats *from);

/* Frees the samples and zeroes stats. */
void bench_stats_clear(bench_stats *stats);

typedef struct bench_summary {
  uint64_t ok;     /* ends with status OK */
  uint64_t errors; /* ends with another status */
  double p50_ms, p90_ms, p99_ms, p999_ms, max_ms;
} bench_summary;

/* Sorts the series' samples and reads its percentiles (of every end, errors included). */
bench_summary bench_series_summary(bench_series *series);

/* "OK", "UNAVAILABLE"... */
const char *bench_status_name(int status);

#endif
