/* The audit trail of calls, written by the two write paths (mutation.c, payment_flow.c)
 * and by authentication, never by handlers: one record per mutating call that reached
 * the storage writer, appended in the same transaction as the call's effect, or — when
 * the call failed — after its effect was rolled back (store_write.after_failure).
 *
 * A record holds who (agent and role, captured from the call on the handler's thread
 * before the work goes to the writer), the method, the request_id, the target ids (the
 * request's *_id fields and the reply's record ids, found through the protobuf-c
 * descriptors, so a new method is covered without code here), the outcome (OK or the
 * error's reason and message) and, for parameter and permission changes, a before and
 * after text the execute function notes with audit_trail_note_change. Secrets never go
 * in: requests are not copied, only their ids. */
#ifndef CCPAY_SERVICES_AUDIT_TRAIL_H
#define CCPAY_SERVICES_AUDIT_TRAIL_H

#include <protobuf-c/protobuf-c.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/limits.h"
#include "rpc/rpc.h"
#include "storage/store.h"

/* The caller of one call, copied out of the rpc_call so it outlives the call's answer. */
typedef struct audit_caller {
  char agent_id[AGENT_ID_BYTES_MAX + 1];
  char role[ROLE_NAME_BYTES_MAX + 1];
  char peer[AUTH_PEER_BYTES_MAX];
  const char *method; /* the method table's name: static */
  /* Set by audit_trail_note_change during execute; text in the execute's arena. */
  const char *before;
  const char *after;
} audit_caller;

/* On the handler's thread, before the call's work is queued. */
void audit_caller_capture(rpc_call *call, audit_caller *out);

/* Appends the record of a call made by who: outcome OK when failure is NULL, else its
 * reason and message. request and reply (either may be NULL) give the target ids.
 * Scratch memory comes from arena a. Write transaction only. */
ccpay_err audit_trail_append(store_txn *txn, const audit_caller *who, const char *request_id,
                             const ProtobufCMessage *request, const ProtobufCMessage *reply,
                             const ccpay_error *failure, arena *a, ccpay_error *error);

/* The caller whose write executes on this thread now (the storage writer sets it around
 * each execute through audit_trail_enter/leave); NULL outside. */
void audit_trail_enter(audit_caller *who);
void audit_trail_leave(void);

/* The agent id of the current caller ("" outside a call's write): what records the call
 * creates are stamped with (AuditStamp.created_by). */
const char *audit_trail_agent_id(void);

/* For execute functions of parameter and permission changes: what the target was before
 * and is after, as short text (kept by pointer: put it in the execute's arena). Ignored
 * outside a call's write. */
void audit_trail_note_change(const char *before, const char *after);

#endif
