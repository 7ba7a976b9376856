/*
 * test_callmon.c - a call never outlives its server (OTP's gen_server:call
 * monitors the callee): a caller whose server dies after deferring its
 * reply, or with the request still queued, fails at once with the
 * server's exit reason; a call to a dead server fails with noproc; a reply
 * handed to another actor still arrives, and a later death of the server
 * does not fail a call that was answered.
 *
 * The caller is an actor using rt_call with a 10 s timeout, so a failure
 * that arrives by the timeout is told apart from one that arrives at once.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "rtt.h"
#include "runtime/actor.h" /* white box: the server's open requests */
#include "runtime/rt.h"

#define REASON_X (-4242)
#define CALL_MS 10000
#define PROMPT_MS 2000 /* "at once": far below the call's timeout */

enum {
    S_DEFER = RTT_CMD_BASE,    /* a call: keep `from`, do not answer */
    S_ANSWER,                  /* answer the kept call */
    S_HANDOFF,                 /* a call: hand `from` to helper arg */
    S_BLOCK,                   /* hold the scheduler on the gate */
    S_CRASH,                   /* exit with m->reason */
    C_CALL,                    /* caller: call arg with type m->reason */
    H_REPLY,                   /* helper: answer the from in the payload */
    S_OPEN,                    /* ack with reason = open requests held */
    REP_RESULT = RTT_REP_BASE, /* the call's status; other = server */
};

typedef struct {
    rtt_probe_t p;
    rt_from_t kept;
} server_t;

static int server_init(rt_actor_t *self, void *arg)
{
    return rtt_probe_alloc(self, arg, sizeof(server_t));
}

static void answer(rt_actor_t *self, rt_from_t from)
{
    (void)rt_reply(rt_actor_rt(self), from, rt_msg_new(RTT_ACK));
}

static int handoff(rt_actor_t *self, rt_msg_t *m)
{
    rt_from_t *f = malloc(sizeof *f);
    *f = rt_msg_caller(m);
    rt_msg_t *h = rt_msg_new(H_REPLY);
    h->payload = f;
    h->payload_free = free;
    return rt_send(rt_actor_rt(self), m->arg, h) < 0 ? -1 : 0;
}

static int server_handle(rt_actor_t *self, rt_msg_t *m)
{
    server_t *s = rt_state(self);
    switch (m->type) {
    case S_DEFER:
        s->kept = rt_msg_caller(m);
        return 0;
    case S_ANSWER:
        answer(self, s->kept);
        return 0;
    case S_HANDOFF:
        return handoff(self, m);
    case S_BLOCK:
        return rtt_gate_block();
    case S_CRASH:
        return m->reason == 0 ? RT_STOP : m->reason;
    case H_REPLY:
        answer(self, *(rt_from_t *)m->payload);
        return 0;
    case S_OPEN:
        return rtt_tell(self, RTT_ACK, 0, 0,
                        self->ext != NULL ? (int)self->ext->open.n : 0);
    default:
        return rtt_probe_handle(self, m);
    }
}

static const rt_behaviour_t server = {
    .name = "server",
    .init = server_init,
    .handle = server_handle,
    .destroy = rtt_probe_destroy,
};

static int on_result(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    return rtt_tell(self, REP_RESULT, (rt_pid_t)(uintptr_t)data, 0,
                    reply != NULL ? 0 : status);
}

static int caller_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type != C_CALL)
        return rtt_probe_handle(self, m);
    rt_msg_t *req = rt_msg_new((uint32_t)m->reason);
    int rc = rt_call(self, m->arg, req, CALL_MS, on_result,
                     (void *)(uintptr_t)m->arg);
    return rtt_tell(self, RTT_ACK, m->arg, 0, rc);
}

static const rt_behaviour_t caller = {
    .name = "caller",
    .init = rtt_probe_init,
    .handle = caller_handle,
    .destroy = rtt_probe_destroy,
};

TestSuite(rt_callmon, .init = rtt_gate_setup, .fini = rtt_gate_teardown,
          .timeout = 120);

/* Have c call s with a request of type; returns when the call is sent. */
static void call(rt_pid_t c, rt_pid_t s, uint32_t type)
{
    rt_msg_t *m = rt_msg_new(C_CALL);
    m->arg = s;
    m->reason = (int32_t)type;
    cr_assert_eq(rt_send(rtt_rt, c, m), 0);
    cr_assert_eq(rtt_expect(RTT_ACK, c).reason, 0);
}

/* The call's result, which must come within PROMPT_MS. */
static int result_of(rt_pid_t c)
{
    rtt_report_t r;
    cr_assert(rtt_wait_report(REP_RESULT, c, PROMPT_MS, &r),
              "the caller was not told within %d ms", PROMPT_MS);
    return r.reason;
}

/* The server deferred its reply, then crashed: the caller fails at once
 * with the crash's reason (it used to wait for its whole timeout). */
Test(rt_callmon, deferred_reply_then_crash_fails_the_caller_at_once)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_pid_t c = rtt_spawn(&caller, false);
    call(c, s, S_DEFER);
    rtt_cmd(s, RTT_PING, 0); /* the request was handled and deferred */
    rtt_post(s, S_CRASH, 0, REASON_X);
    cr_assert_eq(result_of(c), REASON_X);
}

/* A deferring server that stops normally fails the call with noproc. */
Test(rt_callmon, deferred_reply_then_normal_stop_is_noproc)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_pid_t c = rtt_spawn(&caller, false);
    call(c, s, S_DEFER);
    rtt_cmd(s, RTT_PING, 0);
    rtt_post(s, S_CRASH, 0, 0);
    cr_assert_eq(result_of(c), CLEO_ENOPROC);
}

/* Killed (by an untrappable kill) while holding a deferred call. */
Test(rt_callmon, deferred_reply_then_kill_is_killed)
{
    rt_pid_t s = rtt_spawn(&server, true);
    rt_pid_t c = rtt_spawn(&caller, false);
    call(c, s, S_DEFER);
    rtt_cmd(s, RTT_PING, 0);
    cr_assert_eq(rt_exit(rtt_rt, s, RT_REASON_KILL), 0);
    cr_assert_eq(result_of(c), RT_REASON_KILLED);
}

/* The request is still queued behind a busy handler when the server dies:
 * the caller learns the real reason, not noproc. */
Test(rt_callmon, queued_request_fails_with_the_servers_reason)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_pid_t c = rtt_spawn(&caller, false);
    rtt_post(s, S_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    call(c, s, S_DEFER);
    cr_assert_eq(rt_exit(rtt_rt, s, REASON_X), 0);
    rtt_gate_release();
    cr_assert_eq(result_of(c), REASON_X);
}

/* A server that is already dead: noproc, at once. */
Test(rt_callmon, call_to_a_dead_server_is_noproc)
{
    rt_pid_t s = rtt_dead_pid(&server);
    rt_pid_t c = rtt_spawn(&caller, false);
    call(c, s, S_DEFER);
    cr_assert_eq(result_of(c), CLEO_ENOPROC);
}

/* A deferred reply that is sent arrives; the server's later crash does
 * not fail anything more. */
Test(rt_callmon, answered_deferred_call_is_not_failed_by_a_later_crash)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_pid_t c = rtt_spawn(&caller, false);
    call(c, s, S_DEFER);
    rtt_post(s, S_ANSWER, 0, 0);
    cr_assert_eq(result_of(c), 0);
    rtt_post(s, S_CRASH, 0, REASON_X);
    rtt_expect_death(s, REASON_X);
    rtt_expect_none(REP_RESULT, c, RTT_QUIET_MS);
}

/* The server hands the request to a helper, which answers it; the
 * server then crashes. The caller got the reply, and a second call to a
 * new server still works (the helper's answer told the first server). */
Test(rt_callmon, reply_handed_to_another_actor_arrives)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_pid_t h = rtt_spawn(&server, false);
    rt_pid_t c = rtt_spawn(&caller, false);
    rt_msg_t *req = rt_msg_new(S_HANDOFF);
    req->arg = h;
    rt_msg_t *reply = NULL;
    cr_assert_eq(rt_call_sync(rtt_rt, s, req, CALL_MS, &reply), 0);
    cr_assert_eq(reply->type, RTT_ACK);
    rt_msg_free(reply);
    rtt_cmd(s, RTT_PING, 0); /* the helper's note has reached s */
    rtt_post(s, S_CRASH, 0, REASON_X);
    rtt_expect_death(s, REASON_X);
    call(c, h, S_DEFER);
    rtt_post(h, S_ANSWER, 0, 0);
    cr_assert_eq(result_of(c), 0);
}

/* Blocking callers (rt_call_sync from a test thread) are told too. */
Test(rt_callmon, sync_caller_is_told_when_a_deferring_server_dies)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_msg_t *crash = rt_msg_new(S_CRASH);
    crash->reason = REASON_X;
    /* Queued behind the deferred request: the server defers, then dies. */
    rt_msg_t *req = rt_msg_new(S_DEFER);
    rtt_post(s, S_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    rt_msg_t *reply = NULL;
    uint64_t t0 = rtt_now_ms();
    /* The crash must follow the request: send it from a timer. */
    cr_assert_eq(rt_send_after(rtt_rt, 50, s, crash, NULL), 0);
    rtt_gate_release();
    int rc = rt_call_sync(rtt_rt, s, req, CALL_MS, &reply);
    cr_assert_eq(rc, REASON_X, "rc %s", cleo_err_name(rc));
    cr_assert_lt(rtt_now_ms() - t0, PROMPT_MS);
}

/* A server that never answers still lets the caller time out. */
Test(rt_callmon, unanswered_call_still_times_out)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_msg_t *reply = NULL;
    uint64_t t0 = rtt_now_ms();
    cr_assert_eq(rt_call_sync(rtt_rt, s, rt_msg_new(S_DEFER), 100, &reply),
                 CLEO_ETIMEDOUT);
    cr_assert_geq(rtt_now_ms() - t0, 100);
    rtt_expect_alive(s);
}

/* Requests left open are forgotten once answered, by the server or by
 * another actor, and once their caller times out: a long-lived server
 * that never answers some requests does not keep them all its life. */
Test(rt_callmon, open_requests_are_forgotten_when_answered_or_given_up)
{
    rt_pid_t s = rtt_spawn(&server, false);
    rt_pid_t h = rtt_spawn(&server, false);
    rt_msg_t *reply = NULL;
    cr_assert_eq(rt_call_sync(rtt_rt, s, rt_msg_new(S_DEFER), 50, &reply),
                 CLEO_ETIMEDOUT);
    cr_assert_eq(rtt_cmd(s, S_OPEN, 0).reason, 0,
                 "a timed-out call stays open");
    rt_pid_t c = rtt_spawn(&caller, false);
    call(c, s, S_DEFER);
    cr_assert_eq(rtt_cmd(s, S_OPEN, 0).reason, 1);
    rtt_post(s, S_ANSWER, 0, 0);
    cr_assert_eq(result_of(c), 0);
    cr_assert_eq(rtt_cmd(s, S_OPEN, 0).reason, 0);
    rt_msg_t *req = rt_msg_new(S_HANDOFF);
    req->arg = h;
    cr_assert_eq(rt_call_sync(rtt_rt, s, req, 10000, &reply), 0);
    rt_msg_free(reply);
    cr_assert_eq(rtt_cmd(s, S_OPEN, 0).reason, 0,
                 "a handed-off call stays open");
}
