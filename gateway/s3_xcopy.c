/*
 * s3_xcopy.c - CopyObject and UploadPartCopy between two storage nodes.
 *
 * A copy is storage's own (STO_MSG_COPY, MPU_PART_COPY: the bytes never
 * leave the node) when the source's primary is the destination's, as it
 * always is with one storage node. In a cluster the two keys usually
 * live on different nodes, so the gateway carries the bytes: a get
 * stream on the source's node, a put (or part) stream on the
 * destination's, one block in flight at a time, as a client's PUT of
 * the same object would be. The destination's stream is s->stream
 * (s3_free aborts it if the copy stops early); the source's is aborted
 * by the copy's own state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/err.h"
#include "gateway/ring.h"
#include "gateway/s3obj.h"
#include "gateway/s3pb.h"
#include "gateway/sock.h"
#include "storage/contract.h"

typedef struct {
    rt_t *rt;
    rt_pid_t src;                  /* the source's get stream, or 0 */
    Cleo__Storage__GetOpen *go;    /* the source's GET_OPEN answer */
    rt_buf_t *block;               /* the block to write next, or NULL */
    bool part;                     /* UploadPartCopy (else CopyObject) */
    bool replace;                  /* CopyObject: the request's metadata */
    Cleo__Storage__MpuPartReq *pq; /* UploadPartCopy: the part */
} xcopy_t;

static void xcopy_free(void *p)
{
    xcopy_t *x = p;
    if (x->src != 0) /* an unfinished read: let the source go */
        (void)rt_send(x->rt, x->src, rt_msg_new(STO_MSG_STREAM_ABORT));
    rt_buf_unref(x->block);
    if (x->go != NULL)
        protobuf_c_message_free_unpacked(&x->go->base, NULL);
    if (x->pq != NULL)
        protobuf_c_message_free_unpacked(&x->pq->base, NULL);
    free(x);
}

bool s3obj_is_remote_copy(gw_req_t *r, s3_t *s, const char *src_bucket,
                          const char *src_key)
{
    rt_t *rt = gw__req_rt(r);
    rt_pid_t a, b;
    if (gw__ring_primary(r->conf, rt, s->snap, src_bucket, src_key, &a) < 0)
        return r->conf->view != NULL; /* the source's call reports it */
    if (gw__ring_primary(r->conf, rt, s->snap, s->bucket, s->key, &b) < 0)
        return false; /* the destination's call reports it */
    return a != b;
}

/* ---- the end ---------------------------------------------------------------
 */

static int on_committed(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    xcopy_t *x = s->x;
    s->stream = 0; /* a stream stops after its commit, whatever the end */
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc;
    if (x->part) {
        Cleo__Storage__PartInfo *pi = m->payload;
        rc = gw__s3xml_copy_part(&b, (int64_t)pi->last_modified_ms, pi->etag);
    } else {
        Cleo__Storage__ObjectInfo *oi = m->payload;
        s3obj_changed(r, s);
        rc = gw__s3xml_copy_object(&b, (int64_t)oi->last_modified_ms, oi->etag);
    }
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

static int commit(gw_req_t *r, s3_t *s)
{
    xcopy_t *x = s->x;
    Cleo__Storage__PutCommit *c =
        s3pb_new(&cleo__storage__put_commit__descriptor);
    c->size = (int64_t)x->go->len; /* storage checks the count */
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    return s3_call(r, s->stream, m, on_committed);
}

/* ---- the carrying ----------------------------------------------------------
 */

static int write_block(gw_req_t *r, s3_t *s);

static int on_read(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    xcopy_t *x = s->x;
    if (status < 0)
        return status;
    rt_buf_t *b = m->payload;
    if (b == NULL || rt_buf_len(b) == 0) {
        x->src = 0; /* the end: the stream has stopped */
        return commit(r, s);
    }
    m->payload = NULL; /* ours: written on */
    x->block = b;
    return write_block(r, s);
}

static int on_written(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    (void)m;
    xcopy_t *x = s->x;
    if (status < 0)
        return status;
    if (x->src == 0) /* the first block was all */
        return commit(r, s);
    return s3_call(r, x->src, rt_msg_new(STO_MSG_STREAM_READ), on_read);
}

static int write_block(gw_req_t *r, s3_t *s)
{
    xcopy_t *x = s->x;
    rt_buf_t *b = x->block;
    x->block = NULL;
    if (b == NULL || rt_buf_len(b) == 0) {
        rt_buf_unref(b);
        return on_written(r, s, NULL, 0);
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_WRITE);
    rt_msg_set_buf(m, b);
    return s3_call(r, s->stream, m, on_written);
}

static int on_dst_open(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    s->stream = m->from; /* the stream actor answers for itself */
    return write_block(r, s);
}

/* ---- the start -------------------------------------------------------------
 */

static Cleo__Storage__MetaKV **meta_dup(Cleo__Storage__MetaKV **v, size_t n)
{
    Cleo__Storage__MetaKV **d = gw__xcalloc(n + 1, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        d[i] = s3pb_new(&cleo__storage__meta_kv__descriptor);
        d[i]->key = s3pb_str(v[i]->key);
        d[i]->value = s3pb_str(v[i]->value);
    }
    return d;
}

/* The destination's PutReq: the request's metadata (REPLACE) or the
 * source's (COPY, storage's replace_meta = false). */
static Cleo__Storage__PutReq *dst_req(gw_req_t *r, s3_t *s, xcopy_t *x)
{
    Cleo__Storage__PutReq *p = s3_put_req(r, s);
    if (x->replace)
        return p;
    const Cleo__Storage__ObjectInfo *oi = x->go->info;
    protobuf_c_message_free_unpacked(&p->base, NULL);
    p = s3pb_new(&cleo__storage__put_req__descriptor);
    p->bucket = s3pb_str(s->bucket);
    p->key = s3pb_str(s->key);
    p->content_type = s3pb_str(oi->content_type);
    p->content_encoding = s3pb_str(oi->content_encoding);
    p->cache_control = s3pb_str(oi->cache_control);
    p->user_meta = meta_dup(oi->user_meta, oi->n_user_meta);
    p->n_user_meta = oi->n_user_meta;
    return p;
}

static int on_src_open(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    xcopy_t *x = s->x;
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    rt_body_t *b = rt_msg_body(m);
    if (b == NULL || b->pb == NULL)
        return CLEO_EPROTO;
    x->go = b->pb, b->pb = NULL;
    x->block = b->buf, b->buf = NULL;
    x->src = x->go->stream != 0 ? m->from : 0;
    if (x->go->info == NULL)
        return CLEO_EPROTO;
    rt_msg_t *q;
    if (x->part) {
        q = rt_msg_new(STO_MSG_MPU_PART_BEGIN);
        rt_msg_set_pb(q, x->pq);
        x->pq = NULL;
    } else {
        q = rt_msg_new(STO_MSG_PUT_BEGIN);
        rt_msg_set_pb(q, dst_req(r, s, x));
    }
    return s3_call(r, 0, q, on_dst_open);
}

/* Open the source for x (in s->x already). */
static int src_open(gw_req_t *r, const char *bucket, const char *key,
                    bool range, uint64_t first, uint64_t last)
{
    Cleo__Storage__GetReq *q = s3pb_new(&cleo__storage__get_req__descriptor);
    q->bucket = s3pb_str(bucket);
    q->key = s3pb_str(key);
    if (range)
        q->range_kind = STO_RANGE_SPAN, q->first = first, q->last = last;
    rt_msg_t *m = rt_msg_new(STO_MSG_GET_OPEN);
    rt_msg_set_pb(m, q);
    return s3_call_at(r, bucket, key, m, on_src_open);
}

static xcopy_t *xcopy_new(gw_req_t *r, s3_t *s)
{
    xcopy_t *x = gw__xcalloc(1, sizeof *x);
    x->rt = gw__req_rt(r);
    if (s->x_free != NULL)
        s->x_free(s->x);
    s->x = x, s->x_free = xcopy_free;
    return x;
}

int s3obj_xcopy(gw_req_t *r, s3_t *s, const char *src_bucket,
                const char *src_key, bool replace)
{
    char bucket[64];
    snprintf(bucket, sizeof bucket, "%s", src_bucket);
    char *key = gw__xstrndup(src_key, strlen(src_key));
    xcopy_t *x = xcopy_new(r, s); /* frees what src_* pointed into */
    x->replace = replace;
    int rc = src_open(r, bucket, key, false, 0, 0);
    free(key);
    return rc;
}

int s3obj_xcopy_part(gw_req_t *r, s3_t *s, Cleo__Storage__MpuPartCopyReq *q)
{
    xcopy_t *x = xcopy_new(r, s);
    x->part = true;
    x->pq = q->part, q->part = NULL;
    int rc =
        src_open(r, q->src_bucket, q->src_key, q->has_range, q->first, q->last);
    protobuf_c_message_free_unpacked(&q->base, NULL);
    return rc;
}
