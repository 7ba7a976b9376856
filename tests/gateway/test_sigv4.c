/*
 * test_sigv4.c - gateway/sigv4.c against botocore's signatures
 * (auth_vectors.h, from vectors.py): header and presigned auth, the
 * failures S3 reports, the signer and the x-amz-content-sha256 check.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authtest.h"
#include "runtime/rt.h"

Test(gw_sigv4, botocore_header_vectors_verify)
{
    for (size_t i = 0; i < NVEC(v4_vectors); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v4_vectors[i], VEC_NOW);
        int rc = treq_auth(&t, VEC_SK, &a);
        cr_assert_eq(rc, 0, "%s: %d", v4_vectors[i].name, rc);
        cr_assert_eq(a.kind, GW_AUTH_V4_HEADER);
        cr_assert_str_eq(a.access_key, VEC_AK);
        cr_assert_str_eq(a.region, "us-east-1");
    }
}

Test(gw_sigv4, wrong_secret_is_signature_mismatch)
{
    for (size_t i = 0; i < NVEC(v4_vectors); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v4_vectors[i], VEC_NOW);
        cr_assert_eq(treq_auth(&t, "not-the-secret", &a), GW_ESIGNATURE);
    }
}

Test(gw_sigv4, tampering_breaks_the_signature)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[1], VEC_NOW); /* put_encoded_key */
    t.path[strlen(t.path) - 1] = 'X';
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4_vectors[0], VEC_NOW); /* get_list_query */
    strcpy(t.query, "list-type=2&prefix=a%20c&max-keys=10");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4_vectors[1], VEC_NOW);
    treq_set(&t, "Content-Type", "text/html");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4_vectors[1], VEC_NOW);
    strcpy(t.method, "POST");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    /* A signed header that is dropped. */
    treq_from(&t, &v4_vectors[1], VEC_NOW);
    strcpy(t.names[0], "X-Other");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
}

Test(gw_sigv4, header_case_and_inner_spaces_do_not_matter)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[6], VEC_NOW); /* meta_spaces */
    int i = treq_find(&t, "x-amz-meta-note");
    strcpy(t.names[i], "X-AMZ-Meta-Note");
    strcpy(t.values[i], "a b\t\tc");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
}

Test(gw_sigv4, clock_skew_limit_is_15_minutes)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[0], VEC_NOW + 900);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v4_vectors[0], VEC_NOW - 900);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v4_vectors[0], VEC_NOW + 901);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_ESKEW);
    treq_from(&t, &v4_vectors[0], VEC_NOW - 3600);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_ESKEW);
}

Test(gw_sigv4, date_must_match_the_credential_and_exist)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    treq_set(&t, "X-Amz-Date", "20261124T235959Z");
    t.rq.now = VEC_NOW - 12 * 3600 - 1;
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EAUTHHDR);

    treq_from(&t, &v4_vectors[0], VEC_NOW);
    strcpy(t.names[treq_find(&t, "X-Amz-Date")], "X-Unrelated");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EDENIED);

    treq_from(&t, &v4_vectors[0], VEC_NOW);
    treq_set(&t, "X-Amz-Date", "2026-11-25T12:00:00Z");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EDENIED);
}

static const char *const malformed[] = {
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 ",
    "AWS4-HMAC-SHA256 garbage",
    "AWS4-HMAC-SHA256Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host;x-amz-date",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=abc",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=ZZZ5751dc328f113b9a98994a2"
    "51ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=DFEC751DC328F113B9A98994A2"
    "51EA80DB1D4AA6284DE169D193667E914AD17C",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/ec2/"
    "aws4_request, SignedHeaders=host, Signature=dfec751dc328f113b9a98994a2"
    "51ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_reques, SignedHeaders=host, Signature=dfec751dc328f113b9a98994a2"
    "51ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026112/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=dfec751dc328f113b9a98994a2"
    "51ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=/20261125/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=dfec751dc328f113b9a98994a251ea80db1d4aa62"
    "84de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AK/X/20261125/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=dfec751dc328f113b9a98994a251ea80db1d4aa62"
    "84de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=x-amz-date, Signature=dfec751dc328f113b9a98"
    "994a251ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=Host;x-amz-date, Signature=dfec751dc328f11"
    "3b9a98994a251ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host;;x-amz-date, Signature=dfec751dc328f1"
    "13b9a98994a251ea80db1d4aa6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, Credential=AKIDEXAMPLE/20261125/us-east-1/s3/aws4_request"
    ", SignedHeaders=host, Signature=dfec751dc328f113b9a98994a251ea80db1d4a"
    "a6284de169d193667e914ad17c",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=dfec751dc328f113b9a98994a2"
    "51ea80db1d4aa6284de169d193667e914ad17c, Extra=1",
    "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=dfec751dc328f113b9a98994a2"
    "51ea80db1d4aa6284de169d193667e914ad17c",
};

Test(gw_sigv4, malformed_authorization_is_refused)
{
    for (size_t i = 0; i < NVEC(malformed); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v4_vectors[0], VEC_NOW);
        treq_set(&t, "Authorization", malformed[i]);
        cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EAUTHHDR, "#%zu: %s", i,
                     malformed[i]);
    }
}

Test(gw_sigv4, fields_in_any_order_without_spaces)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    char *v = t.values[treq_find(&t, "Authorization")];
    char cred[128], sh[128], sig[80], buf[512];
    cr_assert_eq(sscanf(v,
                        "AWS4-HMAC-SHA256 Credential=%127[^,], "
                        "SignedHeaders=%127[^,], Signature=%79s",
                        cred, sh, sig),
                 3);
    snprintf(buf, sizeof buf,
             "AWS4-HMAC-SHA256 Signature=%s,SignedHeaders=%s,Credential=%s",
             sig, sh, cred);
    treq_set(&t, "Authorization", buf);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
}

Test(gw_sigv4, mechanisms_cannot_be_mixed_or_doubled)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    strcat(t.query, "&X-Amz-Signature=00");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT);

    treq_from(&t, &v4_vectors[0], VEC_NOW);
    size_t n = t.rq.nhdrs;
    strcpy(t.names[n], "authorization");
    strcpy(t.values[n], t.values[treq_find(&t, "Authorization")]);
    treq_sync(&t, n + 1);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EAUTHHDR);

    treq_from(&t, &v4_vectors[0], VEC_NOW);
    treq_set(&t, "Authorization", "Bearer abc");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT);
}

Test(gw_sigv4, anonymous_request)
{
    gw_hdr_t h = {"Host", 4, "x", 1};
    gw_auth_req_t rq = {"GET", 3, "/b/k", 4, "versionId=1", 11,
                        &h,    1, NULL,   0, VEC_NOW};
    gw_auth_t a;
    cr_assert_eq(gw__auth_parse(&rq, &a), 0);
    cr_assert_eq(a.kind, GW_AUTH_ANON);
    cr_assert_eq(a.payload, GW_PAYLOAD_NONE);
    cr_assert_eq(gw__auth_verify(&rq, &a, "", 0, NULL), 0);
}

Test(gw_sigv4, payload_declarations)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[7], VEC_NOW); /* unsigned_payload */
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    cr_assert_eq(a.payload, GW_PAYLOAD_UNSIGNED);
    cr_assert_not(gw__auth_is_chunked(&a));

    treq_set(&t, "X-Amz-Content-SHA256", "MAYBE-PAYLOAD");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT);
    treq_set(&t, "X-Amz-Content-SHA256", "abc");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT);
    treq_set(&t, "X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_ENOLENGTH);
    treq_set(&t, "x-amz-decoded-content-length", "12x");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT);
    treq_set(&t, "x-amz-decoded-content-length", "12");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
    cr_assert_eq(a.payload, GW_PAYLOAD_STREAMING);
    cr_assert_eq(a.decoded_len, 12);
    cr_assert(gw__auth_is_chunked(&a));
}

static int check_body(const char *hex, const char *body, size_t split)
{
    gw_sha256_check_t c;
    int rc = gw__sha256_check_init(&c, hex);
    if (rc < 0)
        return rc;
    size_t n = strlen(body);
    for (size_t i = 0; i < n; i += split)
        gw__sha256_check_update(&c, body + i, n - i < split ? n - i : split);
    rc = gw__sha256_check_final(&c);
    gw__sha256_check_destroy(&c);
    return rc;
}

Test(gw_sigv4, body_hash_is_checked_incrementally)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[1], VEC_NOW); /* put_encoded_key, "hello" */
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    cr_assert_eq(a.payload, GW_PAYLOAD_SHA256);
    cr_assert_eq(check_body(a.payload_sha256, "hello", 1), 0);
    cr_assert_eq(check_body(a.payload_sha256, "hello", 3), 0);
    cr_assert_eq(check_body(a.payload_sha256, "hellO", 2), GW_ESHA256);
    cr_assert_eq(check_body(a.payload_sha256, "", 1), GW_ESHA256);
    cr_assert_eq(check_body("zz", "", 1), GW_EARGUMENT);
    gw__sha256_check_destroy(NULL);
}

Test(gw_sigv4, missing_content_sha256_means_an_empty_body)
{
    treq_t t;
    gw_auth_t a;
    char auth[512];
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    strcpy(t.names[treq_find(&t, "X-Amz-Content-SHA256")], "X-Foo");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, "us-east-1",
                                "20261125T120000Z", "host;x-amz-date",
                                a.payload_sha256, auth, 0),
                 -ENOSPC);
    cr_assert_eq(a.payload, GW_PAYLOAD_SHA256);
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, "us-east-1",
                                "20261125T120000Z", "host;x-amz-date",
                                a.payload_sha256, auth, sizeof auth),
                 0);
    treq_set(&t, "Authorization", auth);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    cr_assert_eq(check_body(a.payload_sha256, "", 1), 0);
    cr_assert_eq(check_body(a.payload_sha256, "x", 1), GW_ESHA256);
}

Test(gw_sigv4, signer_matches_botocore)
{
    for (size_t i = 0; i < NVEC(v4_vectors); i++) {
        treq_t t;
        gw_auth_t a;
        char out[512];
        treq_from(&t, &v4_vectors[i], VEC_NOW);
        cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
        if (strncmp(v4_vectors[i].name, "raw_", 4) == 0)
            continue; /* we escape what botocore leaves raw */
        cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, a.region, a.amz_date,
                                    a.signed_headers, a.payload_sha256, out,
                                    sizeof out),
                     0);
        cr_assert_str_eq(out, t.values[treq_find(&t, "Authorization")], "%s",
                         v4_vectors[i].name);
    }
}

Test(gw_sigv4, signing_with_a_date_header)
{
    treq_t t;
    gw_auth_t a;
    char auth[512];
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    int i = treq_find(&t, "X-Amz-Date");
    strcpy(t.names[i], "Date");
    strcpy(t.values[i], "Wed, 25 Nov 2026 12:00:00 GMT");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, "eu-west-3",
                                "20261125T120000Z", "date;host",
                                "UNSIGNED-PAYLOAD", auth, sizeof auth),
                 0);
    treq_set(&t, "Authorization", auth);
    treq_set(&t, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    cr_assert_str_eq(a.amz_date, "20261125T120000Z");
    cr_assert_str_eq(a.region, "eu-west-3");
}

Test(gw_sigv4, signing_key_cache)
{
    gw_sigv4_cache_t cache;
    memset(&cache, 0, sizeof cache);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < NVEC(v4_vectors); i++) {
            treq_t t;
            gw_auth_t a;
            treq_from(&t, &v4_vectors[i], VEC_NOW);
            cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
            cr_assert_eq(gw__auth_verify(&t.rq, &a, "bad", 3, &cache),
                         GW_ESIGNATURE);
            cr_assert_eq(
                gw__auth_verify(&t.rq, &a, VEC_SK, strlen(VEC_SK), &cache), 0);
        }
    }
    unsigned char k1[32], k2[32];
    gw__sigv4_key(VEC_SK, strlen(VEC_SK), "20261125", "us-east-1", k1);
    gw__sigv4_key(VEC_SK, strlen(VEC_SK), "20261126", "us-east-1", k2);
    cr_assert_neq(memcmp(k1, k2, 32), 0);
}

/* ---- presigned --------------------------------------------------------- */

Test(gw_sigv4, botocore_presigned_vectors_verify)
{
    for (size_t i = 0; i < NVEC(v4q_vectors); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v4q_vectors[i], VEC_NOW + 10);
        cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0, "%s", v4q_vectors[i].name);
        cr_assert_eq(a.kind, GW_AUTH_V4_QUERY);
        cr_assert_eq(a.payload, GW_PAYLOAD_UNSIGNED);
        cr_assert_str_eq(a.access_key, VEC_AK);
    }
}

Test(gw_sigv4, presigned_expiry)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4q_vectors[0], VEC_NOW + 3600);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v4q_vectors[0], VEC_NOW + 3601);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EEXPIRED);
    treq_from(&t, &v4q_vectors[2], VEC_NOW + 604800);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v4q_vectors[2], VEC_NOW + 604801);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EEXPIRED);
    /* Signed in the future: not valid yet. */
    treq_from(&t, &v4q_vectors[0], VEC_NOW - 901);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EDENIED);
}

static void query_replace(treq_t *t, const char *from, const char *to)
{
    char *p = strstr(t->query, from);
    cr_assert_not_null(p, "%s not in %s", from, t->query);
    char rest[1024];
    strcpy(rest, p + strlen(from));
    strcpy(p, to);
    strcat(p, rest);
    treq_sync(t, t->rq.nhdrs);
}

Test(gw_sigv4, presigned_tampering)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4q_vectors[0], VEC_NOW);
    query_replace(&t, "X-Amz-Expires=3600", "X-Amz-Expires=3601");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4q_vectors[1], VEC_NOW);
    query_replace(&t, "filename%3Df.txt", "filename%3Dg.txt");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4q_vectors[0], VEC_NOW);
    strcpy(t.path, "/bucket/other");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4q_vectors[0], VEC_NOW);
    treq_set(&t, "Host", "evil.example");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);

    treq_from(&t, &v4q_vectors[0], VEC_NOW);
    strcat(t.query, "&extra=1");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
}

Test(gw_sigv4, presigned_malformed)
{
    static const char *const edits[][2] = {
        {"X-Amz-Expires=3600", "X-Amz-Expires=604801"},
        {"X-Amz-Expires=3600", "X-Amz-Expires=-1"},
        {"X-Amz-Expires=3600", "X-Amz-Expires="},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""},
        {"X-Amz-Date=20261125T120000Z", "X-Amz-Date=20261126T120000Z"},
        {"X-Amz-Date=20261125T120000Z", "X-Amz-Date=yesterday"},
        {"X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"},
        {"%2Fs3%2F", "%2Fsqs%2F"},
        {"X-Amz-Signature=", "X-Amz-Signature=0"},
        {"X-Amz-Date=", "X-Amz-Date=20261125T120000Z&X-Amz-Date="},
    };
    for (size_t i = 0; i < NVEC(edits); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v4q_vectors[0], VEC_NOW);
        query_replace(&t, edits[i][0], edits[i][1]);
        cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT, "#%zu: %s", i,
                     t.query);
    }
}

Test(gw_sigv4, presigner_matches_botocore)
{
    treq_t t;
    char out[1024];
    treq_from(&t, &v4q_vectors[1], VEC_NOW); /* presign_get_resp */
    char *sep = strstr(t.query, "&X-Amz-Algorithm");
    *sep = '\0';
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__sigv4_presign(&t.rq, VEC_AK, VEC_SK, "us-east-1",
                                   "20261125T120000Z", 3600, out, sizeof out),
                 0);
    cr_assert_str_eq(out, v4q_vectors[1].query);
    cr_assert_eq(gw__sigv4_presign(&t.rq, VEC_AK, VEC_SK, "us-east-1",
                                   "20261125T120000Z", 3600, out, 10),
                 -ENOSPC);
}

Test(gw_sigv4, null_query_is_an_empty_query)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[1], VEC_NOW); /* put_encoded_key: no query */
    t.rq.query = NULL;
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v2_vectors[0], VEC_NOW);
    t.rq.query = NULL;
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
}

Test(gw_sigv4, signing_with_a_derived_key_is_the_same)
{
    treq_t t;
    gw_auth_t a;
    char out1[512], out2[512];
    unsigned char key[32];
    treq_from(&t, &v4_vectors[8], VEC_NOW); /* upload_part */
    cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
    gw__sigv4_key(VEC_SK, strlen(VEC_SK), a.amz_date, a.region, key);
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, VEC_SK, a.region, a.amz_date,
                                a.signed_headers, a.payload_sha256, out1,
                                sizeof out1),
                 0);
    cr_assert_eq(gw__sigv4_sign_key(&t.rq, VEC_AK, key, a.region, a.amz_date,
                                    a.signed_headers, a.payload_sha256, out2,
                                    sizeof out2),
                 0);
    cr_assert_str_eq(out1, out2);
    cr_assert_str_eq(out1, t.values[treq_find(&t, "Authorization")]);
}

/* ---- a secret too long for the signing key's buffer -------------------- */

/* The secret comes from the manager (a record on disk; from another node
 * once there is a cluster), so a longer one than the gateway can hold is
 * an error for that request. It was an assert(): compiled out in release
 * builds, where the secret overran a stack buffer. */
Test(gw_sigv4, an_overlong_secret_is_an_error_and_changes_nothing)
{
    char big[GW_AUTH_SECRET_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    gw_sigv4_cache_t cache;
    memset(&cache, 0, sizeof cache);
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v4_vectors[0], VEC_NOW);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
    cr_assert_eq(gw__auth_verify(&t.rq, &a, big, strlen(big), &cache),
                 CLEO_EPROTO);
    cr_assert_eq(gw__auth_verify(&t.rq, &a, big, strlen(big), NULL),
                 CLEO_EPROTO);
    cr_assert_not(a._key_ok, "no signing key kept for aws-chunked");
    for (int i = 0; i < GW_SIGV4_CACHE_SLOTS; i++)
        cr_assert_not(cache.slot[i].used, "nothing cached");
    char out[1024];
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, big, a.region, a.amz_date,
                                a.signed_headers, a.payload_sha256, out,
                                sizeof out),
                 GW_EARGUMENT);
    cr_assert_eq(gw__sigv4_presign(&t.rq, VEC_AK, big, "us-east-1",
                                   "20261125T120000Z", 3600, out, sizeof out),
                 GW_EARGUMENT);
    /* The longest secret allowed signs and verifies as any other. */
    big[GW_AUTH_SECRET_MAX] = '\0';
    char auth[512];
    cr_assert_eq(gw__sigv4_sign(&t.rq, VEC_AK, big, a.region, a.amz_date,
                                a.signed_headers, a.payload_sha256, auth,
                                sizeof auth),
                 0);
    treq_set(&t, "Authorization", auth);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
    cr_assert_eq(gw__auth_verify(&t.rq, &a, big, strlen(big), &cache), 0);
}
