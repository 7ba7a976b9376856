/*
 * test_api.c - sup_start() and sup_start_child_sup(): children started
 * in order, bad specs refused with nothing started, a child whose start
 * fails making the whole start fail and leaving nothing behind, children
 * that choose not to run, and who may stop a top supervisor.
 */
#include "supt.c"

TestSuite(sup_api, .init = setup, .fini = teardown, .timeout = 120);

static const sup_child_spec_t three[] = {PERM("a", 1), PERM("b", 2),
                                         PERM("c", 3)};
static const int order123[] = {1, 2, 3};

/* Actors alive now (the inbox's proxy is one). */
static uint64_t alive(void)
{
    rt_stats_t st;
    rt_stats(T_rt, &st);
    return st.actors;
}

/* The workers started were these, in order, and each is dead now; soon
 * nothing but the inbox lives (the inbox a failed sup_start waited on
 * closes asynchronously). */
static void nothing_left(const int *tags, int n)
{
    for (int i = 0; i < n; i++) {
        rep_t r = expect(REP_START, -1);
        cr_assert_eq(r.tag, tags[i]);
        cr_assert_not(rt_is_alive(T_rt, r.pid), "worker %d alive", r.tag);
    }
    for (int k = 0; k < 200 && alive() > 1; k++)
        sleep_ms(5);
    cr_assert_eq(alive(), 1);
}

Test(sup_api, children_start_in_order_before_sup_start_returns)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, three, 3};
    rt_pid_t sup;
    cr_assert_eq(sup_start(T_rt, NULL, "my_sup", &spec, &sup), 0);
    cr_assert_eq(alive(), 1 + 1 + 3);
    cr_assert_eq(rt_whereis(T_rt, "my_sup"), sup);
    expect_order(REP_START, order123, 3);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(T_rt, sup, &info), 0);
    cr_assert(info.trap_exit, "a supervisor traps exits");
    cr_assert_str_eq(info.behaviour, "supervisor");
    cr_assert_eq(info.links, 3);
    sup_child_info_t *v;
    cr_assert_eq(children(sup, &v), 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_neq(v[i].pid, RT_PID_NONE);
        cr_assert_eq(v[i].restarts, 0);
    }
    cr_assert_str_eq(v[0].id, "a");
    cr_assert_str_eq(v[2].id, "c");
    free(v);
}

Test(sup_api, empty_supervisor_starts)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, NULL, 0};
    rt_pid_t sup = start_sup(&spec, NULL);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.specs, 0);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- bad specs ------------------------------------------------------- */

static const sup_child_spec_t no_start[] = {
    PERM("a", 1), {.id = "b", .start = NULL, .arg = &W[2]}};
static const sup_child_spec_t dup_ids[] = {PERM("a", 1), PERM("b", 2),
                                           PERM("a", 3)};
static const sup_child_spec_t empty_id[] = {PERM("", 1)};
static const sup_child_spec_t null_id[] = {
    {.id = NULL, .start = worker_start, .arg = &W[1]}};
static const sup_child_spec_t long_id[] = {PERM(
    "0123456789012345678901234567890123456789012345678901234567890123", 1)};
static const sup_child_spec_t bad_restart[] = {
    {.id = "a", .start = worker_start, .arg = &W[1], .restart = 7}};

static void refused(const sup_spec_t *spec)
{
    rt_pid_t sup = 42;
    cr_assert_eq(sup_start(T_rt, NULL, "bad_sup", spec, &sup), CLEO_EINVAL);
    cr_assert_eq(sup, 42, "out untouched on failure");
    cr_assert_eq(rt_whereis(T_rt, "bad_sup"), RT_PID_NONE);
    cr_assert_eq(alive(), 1);
}

Test(sup_api, invalid_specs_are_refused_and_start_nothing)
{
    refused(NULL);
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, no_start, 2});
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, dup_ids, 3});
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, empty_id, 1});
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, null_id, 1});
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, long_id, 1});
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, bad_restart, 1});
    refused(&(sup_spec_t){{SUP_ONE_FOR_ONE, 1, 5000}, NULL, 2});
    refused(&(sup_spec_t){{(sup_strategy_t)9, 1, 5000}, three, 3});
    refused(&(sup_spec_t){{SUP_SIMPLE_ONE_FOR_ONE, 1, 5000}, three, 0});
    refused(&(sup_spec_t){{SUP_SIMPLE_ONE_FOR_ONE, 1, 5000}, three, 2});
    expect_none(REP_START, -1, 50);
}

/* ---- failed starts --------------------------------------------------- */

static const sup_child_spec_t four[] = {PERM("a", 1), PERM("b", 2),
                                        PERM("c", 3), PERM("d", 4)};

Test(sup_api, child_start_failure_fails_the_start_and_leaves_nothing)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, four, 4};
    g_fail_tag = 3;
    g_fail_rc = -4343;
    rt_pid_t sup = 42;
    cr_assert_eq(sup_start(T_rt, NULL, "failing", &spec, &sup), -4343);
    cr_assert_eq(sup, 42);
    cr_assert_eq(rt_whereis(T_rt, "failing"), RT_PID_NONE);
    static const int started[] = {1, 2};
    nothing_left(started, 2);
    static const int stopped[] = {2, 1};
    for (int i = 0; i < 2; i++) {
        rep_t r = expect(REP_DESTROY, -1);
        cr_assert_eq(r.tag, stopped[i], "stopped in reverse order");
        cr_assert_eq(r.reason, RT_REASON_SHUTDOWN);
    }
    expect_none(REP_START, 4, 50);
}

static const sup_child_spec_t stubborn_then_fail[] = {
    CHILD("a", WI[1], SUP_PERMANENT, 100), PERM("b", 2), PERM("c", 3)};

Test(sup_api, failed_start_kills_a_child_that_ignores_shutdown)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ONE, 1, 5000}, stubborn_then_fail, 3};
    g_fail_tag = 3;
    cr_assert_eq(sup_start(T_rt, NULL, NULL, &spec, NULL), g_fail_rc);
    static const int started[] = {1, 2};
    nothing_left(started, 2);
    cr_assert_eq(expect(REP_DESTROY, -1).tag, 2);
    rep_t r = expect(REP_DESTROY, -1);
    cr_assert_eq(r.tag, 1);
    cr_assert_eq(r.reason, RT_REASON_KILLED);
}

Test(sup_api, first_child_failure_starts_nothing)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, three, 3};
    g_fail_tag = 1;
    cr_assert_eq(sup_start(T_rt, NULL, NULL, &spec, NULL), g_fail_rc);
    nothing_left(NULL, 0);
    expect_none(REP_START, -1, 50);
}

/* A nested supervisor whose child fails: the parent's start fails too,
 * and the whole tree is gone. */
static const sup_child_spec_t inner_children[] = {PERM("x", 5), PERM("y", 6)};
static const sup_spec_t inner_spec = {
    {SUP_ONE_FOR_ONE, 1, 5000}, inner_children, 2};
static const sup_child_sup_t inner_arg = {"inner", &inner_spec};
static const sup_child_spec_t outer_children[] = {PERM("w", 1),
                                                  {.id = "inner",
                                                   .start = sup_start_child_sup,
                                                   .arg = (void *)&inner_arg,
                                                   .type = SUP_SUPERVISOR}};

Test(sup_api, nested_failure_fails_the_whole_tree)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ONE, 1, 5000}, outer_children, 2};
    g_fail_tag = 6;
    cr_assert_eq(sup_start(T_rt, NULL, "outer", &spec, NULL), g_fail_rc);
    cr_assert_eq(rt_whereis(T_rt, "outer"), RT_PID_NONE);
    cr_assert_eq(rt_whereis(T_rt, "inner"), RT_PID_NONE);
    static const int started[] = {1, 5};
    nothing_left(started, 2);
    static const int stopped[] = {5, 1};
    expect_order(REP_DESTROY, stopped, 2);
}

Test(sup_api, nested_supervisor_is_linked_and_registered)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ONE, 1, 5000}, outer_children, 2};
    rt_pid_t top = start_sup(&spec, "outer");
    static const int started[] = {1, 5, 6};
    expect_order(REP_START, started, 3);
    rt_pid_t inner = rt_whereis(T_rt, "inner");
    cr_assert_eq(pid_of(top, "inner"), inner);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(T_rt, inner, &info), 0);
    cr_assert_eq(info.links, 3, "parent and two children");
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, top, &k), 0);
    cr_assert_eq(k.supervisors, 1);
    cr_assert_eq(k.workers, 1);
    cr_assert_eq(stop_sup(top), RT_REASON_SHUTDOWN);
}

Test(sup_api, start_child_sup_without_arg_is_invalid)
{
    static const sup_child_spec_t bad[] = {{.id = "s",
                                            .start = sup_start_child_sup,
                                            .arg = NULL,
                                            .type = SUP_SUPERVISOR}};
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, bad, 1};
    cr_assert_eq(sup_start(T_rt, NULL, NULL, &spec, NULL), CLEO_EINVAL);
    cr_assert_eq(alive(), 1);
}

Test(sup_api, name_taken_fails_and_starts_no_child)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, three, 3};
    rt_pid_t sup = start_sup(&spec, "taken");
    expect_order(REP_START, order123, 3);
    cr_assert_eq(sup_start(T_rt, NULL, "taken", &spec, NULL), CLEO_EEXIST);
    expect_none(REP_START, -1, 50);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- children that choose not to run (OTP's ignore) -------------------- */

static const sup_child_spec_t ignoring[] = {
    PERM("a", 1),
    {.id = "perm_ignore", .start = ignore_start, .restart = SUP_PERMANENT},
    {.id = "temp_ignore", .start = ignore_start, .restart = SUP_TEMPORARY}};

Test(sup_api, ignored_child_keeps_its_spec_unless_temporary)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, ignoring, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    cr_assert(child(sup, "perm_ignore", NULL, NULL));
    cr_assert_eq(pid_of(sup, "perm_ignore"), RT_PID_NONE);
    cr_assert_not(child(sup, "temp_ignore", NULL, NULL));
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- who may stop a supervisor --------------------------------------- */

Test(sup_api, top_supervisor_ignores_a_normal_exit_signal)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 5000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_NORMAL), 0);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.active, 3);
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_KILL), 0);
    cr_assert_eq(expect_down(sup), RT_REASON_KILLED);
    /* killed: the runtime's links take the children down */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(expect(REP_DESTROY, -1).reason, RT_REASON_KILLED);
}

Test(sup_api, nested_failure_leaves_nothing_in_deterministic_mode)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        use_det(seed);
        static const sup_spec_t spec = {
            {SUP_ONE_FOR_ONE, 1, 5000}, outer_children, 2};
        g_fail_tag = 6;
        cr_assert_eq(sup_start(T_rt, NULL, "outer", &spec, NULL), g_fail_rc);
        cr_assert_eq(rt_whereis(T_rt, "inner"), RT_PID_NONE);
        static const int started[] = {1, 5};
        nothing_left(started, 2);
        static const int stopped[] = {5, 1};
        expect_order(REP_DESTROY, stopped, 2);
        stop_rt();
    }
}
