/* ccpay-adapter-adyen: the Gateway service for Adyen (see adyen.c). */
#include "adyen.h"

int main(int argc, char **argv) { return adapter_main(argc, argv, &adyen_ops); }
