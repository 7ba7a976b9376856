/*
 * table.c - the actor table (see table.h).
 */
#include "runtime/table.h"

#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/pool.h"

#define GEN_SHIFT 40
#define ALIVE ((uint64_t)1 << 39)
#define PINS ((uint64_t)ALIVE - 1)
#define W_GEN(w) ((uint32_t)((w) >> GEN_SHIFT))

int rt__table_init(rt_table_t *t, uint32_t max, uint16_t node)
{
    /* calloc of a large array maps zero pages lazily: 16M slots cost RSS
     * only for the pages actually used. */
    t->slots = calloc(max, sizeof(rt_slot_t));
    if (t->slots == NULL)
        return CLEO_ENOMEM;
    t->free = malloc((size_t)max * sizeof(uint32_t));
    if (t->free == NULL) {
        free(t->slots);
        return CLEO_ENOMEM;
    }
    t->max = max;
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
    pthread_mutex_destroy(&t->lock);
}

static int take_slot(rt_table_t *t, uint32_t *out)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    if (t->nfree > 0) {
        *out = t->free[--t->nfree];
    } else {
        uint32_t u = atomic_load_explicit(&t->used, memory_order_relaxed);
        if (u >= t->max)
            rc = CLEO_ELIMIT;
        else {
            *out = u;
            /* release: pairs with the acquire in rt__table_pin() so a
             * pin of a fresh slot sees its zeroed word. */
            atomic_store_explicit(&t->used, u + 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int rt__table_add(rt_table_t *t, rt_actor_t *a, rt_pid_t *out)
{
    uint32_t i;
    int rc = take_slot(t, &i);
    if (rc < 0)
        return rc;
    rt_slot_t *s = &t->slots[i];
    uint32_t gen = W_GEN(atomic_load_explicit(&s->word, memory_order_relaxed));
    if (gen == 0)
        gen = 1; /* pid 0 is RT_PID_NONE; generations start at 1 */
    atomic_store_explicit(&s->actor, a, memory_order_relaxed);
    a->pid = RT_PID_MAKE(t->node, gen, i);
    atomic_fetch_add_explicit(&t->live, 1, memory_order_relaxed);
    /* release: publishes a and s->actor; pairs with the acquire CAS in
     * rt__table_pin(). */
    atomic_store_explicit(&s->word, ((uint64_t)gen << GEN_SHIFT) | ALIVE | 1,
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
    /* acquire: pairs with the release in take_slot(). */
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
    atomic_store_explicit(&s->actor, NULL, memory_order_relaxed);
    /* release: a later pin of a stale pid sees the new generation. */
    atomic_store_explicit(&s->word, (uint64_t)gen << GEN_SHIFT,
                          memory_order_release);
    pthread_mutex_lock(&t->lock);
    t->free[t->nfree++] = i;
    pthread_mutex_unlock(&t->lock);
    atomic_fetch_sub_explicit(&t->live, 1, memory_order_release);
}
