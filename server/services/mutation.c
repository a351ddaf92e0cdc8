#include "mutation.h"

#include <string.h>

#include "audit_trail.h"
#include "base/check.h"
#include "storage/idempotency.h"

typedef struct mutation {
  store_write write; /* first: the writer hands this back */
  rpc_call *call;
  const char *request_id;
  uint8_t hash[IDEMPOTENCY_HASH_BYTES];
  mutation_execute_fn execute;
  const void *input;
  uint8_t *reply; /* encoded, in the call's arena */
  size_t reply_len;
  bool replayed; /* the stored reply of an earlier call: nothing ran, nothing audited */
  const ProtobufCMessage *request;
  audit_caller who;
  /* Encoded fields appended to this call's reply only (mutation_submit_secret). */
  const uint8_t *secret_fields;
  size_t secret_fields_len;
} mutation;

static ccpay_err mutation_run(store_txn *txn, mutation *m, store_write *w);

/* The command: the call's work and its audit record, with the caller current so the
 * records it creates are stamped with its agent. */
static ccpay_err mutation_execute(store_txn *txn, store_write *w) {
  mutation *m = (mutation *)w;
  audit_trail_enter(&m->who);
  ccpay_err rc = mutation_run(txn, m, w);
  audit_trail_leave();
  return rc;
}

/* After a failure rolled the call's effects back: its audit record, with the outcome. */
static ccpay_err mutation_after_failure(store_txn *txn, store_write *w) {
  mutation *m = (mutation *)w;
  ccpay_error failure = w->error;
  return audit_trail_append(txn, &m->who, m->request_id, m->request, NULL, &failure,
                            rpc_call_arena(m->call), &w->error);
}

static ccpay_err mutation_run(store_txn *txn, mutation *m, store_write *w) {
  arena *a = rpc_call_arena(m->call);
  /* A client that gave up before its turn was never told anything: skip the work. */
  if (rpc_call_cancelled(m->call)) {
    return ccpay_error_set(&w->error, CCPAY_ERR_CANCELLED, "cancelled before it was written");
  }
  store_val stored;
  ccpay_err rc = idempotency_lookup(txn, m->request_id, m->hash, &stored, &w->error);
  if (rc == CCPAY_OK) { /* a retry: answer as the first time */
    m->reply = arena_alloc(a, stored.len);
    if (m->reply == NULL && stored.len > 0) {
      return ccpay_error_set(&w->error, CCPAY_ERR_LIMIT_EXCEEDED, "reply too large");
    }
    if (stored.len > 0) memcpy(m->reply, stored.data, stored.len);
    m->reply_len = stored.len;
    m->replayed = true;
    return CCPAY_OK;
  }
  if (rc != CCPAY_ERR_NOT_FOUND) return rc;

  ProtobufCMessage *reply = NULL;
  rc = m->execute(txn, m->input, a, &reply, &w->error);
  if (rc != CCPAY_OK) return rc;
  CHECK(reply != NULL);
  rc = mutation_pack_reply(reply, a, &m->reply, &m->reply_len, &w->error);
  if (rc != CCPAY_OK) return rc;
  rc = idempotency_record(txn, m->request_id, m->hash, m->reply, m->reply_len, &w->error);
  if (rc != CCPAY_OK) return rc;
  return audit_trail_append(txn, &m->who, m->request_id, m->request, reply, NULL, a, &w->error);
}

/* The reply with the secret fields appended (protobuf merges concatenated messages), in
 * the call's arena; the stored reply stays without them. NULL when out of memory. */
static uint8_t *reply_with_secret(mutation *m, size_t *len) {
  *len = m->reply_len + m->secret_fields_len;
  uint8_t *bytes = arena_alloc(rpc_call_arena(m->call), *len);
  if (bytes == NULL) return NULL;
  if (m->reply_len > 0) memcpy(bytes, m->reply, m->reply_len);
  memcpy(bytes + m->reply_len, m->secret_fields, m->secret_fields_len);
  return bytes;
}

static void mutation_done(store_write *w) {
  mutation *m = (mutation *)w;
  if (w->result == CCPAY_OK && m->secret_fields != NULL && !m->replayed) {
    size_t len = 0;
    uint8_t *bytes = reply_with_secret(m, &len);
    if (bytes == NULL) {
      ccpay_error error;
      ccpay_error_set(&error, CCPAY_ERR_LIMIT_EXCEEDED, "reply too large");
      rpc_call_fail(m->call, &error);
      return;
    }
    rpc_call_reply_packed(m->call, bytes, len);
  } else if (w->result == CCPAY_OK) {
    rpc_call_reply_packed(m->call, m->reply, m->reply_len);
  } else {
    CHECK(w->error.code == w->result);
    rpc_call_fail(m->call, &w->error);
  }
}

ccpay_err mutation_pack_reply(const ProtobufCMessage *reply, arena *a, uint8_t **out, size_t *len,
                              ccpay_error *error) {
  *len = protobuf_c_message_get_packed_size(reply);
  *out = arena_alloc(a, *len == 0 ? 1 : *len);
  if (*out == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "reply too large");
  size_t packed = protobuf_c_message_pack(reply, *out);
  CHECK(packed == *len);
  return CCPAY_OK;
}

bool mutation_request_hash(rpc_call *call, const ProtobufCMessage *request,
                           uint8_t hash[IDEMPOTENCY_HASH_BYTES]) {
  size_t request_len = protobuf_c_message_get_packed_size(request);
  uint8_t *canonical = arena_alloc(rpc_call_arena(call), request_len == 0 ? 1 : request_len);
  if (canonical == NULL) return false;
  protobuf_c_message_pack(request, canonical);
  idempotency_hash(rpc_call_method_name(call), canonical, request_len, hash);
  return true;
}

void mutation_submit(rpc_call *call, store *s, const char *request_id,
                     const ProtobufCMessage *request, mutation_execute_fn execute,
                     const void *input) {
  mutation_submit_secret(call, s, request_id, request, execute, input, NULL, 0);
}

void mutation_submit_secret(rpc_call *call, store *s, const char *request_id,
                            const ProtobufCMessage *request, mutation_execute_fn execute,
                            const void *input, const uint8_t *secret_fields,
                            size_t secret_fields_len) {
  mutation *m = arena_calloc(rpc_call_arena(call), sizeof *m);
  if (m == NULL || !mutation_request_hash(call, request, m->hash)) {
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_LIMIT_EXCEEDED, "request too large for one call");
    rpc_call_fail(call, &error);
    return;
  }
  m->call = call;
  m->request_id = request_id;
  m->execute = execute;
  m->input = input;
  m->request = request;
  m->secret_fields = secret_fields;
  m->secret_fields_len = secret_fields_len;
  audit_caller_capture(call, &m->who);
  rpc_call_set_request_id(call, request_id);
  m->write.execute = mutation_execute;
  m->write.after_failure = mutation_after_failure;
  m->write.actor = m->who.agent_id;
  m->write.done = mutation_done;
  m->write.context = m;
  store_write_submit(s, &m->write);
}
