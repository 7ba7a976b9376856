/*
 * test_awschunked.c - gateway/awschunked.c: AWS's documented
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD example (seed and chunk signatures
 * from AWS's page), fed whole, byte by byte and in odd splits; tampering,
 * framing and length errors; botocore's unsigned trailer body; and a
 * signed trailer built with our own signer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authtest.h"

#define DOC_NOW 1369353600 /* 2013-05-24T00:00:00Z */
#define DOC_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_SEED                                                               \
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

static const vec_t doc_req = {
    "aws_doc_chunked",
    "PUT",
    "/examplebucket/chunkObject.txt",
    "",
    "",
    8,
    {
        {"Host", "s3.amazonaws.com"},
        {"x-amz-date", "20130524T000000Z"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"Authorization",
         "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
         "s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
         "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
         "x-amz-storage-class,Signature=" DOC_SEED},
        {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
        {"Content-Encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "66560"},
        {"Content-Length", "66824"},
    }};

/* The decoded bytes, gathered by the callback. */
typedef struct sink_s {
    char *buf;
    size_t len, cap;
    int calls;
} sink_t;

static int sink_cb(void *data, const char *buf, size_t len)
{
    sink_t *s = data;
    cr_assert(len > 0);
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, buf, len);
    s->len += len;
    s->calls++;
    return 0;
}

static char *doc_body(size_t *len)
{
    char *b = malloc(70000);
    size_t n = 0;
    n += (size_t)sprintf(b + n, "10000;chunk-signature=%s\r\n", AWS_CHUNK_SIG0);
    memset(b + n, 'a', 65536);
    n += 65536;
    n += (size_t)sprintf(b + n, "\r\n400;chunk-signature=%s\r\n",
                         AWS_CHUNK_SIG1);
    memset(b + n, 'a', 1024);
    n += 1024;
    n += (size_t)sprintf(b + n, "\r\n0;chunk-signature=%s\r\n\r\n",
                         AWS_CHUNK_SIG2);
    *len = n;
    return b;
}

static void doc_auth(gw_auth_t *a)
{
    treq_t t;
    treq_from(&t, &doc_req, DOC_NOW);
    cr_assert_eq(treq_auth(&t, DOC_SK, a), 0);
    cr_assert_eq(a->payload, GW_PAYLOAD_STREAMING);
    cr_assert_eq(a->decoded_len, 66560);
}

/* Decode `body` in slices of `split` bytes (0: the whole at once). */
static int decode(const gw_auth_t *a, const char *body, size_t len,
                  size_t split, sink_t *s)
{
    gw_chunked_t d;
    memset(s, 0, sizeof *s);
    int rc = gw__chunked_init(&d, a, sink_cb, s);
    cr_assert_eq(rc, 0);
    size_t step = split ? split : len;
    for (size_t i = 0; i < len && rc == 0; i += step)
        rc = gw__chunked_feed(&d, body + i, len - i < step ? len - i : step);
    if (rc == 0)
        rc = gw__chunked_finish(&d);
    gw__chunked_destroy(&d);
    return rc;
}

static bool all_a(const sink_t *s, size_t n)
{
    if (s->len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s->buf[i] != 'a')
            return false;
    return true;
}

Test(gw_awschunked, aws_doc_seed_signature_verifies)
{
    gw_auth_t a;
    doc_auth(&a);
    cr_assert_str_eq(a.signature, DOC_SEED);
    cr_assert(gw__auth_is_chunked(&a));
}

Test(gw_awschunked, aws_doc_body_in_any_split)
{
    static const size_t splits[] = {0,  1,  2,  3,    7,     13,
                                    85, 86, 87, 4093, 65536, 65622};
    gw_auth_t a;
    size_t len;
    char *body = doc_body(&len);
    cr_assert_eq(len, 66824); /* Content-Length of AWS's example */
    doc_auth(&a);
    for (size_t i = 0; i < NVEC(splits); i++) {
        sink_t s;
        cr_assert_eq(decode(&a, body, len, splits[i], &s), 0, "split %zu",
                     splits[i]);
        cr_assert(all_a(&s, 66560));
        free(s.buf);
    }
    free(body);
}

Test(gw_awschunked, tampered_data_or_signature_fails)
{
    gw_auth_t a;
    size_t len;
    char *body = doc_body(&len);
    sink_t s;
    doc_auth(&a);
    body[1000] = 'b';
    cr_assert_eq(decode(&a, body, len, 0, &s), GW_ESIGNATURE);
    free(s.buf);
    body[1000] = 'a';
    char *sig1 = memmem(body, len, AWS_CHUNK_SIG1, 64);
    sig1[10] = sig1[10] == '0' ? '1' : '0'; /* still hex, now wrong */
    cr_assert_eq(decode(&a, body, len, 5, &s), GW_ESIGNATURE);
    free(s.buf);
    free(body);

    /* Chunks swapped in order: each signature chains the previous. */
    char *b = malloc(70000);
    size_t n = (size_t)sprintf(b, "400;chunk-signature=%s\r\n", AWS_CHUNK_SIG1);
    memset(b + n, 'a', 1024);
    n += 1024;
    n += (size_t)sprintf(b + n, "\r\n");
    cr_assert_eq(decode(&a, b, n, 0, &s), GW_ESIGNATURE);
    free(s.buf);
    free(b);
}

Test(gw_awschunked, wrong_decoded_length)
{
    gw_auth_t a;
    size_t len;
    char *body = doc_body(&len);
    sink_t s;
    doc_auth(&a);
    a.decoded_len = 66561;
    cr_assert_eq(decode(&a, body, len, 0, &s), GW_EINCOMPLETE);
    free(s.buf);
    a.decoded_len = 66559;
    cr_assert_eq(decode(&a, body, len, 0, &s), GW_EINCOMPLETE);
    cr_assert_eq(s.len, 65536); /* refused at the second chunk's header */
    free(s.buf);
    free(body);
}

Test(gw_awschunked, truncated_and_trailing_garbage)
{
    gw_auth_t a;
    size_t len;
    char *body = doc_body(&len);
    sink_t s;
    doc_auth(&a);
    cr_assert_eq(decode(&a, body, len - 2, 0, &s), GW_EINCOMPLETE);
    free(s.buf);
    cr_assert_eq(decode(&a, body, 66000, 0, &s), GW_EINCOMPLETE);
    free(s.buf);
    char *more = malloc(len + 3);
    memcpy(more, body, len);
    memcpy(more + len, "0\r\n", 3);
    cr_assert_eq(decode(&a, more, len + 3, 0, &s), GW_EBADREQ);
    free(s.buf);
    free(more);
    free(body);
}

Test(gw_awschunked, framing_errors)
{
    static const char *const bad[] = {
        "zz;chunk-signature=00\r\n",
        "10000\r\n",
        "10000;chunk-signature=abc\r\n",
        "10000;chunk-signature=" DOC_SEED "\n",
        "10000;chunk-sig=" DOC_SEED "\r\n",
        "10000000000000000;chunk-signature=" DOC_SEED "\r\n",
        "1;chunk-signature=" DOC_SEED "\r\naXY",
    };
    gw_auth_t a;
    doc_auth(&a);
    for (size_t i = 0; i < NVEC(bad); i++) {
        sink_t s;
        int rc = decode(&a, bad[i], strlen(bad[i]), 0, &s);
        cr_assert(rc == GW_EBADREQ || rc == GW_EINCOMPLETE ||
                      rc == GW_ESIGNATURE,
                  "#%zu: %d", i, rc);
        cr_assert_neq(rc, 0);
        free(s.buf);
    }
    /* A header line longer than the limit never ends. */
    char *lng = malloc(10000);
    memset(lng, '0', 10000);
    sink_t s;
    cr_assert_eq(decode(&a, lng, 10000, 0, &s), GW_EBADREQ);
    free(s.buf);
    free(lng);
}

Test(gw_awschunked, callback_error_stops_the_decode)
{
    gw_auth_t a;
    size_t len;
    char *body = doc_body(&len);
    gw_chunked_t d;
    doc_auth(&a);
    cr_assert_eq(gw__chunked_init(&d, &a, NULL, NULL), 0);
    cr_assert_eq(gw__chunked_feed(&d, body, len), 0); /* no callback: ok */
    cr_assert_eq(gw__chunked_finish(&d), 0);
    gw__chunked_destroy(&d);
    gw__chunked_destroy(&d);
    free(body);
}

Test(gw_awschunked, init_refuses_non_streaming_or_unverified)
{
    gw_auth_t a;
    gw_chunked_t d;
    doc_auth(&a);
    a._key_ok = false;
    cr_assert_eq(gw__chunked_init(&d, &a, NULL, NULL), GW_EARGUMENT);
    gw__chunked_destroy(&d);
    a.payload = GW_PAYLOAD_UNSIGNED;
    cr_assert_eq(gw__chunked_init(&d, &a, NULL, NULL), GW_EARGUMENT);
    gw__chunked_destroy(&d);
}

/* A STREAMING-UNSIGNED-PAYLOAD-TRAILER request around a body. */
static void unsigned_trailer_auth2(gw_auth_t *a, const char *dlen,
                                   const char *trailer)
{
    treq_t t;
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    strcpy(t.method, "PUT");
    strcpy(t.query, "");
    treq_set(&t, "X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    treq_set(&t, "x-amz-decoded-content-length", dlen);
    treq_set(&t, "x-amz-trailer", trailer);
    char auth[512];
    cr_assert_eq(
        gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, "us-east-1", "20261125T120000Z",
                       "host;x-amz-content-sha256;x-amz-date;"
                       "x-amz-decoded-content-length;x-amz-trailer",
                       "STREAMING-UNSIGNED-PAYLOAD-TRAILER", auth, sizeof auth),
        0);
    treq_set(&t, "Authorization", auth);
    cr_assert_eq(treq_auth(&t, VEC_SK, a), 0);
    cr_assert_eq(a->payload, GW_PAYLOAD_UNSIGNED_TRAILER);
}

static void unsigned_trailer_auth(gw_auth_t *a, const char *dlen)
{
    unsigned_trailer_auth2(a, dlen, "x-amz-checksum-crc32");
    cr_assert_str_eq(a->trailer, "x-amz-checksum-crc32");
}

Test(gw_awschunked, botocore_unsigned_trailer_body)
{
    static const size_t splits[] = {0, 1, 2, 5, 9, 10, 11};
    gw_auth_t a;
    char dlen[16];
    snprintf(dlen, sizeof dlen, "%zu", strlen(TRAILER_DATA));
    unsigned_trailer_auth(&a, dlen);
    for (size_t i = 0; i < NVEC(splits); i++) {
        sink_t s;
        cr_assert_eq(
            decode(&a, TRAILER_BODY, strlen(TRAILER_BODY), splits[i], &s), 0);
        cr_assert_eq(s.len, strlen(TRAILER_DATA));
        cr_assert_eq(memcmp(s.buf, TRAILER_DATA, s.len), 0);
        free(s.buf);
    }
    sink_t s;
    static const char sig_in_unsigned[] =
        "0\r\nx-amz-trailer-signature:" DOC_SEED "\r\n\r\n";
    unsigned_trailer_auth(&a, "0");
    cr_assert_eq(decode(&a, sig_in_unsigned, strlen(sig_in_unsigned), 0, &s),
                 GW_EBADREQ);
    free(s.buf);
    static const char no_colon[] = "0\r\nx-amz-checksum-crc32\r\n\r\n";
    cr_assert_eq(decode(&a, no_colon, strlen(no_colon), 0, &s), GW_EBADREQ);
    free(s.buf);
}

/* A signed body with a signed trailer, built with our own signer: the
 * chain is seed -> chunk -> final chunk -> trailer. */
static size_t signed_trailer_body(const gw_auth_t *a, char *b, bool good)
{
    unsigned char h[32], key[32];
    char sig[65], prev[65], tsig[65], sts[400];
    gw__sigv4_key(VEC_SK, strlen(VEC_SK), a->amz_date, a->region, key);
    strcpy(prev, a->signature);
    gw__sha256("hello", 5, h);
    gw__sigv4_chunk_sig(key, a->amz_date, a->scope, prev, h, sig);
    size_t n = (size_t)sprintf(b, "5;chunk-signature=%s\r\nhello\r\n", sig);
    strcpy(prev, sig);
    gw__sha256("", 0, h);
    gw__sigv4_chunk_sig(key, a->amz_date, a->scope, prev, h, sig);
    n += (size_t)sprintf(b + n, "0;chunk-signature=%s\r\n", sig);
    const char *tr = "x-amz-checksum-crc32:NhCmhg==\n";
    gw__sha256(tr, strlen(tr), h);
    char hx[65];
    gw__auth_hex(h, 32, hx);
    int sl = sprintf(sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s",
                     a->amz_date, a->scope, sig, hx);
    gw__hmac256(key, 32, sts, (size_t)sl, h);
    gw__auth_hex(h, 32, tsig);
    if (!good)
        tsig[0] = tsig[0] == 'a' ? 'b' : 'a';
    n += (size_t)sprintf(b + n,
                         "X-Amz-Checksum-Crc32: NhCmhg==\r\n"
                         "x-amz-trailer-signature:%s\r\n\r\n",
                         tsig);
    return n;
}

Test(gw_awschunked, signed_trailer)
{
    treq_t t;
    gw_auth_t a;
    char auth[512], body[1024];
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    strcpy(t.query, "");
    treq_set(&t, "X-Amz-Content-SHA256",
             "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
    treq_set(&t, "x-amz-decoded-content-length", "5");
    treq_set(&t, "x-amz-trailer", "x-amz-checksum-crc32");
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, "us-east-1",
                                "20261125T120000Z",
                                "host;x-amz-content-sha256;x-amz-date;"
                                "x-amz-trailer",
                                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                                auth, sizeof auth),
                 0);
    treq_set(&t, "Authorization", auth);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    cr_assert_eq(a.payload, GW_PAYLOAD_STREAMING_TRAILER);
    sink_t s;
    size_t n = signed_trailer_body(&a, body, true);
    cr_assert_eq(decode(&a, body, n, 3, &s), 0);
    cr_assert_eq(s.len, 5);
    free(s.buf);
    n = signed_trailer_body(&a, body, false);
    cr_assert_eq(decode(&a, body, n, 0, &s), GW_ESIGNATURE);
    free(s.buf);
    /* Without its signature line, the trailer is refused. */
    char *cut = strstr(body, "x-amz-trailer-signature");
    strcpy(cut, "\r\n");
    cr_assert_eq(decode(&a, body, strlen(body), 0, &s), GW_ESIGNATURE);
    free(s.buf);
}

Test(gw_awschunked, trailer_checksums_are_checked)
{
    static const struct {
        const char *body, *trailer;
    } ok[] = {
        {TRAILER_BODY, "X-Amz-Checksum-CRC32"},
        {TRAILER_BODY_SHA256, "x-amz-checksum-sha256"},
        {TRAILER_BODY_SHA1, "x-amz-checksum-sha1"},
    };
    char dlen[16];
    snprintf(dlen, sizeof dlen, "%zu", strlen(TRAILER_DATA));
    for (size_t i = 0; i < NVEC(ok); i++) {
        gw_auth_t a;
        sink_t s;
        char *body = strdup(ok[i].body);
        unsigned_trailer_auth2(&a, dlen, ok[i].trailer);
        cr_assert_eq(decode(&a, body, strlen(body), 3, &s), 0, "%s",
                     ok[i].trailer);
        free(s.buf);
        /* One flipped data byte ('h' of hello): the checksum fails. */
        *strchr(body, 'h') = 'H';
        cr_assert_eq(decode(&a, body, strlen(body), 0, &s), GW_EBADDIGEST, "%s",
                     ok[i].trailer);
        free(s.buf);
        /* A trailer that names another checksum than announced. */
        unsigned_trailer_auth2(&a, dlen, "x-amz-checksum-crc32c");
        cr_assert_eq(decode(&a, body, strlen(body), 0, &s), 0);
        free(s.buf);
        free(body);
    }
    /* The announced checksum never comes. */
    gw_auth_t a;
    sink_t s;
    static const char none[] = "3\r\nabc\r\n0\r\n\r\n";
    unsigned_trailer_auth2(&a, "3", "x-amz-checksum-sha256");
    cr_assert_eq(decode(&a, none, strlen(none), 0, &s), GW_EBADREQ);
    free(s.buf);
    /* No x-amz-trailer: nothing to check, nothing required. */
    unsigned_trailer_auth2(&a, "3", "");
    cr_assert_eq(decode(&a, none, strlen(none), 0, &s), 0);
    free(s.buf);
}
