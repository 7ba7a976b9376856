/*
 * test_app.c - applications: app_start runs the spec's start on the
 * calling thread and watches the top; app_wait returns when the top exits
 * (with its reason) or times out; app_stop shuts the top down and waits
 * until it is gone; app_free stops a running application. The
 * application controller starts an application after the ones it depends
 * on (each once; an unknown dependency or a cycle starts nothing) and
 * stops in reverse dependency order.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define REASON_X (-4242)

enum { T_CRASH = RTT_CMD_BASE };
enum { REP_TERMINATE = RTT_REP_BASE, REP_START, REP_STOP };

static int top_init(rt_actor_t *self, void *arg, void **state)
{
    *state = arg;
    return 0;
}

static int top_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    return 0;
}

static int top_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    return m->type == T_CRASH ? m->reason : 0;
}

static void top_terminate(rt_actor_t *self, void *state, int reason)
{
    rtt_report_t rep = {REP_TERMINATE, rt_self(self), 0, 0, reason};
    rtt_report(rt_actor_rt(self), rtt_ibp, &rep);
}

static const gen_server_cbs_t top_cbs = {.name = "app_top",
                                         .init = top_init,
                                         .handle_call = top_call,
                                         .handle_cast = top_cast,
                                         .terminate = top_terminate};

static int start_top(rt_t *rt, void *arg, rt_pid_t *top)
{
    gen_opts_t o = {.name = "app_top", .sched = RT_SCHED_ANY};
    return gen_server_start(rt, NULL, &top_cbs, arg, &o, top);
}

static int start_fails(rt_t *rt, void *arg, rt_pid_t *top)
{
    return REASON_X;
}

static const app_spec_t spec = {.name = "test", .start = start_top};
static const app_spec_t bad_spec = {.name = "bad", .start = start_fails};

TestSuite(app, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

Test(app, start_runs_the_spec_and_top_names_the_supervisor)
{
    app_t *app = NULL;
    cr_assert_eq(app_start(rtt_rt, &spec, &app), 0);
    cr_assert_neq(app_top(app), RT_PID_NONE);
    cr_assert_eq(rt_whereis(rtt_rt, "app_top"), app_top(app));
    app_free(app);
}

Test(app, a_failing_start_returns_its_error)
{
    app_t *app = NULL;
    cr_assert_eq(app_start(rtt_rt, &bad_spec, &app), REASON_X);
    cr_assert_null(app);
    static const app_spec_t no_start = {.name = "x"};
    cr_assert_eq(app_start(rtt_rt, &no_start, &app), CLEO_EINVAL);
    cr_assert_eq(app_start(rtt_rt, NULL, &app), CLEO_EINVAL);
}

Test(app, wait_times_out_while_the_top_runs)
{
    app_t *app = NULL;
    cr_assert_eq(app_start(rtt_rt, &spec, &app), 0);
    int reason = 1;
    cr_assert_eq(app_wait(app, 30, &reason), CLEO_ETIMEDOUT);
    cr_assert_eq(reason, 1);
    app_free(app);
    rtt_expect(REP_TERMINATE, 0);
}

Test(app, wait_returns_the_reason_the_top_exited_with)
{
    app_t *app = NULL;
    cr_assert_eq(app_start(rtt_rt, &spec, &app), 0);
    rt_msg_t *m = rt_msg_new(T_CRASH);
    m->reason = REASON_X;
    cr_assert_eq(gen_server_cast(rtt_rt, app_top(app), m), 0);
    int reason = 0;
    cr_assert_eq(app_wait(app, 5000, &reason), 0);
    cr_assert_eq(reason == REASON_X || reason == RT_REASON_NOPROC, 1);
    cr_assert_eq(app_wait(app, 0, &reason), 0); /* and stays done */
    cr_assert_eq(app_stop(app, 1000), 0);
    app_free(app);
}

Test(app, stop_shuts_the_top_down_and_waits_until_it_is_gone)
{
    app_t *app = NULL;
    cr_assert_eq(app_start(rtt_rt, &spec, &app), 0);
    rt_pid_t top = app_top(app);
    cr_assert_eq(app_stop(app, 5000), 0);
    cr_assert_eq(rtt_expect(REP_TERMINATE, top).reason, RT_REASON_SHUTDOWN);
    cr_assert_not(rt_is_alive(rtt_rt, top));
    cr_assert_eq(rt_whereis(rtt_rt, "app_top"), RT_PID_NONE);
    int reason = 0;
    cr_assert_eq(app_wait(app, 0, &reason), 0);
    cr_assert(reason == RT_REASON_SHUTDOWN || reason == RT_REASON_NOPROC);
    app_free(app);
    app_free(NULL);
}

/* ---- dependencies: the application controller ---------------------- */

/* Each application's top reports REP_START and REP_STOP with its id (the
 * spec's arg); id 99 fails to start, and id 50's top traps exits and so
 * ignores the shutdown signal of a stop. */
static int dep_init(rt_actor_t *self, void *arg, void **state)
{
    rtt_report_t rep = {REP_START, 0, (uint64_t)(uintptr_t)arg, 0, 0};
    rtt_report(rt_actor_rt(self), rtt_ibp, &rep);
    *state = arg;
    return 0;
}

static void dep_terminate(rt_actor_t *self, void *state, int reason)
{
    rtt_report_t rep = {REP_STOP, 0, (uint64_t)(uintptr_t)state, 0, reason};
    rtt_report(rt_actor_rt(self), rtt_ibp, &rep);
}

static const gen_server_cbs_t dep_cbs = {.name = "dep_top",
                                         .init = dep_init,
                                         .handle_call = top_call,
                                         .terminate = dep_terminate};

static int dep_start(rt_t *rt, void *arg, rt_pid_t *top)
{
    if ((uintptr_t)arg == 99)
        return REASON_X;
    gen_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = (uintptr_t)arg == 50};
    return gen_server_start(rt, NULL, &dep_cbs, arg, &o, top);
}

#define APP(id_, name_, ...)                                                   \
    static const app_spec_t name_ = {                                          \
        .name = #name_,                                                        \
        .start = dep_start,                                                    \
        .arg = (void *)(uintptr_t)(id_),                                       \
        .deps = (const char *const[]){__VA_ARGS__, NULL}}

/* kernel <- stdlib <- sasl, and web needs sasl and stdlib (a diamond). */
static const app_spec_t kernel = {
    .name = "kernel", .start = dep_start, .arg = (void *)1};
APP(2, stdlib, "kernel");
APP(3, sasl, "kernel", "stdlib");
APP(4, web, "sasl", "stdlib");
APP(5, lost, "kernel", "nowhere"); /* an unknown dependency */
APP(6, ping, "kernel", "pong");    /* ping <-> pong: a cycle */
APP(7, pong, "ping");
APP(8, narcissus, "narcissus"); /* depends on itself */
APP(99, broken, "kernel");      /* its start fails */
APP(9, on_broken, "stdlib", "broken");
APP(50, stubborn, "kernel"); /* will not stop when asked */

static const app_spec_t *const all[] = {
    &web,  &sasl,      &stdlib, &kernel,    &lost,    &ping,
    &pong, &narcissus, &broken, &on_broken, &stubborn};
#define NALL (sizeof all / sizeof *all)

static app_ctl_t *ctl_new(void)
{
    app_ctl_t *c = NULL;
    cr_assert_eq(app_ctl_new(rtt_rt, all, NALL, &c), 0);
    return c;
}

static void expect_ids(uint32_t kind, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rtt_report_t r = rtt_expect(kind, 0);
        cr_assert_eq(r.other, ids[i], "%s #%zu: app %llu, expected %llu",
                     kind == REP_START ? "start" : "stop", i,
                     (unsigned long long)r.other, (unsigned long long)ids[i]);
    }
    rtt_expect_none(kind, 0, RTT_QUIET_MS);
}

static void expect_running(app_ctl_t *c, const char *const *names, size_t n)
{
    const char *got[NALL];
    cr_assert_eq(app_ctl_which(c, got, NALL), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(got[i], names[i]);
}

Test(app, start_starts_the_dependencies_first_each_once)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "web"), 0);
    static const uint64_t order[] = {1, 2, 3, 4};
    expect_ids(REP_START, order, 4);
    static const char *const names[] = {"kernel", "stdlib", "sasl", "web"};
    expect_running(c, names, 4);
    cr_assert_not_null(app_ctl_app(c, "sasl"));
    cr_assert_null(app_ctl_app(c, "ping"));
    app_ctl_free(c);
}

Test(app, running_dependencies_are_not_started_again)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "stdlib"), 0);
    static const uint64_t first[] = {1, 2};
    expect_ids(REP_START, first, 2);
    cr_assert_eq(app_ctl_start(c, "web"), 0);
    static const uint64_t then[] = {3, 4};
    expect_ids(REP_START, then, 2);
    cr_assert_eq(app_ctl_start(c, "web"), 0); /* already running */
    rtt_expect_none(REP_START, 0, RTT_QUIET_MS);
    app_ctl_free(c);
}

Test(app, an_unknown_dependency_starts_nothing)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "lost"), CLEO_ENOTFOUND);
    cr_assert_eq(app_ctl_start(c, "nowhere"), CLEO_ENOTFOUND);
    rtt_expect_none(REP_START, 0, RTT_QUIET_MS); /* not even kernel */
    cr_assert_eq(app_ctl_which(c, NULL, 0), 0);
    app_ctl_free(c);
}

Test(app, a_dependency_cycle_starts_nothing)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "ping"), CLEO_EINVAL);
    cr_assert_eq(app_ctl_start(c, "pong"), CLEO_EINVAL);
    cr_assert_eq(app_ctl_start(c, "narcissus"), CLEO_EINVAL);
    rtt_expect_none(REP_START, 0, RTT_QUIET_MS);
    cr_assert_eq(app_ctl_which(c, NULL, 0), 0);
    app_ctl_free(c);
}

Test(app, a_failed_start_stops_what_this_start_started)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "kernel"), 0);
    rtt_expect(REP_START, 0);
    cr_assert_eq(app_ctl_start(c, "on_broken"), REASON_X);
    static const uint64_t started[] = {2}; /* stdlib, then broken fails */
    expect_ids(REP_START, started, 1);
    static const uint64_t stopped[] = {2};
    expect_ids(REP_STOP, stopped, 1);
    static const char *const names[] = {"kernel"}; /* as before */
    expect_running(c, names, 1);
    app_ctl_free(c);
}

Test(app, stop_all_goes_in_reverse_dependency_order)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "web"), 0);
    cr_assert_eq(app_ctl_stop_all(c, 5000), 0);
    static const uint64_t order[] = {4, 3, 2, 1};
    expect_ids(REP_STOP, order, 4);
    cr_assert_eq(app_ctl_which(c, NULL, 0), 0);
    app_ctl_free(c);
}

Test(app, stopping_one_stops_its_dependents_first_and_nothing_else)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "web"), 0);
    cr_assert_eq(app_ctl_stop(c, "stdlib", 5000), 0);
    static const uint64_t order[] = {4, 3, 2};
    expect_ids(REP_STOP, order, 3);
    static const char *const names[] = {"kernel"};
    expect_running(c, names, 1);
    cr_assert_eq(app_ctl_stop(c, "web", 5000), 0); /* not running */
    cr_assert_eq(app_ctl_stop(c, "nowhere", 5000), CLEO_ENOTFOUND);
    app_ctl_free(c); /* stops kernel */
    static const uint64_t last[] = {1};
    expect_ids(REP_STOP, last, 1);
}

Test(app, an_application_that_will_not_stop_is_killed_after_the_timeout)
{
    app_ctl_t *c = ctl_new();
    cr_assert_eq(app_ctl_start(c, "stubborn"), 0);
    cr_assert_eq(app_ctl_stop_all(c, 50), CLEO_ETIMEDOUT);
    rtt_report_t r = rtt_expect(REP_STOP, 0);
    cr_assert_eq(r.other, 50);
    cr_assert_eq(r.reason, RT_REASON_KILLED);
    r = rtt_expect(REP_STOP, 0); /* then kernel, asked nicely */
    cr_assert_eq(r.other, 1);
    cr_assert_eq(r.reason, RT_REASON_SHUTDOWN);
    app_ctl_free(c);
}

Test(app, a_controller_refuses_bad_specs)
{
    app_ctl_t *c = NULL;
    static const app_spec_t twin = {.name = "kernel", .start = dep_start};
    static const app_spec_t *const dup[] = {&kernel, &twin};
    static const app_spec_t empty = {0};
    static const app_spec_t *const nameless[] = {&bad_spec, &spec, &empty};
    cr_assert_eq(app_ctl_new(rtt_rt, dup, 2, &c), CLEO_EINVAL);
    cr_assert_eq(app_ctl_new(rtt_rt, nameless, 3, &c), CLEO_EINVAL);
    cr_assert_eq(app_ctl_new(rtt_rt, NULL, 1, &c), CLEO_EINVAL);
    cr_assert_null(c);
    cr_assert_eq(app_ctl_start(NULL, "kernel"), CLEO_EINVAL);
    app_ctl_free(NULL);
}
