/*
 * test_stats.c - introspection: rt_actor_info() (messages handled, mailbox
 * length, behaviour and registered names, state, trap_exit, memory),
 * rt_actor_foreach() over the live actors, and rt_stats() counters.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

#define MAX_ACTORS 4096
#define STATE_BYTES 1000

enum {
    MSG_ANY = 1,
    MSG_PING,
    MSG_STOP,
    MSG_CRASH,
    MSG_TRAP, /* turn trap_exit on */
    MSG_GATE, /* block on the gate pipe */
    REP_PONG = 100,
};

static int counter_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case MSG_PING:
        rtt_notify(REP_PONG, 0, 0);
        return 0;
    case MSG_STOP:
        return RT_STOP;
    case MSG_CRASH:
        return -5;
    case MSG_TRAP:
        (void)rt_trap_exit(self, true);
        return 0;
    case MSG_GATE:
        return rtt_gate_block();
    default:
        return 0;
    }
}

static size_t counter_memory(const rt_actor_t *self)
{
    return STATE_BYTES;
}

static const rt_behaviour_t counter_beh = {
    .name = "counter",
    .handle = counter_handle,
    .memory = counter_memory,
};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2, .max_actors = MAX_ACTORS};
    rtt_start(&o);
}

static void teardown(void)
{
    rtt_gate_unstick();
    rtt_fini();
    rtt_gate_close_pipes();
}

static rt_pid_t spawn_counter(const char *name)
{
    rt_spawn_opts_t o = {.name = name, .sched = RT_SCHED_ANY};
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &counter_beh, NULL, &o, &pid), 0);
    return pid;
}

static void send_type(rt_pid_t to, uint32_t type)
{
    cr_assert_eq(rt_send(rtt_rt, to, rt_msg_new(type)), 0);
}

static rt_actor_info_t info_of(rt_pid_t pid)
{
    rt_actor_info_t info;
    int rc = rt_actor_info(rtt_rt, pid, &info);
    cr_assert_eq(rc, 0, "%s", cleo_err_name(rc));
    return info;
}

/* Poll until the actor has handled `msgs` messages (counted after each
 * handler returns, so a reply may arrive a moment before the count). */
static rt_actor_info_t wait_msgs(rt_pid_t pid, uint64_t msgs)
{
    rt_actor_info_t info = info_of(pid);
    for (int i = 0; i < 2000 && info.msgs < msgs; i++) {
        rtt_sleep_ms(1);
        info = info_of(pid);
    }
    cr_assert_eq(info.msgs, msgs, "handled %llu, wanted %llu",
                 (unsigned long long)info.msgs, (unsigned long long)msgs);
    return info;
}

static void wait_dead(rt_pid_t pid)
{
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
}

static rt_stats_t stats(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s;
}

static uint64_t sched_sum(const rt_stats_t *s, bool runs)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < s->schedulers && i < RT_MAX_SCHED; i++)
        sum += runs ? s->sched[i].runs : s->sched[i].msgs;
    return sum;
}

TestSuite(rt_stats, .init = setup, .fini = teardown, .timeout = 30);

Test(rt_stats, actor_info_describes_a_new_actor)
{
    rt_pid_t pid = spawn_counter("stat_me");
    rt_actor_info_t info = info_of(pid);
    cr_assert_eq(info.pid, pid);
    cr_assert_str_eq(info.behaviour, "counter");
    cr_assert_str_eq(info.name, "stat_me");
    cr_assert_eq(info.msgs, 0);
    cr_assert_eq(info.mailbox, 0);
    cr_assert_eq(info.sched, RT_SCHED_ANY);
    cr_assert_eq(info.state, RT_ACTOR_WAITING);
    cr_assert_not(info.trap_exit);
    cr_assert_geq(info.memory, STATE_BYTES, "memory() is included");
    cr_assert_eq(info.links, 0);
}

Test(rt_stats, actor_info_counts_handled_messages)
{
    rt_pid_t pid = spawn_counter(NULL);
    for (int i = 0; i < 5; i++)
        send_type(pid, MSG_ANY);
    send_type(pid, MSG_PING);
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    rt_actor_info_t info = wait_msgs(pid, 6);
    cr_assert_eq(info.mailbox, 0);
    cr_assert_str_eq(info.name, "", "no registered name");
}

Test(rt_stats, actor_info_counts_queued_messages)
{
    rtt_gate_open_pipes();
    rt_pid_t pid = spawn_counter(NULL);
    send_type(pid, MSG_GATE);
    rtt_gate_wait_blocked();
    for (int i = 0; i < 5; i++)
        send_type(pid, MSG_ANY);
    rt_actor_info_t info = info_of(pid);
    cr_assert_eq(info.mailbox, 5, "queued %llu",
                 (unsigned long long)info.mailbox);
    cr_assert_eq(info.msgs, 0, "the gate handler has not returned");
    cr_assert_eq(info.state, RT_ACTOR_RUNNING);

    rtt_gate_release();
    info = wait_msgs(pid, 6);
    cr_assert_eq(info.mailbox, 0);
    for (int i = 0; i < 2000 && info.state != RT_ACTOR_WAITING; i++) {
        rtt_sleep_ms(1);
        info = info_of(pid);
    }
    cr_assert_eq(info.state, RT_ACTOR_WAITING);
}

Test(rt_stats, actor_info_shows_trap_exit_turned_on)
{
    rt_pid_t pid = spawn_counter(NULL);
    send_type(pid, MSG_TRAP);
    send_type(pid, MSG_PING);
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    cr_assert(info_of(pid).trap_exit);
}

Test(rt_stats, actor_info_of_a_dead_actor_is_enoproc)
{
    rt_pid_t pid = spawn_counter(NULL);
    send_type(pid, MSG_STOP);
    wait_dead(pid);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), CLEO_ENOPROC);
}

typedef struct visit_s {
    int counters, total, stop_after;
    rt_pid_t pids[64];
    int seen[64];
    int named;
} visit_t;

static int visit(const rt_actor_info_t *info, void *data)
{
    visit_t *v = data;
    v->total++;
    if (info->behaviour && strcmp(info->behaviour, "counter") == 0) {
        v->counters++;
        for (int i = 0; i < 64; i++)
            if (v->pids[i] == info->pid)
                v->seen[i]++;
        if (strcmp(info->name, "visited_0") == 0)
            v->named++;
    }
    return v->stop_after && v->total == v->stop_after ? 7 : 0;
}

Test(rt_stats, actor_foreach_visits_each_live_actor_once)
{
    enum { N = 20, STOPPED = 5 };
    visit_t v = {0};
    for (int i = 0; i < N; i++)
        v.pids[i] = spawn_counter(i == 0 ? "visited_0" : NULL);
    cr_assert_eq(rt_actor_foreach(rtt_rt, visit, &v), 0);
    cr_assert_eq(v.counters, N);
    cr_assert_eq((uint64_t)v.total, stats().actors, "every live actor");
    cr_assert_eq(v.named, 1);
    for (int i = 0; i < N; i++)
        cr_assert_eq(v.seen[i], 1, "actor %d seen %d times", i, v.seen[i]);

    for (int i = N - STOPPED; i < N; i++)
        send_type(v.pids[i], MSG_STOP);
    for (int i = N - STOPPED; i < N; i++)
        wait_dead(v.pids[i]);
    memset(v.seen, 0, sizeof(v.seen));
    v.counters = v.total = 0;
    cr_assert_eq(rt_actor_foreach(rtt_rt, visit, &v), 0);
    cr_assert_eq(v.counters, N - STOPPED);
    for (int i = 0; i < N; i++)
        cr_assert_eq(v.seen[i], i < N - STOPPED ? 1 : 0, "actor %d", i);
}

Test(rt_stats, actor_foreach_stops_when_the_callback_returns_nonzero)
{
    for (int i = 0; i < 10; i++)
        spawn_counter(NULL);
    visit_t v = {.stop_after = 3};
    cr_assert_eq(rt_actor_foreach(rtt_rt, visit, &v), 7);
    cr_assert_eq(v.total, 3);
}

Test(rt_stats, runtime_counters_move_with_spawns_exits_crashes_and_drops)
{
    rt_stats_t before = stats();
    rt_pid_t a = spawn_counter(NULL), b = spawn_counter(NULL);
    spawn_counter(NULL);
    send_type(a, MSG_STOP);
    send_type(b, MSG_CRASH);
    wait_dead(a);
    wait_dead(b);
    cr_assert_eq(rt_send(rtt_rt, a, rt_msg_new(MSG_ANY)), CLEO_ENOPROC);

    rt_stats_t after = stats();
    for (int i = 0; i < 2000 && after.exited < before.exited + 2; i++) {
        rtt_sleep_ms(1);
        after = stats();
    }
    cr_assert_eq(after.spawned, before.spawned + 3);
    cr_assert_eq(after.exited, before.exited + 2);
    cr_assert_eq(after.crashed, before.crashed + 1, "only the crash");
    cr_assert_eq(after.dropped, before.dropped + 1);
    cr_assert_eq(after.actors, before.actors + 1);
}

Test(rt_stats, runtime_stats_report_the_configuration)
{
    rt_stats_t s = stats();
    cr_assert_eq(s.schedulers, 2);
    cr_assert_eq(s.max_actors, MAX_ACTORS);
    cr_assert_geq(s.actors, 1, "the inbox is an actor");
    cr_assert_eq(s.timers, 0);
}

Test(rt_stats, scheduler_stats_count_handled_messages)
{
    enum { N = 100 };
    rt_stats_t before = stats();
    rt_pid_t pid = spawn_counter(NULL);
    for (int i = 0; i < N; i++)
        send_type(pid, MSG_ANY);
    send_type(pid, MSG_PING);
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    wait_msgs(pid, N + 1);
    rt_stats_t after = stats();
    for (int i = 0; i < 2000 && sched_sum(&after, false) <
                                    sched_sum(&before, false) + N + 1;
         i++) {
        rtt_sleep_ms(1);
        after = stats();
    }
    cr_assert_geq(sched_sum(&after, false), sched_sum(&before, false) + N + 1);
    cr_assert_gt(sched_sum(&after, true), sched_sum(&before, true));
}

static int echo_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *r = rt_msg_new(m->type);
    return rt_reply(rt_actor_rt(self), rt_msg_caller(m), r) == 0 ? 0 : -1;
}

static const rt_behaviour_t echo_beh = {.name = "echo", .handle = echo_handle};

/* A completed blocking call is not an actor crash, whatever machinery
 * (a temporary inbox) the runtime uses to wait for the reply. */
Test(rt_stats, completed_call_sync_is_not_counted_as_a_crash)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, NULL, &pid), 0);
    rt_stats_t before = stats();
    for (int i = 0; i < 3; i++) {
        rt_msg_t *rep = NULL;
        cr_assert_eq(rt_call_sync(rtt_rt, pid, rt_msg_new(MSG_ANY), 2000, &rep),
                     0);
        rt_msg_free(rep);
    }
    rt_stats_t after = stats();
    for (int i = 0; i < 1000 && after.actors != before.actors; i++) {
        rtt_sleep_ms(1);
        after = stats();
    }
    cr_assert_eq(after.actors, before.actors);
    cr_assert_eq(after.crashed, before.crashed, "crashed moved by %llu",
                 (unsigned long long)(after.crashed - before.crashed));
}
