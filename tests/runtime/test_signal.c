/*
 * test_signal.c - signals take effect when they are received, not when the
 * messages queued ahead of them have been handled (ERTS's semantics), and
 * per-pair order still holds: an exit reaches an actor with 100k messages
 * queued at once; a monitor or link made while an actor is busy sees its
 * real exit reason; a trapped exit becomes a message at its place among
 * the sender's messages; a non-trapping actor dies without handling the
 * messages queued before the exit.
 *
 * A worker is held on the gate (rtt.h) while its mailbox fills, so the
 * backlog is there when the signal arrives.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

#define REASON_X (-4242)
#define BACKLOG 100000

/* Under a sanitizer every memory access costs several times more: the
 * bound on signal latency is the 10 ms in a normal build. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LATENCY_MS 200
#else
#define LATENCY_MS 10
#endif

enum {
    W_BLOCK = RTT_CMD_BASE, /* hold the scheduler on the gate */
    W_WORK,                 /* spin for arg microseconds, count it */
    W_NOTE,                 /* report REP_NOTE with other = arg */
    W_CRASH,                /* exit with m->reason */
    REP_NOTE = RTT_REP_BASE,
};

static atomic_uint_fast64_t worked; /* W_WORK messages handled */

static void spin_us(uint64_t us)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000u +
               (uint64_t)(t.tv_nsec - t0.tv_nsec) / 1000u <
           us);
}

static int worker_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case W_BLOCK:
        return rtt_gate_block();
    case W_WORK:
        spin_us(m->arg);
        atomic_fetch_add(&worked, 1);
        return 0;
    case W_NOTE:
        return rtt_tell(self, REP_NOTE, m->arg, 0, 0);
    case W_CRASH:
        return m->reason;
    default:
        return rtt_probe_handle(self, m);
    }
}

static const rt_behaviour_t worker = {
    .name = "worker",
    .init = rtt_probe_init,
    .handle = worker_handle,
    .destroy = rtt_probe_destroy,
};

static void setup(void)
{
    atomic_store(&worked, 0);
    rtt_gate_open_pipes();
    rtt_setup();
}

TestSuite(rt_signal, .init = setup, .fini = rtt_gate_teardown, .timeout = 120);

static void post_fast(rt_pid_t to, uint32_t type, uint64_t arg, int n)
{
    for (int i = 0; i < n; i++) {
        rt_msg_t *m = rt_msg_new(type);
        m->arg = arg;
        cr_assert_eq(rt_send(rtt_rt, to, m), 0);
    }
}

/* A worker held on the gate with `n` W_WORK messages of `us` each queued
 * behind the one it is handling. */
static rt_pid_t busy_worker(bool trap, int n, uint64_t us)
{
    rt_pid_t w = rtt_spawn(&worker, trap);
    rtt_post(w, W_BLOCK, 0, 0);
    rtt_gate_wait_blocked();
    post_fast(w, W_WORK, us, n);
    return w;
}

/* A probe monitoring w; the MONITOR signal is in w's mailbox on return. */
static rt_pid_t monitor_of(rt_pid_t w)
{
    rt_pid_t p = rtt_spawn(&worker, false);
    rtt_report_t ack = rtt_cmd(p, RTT_MONITOR, w);
    cr_assert_eq(ack.reason, 0);
    return p;
}

/* The measure: an actor busy with 100k queued messages (each 20 us
 * of work: 2 s of backlog) gets an abnormal exit signal; the DOWN arrives
 * at its monitor within 10 ms, and the backlog is never handled. Before
 * signals had their own path the exit waited behind the whole backlog. */
Test(rt_signal, exit_reaches_a_busy_actor_ahead_of_100k_messages)
{
    rt_pid_t w = busy_worker(false, BACKLOG, 20);
    rt_pid_t p = monitor_of(w);
    rtt_gate_release();
    rtt_sleep_ms(5); /* busy in its backlog now */
    uint64_t t0 = rtt_now_ms();
    cr_assert_eq(rt_exit(rtt_rt, w, REASON_X), 0);
    rtt_report_t down = rtt_expect(RTT_DOWN, p);
    uint64_t dt = rtt_now_ms() - t0;
    cr_assert_eq(down.reason, REASON_X, "DOWN reason %d", down.reason);
    cr_assert_leq(dt, LATENCY_MS, "exit took %llu ms behind the backlog",
                  (unsigned long long)dt);
    cr_assert_lt(atomic_load(&worked), BACKLOG / 10,
                 "handled %llu queued messages before dying",
                 (unsigned long long)atomic_load(&worked));
    rtt_expect_death(w, REASON_X);
}

/* A monitor set up while the actor is busy takes effect at once: when a
 * message from its backlog then crashes it, the DOWN carries the crash's
 * reason, not noproc (the MONITOR used to wait behind the crash). */
Test(rt_signal, monitor_of_a_busy_actor_sees_the_real_reason)
{
    rt_pid_t w = busy_worker(false, 100, 0);
    rtt_post(w, W_CRASH, 0, REASON_X);
    post_fast(w, W_WORK, 0, 100);
    rt_pid_t p = monitor_of(w);
    rtt_gate_release();
    rtt_report_t down = rtt_expect(RTT_DOWN, p);
    cr_assert_eq(down.reason, REASON_X, "DOWN reason %s",
                 rt_reason_name(down.reason));
    cr_assert_eq(atomic_load(&worked), 100);
}

/* The same for a link: the linker (trapping) sees the real reason. */
Test(rt_signal, link_to_a_busy_actor_sees_the_real_reason)
{
    rt_pid_t w = busy_worker(false, 100, 0);
    rtt_post(w, W_CRASH, 0, REASON_X);
    rt_pid_t p = rtt_spawn(&worker, true);
    rtt_report_t ack = rtt_cmd(p, RTT_LINK, w);
    cr_assert_eq(ack.reason, 0);
    rtt_gate_release();
    rtt_report_t ex = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(ex.other, w);
    cr_assert_eq(ex.reason, REASON_X, "EXIT reason %s",
                 rt_reason_name(ex.reason));
}

/* Per-pair order: a trapping actor sees note 1, the EXIT, note 2, as the
 * one sender sent them, although the exit was received (and turned into
 * a message) ahead of the queue. */
Test(rt_signal, trapped_exit_keeps_its_place_among_the_senders_messages)
{
    rt_pid_t w = busy_worker(true, 1000, 0);
    rtt_post(w, W_NOTE, 1, 0);
    cr_assert_eq(rt_exit(rtt_rt, w, REASON_X), 0);
    rtt_post(w, W_NOTE, 2, 0);
    rtt_gate_release();
    rtt_report_t r;
    cr_assert(rtt_wait_report(0, w, RTT_WAIT_MS, &r));
    cr_assert(r.kind == REP_NOTE && r.other == 1, "first %u", r.kind);
    cr_assert(rtt_wait_report(0, w, RTT_WAIT_MS, &r));
    cr_assert(r.kind == RTT_EXIT && r.reason == REASON_X, "second %u", r.kind);
    cr_assert(rtt_wait_report(0, w, RTT_WAIT_MS, &r));
    cr_assert(r.kind == REP_NOTE && r.other == 2, "third %u", r.kind);
    cr_assert_eq(atomic_load(&worked), 1000, "no message was lost");
    rtt_expect_alive(w);
}

/* A non-trapping actor dies of the exit without handling the message its
 * sender queued before it (it was received, not handled: ERTS). */
Test(rt_signal, exit_kills_before_earlier_messages_are_handled)
{
    rt_pid_t w = busy_worker(false, 1000, 0);
    rtt_post(w, W_NOTE, 1, 0);
    cr_assert_eq(rt_exit(rtt_rt, w, REASON_X), 0);
    rtt_gate_release();
    rtt_expect_death(w, REASON_X);
    rtt_expect_none(REP_NOTE, w, RTT_QUIET_MS);
    cr_assert_eq(atomic_load(&worked), 0);
}

/* Shutdown (a supervisor's `shutdown` exit) of a busy, non-trapping
 * worker ends it with reason shutdown at once, never needing a kill. */
Test(rt_signal, shutdown_of_a_busy_worker_is_quick)
{
    rt_pid_t w = busy_worker(false, BACKLOG, 20);
    rt_pid_t p = monitor_of(w);
    rtt_gate_release();
    uint64_t t0 = rtt_now_ms();
    cr_assert_eq(rt_exit(rtt_rt, w, RT_REASON_SHUTDOWN), 0);
    rtt_report_t down = rtt_expect(RTT_DOWN, p);
    cr_assert_eq(down.reason, RT_REASON_SHUTDOWN);
    cr_assert_lt(rtt_now_ms() - t0, 1000);
}

/* A kill from the same sender after a link request still finds the link:
 * the linked (trapping) sender sees `killed`, not noproc. */
static int linker_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == W_NOTE) { /* link to arg, then kill it */
        (void)rt_link(self, m->arg);
        (void)rt_exit(rt_actor_rt(self), m->arg, RT_REASON_KILL);
        return rtt_tell(self, RTT_ACK, m->arg, 0, 0);
    }
    return rtt_probe_handle(self, m);
}

static const rt_behaviour_t linker = {
    .name = "linker",
    .init = rtt_probe_init,
    .handle = linker_handle,
    .destroy = rtt_probe_destroy,
};

Test(rt_signal, link_then_kill_from_one_sender_keeps_their_order)
{
    rt_pid_t w = busy_worker(false, 1000, 0);
    rt_pid_t p = rtt_spawn(&linker, true);
    rtt_cmd(p, W_NOTE, w);
    rtt_gate_release();
    rtt_report_t ex = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(ex.reason, RT_REASON_KILLED, "EXIT reason %s",
                 rt_reason_name(ex.reason));
    rtt_expect_death(w, RT_REASON_KILLED);
}
