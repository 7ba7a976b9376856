/*
 * test_exit.c - exit signals (Erlang's exit/2 and exit/1): rt_exit with
 * normal, abnormal, kill and killed reasons against trapping and
 * non-trapping actors, rt_exit_self, RT_STOP, trap_exit and the order of
 * an exit signal after earlier messages from the same sender.
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK, forward trapped EXIT and DOWN messages, and report their own
 * destroy(reason), so an actor's exit reason is read from its REP_DESTROY.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */

enum {
    CMD_PING = RTT_PING,       /* ack */
    CMD_LINK = RTT_LINK,       /* ack reason = rt_link(arg) */
    CMD_STOP = RTT_STOP,       /* exit: return m->reason (0: RT_STOP) */
    CMD_MONITOR = RTT_MONITOR, /* ack ref, reason = rt_monitor(arg) */
    CMD_EXIT = RTT_CMD_BASE,   /* ack reason = rt_exit(arg, m->reason) */
    CMD_EXIT_SELF,             /* rt_exit_self(m->reason), then ack */
    CMD_TRAP,      /* ack reason = rt_trap_exit(arg) (the old value) */
    CMD_PING_EXIT, /* send arg a CMD_PING, then rt_exit(arg, m->reason) */
    REP_ACK = RTT_ACK,
    REP_EXIT = RTT_EXIT,       /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN = RTT_DOWN,       /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY = RTT_DESTROY, /* destroy ran: reason */
};

typedef rtt_report_t report_t;

typedef rtt_probe_t probe_t;

/* ---- actors ----------------------------------------------------------- */

static int on_ping_exit(rt_actor_t *self, rt_pid_t to, int reason)
{
    rt_t *r = rt_actor_rt(self);
    rt_msg_t *m = rt_msg_new(CMD_PING);
    int rc = rt_send(r, to, m);
    if (rc == 0)
        rc = rt_exit(r, to, reason);
    return rtt_tell(self, REP_ACK, to, 0, rc);
}

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_t *r = rt_actor_rt(self);
    switch (m->type) {
    case CMD_EXIT:
        return rtt_tell(self, REP_ACK, m->arg, 0,
                        rt_exit(r, m->arg, m->reason));
    case CMD_EXIT_SELF:
        rt_exit_self(self, m->reason);
        return rtt_tell(self, REP_ACK, 0, 0, 0);
    case CMD_TRAP:
        return rtt_tell(self, REP_ACK, 0, 0, rt_trap_exit(self, m->arg != 0));
    case CMD_PING_EXIT:
        return on_ping_exit(self, m->arg, m->reason);
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

TestSuite(rt_exit, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

/* ---- tests ------------------------------------------------------------ */

/* A watcher that monitors pid and will report its DOWN. */
static rt_pid_t watch(rt_pid_t pid, rt_ref_t *ref)
{
    rt_pid_t w = rtt_spawn(&probe_beh, false);
    report_t a = rtt_cmd(w, CMD_MONITOR, pid);
    cr_assert_eq(a.reason, 0, "rt_monitor: %s", cleo_err_name(a.reason));
    *ref = a.ref;
    return w;
}

static void expect_down(rt_pid_t w, rt_pid_t pid, rt_ref_t ref, int reason)
{
    report_t d = rtt_expect(REP_DOWN, w);
    cr_assert_eq(d.other, pid);
    cr_assert_eq(d.ref, ref);
    cr_assert_eq(d.reason, reason, "DOWN %s, expected %s",
                 rt_reason_name(d.reason), rt_reason_name(reason));
}

Test(rt_exit, exit_normal_is_ignored_by_non_trapping_actor)
{
    rt_pid_t b = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rt_exit(rtt_rt, b, RT_REASON_NORMAL), 0);
    rtt_expect_alive(b);
}

Test(rt_exit, exit_abnormal_kills_non_trapping_actor)
{
    rt_pid_t b = rtt_spawn(&probe_beh, false);
    rt_ref_t ref;
    rt_pid_t w = watch(b, &ref);
    cr_assert_eq(rt_exit(rtt_rt, b, REASON_X), 0);
    rtt_expect_death(b, REASON_X);
    expect_down(w, b, ref, REASON_X);
    rtt_expect_gone(b);
}

Test(rt_exit, exit_abnormal_to_trapping_actor_arrives_as_message)
{
    rt_pid_t b = rtt_spawn(&probe_beh, true);
    cr_assert_eq(rt_exit(rtt_rt, b, REASON_X), 0);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.reason, REASON_X);
    cr_assert_eq(e.other, RT_PID_NONE, "sender outside actors is pid 0");
    rtt_expect_alive(b);
}

Test(rt_exit, exit_normal_to_trapping_actor_arrives_as_message)
{
    rt_pid_t b = rtt_spawn(&probe_beh, true);
    cr_assert_eq(rt_exit(rtt_rt, b, RT_REASON_NORMAL), 0);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.reason, RT_REASON_NORMAL);
    rtt_expect_alive(b);
}

Test(rt_exit, exit_from_an_actor_names_it_as_the_sender)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, true);
    rtt_post(a, CMD_EXIT, b, REASON_X);
    cr_assert_eq(rtt_expect(REP_ACK, a).reason, 0);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, REASON_X);
    rtt_expect_alive(a); /* exit/2 does not link the sender to anything */
}

Test(rt_exit, exit_kill_kills_trapping_actor_with_reason_killed)
{
    rt_pid_t b = rtt_spawn(&probe_beh, true);
    rt_ref_t ref;
    rt_pid_t w = watch(b, &ref);
    cr_assert_eq(rt_exit(rtt_rt, b, RT_REASON_KILL), 0);
    rtt_expect_death(b, RT_REASON_KILLED);
    expect_down(w, b, ref, RT_REASON_KILLED);
    rtt_expect_none(REP_EXIT, b, 0); /* killed: never saw it as a message */
}

Test(rt_exit, exit_kill_kills_non_trapping_actor_with_reason_killed)
{
    rt_pid_t b = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rt_exit(rtt_rt, b, RT_REASON_KILL), 0);
    rtt_expect_death(b, RT_REASON_KILLED);
}

Test(rt_exit, exit_kill_from_an_actor_kills_trapping_actor)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, true);
    rtt_post(a, CMD_EXIT, b, RT_REASON_KILL);
    cr_assert_eq(rtt_expect(REP_ACK, a).reason, 0);
    rtt_expect_death(b, RT_REASON_KILLED);
}

Test(rt_exit, exit_with_reason_killed_is_trappable)
{
    rt_pid_t b = rtt_spawn(&probe_beh, true);
    cr_assert_eq(rt_exit(rtt_rt, b, RT_REASON_KILLED), 0);
    report_t e = rtt_expect(REP_EXIT, b);
    cr_assert_eq(e.reason, RT_REASON_KILLED);
    rtt_expect_alive(b);
}

Test(rt_exit, exit_normal_to_itself_exits_the_caller_normally)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    rt_pid_t l = rtt_spawn(&probe_beh, false);
    rtt_link_ok(l, a);
    rtt_post(a, CMD_EXIT, a, RT_REASON_NORMAL);
    rtt_expect_death(a, RT_REASON_NORMAL);
    rtt_expect_alive(l); /* a normal exit does not take links along */
}

Test(rt_exit, exit_to_dead_pid_returns_enoproc)
{
    cr_assert_eq(rt_exit(rtt_rt, rtt_dead_pid(&probe_beh), REASON_X),
                 CLEO_ENOPROC);
}

Test(rt_exit, exit_to_malformed_pid_returns_ebadpid)
{
    cr_assert_eq(rt_exit(rtt_rt, RT_PID_NONE, REASON_X), CLEO_EBADPID);
    cr_assert_eq(rt_exit(rtt_rt, RT_PID_MAKE(9, 1, 1), REASON_X), CLEO_EBADPID);
}

Test(rt_exit, exit_self_exits_after_the_handler_returns)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    rt_ref_t ref;
    rt_pid_t w = watch(a, &ref);
    rtt_post(a, CMD_EXIT_SELF, 0, REASON_X);
    rtt_post(a, CMD_PING, 0, 0);
    /* The handler ran to its end (the ack), and no message after it. */
    cr_assert_eq(rtt_expect(REP_ACK, a).reason, 0);
    rtt_expect_death(a, REASON_X);
    expect_down(w, a, ref, REASON_X);
    rtt_expect_none(REP_ACK, a, RTT_QUIET_MS);
}

Test(rt_exit, exit_self_normal_does_not_kill_links)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), l = rtt_spawn(&probe_beh, false);
    rtt_link_ok(l, a);
    rtt_post(a, CMD_EXIT_SELF, 0, RT_REASON_NORMAL);
    rtt_expect(REP_ACK, a);
    rtt_expect_death(a, RT_REASON_NORMAL);
    rtt_expect_alive(l);
}

Test(rt_exit, handler_returning_stop_exits_normally)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), t = rtt_spawn(&probe_beh, true);
    rt_ref_t ref;
    rt_pid_t w = watch(a, &ref);
    rtt_link_ok(t, a);
    rtt_post(a, CMD_STOP, 0, 0); /* the probe returns RT_STOP */
    rtt_expect_death(a, RT_REASON_NORMAL);
    expect_down(w, a, ref, RT_REASON_NORMAL);
    report_t e = rtt_expect(REP_EXIT, t);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, RT_REASON_NORMAL);
}

Test(rt_exit, handler_returning_error_exits_with_it)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    rt_ref_t ref;
    rt_pid_t w = watch(a, &ref);
    rtt_post(a, CMD_STOP, 0, CLEO_ETIMEDOUT);
    rtt_expect_death(a, CLEO_ETIMEDOUT);
    expect_down(w, a, ref, CLEO_ETIMEDOUT);
}

Test(rt_exit, trap_exit_returns_the_previous_value)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    cr_assert_eq(rtt_cmd(a, CMD_TRAP, 1).reason, false);
    cr_assert_eq(rtt_cmd(a, CMD_TRAP, 1).reason, true);
    cr_assert_eq(rtt_cmd(a, CMD_TRAP, 0).reason, true);
    cr_assert_eq(rtt_cmd(a, CMD_TRAP, 0).reason, false);
}

Test(rt_exit, trap_exit_turned_on_later_traps)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    rtt_cmd(a, CMD_TRAP, 1);
    cr_assert_eq(rt_exit(rtt_rt, a, REASON_X), 0);
    cr_assert_eq(rtt_expect(REP_EXIT, a).reason, REASON_X);
    rtt_expect_alive(a);
}

Test(rt_exit, trap_exit_turned_off_no_longer_traps)
{
    rt_pid_t a = rtt_spawn(&probe_beh, true);
    cr_assert_eq(rtt_cmd(a, CMD_TRAP, 0).reason, true);
    cr_assert_eq(rt_exit(rtt_rt, a, REASON_X), 0);
    rtt_expect_death(a, REASON_X);
    rtt_expect_none(REP_EXIT, a, 0);
}

Test(rt_exit, spawn_trap_exit_option_shows_in_actor_info)
{
    rt_pid_t a = rtt_spawn(&probe_beh, true), b = rtt_spawn(&probe_beh, false);
    rt_actor_info_t ia, ib_;
    cr_assert_eq(rt_actor_info(rtt_rt, a, &ia), 0);
    cr_assert_eq(rt_actor_info(rtt_rt, b, &ib_), 0);
    cr_assert(ia.trap_exit);
    cr_assert_not(ib_.trap_exit);
}

Test(rt_exit, exit_signal_follows_earlier_messages_from_same_sender)
{
    for (int i = 0; i < 20; i++) {
        rt_pid_t a = rtt_spawn(&probe_beh, false),
                 b = rtt_spawn(&probe_beh, true);
        rtt_post(a, CMD_PING_EXIT, b, REASON_X);
        cr_assert_eq(rtt_expect(REP_ACK, a).reason, 0);
        /* b reports in the order it handled them: the message first. */
        report_t first = rtt_expect(0, b), second = rtt_expect(0, b);
        cr_assert_eq(first.kind, REP_ACK, "round %d: EXIT overtook", i);
        cr_assert_eq(second.kind, REP_EXIT);
        cr_assert_eq(second.other, a);
    }
}
