/* PaymentService, and the payment pieces OrderService uses: AddPayment's handler and
 * reading a payment by its id text. */
#ifndef CCPAY_SERVICES_PAYMENT_SERVICE_H
#define CCPAY_SERVICES_PAYMENT_SERVICE_H

#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "rpc/rpc.h"
#include "services.h"
#include "storage/store.h"

/* OrderService.AddPayment. */
void payment_add_to_order(rpc_call *call, const ProtobufCMessage *request);

/* Adds payment line p (validated: payment_validate_new) to order, the writer's copy, which
 * the caller writes: id, audit stamp and amounts set; a tender other than a card is
 * received and posted at once. Writes p. The order must have room for it. */
ccpay_err payment_attach(store_txn *txn, Ccpay__V1__Order *order, Ccpay__V1__Payment *p, arena *a,
                         ccpay_error *error);

/* Reads the payment named by payment_id (a stored, well-formed id) into arena a. */
ccpay_err payment_read(store_txn *txn, const char *payment_id, arena *a, Ccpay__V1__Payment **out,
                       ccpay_error *error);

#endif
