/*
 * test_shutdown.c - rt_shutdown() and rt_free(): live actors are killed
 * with reason `shutdown`, their destroy callbacks and resource destructors
 * run once, queued messages and pending timers are freed, a second
 * shutdown is harmless, and the calls that must refuse do.
 *
 * Each actor writes only its own slot of the record arrays, and the test
 * reads them after rt_shutdown() has joined the scheduler threads.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

#define N_ACTORS 10
#define N_MSGS 200

enum {
    MSG_GATE = 1, /* block on the gate pipe */
    MSG_ANY,
    MSG_CRASH,    /* return -5 */
    MSG_REMOVE,   /* remove the init-time resource */
    MSG_SHUTDOWN, /* call rt_shutdown() from the handler */
    MSG_SLEEP,    /* sleep 200 ms inside the handler */
    MSG_PING,
    REP_SHUTDOWN_RC = 100,
    REP_PONG,
    REP_SLEEPING,
};

static int destroyed[N_ACTORS];
static int destroy_reason[N_ACTORS];
static int res_freed[N_ACTORS];
static int spawn_in_destroy[N_ACTORS];
static int msg_freed[N_MSGS];

typedef struct owned_s {
    int idx;
    rt_res_t *res;
} owned_t;

static void count_int(void *p)
{
    (*(int *)p)++;
}

static int orphan_handle(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}

/* What destroy() tries to spawn while the runtime shuts down. */
static const rt_behaviour_t orphan_beh = {.name = "orphan",
                                          .handle = orphan_handle};

static int owned_init(rt_actor_t *self, void *arg)
{
    owned_t *o = calloc(1, sizeof(*o));
    o->idx = (int)(intptr_t)arg;
    rt_set_state(self, o);
    return rt_resource_add(self, count_int, &res_freed[o->idx], &o->res);
}

static void owned_destroy(rt_actor_t *self, int reason)
{
    owned_t *o = rt_state(self);
    destroyed[o->idx]++;
    destroy_reason[o->idx] = reason;
    if (reason == RT_REASON_SHUTDOWN)
        spawn_in_destroy[o->idx] =
            rt_spawn(rt_actor_rt(self), NULL, &orphan_beh, NULL, NULL, NULL);
    free(o);
}

static int owned_handle(rt_actor_t *self, rt_msg_t *m)
{
    owned_t *o = rt_state(self);
    switch (m->type) {
    case MSG_GATE:
        return rtt_gate_block();
    case MSG_CRASH:
        return -5;
    case MSG_REMOVE:
        rt_resource_remove(self, o->res);
        return 0;
    case MSG_SHUTDOWN:
        rtt_notify(REP_SHUTDOWN_RC, 0, rt_shutdown(rt_actor_rt(self)));
        return 0;
    case MSG_SLEEP:
        rtt_notify(REP_SLEEPING, 0, 0);
        rtt_sleep_ms(200);
        return 0;
    case MSG_PING:
        rtt_notify(REP_PONG, 0, 0);
        return 0;
    default:
        return 0;
    }
}

static const rt_behaviour_t owned_beh = {
    .name = "owned",
    .init = owned_init,
    .handle = owned_handle,
    .destroy = owned_destroy,
};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    rtt_start(&o);
}

static void teardown(void)
{
    rtt_gate_unstick();
    rt_inbox_free(rtt_ib);
    if (rtt_rt != NULL)
        cr_assert_eq(rt_shutdown(rtt_rt), 0);
    rt_free(rtt_rt);
    rtt_gate_close_pipes();
}

static rt_pid_t spawn_owned(int idx)
{
    rt_pid_t pid = RT_PID_NONE;
    void *arg = (void *)(intptr_t)idx;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &owned_beh, arg, NULL, &pid), 0);
    return pid;
}

static void send_type(rt_pid_t to, uint32_t type)
{
    cr_assert_eq(rt_send(rtt_rt, to, rt_msg_new(type)), 0);
}

/* Every live actor died once with `reason` and its resource ran once. */
static void assert_all_destroyed(int n, int reason)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(destroyed[i], 1, "actor %d destroyed %d times", i,
                     destroyed[i]);
        cr_assert_eq(destroy_reason[i], reason, "actor %d: %s", i,
                     rt_reason_name(destroy_reason[i]));
        cr_assert_eq(res_freed[i], 1, "actor %d resource ran %d times", i,
                     res_freed[i]);
    }
}

TestSuite(rt_shutdown, .init = setup, .fini = teardown, .timeout = 30);

Test(rt_shutdown, shutdown_runs_destroy_and_resource_destructors_once)
{
    rt_stats_t before, after;
    for (int i = 0; i < N_ACTORS; i++)
        spawn_owned(i);
    rt_stats(rtt_rt, &before);
    cr_assert_eq(rt_shutdown(rtt_rt), 0); /* the inbox dies here too */
    assert_all_destroyed(N_ACTORS, RT_REASON_SHUTDOWN);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.actors, 0);
    cr_assert_eq(after.exited, before.exited + N_ACTORS + 1);
    cr_assert_eq(after.crashed, before.crashed, "shutdown is not a crash");
}

Test(rt_shutdown, second_shutdown_is_harmless)
{
    for (int i = 0; i < N_ACTORS; i++)
        spawn_owned(i);
    rtt_stop_runtime();
    cr_assert_eq(rt_shutdown(rtt_rt), 0);
    assert_all_destroyed(N_ACTORS, RT_REASON_SHUTDOWN);
}

Test(rt_shutdown, free_of_null_is_safe)
{
    rt_free(NULL);
}

Test(rt_shutdown, free_without_shutdown_shuts_down_first)
{
    for (int i = 0; i < N_ACTORS; i++)
        spawn_owned(i);
    rt_inbox_free(rtt_ib);
    rtt_ib = NULL;
    rt_free(rtt_rt);
    rtt_rt = NULL;
    assert_all_destroyed(N_ACTORS, RT_REASON_SHUTDOWN);
}

Test(rt_shutdown, inbox_free_after_shutdown_is_safe)
{
    spawn_owned(0);
    cr_assert_eq(rt_shutdown(rtt_rt), 0);
    rt_inbox_free(rtt_ib);
    rtt_ib = NULL;
    assert_all_destroyed(1, RT_REASON_SHUTDOWN);
}

Test(rt_shutdown, destroy_cannot_spawn_during_shutdown)
{
    for (int i = 0; i < N_ACTORS; i++)
        spawn_owned(i);
    rtt_stop_runtime();
    for (int i = 0; i < N_ACTORS; i++)
        cr_assert_eq(spawn_in_destroy[i], CLEO_ESHUTDOWN, "actor %d: %s", i,
                     cleo_err_name(spawn_in_destroy[i]));
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    cr_assert_eq(s.actors, 0, "nothing outlives shutdown");
}

/* Queued messages die with their actor in rt_shutdown(); pending timers
 * are not waited for, and their messages are freed by rt_free() at the
 * latest ("free everything"). */
Test(rt_shutdown, queued_messages_and_pending_timers_are_freed_once)
{
    rtt_gate_open_pipes();
    rt_pid_t pid = spawn_owned(0);
    send_type(pid, MSG_GATE);
    rtt_gate_wait_blocked();
    for (int i = 0; i < N_MSGS; i++) {
        rt_msg_t *m = rt_msg_new(MSG_ANY);
        m->payload = &msg_freed[i];
        m->payload_free = count_int;
        if (i % 2 == 0)
            cr_assert_eq(rt_send(rtt_rt, pid, m), 0);
        else
            cr_assert_eq(rt_send_after(rtt_rt, 10000, pid, m, NULL), 0);
    }
    rtt_gate_release();
    uint64_t t0 = rt_now_ms(rtt_rt);
    rtt_stop_runtime();
    cr_assert_lt(rt_now_ms(rtt_rt) - t0, 5000, "shutdown waited for timers");
    for (int i = 0; i < N_MSGS; i += 2)
        cr_assert_eq(msg_freed[i], 1, "message %d freed %d times", i,
                     msg_freed[i]);
    assert_all_destroyed(1, RT_REASON_SHUTDOWN);
    rt_free(rtt_rt);
    rtt_rt = NULL;
    for (int i = 1; i < N_MSGS; i += 2)
        cr_assert_eq(msg_freed[i], 1, "timer %d freed %d times", i,
                     msg_freed[i]);
}

Test(rt_shutdown, shutdown_waits_for_a_running_handler)
{
    rt_pid_t pid = spawn_owned(0);
    send_type(pid, MSG_SLEEP);
    rt_msg_free(rtt_expect_msg(REP_SLEEPING, 2000));
    rtt_stop_runtime(); /* returns only after the handler and destroy ran */
    assert_all_destroyed(1, RT_REASON_SHUTDOWN);
}

Test(rt_shutdown, shutdown_from_a_handler_is_edeadlk)
{
    rt_pid_t pid = spawn_owned(0);
    send_type(pid, MSG_SHUTDOWN);
    rt_msg_t *m = rtt_expect_msg(REP_SHUTDOWN_RC, 2000);
    cr_assert_eq(m->reason, CLEO_EDEADLK, "%s", cleo_err_name(m->reason));
    rt_msg_free(m);
    send_type(pid, MSG_PING); /* the runtime is still up */
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    cr_assert(rt_is_alive(rtt_rt, pid));
}

Test(rt_shutdown, crashed_actor_runs_its_resource_destructor_once)
{
    rt_pid_t pid = spawn_owned(0);
    send_type(pid, MSG_CRASH);
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
    rtt_stop_runtime();
    assert_all_destroyed(1, -5);
}

Test(rt_shutdown, removed_resource_is_not_run)
{
    rt_pid_t pid = spawn_owned(0);
    send_type(pid, MSG_REMOVE);
    send_type(pid, MSG_PING);
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    rtt_stop_runtime();
    cr_assert_eq(destroyed[0], 1);
    cr_assert_eq(res_freed[0], 0, "a removed resource must not run");
}
