/* nftw and FTW_* need X/Open 500; gnu11 alone does not declare them. */
#define _GNU_SOURCE
#include "ccpayd_process.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child_process.h"

#ifndef CCPAYD_PATH
#error "CCPAYD_PATH must name the ccpayd binary (set by tests/support/CMakeLists.txt)"
#endif

/* Every directory this module makes (and so may remove) starts with this. */
#define TEMP_DIR_PREFIX "/tmp/ccpay-it-"

/* The process mechanics are child_process's: its statuses pass through unchanged. */
_Static_assert((int)CCPAYD_EXIT_TIMEOUT == (int)CHILD_EXIT_TIMEOUT, "exit statuses differ");
_Static_assert((int)CCPAYD_EXIT_ERROR == (int)CHILD_EXIT_ERROR, "exit statuses differ");
_Static_assert((int)CCPAYD_ARGS_MAX <= (int)CHILD_ARGS_MAX, "child_process takes fewer arguments");

#ifndef CCPAY_ADMIN_TOOL_PATH
#error "CCPAY_ADMIN_TOOL_PATH must name the ccpay-admin binary (tests/support/CMakeLists.txt)"
#endif

const char *ccpayd_path(void) { return CCPAYD_PATH; }
const char *ccpayd_admin_path(void) { return CCPAY_ADMIN_TOOL_PATH; }

bool ccpayd_token_create(const ccpayd_process *p, const char *role, const char *agent_id,
                         const char *expires, char *out, size_t size) {
  const char *args[] = {"token",     "create", "--data-dir",
                        p->data_dir, "--role", role,
                        "--agent",   agent_id, expires != NULL ? "--expires" : NULL,
                        expires,     NULL};
  char output[1024];
  int status = ccpayd_run_program(p, ccpayd_admin_path(), args, 30000, output, sizeof output);
  /* The token is the first line of stdout; the note after it goes to stderr. */
  size_t len = strcspn(output, "\n");
  if (status != 0 || strncmp(output, "ccp_", 4) != 0 || len >= size) {
    fprintf(stderr, "ccpayd_process: ccpay-admin token create failed (status %d): %s\n", status,
            output);
    return false;
  }
  memcpy(out, output, len);
  out[len] = '\0';
  return true;
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
  if (p->admin_token[0] == '\0' &&
      !ccpayd_token_create(p, "admin", "test-admin", NULL, p->admin_token, sizeof p->admin_token)) {
    return false;
  }
  /* A restart must not read the previous run's port. */
  if (unlink(p->port_file) != 0 && errno != ENOENT) return false;
  p->port = 0;
  if (!child_pid_start(&p->pid, argv, p->dir, p->log_path)) return false;
  /* ccpayd renames the port file into place once it serves. */
  if (child_pid_wait_for_port(&p->pid, p->port_file, CCPAYD_START_TIMEOUT_MS, &p->port)) {
    return true;
  }
  child_pid_kill(&p->pid);
  ccpayd_print_log(p, "ccpayd did not start");
  return false;
}

int ccpayd_stop(ccpayd_process *p, int timeout_ms) { return child_pid_stop(&p->pid, timeout_ms); }

void ccpayd_kill(ccpayd_process *p) { child_pid_kill(&p->pid); }

void ccpayd_print_log(const ccpayd_process *p, const char *why) {
  child_print_log(p->log_path, why);
}

bool ccpayd_log_contains(const ccpayd_process *p, const char *needle) {
  return child_log_contains(p->log_path, needle);
}

bool ccpayd_wait_for_log(const ccpayd_process *p, const char *text, int timeout_ms) {
  return child_wait_for_log(p->log_path, text, timeout_ms);
}

/* Scans the adapter_up lines of processor: their count, and the last one's pid. */
static int scan_adapter_up(const ccpayd_process *p, const char *processor, int *pid) {
  *pid = 0;
  size_t len = 0;
  char *text = child_log_read(p->log_path, &len);
  if (text == NULL) return 0;
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
  return child_log_has_sanitizer_report(p->log_path);
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
  return child_run_captured(argv, p->dir, output_path, timeout_ms, output, size);
}

bool ccpayd_stop_and_verify(ccpayd_process *p, char *why, size_t why_size) {
  enum { VERIFY_TIMEOUT_MS = 30000 };
  if (ccpayd_stop(p, CCPAYD_STOP_TIMEOUT_MS) != 0) {
    snprintf(why, why_size, "ccpayd did not stop cleanly");
    return false;
  }
  const char *const args[] = {"verify", "--data-dir", p->data_dir, NULL};
  static char output[1 << 16];
  int status =
      ccpayd_run_program(p, ccpayd_admin_path(), args, VERIFY_TIMEOUT_MS, output, sizeof output);
  size_t len = strlen(output), tail = len > why_size / 2 ? len - why_size / 2 : 0;
  snprintf(why, why_size, "ccpay-admin verify exited %d: %s", status, output + tail);
  return status == 0;
}
