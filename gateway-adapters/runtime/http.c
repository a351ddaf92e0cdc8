/* HTTPS with libcurl (see http.h). One easy handle per client keeps its connections
 * between requests (curl_easy_reset keeps the connection cache); each attempt sets every
 * option again, so nothing leaks from one request into the next. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/check.h"
#include "base/clock.h"

enum {
  HTTP_HEADER_BYTES_MAX = 1024, /* one extra header line */
  HTTP_HEADERS_MAX = 16,        /* extra headers per request */
  HTTP_BACKOFF_FIRST_MS = 100,  /* before the first resend; doubled after each */
  HTTP_BACKOFF_MAX_MS = 1000,
  HTTP_ATTEMPT_MS_MIN = 50, /* less time than this left: no (further) attempt */
  HTTP_RETRIES_MAX = 10,
};

struct http_client {
  CURL *easy;
  char *ca_file; /* NULL: the system store */
  long connect_timeout_ms;
  long timeout_ms;
  unsigned retries;
  /* The answer being received: body (grows up to HTTP_BODY_BYTES_MAX) and headers. */
  char *body;
  size_t body_len;
  size_t body_capacity;
  bool body_too_large;
  bool transient_error;
  bool replayed;
};

static atomic_bool aborting;

bool http_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }
void http_global_cleanup(void) { curl_global_cleanup(); }
void http_abort_all(void) { atomic_store(&aborting, true); }

http_client *http_client_create(const http_client_options *o) {
  CHECK(o != NULL && o->connect_timeout_ms > 0 && o->timeout_ms > 0);
  http_client *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->easy = curl_easy_init();
  c->ca_file = o->ca_file != NULL && o->ca_file[0] != '\0' ? strdup(o->ca_file) : NULL;
  c->connect_timeout_ms = o->connect_timeout_ms;
  c->timeout_ms = o->timeout_ms;
  c->retries = o->retries <= HTTP_RETRIES_MAX ? o->retries : HTTP_RETRIES_MAX;
  if (c->easy == NULL || (o->ca_file != NULL && o->ca_file[0] != '\0' && c->ca_file == NULL)) {
    http_client_destroy(c);
    return NULL;
  }
  return c;
}

void http_client_destroy(http_client *c) {
  if (c == NULL) return;
  if (c->easy != NULL) curl_easy_cleanup(c->easy);
  free(c->ca_file);
  free(c->body);
  free(c);
}

/* --- libcurl callbacks ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t count, void *argument) {
  http_client *c = argument;
  size_t n = size * count;
  if (n > HTTP_BODY_BYTES_MAX - c->body_len) {
    c->body_too_large = true;
    return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
  }
  if (c->body_len + n + 1 > c->body_capacity) {
    size_t capacity = c->body_capacity == 0 ? 4096 : c->body_capacity;
    while (capacity < c->body_len + n + 1) capacity *= 2;
    char *grown = realloc(c->body, capacity);
    if (grown == NULL) return 0;
    c->body = grown;
    c->body_capacity = capacity;
  }
  memcpy(c->body + c->body_len, data, n);
  c->body_len += n;
  c->body[c->body_len] = '\0';
  return n;
}

/* True when the header line is "name: true" (name compared without case). */
static bool header_is_true(const char *line, size_t len, const char *name) {
  size_t name_len = strlen(name);
  if (len < name_len + 1 || strncasecmp(line, name, name_len) != 0 || line[name_len] != ':') {
    return false;
  }
  const char *value = line + name_len + 1;
  size_t left = len - name_len - 1;
  while (left > 0 && (*value == ' ' || *value == '\t')) value++, left--;
  while (left > 0 && (value[left - 1] == '\r' || value[left - 1] == '\n' ||
                      value[left - 1] == ' ' || value[left - 1] == '\t')) {
    left--;
  }
  return left == 4 && strncasecmp(value, "true", 4) == 0;
}

static size_t on_header(char *line, size_t size, size_t count, void *argument) {
  http_client *c = argument;
  size_t n = size * count;
  if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    /* A new response head (after a 100 Continue, say): forget the previous one's. */
    c->transient_error = false;
    c->replayed = false;
  } else if (header_is_true(line, n, "Transient-Error")) {
    c->transient_error = true;
  } else if (header_is_true(line, n, "Idempotent-Replayed")) {
    c->replayed = true;
  }
  return n;
}

static int on_progress(void *argument, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  return atomic_load(&aborting) ? 1 : 0;
}

/* --- One attempt ---------------------------------------------------------------------- */

/* Whether libcurl failed before the request could have left: resolving, connecting,
 * the TLS handshake or the certificate check. */
static bool failed_before_sending(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    /* Timeouts and our own abort: decided by whether the request had started. */
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK:
      return true;
    default:
      return false;
  }
}

static struct curl_slist *build_headers(const http_request *r, char *error, size_t error_size) {
  struct curl_slist *list = NULL;
  char line[HTTP_HEADER_BYTES_MAX];
  /* No "Expect: 100-continue" pause before larger bodies. */
  list = curl_slist_append(list, "Expect:");
  if (list != NULL) list = curl_slist_append(list, "Accept: application/json");
  if (list != NULL && r->content_type != NULL) {
    snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
    list = curl_slist_append(list, line);
  }
  for (size_t i = 0; list != NULL && i < r->header_count; i++) {
    const http_header *h = &r->headers[i];
    int n = snprintf(line, sizeof line, "%s: %s", h->name, h->value);
    if (n < 0 || (size_t)n >= sizeof line || strpbrk(line, "\r\n") != NULL) {
      /* Names only: a header's value may be a credential. */
      snprintf(error, error_size, "header %.64s: too long or holds a line break", h->name);
      curl_slist_free_all(list);
      return NULL;
    }
    struct curl_slist *next = curl_slist_append(list, line);
    if (next == NULL) curl_slist_free_all(list);
    list = next;
  }
  if (list == NULL && error[0] == '\0') snprintf(error, error_size, "out of memory");
  return list;
}

static void set_options(http_client *c, const http_request *r, struct curl_slist *headers,
                        long timeout_ms, char *curl_error) {
  CURL *e = c->easy;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (c->ca_file != NULL) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   c->connect_timeout_ms < timeout_ms ? c->connect_timeout_ms : timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curl_error);
  if (strcmp(r->method, "GET") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    if (strcmp(r->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "");
  }
}

/* One send. Fills transport, status and error of *response; the body stays in c. */
static void attempt(http_client *c, const http_request *r, long timeout_ms,
                    http_response *response) {
  c->body_len = 0;
  c->body_too_large = false;
  c->transient_error = false;
  c->replayed = false;
  if (c->body != NULL) c->body[0] = '\0';
  response->status = 0;
  response->error[0] = '\0';
  if (atomic_load(&aborting)) {
    response->transport = HTTP_TRANSPORT_NOT_SENT;
    snprintf(response->error, sizeof response->error, "the adapter is stopping");
    return;
  }
  struct curl_slist *headers = build_headers(r, response->error, sizeof response->error);
  if (headers == NULL) {
    response->transport = HTTP_TRANSPORT_NOT_SENT;
    return;
  }
  char curl_error[CURL_ERROR_SIZE] = "";
  set_options(c, r, headers, timeout_ms, curl_error);
  /* libcurl resends a request by itself when a reused connection turns out dead before
   * any answer. Harmless under an idempotency key; without one (Authorize.Net) it could
   * act twice, so such a request always gets a connection of its own. */
  curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, r->idempotent ? 0L : 1L);
  curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, r->idempotent ? 0L : 1L);
  CURLcode code = curl_easy_perform(c->easy);
  curl_off_t pretransfer_us = 0;
  curl_easy_getinfo(c->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &response->status);
  /* The handle must not keep pointers to this attempt's memory. */
  curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(headers);

  if (code == CURLE_OK) {
    response->transport = HTTP_TRANSPORT_OK;
    return;
  }
  response->status = 0;
  /* Only a failure before the request was ready to go (pretransfer not reached) is
   * NOT_SENT; libcurl may resend on a fresh connection by itself, so a connect error
   * after a first try on a reused connection is LOST too. */
  bool not_sent = failed_before_sending(code) && pretransfer_us == 0;
  response->transport = not_sent ? HTTP_TRANSPORT_NOT_SENT : HTTP_TRANSPORT_LOST;
  const char *why = c->body_too_large                   ? "answer body over the size limit"
                    : code == CURLE_ABORTED_BY_CALLBACK ? "aborted: the adapter is stopping"
                    : curl_error[0] != '\0'             ? curl_error
                                                        : curl_easy_strerror(code);
  snprintf(response->error, sizeof response->error, "%s (curl %d)", why, (int)code);
}

static void sleep_ms(long ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

static bool worth_resending(const http_response *response) {
  if (response->transport != HTTP_TRANSPORT_OK) return false;
  long s = response->status;
  return s >= 500 || s == 409 || response->transient_error;
}

void http_send(http_client *c, const http_request *r, arena *a, http_response *response) {
  CHECK(c != NULL && r != NULL && r->method != NULL && r->url != NULL && response != NULL);
  CHECK(r->header_count <= HTTP_HEADERS_MAX);
  memset(response, 0, sizeof *response);
  int64_t start_us = clock_mono_us();
  int64_t deadline_us = r->budget_ms > 0 ? start_us + r->budget_ms * 1000 : INT64_MAX;
  long backoff_ms = HTTP_BACKOFF_FIRST_MS;
  for (;;) {
    long timeout_ms = c->timeout_ms;
    if (deadline_us != INT64_MAX) {
      int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
      if (left_ms < timeout_ms) timeout_ms = (long)(left_ms > 0 ? left_ms : 0);
    }
    if (timeout_ms < HTTP_ATTEMPT_MS_MIN) {
      if (response->attempts == 0) {
        response->transport = HTTP_TRANSPORT_NOT_SENT;
        snprintf(response->error, sizeof response->error,
                 "no time left before the caller's deadline");
      }
      break; /* after a resendable answer: keep it */
    }
    attempt(c, r, timeout_ms, response);
    response->attempts++;
    response->transient_error = c->transient_error;
    response->replayed = c->replayed;
    if (!r->idempotent || !worth_resending(response) || response->attempts > c->retries) break;
    int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
    if (deadline_us != INT64_MAX && left_ms < backoff_ms + HTTP_ATTEMPT_MS_MIN) break;
    sleep_ms(backoff_ms);
    backoff_ms = backoff_ms * 2 < HTTP_BACKOFF_MAX_MS ? backoff_ms * 2 : HTTP_BACKOFF_MAX_MS;
  }
  const char *body = response->transport == HTTP_TRANSPORT_OK && c->body != NULL ? c->body : "";
  size_t len = response->transport == HTTP_TRANSPORT_OK ? c->body_len : 0;
  response->body = arena_strndup(a, body, len);
  response->body_len = len;
  if (response->body == NULL) {
    /* The answer may say money moved: it is not usable, so the outcome is unknown. */
    response->transport = HTTP_TRANSPORT_LOST;
    response->body = "";
    response->body_len = 0;
    snprintf(response->error, sizeof response->error, "out of memory for the answer");
  }
  CHECK(response->attempts >= 1 || response->transport == HTTP_TRANSPORT_NOT_SENT);
}
