/* nftw and FTW_* need X/Open 500; gnu11 alone does not declare them. */
#define _GNU_SOURCE
#include "ccpayd_process.h"

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

#ifndef CCPAYD_PATH
#error "CCPAYD_PATH must name the ccpayd binary (set by tests/support/CMakeLists.txt)"
#endif

/* Every directory this module makes (and so may remove) starts with this. */
#define TEMP_DIR_PREFIX "/tmp/ccpay-it-"

enum { POLL_INTERVAL_MS = 10, LOG_PRINT_BYTES_MAX = 1 << 20 };

const char *ccpayd_path(void) { return CCPAYD_PATH; }

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

static bool join_path(char *out, const char *dir, const char *name) {
  int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
  return n > 0 && n < PATH_MAX;
}

bool ccpayd_init(ccpayd_process *p) {
  memset(p, 0, sizeof *p);
  snprintf(p->dir, sizeof p->dir, TEMP_DIR_PREFIX "XXXXXX");
  if (mkdtemp(p->dir) == NULL) {
    fprintf(stderr, "ccpayd_process: mkdtemp: %s\n", strerror(errno));
    p->dir[0] = '\0';
    return false;
  }
  return join_path(p->data_dir, p->dir, "data") && join_path(p->port_file, p->dir, "port") &&
         join_path(p->log_path, p->dir, "ccpayd.log");
}

/* The child side of spawn: only async-signal-safe calls, since the parent has threads
 * (gRPC's). Never returns. */
static void child_exec(pid_t parent, const char *dir, const char *output_path, bool truncate,
                       char *const *argv) {
  /* Die with the parent: a crashed or killed test must not leave a server running. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction default_action = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &default_action, NULL);
  sigaction(SIGINT, &default_action, NULL);
  sigaction(SIGPIPE, &default_action, NULL);
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  int out = open(output_path, flags, 0600);
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null_in < 0 || chdir(dir) != 0) _exit(127);
  if (dup2(null_in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
  execv(argv[0], argv);
  _exit(127);
}

static pid_t spawn(const char *dir, const char *output_path, bool truncate, char *const *argv) {
  fflush(NULL); /* nothing buffered may be written twice */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) child_exec(parent, dir, output_path, truncate, argv);
  if (pid < 0) fprintf(stderr, "ccpayd_process: fork: %s\n", strerror(errno));
  return pid < 0 ? 0 : pid;
}

static int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return CCPAYD_EXIT_ERROR;
}

/* Waits up to timeout_ms for pid to exit; true with *exit_status when it did. */
static bool reap_within(pid_t pid, int timeout_ms, int *exit_status) {
  for (int waited_ms = 0;; waited_ms += POLL_INTERVAL_MS) {
    int wait_status = 0;
    pid_t r = waitpid(pid, &wait_status, WNOHANG);
    if (r == pid) {
      *exit_status = exit_status_of(wait_status);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      *exit_status = CCPAYD_EXIT_ERROR;
      return true;
    }
    if (waited_ms >= timeout_ms) return false;
    sleep_ms(POLL_INTERVAL_MS);
  }
}

static void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  int ignored;
  if (!reap_within(pid, CCPAYD_STOP_TIMEOUT_MS, &ignored)) {
    fprintf(stderr, "ccpayd_process: pid %d survived SIGKILL\n", (int)pid);
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

/* Polls for the port file, which ccpayd renames into place once it serves. */
static bool wait_for_port(ccpayd_process *p) {
  for (int waited_ms = 0; waited_ms <= CCPAYD_START_TIMEOUT_MS; waited_ms += POLL_INTERVAL_MS) {
    if (read_port(p->port_file, &p->port)) return true;
    int exit_status;
    if (reap_within(p->pid, 0, &exit_status)) {
      fprintf(stderr, "ccpayd_process: ccpayd exited with %d before serving\n", exit_status);
      p->pid = 0;
      return false;
    }
    sleep_ms(POLL_INTERVAL_MS);
  }
  fprintf(stderr, "ccpayd_process: no port file after %d ms\n", CCPAYD_START_TIMEOUT_MS);
  return false;
}

bool ccpayd_start(ccpayd_process *p, const char *const *extra_args) {
  if (p->pid != 0 || p->dir[0] == '\0') return false;
  const char *argv[CCPAYD_ARGS_MAX] = {ccpayd_path(), "--listen",  "127.0.0.1:0", "--plaintext",
                                       "--data-dir",  p->data_dir, "--port-file", p->port_file};
  size_t argc = 8;
  for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
    if (argc + 1 >= CCPAYD_ARGS_MAX) return false;
    argv[argc++] = extra_args[i];
  }
  argv[argc] = NULL;
  /* A restart must not read the previous run's port. */
  if (unlink(p->port_file) != 0 && errno != ENOENT) return false;
  p->port = 0;
  p->pid = spawn(p->dir, p->log_path, false, (char *const *)argv);
  if (p->pid == 0) return false;
  if (wait_for_port(p)) return true;
  if (p->pid != 0) kill_and_reap(p->pid);
  p->pid = 0;
  ccpayd_print_log(p, "ccpayd did not start");
  return false;
}

int ccpayd_stop(ccpayd_process *p, int timeout_ms) {
  if (p->pid == 0) return CCPAYD_EXIT_ERROR;
  kill(p->pid, SIGTERM);
  int exit_status = CCPAYD_EXIT_TIMEOUT;
  if (!reap_within(p->pid, timeout_ms, &exit_status)) {
    fprintf(stderr, "ccpayd_process: no exit %d ms after SIGTERM; SIGKILL\n", timeout_ms);
    kill_and_reap(p->pid);
    exit_status = CCPAYD_EXIT_TIMEOUT;
  }
  p->pid = 0;
  return exit_status;
}

void ccpayd_kill(ccpayd_process *p) {
  if (p->pid == 0) return;
  kill_and_reap(p->pid);
  p->pid = 0;
}

/* Reads up to size - 1 bytes of path into out; the number read. */
static size_t read_file(const char *path, char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(out, 1, size - 1, f);
  out[n] = '\0';
  fclose(f);
  return n;
}

void ccpayd_print_log(const ccpayd_process *p, const char *why) {
  char *text = malloc(LOG_PRINT_BYTES_MAX);
  if (text == NULL) return;
  size_t n = read_file(p->log_path, text, LOG_PRINT_BYTES_MAX);
  fprintf(stderr, "---- ccpayd log (%s): %s ----\n", why, p->log_path);
  fwrite(text, 1, n, stderr);
  fprintf(stderr, "---- end of ccpayd log ----\n");
  free(text);
}

bool ccpayd_log_contains(const ccpayd_process *p, const char *needle) {
  char *text = malloc(LOG_PRINT_BYTES_MAX);
  if (text == NULL) return false;
  read_file(p->log_path, text, LOG_PRINT_BYTES_MAX);
  bool found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

bool ccpayd_wait_for_log(const ccpayd_process *p, const char *text, int timeout_ms) {
  for (int waited_ms = 0; waited_ms <= timeout_ms; waited_ms += POLL_INTERVAL_MS) {
    if (ccpayd_log_contains(p, text)) return true;
    sleep_ms(POLL_INTERVAL_MS);
  }
  return false;
}

/* Scans the adapter_up lines of processor: their count, and the last one's pid. */
static int scan_adapter_up(const ccpayd_process *p, const char *processor, int *pid) {
  *pid = 0;
  char *text = malloc(LOG_PRINT_BYTES_MAX);
  if (text == NULL) return 0;
  read_file(p->log_path, text, LOG_PRINT_BYTES_MAX);
  char needle[96];
  snprintf(needle, sizeof needle, "event=adapter_up processor=%s ", processor);
  int count = 0;
  for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle)) {
    count++;
    const char *field = strstr(at, " pid=");
    const char *end = strchr(at, '\n');
    if (field != NULL && (end == NULL || field < end)) *pid = (int)strtol(field + 5, NULL, 10);
  }
  free(text);
  return count;
}

int ccpayd_adapter_pid(const ccpayd_process *p, const char *processor) {
  int pid;
  scan_adapter_up(p, processor, &pid);
  return pid;
}

int ccpayd_adapter_up_count(const ccpayd_process *p, const char *processor) {
  int pid;
  return scan_adapter_up(p, processor, &pid);
}

bool ccpayd_log_has_sanitizer_report(const ccpayd_process *p) {
  static const char *const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:", "WARNING: ThreadSanitizer",
                                        "SUMMARY: UndefinedBehaviorSanitizer"};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    if (ccpayd_log_contains(p, markers[i])) return true;
  }
  return false;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  if (remove(path) != 0) fprintf(stderr, "ccpayd_process: remove %s: %s\n", path, strerror(errno));
  return 0;
}

void ccpayd_destroy(ccpayd_process *p) {
  ccpayd_kill(p);
  /* Remove only what ccpayd_init made: never a path someone else chose. */
  if (strncmp(p->dir, TEMP_DIR_PREFIX, strlen(TEMP_DIR_PREFIX)) == 0) {
    nftw(p->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  p->dir[0] = '\0';
}

bool ccpayd_finish(ccpayd_process *p, bool test_passed) {
  int exit_status = p->pid != 0 ? ccpayd_stop(p, CCPAYD_STOP_TIMEOUT_MS) : 0;
  bool report = ccpayd_log_has_sanitizer_report(p);
  bool clean = exit_status == 0 && !report;
  if (!clean) {
    fprintf(stderr, "ccpayd_process: unclean end: exit status %d%s\n", exit_status,
            report ? ", sanitizer report in the log" : "");
  }
  if (!clean || !test_passed) ccpayd_print_log(p, test_passed ? "unclean end" : "test failed");
  ccpayd_destroy(p);
  return clean;
}

int ccpayd_run(const ccpayd_process *p, const char *const *args, int timeout_ms, char *output,
               size_t size) {
  return ccpayd_run_program(p, ccpayd_path(), args, timeout_ms, output, size);
}

int ccpayd_run_program(const ccpayd_process *p, const char *program, const char *const *args,
                       int timeout_ms, char *output, size_t size) {
  const char *argv[CCPAYD_ARGS_MAX] = {program};
  size_t argc = 1;
  for (size_t i = 0; args[i] != NULL; i++) {
    if (argc + 1 >= CCPAYD_ARGS_MAX) return CCPAYD_EXIT_ERROR;
    argv[argc++] = args[i];
  }
  argv[argc] = NULL;
  char output_path[PATH_MAX];
  if (!join_path(output_path, p->dir, "run.out")) return CCPAYD_EXIT_ERROR;
  pid_t pid = spawn(p->dir, output_path, true, (char *const *)argv);
  if (pid == 0) return CCPAYD_EXIT_ERROR;
  int exit_status;
  if (!reap_within(pid, timeout_ms, &exit_status)) {
    kill_and_reap(pid);
    exit_status = CCPAYD_EXIT_TIMEOUT;
  }
  read_file(output_path, output, size);
  return exit_status;
}
