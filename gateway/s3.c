/*
 * s3.c - the S3 API's front: target and query parsing, operation
 * routing, authentication, storage calls and error answers.
 */
#include "gateway/s3.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/api.h"
#include "gateway/err.h"
#include "gateway/fan.h"
#include "gateway/keys.h"
#include "gateway/ring.h"
#include "gateway/s3pb.h"
#include "gateway/view.h"
#include "storage/contract.h"

#define CALL_TIMEOUT_MS 60000u

static int dispatch(gw_req_t *r, s3_t *s)
{
    switch (s->op) { /* size: dispatch */
    case S3_LIST_BUCKETS:
    case S3_CREATE_BUCKET:
    case S3_DELETE_BUCKET:
    case S3_HEAD_BUCKET:
    case S3_GET_LOCATION:
    case S3_GET_VERSIONING:
    case S3_GET_ACL:
    case S3_LIST_OBJECTS:
    case S3_LIST_OBJECTS_V2:
    case S3_DELETE_OBJECTS:
        return s3_bucket_op(r, s);
    case S3_MPU_CREATE:
    case S3_MPU_PART:
    case S3_MPU_PART_COPY:
    case S3_MPU_COMPLETE:
    case S3_MPU_ABORT:
    case S3_MPU_LIST_PARTS:
    case S3_LIST_UPLOADS:
        return s3_mpu_op(r, s);
    default:
        return s3_object_op(r, s);
    }
}

/* ---- authorisation ---------------------------------------------------- */

static int on_bucket_owner(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0 && status != CLEO_ENOTFOUND && status != CLEO_EINVAL)
        return status; /* unknown owner: refuse, do not guess */
    if (status == 0) {
        Cleo__Storage__BucketInfo *bi = m->payload;
        if (strcmp(bi->owner, s->user) != 0)
            return GW_EDENIED;
    }
    /* an absent bucket is the operation's to report (NoSuchBucket) */
    return dispatch(r, s);
}

/* Buckets have an owner: only the owner (or an admin) may touch a bucket
 * and its objects. Listing buckets shows a user its own; creating one
 * makes the user its owner. */
static int authorise(gw_req_t *r, s3_t *s)
{
    if (s->op == S3_LIST_BUCKETS || s->op == S3_CREATE_BUCKET)
        return dispatch(r, s);
    if (r->conf->view != NULL) { /* a cluster: the managers' buckets */
        int rc = s3_view_authorise(r, s);
        return rc < 0 ? rc : dispatch(r, s);
    }
    if (s->is_admin)
        return dispatch(r, s);
    return s3_call(r, 0, s3pb_bucket(STO_MSG_BUCKET_DU, s->bucket, NULL),
                   on_bucket_owner);
}

/* ---- authentication -------------------------------------------------- */

static void auth_req(gw_req_t *r, s3_t *s, gw_auth_req_t *q)
{
    memset(q, 0, sizeof *q);
    q->method = r->head->method;
    q->method_len = strlen(r->head->method);
    q->path = s->path, q->path_len = s->path_len;
    q->query = s->query, q->query_len = s->query_len;
    q->hdrs = r->head->hdrs, q->nhdrs = r->head->nhdrs;
    if (s->vhost) /* SigV2 signs the bucket of a virtual-host request */
        q->vhost_bucket = s->bucket, q->vhost_bucket_len = strlen(s->bucket);
    q->now = (int64_t)time(NULL);
}

/* The key is known: check the signature, then run the operation. */
static int on_key(gw_req_t *r, s3_t *s, const gw_key_t *k)
{
    gw_auth_req_t q;
    auth_req(r, s, &q);
    int rc = gw__auth_verify(&q, &s->auth, k->secret, strlen(k->secret),
                             gw__keys_sigcache(r));
    if (rc < 0)
        return rc;
    snprintf(s->user, sizeof s->user, "%s", k->user);
    s->is_admin = k->is_admin;
    return authorise(r, s);
}

static int on_key_found(gw_req_t *r, const gw_key_t *k, int status)
{
    s3_t *s = r->op;
    int rc = status < 0 ? status : on_key(r, s, k);
    if (rc < 0)
        gw__req_fail(r, rc);
    return 0;
}

static int authenticate(gw_req_t *r, s3_t *s)
{
    gw_auth_req_t q;
    auth_req(r, s, &q);
    int rc = gw__auth_parse(&q, &s->auth);
    if (rc < 0)
        return rc;
    if (s->auth.kind == GW_AUTH_ANON)
        return GW_EDENIED; /* every bucket is private */
    return gw__keys_lookup(r, s->auth.access_key, on_key_found);
}

/* ---- the API --------------------------------------------------------- */

static void s3_free(gw_req_t *r)
{
    s3_t *s = r->op;
    if (s == NULL)
        return;
    if (s->stream != 0) { /* an unfinished storage stream: let it go */
        rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_ABORT);
        (void)rt_send(gw__req_rt(r), s->stream, m);
    }
    rt_buf_unref(s->next_buf);
    if (s->x_free != NULL)
        s->x_free(s->x);
    for (size_t i = 0; i < s->nq; i++)
        free(s->q[i].name), free(s->q[i].value);
    free(s->q);
    free(s->key);
    if (s->check_sha)
        gw__sha256_check_destroy(&s->sha);
    if (s->chunked)
        gw__chunked_destroy(&s->dec);
    s3_fan_free(s->fan);
    rt_msg_free(s->hit);
    gw__snap_release(s->snap);
    free(s);
    r->op = NULL;
}

int s3_setup(gw_req_t *r)
{
    s3_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CLEO_ENOMEM;
    r->op = s;
    r->op_free = s3_free;
    s->want_len = -1;
    s->snap = gw__view_get(r->conf->view);
    return s3_parse_target(r, s);
}

static int s3_begin(gw_req_t *r)
{
    int rc = s3_setup(r);
    if (rc < 0)
        return rc;
    s3_t *s = r->op;
    rc = s3_route(r, s);
    if (rc < 0)
        return rc;
    s->op = (s3_op_t)rc;
    return authenticate(r, s);
}

/* ---- answers --------------------------------------------------------- */

int s3_xml(gw_req_t *r, int status, gw_xbuf_t *b)
{
    size_t len;
    char *x = gw__xbuf_take(b, &len);
    rt_buf_t *body = x != NULL ? gw__buf_of(x, len) : NULL;
    free(x);
    if (x != NULL && body == NULL)
        return CLEO_ENOMEM;
    return gw__resp_full(r, status, NULL, 0, "application/xml", body);
}

int s3_empty(gw_req_t *r, int status)
{
    return gw__resp_full(r, status, NULL, 0, NULL, NULL);
}

int s3_error(gw_req_t *r, int err)
{
    s3_t *s = r->op;
    bool is_key = s != NULL && s->key != NULL;
    const gw_s3_err_t *e = gw__s3_err(err, is_key);
    if (err == GW_ENOTMODIFIED || r->no_body ||
        (r->head != NULL && r->head->method_id == HTTP_HEAD))
        return s3_empty(r, e->status);
    gw_xml_kv_t extra[2];
    size_t n = 0;
    if (s != NULL && s->bucket[0] != '\0')
        extra[n++] = (gw_xml_kv_t){"BucketName", s->bucket};
    if (is_key)
        extra[n++] = (gw_xml_kv_t){"Key", s->key};
    char path[1100] = "";
    if (s != NULL)
        snprintf(path, sizeof path, "%.*s", (int)s->path_len, s->path);
    gw_xml_error_t x = {e->code, e->message, extra, n, path[0] ? path : NULL,
                        NULL,    NULL};
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    if (gw__s3xml_error(&b, &x) < 0) {
        gw__xbuf_destroy(&b);
        return s3_empty(r, e->status);
    }
    return s3_xml(r, e->status, &b);
}

static int api_error(gw_req_t *r, int err)
{
    return s3_error(r, err);
}

const gw_api_t gw__s3_api = {"s3", s3_begin, api_error, gw__keys_free};

/* ---- storage calls --------------------------------------------------- */

static int on_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    gw_req_t *r = gw__conn_req(self, (uint64_t)(uintptr_t)data);
    if (r == NULL)
        return 0; /* the request is gone (client left) */
    s3_t *s = r->op;
    s3_reply_fn fn = s->pending;
    s->pending = NULL;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    int rc = fn(r, s, reply, status);
    if (rc < 0)
        gw__req_fail(r, rc);
    return 0;
}

int s3_storage_check(gw_req_t *r, s3_t *s)
{
    rt_t *rt = gw__req_rt(r);
    rt_pid_t to;
    int rc = gw__ring_primary(r->conf, rt, s->snap, s->bucket, s->key, &to);
    if (rc < 0)
        return rc;
    return rt_is_overloaded(rt, to) ? CLEO_EOVERLOAD : 0;
}

/* A call to `to`, or (fresh) to the ring's choice for bucket/key. */
static int call(gw_req_t *r, rt_pid_t to, const char *bucket, const char *key,
                rt_msg_t *req, s3_reply_fn fn)
{
    s3_t *s = r->op;
    rt_actor_t *self = gw__req_actor(r);
    bool fresh = to == 0; /* a new request, not a stream's next step */
    int rc = 0;
    if (fresh)
        rc = gw__ring_primary(r->conf, rt_actor_rt(self), s->snap, bucket, key,
                              &to);
    if (rc < 0) {
        rt_msg_free(req);
        return rc;
    }
    /* Shed load: a check, then the send, so a few senders racing may
     * pass the limit by one each; the storage engine's own count of the
     * work it holds (CLEO_EOVERLOAD answers) is exact. */
    if (fresh && rt_is_overloaded(rt_actor_rt(self), to)) {
        rt_msg_free(req);
        return CLEO_EOVERLOAD;
    }
    /* The RING version the request was routed by (storage/ringver.h):
     * the engine tells whichever node is behind. */
    if (fresh && s->snap != NULL && s->snap->st->ring_cur != NULL)
        req->tag = (uint32_t)s->snap->st->ring_cur->version;
    s->pending = fn;
    rc = rt_call(self, to, req, CALL_TIMEOUT_MS, on_reply,
                 (void *)(uintptr_t)r->seq);
    if (rc < 0)
        s->pending = NULL;
    return rc;
}

int s3_call(gw_req_t *r, rt_pid_t to, rt_msg_t *req, s3_reply_fn fn)
{
    s3_t *s = r->op;
    return call(r, to, s->bucket, s->key, req, fn);
}

int s3_call_at(gw_req_t *r, const char *bucket, const char *key, rt_msg_t *req,
               s3_reply_fn fn)
{
    return call(r, 0, bucket, key, req, fn);
}
