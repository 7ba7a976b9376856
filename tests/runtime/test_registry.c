/*
 * test_registry.c - the name registry: register, whereis, unregister,
 * rt_send_name, names freed when their actor dies, and every documented
 * error (EEXIST for a taken name or a named pid, ENOPROC, EBADPID, EINVAL).
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK and report their own destroy(reason).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define CONTENDERS 32

enum {
    CMD_PING = RTT_PING,      /* ack other = arg */
    CMD_LINK = RTT_LINK,      /* ack reason = rt_link(arg) */
    CMD_STOP = RTT_STOP,      /* exit: return m->reason (0: RT_STOP) */
    CMD_PANIC = RTT_CMD_BASE, /* cl_panic() */
    CMD_REGISTER,             /* ack reason = rt_register("contested", self) */
    REP_ACK = RTT_ACK,
    REP_EXIT = RTT_EXIT,       /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN = RTT_DOWN,       /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY = RTT_DESTROY, /* destroy ran: reason */
};

typedef rtt_report_t report_t;

typedef rtt_probe_t probe_t;

static int payload_frees; /* count_free() calls, on the test thread */

/* ---- actors ----------------------------------------------------------- */

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_t *r = rt_actor_rt(self);
    switch (m->type) {
    case CMD_PANIC:
        cl_panic("probe told to panic");
    case CMD_REGISTER:
        return rtt_tell(self, REP_ACK, 0, 0,
                        rt_register(r, "contested", rt_self(self)));
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

static void count_free(void *p)
{
    payload_frees++;
    free(p);
}

TestSuite(rt_registry, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

/* ---- tests ------------------------------------------------------------ */

static void register_ok(const char *name, rt_pid_t pid)
{
    int rc = rt_register(rtt_rt, name, pid);
    cr_assert_eq(rc, 0, "rt_register(%s): %s", name, cleo_err_name(rc));
}

/* Send CMD_PING(arg) by name and expect who to answer it. */
static void ping_by_name(const char *name, rt_pid_t who, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(CMD_PING);
    m->arg = arg;
    int rc = rt_send_name(rtt_rt, name, m);
    cr_assert_eq(rc, 0, "rt_send_name(%s): %s", name, cleo_err_name(rc));
    cr_assert_eq(rtt_expect(REP_ACK, who).other, arg);
}

/* Wait until the registry has let go of name (the actor has died). */
static void expect_unregistered(const char *name)
{
    for (int i = 0; i < 2000 && rt_whereis(rtt_rt, name) != RT_PID_NONE; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(rt_whereis(rtt_rt, name), RT_PID_NONE);
}

Test(rt_registry, register_then_whereis_returns_the_pid)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    cr_assert_eq(rt_whereis(rtt_rt, "alpha"), a);
}

Test(rt_registry, whereis_unknown_name_returns_none)
{
    cr_assert_eq(rt_whereis(rtt_rt, "nobody"), RT_PID_NONE);
}

Test(rt_registry, names_are_copied)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    char name[16] = "copied";
    register_ok(name, a);
    strcpy(name, "changed");
    cr_assert_eq(rt_whereis(rtt_rt, "copied"), a);
    cr_assert_eq(rt_whereis(rtt_rt, "changed"), RT_PID_NONE);
}

Test(rt_registry, unregister_removes_the_name_only)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    cr_assert_eq(rt_unregister(rtt_rt, "alpha"), 0);
    cr_assert_eq(rt_whereis(rtt_rt, "alpha"), RT_PID_NONE);
    rtt_expect_alive(a);
    register_ok("beta", a); /* a no longer has a name */
    cr_assert_eq(rt_whereis(rtt_rt, "beta"), a);
}

Test(rt_registry, unregister_unknown_name_returns_enotfound)
{
    cr_assert_eq(rt_unregister(rtt_rt, "nobody"), CLEO_ENOTFOUND);
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    cr_assert_eq(rt_unregister(rtt_rt, "alpha"), 0);
    cr_assert_eq(rt_unregister(rtt_rt, "alpha"), CLEO_ENOTFOUND);
}

Test(rt_registry, send_name_delivers_to_the_registered_actor)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    register_ok("beta", b);
    ping_by_name("alpha", a, 11);
    ping_by_name("beta", b, 22);
    rtt_expect_none(REP_ACK, 0, RTT_QUIET_MS);
}

Test(rt_registry, send_name_keeps_send_order)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    for (uint64_t i = 0; i < 100; i++) {
        rt_msg_t *m = rt_msg_new(CMD_PING);
        m->arg = i;
        cr_assert_eq(rt_send_name(rtt_rt, "alpha", m), 0);
    }
    for (uint64_t i = 0; i < 100; i++)
        cr_assert_eq(rtt_expect(REP_ACK, a).other, i);
}

Test(rt_registry, send_name_to_unknown_name_returns_enotfound_and_frees)
{
    rt_msg_t *m = rt_msg_new(CMD_PING);
    m->payload = malloc(16);
    m->payload_free = count_free;
    cr_assert_eq(rt_send_name(rtt_rt, "nobody", m), CLEO_ENOTFOUND);
    cr_assert_eq(payload_frees, 1, "the message was not freed");
}

Test(rt_registry, name_is_freed_when_the_actor_exits)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    rtt_post(a, CMD_STOP, 0, 0);
    rtt_expect_death(a, RT_REASON_NORMAL);
    expect_unregistered("alpha");
    rt_msg_t *m = rt_msg_new(CMD_PING);
    cr_assert_eq(rt_send_name(rtt_rt, "alpha", m), CLEO_ENOTFOUND);
    rt_pid_t b = rtt_spawn(&probe_beh, false);
    register_ok("alpha", b); /* the name is free for reuse */
    ping_by_name("alpha", b, 3);
}

Test(rt_registry, name_is_freed_when_the_actor_crashes)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    rtt_post(a, CMD_PANIC, 0, 0);
    rtt_expect_death(a, CLEO_EPANIC);
    expect_unregistered("alpha");
    register_ok("alpha", rtt_spawn(&probe_beh, false));
}

Test(rt_registry, name_is_freed_when_the_actor_is_killed)
{
    rt_pid_t a = rtt_spawn(&probe_beh, true);
    register_ok("alpha", a);
    cr_assert_eq(rt_exit(rtt_rt, a, RT_REASON_KILL), 0);
    rtt_expect_death(a, RT_REASON_KILLED);
    expect_unregistered("alpha");
}

Test(rt_registry, taken_name_returns_eexist_and_changes_nothing)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    cr_assert_eq(rt_register(rtt_rt, "alpha", b), CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rtt_rt, "alpha"), a);
    ping_by_name("alpha", a, 1);
    register_ok("beta", b); /* b got no name from the failed call */
    cr_assert_eq(rt_register(rtt_rt, "alpha", a), CLEO_EEXIST); /* again */
    cr_assert_eq(rt_whereis(rtt_rt, "alpha"), a);
}

Test(rt_registry, pid_with_a_name_cannot_take_another)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    cr_assert_eq(rt_register(rtt_rt, "beta", a), CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rtt_rt, "beta"), RT_PID_NONE);
    cr_assert_eq(rt_whereis(rtt_rt, "alpha"), a);
}

Test(rt_registry, dead_pid_returns_enoproc)
{
    cr_assert_eq(rt_register(rtt_rt, "ghost", rtt_dead_pid(&probe_beh)),
                 CLEO_ENOPROC);
    cr_assert_eq(rt_whereis(rtt_rt, "ghost"), RT_PID_NONE);
}

Test(rt_registry, malformed_pid_returns_ebadpid)
{
    cr_assert_eq(rt_register(rtt_rt, "bad", RT_PID_NONE), CLEO_EBADPID);
    cr_assert_eq(rt_register(rtt_rt, "bad", RT_PID_MAKE(9, 1, 1)),
                 CLEO_EBADPID);
    cr_assert_eq(rt_whereis(rtt_rt, "bad"), RT_PID_NONE);
}

Test(rt_registry, empty_or_too_long_name_returns_einval)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    char name[RT_NAME_MAX + 1];
    memset(name, 'n', RT_NAME_MAX);
    name[RT_NAME_MAX] = '\0'; /* RT_NAME_MAX characters: too long */
    cr_assert_eq(rt_register(rtt_rt, "", a), CLEO_EINVAL);
    cr_assert_eq(rt_register(rtt_rt, name, a), CLEO_EINVAL);
    name[RT_NAME_MAX - 1] = '\0'; /* the longest allowed */
    register_ok(name, a);
    cr_assert_eq(rt_whereis(rtt_rt, name), a);
}

Test(rt_registry, spawn_with_a_name_registers_it)
{
    rt_spawn_opts_t o = {.name = "named", .sched = RT_SCHED_ANY};
    rt_pid_t a = RT_PID_NONE;
    cr_assert_eq(
        rt_spawn(rtt_rt, NULL, &probe_beh, (void *)(uintptr_t)rtt_ibp, &o, &a),
        0);
    cr_assert_eq(rt_whereis(rtt_rt, "named"), a);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, a, &info), 0);
    cr_assert_str_eq(info.name, "named");
    ping_by_name("named", a, 5);
}

Test(rt_registry, spawn_with_a_taken_name_fails_and_spawns_nothing)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false);
    register_ok("taken", a);
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    rt_spawn_opts_t o = {.name = "taken", .sched = RT_SCHED_ANY};
    rt_pid_t b = 12345;
    cr_assert_eq(
        rt_spawn(rtt_rt, NULL, &probe_beh, (void *)(uintptr_t)rtt_ibp, &o, &b),
        CLEO_EEXIST);
    cr_assert_eq(b, 12345, "out written on failure");
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.actors, before.actors);
    cr_assert_eq(rt_whereis(rtt_rt, "taken"), a);
    rtt_expect_none(REP_DESTROY, 0, RTT_QUIET_MS);
}

Test(rt_registry, actor_info_shows_the_registered_name)
{
    rt_pid_t a = rtt_spawn(&probe_beh, false), b = rtt_spawn(&probe_beh, false);
    register_ok("alpha", a);
    rt_actor_info_t ia, ib_;
    cr_assert_eq(rt_actor_info(rtt_rt, a, &ia), 0);
    cr_assert_eq(rt_actor_info(rtt_rt, b, &ib_), 0);
    cr_assert_str_eq(ia.name, "alpha");
    cr_assert_str_eq(ib_.name, "");
}

Test(rt_registry, concurrent_registration_of_one_name_has_one_winner)
{
    rt_pid_t c[CONTENDERS];
    for (int i = 0; i < CONTENDERS; i++)
        c[i] = rtt_spawn(&probe_beh, false);
    for (int i = 0; i < CONTENDERS; i++)
        rtt_post(c[i], CMD_REGISTER, 0, 0);
    rt_pid_t winner = RT_PID_NONE;
    int wins = 0, taken = 0;
    for (int i = 0; i < CONTENDERS; i++) {
        report_t a = rtt_expect(REP_ACK, c[i]);
        if (a.reason == 0) {
            wins++;
            winner = c[i];
        }
        taken += a.reason == CLEO_EEXIST;
    }
    cr_assert_eq(wins, 1);
    cr_assert_eq(taken, CONTENDERS - 1);
    cr_assert_eq(rt_whereis(rtt_rt, "contested"), winner);
    ping_by_name("contested", winner, 9);
}
