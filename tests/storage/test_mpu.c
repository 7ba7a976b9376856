/*
 * test_mpu.c - multipart uploads (storage/mpu.c, mpulist.c): complete
 * with reads across part borders, the S3 ETag, part replacement, every
 * error of complete, abort and expiry freeing chunks, listings with
 * pagination, delete of a multipart object, a crash in the middle of a
 * part, and part copy with a range. Parts are small: the minimum part
 * size is lowered to 100,000 bytes and chunks are 64 KiB, so each part
 * has chunks of several lengths.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "stot.c"

#define MIN_PART 100000u

/* TSan cannot run a forked child of a process with threads (RocksDB's
 * pool survives the close), so the crash test is skipped under it. */
#ifdef __SANITIZE_THREAD__
#define FORK_OK false
#else
#define FORK_OK true
#endif

static void setup(void)
{
    t_setup();
    sto_db_close(T_db);
    sto_opts_t o;
    t_opts(&o);
    o.mpu_min_part = MIN_PART;
    t_open_with(&o);
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
}

TestSuite(sto_mpu, .init = setup, .fini = t_teardown);

static void create(const char *key, char id[STO_UPLOAD_ID_LEN + 1])
{
    cr_assert_eq(sto_mpu_create(T_db, "bkt", key, NULL, T_NOW, id), 0);
    cr_assert_eq(strlen(id), STO_UPLOAD_ID_LEN);
}

/* Store part pn of bkt/key: len bytes of pattern s from object offset
 * off, in writes of 10,000 bytes. Returns the commit's result and the
 * part's etag in etag (if given). */
static int part(const char *key, const char *id, uint32_t pn, uint64_t off,
                size_t len, uint32_t s, char *etag)
{
    sto_put_t *p = NULL;
    int rc = sto_mpu_part_begin(T_db, "bkt", key, id, pn, &p);
    if (rc < 0)
        return rc;
    uint8_t *b = malloc(10000);
    for (size_t o = 0; o < len && rc == 0; o += 10000) {
        size_t n = len - o < 10000 ? len - o : 10000;
        t_fill(b, n, s, off + o);
        rc = sto_put_write(p, b, n);
    }
    free(b);
    if (rc < 0) {
        sto_put_abort(p);
        return rc;
    }
    sto_meta_t *m = NULL;
    if ((rc = sto_put_commit(p, (int64_t)len, NULL, &m)) < 0)
        return rc;
    cr_assert_eq(m->size, len);
    cr_assert_geq(m->last_modified_ms, T_NOW);
    if (etag != NULL)
        memcpy(etag, m->etag, 33);
    sto_meta_free(m);
    return 0;
}

/* The MD5 (raw) of len bytes of pattern s from offset off. */
static void part_md5(uint64_t off, size_t len, uint32_t s, uint8_t out[16])
{
    uint8_t *b = malloc(len + 1);
    t_fill(b, len, s, off);
    t_md5(b, len, out);
    free(b);
}

/* The S3 multipart ETag of n parts given as (offset, len) of pattern s,
 * computed independently of storage. */
static void s3_etag(const uint64_t *offs, const size_t *lens, size_t n,
                    uint32_t s, char out[64])
{
    uint8_t *cat = malloc(16 * n), d[16];
    for (size_t i = 0; i < n; i++)
        part_md5(offs[i], lens[i], s, cat + 16 * i);
    t_md5(cat, 16 * n, d);
    free(cat);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    snprintf(out + 32, 32, "-%zu", n);
}

/* An upload of key with three parts of the sizes given, pattern s laid
 * out continuously. Fills id and the etags. */
static void three_parts(const char *key, const size_t sz[3], uint32_t s,
                        char id[STO_UPLOAD_ID_LEN + 1], char etags[3][33])
{
    create(key, id);
    uint64_t off = 0;
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(part(key, id, i + 1, off, sz[i], s, etags[i]), 0);
        off += sz[i];
    }
}

static size_t upload_count(const char *prefix)
{
    sto_upload_list_t *l = NULL;
    sto_upload_list_opts_t o = {.prefix = prefix};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o, &l), 0);
    size_t n = l->n_uploads;
    sto_upload_list_free(l);
    return n;
}

Test(sto_mpu, complete_three_parts_reads_whole_and_ranges)
{
    const size_t sz[3] = {150000, 200000, 70001};
    const uint64_t offs[3] = {0, 150000, 350000};
    const uint64_t total = 420001;
    char id[STO_UPLOAD_ID_LEN + 1], et[3][33], want[64];
    sto_kv_t kv[] = {{"color", "red"}};
    sto_put_opts_t po = {
        .content_type = "text/x-test", .user_meta = kv, .n_user_meta = 1};
    cr_assert_eq(sto_mpu_create(T_db, "bkt", "big", &po, T_NOW, id), 0);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(part("big", id, i + 1, offs[i], sz[i], 5, et[i]), 0);
    /* Part puts are invisible until complete. */
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", "big", &m), CLEO_ENOTFOUND);
    sto_mpu_part_t ps[3] = {{1, et[0]}, {2, et[1]}, {3, et[2]}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "big", id, ps, 3, T_NOW + 5, &m),
                 0);
    s3_etag(offs, sz, 3, 5, want);
    cr_assert_str_eq(m->etag, want);
    cr_assert_eq(m->size, total);
    cr_assert_eq(m->last_modified_ms, T_NOW + 5);
    cr_assert_str_eq(m->content_type, "text/x-test");
    cr_assert_eq(m->n_user_meta, 1);
    cr_assert_str_eq(m->user_meta[0].value, "red");
    cr_assert_eq(m->n_chunks, 3 + 4 + 2); /* 64 KiB chunks, short lasts */
    sto_meta_free(m);
    cr_assert_eq(sto_head(T_db, "bkt", "big", &m), 0);
    cr_assert_str_eq(m->etag, want);
    sto_meta_free(m);

    cr_assert_eq(t_get_check("bkt", "big", NULL, 5, 7), (ssize_t)total);
    cr_assert_eq(t_get_check("bkt", "big", NULL, 5, 1 << 20), (ssize_t)total);
    const uint64_t spans[][2] = {
        {149990, 150010}, {149999, 149999}, {150000, 150000},
        {131000, 350001}, {349999, 350000}, {0, 420000},
        {196607, 196609}, {400000, 900000}, {65535, 65536}};
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        sto_range_t r = {STO_RANGE_SPAN, spans[i][0], spans[i][1], 0};
        uint64_t last = spans[i][1] < total ? spans[i][1] : total - 1;
        cr_assert_eq(t_get_check("bkt", "big", &r, 5, 4096),
                     (ssize_t)(last - spans[i][0] + 1), "span %zu", i);
    }
    sto_range_t from = {STO_RANGE_FROM, 349000, 0, 0};
    cr_assert_eq(t_get_check("bkt", "big", &from, 5, 1000), 71001);
    sto_range_t suf = {STO_RANGE_SUFFIX, 0, 0, 70002};
    cr_assert_eq(t_get_check("bkt", "big", &suf, 5, 333), 70002);
    sto_range_t bad = {STO_RANGE_SPAN, total, total + 5, 0};
    cr_assert_eq(t_get_check("bkt", "big", &bad, 5, 10), STO_ERANGE);

    /* Listed with its ETag, counted in the bucket, upload gone. */
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &(sto_list_opts_t){0}, &l), 0);
    cr_assert_eq(l->n_entries, 1);
    cr_assert_str_eq(l->entries[0].etag, want);
    sto_list_free(l);
    sto_bucket_info_t bi;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &bi), 0);
    cr_assert_eq(bi.objects, 1);
    cr_assert_eq(bi.bytes, total);
    cr_assert_eq(upload_count(NULL), 0);
    cr_assert_eq(t_data_count(), 9);
    sto_part_list_t *pl = NULL;
    cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "big", id, 0, 0, &pl),
                 STO_ENOUPLOAD);
    /* The object survives a restart with its chunks. */
    sto_db_close(T_db);
    sto_opts_t o;
    t_opts(&o);
    t_open_with(&o);
    cr_assert_eq(t_get_check("bkt", "big", NULL, 5, 65536), (ssize_t)total);
}

Test(sto_mpu, replacing_a_part_frees_the_old_one)
{
    char id[STO_UPLOAD_ID_LEN + 1], e1[33], e1b[33], e2[33];
    create("k", id);
    cr_assert_eq(part("k", id, 1, 0, 200000, 1, e1), 0); /* 4 chunks */
    cr_assert_eq(part("k", id, 2, 120000, 1000, 2, e2), 0);
    cr_assert_eq(t_data_count(), 5);
    cr_assert_eq(part("k", id, 1, 0, 120000, 2, e1b), 0); /* 2 chunks */
    cr_assert_eq(t_data_count(), 3);
    cr_assert_str_neq(e1, e1b);
    sto_part_list_t *pl = NULL;
    cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "k", id, 0, 0, &pl), 0);
    cr_assert_eq(pl->n_parts, 2);
    cr_assert_str_eq(pl->parts[0].etag, e1b);
    cr_assert_eq(pl->parts[0].size, 120000);
    sto_part_list_free(pl);
    /* The old ETag no longer names part 1. */
    sto_mpu_part_t old[2] = {{1, e1}, {2, e2}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, old, 2, T_NOW, NULL),
                 STO_EBADPART);
    sto_mpu_part_t ps[2] = {{1, e1b}, {2, e2}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, ps, 2, T_NOW, NULL), 0);
    cr_assert_eq(t_get_check("bkt", "k", NULL, 2, 9999), 121000);
}

Test(sto_mpu, complete_errors_change_nothing)
{
    const size_t sz[3] = {120000, 50000, 10};
    char id[STO_UPLOAD_ID_LEN + 1], et[3][33], q[40];
    three_parts("k", sz, 3, id, et);
    size_t chunks = t_data_count();
    sto_mpu_part_t wrong[2] = {{1, et[0]}, {2, et[0]}};
    sto_mpu_part_t missing[2] = {{1, et[0]}, {4, et[2]}};
    sto_mpu_part_t desc[2] = {{2, et[1]}, {1, et[0]}};
    sto_mpu_part_t dup[2] = {{1, et[0]}, {1, et[0]}};
    sto_mpu_part_t small[3] = {{1, et[0]}, {2, et[1]}, {3, et[2]}};
    sto_mpu_part_t zero[1] = {{0, et[0]}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, wrong, 2, T_NOW, NULL),
                 STO_EBADPART);
    cr_assert_eq(
        sto_mpu_complete(T_db, "bkt", "k", id, missing, 2, T_NOW, NULL),
        STO_EBADPART);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, zero, 1, T_NOW, NULL),
                 STO_EBADPART);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, desc, 2, T_NOW, NULL),
                 STO_EPARTORDER);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, dup, 2, T_NOW, NULL),
                 STO_EPARTORDER);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, small, 3, T_NOW, NULL),
                 STO_ETOOSMALL);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, small, 0, T_NOW, NULL),
                 CLEO_EINVAL);
    /* Nothing became visible and the upload is intact. */
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", "k", &m), CLEO_ENOTFOUND);
    cr_assert_eq(t_data_count(), chunks);
    cr_assert_eq(upload_count(""), 1);
    /* A small last part is fine, and quoted or upper-case ETags match. */
    snprintf(q, sizeof(q), "\"%s\"", et[0]);
    char up[33];
    for (int i = 0; i < 33; i++)
        up[i] = (char)(et[1][i] >= 'a' ? et[1][i] - 32 : et[1][i]);
    sto_mpu_part_t ok[2] = {{1, q}, {2, up}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, ok, 2, T_NOW, &m), 0);
    cr_assert_eq(m->size, 170000);
    cr_assert(strstr(m->etag, "-2") != NULL);
    sto_meta_free(m);
    cr_assert_eq(t_get_check("bkt", "k", NULL, 3, 65536), 170000);
}

Test(sto_mpu, unknown_upload_is_enoupload)
{
    char id[STO_UPLOAD_ID_LEN + 1], e[33];
    create("k", id);
    const char *bad = "0123456789abcdef0123456789abcdef";
    sto_put_t *p = NULL;
    sto_part_list_t *pl = NULL;
    sto_mpu_part_t ps[1] = {{1, "x"}};
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "k", bad, 1, &p),
                 STO_ENOUPLOAD);
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "other", id, 1, &p),
                 STO_ENOUPLOAD); /* the id belongs to another key */
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "k", "nope", 1, &p),
                 STO_ENOUPLOAD);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", bad, ps, 1, T_NOW, NULL),
                 STO_ENOUPLOAD);
    cr_assert_eq(sto_mpu_abort(T_db, "bkt", "k", bad), STO_ENOUPLOAD);
    cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "k", bad, 0, 0, &pl),
                 STO_ENOUPLOAD);
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "k", id, 0, &p), CLEO_EINVAL);
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "k", id, 10001, &p),
                 CLEO_EINVAL);
    cr_assert_eq(sto_mpu_create(T_db, "nobkt", "k", NULL, T_NOW, e),
                 STO_ENOBUCKET);
    cr_assert_eq(sto_mpu_create(T_db, "bkt", "", NULL, T_NOW, e), CLEO_EINVAL);
    cr_assert_eq(t_data_count(), 0);
}

Test(sto_mpu, abort_frees_chunks_and_fails_open_parts)
{
    char id[STO_UPLOAD_ID_LEN + 1], e[33];
    cr_assert_eq(t_put("bkt", "other", 100000, 1, 4096, NULL), 0);
    size_t base = t_data_count();
    create("k", id);
    cr_assert_eq(part("k", id, 1, 0, 300000, 1, e), 0);
    cr_assert_eq(part("k", id, 7, 0, 5, 1, e), 0);
    /* A part still being written when the upload is aborted. */
    sto_put_t *p = NULL;
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "k", id, 2, &p), 0);
    uint8_t b[70000];
    t_fill(b, sizeof(b), 4, 0);
    cr_assert_eq(sto_put_write(p, b, sizeof(b)), 0);
    cr_assert_gt(t_data_count(), base + 5);
    cr_assert_eq(sto_mpu_abort(T_db, "bkt", "k", id), 0);
    cr_assert_eq(sto_put_commit(p, -1, NULL, NULL), STO_ENOUPLOAD);
    cr_assert_eq(t_data_count(), base);
    cr_assert_eq(upload_count(NULL), 0);
    cr_assert_eq(sto_mpu_abort(T_db, "bkt", "k", id), STO_ENOUPLOAD);
    cr_assert_eq(t_get_check("bkt", "other", NULL, 1, 4096), 100000);
}

Test(sto_mpu, complete_frees_unlisted_parts_and_old_version)
{
    char id[STO_UPLOAD_ID_LEN + 1], e1[33], e2[33], e3[33];
    cr_assert_eq(t_put("bkt", "k", 300000, 9, 65536, NULL), 0); /* 5 chunks */
    create("k", id);
    cr_assert_eq(part("k", id, 1, 0, 130000, 6, e1), 0);      /* 2 chunks */
    cr_assert_eq(part("k", id, 2, 130000, 200000, 6, e2), 0); /* 4 chunks */
    cr_assert_eq(part("k", id, 3, 130000, 1000, 6, e3), 0);   /* 1 chunk */
    cr_assert_eq(t_data_count(), 12);
    sto_mpu_part_t ps[2] = {{1, e1}, {3, e3}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, ps, 2, T_NOW, NULL), 0);
    cr_assert_eq(t_data_count(), 3);
    cr_assert_eq(t_get_check("bkt", "k", NULL, 6, 65536), 131000);
    sto_bucket_info_t bi;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &bi), 0);
    cr_assert_eq(bi.objects, 1);
    cr_assert_eq(bi.bytes, 131000);
    /* A second complete of the same upload finds it gone. */
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, ps, 2, T_NOW, NULL),
                 STO_ENOUPLOAD);
}

Test(sto_mpu, delete_and_overwrite_free_every_chunk)
{
    const size_t sz[3] = {100000, 100000, 100000};
    char id[STO_UPLOAD_ID_LEN + 1], et[3][33];
    three_parts("a", sz, 1, id, et);
    sto_mpu_part_t ps[3] = {{1, et[0]}, {2, et[1]}, {3, et[2]}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "a", id, ps, 3, T_NOW, NULL), 0);
    three_parts("b", sz, 2, id, et);
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "b", id, ps, 3, T_NOW, NULL), 0);
    cr_assert_eq(t_data_count(), 12);
    cr_assert_eq(sto_delete(T_db, "bkt", "a", T_NOW), 0);
    cr_assert_eq(t_data_count(), 6);
    cr_assert_eq(t_put("bkt", "b", 10, 1, 10, NULL), 0);
    cr_assert_eq(t_data_count(), 1);
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(T_db, NULL, NULL, &st), 0);
    cr_assert_eq(st.chunks, 1);
    cr_assert_eq(st.corrupt, 0);
}

Test(sto_mpu, scrub_covers_parts_and_multipart_objects)
{
    const size_t sz[3] = {100000, 100000, 100000};
    char id[STO_UPLOAD_ID_LEN + 1], id2[STO_UPLOAD_ID_LEN + 1], et[3][33];
    three_parts("a", sz, 1, id, et);
    sto_mpu_part_t ps[3] = {{1, et[0]}, {2, et[1]}, {3, et[2]}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "a", id, ps, 3, T_NOW, NULL), 0);
    create("b", id2);
    cr_assert_eq(part("b", id2, 1, 0, 70000, 1, NULL), 0);
    /* Corrupt the first chunk of a's second part. */
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", "a", &m), 0);
    Cleo__Storage__ObjectMeta *pb = m->_pb;
    cr_assert_neq(pb->chunks[2]->id, pb->chunks[0]->id);
    char k[STO__DKEY_LEN], *err = NULL;
    sto__dkey(k, pb->chunks[2]->id, pb->chunks[2]->index);
    size_t vl;
    char *v = rocksdb_get_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_DATA], k,
                             sizeof(k), &vl, &err);
    cr_assert_null(err);
    v[STO__CHUNK_HDR + 10] ^= 1;
    rocksdb_put_cf(T_db->rdb, T_db->wo_sync, T_db->cf[STO__CF_DATA], k,
                   sizeof(k), v, vl, &err);
    cr_assert_null(err);
    rocksdb_free(v);
    sto_meta_free(m);
    sto_scrub_stats_t st;
    cr_assert_eq(sto_scrub(T_db, NULL, NULL, &st), 0);
    cr_assert_eq(st.chunks, 6 + 2);
    cr_assert_eq(st.corrupt, 1);
    /* Reads before the bad chunk succeed; the bad chunk is refused. */
    sto_range_t r = {STO_RANGE_SPAN, 0, 99999, 0};
    cr_assert_eq(t_get_check("bkt", "a", &r, 1, 4096), 100000);
    sto_range_t r2 = {STO_RANGE_SPAN, 100000, 100100, 0};
    cr_assert_eq(t_get_check("bkt", "a", &r2, 1, 4096), STO_ECORRUPT);
}

Test(sto_mpu, expiry_frees_stale_uploads)
{
    char old1[STO_UPLOAD_ID_LEN + 1], old2[STO_UPLOAD_ID_LEN + 1];
    char young[STO_UPLOAD_ID_LEN + 1];
    const uint64_t hour = 3600 * 1000;
    cr_assert_eq(sto_mpu_create(T_db, "bkt", "a", NULL, T_NOW, old1), 0);
    cr_assert_eq(sto_mpu_create(T_db, "bkt", "b", NULL, T_NOW + hour, old2), 0);
    cr_assert_eq(
        sto_mpu_create(T_db, "bkt", "c", NULL, T_NOW + 5 * hour, young), 0);
    cr_assert_eq(part("a", old1, 1, 0, 200000, 1, NULL), 0);
    cr_assert_eq(part("b", old2, 3, 0, 1000, 1, NULL), 0);
    cr_assert_eq(part("c", young, 1, 0, 70000, 1, NULL), 0);
    uint64_t n = 99;
    cr_assert_eq(sto_mpu_expire(T_db, T_NOW + 6 * hour, 24 * hour, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(sto_mpu_expire(T_db, T_NOW + 6 * hour, 5 * hour + 1, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(upload_count(NULL), 2);
    cr_assert_eq(t_data_count(), 3);
    /* sto_db_compact() expires with opts.mpu_ttl_ms. */
    sto_db_close(T_db);
    sto_opts_t o;
    t_opts(&o);
    o.mpu_ttl_ms = 2 * hour;
    t_open_with(&o);
    cr_assert_eq(sto_db_compact(T_db, T_NOW + 6 * hour), 0);
    cr_assert_eq(upload_count(NULL), 1);
    cr_assert_eq(t_data_count(), 2);
    sto_put_t *p = NULL;
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "b", old2, 1, &p),
                 STO_ENOUPLOAD);
    cr_assert_eq(sto_mpu_part_begin(T_db, "bkt", "c", young, 2, &p), 0);
    sto_put_abort(p);
}

Test(sto_mpu, list_parts_pages)
{
    char id[STO_UPLOAD_ID_LEN + 1], e[6][33];
    create("k", id);
    const uint32_t nums[5] = {1, 2, 5, 9, 10000};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(part("k", id, nums[i], 0, 100 + i, 1, e[i]), 0);
    sto_part_list_t *l = NULL;
    uint32_t marker = 0;
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "k", id, marker, 2, &l),
                     0);
        cr_assert_eq(l->initiated_ms, T_NOW);
        for (size_t i = 0; i < l->n_parts; i++, seen++) {
            cr_assert_eq(l->parts[i].part_number, nums[seen]);
            cr_assert_str_eq(l->parts[i].etag, e[seen]);
            cr_assert_eq(l->parts[i].size, 100 + (uint64_t)seen);
        }
        cr_assert_eq(l->is_truncated, page < 2);
        marker = l->next_part_marker;
        sto_part_list_free(l);
    }
    cr_assert_eq(seen, 5);
    cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "k", id, 5, 0, &l), 0);
    cr_assert_eq(l->n_parts, 2);
    cr_assert_eq(l->parts[0].part_number, 9);
    cr_assert_not(l->is_truncated);
    sto_part_list_free(l);
    cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "k", id, 10000, 0, &l), 0);
    cr_assert_eq(l->n_parts, 0);
    cr_assert_eq(l->next_part_marker, 0);
    sto_part_list_free(l);
}

Test(sto_mpu, list_uploads_pages_by_key_then_initiation)
{
    const char *keys[] = {"b", "a", "c/x", "a", "c/y", "a/", "d"};
    char ids[7][STO_UPLOAD_ID_LEN + 1];
    for (int i = 0; i < 7; i++)
        cr_assert_eq(
            sto_mpu_create(T_db, "bkt", keys[i], NULL, T_NOW + i, ids[i]), 0);
    /* Expected order: a (ids[1]), a (ids[3]), a/, b, c/x, c/y, d. */
    const int order[7] = {1, 3, 5, 0, 2, 4, 6};
    sto_upload_list_opts_t o = {.max_uploads = 3};
    sto_upload_list_t *l = NULL;
    int seen = 0;
    char km[64] = "", um[STO_UPLOAD_ID_LEN + 1] = "";
    for (int page = 0; page < 3; page++) {
        o.key_marker = km;
        o.upload_id_marker = um;
        cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o, &l), 0);
        for (size_t i = 0; i < l->n_uploads; i++, seen++) {
            int w = order[seen];
            cr_assert_str_eq(l->uploads[i].key, keys[w], "at %d", seen);
            cr_assert_str_eq(l->uploads[i].upload_id, ids[w]);
            cr_assert_eq(l->uploads[i].initiated_ms, T_NOW + (uint64_t)w);
        }
        cr_assert_eq(l->is_truncated, page < 2);
        snprintf(km, sizeof(km), "%s", l->next_key_marker);
        memcpy(um, l->next_upload_id_marker, sizeof(um));
        sto_upload_list_free(l);
    }
    cr_assert_eq(seen, 7);
    /* key_marker alone: keys after it. */
    sto_upload_list_opts_t o2 = {.key_marker = "a"};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o2, &l), 0);
    cr_assert_eq(l->n_uploads, 5);
    cr_assert_str_eq(l->uploads[0].key, "a/");
    sto_upload_list_free(l);
    /* With an upload id marker: the rest of that key's uploads too. */
    sto_upload_list_opts_t o3 = {.key_marker = "a", .upload_id_marker = ids[1]};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o3, &l), 0);
    cr_assert_eq(l->n_uploads, 6);
    cr_assert_str_eq(l->uploads[0].upload_id, ids[3]);
    sto_upload_list_free(l);
    /* Prefixes, alone and with a marker inside them. */
    sto_upload_list_opts_t o4 = {.prefix = "c/"};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o4, &l), 0);
    cr_assert_eq(l->n_uploads, 2);
    cr_assert_not(l->is_truncated);
    sto_upload_list_free(l);
    sto_upload_list_opts_t o5 = {.prefix = "c/", .key_marker = "c/x"};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o5, &l), 0);
    cr_assert_eq(l->n_uploads, 1);
    cr_assert_str_eq(l->uploads[0].key, "c/y");
    sto_upload_list_free(l);
    sto_upload_list_opts_t o6 = {
        .prefix = "a", .key_marker = "a", .upload_id_marker = ids[1]};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o6, &l), 0);
    cr_assert_eq(l->n_uploads, 2); /* a (ids[3]), a/ */
    sto_upload_list_free(l);
    /* Markers that are not ids compare as strings. */
    sto_upload_list_opts_t o7 = {.key_marker = "a", .upload_id_marker = "0"};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o7, &l), 0);
    cr_assert_eq(l->n_uploads, 7);
    sto_upload_list_free(l);
    char longer[40];
    snprintf(longer, sizeof(longer), "%sx", ids[1]);
    sto_upload_list_opts_t o8 = {.key_marker = "a", .upload_id_marker = longer};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o8, &l), 0);
    cr_assert_eq(l->n_uploads, 6);
    cr_assert_str_eq(l->uploads[0].upload_id, ids[3]);
    sto_upload_list_free(l);
    sto_upload_list_opts_t o9 = {.key_marker = "a", .upload_id_marker = "g"};
    cr_assert_eq(sto_mpu_list_uploads(T_db, "bkt", &o9, &l), 0);
    cr_assert_eq(l->n_uploads, 5);
    sto_upload_list_free(l);
    cr_assert_eq(sto_mpu_list_uploads(T_db, "nobkt", NULL, &l), STO_ENOBUCKET);
    /* Uploads are not objects. */
    sto_list_t *ol = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &(sto_list_opts_t){0}, &ol), 0);
    cr_assert_eq(ol->n_entries, 0);
    sto_list_free(ol);
}

/* In a child process: begin a part, write three chunks, die. */
static void crash_in_part(const char *id)
{
    sto_db_close(T_db);
    T_db = NULL;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        sto_opts_t o;
        t_opts(&o);
        sto_db_t *db = NULL;
        sto_put_t *p = NULL;
        uint8_t b[T_CHUNK];
        t_fill(b, sizeof(b), 8, 0);
        if (sto_db_open(T_path, &o, &db) < 0 ||
            sto_mpu_part_begin(db, "bkt", "k", id, 2, &p) < 0)
            _exit(1);
        for (int i = 0; i < 3; i++)
            if (sto_put_write(p, b, sizeof(b)) < 0)
                _exit(1);
        raise(SIGKILL);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

Test(sto_mpu, crash_mid_part_is_swept_at_reopen)
{
    if (!FORK_OK)
        cr_skip_test("fork under ThreadSanitizer");
    char id[STO_UPLOAD_ID_LEN + 1], e1[33];
    create("k", id);
    cr_assert_eq(part("k", id, 1, 0, 100000, 1, e1), 0);
    cr_assert_eq(t_data_count(), 2);
    crash_in_part(id);
    sto_opts_t o;
    t_opts(&o);
    o.mpu_min_part = MIN_PART;
    t_open_with(&o);
    cr_assert_eq(t_data_count(), 2); /* the interrupted part's are gone */
    sto_part_list_t *l = NULL;
    cr_assert_eq(sto_mpu_list_parts(T_db, "bkt", "k", id, 0, 0, &l), 0);
    cr_assert_eq(l->n_parts, 1);
    sto_part_list_free(l);
    sto_mpu_part_t ps[1] = {{1, e1}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, ps, 1, T_NOW, NULL), 0);
    cr_assert_eq(t_get_check("bkt", "k", NULL, 1, 4096), 100000);
}

Test(sto_mpu, part_copy_with_range)
{
    char id[STO_UPLOAD_ID_LEN + 1], e2[33];
    cr_assert_eq(t_put("bkt", "src", 400000, 4, 65536, NULL), 0);
    create("dst", id);
    sto_part_info_t pi;
    sto_range_t r = {STO_RANGE_SPAN, 0, 149999, 0};
    cr_assert_eq(
        sto_mpu_part_copy(T_db, "bkt", "dst", id, 1, "bkt", "src", &r, &pi), 0);
    cr_assert_eq(pi.part_number, 1);
    cr_assert_eq(pi.size, 150000);
    uint8_t d[16];
    char hex[33];
    part_md5(0, 150000, 4, d);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    cr_assert_str_eq(pi.etag, hex);
    /* Part 2 is an ordinary part continuing the pattern; part 3 a copy of
     * the source's tail. */
    cr_assert_eq(part("dst", id, 2, 150000, 100000, 4, e2), 0);
    sto_part_info_t p3;
    sto_range_t r3 = {STO_RANGE_SPAN, 250000, 399999, 0};
    cr_assert_eq(
        sto_mpu_part_copy(T_db, "bkt", "dst", id, 3, "bkt", "src", &r3, &p3),
        0);
    /* Errors: a range past the source, a missing source, a bad upload. */
    sto_range_t past = {STO_RANGE_SPAN, 399000, 400000, 0};
    cr_assert_eq(
        sto_mpu_part_copy(T_db, "bkt", "dst", id, 4, "bkt", "src", &past, NULL),
        STO_ERANGE);
    cr_assert_eq(
        sto_mpu_part_copy(T_db, "bkt", "dst", id, 4, "bkt", "none", NULL, NULL),
        CLEO_ENOTFOUND);
    cr_assert_eq(sto_mpu_part_copy(T_db, "bkt", "dst",
                                   "0123456789abcdef0123456789abcdef", 4, "bkt",
                                   "src", NULL, NULL),
                 STO_ENOUPLOAD);
    sto_mpu_part_t ps[3] = {{1, pi.etag}, {2, e2}, {3, p3.etag}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "dst", id, ps, 3, T_NOW, NULL),
                 0);
    cr_assert_eq(t_get_check("bkt", "dst", NULL, 4, 7777), 400000);
    /* A whole-object copy as a single part. */
    create("dst2", id);
    cr_assert_eq(
        sto_mpu_part_copy(T_db, "bkt", "dst2", id, 1, "bkt", "src", NULL, &pi),
        0);
    sto_mpu_part_t one[1] = {{1, pi.etag}};
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "dst2", id, one, 1, T_NOW, NULL),
                 0);
    cr_assert_eq(t_get_check("bkt", "dst2", NULL, 4, 65536), 400000);
}

Test(sto_mpu, bucket_delete_aborts_its_uploads)
{
    char id[STO_UPLOAD_ID_LEN + 1], id2[STO_UPLOAD_ID_LEN + 1];
    cr_assert_eq(sto_bucket_create(T_db, "keep", "o", T_NOW), 0);
    cr_assert_eq(sto_mpu_create(T_db, "keep", "k", NULL, T_NOW, id2), 0);
    sto_put_t *p = NULL;
    cr_assert_eq(sto_mpu_part_begin(T_db, "keep", "k", id2, 1, &p), 0);
    uint8_t b[1000];
    t_fill(b, sizeof(b), 1, 0);
    cr_assert_eq(sto_put_write(p, b, sizeof(b)), 0);
    cr_assert_eq(sto_put_commit(p, -1, NULL, NULL), 0);
    create("k", id);
    cr_assert_eq(part("k", id, 1, 0, 200000, 1, NULL), 0);
    cr_assert_eq(part("k", id, 2, 0, 10, 1, NULL), 0);
    create("k2", id);
    cr_assert_eq(t_data_count(), 1 + 4 + 1);
    cr_assert_eq(sto_bucket_delete(T_db, "bkt"), 0);
    cr_assert_eq(t_data_count(), 1); /* only the other bucket's part */
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
    cr_assert_eq(upload_count(NULL), 0);
    sto_upload_list_t *l = NULL;
    cr_assert_eq(sto_mpu_list_uploads(T_db, "keep", NULL, &l), 0);
    cr_assert_eq(l->n_uploads, 1);
    sto_upload_list_free(l);
}

/* Concurrent part puts of one upload, and a part put racing the
 * complete: afterwards every chunk in the data CF belongs to the object
 * (nothing leaked, nothing half-published). */
#define NPAR 8

typedef struct {
    const char *id;
    uint32_t pn;
    int rounds;
    char etag[33];
    int last_rc;
} racer_t;

static void *racer(void *arg)
{
    racer_t *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        r->last_rc = part("k", r->id, r->pn, (r->pn - 1) * 100000ull, 100000, 3,
                          r->etag);
        if (r->last_rc < 0)
            break;
    }
    return NULL;
}

Test(sto_mpu, concurrent_parts_and_a_racing_complete)
{
    char id[STO_UPLOAD_ID_LEN + 1];
    create("k", id);
    racer_t rs[NPAR + 1];
    pthread_t th[NPAR + 1];
    for (int i = 0; i < NPAR; i++) {
        rs[i] = (racer_t){.id = id, .pn = (uint32_t)i + 1, .rounds = 3};
        cr_assert_eq(pthread_create(&th[i], NULL, racer, &rs[i]), 0);
    }
    for (int i = 0; i < NPAR; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(rs[i].last_rc, 0);
    }
    cr_assert_eq(t_data_count(), NPAR * 2);
    /* A part put keeps committing while the upload completes. */
    rs[NPAR] = (racer_t){.id = id, .pn = NPAR + 1, .rounds = 1000};
    cr_assert_eq(pthread_create(&th[NPAR], NULL, racer, &rs[NPAR]), 0);
    sto_mpu_part_t ps[NPAR];
    for (int i = 0; i < NPAR; i++)
        ps[i] = (sto_mpu_part_t){(uint32_t)i + 1, rs[i].etag};
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_mpu_complete(T_db, "bkt", "k", id, ps, NPAR, T_NOW, &m),
                 0);
    cr_assert_eq(pthread_join(th[NPAR], NULL), 0);
    cr_assert_eq(rs[NPAR].last_rc, STO_ENOUPLOAD);
    cr_assert_eq(m->n_chunks, NPAR * 2);
    sto_meta_free(m);
    cr_assert_eq(t_data_count(), NPAR * 2);
    cr_assert_eq(t_get_check("bkt", "k", NULL, 3, 65536),
                 (ssize_t)(NPAR * 100000));
}
