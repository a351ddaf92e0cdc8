/* ccpay.v1.StoredValueService: internal gift cards and loyalty cards. A card's value is
 * its liability account in the ledger, so issuing is a journal entry and the balance is
 * the account's; AddPayment redeems from it (payment_service.c). */
#include <string.h>

#include "base/check.h"
#include "ccpay/v1/stored_value.pb-c.h"
#include "common.h"
#include "domain/accounts.h"
#include "domain/currency.h"
#include "domain/money.h"
#include "domain/payment.h"
#include "domain/validate.h"
#include "mutation.h"
#include "services.h"
#include "storage/ledger.h"
#include "timestamps.h"

#define KIND(x) CCPAY__V1__STORED_VALUE_KIND__STORED_VALUE_KIND_##x

/* The card's liability account, after checking kind and number. */
static ccpay_err stored_value_account(Ccpay__V1__StoredValueKind kind, const char *number, arena *a,
                                      char **out, ccpay_error *error) {
  if (kind != KIND(GIFT_CARD) && kind != KIND(LOYALTY)) {
    return ccpay_error_set(error, kind == 0 ? CCPAY_ERR_FIELD_REQUIRED : CCPAY_ERR_FIELD_INVALID,
                           "kind: STORED_VALUE_KIND_GIFT_CARD or STORED_VALUE_KIND_LOYALTY");
  }
  ccpay_err rc = payment_check_stored_value_number("number", number, error);
  if (rc != CCPAY_OK) return rc;
  *out = account_stored_value(kind == KIND(LOYALTY), number, a);
  return *out != NULL ? CCPAY_OK : service_exhausted(error);
}

static ccpay_err check_currency(const char *field, const char *code, ccpay_error *error) {
  if (code[0] == '\0')
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field);
  if (currency_find(code) == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                           "%s: %.8s is not an ISO 4217 currency code", field, code);
  }
  return CCPAY_OK;
}

/* The balance reply: what is left on the card (its liability, a credit). */
static ccpay_err balance_reply(store_txn *txn, Ccpay__V1__StoredValueKind kind, const char *number,
                               const char *account, const char *currency_code, arena *a,
                               Ccpay__V1__StoredValueBalance **out, ccpay_error *error) {
  int64_t balance = 0;
  ccpay_err rc = ledger_balance(txn, account, currency_code, &balance, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__StoredValueBalance *b = arena_alloc(a, sizeof *b);
  if (b == NULL) return service_exhausted(error);
  ccpay__v1__stored_value_balance__init(b);
  b->kind = kind;
  b->number = (char *)number;
  b->balance = money_message(a, currency_code, -balance);
  *out = b;
  return b->balance != NULL ? CCPAY_OK : service_exhausted(error);
}

/* --- IssueValue --------------------------------------------------------------------- */

typedef struct issue_input {
  const Ccpay__V1__IssueValueRequest *request;
  char *account;
} issue_input;

/* A gift card is sold for cash; loyalty value is granted at the program's expense. */
static ccpay_err issue_execute(store_txn *txn, const void *input, arena *a,
                               ProtobufCMessage **reply, ccpay_error *error) {
  const issue_input *in = input;
  const Ccpay__V1__IssueValueRequest *r = in->request;
  bool loyalty = r->kind == KIND(LOYALTY);
  Ccpay__V1__JournalEntry *e = accounts_transfer_entry(
      ENTRY_KIND_STORED_VALUE_ISSUED, loyalty ? ACCOUNT_LOYALTY_EXPENSE : ACCOUNT_CASH, in->account,
      r->amount->currency_code, r->amount->amount_minor, a);
  if (e == NULL) return service_exhausted(error);
  e->description = r->number;
  e->entry_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (e->entry_time == NULL) return service_exhausted(error);
  ccpay_err rc = ledger_append(txn, e, error);
  Ccpay__V1__StoredValueBalance *b = NULL;
  if (rc == CCPAY_OK) {
    rc =
        balance_reply(txn, r->kind, r->number, in->account, r->amount->currency_code, a, &b, error);
  }
  if (rc != CCPAY_OK) return rc;
  b->entry_sequence = e->sequence;
  *reply = &b->base;
  return CCPAY_OK;
}

static void issue_value(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__IssueValueRequest *r = (const Ccpay__V1__IssueValueRequest *)message;
  service_env *env = rpc_call_context(call);
  issue_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc =
      in == NULL ? service_exhausted(&error) : validate_request_id(r->request_id, &error);
  if (rc == CCPAY_OK) {
    rc = stored_value_account(r->kind, r->number, rpc_call_arena(call), &in->account, &error);
  }
  if (rc == CCPAY_OK && (r->amount == NULL || r->amount->amount_minor <= 0)) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "amount: must be positive");
  }
  if (rc == CCPAY_OK) rc = check_currency("amount.currency_code", r->amount->currency_code, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->request = r;
  mutation_submit(call, env->store, r->request_id, message, issue_execute, in);
}

/* --- GetBalance --------------------------------------------------------------------- */

static void get_balance(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__GetStoredValueRequest *r = (const Ccpay__V1__GetStoredValueRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  ccpay_error error;
  char *account = NULL;
  Ccpay__V1__StoredValueBalance *b = NULL;
  ccpay_err rc = stored_value_account(r->kind, r->number, a, &account, &error);
  if (rc == CCPAY_OK) rc = check_currency("currency_code", r->currency_code, &error);
  store_txn *txn = NULL;
  if (rc == CCPAY_OK) rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = balance_reply(txn, r->kind, r->number, account, r->currency_code, a, &b, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &b->base : NULL, &error);
}

size_t stored_value_service_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
  out[n++] = SERVICE_METHOD("StoredValueService", "IssueValue", RPC_UNARY, issue_value,
                            ccpay__v1__issue_value_request, ccpay__v1__stored_value_balance,
                            "stored_value.issue");
  out[n++] = SERVICE_METHOD("StoredValueService", "GetBalance", RPC_UNARY, get_balance,
                            ccpay__v1__get_stored_value_request, ccpay__v1__stored_value_balance,
                            "payments.read");
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
