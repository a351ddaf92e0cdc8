/* The path of every processor operation: the transaction is written PENDING before the
 * adapter is called, and its outcome after.
 *
 *   1. begin (writer thread, one nested transaction): the idempotency record is looked
 *      up; the caller's begin function checks and writes what must exist before any
 *      processor call (an invoice, a cancelled order) and adds steps: a new operation
 *      (a transaction PENDING with its idempotency key = its id, and the amount reserved
 *      on the payment) or a look-up of a transaction left open. Committed durably.
 *   2. gateway (one of PAYMENT_GATEWAY_THREADS threads): each step is sent to its
 *      processor's adapter. A look-up the processor answers NOT_FOUND for never
 *      happened: the original operation is sent again under the same key.
 *   3. end (writer thread): each outcome is applied to its transaction and payment (and
 *      the ledger, for money that moved); a lost answer leaves the transaction UNKNOWN
 *      for the recovery loop; then the caller's end function builds the reply, stored
 *      under the request_id, and the call is answered after the durable commit.
 *
 * A crash between 1 and 3 leaves the transaction open in STORE_DB_TRANSACTIONS_OPEN;
 * the recovery loop (payment_recovery.h) resolves it through Lookup with the same key,
 * so nothing is lost and nothing is charged twice. A transaction being driven by one
 * flow is never driven by another at the same time (an in-memory claim). */
#ifndef CCPAY_SERVICES_PAYMENT_FLOW_H
#define CCPAY_SERVICES_PAYMENT_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "ccpay/v1/payment.pb-c.h"
#include "rpc/rpc.h"
#include "services.h"
#include "storage/store.h"

typedef struct payment_flow payment_flow;
typedef struct payment_engine payment_engine;

/* Stage 1 and 3 callbacks, on the writer thread inside the flow's nested transaction.
 * begin: check, write, add steps; set *reply to answer at once when it added none.
 * end: every step is resolved or left UNKNOWN; build *reply or return an error. end may
 * also add follow-up operations (a void after a fraud rule refused an authorization):
 * they are sent, and end runs again over every step. */
typedef ccpay_err (*payment_flow_fn)(store_txn *txn, payment_flow *f, ProtobufCMessage **reply,
                                     ccpay_error *error);

typedef struct payment_flow_spec {
  payment_flow_fn begin;
  payment_flow_fn end;
  /* The reply of begin is stored under the request_id at once (begin wrote something a
   * retry must not write again, e.g. an invoice), and replaced by end's. Otherwise only
   * end's successful reply is stored. */
  bool store_begin_reply;
  const void *input; /* the caller's, given back by payment_flow_input */
} payment_flow_spec;

/* Starts the engine's gateway threads and recovery loop (after the store and the
 * adapters' supervisor are up). */
ccpay_err payment_engine_start(service_env *env, payment_engine **out, ccpay_error *error);

/* Stops the recovery loop, finishes the flows already handed to the gateway threads
 * and joins them. Call after the rpc server stopped and before the store closes. */
void payment_engine_stop(payment_engine *engine);

/* Runs a flow for call (ends it exactly once). request_id must have passed
 * validate_request_id; request, input and everything begin returns live in the
 * call's arena. */
void payment_flow_start(rpc_call *call, const char *request_id, const ProtobufCMessage *request,
                        const payment_flow_spec *spec);

/* --- Inside begin and end ----------------------------------------------------------- */

const void *payment_flow_input(const payment_flow *f);
arena *payment_flow_arena(const payment_flow *f);
service_env *payment_flow_env(const payment_flow *f);

/* Starts a processor operation on payment p (the writer's copy, read in this
 * transaction): checks it (payment_check_start), writes a PENDING transaction and p
 * with the amount reserved. amount is ignored for AUTHORIZE, SALE and VOID (the
 * payment's amount, or what is left). Errors name the rule; nothing is written then. */
ccpay_err payment_flow_add_operation(payment_flow *f, store_txn *txn, Ccpay__V1__Payment *p,
                                     Ccpay__V1__TransactionKind kind, int64_t amount,
                                     bool final_capture, ccpay_error *error);

/* Asks the processor about transaction t (open: PENDING or UNKNOWN, read in this
 * transaction into the flow's arena) again. CCPAY_ERR_PAYMENT_IN_PROGRESS when another
 * flow is driving it right now. */
ccpay_err payment_flow_add_lookup(payment_flow *f, store_txn *txn, Ccpay__V1__Transaction *t,
                                  ccpay_error *error);

size_t payment_flow_step_count(const payment_flow *f);

/* In end: step i's transaction as resolved (or left UNKNOWN). */
const Ccpay__V1__Transaction *payment_flow_step_transaction(const payment_flow *f, size_t i);

/* In end: CCPAY_OK when step i succeeded, else the error a caller should see: a decline
 * (PAYMENT_DECLINED with the processor's code and message), a rejection
 * (PAYMENT_FAILED), the adapter down (ADAPTER_UNAVAILABLE) or a lost answer
 * (OUTCOME_UNKNOWN). */
ccpay_err payment_flow_step_error(const payment_flow *f, size_t i, ccpay_error *error);

/* Resolves an open transaction through Lookup without a call (the recovery loop). done
 * runs on the writer thread once the outcome is written (or the attempt failed). */
typedef void (*payment_flow_done_fn)(void *context, ccpay_err result);
ccpay_err payment_flow_recover(payment_engine *engine, uint64_t transaction_id,
                               payment_flow_done_fn done, void *context, ccpay_error *error);

#endif
