/* nftw and FTW_* need X/Open 500; gnu11 alone does not declare them. */
#define _GNU_SOURCE
#include "adapter_harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TEMP_DIR_PREFIX "/tmp/ccpay-"
#define GATEWAY "/ccpay.gateway.v1.Gateway/"

enum { READY_POLL_MS = 50 };

static bool text_fits(int n, size_t size) { return n >= 0 && (size_t)n < size; }

bool adapter_harness_write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  size_t len = strlen(text);
  /* fchmod: open's mode is masked by the umask and ignored for an existing file. */
  bool ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0;
  return close(fd) == 0 && ok;
}

bool adapter_harness_path(const adapter_harness *h, const char *name, char *out, size_t size) {
  return text_fits(snprintf(out, size, "%s/%s", h->dir, name), size);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  remove(path);
  return 0;
}

/* Removes the harness's directory, and only a directory this harness made. */
static void remove_dir(const char *dir) {
  if (strncmp(dir, TEMP_DIR_PREFIX, strlen(TEMP_DIR_PREFIX)) == 0) {
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
}

bool adapter_harness_open(adapter_harness *h, const char *name, const char *adapter_path,
                          const char *const *procsim_args) {
  memset(h, 0, sizeof *h);
  h->adapter_path = adapter_path;
  char file[64];
  if (!text_fits(snprintf(h->dir, sizeof h->dir, TEMP_DIR_PREFIX "%s-it-XXXXXX", name),
                 sizeof h->dir) ||
      mkdtemp(h->dir) == NULL) {
    fprintf(stderr, "adapter harness: cannot make a directory for %s\n", name);
    h->dir[0] = '\0';
    return false;
  }
  /* The socket's directory does not exist yet: the adapter makes it 0700. */
  bool paths = text_fits(snprintf(file, sizeof file, "%s.ini", name), sizeof file) &&
               adapter_harness_path(h, file, h->config, sizeof h->config) &&
               text_fits(snprintf(file, sizeof file, "run/%s.sock", name), sizeof file) &&
               adapter_harness_path(h, file, h->socket, sizeof h->socket) &&
               adapter_harness_path(h, "adapter.log", h->log, sizeof h->log);
  if (!paths || !procsim_start(&h->procsim, procsim_args)) {
    fprintf(stderr, "adapter harness: %s\n", paths ? "procsim did not start" : "path too long");
    remove_dir(h->dir);
    return false;
  }
  snprintf(h->control.base_url, sizeof h->control.base_url, "https://127.0.0.1:%d",
           h->procsim.port);
  snprintf(h->control.ca_file, sizeof h->control.ca_file, "%.*s",
           (int)sizeof h->control.ca_file - 1, h->procsim.ca_file);
  return true;
}

/* Polls GetCapabilities until it answers OK, at most ADAPTER_HARNESS_START_TIMEOUT_MS. */
static bool wait_ready(adapter_harness *h) {
  Ccpay__Gateway__V1__GetCapabilitiesRequest request =
      CCPAY__GATEWAY__V1__GET_CAPABILITIES_REQUEST__INIT;
  for (int waited_ms = 0; waited_ms < ADAPTER_HARNESS_START_TIMEOUT_MS;
       waited_ms += READY_POLL_MS) {
    test_reply r;
    grpc_status_code status =
        test_client_call(h->client, GATEWAY "GetCapabilities", &request.base,
                         &ccpay__gateway__v1__capabilities__descriptor, 1000, &r);
    test_reply_clear(&r);
    if (status == GRPC_STATUS_OK) return true;
    struct timespec t = {.tv_nsec = READY_POLL_MS * 1000000L};
    nanosleep(&t, NULL);
  }
  return false;
}

bool adapter_harness_start(adapter_harness *h, const char *const *extra_args) {
  const char *argv[6 + ADAPTER_HARNESS_ARGS_MAX + 1] = {h->adapter_path, "--config", h->config,
                                                        "--socket", h->socket};
  size_t argc = 5;
  for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
    if (i == ADAPTER_HARNESS_ARGS_MAX) {
      fprintf(stderr, "adapter harness: more than %d extra arguments\n", ADAPTER_HARNESS_ARGS_MAX);
      return false;
    }
    argv[argc++] = extra_args[i];
  }
  argv[argc] = NULL;
  char target[PATH_MAX + 8];
  bool started = child_start(&h->adapter, argv, h->dir, h->log) &&
                 child_wait_for_file(&h->adapter, h->socket, ADAPTER_HARNESS_START_TIMEOUT_MS) &&
                 text_fits(snprintf(target, sizeof target, "unix:%s", h->socket), sizeof target);
  if (started) {
    h->client = test_client_create_target(target);
    started = h->client != NULL && wait_ready(h);
  }
  if (!started) {
    child_print_log(h->log, "adapter did not start");
    child_kill(&h->adapter);
  }
  return started;
}

int adapter_harness_run(const adapter_harness *h, const char *config, const char *socket,
                        const char *log) {
  const char *argv[] = {h->adapter_path, "--config", config, "--socket", socket, NULL};
  return child_run(argv, h->dir, log, ADAPTER_HARNESS_RUN_TIMEOUT_MS);
}

const Ccpay__Gateway__V1__OperationResult *adapter_harness_call(adapter_harness *h,
                                                                const char *method,
                                                                const ProtobufCMessage *request,
                                                                int deadline_ms,
                                                                test_reply *reply) {
  char path[128];
  if (!text_fits(snprintf(path, sizeof path, GATEWAY "%s", method), sizeof path)) {
    memset(reply, 0, sizeof *reply);
    reply->status = GRPC_STATUS_INVALID_ARGUMENT;
    return NULL;
  }
  test_client_call(h->client, path, request, &ccpay__gateway__v1__operation_result__descriptor,
                   deadline_ms, reply);
  if (reply->status != GRPC_STATUS_OK) {
    fprintf(stderr, "%s: %s %s (%s)\n", method, test_status_name(reply->status), reply->details,
            reply->reason);
    child_print_log(h->log, "adapter log");
    return NULL;
  }
  return (const Ccpay__Gateway__V1__OperationResult *)reply->message;
}

/* procsim's ledger, read into a buffer of the heap (it is large); NULL on failure. */
static procsim_ledger *ledger_read(const adapter_harness *h) {
  procsim_ledger *ledger = malloc(sizeof *ledger);
  if (ledger != NULL && procsim_read_ledger(&h->control, ledger)) return ledger;
  fprintf(stderr, "adapter harness: procsim's ledger could not be read\n");
  free(ledger);
  return NULL;
}

bool adapter_harness_payment(const adapter_harness *h, const char *reference,
                             procsim_payment *out) {
  procsim_ledger *ledger = ledger_read(h);
  if (ledger == NULL) return false;
  const procsim_payment *p = procsim_find(ledger, reference);
  if (p == NULL) fprintf(stderr, "procsim has no payment %s\n", reference);
  if (p != NULL) *out = *p;
  free(ledger);
  return p != NULL;
}

long adapter_harness_payment_count(const adapter_harness *h, const char *merchant_reference) {
  procsim_ledger *ledger = ledger_read(h);
  if (ledger == NULL) return -1;
  long count = 0;
  for (size_t i = 0; i < ledger->count; i++) {
    if (merchant_reference == NULL ||
        strcmp(ledger->payments[i].merchant_reference, merchant_reference) == 0) {
      count++;
    }
  }
  free(ledger);
  return count;
}

static bool log_holds_secret(const char *log, const char *const *secrets) {
  for (size_t i = 0; secrets != NULL && secrets[i] != NULL; i++) {
    if (child_log_contains(log, secrets[i])) return true;
  }
  return false;
}

bool adapter_harness_close(adapter_harness *h, const char *const *secrets) {
  if (h->dir[0] == '\0') return false; /* never opened */
  if (h->client != NULL) test_client_destroy(h->client);
  h->client = NULL;
  int exit_status = child_stop(&h->adapter, ADAPTER_HARNESS_STOP_TIMEOUT_MS);
  bool sanitizer = child_log_has_sanitizer_report(h->log);
  bool leaked = log_holds_secret(h->log, secrets);
  int procsim_status = procsim_stop(&h->procsim, PROCSIM_STOP_TIMEOUT_MS);
  bool socket_gone = access(h->socket, F_OK) != 0;
  bool clean = exit_status == 0 && !sanitizer && !leaked && procsim_status == 0 && socket_gone;
  if (!clean) {
    fprintf(stderr,
            "adapter exit %d, sanitizer report %d, secret in log %d, procsim exit %d, "
            "socket left %d\n",
            exit_status, sanitizer, leaked, procsim_status, !socket_gone);
    child_print_log(h->log, "adapter");
    procsim_print_log(&h->procsim, "procsim");
  }
  procsim_destroy(&h->procsim);
  remove_dir(h->dir);
  h->dir[0] = '\0';
  return clean;
}
