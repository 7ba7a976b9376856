/*
 * pool.h - the runtime's size-class pool for fixed-size control structs
 * (message headers, actors). Per-thread free lists in front of jemalloc,
 * as Pony's pool does, that trade whole batches through a shared depot;
 * under sanitizers a plain-malloc variant is linked instead
 * (pool_malloc.c), so ASan sees every object.
 */
#ifndef CLEO_RUNTIME_POOL_H
#define CLEO_RUNTIME_POOL_H

#include <stddef.h>

/* Largest size the pool serves; bigger requests go straight to malloc. */
#define RT_POOL_MAX 512

/* Allocate size bytes (uninitialised). Aborts on out-of-memory: only
 * fixed-size control structures come from here (STYLE rule 26). */
void *rt__pool_alloc(size_t size);
/* Free p, which rt__pool_alloc(size) returned, on any thread. */
void rt__pool_free(size_t size, void *p);
/* Return the calling thread's cached blocks (to the shared depot, or to
 * malloc). */
void rt__pool_flush(void);
/* Full batches of size's class in the shared depot now; -1 if this build
 * has no pool (pool_malloc.c). For tests. */
int rt__pool_depot_batches(size_t size);
/* Abort-on-OOM malloc/calloc/realloc for control structures. */
void *cleo_xmalloc(size_t n);
void *cleo_xcalloc(size_t n, size_t size);
void *cleo_xrealloc(void *p, size_t n);

#endif
