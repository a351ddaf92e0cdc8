/* PaymentService, and the payment pieces OrderService uses: AddPayment's handler and
 * reading a payment by its id text. */
#ifndef CCPAY_SERVICES_PAYMENT_SERVICE_H
#define CCPAY_SERVICES_PAYMENT_SERVICE_H

#include "ccpay/v1/payment.pb-c.h"
#include "rpc/rpc.h"
#include "services.h"
#include "storage/store.h"

/* OrderService.AddPayment. */
void payment_add_to_order(rpc_call *call, const ProtobufCMessage *request);

/* Reads the payment named by payment_id (a stored, well-formed id) into arena a. */
ccpay_err payment_read(store_txn *txn, const char *payment_id, arena *a, Ccpay__V1__Payment **out,
                       ccpay_error *error);

#endif
