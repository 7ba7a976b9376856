/*
 * s3_list.c - ListObjects and ListMultipartUploads over every storage
 * node: one page asked of each (fan.h), merged by key (merge.h). Without
 * a cluster there is one node and the merge hands its page on.
 */
#include <stdlib.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/err.h"
#include "gateway/fan.h"
#include "gateway/merge.h"
#include "gateway/ring.h"
#include "gateway/s3.h"
#include "gateway/s3pb.h"
#include "storage/contract.h"

/* The parameters of one listing, asked of every node. */
typedef struct {
    const char *prefix, *delim, *after, *upload_marker;
    uint32_t max;
} page_req_t;

static rt_msg_t *list_msg(s3_t *s, size_t i, void *arg)
{
    (void)i;
    const page_req_t *q = arg;
    return s3pb_list(s->bucket, q->prefix, q->delim, q->after, q->max);
}

static rt_msg_t *uploads_msg(s3_t *s, size_t i, void *arg)
{
    (void)i;
    const page_req_t *q = arg;
    Cleo__Storage__MpuListUploadsReq *u =
        s3pb_new(&cleo__storage__mpu_list_uploads_req__descriptor);
    u->bucket = s3pb_str(s->bucket);
    u->prefix = s3pb_str(q->prefix);
    u->key_marker = s3pb_str(q->after);
    u->upload_id_marker = s3pb_str(q->upload_marker);
    u->max_uploads = q->max;
    rt_msg_t *m = rt_msg_new(STO_MSG_MPU_LIST_UPLOADS);
    rt_msg_set_pb(m, u);
    return m;
}

/* The fan's first error: a node without the bucket's record is an empty
 * page in a cluster (the view says the bucket exists), the answer
 * itself with one engine. */
static int fan_status(const gw_req_t *r, const s3_fan_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        int st = f->status[i];
        if (st == STO_ENOBUCKET && r->conf->view != NULL)
            continue;
        if (st < 0)
            return st;
    }
    return 0;
}

/* Hand the merged page to the caller's continuation as a reply. */
static int deliver(gw_req_t *r, s3_t *s, uint32_t type, void *pb,
                   s3_reply_fn fn)
{
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, pb);
    int rc = fn(r, s, m, 0);
    rt_msg_free(m);
    return rc;
}

/* The caller's continuation waits in s->pending, as for one call. */
static s3_reply_fn take_pending(s3_t *s)
{
    s3_reply_fn fn = s->pending;
    s->pending = NULL;
    return fn;
}

static int on_pages(gw_req_t *r, s3_t *s, s3_fan_t *f)
{
    s3_reply_fn fn = take_pending(s);
    int st = fan_status(r, f);
    if (st < 0)
        return fn(r, s, NULL, st);
    const Cleo__Storage__ListReply **pages = calloc(f->n + 1, sizeof *pages);
    if (pages == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < f->n; i++)
        pages[i] = f->status[i] == 0 ? f->payload[i] : NULL;
    Cleo__Storage__ListReply *l;
    int rc = gw__merge_list(pages, f->n, (uint32_t)f->arg, &l);
    free(pages);
    return rc < 0 ? rc : deliver(r, s, STO_MSG_LIST, l, fn);
}

static int on_upload_pages(gw_req_t *r, s3_t *s, s3_fan_t *f)
{
    s3_reply_fn fn = take_pending(s);
    int st = fan_status(r, f);
    if (st < 0)
        return fn(r, s, NULL, st);
    const Cleo__Storage__MpuUploadList **pages =
        calloc(f->n + 1, sizeof *pages);
    if (pages == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < f->n; i++)
        pages[i] = f->status[i] == 0 ? f->payload[i] : NULL;
    Cleo__Storage__MpuUploadList *l;
    int rc = gw__merge_uploads(pages, f->n, (uint32_t)f->arg, &l);
    free(pages);
    return rc < 0 ? rc : deliver(r, s, STO_MSG_MPU_LIST_UPLOADS, l, fn);
}

static int fan_pages(gw_req_t *r, const page_req_t *q, s3_fan_msg_fn mk,
                     s3_fan_fn done, s3_reply_fn fn)
{
    s3_t *s = r->op;
    if (q->max == 0 || q->max > 1000)
        return CLEO_EINVAL;
    rt_pid_t *to;
    size_t n;
    rt_t *rt = gw__req_rt(r);
    int rc = gw__ring_engines(r->conf, rt, s->snap, true, &to, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (rt_is_overloaded(rt, to[i])) { /* shed, as s3_call does */
            free(to);
            return CLEO_EOVERLOAD;
        }
    s->pending = fn;
    s3_fan_spec_t fs = {
        .mk = mk, .mk_arg = (void *)q, .fn = done, .arg = q->max};
    rc = s3_fan(r, to, n, &fs);
    if (rc < 0)
        s->pending = NULL;
    return rc;
}

int s3_list_all(gw_req_t *r, const char *prefix, const char *delim,
                const char *after, uint32_t max, s3_reply_fn fn)
{
    page_req_t q = {prefix, delim, after, NULL, max};
    return fan_pages(r, &q, list_msg, on_pages, fn);
}

int s3_uploads_all(gw_req_t *r, const char *prefix, const char *key_marker,
                   const char *upload_id_marker, uint32_t max, s3_reply_fn fn)
{
    page_req_t q = {prefix, NULL, key_marker, upload_id_marker, max};
    return fan_pages(r, &q, uploads_msg, on_upload_pages, fn);
}
