/*
 * sched.h - scheduler threads: one per core, each with a run queue of
 * stealable actors and one of actors pinned to it, sleeping in its own
 * libuv loop and woken with uv_async_send.
 */
#ifndef CLEO_RUNTIME_SCHED_H
#define CLEO_RUNTIME_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "runtime/rt.h"

/* Messages an actor handles per turn before others get the thread. */
#define RT_BATCH 100

typedef struct rt_sched_s {
    rt_t *rt;
    uint32_t idx;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t timer;
    pthread_mutex_t lock;          /* guards both queues */
    rt_actor_t *head, *tail;       /* stealable, FIFO */
    rt_actor_t *phead, *ptail;     /* pinned here, FIFO */
    _Atomic uint32_t qlen;         /* both queues; read without the lock */
    _Atomic int sleeping;          /* 1 while (about to be) in uv_run */
    _Atomic uint64_t armed;        /* deadline its uv timer is set to */
    uint32_t flip;                 /* owner: alternates the two queues */
    uint64_t seen[RT_MAX_SCHED];   /* owner: others' runs + 1 when it went
                                      to sleep seeing their queue, 0 = no */
    _Atomic uint64_t runs, msgs, steals, sleeps, busy_ns; /* owner writes */
} rt_sched_t;

/* The scheduler running on this thread, or NULL. */
extern __thread rt_sched_t *rt__tls_sched;
/* True while this thread drives a deterministic runtime. */
extern __thread bool rt__tls_det;

/* Start n schedulers (threads) for rt. @return 0 or -errno. */
int rt__sched_start(rt_t *rt, uint32_t n);
/* Stop and join them, closing their loops. */
void rt__sched_stop(rt_t *rt);
/* Queue a runnable actor (threaded mode). */
void rt__sched_push(rt_t *rt, rt_actor_t *a);
/* A timer with this deadline was added: wake a sleeper armed later. */
void rt__sched_timer_added(rt_t *rt, uint64_t deadline);

#endif
