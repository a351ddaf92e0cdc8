#include "services.h"

#include "base/check.h"

enum { SERVICE_METHODS_MAX = 96 };

static rpc_method method_table[SERVICE_METHODS_MAX];

const rpc_method *services_methods(service_env *env, size_t *count) {
  size_t (*const services[])(service_env *, rpc_method *) = {
      customer_service_methods,       order_service_methods,        ledger_service_methods,
      payment_service_methods,        stored_value_service_methods, return_service_methods,
      balance_review_service_methods, admin_service_methods,
  };
  size_t n = 0;
  for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
    CHECK(n + SERVICE_METHODS_PER_SERVICE_MAX <= SERVICE_METHODS_MAX);
    size_t added = services[i](env, method_table + n);
    CHECK(added <= SERVICE_METHODS_PER_SERVICE_MAX);
    n += added;
  }
  for (size_t i = 0; i < n; i++) CHECK(method_table[i].permission != NULL);
  *count = n;
  return method_table;
}
