/* One ccpay-adapter-<processor> under test against the real ccpay-procsim: what the
 * adapter integration tests share.
 *
 * adapter_harness_open makes a 0700 directory from mkdtemp under /tmp and starts procsim;
 * the test then writes the adapter's config (adapter_harness_write_file, 0600) to
 * h->config, naming procsim's port and CA, and adapter_harness_start runs the adapter on
 * h->socket (in a subdirectory the adapter makes 0700) with its output in h->log, and
 * connects the client once GetCapabilities answers. adapter_harness_close stops both and
 * says whether the run was clean. Every wait is bounded; only the pids started here are
 * signalled, and each child gets SIGKILL if the thread that started it dies, so open the
 * harness from the test's main thread. Not thread-safe. No cmocka: the test asserts on
 * what these return. */
#ifndef CCPAY_TESTS_SUPPORT_ADAPTER_HARNESS_H
#define CCPAY_TESTS_SUPPORT_ADAPTER_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ccpay/gateway/v1/gateway.pb-c.h"
#include "child_process.h"
#include "procsim_control.h"
#include "procsim_process.h"
#include "test_client.h"

enum {
  ADAPTER_HARNESS_START_TIMEOUT_MS = 10000, /* for the socket, then for an answer */
  ADAPTER_HARNESS_STOP_TIMEOUT_MS = 15000,  /* > the runtime's 5 s drain and HTTP abort */
  ADAPTER_HARNESS_RUN_TIMEOUT_MS = 10000,   /* adapter_harness_run */
  ADAPTER_HARNESS_ARGS_MAX = 16,            /* extra adapter arguments */
};

typedef struct adapter_harness {
  procsim_process procsim;
  procsim_control control; /* procsim's control API: faults, ledger */
  child_process adapter;
  const char *adapter_path; /* the binary, from adapter_harness_open */
  char dir[PATH_MAX];       /* 0700: config, log, and the socket's directory */
  char config[PATH_MAX];    /* dir/<name>.ini: the test writes it */
  char socket[PATH_MAX];    /* dir/run/<name>.sock */
  char log[PATH_MAX];       /* dir/adapter.log: the adapter's stdout and stderr */
  test_client *client;      /* once started */
} adapter_harness;

/* Makes the directory (/tmp/ccpay-<name>-it-XXXXXX), fills the paths and starts procsim
 * with procsim_args (NULL-terminated, may be NULL). name is the processor ("stripe");
 * adapter_path the adapter binary (kept, not copied). False (message on stderr, all
 * undone) on failure. */
bool adapter_harness_open(adapter_harness *h, const char *name, const char *adapter_path,
                          const char *const *procsim_args);

/* Writes text to path, created or truncated with mode (also when the file existed). */
bool adapter_harness_write_file(const char *path, const char *text, mode_t mode);

/* out = h->dir/name; false when it does not fit. */
bool adapter_harness_path(const adapter_harness *h, const char *name, char *out, size_t size);

/* Starts the adapter with --config h->config --socket h->socket and extra_args
 * (NULL-terminated, at most ADAPTER_HARNESS_ARGS_MAX, may be NULL), waits for the socket,
 * connects h->client and waits until GetCapabilities answers OK. False (adapter log
 * printed, adapter stopped) when it did not. */
bool adapter_harness_start(adapter_harness *h, const char *const *extra_args);

/* Runs the adapter with config and socket to its exit (at most
 * ADAPTER_HARNESS_RUN_TIMEOUT_MS), output in log; returns its exit status. */
int adapter_harness_run(const adapter_harness *h, const char *config, const char *socket,
                        const char *log);

/* Calls /ccpay.gateway.v1.Gateway/<method> with an OperationResult answer, deadline_ms
 * (0: the client's default). On a status other than OK prints the status and the
 * adapter's log. Fills *reply (release with test_reply_clear); returns the result, NULL
 * unless the status is OK and a result arrived. */
const Ccpay__Gateway__V1__OperationResult *adapter_harness_call(adapter_harness *h,
                                                                const char *method,
                                                                const ProtobufCMessage *request,
                                                                int deadline_ms, test_reply *reply);

/* procsim's record of the payment whose reference is reference, copied into *out. False
 * (message on stderr) when the ledger could not be read or holds no such payment. */
bool adapter_harness_payment(const adapter_harness *h, const char *reference, procsim_payment *out);

/* How many payments procsim holds in all / with merchant_reference; -1 when the ledger
 * could not be read. */
long adapter_harness_payment_count(const adapter_harness *h, const char *merchant_reference);

/* Stops the client, the adapter (SIGTERM, bounded) and procsim, removes the directory and
 * returns true when the run was clean: both exited 0, the adapter's log holds no
 * sanitizer report and none of secrets (NULL-terminated, may be NULL), and the socket is
 * gone. Prints why and both logs when not. Safe after a failed start. */
bool adapter_harness_close(adapter_harness *h, const char *const *secrets);

#endif
