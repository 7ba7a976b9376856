/*
 * sysmon.c - the system monitor: long turns logged and counted, and a
 * thread that sees a scheduler stuck in a turn that never ends
 * (sysmon.h).
 */
#include "runtime/sysmon.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

struct rt_sysmon_s {
    rt_t *rt;
    uv_thread_t thread;
    uv_mutex_t lock; /* guards stop */
    uv_cond_t cond;  /* signalled when stop is set */
    bool stop;
    uint64_t interval_ms;
    uint64_t logged[RT_MAX_SCHED]; /* thread only: the turn_start last
                                      logged per scheduler; 0 = none */
};

uint64_t rt__sysmon_interval_ms(uint32_t long_turn_ms)
{
    uint64_t ms = long_turn_ms / 2;
    if (ms < RT_SYSMON_MIN_MS)
        return RT_SYSMON_MIN_MS;
    return ms > RT_SYSMON_MAX_MS ? RT_SYSMON_MAX_MS : ms;
}

/* "<0.5.1> name (behaviour b)" for a log line. beh may be NULL: it is
 * then read from the actor, if it is still alive. */
static void describe(rt_t *rt, rt_pid_t pid, const rt_behaviour_t *beh,
                     char *buf, size_t len)
{
    char p[32], name[RT_NAME_MAX];
    rt_actor_t *a;
    if (beh == NULL && rt__table_pin(&rt->table, pid, &a) == 0) {
        beh = a->beh;
        rt__table_unpin(&rt->table, a);
    }
    rt__registry_name_of(&rt->reg, pid, name, sizeof name);
    snprintf(buf, len, "%s%s%s (behaviour %s)", rt_pid_fmt(pid, p, sizeof p),
             name[0] != '\0' ? " " : "", name, beh != NULL ? beh->name : "?");
}

void rt__sysmon_long_turn(rt_t *rt, uint32_t sched, rt_pid_t pid,
                          const rt_behaviour_t *beh, uint64_t ms)
{
    char who[RT_NAME_MAX + 96];
    rt_actor_t *a;
    atomic_fetch_add_explicit(&rt->long_turns, 1, memory_order_relaxed);
    /* The actor may have died in the turn, or been rescheduled and run
     * elsewhere since: only a pin keeps its memory. */
    if (rt__table_pin(&rt->table, pid, &a) == 0) {
        atomic_fetch_add_explicit(&a->long_turns, 1, memory_order_relaxed);
        rt__table_unpin(&rt->table, a);
    }
    describe(rt, pid, beh, who, sizeof who);
    fprintf(stderr,
            "cleo: long turn: %s ran %" PRIu64 " ms on scheduler %u "
            "(runtime.long_turn_ms %u)\n",
            who, ms, sched, rt->opts.long_turn_ms);
}

/* Log each turn running past the limit, once per turn. */
static void scan(rt_sysmon_t *m)
{
    rt_t *rt = m->rt;
    uint64_t now = rt__sched_clock_ms();
    for (uint32_t i = 0; i < rt->opts.schedulers; i++) {
        rt_pid_t pid;
        uint64_t start = rt__sched_turn_read(&rt->scheds[i], &pid);
        if (start == 0 || now < start || now - start <= rt->opts.long_turn_ms ||
            m->logged[i] == start)
            continue;
        /* A later turn cannot start in the same ms as one that ran past
         * the limit, so the start names the turn. */
        m->logged[i] = start;
        char who[RT_NAME_MAX + 96];
        describe(rt, pid, NULL, who, sizeof who);
        fprintf(stderr,
                "cleo: long turn in progress: %s on scheduler %u for %" PRIu64
                " ms (runtime.long_turn_ms %u)\n",
                who, i, now - start, rt->opts.long_turn_ms);
    }
}

static void sysmon_main(void *arg)
{
    rt_sysmon_t *m = arg;
    uv_mutex_lock(&m->lock);
    while (!m->stop) {
        /* A spurious or early wake-up only costs an extra scan. */
        (void)uv_cond_timedwait(&m->cond, &m->lock, m->interval_ms * 1000000u);
        if (m->stop)
            break;
        uv_mutex_unlock(&m->lock);
        scan(m);
        uv_mutex_lock(&m->lock);
    }
    uv_mutex_unlock(&m->lock);
    rt__pool_flush();
}

int rt__sysmon_start(rt_t *rt, rt_sysmon_t **out)
{
    rt_sysmon_t *m = cleo_xcalloc(1, sizeof *m);
    m->rt = rt;
    m->interval_ms = rt__sysmon_interval_ms(rt->opts.long_turn_ms);
    int rc = uv_mutex_init(&m->lock);
    if (rc < 0)
        goto fail_mutex;
    if ((rc = uv_cond_init(&m->cond)) < 0)
        goto fail_cond;
    if ((rc = uv_thread_create(&m->thread, sysmon_main, m)) < 0)
        goto fail_thread;
    *out = m;
    return 0;
fail_thread:
    uv_cond_destroy(&m->cond);
fail_cond:
    uv_mutex_destroy(&m->lock);
fail_mutex:
    free(m);
    return rc;
}

void rt__sysmon_stop(rt_sysmon_t *m)
{
    if (m == NULL)
        return;
    uv_mutex_lock(&m->lock);
    m->stop = true;
    uv_cond_signal(&m->cond);
    uv_mutex_unlock(&m->lock);
    uv_thread_join(&m->thread);
    uv_cond_destroy(&m->cond);
    uv_mutex_destroy(&m->lock);
    free(m);
}
