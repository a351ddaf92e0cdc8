/* The real ccpayd as a child process of a test, on 127.0.0.1 with an ephemeral port.
 *
 * Each ccpayd_process owns a fresh directory from mkdtemp under /tmp holding the data
 * directory, the port file and ccpayd.log (ccpayd's stdout and stderr, appended across
 * restarts, so sanitizer reports are never lost). Only the pid this module started is
 * ever signalled. The child gets SIGKILL if the thread that started it dies, so a
 * crashed or timed-out test leaves no server behind: start it from the main thread.
 * Every wait is bounded. Not thread-safe: one thread drives one process. */
#ifndef CCPAY_TESTS_SUPPORT_CCPAYD_PROCESS_H
#define CCPAY_TESTS_SUPPORT_CCPAYD_PROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
  CCPAYD_START_TIMEOUT_MS = 10000, /* for the port file to appear */
  CCPAYD_STOP_TIMEOUT_MS = 15000,  /* graceful stop: > the server's 5 s drain */
  CCPAYD_ARGS_MAX = 32,
};

/* Exit status values of ccpayd_stop and ccpayd_run: 0..255 an exit code, 128 + n a
 * signal n, and these. */
enum { CCPAYD_EXIT_TIMEOUT = -1, CCPAYD_EXIT_ERROR = -2 };

enum { CCPAYD_TOKEN_BYTES_MAX = 128 };

typedef struct ccpayd_process {
  pid_t pid; /* 0 when not running */
  int port;  /* the bound port, once started */
  /* An admin token made offline (`ccpay-admin token create`) before the first start, so
   * every server under test has one; the fixtures' clients send it. */
  char admin_token[CCPAYD_TOKEN_BYTES_MAX];
  char dir[PATH_MAX];
  char data_dir[PATH_MAX];
  char port_file[PATH_MAX];
  char log_path[PATH_MAX];
} ccpayd_process;

/* Makes the temporary directory; the process is not started. */
bool ccpayd_init(ccpayd_process *p);

/* Starts ccpayd with --listen 127.0.0.1:0 --plaintext, the data dir and port file, plus
 * extra_args (NULL-terminated, may be NULL), and waits for the port file. Before the
 * first start it creates p->admin_token (role admin, agent "test-admin"). On failure the
 * child is killed, its log printed, and false returned. Also restarts on the same data
 * directory after a stop or kill. */
bool ccpayd_start(ccpayd_process *p, const char *const *extra_args);

/* Creates a token of role for agent_id in p's data directory with the real
 * `ccpay-admin token create` (works whether or not the server runs), expiring after
 * expires ("90d", "2s"; NULL for the default), and copies it into out. False (with the
 * tool's output on stderr) when it fails. */
bool ccpayd_token_create(const ccpayd_process *p, const char *role, const char *agent_id,
                         const char *expires, char *out, size_t size);

/* SIGTERM, then waits up to timeout_ms for the exit; on timeout SIGKILL and
 * CCPAYD_EXIT_TIMEOUT. Returns the exit status (see above). */
int ccpayd_stop(ccpayd_process *p, int timeout_ms);

/* SIGKILL and reap: a crash, with nothing flushed or closed. */
void ccpayd_kill(ccpayd_process *p);

/* Writes ccpayd.log to stderr under a header naming why. */
void ccpayd_print_log(const ccpayd_process *p, const char *why);

/* True when ccpayd.log holds an ASan/UBSan/LSan/TSan report. */
bool ccpayd_log_has_sanitizer_report(const ccpayd_process *p);

/* True when ccpayd.log contains text. */
bool ccpayd_log_contains(const ccpayd_process *p, const char *text);

/* Waits up to timeout_ms for ccpayd.log to contain text; true when it does. */
bool ccpayd_wait_for_log(const ccpayd_process *p, const char *text, int timeout_ms);

/* The pid of processor's adapter as the last `event=adapter_up processor=NAME ... pid=N`
 * line of ccpayd.log reports it; 0 when there is none. */
int ccpayd_adapter_pid(const ccpayd_process *p, const char *processor);

/* How many `event=adapter_up processor=NAME ` lines ccpayd.log holds. */
int ccpayd_adapter_up_count(const ccpayd_process *p, const char *processor);

/* Kills the process if it still runs, then removes the directory. */
void ccpayd_destroy(ccpayd_process *p);

/* The end of a test's server: stops it gracefully if it runs, and prints its log when the
 * test did not pass, the exit status was not 0, or the log holds a sanitizer report; then
 * destroys p. True when the server ended cleanly (exit 0, no report). */
bool ccpayd_finish(ccpayd_process *p, bool test_passed);

/* Runs ccpayd with exactly args (NULL-terminated; no defaults added) to its exit, at most
 * timeout_ms (then SIGKILL), with stdout and stderr captured into output (NUL-terminated,
 * truncated to size - 1). The working directory is p->dir, so relative paths land there.
 * Returns the exit status as ccpayd_stop does. */
int ccpayd_run(const ccpayd_process *p, const char *const *args, int timeout_ms, char *output,
               size_t size);

/* As ccpayd_run, but runs program (another binary of the build, e.g. ccpay-admin) with
 * args instead of ccpayd. */
int ccpayd_run_program(const ccpayd_process *p, const char *program, const char *const *args,
                       int timeout_ms, char *output, size_t size);

/* The ccpayd binary under test (from CMake), and ccpay-admin next to it. */
const char *ccpayd_path(void);
const char *ccpayd_admin_path(void);

/* Stops p (its clients must be gone first: gRPC's shutdown waits for them) and proves
 * every invariant of its data directory with `ccpay-admin verify`. False with why (its
 * output's end) when the stop was not clean or verify did not pass; true with why the
 * verify report. */
bool ccpayd_stop_and_verify(ccpayd_process *p, char *why, size_t why_size);

#endif
