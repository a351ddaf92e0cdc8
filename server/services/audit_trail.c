#include "audit_trail.h"

#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "ccpay/v1/admin.pb-c.h"
#include "storage/audit.h"
#include "timestamps.h"

/* The writer thread runs one execute at a time: the caller it serves. */
static _Thread_local audit_caller *audit_current;

void audit_caller_capture(rpc_call *call, audit_caller *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->agent_id, sizeof out->agent_id, "%s", rpc_call_agent_id(call));
  snprintf(out->role, sizeof out->role, "%s", rpc_call_role(call));
  snprintf(out->peer, sizeof out->peer, "%s", rpc_call_peer(call));
  out->method = rpc_call_method_name(call);
}

void audit_trail_enter(audit_caller *who) {
  CHECK(who != NULL);
  audit_current = who;
}

void audit_trail_leave(void) { audit_current = NULL; }

const char *audit_trail_agent_id(void) {
  return audit_current != NULL ? audit_current->agent_id : "";
}

void audit_trail_note_change(const char *before, const char *after) {
  if (audit_current == NULL) return;
  audit_current->before = before;
  audit_current->after = after;
}

/* Adds id to the record's targets unless empty, already there, or the list is full. */
static void add_target(Ccpay__V1__AuditRecord *r, const char *id) {
  if (id == NULL || id[0] == '\0' || r->n_target_ids >= AUDIT_TARGETS_MAX) return;
  for (size_t i = 0; i < r->n_target_ids; i++) {
    if (strcmp(r->target_ids[i], id) == 0) return;
  }
  r->target_ids[r->n_target_ids++] = (char *)id;
}

static bool is_id_field(const char *name) {
  size_t len = strlen(name);
  if (strcmp(name, "id") == 0) return true;
  /* Not records: the idempotency key and the agent have fields of their own. */
  if (strcmp(name, "request_id") == 0 || strcmp(name, "agent_id") == 0) return false;
  return len > 3 && strcmp(name + len - 3, "_id") == 0;
}

/* The id fields of m (singular strings named id or *_id, oneof members aside), and one
 * level down, those of its singular message fields. */
static void add_targets(Ccpay__V1__AuditRecord *r, const ProtobufCMessage *m, int depth) {
  if (m == NULL) return;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) continue;
    const void *at = (const char *)m + f->offset;
    if (f->type == PROTOBUF_C_TYPE_STRING && is_id_field(f->name)) {
      add_target(r, *(char *const *)at);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth == 0) {
      add_targets(r, *(const ProtobufCMessage *const *)at, depth + 1);
    }
  }
}

ccpay_err audit_trail_append(store_txn *txn, const audit_caller *who, const char *request_id,
                             const ProtobufCMessage *request, const ProtobufCMessage *reply,
                             const ccpay_error *failure, arena *a, ccpay_error *error) {
  CHECK(who != NULL && who->method != NULL);
  Ccpay__V1__AuditRecord *r = arena_alloc(a, sizeof *r);
  char **targets = arena_alloc(a, AUDIT_TARGETS_MAX * sizeof *targets);
  Google__Protobuf__Timestamp *time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (r == NULL || targets == NULL || time == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "out of call memory for the audit");
  }
  ccpay__v1__audit_record__init(r);
  r->time = time;
  r->agent_id = (char *)who->agent_id;
  r->role = (char *)who->role;
  r->peer = (char *)who->peer;
  r->method = (char *)who->method;
  r->request_id = (char *)(request_id != NULL ? request_id : "");
  r->target_ids = targets;
  add_targets(r, request, 0);
  add_targets(r, reply, 0);
  r->outcome = (char *)(failure == NULL ? "OK" : ccpay_err_reason(failure->code));
  r->message = (char *)(failure == NULL ? "" : failure->message);
  r->before = (char *)(who->before != NULL ? who->before : "");
  r->after = (char *)(who->after != NULL ? who->after : "");
  return audit_append(txn, r, error);
}
