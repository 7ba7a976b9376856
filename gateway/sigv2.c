/*
 * sigv2.c - AWS Signature Version 2 for old S3 clients: the
 * "Authorization: AWS AK:sig" header and the AWSAccessKeyId/Expires/
 * Signature query. The string to sign follows botocore's HmacV1Auth,
 * which follows AWS's RESTAuthentication document.
 */
#include "gateway/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gateway/err.h"
#include "runtime/rt.h"

/* The query parameters that are part of the canonical resource, sorted
 * (S3's subresources and the response-* overrides). */
/* clang-format off */
static const char *const subres[] = {
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete",
    "inventory", "lifecycle", "location", "logging", "metrics",
    "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type",
    "response-expires", "restore", "select", "select-type", "storageClass",
    "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website",
};
/* clang-format on */
#define NSUBRES (sizeof subres / sizeof subres[0])

static bool b64_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
            return false;
    }
    return n > 0;
}

static bool ak_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 127 || s[i] == ':')
            return false;
    return n > 0 && n <= GW_AUTH_AK_MAX;
}

int gw__sigv2_parse_header(const gw_auth_req_t *rq, const gw_hdr_t *auth,
                           gw_auth_t *a)
{
    const char *s = auth->value;
    size_t n = auth->value_len;
    if (n < 4 || memcmp(s, "AWS ", 4) != 0)
        return GW_EARGUMENT; /* "Unsupported Authorization Type" */
    s += 4;
    n -= 4;
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return GW_EAUTHHDR;
    size_t akl = (size_t)(colon - s), sl = n - akl - 1;
    if (!ak_ok(s, akl) || sl >= sizeof a->signature || !b64_ok(colon + 1, sl))
        return GW_EAUTHHDR;
    memcpy(a->access_key, s, akl);
    a->access_key[akl] = '\0';
    memcpy(a->signature, colon + 1, sl);
    a->signature[sl] = '\0';
    const gw_hdr_t *d = gw__auth_hdr(rq, "x-amz-date");
    if (d == NULL)
        d = gw__auth_hdr(rq, "date");
    int64_t t;
    if (d == NULL || gw__auth_date(d->value, d->value_len, &t) < 0)
        return GW_EDENIED; /* "requires a valid Date or x-amz-date" */
    if (t > rq->now + GW_AUTH_MAX_SKEW || t < rq->now - GW_AUTH_MAX_SKEW)
        return GW_ESKEW;
    a->payload = GW_PAYLOAD_NONE;
    return 0;
}

int gw__sigv2_parse_query(const gw_auth_req_t *rq, gw_auth_t *a)
{
    char exp[sizeof a->expires];
    if (gw__auth_qparam(rq, "AWSAccessKeyId", a->access_key,
                        sizeof a->access_key) != 1 ||
        gw__auth_qparam(rq, "Signature", a->signature, sizeof a->signature) !=
            1 ||
        gw__auth_qparam(rq, "Expires", exp, sizeof exp) != 1)
        return GW_EARGUMENT;
    /* A '+' of base64 sent unescaped may have become a space on the way. */
    for (char *p = a->signature; *p != '\0'; p++)
        if (*p == ' ')
            *p = '+';
    size_t el = strlen(exp);
    int64_t e = 0;
    if (!ak_ok(a->access_key, strlen(a->access_key)) ||
        !b64_ok(a->signature, strlen(a->signature)) || el == 0 || el > 18)
        return GW_EARGUMENT;
    for (size_t i = 0; i < el; i++) {
        if (exp[i] < '0' || exp[i] > '9')
            return GW_EARGUMENT;
        e = e * 10 + (exp[i] - '0');
    }
    if (rq->now > e)
        return GW_EEXPIRED;
    memcpy(a->expires, exp, el + 1);
    a->payload = GW_PAYLOAD_NONE;
    return 0;
}

/* ---- string to sign ------------------------------------------------------ */

static void put_hdr(gw_sb_t *b, const gw_auth_req_t *rq, const char *name)
{
    const gw_hdr_t *h = gw__auth_hdr(rq, name);
    if (h != NULL)
        gw__sb_put(b, h->value, h->value_len);
    gw__sb_put(b, "\n", 1);
}

static int hdr_cmp(const void *x, const void *y)
{
    const gw_hdr_t *a = *(const gw_hdr_t *const *)x;
    const gw_hdr_t *b = *(const gw_hdr_t *const *)y;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = strncasecmp(a->name, b->name, n);
    if (c != 0 || a->name_len == b->name_len)
        return c != 0 ? c : (a < b ? -1 : a > b);
    return a->name_len < b->name_len ? -1 : 1;
}

/* "x-amz-name:v1,v2\n" for every x-amz-* header, sorted by name. */
static int amz_headers(const gw_auth_req_t *rq, gw_sb_t *b)
{
    const gw_hdr_t *inl[32], **v = inl;
    size_t n = 0;
    if (rq->nhdrs > 32 && (v = malloc(rq->nhdrs * sizeof *v)) == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0; i < rq->nhdrs; i++)
        if (rq->hdrs[i].name_len > 6 &&
            strncasecmp(rq->hdrs[i].name, "x-amz-", 6) == 0)
            v[n++] = &rq->hdrs[i];
    qsort(v, n, sizeof *v, hdr_cmp); /* ties keep arrival order */
    for (size_t i = 0; i < n; i++) {
        bool same =
            i > 0 && v[i]->name_len == v[i - 1]->name_len &&
            strncasecmp(v[i]->name, v[i - 1]->name, v[i]->name_len) == 0;
        if (same) {
            gw__sb_put(b, ",", 1);
        } else {
            if (i > 0)
                gw__sb_put(b, "\n", 1);
            for (size_t k = 0; k < v[i]->name_len; k++) {
                char c = v[i]->name[k];
                c = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
                gw__sb_put(b, &c, 1);
            }
            gw__sb_put(b, ":", 1);
        }
        gw__sb_put(b, v[i]->value, v[i]->value_len);
    }
    if (n > 0)
        gw__sb_put(b, "\n", 1);
    if (v != inl)
        free(v);
    return 0;
}

/* "?name" or "&name", then "=value" percent-decoded if there is one. */
static int put_subres(gw_sb_t *b, const char *name, size_t nl, const char *eq,
                      const char *pe, bool *first)
{
    gw__sb_put(b, *first ? "?" : "&", 1);
    gw__sb_put(b, name, nl);
    *first = false;
    if (eq == NULL)
        return 0;
    size_t vl = (size_t)(pe - eq - 1);
    char *tmp = malloc(vl + 1);
    if (tmp == NULL)
        return CLEO_ENOMEM;
    ssize_t dl = gw__auth_unescape(eq + 1, vl, tmp, vl + 1);
    gw__sb_put(b, "=", 1);
    gw__sb_put(b, tmp, (size_t)dl);
    free(tmp);
    return 0;
}

/* The subresources of the query, in the table's (sorted) order, values
 * percent-decoded; repeated names keep their order. */
static int subresources(const gw_auth_req_t *rq, gw_sb_t *b)
{
    if (rq->query == NULL)
        return 0;
    const char *end = rq->query + rq->query_len;
    bool first = true;
    int rc = 0;
    for (size_t k = 0; k < NSUBRES && rc == 0; k++) {
        size_t kl = strlen(subres[k]);
        for (const char *q = rq->query; q < end && rc == 0;) {
            const char *amp = memchr(q, '&', (size_t)(end - q));
            const char *pe = amp ? amp : end;
            const char *eq = memchr(q, '=', (size_t)(pe - q));
            if ((size_t)((eq ? eq : pe) - q) == kl &&
                memcmp(q, subres[k], kl) == 0)
                rc = put_subres(b, q, kl, eq, pe, &first);
            q = amp ? amp + 1 : end;
        }
    }
    return rc;
}

/* The date line: Expires for the query form; else empty when x-amz-date
 * is present (AWS's rule: it is signed among the x-amz-* headers) unless
 * `date_anyway`, which is how botocore signs when given both. */
static int string_to_sign(const gw_auth_req_t *rq, const gw_auth_t *a,
                          bool date_anyway, gw_sb_t *b)
{
    gw__sb_put(b, rq->method, rq->method_len);
    gw__sb_put(b, "\n", 1);
    put_hdr(b, rq, "content-md5");
    put_hdr(b, rq, "content-type");
    if (a->kind == GW_AUTH_V2_QUERY) {
        gw__sb_puts(b, a->expires);
        gw__sb_put(b, "\n", 1);
    } else if (gw__auth_hdr(rq, "x-amz-date") != NULL && !date_anyway) {
        gw__sb_put(b, "\n", 1);
    } else {
        put_hdr(b, rq, "date");
    }
    int rc = amz_headers(rq, b);
    if (rc < 0)
        return rc;
    if (rq->vhost_bucket_len > 0) {
        gw__sb_put(b, "/", 1);
        gw__sb_put(b, rq->vhost_bucket, rq->vhost_bucket_len);
    }
    if (rq->path_len == 0)
        gw__sb_put(b, "/", 1);
    gw__sb_put(b, rq->path, rq->path_len);
    if ((rc = subresources(rq, b)) < 0)
        return rc;
    return b->err;
}

/* Does the signature match the string to sign of this variant? */
static int check(const gw_auth_req_t *rq, const gw_auth_t *a,
                 const char *secret, size_t secret_len, bool date_anyway)
{
    gw_sb_t b;
    unsigned char mac[20];
    char want[32];
    gw__sb_init(&b);
    int rc = string_to_sign(rq, a, date_anyway, &b);
    if (rc == 0)
        gw__hmac1(secret, secret_len, b.p, b.len, mac);
    gw__sb_destroy(&b);
    if (rc < 0)
        return rc;
    int n = EVP_EncodeBlock((unsigned char *)want, mac, 20); /* 28 */
    size_t sl = strlen(a->signature);
    if ((size_t)n != sl || CRYPTO_memcmp(want, a->signature, sl) != 0)
        return GW_ESIGNATURE;
    return 0;
}

int gw__sigv2_verify(const gw_auth_req_t *rq, const gw_auth_t *a,
                     const char *secret, size_t secret_len)
{
    int rc = check(rq, a, secret, secret_len, false);
    if (rc == GW_ESIGNATURE && a->kind == GW_AUTH_V2_HEADER &&
        gw__auth_hdr(rq, "x-amz-date") != NULL &&
        gw__auth_hdr(rq, "date") != NULL)
        rc = check(rq, a, secret, secret_len, true);
    return rc;
}
