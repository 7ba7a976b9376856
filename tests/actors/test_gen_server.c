/*
 * test_gen_server.c - gen_server as OTP documents it: init may fail and
 * then start returns the error and nothing stays registered; calls are
 * answered at once or later (deferred reply); a call that times out sees
 * CLEO_ETIMEDOUT and the late reply is dropped; casts and infos reach
 * their callbacks; terminate runs once, with the reason, on every stop
 * (stop request, GEN_STOP, crash, panic, the parent's shutdown); the
 * server answers sys:get_status with its module, parent and the text of
 * its format_status, which a panic only cuts short. The same
 * scenarios also run in deterministic mode under many seeds.
 *
 * The test server reports what its callbacks see to the test's inbox.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define DET_SEEDS 200

enum {
    T_ECHO = RTT_CMD_BASE, /* call: reply arg + 1 */
    T_EMPTY,               /* call: reply with *reply left NULL */
    T_DEFER,               /* call: GEN_NOREPLY; reply arg ms later */
    T_RELEASE,             /* info (timer): answer the deferred call */
    T_STOP_CALL,           /* call: reply, then GEN_STOP */
    T_CRASH,               /* cast: return m->reason */
    T_PANIC,               /* cast: cl_panic */
    T_PING,                /* cast: report REP_CAST */
    T_CLIENT_CALL,         /* cast to a client: call arg's server */
    T_START_CHILD,         /* cast: start a linked, trapping child */
    T_BLOCKING,            /* cast: try *_sync calls from a handler */
    T_COUNT,               /* call: reply arg = casts seen */
};

enum {
    REP_INIT = RTT_REP_BASE, /* reason = 0 */
    REP_CAST,                /* other = type */
    REP_INFO,                /* other = type, ref = from, reason */
    REP_TERMINATE,           /* reason */
    REP_REPLY,               /* continuation: reason = status, ref = arg */
    REP_CHILD,               /* other = child pid, reason = rc */
    REP_BLOCKING,            /* reason = stop_sync rc, ref = -call rc */
};

typedef struct srv_arg_s {
    rt_pid_t to;
    int fail;        /* init returns this when < 0 */
    rt_pid_t server; /* a client's server */
} srv_arg_t;

typedef struct srv_s {
    rt_pid_t to;
    rt_pid_t server;
    rt_from_t deferred;
    uint64_t casts;
} srv_t;

static void tell(rt_actor_t *self, srv_t *s, uint32_t kind, rt_pid_t other,
                 rt_ref_t ref, int reason)
{
    rtt_report_t rep = {kind, rt_self(self), other, ref, reason};
    rtt_report(rt_actor_rt(self), s->to, &rep);
}

static int srv_init(rt_actor_t *self, void *arg, void **state)
{
    const srv_arg_t *a = arg;
    if (a->fail < 0)
        return a->fail;
    srv_t *s = calloc(1, sizeof *s);
    s->to = a->to;
    s->server = a->server;
    *state = s;
    tell(self, s, REP_INIT, 0, 0, 0);
    return 0;
}

static int srv_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    srv_t *s = state;
    switch (req->type) {
    case T_ECHO:
    case T_STOP_CALL:
        *reply = rt_msg_new(req->type);
        (*reply)->arg = req->arg + 1;
        return req->type == T_ECHO ? 0 : GEN_STOP;
    case T_DEFER:
        s->deferred = from;
        (void)rt_send_after(rt_actor_rt(self), req->arg, rt_self(self),
                            rt_msg_new(T_RELEASE), NULL);
        return GEN_NOREPLY;
    case T_COUNT:
        *reply = rt_msg_new(T_COUNT);
        (*reply)->arg = s->casts;
        return 0;
    default:
        return 0;
    }
}

static int srv_blocking(rt_actor_t *self, srv_t *s)
{
    rt_msg_t *reply = NULL;
    int stop = gen_server_stop_sync(rt_actor_rt(self), s->server, 0, 10);
    int call = gen_server_call_sync(rt_actor_rt(self), s->server,
                                    rt_msg_new(T_ECHO), 10, &reply);
    rt_msg_free(reply);
    tell(self, s, REP_BLOCKING, 0, (rt_ref_t)-call, stop);
    return 0;
}

static int srv_cast(rt_actor_t *self, void *state, rt_msg_t *m);

static int srv_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    srv_t *s = state;
    rt_ref_t ref;
    if (m->type == RTT_LINK)
        (void)rt_link(self, m->arg);
    if (m->type == RTT_MONITOR)
        (void)rt_monitor(self, m->arg, &ref);
    if (m->type == T_RELEASE) {
        rt_msg_t *r = rt_msg_new(T_DEFER);
        r->arg = 42;
        (void)gen_server_reply(rt_actor_rt(self), s->deferred, r);
    }
    tell(self, s, REP_INFO, m->type, m->from, m->reason);
    return 0;
}

static void srv_terminate(rt_actor_t *self, void *state, int reason)
{
    srv_t *s = state;
    tell(self, s, REP_TERMINATE, 0, 0, reason);
    free(s);
}

static const gen_server_cbs_t srv_cbs = {
    .name = "test_srv",
    .init = srv_init,
    .handle_call = srv_call,
    .handle_cast = srv_cast,
    .handle_info = srv_info,
    .terminate = srv_terminate,
};

/* The continuation of a client's call: report the status and reply. */
static int on_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    srv_t *s = data;
    tell(self, s, REP_REPLY, 0, reply != NULL ? reply->arg : 0, status);
    return 0;
}

static int srv_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    srv_t *s = state;
    s->casts++;
    switch (m->type) {
    case T_CRASH:
        return m->reason;
    case T_PANIC:
        cl_panic("asked to");
    case T_CLIENT_CALL: {
        rt_msg_t *req = rt_msg_new(T_DEFER);
        req->arg = m->arg; /* the server answers after this many ms */
        return gen_server_call(self, s->server, req, (uint32_t)m->reason,
                               on_reply, s);
    }
    case T_START_CHILD: {
        srv_arg_t a = {.to = s->to};
        gen_opts_t o = {.link = true, .trap_exit = true, .sched = RT_SCHED_ANY};
        rt_pid_t child = RT_PID_NONE;
        int rc =
            gen_server_start(rt_actor_rt(self), self, &srv_cbs, &a, &o, &child);
        tell(self, s, REP_CHILD, child, 0, rc);
        return 0;
    }
    case T_BLOCKING:
        return srv_blocking(self, s);
    default:
        tell(self, s, REP_CAST, m->type, 0, 0);
        return 0;
    }
}

/* ---- helpers ------------------------------------------------------------ */

static rt_pid_t start_srv(const gen_opts_t *o, rt_pid_t server)
{
    srv_arg_t a = {.to = rtt_ibp, .server = server};
    rt_pid_t pid = RT_PID_NONE;
    int rc = gen_server_start(rtt_rt, NULL, &srv_cbs, &a, o, &pid);
    cr_assert_eq(rc, 0, "gen_server_start: %s", cleo_err_name(rc));
    rtt_expect(REP_INIT, pid);
    return pid;
}

static void cast(rt_pid_t to, uint32_t type, uint64_t arg, int reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    cr_assert_eq(gen_server_cast(rtt_rt, to, m), 0);
}

static uint64_t echo(rt_pid_t to, uint64_t arg)
{
    rt_msg_t *req = rt_msg_new(T_ECHO), *reply = NULL;
    req->arg = arg;
    int rc = gen_server_call_sync(rtt_rt, to, req, 5000, &reply);
    cr_assert_eq(rc, 0, "call: %s", cleo_err_name(rc));
    uint64_t v = reply->arg;
    rt_msg_free(reply);
    return v;
}

/* Monitor pid from the test's inbox and wait until the monitor is set,
 * so the DOWN carries the real reason rather than noproc. */
static void monitor(rt_pid_t pid)
{
    cr_assert_eq(rt_inbox_monitor(rtt_ib, pid), 0);
    rt_actor_info_t info = {0};
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
        if (info.monitors > 0)
            return;
        rtt_sleep_ms(1);
    }
    cr_assert_fail("monitor of %#llx never landed", (unsigned long long)pid);
}

static void expect_terminate(rt_pid_t pid, int reason)
{
    rtt_report_t r = rtt_expect(REP_TERMINATE, pid);
    cr_assert_eq(r.reason, reason, "terminate saw %s, expected %s",
                 rt_reason_name(r.reason), rt_reason_name(reason));
    rtt_expect_none(REP_TERMINATE, pid, 0);
}

TestSuite(gen_server, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

/* ---- start and init --------------------------------------------------- */

Test(gen_server, init_runs_before_start_returns_and_name_is_registered)
{
    gen_opts_t o = {.name = "srv", .sched = RT_SCHED_ANY};
    rt_pid_t pid = start_srv(&o, 0);
    cr_assert_eq(rt_whereis(rtt_rt, "srv"), pid);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
    cr_assert_str_eq(info.behaviour, "test_srv");
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, 0, 5000), 0);
    cr_assert_eq(rt_whereis(rtt_rt, "srv"), RT_PID_NONE);
}

Test(gen_server, init_failure_returns_the_error_and_leaves_nothing)
{
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    srv_arg_t a = {.to = rtt_ibp, .fail = REASON_X};
    gen_opts_t o = {.name = "srv", .sched = RT_SCHED_ANY};
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &srv_cbs, &a, &o, &pid),
                 REASON_X);
    cr_assert_eq(pid, RT_PID_NONE);
    cr_assert_eq(rt_whereis(rtt_rt, "srv"), RT_PID_NONE);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.actors, before.actors);
    rtt_expect_none(REP_TERMINATE, 0, RTT_QUIET_MS); /* no terminate */
}

Test(gen_server, bad_input_is_einval_and_spawns_nothing)
{
    static const gen_server_cbs_t no_call = {.name = "x"};
    static const gen_server_cbs_t no_name = {.handle_call = srv_call};
    srv_arg_t a = {.to = rtt_ibp};
    gen_opts_t link = {.link = true, .sched = RT_SCHED_ANY};
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, NULL, &a, NULL, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &no_call, &a, NULL, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &no_name, &a, NULL, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &srv_cbs, &a, &link, &pid),
                 CLEO_EINVAL);
    cr_assert_eq(gen_server_cast(rtt_rt, rtt_ibp, NULL), CLEO_EINVAL);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.spawned, before.spawned);
    cr_assert_eq(pid, RT_PID_NONE);
    rtt_expect_none(REP_INIT, 0, 0);
}

Test(gen_server, name_taken_is_eexist_and_init_does_not_run)
{
    gen_opts_t o = {.name = "srv", .sched = RT_SCHED_ANY};
    rt_pid_t first = start_srv(&o, 0);
    srv_arg_t a = {.to = rtt_ibp};
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &srv_cbs, &a, &o, &pid),
                 CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rtt_rt, "srv"), first);
    rtt_expect_none(REP_INIT, 0, 0);
}

/* ---- calls ------------------------------------------------------------ */

Test(gen_server, call_gets_the_immediate_reply)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cr_assert_eq(echo(pid, 1), 2);
    cr_assert_eq(echo(pid, 41), 42);
}

Test(gen_server, call_left_without_reply_gets_an_empty_reply_of_its_type)
{
    rt_pid_t pid = start_srv(NULL, 0);
    rt_msg_t *reply = NULL;
    cr_assert_eq(
        gen_server_call_sync(rtt_rt, pid, rt_msg_new(T_EMPTY), 5000, &reply),
        0);
    cr_assert_eq(reply->type, T_EMPTY);
    cr_assert_eq(reply->arg, 0);
    rt_msg_free(reply);
}

Test(gen_server, deferred_reply_reaches_the_caller)
{
    rt_pid_t pid = start_srv(NULL, 0);
    rt_msg_t *req = rt_msg_new(T_DEFER), *reply = NULL;
    req->arg = 20; /* ms until the server answers */
    cr_assert_eq(gen_server_call_sync(rtt_rt, pid, req, 5000, &reply), 0);
    cr_assert_eq(reply->arg, 42);
    rt_msg_free(reply);
    cr_assert_eq(rtt_expect(REP_INFO, pid).other, T_RELEASE);
}

Test(gen_server, call_timeout_then_the_late_reply_is_dropped)
{
    rt_pid_t server = start_srv(NULL, 0);
    rt_pid_t client = start_srv(NULL, server);
    cast(client, T_CLIENT_CALL, 100, 20); /* answer in 100 ms, wait 20 */
    rtt_report_t r = rtt_expect(REP_REPLY, client);
    cr_assert_eq(r.reason, CLEO_ETIMEDOUT);
    rtt_expect(REP_INFO, server); /* the server answered, late */
    rtt_expect_none(REP_REPLY, client, 100);
    rtt_expect_none(REP_INFO, client, 0); /* not leaked as an info */
    cr_assert_eq(echo(client, 1), 2);     /* and the client is fine */
}

Test(gen_server, call_sync_timeout_is_etimedout)
{
    rt_pid_t pid = start_srv(NULL, 0);
    rt_msg_t *req = rt_msg_new(T_DEFER), *reply = NULL;
    req->arg = 200;
    cr_assert_eq(gen_server_call_sync(rtt_rt, pid, req, 20, &reply),
                 CLEO_ETIMEDOUT);
    rtt_expect(REP_INFO, pid);
    cr_assert_eq(echo(pid, 1), 2);
}

Test(gen_server, call_from_an_actor_gets_the_reply_in_its_continuation)
{
    rt_pid_t server = start_srv(NULL, 0);
    rt_pid_t client = start_srv(NULL, server);
    cast(client, T_CLIENT_CALL, 5, 5000);
    rtt_report_t r = rtt_expect(REP_REPLY, client);
    cr_assert_eq(r.reason, 0);
    cr_assert_eq(r.ref, 42);
}

Test(gen_server, call_returning_stop_replies_then_terminates_normally)
{
    rt_pid_t pid = start_srv(NULL, 0);
    rt_msg_t *req = rt_msg_new(T_STOP_CALL), *reply = NULL;
    req->arg = 6;
    cr_assert_eq(gen_server_call_sync(rtt_rt, pid, req, 5000, &reply), 0);
    cr_assert_eq(reply->arg, 7);
    rt_msg_free(reply);
    expect_terminate(pid, RT_REASON_NORMAL);
    rtt_expect_gone(pid);
}

Test(gen_server, call_to_a_dead_server_is_enoproc)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, 0, 5000), 0);
    rt_msg_t *reply = NULL;
    cr_assert_eq(
        gen_server_call_sync(rtt_rt, pid, rt_msg_new(T_ECHO), 1000, &reply),
        CLEO_ENOPROC);
}

/* ---- casts and infos ---------------------------------------------------- */

Test(gen_server, casts_go_to_handle_cast_and_plain_messages_to_handle_info)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cast(pid, T_PING, 0, 0);
    cr_assert_eq(rtt_expect(REP_CAST, pid).other, T_PING);
    rtt_post(pid, T_PING, 0, 0);
    cr_assert_eq(rtt_expect(REP_INFO, pid).other, T_PING);
    rtt_expect_none(REP_CAST, pid, RTT_QUIET_MS);
}

Test(gen_server, timers_and_monitor_downs_arrive_as_infos)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cr_assert_eq(rt_send_after(rtt_rt, 10, pid, rt_msg_new(T_PING), NULL), 0);
    cr_assert_eq(rtt_expect(REP_INFO, pid).other, T_PING);
    rt_pid_t other = start_srv(NULL, 0);
    rtt_post(pid, RTT_MONITOR, other, 0); /* an info: monitors other */
    cr_assert_eq(rtt_expect(REP_INFO, pid).other, RTT_MONITOR);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, other, REASON_X, 5000), 0);
    rtt_report_t r = rtt_expect(REP_INFO, pid);
    cr_assert_eq(r.other, RT_MSG_DOWN);
    cr_assert_eq(r.ref, other); /* from */
    cr_assert_eq(r.reason, REASON_X);
}

Test(gen_server, many_casts_arrive_in_order_before_a_later_call)
{
    rt_pid_t pid = start_srv(NULL, 0);
    for (int i = 0; i < 1000; i++)
        cast(pid, T_PING + 100, (uint64_t)i, 0);
    rt_msg_t *reply = NULL;
    cr_assert_eq(
        gen_server_call_sync(rtt_rt, pid, rt_msg_new(T_COUNT), 5000, &reply),
        0);
    cr_assert_eq(reply->arg, 1000);
    rt_msg_free(reply);
}

/* ---- stopping ------------------------------------------------------------ */

Test(gen_server, stop_sync_runs_terminate_with_the_reason_before_returning)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, RT_REASON_SHUTDOWN, 5000),
                 0);
    rtt_report_t r;
    cr_assert(rtt_wait_report(REP_TERMINATE, pid, 0, &r) ||
              rtt_wait_report(REP_TERMINATE, pid, RTT_WAIT_MS, &r));
    cr_assert_eq(r.reason, RT_REASON_SHUTDOWN);
    rtt_expect_gone(pid);
}

Test(gen_server, stop_async_terminates_normally)
{
    rt_pid_t pid = start_srv(NULL, 0);
    monitor(pid);
    cr_assert_eq(gen_server_stop(rtt_rt, pid, RT_REASON_NORMAL), 0);
    expect_terminate(pid, RT_REASON_NORMAL);
    cr_assert_eq(rtt_expect(RT_MSG_DOWN, 0).reason, RT_REASON_NORMAL);
}

Test(gen_server, stop_of_a_dead_pid_is_enoproc)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, 0, 5000), 0);
    expect_terminate(pid, RT_REASON_NORMAL);
    rtt_expect_gone(pid);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, 0, 5000), CLEO_ENOPROC);
    cr_assert_eq(gen_server_stop(rtt_rt, pid, 0), CLEO_ENOPROC);
}

Test(gen_server, crash_by_negative_return_runs_terminate_with_the_reason)
{
    rt_pid_t pid = start_srv(NULL, 0);
    monitor(pid);
    cast(pid, T_CRASH, 0, REASON_X);
    expect_terminate(pid, REASON_X);
    cr_assert_eq(rtt_expect(RT_MSG_DOWN, 0).reason, REASON_X);
}

Test(gen_server, panic_runs_terminate_with_epanic)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cast(pid, T_PANIC, 0, 0);
    expect_terminate(pid, CLEO_EPANIC);
}

Test(gen_server, kill_still_runs_terminate_with_killed)
{
    rt_pid_t pid = start_srv(NULL, 0);
    cr_assert_eq(rt_exit(rtt_rt, pid, RT_REASON_KILL), 0);
    expect_terminate(pid, RT_REASON_KILLED);
}

/* The parent starts a linked, trapping child; shutting the parent down
 * stops the child with the same reason, after the parent's terminate. */
Test(gen_server, parent_shutdown_stops_a_trapping_child_with_its_reason)
{
    rt_pid_t parent = start_srv(NULL, 0);
    cast(parent, T_START_CHILD, 0, 0);
    rtt_report_t c = rtt_expect(REP_CHILD, parent);
    cr_assert_eq(c.reason, 0);
    rtt_expect(REP_INIT, c.other);
    cr_assert_eq(rt_exit(rtt_rt, parent, RT_REASON_SHUTDOWN), 0);
    expect_terminate(parent, RT_REASON_SHUTDOWN);
    expect_terminate(c.other, RT_REASON_SHUTDOWN);
    rtt_expect_none(REP_INFO, c.other, 0); /* not an info */
    rtt_expect_gone(c.other);
}

Test(gen_server, exit_from_another_link_is_an_info_when_trapping)
{
    gen_opts_t trap = {.trap_exit = true, .sched = RT_SCHED_ANY};
    rt_pid_t pid = start_srv(&trap, 0);
    rt_pid_t other = start_srv(NULL, 0);
    cr_assert_eq(rt_inbox_link(rtt_ib, other), 0); /* keep the test alive */
    rtt_post(pid, RTT_LINK, other, 0); /* handled as an info: links */
    rtt_expect(REP_INFO, pid);
    cast(other, T_CRASH, 0, REASON_X);
    expect_terminate(other, REASON_X);
    rtt_report_t r;
    do
        r = rtt_expect(REP_INFO, pid);
    while (r.other != RT_MSG_EXIT);
    cr_assert_eq(r.reason, REASON_X);
    cr_assert(rt_is_alive(rtt_rt, pid));
}

Test(gen_server, blocking_calls_from_a_handler_are_edeadlk)
{
    rt_pid_t server = start_srv(NULL, 0);
    rt_pid_t pid = start_srv(NULL, server);
    cast(pid, T_BLOCKING, 0, 0);
    rtt_report_t r = rtt_expect(REP_BLOCKING, pid);
    cr_assert_eq(r.reason, CLEO_EDEADLK);
    cr_assert_eq(-(int)r.ref, CLEO_EDEADLK);
    cr_assert(rt_is_alive(rtt_rt, server));
}

/* ---- sys:get_status ------------------------------------------------------ */

/* casts=N; a server that has seen more than 100 casts panics, and one
 * that has seen exactly 7 writes more than fits. */
static void srv_format(rt_actor_t *self, void *state, char *buf, size_t len)
{
    const srv_t *s = state;
    if (s->casts > 100)
        cl_panic("format_status asked to panic");
    if (s->casts == 7) {
        memset(buf, 'x', len - 1);
        buf[len - 1] = '\0';
        return;
    }
    snprintf(buf, len, "casts=%llu", (unsigned long long)s->casts);
}

static const gen_server_cbs_t fmt_cbs = {
    .name = "test_fmt",
    .init = srv_init,
    .handle_call = srv_call,
    .handle_cast = srv_cast,
    .terminate = srv_terminate,
    .format_status = srv_format,
};

static char *status_of(rt_pid_t pid)
{
    char *text = NULL;
    int rc = gen_get_status_sync(rtt_rt, pid, 5000, &text);
    cr_assert_eq(rc, 0, "get_status: %s", cleo_err_name(rc));
    return text;
}

Test(gen_server, get_status_shows_the_module_and_the_format_status_text)
{
    srv_arg_t a = {.to = rtt_ibp};
    rt_pid_t pid;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &fmt_cbs, &a, NULL, &pid), 0);
    cast(pid, T_PING, 0, 0);
    cast(pid, T_PING, 0, 0);
    char *text = status_of(pid);
    cr_assert_str_eq(text, "gen_server test_fmt\nstatus: running\n"
                           "parent: none\nstate: casts=2");
    free(text);
}

Test(gen_server, get_status_without_format_status_shows_module_and_parent)
{
    rt_pid_t parent = start_srv(NULL, RT_PID_NONE);
    cast(parent, T_START_CHILD, 0, 0);
    rt_pid_t child = rtt_expect(REP_CHILD, parent).other;
    char *text = status_of(child), want[128], pb[32];
    snprintf(want, sizeof want,
             "gen_server test_srv\nstatus: running\nparent: %s",
             rt_pid_fmt(parent, pb, sizeof pb));
    cr_assert_str_eq(text, want);
    free(text);
}

Test(gen_server, get_status_is_cut_at_gen_status_max_and_survives_a_panic)
{
    srv_arg_t a = {.to = rtt_ibp};
    rt_pid_t pid;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &fmt_cbs, &a, NULL, &pid), 0);
    for (int i = 0; i < 7; i++)
        cast(pid, T_PING, 0, 0);
    char *text = status_of(pid);
    cr_assert_eq(strlen(text), GEN_STATUS_MAX - 1);
    cr_assert(strncmp(text, "gen_server test_fmt\n", 20) == 0);
    free(text);
    for (int i = 0; i < 100; i++)
        cast(pid, T_PING, 0, 0);
    text = status_of(pid); /* format_status panics: the head remains */
    cr_assert_str_eq(text, "gen_server test_fmt\nstatus: running\n"
                           "parent: none\nstate: ");
    free(text);
    cr_assert_eq(echo(pid, 1), 2); /* and the server lives */
}

/* A behaviour that does not answer protocol calls (sys_msgs unset): the
 * runtime fails the request at once, rather than leave it waiting for
 * its timeout and open on the actor. */
Test(gen_server, get_status_of_a_plain_actor_fails_at_once)
{
    static const rt_behaviour_t plain = {.name = "plain",
                                         .init = rtt_probe_init,
                                         .handle = rtt_probe_handle,
                                         .destroy = rtt_probe_destroy};
    rt_pid_t pid;
    cr_assert_eq(
        rt_spawn(rtt_rt, NULL, &plain, (void *)(uintptr_t)rtt_ibp, NULL, &pid),
        0);
    char *text = NULL;
    cr_assert_eq(gen_get_status_sync(rtt_rt, pid, 5000, &text), CLEO_EINVAL);
    cr_assert_null(text);
    cr_assert_eq(gen_get_status_sync(rtt_rt, pid, 50, NULL), CLEO_EINVAL);
}

/* ---- deterministic mode ------------------------------------------------- */

/* One scenario under a seed: calls (immediate and deferred), a client's
 * timed-out call, casts, a crash of a child, and a stop. */
static void det_scenario(uint64_t seed)
{
    rt_opts_t o = {.deterministic = true, .seed = seed, .max_actors = 64};
    rtt_start(&o);
    rt_pid_t server = start_srv(NULL, 0);
    rt_pid_t client = start_srv(NULL, server);
    cast(client, T_CLIENT_CALL, 100, 20);
    cast(server, T_PING, 0, 0);
    cr_assert_eq(echo(server, 7), 8);
    rt_msg_t *req = rt_msg_new(T_DEFER), *reply = NULL;
    req->arg = 5;
    cr_assert_eq(gen_server_call_sync(rtt_rt, server, req, 1000, &reply), 0);
    cr_assert_eq(reply->arg, 42);
    rt_msg_free(reply);
    cr_assert_eq(rtt_expect(REP_REPLY, client).reason, CLEO_ETIMEDOUT);
    rtt_expect(REP_CAST, server);
    cast(client, T_START_CHILD, 0, 0);
    rt_pid_t child = rtt_expect(REP_CHILD, client).other;
    cr_assert_eq(gen_server_stop_sync(rtt_rt, client, RT_REASON_SHUTDOWN, 1000),
                 0);
    expect_terminate(client, RT_REASON_SHUTDOWN);
    expect_terminate(child, RT_REASON_SHUTDOWN);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, server, 0, 1000), 0);
    expect_terminate(server, RT_REASON_NORMAL);
    rtt_teardown();
}

Test(gen_server_det, same_outcome_under_many_seeds, .timeout = 120)
{
    rtt_teardown(); /* the suite's runtime: replaced per seed */
    for (uint64_t seed = 1; seed <= DET_SEEDS; seed++)
        det_scenario(seed);
    rtt_start(NULL); /* for the .fini */
}

TestSuite(gen_server_det, .init = rtt_setup, .fini = rtt_teardown);
