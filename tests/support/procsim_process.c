/* nftw and FTW_* need X/Open 500; gnu11 alone does not declare them. */
#define _GNU_SOURCE
#include "procsim_process.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CCPAY_PROCSIM_PATH
#error "CCPAY_PROCSIM_PATH must name the ccpay-procsim binary (set by CMake)"
#endif

/* Every directory this module makes (and so may remove) starts with this. */
#define TEMP_DIR_PREFIX "/tmp/ccpay-procsim-it-"

enum { POLL_INTERVAL_MS = 10, LOG_BYTES_MAX = 1 << 20 };

const char *procsim_path(void) { return CCPAY_PROCSIM_PATH; }

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

static bool join_path(char *out, const char *dir, const char *name) {
  int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
  return n > 0 && n < PATH_MAX;
}

static bool make_dir(char *dir) {
  snprintf(dir, PATH_MAX, TEMP_DIR_PREFIX "XXXXXX");
  if (mkdtemp(dir) != NULL) return true;
  fprintf(stderr, "procsim_process: mkdtemp: %s\n", strerror(errno));
  dir[0] = '\0';
  return false;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  if (remove(path) != 0) fprintf(stderr, "procsim_process: remove %s: %s\n", path, strerror(errno));
  return 0;
}

static void remove_dir(char *dir) {
  /* Remove only what make_dir made: never a path someone else chose. */
  if (strncmp(dir, TEMP_DIR_PREFIX, strlen(TEMP_DIR_PREFIX)) == 0) {
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  dir[0] = '\0';
}

/* The child side of fork: async-signal-safe calls only. Never returns. */
static void child_exec(pid_t parent, const char *dir, const char *output_path, char *const *argv) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction default_action = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &default_action, NULL);
  sigaction(SIGINT, &default_action, NULL);
  sigaction(SIGPIPE, &default_action, NULL);
  int out = open(output_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null_in < 0 || chdir(dir) != 0) _exit(127);
  if (dup2(null_in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
  execv(argv[0], argv);
  _exit(127);
}

static pid_t spawn(const char *dir, const char *output_path, char *const *argv) {
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) child_exec(parent, dir, output_path, argv);
  if (pid < 0) fprintf(stderr, "procsim_process: fork: %s\n", strerror(errno));
  return pid < 0 ? 0 : pid;
}

static int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return PROCSIM_EXIT_ERROR;
}

static bool reap_within(pid_t pid, int timeout_ms, int *exit_status) {
  for (int waited_ms = 0;; waited_ms += POLL_INTERVAL_MS) {
    int wait_status = 0;
    pid_t r = waitpid(pid, &wait_status, WNOHANG);
    if (r == pid) {
      *exit_status = exit_status_of(wait_status);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      *exit_status = PROCSIM_EXIT_ERROR;
      return true;
    }
    if (waited_ms >= timeout_ms) return false;
    sleep_ms(POLL_INTERVAL_MS);
  }
}

static void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  int ignored;
  if (!reap_within(pid, PROCSIM_STOP_TIMEOUT_MS, &ignored)) {
    fprintf(stderr, "procsim_process: pid %d survived SIGKILL\n", (int)pid);
  }
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

static bool wait_for_port(procsim_process *p) {
  for (int waited_ms = 0; waited_ms <= PROCSIM_START_TIMEOUT_MS; waited_ms += POLL_INTERVAL_MS) {
    if (read_port(p->port_file, &p->port)) return true;
    int exit_status;
    if (reap_within(p->pid, 0, &exit_status)) {
      fprintf(stderr, "procsim_process: exited with %d before serving\n", exit_status);
      p->pid = 0;
      return false;
    }
    sleep_ms(POLL_INTERVAL_MS);
  }
  fprintf(stderr, "procsim_process: no port file after %d ms\n", PROCSIM_START_TIMEOUT_MS);
  return false;
}

bool procsim_start(procsim_process *p, const char *const *extra_args) {
  memset(p, 0, sizeof *p);
  if (!make_dir(p->dir)) return false;
  if (!join_path(p->ca_file, p->dir, "ca.pem") || !join_path(p->port_file, p->dir, "port") ||
      !join_path(p->log_path, p->dir, "procsim.log")) {
    remove_dir(p->dir);
    return false;
  }
  const char *argv[PROCSIM_ARGS_MAX] = {procsim_path(), "--listen",    "127.0.0.1:0", "--dir",
                                        p->dir,         "--port-file", p->port_file};
  size_t argc = 7;
  for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
    if (argc + 1 >= PROCSIM_ARGS_MAX) return false;
    argv[argc++] = extra_args[i];
  }
  argv[argc] = NULL;
  p->pid = spawn(p->dir, p->log_path, (char *const *)argv);
  if (p->pid != 0 && wait_for_port(p)) return true;
  if (p->pid != 0) kill_and_reap(p->pid);
  p->pid = 0;
  procsim_print_log(p, "procsim did not start");
  remove_dir(p->dir);
  return false;
}

int procsim_stop(procsim_process *p, int timeout_ms) {
  if (p->pid == 0) return PROCSIM_EXIT_ERROR;
  kill(p->pid, SIGTERM);
  int exit_status = PROCSIM_EXIT_TIMEOUT;
  if (!reap_within(p->pid, timeout_ms, &exit_status)) {
    fprintf(stderr, "procsim_process: no exit %d ms after SIGTERM; SIGKILL\n", timeout_ms);
    kill_and_reap(p->pid);
    exit_status = PROCSIM_EXIT_TIMEOUT;
  }
  p->pid = 0;
  return exit_status;
}

static size_t read_file(const char *path, char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(out, 1, size - 1, f);
  out[n] = '\0';
  fclose(f);
  return n;
}

void procsim_print_log(const procsim_process *p, const char *why) {
  char *text = malloc(LOG_BYTES_MAX);
  if (text == NULL) return;
  size_t n = read_file(p->log_path, text, LOG_BYTES_MAX);
  fprintf(stderr, "---- procsim log (%s): %s ----\n", why, p->log_path);
  fwrite(text, 1, n, stderr);
  fprintf(stderr, "---- end of procsim log ----\n");
  free(text);
}

bool procsim_log_contains(const procsim_process *p, const char *needle) {
  char *text = malloc(LOG_BYTES_MAX);
  if (text == NULL) return false;
  read_file(p->log_path, text, LOG_BYTES_MAX);
  bool found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

bool procsim_log_has_sanitizer_report(const procsim_process *p) {
  static const char *const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer"};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    if (procsim_log_contains(p, markers[i])) return true;
  }
  return false;
}

void procsim_destroy(procsim_process *p) {
  if (p->pid != 0) kill_and_reap(p->pid);
  p->pid = 0;
  remove_dir(p->dir);
}

int procsim_run(const char *const *args, int timeout_ms) {
  char dir[PATH_MAX], output_path[PATH_MAX];
  if (!make_dir(dir)) return PROCSIM_EXIT_ERROR;
  const char *argv[PROCSIM_ARGS_MAX] = {procsim_path()};
  size_t argc = 1;
  for (size_t i = 0; args[i] != NULL && argc + 1 < PROCSIM_ARGS_MAX; i++) argv[argc++] = args[i];
  argv[argc] = NULL;
  int exit_status = PROCSIM_EXIT_ERROR;
  pid_t pid =
      join_path(output_path, dir, "run.out") ? spawn(dir, output_path, (char *const *)argv) : 0;
  if (pid != 0 && !reap_within(pid, timeout_ms, &exit_status)) {
    kill_and_reap(pid);
    exit_status = PROCSIM_EXIT_TIMEOUT;
  }
  remove_dir(dir);
  return exit_status;
}
