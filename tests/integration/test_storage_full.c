/* Full storage, through the real ccpayd: an LMDB map that fills up (--map-size 1M) and a
 * data directory on a small filesystem (a tmpfs of fixed size that the test mounts; it
 * needs root, and says so and skips when mounting is impossible).
 *
 * In both, writes go on until the server refuses one. Then: the refusal is
 * RESOURCE_EXHAUSTED / STORAGE_FULL with a message that says what is full; the server
 * still serves reads and health; every acknowledged write is there; `ccpay-admin verify`
 * passes on the stopped database; and service resumes when space returns (a restart with
 * a larger map; the filesystem grown while ccpayd runs), the refused request_id included,
 * since a refused write stored nothing. Last, fsync errors (a preloaded shim fails the
 * syncs): no write is acknowledged while they last, and service resumes after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ccpay/v1/customer.pb-c.h"
#include "ccpayd_fixture.h"
#include "grpc/health/v1/health.pb-c.h"
#include "order_calls.h"

enum {
  WRITES_MAX = 20000, /* far more than either space holds: the loop always ends */
  IDS_MAX = WRITES_MAX,
  VERIFY_TIMEOUT_MS = 60000,
};

#define TMPFS_SMALL "size=1m"
#define TMPFS_LARGE "size=64m"

typedef struct full_state {
  ccpayd_process server;
  test_client *client;
  bool mounted;
  bool passed;
  char (*ids)[TEST_ID_BYTES];
  size_t id_count;
  rid refused; /* the request_id of the first refused write */
} full_state;

static int setup(void **state) {
  full_state *s = calloc(1, sizeof *s);
  if (s == NULL || !ccpayd_init(&s->server)) return -1;
  s->ids = calloc(IDS_MAX, TEST_ID_BYTES);
  if (s->ids == NULL) return -1;
  *state = s;
  return 0;
}

static int teardown(void **state) {
  full_state *s = *state;
  if (s->client != NULL) test_client_destroy(s->client);
  /* The server stops before its data directory is unmounted, and that before it is
   * removed. */
  int status =
      s->mounted && s->server.pid != 0 ? ccpayd_stop(&s->server, CCPAYD_STOP_TIMEOUT_MS) : 0;
  if (s->mounted && umount2(s->server.data_dir, MNT_DETACH) != 0) {
    fprintf(stderr, "umount %s: %s\n", s->server.data_dir, strerror(errno));
  }
  bool clean = ccpayd_finish(&s->server, s->passed) && status == 0;
  free(s->ids);
  free(s);
  return clean ? 0 : -1;
}

static void start(full_state *s, const char *map_size) {
  const char *args[] = {"--map-size", map_size, NULL};
  assert_true(ccpayd_start(&s->server, args));
  if (s->client != NULL) test_client_destroy(s->client);
  s->client = test_client_create(s->server.port);
  assert_non_null(s->client);
  test_client_set_token(s->client, s->server.admin_token);
}

static void assert_serving(full_state *s) {
  Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  test_reply r;
  test_client_call(s->client, "/grpc.health.v1.Health/Check", &request.base,
                   &grpc__health__v1__health_check_response__descriptor, 0, &r);
  assert_int_equal(r.status, GRPC_STATUS_OK);
  test_reply_clear(&r);
}

/* A customer with a long name, so each write takes room. */
static grpc_status_code create(full_state *s, const char *request_id, test_reply *r) {
  char name[201];
  memset(name, 'N', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  memcpy(name, "Full ", 5);
  return call_create_customer(s->client, request_id, name, "USD", 30, r);
}

/* Writes until the server refuses one; checks the refusal. Returns how many were taken. */
static size_t fill(full_state *s, const char *what_is_full) {
  size_t before = s->id_count;
  for (int i = 0; i < WRITES_MAX; i++) {
    rid id = next_rid("fill");
    test_reply r;
    create(s, id.text, &r);
    if (r.status == GRPC_STATUS_OK) {
      assert_true(s->id_count < IDS_MAX);
      snprintf(s->ids[s->id_count++], TEST_ID_BYTES, "%s", REPLY_AS(Ccpay__V1__Customer, &r)->id);
      test_reply_clear(&r);
      continue;
    }
    assert_reply(&r, GRPC_STATUS_RESOURCE_EXHAUSTED, "STORAGE_FULL", what_is_full);
    print_message("refused after %zu writes: %s\n", s->id_count - before, r.details);
    s->refused = id;
    test_reply_clear(&r);
    /* Sent again: refused the same way, or taken whole (LMDB may reuse pages freed since);
     * never anything else. */
    create(s, id.text, &r);
    if (r.status == GRPC_STATUS_OK) {
      snprintf(s->ids[s->id_count++], TEST_ID_BYTES, "%s", REPLY_AS(Ccpay__V1__Customer, &r)->id);
    } else {
      assert_reply(&r, GRPC_STATUS_RESOURCE_EXHAUSTED, "STORAGE_FULL", NULL);
    }
    test_reply_clear(&r);
    return s->id_count - before;
  }
  fail_msg("%d writes and still not full", WRITES_MAX);
  return 0;
}

/* Every acknowledged write reads back. */
static void assert_all_present(full_state *s) {
  for (size_t i = 0; i < s->id_count; i++) {
    test_reply r;
    call_get_customer(s->client, s->ids[i], &r);
    if (r.status != GRPC_STATUS_OK) fail_msg("acknowledged customer %s is gone", s->ids[i]);
    test_reply_clear(&r);
  }
}

/* Stops the server and proves the database with ccpay-admin verify. */
static void stop_and_verify(full_state *s) {
  test_client_destroy(s->client);
  s->client = NULL;
  assert_int_equal(ccpayd_stop(&s->server, CCPAYD_STOP_TIMEOUT_MS), 0);
  const char *args[] = {"verify", "--data-dir", s->server.data_dir, NULL};
  static char output[1 << 16];
  int status = ccpayd_run_program(&s->server, ccpayd_admin_path(), args, VERIFY_TIMEOUT_MS, output,
                                  sizeof output);
  if (status != 0) fail_msg("ccpay-admin verify exited %d: %s", status, output);
}

/* The refused request_id now succeeds, and so do new writes. */
static void assert_writes_resume(full_state *s) {
  test_reply r;
  create(s, s->refused.text, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
  rid id = next_rid("after");
  create(s, id.text, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  test_reply_clear(&r);
}

static void test_map_full(void **state) {
  full_state *s = *state;
  start(s, "1M");
  size_t taken = fill(s, "--map-size");
  assert_true(taken > 0);
  assert_serving(s);
  assert_all_present(s); /* reads go on */
  stop_and_verify(s);
  start(s, "64M"); /* space returns */
  assert_all_present(s);
  assert_writes_resume(s);
  stop_and_verify(s);
  s->passed = true;
}

static void test_small_filesystem(void **state) {
  full_state *s = *state;
  if (mkdir(s->server.data_dir, 0700) != 0 && errno != EEXIST) fail_msg("mkdir");
  if (mount("tmpfs", s->server.data_dir, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_SMALL) != 0) {
    print_message(
        "SKIPPED: cannot mount a tmpfs (%s): run as root for the small-filesystem "
        "test\n",
        strerror(errno));
    s->passed = true;
    skip();
  }
  s->mounted = true;
  start(s, "64M"); /* the map is larger than the filesystem */
  size_t taken = fill(s, "no space left");
  assert_true(taken > 0);
  assert_serving(s);
  assert_all_present(s);
  /* Space returns while ccpayd runs: writes resume without a restart. */
  assert_int_equal(
      mount("tmpfs", s->server.data_dir, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, TMPFS_LARGE),
      0);
  assert_writes_resume(s);
  assert_all_present(s);
  stop_and_verify(s);
  s->passed = true;
}

/* fsync errors: with the syncs failing (an LD_PRELOAD shim), a write is never
 * acknowledged; it answers INTERNAL / STORAGE_ERROR, reads go on, and once the syncs work
 * again the same request_id is taken and the database verifies. */
static void test_sync_errors(void **state) {
  full_state *s = *state;
  char control[PATH_MAX + 16];
  int n = snprintf(control, sizeof control, "%s/syncs-fail", s->server.dir);
  assert_true(n > 0 && (size_t)n < sizeof control);
  assert_int_equal(setenv("CCPAY_IO_FAULT_FILE", control, 1), 0);
  assert_int_equal(setenv("LD_PRELOAD", IO_FAULT_PATH, 1), 0);
  start(s, "64M");
  unsetenv("LD_PRELOAD");
  unsetenv("CCPAY_IO_FAULT_FILE");
  for (int i = 0; i < 5; i++) {
    rid id = next_rid("before");
    test_reply r;
    create(s, id.text, &r);
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    snprintf(s->ids[s->id_count++], TEST_ID_BYTES, "%s", REPLY_AS(Ccpay__V1__Customer, &r)->id);
    test_reply_clear(&r);
  }
  FILE *on = fopen(control, "w");
  assert_non_null(on);
  fclose(on);
  s->refused = next_rid("sync-fails");
  for (int attempt = 0; attempt < 3; attempt++) {
    test_reply r;
    create(s, s->refused.text, &r);
    assert_reply(&r, GRPC_STATUS_INTERNAL, "STORAGE_ERROR", "Input/output error");
    test_reply_clear(&r);
  }
  assert_serving(s);
  assert_all_present(s);
  assert_int_equal(unlink(control), 0);
  assert_writes_resume(s);
  assert_all_present(s);
  stop_and_verify(s);
  s->passed = true;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
      cmocka_unit_test_setup_teardown(test_small_filesystem, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
