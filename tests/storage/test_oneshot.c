/*
 * test_oneshot.c - one-shot puts (sto_put_opts_t.one_shot): the whole
 * object in one synced batch with its metadata, no crash record; an
 * object that outgrows a chunk is refused and leaves nothing behind.
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

Test(sto_oneshot, small_object_round_trips_with_one_chunk)
{
    uint8_t d[5000];
    char want[33];
    t_fill(d, sizeof d, 3, 0);
    t_md5_hex(d, sizeof d, want);
    sto_meta_t *m = NULL;
    cr_assert_eq(put1("k", d, sizeof d, &m), 0);
    cr_expect_str_eq(m->etag, want);
    cr_expect_eq(m->n_chunks, 1);
    sto_meta_free(m);
    cr_expect_eq(t_get_check("bkt", "k", NULL, 3, 1000), (ssize_t)sizeof d);
    cr_expect_eq(t_data_count(), 1);
}

Test(sto_oneshot, empty_and_exactly_one_chunk)
{
    uint8_t *d = malloc(T_CHUNK);
    t_fill(d, T_CHUNK, 4, 0);
    cr_assert_eq(put1("e", d, 0, NULL), 0);
    cr_assert_eq(put1("c", d, T_CHUNK, NULL), 0);
    free(d);
    cr_expect_eq(t_get_check("bkt", "c", NULL, 4, 7000), (ssize_t)T_CHUNK);
    cr_expect_eq(t_data_count(), 1); /* the empty object has no chunk */
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
    cr_expect_eq(t_data_count(), 1);
    sto_bucket_info_t bi;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &bi), 0);
    cr_expect_eq(bi.objects, 1);
    cr_expect_eq(bi.bytes, 50);
}
