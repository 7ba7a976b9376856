/*
 * bench_otp.c - the OTP workloads on cleo, mirrored by
 * erlang/otp_bench.erl:
 *
 *   gen_server_call  1,000,000 calls from one client actor to one
 *                    gen_server, one outstanding, 5 s timeout -- calls/s
 *   restart_latency  microseconds from a worker's crash (an abnormal exit
 *                    signal) to its replacement, restarted by a one_for_one
 *                    supervisor, answering its first call; median of
 *                    10,000 crashes -- us
 *
 * Usage: bench_otp WORKLOAD [schedulers]; prints "cleo.<w> <value> <unit>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/actors.h"
#include "runtime/rt.h"
#include "supervisors/sup.h"

#define CALL_N 1000000u
#define RESTART_N 10000u
#define MSG_GO 1
#define MSG_REQ 2
#define MSG_STARTED 3
#define MSG_DONE 4
#define REASON_CRASH (-4242)

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_otp: %s: %s\n", what, cleo_strerror(rc));
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ---- the gen_server both workloads call: replies arg + 1 ------------ */

static int srv_init(rt_actor_t *self, void *arg, void **state)
{
    rt_pid_t *driver = arg;
    if (driver != NULL) { /* a restarted worker announces itself */
        rt_msg_t *m = rt_msg_new(MSG_STARTED);
        m->arg = rt_self(self);
        (void)rt_send(rt_actor_rt(self), *driver, m);
    }
    *state = NULL;
    return 0;
}

static int srv_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    *reply = rt_msg_new(MSG_REQ);
    (*reply)->arg = req->arg + 1;
    return 0;
}

static const gen_server_cbs_t srv_cbs = {
    .name = "bench_server", .init = srv_init, .handle_call = srv_call};

/* ---- the driver: a plain actor that reports to the main inbox ------- */

typedef struct {
    rt_pid_t inbox, server;
    uint64_t n;
    double t0;
    double *lat; /* restart latencies */
} drv_t;

static int drv_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, arg);
    return 0;
}

static void finish(rt_actor_t *self, drv_t *d, double value)
{
    rt_msg_t *m = rt_msg_new(MSG_DONE);
    memcpy(&m->arg, &value, sizeof value);
    (void)rt_send(rt_actor_rt(self), d->inbox, m);
}

static int on_call_reply(rt_actor_t *self, rt_msg_t *r, int status, void *p)
{
    drv_t *d = rt_state(self);
    if (status < 0 || r->arg != d->n + 1)
        die("gen_server_call reply", status < 0 ? status : CLEO_EPROTO);
    if (++d->n == CALL_N) {
        finish(self, d, CALL_N * 1e6 / (now_us() - d->t0));
        return 0;
    }
    rt_msg_t *q = rt_msg_new(MSG_REQ);
    q->arg = d->n;
    return gen_server_call(self, d->server, q, 5000, on_call_reply, NULL);
}

static int call_handle(rt_actor_t *self, rt_msg_t *m)
{
    drv_t *d = rt_state(self);
    d->t0 = now_us();
    rt_msg_t *q = rt_msg_new(MSG_REQ);
    q->arg = 0;
    return gen_server_call(self, d->server, q, 5000, on_call_reply, NULL);
}

static const rt_behaviour_t call_beh = {
    .name = "bench_caller", .init = drv_init, .handle = call_handle};

/* One restart: crash the worker, wait for its replacement, call it. */
static int crash_worker(rt_actor_t *self, drv_t *d)
{
    d->t0 = now_us();
    int rc = rt_exit(rt_actor_rt(self), d->server, REASON_CRASH);
    return rc < 0 ? rc : 0;
}

static int on_first_reply(rt_actor_t *self, rt_msg_t *r, int status, void *p)
{
    drv_t *d = rt_state(self);
    if (status < 0 || r->arg != 1)
        die("first call after restart", status < 0 ? status : CLEO_EPROTO);
    d->lat[d->n++] = now_us() - d->t0;
    if (d->n == RESTART_N) {
        finish(self, d, 0);
        return 0;
    }
    return crash_worker(self, d);
}

static int restart_handle(rt_actor_t *self, rt_msg_t *m)
{
    drv_t *d = rt_state(self);
    if (m->type == MSG_GO)
        return crash_worker(self, d);
    if (m->type != MSG_STARTED)
        return 0;
    d->server = m->arg;
    if (d->t0 == 0)
        return 0; /* the first start, before any crash */
    rt_msg_t *q = rt_msg_new(MSG_REQ);
    q->arg = 0;
    return gen_server_call(self, d->server, q, 5000, on_first_reply, NULL);
}

static const rt_behaviour_t restart_beh = {
    .name = "bench_crasher", .init = drv_init, .handle = restart_handle};

static rt_pid_t driver_pid;

static int start_worker(rt_actor_t *sup, const sup_child_spec_t *spec,
                        void *extra, rt_pid_t *out)
{
    gen_opts_t o = {.link = true, .sched = RT_SCHED_ANY};
    return gen_server_start(rt_actor_rt(sup), sup, &srv_cbs, &driver_pid, &o,
                            out);
}

static const sup_child_spec_t worker_spec[] = {
    {"worker", start_worker, NULL, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t bench_sup = {
    {SUP_ONE_FOR_ONE, 1000000, 1000}, worker_spec, 1};

/* ---- main ----------------------------------------------------------- */

static double wait_done(rt_inbox_t *ib)
{
    rt_msg_t *m;
    int rc = rt_inbox_recv(ib, 120000, &m);
    if (rc < 0)
        die("waiting for the result", rc);
    double v;
    memcpy(&v, &m->arg, sizeof v);
    rt_msg_free(m);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double run_call(rt_t *rt, rt_inbox_t *ib, drv_t *d)
{
    rt_pid_t drv;
    int rc = gen_server_start(rt, NULL, &srv_cbs, NULL, NULL, &d->server);
    if (rc < 0 || (rc = rt_spawn(rt, NULL, &call_beh, d, NULL, &drv)) < 0)
        die("start", rc);
    if ((rc = rt_send(rt, drv, rt_msg_new(MSG_GO))) < 0)
        die("go", rc);
    return wait_done(ib);
}

static double run_restart(rt_t *rt, rt_inbox_t *ib, drv_t *d)
{
    rt_pid_t sup;
    d->lat = calloc(RESTART_N, sizeof(double));
    int rc = rt_spawn(rt, NULL, &restart_beh, d, NULL, &driver_pid);
    if (rc < 0)
        die("spawn driver", rc);
    /* The worker's STARTED (sent from this thread during sup_start) is
     * queued before GO, so the driver knows the first pid. */
    if ((rc = sup_start(rt, NULL, "bench_sup", &bench_sup, &sup)) < 0)
        die("sup_start", rc);
    if ((rc = rt_send(rt, driver_pid, rt_msg_new(MSG_GO))) < 0)
        die("go", rc);
    (void)wait_done(ib);
    qsort(d->lat, RESTART_N, sizeof(double), cmp_double);
    double median = d->lat[RESTART_N / 2];
    free(d->lat);
    return median;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "gen_server_call") != 0 &&
                     strcmp(argv[1], "restart_latency") != 0)) {
        fputs("usage: bench_otp gen_server_call|restart_latency [scheds]\n",
              stderr);
        return 2;
    }
    rt_opts_t o = {.schedulers = argc > 2 ? (uint32_t)atoi(argv[2]) : 2};
    rt_t *rt;
    rt_inbox_t *ib;
    int rc = rt_new(&o, &rt);
    if (rc < 0 || (rc = rt_inbox_new(rt, &ib)) < 0)
        die("runtime", rc);
    static drv_t d;
    d.inbox = rt_inbox_pid(ib);
    bool call = strcmp(argv[1], "gen_server_call") == 0;
    /* Both drivers read their state from this static: set before spawn. */
    double v = call ? run_call(rt, ib, &d) : run_restart(rt, ib, &d);
    if (call)
        printf("cleo.gen_server_call %.0f calls/s\n", v);
    else
        printf("cleo.restart_latency %.1f us\n", v);
    rt_inbox_free(ib);
    rt_free(rt);
    return 0;
}
