/* The chart of accounts and the journal entries business events post. Pure: builds
 * ccpay.v1.JournalEntry messages in an arena; storage/ledger.c appends them.
 *
 * Debit positive, credit negative. A customer's receivable account is per customer:
 * its balance is what the customer owes (negative: the customer is in credit).
 *
 * | event          | debit                | credit                                     |
 * |----------------|----------------------|--------------------------------------------|
 * | order invoiced | receivable:<cus_…>   | revenue, tax_payable, shipping_revenue,    |
 * |                |                      | other_charges_revenue                      |
 * | card captured  | card_clearing:<proc> | receivable:<cus_…>                         |
 * | (or sale)      |                      |                                            |
 * | check received | undeposited_checks   | receivable:<cus_…>                         |
 * | cash received  | cash                 | receivable:<cus_…>                         |
 * | ACH received   | ach_clearing         | receivable:<cus_…>                         |
 * | external gift  | external_gift_card_  | receivable:<cus_…>                         |
 * | card received  | clearing             |                                            |
 * | gift card sold | cash                 | gift_card:<number> (a liability)           |
 * | loyalty given  | loyalty_expense      | loyalty:<number> (a liability)             |
 * | gift card or   | gift_card:<number> / | receivable:<cus_…>                         |
 * | loyalty spent  | loyalty:<number>     |                                            |
 * | card refunded  | receivable:<cus_…>   | card_clearing:<proc>                       |
 * | return         | revenue, tax_payable | receivable:<cus_…>  (the credit memo)      |
 * | credited       |                      |                                            |
 * | refund check   | receivable:<cus_…>   | refund_checks_payable, then                |
 * | posted         | refund_checks_payable| bank (two entries)                         |
 * | posted check   | bank                 | receivable:<cus_…>                         |
 * | voided         |                      |                                            |
 * | overpaid,      | receivable:<cus_…>   | over_under                                 |
 * | written off    |                      |                                            |
 * | underpaid,     | over_under           | receivable:<cus_…>                         |
 * | written off    |                      |                                            |
 * | refund to gift | receivable:<cus_…>   | gift_card:<number> / loyalty:<number> /    |
 * | card, loyalty, |                      | cash                                       |
 * | or cash        |                      |                                            |
 * Authorizations and voids move no money and post nothing. Later events (write-offs,
 * refund checks, settlement) add rows as they arrive. */
#ifndef CCPAY_DOMAIN_ACCOUNTS_H
#define CCPAY_DOMAIN_ACCOUNTS_H

#include <stdbool.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/return.pb-c.h"

#define ACCOUNT_RECEIVABLE_PREFIX "receivable:"
#define ACCOUNT_REVENUE "revenue"
#define ACCOUNT_TAX_PAYABLE "tax_payable"
#define ACCOUNT_SHIPPING_REVENUE "shipping_revenue"
#define ACCOUNT_OTHER_CHARGES_REVENUE "other_charges_revenue"

#define ACCOUNT_CARD_CLEARING_PREFIX "card_clearing:"
#define ACCOUNT_UNDEPOSITED_CHECKS "undeposited_checks"
#define ACCOUNT_CASH "cash"
#define ACCOUNT_ACH_CLEARING "ach_clearing"
#define ACCOUNT_EXTERNAL_GIFT_CARD_CLEARING "external_gift_card_clearing"
#define ACCOUNT_GIFT_CARD_PREFIX "gift_card:"
#define ACCOUNT_LOYALTY_PREFIX "loyalty:"
#define ACCOUNT_LOYALTY_EXPENSE "loyalty_expense"
#define ACCOUNT_REFUND_CHECKS_PAYABLE "refund_checks_payable"
#define ACCOUNT_BANK "bank"
#define ACCOUNT_OVER_UNDER "over_under"

#define ENTRY_KIND_ORDER_INVOICED "ORDER_INVOICED"
#define ENTRY_KIND_PAYMENT_RECEIVED "PAYMENT_RECEIVED"
#define ENTRY_KIND_PAYMENT_CAPTURED "PAYMENT_CAPTURED"
#define ENTRY_KIND_REFUND_ISSUED "REFUND_ISSUED"
#define ENTRY_KIND_STORED_VALUE_ISSUED "STORED_VALUE_ISSUED"
#define ENTRY_KIND_RETURN_CREDITED "RETURN_CREDITED"
#define ENTRY_KIND_REFUND_CHECK_ISSUED "REFUND_CHECK_ISSUED"
#define ENTRY_KIND_REFUND_CREDITED "REFUND_CREDITED"
#define ENTRY_KIND_REFUND_CHECK_POSTED "REFUND_CHECK_POSTED"
#define ENTRY_KIND_REFUND_CHECK_VOIDED "REFUND_CHECK_VOIDED"
#define ENTRY_KIND_OVER_UNDER_WRITTEN_OFF "OVER_UNDER_WRITTEN_OFF"

/* "receivable:<customer_id>" in arena a; NULL when exhausted. */
char *account_receivable(const char *customer_id, arena *a);

/* The entry that posts an invoice: receivable debited with the total; revenue, tax and
 * charge revenue credited. Zero amounts are left out; when everything is zero there is
 * nothing to post and *out is NULL. sequence and entry_time are left to storage and the
 * caller. */
ccpay_err accounts_invoice_entry(const Ccpay__V1__Invoice *invoice, arena *a,
                                 Ccpay__V1__JournalEntry **out, ccpay_error *error);

/* The credit memo of a return: revenue and tax payable debited with what its lines
 * credit, the customer's receivable credited with the total. *out is NULL when the
 * total is zero. */
ccpay_err accounts_return_entry(const Ccpay__V1__ReturnOrder *r, arena *a,
                                Ccpay__V1__JournalEntry **out, ccpay_error *error);

/* "gift_card:<number>" or "loyalty:<number>" (loyalty true) in arena a; NULL when
 * exhausted. */
char *account_stored_value(bool loyalty, const char *number, arena *a);

/* "card_clearing:<processor>" in arena a; NULL when exhausted. */
char *account_card_clearing(const char *processor, arena *a);

/* A two-posting entry of kind: debit_account debited and credit_account credited with
 * amount (> 0) in currency. Identifying fields (customer, order, payment, transaction)
 * are the caller's to set. NULL when the arena is exhausted. */
Ccpay__V1__JournalEntry *accounts_transfer_entry(const char *kind, const char *debit_account,
                                                 const char *credit_account, const char *currency,
                                                 int64_t amount, arena *a);

#endif
