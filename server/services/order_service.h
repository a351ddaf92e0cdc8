/* The pieces of OrderService that other services start: a submission (BalanceReviewService
 * releases queued orders through it) and a cancellation (and cancels queued ones). */
#ifndef CCPAY_SERVICES_ORDER_SERVICE_H
#define CCPAY_SERVICES_ORDER_SERVICE_H

#include <stdbool.h>

#include "ccpay/v1/order.pb-c.h"
#include "rpc/rpc.h"

/* SubmitOrder's flow for the order named order_id (checked here). release is 0 for
 * SubmitOrder; for ReleaseOrder, the resolution of the order's out-of-balance queue entry,
 * applied first (balance_release). Ends call. */
void order_submit_start(rpc_call *call, const ProtobufCMessage *request, const char *request_id,
                        const char *order_id, Ccpay__V1__BalanceResolution release);

/* CancelOrder's flow (voids, excess funds) for order_id with reason (checked here);
 * queued_only refuses an order that is not in the out-of-balance queue. Ends call. */
void order_cancel_start(rpc_call *call, const ProtobufCMessage *request, const char *request_id,
                        const char *order_id, const char *reason, bool queued_only);

#endif
