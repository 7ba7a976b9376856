/*
 * test_maintactor.c - the scrubber and the compactor
 * (storage/maintactor.c) under a rest_for_one storage_sup beside the
 * engine: SCRUB reports and logs a corrupt chunk, COMPACT purges expired
 * tombstones, runs are periodic when configured, calls during a run
 * share it, and a missing engine is an error, not a hang.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/db.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define CHUNK ((size_t)64 << 10)

static char T_dir[64];
static char T_path[96];
static char T_log[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static sto_engine_conf_t T_conf;

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER},
    {"scrubber", sto_scrubber_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER},
    {"compactor", sto_compactor_start, &T_conf, SUP_PERMANENT, 5000,
     SUP_WORKER},
};
static const sup_spec_t spec = {{SUP_REST_FOR_ONE, 10, 5000}, kids, 3};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void start(uint64_t scrub_ms, uint64_t compact_ms)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-mnt-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    snprintf(T_log, sizeof T_log, "%s/log", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    T_conf.opts.chunk_size = CHUNK;
    T_conf.opts.no_sync = true;
    T_conf.opts.tombstone_ttl_ms = 1;
    T_conf.scrub_interval_ms = scrub_ms;
    T_conf.compact_interval_ms = compact_ms;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(logger_start(T_rt, NULL, T_log, LOG_DEBUG, NULL), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
}

static void setup(void)
{
    start(0, 0);
}

static void setup_periodic(void)
{
    start(100, 100);
}

static void teardown(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_maintactor, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(sto_maintactor_periodic, .init = setup_periodic, .fini = teardown,
          .timeout = 60);

static void pb_free(void *pb)
{
    protobuf_c_message_free_unpacked(pb, NULL);
}

static int put(const char *key, size_t n)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(n, &b), 0);
    memset(rt_buf_data(b), 'x', n);
    cr_assert_eq(rt_buf_set_len(b, n), 0);
    return sto_client_put_sync(T_rt, "bkt", key, b, NULL, NULL);
}

/* Call name with type; the status; *rep takes a ScrubReport if given. */
static int maint(const char *name, uint32_t type,
                 Cleo__Storage__ScrubReport **rep)
{
    rt_msg_t *reply = NULL;
    int rc = gen_server_call_sync(T_rt, rt_whereis(T_rt, name),
                                  rt_msg_new(type), 30000, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (rc == 0 && rep != NULL) {
        *rep = reply->payload;
        reply->payload = NULL;
        cr_assert_not_null(*rep);
    }
    rt_msg_free(reply);
    return rc;
}

/* Run f(db) with the engine stopped (the others keep running). */
static void with_db(void (*f)(sto_db_t *db))
{
    cr_assert_eq(sup_terminate_child_sync(T_rt, T_sup, "engine", RT_PID_NONE),
                 0);
    sto_db_t *db = NULL;
    for (int i = 0; i < 500 && sto_db_open(T_path, &T_conf.opts, &db) < 0; i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    cr_assert_not_null(db);
    f(db);
    sto_db_close(db);
    cr_assert_eq(sup_restart_child_sync(T_rt, T_sup, "engine", NULL), 0);
}

/* Flip a payload byte of the first chunk of bkt/bad. */
static void flip(sto_db_t *db)
{
    sto_meta_t *m;
    cr_assert_eq(sto_head(db, "bkt", "bad", &m), 0);
    const Cleo__Storage__ObjectMeta *pb = m->_pb;
    char k[STO__DKEY_LEN], *err = NULL;
    sto__dkey(k, pb->chunks[0]->id, pb->chunks[0]->index);
    sto_meta_free(m);
    size_t vl;
    char *v = rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_DATA], k, sizeof k,
                             &vl, &err);
    cr_assert_not_null(v);
    v[STO__CHUNK_HDR + 7] ^= 4;
    rocksdb_put_cf(db->rdb, db->wo_sync, db->cf[STO__CF_DATA], k, sizeof k, v,
                   vl, &err);
    cr_assert_null(err);
    rocksdb_free(v);
}

/* Does the log file contain s (waiting up to 2 s for it)? */
static bool log_has(const char *s)
{
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(T_log, "r");
        char line[512];
        bool found = false;
        while (f != NULL && !found && fgets(line, sizeof line, f) != NULL)
            found = strstr(line, s) != NULL;
        if (f != NULL)
            fclose(f);
        if (found)
            return true;
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    return false;
}

Test(sto_maintactor, scrub_reports_and_logs_corruption)
{
    cr_assert_eq(put("a", 3 * CHUNK), 0);
    cr_assert_eq(put("bad", CHUNK + 1), 0);
    Cleo__Storage__ScrubReport *r = NULL;
    cr_assert_eq(maint(STO_SCRUBBER_NAME, STO_MSG_SCRUB, &r), 0);
    cr_assert_eq(r->chunks, 5);
    cr_assert_eq(r->bytes, 4 * CHUNK + 1);
    cr_assert_eq(r->corrupt, 0);
    pb_free(r);
    with_db(flip);
    cr_assert_eq(maint(STO_SCRUBBER_NAME, STO_MSG_SCRUB, &r), 0);
    cr_assert_eq(r->chunks, 5);
    cr_assert_eq(r->corrupt, 1);
    pb_free(r);
    cr_assert(log_has("scrub: chunk"));
    cr_assert(log_has("sto_scrubber: 5 chunk(s)"));
    rt_buf_t *b = NULL;
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "bad", &b, NULL),
                 STO_ECORRUPT);
}

/* Count the raw records of the meta column family. */
static size_t meta_records;
static void count_meta(sto_db_t *db)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_META]);
    meta_records = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it))
        meta_records++;
    rocksdb_iter_destroy(it);
}

Test(sto_maintactor, compact_purges_expired_tombstones)
{
    for (int i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(put(key, 1000), 0);
        if (i % 2 == 0)
            cr_assert_eq(sto_client_delete_sync(T_rt, "bkt", key), 0);
    }
    with_db(count_meta);
    cr_assert_eq(meta_records, 10);                   /* 5 live, 5 tombstones */
    nanosleep(&(struct timespec){0, 5000000L}, NULL); /* ttl is 1 ms */
    cr_assert_eq(maint(STO_COMPACTOR_NAME, STO_MSG_COMPACT, NULL), 0);
    with_db(count_meta);
    cr_assert_eq(meta_records, 5);
    cr_assert_eq(maint(STO_COMPACTOR_NAME, STO_MSG_COMPACT, NULL), 0);
    cr_assert(log_has("sto_compactor: done"));
    /* The engine answers PURGE directly. */
    rt_msg_t *reply = NULL;
    cr_assert_eq(gen_server_call_sync(T_rt, rt_whereis(T_rt, STO_ENGINE_NAME),
                                      rt_msg_new(STO_MSG_PURGE), 5000, &reply),
                 0);
    cr_assert_eq(reply->reason, 0);
    rt_msg_free(reply);
}

static void *scrub_thread(void *arg)
{
    Cleo__Storage__ScrubReport *r = NULL;
    *(int *)arg = maint(STO_SCRUBBER_NAME, STO_MSG_SCRUB, &r);
    if (r != NULL && r->chunks != 20)
        *(int *)arg = -1;
    if (r != NULL)
        pb_free(r);
    return NULL;
}

Test(sto_maintactor, concurrent_calls_all_get_a_report)
{
    cr_assert_eq(put("a", 20 * CHUNK), 0);
    static int rcs[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, scrub_thread, &rcs[i]), 0);
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(rcs[i], 0);
    }
}

Test(sto_maintactor, no_engine_is_an_error_and_bad_calls_are_answered)
{
    cr_assert_eq(sup_terminate_child_sync(T_rt, T_sup, "engine", RT_PID_NONE),
                 0);
    cr_assert_eq(maint(STO_SCRUBBER_NAME, STO_MSG_SCRUB, NULL), CLEO_ENOPROC);
    cr_assert_eq(maint(STO_COMPACTOR_NAME, STO_MSG_COMPACT, NULL),
                 CLEO_ENOPROC);
    cr_assert_eq(maint(STO_SCRUBBER_NAME, STO_MSG_COMPACT, NULL), CLEO_EBADREQ);
    cr_assert_eq(sup_restart_child_sync(T_rt, T_sup, "engine", NULL), 0);
    cr_assert_eq(maint(STO_SCRUBBER_NAME, STO_MSG_SCRUB, NULL), 0);
}

Test(sto_maintactor_periodic, runs_every_interval)
{
    cr_assert_eq(put("a", CHUNK), 0);
    cr_assert(log_has("sto_scrubber: 1 chunk(s)"));
    cr_assert(log_has("sto_compactor: done"));
}
