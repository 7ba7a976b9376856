/*
 * s3_bucket.c - S3's service and bucket operations: ListBuckets,
 * CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, the
 * versioning and ACL stubs S3 clients probe, ListObjects v1 and v2.
 * (DeleteObjects is in s3_multi.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>

#include "gateway/err.h"
#include "gateway/s3.h"
#include "gateway/s3pb.h"
#include "storage/contract.h"

#define CREATE_BODY_MAX (64u << 10)

/* ---- ListBuckets ----------------------------------------------------- */

static int on_buckets(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return status;
    Cleo__Storage__BucketList *l = m->payload;
    gw_xml_bucket_t *v = calloc(l->n_buckets + 1, sizeof *v);
    if (v == NULL)
        return CLEO_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < l->n_buckets; i++) {
        if (!s->is_admin && strcmp(l->buckets[i]->owner, s->user) != 0)
            continue;
        v[n++] = (gw_xml_bucket_t){l->buckets[i]->name,
                                   (int64_t)l->buckets[i]->created_ms};
    }
    gw_xml_owner_t o = {s->user, s->user};
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__s3xml_buckets(&b, &o, v, n);
    free(v);
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

static int list_buckets(gw_req_t *r, s3_t *s)
{
    if (r->conf->view != NULL)
        return s3_view_list_buckets(r, s);
    return s3_call(r, 0, rt_msg_new(STO_MSG_BUCKET_LIST), on_buckets);
}

/* ---- CreateBucket ---------------------------------------------------- */

static int on_owner_of_existing(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status < 0)
        return GW_EBUCKETEXISTS;
    Cleo__Storage__BucketInfo *bi = m->payload;
    return strcmp(bi->owner, s->user) == 0 ? GW_EOWNED : GW_EBUCKETEXISTS;
}

static int on_created(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == CLEO_EEXIST)
        return s3_call(r, 0, s3pb_bucket(STO_MSG_BUCKET_DU, s->bucket, NULL),
                       on_owner_of_existing);
    if (status == CLEO_EINVAL)
        return GW_EBUCKETNAME;
    if (status < 0)
        return status;
    char loc[80];
    snprintf(loc, sizeof loc, "/%s", s->bucket);
    gw_kv_t kv[] = {{"Location", loc}};
    return gw__resp_full(r, 200, kv, 1, NULL, NULL);
}

static int on_create_body(gw_req_t *r)
{
    s3_t *s = r->op;
    char loc[GW_LOCATION_MAX];
    int rc = s3_body_final(r, s);
    if (rc == 0 && r->body != NULL)
        rc = gw__s3xml_parse_create_bucket(
            rt_buf_data(r->body), rt_buf_len(r->body), CREATE_BODY_MAX, loc);
    if (rc < 0)
        return rc;
    if (r->conf->view != NULL)
        return s3_view_create_bucket(r, s);
    return s3_call(r, 0, s3pb_bucket(STO_MSG_BUCKET_CREATE, s->bucket, s->user),
                   on_created);
}

static int create_bucket(gw_req_t *r, s3_t *s)
{
    int rc = s3_body_checks(r, s);
    if (rc < 0)
        return rc;
    if (r->head->content_length > (int64_t)CREATE_BODY_MAX)
        return GW_EMAXMSG; /* refused before a byte is read */
    r->on_body = on_create_body;
    return gw__req_read_body(r, GW_BODY_BUFFER, CREATE_BODY_MAX);
}

/* ---- DeleteBucket, HeadBucket, location ------------------------------- */

static int on_deleted(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == CLEO_ENOTFOUND)
        return GW_ENOBUCKET;
    if (status == CLEO_ESTATE)
        return status; /* BucketNotEmpty */
    return status < 0 ? status : s3_empty(r, 204);
}

static int on_head_bucket(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == CLEO_ENOTFOUND || status == CLEO_EINVAL)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    gw_kv_t kv[] = {{"x-amz-bucket-region", r->conf->region}};
    return gw__resp_full(r, 200, kv, 1, NULL, NULL);
}

static int on_location(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == CLEO_ENOTFOUND || status == CLEO_EINVAL)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc;
    switch (s->op) {
    case S3_GET_LOCATION: {
        const char *reg = r->conf->region;
        rc = gw__s3xml_location(&b, strcmp(reg, "us-east-1") ? reg : NULL);
        break;
    }
    case S3_GET_VERSIONING: /* never versioned: S3's empty document */
        rc = gw__xbuf_puts(&b, GW_XML_DECL
                           "<VersioningConfiguration xmlns=\"" GW_S3_NS "\"/>");
        break;
    default: /* ACL: the owner has full control, as a private bucket */
        rc = gw__xbuf_printf(
            &b,
            GW_XML_DECL "<AccessControlPolicy xmlns=\"" GW_S3_NS "\"><Owner>"
                        "<ID>%s</ID><DisplayName>%s</DisplayName></Owner>"
                        "<AccessControlList><Grant><Grantee xmlns:xsi=\"http:"
                        "//www.w3.org/2001/XMLSchema-instance\" xsi:type=\""
                        "CanonicalUser\"><ID>%s</ID><DisplayName>%s"
                        "</DisplayName></Grantee><Permission>FULL_CONTROL"
                        "</Permission></Grant></AccessControlList>"
                        "</AccessControlPolicy>",
            s->user, s->user, s->user, s->user);
        break;
    }
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

/* ---- ListObjects v1 and v2 -------------------------------------------- */

typedef struct {
    bool v2, url;
    uint32_t max;
} list_t;

/* A continuation token: the storage marker, base64 so it is opaque. */
static char *token_enc(const char *marker)
{
    size_t n = strlen(marker);
    char *t = malloc(4 * ((n + 2) / 3) + 1);
    if (t != NULL)
        EVP_EncodeBlock((unsigned char *)t, (const unsigned char *)marker,
                        (int)n);
    return t;
}

static int token_dec(const char *t, char **out)
{
    size_t n = strlen(t);
    if (n == 0 || n % 4 != 0 || n > 4 * 1100)
        return GW_EARGUMENT;
    unsigned char *o = malloc(n);
    if (o == NULL)
        return CLEO_ENOMEM;
    int pad = (t[n - 1] == '=') + (n > 1 && t[n - 2] == '=');
    for (size_t i = 0; i + (size_t)pad < n; i++)
        if (t[i] == '=') { /* padding anywhere but the end */
            free(o);
            return GW_EARGUMENT;
        }
    int len = EVP_DecodeBlock(o, (const unsigned char *)t, (int)n);
    len -= pad; /* DecodeBlock counts the padding as zero bytes */
    if (len < 0) {
        free(o);
        return GW_EARGUMENT;
    }
    o[len] = '\0';
    *out = (char *)o;
    return 0;
}

static int list_xml(gw_req_t *r, s3_t *s, list_t *lt,
                    const Cleo__Storage__ListReply *l, gw_xbuf_t *b)
{
    gw_xml_object_t *o = calloc(l->n_entries + 1, sizeof *o);
    if (o == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < l->n_entries; i++)
        o[i] = (gw_xml_object_t){l->entries[i]->key, l->entries[i]->size,
                                 l->entries[i]->etag,
                                 (int64_t)l->entries[i]->last_modified_ms};
    gw_xml_owner_t ow = {s->user, s->user};
    const char *delim = s3_q(s, "delimiter");
    char *next = l->is_truncated && l->next_marker[0] && lt->v2
                     ? token_enc(l->next_marker)
                     : NULL;
    gw_xml_list_t x = {
        .bucket = s->bucket,
        .prefix = s3_q(s, "prefix"),
        .delimiter = delim,
        .max_keys = lt->max,
        .is_truncated = l->is_truncated,
        .url_encode = lt->url,
        .marker = s3_q(s, "marker"),
        .next_marker =
            delim && *delim && l->is_truncated ? l->next_marker : NULL,
        .continuation_token = s3_q(s, "continuation-token"),
        .next_continuation_token = next,
        .start_after = s3_q(s, "start-after"),
        .fetch_owner = s3_q(s, "fetch-owner") &&
                       strcmp(s3_q(s, "fetch-owner"), "true") == 0,
        .owner = &ow,
        .objects = o,
        .n_objects = l->n_entries,
        .prefixes = (const char *const *)l->prefixes,
        .n_prefixes = l->n_prefixes,
    };
    int rc = lt->v2 ? gw__s3xml_list_v2(b, &x) : gw__s3xml_list_v1(b, &x);
    free(next);
    free(o);
    return rc;
}

static int on_list(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == STO_ENOBUCKET || status == CLEO_EINVAL)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    static const Cleo__Storage__ListReply empty =
        CLEO__STORAGE__LIST_REPLY__INIT;
    list_t *lt = s->x;
    const Cleo__Storage__ListReply *l = &empty;
    if (lt->max > 0)
        l = m->payload;
    else if (m != NULL && /* NULL: the view said the bucket exists */
             !((Cleo__Storage__BucketExists *)m->payload)->exists)
        return GW_ENOBUCKET;
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = list_xml(r, s, s->x, l, &b);
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

/* Parse max-keys: absent = 1000, over 1000 = 1000, not a number = error. */
static int max_keys(const char *v, uint32_t *out)
{
    *out = 1000;
    if (v == NULL)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 0)
        return GW_EARGUMENT;
    *out = n > 1000 ? 1000 : (uint32_t)n;
    return 0;
}

static int list_objects(gw_req_t *r, s3_t *s)
{
    list_t *lt = calloc(1, sizeof *lt);
    if (lt == NULL)
        return CLEO_ENOMEM;
    s->x = lt, s->x_free = free;
    lt->v2 = s->op == S3_LIST_OBJECTS_V2;
    const char *enc = s3_q(s, "encoding-type");
    if (enc != NULL && strcmp(enc, "url") != 0)
        return GW_EARGUMENT;
    lt->url = enc != NULL;
    int rc = max_keys(s3_q(s, "max-keys"), &lt->max);
    if (rc < 0)
        return rc;
    const char *after = lt->v2 ? s3_q(s, "start-after") : s3_q(s, "marker");
    char *tok = NULL;
    const char *ct = lt->v2 ? s3_q(s, "continuation-token") : NULL;
    if (ct != NULL && (rc = token_dec(ct, &tok)) < 0)
        return rc;
    if (lt->max == 0) { /* S3 answers an empty page, but checks the bucket */
        free(tok);
        if (r->conf->view != NULL) /* checked by the view already */
            return on_list(r, s, NULL, 0);
        rt_msg_t *m = s3pb_bucket(STO_MSG_BUCKET_EXISTS, s->bucket, NULL);
        return s3_call(r, 0, m, on_list);
    }
    /* a page from every storage node, merged by key */
    rc = s3_list_all(r, s3_q(s, "prefix"), s3_q(s, "delimiter"),
                     tok ? tok : after, lt->max, on_list);
    free(tok);
    return rc;
}

/* HeadBucket and the bucket's location, versioning and ACL: in a cluster
 * the view has checked that the bucket exists (s3.c's authorise). */
static int bucket_info(gw_req_t *r, s3_t *s, s3_reply_fn fn)
{
    if (r->conf->view != NULL)
        return fn(r, s, NULL, 0);
    return s3_call(r, 0, s3pb_bucket(STO_MSG_BUCKET_DU, s->bucket, NULL), fn);
}

int s3_bucket_op(gw_req_t *r, s3_t *s)
{
    switch (s->op) {
    case S3_LIST_BUCKETS:
        return list_buckets(r, s);
    case S3_CREATE_BUCKET:
        return create_bucket(r, s);
    case S3_DELETE_BUCKET:
        if (r->conf->view != NULL)
            return s3_view_delete_bucket(r, s);
        return s3_call(r, 0,
                       s3pb_bucket(STO_MSG_BUCKET_DELETE, s->bucket, NULL),
                       on_deleted);
    case S3_HEAD_BUCKET:
        return bucket_info(r, s, on_head_bucket);
    case S3_GET_LOCATION:
    case S3_GET_VERSIONING:
    case S3_GET_ACL:
        return bucket_info(r, s, on_location);
    case S3_LIST_OBJECTS:
    case S3_LIST_OBJECTS_V2:
        return list_objects(r, s);
    case S3_DELETE_OBJECTS:
        return s3_multi_delete(r, s);
    default:
        return GW_ENOTIMPL;
    }
}
