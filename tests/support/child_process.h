/* Any program of the build as a child process of a test: spawn an argv with its stdout
 * and stderr appended to a log file, wait (bounded) for a file it creates (a port file,
 * a unix socket), stop it by its pid with SIGTERM and then SIGKILL after a bound, or run
 * it to its exit. Only the pid started here is ever signalled. The child gets SIGKILL
 * if the thread that started it dies, so start it from the test's main thread: a
 * crashed test leaves nothing running. Not thread-safe: one thread drives one child.
 *
 * Two forms of the same calls: on a child_process, and (child_pid_*) on a bare pid kept
 * in the caller's own struct (ccpayd_process, procsim_process), which they set to 0 once
 * the child is reaped. */
#ifndef CCPAY_TESTS_SUPPORT_CHILD_PROCESS_H
#define CCPAY_TESTS_SUPPORT_CHILD_PROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
  CHILD_ARGS_MAX = 64,
  CHILD_LOG_BYTES_MAX = 1 << 20, /* what the log helpers read of a log */
};

/* Exit statuses: 0..255 an exit code, 128 + n a signal n, and these. */
enum { CHILD_EXIT_TIMEOUT = -1, CHILD_EXIT_ERROR = -2 };

typedef struct child_process {
  pid_t pid; /* 0 when not running */
  char log_path[PATH_MAX];
} child_process;

/* Starts argv (argv[0] a path, NULL-terminated) in directory dir (NULL: the current
 * one), stdin from /dev/null, stdout and stderr appended to log_path (created 0600).
 * False (message on stderr) when it could not be started. */
bool child_start(child_process *c, const char *const *argv, const char *dir, const char *log_path);

/* Waits until path exists (any file type), at most timeout_ms. False when the time
 * passed or the child exited first (it is reaped then, and c->pid set to 0). */
bool child_wait_for_file(child_process *c, const char *path, int timeout_ms);

/* True while the child runs (reaps it, setting c->pid to 0 and *exit_status, once it
 * has exited; exit_status may be NULL). */
bool child_running(child_process *c, int *exit_status);

/* SIGTERM, then waits up to timeout_ms for the exit; then SIGKILL and
 * CHILD_EXIT_TIMEOUT. Returns the exit status; CHILD_EXIT_ERROR when not running. */
int child_stop(child_process *c, int timeout_ms);

/* SIGKILL and reap. */
void child_kill(child_process *c);

/* As child_start, child_running, child_stop and child_kill, on *pid: 0 when not running,
 * set by child_pid_start and back to 0 once the child is reaped. */
bool child_pid_start(pid_t *pid, const char *const *argv, const char *dir, const char *log_path);
bool child_pid_running(pid_t *pid, int *exit_status);
int child_pid_stop(pid_t *pid, int timeout_ms);
void child_pid_kill(pid_t *pid);

/* Waits until port_file holds a port (1..65535, as text), at most timeout_ms, and stores
 * it in *port. False (message on stderr) when the time passed or the child exited first
 * (it is reaped then, and *pid set to 0); the child is left running on a timeout. */
bool child_pid_wait_for_port(pid_t *pid, const char *port_file, int timeout_ms, int *port);

/* Runs argv to its exit, at most timeout_ms (then SIGKILL: CHILD_EXIT_TIMEOUT), output
 * appended to log_path. Returns the exit status. */
int child_run(const char *const *argv, const char *dir, const char *log_path, int timeout_ms);

/* As child_run, but output_path is emptied first and, once the child has exited, up to
 * size - 1 bytes of it are copied to output (NUL-terminated; size > 0). output is left
 * untouched when the child could not be started. */
int child_run_captured(const char *const *argv, const char *dir, const char *output_path,
                       int timeout_ms, char *output, size_t size);

/* The log helpers read at most CHILD_LOG_BYTES_MAX bytes of the file. */
bool child_log_contains(const char *log_path, const char *text);
/* True when the log holds an ASan, LSan, UBSan or TSan report. */
bool child_log_has_sanitizer_report(const char *log_path);
void child_print_log(const char *log_path, const char *why);

/* Polls the log every few ms until it contains text, at most timeout_ms. */
bool child_wait_for_log(const char *log_path, const char *text, int timeout_ms);

/* The log's text, NUL-terminated, in memory the caller frees (free()); "" when it
 * cannot be read. *len gets its length. NULL only when out of memory. */
char *child_log_read(const char *log_path, size_t *len);

#endif
