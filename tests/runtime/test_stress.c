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
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

static rt_t *rt;
static rt_inbox_t *ib;
static rt_pid_t me;
static int gate[2] = {-1, -1}, ack[2] = {-1, -1};

/* The gate: a handler blocks on gate[0] after writing to ack[1]. The test
 * waits on the ack pipe, not the inbox: the inbox's proxy actor may be
 * queued behind the blocked handler. */
static void gate_open_pipes(void)
{
    cr_assert_eq(pipe(gate), 0);
    cr_assert_eq(pipe(ack), 0);
}

static int gate_block(void)
{
    char c = 'g';
    if (write(ack[1], &c, 1) != 1)
        return -1;
    return read(gate[0], &c, 1) == 1 ? 0 : -1;
}

static void gate_wait_blocked(void)
{
    struct pollfd p = {.fd = ack[0], .events = POLLIN};
    char c;
    cr_assert_eq(poll(&p, 1, 5000), 1, "the handler never reached the gate");
    cr_assert_eq(read(ack[0], &c, 1), 1);
}

static void gate_release(void)
{
    cr_assert_eq(write(gate[1], "x", 1), 1);
}

static void gate_close_pipes(void)
{
    for (int i = 0; i < 2; i++) {
        if (gate[i] >= 0)
            close(gate[i]);
        if (ack[i] >= 0)
            close(ack[i]);
    }
}

static void report(uint32_t type, uint64_t arg, int32_t reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    (void)rt_send(rt, me, m);
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

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
            report(REP_BAD_FROM, who, 0);
        r->next[who] = seq + 1;
    }
    if (++r->total == (uint64_t)SENDERS * PER_SENDER)
        report(REP_DONE, r->total, r->disorder);
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
        return gate_block();
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
        report(REP_PONG, 0, 0);
    else
        report(REP_GOT, m->arg, 0);
    return 0;
}

static const rt_behaviour_t echo_beh = {.name = "echo", .handle = echo_handle};

/* ---- fixtures ---------------------------------------------------------- */

static void start(uint32_t schedulers, uint32_t max_actors)
{
    rt_opts_t o = {.schedulers = schedulers, .max_actors = max_actors};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    me = rt_inbox_pid(ib);
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
    if (gate[1] >= 0) /* never leave a scheduler blocked on the gate */
        (void)write(gate[1], "x", 1);
    rt_inbox_free(ib);
    cr_assert_eq(rt_shutdown(rt), 0);
    rt_free(rt);
    gate_close_pipes();
}

static rt_msg_t *expect(uint32_t type, uint32_t ms)
{
    rt_msg_t *m = NULL;
    int rc = rt_inbox_recv(ib, ms, &m);
    cr_assert_eq(rc, 0, "waiting for type %u: %s", type, cleo_err_name(rc));
    cr_assert_eq(m->type, type, "got type %u, wanted %u", m->type, type);
    return m;
}

static void expect_silence(uint32_t ms)
{
    rt_msg_t *m = NULL;
    int rc = rt_inbox_recv(ib, ms, &m);
    cr_assert_eq(rc, CLEO_ETIMEDOUT, "unexpected message type %u arg %llu",
                 m ? m->type : 0, m ? (unsigned long long)m->arg : 0);
}

static rt_stats_t stats(void)
{
    rt_stats_t s;
    rt_stats(rt, &s);
    return s;
}

static rt_pid_t spawn(const rt_behaviour_t *beh, void *arg)
{
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rt, NULL, beh, arg, NULL, &pid);
    cr_assert_eq(rc, 0, "spawn %s: %s", beh->name, cleo_err_name(rc));
    return pid;
}

static void wait_dead(rt_pid_t pid)
{
    for (int i = 0; i < 5000 && rt_is_alive(rt, pid); i++)
        nap_ms(1);
    cr_assert_not(rt_is_alive(rt, pid));
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
        int rc = rt_spawn(rt, NULL, &mini_beh, NULL, NULL, &pids[i]);
        if (rc != 0 && failed++ == 0)
            first_rc = rc;
    }
    cr_assert_eq(failed, 0, "%d spawns failed, first: %s", failed,
                 cleo_err_name(first_rc));
    rt_stats_t s = stats();
    cr_assert_eq(s.actors, base + N, "alive: %llu",
                 (unsigned long long)s.actors);
    cr_assert(rt_is_alive(rt, pids[0]) && rt_is_alive(rt, pids[N - 1]));
    cr_log_info("spawned %d actors in %llu ms", N,
                (unsigned long long)((now_ns() - t0) / 1000000));

    for (int i = 0; i < N; i++)
        if (rt_exit(rt, pids[i], RT_REASON_KILL) != 0)
            failed++;
    cr_assert_eq(failed, 0, "%d kills failed", failed);
    for (int i = 0; i < 60000 && stats().actors != base; i++)
        nap_ms(1);
    s = stats();
    cr_assert_eq(s.actors, base, "still alive: %llu",
                 (unsigned long long)(s.actors - base));
    cr_assert_not(rt_is_alive(rt, pids[0]));
    cr_assert_not(rt_is_alive(rt, pids[N / 2]));
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
        cr_assert_eq(rt_send(rt, senders[i], rt_msg_new(MSG_GO)), 0);
    rt_msg_t *m = expect(REP_DONE, 60000);
    cr_assert_eq(m->arg, (uint64_t)SENDERS * PER_SENDER);
    cr_assert_eq(m->reason, 0, "%d messages out of order", m->reason);
    rt_msg_free(m);
    expect_silence(50); /* no REP_BAD_FROM */
}

Test(rt_stress, flooded_actor_cannot_starve_others, .init = setup_one_sched,
     .fini = teardown, .timeout = 120)
{
    gate_open_pipes();
    rt_pid_t flooded = spawn(&flooded_beh, NULL);
    rt_pid_t ponger = spawn(&echo_beh, NULL);
    /* Hold the only scheduler so the whole flood is queued first. */
    cr_assert_eq(rt_send(rt, flooded, rt_msg_new(MSG_GATE)), 0);
    gate_wait_blocked();
    for (int i = 0; i < FLOOD; i++)
        cr_assert_eq(rt_send(rt, flooded, rt_msg_new(MSG_WORK)), 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, flooded, &info), 0);
    cr_assert_geq(info.mailbox, FLOOD, "queued: %llu",
                  (unsigned long long)info.mailbox);

    gate_release();
    uint64_t t0 = now_ns();
    cr_assert_eq(rt_send(rt, ponger, rt_msg_new(MSG_PING)), 0);
    rt_msg_free(expect(REP_PONG, 5000));
    uint64_t pong_ms = (now_ns() - t0) / 1000000;
    cr_assert_eq(rt_actor_info(rt, flooded, &info), 0);
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
    gate_open_pipes();
    rt_pid_t flooded = spawn(&flooded_beh, NULL);
    cr_assert_eq(rt_send(rt, flooded, rt_msg_new(MSG_GATE)), 0);
    gate_wait_blocked();
    for (int i = 0; i < BACKLOG; i++)
        cr_assert_eq(rt_send(rt, flooded, rt_msg_new(MSG_WORK)), 0);
    cr_assert_eq(rt_exit(rt, flooded, RT_REASON_KILL), 0);
    uint64_t t0 = now_ns();
    gate_release();
    for (int i = 0; i < 10000 && rt_is_alive(rt, flooded); i++)
        nap_ms(1);
    uint64_t took_ms = (now_ns() - t0) / 1000000;
    cr_assert_not(rt_is_alive(rt, flooded));
    cr_assert_lt(took_ms, 250, "the kill waited %llu ms behind the backlog",
                 (unsigned long long)took_ms);
}

/* Spawn until an actor lands in `slot` again, keeping the others alive so
 * that the small slot space must run out. */
static rt_pid_t spawn_into_slot(uint32_t slot)
{
    for (int i = 0; i < 64; i++) {
        rt_pid_t pid = RT_PID_NONE;
        if (rt_spawn(rt, NULL, &echo_beh, NULL, NULL, &pid) != 0)
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
    cr_assert_eq(rt_exit(rt, old, RT_REASON_KILL), 0);
    wait_dead(old);
    rt_pid_t pid = spawn_into_slot(RT_PID_SLOT(old));
    cr_assert_neq(pid, old);
    cr_assert_neq(RT_PID_GEN(pid), RT_PID_GEN(old), "same slot, new gen");
    cr_assert_not(rt_is_alive(rt, old));

    rt_stats_t before = stats();
    rt_msg_t *m = rt_msg_new(MSG_NUM);
    m->arg = 1;
    cr_assert_eq(rt_send(rt, old, m), CLEO_ENOPROC);
    cr_assert_eq(stats().dropped, before.dropped + 1);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, old, &info), CLEO_ENOPROC);
    cr_assert_eq(rt_register(rt, "stale", old), CLEO_ENOPROC);
    cr_assert_eq(rt_whereis(rt, "stale"), RT_PID_NONE);
    cr_assert_eq(rt_exit(rt, old, RT_REASON_KILL), CLEO_ENOPROC);
    expect_silence(100); /* the new actor got nothing */
    cr_assert(rt_is_alive(rt, pid), "a stale kill hit the new actor");

    m = rt_msg_new(MSG_NUM);
    m->arg = 2;
    cr_assert_eq(rt_send(rt, pid, m), 0);
    m = expect(REP_GOT, 2000);
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
    cr_assert_eq(rt_send_after(rt, 100, old, m, NULL), 0);
    rt_stats_t before = stats();
    cr_assert_eq(rt_exit(rt, old, RT_REASON_KILL), 0);
    wait_dead(old);
    rt_pid_t pid = spawn_into_slot(RT_PID_SLOT(old));
    expect_silence(300); /* the timer fired in here, for the old pid */
    cr_assert(rt_is_alive(rt, pid));
    cr_assert_eq(stats().dropped, before.dropped + 1);
}
