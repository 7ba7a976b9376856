/*
 * test_sigv2.c - gateway/sigv2.c against botocore's HmacV1Auth and
 * HmacV1QueryAuth (auth_vectors.h, from vectors.py).
 */
#include <criterion/criterion.h>
#include <string.h>
#include <strings.h>

#include "authtest.h"

Test(gw_sigv2, botocore_header_vectors_verify)
{
    for (size_t i = 0; i < NVEC(v2_vectors); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v2_vectors[i], VEC_NOW);
        cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0, "%s", v2_vectors[i].name);
        cr_assert_eq(a.kind, GW_AUTH_V2_HEADER);
        cr_assert_eq(a.payload, GW_PAYLOAD_NONE);
        cr_assert_str_eq(a.access_key, VEC_AK);
    }
}

Test(gw_sigv2, botocore_query_vectors_verify)
{
    for (size_t i = 0; i < NVEC(v2q_vectors); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v2q_vectors[i], VEC_NOW + 600);
        cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0, "%s", v2q_vectors[i].name);
        cr_assert_eq(a.kind, GW_AUTH_V2_QUERY);
        cr_assert_str_eq(a.access_key, VEC_AK);
        treq_from(&t, &v2q_vectors[i], VEC_NOW + 601);
        cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EEXPIRED);
    }
}

Test(gw_sigv2, wrong_secret_is_signature_mismatch)
{
    treq_t t;
    gw_auth_t a;
    for (size_t i = 0; i < NVEC(v2_vectors); i++) {
        treq_from(&t, &v2_vectors[i], VEC_NOW);
        cr_assert_eq(treq_auth(&t, "nope", &a), GW_ESIGNATURE);
    }
    treq_from(&t, &v2q_vectors[0], VEC_NOW);
    cr_assert_eq(treq_auth(&t, "nope", &a), GW_ESIGNATURE);
}

Test(gw_sigv2, what_is_signed_and_what_is_not)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v2_vectors[1], VEC_NOW); /* v2_put_amz */
    treq_set(&t, "X-Amz-Meta-A", "2");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
    treq_from(&t, &v2_vectors[1], VEC_NOW);
    treq_set(&t, "Content-Type", "text/html");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
    treq_from(&t, &v2_vectors[1], VEC_NOW);
    treq_set(&t, "Content-MD5", "");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
    treq_from(&t, &v2_vectors[1], VEC_NOW);
    treq_set(&t, "x-amz-new", "1");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
    /* Other headers are not signed in V2. */
    treq_from(&t, &v2_vectors[1], VEC_NOW);
    treq_set(&t, "Cache-Control", "no-cache");
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);

    treq_from(&t, &v2_vectors[2], VEC_NOW); /* v2_subresources */
    strcpy(t.query, "versionId=4&acl&prefix=x&uploadId=a%2Fb");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
    /* Plain parameters are not part of the resource. */
    strcpy(t.query, "prefix=y&versionId=3&uploadId=a/b&acl");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);

    treq_from(&t, &v2_vectors[0], VEC_NOW);
    strcpy(t.path, "/bucket/my%20kez");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
}

Test(gw_sigv2, virtual_host_bucket_is_part_of_the_resource)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v2_vectors[0], VEC_NOW); /* /bucket/my%20key */
    strcpy(t.path, "/my%20key");
    treq_sync(&t, t.rq.nhdrs);
    t.rq.vhost_bucket = "bucket";
    t.rq.vhost_bucket_len = 6;
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    t.rq.vhost_bucket = "other";
    t.rq.vhost_bucket_len = 5;
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), GW_ESIGNATURE);
}

Test(gw_sigv2, clock_skew_uses_x_amz_date_over_date)
{
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v2_vectors[0], VEC_NOW + 900);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v2_vectors[0], VEC_NOW + 901);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_ESKEW);
    /* v2_amz_date_and_date: x-amz-date is 12:01, Date 12:00. */
    treq_from(&t, &v2_vectors[3], VEC_NOW + 60 + 900);
    cr_assert_eq(treq_auth(&t, VEC_SK, &a), 0);
    treq_from(&t, &v2_vectors[3], VEC_NOW - 900 + 59);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_ESKEW);

    treq_from(&t, &v2_vectors[0], VEC_NOW);
    treq_set(&t, "Date", "yesterday");
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EDENIED);
    treq_from(&t, &v2_vectors[0], VEC_NOW);
    strcpy(t.names[treq_find(&t, "Date")], "X-Date");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EDENIED);
}

Test(gw_sigv2, malformed_header)
{
    static const char *const bad[] = {
        "AWS AKIDEXAMPLE",
        "AWS :HYzbFLhaZ1Rwn94nzLpuvFWLwDY=",
        "AWS AKIDEXAMPLE:",
        "AWS AKIDEXAMPLE:not base64!",
        "AWS  AKIDEXAMPLE:HYzbFLhaZ1Rwn94nzLpuvFWLwDY=",
        "AWS AKIDEXAMPLE:HYzbFLhaZ1Rwn94nzLpuvFWLwDYHYzbFLhaZ1Rwn94nzLpuvFWL"
        "wDYHYzbFLhaZ1Rwn94nzLpuvFWLwDY=",
    };
    for (size_t i = 0; i < NVEC(bad); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v2_vectors[0], VEC_NOW);
        treq_set(&t, "Authorization", bad[i]);
        cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EAUTHHDR, "%s", bad[i]);
    }
}

Test(gw_sigv2, malformed_query)
{
    static const char *const bad[] = {
        "AWSAccessKeyId=AKIDEXAMPLE&Signature=aHhFn%2FDuwUt4FOmg8zKO1hdQUT4%3D",
        "AWSAccessKeyId=AKIDEXAMPLE&Expires=1795608600",
        "Signature=aHhFn%2FDuwUt4FOmg8zKO1hdQUT4%3D&Expires=1795608600",
        "AWSAccessKeyId=AKIDEXAMPLE&Signature=aHhFn%2FDuwUt4FOmg8zKO1hdQUT4%3D"
        "&Expires=17956x",
        "AWSAccessKeyId=AKIDEXAMPLE&Signature=%21%21&Expires=1795608600",
    };
    for (size_t i = 0; i < NVEC(bad); i++) {
        treq_t t;
        gw_auth_t a;
        treq_from(&t, &v2q_vectors[0], VEC_NOW);
        strcpy(t.query, bad[i]);
        treq_sync(&t, t.rq.nhdrs);
        cr_assert_eq(gw__auth_parse(&t.rq, &a), GW_EARGUMENT, "%s", bad[i]);
    }
}

Test(gw_sigv2, unescaped_plus_in_query_signature)
{
    /* v2q_acl's signature has no '+'; build one that has, by finding a
     * vector whose base64 has '+' is fragile, so check the rewrite on a
     * parse only: a space becomes '+'. */
    treq_t t;
    gw_auth_t a;
    treq_from(&t, &v2q_vectors[0], VEC_NOW);
    strcpy(
        t.query,
        "AWSAccessKeyId=AKIDEXAMPLE&Signature=ab+cd%20ef&Expires=1795608600");
    treq_sync(&t, t.rq.nhdrs);
    cr_assert_eq(gw__auth_parse(&t.rq, &a), 0);
    cr_assert_str_eq(a.signature, "ab+cd+ef");
    cr_assert_eq(gw__auth_verify(&t.rq, &a, VEC_SK, strlen(VEC_SK), NULL),
                 GW_ESIGNATURE);
}
