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

/* The child side of fork: async-signal-safe calls only. Never returns. */
static void child_exec(pid_t parent, const char *dir, int out, int null_in, char *const *argv) {
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

static pid_t spawn(const char *const *argv, const char *dir, const char *log_path) {
  size_t argc = 0;
  while (argc < CHILD_ARGS_MAX && argv[argc] != NULL) argc++;
  if (argc == 0 || argc == CHILD_ARGS_MAX) {
    fprintf(stderr, "child_process: argv empty or longer than %d\n", CHILD_ARGS_MAX - 1);
    return 0;
  }
  /* Opened here, not in the child: a failure is reported, not an exit 127. */
  int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null_in < 0) {
    fprintf(stderr, "child_process: open %s: %s\n", log_path, strerror(errno));
    if (out >= 0) close(out);
    if (null_in >= 0) close(null_in);
    return 0;
  }
  fflush(NULL);
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

bool child_start(child_process *c, const char *const *argv, const char *dir, const char *log_path) {
  memset(c, 0, sizeof *c);
  int n = snprintf(c->log_path, sizeof c->log_path, "%s", log_path);
  if (n < 0 || (size_t)n >= sizeof c->log_path) return false;
  c->pid = spawn(argv, dir, log_path);
  return c->pid != 0;
}

bool child_running(child_process *c, int *exit_status) {
  if (c->pid == 0) return false;
  int status = CHILD_EXIT_ERROR;
  if (!reap_within(c->pid, 0, &status)) return true;
  c->pid = 0;
  if (exit_status != NULL) *exit_status = status;
  return false;
}

bool child_wait_for_file(child_process *c, const char *path, int timeout_ms) {
  for (int waited_ms = 0; waited_ms <= timeout_ms; waited_ms += POLL_INTERVAL_MS) {
    struct stat st;
    if (lstat(path, &st) == 0) return true;
    int exit_status = 0;
    if (!child_running(c, &exit_status)) {
      fprintf(stderr, "child_process: exited with %d before %s appeared\n", exit_status, path);
      return false;
    }
    sleep_ms(POLL_INTERVAL_MS);
  }
  fprintf(stderr, "child_process: %s did not appear within %d ms\n", path, timeout_ms);
  return false;
}

int child_stop(child_process *c, int timeout_ms) {
  if (c->pid == 0) return CHILD_EXIT_ERROR;
  kill(c->pid, SIGTERM);
  int exit_status = CHILD_EXIT_TIMEOUT;
  if (!reap_within(c->pid, timeout_ms, &exit_status)) {
    fprintf(stderr, "child_process: pid %d did not exit %d ms after SIGTERM; SIGKILL\n",
            (int)c->pid, timeout_ms);
    kill_and_reap(c->pid);
    exit_status = CHILD_EXIT_TIMEOUT;
  }
  c->pid = 0;
  return exit_status;
}

void child_kill(child_process *c) {
  if (c->pid != 0) kill_and_reap(c->pid);
  c->pid = 0;
}

int child_run(const char *const *argv, const char *dir, const char *log_path, int timeout_ms) {
  pid_t pid = spawn(argv, dir, log_path);
  if (pid == 0) return CHILD_EXIT_ERROR;
  int exit_status = CHILD_EXIT_ERROR;
  if (!reap_within(pid, timeout_ms, &exit_status)) {
    kill_and_reap(pid);
    exit_status = CHILD_EXIT_TIMEOUT;
  }
  return exit_status;
}

/* Reads at most CHILD_LOG_BYTES_MAX bytes of path into a malloc'd string ("" when it
 * cannot be read); NULL only when out of memory. */
static char *read_log(const char *path, size_t *len) {
  char *text = malloc(CHILD_LOG_BYTES_MAX + 1);
  if (text == NULL) return NULL;
  *len = 0;
  FILE *f = fopen(path, "r");
  if (f != NULL) {
    *len = fread(text, 1, CHILD_LOG_BYTES_MAX, f);
    fclose(f);
  }
  text[*len] = '\0';
  return text;
}

bool child_log_contains(const char *log_path, const char *needle) {
  size_t len = 0;
  char *text = read_log(log_path, &len);
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
  char *text = read_log(log_path, &len);
  if (text == NULL) return;
  fprintf(stderr, "---- log (%s): %s ----\n", why, log_path);
  fwrite(text, 1, len, stderr);
  fprintf(stderr, "---- end of log ----\n");
  free(text);
}
