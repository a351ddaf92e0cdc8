/* HTTP/1.1 messages for ccpay-procsim: parsing a request head in place, decoding
 * form-encoded parameters (Stripe's bracket-nested keys stay as flat keys such as
 * "metadata[order]"), and building a response that the server serializes.
 *
 * Parsing is separate from I/O: https_server.c reads bytes and hands them here. Only
 * Content-Length bodies are accepted (no chunked requests: libcurl sends a length for
 * the bodies procsim serves). Nothing here locks or blocks; every function is
 * thread-safe on its own arguments. */
#ifndef CCPAY_PROCSIM_HTTP_MESSAGE_H
#define CCPAY_PROCSIM_HTTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum {
  /* Request line and headers together. */
  HTTP_HEAD_BYTES_MAX = 16 * 1024,
  /* A request body; larger ones are answered 413 and the connection is closed. */
  HTTP_BODY_BYTES_MAX = 1024 * 1024,
  HTTP_HEADERS_MAX = 64,
  HTTP_PATH_BYTES_MAX = 2048,
  /* Parameters of one form-encoded body or query string. */
  FORM_PARAMS_MAX = 128,
  /* Extra response header lines ("Name: value\r\n"), all together. */
  HTTP_RESPONSE_HEADERS_BYTES_MAX = 512,
};

typedef struct http_field {
  const char *name; /* NUL-terminated, inside the parsed head */
  const char *value;
} http_field;

/* A parsed request. Pointers refer into the buffer given to http_parse_head (and the
 * body into the buffer the server keeps), valid while the server handles the request. */
typedef struct http_request {
  char method[8];
  char path[HTTP_PATH_BYTES_MAX];  /* without the query string */
  char query[HTTP_PATH_BYTES_MAX]; /* after '?', "" when none */
  http_field headers[HTTP_HEADERS_MAX];
  size_t header_count;
  size_t content_length;
  bool keep_alive;  /* HTTP/1.1 without "Connection: close" */
  const char *body; /* NUL-terminated (the server adds the NUL); "" when none */
  size_t body_len;
} http_request;

typedef enum http_parse_result {
  HTTP_PARSE_OK,
  HTTP_PARSE_INCOMPLETE,  /* no blank line yet: read more */
  HTTP_PARSE_BAD,         /* malformed: answer 400 and close */
  HTTP_PARSE_TOO_LARGE,   /* head or declared body over the limits: 413/431 and close */
  HTTP_PARSE_UNSUPPORTED, /* Transfer-Encoding: answer 501 and close */
} http_parse_result;

/* Parses the head in buf[0..len) (which it modifies: names and values are
 * NUL-terminated in place). On HTTP_PARSE_OK, *head_len is the number of bytes of the
 * head (the body follows) and request is filled except body. */
http_parse_result http_parse_head(char *buf, size_t len, http_request *request, size_t *head_len);

/* The value of a header (case-insensitive name), or NULL. */
const char *http_header_get(const http_request *request, const char *name);

typedef struct form_param {
  char *key; /* percent-decoded, '+' as space */
  char *value;
} form_param;

typedef struct form {
  form_param params[FORM_PARAMS_MAX];
  size_t count;
  char *storage; /* owns every key and value */
} form;

/* Decodes application/x-www-form-urlencoded text. False (out left empty, nothing to
 * free) for a bad percent escape, more than FORM_PARAMS_MAX parameters, a NUL byte or
 * no memory. Keys may repeat; form_get returns the first. */
bool form_decode(const char *text, size_t len, form *out);
const char *form_get(const form *f, const char *key);
void form_free(form *f);

/* What the handler wants done with the exchange. */
typedef enum http_disposition {
  HTTP_RESPOND, /* send the response */
  HTTP_DROP,    /* close the connection without an answer */
} http_disposition;

typedef struct http_response {
  int status;
  http_disposition disposition;
  const char *content_type;                      /* static string */
  char headers[HTTP_RESPONSE_HEADERS_BYTES_MAX]; /* extra "Name: value\r\n" lines */
  char *body;                                    /* malloc'd, owned; may be NULL */
  size_t body_len;
} http_response;

void http_response_init(http_response *response);
void http_response_clear(http_response *response);

/* Sets status and a copy of body. False when out of memory (the response is then a
 * bodiless 500). */
bool http_response_set(http_response *response, int status, const char *content_type,
                       const char *body, size_t body_len);

/* Sets status and the compact JSON of value (which it does not steal), prefixed by
 * prefix (e.g. Authorize.Net's UTF-8 byte order mark; NULL for none). */
bool http_response_json(http_response *response, int status, const json_t *value,
                        const char *prefix);

/* Appends a header line; CHECKs that it fits (headers are few and fixed by the code). */
void http_response_add_header(http_response *response, const char *name, const char *value);

/* A deep copy of src into dst (dst initialised by the call). False when out of memory. */
bool http_response_copy(http_response *dst, const http_response *src);

/* The reason phrase of a status ("OK", "Not Found"...). */
const char *http_status_text(int status);

#endif
