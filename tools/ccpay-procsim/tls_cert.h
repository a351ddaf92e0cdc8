/* The sandbox's TLS identity: a fresh EC P-256 key and a self-signed certificate for
 * IP 127.0.0.1 and DNS localhost (in subjectAltName, so a client that trusts the
 * certificate as its CA file also passes host-name verification), valid from an hour
 * ago for TLS_CERT_VALIDITY_DAYS. The key stays in memory; only the certificate is
 * written out. Made once at start, from the main thread. */
#ifndef CCPAY_PROCSIM_TLS_CERT_H
#define CCPAY_PROCSIM_TLS_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

enum { TLS_CERT_VALIDITY_DAYS = 30 };

typedef struct tls_identity {
  EVP_PKEY *key;
  X509 *cert;
} tls_identity;

/* Makes the key and certificate. False (with a message on the log) on failure; nothing
 * to free then. */
bool tls_identity_create(tls_identity *out);

/* Writes the certificate as PEM to path, atomically (a temporary file renamed into
 * place), mode 0644. False on an I/O error (logged). */
bool tls_identity_write_cert(const tls_identity *identity, const char *path);

void tls_identity_destroy(tls_identity *identity);

#endif
