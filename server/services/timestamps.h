/* google.protobuf.Timestamp and ccpay.v1.AuditStamp built from wall-clock milliseconds,
 * in an arena. NULL when the arena is exhausted. */
#ifndef CCPAY_SERVICES_TIMESTAMPS_H
#define CCPAY_SERVICES_TIMESTAMPS_H

#include <stdint.h>

#include "base/arena.h"
#include "ccpay/v1/common.pb-c.h"

Google__Protobuf__Timestamp *timestamp_from_ms(arena *a, int64_t ms);

/* A stamp for a new record: created and updated at now_ms. */
Ccpay__V1__AuditStamp *audit_stamp_new(arena *a, int64_t now_ms);

/* A copy of previous (which may be NULL) with update_time set to now_ms. */
Ccpay__V1__AuditStamp *audit_stamp_updated(arena *a, const Ccpay__V1__AuditStamp *previous,
                                           int64_t now_ms);

#endif
