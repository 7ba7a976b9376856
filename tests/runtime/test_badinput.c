/*
 * test_badinput.c - every malformed argument gets its documented negative
 * code and changes nothing: malformed pids (0, a slot beyond max_actors,
 * another node's), NULL behaviours, taken or invalid names, dead pids,
 * spawning past max_actors, and calls after rt_shutdown().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

#define MAX_ACTORS 16

enum { MSG_ANY = 1, MSG_STOP, REP_GOT = 100 };

static int frees;      /* payload frees; see count_free */
static int init_calls; /* init runs on the spawning (test) thread */

static void count_free(void *p)
{
    frees++;
}

static int echo_init(rt_actor_t *self, void *arg)
{
    init_calls++;
    return 0;
}

static int echo_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == MSG_STOP)
        return RT_STOP;
    rt_msg_t *r = rt_msg_new(REP_GOT);
    r->arg = m->arg;
    (void)rt_send(rtt_rt, rtt_ibp, r);
    return 0;
}

static const rt_behaviour_t echo_beh = {
    .name = "echo", .init = echo_init, .handle = echo_handle};
static const rt_behaviour_t no_handle_beh = {.name = "no_handle",
                                             .init = echo_init};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2, .max_actors = MAX_ACTORS};
    rtt_start(&o);
}

static rt_msg_t *counted_msg(void)
{
    rt_msg_t *m = rt_msg_new(MSG_ANY);
    m->payload = &frees;
    m->payload_free = count_free;
    return m;
}

static rt_pid_t spawn_echo(const char *name)
{
    rt_spawn_opts_t o = {.name = name, .sched = RT_SCHED_ANY};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rtt_rt, NULL, &echo_beh, NULL, &o, &pid);
    cr_assert_eq(rc, 0, "%s", cleo_err_name(rc));
    return pid;
}

static rt_pid_t dead_echo(void)
{
    rt_pid_t pid = spawn_echo(NULL);
    cr_assert_eq(rt_send(rtt_rt, pid, rt_msg_new(MSG_STOP)), 0);
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
    return pid;
}

static rt_stats_t stats(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s;
}

/* Nothing observable about the actor population changed. */
static void assert_unchanged(const rt_stats_t *before)
{
    rt_stats_t now = stats();
    cr_assert_eq(now.actors, before->actors);
    cr_assert_eq(now.spawned, before->spawned);
    cr_assert_eq(now.exited, before->exited);
}

TestSuite(rt_badinput, .init = setup, .fini = rtt_fini, .timeout = 30);

Test(rt_badinput, send_to_pid_zero_is_ebadpid_and_frees_the_message)
{
    rt_stats_t before = stats();
    cr_assert_eq(rt_send(rtt_rt, RT_PID_NONE, counted_msg()), CLEO_EBADPID);
    cr_assert_eq(frees, 1);
    assert_unchanged(&before);
}

Test(rt_badinput, send_to_a_slot_beyond_max_actors_is_ebadpid)
{
    rt_stats_t before = stats();
    rt_pid_t far = RT_PID_MAKE(0, 1, MAX_ACTORS + 100);
    rt_pid_t last = RT_PID_MAKE(0, 1, 0xFFFFFF);
    cr_assert_eq(rt_send(rtt_rt, far, counted_msg()), CLEO_EBADPID);
    cr_assert_eq(rt_send(rtt_rt, last, counted_msg()), CLEO_EBADPID);
    cr_assert_eq(frees, 2);
    cr_assert_not(rt_is_alive(rtt_rt, far));
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, far, &info), CLEO_EBADPID);
    assert_unchanged(&before);
}

Test(rt_badinput, send_to_another_nodes_pid_is_ebadpid)
{
    rt_pid_t local = spawn_echo(NULL);
    rt_pid_t remote = RT_PID_MAKE(5, RT_PID_GEN(local), RT_PID_SLOT(local));
    cr_assert_eq(rt_send(rtt_rt, remote, counted_msg()), CLEO_EBADPID);
    cr_assert_eq(frees, 1);
    cr_assert_not(rt_is_alive(rtt_rt, remote));
    cr_assert_eq(rt_exit(rtt_rt, remote, RT_REASON_KILL), CLEO_EBADPID);
    rtt_expect_silence(100); /* the local actor with that slot got nothing */
    cr_assert(rt_is_alive(rtt_rt, local));
}

Test(rt_badinput, pid_zero_is_ebadpid_everywhere)
{
    rt_stats_t before = stats();
    rt_actor_info_t info;
    cr_assert_not(rt_is_alive(rtt_rt, RT_PID_NONE));
    cr_assert_eq(rt_exit(rtt_rt, RT_PID_NONE, -1), CLEO_EBADPID);
    cr_assert_eq(rt_actor_info(rtt_rt, RT_PID_NONE, &info), CLEO_EBADPID);
    cr_assert_eq(rt_register(rtt_rt, "zero", RT_PID_NONE), CLEO_EBADPID);
    cr_assert_eq(rt_whereis(rtt_rt, "zero"), RT_PID_NONE);
    cr_assert_eq(rt_send_after(rtt_rt, 1, RT_PID_NONE, counted_msg(), NULL),
                 CLEO_EBADPID);
    cr_assert_eq(frees, 1);
    assert_unchanged(&before);
}

Test(rt_badinput, call_sync_to_pid_zero_is_ebadpid_and_changes_nothing)
{
    rt_stats_t before = stats();
    rt_msg_t *rep = NULL;
    cr_assert_eq(rt_call_sync(rtt_rt, RT_PID_NONE, counted_msg(), 100, &rep),
                 CLEO_EBADPID);
    cr_assert_null(rep);
    cr_assert_eq(frees, 1);
    for (int i = 0; i < 1000 && stats().actors != before.actors; i++)
        rtt_sleep_ms(1);
    rt_stats_t after = stats();
    cr_assert_eq(after.actors, before.actors);
    cr_assert_eq(after.crashed, before.crashed, "a refused call is no crash");
}

Test(rt_badinput, spawn_with_null_behaviour_or_handle_is_einval)
{
    rt_stats_t before = stats();
    rt_pid_t pid = 0xfeed;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, NULL, NULL, NULL, &pid), CLEO_EINVAL);
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &no_handle_beh, NULL, NULL, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(pid, 0xfeed);
    cr_assert_eq(init_calls, 0);
    assert_unchanged(&before);
}

Test(rt_badinput, spawn_link_or_monitor_without_self_is_einval)
{
    rt_stats_t before = stats();
    rt_ref_t ref = 0;
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, &o, NULL),
                 CLEO_EINVAL);
    o.flags = RT_SPAWN_MONITOR;
    o.mon_ref = &ref;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, &o, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(ref, 0);
    cr_assert_eq(init_calls, 0);
    assert_unchanged(&before);
}

Test(rt_badinput, registering_a_taken_name_is_eexist)
{
    rt_pid_t a = spawn_echo("svc"), b = spawn_echo(NULL);
    cr_assert_eq(rt_register(rtt_rt, "svc", b), CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rtt_rt, "svc"), a);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, b, &info), 0);
    cr_assert_str_eq(info.name, "");
    /* A pid holds at most one name. */
    cr_assert_eq(rt_register(rtt_rt, "alias", a), CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rtt_rt, "alias"), RT_PID_NONE);
}

Test(rt_badinput, spawning_with_a_taken_name_is_eexist)
{
    rt_pid_t a = spawn_echo("svc");
    rt_stats_t before = stats();
    rt_spawn_opts_t o = {.name = "svc", .sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, &o, NULL),
                 CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rtt_rt, "svc"), a);
    assert_unchanged(&before);
}

Test(rt_badinput, empty_or_overlong_names_are_einval)
{
    rt_pid_t a = spawn_echo(NULL);
    char name[RT_NAME_MAX + 1];
    memset(name, 'n', sizeof(name));
    name[RT_NAME_MAX] = '\0'; /* strlen == RT_NAME_MAX: too long */
    cr_assert_eq(rt_register(rtt_rt, "", a), CLEO_EINVAL);
    cr_assert_eq(rt_register(rtt_rt, name, a), CLEO_EINVAL);
    cr_assert_eq(rt_whereis(rtt_rt, name), RT_PID_NONE);
    name[RT_NAME_MAX - 1] = '\0'; /* the longest valid name */
    cr_assert_eq(rt_register(rtt_rt, name, a), 0);
    cr_assert_eq(rt_whereis(rtt_rt, name), a);
}

Test(rt_badinput, registering_a_dead_pid_is_enoproc)
{
    rt_pid_t dead = dead_echo();
    cr_assert_eq(rt_register(rtt_rt, "ghost", dead), CLEO_ENOPROC);
    cr_assert_eq(rt_whereis(rtt_rt, "ghost"), RT_PID_NONE);
}

Test(rt_badinput, unknown_names_are_enotfound)
{
    cr_assert_eq(rt_unregister(rtt_rt, "nobody"), CLEO_ENOTFOUND);
    cr_assert_eq(rt_whereis(rtt_rt, "nobody"), RT_PID_NONE);
    cr_assert_eq(rt_send_name(rtt_rt, "nobody", counted_msg()), CLEO_ENOTFOUND);
    cr_assert_eq(frees, 1);
}

Test(rt_badinput, name_of_a_dead_actor_is_freed)
{
    spawn_echo("temp");
    cr_assert_eq(rt_send_name(rtt_rt, "temp", rt_msg_new(MSG_STOP)), 0);
    for (int i = 0; i < 5000 && rt_whereis(rtt_rt, "temp") != RT_PID_NONE; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(rt_whereis(rtt_rt, "temp"), RT_PID_NONE);
    spawn_echo("temp"); /* the name can be taken again */
}

Test(rt_badinput, spawning_past_max_actors_is_elimit_and_changes_nothing)
{
    rt_pid_t pids[MAX_ACTORS + 1];
    int n = 0, rc = 0;
    while (n <= MAX_ACTORS &&
           (rc = rt_spawn(rtt_rt, NULL, &echo_beh, NULL, NULL, &pids[n])) == 0)
        n++;
    cr_assert_eq(rc, CLEO_ELIMIT, "%s", cleo_err_name(rc));
    cr_assert_geq(n, MAX_ACTORS - 1,
                  "only %d spawned (the inbox may "
                  "hold one slot)",
                  n);
    rt_stats_t before = stats();
    cr_assert_geq(before.actors, (uint64_t)n);
    cr_assert_eq(before.max_actors, MAX_ACTORS);
    int calls = init_calls;

    rt_pid_t out = 0xfeed;
    rt_spawn_opts_t o = {.name = "late", .sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, &o, &out),
                 CLEO_ELIMIT);
    cr_assert_eq(out, 0xfeed);
    cr_assert_eq(init_calls, calls, "init must not run past the limit");
    cr_assert_eq(rt_whereis(rtt_rt, "late"), RT_PID_NONE);
    assert_unchanged(&before);

    /* Room again once one exits. */
    cr_assert_eq(rt_send(rtt_rt, pids[0], rt_msg_new(MSG_STOP)), 0);
    for (int i = 0; i < 5000 && stats().actors == before.actors; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, &o, &out), 0);
    cr_assert_eq(rt_whereis(rtt_rt, "late"), out);
}

Test(rt_badinput, calls_after_shutdown_are_eshutdown)
{
    rt_pid_t pid = spawn_echo(NULL);
    rt_inbox_free(rtt_ib);
    rtt_ib = NULL;
    cr_assert_eq(rt_shutdown(rtt_rt), 0);

    rt_msg_t *rep = NULL;
    rt_inbox_t *ib2 = (rt_inbox_t *)0x1;
    cr_assert_eq(rt_send(rtt_rt, pid, counted_msg()), CLEO_ESHUTDOWN);
    cr_assert_eq(rt_send_after(rtt_rt, 1, pid, counted_msg(), NULL),
                 CLEO_ESHUTDOWN);
    cr_assert_eq(rt_call_sync(rtt_rt, pid, counted_msg(), 100, &rep),
                 CLEO_ESHUTDOWN);
    cr_assert_null(rep);
    cr_assert_eq(frees, 3, "every refused message is freed");
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &echo_beh, NULL, NULL, NULL),
                 CLEO_ESHUTDOWN);
    cr_assert_eq(rt_inbox_new(rtt_rt, &ib2), CLEO_ESHUTDOWN);
    cr_assert_eq(ib2, (rt_inbox_t *)0x1);
    rt_stats_t s = stats();
    cr_assert_eq(s.actors, 0, "nothing is alive after shutdown");
}

Test(rt_badinput, new_runtime_with_bad_options_is_einval)
{
    rt_t *other = (rt_t *)0x1;
    rt_opts_t o = {.max_actors = RT_MAX_ACTORS_LIMIT + 1};
    cr_assert_eq(rt_new(&o, &other), CLEO_EINVAL);
    cr_assert_eq(other, (rt_t *)0x1, "out written only on success");
}

Test(rt_badinput, inbox_recv_timeout_leaves_out_untouched)
{
    rt_msg_t *m = (rt_msg_t *)0x1;
    cr_assert_eq(rt_inbox_recv(rtt_ib, 10, &m), CLEO_ETIMEDOUT);
    cr_assert_eq(m, (rt_msg_t *)0x1);
}

Test(rt_badinput, timer_cancel_of_a_foreign_ref_is_enotfound)
{
    cr_assert_eq(rt_timer_cancel(rtt_rt, 0), CLEO_ENOTFOUND);
    cr_assert_eq(rt_timer_cancel(rtt_rt, UINT64_MAX), CLEO_ENOTFOUND);
}
