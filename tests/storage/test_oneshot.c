/*
 * test_oneshot.c - one-shot puts (sto_put_opts_t.one_shot): the whole
 * object in one synced batch with its metadata, no crash record; up to
 * STO__INLINE_MAX bytes inside the metadata record itself (checked by
 * reads and scrub like a chunk); an object that outgrows a chunk is
 * refused and leaves nothing behind.
 */
#include "stot.c"

static void setup(void)
{
    t_setup();
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
}

TestSuite(sto_oneshot, .init = setup, .fini = t_teardown);

static int put1(const char *key, const void *data, size_t n, sto_meta_t **out)
{
    sto_put_opts_t o = {.content_type = "text/plain", .one_shot = true};
    sto_put_t *p;
    int rc = sto_put_begin(T_db, "bkt", key, &o, &p);
    if (rc < 0)
        return rc;
    if ((rc = sto_put_write(p, data, n)) < 0) {
        sto_put_abort(p);
        return rc;
    }
    return sto_put_commit(p, (int64_t)n, NULL, out);
}

Test(sto_oneshot, small_object_round_trips_inline)
{
    uint8_t d[5000];
    char want[33];
    t_fill(d, sizeof d, 3, 0);
    t_md5_hex(d, sizeof d, want);
    sto_meta_t *m = NULL;
    cr_assert_eq(put1("k", d, sizeof d, &m), 0);
    cr_expect_str_eq(m->etag, want);
    cr_expect_eq(m->n_chunks, 0, "the bytes are in the metadata");
    sto_meta_free(m);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 3, 1000), (ssize_t)sizeof d);
    sto_range_t r = {.kind = STO_RANGE_SPAN, .first = 100, .last = 4321};
    cr_expect_eq(t_get_check("bkt", "k", &r, 3, 7), 4222);
    cr_expect_eq(t_data_count(), 0);
}

Test(sto_oneshot, over_the_inline_limit_is_one_chunk)
{
    uint8_t d[STO__INLINE_MAX + 1];
    t_fill(d, sizeof d, 8, 0);
    sto_meta_t *m = NULL;
    cr_assert_eq(put1("k", d, sizeof d, &m), 0);
    cr_expect_eq(m->n_chunks, 1);
    sto_meta_free(m);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 8, 1000), (ssize_t)sizeof d);
    cr_expect_eq(t_data_count(), 1);
}

/* Flip one byte of the inline data inside the stored metadata record. */
static void corrupt_inline(const char *key)
{
    char mk[STO__MKEY_MAX], *err = NULL;
    size_t mkl = sto__mkey(mk, "bkt", key), vl = 0;
    char *v = rocksdb_get_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_META], mk,
                             mkl, &vl, &err);
    cr_assert(err == NULL && v != NULL);
    Cleo__Storage__ObjectMeta *m = cleo__storage__object_meta__unpack(
        NULL, vl - 1, (const uint8_t *)v + 1);
    cr_assert_not_null(m);
    cr_assert_gt(m->inline_data.len, 10);
    m->inline_data.data[10] ^= 0x40;
    char *enc = NULL;
    size_t el = 0;
    cr_assert_eq(sto__meta_encode(m, &enc, &el), 0);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(T_db->rdb, wo, T_db->cf[STO__CF_META], mk, mkl, enc, el,
                   &err);
    cr_assert(err == NULL);
    rocksdb_writeoptions_destroy(wo);
    free(enc);
    rocksdb_free(v);
    cleo__storage__object_meta__free_unpacked(m, NULL);
}

Test(sto_oneshot, corrupt_inline_data_fails_the_read_and_scrub_finds_it)
{
    uint8_t d[300];
    t_fill(d, sizeof d, 9, 0);
    cr_assert_eq(put1("k", d, sizeof d, NULL), 0);
    cr_assert_eq(put1("good", d, sizeof d, NULL), 0);
    corrupt_inline("k");
    sto_get_t *g = NULL;
    cr_assert_eq(sto_get_open(T_db, "bkt", "k", NULL, &g), 0);
    uint8_t b[400];
    cr_expect_eq(sto_get_read(g, b, sizeof b), STO_ECORRUPT,
                 "no byte of corrupt data is returned");
    sto_get_close(g);
    cr_expect_eq(t_get_check("bkt", "good", NULL, 9, 1000), (ssize_t)sizeof d);
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(T_db, NULL, NULL, &st), 0);
    cr_expect_eq(st.corrupt, 1);
    cr_expect_eq(st.chunks, 2);
}

Test(sto_oneshot, empty_and_exactly_one_chunk)
{
    uint8_t *d = malloc(T_CHUNK);
    t_fill(d, T_CHUNK, 4, 0);
    cr_assert_eq(put1("e", d, 0, NULL), 0);
    cr_assert_eq(put1("c", d, T_CHUNK, NULL), 0);
    free(d);
    cr_expect_eq(t_get_check("bkt", "c", NULL, 4, 7000), (ssize_t)T_CHUNK);
    /* the empty object has no chunk; T_CHUNK is over the inline limit */
    cr_expect_eq(t_data_count(), T_CHUNK > STO__INLINE_MAX ? 1 : 0);
}

Test(sto_oneshot, outgrowing_a_chunk_is_refused_and_leaves_nothing)
{
    uint8_t *d = malloc(T_CHUNK + 1);
    t_fill(d, T_CHUNK + 1, 5, 0);
    cr_assert_eq(put1("big", d, T_CHUNK + 1, NULL), CLEO_EINVAL);
    free(d);
    sto_meta_t *m = NULL;
    cr_expect_eq(sto_head(T_db, "bkt", "big", &m), CLEO_ENOTFOUND);
    cr_expect_eq(t_data_count(), 0);
}

Test(sto_oneshot, overwrite_frees_the_old_chunks)
{
    uint8_t d[100];
    t_fill(d, sizeof d, 6, 0);
    cr_assert_eq(put1("k", d, sizeof d, NULL), 0);
    cr_assert_eq(put1("k", d, 50, NULL), 0);
    cr_expect_eq(t_data_count(), 0); /* both inline */
    sto_bucket_info_t bi;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &bi), 0);
    cr_expect_eq(bi.objects, 1);
    cr_expect_eq(bi.bytes, 50);
}
