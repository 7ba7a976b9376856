/*
 * bucket.c - bucket records and their per-bucket stats in the sys CF.
 *
 * A bucket is 'B' name -> BucketRecord. Its object count and bytes are
 * 'S' name, updated by merge operands written in the same batch as the
 * object change, so stats and objects never disagree and concurrent
 * commits never lose an update.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/db.h"

static size_t skey(char *out, char tag, const char *name)
{
    size_t n = strlen(name);
    out[0] = tag;
    memcpy(out + 1, name, n);
    return n + 1;
}

void sto__stats_add(sto_db_t *db, rocksdb_writebatch_t *b, const char *bucket,
                    int64_t objects, int64_t bytes)
{
    char k[STO_BUCKET_MAX + 2];
    size_t kl = skey(k, 'S', bucket);
    int64_t d[2] = {objects, bytes};
    rocksdb_writebatch_merge_cf(b, db->cf[STO__CF_SYS], k, kl, (const char *)d,
                                sizeof(d));
}

int sto__bucket_check(sto_db_t *db, const char *bucket)
{
    char k[STO_BUCKET_MAX + 2];
    size_t kl = skey(k, 'B', bucket);
    char *err = NULL;
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(
        db->rdb, db->ro, db->cf[STO__CF_SYS], k, kl, &err);
    if (err != NULL)
        return sto__rerr(err, "get bucket");
    if (ps == NULL)
        return STO_ENOBUCKET;
    rocksdb_pinnableslice_destroy(ps);
    return 0;
}

static int stats_read(sto_db_t *db, const char *name, int64_t d[2])
{
    char k[STO_BUCKET_MAX + 2];
    size_t kl = skey(k, 'S', name), len = 0;
    char *err = NULL;
    char *v =
        rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_SYS], k, kl, &len, &err);
    if (err != NULL)
        return sto__rerr(err, "get stats");
    d[0] = d[1] = 0;
    if (v != NULL && len == 2 * sizeof(int64_t))
        memcpy(d, v, 2 * sizeof(int64_t));
    rocksdb_free(v);
    return 0;
}

/* Decode a BucketRecord value and add its stats. */
static int info_fill(sto_db_t *db, const char *v, size_t len,
                     sto_bucket_info_t *out)
{
    Cleo__Storage__BucketRecord *r =
        cleo__storage__bucket_record__unpack(NULL, len, (const uint8_t *)v);
    if (r == NULL)
        return CLEO_EPROTO;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", r->name);
    snprintf(out->owner, sizeof(out->owner), "%s", r->owner);
    out->created_ms = r->created_ms;
    cleo__storage__bucket_record__free_unpacked(r, NULL);
    int64_t d[2] = {0, 0};
    int rc = stats_read(db, out->name, d);
    if (rc < 0)
        return rc;
    out->objects = d[0] > 0 ? (uint64_t)d[0] : 0;
    out->bytes = d[1] > 0 ? (uint64_t)d[1] : 0;
    return 0;
}

int sto_bucket_create(sto_db_t *db, const char *name, const char *owner,
                      uint64_t now_ms)
{
    int rc;
    if ((rc = sto__bucket_name_check(name)) < 0)
        return rc;
    if (owner == NULL)
        owner = "";
    if (strlen(owner) > STO_OWNER_MAX)
        return CLEO_EINVAL;
    Cleo__Storage__BucketRecord r = CLEO__STORAGE__BUCKET_RECORD__INIT;
    r.name = (char *)name;
    r.owner = (char *)owner;
    r.created_ms = now_ms;
    uint8_t v[STO_BUCKET_MAX + STO_OWNER_MAX + 32];
    size_t vl = cleo__storage__bucket_record__pack(&r, v);
    char kb[STO_BUCKET_MAX + 2], ks[STO_BUCKET_MAX + 2];
    size_t kl = skey(kb, 'B', name);
    skey(ks, 'S', name);
    int64_t zero[2] = {0, 0};
    pthread_rwlock_wrlock(&db->bucket_lock);
    rc = sto__bucket_check(db, name);
    if (rc == 0)
        rc = CLEO_EEXIST;
    if (rc == STO_ENOBUCKET) {
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        rocksdb_writebatch_put_cf(b, db->cf[STO__CF_SYS], kb, kl,
                                  (const char *)v, vl);
        rocksdb_writebatch_put_cf(b, db->cf[STO__CF_SYS], ks, kl,
                                  (const char *)zero, sizeof(zero));
        char *err = NULL;
        rocksdb_write(db->rdb, db->wo_sync, b, &err);
        rocksdb_writebatch_destroy(b);
        rc = sto__rerr(err, "create bucket");
    }
    pthread_rwlock_unlock(&db->bucket_lock);
    return rc;
}

/* The bucket's record, unpacked (gives: free_unpacked). */
static int record_read(sto_db_t *db, const char *name,
                       Cleo__Storage__BucketRecord **out)
{
    char k[STO_BUCKET_MAX + 2];
    size_t kl = skey(k, 'B', name), len = 0;
    char *err = NULL;
    char *v =
        rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_SYS], k, kl, &len, &err);
    if (err != NULL)
        return sto__rerr(err, "get bucket");
    if (v == NULL)
        return CLEO_ENOTFOUND;
    *out = cleo__storage__bucket_record__unpack(NULL, len, (const uint8_t *)v);
    rocksdb_free(v);
    return *out != NULL ? 0 : CLEO_EPROTO;
}

int sto__bucket_acl(sto_db_t *db, const char *name, char *out, size_t len)
{
    int rc;
    Cleo__Storage__BucketRecord *r;
    if ((rc = sto__bucket_name_check(name)) < 0 ||
        (rc = record_read(db, name, &r)) < 0)
        return rc;
    snprintf(out, len, "%s", r->acl);
    cleo__storage__bucket_record__free_unpacked(r, NULL);
    return 0;
}

/* Write r back under its name, synced. */
static int record_write(sto_db_t *db, const Cleo__Storage__BucketRecord *r)
{
    uint8_t v[STO_BUCKET_MAX + STO_OWNER_MAX + STO__ACL_MAX + 64];
    size_t vl = cleo__storage__bucket_record__get_packed_size(r);
    if (vl > sizeof v)
        return CLEO_EPROTO; /* a record with fields this build lacks */
    cleo__storage__bucket_record__pack(r, v);
    char k[STO_BUCKET_MAX + 2];
    size_t kl = skey(k, 'B', r->name);
    char *err = NULL;
    rocksdb_put_cf(db->rdb, db->wo_sync, db->cf[STO__CF_SYS], k, kl,
                   (const char *)v, vl, &err);
    return sto__rerr(err, "update bucket");
}

int sto__bucket_update(sto_db_t *db, const char *name, const char *owner,
                       const char *acl)
{
    int rc;
    if ((rc = sto__bucket_name_check(name)) < 0)
        return rc;
    if ((owner != NULL && strlen(owner) > STO_OWNER_MAX) ||
        (acl != NULL && strlen(acl) > STO__ACL_MAX))
        return CLEO_EINVAL;
    /* Under the bucket lock, so that a delete cannot slip between the
     * read and the write and leave a record behind. */
    pthread_rwlock_wrlock(&db->bucket_lock);
    Cleo__Storage__BucketRecord *r = NULL;
    rc = record_read(db, name, &r);
    if (rc == 0) {
        char *was_owner = r->owner, *was_acl = r->acl;
        if (owner != NULL && owner[0] != '\0')
            r->owner = (char *)owner;
        if (acl != NULL && acl[0] != '\0')
            r->acl = (char *)acl;
        rc = record_write(db, r);
        r->owner = was_owner; /* free_unpacked frees what unpack made */
        r->acl = was_acl;
        cleo__storage__bucket_record__free_unpacked(r, NULL);
    }
    pthread_rwlock_unlock(&db->bucket_lock);
    return rc;
}

/* Is there any record (live or tombstone) left under bucket '\0'? Live
 * ones make the bucket non-empty; tombstones are deleted with it. */
static int bucket_empty(sto_db_t *db, const char *name, rocksdb_writebatch_t *b)
{
    char lo[STO_BUCKET_MAX + 2];
    size_t n = strlen(name);
    memcpy(lo, name, n + 1);
    char hi[STO_BUCKET_MAX + 2];
    memcpy(hi, name, n);
    hi[n] = '\x01';
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi, n + 1);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, ro, db->cf[STO__CF_META]);
    int rc = 0;
    for (rocksdb_iter_seek(it, lo, n + 1); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t vl;
        const char *v = rocksdb_iter_value(it, &vl);
        if (vl >= 1 && v[0] == STO__LIVE) {
            rc = CLEO_ESTATE;
            break;
        }
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (rc == 0 && err == NULL)
        rocksdb_writebatch_delete_range_cf(b, db->cf[STO__CF_META], lo, n + 1,
                                           hi, n + 1);
    return err != NULL ? sto__rerr(err, "scan bucket") : rc;
}

int sto_bucket_delete(sto_db_t *db, const char *name)
{
    int rc;
    if ((rc = sto__bucket_name_check(name)) < 0)
        return rc;
    char kb[STO_BUCKET_MAX + 2], ks[STO_BUCKET_MAX + 2];
    size_t kl = skey(kb, 'B', name);
    skey(ks, 'S', name);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    pthread_rwlock_wrlock(&db->bucket_lock);
    rc = sto__bucket_check(db, name);
    if (rc == STO_ENOBUCKET)
        rc = CLEO_ENOTFOUND;
    if (rc == 0)
        rc = bucket_empty(db, name, b);
    if (rc == 0) /* its multipart uploads in progress go with it */
        rc = sto__mpu_bucket_drop(db, name, b);
    if (rc == 0) {
        rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], kb, kl);
        rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], ks, kl);
        char *err = NULL;
        rocksdb_write(db->rdb, db->wo_sync, b, &err);
        rc = sto__rerr(err, "delete bucket");
    }
    pthread_rwlock_unlock(&db->bucket_lock);
    rocksdb_writebatch_destroy(b);
    return rc;
}

bool sto_bucket_exists(sto_db_t *db, const char *name)
{
    if (sto__bucket_name_check(name) < 0)
        return false;
    return sto__bucket_check(db, name) == 0;
}

int sto_bucket_du(sto_db_t *db, const char *name, sto_bucket_info_t *out)
{
    int rc;
    if ((rc = sto__bucket_name_check(name)) < 0)
        return rc;
    char k[STO_BUCKET_MAX + 2];
    size_t kl = skey(k, 'B', name), len = 0;
    char *err = NULL;
    char *v =
        rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_SYS], k, kl, &len, &err);
    if (err != NULL)
        return sto__rerr(err, "get bucket");
    if (v == NULL)
        return CLEO_ENOTFOUND;
    sto_bucket_info_t info;
    rc = info_fill(db, v, len, &info);
    rocksdb_free(v);
    if (rc == 0)
        *out = info;
    return rc;
}

int sto_bucket_list(sto_db_t *db, sto_bucket_info_t **out, size_t *n)
{
    sto_bucket_info_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_SYS]);
    for (rocksdb_iter_seek(it, "B", 1); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < 1 || k[0] != 'B')
            break;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(arr, cap * sizeof(*arr));
            if (p == NULL) {
                rc = CLEO_ENOMEM;
                break;
            }
            arr = p;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        if ((rc = info_fill(db, v, vl, &arr[cnt])) == 0)
            cnt++;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = sto__rerr(err, "list buckets");
    else
        rocksdb_free(err);
    if (rc < 0) {
        free(arr);
        return rc;
    }
    if (cnt == 0) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *n = cnt;
    return 0;
}
