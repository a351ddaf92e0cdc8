/* Starting, watching and stopping adapter processes. ccpayd has threads (gRPC's, the
 * writer, the workers) when it forks, so the child runs only async-signal-safe calls
 * between fork and exec. */
#define _GNU_SOURCE /* close_range */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/check.h"
#include "gateway_internal.h"

enum { ARGS_MAX = 16, FD_CLOSE_FALLBACK_MAX = 4096 };

static const char *level_name(log_level level) {
  switch (level) {
    case LOG_DEBUG:
      return "debug";
    case LOG_WARN:
      return "warn";
    case LOG_ERROR:
      return "error";
    case LOG_INFO:
    default:
      return "info";
  }
}

/* The child between fork and exec. Never returns. */
static void child_exec(pid_t parent, int in, int out, char *const *argv) {
  /* Die with ccpayd (with the supervisor thread that forked, in fact, which lives until
   * it has reaped this child): a killed ccpayd leaves no adapter behind. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  /* Its own process group: a Ctrl-C in ccpayd's terminal reaches ccpayd alone, which
   * then stops its adapters in order. */
  setpgid(0, 0);
  /* ccpayd blocks SIGTERM/SIGINT and ignores SIGPIPE; an exec keeps both. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction default_action = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &default_action, NULL);
  sigaction(SIGINT, &default_action, NULL);
  sigaction(SIGPIPE, &default_action, NULL);
  sigaction(SIGCHLD, &default_action, NULL);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
  /* Nothing of ccpayd's (LMDB, sockets) may leak into the adapter. */
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < FD_CLOSE_FALLBACK_MAX; fd++) close(fd);
  }
  execv(argv[0], argv);
  _exit(127);
}

pid_t gateway_process_spawn(const gateway_adapter *a, log_level level, int *errno_out) {
  char threads[16];
  snprintf(threads, sizeof threads, "%u", a->threads);
  const char *argv[ARGS_MAX];
  size_t argc = 0;
  argv[argc++] = a->binary;
  argv[argc++] = "--config";
  argv[argc++] = a->config;
  argv[argc++] = "--socket";
  argv[argc++] = a->socket_path;
  if (a->threads > 0) {
    argv[argc++] = "--threads";
    argv[argc++] = threads;
  }
  argv[argc++] = "--log-level";
  argv[argc++] = level_name(level);
  argv[argc] = NULL;
  CHECK(argc < ARGS_MAX);

  int out = STDERR_FILENO;
  if (a->log_file[0] != '\0') {
    out = open(a->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0) {
      *errno_out = errno;
      return 0;
    }
  }
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    *errno_out = errno;
    if (out != STDERR_FILENO) close(out);
    return 0;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) child_exec(parent, in, out, (char *const *)argv);
  *errno_out = pid < 0 ? errno : 0;
  close(in);
  if (out != STDERR_FILENO) close(out);
  return pid < 0 ? 0 : pid;
}

static void describe_status(int wait_status, char *text, size_t size) {
  if (WIFEXITED(wait_status)) {
    snprintf(text, size, "exit:%d", WEXITSTATUS(wait_status));
  } else if (WIFSIGNALED(wait_status)) {
    snprintf(text, size, "signal:%d", WTERMSIG(wait_status));
  } else {
    snprintf(text, size, "unknown");
  }
}

bool gateway_process_reaped(pid_t pid, char *status_text, size_t size) {
  int wait_status = 0;
  pid_t r = waitpid(pid, &wait_status, WNOHANG);
  if (r == pid) {
    describe_status(wait_status, status_text, size);
    return true;
  }
  if (r < 0 && errno != EINTR) { /* ECHILD: not ours any more; nothing left to watch */
    snprintf(status_text, size, "not_a_child");
    return true;
  }
  return false;
}

static void sleep_ms(unsigned ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

void gateway_process_terminate(pid_t pid, unsigned wait_ms, char *status_text, size_t size) {
  CHECK(pid > 0);
  kill(pid, SIGTERM);
  for (unsigned waited_ms = 0; waited_ms < wait_ms; waited_ms += GATEWAY_POLL_MS) {
    if (gateway_process_reaped(pid, status_text, size)) return;
    sleep_ms(GATEWAY_POLL_MS);
  }
  kill(pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) {
      snprintf(status_text, size, "not_a_child");
      return;
    }
  }
  char how[32];
  describe_status(wait_status, how, sizeof how);
  snprintf(status_text, size, "killed:%ums:%s", wait_ms, how);
}
