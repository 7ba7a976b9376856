/*
 * s3_mpu.c - S3 multipart uploads: CreateMultipartUpload, UploadPart
 * (streamed into a storage part stream), UploadPartCopy,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts and
 * ListMultipartUploads. Storage keeps the parts and stitches them by
 * reference on complete (storage/contract.h, "multipart uploads").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/err.h"
#include "gateway/s3obj.h"
#include "gateway/s3pb.h"
#include "gateway/sock.h"
#include "storage/contract.h"

#define COMPLETE_BODY_MAX (2u << 20)

/* A decimal query number in lo..hi; def when absent. */
static int qnum(s3_t *s, const char *name, uint32_t lo, uint32_t hi,
                uint32_t def, uint32_t *out)
{
    const char *v = s3_q(s, name);
    *out = def;
    if (v == NULL)
        return 0;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*v == '\0' || *end != '\0' || *v == '-' || n < lo || n > hi)
        return GW_EARGUMENT;
    *out = (uint32_t)n;
    return 0;
}

static Cleo__Storage__MpuPartReq *part_req(s3_t *s, uint32_t part)
{
    Cleo__Storage__MpuPartReq *q =
        s3pb_new(&cleo__storage__mpu_part_req__descriptor);
    q->bucket = s3pb_str(s->bucket);
    q->key = s3pb_str(s->key);
    q->upload_id = s3pb_str(s3_q(s, "uploadId"));
    q->part_number = part;
    return q;
}

static rt_msg_t *msg_pb(uint32_t type, void *pb)
{
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, pb);
    return m;
}

static int mpu_err(int status)
{
    return status == STO_ENOBUCKET ? GW_ENOBUCKET : status;
}

static int xml_done(gw_req_t *r, gw_xbuf_t *b, int rc)
{
    if (rc < 0) {
        gw__xbuf_destroy(b);
        return rc;
    }
    return s3_xml(r, 200, b);
}

/* ---- create, part, part copy ----------------------------------------- */

static int on_created(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return mpu_err(status);
    Cleo__Storage__MpuUpload *u = m->payload;
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    return xml_done(
        r, &b, gw__s3xml_mpu_initiate(&b, s->bucket, s->key, u->upload_id));
}

int s3_on_part_done(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    s->stream = 0;
    if (status == CLEO_EBADREQ)
        return s->has_md5 ? GW_EBADDIGEST : GW_EINCOMPLETE;
    if (status < 0)
        return mpu_err(status);
    Cleo__Storage__PartInfo *pi = m->payload;
    char q[80];
    snprintf(q, sizeof q, "\"%s\"", pi->etag);
    gw_kv_t kv[] = {{"ETag", q}};
    return gw__resp_full(r, 200, kv, 1, NULL, NULL);
}

static int upload_part(gw_req_t *r, s3_t *s)
{
    int rc = qnum(s, "partNumber", 1, 10000, 0, &s->part);
    if (rc == 0)
        rc = s3_put_prepare(r, s);
    if (rc < 0)
        return rc;
    return s3_call(r, 0, msg_pb(STO_MSG_MPU_PART_BEGIN, part_req(s, s->part)),
                   s3_on_stream_begun);
}

static int on_part_copied(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return mpu_err(status);
    Cleo__Storage__PartInfo *pi = m->payload;
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    return xml_done(
        r, &b,
        gw__s3xml_copy_part(&b, (int64_t)pi->last_modified_ms, pi->etag));
}

int s3_copy_source(gw_req_t *r, char bucket[64], char **key);

static void pb_free(void *x)
{
    protobuf_c_message_free_unpacked(x, NULL);
}

/* Storage's own copy, or the gateway's between two nodes (a cluster).
 * @param q takes. */
static int part_copy_send(gw_req_t *r, s3_t *s,
                          Cleo__Storage__MpuPartCopyReq *q)
{
    if (s3obj_is_remote_copy(r, s, q->src_bucket, q->src_key))
        return s3obj_xcopy_part(r, s, q);
    return s3_call(r, 0, msg_pb(STO_MSG_MPU_PART_COPY, q), on_part_copied);
}

/* Only the owner of the source bucket (or an admin) may copy from it. */
static int on_part_src_owner(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0 && status != CLEO_ENOTFOUND && status != CLEO_EINVAL)
        return status; /* unknown owner: refuse, do not guess */
    if (status == 0 &&
        strcmp(((Cleo__Storage__BucketInfo *)m->payload)->owner, s->user) != 0)
        return GW_EDENIED;
    Cleo__Storage__MpuPartCopyReq *q = s->x;
    s->x = NULL, s->x_free = NULL;
    return part_copy_send(r, s, q);
}

static int part_copy(gw_req_t *r, s3_t *s)
{
    int rc = qnum(s, "partNumber", 1, 10000, 0, &s->part);
    if (rc < 0)
        return rc;
    Cleo__Storage__MpuPartCopyReq *q =
        s3pb_new(&cleo__storage__mpu_part_copy_req__descriptor);
    char bucket[64], *key = NULL, v[96];
    if ((rc = s3_copy_source(r, bucket, &key)) < 0) {
        protobuf_c_message_free_unpacked(&q->base, NULL);
        return rc;
    }
    q->part = part_req(s, s->part);
    q->src_bucket = s3pb_str(bucket);
    q->src_key = key;
    const char *range = s3_hdr(r, "x-amz-copy-source-range", v, sizeof v);
    unsigned long long a, b;
    if (range != NULL) {
        int used = 0;
        if (sscanf(range, "bytes=%llu-%llu%n", &a, &b, &used) != 2 ||
            range[used] != '\0' || b < a) {
            protobuf_c_message_free_unpacked(&q->base, NULL);
            return GW_EARGUMENT;
        }
        q->has_range = true, q->first = a, q->last = b;
    }
    if (r->conf->view != NULL && (rc = s3_view_may_read(s, bucket)) < 0) {
        protobuf_c_message_free_unpacked(&q->base, NULL);
        return rc; /* a cluster: the managers' buckets */
    }
    if (s->is_admin || r->conf->view != NULL)
        return part_copy_send(r, s, q);
    s->x = q, s->x_free = pb_free; /* sent once the source is allowed */
    return s3_call(r, 0, s3pb_bucket(STO_MSG_BUCKET_DU, bucket, NULL),
                   on_part_src_owner);
}

/* ---- complete, abort ----------------------------------------------------- */

static int on_completed(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return mpu_err(status);
    Cleo__Storage__ObjectInfo *oi = m->payload;
    s3obj_changed(r, s);
    char loc[1200], host[256];
    const char *h = s3_hdr(r, "host", host, sizeof host);
    snprintf(loc, sizeof loc, "http://%s/%s/%s", h ? h : "localhost", s->bucket,
             s->key);
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    return xml_done(
        r, &b, gw__s3xml_mpu_complete(&b, loc, s->bucket, s->key, oi->etag));
}

static int on_complete_body(gw_req_t *r)
{
    s3_t *s = r->op;
    int rc = s3_body_final(r, s);
    if (rc < 0)
        return rc;
    if (r->body == NULL)
        return GW_EBADXML;
    gw_mpu_req_t x;
    rc = gw__s3xml_parse_complete(rt_buf_data(r->body), rt_buf_len(r->body),
                                  COMPLETE_BODY_MAX, &x);
    if (rc < 0)
        return rc;
    Cleo__Storage__MpuCompleteReq *q =
        s3pb_new(&cleo__storage__mpu_complete_req__descriptor);
    q->bucket = s3pb_str(s->bucket);
    q->key = s3pb_str(s->key);
    q->upload_id = s3pb_str(s3_q(s, "uploadId"));
    q->parts = gw__xcalloc(x.n, sizeof *q->parts);
    for (size_t i = 0; i < x.n; i++) {
        Cleo__Storage__PartInfo *p =
            s3pb_new(&cleo__storage__part_info__descriptor);
        p->part_number = x.parts[i].part_number;
        p->etag = s3pb_str(x.parts[i].etag);
        q->parts[q->n_parts++] = p;
    }
    gw__mpu_req_destroy(&x);
    return s3_call(r, 0, msg_pb(STO_MSG_MPU_COMPLETE, q), on_completed);
}

static int on_aborted(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    return status < 0 ? mpu_err(status) : s3_empty(r, 204);
}

/* ---- listings ----------------------------------------------------------- */

static int on_parts(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return mpu_err(status);
    Cleo__Storage__MpuPartList *l = m->payload;
    gw_xml_part_t *v = calloc(l->n_parts + 1, sizeof *v);
    if (v == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < l->n_parts; i++)
        v[i] = (gw_xml_part_t){l->parts[i]->part_number, l->parts[i]->etag,
                               l->parts[i]->size,
                               (int64_t)l->parts[i]->last_modified_ms};
    uint32_t marker, max;
    (void)qnum(s, "part-number-marker", 0, 10000, 0, &marker);
    (void)qnum(s, "max-parts", 0, UINT32_MAX, 1000, &max);
    gw_xml_owner_t o = {s->user, s->user};
    gw_xml_parts_t x = {s->bucket,
                        s->key,
                        s3_q(s, "uploadId"),
                        &o,
                        marker,
                        l->next_part_marker,
                        max > 1000 ? 1000 : max,
                        l->is_truncated,
                        v,
                        l->n_parts};
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__s3xml_list_parts(&b, &x);
    free(v);
    return xml_done(r, &b, rc);
}

static int list_parts(gw_req_t *r, s3_t *s)
{
    uint32_t marker, max;
    int rc = qnum(s, "part-number-marker", 0, 10000, 0, &marker);
    if (rc == 0)
        rc = qnum(s, "max-parts", 0, UINT32_MAX, 1000, &max);
    if (rc < 0)
        return rc;
    Cleo__Storage__MpuListPartsReq *q =
        s3pb_new(&cleo__storage__mpu_list_parts_req__descriptor);
    q->bucket = s3pb_str(s->bucket);
    q->key = s3pb_str(s->key);
    q->upload_id = s3pb_str(s3_q(s, "uploadId"));
    q->part_marker = marker;
    q->max_parts = max > 1000 ? 1000 : max;
    return s3_call(r, 0, msg_pb(STO_MSG_MPU_LIST_PARTS, q), on_parts);
}

static int on_uploads(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return mpu_err(status);
    Cleo__Storage__MpuUploadList *l = m->payload;
    gw_xml_upload_t *v = calloc(l->n_uploads + 1, sizeof *v);
    if (v == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < l->n_uploads; i++)
        v[i] = (gw_xml_upload_t){l->uploads[i]->key, l->uploads[i]->upload_id,
                                 (int64_t)l->uploads[i]->initiated_ms};
    uint32_t max;
    (void)qnum(s, "max-uploads", 0, UINT32_MAX, 1000, &max);
    const char *enc = s3_q(s, "encoding-type");
    gw_xml_owner_t o = {s->user, s->user};
    gw_xml_uploads_t x = {
        .bucket = s->bucket,
        .key_marker = s3_q(s, "key-marker"),
        .upload_id_marker = s3_q(s, "upload-id-marker"),
        .next_key_marker = l->next_key_marker,
        .next_upload_id_marker = l->next_upload_id_marker,
        .prefix = s3_q(s, "prefix"),
        .max_uploads = max > 1000 ? 1000 : max,
        .is_truncated = l->is_truncated,
        .url_encode = enc != NULL && strcmp(enc, "url") == 0,
        .owner = &o,
        .uploads = v,
        .n_uploads = l->n_uploads,
    };
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__s3xml_list_uploads(&b, &x);
    free(v);
    return xml_done(r, &b, rc);
}

static int list_uploads(gw_req_t *r, s3_t *s)
{
    uint32_t max;
    int rc = qnum(s, "max-uploads", 0, UINT32_MAX, 1000, &max);
    if (rc < 0)
        return rc;
    /* a page from every storage node, merged by key and upload id (0
     * asks storage for its default page, as before) */
    return s3_uploads_all(r, s3_q(s, "prefix"), s3_q(s, "key-marker"),
                          s3_q(s, "upload-id-marker"),
                          max == 0 || max > 1000 ? 1000 : max, on_uploads);
}

int s3_mpu_op(gw_req_t *r, s3_t *s)
{
    switch (s->op) {
    case S3_MPU_CREATE:
        return s3_call(r, 0, msg_pb(STO_MSG_MPU_CREATE, s3_put_req(r, s)),
                       on_created);
    case S3_MPU_PART:
        return upload_part(r, s);
    case S3_MPU_PART_COPY:
        return part_copy(r, s);
    case S3_MPU_COMPLETE:
        if (r->head->content_length > (int64_t)COMPLETE_BODY_MAX)
            return GW_EMAXMSG; /* refused before a byte is read */
        r->on_body = on_complete_body;
        return s3_body_checks(r, s) < 0
                   ? GW_EINVALIDDIGEST
                   : gw__req_read_body(r, GW_BODY_BUFFER, COMPLETE_BODY_MAX);
    case S3_MPU_ABORT:
        return s3_call(r, 0, msg_pb(STO_MSG_MPU_ABORT, part_req(s, 0)),
                       on_aborted);
    case S3_MPU_LIST_PARTS:
        return list_parts(r, s);
    case S3_LIST_UPLOADS:
        return list_uploads(r, s);
    default:
        return GW_ENOTIMPL;
    }
}
