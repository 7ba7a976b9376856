/*
 * job.c - an engine request as blocking work: the sto_* call it makes on
 * the pool and the storage.proto record it answers with. Records are
 * built from malloc so that rt_msg_set_pb()'s free_unpacked releases
 * them. Their sizes are bounded (keys 1 KiB, listings 1000 entries), so
 * out-of-memory aborts as for control structs.
 */
#include "storage/job.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/db.h"
#include "storage/pb.h"
#include "storage/rqueue.h"

#define LIST_MAX 1000 /* entries + prefixes in one LIST reply */

/* The record a request of type carries; NULL for none (or no entry). */
static const ProtobufCMessageDescriptor *req_desc(uint32_t type)
{
    const sto__op_t *op = sto__op_find(type);
    return op != NULL ? op->req : NULL;
}

static bool is_record(const void *pb, const ProtobufCMessageDescriptor *d)
{
    return pb != NULL && ((const ProtobufCMessage *)pb)->descriptor == d;
}

bool sto__job_is_valid(const rt_msg_t *req)
{
    const ProtobufCMessageDescriptor *d = req_desc(req->type);
    if (d == NULL)
        return true; /* BUCKET_LIST: no payload */
    rt_body_t *b = rt_msg_body(req);
    if (sto__op_find(req->type)->body) /* PUT */
        return b != NULL && b->buf != NULL && is_record(b->pb, d);
    return b == NULL && is_record(req->payload, d);
}

sto__job_t *sto__job_new(sto__dbref_t *ref, rt_msg_t *req, rt_from_t from)
{
    sto__job_t *j = sto__pb_calloc(1, sizeof *j);
    j->ref = sto__dbref_take(ref);
    j->type = req->type;
    j->from = from;
    j->owner = req->arg != 0 ? (rt_pid_t)req->arg : from.pid;
    rt_body_t *b = rt_msg_body(req);
    if (b != NULL) { /* the emptied body is freed with req */
        j->req = b->pb, j->body = b->buf;
        b->pb = NULL, b->buf = NULL;
    } else if (req_desc(req->type) != NULL) {
        j->req = req->payload;
        req->payload = NULL; /* ours now: the runtime will not free it */
    }
    return j;
}

void sto__job_free(void *arg)
{
    sto__job_t *j = arg;
    sto_get_close(j->get); /* only a snapshot and memory: any thread */
    if (j->req != NULL)
        protobuf_c_message_free_unpacked(j->req, NULL);
    if (j->res != NULL)
        protobuf_c_message_free_unpacked(j->res, NULL);
    rt_buf_unref(j->body);
    rt_buf_unref(j->out);
    sto__dbref_drop(j->ref);
    free(j);
}

/* ---- records from the engine's structs ---------------------------- */

static Cleo__Storage__BucketInfo *bucket_pb(const sto_bucket_info_t *b)
{
    Cleo__Storage__BucketInfo *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__bucket_info__init(p);
    p->name = sto__pb_strdup(b->name);
    p->owner = sto__pb_strdup(b->owner);
    p->created_ms = b->created_ms;
    p->objects = b->objects;
    p->bytes = b->bytes;
    return p;
}

static Cleo__Storage__ListReply *list_pb(const sto_list_t *l)
{
    Cleo__Storage__ListReply *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__list_reply__init(p);
    p->n_entries = l->n_entries;
    p->entries = sto__pb_calloc(l->n_entries, sizeof *p->entries);
    for (size_t i = 0; i < l->n_entries; i++) {
        Cleo__Storage__ListEntry *e = sto__pb_calloc(1, sizeof *e);
        cleo__storage__list_entry__init(e);
        e->key = sto__pb_strdup(l->entries[i].key);
        e->size = l->entries[i].size;
        e->etag = sto__pb_strdup(l->entries[i].etag);
        e->last_modified_ms = l->entries[i].last_modified_ms;
        p->entries[i] = e;
    }
    p->n_prefixes = l->n_prefixes;
    p->prefixes = sto__pb_calloc(l->n_prefixes, sizeof *p->prefixes);
    for (size_t i = 0; i < l->n_prefixes; i++)
        p->prefixes[i] = sto__pb_strdup(l->prefixes[i]);
    p->is_truncated = l->is_truncated;
    p->next_marker = sto__pb_strdup(l->next_marker);
    return p;
}

/* ---- the runs: one sto_* call each --------------------------------- */

static int run_bucket_create(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__BucketReq *r = j->req;
    return sto_bucket_create(db, r->name, r->owner, sto__now_ms());
}

static int run_bucket_delete(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__BucketReq *r = j->req;
    return sto_bucket_delete(db, r->name);
}

static int run_bucket_exists(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__BucketReq *r = j->req;
    Cleo__Storage__BucketExists *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__bucket_exists__init(p);
    p->exists = sto_bucket_exists(db, r->name);
    j->res = p;
    return 0;
}

/* *out = b's record with its ACL, read from the bucket's record (kept
 * out of sto_bucket_info_t); a bucket deleted meanwhile shows "". */
static int acl_fill(sto_db_t *db, Cleo__Storage__BucketInfo **out,
                    const sto_bucket_info_t *b)
{
    char acl[STO__ACL_MAX + 1];
    int rc = sto__bucket_acl(db, b->name, acl, sizeof acl);
    if (rc == CLEO_ENOTFOUND)
        acl[0] = '\0', rc = 0;
    if (rc < 0)
        return rc;
    *out = bucket_pb(b);
    (*out)->acl = sto__pb_strdup(acl);
    return 0;
}

static int run_bucket_list(sto_db_t *db, sto__job_t *j)
{
    sto_bucket_info_t *v;
    size_t n;
    int rc = sto_bucket_list(db, &v, &n);
    if (rc < 0)
        return rc;
    Cleo__Storage__BucketList *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__bucket_list__init(p);
    p->buckets = sto__pb_calloc(n, sizeof *p->buckets);
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = acl_fill(db, &p->buckets[i], &v[i])) == 0)
            p->n_buckets++;
    free(v);
    if (rc < 0) {
        cleo__storage__bucket_list__free_unpacked(p, NULL);
        return rc;
    }
    j->res = p;
    return 0;
}

static int run_bucket_du(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__BucketReq *r = j->req;
    sto_bucket_info_t b;
    int rc = sto_bucket_du(db, r->name, &b);
    if (rc == 0)
        rc = acl_fill(db, (Cleo__Storage__BucketInfo **)&j->res, &b);
    return rc;
}

static int run_bucket_update(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__BucketReq *r = j->req;
    return sto__bucket_update(db, r->name, r->owner, r->acl);
}

/* HEAD; with tombstones (cleo-adm whereis, a coordinator comparing
 * replicas) a deleted object answers its tombstone (deleted set, size 0,
 * no etag) rather than CLEO_ENOTFOUND. */
static int run_head(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__ObjectReq *r = j->req;
    sto_meta_t *m;
    int rc = r->tombstones ? sto_head_any(db, r->bucket, r->key, &m)
                           : sto_head(db, r->bucket, r->key, &m);
    if (rc < 0)
        return rc;
    j->res = sto__pb_object_info(m);
    sto_meta_free(m);
    return 0;
}

/* DELETE; with a version, a replica's tombstone of it (sto.h). */
static int run_delete(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__ObjectReq *r = j->req;
    sto_version_t v;
    uint64_t now = sto__now_ms();
    if (sto__pb_version(r->version, &v, &now))
        return sto_delete_version(db, r->bucket, r->key, now, &v);
    return sto_delete(db, r->bucket, r->key, now);
}

static int run_list(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__ListReq *r = j->req;
    sto_list_opts_t o = {
        .prefix = r->prefix,
        .delimiter = r->delimiter,
        .start_after = *r->start_after != '\0' ? r->start_after : NULL,
        .max_keys =
            r->max_keys == 0 || r->max_keys > LIST_MAX ? LIST_MAX : r->max_keys,
    };
    sto_list_t *l;
    int rc = sto_list(db, r->bucket, &o, &l);
    if (rc < 0)
        return rc;
    j->res = list_pb(l);
    sto_list_free(l);
    return 0;
}

/* PUT; with a version, a replica's write of it, stored only if newer
 * (else STO_ESUPERSEDED). */
static int run_put(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__PutReq *r = j->req;
    sto_put_opts_t o;
    sto_kv_t *kv = sto__pb_put_opts(r, &o);
    o.one_shot = rt_buf_len(j->body) <= db->o.chunk_size;
    sto_version_t v;
    if (sto__pb_version(r->version, &v, &o.now_ms))
        o.version = &v;
    sto_put_t *put;
    sto_meta_t *m;
    size_t len = rt_buf_len(j->body);
    int rc = sto_put_begin(db, r->bucket, r->key, &o, &put);
    free(kv); /* copied by sto_put_begin */
    if (rc < 0)
        return rc;
    if ((rc = sto_put_write(put, rt_buf_data(j->body), len)) < 0) {
        sto_put_abort(put);
        return rc;
    }
    if ((rc = sto_put_commit(put, (int64_t)len, NULL, &m)) < 0)
        return rc;
    j->res = sto__pb_object_info(m);
    sto_meta_free(m);
    return 0;
}

/* Read the whole span of g into a new buffer. */
static int read_all(sto_get_t *g, rt_buf_t **out)
{
    uint64_t first, len;
    sto_get_span(g, &first, &len);
    if (len > STO_WHOLE_MAX)
        return CLEO_ELIMIT;
    rt_buf_t *b;
    int rc = rt_buf_new((size_t)len, &b);
    if (rc < 0)
        return rc;
    size_t got = 0;
    while (got < len) {
        ssize_t n = sto_get_read(g, rt_buf_data(b) + got, (size_t)len - got);
        if (n <= 0) {
            rt_buf_unref(b);
            return n < 0 ? (int)n : STO_ECORRUPT; /* short: chunks gone */
        }
        got += (size_t)n;
    }
    if ((rc = rt_buf_set_len(b, got)) < 0) { /* got == len <= cap */
        rt_buf_unref(b);
        return rc;
    }
    *out = b;
    return 0;
}

static int run_get(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__ObjectReq *r = j->req;
    sto_get_t *g;
    int rc = sto_get_open(db, r->bucket, r->key, NULL, &g);
    if (rc < 0)
        return rc;
    if ((rc = read_all(g, &j->out)) == 0)
        j->res = sto__pb_object_info(sto_get_meta(g));
    sto_get_close(g);
    return rc;
}

static int run_copy(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__CopyReq *r = j->req;
    if (r->dst == NULL)
        return CLEO_EBADREQ;
    sto_put_opts_t o;
    sto_kv_t *kv = sto__pb_put_opts(r->dst, &o);
    sto_meta_t *m;
    int rc = sto_copy(db, r->src_bucket, r->src_key, r->dst->bucket,
                      r->dst->key, r->replace_meta ? &o : NULL, &m);
    free(kv);
    if (rc < 0)
        return rc;
    j->res = sto__pb_object_info(m);
    sto_meta_free(m);
    return 0;
}

/* Log one corrupt chunk (from the pool: logger_log takes any thread). */
static void on_corrupt(void *data, uint64_t id, uint32_t index, int err)
{
    sto__job_t *j = data;
    logger_log(j->ref->rt, LOG_ERROR, "scrub: chunk %016llx/%u: %s",
               (unsigned long long)id, index, sto_strerror(err));
}

static int run_scrub(sto_db_t *db, sto__job_t *j)
{
    sto_scrub_stats_t st;
    int rc = sto_scrub(db, on_corrupt, j, &st);
    if (rc < 0)
        return rc;
    Cleo__Storage__ScrubReport *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__scrub_report__init(p);
    p->chunks = st.chunks;
    p->bytes = st.bytes;
    p->corrupt = st.corrupt;
    j->res = p;
    return 0;
}

static int run_purge(sto_db_t *db, sto__job_t *j)
{
    uint64_t n = 0;
    int rc = sto_purge(db, sto__now_ms(), &n);
    if (rc == 0 && n > 0)
        logger_log(j->ref->rt, LOG_INFO, "purge: %llu tombstone(s)",
                   (unsigned long long)n);
    return rc;
}

/* GET_OPEN: open the object and read its first block here, so a small
 * object is answered by this one job; only when more remains does the
 * engine give the open get to a stream actor (sto__stream_adopt_get). */
static int run_get_open(sto_db_t *db, sto__job_t *j)
{
    Cleo__Storage__GetReq *r = j->req;
    if (r->range_kind > STO_RANGE_SUFFIX)
        return CLEO_EINVAL;
    sto_range_t rg = {.kind = (sto_range_kind_t)r->range_kind,
                      .first = r->first,
                      .last = r->last,
                      .suffix_len = r->suffix_len};
    sto_get_t *g;
    int rc = sto_get_open(db, r->bucket, r->key, &rg, &g);
    if (rc < 0)
        return rc;
    Cleo__Storage__GetOpen *go = sto__pb_calloc(1, sizeof *go);
    cleo__storage__get_open__init(go);
    go->info = sto__pb_object_info(sto_get_meta(g));
    sto_get_span(g, &go->first, &go->len);
    j->res = go;
    size_t want =
        go->len < db->o.chunk_size ? (size_t)go->len : db->o.chunk_size;
    if ((rc = rt_buf_new(want, &j->out)) < 0) {
        sto_get_close(g);
        return rc;
    }
    size_t got = 0;
    while (rc == 0 && got < want) {
        ssize_t n = sto_get_read(g, rt_buf_data(j->out) + got, want - got);
        rc = n < 0 ? (int)n : n == 0 ? STO_ECORRUPT : 0; /* short: gone */
        got += n > 0 ? (size_t)n : 0;
    }
    if (rc == 0)
        rc = rt_buf_set_len(j->out, got);
    if (rc < 0 || go->len == got) {
        sto_get_close(g);
        return rc;
    }
    j->get = g, j->left = go->len - got;
    return 0;
}

static int run_compact(sto_db_t *db, sto__job_t *j)
{
    return sto_db_compact(db, sto__now_ms());
}

#define D(name) (&cleo__storage__##name##__descriptor)
static const sto__op_t ops[] = {
    /* {id, kind, body, request record, reply record, run} */
    {STO_MSG_BUCKET_CREATE, STO__OP_WRITE, false, D(bucket_req), NULL,
     run_bucket_create},
    {STO_MSG_BUCKET_DELETE, STO__OP_WRITE, false, D(bucket_req), NULL,
     run_bucket_delete},
    {STO_MSG_BUCKET_EXISTS, STO__OP_READ, false, D(bucket_req),
     D(bucket_exists), run_bucket_exists},
    {STO_MSG_BUCKET_LIST, STO__OP_READ, false, NULL, D(bucket_list),
     run_bucket_list},
    {STO_MSG_BUCKET_DU, STO__OP_READ, false, D(bucket_req), D(bucket_info),
     run_bucket_du},
    {STO_MSG_BUCKET_UPDATE, STO__OP_WRITE, false, D(bucket_req), NULL,
     run_bucket_update},
    {STO_MSG_HEAD, STO__OP_READ, false, D(object_req), D(object_info),
     run_head},
    {STO_MSG_DELETE, STO__OP_WRITE, false, D(object_req), NULL, run_delete},
    {STO_MSG_LIST, STO__OP_READ, false, D(list_req), D(list_reply), run_list},
    {STO_MSG_PUT, STO__OP_WRITE, true, D(put_req), D(object_info), run_put},
    {STO_MSG_GET, STO__OP_READ, false, D(object_req), D(object_info), run_get},
    {STO_MSG_PUT_BEGIN, STO__OP_STREAM, false, D(put_req), D(stream_ref), NULL},
    {STO_MSG_GET_OPEN, STO__OP_READ, false, D(get_req), D(get_open),
     run_get_open},
    {STO_MSG_COPY, STO__OP_WRITE, false, D(copy_req), D(object_info), run_copy},
    {STO_MSG_MPU_CREATE, STO__OP_WRITE, false, D(put_req), D(mpu_upload),
     sto__mpu_run_create},
    {STO_MSG_MPU_PART_BEGIN, STO__OP_STREAM, false, D(mpu_part_req),
     D(stream_ref), NULL},
    {STO_MSG_MPU_PART_COPY, STO__OP_WRITE, false, D(mpu_part_copy_req),
     D(part_info), sto__mpu_run_part_copy},
    {STO_MSG_MPU_COMPLETE, STO__OP_WRITE, false, D(mpu_complete_req),
     D(object_info), sto__mpu_run_complete},
    {STO_MSG_MPU_ABORT, STO__OP_WRITE, false, D(mpu_part_req), NULL,
     sto__mpu_run_abort},
    {STO_MSG_MPU_LIST_PARTS, STO__OP_READ, false, D(mpu_list_parts_req),
     D(mpu_part_list), sto__mpu_run_list_parts},
    {STO_MSG_MPU_LIST_UPLOADS, STO__OP_READ, false, D(mpu_list_uploads_req),
     D(mpu_upload_list), sto__mpu_run_list_uploads},
    {STO_MSG_SCRUB, STO__OP_MAINT, false, NULL, D(scrub_report), run_scrub},
    {STO_MSG_COMPACT, STO__OP_MAINT, false, NULL, NULL, run_compact},
    {STO_MSG_PURGE, STO__OP_MAINT, false, NULL, NULL, run_purge},
    {STO_MSG_REPAIR_ADD, STO__OP_MAINT, false, D(repair_item), D(repair_result),
     sto__rq_run_add},
    {STO_MSG_REPAIR_REMOVE, STO__OP_MAINT, false, D(repair_item),
     D(repair_result), sto__rq_run_remove},
    {STO_MSG_REPAIR_SCAN, STO__OP_MAINT, false, D(repair_scan), D(repair_list),
     sto__rq_run_scan},
    {STO_MSG_REPAIR_COUNT, STO__OP_MAINT, false, D(repair_scan),
     D(repair_stats), sto__rq_run_count},
};
#undef D

const sto__op_t *sto__op_find(uint32_t id)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].id == id)
            return &ops[i];
    return NULL;
}

int sto__job_run(void *arg)
{
    sto__job_t *j = arg;
    const sto__op_t *op = sto__op_find(j->type);
    if (op == NULL || op->run == NULL)
        return CLEO_EBADREQ;
    return op->run(j->ref->db, j);
}
