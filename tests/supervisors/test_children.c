/*
 * test_children.c - the child table (supervisors/children.c) on its own:
 * order kept across removals, lookups, uids, and the per-child rules
 * (default shutdown of supervisors, which exits restart which types).
 */
#include <criterion/criterion.h>

#include "../../supervisors/children.c"

static int start_stub(rt_actor_t *sup, const sup_child_spec_t *spec,
                      void *extra, rt_pid_t *out)
{
    return 0;
}

static const sup_child_spec_t specs[] = {
    {.id = "a", .start = start_stub},
    {.id = "b", .start = start_stub},
    {.id = "c", .start = start_stub},
};

Test(sup_children, add_find_remove_keep_start_order)
{
    sup_children_t c;
    sup__children_init(&c);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(sup__children_add(&c, &specs[i % 3], NULL), (size_t)i);
    cr_assert_eq(c.n, 20);
    c.v[4].pid = 77;
    cr_assert_eq(sup__children_find_id(&c, "b"), 1);
    cr_assert_eq(sup__children_find_pid(&c, 77), 4);
    cr_assert_eq(sup__children_find_pid(&c, RT_PID_NONE), SUP_NONE);
    cr_assert_eq(sup__children_find_id(&c, "zz"), SUP_NONE);
    uint64_t uid5 = c.v[5].uid;
    sup__children_remove(&c, 1);
    cr_assert_eq(c.n, 19);
    cr_assert_str_eq(c.v[1].id, "c");
    cr_assert_eq(sup__children_find_pid(&c, 77), 3);
    cr_assert_eq(sup__children_find_uid(&c, uid5), 4);
    size_t last = sup__children_add(&c, &specs[0], (void *)&c);
    cr_assert_gt(c.v[last].uid, uid5, "uids are never reused");
    cr_assert_eq(c.v[last].extra, (void *)&c);
    sup__children_destroy(&c);
    cr_assert_eq(c.n, 0);
}

Test(sup_children, supervisors_default_to_infinity)
{
    sup_child_spec_t s = {
        .id = "s", .start = start_stub, .type = SUP_SUPERVISOR};
    cr_assert_eq(sup__child_shutdown_ms(&s), SUP_INFINITY);
    s.shutdown_ms = 300;
    cr_assert_eq(sup__child_shutdown_ms(&s), 300);
    s.type = SUP_WORKER;
    s.shutdown_ms = SUP_BRUTAL_KILL;
    cr_assert_eq(sup__child_shutdown_ms(&s), SUP_BRUTAL_KILL);
}

Test(sup_children, restart_types_follow_otp)
{
    const int reasons[] = {RT_REASON_NORMAL, RT_REASON_SHUTDOWN,
                           RT_REASON_KILLED, -4242};
    const bool transient[] = {false, false, true, true};
    for (int i = 0; i < 4; i++) {
        cr_assert(sup__child_wants_restart(SUP_PERMANENT, reasons[i]));
        cr_assert_eq(sup__child_wants_restart(SUP_TRANSIENT, reasons[i]),
                     transient[i]);
        cr_assert_not(sup__child_wants_restart(SUP_TEMPORARY, reasons[i]));
    }
}
