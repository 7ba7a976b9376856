/*
 * test_call.c - rt_call() with continuations, deferred replies through
 * rt_msg_caller()/rt_reply(), timeouts with late replies dropped, calls to
 * dead pids, and rt_call_sync() from a plain thread and from a handler.
 *
 * A "server" answers or defers requests; a "client" actor makes calls and
 * reports every continuation run to the test's inbox, so the test counts
 * callbacks by counting reports.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_REQ = 1,   /* server: reply arg + 1 at once */
    MSG_REQ_DEFER, /* server: keep the caller, report REP_HELD */
    MSG_RELEASE,   /* server: reply to the kept caller */
    MSG_PLAIN,     /* server: rt_reply to a message that is not a call */
    MSG_STOP,
    MSG_GO,   /* client: make cfg.count calls */
    MSG_SYNC, /* client: rt_call_sync from a handler */
    MSG_PING,
    MSG_REP, /* the reply type */
    REP_HELD = 100,
    REP_RELEASED, /* reason = rt_reply() result */
    REP_PLAIN,    /* reason = rt_reply() result, arg = caller ref */
    REP_REPLY,    /* a continuation ran: reason = status, arg = value */
    REP_MISMATCH, /* a continuation saw the wrong reply/context */
    REP_CALL_RC,  /* rt_call() failed: reason = rc */
    REP_SYNC,     /* reason = rt_call_sync() rc, arg = ms it took */
    REP_PONG,
    REP_UNEXPECTED, /* the client's handle saw arg = type */
    REP_DESTROYED,
};

#define NO_REPLY UINT64_MAX

static int reply_frees; /* payload frees of replies; read after shutdown */
static int req_frees;

static void count_reply_free(void *p)
{
    reply_frees++;
}
static void count_req_free(void *p)
{
    req_frees++;
}

/* ---- server ---------------------------------------------------------- */

typedef struct server_s {
    rt_from_t held;
    uint64_t held_arg;
} server_t;

static int server_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, calloc(1, sizeof(server_t)));
    return 0;
}

static void server_destroy(rt_actor_t *self, int reason)
{
    free(rt_state(self));
}

static int answer(rt_from_t from, uint64_t arg)
{
    rt_msg_t *rep = rt_msg_new(MSG_REP);
    rep->arg = arg + 1;
    rep->payload = &reply_frees;
    rep->payload_free = count_reply_free;
    return rt_reply(rtt_rt, from, rep);
}

static int server_handle(rt_actor_t *self, rt_msg_t *m)
{
    server_t *s = rt_state(self);
    switch (m->type) {
    case MSG_REQ:
        (void)answer(rt_msg_caller(m), m->arg);
        return 0;
    case MSG_REQ_DEFER:
        s->held = rt_msg_caller(m);
        s->held_arg = m->arg;
        rtt_notify(REP_HELD, s->held.pid, 0);
        return 0;
    case MSG_RELEASE:
        rtt_notify(REP_RELEASED, 0, answer(s->held, s->held_arg));
        return 0;
    case MSG_PLAIN:
        rtt_notify(REP_PLAIN, rt_msg_caller(m).ref,
                   answer(rt_msg_caller(m), 0));
        return 0;
    case MSG_STOP:
        return RT_STOP;
    default:
        return 0;
    }
}

static const rt_behaviour_t server_beh = {
    .name = "server",
    .init = server_init,
    .handle = server_handle,
    .destroy = server_destroy,
};

/* ---- client ---------------------------------------------------------- */

typedef struct client_cfg_s {
    rt_pid_t target;
    uint32_t req_type;
    uint32_t timeout_ms;
    int count;    /* calls per MSG_GO */
    int cb_ret;   /* what the continuation returns */
    bool null_cb; /* call with cb == NULL */
} client_cfg_t;

static int client_init(rt_actor_t *self, void *arg)
{
    client_cfg_t *c = malloc(sizeof(*c));
    *c = *(const client_cfg_t *)arg;
    rt_set_state(self, c);
    return 0;
}

static void client_destroy(rt_actor_t *self, int reason)
{
    rtt_notify(REP_DESTROYED, 0, reason);
    free(rt_state(self));
}

static int on_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    client_cfg_t *c = rt_state(self);
    uint64_t want = 42 + (uintptr_t)data + 1;
    bool bad = rt_current() != self || (status == 0) != (reply != NULL) ||
               (reply && (reply->type != MSG_REP || reply->arg != want));
    if (bad)
        rtt_notify(REP_MISMATCH, (uintptr_t)data, status);
    rtt_notify(REP_REPLY, reply ? reply->arg : NO_REPLY, status);
    return c->cb_ret;
}

static int on_go(rt_actor_t *self, client_cfg_t *c)
{
    for (int i = 0; i < c->count; i++) {
        rt_msg_t *req = rt_msg_new(c->req_type);
        req->arg = 42 + (uint64_t)i;
        req->payload = &req_frees;
        req->payload_free = count_req_free;
        int rc = rt_call(self, c->target, req, c->timeout_ms,
                         c->null_cb ? NULL : on_reply, (void *)(uintptr_t)i);
        if (rc != 0)
            rtt_notify(REP_CALL_RC, (uint64_t)i, rc);
    }
    return 0;
}

static int on_sync(rt_actor_t *self, client_cfg_t *c)
{
    rt_msg_t *rep = NULL;
    rt_msg_t *req = rt_msg_new(MSG_REQ);
    uint64_t t0 = rt_now_ms(rtt_rt);
    int rc = rt_call_sync(rt_actor_rt(self), c->target, req, 5000, &rep);
    rtt_notify(REP_SYNC, rt_now_ms(rtt_rt) - t0, rc);
    rt_msg_free(rep);
    return 0;
}

static int client_handle(rt_actor_t *self, rt_msg_t *m)
{
    client_cfg_t *c = rt_state(self);
    switch (m->type) {
    case MSG_GO:
        return on_go(self, c);
    case MSG_SYNC:
        return on_sync(self, c);
    case MSG_PING:
        rtt_notify(REP_PONG, 0, 0);
        return 0;
    default:
        rtt_notify(REP_UNEXPECTED, m->type, 0);
        return 0;
    }
}

static const rt_behaviour_t client_beh = {
    .name = "client",
    .init = client_init,
    .handle = client_handle,
    .destroy = client_destroy,
};

/* ---- fixture and helpers --------------------------------------------- */

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    rtt_start(&o);
}

static void send_msg(rt_pid_t to, uint32_t type)
{
    cr_assert_eq(rt_send(rtt_rt, to, rt_msg_new(type)), 0);
}

static rt_pid_t spawn_server(void)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &server_beh, NULL, NULL, &pid), 0);
    return pid;
}

static rt_pid_t spawn_client(client_cfg_t cfg)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &client_beh, &cfg, NULL, &pid), 0);
    return pid;
}

static rt_pid_t dead_pid(void)
{
    rt_pid_t pid = spawn_server();
    send_msg(pid, MSG_STOP);
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
    return pid;
}

/* Expect one continuation report with this status; return its value. */
static uint64_t expect_reply(int status)
{
    rt_msg_t *m = rtt_expect_msg(REP_REPLY, 3000);
    cr_assert_eq(m->reason, status, "status %s, wanted %s",
                 cleo_err_name(m->reason), cleo_err_name(status));
    uint64_t v = m->arg;
    rt_msg_free(m);
    return v;
}

TestSuite(rt_call, .init = setup, .fini = rtt_fini, .timeout = 30);

/* ---- tests ----------------------------------------------------------- */

Test(rt_call, reply_reaches_the_continuation_with_status_zero)
{
    client_cfg_t c = {spawn_server(), MSG_REQ, 1000, 1, 0, false};
    send_msg(spawn_client(c), MSG_GO);
    cr_assert_eq(expect_reply(0), 43);
    rtt_expect_silence(100); /* exactly one callback */
    rtt_stop_runtime();
    cr_assert_eq(reply_frees, 1, "the reply is freed after the callback");
    cr_assert_eq(req_frees, 1);
}

Test(rt_call, each_of_many_calls_gets_its_own_reply_once)
{
    enum { N = 100 };
    bool seen[N] = {false};
    client_cfg_t c = {spawn_server(), MSG_REQ, 2000, N, 0, false};
    send_msg(spawn_client(c), MSG_GO);
    for (int i = 0; i < N; i++) {
        uint64_t v = expect_reply(0);
        cr_assert(v >= 43 && v < 43 + N, "value %llu", (unsigned long long)v);
        cr_assert_not(seen[v - 43], "reply %llu twice", (unsigned long long)v);
        seen[v - 43] = true;
    }
    rtt_expect_silence(100); /* also: no REP_MISMATCH */
    rtt_stop_runtime();
    cr_assert_eq(reply_frees, N);
}

Test(rt_call, deferred_reply_from_another_message_reaches_the_caller)
{
    rt_pid_t srv = spawn_server();
    client_cfg_t c = {srv, MSG_REQ_DEFER, 2000, 1, 0, false};
    rt_pid_t cli = spawn_client(c);
    send_msg(cli, MSG_GO);
    rt_msg_t *m = rtt_expect_msg(REP_HELD, 2000);
    cr_assert_eq(m->arg, cli, "rt_msg_caller().pid is the calling actor");
    rt_msg_free(m);
    rtt_expect_silence(50); /* no reply before the server releases it */

    send_msg(srv, MSG_RELEASE);
    int released = 0, replies = 0;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(rt_inbox_recv(rtt_ib, 2000, &m), 0);
        if (m->type == REP_RELEASED) {
            cr_assert_eq(m->reason, 0);
            released++;
        } else {
            cr_assert_eq(m->type, REP_REPLY);
            cr_assert_eq(m->reason, 0);
            cr_assert_eq(m->arg, 43);
            replies++;
        }
        rt_msg_free(m);
    }
    cr_assert_eq(released, 1);
    cr_assert_eq(replies, 1);
    rtt_expect_silence(100);
}

Test(rt_call, timeout_delivers_etimedout_and_a_late_reply_is_dropped)
{
    rt_pid_t srv = spawn_server();
    client_cfg_t c = {srv, MSG_REQ_DEFER, 30, 1, 0, false};
    rt_pid_t cli = spawn_client(c);
    send_msg(cli, MSG_GO);
    rt_msg_free(rtt_expect_msg(REP_HELD, 2000));
    cr_assert_eq(expect_reply(CLEO_ETIMEDOUT), NO_REPLY);

    send_msg(srv, MSG_RELEASE); /* the late reply */
    rt_msg_free(rtt_expect_msg(REP_RELEASED, 2000));
    rtt_expect_silence(150); /* no second callback, no stray message */

    send_msg(cli, MSG_PING);
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    rtt_stop_runtime();
    cr_assert_eq(reply_frees, 1, "the dropped reply is freed once");
}

Test(rt_call, call_to_a_dead_pid_gives_enoproc_to_the_continuation)
{
    client_cfg_t c = {dead_pid(), MSG_REQ, 1000, 1, 0, false};
    send_msg(spawn_client(c), MSG_GO);
    cr_assert_eq(expect_reply(CLEO_ENOPROC), NO_REPLY);
    rtt_expect_silence(100);
    rtt_stop_runtime();
    cr_assert_eq(req_frees, 1);
}

Test(rt_call, call_to_another_nodes_pid_gives_ebadpid_to_the_continuation)
{
    client_cfg_t c = {RT_PID_MAKE(9, 1, 1), MSG_REQ, 1000, 1, 0, false};
    send_msg(spawn_client(c), MSG_GO);
    cr_assert_eq(expect_reply(CLEO_EBADPID), NO_REPLY);
    rtt_expect_silence(100);
}

Test(rt_call, call_without_a_continuation_is_einval_and_never_calls_back)
{
    client_cfg_t c = {spawn_server(), MSG_REQ, 1000, 1, 0, true};
    send_msg(spawn_client(c), MSG_GO);
    rt_msg_t *m = rtt_expect_msg(REP_CALL_RC, 2000);
    cr_assert_eq(m->reason, CLEO_EINVAL);
    rt_msg_free(m);
    rtt_expect_silence(100);
    rtt_stop_runtime();
    cr_assert_eq(req_frees, 1, "the request is taken even on error");
    cr_assert_eq(reply_frees, 0, "the server never saw the request");
}

Test(rt_call, continuation_returning_rt_stop_stops_the_caller)
{
    client_cfg_t c = {spawn_server(), MSG_REQ, 1000, 1, RT_STOP, false};
    rt_pid_t cli = spawn_client(c);
    send_msg(cli, MSG_GO);
    expect_reply(0);
    rt_msg_t *m = rtt_expect_msg(REP_DESTROYED, 2000);
    cr_assert_eq(m->reason, RT_REASON_NORMAL);
    rt_msg_free(m);
}

Test(rt_call, reply_to_a_message_that_is_not_a_call_is_einval)
{
    rt_pid_t srv = spawn_server();
    send_msg(srv, MSG_PLAIN);
    rt_msg_t *m = rtt_expect_msg(REP_PLAIN, 2000);
    cr_assert_eq(m->arg, 0, "rt_msg_caller().ref is 0 for a plain send");
    cr_assert_eq(m->reason, CLEO_EINVAL);
    rt_msg_free(m);
}

Test(rt_call, deferred_reply_to_a_caller_that_died_is_enoproc)
{
    rt_pid_t srv = spawn_server();
    client_cfg_t c = {srv, MSG_REQ_DEFER, RT_INFINITY, 1, 0, false};
    rt_pid_t cli = spawn_client(c);
    send_msg(cli, MSG_GO);
    rt_msg_free(rtt_expect_msg(REP_HELD, 2000));
    cr_assert_eq(rt_exit(rtt_rt, cli, RT_REASON_KILL), 0);
    rt_msg_free(rtt_expect_msg(REP_DESTROYED, 2000));
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, cli); i++)
        rtt_sleep_ms(1);
    send_msg(srv, MSG_RELEASE);
    rt_msg_t *m;
    m = rtt_expect_msg(REP_RELEASED, 2000);
    cr_assert_eq(m->reason, CLEO_ENOPROC);
    rt_msg_free(m);
}

Test(rt_call, call_sync_from_the_test_thread_returns_the_reply)
{
    rt_msg_t *req = rt_msg_new(MSG_REQ), *rep = NULL;
    req->arg = 41;
    cr_assert_eq(rt_call_sync(rtt_rt, spawn_server(), req, 2000, &rep), 0);
    cr_assert_not_null(rep);
    cr_assert_eq(rep->type, MSG_REP);
    cr_assert_eq(rep->arg, 42);
    rt_msg_free(rep);
    rtt_stop_runtime();
    cr_assert_eq(reply_frees, 1);
}

Test(rt_call, call_sync_times_out_after_the_timeout)
{
    rt_pid_t srv = spawn_server();
    rt_msg_t *rep = (rt_msg_t *)0x1;
    uint64_t t0 = rt_now_ms(rtt_rt);
    int rc = rt_call_sync(rtt_rt, srv, rt_msg_new(MSG_REQ_DEFER), 30, &rep);
    uint64_t took = rt_now_ms(rtt_rt) - t0;
    cr_assert_eq(rc, CLEO_ETIMEDOUT, "%s", cleo_err_name(rc));
    cr_assert_eq(rep, (rt_msg_t *)0x1, "reply_out written only on success");
    cr_assert_geq(took, 30);
    cr_assert_lt(took, 2000);

    rt_msg_free(rtt_expect_msg(REP_HELD, 2000));
    send_msg(srv, MSG_RELEASE); /* late: dropped, not delivered anywhere */
    rt_msg_free(rtt_expect_msg(REP_RELEASED, 2000));
    rtt_expect_silence(100);
    rtt_stop_runtime();
    cr_assert_eq(reply_frees, 1);
}

Test(rt_call, call_sync_to_a_dead_pid_returns_enoproc)
{
    rt_msg_t *rep = NULL;
    int rc = rt_call_sync(rtt_rt, dead_pid(), rt_msg_new(MSG_REQ), 1000, &rep);
    cr_assert_eq(rc, CLEO_ENOPROC, "%s", cleo_err_name(rc));
    cr_assert_null(rep);
}

Test(rt_call, call_sync_to_pid_zero_returns_ebadpid)
{
    rt_msg_t *rep = NULL;
    int rc = rt_call_sync(rtt_rt, RT_PID_NONE, rt_msg_new(MSG_REQ), 1000, &rep);
    cr_assert_eq(rc, CLEO_EBADPID, "%s", cleo_err_name(rc));
}

Test(rt_call, call_sync_inside_a_handler_returns_edeadlk_without_blocking)
{
    client_cfg_t c = {spawn_server(), MSG_REQ, 1000, 1, 0, false};
    rt_pid_t cli = spawn_client(c);
    send_msg(cli, MSG_SYNC);
    rt_msg_t *m = rtt_expect_msg(REP_SYNC, 3000);
    cr_assert_eq(m->reason, CLEO_EDEADLK, "%s", cleo_err_name(m->reason));
    cr_assert_lt(m->arg, 1000, "returned at once, took %llu ms",
                 (unsigned long long)m->arg);
    rt_msg_free(m);
    send_msg(cli, MSG_PING); /* the scheduler is not stuck */
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    rtt_stop_runtime();
    cr_assert_eq(reply_frees, 0, "the refused request was never served");
}
