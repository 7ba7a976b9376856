/*
 * test_trace.c - rt_trace reports each handled message to a tracer;
 * rt_guard confines a panic to the guarded function; protocol messages
 * reach handlers and can be called.
 */
#include <criterion/criterion.h>

#include "runtime/rt.h"

static rt_t *rt;
static rt_inbox_t *ib;

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
}

static void teardown(void)
{
    rt_inbox_free(ib);
    rt_free(rt);
}

TestSuite(rt_trace, .init = setup, .fini = teardown);

static int panics(void *p)
{
    (void)p;
    cl_panic("inside a guard");
}

static int returns_seven(void *p)
{
    (void)p;
    return 7;
}

/* On any message: run a panicking function under a guard, then answer
 * calls with the guard's result, so the actor visibly survived. */
static int guarded_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *r = rt_msg_new(m->type);
    r->reason = rt_guard(panics, NULL);
    r->arg = (uint64_t)rt_guard(returns_seven, NULL);
    return rt_reply(rt_actor_rt(self), rt_msg_caller(m), r) == 0 ? 0 : -1;
}
static const rt_behaviour_t guarded = {.name = "guarded",
                                       .handle = guarded_handle};

Test(rt_trace, guard_turns_a_panic_into_an_error_and_the_actor_lives)
{
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &guarded, NULL, NULL, &pid), 0);
    rt_msg_t *rep;
    cr_assert_eq(rt_call_sync(rt, pid, rt_msg_new(5), 2000, &rep), 0);
    cr_assert_eq(rep->reason, CLEO_EPANIC);
    cr_assert_eq(rep->arg, 7);
    rt_msg_free(rep);
    cr_assert(rt_is_alive(rt, pid));
}

Test(rt_trace, protocol_messages_can_be_called_and_reach_the_handler)
{
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &guarded, NULL, NULL, &pid), 0);
    rt_msg_t *rep;
    cr_assert_eq(
        rt_call_sync(rt, pid, rt_msg_new(RT_MSG_WHICH_CHILDREN), 2000, &rep),
        0);
    cr_assert_eq(rep->type, RT_MSG_WHICH_CHILDREN);
    rt_msg_free(rep);
    cr_assert_eq(
        rt_call_sync(rt, pid, rt_msg_new(RT_MSG_PROTO_END), 2000, &rep),
        CLEO_EINVAL, "past the protocol range is refused");
}

static int quiet(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}
static const rt_behaviour_t quiet_beh = {.name = "quiet", .handle = quiet};

Test(rt_trace, tracer_sees_each_message_type_and_sender_until_stopped)
{
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &quiet_beh, NULL, NULL, &pid), 0);
    cr_assert_eq(rt_trace(rt, pid, rt_inbox_pid(ib)), 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
    cr_assert_eq(info.tracer, rt_inbox_pid(ib));
    for (uint32_t t = 1; t <= 3; t++) {
        rt_msg_t *m = rt_msg_new(t);
        m->from = 0xABC;
        cr_assert_eq(rt_send(rt, pid, m), 0);
    }
    for (uint32_t t = 1; t <= 3; t++) {
        rt_msg_t *tr;
        cr_assert_eq(rt_inbox_recv(ib, 2000, &tr), 0);
        cr_assert_eq(tr->type, RT_MSG_TRACE);
        cr_assert_eq(tr->from, pid);
        cr_assert_eq(tr->arg, t);
        cr_assert_eq(tr->ref, 0xABC);
        rt_msg_free(tr);
    }
    cr_assert_eq(rt_trace(rt, pid, RT_PID_NONE), 0);
    cr_assert_eq(rt_send(rt, pid, rt_msg_new(9)), 0);
    rt_msg_t *none;
    cr_assert_eq(rt_inbox_recv(ib, 100, &none), CLEO_ETIMEDOUT);
}

Test(rt_trace, trace_of_a_dead_or_bad_pid_is_an_error)
{
    cr_assert_eq(rt_trace(rt, RT_PID_NONE, rt_inbox_pid(ib)), CLEO_EBADPID);
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &quiet_beh, NULL, NULL, &pid), 0);
    cr_assert_eq(rt_exit(rt, pid, RT_REASON_KILL), 0);
    while (rt_is_alive(rt, pid))
        ;
    cr_assert_eq(rt_trace(rt, pid, rt_inbox_pid(ib)), CLEO_ENOPROC);
}
