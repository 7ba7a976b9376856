/*
 * test_diskfull.c - a full disk: the database on a 16 MiB tmpfs (with a
 * 2 MiB reserve) takes puts until one fails with STO_ENOSPACE; nothing of
 * the failed put is visible (head, list, bucket stats) and its chunks are
 * freed, every acknowledged object still reads back, and deletes and
 * reads keep working while the disk stays full. Needs mount(2) (root);
 * skipped with a message otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "storage/db.h"
#include "storage/sto.h"

#define CHUNK ((size_t)64 << 10)
#define OBJ ((size_t)1 << 20)
#define MAX_OBJS 64 /* 64 MiB: well past the 16 MiB disk */

static char T_dir[64];
static char T_path[96];
static bool T_mounted;
static sto_db_t *T_db;

static void setup(void)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-full-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    if (mount("tmpfs", T_dir, "tmpfs", 0, "size=16m") < 0) {
        int e = errno;
        rmdir(T_dir);
        cr_skip_test("cannot mount a tmpfs (%s): run as root to test a full "
                     "disk",
                     strerror(e));
    }
    T_mounted = true;
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_opts_t o;
    sto_opts_init(&o);
    o.chunk_size = CHUNK;
    o.cache_bytes = 1 << 20;
    o.reserve_bytes = 2 << 20;
    cr_assert_eq(sto_db_open(T_path, &o, &T_db), 0);
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, 1), 0);
}

static void teardown(void)
{
    sto_db_close(T_db);
    if (T_mounted) {
        cr_expect_eq(umount(T_dir), 0, "umount: %s", strerror(errno));
        rmdir(T_dir);
    }
}

TestSuite(sto_diskfull, .init = setup, .fini = teardown, .timeout = 120);

static uint8_t pat(uint32_t s, size_t i)
{
    return (uint8_t)(i * 131 + s * 7 + (i >> 11));
}

/* Put OBJ bytes of pattern s under key; the first error of the put. */
static int put(const char *key, uint32_t s)
{
    static uint8_t b[CHUNK];
    sto_put_t *p;
    int rc = sto_put_begin(T_db, "bkt", key, NULL, &p);
    for (size_t off = 0; rc == 0 && off < OBJ; off += CHUNK) {
        for (size_t i = 0; i < CHUNK; i++)
            b[i] = pat(s, off + i);
        rc = sto_put_write(p, b, CHUNK);
    }
    if (rc < 0) {
        sto_put_abort(p);
        return rc;
    }
    return sto_put_commit(p, (int64_t)OBJ, NULL, NULL);
}

/* Chunk records in the data column family (raw). */
static size_t chunks(void)
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

static void check(const char *key, uint32_t s)
{
    static uint8_t b[CHUNK];
    sto_get_t *g;
    cr_assert_eq(sto_get_open(T_db, "bkt", key, NULL, &g), 0, "open %s", key);
    size_t off = 0;
    ssize_t n;
    while ((n = sto_get_read(g, b, sizeof b)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            cr_assert_eq(b[i], pat(s, off + (size_t)i), "%s at %zu", key,
                         off + (size_t)i);
        off += (size_t)n;
    }
    cr_assert_eq(n, 0, "read %s: %s", key, sto_strerror((int)n));
    cr_assert_eq(off, OBJ);
    sto_get_close(g);
}

Test(sto_diskfull, a_full_disk_is_enospace_and_nothing_half_written_shows)
{
    int rc = 0, acked = 0;
    char key[32];
    for (; acked < MAX_OBJS; acked++) {
        snprintf(key, sizeof key, "o%02d", acked);
        if ((rc = put(key, (uint32_t)acked)) < 0)
            break;
    }
    cr_assert_lt(acked, MAX_OBJS, "the 16 MiB disk never filled");
    cr_assert_eq(rc, STO_ENOSPACE, "got %s", sto_err_name(rc));
    cr_assert_str_eq(sto_err_name(rc), "STO_ENOSPACE");

    /* The failed put is invisible: no metadata, no listing, no stats. */
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", key, &m), CLEO_ENOTFOUND);
    sto_list_t *l;
    sto_list_opts_t lo = {0};
    cr_assert_eq(sto_list(T_db, "bkt", &lo, &l), 0);
    cr_assert_eq(l->n_entries, (size_t)acked);
    for (size_t i = 0; i < l->n_entries; i++)
        cr_assert_eq(l->entries[i].size, OBJ);
    sto_list_free(l);
    sto_bucket_info_t du;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &du), 0);
    cr_assert_eq(du.objects, (uint64_t)acked);
    cr_assert_eq(du.bytes, (uint64_t)acked * OBJ);

    /* Every acknowledged object reads back. */
    for (int i = 0; i < acked; i++) {
        snprintf(key, sizeof key, "o%02d", i);
        check(key, (uint32_t)i);
    }

    /* The failed put's chunks were freed by its abort. */
    cr_assert_eq(chunks(), (size_t)acked * (OBJ / CHUNK));

    /* Deletes and reads work while the disk is still full; puts keep
     * failing cleanly. */
    for (int i = 0; i < acked; i += 2) {
        snprintf(key, sizeof key, "o%02d", i);
        cr_assert_eq(sto_delete(T_db, "bkt", key, 2), 0, "delete %s", key);
        cr_assert_eq(sto_head(T_db, "bkt", key, &m), CLEO_ENOTFOUND);
    }
    for (int i = 1; i < acked; i += 2) {
        snprintf(key, sizeof key, "o%02d", i);
        check(key, (uint32_t)i);
    }
    cr_assert_eq(put("again", 99), STO_ENOSPACE);
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &du), 0);
    cr_assert_eq(du.objects, (uint64_t)(acked / 2));
}

/* Without the reserve, RocksDB itself meets the full disk: its "No space
 * left" is STO_ENOSPACE, the failed put stays invisible, reads work and
 * the process survives (RocksDB then refuses writes until reopened). */
Test(sto_diskfull, rocksdb_enospc_is_enospace_too)
{
    sto_db_close(T_db);
    sto_opts_t o;
    sto_opts_init(&o);
    o.chunk_size = CHUNK;
    o.cache_bytes = 1 << 20;
    o.reserve_bytes = 0;
    cr_assert_eq(sto_db_open(T_path, &o, &T_db), 0);
    int rc = 0, acked = 0;
    char key[32];
    for (; acked < MAX_OBJS; acked++) {
        snprintf(key, sizeof key, "o%02d", acked);
        if ((rc = put(key, (uint32_t)acked)) < 0)
            break;
    }
    cr_assert_eq(rc, STO_ENOSPACE, "got %s", sto_err_name(rc));
    sto_meta_t *m = NULL;
    cr_assert_eq(sto_head(T_db, "bkt", key, &m), CLEO_ENOTFOUND);
    for (int i = 0; i < acked; i++) {
        snprintf(key, sizeof key, "o%02d", i);
        check(key, (uint32_t)i);
    }
}
