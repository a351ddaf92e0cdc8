#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum {
  ARENA_ALIGN = 16,
  ARENA_CHUNK_BYTES_MIN = 4096,
};

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t size; /* usable bytes after the header */
  size_t used;
  _Alignas(ARENA_ALIGN) unsigned char data[];
} arena_chunk;

struct arena {
  arena_chunk *head; /* the chunk allocations come from; older ones follow */
  size_t bytes_used;
  size_t bytes_max;
};

arena *arena_create(size_t bytes_max) {
  CHECK(bytes_max > 0);
  arena *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->bytes_max = bytes_max;
  return a;
}

void arena_destroy(arena *a) {
  if (a == NULL) return;
  arena_chunk *c = a->head;
  while (c != NULL) {
    arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  free(a);
}

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

void *arena_alloc(arena *a, size_t size) {
  CHECK(a != NULL);
  size_t need = align_up(size == 0 ? 1 : size);
  if (need < size || need > a->bytes_max - a->bytes_used) return NULL;

  arena_chunk *c = a->head;
  if (c == NULL || c->size - c->used < need) {
    /* Chunks double with use so a large call makes few mallocs. */
    size_t chunk_size = c == NULL ? ARENA_CHUNK_BYTES_MIN : c->size * 2;
    if (chunk_size < need) chunk_size = align_up(need);
    c = malloc(sizeof *c + chunk_size);
    if (c == NULL) return NULL;
    c->size = chunk_size;
    c->used = 0;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += need;
  a->bytes_used += need;
  CHECK(c->used <= c->size);
  return p;
}

void *arena_calloc(arena *a, size_t size) {
  void *p = arena_alloc(a, size);
  if (p != NULL) memset(p, 0, size);
  return p;
}

char *arena_strndup(arena *a, const char *s, size_t len) {
  char *p = arena_alloc(a, len + 1);
  if (p == NULL) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *arena_printf(arena *a, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int len = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (len < 0) return NULL;
  char *p = arena_alloc(a, (size_t)len + 1);
  if (p == NULL) return NULL;
  va_start(args, format);
  vsnprintf(p, (size_t)len + 1, format, args);
  va_end(args);
  return p;
}

size_t arena_used(const arena *a) { return a->bytes_used; }

static void *protobuf_alloc(void *data, size_t size) { return arena_alloc(data, size); }
static void protobuf_free(void *data, void *pointer) { (void)data, (void)pointer; }

ProtobufCAllocator arena_protobuf_allocator(arena *a) {
  return (ProtobufCAllocator){.alloc = protobuf_alloc, .free = protobuf_free, .allocator_data = a};
}
