/* The ledger's storage: append-only journal entries with a global sequence (1, 2, 3…,
 * no gaps, in commit order), the balance of every (account, currency), and each
 * account's postings. Nothing here is ever updated in place except the balances, which
 * are the running sum of the postings and are checked against them by verify.
 *
 * Amounts: debit positive, credit negative. A customer's balance is the balance of its
 * receivable account "receivable:<customer id>" (positive: the customer owes). */
#ifndef CCPAY_STORAGE_LEDGER_H
#define CCPAY_STORAGE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "keys.h"
#include "store.h"

enum { LEDGER_ACCOUNT_BYTES_MAX = 64, LEDGER_POSTINGS_MAX = 64 };
/* The most entries one ledger_entries call returns: a page and one more, or a stream's
 * batch, with room. */
enum { LEDGER_ENTRIES_LIMIT_MAX = 1024 };

/* Write transaction only. Appends entry: assigns entry->sequence (the last + 1, kept in
 * STORE_DB_META under "ledger_sequence" in the same transaction), stores it, adds each
 * posting to its account's balance and posting list. entry must have 2 to
 * LEDGER_POSTINGS_MAX postings with accounts of 1 to LEDGER_ACCOUNT_BYTES_MAX bytes,
 * known currencies (storage checks the shape, three upper-case letters; the services
 * check the currency table), and amounts that sum to zero per currency, computed
 * without overflow: anything else is a bug upstream and fails a CHECK. A balance that would
 * overflow int64 is CCPAY_ERR_FIELD_OUT_OF_RANGE naming the account (nothing written,
 * entry->sequence left as it was).
 *
 * Postings to one (account, currency) in one entry are all part of the entry and all
 * move the balance; the account's posting list has one row per entry, keyed by the
 * sequence, so such postings appear there as one row holding their sum. An entry without
 * created_by gets the transaction's actor (store_txn_actor). */
ccpay_err ledger_append(store_txn *txn, Ccpay__V1__JournalEntry *entry, ccpay_error *error);

/* The balance of (account, currency); 0 when the account never moved. account and
 * currency_code must be valid (ledger_account_valid, ledger_currency_valid): callers
 * check what clients send. */
ccpay_err ledger_balance(store_txn *txn, const char *account, const char *currency_code,
                         int64_t *out, ccpay_error *error);

/* The sequence of the last entry; 0 when the ledger is empty. */
ccpay_err ledger_last_sequence(store_txn *txn, uint64_t *out, ccpay_error *error);

/* Up to limit (1 to LEDGER_ENTRIES_LIMIT_MAX) entries with sequence > after_sequence, in
 * order, into arena a; *out is an array of *count entries. CCPAY_ERR_LIMIT_EXCEEDED when
 * a runs out; CCPAY_ERR_STORAGE when a record does not decode or is not the entry its
 * key names. */
ccpay_err ledger_entries(store_txn *txn, uint64_t after_sequence, unsigned limit, arena *a,
                         Ccpay__V1__JournalEntry ***out, size_t *count, ccpay_error *error);

/* Every (account, currency) with its balance, sorted by account then currency. */
typedef struct ledger_balance_row {
  const char *account; /* in arena a */
  const char *currency_code;
  int64_t balance;
} ledger_balance_row;

ccpay_err ledger_all_balances(store_txn *txn, arena *a, ledger_balance_row **rows, size_t *count,
                              ccpay_error *error);

/* An account's postings in one currency, newest first, paged like the other listings:
 * up to limit (1..PAGE_SIZE_MAX) rows after after_key (NULL: from the newest); next_key
 * (in a) when more follow. CCPAY_ERR_FIELD_INVALID when after_key is not a key of this
 * account's list. */
typedef struct ledger_posting_row {
  uint64_t sequence;
  int64_t amount;
} ledger_posting_row;

typedef struct ledger_posting_page {
  ledger_posting_row *rows; /* in arena a */
  size_t count;
  uint8_t *next_key; /* set only when more follow */
  size_t next_key_len;
} ledger_posting_page;

ccpay_err ledger_account_postings(store_txn *txn, const char *account, const char *currency_code,
                                  const uint8_t *after_key, size_t after_key_len, unsigned limit,
                                  arena *a, ledger_posting_page *out, ccpay_error *error);

/* --- For verify (storage-internal) -------------------------------------------------- */

/* An account name: 1 to LEDGER_ACCOUNT_BYTES_MAX bytes (a C string holds no 0x00). */
bool ledger_account_valid(const char *account);

/* A currency code as stored: exactly three ASCII upper-case letters. */
bool ledger_currency_valid(const char *currency_code);

/* CCPAY_OK when entry has the shape ledger_append requires (postings, accounts,
 * currencies, zero sum per currency); else CCPAY_ERR_INTERNAL with error saying what is
 * wrong, e.g. "postings sum to 5 in USD, not 0". */
ccpay_err ledger_entry_check(const Ccpay__V1__JournalEntry *entry, ccpay_error *error);

/* What an entry does to one (account, currency): the sum of its postings there. */
typedef struct ledger_movement {
  const char *account; /* the entry's strings */
  const char *currency_code;
  int64_t amount;
} ledger_movement;

/* The movements of a checked entry, in the order each (account, currency) first
 * appears. CCPAY_ERR_FIELD_OUT_OF_RANGE (naming the account) when a sum overflows. */
ccpay_err ledger_entry_movements(const Ccpay__V1__JournalEntry *entry,
                                 ledger_movement out[LEDGER_POSTINGS_MAX], size_t *count,
                                 ccpay_error *error);

/* The key of a posting-list row, built into k (valid account and currency). */
void ledger_posting_key(const char *account, const char *currency_code, uint64_t sequence,
                        key_builder *k);

/* A key of STORE_DB_ACCOUNT_BALANCES or STORE_DB_ACCOUNT_POSTINGS taken apart. */
typedef struct ledger_key {
  char account[LEDGER_ACCOUNT_BYTES_MAX + 1];
  char currency_code[4];
  uint64_t sequence; /* posting keys only */
} ledger_key;

/* Parse a balance or a posting-list key; false when key does not have that shape. */
bool ledger_parse_balance_key(store_val key, ledger_key *out);
bool ledger_parse_posting_key(store_val key, ledger_key *out);

/* The value of a balance or posting-list row; false when it is not 8 bytes. */
bool ledger_parse_amount(store_val value, int64_t *out);

#endif
