/* The real ccpay-procsim as a child process of a test, on 127.0.0.1 with an ephemeral
 * port.
 *
 * Each procsim_process owns a fresh directory from mkdtemp under /tmp holding procsim's
 * --dir (so ca.pem lands there), the port file and procsim.log (its stdout and stderr).
 * Only the pid this module started is ever signalled; the child gets SIGKILL if the
 * thread that started it dies, so start it from the main thread. Every wait is bounded.
 * Not thread-safe: one thread drives one process. */
#ifndef CCPAY_TESTS_SUPPORT_PROCSIM_PROCESS_H
#define CCPAY_TESTS_SUPPORT_PROCSIM_PROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

enum {
  PROCSIM_START_TIMEOUT_MS = 10000, /* for the port file to appear */
  PROCSIM_STOP_TIMEOUT_MS = 10000,
  PROCSIM_ARGS_MAX = 32,
};

/* Exit statuses: 0..255 an exit code, 128 + n a signal n, and these. */
enum { PROCSIM_EXIT_TIMEOUT = -1, PROCSIM_EXIT_ERROR = -2 };

typedef struct procsim_process {
  pid_t pid; /* 0 when not running */
  int port;  /* once started */
  char dir[PATH_MAX];
  char ca_file[PATH_MAX];
  char port_file[PATH_MAX];
  char log_path[PATH_MAX];
} procsim_process;

/* Makes the directory and starts procsim with --listen 127.0.0.1:0, --dir, --port-file
 * and extra_args (NULL-terminated, may be NULL); waits for the port file. On failure
 * prints the log, cleans up and returns false. */
bool procsim_start(procsim_process *p, const char *const *extra_args);

/* SIGTERM, then waits up to timeout_ms (then SIGKILL and PROCSIM_EXIT_TIMEOUT). */
int procsim_stop(procsim_process *p, int timeout_ms);

/* True when procsim.log holds text / an ASan, UBSan or LSan report. */
bool procsim_log_contains(const procsim_process *p, const char *text);
bool procsim_log_has_sanitizer_report(const procsim_process *p);

void procsim_print_log(const procsim_process *p, const char *why);

/* Kills the process if it still runs and removes the directory. */
void procsim_destroy(procsim_process *p);

/* Runs procsim with exactly args (NULL-terminated) in a fresh temporary directory to
 * its exit, at most timeout_ms; returns the exit status. For bad command lines. */
int procsim_run(const char *const *args, int timeout_ms);

/* The ccpay-procsim binary under test (from CMake). */
const char *procsim_path(void);

#endif
