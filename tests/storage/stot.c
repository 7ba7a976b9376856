/*
 * stot.c - helpers for the storage tests, #included by each
 * tests/storage/test_*.c: a temporary database per test (Criterion forks
 * one process per test; .init opens, .fini closes and removes it), a
 * deterministic data pattern, and whole-object put/get helpers.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "storage/db.h"
#include "storage/sto.h"

#define T_CHUNK ((size_t)64 << 10) /* small chunks keep tests fast */
#define T_NOW 1700000000000ULL     /* a fixed wall clock for tests */

static char T_dir[64];
static char T_path[96];
static sto_db_t *T_db;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void t_rmrf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static __attribute__((unused)) void t_opts(sto_opts_t *o)
{
    sto_opts_init(o);
    o->chunk_size = T_CHUNK;
    o->cache_bytes = 8 << 20;
}

static __attribute__((unused)) void t_open_with(const sto_opts_t *o)
{
    cr_assert_eq(sto_db_open(T_path, o, &T_db), 0);
}

static __attribute__((unused)) void t_reopen(void)
{
    sto_opts_t o;
    t_opts(&o);
    sto_db_close(T_db);
    T_db = NULL;
    t_open_with(&o);
}

/* .init: a fresh directory and database with 64 KiB chunks. */
static __attribute__((unused)) void t_setup(void)
{
    snprintf(T_dir, sizeof(T_dir), "/tmp/cleo-sto-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof(T_path), "%s/storage", T_dir);
    sto_opts_t o;
    t_opts(&o);
    t_open_with(&o);
}

/* .fini: close and remove everything. */
static __attribute__((unused)) void t_teardown(void)
{
    sto_db_close(T_db);
    T_db = NULL;
    t_rmrf(T_dir);
}

/* Byte i of the object with seed s: depends on the offset's high bits
 * too, so a chunk served at the wrong place is caught. */
static inline uint8_t t_byte(uint32_t s, uint64_t i)
{
    return (uint8_t)(i * 131 + s * 7 + (i >> 11) * 13 + (i >> 19));
}

static __attribute__((unused)) void t_fill(uint8_t *b, size_t n, uint32_t s,
                                           uint64_t off)
{
    for (size_t j = 0; j < n; j++)
        b[j] = t_byte(s, off + j);
}

static __attribute__((unused)) void t_md5(const void *b, size_t n,
                                          uint8_t out[16])
{
    unsigned int l = 0;
    cr_assert_eq(EVP_Digest(b, n, out, &l, EVP_md5(), NULL), 1);
}

static __attribute__((unused)) void t_md5_hex(const void *b, size_t n,
                                              char hex[33])
{
    uint8_t d[16];
    t_md5(b, n, d);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Put n bytes of pattern s in writes of step bytes. Returns the commit's
 * result; *etag (if given) receives the ETag. */
static __attribute__((unused)) int t_put(const char *bucket, const char *key,
                                         size_t n, uint32_t s, size_t step,
                                         char *etag)
{
    sto_put_t *p = NULL;
    int rc = sto_put_begin(T_db, bucket, key, NULL, &p);
    if (rc < 0)
        return rc;
    uint8_t *b = malloc(step ? step : 1);
    for (size_t off = 0; off < n; off += step) {
        size_t len = n - off < step ? n - off : step;
        t_fill(b, len, s, off);
        if ((rc = sto_put_write(p, b, len)) < 0)
            break;
    }
    free(b);
    if (rc < 0) {
        sto_put_abort(p);
        return rc;
    }
    sto_meta_t *m = NULL;
    rc = sto_put_commit(p, (int64_t)n, NULL, &m);
    if (rc == 0 && etag != NULL)
        memcpy(etag, m->etag, 33);
    sto_meta_free(m);
    return rc;
}

/* Read the range and compare with pattern s; returns bytes read or the
 * error. noipa: with a constant cap propagated into it, GCC 12 warns
 * about a write past the buffer that the cap check rules out. */
static __attribute__((unused, noipa)) ssize_t
t_get_check(const char *bucket, const char *key, const sto_range_t *r,
            uint32_t s, size_t cap)
{
    sto_get_t *g = NULL;
    int rc = sto_get_open(T_db, bucket, key, r, &g);
    if (rc < 0)
        return rc;
    uint64_t first, len;
    sto_get_span(g, &first, &len);
    uint8_t *b = malloc(cap), *e = malloc(cap);
    uint64_t got = 0;
    ssize_t n;
    while ((n = sto_get_read(g, b, cap)) > 0) {
        cr_assert((size_t)n <= cap);
        t_fill(e, (size_t)n, s, first + got);
        cr_assert(memcmp(b, e, (size_t)n) == 0, "bytes differ at %llu",
                  (unsigned long long)(first + got));
        got += (uint64_t)n;
    }
    free(b);
    free(e);
    sto_get_close(g);
    if (n < 0)
        return n;
    cr_assert_eq(got, len);
    return (ssize_t)got;
}

/* Number of chunk records in the data CF (raw). */
static __attribute__((unused)) size_t t_data_count(void)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(T_db->rdb, T_db->ro, T_db->cf[STO__CF_DATA]);
    size_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it))
        n++;
    rocksdb_iter_destroy(it);
    return n;
}
