#define _GNU_SOURCE /* accept4, POLLRDHUP, pthread_timedjoin_np */
#include "https_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"

enum {
  /* How often a full acceptor re-checks for a free slot, and a waiting handler for a
   * client that still sends bytes (not a close). */
  ACCEPT_RETRY_MS = 100,
  WAIT_POLL_SLICE_MS = 20,
  /* Head + largest body + the NUL the handler sees after the body. */
  CONNECTION_BUFFER_BYTES_MAX = HTTP_HEAD_BYTES_MAX + HTTP_BODY_BYTES_MAX + 1,
  RESPONSE_HEAD_BYTES_MAX = 1024,
};

typedef enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_DONE } slot_state;

typedef struct connection {
  https_server *server;
  slot_state state; /* guarded by server->mutex */
  pthread_t thread;
  int fd;
  SSL *ssl;
  char *buf;
  size_t len; /* bytes held in buf */
  size_t cap;
} connection;

struct https_exchange {
  connection *connection;
};

struct https_server {
  int listen_fd;
  int port;
  int stop_pipe[2]; /* readable once stop begins: wakes every poll */
  atomic_bool stopping;
  SSL_CTX *ssl_ctx;
  https_handler_fn handler;
  void *context;
  pthread_t acceptor;
  pthread_mutex_t mutex;
  pthread_cond_t slot_freed;
  connection slots[HTTPS_CONNECTIONS_MAX];
};

/* --- Waiting ------------------------------------------------------------------------- */

typedef enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_STOP, WAIT_GONE } wait_result;

/* Waits up to timeout_ms for c's socket to be readable (or TLS data already buffered). */
static wait_result wait_readable(connection *c, int timeout_ms) {
  if (c->ssl != NULL && SSL_pending(c->ssl) > 0) return WAIT_READY;
  struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN},
                          {.fd = c->server->stop_pipe[0], .events = POLLIN}};
  for (;;) {
    int n = poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return WAIT_GONE;
    if (n == 0) return WAIT_TIMEOUT;
    if (fds[1].revents != 0) return WAIT_STOP;
    if (fds[0].revents & (POLLERR | POLLNVAL)) return WAIT_GONE;
    return WAIT_READY;
  }
}

bool https_exchange_wait_ms(https_exchange *exchange, int ms) {
  CHECK(exchange != NULL && ms >= 0);
  connection *c = exchange->connection;
  int64_t deadline_us = clock_mono_us() + (int64_t)ms * 1000;
  for (;;) {
    int64_t remaining_ms = (deadline_us - clock_mono_us()) / 1000;
    if (remaining_ms <= 0) return true;
    if (atomic_load(&c->server->stopping)) return false;
    struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN | POLLRDHUP},
                            {.fd = c->server->stop_pipe[0], .events = POLLIN}};
    int n = poll(fds, 2, (int)remaining_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) continue;
    if (fds[1].revents != 0) return false;
    if (fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return false;
    if (fds[0].revents & POLLIN) {
      char byte;
      ssize_t peeked = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (peeked == 0) return false;
      /* Bytes that are not a close (a TLS alert before the FIN): look again shortly
       * rather than spin on a socket that stays readable. */
      struct timespec slice = {.tv_sec = 0, .tv_nsec = WAIT_POLL_SLICE_MS * 1000000L};
      nanosleep(&slice, NULL);
    }
  }
}

/* --- Reading a request --------------------------------------------------------------- */

typedef enum read_result { READ_OK, READ_CLOSED, READ_ERROR_STATUS } read_result;

static bool ensure_capacity(connection *c, size_t need) {
  if (need <= c->cap) return true;
  CHECK(need <= CONNECTION_BUFFER_BYTES_MAX);
  char *grown = realloc(c->buf, need);
  if (grown == NULL) return false;
  c->buf = grown;
  c->cap = need;
  return true;
}

/* Reads more bytes into c->buf; false when the connection ended, timed out or the
 * server stops. */
static bool read_more(connection *c, int timeout_ms) {
  CHECK(c->len < c->cap);
  if (wait_readable(c, timeout_ms) != WAIT_READY) return false;
  ERR_clear_error();
  int n = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));
  if (n <= 0) return false;
  c->len += (size_t)n;
  return true;
}

/* Reads one whole request (head and body) into c->buf. On READ_ERROR_STATUS, *status
 * is the status to answer before closing. */
static read_result read_request(connection *c, http_request *request, size_t *consumed,
                                int *status) {
  size_t head_len = 0;
  for (;;) {
    if (c->len > 0) {
      http_parse_result r = http_parse_head(c->buf, c->len, request, &head_len);
      if (r == HTTP_PARSE_OK) break;
      if (r != HTTP_PARSE_INCOMPLETE) {
        *status = r == HTTP_PARSE_TOO_LARGE ? 413 : r == HTTP_PARSE_UNSUPPORTED ? 501 : 400;
        return READ_ERROR_STATUS;
      }
    }
    if (c->len == c->cap && !ensure_capacity(c, HTTP_HEAD_BYTES_MAX + 1)) return READ_CLOSED;
    if (c->len == c->cap) {
      *status = 431;
      return READ_ERROR_STATUS;
    }
    if (!read_more(c, c->len == 0 ? HTTPS_IDLE_TIMEOUT_MS : HTTPS_READ_TIMEOUT_MS)) {
      return READ_CLOSED;
    }
  }
  size_t total = head_len + request->content_length;
  if (!ensure_capacity(c, total + 1)) return READ_CLOSED;
  while (c->len < total) {
    if (!read_more(c, HTTPS_READ_TIMEOUT_MS)) return READ_CLOSED;
  }
  request->body = c->buf + head_len;
  request->body_len = request->content_length;
  *consumed = total;
  return READ_OK;
}

/* --- Writing a response -------------------------------------------------------------- */

static bool write_all(connection *c, const char *data, size_t len) {
  while (len > 0) {
    ERR_clear_error();
    int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
    int n = SSL_write(c->ssl, data, chunk);
    if (n <= 0) return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

static bool send_response(connection *c, const http_response *response, bool keep_alive) {
  char head[RESPONSE_HEAD_BYTES_MAX + HTTP_RESPONSE_HEADERS_BYTES_MAX];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nServer: ccpay-procsim\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n",
                   response->status, http_status_text(response->status), response->content_type,
                   response->body_len, response->headers, keep_alive ? "keep-alive" : "close");
  CHECK(n > 0 && (size_t)n < sizeof head);
  size_t total = (size_t)n + response->body_len;
  char *message = malloc(total);
  if (message == NULL) return false;
  memcpy(message, head, (size_t)n);
  if (response->body_len > 0) memcpy(message + n, response->body, response->body_len);
  bool ok = write_all(c, message, total);
  free(message);
  return ok;
}

static void send_error_status(connection *c, int status) {
  http_response response;
  http_response_init(&response);
  char body[128];
  int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", http_status_text(status));
  http_response_set(&response, status, "application/json", body, (size_t)n);
  send_response(c, &response, false);
  http_response_clear(&response);
}

/* --- Connections --------------------------------------------------------------------- */

/* Serves requests on c until it closes, errs, idles out or the server stops. True when
 * the connection ended in an orderly way (worth a TLS close_notify). */
static bool serve_requests(connection *c) {
  for (;;) {
    http_request request;
    size_t consumed = 0;
    int status = 0;
    read_result r = read_request(c, &request, &consumed, &status);
    if (r == READ_CLOSED) return false;
    if (r == READ_ERROR_STATUS) {
      send_error_status(c, status);
      return true;
    }
    /* The NUL after the body overwrites a pipelined request's first byte: keep it. */
    char saved = c->buf[consumed];
    c->buf[consumed] = '\0';
    http_response response;
    http_response_init(&response);
    https_exchange exchange = {.connection = c};
    c->server->handler(c->server->context, &exchange, &request, &response);
    c->buf[consumed] = saved;
    bool keep_alive = request.keep_alive && !atomic_load(&c->server->stopping);
    bool sent = response.disposition == HTTP_RESPOND && send_response(c, &response, keep_alive);
    bool dropped = response.disposition == HTTP_DROP;
    http_response_clear(&response);
    if (dropped || !sent) return false;
    if (!keep_alive) return true;
    memmove(c->buf, c->buf + consumed, c->len - consumed);
    c->len -= consumed;
  }
}

static void *connection_main(void *argument) {
  connection *c = argument;
  https_server *server = c->server;
  c->ssl = SSL_new(server->ssl_ctx);
  bool orderly = false;
  if (c->ssl != NULL && SSL_set_fd(c->ssl, c->fd) == 1 &&
      wait_readable(c, HTTPS_READ_TIMEOUT_MS) == WAIT_READY) {
    ERR_clear_error();
    if (SSL_accept(c->ssl) == 1) {
      orderly = serve_requests(c);
    } else {
      log_debug("event=tls_handshake_failed");
    }
  }
  if (c->ssl != NULL) {
    if (orderly) SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  ERR_clear_error();
  close(c->fd);
  free(c->buf);
  c->ssl = NULL;
  c->buf = NULL;
  c->len = c->cap = 0;
  c->fd = -1;
  pthread_mutex_lock(&server->mutex);
  CHECK(c->state == SLOT_RUNNING);
  c->state = SLOT_DONE;
  pthread_cond_signal(&server->slot_freed);
  pthread_mutex_unlock(&server->mutex);
  return NULL;
}

/* Joins finished connection threads; returns a free slot or NULL. Holds the mutex. */
static connection *reap_and_find_slot(https_server *server) {
  connection *free_slot = NULL;
  for (size_t i = 0; i < HTTPS_CONNECTIONS_MAX; i++) {
    connection *c = &server->slots[i];
    if (c->state == SLOT_DONE) {
      pthread_join(c->thread, NULL);
      c->state = SLOT_FREE;
    }
    if (c->state == SLOT_FREE && free_slot == NULL) free_slot = c;
  }
  return free_slot;
}

static void set_socket_timeouts(int fd) {
  struct timeval rcv = {.tv_sec = HTTPS_READ_TIMEOUT_MS / 1000};
  struct timeval snd = {.tv_sec = HTTPS_WRITE_TIMEOUT_MS / 1000};
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Waits for a free slot (bounded retries until stop); NULL when stopping. */
static connection *claim_slot(https_server *server) {
  pthread_mutex_lock(&server->mutex);
  connection *slot = reap_and_find_slot(server);
  while (slot == NULL && !atomic_load(&server->stopping)) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ACCEPT_RETRY_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&server->slot_freed, &server->mutex, &until);
    slot = reap_and_find_slot(server);
  }
  pthread_mutex_unlock(&server->mutex);
  return atomic_load(&server->stopping) ? NULL : slot;
}

static void *acceptor_main(void *argument) {
  https_server *server = argument;
  while (!atomic_load(&server->stopping)) {
    connection *slot = claim_slot(server);
    if (slot == NULL) break;
    struct pollfd fds[2] = {{.fd = server->listen_fd, .events = POLLIN},
                            {.fd = server->stop_pipe[0], .events = POLLIN}};
    int n = poll(fds, 2, -1);
    if (n < 0) continue; /* EINTR */
    if (fds[1].revents != 0) break;
    int fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        struct timespec pause = {.tv_sec = 0, .tv_nsec = ACCEPT_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
      }
      continue;
    }
    set_socket_timeouts(fd);
    pthread_mutex_lock(&server->mutex);
    CHECK(slot->state == SLOT_FREE);
    slot->fd = fd;
    slot->server = server;
    slot->state = SLOT_RUNNING;
    if (pthread_create(&slot->thread, NULL, connection_main, slot) != 0) {
      log_warn("event=connection_thread_failed");
      slot->state = SLOT_FREE;
      close(fd);
    }
    pthread_mutex_unlock(&server->mutex);
  }
  return NULL;
}

/* --- Start and stop ------------------------------------------------------------------ */

static SSL_CTX *make_ssl_ctx(const tls_identity *identity) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) return NULL;
  bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
            SSL_CTX_use_certificate(ctx, identity->cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, identity->key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  if (!ok) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static int listen_on(const char *address, int port, int *bound_port) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(fd, HTTPS_LISTEN_BACKLOG) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    close(fd);
    return -1;
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

https_server *https_server_start(const char *address, int port, const tls_identity *identity,
                                 https_handler_fn handler, void *context) {
  CHECK(address != NULL && identity != NULL && handler != NULL);
  CHECK(port >= 0 && port <= 65535);
  https_server *server = calloc(1, sizeof *server);
  if (server == NULL) return NULL;
  server->listen_fd = -1;
  server->stop_pipe[0] = server->stop_pipe[1] = -1;
  server->handler = handler;
  server->context = context;
  pthread_mutex_init(&server->mutex, NULL);
  pthread_cond_init(&server->slot_freed, NULL);
  for (size_t i = 0; i < HTTPS_CONNECTIONS_MAX; i++) server->slots[i].fd = -1;
  server->ssl_ctx = make_ssl_ctx(identity);
  if (server->ssl_ctx == NULL) {
    log_error("event=tls_context_failed");
    goto fail;
  }
  server->listen_fd = listen_on(address, port, &server->port);
  if (server->listen_fd < 0) {
    log_error("event=listen_failed address=%s port=%d errno=%d", address, port, errno);
    goto fail;
  }
  if (pipe2(server->stop_pipe, O_CLOEXEC) != 0) goto fail;
  if (pthread_create(&server->acceptor, NULL, acceptor_main, server) != 0) goto fail;
  return server;
fail:
  if (server->stop_pipe[0] >= 0) close(server->stop_pipe[0]);
  if (server->stop_pipe[1] >= 0) close(server->stop_pipe[1]);
  if (server->listen_fd >= 0) close(server->listen_fd);
  SSL_CTX_free(server->ssl_ctx);
  pthread_cond_destroy(&server->slot_freed);
  pthread_mutex_destroy(&server->mutex);
  free(server);
  return NULL;
}

int https_server_port(const https_server *server) { return server->port; }

void https_server_stop(https_server *server) {
  CHECK(server != NULL);
  atomic_store(&server->stopping, true);
  char byte = 1;
  ssize_t written = write(server->stop_pipe[1], &byte, 1);
  CHECK(written == 1);
  pthread_join(server->acceptor, NULL);
  close(server->listen_fd);
  bool all_joined = true;
  for (size_t i = 0; i < HTTPS_CONNECTIONS_MAX; i++) {
    connection *c = &server->slots[i];
    pthread_mutex_lock(&server->mutex);
    slot_state state = c->state;
    pthread_mutex_unlock(&server->mutex);
    if (state == SLOT_FREE) continue;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HTTPS_STOP_JOIN_MS / 1000;
    if (pthread_timedjoin_np(c->thread, NULL, &until) != 0) {
      log_warn("event=connection_not_joined slot=%zu", i);
      all_joined = false;
      continue;
    }
    c->state = SLOT_FREE;
  }
  /* A thread that did not end still uses the context and the pipe: leave them. */
  if (!all_joined) return;
  close(server->stop_pipe[0]);
  close(server->stop_pipe[1]);
  SSL_CTX_free(server->ssl_ctx);
  pthread_cond_destroy(&server->slot_freed);
  pthread_mutex_destroy(&server->mutex);
  free(server);
}
