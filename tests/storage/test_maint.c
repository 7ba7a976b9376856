/*
 * test_maint.c - corruption detection, scrub, tombstone purge, compact.
 */
#include "stot.c"

static void setup(void)
{
    t_setup();
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
}

TestSuite(sto_maint, .init = setup, .fini = t_teardown);

typedef struct {
    int calls;
    uint64_t id;
    uint32_t index;
} seen_t;

static void on_corrupt(void *data, uint64_t id, uint32_t index, int err)
{
    seen_t *s = data;
    cr_expect_eq(err, STO_ECORRUPT);
    s->calls++;
    s->id = id;
    s->index = index;
}

static const Cleo__Storage__ChunkRef *chunk_of(const char *key, size_t i)
{
    static sto_meta_t *m;
    sto_meta_free(m);
    cr_assert_eq(sto_head(T_db, "bkt", key, &m), 0);
    const Cleo__Storage__ObjectMeta *pb = m->_pb;
    cr_assert(i < pb->n_chunks);
    return pb->chunks[i];
}

/* Flip one payload byte of a stored chunk with a raw RocksDB put. */
static void flip_byte(uint64_t id, uint32_t index, size_t at)
{
    char k[STO__DKEY_LEN], *err = NULL;
    sto__dkey(k, id, index);
    size_t vl;
    char *v = rocksdb_get_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_DATA], k,
                             sizeof(k), &vl, &err);
    cr_assert_null(err);
    cr_assert_not_null(v);
    v[STO__CHUNK_HDR + at] ^= 0x20;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(T_db->rdb, wo, T_db->cf[STO__CF_DATA], k, sizeof(k), v, vl,
                   &err);
    cr_assert_null(err);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_free(v);
}

Test(sto_maint, flipped_byte_fails_the_read_and_scrub_finds_it)
{
    cr_assert_eq(t_put("bkt", "k", 3 * T_CHUNK, 5, 65536, NULL), 0);
    cr_assert_eq(t_put("bkt", "other", 2 * T_CHUNK, 6, 65536, NULL), 0);
    const Cleo__Storage__ChunkRef *c = chunk_of("k", 1);
    uint64_t id = c->id;
    uint32_t index = c->index;
    flip_byte(id, index, 1234);

    sto_get_t *g = NULL;
    cr_assert_eq(sto_get_open(T_db, "bkt", "k", NULL, &g), 0);
    uint8_t *buf = malloc(3 * T_CHUNK), *want = malloc(T_CHUNK);
    ssize_t n = sto_get_read(g, buf, 3 * T_CHUNK);
    /* Chunk 0 is served; not one byte of chunk 1. */
    cr_expect_eq(n, (ssize_t)T_CHUNK);
    t_fill(want, T_CHUNK, 5, 0);
    cr_expect(memcmp(buf, want, T_CHUNK) == 0);
    cr_expect_eq(sto_get_read(g, buf, 3 * T_CHUNK), STO_ECORRUPT);
    sto_get_close(g);
    free(buf);
    free(want);
    /* A range inside the good chunks still reads. */
    sto_range_t r = {.kind = STO_RANGE_SPAN, .first = 10, .last = 100};
    cr_expect_eq(t_get_check("bkt", "k", &r, 5, 4096), 91);
    r = (sto_range_t){.kind = STO_RANGE_SUFFIX, .suffix_len = 10};
    cr_expect_eq(t_get_check("bkt", "k", &r, 5, 4096), 10);
    r = (sto_range_t){
        .kind = STO_RANGE_SPAN, .first = T_CHUNK + 5, .last = T_CHUNK + 5};
    cr_expect_eq(t_get_check("bkt", "k", &r, 5, 4096), STO_ECORRUPT);

    seen_t s = {0};
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(T_db, on_corrupt, &s, &st), 0);
    cr_expect_eq(s.calls, 1);
    cr_expect_eq(s.id, id);
    cr_expect_eq(s.index, index);
    cr_expect_eq(st.chunks, 5);
    cr_expect_eq(st.corrupt, 1);
    cr_expect_eq(st.bytes, 4 * T_CHUNK);
}

Test(sto_maint, missing_chunk_is_corruption)
{
    cr_assert_eq(t_put("bkt", "k", 2 * T_CHUNK, 5, 65536, NULL), 0);
    const Cleo__Storage__ChunkRef *c = chunk_of("k", 1);
    char k[STO__DKEY_LEN], *err = NULL;
    sto__dkey(k, c->id, c->index);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_delete_cf(T_db->rdb, wo, T_db->cf[STO__CF_DATA], k, sizeof(k),
                      &err);
    cr_assert_null(err);
    rocksdb_writeoptions_destroy(wo);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 5, 65536), STO_ECORRUPT);
}

Test(sto_maint, clean_scrub_reports_nothing)
{
    cr_assert_eq(t_put("bkt", "k", 2 * T_CHUNK + 1, 5, 65536, NULL), 0);
    seen_t s = {0};
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(T_db, on_corrupt, &s, &st), 0);
    cr_expect_eq(s.calls, 0);
    cr_expect_eq(st.chunks, 3);
    cr_expect_eq(st.bytes, 2 * T_CHUNK + 1);
    cr_expect_eq(st.corrupt, 0);
}

static size_t meta_count(void)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_META]);
    size_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it))
        n++;
    rocksdb_iter_destroy(it);
    return n;
}

Test(sto_maint, tombstones_are_purged_after_the_ttl)
{
    const uint64_t ttl = STO_DEFAULT_TOMBSTONE_TTL_MS;
    cr_assert_eq(t_put("bkt", "gone", 10, 1, 10, NULL), 0);
    cr_assert_eq(t_put("bkt", "kept", 10, 1, 10, NULL), 0);
    cr_assert_eq(sto_delete(T_db, "bkt", "gone", T_NOW), 0);
    cr_expect_eq(meta_count(), 2);
    uint64_t n = 99;
    cr_assert_eq(sto_purge(T_db, T_NOW + ttl - 1, &n), 0);
    cr_expect_eq(n, 0);
    cr_expect_eq(meta_count(), 2);
    cr_assert_eq(sto_purge(T_db, T_NOW + ttl + 1, &n), 0);
    cr_expect_eq(n, 1);
    cr_expect_eq(meta_count(), 1);
    cr_expect_eq(t_get_check("bkt", "kept", NULL, 1, 64), 10);
}

Test(sto_maint, compact_purges_and_keeps_data)
{
    const uint64_t ttl = STO_DEFAULT_TOMBSTONE_TTL_MS;
    cr_assert_eq(t_put("bkt", "a", 3 * T_CHUNK, 2, 65536, NULL), 0);
    cr_assert_eq(t_put("bkt", "b", 10, 1, 10, NULL), 0);
    cr_assert_eq(t_put("bkt", "a", T_CHUNK, 3, 65536, NULL), 0);
    cr_assert_eq(sto_delete(T_db, "bkt", "b", T_NOW), 0);
    cr_assert_eq(sto_db_compact(T_db, T_NOW + ttl + 1), 0);
    cr_expect_eq(meta_count(), 1);
    cr_expect_eq(t_data_count(), 1);
    cr_expect_eq(t_get_check("bkt", "a", NULL, 3, 65536), T_CHUNK);
    t_reopen();
    cr_expect_eq(t_get_check("bkt", "a", NULL, 3, 65536), T_CHUNK);
}
