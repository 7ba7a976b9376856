/*
 * timer.c - timers (see timer.h).
 */
#include "runtime/timer.h"

#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

#define REF(slot, gen) (((uint64_t)(gen) << 32) | ((uint64_t)(slot) + 1))
#define REF_SLOT(r) ((uint32_t)((r)&0xFFFFFFFFu) - 1)
#define REF_GEN(r) ((uint32_t)((r) >> 32))

void rt__timers_init(rt_timers_t *t)
{
    *t = (rt_timers_t){0};
    pthread_mutex_init(&t->lock, NULL);
    atomic_init(&t->next, UINT64_MAX);
}

void rt__timers_destroy(rt_timers_t *t)
{
    for (uint32_t i = 0; i < t->nheap; i++)
        rt_msg_free(t->ents[t->heap[i]].msg);
    free(t->ents);
    free(t->freel);
    free(t->heap);
    pthread_mutex_destroy(&t->lock);
}

static bool less(rt_timers_t *t, uint32_t a, uint32_t b)
{
    rt_tentry_t *x = &t->ents[t->heap[a]], *y = &t->ents[t->heap[b]];
    return x->deadline < y->deadline ||
           (x->deadline == y->deadline && x->seq < y->seq);
}

static void swap(rt_timers_t *t, uint32_t a, uint32_t b)
{
    uint32_t tmp = t->heap[a];
    t->heap[a] = t->heap[b];
    t->heap[b] = tmp;
    t->ents[t->heap[a]].heap_idx = a;
    t->ents[t->heap[b]].heap_idx = b;
}

static void sift_up(rt_timers_t *t, uint32_t i)
{
    while (i > 0 && less(t, i, (i - 1) / 2)) {
        swap(t, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(rt_timers_t *t, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->nheap && less(t, l, m))
            m = l;
        if (r < t->nheap && less(t, r, m))
            m = r;
        if (m == i)
            return;
        swap(t, i, m);
        i = m;
    }
}

static void publish_next(rt_timers_t *t)
{
    uint64_t n = t->nheap ? t->ents[t->heap[0]].deadline : UINT64_MAX;
    /* release: pairs with the acquire in rt__timers_next(). */
    atomic_store_explicit(&t->next, n, memory_order_release);
}

/* Remove heap position i; the entry goes back to the free list. */
static rt_msg_t *remove_at(rt_timers_t *t, uint32_t i)
{
    uint32_t slot = t->heap[i];
    rt_tentry_t *e = &t->ents[slot];
    rt_msg_t *m = e->msg;
    e->msg = NULL;
    e->gen++;
    t->nheap--;
    if (i != t->nheap) {
        t->heap[i] = t->heap[t->nheap];
        t->ents[t->heap[i]].heap_idx = i;
        sift_down(t, i);
        sift_up(t, i);
    }
    rt__vec_push((void **)&t->freel, &t->nfree, &t->capfree, sizeof(uint32_t),
                 &slot);
    return m;
}

rt_ref_t rt__timers_add(rt_timers_t *t, uint64_t deadline, rt_pid_t to,
                        rt_msg_t *m)
{
    pthread_mutex_lock(&t->lock);
    uint32_t slot;
    if (t->nfree > 0) {
        slot = t->freel[--t->nfree];
    } else {
        rt_tentry_t blank = {.gen = 1};
        rt__vec_push((void **)&t->ents, &t->nents, &t->capents, sizeof blank,
                     &blank);
        slot = t->nents - 1;
    }
    rt_tentry_t *e = &t->ents[slot];
    e->deadline = deadline;
    e->seq = t->seq++;
    e->to = to;
    e->msg = m;
    e->heap_idx = t->nheap;
    rt__vec_push((void **)&t->heap, &t->nheap, &t->capheap, sizeof slot, &slot);
    sift_up(t, e->heap_idx);
    rt_ref_t ref = REF(slot, e->gen);
    publish_next(t);
    pthread_mutex_unlock(&t->lock);
    return ref;
}

rt_msg_t *rt__timers_cancel(rt_timers_t *t, rt_ref_t ref)
{
    rt_msg_t *m = NULL;
    uint32_t slot = REF_SLOT(ref);
    pthread_mutex_lock(&t->lock);
    if (ref != 0 && slot < t->nents && t->ents[slot].gen == REF_GEN(ref) &&
        t->ents[slot].msg != NULL) {
        m = remove_at(t, t->ents[slot].heap_idx);
        publish_next(t);
    }
    pthread_mutex_unlock(&t->lock);
    return m;
}

uint32_t rt__timers_expire(rt_timers_t *t, rt_t *rt, uint64_t now)
{
    uint32_t n = 0;
    if (rt__timers_next(t) > now)
        return 0;
    pthread_mutex_lock(&t->lock);
    while (t->nheap > 0 && t->ents[t->heap[0]].deadline <= now) {
        rt_pid_t to = t->ents[t->heap[0]].to;
        rt_msg_t *m = remove_at(t, 0);
        /* Sending under the lock keeps fire order; rt__send never takes
         * the timer lock. */
        (void)rt__send(rt, to, m);
        n++;
    }
    publish_next(t);
    pthread_mutex_unlock(&t->lock);
    return n;
}

uint64_t rt__timers_next(rt_timers_t *t)
{
    return atomic_load_explicit(&t->next, memory_order_acquire);
}

uint32_t rt__timers_count(rt_timers_t *t)
{
    pthread_mutex_lock(&t->lock);
    uint32_t n = t->nheap;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* ---- public API ----------------------------------------------------- */

int rt_send_after(rt_t *rt, uint64_t ms, rt_pid_t to, rt_msg_t *m,
                  rt_ref_t *out)
{
    if (m == NULL)
        return CLEO_EINVAL;
    int st = atomic_load_explicit(&rt->state, memory_order_acquire);
    if (st == RT_STATE_DOWN || (st != RT_STATE_RUNNING && !rt__tls_actor)) {
        rt_msg_free(m);
        return CLEO_ESHUTDOWN;
    }
    if (to == RT_PID_NONE || RT_PID_NODE(to) != rt->opts.node ||
        RT_PID_GEN(to) == 0 || RT_PID_SLOT(to) >= rt->table.max) {
        rt_msg_free(m);
        return CLEO_EBADPID;
    }
    uint64_t now = rt_now_ms(rt);
    /* Saturate: a huge ms means "never", not a wrapped, past deadline. */
    uint64_t deadline = ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
    rt_ref_t ref = rt__timers_add(&rt->timers, deadline, to, m);
    rt__sched_timer_added(rt, deadline);
    if (out != NULL)
        *out = ref;
    return 0;
}

int rt_timer_cancel(rt_t *rt, rt_ref_t ref)
{
    rt_msg_t *m = rt__timers_cancel(&rt->timers, ref);
    if (m == NULL)
        return CLEO_ENOTFOUND;
    rt_msg_free(m);
    return 0;
}
