/*
 * s3_route.c - the pure half of the S3 front: the request target
 * (path-style or virtual-host), the query, key rules and the operation a
 * request names. No actors, no I/O: the request-path fuzzer drives it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/err.h"
#include "gateway/s3.h"

/* ---- small parsers --------------------------------------------------- */

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
            int a = i + 2 < n ? gw__hexval(p[i + 1]) : -1;
            int b = i + 2 < n ? gw__hexval(p[i + 2]) : -1;
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
            qp->name =
                pct_decode(p, (size_t)((eq ? eq : e) - p), true, &err, NULL);
            if (qp->name == NULL)
                return err;
            qp->value =
                eq ? pct_decode(eq + 1, (size_t)(e - eq - 1), true, &err, NULL)
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
 * ambiguous (as MinIO refuses them): empty segments ("a//b", "/a") and
 * "." or ".." segments. A trailing '/' (a "folder" marker) is fine. */
static bool key_is_safe(const char *k, size_t n)
{
    const char *p = k, *end = k + n;
    while (p <= end) {
        const char *sl = memchr(p, '/', (size_t)(end - p));
        const char *e = sl ? sl : end;
        size_t len = (size_t)(e - p);
        if ((len == 0 && sl != NULL) || (len == 1 && p[0] == '.') ||
            (len == 2 && p[0] == '.' && p[1] == '.'))
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
    s->vhost = true;
}

/* Split the target into bucket, key and query. */
int s3_parse_target(gw_req_t *r, s3_t *s)
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

int s3_route(gw_req_t *r, s3_t *s)
{
    if (s->bucket[0] == '\0')
        return r->head->method_id == HTTP_GET ? S3_LIST_BUCKETS : GW_EMETHOD;
    return s->key == NULL ? route_bucket(r, s) : route_object(r, s);
}
