#include "child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { POLL_INTERVAL_MS = 10, KILL_REAP_TIMEOUT_MS = 10000 };

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

/* The child side of fork: only async-signal-safe calls, since the parent may have
 * threads (gRPC's). Never returns. */
static void child_exec(pid_t parent, const char *dir, int out, int null_in, char *const *argv) {
  /* Die with the parent: a crashed or killed test must not leave a child running. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction default_action = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &default_action, NULL);
  sigaction(SIGINT, &default_action, NULL);
  sigaction(SIGPIPE, &default_action, NULL);
  if (dir != NULL && chdir(dir) != 0) _exit(127);
  if (dup2(null_in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
  execv(argv[0], argv);
  _exit(127);
}

/* Forks and execs argv with its output appended to log_path (emptied first when
 * truncate); the pid, or 0 (message on stderr) when it could not be started. */
static pid_t spawn(const char *const *argv, const char *dir, const char *log_path, bool truncate) {
  size_t argc = 0;
  while (argc < CHILD_ARGS_MAX && argv[argc] != NULL) argc++;
  if (argc == 0 || argc == CHILD_ARGS_MAX) {
    fprintf(stderr, "child_process: argv empty or longer than %d\n", CHILD_ARGS_MAX - 1);
    return 0;
  }
  /* Opened here, not in the child: a failure is reported, not an exit 127. */
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  int out = open(log_path, flags, 0600);
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null_in < 0) {
    fprintf(stderr, "child_process: open %s: %s\n", log_path, strerror(errno));
    if (out >= 0) close(out);
    if (null_in >= 0) close(null_in);
    return 0;
  }
  fflush(NULL); /* nothing buffered may be written twice */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) child_exec(parent, dir, out, null_in, (char *const *)argv);
  close(out);
  close(null_in);
  if (pid < 0) fprintf(stderr, "child_process: fork: %s\n", strerror(errno));
  return pid < 0 ? 0 : pid;
}

static int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return CHILD_EXIT_ERROR;
}

/* Reaps pid within timeout_ms (0: just look); true with *exit_status when it did. */
static bool reap_within(pid_t pid, int timeout_ms, int *exit_status) {
  for (int waited_ms = 0;; waited_ms += POLL_INTERVAL_MS) {
    int wait_status = 0;
    pid_t r = waitpid(pid, &wait_status, WNOHANG);
    if (r == pid) {
      *exit_status = exit_status_of(wait_status);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      *exit_status = CHILD_EXIT_ERROR;
      return true;
    }
    if (waited_ms >= timeout_ms) return false;
    sleep_ms(POLL_INTERVAL_MS);
  }
}

static void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  int ignored;
  if (!reap_within(pid, KILL_REAP_TIMEOUT_MS, &ignored)) {
    fprintf(stderr, "child_process: pid %d survived SIGKILL\n", (int)pid);
  }
}

bool child_pid_start(pid_t *pid, const char *const *argv, const char *dir, const char *log_path) {
  if (*pid != 0) return false;
  *pid = spawn(argv, dir, log_path, false);
  return *pid != 0;
}

bool child_pid_running(pid_t *pid, int *exit_status) {
  if (*pid == 0) return false;
  int status = CHILD_EXIT_ERROR;
  if (!reap_within(*pid, 0, &status)) return true;
  *pid = 0;
  if (exit_status != NULL) *exit_status = status;
  return false;
}

int child_pid_stop(pid_t *pid, int timeout_ms) {
  if (*pid == 0) return CHILD_EXIT_ERROR;
  kill(*pid, SIGTERM);
  int exit_status = CHILD_EXIT_TIMEOUT;
  if (!reap_within(*pid, timeout_ms, &exit_status)) {
    fprintf(stderr, "child_process: pid %d did not exit %d ms after SIGTERM; SIGKILL\n", (int)*pid,
            timeout_ms);
    kill_and_reap(*pid);
    exit_status = CHILD_EXIT_TIMEOUT;
  }
  *pid = 0;
  return exit_status;
}

void child_pid_kill(pid_t *pid) {
  if (*pid != 0) kill_and_reap(*pid);
  *pid = 0;
}

static bool file_exists(const char *path, int *unused) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static bool read_port(const char *path, int *port) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return false;
  int value = 0;
  bool ok = fscanf(f, "%d", &value) == 1 && value > 0 && value < 65536;
  fclose(f);
  if (ok) *port = value;
  return ok;
}

/* Polls ready(path, value) until it holds, at most timeout_ms, while the child runs. */
static bool wait_while_running(pid_t *pid, const char *path, int timeout_ms,
                               bool (*ready)(const char *path, int *value), int *value) {
  for (int waited_ms = 0; waited_ms <= timeout_ms; waited_ms += POLL_INTERVAL_MS) {
    if (ready(path, value)) return true;
    int exit_status = 0;
    if (!child_pid_running(pid, &exit_status)) {
      fprintf(stderr, "child_process: exited with %d before %s was ready\n", exit_status, path);
      return false;
    }
    sleep_ms(POLL_INTERVAL_MS);
  }
  fprintf(stderr, "child_process: %s was not ready within %d ms\n", path, timeout_ms);
  return false;
}

bool child_pid_wait_for_port(pid_t *pid, const char *port_file, int timeout_ms, int *port) {
  return wait_while_running(pid, port_file, timeout_ms, read_port, port);
}

bool child_start(child_process *c, const char *const *argv, const char *dir, const char *log_path) {
  memset(c, 0, sizeof *c);
  int n = snprintf(c->log_path, sizeof c->log_path, "%s", log_path);
  if (n < 0 || (size_t)n >= sizeof c->log_path) return false;
  return child_pid_start(&c->pid, argv, dir, log_path);
}

bool child_running(child_process *c, int *exit_status) {
  return child_pid_running(&c->pid, exit_status);
}

bool child_wait_for_file(child_process *c, const char *path, int timeout_ms) {
  int unused = 0;
  return wait_while_running(&c->pid, path, timeout_ms, file_exists, &unused);
}

int child_stop(child_process *c, int timeout_ms) { return child_pid_stop(&c->pid, timeout_ms); }

void child_kill(child_process *c) { child_pid_kill(&c->pid); }

/* Reads up to size - 1 bytes of path into out, NUL-terminated ("" when path cannot be
 * read); the number read. */
static size_t read_prefix(const char *path, char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(out, 1, size - 1, f);
  out[n] = '\0';
  fclose(f);
  return n;
}

/* Runs argv to its exit (see child_run), its output to log_path; *started false when it
 * could not be started. */
static int run_to_exit(const char *const *argv, const char *dir, const char *log_path,
                       bool truncate, int timeout_ms, bool *started) {
  pid_t pid = spawn(argv, dir, log_path, truncate);
  *started = pid != 0;
  if (pid == 0) return CHILD_EXIT_ERROR;
  int exit_status = CHILD_EXIT_ERROR;
  if (!reap_within(pid, timeout_ms, &exit_status)) {
    kill_and_reap(pid);
    exit_status = CHILD_EXIT_TIMEOUT;
  }
  return exit_status;
}

int child_run(const char *const *argv, const char *dir, const char *log_path, int timeout_ms) {
  bool started;
  return run_to_exit(argv, dir, log_path, false, timeout_ms, &started);
}

int child_run_captured(const char *const *argv, const char *dir, const char *output_path,
                       int timeout_ms, char *output, size_t size) {
  bool started;
  int exit_status = run_to_exit(argv, dir, output_path, true, timeout_ms, &started);
  if (started) read_prefix(output_path, output, size);
  return exit_status;
}

/* Reads at most CHILD_LOG_BYTES_MAX bytes of path (see child_log_read). */
char *child_log_read(const char *path, size_t *len) {
  char *text = malloc(CHILD_LOG_BYTES_MAX + 1);
  if (text == NULL) return NULL;
  *len = read_prefix(path, text, CHILD_LOG_BYTES_MAX + 1);
  return text;
}

bool child_log_contains(const char *log_path, const char *needle) {
  size_t len = 0;
  char *text = child_log_read(log_path, &len);
  bool found = text != NULL && strstr(text, needle) != NULL;
  free(text);
  return found;
}

bool child_log_has_sanitizer_report(const char *log_path) {
  static const char *const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer",
                                        "WARNING: ThreadSanitizer"};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    if (child_log_contains(log_path, markers[i])) return true;
  }
  return false;
}

void child_print_log(const char *log_path, const char *why) {
  size_t len = 0;
  char *text = child_log_read(log_path, &len);
  if (text == NULL) return;
  fprintf(stderr, "---- log (%s): %s ----\n", why, log_path);
  fwrite(text, 1, len, stderr);
  fprintf(stderr, "---- end of log ----\n");
  free(text);
}

bool child_wait_for_log(const char *log_path, const char *text, int timeout_ms) {
  for (int waited_ms = 0; waited_ms <= timeout_ms; waited_ms += POLL_INTERVAL_MS) {
    if (child_log_contains(log_path, text)) return true;
    sleep_ms(POLL_INTERVAL_MS);
  }
  return false;
}
