/*
 * mbox.c - intrusive MPSC mailbox (see mbox.h).
 */
#include "runtime/mbox.h"

#include <stddef.h>

#define TAG ((uintptr_t)1)

static inline rt_mnode_t *untag(rt_mnode_t *n)
{
    return (rt_mnode_t *)((uintptr_t)n & ~TAG);
}

void rt_mbox_init(rt_mbox_t *q)
{
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, (rt_mnode_t *)((uintptr_t)&q->stub | TAG),
                          memory_order_relaxed);
    q->tail = &q->stub;
    atomic_store_explicit(&q->len, 0, memory_order_relaxed);
}

/* Link n after the previous head. Returns the previous head, tagged. */
static rt_mnode_t *push_node(rt_mbox_t *q, rt_mnode_t *n)
{
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* acq_rel: release publishes n's fields to the consumer; acquire pairs
     * with the release of the previous pusher so prev is fully written. */
    rt_mnode_t *prev =
        atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
    /* release: pairs with the acquire load of next in rt_mbox_pop(). */
    atomic_store_explicit(&untag(prev)->next, n, memory_order_release);
    return prev;
}

bool rt_mbox_push_len(rt_mbox_t *q, rt_msg_t *m, int64_t *len)
{
    *len = atomic_fetch_add_explicit(&q->len, 1, memory_order_relaxed) + 1;
    rt_mnode_t *prev = push_node(q, &m->_node);
    return ((uintptr_t)prev & TAG) != 0;
}

bool rt_mbox_push(rt_mbox_t *q, rt_msg_t *m)
{
    int64_t len;
    return rt_mbox_push_len(q, m, &len);
}

void rt_mbox_count(rt_mbox_t *q, int64_t delta)
{
    atomic_fetch_add_explicit(&q->len, delta, memory_order_relaxed);
}

rt_msg_t *rt_mbox_pop(rt_mbox_t *q)
{
    rt_mnode_t *tail = q->tail;
    /* acquire: pairs with the release store of next in push_node(). */
    rt_mnode_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (next == NULL)
            return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&tail->next, memory_order_acquire);
    }
    if (next == NULL) {
        /* tail is the last linked node. If a producer has swapped head but
         * not linked yet, report empty; mark_empty will then fail and the
         * actor stays scheduled until the link lands. */
        rt_mnode_t *head =
            untag(atomic_load_explicit(&q->head, memory_order_acquire));
        if (tail != head)
            return NULL;
        push_node(q, &q->stub);
        next = atomic_load_explicit(&tail->next, memory_order_acquire);
        if (next == NULL)
            return NULL;
    }
    q->tail = next;
    atomic_fetch_sub_explicit(&q->len, 1, memory_order_relaxed);
    return (rt_msg_t *)tail;
}

bool rt_mbox_mark_empty(rt_mbox_t *q)
{
    rt_mnode_t *expect = &q->stub;
    if (q->tail != &q->stub)
        return false;
    /* acq_rel: succeeds only if no push swapped head since the stub went
     * in; pairs with the exchange in push_node(), whose caller then sees
     * the tag and schedules the actor. */
    return atomic_compare_exchange_strong_explicit(
        &q->head, &expect, (rt_mnode_t *)((uintptr_t)&q->stub | TAG),
        memory_order_acq_rel, memory_order_relaxed);
}

int64_t rt_mbox_len(const rt_mbox_t *q)
{
    int64_t n = atomic_load_explicit(&q->len, memory_order_relaxed);
    return n < 0 ? 0 : n;
}
