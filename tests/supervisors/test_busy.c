/*
 * test_busy.c - a supervisor's `shutdown` exit signal reaches a busy
 * worker that does not trap exits at once, as in OTP (the signal takes
 * effect when received, not after the worker's backlog): the worker ends
 * with reason shutdown well inside its shutdown timeout, never needing the
 * brutal kill, both from terminate_child and from the supervisor's own
 * shutdown.
 */
#include "supt.c"

#define BUSY_MSGS 20000 /* each 1 ms of work: 20 s of backlog */
#define SHUTDOWN_MS 2000
#define W_SLOW 77

TestSuite(sup_busy, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int slow_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == W_SLOW) {
        sleep_ms(1);
        return 0;
    }
    return worker_handle(self, m);
}

static const rt_behaviour_t slow_beh = {
    .name = "busy_worker",
    .init = worker_init,
    .handle = slow_handle,
    .destroy = worker_destroy,
};

static int slow_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                      void *extra, rt_pid_t *out)
{
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &slow_beh, spec->arg, &o, out);
}

static const sup_child_spec_t busy1[] = {{.id = "busy",
                                          .start = slow_start,
                                          .arg = (void *)&W[1],
                                          .restart = SUP_PERMANENT,
                                          .shutdown_ms = SHUTDOWN_MS,
                                          .type = SUP_WORKER}};

static void flood(rt_pid_t pid)
{
    for (int i = 0; i < BUSY_MSGS; i++)
        cr_assert_eq(rt_send(T_rt, pid, rt_msg_new(W_SLOW)), 0);
    sleep_ms(20); /* working through it now */
}

Test(sup_busy, terminate_child_of_a_busy_worker_is_a_clean_shutdown)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, busy1, 1};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 1);
    flood(pid_of(sup, "busy"));
    uint64_t t0 = now_ms();
    cr_assert_eq(sup_terminate_child_sync(T_rt, sup, "busy", 30000), 0);
    uint64_t dt = now_ms() - t0;
    rep_t r = expect(REP_DESTROY, 1);
    cr_assert_eq(r.reason, RT_REASON_SHUTDOWN, "ended with %s",
                 rt_reason_name(r.reason));
    cr_assert_lt(dt, SHUTDOWN_MS / 2, "terminate took %llu ms",
                 (unsigned long long)dt);
}

Test(sup_busy, supervisor_shutdown_stops_a_busy_worker_without_a_kill)
{
    static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 3, 60000}, busy1, 1};
    rt_pid_t sup = start_sup(&spec, NULL);
    expect(REP_START, 1);
    flood(pid_of(sup, "busy"));
    uint64_t t0 = now_ms();
    cr_assert_eq(stop_sup(sup), RT_REASON_SHUTDOWN);
    rep_t r = expect(REP_DESTROY, 1);
    cr_assert_eq(r.reason, RT_REASON_SHUTDOWN, "ended with %s",
                 rt_reason_name(r.reason));
    cr_assert_lt(now_ms() - t0, SHUTDOWN_MS / 2);
}
