/*
 * test_link.c - links and exit-signal propagation with Erlang's semantics:
 * `normal` versus abnormal reasons, chains, kill, trap_exit, unlink, links
 * to dead pids and RT_SPAWN_LINK.
 *
 * The test thread observes through an inbox: probes (a small scriptable
 * behaviour) answer commands with REP_ACK, forward trapped EXIT and DOWN
 * messages, and report their own destroy(reason), so an actor's exit reason
 * is read from its REP_DESTROY.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define CHAIN_LEN 10000

enum {
    CMD_PING = RTT_PING,       /* ack */
    CMD_LINK = RTT_LINK,       /* ack reason = rt_link(arg) */
    CMD_STOP = RTT_STOP,       /* exit: return m->reason (0: RT_STOP) */
    CMD_UNLINK = RTT_CMD_BASE, /* ack reason = rt_unlink(arg) */
    CMD_SPAWN, /* spawn a child probe, flags = arg; ack other = child */
    CMD_GROW,  /* chain: spawn-link the next of arg more actors */
    REP_ACK = RTT_ACK,
    REP_EXIT = RTT_EXIT,       /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN = RTT_DOWN,       /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY = RTT_DESTROY, /* destroy ran: reason */
};

typedef rtt_report_t report_t;

typedef rtt_probe_t probe_t;

/* ---- actors ----------------------------------------------------------- */

static const rt_behaviour_t probe_beh;

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case CMD_UNLINK:
        return rtt_tell(self, REP_ACK, m->arg, 0, rt_unlink(self, m->arg));
    case CMD_SPAWN:
        return rtt_probe_spawn(self, &probe_beh, (uint32_t)m->arg);
    default:
        return rtt_probe_handle(self, m);
    }
}

static const rt_behaviour_t probe_beh = {
    .name = "probe",
    .init = rtt_probe_init,
    .handle = probe_handle,
    .destroy = rtt_probe_destroy,
};

static const rt_behaviour_t chain_beh;

/* One link of a chain: spawn-link the next one and pass on the count; the
 * last one links itself to the inbox and reports. */
static int chain_handle(rt_actor_t *self, rt_msg_t *m)
{
    probe_t *p = rt_state(self);
    if (m->type != CMD_GROW)
        return 0;
    if (m->arg == 0)
        return rtt_tell(self, REP_ACK, p->to, 0, rt_link(self, p->to));
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    rt_pid_t next = RT_PID_NONE;
    int rc = rt_spawn(rt_actor_rt(self), self, &chain_beh,
                      (void *)(uintptr_t)p->to, &o, &next);
    if (rc < 0)
        return rtt_tell(self, REP_ACK, 0, 0, rc);
    rt_msg_t *g = rt_msg_new(CMD_GROW);
    g->arg = m->arg - 1;
    return rt_send(rt_actor_rt(self), next, g) < 0 ? REASON_X : 0;
}

static const rt_behaviour_t chain_beh = {
    .name = "chain",
    .init = rtt_probe_init,
    .handle = chain_handle,
    .destroy = rtt_probe_destroy,
};

TestSuite(rt_link, .init = rtt_setup, .fini = rtt_teardown, .timeout = 120);

/* ---- tests ------------------------------------------------------------ */

Test(rt_link, normal_exit_does_not_kill_linked_actor)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    rtt_link_ok(a, b);
    rtt_post(a, CMD_STOP, 0, RT_REASON_NORMAL);
    rtt_expect_death(a, RT_REASON_NORMAL);
    rtt_expect_alive(b);
}

Test(rt_link, abnormal_exit_kills_linked_actor_with_same_reason)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    rtt_link_ok(a, b);
    rtt_post(a, CMD_STOP, 0, REASON_X);
    rtt_expect_death(a, REASON_X);
    rtt_expect_death(b, REASON_X);
    rtt_expect_gone(b);
}

Test(rt_link, abnormal_exit_propagates_both_ways_along_a_chain)
{
    rt_pid_t p[5];
    for (int i = 0; i < 5; i++)
        p[i] = rtt_spawn(&probe_beh, false);
    for (int i = 0; i < 4; i++)
        rtt_link_ok(p[i], p[i + 1]);
    rtt_post(p[2], CMD_STOP, 0, REASON_X);
    for (int i = 0; i < 5; i++)
        rtt_expect_death(p[i], REASON_X);
}

Test(rt_link, shutdown_reason_also_propagates)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    rtt_link_ok(b, a);
    rtt_post(a, CMD_STOP, 0, RT_REASON_SHUTDOWN);
    rtt_expect_death(b, RT_REASON_SHUTDOWN);
}

Test(rt_link, kill_kills_trapping_actor_and_links_see_killed)
{
    rt_pid_t b = rtt_spawn(&probe_beh, true);
    rt_pid_t trapper = rtt_spawn(&probe_beh, true),
             plain = rtt_spawn(&probe_beh, false);
    rtt_link_ok(trapper, b);
    rtt_link_ok(plain, b);
    cr_assert_eq(rt_exit(rtt_rt, b, RT_REASON_KILL), 0);
    rtt_expect_death(b, RT_REASON_KILLED);
    report_t e = rtt_expect(REP_EXIT, trapper);
    cr_assert_eq(e.other, b);
    cr_assert_eq(e.reason, RT_REASON_KILLED, "links saw %s",
                 rt_reason_name(e.reason));
    rtt_expect_death(plain, RT_REASON_KILLED);
    rtt_expect_alive(trapper);
}

Test(rt_link, trapping_actor_receives_exit_message_instead_of_dying)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, true);
    rtt_link_ok(a, b);
    rtt_post(a, CMD_STOP, 0, REASON_X);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, REASON_X);
    rtt_expect_alive(b);
    rtt_expect_none(REP_EXIT, b, 0);
}

Test(rt_link, trapping_actor_receives_normal_exit_as_message)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, true);
    rtt_link_ok(b, a);
    rtt_post(a, CMD_STOP, 0, RT_REASON_NORMAL);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, RT_REASON_NORMAL);
    rtt_expect_alive(b);
}

Test(rt_link, unlink_stops_propagation)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    rtt_link_ok(a, b);
    cr_assert_eq(rtt_cmd(a, CMD_UNLINK, b).reason, 0);
    rtt_post(a, CMD_STOP, 0, REASON_X);
    rtt_expect_death(a, REASON_X);
    rtt_expect_alive(b);
}

Test(rt_link, unlink_by_the_other_side_stops_propagation)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, true);
    rtt_link_ok(a, b);
    cr_assert_eq(rtt_cmd(b, CMD_UNLINK, a).reason, 0);
    rtt_post(a, CMD_STOP, 0, REASON_X);
    rtt_expect_death(a, REASON_X);
    rtt_expect_alive(b);
    rtt_expect_none(REP_EXIT, b, 0); /* trapping: not even a message */
}

Test(rt_link, unlink_when_not_linked_returns_zero)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rtt_cmd(a, CMD_UNLINK, b).reason, 0);
    cr_assert_eq(rtt_cmd(a, CMD_UNLINK, rtt_dead_pid(&probe_beh)).reason, 0);
}

Test(rt_link, link_twice_is_one_link)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, true);
    rtt_link_ok(a, b);
    rtt_link_ok(a, b);
    rtt_link_ok(b, a);
    cr_assert_eq(rtt_cmd(a, CMD_UNLINK, b).reason, 0);
    rtt_post(a, CMD_STOP, 0, REASON_X);
    rtt_expect_death(a, REASON_X);
    rtt_expect_alive(b);
    rtt_expect_none(REP_EXIT, b, 0);
}

Test(rt_link, link_to_dead_pid_kills_non_trapping_actor_with_noproc)
{
    rt_pid_t d = rtt_dead_pid(&probe_beh);
    rt_pid_t b = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rtt_cmd(b, CMD_LINK, d).reason, 0);
    rtt_expect_death(b, RT_REASON_NOPROC);
}

Test(rt_link, link_to_dead_pid_gives_trapping_actor_noproc_exit_message)
{
    rt_pid_t d = rtt_dead_pid(&probe_beh);
    rt_pid_t b = rtt_spawn(&probe_beh, true);
    cr_assert_eq(rtt_cmd(b, CMD_LINK, d).reason, 0);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.other, d);
    cr_assert_eq(e.reason, RT_REASON_NOPROC, "got %s",
                 rt_reason_name(e.reason));
    rtt_expect_alive(b);
}

Test(rt_link, link_to_malformed_pid_returns_ebadpid)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rtt_cmd(a, CMD_LINK, RT_PID_NONE).reason, CLEO_EBADPID);
    cr_assert_eq(rtt_cmd(a, CMD_LINK, RT_PID_MAKE(9, 1, 1)).reason,
                 CLEO_EBADPID);
    rtt_expect_alive(a);
}

Test(rt_link, inbox_link_to_dead_pid_gives_noproc_exit)
{
    rt_pid_t d = rtt_dead_pid(&probe_beh);
    cr_assert_eq(rt_inbox_link(rtt_ib, d), 0);
    report_t e = rtt_expect(RT_MSG_EXIT, rtt_ibp);
    cr_assert_eq(e.other, d);
    cr_assert_eq(e.reason, RT_REASON_NOPROC);
}

Test(rt_link, inbox_link_receives_exit_with_the_reason)
{
    rt_pid_t b = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rt_inbox_link(rtt_ib, b), 0);
    /* The inbox links asynchronously: wait until b holds the link. */
    rt_actor_info_t info = {0};
    for (int i = 0; i < 1000 && info.links == 0; i++) {
        cr_assert_eq(rt_actor_info(rtt_rt, b, &info), 0);
        if (info.links == 0)
            rtt_sleep_ms(1);
    }
    cr_assert_eq(info.links, 1);
    rtt_post(b, CMD_STOP, 0, REASON_X);
    report_t e = rtt_expect(RT_MSG_EXIT, rtt_ibp);
    cr_assert_eq(e.other, b);
    cr_assert_eq(e.reason, REASON_X);
}

Test(rt_link, spawn_link_child_exit_kills_parent)
{
    rt_pid_t p = rtt_spawn(&probe_beh, false);
    report_t s = rtt_cmd(p, CMD_SPAWN, RT_SPAWN_LINK);
    cr_assert_eq(s.reason, 0, "%s", cleo_err_name(s.reason));
    rtt_post(s.other, CMD_STOP, 0, REASON_X);
    rtt_expect_death(s.other, REASON_X);
    rtt_expect_death(p, REASON_X);
}

Test(rt_link, spawn_link_parent_exit_kills_child)
{
    rt_pid_t p = rtt_spawn(&probe_beh, false);
    report_t s = rtt_cmd(p, CMD_SPAWN, RT_SPAWN_LINK);
    cr_assert_eq(s.reason, 0, "%s", cleo_err_name(s.reason));
    rtt_post(p, CMD_STOP, 0, REASON_X);
    rtt_expect_death(p, REASON_X);
    rtt_expect_death(s.other, REASON_X);
}

Test(rt_link, spawn_without_link_flag_does_not_link)
{
    rt_pid_t p = rtt_spawn(&probe_beh, false);
    report_t s = rtt_cmd(p, CMD_SPAWN, 0);
    cr_assert_eq(s.reason, 0);
    rtt_post(p, CMD_STOP, 0, REASON_X);
    rtt_expect_death(p, REASON_X);
    rtt_expect_alive(s.other);
}

Test(rt_link, spawn_link_from_outside_actors_is_einval)
{
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    rt_pid_t pid = 12345;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, (void *)(uintptr_t)rtt_ibp,
                          &o, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(pid, 12345, "out written on failure");
}

Test(rt_link, chain_of_10000_killed_from_one_end_all_die)
{
    rt_pid_t head = RT_PID_NONE;
    int rc = rt_spawn(rtt_rt, NULL, &chain_beh, (void *)(uintptr_t)rtt_ibp,
                      NULL, &head);
    cr_assert_eq(rc, 0);
    rtt_post(head, CMD_GROW, CHAIN_LEN - 1, 0);
    report_t tail = rtt_expect(REP_ACK, 0); /* the last link is in place */
    cr_assert_eq(tail.reason, 0, "%s", cleo_err_name(tail.reason));
    cr_assert_eq(rt_exit(rtt_rt, head, RT_REASON_KILL), 0);

    int destroyed = 0, killed = 0, exits = 0;
    while (destroyed < CHAIN_LEN || exits < 1) {
        rt_msg_t *m = NULL;
        rc = rt_inbox_recv(rtt_ib, 30000, &m);
        cr_assert_eq(rc, 0, "after %d exits: %s", destroyed, cleo_err_name(rc));
        report_t r = rtt_to_report(m);
        if (r.kind == REP_DESTROY) {
            destroyed++;
            killed += r.reason == RT_REASON_KILLED;
        } else if (r.kind == RT_MSG_EXIT) {
            exits++;
            cr_assert_eq(r.other, tail.who);
            cr_assert_eq(r.reason, RT_REASON_KILLED, "inbox saw %s",
                         rt_reason_name(r.reason));
        } else {
            cr_assert_fail("unexpected report %u", r.kind);
        }
    }
    cr_assert_eq(killed, CHAIN_LEN);
    rtt_expect_gone(tail.who);
    rt_stats_t st;
    rt_stats(rtt_rt, &st);
    cr_assert_geq(st.exited, CHAIN_LEN);
}
