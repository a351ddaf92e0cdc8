#include "http_message.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/check.h"

/* The end of the head: the first CRLF CRLF, or NULL. */
static char *find_head_end(char *buf, size_t len) {
  for (size_t i = 0; i + 3 < len; i++) {
    if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
      return buf + i;
    }
  }
  return NULL;
}

static bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
  return s;
}

/* Parses "METHOD /target HTTP/1.x" (NUL-terminated line). */
static http_parse_result parse_request_line(char *line, http_request *request, bool *http11) {
  char *sp1 = strchr(line, ' ');
  if (sp1 == NULL) return HTTP_PARSE_BAD;
  char *sp2 = strchr(sp1 + 1, ' ');
  if (sp2 == NULL) return HTTP_PARSE_BAD;
  *sp1 = '\0';
  *sp2 = '\0';
  const char *method = line, *target = sp1 + 1, *version = sp2 + 1;
  size_t method_len = strlen(method);
  if (method_len == 0 || method_len >= sizeof request->method) return HTTP_PARSE_BAD;
  for (size_t i = 0; i < method_len; i++) {
    if (method[i] < 'A' || method[i] > 'Z') return HTTP_PARSE_BAD;
  }
  memcpy(request->method, method, method_len + 1);
  if (strcmp(version, "HTTP/1.1") == 0) {
    *http11 = true;
  } else if (strcmp(version, "HTTP/1.0") == 0) {
    *http11 = false;
  } else {
    return HTTP_PARSE_BAD;
  }
  if (target[0] != '/') return HTTP_PARSE_BAD;
  const char *question = strchr(target, '?');
  size_t path_len = question != NULL ? (size_t)(question - target) : strlen(target);
  const char *query = question != NULL ? question + 1 : "";
  if (path_len >= sizeof request->path || strlen(query) >= sizeof request->query) {
    return HTTP_PARSE_TOO_LARGE;
  }
  memcpy(request->path, target, path_len);
  request->path[path_len] = '\0';
  memcpy(request->query, query, strlen(query) + 1);
  return HTTP_PARSE_OK;
}

/* Digits only, at most HTTP_BODY_BYTES_MAX + 1 (anything larger is "too large"). */
static http_parse_result parse_content_length(const char *text, size_t *out) {
  if (*text == '\0') return HTTP_PARSE_BAD;
  uint64_t value = 0;
  for (const char *p = text; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return HTTP_PARSE_BAD;
    value = value * 10 + (uint64_t)(*p - '0');
    if (value > HTTP_BODY_BYTES_MAX) return HTTP_PARSE_TOO_LARGE;
  }
  *out = (size_t)value;
  return HTTP_PARSE_OK;
}

static http_parse_result parse_header_line(char *line, http_request *request) {
  char *colon = strchr(line, ':');
  if (colon == NULL || colon == line) return HTTP_PARSE_BAD;
  *colon = '\0';
  for (const char *p = line; *p != '\0'; p++) {
    if (!is_token_char(*p)) return HTTP_PARSE_BAD;
  }
  if (request->header_count >= HTTP_HEADERS_MAX) return HTTP_PARSE_TOO_LARGE;
  http_field *field = &request->headers[request->header_count++];
  field->name = line;
  field->value = trim(colon + 1);
  return HTTP_PARSE_OK;
}

http_parse_result http_parse_head(char *buf, size_t len, http_request *request, size_t *head_len) {
  CHECK(buf != NULL && request != NULL && head_len != NULL);
  char *end = find_head_end(buf, len);
  if (end == NULL) return len >= HTTP_HEAD_BYTES_MAX ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
  *head_len = (size_t)(end - buf) + 4;
  if (*head_len > HTTP_HEAD_BYTES_MAX) return HTTP_PARSE_TOO_LARGE;
  memset(request, 0, sizeof *request);
  end[0] = '\0';
  for (char *p = buf; p < end; p++) {
    if (*p == '\0') return HTTP_PARSE_BAD;
  }
  char *line = buf;
  char *next = strstr(line, "\r\n");
  if (next != NULL) *next = '\0';
  bool http11 = false;
  http_parse_result r = parse_request_line(line, request, &http11);
  if (r != HTTP_PARSE_OK) return r;
  while (next != NULL) {
    line = next + 2;
    next = strstr(line, "\r\n");
    if (next != NULL) *next = '\0';
    r = parse_header_line(line, request);
    if (r != HTTP_PARSE_OK) return r;
  }
  if (http_header_get(request, "Transfer-Encoding") != NULL) return HTTP_PARSE_UNSUPPORTED;
  const char *length = http_header_get(request, "Content-Length");
  if (length != NULL) {
    r = parse_content_length(length, &request->content_length);
    if (r != HTTP_PARSE_OK) return r;
  }
  const char *connection = http_header_get(request, "Connection");
  request->keep_alive = http11 ? !(connection != NULL && strcasecmp(connection, "close") == 0)
                               : (connection != NULL && strcasecmp(connection, "keep-alive") == 0);
  request->body = "";
  return HTTP_PARSE_OK;
}

const char *http_header_get(const http_request *request, const char *name) {
  for (size_t i = 0; i < request->header_count; i++) {
    if (strcasecmp(request->headers[i].name, name) == 0) return request->headers[i].value;
  }
  return NULL;
}

/* --- Forms ---------------------------------------------------------------------------- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes in[0..len) into out (at least len + 1 bytes); false on a bad escape or NUL. */
static bool percent_decode(const char *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= len) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out[o++] = c;
  }
  out[o] = '\0';
  return true;
}

bool form_decode(const char *text, size_t len, form *out) {
  CHECK(text != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  if (len == 0) return true;
  /* Each decoded key and value is no longer than its encoding; 2 NULs per pair. */
  char *storage = malloc(len + 2 * (FORM_PARAMS_MAX + 1));
  if (storage == NULL) return false;
  size_t used = 0;
  size_t start = 0;
  while (start <= len) {
    const char *amp = memchr(text + start, '&', len - start);
    size_t end = amp != NULL ? (size_t)(amp - text) : len;
    if (end > start) {
      if (out->count >= FORM_PARAMS_MAX) goto fail;
      const char *eq = memchr(text + start, '=', end - start);
      size_t key_end = eq != NULL ? (size_t)(eq - text) : end;
      size_t value_start = eq != NULL ? key_end + 1 : end;
      char *key = storage + used;
      if (!percent_decode(text + start, key_end - start, key)) goto fail;
      used += strlen(key) + 1;
      char *value = storage + used;
      if (!percent_decode(text + value_start, end - value_start, value)) goto fail;
      used += strlen(value) + 1;
      out->params[out->count].key = key;
      out->params[out->count].value = value;
      out->count++;
    }
    start = end + 1;
  }
  CHECK(used <= len + 2 * (FORM_PARAMS_MAX + 1));
  out->storage = storage;
  return true;
fail:
  free(storage);
  memset(out, 0, sizeof *out);
  return false;
}

const char *form_get(const form *f, const char *key) {
  for (size_t i = 0; i < f->count; i++) {
    if (strcmp(f->params[i].key, key) == 0) return f->params[i].value;
  }
  return NULL;
}

void form_free(form *f) {
  free(f->storage);
  memset(f, 0, sizeof *f);
}

/* --- Responses ------------------------------------------------------------------------ */

void http_response_init(http_response *response) {
  memset(response, 0, sizeof *response);
  response->status = 500;
  response->disposition = HTTP_RESPOND;
  response->content_type = "application/json";
}

void http_response_clear(http_response *response) {
  free(response->body);
  http_response_init(response);
}

bool http_response_set(http_response *response, int status, const char *content_type,
                       const char *body, size_t body_len) {
  CHECK(status >= 100 && status <= 599);
  free(response->body);
  response->body = NULL;
  response->body_len = 0;
  response->status = status;
  response->content_type = content_type;
  if (body_len == 0) return true;
  response->body = malloc(body_len);
  if (response->body == NULL) {
    response->status = 500;
    return false;
  }
  memcpy(response->body, body, body_len);
  response->body_len = body_len;
  return true;
}

bool http_response_json(http_response *response, int status, const json_t *value,
                        const char *prefix) {
  CHECK(value != NULL);
  char *text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (text == NULL) {
    http_response_set(response, 500, "application/json", NULL, 0);
    return false;
  }
  size_t prefix_len = prefix != NULL ? strlen(prefix) : 0;
  size_t text_len = strlen(text);
  char *body = malloc(prefix_len + text_len);
  if (body == NULL) {
    free(text);
    http_response_set(response, 500, "application/json", NULL, 0);
    return false;
  }
  if (prefix_len > 0) memcpy(body, prefix, prefix_len);
  memcpy(body + prefix_len, text, text_len);
  free(text);
  free(response->body);
  response->status = status;
  response->content_type = prefix_len > 0 ? "application/json; charset=utf-8" : "application/json";
  response->body = body;
  response->body_len = prefix_len + text_len;
  return true;
}

void http_response_add_header(http_response *response, const char *name, const char *value) {
  size_t used = strlen(response->headers);
  size_t need = strlen(name) + 2 + strlen(value) + 2;
  CHECK(used + need < sizeof response->headers);
  CHECK(strpbrk(value, "\r\n") == NULL);
  memcpy(response->headers + used, name, strlen(name));
  used += strlen(name);
  memcpy(response->headers + used, ": ", 2);
  used += 2;
  memcpy(response->headers + used, value, strlen(value));
  used += strlen(value);
  memcpy(response->headers + used, "\r\n", 3);
}

bool http_response_copy(http_response *dst, const http_response *src) {
  http_response_init(dst);
  dst->status = src->status;
  dst->disposition = src->disposition;
  dst->content_type = src->content_type;
  memcpy(dst->headers, src->headers, sizeof dst->headers);
  if (src->body_len == 0) return true;
  dst->body = malloc(src->body_len);
  if (dst->body == NULL) return false;
  memcpy(dst->body, src->body, src->body_len);
  dst->body_len = src->body_len;
  return true;
}

const char *http_status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}
