/*
 * mpulist.c - multipart uploads: listing parts and uploads (S3 ListParts
 * and ListMultipartUploads, answered by seeking the sys CF records) and
 * UploadPartCopy, which streams a source object into a part put.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/mpu.h"

#define PAGE_DEFAULT 1000

/* ---- ListParts ------------------------------------------------------- */

static int part_list_build(const sto__mpu_parts_t *ps, bool more,
                           uint64_t initiated_ms, sto_part_list_t **out)
{
    sto_part_list_t *l = calloc(1, sizeof(*l));
    sto_part_info_t *v = calloc(ps->n + 1, sizeof(*v));
    if (l == NULL || v == NULL) {
        free(l);
        free(v);
        return CLEO_ENOMEM;
    }
    for (size_t i = 0; i < ps->n; i++) {
        const Cleo__Storage__PartRecord *r = ps->v[i];
        v[i].part_number = r->part_number;
        snprintf(v[i].etag, sizeof(v[i].etag), "%s", r->etag);
        v[i].size = r->size;
        v[i].last_modified_ms = r->last_modified_ms;
    }
    l->parts = v;
    l->n_parts = ps->n;
    l->is_truncated = more;
    l->next_part_marker = ps->n > 0 ? v[ps->n - 1].part_number : 0;
    l->initiated_ms = initiated_ms;
    *out = l;
    return 0;
}

int sto_mpu_list_parts(sto_db_t *db, const char *bucket, const char *key,
                       const char *upload_id, uint32_t part_marker, size_t max,
                       sto_part_list_t **out)
{
    int rc = sto__mpu_args_check(bucket, key, upload_id);
    if (rc < 0)
        return rc;
    char uk[STO__MPU_UKEY_MAX];
    size_t ukl = sto__mpu_ukey(uk, bucket, key, upload_id);
    Cleo__Storage__UploadRecord *u = NULL;
    if ((rc = sto__mpu_upload_read(db, uk, ukl, &u)) < 0)
        return rc;
    uint64_t initiated = u->initiated_ms;
    cleo__storage__upload_record__free_unpacked(u, NULL);
    sto__mpu_parts_t ps = {0};
    bool more = false;
    rc = sto__mpu_parts_load(db, upload_id, part_marker,
                             max == 0 ? PAGE_DEFAULT : max, &ps, &more);
    if (rc < 0)
        return rc;
    rc = part_list_build(&ps, more, initiated, out);
    sto__mpu_parts_free(&ps);
    return rc;
}

void sto_part_list_free(sto_part_list_t *l)
{
    if (l == NULL)
        return;
    free(l->parts);
    free(l);
}

/* ---- ListMultipartUploads -------------------------------------------- */

/* Where a listing starts: the later of the prefix's first key and the
 * position just past the markers. Keys hold no NUL, so key '\0' id sorts
 * a key's uploads together and before any longer key, and key "\1" is
 * past all of key's uploads. */
static size_t seek_key(char *out, const char *bucket,
                       const sto_upload_list_opts_t *o)
{
    out[0] = STO__MPU_UPLOAD;
    size_t n = 1 + sto__mkey(out + 1, bucket, o->prefix);
    const char *km = o->key_marker;
    if (km == NULL || *km == '\0' || strcmp(km, o->prefix) < 0)
        return n;
    n = 1 + sto__mkey(out + 1, bucket, km);
    const char *um = o->upload_id_marker;
    if (um == NULL || *um == '\0') {
        out[n] = '\1';
        return n + 1;
    }
    /* Ids after um: from key '\0' um, past um itself. An id is never
     * shorter than STO_UPLOAD_ID_LEN, so a longer um's first
     * STO_UPLOAD_ID_LEN characters are below it too. */
    size_t ul = strnlen(um, STO_UPLOAD_ID_LEN);
    out[n++] = '\0';
    memcpy(out + n, um, ul);
    n += ul;
    if (ul == STO_UPLOAD_ID_LEN)
        out[n++] = '\1';
    return n;
}

typedef struct {
    sto_upload_info_t *v;
    size_t n, cap;
} uploads_t;

/* Append the upload of record key k (bucket '\0' key '\0' id after 'M')
 * and value v to us. */
static int upload_push(uploads_t *us, const char *k, size_t kl, size_t bl,
                       const char *v, size_t vl)
{
    if (us->n == us->cap) {
        size_t cap = us->cap ? 2 * us->cap : 16;
        void *nv = realloc(us->v, cap * sizeof(*us->v));
        if (nv == NULL)
            return CLEO_ENOMEM;
        us->v = nv;
        us->cap = cap;
    }
    Cleo__Storage__UploadRecord *u =
        cleo__storage__upload_record__unpack(NULL, vl, (const uint8_t *)v);
    if (u == NULL)
        return CLEO_EPROTO;
    sto_upload_info_t *e = &us->v[us->n];
    size_t key_len = kl - (1 + bl + 1) - 1 - STO_UPLOAD_ID_LEN;
    e->key = strndup(k + 1 + bl + 1, key_len);
    memcpy(e->upload_id, k + kl - STO_UPLOAD_ID_LEN, STO_UPLOAD_ID_LEN);
    e->upload_id[STO_UPLOAD_ID_LEN] = '\0';
    e->initiated_ms = u->initiated_ms;
    cleo__storage__upload_record__free_unpacked(u, NULL);
    if (e->key == NULL)
        return CLEO_ENOMEM;
    us->n++;
    return 0;
}

static void uploads_free(uploads_t *us)
{
    for (size_t i = 0; i < us->n; i++)
        free(us->v[i].key);
    free(us->v);
}

/* Collect up to max uploads from the seek position; *more if another
 * follows. */
static int uploads_scan(sto_db_t *db, const char *bucket, const char *prefix,
                        const char *lo, size_t lol, size_t max, uploads_t *us,
                        bool *more)
{
    size_t bl = strlen(bucket), pl = strlen(prefix);
    int rc = 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_SYS]);
    for (rocksdb_iter_seek(it, lo, lol); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        /* 'M' bucket '\0' prefix ... '\0' id, or we are past them all. */
        if (kl < 1 + bl + 1 + pl + 1 + STO_UPLOAD_ID_LEN ||
            memcmp(k, lo, 1 + bl + 1) != 0 ||
            memcmp(k + 1 + bl + 1, prefix, pl) != 0)
            break;
        if (us->n == max) {
            *more = true;
            break;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        if ((rc = upload_push(us, k, kl, bl, v, vl)) < 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        return sto__rerr(err, "scan uploads");
    rocksdb_free(err);
    return rc;
}

int sto_mpu_list_uploads(sto_db_t *db, const char *bucket,
                         const sto_upload_list_opts_t *o,
                         sto_upload_list_t **out)
{
    static const sto_upload_list_opts_t none = {0};
    sto_upload_list_opts_t op = o != NULL ? *o : none;
    if (op.prefix == NULL)
        op.prefix = "";
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if (strlen(op.prefix) > STO_KEY_MAX ||
        (op.key_marker != NULL && strlen(op.key_marker) > STO_KEY_MAX))
        return CLEO_EINVAL;
    int rc = sto__bucket_check(db, bucket);
    if (rc < 0)
        return rc;
    char lo[STO__MPU_UKEY_MAX + 1];
    size_t lol = seek_key(lo, bucket, &op);
    uploads_t us = {0};
    bool more = false;
    rc = uploads_scan(db, bucket, op.prefix, lo, lol,
                      op.max_uploads ? op.max_uploads : PAGE_DEFAULT, &us,
                      &more);
    sto_upload_list_t *l = rc == 0 ? calloc(1, sizeof(*l)) : NULL;
    if (rc == 0 && l == NULL)
        rc = CLEO_ENOMEM;
    if (rc == 0 && us.n > 0 &&
        (l->next_key_marker = strdup(us.v[us.n - 1].key)) == NULL)
        rc = CLEO_ENOMEM;
    if (rc < 0) {
        free(l);
        uploads_free(&us);
        return rc;
    }
    if (us.n > 0)
        memcpy(l->next_upload_id_marker, us.v[us.n - 1].upload_id,
               STO_UPLOAD_ID_LEN + 1);
    l->uploads = us.v;
    l->n_uploads = us.n;
    l->is_truncated = more;
    *out = l;
    return 0;
}

void sto_upload_list_free(sto_upload_list_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_uploads; i++)
        free(l->uploads[i].key);
    free(l->uploads);
    free(l->next_key_marker);
    free(l);
}

/* ---- UploadPartCopy -------------------------------------------------- */

/* Copy the span of g into p through a buffer of one chunk. */
static int copy_span(sto_db_t *db, sto_get_t *g, sto_put_t *p, uint64_t len)
{
    size_t cap = db->o.chunk_size;
    char *buf = malloc(cap);
    if (buf == NULL)
        return CLEO_ENOMEM;
    uint64_t got = 0;
    int rc = 0;
    while (got < len && rc == 0) {
        ssize_t n = sto_get_read(g, buf, cap);
        if (n <= 0)
            rc = n < 0 ? (int)n : STO_ECORRUPT; /* short: chunks gone */
        else if ((rc = sto_put_write(p, buf, (size_t)n)) == 0)
            got += (uint64_t)n;
    }
    free(buf);
    return rc;
}

int sto_mpu_part_copy(sto_db_t *db, const char *bucket, const char *key,
                      const char *upload_id, uint32_t part_number,
                      const char *src_bucket, const char *src_key,
                      const sto_range_t *range, sto_part_info_t *out)
{
    sto_get_t *g = NULL;
    sto_put_t *p = NULL;
    uint64_t first, len;
    int rc = sto_get_open(db, src_bucket, src_key, range, &g);
    if (rc < 0)
        return rc;
    sto_get_span(g, &first, &len);
    if (range != NULL && range->kind == STO_RANGE_SPAN &&
        range->last - range->first + 1 != len) {
        rc = STO_ERANGE; /* S3 does not clamp a copy range */
        goto out;
    }
    if ((rc = sto_mpu_part_begin(db, bucket, key, upload_id, part_number, &p)) <
        0)
        goto out;
    if ((rc = copy_span(db, g, p, len)) < 0) {
        sto_put_abort(p);
        goto out;
    }
    sto_meta_t *m = NULL;
    if ((rc = sto_put_commit(p, (int64_t)len, NULL, &m)) < 0)
        goto out;
    if (out != NULL) {
        out->part_number = part_number;
        snprintf(out->etag, sizeof(out->etag), "%s", m->etag);
        out->size = m->size;
        out->last_modified_ms = m->last_modified_ms;
    }
    sto_meta_free(m);
out:
    sto_get_close(g);
    return rc;
}
