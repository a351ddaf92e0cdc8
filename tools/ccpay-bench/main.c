/* ccpay-bench: a load generator for ccpayd on the gRPC C core client.
 *
 * Runs the scenarios named by --scenarios in order, `baseline` (the empty health handler:
 * the ceiling of the stack) always first, and prints for each: operations, throughput,
 * p50/p90/p99/p99.9 latency, errors by status, and the throughput as a ratio to the
 * baseline of the same invocation. docs/BENCHMARKS.md says how to run it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "scenarios.h"
#include "server/base/check.h"

enum { SCENARIOS_MAX = 8, TOKEN_BYTES_MAX = 512, PRELOAD_ORDERS_MAX = 1 << 22 };

typedef struct flags {
  bench_options o;
  const char *scenarios;
  uint64_t preload_orders;
  uint64_t preload_flows;
  const char *order_ids_file;
  double flow_rate; /* csr-flow-paced */
  int stream_concurrency;
  const char *processor;
  char token[TOKEN_BYTES_MAX];
} flags;

static void usage(FILE *out) {
  fprintf(out,
          "usage: ccpay-bench --target HOST:PORT (--token T | --token-file F) [options]\n"
          "  --scenarios LIST       comma-separated, in order; baseline always runs first\n"
          "                         (baseline,get-order,create-order,csr-flow,csr-flow-paced,\n"
          "                         stream; default: all of them)\n"
          "  --duration S           seconds per scenario (default 10)\n"
          "  --count N              operations per scenario instead (or as well: first wins)\n"
          "  --concurrency N        operations in flight (default 64)\n"
          "  --channels N           HTTP/2 connections (default 4)\n"
          "  --threads N            completion-queue threads (default 2)\n"
          "  --rate R               operations per second (default 0: saturation)\n"
          "  --flow-rate R          csr-flow-paced: flows per second (default 500)\n"
          "  --stream-concurrency N stream: streams at once (default 2)\n"
          "  --preload-orders N     get-order: orders created first (default 2000)\n"
          "  --order-ids-file F     get-order: read these order ids (one a line) instead\n"
          "  --preload-flows N      stream without a flow scenario: csr flows first (1000;\n"
          "                         0: stream whatever the ledger holds)\n"
          "  --processor NAME       the card's processor adapter (default stripe)\n");
}

static bool read_token_file(const char *path, char *out, size_t size) {
  FILE *in = fopen(path, "r");
  if (in == NULL) return false;
  bool ok = fgets(out, (int)size, in) != NULL;
  fclose(in);
  out[strcspn(out, "\r\n")] = '\0';
  return ok && out[0] != '\0';
}

static bool parse_flags(int argc, char **argv, flags *f) {
  *f = (flags){.o = {.target = "127.0.0.1:50051",
                     .threads = 2,
                     .channels = 4,
                     .concurrency = 64,
                     .duration_s = 10},
               .scenarios = "baseline,get-order,create-order,csr-flow,csr-flow-paced,stream",
               .preload_orders = 2000,
               .preload_flows = 1000,
               .flow_rate = 500,
               .stream_concurrency = 2,
               .processor = "stripe"};
  static const struct option options[] = {{"target", required_argument, NULL, 't'},
                                          {"token", required_argument, NULL, 'k'},
                                          {"token-file", required_argument, NULL, 'K'},
                                          {"scenarios", required_argument, NULL, 's'},
                                          {"duration", required_argument, NULL, 'd'},
                                          {"count", required_argument, NULL, 'n'},
                                          {"concurrency", required_argument, NULL, 'c'},
                                          {"channels", required_argument, NULL, 'C'},
                                          {"threads", required_argument, NULL, 'T'},
                                          {"rate", required_argument, NULL, 'r'},
                                          {"flow-rate", required_argument, NULL, 'f'},
                                          {"stream-concurrency", required_argument, NULL, 'S'},
                                          {"preload-orders", required_argument, NULL, 'p'},
                                          {"order-ids-file", required_argument, NULL, 'i'},
                                          {"preload-flows", required_argument, NULL, 'F'},
                                          {"processor", required_argument, NULL, 'P'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (c) {
      case 't':
        f->o.target = optarg;
        break;
      case 'k':
        snprintf(f->token, sizeof f->token, "%s", optarg);
        break;
      case 'K':
        if (!read_token_file(optarg, f->token, sizeof f->token)) {
          fprintf(stderr, "ccpay-bench: cannot read a token from %s\n", optarg);
          return false;
        }
        break;
      case 's':
        f->scenarios = optarg;
        break;
      case 'd':
        f->o.duration_s = strtod(optarg, NULL);
        break;
      case 'n':
        f->o.count = strtoull(optarg, NULL, 10);
        break;
      case 'c':
        f->o.concurrency = (int)strtol(optarg, NULL, 10);
        break;
      case 'C':
        f->o.channels = (int)strtol(optarg, NULL, 10);
        break;
      case 'T':
        f->o.threads = (int)strtol(optarg, NULL, 10);
        break;
      case 'r':
        f->o.rate = strtod(optarg, NULL);
        break;
      case 'f':
        f->flow_rate = strtod(optarg, NULL);
        break;
      case 'S':
        f->stream_concurrency = (int)strtol(optarg, NULL, 10);
        break;
      case 'p':
        f->preload_orders = strtoull(optarg, NULL, 10);
        break;
      case 'i':
        f->order_ids_file = optarg;
        break;
      case 'F':
        f->preload_flows = strtoull(optarg, NULL, 10);
        break;
      case 'P':
        f->processor = optarg;
        break;
      case 'h':
        usage(stdout);
        exit(0);
      default:
        usage(stderr);
        return false;
    }
  }
  f->o.token = f->token;
  bool ok = optind == argc && f->token[0] != '\0' && f->o.threads >= 1 &&
            f->o.threads <= BENCH_THREADS_MAX && f->o.channels >= 1 &&
            f->o.channels <= BENCH_CHANNELS_MAX && f->o.concurrency >= 1 &&
            f->o.concurrency <= BENCH_CONCURRENCY_MAX && f->stream_concurrency >= 1 &&
            f->stream_concurrency <= f->o.concurrency && f->o.rate >= 0 && f->flow_rate > 0 &&
            (f->o.duration_s > 0 || f->o.count > 0) && f->preload_orders <= PRELOAD_ORDERS_MAX;
  if (!ok) {
    fprintf(stderr, "ccpay-bench: bad or missing flags (a token is required)\n");
    usage(stderr);
  }
  return ok;
}

typedef struct result {
  char name[32];
  const char *unit; /* "calls", "flows", "entries" */
  double per_s;
  bench_summary total;
  bench_summary steps[BENCH_SERIES_MAX];
  int n_steps;
  uint64_t status_count[BENCH_STATUS_MAX];
} result;

static const char *const flow_steps[] = {"CreateOrder", "AddPayment", "SubmitOrder",
                                         "InvoiceOrder"};

static void print_result(const result *r, double baseline_per_s) {
  printf(
      "%-15s %10.0f %s/s  ok %-8llu err %-6llu p50 %7.3f  p90 %7.3f  p99 %7.3f  "
      "p99.9 %7.3f ms  ratio %.3f\n",
      r->name, r->per_s, r->unit, (unsigned long long)r->total.ok,
      (unsigned long long)r->total.errors, r->total.p50_ms, r->total.p90_ms, r->total.p99_ms,
      r->total.p999_ms, baseline_per_s > 0 ? r->per_s / baseline_per_s : 0);
  for (int k = 1; k < BENCH_STATUS_MAX; k++) {
    if (r->status_count[k] > 0) {
      printf("  errors %s: %llu\n", bench_status_name(k), (unsigned long long)r->status_count[k]);
    }
  }
  for (int i = 0; i < r->n_steps; i++) {
    printf("  step %-12s p50 %7.3f  p90 %7.3f  p99 %7.3f  p99.9 %7.3f ms  (err %llu)\n",
           flow_steps[i], r->steps[i].p50_ms, r->steps[i].p90_ms, r->steps[i].p99_ms,
           r->steps[i].p999_ms, (unsigned long long)r->steps[i].errors);
  }
  fflush(stdout);
}

/* Runs one scenario and summarises it into *r. */
static bool run_one(bench_run *run, const char *name, const bench_scenario_ops *ops,
                    bench_scenario_state *state, const bench_options *o, const char *unit,
                    int n_steps, result *r) {
  bench_stats stats = {0};
  double elapsed_s = 0;
  bool ended = bench_run_scenario(run, ops, state, o, &stats, &elapsed_s);
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", name);
  r->unit = unit;
  r->total = bench_series_summary(&stats.series[0]);
  memcpy(r->status_count, stats.series[0].status_count, sizeof r->status_count);
  double units = ops->streaming ? (double)stats.units : (double)r->total.ok;
  r->per_s = elapsed_s > 0 ? units / elapsed_s : 0;
  r->n_steps = n_steps;
  for (int i = 0; i < n_steps; i++) r->steps[i] = bench_series_summary(&stats.series[i + 1]);
  bench_stats_clear(&stats);
  return ended;
}

static bool load_ids_file(const char *path, bench_ids *ids) {
  FILE *in = fopen(path, "r");
  if (in == NULL) return false;
  char line[128];
  while (fgets(line, sizeof line, in) != NULL && ids->count < ids->capacity) {
    line[strcspn(line, "\r\n")] = '\0';
    size_t len = strlen(line);
    if (len == 0 || len >= BENCH_ID_BYTES_MAX) continue;
    memcpy(ids->ids[ids->count++], line, len + 1);
  }
  fclose(in);
  return ids->count > 0;
}

/* get-order's pre-loaded orders: from a file, or created now through create-order. */
static bool preload_orders(bench_run *run, const flags *f, bench_scenario_state *state,
                           bench_ids *ids) {
  if (atomic_load(&ids->count) > 0) return true;
  if (f->order_ids_file != NULL) {
    bool ok = load_ids_file(f->order_ids_file, ids);
    printf("# get-order: %zu order ids from %s\n", (size_t)ids->count, f->order_ids_file);
    return ok;
  }
  bench_options o = f->o;
  o.count = f->preload_orders;
  o.duration_s = 0;
  o.rate = 0;
  state->collect = ids;
  result r;
  bool ok = run_one(run, "preload", &bench_create_order_ops, state, &o, "calls", 0, &r);
  state->collect = NULL;
  printf("# get-order: %zu orders pre-loaded (%.0f/s)\n", (size_t)ids->count, r.per_s);
  return ok && ids->count > 0;
}

static bool wanted(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p += n) {
    bool starts = p == list || p[-1] == ',';
    bool ends = p[n] == '\0' || p[n] == ',';
    if (starts && ends) return true;
  }
  return false;
}

/* The stream's ledger: --preload-flows csr flows first (each posts its invoice and its
 * capture), unless a flow scenario of this run already filled it or none are asked for. */
static bool preload_ledger(bench_run *run, const flags *f, bench_scenario_state *state) {
  if (f->preload_flows == 0 || wanted(f->scenarios, "csr-flow") ||
      wanted(f->scenarios, "csr-flow-paced")) {
    return true;
  }
  bench_options o = f->o;
  o.count = f->preload_flows;
  o.duration_s = 0;
  o.rate = 0;
  result r;
  bool ok = run_one(run, "preload", &bench_csr_flow_ops, state, &o, "flows", 0, &r);
  printf("# stream: %llu csr flows pre-loaded (%.0f/s)\n", (unsigned long long)r.total.ok, r.per_s);
  return ok;
}

static bool create_customer(bench_run *run, bench_scenario_state *state) {
  uint8_t *bytes = NULL, *reply = NULL;
  size_t len = 0, reply_len = 0;
  bench_customer_request(state, &bytes, &len);
  int status = bench_call_once(run, "/ccpay.v1.CustomerService/CreateCustomer", bytes, len, &reply,
                               &reply_len);
  free(bytes);
  bool ok = status == 0 &&
            bench_customer_id(reply, reply_len, state->customer_id, sizeof state->customer_id);
  free(reply);
  return ok;
}

int main(int argc, char **argv) {
  flags f;
  if (!parse_flags(argc, argv, &f)) return 2;
  bench_run *run = bench_run_create(&f.o);
  bench_scenario_state state = {.processor = f.processor};
  snprintf(state.request_prefix, sizeof state.request_prefix, "bench-%d-%lld", (int)getpid(),
           (long long)time(NULL));
  bench_ids ids = {.capacity = f.preload_orders > 0 ? f.preload_orders : 1};
  if (f.order_ids_file != NULL) ids.capacity = PRELOAD_ORDERS_MAX;
  ids.ids = calloc(ids.capacity, sizeof *ids.ids);
  CHECK(ids.ids != NULL);
  state.orders = &ids;
  printf(
      "# ccpay-bench target=%s threads=%d channels=%d concurrency=%d duration=%.1fs "
      "count=%llu rate=%.0f\n",
      f.o.target, f.o.threads, f.o.channels, f.o.concurrency, f.o.duration_s,
      (unsigned long long)f.o.count, f.o.rate);
  bool ok = true;
  bool needs_customer = wanted(f.scenarios, "get-order") || wanted(f.scenarios, "create-order") ||
                        wanted(f.scenarios, "csr-flow") || wanted(f.scenarios, "csr-flow-paced") ||
                        (wanted(f.scenarios, "stream") && f.preload_flows > 0);
  if (needs_customer && !create_customer(run, &state)) {
    fprintf(stderr, "ccpay-bench: CreateCustomer failed: is ccpayd at %s, the token valid?\n",
            f.o.target);
    bench_run_destroy(run);
    return 1;
  }
  result results[SCENARIOS_MAX];
  int n = 0;
  double baseline = 0;
  /* The baseline first, always: every ratio is to the ceiling measured in this run. */
  ok &= run_one(run, "baseline", &bench_baseline_ops, &state, &f.o, "calls", 0, &results[n]);
  baseline = results[n].per_s;
  print_result(&results[n++], baseline);
  if (wanted(f.scenarios, "get-order")) {
    ok &= preload_orders(run, &f, &state, &ids);
    ok &= run_one(run, "get-order", &bench_get_order_ops, &state, &f.o, "calls", 0, &results[n]);
    print_result(&results[n++], baseline);
  }
  if (wanted(f.scenarios, "create-order")) {
    ok &= run_one(run, "create-order", &bench_create_order_ops, &state, &f.o, "calls", 0,
                  &results[n]);
    print_result(&results[n++], baseline);
  }
  if (wanted(f.scenarios, "csr-flow")) {
    ok &= run_one(run, "csr-flow", &bench_csr_flow_ops, &state, &f.o, "flows", 4, &results[n]);
    print_result(&results[n++], baseline);
  }
  if (wanted(f.scenarios, "csr-flow-paced")) {
    bench_options o = f.o;
    o.rate = f.flow_rate;
    ok &= run_one(run, "csr-flow-paced", &bench_csr_flow_ops, &state, &o, "flows", 4, &results[n]);
    print_result(&results[n++], baseline);
  }
  if (wanted(f.scenarios, "stream")) {
    ok &= preload_ledger(run, &f, &state);
    bench_options o = f.o;
    o.concurrency = f.stream_concurrency;
    o.rate = 0;
    ok &= run_one(run, "stream", &bench_stream_ops, &state, &o, "entries", 0, &results[n]);
    print_result(&results[n++], baseline);
  }
  /* One machine-readable line per scenario, for scripts. */
  for (int i = 0; i < n; i++) {
    const result *r = &results[i];
    printf(
        "result scenario=%s unit=%s per_s=%.0f ok=%llu errors=%llu p50_ms=%.3f p90_ms=%.3f "
        "p99_ms=%.3f p999_ms=%.3f ratio=%.3f\n",
        r->name, r->unit, r->per_s, (unsigned long long)r->total.ok,
        (unsigned long long)r->total.errors, r->total.p50_ms, r->total.p90_ms, r->total.p99_ms,
        r->total.p999_ms, baseline > 0 ? r->per_s / baseline : 0);
  }
  free(ids.ids);
  bench_run_destroy(run);
  return ok ? 0 : 1;
}
