/*
 * test_shutdown.c - how a supervisor stops children: its own shutdown in
 * reverse start order (also through nested supervisors), the shutdown
 * timeout then kill, brutal_kill, infinity, simple_one_for_one children
 * stopped together, and the supervisor staying responsive (no blocking)
 * while it waits.
 */
#include "supt.c"

#define X (-7002)

TestSuite(sup_shutdown, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const sup_child_spec_t plain4[] = {PERM("a", 1), PERM("b", 2),
                                          PERM("c", 3), PERM("d", 4)};
static const int started4[] = {1, 2, 3, 4};
static const int reverse4[] = {4, 3, 2, 1};

Test(sup_shutdown, stops_children_in_reverse_start_order)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, plain4, 4};
    rt_pid_t sup = start_sup(&spec, "order_sup");
    expect_order(REP_START, started4, 4);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    for (int i = 0; i < 4; i++) {
        rep_t r = expect(REP_DESTROY, -1);
        cr_assert_eq(r.tag, reverse4[i]);
        cr_assert_eq(r.reason, RT_REASON_SHUTDOWN);
    }
    cr_assert_eq(rt_whereis(T_rt, "order_sup"), RT_PID_NONE);
}

static const sup_child_spec_t trapping4[] = {
    CHILD("a", WT[1], SUP_PERMANENT, 1000),
    CHILD("b", WT[2], SUP_PERMANENT, 1000),
    CHILD("c", WT[3], SUP_PERMANENT, 1000),
    CHILD("d", WT[4], SUP_PERMANENT, 1000)};

Test(sup_shutdown, trapping_children_get_shutdown_one_after_another)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ALL, 3, 60000}, trapping4, 4};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, started4, 4);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    for (int i = 0; i < 4; i++) {
        rep_t r = expect(REP_DESTROY, -1);
        cr_assert_eq(r.tag, reverse4[i]);
        cr_assert_eq(r.reason, RT_REASON_SHUTDOWN);
    }
}

static const sup_child_spec_t stubborn[] = {
    PERM("a", 1), CHILD("slow", WI[2], SUP_PERMANENT, 200), PERM("c", 3)};

Test(sup_shutdown, child_ignoring_shutdown_is_killed_after_its_timeout)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, stubborn, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 3);
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_SHUTDOWN), 0);
    uint64_t t0 = now_ms();
    cr_assert_eq(expect(REP_DESTROY, -1).tag, 3);
    rep_t r = expect(REP_DESTROY, -1);
    cr_assert_eq(r.tag, 2);
    cr_assert_eq(r.reason, RT_REASON_KILLED);
    cr_assert_geq(now_ms() - t0, 190, "killed only after shutdown_ms");
    cr_assert_eq(expect(REP_DESTROY, -1).tag, 1, "and then the next one");
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
}

static const sup_child_spec_t brutal[] = {
    CHILD("b", WT[1], SUP_PERMANENT, SUP_BRUTAL_KILL)};

Test(sup_shutdown, brutal_kill_kills_at_once)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, brutal, 1};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 1);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    /* a trapping child would have exited with shutdown if asked */
    cr_assert_eq(expect(REP_DESTROY, 1).reason, RT_REASON_KILLED);
}

static const sup_child_spec_t forever[] = {
    PERM("a", 1), CHILD("inf", WI[2], SUP_PERMANENT, SUP_INFINITY)};

Test(sup_shutdown, infinity_waits_for_the_child_however_long)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, forever, 2};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 2);
    rt_pid_t inf = pid_of(sup, "inf");
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_SHUTDOWN), 0);
    expect_none(REP_DESTROY, -1, 300);
    cr_assert(rt_is_alive(T_rt, sup), "still waiting for the child");
    cr_assert_eq(rt_exit(T_rt, inf, RT_REASON_KILL), 0);
    cr_assert_eq(expect(REP_DESTROY, -1).tag, 2);
    cr_assert_eq(expect(REP_DESTROY, -1).tag, 1);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
}

Test(sup_shutdown, supervisor_answers_while_it_waits_for_a_child)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, forever, 2};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 2);
    rt_pid_t inf = pid_of(sup, "inf");
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_SHUTDOWN), 0);
    sleep_ms(50);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.specs, 2);
    static const sup_child_spec_t more = PERM("more", 3);
    cr_assert_eq(sup_start_child_sync(T_rt, sup, &more, NULL, NULL),
                 CLEO_ESTATE);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "a", RT_PID_NONE),
                 CLEO_ESTATE);
    cr_assert_eq(rt_exit(T_rt, inf, RT_REASON_KILL), 0);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), CLEO_ENOPROC);
}

/* ---- nested supervisors and the parent's exit ------------------------ */

static const sup_child_spec_t inner_children[] = {PERM("w2", 2), PERM("w3", 3)};
static const sup_spec_t inner_spec = {
    {SUP_ONE_FOR_ONE, 3, 60000}, inner_children, 2};
static const sup_child_sup_t inner_arg = {"inner", &inner_spec};
static const sup_child_spec_t outer_children[] = {PERM("w1", 1),
                                                  {.id = "inner",
                                                   .start = sup_start_child_sup,
                                                   .arg = (void *)&inner_arg,
                                                   .restart = SUP_PERMANENT,
                                                   .type = SUP_SUPERVISOR},
                                                  PERM("w4", 4)};

Test(sup_shutdown, nested_tree_stops_depth_first_in_reverse_order)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ONE, 3, 60000}, outer_children, 3};
    rt_pid_t top = start_sup(&spec, "outer");
    expect_order(REP_START, started4, 4);
    rt_pid_t inner = rt_whereis(T_rt, "inner");
    cr_assert_neq(inner, RT_PID_NONE);
    monitor(inner);
    cr_assert_eq(stop_sup(top), RT_REASON_SHUTDOWN);
    expect_order(REP_DESTROY, reverse4, 4);
    /* the parent's exit signal stopped the inner supervisor */
    cr_assert_eq(expect_down(inner), RT_REASON_SHUTDOWN);
    cr_assert_eq(rt_whereis(T_rt, "inner"), RT_PID_NONE);
}

Test(sup_shutdown, terminate_child_supervisor_stops_its_children_first)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ONE, 3, 60000}, outer_children, 3};
    rt_pid_t top = start_sup(&spec, NULL);
    expect_order(REP_START, started4, 4);
    cr_assert_eq(sup_terminate_child_sync(T_rt, top, "inner", RT_PID_NONE), 0);
    static const int inner_down[] = {3, 2};
    expect_order(REP_DESTROY, inner_down, 2);
    cr_assert_eq(pid_of(top, "inner"), RT_PID_NONE);
    cr_assert_eq(sup_restart_child_sync(T_rt, top, "inner", NULL), 0);
    static const int inner_up[] = {2, 3};
    expect_order(REP_START, inner_up, 2);
    cr_assert_eq(stop_sup(top), RT_REASON_SHUTDOWN);
}

/* ---- simple_one_for_one ------------------------------------------------ */

static const sup_child_spec_t slow_tmpl[] = {
    CHILD("conn", WI[0], SUP_TEMPORARY, 300)};

Test(sup_shutdown, simple_children_are_stopped_together)
{
    static const sup_spec_t spec = {
        {SUP_SIMPLE_ONE_FOR_ONE, 3, 60000}, slow_tmpl, 1};
    rt_pid_t sup = start_sup(&spec, NULL);
    for (int i = 1; i <= 6; i++)
        cr_assert_eq(
            sup_start_child_sync(T_rt, sup, NULL, (void *)(intptr_t)i, NULL),
            0);
    for (int i = 1; i <= 6; i++)
        expect(REP_START, i);
    uint64_t t0 = now_ms();
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    uint64_t took = now_ms() - t0;
    for (int i = 1; i <= 6; i++)
        cr_assert_eq(expect(REP_DESTROY, i).reason, RT_REASON_KILLED);
    cr_assert_lt(took, 6 * 300,
                 "stopped in parallel, not one by one "
                 "(%llu ms)",
                 (unsigned long long)took);
}

/* ---- restarts wait for stopping siblings ------------------------------ */

/* Wait until a one_for_all restart has begun: its children show no pid
 * (queries are answered while the supervisor waits). */
static void restart_begun(rt_pid_t sup)
{
    for (int i = 0; i < 1000 && pid_of(sup, "a") != RT_PID_NONE; i++)
        sleep_ms(1);
    cr_assert_eq(pid_of(sup, "a"), RT_PID_NONE);
}

static const sup_child_spec_t slow_sibling[] = {
    PERM("a", 1), CHILD("slow", WI[2], SUP_PERMANENT, 300), PERM("c", 3)};

Test(sup_shutdown, requests_during_a_restart_are_served_afterwards)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ALL, 3, 60000}, slow_sibling, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 3);
    crash(pid_of(sup, "c"), X);
    restart_begun(sup); /* the supervisor now waits for "slow" to die */
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "a", RT_PID_NONE), 0);
    static const int stopped[] = {3, 2, 1, 1};
    expect_order(REP_DESTROY, stopped, 4);
    cr_assert_eq(pid_of(sup, "a"), RT_PID_NONE);
    cr_assert_neq(pid_of(sup, "c"), RT_PID_NONE);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_shutdown, parent_exit_during_a_restart_stops_everything)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ALL, 3, 60000}, slow_sibling, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 3);
    crash(pid_of(sup, "c"), X);
    restart_begun(sup);
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_SHUTDOWN), 0);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
    /* every child that was started again is stopped again: the reports
     * all came before the supervisor's DOWN */
    int starts = 0, destroys = 0;
    rep_t r;
    while (take(REP_START, -1, 0, &r))
        starts++;
    while (take(REP_DESTROY, -1, 0, &r))
        destroys++;
    cr_assert_eq(starts, 2 + 3,
                 "the two first starts not taken, and 3 restarts");
    cr_assert_eq(destroys, 6, "c, slow, a; then the three restarted");
}
