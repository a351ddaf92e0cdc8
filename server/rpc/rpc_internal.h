/* Shared between the files of server/rpc only: the server, call and tag structures. */
#ifndef CCPAY_RPC_INTERNAL_H
#define CCPAY_RPC_INTERNAL_H

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/limits.h"
#include "rpc.h"

/* Every completion-queue tag starts with this: the worker calls on_complete. */
typedef struct rpc_tag rpc_tag;
struct rpc_tag {
  void (*on_complete)(rpc_tag *tag, bool ok);
};

/* A call requested in advance from gRPC: one per (method, queue) slot, re-posted as soon
 * as it yields a call. method NULL marks a generic slot (unknown methods). */
typedef struct rpc_request {
  rpc_tag tag;
  rpc_server *server;
  const rpc_method *method;
  void *registered_handle;
  unsigned queue_index;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array metadata;
  grpc_byte_buffer *payload;
  grpc_call_details details; /* generic slots only */
} rpc_request;

typedef struct rpc_reflection rpc_reflection;

struct rpc_server {
  grpc_server *server;
  unsigned queue_count;
  grpc_completion_queue *queues[SERVER_THREADS_MAX];
  pthread_t workers[SERVER_THREADS_MAX];
  rpc_method *methods; /* the application's, then health and reflection */
  size_t method_count;
  rpc_request *requests; /* method_count * queue_count * SERVER_CALLS_REQUESTED_PER_METHOD,
                            then generic slots */
  size_t request_count;
  rpc_reflection *reflection;
  rpc_authenticate_fn authenticate; /* NULL: every caller is anonymous */
  void *authenticate_context;
  atomic_bool serving;
  atomic_bool stopping;

  /* Shutdown notification from gRPC, awaited by rpc_server_stop. */
  rpc_tag shutdown_tag;
  pthread_mutex_t shutdown_lock;
  pthread_cond_t shutdown_done;
  bool shutdown_notified;

  /* Calls not yet freed. gRPC may report shutdown while a handler still owes a call its
   * answer (a client that went away, whose handler waits on a processor): the queues
   * must outlive that answer, so rpc_server_stop also waits for this to reach 0. Under
   * shutdown_lock; calls_freed is signalled when it drops to 0. */
  size_t live_calls;
  pthread_cond_t calls_freed;
};

/* Counts a call in and out of rpc_server.live_calls (rpc_call.c). */
void rpc_server_call_created(rpc_server *server);
void rpc_server_call_freed(rpc_server *server);

/* Starts handling a call that rpc_request r has just yielded (worker thread). Takes the
 * request's call, deadline, metadata and payload; r may be re-posted afterwards. */
void rpc_call_start(rpc_request *r);

/* Answers a call for a method nobody registered with UNIMPLEMENTED (worker thread). */
void rpc_call_start_unimplemented(rpc_request *r);

/* Built-in services, appended to the method table by rpc_server_start. */
enum { RPC_BUILTIN_METHODS_MAX = 3 };
size_t rpc_health_methods(rpc_server *server, rpc_method *out);
ccpay_err rpc_reflection_create(rpc_server *server, const uint8_t *descriptor_set, size_t len,
                                rpc_reflection **out, ccpay_error *error);
void rpc_reflection_destroy(rpc_reflection *reflection);
size_t rpc_reflection_methods(rpc_reflection *reflection, rpc_method *out);

/* True when name (e.g. "ccpay.v1.CustomerService") is a service with a method in the
 * server's table. */
bool rpc_server_has_service(const rpc_server *server, const char *service, size_t len);

/* Writes the distinct service names of the method table (in table order) into names,
 * each as a pointer into the method name and its length; returns the count. */
size_t rpc_server_services(const rpc_server *server, const char **names, size_t *lens,
                           size_t names_max);

#endif
