/*
 * s3_object.c - S3's object operations: PutObject (whole for small
 * bodies, streamed through a storage stream actor for large ones),
 * GetObject and HeadObject (ranges, conditions, response-* overrides,
 * streamed out one block per socket write), DeleteObject, CopyObject.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>

#include "gateway/err.h"
#include "gateway/s3.h"
#include "gateway/s3obj.h"
#include "gateway/s3pb.h"
#include "gateway/sock.h"
#include "storage/contract.h"

#define WHOLE_PUT_MAX ((int64_t)1 << 20) /* bigger bodies are streamed */

/* ---- PutObject ------------------------------------------------------- */

static int etag_reply(gw_req_t *r, const char *etag)
{
    char q[80];
    snprintf(q, sizeof q, "\"%s\"", etag);
    gw_kv_t kv[] = {{"ETag", q}};
    return gw__resp_full(r, 200, kv, 1, NULL, NULL);
}

static int commit_err(s3_t *s, int status)
{
    if (status == CLEO_EBADREQ)
        return s->has_md5 ? GW_EBADDIGEST : GW_EINCOMPLETE;
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    return status;
}

static int on_put(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return commit_err(s, status);
    Cleo__Storage__ObjectInfo *oi = m->payload;
    s3obj_changed(r, s);
    return etag_reply(r, oi->etag);
}

/* A whole small body: check it here, then one PUT message. */
static int on_whole_body(gw_req_t *r)
{
    s3_t *s = r->op;
    int rc = s3_body_final(r, s);
    if (rc < 0)
        return rc;
    rt_buf_t *b = r->body;
    if (b == NULL && (b = gw__buf_of("", 0)) == NULL)
        return CLEO_ENOMEM;
    r->body = NULL;
    if (s->has_md5) {
        unsigned char md[16];
        EVP_Digest(rt_buf_data(b), rt_buf_len(b), md, NULL, EVP_md5(), NULL);
        if (memcmp(md, s->md5, 16) != 0) {
            rt_buf_unref(b);
            return GW_EBADDIGEST;
        }
    }
    Cleo__Storage__PutReq *p = s3_put_req(r, s);
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT);
    rt_msg_set_body(m, p, b);
    return s3_call(r, 0, m, on_put);
}

static int on_committed(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    s->stream = 0; /* a stream stops after its commit, whatever the end */
    return on_put(r, s, m, status);
}

static int commit(gw_req_t *r, s3_t *s)
{
    int rc = s3_body_final(r, s);
    if (rc < 0)
        return rc;
    Cleo__Storage__PutCommit *c =
        s3pb_new(&cleo__storage__put_commit__descriptor);
    c->size = s->want_len;
    if (s->has_md5) {
        c->md5.data = gw__xcalloc(1, 16);
        memcpy(c->md5.data, s->md5, 16);
        c->md5.len = 16;
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    return s3_call(r, s->stream, m,
                   s->op == S3_MPU_PART ? s3_on_part_done : on_committed);
}

static int on_written_block(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return status;
    if (s->commit_after) /* the last block was written: commit */
        return commit(r, s);
    gw__req_block_done(r);
    return 0;
}

/* A block of a streamed body: one WRITE at a time (the backpressure). */
static int on_block(gw_req_t *r, rt_buf_t *block, bool last)
{
    s3_t *s = r->op;
    if (block == NULL || rt_buf_len(block) == 0) {
        rt_buf_unref(block);
        return last ? commit(r, s) : 0;
    }
    s->commit_after = last;
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_WRITE);
    rt_msg_set_buf(m, block);
    return s3_call(r, s->stream, m, on_written_block);
}

int s3_on_stream_begun(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    s->stream = m->from; /* the stream actor answers for itself */
    r->on_block = on_block;
    return gw__req_read_body(r, GW_BODY_STREAM,
                             (uint64_t)r->conf->max_put_bytes);
}

/* The body's length and the checks on it, common to PUT and UploadPart. */
int s3_put_prepare(gw_req_t *r, s3_t *s)
{
    int rc = s3_body_checks(r, s);
    if (rc < 0)
        return rc;
    int64_t len = s->chunked ? s->auth.decoded_len : r->head->content_length;
    if (r->head->content_length < 0 && !r->head->chunked)
        return GW_ENOLENGTH;
    if (len > (int64_t)r->conf->max_put_bytes)
        return GW_ETOOLARGE;
    s->want_len = len;
    return 0;
}

static int put_object(gw_req_t *r, s3_t *s)
{
    int rc = s3_put_prepare(r, s);
    if (rc < 0)
        return rc;
    if (s->want_len >= 0 && s->want_len <= WHOLE_PUT_MAX) {
        /* refused before the body is read, not after it was buffered */
        if ((rc = s3_storage_check(r, s)) < 0)
            return rc;
        r->on_body = on_whole_body;
        return gw__req_read_body(r, GW_BODY_BUFFER, (uint64_t)s->want_len);
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT_BEGIN);
    rt_msg_set_pb(m, s3_put_req(r, s));
    return s3_call(r, 0, m, s3_on_stream_begun);
}

/* ---- DeleteObject ---------------------------------------------------- */

static int on_delete(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    if (status < 0 && status != CLEO_ENOTFOUND)
        return status; /* a missing key is deleted already, as S3 says */
    s3obj_changed(r, s);
    return s3_empty(r, 204);
}

int s3_object_op(gw_req_t *r, s3_t *s)
{
    switch (s->op) {
    case S3_PUT_OBJECT:
        return put_object(r, s);
    case S3_GET_OBJECT:
    case S3_HEAD_OBJECT:
        return s3obj_get(r, s);
    case S3_DELETE_OBJECT:
        return s3_call(r, 0, s3pb_object(STO_MSG_DELETE, s->bucket, s->key),
                       on_delete);
    case S3_COPY_OBJECT:
        return s3obj_copy(r, s);
    default:
        return GW_ENOTIMPL;
    }
}

/* ---- metadata from headers ------------------------------------------- */

static char *hdr_dup(gw_req_t *r, const char *name)
{
    size_t n;
    const char *v = gw__hdr_get(r->head->hdrs, r->head->nhdrs, name, &n);
    /* bounded by the header limit (STYLE rule 26) */
    return v != NULL ? gw__xstrndup(v, n) : gw__xstrndup("", 0);
}

Cleo__Storage__PutReq *s3_put_req(gw_req_t *r, s3_t *s)
{
    Cleo__Storage__PutReq *p = s3pb_new(&cleo__storage__put_req__descriptor);
    p->bucket = s3pb_str(s->bucket);
    p->key = s3pb_str(s->key);
    p->content_type = hdr_dup(r, "content-type");
    p->content_encoding = hdr_dup(r, "content-encoding");
    p->cache_control = hdr_dup(r, "cache-control");
    const gw_http_head_t *h = r->head;
    p->user_meta = gw__xcalloc(h->nhdrs + 1, sizeof *p->user_meta);
    for (size_t i = 0; i < h->nhdrs; i++) {
        const gw_hdr_t *x = &h->hdrs[i];
        if (x->name_len <= 11 || strncasecmp(x->name, "x-amz-meta-", 11) != 0)
            continue;
        Cleo__Storage__MetaKV *kv =
            s3pb_new(&cleo__storage__meta_kv__descriptor);
        kv->key = gw__xstrndup(x->name + 11, x->name_len - 11);
        kv->value = gw__xstrndup(x->value, x->value_len);
        for (char *c = kv->key; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        p->user_meta[p->n_user_meta++] = kv;
    }
    /* aws-chunked is the transfer framing, not the object's encoding */
    if (s->chunked && strstr(p->content_encoding, "aws-chunked") != NULL) {
        free(p->content_encoding);
        p->content_encoding = s3pb_str("");
    }
    return p;
}
