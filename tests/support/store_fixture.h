/* A store on a fresh temporary data dir, for unit tests of the storage layer, and a way
 * to run one write command and wait for it.
 *
 * store_fixture_create makes a directory /tmp/ccpay-test-<name>-XXXXXX (mkdtemp, so
 * 0700 and never shared) and, unless told otherwise, opens a store on it. The fixture
 * owns both: store_fixture_destroy closes the store if it is open, then removes
 * data.mdb, lock.mdb and the directory. Nothing else is removed, so a test that puts
 * more into the directory removes it itself, or the directory stays behind.
 *
 * No cmocka here: every failure comes back as a ccpay_err with the error filled, for the
 * test to assert on. Open, close and destroy on the main thread, as store_open and
 * store_close. */
#ifndef CCPAY_TESTS_SUPPORT_STORE_FIXTURE_H
#define CCPAY_TESTS_SUPPORT_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "storage/store.h"

enum {
  STORE_FIXTURE_MAP_BYTES = 64 << 20, /* the default map: ample for any unit test */
  STORE_FIXTURE_DIR_BYTES = 128,
};

typedef struct store_fixture_options {
  const char *name;            /* in the directory's name, e.g. "ids"; NULL: "store" */
  uint64_t map_size_bytes;     /* 0: STORE_FIXTURE_MAP_BYTES */
  unsigned queue_commands_max; /* 0: the store's default */
  bool closed;                 /* only make the directory: the test opens the store */
} store_fixture_options;

typedef struct store_fixture {
  char dir[STORE_FIXTURE_DIR_BYTES];
  store *s; /* the open store; NULL while closed */
  /* What store_fixture_open uses, defaults filled in; a test may change them between a
   * close and an open (e.g. to reopen with a larger map). */
  uint64_t map_size_bytes;
  unsigned queue_commands_max;
} store_fixture;

/* Makes the directory and, unless options->closed, opens the store; options may be NULL
 * for all defaults. On failure nothing is left behind and *out is NULL. Errors: those of
 * store_open; CCPAY_ERR_STORAGE when the directory cannot be made; CCPAY_ERR_INTERNAL
 * when out of memory. */
ccpay_err store_fixture_create(const store_fixture_options *options, store_fixture **out,
                               ccpay_error *error);

/* Opens the store on f->dir with f's map size and queue bound. CCPAY_ERR_INVALID_STATE
 * when it is already open; else store_open's errors, with f->s left NULL. */
ccpay_err store_fixture_open(store_fixture *f, ccpay_error *error);

/* Closes the store if it is open (store_close: queued writes finish first). */
void store_fixture_close(store_fixture *f);

/* Closes the store if it is open and opens it again: a restart on the same data. */
ccpay_err store_fixture_reopen(store_fixture *f, ccpay_error *error);

/* Closes the store if it is open, removes data.mdb, lock.mdb and the directory, and
 * frees f. f may be NULL. */
void store_fixture_destroy(store_fixture *f);

/* Setup and teardown in the shape cmocka wants, int (void **state), for
 * cmocka_unit_test_setup_teardown: setup creates a fixture with options into *state
 * (printing the error and returning -1 on failure); teardown destroys *state. */
int store_fixture_setup(void **state, const store_fixture_options *options);
int store_fixture_teardown(void **state);

/* One write command's work, run on the writer thread in the command's transaction. */
typedef ccpay_err (*store_fixture_write_fn)(store_txn *txn, void *context, ccpay_error *error);

/* Submits a command that runs fn(txn, context, error) and waits until its done callback
 * has run, so the result is committed (or refused) on return. Returns the command's
 * result; copies its error into *error when error is non-NULL. Never call it from the
 * writer thread: it would wait for itself. */
ccpay_err store_fixture_write(store *s, store_fixture_write_fn fn, void *context,
                              ccpay_error *error);

#endif
