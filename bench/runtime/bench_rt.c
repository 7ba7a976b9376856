/*
 * bench_rt.c - seven actor-runtime workloads on cleo, mirrored one for one
 * by erlang/bench.erl so that run.sh can print them side by side.
 *
 * Usage: bench_rt WORKLOAD [schedulers]
 * Prints one line, "cleo.<workload> <value> <unit>", on stdout. Every
 * workload checks its own result (counts, sums) and exits 1 with a message
 * on stderr when it is wrong, so a fast but broken runtime never scores.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt.h"

#define SPAWN_N 1000000u
#define SPAWN_CHUNK 1000u /* children spawned per driver turn */
#define RING_N 10000u
#define RING_HOPS 1000000u
#define PINGPONG_N 1000000u
#define SKYNET_LEAVES 1000000u
#define SKYNET_DIV 10u
#define SKYNET_SUM 499999500000ull
#define IDLE_N 100000u
#define CALL_N 1000000u
#define CALL_TIMEOUT_MS 5000u
#define BACKLOG_N 100000u /* messages queued ahead of the exit signal */
#define BACKLOG_REPS 5u   /* exits timed per run; the median is printed */
#define REASON_BACKLOG (-4243)
#define WAIT_MS 120000u /* the longest any workload may take */

enum {
    MSG_GO = 1, /* start the workload */
    MSG_STOP,   /* exit now */
    MSG_TOKEN,  /* ring token; arg = hops done */
    MSG_PING,   /* arg = round trip number */
    MSG_PONG,
    MSG_START, /* skynet; arg = num | size << 32 */
    MSG_REQ,   /* call request; arg = n, the reply carries n + 1 */
    MSG_REPLY,
    MSG_READY,  /* to the inbox: setup done */
    MSG_RESULT, /* to the inbox or a skynet parent: arg = value */
    MSG_FAIL,   /* to the inbox: a check failed; arg = detail */
    MSG_HOLD,   /* backlog victim: busy until g_release is set */
    MSG_WORK,   /* backlog victim: one queued message */
    MSG_FIRE,   /* backlog watcher: send the exit now */
    MSG_POLL    /* backlog watcher: stay busy until the DOWN */
};

/* The main thread's inbox. Written once before the first spawn and only
 * read afterwards; rt_spawn() orders the write before any handler. */
static rt_pid_t g_inbox;

/* Print a message and leave at once. _exit(), not exit(): the scheduler
 * threads are still running and must not see atexit teardown. */
static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench_rt: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    _exit(1);
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Send a fresh message with an inline integer; losing it is fatal. */
static void send_arg(rt_t *rt, rt_pid_t to, uint32_t type, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(type);
    int rc;

    m->arg = arg;
    if ((rc = rt_send(rt, to, m)) < 0)
        die("send type %u: %s", type, cleo_err_name(rc));
}

/* Tell the main thread the final value, or that a check failed. */
static void report(rt_actor_t *self, uint64_t value)
{
    send_arg(rt_actor_rt(self), g_inbox, MSG_RESULT, value);
}

static int fail(rt_actor_t *self, uint64_t detail)
{
    send_arg(rt_actor_rt(self), g_inbox, MSG_FAIL, detail);
    return RT_STOP;
}

/* Spawn without link or pin; a failed spawn ends the benchmark. */
static rt_pid_t spawn(rt_t *rt, rt_actor_t *self, const rt_behaviour_t *beh,
                      void *arg)
{
    rt_pid_t pid;
    int rc;

    if ((rc = rt_spawn(rt, self, beh, arg, NULL, &pid)) < 0)
        die("spawn %s: %s", beh->name, cleo_err_name(rc));
    return pid;
}

/* Wait for a message of `type` on the inbox and return its arg. */
static uint64_t wait_for(rt_inbox_t *ib, uint32_t type)
{
    rt_msg_t *m;
    uint64_t arg;
    int rc;

    if ((rc = rt_inbox_recv(ib, WAIT_MS, &m)) < 0)
        die("waiting for type %u: %s", type, cleo_err_name(rc));
    if (m->type == MSG_FAIL)
        die("check failed in an actor (detail %llu)",
            (unsigned long long)m->arg);
    if (m->type != type)
        die("got message type %u, wanted %u", m->type, type);
    arg = m->arg;
    rt_msg_free(m);
    return arg;
}

/* Die unless a workload's result is the expected one. */
static void check(const char *what, uint64_t got, uint64_t want)
{
    if (got != want)
        die("%s: got %llu, want %llu", what, (unsigned long long)got,
            (unsigned long long)want);
}

/* Spawn a driver from the main thread with tmpl as arg, send it `type`
 * with `arg`, and check its result; returns seconds since the spawn. */
static double drive(rt_t *rt, rt_inbox_t *ib, const rt_behaviour_t *beh,
                    void *tmpl, uint32_t type, uint64_t arg, uint64_t want)
{
    double t0 = now_s();

    send_arg(rt, spawn(rt, NULL, beh, tmpl), type, arg);
    check(beh->name, wait_for(ib, MSG_RESULT), want);
    return now_s() - t0;
}

/* Every stateful actor here keeps the same small state, copied from a
 * template passed as the spawn arg (or zeroed when arg is NULL). */
typedef struct st_s {
    rt_pid_t peer; /* ring: next; ping: pong; client: server; sky: parent */
    uint64_t n;    /* spawn: spawned; others: round trips, calls or sum */
    uint64_t k;    /* spawn: downs; ring: node index; sky: children left */
} st_t;

/* arg borrows an st_t template or is NULL. */
static int st_init(rt_actor_t *self, void *arg)
{
    st_t *s = malloc(sizeof(*s));

    if (s == NULL)
        return CLEO_ENOMEM;
    *s = arg != NULL ? *(const st_t *)arg : (st_t){0};
    rt_set_state(self, s);
    return 0;
}

static void st_destroy(rt_actor_t *self, int reason)
{
    free(rt_state(self));
}

#define BEH(nm, fn)                                                            \
    {                                                                          \
        .name = nm, .init = st_init, .handle = fn, .destroy = st_destroy       \
    }

/* Exits on its first message: spawn's children and idle_mem's sleepers. */
static int stop_handle(rt_actor_t *self, rt_msg_t *m)
{
    return RT_STOP;
}

static const rt_behaviour_t stop_beh = {.name = "bench_stop",
                                        .handle = stop_handle};

/* ---------------------------------------------------------------------
 * spawn: a driver spawns SPAWN_N monitored children, each told to stop at
 * once, and counts their DOWN messages. It spawns one bounded batch per
 * turn and messages itself for the next, so DOWNs interleave.
 * ------------------------------------------------------------------- */

static int spawn_chunk(rt_actor_t *self, st_t *s)
{
    rt_t *rt = rt_actor_rt(self);
    rt_ref_t ref;
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_MONITOR, .sched = RT_SCHED_ANY, .mon_ref = &ref};
    rt_pid_t pid;
    int rc;

    for (uint32_t i = 0; i < SPAWN_CHUNK && s->n < SPAWN_N; i++, s->n++) {
        if ((rc = rt_spawn(rt, self, &stop_beh, NULL, &o, &pid)) < 0)
            die("spawn child %llu: %s", (unsigned long long)s->n,
                cleo_err_name(rc));
        send_arg(rt, pid, MSG_STOP, 0);
    }
    if (s->n < SPAWN_N)
        send_arg(rt, rt_self(self), MSG_GO, 0);
    return 0;
}

static int spawner_handle(rt_actor_t *self, rt_msg_t *m)
{
    st_t *s = rt_state(self);

    if (m->type == MSG_GO)
        return spawn_chunk(self, s);
    if (m->type != RT_MSG_DOWN || m->reason != RT_REASON_NORMAL)
        return fail(self, m->type);
    if (++s->k < SPAWN_N)
        return 0;
    report(self, s->k);
    return RT_STOP;
}

static const rt_behaviour_t spawner_beh = BEH("bench_spawner", spawner_handle);

static double run_spawn(rt_t *rt, rt_inbox_t *ib)
{
    return SPAWN_N / drive(rt, ib, &spawner_beh, NULL, MSG_GO, 0, SPAWN_N);
}

/* ---------------------------------------------------------------------
 * ring: node 0 builds a ring of RING_N nodes; the token (arg = hops done)
 * then makes RING_HOPS hops and must end on node RING_HOPS % RING_N.
 * ------------------------------------------------------------------- */

static int ring_handle(rt_actor_t *self, rt_msg_t *m);
static const rt_behaviour_t ring_beh = BEH("bench_ring", ring_handle);

/* Spawn nodes RING_N-1 .. 1, each pointing at the one after it, and close
 * the ring on node 0 (self). */
static int ring_build(rt_actor_t *self, st_t *s)
{
    st_t tmpl = {.peer = rt_self(self)};

    for (tmpl.k = RING_N - 1; tmpl.k > 0; tmpl.k--)
        tmpl.peer = spawn(rt_actor_rt(self), self, &ring_beh, &tmpl);
    s->peer = tmpl.peer;
    send_arg(rt_actor_rt(self), g_inbox, MSG_READY, 0);
    return 0;
}

static int ring_handle(rt_actor_t *self, rt_msg_t *m)
{
    st_t *s = rt_state(self);

    if (m->type == MSG_GO)
        return ring_build(self, s);
    if (m->type != MSG_TOKEN)
        return fail(self, m->type);
    if (m->arg < RING_HOPS)
        send_arg(rt_actor_rt(self), s->peer, MSG_TOKEN, m->arg + 1);
    else if (s->k != RING_HOPS % RING_N)
        return fail(self, s->k);
    else
        report(self, m->arg);
    return 0;
}

static double run_ring(rt_t *rt, rt_inbox_t *ib)
{
    rt_pid_t node0 = spawn(rt, NULL, &ring_beh, NULL);
    double t0;

    send_arg(rt, node0, MSG_GO, 0);
    wait_for(ib, MSG_READY);
    t0 = now_s();
    send_arg(rt, node0, MSG_TOKEN, 0);
    check("ring", wait_for(ib, MSG_RESULT), RING_HOPS);
    return RING_HOPS / (now_s() - t0);
}

/* ---------------------------------------------------------------------
 * pingpong: ping sends PING n, pong answers PONG n, PINGPONG_N times.
 * ------------------------------------------------------------------- */

static int pong_handle(rt_actor_t *self, rt_msg_t *m)
{
    send_arg(rt_actor_rt(self), m->from, MSG_PONG, m->arg);
    return 0;
}

static const rt_behaviour_t pong_beh = {.name = "bench_pong",
                                        .handle = pong_handle};

static int ping_handle(rt_actor_t *self, rt_msg_t *m)
{
    st_t *s = rt_state(self);

    if (m->type != MSG_GO && (m->type != MSG_PONG || m->arg != ++s->n))
        return fail(self, m->arg);
    if (s->n == PINGPONG_N) {
        report(self, s->n);
        return RT_STOP;
    }
    send_arg(rt_actor_rt(self), s->peer, MSG_PING, s->n + 1);
    return 0;
}

static const rt_behaviour_t ping_beh = BEH("bench_ping", ping_handle);

static double run_pingpong(rt_t *rt, rt_inbox_t *ib)
{
    st_t tmpl = {.peer = spawn(rt, NULL, &pong_beh, NULL)};

    return PINGPONG_N / drive(rt, ib, &ping_beh, &tmpl, MSG_GO, 0, PINGPONG_N);
}

/* ---------------------------------------------------------------------
 * skynet: each actor gets START (num | size << 32) from its parent (the
 * root from the main thread, from = 0); a leaf (size 1) answers num, an
 * inner node spawns SKYNET_DIV children and answers the sum of theirs.
 * ------------------------------------------------------------------- */

static int sky_handle(rt_actor_t *self, rt_msg_t *m);
static const rt_behaviour_t sky_beh = BEH("bench_skynet", sky_handle);

static int sky_start(rt_actor_t *self, st_t *s, rt_msg_t *m)
{
    rt_t *rt = rt_actor_rt(self);
    uint64_t num = m->arg & 0xFFFFFFFFu, size = m->arg >> 32;

    s->peer = m->from != RT_PID_NONE ? m->from : g_inbox;
    if (size == 1) {
        send_arg(rt, s->peer, MSG_RESULT, num);
        return RT_STOP;
    }
    s->k = SKYNET_DIV;
    size /= SKYNET_DIV;
    for (uint64_t i = 0; i < SKYNET_DIV; i++) {
        rt_pid_t kid = spawn(rt, self, &sky_beh, NULL);
        send_arg(rt, kid, MSG_START, (num + i * size) | size << 32);
    }
    return 0;
}

static int sky_handle(rt_actor_t *self, rt_msg_t *m)
{
    st_t *s = rt_state(self);

    if (m->type == MSG_START)
        return sky_start(self, s, m);
    if (m->type != MSG_RESULT)
        return fail(self, m->type);
    s->n += m->arg;
    if (--s->k > 0)
        return 0;
    send_arg(rt_actor_rt(self), s->peer, MSG_RESULT, s->n);
    return RT_STOP;
}

static double run_skynet(rt_t *rt, rt_inbox_t *ib)
{
    uint64_t start = (uint64_t)SKYNET_LEAVES << 32;

    return drive(rt, ib, &sky_beh, NULL, MSG_START, start, SKYNET_SUM) * 1e3;
}

/* ---------------------------------------------------------------------
 * idle_mem: RSS growth per actor for IDLE_N actors waiting for a message.
 * ------------------------------------------------------------------- */

/* Resident set size in bytes, from /proc/self/statm. */
static size_t rss_bytes(void)
{
    unsigned long size, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2)
        die("cannot read /proc/self/statm");
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t live_actors(rt_t *rt)
{
    static rt_stats_t st; /* large (per-scheduler array): not on stack */

    rt_stats(rt, &st);
    return st.actors;
}

/* Kill every pid and wait until the live count is back to base. */
static void kill_all(rt_t *rt, const rt_pid_t *pids, uint64_t base)
{
    double deadline = now_s() + 30;

    for (uint32_t i = 0; i < IDLE_N; i++)
        (void)rt_exit(rt, pids[i], RT_REASON_KILL);
    while (live_actors(rt) > base) {
        if (now_s() > deadline)
            die("idle_mem: %llu actors alive after kill",
                (unsigned long long)(live_actors(rt) - base));
        usleep(1000);
    }
}

static double run_idle_mem(rt_t *rt, rt_inbox_t *ib)
{
    /* The pid array is touched before the first RSS read so that it is
     * not charged to the actors. */
    rt_pid_t *pids = calloc(IDLE_N, sizeof(*pids));
    uint64_t base = live_actors(rt);
    size_t before, after;

    if (pids == NULL)
        die("out of memory");
    memset(pids, 0xff, IDLE_N * sizeof(*pids));
    before = rss_bytes();
    for (uint32_t i = 0; i < IDLE_N; i++)
        pids[i] = spawn(rt, NULL, &stop_beh, NULL);
    after = rss_bytes();
    check("idle_mem: live actors", live_actors(rt) - base, IDLE_N);
    kill_all(rt, pids, base);
    free(pids);
    return ((double)after - (double)before) / IDLE_N;
}

/* ---------------------------------------------------------------------
 * call: a client makes CALL_N rt_call()s to one server, one at a time;
 * request n must be answered with n + 1.
 * ------------------------------------------------------------------- */

static int server_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *reply = rt_msg_new(MSG_REPLY);
    int rc;

    reply->arg = m->arg + 1;
    if ((rc = rt_reply(rt_actor_rt(self), rt_msg_caller(m), reply)) < 0)
        die("rt_reply: %s", cleo_err_name(rc));
    return 0;
}

static const rt_behaviour_t server_beh = {.name = "bench_server",
                                          .handle = server_handle};

static int on_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data);

/* Issue call number n + 1; data is the client's state. */
static int call_next(rt_actor_t *self, st_t *s)
{
    rt_msg_t *req = rt_msg_new(MSG_REQ);
    int rc;

    req->arg = s->n + 1;
    if ((rc = rt_call(self, s->peer, req, CALL_TIMEOUT_MS, on_reply, s)) < 0)
        die("rt_call: %s", cleo_err_name(rc));
    return 0;
}

static int on_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    st_t *s = data;

    if (status < 0)
        die("call %llu: %s", (unsigned long long)s->n + 1,
            cleo_err_name(status));
    if (reply->arg != s->n + 2)
        return fail(self, reply->arg);
    if (++s->n < CALL_N)
        return call_next(self, s);
    report(self, s->n);
    return RT_STOP;
}

static int client_handle(rt_actor_t *self, rt_msg_t *m)
{
    return m->type == MSG_GO ? call_next(self, rt_state(self))
                             : fail(self, m->type);
}

static const rt_behaviour_t client_beh = BEH("bench_client", client_handle);

static double run_call(rt_t *rt, rt_inbox_t *ib)
{
    st_t tmpl = {.peer = spawn(rt, NULL, &server_beh, NULL)};

    return CALL_N / drive(rt, ib, &client_beh, &tmpl, MSG_GO, 0, CALL_N);
}

/* ---------------------------------------------------------------------
 * exit_latency_backlog: microseconds from an abnormal exit signal (not
 * kill) sent to an actor with BACKLOG_N messages queued, to the DOWN at
 * the actor that sent it and monitors it; the median of BACKLOG_REPS.
 *
 * The backlog is certain: the victim's first message (HOLD) keeps it busy
 * in its handler until the watcher has sent the exit and set g_release,
 * and the main thread queues BACKLOG_N messages behind HOLD (checked)
 * before it tells the watcher to FIRE. So the exit reaches a busy, not
 * blocked, actor with the whole backlog queued, whether the runtime lets
 * signals overtake messages or not.
 *
 * Victim and watcher are pinned to different schedulers, and after FIRE
 * the watcher stays busy (it messages itself) until the DOWN comes, as in
 * bench.erl. On one scheduler, or when the DOWN has to wake the watcher's
 * sleeping thread, the DOWN waits behind the dead victim's cleanup (100k
 * messages freed): on this 2-vCPU VM Linux often wakes that thread on the
 * victim's busy CPU. Both made the figure bimodal in both runtimes (0.05
 * or 1.5-7 ms); this measures the signal, not the placement lottery.
 * ------------------------------------------------------------------- */

static _Atomic int g_release;

/* Nanoseconds on the monotonic clock (now_s() loses precision here). */
static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int victim_handle(rt_actor_t *self, rt_msg_t *m)
{
    st_t *s = rt_state(self);

    if (m->type == MSG_WORK) {
        s->n++;
        return 0;
    }
    if (m->type != MSG_HOLD)
        return fail(self, m->type);
    send_arg(rt_actor_rt(self), g_inbox, MSG_READY, 0);
    while (!atomic_load_explicit(&g_release, memory_order_acquire))
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        ;
#endif
    return 0;
}

static const rt_behaviour_t victim_beh = BEH("bench_victim", victim_handle);

/* GO: monitor the victim (peer), then send it HOLD (same sender: the
 * monitor is in place before the victim holds). FIRE: note the time in
 * n, send the exit, release the victim, and POLL (keep busy) until the
 * DOWN; then report the microseconds. */
static int watcher_handle(rt_actor_t *self, rt_msg_t *m)
{
    st_t *s = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    int rc;

    if (m->type == MSG_GO) {
        if ((rc = rt_monitor(self, s->peer, NULL)) < 0)
            die("rt_monitor: %s", cleo_err_name(rc));
        send_arg(rt, s->peer, MSG_HOLD, 0);
        return 0;
    }
    if (m->type == MSG_FIRE) {
        s->n = now_ns();
        if ((rc = rt_exit(rt, s->peer, REASON_BACKLOG)) < 0)
            die("rt_exit: %s", cleo_err_name(rc));
        atomic_store_explicit(&g_release, 1, memory_order_release);
        send_arg(rt, rt_self(self), MSG_POLL, 0);
        return 0;
    }
    if (m->type == MSG_POLL) {
        send_arg(rt, rt_self(self), MSG_POLL, 0);
        return 0;
    }
    if (m->type != RT_MSG_DOWN || m->from != s->peer)
        return fail(self, m->type);
    if (m->reason != REASON_BACKLOG)
        return fail(self, (uint64_t)(uint32_t)m->reason);
    report(self, (now_ns() - s->n) / 100u); /* tenths of a microsecond */
    return RT_STOP;
}

static const rt_behaviour_t watcher_beh = BEH("bench_watcher", watcher_handle);

/* One exit behind a full backlog; returns microseconds. */
static double backlog_once(rt_t *rt, rt_inbox_t *ib)
{
    rt_spawn_opts_t vo = {.sched = 0}, wo = {.sched = 1};
    rt_actor_info_t info;
    rt_pid_t watcher;
    st_t tmpl;
    int rc;

    if ((rc = rt_spawn(rt, NULL, &victim_beh, NULL, &vo, &tmpl.peer)) < 0 ||
        (rc = rt_spawn(rt, NULL, &watcher_beh, &tmpl, &wo, &watcher)) < 0)
        die("spawn: %s", cleo_err_name(rc));
    atomic_store_explicit(&g_release, 0, memory_order_relaxed);
    send_arg(rt, watcher, MSG_GO, 0);
    wait_for(ib, MSG_READY);
    for (uint32_t i = 0; i < BACKLOG_N; i++)
        send_arg(rt, tmpl.peer, MSG_WORK, i);
    if ((rc = rt_actor_info(rt, tmpl.peer, &info)) < 0)
        die("victim info: %s", cleo_err_name(rc));
    check("exit_latency_backlog: queued", info.mailbox, BACKLOG_N);
    send_arg(rt, watcher, MSG_FIRE, 0);
    return (double)wait_for(ib, MSG_RESULT) / 10.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Needs two schedulers (victim and watcher apart). */
static double run_exit_latency_backlog(rt_t *rt, rt_inbox_t *ib)
{
    double us[BACKLOG_REPS];

    if (rt_sched_count(rt) < 2)
        die("exit_latency_backlog needs at least 2 schedulers");
    for (uint32_t i = 0; i < BACKLOG_REPS; i++) {
        us[i] = backlog_once(rt, ib);
        fprintf(stderr, "bench_rt: exit_latency_backlog %u: %.1f us\n", i + 1,
                us[i]);
    }
    qsort(us, BACKLOG_REPS, sizeof(us[0]), cmp_double);
    return us[BACKLOG_REPS / 2];
}

/* ---------------------------------------------------------------------
 * Driver.
 * ------------------------------------------------------------------- */

typedef struct workload_s {
    const char *name;
    const char *unit;
    const char *fmt; /* printf format of the value */
    double (*run)(rt_t *rt, rt_inbox_t *ib);
} workload_t;

static const workload_t workloads[] = {
    {"spawn", "actors/s", "%.0f", run_spawn},
    {"ring", "hops/s", "%.0f", run_ring},
    {"pingpong", "roundtrips/s", "%.0f", run_pingpong},
    {"skynet", "ms", "%.1f", run_skynet},
    {"idle_mem", "bytes", "%.1f", run_idle_mem},
    {"call", "calls/s", "%.0f", run_call},
    {"exit_latency_backlog", "us", "%.1f", run_exit_latency_backlog},
};

#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static const workload_t *find_workload(const char *name)
{
    for (size_t i = 0; i < N_WORKLOADS; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    return NULL;
}

static _Noreturn void usage(void)
{
    fputs("usage: bench_rt spawn|ring|pingpong|skynet|idle_mem|call|"
          "exit_latency_backlog [schedulers]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const workload_t *w;
    rt_opts_t opts = {.schedulers = 2};
    rt_inbox_t *ib;
    rt_t *rt;
    double v;
    int rc;

    if (argc < 2 || argc > 3 || (w = find_workload(argv[1])) == NULL)
        usage();
    if (argc == 3 && (opts.schedulers = (uint32_t)atoi(argv[2])) == 0)
        usage();
    if ((rc = rt_new(&opts, &rt)) < 0)
        die("rt_new: %s", cleo_err_name(rc));
    if ((rc = rt_inbox_new(rt, &ib)) < 0)
        die("rt_inbox_new: %s", cleo_err_name(rc));
    g_inbox = rt_inbox_pid(ib);
    v = w->run(rt, ib);
    printf("cleo.%s ", w->name);
    printf(w->fmt, v);
    printf(" %s\n", w->unit);
    fflush(stdout);
    rt_inbox_free(ib);
    if ((rc = rt_shutdown(rt)) < 0)
        die("rt_shutdown: %s", cleo_err_name(rc));
    rt_free(rt);
    return 0;
}
