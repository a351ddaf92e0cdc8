#include "digest.h"

#include <pthread.h>

#include "base/check.h"

static pthread_once_t digest_once = PTHREAD_ONCE_INIT;
static EVP_MD *digest_sha256_md; /* never freed: used until the process exits */

static void digest_fetch(void) {
  digest_sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
  CHECK(digest_sha256_md != NULL); /* the default provider always has it */
}

const EVP_MD *digest_sha256(void) {
  CHECK(pthread_once(&digest_once, digest_fetch) == 0);
  return digest_sha256_md;
}
