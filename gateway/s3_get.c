/*
 * s3_get.c - GetObject and HeadObject (ranges, conditions, response-*
 * overrides; the body streamed one storage block per socket write, so a
 * client that stops reading holds one block, not the object) and
 * CopyObject (a storage-side copy: the bytes never cross the gateway).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/cache.h"
#include "gateway/err.h"
#include "gateway/s3obj.h"
#include "gateway/s3pb.h"
#include "gateway/sock.h"
#include "storage/contract.h"

/* ---- conditions ------------------------------------------------------ */

/* Does an If-Match / If-None-Match list (quoted, comma separated, or
 * "*") name etag? */
static bool etag_listed(const char *v, size_t n, const char *etag)
{
    size_t el = strlen(etag);
    const char *p = v, *end = v + n;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        const char *e = p;
        while (e < end && *e != ',')
            e++;
        const char *a = p, *b = e;
        while (b > a && b[-1] == ' ')
            b--;
        if (b - a == 1 && *a == '*')
            return true;
        if (b - a >= 2 && *a == '"' && b[-1] == '"')
            a++, b--;
        if ((size_t)(b - a) == el && memcmp(a, etag, el) == 0)
            return true;
        p = e;
    }
    return false;
}

static const char *cond_hdr(gw_req_t *r, const char *prefix, const char *name,
                            size_t *n)
{
    char full[80];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return gw__hdr_get(r->head->hdrs, r->head->nhdrs, full, n);
}

/* A date header as seconds; false when absent or unparseable (ignored,
 * as RFC 7232 says). */
static bool cond_date(gw_req_t *r, const char *prefix, const char *name,
                      int64_t *sec)
{
    size_t n;
    const char *v = cond_hdr(r, prefix, name, &n);
    return v != NULL && gw__http_date_parse(v, n, sec) == 0;
}

int s3obj_conditions(gw_req_t *r, const char *prefix, const char *etag,
                     uint64_t last_modified_ms)
{
    bool copy = prefix[0] != '\0';
    int64_t lm = (int64_t)(last_modified_ms / 1000), t;
    size_t n;
    const char *im = cond_hdr(r, prefix, "if-match", &n);
    if (im != NULL && !etag_listed(im, n, etag))
        return GW_EPRECOND;
    if (im == NULL && cond_date(r, prefix, "if-unmodified-since", &t) && lm > t)
        return GW_EPRECOND;
    const char *inm = cond_hdr(r, prefix, "if-none-match", &n);
    if (inm != NULL && etag_listed(inm, n, etag))
        return copy ? GW_EPRECOND : GW_ENOTMODIFIED;
    if (inm == NULL && cond_date(r, prefix, "if-modified-since", &t) && lm <= t)
        return copy ? GW_EPRECOND : GW_ENOTMODIFIED;
    return 0;
}

/* ---- headers --------------------------------------------------------- */

static const char *const overrides[][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

/* Put name: value in kv unless an override of that name is queried. */
static size_t kv_add(s3_t *s, gw_kv_t *kv, size_t k, size_t cap,
                     const char *name, const char *value)
{
    for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++)
        if (strcmp(overrides[i][1], name) == 0 && s3_q(s, overrides[i][0]))
            return k;
    if (k < cap && value != NULL && value[0] != '\0')
        kv[k++] = (gw_kv_t){name, value};
    return k;
}

size_t s3obj_headers(gw_req_t *r, s3_t *s, const Cleo__Storage__ObjectInfo *oi,
                     gw_kv_t *kv, size_t cap, char *arena, size_t arena_len)
{
    size_t k = 0, used = 0;
    char *etag = arena;
    used += (size_t)snprintf(etag, arena_len, "\"%s\"", oi->etag) + 1;
    char *lm = arena + used;
    gw__http_date_fmt((int64_t)oi->last_modified_ms, lm);
    used += GW_HTTP_DATE_LEN;
    kv[k++] = (gw_kv_t){"ETag", etag};
    kv[k++] = (gw_kv_t){"Last-Modified", lm};
    kv[k++] = (gw_kv_t){"Accept-Ranges", "bytes"};
    const char *ct =
        oi->content_type[0] ? oi->content_type : "binary/octet-stream";
    k = kv_add(s, kv, k, cap, "Content-Type", ct);
    k = kv_add(s, kv, k, cap, "Content-Encoding", oi->content_encoding);
    k = kv_add(s, kv, k, cap, "Cache-Control", oi->cache_control);
    for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
        const char *v = s3_q(s, overrides[i][0]);
        if (v != NULL && k < cap)
            kv[k++] = (gw_kv_t){overrides[i][1], v};
    }
    for (size_t i = 0; i < oi->n_user_meta && k < cap; i++) {
        char *h = arena + used;
        int w = snprintf(h, arena_len - used, "x-amz-meta-%s",
                         oi->user_meta[i]->key);
        if (w < 0 || used + (size_t)w + 1 > arena_len)
            break;
        used += (size_t)w + 1;
        kv[k++] = (gw_kv_t){h, oi->user_meta[i]->value};
    }
    return k;
}

/* ---- GET and HEAD ---------------------------------------------------- */

#define HDR_CAP 64
#define ARENA 8192

/* A GET body streams with one block on the wire and the next one read
 * ahead (at most two blocks per request): the disk and the socket work
 * at once. Reading ahead starts once the client has taken the first
 * block, so a client that never reads holds one block, not two. */
static int read_ahead(gw_req_t *r, s3_t *s);

static int send_block(gw_req_t *r, s3_t *s, rt_buf_t *b)
{
    s->writing = true;
    int rc = gw__resp_body(r, b);
    if (rc == 0 && !s->eof && !s->reading && s->next_buf == NULL)
        rc = read_ahead(r, s);
    return rc;
}

static int on_read_block(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    s->reading = false;
    if (status < 0)
        return status; /* the head is out: the conn closes the socket */
    rt_buf_t *b = m->payload;
    if (b == NULL || rt_buf_len(b) == 0) { /* the end */
        s->eof = true;
        s->stream = 0;
        if (!s->writing) {
            r->on_written = NULL;
            gw__resp_end(r);
        }
        return 0;
    }
    m->payload = NULL; /* ours: sent on */
    if (s->writing) {
        s->next_buf = b; /* the socket is busy: wait for it */
        return 0;
    }
    return send_block(r, s, b);
}

static int read_ahead(gw_req_t *r, s3_t *s)
{
    s->reading = true;
    int rc =
        s3_call(r, s->stream, rt_msg_new(STO_MSG_STREAM_READ), on_read_block);
    if (rc < 0)
        s->reading = false;
    return rc;
}

/* A block is on the wire: send the one read ahead, or end. */
static int get_next(gw_req_t *r)
{
    s3_t *s = r->op;
    s->writing = false;
    if (s->next_buf != NULL) {
        rt_buf_t *b = s->next_buf;
        s->next_buf = NULL;
        return send_block(r, s, b);
    }
    if (s->eof) {
        r->on_written = NULL;
        gw__resp_end(r);
        return 0;
    }
    return s->reading ? 0 : read_ahead(r, s);
}

static int open_err(int status)
{
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    return status == STO_ERANGE ? STO_ERANGE : status;
}

/* Send the head and the first block. Unless `more` (a stream follows, or
 * the caller still has work), the response ends here and r and s are
 * freed: the caller must not touch them after a 0 return. */
static int send_object_at(gw_req_t *r, s3_t *s,
                          const Cleo__Storage__ObjectInfo *oi, int status,
                          int64_t len, const char *crange, rt_buf_t *first,
                          bool hold)
{
    gw_kv_t kv[HDR_CAP];
    char *arena = malloc(ARENA);
    if (arena == NULL) {
        rt_buf_unref(first);
        return CLEO_ENOMEM;
    }
    size_t k = s3obj_headers(r, s, oi, kv, HDR_CAP - 1, arena, ARENA);
    if (crange != NULL)
        kv[k++] = (gw_kv_t){"Content-Range", crange};
    int rc = gw__resp_head(r, status, kv, k, len);
    free(arena);
    if (rc < 0) {
        rt_buf_unref(first);
        return rc;
    }
    if (first == NULL) { /* HEAD */
        gw__resp_end(r);
        return 0;
    }
    r->on_written = s->stream != 0 ? get_next : NULL;
    if (s->stream != 0) { /* read ahead once the client has read this */
        s->writing = true;
        return gw__resp_body(r, first);
    }
    rc = gw__resp_body(r, first);
    if (rc == 0 && !hold)
        gw__resp_end(r);
    return rc;
}

static int send_object(gw_req_t *r, s3_t *s,
                       const Cleo__Storage__ObjectInfo *oi, int status,
                       int64_t len, const char *crange, rt_buf_t *first)
{
    return send_object_at(r, s, oi, status, len, crange, first, false);
}

/* A whole small object read from storage: offer it to the cache (which
 * takes the info record and a reference on the bytes). */
static void cache_fill(gw_req_t *r, s3_t *s, Cleo__Storage__GetOpen *go,
                       rt_buf_t *buf)
{
    rt_t *rt = rt_actor_rt(gw__req_actor(r));
    rt_pid_t c = rt_whereis(rt, GW_CACHE_NAME);
    if (c == RT_PID_NONE || !s->cache_fill || go->stream != 0 ||
        go->info->size > r->conf->cache_max_object_bytes)
        return;
    rt_msg_t *m = rt_msg_new(GW_MSG_CACHE_PUT);
    m->arg = s->cache_epoch;
    rt_msg_set_body(m, go->info, rt_buf_ref(buf));
    go->info = NULL;
    (void)rt_send(rt, c, m);
}

static int on_open(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return open_err(status);
    rt_body_t *b = rt_msg_body(m);
    Cleo__Storage__GetOpen *go = b->pb;
    /* The stream, if any, is the reply's sender (a pid crosses nodes in
     * a frame's from, never in a payload); s3_free aborts it if we stop
     * early. */
    s->stream = go->stream != 0 ? m->from : RT_PID_NONE;
    int rc =
        s3obj_conditions(r, "", go->info->etag, go->info->last_modified_ms);
    if (rc < 0)
        return rc;
    char cr[96], *crange = NULL;
    Cleo__Storage__GetReq *q = s->x;
    if (q->range_kind != STO_RANGE_ALL) {
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu",
                 (unsigned long long)go->first,
                 (unsigned long long)(go->first + go->len - 1),
                 (unsigned long long)go->info->size);
        crange = cr;
    }
    rt_buf_t *first = b->buf;
    b->buf = NULL;
    bool whole = go->stream == 0;
    rc = send_object_at(r, s, go->info, crange ? 206 : 200, (int64_t)go->len,
                        crange, rt_buf_ref(first), whole);
    if (rc == 0 && whole) { /* the response is out but not ended yet */
        if (crange == NULL)
            cache_fill(r, s, go, first);
        gw__resp_end(r); /* frees r and s */
    }
    rt_buf_unref(first);
    return rc;
}

static int on_head(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return open_err(status);
    Cleo__Storage__ObjectInfo *oi = m->payload;
    int rc = s3obj_conditions(r, "", oi->etag, oi->last_modified_ms);
    if (rc < 0)
        return rc;
    return send_object(r, s, oi, 200, (int64_t)oi->size, NULL, NULL);
}

static bool num(const char **p, uint64_t *out)
{
    if (**p < '0' || **p > '9')
        return false;
    uint64_t v = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(**p - '0');
    }
    *out = v;
    return true;
}

/* Range: bytes=a-b | a- | -n. Anything else (several ranges, other
 * units, bad syntax) is ignored and the whole object sent, as S3 does. */
static void parse_range(gw_req_t *r, Cleo__Storage__GetReq *q)
{
    char v[128];
    const char *p = s3_hdr(r, "range", v, sizeof v);
    if (p == NULL || strncmp(p, "bytes=", 6) != 0 || strchr(p, ',') != NULL)
        return;
    p += 6;
    uint64_t a, b;
    if (*p == '-') {
        p++;
        if (num(&p, &a) && *p == '\0')
            q->range_kind = STO_RANGE_SUFFIX, q->suffix_len = a;
        return;
    }
    if (!num(&p, &a) || *p++ != '-')
        return;
    if (*p == '\0') {
        q->range_kind = STO_RANGE_FROM, q->first = a;
        return;
    }
    if (num(&p, &b) && *p == '\0')
        q->range_kind = STO_RANGE_SPAN, q->first = a, q->last = b;
}

static void getreq_free(void *x)
{
    protobuf_c_message_free_unpacked(x, NULL);
}

/* The span of a range over size bytes, as storage resolves it. */
static int span_of(const Cleo__Storage__GetReq *q, uint64_t size,
                   uint64_t *first, uint64_t *len)
{
    switch (q->range_kind) {
    case STO_RANGE_ALL:
        *first = 0, *len = size;
        return 0;
    case STO_RANGE_SUFFIX:
        if (q->suffix_len == 0 || size == 0)
            return STO_ERANGE;
        *len = q->suffix_len < size ? q->suffix_len : size;
        *first = size - *len;
        return 0;
    default:
        if (q->first >= size ||
            (q->range_kind == STO_RANGE_SPAN && q->last < q->first))
            return STO_ERANGE;
        uint64_t last = q->range_kind == STO_RANGE_SPAN && q->last < size
                            ? q->last
                            : size - 1;
        *first = q->first, *len = last - q->first + 1;
        return 0;
    }
}

/* Serve a GET or HEAD from the cache's copy. */
static int from_cache(gw_req_t *r, s3_t *s, rt_body_t *b)
{
    Cleo__Storage__ObjectInfo *oi = b->pb;
    int rc = s3obj_conditions(r, "", oi->etag, oi->last_modified_ms);
    if (rc < 0)
        return rc;
    if (s->op == S3_HEAD_OBJECT)
        return send_object(r, s, oi, 200, (int64_t)oi->size, NULL, NULL);
    Cleo__Storage__GetReq *q = s->x;
    uint64_t first, len;
    if ((rc = span_of(q, oi->size, &first, &len)) < 0)
        return rc;
    rt_buf_t *out = len == oi->size
                        ? rt_buf_ref(b->buf)
                        : gw__buf_of(rt_buf_data(b->buf) + first, len);
    if (out == NULL)
        return CLEO_ENOMEM;
    char cr[96], *crange = NULL;
    if (q->range_kind != STO_RANGE_ALL) {
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu",
                 (unsigned long long)first,
                 (unsigned long long)(first + len - 1),
                 (unsigned long long)oi->size);
        crange = cr;
    }
    return send_object(r, s, oi, crange ? 206 : 200, (int64_t)len, crange, out);
}

/* The read, at the replica s3_read_pick() chose (status < 0: the key is
 * absent or deleted on the newest replica). */
static int storage_get_at(gw_req_t *r, s3_t *s, rt_msg_t *none, int status)
{
    (void)none;
    if (status < 0)
        return open_err(status);
    if (s->op == S3_HEAD_OBJECT)
        return s3_call(r, s->read_at,
                       s3pb_object(STO_MSG_HEAD, s->bucket, s->key), on_head);
    Cleo__Storage__GetReq *keep = s->x,
                          *q = s3pb_new(&cleo__storage__get_req__descriptor);
    q->bucket = s3pb_str(s->bucket);
    q->key = s3pb_str(s->key);
    q->range_kind = keep->range_kind, q->first = keep->first;
    q->last = keep->last, q->suffix_len = keep->suffix_len;
    rt_msg_t *m = rt_msg_new(STO_MSG_GET_OPEN);
    rt_msg_set_pb(m, q);
    return s3_call(r, s->read_at, m, on_open);
}

static int storage_get(gw_req_t *r, s3_t *s)
{
    return s3_read_pick(r, s, storage_get_at);
}

/* Cluster: the primary's HEAD says whether the cached copy is current
 * (another gateway may have written the key since); if not, the entry
 * goes and storage answers. */
static int on_validated(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    rt_msg_t *hit = s->hit;
    s->hit = NULL;
    const Cleo__Storage__ObjectInfo *c = rt_msg_body(hit)->pb;
    const Cleo__Storage__ObjectInfo *now = status == 0 ? m->payload : NULL;
    int rc;
    if (now != NULL && now->clock == c->clock &&
        strcmp(now->etag, c->etag) == 0) {
        rc = from_cache(r, s, rt_msg_body(hit));
    } else {
        gw__cache_drop(gw__req_rt(r), s->bucket, s->key);
        rc = storage_get(r, s);
    }
    rt_msg_free(hit); /* after from_cache, which may end r */
    return rc;
}

static int on_cached(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    rt_body_t *b = status == 0 && m != NULL ? rt_msg_body(m) : NULL;
    if (b != NULL && r->conf->view != NULL) { /* check it, keep it */
        s->hit = rt_msg_new(GW_MSG_CACHE_GET);
        s->hit->payload = m->payload, s->hit->payload_free = m->payload_free;
        m->payload = NULL;
        return s3_call(r, 0, s3pb_object(STO_MSG_HEAD, s->bucket, s->key),
                       on_validated);
    }
    if (b != NULL)
        return from_cache(r, s, b);
    s->cache_fill = status == CLEO_ENOTFOUND;
    s->cache_epoch = m != NULL ? m->arg : 0;
    return storage_get(r, s);
}

/* response-* overrides become response headers: no control bytes
 * (CR LF would inject headers). */
static int overrides_check(s3_t *s)
{
    for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
        const char *v = s3_q(s, overrides[i][0]);
        for (const char *p = v; p != NULL && *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return GW_EARGUMENT;
    }
    return 0;
}

int s3obj_get(gw_req_t *r, s3_t *s)
{
    int rc = overrides_check(s);
    if (rc < 0)
        return rc;
    Cleo__Storage__GetReq *keep = s3pb_new(&cleo__storage__get_req__descriptor);
    keep->bucket = s3pb_str(""), keep->key = s3pb_str("");
    parse_range(r, keep);
    s->x = keep, s->x_free = getreq_free;
    rt_pid_t c = rt_whereis(rt_actor_rt(gw__req_actor(r)), GW_CACHE_NAME);
    if (c == RT_PID_NONE)
        return storage_get(r, s);
    return s3_call(r, c, s3pb_object(GW_MSG_CACHE_GET, s->bucket, s->key),
                   on_cached);
}

/* ---- CopyObject ------------------------------------------------------ */

typedef struct {
    char bucket[64];
    char *key;
    bool replace;
} copy_t;

static void copy_free(void *x)
{
    copy_t *c = x;
    free(c->key);
    free(c);
}

static int on_copied(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == STO_ENOBUCKET)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    Cleo__Storage__ObjectInfo *oi = m->payload;
    s3obj_changed(r, s);
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__s3xml_copy_object(&b, (int64_t)oi->last_modified_ms, oi->etag);
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

static int copy_send(gw_req_t *r, s3_t *s)
{
    copy_t *c = s->x;
    if (s3obj_is_remote_copy(r, s, c->bucket, c->key)) /* cluster */
        return s3obj_xcopy(r, s, c->bucket, c->key, c->replace);
    Cleo__Storage__CopyReq *q = s3pb_new(&cleo__storage__copy_req__descriptor);
    q->src_bucket = s3pb_str(c->bucket);
    q->src_key = s3pb_str(c->key);
    q->dst = s3_put_req(r, s);
    q->replace_meta = c->replace;
    rt_msg_t *m = rt_msg_new(STO_MSG_COPY);
    rt_msg_set_pb(m, q);
    return s3_call(r, 0, m, on_copied);
}

static int on_source(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return open_err(status);
    Cleo__Storage__ObjectInfo *oi = m->payload;
    int rc = s3obj_conditions(r, "x-amz-copy-source-", oi->etag,
                              oi->last_modified_ms);
    return rc < 0 ? rc : copy_send(r, s);
}

/* x-amz-copy-source: [/]bucket/key[?versionId=...], percent-encoded. */
int s3_copy_source(gw_req_t *r, char bucket[64], char **key)
{
    char v[3200];
    if (s3_hdr(r, "x-amz-copy-source", v, sizeof v) == NULL)
        return GW_EARGUMENT;
    char *q = strchr(v, '?');
    if (q != NULL)
        *q = '\0'; /* versionId: there is one version */
    char *p = v[0] == '/' ? v + 1 : v;
    size_t n = strlen(p), k = 0;
    char *d = malloc(n + 1);
    if (d == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        if (p[i] == '%' && i + 2 < n + 1 && sscanf(p + i + 1, "%2x", &x) == 1 &&
            x != 0)
            d[k++] = (char)x, i += 2;
        else
            d[k++] = p[i];
    }
    d[k] = '\0';
    char *sl = strchr(d, '/');
    if (sl == NULL || sl == d || sl - d > 63 || sl[1] == '\0') {
        free(d);
        return GW_EARGUMENT;
    }
    memcpy(bucket, d, (size_t)(sl - d));
    bucket[sl - d] = '\0';
    *key = strdup(sl + 1);
    free(d);
    return *key != NULL ? 0 : CLEO_ENOMEM;
}

static int copy_checked(gw_req_t *r, s3_t *s);

/* Only the owner of the source bucket (or an admin) may copy from it. */
static int on_copy_src_owner(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0 && status != CLEO_ENOTFOUND && status != CLEO_EINVAL)
        return status; /* unknown owner: refuse, do not guess */
    if (status == 0 &&
        strcmp(((Cleo__Storage__BucketInfo *)m->payload)->owner, s->user) != 0)
        return GW_EDENIED;
    return copy_checked(r, s); /* absent: the copy reports NoSuchBucket */
}

int s3obj_copy(gw_req_t *r, s3_t *s)
{
    copy_t *c = gw__xcalloc(1, sizeof *c);
    s->x = c, s->x_free = copy_free;
    int rc = s3_copy_source(r, c->bucket, &c->key);
    if (rc < 0)
        return rc;
    if (r->conf->view != NULL) /* a cluster: the managers' buckets */
        rc = s3_view_may_read(s, c->bucket);
    else if (!s->is_admin)
        return s3_call(r, 0, s3pb_bucket(STO_MSG_BUCKET_DU, c->bucket, NULL),
                       on_copy_src_owner);
    return rc < 0 ? rc : copy_checked(r, s);
}

static int copy_checked(gw_req_t *r, s3_t *s)
{
    copy_t *c = s->x;
    char d[16];
    const char *dir = s3_hdr(r, "x-amz-metadata-directive", d, sizeof d);
    if (dir != NULL && strcmp(dir, "COPY") != 0 && strcmp(dir, "REPLACE") != 0)
        return GW_EARGUMENT;
    c->replace = dir != NULL && strcmp(dir, "REPLACE") == 0;
    if (!c->replace && strcmp(c->bucket, s->bucket) == 0 &&
        strcmp(c->key, s->key) == 0)
        return GW_EBADREQ; /* S3: copying onto itself changes nothing */
    size_t n;
    for (size_t i = 0; i < r->head->nhdrs; i++) {
        const gw_hdr_t *h = &r->head->hdrs[i];
        n = strlen("x-amz-copy-source-if-");
        if (h->name_len > n &&
            strncasecmp(h->name, "x-amz-copy-source-if-", n) == 0)
            return s3_call_at(r, c->bucket, c->key,
                              s3pb_object(STO_MSG_HEAD, c->bucket, c->key),
                              on_source);
    }
    return copy_send(r, s);
}
