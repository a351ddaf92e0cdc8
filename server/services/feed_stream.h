/* A server-streaming call over an append-only, sequence-numbered log (the journal for
 * StreamEntries, the audit trail for StreamAudit): replay the records after a sequence in
 * batches, one read snapshot each, then (follow) park on the ledger feed, which the
 * writer's commit listener wakes after every durable batch, and read what is new. At any
 * moment exactly one of these holds the stream: a send in flight, a read on some thread,
 * or the feed's parked list. Ends with the sequence to resume from on cancellation or
 * shutdown. */
#ifndef CCPAY_SERVICES_FEED_STREAM_H
#define CCPAY_SERVICES_FEED_STREAM_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "rpc/rpc.h"
#include "services.h"

/* Reads up to limit records with a sequence greater than after, in order, into arena a
 * (from a snapshot the stream opens and closes around the call). */
typedef ccpay_err (*feed_stream_read_fn)(store_txn *txn, uint64_t after, unsigned limit, arena *a,
                                         ProtobufCMessage ***out, size_t *count,
                                         ccpay_error *error);

/* The sequence of a record read_fn returned. */
typedef uint64_t (*feed_stream_sequence_fn)(const ProtobufCMessage *record);

typedef struct feed_stream_spec {
  feed_stream_read_fn read;
  feed_stream_sequence_fn sequence;
  unsigned batch; /* records per snapshot */
  size_t batch_arena_bytes;
} feed_stream_spec;

/* Runs the stream of call (a server-streaming handler's), from after, following new
 * records when follow. spec must outlive the call (static). Ends the call. */
void feed_stream_start(rpc_call *call, const feed_stream_spec *spec, uint64_t after, bool follow);

#endif
