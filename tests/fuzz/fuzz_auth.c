/*
 * fuzz_auth.c - libFuzzer target for S3 request authentication
 * (gateway/auth.h): the parse and verify phases on arbitrary requests,
 * the aws-chunked decoder on arbitrary bodies in arbitrary slices, and
 * two properties: whatever the path and query, a request we sign (or
 * presign) verifies. Built and run by run.sh.
 *
 * Input: one flags byte, then lines: method, path, query, headers
 * ("name:value") up to an empty line; the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gateway/auth.h"
#include "gateway/err.h"

#define NOW 1795608000 /* 2026-11-25T12:00:00Z */
#define AMZ_DATE "20261125T120000Z"
static const char SK[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static gw_sigv4_cache_t cache;

static int sink(void *data, const char *buf, size_t len)
{
    size_t *total = data;
    *total += len;
    return buf[0] == '\0' && buf[len - 1] == '\1' ? GW_EARGUMENT : 0;
}

/* Feed body in slices of `step` bytes; the decoder must never emit more
 * than the body holds. */
static void decode(const gw_auth_t *a, const uint8_t *body, size_t n,
                   size_t step)
{
    gw_chunked_t d;
    size_t total = 0;
    if (gw__chunked_init(&d, a, sink, &total) == 0) {
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i += step)
            rc = gw__chunked_feed(&d, (const char *)body + i,
                                  n - i < step ? n - i : step);
        if (rc == 0)
            (void)gw__chunked_finish(&d);
    }
    gw__chunked_destroy(&d);
    if (total > n)
        __builtin_trap();
}

static void parse_verify(const gw_auth_req_t *rq, const uint8_t *body, size_t n)
{
    gw_auth_t a;
    if (gw__auth_parse(rq, &a) < 0)
        return;
    if (strlen(a.access_key) > GW_AUTH_AK_MAX)
        __builtin_trap();
    if (gw__auth_verify(rq, &a, SK, strlen(SK), &cache) < 0)
        return;
    if (gw__auth_is_chunked(&a))
        decode(&a, body, n, 7);
    if (a.payload == GW_PAYLOAD_SHA256) {
        gw_sha256_check_t c;
        if (gw__sha256_check_init(&c, a.payload_sha256) == 0) {
            gw__sha256_check_update(&c, body, n);
            (void)gw__sha256_check_final(&c);
        }
        gw__sha256_check_destroy(&c);
    }
}

/* The decoder on its own, as if the headers had verified. */
static void decode_direct(uint8_t flags, const uint8_t *body, size_t n)
{
    static const gw_payload_t kinds[4] = {
        GW_PAYLOAD_STREAMING, GW_PAYLOAD_STREAMING_TRAILER,
        GW_PAYLOAD_UNSIGNED_TRAILER, GW_PAYLOAD_UNSIGNED_TRAILER};
    gw_auth_t a;
    memset(&a, 0, sizeof a);
    a.payload = kinds[flags & 3];
    static const char *const ck[4] = {"", "x-amz-checksum-crc32",
                                      "x-amz-checksum-sha1",
                                      "x-amz-checksum-sha256"};
    a.decoded_len = flags & 4 ? -1 : (int64_t)(n / 2);
    strcpy(a.trailer, ck[(flags >> 5) & 3]);
    a._key_ok = true;
    strcpy(a.amz_date, AMZ_DATE);
    strcpy(a.scope, "20261125/us-east-1/s3/aws4_request");
    memset(a.signature, 'a', 64);
    decode(&a, body, n, (size_t)(flags >> 3) + 1);
}

/* Sign a clean request around the fuzzed path and query: it verifies. */
static void roundtrip(const gw_auth_req_t *in)
{
    gw_hdr_t h[4] = {
        {"Host", 4, "127.0.0.1:8080", 14},
        {"x-amz-date", 10, AMZ_DATE, 16},
        {"x-amz-content-sha256", 20, "UNSIGNED-PAYLOAD", 16},
    };
    gw_auth_req_t rq = *in;
    char out[8192];
    gw_auth_t a;
    rq.hdrs = h;
    rq.nhdrs = 3;
    if (gw__sigv4_sign(&rq, "AKID", SK, "us-east-1", AMZ_DATE,
                       "host;x-amz-content-sha256;x-amz-date",
                       "UNSIGNED-PAYLOAD", out, sizeof out) == 0) {
        h[3] = (gw_hdr_t){"Authorization", 13, out, strlen(out)};
        rq.nhdrs = 4;
        if (gw__auth_parse(&rq, &a) == 0 &&
            gw__auth_verify(&rq, &a, SK, strlen(SK), &cache) != 0)
            __builtin_trap();
    }
    rq.nhdrs = 1;
    size_t ql;
    /* The presigned query is a C string, read back with strlen: a query
     * with a NUL byte (which no HTTP request can carry) would be cut. */
    if (memchr(rq.query, '\0', rq.query_len) == NULL &&
        gw__sigv4_presign(&rq, "AKID", SK, "us-east-1", AMZ_DATE, 60, out,
                          sizeof out) == 0) {
        ql = strlen(out);
        rq.query = out;
        rq.query_len = ql;
        if (gw__auth_parse(&rq, &a) == 0 && a.kind == GW_AUTH_V4_QUERY &&
            gw__auth_verify(&rq, &a, SK, strlen(SK), &cache) != 0)
            __builtin_trap();
    }
}

/* The next '\n'-terminated line of [*p, end). */
static const char *next_line(const char **p, const char *end, size_t *len)
{
    const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    *len = (size_t)((nl ? nl : end) - s);
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    gw_hdr_t h[32];
    gw_auth_req_t rq;
    memset(&rq, 0, sizeof rq);
    rq.method = next_line(&p, end, &rq.method_len);
    rq.path = next_line(&p, end, &rq.path_len);
    rq.query = next_line(&p, end, &rq.query_len);
    while (p < end && rq.nhdrs < 32) {
        size_t n;
        const char *l = next_line(&p, end, &n);
        if (n == 0)
            break;
        const char *c = memchr(l, ':', n);
        size_t nl = c ? (size_t)(c - l) : n;
        h[rq.nhdrs++] =
            (gw_hdr_t){l, nl, c ? c + 1 : l + n, c ? n - nl - 1 : 0};
    }
    rq.hdrs = h;
    rq.now = NOW + (flags & 0x80 ? 0 : (int64_t)(flags & 0x7f) * 60);
    const uint8_t *body = (const uint8_t *)p;
    size_t blen = (size_t)(end - p);
    parse_verify(&rq, body, blen);
    decode_direct(flags, body, blen);
    roundtrip(&rq);
    return 0;
}
