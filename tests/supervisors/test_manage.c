/*
 * test_manage.c - the management calls (start_child, terminate_child,
 * restart_child, delete_child), which_children and count_children, the
 * RT_MSG_WHICH_CHILDREN protobuf reply, the status text (sys:get_status),
 * and their bad inputs.
 */
#include "supt.c"

#include <stdio.h>

#include "actors/actors.h"
#include "proto/introspect.pb-c.h"

#define X (-7003)

TestSuite(sup_manage, .init = setup, .fini = teardown, .timeout = 120);

static const sup_child_spec_t two[] = {PERM("a", 1), PERM("b", 2)};
static const sup_spec_t two_spec = {{SUP_ONE_FOR_ONE, 3, 60000}, two, 2};

static rt_pid_t start_two(void)
{
    rt_pid_t sup = start_sup(&two_spec, NULL);
    expect(REP_START, 1);
    expect(REP_START, 2);
    return sup;
}

/* ---- start_child ----------------------------------------------------- */

static const sup_child_spec_t extra_c = PERM("c", 3);
static const sup_child_spec_t extra_dup = PERM("a", 4);
static const sup_child_spec_t extra_fail = PERM("f", 5);
static const sup_child_spec_t extra_bad = {.id = "z", .start = NULL};

Test(sup_manage, start_child_appends_and_starts_it)
{
    rt_pid_t sup = start_two();
    rt_pid_t c;
    cr_assert_eq(sup_start_child_sync(T_rt, sup, &extra_c, NULL, &c), 0);
    cr_assert_eq(expect(REP_START, 3).pid, c);
    sup_child_info_t *v;
    cr_assert_eq(children(sup, &v), 3);
    cr_assert_str_eq(v[2].id, "c");
    cr_assert_eq(v[2].pid, c);
    free(v);
    /* it is supervised like the others */
    crash(c, X);
    expect(REP_START, 3);
    cr_assert_eq(restarts_of(sup, "c"), 1);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    static const int stopped[] = {3, 3, 2, 1};
    expect_order(REP_DESTROY, stopped, 4);
}

Test(sup_manage, start_child_bad_input)
{
    rt_pid_t sup = start_two();
    rt_pid_t out = 42;
    cr_assert_eq(sup_start_child_sync(T_rt, sup, &extra_dup, NULL, &out),
                 CLEO_EEXIST);
    cr_assert_eq(sup_start_child_sync(T_rt, sup, &extra_bad, NULL, &out),
                 CLEO_EINVAL);
    cr_assert_eq(sup_start_child_sync(T_rt, sup, NULL, NULL, &out),
                 CLEO_EINVAL);
    g_fail_tag = 5;
    cr_assert_eq(sup_start_child_sync(T_rt, sup, &extra_fail, NULL, &out),
                 g_fail_rc);
    cr_assert_eq(out, 42);
    cr_assert_not(child(sup, "f", NULL, NULL), "no spec kept on failure");
    expect_none(REP_START, -1, 50);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.specs, 2);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- terminate, restart, delete -------------------------------------- */

Test(sup_manage, terminate_keeps_the_spec_and_restart_starts_it_again)
{
    rt_pid_t sup = start_two();
    rt_pid_t a = pid_of(sup, "a");
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "a", RT_PID_NONE), 0);
    cr_assert_eq(expect(REP_DESTROY, 1).reason, RT_REASON_SHUTDOWN);
    cr_assert_not(rt_is_alive(T_rt, a));
    cr_assert_eq(pid_of(sup, "a"), RT_PID_NONE);
    expect_none(REP_START, 1, 100); /* not restarted: it was asked */
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "a", RT_PID_NONE), 0,
                 "terminating a stopped child is fine");
    rt_pid_t a2;
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, "a", &a2), 0);
    cr_assert_eq(expect(REP_START, 1).pid, a2);
    cr_assert_neq(a2, a);
    cr_assert_eq(pid_of(sup, "a"), a2);
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, "a", NULL), CLEO_ESTATE);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, "a"), CLEO_ESTATE);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "a", RT_PID_NONE), 0);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, "a"), 0);
    cr_assert_not(child(sup, "a", NULL, NULL));
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, "a", NULL), CLEO_ENOTFOUND);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_manage, unknown_ids_are_not_found)
{
    rt_pid_t sup = start_two();
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "nope", RT_PID_NONE),
                 CLEO_ENOTFOUND);
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, "nope", NULL),
                 CLEO_ENOTFOUND);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, "nope"), CLEO_ENOTFOUND);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, NULL, 12345),
                 CLEO_ENOTFOUND);
    char longid[80];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, longid, RT_PID_NONE),
                 CLEO_EINVAL);
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, longid, NULL), CLEO_EINVAL);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, ""), CLEO_EINVAL);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, NULL), CLEO_EINVAL);
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, NULL, NULL), CLEO_EINVAL);
    expect_none(REP_DESTROY, -1, 50);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

static const sup_child_spec_t with_temp[] = {
    PERM("a", 1), CHILD("t", W[2], SUP_TEMPORARY, 1000)};

Test(sup_manage, terminating_a_temporary_child_forgets_it)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, with_temp, 2};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 2);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "t", RT_PID_NONE), 0);
    expect(REP_DESTROY, 2);
    cr_assert_not(child(sup, "t", NULL, NULL));
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_manage, calls_to_a_dead_supervisor_fail_with_noproc)
{
    rt_pid_t sup = start_two();
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    sup_counts_t k;
    sup_child_info_t *v;
    size_t n;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), CLEO_ENOPROC);
    cr_assert_eq(sup_which_children_sync(T_rt, sup, &v, &n), CLEO_ENOPROC);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, "a"), CLEO_ENOPROC);
}

/* ---- simple_one_for_one ------------------------------------------------ */

static const sup_child_spec_t tmpl[] = {
    CHILD("conn", W[0], SUP_TRANSIENT, 1000)};
static const sup_spec_t simple_spec = {
    {SUP_SIMPLE_ONE_FOR_ONE, 3, 60000}, tmpl, 1};

Test(sup_manage, simple_children_by_pid)
{
    rt_pid_t sup = start_sup(&simple_spec, NULL);
    rt_pid_t p[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sup_start_child_sync(T_rt, sup, NULL,
                                          (void *)(intptr_t)(i + 1), &p[i]),
                     0);
        cr_assert_eq(expect(REP_START, i + 1).pid, p[i]);
    }
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, NULL, p[1]), 0);
    cr_assert_eq(expect(REP_DESTROY, 2).reason, RT_REASON_SHUTDOWN);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.specs, 2, "a terminated simple child is forgotten");
    cr_assert_eq(k.active, 2);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, NULL, p[1]),
                 CLEO_ENOTFOUND);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "conn", RT_PID_NONE),
                 CLEO_EINVAL);
    cr_assert_eq(sup_restart_child_sync(T_rt, sup, "conn", NULL), CLEO_EINVAL);
    cr_assert_eq(sup_delete_child_sync(T_rt, sup, "conn"), CLEO_EINVAL);
    /* a transient simple child that exits normally is forgotten too */
    crash(p[0], RT_REASON_NORMAL);
    expect(REP_DESTROY, 1);
    for (int t = 0; t < 200; t++) {
        cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
        if (k.specs == 1)
            break;
        sleep_ms(5);
    }
    cr_assert_eq(k.specs, 1);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    cr_assert_eq(expect(REP_DESTROY, 3).reason, RT_REASON_SHUTDOWN);
}

Test(sup_manage, simple_child_start_failure_returns_the_error)
{
    rt_pid_t sup = start_sup(&simple_spec, NULL);
    g_fail_tag = 9;
    cr_assert_eq(
        sup_start_child_sync(T_rt, sup, NULL, (void *)(intptr_t)9, NULL),
        g_fail_rc);
    sup_counts_t k;
    cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
    cr_assert_eq(k.specs, 0);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- which_children / count_children --------------------------------- */

static const sup_child_spec_t kid_children[] = {PERM("w", 7)};
static const sup_spec_t kid_spec = {
    {SUP_ONE_FOR_ONE, 3, 60000}, kid_children, 1};
static const sup_child_sup_t kid_arg = {NULL, &kid_spec};
static const sup_child_spec_t mixed[] = {
    PERM("a", 1),
    CHILD("t", W[2], SUP_TRANSIENT, 1000),
    {.id = "kid",
     .start = sup_start_child_sup,
     .arg = (void *)&kid_arg,
     .restart = SUP_PERMANENT,
     .type = SUP_SUPERVISOR},
    CHILD("tmp", W[3], SUP_TEMPORARY, SUP_BRUTAL_KILL)};

Test(sup_manage, which_and_count_children_describe_the_table)
{
    static const sup_spec_t spec = {{SUP_REST_FOR_ONE, 4, 30000}, mixed, 4};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 3);
    crash(pid_of(sup, "t"), RT_REASON_NORMAL); /* stays, not running */
    expect(REP_DESTROY, 2);
    sup_counts_t k;
    for (int t = 0; t < 200; t++) {
        cr_assert_eq(sup_count_children_sync(T_rt, sup, &k), 0);
        if (k.active == 3)
            break;
        sleep_ms(5);
    }
    cr_assert_eq(k.specs, 4);
    cr_assert_eq(k.active, 3);
    cr_assert_eq(k.supervisors, 1);
    cr_assert_eq(k.workers, 3);
    sup_child_info_t *v;
    cr_assert_eq(children(sup, &v), 4);
    const char *ids[] = {"a", "t", "kid", "tmp"};
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(v[i].id, ids[i]);
    cr_assert_eq(v[1].pid, RT_PID_NONE);
    cr_assert_eq(v[1].restart, SUP_TRANSIENT);
    cr_assert_eq(v[2].type, SUP_SUPERVISOR);
    cr_assert_eq(v[3].restart, SUP_TEMPORARY);
    cr_assert_eq(v[0].type, SUP_WORKER);
    free(v);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

Test(sup_manage, which_children_protobuf_reply)
{
    static const sup_spec_t spec = {{SUP_REST_FOR_ONE, 4, 30000}, mixed, 4};
    rt_pid_t sup = start_sup(&spec, NULL);
    static const int first[] = {1, 2, 7, 3};
    expect_order(REP_START, first, 4);
    crash(pid_of(sup, "a"), X); /* rest_for_one: all after it stop */
    static const int stopped[] = {1, 3, 7, 2};
    expect_order(REP_DESTROY, stopped, 4);
    static const int again[] = {1, 2, 7}; /* not the temporary one */
    expect_order(REP_START, again, 3);
    sup_child_info_t *v;
    cr_assert_eq(children(sup, &v), 3, "the temporary one is forgotten");
    free(v);
    rt_msg_t *r = NULL;
    cr_assert_eq(
        rt_call_sync(T_rt, sup, rt_msg_new(RT_MSG_WHICH_CHILDREN), 5000, &r),
        0);
    const Cleo__Introspect__Children *pb = r->payload;
    cr_assert_not_null(pb);
    cr_assert_eq(pb->base.descriptor, &cleo__introspect__children__descriptor);
    cr_assert_str_eq(pb->strategy, "rest_for_one");
    cr_assert_eq(pb->intensity, 4);
    cr_assert_eq(pb->period_ms, 30000);
    cr_assert_eq(pb->restarts, 1);
    cr_assert_eq(pb->n_child, 3);
    cr_assert_str_eq(pb->child[0]->id, "a");
    cr_assert_str_eq(pb->child[0]->type, "worker");
    cr_assert_str_eq(pb->child[0]->restart, "permanent");
    cr_assert_str_eq(pb->child[0]->behaviour, "test_worker");
    cr_assert_eq(pb->child[0]->restarts, 1);
    char buf[32];
    rt_pid_fmt(pid_of(sup, "a"), buf, sizeof buf);
    cr_assert_str_eq(pb->child[0]->pid, buf);
    cr_assert_str_eq(pb->child[1]->restart, "transient");
    cr_assert_str_eq(pb->child[2]->id, "kid");
    cr_assert_str_eq(pb->child[2]->type, "supervisor");
    cr_assert_str_eq(pb->child[2]->behaviour, "supervisor");
    cr_assert_eq(pb->child[2]->children, NULL);
    /* the reply packs (what the introspection server does with it) */
    size_t len = cleo__introspect__children__get_packed_size(pb);
    cr_assert_gt(len, 0);
    rt_msg_free(r);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "t", RT_PID_NONE), 0);
    cr_assert_eq(
        rt_call_sync(T_rt, sup, rt_msg_new(RT_MSG_WHICH_CHILDREN), 5000, &r),
        0);
    pb = r->payload;
    cr_assert_str_eq(pb->child[1]->pid, "", "not running: empty pid");
    cr_assert_str_eq(pb->child[1]->behaviour, "");
    rt_msg_free(r);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}

/* ---- sys:get_status ---------------------------------------------------- */

Test(sup_manage, get_status_shows_strategy_intensity_counts_and_children)
{
    rt_pid_t sup = start_two();
    rt_pid_t a = pid_of(sup, "a");
    crash(a, X);
    expect(REP_START, 1);
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "b", RT_PID_NONE), 0);
    char *text = NULL;
    int rc = gen_get_status_sync(T_rt, sup, 5000, &text);
    cr_assert_eq(rc, 0, "get_status: %s", cleo_err_name(rc));
    char want[512], pb[32];
    snprintf(want, sizeof want,
             "supervisor\nstatus: running\nparent: none\n"
             "strategy: one_for_one\nintensity: 3 restarts in 60000 ms "
             "(1 now)\nchildren: 2 specs, 1 active, 2 workers, 0 "
             "supervisors\n  a %s permanent, restarts 1\n"
             "  b (not running) permanent, restarts 0",
             rt_pid_fmt(pid_of(sup, "a"), pb, sizeof pb));
    cr_assert_str_eq(text, want);
    free(text);
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
}
