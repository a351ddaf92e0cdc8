/* The ledger's records:
 *
 *   meta "ledger_sequence"  the last sequence, 8 bytes big-endian (absent: 0)
 *   entries                 sequence (8 bytes BE) -> ccpay.v1.JournalEntry
 *   account_balances        account 0x00 currency (3 bytes) -> balance
 *   account_postings        account 0x00 currency 0x00 ~sequence (8 bytes BE) -> amount
 *
 * Amounts are int64 stored as their two's complement in 8 bytes, big-endian. A forward
 * cursor over account_postings meets an account's newest posting first (the sequence is
 * complemented); over account_balances, accounts in byte order and each account's
 * currencies together (the 0x00 ends the name, so "cash" sorts before "cash_usd"). */
#include "ledger.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "base/log.h"

enum {
  LEDGER_SEQUENCE_BYTES = 8,
  LEDGER_AMOUNT_BYTES = 8,
  LEDGER_CURRENCY_BYTES = 3,
};

static const char ledger_sequence_key[] = "ledger_sequence";
static const uint8_t ledger_terminator = 0;

_Static_assert(LEDGER_ACCOUNT_BYTES_MAX + 1 + LEDGER_CURRENCY_BYTES + 1 + LEDGER_SEQUENCE_BYTES <=
                   STORE_KEY_BYTES_MAX,
               "a posting-list key fits LMDB");
_Static_assert(PAGE_SIZE_MAX + 1 <= LEDGER_ENTRIES_LIMIT_MAX,
               "a page of entries and one more fit one ledger_entries call");

/* --- Checks and keys -------------------------------------------------------------------- */

bool ledger_account_valid(const char *account) {
  if (account == NULL) return false;
  size_t len = strnlen(account, LEDGER_ACCOUNT_BYTES_MAX + 1);
  return len >= 1 && len <= LEDGER_ACCOUNT_BYTES_MAX;
}

bool ledger_currency_valid(const char *currency_code) {
  if (currency_code == NULL) return false;
  for (int i = 0; i < LEDGER_CURRENCY_BYTES; i++) {
    if (currency_code[i] < 'A' || currency_code[i] > 'Z') return false;
  }
  return currency_code[LEDGER_CURRENCY_BYTES] == '\0';
}

static void ledger_balance_key(const char *account, const char *currency_code, key_builder *k) {
  CHECK(ledger_account_valid(account));
  CHECK(ledger_currency_valid(currency_code));
  key_init(k);
  key_add_str(k, account); /* with its 0x00 */
  key_add_bytes(k, currency_code, LEDGER_CURRENCY_BYTES);
  CHECK(!k->overflow);
}

void ledger_posting_key(const char *account, const char *currency_code, uint64_t sequence,
                        key_builder *k) {
  ledger_balance_key(account, currency_code, k);
  key_add_bytes(k, &ledger_terminator, 1);
  key_add_u64(k, ~sequence);
  CHECK(!k->overflow);
}

/* Takes "account 0x00 currency" off the front of key; the length of what it took, or 0
 * when key does not start that way. */
static size_t ledger_parse_account(store_val key, ledger_key *out) {
  size_t search_len =
      key.len < LEDGER_ACCOUNT_BYTES_MAX + 1 ? key.len : LEDGER_ACCOUNT_BYTES_MAX + 1;
  const uint8_t *end = search_len > 0 ? memchr(key.data, 0, search_len) : NULL;
  if (end == NULL || end == key.data) return 0;
  size_t account_len = (size_t)(end - key.data);
  size_t used = account_len + 1 + LEDGER_CURRENCY_BYTES;
  if (key.len < used) return 0;
  memset(out, 0, sizeof *out);
  memcpy(out->account, key.data, account_len);
  memcpy(out->currency_code, end + 1, LEDGER_CURRENCY_BYTES);
  return ledger_currency_valid(out->currency_code) ? used : 0;
}

bool ledger_parse_balance_key(store_val key, ledger_key *out) {
  CHECK(out != NULL);
  CHECK(key.data != NULL || key.len == 0);
  size_t used = ledger_parse_account(key, out);
  return used > 0 && used == key.len;
}

bool ledger_parse_posting_key(store_val key, ledger_key *out) {
  CHECK(out != NULL);
  CHECK(key.data != NULL || key.len == 0);
  size_t used = ledger_parse_account(key, out);
  if (used == 0 || key.len != used + 1 + LEDGER_SEQUENCE_BYTES || key.data[used] != 0) {
    return false;
  }
  out->sequence = ~key_get_u64(key.data + used + 1);
  return true;
}

bool ledger_parse_amount(store_val value, int64_t *out) {
  CHECK(out != NULL);
  if (value.len != LEDGER_AMOUNT_BYTES) return false;
  *out = (int64_t)key_get_u64(value.data); /* two's complement back */
  return true;
}

/* --- Entries ---------------------------------------------------------------------------- */

/* The number of postings and the shape of each one. */
static ccpay_err ledger_check_postings(const Ccpay__V1__JournalEntry *entry, ccpay_error *error) {
  if (entry->n_postings < 2 || entry->n_postings > LEDGER_POSTINGS_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "has %zu postings, not 2 to %d",
                           entry->n_postings, LEDGER_POSTINGS_MAX);
  }
  for (size_t i = 0; i < entry->n_postings; i++) {
    const Ccpay__V1__Posting *p = entry->postings[i];
    if (p == NULL || !ledger_account_valid(p->account)) {
      return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "posting %zu: account is not 1 to %d bytes",
                             i + 1, LEDGER_ACCOUNT_BYTES_MAX);
    }
    if (p->amount == NULL || !ledger_currency_valid(p->amount->currency_code)) {
      return ccpay_error_set(error, CCPAY_ERR_INTERNAL,
                             "posting %zu: currency is not 3 upper-case letters", i + 1);
    }
  }
  return CCPAY_OK;
}

/* The sum of the postings in currency_code; false on overflow. */
static bool ledger_currency_sum(const Ccpay__V1__JournalEntry *entry, const char *currency_code,
                                int64_t *sum) {
  CHECK(entry->n_postings <= LEDGER_POSTINGS_MAX);
  *sum = 0;
  for (size_t i = 0; i < entry->n_postings; i++) {
    const Ccpay__V1__Money *amount = entry->postings[i]->amount;
    if (strcmp(amount->currency_code, currency_code) != 0) continue;
    if (__builtin_add_overflow(*sum, amount->amount_minor, sum)) return false;
  }
  return true;
}

ccpay_err ledger_entry_check(const Ccpay__V1__JournalEntry *entry, ccpay_error *error) {
  CHECK(entry != NULL);
  ccpay_err err = ledger_check_postings(entry, error);
  if (err != CCPAY_OK) return err;
  /* Once per currency, at its first posting: at most 64 postings, so quadratic is fine. */
  for (size_t i = 0; i < entry->n_postings; i++) {
    const char *currency_code = entry->postings[i]->amount->currency_code;
    bool first = true;
    for (size_t j = 0; j < i && first; j++) {
      first = strcmp(entry->postings[j]->amount->currency_code, currency_code) != 0;
    }
    if (!first) continue;
    int64_t sum = 0;
    if (!ledger_currency_sum(entry, currency_code, &sum)) {
      return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "postings in %s overflow int64",
                             currency_code);
    }
    if (sum != 0) {
      return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "postings sum to %lld in %s, not 0",
                             (long long)sum, currency_code);
    }
  }
  return CCPAY_OK;
}

ccpay_err ledger_entry_movements(const Ccpay__V1__JournalEntry *entry,
                                 ledger_movement out[LEDGER_POSTINGS_MAX], size_t *count,
                                 ccpay_error *error) {
  CHECK(entry != NULL && out != NULL && count != NULL);
  CHECK(entry->n_postings <= LEDGER_POSTINGS_MAX);
  *count = 0;
  for (size_t i = 0; i < entry->n_postings; i++) {
    const Ccpay__V1__Posting *p = entry->postings[i];
    size_t m = 0;
    while (m < *count && (strcmp(out[m].account, p->account) != 0 ||
                          strcmp(out[m].currency_code, p->amount->currency_code) != 0)) {
      m++;
    }
    if (m == *count) {
      out[m] = (ledger_movement){p->account, p->amount->currency_code, 0};
      (*count)++;
    }
    if (__builtin_add_overflow(out[m].amount, p->amount->amount_minor, &out[m].amount)) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "the postings to account %s in %s overflow", p->account,
                             p->amount->currency_code);
    }
  }
  CHECK(*count <= entry->n_postings);
  return CCPAY_OK;
}

/* --- Appending -------------------------------------------------------------------------- */

/* A stored balance; 0 when absent. */
static ccpay_err ledger_read_balance(store_txn *txn, const char *account, const char *currency_code,
                                     int64_t *out, ccpay_error *error) {
  key_builder k;
  ledger_balance_key(account, currency_code, &k);
  store_val value;
  ccpay_err err = store_get(txn, STORE_DB_ACCOUNT_BALANCES, k.bytes, k.len, &value, error);
  *out = 0;
  if (err == CCPAY_ERR_NOT_FOUND) return CCPAY_OK;
  if (err != CCPAY_OK) return err;
  if (!ledger_parse_amount(value, out)) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt balance in account_balances");
  }
  return CCPAY_OK;
}

/* The balance each movement leads to, all computed before anything is written so that a
 * refusal leaves the transaction untouched. */
static ccpay_err ledger_new_balances(store_txn *txn, const ledger_movement *moves, size_t count,
                                     int64_t balances[LEDGER_POSTINGS_MAX], ccpay_error *error) {
  CHECK(count <= LEDGER_POSTINGS_MAX);
  for (size_t i = 0; i < count; i++) {
    int64_t balance = 0;
    ccpay_err err =
        ledger_read_balance(txn, moves[i].account, moves[i].currency_code, &balance, error);
    if (err != CCPAY_OK) return err;
    if (__builtin_add_overflow(balance, moves[i].amount, &balances[i])) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "the balance of account %s in %s would overflow", moves[i].account,
                             moves[i].currency_code);
    }
  }
  return CCPAY_OK;
}

static ccpay_err ledger_put_amount(store_txn *txn, store_db db, const key_builder *k,
                                   int64_t amount, ccpay_error *error) {
  CHECK(!k->overflow && k->len > 0);
  uint8_t value[LEDGER_AMOUNT_BYTES];
  key_put_u64(value, (uint64_t)amount);
  return store_put(txn, db, k->bytes, k->len, value, sizeof value, error);
}

/* Writes one movement: the account's new balance and its posting-list row. */
static ccpay_err ledger_put_movement(store_txn *txn, const ledger_movement *move, int64_t balance,
                                     uint64_t sequence, ccpay_error *error) {
  key_builder k;
  ledger_balance_key(move->account, move->currency_code, &k);
  ccpay_err err = ledger_put_amount(txn, STORE_DB_ACCOUNT_BALANCES, &k, balance, error);
  if (err != CCPAY_OK) return err;
  ledger_posting_key(move->account, move->currency_code, sequence, &k);
  return ledger_put_amount(txn, STORE_DB_ACCOUNT_POSTINGS, &k, move->amount, error);
}

/* Stores entry under sequence, the new last sequence, and every movement. */
static ccpay_err ledger_write(store_txn *txn, const Ccpay__V1__JournalEntry *entry,
                              uint64_t sequence, const ledger_movement *moves,
                              const int64_t *balances, size_t count, ccpay_error *error) {
  CHECK((uint64_t)entry->sequence == sequence);
  uint8_t key[LEDGER_SEQUENCE_BYTES];
  key_put_u64(key, sequence);
  ccpay_err err = store_put_message(txn, STORE_DB_ENTRIES, key, sizeof key, &entry->base, error);
  if (err != CCPAY_OK) return err;
  err = store_put(txn, STORE_DB_META, ledger_sequence_key, strlen(ledger_sequence_key), key,
                  sizeof key, error);
  for (size_t i = 0; err == CCPAY_OK && i < count; i++) {
    err = ledger_put_movement(txn, &moves[i], balances[i], sequence, error);
  }
  return err;
}

/* CHECKs that entry is what ledger_append accepts, saying why first when it is not. */
static void ledger_check_entry_or_abort(const Ccpay__V1__JournalEntry *entry) {
  CHECK(entry != NULL);
  ccpay_error invalid;
  ccpay_error_clear(&invalid);
  ccpay_err valid = ledger_entry_check(entry, &invalid);
  if (valid != CCPAY_OK) {
    char quoted[CCPAY_ERROR_MESSAGE_MAX + 16];
    log_error("event=ledger_entry_invalid message=%s",
              log_quote(invalid.message, quoted, sizeof quoted));
  }
  CHECK(valid == CCPAY_OK);
}

ccpay_err ledger_append(store_txn *txn, Ccpay__V1__JournalEntry *entry, ccpay_error *error) {
  CHECK(txn != NULL);
  ledger_check_entry_or_abort(entry);
  ledger_movement moves[LEDGER_POSTINGS_MAX];
  size_t count = 0;
  ccpay_err err = ledger_entry_movements(entry, moves, &count, error);
  uint64_t last = 0;
  if (err == CCPAY_OK) err = ledger_last_sequence(txn, &last, error);
  int64_t balances[LEDGER_POSTINGS_MAX];
  if (err == CCPAY_OK) err = ledger_new_balances(txn, moves, count, balances, error);
  if (err != CCPAY_OK) return err;

  CHECK(last < INT64_MAX); /* the sequence is an int64 in the API */
  if (entry->created_by[0] == '\0') entry->created_by = (char *)store_txn_actor(txn);
  int64_t previous = entry->sequence;
  entry->sequence = (int64_t)(last + 1);
  err = ledger_write(txn, entry, last + 1, moves, balances, count, error);
  if (err != CCPAY_OK) entry->sequence = previous;
  return err;
}

/* --- Reading ---------------------------------------------------------------------------- */

ccpay_err ledger_balance(store_txn *txn, const char *account, const char *currency_code,
                         int64_t *out, ccpay_error *error) {
  CHECK(txn != NULL && out != NULL);
  CHECK(ledger_account_valid(account) && ledger_currency_valid(currency_code));
  return ledger_read_balance(txn, account, currency_code, out, error);
}

ccpay_err ledger_last_sequence(store_txn *txn, uint64_t *out, ccpay_error *error) {
  CHECK(txn != NULL && out != NULL);
  store_val value;
  ccpay_err err = store_get(txn, STORE_DB_META, ledger_sequence_key, strlen(ledger_sequence_key),
                            &value, error);
  *out = 0;
  if (err == CCPAY_ERR_NOT_FOUND) return CCPAY_OK;
  if (err != CCPAY_OK) return err;
  if (value.len != LEDGER_SEQUENCE_BYTES) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt ledger_sequence in meta");
  }
  *out = key_get_u64(value.data);
  CHECK(*out <= INT64_MAX);
  return CCPAY_OK;
}

/* Unpacks the entry the cursor is at into a, checking it is the one its key names. */
static ccpay_err ledger_read_entry(store_val key, store_val value, arena *a,
                                   Ccpay__V1__JournalEntry **out, ccpay_error *error) {
  CHECK(a != NULL && out != NULL);
  if (key.len != LEDGER_SEQUENCE_BYTES) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in entries");
  }
  ProtobufCAllocator allocator = arena_protobuf_allocator(a);
  Ccpay__V1__JournalEntry *entry =
      ccpay__v1__journal_entry__unpack(&allocator, value.len, value.data);
  if (entry == NULL || (uint64_t)entry->sequence != key_get_u64(key.data)) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record in entries");
  }
  *out = entry;
  return CCPAY_OK;
}

/* Reads up to limit entries from the cursor's position on. */
static ccpay_err ledger_entries_walk(store_cursor *c, bool found, store_val key, store_val value,
                                     unsigned limit, arena *a, Ccpay__V1__JournalEntry **out,
                                     size_t *count, ccpay_error *error) {
  for (; found && *count < limit; found = store_cursor_step(c, STORE_FORWARD, &key, &value)) {
    ccpay_err err = ledger_read_entry(key, value, a, &out[*count], error);
    if (err != CCPAY_OK) return err;
    (*count)++;
  }
  CHECK(*count <= limit);
  return found ? CCPAY_OK : store_cursor_error(c, error);
}

ccpay_err ledger_entries(store_txn *txn, uint64_t after_sequence, unsigned limit, arena *a,
                         Ccpay__V1__JournalEntry ***out, size_t *count, ccpay_error *error) {
  CHECK(txn != NULL && a != NULL && out != NULL && count != NULL);
  CHECK(limit >= 1 && limit <= LEDGER_ENTRIES_LIMIT_MAX);
  *count = 0;
  *out = arena_alloc(a, limit * sizeof **out);
  if (*out == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  if (after_sequence >= INT64_MAX) return CCPAY_OK; /* no sequence can follow */
  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, STORE_DB_ENTRIES, &c, error);
  if (err != CCPAY_OK) return err;
  uint8_t first[LEDGER_SEQUENCE_BYTES];
  key_put_u64(first, after_sequence + 1);
  store_val key = {NULL, 0}, value = {NULL, 0};
  bool found = store_cursor_seek(c, STORE_FORWARD, first, sizeof first, &key, &value);
  err = ledger_entries_walk(c, found, key, value, limit, a, *out, count, error);
  store_cursor_close(c);
  if (err != CCPAY_OK) *count = 0;
  return err;
}

/* Fills up to capacity rows from the cursor's first entry; *count says how many there
 * were in all, so a capacity of 0 counts them. */
static ccpay_err ledger_balances_walk(store_cursor *c, arena *a, ledger_balance_row *rows,
                                      size_t capacity, size_t *count, ccpay_error *error) {
  store_val key, value;
  *count = 0;
  for (bool found = store_cursor_seek(c, STORE_FORWARD, NULL, 0, &key, &value); found;
       found = store_cursor_step(c, STORE_FORWARD, &key, &value)) {
    if (*count < capacity) {
      ledger_key parts;
      ledger_balance_row *row = &rows[*count];
      if (!ledger_parse_balance_key(key, &parts) || !ledger_parse_amount(value, &row->balance)) {
        return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt row in account_balances");
      }
      row->account = arena_strndup(a, parts.account, strlen(parts.account));
      row->currency_code = arena_strndup(a, parts.currency_code, LEDGER_CURRENCY_BYTES);
      if (row->account == NULL || row->currency_code == NULL) {
        return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
      }
    }
    (*count)++;
  }
  return store_cursor_error(c, error);
}

ccpay_err ledger_all_balances(store_txn *txn, arena *a, ledger_balance_row **rows, size_t *count,
                              ccpay_error *error) {
  CHECK(txn != NULL && a != NULL);
  CHECK(rows != NULL && count != NULL);
  *rows = NULL;
  *count = 0;
  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, STORE_DB_ACCOUNT_BALANCES, &c, error);
  if (err != CCPAY_OK) return err;
  /* Two walks of one snapshot: the first counts, so the array is allocated once. */
  size_t total = 0;
  err = ledger_balances_walk(c, a, NULL, 0, &total, error);
  ledger_balance_row *out = NULL;
  if (err == CCPAY_OK && total > 0) {
    out = arena_alloc(a, total * sizeof *out);
    if (out == NULL)
      err = ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  size_t filled = 0;
  if (err == CCPAY_OK && total > 0) err = ledger_balances_walk(c, a, out, total, &filled, error);
  store_cursor_close(c);
  if (err != CCPAY_OK) return err;
  CHECK(filled == total); /* one snapshot */
  *rows = out;
  *count = total;
  return CCPAY_OK;
}

/* --- An account's postings -------------------------------------------------------------- */

/* Positions c at the first row of the page: the newest, or strictly after after_key. */
static ccpay_err ledger_postings_start(store_cursor *c, const key_builder *prefix,
                                       const uint8_t *after_key, size_t after_key_len, bool *found,
                                       store_val *key, store_val *value, ccpay_error *error) {
  if (after_key == NULL) {
    *found = store_cursor_seek(c, STORE_FORWARD, prefix->bytes, prefix->len, key, value);
    return CCPAY_OK;
  }
  if (after_key_len != prefix->len + LEDGER_SEQUENCE_BYTES ||
      memcmp(after_key, prefix->bytes, prefix->len) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "page_token does not belong to this account");
  }
  *found = store_cursor_seek(c, STORE_FORWARD, after_key, after_key_len, key, value);
  if (*found && key->len == after_key_len && memcmp(key->data, after_key, after_key_len) == 0) {
    *found = store_cursor_step(c, STORE_FORWARD, key, value);
  }
  return CCPAY_OK;
}

/* Reads the page the cursor is at; the last key read goes to *last when more follow. */
static ccpay_err ledger_postings_page(store_cursor *c, const key_builder *prefix, bool found,
                                      store_val key, store_val value, unsigned limit,
                                      ledger_posting_page *out, store_val *last,
                                      ccpay_error *error) {
  *last = (store_val){NULL, 0};
  store_val previous = {NULL, 0};
  for (; found && key.len >= prefix->len && memcmp(key.data, prefix->bytes, prefix->len) == 0;
       found = store_cursor_step(c, STORE_FORWARD, &key, &value)) {
    if (out->count == limit) {
      *last = previous; /* one more exists */
      return CCPAY_OK;
    }
    ledger_posting_row *row = &out->rows[out->count];
    if (key.len != prefix->len + LEDGER_SEQUENCE_BYTES ||
        !ledger_parse_amount(value, &row->amount)) {
      return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt row in account_postings");
    }
    row->sequence = ~key_get_u64(key.data + prefix->len);
    out->count++;
    previous = key;
  }
  CHECK(out->count <= limit);
  return found ? CCPAY_OK : store_cursor_error(c, error);
}

ccpay_err ledger_account_postings(store_txn *txn, const char *account, const char *currency_code,
                                  const uint8_t *after_key, size_t after_key_len, unsigned limit,
                                  arena *a, ledger_posting_page *out, ccpay_error *error) {
  CHECK(txn != NULL && a != NULL && out != NULL);
  CHECK(limit >= 1 && limit <= PAGE_SIZE_MAX);
  CHECK(after_key != NULL || after_key_len == 0);
  memset(out, 0, sizeof *out);
  out->rows = arena_alloc(a, limit * sizeof *out->rows);
  if (out->rows == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
  }
  key_builder prefix; /* account 0x00 currency 0x00 */
  ledger_balance_key(account, currency_code, &prefix);
  key_add_bytes(&prefix, &ledger_terminator, 1);

  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, STORE_DB_ACCOUNT_POSTINGS, &c, error);
  if (err != CCPAY_OK) return err;
  bool found = false;
  store_val key = {NULL, 0}, value = {NULL, 0}, last = {NULL, 0};
  err = ledger_postings_start(c, &prefix, after_key, after_key_len, &found, &key, &value, error);
  if (err == CCPAY_OK)
    err = ledger_postings_page(c, &prefix, found, key, value, limit, out, &last, error);
  if (err == CCPAY_OK && last.data != NULL) {
    out->next_key = arena_alloc(a, last.len);
    if (out->next_key == NULL) {
      err = ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "the call ran out of memory");
    } else {
      memcpy(out->next_key, last.data, last.len);
      out->next_key_len = last.len;
    }
  }
  store_cursor_close(c); /* after the copy: last is LMDB's memory */
  if (err != CCPAY_OK) memset(out, 0, sizeof *out);
  return err;
}
