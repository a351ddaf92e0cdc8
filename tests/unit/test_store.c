/* The store: reads, writes, cursors, the batching writer, a full map, shutdown, and
 * the customer records with their indexes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/limits.h"
#include "storage/customers.h"
#include "storage/ids.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "store_fixture.h"

/* --- A store on a data dir under /tmp, removed after the test ------------------------ */

/* A small write queue keeps the queue-full test quick, also under ASan. */
enum {
  TEST_QUEUE_COMMANDS_MAX = 1024
}; /* above the 800 commands test_batches_from_threads queues */

static const store_fixture_options test_options = {.name = "store",
                                                   .queue_commands_max = TEST_QUEUE_COMMANDS_MAX};

static int setup(void **state) { return store_fixture_setup(state, &test_options); }

/* As setup, without opening the store: the test picks the map size. */
static int setup_closed(void **state) {
  store_fixture_options options = test_options;
  options.closed = true;
  return store_fixture_setup(state, &options);
}

static void test_open(store_fixture *env) {
  ccpay_error error;
  assert_int_equal(store_fixture_open(env, &error), CCPAY_OK);
}

static void test_reopen(store_fixture *env) {
  ccpay_error error;
  assert_int_equal(store_fixture_reopen(env, &error), CCPAY_OK);
}

/* Opens a store as the fixture does, on a data dir the test names. */
static ccpay_err test_open_at(const char *dir, store **out, ccpay_error *error) {
  store_options options = {.data_dir = dir,
                           .map_size_bytes = STORE_FIXTURE_MAP_BYTES,
                           .queue_commands_max = TEST_QUEUE_COMMANDS_MAX};
  return store_open(&options, out, error);
}

/* --- A gate: a command that holds the writer until opened, so that what is submitted
 * meanwhile queues up and runs as known batches. ---------------------------------------- */

typedef struct gate {
  store_write w;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool entered, open, done;
} gate;

static ccpay_err gate_execute(store_txn *txn, store_write *w) {
  (void)txn;
  gate *g = w->context;
  pthread_mutex_lock(&g->mutex);
  g->entered = true;
  pthread_cond_broadcast(&g->cond);
  while (!g->open) pthread_cond_wait(&g->cond, &g->mutex);
  pthread_mutex_unlock(&g->mutex);
  return CCPAY_OK;
}

static void gate_done(store_write *w) {
  gate *g = w->context;
  pthread_mutex_lock(&g->mutex);
  g->done = true;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->mutex);
}

/* Submits the gate and waits until the writer is inside it. */
static void gate_close(store *s, gate *g) {
  memset(g, 0, sizeof *g);
  pthread_mutex_init(&g->mutex, NULL);
  pthread_cond_init(&g->cond, NULL);
  g->w = (store_write){.execute = gate_execute, .done = gate_done, .context = g};
  store_write_submit(s, &g->w);
  pthread_mutex_lock(&g->mutex);
  while (!g->entered) pthread_cond_wait(&g->cond, &g->mutex);
  pthread_mutex_unlock(&g->mutex);
}

static void gate_open(gate *g) {
  pthread_mutex_lock(&g->mutex);
  g->open = true;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->mutex);
}

static void gate_wait_done(gate *g) {
  pthread_mutex_lock(&g->mutex);
  while (!g->done) pthread_cond_wait(&g->cond, &g->mutex);
  pthread_mutex_unlock(&g->mutex);
  assert_int_equal(g->w.result, CCPAY_OK);
  pthread_cond_destroy(&g->cond);
  pthread_mutex_destroy(&g->mutex);
}

/* --- Asynchronous puts, counted as they finish ---------------------------------------------- */

typedef struct tracker {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  unsigned done;
} tracker;

typedef struct put_write {
  store_write w;
  tracker *t;
  uint64_t key;
  size_t value_len; /* 0: a short value naming the key */
  bool fail;        /* put, then fail: the put must vanish */
  bool silent;      /* fail without filling w->error */
  unsigned done_seq;
} put_write;

static void tracker_init(tracker *t) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->mutex, NULL);
  pthread_cond_init(&t->cond, NULL);
}

static void tracker_wait(tracker *t, unsigned count) {
  pthread_mutex_lock(&t->mutex);
  while (t->done < count) pthread_cond_wait(&t->cond, &t->mutex);
  pthread_mutex_unlock(&t->mutex);
}

static ccpay_err put_execute(store_txn *txn, store_write *w) {
  put_write *p = w->context;
  uint8_t key[8];
  key_put_u64(key, p->key);
  ccpay_err err;
  if (p->value_len > 0) {
    uint8_t *space = NULL;
    err = store_put_reserve(txn, STORE_DB_META, key, sizeof key, p->value_len, &space, &w->error);
    if (err == CCPAY_OK) memset(space, 'v', p->value_len);
  } else {
    char value[32];
    int len = snprintf(value, sizeof value, "value-%llu", (unsigned long long)p->key);
    err = store_put(txn, STORE_DB_META, key, sizeof key, value, (size_t)len, &w->error);
  }
  if (err != CCPAY_OK) return err;
  if (p->silent) return CCPAY_ERR_INVALID_STATE;
  if (p->fail) return ccpay_error_set(&w->error, CCPAY_ERR_INVALID_STATE, "failing on purpose");
  return CCPAY_OK;
}

static void put_done(store_write *w) {
  put_write *p = w->context;
  pthread_mutex_lock(&p->t->mutex);
  p->done_seq = ++p->t->done;
  pthread_cond_broadcast(&p->t->cond);
  pthread_mutex_unlock(&p->t->mutex);
}

static void put_write_init(put_write *p, tracker *t, uint64_t key) {
  memset(p, 0, sizeof *p);
  p->t = t;
  p->key = key;
  p->w = (store_write){.execute = put_execute, .done = put_done, .context = p};
}

/* Whether key is in META, in a fresh read transaction; its value in *value_len. */
static bool test_key_present(store *s, uint64_t key_value, size_t *value_len) {
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
  uint8_t key[8];
  key_put_u64(key, key_value);
  store_val value;
  ccpay_err err = store_get(txn, STORE_DB_META, key, sizeof key, &value, &error);
  assert_true(err == CCPAY_OK || err == CCPAY_ERR_NOT_FOUND);
  if (err == CCPAY_OK && value_len != NULL) *value_len = value.len;
  store_read_end(txn);
  return err == CCPAY_OK;
}

/* --- Reads, writes, messages, cursors -------------------------------------------------------- */

static ccpay_err basics_execute(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  ccpay_err err = store_put(txn, STORE_DB_META, "a", 1, "1", 1, error);
  if (err == CCPAY_OK) err = store_put(txn, STORE_DB_META, "b", 1, "2", 1, error);
  if (err == CCPAY_OK) err = store_put(txn, STORE_DB_META, "a", 1, "11", 2, error); /* replaces */
  if (err == CCPAY_OK) err = store_delete(txn, STORE_DB_META, "b", 1, error);
  if (err != CCPAY_OK) return err;
  if (store_delete(txn, STORE_DB_META, "b", 1, error) != CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "deleted twice");
  }
  /* Undecodable bytes where a message belongs. */
  const uint8_t garbage[] = {0xff, 0xff, 0xff};
  err = store_put(txn, STORE_DB_CUSTOMERS, "x", 1, garbage, sizeof garbage, error);
  if (err != CCPAY_OK) return err;
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "JPY";
  money.amount_minor = -1234;
  return store_put_message(txn, STORE_DB_META, "m", 1, &money.base, error);
}

static void test_basics(void **state) {
  store_fixture *env = *state;
  assert_int_equal(store_fixture_write(env->s, basics_execute, NULL, NULL), CCPAY_OK);
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(env->s, &txn, &error), CCPAY_OK);
  store_val value;
  assert_int_equal(store_get(txn, STORE_DB_META, "a", 1, &value, &error), CCPAY_OK);
  assert_int_equal(value.len, 2);
  assert_memory_equal(value.data, "11", 2);
  assert_int_equal(store_get(txn, STORE_DB_META, "b", 1, &value, &error), CCPAY_ERR_NOT_FOUND);
  /* Databases are separate key spaces. */
  assert_int_equal(store_get(txn, STORE_DB_IDEMPOTENCY, "a", 1, &value, &error),
                   CCPAY_ERR_NOT_FOUND);

  arena *a = arena_create(1 << 16);
  ProtobufCMessage *message = NULL;
  assert_int_equal(store_get_message(txn, STORE_DB_META, "m", 1, &ccpay__v1__money__descriptor, a,
                                     &message, &error),
                   CCPAY_OK);
  Ccpay__V1__Money *money = (Ccpay__V1__Money *)message;
  assert_string_equal(money->currency_code, "JPY");
  assert_true(money->amount_minor == -1234);
  assert_int_equal(store_get_message(txn, STORE_DB_CUSTOMERS, "x", 1,
                                     &ccpay__v1__customer__descriptor, a, &message, &error),
                   CCPAY_ERR_STORAGE);
  assert_string_equal(error.message, "corrupt record in customers");
  assert_int_equal(store_get_message(txn, STORE_DB_CUSTOMERS, "y", 1,
                                     &ccpay__v1__customer__descriptor, a, &message, &error),
                   CCPAY_ERR_NOT_FOUND);
  arena_destroy(a);
  store_read_end(txn);
}

static ccpay_err cursor_fill_execute(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  for (uint64_t k = 10; k <= 30; k += 10) {
    uint8_t key[8];
    key_put_u64(key, k);
    ccpay_err err = store_put(txn, STORE_DB_CUSTOMERS_BY_NAME, key, sizeof key, "", 0, error);
    if (err != CCPAY_OK) return err;
  }
  return CCPAY_OK;
}

/* Seeks to target in direction; the u64 key found, or 0 when none. */
static uint64_t cursor_seek_u64(store_cursor *c, store_direction direction, uint64_t target,
                                bool whole) {
  uint8_t key[8];
  key_put_u64(key, target);
  store_val found;
  if (!store_cursor_seek(c, direction, key, whole ? 0 : sizeof key, &found, NULL)) return 0;
  assert_int_equal(found.len, 8);
  return key_get_u64(found.data);
}

static void test_cursor_seek_and_step(void **state) {
  store_fixture *env = *state;
  assert_int_equal(store_fixture_write(env->s, cursor_fill_execute, NULL, NULL), CCPAY_OK);
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(env->s, &txn, &error), CCPAY_OK);
  store_cursor *c = NULL;
  assert_int_equal(store_cursor_open(txn, STORE_DB_CUSTOMERS_BY_NAME, &c, &error), CCPAY_OK);

  assert_true(cursor_seek_u64(c, STORE_FORWARD, 0, true) == 10);
  assert_true(cursor_seek_u64(c, STORE_FORWARD, 15, false) == 20);
  assert_true(cursor_seek_u64(c, STORE_FORWARD, 30, false) == 30);
  assert_true(cursor_seek_u64(c, STORE_FORWARD, 31, false) == 0);
  assert_true(cursor_seek_u64(c, STORE_BACKWARD, 0, true) == 30);
  assert_true(cursor_seek_u64(c, STORE_BACKWARD, 15, false) == 10);
  assert_true(cursor_seek_u64(c, STORE_BACKWARD, 20, false) == 20);
  assert_true(cursor_seek_u64(c, STORE_BACKWARD, 99, false) == 30);
  assert_true(cursor_seek_u64(c, STORE_BACKWARD, 5, false) == 0);

  store_val key;
  assert_true(cursor_seek_u64(c, STORE_FORWARD, 20, false) == 20);
  assert_true(store_cursor_step(c, STORE_FORWARD, &key, NULL));
  assert_true(key_get_u64(key.data) == 30);
  assert_false(store_cursor_step(c, STORE_FORWARD, &key, NULL));
  assert_true(cursor_seek_u64(c, STORE_BACKWARD, 20, false) == 20);
  assert_true(store_cursor_step(c, STORE_BACKWARD, &key, NULL));
  assert_true(key_get_u64(key.data) == 10);
  assert_false(store_cursor_step(c, STORE_BACKWARD, &key, NULL));
  assert_int_equal(store_cursor_error(c, &error), CCPAY_OK); /* the ends were no errors */
  store_cursor_close(c);

  /* An empty database has no first or last entry. */
  assert_int_equal(store_cursor_open(txn, STORE_DB_CUSTOMERS_BY_PHONE, &c, &error), CCPAY_OK);
  assert_false(store_cursor_seek(c, STORE_FORWARD, NULL, 0, &key, NULL));
  assert_false(store_cursor_seek(c, STORE_BACKWARD, NULL, 0, &key, NULL));
  assert_int_equal(store_cursor_error(c, &error), CCPAY_OK);
  store_cursor_close(c);
  store_read_end(txn);
}

static ccpay_err schema_execute(store_txn *txn, void *context, ccpay_error *error) {
  (void)context;
  uint8_t be[8];
  key_put_u64(be, 2);
  return store_put(txn, STORE_DB_META, "schema_version", strlen("schema_version"), be, sizeof be,
                   error);
}

static void test_open_dir_and_schema(void **state) {
  store_fixture *env = *state;
  /* A missing data dir is created, private to its user. */
  char sub_dir[STORE_FIXTURE_DIR_BYTES];
  store *sub = NULL;
  int n = snprintf(sub_dir, sizeof sub_dir, "%.64s/sub/", env->dir);
  assert_true(n > 0 && (size_t)n < sizeof sub_dir);
  ccpay_error error;
  assert_int_equal(test_open_at(sub_dir, &sub, &error), CCPAY_OK);
  struct stat st;
  assert_int_equal(stat(sub_dir, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);

  /* A data dir of another schema version is refused, and says why. */
  assert_int_equal(store_fixture_write(sub, schema_execute, NULL, NULL), CCPAY_OK);
  store_close(sub);
  sub = NULL;
  assert_int_equal(test_open_at(sub_dir, &sub, &error), CCPAY_ERR_STORAGE);
  assert_null(sub);
  assert_non_null(strstr(error.message, "schema version 2"));
  char path[256];
  snprintf(path, sizeof path, "%.128s/data.mdb", sub_dir);
  assert_int_equal(unlink(path), 0);
  snprintf(path, sizeof path, "%.128s/lock.mdb", sub_dir);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(sub_dir), 0);

  /* Only the last directory is created. */
  snprintf(sub_dir, sizeof sub_dir, "%.64s/missing/sub", env->dir);
  assert_int_equal(test_open_at(sub_dir, &sub, &error), CCPAY_ERR_STORAGE);
  assert_null(sub);
  assert_non_null(strstr(error.message, "cannot create the data dir"));
}

/* --- The writer ----------------------------------------------------------------------------- */

enum { BATCH_THREADS = 4, BATCH_PUTS_PER_THREAD = 200 };

typedef struct submitter {
  store *s;
  tracker *t;
  put_write *writes;
  unsigned thread;
} submitter;

static void *submitter_main(void *arg) {
  submitter *sub = arg;
  for (unsigned i = 0; i < BATCH_PUTS_PER_THREAD; i++) {
    put_write_init(&sub->writes[i], sub->t, ((uint64_t)sub->thread << 32) | i);
    store_write_submit(sub->s, &sub->writes[i].w);
  }
  return NULL;
}

static void test_batches_from_threads(void **state) {
  store_fixture *env = *state;
  store_stats before, after;
  store_get_stats(env->s, &before);

  gate g;
  gate_close(env->s, &g);
  tracker t;
  tracker_init(&t);
  pthread_t threads[BATCH_THREADS];
  submitter subs[BATCH_THREADS];
  for (unsigned i = 0; i < BATCH_THREADS; i++) {
    subs[i] = (submitter){.s = env->s, .t = &t, .thread = i};
    subs[i].writes = calloc(BATCH_PUTS_PER_THREAD, sizeof *subs[i].writes);
    assert_non_null(subs[i].writes);
    assert_int_equal(pthread_create(&threads[i], NULL, submitter_main, &subs[i]), 0);
  }
  for (unsigned i = 0; i < BATCH_THREADS; i++) pthread_join(threads[i], NULL);
  assert_int_equal(t.done, 0); /* all queued behind the gate */
  gate_open(&g);
  gate_wait_done(&g);
  tracker_wait(&t, BATCH_THREADS * BATCH_PUTS_PER_THREAD);

  for (unsigned i = 0; i < BATCH_THREADS; i++) {
    for (unsigned j = 0; j < BATCH_PUTS_PER_THREAD; j++) {
      put_write *p = &subs[i].writes[j];
      assert_int_equal(p->w.result, CCPAY_OK);
      /* done runs in submission order. */
      if (j > 0) assert_true(p->done_seq > subs[i].writes[j - 1].done_seq);
      if (j % 50 == 0) assert_true(test_key_present(env->s, p->key, NULL));
    }
    free(subs[i].writes);
  }
  /* 800 queued commands: the gate's batch, then ceil(800 / 256) batches. */
  store_get_stats(env->s, &after);
  unsigned total = BATCH_THREADS * BATCH_PUTS_PER_THREAD;
  unsigned expected_batches = 1 + (total + STORE_BATCH_COMMANDS_MAX - 1) / STORE_BATCH_COMMANDS_MAX;
  assert_true(after.batches_committed - before.batches_committed == expected_batches);
  assert_true(after.commands_committed - before.commands_committed == total + 1);
  assert_true(after.commands_failed == before.commands_failed);
}

static void test_failing_command_isolated(void **state) {
  store_fixture *env = *state;
  store_stats before, after;
  store_get_stats(env->s, &before);
  gate g;
  gate_close(env->s, &g);
  tracker t;
  tracker_init(&t);
  put_write writes[4];
  for (unsigned i = 0; i < 4; i++) put_write_init(&writes[i], &t, 100 + i);
  writes[1].fail = true;
  writes[3].silent = true;
  for (unsigned i = 0; i < 4; i++) store_write_submit(env->s, &writes[i].w);
  gate_open(&g);
  gate_wait_done(&g);
  tracker_wait(&t, 4);

  assert_int_equal(writes[0].w.result, CCPAY_OK);
  assert_int_equal(writes[2].w.result, CCPAY_OK);
  assert_int_equal(writes[1].w.result, CCPAY_ERR_INVALID_STATE);
  assert_int_equal(writes[1].w.error.code, CCPAY_ERR_INVALID_STATE);
  assert_string_equal(writes[1].w.error.message, "failing on purpose");
  assert_int_equal(writes[3].w.result, CCPAY_ERR_INVALID_STATE);
  assert_int_equal(writes[3].w.error.code, CCPAY_ERR_INVALID_STATE);
  assert_string_equal(writes[3].w.error.message, "write failed: INVALID_STATE");
  assert_true(test_key_present(env->s, 100, NULL));
  assert_false(test_key_present(env->s, 101, NULL)); /* its put rolled back */
  assert_true(test_key_present(env->s, 102, NULL));
  assert_false(test_key_present(env->s, 103, NULL));

  store_get_stats(env->s, &after);
  assert_true(after.batches_committed - before.batches_committed == 2); /* gate, then 4 */
  assert_true(after.commands_committed - before.commands_committed == 3);
  assert_true(after.commands_failed - before.commands_failed == 2);
}

static void test_data_survives_reopen(void **state) {
  store_fixture *env = *state;
  tracker t;
  tracker_init(&t);
  put_write writes[10];
  for (unsigned i = 0; i < 10; i++) {
    put_write_init(&writes[i], &t, 1000 + i);
    store_write_submit(env->s, &writes[i].w);
  }
  tracker_wait(&t, 10);
  test_reopen(env);
  for (unsigned i = 0; i < 10; i++) {
    assert_int_equal(writes[i].w.result, CCPAY_OK);
    assert_true(test_key_present(env->s, 1000 + i, NULL));
  }
}

static ccpay_err noop_execute(store_txn *txn, store_write *w) {
  (void)txn;
  (void)w;
  return CCPAY_OK;
}

static atomic_uint noop_done_count;

static void noop_done(store_write *w) {
  (void)w;
  atomic_fetch_add(&noop_done_count, 1);
}

static void test_queue_full(void **state) {
  store_fixture *env = *state;
  atomic_store(&noop_done_count, 0);
  gate g;
  gate_close(env->s, &g);
  store_write *writes = calloc(TEST_QUEUE_COMMANDS_MAX + 1, sizeof *writes);
  assert_non_null(writes);
  for (unsigned i = 0; i <= TEST_QUEUE_COMMANDS_MAX; i++) {
    writes[i] = (store_write){.execute = noop_execute, .done = noop_done};
    store_write_submit(env->s, &writes[i]);
  }
  /* The one past the bound was refused at once, on this thread. */
  assert_int_equal(atomic_load(&noop_done_count), 1);
  store_write *refused = &writes[TEST_QUEUE_COMMANDS_MAX];
  assert_int_equal(refused->result, CCPAY_ERR_LIMIT_EXCEEDED);
  assert_int_equal(refused->error.code, CCPAY_ERR_LIMIT_EXCEEDED);
  assert_non_null(strstr(refused->error.message, "write queue is full"));
  gate_open(&g);
  gate_wait_done(&g);
  while (atomic_load(&noop_done_count) < TEST_QUEUE_COMMANDS_MAX + 1) usleep(1000);
  for (unsigned i = 0; i < TEST_QUEUE_COMMANDS_MAX; i++) {
    assert_int_equal(writes[i].result, CCPAY_OK);
  }
  free(writes);
}

static void *closer_main(void *arg) {
  store_close(arg);
  return NULL;
}

enum { PROBES_MAX = 10000 };

static void test_close_drains_and_refuses(void **state) {
  store_fixture *env = *state;
  gate g;
  gate_close(env->s, &g);
  tracker t;
  tracker_init(&t);
  put_write *probes = calloc(PROBES_MAX, sizeof *probes);
  assert_non_null(probes);
  /* Close from another thread while the writer is held; probe until a submission is
   * refused: the ones before it were queued and must still run. */
  pthread_t closer;
  assert_int_equal(pthread_create(&closer, NULL, closer_main, env->s), 0);
  unsigned submitted = 0;
  for (; submitted < PROBES_MAX; submitted++) {
    put_write_init(&probes[submitted], &t, 5000 + submitted);
    store_write_submit(env->s, &probes[submitted].w);
    if (probes[submitted].w.result == CCPAY_ERR_SHUTTING_DOWN) break;
    usleep(100);
  }
  assert_true(submitted < PROBES_MAX);
  assert_int_equal(probes[submitted].done_seq, 1); /* refused at once, before the others */
  assert_non_null(strstr(probes[submitted].w.error.message, "shutting down"));
  gate_open(&g);
  pthread_join(closer, NULL);
  env->s = NULL;
  gate_wait_done(&g);
  assert_int_equal(t.done, submitted + 1);
  for (unsigned i = 0; i < submitted; i++) assert_int_equal(probes[i].w.result, CCPAY_OK);

  test_open(env); /* what was drained is durable */
  for (unsigned i = 0; i < submitted; i++) assert_true(test_key_present(env->s, 5000 + i, NULL));
  assert_false(test_key_present(env->s, 5000 + submitted, NULL));
  free(probes);
}

/* --- A full map ------------------------------------------------------------------------------ */

/* Puts one value of value_len bytes under key and waits; the result. */
static ccpay_err test_put_sized(store *s, uint64_t key, size_t value_len, ccpay_error *error) {
  tracker t;
  tracker_init(&t);
  put_write p;
  put_write_init(&p, &t, key);
  p.value_len = value_len;
  store_write_submit(s, &p.w);
  tracker_wait(&t, 1);
  *error = p.w.error;
  return p.w.result;
}

static void test_map_full(void **state) {
  store_fixture *env = *state;
  ccpay_error error;
  env->map_size_bytes = 64 << 10;
  assert_int_equal(store_fixture_open(env, &error), CCPAY_OK);
  unsigned stored = 0;
  ccpay_err err = CCPAY_OK;
  for (; stored < 1000; stored++) {
    err = test_put_sized(env->s, stored, 1000, &error);
    if (err != CCPAY_OK) break;
  }
  assert_int_equal(err, CCPAY_ERR_STORAGE_FULL);
  assert_true(stored > 0);
  assert_non_null(strstr(error.message, "storage full: the LMDB map of"));
  assert_non_null(strstr(error.message, "restart with a larger --map-size"));

  /* Reads still work and see everything acknowledged. */
  for (unsigned i = 0; i < stored; i++) assert_true(test_key_present(env->s, i, NULL));
  assert_false(test_key_present(env->s, stored, NULL));

  /* In one batch, a command too big for the map fails alone; a small one commits. */
  gate g;
  gate_close(env->s, &g);
  tracker t;
  tracker_init(&t);
  put_write big, small;
  put_write_init(&big, &t, 90000);
  big.value_len = 256 << 10;
  put_write_init(&small, &t, 0); /* replaces a value: needs few new pages */
  small.value_len = 10;
  store_write_submit(env->s, &big.w);
  store_write_submit(env->s, &small.w);
  gate_open(&g);
  gate_wait_done(&g);
  tracker_wait(&t, 2);
  assert_int_equal(big.w.result, CCPAY_ERR_STORAGE_FULL);
  /* The small one may still need a page the full map lacks; either way it is decided. */
  assert_true(small.w.result == CCPAY_OK || small.w.result == CCPAY_ERR_STORAGE_FULL);
  assert_false(test_key_present(env->s, 90000, NULL));

  /* The remedy in the message works: a larger map, same data. */
  env->map_size_bytes = 4 << 20;
  assert_int_equal(store_fixture_reopen(env, &error), CCPAY_OK);
  for (unsigned i = 1; i < stored; i++) assert_true(test_key_present(env->s, i, NULL));
  assert_int_equal(test_put_sized(env->s, 90000, 256 << 10, &error), CCPAY_OK);
  size_t len = 0;
  assert_true(test_key_present(env->s, 90000, &len));
  assert_int_equal(len, 256 << 10);
}

/* --- Customers ------------------------------------------------------------------------------- */

enum { CUSTOMERS_MAX = 8 };

typedef struct customer_fixture {
  const char *name, *email, *phone;
  char id[ID_TEXT_BYTES_MAX];
  uint64_t id_value;
} customer_fixture;

typedef struct customer_change {
  customer_fixture *fixtures; /* creates these (id assigned) ... */
  unsigned count;
  const Ccpay__V1__Customer *before; /* ... or updates before to after */
  const Ccpay__V1__Customer *after;
} customer_change;

static void customer_fill(Ccpay__V1__Customer *c, Ccpay__V1__Money *money, const char *id,
                          const char *name, const char *email, const char *phone) {
  ccpay__v1__customer__init(c);
  ccpay__v1__money__init(money);
  money->currency_code = "USD";
  money->amount_minor = 500;
  c->id = (char *)id;
  c->name = (char *)name;
  c->email = (char *)email;
  c->phone = (char *)phone;
  c->currency_code = "USD";
  c->credit_limit = money;
  c->balance = money; /* must not be stored */
  c->version = 1;
}

static ccpay_err customer_change_execute(store_txn *txn, void *context, ccpay_error *error) {
  customer_change *change = context;
  if (change->after != NULL) return customers_put(txn, change->before, change->after, error);
  for (unsigned i = 0; i < change->count; i++) {
    customer_fixture *f = &change->fixtures[i];
    ccpay_err err = id_next(txn, &f->id_value, error);
    if (err != CCPAY_OK) return err;
    id_format(ID_CUSTOMER, f->id_value, f->id);
    Ccpay__V1__Customer c;
    Ccpay__V1__Money money;
    customer_fill(&c, &money, f->id, f->name, f->email, f->phone);
    err = customers_put(txn, NULL, &c, error);
    if (err != CCPAY_OK) return err;
  }
  return CCPAY_OK;
}

/* Runs one search page in a read transaction; the names of the customers found, joined
 * by ",", into names; the next key into next (next_len 0 at the end). */
static ccpay_err customer_search_page(store *s, customer_search_by by, const char *value,
                                      const uint8_t *after, size_t after_len, unsigned limit,
                                      char *names, size_t names_size, uint8_t *next,
                                      size_t *next_len, ccpay_error *error) {
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(s, &txn, error), CCPAY_OK);
  arena *a = arena_create(1 << 20);
  customer_query query = {
      .by = by, .value = value, .after_key = after, .after_key_len = after_len, .limit = limit};
  customer_page page;
  ccpay_err err = customers_search(txn, &query, a, &page, error);
  names[0] = '\0';
  *next_len = 0;
  if (err == CCPAY_OK) {
    size_t used = 0;
    for (size_t i = 0; i < page.count; i++) {
      assert_null(page.customers[i]->balance);
      int n = snprintf(names + used, names_size - used, "%s%s", i > 0 ? "," : "",
                       page.customers[i]->name);
      assert_true(n > 0 && (size_t)n < names_size - used);
      used += (size_t)n;
    }
    if (page.next_key != NULL) {
      assert_true(page.next_key_len <= PAGE_TOKEN_BYTES_MAX * 8);
      memcpy(next, page.next_key, page.next_key_len);
      *next_len = page.next_key_len;
    }
  }
  arena_destroy(a);
  store_read_end(txn);
  return err;
}

/* Every page of a search, pages separated by "|". */
static void customer_search_all_pages(store *s, customer_search_by by, const char *value,
                                      unsigned limit, char *out, size_t out_size) {
  uint8_t after[STORE_KEY_BYTES_MAX], next[STORE_KEY_BYTES_MAX];
  size_t after_len = 0, next_len = 0;
  out[0] = '\0';
  size_t used = 0;
  for (int pages = 0; pages < 100; pages++) {
    char names[512];
    ccpay_error error;
    assert_int_equal(customer_search_page(s, by, value, after_len > 0 ? after : NULL, after_len,
                                          limit, names, sizeof names, next, &next_len, &error),
                     CCPAY_OK);
    int n = snprintf(out + used, out_size - used, "%s%s", pages > 0 ? "|" : "", names);
    assert_true(n >= 0 && (size_t)n < out_size - used);
    used += (size_t)n;
    if (next_len == 0) return;
    memcpy(after, next, next_len);
    after_len = next_len;
  }
  fail_msg("search did not end");
}

/* The number of entries in db. */
static unsigned test_count_entries(store *s, store_db db) {
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(s, &txn, &error), CCPAY_OK);
  store_cursor *c = NULL;
  assert_int_equal(store_cursor_open(txn, db, &c, &error), CCPAY_OK);
  unsigned count = 0;
  store_val key;
  for (bool found = store_cursor_seek(c, STORE_FORWARD, NULL, 0, &key, NULL); found;
       found = store_cursor_step(c, STORE_FORWARD, &key, NULL)) {
    count++;
  }
  store_cursor_close(c);
  store_read_end(txn);
  return count;
}

/* Oldest first: c1 .. c5. */
static customer_fixture customer_fixtures[] = {
    {"Ann Lee", "ann@example.com", "+1 (555) 010-0000", "", 0},
    {"Anna Smith", "", "555 0101", "", 0},
    {"Bob Ray", "bob@example.com", "", "", 0},
    {"ANN LEE", "ANN@Example.com", "", "", 0},
    {"Annabel", "annabel@example.com", "15550100000", "", 0},
};
enum { FIXTURES = sizeof customer_fixtures / sizeof customer_fixtures[0] };

static void customers_create(store_fixture *env) {
  customer_change change = {.fixtures = customer_fixtures, .count = FIXTURES};
  assert_int_equal(store_fixture_write(env->s, customer_change_execute, &change, NULL), CCPAY_OK);
  for (unsigned i = 1; i < FIXTURES; i++) {
    assert_true(customer_fixtures[i].id_value > customer_fixtures[i - 1].id_value);
  }
}

static void test_customers_put_get(void **state) {
  store_fixture *env = *state;
  customers_create(env);
  ccpay_error error;
  store_txn *txn = NULL;
  assert_int_equal(store_read_begin(env->s, &txn, &error), CCPAY_OK);
  arena *a = arena_create(1 << 20);
  Ccpay__V1__Customer *c = NULL;
  assert_int_equal(customers_get(txn, customer_fixtures[0].id_value, a, &c, &error), CCPAY_OK);
  assert_string_equal(c->id, customer_fixtures[0].id);
  assert_string_equal(c->name, "Ann Lee");
  assert_string_equal(c->email, "ann@example.com");
  assert_string_equal(c->phone, "+1 (555) 010-0000");
  assert_string_equal(c->currency_code, "USD");
  assert_non_null(c->credit_limit);
  assert_true(c->credit_limit->amount_minor == 500);
  assert_null(c->balance); /* from the ledger, never stored */
  assert_true(c->version == 1);

  uint64_t missing = customer_fixtures[FIXTURES - 1].id_value + 1;
  assert_int_equal(customers_get(txn, missing, a, &c, &error), CCPAY_ERR_NOT_FOUND);
  char text[ID_TEXT_BYTES_MAX], expected[128];
  id_format(ID_CUSTOMER, missing, text);
  snprintf(expected, sizeof expected, "customer %s not found", text);
  assert_string_equal(error.message, expected);
  arena_destroy(a);
  store_read_end(txn);

  /* Names always indexed; empty emails and phones not. */
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS), 5);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_NAME), 5);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_EMAIL), 4);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_PHONE), 3);
}

static void test_customers_search(void **state) {
  store_fixture *env = *state;
  customers_create(env);
  char out[1024];
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_ALL, NULL, 2, out, sizeof out);
  assert_string_equal(out, "Annabel,ANN LEE|Bob Ray,Anna Smith|Ann Lee");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_ALL, NULL, 5, out, sizeof out);
  assert_string_equal(out, "Annabel,ANN LEE,Bob Ray,Anna Smith,Ann Lee"); /* no empty page */
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_ALL, NULL, 1, out, sizeof out);
  assert_string_equal(out, "Annabel|ANN LEE|Bob Ray|Anna Smith|Ann Lee");

  /* By normalized name, then newest first; "anna smith" < "annabel" (space < "b"). */
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "ANN", 3, out, sizeof out);
  assert_string_equal(out, "ANN LEE,Ann Lee,Anna Smith|Annabel");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "anna", 10, out, sizeof out);
  assert_string_equal(out, "Anna Smith,Annabel");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "ann lee", 1, out, sizeof out);
  assert_string_equal(out, "ANN LEE|Ann Lee");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "x", 10, out, sizeof out);
  assert_string_equal(out, "");

  customer_search_all_pages(env->s, CUSTOMER_SEARCH_EMAIL, "Ann@EXAMPLE.com", 1, out, sizeof out);
  assert_string_equal(out, "ANN LEE|Ann Lee");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_EMAIL, "ann@example.co", 10, out, sizeof out);
  assert_string_equal(out, ""); /* exact, not a prefix */
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_EMAIL, "", 10, out, sizeof out);
  assert_string_equal(out, "");

  customer_search_all_pages(env->s, CUSTOMER_SEARCH_PHONE, "1-555-010-0000", 10, out, sizeof out);
  assert_string_equal(out, "Annabel,Ann Lee");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_PHONE, "555.0101", 10, out, sizeof out);
  assert_string_equal(out, "Anna Smith");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_PHONE, "555", 10, out, sizeof out);
  assert_string_equal(out, "");
}

static void test_customers_page_tokens(void **state) {
  store_fixture *env = *state;
  customers_create(env);
  char names[512];
  uint8_t next[STORE_KEY_BYTES_MAX], other[STORE_KEY_BYTES_MAX];
  size_t next_len = 0, other_len = 0;
  ccpay_error error;
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_ALL, NULL, NULL, 0, 1, names,
                                        sizeof names, next, &next_len, &error),
                   CCPAY_OK);
  assert_int_equal(next_len, 8); /* ALL resumes from the id key */
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_EMAIL, "ann@example.com", NULL, 0,
                                        1, names, sizeof names, other, &other_len, &error),
                   CCPAY_OK);
  assert_true(other_len > 8);

  /* A token from one search is refused by another. */
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_EMAIL, "bob@example.com", other,
                                        other_len, 1, names, sizeof names, next, &next_len, &error),
                   CCPAY_ERR_FIELD_INVALID);
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_ALL, NULL, other, other_len, 1,
                                        names, sizeof names, next, &next_len, &error),
                   CCPAY_ERR_FIELD_INVALID);
  /* A token whose entry has since gone still resumes after where it was. */
  uint8_t gone[8];
  key_put_u64(gone, customer_fixtures[FIXTURES - 1].id_value + 1); /* newer than all */
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_ALL, NULL, gone, sizeof gone, 10,
                                        names, sizeof names, next, &next_len, &error),
                   CCPAY_OK);
  assert_string_equal(names, "Annabel,ANN LEE,Bob Ray,Anna Smith,Ann Lee");
  assert_int_equal(next_len, 0);
  /* Resuming from a real entry starts strictly after it. */
  key_put_u64(gone, customer_fixtures[2].id_value);
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_ALL, NULL, gone, sizeof gone, 10,
                                        names, sizeof names, next, &next_len, &error),
                   CCPAY_OK);
  assert_string_equal(names, "Anna Smith,Ann Lee");
  assert_int_equal(next_len, 0);
}

static void test_customers_update_moves_index(void **state) {
  store_fixture *env = *state;
  customers_create(env);
  customer_fixture *c1 = &customer_fixtures[0];
  Ccpay__V1__Customer before, after;
  Ccpay__V1__Money money_before, money_after;
  customer_fill(&before, &money_before, c1->id, c1->name, c1->email, c1->phone);
  customer_fill(&after, &money_after, c1->id, "Ann Lee-Smith", "LEE@example.com", "");
  after.version = 2;
  customer_change change = {.before = &before, .after = &after};
  assert_int_equal(store_fixture_write(env->s, customer_change_execute, &change, NULL), CCPAY_OK);

  char out[1024];
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_EMAIL, "ann@example.com", 10, out, sizeof out);
  assert_string_equal(out, "ANN LEE");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_EMAIL, "lee@example.com", 10, out, sizeof out);
  assert_string_equal(out, "Ann Lee-Smith");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_PHONE, "15550100000", 10, out, sizeof out);
  assert_string_equal(out, "Annabel");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "ann lee", 10, out, sizeof out);
  assert_string_equal(out, "ANN LEE,Ann Lee-Smith"); /* "ann lee\0" < "ann lee-" */
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_ALL, NULL, 10, out, sizeof out);
  assert_string_equal(out, "Annabel,ANN LEE,Bob Ray,Anna Smith,Ann Lee-Smith");
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_NAME), 5);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_EMAIL), 4);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_PHONE), 2);

  /* A change of case only keeps the same entries; an added phone gets one. */
  customer_fixture *c4 = &customer_fixtures[3];
  customer_fill(&before, &money_before, c4->id, c4->name, c4->email, c4->phone);
  customer_fill(&after, &money_after, c4->id, "Ann Lee", "ann@example.com", "(555) 0199");
  change = (customer_change){.before = &before, .after = &after};
  assert_int_equal(store_fixture_write(env->s, customer_change_execute, &change, NULL), CCPAY_OK);
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "ann lee", 10, out, sizeof out);
  assert_string_equal(out, "Ann Lee,Ann Lee-Smith");
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_PHONE, "5550199", 10, out, sizeof out);
  assert_string_equal(out, "Ann Lee");
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_NAME), 5);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_EMAIL), 4);
  assert_int_equal(test_count_entries(env->s, STORE_DB_CUSTOMERS_BY_PHONE), 3);

  /* Everything holds across a restart. */
  test_reopen(env);
  customer_search_all_pages(env->s, CUSTOMER_SEARCH_EMAIL, "lee@example.com", 10, out, sizeof out);
  assert_string_equal(out, "Ann Lee-Smith");
}

static ccpay_err dangling_execute(store_txn *txn, void *context, ccpay_error *error) {
  uint64_t id = *(uint64_t *)context;
  key_builder k;
  key_init(&k);
  key_add_str(&k, "zed");
  key_add_u64(&k, ~id);
  return store_put(txn, STORE_DB_CUSTOMERS_BY_NAME, k.bytes, k.len, "", 0, error);
}

static void test_customers_dangling_index(void **state) {
  store_fixture *env = *state;
  customers_create(env);
  uint64_t missing = customer_fixtures[FIXTURES - 1].id_value + 7;
  assert_int_equal(store_fixture_write(env->s, dangling_execute, &missing, NULL), CCPAY_OK);
  char names[512];
  uint8_t next[STORE_KEY_BYTES_MAX];
  size_t next_len = 0;
  ccpay_error error;
  assert_int_equal(customer_search_page(env->s, CUSTOMER_SEARCH_NAME_PREFIX, "Zed", NULL, 0, 10,
                                        names, sizeof names, next, &next_len, &error),
                   CCPAY_ERR_STORAGE);
  assert_string_equal(error.message, "index points at missing customer");
}

/* --- after_failure: what a failed command still leaves (its audit record) ----------------------
 */

/* Puts key + 1 (the failure's trace); with fail_too, puts it and fails as well. */
static bool after_failure_fails_too;
static ccpay_err put_after_failure(store_txn *txn, store_write *w) {
  put_write *p = w->context;
  assert_int_equal(w->error.code, CCPAY_ERR_INVALID_STATE); /* the command's own error */
  uint8_t key[8];
  key_put_u64(key, p->key + 1);
  ccpay_err err = store_put(txn, STORE_DB_META, key, sizeof key, "trace", 5, &w->error);
  if (err == CCPAY_OK && after_failure_fails_too) {
    return ccpay_error_set(&w->error, CCPAY_ERR_INTERNAL, "the trace fails too");
  }
  return err;
}

static void test_after_failure_kept(void **state) {
  store_fixture *env = *state;
  tracker t;
  tracker_init(&t);
  put_write failing, fine;
  put_write_init(&failing, &t, 7000);
  failing.fail = true;
  failing.w.after_failure = put_after_failure;
  put_write_init(&fine, &t, 7100);
  fine.w.after_failure = put_after_failure; /* never runs: the command succeeds */
  store_write_submit(env->s, &failing.w);
  store_write_submit(env->s, &fine.w);
  tracker_wait(&t, 2);
  /* The command failed and says so; its own put vanished; its after_failure's stayed. */
  assert_int_equal(failing.w.result, CCPAY_ERR_INVALID_STATE);
  assert_string_equal(failing.w.error.message, "failing on purpose");
  assert_false(test_key_present(env->s, 7000, NULL));
  assert_true(test_key_present(env->s, 7001, NULL));
  assert_int_equal(fine.w.result, CCPAY_OK);
  assert_true(test_key_present(env->s, 7100, NULL));
  assert_false(test_key_present(env->s, 7101, NULL));

  /* An after_failure that fails itself leaves nothing and changes no result. */
  after_failure_fails_too = true;
  put_write_init(&failing, &t, 7200);
  failing.fail = true;
  failing.w.after_failure = put_after_failure;
  store_write_submit(env->s, &failing.w);
  tracker_wait(&t, 3);
  after_failure_fails_too = false;
  assert_int_equal(failing.w.result, CCPAY_ERR_INVALID_STATE);
  assert_string_equal(failing.w.error.message, "failing on purpose");
  assert_false(test_key_present(env->s, 7200, NULL));
  assert_false(test_key_present(env->s, 7201, NULL));
}

#define STORE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, store_fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(test_basics),
      STORE_TEST(test_cursor_seek_and_step),
      STORE_TEST(test_open_dir_and_schema),
      STORE_TEST(test_batches_from_threads),
      STORE_TEST(test_failing_command_isolated),
      STORE_TEST(test_after_failure_kept),
      STORE_TEST(test_data_survives_reopen),
      STORE_TEST(test_queue_full),
      STORE_TEST(test_close_drains_and_refuses),
      cmocka_unit_test_setup_teardown(test_map_full, setup_closed, store_fixture_teardown),
      STORE_TEST(test_customers_put_get),
      STORE_TEST(test_customers_search),
      STORE_TEST(test_customers_page_tokens),
      STORE_TEST(test_customers_update_moves_index),
      STORE_TEST(test_customers_dangling_index),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
