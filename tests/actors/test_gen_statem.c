/*
 * test_gen_statem.c - gen_statem (handle_event_function mode) as OTP
 * documents it: the enter call runs for the initial state and on every
 * state change; a state timeout fires unless the state changes first
 * (and one set by a transition belongs to the new state); generic
 * timeouts are named, restartable, cancellable and survive state changes;
 * postponed events come back in their order after the next state change,
 * ahead of newer ones; calls are answered now or after a postponement;
 * the event timeout fires only if no event arrives first, and a new one
 * replaces it; terminate runs on every stop; sys:get_status shows the
 * state, what waits and the live timeouts, and is no event. Also run
 * under many deterministic seeds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define REASON_X (-4242)
#define DET_SEEDS 200
#define GO_NAME 1 /* the generic timeout that moves state 0 to 1 */

enum {
    S_GOTO = RTT_CMD_BASE, /* next = arg */
    S_GOTO_TMO,            /* next = arg, and a 10 ms state timeout */
    S_ST_TMO,              /* state timeout after arg ms */
    S_GEN_TMO,             /* generic timeout arg after reason ms */
    S_CANCEL,              /* cancel generic timeout arg; report rc */
    S_WORK,                /* postponed in state 0, reported elsewhere */
    S_CALLW,               /* call: postponed in state 0, else arg + 1 */
    S_STOP,                /* GEN_STOP */
    S_CRASH,               /* return reason */
    S_TMO_MSG,             /* the message a state timeout carries */
    S_EV_TMO,              /* event timeout after arg ms; its message's
                              arg is reason */
    S_EV_TWICE,            /* event timeout 20 ms (message arg 1), then
                              one after arg ms (message arg 2) */
    S_EV_GEN,              /* generic timeout 5 after 20 ms, and an event
                              timeout after 200 ms */
    S_GOTO_EV,             /* next = arg, and an event timeout of 20 ms
                              (message arg 7) */
    S_SLEEP,               /* keep the scheduler for arg ms */
};

enum {
    REP_ENTER = RTT_REP_BASE, /* reason = state, ref = -postpone rc */
    REP_EVENT,                /* other = event type, ref = ev arg,
                                 reason = state */
    REP_TERMINATE,            /* other = state, reason */
    REP_RC,                   /* reason = rc */
};

typedef struct sm_arg_s {
    rt_pid_t to;
    int fail;
} sm_arg_t;

static void tell(rt_actor_t *self, uint32_t kind, uint64_t other, uint64_t ref,
                 int reason)
{
    rtt_report_t rep = {kind, rt_self(self), other, ref, reason};
    rtt_report(rt_actor_rt(self), rtt_ibp, &rep);
}

static int sm_init(rt_actor_t *self, void *arg, void **data, int *state)
{
    const sm_arg_t *a = arg;
    if (a->fail < 0)
        return a->fail;
    *data = NULL;
    *state = 0;
    return 0;
}

static rt_msg_t *tmo_msg(uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(S_TMO_MSG);
    m->arg = arg;
    return m;
}

/* The casts about the event timeout. */
static int on_cast_ev(rt_actor_t *self, rt_msg_t *ev, int *next)
{
    switch (ev->type) {
    case S_EV_TMO:
        return gen_statem_event_timeout(self, ev->arg,
                                        tmo_msg((uint64_t)ev->reason));
    case S_EV_TWICE:
        rt_assert(gen_statem_event_timeout(self, 20, tmo_msg(1)) == 0);
        return gen_statem_event_timeout(self, ev->arg, tmo_msg(2));
    case S_EV_GEN:
        rt_assert(gen_statem_timeout(self, 5, 20, NULL) == 0);
        return gen_statem_event_timeout(self, 200, tmo_msg(3));
    case S_GOTO_EV:
        *next = (int)ev->arg;
        return gen_statem_event_timeout(self, 20, tmo_msg(7));
    case S_SLEEP:
        usleep((useconds_t)ev->arg * 1000);
        return 0;
    default:
        return 0;
    }
}

static int on_cast(rt_actor_t *self, rt_msg_t *ev, int state, int *next)
{
    switch (ev->type) {
    case S_GOTO:
        *next = (int)ev->arg;
        return 0;
    case S_GOTO_TMO:
        *next = (int)ev->arg;
        return gen_statem_state_timeout(self, 10, rt_msg_new(S_TMO_MSG));
    case S_ST_TMO:
        return gen_statem_state_timeout(self, ev->arg, rt_msg_new(S_TMO_MSG));
    case S_GEN_TMO:
        return gen_statem_timeout(self, ev->arg, (uint64_t)ev->reason, NULL);
    case S_CANCEL:
        tell(self, REP_RC, 0, 0, gen_statem_cancel_timeout(self, ev->arg));
        return 0;
    case S_STOP:
        return GEN_STOP;
    case S_CRASH:
        return ev->reason;
    default:
        return on_cast_ev(self, ev, next);
    }
}

static int sm_event(rt_actor_t *self, gen_statem_event_t type, rt_msg_t *ev,
                    rt_from_t from, int state, void *data, int *next)
{
    rt_assert(gen_statem_state(self) == state);
    if (type == GSM_ENTER) {
        tell(self, REP_ENTER, 0, (uint64_t)-gen_statem_postpone(self), state);
        return 0;
    }
    bool waits = ev->type == S_WORK || ev->type == S_CALLW;
    if (waits && state == 0)
        return gen_statem_postpone(self);
    tell(self, REP_EVENT, type, ev->arg, state);
    if (type == GSM_TIMEOUT && ev->arg == GO_NAME)
        *next = 1;
    if (type == GSM_STATE_TIMEOUT || type == GSM_EVENT_TIMEOUT)
        rt_assert(ev->type == S_TMO_MSG);
    if (type == GSM_CALL) {
        rt_msg_t *r = rt_msg_new(ev->type);
        r->arg = ev->arg + 1;
        return gen_statem_reply(rt_actor_rt(self), from, r);
    }
    return type == GSM_CAST ? on_cast(self, ev, state, next) : 0;
}

static void sm_terminate(rt_actor_t *self, int state, void *data, int reason)
{
    tell(self, REP_TERMINATE, (uint64_t)state, 0, reason);
}

static const gen_statem_cbs_t sm_cbs = {
    .name = "test_sm",
    .state_enter = true,
    .init = sm_init,
    .handle_event = sm_event,
    .terminate = sm_terminate,
};

/* ---- helpers ------------------------------------------------------------ */

static rt_pid_t start_sm(void)
{
    sm_arg_t a = {.to = rtt_ibp};
    rt_pid_t pid = RT_PID_NONE;
    int rc = gen_statem_start(rtt_rt, NULL, &sm_cbs, &a, NULL, &pid);
    cr_assert_eq(rc, 0, "gen_statem_start: %s", cleo_err_name(rc));
    rtt_report_t r = rtt_expect(REP_ENTER, pid);
    cr_assert_eq(r.reason, 0);              /* the initial state */
    cr_assert_eq(-(int)r.ref, CLEO_ESTATE); /* no postponing an enter */
    return pid;
}

static void cast(rt_pid_t to, uint32_t type, uint64_t arg, int reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    cr_assert_eq(gen_statem_cast(rtt_rt, to, m), 0);
}

static rtt_report_t expect_event(rt_pid_t pid, gen_statem_event_t type,
                                 uint64_t arg, int state)
{
    rtt_report_t r = rtt_expect(REP_EVENT, pid);
    cr_assert_eq(r.other, type, "event type %llu, expected %d",
                 (unsigned long long)r.other, type);
    cr_assert_eq(r.ref, arg, "event arg %llu, expected %llu",
                 (unsigned long long)r.ref, (unsigned long long)arg);
    cr_assert_eq(r.reason, state);
    return r;
}

static void expect_enter(rt_pid_t pid, int state)
{
    cr_assert_eq(rtt_expect(REP_ENTER, pid).reason, state);
}

static uint64_t callw(rt_pid_t pid, uint64_t arg)
{
    rt_msg_t *req = rt_msg_new(S_CALLW), *reply = NULL;
    req->arg = arg;
    int rc = gen_server_call_sync(rtt_rt, pid, req, 5000, &reply);
    cr_assert_eq(rc, 0, "call: %s", cleo_err_name(rc));
    uint64_t v = reply->arg;
    rt_msg_free(reply);
    return v;
}

TestSuite(gen_statem, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

/* ---- start -------------------------------------------------------------- */

Test(gen_statem, enter_call_runs_for_the_initial_state_during_start)
{
    rt_pid_t pid = start_sm();
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, pid, &info), 0);
    cr_assert_str_eq(info.behaviour, "test_sm");
}

Test(gen_statem, init_failure_returns_the_error_and_leaves_nothing)
{
    sm_arg_t a = {.to = rtt_ibp, .fail = REASON_X};
    gen_opts_t o = {.name = "sm", .sched = RT_SCHED_ANY};
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    cr_assert_eq(gen_statem_start(rtt_rt, NULL, &sm_cbs, &a, &o, NULL),
                 REASON_X);
    cr_assert_eq(rt_whereis(rtt_rt, "sm"), RT_PID_NONE);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.actors, before.actors);
    rtt_expect_none(0, 0, RTT_QUIET_MS); /* no enter, no terminate */
}

Test(gen_statem, bad_input_is_einval_and_spawns_nothing)
{
    static const gen_statem_cbs_t no_event = {.name = "x"};
    static const gen_statem_cbs_t no_name = {.handle_event = sm_event};
    sm_arg_t a = {.to = rtt_ibp};
    gen_opts_t link = {.link = true, .sched = RT_SCHED_ANY};
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    cr_assert_eq(gen_statem_start(rtt_rt, NULL, NULL, &a, NULL, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_statem_start(rtt_rt, NULL, &no_event, &a, NULL, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_statem_start(rtt_rt, NULL, &no_name, &a, NULL, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_statem_start(rtt_rt, NULL, &sm_cbs, &a, &link, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_statem_cast(rtt_rt, rtt_ibp, NULL), CLEO_EINVAL);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.spawned, before.spawned);
}

/* ---- state changes and enter calls -------------------------------------- */

Test(gen_statem, a_state_change_runs_the_enter_call_and_a_repeat_does_not)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GOTO, 1, 0);
    expect_event(pid, GSM_CAST, 1, 0);
    expect_enter(pid, 1);
    cast(pid, S_GOTO, 1, 0);
    expect_event(pid, GSM_CAST, 1, 1);
    cast(pid, S_GOTO, 2, 0);
    expect_event(pid, GSM_CAST, 2, 1);
    expect_enter(pid, 2);
    rtt_expect_none(REP_ENTER, pid, RTT_QUIET_MS);
}

Test(gen_statem, plain_messages_are_infos_and_calls_are_answered)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GOTO, 1, 0);
    expect_event(pid, GSM_CAST, 1, 0);
    expect_enter(pid, 1);
    rtt_post(pid, S_WORK, 9, 0);
    expect_event(pid, GSM_INFO, 9, 1);
    cr_assert_eq(callw(pid, 4), 5);
    expect_event(pid, GSM_CALL, 4, 1);
}

/* ---- timeouts ----------------------------------------------------------- */

Test(gen_statem, state_timeout_fires_in_the_same_state)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_ST_TMO, 10, 0);
    expect_event(pid, GSM_CAST, 10, 0);
    expect_event(pid, GSM_STATE_TIMEOUT, 0, 0);
}

Test(gen_statem, state_timeout_is_cancelled_by_a_state_change)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_ST_TMO, 50, 0);
    cast(pid, S_GOTO, 1, 0);
    expect_enter(pid, 1);
    rtt_sleep_ms(150);
    rtt_report_t r;
    while (rtt_wait_report(REP_EVENT, pid, 0, &r))
        cr_assert_neq(r.other, GSM_STATE_TIMEOUT);
}

Test(gen_statem, a_later_state_timeout_replaces_the_earlier)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_ST_TMO, 20, 0);
    cast(pid, S_ST_TMO, 40, 0);
    expect_event(pid, GSM_CAST, 20, 0);
    expect_event(pid, GSM_CAST, 40, 0);
    expect_event(pid, GSM_STATE_TIMEOUT, 0, 0);
    rtt_expect_none(REP_EVENT, pid, 100);
}

Test(gen_statem, state_timeout_set_by_a_transition_belongs_to_the_new_state)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GOTO_TMO, 2, 0);
    expect_event(pid, GSM_CAST, 2, 0);
    expect_enter(pid, 2);
    expect_event(pid, GSM_STATE_TIMEOUT, 0, 2);
}

Test(gen_statem, generic_timeout_survives_state_changes)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GEN_TMO, 7, 30);
    cast(pid, S_GOTO, 1, 0);
    cast(pid, S_GOTO, 2, 0);
    expect_enter(pid, 1);
    expect_enter(pid, 2);
    rtt_report_t r;
    do
        r = rtt_expect(REP_EVENT, pid);
    while (r.other == GSM_CAST);
    cr_assert_eq(r.other, GSM_TIMEOUT);
    cr_assert_eq(r.ref, 7); /* ev->arg is the name */
    cr_assert_eq(r.reason, 2);
}

Test(gen_statem, cancelled_generic_timeout_never_fires)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GEN_TMO, 7, 30);
    cast(pid, S_CANCEL, 7, 0);
    cr_assert_eq(rtt_expect(REP_RC, pid).reason, 0);
    cast(pid, S_CANCEL, 7, 0);
    cr_assert_eq(rtt_expect(REP_RC, pid).reason, CLEO_ENOTFOUND);
    rtt_sleep_ms(100);
    rtt_report_t r;
    while (rtt_wait_report(REP_EVENT, pid, 0, &r))
        cr_assert_neq(r.other, GSM_TIMEOUT);
}

Test(gen_statem, restarting_a_generic_timeout_fires_it_once)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GEN_TMO, 7, 10);
    cast(pid, S_GEN_TMO, 7, 40);
    cast(pid, S_GEN_TMO, 8, 20);
    rtt_report_t r;
    int fired7 = 0, fired8 = 0;
    for (int i = 0; i < 5; i++) {
        r = rtt_expect(REP_EVENT, pid);
        fired7 += r.other == GSM_TIMEOUT && r.ref == 7;
        fired8 += r.other == GSM_TIMEOUT && r.ref == 8;
    }
    rtt_expect_none(REP_EVENT, pid, 100);
    cr_assert_eq(fired7, 1);
    cr_assert_eq(fired8, 1);
}

/* ---- the event timeout ({timeout, T, Msg}) ------------------------------ */

/* No report of an event timeout from pid within ms (other events may come). */
static void expect_no_event_timeout(rt_pid_t pid, uint32_t ms)
{
    rtt_sleep_ms(ms);
    rtt_report_t r;
    while (rtt_wait_report(REP_EVENT, pid, 0, &r))
        cr_assert_neq(r.other, GSM_EVENT_TIMEOUT, "event timeout %llu fired",
                      (unsigned long long)r.ref);
}

Test(gen_statem, event_timeout_fires_with_its_message_when_no_event_arrives)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_EV_TMO, 20, 42);
    expect_event(pid, GSM_CAST, 20, 0);
    expect_event(pid, GSM_EVENT_TIMEOUT, 42, 0);
    rtt_expect_none(REP_EVENT, pid, RTT_QUIET_MS); /* once */
}

Test(gen_statem, event_timeout_is_cancelled_by_a_cast_a_call_or_an_info)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GOTO, 1, 0); /* where calls are answered at once */
    expect_enter(pid, 1);
    cast(pid, S_EV_TMO, 100, 1);
    cast(pid, S_ST_TMO, 10000, 0); /* a cast */
    expect_no_event_timeout(pid, 200);
    cast(pid, S_EV_TMO, 100, 2);
    cr_assert_eq(callw(pid, 3), 4); /* a call */
    expect_no_event_timeout(pid, 200);
    cast(pid, S_EV_TMO, 100, 3);
    rtt_post(pid, S_TMO_MSG, 0, 0); /* an info */
    expect_no_event_timeout(pid, 200);
}

Test(gen_statem, event_timeout_is_cancelled_by_another_timeout_event)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_EV_GEN, 0, 0);
    expect_event(pid, GSM_CAST, 0, 0);
    expect_event(pid, GSM_TIMEOUT, 5, 0);
    expect_no_event_timeout(pid, 300);
}

Test(gen_statem, event_timeout_survives_a_state_change_without_events)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GOTO_EV, 1, 0);
    expect_event(pid, GSM_CAST, 1, 0);
    expect_enter(pid, 1); /* an enter call is not an event */
    expect_event(pid, GSM_EVENT_TIMEOUT, 7, 1);
}

Test(gen_statem, event_timeout_is_cancelled_by_a_retried_postponed_event)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_WORK, 1, 0); /* postponed in state 0 */
    cast(pid, S_GOTO_EV, 1, 0);
    expect_event(pid, GSM_CAST, 1, 0);
    expect_enter(pid, 1);
    expect_event(pid, GSM_CAST, 1, 1); /* the work, retried */
    expect_no_event_timeout(pid, 150);
}

Test(gen_statem, zero_event_timeout_comes_before_queued_messages)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_SLEEP, 50, 0); /* so that what follows is queued */
    cast(pid, S_EV_TMO, 0, 9);
    rtt_post(pid, S_TMO_MSG, 5, 0);
    expect_event(pid, GSM_CAST, 50, 0);
    expect_event(pid, GSM_CAST, 0, 0);
    expect_event(pid, GSM_EVENT_TIMEOUT, 9, 0);
    expect_event(pid, GSM_INFO, 5, 0);
}

Test(gen_statem, a_new_event_timeout_replaces_the_old_and_infinity_cancels)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_EV_TWICE, 60, 0);
    expect_event(pid, GSM_CAST, 60, 0);
    expect_event(pid, GSM_EVENT_TIMEOUT, 2, 0); /* not 1, which was 20 ms */
    rtt_expect_none(REP_EVENT, pid, 100);
    cast(pid, S_EV_TWICE, GEN_STATEM_INFINITY, 0);
    expect_event(pid, GSM_CAST, GEN_STATEM_INFINITY, 0);
    rtt_expect_none(REP_EVENT, pid, 150);
}

/* ---- sys:get_status ------------------------------------------------------ */

static void sm_format(rt_actor_t *self, int state, void *data, char *buf,
                      size_t len)
{
    snprintf(buf, len, "seen in state %d", state);
}

static const gen_statem_cbs_t sm_fmt_cbs = {
    .name = "test_sm_fmt",
    .init = sm_init,
    .handle_event = sm_event,
    .format_status = sm_format,
};

Test(gen_statem, get_status_shows_state_postponed_and_timeouts_and_is_no_event)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_WORK, 1, 0);        /* postponed */
    cast(pid, S_GEN_TMO, 7, 10000); /* a generic timeout */
    cast(pid, S_EV_TMO, 150, 4);    /* the event timeout, last */
    expect_event(pid, GSM_CAST, 7, 0);
    expect_event(pid, GSM_CAST, 150, 0);
    char *text = NULL;
    cr_assert_eq(gen_get_status_sync(rtt_rt, pid, 5000, &text), 0);
    cr_assert_str_eq(text, "gen_statem test_sm\nstatus: running\n"
                           "parent: none\nstate: 0\npostponed: 1\n"
                           "timeouts: state off, event on, generic 1");
    free(text);
    /* Asking is not an event: the event timeout still fires. */
    expect_event(pid, GSM_EVENT_TIMEOUT, 4, 0);
}

Test(gen_statem, get_status_adds_the_format_status_text_for_the_data)
{
    sm_arg_t a = {.to = rtt_ibp};
    rt_pid_t pid;
    cr_assert_eq(gen_statem_start(rtt_rt, NULL, &sm_fmt_cbs, &a, NULL, &pid),
                 0);
    cast(pid, S_GOTO, 3, 0);
    expect_event(pid, GSM_CAST, 3, 0);
    char *text = NULL;
    cr_assert_eq(gen_get_status_sync(rtt_rt, pid, 5000, &text), 0);
    cr_assert_str_eq(text, "gen_statem test_sm_fmt\nstatus: running\n"
                           "parent: none\nstate: 3\npostponed: 0\n"
                           "timeouts: state off, event off, generic 0\n"
                           "data: seen in state 3");
    free(text);
}

/* ---- postpone ------------------------------------------------------------ */

Test(gen_statem, postponed_events_come_back_in_order_after_a_state_change)
{
    rt_pid_t pid = start_sm();
    for (uint64_t i = 1; i <= 5; i++)
        cast(pid, S_WORK, i, 0);
    cast(pid, S_GOTO, 1, 0);
    cast(pid, S_WORK, 6, 0);
    expect_event(pid, GSM_CAST, 1, 0); /* the goto */
    expect_enter(pid, 1);
    for (uint64_t i = 1; i <= 6; i++)
        expect_event(pid, GSM_CAST, i, 1);
}

Test(gen_statem, postponed_events_wait_while_the_state_does_not_change)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_WORK, 1, 0);
    cast(pid, S_GOTO, 0, 0); /* same state: nothing comes back */
    expect_event(pid, GSM_CAST, 0, 0);
    rtt_expect_none(REP_EVENT, pid, RTT_QUIET_MS);
    cast(pid, S_GOTO, 1, 0);
    expect_event(pid, GSM_CAST, 1, 0);
    expect_event(pid, GSM_CAST, 1, 1); /* the work */
}

Test(gen_statem, a_postponed_call_is_answered_after_the_state_change)
{
    rt_pid_t pid = start_sm();
    cast(pid, S_GEN_TMO, GO_NAME, 20); /* moves to state 1 in 20 ms */
    cr_assert_eq(callw(pid, 10), 11);
    expect_event(pid, GSM_CAST, GO_NAME, 0);
    expect_event(pid, GSM_TIMEOUT, GO_NAME, 0);
    expect_enter(pid, 1);
    expect_event(pid, GSM_CALL, 10, 1);
}

/* ---- stopping -------------------------------------------------------------
 */

Test(gen_statem, terminate_runs_with_the_state_on_every_stop)
{
    rt_pid_t a = start_sm();
    cast(a, S_GOTO, 3, 0);
    cast(a, S_STOP, 0, 0);
    rtt_report_t r = rtt_expect(REP_TERMINATE, a);
    cr_assert_eq(r.other, 3);
    cr_assert_eq(r.reason, RT_REASON_NORMAL);
    rt_pid_t b = start_sm();
    cast(b, S_CRASH, 0, REASON_X);
    cr_assert_eq(rtt_expect(REP_TERMINATE, b).reason, REASON_X);
    rt_pid_t c = start_sm();
    cast(c, S_WORK, 1, 0);        /* a postponed event is freed too */
    cast(c, S_GEN_TMO, 9, 10000); /* and a pending timer cancelled */
    cr_assert_eq(gen_server_stop_sync(rtt_rt, c, RT_REASON_SHUTDOWN, 5000), 0);
    cr_assert_eq(rtt_expect(REP_TERMINATE, c).reason, RT_REASON_SHUTDOWN);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, c, 0, 5000), CLEO_ENOPROC);
}

/* ---- deterministic mode ------------------------------------------------- */

static void det_scenario(uint64_t seed)
{
    rt_opts_t o = {.deterministic = true, .seed = seed, .max_actors = 64};
    rtt_start(&o);
    rt_pid_t pid = start_sm();
    for (uint64_t i = 1; i <= 3; i++)
        cast(pid, S_WORK, i, 0);
    cast(pid, S_ST_TMO, 50, 0);
    cast(pid, S_GEN_TMO, GO_NAME, 20);
    cr_assert_eq(callw(pid, 10), 11); /* postponed until the timeout */
    expect_event(pid, GSM_CAST, 50, 0);
    expect_event(pid, GSM_CAST, GO_NAME, 0);
    expect_event(pid, GSM_TIMEOUT, GO_NAME, 0);
    expect_enter(pid, 1);
    for (uint64_t i = 1; i <= 3; i++)
        expect_event(pid, GSM_CAST, i, 1);
    expect_event(pid, GSM_CALL, 10, 1);
    rt_det_advance(rtt_rt, 100); /* the state timeout was cancelled */
    rtt_expect_none(REP_EVENT, pid, 0);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, 0, 1000), 0);
    cr_assert_eq(rtt_expect(REP_TERMINATE, pid).reason, RT_REASON_NORMAL);
    rtt_teardown();
}

Test(gen_statem_det, same_outcome_under_many_seeds, .timeout = 120)
{
    rtt_teardown();
    for (uint64_t seed = 1; seed <= DET_SEEDS; seed++)
        det_scenario(seed);
    rtt_start(NULL);
}

TestSuite(gen_statem_det, .init = rtt_setup, .fini = rtt_teardown);
