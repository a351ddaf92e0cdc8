/* ccpay.v1.AdminService. This file holds the security part: agent tokens (CreateToken,
 * RevokeToken, ListTokens) and the audit trail (StreamAudit). Writes go through
 * mutation.c like every other change, so each is idempotent and audited there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_trail.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"
#include "ccpay/v1/admin.pb-c.h"
#include "common.h"
#include "domain/roles.h"
#include "domain/validate.h"
#include "feed_stream.h"
#include "mutation.h"
#include "paging.h"
#include "services.h"
#include "storage/audit.h"
#include "storage/keys.h"
#include "storage/tokens.h"
#include "timestamps.h"

enum {
  AUDIT_STREAM_ARENA_BYTES = 4 << 20,
};

/* --- Agent tokens and the audit trail (security) -------------------------------------- */

static int64_t timestamp_to_ms(const Google__Protobuf__Timestamp *t) {
  return t->seconds * 1000 + t->nanos / 1000000;
}

/* --- CreateToken ---------------------------------------------------------------------- */

typedef struct create_token_input {
  const char *role;
  const char *agent_id;
  int64_t expire_ms;
  uint8_t hash[TOKEN_HASH_BYTES];
} create_token_input;

static ccpay_err create_token_execute(store_txn *txn, const void *input, arena *a,
                                      ProtobufCMessage **reply, ccpay_error *error) {
  const create_token_input *in = input;
  if (in->expire_ms <= store_txn_time_ms(txn)) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "token.expire_time: must be in the future");
  }
  Ccpay__V1__Token *t = NULL;
  ccpay_err rc = tokens_issue(txn, in->role, in->agent_id, audit_trail_agent_id(), in->expire_ms,
                              in->hash, a, &t, error);
  if (rc != CCPAY_OK) return rc;
  char *after = arena_alloc(a, AUDIT_CHANGE_BYTES_MAX);
  Ccpay__V1__CreateTokenResponse *r = arena_alloc(a, sizeof *r);
  if (after == NULL || r == NULL) return service_exhausted(error);
  snprintf(after, AUDIT_CHANGE_BYTES_MAX, "token %s role=%s agent_id=%s expire_time_ms=%lld", t->id,
           t->role, t->agent_id, (long long)in->expire_ms);
  audit_trail_note_change("", after);
  ccpay__v1__create_token_response__init(r);
  r->token = t;
  *reply = &r->base;
  return CCPAY_OK;
}

static ccpay_err create_token_check(const Ccpay__V1__CreateTokenRequest *request,
                                    create_token_input *in, ccpay_error *error) {
  ccpay_err rc = validate_request_id(request->request_id, error);
  if (rc != CCPAY_OK) return rc;
  const Ccpay__V1__Token *t = request->token;
  if (t == NULL) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "token: required");
  if (t->role[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "token.role: required (one of %s)",
                           roles_names());
  }
  const role_def *r = roles_find(t->role);
  if (r == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "token.role: must be one of %s",
                           roles_names());
  }
  rc = roles_validate_agent_id("token.agent_id", t->agent_id, error);
  if (rc != CCPAY_OK) return rc;
  int64_t now_ms = clock_wall_ms();
  in->expire_ms = (int64_t)TOKEN_TTL_S_DEFAULT * 1000 + now_ms;
  if (t->expire_time != NULL) {
    in->expire_ms = timestamp_to_ms(t->expire_time);
    if (in->expire_ms <= now_ms || in->expire_ms > now_ms + (int64_t)TOKEN_TTL_S_MAX * 1000) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "token.expire_time: must be in the future and at most %d days ahead",
                             TOKEN_TTL_S_MAX / 86400);
    }
  }
  in->role = r->name;
  in->agent_id = t->agent_id;
  return CCPAY_OK;
}

static void create_token(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__CreateTokenRequest *request = (const Ccpay__V1__CreateTokenRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  create_token_input *in = arena_calloc(a, sizeof *in);
  char *secret = arena_alloc(a, TOKEN_TEXT_BYTES + 1);
  ccpay_error error;
  ccpay_err rc = in == NULL || secret == NULL ? service_exhausted(&error)
                                              : create_token_check(request, in, &error);
  if (rc == CCPAY_OK && !token_secret_generate(secret)) {
    rc = ccpay_error_set(&error, CCPAY_ERR_INTERNAL, "no randomness for a token");
  }
  /* The secret travels only in this reply: encoded as the response's field 2 alone. */
  Ccpay__V1__CreateTokenResponse shown = CCPAY__V1__CREATE_TOKEN_RESPONSE__INIT;
  uint8_t *secret_fields = NULL;
  size_t secret_len = 0;
  if (rc == CCPAY_OK) {
    token_secret_hash(secret, strlen(secret), in->hash);
    shown.secret = secret;
    secret_len = protobuf_c_message_get_packed_size(&shown.base);
    secret_fields = arena_alloc(a, secret_len);
    if (secret_fields == NULL) rc = service_exhausted(&error);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  protobuf_c_message_pack(&shown.base, secret_fields);
  mutation_submit_secret(call, env->store, request->request_id, message, create_token_execute, in,
                         secret_fields, secret_len);
}

/* --- RevokeToken ---------------------------------------------------------------------- */

typedef struct revoke_input {
  uint64_t id;
} revoke_input;

static ccpay_err revoke_token_execute(store_txn *txn, const void *input, arena *a,
                                      ProtobufCMessage **reply, ccpay_error *error) {
  const revoke_input *in = input;
  Ccpay__V1__Token *t = NULL;
  ccpay_err rc = tokens_get(txn, in->id, a, &t, error);
  if (rc != CCPAY_OK) return rc;
  if (t->revoke_time != NULL) {
    return ccpay_error_set(error, CCPAY_ERR_INVALID_STATE, "token %s is already revoked", t->id);
  }
  t->revoke_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  t->revoked_by = (char *)audit_trail_agent_id();
  char *before = arena_alloc(a, AUDIT_CHANGE_BYTES_MAX);
  char *after = arena_alloc(a, AUDIT_CHANGE_BYTES_MAX);
  if (t->revoke_time == NULL || before == NULL || after == NULL) return service_exhausted(error);
  snprintf(before, AUDIT_CHANGE_BYTES_MAX, "token %s role=%s agent_id=%s active", t->id, t->role,
           t->agent_id);
  snprintf(after, AUDIT_CHANGE_BYTES_MAX, "token %s role=%s agent_id=%s revoked", t->id, t->role,
           t->agent_id);
  audit_trail_note_change(before, after);
  rc = tokens_update(txn, t, error);
  *reply = &t->base;
  return rc;
}

static void revoke_token(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__RevokeTokenRequest *request = (const Ccpay__V1__RevokeTokenRequest *)message;
  service_env *env = rpc_call_context(call);
  revoke_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc =
      in == NULL ? service_exhausted(&error) : validate_request_id(request->request_id, &error);
  if (rc == CCPAY_OK) rc = service_parse_id(ID_TOKEN, "id", request->id, &in->id, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  mutation_submit(call, env->store, request->request_id, message, revoke_token_execute, in);
}

/* --- ListTokens ----------------------------------------------------------------------- */

static ccpay_err list_tokens_page(service_env *env, const Ccpay__V1__ListTokensRequest *request,
                                  arena *a, Ccpay__V1__ListTokensResponse *reply,
                                  ccpay_error *error) {
  unsigned limit = 0;
  ccpay_err rc = paging_size(request->page_size, &limit, error);
  uint8_t *key = NULL;
  size_t key_len = 0;
  if (rc == CCPAY_OK)
    rc = paging_decode(request->page_token, LISTING_TOKENS, a, &key, &key_len, error);
  if (rc != CCPAY_OK) return rc;
  if (key != NULL && key_len != 8) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "page_token: not from this listing");
  }
  store_txn *txn = NULL;
  rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  uint64_t next = 0;
  rc = tokens_list(txn, key != NULL ? key_get_u64(key) : 0, limit, request->include_inactive,
                   clock_wall_ms(), a, &reply->tokens, &reply->n_tokens, &next, error);
  store_read_end(txn);
  if (rc != CCPAY_OK) return rc;
  uint8_t next_key[8];
  key_put_u64(next_key, next);
  reply->next_page_token = paging_encode(LISTING_TOKENS, next != 0 ? next_key : NULL, 8, a);
  return reply->next_page_token != NULL ? CCPAY_OK : service_exhausted(error);
}

static void list_tokens(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__ListTokensRequest *request = (const Ccpay__V1__ListTokensRequest *)message;
  Ccpay__V1__ListTokensResponse reply = CCPAY__V1__LIST_TOKENS_RESPONSE__INIT;
  ccpay_error error;
  ccpay_err rc =
      list_tokens_page(rpc_call_context(call), request, rpc_call_arena(call), &reply, &error);
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &reply.base : NULL, &error);
}

/* --- StreamAudit ---------------------------------------------------------------------- */

static ccpay_err stream_audit_read(store_txn *txn, uint64_t after, unsigned limit, arena *a,
                                   ProtobufCMessage ***out, size_t *count, ccpay_error *error) {
  Ccpay__V1__AuditRecord **records = NULL;
  ccpay_err rc = audit_read(txn, after, limit, a, &records, count, error);
  if (rc != CCPAY_OK) return rc;
  *out = arena_alloc(a, (*count + 1) * sizeof **out);
  if (*out == NULL) return service_exhausted(error);
  for (size_t i = 0; i < *count; i++) (*out)[i] = &records[i]->base;
  return CCPAY_OK;
}

static uint64_t stream_audit_sequence(const ProtobufCMessage *record) {
  return (uint64_t)((const Ccpay__V1__AuditRecord *)record)->sequence;
}

static const feed_stream_spec audit_stream = {
    .read = stream_audit_read,
    .sequence = stream_audit_sequence,
    .batch = AUDIT_STREAM_BATCH,
    .batch_arena_bytes = AUDIT_STREAM_ARENA_BYTES,
};

static void stream_audit(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__StreamAuditRequest *request = (const Ccpay__V1__StreamAuditRequest *)message;
  if (request->after_sequence < 0) {
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "after_sequence: must not be negative");
    rpc_stream_finish(call, &error);
    return;
  }
  feed_stream_start(call, &audit_stream, (uint64_t)request->after_sequence, request->follow);
}

/* --- end of agent tokens and the audit trail ------------------------------------------ */

/* --- Method table --------------------------------------------------------------------- */

size_t admin_service_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
  /* Agent tokens and the audit trail (security). */
  out[n++] = SERVICE_METHOD("AdminService", "CreateToken", RPC_UNARY, create_token,
                            ccpay__v1__create_token_request, ccpay__v1__create_token_response,
                            "tokens.write");
  out[n++] = SERVICE_METHOD("AdminService", "RevokeToken", RPC_UNARY, revoke_token,
                            ccpay__v1__revoke_token_request, ccpay__v1__token, "tokens.write");
  out[n++] = SERVICE_METHOD("AdminService", "ListTokens", RPC_UNARY, list_tokens,
                            ccpay__v1__list_tokens_request, ccpay__v1__list_tokens_response,
                            "tokens.read");
  out[n++] = SERVICE_METHOD("AdminService", "StreamAudit", RPC_SERVER_STREAMING, stream_audit,
                            ccpay__v1__stream_audit_request, ccpay__v1__audit_record, "audit.read");
  /* End of agent tokens and the audit trail. */
  n += admin_parameter_methods(env, out + n);
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
