/* HTTPS/1.1 on a loopback TCP port with OpenSSL: one acceptor thread, one thread per
 * connection (at most HTTPS_CONNECTIONS_MAX at once; further clients wait in the listen
 * backlog), keep-alive, Content-Length bodies, bounded heads and bodies, and idle and
 * read timeouts. A client that vanishes ends its connection's thread; nothing else.
 *
 * For each complete request the server calls the handler on the connection's thread;
 * the handler fills the response (or asks for the connection to be dropped without an
 * answer). Handlers run concurrently and must be thread-safe. A handler that wants to
 * delay (fault injection) calls https_exchange_wait_ms, which returns early when the
 * client goes away or the server stops.
 *
 * https_server_stop wakes every thread and joins them: connections waiting for a request
 * close at once, handlers in a wait return early; a handler that is computing finishes
 * first. Not restartable. */
#ifndef CCPAY_PROCSIM_HTTPS_SERVER_H
#define CCPAY_PROCSIM_HTTPS_SERVER_H

#include <stdbool.h>

#include "http_message.h"
#include "tls_cert.h"

enum {
  HTTPS_CONNECTIONS_MAX = 64,
  HTTPS_LISTEN_BACKLOG = 128,
  /* A kept-alive connection with no new request is closed after this. */
  HTTPS_IDLE_TIMEOUT_MS = 30000,
  /* Time for a started request (or the TLS handshake) to arrive completely. */
  HTTPS_READ_TIMEOUT_MS = 10000,
  /* Bound on one blocking send. */
  HTTPS_WRITE_TIMEOUT_MS = 10000,
  /* How long stop waits for handlers that are computing, before it gives up joining. */
  HTTPS_STOP_JOIN_MS = 5000,
};

typedef struct https_server https_server;
typedef struct https_exchange https_exchange;

typedef void (*https_handler_fn)(void *context, https_exchange *exchange,
                                 const http_request *request, http_response *response);

/* Binds address:port (an IPv4 literal; port 0 = ephemeral) and starts serving with
 * identity (borrowed; must outlive the server). NULL on failure (logged). */
https_server *https_server_start(const char *address, int port, const tls_identity *identity,
                                 https_handler_fn handler, void *context);

/* The bound port. */
int https_server_port(const https_server *server);

/* Stops as described above and frees the server. */
void https_server_stop(https_server *server);

/* Sleeps up to ms. True when the whole time passed; false as soon as the client has
 * closed its side of the connection or the server is stopping. */
bool https_exchange_wait_ms(https_exchange *exchange, int ms);

#endif
