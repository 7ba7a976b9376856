/*
 * test_timer.c - rt_send_after() and rt_timer_cancel() on the real clock:
 * delivery no earlier than the delay, cancellation before and after
 * firing, deadline order, and timers aimed at actors that died.
 *
 * Delays are small (10-50 ms); lateness bounds are generous so that the
 * tests hold under sanitizers, but earliness is never tolerated: elapsed
 * time is measured on rt_now_ms(), the clock the runtime fires on.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_TICK = 1,   /* ticker: count, re-arm until 5, then report */
    MSG_ARM_CANCEL, /* arm a 30 ms timer and cancel it at once */
    MSG_STOP,
    MSG_FIRED, /* what the timers carry */
    REP_TICKS = 100,
    REP_CANCEL, /* reason = rt_timer_cancel() result */
    REP_FWD,    /* anything else: arg = type */
};

static int payload_frees; /* read after rt_shutdown() */

static void count_free(void *p)
{
    payload_frees++;
}

typedef struct ticker_s {
    int ticks;
    uint64_t start_ms;
} ticker_t;

static int ticker_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, calloc(1, sizeof(ticker_t)));
    return 0;
}

static void ticker_destroy(rt_actor_t *self, int reason)
{
    free(rt_state(self));
}

static int on_tick(rt_actor_t *self, ticker_t *t, rt_msg_t *m)
{
    if (t->ticks++ == 0)
        t->start_ms = m->arg;
    if (t->ticks == 5) {
        rtt_notify(REP_TICKS, rt_now_ms(rtt_rt) - t->start_ms, t->ticks);
        return 0;
    }
    int rc =
        rt_send_after(rtt_rt, 10, rt_self(self), rt_msg_new(MSG_TICK), NULL);
    return rc < 0 ? rc : 0;
}

static int on_arm_cancel(rt_actor_t *self)
{
    rt_ref_t ref = 0;
    rt_msg_t *m = rt_msg_new(MSG_FIRED);
    m->payload = &payload_frees;
    m->payload_free = count_free;
    int rc = rt_send_after(rtt_rt, 30, rt_self(self), m, &ref);
    if (rc == 0)
        rc = rt_timer_cancel(rtt_rt, ref);
    rtt_notify(REP_CANCEL, 0, rc);
    return 0;
}

static int ticker_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case MSG_TICK:
        return on_tick(self, rt_state(self), m);
    case MSG_ARM_CANCEL:
        return on_arm_cancel(self);
    case MSG_STOP:
        return RT_STOP;
    default:
        rtt_notify(REP_FWD, m->type, 0);
        return 0;
    }
}

static const rt_behaviour_t ticker_beh = {
    .name = "ticker",
    .init = ticker_init,
    .handle = ticker_handle,
    .destroy = ticker_destroy,
};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    rtt_start(&o);
}

/* A timer message whose payload counts its free. */
static rt_msg_t *counted_msg(uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(MSG_FIRED);
    m->arg = arg;
    m->payload = &payload_frees;
    m->payload_free = count_free;
    return m;
}

static uint64_t pending_timers(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s.timers;
}

TestSuite(rt_timer, .init = setup, .fini = rtt_fini, .timeout = 30);

Test(rt_timer, send_after_delivers_no_earlier_than_the_delay)
{
    rt_ref_t ref = 0;
    uint64_t t0 = rt_now_ms(rtt_rt);
    cr_assert_eq(
        rt_send_after(rtt_rt, 30, rtt_ibp, rt_msg_new(MSG_FIRED), &ref), 0);
    cr_assert_neq(ref, 0);
    rt_msg_t *m = rtt_expect_msg(MSG_FIRED, 2000);
    uint64_t elapsed = rt_now_ms(rtt_rt) - t0;
    rt_msg_free(m);
    cr_assert_geq(elapsed, 30, "fired after %llu ms",
                  (unsigned long long)elapsed);
    cr_assert_lt(elapsed, 1000);
}

Test(rt_timer, zero_delay_timer_fires)
{
    cr_assert_eq(rt_send_after(rtt_rt, 0, rtt_ibp, rt_msg_new(MSG_FIRED), NULL),
                 0);
    rt_msg_free(rtt_expect_msg(MSG_FIRED, 1000));
}

Test(rt_timer, actor_can_rearm_a_timer_to_itself)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &ticker_beh, NULL, NULL, &pid), 0);
    rt_msg_t *m = rt_msg_new(MSG_TICK);
    m->arg = rt_now_ms(rtt_rt);
    cr_assert_eq(rt_send(rtt_rt, pid, m), 0);
    m = rtt_expect_msg(REP_TICKS, 3000);
    cr_assert_eq(m->reason, 5);
    cr_assert_geq(m->arg, 40, "4 re-arms of 10 ms took %llu ms",
                  (unsigned long long)m->arg);
    rt_msg_free(m);
    rtt_expect_silence(50);
}

Test(rt_timer, cancel_before_firing_returns_zero_and_nothing_arrives)
{
    rt_ref_t ref = 0;
    cr_assert_eq(rt_send_after(rtt_rt, 50, rtt_ibp, counted_msg(0), &ref), 0);
    cr_assert_eq(rt_timer_cancel(rtt_rt, ref), 0);
    rtt_expect_silence(150);
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, 1, "the cancelled message is freed once");
}

Test(rt_timer, cancel_after_firing_returns_enotfound)
{
    rt_ref_t ref = 0;
    cr_assert_eq(rt_send_after(rtt_rt, 10, rtt_ibp, counted_msg(0), &ref), 0);
    rt_msg_free(rtt_expect_msg(MSG_FIRED, 2000));
    cr_assert_eq(rt_timer_cancel(rtt_rt, ref), CLEO_ENOTFOUND);
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, 1);
}

Test(rt_timer, second_cancel_returns_enotfound)
{
    rt_ref_t ref = 0;
    cr_assert_eq(rt_send_after(rtt_rt, 1000, rtt_ibp, counted_msg(0), &ref), 0);
    cr_assert_eq(rt_timer_cancel(rtt_rt, ref), 0);
    cr_assert_eq(rt_timer_cancel(rtt_rt, ref), CLEO_ENOTFOUND);
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, 1);
}

Test(rt_timer, cancel_of_an_unknown_ref_returns_enotfound)
{
    cr_assert_eq(rt_timer_cancel(rtt_rt, 0), CLEO_ENOTFOUND);
    cr_assert_eq(rt_timer_cancel(rtt_rt, 0xdeadbeefull), CLEO_ENOTFOUND);
}

Test(rt_timer, actor_can_cancel_its_own_timer_in_the_same_handler)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &ticker_beh, NULL, NULL, &pid), 0);
    cr_assert_eq(rt_send(rtt_rt, pid, rt_msg_new(MSG_ARM_CANCEL)), 0);
    rt_msg_t *m = rtt_expect_msg(REP_CANCEL, 2000);
    cr_assert_eq(m->reason, 0, "cancel: %s", cleo_err_name(m->reason));
    rt_msg_free(m);
    rtt_expect_silence(100); /* no REP_FWD for MSG_FIRED */
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, 1);
}

/* Shuffled deadlines 5 ms apart must arrive sorted, none early. */
Test(rt_timer, timers_fire_in_deadline_order)
{
    enum { N = 50, GAP = 5, BASE = 20 };
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    srand(12345);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    uint64_t t0 = rt_now_ms(rtt_rt);
    for (int i = 0; i < N; i++) {
        uint64_t ms = BASE + (uint64_t)order[i] * GAP;
        rt_msg_t *m = rt_msg_new(MSG_FIRED);
        m->arg = ms;
        cr_assert_eq(rt_send_after(rtt_rt, ms, rtt_ibp, m, NULL), 0);
    }
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        rt_msg_t *m = rtt_expect_msg(MSG_FIRED, 3000);
        uint64_t now = rt_now_ms(rtt_rt) - t0;
        cr_assert_geq(m->arg, last, "timer %llu fired after %llu",
                      (unsigned long long)m->arg, (unsigned long long)last);
        cr_assert_geq(now, m->arg, "timer %llu fired early at %llu",
                      (unsigned long long)m->arg, (unsigned long long)now);
        last = m->arg;
        rt_msg_free(m);
    }
    rtt_expect_silence(50);
}

Test(rt_timer, a_thousand_timers_with_one_delay_all_fire_once)
{
    enum { N = 1000 };
    uint64_t t0 = rt_now_ms(rtt_rt);
    for (int i = 0; i < N; i++)
        cr_assert_eq(rt_send_after(rtt_rt, 20, rtt_ibp, counted_msg(i), NULL),
                     0);
    int got = 0;
    rt_msg_t *m = NULL;
    while (got < N && rt_inbox_recv(rtt_ib, 3000, &m) == 0) {
        cr_assert_eq(m->type, MSG_FIRED);
        cr_assert_geq(rt_now_ms(rtt_rt) - t0, 20);
        rt_msg_free(m);
        got++;
    }
    cr_assert_eq(got, N);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, N);
}

Test(rt_timer, pending_timers_are_counted_in_stats)
{
    rt_ref_t refs[3];
    uint64_t base = pending_timers();
    for (int i = 0; i < 3; i++)
        cr_assert_eq(
            rt_send_after(rtt_rt, 10000, rtt_ibp, counted_msg(i), &refs[i]), 0);
    for (int i = 0; i < 1000 && pending_timers() != base + 3; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(pending_timers(), base + 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rt_timer_cancel(rtt_rt, refs[i]), 0);
    for (int i = 0; i < 1000 && pending_timers() != base; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(pending_timers(), base);
}

Test(rt_timer, timer_to_an_actor_that_died_is_dropped_and_counted)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &ticker_beh, NULL, NULL, &pid), 0);
    rt_stats_t before, after;
    rt_stats(rtt_rt, &before);
    cr_assert_eq(rt_send_after(rtt_rt, 40, pid, counted_msg(0), NULL), 0);
    cr_assert_eq(rt_send(rtt_rt, pid, rt_msg_new(MSG_STOP)), 0);
    for (int i = 0; i < 2000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
    rtt_sleep_ms(150);
    rt_stats(rtt_rt, &after);
    cr_assert_eq(after.dropped, before.dropped + 1);
    rtt_expect_silence(10); /* the ticker never got to forward it */
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, 1);
}

Test(rt_timer, timer_to_a_malformed_pid_is_ebadpid_and_freed)
{
    cr_assert_eq(rt_send_after(rtt_rt, 10, RT_PID_NONE, counted_msg(0), NULL),
                 CLEO_EBADPID);
    rtt_stop_runtime();
    cr_assert_eq(payload_frees, 1);
}
