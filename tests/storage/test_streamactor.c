/*
 * test_streamactor.c - stream actors (storage/stream.c) through the
 * engine: PUT_BEGIN / WRITE / COMMIT / ABORT and GET_OPEN / READ, block
 * sizes at chunk borders, ranges, and a stream's end: the owner's death,
 * the idle timeout and the engine's death abort an unfinished put, and
 * nothing of it becomes visible. Each test runs its own runtime and
 * supervisor over a fresh directory with 64 KiB chunks.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define CHUNK ((size_t)64 << 10)
#define TMO 10000u

static char T_dir[64];
static char T_path[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static rt_inbox_t *T_owner; /* the streams' owner: its death aborts them */
static sto_engine_conf_t T_conf;

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void start(uint32_t idle_ms)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-str-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    T_conf.opts.chunk_size = CHUNK;
    T_conf.opts.no_sync = true;
    T_conf.stream_idle_ms = idle_ms;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_eq(rt_inbox_new(T_rt, &T_owner), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
}

static void setup(void)
{
    start(0);
}

static void setup_idle(void)
{
    start(200);
}

static void teardown(void)
{
    rt_inbox_free(T_owner);
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_streamactor, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(sto_streamactor_idle, .init = setup_idle, .fini = teardown,
          .timeout = 60);

/* ---- helpers ---------------------------------------------------------- */

static uint8_t pat(uint32_t s, uint64_t i)
{
    return (uint8_t)(i * 131 + s * 7 + (i >> 11) * 13 + (i >> 19));
}

static void md5(const void *b, size_t n, uint8_t out[16])
{
    unsigned int l = 0;
    cr_assert_eq(EVP_Digest(b, n, out, &l, EVP_md5(), NULL), 1);
}

static void hex(const uint8_t d[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void pb_free(void *pb)
{
    protobuf_c_message_free_unpacked(pb, NULL);
}

/* Call `to`; the reply's status, *out (if given) takes the reply. */
static int call(rt_pid_t to, rt_msg_t *req, rt_msg_t **out)
{
    rt_msg_t *reply = NULL;
    int rc = gen_server_call_sync(T_rt, to, req, TMO, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (out != NULL)
        *out = reply;
    else
        rt_msg_free(reply);
    return rc;
}

static rt_pid_t engine(void)
{
    return rt_whereis(T_rt, STO_ENGINE_NAME);
}

/* PUT_BEGIN bucket/key owned by T_owner; the stream's pid or the error. */
static int put_begin(const char *bucket, const char *key, rt_pid_t *out)
{
    Cleo__Storage__PutReq *r = calloc(1, sizeof *r);
    cleo__storage__put_req__init(r);
    r->bucket = strdup(bucket);
    r->key = strdup(key);
    r->content_type = strdup("application/x-test");
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT_BEGIN);
    rt_msg_set_pb(m, r);
    m->arg = rt_inbox_pid(T_owner);
    rt_msg_t *reply = NULL;
    int rc = call(engine(), m, &reply);
    if (rc == 0) {
        Cleo__Storage__StreamRef *sr = reply->payload;
        cr_assert_not_null(sr);
        cr_assert_neq(sr->stream, 0);
        *out = reply->from; /* the stream answers for itself */
    }
    rt_msg_free(reply);
    return rc;
}

static int put_write(rt_pid_t st, const uint8_t *b, size_t n)
{
    rt_buf_t *buf;
    cr_assert_eq(rt_buf_new(n, &buf), 0);
    memcpy(rt_buf_data(buf), b, n);
    cr_assert_eq(rt_buf_set_len(buf, n), 0);
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_WRITE);
    rt_msg_set_buf(m, buf);
    return call(st, m, NULL);
}

/* COMMIT with size (-1 = unchecked) and md5 (NULL = unchecked). */
static int put_commit(rt_pid_t st, int64_t size, const uint8_t *d,
                      Cleo__Storage__ObjectInfo **out)
{
    Cleo__Storage__PutCommit *c = calloc(1, sizeof *c);
    cleo__storage__put_commit__init(c);
    c->size = size;
    if (d != NULL) {
        c->md5.data = malloc(16);
        memcpy(c->md5.data, d, 16);
        c->md5.len = 16;
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    rt_msg_t *reply = NULL;
    int rc = call(st, m, &reply);
    if (rc == 0 && out != NULL) {
        *out = reply->payload;
        reply->payload = NULL;
    }
    rt_msg_free(reply);
    return rc;
}

/* Stream n bytes of pattern s in writes of step bytes and commit. */
static int put_obj(const char *key, size_t n, uint32_t s, size_t step,
                   char etag[33])
{
    uint8_t *b = calloc(n ? n : 1, 1), d[16];
    for (size_t i = 0; i < n; i++)
        b[i] = pat(s, i);
    md5(b, n, d);
    rt_pid_t st;
    int rc = put_begin("bkt", key, &st);
    for (size_t off = 0; rc == 0 && off < n; off += step)
        rc = put_write(st, b + off, n - off < step ? n - off : step);
    Cleo__Storage__ObjectInfo *oi = NULL;
    if (rc == 0)
        rc = put_commit(st, (int64_t)n, d, &oi);
    if (rc == 0) {
        hex(d, etag);
        cr_assert_str_eq(oi->etag, etag);
        cr_assert_eq(oi->size, n);
        cr_assert_str_eq(oi->content_type, "application/x-test");
        pb_free(oi);
    }
    free(b);
    return rc;
}

/* GET_OPEN with a range; *open and *block take the reply's parts. */
static int get_open(const char *key, const sto_range_t *rg,
                    Cleo__Storage__GetOpen **open, rt_buf_t **block)
{
    Cleo__Storage__GetReq *r = calloc(1, sizeof *r);
    cleo__storage__get_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup(key);
    if (rg != NULL) {
        r->range_kind = rg->kind;
        r->first = rg->first;
        r->last = rg->last;
        r->suffix_len = rg->suffix_len;
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_GET_OPEN);
    rt_msg_set_pb(m, r);
    m->arg = rt_inbox_pid(T_owner);
    rt_msg_t *reply = NULL;
    int rc = call(engine(), m, &reply);
    if (rc == 0) {
        rt_body_t *b = rt_msg_body(reply);
        cr_assert_not_null(b);
        *open = b->pb, *block = b->buf;
        b->pb = NULL, b->buf = NULL;
        if ((*open)->stream != 0) /* the stream is the reply's sender */
            (*open)->stream = reply->from;
    }
    rt_msg_free(reply);
    return rc;
}

static int get_read(rt_pid_t st, rt_buf_t **out)
{
    rt_msg_t *reply = NULL;
    int rc = call(st, rt_msg_new(STO_MSG_STREAM_READ), &reply);
    if (rc == 0) {
        *out = reply->payload;
        reply->payload = NULL;
    }
    rt_msg_free(reply);
    return rc;
}

/* Wait up to 5 s for pid to die. */
static void await_dead(rt_pid_t pid)
{
    for (int i = 0; i < 500 && rt_is_alive(T_rt, pid); i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    cr_assert_not(rt_is_alive(T_rt, pid), "the stream still lives");
}

/* Check a block against pattern s at object offset off. */
static void check_block(rt_buf_t *b, uint32_t s, uint64_t off)
{
    const uint8_t *p = (const uint8_t *)rt_buf_data(b);
    for (size_t i = 0; i < rt_buf_len(b); i++)
        cr_assert_eq(p[i], pat(s, off + i), "byte %llu",
                     (unsigned long long)(off + i));
}

/* GET_OPEN the range and READ to the empty block, checking every byte
 * and block size; returns the span length. */
static uint64_t get_check(const char *key, const sto_range_t *rg, uint32_t s,
                          uint64_t want_first, uint64_t want_len)
{
    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *b = NULL;
    cr_assert_eq(get_open(key, rg, &go, &b), 0);
    cr_assert_eq(go->first, want_first);
    cr_assert_eq(go->len, want_len);
    uint64_t got = rt_buf_len(b);
    cr_assert_leq(got, CHUNK);
    check_block(b, s, go->first);
    rt_buf_unref(b);
    rt_pid_t st = go->stream;
    cr_assert_eq(st == 0, got == go->len, "stream 0 iff the block was all");
    while (st != 0) {
        cr_assert_eq(get_read(st, &b), 0);
        size_t n = rt_buf_len(b);
        cr_assert_leq(n, CHUNK);
        check_block(b, s, go->first + got);
        rt_buf_unref(b);
        got += n;
        if (n == 0)
            break;
        cr_assert_leq(got, go->len);
    }
    cr_assert_eq(got, go->len);
    if (st != 0)
        await_dead(st);
    pb_free(go);
    return got;
}

static int head(const char *key)
{
    Cleo__Storage__ObjectInfo *oi = NULL;
    int rc = sto_client_head_sync(T_rt, "bkt", key, &oi);
    if (rc == 0)
        pb_free(oi);
    return rc;
}

/* ---- puts ------------------------------------------------------------- */

Test(sto_streamactor, sizes_at_chunk_borders_round_trip)
{
    size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char key[32], etag[33];
        snprintf(key, sizeof key, "obj%zu", i);
        cr_assert_eq(put_obj(key, sizes[i], (uint32_t)i, 10007, etag), 0,
                     "size %zu", sizes[i]);
        cr_assert_eq(get_check(key, NULL, (uint32_t)i, 0, sizes[i]), sizes[i]);
        Cleo__Storage__ObjectInfo *oi = NULL;
        cr_assert_eq(sto_client_head_sync(T_rt, "bkt", key, &oi), 0);
        cr_assert_str_eq(oi->etag, etag);
        cr_assert_eq(oi->size, sizes[i]);
        pb_free(oi);
    }
}

Test(sto_streamactor, one_write_larger_than_a_chunk)
{
    char etag[33];
    cr_assert_eq(put_obj("big", 5 * CHUNK + 3, 9, 5 * CHUNK + 3, etag), 0);
    get_check("big", NULL, 9, 0, 5 * CHUNK + 3);
}

Test(sto_streamactor, commit_checks_size_and_md5)
{
    uint8_t b[1000], d[16];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = pat(1, i);
    md5(b, sizeof b, d);
    rt_pid_t st;
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    cr_assert_eq(put_write(st, b, sizeof b), 0);
    cr_assert_eq(put_commit(st, 999, NULL, NULL), CLEO_EBADREQ);
    await_dead(st);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);

    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    cr_assert_eq(put_write(st, b, sizeof b), 0);
    d[0] ^= 1;
    cr_assert_eq(put_commit(st, -1, d, NULL), CLEO_EBADREQ);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
    d[0] ^= 1;

    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    cr_assert_eq(put_write(st, b, sizeof b), 0);
    cr_assert_eq(put_commit(st, -1, d, NULL), 0);
    await_dead(st);
    cr_assert_eq(head("k"), 0);
}

Test(sto_streamactor, abort_leaves_nothing)
{
    uint8_t b[4096] = {1};
    rt_pid_t st;
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(put_write(st, b, sizeof b), 0);
    cr_assert_eq(call(st, rt_msg_new(STO_MSG_STREAM_ABORT), NULL), 0);
    await_dead(st);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
    Cleo__Storage__BucketInfo *du = NULL;
    cr_assert_eq(sto_client_bucket_du_sync(T_rt, "bkt", &du), 0);
    cr_assert_eq(du->objects, 0);
    cr_assert_eq(du->bytes, 0);
    pb_free(du);
}

Test(sto_streamactor, owner_death_aborts_the_put)
{
    uint8_t b[4096] = {2};
    rt_pid_t st;
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(put_write(st, b, sizeof b), 0);
    rt_inbox_free(T_owner);
    await_dead(st);
    cr_assert_eq(rt_inbox_new(T_rt, &T_owner), 0);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
    Cleo__Storage__ListReply *l = NULL;
    cr_assert_eq(sto_client_list_sync(T_rt, "bkt", NULL, &l), 0);
    cr_assert_eq(l->n_entries, 0);
    pb_free(l);
}

Test(sto_streamactor, caller_is_the_owner_without_arg)
{
    /* A sync call's caller is a transient pid: with arg 0 the stream
     * monitors it and stops as soon as the call returns. */
    Cleo__Storage__PutReq *r = calloc(1, sizeof *r);
    cleo__storage__put_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup("k");
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT_BEGIN);
    rt_msg_set_pb(m, r);
    rt_msg_t *reply = NULL;
    cr_assert_eq(call(engine(), m, &reply), 0);
    cr_assert_neq(((Cleo__Storage__StreamRef *)reply->payload)->stream, 0);
    rt_pid_t st = reply->from;
    rt_msg_free(reply);
    await_dead(st);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
}

Test(sto_streamactor, engine_death_aborts_open_streams)
{
    uint8_t b[4096] = {3};
    rt_pid_t st;
    char etag[33];
    cr_assert_eq(put_obj("kept", 3 * CHUNK, 4, 50000, etag), 0);
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    cr_assert_eq(put_write(st, b, sizeof b), 0);
    rt_pid_t old = engine();
    cr_assert_eq(rt_exit(T_rt, old, RT_REASON_KILL), 0);
    await_dead(st);
    for (int i = 0; i < 500 && (engine() == RT_PID_NONE || engine() == old);
         i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
    get_check("kept", NULL, 4, 0, 3 * CHUNK);
}

Test(sto_streamactor_idle, idle_stream_stops_and_aborts)
{
    uint8_t b[4096] = {4};
    rt_pid_t st;
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    /* Calls keep it alive past the idle time... */
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(put_write(st, b, sizeof b), 0);
        nanosleep(&(struct timespec){0, 80000000L}, NULL);
    }
    cr_assert(rt_is_alive(T_rt, st));
    /* ...silence stops it. */
    await_dead(st);
    cr_assert_eq(put_commit(st, -1, NULL, NULL), CLEO_ENOPROC);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
}

Test(sto_streamactor_idle, idle_get_stream_stops)
{
    char etag[33];
    cr_assert_eq(put_obj("g", 2 * CHUNK, 5, CHUNK, etag), 0);
    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *blk = NULL;
    cr_assert_eq(get_open("g", NULL, &go, &blk), 0);
    cr_assert_neq(go->stream, 0);
    await_dead(go->stream);
    rt_buf_unref(blk);
    pb_free(go);
}

/* ---- gets and ranges --------------------------------------------------- */

Test(sto_streamactor, ranges_at_chunk_borders)
{
    char etag[33];
    uint64_t n = 3 * CHUNK + 5;
    cr_assert_eq(put_obj("r", n, 6, 30011, etag), 0);
    struct {
        sto_range_t r;
        uint64_t first, len;
    } cases[] = {
        {{STO_RANGE_SPAN, CHUNK - 1, CHUNK, 0}, CHUNK - 1, 2},
        {{STO_RANGE_SPAN, CHUNK, 2 * CHUNK - 1, 0}, CHUNK, CHUNK},
        {{STO_RANGE_SPAN, 0, CHUNK - 1, 0}, 0, CHUNK},
        {{STO_RANGE_SPAN, 0, CHUNK, 0}, 0, CHUNK + 1},
        {{STO_RANGE_SPAN, CHUNK / 2, 2 * CHUNK + CHUNK / 2, 0},
         CHUNK / 2,
         2 * CHUNK + 1},
        {{STO_RANGE_SPAN, 3 * CHUNK, 10 * CHUNK, 0}, 3 * CHUNK, 5},
        {{STO_RANGE_FROM, 2 * CHUNK, 0, 0}, 2 * CHUNK, CHUNK + 5},
        {{STO_RANGE_SUFFIX, 0, 0, 5}, n - 5, 5},
        {{STO_RANGE_SUFFIX, 0, 0, CHUNK + 1}, n - CHUNK - 1, CHUNK + 1},
        {{STO_RANGE_SUFFIX, 0, 0, 10 * CHUNK}, 0, n},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        get_check("r", &cases[i].r, 6, cases[i].first, cases[i].len);

    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *b = NULL;
    sto_range_t bad = {STO_RANGE_SPAN, n, n + 10, 0};
    cr_assert_eq(get_open("r", &bad, &go, &b), STO_ERANGE);
    bad = (sto_range_t){STO_RANGE_SUFFIX, 0, 0, 0};
    cr_assert_eq(get_open("r", &bad, &go, &b), STO_ERANGE);
    bad = (sto_range_t){.kind = 9};
    cr_assert_eq(get_open("r", &bad, &go, &b), CLEO_EINVAL);
}

Test(sto_streamactor, empty_object_opens_without_a_stream)
{
    char etag[33];
    cr_assert_eq(put_obj("e", 0, 1, 1, etag), 0);
    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *b = NULL;
    cr_assert_eq(get_open("e", NULL, &go, &b), 0);
    cr_assert_eq(go->len, 0);
    cr_assert_eq(go->stream, 0);
    cr_assert_eq(rt_buf_len(b), 0);
    cr_assert_str_eq(go->info->etag, etag);
    rt_buf_unref(b);
    pb_free(go);
    sto_range_t r = {STO_RANGE_SPAN, 0, 0, 0};
    cr_assert_eq(get_open("e", &r, &go, &b), STO_ERANGE);
}

Test(sto_streamactor, a_read_sees_its_snapshot_and_can_stop_at_len)
{
    char etag[33];
    cr_assert_eq(put_obj("s", 3 * CHUNK, 7, CHUNK, etag), 0);
    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *b = NULL;
    cr_assert_eq(get_open("s", NULL, &go, &b), 0);
    cr_assert_eq(rt_buf_len(b), CHUNK);
    rt_buf_unref(b);
    /* Overwrite and delete: the open stream still reads the old bytes. */
    cr_assert_eq(put_obj("s", 100, 8, 100, etag), 0);
    cr_assert_eq(sto_client_delete_sync(T_rt, "bkt", "s"), 0);
    uint64_t got = CHUNK;
    while (got < go->len) {
        cr_assert_eq(get_read(go->stream, &b), 0);
        check_block(b, 7, got);
        got += rt_buf_len(b);
        rt_buf_unref(b);
    }
    /* Stopping at len: the stream ends on its own shortly. */
    await_dead(go->stream);
    pb_free(go);
}

Test(sto_streamactor, abort_closes_a_get_early)
{
    char etag[33];
    cr_assert_eq(put_obj("a", 4 * CHUNK, 2, CHUNK, etag), 0);
    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *b = NULL;
    cr_assert_eq(get_open("a", NULL, &go, &b), 0);
    rt_buf_unref(b);
    cr_assert_eq(call(go->stream, rt_msg_new(STO_MSG_STREAM_ABORT), NULL), 0);
    await_dead(go->stream);
    pb_free(go);
}

/* ---- bad input --------------------------------------------------------- */

Test(sto_streamactor, errors_and_bad_requests)
{
    rt_pid_t st;
    cr_assert_eq(put_begin("nobucket", "k", &st), STO_ENOBUCKET);
    cr_assert_eq(put_begin("bkt", "", &st), CLEO_EINVAL);
    Cleo__Storage__GetOpen *go = NULL;
    rt_buf_t *b = NULL;
    cr_assert_eq(get_open("missing", NULL, &go, &b), CLEO_ENOTFOUND);
    /* No record, or the wrong one. */
    uint32_t types[] = {STO_MSG_PUT_BEGIN, STO_MSG_GET_OPEN,
                        STO_MSG_MPU_PART_BEGIN};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(call(engine(), rt_msg_new(types[i]), NULL), CLEO_EBADREQ);
    /* A READ to a put stream, a WRITE without bytes: answered, and the
     * stream stops (its put aborted). */
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    cr_assert_eq(call(st, rt_msg_new(STO_MSG_STREAM_WRITE), NULL),
                 CLEO_EBADREQ);
    await_dead(st);
    cr_assert_eq(put_begin("bkt", "k", &st), 0);
    cr_assert_eq(call(st, rt_msg_new(STO_MSG_STREAM_READ), NULL), CLEO_EBADREQ);
    await_dead(st);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
    /* A WRITE to a get stream. */
    char etag[33];
    cr_assert_eq(put_obj("g", 2 * CHUNK, 1, CHUNK, etag), 0);
    cr_assert_eq(get_open("g", NULL, &go, &b), 0);
    rt_buf_unref(b);
    uint8_t x = 1;
    cr_assert_eq(put_write(go->stream, &x, 1), CLEO_EBADREQ);
    await_dead(go->stream);
    pb_free(go);
    cr_assert_eq(rt_whereis(T_rt, STO_ENGINE_NAME), engine());
}

/* ---- multipart parts ----------------------------------------------------- */

/* Run f(db, arg) on the database with the engine stopped. */
static void with_db(void (*f)(sto_db_t *db, void *arg), void *arg)
{
    cr_assert_eq(sup_terminate_child_sync(T_rt, T_sup, "engine", RT_PID_NONE),
                 0);
    sto_db_t *db = NULL;
    for (int i = 0; i < 500 && sto_db_open(T_path, &T_conf.opts, &db) < 0; i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    cr_assert_not_null(db);
    f(db, arg);
    sto_db_close(db);
    cr_assert_eq(sup_restart_child_sync(T_rt, T_sup, "engine", NULL), 0);
}

static void mpu_create(sto_db_t *db, void *arg)
{
    cr_assert_eq(sto_mpu_create(db, "bkt", "big", NULL, 1, arg), 0);
}

typedef struct {
    const char *upload_id;
    char etag[2][33];
} done_t;

static void mpu_complete(sto_db_t *db, void *arg)
{
    done_t *d = arg;
    sto_mpu_part_t parts[] = {{1, d->etag[0]}, {2, d->etag[1]}};
    cr_assert_eq(
        sto_mpu_complete(db, "bkt", "big", d->upload_id, parts, 2, 1, NULL), 0);
}

/* MPU_PART_BEGIN, WRITE n bytes of pattern s from object offset off,
 * COMMIT: the part's PartInfo. */
static int put_part(const char *upload_id, uint32_t pn, size_t n, uint32_t s,
                    uint64_t off, Cleo__Storage__PartInfo **out)
{
    Cleo__Storage__MpuPartReq *r = calloc(1, sizeof *r);
    cleo__storage__mpu_part_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup("big");
    r->upload_id = strdup(upload_id);
    r->part_number = pn;
    rt_msg_t *m = rt_msg_new(STO_MSG_MPU_PART_BEGIN);
    rt_msg_set_pb(m, r);
    m->arg = rt_inbox_pid(T_owner);
    rt_msg_t *reply = NULL;
    int rc = call(engine(), m, &reply);
    if (rc < 0) {
        rt_msg_free(reply);
        return rc;
    }
    cr_assert_neq(((Cleo__Storage__StreamRef *)reply->payload)->stream, 0);
    rt_pid_t st = reply->from;
    rt_msg_free(reply);
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = pat(s, off + i);
    for (size_t o = 0; rc == 0 && o < n; o += 40000)
        rc = put_write(st, b + o, n - o < 40000 ? n - o : 40000);
    free(b);
    Cleo__Storage__PutCommit *c = calloc(1, sizeof *c);
    cleo__storage__put_commit__init(c);
    c->size = (int64_t)n;
    m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    if (rc == 0 && (rc = call(st, m, &reply)) == 0) {
        *out = reply->payload;
        reply->payload = NULL;
        rt_msg_free(reply);
    } else if (rc != 0) {
        rt_msg_free(reply);
    }
    return rc;
}

Test(sto_streamactor, part_streams_commit_parts)
{
    static char id[STO_UPLOAD_ID_LEN + 1];
    with_db(mpu_create, id);
    size_t n1 = 5u << 20, n2 = CHUNK + 3; /* a part but the last >= 5 MiB */
    Cleo__Storage__PartInfo *p1 = NULL, *p2 = NULL;
    cr_assert_eq(put_part(id, 1, n1, 3, 0, &p1), 0);
    cr_assert_eq(put_part(id, 2, n2, 3, n1, &p2), 0);
    cr_assert_eq(p1->part_number, 1);
    cr_assert_eq(p1->size, n1);
    cr_assert_eq(p2->part_number, 2);
    cr_assert_eq(p2->size, n2);
    cr_assert_eq(strlen(p2->etag), 32);
    cr_assert_eq(head("big"), CLEO_ENOTFOUND); /* parts are not objects */
    static done_t d;
    d.upload_id = id;
    memcpy(d.etag[0], p1->etag, 33);
    memcpy(d.etag[1], p2->etag, 33);
    pb_free(p1);
    pb_free(p2);
    with_db(mpu_complete, &d);
    get_check("big", NULL, 3, 0, n1 + n2);
    Cleo__Storage__PartInfo *px = NULL;
    cr_assert_eq(put_part("0123456789abcdef0123456789abcdef", 1, 10, 1, 0, &px),
                 STO_ENOUPLOAD);
}

/* ---- calls that overlap ------------------------------------------------- */

/* A client actor that sends calls back to back to one stream: the
 * second arrives while the first is on the pool (a write of PAIR_BYTES
 * takes far longer than the send after it). */
#define PAIR_BYTES (32 * CHUNK)
typedef struct {
    rt_pid_t stream;
    uint32_t second; /* the second call's type */
    int status[2];
    int replies;
    rt_inbox_t *done; /* told when both replies are in */
} pair_t;

static pair_t *T_pair;

/* data: the call's index (0 or 1). */
static int pair_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    pair_t *p = T_pair;
    int i = (int)(intptr_t)data;
    p->status[i] = status == 0 && reply != NULL ? reply->reason : status;
    if (++p->replies == 2)
        (void)rt_send(rt_actor_rt(self), rt_inbox_pid(p->done), rt_msg_new(1));
    return 0;
}

static rt_msg_t *big_write(void)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(PAIR_BYTES, &b), 0);
    memset(rt_buf_data(b), 7, PAIR_BYTES);
    cr_assert_eq(rt_buf_set_len(b, PAIR_BYTES), 0);
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_WRITE);
    rt_msg_set_buf(m, b);
    return m;
}

static int pair_init(rt_actor_t *self, void *arg, void **state)
{
    pair_t *p = arg;
    *state = p;
    rt_msg_t *second =
        p->second == STO_MSG_STREAM_WRITE ? big_write() : rt_msg_new(p->second);
    int rc = gen_server_call(self, p->stream, big_write(), TMO, pair_reply,
                             (void *)(intptr_t)0);
    if (rc == 0)
        rc = gen_server_call(self, p->stream, second, TMO, pair_reply,
                             (void *)(intptr_t)1);
    return rc;
}

static int pair_call(rt_actor_t *self, void *state, rt_msg_t *req,
                     rt_from_t from, rt_msg_t **reply)
{
    return 0;
}

static const gen_server_cbs_t pair_cbs = {
    .name = "pair", .init = pair_init, .handle_call = pair_call};

static void run_pair(pair_t *p)
{
    T_pair = p;
    cr_assert_eq(rt_inbox_new(T_rt, &p->done), 0);
    cr_assert_eq(gen_server_start(T_rt, NULL, &pair_cbs, p, NULL, NULL), 0);
    rt_msg_t *m;
    cr_assert_eq(rt_inbox_recv(p->done, TMO, &m), 0);
    rt_msg_free(m);
    rt_inbox_free(p->done);
}

Test(sto_streamactor, a_call_during_a_call_is_estate)
{
    static pair_t p;
    cr_assert_eq(put_begin("bkt", "k", &p.stream), 0);
    p.second = STO_MSG_STREAM_WRITE;
    run_pair(&p);
    /* The first write went through; the overlapping one was refused and
     * the stream lives on. */
    cr_assert_eq(p.status[0], 0);
    cr_assert_eq(p.status[1], CLEO_ESTATE);
    cr_assert_eq(put_commit(p.stream, (int64_t)PAIR_BYTES, NULL, NULL), 0);
    cr_assert_eq(head("k"), 0);
}

Test(sto_streamactor, abort_during_a_write_waits_for_it)
{
    static pair_t p;
    cr_assert_eq(put_begin("bkt", "k", &p.stream), 0);
    p.second = STO_MSG_STREAM_ABORT;
    run_pair(&p);
    cr_assert_eq(p.status[0], 0);
    cr_assert_eq(p.status[1], 0);
    await_dead(p.stream);
    cr_assert_eq(head("k"), CLEO_ENOTFOUND);
}
