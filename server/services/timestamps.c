#include "timestamps.h"

#include "audit_trail.h"

Google__Protobuf__Timestamp *timestamp_from_ms(arena *a, int64_t ms) {
  Google__Protobuf__Timestamp *t = arena_alloc(a, sizeof *t);
  if (t == NULL) return NULL;
  google__protobuf__timestamp__init(t);
  /* Floor division, so times before 1970 keep nanos in [0, 1e9) as the type requires. */
  int64_t seconds = ms / 1000;
  int64_t rest_ms = ms % 1000;
  if (rest_ms < 0) seconds -= 1, rest_ms += 1000;
  t->seconds = seconds;
  t->nanos = (int32_t)(rest_ms * 1000000);
  return t;
}

Ccpay__V1__AuditStamp *audit_stamp_new(arena *a, int64_t now_ms) {
  Ccpay__V1__AuditStamp *s = arena_alloc(a, sizeof *s);
  if (s == NULL) return NULL;
  ccpay__v1__audit_stamp__init(s);
  s->create_time = timestamp_from_ms(a, now_ms);
  s->update_time = timestamp_from_ms(a, now_ms);
  /* The agent whose call creates the record (the writer's current caller). */
  s->created_by = (char *)audit_trail_agent_id();
  return s->create_time == NULL || s->update_time == NULL ? NULL : s;
}

Ccpay__V1__AuditStamp *audit_stamp_updated(arena *a, const Ccpay__V1__AuditStamp *previous,
                                           int64_t now_ms) {
  if (previous == NULL) return audit_stamp_new(a, now_ms);
  Ccpay__V1__AuditStamp *s = arena_alloc(a, sizeof *s);
  if (s == NULL) return NULL;
  *s = *previous;
  s->update_time = timestamp_from_ms(a, now_ms);
  return s->update_time == NULL ? NULL : s;
}
