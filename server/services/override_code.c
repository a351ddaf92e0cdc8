#include "override_code.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"
#include "services.h"
#include "storage/returns.h"

/* Wrong codes per caller, in a fixed table: the oldest window is reused when full. */
typedef struct override_failures {
  char caller[128];
  int64_t window_start_ms;
  int count;
} override_failures;

static pthread_mutex_t failures_mutex = PTHREAD_MUTEX_INITIALIZER;
static override_failures failures[OVERRIDE_CODE_CALLERS_MAX];

/* The slot of caller (mutex held), reset when its window has passed. */
static override_failures *failures_of(const char *caller, int64_t now_ms) {
  override_failures *oldest = &failures[0];
  for (size_t i = 0; i < OVERRIDE_CODE_CALLERS_MAX; i++) {
    override_failures *f = &failures[i];
    if (f->window_start_ms != 0 && strcmp(f->caller, caller) == 0) {
      if (now_ms - f->window_start_ms >= OVERRIDE_CODE_WINDOW_MS) f->count = 0;
      if (f->count == 0) f->window_start_ms = now_ms;
      return f;
    }
    if (f->window_start_ms < oldest->window_start_ms) oldest = f;
  }
  snprintf(oldest->caller, sizeof oldest->caller, "%s", caller);
  oldest->window_start_ms = now_ms;
  oldest->count = 0;
  return oldest;
}

static bool locked(const char *caller, int64_t now_ms) {
  pthread_mutex_lock(&failures_mutex);
  bool out = failures_of(caller, now_ms)->count >= OVERRIDE_CODE_FAILURES_MAX;
  pthread_mutex_unlock(&failures_mutex);
  return out;
}

static void count_failure(const char *caller, int64_t now_ms) {
  pthread_mutex_lock(&failures_mutex);
  failures_of(caller, now_ms)->count++;
  pthread_mutex_unlock(&failures_mutex);
}

ccpay_err override_code_validate(const char *field, const char *code, ccpay_error *error) {
  size_t len = strnlen(code, OVERRIDE_CODE_BYTES_MAX + 1);
  bool letter = false, digit = false, printable = true;
  for (size_t i = 0; i < len; i++) {
    char c = code[i];
    letter = letter || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    digit = digit || (c >= '0' && c <= '9');
    printable = printable && c >= 0x21 && c <= 0x7e;
  }
  if (len == 0) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field);
  if (len < OVERRIDE_CODE_BYTES_MIN || len > OVERRIDE_CODE_BYTES_MAX || !letter || !digit ||
      !printable) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "%s: %d to %d printable characters, with letters and digits", field,
                           OVERRIDE_CODE_BYTES_MIN, OVERRIDE_CODE_BYTES_MAX);
  }
  return CCPAY_OK;
}

static bool derive(const char *code, const uint8_t *salt, size_t salt_len, int iterations,
                   uint8_t out[OVERRIDE_CODE_HASH_BYTES]) {
  return PKCS5_PBKDF2_HMAC(code, (int)strlen(code), salt, (int)salt_len, iterations, EVP_sha256(),
                           OVERRIDE_CODE_HASH_BYTES, out) == 1;
}

ccpay_err override_code_seal(const char *code, uint8_t salt_out[OVERRIDE_CODE_SALT_BYTES],
                             uint8_t hash_out[OVERRIDE_CODE_HASH_BYTES],
                             Ccpay__V1__OverrideCodeRecord *r, ccpay_error *error) {
  if (RAND_bytes(salt_out, OVERRIDE_CODE_SALT_BYTES) != 1 ||
      !derive(code, salt_out, OVERRIDE_CODE_SALT_BYTES, OVERRIDE_CODE_HASH_ITERATIONS, hash_out)) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "override code: OpenSSL failed");
  }
  r->salt.data = salt_out;
  r->salt.len = OVERRIDE_CODE_SALT_BYTES;
  r->hash.data = hash_out;
  r->hash.len = OVERRIDE_CODE_HASH_BYTES;
  r->iterations = OVERRIDE_CODE_HASH_ITERATIONS;
  return CCPAY_OK;
}

/* Whether code is the stored one: 1 yes, 0 no, -1 no code set (error filled then, or
 * on a storage error). */
static int matches(rpc_call *call, const char *code, ccpay_error *error) {
  service_env *env = rpc_call_context(call);
  store_txn *txn = NULL;
  Ccpay__V1__OverrideCodeRecord *r = NULL;
  ccpay_err rc = store_read_begin(env->store, &txn, error);
  if (rc != CCPAY_OK) return -1;
  rc = override_code_get(txn, rpc_call_arena(call), &r, error);
  store_read_end(txn);
  if (rc == CCPAY_ERR_NOT_FOUND) {
    ccpay_error_set(error, CCPAY_ERR_OVERRIDE_NOT_PERMITTED,
                    "override_code: no security override code is set; the override needs the "
                    "alternate-payment permission");
  }
  if (rc != CCPAY_OK) return -1;
  uint8_t computed[OVERRIDE_CODE_HASH_BYTES];
  if (r->hash.len != OVERRIDE_CODE_HASH_BYTES || r->iterations < 1 ||
      !derive(code, r->salt.data, r->salt.len, r->iterations, computed)) {
    ccpay_error_set(error, CCPAY_ERR_INTERNAL, "override code: the stored record is unusable");
    return -1;
  }
  return CRYPTO_memcmp(computed, r->hash.data, OVERRIDE_CODE_HASH_BYTES) == 0;
}

Ccpay__V1__OverrideAuthority override_code_authority(rpc_call *call, const char *code,
                                                     ccpay_error *error) {
  if (rpc_call_has_permission(call, PERMISSION_ALTERNATE_PAYMENT)) {
    return CCPAY__V1__OVERRIDE_AUTHORITY__OVERRIDE_AUTHORITY_PERMISSION;
  }
  if (code[0] == '\0') {
    ccpay_error_set(error, CCPAY_ERR_OVERRIDE_NOT_PERMITTED,
                    "overriding a refund's payment method needs the alternate-payment permission "
                    "or the security override code (override_code)");
    return 0;
  }
  const char *caller = rpc_call_agent_id(call);
  int64_t now_ms = clock_mono_us() / 1000 + 1; /* 0 marks an unused slot */
  if (locked(caller, now_ms)) {
    ccpay_error_set(error, CCPAY_ERR_OVERRIDE_LOCKED,
                    "override_code: too many wrong codes; try again in a few minutes");
    return 0;
  }
  /* A code no set one can be is wrong without hashing it (and bounds the hash's work). */
  int ok = strnlen(code, OVERRIDE_CODE_BYTES_MAX + 1) > OVERRIDE_CODE_BYTES_MAX
               ? 0
               : matches(call, code, error);
  if (ok == 1) return CCPAY__V1__OVERRIDE_AUTHORITY__OVERRIDE_AUTHORITY_OVERRIDE_CODE;
  if (ok == 0) {
    count_failure(caller, now_ms);
    ccpay_error_set(error, CCPAY_ERR_OVERRIDE_CODE_INVALID,
                    "override_code: not the security override code");
  }
  return 0;
}
