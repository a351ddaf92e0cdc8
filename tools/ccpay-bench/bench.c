#include "bench.h"

#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/base/check.h"

enum { TAG_CALL, TAG_MESSAGE };
enum { POLL_MS = 100, AUTHORIZATION_BYTES_MAX = 600 };

typedef struct bench_tag {
  bench_slot *slot;
  int kind;
} bench_tag;

typedef struct bench_worker {
  bench_run *run;
  grpc_completion_queue *queue;
  pthread_t thread;
  bench_stats stats;
} bench_worker;

struct bench_slot {
  bench_run *run;
  bench_worker *worker;
  grpc_channel *channel;
  int index;
  grpc_call *call;
  int step;
  int batches; /* a streaming call's batches still pending */
  int64_t op_start_ns, call_start_ns;
  grpc_metadata_array initial_md, trailing_md;
  grpc_byte_buffer *send, *recv;
  grpc_status_code status;
  grpc_slice details;
  bench_tag call_tag, message_tag;
  bench_slot *next_idle; /* paced runs: the idle list */
  uint8_t scratch[BENCH_SLOT_SCRATCH_BYTES];
};

struct bench_run {
  bench_options options;
  char authorization[AUTHORIZATION_BYTES_MAX];
  grpc_metadata metadata;
  grpc_channel *channels[BENCH_CHANNELS_MAX];
  bench_worker workers[BENCH_THREADS_MAX];
  bench_slot *slots;
  atomic_bool shutdown;
  /* The scenario running. */
  const bench_scenario_ops *ops;
  void *scenario_state;
  bool paced;
  double rate; /* paced runs: operations per second */
  uint64_t count;
  atomic_bool stopping;
  atomic_uint_fast64_t started;
  atomic_int running; /* slots with an operation */
  atomic_int_fast64_t last_end_ns;
  pthread_mutex_t idle_lock;
  bench_slot *idle; /* paced runs */
};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_until_ns(int64_t when_ns) {
  struct timespec t = {.tv_sec = when_ns / 1000000000, .tv_nsec = when_ns % 1000000000};
  CHECK(when_ns >= 0);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
  }
}

static gpr_timespec in_ms(int64_t ms) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

void *bench_slot_scenario(bench_slot *slot) { return slot->run->scenario_state; }
void *bench_slot_scratch(bench_slot *slot) { return slot->scratch; }
int bench_slot_index(const bench_slot *slot) { return slot->index; }

/* Starts one call of the slot's operation; bytes is freed here. False when gRPC refused
 * the batch (the call is then released). */
static bool slot_start_call(bench_slot *slot, const char *method, uint8_t *bytes, size_t len) {
  bench_run *run = slot->run;
  grpc_slice method_slice = grpc_slice_from_static_string(method);
  slot->call =
      grpc_channel_create_call(slot->channel, NULL, GRPC_PROPAGATE_DEFAULTS, slot->worker->queue,
                               method_slice, NULL, in_ms(BENCH_CALL_TIMEOUT_MS), NULL);
  grpc_slice payload = grpc_slice_from_copied_buffer((const char *)bytes, len);
  free(bytes);
  slot->send = grpc_raw_byte_buffer_create(&payload, 1);
  grpc_slice_unref(payload);
  slot->recv = NULL;
  grpc_metadata_array_init(&slot->initial_md);
  grpc_metadata_array_init(&slot->trailing_md);
  slot->details = grpc_empty_slice();
  slot->call_start_ns = now_ns();

  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = run->authorization[0] != '\0' ? 1 : 0;
  ops[0].data.send_initial_metadata.metadata = &run->metadata;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = slot->send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &slot->initial_md;
  ops[4].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[4].data.recv_status_on_client.trailing_metadata = &slot->trailing_md;
  ops[4].data.recv_status_on_client.status = &slot->status;
  ops[4].data.recv_status_on_client.status_details = &slot->details;
  size_t n = 5;
  if (!run->ops->streaming) {
    ops[5].op = GRPC_OP_RECV_MESSAGE;
    ops[5].data.recv_message.recv_message = &slot->recv;
    n = 6;
  }
  slot->batches = run->ops->streaming ? 2 : 1;
  grpc_call_error e = grpc_call_start_batch(slot->call, ops, n, &slot->call_tag, NULL);
  if (e == GRPC_CALL_OK && run->ops->streaming) {
    grpc_op read = {.op = GRPC_OP_RECV_MESSAGE};
    read.data.recv_message.recv_message = &slot->recv;
    e = grpc_call_start_batch(slot->call, &read, 1, &slot->message_tag, NULL);
    CHECK(e == GRPC_CALL_OK); /* the first batch is in: the call exists */
  }
  if (e != GRPC_CALL_OK) {
    fprintf(stderr, "ccpay-bench: grpc_call_start_batch: %d\n", (int)e);
    grpc_call_unref(slot->call);
    slot->call = NULL;
    grpc_byte_buffer_destroy(slot->send);
    grpc_metadata_array_destroy(&slot->initial_md);
    grpc_metadata_array_destroy(&slot->trailing_md);
    return false;
  }
  return true;
}

/* Releases the slot's ended call. */
static void slot_release_call(bench_slot *slot) {
  grpc_call_unref(slot->call);
  slot->call = NULL;
  grpc_byte_buffer_destroy(slot->send);
  slot->send = NULL;
  if (slot->recv != NULL) grpc_byte_buffer_destroy(slot->recv);
  slot->recv = NULL;
  grpc_metadata_array_destroy(&slot->initial_md);
  grpc_metadata_array_destroy(&slot->trailing_md);
  grpc_slice_unref(slot->details);
}

/* Starts a new operation on an idle slot whose start is scheduled at start_ns. False when
 * the scenario is over (or the first call could not start): the slot stays idle. */
static bool slot_begin(bench_slot *slot, int64_t start_ns) {
  bench_run *run = slot->run;
  if (atomic_load(&run->stopping)) return false;
  if (run->count > 0 && atomic_fetch_add(&run->started, 1) >= run->count) return false;
  memset(slot->scratch, 0, sizeof slot->scratch);
  slot->step = 0;
  slot->op_start_ns = start_ns;
  const char *method = NULL;
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!run->ops->first_call(slot, &method, &bytes, &len)) return false;
  return slot_start_call(slot, method, bytes, len);
}

/* The slot's operation ended: start the next one, or hand the slot back. */
static void slot_end(bench_slot *slot) {
  bench_run *run = slot->run;
  atomic_store(&run->last_end_ns, now_ns());
  if (run->paced) {
    pthread_mutex_lock(&run->idle_lock);
    slot->next_idle = run->idle;
    run->idle = slot;
    pthread_mutex_unlock(&run->idle_lock);
    return;
  }
  if (!slot_begin(slot, now_ns())) atomic_fetch_sub(&run->running, 1);
}

/* A unary call of the slot ended: record it, then the next step or the operation's end. */
static void on_unary_done(bench_slot *slot) {
  bench_run *run = slot->run;
  bench_stats *stats = &slot->worker->stats;
  int64_t end_ns = now_ns();
  int status = (int)slot->status;
  int series = slot->step + 1 < BENCH_SERIES_MAX ? slot->step + 1 : BENCH_SERIES_MAX - 1;
  bench_stats_record(stats, series, status, end_ns - slot->call_start_ns);
  grpc_slice reply = grpc_empty_slice();
  if (status == GRPC_STATUS_OK && slot->recv != NULL) {
    grpc_byte_buffer_reader reader;
    if (grpc_byte_buffer_reader_init(&reader, slot->recv)) {
      reply = grpc_byte_buffer_reader_readall(&reader);
      grpc_byte_buffer_reader_destroy(&reader);
    }
  }
  slot_release_call(slot);
  const char *method = NULL;
  uint8_t *bytes = NULL;
  size_t len = 0;
  bool more = run->ops->next_call != NULL &&
              run->ops->next_call(slot, slot->step, status,
                                  status == GRPC_STATUS_OK ? GRPC_SLICE_START_PTR(reply) : NULL,
                                  GRPC_SLICE_LENGTH(reply), &method, &bytes, &len);
  grpc_slice_unref(reply);
  if (more) {
    slot->step++;
    if (slot_start_call(slot, method, bytes, len)) return;
    status = GRPC_STATUS_INTERNAL;
  }
  bench_stats_record(stats, 0, status, now_ns() - slot->op_start_ns);
  slot_end(slot);
}

/* A streaming call's batch ended: count a message and read on, or finish the call once
 * both its status and its last read are in. */
static void on_stream_event(bench_slot *slot, int kind) {
  bench_stats *stats = &slot->worker->stats;
  if (kind == TAG_MESSAGE && slot->recv != NULL) {
    stats->units++;
    grpc_byte_buffer_destroy(slot->recv);
    slot->recv = NULL;
    if (atomic_load(&slot->run->stopping)) grpc_call_cancel(slot->call, NULL);
    grpc_op read = {.op = GRPC_OP_RECV_MESSAGE};
    read.data.recv_message.recv_message = &slot->recv;
    grpc_call_error e = grpc_call_start_batch(slot->call, &read, 1, &slot->message_tag, NULL);
    CHECK(e == GRPC_CALL_OK);
    return;
  }
  if (--slot->batches > 0) return;
  int status = (int)slot->status;
  /* A stream cut short by the end of the scenario is not an error. */
  if (status == GRPC_STATUS_CANCELLED && atomic_load(&slot->run->stopping)) status = 0;
  bench_stats_record(stats, 1, status, now_ns() - slot->call_start_ns);
  bench_stats_record(stats, 0, status, now_ns() - slot->op_start_ns);
  slot_release_call(slot);
  slot_end(slot);
}

static void *worker_main(void *arg) {
  bench_worker *w = arg;
  while (!atomic_load(&w->run->shutdown)) {
    grpc_event ev = grpc_completion_queue_next(w->queue, in_ms(POLL_MS), NULL);
    if (ev.type != GRPC_OP_COMPLETE) continue;
    bench_tag *tag = ev.tag;
    if (tag->slot->run->ops->streaming) {
      on_stream_event(tag->slot, tag->kind);
    } else {
      on_unary_done(tag->slot);
    }
  }
  return NULL;
}

bench_run *bench_run_create(const bench_options *o) {
  CHECK(o->threads >= 1 && o->threads <= BENCH_THREADS_MAX);
  CHECK(o->channels >= 1 && o->channels <= BENCH_CHANNELS_MAX);
  CHECK(o->concurrency >= 1 && o->concurrency <= BENCH_CONCURRENCY_MAX);
  grpc_init();
  bench_run *run = calloc(1, sizeof *run);
  CHECK(run != NULL);
  run->options = *o;
  if (o->token != NULL && o->token[0] != '\0') {
    snprintf(run->authorization, sizeof run->authorization, "Bearer %s", o->token);
  }
  run->metadata.key = grpc_slice_from_static_string("authorization");
  run->metadata.value = grpc_slice_from_static_string(run->authorization);
  pthread_mutex_init(&run->idle_lock, NULL);
  /* A local subchannel pool per channel: each channel is its own connection. */
  grpc_arg arg = {
      .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1};
  grpc_channel_args args = {.num_args = 1, .args = &arg};
  grpc_channel_credentials *credentials = grpc_insecure_credentials_create();
  for (int i = 0; i < o->channels; i++) {
    run->channels[i] = grpc_channel_create(o->target, credentials, &args);
  }
  grpc_channel_credentials_release(credentials);
  run->slots = calloc((size_t)o->concurrency, sizeof *run->slots);
  CHECK(run->slots != NULL);
  for (int t = 0; t < o->threads; t++) {
    bench_worker *w = &run->workers[t];
    w->run = run;
    w->queue = grpc_completion_queue_create_for_next(NULL);
    CHECK(pthread_create(&w->thread, NULL, worker_main, w) == 0);
  }
  for (int i = 0; i < o->concurrency; i++) {
    bench_slot *s = &run->slots[i];
    s->run = run;
    s->index = i;
    s->worker = &run->workers[i % o->threads];
    s->channel = run->channels[i % o->channels];
    s->call_tag = (bench_tag){s, TAG_CALL};
    s->message_tag = (bench_tag){s, TAG_MESSAGE};
  }
  return run;
}

void bench_run_destroy(bench_run *run) {
  if (run == NULL) return;
  atomic_store(&run->shutdown, true);
  for (int t = 0; t < run->options.threads; t++) {
    bench_worker *w = &run->workers[t];
    pthread_join(w->thread, NULL);
    grpc_completion_queue_shutdown(w->queue);
    while (grpc_completion_queue_next(w->queue, in_ms(POLL_MS), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(w->queue);
    bench_stats_clear(&w->stats);
  }
  for (int i = 0; i < run->options.channels; i++) grpc_channel_destroy(run->channels[i]);
  pthread_mutex_destroy(&run->idle_lock);
  free(run->slots);
  free(run);
  grpc_shutdown();
}

/* Paced: starts operations at start + i / rate on idle slots until the time or the count
 * is up. An operation whose time comes while every slot is busy waits for one, and its
 * latency still counts from its scheduled time. */
static void run_paced(bench_run *run, int64_t start_ns, int64_t stop_ns) {
  CHECK(run->rate > 0);
  double interval_ns = 1e9 / run->rate;
  for (uint64_t i = 0;; i++) {
    int64_t at = start_ns + (int64_t)((double)i * interval_ns);
    if (stop_ns > 0 && at >= stop_ns) break;
    if (run->count > 0 && atomic_load(&run->started) >= run->count) break;
    sleep_until_ns(at);
    bench_slot *slot = NULL;
    while (slot == NULL) {
      pthread_mutex_lock(&run->idle_lock);
      slot = run->idle;
      if (slot != NULL) run->idle = slot->next_idle;
      pthread_mutex_unlock(&run->idle_lock);
      if (slot == NULL) sleep_until_ns(now_ns() + 50000);
      if (slot == NULL && stop_ns > 0 && now_ns() >= stop_ns) return;
    }
    atomic_fetch_add(&run->running, 1);
    if (!slot_begin(slot, at)) {
      atomic_fetch_sub(&run->running, 1);
      pthread_mutex_lock(&run->idle_lock);
      slot->next_idle = run->idle;
      run->idle = slot;
      pthread_mutex_unlock(&run->idle_lock);
      if (run->count > 0 && atomic_load(&run->started) >= run->count) break;
    }
  }
}

static int idle_count(bench_run *run) {
  int n = 0;
  pthread_mutex_lock(&run->idle_lock);
  for (bench_slot *s = run->idle; s != NULL; s = s->next_idle) n++;
  pthread_mutex_unlock(&run->idle_lock);
  return n;
}

/* Waits until no slot has an operation; false after BENCH_STOP_TIMEOUT_MS. */
static bool wait_quiet(bench_run *run) {
  int64_t give_up = now_ns() + (int64_t)BENCH_STOP_TIMEOUT_MS * 1000000;
  while (now_ns() < give_up) {
    bool quiet =
        run->paced ? idle_count(run) == run->options.concurrency : atomic_load(&run->running) == 0;
    if (quiet) return true;
    sleep_until_ns(now_ns() + 2000000);
  }
  return false;
}

bool bench_run_scenario(bench_run *run, const bench_scenario_ops *ops, void *scenario_state,
                        const bench_options *o, bench_stats *out, double *elapsed_s) {
  CHECK(o->concurrency <= run->options.concurrency);
  CHECK(o->duration_s > 0 || o->count > 0);
  run->ops = ops;
  run->scenario_state = scenario_state;
  run->paced = o->rate > 0;
  run->rate = o->rate;
  run->count = o->count;
  atomic_store(&run->stopping, false);
  atomic_store(&run->started, 0);
  atomic_store(&run->running, 0);
  run->idle = NULL;
  for (int t = 0; t < run->options.threads; t++) bench_stats_clear(&run->workers[t].stats);
  int64_t start_ns = now_ns();
  atomic_store(&run->last_end_ns, start_ns);
  int64_t stop_ns = o->duration_s > 0 ? start_ns + (int64_t)(o->duration_s * 1e9) : 0;
  if (run->paced) {
    for (int i = o->concurrency - 1; i >= 0; i--) {
      run->slots[i].next_idle = run->idle;
      run->idle = &run->slots[i];
    }
    run_paced(run, start_ns, stop_ns);
  } else {
    atomic_store(&run->running, o->concurrency);
    for (int i = 0; i < o->concurrency; i++) {
      if (!slot_begin(&run->slots[i], now_ns())) atomic_fetch_sub(&run->running, 1);
    }
    while (atomic_load(&run->running) > 0 && (stop_ns == 0 || now_ns() < stop_ns)) {
      sleep_until_ns(now_ns() + 1000000);
    }
  }
  atomic_store(&run->stopping, true);
  bool quiet = wait_quiet(run);
  if (!quiet) fprintf(stderr, "ccpay-bench: operations still in flight after the stop\n");
  *elapsed_s = (double)(atomic_load(&run->last_end_ns) - start_ns) / 1e9;
  bench_stats_clear(out);
  for (int t = 0; t < run->options.threads; t++) {
    CHECK(bench_stats_merge(out, &run->workers[t].stats));
  }
  return quiet;
}

int bench_call_once(bench_run *run, const char *method, const uint8_t *bytes, size_t len,
                    uint8_t **reply, size_t *reply_len) {
  *reply = NULL;
  *reply_len = 0;
  grpc_completion_queue *queue = grpc_completion_queue_create_for_pluck(NULL);
  grpc_call *call = grpc_channel_create_call(run->channels[0], NULL, GRPC_PROPAGATE_DEFAULTS, queue,
                                             grpc_slice_from_static_string(method), NULL,
                                             in_ms(BENCH_CALL_TIMEOUT_MS), NULL);
  grpc_slice payload = grpc_slice_from_copied_buffer((const char *)bytes, len);
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&payload, 1);
  grpc_slice_unref(payload);
  grpc_byte_buffer *recv = NULL;
  grpc_metadata_array initial_md, trailing_md;
  grpc_metadata_array_init(&initial_md);
  grpc_metadata_array_init(&trailing_md);
  grpc_status_code status = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = run->authorization[0] != '\0' ? 1 : 0;
  ops[0].data.send_initial_metadata.metadata = &run->metadata;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
  ops[5].data.recv_status_on_client.status = &status;
  ops[5].data.recv_status_on_client.status_details = &details;
  int tag = 0;
  CHECK(grpc_call_start_batch(call, ops, 6, &tag, NULL) == GRPC_CALL_OK);
  grpc_event ev =
      grpc_completion_queue_pluck(queue, &tag, in_ms(BENCH_CALL_TIMEOUT_MS + 5000), NULL);
  if (ev.type != GRPC_OP_COMPLETE) {
    grpc_call_cancel(call, NULL);
    ev = grpc_completion_queue_pluck(queue, &tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    status = GRPC_STATUS_DEADLINE_EXCEEDED;
  }
  if (status != GRPC_STATUS_OK) {
    char *text = grpc_slice_to_c_string(details);
    fprintf(stderr, "ccpay-bench: %s: status %d: %s\n", method, (int)status, text);
    gpr_free(text);
  } else if (recv != NULL) {
    grpc_byte_buffer_reader reader;
    if (grpc_byte_buffer_reader_init(&reader, recv)) {
      grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
      grpc_byte_buffer_reader_destroy(&reader);
      *reply_len = GRPC_SLICE_LENGTH(all);
      *reply = malloc(*reply_len + 1);
      CHECK(*reply != NULL);
      memcpy(*reply, GRPC_SLICE_START_PTR(all), *reply_len);
      grpc_slice_unref(all);
    }
  }
  if (recv != NULL) grpc_byte_buffer_destroy(recv);
  grpc_byte_buffer_destroy(send);
  grpc_metadata_array_destroy(&initial_md);
  grpc_metadata_array_destroy(&trailing_md);
  grpc_slice_unref(details);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(queue);
  grpc_completion_queue_pluck(queue, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
  grpc_completion_queue_destroy(queue);
  return (int)status;
}
