/*
 * sched.h - scheduler threads: one per core, each with a run queue of
 * stealable actors and one of actors pinned to it, a `next` slot for the
 * actor its own turn just made runnable (run before the queues, without
 * their lock: a message's receiver runs where the sender's data is warm),
 * sleeping in its own libuv loop and woken with uv_async_send. Out of
 * work while another scheduler is awake, it looks for work for 50 us
 * before it sleeps.
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
    _Atomic int lock;            /* guards both queues (rq_lock) */
    rt_actor_t *head, *tail;     /* stealable, FIFO */
    rt_actor_t *phead, *ptail;   /* pinned here, FIFO */
    _Atomic uint32_t qlen;       /* both queues; read without the lock */
    rt_actor_t *_Atomic next;    /* made runnable by this scheduler's
                                    turn: runs before the queues; the
                                    owner fills it, a thief takes it
                                    only from a stuck owner */
    uint32_t streak;             /* owner: runs from next in a row */
    _Atomic int sleeping;        /* 1 while (about to be) in uv_run */
    _Atomic uint64_t armed;      /* deadline its uv timer is set to */
    uint32_t flip;               /* owner: alternates the two queues */
    uint64_t seen[RT_MAX_SCHED]; /* owner: others' runs + 1 when it went
                                    to sleep seeing their queue, 0 = no */
    _Atomic uint64_t runs, msgs, steals, sleeps, busy_ns; /* owner writes */
    /* The turn running now, for the system monitor (sysmon.c), heart's
     * beat and stats. Owner writes; others read (see rt__sched_turn_read
     * for the pairing). */
    _Atomic uint64_t turn_start;       /* rt__sched_clock_ms() the turn began;
                                          0 = none (it sleeps or runs its loop;
                                          between two turns the last one stays
                                          published for a run-queue pop) */
    _Atomic rt_pid_t turn_pid;         /* the actor in it; RT_PID_NONE = none */
    struct rt__scall_s *_Atomic calls; /* rt__sched_call()s to run here */
    _Atomic int io_hot; /* live latency-bound sockets on this loop (dist):
                           before sleeping, poll the loop a moment */
    const rt_behaviour_t *turn_beh; /* owner: its behaviour, for the log */
} rt_sched_t;

/* The scheduler running on this thread, or NULL. */
extern __thread rt_sched_t *rt__tls_sched;
/* True while this thread drives a deterministic runtime. */
extern __thread bool rt__tls_det;

/* Run fn(arg) on scheduler k's thread, outside any turn (where its loop's
 * callbacks run), and wait until it has: for code that owns handles on
 * that loop (distribution). Runs it at once when called on that thread.
 * Must not be called after rt__sched_stop(). */
void rt__sched_call(rt_t *rt, uint32_t k, void (*fn)(void *), void *arg);

/* delta live latency-bound sockets on scheduler k's loop: while any, an
 * idle scheduler polls its loop briefly before it sleeps, so a reply that
 * comes within microseconds costs no wake-up (Erlang's busy wait). */
void rt__sched_io_hot(rt_t *rt, uint32_t k, int delta);

/* Scheduler k's loop, for handles that rt__sched_call() code owns. */
uv_loop_t *rt__sched_loop(rt_t *rt, uint32_t k);

/* Start n schedulers (threads) for rt. @return 0 or -errno. */
int rt__sched_start(rt_t *rt, uint32_t n);
/* Stop and join them, closing their loops. */
void rt__sched_stop(rt_t *rt);
/* Queue a runnable actor (threaded mode). */
void rt__sched_push(rt_t *rt, rt_actor_t *a);
/* A timer with this deadline was added: wake a sleeper armed later. */
void rt__sched_timer_added(rt_t *rt, uint64_t deadline);

/* The clock turns are timed with: monotonic ms, coarse (to a tick,
 * 1..4 ms), as it is read once per turn and costs ~4 ns so. */
uint64_t rt__sched_clock_ms(void);
/* Read scheduler s's turn: 0 and RT_PID_NONE between turns, else its
 * start (rt__sched_clock_ms) and actor, consistent with each other. */
uint64_t rt__sched_turn_read(rt_sched_t *s, rt_pid_t *pid);
/* Fill out's per-scheduler turn_ms/running and the long_turns and
 * long_mqueues counts (rt_stats). */
void rt__sched_stats(rt_t *rt, rt_stats_t *out);

#endif
