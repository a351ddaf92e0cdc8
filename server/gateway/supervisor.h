/* ccpayd's supervisor of its gateway adapters: one child process per configured
 * processor, each serving ccpay.gateway.v1.Gateway and grpc.health.v1 on a unix socket
 * in a 0700 directory that ccpayd owns.
 *
 * For each adapter a supervisor thread
 *   - removes a stale socket, then starts BINARY --config CONFIG --socket DIR/NAME.sock
 *     [--threads N] --log-level LEVEL, with stdin from /dev/null, stdout and stderr to
 *     ccpayd's stderr or to the adapter's log file (appended), no other descriptor of
 *     ccpayd, no blocked or ignored signals, and SIGKILL should ccpayd die;
 *   - waits until grpc.health.v1.Health/Check answers SERVING and GetCapabilities
 *     succeeds (then the adapter is UP, its capabilities cached), at most the start
 *     timeout; an adapter that does not come up in time is killed and started again;
 *   - while it runs, polls waitpid (every GATEWAY_POLL_MS; no SIGCHLD handler, so
 *     ccpayd's sigwait on SIGTERM/SIGINT is untouched) and health-checks it every
 *     GATEWAY_HEALTH_INTERVAL_MS; one that cannot be reached GATEWAY_HEALTH_FAILURES_MAX
 *     times in a row is killed and started again;
 *   - restarts an adapter that exited, after a back-off doubling from
 *     GATEWAY_RESTART_BACKOFF_MS_MIN to _MAX, reset once it stayed up
 *     GATEWAY_RESTART_STABLE_MS.
 * Each event is one log line: event=adapter_started|adapter_up|adapter_exited|
 * adapter_unhealthy|adapter_start_timeout|adapter_restart|adapter_stopped, with
 * processor=NAME pid=PID (and restarts=, status=, backoff_ms= where they apply).
 *
 * Threads: start the supervisor from the main thread after blocking SIGINT/SIGTERM (its
 * threads inherit the mask). supervisor_find and everything in gateway.h are
 * thread-safe. A crashed adapter never takes ccpayd down: ccpayd ignores SIGPIPE
 * (main.c), and a lost connection ends a call with an error. */
#ifndef CCPAY_GATEWAY_SUPERVISOR_H
#define CCPAY_GATEWAY_SUPERVISOR_H

#include <stddef.h>

#include "base/error.h"
#include "base/log.h"
#include "gateway.h"

typedef struct supervisor supervisor;

/* One adapter to run. The strings are copied by supervisor_start. */
typedef struct supervisor_adapter_options {
  const char *name;     /* the processor: [a-z0-9_], 1..GATEWAY_ADAPTER_NAME_BYTES_MAX-1 */
  const char *binary;   /* the adapter's executable */
  const char *config;   /* its INI file (the adapter refuses one others may read) */
  const char *log_file; /* where its stdout and stderr go (appended); NULL: ccpayd's stderr */
  unsigned threads;     /* --threads; 0: the adapter's default */
} supervisor_adapter_options;

typedef struct supervisor_options {
  /* Where the sockets go (NAME.sock). Created 0700 if missing; made 0700 if looser. An
   * absolute path keeps working if ccpayd's working directory changes; every socket
   * path must fit GATEWAY_SOCKET_PATH_BYTES_MAX. */
  const char *socket_dir;
  const supervisor_adapter_options *adapters;
  size_t adapter_count;        /* 0..GATEWAY_ADAPTERS_MAX; 0 is a valid, empty supervisor */
  unsigned start_timeout_ms;   /* per start attempt; 0: GATEWAY_START_TIMEOUT_MS_DEFAULT */
  unsigned call_timeout_ms;    /* gateway_call's default; 0: GATEWAY_CALL_TIMEOUT_MS_DEFAULT */
  log_level adapter_log_level; /* passed as --log-level */
} supervisor_options;

/* Starts every adapter and waits until each is UP or its first start timed out (at most
 * start_timeout_ms in all, the adapters starting in parallel). Adapters that did not
 * come up are logged and retried in the background: the supervisor is returned all the
 * same. Errors (nothing left running): CCPAY_ERR_FIELD_INVALID for options (message
 * names the setting: a bad name, a socket path too long, a duplicate), CCPAY_ERR_INTERNAL
 * when the socket directory cannot be made private or a thread cannot start. */
ccpay_err supervisor_start(const supervisor_options *options, supervisor **out, ccpay_error *error);

/* SIGTERMs every adapter, waits up to GATEWAY_STOP_TIMEOUT_MS for them (in parallel),
 * SIGKILLs the rest, reaps them, removes their sockets, joins the threads and frees
 * everything. No gateway_call may be in flight or start after. NULL is allowed. */
void supervisor_stop(supervisor *s);

/* The adapter named name ("stripe"), whatever its state; NULL when none is configured. */
gateway_adapter *supervisor_find(supervisor *s, const char *name);

/* The number of adapters, and adapter i of them (0 <= i < count), in configuration
 * order. */
size_t supervisor_adapter_count(const supervisor *s);
gateway_adapter *supervisor_adapter_at(supervisor *s, size_t i);

/* Snapshots of every adapter (at most max, in configuration order) into out; returns how
 * many were written. */
size_t supervisor_list(supervisor *s, gateway_adapter_info *out, size_t max);

#endif
