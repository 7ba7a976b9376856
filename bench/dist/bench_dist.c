/*
 * bench_dist.c - distribution between two cleo runtimes in two processes,
 * mirrored by dist_bench.erl so that run.sh can print them side by side.
 *
 * Usage (the cookie comes from CLEO_COOKIE):
 *   bench_dist serve NAME SECONDS
 *       node b: "sink", "pong" and "bulk" registered; prints "port N" once
 *       listening, then lives SECONDS (run.sh kills it sooner).
 *   bench_dist run NAME PEER WORKLOAD
 *       node a: connects to PEER ("name@host:port"), runs WORKLOAD from
 *       one actor and prints "cleo.<workload> <value> <unit>".
 * Workloads: dist_send (DATA_N header-only messages one way, msgs/s),
 * dist_pingpong (PING_N round trips, one in flight, round trips/s),
 * dist_bulk (BULK_N 1 MiB buffers, BULK_WINDOW unacknowledged, MB/s).
 * Each process runs one scheduler (the distribution thread is extra), as
 * run.sh runs erl +S 1. Every workload checks counts, order and sizes and
 * exits 1 when they are wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt.h"

#define DATA_N 1000000u
#define DATA_CHUNK 1000u /* sent per turn; the sender messages itself */
#define PING_N 100000u
#define BULK_N 1000u
#define BULK_LEN (1u << 20)
#define BULK_WINDOW 8u
#define WAIT_MS 120000u
#define UP_WAIT_MS 10000u

enum {
    MSG_DATA = 1, /* dist_send; tag = sequence number from 1 */
    MSG_END,      /* to the sink: answer MSG_COUNT to from */
    MSG_COUNT,    /* tag = messages since the last END, reason = out of order */
    MSG_PING,     /* tag = round trip number */
    MSG_PONG,
    MSG_BULK, /* buffer body; tag = sequence number from 1 */
    MSG_ACK,  /* tag = the BULK's number; reason = 0 or -1 (wrong length) */
    MSG_GO,   /* local: start the workload */
    MSG_MORE, /* local: the next chunk of DATA */
    MSG_RESULT,
    MSG_FAIL
};

static rt_pid_t g_inbox;

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench_dist: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    _exit(1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A header-only message; a failed send ends the benchmark. */
static void send_tag(rt_t *rt, rt_pid_t to, uint32_t type, uint32_t tag,
                     int32_t reason)
{
    rt_msg_t *m = rt_msg_new(type);
    int rc;

    m->tag = tag;
    m->reason = reason;
    if ((rc = rt_send(rt, to, m)) < 0)
        die("send type %u: %s", type, cleo_err_name(rc));
}

/* ---- node b --------------------------------------------------------- */

typedef struct sink_s {
    uint32_t count, bad;
} sink_t;

static int sink_init(rt_actor_t *self, void *arg)
{
    sink_t *s = calloc(1, sizeof(*s));

    (void)arg;
    if (s == NULL)
        return CLEO_ENOMEM;
    rt_set_state(self, s);
    return 0;
}

static void sink_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    free(rt_state(self));
}

static int sink_handle(rt_actor_t *self, rt_msg_t *m)
{
    sink_t *s = rt_state(self);

    if (m->type == MSG_DATA) {
        if (m->tag != ++s->count)
            s->bad++;
    } else if (m->type == MSG_END) {
        send_tag(rt_actor_rt(self), m->from, MSG_COUNT, s->count,
                 (int32_t)s->bad);
        *s = (sink_t){0};
    }
    return 0;
}

static int pong_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == MSG_PING)
        send_tag(rt_actor_rt(self), m->from, MSG_PONG, m->tag, 0);
    return 0;
}

static int bulk_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type != MSG_BULK)
        return 0;
    rt_buf_t *b = m->payload;
    bool ok = b != NULL && rt_buf_len(b) == BULK_LEN &&
              rt_buf_data(b)[0] == 7 && rt_buf_data(b)[BULK_LEN - 1] == 7;
    send_tag(rt_actor_rt(self), m->from, MSG_ACK, m->tag, ok ? 0 : -1);
    return 0;
}

static const rt_behaviour_t sink_beh = {.name = "sink",
                                        .init = sink_init,
                                        .handle = sink_handle,
                                        .destroy = sink_destroy};
static const rt_behaviour_t pong_beh = {.name = "pong", .handle = pong_handle};
static const rt_behaviour_t bulk_beh = {.name = "bulk", .handle = bulk_handle};

/* ---- node a: one driver actor per run ------------------------------- */

typedef enum { W_SEND, W_PINGPONG, W_BULK } workload_t;

typedef struct drv_s {
    workload_t w;
    uint16_t node; /* b's index */
    rt_pid_t peer; /* the named pid, then the one replies come from */
    uint32_t sent; /* messages sent */
    uint32_t done; /* round trips or acks */
    rt_buf_t *buf; /* dist_bulk: one 1 MiB buffer, sent by reference */
    double t0;
} drv_t;

static int drv_init(rt_actor_t *self, void *arg)
{
    drv_t *d = malloc(sizeof(*d));

    if (d == NULL)
        return CLEO_ENOMEM;
    *d = *(const drv_t *)arg;
    rt_set_state(self, d);
    return 0;
}

static void drv_destroy(rt_actor_t *self, int reason)
{
    drv_t *d = rt_state(self);

    (void)reason;
    rt_buf_unref(d->buf);
    free(d);
}

static int finish(rt_actor_t *self, drv_t *d)
{
    rt_msg_t *m = rt_msg_new(MSG_RESULT);

    m->arg = (uint64_t)((now_s() - d->t0) * 1e9);
    (void)rt_send(rt_actor_rt(self), g_inbox, m);
    return RT_STOP;
}

static int fail(rt_actor_t *self, uint32_t detail)
{
    rt_msg_t *m = rt_msg_new(MSG_FAIL);

    m->arg = detail;
    (void)rt_send(rt_actor_rt(self), g_inbox, m);
    return RT_STOP;
}

static void send_chunk(rt_actor_t *self, drv_t *d)
{
    rt_t *rt = rt_actor_rt(self);

    for (uint32_t i = 0; i < DATA_CHUNK && d->sent < DATA_N; i++)
        send_tag(rt, d->peer, MSG_DATA, ++d->sent, 0);
    if (d->sent < DATA_N)
        send_tag(rt, rt_self(self), MSG_MORE, 0, 0);
    else
        send_tag(rt, d->peer, MSG_END, 0, 0);
}

static void send_bulk(rt_actor_t *self, drv_t *d)
{
    rt_msg_t *m = rt_msg_new(MSG_BULK);
    int rc;

    m->tag = ++d->sent;
    rt_msg_set_buf(m, rt_buf_ref(d->buf));
    if ((rc = rt_send(rt_actor_rt(self), d->peer, m)) < 0)
        die("send bulk: %s", cleo_err_name(rc));
}

static void drv_go(rt_actor_t *self, drv_t *d)
{
    d->t0 = now_s();
    if (d->w == W_SEND) {
        d->peer = rt_dist_named(rt_actor_rt(self), d->node, "sink");
        send_chunk(self, d);
    } else if (d->w == W_PINGPONG) {
        d->peer = rt_dist_named(rt_actor_rt(self), d->node, "pong");
        send_tag(rt_actor_rt(self), d->peer, MSG_PING, ++d->sent, 0);
    } else {
        d->peer = rt_dist_named(rt_actor_rt(self), d->node, "bulk");
        while (d->sent < BULK_WINDOW && d->sent < BULK_N)
            send_bulk(self, d);
    }
}

static int drv_handle(rt_actor_t *self, rt_msg_t *m)
{
    drv_t *d = rt_state(self);

    switch (m->type) {
    case MSG_GO:
        drv_go(self, d);
        return 0;
    case MSG_MORE:
        send_chunk(self, d);
        return 0;
    case MSG_COUNT:
        if (m->tag != DATA_N || m->reason != 0)
            return fail(self, m->tag);
        return finish(self, d);
    case MSG_PONG:
        if (m->tag != d->sent)
            return fail(self, m->tag);
        if (++d->done == PING_N)
            return finish(self, d);
        d->peer = m->from; /* the pong actor's own pid from now on */
        send_tag(rt_actor_rt(self), d->peer, MSG_PING, ++d->sent, 0);
        return 0;
    case MSG_ACK:
        if (m->tag != d->done + 1 || m->reason != 0)
            return fail(self, m->tag);
        if (++d->done == BULK_N)
            return finish(self, d);
        d->peer = m->from; /* the first window went by name */
        if (d->sent < BULK_N)
            send_bulk(self, d);
        return 0;
    default:
        return 0;
    }
}

static const rt_behaviour_t drv_beh = {.name = "dist_driver",
                                       .init = drv_init,
                                       .handle = drv_handle,
                                       .destroy = drv_destroy};

/* ---- main ----------------------------------------------------------- */

/* One scheduler: erl runs with +S 1 beside it. A mailbox of a million
 * queued DATA is expected, so long_mqueue is set past it. */
static rt_t *node_start(const char *name)
{
    const char *cookie = getenv("CLEO_COOKIE");
    rt_opts_t o = {.schedulers = 1, .long_mqueue = 4 * DATA_N};
    rt_t *rt;
    int rc;

    if (cookie == NULL || *cookie == '\0')
        die("CLEO_COOKIE is not set");
    if ((rc = rt_new(&o, &rt)) < 0)
        die("rt_new: %s", cleo_err_name(rc));
    rt_dist_opts_t d = {
        .name = name, .cookie = cookie, .cookie_len = strlen(cookie)};
    if ((rc = rt_dist_start(rt, &d)) < 0)
        die("rt_dist_start %s: %s", name, cleo_err_name(rc));
    return rt;
}

static int serve(const char *name, int seconds)
{
    rt_t *rt = node_start(name);
    const rt_behaviour_t *behs[] = {&sink_beh, &pong_beh, &bulk_beh};
    rt_pid_t pid;
    int rc;

    for (size_t i = 0; i < 3; i++) {
        rt_spawn_opts_t o = {.name = behs[i]->name, .sched = RT_SCHED_ANY};
        if ((rc = rt_spawn(rt, NULL, behs[i], NULL, &o, &pid)) < 0)
            die("spawn %s: %s", behs[i]->name, cleo_err_name(rc));
    }
    printf("port %u\n", rt_dist_port(rt));
    fflush(stdout);
    for (int i = 0; i < seconds; i++)
        sleep(1);
    rt_free(rt);
    return 0;
}

static void report(const char *w, double secs)
{
    if (strcmp(w, "dist_send") == 0)
        printf("cleo.%s %.0f msgs/s\n", w, DATA_N / secs);
    else if (strcmp(w, "dist_pingpong") == 0)
        printf("cleo.%s %.0f round_trips/s\n", w, PING_N / secs);
    else
        printf("cleo.%s %.1f MB/s\n", w,
               (double)BULK_N * BULK_LEN / 1e6 / secs);
    fflush(stdout);
}

static int run(const char *name, const char *peer, const char *w)
{
    drv_t tmpl = {0};
    rt_inbox_t *ib;
    rt_msg_t *m;
    int rc;

    if (strcmp(w, "dist_send") == 0)
        tmpl.w = W_SEND;
    else if (strcmp(w, "dist_pingpong") == 0)
        tmpl.w = W_PINGPONG;
    else if (strcmp(w, "dist_bulk") == 0)
        tmpl.w = W_BULK;
    else
        die("unknown workload %s", w);
    rt_t *rt = node_start(name);
    if ((rc = rt_dist_node(rt, peer, &tmpl.node)) < 0)
        die("rt_dist_node %s: %s", peer, cleo_err_name(rc));
    /* Connected before the clock starts, as the Erlang side's connect. */
    (void)rt_dist_connect(rt, tmpl.node);
    for (uint32_t i = 0; !rt_dist_is_up(rt, tmpl.node); i++) {
        if (i == UP_WAIT_MS / 10)
            die("no connection to %s", peer);
        usleep(10000);
    }
    if (tmpl.w == W_BULK) {
        if ((rc = rt_buf_new(BULK_LEN, &tmpl.buf)) < 0)
            die("rt_buf_new: %s", cleo_err_name(rc));
        memset(rt_buf_data(tmpl.buf), 7, BULK_LEN);
        if ((rc = rt_buf_set_len(tmpl.buf, BULK_LEN)) < 0)
            die("rt_buf_set_len: %s", cleo_err_name(rc));
    }
    if ((rc = rt_inbox_new(rt, &ib)) < 0)
        die("rt_inbox_new: %s", cleo_err_name(rc));
    g_inbox = rt_inbox_pid(ib);
    rt_pid_t drv;
    if ((rc = rt_spawn(rt, NULL, &drv_beh, &tmpl, NULL, &drv)) < 0)
        die("spawn driver: %s", cleo_err_name(rc));
    send_tag(rt, drv, MSG_GO, 0, 0);
    if ((rc = rt_inbox_recv(ib, WAIT_MS, &m)) < 0)
        die("%s: no result: %s", w, cleo_err_name(rc));
    if (m->type != MSG_RESULT)
        die("%s: check failed at %llu", w, (unsigned long long)m->arg);
    report(w, (double)m->arg * 1e-9);
    rt_msg_free(m);
    rt_inbox_free(ib);
    rt_free(rt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "serve") == 0)
        return serve(argv[2], atoi(argv[3]));
    if (argc == 5 && strcmp(argv[1], "run") == 0)
        return run(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: bench_dist serve NAME SECONDS\n"
                    "       bench_dist run NAME PEER WORKLOAD\n");
    return 2;
}
