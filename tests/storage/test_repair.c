/*
 * test_repair.c - the repairer (storage/repair.c, repair_push.c) between
 * two runtimes in this process over real loopback distribution: node A
 * runs an engine and the repairer, node B (the target) an engine. Entries
 * are queued with sto__repair_enqueue() as a coordinator would, and B's
 * replicas are checked through its engine: the same version (clock and
 * node), ETag, bytes and deleted flag as A's.
 *
 * Needs the engine's REPAIR_* rows (job.c's table, see rqueue.h) and the
 * versioned replica writes (PutReq.version, ObjectReq.version).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "proto/types.h"
#include "storage/repair.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define A_NAME "a@127.0.0.1"
#define B_NAME "b@127.0.0.1"
#define WAIT_MS 15000

static const char cookie[] = "repair-test-cookie";
static char T_dir[64], A_path[96], B_path[96];
static rt_t *A, *B;
static uint16_t A_port, B_port; /* B's is picked before B exists */
static sto_engine_conf_t A_conf, B_conf;
static sto_repair_conf_t R_conf;

static const sup_child_spec_t a_kids[] = {
    {"engine", sto_engine_start, &A_conf, SUP_PERMANENT, 5000, SUP_WORKER},
    {"repair", sto_repair_start, &R_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t a_spec = {{SUP_REST_FOR_ONE, 10, 5000}, a_kids, 2};
static const sup_child_spec_t b_kids[] = {
    {"engine", sto_engine_start, &B_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t b_spec = {{SUP_ONE_FOR_ONE, 10, 5000}, b_kids, 1};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void sleep_ms(unsigned ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L},
              NULL);
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A runtime with distribution as name on port, every storage type
 * decodable, and its storage supervisor. */
static rt_t *node_new(const char *name, uint16_t port, const sup_spec_t *spec)
{
    rt_t *rt;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
    rt_dist_opts_t d = {.name = name,
                        .port = port,
                        .cookie = cookie,
                        .cookie_len = strlen(cookie),
                        .net_ticktime_ms = 4000};
    cr_assert_eq(rt_dist_start(rt, &d), 0);
    for (size_t k = 0; cleo_proto_storage_types[k] != NULL; k++)
        cr_assert_eq(rt_dist_register_pb(rt, cleo_proto_storage_types[k]), 0);
    rt_pid_t sup;
    cr_assert_eq(sup_start(rt, NULL, "storage_sup", spec, &sup), 0);
    return rt;
}

/* Declare peer (name) at port on rt; optionally connect now. */
static void peer(rt_t *rt, const char *name, uint16_t port, bool connect)
{
    char p[96];
    uint16_t idx;
    snprintf(p, sizeof p, "%s:%u", name, port);
    cr_assert_eq(rt_dist_node(rt, p, &idx), 0);
    if (connect)
        cr_assert_eq(rt_dist_connect(rt, idx), 0);
}

static void conf(sto_engine_conf_t *c, const char *path, uint64_t node_id)
{
    sto_engine_conf_init(c, path);
    c->opts.chunk_size = 64 << 10; /* a big object is many blocks */
    c->opts.cache_bytes = 8 << 20;
    c->opts.no_sync = true;
    c->opts.reserve_bytes = 0;
    c->opts.node_id = node_id;
}

static void a_start(void)
{
    A = node_new(A_NAME, A_port, &a_spec);
    peer(A, B_NAME, B_port, false);
}

/* B, the target, comes up: its bucket first, then it connects to A
 * (A's NODEUP). */
static void b_start(void)
{
    B = node_new(B_NAME, B_port, &b_spec);
    cr_assert_eq(sto_client_bucket_create_sync(B, "bkt", NULL), 0);
    peer(B, A_NAME, A_port, true);
}

static void setup_with(uint32_t min_ms, uint32_t max_ms)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-rep-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(A_path, sizeof A_path, "%s/a", T_dir);
    snprintf(B_path, sizeof B_path, "%s/b", T_dir);
    conf(&A_conf, A_path, 1);
    conf(&B_conf, B_path, 2);
    R_conf = (sto_repair_conf_t){min_ms, max_ms};
    A_port = free_port();
    B_port = free_port();
    a_start();
    int rc = sto_client_bucket_create_sync(A, "bkt", NULL);
    cr_assert_eq(rc, 0, "bucket on A: %s", sto_err_name(rc));
}

static void setup(void)
{
    setup_with(100, 400);
}

/* Retries so slow that only a NODEUP can drain within a test. */
static void setup_slow(void)
{
    setup_with(30000, 30000);
}

static void teardown(void)
{
    if (B != NULL) {
        cr_assert_eq(rt_shutdown(B), 0);
        rt_free(B);
        B = NULL;
    }
    cr_assert_eq(rt_shutdown(A), 0);
    rt_free(A);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_repair, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(sto_repair_nodeup, .init = setup_slow, .fini = teardown,
          .timeout = 120);

/* ---- helpers --------------------------------------------------------- */

static rt_buf_t *body(size_t n, uint32_t s)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(n, &b), 0);
    for (size_t i = 0; i < n; i++)
        rt_buf_data(b)[i] = (char)(i * 131 + s * 7 + (i >> 11));
    cr_assert_eq(rt_buf_set_len(b, n), 0);
    return b;
}

static void put(rt_t *rt, const char *key, size_t n, uint32_t s)
{
    int rc = sto_client_put_sync(rt, "bkt", key, body(n, s), NULL, NULL);
    cr_assert_eq(rc, 0, "put %s: %s", key, sto_err_name(rc));
}

/* HEAD with tombstones on rt's engine: 0 and *out, or the error. */
static int head_any(rt_t *rt, const char *key, Cleo__Storage__ObjectInfo **out)
{
    Cleo__Storage__ObjectReq *q = malloc(sizeof *q);
    cleo__storage__object_req__init(q);
    q->bucket = strdup("bkt");
    q->key = strdup(key);
    q->tombstones = true;
    rt_msg_t *m = rt_msg_new(STO_MSG_HEAD), *r = NULL;
    rt_msg_set_pb(m, q);
    int rc =
        gen_server_call_sync(rt, rt_whereis(rt, STO_ENGINE_NAME), m, 10000, &r);
    if (rc == 0)
        rc = r->reason;
    if (rc == 0) {
        *out = r->payload;
        r->payload = NULL;
    }
    rt_msg_free(r);
    return rc;
}

static Cleo__Storage__ObjectInfo *head_ok(rt_t *rt, const char *key)
{
    Cleo__Storage__ObjectInfo *i = NULL;
    int rc = head_any(rt, key, &i);
    cr_assert_eq(rc, 0, "head %s: %s", key, sto_err_name(rc));
    return i;
}

static void info_free(Cleo__Storage__ObjectInfo *i)
{
    cleo__storage__object_info__free_unpacked(i, NULL);
}

/* Queue key's current version on A for target, as a coordinator does. */
static void enqueue_current(const char *target, const char *key)
{
    Cleo__Storage__ObjectInfo *i = head_ok(A, key);
    cr_assert_eq(
        sto__repair_enqueue(A, target, "bkt", key, i->clock, i->clock_node), 0);
    info_free(i);
}

/* The repairer's row for target (zeros if none). */
static Cleo__Storage__RepairCount row(const char *target)
{
    Cleo__Storage__RepairCount c = CLEO__STORAGE__REPAIR_COUNT__INIT;
    rt_msg_t *r = NULL;
    int rc = gen_server_call_sync(A, rt_whereis(A, STO_REPAIR_NAME),
                                  rt_msg_new(STO_MSG_REPAIR_STATS), 10000, &r);
    if (rc != 0 || r->reason != 0 || r->payload == NULL) {
        rt_msg_free(r);
        return c;
    }
    const Cleo__Storage__RepairStats *s = r->payload;
    for (size_t i = 0; i < s->n_targets; i++)
        if (strcmp(s->targets[i]->node, target) == 0) {
            c = *s->targets[i];
            c.node = NULL; /* not kept */
        }
    rt_msg_free(r);
    return c;
}

/* Wait until target has `entries` queued and at least `done` entries
 * repaired + dropped. */
static void wait_row(const char *target, uint64_t entries, uint64_t done)
{
    Cleo__Storage__RepairCount c;
    for (int i = 0; i < WAIT_MS / 20; i++) {
        c = row(target);
        if (c.entries == entries && c.repaired + c.dropped >= done)
            return;
        sleep_ms(20);
    }
    cr_assert_fail("%s: %llu queued, %llu repaired, %llu dropped, %llu "
                   "failed; wanted %llu queued, %llu done",
                   target, (unsigned long long)c.entries,
                   (unsigned long long)c.repaired,
                   (unsigned long long)c.dropped, (unsigned long long)c.failed,
                   (unsigned long long)entries, (unsigned long long)done);
}

/* B's replica of key is A's: the same version, ETag, deleted flag and
 * (live) bytes. */
static void assert_same(const char *key)
{
    Cleo__Storage__ObjectInfo *a = head_ok(A, key), *b = head_ok(B, key);
    cr_assert_eq(b->clock, a->clock, "%s: clock %llu, not %llu", key,
                 (unsigned long long)b->clock, (unsigned long long)a->clock);
    cr_assert_eq(b->clock_node, a->clock_node, "%s: the version's node", key);
    cr_assert_eq(b->deleted, a->deleted, "%s: deleted", key);
    cr_assert_str_eq(b->etag, a->etag, "%s: etag", key);
    cr_assert_eq(b->size, a->size, "%s: size", key);
    cr_assert_eq(b->last_modified_ms, a->last_modified_ms, "%s: lm", key);
    if (!a->deleted) {
        rt_buf_t *ga = NULL, *gb = NULL;
        cr_assert_eq(sto_client_get_sync(A, "bkt", key, &ga, NULL), 0);
        cr_assert_eq(sto_client_get_sync(B, "bkt", key, &gb, NULL), 0);
        cr_assert_eq(rt_buf_len(ga), rt_buf_len(gb));
        cr_assert_eq(memcmp(rt_buf_data(ga), rt_buf_data(gb), rt_buf_len(ga)),
                     0, "%s: the bytes differ", key);
        rt_buf_unref(ga);
        rt_buf_unref(gb);
    }
    info_free(a);
    info_free(b);
}

/* ---- the tests ------------------------------------------------------- */

Test(sto_repair_nodeup, a_returning_node_gets_objects_streams_and_tombstones)
{
    put(A, "small", 5000, 1);
    put(A, "newer", 3000, 2);
    put(A, "big", (3u << 20) / 2, 3); /* over 1 MiB: streamed in blocks */
    put(A, "gone", 100, 4);
    cr_assert_eq(sto_client_delete_sync(A, "bkt", "gone"), 0);
    enqueue_current(B_NAME, "small");
    enqueue_current(B_NAME, "big");
    enqueue_current(B_NAME, "gone");
    enqueue_current(B_NAME, "newer");
    put(A, "newer", 4000, 5); /* after its entry: the newest is pushed */
    wait_row(B_NAME, 4, 0);
    Cleo__Storage__RepairCount c = row(B_NAME);
    cr_assert_eq(c.repaired, 0, "B is down: nothing pushed yet");

    b_start(); /* NODEUP: drained now, not in 30 s */
    wait_row(B_NAME, 0, 4);
    c = row(B_NAME);
    cr_assert_eq(c.repaired, 4);
    cr_assert_eq(c.dropped, 0);
    assert_same("small");
    assert_same("big");
    assert_same("gone");
    assert_same("newer");
    Cleo__Storage__ObjectInfo *b = head_ok(B, "newer");
    cr_assert_eq(b->size, 4000, "the newest version went");
    info_free(b);
}

Test(sto_repair, entries_survive_a_restart_of_the_node)
{
    put(A, "k1", 10, 1);
    put(A, "k2", 10, 2);
    enqueue_current(B_NAME, "k1");
    enqueue_current(B_NAME, "k2");
    enqueue_current(A_NAME, "k1"); /* itself: never queued */
    wait_row(B_NAME, 2, 0);
    cr_assert_eq(row(A_NAME).entries, 0);
    /* The repairer restarts: it counts the queue again. */
    rt_pid_t old = rt_whereis(A, STO_REPAIR_NAME);
    cr_assert_eq(rt_exit(A, old, RT_REASON_KILL), 0);
    for (int i = 0; i < 500 && (rt_whereis(A, STO_REPAIR_NAME) == old ||
                                rt_whereis(A, STO_REPAIR_NAME) == RT_PID_NONE);
         i++)
        sleep_ms(10);
    wait_row(B_NAME, 2, 0);
    /* The whole node stops and starts again on the same data. */
    cr_assert_eq(rt_shutdown(A), 0);
    rt_free(A);
    a_start();
    wait_row(B_NAME, 2, 0);
    /* And B, once it is up, gets both. */
    b_start();
    wait_row(B_NAME, 0, 2);
    assert_same("k1");
    assert_same("k2");
}

Test(sto_repair, a_newer_version_on_the_target_is_kept)
{
    b_start();
    put(A, "k", 100, 1);
    sleep_ms(5);
    put(B, "k", 200, 2); /* newer: B's clock is later */
    enqueue_current(B_NAME, "k");
    wait_row(B_NAME, 0, 1);
    cr_assert_eq(row(B_NAME).repaired, 1, "superseded counts as done");
    Cleo__Storage__ObjectInfo *a = head_ok(A, "k"), *b = head_ok(B, "k");
    cr_assert_eq(b->size, 200);
    cr_assert_eq(b->clock_node, 2);
    cr_assert_gt(b->clock, a->clock);
    info_free(a);
    info_free(b);
}

Test(sto_repair, an_entry_this_node_does_not_hold_is_dropped)
{
    b_start();
    put(A, "k", 100, 1);
    Cleo__Storage__ObjectInfo *a = head_ok(A, "k");
    /* A version newer than A's own, and a key A never had. */
    cr_assert_eq(sto__repair_enqueue(A, B_NAME, "bkt", "k", a->clock + 1000, 1),
                 0);
    cr_assert_eq(sto__repair_enqueue(A, B_NAME, "bkt", "never", 5, 1), 0);
    info_free(a);
    wait_row(B_NAME, 0, 2);
    Cleo__Storage__RepairCount c = row(B_NAME);
    cr_assert_eq(c.dropped, 2);
    cr_assert_eq(c.repaired, 0);
    Cleo__Storage__ObjectInfo *b = NULL;
    cr_assert_eq(head_any(B, "k", &b), CLEO_ENOTFOUND, "nothing was pushed");
}

Test(sto_repair, a_missing_bucket_there_is_retried_until_it_exists)
{
    put(A, "k", 100, 1);
    B = node_new(B_NAME, B_port, &b_spec); /* no bucket b1 yet */
    peer(B, A_NAME, A_port, true);
    enqueue_current(B_NAME, "k");
    Cleo__Storage__RepairCount c;
    for (int i = 0; i < 500 && (c = row(B_NAME)).failed < 2; i++)
        sleep_ms(10);
    cr_assert_geq(c.failed, 2, "pushes failed and were retried");
    cr_assert_eq(c.entries, 1, "the entry stays");
    cr_assert_eq(sto_client_bucket_create_sync(B, "bkt", NULL), 0);
    wait_row(B_NAME, 0, 1);
    assert_same("k");
}

Test(sto_repair, retries_back_off_while_the_node_is_down)
{
    put(A, "k", 100, 1);
    enqueue_current(B_NAME, "k"); /* B never comes */
    bool seen[3] = {false, false, false};
    uint32_t most = 0;
    for (int i = 0; i < 150; i++) { /* 3 s */
        Cleo__Storage__RepairCount c = row(B_NAME);
        seen[0] |= c.retry_ms == 100;
        seen[1] |= c.retry_ms == 200;
        seen[2] |= c.retry_ms == 400;
        most = c.retry_ms > most ? c.retry_ms : most;
        sleep_ms(20);
    }
    cr_assert(seen[0] && seen[1] && seen[2], "100, 200 then 400 ms: %d %d %d",
              seen[0], seen[1], seen[2]);
    cr_assert_eq(most, 400, "never past the maximum");
    cr_assert_eq(row(B_NAME).entries, 1);
}
