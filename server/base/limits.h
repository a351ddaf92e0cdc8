/* Every limit of ccpay in one place, units last in the name. Relations between them are
 * checked at compile time below. Changing one is a product decision: the API docs quote
 * them. */
#ifndef CCPAY_BASE_LIMITS_H
#define CCPAY_BASE_LIMITS_H

enum {
  /* Largest request message accepted; bigger ones get RESOURCE_EXHAUSTED from gRPC. */
  REQUEST_BYTES_MAX = 1 << 20,
  /* What one call may allocate while decoding, handling and encoding. */
  CALL_ARENA_BYTES_MAX = 16 << 20,

  /* request_id: 1..128 printable ASCII bytes. */
  REQUEST_ID_BYTES_MAX = 128,

  /* List pages: page_size 0 means the default; more than the maximum is refused. */
  PAGE_SIZE_DEFAULT = 50,
  PAGE_SIZE_MAX = 200,
  PAGE_TOKEN_BYTES_MAX = 2 * (1 + 511), /* hex of a listing byte and a key */

  /* Customer fields. */
  CUSTOMER_NAME_BYTES_MAX = 200,
  CUSTOMER_EMAIL_BYTES_MAX = 254,
  CUSTOMER_PHONE_BYTES_MAX = 32,
  CUSTOMER_PHONE_DIGITS_MIN = 5,
  CUSTOMER_PAYMENT_TERMS_DAYS_MAX = 365,

  /* Orders. */
  ORDER_LINES_MAX = 200,
  ORDER_CHARGES_MAX = 10,
  ORDER_LINE_QUANTITY_MAX = 1000000,
  ORDER_SKU_BYTES_MAX = 64,
  ORDER_DESCRIPTION_BYTES_MAX = 200,
  ORDER_SOURCE_CODE_BYTES_MAX = 32,
  ORDER_HOLD_CODE_BYTES_MAX = 32,
  ORDER_REASON_BYTES_MAX = 200,
  ORDER_CHARGE_CODE_BYTES_MAX = 32,

  /* Payments. */
  PAYMENTS_PER_ORDER_MAX = 20,
  TRANSACTIONS_PER_PAYMENT_MAX = 100,
  PAYMENT_TOKEN_BYTES_MAX = 255,
  PAYMENT_BRAND_BYTES_MAX = 32,
  PAYMENT_HOLDER_NAME_BYTES_MAX = 100,
  PAYMENT_POSTAL_CODE_BYTES_MAX = 16,
  PAYMENT_CHECK_NUMBER_BYTES_MAX = 32,
  PAYMENT_REFERENCE_BYTES_MAX = 64,
  PAYMENT_PROCESSOR_BYTES_MAX = 32,
  /* Returns: lines of one return; refund lines of a return or of an order's excess
   * funds (one per original payment, plus a credit to the customer's account). */
  RETURN_LINES_MAX = ORDER_LINES_MAX,
  RETURN_REASON_CODE_BYTES_MAX = 32,
  REFUND_LINES_MAX = 2 * PAYMENTS_PER_ORDER_MAX + 2,
  REFUND_REASON_BYTES_MAX = 200,
  /* Refund methods of cash and check orders: one per currency at most. */
  REFUND_METHODS_MAX = 64,
  /* The security override code: its length, the cost of its salted hash
   * (PBKDF2-HMAC-SHA256), and how many wrong codes one caller may give in a window
   * before overrides by code are locked for it until the window passes. */
  OVERRIDE_CODE_BYTES_MIN = 8,
  OVERRIDE_CODE_BYTES_MAX = 64,
  OVERRIDE_CODE_HASH_ITERATIONS = 100000,
  OVERRIDE_CODE_FAILURES_MAX = 5,
  OVERRIDE_CODE_WINDOW_MS = 5 * 60 * 1000,
  OVERRIDE_CODE_CALLERS_MAX = 256,
  /* Internal gift card and loyalty card numbers. */
  STORED_VALUE_NUMBER_BYTES_MIN = 6,
  STORED_VALUE_NUMBER_BYTES_MAX = 32,
  /* Processor operations in flight at once (gateway worker threads). */
  PAYMENT_GATEWAY_THREADS = 8,
  /* How long ccpayd waits for an adapter's answer before the outcome is UNKNOWN. */
  PAYMENT_GATEWAY_CALL_TIMEOUT_MS = 30000,
  /* The recovery loop: how often it looks for open transactions, how many it takes per
   * round, and how long a transaction must be left alone before it asks about it. */
  PAYMENT_RECOVERY_INTERVAL_MS = 1000,
  PAYMENT_RECOVERY_BATCH = 32,
  PAYMENT_RECOVERY_GRACE_MS = 2000,

  /* Write path: commands in one LMDB transaction, and commands waiting for the writer
   * before new writes are refused with RESOURCE_EXHAUSTED. */
  STORE_BATCH_COMMANDS_MAX = 256,
  STORE_QUEUE_COMMANDS_MAX = 16384,
  /* Ended read transactions kept reset for reuse (mdb_txn_renew: no allocation and no
   * reader-table lock per read). Each holds an LMDB reader slot (126 by default) but no
   * snapshot. */
  STORE_READ_TXNS_KEPT = 32,
  /* Largest key LMDB accepts by default (mdb_env_get_maxkeysize). */
  STORE_KEY_BYTES_MAX = 511,
  /* A write that fails with an I/O error while the data dir's filesystem has less than
   * this free is reported as a full disk: LMDB answers EIO, not ENOSPC, to a short write. */
  STORE_DISK_FULL_FREE_BYTES_MAX = 1 << 20,

  /* Worker threads polling completion queues. */
  SERVER_THREADS_MAX = 64,
  /* Calls requested in advance per method and queue. */
  SERVER_CALLS_REQUESTED_PER_METHOD = 8,
  /* How long shutdown waits for in-flight calls before cancelling them. */
  SHUTDOWN_DRAIN_MS = 5000,
  /* How deep the request check (rpc_wire.h) follows nested messages; deeper ones are
   * refused as malformed. The API nests four levels at most. */
  RPC_WIRE_DEPTH_MAX = 16,

  /* gRPC client (server/rpc/rpc_client.h): longest target; how long a call waits for a
   * channel that is still connecting before failing fast as never sent; how long past
   * its deadline a call may take to end before it is cancelled; reconnect back-off to a
   * local peer. */
  RPC_CLIENT_TARGET_BYTES_MAX = 256,
  RPC_CLIENT_CONNECT_WAIT_MS = 1000,
  RPC_CLIENT_GRACE_MS = 2000,
  RPC_CLIENT_RECONNECT_BACKOFF_MS_MIN = 100,
  RPC_CLIENT_RECONNECT_BACKOFF_MS_MAX = 1000,

  /* Gateway adapters (server/gateway): how many ccpayd supervises; a name ([a-z0-9_],
   * also the processor's name and the socket's file name); a unix socket path
   * (sizeof sun_path, NUL included). */
  GATEWAY_ADAPTERS_MAX = 8,
  GATEWAY_ADAPTER_NAME_BYTES_MAX = 32,
  GATEWAY_SOCKET_PATH_BYTES_MAX = 108,
  /* Settings' defaults and bounds: how long a (re)started adapter has to answer health
   * checks before it is killed and started again; a call's deadline. */
  GATEWAY_START_TIMEOUT_MS_DEFAULT = 10000,
  GATEWAY_START_TIMEOUT_MS_MIN = 100,
  GATEWAY_START_TIMEOUT_MS_MAX = 120000,
  GATEWAY_CALL_TIMEOUT_MS_DEFAULT = 30000,
  GATEWAY_CALL_TIMEOUT_MS_MIN = 10,
  GATEWAY_CALL_TIMEOUT_MS_MAX = 300000,
  /* Restart back-off after an adapter exits: doubling from MIN to MAX, back to MIN once
   * an adapter has stayed up STABLE_MS. */
  GATEWAY_RESTART_BACKOFF_MS_MIN = 100,
  GATEWAY_RESTART_BACKOFF_MS_MAX = 5000,
  GATEWAY_RESTART_STABLE_MS = 30000,
  /* How often the supervisor looks for exited adapters, and health-checks running ones;
   * a health check's deadline; unanswered connection attempts in a row (the socket gone
   * or refusing) before a running adapter is restarted. A slow answer never counts: a
   * busy adapter is not a broken one. */
  GATEWAY_POLL_MS = 20,
  GATEWAY_HEALTH_INTERVAL_MS = 2000,
  GATEWAY_HEALTH_TIMEOUT_MS = 1000,
  GATEWAY_HEALTH_FAILURES_MAX = 3,
  /* After SIGTERM, how long an adapter has to drain its calls (it waits up to
   * SHUTDOWN_DRAIN_MS) and exit before SIGKILL. */
  GATEWAY_STOP_TIMEOUT_MS = 7000,
  /* Currencies kept from an adapter's Capabilities. */
  GATEWAY_CURRENCIES_MAX = 32,

  /* --- Security ------------------------------------------------------------------------ */
  /* Agent tokens: random bytes from OpenSSL, shown as "ccp_" + base64url (no padding);
   * the longest authorization header value read; an agent id (printable ASCII, no
   * spaces); a role name. */
  TOKEN_SECRET_BYTES = 32,
  TOKEN_TEXT_BYTES = 4 + (TOKEN_SECRET_BYTES * 4 + 2) / 3,
  TOKEN_HEADER_BYTES_MAX = 512,
  TOKEN_HASH_BYTES = 32,
  AGENT_ID_BYTES_MAX = 64,
  ROLE_NAME_BYTES_MAX = 32,
  /* A token's life when none is given, and the longest one may be given (seconds). */
  TOKEN_TTL_S_DEFAULT = 90 * 24 * 3600,
  TOKEN_TTL_S_MAX = 2 * 366 * 24 * 3600,
  /* Failed authentications: each peer address may fail this many times per window; past
   * that, its failing calls are refused with RESOURCE_EXHAUSTED and neither checked
   * further nor audited (a bound on the audit trail an attacker can write). Peers
   * tracked at once (the oldest window is forgotten first). */
  AUTH_FAILURES_PER_PEER_MAX = 20,
  AUTH_FAILURE_WINDOW_MS = 60000,
  AUTH_PEERS_TRACKED_MAX = 1024,
  /* Failed authentications audited per window across all peers: many addresses (an IPv6
   * range) still cannot write more than this; the rest are refused all the same. */
  AUTH_FAILURE_AUDITS_PER_WINDOW_MAX = 1000,
  AUTH_PEER_BYTES_MAX = 128,
  /* Audit records: target ids kept per record, bytes of a before/after description, of
   * the outcome message; records per StreamAudit read. */
  AUDIT_TARGETS_MAX = 8,
  AUDIT_CHANGE_BYTES_MAX = 1024,
  AUDIT_STREAM_BATCH = 64,
  /* TLS files (certificate chain, key, client CA) read at start-up. */
  TLS_FILE_BYTES_MAX = 256 << 10,
};

/* Idempotency records are kept 30 days (Adyen keeps keys 31, Stripe at least 1). */
#define IDEMPOTENCY_RETENTION_MS ((long long)30 * 24 * 3600 * 1000)

_Static_assert(STORE_READ_TXNS_KEPT <= 64,
               "kept read transactions leave most of the 126 reader slots");
_Static_assert(TOKEN_TEXT_BYTES < TOKEN_HEADER_BYTES_MAX, "a token fits the header we read");
_Static_assert(TOKEN_SECRET_BYTES >= 32, "a token holds at least 256 random bits");
_Static_assert(TOKEN_TTL_S_DEFAULT <= TOKEN_TTL_S_MAX, "the default token life is allowed");
_Static_assert(AUTH_FAILURES_PER_PEER_MAX <= AUTH_FAILURE_AUDITS_PER_WINDOW_MAX,
               "one peer's failures are all audited while the whole budget is left");
_Static_assert(PAGE_SIZE_DEFAULT <= PAGE_SIZE_MAX, "default page fits the maximum");
_Static_assert(STORE_BATCH_COMMANDS_MAX <= STORE_QUEUE_COMMANDS_MAX, "a batch fits the queue");
_Static_assert(REQUEST_BYTES_MAX < CALL_ARENA_BYTES_MAX / 4,
               "a decoded request and its reply fit a call's arena");
_Static_assert(REQUEST_ID_BYTES_MAX + 1 < STORE_KEY_BYTES_MAX, "a request_id is a valid key");
_Static_assert(GATEWAY_RESTART_BACKOFF_MS_MIN <= GATEWAY_RESTART_BACKOFF_MS_MAX,
               "restart back-off grows from its minimum");
_Static_assert(GATEWAY_STOP_TIMEOUT_MS > SHUTDOWN_DRAIN_MS,
               "an adapter stopping gracefully is given its whole drain");
_Static_assert(GATEWAY_HEALTH_TIMEOUT_MS + RPC_CLIENT_GRACE_MS < GATEWAY_STOP_TIMEOUT_MS,
               "a health check in flight never holds up a stop for long");
_Static_assert(GATEWAY_START_TIMEOUT_MS_MIN <= GATEWAY_START_TIMEOUT_MS_DEFAULT &&
                   GATEWAY_START_TIMEOUT_MS_DEFAULT <= GATEWAY_START_TIMEOUT_MS_MAX,
               "the default start timeout is within its bounds");
_Static_assert(GATEWAY_CALL_TIMEOUT_MS_MIN <= GATEWAY_CALL_TIMEOUT_MS_DEFAULT &&
                   GATEWAY_CALL_TIMEOUT_MS_DEFAULT <= GATEWAY_CALL_TIMEOUT_MS_MAX,
               "the default call timeout is within its bounds");

#endif
