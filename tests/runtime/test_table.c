/*
 * test_table.c - the actor table's slot accounting with per-scheduler
 * slot caches: max_actors bounds the live actors, not the slot indexes; a
 * slot parked in a scheduler's cache never makes a spawn elsewhere fail;
 * a pid whose slot lies beyond max_actors (the table has room for the
 * caches) works wherever a pid is checked; a reused slot's old pid
 * reaches nobody.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "rtt.h"
#include "runtime/rt.h"

#define MAX_ACTORS 16
#define CHURN 40 /* children spawned and stopped through caches */

enum { CMD_SPAWN = RTT_CMD_BASE, MSG_TICK };

static const rt_behaviour_t probe_beh;

/* A probe that spawns a probe child from its scheduler on CMD_SPAWN and
 * acks a timer's TICK like a ping. */
static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == CMD_SPAWN)
        return rtt_probe_spawn(self, &probe_beh, 0);
    if (m->type == MSG_TICK)
        return rtt_tell(self, RTT_ACK, MSG_TICK, 0, 0);
    return rtt_probe_handle(self, m);
}

static const rt_behaviour_t probe_beh = {.name = "table_probe",
                                         .init = rtt_probe_init,
                                         .handle = probe_handle,
                                         .destroy = rtt_probe_destroy};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2, .max_actors = MAX_ACTORS};
    rtt_start(&o);
}

/* One scheduler: a child dies where it was spawned, so its slot goes
 * back to the cache the next spawn takes from. */
static void setup_one_sched(void)
{
    rt_opts_t o = {.schedulers = 1, .max_actors = MAX_ACTORS};
    rtt_start(&o);
}

TestSuite(rt_table, .init = setup, .fini = rtt_fini, .timeout = 60);

static uint64_t live(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s.actors;
}

/* A child of parent, spawned on parent's scheduler (through its cache). */
static rt_pid_t spawn_from(rt_pid_t parent)
{
    rtt_report_t r = rtt_cmd(parent, CMD_SPAWN, 0);
    cr_assert_eq(r.reason, 0, "spawn: %s", cleo_err_name(r.reason));
    return r.other;
}

static void stop(rt_pid_t pid)
{
    rtt_post(pid, RTT_STOP, 0, 0);
    rtt_expect_death(pid, RT_REASON_NORMAL);
    rtt_expect_gone(pid);
}

/* Churn children of parent through the caches: spawn and stop CHURN. */
static void churn(rt_pid_t parent)
{
    for (int i = 0; i < CHURN; i++)
        stop(spawn_from(parent));
}

/* Spawn from the test thread until CLEO_ELIMIT; returns how many. */
static int fill(rt_pid_t *pids, int cap)
{
    int n = 0, rc;
    rt_pid_t pid;
    while ((rc = rt_spawn(rtt_rt, NULL, &probe_beh, (void *)(uintptr_t)rtt_ibp,
                          NULL, &pid)) == 0) {
        cr_assert_lt(n, cap, "spawned past max_actors");
        pids[n++] = pid;
    }
    cr_assert_eq(rc, CLEO_ELIMIT, "%s", cleo_err_name(rc));
    return n;
}

Test(rt_table, parked_slots_never_make_a_spawn_fail_before_the_limit)
{
    rt_pid_t parent = rtt_spawn(&probe_beh, false);
    churn(parent);
    uint64_t before = live();
    rt_pid_t pids[MAX_ACTORS];
    int n = fill(pids, MAX_ACTORS);
    cr_assert_eq((uint64_t)n, MAX_ACTORS - before,
                 "%d spawned with %llu live of %d", n,
                 (unsigned long long)before, MAX_ACTORS);
    cr_assert_eq(live(), MAX_ACTORS);
    /* Room again once one exits, whichever thread frees its slot. */
    stop(pids[0]);
    cr_assert_eq(fill(pids, 1), 1);
}

Test(rt_table, a_pid_beyond_max_actors_works_everywhere)
{
    rt_pid_t parent = rtt_spawn(&probe_beh, false);
    rt_pid_t watcher = rtt_spawn(&probe_beh, false);
    churn(parent);
    rt_pid_t pids[MAX_ACTORS], far = RT_PID_NONE;
    int n = fill(pids, MAX_ACTORS);
    for (int i = 0; i < n; i++)
        if (RT_PID_SLOT(pids[i]) >= MAX_ACTORS)
            far = pids[i];
    cr_assert_neq(far, RT_PID_NONE,
                  "no slot beyond max_actors: the caches hold nothing?");
    /* A message, introspection, a timer, a monitor, an exit. */
    cr_assert_eq(rtt_cmd(far, RTT_PING, 7).other, 7);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, far, &info), 0);
    cr_assert_eq(info.pid, far);
    cr_assert(rt_is_alive(rtt_rt, far));
    cr_assert_eq(rt_send_after(rtt_rt, 1, far, rt_msg_new(MSG_TICK), NULL), 0);
    cr_assert_eq(rtt_expect(RTT_ACK, far).other, MSG_TICK);
    rtt_report_t mon = rtt_cmd(watcher, RTT_MONITOR, far);
    cr_assert_eq(mon.reason, 0, "%s", cleo_err_name(mon.reason));
    cr_assert_eq(rt_exit(rtt_rt, far, CLEO_EPANIC), 0);
    rtt_report_t down = rtt_expect(RTT_DOWN, watcher);
    cr_assert_eq(down.other, far);
    cr_assert_eq(down.reason, CLEO_EPANIC);
}

Test(rt_table, a_reused_slots_old_pid_reaches_nobody, .init = setup_one_sched)
{
    rt_pid_t parent = rtt_spawn(&probe_beh, false);
    rt_pid_t old[8];
    for (int i = 0; i < 8; i++)
        old[i] = spawn_from(parent);
    for (int i = 0; i < 8; i++)
        stop(old[i]);
    int reused = 0;
    for (int i = 0; i < 8; i++) {
        rt_pid_t now = spawn_from(parent);
        for (int j = 0; j < 8; j++)
            if (RT_PID_SLOT(now) == RT_PID_SLOT(old[j])) {
                cr_assert_neq(RT_PID_GEN(now), RT_PID_GEN(old[j]));
                reused++;
            }
        cr_assert_eq(rtt_cmd(now, RTT_PING, 1).other, 1);
    }
    cr_assert_gt(reused, 0, "no slot was reused");
    for (int i = 0; i < 8; i++) {
        cr_assert_not(rt_is_alive(rtt_rt, old[i]));
        cr_assert_eq(rt_send(rtt_rt, old[i], rt_msg_new(RTT_PING)),
                     CLEO_ENOPROC);
    }
    rtt_expect_silence(RTT_QUIET_MS);
}
