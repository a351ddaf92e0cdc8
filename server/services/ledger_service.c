/* ccpay.v1.LedgerService: reading the journal, following it live, the trial balance and
 * single accounts. Everything here reads; entries are written by the services whose
 * events they record, in the same transaction as the event. */
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "common.h"
#include "domain/currency.h"
#include "domain/money.h"
#include "domain/validate.h"
#include "feed_stream.h"
#include "paging.h"
#include "services.h"
#include "storage/ledger.h"
#include "timestamps.h"

enum {
  STREAM_BATCH_ENTRIES = 64, /* read per snapshot while replaying */
  STREAM_BATCH_ARENA_BYTES = 8 << 20,
  TRIAL_BALANCE_CURRENCIES_MAX = 200,
};

static void fail(rpc_call *call, const ccpay_error *error) { rpc_call_fail(call, error); }

/* --- ListEntries ---------------------------------------------------------------------- */

static ccpay_err list_entries_page(service_env *env, uint64_t after, unsigned limit, arena *a,
                                   Ccpay__V1__ListEntriesResponse *reply, ccpay_error *error) {
  store_txn *txn;
  ccpay_err rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__JournalEntry **entries = NULL;
  size_t count = 0;
  /* One more than the page tells whether another page follows. */
  rc = ledger_entries(txn, after, limit + 1, a, &entries, &count, error);
  store_read_end(txn);
  if (rc != CCPAY_OK) return rc;
  bool more = count > limit;
  reply->entries = entries;
  reply->n_entries = more ? limit : count;
  reply->next_after_sequence = more ? entries[limit - 1]->sequence : 0;
  return CCPAY_OK;
}

static void list_entries(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListEntriesRequest *request = (const Ccpay__V1__ListEntriesRequest *)message;
  service_env *env = rpc_call_context(call);
  ccpay_error error;
  unsigned limit;
  ccpay_err rc = paging_size(request->page_size, &limit, &error);
  if (rc == CCPAY_OK && request->after_sequence < 0) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                         "after_sequence: must not be negative");
  }
  Ccpay__V1__ListEntriesResponse reply = CCPAY__V1__LIST_ENTRIES_RESPONSE__INIT;
  if (rc == CCPAY_OK) {
    rc = list_entries_page(env, (uint64_t)request->after_sequence, limit, rpc_call_arena(call),
                           &reply, &error);
  }
  if (rc != CCPAY_OK) {
    fail(call, &error);
    return;
  }
  rpc_call_reply(call, &reply.base);
}

/* --- StreamEntries -------------------------------------------------------------------- */

static ccpay_err stream_entries_read(store_txn *txn, uint64_t after, unsigned limit, arena *a,
                                     ProtobufCMessage ***out, size_t *count, ccpay_error *error) {
  Ccpay__V1__JournalEntry **records = NULL;
  ccpay_err rc = ledger_entries(txn, after, limit, a, &records, count, error);
  if (rc != CCPAY_OK) return rc;
  *out = arena_alloc(a, (*count + 1) * sizeof **out);
  if (*out == NULL) return service_exhausted(error);
  for (size_t i = 0; i < *count; i++) (*out)[i] = &records[i]->base;
  return CCPAY_OK;
}

static uint64_t stream_entries_sequence(const ProtobufCMessage *record) {
  return (uint64_t)((const Ccpay__V1__JournalEntry *)record)->sequence;
}

static const feed_stream_spec entries_stream = {
    .read = stream_entries_read,
    .sequence = stream_entries_sequence,
    .batch = STREAM_BATCH_ENTRIES,
    .batch_arena_bytes = STREAM_BATCH_ARENA_BYTES,
};

static void stream_entries(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__StreamEntriesRequest *request = (const Ccpay__V1__StreamEntriesRequest *)message;
  if (request->after_sequence < 0) {
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "after_sequence: must not be negative");
    rpc_stream_finish(call, &error);
    return;
  }
  feed_stream_start(call, &entries_stream, (uint64_t)request->after_sequence, request->follow);
}

/* --- GetTrialBalance ------------------------------------------------------------------ */

static ccpay_err add_to_totals(Ccpay__V1__TrialBalance *tb, const ledger_balance_row *row, arena *a,
                               ccpay_error *error) {
  for (size_t i = 0; i < tb->n_totals; i++) {
    if (strcmp(tb->totals[i]->currency_code, row->currency_code) == 0) {
      /* Balances of one currency sum to zero, so partial sums stay in range. */
      CHECK(!__builtin_add_overflow(tb->totals[i]->amount_minor, row->balance,
                                    &tb->totals[i]->amount_minor));
      return CCPAY_OK;
    }
  }
  CHECK(tb->n_totals < TRIAL_BALANCE_CURRENCIES_MAX);
  tb->totals[tb->n_totals] = money_message(a, row->currency_code, row->balance);
  if (tb->totals[tb->n_totals] == NULL) return service_exhausted(error);
  tb->n_totals++;
  return CCPAY_OK;
}

static ccpay_err trial_balance(service_env *env, arena *a, Ccpay__V1__TrialBalance *tb,
                               ccpay_error *error) {
  store_txn *txn;
  ccpay_err rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  ledger_balance_row *rows = NULL;
  size_t count = 0;
  uint64_t last = 0;
  rc = ledger_all_balances(txn, a, &rows, &count, error);
  if (rc == CCPAY_OK) rc = ledger_last_sequence(txn, &last, error);
  store_read_end(txn);
  if (rc != CCPAY_OK) return rc;
  tb->accounts = arena_alloc(a, (count + 1) * sizeof *tb->accounts);
  tb->totals = arena_alloc(a, TRIAL_BALANCE_CURRENCIES_MAX * sizeof *tb->totals);
  if (tb->accounts == NULL || tb->totals == NULL) return service_exhausted(error);
  for (size_t i = 0; i < count && rc == CCPAY_OK; i++) {
    Ccpay__V1__AccountBalance *ab = arena_alloc(a, sizeof *ab);
    if (ab == NULL) return service_exhausted(error);
    ccpay__v1__account_balance__init(ab);
    ab->account = (char *)rows[i].account;
    ab->balance = money_message(a, rows[i].currency_code, rows[i].balance);
    if (ab->balance == NULL) return service_exhausted(error);
    tb->accounts[tb->n_accounts++] = ab;
    rc = add_to_totals(tb, &rows[i], a, error);
  }
  tb->as_of_sequence = (int64_t)last;
  return rc;
}

static void get_trial_balance(rpc_call *call, const ProtobufCMessage *message) {
  (void)message;
  ccpay_error error;
  Ccpay__V1__TrialBalance reply = CCPAY__V1__TRIAL_BALANCE__INIT;
  ccpay_err rc = trial_balance(rpc_call_context(call), rpc_call_arena(call), &reply, &error);
  if (rc != CCPAY_OK) {
    fail(call, &error);
    return;
  }
  rpc_call_reply(call, &reply.base);
}

/* --- GetAccount ----------------------------------------------------------------------- */

static ccpay_err check_account_request(const Ccpay__V1__GetAccountRequest *request,
                                       ccpay_error *error) {
  size_t len = strnlen(request->account, LEDGER_ACCOUNT_BYTES_MAX + 1);
  if (len == 0) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "account: required");
  if (len > LEDGER_ACCOUNT_BYTES_MAX ||
      validate_text("account", request->account, LEDGER_ACCOUNT_BYTES_MAX, true, error) !=
          CCPAY_OK) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "account: an account name such as revenue or receivable:cus_…");
  }
  if (request->currency_code[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "currency_code: required");
  }
  if (currency_find(request->currency_code) == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                           "currency_code: %.8s is not an ISO 4217 currency code",
                           request->currency_code);
  }
  return CCPAY_OK;
}

/* Fills one page of postings, each with its entry's kind and time. */
static ccpay_err account_postings(store_txn *txn, const Ccpay__V1__GetAccountRequest *request,
                                  const ledger_posting_page *page, arena *a,
                                  Ccpay__V1__Account *reply, ccpay_error *error) {
  reply->postings = arena_alloc(a, (page->count + 1) * sizeof *reply->postings);
  if (reply->postings == NULL) return service_exhausted(error);
  for (size_t i = 0; i < page->count; i++) {
    Ccpay__V1__JournalEntry **entry = NULL;
    size_t found = 0;
    ccpay_err rc = ledger_entries(txn, page->rows[i].sequence - 1, 1, a, &entry, &found, error);
    if (rc != CCPAY_OK) return rc;
    CHECK(found == 1 && (uint64_t)entry[0]->sequence == page->rows[i].sequence);
    Ccpay__V1__AccountPosting *p = arena_alloc(a, sizeof *p);
    if (p == NULL) return service_exhausted(error);
    ccpay__v1__account_posting__init(p);
    p->sequence = (int64_t)page->rows[i].sequence;
    p->amount = money_message(a, request->currency_code, page->rows[i].amount);
    p->kind = entry[0]->kind;
    p->entry_time = entry[0]->entry_time;
    if (p->amount == NULL) return service_exhausted(error);
    reply->postings[reply->n_postings++] = p;
  }
  return CCPAY_OK;
}

static ccpay_err read_account(service_env *env, const Ccpay__V1__GetAccountRequest *request,
                              unsigned limit, const uint8_t *after, size_t after_len, arena *a,
                              Ccpay__V1__Account *reply, ccpay_error *error) {
  store_txn *txn;
  ccpay_err rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  int64_t balance = 0;
  ledger_posting_page page = {0};
  rc = ledger_balance(txn, request->account, request->currency_code, &balance, error);
  if (rc == CCPAY_OK) {
    rc = ledger_account_postings(txn, request->account, request->currency_code, after, after_len,
                                 limit, a, &page, error);
  }
  if (rc == CCPAY_OK) rc = account_postings(txn, request, &page, a, reply, error);
  store_read_end(txn);
  if (rc != CCPAY_OK) return rc;
  reply->account = request->account;
  reply->balance = money_message(a, request->currency_code, balance);
  reply->next_page_token =
      paging_encode(LISTING_ACCOUNT_POSTINGS, page.next_key, page.next_key_len, a);
  return reply->balance != NULL && reply->next_page_token != NULL ? CCPAY_OK
                                                                  : service_exhausted(error);
}

static void get_account(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetAccountRequest *request = (const Ccpay__V1__GetAccountRequest *)message;
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  unsigned limit = 0;
  uint8_t *after = NULL;
  size_t after_len = 0;
  ccpay_err rc = check_account_request(request, &error);
  if (rc == CCPAY_OK) rc = paging_size(request->page_size, &limit, &error);
  if (rc == CCPAY_OK) {
    rc =
        paging_decode(request->page_token, LISTING_ACCOUNT_POSTINGS, a, &after, &after_len, &error);
  }
  Ccpay__V1__Account reply = CCPAY__V1__ACCOUNT__INIT;
  if (rc == CCPAY_OK) {
    rc = read_account(rpc_call_context(call), request, limit, after, after_len, a, &reply, &error);
  }
  if (rc != CCPAY_OK) {
    fail(call, &error);
    return;
  }
  rpc_call_reply(call, &reply.base);
}

/* --- Method table --------------------------------------------------------------------- */

/* Every ledger method is a read. */
#define LEDGER_METHOD(method, method_kind, handler_fn, request_type, reply_type)             \
  SERVICE_METHOD("LedgerService", method, method_kind, handler_fn, request_type, reply_type, \
                 "ledger.read")

size_t ledger_service_methods(service_env *env, rpc_method *out) {
  out[0] = LEDGER_METHOD("ListEntries", RPC_UNARY, list_entries, ccpay__v1__list_entries_request,
                         ccpay__v1__list_entries_response);
  out[1] = LEDGER_METHOD("StreamEntries", RPC_SERVER_STREAMING, stream_entries,
                         ccpay__v1__stream_entries_request, ccpay__v1__journal_entry);
  out[2] = LEDGER_METHOD("GetTrialBalance", RPC_UNARY, get_trial_balance,
                         ccpay__v1__get_trial_balance_request, ccpay__v1__trial_balance);
  out[3] = LEDGER_METHOD("GetAccount", RPC_UNARY, get_account, ccpay__v1__get_account_request,
                         ccpay__v1__account);
  return 4;
}
