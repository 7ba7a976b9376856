/*
 * test_engine.c - the engine actor (storage/engine.c, job.c, client.c):
 * every request kind through the blocking client helpers, errors mapped
 * through from the engine, bad requests answered, and a killed engine
 * restarted by its supervisor with the database reopened and intact.
 * Each test runs its own runtime and one_for_one supervisor over a fresh
 * temporary directory (Criterion forks one process per test).
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
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

static char T_dir[64];
static char T_path[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static sto_engine_conf_t T_conf;

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
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-eng-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_neq(rt_whereis(T_rt, STO_ENGINE_NAME), RT_PID_NONE);
}

static void teardown(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_engine, .init = setup, .fini = teardown, .timeout = 120);

/* A buffer of n bytes of pattern s. */
static rt_buf_t *body(size_t n, uint32_t s)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(n, &b), 0);
    for (size_t i = 0; i < n; i++)
        rt_buf_data(b)[i] = (char)(i * 131 + s * 7 + (i >> 11));
    cr_assert_eq(rt_buf_set_len(b, n), 0);
    return b;
}

static void md5_hex(const void *b, size_t n, char hex[33])
{
    uint8_t d[16];
    unsigned int l = 0;
    cr_assert_eq(EVP_Digest(b, n, d, &l, EVP_md5(), NULL), 1);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static int put(const char *bucket, const char *key, size_t n, uint32_t s)
{
    return sto_client_put_sync(T_rt, bucket, key, body(n, s), NULL, NULL);
}

/* Get the object and compare it with n bytes of pattern s. */
static void assert_object(const char *bucket, const char *key, size_t n,
                          uint32_t s)
{
    rt_buf_t *got = NULL, *want = body(n, s);
    cr_assert_eq(sto_client_get_sync(T_rt, bucket, key, &got, NULL), 0,
                 "get %s/%s", bucket, key);
    cr_assert_eq(rt_buf_len(got), n);
    cr_assert_eq(memcmp(rt_buf_data(got), rt_buf_data(want), n), 0);
    cr_assert_eq(rt_buf_refs(got), 1);
    rt_buf_unref(got);
    rt_buf_unref(want);
}

static void pb_free(void *pb)
{
    protobuf_c_message_free_unpacked(pb, NULL);
}

Test(sto_engine, bucket_requests_map_to_the_engine)
{
    bool ex = true;
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "alpha", "alice"), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "beta", NULL), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "alpha", NULL),
                 CLEO_EEXIST);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "Bad_Name", NULL),
                 CLEO_EINVAL);
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "alpha", &ex), 0);
    cr_assert(ex);
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "gamma", &ex), 0);
    cr_assert_not(ex);

    Cleo__Storage__BucketList *l = NULL;
    cr_assert_eq(sto_client_bucket_list_sync(T_rt, &l), 0);
    cr_assert_eq(l->n_buckets, 2);
    cr_assert_str_eq(l->buckets[0]->name, "alpha");
    cr_assert_str_eq(l->buckets[0]->owner, "alice");
    cr_assert_str_eq(l->buckets[1]->name, "beta");
    pb_free(l);

    cr_assert_eq(put("alpha", "a", 1000, 1), 0);
    cr_assert_eq(put("alpha", "b", 24, 2), 0);
    Cleo__Storage__BucketInfo *du = NULL;
    cr_assert_eq(sto_client_bucket_du_sync(T_rt, "alpha", &du), 0);
    cr_assert_eq(du->objects, 2);
    cr_assert_eq(du->bytes, 1024);
    pb_free(du);
    cr_assert_eq(sto_client_bucket_du_sync(T_rt, "gamma", &du), CLEO_ENOTFOUND);

    cr_assert_eq(sto_client_bucket_delete_sync(T_rt, "alpha"), CLEO_ESTATE);
    cr_assert_eq(sto_client_bucket_delete_sync(T_rt, "beta"), 0);
    cr_assert_eq(sto_client_bucket_delete_sync(T_rt, "beta"), CLEO_ENOTFOUND);
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "beta", &ex), 0);
    cr_assert_not(ex);
}

Test(sto_engine, put_get_head_delete_round_trip)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    size_t n = 300000; /* not a multiple of anything in particular */
    rt_buf_t *b = body(n, 7);
    char etag[33];
    md5_hex(rt_buf_data(b), n, etag);
    sto_kv_t kv[] = {{"color", "blue"}, {"size", "xl"}};
    sto_put_opts_t o = {.content_type = "text/plain",
                        .cache_control = "no-cache",
                        .user_meta = kv,
                        .n_user_meta = 2};
    Cleo__Storage__ObjectInfo *pi = NULL;
    cr_assert_eq(sto_client_put_sync(T_rt, "bkt", "dir/obj", b, &o, &pi), 0);
    cr_assert_eq(pi->size, n);
    cr_assert_str_eq(pi->etag, etag);

    Cleo__Storage__ObjectInfo *hi = NULL;
    cr_assert_eq(sto_client_head_sync(T_rt, "bkt", "dir/obj", &hi), 0);
    cr_assert_str_eq(hi->etag, etag);
    cr_assert_eq(hi->size, n);
    cr_assert_eq(hi->clock, pi->clock);
    cr_assert_str_eq(hi->content_type, "text/plain");
    cr_assert_str_eq(hi->cache_control, "no-cache");
    cr_assert_str_eq(hi->content_encoding, "");
    cr_assert_eq(hi->n_user_meta, 2);
    cr_assert_str_eq(hi->user_meta[0]->key, "color");
    cr_assert_str_eq(hi->user_meta[0]->value, "blue");
    pb_free(hi);
    pb_free(pi);

    rt_buf_t *got = NULL;
    Cleo__Storage__ObjectInfo *gi = NULL;
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "dir/obj", &got, &gi), 0);
    cr_assert_str_eq(gi->etag, etag);
    cr_assert_str_eq(gi->key, "dir/obj");
    pb_free(gi);
    rt_buf_unref(got);
    assert_object("bkt", "dir/obj", n, 7);

    cr_assert_eq(sto_client_delete_sync(T_rt, "bkt", "dir/obj"), 0);
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "dir/obj", &got, NULL),
                 CLEO_ENOTFOUND);
    cr_assert_eq(sto_client_head_sync(T_rt, "bkt", "dir/obj", &hi),
                 CLEO_ENOTFOUND);
}

Test(sto_engine, empty_object_and_overwrite)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    cr_assert_eq(put("bkt", "k", 0, 1), 0);
    assert_object("bkt", "k", 0, 1);
    cr_assert_eq(put("bkt", "k", 5000, 2), 0);
    assert_object("bkt", "k", 5000, 2);
}

Test(sto_engine, errors_map_through)
{
    rt_buf_t *got = NULL;
    Cleo__Storage__ObjectInfo *hi = NULL;
    Cleo__Storage__ListReply *l = NULL;
    cr_assert_eq(put("nobucket", "k", 10, 1), STO_ENOBUCKET);
    cr_assert_eq(sto_client_get_sync(T_rt, "nobucket", "k", &got, NULL),
                 STO_ENOBUCKET);
    cr_assert_eq(sto_client_head_sync(T_rt, "nobucket", "k", &hi),
                 STO_ENOBUCKET);
    cr_assert_eq(sto_client_list_sync(T_rt, "nobucket", NULL, &l),
                 STO_ENOBUCKET);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "missing", &got, NULL),
                 CLEO_ENOTFOUND);
    cr_assert_eq(sto_client_delete_sync(T_rt, "bkt", "missing"),
                 CLEO_ENOTFOUND);
    cr_assert_eq(put("bkt", "", 10, 1), CLEO_EINVAL);
    char big[STO_KEY_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(put("bkt", big, 10, 1), CLEO_EINVAL);
    cr_assert_eq(put("bkt", "\xff\xfe", 10, 1), CLEO_EINVAL);
    cr_assert_eq(sto_client_head_sync(T_rt, "bkt", "", &hi), CLEO_EINVAL);
}

Test(sto_engine, list_with_prefix_delimiter_start_after_max_keys)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    const char *keys[] = {"a/1", "a/2", "b/1", "c", "d"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(put("bkt", keys[i], 10 + i, (uint32_t)i), 0);

    Cleo__Storage__ListReply *l = NULL;
    cr_assert_eq(sto_client_list_sync(T_rt, "bkt", NULL, &l), 0);
    cr_assert_eq(l->n_entries, 5);
    cr_assert_str_eq(l->entries[3]->key, "c");
    cr_assert_eq(l->entries[3]->size, 13);
    cr_assert_not(l->is_truncated);
    pb_free(l);

    sto_list_opts_t o = {.delimiter = "/"};
    cr_assert_eq(sto_client_list_sync(T_rt, "bkt", &o, &l), 0);
    cr_assert_eq(l->n_prefixes, 2);
    cr_assert_str_eq(l->prefixes[0], "a/");
    cr_assert_str_eq(l->prefixes[1], "b/");
    cr_assert_eq(l->n_entries, 2);
    pb_free(l);

    o = (sto_list_opts_t){.prefix = "a/"};
    cr_assert_eq(sto_client_list_sync(T_rt, "bkt", &o, &l), 0);
    cr_assert_eq(l->n_entries, 2);
    cr_assert_str_eq(l->entries[1]->key, "a/2");
    pb_free(l);

    o = (sto_list_opts_t){.start_after = "a/2", .max_keys = 2};
    cr_assert_eq(sto_client_list_sync(T_rt, "bkt", &o, &l), 0);
    cr_assert_eq(l->n_entries, 2);
    cr_assert_str_eq(l->entries[0]->key, "b/1");
    cr_assert_str_eq(l->entries[1]->key, "c");
    cr_assert(l->is_truncated);
    cr_assert_str_eq(l->next_marker, "c");
    pb_free(l);
}

Test(sto_engine, bad_requests_are_answered_not_fatal)
{
    rt_pid_t eng = rt_whereis(T_rt, STO_ENGINE_NAME);
    rt_msg_t *reply = NULL;
    /* An unknown type in the storage range. */
    cr_assert_eq(gen_server_call_sync(T_rt, eng,
                                      rt_msg_new(STO_MSG_BUCKET_CREATE + 98),
                                      5000, &reply),
                 0);
    cr_assert_eq(reply->reason, CLEO_EBADREQ);
    rt_msg_free(reply);
    /* A HEAD without its record, a PUT without a body. */
    uint32_t types[] = {STO_MSG_HEAD, STO_MSG_PUT};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(
            gen_server_call_sync(T_rt, eng, rt_msg_new(types[i]), 5000, &reply),
            0);
        cr_assert_eq(reply->reason, CLEO_EBADREQ);
        rt_msg_free(reply);
    }
    cr_assert_eq(rt_whereis(T_rt, STO_ENGINE_NAME), eng);
}

/* Wait for the supervisor to register a new engine other than old. */
static rt_pid_t await_restart(rt_pid_t old)
{
    for (int i = 0; i < 1000; i++) {
        rt_pid_t p = rt_whereis(T_rt, STO_ENGINE_NAME);
        if (p != RT_PID_NONE && p != old)
            return p;
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    cr_assert_fail("the engine was not restarted");
    return RT_PID_NONE;
}

Test(sto_engine, killed_engine_restarts_with_data_intact)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    for (uint32_t i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%u", i);
        cr_assert_eq(put("bkt", key, 1000 * i, i), 0);
    }
    rt_pid_t old = rt_whereis(T_rt, STO_ENGINE_NAME);
    cr_assert_eq(rt_exit(T_rt, old, RT_REASON_KILL), 0);
    rt_pid_t now = await_restart(old);
    cr_assert_neq(now, old);

    bool ex = false;
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "bkt", &ex), 0);
    cr_assert(ex);
    for (uint32_t i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%u", i);
        assert_object("bkt", key, 1000 * i, i);
    }
    cr_assert_eq(put("bkt", "after", 10, 3), 0);
    assert_object("bkt", "after", 10, 3);
}

/* ---- a kill while puts are in flight on the pool -------------------- */

#define WRITERS 4
#define PER_WRITER 60

typedef struct {
    int id;
    int acked[PER_WRITER]; /* 1 when the put was answered 0 */
} writer_t;

static void *writer(void *arg)
{
    writer_t *w = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        char key[32];
        snprintf(key, sizeof key, "w%d/%d", w->id, i);
        w->acked[i] = put("bkt", key, 4096, (uint32_t)(w->id * 1000 + i)) == 0;
    }
    return NULL;
}

Test(sto_engine, kill_with_jobs_in_flight_loses_no_acked_put)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    static writer_t ws[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        ws[i].id = i;
        cr_assert_eq(pthread_create(&th[i], NULL, writer, &ws[i]), 0);
    }
    nanosleep(&(struct timespec){0, 30000000L}, NULL);
    rt_pid_t old = rt_whereis(T_rt, STO_ENGINE_NAME);
    cr_assert_eq(rt_exit(T_rt, old, RT_REASON_KILL), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    (void)await_restart(old);
    int acked = 0;
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < PER_WRITER; i++) {
            if (!ws[w].acked[i])
                continue;
            char key[32];
            snprintf(key, sizeof key, "w%d/%d", w, i);
            assert_object("bkt", key, 4096, (uint32_t)(w * 1000 + i));
            acked++;
        }
    cr_assert_gt(acked, 0);
}

/* ---- the open runs on the pool -------------------------------------- */

typedef struct {
    int rc;
    volatile int done;
} waiter_t;

static void *create_bucket(void *arg)
{
    waiter_t *w = arg;
    w->rc = sto_client_bucket_create_sync(T_rt, "late", NULL);
    w->done = 1;
    return NULL;
}

Test(sto_engine, calls_wait_while_the_database_is_held)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    cr_assert_eq(sup_terminate_child_sync(T_rt, T_sup, "engine", RT_PID_NONE),
                 0);
    /* Hold the database ourselves once the engine's close is done. */
    sto_db_t *db = NULL;
    for (int i = 0; i < 500 && sto_db_open(T_path, NULL, &db) < 0; i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    cr_assert_not_null(db);
    /* The engine starts at once and retries its open on the pool. */
    cr_assert_eq(sup_restart_child_sync(T_rt, T_sup, "engine", NULL), 0);
    rt_pid_t eng = rt_whereis(T_rt, STO_ENGINE_NAME);
    cr_assert_neq(eng, RT_PID_NONE);
    static waiter_t w;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, create_bucket, &w), 0);
    nanosleep(&(struct timespec){0, 300000000L}, NULL);
    cr_assert_eq(w.done, 0, "a call was served before the open");
    cr_assert(rt_is_alive(T_rt, eng));
    sto_db_close(db);
    pthread_join(th, NULL);
    cr_assert_eq(w.rc, 0);
    bool ex = false;
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "bkt", &ex), 0);
    cr_assert(ex);
    cr_assert_eq(rt_whereis(T_rt, STO_ENGINE_NAME), eng);
}

Test(sto_engine, a_failed_open_stops_the_engine)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    /* A bad option fails the open at once (no retries). */
    T_conf.opts.chunk_size = 1;
    static const sup_spec_t weak = {{SUP_ONE_FOR_ONE, 2, 5000}, kids, 1};
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    rt_inbox_t *ib;
    cr_assert_eq(rt_inbox_new(T_rt, &ib), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &weak, &T_sup), 0);
    cr_assert_eq(rt_inbox_monitor(ib, T_sup), 0);
    int rc = sto_client_bucket_create_sync(T_rt, "bkt", NULL);
    cr_assert(rc == CLEO_EINVAL || rc == CLEO_ENOPROC, "rc %d", rc);
    /* Restarted past its intensity: the supervisor gives up. */
    rt_msg_t *m = NULL;
    do {
        rt_msg_free(m);
        cr_assert_eq(rt_inbox_recv(ib, 10000, &m), 0);
    } while (m->type != RT_MSG_DOWN);
    rt_msg_free(m);
    rt_inbox_free(ib);
}

/* ---- COPY ----------------------------------------------------------- */

Test(sto_engine, copy_with_and_without_replace)
{
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "dst", NULL), 0);
    sto_kv_t kv[] = {{"color", "blue"}};
    sto_put_opts_t o = {
        .content_type = "text/plain", .user_meta = kv, .n_user_meta = 1};
    size_t n = 200000;
    Cleo__Storage__ObjectInfo *pi = NULL, *ci = NULL;
    cr_assert_eq(sto_client_put_sync(T_rt, "bkt", "src", body(n, 3), &o, &pi),
                 0);
    cr_assert_eq(
        sto_client_copy_sync(T_rt, "bkt", "src", "dst", "same", NULL, &ci), 0);
    cr_assert_str_eq(ci->etag, pi->etag);
    cr_assert_str_eq(ci->content_type, "text/plain");
    cr_assert_eq(ci->n_user_meta, 1);
    cr_assert_str_eq(ci->user_meta[0]->value, "blue");
    cr_assert_gt(ci->clock, pi->clock);
    pb_free(ci);
    assert_object("dst", "same", n, 3);

    sto_put_opts_t r = {.content_type = "image/gif"};
    cr_assert_eq(
        sto_client_copy_sync(T_rt, "bkt", "src", "dst", "new", &r, &ci), 0);
    cr_assert_str_eq(ci->etag, pi->etag);
    cr_assert_str_eq(ci->content_type, "image/gif");
    cr_assert_eq(ci->n_user_meta, 0);
    pb_free(ci);
    pb_free(pi);
    assert_object("dst", "new", n, 3);

    cr_assert_eq(
        sto_client_copy_sync(T_rt, "bkt", "nope", "dst", "x", NULL, NULL),
        CLEO_ENOTFOUND);
    cr_assert_eq(
        sto_client_copy_sync(T_rt, "bkt", "src", "nobkt", "x", NULL, NULL),
        STO_ENOBUCKET);
    rt_msg_t *reply = NULL;
    cr_assert_eq(gen_server_call_sync(T_rt, rt_whereis(T_rt, STO_ENGINE_NAME),
                                      rt_msg_new(STO_MSG_COPY), 5000, &reply),
                 0);
    cr_assert_eq(reply->reason, CLEO_EBADREQ);
    rt_msg_free(reply);
}
