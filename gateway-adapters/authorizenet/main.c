/* ccpay-adapter-authorizenet: the Gateway service for Authorize.Net (see authorizenet.c). */
#include "authorizenet.h"

int main(int argc, char **argv) { return adapter_main(argc, argv, &authorizenet_ops); }
