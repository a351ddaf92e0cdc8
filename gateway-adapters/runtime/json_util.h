/* Reading processors' JSON answers with jansson: a parse that accepts only an object,
 * and typed look-ups by a dotted path ("latest_charge.outcome.risk_score") that answer
 * "absent" for a missing member, a null, or a value of another type, so mapping code
 * never dereferences what is not there. */
#ifndef CCPAY_GATEWAY_ADAPTERS_RUNTIME_JSON_UTIL_H
#define CCPAY_GATEWAY_ADAPTERS_RUNTIME_JSON_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { JSON_UTIL_PATH_DEPTH_MAX = 8 };

/* The JSON object in body[0..len) (NULL when it is not one, or not JSON); the caller
 * json_decref's it. A UTF-8 byte order mark at the start is skipped. */
json_t *json_util_parse(const char *body, size_t len);

/* The value at path under root (an object), or NULL. */
json_t *json_util_get(const json_t *root, const char *path);

/* The string at path, or NULL (absent, null, or not a string). Owned by root. */
const char *json_util_string(const json_t *root, const char *path);

/* The integer at path; false when absent or not an integer. */
bool json_util_int(const json_t *root, const char *path, int64_t *out);

/* The boolean at path; false when absent or not a boolean. */
bool json_util_bool(const json_t *root, const char *path, bool *out);

#endif
