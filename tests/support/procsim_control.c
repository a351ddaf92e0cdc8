#include "procsim_control.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

enum { RESPONSE_BYTES_MAX = 4 << 20, CONTROL_TIMEOUT_MS = 10000 };

typedef struct buffer {
  char *data;
  size_t len;
  bool overflow;
} buffer;

static size_t collect(char *bytes, size_t size, size_t count, void *context) {
  buffer *b = context;
  size_t n = size * count;
  if (b->len + n + 1 > RESPONSE_BYTES_MAX) {
    b->overflow = true;
    return 0;
  }
  char *grown = realloc(b->data, b->len + n + 1);
  if (grown == NULL) return 0;
  b->data = grown;
  memcpy(b->data + b->len, bytes, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* One request to the control API; the body of a 2xx answer in *out (free it). */
static bool control_request(const procsim_control *c, const char *method, const char *path,
                            const char *json, buffer *out) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", c->base_url, path);
  CURL *curl = curl_easy_init();
  if (curl == NULL) return false;
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)CONTROL_TIMEOUT_MS);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
  if (json != NULL) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || status / 100 != 2) {
    fprintf(stderr, "procsim %s %s: %s, HTTP %ld: %s\n", method, path, curl_easy_strerror(rc),
            status, out->data != NULL ? out->data : "");
    return false;
  }
  return true;
}

bool procsim_inject(const procsim_control *c, const char *processor, const char *path_contains,
                    const char *fault, int count) {
  json_t *body = json_pack("{s:s, s:s, s:s, s:i}", "processor", processor, "path_contains",
                           path_contains, "fault", fault, "count", count);
  char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
  buffer out = {0};
  bool ok = text != NULL && control_request(c, "POST", "/procsim/faults", text, &out);
  free(out.data);
  free(text);
  json_decref(body);
  return ok;
}

bool procsim_clear_faults(const procsim_control *c) {
  buffer out = {0};
  bool ok = control_request(c, "POST", "/procsim/faults/clear", "{}", &out);
  free(out.data);
  return ok;
}

static void copy_text(char *out, const json_t *object, const char *key) {
  const char *text = json_string_value(json_object_get(object, key));
  snprintf(out, PROCSIM_TEXT_BYTES, "%s", text != NULL ? text : "");
}

bool procsim_read_ledger(const procsim_control *c, procsim_ledger *out) {
  memset(out, 0, sizeof *out);
  buffer body = {0};
  if (!control_request(c, "GET", "/procsim/ledger", NULL, &body)) {
    free(body.data);
    return false;
  }
  json_error_t error;
  json_t *root = json_loads(body.data, 0, &error);
  free(body.data);
  json_t *payments = json_object_get(root, "payments");
  if (!json_is_array(payments)) {
    fprintf(stderr, "procsim ledger: no payments array (%s)\n", error.text);
    json_decref(root);
    return false;
  }
  size_t i;
  json_t *p;
  json_array_foreach(payments, i, p) {
    if (out->count >= PROCSIM_PAYMENTS_MAX) break;
    procsim_payment *dst = &out->payments[out->count++];
    copy_text(dst->processor, p, "processor");
    copy_text(dst->reference, p, "reference");
    copy_text(dst->merchant_reference, p, "merchant_reference");
    copy_text(dst->status, p, "status");
    dst->authorized = json_integer_value(json_object_get(p, "authorized"));
    dst->captured = json_integer_value(json_object_get(p, "captured"));
    dst->refunded = json_integer_value(json_object_get(p, "refunded"));
  }
  json_decref(root);
  return true;
}

const procsim_payment *procsim_find(const procsim_ledger *l, const char *reference) {
  for (size_t i = 0; i < l->count; i++) {
    if (strcmp(l->payments[i].reference, reference) == 0) return &l->payments[i];
  }
  return NULL;
}
