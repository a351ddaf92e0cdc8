/* grpc.health.v1.Health/Check: SERVING once the application says so (storage open),
 * NOT_SERVING while starting or stopping; NOT_FOUND for a service the server does not
 * have. Watch is not offered (it answers UNIMPLEMENTED). */
#include <string.h>

#include "base/check.h"
#include "grpc/health/v1/health.pb-c.h"
#include "rpc_internal.h"

static void health_check(rpc_call *call, const ProtobufCMessage *message) {
  const Grpc__Health__V1__HealthCheckRequest *request =
      (const Grpc__Health__V1__HealthCheckRequest *)message;
  rpc_server *server = rpc_call_context(call);
  const char *service = request->service;
  if (service[0] != '\0' && !rpc_server_has_service(server, service, strlen(service))) {
    ccpay_error error;
    ccpay_error_set(&error, CCPAY_ERR_NOT_FOUND, "service: %s is not served here", service);
    rpc_call_fail(call, &error);
    return;
  }
  Grpc__Health__V1__HealthCheckResponse reply = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  reply.status = atomic_load(&server->serving)
                     ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                     : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
  rpc_call_reply(call, &reply.base);
}

size_t rpc_health_methods(rpc_server *server, rpc_method *out) {
  CHECK(server != NULL && out != NULL);
  out[0] = (rpc_method){
      .name = "/grpc.health.v1.Health/Check",
      .kind = RPC_UNARY,
      .request_descriptor = &grpc__health__v1__health_check_request__descriptor,
      .reply_descriptor = &grpc__health__v1__health_check_response__descriptor,
      .handler = health_check,
      .context = server,
  };
  return 1;
}
