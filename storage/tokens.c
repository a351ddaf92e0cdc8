#include "tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "base/check.h"
#include "digest.h"
#include "ids.h"
#include "keys.h"

static const char token_prefix[] = "ccp_";

bool token_secret_generate(char out[TOKEN_TEXT_BYTES + 1]) {
  uint8_t bytes[TOKEN_SECRET_BYTES];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  /* Standard base64 (with padding), then the URL-safe alphabet without padding, so the
   * token survives headers, shells and URLs unquoted. */
  char encoded[4 * ((TOKEN_SECRET_BYTES + 2) / 3) + 1];
  int len = EVP_EncodeBlock((unsigned char *)encoded, bytes, (int)sizeof bytes);
  OPENSSL_cleanse(bytes, sizeof bytes);
  CHECK(len > 0 && (size_t)len < sizeof encoded);
  while (len > 0 && encoded[len - 1] == '=') len--;
  CHECK((size_t)len + 4 == TOKEN_TEXT_BYTES);
  memcpy(out, token_prefix, 4);
  for (int i = 0; i < len; i++) {
    char ch = encoded[i];
    out[4 + i] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  }
  out[TOKEN_TEXT_BYTES] = '\0';
  OPENSSL_cleanse(encoded, sizeof encoded);
  return true;
}

void token_secret_hash(const char *secret, size_t len, uint8_t out[TOKEN_HASH_BYTES]) {
  CHECK(secret != NULL && out != NULL);
  unsigned int out_len = 0;
  CHECK(EVP_Digest(secret, len, out, &out_len, digest_sha256(), NULL) == 1);
  CHECK(out_len == TOKEN_HASH_BYTES);
}

static uint64_t token_id_value(const Ccpay__V1__Token *t) {
  uint64_t id = 0;
  CHECK(t != NULL && t->id != NULL);
  CHECK(id_parse(ID_TOKEN, t->id, &id));
  return id;
}

ccpay_err tokens_create(store_txn *txn, const Ccpay__V1__Token *t,
                        const uint8_t hash[TOKEN_HASH_BYTES], ccpay_error *error) {
  uint64_t id = token_id_value(t);
  CHECK(t->role[0] != '\0' && t->agent_id[0] != '\0');
  store_val existing;
  ccpay_err err = store_get(txn, STORE_DB_TOKENS_BY_HASH, hash, TOKEN_HASH_BYTES, &existing, error);
  if (err == CCPAY_OK) {
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "a token with the same secret exists");
  }
  if (err != CCPAY_ERR_NOT_FOUND) return err;
  uint8_t key[8];
  key_put_u64(key, id);
  err = store_put_message(txn, STORE_DB_TOKENS, key, sizeof key, &t->base, error);
  if (err != CCPAY_OK) return err;
  return store_put(txn, STORE_DB_TOKENS_BY_HASH, hash, TOKEN_HASH_BYTES, key, sizeof key, error);
}

static Google__Protobuf__Timestamp *timestamp_ms_new(arena *a, int64_t ms) {
  Google__Protobuf__Timestamp *t = arena_alloc(a, sizeof *t);
  if (t == NULL) return NULL;
  google__protobuf__timestamp__init(t);
  CHECK(ms >= 0);
  t->seconds = ms / 1000;
  t->nanos = (int32_t)(ms % 1000) * 1000000;
  return t;
}

ccpay_err tokens_issue(store_txn *txn, const char *role, const char *agent_id,
                       const char *created_by, int64_t expire_ms,
                       const uint8_t hash[TOKEN_HASH_BYTES], arena *a, Ccpay__V1__Token **out,
                       ccpay_error *error) {
  CHECK(role != NULL && agent_id != NULL && created_by != NULL && out != NULL);
  int64_t now_ms = store_txn_time_ms(txn);
  CHECK(expire_ms > now_ms);
  uint64_t id = 0;
  ccpay_err err = id_next(txn, &id, error);
  if (err != CCPAY_OK) return err;
  Ccpay__V1__Token *t = arena_alloc(a, sizeof *t);
  char *id_text = arena_alloc(a, ID_TEXT_BYTES_MAX);
  if (t == NULL || id_text == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "out of call memory");
  }
  ccpay__v1__token__init(t);
  id_format(ID_TOKEN, id, id_text);
  t->id = id_text;
  t->role = (char *)role;
  t->agent_id = (char *)agent_id;
  t->created_by = (char *)created_by;
  t->create_time = timestamp_ms_new(a, now_ms);
  t->expire_time = timestamp_ms_new(a, expire_ms);
  if (t->create_time == NULL || t->expire_time == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "out of call memory");
  }
  err = tokens_create(txn, t, hash, error);
  if (err == CCPAY_OK) *out = t;
  return err;
}

ccpay_err tokens_update(store_txn *txn, const Ccpay__V1__Token *t, ccpay_error *error) {
  uint8_t key[8];
  key_put_u64(key, token_id_value(t));
  store_val existing;
  ccpay_err err = store_get(txn, STORE_DB_TOKENS, key, sizeof key, &existing, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_NOT_FOUND, "token %s not found", t->id);
  }
  if (err != CCPAY_OK) return err;
  return store_put_message(txn, STORE_DB_TOKENS, key, sizeof key, &t->base, error);
}

ccpay_err tokens_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Token **out,
                     ccpay_error *error) {
  ProtobufCMessage *message = NULL;
  ccpay_err err = id_get_record(txn, STORE_DB_TOKENS, ID_TOKEN, id, &ccpay__v1__token__descriptor,
                                a, &message, error);
  if (err == CCPAY_OK) *out = (Ccpay__V1__Token *)message;
  return err;
}

ccpay_err tokens_find_by_hash(store_txn *txn, const uint8_t hash[TOKEN_HASH_BYTES], arena *a,
                              Ccpay__V1__Token **out, ccpay_error *error) {
  store_val value;
  ccpay_err err = store_get(txn, STORE_DB_TOKENS_BY_HASH, hash, TOKEN_HASH_BYTES, &value, error);
  if (err != CCPAY_OK) return err;
  if (value.len != 8) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt entry in tokens_by_hash");
  }
  err = tokens_get(txn, key_get_u64(value.data), a, out, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "tokens_by_hash names a missing token");
  }
  return err;
}

static int64_t timestamp_ms(const Google__Protobuf__Timestamp *t) {
  return t == NULL ? 0 : t->seconds * 1000 + t->nanos / 1000000;
}

ccpay_err token_check_usable(const Ccpay__V1__Token *t, int64_t now_ms, ccpay_error *error) {
  CHECK(t != NULL);
  if (t->revoke_time != NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNAUTHENTICATED, "the token %s was revoked", t->id);
  }
  if (t->expire_time != NULL && timestamp_ms(t->expire_time) <= now_ms) {
    return ccpay_error_set(error, CCPAY_ERR_UNAUTHENTICATED, "the token %s has expired", t->id);
  }
  return CCPAY_OK;
}

ccpay_err tokens_list(store_txn *txn, uint64_t before_id, unsigned limit, bool include_inactive,
                      int64_t now_ms, arena *a, Ccpay__V1__Token ***out, size_t *count,
                      uint64_t *next_id, ccpay_error *error) {
  CHECK(limit > 0 && limit <= PAGE_SIZE_MAX);
  *count = 0;
  *next_id = 0;
  *out = arena_calloc(a, limit * sizeof **out);
  if (*out == NULL) return ccpay_error_set(error, CCPAY_ERR_LIMIT_EXCEEDED, "out of call memory");
  store_cursor *c = NULL;
  ccpay_err err = store_cursor_open(txn, STORE_DB_TOKENS, &c, error);
  if (err != CCPAY_OK) return err;
  uint8_t key[8];
  key_put_u64(key, before_id == 0 ? UINT64_MAX : before_id - 1);
  store_val k, v;
  bool found = store_cursor_seek(c, STORE_BACKWARD, key, sizeof key, &k, &v);
  while (found && err == CCPAY_OK) {
    if (k.len != 8) {
      err = ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt key in tokens");
      break;
    }
    uint64_t id = key_get_u64(k.data);
    if (*count == limit) {
      *next_id = id + 1;
      break;
    }
    ProtobufCAllocator allocator = arena_protobuf_allocator(a);
    Ccpay__V1__Token *t = ccpay__v1__token__unpack(&allocator, v.len, v.data);
    if (t == NULL) {
      err = ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record in tokens");
      break;
    }
    if (include_inactive || token_check_usable(t, now_ms, NULL) == CCPAY_OK) (*out)[(*count)++] = t;
    found = store_cursor_step(c, STORE_BACKWARD, &k, &v);
  }
  if (err == CCPAY_OK) err = store_cursor_error(c, error);
  store_cursor_close(c);
  return err;
}
