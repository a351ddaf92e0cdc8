/* ccpay.v1.LedgerService/StreamEntries against the real ccpayd: followers started before
 * a burst of concurrent invoices see every entry exactly once and in order; a follower
 * resumed from the last sequence it saw misses nothing and repeats nothing; ListEntries
 * pages through the same entries; a replay without follow ends OK; a cancelled follower
 * ends at once; and a graceful stop ends a parked follower with UNAVAILABLE /
 * SHUTTING_DOWN long before the drain runs out. Each test runs its own ccpayd on a fresh
 * data directory, so sequences start at 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpayd_fixture.h"
#include "order_calls.h"
#include "test_client.h"

#define STREAM_ENTRIES "/ccpay.v1.LedgerService/StreamEntries"

enum {
  BURST_THREADS = 4,
  BURST_INVOICES_PER_THREAD = 10,
  BURST_ENTRIES = BURST_THREADS * BURST_INVOICES_PER_THREAD,
  RESUME_AFTER = 20,          /* the first follower stops here; the second resumes */
  STREAM_DEADLINE_MS = 60000, /* a follower's own deadline: longer than any test */
  ENTRY_WAIT_MS = 10000,      /* for one expected entry */
  QUIET_MS = 300,             /* nothing arrives in this long: the follower is parked */
  PROMPT_MS = 2000,           /* "promptly": far below the server's 5 s drain */
  FINISH_WAIT_MS = 5000,
  LOG_POLL_MS = 20,
  LIST_PAGE_SIZE = 7, /* pages that do not divide the entries evenly */
};

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

/* --- Orders to invoice ---------------------------------------------------------------- */

/* A customer and its submitted orders, each with one untaxed line of 2 units. */
typedef struct account_orders {
  char customer[TEST_ID_BYTES];
  char orders[BURST_INVOICES_PER_THREAD][TEST_ID_BYTES];
  size_t count;
} account_orders;

static const void *ok(test_reply *r) {
  assert_reply(r, GRPC_STATUS_OK, NULL, NULL);
  return r->message;
}

static void prepare_orders(test_client *client, int index, size_t count, account_orders *out) {
  char request_id[48];
  snprintf(request_id, sizeof request_id, "customer-%d", index);
  test_reply r;
  call_create_customer(client, request_id, "Stream Customer", "USD", 30, &r);
  snprintf(out->customer, TEST_ID_BYTES, "%s", ((const Ccpay__V1__Customer *)ok(&r))->id);
  test_reply_clear(&r);
  out->count = count;
  for (size_t i = 0; i < count; i++) {
    order_draft d;
    order_draft_init(&d, out->customer, "USD");
    order_draft_line(&d, "STREAMED", 2, 1000 + (int64_t)i, 0, 0);
    snprintf(request_id, sizeof request_id, "order-%d-%zu", index, i);
    call_create_order(client, request_id, &d, &r);
    snprintf(out->orders[i], TEST_ID_BYTES, "%s", ((const Ccpay__V1__Order *)ok(&r))->id);
    test_reply_clear(&r);
    snprintf(request_id, sizeof request_id, "submit-%d-%zu", index, i);
    call_submit_order(client, request_id, out->orders[i], &r);
    assert_non_null(ok(&r));
    test_reply_clear(&r);
  }
}

/* Invoices the whole order (line 1, 2 units); the entry's sequence goes to *sequence.
 * Returns false with *failure filled when the call failed (for use off the test's
 * thread, where cmocka cannot assert). */
static bool invoice_all(test_client *client, const char *order_id, int64_t *sequence,
                        test_reply *failure) {
  char request_id[64];
  snprintf(request_id, sizeof request_id, "invoice-%s", order_id);
  static const ship_spec all[] = {{1, 2}};
  test_reply r;
  call_invoice_order(client, request_id, order_id, all, 1, &r);
  if (r.status != GRPC_STATUS_OK || r.message == NULL) {
    *failure = r;
    return false;
  }
  *sequence = REPLY_AS(Ccpay__V1__InvoiceOrderResponse, &r)->invoice->entry_sequence;
  test_reply_clear(&r);
  return true;
}

/* invoice_all on the test's thread: the entry must be sequence. */
static void invoice_or_fail(test_client *client, const char *order_id, int64_t sequence) {
  int64_t got;
  test_reply failure;
  if (!invoice_all(client, order_id, &got, &failure)) {
    assert_reply(&failure, GRPC_STATUS_OK, NULL, NULL);
  }
  assert_int_equal(got, sequence);
}

typedef struct burst_worker {
  test_client *client;
  const account_orders *orders;
  int64_t sequences[BURST_INVOICES_PER_THREAD]; /* each invoice's entry */
  test_reply failure;
  bool failed;
} burst_worker;

static void *burst_main(void *argument) {
  burst_worker *w = argument;
  for (size_t i = 0; i < w->orders->count && !w->failed; i++) {
    w->failed = !invoice_all(w->client, w->orders->orders[i], &w->sequences[i], &w->failure);
  }
  return NULL;
}

/* --- Followers ------------------------------------------------------------------------ */

static test_stream *follow_from(test_client *client, int64_t after_sequence, bool follow) {
  Ccpay__V1__StreamEntriesRequest request = CCPAY__V1__STREAM_ENTRIES_REQUEST__INIT;
  request.after_sequence = after_sequence;
  request.follow = follow;
  test_stream *s = test_stream_start(client, STREAM_ENTRIES, &request.base,
                                     &ccpay__v1__journal_entry__descriptor, STREAM_DEADLINE_MS);
  assert_non_null(s);
  return s;
}

static const char *event_name(test_stream_event event) {
  static const char *const names[] = {"a message", "the end of the stream", "nothing (timeout)",
                                      "an undecodable message"};
  return names[event];
}

/* The next entry, which must be sequence; the caller frees it. */
static Ccpay__V1__JournalEntry *expect_entry(test_stream *s, int64_t sequence) {
  ProtobufCMessage *message;
  test_stream_event event = test_stream_read(s, ENTRY_WAIT_MS, &message);
  if (event != TEST_STREAM_MESSAGE) {
    fail_msg("waiting for entry %lld: got %s", (long long)sequence, event_name(event));
  }
  Ccpay__V1__JournalEntry *e = (Ccpay__V1__JournalEntry *)message;
  if (e->sequence != sequence) {
    fail_msg("entry %lld arrived where %lld was due", (long long)e->sequence, (long long)sequence);
  }
  assert_string_equal(e->kind, "ORDER_INVOICED");
  return e;
}

/* Reads up to count messages into out without asserting (for while other threads still
 * use the client); returns how many arrived before a timeout or the end. */
static size_t collect(test_stream *s, size_t count, Ccpay__V1__JournalEntry **out) {
  for (size_t i = 0; i < count; i++) {
    ProtobufCMessage *message;
    if (test_stream_read(s, ENTRY_WAIT_MS, &message) != TEST_STREAM_MESSAGE) return i;
    out[i] = (Ccpay__V1__JournalEntry *)message;
  }
  return count;
}

/* entries[0..count) are the sequences first, first + 1, … with no gap. */
static void assert_sequences(Ccpay__V1__JournalEntry *const *entries, size_t count, int64_t first) {
  for (size_t i = 0; i < count; i++) {
    if (entries[i]->sequence != first + (int64_t)i) {
      fail_msg("entry %lld arrived where %lld was due", (long long)entries[i]->sequence,
               (long long)(first + (int64_t)i));
    }
  }
}

/* Reads entries first..last, each checked by expect_entry. */
static void expect_entries(test_stream *s, int64_t first, int64_t last) {
  for (int64_t sequence = first; sequence <= last; sequence++) {
    protobuf_c_message_free_unpacked(&expect_entry(s, sequence)->base, NULL);
  }
}

/* Nothing arrives for QUIET_MS: the follower has everything and is parked. */
static void expect_quiet(test_stream *s) {
  ProtobufCMessage *message;
  test_stream_event event = test_stream_read(s, QUIET_MS, &message);
  if (event != TEST_STREAM_TIMEOUT) {
    long long sequence =
        message != NULL ? (long long)((Ccpay__V1__JournalEntry *)message)->sequence : 0;
    fail_msg("a parked follower got %s (sequence %lld)", event_name(event), sequence);
  }
}

/* Finishes s and checks its status as assert_reply does; a stream's OK carries no reply
 * message, so for OK only the status and the absence of a reason are checked. */
static void expect_finish(test_stream *s, grpc_status_code status, const char *reason,
                          const char *text) {
  test_reply r;
  test_stream_finish(s, FINISH_WAIT_MS, &r);
  if (status != GRPC_STATUS_OK) {
    assert_reply(&r, status, reason, text);
  } else if (r.status != GRPC_STATUS_OK || r.reason[0] != '\0') {
    fail_msg("stream ended %s (%s, reason %s), expected OK", test_status_name(r.status), r.details,
             r.reason);
  }
}

static void cancel_and_finish(test_stream *s) {
  test_stream_cancel(s);
  expect_finish(s, GRPC_STATUS_CANCELLED, NULL, NULL);
}

/* Two messages are the same when they encode to the same bytes. */
static void assert_same_entry(const Ccpay__V1__JournalEntry *a, const Ccpay__V1__JournalEntry *b) {
  size_t len = protobuf_c_message_get_packed_size(&a->base);
  assert_int_equal(len, protobuf_c_message_get_packed_size(&b->base));
  uint8_t *bytes_a = malloc(len + 1), *bytes_b = malloc(len + 1);
  assert_non_null(bytes_a);
  assert_non_null(bytes_b);
  protobuf_c_message_pack(&a->base, bytes_a);
  protobuf_c_message_pack(&b->base, bytes_b);
  if (memcmp(bytes_a, bytes_b, len) != 0) {
    fail_msg("entry %lld differs between the two reads", (long long)a->sequence);
  }
  free(bytes_a);
  free(bytes_b);
}

/* ListEntries, paged by LIST_PAGE_SIZE from the start, returns exactly entries[0..count). */
static void expect_list_matches(test_client *client, Ccpay__V1__JournalEntry *const *entries,
                                size_t count) {
  size_t seen = 0;
  int64_t after = 0;
  do {
    test_reply r;
    call_list_entries(client, after, LIST_PAGE_SIZE, &r);
    const Ccpay__V1__ListEntriesResponse *page = ok(&r);
    assert_true(page->n_entries <= LIST_PAGE_SIZE);
    for (size_t i = 0; i < page->n_entries; i++, seen++) {
      assert_true(seen < count);
      assert_same_entry(page->entries[i], entries[seen]);
    }
    after = page->next_after_sequence;
    test_reply_clear(&r);
  } while (after != 0);
  assert_int_equal(seen, count);
}

static void free_entries(Ccpay__V1__JournalEntry **entries, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (entries[i] != NULL) protobuf_c_message_free_unpacked(&entries[i]->base, NULL);
    entries[i] = NULL;
  }
}

/* Every invoice of the burst has its own entry: the sequences the invoices name are
 * exactly 1..BURST_ENTRIES, each once. */
static void expect_invoices_cover_entries(const burst_worker *workers) {
  int seen[BURST_ENTRIES + 1] = {0};
  for (int k = 0; k < BURST_THREADS; k++) {
    if (workers[k].failed) assert_reply(&workers[k].failure, GRPC_STATUS_OK, NULL, NULL);
    for (int i = 0; i < BURST_INVOICES_PER_THREAD; i++) {
      int64_t sequence = workers[k].sequences[i];
      assert_true(sequence >= 1 && sequence <= BURST_ENTRIES);
      seen[sequence]++;
    }
  }
  for (int sequence = 1; sequence <= BURST_ENTRIES; sequence++) assert_int_equal(seen[sequence], 1);
}

/* --- Tests ---------------------------------------------------------------------------- */

static void followers_see_a_burst_once_in_order_and_resume(void **state) {
  ccpayd_fixture *f = *state;
  static account_orders accounts[BURST_THREADS];
  for (int k = 0; k < BURST_THREADS; k++) {
    prepare_orders(f->client, k, BURST_INVOICES_PER_THREAD, &accounts[k]);
  }
  /* Both followers start on an empty journal and park. */
  test_stream *whole = follow_from(f->client, 0, true);
  test_stream *first_half = follow_from(f->client, 0, true);
  expect_quiet(whole);
  expect_quiet(first_half);

  burst_worker workers[BURST_THREADS];
  pthread_t threads[BURST_THREADS];
  for (int k = 0; k < BURST_THREADS; k++) {
    workers[k] = (burst_worker){.client = f->client, .orders = &accounts[k]};
    assert_int_equal(pthread_create(&threads[k], NULL, burst_main, &workers[k]), 0);
  }
  /* While the burst runs: one follower leaves in the middle, another resumes where it
   * stopped. Nothing is asserted until the writers are joined. */
  static Ccpay__V1__JournalEntry *entries[BURST_ENTRIES], *first[RESUME_AFTER],
      *second[BURST_ENTRIES - RESUME_AFTER];
  size_t first_count = collect(first_half, RESUME_AFTER, first);
  test_stream_cancel(first_half);
  test_reply first_end;
  test_stream_finish(first_half, FINISH_WAIT_MS, &first_end);
  test_stream *second_half = follow_from(f->client, RESUME_AFTER, true);
  size_t whole_count = collect(whole, BURST_ENTRIES, entries);
  size_t second_count = collect(second_half, BURST_ENTRIES - RESUME_AFTER, second);
  for (int k = 0; k < BURST_THREADS; k++) pthread_join(threads[k], NULL);

  expect_invoices_cover_entries(workers);
  assert_int_equal(first_count, RESUME_AFTER);
  assert_sequences(first, first_count, 1);
  assert_reply(&first_end, GRPC_STATUS_CANCELLED, NULL, NULL);
  assert_int_equal(whole_count, BURST_ENTRIES);
  assert_sequences(entries, whole_count, 1);
  assert_int_equal(second_count, BURST_ENTRIES - RESUME_AFTER);
  for (size_t i = 0; i < second_count; i++) assert_same_entry(second[i], entries[RESUME_AFTER + i]);
  for (size_t i = 0; i < first_count; i++) assert_same_entry(first[i], entries[i]);
  free_entries(first, first_count);
  free_entries(second, second_count);

  /* Nothing twice, nothing extra. */
  expect_quiet(whole);
  expect_quiet(second_half);
  cancel_and_finish(whole);
  cancel_and_finish(second_half);
  expect_list_matches(f->client, entries, BURST_ENTRIES);
  free_entries(entries, BURST_ENTRIES);
  f->passed = true;
}

/* follow = false: the entries after after_sequence, then OK. */
static void expect_replay(test_client *client, int64_t after, int64_t last) {
  test_stream *s = follow_from(client, after, false);
  expect_entries(s, after + 1, last);
  ProtobufCMessage *message;
  assert_int_equal(test_stream_read(s, ENTRY_WAIT_MS, &message), TEST_STREAM_END);
  expect_finish(s, GRPC_STATUS_OK, NULL, NULL);
}

static void replay_without_follow_ends_ok(void **state) {
  ccpayd_fixture *f = *state;
  account_orders orders;
  prepare_orders(f->client, 0, 5, &orders);
  for (size_t i = 0; i < orders.count; i++) {
    invoice_or_fail(f->client, orders.orders[i], (int64_t)i + 1);
  }
  expect_replay(f->client, 0, 5);
  expect_replay(f->client, 3, 5);
  expect_replay(f->client, 5, 5); /* nothing after the last entry: just OK */

  test_stream *s = follow_from(f->client, -1, false);
  expect_finish(s, GRPC_STATUS_INVALID_ARGUMENT, "FIELD_OUT_OF_RANGE", "after_sequence");
  f->passed = true;
}

/* The journal is durable: after kill -9 and a restart, a follower resuming from the last
 * sequence it saw gets exactly what commits next, numbered on without a gap. */
static void follower_resumes_after_a_crash(void **state) {
  ccpayd_fixture *f = *state;
  account_orders orders;
  prepare_orders(f->client, 0, 4, &orders);
  for (int i = 0; i < 3; i++) invoice_or_fail(f->client, orders.orders[i], i + 1);
  test_stream *s = follow_from(f->client, 0, true);
  expect_entries(s, 1, 3);
  expect_quiet(s);
  cancel_and_finish(s);
  ccpayd_kill(&f->server);
  assert_true(ccpayd_fixture_start(f));

  s = follow_from(f->client, 3, true);
  expect_quiet(s);
  invoice_or_fail(f->client, orders.orders[3], 4);
  expect_entries(s, 4, 4);
  expect_quiet(s);
  cancel_and_finish(s);
  expect_replay(f->client, 0, 4);
  f->passed = true;
}

/* True once ccpayd has logged the end of a StreamEntries call with status. */
static bool stream_end_logged_within(const ccpayd_process *server, int status, int wait_ms) {
  char line[128];
  snprintf(line, sizeof line, "method=/ccpay.v1.LedgerService/StreamEntries status=%d ", status);
  for (int waited = 0; waited <= wait_ms; waited += LOG_POLL_MS) {
    if (ccpayd_log_contains(server, line)) return true;
    sleep_ms(LOG_POLL_MS);
  }
  return false;
}

static void cancelled_parked_follower_ends_promptly(void **state) {
  ccpayd_fixture *f = *state;
  account_orders orders;
  prepare_orders(f->client, 0, 2, &orders);
  invoice_or_fail(f->client, orders.orders[0], 1);
  test_stream *s = follow_from(f->client, 1, true);
  expect_quiet(s);
  test_stream_cancel(s);
  expect_finish(s, GRPC_STATUS_CANCELLED, NULL, NULL);
  /* The server let go of it too: its call ended CANCELLED (1). */
  if (!stream_end_logged_within(&f->server, GRPC_STATUS_CANCELLED, PROMPT_MS)) {
    fail_msg("ccpayd did not end the cancelled follower within %d ms", PROMPT_MS);
  }
  /* The next commit wakes the followers; the cancelled one must be gone from them. */
  test_stream *next = follow_from(f->client, 1, true);
  expect_quiet(next);
  invoice_or_fail(f->client, orders.orders[1], 2);
  protobuf_c_message_free_unpacked(&expect_entry(next, 2)->base, NULL);
  cancel_and_finish(next);
  f->passed = true;
}

static void graceful_stop_ends_parked_follower_with_shutting_down(void **state) {
  ccpayd_fixture *f = *state;
  account_orders orders;
  prepare_orders(f->client, 0, 1, &orders);
  invoice_or_fail(f->client, orders.orders[0], 1);
  test_stream *s = follow_from(f->client, 0, true);
  protobuf_c_message_free_unpacked(&expect_entry(s, 1)->base, NULL);
  expect_quiet(s);

  int64_t signalled_ms = now_ms();
  assert_int_equal(kill(f->server.pid, SIGTERM), 0); /* the ccpayd this test started */
  ProtobufCMessage *message;
  assert_int_equal(test_stream_read(s, PROMPT_MS, &message), TEST_STREAM_END);
  int64_t ended_ms = now_ms() - signalled_ms;
  expect_finish(s, GRPC_STATUS_UNAVAILABLE, "SHUTTING_DOWN", "after_sequence 1");
  if (ended_ms > PROMPT_MS) {
    fail_msg("the follower ended %lld ms after SIGTERM", (long long)ended_ms);
  }
  /* With the follower gone, nothing holds the stop: the client lets go of its connection
   * (gRPC waits for connected clients up to the drain), and ccpayd exits at once. */
  test_client_destroy(f->client);
  f->client = NULL;
  int exit_status = ccpayd_stop(&f->server, CCPAYD_STOP_TIMEOUT_MS);
  int64_t exited_ms = now_ms() - signalled_ms;
  print_message("follower ended %lld ms, ccpayd exited %lld ms after SIGTERM\n",
                (long long)ended_ms, (long long)exited_ms);
  assert_int_equal(exit_status, 0);
  if (exited_ms > PROMPT_MS) fail_msg("ccpayd exited %lld ms after SIGTERM", (long long)exited_ms);
  f->passed = true;
}

#define STREAM_TEST(name) \
  cmocka_unit_test_setup_teardown(name, ccpayd_fixture_setup, ccpayd_fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      STREAM_TEST(followers_see_a_burst_once_in_order_and_resume),
      STREAM_TEST(replay_without_follow_ends_ok),
      STREAM_TEST(follower_resumes_after_a_crash),
      STREAM_TEST(cancelled_parked_follower_ends_promptly),
      STREAM_TEST(graceful_stop_ends_parked_follower_with_shutting_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
