/*
 * test_copy.c - sto_copy() (storage/copy.c): bytes, ETag and metadata
 * copied or replaced, copy onto itself, chunk borders, the old version's
 * chunks freed, and errors (missing source or bucket, a corrupt source
 * chunk) leaving nothing visible.
 */
#include "stot.c"

static void setup(void)
{
    t_setup();
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
    cr_assert_eq(sto_bucket_create(T_db, "dst", "o", T_NOW), 0);
}

TestSuite(sto_copy, .init = setup, .fini = t_teardown);

/* Put n bytes of pattern s with metadata. */
static void put_meta(const char *key, size_t n, uint32_t s, char etag[33])
{
    sto_kv_t kv[] = {{"color", "red"}};
    sto_put_opts_t o = {.content_type = "text/plain",
                        .cache_control = "max-age=1",
                        .user_meta = kv,
                        .n_user_meta = 1,
                        .now_ms = T_NOW};
    sto_put_t *p;
    cr_assert_eq(sto_put_begin(T_db, "bkt", key, &o, &p), 0);
    uint8_t *b = malloc(n ? n : 1);
    t_fill(b, n, s, 0);
    cr_assert_eq(sto_put_write(p, b, n), 0);
    free(b);
    sto_meta_t *m;
    cr_assert_eq(sto_put_commit(p, (int64_t)n, NULL, &m), 0);
    memcpy(etag, m->etag, 33);
    sto_meta_free(m);
}

Test(sto_copy, bytes_etag_and_metadata_are_copied)
{
    size_t sizes[] = {0, 1, T_CHUNK, T_CHUNK + 1, 3 * T_CHUNK + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char etag[33], key[16];
        snprintf(key, sizeof key, "k%zu", i);
        put_meta(key, sizes[i], (uint32_t)i, etag);
        sto_meta_t *m;
        cr_assert_eq(sto_copy(T_db, "bkt", key, "dst", key, NULL, &m), 0);
        cr_assert_str_eq(m->etag, etag);
        cr_assert_eq(m->size, sizes[i]);
        cr_assert_str_eq(m->content_type, "text/plain");
        cr_assert_str_eq(m->cache_control, "max-age=1");
        cr_assert_eq(m->n_user_meta, 1);
        cr_assert_str_eq(m->user_meta[0].value, "red");
        cr_assert_gt(m->last_modified_ms, T_NOW);
        sto_meta_free(m);
        cr_assert_eq(t_get_check("dst", key, NULL, (uint32_t)i, 10000),
                     (ssize_t)sizes[i]);
    }
}

Test(sto_copy, replace_takes_the_new_metadata)
{
    char etag[33];
    put_meta("k", 2 * T_CHUNK + 3, 4, etag);
    sto_kv_t kv[] = {{"shape", "round"}, {"size", "xl"}};
    sto_put_opts_t o = {
        .content_type = "image/png", .user_meta = kv, .n_user_meta = 2};
    sto_meta_t *m;
    cr_assert_eq(sto_copy(T_db, "bkt", "k", "dst", "k2", &o, &m), 0);
    cr_assert_str_eq(m->etag, etag);
    cr_assert_str_eq(m->content_type, "image/png");
    cr_assert_str_eq(m->cache_control, "");
    cr_assert_eq(m->n_user_meta, 2);
    cr_assert_str_eq(m->user_meta[0].key, "shape");
    sto_meta_free(m);
    t_get_check("dst", "k2", NULL, 4, 7777);
}

Test(sto_copy, onto_itself_keeps_the_bytes_and_frees_the_old_chunks)
{
    char etag[33];
    put_meta("k", 3 * T_CHUNK, 5, etag);
    size_t before = t_data_count();
    sto_put_opts_t o = {.content_type = "application/json"};
    sto_meta_t *m;
    cr_assert_eq(sto_copy(T_db, "bkt", "k", "bkt", "k", &o, &m), 0);
    cr_assert_str_eq(m->etag, etag);
    sto_meta_free(m);
    cr_assert_eq(t_get_check("bkt", "k", NULL, 5, 4096), 3 * T_CHUNK);
    cr_assert_eq(t_data_count(), before);
    sto_bucket_info_t du;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &du), 0);
    cr_assert_eq(du.objects, 1);
    cr_assert_eq(du.bytes, 3 * T_CHUNK);
}

Test(sto_copy, errors_leave_nothing)
{
    char etag[33];
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_copy(T_db, "bkt", "missing", "dst", "k", NULL, &m),
                 CLEO_ENOTFOUND);
    cr_assert_eq(sto_copy(T_db, "nobkt", "k", "dst", "k", NULL, &m),
                 STO_ENOBUCKET);
    put_meta("k", 2 * T_CHUNK, 6, etag);
    cr_assert_eq(sto_copy(T_db, "bkt", "k", "nobkt", "k", NULL, &m),
                 STO_ENOBUCKET);
    cr_assert_eq(sto_copy(T_db, "bkt", "k", "dst", "", NULL, &m), CLEO_EINVAL);
    size_t before = t_data_count();
    /* Corrupt the source's second chunk. */
    cr_assert_eq(sto_head(T_db, "bkt", "k", &m), 0);
    const Cleo__Storage__ObjectMeta *pb = m->_pb;
    char k[STO__DKEY_LEN], *err = NULL;
    sto__dkey(k, pb->chunks[1]->id, pb->chunks[1]->index);
    sto_meta_free(m);
    size_t vl;
    char *v = rocksdb_get_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_DATA], k,
                             sizeof k, &vl, &err);
    cr_assert_not_null(v);
    v[STO__CHUNK_HDR + 10] ^= 1;
    rocksdb_put_cf(T_db->rdb, T_db->wo_sync, T_db->cf[STO__CF_DATA], k,
                   sizeof k, v, vl, &err);
    cr_assert_null(err);
    rocksdb_free(v);
    cr_assert_eq(sto_copy(T_db, "bkt", "k", "dst", "k", NULL, &m),
                 STO_ECORRUPT);
    cr_assert_eq(sto_head(T_db, "dst", "k", &m), CLEO_ENOTFOUND);
    cr_assert_eq(t_data_count(), before);
}
