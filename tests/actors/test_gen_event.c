/*
 * test_gen_event.c - gen_event as OTP documents it: handlers are added
 * once each and see every event in the order they were added; notify is
 * asynchronous and sync_notify returns after every handler ran; a handler
 * that returns an error, GEN_STOP or panics is removed (its terminate runs)
 * while the manager and the other handlers go on; stopping the manager
 * terminates the handlers left.
 */
#include <criterion/criterion.h>
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

static const gen_event_handler_t h_a = {
    .name = "a", .init = h_init, .handle_event = h_event,
    .terminate = h_terminate};
static const gen_event_handler_t h_b = {
    .name = "b", .init = h_init, .handle_event = h_event,
    .terminate = h_terminate};
static const gen_event_handler_t h_bare = {.name = "bare",
                                           .handle_event = h_event};

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
        cr_assert_eq(gen_event_sync_notify(rtt_rt, mgr, ev(E_PLAIN + 50, 9, 0),
                                           5000),
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
    cr_assert_eq(gen_event_delete_handler_sync(rtt_rt, mgr, NULL),
                 CLEO_EINVAL);
    cr_assert_eq(gen_event_notify(rtt_rt, mgr, NULL), CLEO_EINVAL);
    cr_assert_eq(gen_event_sync_notify(rtt_rt, mgr, NULL, 10), CLEO_EINVAL);
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, mgr), 0);
}
