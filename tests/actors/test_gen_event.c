/*
 * test_gen_event.c - gen_event as OTP documents it: handlers are added
 * once each and see every event in the order they were added; notify is
 * asynchronous and sync_notify returns after every handler ran; a handler
 * that returns an error, GEN_STOP or panics is removed (its terminate runs)
 * while the manager and the other handlers go on; stopping the manager
 * terminates the handlers left. swap_handler replaces a handler in one
 * step, handing the old one's state to the new; a supervised handler
 * (add_sup_handler) goes when its owner dies, and its owner is told
 * (gen_event_EXIT) when it goes for any other reason. The manager answers
 * sys:get_status with its handlers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define REASON_X (-4242)

enum {
    E_PLAIN = RTT_CMD_BASE, /* every handler reports it */
    E_FAIL,                 /* handler arg returns ev->reason */
    E_PANIC,                /* handler arg panics */
    E_STOP,                 /* handler arg returns GEN_STOP */
};

enum {
    REP_EVENT = RTT_REP_BASE, /* other = handler id, ref = ev->arg */
    REP_TERMINATE,            /* other = handler id, reason */
    REP_SWAP_OUT,             /* other = handler id, ref = its arg */
    REP_SWAP_IN,              /* other = handler id, ref = term's value,
                                 reason = status */
    REP_OWNER,                /* from the owner actor: other = handler id,
                                 reason = the GEN_EVENT_MSG_EXIT's */
};

/* Events seen by all handlers since the test began; read by the test
 * thread only after a sync_notify answered. */
static int seen;

typedef struct hs_s {
    uint64_t id;
} hs_t;

static int h_init(void *arg, void **state)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    if (id == 0)
        return REASON_X; /* id 0: init fails */
    hs_t *s = malloc(sizeof *s);
    s->id = id;
    *state = s;
    return 0;
}

static void h_report(uint32_t kind, uint64_t id, uint64_t ref, int reason)
{
    rtt_report_t rep = {kind, 0, id, ref, reason};
    rtt_report(rtt_rt, rtt_ibp, &rep);
}

static int h_event(void *state, const rt_msg_t *ev)
{
    const hs_t *s = state;
    uint64_t id = s != NULL ? s->id : 0; /* h_bare has no init, no state */
    seen++;
    if (ev->type == E_PLAIN)
        h_report(REP_EVENT, id, ev->arg, 0);
    if (ev->arg != id)
        return 0;
    if (ev->type == E_FAIL)
        return ev->reason;
    if (ev->type == E_STOP)
        return GEN_STOP;
    if (ev->type == E_PANIC)
        cl_panic("handler %llu asked to", (unsigned long long)id);
    return 0;
}

static void h_terminate(void *state, int reason)
{
    hs_t *s = state;
    h_report(REP_TERMINATE, s->id, 0, reason);
    free(s);
}

static const gen_event_handler_t h_a = {.name = "a",
                                        .init = h_init,
                                        .handle_event = h_event,
                                        .terminate = h_terminate};
static const gen_event_handler_t h_b = {.name = "b",
                                        .init = h_init,
                                        .handle_event = h_event,
                                        .terminate = h_terminate};
static const gen_event_handler_t h_bare = {.name = "bare",
                                           .handle_event = h_event};

/* Swapped out: the state goes to the new handler as id * 10. */
static void *h_swap_out(void *state, void *arg)
{
    hs_t *s = state;
    h_report(REP_SWAP_OUT, s->id, (uint64_t)(uintptr_t)arg, 0);
    uint64_t *term = malloc(sizeof *term);
    *term = s->id * 10;
    free(s);
    return term;
}

/* Swapped in with arg as id; id 0 fails. */
static int h_swap_in(void *arg, int status, void *term, void **state)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    h_report(REP_SWAP_IN, id, term != NULL ? *(uint64_t *)term : 0, status);
    free(term);
    if (id == 0)
        return REASON_X;
    hs_t *s = malloc(sizeof *s);
    s->id = id;
    *state = s;
    return 0;
}

static void h_format(void *state, char *buf, size_t len)
{
    snprintf(buf, len, "id=%llu", (unsigned long long)((hs_t *)state)->id);
}

static const gen_event_handler_t h_s = {.name = "s",
                                        .init = h_init,
                                        .handle_event = h_event,
                                        .terminate = h_terminate,
                                        .swap_out = h_swap_out,
                                        .swap_in = h_swap_in,
                                        .format_status = h_format};
static const gen_event_handler_t h_t = {.name = "t",
                                        .init = h_init,
                                        .handle_event = h_event,
                                        .terminate = h_terminate,
                                        .swap_out = h_swap_out,
                                        .swap_in = h_swap_in};

static rt_pid_t mgr;

static void setup(void)
{
    rtt_setup();
    seen = 0;
    cr_assert_eq(gen_event_start(rtt_rt, NULL, NULL, &mgr), 0);
}

TestSuite(gen_event, .init = setup, .fini = rtt_teardown, .timeout = 60);

static void add(const gen_event_handler_t *h, uint64_t id)
{
    int rc = gen_event_add_handler_sync(rtt_rt, mgr, h, (void *)(uintptr_t)id);
    cr_assert_eq(rc, 0, "add: %s", cleo_err_name(rc));
}

static rt_msg_t *ev(uint32_t type, uint64_t arg, int reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    return m;
}

static void expect_event(uint64_t id, uint64_t arg)
{
    rtt_report_t r = rtt_expect(REP_EVENT, 0);
    cr_assert_eq(r.other, id, "handler %llu saw it, expected %llu",
                 (unsigned long long)r.other, (unsigned long long)id);
    cr_assert_eq(r.ref, arg);
}

static void expect_terminate(uint64_t id, int reason)
{
    rtt_report_t r = rtt_expect(REP_TERMINATE, 0);
    cr_assert_eq(r.other, id);
    cr_assert_eq(r.reason, reason, "terminate saw %s, expected %s",
                 rt_reason_name(r.reason), rt_reason_name(reason));
}

Test(gen_event, a_new_manager_has_no_handlers)
{
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}

Test(gen_event, notify_reaches_every_handler_in_the_order_added)
{
    add(&h_a, 1);
    add(&h_b, 2);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 2);
    for (uint64_t i = 0; i < 10; i++)
        cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, i, 0)), 0);
    for (uint64_t i = 0; i < 10; i++) {
        expect_event(1, i);
        expect_event(2, i);
    }
}

Test(gen_event, sync_notify_returns_after_every_handler_ran)
{
    add(&h_a, 1);
    add(&h_b, 2);
    add(&h_bare, 3);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(
            gen_event_sync_notify(rtt_rt, mgr, ev(E_PLAIN + 50, 9, 0), 5000),
            0);
        cr_assert_eq(seen, 3 * (i + 1));
    }
}

Test(gen_event, adding_the_same_handler_twice_is_eexist)
{
    add(&h_a, 1);
    cr_assert_eq(gen_event_add_handler_sync(rtt_rt, mgr, &h_a, (void *)2),
                 CLEO_EEXIST);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
}

Test(gen_event, failing_init_returns_its_error_and_adds_nothing)
{
    cr_assert_eq(gen_event_add_handler_sync(rtt_rt, mgr, &h_a, (void *)0),
                 REASON_X);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
    rtt_expect_none(REP_TERMINATE, 0, RTT_QUIET_MS);
}

Test(gen_event, delete_runs_terminate_with_normal)
{
    add(&h_a, 1);
    add(&h_b, 2);
    cr_assert_eq(gen_event_delete_handler_sync(rtt_rt, mgr, &h_a), 0);
    expect_terminate(1, RT_REASON_NORMAL);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
    cr_assert_eq(gen_event_delete_handler_sync(rtt_rt, mgr, &h_a),
                 CLEO_ENOTFOUND);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 5, 0)), 0);
    expect_event(2, 5);
}

Test(gen_event, a_failing_handler_is_removed_and_the_manager_lives)
{
    add(&h_a, 1);
    add(&h_b, 2);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_FAIL, 1, REASON_X)), 0);
    expect_terminate(1, REASON_X);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 7, 0)), 0);
    expect_event(2, 7);
    rtt_expect_none(REP_EVENT, 0, RTT_QUIET_MS);
}

Test(gen_event, a_panicking_handler_is_removed_with_epanic)
{
    add(&h_a, 1);
    add(&h_b, 2);
    cr_assert_eq(gen_event_sync_notify(rtt_rt, mgr, ev(E_PANIC, 2, 0), 5000),
                 0);
    expect_terminate(2, CLEO_EPANIC);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
    cr_assert(rt_is_alive(rtt_rt, mgr));
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 8, 0)), 0);
    expect_event(1, 8);
}

Test(gen_event, a_handler_returning_stop_is_removed_with_normal)
{
    add(&h_a, 1);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_STOP, 1, 0)), 0);
    expect_terminate(1, RT_REASON_NORMAL);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}

Test(gen_event, stopping_the_manager_terminates_its_handlers)
{
    add(&h_a, 1);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, mgr, RT_REASON_SHUTDOWN, 5000),
                 0);
    expect_terminate(1, RT_REASON_SHUTDOWN);
    rtt_expect_gone(mgr);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), CLEO_ENOPROC);
    cr_assert_eq(gen_event_add_handler_sync(rtt_rt, mgr, &h_b, (void *)2),
                 CLEO_ENOPROC);
    cr_assert_eq(gen_event_sync_notify(rtt_rt, mgr, ev(E_PLAIN, 1, 0), 100),
                 CLEO_ENOPROC);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 1, 0)),
                 CLEO_ENOPROC);
}

Test(gen_event, add_without_waiting_then_the_handler_sees_events)
{
    cr_assert_eq(gen_event_add_handler(rtt_rt, mgr, &h_a, (void *)1), 0);
    cr_assert_eq(gen_event_add_handler(rtt_rt, mgr, &h_a, (void *)1), 0);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 3, 0)), 0);
    expect_event(1, 3);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
}

Test(gen_event, registered_manager_and_bad_input)
{
    gen_opts_t o = {.name = "events", .sched = RT_SCHED_ANY};
    rt_pid_t named = RT_PID_NONE;
    cr_assert_eq(gen_event_start(rtt_rt, NULL, &o, &named), 0);
    cr_assert_eq(rt_whereis(rtt_rt, "events"), named);
    cr_assert_eq(gen_event_start(rtt_rt, NULL, &o, NULL), CLEO_EEXIST);
    static const gen_event_handler_t nameless = {.handle_event = h_event};
    static const gen_event_handler_t no_event = {.name = "x"};
    cr_assert_eq(gen_event_add_handler_sync(rtt_rt, mgr, NULL, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_event_add_handler_sync(rtt_rt, mgr, &nameless, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_event_add_handler_sync(rtt_rt, mgr, &no_event, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_event_add_handler(rtt_rt, mgr, NULL, NULL), CLEO_EINVAL);
    cr_assert_eq(gen_event_delete_handler_sync(rtt_rt, mgr, NULL), CLEO_EINVAL);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, NULL), CLEO_EINVAL);
    cr_assert_eq(gen_event_sync_notify(rtt_rt, mgr, NULL, 10), CLEO_EINVAL);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}

/* ---- swap_handler ---------------------------------------------------- */

Test(gen_event, swap_hands_the_old_handlers_state_to_the_new_one)
{
    add(&h_a, 1);
    add(&h_s, 2);
    add(&h_b, 3);
    cr_assert_eq(gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, (void *)7, &h_t,
                                             (void *)4),
                 0);
    rtt_report_t r = rtt_expect(REP_SWAP_OUT, 0);
    cr_assert_eq(r.other, 2);
    cr_assert_eq(r.ref, 7); /* swap_out's argument */
    r = rtt_expect(REP_SWAP_IN, 0);
    cr_assert_eq(r.other, 4);
    cr_assert_eq(r.ref, 20); /* what swap_out returned */
    cr_assert_eq(r.reason, 0);
    rtt_expect_none(REP_TERMINATE, 0, RTT_QUIET_MS); /* not terminated */
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 3);
    /* The new handler has the old one's place in the order. */
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 9, 0)), 0);
    expect_event(1, 9);
    expect_event(4, 9);
    expect_event(3, 9);
}

Test(gen_event, swap_without_swap_out_terminates_with_swapped_and_inits)
{
    add(&h_a, 1);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_a, NULL, &h_b, (void *)2),
        0);
    expect_terminate(1, GEN_EVENT_SWAPPED);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 5, 0)), 0);
    expect_event(2, 5);
    rtt_expect_none(REP_EVENT, 0, RTT_QUIET_MS);
}

Test(gen_event, swap_adds_the_new_handler_even_if_the_old_is_not_there)
{
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, NULL, &h_t, (void *)4),
        0);
    rtt_report_t r = rtt_expect(REP_SWAP_IN, 0);
    cr_assert_eq(r.other, 4);
    cr_assert_eq(r.reason, CLEO_ENOTFOUND);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
}

Test(gen_event, swap_removes_the_old_handler_even_if_the_new_init_fails)
{
    add(&h_s, 2);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, NULL, &h_t, (void *)0),
        REASON_X);
    rtt_expect(REP_SWAP_OUT, 0);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}

Test(gen_event, swap_to_a_handler_already_there_changes_nothing)
{
    add(&h_s, 2);
    add(&h_t, 3);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, NULL, &h_t, (void *)4),
        CLEO_EEXIST);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 2);
    rtt_expect_none(REP_SWAP_OUT, 0, RTT_QUIET_MS);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, NULL, NULL, &h_t, NULL),
        CLEO_EINVAL);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, NULL, NULL, NULL),
        CLEO_EINVAL);
}

Test(gen_event, no_event_is_lost_or_seen_twice_across_a_swap)
{
    add(&h_s, 2);
    for (uint64_t i = 1; i <= 50; i++)
        cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, i, 0)), 0);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, NULL, &h_t, (void *)4),
        0);
    for (uint64_t i = 51; i <= 100; i++)
        cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, i, 0)), 0);
    for (uint64_t i = 1; i <= 100; i++)
        expect_event(i <= 50 ? 2 : 4, i);
    rtt_expect_none(REP_EVENT, 0, RTT_QUIET_MS);
}

/* ---- supervised handlers ------------------------------------------------ */

/* A GEN_EVENT_MSG_EXIT for owner ib about h with reason. */
static const gen_event_exit_t *expect_exit(rt_inbox_t *ib, rt_msg_t **m,
                                           const gen_event_handler_t *h,
                                           int reason)
{
    int rc = rt_inbox_recv(ib, RTT_WAIT_MS, m);
    cr_assert_eq(rc, 0, "no gen_event_EXIT: %s", cleo_err_name(rc));
    cr_assert_eq((*m)->type, GEN_EVENT_MSG_EXIT);
    cr_assert_eq((*m)->from, mgr);
    cr_assert_eq((*m)->arg, (uint64_t)(uintptr_t)h);
    cr_assert_eq((*m)->reason, reason, "reason %s, expected %s",
                 rt_reason_name((*m)->reason), rt_reason_name(reason));
    const gen_event_exit_t *x = (*m)->payload;
    cr_assert_eq(x->handler, h);
    return x;
}

static void expect_quiet(rt_inbox_t *ib)
{
    rt_msg_t *m;
    cr_assert_eq(rt_inbox_recv(ib, RTT_QUIET_MS, &m), CLEO_ETIMEDOUT);
}

static rt_inbox_t *owner_new(void)
{
    rt_inbox_t *ib;
    cr_assert_eq(rt_inbox_new(rtt_rt, &ib), 0);
    return ib;
}

static void add_sup(const gen_event_handler_t *h, uint64_t id, rt_inbox_t *ib)
{
    int rc = gen_event_add_sup_handler_sync(
        rtt_rt, mgr, h, (void *)(uintptr_t)id, rt_inbox_pid(ib));
    cr_assert_eq(rc, 0, "add_sup: %s", cleo_err_name(rc));
}

Test(gen_event, the_owner_is_told_when_its_handler_fails_or_panics)
{
    rt_inbox_t *ib = owner_new();
    rt_msg_t *m;
    add_sup(&h_a, 1, ib);
    add_sup(&h_b, 2, ib);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_FAIL, 1, REASON_X)), 0);
    expect_exit(ib, &m, &h_a, REASON_X);
    rt_msg_free(m);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PANIC, 2, 0)), 0);
    expect_exit(ib, &m, &h_b, CLEO_EPANIC);
    rt_msg_free(m);
    expect_terminate(1, REASON_X);
    expect_terminate(2, CLEO_EPANIC);
    rt_inbox_free(ib);
}

Test(gen_event, the_owner_is_told_normal_on_delete_and_on_stop)
{
    rt_inbox_t *ib = owner_new();
    rt_msg_t *m;
    add_sup(&h_a, 1, ib);
    add_sup(&h_b, 2, ib);
    cr_assert_eq(gen_event_delete_handler_sync(rtt_rt, mgr, &h_a), 0);
    expect_exit(ib, &m, &h_a, RT_REASON_NORMAL);
    rt_msg_free(m);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_STOP, 2, 0)), 0);
    expect_exit(ib, &m, &h_b, RT_REASON_NORMAL);
    rt_msg_free(m);
    rt_inbox_free(ib);
}

Test(gen_event, the_owner_is_told_shutdown_when_the_manager_stops)
{
    rt_inbox_t *ib = owner_new();
    rt_msg_t *m;
    add(&h_b, 2); /* unsupervised: nobody to tell */
    add_sup(&h_a, 1, ib);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, mgr, REASON_X, 5000), 0);
    expect_exit(ib, &m, &h_a, RT_REASON_SHUTDOWN);
    rt_msg_free(m);
    expect_quiet(ib);
    expect_terminate(1, REASON_X); /* terminate sees the manager's reason */
    rt_inbox_free(ib);
}

Test(gen_event, a_supervised_handler_goes_when_its_owner_dies)
{
    rt_inbox_t *ib = owner_new();
    add(&h_b, 2);
    add_sup(&h_a, 1, ib);
    rt_inbox_free(ib); /* the owner goes, with reason normal */
    expect_terminate(1, RT_REASON_NORMAL);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_PLAIN, 3, 0)), 0);
    expect_event(2, 3);
    rtt_expect_none(REP_EVENT, 0, RTT_QUIET_MS);
}

Test(gen_event, a_supervised_handler_of_a_dead_owner_goes_with_noproc)
{
    rt_inbox_t *ib = owner_new();
    rt_pid_t dead = rt_inbox_pid(ib);
    rt_inbox_free(ib);
    rtt_expect_gone(dead);
    cr_assert_eq(
        gen_event_add_sup_handler_sync(rtt_rt, mgr, &h_a, (void *)1, dead), 0);
    expect_terminate(1, RT_REASON_NOPROC);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
    cr_assert_eq(gen_event_add_sup_handler_sync(rtt_rt, mgr, &h_a, (void *)1,
                                                RT_PID_NONE),
                 CLEO_EINVAL);
}

Test(gen_event, a_swap_tells_the_owner_and_keeps_it_for_the_new_handler)
{
    rt_inbox_t *ib = owner_new();
    rt_msg_t *m;
    add_sup(&h_s, 2, ib);
    cr_assert_eq(
        gen_event_swap_handler_sync(rtt_rt, mgr, &h_s, NULL, &h_t, (void *)4),
        0);
    const gen_event_exit_t *x = expect_exit(ib, &m, &h_s, GEN_EVENT_SWAPPED);
    cr_assert_eq(x->swapped_to, &h_t);
    cr_assert_eq(x->new_owner, RT_PID_NONE);
    rt_msg_free(m);
    /* The owner now supervises the new handler. */
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, ev(E_FAIL, 4, REASON_X)), 0);
    expect_exit(ib, &m, &h_t, REASON_X);
    rt_msg_free(m);
    rt_inbox_free(ib);
}

Test(gen_event, swap_sup_moves_the_supervision_to_the_new_owner)
{
    rt_inbox_t *a = owner_new(), *b = owner_new();
    rt_msg_t *m;
    add_sup(&h_s, 2, a);
    cr_assert_eq(gen_event_swap_sup_handler_sync(rtt_rt, mgr, &h_s, NULL, &h_t,
                                                 (void *)4, rt_inbox_pid(b)),
                 0);
    const gen_event_exit_t *x = expect_exit(a, &m, &h_s, GEN_EVENT_SWAPPED);
    cr_assert_eq(x->swapped_to, &h_t);
    cr_assert_eq(x->new_owner, rt_inbox_pid(b));
    rt_msg_free(m);
    rt_inbox_free(a); /* the old owner's death no longer matters */
    rtt_expect_none(REP_TERMINATE, 0, RTT_QUIET_MS);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
    rt_inbox_free(b); /* the new owner's does */
    expect_terminate(4, RT_REASON_NORMAL);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}

/* An actor that adds a supervised handler (cast ADD_SELF: arg = the
 * handler's id, reason 1 for h_b) and reports the GEN_EVENT_MSG_EXITs it
 * gets; CRASH makes it exit with its reason. */
enum { O_ADD = E_STOP + 1, O_CRASH };

static int own_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    if (m->type == O_ADD)
        return gen_event_add_sup_handler(self, mgr, m->reason ? &h_b : &h_a,
                                         (void *)(uintptr_t)m->arg);
    if (m->type == O_CRASH)
        return m->reason;
    if (m->type == GEN_EVENT_MSG_EXIT) {
        const gen_event_exit_t *x = m->payload;
        h_report(REP_OWNER, x->handler == &h_a ? 1 : 2, 0, m->reason);
    }
    return 0;
}

static int own_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    return 0;
}

static const gen_server_cbs_t own_cbs = {
    .name = "owner", .handle_call = own_call, .handle_info = own_info};

Test(gen_event, an_actor_adding_without_waiting_hears_of_a_failed_add)
{
    rt_pid_t o;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &own_cbs, NULL, NULL, &o), 0);
    rtt_post(o, O_ADD, 1, 0);
    rtt_post(o, O_ADD, 1, 0); /* h_a again */
    rtt_report_t r = rtt_expect(REP_OWNER, 0);
    cr_assert_eq(r.other, 1);
    cr_assert_eq(r.reason, CLEO_EEXIST);
    rtt_post(o, O_ADD, 0, 1); /* h_b whose init fails */
    r = rtt_expect(REP_OWNER, 0);
    cr_assert_eq(r.other, 2);
    cr_assert_eq(r.reason, REASON_X);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 1);
    rtt_post(o, O_CRASH, 0, REASON_X); /* the owner dies: h_a goes */
    expect_terminate(1, REASON_X);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}

/* ---- sys:get_status --------------------------------------------------- */

Test(gen_event, the_manager_answers_get_status_with_its_handlers)
{
    rt_inbox_t *ib = owner_new();
    add(&h_a, 1);
    add_sup(&h_s, 2, ib);
    char *text = NULL;
    int rc = gen_get_status_sync(rtt_rt, mgr, 5000, &text);
    cr_assert_eq(rc, 0, "get_status: %s", cleo_err_name(rc));
    char want[128], pb[32];
    snprintf(want, sizeof want,
             "gen_event\nstatus: running\nparent: none\nhandlers: 2\n"
             "  a\n  s (supervised by %s): id=2",
             rt_pid_fmt(rt_inbox_pid(ib), pb, sizeof pb));
    cr_assert_str_eq(text, want);
    free(text);
    rt_inbox_free(ib);
}
