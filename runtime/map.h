/*
 * map.h - a small open-addressing hash map from non-zero 64-bit keys
 * (pids, refs) to 64-bit values, for per-actor links and monitors: O(1)
 * whether an actor has three links or a supervisor has 100,000. Linear
 * probing with backward-shift deletion, so there are no tombstones.
 */
#ifndef CLEO_RUNTIME_MAP_H
#define CLEO_RUNTIME_MAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rt_mapent_s {
    uint64_t key; /* 0 = empty */
    uint64_t val;
} rt_mapent_t;

typedef struct rt_map_s {
    rt_mapent_t *e; /* cap entries, NULL until the first put */
    uint32_t cap;   /* power of two */
    uint32_t n;
} rt_map_t;

/* Insert or replace key (non-zero). Aborts on out-of-memory. */
void rt__map_put(rt_map_t *m, uint64_t key, uint64_t val);
/* Look up key; writes *val when found (val may be NULL). */
bool rt__map_get(const rt_map_t *m, uint64_t key, uint64_t *val);
/* Remove key; writes its value to *val when found (val may be NULL). */
bool rt__map_del(rt_map_t *m, uint64_t key, uint64_t *val);
/* Free the storage; the map is empty afterwards. */
void rt__map_destroy(rt_map_t *m);

/* Iterate: for (i = 0; i < m->cap; i++) if (m->e[i].key) ... */

#endif
