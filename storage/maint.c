/*
 * maint.c - maintenance: tombstone purge, compaction and scrub.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "storage/db.h"

/* Re-check under the key's lock that the tombstone is still the current
 * record before deleting it: a put may have revived the key meanwhile. */
static int purge_one(sto_db_t *db, const char *k, size_t kl, uint64_t cutoff,
                     bool *purged)
{
    pthread_mutex_t *l = sto__stripe(db, k, kl);
    pthread_mutex_lock(l);
    Cleo__Storage__ObjectMeta *m = NULL;
    int rc = sto__meta_read(db, NULL, k, kl, &m);
    if (rc == 0 && m->deleted && m->deleted_at_ms < cutoff) {
        char *err = NULL;
        rocksdb_delete_cf(db->rdb, db->wo_async, db->cf[STO__CF_META], k, kl,
                          &err);
        rc = sto__rerr(err, "purge");
        *purged = rc == 0;
    }
    pthread_mutex_unlock(l);
    if (m != NULL)
        cleo__storage__object_meta__free_unpacked(m, NULL);
    return rc == CLEO_ENOTFOUND ? 0 : rc;
}

void sto__ukey(char *out, uint64_t id)
{
    out[0] = 'U';
    sto__put_be64(out + 1, id);
}

int sto__uploads_sweep(sto_db_t *db)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_SYS]);
    int n = 0;
    for (rocksdb_iter_seek(it, "U", 1); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl != 9 || k[0] != 'U')
            break;
        sto__chunks_delete_id(db, b, sto__be64(k + 1));
        rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], k, kl);
        n++;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err == NULL && n > 0) {
        sto__log("freeing %d interrupted upload(s)", n);
        rocksdb_write(db->rdb, db->wo_sync, b, &err);
    }
    rocksdb_writebatch_destroy(b);
    return sto__rerr(err, "sweep uploads");
}

int sto_purge(sto_db_t *db, uint64_t now_ms, uint64_t *purged)
{
    uint64_t cutoff =
        now_ms > db->o.tombstone_ttl_ms ? now_ms - db->o.tombstone_ttl_ms : 0;
    uint64_t n = 0;
    int rc = 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_META]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *v = rocksdb_iter_value(it, &vl);
        if (vl < 1 || v[0] != STO__TOMB)
            continue;
        const char *k = rocksdb_iter_key(it, &kl);
        bool done = false;
        rc = purge_one(db, k, kl, cutoff, &done);
        n += done;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = sto__rerr(err, "purge scan");
    else
        rocksdb_free(err);
    if (rc == 0 && purged != NULL)
        *purged = n;
    return rc;
}

int sto_db_compact(sto_db_t *db, uint64_t now_ms)
{
    int rc = sto_purge(db, now_ms, NULL);
    if (rc == 0 && db->o.mpu_ttl_ms > 0)
        rc = sto_mpu_expire(db, now_ms, db->o.mpu_ttl_ms, NULL);
    if (rc < 0)
        return rc;
    for (int i = 0; i < STO__NCF; i++)
        rocksdb_compact_range_cf(db->rdb, db->cf[i], NULL, 0, NULL, 0);
    return 0;
}

/* Small objects keep their bytes in their metadata record: check those
 * too. A corrupt one is reported with its clock as id and index
 * UINT32_MAX (it has no chunk). */
static void scrub_inline(sto_db_t *db, const rocksdb_readoptions_t *ro,
                         sto_scrub_cb cb, void *data, sto_scrub_stats_t *st)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, ro, db->cf[STO__CF_META]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t vl;
        const char *v = rocksdb_iter_value(it, &vl);
        if (vl < 1 || v[0] != STO__LIVE)
            continue;
        Cleo__Storage__ObjectMeta *m = cleo__storage__object_meta__unpack(
            NULL, vl - 1, (const uint8_t *)v + 1);
        if (m == NULL || m->inline_data.len == 0) {
            cleo__storage__object_meta__free_unpacked(m, NULL);
            continue;
        }
        st->chunks++;
        if (XXH3_64bits(m->inline_data.data, m->inline_data.len) ==
            m->inline_xxh3) {
            st->bytes += m->inline_data.len;
        } else {
            st->corrupt++;
            sto__log("scrub: corrupt inline data of %s/%s", m->bucket, m->key);
            if (cb != NULL)
                cb(data, m->clock, UINT32_MAX, STO_ECORRUPT);
        }
        cleo__storage__object_meta__free_unpacked(m, NULL);
    }
    rocksdb_iter_destroy(it);
}

int sto_scrub(sto_db_t *db, sto_scrub_cb cb, void *data, sto_scrub_stats_t *out)
{
    sto_scrub_stats_t st = {0};
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    /* A scrub reads everything once: do not evict the hot set. */
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, ro, db->cf[STO__CF_DATA]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        uint64_t id = 0;
        uint32_t index = 0;
        if (kl == STO__DKEY_LEN)
            sto__dkey_parse(k, &id, &index);
        st.chunks++;
        bool ok = kl == STO__DKEY_LEN && vl >= STO__CHUNK_HDR &&
                  XXH3_64bits(v + STO__CHUNK_HDR, vl - STO__CHUNK_HDR) ==
                      sto__be64(v);
        if (ok) {
            st.bytes += vl - STO__CHUNK_HDR;
            continue;
        }
        st.corrupt++;
        sto__log("scrub: corrupt chunk %016llx/%u", (unsigned long long)id,
                 index);
        if (cb != NULL)
            cb(data, id, index, STO_ECORRUPT);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err == NULL)
        scrub_inline(db, ro, cb, data, &st);
    rocksdb_readoptions_destroy(ro);
    int rc = sto__rerr(err, "scrub");
    if (rc == 0 && out != NULL)
        *out = st;
    return rc;
}
