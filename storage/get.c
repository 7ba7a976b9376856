/*
 * get.c - streaming reads with ranges, head and delete (a replica's
 * delete of a given version too: sto_delete_version).
 *
 * A get reads from a RocksDB snapshot taken at open, so the chunks it
 * needs stay readable even if a concurrent commit deletes them. Only the
 * chunks overlapping the range are fetched, one at a time (pinned, not
 * copied), and each is checked against both its stored checksum and the
 * one in the metadata before any byte of it is returned.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "storage/db.h"

struct sto_get_s {
    sto_db_t *db;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t *ro;
    sto_meta_t *meta;
    Cleo__Storage__ObjectMeta *pb; /* owned by meta */
    uint64_t first, len;           /* resolved span */
    uint64_t pos;                  /* next object offset to return */
    size_t ci;                     /* chunk holding pos */
    uint64_t cstart;               /* object offset of chunk ci */
    rocksdb_pinnableslice_t *cur;  /* chunk ci, verified; or NULL */
    bool inline_ok;                /* inline data checked */
};

/* Resolve a range against size; STO_ERANGE when unsatisfiable. */
static int range_resolve(const sto_range_t *r, uint64_t size, uint64_t *first,
                         uint64_t *len)
{
    if (r == NULL || r->kind == STO_RANGE_ALL) {
        *first = 0, *len = size;
        return 0;
    }
    if (size == 0)
        return STO_ERANGE;
    switch (r->kind) {
    case STO_RANGE_SPAN:
        if (r->first >= size || r->last < r->first)
            return STO_ERANGE;
        *first = r->first;
        *len = (r->last >= size ? size - 1 : r->last) - r->first + 1;
        return 0;
    case STO_RANGE_FROM:
        if (r->first >= size)
            return STO_ERANGE;
        *first = r->first, *len = size - r->first;
        return 0;
    case STO_RANGE_SUFFIX:
        if (r->suffix_len == 0)
            return STO_ERANGE;
        *len = r->suffix_len > size ? size : r->suffix_len;
        *first = size - *len;
        return 0;
    default:
        return CLEO_EINVAL;
    }
}

/* Read the record of bucket/key, live or tombstone, with ro (NULL =
 * latest). */
static int any_meta(sto_db_t *db, const rocksdb_readoptions_t *ro,
                    const char *bucket, const char *key,
                    Cleo__Storage__ObjectMeta **out)
{
    int rc;
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if ((rc = sto__key_check(key)) < 0)
        return rc;
    char mk[STO__MKEY_MAX];
    size_t mkl = sto__mkey(mk, bucket, key);
    rc = sto__meta_read(db, ro, mk, mkl, out);
    if (rc == CLEO_ENOTFOUND && sto__bucket_check(db, bucket) < 0)
        return STO_ENOBUCKET;
    return rc;
}

/* Read the live metadata of bucket/key with ro (NULL = latest). */
static int live_meta(sto_db_t *db, const rocksdb_readoptions_t *ro,
                     const char *bucket, const char *key,
                     Cleo__Storage__ObjectMeta **out)
{
    Cleo__Storage__ObjectMeta *m = NULL;
    int rc = any_meta(db, ro, bucket, key, &m);
    if (rc < 0)
        return rc;
    if (m->deleted) {
        cleo__storage__object_meta__free_unpacked(m, NULL);
        return CLEO_ENOTFOUND;
    }
    *out = m;
    return 0;
}

int sto_head(sto_db_t *db, const char *bucket, const char *key,
             sto_meta_t **out)
{
    Cleo__Storage__ObjectMeta *m = NULL;
    int rc = live_meta(db, NULL, bucket, key, &m);
    if (rc < 0)
        return rc;
    return sto__meta_wrap(m, out);
}

int sto_head_any(sto_db_t *db, const char *bucket, const char *key,
                 sto_meta_t **out)
{
    Cleo__Storage__ObjectMeta *m = NULL;
    int rc = any_meta(db, NULL, bucket, key, &m);
    if (rc < 0)
        return rc;
    return sto__meta_wrap(m, out);
}

/* Position at the chunk holding g->pos, starting from ci/cstart. */
static void seek_chunk(sto_get_t *g)
{
    while (g->ci < g->pb->n_chunks &&
           g->cstart + g->pb->chunks[g->ci]->len <= g->pos) {
        g->cstart += g->pb->chunks[g->ci]->len;
        g->ci++;
    }
}

/* An object whose bytes are all in its metadata: nothing else to read. */
static bool self_contained(const Cleo__Storage__ObjectMeta *m)
{
    return m->n_chunks == 0;
}

int sto_get_open(sto_db_t *db, const char *bucket, const char *key,
                 const sto_range_t *range, sto_get_t **out)
{
    sto_get_t *g = sto__xcalloc(1, sizeof(*g));
    g->db = db;
    Cleo__Storage__ObjectMeta *m = NULL;
    /* A small object (inline, or empty) is one consistent record: read
     * it without the cost of a snapshot. Anything else is read again
     * under a snapshot, so its chunks stay readable while we stream. */
    int rc = live_meta(db, NULL, bucket, key, &m);
    if (rc == 0 && !self_contained(m)) {
        cleo__storage__object_meta__free_unpacked(m, NULL);
        m = NULL;
        g->snap = rocksdb_create_snapshot(db->rdb);
        g->ro = rocksdb_readoptions_create();
        rocksdb_readoptions_set_snapshot(g->ro, g->snap);
        rc = live_meta(db, g->ro, bucket, key, &m);
    }
    if (rc < 0)
        goto fail;
    if ((rc = range_resolve(range, m->size, &g->first, &g->len)) < 0) {
        cleo__storage__object_meta__free_unpacked(m, NULL);
        goto fail;
    }
    g->pb = m;
    if ((rc = sto__meta_wrap(m, &g->meta)) < 0)
        goto fail;
    /* A read of more than a chunk streams past the block cache: it would
     * only evict the small hot objects the cache is for, and hold memory
     * that a bounded stream must not. */
    if (g->ro != NULL && g->len > db->o.chunk_size)
        rocksdb_readoptions_set_fill_cache(g->ro, 0);
    g->pos = g->first;
    seek_chunk(g);
    *out = g;
    return 0;
fail:
    g->pb = NULL;
    sto_get_close(g);
    return rc;
}

const sto_meta_t *sto_get_meta(const sto_get_t *g)
{
    return g->meta;
}

void sto_get_span(const sto_get_t *g, uint64_t *first, uint64_t *len)
{
    *first = g->first;
    *len = g->len;
}

/* Fetch and verify chunk ci into g->cur. */
static int chunk_load(sto_get_t *g)
{
    const Cleo__Storage__ChunkRef *r = g->pb->chunks[g->ci];
    char k[STO__DKEY_LEN];
    sto__dkey(k, r->id, r->index);
    char *err = NULL;
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(
        g->db->rdb, g->ro, g->db->cf[STO__CF_DATA], k, sizeof(k), &err);
    if (err != NULL)
        return sto__rerr(err, "get chunk");
    size_t vl = 0;
    const char *v = ps != NULL ? rocksdb_pinnableslice_value(ps, &vl) : NULL;
    if (v == NULL || vl != STO__CHUNK_HDR + (size_t)r->len ||
        sto__be64(v) != r->xxh3 ||
        XXH3_64bits(v + STO__CHUNK_HDR, r->len) != r->xxh3) {
        sto__log("corrupt chunk %016llx/%u of %s/%s", (unsigned long long)r->id,
                 r->index, g->pb->bucket, g->pb->key);
        rocksdb_pinnableslice_destroy(ps);
        return STO_ECORRUPT;
    }
    g->cur = ps;
    return 0;
}

/* Read from the metadata's own bytes, checked once. */
static ssize_t read_inline(sto_get_t *g, void *buf, size_t cap)
{
    const ProtobufCBinaryData *d = &g->pb->inline_data;
    if (!g->inline_ok) {
        if (d->len != g->pb->size ||
            XXH3_64bits(d->data, d->len) != g->pb->inline_xxh3) {
            sto__log("corrupt inline data of %s/%s", g->pb->bucket, g->pb->key);
            return STO_ECORRUPT;
        }
        g->inline_ok = true;
    }
    uint64_t end = g->first + g->len;
    size_t n = end - g->pos < cap ? (size_t)(end - g->pos) : cap;
    memcpy(buf, d->data + g->pos, n);
    g->pos += n;
    return (ssize_t)n;
}

ssize_t sto_get_read(sto_get_t *g, void *buf, size_t cap)
{
    if (g->pb->inline_data.len > 0 && g->len > 0)
        return read_inline(g, buf, cap);
    uint64_t end = g->first + g->len;
    size_t done = 0;
    char *dst = buf;
    while (done < cap && g->pos < end) {
        if (g->cur == NULL) {
            /* An error is reported once the good bytes before it were
             * returned: the next call retries the load and fails. */
            int rc = g->ci < g->pb->n_chunks ? chunk_load(g) : STO_ECORRUPT;
            if (rc < 0)
                return done > 0 ? (ssize_t)done : rc;
        }
        size_t vl;
        const char *v = rocksdb_pinnableslice_value(g->cur, &vl);
        uint64_t clen = g->pb->chunks[g->ci]->len;
        uint64_t off = g->pos - g->cstart;
        uint64_t n = clen - off;
        if (n > end - g->pos)
            n = end - g->pos;
        if (n > cap - done)
            n = cap - done;
        memcpy(dst + done, v + STO__CHUNK_HDR + off, n);
        done += n;
        g->pos += n;
        if (g->pos == g->cstart + clen) {
            rocksdb_pinnableslice_destroy(g->cur);
            g->cur = NULL;
            g->cstart += clen;
            g->ci++;
        }
    }
    return (ssize_t)done;
}

void sto_get_close(sto_get_t *g)
{
    if (g == NULL)
        return;
    rocksdb_pinnableslice_destroy(g->cur);
    sto_meta_free(g->meta);
    if (g->ro != NULL)
        rocksdb_readoptions_destroy(g->ro);
    if (g->snap != NULL)
        rocksdb_release_snapshot(g->db->rdb, g->snap);
    free(g);
}

/* Write the tombstone of version (clock, node) over old (NULL: no
 * record; a live one's chunks and stats go with it) in one synced batch
 * that also persists the HLC. */
static int tomb_write(sto_db_t *db, const char *bucket, const char *key,
                      const Cleo__Storage__ObjectMeta *old, uint64_t now_ms,
                      const sto_version_t *v)
{
    Cleo__Storage__ObjectMeta t = CLEO__STORAGE__OBJECT_META__INIT;
    t.bucket = (char *)bucket;
    t.key = (char *)key;
    t.deleted = true;
    t.deleted_at_ms = now_ms;
    t.last_modified_ms = now_ms;
    t.clock = v->clock;
    t.clock_node = v->node;
    char *enc = NULL, mk[STO__MKEY_MAX];
    size_t enc_len, mkl = sto__mkey(mk, bucket, key);
    int rc = sto__meta_encode(&t, &enc, &enc_len);
    if (rc < 0)
        return rc;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(b, db->cf[STO__CF_META], mk, mkl, enc, enc_len);
    if (old != NULL && !old->deleted) {
        sto__chunks_delete(db, b, old);
        sto__stats_add(db, b, bucket, -1, -(int64_t)old->size);
    }
    sto__clock_persist(db, b);
    char *err = NULL;
    rocksdb_write(db->rdb, db->wo_sync, b, &err);
    rocksdb_writebatch_destroy(b);
    free(enc);
    return sto__rerr(err, "delete");
}

/* Under the key's locks: a tombstone of a new version over the live
 * object (v unused: the same shape as delete_version_locked). */
static int delete_locked(sto_db_t *db, const char *bucket, const char *key,
                         uint64_t now_ms, const sto_version_t *v_unused)
{
    (void)v_unused;
    Cleo__Storage__ObjectMeta *m = NULL;
    int rc = live_meta(db, NULL, bucket, key, &m);
    if (rc < 0)
        return rc;
    sto_clock_observe(db, m->clock); /* newer than what it deletes */
    sto_version_t v = {sto_clock_next(db), db->o.node_id};
    rc = tomb_write(db, bucket, key, m, now_ms, &v);
    cleo__storage__object_meta__free_unpacked(m, NULL);
    return rc;
}

/* Take the bucket lock for reading and bucket/key's stripe lock, and run
 * fn under them. */
static int with_key_locked(sto_db_t *db, const char *bucket, const char *key,
                           int (*fn)(sto_db_t *, const char *, const char *,
                                     uint64_t, const sto_version_t *),
                           uint64_t now_ms, const sto_version_t *v)
{
    char mk[STO__MKEY_MAX];
    size_t mkl = sto__mkey(mk, bucket, key);
    pthread_rwlock_rdlock(&db->bucket_lock);
    pthread_mutex_t *l = sto__stripe(db, mk, mkl);
    pthread_mutex_lock(l);
    int rc = fn(db, bucket, key, now_ms, v);
    pthread_mutex_unlock(l);
    pthread_rwlock_unlock(&db->bucket_lock);
    return rc;
}

int sto_delete(sto_db_t *db, const char *bucket, const char *key,
               uint64_t now_ms)
{
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if (sto__key_check(key) < 0)
        return CLEO_EINVAL;
    return with_key_locked(db, bucket, key, delete_locked, now_ms, NULL);
}

/* Under the key's locks: the tombstone of v unless the current record
 * (live or tombstone) is the same version or newer. */
static int delete_version_locked(sto_db_t *db, const char *bucket,
                                 const char *key, uint64_t now_ms,
                                 const sto_version_t *v)
{
    Cleo__Storage__ObjectMeta *old = NULL;
    int rc = any_meta(db, NULL, bucket, key, &old); /* STO_ENOBUCKET too */
    if (rc < 0 && rc != CLEO_ENOTFOUND)
        return rc;
    sto_clock_observe(db, v->clock);
    sto_version_t cur = {old != NULL ? old->clock : 0,
                         old != NULL ? old->clock_node : 0};
    if (old != NULL && sto_version_cmp(v, &cur) <= 0)
        rc = STO_ESUPERSEDED;
    else
        rc = tomb_write(db, bucket, key, old, now_ms, v);
    if (old != NULL)
        cleo__storage__object_meta__free_unpacked(old, NULL);
    return rc;
}

int sto_delete_version(sto_db_t *db, const char *bucket, const char *key,
                       uint64_t now_ms, const sto_version_t *v)
{
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if (sto__key_check(key) < 0 || v == NULL || !sto__clock_valid(v->clock))
        return CLEO_EINVAL;
    return with_key_locked(db, bucket, key, delete_version_locked, now_ms, v);
}
