#include "mutation.h"

#include <string.h>

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
} mutation;

static ccpay_err mutation_execute(store_txn *txn, store_write *w) {
  mutation *m = (mutation *)w;
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
    return CCPAY_OK;
  }
  if (rc != CCPAY_ERR_NOT_FOUND) return rc;

  ProtobufCMessage *reply = NULL;
  rc = m->execute(txn, m->input, a, &reply, &w->error);
  if (rc != CCPAY_OK) return rc;
  CHECK(reply != NULL);
  rc = mutation_pack_reply(reply, a, &m->reply, &m->reply_len, &w->error);
  if (rc != CCPAY_OK) return rc;
  return idempotency_record(txn, m->request_id, m->hash, m->reply, m->reply_len, &w->error);
}

static void mutation_done(store_write *w) {
  mutation *m = (mutation *)w;
  if (w->result == CCPAY_OK) {
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
  rpc_call_set_request_id(call, request_id);
  m->write.execute = mutation_execute;
  m->write.done = mutation_done;
  m->write.context = m;
  store_write_submit(s, &m->write);
}
