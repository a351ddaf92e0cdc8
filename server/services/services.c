#include "services.h"

#include "base/check.h"

enum { SERVICE_METHODS_MAX = 64 };

static rpc_method method_table[SERVICE_METHODS_MAX];

const rpc_method *services_methods(service_env *env, size_t *count) {
  size_t n = 0;
  n += customer_service_methods(env, method_table + n);
  CHECK(n <= SERVICE_METHODS_MAX);
  for (size_t i = 0; i < n; i++) CHECK(method_table[i].permission != NULL);
  *count = n;
  return method_table;
}
