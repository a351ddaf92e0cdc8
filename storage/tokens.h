/* Agent tokens: the ccpay.v1.Token record under its id, and an index from the SHA-256 of
 * the token's secret to the id. The secret itself is never stored: a caller's bearer
 * token is hashed and looked up (tokens_find_by_hash), so a stolen database yields no
 * usable token. Revocation and expiry are fields of the record, checked on every call
 * (token_check_usable), so they take effect at the next call. */
#ifndef CCPAY_STORAGE_TOKENS_H
#define CCPAY_STORAGE_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/limits.h"
#include "ccpay/v1/admin.pb-c.h"
#include "store.h"

/* A new token's secret: TOKEN_SECRET_BYTES from OpenSSL's RAND_bytes as text ("ccp_" +
 * base64url, TOKEN_TEXT_BYTES characters, NUL-terminated). False when OpenSSL has no
 * randomness to give (then nothing may be issued). */
bool token_secret_generate(char out[TOKEN_TEXT_BYTES + 1]);

/* SHA-256 of a secret's text: what the index keys. */
void token_secret_hash(const char *secret, size_t len, uint8_t out[TOKEN_HASH_BYTES]);

/* Write transaction only. Stores a new token t (t->id must parse as a token id) and its
 * hash's index entry. CCPAY_ERR_INTERNAL when the hash is already indexed. */
ccpay_err tokens_create(store_txn *txn, const Ccpay__V1__Token *t,
                        const uint8_t hash[TOKEN_HASH_BYTES], ccpay_error *error);

/* Write transaction only. Issues a token: the next id, role and agent_id (checked by the
 * caller), created now (the batch's time) by created_by, expiring at expire_ms, with the
 * secret's hash indexed. The record is built in arena a (*out). */
ccpay_err tokens_issue(store_txn *txn, const char *role, const char *agent_id,
                       const char *created_by, int64_t expire_ms,
                       const uint8_t hash[TOKEN_HASH_BYTES], arena *a, Ccpay__V1__Token **out,
                       ccpay_error *error);

/* Write transaction only. Replaces the record of an existing token (a revocation). */
ccpay_err tokens_update(store_txn *txn, const Ccpay__V1__Token *t, ccpay_error *error);

/* Reads token id into arena a. CCPAY_ERR_NOT_FOUND (error filled) when absent. */
ccpay_err tokens_get(store_txn *txn, uint64_t id, arena *a, Ccpay__V1__Token **out,
                     ccpay_error *error);

/* The token whose secret hashes to hash, into arena a. CCPAY_ERR_NOT_FOUND (error not
 * filled) when no token has it. */
ccpay_err tokens_find_by_hash(store_txn *txn, const uint8_t hash[TOKEN_HASH_BYTES], arena *a,
                              Ccpay__V1__Token **out, ccpay_error *error);

/* CCPAY_OK when t may be used at now_ms; else CCPAY_ERR_UNAUTHENTICATED with a message
 * saying whether it was revoked or expired (never the secret). */
ccpay_err token_check_usable(const Ccpay__V1__Token *t, int64_t now_ms, ccpay_error *error);

/* A page of tokens, newest first, starting below before_id (0: from the newest).
 * *next_id is the id to pass next time, 0 at the end. Revoked and expired tokens are
 * skipped unless include_inactive. */
ccpay_err tokens_list(store_txn *txn, uint64_t before_id, unsigned limit, bool include_inactive,
                      int64_t now_ms, arena *a, Ccpay__V1__Token ***out, size_t *count,
                      uint64_t *next_id, ccpay_error *error);

#endif
