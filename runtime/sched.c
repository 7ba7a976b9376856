/*
 * sched.c - scheduler threads, run queues, stealing, sleeping (sched.h).
 */
#include "runtime/sched.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"
#include "runtime/sysmon.h"

#ifndef CLOCK_MONOTONIC_COARSE
#define CLOCK_MONOTONIC_COARSE CLOCK_MONOTONIC /* not Linux: exact */
#endif

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

__thread rt_sched_t *rt__tls_sched;
__thread bool rt__tls_det;

#define STAT_ADD(s, f, n)                                                      \
    atomic_store_explicit(                                                     \
        &(s)->f, atomic_load_explicit(&(s)->f, memory_order_relaxed) + (n),    \
        memory_order_relaxed)

/* The run queues' lock: held for a few instructions, so a spin (then a
 * yield, should the holder be preempted) beats a mutex, and its unlock is
 * a plain store. acquire/release: the queues are read and written only
 * under it. */
static void rq_lock(rt_sched_t *s)
{
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire)) {
        for (int i = 0; atomic_load_explicit(&s->lock, memory_order_relaxed);
             i++) {
            if (i < 100)
                cpu_relax();
            else
                sched_yield();
        }
    }
}

static bool rq_trylock(rt_sched_t *s)
{
    return !atomic_load_explicit(&s->lock, memory_order_relaxed) &&
           !atomic_exchange_explicit(&s->lock, 1, memory_order_acquire);
}

static void rq_unlock(rt_sched_t *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

static void append(rt_actor_t **head, rt_actor_t **tail, rt_actor_t *a)
{
    a->rq_next = NULL;
    if (*tail != NULL)
        (*tail)->rq_next = a;
    else
        *head = a;
    *tail = a;
}

static rt_actor_t *take(rt_actor_t **head, rt_actor_t **tail)
{
    rt_actor_t *a = *head;
    if (a != NULL) {
        *head = a->rq_next;
        if (*head == NULL)
            *tail = NULL;
    }
    return a;
}

/* Enqueue on s; returns the queue length after. */
static uint32_t enqueue(rt_sched_t *s, rt_actor_t *a)
{
    rq_lock(s);
    if (a->sched >= 0)
        append(&s->phead, &s->ptail, a);
    else
        append(&s->head, &s->tail, a);
    uint32_t n = atomic_load_explicit(&s->qlen, memory_order_relaxed) + 1;
    atomic_store_explicit(&s->qlen, n, memory_order_relaxed);
    rq_unlock(s);
    return n;
}

static void wake(rt_sched_t *s)
{
    /* seq_cst: pairs with the seq_cst store of sleeping in sched_idle():
     * either the sleeper sees our work, or we see it asleep. */
    if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst))
        uv_async_send(&s->wake);
}

/* Wake one sleeping scheduler other than s so it can steal. */
static void wake_helper(rt_t *rt, rt_sched_t *s)
{
    for (uint32_t i = 0; i < rt->opts.schedulers; i++) {
        rt_sched_t *o = &rt->scheds[i];
        if (o != s &&
            atomic_load_explicit(&o->sleeping, memory_order_seq_cst)) {
            uv_async_send(&o->wake);
            return;
        }
    }
}

void rt__sched_push(rt_t *rt, rt_actor_t *a)
{
    rt_sched_t *cur = rt__tls_sched;
    if (cur != NULL && cur->rt != rt)
        cur = NULL;
    rt_sched_t *s;
    if (a->sched >= 0)
        s = &rt->scheds[a->sched];
    else if (cur != NULL)
        s = cur;
    else
        s = &rt->scheds[atomic_fetch_add_explicit(&rt->rr, 1,
                                                  memory_order_relaxed) %
                        rt->opts.schedulers];
    if (s == cur && a->sched < 0 &&
        atomic_load_explicit(&s->next, memory_order_relaxed) == NULL) {
        /* Made runnable by our own turn (a message, a reply): run it
         * next, without the queue's lock, where its sender's data is
         * warm. release: pairs with the acquire CAS in steal_next(). */
        atomic_store_explicit(&s->next, a, memory_order_release);
        return;
    }
    uint32_t n = enqueue(s, a);
    if (s != cur)
        wake(s);
    else if (n >= 2)
        wake_helper(rt, s);
}

/* RT_NEXT_RUNS turns in a row from next, then one from the queues, so a
 * pair that keeps each other runnable cannot starve the rest. */
#define RT_NEXT_RUNS 4

/* The owner takes next (not while queued actors wait their turn). */
static rt_actor_t *pop_next(rt_sched_t *s)
{
    if (atomic_load_explicit(&s->next, memory_order_relaxed) == NULL)
        return NULL;
    if (s->streak >= RT_NEXT_RUNS &&
        atomic_load_explicit(&s->qlen, memory_order_relaxed) > 0) {
        s->streak = 0;
        return NULL;
    }
    /* exchange: a thief may be taking it too (steal_next); one wins.
     * acquire: pairs with our own store, and orders nothing else. */
    rt_actor_t *a =
        atomic_exchange_explicit(&s->next, NULL, memory_order_acquire);
    if (a != NULL)
        s->streak++;
    return a;
}

static rt_actor_t *pop_local(rt_sched_t *s)
{
    if (atomic_load_explicit(&s->qlen, memory_order_relaxed) == 0)
        return NULL;
    rq_lock(s);
    /* Alternate pinned and stealable so neither starves the other. */
    rt_actor_t *a =
        (s->flip++ & 1) ? take(&s->phead, &s->ptail) : take(&s->head, &s->tail);
    if (a == NULL)
        a = take(&s->phead, &s->ptail);
    if (a == NULL)
        a = take(&s->head, &s->tail);
    if (a != NULL)
        atomic_store_explicit(
            &s->qlen, atomic_load_explicit(&s->qlen, memory_order_relaxed) - 1,
            memory_order_relaxed);
    rq_unlock(s);
    return a;
}

/* Has v not finished a turn since s last looked (watch_others)? Then it
 * is stuck in a long handler. */
static bool stuck(rt_sched_t *s, rt_sched_t *v)
{
    return s->seen[v->idx] ==
           atomic_load_explicit(&v->runs, memory_order_relaxed) + 1;
}

/* May s steal from v's queue? Yes with two or more queued. A lone queued
 * actor is left where its cache is warm unless v is stuck and the actor
 * would wait for it. */
static bool worth_stealing(rt_sched_t *s, rt_sched_t *v)
{
    uint32_t q = atomic_load_explicit(&v->qlen, memory_order_relaxed);
    return q >= 2 || (q == 1 && stuck(s, v));
}

/* Take a stuck v's next, which would wait for v as long. */
static rt_actor_t *steal_next(rt_sched_t *s, rt_sched_t *v)
{
    rt_actor_t *a = atomic_load_explicit(&v->next, memory_order_relaxed);
    /* acquire: pairs with the release store in rt__sched_push(); the
     * actor's fields written before it went in are visible. */
    if (a == NULL || !stuck(s, v) ||
        !atomic_compare_exchange_strong_explicit(
            &v->next, &a, NULL, memory_order_acquire, memory_order_relaxed))
        return NULL;
    STAT_ADD(s, steals, 1);
    return a;
}

static rt_actor_t *steal(rt_sched_t *s)
{
    rt_t *rt = s->rt;
    for (uint32_t k = 1; k < rt->opts.schedulers; k++) {
        rt_sched_t *v = &rt->scheds[(s->idx + k) % rt->opts.schedulers];
        rt_actor_t *a = steal_next(s, v);
        if (a != NULL)
            return a;
        if (!worth_stealing(s, v))
            continue;
        if (!rq_trylock(v))
            continue;
        a = take(&v->head, &v->tail);
        if (a != NULL)
            atomic_store_explicit(
                &v->qlen,
                atomic_load_explicit(&v->qlen, memory_order_relaxed) - 1,
                memory_order_relaxed);
        rq_unlock(v);
        if (a != NULL) {
            STAT_ADD(s, steals, 1);
            return a;
        }
    }
    return NULL;
}

/* ---- the turn, published ------------------------------------------
 * turn_start and turn_pid form a tiny seqlock with turn_start as its
 * sequence (0 = "no turn"): the owner clears the start, writes the pid,
 * then writes the new start. To keep to one clock read per turn, a turn
 * is timed when the next one begins, or when the scheduler leaves its run
 * loop (turn_idle: to sleep or to run its uv loop's callbacks), whichever
 * comes first; what lies between two turns is a run-queue pop. */

uint64_t rt__sched_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Publish "turn from start, of pid" (start 0: no turn). Plain stores on
 * x86: release costs nothing there. */
static void turn_publish(rt_sched_t *s, uint64_t start, rt_pid_t pid)
{
    atomic_store_explicit(&s->turn_start, 0, memory_order_relaxed);
    /* release: pairs with the acquire load of the pid in
     * rt__sched_turn_read(); a reader that reads this pid then reads the
     * start cleared above, or a later one. */
    atomic_store_explicit(&s->turn_pid, pid, memory_order_release);
    /* release: pairs with the first acquire load of the start in
     * rt__sched_turn_read(); a reader that sees this start sees this pid
     * (or a later one). */
    if (start != 0)
        atomic_store_explicit(&s->turn_start, start, memory_order_release);
}

/* The last turn published (the owner reads its own stores) ended by
 * now: report it if it was long. */
static void turn_check(rt_sched_t *s, uint64_t now)
{
    uint64_t t0 = atomic_load_explicit(&s->turn_start, memory_order_relaxed);
    if (t0 != 0 && now > t0 && now - t0 > s->rt->opts.long_turn_ms)
        rt__sysmon_long_turn(
            s->rt, s->idx,
            atomic_load_explicit(&s->turn_pid, memory_order_relaxed),
            s->turn_beh, now - t0);
}

static void turn_begin(rt_sched_t *s, rt_actor_t *a)
{
    uint64_t now = rt__sched_clock_ms();
    turn_check(s, now);
    s->turn_beh = a->beh; /* static: outlives the actor, for the log */
    turn_publish(s, now, a->pid);
}

/* Leaving the run loop: the last turn is over. */
static void turn_idle(rt_sched_t *s)
{
    if (atomic_load_explicit(&s->turn_start, memory_order_relaxed) == 0)
        return;
    turn_check(s, rt__sched_clock_ms());
    turn_publish(s, 0, RT_PID_NONE);
}

uint64_t rt__sched_turn_read(rt_sched_t *s, rt_pid_t *pid)
{
    for (int tries = 0; tries < 4; tries++) {
        /* acquire: pairs with the release store of the start in
         * turn_publish(). */
        uint64_t start =
            atomic_load_explicit(&s->turn_start, memory_order_acquire);
        if (start == 0)
            continue; /* between turns, or mid-publish */
        /* acquire: pairs with the release store of the pid in
         * turn_publish(). */
        rt_pid_t p = atomic_load_explicit(&s->turn_pid, memory_order_acquire);
        if (atomic_load_explicit(&s->turn_start, memory_order_relaxed) ==
            start) {
            *pid = p;
            return start;
        }
    }
    *pid = RT_PID_NONE;
    return 0;
}

static void run(rt_sched_t *s, rt_actor_t *a)
{
    uint32_t handled = 0;
    turn_begin(s, a);
    rt_turn_t r = rt__actor_turn(a, RT_BATCH, &handled);
    rt__dist_flush_turn(); /* what the turn sent to other nodes */
    STAT_ADD(s, runs, 1);
    STAT_ADD(s, msgs, handled);
    if (r == RT__TURN_MORE)
        (void)enqueue(a->sched >= 0 ? &s->rt->scheds[a->sched] : s, a);
}

/* A function to run on a scheduler's thread (rt__sched_call). */
typedef struct rt__scall_s {
    struct rt__scall_s *next;
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} rt__scall_t;

static void on_wake(uv_async_t *h)
{
    rt_sched_t *s = h->data;
    rt__scall_t *c =
        atomic_exchange_explicit(&s->calls, NULL, memory_order_acquire);
    while (c != NULL) { /* newest first: callers wait, so order is moot */
        rt__scall_t *next = c->next;
        c->fn(c->arg);
        pthread_mutex_lock(&c->lock);
        c->done = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        c = next;
    }
}

uv_loop_t *rt__sched_loop(rt_t *rt, uint32_t k)
{
    return &rt->scheds[k].loop;
}

void rt__sched_call(rt_t *rt, uint32_t k, void (*fn)(void *), void *arg)
{
    rt_sched_t *s = &rt->scheds[k];
    if (rt__tls_sched == s) {
        fn(arg);
        return;
    }
    rt__scall_t c = {.fn = fn, .arg = arg};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    rt__scall_t *old = atomic_load_explicit(&s->calls, memory_order_relaxed);
    do
        c.next = old;
    while (!atomic_compare_exchange_weak_explicit(
        &s->calls, &old, &c, memory_order_release, memory_order_relaxed));
    uv_async_send(&s->wake);
    pthread_mutex_lock(&c.lock);
    while (!c.done)
        pthread_cond_wait(&c.cond, &c.lock);
    pthread_mutex_unlock(&c.lock);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
}
/* A due timer ends the sleep: uv_run(UV_RUN_ONCE) runs due uv timers
 * before it polls, so without the stop it would poll on, with the
 * runtime timer that armed it unserved. */
static void on_timer(uv_timer_t *h)
{
    uv_stop(h->loop);
}

/* Note the turn counts of busy schedulers with a queued actor. Returns
 * true if any other scheduler is awake: then the sleeper looks again in
 * 1 ms, to steal from one stuck in a long turn (see worth_stealing). */
static bool watch_others(rt_sched_t *s)
{
    rt_t *rt = s->rt;
    bool any = false;
    for (uint32_t i = 0; i < rt->opts.schedulers; i++) {
        rt_sched_t *v = &rt->scheds[i];
        s->seen[i] = 0;
        if (v == s || atomic_load_explicit(&v->sleeping, memory_order_relaxed))
            continue;
        any = true;
        if (atomic_load_explicit(&v->qlen, memory_order_relaxed) > 0 ||
            atomic_load_explicit(&v->next, memory_order_relaxed) != NULL)
            s->seen[i] =
                atomic_load_explicit(&v->runs, memory_order_relaxed) + 1;
    }
    return any;
}

/* Arm the loop's timer for the next runtime timer before sleeping. */
static void arm(rt_sched_t *s)
{
    /* seq_cst: "armed for nothing" before reading the heap, so a timer
     * added meanwhile either is seen here or sees UINT64_MAX and wakes
     * us (rt__sched_timer_added). */
    atomic_store_explicit(&s->armed, UINT64_MAX, memory_order_seq_cst);
    uint64_t next = rt__timers_next(&s->rt->timers);
    atomic_store_explicit(&s->armed, next, memory_order_seq_cst);
    uint64_t now = rt_now_ms(s->rt);
    uint64_t delay = next == UINT64_MAX ? UINT64_MAX
                     : next > now       ? next - now
                                        : 0;
    if (watch_others(s) && delay > 1)
        delay = 1;
    if (delay == UINT64_MAX) {
        uv_timer_stop(&s->timer);
    } else {
        /* The loop's cached clock may be stale after a long turn. */
        uv_update_time(&s->loop);
        uv_timer_start(&s->timer, on_timer, delay, 0);
    }
}

/* How long an idle scheduler looks for work before it sleeps. */
#define RT_SPIN_NS 50000

/* True if s has work, or (others: looking costs their cache lines)
 * another scheduler has enough to steal. */
static bool work_for(rt_sched_t *s, bool others)
{
    rt_t *rt = s->rt;
    if (atomic_load_explicit(&s->qlen, memory_order_relaxed) > 0 ||
        atomic_load_explicit(&s->next, memory_order_relaxed) != NULL ||
        atomic_load_explicit(&rt->sched_stop, memory_order_relaxed))
        return true;
    for (uint32_t i = 0; others && i < rt->opts.schedulers; i++)
        if (&rt->scheds[i] != s && worth_stealing(s, &rt->scheds[i]))
            return true;
    return false;
}

/* Before sleeping, while another scheduler is awake (so work may come
 * from it), look for work for up to RT_SPIN_NS: a message or a DOWN sent
 * a few microseconds later is then taken without a wake, which costs the
 * sender a syscall and this thread tens of microseconds to get a CPU
 * back (ERTS's schedulers spin the same way). True if work came. */
static bool spin_for_work(rt_sched_t *s)
{
    rt_t *rt = s->rt;
    bool awake = false;
    for (uint32_t i = 0; i < rt->opts.schedulers && !awake; i++)
        awake = &rt->scheds[i] != s &&
                !atomic_load_explicit(&rt->scheds[i].sleeping,
                                      memory_order_relaxed);
    if (!awake)
        return false;
    uint64_t t0 = uv_hrtime();
    for (uint32_t i = 1;; i++) {
        if (work_for(s, (i & 15) == 0))
            return true;
        if ((i & 63) == 0 && uv_hrtime() - t0 > RT_SPIN_NS)
            return false;
        cpu_relax();
    }
}

#define RT_IO_SPIN_NS 50000

void rt__sched_io_hot(rt_t *rt, uint32_t k, int delta)
{
    atomic_fetch_add_explicit(&rt->scheds[k].io_hot, delta,
                              memory_order_relaxed);
}

/* With hot sockets on the loop, poll it for up to RT_IO_SPIN_NS before
 * sleeping: true if work came. */
static bool io_spin(rt_sched_t *s)
{
    if (atomic_load_explicit(&s->io_hot, memory_order_relaxed) <= 0)
        return false;
    uint64_t t0 = uv_hrtime();
    do {
        uv_run(&s->loop, UV_RUN_NOWAIT);
        if (work_for(s, true))
            return true;
        for (int i = 0; i < 32; i++)
            cpu_relax();
    } while (uv_hrtime() - t0 < RT_IO_SPIN_NS);
    return false;
}

/* Nothing to run: sleep in the loop until woken, a timer or I/O. */
static void sched_idle(rt_sched_t *s, uint64_t *busy_start)
{
    rt_t *rt = s->rt;
    turn_idle(s);
    (void)rt__timers_expire(&rt->timers, rt, rt_now_ms(rt));
    uv_run(&s->loop, UV_RUN_NOWAIT);
    if (spin_for_work(s) || io_spin(s))
        return;
    /* seq_cst: pairs with the load in wake(). */
    atomic_store_explicit(&s->sleeping, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->qlen, memory_order_seq_cst) > 0 ||
        atomic_load_explicit(&s->next, memory_order_relaxed) != NULL ||
        atomic_load_explicit(&rt->sched_stop, memory_order_seq_cst)) {
        atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
        return;
    }
    arm(s);
    uint64_t now = uv_hrtime();
    STAT_ADD(s, busy_ns, now - *busy_start);
    STAT_ADD(s, sleeps, 1);
    uv_run(&s->loop, UV_RUN_ONCE);
    atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
    *busy_start = uv_hrtime();
    /* Going busy: a sleeping peer starts watching us (watch_others). */
    if (atomic_load_explicit(&s->qlen, memory_order_relaxed) > 0)
        wake_helper(rt, s);
}

static void sched_main(void *arg)
{
    rt_sched_t *s = arg;
    rt_t *rt = s->rt;
    uint64_t busy_start = uv_hrtime();
    uint32_t tick = 0;
    rt__tls_sched = s;
    while (!atomic_load_explicit(&rt->sched_stop, memory_order_acquire)) {
        rt_actor_t *a = pop_next(s);
        if (a == NULL && (a = pop_local(s)) != NULL)
            s->streak = 0;
        if (a == NULL)
            a = steal(s);
        if (a == NULL) {
            sched_idle(s, &busy_start);
            continue;
        }
        run(s, a);
        if ((++tick & 63) == 0) {
            turn_idle(s); /* the loop's callbacks are not the turn's */
            (void)rt__timers_expire(&rt->timers, rt, rt_now_ms(rt));
            uv_run(&s->loop, UV_RUN_NOWAIT);
        }
    }
    turn_idle(s);
    uv_close((uv_handle_t *)&s->wake, NULL);
    uv_close((uv_handle_t *)&s->timer, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    rt__pool_flush();
    rt__tls_sched = NULL;
}

/* Undo the first n fully initialised schedulers (no thread started). */
static void sched_unwind(rt_t *rt, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        rt_sched_t *s = &rt->scheds[i];
        uv_close((uv_handle_t *)&s->wake, NULL);
        uv_close((uv_handle_t *)&s->timer, NULL);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&s->loop);
    }
    free(rt->scheds);
    rt->scheds = NULL;
}

/* Initialise one scheduler's loop and handles; on failure undo what
 * this call did. @return 0 or -errno. */
static int sched_init(rt_t *rt, rt_sched_t *s, uint32_t i)
{
    s->rt = rt;
    s->idx = i;
    atomic_init(&s->armed, UINT64_MAX);
    int rc = uv_loop_init(&s->loop);
    if (rc < 0)
        return rc;
    if ((rc = uv_async_init(&s->loop, &s->wake, on_wake)) < 0) {
        (void)uv_loop_close(&s->loop);
        return rc;
    }
    s->wake.data = s;
    if ((rc = uv_timer_init(&s->loop, &s->timer)) < 0) {
        uv_close((uv_handle_t *)&s->wake, NULL);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&s->loop);
        return rc;
    }
    return 0;
}

int rt__sched_start(rt_t *rt, uint32_t n)
{
    rt->scheds = cleo_xcalloc(n, sizeof(rt_sched_t));
    rt->nstarted = 0;
    for (uint32_t i = 0; i < n; i++) {
        int rc = sched_init(rt, &rt->scheds[i], i);
        if (rc < 0) {
            sched_unwind(rt, i);
            return rc;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        int rc =
            uv_thread_create(&rt->scheds[i].thread, sched_main, &rt->scheds[i]);
        if (rc < 0)
            return rc; /* rt__sched_stop joins the started ones */
        rt->nstarted = i + 1;
    }
    return rt__sysmon_start(rt, &rt->sysmon);
}

void rt__sched_stop(rt_t *rt)
{
    if (rt->scheds == NULL)
        return;
    atomic_store_explicit(&rt->sched_stop, 1, memory_order_seq_cst);
    for (uint32_t i = 0; i < rt->nstarted; i++)
        uv_async_send(&rt->scheds[i].wake);
    for (uint32_t i = 0; i < rt->nstarted; i++)
        uv_thread_join(&rt->scheds[i].thread);
    /* Stopped last, it still reports a scheduler that holds up the join. */
    rt__sysmon_stop(rt->sysmon);
    rt->sysmon = NULL;
    for (uint32_t i = 0; i < rt->opts.schedulers; i++) {
        rt_sched_t *s = &rt->scheds[i];
        if (i >= rt->nstarted) {
            uv_close((uv_handle_t *)&s->wake, NULL);
            uv_close((uv_handle_t *)&s->timer, NULL);
            uv_run(&s->loop, UV_RUN_DEFAULT);
        }
        (void)uv_loop_close(&s->loop);
    }
    free(rt->scheds);
    rt->scheds = NULL;
}

void rt__sched_timer_added(rt_t *rt, uint64_t deadline)
{
    if (rt->scheds == NULL)
        return;
    for (uint32_t i = 0; i < rt->opts.schedulers; i++) {
        rt_sched_t *s = &rt->scheds[i];
        if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst) &&
            deadline < atomic_load_explicit(&s->armed, memory_order_seq_cst)) {
            uv_async_send(&s->wake);
            return;
        }
    }
}

/* ---- what the turns show to others ------------------------------- */

uint64_t rt_sched_stuck_ms(rt_t *rt)
{
    if (rt->scheds == NULL)
        return 0; /* deterministic mode: no threads to get stuck */
    uint64_t now = rt__sched_clock_ms(), worst = 0;
    for (uint32_t i = 0; i < rt->opts.schedulers; i++) {
        uint64_t start = atomic_load_explicit(&rt->scheds[i].turn_start,
                                              memory_order_relaxed);
        if (start != 0 && now > start && now - start > worst)
            worst = now - start;
    }
    return worst;
}

void rt__sched_stats(rt_t *rt, rt_stats_t *out)
{
    out->long_turns =
        atomic_load_explicit(&rt->long_turns, memory_order_relaxed);
    out->long_mqueues =
        atomic_load_explicit(&rt->long_mqueues, memory_order_relaxed);
    if (rt->scheds == NULL)
        return;
    uint64_t now = rt__sched_clock_ms();
    for (uint32_t i = 0; i < rt->opts.schedulers && i < RT_MAX_SCHED; i++) {
        rt_sched_stats_t *o = &out->sched[i];
        uint64_t start = rt__sched_turn_read(&rt->scheds[i], &o->running);
        o->turn_ms = start != 0 && now > start ? now - start : 0;
    }
}
