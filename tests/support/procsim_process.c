/* nftw and FTW_* need X/Open 500; gnu11 alone does not declare them. */
#define _GNU_SOURCE
#include "procsim_process.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child_process.h"

#ifndef CCPAY_PROCSIM_PATH
#error "CCPAY_PROCSIM_PATH must name the ccpay-procsim binary (set by CMake)"
#endif

/* Every directory this module makes (and so may remove) starts with this. */
#define TEMP_DIR_PREFIX "/tmp/ccpay-procsim-it-"

/* The process mechanics are child_process's: its statuses pass through unchanged. */
_Static_assert((int)PROCSIM_EXIT_TIMEOUT == (int)CHILD_EXIT_TIMEOUT, "exit statuses differ");
_Static_assert((int)PROCSIM_EXIT_ERROR == (int)CHILD_EXIT_ERROR, "exit statuses differ");
_Static_assert((int)PROCSIM_ARGS_MAX <= (int)CHILD_ARGS_MAX, "child_process takes fewer arguments");

const char *procsim_path(void) { return CCPAY_PROCSIM_PATH; }

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
  if (child_pid_start(&p->pid, argv, p->dir, p->log_path) &&
      child_pid_wait_for_port(&p->pid, p->port_file, PROCSIM_START_TIMEOUT_MS, &p->port)) {
    return true;
  }
  child_pid_kill(&p->pid);
  procsim_print_log(p, "procsim did not start");
  remove_dir(p->dir);
  return false;
}

int procsim_stop(procsim_process *p, int timeout_ms) { return child_pid_stop(&p->pid, timeout_ms); }

void procsim_print_log(const procsim_process *p, const char *why) {
  child_print_log(p->log_path, why);
}

bool procsim_log_contains(const procsim_process *p, const char *needle) {
  return child_log_contains(p->log_path, needle);
}

bool procsim_log_has_sanitizer_report(const procsim_process *p) {
  return child_log_has_sanitizer_report(p->log_path);
}

void procsim_destroy(procsim_process *p) {
  child_pid_kill(&p->pid);
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
  if (join_path(output_path, dir, "run.out")) {
    exit_status = child_run(argv, dir, output_path, timeout_ms);
  }
  remove_dir(dir);
  return exit_status;
}
