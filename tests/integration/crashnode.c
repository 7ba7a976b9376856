/*
 * crashnode.c - a test-only node under cmd/cleo's heart, for
 * test_crash.py: what a crash takes down, and what brings it back.
 *
 *   crash_sup (minisup, one_for_one)
 *   └── crasher: arms the faults below
 *   beat: writes heart's heartbeat every 200 ms
 *
 * The faults, on the first run of the node only (heart's incarnation 0),
 * each N ms after the crasher's start that arms it:
 *   --panic-after-ms N      (first start) crasher calls cl_panic() in a
 *                           handler: the actor crashes, crash_sup
 *                           restarts it, the node goes on ("crasher
 *                           started (2)" on stderr);
 *   --pool-panic-after-ms N (second start) crasher submits a blocking-pool
 *                           job that calls cl_panic(): the job fails, its
 *                           reply carries CLEO_EPANIC, the node goes on;
 *   --segv-after-ms N       (second start) crasher writes through a NULL
 *                           pointer in a handler: SIGSEGV kills the node,
 *                           and heart restarts it.
 * then, with --more-faults, one per later run of the node (heart's
 * incarnations 1 and 2), N ms after the crasher starts:
 *   run 1: abort() in a handler, as a library does on a broken invariant;
 *   run 2: unbounded recursion in a handler (a stack overflow: SIGSEGV on
 *          the scheduler thread's guard page).
 * Run 3 has no faults and stays up.
 *
 * usage: cleo-crashnode --data DIR [the options above]
 * DIR/cleo.pid holds the node's pid, DIR/heart.pid heart's. SIGTERM to
 * heart stops both. These hooks live here, never in the cleo binary.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heart.h"
#include "minisup.h"
#include "util.h"

enum {
    MSG_TICK = 1, /* beat: write a heartbeat, rearm */
    MSG_PANIC,    /* crasher: cl_panic() */
    MSG_POOL,     /* crasher: submit a panicking pool job */
    MSG_POOL_DONE,
    MSG_SEGV,     /* crasher: a memory fault */
    MSG_ABORT,    /* crasher: abort(), as a library would */
    MSG_OVERFLOW, /* crasher: recurse until the stack runs out */
};

#define BEAT_MS 200

typedef struct {
    char pid_path[4200];
    uint32_t panic_ms, pool_ms, segv_ms; /* 0 = off */
    int more;                            /* --more-faults */
    unsigned incarnation;
    int beat_fd;
} conf_t;

static conf_t conf;
static int starts;              /* crasher inits; only its scheduler writes */
static int *volatile nowhere;   /* NULL, opaque to the optimiser */
static volatile int deeper = 1; /* keeps the recursion from looking endless */

/* A store through NULL. UBSan would report it and exit(1) first (as it
 * does not in a release build), so it is told to look away here. */
__attribute__((no_sanitize("undefined"))) static void fault(void)
{
    *nowhere = 1;
}

/* 1 KiB of stack per call, for as long as there is stack. */
static int overflow(int n)
{
    volatile char pad[1024];
    pad[n % sizeof pad] = (char)n;
    return deeper ? overflow(n + 1) + pad[0] : 0;
}

/* ---- beat ------------------------------------------------------------ */

static int beat_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)m;
    ssize_t n = write(conf.beat_fd, ".", 1);
    (void)n; /* a full pipe already holds a beat */
    return rt_send_after(rt_actor_rt(self), BEAT_MS, rt_self(self),
                         rt_msg_new(MSG_TICK), NULL) < 0
               ? -1
               : 0;
}

static const rt_behaviour_t beat_beh = {.name = "beat", .handle = beat_handle};

/* ---- crasher ----------------------------------------------------------- */

static int arm(rt_actor_t *self, uint32_t ms, uint32_t type)
{
    if (ms == 0)
        return 0;
    return rt_send_after(rt_actor_rt(self), ms, rt_self(self), rt_msg_new(type),
                         NULL) < 0
               ? -1
               : 0;
}

static int crasher_init(rt_actor_t *self, void *arg)
{
    (void)arg;
    fprintf(stderr, "crashnode: crasher started (%d)\n", ++starts);
    if (conf.incarnation == 1 && conf.more)
        return arm(self, conf.segv_ms, MSG_ABORT);
    if (conf.incarnation == 2 && conf.more)
        return arm(self, conf.segv_ms, MSG_OVERFLOW);
    if (conf.incarnation > 0)
        return 0;
    /* A crash cancels the timers sent to the dead pid: what comes after
     * the panic is armed by the restarted crasher. */
    if (starts == 1)
        return arm(self, conf.panic_ms, MSG_PANIC);
    if (starts > 2)
        return 0;
    if (arm(self, conf.pool_ms, MSG_POOL) < 0 ||
        arm(self, conf.segv_ms, MSG_SEGV) < 0)
        return -1;
    return 0;
}

static int pool_job(void *arg)
{
    (void)arg;
    cl_panic("crashnode: a pool job gives up on purpose");
}

static int crasher_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case MSG_PANIC:
        cl_panic("crashnode: a handler gives up on purpose");
    case MSG_POOL:
        return rt_work_submit(self, pool_job, NULL, NULL, MSG_POOL_DONE);
    case MSG_POOL_DONE:
        fprintf(stderr, "crashnode: pool job answered %s\n",
                cleo_err_name(m->reason));
        return 0;
    case MSG_SEGV:
        fprintf(stderr, "crashnode: writing through NULL\n");
        fault();
        return 0;
    case MSG_ABORT:
        fprintf(stderr, "crashnode: calling abort()\n");
        abort();
    case MSG_OVERFLOW:
        fprintf(stderr, "crashnode: recursing without end\n");
        return overflow(0);
    default:
        return 0;
    }
}

static const rt_behaviour_t crasher_beh = {
    .name = "crasher", .init = crasher_init, .handle = crasher_handle};

static int start_crasher(rt_actor_t *sup, void *arg, rt_pid_t *out)
{
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .name = "crasher", .sched = RT_SCHED_ANY};
    (void)arg;
    return rt_spawn(rt_actor_rt(sup), sup, &crasher_beh, NULL, &o, out);
}

static const minisup_child_t kids[] = {
    {"crasher", start_crasher, NULL, 0},
};
static const minisup_spec_t spec = {kids, 1};

/* ---- the node (heart's child) ---------------------------------------- */

static int node(void *arg, int beat_fd, unsigned incarnation)
{
    (void)arg;
    /* heart forks with INT/TERM/HUP blocked; every runtime thread
     * inherits that, and this thread waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    conf.beat_fd = beat_fd;
    conf.incarnation = incarnation;
    rt_t *rt = NULL;
    rt_opts_t o = {.schedulers = 2, .dirty_threads = 2, .io_threads = 2};
    int rc = rt_new(&o, &rt);
    rt_pid_t beat = RT_PID_NONE;
    if (rc == 0)
        rc = rt_spawn(rt, NULL, &beat_beh, NULL, NULL, &beat);
    if (rc == 0)
        rc = rt_send(rt, beat, rt_msg_new(MSG_TICK));
    if (rc == 0)
        rc = minisup_start(rt, NULL, "crash_sup", &spec, NULL);
    if (rc == 0)
        rc = util_pidfile_write(conf.pid_path, getpid());
    if (rc < 0) {
        fprintf(stderr, "crashnode: %s\n", cleo_strerror(rc));
        return 1;
    }
    fprintf(stderr, "crashnode: node %ld up (run %u)\n", (long)getpid(),
            incarnation);
    int sig = 0;
    while (sig != SIGINT && sig != SIGTERM)
        if (sigwait(&set, &sig) != 0)
            break;
    rt_free(rt);
    util_pidfile_remove(conf.pid_path, getpid());
    return 0;
}

static uint32_t ms_arg(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    return *end == '\0' && v <= UINT32_MAX ? (uint32_t)v : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: cleo-crashnode --data DIR [--panic-after-ms N] "
                    "[--pool-panic-after-ms N] [--segv-after-ms N] "
                    "[--more-faults]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *data = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--more-faults") == 0) {
            conf.more = 1;
            continue;
        }
        if (++i >= argc)
            return usage();
        if (strcmp(opt, "--data") == 0)
            data = argv[i];
        else if (strcmp(opt, "--panic-after-ms") == 0)
            conf.panic_ms = ms_arg(argv[i]);
        else if (strcmp(opt, "--pool-panic-after-ms") == 0)
            conf.pool_ms = ms_arg(argv[i]);
        else if (strcmp(opt, "--segv-after-ms") == 0)
            conf.segv_ms = ms_arg(argv[i]);
        else
            return usage();
    }
    if (data == NULL)
        return usage();
    if (mkdir(data, 0700) < 0 && errno != EEXIST) {
        perror(data);
        return 1;
    }
    char heart_pid[4200], lock[4200];
    snprintf(conf.pid_path, sizeof conf.pid_path, "%s/cleo.pid", data);
    snprintf(heart_pid, sizeof heart_pid, "%s/heart.pid", data);
    snprintf(lock, sizeof lock, "%s/heart.lock", data);
    heart_opts_t h = {.timeout_s = 5,
                      .max_restarts = 3,
                      .period_s = 60,
                      .pid_path = heart_pid,
                      .lock_path = lock,
                      .node = node};
    return heart_run(&h);
}
