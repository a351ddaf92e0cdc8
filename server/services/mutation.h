/* The one path every mutating call takes: idempotency, the write command, and the reply
 * after the durable commit.
 *
 * mutation_submit hashes the request (canonically re-encoded), queues a write command,
 * and returns at once; the worker thread is free. On the writer thread, inside the
 * command's nested transaction: the request_id is looked up — the same request answered
 * before gets its stored reply and nothing runs again; another request under the same
 * request_id is refused (IDEMPOTENCY_KEY_REUSED) — otherwise execute runs, its reply is
 * encoded and stored under the request_id in the same transaction, with the call's audit
 * record (audit_trail.h). After the commit is durable the call is answered. A failure
 * leaves nothing behind but its audit record (written after the rollback). A retry
 * answered from the stored reply writes no new record. */
#ifndef CCPAY_SERVICES_MUTATION_H
#define CCPAY_SERVICES_MUTATION_H

#include "base/arena.h"
#include "base/error.h"
#include "rpc/rpc.h"
#include "storage/idempotency.h"
#include "storage/store.h"

/* Runs on the writer thread. input is what the handler passed; build the reply in
 * arena a (the call's). Return CCPAY_OK to keep the changes, or an error (filled). */
typedef ccpay_err (*mutation_execute_fn)(store_txn *txn, const void *input, arena *a,
                                         ProtobufCMessage **reply, ccpay_error *error);

/* Ends call once the write is durable (or failed). request_id must have passed
 * validate_request_id; request and input must live in the call's arena. */
void mutation_submit(rpc_call *call, store *s, const char *request_id,
                     const ProtobufCMessage *request, mutation_execute_fn execute,
                     const void *input);

/* As mutation_submit, but secret_fields (encoded fields of the reply message, in the
 * call's arena) are appended to the reply sent to this call and never stored: a retry
 * gets the stored reply without them. How a secret is shown exactly once (CreateToken). */
void mutation_submit_secret(rpc_call *call, store *s, const char *request_id,
                            const ProtobufCMessage *request, mutation_execute_fn execute,
                            const void *input, const uint8_t *secret_fields,
                            size_t secret_fields_len);

/* The idempotency hash of a call's request (its method and the request re-encoded).
 * False when the call's arena is exhausted. */
bool mutation_request_hash(rpc_call *call, const ProtobufCMessage *request,
                           uint8_t hash[IDEMPOTENCY_HASH_BYTES]);

/* Packs reply into arena a. CCPAY_ERR_LIMIT_EXCEEDED when it does not fit. */
ccpay_err mutation_pack_reply(const ProtobufCMessage *reply, arena *a, uint8_t **out, size_t *len,
                              ccpay_error *error);

#endif
