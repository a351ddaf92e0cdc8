#include "sim_state.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"

enum {
  /* Buckets of the string-keyed maps (power of two); chains stay short at the limits. */
  MAP_BUCKETS = 1 << 16,
  /* Separates the parts of a map key (scope, key): not allowed in keys. */
  KEY_SEPARATOR = '\x1f',
};

_Static_assert((MAP_BUCKETS & (MAP_BUCKETS - 1)) == 0, "bucket count is a power of two");

/* --- A chained hash map from strings to pointers --------------------------------------- */

typedef struct map_entry {
  struct map_entry *next;
  void *value;
  long aux; /* operation index, or -1 */
  char key[];
} map_entry;

typedef struct map {
  map_entry **buckets;
  size_t count;
} map;

static uint64_t hash_text(const char *text) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    h = (h ^ *p) * 1099511628211ULL;
  }
  return h;
}

static bool map_init(map *m) {
  m->buckets = calloc(MAP_BUCKETS, sizeof *m->buckets);
  m->count = 0;
  return m->buckets != NULL;
}

static map_entry *map_find(const map *m, const char *key) {
  for (map_entry *e = m->buckets[hash_text(key) & (MAP_BUCKETS - 1)]; e != NULL; e = e->next) {
    if (strcmp(e->key, key) == 0) return e;
  }
  return NULL;
}

/* Adds key (which must be absent); NULL when out of memory. */
static map_entry *map_add(map *m, const char *key, void *value, long aux) {
  CHECK(map_find(m, key) == NULL);
  size_t len = strlen(key);
  map_entry *e = malloc(sizeof *e + len + 1);
  if (e == NULL) return NULL;
  memcpy(e->key, key, len + 1);
  e->value = value;
  e->aux = aux;
  map_entry **bucket = &m->buckets[hash_text(key) & (MAP_BUCKETS - 1)];
  e->next = *bucket;
  *bucket = e;
  m->count++;
  return e;
}

/* Removes key and returns its value (NULL when absent). */
static void *map_remove(map *m, const char *key) {
  for (map_entry **link = &m->buckets[hash_text(key) & (MAP_BUCKETS - 1)]; *link != NULL;
       link = &(*link)->next) {
    map_entry *e = *link;
    if (strcmp(e->key, key) == 0) {
      *link = e->next;
      void *value = e->value;
      free(e);
      m->count--;
      return value;
    }
  }
  return NULL;
}

static void map_free(map *m, void (*free_value)(void *)) {
  if (m->buckets == NULL) return;
  for (size_t i = 0; i < MAP_BUCKETS; i++) {
    map_entry *e = m->buckets[i];
    while (e != NULL) {
      map_entry *next = e->next;
      if (free_value != NULL) free_value(e->value);
      free(e);
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = NULL;
}

/* --- State ----------------------------------------------------------------------------- */

typedef struct idem_record {
  bool done;
  unsigned char fingerprint[SIM_FINGERPRINT_BYTES];
  http_response response; /* when done */
} idem_record;

struct sim_state {
  pthread_mutex_t mutex;
  bool locked; /* for CHECKs: set while a thread holds the mutex */
  uint64_t rng;
  sim_payment **payments;
  size_t payment_count;
  size_t payment_capacity;
  map references;  /* processor name, separator, reference → payment (aux: op index) */
  map idempotency; /* scope, separator, key → idem_record */
};

const char *sim_processor_name(sim_processor processor) {
  static const char *const names[SIM_PROCESSOR_COUNT] = {"stripe", "adyen", "authorizenet"};
  CHECK(processor >= 0 && processor < SIM_PROCESSOR_COUNT);
  return names[processor];
}

char *sim_copy(char *dst, size_t size, const char *text) {
  CHECK(size > 0);
  size_t len = strnlen(text, size - 1);
  memcpy(dst, text, len);
  dst[len] = '\0';
  return dst;
}

sim_state *sim_state_create(uint64_t seed) {
  sim_state *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  pthread_mutex_init(&s->mutex, NULL);
  s->rng = seed ^ 0x9e3779b97f4a7c15ULL;
  if (!map_init(&s->references) || !map_init(&s->idempotency)) {
    sim_state_destroy(s);
    return NULL;
  }
  return s;
}

static void free_idem_record(void *value) {
  idem_record *record = value;
  http_response_clear(&record->response);
  free(record);
}

void sim_state_destroy(sim_state *s) {
  if (s == NULL) return;
  CHECK(!s->locked);
  for (size_t i = 0; i < s->payment_count; i++) {
    json_decref(s->payments[i]->metadata);
    free(s->payments[i]->operations);
    free(s->payments[i]);
  }
  free(s->payments);
  map_free(&s->references, NULL);
  map_free(&s->idempotency, free_idem_record);
  pthread_mutex_destroy(&s->mutex);
  free(s);
}

void sim_lock(sim_state *s) {
  pthread_mutex_lock(&s->mutex);
  CHECK(!s->locked);
  s->locked = true;
}

void sim_unlock(sim_state *s) {
  CHECK(s->locked);
  s->locked = false;
  pthread_mutex_unlock(&s->mutex);
}

uint64_t sim_random(sim_state *s) {
  CHECK(s->locked);
  /* splitmix64: small, and every seed gives a good sequence. */
  uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void sim_new_id(sim_state *s, const char *prefix, const char *alphabet, size_t length, char *out,
                size_t size) {
  size_t prefix_len = strlen(prefix);
  size_t alphabet_len = strlen(alphabet);
  CHECK(alphabet_len > 0 && prefix_len + length + 1 <= size);
  memcpy(out, prefix, prefix_len);
  for (size_t i = 0; i < length; i++) {
    out[prefix_len + i] = alphabet[sim_random(s) % alphabet_len];
  }
  out[prefix_len + length] = '\0';
}

/* "processor<sep>reference" into out; false when it does not fit. */
static bool reference_key(sim_processor processor, const char *reference, char *out, size_t size) {
  const char *name = sim_processor_name(processor);
  size_t a = strlen(name), b = strlen(reference);
  if (a + 1 + b + 1 > size) return false;
  memcpy(out, name, a);
  out[a] = KEY_SEPARATOR;
  memcpy(out + a + 1, reference, b + 1);
  return true;
}

sim_payment *sim_payment_add(sim_state *s, sim_processor processor, const char *reference) {
  CHECK(s->locked);
  CHECK(reference[0] != '\0' && strlen(reference) <= SIM_REFERENCE_BYTES_MAX);
  if (s->payment_count >= SIM_PAYMENTS_MAX) return NULL;
  char key[SIM_REFERENCE_BYTES_MAX + 32];
  CHECK(reference_key(processor, reference, key, sizeof key));
  if (s->payment_count == s->payment_capacity) {
    size_t capacity = s->payment_capacity == 0 ? 64 : s->payment_capacity * 2;
    sim_payment **grown = realloc(s->payments, capacity * sizeof *grown);
    if (grown == NULL) return NULL;
    s->payments = grown;
    s->payment_capacity = capacity;
  }
  sim_payment *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  if (map_add(&s->references, key, p, -1) == NULL) {
    free(p);
    return NULL;
  }
  p->processor = processor;
  sim_copy(p->reference, sizeof p->reference, reference);
  p->created_ms = clock_wall_ms();
  s->payments[s->payment_count++] = p;
  return p;
}

bool sim_payment_alias(sim_state *s, sim_payment *payment, const char *reference) {
  CHECK(s->locked);
  char key[SIM_REFERENCE_BYTES_MAX + 32];
  if (!reference_key(payment->processor, reference, key, sizeof key)) return false;
  return map_add(&s->references, key, payment, -1) != NULL;
}

sim_operation *sim_operation_add(sim_state *s, sim_payment *payment, const char *kind,
                                 const char *key, int64_t amount, const char *reference) {
  CHECK(s->locked);
  CHECK(amount >= 0);
  if (payment->operation_count >= SIM_OPERATIONS_PER_PAYMENT_MAX) return NULL;
  if (payment->operation_count % 8 == 0) {
    sim_operation *grown =
        realloc(payment->operations, (payment->operation_count + 8) * sizeof *payment->operations);
    if (grown == NULL) return NULL;
    payment->operations = grown;
  }
  long index = (long)payment->operation_count;
  sim_operation *op = &payment->operations[index];
  memset(op, 0, sizeof *op);
  sim_copy(op->kind, sizeof op->kind, kind);
  sim_copy(op->key, sizeof op->key, key != NULL ? key : "");
  sim_copy(op->reference, sizeof op->reference, reference != NULL ? reference : "");
  op->amount = amount;
  op->created_ms = clock_wall_ms();
  /* An operation's own reference finds it; one already known (the payment's, a
   * charge's) keeps finding what it found. */
  char map_key[SIM_REFERENCE_BYTES_MAX + 32];
  CHECK(reference_key(payment->processor, op->reference, map_key, sizeof map_key));
  if (op->reference[0] != '\0' && map_find(&s->references, map_key) == NULL &&
      map_add(&s->references, map_key, payment, index) == NULL) {
    return NULL;
  }
  payment->operation_count++;
  return op;
}

sim_payment *sim_find(sim_state *s, sim_processor processor, const char *reference,
                      sim_operation **operation) {
  CHECK(s->locked);
  if (operation != NULL) *operation = NULL;
  char key[SIM_REFERENCE_BYTES_MAX + 32];
  if (!reference_key(processor, reference, key, sizeof key)) return NULL;
  map_entry *e = map_find(&s->references, key);
  if (e == NULL) return NULL;
  sim_payment *p = e->value;
  if (e->aux >= 0 && operation != NULL) {
    CHECK((size_t)e->aux < p->operation_count);
    *operation = &p->operations[e->aux];
  }
  return p;
}

void sim_payment_check(const sim_payment *p) {
  CHECK(p->authorized >= 0 && p->captured >= 0 && p->refunded >= 0 && p->capturable >= 0);
  CHECK(p->captured <= p->authorized);
  CHECK(p->capturable <= p->authorized - p->captured);
  CHECK(p->unlinked || p->refunded <= p->captured);
  CHECK(!p->unlinked || (p->authorized == 0 && p->captured == 0));
}

size_t sim_payment_count(const sim_state *s) {
  CHECK(s->locked);
  return s->payment_count;
}

sim_payment *sim_payment_at(sim_state *s, size_t index) {
  CHECK(s->locked && index < s->payment_count);
  return s->payments[index];
}

/* --- Idempotency ----------------------------------------------------------------------- */

static bool idem_key(const char *scope, const char *key, char *out, size_t size) {
  size_t a = strlen(scope), b = strlen(key);
  if (a + 1 + b + 1 > size || memchr(key, KEY_SEPARATOR, b) != NULL) return false;
  memcpy(out, scope, a);
  out[a] = KEY_SEPARATOR;
  memcpy(out + a + 1, key, b + 1);
  return true;
}

enum { IDEM_MAP_KEY_BYTES_MAX = HTTP_PATH_BYTES_MAX + SIM_KEY_BYTES_MAX + 2 };

sim_idem_status sim_idem_begin(sim_state *s, const char *scope, const char *key,
                               const unsigned char fingerprint[SIM_FINGERPRINT_BYTES],
                               http_response *replay) {
  CHECK(s->locked);
  char map_key[IDEM_MAP_KEY_BYTES_MAX];
  CHECK(idem_key(scope, key, map_key, sizeof map_key));
  map_entry *e = map_find(&s->idempotency, map_key);
  if (e != NULL) {
    idem_record *record = e->value;
    if (memcmp(record->fingerprint, fingerprint, SIM_FINGERPRINT_BYTES) != 0) {
      return SIM_IDEM_MISMATCH;
    }
    if (!record->done) return SIM_IDEM_IN_PROGRESS;
    if (!http_response_copy(replay, &record->response)) return SIM_IDEM_FULL;
    return SIM_IDEM_REPLAY;
  }
  if (s->idempotency.count >= SIM_IDEMPOTENCY_RECORDS_MAX) return SIM_IDEM_FULL;
  idem_record *record = calloc(1, sizeof *record);
  if (record == NULL) return SIM_IDEM_FULL;
  http_response_init(&record->response);
  memcpy(record->fingerprint, fingerprint, SIM_FINGERPRINT_BYTES);
  if (map_add(&s->idempotency, map_key, record, -1) == NULL) {
    free(record);
    return SIM_IDEM_FULL;
  }
  return SIM_IDEM_NEW;
}

void sim_idem_complete(sim_state *s, const char *scope, const char *key,
                       const http_response *response) {
  CHECK(s->locked);
  char map_key[IDEM_MAP_KEY_BYTES_MAX];
  CHECK(idem_key(scope, key, map_key, sizeof map_key));
  map_entry *e = map_find(&s->idempotency, map_key);
  CHECK(e != NULL);
  idem_record *record = e->value;
  CHECK(!record->done);
  if (!http_response_copy(&record->response, response)) {
    /* Out of memory: forget the key rather than replay a wrong answer. */
    free_idem_record(map_remove(&s->idempotency, map_key));
    return;
  }
  record->response.disposition = HTTP_RESPOND;
  record->done = true;
}

void sim_idem_abandon(sim_state *s, const char *scope, const char *key) {
  CHECK(s->locked);
  char map_key[IDEM_MAP_KEY_BYTES_MAX];
  CHECK(idem_key(scope, key, map_key, sizeof map_key));
  idem_record *record = map_remove(&s->idempotency, map_key);
  CHECK(record != NULL && !record->done);
  free_idem_record(record);
}

void sim_fingerprint(const char *const *parts, const size_t *lengths, size_t count,
                     unsigned char out[SIM_FINGERPRINT_BYTES]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  CHECK(ctx != NULL);
  CHECK(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
  for (size_t i = 0; i < count; i++) {
    uint64_t len = lengths[i];
    CHECK(EVP_DigestUpdate(ctx, &len, sizeof len) == 1);
    CHECK(EVP_DigestUpdate(ctx, parts[i], lengths[i]) == 1);
  }
  unsigned int n = 0;
  CHECK(EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == SIM_FINGERPRINT_BYTES);
  EVP_MD_CTX_free(ctx);
}

/* --- Ledger ------------------------------------------------------------------------------ */

static json_t *operation_json(const sim_operation *op) {
  return json_pack("{s:s, s:s, s:I, s:s, s:s}", "kind", op->kind, "key", op->key, "amount",
                   (json_int_t)op->amount, "reference", op->reference, "merchant_reference",
                   op->merchant_reference);
}

static json_t *payment_json(const sim_payment *p) {
  json_t *operations = json_array();
  for (size_t i = 0; operations != NULL && i < p->operation_count; i++) {
    json_array_append_new(operations, operation_json(&p->operations[i]));
  }
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:o*}", "processor",
                   sim_processor_name(p->processor), "reference", p->reference,
                   "merchant_reference", p->merchant_reference, "currency", p->currency,
                   "authorized", (json_int_t)p->authorized, "captured", (json_int_t)p->captured,
                   "refunded", (json_int_t)p->refunded, "status", p->status, "unlinked",
                   p->unlinked, "operations", operations);
}

json_t *sim_ledger_json(sim_state *s) {
  CHECK(s->locked);
  json_t *payments = json_array();
  if (payments == NULL) return NULL;
  for (size_t i = 0; i < s->payment_count; i++) {
    if (json_array_append_new(payments, payment_json(s->payments[i])) != 0) {
      json_decref(payments);
      return NULL;
    }
  }
  return json_pack("{s:o}", "payments", payments);
}
