/*
 * test_registry.c - the name registry: register, whereis, unregister,
 * rt_send_name, names freed when their actor dies, and every documented
 * error (EEXIST for a taken name or a named pid, ENOPROC, EBADPID, EINVAL).
 *
 * The test thread observes through an inbox: probes answer commands with
 * REP_ACK and report their own destroy(reason).
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
#define CONTENDERS 32

enum {
    CMD_PING = 1, /* ack other = arg */
    CMD_LINK,     /* ack reason = rt_link(arg) */
    CMD_STOP,     /* exit: return m->reason (0: RT_STOP) */
    CMD_PANIC,    /* cl_panic() */
    CMD_REGISTER, /* ack reason = rt_register("contested", self) */
    REP_ACK = 100,
    REP_EXIT,    /* a trapped RT_MSG_EXIT: other = from */
    REP_DOWN,    /* an RT_MSG_DOWN: other = from, ref */
    REP_DESTROY, /* destroy ran: reason */
};

/* What a probe tells the inbox; the payload of every REP_* message. */
typedef struct report_s {
    uint32_t kind;
    rt_pid_t who;   /* the reporting actor */
    rt_pid_t other; /* the pid (or value) the report is about */
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
static int payload_frees; /* count_free() calls, on the test thread */

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
    case CMD_PANIC:
        cl_panic("probe told to panic");
    case CMD_REGISTER:
        return tell(self, REP_ACK, 0, 0,
                    rt_register(r, "contested", rt_self(self)));
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

static void count_free(void *p)
{
    payload_frees++;
    free(p);
}

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

TestSuite(rt_registry, .init = setup, .fini = teardown, .timeout = 60);

/* ---- tests ------------------------------------------------------------ */

static void register_ok(const char *name, rt_pid_t pid)
{
    int rc = rt_register(rt, name, pid);
    cr_assert_eq(rc, 0, "rt_register(%s): %s", name, cleo_err_name(rc));
}

/* Send CMD_PING(arg) by name and expect who to answer it. */
static void ping_by_name(const char *name, rt_pid_t who, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(CMD_PING);
    m->arg = arg;
    int rc = rt_send_name(rt, name, m);
    cr_assert_eq(rc, 0, "rt_send_name(%s): %s", name, cleo_err_name(rc));
    cr_assert_eq(expect(REP_ACK, who).other, arg);
}

/* Wait until the registry has let go of name (the actor has died). */
static void expect_unregistered(const char *name)
{
    for (int i = 0; i < 2000 && rt_whereis(rt, name) != RT_PID_NONE; i++)
        sleep_ms(1);
    cr_assert_eq(rt_whereis(rt, name), RT_PID_NONE);
}

Test(rt_registry, register_then_whereis_returns_the_pid)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    cr_assert_eq(rt_whereis(rt, "alpha"), a);
}

Test(rt_registry, whereis_unknown_name_returns_none)
{
    cr_assert_eq(rt_whereis(rt, "nobody"), RT_PID_NONE);
}

Test(rt_registry, names_are_copied)
{
    rt_pid_t a = spawn_probe(false);
    char name[16] = "copied";
    register_ok(name, a);
    strcpy(name, "changed");
    cr_assert_eq(rt_whereis(rt, "copied"), a);
    cr_assert_eq(rt_whereis(rt, "changed"), RT_PID_NONE);
}

Test(rt_registry, unregister_removes_the_name_only)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    cr_assert_eq(rt_unregister(rt, "alpha"), 0);
    cr_assert_eq(rt_whereis(rt, "alpha"), RT_PID_NONE);
    expect_alive(a);
    register_ok("beta", a); /* a no longer has a name */
    cr_assert_eq(rt_whereis(rt, "beta"), a);
}

Test(rt_registry, unregister_unknown_name_returns_enotfound)
{
    cr_assert_eq(rt_unregister(rt, "nobody"), CLEO_ENOTFOUND);
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    cr_assert_eq(rt_unregister(rt, "alpha"), 0);
    cr_assert_eq(rt_unregister(rt, "alpha"), CLEO_ENOTFOUND);
}

Test(rt_registry, send_name_delivers_to_the_registered_actor)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    register_ok("alpha", a);
    register_ok("beta", b);
    ping_by_name("alpha", a, 11);
    ping_by_name("beta", b, 22);
    expect_none(REP_ACK, 0, QUIET_MS);
}

Test(rt_registry, send_name_keeps_send_order)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    for (uint64_t i = 0; i < 100; i++) {
        rt_msg_t *m = rt_msg_new(CMD_PING);
        m->arg = i;
        cr_assert_eq(rt_send_name(rt, "alpha", m), 0);
    }
    for (uint64_t i = 0; i < 100; i++)
        cr_assert_eq(expect(REP_ACK, a).other, i);
}

Test(rt_registry, send_name_to_unknown_name_returns_enotfound_and_frees)
{
    rt_msg_t *m = rt_msg_new(CMD_PING);
    m->payload = malloc(16);
    m->payload_free = count_free;
    cr_assert_eq(rt_send_name(rt, "nobody", m), CLEO_ENOTFOUND);
    cr_assert_eq(payload_frees, 1, "the message was not freed");
}

Test(rt_registry, name_is_freed_when_the_actor_exits)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    post(a, CMD_STOP, 0, 0);
    expect_death(a, RT_REASON_NORMAL);
    expect_unregistered("alpha");
    rt_msg_t *m = rt_msg_new(CMD_PING);
    cr_assert_eq(rt_send_name(rt, "alpha", m), CLEO_ENOTFOUND);
    rt_pid_t b = spawn_probe(false);
    register_ok("alpha", b); /* the name is free for reuse */
    ping_by_name("alpha", b, 3);
}

Test(rt_registry, name_is_freed_when_the_actor_crashes)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    post(a, CMD_PANIC, 0, 0);
    expect_death(a, CLEO_EPANIC);
    expect_unregistered("alpha");
    register_ok("alpha", spawn_probe(false));
}

Test(rt_registry, name_is_freed_when_the_actor_is_killed)
{
    rt_pid_t a = spawn_probe(true);
    register_ok("alpha", a);
    cr_assert_eq(rt_exit(rt, a, RT_REASON_KILL), 0);
    expect_death(a, RT_REASON_KILLED);
    expect_unregistered("alpha");
}

Test(rt_registry, taken_name_returns_eexist_and_changes_nothing)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    register_ok("alpha", a);
    cr_assert_eq(rt_register(rt, "alpha", b), CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rt, "alpha"), a);
    ping_by_name("alpha", a, 1);
    register_ok("beta", b); /* b got no name from the failed call */
    cr_assert_eq(rt_register(rt, "alpha", a), CLEO_EEXIST); /* again */
    cr_assert_eq(rt_whereis(rt, "alpha"), a);
}

Test(rt_registry, pid_with_a_name_cannot_take_another)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("alpha", a);
    cr_assert_eq(rt_register(rt, "beta", a), CLEO_EEXIST);
    cr_assert_eq(rt_whereis(rt, "beta"), RT_PID_NONE);
    cr_assert_eq(rt_whereis(rt, "alpha"), a);
}

Test(rt_registry, dead_pid_returns_enoproc)
{
    cr_assert_eq(rt_register(rt, "ghost", dead_pid()), CLEO_ENOPROC);
    cr_assert_eq(rt_whereis(rt, "ghost"), RT_PID_NONE);
}

Test(rt_registry, malformed_pid_returns_ebadpid)
{
    cr_assert_eq(rt_register(rt, "bad", RT_PID_NONE), CLEO_EBADPID);
    cr_assert_eq(rt_register(rt, "bad", RT_PID_MAKE(9, 1, 1)), CLEO_EBADPID);
    cr_assert_eq(rt_whereis(rt, "bad"), RT_PID_NONE);
}

Test(rt_registry, empty_or_too_long_name_returns_einval)
{
    rt_pid_t a = spawn_probe(false);
    char name[RT_NAME_MAX + 1];
    memset(name, 'n', RT_NAME_MAX);
    name[RT_NAME_MAX] = '\0'; /* RT_NAME_MAX characters: too long */
    cr_assert_eq(rt_register(rt, "", a), CLEO_EINVAL);
    cr_assert_eq(rt_register(rt, name, a), CLEO_EINVAL);
    name[RT_NAME_MAX - 1] = '\0'; /* the longest allowed */
    register_ok(name, a);
    cr_assert_eq(rt_whereis(rt, name), a);
}

Test(rt_registry, spawn_with_a_name_registers_it)
{
    rt_spawn_opts_t o = {.name = "named", .sched = RT_SCHED_ANY};
    rt_pid_t a = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rt, NULL, &probe_beh, (void *)(uintptr_t)ibp, &o, &a),
                 0);
    cr_assert_eq(rt_whereis(rt, "named"), a);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, a, &info), 0);
    cr_assert_str_eq(info.name, "named");
    ping_by_name("named", a, 5);
}

Test(rt_registry, spawn_with_a_taken_name_fails_and_spawns_nothing)
{
    rt_pid_t a = spawn_probe(false);
    register_ok("taken", a);
    rt_stats_t before, after;
    rt_stats(rt, &before);
    rt_spawn_opts_t o = {.name = "taken", .sched = RT_SCHED_ANY};
    rt_pid_t b = 12345;
    cr_assert_eq(rt_spawn(rt, NULL, &probe_beh, (void *)(uintptr_t)ibp, &o, &b),
                 CLEO_EEXIST);
    cr_assert_eq(b, 12345, "out written on failure");
    rt_stats(rt, &after);
    cr_assert_eq(after.actors, before.actors);
    cr_assert_eq(rt_whereis(rt, "taken"), a);
    expect_none(REP_DESTROY, 0, QUIET_MS);
}

Test(rt_registry, actor_info_shows_the_registered_name)
{
    rt_pid_t a = spawn_probe(false), b = spawn_probe(false);
    register_ok("alpha", a);
    rt_actor_info_t ia, ib_;
    cr_assert_eq(rt_actor_info(rt, a, &ia), 0);
    cr_assert_eq(rt_actor_info(rt, b, &ib_), 0);
    cr_assert_str_eq(ia.name, "alpha");
    cr_assert_str_eq(ib_.name, "");
}

Test(rt_registry, concurrent_registration_of_one_name_has_one_winner)
{
    rt_pid_t c[CONTENDERS];
    for (int i = 0; i < CONTENDERS; i++)
        c[i] = spawn_probe(false);
    for (int i = 0; i < CONTENDERS; i++)
        post(c[i], CMD_REGISTER, 0, 0);
    rt_pid_t winner = RT_PID_NONE;
    int wins = 0, taken = 0;
    for (int i = 0; i < CONTENDERS; i++) {
        report_t a = expect(REP_ACK, c[i]);
        if (a.reason == 0) {
            wins++;
            winner = c[i];
        }
        taken += a.reason == CLEO_EEXIST;
    }
    cr_assert_eq(wins, 1);
    cr_assert_eq(taken, CONTENDERS - 1);
    cr_assert_eq(rt_whereis(rt, "contested"), winner);
    ping_by_name("contested", winner, 9);
}
