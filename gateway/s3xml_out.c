/*
 * s3xml_out.c - the output buffer, XML escaping and S3's percent-encoding,
 * and the writers of S3's response documents (dates are in s3xml_time.c).
 * See s3xml.h for the contracts.
 *
 * Appends record their first failure in the buffer (a sticky error), so a
 * writer appends a whole document without a check per element and looks
 * once at the end: on failure it truncates the buffer back to where it
 * started, so a half-written document is never sent.
 */
#include "gateway/s3xml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"

/* ---------------------------------------------------------------------
 * The output buffer.
 * ------------------------------------------------------------------- */

void gw__xbuf_init(gw_xbuf_t *b, size_t max)
{
    *b = (gw_xbuf_t){.max = max};
}

void gw__xbuf_destroy(gw_xbuf_t *b)
{
    if (b == NULL)
        return;
    free(b->base);
    *b = (gw_xbuf_t){.max = b->max};
}

char *gw__xbuf_take(gw_xbuf_t *b, size_t *len)
{
    char *p = b->base;
    if (len != NULL)
        *len = b->len;
    *b = (gw_xbuf_t){.max = b->max};
    return p;
}

/* Drop the bytes past `len`, keeping the sticky error. */
static void undo(gw_xbuf_t *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->base[len] = '\0';
    }
}

void gw__xbuf_reset(gw_xbuf_t *b, size_t len)
{
    undo(b, len);
    b->_err = 0;
}

/* Make room for `extra` more bytes plus the NUL. False (and the sticky
 * error set) when the limit or the allocator says no. */
static bool reserve(gw_xbuf_t *b, size_t extra)
{
    if (b->_err != 0)
        return false;
    if (extra > SIZE_MAX / 2 - b->len)
        goto fail;
    size_t need = b->len + extra;
    if (b->max != 0 && need > b->max)
        goto fail;
    if (need + 1 <= b->cap)
        return true;
    size_t cap = b->cap != 0 ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (b->max != 0 && cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->base, cap);
    if (p == NULL)
        goto fail;
    b->base = p;
    b->cap = cap;
    return true;
fail:
    b->_err = CLEO_ENOMEM;
    return false;
}

/* Append raw bytes; a failure sticks in the buffer. */
static void raw(gw_xbuf_t *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n > 0)
        memcpy(b->base + b->len, s, n);
    b->len += n;
    b->base[b->len] = '\0';
}

static void str(gw_xbuf_t *b, const char *s)
{
    if (s != NULL)
        raw(b, s, strlen(s));
}

/* What an append returns: the error that stuck before it, else its own. */
static int status_since(const gw_xbuf_t *b, int before)
{
    return before != 0 ? before : b->_err;
}

int gw__xbuf_put(gw_xbuf_t *b, const char *s, size_t n)
{
    int before = b->_err;
    raw(b, s, n);
    return status_since(b, before);
}

int gw__xbuf_puts(gw_xbuf_t *b, const char *s)
{
    return gw__xbuf_put(b, s, s != NULL ? strlen(s) : 0);
}

int gw__xbuf_printf(gw_xbuf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CLEO_EINVAL;
    if ((size_t)n < sizeof small)
        return gw__xbuf_put(b, small, (size_t)n);
    if (!reserve(b, (size_t)n))
        return b->_err;
    va_start(ap, fmt);
    vsnprintf(b->base + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* Append `n` bytes XML-escaped; see gw__xbuf_esc(). */
static void esc(gw_xbuf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* start of the current run of plain bytes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *ent = NULL;
        char num[8];
        switch (c) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&apos;";
            break;
        default:
            if (c >= 0x20 && c != 0x7F)
                continue;
            memcpy(num, "&#x", 3);
            size_t k = 3;
            if (c >= 0x10)
                num[k++] = hex[c >> 4];
            num[k++] = hex[c & 0xF];
            num[k++] = ';';
            num[k] = '\0';
            ent = num;
        }
        raw(b, s + run, i - run);
        str(b, ent);
        run = i + 1;
    }
    raw(b, s + run, n - run);
}

/* Append `n` bytes percent-encoded; see gw__xbuf_urlenc(). */
static void urlenc(gw_xbuf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~' || c == '/')
            continue;
        char pct[3] = {'%', hex[c >> 4], hex[c & 0xF]};
        raw(b, s + run, i - run);
        raw(b, pct, 3);
        run = i + 1;
    }
    raw(b, s + run, n - run);
}

int gw__xbuf_esc(gw_xbuf_t *b, const char *s, size_t n)
{
    int before = b->_err;
    size_t start = b->len;
    esc(b, s, n);
    if (before == 0 && b->_err != 0)
        undo(b, start);
    return status_since(b, before);
}

int gw__xbuf_urlenc(gw_xbuf_t *b, const char *s, size_t n)
{
    int before = b->_err;
    size_t start = b->len;
    urlenc(b, s, n);
    if (before == 0 && b->_err != 0)
        undo(b, start);
    return status_since(b, before);
}

/* ---------------------------------------------------------------------
 * Element helpers for the writers. All append through the sticky error.
 * ------------------------------------------------------------------- */

/* The declaration and the root's start tag, with S3's namespace. */
static void root_open(gw_xbuf_t *b, const char *root)
{
    str(b, GW_XML_DECL "<");
    str(b, root);
    str(b, " xmlns=\"" GW_S3_NS "\">");
}

static void open_tag(gw_xbuf_t *b, const char *name)
{
    raw(b, "<", 1);
    str(b, name);
    raw(b, ">", 1);
}

static void close_tag(gw_xbuf_t *b, const char *name)
{
    raw(b, "</", 2);
    str(b, name);
    raw(b, ">", 1);
}

/* <name>text</name>, escaped (NULL text = empty element), or
 * percent-encoded when `url`. */
static void el_enc(gw_xbuf_t *b, const char *name, const char *text, bool url)
{
    open_tag(b, name);
    if (text != NULL) {
        if (url)
            urlenc(b, text, strlen(text));
        else
            esc(b, text, strlen(text));
    }
    close_tag(b, name);
}

static void el(gw_xbuf_t *b, const char *name, const char *text)
{
    el_enc(b, name, text, false);
}

/* The element only when `text` is neither NULL nor "". */
static void el_opt(gw_xbuf_t *b, const char *name, const char *text, bool url)
{
    if (text != NULL && text[0] != '\0')
        el_enc(b, name, text, url);
}

static void el_u64(gw_xbuf_t *b, const char *name, uint64_t v)
{
    char num_buf[24];
    snprintf(num_buf, sizeof num_buf, "%llu", (unsigned long long)v);
    el(b, name, num_buf);
}

static void el_bool(gw_xbuf_t *b, const char *name, bool v)
{
    el(b, name, v ? "true" : "false");
}

static void el_time(gw_xbuf_t *b, const char *name, int64_t ms)
{
    char t[GW_ISO8601_LEN];
    el(b, name, gw__time_iso8601(ms, t));
}

/* <ETag>"etag"</ETag>: S3 quotes ETags in XML too. */
static void el_etag(gw_xbuf_t *b, const char *etag)
{
    str(b, "<ETag>&quot;");
    if (etag != NULL)
        esc(b, etag, strlen(etag));
    str(b, "&quot;</ETag>");
}

/* <name><ID/><DisplayName/></name> */
static void el_owner(gw_xbuf_t *b, const char *name, const gw_xml_owner_t *o)
{
    open_tag(b, name);
    el(b, "ID", o->id);
    el(b, "DisplayName", o->display_name);
    close_tag(b, name);
}

/* The writer's result: the sticky error, after undoing a partial
 * document. */
static int finish(gw_xbuf_t *b, size_t start)
{
    int rc = b->_err;
    if (rc != 0)
        gw__xbuf_reset(b, start);
    return rc;
}

/* ---------------------------------------------------------------------
 * The writers.
 * ------------------------------------------------------------------- */

int gw__s3xml_error(gw_xbuf_t *b, const gw_xml_error_t *e)
{
    size_t start = b->len;
    str(b, GW_XML_DECL "<Error>");
    el(b, "Code", e->code);
    el(b, "Message", e->message);
    for (size_t i = 0; i < e->n_extra; i++)
        el(b, e->extra[i].name, e->extra[i].value);
    if (e->resource != NULL)
        el(b, "Resource", e->resource);
    if (e->request_id != NULL)
        el(b, "RequestId", e->request_id);
    if (e->host_id != NULL)
        el(b, "HostId", e->host_id);
    str(b, "</Error>");
    return finish(b, start);
}

int gw__s3xml_buckets(gw_xbuf_t *b, const gw_xml_owner_t *owner,
                      const gw_xml_bucket_t *v, size_t n)
{
    size_t start = b->len;
    root_open(b, "ListAllMyBucketsResult");
    el_owner(b, "Owner", owner);
    str(b, "<Buckets>");
    for (size_t i = 0; i < n && b->_err == 0; i++) {
        str(b, "<Bucket>");
        el(b, "Name", v[i].name);
        el_time(b, "CreationDate", v[i].creation_ms);
        str(b, "</Bucket>");
    }
    str(b, "</Buckets></ListAllMyBucketsResult>");
    return finish(b, start);
}

/* The Contents and CommonPrefixes of a listing (v1 and v2). */
static void list_entries(gw_xbuf_t *b, const gw_xml_list_t *l, bool with_owner)
{
    for (size_t i = 0; i < l->n_objects && b->_err == 0; i++) {
        const gw_xml_object_t *o = &l->objects[i];
        str(b, "<Contents>");
        el_enc(b, "Key", o->key, l->url_encode);
        el_time(b, "LastModified", o->last_modified_ms);
        el_etag(b, o->etag);
        el_u64(b, "Size", o->size);
        if (with_owner && l->owner != NULL)
            el_owner(b, "Owner", l->owner);
        str(b, "<StorageClass>STANDARD</StorageClass></Contents>");
    }
    for (size_t i = 0; i < l->n_prefixes && b->_err == 0; i++) {
        str(b, "<CommonPrefixes>");
        el_enc(b, "Prefix", l->prefixes[i], l->url_encode);
        str(b, "</CommonPrefixes>");
    }
}

int gw__s3xml_list_v1(gw_xbuf_t *b, const gw_xml_list_t *l)
{
    size_t start = b->len;
    bool url = l->url_encode;
    root_open(b, "ListBucketResult");
    el(b, "Name", l->bucket);
    el_enc(b, "Prefix", l->prefix, url);
    el_enc(b, "Marker", l->marker, url);
    bool has_delim = l->delimiter != NULL && l->delimiter[0] != '\0';
    if (has_delim && l->is_truncated)
        el_enc(b, "NextMarker", l->next_marker, url);
    el_u64(b, "MaxKeys", l->max_keys);
    el_opt(b, "Delimiter", l->delimiter, url);
    el_bool(b, "IsTruncated", l->is_truncated);
    if (url)
        el(b, "EncodingType", "url");
    list_entries(b, l, true);
    str(b, "</ListBucketResult>");
    return finish(b, start);
}

int gw__s3xml_list_v2(gw_xbuf_t *b, const gw_xml_list_t *l)
{
    size_t start = b->len;
    bool url = l->url_encode;
    root_open(b, "ListBucketResult");
    el(b, "Name", l->bucket);
    el_enc(b, "Prefix", l->prefix, url);
    el_opt(b, "ContinuationToken", l->continuation_token, false);
    if (l->is_truncated)
        el_opt(b, "NextContinuationToken", l->next_continuation_token, false);
    el_u64(b, "KeyCount", (uint64_t)(l->n_objects + l->n_prefixes));
    el_u64(b, "MaxKeys", l->max_keys);
    el_opt(b, "Delimiter", l->delimiter, url);
    el_bool(b, "IsTruncated", l->is_truncated);
    el_opt(b, "StartAfter", l->start_after, url);
    if (url)
        el(b, "EncodingType", "url");
    list_entries(b, l, l->fetch_owner);
    str(b, "</ListBucketResult>");
    return finish(b, start);
}

int gw__s3xml_location(gw_xbuf_t *b, const char *region)
{
    size_t start = b->len;
    root_open(b, "LocationConstraint");
    if (region != NULL)
        esc(b, region, strlen(region));
    str(b, "</LocationConstraint>");
    return finish(b, start);
}

int gw__s3xml_mpu_initiate(gw_xbuf_t *b, const char *bucket, const char *key,
                           const char *upload_id)
{
    size_t start = b->len;
    root_open(b, "InitiateMultipartUploadResult");
    el(b, "Bucket", bucket);
    el(b, "Key", key);
    el(b, "UploadId", upload_id);
    str(b, "</InitiateMultipartUploadResult>");
    return finish(b, start);
}

int gw__s3xml_mpu_complete(gw_xbuf_t *b, const char *location,
                           const char *bucket, const char *key,
                           const char *etag)
{
    size_t start = b->len;
    root_open(b, "CompleteMultipartUploadResult");
    el(b, "Location", location);
    el(b, "Bucket", bucket);
    el(b, "Key", key);
    el_etag(b, etag);
    str(b, "</CompleteMultipartUploadResult>");
    return finish(b, start);
}

int gw__s3xml_list_parts(gw_xbuf_t *b, const gw_xml_parts_t *p)
{
    size_t start = b->len;
    root_open(b, "ListPartsResult");
    el(b, "Bucket", p->bucket);
    el(b, "Key", p->key);
    el(b, "UploadId", p->upload_id);
    if (p->owner != NULL) {
        el_owner(b, "Initiator", p->owner);
        el_owner(b, "Owner", p->owner);
    }
    el(b, "StorageClass", "STANDARD");
    el_u64(b, "PartNumberMarker", p->part_number_marker);
    el_u64(b, "NextPartNumberMarker", p->next_part_number_marker);
    el_u64(b, "MaxParts", p->max_parts);
    el_bool(b, "IsTruncated", p->is_truncated);
    for (size_t i = 0; i < p->n_parts && b->_err == 0; i++) {
        const gw_xml_part_t *pt = &p->parts[i];
        str(b, "<Part>");
        el_u64(b, "PartNumber", pt->part_number);
        el_time(b, "LastModified", pt->last_modified_ms);
        el_etag(b, pt->etag);
        el_u64(b, "Size", pt->size);
        str(b, "</Part>");
    }
    str(b, "</ListPartsResult>");
    return finish(b, start);
}

/* The Upload and CommonPrefixes elements of ListMultipartUploads. */
static void upload_entries(gw_xbuf_t *b, const gw_xml_uploads_t *u)
{
    for (size_t i = 0; i < u->n_uploads && b->_err == 0; i++) {
        const gw_xml_upload_t *up = &u->uploads[i];
        str(b, "<Upload>");
        el_enc(b, "Key", up->key, u->url_encode);
        el(b, "UploadId", up->upload_id);
        if (u->owner != NULL) {
            el_owner(b, "Initiator", u->owner);
            el_owner(b, "Owner", u->owner);
        }
        el(b, "StorageClass", "STANDARD");
        el_time(b, "Initiated", up->initiated_ms);
        str(b, "</Upload>");
    }
    for (size_t i = 0; i < u->n_prefixes && b->_err == 0; i++) {
        str(b, "<CommonPrefixes>");
        el_enc(b, "Prefix", u->prefixes[i], u->url_encode);
        str(b, "</CommonPrefixes>");
    }
}

int gw__s3xml_list_uploads(gw_xbuf_t *b, const gw_xml_uploads_t *u)
{
    size_t start = b->len;
    bool url = u->url_encode;
    root_open(b, "ListMultipartUploadsResult");
    el(b, "Bucket", u->bucket);
    el_enc(b, "KeyMarker", u->key_marker, url);
    el(b, "UploadIdMarker", u->upload_id_marker);
    el_enc(b, "NextKeyMarker", u->next_key_marker, url);
    el(b, "NextUploadIdMarker", u->next_upload_id_marker);
    el_opt(b, "Delimiter", u->delimiter, url);
    el_opt(b, "Prefix", u->prefix, url);
    el_u64(b, "MaxUploads", u->max_uploads);
    el_bool(b, "IsTruncated", u->is_truncated);
    if (url)
        el(b, "EncodingType", "url");
    upload_entries(b, u);
    str(b, "</ListMultipartUploadsResult>");
    return finish(b, start);
}

/* CopyObjectResult and CopyPartResult share their shape. */
static int copy_result(gw_xbuf_t *b, const char *root, int64_t ms,
                       const char *etag)
{
    size_t start = b->len;
    root_open(b, root);
    el_time(b, "LastModified", ms);
    el_etag(b, etag);
    close_tag(b, root);
    return finish(b, start);
}

int gw__s3xml_copy_object(gw_xbuf_t *b, int64_t last_modified_ms,
                          const char *etag)
{
    return copy_result(b, "CopyObjectResult", last_modified_ms, etag);
}

int gw__s3xml_copy_part(gw_xbuf_t *b, int64_t last_modified_ms,
                        const char *etag)
{
    return copy_result(b, "CopyPartResult", last_modified_ms, etag);
}

int gw__s3xml_delete_result(gw_xbuf_t *b, const gw_xml_deleted_t *v, size_t n,
                            bool quiet)
{
    size_t start = b->len;
    root_open(b, "DeleteResult");
    for (size_t i = 0; i < n && b->_err == 0; i++) {
        if (v[i].err == 0) {
            if (quiet)
                continue;
            str(b, "<Deleted>");
            el(b, "Key", v[i].key);
            str(b, "</Deleted>");
            continue;
        }
        const gw_s3_err_t *e = gw__s3_err(v[i].err, 1);
        str(b, "<Error>");
        el(b, "Key", v[i].key);
        el(b, "Code", e->code);
        el(b, "Message", e->message);
        str(b, "</Error>");
    }
    str(b, "</DeleteResult>");
    return finish(b, start);
}
