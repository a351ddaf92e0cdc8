#include "feed_stream.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "base/check.h"
#include "ledger_feed.h"

typedef struct feed_stream {
  ledger_waiter waiter; /* first: the feed hands this back */
  rpc_call *call;
  service_env *env;
  const feed_stream_spec *spec;
  uint64_t after; /* the last sequence sent */
  bool follow;
  atomic_bool finished;
  arena *batch_arena;
  ProtobufCMessage **batch;
  size_t batch_count, batch_next;
} feed_stream;

static void stream_read(feed_stream *st);

static void stream_finish(feed_stream *st, ccpay_err code, const char *message) {
  if (atomic_exchange(&st->finished, true)) return;
  ccpay_error error;
  if (code != CCPAY_OK)
    ccpay_error_set(&error, code, "%s; resume with after_sequence %llu", message,
                    (unsigned long long)st->after);
  rpc_stream_finish(st->call, code == CCPAY_OK ? NULL : &error);
}

static void stream_sent(rpc_call *call, bool ok, void *argument) {
  feed_stream *st = argument;
  if (!ok) {
    stream_finish(st, CCPAY_ERR_CANCELLED, "the client went away");
    return;
  }
  st->after = st->spec->sequence(st->batch[st->batch_next]);
  st->batch_next++;
  if (st->batch_next < st->batch_count) {
    rpc_stream_send(call, st->batch[st->batch_next], stream_sent, st);
  } else {
    stream_read(st);
  }
}

/* Reads the next batch from a fresh snapshot; true with batch_count > 0 when found. */
static bool stream_read_batch(feed_stream *st, ccpay_error *error, ccpay_err *rc) {
  arena_destroy(st->batch_arena);
  st->batch_arena = arena_create(st->spec->batch_arena_bytes);
  CHECK(st->batch_arena != NULL);
  store_txn *txn;
  *rc = store_read_begin(st->env->store, &txn, error);
  if (*rc != CCPAY_OK) return false;
  *rc = st->spec->read(txn, st->after, st->spec->batch, st->batch_arena, &st->batch,
                       &st->batch_count, error);
  store_read_end(txn);
  st->batch_next = 0;
  return *rc == CCPAY_OK && st->batch_count > 0;
}

static void stream_read(feed_stream *st) {
  for (;;) {
    if (rpc_call_cancelled(st->call)) {
      stream_finish(st, CCPAY_ERR_CANCELLED, "cancelled");
      return;
    }
    uint64_t generation = ledger_feed_generation(st->env->feed);
    ccpay_error error;
    ccpay_err rc;
    if (stream_read_batch(st, &error, &rc)) {
      rpc_stream_send(st->call, st->batch[0], stream_sent, st);
      return;
    }
    if (rc != CCPAY_OK) {
      stream_finish(st, rc, error.message);
      return;
    }
    if (!st->follow) {
      stream_finish(st, CCPAY_OK, NULL);
      return;
    }
    bool closing = false;
    if (ledger_feed_park(st->env->feed, &st->waiter, generation, &closing)) {
      /* A cancel that came between the check above and parking found nothing to unpark:
       * take the stream back and end it here. */
      if (rpc_call_cancelled(st->call) && ledger_feed_unpark(st->env->feed, &st->waiter)) {
        stream_finish(st, CCPAY_ERR_CANCELLED, "cancelled");
      }
      return;
    }
    if (closing) {
      stream_finish(st, CCPAY_ERR_SHUTTING_DOWN, "the server is stopping");
      return;
    }
    /* Something committed since the read began: read again. */
  }
}

static void stream_wake(ledger_waiter *w, bool closing) {
  feed_stream *st = (feed_stream *)w;
  if (closing) {
    stream_finish(st, CCPAY_ERR_SHUTTING_DOWN, "the server is stopping");
  } else {
    stream_read(st);
  }
}

static void stream_cancelled(rpc_call *call, void *argument) {
  feed_stream *st = argument;
  /* Only a parked stream has nobody else to notice; an active one sees it next step. */
  if (ledger_feed_unpark(st->env->feed, &st->waiter)) {
    stream_finish(st, CCPAY_ERR_CANCELLED, "cancelled");
  }
}

static void stream_freed(rpc_call *call, void *argument) {
  feed_stream *st = argument;
  CHECK(!st->waiter.parked);
  arena_destroy(st->batch_arena);
  free(st);
}

void feed_stream_start(rpc_call *call, const feed_stream_spec *spec, uint64_t after, bool follow) {
  CHECK(spec != NULL && spec->read != NULL && spec->sequence != NULL && spec->batch > 0);
  feed_stream *st = calloc(1, sizeof *st);
  CHECK(st != NULL);
  st->waiter.wake = stream_wake;
  st->call = call;
  st->env = rpc_call_context(call);
  st->spec = spec;
  st->after = after;
  st->follow = follow;
  rpc_call_on_free(call, stream_freed, st);
  rpc_call_on_cancel(call, stream_cancelled, st);
  stream_read(st);
}
