#include "accounts.h"

#include <string.h>

#include "base/check.h"
#include "money.h"

enum { INVOICE_POSTINGS_MAX = 5, TRANSFER_POSTINGS = 2 };

char *account_receivable(const char *customer_id, arena *a) {
  return arena_printf(a, ACCOUNT_RECEIVABLE_PREFIX "%s", customer_id);
}

char *account_stored_value(bool loyalty, const char *number, arena *a) {
  return arena_printf(a, "%s%s", loyalty ? ACCOUNT_LOYALTY_PREFIX : ACCOUNT_GIFT_CARD_PREFIX,
                      number);
}

char *account_card_clearing(const char *processor, arena *a) {
  return arena_printf(a, ACCOUNT_CARD_CLEARING_PREFIX "%s", processor);
}

/* Appends a posting unless amount is zero. */
static bool add_posting(Ccpay__V1__JournalEntry *e, const char *account, const char *currency,
                        int64_t amount, arena *a) {
  if (amount == 0) return true;
  CHECK(e->n_postings < INVOICE_POSTINGS_MAX);
  Ccpay__V1__Posting *p = arena_alloc(a, sizeof *p);
  Ccpay__V1__Money *m = money_message(a, currency, amount);
  if (p == NULL || m == NULL) return false;
  ccpay__v1__posting__init(p);
  p->account = (char *)account;
  p->amount = m;
  e->postings[e->n_postings++] = p;
  return true;
}

ccpay_err accounts_invoice_entry(const Ccpay__V1__Invoice *inv, arena *a,
                                 Ccpay__V1__JournalEntry **out, ccpay_error *error) {
  *out = NULL;
  int64_t shipping = 0, other_charges = 0;
  for (size_t i = 0; i < inv->n_charges; i++) {
    int64_t *bucket = strcmp(inv->charges[i]->code, "SHIPPING") == 0 ? &shipping : &other_charges;
    CHECK(money_add(*bucket, inv->charges[i]->amount->amount_minor, bucket));
  }
  CHECK(shipping + other_charges == inv->charges_total->amount_minor);
  int64_t total = inv->total->amount_minor;
  if (total == 0) return CCPAY_OK;

  Ccpay__V1__JournalEntry *e = arena_alloc(a, sizeof *e);
  char *receivable = account_receivable(inv->customer_id, a);
  if (e == NULL || receivable == NULL) goto exhausted;
  ccpay__v1__journal_entry__init(e);
  e->postings = arena_alloc(a, INVOICE_POSTINGS_MAX * sizeof *e->postings);
  if (e->postings == NULL) goto exhausted;
  e->kind = ENTRY_KIND_ORDER_INVOICED;
  e->customer_id = inv->customer_id;
  e->order_id = inv->order_id;
  e->invoice_id = inv->id;
  const char *cur = inv->currency_code;
  bool ok = add_posting(e, receivable, cur, total, a) &&
            add_posting(e, ACCOUNT_REVENUE, cur, -inv->subtotal->amount_minor, a) &&
            add_posting(e, ACCOUNT_TAX_PAYABLE, cur, -inv->tax_total->amount_minor, a) &&
            add_posting(e, ACCOUNT_SHIPPING_REVENUE, cur, -shipping, a) &&
            add_posting(e, ACCOUNT_OTHER_CHARGES_REVENUE, cur, -other_charges, a);
  if (!ok) goto exhausted;
  CHECK(e->n_postings >= 2); /* a non-zero total has a debit and at least one credit */
  *out = e;
  return CCPAY_OK;

exhausted:
  return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "invoice entry: out of call memory");
}

ccpay_err accounts_return_entry(const Ccpay__V1__ReturnOrder *r, arena *a,
                                Ccpay__V1__JournalEntry **out, ccpay_error *error) {
  *out = NULL;
  int64_t total = r->totals->total->amount_minor;
  CHECK(total == r->totals->net_total->amount_minor + r->totals->tax_total->amount_minor);
  if (total == 0) return CCPAY_OK;
  Ccpay__V1__JournalEntry *e = arena_alloc(a, sizeof *e);
  char *receivable = account_receivable(r->customer_id, a);
  if (e == NULL || receivable == NULL) goto exhausted;
  ccpay__v1__journal_entry__init(e);
  e->postings = arena_alloc(a, INVOICE_POSTINGS_MAX * sizeof *e->postings);
  if (e->postings == NULL) goto exhausted;
  e->kind = ENTRY_KIND_RETURN_CREDITED;
  e->customer_id = r->customer_id;
  e->order_id = r->original_order_id;
  e->return_id = r->id;
  const char *cur = r->currency_code;
  bool ok = add_posting(e, ACCOUNT_REVENUE, cur, r->totals->net_total->amount_minor, a) &&
            add_posting(e, ACCOUNT_TAX_PAYABLE, cur, r->totals->tax_total->amount_minor, a) &&
            add_posting(e, receivable, cur, -total, a);
  if (!ok) goto exhausted;
  CHECK(e->n_postings >= 2);
  *out = e;
  return CCPAY_OK;

exhausted:
  return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "return entry: out of call memory");
}

Ccpay__V1__JournalEntry *accounts_transfer_entry(const char *kind, const char *debit_account,
                                                 const char *credit_account, const char *currency,
                                                 int64_t amount, arena *a) {
  CHECK(amount > 0 && strcmp(debit_account, credit_account) != 0);
  Ccpay__V1__JournalEntry *e = arena_alloc(a, sizeof *e);
  if (e == NULL) return NULL;
  ccpay__v1__journal_entry__init(e);
  e->postings = arena_alloc(a, TRANSFER_POSTINGS * sizeof *e->postings);
  if (e->postings == NULL) return NULL;
  e->kind = (char *)kind;
  if (!add_posting(e, debit_account, currency, amount, a) ||
      !add_posting(e, credit_account, currency, -amount, a)) {
    return NULL;
  }
  return e;
}
