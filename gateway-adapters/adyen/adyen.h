/* The Adyen adapter's operations (adyen.c), run by the adapter runtime. */
#ifndef CCPAY_GATEWAY_ADAPTERS_ADYEN_H
#define CCPAY_GATEWAY_ADAPTERS_ADYEN_H

#include "adapter.h"

extern const adapter_ops adyen_ops;

#endif
