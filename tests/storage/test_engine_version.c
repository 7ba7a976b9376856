/*
 * test_engine_version.c - versions through the engine (storage/job.c,
 * stream.c): a PUT, a streamed PUT (PUT_BEGIN) and a DELETE that carry a
 * version (PutReq.version, ObjectReq.version) store it only when newer
 * and answer STO_ESUPERSEDED otherwise; every ObjectInfo answered (PUT,
 * HEAD, GET, GET_OPEN, a stream's COMMIT) carries clock and clock_node.
 * Each test runs its own runtime and supervisor over a fresh directory.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define CHUNK ((size_t)64 << 10)
#define TMO 10000u
#define NODE 0xfeed0001ULL  /* the engine's node id */
#define LM 1700000000123ULL /* a coordinator's last-modified */

static char T_dir[64];
static char T_path[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static rt_inbox_t *T_owner; /* owns the streams */
static sto_engine_conf_t T_conf;
static uint64_t T_far; /* a clock a day ahead of the wall clock */

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-ever-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    T_conf.opts.chunk_size = CHUNK;
    T_conf.opts.no_sync = true;
    T_conf.opts.node_id = NODE;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_eq(rt_inbox_new(T_rt, &T_owner), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    T_far = (now + 86400000ULL) << 16;
}

static void stop(void)
{
    if (T_rt == NULL)
        return;
    rt_inbox_free(T_owner);
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    T_rt = NULL;
}

static void teardown(void)
{
    stop();
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_engine_version, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---------------------------------------------------------- */

static void pb_free(void *pb)
{
    protobuf_c_message_free_unpacked(pb, NULL);
}

static Cleo__Storage__Version *version(uint64_t clock, uint64_t node)
{
    Cleo__Storage__Version *v = calloc(1, sizeof *v);
    cleo__storage__version__init(v);
    v->clock = clock;
    v->node = node;
    v->last_modified_ms = LM;
    return v;
}

/* Call `to` with req; the reply's status; *out (if given) takes the
 * reply's payload. */
static int call(rt_pid_t to, rt_msg_t *req, void **out, rt_pid_t *from)
{
    rt_msg_t *reply = NULL;
    int rc = gen_server_call_sync(T_rt, to, req, TMO, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (out != NULL) {
        *out = reply->payload;
        reply->payload = NULL;
    }
    if (from != NULL)
        *from = reply->from;
    rt_msg_free(reply);
    return rc;
}

static rt_pid_t engine(void)
{
    return rt_whereis(T_rt, STO_ENGINE_NAME);
}

static Cleo__Storage__PutReq *put_req(const char *key,
                                      Cleo__Storage__Version *v)
{
    Cleo__Storage__PutReq *r = calloc(1, sizeof *r);
    cleo__storage__put_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup(key);
    r->version = v;
    return r;
}

static rt_buf_t *body(size_t n, uint32_t s)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(n, &b), 0);
    for (size_t i = 0; i < n; i++)
        rt_buf_data(b)[i] = (char)(i * 131 + s * 7 + (i >> 11));
    cr_assert_eq(rt_buf_set_len(b, n), 0);
    return b;
}

/* PUT of n bytes of pattern s with version v (NULL: none). */
static int put(const char *key, size_t n, uint32_t s, Cleo__Storage__Version *v,
               Cleo__Storage__ObjectInfo **out)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT);
    rt_msg_set_body(m, put_req(key, v), body(n, s));
    void *p = NULL;
    int rc = call(engine(), m, &p, NULL);
    if (out != NULL)
        *out = p;
    else if (p != NULL)
        pb_free(p);
    return rc;
}

/* DELETE with version v (NULL: none). */
static int del(const char *key, Cleo__Storage__Version *v)
{
    Cleo__Storage__ObjectReq *r = calloc(1, sizeof *r);
    cleo__storage__object_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup(key);
    r->version = v;
    rt_msg_t *m = rt_msg_new(STO_MSG_DELETE);
    rt_msg_set_pb(m, r);
    void *p = NULL;
    int rc = call(engine(), m, &p, NULL);
    cr_expect_null(p, "DELETE answers no payload");
    return rc;
}

/* HEAD, tombstones included. */
static int head_any(const char *key, Cleo__Storage__ObjectInfo **out)
{
    Cleo__Storage__ObjectReq *r = calloc(1, sizeof *r);
    cleo__storage__object_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup(key);
    r->tombstones = true;
    rt_msg_t *m = rt_msg_new(STO_MSG_HEAD);
    rt_msg_set_pb(m, r);
    return call(engine(), m, (void **)out, NULL);
}

static void expect_head(const char *key, uint64_t clock, uint64_t node,
                        bool deleted)
{
    Cleo__Storage__ObjectInfo *i = NULL;
    cr_assert_eq(head_any(key, &i), 0, "HEAD %s", key);
    cr_expect_eq(i->clock, clock, "%s: clock", key);
    cr_expect_eq(i->clock_node, node, "%s: clock_node", key);
    cr_expect_eq(i->deleted, deleted, "%s: deleted", key);
    pb_free(i);
}

/* A streamed put of `writes` blocks of CHUNK bytes with version v; the
 * COMMIT's status. */
static int stream_put(const char *key, int writes, Cleo__Storage__Version *v,
                      Cleo__Storage__ObjectInfo **out)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT_BEGIN);
    rt_msg_set_pb(m, put_req(key, v));
    m->arg = rt_inbox_pid(T_owner);
    void *ref = NULL;
    rt_pid_t st = RT_PID_NONE;
    int rc = call(engine(), m, &ref, &st);
    if (rc < 0)
        return rc;
    pb_free(ref);
    for (int i = 0; i < writes; i++) {
        rt_msg_t *w = rt_msg_new(STO_MSG_STREAM_WRITE);
        rt_msg_set_buf(w, body(CHUNK, (uint32_t)i));
        cr_assert_eq(call(st, w, NULL, NULL), 0);
    }
    Cleo__Storage__PutCommit *c = calloc(1, sizeof *c);
    cleo__storage__put_commit__init(c);
    c->size = (int64_t)(writes * CHUNK);
    rt_msg_t *cm = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(cm, c);
    void *p = NULL;
    rc = call(st, cm, &p, NULL);
    if (out != NULL)
        *out = p;
    else if (p != NULL)
        pb_free(p);
    return rc;
}

/* Stop the node and count the chunks on disk. */
static uint64_t chunks_on_disk(void)
{
    stop();
    sto_db_t *db = NULL;
    sto_opts_t o;
    sto_opts_init(&o);
    o.chunk_size = CHUNK;
    cr_assert_eq(sto_db_open(T_path, &o, &db), 0);
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(db, NULL, NULL, &st), 0);
    sto_db_close(db);
    return st.chunks;
}

/* ---- tests ------------------------------------------------------------ */

Test(sto_engine_version, put_with_a_version_stores_it_only_if_newer)
{
    Cleo__Storage__ObjectInfo *i = NULL;
    cr_assert_eq(put("k", 1000, 1, version(T_far, 77), &i), 0);
    cr_expect_eq(i->clock, T_far);
    cr_expect_eq(i->clock_node, 77);
    cr_expect_eq(i->last_modified_ms, LM);
    cr_expect_eq(i->size, 1000);
    pb_free(i);
    i = NULL;
    cr_expect_eq(put("k", 2000, 2, version(T_far, 76), &i), STO_ESUPERSEDED);
    cr_expect_null(i);
    cr_expect_eq(put("k", 2000, 2, version(T_far - 1, 99), NULL),
                 STO_ESUPERSEDED);
    expect_head("k", T_far, 77, false);
    cr_assert_eq(put("k", 3000, 3, version(T_far + 1, 1), &i), 0);
    cr_expect_eq(i->size, 3000);
    pb_free(i);
    expect_head("k", T_far + 1, 1, false);
    Cleo__Storage__BucketInfo *du = NULL;
    cr_assert_eq(sto_client_bucket_du_sync(T_rt, "bkt", &du), 0);
    cr_expect_eq(du->objects, 1);
    cr_expect_eq(du->bytes, 3000);
    pb_free(du);
    cr_expect_eq(put("k", 1, 1, version(0, 1), NULL), CLEO_EINVAL);
}

Test(sto_engine_version, answers_carry_this_nodes_version)
{
    Cleo__Storage__ObjectInfo *p = NULL, *g = NULL;
    cr_assert_eq(put("k", 100, 1, NULL, &p), 0);
    cr_expect_eq(p->clock_node, NODE);
    cr_expect_gt(p->clock, 0);
    expect_head("k", p->clock, NODE, false);
    rt_buf_t *b = NULL;
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "k", &b, &g), 0);
    cr_expect_eq(g->clock, p->clock);
    cr_expect_eq(g->clock_node, NODE);
    rt_buf_unref(b);
    pb_free(g);

    Cleo__Storage__GetReq *r = calloc(1, sizeof *r);
    cleo__storage__get_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup("k");
    rt_msg_t *m = rt_msg_new(STO_MSG_GET_OPEN);
    rt_msg_set_pb(m, r);
    m->arg = rt_inbox_pid(T_owner);
    rt_msg_t *reply = NULL;
    cr_assert_eq(gen_server_call_sync(T_rt, engine(), m, TMO, &reply), 0);
    cr_assert_eq(reply->reason, 0);
    Cleo__Storage__GetOpen *go = rt_msg_body(reply)->pb;
    cr_expect_eq(go->info->clock, p->clock);
    cr_expect_eq(go->info->clock_node, NODE);
    rt_msg_free(reply);
    pb_free(p);

    cr_assert_eq(del("k", NULL), 0);
    Cleo__Storage__ObjectInfo *h = NULL;
    cr_assert_eq(head_any("k", &h), 0);
    cr_expect(h->deleted);
    cr_expect_eq(h->clock_node, NODE);
    pb_free(h);
}

Test(sto_engine_version, delete_with_a_version_writes_a_tombstone)
{
    cr_assert_eq(del("k", version(T_far, 5)), 0, "absent: a tombstone");
    expect_head("k", T_far, 5, true);
    Cleo__Storage__ObjectInfo *h = NULL;
    cr_assert_eq(head_any("k", &h), 0);
    cr_expect_eq(h->last_modified_ms, LM);
    cr_expect_eq(h->size, 0);
    pb_free(h);
    cr_expect_eq(sto_client_head_sync(T_rt, "bkt", "k", &h), CLEO_ENOTFOUND);
    cr_expect_eq(put("k", 10, 1, version(T_far - 1, 5), NULL), STO_ESUPERSEDED);
    cr_expect_eq(del("k", version(T_far, 5)), STO_ESUPERSEDED);
    cr_expect_eq(del("k", NULL), CLEO_ENOTFOUND, "a plain delete as before");
    cr_assert_eq(put("k", 10, 1, version(T_far + 5, 5), NULL), 0);
    cr_expect_eq(del("k", version(T_far + 4, 9)), STO_ESUPERSEDED);
    expect_head("k", T_far + 5, 5, false);
    cr_assert_eq(del("k", version(T_far + 6, 1)), 0);
    expect_head("k", T_far + 6, 1, true);
    cr_expect_eq(del("k", version(0, 1)), CLEO_EINVAL);
    Cleo__Storage__BucketInfo *du = NULL;
    cr_assert_eq(sto_client_bucket_du_sync(T_rt, "bkt", &du), 0);
    cr_expect_eq(du->objects, 0);
    cr_expect_eq(du->bytes, 0);
    pb_free(du);
}

Test(sto_engine_version, a_replica_stream_commits_its_version_or_is_superseded)
{
    Cleo__Storage__ObjectInfo *i = NULL;
    cr_assert_eq(stream_put("k", 3, version(T_far, 5), &i), 0);
    cr_expect_eq(i->clock, T_far);
    cr_expect_eq(i->clock_node, 5);
    cr_expect_eq(i->last_modified_ms, LM);
    cr_expect_eq(i->size, 3 * CHUNK);
    pb_free(i);
    i = NULL;
    cr_expect_eq(stream_put("k", 4, version(T_far - 1, 5), &i),
                 STO_ESUPERSEDED);
    cr_expect_null(i);
    cr_expect_eq(stream_put("k", 2, version(T_far, 5), NULL), STO_ESUPERSEDED);
    expect_head("k", T_far, 5, false);
    cr_expect_eq(chunks_on_disk(), 3, "only the stored version's chunks");
}
