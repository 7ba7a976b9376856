/*
 * test_crash.c - crashes stay inside their actor: cl_panic, a failed
 * rt_assert or a handler's negative return kill only that actor, run its
 * destroy callback and resource destructors, and send the reason to its
 * links and monitors, while every other actor keeps working.
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK, forward trapped EXIT and DOWN messages, and report their own
 * destroy(reason) and each resource destructor (REP_RES).
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
#define CROWD 10000

enum {
    CMD_PING = 1, /* ack */
    CMD_LINK,     /* ack reason = rt_link(arg) */
    CMD_STOP,     /* exit: return m->reason (0: RT_STOP) */
    CMD_MONITOR,  /* ack ref, reason = rt_monitor(arg) */
    CMD_SPAWN,    /* spawn a child probe, flags = arg; ack other = child */
    CMD_PANIC,    /* cl_panic() */
    CMD_ASSERT,   /* rt_assert(arg == 0), then ack */
    CMD_RES,      /* rt_resource_add a reporting destructor, id = arg */
    CMD_RES_DROP, /* rt_resource_remove the last one added */
    REP_ACK = 100,
    REP_EXIT,    /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN,    /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY, /* destroy ran: reason */
    REP_RES,     /* a resource destructor ran: other = its id */
};

/* What a probe tells the inbox; the payload of every REP_* message. */
typedef struct report_s {
    uint32_t kind;
    rt_pid_t who;   /* the reporting actor (the inbox for its own EXITs) */
    rt_pid_t other; /* the pid (or id) the report is about */
    rt_ref_t ref;
    int reason; /* an exit reason or a return code */
} report_t;

/* A resource whose destructor reports to the inbox. */
typedef struct res_s {
    rt_t *rt;
    rt_pid_t to, owner;
    uint64_t id;
} res_t;

typedef struct probe_s {
    rt_pid_t to;    /* where reports go */
    rt_res_t *last; /* the last resource added, NULL if dropped */
    res_t *last_ptr;
} probe_t;

static rt_t *rt;
static rt_inbox_t *ib;
static rt_pid_t ibp;
static report_t stash[STASH_MAX]; /* received, not yet expected */
static int nstash;
static int shutdown_frees; /* res_count() calls; one actor, joined */

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

static void res_report(void *ptr)
{
    res_t *res = ptr;
    report_t rep = {REP_RES, res->owner, res->id, 0, 0};
    report(res->rt, res->to, &rep);
    free(res);
}

static void res_count(void *ptr)
{
    shutdown_frees++;
    free(ptr);
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

static int on_spawn(rt_actor_t *self, uint32_t flags)
{
    probe_t *p = rt_state(self);
    rt_pid_t child = RT_PID_NONE;
    rt_spawn_opts_t o = {.flags = flags, .sched = RT_SCHED_ANY};
    int rc = rt_spawn(rt_actor_rt(self), self, &probe_beh,
                      (void *)(uintptr_t)p->to, &o, &child);
    return tell(self, REP_ACK, child, 0, rc);
}

static int on_monitor(rt_actor_t *self, rt_pid_t pid)
{
    rt_ref_t ref = 0;
    int rc = rt_monitor(self, pid, &ref);
    return tell(self, REP_ACK, pid, ref, rc);
}

/* id 0 adds a counting resource instead of a reporting one. */
static int on_res(rt_actor_t *self, uint64_t id)
{
    probe_t *p = rt_state(self);
    res_t *res = malloc(sizeof *res);
    if (res == NULL)
        abort();
    *res = (res_t){rt_actor_rt(self), p->to, rt_self(self), id};
    int rc =
        rt_resource_add(self, id == 0 ? res_count : res_report, res, &p->last);
    p->last_ptr = res;
    return tell(self, REP_ACK, id, 0, rc);
}

static int on_res_drop(rt_actor_t *self)
{
    probe_t *p = rt_state(self);
    rt_resource_remove(self, p->last);
    free(p->last_ptr); /* removed: its destructor will not free it */
    p->last = NULL;
    p->last_ptr = NULL;
    return tell(self, REP_ACK, 0, 0, 0);
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
    case CMD_SPAWN:
        return on_spawn(self, (uint32_t)m->arg);
    case CMD_PANIC:
        cl_panic("probe told to panic (%d)", 42);
    case CMD_ASSERT:
        rt_assert(m->arg == 0);
        return tell(self, REP_ACK, 0, 0, 0);
    case CMD_RES:
        return on_res(self, m->arg);
    case CMD_RES_DROP:
        return on_res_drop(self);
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

static int failing_init(rt_actor_t *self, void *arg)
{
    return REASON_X;
}

static const rt_behaviour_t failing_beh = {
    .name = "failing",
    .init = failing_init,
    .handle = probe_handle,
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

TestSuite(rt_crash, .init = setup, .fini = teardown, .timeout = 120);

/* ---- tests ------------------------------------------------------------ */

static void add_res(rt_pid_t a, uint64_t id)
{
    cr_assert_eq(cmd(a, CMD_RES, id).reason, 0);
}

/* Resource destructors ids[0..n) of actor a ran, each exactly once. */
static void expect_resources(rt_pid_t a, const uint64_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        report_t r = expect(REP_RES, a);
        bool known = false;
        for (int j = 0; j < n; j++)
            known |= r.other == ids[j];
        cr_assert(known, "destructor of unknown resource %llu",
                  (unsigned long long)r.other);
    }
    expect_none(REP_RES, a, QUIET_MS);
}

static void expect_crash(rt_pid_t a, int reason)
{
    expect_death(a, reason);
    expect_gone(a);
}

Test(rt_crash, panic_kills_only_the_crashing_actor)
{
    rt_pid_t a = spawn_probe(false), other = spawn_probe(false);
    post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_alive(other);
    cr_assert_eq(cmd(other, CMD_PING, 7).other, 7);
}

Test(rt_crash, panic_runs_destroy_and_every_resource_destructor_once)
{
    rt_pid_t a = spawn_probe(false);
    const uint64_t ids[] = {1, 2, 3};
    for (int i = 0; i < 3; i++)
        add_res(a, ids[i]);
    post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_resources(a, ids, 3);
    expect_none(REP_DESTROY, a, 0); /* destroy ran once */
}

Test(rt_crash, panic_sends_epanic_to_links_and_monitors)
{
    rt_pid_t a = spawn_probe(false);
    rt_pid_t trapper = spawn_probe(true), plain = spawn_probe(false);
    rt_pid_t watcher = spawn_probe(false);
    link_ok(trapper, a);
    link_ok(plain, a);
    rt_ref_t ref = cmd(watcher, CMD_MONITOR, a).ref;
    post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    report_t e = expect(REP_EXIT, trapper);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, CLEO_EPANIC);
    expect_death(plain, CLEO_EPANIC);
    report_t d = expect(REP_DOWN, watcher);
    cr_assert_eq(d.ref, ref);
    cr_assert_eq(d.reason, CLEO_EPANIC);
    expect_alive(trapper);
    expect_alive(watcher);
}

Test(rt_crash, failed_rt_assert_crashes_with_epanic)
{
    rt_pid_t a = spawn_probe(false);
    add_res(a, 9);
    cmd(a, CMD_ASSERT, 0); /* holds: the handler goes on and acks */
    post(a, CMD_ASSERT, 1, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_resources(a, (const uint64_t[]){9}, 1);
    expect_none(REP_ACK, a, 0);
}

Test(rt_crash, negative_return_exits_with_that_error)
{
    rt_pid_t a = spawn_probe(false), trapper = spawn_probe(true);
    link_ok(trapper, a);
    add_res(a, 5);
    post(a, CMD_STOP, 0, CLEO_EINVAL);
    expect_crash(a, CLEO_EINVAL);
    expect_resources(a, (const uint64_t[]){5}, 1);
    cr_assert_eq(expect(REP_EXIT, trapper).reason, CLEO_EINVAL);
}

Test(rt_crash, resources_run_on_normal_exit_too)
{
    rt_pid_t a = spawn_probe(false);
    add_res(a, 1);
    add_res(a, 2);
    post(a, CMD_STOP, 0, 0);
    expect_death(a, RT_REASON_NORMAL);
    expect_resources(a, (const uint64_t[]){1, 2}, 2);
}

Test(rt_crash, resources_run_when_killed)
{
    rt_pid_t a = spawn_probe(true);
    add_res(a, 4);
    cr_assert_eq(rt_exit(rt, a, RT_REASON_KILL), 0);
    expect_death(a, RT_REASON_KILLED);
    expect_resources(a, (const uint64_t[]){4}, 1);
}

Test(rt_crash, removed_resource_destructor_does_not_run)
{
    rt_pid_t a = spawn_probe(false);
    add_res(a, 1);
    add_res(a, 2);
    cmd(a, CMD_RES_DROP, 0); /* removes 2 */
    post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_resources(a, (const uint64_t[]){1}, 1);
}

Test(rt_crash, resources_run_at_shutdown)
{
    rt_pid_t a = spawn_probe(false);
    add_res(a, 0);
    add_res(a, 0);
    cr_assert_eq(rt_shutdown(rt), 0);
    cr_assert_eq(shutdown_frees, 2);
}

Test(rt_crash, crashed_actor_handles_no_later_messages)
{
    rt_pid_t a = spawn_probe(false);
    post(a, CMD_PANIC, 0, 0);
    post(a, CMD_PING, 0, 0);
    post(a, CMD_PING, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_none(REP_ACK, a, QUIET_MS);
    rt_msg_t *m = rt_msg_new(CMD_PING);
    cr_assert_eq(rt_send(rt, a, m), CLEO_ENOPROC);
}

Test(rt_crash, trapping_actor_that_panics_still_dies)
{
    rt_pid_t a = spawn_probe(true);
    post(a, CMD_PANIC, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_none(REP_EXIT, a, 0);
}

Test(rt_crash, panicking_child_sends_epanic_to_trapping_parent)
{
    rt_pid_t p = spawn_probe(true);
    report_t s = cmd(p, CMD_SPAWN, RT_SPAWN_LINK);
    cr_assert_eq(s.reason, 0);
    post(s.other, CMD_PANIC, 0, 0);
    expect_crash(s.other, CLEO_EPANIC);
    report_t e = expect(REP_EXIT, p);
    cr_assert_eq(e.other, s.other);
    cr_assert_eq(e.reason, CLEO_EPANIC);
    expect_alive(p);
}

Test(rt_crash, crash_is_counted_in_stats)
{
    rt_stats_t before, after;
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    rt_stats(rt, &before);
    post(a, CMD_PANIC, 0, 0);
    post(b, CMD_STOP, 0, 0);
    expect_crash(a, CLEO_EPANIC);
    expect_crash(b, RT_REASON_NORMAL);
    for (int i = 0; i < 2000; i++) { /* counters follow the exit */
        rt_stats(rt, &after);
        if (after.exited >= before.exited + 2)
            break;
        sleep_ms(1);
    }
    cr_assert_eq(after.crashed, before.crashed + 1);
    cr_assert_eq(after.exited, before.exited + 2);
    cr_assert_eq(after.actors, before.actors - 2);
}

Test(rt_crash, init_error_fails_spawn_and_spawns_nothing)
{
    rt_stats_t before, after;
    rt_stats(rt, &before);
    rt_pid_t pid = 12345;
    cr_assert_eq(rt_spawn(rt, NULL, &failing_beh, NULL, NULL, &pid), REASON_X);
    cr_assert_eq(pid, 12345, "out written on failure");
    rt_stats(rt, &after);
    cr_assert_eq(after.actors, before.actors);
}

Test(rt_crash, one_crash_among_10000_actors_leaves_the_rest_answering)
{
    static rt_pid_t crowd[CROWD];
    for (int i = 0; i < CROWD; i++)
        crowd[i] = spawn_probe(false);
    rt_pid_t victim = crowd[CROWD / 3];
    post(victim, CMD_PANIC, 0, 0);
    expect_crash(victim, CLEO_EPANIC);

    int sent = 0;
    for (int i = 0; i < CROWD; i++) {
        rt_msg_t *m = rt_msg_new(CMD_PING);
        m->arg = (uint64_t)i;
        int rc = rt_send(rt, crowd[i], m);
        cr_assert_eq(rc, crowd[i] == victim ? CLEO_ENOPROC : 0);
        sent += rc == 0;
    }
    cr_assert_eq(sent, CROWD - 1);
    static bool seen[CROWD];
    for (int n = 0; n < CROWD - 1; n++) {
        rt_msg_t *m = NULL;
        int rc = rt_inbox_recv(ib, 30000, &m);
        cr_assert_eq(rc, 0, "after %d answers: %s", n, cleo_err_name(rc));
        report_t r = to_report(m);
        cr_assert_eq(r.kind, REP_ACK, "unexpected report %u", r.kind);
        cr_assert_lt(r.other, (uint64_t)CROWD);
        cr_assert_not(seen[r.other], "two answers from %llu",
                      (unsigned long long)r.other);
        seen[r.other] = true;
    }
    expect_none(0, 0, QUIET_MS);
    rt_stats_t st;
    rt_stats(rt, &st);
    cr_assert_eq(st.crashed, 1);
}
