/* The adapters' supervisor, with the real adapters against the real ccpay-procsim.
 *
 * In this process (server/gateway linked in): adapters come up and answer, an adapter
 * error passes through as a ccpay error naming the processor, a killed adapter makes
 * calls fail fast as ADAPTER_UNAVAILABLE and is restarted with a new pid while the
 * others go on answering, an adapter that never serves or exits at once is retried in
 * the background, and stopping the supervisor leaves no process behind.
 *
 * As ccpayd does it (the real ccpayd, observed through its log and pids): adapters come
 * up, kill -9 of one is survived and repaired, SIGTERM of ccpayd stops them all, SIGKILL
 * of ccpayd takes them with it, and bad adapter settings stop start-up with exit 2 and a
 * message naming the setting. Every wait is bounded; only processes started here (and
 * their adapters) are signalled. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "ccpay/gateway/v1/gateway.pb-c.h"
#include "ccpayd_fixture.h"
#include "gateway/supervisor.h"
#include "grpc/health/v1/health.pb-c.h"
#include "procsim_process.h"
#include "test_client.h"

#ifndef CCPAY_ADAPTER_DIR
#error "CCPAY_ADAPTER_DIR must name the directory of the adapter binaries (CMake sets it)"
#endif

enum {
  PROCESSOR_COUNT = 3,
  UP_TIMEOUT_MS = 15000,
  STATE_TIMEOUT_MS = 5000,
  GONE_TIMEOUT_MS = 5000,
  FAIL_FAST_MS_MAX = 300, /* an unavailable adapter's call: far below the deadline */
  CALL_TIMEOUT_MS = 5000,
  POLL_MS = 5,
  TEXT_BYTES_MAX = 2048,
  OUTPUT_BYTES_MAX = 8192,
  CONFIG_EXIT_TIMEOUT_MS = 10000,
};

static const char *const processors[PROCESSOR_COUNT] = {"stripe", "adyen", "authorizenet"};

/* What every test here starts from: procsim (when needed) and a directory (a
 * ccpayd_process, started only by the tests that run ccpayd). */
typedef struct world {
  procsim_process procsim;
  bool has_procsim;
  ccpayd_process server;
  bool passed;
} world;

/* snprintf that fails the test on truncation. */
static void textf(char *out, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void textf(char *out, size_t size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int n = vsnprintf(out, size, format, args);
  va_end(args);
  if (n < 0 || (size_t)n >= size) fail_msg("text too long for its buffer: %s", format);
}

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

static int64_t now_ms(void) { return clock_mono_us() / 1000; }

static bool write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  size_t len = strlen(text);
  bool ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0;
  return close(fd) == 0 && ok;
}

static void path_in(const world *w, const char *name, char *out) {
  textf(out, PATH_MAX, "%s/%s", w->server.dir, name);
}

static void adapter_binary(const char *processor, char *out) {
  textf(out, PATH_MAX, "%s/ccpay-adapter-%s", CCPAY_ADAPTER_DIR, processor);
}

/* processor's adapter config (procsim's credentials, per docs/PROCSIM.md), mode 0600
 * unless mode says otherwise; its path in out. */
static void write_adapter_config(const world *w, const char *processor, mode_t mode, char *out) {
  char text[1024];
  int port = w->procsim.port;
  const char *ca = w->procsim.ca_file;
  if (strcmp(processor, "stripe") == 0) {
    textf(text, sizeof text,
          "[processor]\nbase_url = https://127.0.0.1:%d\nca_file = %s\n"
          "secret_key = sk_test_procsim\n",
          port, ca);
  } else if (strcmp(processor, "adyen") == 0) {
    textf(text, sizeof text,
          "[processor]\nbase_url = https://127.0.0.1:%d/v71\nca_file = %s\n"
          "api_key = procsim_adyen_key\nmerchant_account = CcpayProcsim\n"
          "pal_base_url = https://127.0.0.1:%d\n",
          port, ca, port);
  } else {
    textf(text, sizeof text,
          "[processor]\nbase_url = https://127.0.0.1:%d/xml/v1/request.api\nca_file = %s\n"
          "api_login_id = procsim_login\ntransaction_key = procsim_transaction_key\n",
          port, ca);
  }
  char name[64];
  textf(name, sizeof name, "%s.ini", processor);
  path_in(w, name, out);
  assert_true(write_file(out, text, mode));
}

static int world_setup(void **state, bool with_procsim) {
  world *w = calloc(1, sizeof *w);
  if (w == NULL) return -1;
  if (!ccpayd_init(&w->server)) {
    free(w);
    return -1;
  }
  if (with_procsim) {
    if (!procsim_start(&w->procsim, NULL)) {
      ccpayd_destroy(&w->server);
      free(w);
      return -1;
    }
    w->has_procsim = true;
  }
  *state = w;
  return 0;
}

static int setup_with_procsim(void **state) { return world_setup(state, true); }
static int setup_without_procsim(void **state) { return world_setup(state, false); }

static int world_teardown(void **state) {
  world *w = *state;
  if (w == NULL) return 0;
  bool clean = ccpayd_finish(&w->server, w->passed);
  if (w->has_procsim) {
    int status = procsim_stop(&w->procsim, PROCSIM_STOP_TIMEOUT_MS);
    if (status != 0 || !w->passed) procsim_print_log(&w->procsim, "supervisor test");
    clean = clean && status == 0;
    procsim_destroy(&w->procsim);
  }
  free(w);
  *state = NULL;
  return clean ? 0 : -1;
}

/* True when pid is no longer a live process (gone, or a zombie nobody reaped yet). */
static bool process_gone(pid_t pid) {
  char path[64], text[512];
  textf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return true;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  const char *close_paren = strrchr(text, ')');
  return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static bool wait_gone(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += POLL_MS) {
    if (process_gone(pid)) return true;
    sleep_ms(POLL_MS);
  }
  return false;
}

/* --- In process ----------------------------------------------------------------------- */

static gateway_adapter_info describe(supervisor *s, const char *name) {
  gateway_adapter *a = supervisor_find(s, name);
  assert_non_null(a);
  gateway_adapter_info info;
  gateway_adapter_describe(a, &info);
  return info;
}

/* Waits until name's adapter is in state (and, when not 0, with a pid other than
 * not_pid); returns its snapshot then, fails the test on timeout. */
static gateway_adapter_info wait_state(supervisor *s, const char *name, gateway_adapter_state state,
                                       pid_t not_pid, int timeout_ms) {
  int64_t until_ms = now_ms() + timeout_ms;
  for (;;) {
    gateway_adapter_info info = describe(s, name);
    if (info.state == state && (not_pid == 0 || info.pid != not_pid)) return info;
    if (now_ms() > until_ms) {
      fail_msg("adapter %s: state %s pid %d after %d ms; expected %s", name,
               gateway_adapter_state_name(info.state), (int)info.pid, timeout_ms,
               gateway_adapter_state_name(state));
    }
    sleep_ms(POLL_MS);
  }
}

typedef struct call_outcome {
  ccpay_err code;
  ccpay_error error;
  ProtobufCMessage *reply;
  int64_t elapsed_ms;
} call_outcome;

static call_outcome call(supervisor *s, const char *name, const char *method,
                         const ProtobufCMessage *request,
                         const ProtobufCMessageDescriptor *reply_descriptor, arena *a) {
  call_outcome out = {0};
  int64_t start_ms = now_ms();
  out.code = gateway_call(supervisor_find(s, name), method, request, reply_descriptor,
                          CALL_TIMEOUT_MS, a, &out.reply, &out.error);
  out.elapsed_ms = now_ms() - start_ms;
  return out;
}

static call_outcome get_capabilities(supervisor *s, const char *name, arena *a) {
  Ccpay__Gateway__V1__GetCapabilitiesRequest request =
      CCPAY__GATEWAY__V1__GET_CAPABILITIES_REQUEST__INIT;
  return call(s, name, GATEWAY_RPC_GET_CAPABILITIES, &request.base,
              &ccpay__gateway__v1__capabilities__descriptor, a);
}

static supervisor *start_three(world *w, supervisor_adapter_options *adapters,
                               char paths[][3][PATH_MAX]) {
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    write_adapter_config(w, processors[i], 0600, paths[i][0]);
    adapter_binary(processors[i], paths[i][1]);
    char name[64];
    textf(name, sizeof name, "%s.log", processors[i]);
    path_in(w, name, paths[i][2]);
    adapters[i] = (supervisor_adapter_options){.name = processors[i],
                                               .binary = paths[i][1],
                                               .config = paths[i][0],
                                               .log_file = paths[i][2],
                                               .threads = 2};
  }
  char socket_dir[PATH_MAX];
  path_in(w, "sockets", socket_dir);
  supervisor_options options = {.socket_dir = socket_dir,
                                .adapters = adapters,
                                .adapter_count = PROCESSOR_COUNT,
                                .start_timeout_ms = UP_TIMEOUT_MS,
                                .call_timeout_ms = CALL_TIMEOUT_MS,
                                .adapter_log_level = LOG_WARN};
  supervisor *s = NULL;
  ccpay_error error;
  if (supervisor_start(&options, &s, &error) != CCPAY_OK)
    fail_msg("supervisor_start: %s", error.message);
  struct stat st;
  assert_int_equal(stat(socket_dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  /* Each adapter's socket: 0600 in that 0700 directory. */
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    char socket_path[PATH_MAX + 64];
    snprintf(socket_path, sizeof socket_path, "%s/%s.sock", socket_dir, processors[i]);
    assert_int_equal(stat(socket_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
  }
  return s;
}

/* Adapters up, answering; an adapter's own error passes through; kill -9 → fast
 * ADAPTER_UNAVAILABLE, restart with a new pid, the others unaffected; stop → no process
 * left and no socket. */
static void test_supervisor_in_process(void **state) {
  world *w = *state;
  supervisor_adapter_options adapters[PROCESSOR_COUNT];
  char paths[PROCESSOR_COUNT][3][PATH_MAX];
  supervisor *s = start_three(w, adapters, paths);
  arena *a = arena_create(1 << 20);
  assert_non_null(a);

  gateway_adapter_info list[GATEWAY_ADAPTERS_MAX];
  assert_int_equal(supervisor_list(s, list, GATEWAY_ADAPTERS_MAX), PROCESSOR_COUNT);
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    assert_string_equal(list[i].name, processors[i]);
    assert_int_equal(list[i].state, GATEWAY_ADAPTER_UP);
    assert_true(list[i].pid > 0);
    assert_int_equal(list[i].restarts, 0);
    gateway_caps caps;
    assert_true(gateway_capabilities(supervisor_find(s, processors[i]), &caps));
    assert_string_equal(caps.processor, processors[i]);
    assert_true(caps.currency_count > 0);
    call_outcome c = get_capabilities(s, processors[i], a);
    if (c.code != CCPAY_OK) fail_msg("%s GetCapabilities: %s", processors[i], c.error.message);
    assert_string_equal(((Ccpay__Gateway__V1__Capabilities *)c.reply)->processor, processors[i]);
  }
  assert_null(supervisor_find(s, "nonesuch"));

  /* The adapter refuses a request without a key: its error, with its message, and the
   * processor named; not an unknown outcome. */
  Ccpay__Gateway__V1__AuthorizeRequest empty = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  call_outcome refused = call(s, "stripe", GATEWAY_RPC_AUTHORIZE, &empty.base,
                              &ccpay__gateway__v1__operation_result__descriptor, a);
  if (refused.code != CCPAY_ERR_FIELD_REQUIRED && refused.code != CCPAY_ERR_FIELD_INVALID) {
    fail_msg("empty Authorize: %s (%s)", ccpay_err_reason(refused.code), refused.error.message);
  }
  assert_non_null(strstr(refused.error.message, "stripe adapter: "));
  assert_non_null(strstr(refused.error.message, "idempotency_key"));

  /* kill -9: calls fail fast, nothing sent; the others answer; it comes back. */
  pid_t old_pid = list[0].pid;
  assert_int_equal(kill(old_pid, SIGKILL), 0);
  wait_state(s, "stripe", GATEWAY_ADAPTER_DOWN, 0, STATE_TIMEOUT_MS);
  call_outcome down = get_capabilities(s, "stripe", a);
  assert_int_equal(down.code, CCPAY_ERR_ADAPTER_UNAVAILABLE);
  assert_true(down.elapsed_ms < FAIL_FAST_MS_MAX);
  assert_non_null(strstr(down.error.message, "stripe"));
  assert_null(down.reply);
  assert_int_equal(get_capabilities(s, "adyen", a).code, CCPAY_OK);

  gateway_adapter_info back = wait_state(s, "stripe", GATEWAY_ADAPTER_UP, old_pid, UP_TIMEOUT_MS);
  assert_true(back.pid > 0);
  assert_int_equal(back.restarts, 1);
  assert_int_equal(get_capabilities(s, "stripe", a).code, CCPAY_OK);
  assert_int_equal(describe(s, "adyen").restarts, 0);

  pid_t pids[PROCESSOR_COUNT];
  supervisor_list(s, list, GATEWAY_ADAPTERS_MAX);
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) pids[i] = list[i].pid;
  int64_t stop_start_ms = now_ms();
  supervisor_stop(s);
  assert_true(now_ms() - stop_start_ms < GATEWAY_STOP_TIMEOUT_MS + 2000);
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    assert_true(process_gone(pids[i]));
    char socket_path[PATH_MAX];
    textf(socket_path, sizeof socket_path, "%s/sockets/%s.sock", w->server.dir, processors[i]);
    assert_int_equal(access(socket_path, F_OK), -1);
  }
  arena_destroy(a);
  w->passed = true;
}

/* An adapter that never serves is killed at the start timeout and retried; one that
 * exits at once (it refuses a config others may read) is retried with back-off; both
 * fail calls fast; start-up and stop stay bounded. */
static void test_supervisor_adapters_that_never_come_up(void **state) {
  world *w = *state;
  char sleeper[PATH_MAX], config[PATH_MAX], loose[PATH_MAX], socket_dir[PATH_MAX];
  path_in(w, "sleeper.sh", sleeper);
  assert_true(write_file(sleeper, "#!/bin/sh\nexec sleep 30\n", 0700));
  path_in(w, "quiet.ini", config);
  assert_true(write_file(config, "[processor]\n", 0600));
  path_in(w, "loose.ini", loose);
  assert_true(write_file(loose, "[processor]\nsecret_key = x\n", 0644));
  path_in(w, "s", socket_dir);
  char stripe_binary[PATH_MAX], log_file[PATH_MAX];
  adapter_binary("stripe", stripe_binary);
  path_in(w, "adapters.log", log_file);
  supervisor_adapter_options adapters[] = {
      {.name = "sleepy", .binary = sleeper, .config = config, .log_file = log_file},
      {.name = "stripe", .binary = stripe_binary, .config = loose, .log_file = log_file},
  };
  enum { START_TIMEOUT_MS = 300 };
  supervisor_options options = {.socket_dir = socket_dir,
                                .adapters = adapters,
                                .adapter_count = 2,
                                .start_timeout_ms = START_TIMEOUT_MS,
                                .adapter_log_level = LOG_WARN};
  supervisor *s = NULL;
  ccpay_error error;
  int64_t start_ms = now_ms();
  assert_int_equal(supervisor_start(&options, &s, &error), CCPAY_OK);
  assert_true(now_ms() - start_ms < START_TIMEOUT_MS + 3000);

  arena *a = arena_create(1 << 16);
  for (size_t i = 0; i < 2; i++) {
    call_outcome c = get_capabilities(s, adapters[i].name, a);
    assert_int_equal(c.code, CCPAY_ERR_ADAPTER_UNAVAILABLE);
    assert_true(c.elapsed_ms < FAIL_FAST_MS_MAX);
    gateway_caps caps;
    assert_false(gateway_capabilities(supervisor_find(s, adapters[i].name), &caps));
  }
  /* Retried in the background. */
  for (size_t i = 0; i < 2; i++) {
    int64_t until_ms = now_ms() + STATE_TIMEOUT_MS;
    while (describe(s, adapters[i].name).restarts < 2 && now_ms() < until_ms) sleep_ms(POLL_MS);
    assert_true(describe(s, adapters[i].name).restarts >= 2);
    assert_int_not_equal(describe(s, adapters[i].name).state, GATEWAY_ADAPTER_UP);
  }
  int64_t stop_start_ms = now_ms();
  supervisor_stop(s);
  assert_true(now_ms() - stop_start_ms < GATEWAY_STOP_TIMEOUT_MS + 2000);
  arena_destroy(a);
  w->passed = true;
}

static void test_supervisor_rejects_bad_options(void **state) {
  world *w = *state;
  char dir[PATH_MAX];
  path_in(w, "s", dir);
  supervisor_adapter_options bad_name = {.name = "Stripe!", .binary = "/bin/true", .config = "x"};
  supervisor_adapter_options twice[] = {{.name = "a", .binary = "/bin/true", .config = "x"},
                                        {.name = "a", .binary = "/bin/true", .config = "x"}};
  char long_dir[200];
  memset(long_dir, 'd', sizeof long_dir - 1);
  long_dir[0] = '/';
  long_dir[sizeof long_dir - 1] = '\0';
  supervisor_adapter_options one = {.name = "stripe", .binary = "/bin/true", .config = "x"};
  struct {
    const char *socket_dir;
    const supervisor_adapter_options *adapters;
    size_t count;
    const char *text;
  } cases[] = {
      {dir, &bad_name, 1, "Stripe!"},
      {dir, twice, 2, "twice"},
      {long_dir, &one, 1, "socket_dir"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    supervisor_options options = {.socket_dir = cases[i].socket_dir,
                                  .adapters = cases[i].adapters,
                                  .adapter_count = cases[i].count};
    supervisor *s = NULL;
    ccpay_error error;
    assert_int_equal(supervisor_start(&options, &s, &error), CCPAY_ERR_FIELD_INVALID);
    assert_null(s);
    if (strstr(error.message, cases[i].text) == NULL) fail_msg("case %zu: %s", i, error.message);
  }
  /* No adapters: a valid, empty supervisor. */
  supervisor_options none = {0};
  supervisor *s = NULL;
  ccpay_error error;
  assert_int_equal(supervisor_start(&none, &s, &error), CCPAY_OK);
  assert_int_equal(supervisor_adapter_count(s), 0);
  assert_null(supervisor_find(s, "stripe"));
  supervisor_stop(s);
  w->passed = true;
}

/* --- The real ccpayd ------------------------------------------------------------------ */

static void adapter_log_path(const world *w, const char *processor, char *out) {
  char name[64];
  textf(name, sizeof name, "adapter-%s.log", processor);
  path_in(w, name, out);
}

/* Fails the test when an adapter's own log (its stdout and stderr) holds a sanitizer
 * report: a bug in that adapter, which the message names. */
static void assert_adapter_logs_clean(const world *w) {
  static const char *const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer"};
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    char path[PATH_MAX];
    adapter_log_path(w, processors[i], path);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t m = 0; m < sizeof markers / sizeof markers[0]; m++) {
      if (strstr(text, markers[m]) != NULL) {
        fprintf(stderr, "---- %s ----\n%s\n---- end ----\n", path, text);
        fail_msg("the %s adapter's own log holds a sanitizer report (%s)", processors[i], path);
      }
    }
  }
}

/* ccpayd's INI with the three adapters (and extra text at the end); its path in out. */
static void write_ccpayd_config(const world *w, const char *extra, char *out) {
  char text[TEXT_BYTES_MAX] = "[gateway]\nadapter_start_timeout_ms = 15000\n";
  size_t used = strlen(text);
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    char config[PATH_MAX], binary[PATH_MAX], log_file[PATH_MAX];
    write_adapter_config(w, processors[i], 0600, config);
    adapter_binary(processors[i], binary);
    adapter_log_path(w, processors[i], log_file);
    textf(text + used, sizeof text - used,
          "[adapter.%s]\nbinary = %s\nconfig = %s\nlog_file = %s\nthreads = 2\n", processors[i],
          binary, config, log_file);
    used = strlen(text);
  }
  textf(text + used, sizeof text - used, "%s", extra != NULL ? extra : "");
  path_in(w, "ccpayd.ini", out);
  assert_true(write_file(out, text, 0600));
}

static void start_ccpayd_with_adapters(world *w, pid_t *pids) {
  char config[PATH_MAX];
  write_ccpayd_config(w, NULL, config);
  const char *args[] = {"--config", config, NULL};
  assert_true(ccpayd_start(&w->server, args));
  /* ccpayd writes its port file after the adapters' first start: they are up by now. */
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    pids[i] = ccpayd_adapter_pid(&w->server, processors[i]);
    if (pids[i] <= 0) {
      ccpayd_print_log(&w->server, "adapter not up");
      fail_msg("adapter %s did not come up before ccpayd served", processors[i]);
    }
  }
  assert_true(ccpayd_log_contains(&w->server, "event=gateway_ready adapters=3 up=3"));
}

static void assert_ccpayd_serves(const world *w) {
  test_client *client = test_client_create(w->server.port);
  Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  test_reply r;
  test_client_call(client, "/grpc.health.v1.Health/Check", &request.base,
                   &grpc__health__v1__health_check_response__descriptor, 0, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  test_client_destroy(client);
}

/* kill -9 of an adapter: ccpayd stays up and restarts it; SIGTERM of ccpayd stops them
 * all (no orphans). */
static void test_ccpayd_restarts_adapters_and_stops_them(void **state) {
  world *w = *state;
  pid_t pids[PROCESSOR_COUNT];
  start_ccpayd_with_adapters(w, pids);
  assert_ccpayd_serves(w);

  assert_int_equal(kill(pids[0], SIGKILL), 0);
  int64_t until_ms = now_ms() + UP_TIMEOUT_MS;
  while (ccpayd_adapter_up_count(&w->server, "stripe") < 2 && now_ms() < until_ms) {
    sleep_ms(POLL_MS);
  }
  assert_int_equal(ccpayd_adapter_up_count(&w->server, "stripe"), 2);
  pid_t restarted = ccpayd_adapter_pid(&w->server, "stripe");
  assert_true(restarted > 0 && restarted != pids[0]);
  assert_true(ccpayd_log_contains(&w->server, "event=adapter_exited processor=stripe"));
  assert_true(ccpayd_log_contains(&w->server, "status=signal:9"));
  assert_false(process_gone(w->server.pid));
  assert_ccpayd_serves(w);
  pids[0] = restarted;

  assert_int_equal(ccpayd_stop(&w->server, CCPAYD_STOP_TIMEOUT_MS), 0);
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    if (!wait_gone(pids[i], GONE_TIMEOUT_MS)) fail_msg("adapter %s outlived ccpayd", processors[i]);
    char text[128];
    textf(text, sizeof text, "event=adapter_stopped processor=%s ", processors[i]);
    assert_true(ccpayd_log_contains(&w->server, text));
  }
  assert_adapter_logs_clean(w);
  w->passed = true;
}

/* SIGKILL of ccpayd: its adapters die with it. */
static void test_ccpayd_killed_takes_adapters_with_it(void **state) {
  world *w = *state;
  pid_t pids[PROCESSOR_COUNT];
  start_ccpayd_with_adapters(w, pids);
  ccpayd_kill(&w->server);
  for (size_t i = 0; i < PROCESSOR_COUNT; i++) {
    if (!wait_gone(pids[i], GONE_TIMEOUT_MS)) {
      kill(pids[i], SIGKILL); /* ours, through ccpayd: leave nothing behind */
      fail_msg("adapter %s outlived a killed ccpayd", processors[i]);
    }
  }
  w->passed = true;
}

/* Bad adapter settings: exit 2 naming the setting, before anything starts. */
static void test_ccpayd_refuses_bad_adapter_settings(void **state) {
  world *w = *state;
  char good[PATH_MAX], loose[PATH_MAX], not_executable[PATH_MAX];
  path_in(w, "good.ini", good);
  assert_true(write_file(good, "[processor]\n", 0600));
  path_in(w, "loose.ini", loose);
  assert_true(write_file(loose, "[processor]\n", 0644));
  path_in(w, "plain.txt", not_executable);
  assert_true(write_file(not_executable, "x\n", 0600));
  char text[4][TEXT_BYTES_MAX];
  textf(text[0], TEXT_BYTES_MAX, "[adapter.stripe]\nconfig = %s\n", loose);
  textf(text[1], TEXT_BYTES_MAX, "[adapter.stripe]\nthreads = 2\n");
  textf(text[2], TEXT_BYTES_MAX, "[adapter.stripe]\nconfig = %s\nbinary = %s\n", good,
        not_executable);
  textf(text[3], TEXT_BYTES_MAX, "[gateway]\nsocket_dir = /%0150d\n[adapter.stripe]\nconfig = %s\n",
        0, good);
  struct {
    const char *ini;
    const char *expected;
  } cases[] = {
      {text[0], "[adapter.stripe] config: "},
      {text[1], "[adapter.stripe] config: required"},
      {text[2], "[adapter.stripe] binary: "},
      {text[3], "[gateway] socket_dir: "},
      {"[adapter.stripe]\ncolour = blue\n", "[adapter.stripe] colour: unknown setting"},
      {"[adapter.Stripe]\nconfig = x\n", "[adapter.Stripe] config: the adapter name"},
      {"[adapter.stripe]\nthreads = 0\n", "[adapter.stripe] threads: \"0\""},
      {"[gateway]\ncall_timeout_ms = 0\n", "[gateway] call_timeout_ms: \"0\""},
      {"[gateway]\nadapter_start_timeout_ms = x\n", "[gateway] adapter_start_timeout_ms"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char config[PATH_MAX];
    path_in(w, "bad.ini", config);
    assert_true(write_file(config, cases[i].ini, 0600));
    const char *args[] = {"--config",    config,       "--listen",         "127.0.0.1:0",
                          "--plaintext", "--data-dir", w->server.data_dir, NULL};
    char output[OUTPUT_BYTES_MAX];
    int status = ccpayd_run(&w->server, args, CONFIG_EXIT_TIMEOUT_MS, output, sizeof output);
    if (status != 2 || strstr(output, cases[i].expected) == NULL) {
      fail_msg("case %zu: exit %d, output \"%s\"; expected 2 and \"%s\"", i, status, output,
               cases[i].expected);
    }
  }
  const char *flag_args[] = {
      "--adapter-call-timeout-ms", "5", "--listen", "127.0.0.1:0", "--plaintext", NULL};
  char output[OUTPUT_BYTES_MAX];
  assert_int_equal(ccpayd_run(&w->server, flag_args, CONFIG_EXIT_TIMEOUT_MS, output, sizeof output),
                   2);
  assert_non_null(strstr(output, "--adapter-call-timeout-ms: \"5\""));
  w->passed = true;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_supervisor_in_process, setup_with_procsim,
                                      world_teardown),
      cmocka_unit_test_setup_teardown(test_supervisor_adapters_that_never_come_up,
                                      setup_without_procsim, world_teardown),
      cmocka_unit_test_setup_teardown(test_supervisor_rejects_bad_options, setup_without_procsim,
                                      world_teardown),
      cmocka_unit_test_setup_teardown(test_ccpayd_restarts_adapters_and_stops_them,
                                      setup_with_procsim, world_teardown),
      cmocka_unit_test_setup_teardown(test_ccpayd_killed_takes_adapters_with_it, setup_with_procsim,
                                      world_teardown),
      cmocka_unit_test_setup_teardown(test_ccpayd_refuses_bad_adapter_settings,
                                      setup_without_procsim, world_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
