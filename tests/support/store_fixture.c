#include "store_fixture.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ccpay_err store_fixture_create(const store_fixture_options *options, store_fixture **out,
                               ccpay_error *error) {
  *out = NULL;
  store_fixture_options defaults = {0};
  if (options == NULL) options = &defaults;
  store_fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "store_fixture: out of memory");
  f->map_size_bytes =
      options->map_size_bytes != 0 ? options->map_size_bytes : STORE_FIXTURE_MAP_BYTES;
  f->queue_commands_max = options->queue_commands_max;
  const char *name = options->name != NULL ? options->name : "store";
  int n = snprintf(f->dir, sizeof f->dir, "/tmp/ccpay-test-%s-XXXXXX", name);
  if (n < 0 || (size_t)n >= sizeof f->dir) {
    free(f);
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "store_fixture: name too long");
  }
  if (mkdtemp(f->dir) == NULL) {
    ccpay_err err = ccpay_error_set(error, CCPAY_ERR_STORAGE, "store_fixture: mkdtemp %s: %s",
                                    f->dir, strerror(errno));
    free(f);
    return err;
  }
  if (!options->closed) {
    ccpay_err err = store_fixture_open(f, error);
    if (err != CCPAY_OK) {
      store_fixture_destroy(f);
      return err;
    }
  }
  *out = f;
  return CCPAY_OK;
}

ccpay_err store_fixture_open(store_fixture *f, ccpay_error *error) {
  if (f->s != NULL) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "store_fixture: already open");
  }
  store_options options = {.data_dir = f->dir,
                           .map_size_bytes = f->map_size_bytes,
                           .queue_commands_max = f->queue_commands_max};
  store *s = NULL;
  ccpay_err err = store_open(&options, &s, error);
  if (err == CCPAY_OK) f->s = s;
  return err;
}

void store_fixture_close(store_fixture *f) {
  if (f->s != NULL) store_close(f->s);
  f->s = NULL;
}

ccpay_err store_fixture_reopen(store_fixture *f, ccpay_error *error) {
  store_fixture_close(f);
  return store_fixture_open(f, error);
}

void store_fixture_destroy(store_fixture *f) {
  if (f == NULL) return;
  store_fixture_close(f);
  /* Only what LMDB makes: anything a test left keeps the directory, so it shows. */
  const char *files[] = {"data.mdb", "lock.mdb"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
    if (n > 0 && (size_t)n < sizeof path) unlink(path);
  }
  rmdir(f->dir);
  free(f);
}

int store_fixture_setup(void **state, const store_fixture_options *options) {
  store_fixture *f = NULL;
  ccpay_error error;
  if (store_fixture_create(options, &f, &error) != CCPAY_OK) {
    fprintf(stderr, "store_fixture: %s\n", error.message);
    return -1;
  }
  *state = f;
  return 0;
}

int store_fixture_teardown(void **state) {
  store_fixture_destroy(*state);
  *state = NULL;
  return 0;
}

/* --- One write, waited for ------------------------------------------------------------ */

typedef struct fixture_write {
  store_write w;
  store_fixture_write_fn fn;
  void *context;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool done;
} fixture_write;

static ccpay_err fixture_write_execute(store_txn *txn, store_write *w) {
  fixture_write *t = w->context;
  return t->fn(txn, t->context, &w->error);
}

static void fixture_write_done(store_write *w) {
  fixture_write *t = w->context;
  pthread_mutex_lock(&t->mutex);
  t->done = true;
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->mutex);
}

ccpay_err store_fixture_write(store *s, store_fixture_write_fn fn, void *context,
                              ccpay_error *error) {
  fixture_write t = {.fn = fn, .context = context};
  t.w = (store_write){.execute = fixture_write_execute, .done = fixture_write_done, .context = &t};
  pthread_mutex_init(&t.mutex, NULL);
  pthread_cond_init(&t.cond, NULL);
  store_write_submit(s, &t.w);
  pthread_mutex_lock(&t.mutex);
  while (!t.done) pthread_cond_wait(&t.cond, &t.mutex);
  pthread_mutex_unlock(&t.mutex);
  pthread_cond_destroy(&t.cond);
  pthread_mutex_destroy(&t.mutex);
  if (error != NULL) *error = t.w.error;
  return t.w.result;
}
