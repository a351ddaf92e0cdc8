/* One call's state machine. A call holds two references: one for the RECV_CLOSE_ON_SERVER
 * batch posted when it starts (it tells us about client cancellation), one for the
 * handler's path, dropped when the final status batch completes. The last one out logs
 * the call and frees it. At most one send batch is in flight at a time. */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "google/rpc/status.pb-c.h"
#include "rpc_internal.h"
#include "rpc_wire.h"

enum { ERROR_DETAILS_BYTES_MAX = 1024, RPC_METHOD_NAME_BYTES_MAX = 128 };

typedef enum send_kind {
  SEND_NONE,
  SEND_FINAL,          /* status (and maybe a last message): the call ends */
  SEND_STREAM_MESSAGE, /* a server-streaming message; then sent() */
  SEND_BIDI_MESSAGE,   /* a reply to one bidi message; then read the next */
} send_kind;

struct rpc_call {
  rpc_tag close_tag;
  rpc_tag send_tag;
  rpc_tag recv_tag;
  atomic_int refs;
  atomic_bool cancelled;
  atomic_bool ended; /* the final status was started: exactly once per call */
  rpc_server *server;
  const rpc_method *method; /* NULL: an unknown method, answered UNIMPLEMENTED */
  const char *method_name;  /* the method's, or unknown_method's: never in the arena, which
                               bidi calls replace per message */
  char unknown_method[RPC_METHOD_NAME_BYTES_MAX];
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array request_metadata;
  arena *arena;
  int close_cancelled;

  bool initial_metadata_sent;
  send_kind sending;
  grpc_byte_buffer *send_buffer;
  grpc_byte_buffer *recv_buffer;
  grpc_slice status_details;
  grpc_metadata trailing[2];
  size_t trailing_count;
  rpc_sent_fn sent;
  void *sent_argument;
  _Atomic(rpc_call_fn) cancelled_fn; /* set by a handler while close may complete */
  void *cancelled_argument;
  rpc_call_fn freed_fn;
  void *freed_argument;

  int64_t start_us;
  int status;
  const char *reason;
  char request_id[REQUEST_ID_BYTES_MAX + 1];

  /* Who is calling (set before the handler runs; empty without authentication). */
  rpc_principal principal;
  char peer[AUTH_PEER_BYTES_MAX];
};

static void call_unref(rpc_call *c);

/* --- Life and death ------------------------------------------------------------------- */

static void call_log(rpc_call *c) {
  int64_t duration_us = clock_mono_us() - c->start_us;
  char request_id[2 * REQUEST_ID_BYTES_MAX + 8];
  log_quote(c->request_id, request_id, sizeof request_id);
  /* Health checks come every few seconds from supervisors and load balancers: a
   * successful one is logged only at debug level. */
  bool routine = c->status == 0 && strcmp(c->method_name, "/grpc.health.v1.Health/Check") == 0;
  log_level level = routine           ? LOG_DEBUG
                    : c->status == 0  ? LOG_INFO
                    : c->status == 13 ? LOG_ERROR
                                      : LOG_WARN;
  char agent[2 * AGENT_ID_BYTES_MAX + 8];
  log_quote(c->principal.agent_id, agent, sizeof agent);
  log_write(level,
            "event=call method=%s status=%d reason=%s duration_us=%lld request_id=%s agent=%s",
            c->method_name, c->status, c->reason, (long long)duration_us, request_id, agent);
}

static void call_free(rpc_call *c) {
  call_log(c);
  if (c->freed_fn != NULL) c->freed_fn(c, c->freed_argument);
  grpc_metadata_array_destroy(&c->request_metadata);
  if (c->recv_buffer != NULL) grpc_byte_buffer_destroy(c->recv_buffer);
  CHECK(c->send_buffer == NULL);
  grpc_call_unref(c->call);
  arena_destroy(c->arena);
  rpc_server *server = c->server;
  free(c);
  rpc_server_call_freed(server);
}

static void call_unref(rpc_call *c) {
  int before = atomic_fetch_sub(&c->refs, 1);
  CHECK(before >= 1);
  if (before == 1) call_free(c);
}

static void start_batch(rpc_call *c, const grpc_op *ops, size_t count, rpc_tag *tag) {
  grpc_call_error rc = grpc_call_start_batch(c->call, ops, count, tag, NULL);
  /* Any error here is a misuse of the batch API: a bug, not an operating condition. */
  if (rc != GRPC_CALL_OK) log_error("event=start_batch_failed method=%s rc=%d", c->method_name, rc);
  CHECK(rc == GRPC_CALL_OK);
}

static void close_on_complete(rpc_tag *tag, bool ok) {
  rpc_call *c = (rpc_call *)((char *)tag - offsetof(rpc_call, close_tag));
  if (!ok || c->close_cancelled) {
    atomic_store(&c->cancelled, true);
    rpc_call_fn cancelled = atomic_load(&c->cancelled_fn);
    if (cancelled != NULL) cancelled(c, c->cancelled_argument);
  }
  call_unref(c);
}

/* Takes the call, deadline and metadata from the request slot r, leaving it empty. */
static rpc_call *call_create(rpc_request *r) {
  rpc_call *c = calloc(1, sizeof *c);
  CHECK(c != NULL);
  c->arena = arena_create(CALL_ARENA_BYTES_MAX);
  CHECK(c->arena != NULL);
  c->start_us = clock_mono_us();
  c->server = r->server;
  rpc_server_call_created(c->server);
  c->method = r->method;
  c->method_name = r->method != NULL ? r->method->name : c->unknown_method;
  c->call = r->call;
  c->deadline = r->deadline;
  c->request_metadata = r->metadata;
  c->reason = "OK";
  atomic_init(&c->refs, 2);
  c->close_tag.on_complete = close_on_complete;
  r->call = NULL;
  grpc_metadata_array_init(&r->metadata);

  grpc_op op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
  op.data.recv_close_on_server.cancelled = &c->close_cancelled;
  start_batch(c, &op, 1, &c->close_tag);
  return c;
}

/* --- Sending -------------------------------------------------------------------------- */

/* Packs message into a byte buffer of its own (not the arena: streams outlive arenas). */
static grpc_byte_buffer *pack_message(const ProtobufCMessage *message) {
  size_t size = protobuf_c_message_get_packed_size(message);
  grpc_slice slice = grpc_slice_malloc(size);
  size_t packed = protobuf_c_message_pack(message, GRPC_SLICE_START_PTR(slice));
  CHECK(packed == size);
  grpc_byte_buffer *buffer = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return buffer;
}

static grpc_byte_buffer *copy_message(const uint8_t *bytes, size_t len) {
  grpc_slice slice = grpc_slice_from_copied_buffer((const char *)bytes, len);
  grpc_byte_buffer *buffer = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return buffer;
}

static void release_send_resources(rpc_call *c) {
  if (c->send_buffer != NULL) grpc_byte_buffer_destroy(c->send_buffer);
  c->send_buffer = NULL;
  for (size_t i = 0; i < c->trailing_count; i++) {
    grpc_slice_unref(c->trailing[i].key);
    grpc_slice_unref(c->trailing[i].value);
  }
  c->trailing_count = 0;
  grpc_slice_unref(c->status_details);
  c->status_details = grpc_empty_slice();
}

static void bidi_read_next(rpc_call *c);

static void send_on_complete(rpc_tag *tag, bool ok) {
  rpc_call *c = (rpc_call *)((char *)tag - offsetof(rpc_call, send_tag));
  send_kind kind = c->sending;
  c->sending = SEND_NONE;
  release_send_resources(c);
  switch (kind) {
    case SEND_FINAL:
      call_unref(c);
      return;
    case SEND_STREAM_MESSAGE:
      c->sent(c, ok, c->sent_argument);
      return;
    case SEND_BIDI_MESSAGE:
      if (ok) {
        /* Each bidi message gets a fresh arena, so a long stream stays bounded. */
        arena_destroy(c->arena);
        c->arena = arena_create(CALL_ARENA_BYTES_MAX);
        CHECK(c->arena != NULL);
        bidi_read_next(c);
      } else {
        rpc_stream_finish(c,
                          &(ccpay_error){.code = CCPAY_ERR_CANCELLED, .message = "stream broken"});
      }
      return;
    case SEND_NONE:
      break;
  }
  CHECK(!"send completion without a send in flight");
}

static grpc_slice status_bytes(int status, const ccpay_error *error) {
  /* google.rpc.Status { code, message, details: [ErrorInfo { reason, domain }] } */
  Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
  info.reason = (char *)ccpay_err_reason(error->code);
  info.domain = "ccpay.v1";
  uint8_t info_bytes[ERROR_DETAILS_BYTES_MAX / 2];
  size_t info_len = protobuf_c_message_get_packed_size(&info.base);
  CHECK(info_len <= sizeof info_bytes);
  protobuf_c_message_pack(&info.base, info_bytes);

  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "type.googleapis.com/google.rpc.ErrorInfo";
  any.value.data = info_bytes;
  any.value.len = info_len;
  Google__Protobuf__Any *details[] = {&any};
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  st.code = status;
  st.message = (char *)error->message;
  st.n_details = 1;
  st.details = details;
  grpc_slice slice = grpc_slice_malloc(protobuf_c_message_get_packed_size(&st.base));
  protobuf_c_message_pack(&st.base, GRPC_SLICE_START_PTR(slice));
  return slice;
}

/* Ends the call: an optional last message, then the status (OK when error is NULL). */
static void send_final(rpc_call *c, grpc_byte_buffer *message, const ccpay_error *error) {
  bool first_end = !atomic_exchange(&c->ended, true);
  CHECK(first_end); /* a handler ends its call exactly once */
  CHECK(c->sending == SEND_NONE);
  grpc_op ops[3];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  if (!c->initial_metadata_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->initial_metadata_sent = true;
  }
  if (message != NULL) {
    c->send_buffer = message;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = message;
  }
  c->status = error == NULL ? 0 : ccpay_err_grpc_status(error->code);
  c->reason = error == NULL ? "OK" : ccpay_err_reason(error->code);
  c->status_details = grpc_empty_slice();
  if (error != NULL) {
    c->status_details = grpc_slice_from_copied_string(error->message);
    c->trailing[0].key = grpc_slice_from_static_string("ccpay-reason");
    c->trailing[0].value = grpc_slice_from_static_string(c->reason);
    c->trailing[1].key = grpc_slice_from_static_string("grpc-status-details-bin");
    c->trailing[1].value = status_bytes(c->status, error);
    c->trailing_count = 2;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)c->status;
  ops[n].data.send_status_from_server.status_details = error == NULL ? NULL : &c->status_details;
  ops[n].data.send_status_from_server.trailing_metadata_count = c->trailing_count;
  ops[n++].data.send_status_from_server.trailing_metadata = c->trailing;
  c->sending = SEND_FINAL;
  c->send_tag.on_complete = send_on_complete;
  start_batch(c, ops, n, &c->send_tag);
}

static void send_message(rpc_call *c, grpc_byte_buffer *message, send_kind kind) {
  CHECK(c->sending == SEND_NONE);
  CHECK(!atomic_load(&c->ended));
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  if (!c->initial_metadata_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->initial_metadata_sent = true;
  }
  c->send_buffer = message;
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = message;
  c->sending = kind;
  c->send_tag.on_complete = send_on_complete;
  start_batch(c, ops, n, &c->send_tag);
}

void rpc_call_reply(rpc_call *c, const ProtobufCMessage *reply) {
  CHECK(c->method != NULL && c->method->kind == RPC_UNARY);
  CHECK(reply->descriptor == c->method->reply_descriptor);
  send_final(c, pack_message(reply), NULL);
}

void rpc_call_reply_packed(rpc_call *c, const uint8_t *bytes, size_t len) {
  CHECK(c->method != NULL && c->method->kind == RPC_UNARY);
  send_final(c, copy_message(bytes, len), NULL);
}

void rpc_call_fail(rpc_call *c, const ccpay_error *error) {
  CHECK(error != NULL && error->code != CCPAY_OK);
  send_final(c, NULL, error);
}

void rpc_stream_send(rpc_call *c, const ProtobufCMessage *message, rpc_sent_fn sent,
                     void *argument) {
  CHECK(c->method != NULL && c->method->kind == RPC_SERVER_STREAMING);
  CHECK(message->descriptor == c->method->reply_descriptor);
  c->sent = sent;
  c->sent_argument = argument;
  send_message(c, pack_message(message), SEND_STREAM_MESSAGE);
}

void rpc_stream_finish(rpc_call *c, const ccpay_error *error) {
  send_final(c, NULL, error != NULL && error->code != CCPAY_OK ? error : NULL);
}

/* --- Receiving ------------------------------------------------------------------------ */

/* Decodes buffer as the method's request into the call's arena. */
static ccpay_err decode_request(rpc_call *c, grpc_byte_buffer *buffer, ProtobufCMessage **out,
                                ccpay_error *error) {
  const ProtobufCMessageDescriptor *d = c->method->request_descriptor;
  if (buffer == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_MALFORMED_REQUEST, "request: no %s message was sent",
                           d->name);
  }
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, buffer)) {
    return ccpay_error_set(error, CCPAY_ERR_MALFORMED_REQUEST,
                           "request: the message could not be decompressed");
  }
  grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  ProtobufCAllocator allocator = arena_protobuf_allocator(c->arena);
  *out = protobuf_c_message_unpack(d, &allocator, GRPC_SLICE_LENGTH(slice),
                                   GRPC_SLICE_START_PTR(slice));
  /* protobuf-c would cut a string at a NUL byte: refuse it rather than act on less. */
  const char *field = NULL;
  rpc_wire_result strings = *out == NULL ? RPC_WIRE_CLEAN
                                         : rpc_wire_check_strings(d, GRPC_SLICE_START_PTR(slice),
                                                                  GRPC_SLICE_LENGTH(slice), &field);
  grpc_slice_unref(slice);
  if (strings == RPC_WIRE_NUL) {
    *out = NULL;
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s: a string must not contain a NUL character", field);
  }
  if (*out == NULL || strings != RPC_WIRE_CLEAN) {
    *out = NULL;
    return ccpay_error_set(error, CCPAY_ERR_MALFORMED_REQUEST,
                           "request: the bytes are not a valid %s message", d->name);
  }
  return CCPAY_OK;
}

static void bidi_on_message(rpc_tag *tag, bool ok) {
  rpc_call *c = (rpc_call *)((char *)tag - offsetof(rpc_call, recv_tag));
  grpc_byte_buffer *buffer = c->recv_buffer;
  c->recv_buffer = NULL;
  if (!ok) {
    ccpay_error gone = {.code = CCPAY_ERR_CANCELLED, .message = "the client went away"};
    rpc_stream_finish(c, &gone);
    return;
  }
  if (buffer == NULL) { /* the client half-closed: the conversation is over */
    rpc_stream_finish(c, NULL);
    return;
  }
  ccpay_error error;
  ccpay_error_clear(&error);
  ProtobufCMessage *request = NULL;
  ProtobufCMessage *reply = NULL;
  ccpay_err rc = decode_request(c, buffer, &request, &error);
  grpc_byte_buffer_destroy(buffer);
  if (rc == CCPAY_OK) rc = c->method->on_message(c, request, &reply, &error);
  if (rc != CCPAY_OK) {
    rpc_stream_finish(c, &error);
    return;
  }
  CHECK(reply != NULL && reply->descriptor == c->method->reply_descriptor);
  send_message(c, pack_message(reply), SEND_BIDI_MESSAGE);
}

static void bidi_read_next(rpc_call *c) {
  grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
  op.data.recv_message.recv_message = &c->recv_buffer;
  c->recv_tag.on_complete = bidi_on_message;
  start_batch(c, &op, 1, &c->recv_tag);
}

/* --- Starting ------------------------------------------------------------------------- */

static bool deadline_passed(const rpc_call *c) {
  return gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) <= 0;
}

/* The token of an `authorization: Bearer <token>` metadata entry, copied into out
 * (size bytes); NULL when there is none, or it is not of that form or too long. */
static const char *bearer_token(const grpc_metadata_array *metadata, char *out, size_t size) {
  static const char scheme[] = "bearer ";
  for (size_t i = 0; i < metadata->count; i++) {
    const grpc_metadata *m = &metadata->metadata[i];
    if (grpc_slice_str_cmp(m->key, "authorization") != 0) continue;
    size_t len = GRPC_SLICE_LENGTH(m->value);
    const char *value = (const char *)GRPC_SLICE_START_PTR(m->value);
    if (len <= sizeof scheme - 1 || len - (sizeof scheme - 1) >= size) return NULL;
    if (strncasecmp(value, scheme, sizeof scheme - 1) != 0) return NULL;
    len -= sizeof scheme - 1;
    memcpy(out, value + sizeof scheme - 1, len);
    out[len] = '\0';
    return out;
  }
  return NULL;
}

/* Authentication and the method's permission, before anything is decoded. */
static ccpay_err call_authorize(rpc_call *c, ccpay_error *error) {
  const char *permission = c->method->permission;
  char *peer = grpc_call_get_peer(c->call);
  if (peer != NULL) {
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    gpr_free(peer);
  }
  if (c->server->authenticate == NULL || permission == NULL) return CCPAY_OK;
  char token[TOKEN_HEADER_BYTES_MAX];
  rpc_auth_request request = {
      .method = c->method_name,
      .permission = permission,
      .bearer = bearer_token(&c->request_metadata, token, sizeof token),
      .peer = c->peer,
  };
  rpc_principal principal;
  memset(&principal, 0, sizeof principal);
  ccpay_err rc =
      c->server->authenticate(c->server->authenticate_context, &request, &principal, error);
  OPENSSL_cleanse(token, sizeof token);
  if (rc != CCPAY_OK) return rc;
  CHECK(principal.permissions != NULL && principal.agent_id[0] != '\0');
  c->principal = principal;
  if (!rpc_call_has_permission(c, permission)) {
    return ccpay_error_set(error, CCPAY_ERR_PERMISSION_DENIED,
                           "permission %s is needed for %s; role %s does not have it", permission,
                           c->method_name, principal.role);
  }
  return CCPAY_OK;
}

void rpc_call_start(rpc_request *r) {
  rpc_call *c = call_create(r);
  grpc_byte_buffer *payload = r->payload;
  r->payload = NULL;

  if (c->method->kind == RPC_BIDI_PER_MESSAGE) {
    CHECK(payload == NULL);
    bidi_read_next(c);
    return;
  }
  ccpay_error error;
  ccpay_error_clear(&error);
  ProtobufCMessage *request = NULL;
  ccpay_err rc = CCPAY_OK;
  if (deadline_passed(c)) {
    rc = ccpay_error_set(&error, CCPAY_ERR_DEADLINE_EXCEEDED,
                         "the deadline passed before the call could start");
  }
  if (rc == CCPAY_OK) rc = call_authorize(c, &error);
  if (rc == CCPAY_OK) rc = decode_request(c, payload, &request, &error);
  if (payload != NULL) grpc_byte_buffer_destroy(payload);
  if (rc != CCPAY_OK) {
    rpc_call_fail(c, &error);
    return;
  }
  c->method->handler(c, request);
}

void rpc_call_start_unimplemented(rpc_request *r) {
  rpc_call *c = call_create(r);
  /* The name is the client's: keep a bounded, printable copy for the log and message. */
  grpc_slice method = r->details.method;
  size_t len = GRPC_SLICE_LENGTH(method);
  if (len >= sizeof c->unknown_method) len = sizeof c->unknown_method - 1;
  for (size_t i = 0; i < len; i++) {
    char ch = (char)GRPC_SLICE_START_PTR(method)[i];
    c->unknown_method[i] = ch > 0x20 && ch < 0x7f ? ch : '?';
  }
  c->unknown_method[len] = '\0';
  grpc_call_details_destroy(&r->details);
  grpc_call_details_init(&r->details);
  ccpay_error error;
  ccpay_error_set(&error, CCPAY_ERR_UNIMPLEMENTED, "method %s is not served here", c->method_name);
  send_final(c, NULL, &error);
}

void rpc_call_on_cancel(rpc_call *c, rpc_call_fn cancelled, void *argument) {
  CHECK(atomic_load(&c->cancelled_fn) == NULL);
  c->cancelled_argument = argument; /* published by the atomic store below */
  atomic_store(&c->cancelled_fn, cancelled);
}

void rpc_call_on_free(rpc_call *c, rpc_call_fn freed, void *argument) {
  CHECK(c->freed_fn == NULL);
  c->freed_fn = freed;
  c->freed_argument = argument;
}

/* --- Accessors ------------------------------------------------------------------------ */

arena *rpc_call_arena(rpc_call *c) { return c->arena; }
void *rpc_call_context(const rpc_call *c) { return c->method->context; }
const char *rpc_call_method_name(const rpc_call *c) { return c->method_name; }

/* Without an authenticator every caller is anonymous and holds no right beyond calling
 * the method. */
const char *rpc_call_agent_id(const rpc_call *c) { return c->principal.agent_id; }
const char *rpc_call_role(const rpc_call *c) { return c->principal.role; }
const char *rpc_call_peer(const rpc_call *c) { return c->peer; }

bool rpc_call_has_permission(const rpc_call *c, const char *permission) {
  CHECK(permission != NULL);
  if (c->principal.permissions == NULL) return false;
  for (const char *const *p = c->principal.permissions; *p != NULL; p++) {
    if (strcmp(*p, permission) == 0) return true;
  }
  return false;
}

void rpc_call_set_request_id(rpc_call *c, const char *request_id) {
  size_t len = strnlen(request_id, REQUEST_ID_BYTES_MAX);
  memcpy(c->request_id, request_id, len);
  c->request_id[len] = '\0';
}

bool rpc_call_cancelled(rpc_call *c) { return atomic_load(&c->cancelled) || deadline_passed(c); }

int64_t rpc_call_remaining_ms(const rpc_call *c) {
  if (gpr_time_cmp(c->deadline, gpr_inf_future(c->deadline.clock_type)) == 0) return INT64_MAX;
  gpr_timespec left = gpr_time_sub(gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC),
                                   gpr_now(GPR_CLOCK_MONOTONIC));
  int64_t ms = (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
  return ms < 0 ? 0 : ms;
}
