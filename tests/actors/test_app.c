/*
 * test_app.c - applications: app_start runs the spec's start on the
 * calling thread and watches the top; app_wait returns when the top exits
 * (with its reason) or times out; app_stop shuts the top down and waits
 * until it is gone; app_free stops a running application.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define REASON_X (-4242)

enum { T_CRASH = RTT_CMD_BASE };
enum { REP_TERMINATE = RTT_REP_BASE };

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
