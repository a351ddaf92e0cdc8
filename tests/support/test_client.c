#include "test_client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google/rpc/status.pb-c.h"

/* After the call's own deadline, how long to wait for the batch before cancelling it:
 * the status normally arrives right at the deadline, so this only bounds a stuck call. */
enum { PLUCK_GRACE_MS = 5000 };

enum { TEST_AUTHORIZATION_BYTES_MAX = 600 };

struct test_client {
  grpc_channel *channel;
  char authorization[TEST_AUTHORIZATION_BYTES_MAX]; /* "Bearer <token>"; "" for none */
};

void test_client_set_token(test_client *client, const char *token) {
  if (token == NULL || token[0] == '\0') {
    client->authorization[0] = '\0';
    return;
  }
  snprintf(client->authorization, sizeof client->authorization, "Bearer %s", token);
}

/* The metadata a call sends: the authorization, when the client has a token. */
static size_t call_metadata(const test_client *client, grpc_metadata *out) {
  if (client->authorization[0] == '\0') return 0;
  memset(out, 0, sizeof *out);
  out->key = grpc_slice_from_static_string("authorization");
  out->value = grpc_slice_from_static_string(client->authorization);
  return 1;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static gpr_timespec in_ms(int64_t ms) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static void copy_text(char *out, const void *bytes, size_t len) {
  if (len >= TEST_TEXT_BYTES_MAX) len = TEST_TEXT_BYTES_MAX - 1;
  memcpy(out, bytes, len);
  out[len] = '\0';
}

test_client *test_client_create(int port) {
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  return test_client_create_target(target);
}

test_client *test_client_create_target(const char *target) {
  grpc_init();
  test_client *client = calloc(1, sizeof *client);
  if (client == NULL) return NULL;
  grpc_channel_credentials *credentials = grpc_insecure_credentials_create();
  client->channel = grpc_channel_create(target, credentials, NULL);
  grpc_channel_credentials_release(credentials);
  return client;
}

void test_client_destroy(test_client *client) {
  if (client == NULL) return;
  grpc_channel_destroy(client->channel);
  free(client);
  grpc_shutdown();
}

void test_reply_clear(test_reply *out) {
  if (out->message != NULL) protobuf_c_message_free_unpacked(out->message, NULL);
  out->message = NULL;
}

/* Reads the google.rpc.Status in a grpc-status-details-bin trailer (already base64-decoded
 * by gRPC) and its first ErrorInfo. */
static void read_rich_status(grpc_slice value, test_reply *out) {
  Google__Rpc__Status *status =
      google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(value), GRPC_SLICE_START_PTR(value));
  if (status == NULL) return;
  out->has_rich_status = true;
  out->rich_code = status->code;
  copy_text(out->rich_message, status->message, strlen(status->message));
  for (size_t i = 0; i < status->n_details; i++) {
    const Google__Protobuf__Any *any = status->details[i];
    if (strcmp(any->type_url, "type.googleapis.com/google.rpc.ErrorInfo") != 0) continue;
    Google__Rpc__ErrorInfo *info =
        google__rpc__error_info__unpack(NULL, any->value.len, any->value.data);
    if (info == NULL) continue;
    copy_text(out->rich_reason, info->reason, strlen(info->reason));
    copy_text(out->rich_domain, info->domain, strlen(info->domain));
    google__rpc__error_info__free_unpacked(info, NULL);
    break;
  }
  google__rpc__status__free_unpacked(status, NULL);
}

static void read_trailers(const grpc_metadata_array *trailing, test_reply *out) {
  for (size_t i = 0; i < trailing->count; i++) {
    const grpc_metadata *m = &trailing->metadata[i];
    if (grpc_slice_str_cmp(m->key, "ccpay-reason") == 0) {
      copy_text(out->reason, GRPC_SLICE_START_PTR(m->value), GRPC_SLICE_LENGTH(m->value));
    } else if (grpc_slice_str_cmp(m->key, "grpc-status-details-bin") == 0) {
      read_rich_status(m->value, out);
    }
  }
}

static void read_reply(grpc_byte_buffer *buffer, const ProtobufCMessageDescriptor *descriptor,
                       test_reply *out) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, buffer)) {
    out->reply_undecodable = true;
    return;
  }
  grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  out->message = protobuf_c_message_unpack(descriptor, NULL, GRPC_SLICE_LENGTH(slice),
                                           GRPC_SLICE_START_PTR(slice));
  out->reply_undecodable = out->message == NULL;
  grpc_slice_unref(slice);
}

/* Waits for the batch's tag. A call that outlives its deadline by PLUCK_GRACE_MS is
 * cancelled, which completes the batch at once: a test never hangs on a stuck server. */
static void wait_batch(grpc_completion_queue *queue, grpc_call *call, void *tag, int timeout_ms) {
  grpc_event event =
      grpc_completion_queue_pluck(queue, tag, in_ms(timeout_ms + PLUCK_GRACE_MS), NULL);
  if (event.type == GRPC_QUEUE_TIMEOUT) {
    fprintf(stderr, "test_client: call stuck past its deadline; cancelling it\n");
    grpc_call_cancel(call, NULL);
    event = grpc_completion_queue_pluck(queue, tag, in_ms(PLUCK_GRACE_MS), NULL);
  }
  if (event.type != GRPC_OP_COMPLETE) {
    fprintf(stderr, "test_client: the batch never completed\n");
    abort();
  }
}

static void start_or_abort(grpc_call *call, const grpc_op *ops, size_t n, void *tag) {
  grpc_call_error rc = grpc_call_start_batch(call, ops, n, tag, NULL);
  if (rc != GRPC_CALL_OK) {
    fprintf(stderr, "test_client: grpc_call_start_batch failed: %d\n", rc);
    abort(); /* a misuse of the batch API: a bug in this client */
  }
}

/* One unary call: the six client ops in a single batch. */
static void run_call(test_client *client, const char *method, grpc_byte_buffer *request,
                     const ProtobufCMessageDescriptor *reply_descriptor, int timeout_ms,
                     test_reply *out) {
  grpc_completion_queue *queue = grpc_completion_queue_create_for_pluck(NULL);
  grpc_slice method_slice = grpc_slice_from_copied_string(method);
  grpc_call *call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, queue,
                                             method_slice, NULL, in_ms(timeout_ms), NULL);
  grpc_slice_unref(method_slice);

  grpc_metadata_array initial, trailing;
  grpc_metadata_array_init(&initial);
  grpc_metadata_array_init(&trailing);
  grpc_byte_buffer *reply = NULL;
  grpc_slice details = grpc_empty_slice();
  grpc_metadata metadata;
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = call_metadata(client, &metadata);
  ops[0].data.send_initial_metadata.metadata = &metadata;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = request;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &reply;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
  ops[5].data.recv_status_on_client.status = &out->status;
  ops[5].data.recv_status_on_client.status_details = &details;

  int64_t start_ms = now_ms();
  start_or_abort(call, ops, 6, out);
  wait_batch(queue, call, out, timeout_ms);
  out->elapsed_ms = now_ms() - start_ms;

  copy_text(out->details, GRPC_SLICE_START_PTR(details), GRPC_SLICE_LENGTH(details));
  read_trailers(&trailing, out);
  if (reply != NULL && out->status == GRPC_STATUS_OK) read_reply(reply, reply_descriptor, out);

  if (reply != NULL) grpc_byte_buffer_destroy(reply);
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&initial);
  grpc_metadata_array_destroy(&trailing);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(queue);
  while (grpc_completion_queue_pluck(queue, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(queue);
}

grpc_status_code test_client_call_raw(test_client *client, const char *method, const uint8_t *bytes,
                                      size_t len,
                                      const ProtobufCMessageDescriptor *reply_descriptor,
                                      int timeout_ms, test_reply *out) {
  memset(out, 0, sizeof *out);
  if (timeout_ms <= 0) timeout_ms = TEST_CALL_TIMEOUT_MS;
  grpc_slice slice = grpc_slice_from_copied_buffer((const char *)bytes, len);
  grpc_byte_buffer *request = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  run_call(client, method, request, reply_descriptor, timeout_ms, out);
  grpc_byte_buffer_destroy(request);
  return out->status;
}

grpc_status_code test_client_call_raw_expired(test_client *client, const char *method,
                                              const uint8_t *bytes, size_t len,
                                              const ProtobufCMessageDescriptor *reply_descriptor,
                                              test_reply *out) {
  enum { EXPIRED_MS = -1000 };
  memset(out, 0, sizeof *out);
  grpc_slice slice = grpc_slice_from_copied_buffer((const char *)bytes, len);
  grpc_byte_buffer *request = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  run_call(client, method, request, reply_descriptor, EXPIRED_MS, out);
  grpc_byte_buffer_destroy(request);
  return out->status;
}

grpc_status_code test_client_call(test_client *client, const char *method,
                                  const ProtobufCMessage *request,
                                  const ProtobufCMessageDescriptor *reply_descriptor,
                                  int timeout_ms, test_reply *out) {
  size_t len = protobuf_c_message_get_packed_size(request);
  uint8_t *bytes = malloc(len == 0 ? 1 : len);
  if (bytes == NULL) abort();
  protobuf_c_message_pack(request, bytes);
  grpc_status_code status =
      test_client_call_raw(client, method, bytes, len, reply_descriptor, timeout_ms, out);
  free(bytes);
  return status;
}

/* The first way r differs from what is expected; NULL when it matches. */
static const char *reply_mismatch(const test_reply *r, grpc_status_code status, const char *reason,
                                  const char *text) {
  if (r->status != status) return "status";
  if (text != NULL && strstr(r->details, text) == NULL) return "details text";
  if (status == GRPC_STATUS_OK) {
    if (r->message == NULL) return "reply message (missing or undecodable)";
    return r->reason[0] != '\0' ? "ccpay-reason on a success" : NULL;
  }
  if (reason == NULL) return NULL;
  if (strcmp(r->reason, reason) != 0) return "ccpay-reason";
  if (!r->has_rich_status) return "grpc-status-details-bin (missing or undecodable)";
  if (r->rich_code != (int)status) return "grpc-status-details-bin code";
  if (strcmp(r->rich_message, r->details) != 0) return "grpc-status-details-bin message";
  if (strcmp(r->rich_reason, reason) != 0) return "ErrorInfo.reason";
  return strcmp(r->rich_domain, "ccpay.v1") != 0 ? "ErrorInfo.domain" : NULL;
}

bool test_reply_check(const test_reply *r, grpc_status_code status, const char *reason,
                      const char *text, char *why, size_t why_size) {
  const char *mismatch = reply_mismatch(r, status, reason, text);
  if (mismatch == NULL) return true;
  snprintf(why, why_size,
           "unexpected %s: expected %s reason=%s text=\"%s\"; got %s details=\"%s\" reason=%s "
           "rich=%s(code %d, message \"%s\", ErrorInfo %s/%s) elapsed_ms=%lld",
           mismatch, test_status_name(status), reason != NULL ? reason : "(any)",
           text != NULL ? text : "(any)", test_status_name(r->status), r->details,
           r->reason[0] != '\0' ? r->reason : "(none)", r->has_rich_status ? "yes" : "no",
           r->rich_code, r->rich_message, r->rich_reason, r->rich_domain, (long long)r->elapsed_ms);
  return false;
}

const char *test_status_name(grpc_status_code status) {
  static const char *const names[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if ((unsigned)status < sizeof names / sizeof names[0]) return names[status];
  return "?";
}

/* --- Server-streaming calls ----------------------------------------------------------- */

/* Three batches, each with its own tag (the address of a field): the request with the
 * half-close and the initial metadata; the status; and at most one RECV_MESSAGE. */
struct test_stream {
  grpc_completion_queue *queue;
  grpc_call *call;
  const ProtobufCMessageDescriptor *descriptor;
  grpc_byte_buffer *request;
  grpc_metadata metadata; /* the authorization sent, if any */
  grpc_metadata_array initial, trailing;
  grpc_slice details;
  grpc_status_code status;
  grpc_byte_buffer *received;
  bool read_posted; /* a RECV_MESSAGE batch is in flight */
  bool ended;       /* a read found the end of the stream */
  int64_t start_ms;
  char send_tag, recv_tag, status_tag;
};

/* True when the batch tagged tag completed within wait_ms. */
static bool pluck_within(grpc_completion_queue *queue, void *tag, int64_t wait_ms) {
  if (wait_ms < 0) wait_ms = 0;
  grpc_event event = grpc_completion_queue_pluck(queue, tag, in_ms(wait_ms), NULL);
  return event.type == GRPC_OP_COMPLETE;
}

/* For a batch that must complete now (the call is over or cancelled). */
static void pluck_or_abort(test_stream *s, void *tag) {
  if (pluck_within(s->queue, tag, PLUCK_GRACE_MS)) return;
  fprintf(stderr, "test_client: a stream batch never completed\n");
  abort();
}

test_stream *test_stream_start(test_client *client, const char *method,
                               const ProtobufCMessage *request,
                               const ProtobufCMessageDescriptor *reply_descriptor, int timeout_ms) {
  test_stream *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  if (timeout_ms <= 0) timeout_ms = TEST_CALL_TIMEOUT_MS;
  s->descriptor = reply_descriptor;
  s->start_ms = now_ms();
  s->queue = grpc_completion_queue_create_for_pluck(NULL);
  grpc_slice method_slice = grpc_slice_from_copied_string(method);
  s->call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->queue,
                                     method_slice, NULL, in_ms(timeout_ms), NULL);
  grpc_slice_unref(method_slice);

  size_t len = protobuf_c_message_get_packed_size(request);
  grpc_slice bytes = grpc_slice_malloc(len);
  protobuf_c_message_pack(request, GRPC_SLICE_START_PTR(bytes));
  s->request = grpc_raw_byte_buffer_create(&bytes, 1);
  grpc_slice_unref(bytes);
  grpc_metadata_array_init(&s->initial);
  grpc_metadata_array_init(&s->trailing);
  s->details = grpc_empty_slice();

  grpc_op send[4];
  memset(send, 0, sizeof send);
  send[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  send[0].data.send_initial_metadata.count = call_metadata(client, &s->metadata);
  send[0].data.send_initial_metadata.metadata = &s->metadata;
  send[1].op = GRPC_OP_SEND_MESSAGE;
  send[1].data.send_message.send_message = s->request;
  send[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  send[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  send[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial;
  start_or_abort(s->call, send, 4, &s->send_tag);

  grpc_op status = {.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
  status.data.recv_status_on_client.trailing_metadata = &s->trailing;
  status.data.recv_status_on_client.status = &s->status;
  status.data.recv_status_on_client.status_details = &s->details;
  start_or_abort(s->call, &status, 1, &s->status_tag);
  return s;
}

test_stream_event test_stream_read(test_stream *s, int wait_ms, ProtobufCMessage **out) {
  *out = NULL;
  if (s->ended) return TEST_STREAM_END;
  if (!s->read_posted) {
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &s->received;
    start_or_abort(s->call, &op, 1, &s->recv_tag);
    s->read_posted = true;
  }
  if (!pluck_within(s->queue, &s->recv_tag, wait_ms)) return TEST_STREAM_TIMEOUT;
  s->read_posted = false;
  if (s->received == NULL) { /* no message: the stream is over */
    s->ended = true;
    return TEST_STREAM_END;
  }
  test_reply decoded = {0};
  read_reply(s->received, s->descriptor, &decoded);
  grpc_byte_buffer_destroy(s->received);
  s->received = NULL;
  *out = decoded.message;
  return decoded.message != NULL ? TEST_STREAM_MESSAGE : TEST_STREAM_UNDECODABLE;
}

void test_stream_cancel(test_stream *s) { grpc_call_cancel(s->call, NULL); }

grpc_status_code test_stream_finish(test_stream *s, int wait_ms, test_reply *out) {
  memset(out, 0, sizeof *out);
  int64_t deadline_ms = now_ms() + wait_ms;
  size_t discarded = 0;
  while (!s->ended && now_ms() < deadline_ms) {
    ProtobufCMessage *message;
    test_stream_event event = test_stream_read(s, (int)(deadline_ms - now_ms()), &message);
    if (event == TEST_STREAM_TIMEOUT) break;
    if (message != NULL) protobuf_c_message_free_unpacked(message, NULL);
    discarded += event != TEST_STREAM_END;
  }
  if (!pluck_within(s->queue, &s->status_tag, deadline_ms - now_ms())) {
    fprintf(stderr, "test_stream: no status within %d ms; cancelling the call\n", wait_ms);
    grpc_call_cancel(s->call, NULL);
    pluck_or_abort(s, &s->status_tag);
  }
  out->status = s->status;
  out->elapsed_ms = now_ms() - s->start_ms;
  if (s->read_posted) pluck_or_abort(s, &s->recv_tag);
  if (s->received != NULL) grpc_byte_buffer_destroy(s->received);
  pluck_or_abort(s, &s->send_tag);
  if (discarded > 0) fprintf(stderr, "test_stream: %zu unread messages discarded\n", discarded);

  copy_text(out->details, GRPC_SLICE_START_PTR(s->details), GRPC_SLICE_LENGTH(s->details));
  read_trailers(&s->trailing, out);
  grpc_slice_unref(s->details);
  grpc_metadata_array_destroy(&s->initial);
  grpc_metadata_array_destroy(&s->trailing);
  grpc_byte_buffer_destroy(s->request);
  grpc_call_unref(s->call);
  grpc_completion_queue_shutdown(s->queue);
  while (
      grpc_completion_queue_pluck(s->queue, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
      GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(s->queue);
  free(s);
  return out->status;
}

rid next_rid(const char *what) {
  static atomic_int counter;
  rid r;
  snprintf(r.text, sizeof r.text, "%s-%d", what, atomic_fetch_add(&counter, 1) + 1);
  return r;
}
