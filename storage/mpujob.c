/*
 * mpujob.c - the multipart requests as engine jobs (job.h): each run
 * makes one sto_mpu_* call on the blocking pool and builds its
 * storage.proto reply. MPU_PART_BEGIN is not here: it opens a stream
 * actor (stream.c). Records are malloc'ed as in job.c; their sizes are
 * bounded (pages of 1000), except the part list of a complete, which a
 * client sizes and so may fail with CLEO_ENOMEM.
 */
#include "storage/job.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "storage/db.h"
#include "storage/pb.h"

#define PAGE_MAX 1000 /* parts or uploads in one reply */

static Cleo__Storage__PartInfo *part_pb(const sto_part_info_t *p)
{
    Cleo__Storage__PartInfo *r = sto__pb_calloc(1, sizeof *r);
    cleo__storage__part_info__init(r);
    r->part_number = p->part_number;
    r->etag = sto__pb_strdup(p->etag);
    r->size = p->size;
    r->last_modified_ms = p->last_modified_ms;
    return r;
}

int sto__mpu_run_create(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__PutReq *r = j->req;
    sto_put_opts_t o;
    sto_kv_t *kv = sto__pb_put_opts(r, &o);
    char id[STO_UPLOAD_ID_LEN + 1];
    int rc = sto_mpu_create(db, r->bucket, r->key, &o, sto__now_ms(), id);
    free(kv);
    if (rc < 0)
        return rc;
    Cleo__Storage__MpuUpload *u = sto__pb_calloc(1, sizeof *u);
    cleo__storage__mpu_upload__init(u);
    u->upload_id = sto__pb_strdup(id);
    j->res = u;
    return 0;
}

int sto__mpu_run_part_copy(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__MpuPartCopyReq *r = j->req;
    const Cleo__Storage__MpuPartReq *p = r->part;
    if (p == NULL)
        return CLEO_EBADREQ;
    sto_range_t range = {STO_RANGE_SPAN, r->first, r->last, 0};
    sto_part_info_t pi;
    int rc = sto_mpu_part_copy(db, p->bucket, p->key, p->upload_id,
                               p->part_number, r->src_bucket, r->src_key,
                               r->has_range ? &range : NULL, &pi);
    if (rc == 0)
        j->res = part_pb(&pi);
    return rc;
}

int sto__mpu_run_complete(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__MpuCompleteReq *r = j->req;
    sto_mpu_part_t *ps = calloc(r->n_parts + 1, sizeof *ps);
    if (ps == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < r->n_parts; i++) {
        if (r->parts[i] == NULL) {
            free(ps);
            return CLEO_EBADREQ;
        }
        ps[i] = (sto_mpu_part_t){r->parts[i]->part_number, r->parts[i]->etag};
    }
    sto_meta_t *m;
    int rc = sto_mpu_complete(db, r->bucket, r->key, r->upload_id, ps,
                              r->n_parts, sto__now_ms(), &m);
    free(ps);
    if (rc < 0)
        return rc;
    j->res = sto__pb_object_info(m);
    sto_meta_free(m);
    return 0;
}

int sto__mpu_run_abort(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__MpuPartReq *r = j->req;
    return sto_mpu_abort(db, r->bucket, r->key, r->upload_id);
}

int sto__mpu_run_list_parts(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__MpuListPartsReq *r = j->req;
    size_t max =
        r->max_parts == 0 || r->max_parts > PAGE_MAX ? PAGE_MAX : r->max_parts;
    sto_part_list_t *l;
    int rc = sto_mpu_list_parts(db, r->bucket, r->key, r->upload_id,
                                r->part_marker, max, &l);
    if (rc < 0)
        return rc;
    Cleo__Storage__MpuPartList *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__mpu_part_list__init(p);
    p->n_parts = l->n_parts;
    p->parts = sto__pb_calloc(l->n_parts, sizeof *p->parts);
    for (size_t i = 0; i < l->n_parts; i++)
        p->parts[i] = part_pb(&l->parts[i]);
    p->is_truncated = l->is_truncated;
    p->next_part_marker = l->next_part_marker;
    p->initiated_ms = l->initiated_ms;
    sto_part_list_free(l);
    j->res = p;
    return 0;
}

static Cleo__Storage__MpuUploadList *upload_list_pb(const sto_upload_list_t *l)
{
    Cleo__Storage__MpuUploadList *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__mpu_upload_list__init(p);
    p->n_uploads = l->n_uploads;
    p->uploads = sto__pb_calloc(l->n_uploads, sizeof *p->uploads);
    for (size_t i = 0; i < l->n_uploads; i++) {
        Cleo__Storage__MpuUploadInfo *u = sto__pb_calloc(1, sizeof *u);
        cleo__storage__mpu_upload_info__init(u);
        u->key = sto__pb_strdup(l->uploads[i].key);
        u->upload_id = sto__pb_strdup(l->uploads[i].upload_id);
        u->initiated_ms = l->uploads[i].initiated_ms;
        p->uploads[i] = u;
    }
    p->is_truncated = l->is_truncated;
    p->next_key_marker = sto__pb_strdup(l->next_key_marker);
    p->next_upload_id_marker = sto__pb_strdup(l->next_upload_id_marker);
    return p;
}

int sto__mpu_run_list_uploads(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__MpuListUploadsReq *r = j->req;
    sto_upload_list_opts_t o = {
        .prefix = r->prefix,
        .key_marker = r->key_marker,
        .upload_id_marker = r->upload_id_marker,
        .max_uploads = r->max_uploads == 0 || r->max_uploads > PAGE_MAX
                           ? PAGE_MAX
                           : r->max_uploads,
    };
    sto_upload_list_t *l;
    int rc = sto_mpu_list_uploads(db, r->bucket, &o, &l);
    if (rc < 0)
        return rc;
    j->res = upload_list_pb(l);
    sto_upload_list_free(l);
    return 0;
}
