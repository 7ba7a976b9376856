/*
 * test_det.c - deterministic mode: one scheduler on the caller's thread, a
 * seeded PRNG picking the next actor, and a virtual clock.
 *
 * The same seed must replay the same interleaving (an event trace written
 * by several actors), different seeds must give different ones, timers
 * fire only when rt_det_advance moves the clock and then in deadline
 * order, and the link/monitor/crash semantics must give the same final
 * outcome under 1,000 interleavings.
 *
 * Everything runs on the test thread, so the actors write straight into
 * the static trace and outcome records below.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define TRACERS 4
#define TICKS 25
#define TRACE_MAX 4096
#define SEEDS 1000
#define CHAT 40 /* messages A1 and B exchange while the tree falls */

enum {
    MSG_TICK = 1, /* tracer: record (id, arg), pass arg - 1 on */
    MSG_REC,      /* recorder: record arg (and the clock) */
    MSG_BUILD,    /* scenario: build the next level of the tree */
    MSG_WATCH,    /* scenario: B monitors arg, then tells it to go */
    MSG_GO,       /* scenario: A2 does what the mode says */
    MSG_CHAT,     /* scenario: pass arg - 1 between A1 and B */
};

static rt_t *rt;       /* the fixture's runtime (seed 1) */
static rt_inbox_t *ib; /* made by the tests that need one */
static uint64_t trace[TRACE_MAX];
static uint64_t when[TRACE_MAX]; /* recorder: rt_now_ms() at each event */
static size_t ntrace;
static rt_pid_t tracers[TRACERS];

static void trace_add(uint64_t ev)
{
    if (ntrace < TRACE_MAX)
        trace[ntrace++] = ev;
}

static rt_t *det_new(uint64_t seed)
{
    rt_opts_t o = {.deterministic = true, .seed = seed, .max_actors = 256};
    rt_t *r = NULL;
    int rc = rt_new(&o, &r);
    cr_assert_eq(rc, 0, "rt_new: %s", cleo_err_name(rc));
    return r;
}

static void send_arg(rt_t *r, rt_pid_t to, uint32_t type, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    int rc = rt_send(r, to, m);
    cr_assert_eq(rc, 0, "rt_send: %s", cleo_err_name(rc));
}

static rt_pid_t spawn_in(rt_t *r, const rt_behaviour_t *beh, uintptr_t arg,
                         bool trap)
{
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = trap};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(r, NULL, beh, (void *)arg, &o, &pid);
    cr_assert_eq(rc, 0, "rt_spawn: %s", cleo_err_name(rc));
    return pid;
}

/* ---- tracers and recorders ------------------------------------------- */

/* The state pointer holds the tracer's id (or the recorder's reply pid):
 * nothing to free. */
static int id_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, arg);
    return 0;
}

static int tracer_handle(rt_actor_t *self, rt_msg_t *m)
{
    uint64_t id = (uintptr_t)rt_state(self);
    if (m->type != MSG_TICK)
        return 0;
    trace_add(id << 32 | m->arg);
    if (m->arg == 0)
        return 0;
    rt_msg_t *next = rt_msg_new(MSG_TICK);
    next->arg = m->arg - 1;
    return rt_send(rt_actor_rt(self), tracers[(id + m->arg) % TRACERS], next);
}

static const rt_behaviour_t tracer_beh = {
    .name = "tracer", .init = id_init, .handle = tracer_handle};

/* Records arg and the virtual time; arg 10 also asks for arg 15 in 5 ms;
 * answers its reply pid, if it has one. */
static int rec_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_t *r = rt_actor_rt(self);
    rt_pid_t reply = (uintptr_t)rt_state(self);
    if (m->type != MSG_REC)
        return 0;
    if (ntrace < TRACE_MAX)
        when[ntrace] = rt_now_ms(r);
    trace_add(m->arg);
    if (m->arg == 10) {
        rt_msg_t *later = rt_msg_new(MSG_REC);
        later->arg = 15;
        if (rt_send_after(r, 5, rt_self(self), later, NULL) < 0)
            return REASON_X;
    }
    if (reply == RT_PID_NONE)
        return 0;
    rt_msg_t *ans = rt_msg_new(MSG_REC);
    ans->arg = m->arg;
    return rt_send(r, reply, ans);
}

static const rt_behaviour_t rec_beh = {
    .name = "recorder", .init = id_init, .handle = rec_handle};

/* Run TRACERS tracers passing ticks around under seed; copy the trace. */
static size_t run_trace(uint64_t seed, uint64_t *out)
{
    rt_t *r = det_new(seed);
    ntrace = 0;
    for (uintptr_t i = 0; i < TRACERS; i++)
        tracers[i] = spawn_in(r, &tracer_beh, i, false);
    for (int i = 0; i < TRACERS; i++)
        send_arg(r, tracers[i], MSG_TICK, TICKS);
    cr_assert_gt(rt_det_run(r, 0), 0);
    cr_assert_eq(ntrace, TRACERS * (TICKS + 1)); /* every tick handled */
    memcpy(out, trace, ntrace * sizeof *trace);
    cr_assert_eq(rt_shutdown(r), 0);
    rt_free(r);
    return ntrace;
}

/* ---- the scenario: S (trapping) links A and B; A links A1 and A2; B
 * monitors A2, then A2 crashes, is killed, stops or errs by mode, while
 * A1 and B chat. ------------------------------------------------------- */

enum { R_S, R_A, R_B, R_A1, R_A2, NROLES };
enum { MODE_PANIC, MODE_KILL, MODE_NORMAL, MODE_ERROR };
#define ALIVE 1 /* no exit reason is positive */

typedef struct outcome_s {
    int dead[NROLES]; /* destroy reason, or ALIVE */
    int exits;        /* EXITs S received, all from A */
    int exit_reason;
    int downs; /* DOWNs B received, all for A2 */
    int down_reason;
    int unexpected; /* any other EXIT or DOWN, or a failed call */
} outcome_t;

static int mode;
static bool recording;
static rt_pid_t pids[NROLES];
static outcome_t got;

static int role_of(rt_pid_t pid)
{
    for (int i = 0; i < NROLES; i++)
        if (pids[i] == pid)
            return i;
    return -1;
}

static int node_init(rt_actor_t *self, void *arg)
{
    pids[(uintptr_t)arg] = rt_self(self);
    rt_set_state(self, arg);
    return 0;
}

static void node_destroy(rt_actor_t *self, int reason)
{
    if (recording)
        got.dead[(uintptr_t)rt_state(self)] = reason;
}

static const rt_behaviour_t node_beh;

static void spawn_linked(rt_actor_t *self, uintptr_t role)
{
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    if (rt_spawn(rt_actor_rt(self), self, &node_beh, (void *)role, &o, NULL) <
        0)
        got.unexpected++;
}

static void send_or_count(rt_t *r, rt_pid_t to, uint32_t type, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    if (rt_send(r, to, m) < 0)
        got.unexpected++;
}

static int on_build(rt_actor_t *self, int role)
{
    rt_t *r = rt_actor_rt(self);
    if (role == R_S) {
        spawn_linked(self, R_A);
        spawn_linked(self, R_B);
        send_or_count(r, pids[R_A], MSG_BUILD, 0);
    } else if (role == R_A) {
        spawn_linked(self, R_A1);
        spawn_linked(self, R_A2);
        send_or_count(r, pids[R_B], MSG_WATCH, pids[R_A2]);
        send_or_count(r, pids[R_A1], MSG_CHAT, CHAT);
    }
    return 0;
}

static int on_watch(rt_actor_t *self, rt_pid_t pid)
{
    rt_ref_t ref;
    if (rt_monitor(self, pid, &ref) < 0)
        got.unexpected++;
    send_or_count(rt_actor_rt(self), pid, MSG_GO, 0);
    return 0;
}

static int on_go(rt_actor_t *self)
{
    switch (mode) {
    case MODE_PANIC:
        cl_panic("A2 crashes");
    case MODE_KILL:
        if (rt_exit(rt_actor_rt(self), pids[R_A], RT_REASON_KILL) < 0)
            got.unexpected++;
        return 0;
    case MODE_NORMAL:
        return RT_STOP;
    default:
        return REASON_X;
    }
}

static int on_chat(rt_actor_t *self, int role, uint64_t n)
{
    if (n == 0)
        return 0;
    rt_msg_t *m = rt_msg_new(MSG_CHAT);
    m->arg = n - 1;
    /* The peer may be dead already: that send is dropped. */
    (void)rt_send(rt_actor_rt(self), pids[role == R_B ? R_A1 : R_B], m);
    return 0;
}

static int on_signal(int role, rt_msg_t *m)
{
    if (!recording)
        return 0; /* shutdown */
    if (m->type == RT_MSG_EXIT && role == R_S && role_of(m->from) == R_A) {
        got.exits++;
        got.exit_reason = m->reason;
    } else if (m->type == RT_MSG_DOWN && role == R_B &&
               role_of(m->from) == R_A2) {
        got.downs++;
        got.down_reason = m->reason;
    } else {
        got.unexpected++;
    }
    return 0;
}

static int node_handle(rt_actor_t *self, rt_msg_t *m)
{
    int role = (int)(uintptr_t)rt_state(self);
    switch (m->type) {
    case MSG_BUILD:
        return on_build(self, role);
    case MSG_WATCH:
        return on_watch(self, m->arg);
    case MSG_GO:
        return on_go(self);
    case MSG_CHAT:
        return on_chat(self, role, m->arg);
    case RT_MSG_EXIT:
    case RT_MSG_DOWN:
        return on_signal(role, m);
    default:
        return 0;
    }
}

static const rt_behaviour_t node_beh = {.name = "node",
                                        .init = node_init,
                                        .handle = node_handle,
                                        .destroy = node_destroy};

/* Play the scenario under seed and return what happened. */
static outcome_t run_scenario(uint64_t seed)
{
    rt_t *r = det_new(seed);
    memset(&got, 0, sizeof got);
    memset(pids, 0, sizeof pids);
    for (int i = 0; i < NROLES; i++)
        got.dead[i] = ALIVE;
    recording = true;
    rt_pid_t s = spawn_in(r, &node_beh, R_S, true);
    send_arg(r, s, MSG_BUILD, 0);
    cr_assert_gt(rt_det_run(r, 0), 0);
    for (int i = 0; i < NROLES; i++)
        if ((got.dead[i] == ALIVE) != rt_is_alive(r, pids[i]))
            got.unexpected++;
    recording = false;
    outcome_t o = got;
    cr_assert_eq(rt_shutdown(r), 0);
    rt_free(r);
    return o;
}

static void check_scenario(int m, const outcome_t *want)
{
    mode = m;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        outcome_t o = run_scenario(seed * 7919);
        for (int i = 0; i < NROLES; i++)
            cr_assert_eq(o.dead[i], want->dead[i],
                         "seed %llu, role %d: %s, expected %s",
                         (unsigned long long)seed, i, rt_reason_name(o.dead[i]),
                         rt_reason_name(want->dead[i]));
        cr_assert_eq(o.exits, want->exits, "seed %llu",
                     (unsigned long long)seed);
        cr_assert_eq(o.downs, want->downs, "seed %llu",
                     (unsigned long long)seed);
        cr_assert_eq(o.exit_reason, want->exit_reason);
        cr_assert_eq(o.down_reason, want->down_reason);
        cr_assert_eq(o.unexpected, 0, "seed %llu", (unsigned long long)seed);
    }
}

/* The expected outcome when A2 dies with `reason` and takes A along
 * (if abnormal), which takes A1 along; S traps, B only monitors. */
static outcome_t tree_falls(int a2_reason, int a_reason)
{
    bool abnormal = a_reason != RT_REASON_NORMAL;
    outcome_t o = {.dead = {ALIVE, ALIVE, ALIVE, ALIVE, a2_reason},
                   .exits = abnormal,
                   .exit_reason = abnormal ? a_reason : 0,
                   .downs = 1,
                   .down_reason = a2_reason};
    if (abnormal)
        o.dead[R_A] = o.dead[R_A1] = a_reason;
    return o;
}

/* ---- fixture ---------------------------------------------------------- */

static void setup(void)
{
    rt = det_new(1);
    ib = NULL;
    ntrace = 0;
}

static void teardown(void)
{
    rt_inbox_free(ib);
    cr_assert_eq(rt_shutdown(rt), 0);
    rt_free(rt);
}

TestSuite(rt_det, .init = setup, .fini = teardown, .timeout = 300);

/* ---- tests ------------------------------------------------------------ */

Test(rt_det, same_seed_replays_the_same_trace)
{
    static uint64_t a[TRACE_MAX], b[TRACE_MAX];
    const uint64_t seeds[] = {1, 42, 0xdeadbeefULL, UINT64_MAX};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        size_t na = run_trace(seeds[i], a), nb = run_trace(seeds[i], b);
        cr_assert_eq(na, nb);
        cr_assert_arr_eq(a, b, na * sizeof *a, "seed %llu diverged",
                         (unsigned long long)seeds[i]);
    }
}

Test(rt_det, different_seeds_give_different_traces)
{
    static uint64_t first[TRACE_MAX], other[TRACE_MAX];
    size_t n = run_trace(1, first);
    int differ = 0;
    for (uint64_t seed = 2; seed <= 8; seed++) {
        cr_assert_eq(run_trace(seed, other), n);
        differ += memcmp(first, other, n * sizeof *first) != 0;
    }
    cr_assert_geq(differ, 1, "8 seeds, one interleaving");
}

Test(rt_det, run_returns_messages_handled_and_respects_max_steps)
{
    rt_pid_t t = spawn_in(rt, &tracer_beh, 0, false);
    for (int i = 0; i < 10; i++)
        send_arg(rt, t, MSG_TICK, 0);
    cr_assert_eq(ntrace, 0, "ran before rt_det_run");
    cr_assert_eq(rt_det_run(rt, 4), 4);
    cr_assert_eq(ntrace, 4);
    cr_assert_eq(rt_det_run(rt, 0), 6);
    cr_assert_eq(rt_det_run(rt, 0), 0);
    cr_assert_eq(ntrace, 10);
}

Test(rt_det, run_and_advance_in_normal_mode_return_estate)
{
    rt_opts_t o = {.schedulers = 1};
    rt_t *normal = NULL;
    cr_assert_eq(rt_new(&o, &normal), 0);
    cr_assert_eq(rt_det_run(normal, 0), CLEO_ESTATE);
    cr_assert_eq(rt_det_advance(normal, 10), CLEO_ESTATE);
    cr_assert_eq(rt_shutdown(normal), 0);
    rt_free(normal);
}

Test(rt_det, timers_fire_only_when_the_clock_advances_and_in_order)
{
    rt_pid_t r = spawn_in(rt, &rec_beh, RT_PID_NONE, false);
    uint64_t t0 = rt_now_ms(rt);
    const uint64_t after[] = {30, 10, 20, 25};
    for (int i = 0; i < 4; i++) {
        rt_msg_t *m = rt_msg_new(MSG_REC);
        m->arg = after[i];
        cr_assert_eq(rt_send_after(rt, after[i], r, m, NULL), 0);
    }
    cr_assert_eq(rt_det_run(rt, 0), 0);
    cr_assert_eq(rt_det_advance(rt, 9), 0);
    cr_assert_eq(ntrace, 0, "a timer fired early");
    cr_assert_eq(rt_now_ms(rt), t0 + 9);
    cr_assert_eq(rt_det_advance(rt, 1), 0);
    cr_assert_eq(ntrace, 1);
    cr_assert_eq(trace[0], 10);
    cr_assert_eq(rt_det_advance(rt, 100), 0);
    cr_assert_eq(rt_now_ms(rt), t0 + 110);
    const uint64_t want[] = {10, 15, 20, 25, 30}; /* 15: set by the 10 */
    cr_assert_eq(ntrace, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(trace[i], want[i], "timer %d fired %llu", i,
                     (unsigned long long)trace[i]);
}

Test(rt_det, advance_steps_the_clock_to_each_timer_in_turn)
{
    rt_pid_t r = spawn_in(rt, &rec_beh, RT_PID_NONE, false);
    uint64_t t0 = rt_now_ms(rt);
    const uint64_t after[] = {30, 10, 20, 25};
    for (int i = 0; i < 4; i++) {
        rt_msg_t *m = rt_msg_new(MSG_REC);
        m->arg = after[i];
        cr_assert_eq(rt_send_after(rt, after[i], r, m, NULL), 0);
    }
    /* One jump: the timer the 10 sets for 15 still fires before 20, and
     * each message is handled with the clock at its deadline. */
    cr_assert_eq(rt_det_advance(rt, 100), 0);
    const uint64_t want[] = {10, 15, 20, 25, 30};
    cr_assert_eq(ntrace, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(trace[i], want[i], "timer %d fired %llu", i,
                     (unsigned long long)trace[i]);
        cr_assert_eq(when[i] - t0, want[i], "timer %llu handled at +%llu ms",
                     (unsigned long long)want[i],
                     (unsigned long long)(when[i] - t0));
    }
    cr_assert_eq(rt_now_ms(rt), t0 + 100);
}

Test(rt_det, cancelled_timer_never_fires)
{
    rt_pid_t r = spawn_in(rt, &rec_beh, RT_PID_NONE, false);
    rt_ref_t keep = 0, drop = 0;
    rt_msg_t *m = rt_msg_new(MSG_REC);
    m->arg = 20;
    cr_assert_eq(rt_send_after(rt, 20, r, m, &drop), 0);
    m = rt_msg_new(MSG_REC);
    m->arg = 30;
    cr_assert_eq(rt_send_after(rt, 30, r, m, &keep), 0);
    cr_assert_eq(rt_timer_cancel(rt, drop), 0);
    cr_assert_eq(rt_timer_cancel(rt, drop), CLEO_ENOTFOUND);
    cr_assert_eq(rt_det_advance(rt, 100), 0);
    cr_assert_eq(ntrace, 1);
    cr_assert_eq(trace[0], 30);
    cr_assert_eq(rt_timer_cancel(rt, keep), CLEO_ENOTFOUND, "already fired");
}

Test(rt_det, inbox_recv_runs_the_runtime)
{
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    rt_pid_t r = spawn_in(rt, &rec_beh, rt_inbox_pid(ib), false);
    send_arg(rt, r, MSG_REC, 7);
    rt_msg_t *m = NULL;
    cr_assert_eq(rt_inbox_recv(ib, 1000, &m), 0);
    cr_assert_eq(m->type, MSG_REC);
    cr_assert_eq(m->arg, 7);
    rt_msg_free(m);
    cr_assert_eq(ntrace, 1);
    cr_assert_eq(rt_inbox_recv(ib, 10, &m), CLEO_ETIMEDOUT);
}

Test(rt_det, panic_scenario_has_one_outcome_under_1000_seeds)
{
    outcome_t want = tree_falls(CLEO_EPANIC, CLEO_EPANIC);
    check_scenario(MODE_PANIC, &want);
}

Test(rt_det, error_scenario_has_one_outcome_under_1000_seeds)
{
    outcome_t want = tree_falls(REASON_X, REASON_X);
    check_scenario(MODE_ERROR, &want);
}

Test(rt_det, kill_scenario_has_one_outcome_under_1000_seeds)
{
    outcome_t want = tree_falls(RT_REASON_KILLED, RT_REASON_KILLED);
    check_scenario(MODE_KILL, &want);
}

Test(rt_det, normal_exit_scenario_has_one_outcome_under_1000_seeds)
{
    outcome_t want = tree_falls(RT_REASON_NORMAL, RT_REASON_NORMAL);
    check_scenario(MODE_NORMAL, &want);
}
