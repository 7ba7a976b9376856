/*
 * sto_bench.c - the storage benchmark driver (issue #4), run by run.sh.
 *
 * Usage: sto_bench GROUP DIR [seconds] [schedulers] [dirty_threads]
 * Prints "storage.<figure> <value> <unit>" lines (and "limit.fsync" for
 * the fsync group); diagnostics go to stderr. DIR must not exist yet or
 * be empty; it is left behind for run.sh to remove.
 *
 *   small   put_4k_c1, put_4k_c64, get_4k_c1, get_4k_c64 (ops/s)
 *   large   put_1m_c64, get_1m_c64 (ops/s)
 *   stream  stream_put_1g, stream_get_1g (MB/s), stream_rss_1g (MiB)
 *   stream_lib  the same three through the library API on the main
 *           thread (no actors), to see what the messages cost
 *   fsync   limit.fsync: 4 KiB append + fdatasync per second, one writer
 *   <op>_<size>_c<n>  one figure alone, e.g. put_4k_c64 or get_1m_c16
 *           (for profiling; a get first runs an unprinted put phase)
 *
 * small and large start a runtime, a one_for_one supervisor and the engine
 * actor (sto_engine_start) on DIR with synced writes, exactly as the node
 * does, then drive it with N client actors, each making one
 * gen_server_call at a time (STO_MSG_PUT / STO_MSG_GET) in a loop of
 * continuations until the deadline. A put phase writes fresh keys; the
 * get phase that follows reads random keys among those it wrote.
 *
 * stream runs one streamer actor through the engine's stream messages:
 * PUT_BEGIN, then STREAM_WRITE calls of 1 MiB each (a fresh rt_buf_t
 * each, as a gateway would pass on what it read; one in flight, the
 * reply being the backpressure) and STREAM_COMMIT; then GET_OPEN and
 * STREAM_READ calls to the end. stream_lib does the same through
 * sto_put_* / sto_get_* on the main thread with its own database. Before
 * each read, the page cache of the database's files is dropped
 * (posix_fadvise) so that the read comes from the disk, as dd
 * iflag=direct does for limit.seq_read. RSS is the process's peak VmRSS
 * (VmHWM reset at idle, and a 2 ms sampler) minus its idle VmRSS.
 *
 * MB is 10^6 bytes, as dd prints it; MiB is 2^20.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "runtime/rt.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define MSG_GO 1
#define MSG_DONE 2
#define MAX_CLIENTS 256
#define BUCKET "bench"
#define GIB ((uint64_t)1 << 30)
#define STREAM_STEP ((size_t)1 << 20)

static void die(const char *what, int rc)
{
    fprintf(stderr, "sto_bench: %s: %s (%d)\n", what, sto_strerror(rc), rc);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A deterministic, incompressible-enough pattern (the data column family
 * is not compressed anyway). */
static void fill(char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

/* ---- client actors -------------------------------------------------- */

typedef struct {
    rt_pid_t inbox, engine;
    int id;
    char tag;                /* the put phase's letter, in every key */
    bool put;                /* STO_MSG_PUT, else STO_MSG_GET */
    size_t size;             /* object bytes */
    rt_buf_t *body;          /* shared by the puts: one reference each */
    const uint64_t *written; /* get: keys each client wrote (read-only) */
    int nwritten;            /* get: number of entries in written */
    uint64_t deadline_ms;    /* runtime clock */
    uint64_t n;              /* calls answered with status 0 */
    uint64_t rng;
} client_t;

static uint64_t next_rand(client_t *c)
{
    c->rng ^= c->rng << 13, c->rng ^= c->rng >> 7, c->rng ^= c->rng << 17;
    return c->rng;
}

static char *pb_strdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static void key_of(char *k, size_t cap, char tag, int client, uint64_t i)
{
    snprintf(k, cap, "%c/c%03d/%010llu", tag, client, (unsigned long long)i);
}

/* The next request: a put of a fresh key, or a get of a random key among
 * those the put phase wrote. */
static rt_msg_t *next_req(client_t *c)
{
    char key[32];
    if (c->put) {
        key_of(key, sizeof key, c->tag, c->id, c->n);
        Cleo__Storage__PutReq *r = calloc(1, sizeof *r);
        if (r == NULL)
            abort();
        cleo__storage__put_req__init(r);
        r->bucket = pb_strdup(BUCKET);
        r->key = pb_strdup(key);
        rt_msg_t *m = rt_msg_new(STO_MSG_PUT);
        rt_msg_set_body(m, r, rt_buf_ref(c->body));
        return m;
    }
    int j;
    do
        j = (int)(next_rand(c) % (uint64_t)c->nwritten);
    while (c->written[j] == 0);
    key_of(key, sizeof key, c->tag, j, next_rand(c) % c->written[j]);
    Cleo__Storage__ObjectReq *r = calloc(1, sizeof *r);
    if (r == NULL)
        abort();
    cleo__storage__object_req__init(r);
    r->bucket = pb_strdup(BUCKET);
    r->key = pb_strdup(key);
    rt_msg_t *m = rt_msg_new(STO_MSG_GET);
    rt_msg_set_pb(m, r);
    return m;
}

static int on_reply(rt_actor_t *self, rt_msg_t *r, int status, void *data);

static int issue(rt_actor_t *self, client_t *c)
{
    return gen_server_call(self, c->engine, next_req(c), 60000, on_reply, c);
}

static int report(rt_actor_t *self, client_t *c)
{
    rt_msg_t *m = rt_msg_new(MSG_DONE);
    m->arg = c->n;
    m->ref = (rt_ref_t)c->id;
    (void)rt_send(rt_actor_rt(self), c->inbox, m);
    return RT_STOP;
}

static int on_reply(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    client_t *c = data;
    if (status == 0)
        status = r->reason;
    if (status < 0)
        die(c->put ? "put" : "get", status);
    if (!c->put) {
        rt_body_t *b = rt_msg_body(r);
        if (b == NULL || rt_buf_len(b->buf) != c->size)
            die("get: wrong body", CLEO_EPROTO);
    }
    c->n++;
    if (rt_now_ms(rt_actor_rt(self)) >= c->deadline_ms)
        return report(self, c);
    return issue(self, c);
}

static int client_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, arg);
    return 0;
}

static int client_handle(rt_actor_t *self, rt_msg_t *m)
{
    return m->type == MSG_GO ? issue(self, rt_state(self)) : 0;
}

static const rt_behaviour_t client_beh = {
    .name = "bench_client", .init = client_init, .handle = client_handle};

/* ---- phases --------------------------------------------------------- */

typedef struct {
    rt_t *rt;
    rt_inbox_t *ib;
    rt_pid_t engine;
    double seconds;
} bench_t;

/* Run nclients clients for b->seconds; each client's successful call
 * count lands in counts[id]. @return ops/s over the whole phase. */
static double run_phase(bench_t *b, char tag, bool put, size_t size,
                        int nclients, const uint64_t *written, int nwritten,
                        uint64_t *counts)
{
    static client_t cl[MAX_CLIENTS];
    rt_buf_t *body = NULL;
    int rc;
    if (put) {
        if ((rc = rt_buf_new(size, &body)) < 0)
            die("body", rc);
        fill(rt_buf_data(body), size, size);
        if ((rc = rt_buf_set_len(body, size)) < 0)
            die("body", rc);
    }
    uint64_t deadline = rt_now_ms(b->rt) + (uint64_t)(b->seconds * 1000);
    rt_pid_t pids[MAX_CLIENTS];
    for (int i = 0; i < nclients; i++) {
        cl[i] = (client_t){.inbox = rt_inbox_pid(b->ib),
                           .engine = b->engine,
                           .id = i,
                           .tag = tag,
                           .put = put,
                           .size = size,
                           .body = body,
                           .written = written,
                           .nwritten = nwritten,
                           .deadline_ms = deadline,
                           .rng = 0x2545F4914F6CDD1Dull + (uint64_t)i};
        if ((rc = rt_spawn(b->rt, NULL, &client_beh, &cl[i], NULL, &pids[i])) <
            0)
            die("spawn client", rc);
    }
    double t0 = now_s();
    for (int i = 0; i < nclients; i++)
        if ((rc = rt_send(b->rt, pids[i], rt_msg_new(MSG_GO))) < 0)
            die("go", rc);
    uint64_t total = 0;
    for (int i = 0; i < nclients; i++) {
        rt_msg_t *m;
        if ((rc = rt_inbox_recv(b->ib, 120000, &m)) < 0)
            die("waiting for the clients", rc);
        if (m->type != MSG_DONE) {
            rt_msg_free(m);
            i--;
            continue;
        }
        counts[m->ref] = m->arg;
        total += m->arg;
        rt_msg_free(m);
    }
    double dt = now_s() - t0;
    rt_buf_unref(body);
    return (double)total / dt;
}

static char T_path[4096];        /* the engine's directory */
static sto_engine_conf_t T_conf; /* the engine's start arg: T_path, defaults */

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

/* The node's storage_sup with only the engine, and the bucket. */
static void start(bench_t *b, uint32_t scheds, uint32_t dirty)
{
    rt_opts_t o = {.schedulers = scheds, .dirty_threads = dirty};
    /* io_threads 0: the node's 64, where synced puts wait */
    rt_pid_t sup;
    sto_engine_conf_init(&T_conf, T_path);
    int rc;
    if ((rc = rt_new(&o, &b->rt)) < 0 ||
        (rc = sup_start(b->rt, NULL, "storage_sup", &spec, &sup)) < 0 ||
        (rc = rt_inbox_new(b->rt, &b->ib)) < 0)
        die("start", rc);
    b->engine = rt_whereis(b->rt, STO_ENGINE_NAME);
    if (b->engine == RT_PID_NONE)
        die("no engine", CLEO_ENOPROC);
    if ((rc = sto_client_bucket_create_sync(b->rt, BUCKET, "bench")) < 0)
        die("bucket", rc);
}

static void stop(bench_t *b)
{
    rt_inbox_free(b->ib);
    (void)rt_shutdown(b->rt);
    rt_free(b->rt);
}

static void print(const char *fig, double v, const char *unit)
{
    printf("storage.%s %.1f %s\n", fig, v, unit);
    fflush(stdout);
}

static void group_small(bench_t *b)
{
    static uint64_t c1[MAX_CLIENTS], c64[MAX_CLIENTS], scratch[MAX_CLIENTS];
    print("put_4k_c1", run_phase(b, 'a', true, 4096, 1, NULL, 0, c1), "ops/s");
    print("put_4k_c64", run_phase(b, 'b', true, 4096, 64, NULL, 0, c64),
          "ops/s");
    /* Both gets read among the c64 phase's keys, the larger set. */
    print("get_4k_c1", run_phase(b, 'b', false, 4096, 1, c64, 64, scratch),
          "ops/s");
    print("get_4k_c64", run_phase(b, 'b', false, 4096, 64, c64, 64, scratch),
          "ops/s");
}

/* One figure alone, for profiling (perf record -g sto_bench put_4k_c64 ..):
 * a get is preceded by an unprinted put phase that makes its keys. */
static bool group_one(bench_t *b, const char *fig)
{
    static uint64_t w[MAX_CLIENTS], scratch[MAX_CLIENTS];
    unsigned kib, c;
    char op[4];
    if (sscanf(fig, "%3[a-z]_%u%*[km]_c%u", op, &kib, &c) != 3 || c < 1 ||
        c > MAX_CLIENTS)
        return false;
    size_t size = strchr(fig, 'm') != NULL ? (size_t)kib << 20 : kib << 10;
    bool put = strcmp(op, "put") == 0;
    if (!put)
        (void)run_phase(b, 'p', true, size, 64, NULL, 0, w);
    print(fig, run_phase(b, 'p', put, size, (int)c, w, 64, put ? w : scratch),
          "ops/s");
    return true;
}

static void group_large(bench_t *b)
{
    static uint64_t w[MAX_CLIENTS], scratch[MAX_CLIENTS];
    size_t mib = (size_t)1 << 20;
    print("put_1m_c64", run_phase(b, 'm', true, mib, 64, NULL, 0, w), "ops/s");
    print("get_1m_c64", run_phase(b, 'm', false, mib, 64, w, 64, scratch),
          "ops/s");
}

/* ---- RSS and page cache ---------------------------------------------- */

/* A /proc/self/status field in KiB, or 0. */
static uint64_t status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t v = 0;
    size_t n = strlen(field);
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtoull(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

/* Reset VmHWM to the current RSS (Linux >= 4.0); harmless if refused. */
static void reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0)
        return;
    if (write(fd, "5", 1) < 0)
        fprintf(stderr, "sto_bench: clear_refs: %s\n", strerror(errno));
    close(fd);
}

typedef struct {
    volatile int stop; /* set by main when the stream is done */
    uint64_t max_kib;  /* largest VmRSS seen */
} sampler_t;

/* Sample VmRSS every 2 ms: VmHWM alone would also be fine, but a sampler
 * still works where clear_refs is refused. */
static void *sampler_run(void *p)
{
    sampler_t *s = p;
    while (!s->stop) {
        uint64_t r = status_kib("VmRSS");
        if (r > s->max_kib)
            s->max_kib = r;
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    return NULL;
}

/* Drop the page cache of every file under dir (synced first, since only
 * clean pages can be dropped). */
static void drop_cache(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096 + 256 + 2];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        (void)fdatasync(fd);
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    closedir(d);
}

static double stream_put(sto_db_t *db, char *buf)
{
    sto_put_t *p;
    int rc;
    double t0 = now_s();
    if ((rc = sto_put_begin(db, BUCKET, "big", NULL, &p)) < 0)
        die("put_begin", rc);
    for (uint64_t off = 0; off < GIB; off += STREAM_STEP) {
        memcpy(buf, &off, sizeof off); /* every block differs */
        if ((rc = sto_put_write(p, buf, STREAM_STEP)) < 0)
            die("put_write", rc);
    }
    if ((rc = sto_put_commit(p, (int64_t)GIB, NULL, NULL)) < 0)
        die("put_commit", rc);
    return (double)GIB / (now_s() - t0) / 1e6;
}

static double stream_get(sto_db_t *db, char *buf)
{
    sto_get_t *g;
    int rc;
    uint64_t total = 0;
    double t0 = now_s();
    if ((rc = sto_get_open(db, BUCKET, "big", NULL, &g)) < 0)
        die("get_open", rc);
    for (;;) {
        ssize_t n = sto_get_read(g, buf, STREAM_STEP);
        if (n < 0)
            die("get_read", (int)n);
        if (n == 0)
            break;
        total += (uint64_t)n;
    }
    sto_get_close(g);
    if (total != GIB)
        die("get: short object", CLEO_EPROTO);
    return (double)GIB / (now_s() - t0) / 1e6;
}

/* The RSS watch around a stream: idle VmRSS, VmHWM reset, a sampler. */
typedef struct {
    uint64_t idle_kib;
    sampler_t s;
    pthread_t th;
} rss_watch_t;

static void rss_watch_start(rss_watch_t *w)
{
    memset(w, 0, sizeof *w);
    w->idle_kib = status_kib("VmRSS");
    reset_hwm();
    if (pthread_create(&w->th, NULL, sampler_run, &w->s) != 0)
        die("sampler", CLEO_ENOMEM);
}

/* Stop the watch and print the three stream figures. */
static void rss_watch_report(rss_watch_t *w, double put, double get)
{
    w->s.stop = 1;
    pthread_join(w->th, NULL);
    uint64_t hwm = status_kib("VmHWM");
    uint64_t peak = hwm > w->s.max_kib ? hwm : w->s.max_kib;
    print("stream_put_1g", put, "MB/s");
    print("stream_get_1g", get, "MB/s");
    print("stream_rss_1g",
          peak > w->idle_kib ? (double)(peak - w->idle_kib) / 1024 : 0, "MiB");
}

static void group_stream_lib(const char *dir)
{
    sto_db_t *db;
    int rc;
    if ((rc = sto_db_open(dir, NULL, &db)) < 0 ||
        (rc = sto_bucket_create(db, BUCKET, "bench", 0)) < 0)
        die("open", rc);
    char *buf = malloc(STREAM_STEP);
    if (buf == NULL)
        die("buffer", CLEO_ENOMEM);
    fill(buf, STREAM_STEP, 1);
    rss_watch_t w;
    rss_watch_start(&w);
    double put = stream_put(db, buf);
    drop_cache(dir);
    double get = stream_get(db, buf);
    rss_watch_report(&w, put, get);
    free(buf);
    sto_db_close(db);
}

/* ---- stream (the engine's stream messages, one streamer actor) ------- */

typedef struct {
    rt_pid_t inbox, engine, stream;
    uint64_t off; /* bytes written, then bytes read */
    double t0;
} streamer_t;

static int on_write(rt_actor_t *self, rt_msg_t *r, int status, void *data);
static int on_read(rt_actor_t *self, rt_msg_t *r, int status, void *data);

static void check(const char *what, rt_msg_t *r, int status)
{
    if (status == 0)
        status = r->reason;
    if (status < 0)
        die(what, status);
}

/* Tell main a phase is done: arg = its MB/s as a double. */
static int phase_done(rt_actor_t *self, streamer_t *st)
{
    double mbps = (double)GIB / (now_s() - st->t0) / 1e6;
    rt_msg_t *m = rt_msg_new(MSG_DONE);
    memcpy(&m->arg, &mbps, sizeof mbps);
    (void)rt_send(rt_actor_rt(self), st->inbox, m);
    return 0;
}

/* The next WRITE (a fresh 1 MiB buffer), or the COMMIT after the last. */
static int write_next(rt_actor_t *self, streamer_t *st)
{
    rt_msg_t *m;
    if (st->off == GIB) {
        Cleo__Storage__PutCommit *c = calloc(1, sizeof *c);
        if (c == NULL)
            abort();
        cleo__storage__put_commit__init(c);
        c->size = (int64_t)GIB;
        m = rt_msg_new(STO_MSG_STREAM_COMMIT);
        rt_msg_set_pb(m, c);
    } else {
        rt_buf_t *b;
        int rc = rt_buf_new(STREAM_STEP, &b);
        if (rc < 0)
            die("buffer", rc);
        fill(rt_buf_data(b), STREAM_STEP, st->off / STREAM_STEP + 1);
        if ((rc = rt_buf_set_len(b, STREAM_STEP)) < 0)
            die("buffer", rc);
        st->off += STREAM_STEP;
        m = rt_msg_new(STO_MSG_STREAM_WRITE);
        rt_msg_set_buf(m, b);
    }
    return gen_server_call(self, st->stream, m, 60000, on_write, st);
}

static int on_write(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    streamer_t *st = data;
    check("stream write/commit", r, status);
    if (r->type == STO_MSG_STREAM_COMMIT)
        return phase_done(self, st);
    return write_next(self, st);
}

static int on_begin(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    streamer_t *st = data;
    check("put_begin", r, status);
    st->stream = r->from; /* the stream answers for itself */
    return write_next(self, st);
}

static int read_next(rt_actor_t *self, streamer_t *st)
{
    return gen_server_call(self, st->stream, rt_msg_new(STO_MSG_STREAM_READ),
                           60000, on_read, st);
}

/* A block: count it; stop after the span (GetOpen.len) is read. */
static int on_block(rt_actor_t *self, streamer_t *st, size_t len)
{
    st->off += len;
    if (st->off > GIB)
        die("get: too long", CLEO_EPROTO);
    if (st->off == GIB)
        return phase_done(self, st);
    if (len == 0)
        die("get: short object", CLEO_EPROTO);
    return read_next(self, st);
}

static int on_read(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    check("stream read", r, status);
    return on_block(self, data, rt_buf_len(r->payload));
}

static int on_open(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    streamer_t *st = data;
    check("get_open", r, status);
    rt_body_t *b = rt_msg_body(r);
    Cleo__Storage__GetOpen *g = b->pb;
    st->stream = g->stream != 0 ? r->from : RT_PID_NONE;
    if (g->len != GIB)
        die("get_open: wrong size", CLEO_EPROTO);
    return on_block(self, st, b->buf != NULL ? rt_buf_len(b->buf) : 0);
}

static int streamer_handle(rt_actor_t *self, rt_msg_t *m)
{
    streamer_t *st = rt_state(self);
    st->off = 0;
    st->t0 = now_s();
    if (m->arg == 0) { /* put */
        Cleo__Storage__PutReq *r = calloc(1, sizeof *r);
        if (r == NULL)
            abort();
        cleo__storage__put_req__init(r);
        r->bucket = pb_strdup(BUCKET), r->key = pb_strdup("big");
        rt_msg_t *q = rt_msg_new(STO_MSG_PUT_BEGIN);
        rt_msg_set_pb(q, r);
        return gen_server_call(self, st->engine, q, 60000, on_begin, st);
    }
    Cleo__Storage__GetReq *r = calloc(1, sizeof *r);
    if (r == NULL)
        abort();
    cleo__storage__get_req__init(r);
    r->bucket = pb_strdup(BUCKET), r->key = pb_strdup("big");
    rt_msg_t *q = rt_msg_new(STO_MSG_GET_OPEN);
    rt_msg_set_pb(q, r);
    return gen_server_call(self, st->engine, q, 60000, on_open, st);
}

static const rt_behaviour_t streamer_beh = {
    .name = "bench_streamer", .init = client_init, .handle = streamer_handle};

/* Run one phase (arg 0 = put, 1 = get) and return its MB/s. */
static double stream_phase(bench_t *b, rt_pid_t pid, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(MSG_GO);
    m->arg = arg;
    int rc = rt_send(b->rt, pid, m);
    if (rc < 0 || (rc = rt_inbox_recv(b->ib, 600000, &m)) < 0)
        die("stream phase", rc);
    double mbps;
    memcpy(&mbps, &m->arg, sizeof mbps);
    rt_msg_free(m);
    return mbps;
}

static void group_stream(bench_t *b)
{
    static streamer_t st;
    st = (streamer_t){.inbox = rt_inbox_pid(b->ib), .engine = b->engine};
    rt_pid_t pid;
    int rc = rt_spawn(b->rt, NULL, &streamer_beh, &st, NULL, &pid);
    if (rc < 0)
        die("spawn streamer", rc);
    rss_watch_t w;
    rss_watch_start(&w);
    double put = stream_phase(b, pid, 0);
    drop_cache(T_path);
    double get = stream_phase(b, pid, 1);
    rss_watch_report(&w, put, get);
}

/* ---- limit.fsync: the disk's synced 4 KiB appends, one writer ------- */

static void group_fsync(const char *dir, double seconds)
{
    char path[4096], buf[4096];
    snprintf(path, sizeof path, "%s/fsync.dat", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die(path, -errno);
    fill(buf, sizeof buf, 3);
    uint64_t n = 0;
    double t0 = now_s(), t;
    do {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf ||
            fdatasync(fd) < 0)
            die("write+fdatasync", -errno);
        n++;
    } while ((t = now_s() - t0) < seconds);
    close(fd);
    unlink(path);
    printf("limit.fsync %.1f ops/s\n", (double)n / t);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sto_bench small|large|stream|fsync DIR "
                        "[seconds] [schedulers] [dirty_threads]\n");
        return 2;
    }
    const char *group = argv[1];
    bench_t b = {.seconds = argc > 3 ? atof(argv[3]) : 5};
    uint32_t scheds = argc > 4 ? (uint32_t)atoi(argv[4]) : 2;
    uint32_t dirty = argc > 5 ? (uint32_t)atoi(argv[5]) : 0;
    if (mkdir(argv[2], 0700) < 0 && errno != EEXIST)
        die(argv[2], -errno);
    snprintf(T_path, sizeof T_path, "%s/storage", argv[2]);
    if (strcmp(group, "stream_lib") == 0) {
        group_stream_lib(T_path);
    } else if (strcmp(group, "stream") == 0) {
        start(&b, scheds, dirty);
        group_stream(&b);
        stop(&b);
    } else if (strcmp(group, "fsync") == 0) {
        group_fsync(argv[2], b.seconds);
    } else if (strcmp(group, "small") == 0 || strcmp(group, "large") == 0) {
        start(&b, scheds, dirty);
        if (group[0] == 's')
            group_small(&b);
        else
            group_large(&b);
        stop(&b);
    } else if (strncmp(group, "put_", 4) == 0 ||
               strncmp(group, "get_", 4) == 0) {
        start(&b, scheds, dirty);
        if (!group_one(&b, group)) {
            fprintf(stderr, "sto_bench: bad figure %s\n", group);
            return 2;
        }
        stop(&b);
    } else {
        fprintf(stderr, "sto_bench: unknown group %s\n", group);
        return 2;
    }
    return 0;
}
