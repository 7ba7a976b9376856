/*
 * auth.c - request authentication: choosing the mechanism, the helpers
 * the signature versions share (headers, query, percent-encoding, dates,
 * OpenSSL one-shots) and the x-amz-content-sha256 body check.
 */
#include "gateway/auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gateway/err.h"
#include "runtime/rt.h"

/* ---- string builder -------------------------------------------------- */

void gw__sb_init(gw_sb_t *b)
{
    b->p = b->inl;
    b->len = 0;
    b->cap = sizeof b->inl;
    b->err = 0;
}

/* Grow to hold n more bytes; the size comes from the client, so a
 * failure is an error (sticky), not an abort. */
static bool sb_reserve(gw_sb_t *b, size_t n)
{
    if (b->err < 0)
        return false;
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap * 2;
    while (cap < b->len + n)
        cap *= 2;
    char *p = b->p == b->inl ? malloc(cap) : realloc(b->p, cap);
    if (p == NULL) {
        b->err = CLEO_ENOMEM;
        return false;
    }
    if (b->p == b->inl)
        memcpy(p, b->inl, b->len);
    b->p = p;
    b->cap = cap;
    return true;
}

void gw__sb_put(gw_sb_t *b, const void *s, size_t n)
{
    if (n == 0 || !sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void gw__sb_puts(gw_sb_t *b, const char *s)
{
    gw__sb_put(b, s, strlen(s));
}

void gw__sb_destroy(gw_sb_t *b)
{
    if (b->p != b->inl)
        free(b->p);
    gw__sb_init(b);
}

/* ---- headers and query ---------------------------------------------- */

const gw_hdr_t *gw__auth_hdr(const gw_auth_req_t *rq, const char *lname)
{
    size_t n = strlen(lname);
    for (size_t i = 0; i < rq->nhdrs; i++) {
        const gw_hdr_t *h = &rq->hdrs[i];
        if (h->name_len == n && strncasecmp(h->name, lname, n) == 0)
            return h;
    }
    return NULL;
}

int gw__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t gw__auth_unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && gw__hexval(s[i + 1]) >= 0 &&
            gw__hexval(s[i + 2]) >= 0) {
            c = gw__hexval(s[i + 1]) * 16 + gw__hexval(s[i + 2]);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    if (cap == 0)
        return -1;
    out[o] = '\0';
    return (ssize_t)o;
}

int gw__auth_qparam(const gw_auth_req_t *rq, const char *name, char *out,
                    size_t cap)
{
    size_t nlen = strlen(name);
    if (rq->query == NULL)
        return 0;
    const char *q = rq->query, *end = q + rq->query_len;
    int found = 0;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        const char *ne = eq ? eq : pe;
        if ((size_t)(ne - q) == nlen && memcmp(q, name, nlen) == 0) {
            if (found++)
                return GW_EARGUMENT;
            const char *v = eq ? eq + 1 : pe;
            if (gw__auth_unescape(v, (size_t)(pe - v), out, cap) < 0)
                return GW_EARGUMENT;
        }
        q = amp ? amp + 1 : end;
    }
    return found;
}

static bool unreserved(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~';
}

void gw__auth_uri_put(gw_sb_t *b, const char *s, size_t n, bool is_path)
{
    static const char hx[] = "0123456789ABCDEF";
    if (!sb_reserve(b, n * 3))
        return;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        bool raw = true;
        if (c == '%' && i + 2 < n && gw__hexval(s[i + 1]) >= 0 &&
            gw__hexval(s[i + 2]) >= 0) {
            c = gw__hexval(s[i + 1]) * 16 + gw__hexval(s[i + 2]);
            i += 2;
            raw = false; /* an escaped '/' stays escaped */
        } else if (c == '+' && !is_path) {
            c = ' ';
        }
        if (unreserved(c) || (raw && is_path && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hx[c >> 4];
            *o++ = hx[c & 15];
        }
    }
    b->len = (size_t)(o - b->p);
}

void gw__auth_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- dates ----------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int make_time(int y, int mo, int d, int h, int mi, int s, int64_t *t)
{
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || s < 0 || s > 60)
        return -1;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

static int month_of(const char *s)
{
    static const char m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncasecmp(s, m + 3 * i, 3) == 0)
            return i + 1;
    return -1;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its cousins: an optional weekday
 * with a comma, then "D[D] Mon YYYY HH:MM:SS" and GMT, UTC, Z or +0000.
 * RFC 850's "06-Nov-94" and asctime are rare enough from S3 clients to
 * be refused. */
static int rfc1123(const char *s, size_t n, int64_t *t)
{
    char b[64];
    if (n >= sizeof b)
        return -1;
    memcpy(b, s, n);
    b[n] = '\0';
    const char *p = strchr(b, ',');
    p = p ? p + 1 : b;
    while (*p == ' ')
        p++;
    char mon[4], zone[8];
    int d, y, h, mi, sec, used = 0;
    if (sscanf(p, "%2d %3s %4d %2d:%2d:%2d %7s%n", &d, mon, &y, &h, &mi, &sec,
               zone, &used) != 7 ||
        p[used] != '\0')
        return -1;
    if (strcmp(zone, "GMT") != 0 && strcmp(zone, "UTC") != 0 &&
        strcmp(zone, "Z") != 0 && strcmp(zone, "+0000") != 0)
        return -1;
    return make_time(y, month_of(mon), d, h, mi, sec, t);
}

int gw__auth_date(const char *s, size_t n, int64_t *t)
{
    if (n == 16 && s[8] == 'T' && s[15] == 'Z') {
        return make_time(digits(s, 4), digits(s + 4, 2), digits(s + 6, 2),
                         digits(s + 9, 2), digits(s + 11, 2), digits(s + 13, 2),
                         t);
    }
    return rfc1123(s, n, t);
}

/* ---- OpenSSL one-shots ------------------------------------------------ */

/* libcrypto fails a one-shot digest only when it cannot allocate its
 * context. No input reaches that, and going on with an unwritten digest
 * could let a forged signature compare equal, so the connection actor
 * whose turn this is crashes (its socket closes; the node goes on). */

void gw__sha256(const void *buf, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    if (EVP_Digest(buf, n, out, &len, EVP_sha256(), NULL) != 1)
        cl_panic("libcrypto: SHA-256 failed");
}

void gw__hmac256(const void *key, size_t klen, const void *buf, size_t n,
                 unsigned char out[32])
{
    unsigned int len = 32;
    if (HMAC(EVP_sha256(), key, (int)klen, buf, n, out, &len) == NULL)
        cl_panic("libcrypto: HMAC-SHA256 failed");
}

void gw__hmac1(const void *key, size_t klen, const void *buf, size_t n,
               unsigned char out[20])
{
    unsigned int len = 20;
    if (HMAC(EVP_sha1(), key, (int)klen, buf, n, out, &len) == NULL)
        cl_panic("libcrypto: HMAC-SHA1 failed");
}

/* ---- the two phases ---------------------------------------------------- */

static bool qhas(const gw_auth_req_t *rq, const char *name)
{
    char tmp[1];
    /* A value too long for tmp (or a duplicate) still proves the name is
     * there; the kind's own parser reports the error. */
    return gw__auth_qparam(rq, name, tmp, 0) != 0;
}

/* Which headers and parameters say that credentials are present. */
static int pick(const gw_auth_req_t *rq, const gw_hdr_t **auth)
{
    *auth = NULL;
    for (size_t i = 0; i < rq->nhdrs; i++) {
        const gw_hdr_t *h = &rq->hdrs[i];
        if (h->name_len == 13 &&
            strncasecmp(h->name, "authorization", 13) == 0) {
            if (*auth != NULL)
                return GW_EAUTHHDR;
            *auth = h;
        }
    }
    bool q4 = qhas(rq, "X-Amz-Algorithm") || qhas(rq, "X-Amz-Credential") ||
              qhas(rq, "X-Amz-Signature");
    bool q2 = qhas(rq, "AWSAccessKeyId") || qhas(rq, "Signature");
    if ((*auth != NULL) + q4 + q2 > 1)
        return GW_EARGUMENT; /* only one auth mechanism is allowed */
    if (*auth != NULL)
        return (*auth)->value_len >= 4 && memcmp((*auth)->value, "AWS4", 4) == 0
                   ? GW_AUTH_V4_HEADER
                   : GW_AUTH_V2_HEADER;
    return q4 ? GW_AUTH_V4_QUERY : q2 ? GW_AUTH_V2_QUERY : GW_AUTH_ANON;
}

int gw__auth_parse(const gw_auth_req_t *rq, gw_auth_t *out)
{
    gw_auth_t a;
    const gw_hdr_t *auth;
    int rc = pick(rq, &auth);
    if (rc < 0)
        return rc;
    memset(&a, 0, sizeof a);
    a.decoded_len = -1;
    a.kind = (gw_auth_kind_t)rc;
    switch (a.kind) {
    case GW_AUTH_ANON:
        rc = 0;
        break;
    case GW_AUTH_V4_HEADER:
        rc = gw__sigv4_parse_header(rq, auth, &a);
        break;
    case GW_AUTH_V4_QUERY:
        rc = gw__sigv4_parse_query(rq, &a);
        break;
    case GW_AUTH_V2_HEADER:
        rc = gw__sigv2_parse_header(rq, auth, &a);
        break;
    case GW_AUTH_V2_QUERY:
        rc = gw__sigv2_parse_query(rq, &a);
        break;
    }
    if (rc < 0)
        return rc;
    *out = a;
    return 0;
}

int gw__auth_verify(const gw_auth_req_t *rq, gw_auth_t *a, const char *secret,
                    size_t secret_len, gw_sigv4_cache_t *cache)
{
    switch (a->kind) {
    case GW_AUTH_V4_HEADER:
    case GW_AUTH_V4_QUERY:
        return gw__sigv4_verify(rq, a, secret, secret_len, cache);
    case GW_AUTH_V2_HEADER:
    case GW_AUTH_V2_QUERY:
        return gw__sigv2_verify(rq, a, secret, secret_len);
    case GW_AUTH_ANON:
        break;
    }
    return 0;
}

bool gw__auth_is_chunked(const gw_auth_t *a)
{
    return a->payload == GW_PAYLOAD_STREAMING ||
           a->payload == GW_PAYLOAD_STREAMING_TRAILER ||
           a->payload == GW_PAYLOAD_UNSIGNED_TRAILER;
}

/* ---- x-amz-content-sha256 body check ----------------------------------- */

int gw__sha256_check_init(gw_sha256_check_t *c, const char *hex)
{
    c->_ctx = NULL;
    for (int i = 0; i < 32; i++) {
        int hi = gw__hexval(hex[2 * i]),
            lo = hi < 0 ? -1 : gw__hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return GW_EARGUMENT;
        c->_want[i] = (unsigned char)(hi * 16 + lo);
    }
    if (hex[64] != '\0')
        return GW_EARGUMENT;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return CLEO_ENOMEM;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return CLEO_ENOMEM;
    }
    c->_ctx = ctx;
    return 0;
}

void gw__sha256_check_update(gw_sha256_check_t *c, const void *buf, size_t len)
{
    if (len > 0)
        EVP_DigestUpdate(c->_ctx, buf, len);
}

int gw__sha256_check_final(gw_sha256_check_t *c)
{
    unsigned char got[32];
    unsigned int n = 32;
    if (EVP_DigestFinal_ex(c->_ctx, got, &n) != 1)
        return GW_ESHA256;
    return CRYPTO_memcmp(got, c->_want, 32) == 0 ? 0 : GW_ESHA256;
}

void gw__sha256_check_destroy(gw_sha256_check_t *c)
{
    if (c == NULL)
        return;
    EVP_MD_CTX_free(c->_ctx);
    c->_ctx = NULL;
}
