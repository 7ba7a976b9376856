/*
 * test_put.c - streaming puts: sizes around the chunk size, metadata,
 * verification, overwrite, delete, bad input and concurrent commits.
 */
#include <pthread.h>

#include "stot.c"

static void setup(void)
{
    t_setup();
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
}

TestSuite(sto_put, .init = setup, .fini = t_teardown);

static void round_trip(size_t n, size_t step)
{
    char etag[33], want[33];
    uint8_t *all = malloc(n + 1);
    t_fill(all, n, 9, 0);
    t_md5_hex(all, n, want);
    free(all);
    cr_assert_eq(t_put("bkt", "obj", n, 9, step, etag), 0);
    cr_expect_str_eq(etag, want);
    cr_expect_eq(t_get_check("bkt", "obj", NULL, 9, 7000), (ssize_t)n);
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", "obj", &m), 0);
    cr_expect_eq(m->size, n);
    cr_expect_str_eq(m->etag, want);
    cr_expect_eq(m->n_chunks, (n + T_CHUNK - 1) / T_CHUNK);
    sto_meta_free(m);
    cr_expect_eq(t_data_count(), (n + T_CHUNK - 1) / T_CHUNK);
}

Test(sto_put, empty_object)
{
    round_trip(0, 1);
    cr_expect_eq(t_put("bkt", "obj", 0, 9, 1, NULL), 0);
}

Test(sto_put, one_byte)
{
    round_trip(1, 1);
}
Test(sto_put, exactly_one_chunk)
{
    round_trip(T_CHUNK, T_CHUNK);
}
Test(sto_put, chunk_plus_one)
{
    round_trip(T_CHUNK + 1, 1000);
}
Test(sto_put, chunk_minus_one)
{
    round_trip(T_CHUNK - 1, 3333);
}
Test(sto_put, many_chunks_big_writes)
{
    round_trip(5 * T_CHUNK + 17, 200000);
}

Test(sto_put, metadata_round_trips)
{
    sto_kv_t um[] = {{"color", "blue"}, {"x", ""}};
    sto_put_opts_t o = {.content_type = "text/plain",
                        .content_encoding = "gzip",
                        .cache_control = "no-cache",
                        .user_meta = um,
                        .n_user_meta = 2,
                        .now_ms = T_NOW + 5};
    sto_put_t *p = NULL;
    cr_assert_eq(sto_put_begin(T_db, "bkt", "k", &o, &p), 0);
    cr_assert_eq(sto_put_write(p, "hello", 5), 0);
    uint8_t md5[16];
    t_md5("hello", 5, md5);
    sto_meta_t *c = NULL;
    cr_assert_eq(sto_put_commit(p, 5, md5, &c), 0);
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", "k", &m), 0);
    cr_expect_str_eq(m->etag, "5d41402abc4b2a76b9719d911017c592");
    cr_expect_str_eq(m->content_type, "text/plain");
    cr_expect_str_eq(m->content_encoding, "gzip");
    cr_expect_str_eq(m->cache_control, "no-cache");
    cr_expect_str_eq(m->bucket, "bkt");
    cr_expect_str_eq(m->key, "k");
    cr_assert_eq(m->n_user_meta, 2);
    cr_expect_str_eq(m->user_meta[0].key, "color");
    cr_expect_str_eq(m->user_meta[0].value, "blue");
    cr_expect_str_eq(m->user_meta[1].key, "x");
    cr_expect_eq(m->last_modified_ms, T_NOW + 5);
    cr_expect_eq(m->clock, c->clock);
    cr_expect_eq(m->chunk_size, T_CHUNK);
    sto_meta_free(m);
    sto_meta_free(c);
}

Test(sto_put, wrong_size_or_md5_leaves_nothing)
{
    uint8_t md5[16] = {0};
    const int64_t sizes[] = {3, 4};
    const uint8_t *md5s[] = {NULL, md5};
    for (int i = 0; i < 2; i++) {
        sto_put_t *p = NULL;
        cr_assert_eq(sto_put_begin(T_db, "bkt", "k", NULL, &p), 0);
        uint8_t big[T_CHUNK + 10] = {0};
        cr_assert_eq(sto_put_write(p, big, sizeof(big)), 0);
        int64_t sz = i == 0 ? sizes[0] : (int64_t)sizeof(big);
        cr_expect_eq(sto_put_commit(p, sz, md5s[i], NULL), CLEO_EBADREQ);
        sto_meta_t *m = NULL;
        cr_expect_eq(sto_head(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
        cr_expect_eq(t_data_count(), 0, "temporary chunks freed");
    }
    sto_bucket_info_t i;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_eq(i.objects, 0);
}

Test(sto_put, failed_commit_keeps_old_version)
{
    char etag[33];
    cr_assert_eq(t_put("bkt", "k", 3 * T_CHUNK, 4, 50000, etag), 0);
    sto_put_t *p = NULL;
    cr_assert_eq(sto_put_begin(T_db, "bkt", "k", NULL, &p), 0);
    cr_assert_eq(sto_put_write(p, "xy", 2), 0);
    cr_expect_eq(sto_put_commit(p, 3, NULL, NULL), CLEO_EBADREQ);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 4, 65536), 3 * T_CHUNK);
    cr_expect_eq(t_data_count(), 3);
}

Test(sto_put, abort_frees_chunks)
{
    sto_put_t *p = NULL;
    cr_assert_eq(sto_put_begin(T_db, "bkt", "k", NULL, &p), 0);
    uint8_t *b = calloc(1, 3 * T_CHUNK);
    cr_assert_eq(sto_put_write(p, b, 3 * T_CHUNK), 0);
    free(b);
    cr_expect_eq(t_data_count(), 3);
    sto_put_abort(p);
    cr_expect_eq(t_data_count(), 0);
    sto_put_abort(NULL);
    sto_meta_t *m = NULL;
    cr_expect_eq(sto_head(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
}

Test(sto_put, overwrite_frees_old_chunks)
{
    cr_assert_eq(t_put("bkt", "k", 4 * T_CHUNK, 1, 65536, NULL), 0);
    cr_expect_eq(t_data_count(), 4);
    cr_assert_eq(t_put("bkt", "k", T_CHUNK + 1, 2, 65536, NULL), 0);
    cr_expect_eq(t_data_count(), 2);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 2, 65536), T_CHUNK + 1);
    cr_assert_eq(t_put("bkt", "k", 0, 3, 1, NULL), 0);
    cr_expect_eq(t_data_count(), 0);
}

Test(sto_put, delete_then_get_is_enotfound)
{
    cr_assert_eq(t_put("bkt", "k", 2 * T_CHUNK, 1, 65536, NULL), 0);
    cr_assert_eq(sto_delete(T_db, "bkt", "k", T_NOW), 0);
    cr_expect_eq(t_data_count(), 0);
    sto_get_t *g = NULL;
    cr_expect_eq(sto_get_open(T_db, "bkt", "k", NULL, &g), CLEO_ENOTFOUND);
    sto_meta_t *m = NULL;
    cr_expect_eq(sto_head(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
    cr_expect_eq(sto_delete(T_db, "bkt", "k", T_NOW), CLEO_ENOTFOUND);
    cr_expect_eq(sto_delete(T_db, "bkt", "never", T_NOW), CLEO_ENOTFOUND);
    /* A put over a tombstone revives the key with a newer clock. */
    cr_assert_eq(t_put("bkt", "k", 5, 6, 5, NULL), 0);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 6, 16), 5);
}

Test(sto_put, bad_keys_are_einval)
{
    char longk[1026];
    memset(longk, 'k', 1025);
    longk[1025] = '\0';
    const char *bad[] = {"", longk, "\xff\xfe", "a\xc3"};
    for (int i = 0; i < 4; i++) {
        sto_put_t *p = NULL;
        cr_expect_eq(sto_put_begin(T_db, "bkt", bad[i], NULL, &p), CLEO_EINVAL,
                     "case %d", i);
        sto_get_t *g = NULL;
        cr_expect_eq(sto_get_open(T_db, "bkt", bad[i], NULL, &g), CLEO_EINVAL);
        cr_expect_eq(sto_delete(T_db, "bkt", bad[i], T_NOW), CLEO_EINVAL);
    }
    longk[1024] = '\0';
    cr_expect_eq(t_put("bkt", longk, 3, 1, 3, NULL), 0);
}

Test(sto_put, missing_bucket_is_enobucket)
{
    sto_put_t *p = NULL;
    cr_expect_eq(sto_put_begin(T_db, "nobkt", "k", NULL, &p), STO_ENOBUCKET);
    cr_expect_eq(sto_put_begin(T_db, "BAD_", "k", NULL, &p), STO_ENOBUCKET);
    sto_get_t *g = NULL;
    cr_expect_eq(sto_get_open(T_db, "nobkt", "k", NULL, &g), STO_ENOBUCKET);
    sto_list_opts_t lo = {0};
    sto_list_t *l = NULL;
    cr_expect_eq(sto_list(T_db, "nobkt", &lo, &l), STO_ENOBUCKET);
}

Test(sto_put, bucket_deleted_before_commit)
{
    sto_put_t *p = NULL;
    cr_assert_eq(sto_bucket_create(T_db, "tmp", NULL, T_NOW), 0);
    cr_assert_eq(sto_put_begin(T_db, "tmp", "k", NULL, &p), 0);
    cr_assert_eq(sto_put_write(p, "abc", 3), 0);
    cr_assert_eq(sto_bucket_delete(T_db, "tmp"), 0);
    cr_expect_eq(sto_put_commit(p, 3, NULL, NULL), STO_ENOBUCKET);
    cr_expect_eq(t_data_count(), 0);
}

Test(sto_put, clock_grows_across_reopen)
{
    sto_meta_t *a = NULL, *b = NULL;
    cr_assert_eq(t_put("bkt", "k", 1, 1, 1, NULL), 0);
    cr_assert_eq(sto_head(T_db, "bkt", "k", &a), 0);
    t_reopen();
    cr_assert_eq(t_put("bkt", "k", 1, 1, 1, NULL), 0);
    cr_assert_eq(sto_head(T_db, "bkt", "k", &b), 0);
    cr_expect_gt(b->clock, a->clock);
    sto_meta_free(a);
    sto_meta_free(b);
}

#define NTHR 8
#define NPUT 40

static void *writer(void *arg)
{
    intptr_t t = (intptr_t)arg;
    char key[32];
    for (int i = 0; i < NPUT; i++) {
        /* Half the writes race on shared keys, half on private ones. */
        if (i % 2)
            snprintf(key, sizeof(key), "shared-%d", i % 5);
        else
            snprintf(key, sizeof(key), "t%d-%d", (int)t, i);
        cr_assert_eq(t_put("bkt", key, (size_t)(i % 3) * T_CHUNK / 2 + 1,
                           (uint32_t)t, 30000, NULL),
                     0);
    }
    return NULL;
}

Test(sto_put, concurrent_commits_keep_stats_exact)
{
    pthread_t th[NTHR];
    for (intptr_t t = 0; t < NTHR; t++)
        pthread_create(&th[t], NULL, writer, (void *)t);
    for (int t = 0; t < NTHR; t++)
        pthread_join(th[t], NULL);
    /* Recount from a listing and compare with du. */
    sto_list_opts_t lo = {.max_keys = 100000};
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &lo, &l), 0);
    uint64_t bytes = 0, chunks = 0;
    for (size_t i = 0; i < l->n_entries; i++) {
        bytes += l->entries[i].size;
        chunks += (l->entries[i].size + T_CHUNK - 1) / T_CHUNK;
    }
    sto_bucket_info_t info;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &info), 0);
    cr_expect_eq(info.objects, l->n_entries);
    cr_expect_eq(info.objects, NTHR * NPUT / 2 + 5);
    cr_expect_eq(info.bytes, bytes);
    cr_expect_eq(t_data_count(), chunks, "no leaked or lost chunks");
    sto_list_free(l);
}
