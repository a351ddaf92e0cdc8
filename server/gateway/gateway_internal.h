/* Shared between the files of server/gateway only: the supervisor and adapter structures
 * and the process helpers. */
#ifndef CCPAY_GATEWAY_INTERNAL_H
#define CCPAY_GATEWAY_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gateway.h"
#include "rpc/rpc_client.h"
#include "supervisor.h"

/* A channel to one adapter process, shared by the supervisor thread (which opened it)
 * and the gateway calls in flight: closed when the last of them lets go. refs is
 * guarded by the supervisor's lock. */
typedef struct gateway_channel {
  rpc_channel *channel;
  unsigned refs;
} gateway_channel;

struct gateway_adapter {
  supervisor *owner;
  /* Set by supervisor_start, then read-only. */
  char name[GATEWAY_ADAPTER_NAME_BYTES_MAX];
  char binary[PATH_MAX];
  char config[PATH_MAX];
  char log_file[PATH_MAX]; /* "" for ccpayd's stderr */
  unsigned threads;
  char socket_path[GATEWAY_SOCKET_PATH_BYTES_MAX];
  char target[GATEWAY_SOCKET_PATH_BYTES_MAX + 8]; /* "unix:" + socket_path */
  pthread_t thread;
  bool thread_started;

  /* Guarded by owner->lock. */
  gateway_adapter_state state;
  pid_t pid;
  unsigned restarts;
  gateway_channel *published; /* non-NULL exactly when UP: what calls use */
  bool has_caps;
  gateway_caps caps;
  bool first_attempt_done; /* its first start came up, failed or timed out */
};

struct supervisor {
  gateway_adapter adapters[GATEWAY_ADAPTERS_MAX];
  size_t count;
  char socket_dir[PATH_MAX];
  unsigned start_timeout_ms;
  unsigned call_timeout_ms;
  log_level adapter_log_level;

  pthread_mutex_t lock;
  pthread_cond_t changed; /* on CLOCK_MONOTONIC: stopping, first attempts */
  bool stopping;
};

/* Lets go of one reference to c (taken under the lock); closes it after the last. */
void gateway_channel_release(supervisor *s, gateway_channel *c);

/* --- Processes (process.c) ------------------------------------------------------------ */

/* Starts a's binary as described in supervisor.h. Returns the pid, or 0 with errno_out
 * set when fork or opening the log file failed. Call from a's supervisor thread: the
 * child's death signal is tied to that thread. */
pid_t gateway_process_spawn(const gateway_adapter *a, log_level level, int *errno_out);

/* True when pid has exited (reaped now), with *status_text describing how ("exit:2",
 * "signal:9"). Never blocks. */
bool gateway_process_reaped(pid_t pid, char *status_text, size_t size);

/* SIGTERM, then up to wait_ms for the exit, then SIGKILL; always reaps. */
void gateway_process_terminate(pid_t pid, unsigned wait_ms, char *status_text, size_t size);

#endif
