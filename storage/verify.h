/* The offline checker behind `ccpay-admin verify`: proves every invariant of the design
 * that exists so far on a whole database, in one read snapshot.
 *
 * - every journal entry has 2+ postings summing to zero per currency; sequences run
 *   1..N with no gap and each record's sequence equals its key;
 * - every stored account balance equals the sum of that account's postings in the
 *   entries, and every account with postings has a balance (so the trial balance is
 *   zero per currency, and each customer balance equals its receivable postings);
 * - each account's posting list matches the entries exactly;
 * - every index entry (customers by name/email/phone, orders by status/customer/hold,
 *   idempotency by time) points at a record whose values produce that key, and every
 *   record has all the index entries its values call for;
 * - every invoice names an existing order, and every order's invoice ids exist. */
#ifndef CCPAY_STORAGE_VERIFY_H
#define CCPAY_STORAGE_VERIFY_H

#include <stdint.h>

#include "base/error.h"
#include "store.h"

typedef struct verify_report {
  uint64_t entries;
  uint64_t accounts;
  uint64_t customers;
  uint64_t orders;
  uint64_t invoices;
  uint64_t index_entries;
} verify_report;

/* CCPAY_OK when every invariant holds (report filled with what was checked); otherwise
 * CCPAY_ERR_INTERNAL with error naming the first violation ("entry 42: postings sum to
 * 5 in USD, not 0"), CCPAY_ERR_STORAGE when the database cannot be read, or
 * CCPAY_ERR_LIMIT_EXCEEDED when out of memory (the report is zeroed unless CCPAY_OK).
 * Memory grows with the number of (account, currency) pairs, not with the entries.
 * No read transaction of the caller's may be needed meanwhile: this opens its own.
 *
 * index_entries counts the entries of every index checked: customers and orders by
 * each key, idempotency by time, and the accounts' posting lists. */
ccpay_err verify_store(store *s, verify_report *report, ccpay_error *error);

#endif
