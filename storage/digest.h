/* SHA-256 as storage hashes token secrets and idempotency keys' requests.
 *
 * OpenSSL 3 looks a digest up in its provider store (EVP_MD_fetch, under a lock) at
 * every EVP_DigestInit given EVP_sha256(); this hands out one digest fetched once, so a
 * call's hash costs only the hashing. Thread-safe. */
#ifndef CCPAY_STORAGE_DIGEST_H
#define CCPAY_STORAGE_DIGEST_H

#include <openssl/evp.h>

/* The SHA-256 digest, fetched on first use and kept for the life of the process. */
const EVP_MD *digest_sha256(void);

#endif
