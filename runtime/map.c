/*
 * map.c - open-addressing hash map (see map.h).
 */
#include "runtime/map.h"

#include <stdlib.h>

#include "runtime/pool.h"

static uint32_t home(const rt_map_t *m, uint64_t key)
{
    /* Fibonacci hashing spreads sequential refs and pids. */
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

static void grow(rt_map_t *m)
{
    rt_map_t old = *m;
    m->cap = old.cap ? old.cap * 2 : 4;
    m->n = 0;
    m->e = cleo_xcalloc(m->cap, sizeof(rt_mapent_t));
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.e[i].key != 0)
            rt__map_put(m, old.e[i].key, old.e[i].val);
    free(old.e);
}

void rt__map_put(rt_map_t *m, uint64_t key, uint64_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3) /* keep the load under 3/4 */
        grow(m);
    uint32_t i = home(m, key);
    while (m->e[i].key != 0 && m->e[i].key != key)
        i = (i + 1) & (m->cap - 1);
    if (m->e[i].key == 0)
        m->n++;
    m->e[i].key = key;
    m->e[i].val = val;
}

static int64_t find(const rt_map_t *m, uint64_t key)
{
    if (m->n == 0)
        return -1;
    uint32_t i = home(m, key);
    while (m->e[i].key != 0) {
        if (m->e[i].key == key)
            return i;
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

bool rt__map_get(const rt_map_t *m, uint64_t key, uint64_t *val)
{
    int64_t i = find(m, key);
    if (i < 0)
        return false;
    if (val != NULL)
        *val = m->e[i].val;
    return true;
}

/* True if slot k lies cyclically in (i, j]: an entry at j whose home is
 * there must stay; otherwise it can move back into the hole at i. */
static bool between(uint32_t i, uint32_t k, uint32_t j)
{
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

bool rt__map_del(rt_map_t *m, uint64_t key, uint64_t *val)
{
    int64_t found = find(m, key);
    if (found < 0)
        return false;
    uint32_t i = (uint32_t)found, j = i, mask = m->cap - 1;
    if (val != NULL)
        *val = m->e[i].val;
    for (;;) {
        j = (j + 1) & mask;
        if (m->e[j].key == 0)
            break;
        if (between(i, home(m, m->e[j].key), j))
            continue;
        m->e[i] = m->e[j];
        i = j;
    }
    m->e[i].key = 0;
    m->n--;
    return true;
}

void rt__map_destroy(rt_map_t *m)
{
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}
