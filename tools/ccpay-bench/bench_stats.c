#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

#include "server/base/check.h"

static bool series_reserve(bench_series *s, size_t wanted) {
  if (wanted <= s->capacity) return true;
  size_t capacity = s->capacity == 0 ? 4096 : s->capacity;
  while (capacity < wanted) capacity *= 2;
  if (capacity > BENCH_SAMPLES_MAX) capacity = BENCH_SAMPLES_MAX;
  if (capacity < wanted) return false;
  uint32_t *grown = realloc(s->samples_us, capacity * sizeof *grown);
  if (grown == NULL) return false;
  s->samples_us = grown;
  s->capacity = capacity;
  return true;
}

void bench_stats_record(bench_stats *stats, int index, int status, int64_t latency_ns) {
  CHECK(index >= 0 && index < BENCH_SERIES_MAX);
  bench_series *s = &stats->series[index];
  s->status_count[status >= 0 && status < BENCH_STATUS_MAX ? status : 2]++;
  if (!series_reserve(s, s->count + 1)) {
    s->dropped++;
    return;
  }
  int64_t us = latency_ns < 0 ? 0 : latency_ns / 1000;
  s->samples_us[s->count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

bool bench_stats_merge(bench_stats *into, const bench_stats *from) {
  for (int i = 0; i < BENCH_SERIES_MAX; i++) {
    bench_series *a = &into->series[i];
    const bench_series *b = &from->series[i];
    for (int k = 0; k < BENCH_STATUS_MAX; k++) a->status_count[k] += b->status_count[k];
    size_t kept = b->count;
    if (a->count + kept > BENCH_SAMPLES_MAX) kept = BENCH_SAMPLES_MAX - a->count;
    if (!series_reserve(a, a->count + kept)) return false;
    if (kept > 0) memcpy(a->samples_us + a->count, b->samples_us, kept * sizeof *b->samples_us);
    a->count += kept;
    a->dropped += b->dropped + (b->count - kept);
  }
  into->units += from->units;
  return true;
}

void bench_stats_clear(bench_stats *stats) {
  for (int i = 0; i < BENCH_SERIES_MAX; i++) free(stats->series[i].samples_us);
  memset(stats, 0, sizeof *stats);
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* The sample at quantile q (nearest rank) of sorted samples, in ms. */
static double quantile_ms(const bench_series *s, double q) {
  if (s->count == 0) return 0;
  size_t rank = (size_t)(q * (double)s->count);
  if (rank >= s->count) rank = s->count - 1;
  return s->samples_us[rank] / 1000.0;
}

bench_summary bench_series_summary(bench_series *series) {
  bench_summary out = {0};
  qsort(series->samples_us, series->count, sizeof *series->samples_us, compare_u32);
  out.ok = series->status_count[0];
  for (int k = 1; k < BENCH_STATUS_MAX; k++) out.errors += series->status_count[k];
  out.p50_ms = quantile_ms(series, 0.50);
  out.p90_ms = quantile_ms(series, 0.90);
  out.p99_ms = quantile_ms(series, 0.99);
  out.p999_ms = quantile_ms(series, 0.999);
  out.max_ms = series->count > 0 ? series->samples_us[series->count - 1] / 1000.0 : 0;
  return out;
}

const char *bench_status_name(int status) {
  static const char *const names[BENCH_STATUS_MAX] = {"OK",
                                                      "CANCELLED",
                                                      "UNKNOWN",
                                                      "INVALID_ARGUMENT",
                                                      "DEADLINE_EXCEEDED",
                                                      "NOT_FOUND",
                                                      "ALREADY_EXISTS",
                                                      "PERMISSION_DENIED",
                                                      "RESOURCE_EXHAUSTED",
                                                      "FAILED_PRECONDITION",
                                                      "ABORTED",
                                                      "OUT_OF_RANGE",
                                                      "UNIMPLEMENTED",
                                                      "INTERNAL",
                                                      "UNAVAILABLE",
                                                      "DATA_LOSS",
                                                      "UNAUTHENTICATED"};
  return status >= 0 && status < BENCH_STATUS_MAX ? names[status] : "?";
}
