/*
 * test_crash.c - crashes stay inside their actor: cl_panic, a failed
 * rt_assert or a handler's negative return kill only that actor, run its
 * destroy callback and resource destructors, and send the reason to its
 * links and monitors, while every other actor keeps working.
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK, forward trapped EXIT and DOWN messages, and report their own
 * destroy(reason) and each resource destructor (REP_RES).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define CROWD 10000

enum {
    CMD_PING = RTT_PING,       /* ack */
    CMD_LINK = RTT_LINK,       /* ack reason = rt_link(arg) */
    CMD_STOP = RTT_STOP,       /* exit: return m->reason (0: RT_STOP) */
    CMD_MONITOR = RTT_MONITOR, /* ack ref, reason = rt_monitor(arg) */
    CMD_SPAWN =
        RTT_CMD_BASE, /* spawn a child probe, flags = arg; ack other = child */
    CMD_PANIC,        /* cl_panic() */
    CMD_ASSERT,       /* rt_assert(arg == 0), then ack */
    CMD_RES,          /* rt_resource_add a reporting destructor, id = arg */
    CMD_RES_DROP,     /* rt_resource_remove the last one added */
    REP_ACK = RTT_ACK,
    REP_EXIT = RTT_EXIT,       /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN = RTT_DOWN,       /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY = RTT_DESTROY, /* destroy ran: reason */
    REP_RES = RTT_REP_BASE,    /* a resource destructor ran: other = its id */
};

typedef rtt_report_t report_t;

/* A resource whose destructor reports to the inbox. */
typedef struct res_s {
    rt_t *rt;
    rt_pid_t to, owner;
    uint64_t id;
} res_t;

typedef struct probe_s {
    rtt_probe_t base; /* first: where reports go */
    rt_res_t *last;   /* the last resource added, NULL if dropped */
    res_t *last_ptr;
} probe_t;

static int shutdown_frees; /* res_count() calls; one actor, joined */

/* ---- actors ----------------------------------------------------------- */

static void res_report(void *ptr)
{
    res_t *res = ptr;
    report_t rep = {REP_RES, res->owner, res->id, 0, 0};
    rtt_report(res->rt, res->to, &rep);
    free(res);
}

static void res_count(void *ptr)
{
    shutdown_frees++;
    free(ptr);
}

static int probe_init(rt_actor_t *self, void *arg)
{
    return rtt_probe_alloc(self, arg, sizeof(probe_t));
}

static const rt_behaviour_t probe_beh;

/* id 0 adds a counting resource instead of a reporting one. */
static int on_res(rt_actor_t *self, uint64_t id)
{
    probe_t *p = rt_state(self);
    res_t *res = malloc(sizeof *res);
    if (res == NULL)
        abort();
    *res = (res_t){rt_actor_rt(self), p->base.to, rt_self(self), id};
    int rc =
        rt_resource_add(self, id == 0 ? res_count : res_report, res, &p->last);
    p->last_ptr = res;
    return rtt_tell(self, REP_ACK, id, 0, rc);
}

static int on_res_drop(rt_actor_t *self)
{
    probe_t *p = rt_state(self);
    rt_resource_remove(self, p->last);
    free(p->last_ptr); /* removed: its destructor will not free it */
    p->last = NULL;
    p->last_ptr = NULL;
    return rtt_tell(self, REP_ACK, 0, 0, 0);
}

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case CMD_SPAWN:
        return rtt_probe_spawn(self, &probe_beh, (uint32_t)m->arg);
    case CMD_PANIC:
        cl_panic("probe told to panic (%d)", 42);
    case CMD_ASSERT:
        rt_assert(m->arg == 0);
        return rtt_tell(self, REP_ACK, 0, 0, 0);
    case CMD_RES:
        return on_res(self, m->arg);
    case CMD_RES_DROP:
        return on_res_drop(self);
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

static int failing_init(rt_actor_t *self, void *arg)
{
    return REASON_X;
}

static const rt_behaviour_t failing_beh = {
    .name = "failing",
    .init = failing_init,
    .handle = probe_handle,
};

TestSuite(rt_crash, .init = rtt_setup, .fini = rtt_teardown, .timeout = 120);

/* ---- tests ------------------------------------------------------------ */

static void add_res(rt_pid_t a, uint64_t id)
{
    cr_assert_eq(rtt_cmd(a, CMD_RES, id).reason, 0);
}

/* Resource destructors ids[0..n) of actor a ran, each exactly once. */
static void expect_resources(rt_pid_t a, const uint64_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        report_t r = rtt_expect(REP_RES, a);
        bool known = false;
        for (int j = 0; j < n; j++)
            known |= r.other == ids[j];
        cr_assert(known, "destructor of unknown resource %llu",
                  (unsigned long long)r.other);
    }
    rtt_expect_none(REP_RES, a, RTT_QUIET_MS);
}

static void expect_crash(rt_pid_t a, int reason)
{
    rtt_expect_death(a, reason);
    rtt_expect_gone(a);
}

Test(rt_crash, panic_kills_only_the_crashing_actor)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false),
             other = rtt_spawn(&probe_beh, false);
    rtt_post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    rtt_expect_alive(other);
    cr_assert_eq(rtt_cmd(other, CMD_PING, 7).other, 7);
}

Test(rt_crash, panic_runs_destroy_and_every_resource_destructor_once)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    const uint64_t ids[] = {1, 2, 3};
    for (int i = 0; i < 3; i++)
        add_res(a, ids[i]);
    rtt_post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_resources(a, ids, 3);
    rtt_expect_none(REP_DESTROY, a, 0); /* destroy ran once */
}

Test(rt_crash, panic_sends_epanic_to_links_and_monitors)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    rt_pid_t trapper = rtt_spawn(&probe_beh, true),
             plain = rtt_spawn(&probe_beh, false);
    rt_pid_t watcher = rtt_spawn(&probe_beh, false);
    rtt_link_ok(trapper, a);
    rtt_link_ok(plain, a);
    rt_ref_t ref = rtt_cmd(watcher, CMD_MONITOR, a).ref;
    rtt_post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    report_t e = rtt_expect(REP_EXIT, trapper);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, CLEO_EPANIC);
    rtt_expect_death(plain, CLEO_EPANIC);
    report_t d = rtt_expect(REP_DOWN, watcher);
    cr_assert_eq(d.ref, ref);
    cr_assert_eq(d.reason, CLEO_EPANIC);
    rtt_expect_alive(trapper);
    rtt_expect_alive(watcher);
}

Test(rt_crash, failed_rt_assert_crashes_with_epanic)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    add_res(a, 9);
    rtt_cmd(a, CMD_ASSERT, 0); /* holds: the handler goes on and acks */
    rtt_post(a, CMD_ASSERT, 1, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_resources(a, (const uint64_t[]){9}, 1);
    rtt_expect_none(REP_ACK, a, 0);
}

Test(rt_crash, negative_return_exits_with_that_error)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false),
             trapper = rtt_spawn(&probe_beh, true);
    rtt_link_ok(trapper, a);
    add_res(a, 5);
    rtt_post(a, CMD_STOP, 0, CLEO_EINVAL);
    expect_crash(a, CLEO_EINVAL);
    expect_resources(a, (const uint64_t[]){5}, 1);
    cr_assert_eq(rtt_expect(REP_EXIT, trapper).reason, CLEO_EINVAL);
}

Test(rt_crash, resources_run_on_normal_exit_too)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    add_res(a, 1);
    add_res(a, 2);
    rtt_post(a, CMD_STOP, 0, 0);
    rtt_expect_death(a, RT_REASON_NORMAL);
    expect_resources(a, (const uint64_t[]){1, 2}, 2);
}

Test(rt_crash, resources_run_when_killed)
{
    rt_pid_t a = rtt_spawn(&probe_beh, true);
    add_res(a, 4);
    cr_assert_eq(rt_exit(rtt_rt, a, RT_REASON_KILL), 0);
    rtt_expect_death(a, RT_REASON_KILLED);
    expect_resources(a, (const uint64_t[]){4}, 1);
}

Test(rt_crash, removed_resource_destructor_does_not_run)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    add_res(a, 1);
    add_res(a, 2);
    rtt_cmd(a, CMD_RES_DROP, 0); /* removes 2 */
    rtt_post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_resources(a, (const uint64_t[]){1}, 1);
}

Test(rt_crash, resources_run_at_shutdown)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    add_res(a, 0);
    add_res(a, 0);
    cr_assert_eq(rt_shutdown(rtt_rt), 0);
    cr_assert_eq(shutdown_frees, 2);
}

Test(rt_crash, crashed_actor_handles_no_later_messages)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    rtt_post(a, CMD_PANIC, 0, 0);
    /* Queued behind the panic, or refused if the actor is already gone
     * (another scheduler may run it first): either way never handled. */
    for (int i = 0; i < 2; i++) {
        int rc = rt_send(rtt_rt, a, rt_msg_new(CMD_PING));
        cr_assert(rc == 0 || rc == CLEO_ENOPROC, "rt_send: %s",
                  cleo_err_name(rc));
    }
    expect_crash(a, CLEO_EPANIC);
    rtt_expect_none(REP_ACK, a, RTT_QUIET_MS);
    rt_msg_t *m = rt_msg_new(CMD_PING);
    cr_assert_eq(rt_send(rtt_rt, a, m), CLEO_ENOPROC);
}

Test(rt_crash, trapping_actor_that_panics_still_dies)
{
    rt_pid_t a = rtt_spawn(&probe_beh, true);
    rtt_post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    rtt_expect_none(REP_EXIT, a, 0);
}

Test(rt_crash, panicking_child_sends_epanic_to_trapping_parent)
{
    rt_pid_t p = rtt_spawn(&probe_beh, true);
    report_t s = rtt_cmd(p, CMD_SPAWN, RT_SPAWN_LINK);
    cr_assert_eq(s.reason, 0);
    rtt_post(s.other, CMD_PANIC, 0, 0);
    expect_crash(s.other, CLEO_EPANIC);
    report_t e = rtt_expect(REP_EXIT, p);
    cr_assert_eq(e.other, s.other);
    cr_assert_eq(e.reason, CLEO_EPANIC);
    rtt_expect_alive(p);
}

Test(rt_crash, crash_is_counted_in_stats)
{
    rt_stats_t before, after;
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    rt_stats(rtt_rt, &before);
    rtt_post(a, CMD_PANIC, 0, 0);
    rtt_post(b, CMD_STOP, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_crash(b, RT_REASON_NORMAL);
    for (int i = 0; i < 2000; i++) { /* counters follow the exit */
        rt_stats(rtt_rt, &after);
        /* the live count drops when the dead actor is reaped, which may
         * come a moment after its exit is counted */
        if (after.exited >= before.exited + 2 &&
            after.actors <= before.actors - 2)
            break;
        rtt_sleep_ms(1);
    }
    cr_assert_eq(after.crashed, before.crashed + 1);
    cr_assert_eq(after.exited, before.exited + 2);
    cr_assert_eq(after.actors, before.actors - 2);
}

Test(rt_crash, init_error_fails_spawn_and_spawns_nothing)
{
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    rt_pid_t pid = 12345;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &failing_beh, NULL, NULL, &pid),
                 REASON_X);
    cr_assert_eq(pid, 12345, "out written on failure");
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.actors, before.actors);
}

Test(rt_crash, one_crash_among_10000_actors_leaves_the_rest_answering)
{
    static rt_pid_t crowd[CROWD];
    for (int i = 0; i < CROWD; i++)
        crowd[i] = rtt_spawn(&probe_beh, false);
    rt_pid_t victim = crowd[CROWD / 3];
    rtt_post(victim, CMD_PANIC, 0, 0);
    expect_crash(victim, CLEO_EPANIC);

    int sent = 0;
    for (int i = 0; i < CROWD; i++) {
        rt_msg_t *m = rt_msg_new(CMD_PING);
        m->arg = (uint64_t)i;
        int rc = rt_send(rtt_rt, crowd[i], m);
        cr_assert_eq(rc, crowd[i] == victim ? CLEO_ENOPROC : 0);
        sent += rc == 0;
    }
    cr_assert_eq(sent, CROWD - 1);
    static bool seen[CROWD];
    for (int n = 0; n < CROWD - 1; n++) {
        rt_msg_t *m = NULL;
        int rc = rt_inbox_recv(rtt_ib, 30000, &m);
        cr_assert_eq(rc, 0, "after %d answers: %s", n, cleo_err_name(rc));
        report_t r = rtt_to_report(m);
        cr_assert_eq(r.kind, REP_ACK, "unexpected report %u", r.kind);
        cr_assert_lt(r.other, (uint64_t)CROWD);
        cr_assert_not(seen[r.other], "two answers from %llu",
                      (unsigned long long)r.other);
        seen[r.other] = true;
    }
    rtt_expect_none(0, 0, RTT_QUIET_MS);
    rt_stats_t st;
    rt_stats(rtt_rt, &st);
    cr_assert_eq(st.crashed, 1);
}
