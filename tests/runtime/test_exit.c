/*
 * test_exit.c - exit signals (Erlang's exit/2 and exit/1): rt_exit with
 * normal, abnormal, kill and killed reasons against trapping and
 * non-trapping actors, rt_exit_self, RT_STOP, trap_exit and the order of
 * an exit signal after earlier messages from the same sender.
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK, forward trapped EXIT and DOWN messages, and report their own
 * destroy(reason), so an actor's exit reason is read from its REP_DESTROY.
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

enum {
    CMD_PING = 1,  /* ack */
    CMD_LINK,      /* ack reason = rt_link(arg) */
    CMD_STOP,      /* exit: return m->reason (0: RT_STOP) */
    CMD_MONITOR,   /* ack ref, reason = rt_monitor(arg) */
    CMD_EXIT,      /* ack reason = rt_exit(arg, m->reason) */
    CMD_EXIT_SELF, /* rt_exit_self(m->reason), then ack */
    CMD_TRAP,      /* ack reason = rt_trap_exit(arg) (the old value) */
    CMD_PING_EXIT, /* send arg a CMD_PING, then rt_exit(arg, m->reason) */
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

static int on_monitor(rt_actor_t *self, rt_pid_t pid)
{
    rt_ref_t ref = 0;
    int rc = rt_monitor(self, pid, &ref);
    return tell(self, REP_ACK, pid, ref, rc);
}

static int on_ping_exit(rt_actor_t *self, rt_pid_t to, int reason)
{
    rt_t *r = rt_actor_rt(self);
    rt_msg_t *m = rt_msg_new(CMD_PING);
    int rc = rt_send(r, to, m);
    if (rc == 0)
        rc = rt_exit(r, to, reason);
    return tell(self, REP_ACK, to, 0, rc);
}

static int probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_t *r = rt_actor_rt(self);
    switch (m->type) {
    case CMD_PING:
        return tell(self, REP_ACK, m->arg, 0, 0);
    case CMD_LINK:
        return tell(self, REP_ACK, m->arg, 0, rt_link(self, m->arg));
    case CMD_STOP:
        return m->reason == 0 ? RT_STOP : m->reason;
    case CMD_MONITOR:
        return on_monitor(self, m->arg);
    case CMD_EXIT:
        return tell(self, REP_ACK, m->arg, 0, rt_exit(r, m->arg, m->reason));
    case CMD_EXIT_SELF:
        rt_exit_self(self, m->reason);
        return tell(self, REP_ACK, 0, 0, 0);
    case CMD_TRAP:
        return tell(self, REP_ACK, 0, 0, rt_trap_exit(self, m->arg != 0));
    case CMD_PING_EXIT:
        return on_ping_exit(self, m->arg, m->reason);
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

TestSuite(rt_exit, .init = setup, .fini = teardown, .timeout = 60);

/* ---- tests ------------------------------------------------------------ */

/* A watcher that monitors pid and will report its DOWN. */
static rt_pid_t watch(rt_pid_t pid, rt_ref_t *ref)
{
    rt_pid_t w = spawn_probe(false);
    report_t a = cmd(w, CMD_MONITOR, pid);
    cr_assert_eq(a.reason, 0, "rt_monitor: %s", cleo_err_name(a.reason));
    *ref = a.ref;
    return w;
}

static void expect_down(rt_pid_t w, rt_pid_t pid, rt_ref_t ref, int reason)
{
    report_t d = expect(REP_DOWN, w);
    cr_assert_eq(d.other, pid);
    cr_assert_eq(d.ref, ref);
    cr_assert_eq(d.reason, reason, "DOWN %s, expected %s",
                 rt_reason_name(d.reason), rt_reason_name(reason));
}

Test(rt_exit, exit_normal_is_ignored_by_non_trapping_actor)
{
    rt_pid_t b = spawn_probe(false);
    cr_assert_eq(rt_exit(rt, b, RT_REASON_NORMAL), 0);
    expect_alive(b);
}

Test(rt_exit, exit_abnormal_kills_non_trapping_actor)
{
    rt_pid_t b = spawn_probe(false);
    rt_ref_t ref;
    rt_pid_t w = watch(b, &ref);
    cr_assert_eq(rt_exit(rt, b, REASON_X), 0);
    expect_death(b, REASON_X);
    expect_down(w, b, ref, REASON_X);
    expect_gone(b);
}

Test(rt_exit, exit_abnormal_to_trapping_actor_arrives_as_message)
{
    rt_pid_t b = spawn_probe(true);
    cr_assert_eq(rt_exit(rt, b, REASON_X), 0);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.reason, REASON_X);
    cr_assert_eq(e.other, RT_PID_NONE, "sender outside actors is pid 0");
    expect_alive(b);
}

Test(rt_exit, exit_normal_to_trapping_actor_arrives_as_message)
{
    rt_pid_t b = spawn_probe(true);
    cr_assert_eq(rt_exit(rt, b, RT_REASON_NORMAL), 0);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.reason, RT_REASON_NORMAL);
    expect_alive(b);
}

Test(rt_exit, exit_from_an_actor_names_it_as_the_sender)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
    post(a, CMD_EXIT, b, REASON_X);
    cr_assert_eq(expect(REP_ACK, a).reason, 0);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, REASON_X);
    expect_alive(a); /* exit/2 does not link the sender to anything */
}

Test(rt_exit, exit_kill_kills_trapping_actor_with_reason_killed)
{
    rt_pid_t b = spawn_probe(true);
    rt_ref_t ref;
    rt_pid_t w = watch(b, &ref);
    cr_assert_eq(rt_exit(rt, b, RT_REASON_KILL), 0);
    expect_death(b, RT_REASON_KILLED);
    expect_down(w, b, ref, RT_REASON_KILLED);
    expect_none(REP_EXIT, b, 0); /* killed: never saw it as a message */
}

Test(rt_exit, exit_kill_kills_non_trapping_actor_with_reason_killed)
{
    rt_pid_t b = spawn_probe(false);
    cr_assert_eq(rt_exit(rt, b, RT_REASON_KILL), 0);
    expect_death(b, RT_REASON_KILLED);
}

Test(rt_exit, exit_kill_from_an_actor_kills_trapping_actor)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
    post(a, CMD_EXIT, b, RT_REASON_KILL);
    cr_assert_eq(expect(REP_ACK, a).reason, 0);
    expect_death(b, RT_REASON_KILLED);
}

Test(rt_exit, exit_with_reason_killed_is_trappable)
{
    rt_pid_t b = spawn_probe(true);
    cr_assert_eq(rt_exit(rt, b, RT_REASON_KILLED), 0);
    report_t e = expect(REP_EXIT, b);
    cr_assert_eq(e.reason, RT_REASON_KILLED);
    expect_alive(b);
}

Test(rt_exit, exit_normal_to_itself_exits_the_caller_normally)
{
    rt_pid_t a = spawn_probe(false);
    rt_pid_t l = spawn_probe(false);
    link_ok(l, a);
    post(a, CMD_EXIT, a, RT_REASON_NORMAL);
    expect_death(a, RT_REASON_NORMAL);
    expect_alive(l); /* a normal exit does not take links along */
}

Test(rt_exit, exit_to_dead_pid_returns_enoproc)
{
    cr_assert_eq(rt_exit(rt, dead_pid(), REASON_X), CLEO_ENOPROC);
}

Test(rt_exit, exit_to_malformed_pid_returns_ebadpid)
{
    cr_assert_eq(rt_exit(rt, RT_PID_NONE, REASON_X), CLEO_EBADPID);
    cr_assert_eq(rt_exit(rt, RT_PID_MAKE(9, 1, 1), REASON_X), CLEO_EBADPID);
}

Test(rt_exit, exit_self_exits_after_the_handler_returns)
{
    rt_pid_t a = spawn_probe(false);
    rt_ref_t ref;
    rt_pid_t w = watch(a, &ref);
    post(a, CMD_EXIT_SELF, 0, REASON_X);
    post(a, CMD_PING, 0, 0);
    /* The handler ran to its end (the ack), and no message after it. */
    cr_assert_eq(expect(REP_ACK, a).reason, 0);
    expect_death(a, REASON_X);
    expect_down(w, a, ref, REASON_X);
    expect_none(REP_ACK, a, QUIET_MS);
}

Test(rt_exit, exit_self_normal_does_not_kill_links)
{
    rt_pid_t a = spawn_probe(false), l = spawn_probe(false);
    link_ok(l, a);
    post(a, CMD_EXIT_SELF, 0, RT_REASON_NORMAL);
    expect(REP_ACK, a);
    expect_death(a, RT_REASON_NORMAL);
    expect_alive(l);
}

Test(rt_exit, handler_returning_stop_exits_normally)
{
    rt_pid_t a = spawn_probe(false), t = spawn_probe(true);
    rt_ref_t ref;
    rt_pid_t w = watch(a, &ref);
    link_ok(t, a);
    post(a, CMD_STOP, 0, 0); /* the probe returns RT_STOP */
    expect_death(a, RT_REASON_NORMAL);
    expect_down(w, a, ref, RT_REASON_NORMAL);
    report_t e = expect(REP_EXIT, t);
    cr_assert_eq(e.other, a);
    cr_assert_eq(e.reason, RT_REASON_NORMAL);
}

Test(rt_exit, handler_returning_error_exits_with_it)
{
    rt_pid_t a = spawn_probe(false);
    rt_ref_t ref;
    rt_pid_t w = watch(a, &ref);
    post(a, CMD_STOP, 0, CLEO_ETIMEDOUT);
    expect_death(a, CLEO_ETIMEDOUT);
    expect_down(w, a, ref, CLEO_ETIMEDOUT);
}

Test(rt_exit, trap_exit_returns_the_previous_value)
{
    rt_pid_t a = spawn_probe(false);
    cr_assert_eq(cmd(a, CMD_TRAP, 1).reason, false);
    cr_assert_eq(cmd(a, CMD_TRAP, 1).reason, true);
    cr_assert_eq(cmd(a, CMD_TRAP, 0).reason, true);
    cr_assert_eq(cmd(a, CMD_TRAP, 0).reason, false);
}

Test(rt_exit, trap_exit_turned_on_later_traps)
{
    rt_pid_t a = spawn_probe(false);
    cmd(a, CMD_TRAP, 1);
    cr_assert_eq(rt_exit(rt, a, REASON_X), 0);
    cr_assert_eq(expect(REP_EXIT, a).reason, REASON_X);
    expect_alive(a);
}

Test(rt_exit, trap_exit_turned_off_no_longer_traps)
{
    rt_pid_t a = spawn_probe(true);
    cr_assert_eq(cmd(a, CMD_TRAP, 0).reason, true);
    cr_assert_eq(rt_exit(rt, a, REASON_X), 0);
    expect_death(a, REASON_X);
    expect_none(REP_EXIT, a, 0);
}

Test(rt_exit, spawn_trap_exit_option_shows_in_actor_info)
{
    rt_pid_t a = spawn_probe(true), b = spawn_probe(false);
    rt_actor_info_t ia, ib_;
    cr_assert_eq(rt_actor_info(rt, a, &ia), 0);
    cr_assert_eq(rt_actor_info(rt, b, &ib_), 0);
    cr_assert(ia.trap_exit);
    cr_assert_not(ib_.trap_exit);
}

Test(rt_exit, exit_signal_follows_earlier_messages_from_same_sender)
{
    for (int i = 0; i < 20; i++) {
        rt_pid_t a = spawn_probe(false), b = spawn_probe(true);
        post(a, CMD_PING_EXIT, b, REASON_X);
        cr_assert_eq(expect(REP_ACK, a).reason, 0);
        /* b reports in the order it handled them: the message first. */
        report_t first = expect(0, b), second = expect(0, b);
        cr_assert_eq(first.kind, REP_ACK, "round %d: EXIT overtook", i);
        cr_assert_eq(second.kind, REP_EXIT);
        cr_assert_eq(second.other, a);
    }
}
