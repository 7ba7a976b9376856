/*
 * table.c - the actor table (see table.h).
 */
#include "runtime/table.h"

#include <stdbool.h>
#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

#define GEN_SHIFT 40
#define ALIVE ((uint64_t)1 << 39)
/* Taken by a scheduler thread: the slot goes back to a scheduler's cache;
 * one taken by any other thread goes back to the shared stack, where that
 * thread's next spawns look (a test thread refilling a small table finds
 * the slots of the actors it killed). */
#define CACHED ((uint64_t)1 << 38)
#define PINS (CACHED - 1)
#define W_GEN(w) ((uint32_t)((w) >> GEN_SHIFT))

/* Slot indexes beyond the limit: room for every scheduler cache full. */
#define ROOM ((uint32_t)RT_MAX_SCHED * RT_SLOT_CACHE)

int rt__table_init(rt_table_t *t, uint32_t limit, uint16_t node)
{
    uint32_t room =
        limit < RT_MAX_ACTORS_LIMIT ? RT_MAX_ACTORS_LIMIT - limit : 0;
    if (room > ROOM)
        room = ROOM;
    t->max = limit + room;
    t->limit = limit;
    t->cache_cap = room / RT_MAX_SCHED; /* 0 at the top limit: no caches */
    /* calloc of a large array maps zero pages lazily: 16M slots cost RSS
     * only for the pages actually used. */
    t->slots = calloc(t->max, sizeof(rt_slot_t));
    t->free = malloc((size_t)t->max * sizeof(uint32_t));
    t->caches = calloc(RT_MAX_SCHED, sizeof(rt_slot_cache_t));
    if (t->slots == NULL || t->free == NULL || t->caches == NULL) {
        free(t->slots);
        free(t->free);
        free(t->caches);
        return CLEO_ENOMEM;
    }
    t->node = node;
    t->nfree = 0;
    atomic_init(&t->used, 0);
    atomic_init(&t->live, 0);
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

void rt__table_destroy(rt_table_t *t)
{
    free(t->slots);
    free(t->free);
    free(t->caches);
    pthread_mutex_destroy(&t->lock);
}

/* The calling scheduler's cache of this table's slots, or NULL (not a
 * scheduler thread of this runtime, or no caches). */
static inline rt_slot_cache_t *my_cache(rt_table_t *t)
{
    rt_sched_t *s = rt__tls_sched;
    if (s == NULL || t->cache_cap == 0 || &s->rt->table != t)
        return NULL;
    return &t->caches[s->idx];
}

/* Under the lock: a free slot from the stack, else a fresh one. */
static int take_locked(rt_table_t *t, uint32_t *out)
{
    if (t->nfree > 0) {
        *out = t->free[--t->nfree];
        return 0;
    }
    uint32_t u = atomic_load_explicit(&t->used, memory_order_relaxed);
    if (u >= t->max)
        return CLEO_ELIMIT;
    *out = u;
    /* release: pairs with the acquire in rt__table_pin() so a pin of a
     * fresh slot sees its zeroed word. */
    atomic_store_explicit(&t->used, u + 1, memory_order_release);
    return 0;
}

/* The shared stack's side of take_slot(): a slot, and half a cache more
 * for c (if not NULL) while the lock is held. Out of line: the cache hit
 * stays small. */
static __attribute__((noinline)) int
take_shared(rt_table_t *t, rt_slot_cache_t *c, uint32_t *out)
{
    pthread_mutex_lock(&t->lock);
    int rc = take_locked(t, out);
    if (rc == 0 && c != NULL)
        while (c->n < t->cache_cap / 2 && take_locked(t, &c->idx[c->n]) == 0)
            c->n++;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* A slot for a caller that holds a live reservation: from the cache, or
 * from the shared stack. Cannot fail while the accounting in table.h
 * holds (CLEO_ELIMIT is a safety net). *cached: the caller is a scheduler
 * with a cache. */
static inline int take_slot(rt_table_t *t, uint32_t *out, bool *cached)
{
    rt_slot_cache_t *c = my_cache(t);
    *cached = c != NULL;
    if (c != NULL && c->n > 0) {
        *out = c->idx[--c->n];
        return 0;
    }
    return take_shared(t, c, out);
}

/* The shared stack's side of put_slot(): i, and half of c (if not NULL,
 * and full) with it. */
static __attribute__((noinline)) void put_shared(rt_table_t *t,
                                                 rt_slot_cache_t *c, uint32_t i)
{
    pthread_mutex_lock(&t->lock);
    if (c != NULL)
        while (c->n > t->cache_cap / 2)
            t->free[t->nfree++] = c->idx[--c->n];
    t->free[t->nfree++] = i;
    pthread_mutex_unlock(&t->lock);
}

/* Return slot i: to the cache if it was taken on a scheduler (CACHED),
 * spilling half of a full cache to the shared stack, or to the stack. */
static inline void put_slot(rt_table_t *t, uint32_t i, bool cached)
{
    rt_slot_cache_t *c = cached ? my_cache(t) : NULL;
    if (c != NULL && c->n < t->cache_cap) {
        c->idx[c->n++] = i;
        return;
    }
    put_shared(t, c, i);
}

int rt__table_add(rt_table_t *t, rt_actor_t *a, rt_pid_t *out)
{
    uint32_t i;
    bool cached;
    /* Reserve first: the limit is on live actors, and the reservation is
     * what guarantees take_slot() a slot (see table.h). */
    if (atomic_fetch_add_explicit(&t->live, 1, memory_order_relaxed) >=
            t->limit ||
        take_slot(t, &i, &cached) < 0) {
        atomic_fetch_sub_explicit(&t->live, 1, memory_order_relaxed);
        return CLEO_ELIMIT;
    }
    rt_slot_t *s = &t->slots[i];
    uint32_t gen = W_GEN(atomic_load_explicit(&s->word, memory_order_relaxed));
    if (gen == 0)
        gen = 1; /* pid 0 is RT_PID_NONE; generations start at 1 */
    atomic_store_explicit(&s->actor, a, memory_order_relaxed);
    a->pid = RT_PID_MAKE(t->node, gen, i);
    /* release: publishes a and s->actor; pairs with the acquire CAS in
     * rt__table_pin(). */
    atomic_store_explicit(&s->word,
                          ((uint64_t)gen << GEN_SHIFT) | ALIVE |
                              (cached ? CACHED : 0) | 1,
                          memory_order_release);
    *out = a->pid;
    return 0;
}

static rt_actor_t *pin_word(rt_slot_t *s, uint32_t gen, bool any_gen)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    for (;;) {
        if (!(w & ALIVE) || (!any_gen && W_GEN(w) != gen))
            return NULL;
        /* acquire: pairs with the release store in rt__table_add(). */
        if (atomic_compare_exchange_weak_explicit(&s->word, &w, w + 1,
                                                  memory_order_acquire,
                                                  memory_order_acquire))
            return atomic_load_explicit(&s->actor, memory_order_relaxed);
    }
}

int rt__table_pin(rt_table_t *t, rt_pid_t pid, rt_actor_t **out)
{
    uint32_t slot = RT_PID_SLOT(pid), gen = RT_PID_GEN(pid);
    if (pid == RT_PID_NONE || RT_PID_NODE(pid) != t->node || gen == 0 ||
        slot >= t->max)
        return CLEO_EBADPID;
    /* acquire: pairs with the release in take_locked(). */
    if (slot >= atomic_load_explicit(&t->used, memory_order_acquire))
        return CLEO_EBADPID;
    rt_actor_t *a = pin_word(&t->slots[slot], gen, false);
    if (a == NULL)
        return CLEO_ENOPROC;
    *out = a;
    return 0;
}

rt_actor_t *rt__table_pin_slot(rt_table_t *t, uint32_t i)
{
    if (i >= atomic_load_explicit(&t->used, memory_order_acquire))
        return NULL;
    return pin_word(&t->slots[i], 0, true);
}

void rt__table_unpin(rt_table_t *t, rt_actor_t *a)
{
    rt_slot_t *s = &t->slots[RT_PID_SLOT(a->pid)];
    /* acq_rel: the last unpinner must see every other pinner's pushes
     * before it reaps; pairs with the same operation in other threads. */
    uint64_t w = atomic_fetch_sub_explicit(&s->word, 1, memory_order_acq_rel);
    w -= 1;
    if ((w & PINS) == 0 && !(w & ALIVE))
        rt__actor_reap(a);
}

void rt__table_mark_dead(rt_table_t *t, rt_actor_t *a)
{
    rt_slot_t *s = &t->slots[RT_PID_SLOT(a->pid)];
    /* seq_cst: after this no pin can succeed (pairs with the CAS in
     * pin_word()), and rt__registry_add()'s ALIVE check is ordered
     * against it (see rt__actor_die()). */
    atomic_fetch_and_explicit(&s->word, ~ALIVE, memory_order_seq_cst);
}

int rt__table_check(rt_table_t *t, rt_pid_t pid)
{
    rt_actor_t *a;
    int rc = rt__table_pin(t, pid, &a);
    if (rc == 0)
        rt__table_unpin(t, a);
    return rc;
}

bool rt__table_alive(rt_table_t *t, rt_pid_t pid)
{
    uint32_t slot = RT_PID_SLOT(pid);
    if (pid == RT_PID_NONE || RT_PID_NODE(pid) != t->node || slot >= t->max)
        return false;
    /* seq_cst: see rt__table_mark_dead(). */
    uint64_t w =
        atomic_load_explicit(&t->slots[slot].word, memory_order_seq_cst);
    return (w & ALIVE) && W_GEN(w) == RT_PID_GEN(pid);
}

void rt__table_release(rt_table_t *t, rt_pid_t pid)
{
    uint32_t i = RT_PID_SLOT(pid);
    rt_slot_t *s = &t->slots[i];
    uint32_t gen = (RT_PID_GEN(pid) + 1) & 0xFFFFFF;
    if (gen == 0)
        gen = 1;
    /* relaxed: the reaper's last unpin (acq_rel) read this word. */
    bool cached =
        (atomic_load_explicit(&s->word, memory_order_relaxed) & CACHED) != 0;
    atomic_store_explicit(&s->actor, NULL, memory_order_relaxed);
    /* release: a later pin of a stale pid sees the new generation. */
    atomic_store_explicit(&s->word, (uint64_t)gen << GEN_SHIFT,
                          memory_order_release);
    /* The slot is free before the live count drops, so a spawner whose
     * reservation succeeds finds it (see table.h). */
    put_slot(t, i, cached);
    atomic_fetch_sub_explicit(&t->live, 1, memory_order_release);
}
