#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "idempotency.h"
#include "keys.h"

enum {
  /* Spare database handles: cheap, and they let a migration open an old database by
   * name next to the current ones. */
  STORE_DBS_SPARE = 8,
  /* Expired idempotency records deleted per batch: a bound on the extra work a batch
   * does. A batch of fewer than 32 commands deletes more records than it can create, so
   * a backlog drains whenever the writer is not saturated. */
  STORE_PURGE_RECORDS_MAX = 32,
  /* The layout of the databases; a data dir with another version is refused. */
  STORE_SCHEMA_VERSION = 1,
};

/* LMDB keeps databases by name; the enum values are only this table's indexes. */
static const char *const store_db_names[STORE_DB_COUNT] = {
    [STORE_DB_META] = "meta",
    [STORE_DB_IDEMPOTENCY] = "idempotency",
    [STORE_DB_IDEMPOTENCY_BY_TIME] = "idempotency_by_time",
    [STORE_DB_CUSTOMERS] = "customers",
    [STORE_DB_CUSTOMERS_BY_NAME] = "customers_by_name",
    [STORE_DB_CUSTOMERS_BY_EMAIL] = "customers_by_email",
    [STORE_DB_CUSTOMERS_BY_PHONE] = "customers_by_phone",
    [STORE_DB_ORDERS] = "orders",
    [STORE_DB_ORDERS_BY_STATUS] = "orders_by_status",
    [STORE_DB_ORDERS_BY_CUSTOMER] = "orders_by_customer",
    [STORE_DB_ORDERS_BY_HOLD] = "orders_by_hold",
    [STORE_DB_INVOICES] = "invoices",
    [STORE_DB_ENTRIES] = "entries",
    [STORE_DB_ACCOUNT_BALANCES] = "account_balances",
    [STORE_DB_ACCOUNT_POSTINGS] = "account_postings",
    [STORE_DB_PAYMENTS] = "payments",
    [STORE_DB_TRANSACTIONS] = "transactions",
    [STORE_DB_TRANSACTIONS_OPEN] = "transactions_open",
    [STORE_DB_RETURNS] = "returns",
    [STORE_DB_RETURNS_BY_CUSTOMER] = "returns_by_customer",
    [STORE_DB_RETURNS_BY_ORDER] = "returns_by_order",
    [STORE_DB_RETURNS_BY_STATUS] = "returns_by_status",
    [STORE_DB_REFUND_CHECKS] = "refund_checks",
    [STORE_DB_REFUND_CHECKS_BY_STATUS] = "refund_checks_by_status",
    [STORE_DB_TOKENS] = "tokens",
    [STORE_DB_TOKENS_BY_HASH] = "tokens_by_hash",
    [STORE_DB_AUDIT] = "audit",
};

static const char store_schema_version_key[] = "schema_version";

struct store {
  MDB_env *env;
  MDB_dbi dbis[STORE_DB_COUNT];
  uint64_t map_size_bytes; /* as LMDB sized the map, for the "storage full" message */
  char *data_dir;
  atomic_uint read_txns_open; /* store_close checks that none is left */
  /* Ended read transactions, reset (mdb_txn_reset), for store_read_begin to renew. */
  pthread_mutex_t read_kept_lock;
  store_txn *read_kept[STORE_READ_TXNS_KEPT];
  size_t read_kept_count;

  bool writer_started;
  pthread_t writer;
  pthread_mutex_t mutex;        /* guards everything below */
  pthread_cond_t queue_changed; /* a command was queued, or the store is closing */
  store_write *queue_head;      /* oldest first */
  store_write *queue_tail;
  size_t queue_count;
  size_t queue_count_max;
  bool closing;
  store_stats stats;

  /* Set once before the first write and read only by the writer after that: the
   * submission that follows takes mutex, which orders the two. */
  store_commit_listener_fn commit_listener;
  void *commit_listener_context;
};

struct store_txn {
  store *s;
  MDB_txn *txn;
  bool write;
  int64_t time_ms;       /* the batch's wall-clock time; 0 in read transactions */
  const char *actor;     /* the command's store_write.actor; NULL outside a command */
  unsigned cursors_open; /* must be 0 when the transaction ends */
};

struct store_cursor {
  store_txn *txn;
  MDB_cursor *cursor;
  store_db db;
  int rc; /* the first failure other than MDB_NOTFOUND, for store_cursor_error */
};

static const char *store_db_name(store_db db) {
  CHECK(db >= 0 && db < STORE_DB_COUNT);
  CHECK(store_db_names[db] != NULL);
  return store_db_names[db];
}

/* True when the data dir's filesystem is (all but) full. LMDB reports a short write, which
 * is what a full disk causes, as EIO: this tells the two apart. */
static bool store_disk_full(const store *s) {
  struct statvfs fs;
  if (statvfs(s->data_dir, &fs) != 0) return false;
  return (uint64_t)fs.f_bavail * fs.f_frsize < (uint64_t)STORE_DISK_FULL_FREE_BYTES_MAX;
}

/* Maps an LMDB (or errno) code to a ccpay error: a full map, an oversized transaction
 * or a full disk is STORAGE_FULL, which the operator fixes; anything else is STORAGE.
 * op and object name what failed ("put", "customers"). */
static ccpay_err store_lmdb_error(const store *s, int rc, const char *op, const char *object,
                                  ccpay_error *error) {
  CHECK(s != NULL);
  CHECK(rc != MDB_SUCCESS);
  if (rc == MDB_MAP_FULL) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE_FULL,
                           "storage full: the LMDB map of %llu bytes is full; restart with a "
                           "larger --map-size",
                           (unsigned long long)s->map_size_bytes);
  }
  if (rc == MDB_TXN_FULL) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE_FULL,
                           "storage full: %s %s changed more pages than one LMDB transaction "
                           "holds",
                           op, object);
  }
  if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && store_disk_full(s))) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE_FULL,
                           "storage full: %s %s: no space left on the data dir's device", op,
                           object);
  }
  return ccpay_error_set(error, CCPAY_ERR_STORAGE, "storage error: %s %s: %s", op, object,
                         mdb_strerror(rc));
}

/* --- Opening and closing ------------------------------------------------------------ */

/* Frees whatever store_open got as far as creating. */
static void store_free(store *s) {
  if (s == NULL) return;
  CHECK(!s->writer_started);
  for (size_t i = 0; i < s->read_kept_count; i++) {
    mdb_txn_abort(s->read_kept[i]->txn);
    free(s->read_kept[i]);
  }
  s->read_kept_count = 0;
  CHECK(pthread_mutex_destroy(&s->read_kept_lock) == 0);
  if (s->env != NULL) mdb_env_close(s->env);
  CHECK(pthread_cond_destroy(&s->queue_changed) == 0);
  CHECK(pthread_mutex_destroy(&s->mutex) == 0);
  free(s->data_dir);
  free(s);
}

static ccpay_err store_env_open(store *s, const store_options *options, ccpay_error *error) {
  CHECK(s->env == NULL);
  CHECK(options->map_size_bytes > 0);
  int rc = mdb_env_create(&s->env);
  if (rc != MDB_SUCCESS) {
    s->env = NULL;
    return store_lmdb_error(s, rc, "create environment for", options->data_dir, error);
  }
  rc = mdb_env_set_maxdbs(s->env, STORE_DB_COUNT + STORE_DBS_SPARE);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_mapsize(s->env, (size_t)options->map_size_bytes);
  /* MDB_NOTLS: read transactions are not tied to a thread (a call may end on another
   * one). No MDB_NOSYNC: a commit returns only once it is on disk. */
  if (rc == MDB_SUCCESS) rc = mdb_env_open(s->env, options->data_dir, MDB_NOTLS, 0600);
  if (rc != MDB_SUCCESS) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "cannot open the LMDB environment in %s: %s",
                           options->data_dir, mdb_strerror(rc));
  }
  /* LMDB may have grown the map to the size of existing data; report what it uses. */
  MDB_envinfo info;
  rc = mdb_env_info(s->env, &info);
  if (rc != MDB_SUCCESS) return store_lmdb_error(s, rc, "read info of", s->data_dir, error);
  s->map_size_bytes = info.me_mapsize;
  CHECK(s->map_size_bytes >= options->map_size_bytes);
  return CCPAY_OK;
}

/* Writes the schema version into a new data dir, or checks the one found. */
static ccpay_err store_schema_check(store *s, MDB_txn *txn, ccpay_error *error) {
  MDB_val key = {strlen(store_schema_version_key), (void *)store_schema_version_key};
  MDB_val value;
  int rc = mdb_get(txn, s->dbis[STORE_DB_META], &key, &value);
  if (rc == MDB_NOTFOUND) {
    uint8_t be[8];
    key_put_u64(be, STORE_SCHEMA_VERSION);
    value = (MDB_val){sizeof be, be};
    rc = mdb_put(txn, s->dbis[STORE_DB_META], &key, &value, 0);
    if (rc != MDB_SUCCESS) return store_lmdb_error(s, rc, "put in", "meta", error);
    return CCPAY_OK;
  }
  if (rc != MDB_SUCCESS) return store_lmdb_error(s, rc, "get in", "meta", error);
  uint64_t version = value.mv_size == 8 ? key_get_u64(value.mv_data) : 0;
  if (version != STORE_SCHEMA_VERSION) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE,
                           "the data in %s has schema version %llu; this ccpayd reads version %d",
                           s->data_dir, (unsigned long long)version, STORE_SCHEMA_VERSION);
  }
  return CCPAY_OK;
}

/* Opens (creating) every named database once; the handles then serve every
 * transaction. */
static ccpay_err store_dbs_open(store *s, ccpay_error *error) {
  MDB_txn *txn = NULL;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc != MDB_SUCCESS) return store_lmdb_error(s, rc, "begin", "opening transaction", error);
  ccpay_err err = CCPAY_OK;
  for (int db = 0; db < STORE_DB_COUNT; db++) {
    rc = mdb_dbi_open(txn, store_db_name((store_db)db), MDB_CREATE, &s->dbis[db]);
    if (rc != MDB_SUCCESS) {
      err = store_lmdb_error(s, rc, "open database", store_db_name((store_db)db), error);
      goto fail;
    }
  }
  err = store_schema_check(s, txn, error);
  if (err != CCPAY_OK) goto fail;
  rc = mdb_txn_commit(txn); /* frees txn, also when it fails */
  if (rc != MDB_SUCCESS) return store_lmdb_error(s, rc, "commit", "opening transaction", error);
  return CCPAY_OK;

fail:
  mdb_txn_abort(txn);
  CHECK(err != CCPAY_OK);
  return err;
}

/* fsyncs the directory at path, so the names created in it (data.mdb, lock.mdb, or the
 * data dir itself) survive a crash as the data written to them does. */
static ccpay_err store_fsync_dir(const char *path, ccpay_error *error) {
  CHECK(path != NULL && path[0] != '\0');
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "cannot open %s to sync it: %s", path,
                           strerror(errno));
  }
  int rc = fsync(fd);
  int fsync_errno = errno;
  CHECK(close(fd) == 0 || errno == EINTR);
  if (rc != 0) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "cannot sync %s: %s", path,
                           strerror(fsync_errno));
  }
  return CCPAY_OK;
}

/* Creates the data dir (0700: it holds every record) when missing and syncs its parent
 * so the new directory is durable. */
static ccpay_err store_dir_create(const char *data_dir, ccpay_error *error) {
  if (mkdir(data_dir, 0700) != 0) {
    if (errno == EEXIST) return CCPAY_OK;
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "cannot create the data dir %s: %s", data_dir,
                           strerror(errno));
  }
  char parent[PATH_MAX];
  size_t len = strnlen(data_dir, sizeof parent);
  if (len == sizeof parent) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "the data dir path is too long");
  }
  memcpy(parent, data_dir, len + 1);
  while (len > 1 && parent[len - 1] == '/') parent[--len] = '\0'; /* "dir/" names dir */
  char *slash = strrchr(parent, '/');
  if (slash == NULL) return store_fsync_dir(".", error);
  slash[slash == parent ? 1 : 0] = '\0'; /* "/dir" -> "/", "a/dir" -> "a" */
  return store_fsync_dir(parent, error);
}

static void *store_writer_main(void *arg);

static ccpay_err store_writer_start(store *s, ccpay_error *error) {
  CHECK(!s->writer_started);
  /* The writer inherits a mask blocking every signal: signals are the main thread's to
   * handle, and a handler must never run in the middle of a commit. */
  sigset_t all, previous;
  CHECK(sigfillset(&all) == 0);
  CHECK(pthread_sigmask(SIG_SETMASK, &all, &previous) == 0);
  int rc = pthread_create(&s->writer, NULL, store_writer_main, s);
  CHECK(pthread_sigmask(SIG_SETMASK, &previous, NULL) == 0);
  if (rc != 0) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "cannot start the writer thread: %s",
                           strerror(rc));
  }
  s->writer_started = true;
  return CCPAY_OK;
}

ccpay_err store_open(const store_options *options, store **out, ccpay_error *error) {
  CHECK(options != NULL && options->data_dir != NULL);
  CHECK(out != NULL);
  *out = NULL;
  ccpay_err err = store_dir_create(options->data_dir, error);
  if (err != CCPAY_OK) return err;
  store *s = calloc(1, sizeof *s);
  if (s == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "out of memory opening %s", options->data_dir);
  }
  CHECK(pthread_mutex_init(&s->mutex, NULL) == 0);
  CHECK(pthread_mutex_init(&s->read_kept_lock, NULL) == 0);
  CHECK(pthread_cond_init(&s->queue_changed, NULL) == 0);
  atomic_init(&s->read_txns_open, 0);
  s->queue_count_max =
      options->queue_commands_max > 0 ? options->queue_commands_max : STORE_QUEUE_COMMANDS_MAX;
  s->data_dir = strdup(options->data_dir);
  if (s->data_dir == NULL) {
    err = ccpay_error_set(error, CCPAY_ERR_STORAGE, "out of memory opening %s", options->data_dir);
    goto fail;
  }
  err = store_env_open(s, options, error);
  /* mdb_env_open may just have created data.mdb and lock.mdb. */
  if (err == CCPAY_OK) err = store_fsync_dir(s->data_dir, error);
  if (err == CCPAY_OK) err = store_dbs_open(s, error);
  if (err == CCPAY_OK) err = store_writer_start(s, error);
  if (err != CCPAY_OK) goto fail;

  char quoted[256];
  log_info("event=store_opened data_dir=%s map_size_bytes=%llu",
           log_quote(s->data_dir, quoted, sizeof quoted), (unsigned long long)s->map_size_bytes);
  *out = s;
  return CCPAY_OK;

fail:
  store_free(s);
  CHECK(err != CCPAY_OK);
  return err;
}

void store_close(store *s) {
  CHECK(s != NULL);
  CHECK(atomic_load(&s->read_txns_open) == 0);
  CHECK(pthread_mutex_lock(&s->mutex) == 0);
  CHECK(!s->closing);
  s->closing = true; /* refuses new commands; the writer drains the queue, then exits */
  CHECK(pthread_cond_signal(&s->queue_changed) == 0);
  CHECK(pthread_mutex_unlock(&s->mutex) == 0);

  CHECK(s->writer_started);
  CHECK(pthread_join(s->writer, NULL) == 0);
  s->writer_started = false;
  CHECK(s->queue_head == NULL && s->queue_count == 0);
  log_info(
      "event=store_closed batches_committed=%llu commands_committed=%llu "
      "commands_failed=%llu",
      (unsigned long long)s->stats.batches_committed,
      (unsigned long long)s->stats.commands_committed,
      (unsigned long long)s->stats.commands_failed);
  store_free(s);
}

/* --- Read transactions ---------------------------------------------------------------- */

/* A kept (reset) read transaction renewed on the newest snapshot, or NULL when none is
 * kept or renewing failed (that one is then discarded). */
static store_txn *store_read_renew(store *s) {
  store_txn *txn = NULL;
  CHECK(pthread_mutex_lock(&s->read_kept_lock) == 0);
  if (s->read_kept_count > 0) txn = s->read_kept[--s->read_kept_count];
  CHECK(pthread_mutex_unlock(&s->read_kept_lock) == 0);
  if (txn == NULL) return NULL;
  CHECK(txn->s == s && !txn->write && txn->cursors_open == 0);
  if (mdb_txn_renew(txn->txn) != MDB_SUCCESS) {
    mdb_txn_abort(txn->txn);
    free(txn);
    return NULL;
  }
  return txn;
}

ccpay_err store_read_begin(store *s, store_txn **out, ccpay_error *error) {
  CHECK(s != NULL);
  CHECK(out != NULL);
  store_txn *txn = store_read_renew(s);
  if (txn == NULL) {
    /* Heap-allocated: with MDB_NOTLS the transaction may end on another thread, and the
     * wrapper is a few bytes next to LMDB's own allocation. */
    txn = calloc(1, sizeof *txn);
    if (txn == NULL) {
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "out of memory beginning a read");
    }
    txn->s = s;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn->txn);
    if (rc != MDB_SUCCESS) {
      free(txn);
      return store_lmdb_error(s, rc, "begin", "read transaction", error);
    }
  }
  atomic_fetch_add(&s->read_txns_open, 1);
  *out = txn;
  return CCPAY_OK;
}

void store_read_end(store_txn *txn) {
  CHECK(txn != NULL && txn->txn != NULL);
  CHECK(!txn->write);
  CHECK(txn->cursors_open == 0);
  store *s = txn->s;
  CHECK(atomic_fetch_sub(&s->read_txns_open, 1) > 0);
  /* Reset, the snapshot is released at once (nothing pinned for the writer), but the
   * handle and its reader slot stay for the next read. */
  mdb_txn_reset(txn->txn);
  CHECK(pthread_mutex_lock(&s->read_kept_lock) == 0);
  bool kept = s->read_kept_count < STORE_READ_TXNS_KEPT;
  if (kept) s->read_kept[s->read_kept_count++] = txn;
  CHECK(pthread_mutex_unlock(&s->read_kept_lock) == 0);
  if (!kept) {
    mdb_txn_abort(txn->txn);
    free(txn);
  }
}

/* --- Access ----------------------------------------------------------------------------- */

static void store_check_key(const store_txn *txn, store_db db, const void *key, size_t key_len) {
  CHECK(txn != NULL && txn->txn != NULL);
  CHECK(db >= 0 && db < STORE_DB_COUNT);
  CHECK(key != NULL && key_len > 0 && key_len <= STORE_KEY_BYTES_MAX);
}

ccpay_err store_get(store_txn *txn, store_db db, const void *key, size_t key_len, store_val *value,
                    ccpay_error *error) {
  store_check_key(txn, db, key, key_len);
  CHECK(value != NULL);
  MDB_val k = {key_len, (void *)key};
  MDB_val v;
  int rc = mdb_get(txn->txn, txn->s->dbis[db], &k, &v);
  if (rc == MDB_NOTFOUND) return CCPAY_ERR_NOT_FOUND;
  if (rc != MDB_SUCCESS) return store_lmdb_error(txn->s, rc, "get in", store_db_name(db), error);
  value->data = v.mv_data;
  value->len = v.mv_size;
  return CCPAY_OK;
}

ccpay_err store_put(store_txn *txn, store_db db, const void *key, size_t key_len, const void *value,
                    size_t value_len, ccpay_error *error) {
  store_check_key(txn, db, key, key_len);
  CHECK(txn->write);
  CHECK(value != NULL || value_len == 0);
  MDB_val k = {key_len, (void *)key};
  MDB_val v = {value_len, (void *)value};
  int rc = mdb_put(txn->txn, txn->s->dbis[db], &k, &v, 0);
  if (rc != MDB_SUCCESS) return store_lmdb_error(txn->s, rc, "put in", store_db_name(db), error);
  return CCPAY_OK;
}

ccpay_err store_put_reserve(store_txn *txn, store_db db, const void *key, size_t key_len,
                            size_t value_len, uint8_t **space, ccpay_error *error) {
  store_check_key(txn, db, key, key_len);
  CHECK(txn->write);
  CHECK(space != NULL);
  MDB_val k = {key_len, (void *)key};
  MDB_val v = {value_len, NULL};
  int rc = mdb_put(txn->txn, txn->s->dbis[db], &k, &v, MDB_RESERVE);
  if (rc != MDB_SUCCESS) return store_lmdb_error(txn->s, rc, "put in", store_db_name(db), error);
  CHECK(v.mv_size == value_len);
  *space = v.mv_data;
  return CCPAY_OK;
}

ccpay_err store_delete(store_txn *txn, store_db db, const void *key, size_t key_len,
                       ccpay_error *error) {
  store_check_key(txn, db, key, key_len);
  CHECK(txn->write);
  MDB_val k = {key_len, (void *)key};
  int rc = mdb_del(txn->txn, txn->s->dbis[db], &k, NULL);
  if (rc == MDB_NOTFOUND) return CCPAY_ERR_NOT_FOUND;
  if (rc != MDB_SUCCESS) {
    return store_lmdb_error(txn->s, rc, "delete in", store_db_name(db), error);
  }
  return CCPAY_OK;
}

ccpay_err store_put_message(store_txn *txn, store_db db, const void *key, size_t key_len,
                            const ProtobufCMessage *message, ccpay_error *error) {
  CHECK(message != NULL);
  /* Check the message before it becomes a record: a bad one would be a bug upstream. */
  CHECK(protobuf_c_message_check(message));
  size_t size = protobuf_c_message_get_packed_size(message);
  uint8_t *space = NULL;
  ccpay_err err = store_put_reserve(txn, db, key, key_len, size, &space, error);
  if (err != CCPAY_OK) return err;
  size_t packed = protobuf_c_message_pack(message, space);
  CHECK(packed == size);
  return CCPAY_OK;
}

ccpay_err store_get_message(store_txn *txn, store_db db, const void *key, size_t key_len,
                            const ProtobufCMessageDescriptor *descriptor, arena *a,
                            ProtobufCMessage **out, ccpay_error *error) {
  CHECK(descriptor != NULL && descriptor->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
  CHECK(a != NULL && out != NULL);
  store_val value;
  ccpay_err err = store_get(txn, db, key, key_len, &value, error);
  if (err != CCPAY_OK) return err;
  /* Unpacking copies every field into the arena, so the message outlives the txn. */
  ProtobufCAllocator allocator = arena_protobuf_allocator(a);
  ProtobufCMessage *message =
      protobuf_c_message_unpack(descriptor, &allocator, value.len, value.data);
  if (message == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record in %s", store_db_name(db));
  }
  *out = message;
  return CCPAY_OK;
}

/* --- Cursors ---------------------------------------------------------------------------- */

ccpay_err store_cursor_open(store_txn *txn, store_db db, store_cursor **out, ccpay_error *error) {
  CHECK(txn != NULL && txn->txn != NULL);
  CHECK(db >= 0 && db < STORE_DB_COUNT);
  CHECK(out != NULL);
  store_cursor *c = calloc(1, sizeof *c);
  if (c == NULL) return ccpay_error_set(error, CCPAY_ERR_STORAGE, "out of memory opening a cursor");
  int rc = mdb_cursor_open(txn->txn, txn->s->dbis[db], &c->cursor);
  if (rc != MDB_SUCCESS) {
    free(c);
    return store_lmdb_error(txn->s, rc, "open cursor on", store_db_name(db), error);
  }
  c->txn = txn;
  c->db = db;
  txn->cursors_open++;
  *out = c;
  return CCPAY_OK;
}

void store_cursor_close(store_cursor *c) {
  CHECK(c != NULL && c->cursor != NULL);
  CHECK(c->txn->cursors_open > 0);
  c->txn->cursors_open--;
  mdb_cursor_close(c->cursor);
  free(c);
}

/* One cursor operation: true with the entry, false at the end or on failure (kept in
 * c->rc so the caller can tell the two apart). */
static bool store_cursor_get(store_cursor *c, MDB_val *k, MDB_cursor_op op, store_val *key_out,
                             store_val *value_out) {
  CHECK(c != NULL && c->cursor != NULL);
  MDB_val v = {0, NULL};
  int rc = mdb_cursor_get(c->cursor, k, &v, op);
  if (rc != MDB_SUCCESS) {
    if (rc != MDB_NOTFOUND && c->rc == MDB_SUCCESS) c->rc = rc;
    return false;
  }
  if (key_out != NULL) *key_out = (store_val){k->mv_data, k->mv_size};
  if (value_out != NULL) *value_out = (store_val){v.mv_data, v.mv_size};
  return true;
}

bool store_cursor_seek(store_cursor *c, store_direction direction, const void *key, size_t key_len,
                       store_val *key_out, store_val *value_out) {
  CHECK(c != NULL);
  CHECK(key_len <= STORE_KEY_BYTES_MAX && (key != NULL || key_len == 0));
  MDB_val k = {0, NULL};
  if (key_len == 0) {
    return store_cursor_get(c, &k, direction == STORE_FORWARD ? MDB_FIRST : MDB_LAST, key_out,
                            value_out);
  }
  k = (MDB_val){key_len, (void *)key};
  if (direction == STORE_FORWARD) return store_cursor_get(c, &k, MDB_SET_RANGE, key_out, value_out);

  /* Backward: the first key >= key, then one back unless it is key itself; when every
   * key is smaller, the last one. */
  if (!store_cursor_get(c, &k, MDB_SET_RANGE, key_out, value_out)) {
    if (c->rc != MDB_SUCCESS) return false;
    return store_cursor_get(c, &k, MDB_LAST, key_out, value_out);
  }
  if (k.mv_size == key_len && memcmp(k.mv_data, key, key_len) == 0) return true;
  return store_cursor_get(c, &k, MDB_PREV, key_out, value_out);
}

bool store_cursor_step(store_cursor *c, store_direction direction, store_val *key_out,
                       store_val *value_out) {
  CHECK(c != NULL);
  CHECK(direction == STORE_FORWARD || direction == STORE_BACKWARD);
  MDB_val k = {0, NULL};
  return store_cursor_get(c, &k, direction == STORE_FORWARD ? MDB_NEXT : MDB_PREV, key_out,
                          value_out);
}

ccpay_err store_cursor_error(const store_cursor *c, ccpay_error *error) {
  CHECK(c != NULL && c->txn != NULL);
  if (c->rc == MDB_SUCCESS) return CCPAY_OK;
  return store_lmdb_error(c->txn->s, c->rc, "walk", store_db_name(c->db), error);
}

/* --- The writer ------------------------------------------------------------------------- */

const char *store_txn_actor(const store_txn *txn) {
  CHECK(txn != NULL && txn->write);
  return txn->actor != NULL ? txn->actor : "";
}

int64_t store_txn_time_ms(const store_txn *txn) {
  CHECK(txn != NULL);
  CHECK(txn->write && txn->time_ms > 0);
  return txn->time_ms;
}

void store_get_stats(store *s, store_stats *out) {
  CHECK(s != NULL && out != NULL);
  CHECK(pthread_mutex_lock(&s->mutex) == 0);
  *out = s->stats;
  CHECK(pthread_mutex_unlock(&s->mutex) == 0);
}

void store_write_submit(store *s, store_write *w) {
  CHECK(s != NULL && w != NULL);
  CHECK(w->execute != NULL && w->done != NULL);
  ccpay_err refusal = CCPAY_OK;
  CHECK(pthread_mutex_lock(&s->mutex) == 0);
  if (s->closing) {
    refusal = CCPAY_ERR_SHUTTING_DOWN;
  } else if (s->queue_count >= s->queue_count_max) {
    refusal = CCPAY_ERR_LIMIT_EXCEEDED;
  } else {
    w->next = NULL;
    if (s->queue_tail != NULL)
      s->queue_tail->next = w;
    else
      s->queue_head = w;
    s->queue_tail = w;
    s->queue_count++;
    CHECK(pthread_cond_signal(&s->queue_changed) == 0);
  }
  if (refusal != CCPAY_OK) s->stats.commands_failed++;
  CHECK(pthread_mutex_unlock(&s->mutex) == 0);
  if (refusal == CCPAY_OK) return; /* w is the writer's now: it may be done and freed */

  w->result = refusal;
  if (refusal == CCPAY_ERR_SHUTTING_DOWN) {
    ccpay_error_set(&w->error, refusal, "the server is shutting down; retry later");
  } else {
    ccpay_error_set(&w->error, refusal, "the write queue is full (%zu commands); retry later",
                    s->queue_count_max);
  }
  w->done(w);
}

/* Waits for commands and takes up to STORE_BATCH_COMMANDS_MAX of them, oldest first;
 * 0 once the store is closing and the queue is empty. */
static size_t store_queue_take(store *s, store_write *batch[STORE_BATCH_COMMANDS_MAX]) {
  CHECK(pthread_mutex_lock(&s->mutex) == 0);
  while (s->queue_head == NULL && !s->closing) {
    CHECK(pthread_cond_wait(&s->queue_changed, &s->mutex) == 0);
  }
  size_t count = 0;
  while (s->queue_head != NULL && count < STORE_BATCH_COMMANDS_MAX) {
    store_write *w = s->queue_head;
    s->queue_head = w->next;
    w->next = NULL;
    batch[count++] = w;
  }
  if (s->queue_head == NULL) s->queue_tail = NULL;
  CHECK(s->queue_count >= count);
  s->queue_count -= count;
  CHECK((s->queue_count == 0) == (s->queue_head == NULL));
  CHECK(pthread_mutex_unlock(&s->mutex) == 0);
  return count;
}

/* Makes w->error agree with a failed command's result, so done always has a message. */
static void store_error_complete(ccpay_error *error, ccpay_err result) {
  CHECK(result > CCPAY_OK && result < CCPAY_ERR_COUNT);
  if (error->code == result && error->message[0] != '\0') return;
  if (error->message[0] == '\0') {
    ccpay_error_set(error, result, "write failed: %s", ccpay_err_reason(result));
  }
  error->code = result;
}

/* A failed command's after_failure, in a nested transaction of its own: kept when it
 * succeeds, logged and dropped when it fails. w->error (the command's) is left as it is. */
static void store_command_after_failure(store_txn *batch_txn, store_write *w) {
  store *s = batch_txn->s;
  ccpay_error error;
  ccpay_error_clear(&error);
  store_txn txn = {.s = s, .write = true, .time_ms = batch_txn->time_ms, .actor = w->actor};
  int rc = mdb_txn_begin(s->env, batch_txn->txn, 0, &txn.txn);
  ccpay_err result = CCPAY_OK;
  if (rc != MDB_SUCCESS) {
    result = store_lmdb_error(s, rc, "begin", "after a failed command", &error);
  } else {
    ccpay_error saved = w->error;
    result = w->after_failure(&txn, w);
    CHECK(result >= CCPAY_OK && result < CCPAY_ERR_COUNT);
    CHECK(txn.cursors_open == 0);
    if (result != CCPAY_OK) error = w->error;
    w->error = saved;
    if (result == CCPAY_OK) {
      rc = mdb_txn_commit(txn.txn);
      if (rc != MDB_SUCCESS) result = store_lmdb_error(s, rc, "commit", "after failure", &error);
    } else {
      mdb_txn_abort(txn.txn);
    }
  }
  if (result != CCPAY_OK) {
    char quoted[CCPAY_ERROR_MESSAGE_MAX + 16];
    log_error("event=after_failure_write_failed error=%s message=%s", ccpay_err_reason(result),
              log_quote(error.message, quoted, sizeof quoted));
  }
}

/* Runs one command in a nested transaction of the batch: its changes join the batch on
 * success and vanish on failure, leaving the other commands' changes alone. */
static void store_command_run(store_txn *batch_txn, store_write *w) {
  CHECK(w->execute != NULL && w->done != NULL);
  CHECK(batch_txn->write && batch_txn->cursors_open == 0);
  store *s = batch_txn->s;
  ccpay_error_clear(&w->error);
  store_txn txn = {.s = s, .write = true, .time_ms = batch_txn->time_ms, .actor = w->actor};
  int rc = mdb_txn_begin(s->env, batch_txn->txn, 0, &txn.txn);
  if (rc != MDB_SUCCESS) {
    w->result = store_lmdb_error(s, rc, "begin", "write command", &w->error);
    return;
  }
  ccpay_err result = w->execute(&txn, w);
  CHECK(result >= CCPAY_OK && result < CCPAY_ERR_COUNT);
  CHECK(txn.cursors_open == 0); /* LMDB frees a write txn's cursors when it ends */
  if (result == CCPAY_OK) {
    ccpay_error_clear(&w->error); /* errors the command handled are not its result */
    rc = mdb_txn_commit(txn.txn); /* into the batch: no I/O; frees txn.txn either way */
    if (rc != MDB_SUCCESS) result = store_lmdb_error(s, rc, "commit", "write command", &w->error);
  } else {
    mdb_txn_abort(txn.txn);
    store_error_complete(&w->error, result);
    if (w->after_failure != NULL) store_command_after_failure(batch_txn, w);
  }
  w->result = result;
}

/* Deletes a few expired idempotency records in the batch, in a nested transaction so a
 * failure here (a full map, say) costs only the purge. */
static void store_purge_expired(store_txn *batch_txn) {
  CHECK(batch_txn->write && batch_txn->cursors_open == 0);
  store *s = batch_txn->s;
  ccpay_error error;
  ccpay_error_clear(&error);
  store_txn txn = {.s = s, .write = true, .time_ms = batch_txn->time_ms};
  int rc = mdb_txn_begin(s->env, batch_txn->txn, 0, &txn.txn);
  if (rc != MDB_SUCCESS) {
    store_lmdb_error(s, rc, "begin", "idempotency purge", &error);
    log_warn("event=idempotency_purge_failed error=%s", ccpay_err_reason(error.code));
    return;
  }
  unsigned purged = 0;
  ccpay_err err = idempotency_purge(&txn, batch_txn->time_ms - IDEMPOTENCY_RETENTION_MS,
                                    STORE_PURGE_RECORDS_MAX, &purged, &error);
  CHECK(txn.cursors_open == 0);
  CHECK(purged <= STORE_PURGE_RECORDS_MAX);
  if (err == CCPAY_OK) {
    rc = mdb_txn_commit(txn.txn);
    if (rc != MDB_SUCCESS) err = store_lmdb_error(s, rc, "commit", "idempotency purge", &error);
  } else {
    mdb_txn_abort(txn.txn);
  }
  if (err != CCPAY_OK) {
    char quoted[CCPAY_ERROR_MESSAGE_MAX + 16];
    log_warn("event=idempotency_purge_failed error=%s message=%s", ccpay_err_reason(err),
             log_quote(error.message, quoted, sizeof quoted));
  } else if (purged > 0) {
    log_debug("event=idempotency_purged records=%u", purged);
  }
}

/* A failure of the whole batch: each command that had succeeded gets it (its changes
 * are lost with the batch). Commands that failed by themselves keep their own error,
 * which says more and was never going to be committed either. */
static void store_batch_fail(store_write *batch[], size_t count, const ccpay_error *failure) {
  CHECK(failure->code > CCPAY_OK && failure->code < CCPAY_ERR_COUNT);
  char quoted[CCPAY_ERROR_MESSAGE_MAX + 16];
  log_error("event=store_batch_failed commands=%zu error=%s message=%s", count,
            ccpay_err_reason(failure->code), log_quote(failure->message, quoted, sizeof quoted));
  for (size_t i = 0; i < count; i++) {
    if (batch[i]->result != CCPAY_OK) continue;
    batch[i]->result = failure->code;
    batch[i]->error = *failure;
  }
}

/* Runs a batch in one write transaction and commits it durably; true when committed.
 * Afterwards every command's result and error are final. */
static bool store_batch_run(store *s, store_write *batch[], size_t count) {
  CHECK(count > 0 && count <= STORE_BATCH_COMMANDS_MAX);
  ccpay_error failure;
  ccpay_error_clear(&failure);
  store_txn txn = {.s = s, .write = true, .time_ms = clock_wall_ms()};
  CHECK(txn.time_ms > 0);
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn.txn);
  if (rc != MDB_SUCCESS) {
    for (size_t i = 0; i < count; i++) batch[i]->result = CCPAY_OK; /* none ran yet */
    store_lmdb_error(s, rc, "begin", "write batch", &failure);
    store_batch_fail(batch, count, &failure);
    return false;
  }
  for (size_t i = 0; i < count; i++) store_command_run(&txn, batch[i]);
  store_purge_expired(&txn);
  rc = mdb_txn_commit(txn.txn); /* the fsync: every command of the batch becomes durable */
  if (rc != MDB_SUCCESS) {
    store_lmdb_error(s, rc, "commit", "write batch", &failure);
    store_batch_fail(batch, count, &failure);
    return false;
  }
  return true;
}

/* Counts the batch, then tells each submitter, in submission order. */
static void store_batch_finish(store *s, store_write *batch[], size_t count, bool committed) {
  uint64_t ok = 0;
  for (size_t i = 0; i < count; i++) {
    CHECK(batch[i]->result != CCPAY_OK || committed);
    if (batch[i]->result == CCPAY_OK) ok++;
  }
  CHECK(pthread_mutex_lock(&s->mutex) == 0);
  if (committed) s->stats.batches_committed++;
  s->stats.commands_committed += ok;
  s->stats.commands_failed += count - ok;
  CHECK(pthread_mutex_unlock(&s->mutex) == 0);
  for (size_t i = 0; i < count; i++) {
    store_write *w = batch[i];
    batch[i] = NULL;
    w->done(w); /* may free w */
  }
}

void store_set_commit_listener(store *s, store_commit_listener_fn listener, void *context) {
  CHECK(s != NULL && listener != NULL);
  CHECK(pthread_mutex_lock(&s->mutex) == 0);
  /* One listener, set before writes start: the writer reads it without the lock. */
  CHECK(s->commit_listener == NULL);
  CHECK(s->stats.batches_committed == 0 && s->queue_head == NULL);
  s->commit_listener = listener;
  s->commit_listener_context = context;
  CHECK(pthread_mutex_unlock(&s->mutex) == 0);
}

static void *store_writer_main(void *arg) {
  store *s = arg;
  store_write *batch[STORE_BATCH_COMMANDS_MAX];
  for (;;) {
    size_t count = store_queue_take(s, batch);
    if (count == 0) break; /* closing, and everything queued has run */
    bool committed = store_batch_run(s, batch, count);
    /* Before the done callbacks: a reader woken by the listener may already see what a
     * reply about to be sent reports, never the other way round. */
    if (committed && s->commit_listener != NULL) s->commit_listener(s->commit_listener_context);
    store_batch_finish(s, batch, count, committed);
  }
  return NULL;
}
