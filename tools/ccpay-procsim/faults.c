#include "faults.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"

typedef struct fault_rule {
  char processor[16];
  char path_contains[FAULT_PATH_BYTES_MAX + 1];
  fault_kind kind;
  unsigned remaining;
} fault_rule;

struct faults {
  pthread_mutex_t mutex;
  uint64_t rng;
  uint32_t rate_ppm;
  unsigned kinds_mask;
  fault_rule rules[FAULT_RULES_MAX];
  size_t rule_count;
};

static const char *const kind_names[FAULT_KIND_COUNT] = {"none", "timeout", "5xx", "slow",
                                                         "drop_after_commit"};

const char *fault_kind_name(fault_kind kind) {
  CHECK(kind >= 0 && kind < FAULT_KIND_COUNT);
  return kind_names[kind];
}

bool fault_kind_parse(const char *text, fault_kind *out) {
  for (int k = FAULT_TIMEOUT; k < FAULT_KIND_COUNT; k++) {
    if (strcmp(text, kind_names[k]) == 0) {
      *out = (fault_kind)k;
      return true;
    }
  }
  return false;
}

bool fault_kinds_parse(const char *text, unsigned *mask_out) {
  unsigned mask = 0;
  const char *p = text;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    char name[32];
    if (len == 0 || len >= sizeof name) return false;
    memcpy(name, p, len);
    name[len] = '\0';
    fault_kind kind;
    if (!fault_kind_parse(name, &kind)) return false;
    mask |= 1u << kind;
    if (comma == NULL) break;
    p = comma + 1;
  }
  *mask_out = mask;
  return true;
}

bool fault_rate_parse(const char *text, uint32_t *ppm_out) {
  /* "1", "1.0", "0.25", ".5": integer part 0 or 1, then up to 6 decimals. */
  const char *p = text;
  uint32_t whole = 0;
  bool digits = false;
  while (*p >= '0' && *p <= '9') {
    whole = whole * 10 + (uint32_t)(*p - '0');
    if (whole > 1) return false;
    digits = true;
    p++;
  }
  uint32_t fraction = 0, scale = FAULT_RATE_PPM_MAX;
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      if (scale == 1) return false; /* more than 6 decimals */
      scale /= 10;
      fraction += (uint32_t)(*p - '0') * scale;
      digits = true;
      p++;
    }
  }
  if (*p != '\0' || !digits) return false;
  uint32_t ppm = whole * FAULT_RATE_PPM_MAX + fraction;
  if (ppm > FAULT_RATE_PPM_MAX) return false;
  *ppm_out = ppm;
  return true;
}

faults *faults_create(uint64_t seed, uint32_t rate_ppm, unsigned kinds_mask) {
  CHECK(rate_ppm <= FAULT_RATE_PPM_MAX);
  faults *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  pthread_mutex_init(&f->mutex, NULL);
  f->rng = seed;
  f->rate_ppm = rate_ppm;
  unsigned all = 0;
  for (int k = FAULT_TIMEOUT; k < FAULT_KIND_COUNT; k++) all |= 1u << k;
  f->kinds_mask = (kinds_mask & all) != 0 ? (kinds_mask & all) : all;
  return f;
}

void faults_destroy(faults *f) {
  if (f == NULL) return;
  pthread_mutex_destroy(&f->mutex);
  free(f);
}

bool faults_add_rule(faults *f, const char *processor, const char *path_contains, fault_kind kind,
                     unsigned count) {
  if (kind <= FAULT_NONE || kind >= FAULT_KIND_COUNT || count == 0 ||
      count > FAULT_RULE_COUNT_MAX || strlen(path_contains) > FAULT_PATH_BYTES_MAX ||
      strlen(processor) >= sizeof f->rules[0].processor) {
    return false;
  }
  pthread_mutex_lock(&f->mutex);
  bool added = f->rule_count < FAULT_RULES_MAX;
  if (added) {
    fault_rule *rule = &f->rules[f->rule_count++];
    memset(rule, 0, sizeof *rule);
    strcpy(rule->processor, processor);
    strcpy(rule->path_contains, path_contains);
    rule->kind = kind;
    rule->remaining = count;
  }
  pthread_mutex_unlock(&f->mutex);
  return added;
}

void faults_clear(faults *f) {
  pthread_mutex_lock(&f->mutex);
  f->rule_count = 0;
  pthread_mutex_unlock(&f->mutex);
}

static uint64_t next_random(faults *f) {
  uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static bool rule_matches(const fault_rule *rule, const char *processor, const char *path) {
  return (strcmp(rule->processor, "any") == 0 || strcmp(rule->processor, processor) == 0) &&
         strstr(path, rule->path_contains) != NULL;
}

static fault_kind pick_random(faults *f) {
  if (f->rate_ppm == 0 || next_random(f) % FAULT_RATE_PPM_MAX >= f->rate_ppm) return FAULT_NONE;
  fault_kind enabled[FAULT_KIND_COUNT];
  size_t n = 0;
  for (int k = FAULT_TIMEOUT; k < FAULT_KIND_COUNT; k++) {
    if (f->kinds_mask & (1u << k)) enabled[n++] = (fault_kind)k;
  }
  CHECK(n > 0);
  return enabled[next_random(f) % n];
}

fault_kind faults_pick(faults *f, const char *processor, const char *path) {
  pthread_mutex_lock(&f->mutex);
  fault_kind kind = FAULT_NONE;
  for (size_t i = 0; i < f->rule_count; i++) {
    fault_rule *rule = &f->rules[i];
    if (!rule_matches(rule, processor, path)) continue;
    CHECK(rule->remaining > 0);
    kind = rule->kind;
    if (--rule->remaining == 0) {
      memmove(rule, rule + 1, (f->rule_count - i - 1) * sizeof *rule);
      f->rule_count--;
    }
    break;
  }
  if (kind == FAULT_NONE) kind = pick_random(f);
  pthread_mutex_unlock(&f->mutex);
  return kind;
}
