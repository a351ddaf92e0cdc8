/* Authentication of ccpayd's callers: the rpc runtime's authenticator (rpc.h). A bearer
 * token is hashed (SHA-256) and looked up in a read snapshot (storage/tokens.h); it must
 * exist, not be revoked and not be expired — checked on every call, so a revocation or
 * an expiry takes effect at the next one. Its role (domain/roles.h) gives the caller's
 * permissions.
 *
 * A failed authentication is refused with UNAUTHENTICATED and appended to the audit
 * trail through the storage writer (not waited for). Failures are counted per peer
 * address (the port aside): past AUTH_FAILURES_PER_PEER_MAX in AUTH_FAILURE_WINDOW_MS,
 * that peer's failing calls are refused with RESOURCE_EXHAUSTED / TOO_MANY_AUTH_FAILURES
 * before any audit write, so an attacker cannot fill the disk; a valid token is still
 * served. Across all peers at most AUTH_FAILURE_AUDITS_PER_WINDOW_MAX failures are
 * audited per window (then one warning line), so many addresses cannot either. Tokens
 * are 256-bit random values, so the limits are about load, not guessing. */
#ifndef CCPAY_SERVICES_AUTH_H
#define CCPAY_SERVICES_AUTH_H

#include "base/error.h"
#include "rpc/rpc.h"
#include "storage/store.h"

typedef struct auth auth;

/* The authenticator of store s's tokens. NULL only when out of memory. */
auth *auth_create(store *s);

/* After the rpc server has stopped (no call may be authenticating) and before the store
 * closes: the audit writes it queued finish in store_close. */
void auth_destroy(auth *a);

/* The rpc_authenticate_fn; context is an auth. */
ccpay_err auth_authenticate(void *context, const rpc_auth_request *request, rpc_principal *out,
                            ccpay_error *error);

#endif
