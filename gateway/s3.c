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
#include "gateway/keys.h"
#include "gateway/ring.h"
#include "storage/sto.h"

#define CALL_TIMEOUT_MS 60000u

/* ---- small parsers --------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes into a new string ('+' is a space in queries
 * only). NUL bytes are refused. @return gives, or NULL (bad escape,
 * NUL, out of memory: *err says which). */
static char *pct_decode(const char *p, size_t n, bool plus, int *err,
                        size_t *out_len)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    *err = o == NULL ? CLEO_ENOMEM : 0;
    for (size_t i = 0; o != NULL && i < n; i++) {
        char c = p[i];
        if (c == '%') {
            int a = i + 2 < n ? hexval(p[i + 1]) : -1;
            int b = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                *err = GW_EARGUMENT;
                break;
            }
            c = (char)(a * 16 + b);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        } else if (c == '\0') {
            *err = GW_EARGUMENT;
            break;
        }
        o[k++] = c;
    }
    if (*err != 0) {
        free(o);
        return NULL;
    }
    o[k] = '\0';
    if (out_len != NULL)
        *out_len = k;
    return o;
}

static int parse_query(s3_t *s)
{
    if (s->query == NULL || s->query_len == 0)
        return 0;
    size_t cap = 1;
    for (size_t i = 0; i < s->query_len; i++)
        cap += s->query[i] == '&';
    s->q = calloc(cap, sizeof *s->q);
    if (s->q == NULL)
        return CLEO_ENOMEM;
    const char *p = s->query, *end = s->query + s->query_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        int err;
        if (e > p) {
            s3_qp_t *qp = &s->q[s->nq++];
            qp->name = pct_decode(p, (size_t)((eq ? eq : e) - p), true, &err,
                                  NULL);
            if (qp->name == NULL)
                return err;
            qp->value = eq ? pct_decode(eq + 1, (size_t)(e - eq - 1), true,
                                        &err, NULL)
                           : strdup("");
            if (qp->value == NULL)
                return eq ? err : CLEO_ENOMEM;
        }
        p = e + 1;
    }
    return 0;
}

const char *s3_q(const s3_t *s, const char *name)
{
    for (size_t i = 0; i < s->nq; i++)
        if (strcmp(s->q[i].name, name) == 0)
            return s->q[i].value;
    return NULL;
}

const char *s3_hdr(gw_req_t *r, const char *name, char *out, size_t cap)
{
    size_t n;
    const char *v = gw__hdr_get(r->head->hdrs, r->head->nhdrs, name, &n);
    if (v == NULL || n + 1 > cap)
        return NULL;
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

/* Keys S3 clients can write but that would make a path-like name
 * ambiguous: empty segments ("a//b") and "." or ".." segments. */
static bool key_is_safe(const char *k, size_t n)
{
    const char *p = k, *end = k + n;
    while (p <= end) {
        const char *sl = memchr(p, '/', (size_t)(end - p));
        const char *e = sl ? sl : end;
        size_t len = (size_t)(e - p);
        if ((len == 0 && sl != NULL && p != k) ||
            (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (sl == NULL)
            break;
        p = sl + 1;
    }
    return true;
}

/* The bucket of a virtual-host request: Host = <bucket>.<domain>[:port]. */
static void vhost_bucket(gw_req_t *r, s3_t *s)
{
    size_t n;
    const char *h = gw__hdr_get(r->head->hdrs, r->head->nhdrs, "host", &n);
    const char *dom = r->conf->domain;
    if (h == NULL || dom == NULL || *dom == '\0')
        return;
    const char *colon = memchr(h, ':', n);
    size_t hl = colon ? (size_t)(colon - h) : n, dl = strlen(dom);
    if (hl <= dl + 1 || h[hl - dl - 1] != '.' ||
        strncasecmp(h + hl - dl, dom, dl) != 0 || hl - dl - 1 > 63)
        return;
    memcpy(s->bucket, h, hl - dl - 1);
    s->bucket[hl - dl - 1] = '\0';
}

/* Split the target into bucket, key and query. */
static int parse_target(gw_req_t *r, s3_t *s)
{
    const char *u = r->head->url;
    if (u[0] != '/')
        return GW_EBADREQ; /* absolute-form and '*' targets */
    const char *qm = strchr(u, '?');
    s->path = u;
    s->path_len = qm ? (size_t)(qm - u) : strlen(u);
    s->query = qm ? qm + 1 : NULL;
    s->query_len = qm ? strlen(qm + 1) : 0;
    int err;
    size_t plen;
    char *path = pct_decode(u + 1, s->path_len - 1, false, &err, &plen);
    if (path == NULL)
        return err;
    vhost_bucket(r, s);
    const char *k = path;
    if (s->bucket[0] == '\0') {
        const char *sl = strchr(path, '/');
        size_t bl = sl ? (size_t)(sl - path) : plen;
        if (bl > 63) {
            free(path);
            return GW_EBUCKETNAME;
        }
        memcpy(s->bucket, path, bl);
        s->bucket[bl] = '\0';
        k = sl ? sl + 1 : path + plen;
    }
    size_t kl = plen - (size_t)(k - path);
    if (kl > 0) {
        s->key = strndup(k, kl);
        s->key_len = kl;
    }
    free(path);
    if (kl > 0 && s->key == NULL)
        return CLEO_ENOMEM;
    if (kl > r->conf->max_key_bytes)
        return GW_EKEYTOOLONG;
    if (kl > 0 && !key_is_safe(s->key, kl))
        return GW_EARGUMENT;
    return parse_query(s);
}

/* ---- routing --------------------------------------------------------- */

static int route_bucket(gw_req_t *r, s3_t *s)
{
    switch (r->head->method_id) {
    case HTTP_GET:
        if (s3_q(s, "location"))
            return S3_GET_LOCATION;
        if (s3_q(s, "versioning"))
            return S3_GET_VERSIONING;
        if (s3_q(s, "acl"))
            return S3_GET_ACL;
        if (s3_q(s, "uploads"))
            return S3_LIST_UPLOADS;
        if (s3_q(s, "policy") || s3_q(s, "cors") || s3_q(s, "lifecycle") ||
            s3_q(s, "tagging") || s3_q(s, "website") || s3_q(s, "logging") ||
            s3_q(s, "encryption") || s3_q(s, "replication"))
            return GW_ENOTIMPL;
        return s3_q(s, "list-type") ? S3_LIST_OBJECTS_V2 : S3_LIST_OBJECTS;
    case HTTP_PUT:
        return s3_q(s, "acl") || s3_q(s, "versioning") || s3_q(s, "policy")
                   ? GW_ENOTIMPL
                   : S3_CREATE_BUCKET;
    case HTTP_DELETE:
        return S3_DELETE_BUCKET;
    case HTTP_HEAD:
        return S3_HEAD_BUCKET;
    case HTTP_POST:
        return s3_q(s, "delete") ? S3_DELETE_OBJECTS : GW_ENOTIMPL;
    default:
        return GW_EMETHOD;
    }
}

static int route_object(gw_req_t *r, s3_t *s)
{
    bool upload = s3_q(s, "uploadId") != NULL;
    size_t n;
    bool copy = gw__hdr_get(r->head->hdrs, r->head->nhdrs, "x-amz-copy-source",
                            &n) != NULL;
    switch (r->head->method_id) {
    case HTTP_GET:
        if (s3_q(s, "acl") || s3_q(s, "tagging") || s3_q(s, "torrent"))
            return GW_ENOTIMPL;
        return upload ? S3_MPU_LIST_PARTS : S3_GET_OBJECT;
    case HTTP_HEAD:
        return S3_HEAD_OBJECT;
    case HTTP_PUT:
        if (s3_q(s, "acl") || s3_q(s, "tagging"))
            return GW_ENOTIMPL;
        if (upload && s3_q(s, "partNumber"))
            return copy ? S3_MPU_PART_COPY : S3_MPU_PART;
        return copy ? S3_COPY_OBJECT : S3_PUT_OBJECT;
    case HTTP_DELETE:
        return upload ? S3_MPU_ABORT : S3_DELETE_OBJECT;
    case HTTP_POST:
        if (s3_q(s, "uploads"))
            return S3_MPU_CREATE;
        return upload ? S3_MPU_COMPLETE : GW_ENOTIMPL;
    default:
        return GW_EMETHOD;
    }
}

static int route(gw_req_t *r, s3_t *s)
{
    if (s->bucket[0] == '\0')
        return r->head->method_id == HTTP_GET ? S3_LIST_BUCKETS : GW_EMETHOD;
    return s->key == NULL ? route_bucket(r, s) : route_object(r, s);
}

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

/* ---- authentication -------------------------------------------------- */

static void auth_req(gw_req_t *r, s3_t *s, gw_auth_req_t *q)
{
    memset(q, 0, sizeof *q);
    q->method = r->head->method;
    q->method_len = strlen(r->head->method);
    q->path = s->path, q->path_len = s->path_len;
    q->query = s->query, q->query_len = s->query_len;
    q->hdrs = r->head->hdrs, q->nhdrs = r->head->nhdrs;
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
    return dispatch(r, s);
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
    if (s->auth.kind == GW_AUTH_ANON) {
        if (!r->conf->anonymous_admin)
            return GW_EDENIED; /* every bucket is private */
        snprintf(s->user, sizeof s->user, "admin");
        s->is_admin = true;
        return dispatch(r, s);
    }
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
        (void)rt_send(rt_actor_rt(rt_current()), s->stream, m);
    }
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
    return parse_target(r, s);
}

static int s3_begin(gw_req_t *r)
{
    int rc = s3_setup(r);
    if (rc < 0)
        return rc;
    s3_t *s = r->op;
    rc = route(r, s);
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
    gw_xml_error_t x = {e->code, e->message, extra, n,
                        path[0] ? path : NULL, NULL, NULL};
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

int s3_call(gw_req_t *r, rt_pid_t to, rt_msg_t *req, s3_reply_fn fn)
{
    s3_t *s = r->op;
    rt_actor_t *self = gw__req_actor(r);
    if (to == 0)
        to = gw__ring_storage(rt_actor_rt(self), s->bucket);
    if (to == 0) {
        rt_msg_free(req);
        return GW_EUNAVAILABLE;
    }
    s->pending = fn;
    int rc = rt_call(self, to, req, CALL_TIMEOUT_MS, on_reply,
                     (void *)(uintptr_t)r->seq);
    if (rc < 0)
        s->pending = NULL;
    return rc;
}
