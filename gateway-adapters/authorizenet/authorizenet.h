/* The Authorize.Net adapter's operations (authorizenet.c), run by the adapter runtime. */
#ifndef CCPAY_GATEWAY_ADAPTERS_AUTHORIZENET_H
#define CCPAY_GATEWAY_ADAPTERS_AUTHORIZENET_H

#include "adapter.h"

extern const adapter_ops authorizenet_ops;

#endif
