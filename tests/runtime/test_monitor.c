/*
 * test_monitor.c - monitors with Erlang's semantics: one DOWN with the
 * reason, noproc for a dead pid, demonitor (also dropping a DOWN already
 * queued), RT_SPAWN_MONITOR, and monitor/demonitor racing a dying target
 * (run this one under TSan too).
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK, forward DOWN messages, and report their own destroy(reason).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define RACE_ROUNDS 20
#define RACERS 32
#define RACE_ITERS 2000 /* most iterations a racer makes */

enum {
    CMD_PING = RTT_PING,          /* ack */
    CMD_LINK = RTT_LINK,          /* ack reason = rt_link(arg) */
    CMD_STOP = RTT_STOP,          /* exit: return m->reason (0: RT_STOP) */
    CMD_MONITOR = RTT_MONITOR,    /* ack ref, reason = rt_monitor(arg) */
    CMD_DEMONITOR = RTT_CMD_BASE, /* ack reason = rt_demonitor(ref = arg) */
    CMD_SPAWN,      /* spawn a child probe, flags = arg; ack other, ref */
    CMD_KILL_DEMON, /* monitor arg, kill it, wait, demonitor: ack rc */
    CMD_RACE,       /* monitor/demonitor arg m->reason times, then keep one */
    REP_ACK = RTT_ACK,
    REP_EXIT = RTT_EXIT,       /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN = RTT_DOWN,       /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY = RTT_DESTROY, /* destroy ran: reason */
    REP_STRAY = RTT_REP_BASE,  /* a DOWN for a monitor that was removed */
};

typedef rtt_report_t report_t;

typedef struct probe_s {
    rtt_probe_t base; /* first: where reports go */
    rt_ref_t keep;    /* CMD_RACE: the one monitor left in place */
} probe_t;

/* ---- actors ----------------------------------------------------------- */

static int probe_init(rt_actor_t *self, void *arg)
{
    return rtt_probe_alloc(self, arg, sizeof(probe_t));
}

static const rt_behaviour_t probe_beh;

/* Monitor t, kill it, and wait (blocking this scheduler on purpose; t is
 * pinned to another one) until its DOWN is queued here, then demonitor:
 * the DOWN must never be handled. */
static int on_kill_demon(rt_actor_t *self, rt_pid_t t)
{
    rt_t *r = rt_actor_rt(self);
    rt_ref_t ref = 0;
    int rc = rt_monitor(self, t, &ref);
    if (rc == 0)
        rc = rt_exit(r, t, RT_REASON_KILL);
    if (rc < 0)
        return rtt_tell(self, REP_ACK, t, 0, rc);
    struct timespec ms = {0, 1000000};
    int dead_ms = 0;
    for (int i = 0; i < 5000 && dead_ms < 200; i++) {
        rt_actor_info_t info;
        if (rt_actor_info(r, rt_self(self), &info) == 0 && info.mailbox > 0)
            break;
        dead_ms += !rt_is_alive(r, t);
        nanosleep(&ms, NULL);
    }
    return rtt_tell(self, REP_ACK, t, ref, rt_demonitor(self, ref));
}

/* Monitor and demonitor t over and over while it may be dying, then leave
 * one monitor in place. Ack reason = the number of failed calls. */
static int on_race(rt_actor_t *self, rt_pid_t t, int iters)
{
    probe_t *p = rt_state(self);
    int bad = 0;
    for (int i = 0; i < iters; i++) {
        rt_ref_t ref = 0;
        if (rt_monitor(self, t, &ref) != 0 || rt_demonitor(self, ref) != 0)
            bad++;
    }
    if (rt_monitor(self, t, &p->keep) != 0)
        bad++;
    return rtt_tell(self, REP_ACK, t, p->keep, bad);
}

static int on_down(rt_actor_t *self, rt_msg_t *m)
{
    probe_t *p = rt_state(self);
    uint32_t kind = p->keep == 0 || m->ref == p->keep ? REP_DOWN : REP_STRAY;
    return rtt_tell(self, kind, m->from, m->ref, m->reason);
}

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case CMD_DEMONITOR:
        return rtt_tell(self, REP_ACK, 0, m->arg, rt_demonitor(self, m->arg));
    case CMD_SPAWN:
        return rtt_probe_spawn(self, &probe_beh, (uint32_t)m->arg);
    case CMD_KILL_DEMON:
        return on_kill_demon(self, m->arg);
    case CMD_RACE:
        return on_race(self, m->arg, m->reason);
    case RT_MSG_DOWN:
        return on_down(self, m);
    default:
        return rtt_probe_handle(self, m);
    }
}

static const rt_behaviour_t probe_beh = {
    .name = "probe",
    .init = probe_init,
    .handle = probe_handle,
    .destroy = rtt_probe_destroy,
};

TestSuite(rt_monitor, .init = rtt_setup, .fini = rtt_teardown, .timeout = 120);

/* ---- tests ------------------------------------------------------------ */

static rt_pid_t spawn_pinned(int sched)
{
    rt_spawn_opts_t o = {.sched = sched};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rtt_rt, NULL, &probe_beh, (void *)(uintptr_t)rtt_ibp, &o,
                      &pid);
    cr_assert_eq(rc, 0, "rt_spawn: %s", cleo_err_name(rc));
    return pid;
}

static rt_ref_t monitor_ok(rt_pid_t w, rt_pid_t t)
{
    report_t a = rtt_cmd(w, CMD_MONITOR, t);
    cr_assert_eq(a.reason, 0, "rt_monitor: %s", cleo_err_name(a.reason));
    cr_assert_neq(a.ref, 0);
    return a.ref;
}

static void expect_down(rt_pid_t w, rt_pid_t t, rt_ref_t ref, int reason)
{
    report_t d = rtt_expect(REP_DOWN, w);
    cr_assert_eq(d.other, t);
    cr_assert_eq(d.ref, ref);
    cr_assert_eq(d.reason, reason, "DOWN %s, expected %s",
                 rt_reason_name(d.reason), rt_reason_name(reason));
}

/* The inbox monitors asynchronously: wait until t holds a monitor (or a
 * while, if the count shows only the monitors t holds on others). */
static void inbox_monitor_ok(rt_pid_t t)
{
    cr_assert_eq(rt_inbox_monitor(rtt_ib, t), 0);
    rt_actor_info_t info = {0};
    for (int i = 0; i < 500 && info.monitors == 0; i++) {
        cr_assert_eq(rt_actor_info(rtt_rt, t, &info), 0);
        rtt_sleep_ms(1);
    }
}

Test(rt_monitor, monitor_delivers_one_down_with_the_reason)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, false);
    rt_ref_t ref = monitor_ok(w, t);
    rtt_post(t, CMD_STOP, 0, REASON_X);
    expect_down(w, t, ref, REASON_X);
    rtt_expect_none(REP_DOWN, w, RTT_QUIET_MS);
    rtt_expect_alive(w); /* a monitor is not a link */
}

Test(rt_monitor, normal_exit_delivers_down_normal)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, false);
    rt_ref_t ref = monitor_ok(w, t);
    rtt_post(t, CMD_STOP, 0, RT_REASON_NORMAL);
    expect_down(w, t, ref, RT_REASON_NORMAL);
}

Test(rt_monitor, monitoring_twice_gives_two_downs_with_distinct_refs)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, false);
    rt_ref_t r1 = monitor_ok(w, t), r2 = monitor_ok(w, t);
    cr_assert_neq(r1, r2);
    rtt_post(t, CMD_STOP, 0, REASON_X);
    report_t d1 = rtt_expect(REP_DOWN, w), d2 = rtt_expect(REP_DOWN, w);
    cr_assert((d1.ref == r1 && d2.ref == r2) || (d1.ref == r2 && d2.ref == r1));
    rtt_expect_none(REP_DOWN, w, RTT_QUIET_MS);
}

Test(rt_monitor, many_watchers_each_get_one_down)
{
    enum { N = 200 };
    rt_pid_t t = rtt_spawn(&probe_beh, false), w[N];
    for (int i = 0; i < N; i++) {
        w[i] = rtt_spawn(&probe_beh, false);
        monitor_ok(w[i], t);
    }
    cr_assert_eq(rt_exit(rtt_rt, t, REASON_X), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(rtt_expect(REP_DOWN, w[i]).reason, REASON_X);
    rtt_expect_none(REP_DOWN, 0, RTT_QUIET_MS);
}

Test(rt_monitor, monitor_of_dead_pid_gives_noproc_down)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), d = rtt_dead_pid(&probe_beh);
    rt_ref_t ref = monitor_ok(w, d);
    expect_down(w, d, ref, RT_REASON_NOPROC);
    rtt_expect_none(REP_DOWN, w, RTT_QUIET_MS);
    rtt_expect_alive(w);
}

Test(rt_monitor, monitor_of_malformed_pid_returns_ebadpid)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rtt_cmd(w, CMD_MONITOR, RT_PID_NONE).reason, CLEO_EBADPID);
    cr_assert_eq(rtt_cmd(w, CMD_MONITOR, RT_PID_MAKE(9, 1, 1)).reason,
                 CLEO_EBADPID);
}

Test(rt_monitor, inbox_monitor_delivers_down)
{
    rt_pid_t t = rtt_spawn(&probe_beh, false);
    inbox_monitor_ok(t);
    rtt_post(t, CMD_STOP, 0, REASON_X);
    report_t d = rtt_expect(RT_MSG_DOWN, rtt_ibp);
    cr_assert_eq(d.other, t);
    cr_assert_eq(d.reason, REASON_X);
    cr_assert_neq(d.ref, 0);
}

Test(rt_monitor, inbox_monitor_of_dead_pid_gives_noproc_down)
{
    rt_pid_t d = rtt_dead_pid(&probe_beh);
    cr_assert_eq(rt_inbox_monitor(rtt_ib, d), 0);
    report_t down = rtt_expect(RT_MSG_DOWN, rtt_ibp);
    cr_assert_eq(down.other, d);
    cr_assert_eq(down.reason, RT_REASON_NOPROC);
}

Test(rt_monitor, demonitor_stops_the_down)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, false);
    rt_ref_t ref = monitor_ok(w, t);
    cr_assert_eq(rtt_cmd(w, CMD_DEMONITOR, ref).reason, 0);
    rtt_post(t, CMD_STOP, 0, REASON_X);
    rtt_expect_death(t, REASON_X);
    rtt_sleep_ms(RTT_QUIET_MS);
    rtt_cmd(w, CMD_PING, 0);
    rtt_expect_none(REP_DOWN, w, RTT_QUIET_MS);
}

Test(rt_monitor, demonitor_drops_a_down_not_yet_handled)
{
    rt_pid_t w = spawn_pinned(0), t = spawn_pinned(1);
    report_t a = rtt_cmd(w, CMD_KILL_DEMON, t);
    cr_assert_eq(a.reason, 0, "rt_demonitor with a DOWN queued: %s",
                 cleo_err_name(a.reason));
    rtt_expect_death(t, RT_REASON_KILLED);
    rtt_cmd(w, CMD_PING, 0);
    rtt_expect_none(REP_DOWN, w, RTT_QUIET_MS);
}

Test(rt_monitor, demonitor_after_the_down_returns_enotfound)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, false);
    rt_ref_t ref = monitor_ok(w, t);
    rtt_post(t, CMD_STOP, 0, REASON_X);
    expect_down(w, t, ref, REASON_X);
    cr_assert_eq(rtt_cmd(w, CMD_DEMONITOR, ref).reason, CLEO_ENOTFOUND);
}

Test(rt_monitor, demonitor_unknown_or_removed_ref_returns_enotfound)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rtt_cmd(w, CMD_DEMONITOR, 12345).reason, CLEO_ENOTFOUND);
    rt_ref_t ref = monitor_ok(w, t);
    cr_assert_eq(rtt_cmd(w, CMD_DEMONITOR, ref).reason, 0);
    cr_assert_eq(rtt_cmd(w, CMD_DEMONITOR, ref).reason, CLEO_ENOTFOUND);
    /* Another actor's monitor is not ours to remove. */
    rt_pid_t o = rtt_spawn(&probe_beh, false);
    rt_ref_t theirs = monitor_ok(o, t);
    cr_assert_eq(rtt_cmd(w, CMD_DEMONITOR, theirs).reason, CLEO_ENOTFOUND);
    rtt_post(t, CMD_STOP, 0, REASON_X);
    expect_down(o, t, theirs, REASON_X);
}

Test(rt_monitor, spawn_monitor_delivers_down_with_the_returned_ref)
{
    rt_pid_t p = rtt_spawn(&probe_beh, false);
    report_t s = rtt_cmd(p, CMD_SPAWN, RT_SPAWN_MONITOR);
    cr_assert_eq(s.reason, 0, "%s", cleo_err_name(s.reason));
    cr_assert_neq(s.ref, 0);
    rtt_post(s.other, CMD_STOP, 0, REASON_X);
    expect_down(p, s.other, s.ref, REASON_X);
    rtt_expect_alive(p); /* monitored, not linked */
}

Test(rt_monitor, spawn_monitor_child_does_not_see_parent_exit)
{
    rt_pid_t p = rtt_spawn(&probe_beh, false);
    report_t s = rtt_cmd(p, CMD_SPAWN, RT_SPAWN_MONITOR);
    cr_assert_eq(s.reason, 0);
    rtt_post(p, CMD_STOP, 0, REASON_X);
    rtt_expect_death(p, REASON_X);
    rtt_expect_alive(s.other);
}

Test(rt_monitor, spawn_link_and_monitor_together)
{
    rt_pid_t p = rtt_spawn(&probe_beh, true);
    report_t s = rtt_cmd(p, CMD_SPAWN, RT_SPAWN_LINK | RT_SPAWN_MONITOR);
    cr_assert_eq(s.reason, 0);
    rtt_post(s.other, CMD_STOP, 0, REASON_X);
    cr_assert_eq(rtt_expect(REP_EXIT, p).reason, REASON_X);
    expect_down(p, s.other, s.ref, REASON_X);
}

Test(rt_monitor, spawn_monitor_from_outside_actors_is_einval)
{
    rt_ref_t ref = 0;
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_MONITOR, .sched = RT_SCHED_ANY, .mon_ref = &ref};
    rt_pid_t pid = 12345;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, (void *)(uintptr_t)rtt_ibp,
                          &o, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(pid, 12345, "out written on failure");
}

/* RACERS actors monitor/demonitor a target over and over (each a
 * different number of times) while it is killed concurrently, so monitors
 * come and go before, during and after its death. Each must see exactly
 * one DOWN, for the monitor it kept (killed, or noproc if it came after the
 * death), and none for the monitors it removed, in every round. */
Test(rt_monitor, concurrent_monitor_demonitor_while_target_dies)
{
    for (int round = 0; round < RACE_ROUNDS; round++) {
        rt_pid_t t = rtt_spawn(&probe_beh, false), w[RACERS];
        for (int i = 0; i < RACERS; i++)
            w[i] = rtt_spawn(&probe_beh, false);
        for (int i = 0; i < RACERS; i++)
            rtt_post(w[i], CMD_RACE, t, (i * 997 + round * 131) % RACE_ITERS);
        struct timespec pause = {0, round * 25000L};
        nanosleep(&pause, NULL);
        cr_assert_eq(rt_exit(rtt_rt, t, RT_REASON_KILL), 0);
        for (int i = 0; i < RACERS; i++) {
            report_t a = rtt_expect(REP_ACK, w[i]);
            cr_assert_eq(a.reason, 0, "round %d: %d failed calls", round,
                         a.reason);
            report_t d = rtt_expect(REP_DOWN, w[i]);
            cr_assert_eq(d.other, t);
            cr_assert(d.reason == RT_REASON_KILLED ||
                          d.reason == RT_REASON_NOPROC,
                      "round %d: DOWN %s", round, rt_reason_name(d.reason));
        }
        rtt_expect_death(t, RT_REASON_KILLED);
        for (int i = 0; i < RACERS; i++)
            rtt_cmd(w[i], CMD_PING, 0);
        rtt_expect_none(REP_STRAY, 0, 0);
        rtt_expect_none(REP_DOWN, 0, 0);
    }
}
