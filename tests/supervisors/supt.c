/*
 * supt.c - helpers for the supervisor tests, #included by each
 * tests/supervisors/test_*.c (one runtime per test, Criterion forks).
 *
 * Workers are small rt_behaviour_t actors started by worker_start() from
 * a wcfg_t (spec->arg; for simple_one_for_one the tag comes from extra).
 * They tell the test thread's inbox when they start (REP_START, from =
 * pid, arg = tag) and when destroy runs (REP_DESTROY, reason), so the
 * test reads restarts and the ORDER of terminations from the inbox: a
 * supervisor stops one child after the other's DOWN, and the inbox keeps
 * the order its reports were sent in.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/rt.h"
#include "supervisors/sup.h"

#define WAIT_MS 10000u /* how long an expected report may take */
#define STASH_MAX 1024

enum {
    REP_START = 1, /* a worker's init ran: from = pid, arg = tag */
    REP_DESTROY,   /* a worker's destroy ran: arg = tag, reason */
    REP_SYNC,      /* the test thread's marker to itself */
    W_EXIT = 10,   /* to a worker: exit with m->reason (0: normally) */
    W_PING,        /* to a worker, as a call: reply arg = tag */
};

typedef struct wcfg_s {
    int tag;
    bool trap;            /* trap exits */
    bool ignore_shutdown; /* (trapping) never exit on a shutdown signal */
} wcfg_t;

typedef struct rep_s {
    uint32_t kind; /* REP_* or RT_MSG_DOWN / RT_MSG_EXIT */
    int tag;
    rt_pid_t pid; /* the sender */
    int reason;
} rep_t;

static rt_t *T_rt;
static rt_inbox_t *T_ib;
static rt_pid_t T_ibp;
static rep_t stash[STASH_MAX];
static int nstash;
static int g_fail_tag = -1;   /* a worker with this tag fails its init */
static int g_fail_rc = -4242; /* ... with this error */
static int g_fail_left = -1;  /* ... this many more times (<0: always) */

/* Plain workers tagged by index, trapping ones, and ones that trap and
 * ignore shutdown. */
static wcfg_t W[16], WT[16], WI[16];

/* ---- workers ---------------------------------------------------------- */

typedef struct wstate_s {
    int tag;
    bool ignore_shutdown;
} wstate_t;

static __attribute__((unused)) void tell(uint32_t kind, int tag, int reason)
{
    rt_msg_t *m = rt_msg_new(kind);
    m->arg = (uint64_t)(int64_t)tag;
    m->reason = reason;
    (void)rt_send(T_rt, T_ibp, m); /* the inbox may be gone at shutdown */
}

static __attribute__((unused)) int worker_init(rt_actor_t *self, void *arg)
{
    const wcfg_t *c = arg;
    if (c->tag == g_fail_tag && g_fail_left != 0) {
        if (g_fail_left > 0)
            g_fail_left--;
        return g_fail_rc;
    }
    wstate_t *w = malloc(sizeof *w);
    cr_assert(w != NULL);
    w->tag = c->tag;
    w->ignore_shutdown = c->ignore_shutdown;
    rt_set_state(self, w);
    tell(REP_START, c->tag, 0);
    return 0;
}

static __attribute__((unused)) int worker_handle(rt_actor_t *self, rt_msg_t *m)
{
    wstate_t *w = rt_state(self);
    switch (m->type) {
    case W_EXIT:
        return m->reason == 0 ? RT_STOP : m->reason;
    case W_PING: {
        rt_msg_t *r = rt_msg_new(W_PING);
        r->arg = (uint64_t)w->tag;
        (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
        return 0;
    }
    case RT_MSG_EXIT:
        if (w->ignore_shutdown)
            return 0;
        return m->reason == 0 ? RT_STOP : m->reason;
    default:
        return 0;
    }
}

static __attribute__((unused)) void worker_destroy(rt_actor_t *self, int reason)
{
    wstate_t *w = rt_state(self);
    if (w == NULL)
        return;
    tell(REP_DESTROY, w->tag, reason);
    free(w);
}

static const rt_behaviour_t worker_beh = {
    .name = "test_worker",
    .init = worker_init,
    .handle = worker_handle,
    .destroy = worker_destroy,
};

/* The sup_start_fn of every test worker. */
static __attribute__((unused)) int worker_start(rt_actor_t *sup,
                                                const sup_child_spec_t *spec,
                                                void *extra, rt_pid_t *out)
{
    wcfg_t c = *(const wcfg_t *)spec->arg;
    if (extra != NULL)
        c.tag = (int)(intptr_t)extra;
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY, .trap_exit = c.trap};
    return rt_spawn(rt_actor_rt(sup), sup, &worker_beh, &c, &o, out);
}

/* A start function that decides not to run the child (OTP's ignore). */
static __attribute__((unused)) int ignore_start(rt_actor_t *sup,
                                                const sup_child_spec_t *spec,
                                                void *extra, rt_pid_t *out)
{
    *out = RT_PID_NONE;
    return 0;
}

#define CHILD(id_, cfg_, restart_, shut_)                                      \
    {                                                                          \
        .id = (id_), .start = worker_start, .arg = (void *)&(cfg_),            \
        .restart = (restart_), .shutdown_ms = (shut_), .type = SUP_WORKER      \
    }
#define PERM(id_, n) CHILD(id_, W[n], SUP_PERMANENT, 1000)

/* ---- the inbox -------------------------------------------------------- */

static __attribute__((unused)) rep_t to_rep(rt_msg_t *m)
{
    rep_t r = {m->type, (int)(int64_t)m->arg, m->from, m->reason};
    rt_msg_free(m);
    return r;
}

static __attribute__((unused)) bool matches(const rep_t *r, uint32_t kind,
                                            int tag, rt_pid_t pid)
{
    return (kind == 0 || r->kind == kind) && (tag < 0 || r->tag == tag) &&
           (pid == RT_PID_NONE || r->pid == pid);
}

/* The oldest report of kind (0 = any), tag (-1 = any) and sender pid
 * (RT_PID_NONE = any), stashed or arriving within ms; false if none came.
 * The reports passed over are stashed in arrival order. */
static __attribute__((unused)) bool
take_from(uint32_t kind, int tag, rt_pid_t pid, uint32_t ms, rep_t *out)
{
    for (int i = 0; i < nstash; i++) {
        if (matches(&stash[i], kind, tag, pid)) {
            *out = stash[i];
            memmove(&stash[i], &stash[i + 1],
                    (size_t)(nstash - i - 1) * sizeof *stash);
            nstash--;
            return true;
        }
    }
    for (;;) {
        rt_msg_t *m;
        if (rt_inbox_recv(T_ib, ms, &m) < 0)
            return false;
        rep_t r = to_rep(m);
        if (matches(&r, kind, tag, pid)) {
            *out = r;
            return true;
        }
        cr_assert_lt(nstash, STASH_MAX, "stash full");
        stash[nstash++] = r;
    }
}

static __attribute__((unused)) bool take(uint32_t kind, int tag, uint32_t ms,
                                         rep_t *out)
{
    return take_from(kind, tag, RT_PID_NONE, ms, out);
}

static __attribute__((unused)) rep_t expect(uint32_t kind, int tag)
{
    rep_t r;
    cr_assert(take(kind, tag, WAIT_MS, &r), "no report kind %u tag %d", kind,
              tag);
    return r;
}

static __attribute__((unused)) void expect_none(uint32_t kind, int tag,
                                                uint32_t ms)
{
    rep_t r;
    cr_assert_not(take(kind, tag, ms, &r),
                  "unexpected report kind %u tag %d reason %d", kind, r.tag,
                  r.reason);
}

/* The next n reports of kind carry exactly these tags, in this order. */
static __attribute__((unused)) void expect_order(uint32_t kind, const int *tags,
                                                 int n)
{
    for (int i = 0; i < n; i++) {
        rep_t r = expect(kind, -1);
        cr_assert_eq(r.tag, tags[i], "report %d of kind %u: tag %d, not %d", i,
                     kind, r.tag, tags[i]);
    }
}

/* The pid's DOWN (the inbox must monitor it), returning the reason. */
static __attribute__((unused)) int expect_down(rt_pid_t pid)
{
    rep_t r;
    cr_assert(take_from(RT_MSG_DOWN, -1, pid, WAIT_MS, &r), "no DOWN");
    cr_assert_neq(r.reason, RT_REASON_NOPROC, "monitored too late");
    return r.reason;
}

/* Monitor pid from the inbox, and wait until the inbox's proxy actor has
 * set the monitor up (it does so asynchronously, in mailbox order). */
static __attribute__((unused)) void monitor(rt_pid_t pid)
{
    cr_assert_eq(rt_inbox_monitor(T_ib, pid), 0);
    rt_msg_t *m = rt_msg_new(REP_SYNC);
    cr_assert_eq(rt_send(T_rt, T_ibp, m), 0);
    expect(REP_SYNC, -1);
}

/* ---- fixtures and small helpers --------------------------------------- */

static __attribute__((unused)) void fill_cfgs(void)
{
    for (int i = 0; i < 16; i++) {
        W[i] = (wcfg_t){i, false, false};
        WT[i] = (wcfg_t){i, true, false};
        WI[i] = (wcfg_t){i, true, true};
    }
}

static __attribute__((unused)) void start_rt(bool det, uint64_t seed)
{
    cr_assert_null(T_rt, "one runtime at a time");
    fill_cfgs();
    nstash = 0;
    g_fail_tag = -1;
    g_fail_left = -1;
    rt_opts_t o = {.schedulers = 4, .deterministic = det, .seed = seed};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(rt_inbox_new(T_rt, &T_ib), 0);
    T_ibp = rt_inbox_pid(T_ib);
}

static __attribute__((unused)) void stop_rt(void)
{
    rt_inbox_free(T_ib);
    T_ib = NULL;
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_stats_t st;
    rt_stats(T_rt, &st);
    cr_assert_eq(st.actors, 0, "%llu actors outlived shutdown",
                 (unsigned long long)st.actors);
    rt_free(T_rt);
    T_rt = NULL;
}

/* Replace the suite's runtime with a deterministic one seeded so. */
static __attribute__((unused)) void use_det(uint64_t seed)
{
    if (T_rt != NULL)
        stop_rt();
    start_rt(true, seed);
}

static __attribute__((unused)) void setup(void)
{
    start_rt(false, 0);
}

static __attribute__((unused)) void teardown(void)
{
    if (T_rt != NULL)
        stop_rt();
}

static __attribute__((unused)) void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Ask a worker to exit with reason (0: normally). */
static __attribute__((unused)) void crash(rt_pid_t pid, int reason)
{
    rt_msg_t *m = rt_msg_new(W_EXIT);
    m->reason = reason;
    cr_assert_eq(rt_send(T_rt, pid, m), 0);
}

/* The children of sup as which_children tells them. */
static __attribute__((unused)) size_t children(rt_pid_t sup,
                                               sup_child_info_t **v)
{
    size_t n = 0;
    cr_assert_eq(sup_which_children_sync(T_rt, sup, v, &n), 0);
    return n;
}

/* The child with this id: its pid, restarts and whether it exists. */
static __attribute__((unused)) bool child(rt_pid_t sup, const char *id,
                                          rt_pid_t *pid, uint32_t *restarts)
{
    sup_child_info_t *v;
    size_t n = children(sup, &v);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].id, id) != 0)
            continue;
        found = true;
        if (pid != NULL)
            *pid = v[i].pid;
        if (restarts != NULL)
            *restarts = v[i].restarts;
    }
    free(v);
    return found;
}

static __attribute__((unused)) rt_pid_t pid_of(rt_pid_t sup, const char *id)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert(child(sup, id, &pid, NULL), "no child %s", id);
    return pid;
}

static __attribute__((unused)) uint32_t restarts_of(rt_pid_t sup,
                                                    const char *id)
{
    uint32_t n = 0;
    cr_assert(child(sup, id, NULL, &n), "no child %s", id);
    return n;
}

/* Start sup with spec and wait for each child's REP_START (tags given). */
static __attribute__((unused)) rt_pid_t start_sup(const sup_spec_t *spec,
                                                  const char *name)
{
    rt_pid_t sup;
    cr_assert_eq(sup_start(T_rt, NULL, name, spec, &sup), 0);
    monitor(sup);
    return sup;
}

/* Stop a top supervisor as an application would, and wait until it is
 * gone; returns its exit reason. */
static __attribute__((unused)) int stop_sup(rt_pid_t sup)
{
    cr_assert_eq(rt_exit(T_rt, sup, RT_REASON_SHUTDOWN), 0);
    return expect_down(sup);
}
