/*
 * timer.h - the runtime's timers: one min-heap per runtime under a mutex,
 * entries in a table addressed by (slot, generation) references so that
 * cancelling a fired or reused timer is a clean CLEO_ENOTFOUND. Schedulers
 * fire due timers between turns and arm their uv timer to the next
 * deadline before sleeping.
 */
#ifndef CLEO_RUNTIME_TIMER_H
#define CLEO_RUNTIME_TIMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_tentry_s {
    uint64_t deadline; /* ms on the runtime clock */
    uint64_t seq;      /* tie-break: equal deadlines fire in add order */
    rt_pid_t to;
    rt_msg_t *msg; /* NULL when the entry is free */
    uint32_t heap_idx;
    uint32_t gen;
} rt_tentry_t;

typedef struct rt_timers_s {
    pthread_mutex_t lock;
    rt_tentry_t *ents;
    uint32_t nents, capents;
    uint32_t *freel;
    uint32_t nfree, capfree;
    uint32_t *heap; /* entry indexes, min-heap on (deadline, seq) */
    uint32_t nheap, capheap;
    uint64_t seq;
    _Atomic uint64_t next; /* earliest deadline, UINT64_MAX if none */
} rt_timers_t;

void rt__timers_init(rt_timers_t *t);
/* Free every pending message. */
void rt__timers_destroy(rt_timers_t *t);

/* Add a timer. @param m takes. Returns the reference. */
rt_ref_t rt__timers_add(rt_timers_t *t, uint64_t deadline, rt_pid_t to,
                        rt_msg_t *m);
/* Remove a pending timer. @return gives its message, or NULL. */
rt_msg_t *rt__timers_cancel(rt_timers_t *t, rt_ref_t ref);
/* Send every timer due at `now`, in deadline order. Returns how many. */
uint32_t rt__timers_expire(rt_timers_t *t, rt_t *rt, uint64_t now);
/* Earliest deadline, UINT64_MAX if none (lock-free read). */
uint64_t rt__timers_next(rt_timers_t *t);
/* Pending timers (under the lock). */
uint32_t rt__timers_count(rt_timers_t *t);

#endif
