/* application/x-www-form-urlencoded bodies, as Stripe takes them: key=value pairs joined
 * by '&', with bracket nesting kept flat in the key ("metadata[order]=...",
 * "payment_method_options[card][request_multicapture]=if_available").
 *
 * Encoding: in values every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~) is sent
 * as %XX (space as %20); keys are encoded the same way except '[' and ']', which stay
 * as they are (as Stripe's own libraries send them). The body lives in an arena with a
 * fixed capacity; past it the body is marked overflowed and form_body_text returns
 * NULL. */
#ifndef CCPAY_GATEWAY_ADAPTERS_RUNTIME_FORM_H
#define CCPAY_GATEWAY_ADAPTERS_RUNTIME_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

enum { FORM_BODY_BYTES_MAX = 16 << 10 };

typedef struct form_body {
  char *text; /* NUL-terminated while not overflowed */
  size_t len;
  size_t capacity; /* bytes of text, NUL included */
  bool overflowed; /* a pair did not fit (or the arena was exhausted) */
} form_body;

/* An empty body of at most capacity - 1 bytes (<= FORM_BODY_BYTES_MAX) from arena a. */
void form_body_init(form_body *f, arena *a, size_t capacity);

/* Appends key=value (both encoded). A pair that does not fit is not added in part. */
void form_body_add(form_body *f, const char *key, const char *value);
void form_body_add_int(form_body *f, const char *key, int64_t value);

/* The body, or NULL when something did not fit. */
const char *form_body_text(const form_body *f);

/* Encodes text into out (size bytes, NUL-terminated) as form_body does a value, or as a
 * key when key is true. Returns the encoded length, or (size_t)-1 when it does not fit. */
size_t form_encode(const char *text, bool key, char *out, size_t size);

#endif
