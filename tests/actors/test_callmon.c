/*
 * test_callmon.c - OTP's gen_server:call and gen_statem:call monitor the
 * callee: a caller waiting on a server that returned noreply, or on a
 * statem that postponed the call, fails at once with the server's exit
 * reason when the server dies, instead of waiting for its timeout (or
 * forever with RT_INFINITY).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "actors/actors.h"
#include "runtime/rt.h"

#define REASON_X (-4343)
#define MSG_DEFER 1 /* call: noreply / postpone */
#define MSG_CRASH 2 /* cast: exit with REASON_X */
#define MSG_STOP 3  /* cast: stop normally */

static rt_t *rt;

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
}

static void teardown(void)
{
    cr_assert_eq(rt_shutdown(rt), 0);
    rt_free(rt);
}

TestSuite(gen_callmon, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* ---- a gen_server that defers every call ----------------------------- */

static int srv_init(rt_actor_t *self, void *arg, void **state)
{
    *state = NULL;
    return 0;
}

static int srv_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    return GEN_NOREPLY; /* keeps nothing: the answer never comes */
}

static int srv_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    if (m->type == MSG_CRASH)
        return REASON_X;
    if (m->type == MSG_STOP)
        return GEN_STOP;
    return 0;
}

static const gen_server_cbs_t srv = {
    .name = "deferring_server",
    .init = srv_init,
    .handle_call = srv_call,
    .handle_cast = srv_cast,
};

/* ---- a gen_statem that postpones every call -------------------------- */

static int sm_init(rt_actor_t *self, void *arg, void **data, int *state)
{
    *data = NULL;
    *state = 0;
    return 0;
}

static int sm_event(rt_actor_t *self, gen_statem_event_t type, rt_msg_t *ev,
                    rt_from_t from, int state, void *data, int *next)
{
    if (type == GSM_CALL)
        return gen_statem_postpone(self);
    if (type == GSM_CAST && ev->type == MSG_CRASH)
        return REASON_X;
    return 0;
}

static const gen_statem_cbs_t sm = {
    .name = "postponing_statem",
    .init = sm_init,
    .handle_event = sm_event,
};

/* ---- a call from another thread, timed --------------------------------- */

typedef struct {
    rt_pid_t to;
    uint32_t timeout_ms;
    int rc;
    uint64_t ms;
} caller_t;

static void *caller_main(void *p)
{
    caller_t *c = p;
    rt_msg_t *reply = NULL;
    uint64_t t0 = now_ms();
    c->rc = gen_server_call_sync(rt, c->to, rt_msg_new(MSG_DEFER),
                                 c->timeout_ms, &reply);
    c->ms = now_ms() - t0;
    rt_msg_free(reply);
    return NULL;
}

/* Call `to` from a thread, let the call be deferred, then cast `kill`
 * to the server; the call's result and how long it took. */
static caller_t call_then(rt_pid_t to, uint32_t timeout_ms, uint32_t kill)
{
    caller_t c = {.to = to, .timeout_ms = timeout_ms};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, caller_main, &c), 0);
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL); /* the request is handled and deferred by now */
    cr_assert_eq(gen_server_cast(rt, to, rt_msg_new(kill)), 0);
    pthread_join(th, NULL);
    return c;
}

Test(gen_callmon, noreply_then_crash_fails_the_caller_with_the_reason)
{
    rt_pid_t s;
    cr_assert_eq(gen_server_start(rt, NULL, &srv, NULL, NULL, &s), 0);
    caller_t c = call_then(s, 10000, MSG_CRASH);
    cr_assert_eq(c.rc, REASON_X, "rc %s", cleo_err_name(c.rc));
    cr_assert_lt(c.ms, 2000, "the caller waited %llu ms",
                 (unsigned long long)c.ms);
}

Test(gen_callmon, noreply_with_infinity_does_not_wait_forever)
{
    rt_pid_t s;
    cr_assert_eq(gen_server_start(rt, NULL, &srv, NULL, NULL, &s), 0);
    caller_t c = call_then(s, RT_INFINITY, MSG_CRASH);
    cr_assert_eq(c.rc, REASON_X, "rc %s", cleo_err_name(c.rc));
}

Test(gen_callmon, noreply_then_normal_stop_is_noproc)
{
    rt_pid_t s;
    cr_assert_eq(gen_server_start(rt, NULL, &srv, NULL, NULL, &s), 0);
    caller_t c = call_then(s, 10000, MSG_STOP);
    cr_assert_eq(c.rc, CLEO_ENOPROC, "rc %s", cleo_err_name(c.rc));
    cr_assert_lt(c.ms, 2000);
}

Test(gen_callmon, postponed_call_fails_when_the_statem_dies)
{
    rt_pid_t s;
    cr_assert_eq(gen_statem_start(rt, NULL, &sm, NULL, NULL, &s), 0);
    caller_t c = call_then(s, 10000, MSG_CRASH);
    cr_assert_eq(c.rc, REASON_X, "rc %s", cleo_err_name(c.rc));
    cr_assert_lt(c.ms, 2000);
}

Test(gen_callmon, call_to_a_dead_server_is_noproc)
{
    rt_pid_t s;
    cr_assert_eq(gen_server_start(rt, NULL, &srv, NULL, NULL, &s), 0);
    cr_assert_eq(gen_server_stop_sync(rt, s, RT_REASON_NORMAL, 5000), 0);
    rt_msg_t *reply = NULL;
    cr_assert_eq(
        gen_server_call_sync(rt, s, rt_msg_new(MSG_DEFER), 5000, &reply),
        CLEO_ENOPROC);
}
