/*
 * test_regress.c - regressions from the OTP-layer review (STYLE rule 64).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "actors/actors.h"
#include "supervisors/sup.h"

static rt_t *rt;

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
}

static void teardown(void)
{
    rt_free(rt);
}

TestSuite(regress, .init = setup, .fini = teardown);

/* A worker that traps exits and ignores them: slow to stop. */
static int slow_handle(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}
static const rt_behaviour_t slow = {.name = "slow", .handle = slow_handle};

static int start_slow(rt_actor_t *sup, const sup_child_spec_t *spec,
                      void *extra, rt_pid_t *out)
{
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY, .trap_exit = true};
    return rt_spawn(rt_actor_rt(sup), sup, &slow, NULL, &o, out);
}

static const sup_child_spec_t kids[] = {
    {.id = "a", .start = start_slow, .shutdown_ms = 300},
    {.id = "b", .start = start_slow, .shutdown_ms = 300},
    {.id = "c", .start = start_slow, .shutdown_ms = 300},
};
static const sup_spec_t all_spec = {{SUP_ONE_FOR_ALL, 10, 5000}, kids, 3};

/* While a one_for_all top supervisor stops its children one at a time for
 * a restart, a sibling still waiting its turn dies. Its EXIT names a pid
 * no longer in the table: the supervisor must not take it as "stop". */
Test(regress, review1_sibling_dying_during_restart_does_not_stop_top_sup)
{
    rt_pid_t sup;
    cr_assert_eq(sup_start(rt, NULL, "top", &all_spec, &sup), 0);
    rt_inbox_t *ib;
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    cr_assert_eq(rt_inbox_monitor(ib, sup), 0);
    sup_child_info_t *v;
    size_t n;
    cr_assert_eq(sup_which_children_sync(rt, sup, &v, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(rt_exit(rt, v[0].pid, RT_REASON_KILL), 0);
    usleep(100000); /* c is being stopped (300 ms); b waits its turn */
    cr_assert_eq(rt_exit(rt, v[1].pid, RT_REASON_KILL), 0);
    rt_msg_t *m;
    cr_assert_eq(rt_inbox_recv(ib, 2000, &m), CLEO_ETIMEDOUT,
                 "the top supervisor must survive");
    sup_child_info_t *w;
    size_t k;
    cr_assert_eq(sup_which_children_sync(rt, sup, &w, &k), 0);
    cr_assert_eq(k, 3);
    for (size_t i = 0; i < k; i++)
        cr_assert_neq(w[i].pid, RT_PID_NONE, "child %s running", w[i].id);
    free(v);
    free(w);
    rt_inbox_free(ib);
}

/* Introspection reads every actor's memory() while supervisors and
 * statems die: it must never touch their freed state. */
static int quiet(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}
static const rt_behaviour_t quiet_beh = {.name = "quiet", .handle = quiet};

static int start_quiet(rt_actor_t *sup, const sup_child_spec_t *spec,
                       void *extra, rt_pid_t *out)
{
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &quiet_beh, NULL, &o, out);
}

static const sup_child_spec_t one_kid[] = {
    {.id = "q", .start = start_quiet, .shutdown_ms = 100}};
static const sup_spec_t small_spec = {{SUP_ONE_FOR_ONE, 1, 5000}, one_kid, 1};

static int count(const rt_actor_info_t *info, void *data)
{
    (*(uint64_t *)data) += info->memory;
    return 0;
}

Test(regress, review3_memory_of_dying_supervisors_is_safe_to_read)
{
    uint64_t total = 0;
    for (int i = 0; i < 200; i++) {
        rt_pid_t sup;
        cr_assert_eq(sup_start(rt, NULL, NULL, &small_spec, &sup), 0);
        cr_assert_eq(rt_exit(rt, sup, RT_REASON_SHUTDOWN), 0);
        (void)rt_actor_foreach(rt, count, &total);
    }
    cr_assert_gt(total, 0);
}
