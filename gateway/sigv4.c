/*
 * sigv4.c - AWS Signature Version 4 as S3 checks it: the Authorization
 * header and presigned query forms, the canonical request, the signing
 * key (with a small caller-owned cache) and a signer for tests and the
 * load generator.
 *
 * The canonical URI: S3 neither normalises the path nor encodes it twice,
 * so a well-behaved client signs exactly the path it sends. We re-encode
 * the wire path and query by AWS's rules (keeping an escaped %2F
 * escaped), which gives the same bytes for every SDK whatever its
 * escaping habits; only when that signature fails do we try the wire
 * bytes themselves, as botocore signs them (it does not re-escape '!',
 * '(' or a '+' in the query), and then the query exactly as sent, as
 * Debian 12's curl 7.88 --aws-sigv4 signs it (unsorted, "uploads"
 * without '='). Every form is a function of the request's own bytes and
 * names the same resource, provided the gateway reads '+' in a query as
 * a space as S3 does; the extra HMACs are spent only on requests that
 * would fail anyway.
 */
#include "gateway/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gateway/err.h"
#include "runtime/rt.h"

#define ALGO "AWS4-HMAC-SHA256"
#define EMPTY_SHA256                                                           \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SECRET_MAX GW_AUTH_SECRET_MAX

/* ---- parse ------------------------------------------------------------ */

static bool all_hex_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* An access key or region: printable, no blank, no separator we split on. */
static bool token_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 127 || s[i] == ',' || s[i] == '/' ||
            s[i] == '=')
            return false;
    return n > 0;
}

/* Credential = AK/YYYYMMDD/region/s3/aws4_request; `bad` is the error
 * of the form it came in (header or query). */
static int parse_credential(const char *s, size_t n, gw_auth_t *a, int bad)
{
    const char *p[5];
    size_t l[5];
    const char *c = s, *end = s + n;
    for (int k = 0; k < 5; k++) {
        const char *sl = memchr(c, '/', (size_t)(end - c));
        if ((k < 4) != (sl != NULL))
            return bad;
        p[k] = c;
        l[k] = (size_t)((sl ? sl : end) - c);
        c = sl ? sl + 1 : end;
    }
    if (l[0] > GW_AUTH_AK_MAX || !token_ok(p[0], l[0]) || l[1] != 8 ||
        l[2] > GW_AUTH_REGION_MAX || !token_ok(p[2], l[2]) || l[3] != 2 ||
        memcmp(p[3], "s3", 2) != 0 || l[4] != 12 ||
        memcmp(p[4], "aws4_request", 12) != 0)
        return bad;
    for (int i = 0; i < 8; i++)
        if (p[1][i] < '0' || p[1][i] > '9')
            return bad;
    memcpy(a->access_key, p[0], l[0]);
    a->access_key[l[0]] = '\0';
    memcpy(a->region, p[2], l[2]);
    a->region[l[2]] = '\0';
    snprintf(a->scope, sizeof a->scope, "%.8s/%s/s3/aws4_request", p[1],
             a->region);
    return 0;
}

/* SignedHeaders: lowercase names joined by ';', host among them. */
static int parse_signed(const char *s, size_t n, gw_auth_t *a, int bad)
{
    if (n == 0 || n > GW_AUTH_SIGNED_MAX)
        return bad;
    bool host = false;
    size_t st = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ';') {
            if (i == st)
                return bad;
            host |= i - st == 4 && memcmp(s + st, "host", 4) == 0;
            st = i + 1;
        } else if (!((s[i] >= 'a' && s[i] <= 'z') ||
                     (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
                     s[i] == '_' || s[i] == '.')) {
            return bad;
        }
    }
    if (!host)
        return bad; /* S3 requires the host header to be signed */
    memcpy(a->signed_headers, s, n);
    a->signed_headers[n] = '\0';
    return 0;
}

static int parse_sig(const char *s, size_t n, gw_auth_t *a, int bad)
{
    if (n != 64 || !all_hex_lower(s, n))
        return bad;
    memcpy(a->signature, s, 64);
    a->signature[64] = '\0';
    return 0;
}

/* The request time of header auth: x-amz-date, else Date. It must fall
 * on the credential's day and within the skew limit. */
static int header_date(const gw_auth_req_t *rq, gw_auth_t *a)
{
    const gw_hdr_t *h = gw__auth_hdr(rq, "x-amz-date");
    int64_t t;
    if (h != NULL) {
        if (h->value_len != 16 || gw__auth_date(h->value, 16, &t) < 0)
            return GW_EDENIED;
        memcpy(a->amz_date, h->value, 16);
    } else if ((h = gw__auth_hdr(rq, "date")) != NULL) {
        if (gw__auth_date(h->value, h->value_len, &t) < 0)
            return GW_EDENIED;
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(a->amz_date, sizeof a->amz_date, "%Y%m%dT%H%M%SZ", &tm);
    } else {
        return GW_EDENIED; /* "requires a valid Date or x-amz-date" */
    }
    a->amz_date[16] = '\0';
    if (memcmp(a->amz_date, a->scope, 8) != 0)
        return GW_EAUTHHDR; /* credential date is not x-amz-date's */
    if (t > rq->now + GW_AUTH_MAX_SKEW || t < rq->now - GW_AUTH_MAX_SKEW)
        return GW_ESKEW;
    return 0;
}

static int decimal(const char *s, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (max - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* x-amz-trailer: the checksum header a trailer will carry. */
static int trailer_decl(const gw_auth_req_t *rq, gw_auth_t *a)
{
    const gw_hdr_t *h = gw__auth_hdr(rq, "x-amz-trailer");
    if (h == NULL || a->payload == GW_PAYLOAD_STREAMING)
        return 0;
    if (h->value_len >= sizeof a->trailer)
        return GW_EARGUMENT;
    for (size_t i = 0; i < h->value_len; i++) {
        char c = h->value[i];
        a->trailer[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    a->trailer[h->value_len] = '\0';
    return 0;
}

/* The payload hash line that x-amz-content-sha256 declares. Without it
 * a generic SigV4 signer has hashed the body, which we can only check
 * at the end: we assume the empty body's hash and let the body check
 * refuse anything else. */
static int payload_decl(const gw_auth_req_t *rq, gw_auth_t *a)
{
    static const struct {
        const char *s;
        gw_payload_t kind;
    } names[] = {
        {"UNSIGNED-PAYLOAD", GW_PAYLOAD_UNSIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", GW_PAYLOAD_STREAMING},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
         GW_PAYLOAD_STREAMING_TRAILER},
        {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", GW_PAYLOAD_UNSIGNED_TRAILER},
    };
    const gw_hdr_t *h = gw__auth_hdr(rq, "x-amz-content-sha256");
    a->payload = GW_PAYLOAD_SHA256;
    if (h == NULL) {
        memcpy(a->payload_sha256, EMPTY_SHA256, 65);
        return 0;
    }
    if (h->value_len == 64 && all_hex(h->value, 64)) {
        memcpy(a->payload_sha256, h->value, 64);
        a->payload_sha256[64] = '\0';
        return 0;
    }
    a->payload = GW_PAYLOAD_NONE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (h->value_len == strlen(names[i].s) &&
            memcmp(h->value, names[i].s, h->value_len) == 0)
            a->payload = names[i].kind;
    if (a->payload == GW_PAYLOAD_NONE)
        return GW_EARGUMENT;
    memcpy(a->payload_sha256, h->value, h->value_len);
    a->payload_sha256[h->value_len] = '\0';
    if (!gw__auth_is_chunked(a))
        return 0;
    h = gw__auth_hdr(rq, "x-amz-decoded-content-length");
    if (h == NULL)
        return GW_ENOLENGTH;
    if (decimal(h->value, h->value_len, INT64_MAX / 2, &a->decoded_len) < 0)
        return GW_EARGUMENT;
    return trailer_decl(rq, a);
}

/* Credential=..., SignedHeaders=..., Signature=... in any order, each
 * once, separated by commas and optional blanks. */
static int parse_fields(const char *s, const char *end, const char *v[3],
                        size_t l[3])
{
    static const char *keys[3] = {"Credential", "SignedHeaders", "Signature"};
    while (s < end) {
        while (s < end && (*s == ' ' || *s == ','))
            s++;
        if (s == end)
            break;
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (eq == NULL)
            return GW_EAUTHHDR;
        const char *ve = memchr(eq, ',', (size_t)(end - eq));
        ve = ve ? ve : end;
        int k = -1;
        for (int i = 0; i < 3; i++)
            if ((size_t)(eq - s) == strlen(keys[i]) &&
                memcmp(s, keys[i], (size_t)(eq - s)) == 0)
                k = i;
        if (k < 0 || v[k] != NULL)
            return GW_EAUTHHDR;
        v[k] = eq + 1;
        l[k] = (size_t)(ve - v[k]);
        while (l[k] > 0 && v[k][l[k] - 1] == ' ')
            l[k]--;
        s = ve;
    }
    return v[0] && v[1] && v[2] ? 0 : GW_EAUTHHDR;
}

int gw__sigv4_parse_header(const gw_auth_req_t *rq, const gw_hdr_t *auth,
                           gw_auth_t *a)
{
    const char *s = auth->value, *end = s + auth->value_len;
    const char *v[3] = {NULL, NULL, NULL};
    size_t l[3] = {0, 0, 0};
    int rc;
    if (auth->value_len < sizeof ALGO || memcmp(s, ALGO " ", sizeof ALGO) != 0)
        return GW_EAUTHHDR;
    if ((rc = parse_fields(s + sizeof ALGO, end, v, l)) < 0 ||
        (rc = parse_credential(v[0], l[0], a, GW_EAUTHHDR)) < 0 ||
        (rc = parse_signed(v[1], l[1], a, GW_EAUTHHDR)) < 0 ||
        (rc = parse_sig(v[2], l[2], a, GW_EAUTHHDR)) < 0 ||
        (rc = header_date(rq, a)) < 0)
        return rc;
    return payload_decl(rq, a);
}

/* One required X-Amz-* parameter of a presigned URL. */
static int qreq(const gw_auth_req_t *rq, const char *name, char *out,
                size_t cap)
{
    int rc = gw__auth_qparam(rq, name, out, cap);
    return rc == 1 ? 0 : GW_EARGUMENT;
}

int gw__sigv4_parse_query(const gw_auth_req_t *rq, gw_auth_t *a)
{
    char algo[24], cred[GW_AUTH_AK_MAX + 80], date[20], exp[12];
    char sh[GW_AUTH_SIGNED_MAX + 1], sig[68];
    int64_t t, e;
    int rc;
    if ((rc = qreq(rq, "X-Amz-Algorithm", algo, sizeof algo)) < 0 ||
        (rc = qreq(rq, "X-Amz-Credential", cred, sizeof cred)) < 0 ||
        (rc = qreq(rq, "X-Amz-Date", date, sizeof date)) < 0 ||
        (rc = qreq(rq, "X-Amz-Expires", exp, sizeof exp)) < 0 ||
        (rc = qreq(rq, "X-Amz-SignedHeaders", sh, sizeof sh)) < 0 ||
        (rc = qreq(rq, "X-Amz-Signature", sig, sizeof sig)) < 0)
        return rc;
    if (strcmp(algo, ALGO) != 0)
        return GW_EARGUMENT;
    if ((rc = parse_credential(cred, strlen(cred), a, GW_EARGUMENT)) < 0 ||
        (rc = parse_signed(sh, strlen(sh), a, GW_EARGUMENT)) < 0 ||
        (rc = parse_sig(sig, strlen(sig), a, GW_EARGUMENT)) < 0)
        return rc;
    if (strlen(date) != 16 || gw__auth_date(date, 16, &t) < 0 ||
        memcmp(date, a->scope, 8) != 0)
        return GW_EARGUMENT;
    memcpy(a->amz_date, date, 17);
    if (decimal(exp, strlen(exp), GW_AUTH_MAX_EXPIRES, &e) < 0)
        return GW_EARGUMENT;
    if (rq->now > t + e)
        return GW_EEXPIRED;
    if (t > rq->now + GW_AUTH_MAX_SKEW)
        return GW_EDENIED; /* "Request is not valid yet" */
    a->payload = GW_PAYLOAD_UNSIGNED;
    memcpy(a->payload_sha256, "UNSIGNED-PAYLOAD", 17);
    return 0;
}

/* ---- canonical request -------------------------------------------------- */

typedef struct qp_s {
    size_t off, nlen, vlen; /* in the scratch builder */
} qp_t;

static int qp_cmp(const void *x, const void *y, void *base)
{
    const qp_t *a = x, *b = y;
    const char *p = base;
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(p + a->off, p + b->off, n);
    if (c != 0 || a->nlen != b->nlen)
        return c != 0 ? c : (a->nlen < b->nlen ? -1 : 1);
    n = a->vlen < b->vlen ? a->vlen : b->vlen;
    c = memcmp(p + a->off + a->nlen, p + b->off + b->nlen, n);
    if (c != 0 || a->vlen == b->vlen)
        return c;
    return a->vlen < b->vlen ? -1 : 1;
}

static void put_enc(gw_sb_t *b, const char *s, size_t n, bool raw)
{
    if (raw)
        gw__sb_put(b, s, n);
    else
        gw__auth_uri_put(b, s, n, false);
}

/* Encode every name and value of the query into `tmp`, recording where
 * each pair sits. */
static size_t query_pairs(const gw_auth_req_t *rq, bool presigned, bool raw,
                          gw_sb_t *tmp, qp_t *qp)
{
    const char *q = rq->query, *end = q + rq->query_len;
    size_t n = 0;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        const char *ne = eq ? eq : pe, *v = eq ? eq + 1 : pe;
        bool skip = pe == q || (presigned && ne - q == 15 &&
                                memcmp(q, "X-Amz-Signature", 15) == 0);
        if (!skip) {
            qp[n].off = tmp->len;
            put_enc(tmp, q, (size_t)(ne - q), raw);
            qp[n].nlen = tmp->len - qp[n].off;
            put_enc(tmp, v, (size_t)(pe - v), raw);
            qp[n].vlen = tmp->len - qp[n].off - qp[n].nlen;
            n++;
        }
        q = amp ? amp + 1 : end;
    }
    return n;
}

/* The canonical query: pairs re-encoded by AWS's rules and sorted by
 * name, then value; a presigned URL's own signature is left out. */
static int canon_query(const gw_auth_req_t *rq, bool presigned, bool raw,
                       gw_sb_t *b)
{
    if (rq->query == NULL || rq->query_len == 0)
        return 0;
    size_t max = 1;
    for (size_t i = 0; i < rq->query_len; i++)
        max += rq->query[i] == '&';
    qp_t inl[32], *qp = inl;
    if (max > 32 && (qp = malloc(max * sizeof *qp)) == NULL)
        return CLEO_ENOMEM;
    gw_sb_t tmp;
    gw__sb_init(&tmp);
    size_t n = query_pairs(rq, presigned, raw, &tmp, qp);
    int rc = tmp.err;
    if (rc == 0) {
        qsort_r(qp, n, sizeof *qp, qp_cmp, tmp.p);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                gw__sb_put(b, "&", 1);
            gw__sb_put(b, tmp.p + qp[i].off, qp[i].nlen);
            gw__sb_put(b, "=", 1);
            gw__sb_put(b, tmp.p + qp[i].off + qp[i].nlen, qp[i].vlen);
        }
    }
    gw__sb_destroy(&tmp);
    if (qp != inl)
        free(qp);
    return rc;
}

/* A header value trimmed, with inner runs of blanks made one space. */
static void put_trimall(gw_sb_t *b, const char *s, size_t n)
{
    size_t i = 0;
    bool first = true;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t st = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        if (i > st) {
            if (!first)
                gw__sb_put(b, " ", 1);
            gw__sb_put(b, s + st, i - st);
            first = false;
        }
    }
}

/* "name:value\n" for each signed header, in SignedHeaders order; the
 * values of a repeated header are joined by commas. */
static void canon_headers(const gw_auth_req_t *rq, const char *sh, gw_sb_t *b)
{
    while (*sh != '\0') {
        const char *e = strchr(sh, ';');
        size_t n = e ? (size_t)(e - sh) : strlen(sh);
        gw__sb_put(b, sh, n);
        gw__sb_put(b, ":", 1);
        bool first = true;
        for (size_t i = 0; i < rq->nhdrs; i++) {
            const gw_hdr_t *h = &rq->hdrs[i];
            if (h->name_len != n || strncasecmp(h->name, sh, n) != 0)
                continue;
            if (!first)
                gw__sb_put(b, ",", 1);
            put_trimall(b, h->value, h->value_len);
            first = false;
        }
        gw__sb_put(b, "\n", 1);
        sh = e ? e + 1 : sh + n;
    }
}

/* The ways a client may have written the path and query into its
 * canonical request, tried in this order (see the top of the file). */
enum {
    CANON_AWS,  /* decoded and re-encoded by AWS's rules, pairs sorted */
    CANON_RAW,  /* wire bytes, pairs sorted (botocore) */
    CANON_WIRE, /* wire bytes, query verbatim (curl 7.x, header auth) */
    CANON_N
};

/* Build the canonical request in one of the CANON_* forms. */
static int canonical(const gw_auth_req_t *rq, const gw_auth_t *a, int form,
                     gw_sb_t *b)
{
    int rc = 0;
    gw__sb_put(b, rq->method, rq->method_len);
    gw__sb_put(b, "\n", 1);
    if (rq->path_len == 0)
        gw__sb_put(b, "/", 1);
    else if (form != CANON_AWS)
        gw__sb_put(b, rq->path, rq->path_len);
    else
        gw__auth_uri_put(b, rq->path, rq->path_len, true);
    gw__sb_put(b, "\n", 1);
    if (form == CANON_WIRE)
        gw__sb_put(b, rq->query, rq->query_len);
    else
        rc = canon_query(rq, a->kind == GW_AUTH_V4_QUERY, form == CANON_RAW, b);
    if (rc < 0)
        return rc;
    gw__sb_put(b, "\n", 1);
    canon_headers(rq, a->signed_headers, b);
    gw__sb_put(b, "\n", 1);
    gw__sb_puts(b, a->signed_headers);
    gw__sb_put(b, "\n", 1);
    gw__sb_puts(b, a->payload_sha256);
    return b->err;
}

/* The hex signature of the request under the signing key. */
static int signature(const gw_auth_req_t *rq, const gw_auth_t *a,
                     const unsigned char key[32], int form, char out[65])
{
    gw_sb_t b;
    unsigned char h[32], mac[32];
    char hx[65], sts[256];
    gw__sb_init(&b);
    int rc = canonical(rq, a, form, &b);
    if (rc == 0)
        gw__sha256(b.p, b.len, h);
    gw__sb_destroy(&b);
    if (rc < 0)
        return rc;
    gw__auth_hex(h, 32, hx);
    int n = snprintf(sts, sizeof sts, ALGO "\n%s\n%s\n%s", a->amz_date,
                     a->scope, hx);
    rt_assert(n > 0 && (size_t)n < sizeof sts); /* the fields are bounded */
    gw__hmac256(key, 32, sts, (size_t)n, mac);
    gw__auth_hex(mac, 32, out);
    return 0;
}

/* ---- signing key --------------------------------------------------------- */

void gw__sigv4_key(const char *secret, size_t secret_len, const char *date,
                   const char *region, unsigned char key[32])
{
    unsigned char k1[32], k2[32];
    char ks[4 + SECRET_MAX];
    rt_assert(secret_len <= SECRET_MAX); /* callers check the length */
    memcpy(ks, "AWS4", 4);
    memcpy(ks + 4, secret, secret_len);
    gw__hmac256(ks, 4 + secret_len, date, 8, k1);
    gw__hmac256(k1, 32, region, strlen(region), k2);
    gw__hmac256(k2, 32, "s3", 2, k1);
    gw__hmac256(k1, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(ks, sizeof ks);
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
}

/* The signing key of (secret, scope), from the cache when it is there. */
static void signing_key(const char *secret, size_t slen, const gw_auth_t *a,
                        gw_sigv4_cache_t *c, unsigned char key[32])
{
    if (c == NULL) {
        gw__sigv4_key(secret, slen, a->scope, a->region, key);
        return;
    }
    unsigned char id[32];
    char buf[sizeof(size_t) + SECRET_MAX + sizeof a->scope];
    size_t sl = strlen(a->scope);
    rt_assert(slen <= SECRET_MAX); /* gw__sigv4_verify checked it */
    memcpy(buf, &slen, sizeof slen);
    memcpy(buf + sizeof slen, secret, slen);
    memcpy(buf + sizeof slen + slen, a->scope, sl);
    gw__sha256(buf, sizeof slen + slen + sl, id);
    OPENSSL_cleanse(buf, sizeof buf);
    for (int i = 0; i < GW_SIGV4_CACHE_SLOTS; i++) {
        if (c->slot[i].used && memcmp(c->slot[i].id, id, 32) == 0) {
            memcpy(key, c->slot[i].key, 32);
            return;
        }
    }
    gw__sigv4_key(secret, slen, a->scope, a->region, key);
    unsigned v = c->next++ % GW_SIGV4_CACHE_SLOTS;
    memcpy(c->slot[v].id, id, 32);
    memcpy(c->slot[v].key, key, 32);
    c->slot[v].used = true;
}

int gw__sigv4_verify(const gw_auth_req_t *rq, gw_auth_t *a, const char *secret,
                     size_t secret_len, gw_sigv4_cache_t *cache)
{
    unsigned char key[32];
    char sig[65];
    bool ok = false;
    if (secret_len > SECRET_MAX)
        return CLEO_EPROTO; /* a key record no signer could have used */
    signing_key(secret, secret_len, a, cache, key);
    for (int form = CANON_AWS; form < CANON_N && !ok; form++) {
        if (form == CANON_WIRE && (a->kind == GW_AUTH_V4_QUERY ||
                                   rq->query == NULL || rq->query_len == 0))
            continue; /* presigned URLs are all sorted; or same as RAW */
        int rc = signature(rq, a, key, form, sig);
        if (rc < 0) {
            OPENSSL_cleanse(key, sizeof key);
            return rc;
        }
        ok = CRYPTO_memcmp(sig, a->signature, 64) == 0;
    }
    if (!ok) {
        OPENSSL_cleanse(key, sizeof key);
        return GW_ESIGNATURE;
    }
    memcpy(a->_key, key, 32);
    a->_key_ok = true;
    OPENSSL_cleanse(key, sizeof key);
    return 0;
}

/* ---- signing ---------------------------------------------------------------
 */

/* Fill the parts of `a` a signer chooses. */
static int sign_setup(gw_auth_t *a, gw_auth_kind_t kind, const char *region,
                      const char *amz_date, const char *signed_headers,
                      const char *payload_hash)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    if (strlen(amz_date) != 16 || strlen(region) > GW_AUTH_REGION_MAX ||
        strlen(signed_headers) > GW_AUTH_SIGNED_MAX ||
        strlen(payload_hash) > 64)
        return GW_EARGUMENT;
    memcpy(a->amz_date, amz_date, 17);
    strcpy(a->region, region);
    strcpy(a->signed_headers, signed_headers);
    strcpy(a->payload_sha256, payload_hash);
    snprintf(a->scope, sizeof a->scope, "%.8s/%s/s3/aws4_request", amz_date,
             region);
    return 0;
}

int gw__sigv4_sign_key(const gw_auth_req_t *rq, const char *access_key,
                       const unsigned char key[32], const char *region,
                       const char *amz_date, const char *signed_headers,
                       const char *payload_hash, char *out, size_t cap)
{
    gw_auth_t a;
    char sig[65];
    int rc = sign_setup(&a, GW_AUTH_V4_HEADER, region, amz_date, signed_headers,
                        payload_hash);
    if (rc < 0 || (rc = signature(rq, &a, key, CANON_AWS, sig)) < 0)
        return rc;
    int n = snprintf(out, cap,
                     ALGO " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                     access_key, a.scope, signed_headers, sig);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int gw__sigv4_sign(const gw_auth_req_t *rq, const char *access_key,
                   const char *secret, const char *region, const char *amz_date,
                   const char *signed_headers, const char *payload_hash,
                   char *out, size_t cap)
{
    unsigned char key[32];
    if (strlen(amz_date) != 16 || strlen(region) > GW_AUTH_REGION_MAX ||
        strlen(secret) > SECRET_MAX)
        return GW_EARGUMENT;
    gw__sigv4_key(secret, strlen(secret), amz_date, region, key);
    int rc = gw__sigv4_sign_key(rq, access_key, key, region, amz_date,
                                signed_headers, payload_hash, out, cap);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int gw__sigv4_presign(const gw_auth_req_t *rq, const char *access_key,
                      const char *secret, const char *region,
                      const char *amz_date, int64_t expires, char *out,
                      size_t cap)
{
    gw_auth_t a;
    gw_sb_t q;
    unsigned char key[32];
    char sig[65], cred[GW_AUTH_AK_MAX + 100], tail[96];
    int rc = sign_setup(&a, GW_AUTH_V4_QUERY, region, amz_date, "host",
                        "UNSIGNED-PAYLOAD");
    if (rc < 0)
        return rc;
    if (strlen(secret) > SECRET_MAX)
        return GW_EARGUMENT;
    snprintf(cred, sizeof cred, "%s/%s", access_key, a.scope);
    snprintf(tail, sizeof tail,
             "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=host",
             amz_date, (long long)expires);
    gw__sb_init(&q);
    if (rq->query_len > 0) {
        gw__sb_put(&q, rq->query, rq->query_len);
        gw__sb_put(&q, "&", 1);
    }
    gw__sb_puts(&q, "X-Amz-Algorithm=" ALGO "&X-Amz-Credential=");
    gw__auth_uri_put(&q, cred, strlen(cred), false);
    gw__sb_puts(&q, tail);
    gw_auth_req_t r = *rq;
    r.query = q.p;
    r.query_len = q.len;
    gw__sigv4_key(secret, strlen(secret), amz_date, region, key);
    rc = q.err < 0 ? q.err : signature(&r, &a, key, CANON_AWS, sig);
    if (rc == 0 && q.len + 17 + 64 + 1 > cap)
        rc = -ENOSPC;
    if (rc == 0) {
        memcpy(out, q.p, q.len);
        memcpy(out + q.len, "&X-Amz-Signature=", 17);
        memcpy(out + q.len + 17, sig, 65);
    }
    gw__sb_destroy(&q);
    return rc;
}

void gw__sigv4_chunk_sig(const unsigned char key[32], const char *amz_date,
                         const char *scope, const char *prev_sig,
                         const unsigned char data_sha256[32], char out[65])
{
    char hx[65], sts[320];
    unsigned char mac[32];
    gw__auth_hex(data_sha256, 32, hx);
    int n = snprintf(sts, sizeof sts,
                     ALGO "-PAYLOAD\n%s\n%s\n%s\n" EMPTY_SHA256 "\n%s",
                     amz_date, scope, prev_sig, hx);
    rt_assert(n > 0 && (size_t)n < sizeof sts); /* the fields are bounded */
    gw__hmac256(key, 32, sts, (size_t)n, mac);
    gw__auth_hex(mac, 32, out);
}
