/* The public API of ccpayd: every method of every ccpay.v1 service in one table, with
 * the permission each needs. Handlers validate, then read (a snapshot on the worker
 * thread) or write (a command for the storage writer, answered after the durable
 * commit, see mutation.h). */
#ifndef CCPAY_SERVICES_SERVICES_H
#define CCPAY_SERVICES_SERVICES_H

#include <stddef.h>

#include "ledger_feed.h"
#include "rpc/rpc.h"
#include "storage/store.h"

/* What every handler reaches through rpc_call_context. */
typedef struct service_env {
  store *store;
  ledger_feed *feed;               /* StreamEntries followers, woken by the writer's commits */
  struct supervisor *gateway;      /* the card processors' adapters (gateway/supervisor.h) */
  struct payment_engine *payments; /* processor operations and their recovery */
} service_env;

/* The method table: static storage, valid for the whole run; each method's context is
 * env. */
const rpc_method *services_methods(service_env *env, size_t *count);

enum { SERVICE_METHODS_PER_SERVICE_MAX = 16 };

/* One entry of a service's method table: service "CustomerService", method "GetCustomer",
 * its kind, handler, the protobuf-c type prefixes of request and reply
 * (ccpay__v1__get_customer_request), and the permission it needs. The context is the
 * enclosing function's env. */
#define SERVICE_METHOD(service, method, method_kind, handler_fn, request_type, reply_type, needs) \
  (rpc_method) {                                                                                  \
    .name = "/ccpay.v1." service "/" method, .kind = method_kind,                                 \
    .request_descriptor = &request_type##__descriptor,                                            \
    .reply_descriptor = &reply_type##__descriptor, .handler = handler_fn, .permission = needs,    \
    .context = env,                                                                               \
  }

/* One service's methods, written to out (room for SERVICE_METHODS_PER_SERVICE_MAX);
 * returns how many. */
size_t customer_service_methods(service_env *env, rpc_method *out);
size_t order_service_methods(service_env *env, rpc_method *out);
size_t ledger_service_methods(service_env *env, rpc_method *out);
size_t payment_service_methods(service_env *env, rpc_method *out);
size_t stored_value_service_methods(service_env *env, rpc_method *out);
size_t return_service_methods(service_env *env, rpc_method *out);
size_t balance_review_service_methods(service_env *env, rpc_method *out);
size_t admin_service_methods(service_env *env, rpc_method *out);
/* AdminService's parameter and override-code methods (admin_parameters.c), part of
 * admin_service_methods. */
size_t admin_parameter_methods(service_env *env, rpc_method *out);

#endif
