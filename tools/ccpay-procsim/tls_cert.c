#include "tls_cert.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/log.h"

enum { SERIAL_BYTES = 16, BACKDATE_SECONDS = 3600 };

static void log_openssl_error(const char *what) {
  char text[256];
  ERR_error_string_n(ERR_get_error(), text, sizeof text);
  char quoted[300];
  log_error("event=tls_cert_failed step=%s error=%s", what, log_quote(text, quoted, sizeof quoted));
}

/* Adds one v3 extension written in OpenSSL's configuration syntax. */
static bool add_extension(X509 *cert, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

static bool set_random_serial(X509 *cert) {
  unsigned char bytes[SERIAL_BYTES];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f; /* a positive serial */
  BIGNUM *bn = BN_bin2bn(bytes, sizeof bytes, NULL);
  if (bn == NULL) return false;
  bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
  BN_free(bn);
  return ok;
}

static bool fill_certificate(X509 *cert, EVP_PKEY *key) {
  X509_NAME *name = X509_get_subject_name(cert);
  bool ok =
      X509_set_version(cert, 2) == 1 && set_random_serial(cert) &&
      X509_gmtime_adj(X509_getm_notBefore(cert), -BACKDATE_SECONDS) != NULL &&
      X509_gmtime_adj(X509_getm_notAfter(cert), (long)TLS_CERT_VALIDITY_DAYS * 86400) != NULL &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"ccpay sandbox",
                                 -1, -1, 0) == 1 &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ccpay-procsim",
                                 -1, -1, 0) == 1 &&
      X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1;
  /* CA:TRUE so that the certificate may serve as its own trust anchor in a CA file. */
  ok = ok && add_extension(cert, NID_basic_constraints, "critical,CA:TRUE") &&
       add_extension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
       add_extension(cert, NID_ext_key_usage, "serverAuth") &&
       add_extension(cert, NID_subject_key_identifier, "hash") &&
       add_extension(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  return ok && X509_sign(cert, key, EVP_sha256()) > 0;
}

bool tls_identity_create(tls_identity *out) {
  CHECK(out != NULL);
  memset(out, 0, sizeof *out);
  EVP_PKEY *key = EVP_EC_gen("P-256");
  if (key == NULL) {
    log_openssl_error("keygen");
    return false;
  }
  X509 *cert = X509_new();
  if (cert == NULL || !fill_certificate(cert, key)) {
    log_openssl_error("certificate");
    X509_free(cert);
    EVP_PKEY_free(key);
    return false;
  }
  out->key = key;
  out->cert = cert;
  return true;
}

bool tls_identity_write_cert(const tls_identity *identity, const char *path) {
  CHECK(identity->cert != NULL);
  char temp[PATH_MAX];
  int n = snprintf(temp, sizeof temp, "%s.tmp", path);
  if (n <= 0 || n >= (int)sizeof temp) return false;
  FILE *f = fopen(temp, "w");
  if (f == NULL) {
    log_error("event=write_failed path=%s errno=%d", temp, errno);
    return false;
  }
  bool ok = PEM_write_X509(f, identity->cert) == 1;
  ok = fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(temp, path) != 0) {
    log_error("event=write_failed path=%s errno=%d", path, errno);
    unlink(temp);
    return false;
  }
  return true;
}

void tls_identity_destroy(tls_identity *identity) {
  X509_free(identity->cert);
  EVP_PKEY_free(identity->key);
  memset(identity, 0, sizeof *identity);
}
