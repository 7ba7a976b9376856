/*
 * test_link.c - links and exit-signal propagation with Erlang's semantics:
 * `normal` versus abnormal reasons, chains, kill, trap_exit, unlink, links
 * to dead pids and RT_SPAWN_LINK.
 *
 * The test thread observes through an inbox: probes (a small scriptable
 * behaviour) answer commands with REP_ACK, forward trapped EXIT and DOWN
 * messages, and report their own destroy(reason), so an actor's exit reason
 * is read from its REP_DESTROY.
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
#define CHAIN_LEN 10000

enum {
    CMD_PING = 1, /* ack */
    CMD_LINK,     /* ack reason = rt_link(arg) */
    CMD_UNLINK,   /* ack reason = rt_unlink(arg) */
    CMD_STOP,     /* exit: return m->reason (0: RT_STOP) */
    CMD_SPAWN,    /* spawn a child probe, flags = arg; ack other = child */
    CMD_GROW,     /* chain: spawn-link the next of arg more actors */
    REP_ACK = 100,
    REP_EXIT,    /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN,    /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY, /* destroy ran: reason */
};

/* What a probe tells the inbox; the payload of every REP_* message. */
typedef struct report_s {
    uint32_t kind;
    rt_pid_t who;   /* the reporting actor (the inbox for its own EXITs) */
    rt_pid_t other; /* the pid the report is about */
    rt_ref_t ref;
    int reason; /* an exit reason or a return code */
} report_t;

typedef struct probe_s {
    rt_pid_t to; /* where reports go */
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
    probe_t *p = malloc(sizeof *p);
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

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case CMD_PING:
        return tell(self, REP_ACK, m->arg, 0, 0);
    case CMD_LINK:
        return tell(self, REP_ACK, m->arg, 0, rt_link(self, m->arg));
    case CMD_UNLINK:
        return tell(self, REP_ACK, m->arg, 0, rt_unlink(self, m->arg));
    case CMD_STOP:
        return m->reason == 0 ? RT_STOP : m->reason;
    case CMD_SPAWN:
        return on_spawn(self, (uint32_t)m->arg);
    case RT_MSG_EXIT:
        return tell(self, REP_EXIT, m->from, m->ref, m->reason);
    case RT_MSG_DOWN:
        return tell(self, REP_DOWN, m->from, m->ref, m->reason);
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

static const rt_behaviour_t chain_beh;

/* One link of a chain: spawn-link the next one and pass on the count; the
 * last one links itself to the inbox and reports. */
static int chain_handle(rt_actor_t *self, rt_msg_t *m)
{
    probe_t *p = rt_state(self);
    if (m->type != CMD_GROW)
        return 0;
    if (m->arg == 0)
        return tell(self, REP_ACK, p->to, 0, rt_link(self, p->to));
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    rt_pid_t next = RT_PID_NONE;
    int rc = rt_spawn(rt_actor_rt(self), self, &chain_beh,
                      (void *)(uintptr_t)p->to, &o, &next);
    if (rc < 0)
        return tell(self, REP_ACK, 0, 0, rc);
    rt_msg_t *g = rt_msg_new(CMD_GROW);
    g->arg = m->arg - 1;
    return rt_send(rt_actor_rt(self), next, g) < 0 ? REASON_X : 0;
}

static const rt_behaviour_t chain_beh = {
    .name = "chain",
    .init = probe_init,
    .handle = chain_handle,
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

/* a links b. The ping makes b handle the link signal, which a sent before
 * its ack, before the test goes on, so a later exit of b cannot find the
 * link still in flight (that would be `noproc`, as in Erlang). */
static void link_ok(rt_pid_t a, rt_pid_t b)
{
    cr_assert_eq(cmd(a, CMD_LINK, b).reason, 0);
    cmd(b, CMD_PING, 0);
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

TestSuite(rt_link, .init = setup, .fini = teardown, .timeout = 120);

/* ---- tests ------------------------------------------------------------ */

Test(rt_link, normal_exit_does_not_kill_linked_actor)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    link_ok(a, b);
    post(a, CMD_STOP, 0, RT_REASON_NORMAL);
    expect_death(a, RT_REASON_NORMAL);
    expect_alive(b);
}

Test(rt_link, abnormal_exit_kills_linked_actor_with_same_reason)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    link_ok(a, b);
    post(a, CMD_STOP, 0, REASON_X);
    expect_death(a, REASON_X);
    expect_death(b, REASON_X);
    expect_gone(b);
}

Test(rt_link, abnormal_exit_propagates_both_ways_along_a_chain)
{
    rt_pid_t p[5];
    for (int i = 0; i < 5; i++)
        p[i] = spawn_probe(false);
    for (int i = 0; i < 4; i++)
        link_ok(p[i], p[i + 1]);
    post(p[2], CMD_STOP, 0, REASON_X);
    for (int i = 0; i < 5; i++)
        expect_death(p[i], REASON_X);
}

Test(rt_link, shutdown_reason_also_propagates)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    link_ok(b, a);
    post(a, CMD_STOP, 0, RT_REASON_SHUTDOWN);
    expect_death(b, RT_REASON_SHUTDOWN);
}

Test(rt_link, kill_kills_trapping_actor_and_links_see_killed)
{
    rt_pid_t b = spawn_probe(true);
    rt_pid_t trapper = spawn_probe(true), plain = spawn_probe(false);
    link_ok(trapper, b);
    link_ok(plain, b);
    cr_assert_eq(rt_exit(rt, b, RT_REASON_KILL), 0);
    expect_death(b, RT_REASON_KILLED);
    report_t e = expect(REP_EXIT, trapper);
    cr_assert_eq(e.other, b);
    cr_assert_eq(e.reason, RT_REASON_KILLED, "links saw %s",
                 rt_reason_name(e.reason));
    expect_death(plain, RT_REASON_KILLED);
    expect_alive(trapper);
}

Test(rt_link, trapping_actor_receives_exit_message_instead_of_dying)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
    link_ok(a, b);
    post(a, CMD_STOP, 0, REASON_X);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, REASON_X);
    expect_alive(b);
    expect_none(REP_EXIT, b, 0);
}

Test(rt_link, trapping_actor_receives_normal_exit_as_message)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
    link_ok(b, a);
    post(a, CMD_STOP, 0, RT_REASON_NORMAL);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, RT_REASON_NORMAL);
    expect_alive(b);
}

Test(rt_link, unlink_stops_propagation)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    link_ok(a, b);
    cr_assert_eq(cmd(a, CMD_UNLINK, b).reason, 0);
    post(a, CMD_STOP, 0, REASON_X);
    expect_death(a, REASON_X);
    expect_alive(b);
}

Test(rt_link, unlink_by_the_other_side_stops_propagation)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
    link_ok(a, b);
    cr_assert_eq(cmd(b, CMD_UNLINK, a).reason, 0);
    post(a, CMD_STOP, 0, REASON_X);
    expect_death(a, REASON_X);
    expect_alive(b);
    expect_none(REP_EXIT, b, 0); /* trapping: not even a message */
}

Test(rt_link, unlink_when_not_linked_returns_zero)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    cr_assert_eq(cmd(a, CMD_UNLINK, b).reason, 0);
    cr_assert_eq(cmd(a, CMD_UNLINK, dead_pid()).reason, 0);
}

Test(rt_link, link_twice_is_one_link)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
    link_ok(a, b);
    link_ok(a, b);
    link_ok(b, a);
    cr_assert_eq(cmd(a, CMD_UNLINK, b).reason, 0);
    post(a, CMD_STOP, 0, REASON_X);
    expect_death(a, REASON_X);
    expect_alive(b);
    expect_none(REP_EXIT, b, 0);
}

Test(rt_link, link_to_dead_pid_kills_non_trapping_actor_with_noproc)
{
    rt_pid_t d = dead_pid();
    rt_pid_t b = spawn_probe(false);
    cr_assert_eq(cmd(b, CMD_LINK, d).reason, 0);
    expect_death(b, RT_REASON_NOPROC);
}

Test(rt_link, link_to_dead_pid_gives_trapping_actor_noproc_exit_message)
{
    rt_pid_t d = dead_pid();
    rt_pid_t b = spawn_probe(true);
    cr_assert_eq(cmd(b, CMD_LINK, d).reason, 0);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.other, d);
    cr_assert_eq(e.reason, RT_REASON_NOPROC, "got %s",
                 rt_reason_name(e.reason));
    expect_alive(b);
}

Test(rt_link, link_to_malformed_pid_returns_ebadpid)
{
    rt_pid_t a = spawn_probe(false);
    cr_assert_eq(cmd(a, CMD_LINK, RT_PID_NONE).reason, CLEO_EBADPID);
    cr_assert_eq(cmd(a, CMD_LINK, RT_PID_MAKE(9, 1, 1)).reason, CLEO_EBADPID);
    expect_alive(a);
}

Test(rt_link, inbox_link_to_dead_pid_gives_noproc_exit)
{
    rt_pid_t d = dead_pid();
    cr_assert_eq(rt_inbox_link(ib, d), 0);
    report_t e = expect(RT_MSG_EXIT, ibp);
    cr_assert_eq(e.other, d);
    cr_assert_eq(e.reason, RT_REASON_NOPROC);
}

Test(rt_link, inbox_link_receives_exit_with_the_reason)
{
    rt_pid_t b = spawn_probe(false);
    cr_assert_eq(rt_inbox_link(ib, b), 0);
    /* The inbox links asynchronously: wait until b holds the link. */
    rt_actor_info_t info = {0};
    for (int i = 0; i < 1000 && info.links == 0; i++) {
        cr_assert_eq(rt_actor_info(rt, b, &info), 0);
        if (info.links == 0)
            sleep_ms(1);
    }
    cr_assert_eq(info.links, 1);
    post(b, CMD_STOP, 0, REASON_X);
    report_t e = expect(RT_MSG_EXIT, ibp);
    cr_assert_eq(e.other, b);
    cr_assert_eq(e.reason, REASON_X);
}

Test(rt_link, spawn_link_child_exit_kills_parent)
{
    rt_pid_t p = spawn_probe(false);
    report_t s = cmd(p, CMD_SPAWN, RT_SPAWN_LINK);
    cr_assert_eq(s.reason, 0, "%s", cleo_err_name(s.reason));
    post(s.other, CMD_STOP, 0, REASON_X);
    expect_death(s.other, REASON_X);
    expect_death(p, REASON_X);
}

Test(rt_link, spawn_link_parent_exit_kills_child)
{
    rt_pid_t p = spawn_probe(false);
    report_t s = cmd(p, CMD_SPAWN, RT_SPAWN_LINK);
    cr_assert_eq(s.reason, 0, "%s", cleo_err_name(s.reason));
    post(p, CMD_STOP, 0, REASON_X);
    expect_death(p, REASON_X);
    expect_death(s.other, REASON_X);
}

Test(rt_link, spawn_without_link_flag_does_not_link)
{
    rt_pid_t p = spawn_probe(false);
    report_t s = cmd(p, CMD_SPAWN, 0);
    cr_assert_eq(s.reason, 0);
    post(p, CMD_STOP, 0, REASON_X);
    expect_death(p, REASON_X);
    expect_alive(s.other);
}

Test(rt_link, spawn_link_from_outside_actors_is_einval)
{
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    rt_pid_t pid = 12345;
    cr_assert_eq(
        rt_spawn(rt, NULL, &probe_beh, (void *)(uintptr_t)ibp, &o, &pid),
        CLEO_EINVAL);
    cr_assert_eq(pid, 12345, "out written on failure");
}

Test(rt_link, chain_of_10000_killed_from_one_end_all_die)
{
    rt_pid_t head = RT_PID_NONE;
    int rc =
        rt_spawn(rt, NULL, &chain_beh, (void *)(uintptr_t)ibp, NULL, &head);
    cr_assert_eq(rc, 0);
    post(head, CMD_GROW, CHAIN_LEN - 1, 0);
    report_t tail = expect(REP_ACK, 0); /* the last link is in place */
    cr_assert_eq(tail.reason, 0, "%s", cleo_err_name(tail.reason));
    cr_assert_eq(rt_exit(rt, head, RT_REASON_KILL), 0);

    int destroyed = 0, killed = 0, exits = 0;
    while (destroyed < CHAIN_LEN || exits < 1) {
        rt_msg_t *m = NULL;
        rc = rt_inbox_recv(ib, 30000, &m);
        cr_assert_eq(rc, 0, "after %d exits: %s", destroyed, cleo_err_name(rc));
        report_t r = to_report(m);
        if (r.kind == REP_DESTROY) {
            destroyed++;
            killed += r.reason == RT_REASON_KILLED;
        } else if (r.kind == RT_MSG_EXIT) {
            exits++;
            cr_assert_eq(r.other, tail.who);
            cr_assert_eq(r.reason, RT_REASON_KILLED, "inbox saw %s",
                         rt_reason_name(r.reason));
        } else {
            cr_assert_fail("unexpected report %u", r.kind);
        }
    }
    cr_assert_eq(killed, CHAIN_LEN);
    expect_gone(tail.who);
    rt_stats_t st;
    rt_stats(rt, &st);
    cr_assert_geq(st.exited, CHAIN_LEN);
}
