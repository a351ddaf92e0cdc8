/* verify_store: walks every database of one read snapshot and stops at the first
 * violation. The order is the order of trust: the journal first (everything else about
 * money is derived from it; an entry that names a payment or transaction is matched to
 * that record as it is read), then balances and posting lists against it, then records
 * against their indexes and each other, payments and transactions last.
 *
 * Memory: the balances recomputed from the journal live in a hash table with one slot
 * per (account, currency), so memory grows with the number of accounts, never with the
 * number of entries; each record is decoded into an arena that is freed before the
 * next, and the records a row walks through one at a time (an order's payments, a
 * payment's transactions) into a scratch arena freed before each. */
#include "verify.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "base/arena.h"
#include "base/check.h"
#include "base/limits.h"
#include "ccpay/v1/admin.pb-c.h"
#include "customers.h"
#include "idempotency.h"
#include "ids.h"
#include "keys.h"
#include "ledger.h"
#include "orders.h"
#include "payments.h"
#include "returns.h"

enum {
  VERIFY_ID_KEY_BYTES = 8,
  VERIFY_ACCOUNTS_CAPACITY_MIN = 64,
  /* Currency codes are three letters A-Z: one trial-balance slot per possible code. */
  VERIFY_CURRENCIES = 26 * 26 * 26,
};

/* --- Balances recomputed from the journal ------------------------------------------------ */

typedef struct verify_account {
  char account[LEDGER_ACCOUNT_BYTES_MAX + 1];
  char currency_code[4];
  int64_t sum;
  bool used; /* the slot holds an account */
  bool seen; /* account_balances has a row for it */
} verify_account;

typedef struct verify_accounts {
  verify_account *slots; /* open addressing, linear probing, at most half full */
  size_t capacity;       /* a power of two */
  size_t count;
} verify_accounts;

static size_t verify_accounts_hash(const char *account, const char *currency_code) {
  uint64_t hash = 14695981039346656037u; /* FNV-1a */
  for (const char *p = account; *p != '\0'; p++) hash = (hash ^ (uint8_t)*p) * 1099511628211u;
  hash = (hash ^ 0) * 1099511628211u; /* the separator: ("ab","c") is not ("a","bc") */
  for (const char *p = currency_code; *p != '\0'; p++) hash = (hash ^ (uint8_t)*p) * 1099511628211u;
  return (size_t)hash;
}

/* The slot of (account, currency), or the empty slot where it would go. */
static verify_account *verify_accounts_slot(const verify_accounts *m, const char *account,
                                            const char *currency_code) {
  CHECK(m->capacity > 0 && (m->capacity & (m->capacity - 1)) == 0);
  CHECK(m->count < m->capacity);
  size_t mask = m->capacity - 1;
  for (size_t i = verify_accounts_hash(account, currency_code) & mask;; i = (i + 1) & mask) {
    verify_account *slot = &m->slots[i];
    if (!slot->used) return slot;
    if (strcmp(slot->account, account) == 0 && strcmp(slot->currency_code, currency_code) == 0) {
      return slot;
    }
  }
}

/* Doubles the table (or makes the first one) and moves every account over. */
static ccpay_err verify_accounts_grow(verify_accounts *m, ccpay_error *error) {
  verify_accounts bigger = {.capacity =
                                m->capacity > 0 ? m->capacity * 2 : VERIFY_ACCOUNTS_CAPACITY_MIN};
  CHECK(bigger.capacity > m->capacity);
  bigger.slots = calloc(bigger.capacity, sizeof *bigger.slots);
  if (bigger.slots == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED,
                           "out of memory holding %zu account balances", m->count);
  }
  for (size_t i = 0; i < m->capacity; i++) {
    if (!m->slots[i].used) continue;
    *verify_accounts_slot(&bigger, m->slots[i].account, m->slots[i].currency_code) = m->slots[i];
    bigger.count++;
  }
  CHECK(bigger.count == m->count);
  free(m->slots);
  *m = bigger;
  return CCPAY_OK;
}

/* Adds amount to the recomputed balance of (account, currency). */
static ccpay_err verify_accounts_add(verify_accounts *m, const char *account,
                                     const char *currency_code, int64_t amount,
                                     ccpay_error *error) {
  CHECK(ledger_account_valid(account) && ledger_currency_valid(currency_code));
  if ((m->count + 1) * 2 > m->capacity) {
    ccpay_err err = verify_accounts_grow(m, error);
    if (err != CCPAY_OK) return err;
  }
  verify_account *slot = verify_accounts_slot(m, account, currency_code);
  if (!slot->used) {
    *slot = (verify_account){.used = true};
    memcpy(slot->account, account, strlen(account) + 1);
    memcpy(slot->currency_code, currency_code, sizeof slot->currency_code);
    m->count++;
  }
  if (__builtin_add_overflow(slot->sum, amount, &slot->sum)) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL,
                           "account %s in %s: the postings overflow int64", account, currency_code);
  }
  return CCPAY_OK;
}

/* --- The walk ------------------------------------------------------------------------------ */

typedef struct verify {
  store_txn *txn;
  verify_report *report;
  ccpay_error *error;
  arena *arena;             /* the current row's decoded records */
  arena *scratch;           /* one of the records a row goes through in turn */
  verify_accounts accounts; /* balances recomputed from the entries */
  uint64_t last_sequence;   /* as meta says */
  uint64_t postings_expected;
  uint64_t token_hashes; /* entries of tokens_by_hash */
  const void *table;     /* what the current walk checks (a verify_kind or verify_index) */
} verify;

/* A violation: CCPAY_ERR_INTERNAL with the message. */
static ccpay_err verify_fail(verify *v, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static ccpay_err verify_fail(verify *v, const char *format, ...) {
  CHECK(v != NULL && format != NULL);
  va_list args;
  va_start(args, format);
  char message[CCPAY_ERROR_MESSAGE_MAX];
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  return ccpay_error_set(v->error, CCPAY_ERR_INTERNAL, "%s", message);
}

/* A fresh arena in *a, freeing what the last one held. */
static ccpay_err verify_arena_renew(verify *v, arena **a) {
  arena_destroy(*a);
  *a = arena_create(CALL_ARENA_BYTES_MAX);
  if (*a == NULL) return ccpay_error_set(v->error, CCPAY_ERR_LIMIT_EXCEEDED, "out of memory");
  return CCPAY_OK;
}

/* A fresh arena for the next row, freeing the last row's records. */
static ccpay_err verify_arena_reset(verify *v) { return verify_arena_renew(v, &v->arena); }

typedef ccpay_err (*verify_row_fn)(verify *v, store_val key, store_val value);

/* Calls row for every entry of db, in key order, until one fails. */
static ccpay_err verify_walk(verify *v, store_db db, const void *table, verify_row_fn row) {
  CHECK(v != NULL && row != NULL);
  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(v->txn, db, &c, v->error);
  if (err != CCPAY_OK) return err;
  v->table = table;
  store_val key, value;
  bool found = store_cursor_seek(c, STORE_FORWARD, NULL, 0, &key, &value);
  for (; found && err == CCPAY_OK; found = store_cursor_step(c, STORE_FORWARD, &key, &value)) {
    err = verify_arena_reset(v);
    if (err == CCPAY_OK) err = row(v, key, value);
  }
  if (err == CCPAY_OK && !found) err = store_cursor_error(c, v->error);
  store_cursor_close(c);
  return err;
}

/* Decodes a record into arena a; NULL when it does not decode. */
static ProtobufCMessage *verify_unpack(arena *a, const ProtobufCMessageDescriptor *descriptor,
                                       store_val value) {
  CHECK(a != NULL && descriptor != NULL);
  ProtobufCAllocator allocator = arena_protobuf_allocator(a);
  return protobuf_c_message_unpack(descriptor, &allocator, value.len, value.data);
}

/* --- The journal ---------------------------------------------------------------------------- */

/* The posting-list row of one movement of entry sequence must hold its amount. */
static ccpay_err verify_posting_row(verify *v, uint64_t sequence, const ledger_movement *move) {
  key_builder k;
  ledger_posting_key(move->account, move->currency_code, sequence, &k);
  store_val value;
  ccpay_err err = store_get(v->txn, STORE_DB_ACCOUNT_POSTINGS, k.bytes, k.len, &value, v->error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return verify_fail(v, "entry %llu: account_postings has no row for %s in %s",
                       (unsigned long long)sequence, move->account, move->currency_code);
  }
  if (err != CCPAY_OK) return err;
  int64_t amount = 0;
  if (!ledger_parse_amount(value, &amount) || amount != move->amount) {
    return verify_fail(v, "entry %llu: the account_postings row for %s in %s is not %lld",
                       (unsigned long long)sequence, move->account, move->currency_code,
                       (long long)move->amount);
  }
  return CCPAY_OK;
}

/* Adds the movements of a checked entry to the balances and checks its posting rows. */
static ccpay_err verify_entry_movements(verify *v, uint64_t sequence,
                                        const Ccpay__V1__JournalEntry *entry) {
  ledger_movement moves[LEDGER_POSTINGS_MAX];
  size_t count = 0;
  ccpay_error why;
  if (ledger_entry_movements(entry, moves, &count, &why) != CCPAY_OK) {
    return verify_fail(v, "entry %llu: %s", (unsigned long long)sequence, why.message);
  }
  for (size_t i = 0; i < count; i++) {
    ccpay_err err = verify_posting_row(v, sequence, &moves[i]);
    if (err == CCPAY_OK) {
      err = verify_accounts_add(&v->accounts, moves[i].account, moves[i].currency_code,
                                moves[i].amount, v->error);
    }
    if (err != CCPAY_OK) return err;
  }
  v->postings_expected += count;
  return CCPAY_OK;
}

static ccpay_err verify_entry_links(verify *v, uint64_t sequence,
                                    const Ccpay__V1__JournalEntry *entry);

static ccpay_err verify_entry_row(verify *v, store_val key, store_val value) {
  if (key.len != VERIFY_ID_KEY_BYTES) return verify_fail(v, "entries: a key of %zu bytes", key.len);
  uint64_t sequence = key_get_u64(key.data);
  uint64_t expected = v->report->entries + 1;
  if (sequence != expected) {
    return verify_fail(v, "entries: sequence %llu is missing (the next stored is %llu)",
                       (unsigned long long)expected, (unsigned long long)sequence);
  }
  Ccpay__V1__JournalEntry *entry = (Ccpay__V1__JournalEntry *)verify_unpack(
      v->arena, &ccpay__v1__journal_entry__descriptor, value);
  if (entry == NULL)
    return verify_fail(v, "entry %llu does not decode", (unsigned long long)sequence);
  if (entry->sequence < 0 || (uint64_t)entry->sequence != sequence) {
    return verify_fail(v, "entry %llu: the record says sequence %lld", (unsigned long long)sequence,
                       (long long)entry->sequence);
  }
  ccpay_error why;
  if (ledger_entry_check(entry, &why) != CCPAY_OK) {
    return verify_fail(v, "entry %llu: %s", (unsigned long long)sequence, why.message);
  }
  ccpay_err err = verify_entry_movements(v, sequence, entry);
  if (err == CCPAY_OK) err = verify_entry_links(v, sequence, entry);
  if (err == CCPAY_OK) v->report->entries++;
  return err;
}

/* Every entry, and meta's last sequence agreeing with them. */
static ccpay_err verify_entries(verify *v) {
  ccpay_err err = ledger_last_sequence(v->txn, &v->last_sequence, v->error);
  if (err == CCPAY_OK) err = verify_walk(v, STORE_DB_ENTRIES, NULL, verify_entry_row);
  if (err != CCPAY_OK) return err;
  if (v->report->entries != v->last_sequence) {
    return verify_fail(v, "meta ledger_sequence is %llu but the entries end at %llu",
                       (unsigned long long)v->last_sequence,
                       (unsigned long long)v->report->entries);
  }
  return CCPAY_OK;
}

static ccpay_err verify_balance_row(verify *v, store_val key, store_val value) {
  ledger_key parts;
  int64_t balance = 0;
  if (!ledger_parse_balance_key(key, &parts) || !ledger_parse_amount(value, &balance)) {
    return verify_fail(v, "account_balances: a malformed row (key of %zu bytes)", key.len);
  }
  verify_account *slot = verify_accounts_slot(&v->accounts, parts.account, parts.currency_code);
  if (!slot->used) {
    return verify_fail(v, "account %s in %s has a balance of %lld but no postings", parts.account,
                       parts.currency_code, (long long)balance);
  }
  if (slot->sum != balance) {
    return verify_fail(v, "account %s in %s: the balance is %lld, the postings sum to %lld",
                       parts.account, parts.currency_code, (long long)balance,
                       (long long)slot->sum);
  }
  slot->seen = true;
  return CCPAY_OK;
}

/* Every balance row against the recomputed balances, both ways. */
static ccpay_err verify_balances(verify *v) {
  if (v->accounts.capacity == 0) {
    ccpay_err err = verify_accounts_grow(&v->accounts, v->error); /* lookups need a table */
    if (err != CCPAY_OK) return err;
  }
  ccpay_err err = verify_walk(v, STORE_DB_ACCOUNT_BALANCES, NULL, verify_balance_row);
  if (err != CCPAY_OK) return err;
  for (size_t i = 0; i < v->accounts.capacity; i++) {
    const verify_account *a = &v->accounts.slots[i];
    if (a->used && !a->seen) {
      return verify_fail(v, "account %s in %s has postings summing to %lld but no balance",
                         a->account, a->currency_code, (long long)a->sum);
    }
  }
  v->report->accounts = v->accounts.count;
  return CCPAY_OK;
}

static size_t verify_currency_index(const char *currency_code) {
  CHECK(ledger_currency_valid(currency_code));
  return (size_t)((currency_code[0] - 'A') * 26 * 26 + (currency_code[1] - 'A') * 26 +
                  (currency_code[2] - 'A'));
}

/* The trial balance: per currency, the balances sum to zero. */
static ccpay_err verify_trial_balance(verify *v) {
  int64_t *totals = calloc(VERIFY_CURRENCIES, sizeof *totals);
  if (totals == NULL) return ccpay_error_set(v->error, CCPAY_ERR_LIMIT_EXCEEDED, "out of memory");
  ccpay_err err = CCPAY_OK;
  for (size_t i = 0; i < v->accounts.capacity && err == CCPAY_OK; i++) {
    const verify_account *a = &v->accounts.slots[i];
    if (!a->used) continue;
    int64_t *total = &totals[verify_currency_index(a->currency_code)];
    if (__builtin_add_overflow(*total, a->sum, total)) {
      err = verify_fail(v, "the balances in %s overflow int64", a->currency_code);
    }
  }
  for (size_t i = 0; i < v->accounts.capacity && err == CCPAY_OK; i++) {
    const verify_account *a = &v->accounts.slots[i];
    int64_t total = a->used ? totals[verify_currency_index(a->currency_code)] : 0;
    if (total != 0) {
      err = verify_fail(v, "the trial balance in %s is %lld, not 0", a->currency_code,
                        (long long)total);
    }
  }
  free(totals);
  return err;
}

/* A posting-list row must be an account of a stored entry (the rows the entries call
 * for were all found; the count then rules out extra ones). */
static ccpay_err verify_posting_list_row(verify *v, store_val key, store_val value) {
  ledger_key parts;
  int64_t amount = 0;
  if (!ledger_parse_posting_key(key, &parts) || !ledger_parse_amount(value, &amount)) {
    return verify_fail(v, "account_postings: a malformed row (key of %zu bytes)", key.len);
  }
  verify_account *slot = verify_accounts_slot(&v->accounts, parts.account, parts.currency_code);
  if (!slot->used || parts.sequence == 0 || parts.sequence > v->last_sequence) {
    return verify_fail(v,
                       "account_postings: a row for %s in %s at sequence %llu, no posting of "
                       "an entry",
                       parts.account, parts.currency_code, (unsigned long long)parts.sequence);
  }
  v->report->index_entries++;
  return CCPAY_OK;
}

/* With the count off, finds the row that no entry calls for. */
static ccpay_err verify_posting_list_extra(verify *v, store_val key, store_val value) {
  ledger_key parts;
  CHECK(ledger_parse_posting_key(key, &parts)); /* the first walk checked every key */
  uint8_t entry_key[VERIFY_ID_KEY_BYTES];
  key_put_u64(entry_key, parts.sequence);
  ProtobufCMessage *message = NULL;
  ccpay_err err =
      store_get_message(v->txn, STORE_DB_ENTRIES, entry_key, sizeof entry_key,
                        &ccpay__v1__journal_entry__descriptor, v->arena, &message, v->error);
  if (err != CCPAY_OK) return err; /* every entry up to the last was read before */
  const Ccpay__V1__JournalEntry *entry = (const Ccpay__V1__JournalEntry *)message;
  for (size_t i = 0; i < entry->n_postings; i++) {
    const Ccpay__V1__Posting *p = entry->postings[i];
    if (strcmp(p->account, parts.account) == 0 &&
        strcmp(p->amount->currency_code, parts.currency_code) == 0) {
      return CCPAY_OK;
    }
  }
  return verify_fail(v,
                     "account_postings: a row for %s in %s at sequence %llu, which does not "
                     "post to it",
                     parts.account, parts.currency_code, (unsigned long long)parts.sequence);
}

static ccpay_err verify_posting_lists(verify *v) {
  uint64_t before = v->report->index_entries;
  ccpay_err err = verify_walk(v, STORE_DB_ACCOUNT_POSTINGS, NULL, verify_posting_list_row);
  if (err != CCPAY_OK) return err;
  uint64_t rows = v->report->index_entries - before;
  /* Each movement's row was found, and rows have distinct keys: never fewer rows. */
  CHECK(rows >= v->postings_expected);
  if (rows == v->postings_expected) return CCPAY_OK;
  err = verify_walk(v, STORE_DB_ACCOUNT_POSTINGS, NULL, verify_posting_list_extra);
  if (err != CCPAY_OK) return err;
  /* Unreachable: rows that all belong to entries are at most one per movement, so the
   * walk above found the extra one. */
  CHECK(rows == v->postings_expected);
  return CCPAY_OK;
}

/* --- Records and their indexes ------------------------------------------------------------- */

typedef ccpay_err (*verify_record_fn)(verify *v, const ProtobufCMessage *record,
                                      const char *id_text);
typedef bool (*verify_index_key_fn)(const ProtobufCMessage *record, uint64_t id, store_db db,
                                    key_builder *k);

/* One kind of record: where it lives, how its id reads, its own checks and indexes. */
typedef struct verify_kind {
  const char *name; /* "customer" */
  store_db db;
  id_kind kind;
  const ProtobufCMessageDescriptor *descriptor;
  verify_record_fn check;        /* references to other records; may be NULL */
  verify_index_key_fn index_key; /* may be NULL when indexes is empty */
  size_t counter_offset;         /* of the report's count of these records */
  store_db indexes[3];
  const char *index_names[3]; /* as store.c names the databases */
  const char *fields[3];      /* what each index is by */
  /* Each index's key: a fixed number of bytes before the id, or 0 for a value ended by
   * 0x00 (a name, a hold code). */
  size_t prefix_bytes[3];
  size_t index_count;
} verify_kind;

typedef struct verify_index {
  const verify_kind *kind;
  size_t i; /* which of kind's indexes */
} verify_index;

/* The id field of a record: every kind has a string field "id". */
static const char *verify_record_id(const ProtobufCMessage *record) {
  const ProtobufCFieldDescriptor *field =
      protobuf_c_message_descriptor_get_field_by_name(record->descriptor, "id");
  CHECK(field != NULL && field->type == PROTOBUF_C_TYPE_STRING);
  return *(const char *const *)((const char *)record + field->offset);
}

/* Reads the record of kind with id into arena a; NULL in *out (CCPAY_OK) when there is
 * none. Checks that it decodes and carries its key's id. */
static ccpay_err verify_read_record_in(verify *v, arena *a, const verify_kind *kind, uint64_t id,
                                       ProtobufCMessage **out) {
  uint8_t key[VERIFY_ID_KEY_BYTES];
  key_put_u64(key, id);
  store_val value;
  *out = NULL;
  ccpay_err err = store_get(v->txn, kind->db, key, sizeof key, &value, v->error);
  if (err == CCPAY_ERR_NOT_FOUND) return CCPAY_OK;
  if (err != CCPAY_OK) return err;
  char text[ID_TEXT_BYTES_MAX];
  id_format(kind->kind, id, text);
  ProtobufCMessage *record = verify_unpack(a, kind->descriptor, value);
  if (record == NULL) return verify_fail(v, "%s %s does not decode", kind->name, text);
  uint64_t stored = 0;
  const char *stored_text = verify_record_id(record);
  if (!id_parse(kind->kind, stored_text, &stored) || stored != id) {
    return verify_fail(v, "%s %s: the record says id \"%.40s\"", kind->name, text, stored_text);
  }
  *out = record;
  return CCPAY_OK;
}

/* verify_read_record_in the row's arena. */
static ccpay_err verify_read_record(verify *v, const verify_kind *kind, uint64_t id,
                                    ProtobufCMessage **out) {
  return verify_read_record_in(v, v->arena, kind, id, out);
}

/* verify_read_record_in a fresh scratch arena: the record stays valid until the next. */
static ccpay_err verify_read_scratch(verify *v, const verify_kind *kind, uint64_t id,
                                     ProtobufCMessage **out) {
  *out = NULL;
  ccpay_err err = verify_arena_renew(v, &v->scratch);
  if (err != CCPAY_OK) return err;
  return verify_read_record_in(v, v->scratch, kind, id, out);
}

/* The record's index entry in kind's index i, if it calls for one, must exist. */
static ccpay_err verify_record_indexed(verify *v, const verify_kind *kind, size_t i,
                                       const ProtobufCMessage *record, uint64_t id,
                                       const char *id_text) {
  key_builder k;
  if (!kind->index_key(record, id, kind->indexes[i], &k)) return CCPAY_OK;
  if (k.overflow) {
    return verify_fail(v, "%s %s: its %s is too long to index", kind->name, id_text,
                       kind->fields[i]);
  }
  store_val value;
  ccpay_err err = store_get(v->txn, kind->indexes[i], k.bytes, k.len, &value, v->error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return verify_fail(v, "%s %s has no entry in %s", kind->name, id_text, kind->index_names[i]);
  }
  return err;
}

static ccpay_err verify_record_row(verify *v, store_val key, store_val value) {
  const verify_kind *kind = v->table;
  if (key.len != VERIFY_ID_KEY_BYTES) {
    return verify_fail(v, "%ss: a key of %zu bytes", kind->name, key.len);
  }
  uint64_t id = key_get_u64(key.data);
  char text[ID_TEXT_BYTES_MAX];
  id_format(kind->kind, id, text);
  ProtobufCMessage *record = NULL;
  ccpay_err err = verify_read_record(v, kind, id, &record);
  if (err == CCPAY_OK && record == NULL) err = verify_fail(v, "%s %s vanished", kind->name, text);
  if (err == CCPAY_OK && kind->check != NULL) err = kind->check(v, record, text);
  for (size_t i = 0; err == CCPAY_OK && i < kind->index_count; i++) {
    err = verify_record_indexed(v, kind, i, record, id, text);
  }
  if (err == CCPAY_OK) (*(uint64_t *)((char *)v->report + kind->counter_offset))++;
  (void)value; /* read again by id, as index entries read it */
  return err;
}

/* The id an index key ends with (~id, 8 bytes), after a fixed-length prefix or after a
 * value and its 0x00; false when the key has neither shape. */
static bool verify_index_key_id(size_t fixed, store_val key, uint64_t *id) {
  bool valid =
      fixed > 0 ? key.len == fixed + VERIFY_ID_KEY_BYTES
                : key.len > VERIFY_ID_KEY_BYTES && key.data[key.len - VERIFY_ID_KEY_BYTES - 1] == 0;
  if (!valid) return false;
  *id = ~key_get_u64(key.data + key.len - VERIFY_ID_KEY_BYTES);
  return *id != 0;
}

/* An index entry must name a record whose values produce exactly this key. */
static ccpay_err verify_index_row(verify *v, store_val key, store_val value) {
  const verify_index *index = v->table;
  const verify_kind *kind = index->kind;
  const char *db_name = kind->index_names[index->i];
  uint64_t id = 0;
  if (!verify_index_key_id(kind->prefix_bytes[index->i], key, &id)) {
    return verify_fail(v, "%s: a malformed key of %zu bytes", db_name, key.len);
  }
  char text[ID_TEXT_BYTES_MAX];
  id_format(kind->kind, id, text);
  ProtobufCMessage *record = NULL;
  ccpay_err err = verify_read_record(v, kind, id, &record);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "%s: an entry names %s %s, which does not exist", db_name, kind->name,
                       text);
  }
  if (kind->check != NULL) err = kind->check(v, record, text);
  if (err != CCPAY_OK) return err;
  key_builder k;
  bool indexed = kind->index_key(record, id, kind->indexes[index->i], &k);
  if (!indexed || k.overflow || k.len != key.len || memcmp(k.bytes, key.data, key.len) != 0) {
    return verify_fail(v, "%s: the entry for %s %s does not match its %s", db_name, kind->name,
                       text, kind->fields[index->i]);
  }
  v->report->index_entries++;
  (void)value;
  return CCPAY_OK;
}

/* Every record of kind, then every entry of each of its indexes. */
static ccpay_err verify_kind_all(verify *v, const verify_kind *kind) {
  ccpay_err err = verify_walk(v, kind->db, kind, verify_record_row);
  for (size_t i = 0; err == CCPAY_OK && i < kind->index_count; i++) {
    verify_index index = {kind, i};
    err = verify_walk(v, kind->indexes[i], &index, verify_index_row);
  }
  return err;
}

/* --- Customers, orders, invoices ------------------------------------------------------------ */

static bool verify_customer_index_key(const ProtobufCMessage *record, uint64_t id, store_db db,
                                      key_builder *k) {
  return customers_index_key((const Ccpay__V1__Customer *)record, id, db, k);
}

static bool verify_order_index_key(const ProtobufCMessage *record, uint64_t id, store_db db,
                                   key_builder *k) {
  return orders_index_key((const Ccpay__V1__Order *)record, id, db, k);
}

static ccpay_err verify_order_check(verify *v, const ProtobufCMessage *record, const char *id_text);
static ccpay_err verify_invoice_check(verify *v, const ProtobufCMessage *record,
                                      const char *id_text);
static ccpay_err verify_payment_check(verify *v, const ProtobufCMessage *record,
                                      const char *id_text);
static ccpay_err verify_transaction_check(verify *v, const ProtobufCMessage *record,
                                          const char *id_text);

static const verify_kind verify_customers_kind = {
    .name = "customer",
    .db = STORE_DB_CUSTOMERS,
    .kind = ID_CUSTOMER,
    .descriptor = &ccpay__v1__customer__descriptor,
    .index_key = verify_customer_index_key,
    .counter_offset = offsetof(verify_report, customers),
    .indexes = {STORE_DB_CUSTOMERS_BY_NAME, STORE_DB_CUSTOMERS_BY_EMAIL,
                STORE_DB_CUSTOMERS_BY_PHONE},
    .index_names = {"customers_by_name", "customers_by_email", "customers_by_phone"},
    .fields = {"name", "email", "phone"},
    .index_count = 3,
};

static const verify_kind verify_orders_kind = {
    .name = "order",
    .db = STORE_DB_ORDERS,
    .kind = ID_ORDER,
    .descriptor = &ccpay__v1__order__descriptor,
    .check = verify_order_check,
    .index_key = verify_order_index_key,
    .counter_offset = offsetof(verify_report, orders),
    .indexes = {STORE_DB_ORDERS_BY_STATUS, STORE_DB_ORDERS_BY_CUSTOMER, STORE_DB_ORDERS_BY_HOLD},
    .index_names = {"orders_by_status", "orders_by_customer", "orders_by_hold"},
    .fields = {"status", "customer_id", "hold code"},
    .prefix_bytes = {1, VERIFY_ID_KEY_BYTES, 0},
    .index_count = 3,
};

static const verify_kind verify_invoices_kind = {
    .name = "invoice",
    .db = STORE_DB_INVOICES,
    .kind = ID_INVOICE,
    .descriptor = &ccpay__v1__invoice__descriptor,
    .check = verify_invoice_check,
    .counter_offset = offsetof(verify_report, invoices),
};

/* Payments and transactions have no index: an order lists its payments, a payment its
 * transactions, and transactions_open is checked on its own (verify_open_row). */
static const verify_kind verify_payments_kind = {
    .name = "payment",
    .db = STORE_DB_PAYMENTS,
    .kind = ID_PAYMENT,
    .descriptor = &ccpay__v1__payment__descriptor,
    .check = verify_payment_check,
    .counter_offset = offsetof(verify_report, payments),
};

static bool verify_return_index_key(const ProtobufCMessage *record, uint64_t id, store_db db,
                                    key_builder *k) {
  return returns_index_key((const Ccpay__V1__ReturnOrder *)record, id, db, k);
}

static bool verify_refund_check_index_key(const ProtobufCMessage *record, uint64_t id, store_db db,
                                          key_builder *k) {
  return refund_checks_index_key((const Ccpay__V1__RefundCheck *)record, id, db, k);
}

static ccpay_err verify_return_check(verify *v, const ProtobufCMessage *record,
                                     const char *id_text);
static ccpay_err verify_refund_check_check(verify *v, const ProtobufCMessage *record,
                                           const char *id_text);

static const verify_kind verify_returns_kind = {
    .name = "return",
    .db = STORE_DB_RETURNS,
    .kind = ID_RETURN,
    .descriptor = &ccpay__v1__return_order__descriptor,
    .check = verify_return_check,
    .index_key = verify_return_index_key,
    .counter_offset = offsetof(verify_report, returns),
    .indexes = {STORE_DB_RETURNS_BY_CUSTOMER, STORE_DB_RETURNS_BY_ORDER,
                STORE_DB_RETURNS_BY_STATUS},
    .index_names = {"returns_by_customer", "returns_by_order", "returns_by_status"},
    .fields = {"customer_id", "original_order_id", "status"},
    .prefix_bytes = {VERIFY_ID_KEY_BYTES, VERIFY_ID_KEY_BYTES, 1},
    .index_count = 3,
};

static const verify_kind verify_refund_checks_kind = {
    .name = "refund check",
    .db = STORE_DB_REFUND_CHECKS,
    .kind = ID_REFUND_CHECK,
    .descriptor = &ccpay__v1__refund_check__descriptor,
    .check = verify_refund_check_check,
    .index_key = verify_refund_check_index_key,
    .counter_offset = offsetof(verify_report, refund_checks),
    .indexes = {STORE_DB_REFUND_CHECKS_BY_STATUS},
    .index_names = {"refund_checks_by_status"},
    .fields = {"status"},
    .prefix_bytes = {1},
    .index_count = 1,
};

static const verify_kind verify_transactions_kind = {
    .name = "transaction",
    .db = STORE_DB_TRANSACTIONS,
    .kind = ID_TXN,
    .descriptor = &ccpay__v1__transaction__descriptor,
    .check = verify_transaction_check,
    .counter_offset = offsetof(verify_report, transactions),
};

/* Whether the record of kind named by text (a field of a record) exists. */
static ccpay_err verify_reference(verify *v, const verify_kind *kind, const char *text,
                                  ProtobufCMessage **out, bool *valid) {
  uint64_t id = 0;
  *out = NULL;
  *valid = text != NULL && id_parse(kind->kind, text, &id);
  if (!*valid) return CCPAY_OK;
  return verify_read_record(v, kind, id, out);
}

/* One of an order's invoice ids: the invoice exists and names the order back. */
static ccpay_err verify_order_invoice(verify *v, const Ccpay__V1__Order *order,
                                      const char *invoice_id, const char *id_text) {
  ProtobufCMessage *record = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, &verify_invoices_kind, invoice_id, &record, &valid);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "order %s lists invoice \"%.40s\", which does not exist", id_text,
                       valid ? invoice_id : "(malformed id)");
  }
  const Ccpay__V1__Invoice *invoice = (const Ccpay__V1__Invoice *)record;
  if (invoice->order_id == NULL || strcmp(invoice->order_id, order->id) != 0) {
    return verify_fail(v, "order %s lists invoice %s, which is for order \"%.40s\"", id_text,
                       invoice->id, invoice->order_id != NULL ? invoice->order_id : "");
  }
  return CCPAY_OK;
}

/* A string field as decoded: protobuf-c gives "" for an absent one, but never trust it. */
static const char *verify_text(const char *text) { return text != NULL ? text : ""; }

/* An order's payment ids: at most PAYMENTS_PER_ORDER_MAX, oldest first (ids grow with
 * time), each an existing payment that names the order back. */
static ccpay_err verify_order_payments(verify *v, const Ccpay__V1__Order *order,
                                       const char *id_text) {
  if (order->n_payment_ids > PAYMENTS_PER_ORDER_MAX) {
    return verify_fail(v, "order %s lists %zu payments, more than the %d allowed", id_text,
                       order->n_payment_ids, PAYMENTS_PER_ORDER_MAX);
  }
  uint64_t previous = 0;
  for (size_t i = 0; i < order->n_payment_ids; i++) {
    const char *payment_id = verify_text(order->payment_ids[i]);
    uint64_t id = 0;
    if (!id_parse(ID_PAYMENT, payment_id, &id)) {
      return verify_fail(v, "order %s lists payment \"%.40s\", which is no payment id", id_text,
                         payment_id);
    }
    if (id <= previous) {
      return verify_fail(v,
                         "order %s lists payment %s twice or out of order (payment_ids run "
                         "oldest first)",
                         id_text, payment_id);
    }
    previous = id;
    ProtobufCMessage *record = NULL;
    ccpay_err err = verify_read_scratch(v, &verify_payments_kind, id, &record);
    if (err != CCPAY_OK) return err;
    if (record == NULL) {
      return verify_fail(v, "order %s lists payment %s, which does not exist", id_text, payment_id);
    }
    const char *order_id = verify_text(((const Ccpay__V1__Payment *)record)->order_id);
    if (strcmp(order_id, verify_text(order->id)) != 0) {
      return verify_fail(v, "order %s lists payment %s, which is for order \"%.40s\"", id_text,
                         payment_id, order_id);
    }
  }
  return CCPAY_OK;
}

static ccpay_err verify_order_check(verify *v, const ProtobufCMessage *record,
                                    const char *id_text) {
  const Ccpay__V1__Order *order = (const Ccpay__V1__Order *)record;
  CHECK(order->base.descriptor == &ccpay__v1__order__descriptor);
  if (order->status < 0 || order->status > UINT8_MAX) {
    return verify_fail(v, "order %s: status %d is out of range", id_text, (int)order->status);
  }
  ProtobufCMessage *customer = NULL;
  bool valid = false;
  ccpay_err err =
      verify_reference(v, &verify_customers_kind, order->customer_id, &customer, &valid);
  if (err != CCPAY_OK) return err;
  if (customer == NULL) {
    return verify_fail(v, "order %s names customer \"%.40s\", which does not exist", id_text,
                       order->customer_id != NULL ? order->customer_id : "");
  }
  for (size_t i = 0; err == CCPAY_OK && i < order->n_invoice_ids; i++) {
    err = verify_order_invoice(v, order, order->invoice_ids[i], id_text);
  }
  if (err == CCPAY_OK) err = verify_order_payments(v, order, id_text);
  return err;
}

static ccpay_err verify_invoice_check(verify *v, const ProtobufCMessage *record,
                                      const char *id_text) {
  const Ccpay__V1__Invoice *invoice = (const Ccpay__V1__Invoice *)record;
  CHECK(invoice->base.descriptor == &ccpay__v1__invoice__descriptor);
  ProtobufCMessage *order = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, &verify_orders_kind, invoice->order_id, &order, &valid);
  if (err != CCPAY_OK) return err;
  if (order == NULL) {
    return verify_fail(v, "invoice %s names order \"%.40s\", which does not exist", id_text,
                       invoice->order_id != NULL ? invoice->order_id : "");
  }
  /* 0: nothing to post (an invoice of zero); otherwise an entry that exists. */
  if (invoice->entry_sequence < 0 || (uint64_t)invoice->entry_sequence > v->last_sequence) {
    return verify_fail(v, "invoice %s: entry_sequence %lld is no entry", id_text,
                       (long long)invoice->entry_sequence);
  }
  return CCPAY_OK;
}

/* --- Payments and transactions -------------------------------------------------------------- */

#define VERIFY_KIND(x) CCPAY__V1__TRANSACTION_KIND__TRANSACTION_KIND_##x
#define VERIFY_STATE(x) CCPAY__V1__TRANSACTION_STATE__TRANSACTION_STATE_##x

/* The name of an enum value without its prefix ("PENDING"); NULL for a value the enum
 * does not have. */
static const char *verify_enum_name(const ProtobufCEnumDescriptor *d, int value,
                                    const char *prefix) {
  const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, value);
  if (e == NULL) return NULL;
  size_t n = strlen(prefix);
  return strncmp(e->name, prefix, n) == 0 ? e->name + n : e->name;
}

static const char *verify_state_name(Ccpay__V1__TransactionState state) {
  const char *name =
      verify_enum_name(&ccpay__v1__transaction_state__descriptor, (int)state, "TRANSACTION_STATE_");
  return name != NULL ? name : "(unknown state)";
}

static const char *verify_kind_name(Ccpay__V1__TransactionKind kind) {
  const char *name =
      verify_enum_name(&ccpay__v1__transaction_kind__descriptor, (int)kind, "TRANSACTION_KIND_");
  return name != NULL ? name : "(unknown kind)";
}

/* Whether t moved money when it succeeded, and so has a journal entry. */
static bool verify_transaction_posts(const Ccpay__V1__Transaction *t) {
  return t->state == VERIFY_STATE(SUCCEEDED) &&
         (t->kind == VERIFY_KIND(CAPTURE) || t->kind == VERIFY_KIND(SALE) ||
          t->kind == VERIFY_KIND(REFUND));
}

/* Reads entry sequence (1 to the last) into the row's arena; what names it says which
 * record's entry_sequence this is, for the message. */
static ccpay_err verify_read_entry(verify *v, int64_t sequence, const char *what,
                                   const Ccpay__V1__JournalEntry **out) {
  *out = NULL;
  if (sequence <= 0 || (uint64_t)sequence > v->last_sequence) {
    return verify_fail(v, "%s: entry_sequence %lld is no entry", what, (long long)sequence);
  }
  uint8_t key[VERIFY_ID_KEY_BYTES];
  key_put_u64(key, (uint64_t)sequence);
  ProtobufCMessage *message = NULL;
  ccpay_err err =
      store_get_message(v->txn, STORE_DB_ENTRIES, key, sizeof key,
                        &ccpay__v1__journal_entry__descriptor, v->arena, &message, v->error);
  if (err == CCPAY_OK) *out = (const Ccpay__V1__JournalEntry *)message;
  return err; /* every entry up to the last was read before */
}

/* An entry that names a transaction is that transaction's entry (and of its payment);
 * one that names only a payment is that payment's (a received check or cash). So no
 * operation is posted twice. */
static ccpay_err verify_entry_links(verify *v, uint64_t sequence,
                                    const Ccpay__V1__JournalEntry *entry) {
  const char *transaction_id = verify_text(entry->transaction_id);
  const char *payment_id = verify_text(entry->payment_id);
  bool by_transaction = transaction_id[0] != '\0';
  if (!by_transaction && payment_id[0] == '\0') return CCPAY_OK;
  const verify_kind *kind = by_transaction ? &verify_transactions_kind : &verify_payments_kind;
  const char *text = by_transaction ? transaction_id : payment_id;
  ProtobufCMessage *record = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, kind, text, &record, &valid);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "entry %llu names %s \"%.40s\", which does not exist",
                       (unsigned long long)sequence, kind->name, text);
  }
  int64_t named = 0;
  const char *record_payment = NULL;
  if (by_transaction) {
    named = ((const Ccpay__V1__Transaction *)record)->entry_sequence;
    record_payment = verify_text(((const Ccpay__V1__Transaction *)record)->payment_id);
  } else {
    named = ((const Ccpay__V1__Payment *)record)->entry_sequence;
    record_payment = payment_id;
  }
  if (named < 0 || (uint64_t)named != sequence) {
    return verify_fail(v, "entry %llu names %s %s, whose entry_sequence is %lld",
                       (unsigned long long)sequence, kind->name, text, (long long)named);
  }
  if (strcmp(payment_id, record_payment) != 0) {
    return verify_fail(v, "entry %llu names payment \"%.40s\", but its transaction %s is of %s",
                       (unsigned long long)sequence, payment_id, text, record_payment);
  }
  return CCPAY_OK;
}

/* A payment's amounts, read and checked by verify_payment_amounts. */
typedef struct verify_amounts {
  int64_t amount, authorized, captured, refunded, released, pending_capture, pending_refund;
  int64_t refunded_elsewhere;
  bool refund_only;
} verify_amounts;

/* Every amount of p: absent counts as 0; present, it is in the currency of p->amount
 * (which must have one) and not negative. */
static ccpay_err verify_payment_amounts(verify *v, const Ccpay__V1__Payment *p, const char *id_text,
                                        verify_amounts *out) {
  if (p->amount == NULL || !ledger_currency_valid(verify_text(p->amount->currency_code))) {
    return verify_fail(v, "payment %s: amount has no currency", id_text);
  }
  const char *currency = p->amount->currency_code;
  const Ccpay__V1__Money *fields[] = {p->amount,         p->authorized,        p->captured,
                                      p->refunded,       p->released,          p->pending_capture,
                                      p->pending_refund, p->refunded_elsewhere};
  static const char *const names[] = {"amount",         "authorized",        "captured",
                                      "refunded",       "released",          "pending_capture",
                                      "pending_refund", "refunded_elsewhere"};
  int64_t *values[] = {&out->amount,         &out->authorized,        &out->captured,
                       &out->refunded,       &out->released,          &out->pending_capture,
                       &out->pending_refund, &out->refunded_elsewhere};
  out->refund_only = p->refund_only;
  _Static_assert(sizeof fields / sizeof *fields == sizeof names / sizeof *names, "names");
  _Static_assert(sizeof values / sizeof *values == sizeof names / sizeof *names, "values");
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    *values[i] = fields[i] != NULL ? fields[i]->amount_minor : 0;
    const char *code = fields[i] != NULL ? verify_text(fields[i]->currency_code) : currency;
    if (strcmp(code, currency) != 0) {
      return verify_fail(v, "payment %s: %s is in \"%.8s\", the payment is in %s", id_text,
                         names[i], code, currency);
    }
    if (*values[i] < 0) {
      return verify_fail(v, "payment %s: %s is %lld, below 0", id_text, names[i],
                         (long long)*values[i]);
    }
  }
  return CCPAY_OK;
}

/* captured + released + pending_capture <= authorized, refunded + pending_refund +
 * refunded_elsewhere <= captured: what is taken or reserved never exceeds what is there.
 * A refund-only card took nothing in: refunded + pending_refund <= amount. */
static ccpay_err verify_payment_bounds(verify *v, const verify_amounts *m, const char *id_text) {
  int64_t taken = 0, returned = 0;
  bool overflow = __builtin_add_overflow(m->captured, m->released, &taken) ||
                  __builtin_add_overflow(taken, m->pending_capture, &taken);
  if (overflow || taken > m->authorized) {
    return verify_fail(v,
                       "payment %s: captured %lld + released %lld + pending_capture %lld exceed "
                       "authorized %lld",
                       id_text, (long long)m->captured, (long long)m->released,
                       (long long)m->pending_capture, (long long)m->authorized);
  }
  overflow = __builtin_add_overflow(m->refunded, m->pending_refund, &returned) ||
             __builtin_add_overflow(returned, m->refunded_elsewhere, &returned);
  if (m->refund_only &&
      (m->authorized != 0 || m->refunded_elsewhere != 0 || overflow || returned > m->amount)) {
    return verify_fail(v,
                       "payment %s: a refund-only card with authorized %lld, refunded %lld + "
                       "pending_refund %lld over its amount %lld",
                       id_text, (long long)m->authorized, (long long)m->refunded,
                       (long long)m->pending_refund, (long long)m->amount);
  }
  if (!m->refund_only && (overflow || returned > m->captured)) {
    return verify_fail(v,
                       "payment %s: refunded %lld + pending_refund %lld + refunded_elsewhere "
                       "%lld exceed captured %lld",
                       id_text, (long long)m->refunded, (long long)m->pending_refund,
                       (long long)m->refunded_elsewhere, (long long)m->captured);
  }
  return CCPAY_OK;
}

static ccpay_err verify_refund_only_payment(verify *v, const Ccpay__V1__Payment *p,
                                            const char *id_text);

/* The payment's order exists, lists it, and is of the same customer. */
static ccpay_err verify_payment_order(verify *v, const Ccpay__V1__Payment *p, const char *id_text) {
  if (p->refund_only) return verify_refund_only_payment(v, p, id_text);
  ProtobufCMessage *record = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, &verify_orders_kind, p->order_id, &record, &valid);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "payment %s names order \"%.40s\", which does not exist", id_text,
                       verify_text(p->order_id));
  }
  const Ccpay__V1__Order *order = (const Ccpay__V1__Order *)record;
  bool listed = false;
  for (size_t i = 0; !listed && i < order->n_payment_ids; i++) {
    listed = strcmp(verify_text(order->payment_ids[i]), id_text) == 0;
  }
  if (!listed) {
    return verify_fail(v, "payment %s: its order %s does not list it in payment_ids", id_text,
                       order->id);
  }
  if (strcmp(verify_text(p->customer_id), verify_text(order->customer_id)) != 0) {
    return verify_fail(v, "payment %s: customer_id \"%.40s\" is not its order's customer %s",
                       id_text, verify_text(p->customer_id), verify_text(order->customer_id));
  }
  return CCPAY_OK;
}

/* What a payment's transactions add up to, by kind and state. */
typedef struct verify_sums {
  int64_t authorized;      /* SUCCEEDED authorizations and sales */
  int64_t captured;        /* SUCCEEDED captures and sales */
  int64_t refunded;        /* SUCCEEDED refunds */
  int64_t pending_capture; /* PENDING or UNKNOWN captures */
  int64_t pending_refund;  /* PENDING or UNKNOWN refunds */
  const char *open_id;     /* the listed transaction still PENDING or UNKNOWN, if any */
  bool named_listed;       /* open_transaction_id is one of the listed transactions */
  Ccpay__V1__TransactionState named_state; /* and this is its state */
} verify_sums;

static bool verify_sum_add(int64_t *sum, int64_t amount) {
  return !__builtin_add_overflow(*sum, amount, sum);
}

/* Adds t (listed by the payment as listed_id, a string of the row's arena) to sums. */
static ccpay_err verify_sums_add(verify *v, verify_sums *sums, const Ccpay__V1__Transaction *t,
                                 const char *listed_id, const char *id_text) {
  int64_t amount = t->amount != NULL ? t->amount->amount_minor : 0;
  bool ok = true;
  if (t->state == VERIFY_STATE(SUCCEEDED)) {
    if (t->kind == VERIFY_KIND(AUTHORIZE) || t->kind == VERIFY_KIND(SALE)) {
      ok = verify_sum_add(&sums->authorized, amount);
    }
    if (t->kind == VERIFY_KIND(CAPTURE) || t->kind == VERIFY_KIND(SALE)) {
      ok = ok && verify_sum_add(&sums->captured, amount);
    }
    if (t->kind == VERIFY_KIND(REFUND)) ok = verify_sum_add(&sums->refunded, amount);
  }
  if (transaction_state_open(t->state)) {
    if (sums->open_id != NULL) {
      return verify_fail(v, "payment %s has two open transactions, %s and %s", id_text,
                         sums->open_id, listed_id);
    }
    sums->open_id = listed_id;
    if (t->kind == VERIFY_KIND(CAPTURE)) ok = verify_sum_add(&sums->pending_capture, amount);
    if (t->kind == VERIFY_KIND(REFUND)) ok = verify_sum_add(&sums->pending_refund, amount);
  }
  if (!ok) return verify_fail(v, "payment %s: its transactions' amounts overflow int64", id_text);
  return CCPAY_OK;
}

/* The payment's transaction ids: at most TRANSACTIONS_PER_PAYMENT_MAX, oldest first,
 * each an existing transaction of this payment; their amounts summed into sums. */
static ccpay_err verify_payment_transactions(verify *v, const Ccpay__V1__Payment *p,
                                             const char *id_text, verify_sums *sums) {
  if (p->n_transaction_ids > TRANSACTIONS_PER_PAYMENT_MAX) {
    return verify_fail(v, "payment %s lists %zu transactions, more than the %d allowed", id_text,
                       p->n_transaction_ids, TRANSACTIONS_PER_PAYMENT_MAX);
  }
  const char *open_named = verify_text(p->open_transaction_id);
  uint64_t previous = 0;
  for (size_t i = 0; i < p->n_transaction_ids; i++) {
    const char *listed_id = verify_text(p->transaction_ids[i]);
    uint64_t id = 0;
    if (!id_parse(ID_TXN, listed_id, &id)) {
      return verify_fail(v, "payment %s lists transaction \"%.40s\", which is no transaction id",
                         id_text, listed_id);
    }
    if (id <= previous) {
      return verify_fail(v,
                         "payment %s lists transaction %s twice or out of order "
                         "(transaction_ids run oldest first)",
                         id_text, listed_id);
    }
    previous = id;
    ProtobufCMessage *record = NULL;
    ccpay_err err = verify_read_scratch(v, &verify_transactions_kind, id, &record);
    if (err != CCPAY_OK) return err;
    if (record == NULL) {
      return verify_fail(v, "payment %s lists transaction %s, which does not exist", id_text,
                         listed_id);
    }
    const Ccpay__V1__Transaction *t = (const Ccpay__V1__Transaction *)record;
    if (strcmp(verify_text(t->payment_id), id_text) != 0) {
      return verify_fail(v, "payment %s lists transaction %s, which is for payment \"%.40s\"",
                         id_text, listed_id, verify_text(t->payment_id));
    }
    if (strcmp(listed_id, open_named) == 0) {
      sums->named_listed = true;
      sums->named_state = t->state;
    }
    err = verify_sums_add(v, sums, t, listed_id, id_text);
    if (err != CCPAY_OK) return err;
  }
  return CCPAY_OK;
}

/* open_transaction_id names exactly the one listed transaction still open, or is empty
 * when there is none. */
static ccpay_err verify_payment_open(verify *v, const Ccpay__V1__Payment *p,
                                     const verify_sums *sums, const char *id_text) {
  const char *named = verify_text(p->open_transaction_id);
  if (named[0] != '\0' && !sums->named_listed) {
    return verify_fail(v,
                       "payment %s: open_transaction_id \"%.40s\" is not one of its transactions",
                       id_text, named);
  }
  if (named[0] != '\0' && !transaction_state_open(sums->named_state)) {
    return verify_fail(v, "payment %s: open_transaction_id %s is %s, not PENDING or UNKNOWN",
                       id_text, named, verify_state_name(sums->named_state));
  }
  if (sums->open_id != NULL && strcmp(sums->open_id, named) != 0) {
    return verify_fail(v, "payment %s: transaction %s is open but open_transaction_id is \"%.40s\"",
                       id_text, sums->open_id, named);
  }
  return CCPAY_OK;
}

/* The payment's running amounts equal what its transactions add up to. authorized and
 * captured only for cards: a received check or cash counts as both without any. */
static ccpay_err verify_payment_sums(verify *v, const Ccpay__V1__Payment *p,
                                     const verify_amounts *m, const verify_sums *sums,
                                     const char *id_text) {
  bool card = p->tender_type == CCPAY__V1__TENDER_TYPE__TENDER_TYPE_CARD;
  struct {
    bool applies;
    const char *field;
    int64_t stored, summed;
    const char *what;
  } rules[] = {
      {card, "authorized", m->authorized, sums->authorized, "SUCCEEDED authorizations and sales"},
      {card, "captured", m->captured, sums->captured, "SUCCEEDED captures and sales"},
      {true, "refunded", m->refunded, sums->refunded, "SUCCEEDED refunds"},
      {true, "pending_capture", m->pending_capture, sums->pending_capture,
       "PENDING and UNKNOWN captures"},
      {true, "pending_refund", m->pending_refund, sums->pending_refund,
       "PENDING and UNKNOWN refunds"},
  };
  for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
    if (rules[i].applies && rules[i].stored != rules[i].summed) {
      return verify_fail(v, "payment %s: %s is %lld, its %s sum to %lld", id_text, rules[i].field,
                         (long long)rules[i].stored, rules[i].what, (long long)rules[i].summed);
    }
  }
  return CCPAY_OK;
}

/* A received check or cash names the entry that posted it; that entry names it back. */
static ccpay_err verify_payment_entry(verify *v, const Ccpay__V1__Payment *p, const char *id_text) {
  if (p->entry_sequence == 0) return CCPAY_OK;
  char what[ID_TEXT_BYTES_MAX + 16];
  snprintf(what, sizeof what, "payment %s", id_text);
  const Ccpay__V1__JournalEntry *entry = NULL;
  ccpay_err err = verify_read_entry(v, p->entry_sequence, what, &entry);
  if (err != CCPAY_OK) return err;
  if (strcmp(verify_text(entry->payment_id), id_text) != 0 ||
      verify_text(entry->transaction_id)[0] != '\0') {
    return verify_fail(v, "payment %s: entry %lld is for payment \"%.40s\" transaction \"%.40s\"",
                       id_text, (long long)p->entry_sequence, verify_text(entry->payment_id),
                       verify_text(entry->transaction_id));
  }
  return CCPAY_OK;
}

static ccpay_err verify_payment_check(verify *v, const ProtobufCMessage *record,
                                      const char *id_text) {
  const Ccpay__V1__Payment *p = (const Ccpay__V1__Payment *)record;
  CHECK(p->base.descriptor == &ccpay__v1__payment__descriptor);
  verify_amounts amounts = {0};
  verify_sums sums = {0};
  ccpay_err err = verify_payment_order(v, p, id_text);
  if (err == CCPAY_OK) err = verify_payment_amounts(v, p, id_text, &amounts);
  if (err == CCPAY_OK) err = verify_payment_bounds(v, &amounts, id_text);
  if (err == CCPAY_OK) err = verify_payment_transactions(v, p, id_text, &sums);
  if (err == CCPAY_OK) err = verify_payment_open(v, p, &sums, id_text);
  if (err == CCPAY_OK) err = verify_payment_sums(v, p, &amounts, &sums, id_text);
  if (err == CCPAY_OK) err = verify_payment_entry(v, p, id_text);
  return err;
}

/* t's payment exists, lists it, and is of the same order and currency. */
static ccpay_err verify_transaction_payment(verify *v, const Ccpay__V1__Transaction *t,
                                            const char *id_text) {
  ProtobufCMessage *record = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, &verify_payments_kind, t->payment_id, &record, &valid);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "transaction %s names payment \"%.40s\", which does not exist", id_text,
                       verify_text(t->payment_id));
  }
  const Ccpay__V1__Payment *p = (const Ccpay__V1__Payment *)record;
  bool listed = false;
  for (size_t i = 0; !listed && i < p->n_transaction_ids; i++) {
    listed = strcmp(verify_text(p->transaction_ids[i]), id_text) == 0;
  }
  if (!listed) {
    return verify_fail(v, "transaction %s: its payment %s does not list it in transaction_ids",
                       id_text, p->id);
  }
  if (strcmp(verify_text(t->order_id), verify_text(p->order_id)) != 0) {
    return verify_fail(v, "transaction %s: order_id \"%.40s\" is not its payment's order %s",
                       id_text, verify_text(t->order_id), verify_text(p->order_id));
  }
  /* Payments were all checked before: each has an amount with a currency. */
  const char *currency = p->amount != NULL ? verify_text(p->amount->currency_code) : "";
  if (t->amount == NULL) return verify_fail(v, "transaction %s has no amount", id_text);
  if (strcmp(verify_text(t->amount->currency_code), currency) != 0) {
    return verify_fail(v, "transaction %s: its amount is not in its payment's currency %s", id_text,
                       currency);
  }
  if (t->amount->amount_minor < 0) {
    return verify_fail(v, "transaction %s: amount %lld is below 0", id_text,
                       (long long)t->amount->amount_minor);
  }
  return CCPAY_OK;
}

/* In transactions_open exactly while PENDING or UNKNOWN. */
static ccpay_err verify_transaction_listed_open(verify *v, const Ccpay__V1__Transaction *t,
                                                const char *id_text) {
  uint64_t id = 0;
  CHECK(id_parse(ID_TXN, id_text, &id)); /* the record's key, formatted by its walk */
  uint8_t key[VERIFY_ID_KEY_BYTES];
  key_put_u64(key, id);
  store_val value;
  ccpay_err err = store_get(v->txn, STORE_DB_TRANSACTIONS_OPEN, key, sizeof key, &value, v->error);
  if (err != CCPAY_OK && err != CCPAY_ERR_NOT_FOUND) return err;
  bool listed = err == CCPAY_OK;
  bool open = transaction_state_open(t->state);
  if (open && !listed) {
    return verify_fail(v, "transaction %s is %s but not in transactions_open", id_text,
                       verify_state_name(t->state));
  }
  if (!open && listed) {
    return verify_fail(v, "transaction %s is %s but still in transactions_open", id_text,
                       verify_state_name(t->state));
  }
  return CCPAY_OK;
}

/* A capture, sale or refund that succeeded names the entry that posted it, and that
 * entry names it back; any other transaction posted nothing. */
static ccpay_err verify_transaction_entry(verify *v, const Ccpay__V1__Transaction *t,
                                          const char *id_text) {
  bool posts = verify_transaction_posts(t);
  if (posts && t->entry_sequence == 0) {
    return verify_fail(v, "transaction %s: a SUCCEEDED %s names no entry", id_text,
                       verify_kind_name(t->kind));
  }
  if (!posts && t->entry_sequence != 0) {
    return verify_fail(v, "transaction %s: a %s %s posts nothing, but entry_sequence is %lld",
                       id_text, verify_state_name(t->state), verify_kind_name(t->kind),
                       (long long)t->entry_sequence);
  }
  if (t->entry_sequence == 0) return CCPAY_OK;
  char what[ID_TEXT_BYTES_MAX + 16];
  snprintf(what, sizeof what, "transaction %s", id_text);
  const Ccpay__V1__JournalEntry *entry = NULL;
  ccpay_err err = verify_read_entry(v, t->entry_sequence, what, &entry);
  if (err != CCPAY_OK) return err;
  if (strcmp(verify_text(entry->transaction_id), id_text) != 0) {
    return verify_fail(v, "transaction %s: entry %lld is for transaction \"%.40s\"", id_text,
                       (long long)t->entry_sequence, verify_text(entry->transaction_id));
  }
  return CCPAY_OK;
}

static ccpay_err verify_transaction_check(verify *v, const ProtobufCMessage *record,
                                          const char *id_text) {
  const Ccpay__V1__Transaction *t = (const Ccpay__V1__Transaction *)record;
  CHECK(t->base.descriptor == &ccpay__v1__transaction__descriptor);
  if (t->kind == VERIFY_KIND(UNSPECIFIED) ||
      verify_enum_name(&ccpay__v1__transaction_kind__descriptor, (int)t->kind, "") == NULL) {
    return verify_fail(v, "transaction %s: kind %d is no kind", id_text, (int)t->kind);
  }
  if (t->state == VERIFY_STATE(UNSPECIFIED) ||
      verify_enum_name(&ccpay__v1__transaction_state__descriptor, (int)t->state, "") == NULL) {
    return verify_fail(v, "transaction %s: state %d is no state", id_text, (int)t->state);
  }
  ccpay_err err = verify_transaction_payment(v, t, id_text);
  if (err == CCPAY_OK) err = verify_transaction_listed_open(v, t, id_text);
  if (err == CCPAY_OK) err = verify_transaction_entry(v, t, id_text);
  return err;
}

/* transactions_open: every key names an existing transaction that is still open. */
static ccpay_err verify_open_row(verify *v, store_val key, store_val value) {
  if (key.len != VERIFY_ID_KEY_BYTES) {
    return verify_fail(v, "transactions_open: a key of %zu bytes", key.len);
  }
  uint64_t id = key_get_u64(key.data);
  char text[ID_TEXT_BYTES_MAX];
  id_format(ID_TXN, id, text);
  ProtobufCMessage *record = NULL;
  ccpay_err err = verify_read_record(v, &verify_transactions_kind, id, &record);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "transactions_open: an entry names transaction %s, which does not exist",
                       text);
  }
  Ccpay__V1__TransactionState state = ((const Ccpay__V1__Transaction *)record)->state;
  if (!transaction_state_open(state)) {
    return verify_fail(v, "transactions_open: transaction %s is %s, not PENDING or UNKNOWN", text,
                       verify_state_name(state));
  }
  v->report->index_entries++;
  (void)value;
  return CCPAY_OK;
}

/* --- Idempotency ---------------------------------------------------------------------------- */

static ccpay_err verify_idempotency_row(verify *v, store_val key, store_val value) {
  key_builder k;
  if (key.len == 0 || key.len > REQUEST_ID_BYTES_MAX ||
      !idempotency_time_key(key.data, key.len, value, &k)) {
    return verify_fail(v, "idempotency: a malformed record (key of %zu bytes)", key.len);
  }
  store_val entry;
  ccpay_err err = store_get(v->txn, STORE_DB_IDEMPOTENCY_BY_TIME, k.bytes, k.len, &entry, v->error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return verify_fail(v, "idempotency: request_id \"%.*s\" has no entry in idempotency_by_time",
                       (int)key.len, (const char *)key.data);
  }
  return err;
}

static ccpay_err verify_idempotency_time_row(verify *v, store_val key, store_val value) {
  enum { TIME_BYTES = 8 };
  if (key.len <= TIME_BYTES || key.len > TIME_BYTES + REQUEST_ID_BYTES_MAX) {
    return verify_fail(v, "idempotency_by_time: a malformed key of %zu bytes", key.len);
  }
  const uint8_t *request_id = key.data + TIME_BYTES;
  int request_id_len = (int)(key.len - TIME_BYTES);
  store_val record;
  ccpay_err err = store_get(v->txn, STORE_DB_IDEMPOTENCY, request_id, (size_t)request_id_len,
                            &record, v->error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return verify_fail(v,
                       "idempotency_by_time: an entry names request_id \"%.*s\", which has "
                       "no record",
                       request_id_len, (const char *)request_id);
  }
  if (err != CCPAY_OK) return err;
  key_builder k;
  if (!idempotency_time_key(request_id, (size_t)request_id_len, record, &k) || k.len != key.len ||
      memcmp(k.bytes, key.data, key.len) != 0) {
    return verify_fail(v,
                       "idempotency_by_time: the entry for request_id \"%.*s\" does not match "
                       "its record's time",
                       request_id_len, (const char *)request_id);
  }
  v->report->index_entries++;
  (void)value;
  return CCPAY_OK;
}

/* --- Returns and refund checks ----------------------------------------------------------- */

static int64_t verify_money(const Ccpay__V1__Money *m) { return m != NULL ? m->amount_minor : 0; }

/* A refund-only card belongs to a return that lists it, of the same customer. */
static ccpay_err verify_refund_only_payment(verify *v, const Ccpay__V1__Payment *p,
                                            const char *id_text) {
  ProtobufCMessage *record = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, &verify_returns_kind, p->order_id, &record, &valid);
  if (err != CCPAY_OK) return err;
  if (record == NULL) {
    return verify_fail(v, "refund-only payment %s names return \"%.40s\", which does not exist",
                       id_text, verify_text(p->order_id));
  }
  const Ccpay__V1__ReturnOrder *r = (const Ccpay__V1__ReturnOrder *)record;
  bool listed = false;
  for (size_t i = 0; !listed && i < r->n_refund_payment_ids; i++) {
    listed = strcmp(verify_text(r->refund_payment_ids[i]), id_text) == 0;
  }
  if (!listed || strcmp(verify_text(p->customer_id), verify_text(r->customer_id)) != 0) {
    return verify_fail(v,
                       "refund-only payment %s: its return %s does not list it, or is another "
                       "customer's",
                       id_text, r->id);
  }
  return CCPAY_OK;
}

/* A return's amounts add up: its lines to its totals, and once computed, its refund lines
 * to its total; issued_total is what the issued lines hold. */
static ccpay_err verify_return_amounts(verify *v, const Ccpay__V1__ReturnOrder *r,
                                       const char *id_text) {
  if (r->totals == NULL) return verify_fail(v, "return %s has no totals", id_text);
  int64_t net = 0, tax = 0, refunds = 0, issued = 0;
  for (size_t i = 0; i < r->n_lines; i++) {
    net += verify_money(r->lines[i]->net_amount);
    tax += verify_money(r->lines[i]->tax_amount);
  }
  for (size_t i = 0; i < r->n_refund_lines; i++) {
    const Ccpay__V1__RefundLine *l = r->refund_lines[i];
    refunds += verify_money(l->amount);
    if (l->status == CCPAY__V1__REFUND_LINE_STATUS__REFUND_LINE_STATUS_ISSUED) {
      issued += verify_money(l->amount);
    }
  }
  int64_t total = verify_money(r->totals->total);
  if (net != verify_money(r->totals->net_total) || tax != verify_money(r->totals->tax_total) ||
      total != net + tax) {
    return verify_fail(v, "return %s: its lines (net %lld, tax %lld) do not add up to its totals",
                       id_text, (long long)net, (long long)tax);
  }
  if (r->n_refund_lines > 0 && refunds != total) {
    return verify_fail(v, "return %s: refund lines hold %lld, the return credits %lld", id_text,
                       (long long)refunds, (long long)total);
  }
  if (issued != verify_money(r->totals->issued_total)) {
    return verify_fail(v, "return %s: issued_total is not what its issued lines hold (%lld)",
                       id_text, (long long)issued);
  }
  return CCPAY_OK;
}

static ccpay_err verify_return_check(verify *v, const ProtobufCMessage *record,
                                     const char *id_text) {
  const Ccpay__V1__ReturnOrder *r = (const Ccpay__V1__ReturnOrder *)record;
  ccpay_err err = verify_return_amounts(v, r, id_text);
  ProtobufCMessage *other = NULL;
  bool valid = false;
  if (err == CCPAY_OK && verify_text(r->original_order_id)[0] != '\0') {
    err = verify_reference(v, &verify_orders_kind, r->original_order_id, &other, &valid);
    if (err == CCPAY_OK && other == NULL) {
      return verify_fail(v, "return %s names order \"%.40s\", which does not exist", id_text,
                         verify_text(r->original_order_id));
    }
  }
  if (err == CCPAY_OK && verify_text(r->replacement_order_id)[0] != '\0') {
    err = verify_reference(v, &verify_orders_kind, r->replacement_order_id, &other, &valid);
    if (err == CCPAY_OK &&
        (other == NULL ||
         strcmp(verify_text(((const Ccpay__V1__Order *)other)->return_id), id_text) != 0)) {
      return verify_fail(v, "return %s: its replacement order %.40s does not name it back", id_text,
                         verify_text(r->replacement_order_id));
    }
  }
  for (size_t i = 0; err == CCPAY_OK && i < r->n_refund_payment_ids; i++) {
    err = verify_reference(v, &verify_payments_kind, r->refund_payment_ids[i], &other, &valid);
    if (err == CCPAY_OK && (other == NULL || !((const Ccpay__V1__Payment *)other)->refund_only)) {
      return verify_fail(v, "return %s lists %.40s, which is no refund-only payment", id_text,
                         verify_text(r->refund_payment_ids[i]));
    }
  }
  return err;
}

/* A refund check was posted by its own journal entry, which names it. */
static ccpay_err verify_refund_check_check(verify *v, const ProtobufCMessage *record,
                                           const char *id_text) {
  const Ccpay__V1__RefundCheck *c = (const Ccpay__V1__RefundCheck *)record;
  if (verify_money(c->amount) <= 0) {
    return verify_fail(v, "refund check %s: amount must be above 0", id_text);
  }
  /* Posting is what moves its money: a posted check has the entry, an unposted one none. */
  bool posted = c->status == CCPAY__V1__REFUND_CHECK_STATUS__REFUND_CHECK_STATUS_POSTED ||
                c->void_entry_sequence != 0;
  if (posted != (c->entry_sequence != 0)) {
    return verify_fail(v, "refund check %s is %s a posting entry", id_text,
                       posted ? "posted without" : "not posted but has");
  }
  ProtobufCMessage *other = NULL;
  bool valid = false;
  ccpay_err err = verify_reference(v, &verify_customers_kind, c->customer_id, &other, &valid);
  if (err == CCPAY_OK && other == NULL) {
    return verify_fail(v, "refund check %s names customer \"%.40s\", which does not exist", id_text,
                       verify_text(c->customer_id));
  }
  if (err == CCPAY_OK && verify_text(c->return_id)[0] != '\0') {
    err = verify_reference(v, &verify_returns_kind, c->return_id, &other, &valid);
    if (err == CCPAY_OK && other == NULL) {
      return verify_fail(v, "refund check %s names return \"%.40s\", which does not exist", id_text,
                         verify_text(c->return_id));
    }
  }
  return err;
}

/* --- All of it ------------------------------------------------------------------------------ */

/* --- Security: tokens and the audit trail ---------------------------------------------- */

/* The audit trail runs 1..N without a gap, each record carrying its key's sequence, and
 * META's last sequence is N. */
static ccpay_err verify_audit_row(verify *v, store_val key, store_val value) {
  uint64_t expected = v->report->audit_records + 1;
  if (key.len != VERIFY_ID_KEY_BYTES) return verify_fail(v, "audit: a key of %zu bytes", key.len);
  uint64_t sequence = key_get_u64(key.data);
  if (sequence != expected) {
    return verify_fail(v, "audit: record %llu follows %llu (a gap in the audit trail)",
                       (unsigned long long)sequence, (unsigned long long)expected - 1);
  }
  const Ccpay__V1__AuditRecord *r =
      (const void *)verify_unpack(v->arena, &ccpay__v1__audit_record__descriptor, value);
  if (r == NULL)
    return verify_fail(v, "audit: record %llu does not decode", (unsigned long long)sequence);
  if ((uint64_t)r->sequence != sequence || r->outcome[0] == '\0' || r->method[0] == '\0') {
    return verify_fail(v, "audit: record %llu names sequence %lld or lacks its method or outcome",
                       (unsigned long long)sequence, (long long)r->sequence);
  }
  v->report->audit_records++;
  return CCPAY_OK;
}

static ccpay_err verify_token_row(verify *v, store_val key, store_val value) {
  if (key.len != VERIFY_ID_KEY_BYTES) return verify_fail(v, "tokens: a key of %zu bytes", key.len);
  const Ccpay__V1__Token *t =
      (const void *)verify_unpack(v->arena, &ccpay__v1__token__descriptor, value);
  uint64_t id = 0;
  if (t == NULL || !id_parse(ID_TOKEN, t->id, &id) || id != key_get_u64(key.data)) {
    return verify_fail(v, "tokens: the record under %llx does not decode or names another id",
                       (unsigned long long)key_get_u64(key.data));
  }
  if (t->role[0] == '\0' || t->agent_id[0] == '\0' || t->create_time == NULL) {
    return verify_fail(v, "token %s: no role, agent id or create time", t->id);
  }
  v->report->tokens++;
  return CCPAY_OK;
}

static ccpay_err verify_token_hash_row(verify *v, store_val key, store_val value) {
  if (key.len != 32 || value.len != VERIFY_ID_KEY_BYTES) {
    return verify_fail(v, "tokens_by_hash: an entry of %zu/%zu bytes", key.len, value.len);
  }
  store_val record;
  ccpay_err err = store_get(v->txn, STORE_DB_TOKENS, value.data, value.len, &record, v->error);
  if (err == CCPAY_ERR_NOT_FOUND) return verify_fail(v, "tokens_by_hash: names a missing token");
  if (err != CCPAY_OK) return err;
  v->report->index_entries++;
  v->token_hashes++;
  return CCPAY_OK;
}

static ccpay_err verify_security(verify *v) {
  ccpay_err err = verify_walk(v, STORE_DB_AUDIT, NULL, verify_audit_row);
  uint64_t last = 0;
  if (err == CCPAY_OK) err = audit_last_sequence(v->txn, &last, v->error);
  if (err == CCPAY_OK && last != v->report->audit_records) {
    return verify_fail(v, "audit: meta says the last record is %llu, the trail holds %llu",
                       (unsigned long long)last, (unsigned long long)v->report->audit_records);
  }
  if (err == CCPAY_OK) err = verify_walk(v, STORE_DB_TOKENS, NULL, verify_token_row);
  if (err == CCPAY_OK) err = verify_walk(v, STORE_DB_TOKENS_BY_HASH, NULL, verify_token_hash_row);
  if (err == CCPAY_OK && v->token_hashes != v->report->tokens) {
    return verify_fail(v, "tokens: %llu tokens but %llu tokens_by_hash entries",
                       (unsigned long long)v->report->tokens, (unsigned long long)v->token_hashes);
  }
  return err;
}

static ccpay_err verify_all(verify *v) {
  ccpay_err err = verify_entries(v);
  if (err == CCPAY_OK) err = verify_balances(v);
  if (err == CCPAY_OK) err = verify_trial_balance(v);
  if (err == CCPAY_OK) err = verify_posting_lists(v);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_customers_kind);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_orders_kind);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_invoices_kind);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_payments_kind);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_transactions_kind);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_returns_kind);
  if (err == CCPAY_OK) err = verify_kind_all(v, &verify_refund_checks_kind);
  if (err == CCPAY_OK) err = verify_walk(v, STORE_DB_TRANSACTIONS_OPEN, NULL, verify_open_row);
  if (err == CCPAY_OK) err = verify_walk(v, STORE_DB_IDEMPOTENCY, NULL, verify_idempotency_row);
  if (err == CCPAY_OK) {
    err = verify_walk(v, STORE_DB_IDEMPOTENCY_BY_TIME, NULL, verify_idempotency_time_row);
  }
  if (err == CCPAY_OK) err = verify_security(v);
  return err;
}

ccpay_err verify_store(store *s, verify_report *report, ccpay_error *error) {
  CHECK(s != NULL && report != NULL && error != NULL);
  memset(report, 0, sizeof *report);
  ccpay_error_clear(error);
  verify v = {.report = report, .error = error};
  ccpay_err err = store_read_begin(s, &v.txn, error);
  if (err != CCPAY_OK) return err;
  err = verify_all(&v);
  store_read_end(v.txn);
  arena_destroy(v.scratch);
  arena_destroy(v.arena);
  free(v.accounts.slots);
  CHECK(err != CCPAY_OK || v.postings_expected <= report->index_entries);
  if (err != CCPAY_OK) memset(report, 0, sizeof *report);
  return err;
}
