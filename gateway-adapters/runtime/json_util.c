#include "json_util.h"

#include <string.h>

json_t *json_util_parse(const char *body, size_t len) {
  if (body == NULL) return NULL;
  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
    body += 3;
    len -= 3;
  }
  json_error_t error;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
  if (root != NULL && !json_is_object(root)) {
    json_decref(root);
    root = NULL;
  }
  return root;
}

json_t *json_util_get(const json_t *root, const char *path) {
  if (root == NULL || path == NULL) return NULL;
  json_t *node = (json_t *)root;
  const char *at = path;
  for (int depth = 0; depth < JSON_UTIL_PATH_DEPTH_MAX; depth++) {
    if (!json_is_object(node)) return NULL;
    const char *dot = strchr(at, '.');
    size_t len = dot != NULL ? (size_t)(dot - at) : strlen(at);
    node = json_object_getn(node, at, len);
    if (node == NULL || dot == NULL) return node != NULL && !json_is_null(node) ? node : NULL;
    at = dot + 1;
  }
  return NULL;
}

const char *json_util_string(const json_t *root, const char *path) {
  json_t *value = json_util_get(root, path);
  return json_is_string(value) ? json_string_value(value) : NULL;
}

bool json_util_int(const json_t *root, const char *path, int64_t *out) {
  json_t *value = json_util_get(root, path);
  if (!json_is_integer(value)) return false;
  *out = (int64_t)json_integer_value(value);
  return true;
}

bool json_util_bool(const json_t *root, const char *path, bool *out) {
  json_t *value = json_util_get(root, path);
  if (!json_is_boolean(value)) return false;
  *out = json_is_true(value);
  return true;
}
