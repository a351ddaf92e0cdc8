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
 * - every invoice names an existing order, and every order's invoice ids exist;
 * - payments: every payment decodes and carries its key's id; its order exists, lists it
 *   in payment_ids and has the same customer_id; its amounts are not negative and are
 *   in the currency of its amount, with captured + released + pending_capture <=
 *   authorized and refunded + pending_refund <= captured; it lists at most
 *   TRANSACTIONS_PER_PAYMENT_MAX transactions, oldest first, each existing and naming
 *   it back; at most one of them is open (PENDING or UNKNOWN), and open_transaction_id
 *   names exactly that one, or is empty when none is; its SUCCEEDED REFUND amounts sum
 *   to refunded, its open CAPTURE and REFUND amounts to pending_capture and
 *   pending_refund, and for a card its SUCCEEDED AUTHORIZE and SALE amounts to
 *   authorized, its SUCCEEDED CAPTURE and SALE amounts to captured; a received check or
 *   cash names its entry (0 or an entry naming this payment and no transaction);
 * - every order lists at most PAYMENTS_PER_ORDER_MAX payments, oldest first, each
 *   existing and naming the order back;
 * - transactions: every transaction decodes and carries its key's id; its kind and
 *   state are known values; its payment exists and lists it, with the same order_id;
 *   its amount is not negative and in its payment's currency; it is in
 *   transactions_open exactly when PENDING or UNKNOWN, and every key of
 *   transactions_open names such a transaction; entry_sequence is an entry naming this
 *   transaction for a SUCCEEDED CAPTURE, SALE or REFUND, and 0 for any other;
 * - every journal entry that names a transaction is the entry that transaction names
 *   (and is of its payment), and one naming only a payment is that payment's entry: no
 *   operation is posted twice;
 * - the audit trail runs 1..N without a gap (each record's sequence equals its key, and
 *   META's last sequence is N); every token decodes under its own id with a role and an
 *   agent id, and tokens_by_hash has one entry per token, each naming an existing one. */
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
  uint64_t payments;
  uint64_t transactions;
  uint64_t returns;
  uint64_t refund_checks;
  uint64_t index_entries;
  uint64_t tokens;
  uint64_t audit_records;
} verify_report;

/* CCPAY_OK when every invariant holds (report filled with what was checked); otherwise
 * CCPAY_ERR_INTERNAL with error naming the first violation ("entry 42: postings sum to
 * 5 in USD, not 0"), CCPAY_ERR_STORAGE when the database cannot be read, or
 * CCPAY_ERR_LIMIT_EXCEEDED when out of memory (the report is zeroed unless CCPAY_OK).
 * Memory grows with the number of (account, currency) pairs, not with the entries.
 * No read transaction of the caller's may be needed meanwhile: this opens its own.
 *
 * index_entries counts the entries of every index checked: customers and orders by
 * each key, idempotency by time, the accounts' posting lists, and transactions_open.
 * Memory also holds one record of each kind at a time, however many a payment or an
 * order lists. */
ccpay_err verify_store(store *s, verify_report *report, ccpay_error *error);

#endif
