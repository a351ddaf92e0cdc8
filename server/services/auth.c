#include "auth.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "ccpay/v1/admin.pb-c.h"
#include "domain/roles.h"
#include "storage/audit.h"
#include "storage/tokens.h"
#include "timestamps.h"

enum {
  /* Memory for reading one token record. */
  AUTH_ARENA_BYTES = 16 << 10,
  /* A method name kept in a failure's record; memory to build that record. */
  AUTH_METHOD_BYTES_MAX = 128,
  AUTH_RECORD_ARENA_BYTES = 4096,
};

/* Failed authentications of one peer address in its current window. */
typedef struct auth_peer {
  char address[AUTH_PEER_BYTES_MAX]; /* "" for a free slot */
  int64_t window_start_ms;
  unsigned failures;
} auth_peer;

struct auth {
  store *store;
  pthread_mutex_t lock; /* guards everything below */
  auth_peer peers[AUTH_PEERS_TRACKED_MAX];
  /* Failures audited in the current window, all peers together. */
  int64_t audit_window_start_ms;
  unsigned audits;
};

/* A failed authentication's audit record, written by the storage writer; freed in done. */
typedef struct auth_failure {
  store_write write;
  char agent_id[AGENT_ID_BYTES_MAX + 1];
  char role[ROLE_NAME_BYTES_MAX + 1];
  char method[AUTH_METHOD_BYTES_MAX];
  char peer[AUTH_PEER_BYTES_MAX];
  char message[CCPAY_ERROR_MESSAGE_MAX];
} auth_failure;

auth *auth_create(store *s) {
  CHECK(s != NULL);
  auth *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->store = s;
  CHECK(pthread_mutex_init(&a->lock, NULL) == 0);
  return a;
}

void auth_destroy(auth *a) {
  if (a == NULL) return;
  CHECK(pthread_mutex_destroy(&a->lock) == 0);
  free(a);
}

/* "ipv4:127.0.0.1:40112" -> "ipv4:127.0.0.1"; "ipv6:[::1]:40112" -> "ipv6:[::1]". */
static void peer_address(const char *peer, char out[AUTH_PEER_BYTES_MAX]) {
  snprintf(out, AUTH_PEER_BYTES_MAX, "%s", peer);
  char *colon = strrchr(out, ':');
  char *first = strchr(out, ':');
  if (colon != NULL && colon != first) *colon = '\0';
}

/* Counts a failure of peer; false when it is over the limit (refuse without auditing). */
static bool peer_failure_allowed(auth *a, const char *peer) {
  char address[AUTH_PEER_BYTES_MAX];
  peer_address(peer, address);
  int64_t now_ms = clock_mono_us() / 1000;
  CHECK(pthread_mutex_lock(&a->lock) == 0);
  auth_peer *slot = NULL;
  auth_peer *oldest = &a->peers[0];
  for (size_t i = 0; i < AUTH_PEERS_TRACKED_MAX && slot == NULL; i++) {
    auth_peer *p = &a->peers[i];
    if (strcmp(p->address, address) == 0) slot = p;
    if (p->address[0] == '\0' || p->window_start_ms < oldest->window_start_ms) oldest = p;
  }
  if (slot == NULL) { /* a new peer takes a free slot, or the one seen longest ago */
    slot = oldest;
    snprintf(slot->address, sizeof slot->address, "%s", address);
    slot->window_start_ms = now_ms;
    slot->failures = 0;
  }
  if (now_ms - slot->window_start_ms >= AUTH_FAILURE_WINDOW_MS) {
    slot->window_start_ms = now_ms;
    slot->failures = 0;
  }
  bool allowed = slot->failures < AUTH_FAILURES_PER_PEER_MAX;
  if (allowed) slot->failures++;
  CHECK(pthread_mutex_unlock(&a->lock) == 0);
  return allowed;
}

/* Counts one failure's audit record against the global budget; false when the window's
 * budget is spent (logged once per window). */
static bool audit_budget_allows(auth *a) {
  int64_t now_ms = clock_mono_us() / 1000;
  CHECK(pthread_mutex_lock(&a->lock) == 0);
  if (a->audits == 0 || now_ms - a->audit_window_start_ms >= AUTH_FAILURE_WINDOW_MS) {
    a->audit_window_start_ms = now_ms;
    a->audits = 0;
  }
  bool allowed = a->audits < AUTH_FAILURE_AUDITS_PER_WINDOW_MAX;
  bool first_refused = a->audits == AUTH_FAILURE_AUDITS_PER_WINDOW_MAX;
  if (a->audits <= AUTH_FAILURE_AUDITS_PER_WINDOW_MAX) a->audits++;
  CHECK(pthread_mutex_unlock(&a->lock) == 0);
  if (first_refused) {
    log_warn("event=auth_failure_audit_suppressed window_ms=%d audited=%d", AUTH_FAILURE_WINDOW_MS,
             AUTH_FAILURE_AUDITS_PER_WINDOW_MAX);
  }
  return allowed;
}

static ccpay_err failure_execute(store_txn *txn, store_write *w) {
  auth_failure *f = w->context;
  Ccpay__V1__AuditRecord r = CCPAY__V1__AUDIT_RECORD__INIT;
  arena *scratch = arena_create(AUTH_RECORD_ARENA_BYTES);
  if (scratch == NULL) return ccpay_error_set(&w->error, CCPAY_ERR_LIMIT_EXCEEDED, "no memory");
  r.time = timestamp_from_ms(scratch, store_txn_time_ms(txn));
  r.agent_id = f->agent_id;
  r.role = f->role;
  r.method = f->method;
  r.peer = f->peer;
  r.outcome = (char *)ccpay_err_reason(CCPAY_ERR_UNAUTHENTICATED);
  r.message = f->message;
  ccpay_err rc = r.time == NULL ? ccpay_error_set(&w->error, CCPAY_ERR_LIMIT_EXCEEDED, "no memory")
                                : audit_append(txn, &r, &w->error);
  arena_destroy(scratch);
  return rc;
}

static void failure_done(store_write *w) {
  auth_failure *f = w->context;
  if (w->result != CCPAY_OK) {
    log_warn("event=audit_write_failed what=authentication error=%s", ccpay_err_reason(w->result));
  }
  free(f);
}

/* Queues the audit record of a failed authentication (agent and role when the token was
 * known but is revoked or expired). */
static void audit_failure(auth *a, const rpc_auth_request *request, const Ccpay__V1__Token *t,
                          const ccpay_error *error) {
  auth_failure *f = calloc(1, sizeof *f);
  if (f == NULL) return;
  if (t != NULL) {
    snprintf(f->agent_id, sizeof f->agent_id, "%s", t->agent_id);
    snprintf(f->role, sizeof f->role, "%s", t->role);
  }
  snprintf(f->method, sizeof f->method, "%s", request->method);
  snprintf(f->peer, sizeof f->peer, "%s", request->peer);
  snprintf(f->message, sizeof f->message, "%s", error->message);
  f->write = (store_write){.execute = failure_execute, .done = failure_done, .context = f};
  store_write_submit(a->store, &f->write);
}

/* Looks the bearer token up: CCPAY_OK with *out when it names a usable token of a known
 * role; CCPAY_ERR_UNAUTHENTICATED (error filled; *found set when the token exists) when
 * not; other errors from storage. */
static ccpay_err token_lookup(auth *a, const char *bearer, arena *scratch, Ccpay__V1__Token **found,
                              const role_def **r, ccpay_error *error) {
  *found = NULL;
  if (bearer == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNAUTHENTICATED,
                           "authentication required: send `authorization: Bearer <token>`");
  }
  uint8_t hash[TOKEN_HASH_BYTES];
  token_secret_hash(bearer, strlen(bearer), hash);
  store_txn *txn = NULL;
  ccpay_err rc = store_read_begin(a->store, &txn, error);
  if (rc != CCPAY_OK) return rc;
  rc = tokens_find_by_hash(txn, hash, scratch, found, error);
  store_read_end(txn);
  if (rc == CCPAY_ERR_NOT_FOUND) {
    return ccpay_error_set(error, CCPAY_ERR_UNAUTHENTICATED, "the bearer token is not known");
  }
  if (rc != CCPAY_OK) return rc;
  rc = token_check_usable(*found, clock_wall_ms(), error);
  if (rc != CCPAY_OK) return rc;
  *r = roles_find((*found)->role);
  if (*r == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNAUTHENTICATED, "the token %s has an unknown role",
                           (*found)->id);
  }
  return CCPAY_OK;
}

ccpay_err auth_authenticate(void *context, const rpc_auth_request *request, rpc_principal *out,
                            ccpay_error *error) {
  auth *a = context;
  CHECK(a != NULL && request != NULL && out != NULL);
  arena *scratch = arena_create(AUTH_ARENA_BYTES);
  if (scratch == NULL) return ccpay_error_set(error, CCPAY_ERR_INTERNAL, "out of memory");
  Ccpay__V1__Token *t = NULL;
  const role_def *r = NULL;
  ccpay_err rc = token_lookup(a, request->bearer, scratch, &t, &r, error);
  if (rc == CCPAY_OK) {
    snprintf(out->agent_id, sizeof out->agent_id, "%s", t->agent_id);
    snprintf(out->role, sizeof out->role, "%s", r->name);
    out->permissions = r->permissions;
  } else if (rc == CCPAY_ERR_UNAUTHENTICATED) {
    if (peer_failure_allowed(a, request->peer)) {
      if (audit_budget_allows(a)) audit_failure(a, request, t, error);
    } else {
      rc = ccpay_error_set(error, CCPAY_ERR_AUTH_RATE_LIMITED,
                           "too many failed authentications from this address; retry in a "
                           "minute");
    }
  }
  arena_destroy(scratch);
  return rc;
}
