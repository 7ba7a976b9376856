/*
 * kernel.h - the runtime object (struct rt_s) shared by the runtime's
 * files: table, schedulers, registry, timers, blocking pool, counters.
 */
#ifndef CLEO_RUNTIME_KERNEL_H
#define CLEO_RUNTIME_KERNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "runtime/det.h"
#include "runtime/registry.h"
#include "runtime/sched.h"
#include "runtime/table.h"
#include "runtime/timer.h"
#include "runtime/work.h"

typedef enum {
    RT_STATE_RUNNING = 0,
    RT_STATE_STOPPING, /* no outside sends/spawns; actors being killed */
    RT_STATE_DOWN      /* threads joined; nothing works */
} rt_kstate_t;

struct rt_s {
    rt_opts_t opts;
    _Atomic int state; /* rt_kstate_t */
    rt_table_t table;
    rt_registry_t reg;
    rt_timers_t timers;
    rt_work_pool_t work;
    rt_work_pool_t io;          /* rt_work_submit_io's pool */
    rt_sched_t *scheds;         /* opts.schedulers entries; NULL in det mode */
    struct rt_sysmon_s *sysmon; /* long-turn watchdog; NULL in det mode */
    uint32_t nstarted;          /* scheduler threads started */
    _Atomic int sched_stop;     /* tells scheduler threads to exit */
    _Atomic uint32_t rr;        /* round robin for outside pushes */
    rt_det_t det;               /* deterministic mode */
    _Atomic uint64_t next_ref;
    pthread_mutex_t idle_lock; /* with idle_cond: waits for live == 0 */
    pthread_cond_t idle_cond;  /* also broadcast when state turns DOWN */
    uint32_t shutdown_waiters; /* idle_lock: rt_shutdown callers waiting
                                  for another's shutdown to finish */
    _Atomic uint64_t spawned, exited, crashed, dropped;
    _Atomic uint64_t long_turns, long_mqueues; /* system_monitor counts */
    struct rt_dist_s *_Atomic dist; /* distribution; NULL = not started */
};

/* A fresh reference (monitors, calls): unique within the runtime. */
rt_ref_t rt__ref_new(rt_t *rt);

/* Put a runnable actor on a run queue (threaded or deterministic). */
void rt__schedule(rt_t *rt, rt_actor_t *a);

/* True once shutdown has begun. */
bool rt__stopping(rt_t *rt);

/* Called by the reaper when the live count drops: wakes rt_shutdown. */
void rt__notify_reaped(rt_t *rt);

#endif
