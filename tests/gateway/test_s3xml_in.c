/*
 * test_s3xml_in.c - gateway/s3xml_in.c: the DeleteObjects,
 * CompleteMultipartUpload and CreateBucketConfiguration parsers, with
 * valid, malformed, oversized and hostile (DOCTYPE, entity bomb, external
 * entity, deep nesting) bodies.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/s3xml.h"

#define MAX (1u << 20)
#define NSA " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static int del(const char *body, gw_del_req_t *out)
{
    return gw__s3xml_parse_delete(body, strlen(body), MAX, out);
}

static int mpu(const char *body, gw_mpu_req_t *out)
{
    return gw__s3xml_parse_complete(body, strlen(body), MAX, out);
}

/* A body of `n` repetitions of `item` between `head` and `tail`. */
static char *repeat(const char *head, const char *item, size_t n,
                    const char *tail)
{
    size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
    char *s = malloc(hl + il * n + tl + 1);
    cr_assert_not_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * il, item, il);
    memcpy(s + hl + il * n, tail, tl + 1);
    return s;
}

/* Hostile prologues every parser must refuse. */
static const char *const hostile[] = {
    /* billion laughs */
    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
    "]><ROOT><X>&lol3;</X></ROOT>",
    /* external entity */
    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "
    "\"file:///etc/passwd\">]><ROOT><X>&xxe;</X></ROOT>",
    /* external DTD */
    "<!DOCTYPE ROOT SYSTEM \"http://127.0.0.1/evil.dtd\"><ROOT/>",
    /* a bare DOCTYPE */
    "<!DOCTYPE ROOT><ROOT></ROOT>",
    /* an undefined entity */
    "<ROOT><X>&foo;</X></ROOT>",
    /* parameter entities */
    "<!DOCTYPE r [<!ENTITY % p \"x\"> %p;]><ROOT/>",
};

/* `tmpl` with ROOT replaced by `root`. */
static char *with_root(const char *tmpl, const char *root)
{
    size_t cap = strlen(tmpl) * 4 + 64;
    char *s = malloc(cap), *o = s;
    cr_assert_not_null(s);
    for (const char *p = tmpl; *p != '\0';) {
        if (strncmp(p, "ROOT", 4) == 0) {
            o += sprintf(o, "%s", root);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return s;
}

/* ---- DeleteObjects ------------------------------------------------- */

Test(gw_s3xml_in, delete_valid_with_namespace)
{
    const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<Delete" NSA ">\n  <Quiet>true</Quiet>\n"
                       "  <Object><Key>a&amp;b&lt;c</Key></Object>\n"
                       "  <Object>\n    <Key> spaced </Key>\n"
                       "    <VersionId> v1 </VersionId>\n  </Object>\n"
                       "  <Object><Key><![CDATA[x<y>]]></Key></Object>\n"
                       "  <Object><Key>caf\xc3\xa9&#x9;</Key></Object>\n"
                       "</Delete>";
    gw_del_req_t r;
    cr_assert_eq(del(body, &r), 0);
    cr_assert(r.quiet);
    cr_assert_eq(r.n, 4);
    cr_assert_str_eq(r.objs[0].key, "a&b<c");
    cr_assert_null(r.objs[0].version_id);
    cr_assert_str_eq(r.objs[1].key, " spaced ");
    cr_assert_str_eq(r.objs[1].version_id, "v1");
    cr_assert_str_eq(r.objs[2].key, "x<y>");
    cr_assert_str_eq(r.objs[3].key, "caf\xc3\xa9\t");
    gw__del_req_destroy(&r);
    cr_assert_null(r.objs);
    gw__del_req_destroy(&r);
    gw__del_req_destroy(NULL);
}

Test(gw_s3xml_in, delete_without_namespace_or_quiet)
{
    gw_del_req_t r;
    cr_assert_eq(del("<Delete><Object><Key>k</Key></Object></Delete>", &r), 0);
    cr_assert_not(r.quiet);
    cr_assert_eq(r.n, 1);
    cr_assert_str_eq(r.objs[0].key, "k");
    gw__del_req_destroy(&r);
}

Test(gw_s3xml_in, delete_prefixed_namespace)
{
    gw_del_req_t r;
    const char *body = "<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/"
                       "2006-03-01/\"><s3:Object><s3:Key>k</s3:Key>"
                       "</s3:Object></s3:Delete>";
    cr_assert_eq(del(body, &r), 0);
    cr_assert_str_eq(r.objs[0].key, "k");
    gw__del_req_destroy(&r);
    cr_assert_eq(del("<s3:Delete><s3:Object><s3:Key>k</s3:Key></s3:Object>"
                     "</s3:Delete>",
                     &r),
                 GW_EBADXML, "unbound prefix");
}

Test(gw_s3xml_in, delete_quiet_values)
{
    const char *yes[] = {"true", "TRUE", " 1 ", "True"};
    const char *no[] = {"false", "0", "FALSE"};
    char body[256];
    gw_del_req_t r;
    for (size_t i = 0; i < 4; i++) {
        snprintf(body, sizeof body,
                 "<Delete><Quiet>%s</Quiet><Object>"
                 "<Key>k</Key></Object></Delete>",
                 yes[i]);
        cr_assert_eq(del(body, &r), 0, "%s", yes[i]);
        cr_assert(r.quiet);
        gw__del_req_destroy(&r);
    }
    for (size_t i = 0; i < 3; i++) {
        snprintf(body, sizeof body,
                 "<Delete><Quiet>%s</Quiet><Object>"
                 "<Key>k</Key></Object></Delete>",
                 no[i]);
        cr_assert_eq(del(body, &r), 0, "%s", no[i]);
        cr_assert_not(r.quiet);
        gw__del_req_destroy(&r);
    }
    cr_assert_eq(del("<Delete><Quiet>yes</Quiet><Object><Key>k</Key>"
                     "</Object></Delete>",
                     &r),
                 GW_EBADXML);
}

Test(gw_s3xml_in, delete_1000_keys_ok_1001_refused)
{
    const char *item = "<Object><Key>some/key/name</Key></Object>";
    char *ok = repeat("<Delete>", item, 1000, "</Delete>");
    char *bad = repeat("<Delete>", item, 1001, "</Delete>");
    gw_del_req_t r;
    cr_assert_eq(del(ok, &r), 0);
    cr_assert_eq(r.n, 1000);
    cr_assert_str_eq(r.objs[999].key, "some/key/name");
    gw__del_req_destroy(&r);
    r.n = 77;
    cr_assert_eq(del(bad, &r), GW_EBADXML);
    cr_assert_eq(r.n, 77, "output untouched on failure");
    free(ok);
    free(bad);
}

Test(gw_s3xml_in, delete_bad_bodies)
{
    const char *bad[] = {
        "",
        "   ",
        "not xml",
        "<Delete></Delete>",
        "<Delete><Quiet>true</Quiet></Delete>",
        "<Delete><Object></Object></Delete>",
        "<Delete><Object><Key></Key></Object></Delete>",
        "<Delete><Object><Key/></Object></Delete>",
        "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        "<Delete><Object><Key>a</Key></Object>",
        "<Delete><Object><Key>a</Key></Object></Delete><x/>",
        "<Remove><Object><Key>a</Key></Object></Remove>",
        "<Delete><Object><Key>a</Object></Key></Delete>",
        "<Delete><Object><Key>a&#x1;</Key></Object></Delete>",
        "<Delete><Object><Key>a&#0;</Key></Object></Delete>",
        "<Delete><Object><Key>\xff\xfe</Key></Object></Delete>",
        "<Delete><Key>a</Key></Delete>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_del_req_t r;
        cr_assert_eq(del(bad[i], &r), GW_EBADXML, "%zu: %s", i, bad[i]);
    }
}

Test(gw_s3xml_in, delete_ignores_unknown_elements)
{
    gw_del_req_t r;
    cr_assert_eq(del("<Delete><Foo><Key>no</Key></Foo><Object><Key>k</Key>"
                     "<ETag>x</ETag><Size>3</Size></Object></Delete>",
                     &r),
                 0);
    cr_assert_eq(r.n, 1);
    cr_assert_str_eq(r.objs[0].key, "k");
    gw__del_req_destroy(&r);
}

Test(gw_s3xml_in, delete_over_the_size_limit)
{
    const char *body = "<Delete><Object><Key>k</Key></Object></Delete>";
    gw_del_req_t r;
    cr_assert_eq(gw__s3xml_parse_delete(body, strlen(body), 10, &r),
                 GW_EMAXMSG);
    cr_assert_eq(gw__s3xml_parse_delete(body, strlen(body), strlen(body), &r),
                 0);
    gw__del_req_destroy(&r);
}

Test(gw_s3xml_in, delete_huge_key_within_the_limit)
{
    char *key = repeat("", "k", 3u << 20, "");
    char *body = malloc((3u << 20) + 64);
    sprintf(body, "<Delete><Object><Key>%s</Key></Object></Delete>", key);
    gw_del_req_t r;
    cr_assert_eq(gw__s3xml_parse_delete(body, strlen(body), 4u << 20, &r), 0,
                 "fed in several expat calls");
    cr_assert_eq(strlen(r.objs[0].key), 3u << 20);
    gw__del_req_destroy(&r);
    free(key);
    free(body);
}

Test(gw_s3xml_in, deep_nesting_refused)
{
    char *body =
        repeat("<Delete><Object><Key>k</Key></Object>", "<a>", 100, "");
    char *tail = repeat(body, "</a>", 100, "</Delete>");
    gw_del_req_t r;
    cr_assert_eq(del(tail, &r), GW_EBADXML);
    free(body);
    free(tail);
    /* at the limit is fine: root + 15 */
    body = repeat("<Delete><Object><Key>k</Key></Object>", "<a>",
                  GW_XML_MAX_DEPTH - 1, "");
    tail = repeat(body, "</a>", GW_XML_MAX_DEPTH - 1, "</Delete>");
    cr_assert_eq(del(tail, &r), 0);
    gw__del_req_destroy(&r);
    free(body);
    free(tail);
}

Test(gw_s3xml_in, hostile_bodies_refused_by_every_parser)
{
    const char *roots[] = {"Delete", "CompleteMultipartUpload",
                           "CreateBucketConfiguration"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        for (size_t j = 0; j < 3; j++) {
            char *body = with_root(hostile[i], roots[j]);
            size_t n = strlen(body);
            int rc;
            if (j == 0) {
                gw_del_req_t r;
                rc = gw__s3xml_parse_delete(body, n, MAX, &r);
            } else if (j == 1) {
                gw_mpu_req_t r;
                rc = gw__s3xml_parse_complete(body, n, MAX, &r);
            } else {
                char loc[GW_LOCATION_MAX];
                rc = gw__s3xml_parse_create_bucket(body, n, MAX, loc);
            }
            cr_assert_eq(rc, GW_EBADXML, "%s: %s", roots[j], body);
            free(body);
        }
    }
}

/* ---- CompleteMultipartUpload --------------------------------------- */

Test(gw_s3xml_in, complete_valid_keeps_order_and_strips_quotes)
{
    const char *body =
        "<CompleteMultipartUpload" NSA ">\n"
        " <Part><PartNumber>3</PartNumber><ETag>\"cc\"</ETag></Part>\n"
        " <Part><ETag>&quot;aa&quot;</ETag><PartNumber> 1 </PartNumber>"
        "</Part>\n"
        " <Part>\n  <PartNumber>0002</PartNumber>\n  <ETag> bb </ETag>\n"
        "  <ChecksumCRC32>x</ChecksumCRC32>\n </Part>\n"
        "</CompleteMultipartUpload>";
    gw_mpu_req_t r;
    cr_assert_eq(mpu(body, &r), 0);
    cr_assert_eq(r.n, 3);
    cr_assert_eq(r.parts[0].part_number, 3);
    cr_assert_str_eq(r.parts[0].etag, "cc");
    cr_assert_eq(r.parts[1].part_number, 1);
    cr_assert_str_eq(r.parts[1].etag, "aa");
    cr_assert_eq(r.parts[2].part_number, 2);
    cr_assert_str_eq(r.parts[2].etag, "bb");
    gw__mpu_req_destroy(&r);
    gw__mpu_req_destroy(NULL);
}

Test(gw_s3xml_in, complete_bad_parts)
{
    const char *bad[] = {
        "",
        "<CompleteMultipartUpload></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>99999999999999999999"
        "</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>+1</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1.0</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber></PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        "<ETag>\"\"</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        "<PartNumber>2</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<Complete><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>"
        "</Complete>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        "<ETag>a</ETag></Part>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_mpu_req_t r;
        cr_assert_eq(mpu(bad[i], &r), GW_EBADXML, "%zu: %s", i, bad[i]);
    }
}

Test(gw_s3xml_in, complete_10000_parts_ok_10001_refused)
{
    const char *item = "<Part><PartNumber>7</PartNumber><ETag>\"0123456789"
                       "abcdef0123456789abcdef\"</ETag></Part>";
    char *ok = repeat("<CompleteMultipartUpload>", item, 10000,
                      "</CompleteMultipartUpload>");
    char *bad = repeat("<CompleteMultipartUpload>", item, 10001,
                       "</CompleteMultipartUpload>");
    gw_mpu_req_t r;
    cr_assert_eq(gw__s3xml_parse_complete(ok, strlen(ok), 4u << 20, &r), 0);
    cr_assert_eq(r.n, 10000);
    cr_assert_str_eq(r.parts[9999].etag, "0123456789abcdef0123456789abcdef");
    gw__mpu_req_destroy(&r);
    cr_assert_eq(gw__s3xml_parse_complete(bad, strlen(bad), 4u << 20, &r),
                 GW_EBADXML);
    cr_assert_eq(gw__s3xml_parse_complete(ok, strlen(ok), 100000, &r),
                 GW_EMAXMSG);
    free(ok);
    free(bad);
}

/* ---- CreateBucketConfiguration ------------------------------------- */

Test(gw_s3xml_in, create_bucket_bodies)
{
    char loc[GW_LOCATION_MAX] = "junk";
    cr_assert_eq(gw__s3xml_parse_create_bucket("", 0, MAX, loc), 0);
    cr_assert_str_eq(loc, "");
    strcpy(loc, "junk");
    cr_assert_eq(gw__s3xml_parse_create_bucket(" \r\n\t", 4, MAX, loc), 0);
    cr_assert_str_eq(loc, "");
    const char *b1 = "<CreateBucketConfiguration" NSA "><LocationConstraint>"
                     " eu-west-1 </LocationConstraint>"
                     "</CreateBucketConfiguration>";
    cr_assert_eq(gw__s3xml_parse_create_bucket(b1, strlen(b1), MAX, loc), 0);
    cr_assert_str_eq(loc, "eu-west-1");
    const char *b2 = "<?xml version=\"1.0\"?>\n<CreateBucketConfiguration/>";
    cr_assert_eq(gw__s3xml_parse_create_bucket(b2, strlen(b2), MAX, loc), 0);
    cr_assert_str_eq(loc, "");
    const char *b3 = "<CreateBucketConfiguration><Location><Name>x</Name>"
                     "</Location><LocationConstraint>us-east-1"
                     "</LocationConstraint></CreateBucketConfiguration>";
    cr_assert_eq(gw__s3xml_parse_create_bucket(b3, strlen(b3), MAX, loc), 0);
    cr_assert_str_eq(loc, "us-east-1");
}

Test(gw_s3xml_in, create_bucket_bad_bodies)
{
    const char *bad[] = {
        "x",
        "<CreateBucketConfiguration>",
        "<Bucket><LocationConstraint>x</LocationConstraint></Bucket>",
        "<CreateBucketConfiguration><LocationConstraint>"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "</LocationConstraint></CreateBucketConfiguration>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char loc[GW_LOCATION_MAX] = "keep";
        cr_assert_eq(
            gw__s3xml_parse_create_bucket(bad[i], strlen(bad[i]), MAX, loc),
            GW_EBADXML, "%s", bad[i]);
        cr_assert_str_eq(loc, "keep");
    }
    char loc[GW_LOCATION_MAX];
    cr_assert_eq(gw__s3xml_parse_create_bucket("<a/>", 4, 3, loc), GW_EMAXMSG);
}
