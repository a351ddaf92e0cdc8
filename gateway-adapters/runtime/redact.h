/* Redaction of secrets from text that leaves the process (log lines, error messages,
 * result messages): every occurrence of a secret is replaced by "[redacted]". Pure
 * functions, no state: the runtime holds the secrets (adapter_add_secret) and adds the
 * card token of the request being served. */
#ifndef CCPAY_GATEWAY_ADAPTERS_RUNTIME_REDACT_H
#define CCPAY_GATEWAY_ADAPTERS_RUNTIME_REDACT_H

#include <stddef.h>

#define REDACT_MARK "[redacted]"

/* A secret cut short at the end of a text (a message truncated to its buffer) is
 * redacted too when at least this many of its bytes are there. */
enum { REDACT_PREFIX_BYTES_MIN = 4 };

/* Copies text into out (size >= 1 bytes; always NUL-terminated, truncated to size - 1)
 * replacing every occurrence of any of the count secrets by REDACT_MARK; where secrets
 * overlap at one position the longest wins. NULL and empty secrets are skipped. A text
 * that ends with the first REDACT_PREFIX_BYTES_MIN or more bytes of a secret has that
 * tail redacted. Output never holds a part of a secret that the input held whole.
 * Returns the length written. */
size_t redact_text(const char *text, const char *const *secrets, size_t count, char *out,
                   size_t size);

#endif
