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

  /* Write path: commands in one LMDB transaction, and commands waiting for the writer
   * before new writes are refused with RESOURCE_EXHAUSTED. */
  STORE_BATCH_COMMANDS_MAX = 256,
  STORE_QUEUE_COMMANDS_MAX = 16384,
  /* Largest key LMDB accepts by default (mdb_env_get_maxkeysize). */
  STORE_KEY_BYTES_MAX = 511,

  /* Worker threads polling completion queues. */
  SERVER_THREADS_MAX = 64,
  /* Calls requested in advance per method and queue. */
  SERVER_CALLS_REQUESTED_PER_METHOD = 8,
  /* How long shutdown waits for in-flight calls before cancelling them. */
  SHUTDOWN_DRAIN_MS = 5000,
};

/* Idempotency records are kept 30 days (Adyen keeps keys 31, Stripe at least 1). */
#define IDEMPOTENCY_RETENTION_MS ((long long)30 * 24 * 3600 * 1000)

_Static_assert(PAGE_SIZE_DEFAULT <= PAGE_SIZE_MAX, "default page fits the maximum");
_Static_assert(STORE_BATCH_COMMANDS_MAX <= STORE_QUEUE_COMMANDS_MAX, "a batch fits the queue");
_Static_assert(REQUEST_BYTES_MAX < CALL_ARENA_BYTES_MAX / 4,
               "a decoded request and its reply fit a call's arena");
_Static_assert(REQUEST_ID_BYTES_MAX + 1 < STORE_KEY_BYTES_MAX, "a request_id is a valid key");

#endif
