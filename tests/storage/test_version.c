/*
 * test_version.c - object versions (issue 12): the HLC (sto_clock_next,
 * sto_clock_observe), sto_version_cmp, a replica's put of a given version
 * (sto_put_opts_t.version) and delete of one (sto_delete_version), which
 * store it only when newer, sto_head_any, the node id every stamped
 * version carries, and the stats, chunks and restarts through all that.
 */
#include <pthread.h>

#include "stot.c"

#define NODE 0x1234abcdULL /* this database's node id */
static uint64_t T_far;     /* a clock a day ahead of the wall clock */
#define FAR T_far

static void reopen_node(uint64_t node_id)
{
    sto_opts_t o;
    t_opts(&o);
    o.node_id = node_id;
    sto_db_close(T_db);
    T_db = NULL;
    t_open_with(&o);
}

static void setup(void)
{
    t_setup();
    reopen_node(NODE);
    T_far = (sto__now_ms() + 86400000ULL) << 16;
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
}

TestSuite(sto_version, .init = setup, .fini = t_teardown);

/* A replica's put of n bytes of pattern s, version (clock, node) and
 * last-modified lm, in writes of step bytes. */
static int vput(const char *key, size_t n, uint32_t s, uint64_t clock,
                uint64_t node, uint64_t lm)
{
    sto_version_t v = {clock, node};
    sto_put_opts_t o = {.now_ms = lm, .version = &v};
    sto_put_t *p = NULL;
    int rc = sto_put_begin(T_db, "bkt", key, &o, &p);
    if (rc < 0)
        return rc;
    v.clock = 1; /* the put keeps its own copy */
    size_t step = 40000;
    uint8_t *b = malloc(step);
    for (size_t off = 0; off < n && rc == 0; off += step) {
        size_t len = n - off < step ? n - off : step;
        t_fill(b, len, s, off);
        rc = sto_put_write(p, b, len);
    }
    free(b);
    if (rc < 0) {
        sto_put_abort(p);
        return rc;
    }
    return sto_put_commit(p, (int64_t)n, NULL, NULL);
}

/* A replica's one-shot put of 5 bytes, stored inline: no chunk, so no
 * chunk id for the restart to take its clock from. */
static int vput_inline(const char *key, uint64_t clock, uint64_t node)
{
    sto_version_t v = {clock, node};
    sto_put_opts_t o = {.one_shot = true, .version = &v};
    sto_put_t *p = NULL;
    int rc = sto_put_begin(T_db, "bkt", key, &o, &p);
    if (rc < 0)
        return rc;
    if ((rc = sto_put_write(p, "hello", 5)) < 0) {
        sto_put_abort(p);
        return rc;
    }
    return sto_put_commit(p, 5, NULL, NULL);
}

static int vdel(const char *key, uint64_t clock, uint64_t node, uint64_t lm)
{
    sto_version_t v = {clock, node};
    return sto_delete_version(T_db, "bkt", key, lm, &v);
}

/* The key's current record, tombstones included. */
static sto_meta_t *any(const char *key)
{
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head_any(T_db, "bkt", key, &m), 0, "head_any %s", key);
    return m;
}

static void assert_version(const char *key, uint64_t clock, uint64_t node,
                           bool deleted)
{
    sto_meta_t *m = any(key);
    cr_expect_eq(m->clock, clock, "%s: clock %llx", key,
                 (unsigned long long)m->clock);
    cr_expect_eq(m->clock_node, node, "%s: node", key);
    cr_expect_eq(m->deleted, deleted, "%s: deleted", key);
    sto_meta_free(m);
}

static void assert_stats(uint64_t objects, uint64_t bytes)
{
    sto_bucket_info_t b;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &b), 0);
    cr_expect_eq(b.objects, objects, "objects %llu",
                 (unsigned long long)b.objects);
    cr_expect_eq(b.bytes, bytes, "bytes %llu", (unsigned long long)b.bytes);
}

static size_t chunks_of(size_t n)
{
    return (n + T_CHUNK - 1) / T_CHUNK;
}

/* ---- comparison and the clock ------------------------------------- */

Test(sto_version, cmp_orders_by_clock_then_node)
{
    sto_version_t a = {10, 5}, b = {11, 1}, c = {10, 6}, d = {10, 5};
    cr_expect_lt(sto_version_cmp(&a, &b), 0);
    cr_expect_gt(sto_version_cmp(&b, &a), 0);
    cr_expect_lt(sto_version_cmp(&a, &c), 0);
    cr_expect_gt(sto_version_cmp(&c, &a), 0);
    cr_expect_eq(sto_version_cmp(&a, &d), 0);
    sto_version_t big = {UINT64_MAX, 0}, small = {0, UINT64_MAX};
    cr_expect_gt(sto_version_cmp(&big, &small), 0);
}

Test(sto_version, observe_makes_the_next_clock_larger)
{
    uint64_t c = sto_clock_next(T_db);
    cr_expect_gt(sto_clock_next(T_db), c);
    sto_clock_observe(T_db, FAR);
    cr_expect_gt(sto_clock_next(T_db), FAR);
    uint64_t after = sto_clock_next(T_db);
    sto_clock_observe(T_db, c); /* an older clock changes nothing */
    cr_expect_eq(sto_clock_next(T_db), after + 1);
}

Test(sto_version, observe_ignores_clocks_that_could_wrap)
{
    uint64_t c = sto_clock_next(T_db);
    sto_clock_observe(T_db, UINT64_MAX);
    sto_clock_observe(T_db, UINT64_C(1) << 63);
    uint64_t n = sto_clock_next(T_db);
    cr_expect_gt(n, c);
    cr_expect_lt(n, UINT64_C(1) << 62);
}

Test(sto_version, stamped_versions_carry_the_node_id)
{
    cr_assert_eq(t_put("bkt", "k", 100, 1, 100, NULL), 0);
    sto_meta_t *m = any("k");
    cr_expect_eq(m->clock_node, NODE);
    uint64_t put_clock = m->clock;
    sto_meta_free(m);
    cr_assert_eq(sto_delete(T_db, "bkt", "k", T_NOW + 9), 0);
    m = any("k");
    cr_expect(m->deleted);
    cr_expect_eq(m->clock_node, NODE);
    cr_expect_gt(m->clock, put_clock);
    cr_expect_eq(m->last_modified_ms, T_NOW + 9);
    sto_meta_free(m);
}

Test(sto_version, single_node_stamps_node_zero)
{
    reopen_node(0);
    cr_assert_eq(t_put("bkt", "k", 10, 1, 10, NULL), 0);
    sto_meta_t *m = any("k");
    cr_expect_eq(m->clock_node, 0);
    cr_expect_gt(m->clock, 0);
    sto_meta_free(m);
}

/* ---- a replica's put ---------------------------------------------- */

Test(sto_version, newer_put_is_stored_with_its_version)
{
    cr_assert_eq(t_put("bkt", "k", 100, 1, 100, NULL), 0);
    cr_assert_eq(vput("k", 3 * T_CHUNK + 5, 2, FAR, 77, T_NOW + 1), 0);
    sto_meta_t *m = any("k");
    cr_expect_eq(m->clock, FAR);
    cr_expect_eq(m->clock_node, 77);
    cr_expect_eq(m->last_modified_ms, T_NOW + 1);
    cr_expect_eq(m->size, 3 * T_CHUNK + 5);
    cr_expect_not(m->deleted);
    sto_meta_free(m);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 2, 9000),
                 (ssize_t)(3 * T_CHUNK + 5));
    assert_stats(1, 3 * T_CHUNK + 5);
    cr_expect_eq(t_data_count(), chunks_of(3 * T_CHUNK + 5));
}

Test(sto_version, older_put_is_superseded_and_changes_nothing)
{
    cr_assert_eq(vput("k", 2 * T_CHUNK, 1, FAR, 5, T_NOW), 0);
    cr_expect_eq(vput("k", 5 * T_CHUNK, 2, FAR - 1, 9, T_NOW + 1),
                 STO_ESUPERSEDED);
    assert_version("k", FAR, 5, false);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 1, 9000),
                 (ssize_t)(2 * T_CHUNK));
    assert_stats(1, 2 * T_CHUNK);
    cr_expect_eq(t_data_count(), 2, "the superseded put's chunks are freed");
}

Test(sto_version, equal_clocks_tie_break_by_node)
{
    cr_assert_eq(vput("k", 10, 1, FAR, 5, T_NOW), 0);
    cr_expect_eq(vput("k", 20, 2, FAR, 4, T_NOW), STO_ESUPERSEDED);
    cr_expect_eq(vput("k", 30, 3, FAR, 5, T_NOW), STO_ESUPERSEDED,
                 "the same version again");
    assert_version("k", FAR, 5, false);
    assert_stats(1, 10);
    cr_assert_eq(vput("k", 40, 4, FAR, 6, T_NOW), 0);
    assert_version("k", FAR, 6, false);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 4, 100), 40);
    assert_stats(1, 40);
}

Test(sto_version, put_observes_the_clock_either_way)
{
    cr_assert_eq(vput("a", 10, 1, FAR, 5, T_NOW), 0);
    cr_expect_gt(sto_clock_next(T_db), FAR);
    cr_assert_eq(vdel("b", FAR + 1000, 5, T_NOW), 0);
    cr_expect_eq(vput("b", 10, 1, FAR + 500, 5, T_NOW), STO_ESUPERSEDED);
    cr_expect_gt(sto_clock_next(T_db), FAR + 1000);
    /* A local put after them stamps a newer version, with this node. */
    cr_assert_eq(t_put("bkt", "a", 10, 2, 10, NULL), 0);
    sto_meta_t *m = any("a");
    cr_expect_gt(m->clock, FAR);
    cr_expect_eq(m->clock_node, NODE);
    sto_meta_free(m);
}

Test(sto_version, superseded_streaming_put_leaves_no_chunks)
{
    cr_assert_eq(vdel("k", FAR, 5, T_NOW), 0);
    sto_version_t v = {FAR - 1, 5};
    sto_put_opts_t o = {.version = &v};
    sto_put_t *p = NULL;
    cr_assert_eq(sto_put_begin(T_db, "bkt", "k", &o, &p), 0);
    uint8_t *b = malloc(T_CHUNK);
    for (int i = 0; i < 4; i++) {
        t_fill(b, T_CHUNK, 3, (uint64_t)i * T_CHUNK);
        cr_assert_eq(sto_put_write(p, b, T_CHUNK), 0);
    }
    free(b);
    cr_expect_geq(t_data_count(), 3, "chunks are written as they fill");
    cr_expect_eq(sto_put_commit(p, (int64_t)(4 * T_CHUNK), NULL, NULL),
                 STO_ESUPERSEDED);
    cr_expect_eq(t_data_count(), 0);
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(T_db, NULL, NULL, &st), 0);
    cr_expect_eq(st.chunks, 0);
    assert_version("k", FAR, 5, true);
    assert_stats(0, 0);
    t_reopen(); /* nothing left for the crash sweep either */
    cr_expect_eq(t_data_count(), 0);
}

Test(sto_version, one_shot_and_inline_puts_are_versioned_too)
{
    cr_assert_eq(vput_inline("small", FAR, 3), 0);
    assert_version("small", FAR, 3, false);
    cr_expect_eq(vput_inline("small", FAR - 1, 3), STO_ESUPERSEDED);
    /* One-shot, one whole chunk: the chunk rides in the commit batch. */
    sto_version_t v = {FAR - 1, 3};
    sto_put_opts_t o = {.one_shot = true, .version = &v};
    sto_put_t *p = NULL;
    uint8_t *b = malloc(T_CHUNK);
    t_fill(b, T_CHUNK, 4, 0);
    cr_assert_eq(sto_put_begin(T_db, "bkt", "small", &o, &p), 0);
    cr_assert_eq(sto_put_write(p, b, T_CHUNK), 0);
    cr_expect_eq(sto_put_commit(p, (int64_t)T_CHUNK, NULL, NULL),
                 STO_ESUPERSEDED);
    v.clock = FAR + 1;
    cr_assert_eq(sto_put_begin(T_db, "bkt", "small", &o, &p), 0);
    cr_assert_eq(sto_put_write(p, b, T_CHUNK), 0);
    cr_expect_eq(sto_put_commit(p, (int64_t)T_CHUNK, NULL, NULL), 0);
    free(b);
    assert_version("small", FAR + 1, 3, false);
    assert_stats(1, T_CHUNK);
    cr_expect_eq(t_data_count(), 1);
}

Test(sto_version, bad_versions_are_einval)
{
    sto_version_t zero = {0, 1}, huge = {UINT64_C(1) << 63, 1};
    sto_put_opts_t o = {.version = &zero};
    sto_put_t *p = NULL;
    cr_expect_eq(sto_put_begin(T_db, "bkt", "k", &o, &p), CLEO_EINVAL);
    o.version = &huge;
    cr_expect_eq(sto_put_begin(T_db, "bkt", "k", &o, &p), CLEO_EINVAL);
    cr_expect_eq(sto_delete_version(T_db, "bkt", "k", T_NOW, &zero),
                 CLEO_EINVAL);
    cr_expect_eq(sto_delete_version(T_db, "bkt", "k", T_NOW, &huge),
                 CLEO_EINVAL);
    cr_expect_eq(sto_delete_version(T_db, "bkt", "k", T_NOW, NULL),
                 CLEO_EINVAL);
    sto_version_t ok = {FAR, 1};
    cr_expect_eq(sto_delete_version(T_db, "bkt", "", T_NOW, &ok), CLEO_EINVAL);
    cr_expect_eq(sto_delete_version(T_db, "nobkt", "k", T_NOW, &ok),
                 STO_ENOBUCKET);
    cr_expect_eq(sto_delete_version(T_db, "Bad_Name", "k", T_NOW, &ok),
                 STO_ENOBUCKET);
    sto_meta_t *m = NULL;
    cr_expect_eq(sto_head_any(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
    cr_expect_eq(t_data_count(), 0);
}

/* ---- a replica's delete --------------------------------------------- */

Test(sto_version, delete_of_an_absent_key_writes_a_tombstone_that_wins)
{
    cr_assert_eq(vdel("k", FAR, 5, T_NOW + 3), 0);
    assert_stats(0, 0);
    sto_meta_t *m = NULL;
    cr_expect_eq(sto_head(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
    m = any("k");
    cr_expect(m->deleted);
    cr_expect_eq(m->size, 0);
    cr_expect_str_eq(m->etag, "");
    cr_expect_eq(m->last_modified_ms, T_NOW + 3);
    sto_meta_free(m);
    /* An older put arriving later loses. */
    cr_expect_eq(vput("k", 2 * T_CHUNK, 1, FAR - 10, 9, T_NOW),
                 STO_ESUPERSEDED);
    assert_version("k", FAR, 5, true);
    assert_stats(0, 0);
    cr_expect_eq(t_data_count(), 0);
    /* A newer one wins. */
    cr_assert_eq(vput("k", 2 * T_CHUNK + 1, 2, FAR + 10, 1, T_NOW), 0);
    assert_version("k", FAR + 10, 1, false);
    assert_stats(1, 2 * T_CHUNK + 1);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 2, 5000),
                 (ssize_t)(2 * T_CHUNK + 1));
    cr_expect_eq(t_data_count(), 3);
}

Test(sto_version, delete_of_a_live_object_frees_it_unless_older)
{
    cr_assert_eq(vput("k", 3 * T_CHUNK, 1, FAR, 5, T_NOW), 0);
    cr_expect_eq(vdel("k", FAR - 1, 9, T_NOW), STO_ESUPERSEDED);
    cr_expect_eq(vdel("k", FAR, 5, T_NOW), STO_ESUPERSEDED);
    assert_version("k", FAR, 5, false);
    assert_stats(1, 3 * T_CHUNK);
    cr_expect_eq(t_data_count(), 3);
    cr_assert_eq(vdel("k", FAR, 6, T_NOW), 0);
    assert_version("k", FAR, 6, true);
    assert_stats(0, 0);
    cr_expect_eq(t_data_count(), 0);
    /* A newer tombstone over a tombstone: stats stay. */
    cr_assert_eq(vdel("k", FAR + 1, 1, T_NOW), 0);
    assert_version("k", FAR + 1, 1, true);
    cr_expect_eq(vdel("k", FAR + 1, 1, T_NOW), STO_ESUPERSEDED);
    assert_stats(0, 0);
    cr_expect_gt(sto_clock_next(T_db), FAR + 1);
}

Test(sto_version, plain_delete_and_head_are_unchanged)
{
    cr_assert_eq(vdel("k", FAR, 5, T_NOW), 0);
    cr_expect_eq(sto_delete(T_db, "bkt", "k", T_NOW), CLEO_ENOTFOUND);
    cr_expect_eq(sto_delete(T_db, "bkt", "never", T_NOW), CLEO_ENOTFOUND);
    sto_meta_t *m = NULL;
    cr_expect_eq(sto_head(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
    cr_expect_eq(sto_head_any(T_db, "bkt", "never", &m), CLEO_ENOTFOUND);
    cr_expect_eq(sto_head_any(T_db, "nobkt", "k", &m), STO_ENOBUCKET);
    cr_expect_eq(sto_head_any(T_db, "bkt", "", &m), CLEO_EINVAL);
    cr_assert_eq(t_put("bkt", "live", 7, 1, 7, NULL), 0);
    m = any("live");
    cr_expect_not(m->deleted);
    cr_expect_eq(m->size, 7);
    sto_meta_free(m);
}

/* A put or delete that stamps its own version is newer than the record
 * it replaces even if the clock stored at the last commit was behind
 * it (here: rewound by hand before a restart). */
Test(sto_version, local_writes_outrank_a_record_ahead_of_the_clock)
{
    cr_assert_eq(vput_inline("k", FAR, UINT64_MAX), 0);
    cr_assert_eq(vput_inline("j", FAR, UINT64_MAX), 0);
    cr_assert_eq(t_data_count(), 0);
    char c[8], *err = NULL;
    sto__put_be64(c, 1);
    rocksdb_put_cf(T_db->rdb, T_db->wo_sync, T_db->cf[STO__CF_SYS], "clock", 5,
                   c, 8, &err);
    cr_assert_null(err);
    reopen_node(NODE);
    cr_expect_lt(sto_clock_next(T_db), FAR, "the clock was rewound");
    cr_assert_eq(t_put("bkt", "k", 10, 2, 10, NULL), 0);
    sto_meta_t *m = any("k");
    cr_expect_gt(m->clock, FAR);
    sto_meta_free(m);
    cr_assert_eq(sto_delete(T_db, "bkt", "j", T_NOW), 0);
    m = any("j");
    cr_expect(m->deleted);
    cr_expect_gt(m->clock, FAR);
    sto_meta_free(m);
}

/* ---- restarts --------------------------------------------------------- */

Test(sto_version, restart_keeps_versions_and_the_observed_clock)
{
    cr_assert_eq(vput("a", T_CHUNK + 1, 1, FAR, 5, T_NOW + 1), 0);
    cr_assert_eq(vdel("b", FAR + 7, 6, T_NOW + 2), 0);
    reopen_node(NODE);
    assert_version("a", FAR, 5, false);
    assert_version("b", FAR + 7, 6, true);
    cr_expect_gt(sto_clock_next(T_db), FAR + 7);
    assert_stats(1, T_CHUNK + 1);
    cr_expect_eq(vput("b", 1, 1, FAR + 6, 9, T_NOW), STO_ESUPERSEDED);
    cr_expect_eq(vput("a", 1, 1, FAR, 5, T_NOW), STO_ESUPERSEDED);
}

/* The stored clock keeps its maximum whatever order operands arrive in:
 * two commits can reach the WAL in another order than they drew clocks. */
Test(sto_version, stored_clock_keeps_its_maximum)
{
    sto_clock_observe(T_db, FAR);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    sto__clock_persist(T_db, b);
    char lower[8], *err = NULL;
    sto__put_be64(lower, FAR - 100);
    rocksdb_writebatch_merge_cf(b, T_db->cf[STO__CF_SYS], "clock", 5, lower, 8);
    rocksdb_write(T_db->rdb, T_db->wo_sync, b, &err);
    rocksdb_writebatch_destroy(b);
    cr_assert_null(err);
    reopen_node(NODE);
    cr_expect_gt(sto_clock_next(T_db), FAR);
    size_t len = 0;
    char *v = rocksdb_get_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_SYS],
                             "clock", 5, &len, &err);
    cr_assert_null(err);
    cr_assert_eq(len, 8);
    cr_expect_eq(sto__be64(v), FAR);
    rocksdb_free(v);
}

/* ---- racing replicas ---------------------------------------------------- */

#define NTHR 6
#define NVER 12

static void *racer(void *arg)
{
    intptr_t t = (intptr_t)arg;
    for (int i = 0; i < NVER; i++) {
        /* Versions interleave across threads; sizes differ per version. */
        uint64_t clock = FAR + (uint64_t)(i * NTHR + t);
        size_t n = (size_t)((i * NTHR + t) % 4) * T_CHUNK / 2 + 1;
        int rc = (i + t) % 3 == 0
                     ? vdel("race", clock, (uint64_t)t, T_NOW)
                     : vput("race", n, (uint32_t)t, clock, (uint64_t)t, T_NOW);
        cr_assert(rc == 0 || rc == STO_ESUPERSEDED, "rc %d", rc);
    }
    return NULL;
}

Test(sto_version, racing_versions_leave_the_newest_and_exact_stats)
{
    pthread_t th[NTHR];
    for (intptr_t t = 0; t < NTHR; t++)
        pthread_create(&th[t], NULL, racer, (void *)t);
    for (int t = 0; t < NTHR; t++)
        pthread_join(th[t], NULL);
    /* The newest: i = NVER - 1, t = NTHR - 1; (i + t) % 3 decides. */
    int i = NVER - 1, t = NTHR - 1;
    bool del = (i + t) % 3 == 0;
    size_t n = (size_t)((i * NTHR + t) % 4) * T_CHUNK / 2 + 1;
    assert_version("race", FAR + (uint64_t)(i * NTHR + t), (uint64_t)t, del);
    assert_stats(del ? 0 : 1, del ? 0 : n);
    cr_expect_eq(t_data_count(), del ? 0 : chunks_of(n));
    if (!del)
        cr_expect_eq(t_get_check("bkt", "race", NULL, (uint32_t)t, 7000),
                     (ssize_t)n);
}
