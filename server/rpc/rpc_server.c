/* Server lifecycle: bind, worker threads with one completion queue each, calls requested
 * in advance, and the bounded graceful shutdown. */
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/check.h"
#include "base/log.h"
#include "rpc_internal.h"

enum { RPC_GENERIC_REQUESTS_PER_QUEUE = 4 };

static void request_post(rpc_request *r);

static void *worker_main(void *argument) {
  grpc_completion_queue *queue = argument;
  for (;;) {
    grpc_event event = grpc_completion_queue_next(queue, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (event.type == GRPC_QUEUE_SHUTDOWN) break;
    CHECK(event.type == GRPC_OP_COMPLETE);
    rpc_tag *tag = event.tag;
    tag->on_complete(tag, event.success != 0);
  }
  return NULL;
}

/* A requested call arrived (ok) or the server is shutting down (!ok). */
static void request_on_complete(rpc_tag *tag, bool ok) {
  rpc_request *r = (rpc_request *)tag;
  if (!ok) {
    /* Shutdown: the slot yields no call and is not re-posted. */
    CHECK(r->call == NULL);
    return;
  }
  CHECK(r->call != NULL);
  if (r->method != NULL) {
    rpc_call_start(r);
  } else {
    rpc_call_start_unimplemented(r);
  }
  CHECK(r->call == NULL && r->payload == NULL);
  if (!atomic_load(&r->server->stopping)) request_post(r);
}

static void request_post(rpc_request *r) {
  rpc_server *s = r->server;
  grpc_completion_queue *queue = s->queues[r->queue_index];
  grpc_call_error rc;
  if (r->method != NULL) {
    bool has_payload = r->method->kind != RPC_BIDI_PER_MESSAGE;
    rc = grpc_server_request_registered_call(
        s->server, r->registered_handle, &r->call, &r->deadline, &r->metadata,
        has_payload ? &r->payload : NULL, queue, queue, &r->tag);
  } else {
    rc = grpc_server_request_call(s->server, &r->call, &r->details, &r->metadata, queue, queue,
                                  &r->tag);
  }
  /* Refused only once shutdown has begun; the slot then stays idle. */
  if (rc != GRPC_CALL_OK) CHECK(atomic_load(&s->stopping));
}

static void shutdown_on_complete(rpc_tag *tag, bool ok) {
  rpc_server *s = (rpc_server *)((char *)tag - offsetof(rpc_server, shutdown_tag));
  pthread_mutex_lock(&s->shutdown_lock);
  s->shutdown_notified = true;
  pthread_cond_signal(&s->shutdown_done);
  pthread_mutex_unlock(&s->shutdown_lock);
}

static ccpay_err build_method_table(rpc_server *s, const rpc_server_options *o,
                                    ccpay_error *error) {
  s->methods = calloc(o->method_count + 2 * RPC_BUILTIN_METHODS_MAX, sizeof *s->methods);
  if (s->methods == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  memcpy(s->methods, o->methods, o->method_count * sizeof *s->methods);
  s->method_count = o->method_count;
  s->method_count += rpc_health_methods(s, s->methods + s->method_count);
  if (o->descriptor_set != NULL) {
    ccpay_err rc =
        rpc_reflection_create(s, o->descriptor_set, o->descriptor_set_len, &s->reflection, error);
    if (rc != CCPAY_OK) return rc;
    s->method_count += rpc_reflection_methods(s->reflection, s->methods + s->method_count);
  }
  for (size_t i = 0; i < s->method_count; i++) {
    const rpc_method *m = &s->methods[i];
    CHECK(m->name != NULL && m->name[0] == '/');
    CHECK(m->request_descriptor != NULL && m->reply_descriptor != NULL);
    CHECK((m->kind == RPC_BIDI_PER_MESSAGE) == (m->on_message != NULL));
    CHECK((m->kind == RPC_BIDI_PER_MESSAGE) == (m->handler == NULL));
    /* Authentication runs where a request is first decoded, which a bidi call skips:
     * only open methods (reflection) may be bidi. */
    CHECK(m->kind != RPC_BIDI_PER_MESSAGE || m->permission == NULL);
    for (size_t j = 0; j < i; j++) CHECK(strcmp(s->methods[j].name, m->name) != 0);
  }
  return CCPAY_OK;
}

static void create_requests(rpc_server *s) {
  size_t per_queue = s->method_count * SERVER_CALLS_REQUESTED_PER_METHOD;
  s->request_count = (per_queue + RPC_GENERIC_REQUESTS_PER_QUEUE) * s->queue_count;
  s->requests = calloc(s->request_count, sizeof *s->requests);
  CHECK(s->requests != NULL);
  size_t n = 0;
  for (size_t m = 0; m < s->method_count; m++) {
    grpc_server_register_method_payload_handling payload =
        s->methods[m].kind == RPC_BIDI_PER_MESSAGE ? GRPC_SRM_PAYLOAD_NONE
                                                   : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
    void *handle = grpc_server_register_method(s->server, s->methods[m].name, NULL, payload, 0);
    CHECK(handle != NULL);
    for (unsigned q = 0; q < s->queue_count; q++) {
      for (unsigned k = 0; k < SERVER_CALLS_REQUESTED_PER_METHOD; k++) {
        rpc_request *r = &s->requests[n++];
        r->method = &s->methods[m];
        r->registered_handle = handle;
        r->queue_index = q;
      }
    }
  }
  for (unsigned q = 0; q < s->queue_count; q++) {
    for (unsigned k = 0; k < RPC_GENERIC_REQUESTS_PER_QUEUE; k++) s->requests[n++].queue_index = q;
  }
  CHECK(n == s->request_count);
  for (size_t i = 0; i < n; i++) {
    s->requests[i].tag.on_complete = request_on_complete;
    s->requests[i].server = s;
    grpc_metadata_array_init(&s->requests[i].metadata);
    grpc_call_details_init(&s->requests[i].details);
  }
}

static ccpay_err validate_options(const rpc_server_options *o, ccpay_error *error) {
  if (o->threads < 1 || o->threads > SERVER_THREADS_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "threads: must be 1 to %d",
                           SERVER_THREADS_MAX);
  }
  if (o->request_bytes_max < 1024 || o->request_bytes_max > INT32_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "request_bytes_max: must be 1 KiB to 2 GiB");
  }
  return CCPAY_OK;
}

static void server_free(rpc_server *s) {
  if (s->server != NULL) grpc_server_destroy(s->server);
  for (unsigned q = 0; q < s->queue_count; q++) {
    grpc_completion_queue_shutdown(s->queues[q]);
    if (s->workers[q] != 0) {
      pthread_join(s->workers[q], NULL);
    } else {
      /* Never polled: drain here. */
      while (
          grpc_completion_queue_next(s->queues[q], gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
          GRPC_QUEUE_SHUTDOWN) {
      }
    }
    grpc_completion_queue_destroy(s->queues[q]);
  }
  for (size_t i = 0; i < s->request_count; i++) {
    grpc_metadata_array_destroy(&s->requests[i].metadata);
    grpc_call_details_destroy(&s->requests[i].details);
  }
  rpc_reflection_destroy(s->reflection);
  pthread_cond_destroy(&s->shutdown_done);
  pthread_cond_destroy(&s->calls_freed);
  pthread_mutex_destroy(&s->shutdown_lock);
  free(s->requests);
  free(s->methods);
  free(s);
  grpc_shutdown();
}

/* TLS from the PEM text in tls (with client certificates required and verified against
 * its CA when one is given), or plaintext when tls is NULL. */
static grpc_server_credentials *server_credentials(const rpc_tls_options *tls) {
  if (tls == NULL) return grpc_insecure_server_credentials_create();
  CHECK(tls->cert_chain_pem != NULL && tls->private_key_pem != NULL);
  grpc_ssl_pem_key_cert_pair pair = {.private_key = tls->private_key_pem,
                                     .cert_chain = tls->cert_chain_pem};
  grpc_ssl_client_certificate_request_type request =
      tls->client_ca_pem != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                 : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  return grpc_ssl_server_credentials_create_ex(tls->client_ca_pem, &pair, 1, request, NULL);
}

ccpay_err rpc_server_start(const rpc_server_options *o, rpc_server **out, int *port_out,
                           ccpay_error *error) {
  ccpay_err rc = validate_options(o, error);
  if (rc != CCPAY_OK) return rc;
  grpc_init();
  rpc_server *s = calloc(1, sizeof *s);
  CHECK(s != NULL);
  pthread_mutex_init(&s->shutdown_lock, NULL);
  pthread_cond_init(&s->shutdown_done, NULL);
  pthread_cond_init(&s->calls_freed, NULL);
  s->shutdown_tag.on_complete = shutdown_on_complete;
  rc = build_method_table(s, o, error);
  if (rc != CCPAY_OK) goto fail;

  grpc_arg args[] = {
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
       .value.integer = (int)o->request_bytes_max},
      {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0},
  };
  grpc_channel_args channel_args = {.num_args = sizeof args / sizeof args[0], .args = args};
  s->server = grpc_server_create(&channel_args, NULL);
  s->queue_count = o->threads;
  for (unsigned q = 0; q < s->queue_count; q++) {
    s->queues[q] = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->queues[q], NULL);
  }
  create_requests(s);

  s->authenticate = o->authenticate;
  s->authenticate_context = o->authenticate_context;
  grpc_server_credentials *credentials = server_credentials(o->tls);
  int port = grpc_server_add_http2_port(s->server, o->listen_address, credentials);
  grpc_server_credentials_release(credentials);
  if (port == 0) {
    rc = ccpay_error_set(error, CCPAY_ERR_INTERNAL,
                         "listen: cannot bind %s (in use, or not an address of this host%s)",
                         o->listen_address,
                         o->tls != NULL ? ", or the TLS certificate and key do not fit" : "");
    goto fail;
  }
  grpc_server_start(s->server);
  for (size_t i = 0; i < s->request_count; i++) request_post(&s->requests[i]);
  for (unsigned q = 0; q < s->queue_count; q++) {
    int prc = pthread_create(&s->workers[q], NULL, worker_main, s->queues[q]);
    CHECK(prc == 0);
  }
  *port_out = port;
  *out = s;
  return CCPAY_OK;

fail:
  atomic_store(&s->stopping, true);
  server_free(s);
  return rc;
}

void rpc_server_set_serving(rpc_server *server, bool serving) {
  atomic_store(&server->serving, serving);
}

void rpc_server_call_created(rpc_server *s) {
  pthread_mutex_lock(&s->shutdown_lock);
  s->live_calls++;
  pthread_mutex_unlock(&s->shutdown_lock);
}

void rpc_server_call_freed(rpc_server *s) {
  pthread_mutex_lock(&s->shutdown_lock);
  CHECK(s->live_calls > 0);
  if (--s->live_calls == 0) pthread_cond_broadcast(&s->calls_freed);
  pthread_mutex_unlock(&s->shutdown_lock);
}

/* Waits until every call has been freed: each handler has answered (the contract says
 * it will) and gRPC has finished with the answer. */
static void wait_calls_freed(rpc_server *s) {
  pthread_mutex_lock(&s->shutdown_lock);
  while (s->live_calls > 0) pthread_cond_wait(&s->calls_freed, &s->shutdown_lock);
  pthread_mutex_unlock(&s->shutdown_lock);
}

/* Waits for gRPC's shutdown notification until deadline; true when it came. */
static bool wait_shutdown(rpc_server *s, const struct timespec *deadline) {
  pthread_mutex_lock(&s->shutdown_lock);
  while (!s->shutdown_notified) {
    int rc = deadline == NULL
                 ? pthread_cond_wait(&s->shutdown_done, &s->shutdown_lock)
                 : pthread_cond_timedwait(&s->shutdown_done, &s->shutdown_lock, deadline);
    if (rc != 0) break;
  }
  bool notified = s->shutdown_notified;
  pthread_mutex_unlock(&s->shutdown_lock);
  return notified;
}

void rpc_server_stop(rpc_server *s, unsigned drain_ms) {
  CHECK(!atomic_load(&s->stopping));
  atomic_store(&s->serving, false);
  atomic_store(&s->stopping, true);
  grpc_server_shutdown_and_notify(s->server, s->queues[0], &s->shutdown_tag);

  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline); /* pthread_cond_timedwait's default clock */
  deadline.tv_sec += drain_ms / 1000;
  deadline.tv_nsec += (long)(drain_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  if (!wait_shutdown(s, &deadline)) {
    log_warn("event=drain_timeout action=cancel_calls drain_ms=%u", drain_ms);
    grpc_server_cancel_all_calls(s->server);
    wait_shutdown(s, NULL);
  }
  wait_calls_freed(s);
  server_free(s);
}

bool rpc_server_has_service(const rpc_server *s, const char *service, size_t len) {
  for (size_t i = 0; i < s->method_count; i++) {
    const char *name = s->methods[i].name + 1;
    if (strncmp(name, service, len) == 0 && name[len] == '/') return true;
  }
  return false;
}

size_t rpc_server_services(const rpc_server *s, const char **names, size_t *lens,
                           size_t names_max) {
  size_t count = 0;
  for (size_t i = 0; i < s->method_count; i++) {
    const char *name = s->methods[i].name + 1;
    const char *slash = strchr(name, '/');
    CHECK(slash != NULL);
    size_t len = (size_t)(slash - name);
    bool seen = false;
    for (size_t j = 0; j < count && !seen; j++) {
      seen = lens[j] == len && strncmp(names[j], name, len) == 0;
    }
    if (!seen && count < names_max) {
      names[count] = name;
      lens[count] = len;
      count++;
    }
  }
  return count;
}
