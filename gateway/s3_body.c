/*
 * s3_body.c - what a request body must satisfy before it is stored:
 * Content-MD5 (checked by storage at commit, or here for whole puts),
 * x-amz-content-sha256 and aws-chunked signatures (checked here, as the
 * bytes pass). A failed check fails the request before the commit, so
 * nothing of the body becomes visible.
 */
#include <string.h>

#include <openssl/evp.h>

#include "gateway/err.h"
#include "gateway/s3.h"

static int on_decoded(void *data, const char *p, size_t n)
{
    gw_req_t *r = data;
    return gw__req_body_put(r, p, n);
}

int s3_body_filter(gw_req_t *r, const char *p, size_t n)
{
    s3_t *s = r->op;
    if (s->chunked)
        return gw__chunked_feed(&s->dec, p, n);
    if (s->check_sha)
        gw__sha256_check_update(&s->sha, p, n);
    return gw__req_body_put(r, p, n);
}

int s3_body_final(gw_req_t *r, s3_t *s)
{
    int rc = 0;
    if (s->chunked)
        rc = gw__chunked_finish(&s->dec);
    if (rc == 0 && s->check_sha)
        rc = gw__sha256_check_final(&s->sha);
    return rc;
}

/* Content-MD5: 24 base64 characters of 16 bytes. */
static int content_md5(gw_req_t *r, s3_t *s)
{
    size_t n;
    const char *v =
        gw__hdr_get(r->head->hdrs, r->head->nhdrs, "content-md5", &n);
    if (v == NULL)
        return 0;
    unsigned char out[18];
    if (n != 24 || EVP_DecodeBlock(out, (const unsigned char *)v, 24) != 18 ||
        v[22] != '=' || v[23] != '=')
        return GW_EINVALIDDIGEST;
    memcpy(s->md5, out, 16);
    s->has_md5 = true;
    return 0;
}

int s3_body_checks(gw_req_t *r, s3_t *s)
{
    int rc = content_md5(r, s);
    if (rc < 0)
        return rc;
    r->filter = s3_body_filter;
    if (gw__auth_is_chunked(&s->auth)) {
        rc = gw__chunked_init(&s->dec, &s->auth, on_decoded, r);
        s->chunked = rc == 0;
        return rc;
    }
    if (s->auth.payload == GW_PAYLOAD_SHA256) {
        rc = gw__sha256_check_init(&s->sha, s->auth.payload_sha256);
        s->check_sha = rc == 0;
    }
    return rc;
}
