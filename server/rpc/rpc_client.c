#include "rpc_client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"

struct rpc_channel {
  grpc_channel *channel;
};

static gpr_timespec in_ms(int64_t ms) {
  if (ms < 0) ms = 0;
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static int64_t now_ms(void) { return clock_mono_us() / 1000; }

static void copy_text(char *out, size_t size, const void *bytes, size_t len) {
  if (len >= size) len = size - 1;
  memcpy(out, bytes, len);
  out[len] = '\0';
}

ccpay_err rpc_channel_open(const char *target, rpc_channel **out, ccpay_error *error) {
  *out = NULL;
  if (target == NULL || target[0] == '\0' || strlen(target) >= RPC_CLIENT_TARGET_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "target: empty or longer than %d bytes",
                           RPC_CLIENT_TARGET_BYTES_MAX - 1);
  }
  rpc_channel *c = calloc(1, sizeof *c);
  if (c == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  grpc_init();
  /* The peer is a local process restarted by a supervisor: reconnect quickly, and never
   * let the channel go idle (an idle channel would make the next call wait to connect). */
  grpc_arg args[] = {
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
       .value.integer = RPC_CLIENT_RECONNECT_BACKOFF_MS_MIN},
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
       .value.integer = RPC_CLIENT_RECONNECT_BACKOFF_MS_MIN},
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
       .value.integer = RPC_CLIENT_RECONNECT_BACKOFF_MS_MAX},
      {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, .value.integer = INT_MAX},
  };
  grpc_channel_args channel_args = {.num_args = sizeof args / sizeof args[0], .args = args};
  grpc_channel_credentials *credentials = grpc_insecure_credentials_create();
  c->channel = grpc_channel_create(target, credentials, &channel_args);
  grpc_channel_credentials_release(credentials);
  if (c->channel == NULL) {
    free(c);
    grpc_shutdown();
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "cannot create a channel to %s", target);
  }
  *out = c;
  return CCPAY_OK;
}

void rpc_channel_close(rpc_channel *c) {
  if (c == NULL) return;
  grpc_channel_destroy(c->channel);
  free(c);
  grpc_shutdown();
}

bool rpc_channel_ready(rpc_channel *c) {
  return grpc_channel_check_connectivity_state(c->channel, 1) == GRPC_CHANNEL_READY;
}

/* Drains and destroys a pluck queue whose every batch has completed. */
static void queue_destroy(grpc_completion_queue *queue) {
  grpc_completion_queue_shutdown(queue);
  while (grpc_completion_queue_pluck(queue, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(queue);
}

/* Waits on queue until the channel is READY or until_ms (monotonic) passes. Only IDLE
 * and CONNECTING are worth waiting for: a channel in TRANSIENT_FAILURE is backing off
 * from a refused connection, and a fail-fast caller wants to hear that now. */
static bool wait_ready_on(rpc_channel *c, grpc_completion_queue *queue, int64_t until_ms,
                          bool wait_transient_failure) {
  grpc_connectivity_state state = grpc_channel_check_connectivity_state(c->channel, 1);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN && now_ms() < until_ms) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !wait_transient_failure) return false;
    char tag;
    grpc_channel_watch_connectivity_state(c->channel, state, in_ms(until_ms - now_ms()), queue,
                                          &tag);
    grpc_event event =
        grpc_completion_queue_pluck(queue, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    CHECK(event.type == GRPC_OP_COMPLETE);
    state = grpc_channel_check_connectivity_state(c->channel, 1);
  }
  return state == GRPC_CHANNEL_READY;
}

bool rpc_channel_wait_ready(rpc_channel *c, int64_t wait_ms) {
  grpc_completion_queue *queue = grpc_completion_queue_create_for_pluck(NULL);
  bool ready = wait_ready_on(c, queue, now_ms() + wait_ms, true);
  queue_destroy(queue);
  return ready;
}

static void read_trailers(const grpc_metadata_array *trailing, rpc_client_result *out) {
  for (size_t i = 0; i < trailing->count; i++) {
    const grpc_metadata *m = &trailing->metadata[i];
    if (grpc_slice_str_cmp(m->key, "ccpay-reason") == 0) {
      copy_text(out->reason, sizeof out->reason, GRPC_SLICE_START_PTR(m->value),
                GRPC_SLICE_LENGTH(m->value));
    }
  }
}

/* Decodes the reply into the arena; NULL when it does not decode or fit. */
static ProtobufCMessage *decode_reply(grpc_byte_buffer *buffer,
                                      const ProtobufCMessageDescriptor *descriptor, arena *a) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, buffer)) return NULL;
  grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  ProtobufCAllocator allocator = arena_protobuf_allocator(a);
  ProtobufCMessage *message = protobuf_c_message_unpack(
      descriptor, &allocator, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
  grpc_slice_unref(slice);
  return message;
}

static grpc_byte_buffer *pack_request(const ProtobufCMessage *request) {
  size_t len = protobuf_c_message_get_packed_size(request);
  grpc_slice slice = grpc_slice_malloc(len);
  size_t packed = protobuf_c_message_pack(request, GRPC_SLICE_START_PTR(slice));
  CHECK(packed == len);
  grpc_byte_buffer *buffer = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return buffer;
}

/* The six client ops of a unary call in one batch; waits for it within the deadline
 * plus a grace, cancelling a call the transport failed to end in time. */
static void run_call(rpc_channel *c, grpc_completion_queue *queue, const char *method,
                     grpc_byte_buffer *request, int64_t deadline_ms, grpc_byte_buffer **reply,
                     rpc_client_result *out) {
  grpc_slice method_slice = grpc_slice_from_copied_string(method);
  grpc_call *call =
      grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, queue, method_slice, NULL,
                               in_ms(deadline_ms - now_ms()), NULL);
  grpc_slice_unref(method_slice);
  CHECK(call != NULL);
  grpc_metadata_array initial, trailing;
  grpc_metadata_array_init(&initial);
  grpc_metadata_array_init(&trailing);
  grpc_status_code status = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = request;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = reply;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
  ops[5].data.recv_status_on_client.status = &status;
  ops[5].data.recv_status_on_client.status_details = &details;
  char tag;
  CHECK(grpc_call_start_batch(call, ops, 6, &tag, NULL) == GRPC_CALL_OK);
  grpc_event event = grpc_completion_queue_pluck(
      queue, &tag, in_ms(deadline_ms - now_ms() + RPC_CLIENT_GRACE_MS), NULL);
  if (event.type == GRPC_QUEUE_TIMEOUT) {
    /* The deadline should have ended it; cancelling completes the batch at once. */
    grpc_call_cancel(call, NULL);
    event = grpc_completion_queue_pluck(queue, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  }
  CHECK(event.type == GRPC_OP_COMPLETE);
  out->status = (int)status;
  copy_text(out->message, sizeof out->message, GRPC_SLICE_START_PTR(details),
            GRPC_SLICE_LENGTH(details));
  read_trailers(&trailing, out);
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&initial);
  grpc_metadata_array_destroy(&trailing);
  grpc_call_unref(call);
}

bool rpc_client_call(rpc_channel *c, const char *method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *reply_descriptor, int64_t timeout_ms,
                     arena *a, ProtobufCMessage **reply, rpc_client_result *result) {
  CHECK(c != NULL && method != NULL && request != NULL && reply_descriptor != NULL);
  CHECK(timeout_ms > 0 && a != NULL && reply != NULL && result != NULL);
  memset(result, 0, sizeof *result);
  *reply = NULL;
  int64_t start_ms = now_ms();
  int64_t deadline_ms = start_ms + timeout_ms;
  grpc_completion_queue *queue = grpc_completion_queue_create_for_pluck(NULL);
  int64_t connect_until_ms = start_ms + RPC_CLIENT_CONNECT_WAIT_MS;
  if (connect_until_ms > deadline_ms) connect_until_ms = deadline_ms;
  if (!wait_ready_on(c, queue, connect_until_ms, false)) {
    queue_destroy(queue);
    result->status = GRPC_STATUS_UNAVAILABLE;
    result->sent = false;
    snprintf(result->message, sizeof result->message, "not connected");
    result->elapsed_ms = now_ms() - start_ms;
    return false;
  }
  result->sent = true;
  grpc_byte_buffer *request_buffer = pack_request(request);
  grpc_byte_buffer *reply_buffer = NULL;
  run_call(c, queue, method, request_buffer, deadline_ms, &reply_buffer, result);
  grpc_byte_buffer_destroy(request_buffer);
  queue_destroy(queue);
  if (result->status == GRPC_STATUS_OK) {
    *reply = reply_buffer != NULL ? decode_reply(reply_buffer, reply_descriptor, a) : NULL;
    if (*reply == NULL) {
      result->status = GRPC_STATUS_INTERNAL;
      result->reply_undecodable = true;
      snprintf(result->message, sizeof result->message,
               "the reply is not a valid %s message (or does not fit the arena)",
               reply_descriptor->name);
    }
  }
  if (reply_buffer != NULL) grpc_byte_buffer_destroy(reply_buffer);
  result->elapsed_ms = now_ms() - start_ms;
  return result->status == GRPC_STATUS_OK;
}
