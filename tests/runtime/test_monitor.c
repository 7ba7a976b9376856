/*
 * test_monitor.c - monitors with Erlang's semantics: one DOWN with the
 * reason, noproc for a dead pid, demonitor (also dropping a DOWN already
 * queued), RT_SPAWN_MONITOR, and monitor/demonitor racing a dying target
 * (run this one under TSan too).
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK, forward DOWN messages, and report their own destroy(reason).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/rt.h"

#define REASON_X (-4242) /* an application's abnormal exit reason */
#define WAIT_MS 10000    /* how long an expected report may take */
#define QUIET_MS 50      /* how long we watch to see nothing happen */
#define STASH_MAX 512
#define RACE_ROUNDS 20
#define RACERS 32
#define RACE_ITERS 2000 /* most iterations a racer makes */

enum {
    CMD_PING = 1,   /* ack */
    CMD_LINK,       /* ack reason = rt_link(arg) */
    CMD_STOP,       /* exit: return m->reason (0: RT_STOP) */
    CMD_MONITOR,    /* ack ref, reason = rt_monitor(arg) */
    CMD_DEMONITOR,  /* ack reason = rt_demonitor(ref = arg) */
    CMD_SPAWN,      /* spawn a child probe, flags = arg; ack other, ref */
    CMD_KILL_DEMON, /* monitor arg, kill it, wait, demonitor: ack rc */
    CMD_RACE,       /* monitor/demonitor arg m->reason times, then keep one */
    REP_ACK = 100,
    REP_EXIT,    /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN,    /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY, /* destroy ran: reason */
    REP_STRAY,   /* a DOWN for a monitor that was removed */
};

/* What a probe tells the inbox; the payload of every REP_* message. */
typedef struct report_s {
    uint32_t kind;
    rt_pid_t who;   /* the reporting actor (the inbox for its own DOWNs) */
    rt_pid_t other; /* the pid the report is about */
    rt_ref_t ref;
    int reason; /* an exit reason or a return code */
} report_t;

typedef struct probe_s {
    rt_pid_t to;   /* where reports go */
    rt_ref_t keep; /* CMD_RACE: the one monitor left in place */
} probe_t;

static rt_t *rt;
static rt_inbox_t *ib;
static rt_pid_t ibp;
static report_t stash[STASH_MAX]; /* received, not yet expected */
static int nstash;

/* ---- actors ----------------------------------------------------------- */

static void report(rt_t *r, rt_pid_t to, const report_t *rep)
{
    report_t *p = malloc(sizeof *p);
    if (p == NULL)
        abort();
    *p = *rep;
    rt_msg_t *m = rt_msg_new(rep->kind);
    m->payload = p;
    m->payload_free = free;
    (void)rt_send(r, to, m); /* the inbox may be gone at shutdown */
}

static int tell(rt_actor_t *self, uint32_t kind, rt_pid_t other, rt_ref_t ref,
                int reason)
{
    probe_t *p = rt_state(self);
    report_t rep = {kind, rt_self(self), other, ref, reason};
    report(rt_actor_rt(self), p->to, &rep);
    return 0;
}

static int probe_init(rt_actor_t *self, void *arg)
{
    probe_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return CLEO_ENOMEM;
    p->to = (rt_pid_t)(uintptr_t)arg;
    rt_set_state(self, p);
    return 0;
}

static void probe_destroy(rt_actor_t *self, int reason)
{
    tell(self, REP_DESTROY, rt_self(self), 0, reason);
    free(rt_state(self));
}

static const rt_behaviour_t probe_beh;

static int on_monitor(rt_actor_t *self, rt_pid_t pid)
{
    rt_ref_t ref = 0;
    int rc = rt_monitor(self, pid, &ref);
    return tell(self, REP_ACK, pid, ref, rc);
}

static int on_spawn(rt_actor_t *self, uint32_t flags)
{
    probe_t *p = rt_state(self);
    rt_ref_t ref = 0;
    rt_pid_t child = RT_PID_NONE;
    rt_spawn_opts_t o = {
        .flags = flags, .sched = RT_SCHED_ANY, .mon_ref = &ref};
    int rc = rt_spawn(rt_actor_rt(self), self, &probe_beh,
                      (void *)(uintptr_t)p->to, &o, &child);
    return tell(self, REP_ACK, child, ref, rc);
}

/* Monitor t, kill it, and wait (blocking this scheduler on purpose; t is
 * pinned to another one) until its DOWN is queued here, then demonitor:
 * the DOWN must never be handled. */
static int on_kill_demon(rt_actor_t *self, rt_pid_t t)
{
    rt_t *r = rt_actor_rt(self);
    rt_ref_t ref = 0;
    int rc = rt_monitor(self, t, &ref);
    if (rc == 0)
        rc = rt_exit(r, t, RT_REASON_KILL);
    if (rc < 0)
        return tell(self, REP_ACK, t, 0, rc);
    struct timespec ms = {0, 1000000};
    int dead_ms = 0;
    for (int i = 0; i < 5000 && dead_ms < 200; i++) {
        rt_actor_info_t info;
        if (rt_actor_info(r, rt_self(self), &info) == 0 && info.mailbox > 0)
            break;
        dead_ms += !rt_is_alive(r, t);
        nanosleep(&ms, NULL);
    }
    return tell(self, REP_ACK, t, ref, rt_demonitor(self, ref));
}

/* Monitor and demonitor t over and over while it may be dying, then leave
 * one monitor in place. Ack reason = the number of failed calls. */
static int on_race(rt_actor_t *self, rt_pid_t t, int iters)
{
    probe_t *p = rt_state(self);
    int bad = 0;
    for (int i = 0; i < iters; i++) {
        rt_ref_t ref = 0;
        if (rt_monitor(self, t, &ref) != 0 || rt_demonitor(self, ref) != 0)
            bad++;
    }
    if (rt_monitor(self, t, &p->keep) != 0)
        bad++;
    return tell(self, REP_ACK, t, p->keep, bad);
}

static int on_down(rt_actor_t *self, rt_msg_t *m)
{
    probe_t *p = rt_state(self);
    uint32_t kind = p->keep == 0 || m->ref == p->keep ? REP_DOWN : REP_STRAY;
    return tell(self, kind, m->from, m->ref, m->reason);
}

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case CMD_PING:
        return tell(self, REP_ACK, m->arg, 0, 0);
    case CMD_LINK:
        return tell(self, REP_ACK, m->arg, 0, rt_link(self, m->arg));
    case CMD_STOP:
        return m->reason == 0 ? RT_STOP : m->reason;
    case CMD_MONITOR:
        return on_monitor(self, m->arg);
    case CMD_DEMONITOR:
        return tell(self, REP_ACK, 0, m->arg, rt_demonitor(self, m->arg));
    case CMD_SPAWN:
        return on_spawn(self, (uint32_t)m->arg);
    case CMD_KILL_DEMON:
        return on_kill_demon(self, m->arg);
    case CMD_RACE:
        return on_race(self, m->arg, m->reason);
    case RT_MSG_EXIT:
        return tell(self, REP_EXIT, m->from, m->ref, m->reason);
    case RT_MSG_DOWN:
        return on_down(self, m);
    default:
        return 0;
    }
}

static const rt_behaviour_t probe_beh = {
    .name = "probe",
    .init = probe_init,
    .handle = probe_handle,
    .destroy = probe_destroy,
};

/* ---- the test thread's side ------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static report_t to_report(rt_msg_t *m)
{
    report_t r = {m->type, ibp, m->from, m->ref, m->reason};
    if (m->type < RT_MSG_SYS_BASE && m->payload != NULL)
        r = *(const report_t *)m->payload;
    rt_msg_free(m);
    return r;
}

/* Take the oldest stashed report of kind (0 = any) from who (0 = anyone). */
static bool take(uint32_t kind, rt_pid_t who, report_t *out)
{
    for (int i = 0; i < nstash; i++) {
        if ((kind != 0 && stash[i].kind != kind) ||
            (who != 0 && stash[i].who != who))
            continue;
        *out = stash[i];
        memmove(&stash[i], &stash[i + 1], (nstash - i - 1) * sizeof *stash);
        nstash--;
        return true;
    }
    return false;
}

/* Wait up to ms for a matching report, stashing the others for later. */
static bool wait_report(uint32_t kind, rt_pid_t who, uint32_t ms, report_t *out)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        if (take(kind, who, out))
            return true;
        uint64_t t = now_ms();
        rt_msg_t *m = NULL;
        int rc = rt_inbox_recv(ib, t >= end ? 0 : (uint32_t)(end - t), &m);
        if (rc == CLEO_ETIMEDOUT)
            return false;
        cr_assert_eq(rc, 0, "rt_inbox_recv: %s", cleo_err_name(rc));
        cr_assert_lt(nstash, STASH_MAX, "too many unexpected reports");
        stash[nstash++] = to_report(m);
    }
}

static report_t expect(uint32_t kind, rt_pid_t who)
{
    report_t r;
    cr_assert(wait_report(kind, who, WAIT_MS, &r), "no report %u from %#llx",
              kind, (unsigned long long)who);
    return r;
}

static void expect_none(uint32_t kind, rt_pid_t who, uint32_t ms)
{
    report_t r;
    cr_assert_not(wait_report(kind, who, ms, &r),
                  "unexpected report %u from %#llx (other %#llx, reason %s)",
                  kind, (unsigned long long)who, (unsigned long long)r.other,
                  rt_reason_name(r.reason));
}

static void post(rt_pid_t to, uint32_t type, uint64_t arg, int reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    int rc = rt_send(rt, to, m);
    cr_assert_eq(rc, 0, "rt_send: %s", cleo_err_name(rc));
}

/* Send a command and wait for its ack. */
static report_t cmd(rt_pid_t to, uint32_t type, uint64_t arg)
{
    post(to, type, arg, 0);
    return expect(REP_ACK, to);
}

static rt_pid_t spawn_probe(bool trap)
{
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = trap};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rt, NULL, &probe_beh, (void *)(uintptr_t)ibp, &o, &pid);
    cr_assert_eq(rc, 0, "rt_spawn: %s", cleo_err_name(rc));
    return pid;
}

/* The actor died with `reason`, as its destroy callback saw it. */
static void expect_death(rt_pid_t pid, int reason)
{
    report_t r = expect(REP_DESTROY, pid);
    cr_assert_eq(r.reason, reason, "died with %s, expected %s",
                 rt_reason_name(r.reason), rt_reason_name(reason));
}

/* The actor is alive and answering after signals have had time to land. */
static void expect_alive(rt_pid_t pid)
{
    sleep_ms(QUIET_MS);
    cmd(pid, CMD_PING, 0);
    cr_assert(rt_is_alive(rt, pid));
    expect_none(REP_DESTROY, pid, 0);
}

/* Wait until pid no longer names a live actor: destroy may run before the
 * slot is released. */
static void expect_gone(rt_pid_t pid)
{
    for (int i = 0; i < 5000 && rt_is_alive(rt, pid); i++)
        sleep_ms(1);
    cr_assert_not(rt_is_alive(rt, pid));
}

/* A pid that was alive and is now dead. */
static rt_pid_t dead_pid(void)
{
    rt_pid_t d = spawn_probe(false);
    post(d, CMD_STOP, 0, 0);
    expect_death(d, RT_REASON_NORMAL);
    expect_gone(d);
    return d;
}

static void setup(void)
{
    rt_opts_t o = {.schedulers = 4};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    ibp = rt_inbox_pid(ib);
    nstash = 0;
}

static void teardown(void)
{
    rt_inbox_free(ib);
    cr_assert_eq(rt_shutdown(rt), 0);
    rt_stats_t st;
    rt_stats(rt, &st);
    cr_assert_eq(st.actors, 0, "%llu actors outlived shutdown",
                 (unsigned long long)st.actors);
    rt_free(rt);
}

TestSuite(rt_monitor, .init = setup, .fini = teardown, .timeout = 120);

/* ---- tests ------------------------------------------------------------ */

static rt_pid_t spawn_pinned(int sched)
{
    rt_spawn_opts_t o = {.sched = sched};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rt, NULL, &probe_beh, (void *)(uintptr_t)ibp, &o, &pid);
    cr_assert_eq(rc, 0, "rt_spawn: %s", cleo_err_name(rc));
    return pid;
}

static rt_ref_t monitor_ok(rt_pid_t w, rt_pid_t t)
{
    report_t a = cmd(w, CMD_MONITOR, t);
    cr_assert_eq(a.reason, 0, "rt_monitor: %s", cleo_err_name(a.reason));
    cr_assert_neq(a.ref, 0);
    return a.ref;
}

static void expect_down(rt_pid_t w, rt_pid_t t, rt_ref_t ref, int reason)
{
    report_t d = expect(REP_DOWN, w);
    cr_assert_eq(d.other, t);
    cr_assert_eq(d.ref, ref);
    cr_assert_eq(d.reason, reason, "DOWN %s, expected %s",
                 rt_reason_name(d.reason), rt_reason_name(reason));
}

/* The inbox monitors asynchronously: wait until t holds a monitor (or a
 * while, if the count shows only the monitors t holds on others). */
static void inbox_monitor_ok(rt_pid_t t)
{
    cr_assert_eq(rt_inbox_monitor(ib, t), 0);
    rt_actor_info_t info = {0};
    for (int i = 0; i < 500 && info.monitors == 0; i++) {
        cr_assert_eq(rt_actor_info(rt, t, &info), 0);
        sleep_ms(1);
    }
}

Test(rt_monitor, monitor_delivers_one_down_with_the_reason)
{
    rt_pid_t w = spawn_probe(false), t = spawn_probe(false);
    rt_ref_t ref = monitor_ok(w, t);
    post(t, CMD_STOP, 0, REASON_X);
    expect_down(w, t, ref, REASON_X);
    expect_none(REP_DOWN, w, QUIET_MS);
    expect_alive(w); /* a monitor is not a link */
}

Test(rt_monitor, normal_exit_delivers_down_normal)
{
    rt_pid_t w = spawn_probe(false), t = spawn_probe(false);
    rt_ref_t ref = monitor_ok(w, t);
    post(t, CMD_STOP, 0, RT_REASON_NORMAL);
    expect_down(w, t, ref, RT_REASON_NORMAL);
}

Test(rt_monitor, monitoring_twice_gives_two_downs_with_distinct_refs)
{
    rt_pid_t w = spawn_probe(false), t = spawn_probe(false);
    rt_ref_t r1 = monitor_ok(w, t), r2 = monitor_ok(w, t);
    cr_assert_neq(r1, r2);
    post(t, CMD_STOP, 0, REASON_X);
    report_t d1 = expect(REP_DOWN, w), d2 = expect(REP_DOWN, w);
    cr_assert((d1.ref == r1 && d2.ref == r2) || (d1.ref == r2 && d2.ref == r1));
    expect_none(REP_DOWN, w, QUIET_MS);
}

Test(rt_monitor, many_watchers_each_get_one_down)
{
    enum { N = 200 };
    rt_pid_t t = spawn_probe(false), w[N];
    for (int i = 0; i < N; i++) {
        w[i] = spawn_probe(false);
        monitor_ok(w[i], t);
    }
    cr_assert_eq(rt_exit(rt, t, REASON_X), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(expect(REP_DOWN, w[i]).reason, REASON_X);
    expect_none(REP_DOWN, 0, QUIET_MS);
}

Test(rt_monitor, monitor_of_dead_pid_gives_noproc_down)
{
    rt_pid_t w = spawn_probe(false), d = dead_pid();
    rt_ref_t ref = monitor_ok(w, d);
    expect_down(w, d, ref, RT_REASON_NOPROC);
    expect_none(REP_DOWN, w, QUIET_MS);
    expect_alive(w);
}

Test(rt_monitor, monitor_of_malformed_pid_returns_ebadpid)
{
    rt_pid_t w = spawn_probe(false);
    cr_assert_eq(cmd(w, CMD_MONITOR, RT_PID_NONE).reason, CLEO_EBADPID);
    cr_assert_eq(cmd(w, CMD_MONITOR, RT_PID_MAKE(9, 1, 1)).reason,
                 CLEO_EBADPID);
}

Test(rt_monitor, inbox_monitor_delivers_down)
{
    rt_pid_t t = spawn_probe(false);
    inbox_monitor_ok(t);
    post(t, CMD_STOP, 0, REASON_X);
    report_t d = expect(RT_MSG_DOWN, ibp);
    cr_assert_eq(d.other, t);
    cr_assert_eq(d.reason, REASON_X);
    cr_assert_neq(d.ref, 0);
}

Test(rt_monitor, inbox_monitor_of_dead_pid_gives_noproc_down)
{
    rt_pid_t d = dead_pid();
    cr_assert_eq(rt_inbox_monitor(ib, d), 0);
    report_t down = expect(RT_MSG_DOWN, ibp);
    cr_assert_eq(down.other, d);
    cr_assert_eq(down.reason, RT_REASON_NOPROC);
}

Test(rt_monitor, demonitor_stops_the_down)
{
    rt_pid_t w = spawn_probe(false), t = spawn_probe(false);
    rt_ref_t ref = monitor_ok(w, t);
    cr_assert_eq(cmd(w, CMD_DEMONITOR, ref).reason, 0);
    post(t, CMD_STOP, 0, REASON_X);
    expect_death(t, REASON_X);
    sleep_ms(QUIET_MS);
    cmd(w, CMD_PING, 0);
    expect_none(REP_DOWN, w, QUIET_MS);
}

Test(rt_monitor, demonitor_drops_a_down_not_yet_handled)
{
    rt_pid_t w = spawn_pinned(0), t = spawn_pinned(1);
    report_t a = cmd(w, CMD_KILL_DEMON, t);
    cr_assert_eq(a.reason, 0, "rt_demonitor with a DOWN queued: %s",
                 cleo_err_name(a.reason));
    expect_death(t, RT_REASON_KILLED);
    cmd(w, CMD_PING, 0);
    expect_none(REP_DOWN, w, QUIET_MS);
}

Test(rt_monitor, demonitor_after_the_down_returns_enotfound)
{
    rt_pid_t w = spawn_probe(false), t = spawn_probe(false);
    rt_ref_t ref = monitor_ok(w, t);
    post(t, CMD_STOP, 0, REASON_X);
    expect_down(w, t, ref, REASON_X);
    cr_assert_eq(cmd(w, CMD_DEMONITOR, ref).reason, CLEO_ENOTFOUND);
}

Test(rt_monitor, demonitor_unknown_or_removed_ref_returns_enotfound)
{
    rt_pid_t w = spawn_probe(false), t = spawn_probe(false);
    cr_assert_eq(cmd(w, CMD_DEMONITOR, 12345).reason, CLEO_ENOTFOUND);
    rt_ref_t ref = monitor_ok(w, t);
    cr_assert_eq(cmd(w, CMD_DEMONITOR, ref).reason, 0);
    cr_assert_eq(cmd(w, CMD_DEMONITOR, ref).reason, CLEO_ENOTFOUND);
    /* Another actor's monitor is not ours to remove. */
    rt_pid_t o = spawn_probe(false);
    rt_ref_t theirs = monitor_ok(o, t);
    cr_assert_eq(cmd(w, CMD_DEMONITOR, theirs).reason, CLEO_ENOTFOUND);
    post(t, CMD_STOP, 0, REASON_X);
    expect_down(o, t, theirs, REASON_X);
}

Test(rt_monitor, spawn_monitor_delivers_down_with_the_returned_ref)
{
    rt_pid_t p = spawn_probe(false);
    report_t s = cmd(p, CMD_SPAWN, RT_SPAWN_MONITOR);
    cr_assert_eq(s.reason, 0, "%s", cleo_err_name(s.reason));
    cr_assert_neq(s.ref, 0);
    post(s.other, CMD_STOP, 0, REASON_X);
    expect_down(p, s.other, s.ref, REASON_X);
    expect_alive(p); /* monitored, not linked */
}

Test(rt_monitor, spawn_monitor_child_does_not_see_parent_exit)
{
    rt_pid_t p = spawn_probe(false);
    report_t s = cmd(p, CMD_SPAWN, RT_SPAWN_MONITOR);
    cr_assert_eq(s.reason, 0);
    post(p, CMD_STOP, 0, REASON_X);
    expect_death(p, REASON_X);
    expect_alive(s.other);
}

Test(rt_monitor, spawn_link_and_monitor_together)
{
    rt_pid_t p = spawn_probe(true);
    report_t s = cmd(p, CMD_SPAWN, RT_SPAWN_LINK | RT_SPAWN_MONITOR);
    cr_assert_eq(s.reason, 0);
    post(s.other, CMD_STOP, 0, REASON_X);
    cr_assert_eq(expect(REP_EXIT, p).reason, REASON_X);
    expect_down(p, s.other, s.ref, REASON_X);
}

Test(rt_monitor, spawn_monitor_from_outside_actors_is_einval)
{
    rt_ref_t ref = 0;
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_MONITOR, .sched = RT_SCHED_ANY, .mon_ref = &ref};
    rt_pid_t pid = 12345;
    cr_assert_eq(
        rt_spawn(rt, NULL, &probe_beh, (void *)(uintptr_t)ibp, &o, &pid),
        CLEO_EINVAL);
    cr_assert_eq(pid, 12345, "out written on failure");
}

/* RACERS actors monitor/demonitor a target over and over (each a
 * different number of times) while it is killed concurrently, so monitors
 * come and go before, during and after its death. Each must see exactly
 * one DOWN, for the monitor it kept (killed, or noproc if it came after the
 * death), and none for the monitors it removed, in every round. */
Test(rt_monitor, concurrent_monitor_demonitor_while_target_dies)
{
    for (int round = 0; round < RACE_ROUNDS; round++) {
        rt_pid_t t = spawn_probe(false), w[RACERS];
        for (int i = 0; i < RACERS; i++)
            w[i] = spawn_probe(false);
        for (int i = 0; i < RACERS; i++)
            post(w[i], CMD_RACE, t, (i * 997 + round * 131) % RACE_ITERS);
        struct timespec pause = {0, round * 25000L};
        nanosleep(&pause, NULL);
        cr_assert_eq(rt_exit(rt, t, RT_REASON_KILL), 0);
        for (int i = 0; i < RACERS; i++) {
            report_t a = expect(REP_ACK, w[i]);
            cr_assert_eq(a.reason, 0, "round %d: %d failed calls", round,
                         a.reason);
            report_t d = expect(REP_DOWN, w[i]);
            cr_assert_eq(d.other, t);
            cr_assert(d.reason == RT_REASON_KILLED ||
                          d.reason == RT_REASON_NOPROC,
                      "round %d: DOWN %s", round, rt_reason_name(d.reason));
        }
        expect_death(t, RT_REASON_KILLED);
        for (int i = 0; i < RACERS; i++)
            cmd(w[i], CMD_PING, 0);
        expect_none(REP_STRAY, 0, 0);
        expect_none(REP_DOWN, 0, 0);
    }
}
