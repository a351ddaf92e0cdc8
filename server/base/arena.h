/* A bump allocator for one call: everything a call decodes, builds and encodes comes
 * from its arena and is freed in one step when the call ends (as nginx's request pools).
 * Not thread-safe: an arena belongs to one call, and a call runs on one thread at a time.
 * Each arena has a byte budget; past it allocation fails (NULL) instead of growing. */
#ifndef CCPAY_BASE_ARENA_H
#define CCPAY_BASE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena arena;

/* Creates an arena that may hand out at most bytes_max bytes in all. NULL when out of
 * memory. */
arena *arena_create(size_t bytes_max);

/* Frees every allocation of the arena and the arena itself. NULL is allowed. */
void arena_destroy(arena *a);

/* size bytes aligned for any type, or NULL past the budget or out of memory. The
 * memory is not zeroed; it stays valid until arena_destroy. */
void *arena_alloc(arena *a, size_t size);

/* As arena_alloc, zeroed. */
void *arena_calloc(arena *a, size_t size);

/* A NUL-terminated copy of the first len bytes of s, or NULL past the budget. */
char *arena_strndup(arena *a, const char *s, size_t len);

/* A printf-formatted string in the arena, or NULL past the budget. */
char *arena_printf(arena *a, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Bytes handed out so far. */
size_t arena_used(const arena *a);

/* A protobuf-c allocator drawing from a: free is a no-op, memory goes with the arena. */
ProtobufCAllocator arena_protobuf_allocator(arena *a);

#endif
