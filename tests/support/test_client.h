/* A small gRPC client for integration tests, on the gRPC C core: unary calls, and
 * server-streaming calls (test_stream, at the end).
 *
 * One channel per test_client (plaintext, loopback); one call is one batch on its own
 * pluck completion queue, with a deadline, so calls are independent and a client may be
 * shared by threads. Every call returns what a test needs to check an outcome: the
 * status code, the details text, the `ccpay-reason` trailer, the google.rpc.Status
 * decoded from `grpc-status-details-bin` (code, message, ErrorInfo reason and domain),
 * and the reply decoded with protobuf-c. */
#ifndef CCPAY_TESTS_SUPPORT_TEST_CLIENT_H
#define CCPAY_TESTS_SUPPORT_TEST_CLIENT_H

#include <grpc/status.h> /* grpc_status_code only: no channel API leaks into tests */
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  TEST_CALL_TIMEOUT_MS = 10000, /* default deadline of a call */
  TEST_TEXT_BYTES_MAX = 512,    /* longest details / reason kept (longer is truncated) */
};

typedef struct test_client test_client;

typedef struct test_reply {
  grpc_status_code status;
  char details[TEST_TEXT_BYTES_MAX]; /* the status message */
  char reason[TEST_TEXT_BYTES_MAX];  /* the ccpay-reason trailer; "" when absent */
  /* From grpc-status-details-bin, when the trailer was present and decoded. */
  bool has_rich_status;
  int rich_code;
  char rich_message[TEST_TEXT_BYTES_MAX];
  char rich_reason[TEST_TEXT_BYTES_MAX]; /* ErrorInfo.reason; "" when no ErrorInfo */
  char rich_domain[TEST_TEXT_BYTES_MAX];
  /* The reply decoded as the caller's descriptor (status OK and a message arrived);
   * NULL otherwise, including when the bytes did not decode (reply_undecodable). */
  ProtobufCMessage *message;
  bool reply_undecodable;
  int64_t elapsed_ms; /* from starting the call to its status */
} test_reply;

/* Connects lazily to 127.0.0.1:port (calls grpc_init). NULL only if out of memory. */
test_client *test_client_create(int port);

/* The same for any gRPC target, e.g. "unix:/tmp/x/stripe.sock" (an adapter's socket). */
test_client *test_client_create_target(const char *target);

/* Sends `authorization: Bearer <token>` with every later call and stream of client
 * (copied; NULL or "" sends none). The fixtures set an admin token, so tests that do not
 * think about authentication still pass it. */
void test_client_set_token(test_client *client, const char *token);

/* Closes the channel (calls grpc_shutdown). No call may be in flight. */
void test_client_destroy(test_client *client);

/* Sends request to method ("/pkg.Service/Method") and waits for the status, at most
 * timeout_ms (0: TEST_CALL_TIMEOUT_MS) plus a bounded grace period; the reply is
 * decoded as reply_descriptor. Fills *out (release it with test_reply_clear) and
 * returns out->status. */
grpc_status_code test_client_call(test_client *client, const char *method,
                                  const ProtobufCMessage *request,
                                  const ProtobufCMessageDescriptor *reply_descriptor,
                                  int timeout_ms, test_reply *out);

/* The same with request bytes sent as they are (e.g. bytes that do not decode). */
grpc_status_code test_client_call_raw(test_client *client, const char *method, const uint8_t *bytes,
                                      size_t len,
                                      const ProtobufCMessageDescriptor *reply_descriptor,
                                      int timeout_ms, test_reply *out);

/* The same with a deadline that passed a second before the call starts: the call must end
 * DEADLINE_EXCEEDED, whoever notices first. */
grpc_status_code test_client_call_raw_expired(test_client *client, const char *method,
                                              const uint8_t *bytes, size_t len,
                                              const ProtobufCMessageDescriptor *reply_descriptor,
                                              test_reply *out);

/* A request_id never used before in this process: "what-N". */
typedef struct rid {
  char text[48];
} rid;
rid next_rid(const char *what);

/* Frees out->message; the rest of *out stays readable. */
void test_reply_clear(test_reply *out);

/* Checks how a call ended. For OK: a decoded reply and no ccpay-reason. For an error with
 * reason non-NULL: the status, ccpay-reason == reason, and grpc-status-details-bin
 * decoding to the same code and message with an ErrorInfo {reason, "ccpay.v1"}; with
 * reason NULL (errors made by gRPC itself, e.g. UNAVAILABLE) only the status. text, when
 * non-NULL, must occur in the details. Returns false with why (a readable account of the
 * whole reply) filled when anything differs. */
bool test_reply_check(const test_reply *r, grpc_status_code status, const char *reason,
                      const char *text, char *why, size_t why_size);

/* The name of a status code ("INVALID_ARGUMENT"), for failure messages. */
const char *test_status_name(grpc_status_code status);

/* --- Server-streaming calls ----------------------------------------------------------
 *
 * A test_stream is one server-streaming call on its own completion queue: start it (the
 * request is sent and the client half-closes at once), read the messages one at a time,
 * each read with its own bounded wait, cancel it if the test wants to, and finish it to
 * get the status. One thread drives one stream; streams and unary calls of one client are
 * independent. Every stream must be finished before its client is destroyed. */
typedef struct test_stream test_stream;

typedef enum test_stream_event {
  TEST_STREAM_MESSAGE, /* *out holds the next message (free: protobuf_c_message_free_unpacked) */
  TEST_STREAM_END,     /* the stream ended (server status, cancel or deadline): finish it */
  TEST_STREAM_TIMEOUT, /* nothing within wait_ms; the read stays posted and the next
                          test_stream_read goes on waiting for the same message */
  TEST_STREAM_UNDECODABLE, /* a message arrived that does not decode as the descriptor */
} test_stream_event;

/* Starts a call of method with request; its deadline is timeout_ms (0: TEST_CALL_TIMEOUT_MS)
 * from now. Messages are decoded as reply_descriptor. NULL only if out of memory. */
test_stream *test_stream_start(test_client *client, const char *method,
                               const ProtobufCMessage *request,
                               const ProtobufCMessageDescriptor *reply_descriptor, int timeout_ms);

/* Waits at most wait_ms for the next message. *out is NULL unless TEST_STREAM_MESSAGE. */
test_stream_event test_stream_read(test_stream *stream, int wait_ms, ProtobufCMessage **out);

/* Cancels the call (grpc_call_cancel): pending and later reads end, and the status is
 * CANCELLED unless the server's status was already in. */
void test_stream_cancel(test_stream *stream);

/* Ends the stream: discards the messages not read yet, waits at most wait_ms for the
 * status (if it does not come, cancels the call and says so on stderr), fills *out as
 * test_client_call does, and frees the stream. Returns out->status. out->message is
 * always NULL, so test_reply_check suits error ends only: check an OK end by its status.
 * out->elapsed_ms counts from test_stream_start. */
grpc_status_code test_stream_finish(test_stream *stream, int wait_ms, test_reply *out);

#endif
