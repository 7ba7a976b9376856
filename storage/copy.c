/*
 * copy.c - server-side copy: the source is read from a snapshot and
 * streamed into a new put one chunk at a time, so memory stays one chunk
 * (plus the get's pinned one) whatever the object's size, and a copy onto
 * itself reads the old bytes while the new version is written.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/db.h"

/* The raw MD5 of a plain ETag (32 hex digits); false for a multipart
 * ETag ("...-N"), which is not the MD5 of the bytes. */
static bool etag_md5(const char *etag, uint8_t out[16])
{
    if (strlen(etag) != 32)
        return false;
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = etag[2 * i + k];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                : 16u;
            if (d > 15)
                return false;
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return true;
}

/* Stream every byte of g into p through buf (cap bytes). */
static int pump(sto_get_t *g, sto_put_t *p, char *buf, size_t cap)
{
    uint64_t first, len, done = 0;
    sto_get_span(g, &first, &len);
    while (done < len) {
        ssize_t n = sto_get_read(g, buf, cap);
        if (n <= 0)
            return n < 0 ? (int)n : STO_ECORRUPT; /* short: chunks gone */
        int rc = sto_put_write(p, buf, (size_t)n);
        if (rc < 0)
            return rc;
        done += (uint64_t)n;
    }
    return 0;
}

int sto_copy(sto_db_t *db, const char *src_bucket, const char *src_key,
             const char *bucket, const char *key, const sto_put_opts_t *o,
             sto_meta_t **out)
{
    sto_get_t *g = NULL;
    sto_put_t *p = NULL;
    char *buf = NULL;
    int rc = sto_get_open(db, src_bucket, src_key, NULL, &g);
    if (rc < 0)
        return rc;
    const sto_meta_t *m = sto_get_meta(g);
    sto_put_opts_t same = {.content_type = m->content_type,
                           .content_encoding = m->content_encoding,
                           .cache_control = m->cache_control,
                           .user_meta = m->user_meta,
                           .n_user_meta = m->n_user_meta,
                           .now_ms = o != NULL ? o->now_ms : 0};
    if ((rc = sto_put_begin(db, bucket, key, o != NULL ? o : &same, &p)) < 0)
        goto fail;
    buf = malloc(db->o.chunk_size);
    rc = CLEO_ENOMEM;
    if (buf == NULL || (rc = pump(g, p, buf, db->o.chunk_size)) < 0)
        goto fail;
    uint8_t md5[16];
    bool check = etag_md5(m->etag, md5);
    rc = sto_put_commit(p, (int64_t)m->size, check ? md5 : NULL, out);
    p = NULL; /* taken by the commit */
    if (rc == CLEO_EBADREQ)
        rc = STO_ECORRUPT; /* the bytes read disagree with the source's */
fail:
    sto_put_abort(p);
    free(buf);
    sto_get_close(g);
    return rc;
}
