/*
 * test_regress.c - regression tests for defects found in review: a lost
 * timer wakeup, monitors leaking on a dead watcher, calls left hanging by
 * a callee dying mid-request, init failures leaking, concurrent shutdown,
 * inboxes hanging on a dead proxy, and argument checks.
 *
 * Each test makes its own runtime so it can shape it (one scheduler, a
 * file limit) and observe it after shutdown.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_WAKE = 1,
    MSG_TICK,
    MSG_REQ_FAIL,       /* server: return -77 */
    MSG_REQ_PANIC,      /* server: cl_panic */
    MSG_REQ_STOP,       /* server: return RT_STOP */
    MSG_REQ_EXIT,       /* server: rt_exit_self(-78) */
    MSG_REQ_REPLY_STOP, /* server: reply, then RT_STOP */
    MSG_REQ_BADREPLY,   /* server: rt_reply with a system type */
    MSG_REP,
    MSG_GO, /* client: rt_call(arg) to its server */
    MSG_DIE,
};

#define REASON_FAIL (-77)
#define REASON_EXIT (-78)

static atomic_long ticks;
static atomic_int cb_runs, cb_status, reply_rc, destructs, arg_frees;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static rt_t *new_rt(uint32_t scheds)
{
    rt_t *rt;
    rt_opts_t o = {.schedulers = scheds};
    cr_assert_eq(rt_new(&o, &rt), 0);
    return rt;
}

/* Spin (no sleep) until *v reaches want or ms pass; true if it did. */
static bool spin_until(atomic_int *v, int want, uint32_t ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    while (atomic_load(v) < want)
        if (now_ns() > end)
            return false;
    return true;
}

/* ---- 1: a due timer is not lost -------------------------------------- */

static int ticker_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    if (m->type == MSG_TICK)
        atomic_fetch_add(&ticks, 1);
    return 0;
}

static const rt_behaviour_t ticker = {.name = "ticker",
                                      .handle = ticker_handle};

Test(regress, review1_due_timer_not_lost, .timeout = 60)
{
    rt_t *rt = new_rt(1);
    rt_pid_t p;
    cr_assert_eq(rt_spawn(rt, NULL, &ticker, NULL, NULL, &p), 0);
    unsigned seed = 1;
    for (int i = 0; i < 2000; i++) {
        long want = atomic_load(&ticks) + 1;
        cr_assert_eq(rt_send(rt, p, rt_msg_new(MSG_WAKE)), 0);
        uint64_t spin = (uint64_t)(rand_r(&seed) % 40000); /* 0-40 us */
        uint64_t t0 = now_ns();
        while (now_ns() - t0 < spin)
            ;
        cr_assert_eq(rt_send_after(rt, 1, p, rt_msg_new(MSG_TICK), NULL), 0);
        uint64_t start = now_ns();
        while (atomic_load(&ticks) < want)
            cr_assert_lt(now_ns() - start, 1000000000ull,
                         "iteration %d: a 1 ms timer took over 1 s", i);
    }
    rt_free(rt);
}

Test(regress, review12_send_after_saturates)
{
    rt_t *rt = new_rt(1);
    rt_pid_t p;
    rt_ref_t ref;
    cr_assert_eq(rt_spawn(rt, NULL, &ticker, NULL, NULL, &p), 0);
    cr_assert_eq(rt_send_after(rt, UINT64_MAX, p, rt_msg_new(MSG_TICK), &ref),
                 0);
    rtt_sleep_ms(50);
    cr_assert_eq(atomic_load(&ticks), 0, "a never-timer fired (wrapped)");
    cr_assert_eq(rt_timer_cancel(rt, ref), 0);
    rt_free(rt);
}

/* ---- 3: a dead watcher's monitors are dropped by the target ----------- */

static int idle_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    if (m->type == MSG_DIE)
        return RT_STOP;
    return 0;
}

static const rt_behaviour_t idle = {.name = "idle", .handle = idle_handle};

static int watcher_init(rt_actor_t *self, void *arg)
{
    rt_pid_t server = (rt_pid_t)(uintptr_t)arg;
    cr_assert_eq(rt_monitor(self, server, NULL), 0);
    return rt_send(rt_actor_rt(self), rt_self(self), rt_msg_new(MSG_DIE));
}

static const rt_behaviour_t watcher = {
    .name = "watcher", .init = watcher_init, .handle = idle_handle};

/* Wait up to ms for the server's link and monitor counts to reach 0. */
static bool server_clean(rt_t *rt, rt_pid_t server, uint32_t ms)
{
    uint64_t end = rtt_now_ms() + ms;
    rt_actor_info_t info;
    do {
        cr_assert_eq(rt_actor_info(rt, server, &info), 0);
        if (info.links == 0 && info.monitors == 0)
            return true;
        rtt_sleep_ms(1);
    } while (rtt_now_ms() < end);
    return false;
}

Test(regress, review3_dead_watcher_monitor_dropped)
{
    rt_t *rt = new_rt(4);
    rt_pid_t server;
    cr_assert_eq(rt_spawn(rt, NULL, &idle, NULL, NULL, &server), 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(
            rt_spawn(rt, NULL, &watcher, (void *)(uintptr_t)server, NULL, NULL),
            0);
    cr_assert(server_clean(rt, server, 5000),
              "the server still holds monitors of dead watchers");
    rt_free(rt);
}

/* ---- 4: a callee dying mid-request fails the call at once -------------- */

static int server_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_t *rt = rt_actor_rt(self);
    switch (m->type) {
    case MSG_REQ_FAIL:
        return REASON_FAIL;
    case MSG_REQ_PANIC:
        cl_panic("requested");
    case MSG_REQ_STOP:
        return RT_STOP;
    case MSG_REQ_EXIT:
        rt_exit_self(self, REASON_EXIT);
        return 0;
    case MSG_REQ_REPLY_STOP:
        cr_assert_eq(rt_reply(rt, rt_msg_caller(m), rt_msg_new(MSG_REP)), 0);
        return RT_STOP;
    case MSG_REQ_BADREPLY:
        atomic_store(&reply_rc, rt_reply(rt, rt_msg_caller(m),
                                         rt_msg_new(RT_MSG_PROTO_END)));
        return 0;
    default:
        return 0;
    }
}

static const rt_behaviour_t server = {.name = "server",
                                      .handle = server_handle};

static int client_cb(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    (void)self;
    (void)data;
    cr_assert_eq(status == 0, reply != NULL);
    atomic_store(&cb_status, status);
    atomic_fetch_add(&cb_runs, 1);
    return 0;
}

static int client_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == MSG_GO)
        cr_assert_eq(rt_call(self, (rt_pid_t)m->ref,
                             rt_msg_new((uint32_t)m->arg), RT_INFINITY,
                             client_cb, NULL),
                     0);
    return 0;
}

static const rt_behaviour_t client = {.name = "client",
                                      .handle = client_handle};

/* rt_call from an actor: the continuation runs once, with want. */
static void call_async(rt_t *rt, uint32_t req, int want)
{
    rt_pid_t s, c;
    cr_assert_eq(rt_spawn(rt, NULL, &server, NULL, NULL, &s), 0);
    cr_assert_eq(rt_spawn(rt, NULL, &client, NULL, NULL, &c), 0);
    atomic_store(&cb_runs, 0);
    atomic_store(&cb_status, 1);
    rt_msg_t *go = rt_msg_new(MSG_GO);
    go->arg = req;
    go->ref = s;
    cr_assert_eq(rt_send(rt, c, go), 0);
    cr_assert(spin_until(&cb_runs, 1, 1000), "request %u: no completion", req);
    rtt_sleep_ms(50);
    cr_assert_eq(atomic_load(&cb_runs), 1, "request %u: completed twice", req);
    cr_assert_eq(atomic_load(&cb_status), want, "request %u: status %d", req,
                 atomic_load(&cb_status));
}

/* rt_call_sync: returns want promptly (the timeout is 10 s). */
static void call_sync(rt_t *rt, uint32_t req, int want)
{
    rt_pid_t s;
    rt_msg_t *reply = NULL;
    cr_assert_eq(rt_spawn(rt, NULL, &server, NULL, NULL, &s), 0);
    uint64_t t0 = rtt_now_ms();
    int rc = rt_call_sync(rt, s, rt_msg_new(req), 10000, &reply);
    cr_assert_eq(rc, want, "request %u: rc %d", req, rc);
    cr_assert_lt(rtt_now_ms() - t0, 2000);
    cr_assert_eq(reply != NULL, want == 0);
    rt_msg_free(reply);
}

Test(regress, review4_callee_death_fails_call)
{
    rt_t *rt = new_rt(4);
    call_async(rt, MSG_REQ_FAIL, REASON_FAIL);
    call_async(rt, MSG_REQ_PANIC, CLEO_EPANIC);
    call_async(rt, MSG_REQ_STOP, CLEO_ENOPROC);
    call_async(rt, MSG_REQ_EXIT, REASON_EXIT);
    call_async(rt, MSG_REQ_REPLY_STOP, 0);
    call_sync(rt, MSG_REQ_FAIL, REASON_FAIL);
    call_sync(rt, MSG_REQ_PANIC, CLEO_EPANIC);
    call_sync(rt, MSG_REQ_STOP, CLEO_ENOPROC);
    call_sync(rt, MSG_REQ_EXIT, REASON_EXIT);
    call_sync(rt, MSG_REQ_REPLY_STOP, 0);
    rt_free(rt);
}

Test(regress, review10_reply_with_system_type_rejected)
{
    rt_t *rt = new_rt(2);
    rt_pid_t s;
    rt_msg_t *reply = NULL;
    cr_assert_eq(rt_spawn(rt, NULL, &server, NULL, NULL, &s), 0);
    cr_assert_eq(rt_call_sync(rt, s, rt_msg_new(MSG_REQ_BADREPLY), 100, &reply),
                 CLEO_ETIMEDOUT);
    cr_assert_eq(atomic_load(&reply_rc), CLEO_EINVAL);
    rt_free(rt);
}

/* ---- 5: a failed init undoes what it did ------------------------------- */

static void count_destruct(void *p)
{
    (void)p;
    atomic_fetch_add(&destructs, 1);
}

typedef struct {
    rt_pid_t server;
    bool panic;
} failer_arg_t;

static int failer_init(rt_actor_t *self, void *arg)
{
    failer_arg_t *fa = arg;
    cr_assert_eq(rt_resource_add(self, count_destruct, NULL, NULL), 0);
    cr_assert_eq(rt_link(self, fa->server), 0);
    cr_assert_eq(rt_monitor(self, fa->server, NULL), 0);
    cr_assert_eq(rt_register(rt_actor_rt(self), "failer", rt_self(self)), 0);
    if (fa->panic)
        cl_panic("init failed");
    return REASON_FAIL;
}

static const rt_behaviour_t failer = {
    .name = "failer", .init = failer_init, .handle = idle_handle};

Test(regress, review5_failed_init_undone)
{
    rt_t *rt = new_rt(2);
    rt_pid_t s;
    cr_assert_eq(rt_spawn(rt, NULL, &idle, NULL, NULL, &s), 0);
    failer_arg_t fa = {s, false};
    cr_assert_eq(rt_spawn(rt, NULL, &failer, &fa, NULL, NULL), REASON_FAIL);
    fa.panic = true;
    cr_assert_eq(rt_spawn(rt, NULL, &failer, &fa, NULL, NULL), CLEO_EPANIC);
    cr_assert_eq(atomic_load(&destructs), 2);
    cr_assert_eq(rt_whereis(rt, "failer"), RT_PID_NONE);
    cr_assert(server_clean(rt, s, 2000),
              "the server kept a failed child's link or monitor");
    rt_free(rt);
}

/* ---- 8: an inbox whose proxy died does not hang ------------------------ */

Test(regress, review8_inbox_wakes_on_proxy_death, .timeout = 10)
{
    rt_t *rt = new_rt(2);
    rt_inbox_t *ib;
    rt_msg_t *m;
    rt_actor_info_t info;
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    rt_pid_t p = rt_inbox_pid(ib);
    cr_assert_eq(rt_send(rt, p, rt_msg_new(MSG_TICK)), 0);
    do { /* wait until the proxy has queued it for the thread */
        cr_assert_eq(rt_actor_info(rt, p, &info), 0);
    } while (info.msgs < 1);
    cr_assert_eq(rt_exit(rt, p, RT_REASON_KILL), 0);
    cr_assert_eq(rt_inbox_recv(ib, RT_INFINITY, &m), 0);
    cr_assert_eq(m->type, MSG_TICK);
    rt_msg_free(m);
    cr_assert_eq(rt_inbox_recv(ib, RT_INFINITY, &m), CLEO_ESHUTDOWN);
    rt_inbox_free(ib);
    rt_free(rt);
}

Test(regress, review8_inbox_recv_after_shutdown, .timeout = 10)
{
    rt_t *rt = new_rt(2);
    rt_inbox_t *ib;
    rt_msg_t *m;
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    cr_assert_eq(rt_shutdown(rt), 0);
    cr_assert_eq(rt_inbox_recv(ib, RT_INFINITY, &m), CLEO_ESHUTDOWN);
    rt_inbox_free(ib);
    rt_free(rt);
}

/* ---- 9: rt_work_submit takes arg on errors ----------------------------- */

static void count_arg_free(void *p)
{
    (void)p;
    atomic_fetch_add(&arg_frees, 1);
}

static int work_fn(void *arg)
{
    (void)arg;
    return 0;
}

static int submitter_init(rt_actor_t *self, void *arg)
{
    (void)arg;
    static int dummy;
    cr_assert_eq(
        rt_work_submit(self, work_fn, &dummy, count_arg_free, RT_MSG_SYS_BASE),
        CLEO_EINVAL);
    return 0;
}

static const rt_behaviour_t submitter = {
    .name = "submitter", .init = submitter_init, .handle = idle_handle};

Test(regress, review9_work_submit_frees_arg_on_error)
{
    rt_t *rt = new_rt(1);
    cr_assert_eq(rt_spawn(rt, NULL, &submitter, NULL, NULL, NULL), 0);
    cr_assert_eq(atomic_load(&arg_frees), 1);
    rt_free(rt);
}

/* ---- 2: a second rt_shutdown waits for the first ----------------------- */

static atomic_int slow_done;

static void slow_destroy(rt_actor_t *self, int reason)
{
    (void)self;
    (void)reason;
    rtt_sleep_ms(300);
    atomic_store(&slow_done, 1);
}

static const rt_behaviour_t slow = {
    .name = "slow", .handle = idle_handle, .destroy = slow_destroy};

static void *shutdown_thread(void *p)
{
    (void)rt_shutdown(p);
    return NULL;
}

Test(regress, review2_second_shutdown_waits)
{
    rt_t *rt = new_rt(2);
    pthread_t th;
    cr_assert_eq(rt_spawn(rt, NULL, &slow, NULL, NULL, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, shutdown_thread, rt), 0);
    rtt_sleep_ms(50); /* the first caller is waiting on slow_destroy */
    cr_assert_eq(rt_shutdown(rt), 0);
    cr_assert_eq(atomic_load(&slow_done), 1,
                 "rt_shutdown returned before shutdown finished");
    pthread_join(th, NULL);
    rt_free(rt);
}

Test(regress, review2_free_during_shutdown)
{
    rt_t *rt = new_rt(2);
    pthread_t th;
    cr_assert_eq(rt_spawn(rt, NULL, &slow, NULL, NULL, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, shutdown_thread, rt), 0);
    rtt_sleep_ms(50);
    rt_free(rt); /* waits for the shutdown in progress */
    cr_assert_eq(atomic_load(&slow_done), 1);
    pthread_join(th, NULL);
}

/* ---- 6: scheduler setup failure is an error, not a crash --------------- */

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

Test(regress, review6_sched_start_failure_cleans_up)
{
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)open_fds() + 4; /* room for about one loop */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
    rt_t *rt = NULL;
    rt_opts_t o = {.schedulers = 8};
    int rc = rt_new(&o, &rt);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    cr_assert_lt(rc, 0, "rt_new succeeded with no file descriptors");
    /* and the runtime works again once descriptors are back */
    cr_assert_eq(rt_new(&o, &rt), 0);
    rt_free(rt);
}

/* ---- 14: a pid cannot trace itself ------------------------------------- */

Test(regress, review14_self_trace_rejected)
{
    rt_t *rt = new_rt(1);
    rt_pid_t p;
    cr_assert_eq(rt_spawn(rt, NULL, &idle, NULL, NULL, &p), 0);
    cr_assert_eq(rt_trace(rt, p, p), CLEO_EINVAL);
    rt_free(rt);
}
