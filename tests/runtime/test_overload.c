/*
 * test_overload.c - bounded mailboxes and the long_message_queue alert: an
 * actor spawned with a mailbox limit refuses rt_try_send() once that many
 * messages are queued (the sender sheds load), rt_is_overloaded() says so,
 * plain rt_send() still delivers (Erlang's send never fails), and the
 * limit frees up as the backlog is handled. A mailbox that reaches
 * opts.long_mqueue is counted on the actor and in the runtime's stats.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "rtt.h"
#include "runtime/rt.h"

#define LIMIT 8
#define LONG_MQ 64

enum {
    W_BLOCK = RTT_CMD_BASE,
    W_NOOP,
};

static int worker_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == W_BLOCK)
        return rtt_gate_block();
    if (m->type == W_NOOP)
        return 0;
    return rtt_probe_handle(self, m);
}

static const rt_behaviour_t worker = {
    .name = "worker",
    .init = rtt_probe_init,
    .handle = worker_handle,
    .destroy = rtt_probe_destroy,
};

static void setup(void)
{
    rtt_gate_open_pipes();
    rt_opts_t o = {.schedulers = 2, .long_mqueue = LONG_MQ};
    rtt_start(&o);
}

TestSuite(rt_overload, .init = setup, .fini = rtt_gate_teardown, .timeout = 60);

static rt_pid_t spawn_bounded(uint32_t limit)
{
    rt_pid_t pid;
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY, .mailbox_limit = limit};
    cr_assert_eq(
        rt_spawn(rtt_rt, NULL, &worker, (void *)(uintptr_t)rtt_ibp, &o, &pid),
        0);
    return pid;
}

static int try_noop(rt_pid_t to)
{
    return rt_try_send(rtt_rt, to, rt_msg_new(W_NOOP));
}

/* Held on the gate with its limit queued: try_send refuses, send does
 * not, and once the backlog is handled try_send works again. */
Test(rt_overload, try_send_refuses_past_the_limit_and_recovers)
{
    rt_pid_t w = spawn_bounded(LIMIT);
    rtt_post(w, W_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < LIMIT; i++)
        cr_assert_eq(try_noop(w), 0, "message %d refused", i);
    cr_assert(rt_is_overloaded(rtt_rt, w));
    cr_assert_eq(try_noop(w), CLEO_EOVERLOAD);
    cr_assert_eq(rt_send(rtt_rt, w, rt_msg_new(W_NOOP)), 0,
                 "a plain send still delivers");
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, w, &info), 0);
    cr_assert_eq(info.mailbox, LIMIT + 1, "the refused message was not queued");
    cr_assert_eq(info.mailbox_limit, LIMIT);
    rtt_gate_release();
    rtt_cmd(w, RTT_PING, 0);
    cr_assert_not(rt_is_overloaded(rtt_rt, w));
    cr_assert_eq(try_noop(w), 0);
}

/* Without a limit nothing is refused. */
Test(rt_overload, unbounded_actor_never_refuses)
{
    rt_pid_t w = spawn_bounded(0);
    rtt_post(w, W_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < 10 * LIMIT; i++)
        cr_assert_eq(try_noop(w), 0);
    cr_assert_not(rt_is_overloaded(rtt_rt, w));
    rtt_gate_release();
}

/* A refused or dead target: as rt_send (noproc), and never overloaded. */
Test(rt_overload, try_send_to_a_dead_actor_is_noproc)
{
    rt_pid_t d = rtt_dead_pid(&worker);
    cr_assert_eq(try_noop(d), CLEO_ENOPROC);
    cr_assert_not(rt_is_overloaded(rtt_rt, d));
    cr_assert_eq(rt_try_send(rtt_rt, d, NULL), CLEO_EINVAL);
}

/* Messages kept in the private queue while signals are received still
 * count against the limit. */
Test(rt_overload, received_backlog_still_counts)
{
    rt_pid_t w = spawn_bounded(LIMIT);
    rtt_post(w, W_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < LIMIT; i++)
        cr_assert_eq(try_noop(w), 0);
    rt_pid_t p = rtt_spawn(&worker, false);
    cr_assert_eq(rtt_cmd(p, RTT_MONITOR, w).reason, 0);
    cr_assert_eq(rtt_cmd(p, RTT_MONITOR, w).reason, 0);
    cr_assert(rt_is_overloaded(rtt_rt, w));
    rtt_gate_release();
    rtt_cmd(w, RTT_PING, 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, w, &info), 0);
    cr_assert_eq(info.mailbox, 0);
    cr_assert_eq(info.monitors, 2);
}

/* long_message_queue: reaching opts.long_mqueue is counted once per
 * crossing, on the actor and in rt_stats. */
Test(rt_overload, long_message_queue_is_counted)
{
    rt_pid_t w = spawn_bounded(0);
    rtt_post(w, W_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < LONG_MQ - 1; i++)
        cr_assert_eq(rt_send(rtt_rt, w, rt_msg_new(W_NOOP)), 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, w, &info), 0);
    cr_assert_eq(info.long_mqueues, 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(rt_send(rtt_rt, w, rt_msg_new(W_NOOP)), 0);
    cr_assert_eq(rt_actor_info(rtt_rt, w, &info), 0);
    cr_assert_eq(info.long_mqueues, 1);
    rt_stats_t st;
    rt_stats(rtt_rt, &st);
    cr_assert_eq(st.long_mqueues, 1);
    rtt_gate_release();
    rtt_cmd(w, RTT_PING, 0);
    rtt_post(w, W_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < LONG_MQ; i++)
        cr_assert_eq(rt_send(rtt_rt, w, rt_msg_new(W_NOOP)), 0);
    cr_assert_eq(rt_actor_info(rtt_rt, w, &info), 0);
    cr_assert_eq(info.long_mqueues, 2, "a second crossing counts again");
    rtt_gate_release();
}
