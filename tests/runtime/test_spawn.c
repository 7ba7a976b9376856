/*
 * test_spawn.c - rt_spawn(): init and its argument, spawn options (name,
 * sched, trap_exit, monitor), identity (rt_self, rt_current), normal and
 * abnormal exits, and destroy running exactly once.
 *
 * Actors never assert: they report to the test's inbox and the test
 * asserts on what arrives. Values written by destroy() on scheduler threads
 * are read only after rt_shutdown() has joined those threads.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_PING = 1,  /* report REP_PONG with the state's value */
    MSG_STOP,      /* return RT_STOP */
    MSG_CRASH,     /* return (int)arg, a negative reason */
    MSG_EXIT_SELF, /* rt_exit_self(arg) then return 0 */
    MSG_PANIC,     /* cl_panic() */
    MSG_WHOAMI,    /* report REP_SELF: pid in arg, checks in reason */
    MSG_SPAWN_KID, /* parent: spawn a monitored child, report REP_CHILD */
    REP_PONG = 100,
    REP_SELF,
    REP_FWD,       /* any other message: arg = its type, reason = reason */
    REP_DESTROYED, /* from destroy(): reason = exit reason */
    REP_CHILD,     /* arg = child pid */
    REP_DOWN,      /* parent saw DOWN: arg = from, reason; ref matched? */
};

#define MAX_PROBES 8

/* Per-probe records written by destroy(); read after rt_shutdown(). */
static int destroyed[MAX_PROBES];
static int destroy_reason[MAX_PROBES];
/* Written by init(), which runs on the spawning (test) thread. */
static int init_calls;
static const void *init_arg_seen;
static rt_pid_t init_self;

typedef struct probe_arg_s {
    int idx;        /* slot in destroyed[] */
    uint64_t value; /* copied into the state */
} probe_arg_t;

typedef struct probe_s {
    int idx;
    uint64_t value;
    rt_ref_t kid_ref; /* parent: monitor ref of its child */
    rt_pid_t kid;
} probe_t;

static int probe_init(rt_actor_t *self, void *arg)
{
    const probe_arg_t *a = arg;
    probe_t *p = calloc(1, sizeof(*p));
    init_calls++;
    init_arg_seen = arg;
    init_self = rt_self(self);
    p->idx = a->idx;
    p->value = a->value;
    rt_set_state(self, p);
    return 0;
}

static void probe_destroy(rt_actor_t *self, int reason)
{
    probe_t *p = rt_state(self);
    destroyed[p->idx]++;
    destroy_reason[p->idx] = reason;
    rtt_notify(REP_DESTROYED, p->idx, reason);
    free(p);
}

static const rt_behaviour_t probe_beh;

static int on_whoami(rt_actor_t *self)
{
    int ok = 0;
    ok |= rt_current() == self ? 1 : 0;
    ok |= rt_actor_rt(self) == rtt_rt ? 2 : 0;
    ok |= rt_on_scheduler() ? 4 : 0;
    ok |= rt_actor_loop(self) != NULL ? 8 : 0;
    rtt_notify(REP_SELF, rt_self(self), ok);
    return 0;
}

static int on_spawn_kid(rt_actor_t *self, probe_t *p)
{
    probe_arg_t a = {.idx = MAX_PROBES - 1, .value = 7};
    rt_spawn_opts_t o = {.flags = RT_SPAWN_MONITOR,
                         .sched = RT_SCHED_ANY,
                         .mon_ref = &p->kid_ref};
    int rc = rt_spawn(rt_actor_rt(self), self, &probe_beh, &a, &o, &p->kid);
    rtt_notify(REP_CHILD, rc == 0 ? p->kid : 0, rc);
    return 0;
}

static int on_other(probe_t *p, rt_msg_t *m)
{
    if (m->type == RT_MSG_DOWN) {
        bool match = m->ref == p->kid_ref && m->from == p->kid;
        rtt_notify(REP_DOWN, m->from, match ? m->reason : INT32_MIN);
        return 0;
    }
    rtt_notify(REP_FWD, m->type, m->reason);
    return 0;
}

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    probe_t *p = rt_state(self);
    switch (m->type) {
    case MSG_PING:
        rtt_notify(REP_PONG, p->value, 0);
        return 0;
    case MSG_STOP:
        return RT_STOP;
    case MSG_CRASH:
        return (int)(int64_t)m->arg;
    case MSG_EXIT_SELF:
        rt_exit_self(self, (int)(int64_t)m->arg);
        return 0;
    case MSG_PANIC:
        cl_panic("deliberate panic %d", 42);
    case MSG_WHOAMI:
        return on_whoami(self);
    case MSG_SPAWN_KID:
        return on_spawn_kid(self, p);
    default:
        return on_other(p, m);
    }
}

static const rt_behaviour_t probe_beh = {
    .name = "probe",
    .init = probe_init,
    .handle = probe_handle,
    .destroy = probe_destroy,
};

/* init fails with the (negative) code passed as arg. */
static int failer_init(rt_actor_t *self, void *arg)
{
    init_calls++;
    return (int)(intptr_t)arg;
}

static int failer_handle(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}

static const rt_behaviour_t failer_beh = {
    .name = "failer", .init = failer_init, .handle = failer_handle};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2, .max_actors = 1024};
    rtt_start(&o);
}

static void send_msg(rt_pid_t to, uint32_t type, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    cr_assert_eq(rt_send(rtt_rt, to, m), 0);
}

static rt_pid_t spawn_probe(int idx, uint64_t value, const rt_spawn_opts_t *o)
{
    probe_arg_t a = {.idx = idx, .value = value};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rtt_rt, NULL, &probe_beh, &a, o, &pid);
    cr_assert_eq(rc, 0, "spawn: %s", cleo_err_name(rc));
    cr_assert_neq(pid, RT_PID_NONE);
    return pid;
}

static uint64_t live_actors(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s.actors;
}

/* Poll until pid is dead (up to 5 s). */
static void wait_dead(rt_pid_t pid)
{
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid), "actor still alive after 5 s");
}

TestSuite(rt_spawn, .init = setup, .fini = rtt_fini, .timeout = 30);

Test(rt_spawn, init_runs_with_arg_before_spawn_returns)
{
    probe_arg_t a = {.idx = 0, .value = 5};
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, &a, NULL, &pid), 0);
    cr_assert_eq(init_calls, 1);
    cr_assert_eq(init_arg_seen, &a);
    cr_assert_eq(init_self, pid, "rt_self() in init is the returned pid");
    cr_assert(rt_is_alive(rtt_rt, pid));
}

Test(rt_spawn, state_set_by_init_is_seen_by_handlers)
{
    rt_pid_t pid = spawn_probe(0, 4242, NULL);
    send_msg(pid, MSG_PING, 0);
    rt_msg_t *m = rtt_expect_msg(REP_PONG, 2000);
    cr_assert_eq(m->arg, 4242);
    rt_msg_free(m);
}

Test(rt_spawn, init_failure_returns_its_error_and_leaves_no_actor)
{
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    rt_pid_t pid = 0xfeed;
    int rc = rt_spawn(rtt_rt, NULL, &failer_beh, (void *)(intptr_t)-4711, NULL,
                      &pid);
    cr_assert_eq(rc, -4711);
    cr_assert_eq(init_calls, 1);
    cr_assert_eq(pid, 0xfeed, "out is written only on success");
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.actors, before.actors);
    cr_assert_eq(after.crashed, before.crashed, "no exit signal, no crash");
}

Test(rt_spawn, init_failure_leaves_the_name_unregistered)
{
    rt_spawn_opts_t o = {.name = "doomed", .sched = RT_SCHED_ANY};
    int rc = rt_spawn(rtt_rt, NULL, &failer_beh, (void *)(intptr_t)CLEO_EPROTO,
                      &o, NULL);
    cr_assert_eq(rc, CLEO_EPROTO);
    cr_assert_eq(rt_whereis(rtt_rt, "doomed"), RT_PID_NONE);
    /* The name is free for the next actor. */
    rt_pid_t pid = spawn_probe(0, 1, &o);
    cr_assert_eq(rt_whereis(rtt_rt, "doomed"), pid);
}

Test(rt_spawn, name_option_registers_the_actor)
{
    rt_spawn_opts_t o = {.name = "pinger", .sched = RT_SCHED_ANY};
    rt_pid_t pid = spawn_probe(0, 99, &o);
    cr_assert_eq(rt_whereis(rtt_rt, "pinger"), pid);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
    cr_assert_str_eq(info.name, "pinger");

    rt_msg_t *m = rt_msg_new(MSG_PING);
    cr_assert_eq(rt_send_name(rtt_rt, "pinger", m), 0);
    m = rtt_expect_msg(REP_PONG, 2000);
    cr_assert_eq(m->arg, 99);
    rt_msg_free(m);
}

Test(rt_spawn, taken_name_spawns_nothing)
{
    rt_spawn_opts_t o = {.name = "only", .sched = RT_SCHED_ANY};
    rt_pid_t first = spawn_probe(0, 1, &o);
    uint64_t actors = live_actors();
    int calls = init_calls;
    rt_pid_t pid = 0xfeed;
    probe_arg_t a = {.idx = 1, .value = 2};
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, &a, &o, &pid), CLEO_EEXIST);
    cr_assert_eq(pid, 0xfeed);
    cr_assert_eq(init_calls, calls, "init must not run when name is taken");
    cr_assert_eq(live_actors(), actors);
    cr_assert_eq(rt_whereis(rtt_rt, "only"), first);
}

Test(rt_spawn, sched_option_pins_the_actor_to_that_scheduler)
{
    rt_spawn_opts_t o = {.sched = 1};
    rt_pid_t pid = spawn_probe(0, 1, &o);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
    cr_assert_eq(info.sched, 1);
    send_msg(pid, MSG_WHOAMI, 0);
    rt_msg_t *m = rtt_expect_msg(REP_SELF, 2000);
    cr_assert(m->reason & 8, "a pinned actor has a uv loop");
    rt_msg_free(m);
}

Test(rt_spawn, unpinned_actor_reports_no_scheduler_and_no_loop)
{
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
    cr_assert_eq(info.sched, RT_SCHED_ANY);
    send_msg(pid, MSG_WHOAMI, 0);
    rt_msg_t *m = rtt_expect_msg(REP_SELF, 2000);
    cr_assert_eq(m->reason & 8, 0, "rt_actor_loop() is NULL when unpinned");
    rt_msg_free(m);
}

Test(rt_spawn, sched_out_of_range_is_einval)
{
    probe_arg_t a = {0};
    uint64_t actors = live_actors();
    rt_spawn_opts_t o = {.sched = 2}; /* schedulers are 0 and 1 */
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, &a, &o, NULL), CLEO_EINVAL);
    o.sched = -2;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, &a, &o, NULL), CLEO_EINVAL);
    cr_assert_eq(init_calls, 0);
    cr_assert_eq(live_actors(), actors);
}

Test(rt_spawn, trap_exit_option_turns_exit_signals_into_messages)
{
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = true};
    rt_pid_t pid = spawn_probe(0, 1, &o);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
    cr_assert(info.trap_exit);

    cr_assert_eq(rt_exit(rtt_rt, pid, -77), 0);
    rt_msg_t *m = rtt_expect_msg(REP_FWD, 2000);
    cr_assert_eq(m->arg, RT_MSG_EXIT);
    cr_assert_eq(m->reason, -77);
    rt_msg_free(m);
    cr_assert(rt_is_alive(rtt_rt, pid), "a trapping actor survives the signal");
}

Test(rt_spawn, exit_signal_kills_an_actor_that_does_not_trap)
{
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    cr_assert_eq(rt_exit(rtt_rt, pid, -77), 0);
    rt_msg_t *m = rtt_expect_msg(REP_DESTROYED, 2000);
    cr_assert_eq(m->reason, -77);
    rt_msg_free(m);
}

Test(rt_spawn, rt_self_and_current_identify_the_running_actor)
{
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    cr_assert_null(rt_current(), "no actor runs on the test thread");
    cr_assert_not(rt_on_scheduler());
    send_msg(pid, MSG_WHOAMI, 0);
    rt_msg_t *m = rtt_expect_msg(REP_SELF, 2000);
    cr_assert_eq(m->arg, pid);
    cr_assert_eq(m->reason & 7, 7, "current/rtt_rt/on_scheduler: %d",
                 m->reason);
    rt_msg_free(m);
}

Test(rt_spawn, returning_rt_stop_exits_normally)
{
    rt_stats_t before, after;
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    rt_stats(rtt_rt, &before);
    send_msg(pid, MSG_STOP, 0);
    rt_msg_t *m = rtt_expect_msg(REP_DESTROYED, 2000);
    cr_assert_eq(m->reason, RT_REASON_NORMAL);
    rt_msg_free(m);
    wait_dead(pid);
    for (int i = 0; i < 2000 && live_actors() != before.actors - 1; i++)
        rtt_sleep_ms(1);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.crashed, before.crashed, "normal is not a crash");
    cr_assert_eq(after.actors, before.actors - 1);
}

Test(rt_spawn, destroy_runs_once_after_a_normal_stop)
{
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    send_msg(pid, MSG_STOP, 0);
    rt_msg_free(rtt_expect_msg(REP_DESTROYED, 2000));
    rtt_expect_silence(100);
    rtt_stop_runtime();
    cr_assert_eq(destroyed[0], 1, "destroy ran %d times", destroyed[0]);
    cr_assert_eq(destroy_reason[0], RT_REASON_NORMAL);
}

Test(rt_spawn, handler_error_exits_with_that_reason_and_destroys_once)
{
    rt_stats_t before, after;
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    rt_stats(rtt_rt, &before);
    send_msg(pid, MSG_CRASH, (uint64_t)(int64_t)-1234);
    rt_msg_t *m = rtt_expect_msg(REP_DESTROYED, 2000);
    cr_assert_eq(m->reason, -1234);
    rt_msg_free(m);
    rtt_expect_silence(50);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.crashed, before.crashed + 1);
    rtt_stop_runtime();
    cr_assert_eq(destroyed[0], 1);
    cr_assert_eq(destroy_reason[0], -1234);
}

Test(rt_spawn, exit_self_takes_effect_after_the_handler_returns)
{
    rt_pid_t pid = spawn_probe(0, 1, NULL);
    send_msg(pid, MSG_EXIT_SELF, (uint64_t)(int64_t)-55);
    rt_msg_t *m = rtt_expect_msg(REP_DESTROYED, 2000);
    cr_assert_eq(m->reason, -55);
    rt_msg_free(m);
    rtt_stop_runtime();
    cr_assert_eq(destroyed[0], 1);
}

Test(rt_spawn, panic_crashes_only_that_actor)
{
    rt_pid_t victim = spawn_probe(0, 1, NULL);
    rt_pid_t other = spawn_probe(1, 2, NULL);
    send_msg(victim, MSG_PANIC, 0);
    rt_msg_t *m = rtt_expect_msg(REP_DESTROYED, 2000);
    cr_assert_eq(m->arg, 0);
    cr_assert_eq(m->reason, CLEO_EPANIC);
    rt_msg_free(m);

    send_msg(other, MSG_PING, 0);
    m = rtt_expect_msg(REP_PONG, 2000);
    cr_assert_eq(m->arg, 2);
    rt_msg_free(m);
    rtt_stop_runtime();
    cr_assert_eq(destroyed[0], 1);
    cr_assert_eq(destroyed[1], 1);
    cr_assert_eq(destroy_reason[1], RT_REASON_SHUTDOWN);
}

Test(rt_spawn, spawn_monitor_from_an_actor_delivers_one_down)
{
    rt_pid_t parent = spawn_probe(0, 1, NULL);
    send_msg(parent, MSG_SPAWN_KID, 0);
    rt_msg_t *m = rtt_expect_msg(REP_CHILD, 2000);
    cr_assert_eq(m->reason, 0, "spawn: %s", cleo_err_name(m->reason));
    rt_pid_t kid = m->arg;
    rt_msg_free(m);

    send_msg(kid, MSG_CRASH, (uint64_t)(int64_t)-9);
    /* The kid's destroy report and the parent's DOWN report, any order. */
    int downs = 0, destroys = 0;
    for (int i = 0; i < 2; i++) {
        rt_msg_t *r = NULL;
        cr_assert_eq(rt_inbox_recv(rtt_ib, 2000, &r), 0);
        if (r->type == REP_DOWN) {
            downs++;
            cr_assert_eq(r->arg, kid);
            cr_assert_eq(r->reason, -9, "ref/from/reason mismatch");
        } else {
            cr_assert_eq(r->type, REP_DESTROYED);
            destroys++;
        }
        rt_msg_free(r);
    }
    cr_assert_eq(downs, 1);
    cr_assert_eq(destroys, 1);
    rtt_expect_silence(100);
}

Test(rt_spawn, spawn_without_out_pointer_still_spawns)
{
    uint64_t actors = live_actors();
    probe_arg_t a = {.idx = 0, .value = 3};
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &probe_beh, &a, NULL, NULL), 0);
    cr_assert_eq(live_actors(), actors + 1);
    send_msg(init_self, MSG_PING, 0);
    rt_msg_t *m = rtt_expect_msg(REP_PONG, 2000);
    cr_assert_eq(m->arg, 3);
    rt_msg_free(m);
}
