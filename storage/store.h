/* The LMDB environment of ccpayd: named databases, read transactions, and the single
 * writer thread that group-commits write commands. This layer is the only one that
 * includes lmdb.h.
 *
 * Durability: the environment is opened without MDB_NOSYNC, so a commit returns only
 * after fsync; a write command's done callback runs only after that commit, and replies
 * are sent from there. A crash at any instant keeps every acknowledged write.
 *
 * Threads: store_open/store_close on the main thread; store_read_begin and everything on
 * a read transaction from any thread (each transaction used by one thread at a time);
 * store_write_submit from any thread; execute and done callbacks on the writer thread. */
#ifndef CCPAY_STORAGE_STORE_H
#define CCPAY_STORAGE_STORE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

typedef struct store store;
typedef struct store_txn store_txn;
typedef struct store_cursor store_cursor;

/* Named databases. Indexes are their own databases, written in the same transaction
 * as the record they point at. Values are never renumbered (names are what LMDB keeps;
 * the table in store.c maps them). */
typedef enum store_db {
  STORE_DB_META,                    /* small fixed keys: schema version, id high-water */
  STORE_DB_IDEMPOTENCY,             /* request_id -> idempotency record */
  STORE_DB_IDEMPOTENCY_BY_TIME,     /* created_ms BE ++ request_id -> "" (for expiry) */
  STORE_DB_CUSTOMERS,               /* id BE -> ccpay.v1.Customer */
  STORE_DB_CUSTOMERS_BY_NAME,       /* lower(name) 0x00 ~id BE -> "" */
  STORE_DB_CUSTOMERS_BY_EMAIL,      /* lower(email) 0x00 ~id BE -> "" */
  STORE_DB_CUSTOMERS_BY_PHONE,      /* digits(phone) 0x00 ~id BE -> "" */
  STORE_DB_ORDERS,                  /* id BE -> ccpay.v1.Order */
  STORE_DB_ORDERS_BY_STATUS,        /* status (1 byte) ++ ~id BE -> "" */
  STORE_DB_ORDERS_BY_CUSTOMER,      /* customer id BE ++ ~order id BE -> "" */
  STORE_DB_ORDERS_BY_HOLD,          /* hold code 0x00 ~id BE -> "" (held orders only) */
  STORE_DB_INVOICES,                /* id BE -> ccpay.v1.Invoice */
  STORE_DB_ENTRIES,                 /* sequence BE -> ccpay.v1.JournalEntry */
  STORE_DB_ACCOUNT_BALANCES,        /* account 0x00 currency -> int64 BE (debit positive) */
  STORE_DB_ACCOUNT_POSTINGS,        /* account 0x00 currency 0x00 ~sequence BE -> int64 BE */
  STORE_DB_PAYMENTS,                /* id BE -> ccpay.v1.Payment */
  STORE_DB_TRANSACTIONS,            /* id BE -> ccpay.v1.Transaction */
  STORE_DB_TRANSACTIONS_OPEN,       /* id BE -> "" while PENDING or UNKNOWN (recovery's list) */
  STORE_DB_RETURNS,                 /* id BE -> ccpay.v1.ReturnOrder */
  STORE_DB_RETURNS_BY_CUSTOMER,     /* customer id BE ++ ~id BE -> "" */
  STORE_DB_RETURNS_BY_ORDER,        /* original order id BE ++ ~id BE -> "" */
  STORE_DB_RETURNS_BY_STATUS,       /* status (1 byte) ++ ~id BE -> "" */
  STORE_DB_REFUND_CHECKS,           /* id BE -> ccpay.v1.RefundCheck */
  STORE_DB_REFUND_CHECKS_BY_STATUS, /* status (1 byte) ++ ~id BE -> "" */
  /* --- Security --- */
  STORE_DB_TOKENS,         /* id BE -> ccpay.v1.Token (never its secret) */
  STORE_DB_TOKENS_BY_HASH, /* SHA-256 of the secret (32 bytes) -> id BE */
  STORE_DB_AUDIT,          /* sequence BE -> ccpay.v1.AuditRecord (append-only) */
  STORE_DB_COUNT
} store_db;

typedef struct store_options {
  const char *data_dir;    /* created 0700 when missing; holds data.mdb and lock.mdb */
  uint64_t map_size_bytes; /* the LMDB map: the most the database may grow to */
  /* Commands waiting for the writer before new ones are refused; 0 means
   * STORE_QUEUE_COMMANDS_MAX. */
  unsigned queue_commands_max;
} store_options;

/* A view of bytes owned by LMDB: valid until the transaction ends or, in a write
 * transaction, until the next change to the same database. */
typedef struct store_val {
  const uint8_t *data;
  size_t len;
} store_val;

/* Opens (creating if needed) the environment and every named database, and starts the
 * writer thread. Errors: CCPAY_ERR_STORAGE with the path and LMDB's message. */
ccpay_err store_open(const store_options *options, store **out, ccpay_error *error);

/* Stops accepting writes, runs every command already queued to completion, joins the
 * writer thread and closes the environment. No read transaction may be open. */
void store_close(store *s);

/* --- Read transactions ------------------------------------------------------------- */

/* Begins a read-only snapshot. Errors: CCPAY_ERR_STORAGE. */
ccpay_err store_read_begin(store *s, store_txn **out, ccpay_error *error);

/* Ends a read-only snapshot; every store_val from it becomes invalid. */
void store_read_end(store_txn *txn);

/* --- Access, in any transaction ------------------------------------------------------ */

/* Reads key. CCPAY_ERR_NOT_FOUND when absent (error is not filled then: the caller
 * names the missing thing); CCPAY_ERR_STORAGE on failure. */
ccpay_err store_get(store_txn *txn, store_db db, const void *key, size_t key_len, store_val *value,
                    ccpay_error *error);

/* Write transaction only. Stores value under key, replacing any old value.
 * Errors: CCPAY_ERR_STORAGE_FULL (map full), CCPAY_ERR_STORAGE. */
ccpay_err store_put(store_txn *txn, store_db db, const void *key, size_t key_len, const void *value,
                    size_t value_len, ccpay_error *error);

/* Write transaction only. Removes key; CCPAY_ERR_NOT_FOUND when absent. */
ccpay_err store_delete(store_txn *txn, store_db db, const void *key, size_t key_len,
                       ccpay_error *error);

/* Write transaction only. Makes room for value_len bytes under key (replacing any old
 * value) and sets *space to it, for the caller to fill before the next change to db in
 * this transaction; saves a copy for values built in place. Errors as store_put. */
ccpay_err store_put_reserve(store_txn *txn, store_db db, const void *key, size_t key_len,
                            size_t value_len, uint8_t **space, ccpay_error *error);

/* Write transaction only. Packs message straight into the database (MDB_RESERVE). */
ccpay_err store_put_message(store_txn *txn, store_db db, const void *key, size_t key_len,
                            const ProtobufCMessage *message, ccpay_error *error);

/* Reads and unpacks the message under key into arena a. CCPAY_ERR_NOT_FOUND when
 * absent; CCPAY_ERR_STORAGE when the stored bytes do not decode (corruption). */
ccpay_err store_get_message(store_txn *txn, store_db db, const void *key, size_t key_len,
                            const ProtobufCMessageDescriptor *descriptor, arena *a,
                            ProtobufCMessage **out, ccpay_error *error);

/* --- Cursors ------------------------------------------------------------------------ */

typedef enum store_direction { STORE_FORWARD, STORE_BACKWARD } store_direction;

/* Opens a cursor on db; it must be closed before its transaction ends. */
ccpay_err store_cursor_open(store_txn *txn, store_db db, store_cursor **out, ccpay_error *error);
void store_cursor_close(store_cursor *c);

/* Positions the cursor and returns the entry there: FORWARD at the first key >= key
 * (the first key of all when key_len is 0), BACKWARD at the last key <= key (the last of
 * all when key_len is 0). False when there is no such entry (or on a failure: see
 * store_cursor_error). key_out and value_out may be NULL when not wanted. */
bool store_cursor_seek(store_cursor *c, store_direction direction, const void *key, size_t key_len,
                       store_val *key_out, store_val *value_out);

/* Moves one entry in direction; false at the end. */
bool store_cursor_step(store_cursor *c, store_direction direction, store_val *key_out,
                       store_val *value_out);

/* Whether seek and step returned false because of a failure rather than the end: the
 * first LMDB error the cursor met (CCPAY_ERR_STORAGE, error filled), else CCPAY_OK.
 * Check it after a walk ends early; an error never reads as "no more entries". */
ccpay_err store_cursor_error(const store_cursor *c, ccpay_error *error);

/* --- Writes: one writer thread, group commit ---------------------------------------- */

typedef struct store_write store_write;

/* Runs on the writer thread inside a nested transaction of the batch. Return CCPAY_OK
 * to keep its changes; any other code rolls back only this command's changes (fill
 * w->error to say why). */
typedef ccpay_err (*store_write_execute_fn)(store_txn *txn, store_write *w);

/* Runs once per command after the batch is durably committed, or after it failed:
 * w->result and w->error say which. On the writer thread, or on the submitting thread
 * when the command is refused at submission. It may free w. */
typedef void (*store_write_done_fn)(store_write *w);

/* A write command, owned by the submitter until done runs. */
struct store_write {
  store_write_execute_fn execute;
  /* Optional. When execute fails, its changes are rolled back, then this runs in a new
   * nested transaction of the batch and its changes are kept (committed with the batch)
   * although the command's result stays execute's error: how a failed call still leaves
   * its audit record. Its own failure is logged and changes nothing else. */
  store_write_execute_fn after_failure;
  store_write_done_fn done;
  /* Optional: who the command acts for (an agent id), given to its transactions through
   * store_txn_actor; must live until done runs. NULL: ccpayd itself. */
  const char *actor;
  void *context;     /* the submitter's */
  ccpay_err result;  /* set before done: CCPAY_OK only if executed and durable */
  ccpay_error error; /* the message for result */
  store_write *next; /* the queue's link; private */
};

/* Queues w for the writer. Never blocks on I/O. When the queue holds
 * queue_commands_max commands (CCPAY_ERR_LIMIT_EXCEEDED) or the store is closing
 * (CCPAY_ERR_SHUTTING_DOWN), w->done runs at once on this thread with that result. */
void store_write_submit(store *s, store_write *w);

/* Write transaction only: the actor of the command it runs ("" when none): storage stamps
 * what it creates with it (a journal entry's created_by). */
const char *store_txn_actor(const store_txn *txn);

/* Write transaction only: the wall-clock time of the batch, in ms since the epoch. All
 * commands of one batch see the same time. */
int64_t store_txn_time_ms(const store_txn *txn);

/* Registers a function the writer calls after every durable batch commit (on the
 * writer thread, before the batch's done callbacks), e.g. to wake ledger followers. One
 * listener; call before any write is submitted. It must not block. */
typedef void (*store_commit_listener_fn)(void *context);
void store_set_commit_listener(store *s, store_commit_listener_fn listener, void *context);

/* Statistics for tests and benchmarks. */
typedef struct store_stats {
  uint64_t batches_committed;
  uint64_t commands_committed;
  uint64_t commands_failed;
} store_stats;
void store_get_stats(store *s, store_stats *out);

#endif
