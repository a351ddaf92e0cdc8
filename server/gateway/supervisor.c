/* The supervisor: one thread per adapter runs its life cycle (spawn, wait for health,
 * watch, restart with back-off, stop). See supervisor.h. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"
#include "gateway_internal.h"
#include "grpc/health/v1/health.pb-c.h"

enum {
  STATUS_TEXT_BYTES_MAX = 48,
  PROBE_ARENA_BYTES_MAX = 64 << 10, /* a health answer or Capabilities */
  STATUS_UNAVAILABLE = 14,          /* grpc_status_code */
  STATUS_DEADLINE_EXCEEDED = 4,
};

static int64_t now_ms(void) { return clock_mono_us() / 1000; }

/* --- Locking, sleeping ---------------------------------------------------------------- */

static void lock(supervisor *s) { CHECK(pthread_mutex_lock(&s->lock) == 0); }
static void unlock(supervisor *s) { CHECK(pthread_mutex_unlock(&s->lock) == 0); }

static bool stopping(supervisor *s) {
  lock(s);
  bool stop = s->stopping;
  unlock(s);
  return stop;
}

static struct timespec monotonic_in(int64_t ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

/* Sleeps ms unless the supervisor stops meanwhile; false when it is stopping. */
static bool sleep_unless_stopping(supervisor *s, int64_t ms) {
  struct timespec until = monotonic_in(ms);
  lock(s);
  while (!s->stopping) {
    int rc = pthread_cond_timedwait(&s->changed, &s->lock, &until);
    if (rc == ETIMEDOUT) break;
    CHECK(rc == 0);
  }
  bool stop = s->stopping;
  unlock(s);
  return !stop;
}

static void mark_first_attempt_done(gateway_adapter *a) {
  supervisor *s = a->owner;
  lock(s);
  a->first_attempt_done = true;
  CHECK(pthread_cond_broadcast(&s->changed) == 0);
  unlock(s);
}

/* --- Probes --------------------------------------------------------------------------- */

/* grpc.health.v1.Health/Check for the whole server. True when SERVING; *result says how
 * the call ended. */
static bool health_check(rpc_channel *channel, int64_t timeout_ms, rpc_client_result *result) {
  arena *a = arena_create(PROBE_ARENA_BYTES_MAX);
  CHECK(a != NULL);
  Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  request.service = "";
  ProtobufCMessage *reply = NULL;
  bool serving = false;
  if (rpc_client_call(channel, "/grpc.health.v1.Health/Check", &request.base,
                      &grpc__health__v1__health_check_response__descriptor, timeout_ms, a, &reply,
                      result)) {
    const Grpc__Health__V1__HealthCheckResponse *r =
        (const Grpc__Health__V1__HealthCheckResponse *)reply;
    serving = r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
  }
  arena_destroy(a);
  return serving;
}

static void copy_caps(const Ccpay__Gateway__V1__Capabilities *c, gateway_caps *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->processor, sizeof out->processor, "%s", c->processor);
  out->partial_capture = c->partial_capture;
  out->multiple_captures = c->multiple_captures;
  out->void_supported = c->void_supported;
  out->unlinked_refunds = c->unlinked_refunds;
  out->refund_requires_settlement = c->refund_requires_settlement;
  out->authorization_validity_days = c->authorization_validity_days;
  for (size_t i = 0; i < c->n_currencies && out->currency_count < GATEWAY_CURRENCIES_MAX; i++) {
    if (strlen(c->currencies[i]) != 3) continue;
    memcpy(out->currencies[out->currency_count++], c->currencies[i], 4);
  }
}

/* GetCapabilities. True with *out filled when the adapter answered as the processor it
 * was configured as. */
static bool fetch_caps(gateway_adapter *a, rpc_channel *channel, int64_t timeout_ms,
                       gateway_caps *out) {
  arena *ar = arena_create(PROBE_ARENA_BYTES_MAX);
  CHECK(ar != NULL);
  Ccpay__Gateway__V1__GetCapabilitiesRequest request =
      CCPAY__GATEWAY__V1__GET_CAPABILITIES_REQUEST__INIT;
  ProtobufCMessage *reply = NULL;
  rpc_client_result result;
  bool ok = rpc_client_call(channel, GATEWAY_RPC_GET_CAPABILITIES, &request.base,
                            &ccpay__gateway__v1__capabilities__descriptor, timeout_ms, ar, &reply,
                            &result);
  if (ok) copy_caps((const Ccpay__Gateway__V1__Capabilities *)reply, out);
  arena_destroy(ar);
  if (ok && strcmp(out->processor, a->name) != 0) {
    log_error("event=adapter_mismatch processor=%s reported=%s binary=%s", a->name, out->processor,
              a->binary);
    return false;
  }
  if (!ok) {
    log_debug("event=adapter_capabilities_failed processor=%s status=%d", a->name, result.status);
  }
  return ok;
}

/* --- One life of an adapter process --------------------------------------------------- */

typedef enum run_end {
  RUN_UP,        /* (wait_up) answering */
  RUN_EXITED,    /* the process ended by itself (reaped) */
  RUN_TIMEOUT,   /* (wait_up) did not come up in time */
  RUN_UNHEALTHY, /* (watch) unreachable too many times in a row */
  RUN_STOPPING,  /* the supervisor is stopping */
} run_end;

static int64_t min_ms(int64_t x, int64_t y) { return x < y ? x : y; }

/* Polls the new process until it answers health and capabilities, exits, or the start
 * timeout passes. */
static run_end wait_up(gateway_adapter *a, rpc_channel *channel, pid_t pid, gateway_caps *caps,
                       char *status, size_t size) {
  supervisor *s = a->owner;
  int64_t deadline_ms = now_ms() + s->start_timeout_ms;
  for (;;) {
    if (gateway_process_reaped(pid, status, size)) return RUN_EXITED;
    int64_t left_ms = deadline_ms - now_ms();
    if (left_ms <= 0) return RUN_TIMEOUT;
    struct stat st;
    if (stat(a->socket_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
      rpc_client_result result;
      if (health_check(channel, min_ms(left_ms, GATEWAY_HEALTH_TIMEOUT_MS), &result) &&
          fetch_caps(a, channel, min_ms(deadline_ms - now_ms(), GATEWAY_HEALTH_TIMEOUT_MS), caps)) {
        return RUN_UP;
      }
    }
    if (!sleep_unless_stopping(s, GATEWAY_POLL_MS)) return RUN_STOPPING;
  }
}

/* Watches a running adapter until it exits, becomes unreachable, or the supervisor
 * stops. Only a failure to reach it counts against it: a slow answer (all its workers
 * busy on slow processor calls) is no reason to kill it. */
static run_end watch(gateway_adapter *a, rpc_channel *channel, pid_t pid, char *status,
                     size_t size) {
  supervisor *s = a->owner;
  int64_t next_check_ms = now_ms() + GATEWAY_HEALTH_INTERVAL_MS;
  unsigned failures = 0;
  for (;;) {
    if (gateway_process_reaped(pid, status, size)) return RUN_EXITED;
    if (now_ms() >= next_check_ms) {
      rpc_client_result result;
      bool serving = health_check(channel, GATEWAY_HEALTH_TIMEOUT_MS, &result);
      bool unreachable = !result.sent || result.status == STATUS_UNAVAILABLE;
      if (serving || result.status == STATUS_DEADLINE_EXCEEDED) {
        failures = 0;
      } else if (unreachable || result.status == 0) { /* 0: answered NOT_SERVING */
        failures++;
        log_warn("event=adapter_health_failed processor=%s pid=%d status=%d failures=%u", a->name,
                 (int)pid, result.status, failures);
        if (failures >= GATEWAY_HEALTH_FAILURES_MAX) return RUN_UNHEALTHY;
      }
      next_check_ms = now_ms() + GATEWAY_HEALTH_INTERVAL_MS;
    }
    if (!sleep_unless_stopping(s, GATEWAY_POLL_MS)) return RUN_STOPPING;
  }
}

/* Makes the adapter UP with the channel (one reference goes to the published slot). */
static void publish(gateway_adapter *a, gateway_channel *c, const gateway_caps *caps) {
  supervisor *s = a->owner;
  lock(s);
  c->refs++;
  a->published = c;
  a->caps = *caps;
  a->has_caps = true;
  a->state = GATEWAY_ADAPTER_UP;
  unlock(s);
}

/* Makes the adapter DOWN: no new call gets the channel; calls in flight keep theirs. */
static void unpublish(gateway_adapter *a) {
  supervisor *s = a->owner;
  lock(s);
  gateway_channel *c = a->published;
  a->published = NULL;
  a->state = GATEWAY_ADAPTER_DOWN;
  unlock(s);
  if (c != NULL) gateway_channel_release(s, c);
}

static void set_running(gateway_adapter *a, gateway_adapter_state state, pid_t pid) {
  supervisor *s = a->owner;
  lock(s);
  a->state = state;
  a->pid = pid;
  unlock(s);
}

static const char *end_name(run_end end) {
  switch (end) {
    case RUN_TIMEOUT:
      return "adapter_start_timeout";
    case RUN_UNHEALTHY:
      return "adapter_unhealthy";
    case RUN_STOPPING:
      return "adapter_stopped";
    default:
      return "adapter_exited";
  }
}

/* Starts the process and waits for it to come up; returns how that ended. */
static run_end start_and_wait(gateway_adapter *a, gateway_channel *c, pid_t pid, char *status,
                              size_t size) {
  int64_t start_ms = now_ms();
  gateway_caps caps;
  run_end end = wait_up(a, c->channel, pid, &caps, status, size);
  if (end == RUN_UP) {
    publish(a, c, &caps);
    log_info("event=adapter_up processor=%s pid=%d restarts=%u start_ms=%lld", a->name, (int)pid,
             a->restarts, (long long)(now_ms() - start_ms));
  }
  mark_first_attempt_done(a);
  return end;
}

/* One process: spawn, come up, run, end. *up_ms is how long it was UP. */
static void run_once(gateway_adapter *a, int64_t *up_ms) {
  supervisor *s = a->owner;
  *up_ms = 0;
  if (unlink(a->socket_path) != 0 && errno != ENOENT) {
    log_warn("event=adapter_socket_stale processor=%s socket=%s error=\"%s\"", a->name,
             a->socket_path, strerror(errno));
  }
  gateway_channel *c = calloc(1, sizeof *c);
  ccpay_error error;
  if (c == NULL || rpc_channel_open(a->target, &c->channel, &error) != CCPAY_OK) {
    log_error("event=adapter_spawn_failed processor=%s error=\"no channel\"", a->name);
    free(c);
    mark_first_attempt_done(a);
    return;
  }
  c->refs = 1; /* this thread's */
  int spawn_errno = 0;
  pid_t pid = gateway_process_spawn(a, s->adapter_log_level, &spawn_errno);
  if (pid == 0) {
    log_error("event=adapter_spawn_failed processor=%s binary=%s error=\"%s\"", a->name, a->binary,
              strerror(spawn_errno));
    gateway_channel_release(s, c);
    mark_first_attempt_done(a);
    return;
  }
  set_running(a, GATEWAY_ADAPTER_STARTING, pid);
  log_info("event=adapter_started processor=%s pid=%d restarts=%u socket=%s", a->name, (int)pid,
           a->restarts, a->socket_path);
  char status[STATUS_TEXT_BYTES_MAX] = "";
  run_end end = start_and_wait(a, c, pid, status, sizeof status);
  if (end == RUN_UP) {
    int64_t up_start_ms = now_ms();
    end = watch(a, c->channel, pid, status, sizeof status);
    *up_ms = now_ms() - up_start_ms;
  }
  unpublish(a);
  /* Close our connection first (calls in flight keep theirs): a gRPC server that is
   * shutting down waits for its clients' connections to close, so an open one would hold
   * the adapter in its drain for seconds. */
  gateway_channel_release(s, c);
  if (end != RUN_EXITED) {
    gateway_process_terminate(pid, GATEWAY_STOP_TIMEOUT_MS, status, sizeof status);
  }
  set_running(a, GATEWAY_ADAPTER_DOWN, 0);
  unlink(a->socket_path);
  log_write(end == RUN_STOPPING ? LOG_INFO : LOG_WARN,
            "event=%s processor=%s pid=%d status=%s up_ms=%lld", end_name(end), a->name, (int)pid,
            status, (long long)*up_ms);
}

static void *adapter_thread(void *argument) {
  gateway_adapter *a = argument;
  supervisor *s = a->owner;
  int64_t backoff_ms = GATEWAY_RESTART_BACKOFF_MS_MIN;
  while (!stopping(s)) {
    int64_t up_ms = 0;
    run_once(a, &up_ms);
    if (up_ms >= GATEWAY_RESTART_STABLE_MS) backoff_ms = GATEWAY_RESTART_BACKOFF_MS_MIN;
    if (stopping(s)) break;
    log_info("event=adapter_restart processor=%s backoff_ms=%lld restarts=%u", a->name,
             (long long)backoff_ms, a->restarts + 1);
    if (!sleep_unless_stopping(s, backoff_ms)) break;
    backoff_ms = min_ms(backoff_ms * 2, GATEWAY_RESTART_BACKOFF_MS_MAX);
    lock(s);
    a->restarts++;
    unlock(s);
  }
  return NULL;
}

/* --- Start and stop ------------------------------------------------------------------- */

static bool name_is_valid(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len >= GATEWAY_ADAPTER_NAME_BYTES_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

static bool copy_text(char *out, size_t size, const char *text) {
  int n = snprintf(out, size, "%s", text != NULL ? text : "");
  return n >= 0 && (size_t)n < size;
}

/* Checks one adapter's options and fills a from them. */
static ccpay_err configure_adapter(supervisor *s, const supervisor_adapter_options *o,
                                   gateway_adapter *a, ccpay_error *error) {
  if (o->name == NULL || !name_is_valid(o->name)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "adapter name \"%s\": 1 to %d of a-z, 0-9 and _",
                           o->name != NULL ? o->name : "", GATEWAY_ADAPTER_NAME_BYTES_MAX - 1);
  }
  for (size_t i = 0; i < s->count; i++) {
    if (strcmp(s->adapters[i].name, o->name) == 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "adapter %s: configured twice",
                             o->name);
    }
  }
  a->owner = s;
  copy_text(a->name, sizeof a->name, o->name);
  if (o->binary == NULL || o->binary[0] == '\0' ||
      !copy_text(a->binary, sizeof a->binary, o->binary) || o->config == NULL ||
      o->config[0] == '\0' || !copy_text(a->config, sizeof a->config, o->config) ||
      !copy_text(a->log_file, sizeof a->log_file, o->log_file)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "adapter %s: binary and config are required paths", o->name);
  }
  a->threads = o->threads;
  int n = snprintf(a->socket_path, sizeof a->socket_path, "%s/%s.sock", s->socket_dir, o->name);
  if (n < 0 || (size_t)n >= sizeof a->socket_path) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "socket_dir: %s/%s.sock is longer than a unix socket path may be (%d "
                           "bytes); choose a shorter directory",
                           s->socket_dir, o->name, GATEWAY_SOCKET_PATH_BYTES_MAX - 1);
  }
  snprintf(a->target, sizeof a->target, "unix:%s", a->socket_path);
  a->state = GATEWAY_ADAPTER_DOWN;
  return CCPAY_OK;
}

/* Creates the socket directory 0700 (an adapter refuses a looser one), or tightens it. */
static ccpay_err make_socket_dir(const char *dir, ccpay_error *error) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "socket_dir: cannot create %s: %s", dir,
                           strerror(errno));
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "socket_dir: %s is not a directory", dir);
  }
  if (st.st_uid != geteuid()) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "socket_dir: %s belongs to another user",
                           dir);
  }
  if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "socket_dir: cannot chmod 700 %s: %s", dir,
                           strerror(errno));
  }
  return CCPAY_OK;
}

static supervisor *supervisor_create(const supervisor_options *o) {
  supervisor *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->start_timeout_ms =
      o->start_timeout_ms > 0 ? o->start_timeout_ms : GATEWAY_START_TIMEOUT_MS_DEFAULT;
  s->call_timeout_ms =
      o->call_timeout_ms > 0 ? o->call_timeout_ms : GATEWAY_CALL_TIMEOUT_MS_DEFAULT;
  s->adapter_log_level = o->adapter_log_level;
  CHECK(pthread_mutex_init(&s->lock, NULL) == 0);
  pthread_condattr_t attributes;
  CHECK(pthread_condattr_init(&attributes) == 0);
  CHECK(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0);
  CHECK(pthread_cond_init(&s->changed, &attributes) == 0);
  CHECK(pthread_condattr_destroy(&attributes) == 0);
  return s;
}

/* Waits until every adapter's first start has ended one way or another (bounded). */
static void wait_first_attempts(supervisor *s) {
  struct timespec until = monotonic_in((int64_t)s->start_timeout_ms + GATEWAY_STOP_TIMEOUT_MS);
  lock(s);
  for (;;) {
    size_t done = 0;
    for (size_t i = 0; i < s->count; i++) done += s->adapters[i].first_attempt_done;
    if (done == s->count) break;
    int rc = pthread_cond_timedwait(&s->changed, &s->lock, &until);
    if (rc == ETIMEDOUT) break;
    CHECK(rc == 0);
  }
  size_t up = 0;
  for (size_t i = 0; i < s->count; i++) up += s->adapters[i].state == GATEWAY_ADAPTER_UP;
  unlock(s);
  log_info("event=gateway_ready adapters=%zu up=%zu socket_dir=%s", s->count, up, s->socket_dir);
}

ccpay_err supervisor_start(const supervisor_options *o, supervisor **out, ccpay_error *error) {
  *out = NULL;
  if (o->adapter_count > GATEWAY_ADAPTERS_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "adapters: at most %d",
                           GATEWAY_ADAPTERS_MAX);
  }
  supervisor *s = supervisor_create(o);
  if (s == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  if (o->adapter_count > 0 &&
      (o->socket_dir == NULL || !copy_text(s->socket_dir, sizeof s->socket_dir, o->socket_dir) ||
       s->socket_dir[0] == '\0')) {
    supervisor_stop(s);
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "socket_dir: required");
  }
  ccpay_err rc = CCPAY_OK;
  for (size_t i = 0; i < o->adapter_count && rc == CCPAY_OK; i++) {
    rc = configure_adapter(s, &o->adapters[i], &s->adapters[i], error);
    if (rc == CCPAY_OK) s->count++;
  }
  if (rc == CCPAY_OK && s->count > 0) rc = make_socket_dir(s->socket_dir, error);
  for (size_t i = 0; i < s->count && rc == CCPAY_OK; i++) {
    gateway_adapter *a = &s->adapters[i];
    if (pthread_create(&a->thread, NULL, adapter_thread, a) != 0) {
      rc = ccpay_error_set(error, CCPAY_ERR_INTERNAL, "cannot start a thread for adapter %s",
                           a->name);
    }
    a->thread_started = rc == CCPAY_OK;
  }
  if (rc != CCPAY_OK) {
    supervisor_stop(s);
    return rc;
  }
  if (s->count > 0) wait_first_attempts(s);
  *out = s;
  return CCPAY_OK;
}

void supervisor_stop(supervisor *s) {
  if (s == NULL) return;
  lock(s);
  s->stopping = true;
  CHECK(pthread_cond_broadcast(&s->changed) == 0);
  unlock(s);
  /* Each thread SIGTERMs its own adapter and reaps it: they stop in parallel. */
  for (size_t i = 0; i < s->count; i++) {
    if (s->adapters[i].thread_started) CHECK(pthread_join(s->adapters[i].thread, NULL) == 0);
  }
  for (size_t i = 0; i < s->count; i++) CHECK(s->adapters[i].published == NULL);
  CHECK(pthread_cond_destroy(&s->changed) == 0);
  CHECK(pthread_mutex_destroy(&s->lock) == 0);
  free(s);
}

gateway_adapter *supervisor_find(supervisor *s, const char *name) {
  if (s == NULL || name == NULL) return NULL;
  for (size_t i = 0; i < s->count; i++) {
    if (strcmp(s->adapters[i].name, name) == 0) return &s->adapters[i];
  }
  return NULL;
}

size_t supervisor_adapter_count(const supervisor *s) { return s != NULL ? s->count : 0; }

gateway_adapter *supervisor_adapter_at(supervisor *s, size_t i) {
  CHECK(s != NULL && i < s->count);
  return &s->adapters[i];
}

size_t supervisor_list(supervisor *s, gateway_adapter_info *out, size_t max) {
  size_t n = 0;
  for (; s != NULL && n < s->count && n < max; n++)
    gateway_adapter_describe(&s->adapters[n], &out[n]);
  return n;
}
