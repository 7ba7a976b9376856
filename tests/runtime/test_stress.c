/*
 * test_stress.c - the runtime under load: a million actors alive at once,
 * per-sender FIFO with 100 concurrent senders, fairness towards an actor
 * with a million queued messages, a kill that overtakes a backlog, and
 * pid reuse (same slot, new generation) that never delivers the old pid's
 * messages or signals.
 *
 * Everything is deterministic in what it asserts: no test depends on a
 * race being won, only on bounds (a pong within 250 ms while a million
 * messages wait).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_GO = 1,     /* sender: send the next chunk */
    MSG_NUM,        /* receiver: arg = sender << 32 | seq */
    MSG_GATE,       /* flooded: block on the gate pipe until released */
    MSG_WORK,       /* flooded: a few microseconds of work */
    MSG_PING,       /* ponger / echo */
    REP_DONE = 100, /* receiver: arg = total, reason = disorder */
    REP_BAD_FROM,   /* receiver: a sender's from changed */
    REP_PONG,
    REP_GOT, /* echo: arg = m->arg */
};

#define SENDERS 100
#define PER_SENDER 10000
#define CHUNK 500
#define FLOOD 1000000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- behaviours -------------------------------------------------------- */

static int mini_handle(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}

static const rt_behaviour_t mini_beh = {.name = "mini", .handle = mini_handle};

typedef struct receiver_s {
    uint64_t total;
    int32_t disorder;
    uint32_t next[SENDERS];
    rt_pid_t from[SENDERS];
} receiver_t;

static int receiver_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, calloc(1, sizeof(receiver_t)));
    return 0;
}

static int on_num(receiver_t *r, rt_msg_t *m)
{
    uint32_t who = (uint32_t)(m->arg >> 32), seq = (uint32_t)m->arg;
    if (who >= SENDERS || seq != r->next[who])
        r->disorder++;
    if (who < SENDERS) {
        if (r->from[who] == RT_PID_NONE)
            r->from[who] = m->from;
        else if (r->from[who] != m->from)
            rtt_notify(REP_BAD_FROM, who, 0);
        r->next[who] = seq + 1;
    }
    if (++r->total == (uint64_t)SENDERS * PER_SENDER)
        rtt_notify(REP_DONE, r->total, r->disorder);
    return 0;
}

static int receiver_handle(rt_actor_t *self, rt_msg_t *m)
{
    return m->type == MSG_NUM ? on_num(rt_state(self), m) : 0;
}

static void free_state(rt_actor_t *self, int reason)
{
    free(rt_state(self));
}

static const rt_behaviour_t receiver_beh = {
    .name = "receiver",
    .init = receiver_init,
    .handle = receiver_handle,
    .destroy = free_state,
};

typedef struct sender_s {
    uint32_t idx, sent;
    rt_pid_t to;
} sender_t;

static int sender_init(rt_actor_t *self, void *arg)
{
    sender_t *s = malloc(sizeof(*s));
    *s = *(const sender_t *)arg;
    rt_set_state(self, s);
    return 0;
}

/* Send one chunk, then continue by messaging ourselves (bounded work). */
static int sender_handle(rt_actor_t *self, rt_msg_t *m)
{
    sender_t *s = rt_state(self);
    rt_t *r = rt_actor_rt(self);
    for (int i = 0; i < CHUNK && s->sent < PER_SENDER; i++, s->sent++) {
        rt_msg_t *n = rt_msg_new(MSG_NUM);
        n->arg = (uint64_t)s->idx << 32 | s->sent;
        if (rt_send(r, s->to, n) != 0)
            return -1;
    }
    if (s->sent < PER_SENDER)
        (void)rt_send(r, rt_self(self), rt_msg_new(MSG_GO));
    return 0;
}

static const rt_behaviour_t sender_beh = {
    .name = "sender",
    .init = sender_init,
    .handle = sender_handle,
    .destroy = free_state,
};

static void spin_us(uint64_t us)
{
    uint64_t end = now_ns() + us * 1000;
    while (now_ns() < end)
        ;
}

static int flooded_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case MSG_GATE:
        return rtt_gate_block();
    case MSG_WORK:
        spin_us(5);
        return 0;
    default:
        return 0;
    }
}

static const rt_behaviour_t flooded_beh = {.name = "flooded",
                                           .handle = flooded_handle};

static int echo_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == MSG_PING)
        rtt_notify(REP_PONG, 0, 0);
    else
        rtt_notify(REP_GOT, m->arg, 0);
    return 0;
}

static const rt_behaviour_t echo_beh = {.name = "echo", .handle = echo_handle};

/* ---- fixtures ---------------------------------------------------------- */

static void start(uint32_t schedulers, uint32_t max_actors)
{
    rt_opts_t o = {.schedulers = schedulers, .max_actors = max_actors};
    rtt_start(&o);
}

static void setup(void)
{
    start(2, 0);
}
static void setup_one_sched(void)
{
    start(1, 0);
}
static void setup_small(void)
{
    start(2, 64);
}

static void teardown(void)
{
    rtt_gate_unstick(); /* never leave a scheduler blocked on the gate */
    rtt_fini();
    rtt_gate_close_pipes();
}

static rt_stats_t stats(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s;
}

static rt_pid_t spawn(const rt_behaviour_t *beh, void *arg)
{
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rtt_rt, NULL, beh, arg, NULL, &pid);
    cr_assert_eq(rc, 0, "spawn %s: %s", beh->name, cleo_err_name(rc));
    return pid;
}

static void wait_dead(rt_pid_t pid)
{
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
}

/* ---- tests ------------------------------------------------------------- */

Test(rt_stress, million_actors_alive_at_once, .init = setup, .fini = teardown,
     .timeout = 120)
{
    enum { N = 1000000 };
    rt_pid_t *pids = malloc(N * sizeof(*pids));
    uint64_t base = stats().actors, t0 = now_ns();
    int failed = 0, first_rc = 0;
    for (int i = 0; i < N; i++) {
        int rc = rt_spawn(rtt_rt, NULL, &mini_beh, NULL, NULL, &pids[i]);
        if (rc != 0 && failed++ == 0)
            first_rc = rc;
    }
    cr_assert_eq(failed, 0, "%d spawns failed, first: %s", failed,
                 cleo_err_name(first_rc));
    rt_stats_t s = stats();
    cr_assert_eq(s.actors, base + N, "alive: %llu",
                 (unsigned long long)s.actors);
    cr_assert(rt_is_alive(rtt_rt, pids[0]) && rt_is_alive(rtt_rt, pids[N - 1]));
    cr_log_info("spawned %d actors in %llu ms", N,
                (unsigned long long)((now_ns() - t0) / 1000000));

    for (int i = 0; i < N; i++)
        if (rt_exit(rtt_rt, pids[i], RT_REASON_KILL) != 0)
            failed++;
    cr_assert_eq(failed, 0, "%d kills failed", failed);
    for (int i = 0; i < 60000 && stats().actors != base; i++)
        rtt_sleep_ms(1);
    s = stats();
    cr_assert_eq(s.actors, base, "still alive: %llu",
                 (unsigned long long)(s.actors - base));
    cr_assert_not(rt_is_alive(rtt_rt, pids[0]));
    cr_assert_not(rt_is_alive(rtt_rt, pids[N / 2]));
    cr_log_info("spawned and killed %d actors in %llu ms", N,
                (unsigned long long)((now_ns() - t0) / 1000000));
    free(pids);
}

Test(rt_stress, hundred_senders_keep_per_sender_fifo, .init = setup,
     .fini = teardown, .timeout = 120)
{
    rt_pid_t recv = spawn(&receiver_beh, NULL);
    rt_pid_t senders[SENDERS];
    for (uint32_t i = 0; i < SENDERS; i++) {
        sender_t s = {.idx = i, .to = recv};
        senders[i] = spawn(&sender_beh, &s);
    }
    for (int i = 0; i < SENDERS; i++)
        cr_assert_eq(rt_send(rtt_rt, senders[i], rt_msg_new(MSG_GO)), 0);
    rt_msg_t *m = rtt_expect_msg(REP_DONE, 60000);
    cr_assert_eq(m->arg, (uint64_t)SENDERS * PER_SENDER);
    cr_assert_eq(m->reason, 0, "%d messages out of order", m->reason);
    rt_msg_free(m);
    rtt_expect_silence(50); /* no REP_BAD_FROM */
}

Test(rt_stress, flooded_actor_cannot_starve_others, .init = setup_one_sched,
     .fini = teardown, .timeout = 120)
{
    rtt_gate_open_pipes();
    rt_pid_t flooded = spawn(&flooded_beh, NULL);
    rt_pid_t ponger = spawn(&echo_beh, NULL);
    /* Hold the only scheduler so the whole flood is queued first. */
    cr_assert_eq(rt_send(rtt_rt, flooded, rt_msg_new(MSG_GATE)), 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < FLOOD; i++)
        cr_assert_eq(rt_send(rtt_rt, flooded, rt_msg_new(MSG_WORK)), 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, flooded, &info), 0);
    cr_assert_geq(info.mailbox, FLOOD, "queued: %llu",
                  (unsigned long long)info.mailbox);

    rtt_gate_release();
    uint64_t t0 = now_ns();
    cr_assert_eq(rt_send(rtt_rt, ponger, rt_msg_new(MSG_PING)), 0);
    rt_msg_free(rtt_expect_msg(REP_PONG, 5000));
    uint64_t pong_ms = (now_ns() - t0) / 1000000;
    cr_assert_eq(rt_actor_info(rtt_rt, flooded, &info), 0);
    cr_assert_lt(pong_ms, 250, "pong took %llu ms",
                 (unsigned long long)pong_ms);
    cr_assert_gt(info.mailbox, FLOOD / 2,
                 "the ping waited for the flood to drain (%llu left)",
                 (unsigned long long)info.mailbox);
}

/* Erlang handles exit signals ahead of queued messages: a kill must not
 * wait for a backlog to drain (here ~1 s of queued work). */
Test(rt_stress, kill_reaches_a_flooded_actor_ahead_of_its_backlog,
     .init = setup_one_sched, .fini = teardown, .timeout = 120)
{
    enum { BACKLOG = 200000 };
    rtt_gate_open_pipes();
    rt_pid_t flooded = spawn(&flooded_beh, NULL);
    cr_assert_eq(rt_send(rtt_rt, flooded, rt_msg_new(MSG_GATE)), 0);
    rtt_gate_wait_blocked();
    for (int i = 0; i < BACKLOG; i++)
        cr_assert_eq(rt_send(rtt_rt, flooded, rt_msg_new(MSG_WORK)), 0);
    cr_assert_eq(rt_exit(rtt_rt, flooded, RT_REASON_KILL), 0);
    uint64_t t0 = now_ns();
    rtt_gate_release();
    for (int i = 0; i < 10000 && rt_is_alive(rtt_rt, flooded); i++)
        rtt_sleep_ms(1);
    uint64_t took_ms = (now_ns() - t0) / 1000000;
    cr_assert_not(rt_is_alive(rtt_rt, flooded));
    cr_assert_lt(took_ms, 250, "the kill waited %llu ms behind the backlog",
                 (unsigned long long)took_ms);
}

/* Spawn until an actor lands in `slot` again, keeping the others alive so
 * that the small slot space must run out. */
static rt_pid_t spawn_into_slot(uint32_t slot)
{
    for (int i = 0; i < 64; i++) {
        rt_pid_t pid = RT_PID_NONE;
        if (rt_spawn(rtt_rt, NULL, &echo_beh, NULL, NULL, &pid) != 0)
            break;
        if (RT_PID_SLOT(pid) == slot)
            return pid;
    }
    cr_assert_fail("slot %u was never reused", slot);
    return RT_PID_NONE;
}

Test(rt_stress, reused_slot_never_gets_the_old_pids_messages,
     .init = setup_small, .fini = teardown, .timeout = 60)
{
    rt_pid_t old = spawn(&echo_beh, NULL);
    cr_assert_eq(rt_exit(rtt_rt, old, RT_REASON_KILL), 0);
    wait_dead(old);
    rt_pid_t pid = spawn_into_slot(RT_PID_SLOT(old));
    cr_assert_neq(pid, old);
    cr_assert_neq(RT_PID_GEN(pid), RT_PID_GEN(old), "same slot, new gen");
    cr_assert_not(rt_is_alive(rtt_rt, old));

    rt_stats_t before = stats();
    rt_msg_t *m = rt_msg_new(MSG_NUM);
    m->arg = 1;
    cr_assert_eq(rt_send(rtt_rt, old, m), CLEO_ENOPROC);
    cr_assert_eq(stats().dropped, before.dropped + 1);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rtt_rt, old, &info), CLEO_ENOPROC);
    cr_assert_eq(rt_register(rtt_rt, "stale", old), CLEO_ENOPROC);
    cr_assert_eq(rt_whereis(rtt_rt, "stale"), RT_PID_NONE);
    cr_assert_eq(rt_exit(rtt_rt, old, RT_REASON_KILL), CLEO_ENOPROC);
    rtt_expect_silence(100); /* the new actor got nothing */
    cr_assert(rt_is_alive(rtt_rt, pid), "a stale kill hit the new actor");

    m = rt_msg_new(MSG_NUM);
    m->arg = 2;
    cr_assert_eq(rt_send(rtt_rt, pid, m), 0);
    m = rtt_expect_msg(REP_GOT, 2000);
    cr_assert_eq(m->arg, 2);
    cr_assert_eq(m->from, pid);
    rt_msg_free(m);
}

Test(rt_stress, timer_for_a_dead_pid_does_not_reach_the_slots_new_owner,
     .init = setup_small, .fini = teardown, .timeout = 60)
{
    rt_pid_t old = spawn(&echo_beh, NULL);
    rt_msg_t *m = rt_msg_new(MSG_NUM);
    m->arg = 1;
    cr_assert_eq(rt_send_after(rtt_rt, 100, old, m, NULL), 0);
    rt_stats_t before = stats();
    cr_assert_eq(rt_exit(rtt_rt, old, RT_REASON_KILL), 0);
    wait_dead(old);
    rt_pid_t pid = spawn_into_slot(RT_PID_SLOT(old));
    rtt_expect_silence(300); /* the timer fired in here, for the old pid */
    cr_assert(rt_is_alive(rtt_rt, pid));
    cr_assert_eq(stats().dropped, before.dropped + 1);
}
