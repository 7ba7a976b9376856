/*
 * test_server.c - the supervisor's reactions to its children, as OTP's
 * supervisor documentation states them: the restart strategies, the
 * restart types, restart intensity and period, escalation to the parent
 * supervisor, failed restarts, and determinism under many seeds.
 */
#include "supt.c"

#define X (-7001) /* an application's abnormal exit reason */

TestSuite(sup_server, .init = setup, .fini = teardown, .timeout = 120);

static const sup_child_spec_t three[] = {PERM("a", 1), PERM("b", 2),
                                         PERM("c", 3)};
static const sup_child_spec_t four[] = {PERM("a", 1), PERM("b", 2),
                                        PERM("c", 3), PERM("d", 4)};

static const int order123[] = {1, 2, 3};

/* ---- strategies --------------------------------------------------------- */

Test(sup_server, one_for_one_restarts_only_the_crashed_child)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    rt_pid_t a = pid_of(sup, "a"), b = pid_of(sup, "b"), c = pid_of(sup, "c");
    crash(b, X);
    cr_assert_eq(expect(REP_DESTROY, 2).reason, X);
    rep_t st = expect(REP_START, 2);
    cr_assert_neq(st.pid, b, "the restarted child has a new pid");
    cr_assert_eq(pid_of(sup, "b"), st.pid);
    cr_assert_eq(pid_of(sup, "a"), a);
    cr_assert_eq(pid_of(sup, "c"), c);
    cr_assert_eq(restarts_of(sup, "b"), 1);
    cr_assert_eq(restarts_of(sup, "a"), 0);
    expect_none(REP_DESTROY, -1, 100);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_server, one_for_all_stops_others_in_reverse_then_restarts_all)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ALL, 3, 60000}, four, 4};
    rt_pid_t sup = start_sup(&spec, NULL);
    static const int started[] = {1, 2, 3, 4};
    expect_order(REP_START, started, 4);
    rt_pid_t old[4];
    const char *ids[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        old[i] = pid_of(sup, ids[i]);
    crash(old[1], X);
    /* b crashed; the others stop in reverse start order, with shutdown */
    static const int stopped[] = {2, 4, 3, 1};
    for (int i = 0; i < 4; i++) {
        rep_t r = expect(REP_DESTROY, -1);
        cr_assert_eq(r.tag, stopped[i]);
        cr_assert_eq(r.reason, i == 0 ? X : RT_REASON_SHUTDOWN);
    }
    expect_order(REP_START, started, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_neq(pid_of(sup, ids[i]), old[i]);
        cr_assert_eq(restarts_of(sup, ids[i]), 1);
    }
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_server, rest_for_one_restarts_the_crashed_and_later_children)
{
    static const sup_spec_t spec = {{SUP_REST_FOR_ONE, 3, 60000}, four, 4};
    rt_pid_t sup = start_sup(&spec, NULL);
    static const int started[] = {1, 2, 3, 4};
    expect_order(REP_START, started, 4);
    rt_pid_t a = pid_of(sup, "a"), b = pid_of(sup, "b");
    crash(b, X);
    static const int stopped[] = {2, 4, 3};
    expect_order(REP_DESTROY, stopped, 3);
    static const int again[] = {2, 3, 4};
    expect_order(REP_START, again, 3);
    cr_assert_eq(pid_of(sup, "a"), a, "children before it are untouched");
    cr_assert_eq(restarts_of(sup, "a"), 0);
    cr_assert_eq(restarts_of(sup, "b"), 1);
    cr_assert_eq(restarts_of(sup, "d"), 1);
    expect_none(REP_DESTROY, 1, 100);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_server, rest_for_one_last_child_restarts_alone)
{
    static const sup_spec_t spec = {{SUP_REST_FOR_ONE, 3, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    crash(pid_of(sup, "c"), X);
    expect(REP_DESTROY, 3);
    expect(REP_START, 3);
    expect_none(REP_DESTROY, -1, 100);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

static const sup_child_spec_t tmpl[] = {
    CHILD("conn", W[0], SUP_PERMANENT, 1000)};

Test(sup_server, simple_one_for_one_restarts_a_child_with_its_extra)
{
    static const sup_spec_t spec = {
        {SUP_SIMPLE_ONE_FOR_ONE, 3, 60000}, tmpl, 1};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_none(REP_START, -1, 50); /* the template is not started */
    rt_pid_t p[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sup_start_child_sync(T_rt, sup, NULL,
                                          (void *)(intptr_t)(5 + i), &p[i]),
                     0);
        cr_assert_eq(expect(REP_START, 5 + i).pid, p[i]);
    }
    crash(p[1], X);
    expect(REP_DESTROY, 6);
    rep_t r = expect(REP_START, 6);
    cr_assert_neq(r.pid, p[1]);
    sup_child_info_t *v;
    cr_assert_eq(children(sup, &v), 3);
    cr_assert_eq(v[1].pid, r.pid);
    cr_assert_eq(v[1].restarts, 1);
    cr_assert_str_eq(v[1].id, "conn");
    free(v);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- restart types --------------------------------------------------- */

Test(sup_server, permanent_child_restarts_even_after_normal_exit)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    crash(pid_of(sup, "a"), RT_REASON_NORMAL);
    cr_assert_eq(expect(REP_DESTROY, 1).reason, RT_REASON_NORMAL);
    expect(REP_START, 1);
    cr_assert_eq(restarts_of(sup, "a"), 1);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

static const sup_child_spec_t transient[] = {
    CHILD("t", W[1], SUP_TRANSIENT, 1000), PERM("p", 2)};

Test(sup_server, transient_child_restarts_only_after_abnormal_exit)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 5, 60000}, transient, 2};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 1);
    crash(pid_of(sup, "t"), X);
    expect(REP_DESTROY, 1);
    expect(REP_START, 1); /* abnormal: restarted */
    crash(pid_of(sup, "t"), RT_REASON_SHUTDOWN);
    expect(REP_DESTROY, 1);
    expect_none(REP_START, 1, 100); /* shutdown: not restarted */
    cr_assert_eq(pid_of(sup, "t"), RT_PID_NONE, "spec kept, not running");
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, "t", NULL), 0);
    expect(REP_START, 1);
    crash(pid_of(sup, "t"), RT_REASON_NORMAL);
    expect(REP_DESTROY, 1);
    expect_none(REP_START, 1, 100); /* normal: not restarted */
    cr_assert_eq(pid_of(sup, "t"), RT_PID_NONE);
    cr_assert_eq(restarts_of(sup, "t"), 1);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

static const sup_child_spec_t temporary[] = {
    CHILD("tmp", W[1], SUP_TEMPORARY, 1000), PERM("p", 2)};

Test(sup_server, temporary_child_is_never_restarted_and_is_forgotten)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ALL, 5, 60000}, temporary, 2};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 1);
    expect(REP_START, 2);
    rt_pid_t p = pid_of(sup, "p");
    crash(pid_of(sup, "tmp"), X);
    expect(REP_DESTROY, 1);
    expect_none(REP_START, -1, 100);
    cr_assert_not(child(sup, "tmp", NULL, NULL));
    cr_assert_eq(pid_of(sup, "p"), p, "one_for_all did not act on it");
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_server, one_for_all_forgets_temporary_siblings_it_stops)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ALL, 5, 60000}, temporary, 2};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 1);
    expect(REP_START, 2);
    crash(pid_of(sup, "p"), X);
    expect(REP_DESTROY, 2);
    cr_assert_eq(expect(REP_DESTROY, 1).reason, RT_REASON_SHUTDOWN);
    expect(REP_START, 2);
    expect_none(REP_START, 1, 100);
    cr_assert_not(child(sup, "tmp", NULL, NULL));
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- intensity and period ------------------------------------------ */

Test(sup_server, intensity_exceeded_at_intensity_plus_one_within_period)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    for (int i = 0; i < 3; i++) {
        crash(pid_of(sup, "b"), X);
        expect(REP_DESTROY, 2);
        expect(REP_START, 2);
    }
    cr_assert(rt_is_alive(T_rt, sup), "3 restarts are within intensity 3");
    cr_assert_eq(restarts_of(sup, "b"), 3);
    crash(pid_of(sup, "b"), X);
    cr_assert_eq(expect(REP_DESTROY, 2).reason, X);
    /* the 4th: no restart; the others stop in reverse order, then the
     * supervisor exits with shutdown */
    static const int rest[] = {3, 1};
    expect_order(REP_DESTROY, rest, 2);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
    expect_none(REP_START, 2, 50);
}

Test(sup_server, intensity_zero_gives_up_at_the_first_crash)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 0, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    crash(pid_of(sup, "c"), X);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
    expect_none(REP_START, -1, 50);
}

/* The period on the virtual clock: restarts spaced by more than the
 * period never add up; two within it do. */
Test(sup_server, restarts_spaced_beyond_period_do_not_add_up)
{
    use_det(42);
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 1000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    for (int i = 0; i < 5; i++) {
        crash(pid_of(sup, "a"), X);
        expect(REP_DESTROY, 1);
        expect(REP_START, 1);
        cr_assert_eq(rt_det_advance(T_rt, 1001), 0);
    }
    cr_assert(rt_is_alive(T_rt, sup));
    cr_assert_eq(restarts_of(sup, "a"), 5);
    crash(pid_of(sup, "a"), X);
    expect(REP_START, 1);
    cr_assert_eq(rt_det_advance(T_rt, 999), 0); /* still within period */
    crash(pid_of(sup, "a"), X);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
}

Test(sup_server, restarts_spaced_beyond_period_in_real_time)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 1, 150}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    for (int i = 0; i < 3; i++) {
        crash(pid_of(sup, "a"), X);
        expect(REP_START, 1);
        sleep_ms(250);
    }
    cr_assert(rt_is_alive(T_rt, sup));
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- escalation ------------------------------------------------------ */

static const sup_child_spec_t kid_children[] = {PERM("w", 1)};
static const sup_spec_t kid_spec = {
    {SUP_ONE_FOR_ONE, 0, 60000}, kid_children, 1};
static const sup_child_sup_t kid_arg = {"kid_sup", &kid_spec};
static const sup_child_spec_t parent_children[] = {
    {.id = "kid",
     .start = sup_start_child_sup,
     .arg = (void *)&kid_arg,
     .restart = SUP_PERMANENT,
     .shutdown_ms = SUP_INFINITY,
     .type = SUP_SUPERVISOR},
    PERM("sib", 2)};

Test(sup_server, child_supervisor_gives_up_and_parent_restarts_it)
{
    static const sup_spec_t spec = {
        {SUP_ONE_FOR_ONE, 3, 60000}, parent_children, 2};
    rt_pid_t top = start_sup(&spec, "top_sup");
    expect(REP_START, 1);
    expect(REP_START, 2);
    rt_pid_t kid = pid_of(top, "kid"), sib = pid_of(top, "sib");
    cr_assert_eq(rt_whereis(T_rt, "kid_sup"), kid);
    monitor(kid);
    crash(pid_of(kid, "w"), X);
    /* the child supervisor exceeds intensity 0 and exits with shutdown */
    cr_assert_eq(expect_down(kid), RT_REASON_SHUTDOWN);
    expect(REP_START, 1); /* the new child supervisor started its worker */
    rt_pid_t kid2 = pid_of(top, "kid");
    cr_assert_neq(kid2, kid);
    cr_assert_eq(rt_whereis(T_rt, "kid_sup"), kid2);
    cr_assert_eq(restarts_of(top, "kid"), 1);
    cr_assert_eq(pid_of(top, "sib"), sib);
    cr_assert(rt_is_alive(T_rt, top));
    cr_assert_eq(stop_sup(top), RT_REASON_SHUTDOWN);
}

/* ---- failed restarts ------------------------------------------------ */

Test(sup_server, failed_restart_is_tried_again)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 5, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    g_fail_tag = 2;
    g_fail_left = 2; /* the restart and the first try again fail */
    crash(pid_of(sup, "b"), X);
    expect(REP_START, 2);
    cr_assert(rt_is_alive(T_rt, sup));
    cr_assert_eq(restarts_of(sup, "b"), 3);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_server, restart_that_always_fails_exhausts_intensity)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ALL, 3, 60000}, three, 3};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect_order(REP_START, order123, 3);
    g_fail_tag = 3;
    crash(pid_of(sup, "a"), X);
    cr_assert_eq(expect_down(sup), RT_REASON_SHUTDOWN);
}

/* ---- determinism ------------------------------------------------------ */

/* One run of a one_for_all restart on a deterministic runtime. */
static void one_for_all_run(uint64_t seed)
{
    use_det(seed);
    static const sup_spec_t spec = {{SUP_ONE_FOR_ALL, 3, 60000}, four, 4};
    rt_pid_t sup = start_sup(&spec, NULL);
    static const int started[] = {1, 2, 3, 4};
    expect_order(REP_START, started, 4);
    crash(pid_of(sup, "c"), X);
    static const int stopped[] = {3, 4, 2, 1};
    expect_order(REP_DESTROY, stopped, 4);
    expect_order(REP_START, started, 4);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.active, 4);
    cr_assert_eq(restarts_of(sup, "a"), 1);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    static const int down[] = {4, 3, 2, 1};
    expect_order(REP_DESTROY, down, 4);
    stop_rt();
}

Test(sup_server, one_for_all_outcome_is_the_same_under_200_seeds)
{
    for (uint64_t seed = 1; seed <= 200; seed++)
        one_for_all_run(seed);
}
