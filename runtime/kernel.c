/*
 * kernel.c - the runtime object: creation, shutdown, clock, counters.
 */
#include "runtime/kernel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/pool.h"

#define DEFAULT_MAX_ACTORS (1u << 22)

static int check_opts(rt_opts_t *o)
{
    if (o->schedulers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->schedulers = n > 0 ? (uint32_t)n : 1;
    }
    if (o->schedulers > RT_MAX_SCHED)
        return CLEO_EINVAL;
    if (o->max_actors == 0)
        o->max_actors = DEFAULT_MAX_ACTORS;
    if (o->max_actors > RT_MAX_ACTORS_LIMIT)
        return CLEO_EINVAL;
    if (o->dirty_threads == 0)
        o->dirty_threads = 4;
    if (o->io_threads == 0)
        o->io_threads = 64;
    if (o->long_turn_ms == 0)
        o->long_turn_ms = 100;
    if (o->long_mqueue == 0)
        o->long_mqueue = 10000;
    if (o->deterministic)
        o->schedulers = 1;
    return 0;
}

int rt_new(const rt_opts_t *opts, rt_t **out)
{
    rt_opts_t o = opts ? *opts : (rt_opts_t){0};
    int rc = check_opts(&o);
    if (rc < 0)
        return rc;
    rt_t *rt = cleo_xcalloc(1, sizeof *rt);
    rt->opts = o;
    atomic_init(&rt->state, RT_STATE_RUNNING);
    atomic_init(&rt->next_ref, 1);
    if ((rc = rt__table_init(&rt->table, o.max_actors, o.node)) < 0) {
        free(rt);
        return rc;
    }
    rt__registry_init(&rt->reg);
    rt__timers_init(&rt->timers);
    rt__det_init(&rt->det, o.seed);
    pthread_mutex_init(&rt->idle_lock, NULL);
    pthread_cond_init(&rt->idle_cond, NULL);
    if (!o.deterministic) {
        if ((rc = rt__work_start(&rt->work, rt, o.dirty_threads)) < 0 ||
            (rc = rt__work_start(&rt->io, rt, o.io_threads)) < 0 ||
            (rc = rt__sched_start(rt, o.schedulers)) < 0) {
            rt_free(rt);
            return rc;
        }
    }
    *out = rt;
    return 0;
}

rt_ref_t rt__ref_new(rt_t *rt)
{
    return atomic_fetch_add_explicit(&rt->next_ref, 1, memory_order_relaxed);
}

void rt__schedule(rt_t *rt, rt_actor_t *a)
{
    if (rt->opts.deterministic)
        rt__det_push(rt, a);
    else
        rt__sched_push(rt, a);
}

bool rt__stopping(rt_t *rt)
{
    return atomic_load_explicit(&rt->state, memory_order_acquire) !=
           RT_STATE_RUNNING;
}

void rt__notify_reaped(rt_t *rt)
{
    if (!rt__stopping(rt) ||
        atomic_load_explicit(&rt->table.live, memory_order_acquire) != 0)
        return;
    pthread_mutex_lock(&rt->idle_lock);
    pthread_cond_broadcast(&rt->idle_cond);
    pthread_mutex_unlock(&rt->idle_lock);
}

bool rt_on_scheduler(void)
{
    return rt__tls_sched != NULL || rt__tls_det;
}

uint64_t rt_now_ms(rt_t *rt)
{
    if (rt->opts.deterministic)
        return rt->det.now;
    return uv_hrtime() / 1000000u;
}

char *rt_pid_fmt(rt_pid_t pid, char *buf, size_t len)
{
    snprintf(buf, len, "<%u.%u.%u>", RT_PID_NODE(pid), RT_PID_SLOT(pid),
             RT_PID_GEN(pid));
    return buf;
}

/* ---- shutdown ------------------------------------------------------- */

/* Send every live actor an untrappable shutdown signal. */
static void kill_all(rt_t *rt)
{
    uint32_t used = atomic_load_explicit(&rt->table.used, memory_order_acquire);
    for (uint32_t i = 0; i < used; i++) {
        rt_actor_t *a = rt__table_pin_slot(&rt->table, i);
        if (a == NULL)
            continue;
        rt_msg_t *m = rt_msg_new(RT_MSG_EXIT);
        m->from = RT_PID_NONE;
        m->reason = RT_REASON_SHUTDOWN;
        m->_sys = RT__F_SHUTDOWN;
        rt_pid_t pid = a->pid;
        rt__table_unpin(&rt->table, a);
        (void)rt__send_sig(rt, pid, m);
    }
}

static uint32_t live(rt_t *rt)
{
    return atomic_load_explicit(&rt->table.live, memory_order_acquire);
}

/* Wait until every actor is reaped, re-killing stragglers spawned by
 * actors racing the first sweep. */
static void wait_all_dead(rt_t *rt)
{
    while (live(rt) > 0) {
        if (rt->opts.deterministic) {
            (void)rt_det_run(rt, 0);
            if (live(rt) > 0)
                kill_all(rt);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&rt->idle_lock);
        if (live(rt) > 0)
            pthread_cond_timedwait(&rt->idle_cond, &rt->idle_lock, &ts);
        pthread_mutex_unlock(&rt->idle_lock);
        if (live(rt) > 0)
            kill_all(rt);
    }
}

int rt_shutdown(rt_t *rt)
{
    if (rt == NULL)
        return 0;
    if (rt_on_scheduler())
        return CLEO_EDEADLK;
    int st = RT_STATE_RUNNING;
    if (!atomic_compare_exchange_strong(&rt->state, &st, RT_STATE_STOPPING)) {
        /* Another caller is shutting down: wait until it is done, so
         * every caller returns with the runtime down. */
        pthread_mutex_lock(&rt->idle_lock);
        rt->shutdown_waiters++;
        while (atomic_load_explicit(&rt->state, memory_order_acquire) !=
               RT_STATE_DOWN)
            pthread_cond_wait(&rt->idle_cond, &rt->idle_lock);
        if (--rt->shutdown_waiters == 0)
            pthread_cond_broadcast(&rt->idle_cond);
        pthread_mutex_unlock(&rt->idle_lock);
        return 0;
    }
    kill_all(rt);
    wait_all_dead(rt);
    rt__dist_shutdown(rt);
    rt__work_stop(&rt->work);
    rt__work_stop(&rt->io);
    rt__sched_stop(rt);
    pthread_mutex_lock(&rt->idle_lock);
    atomic_store_explicit(&rt->state, RT_STATE_DOWN, memory_order_release);
    pthread_cond_broadcast(&rt->idle_cond);
    pthread_mutex_unlock(&rt->idle_lock);
    return 0;
}

void rt_free(rt_t *rt)
{
    if (rt == NULL)
        return;
    (void)rt_shutdown(rt);
    /* Let concurrent rt_shutdown callers leave before freeing the lock
     * they wait on. */
    pthread_mutex_lock(&rt->idle_lock);
    while (rt->shutdown_waiters > 0)
        pthread_cond_wait(&rt->idle_cond, &rt->idle_lock);
    pthread_mutex_unlock(&rt->idle_lock);
    rt__work_stop(&rt->work);
    rt__work_stop(&rt->io);
    rt__sched_stop(rt);
    rt__dist_free(rt);
    rt__timers_destroy(&rt->timers);
    rt__registry_destroy(&rt->reg);
    rt__det_destroy(&rt->det);
    rt__table_destroy(&rt->table);
    pthread_mutex_destroy(&rt->idle_lock);
    pthread_cond_destroy(&rt->idle_cond);
    free(rt);
    rt__pool_flush();
}

void rt_stats(rt_t *rt, rt_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->actors = live(rt);
    out->spawned = atomic_load_explicit(&rt->spawned, memory_order_relaxed);
    out->exited = atomic_load_explicit(&rt->exited, memory_order_relaxed);
    out->crashed = atomic_load_explicit(&rt->crashed, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&rt->dropped, memory_order_relaxed);
    out->timers = rt__timers_count(&rt->timers);
    out->max_actors = rt->opts.max_actors;
    out->schedulers = rt->opts.schedulers;
    for (uint32_t i = 0; rt->scheds != NULL && i < out->schedulers; i++) {
        rt_sched_t *s = &rt->scheds[i];
        rt_sched_stats_t *o = &out->sched[i];
        o->runs = atomic_load_explicit(&s->runs, memory_order_relaxed);
        o->msgs = atomic_load_explicit(&s->msgs, memory_order_relaxed);
        o->steals = atomic_load_explicit(&s->steals, memory_order_relaxed);
        o->sleeps = atomic_load_explicit(&s->sleeps, memory_order_relaxed);
        o->busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed);
        o->queue = atomic_load_explicit(&s->qlen, memory_order_relaxed);
    }
    rt__sched_stats(rt, out); /* turns now, long turns/mqueues (sched.c) */
}
