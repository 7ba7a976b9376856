/*
 * test_s3xml.c - gateway/s3xml_out.c: the output buffer, escaping,
 * percent-encoding, dates, and a golden document per writer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/s3xml.h"
#include "storage/contract.h"

#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define D GW_XML_DECL
#define T0 INT64_C(1795625338000) /* 2026-11-25T16:48:58.000Z */
#define T0S "2026-11-25T16:48:58.000Z"

static gw_xbuf_t b;

static void setup(void)
{
    gw__xbuf_init(&b, 0);
}

static void teardown(void)
{
    gw__xbuf_destroy(&b);
}

TestSuite(gw_s3xml, .init = setup, .fini = teardown);

#define assert_doc(expected)                                                   \
    do {                                                                       \
        cr_assert_not_null(b.base);                                            \
        cr_assert_str_eq(b.base, expected);                                    \
        cr_assert_eq(b.len, strlen(expected));                                 \
    } while (0)

/* ---- the buffer ---------------------------------------------------- */

Test(gw_s3xml, xbuf_grows_and_stays_nul_terminated)
{
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(gw__xbuf_puts(&b, "0123456789"), 0);
    cr_assert_eq(b.len, 10000);
    cr_assert_eq(b.base[b.len], '\0');
    cr_assert_eq(gw__xbuf_printf(&b, "%d-%s", 42, "x"), 0);
    cr_assert_str_eq(b.base + 10000, "42-x");
}

Test(gw_s3xml, xbuf_printf_longer_than_its_stack_buffer)
{
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(gw__xbuf_printf(&b, "<%s>", big), 0);
    cr_assert_eq(b.len, 601);
    cr_assert_eq(b.base[600], '>');
}

Test(gw_s3xml, xbuf_limit_gives_enomem_and_leaves_the_buffer)
{
    gw__xbuf_init(&b, 8);
    cr_assert_eq(gw__xbuf_puts(&b, "12345"), 0);
    cr_assert_eq(gw__xbuf_puts(&b, "6789"), CLEO_ENOMEM);
    cr_assert_str_eq(b.base, "12345");
    /* sticky until reset */
    cr_assert_eq(gw__xbuf_puts(&b, "6"), CLEO_ENOMEM);
    gw__xbuf_reset(&b, b.len);
    cr_assert_eq(gw__xbuf_puts(&b, "678"), 0);
    cr_assert_str_eq(b.base, "12345678");
}

Test(gw_s3xml, xbuf_take_gives_the_bytes)
{
    cr_assert_eq(gw__xbuf_puts(&b, "abc"), 0);
    size_t n;
    char *p = gw__xbuf_take(&b, &n);
    cr_assert_str_eq(p, "abc");
    cr_assert_eq(n, 3);
    cr_assert_null(b.base);
    cr_assert_eq(b.len, 0);
    free(p);
    cr_assert_null(gw__xbuf_take(&b, NULL));
}

Test(gw_s3xml, writer_failure_truncates_back)
{
    gw__xbuf_init(&b, 64);
    cr_assert_eq(gw__xbuf_puts(&b, "keep"), 0);
    cr_assert_eq(gw__s3xml_mpu_initiate(&b, "bucket", "key", "upload"),
                 CLEO_ENOMEM);
    cr_assert_str_eq(b.base, "keep");
    cr_assert_eq(gw__xbuf_puts(&b, "!"), 0, "the error was cleared");
}

/* ---- escaping ------------------------------------------------------ */

Test(gw_s3xml, esc_the_five_entities)
{
    const char *s = "a&b<c>d\"e'f";
    cr_assert_eq(gw__xbuf_esc(&b, s, strlen(s)), 0);
    assert_doc("a&amp;b&lt;c&gt;d&quot;e&apos;f");
}

Test(gw_s3xml, esc_control_bytes_as_char_refs)
{
    const char s[] = "\x01\t\n\r\x1f\x7f"
                     "ok";
    cr_assert_eq(gw__xbuf_esc(&b, s, sizeof s - 1), 0);
    assert_doc("&#x1;&#x9;&#xA;&#xD;&#x1F;&#x7F;ok");
}

Test(gw_s3xml, esc_keeps_utf8_and_nul_is_a_char_ref)
{
    const char s[] = "\xc3\xa9t\xc3\xa9\0z";
    cr_assert_eq(gw__xbuf_esc(&b, s, sizeof s - 1), 0);
    assert_doc("\xc3\xa9t\xc3\xa9&#x0;z");
}

Test(gw_s3xml, urlenc_like_s3)
{
    const char *s = "a b+c/d~e_f-g.h%i&j=k?\xc3\xa9*";
    cr_assert_eq(gw__xbuf_urlenc(&b, s, strlen(s)), 0);
    assert_doc("a%20b%2Bc/d~e_f-g.h%25i%26j%3Dk%3F%C3%A9%2A");
}

Test(gw_s3xml, urlenc_control_bytes)
{
    const char s[] = "\x01\n\x7f\xff";
    cr_assert_eq(gw__xbuf_urlenc(&b, s, sizeof s - 1), 0);
    assert_doc("%01%0A%7F%FF");
}

/* ---- writers ------------------------------------------------------- */

Test(gw_s3xml, error_document)
{
    gw_xml_kv_t extra[] = {{"Key", "a<b"}, {"BucketName", "bk"}};
    gw_xml_error_t e = {.code = "NoSuchKey",
                        .message = "The specified key does not exist.",
                        .extra = extra,
                        .n_extra = 2,
                        .resource = "/bk/a<b",
                        .request_id = "4442587FB7D0A2F9"};
    cr_assert_eq(gw__s3xml_error(&b, &e), 0);
    assert_doc(D "<Error><Code>NoSuchKey</Code>"
                 "<Message>The specified key does not exist.</Message>"
                 "<Key>a&lt;b</Key><BucketName>bk</BucketName>"
                 "<Resource>/bk/a&lt;b</Resource>"
                 "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
}

Test(gw_s3xml, error_document_minimal)
{
    gw_xml_error_t e = {.code = "InternalError", .message = "x"};
    cr_assert_eq(gw__s3xml_error(&b, &e), 0);
    assert_doc(D "<Error><Code>InternalError</Code><Message>x</Message>"
                 "</Error>");
}

Test(gw_s3xml, list_buckets)
{
    gw_xml_owner_t o = {"abc123", "admin"};
    gw_xml_bucket_t v[] = {{"alpha", T0}, {"beta", 0}};
    cr_assert_eq(gw__s3xml_buckets(&b, &o, v, 2), 0);
    assert_doc(D "<ListAllMyBucketsResult" NS ">"
                 "<Owner><ID>abc123</ID><DisplayName>admin</DisplayName>"
                 "</Owner><Buckets>"
                 "<Bucket><Name>alpha</Name><CreationDate>" T0S
                 "</CreationDate></Bucket>"
                 "<Bucket><Name>beta</Name><CreationDate>"
                 "1970-01-01T00:00:00.000Z</CreationDate></Bucket>"
                 "</Buckets></ListAllMyBucketsResult>");
}

Test(gw_s3xml, list_buckets_empty)
{
    gw_xml_owner_t o = {"id", "n"};
    cr_assert_eq(gw__s3xml_buckets(&b, &o, NULL, 0), 0);
    assert_doc(D "<ListAllMyBucketsResult" NS "><Owner><ID>id</ID>"
                 "<DisplayName>n</DisplayName></Owner><Buckets></Buckets>"
                 "</ListAllMyBucketsResult>");
}

static const gw_xml_owner_t owner = {"abc123", "admin"};
static const gw_xml_object_t objs[] = {
    {"a&b.txt", 11, "5eb63bbbe01eeed093cb22bb8f5acdc3", T0},
    {"dir/x y", 0, "9b2cf535f27731c974343645a3985328-3", T0 + 1},
};
static const char *const pfx[] = {"photos/", "sp ace/"};

Test(gw_s3xml, list_v1)
{
    gw_xml_list_t l = {.bucket = "bk",
                       .prefix = "",
                       .marker = "",
                       .max_keys = 1000,
                       .owner = &owner,
                       .objects = objs,
                       .n_objects = 2};
    cr_assert_eq(gw__s3xml_list_v1(&b, &l), 0);
    assert_doc(D "<ListBucketResult" NS "><Name>bk</Name><Prefix></Prefix>"
                 "<Marker></Marker><MaxKeys>1000</MaxKeys>"
                 "<IsTruncated>false</IsTruncated>"
                 "<Contents><Key>a&amp;b.txt</Key>"
                 "<LastModified>" T0S "</LastModified>"
                 "<ETag>&quot;5eb63bbbe01eeed093cb22bb8f5acdc3&quot;</ETag>"
                 "<Size>11</Size><Owner><ID>abc123</ID>"
                 "<DisplayName>admin</DisplayName></Owner>"
                 "<StorageClass>STANDARD</StorageClass></Contents>"
                 "<Contents><Key>dir/x y</Key>"
                 "<LastModified>2026-11-25T16:48:58.001Z</LastModified>"
                 "<ETag>&quot;9b2cf535f27731c974343645a3985328-3&quot;"
                 "</ETag><Size>0</Size><Owner><ID>abc123</ID>"
                 "<DisplayName>admin</DisplayName></Owner>"
                 "<StorageClass>STANDARD</StorageClass></Contents>"
                 "</ListBucketResult>");
}

Test(gw_s3xml, list_v1_delimiter_truncated_url)
{
    gw_xml_list_t l = {.bucket = "bk",
                       .prefix = "p q",
                       .delimiter = "/",
                       .marker = "m+1",
                       .next_marker = "sp ace/",
                       .max_keys = 2,
                       .is_truncated = true,
                       .url_encode = true,
                       .objects = objs + 1,
                       .n_objects = 1,
                       .prefixes = pfx,
                       .n_prefixes = 2};
    cr_assert_eq(gw__s3xml_list_v1(&b, &l), 0);
    assert_doc(D "<ListBucketResult" NS "><Name>bk</Name>"
                 "<Prefix>p%20q</Prefix><Marker>m%2B1</Marker>"
                 "<NextMarker>sp%20ace/</NextMarker><MaxKeys>2</MaxKeys>"
                 "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
                 "<EncodingType>url</EncodingType>"
                 "<Contents><Key>dir/x%20y</Key>"
                 "<LastModified>2026-11-25T16:48:58.001Z</LastModified>"
                 "<ETag>&quot;9b2cf535f27731c974343645a3985328-3&quot;"
                 "</ETag><Size>0</Size>"
                 "<StorageClass>STANDARD</StorageClass></Contents>"
                 "<CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>"
                 "<CommonPrefixes><Prefix>sp%20ace/</Prefix>"
                 "</CommonPrefixes></ListBucketResult>");
}

Test(gw_s3xml, list_v1_next_marker_needs_a_delimiter)
{
    gw_xml_list_t l = {.bucket = "bk",
                       .next_marker = "zz",
                       .max_keys = 1,
                       .is_truncated = true};
    cr_assert_eq(gw__s3xml_list_v1(&b, &l), 0);
    cr_assert_null(strstr(b.base, "NextMarker"));
    cr_assert_not_null(strstr(b.base, "<IsTruncated>true</IsTruncated>"));
}

Test(gw_s3xml, list_v2)
{
    gw_xml_list_t l = {.bucket = "bk",
                       .prefix = "",
                       .max_keys = 1000,
                       .owner = &owner,
                       .objects = objs,
                       .n_objects = 1};
    cr_assert_eq(gw__s3xml_list_v2(&b, &l), 0);
    assert_doc(D "<ListBucketResult" NS "><Name>bk</Name><Prefix></Prefix>"
                 "<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
                 "<IsTruncated>false</IsTruncated>"
                 "<Contents><Key>a&amp;b.txt</Key>"
                 "<LastModified>" T0S "</LastModified>"
                 "<ETag>&quot;5eb63bbbe01eeed093cb22bb8f5acdc3&quot;</ETag>"
                 "<Size>11</Size><StorageClass>STANDARD</StorageClass>"
                 "</Contents></ListBucketResult>");
}

Test(gw_s3xml, list_v2_tokens_owner_url)
{
    gw_xml_list_t l = {.bucket = "bk",
                       .prefix = "d",
                       .delimiter = "/",
                       .continuation_token = "tok+/=",
                       .next_continuation_token = "nxt",
                       .start_after = "a b",
                       .fetch_owner = true,
                       .max_keys = 3,
                       .is_truncated = true,
                       .url_encode = true,
                       .owner = &owner,
                       .objects = objs,
                       .n_objects = 1,
                       .prefixes = pfx,
                       .n_prefixes = 1};
    cr_assert_eq(gw__s3xml_list_v2(&b, &l), 0);
    assert_doc(D "<ListBucketResult" NS "><Name>bk</Name><Prefix>d</Prefix>"
                 "<ContinuationToken>tok+/=</ContinuationToken>"
                 "<NextContinuationToken>nxt</NextContinuationToken>"
                 "<KeyCount>2</KeyCount><MaxKeys>3</MaxKeys>"
                 "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
                 "<StartAfter>a%20b</StartAfter>"
                 "<EncodingType>url</EncodingType>"
                 "<Contents><Key>a%26b.txt</Key>"
                 "<LastModified>" T0S "</LastModified>"
                 "<ETag>&quot;5eb63bbbe01eeed093cb22bb8f5acdc3&quot;</ETag>"
                 "<Size>11</Size><Owner><ID>abc123</ID>"
                 "<DisplayName>admin</DisplayName></Owner>"
                 "<StorageClass>STANDARD</StorageClass></Contents>"
                 "<CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>"
                 "</ListBucketResult>");
}

Test(gw_s3xml, location)
{
    cr_assert_eq(gw__s3xml_location(&b, NULL), 0);
    assert_doc(D "<LocationConstraint" NS "></LocationConstraint>");
    gw__xbuf_reset(&b, 0);
    cr_assert_eq(gw__s3xml_location(&b, "eu-west-1"), 0);
    assert_doc(D "<LocationConstraint" NS ">eu-west-1</LocationConstraint>");
}

Test(gw_s3xml, mpu_initiate)
{
    cr_assert_eq(gw__s3xml_mpu_initiate(&b, "bk", "big/obj", "UPL1"), 0);
    assert_doc(D "<InitiateMultipartUploadResult" NS "><Bucket>bk</Bucket>"
                 "<Key>big/obj</Key><UploadId>UPL1</UploadId>"
                 "</InitiateMultipartUploadResult>");
}

Test(gw_s3xml, mpu_complete)
{
    cr_assert_eq(gw__s3xml_mpu_complete(&b, "http://h/bk/k", "bk", "k",
                                        "3858f62230ac3c915f300c664312c11f-9"),
                 0);
    assert_doc(D "<CompleteMultipartUploadResult" NS ">"
                 "<Location>http://h/bk/k</Location><Bucket>bk</Bucket>"
                 "<Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9"
                 "&quot;</ETag></CompleteMultipartUploadResult>");
}

Test(gw_s3xml, list_parts)
{
    gw_xml_part_t parts[] = {{1, "aa", 5242880, T0}, {2, "bb", 7, T0}};
    gw_xml_parts_t p = {.bucket = "bk",
                        .key = "k",
                        .upload_id = "U",
                        .owner = &owner,
                        .part_number_marker = 0,
                        .next_part_number_marker = 2,
                        .max_parts = 2,
                        .is_truncated = true,
                        .parts = parts,
                        .n_parts = 2};
    cr_assert_eq(gw__s3xml_list_parts(&b, &p), 0);
    assert_doc(D "<ListPartsResult" NS "><Bucket>bk</Bucket><Key>k</Key>"
                 "<UploadId>U</UploadId>"
                 "<Initiator><ID>abc123</ID><DisplayName>admin</DisplayName>"
                 "</Initiator>"
                 "<Owner><ID>abc123</ID><DisplayName>admin</DisplayName>"
                 "</Owner><StorageClass>STANDARD</StorageClass>"
                 "<PartNumberMarker>0</PartNumberMarker>"
                 "<NextPartNumberMarker>2</NextPartNumberMarker>"
                 "<MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"
                 "<Part><PartNumber>1</PartNumber>"
                 "<LastModified>" T0S "</LastModified>"
                 "<ETag>&quot;aa&quot;</ETag><Size>5242880</Size></Part>"
                 "<Part><PartNumber>2</PartNumber>"
                 "<LastModified>" T0S "</LastModified>"
                 "<ETag>&quot;bb&quot;</ETag><Size>7</Size></Part>"
                 "</ListPartsResult>");
}

Test(gw_s3xml, list_uploads)
{
    gw_xml_upload_t up[] = {{"a b", "U1", T0}};
    const char *const cp[] = {"d/"};
    gw_xml_uploads_t u = {.bucket = "bk",
                          .key_marker = "",
                          .upload_id_marker = "",
                          .next_key_marker = "a b",
                          .next_upload_id_marker = "U1",
                          .delimiter = "/",
                          .max_uploads = 1000,
                          .url_encode = true,
                          .uploads = up,
                          .n_uploads = 1,
                          .prefixes = cp,
                          .n_prefixes = 1};
    cr_assert_eq(gw__s3xml_list_uploads(&b, &u), 0);
    assert_doc(D "<ListMultipartUploadsResult" NS "><Bucket>bk</Bucket>"
                 "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
                 "<NextKeyMarker>a%20b</NextKeyMarker>"
                 "<NextUploadIdMarker>U1</NextUploadIdMarker>"
                 "<Delimiter>/</Delimiter><MaxUploads>1000</MaxUploads>"
                 "<IsTruncated>false</IsTruncated>"
                 "<EncodingType>url</EncodingType>"
                 "<Upload><Key>a%20b</Key><UploadId>U1</UploadId>"
                 "<StorageClass>STANDARD</StorageClass>"
                 "<Initiated>" T0S "</Initiated></Upload>"
                 "<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"
                 "</ListMultipartUploadsResult>");
}

Test(gw_s3xml, copy_results)
{
    cr_assert_eq(gw__s3xml_copy_object(&b, T0, "ee"), 0);
    assert_doc(D "<CopyObjectResult" NS "><LastModified>" T0S
                 "</LastModified><ETag>&quot;ee&quot;</ETag>"
                 "</CopyObjectResult>");
    gw__xbuf_reset(&b, 0);
    cr_assert_eq(gw__s3xml_copy_part(&b, T0, "ff"), 0);
    assert_doc(D "<CopyPartResult" NS "><LastModified>" T0S
                 "</LastModified><ETag>&quot;ff&quot;</ETag>"
                 "</CopyPartResult>");
}

Test(gw_s3xml, delete_result_verbose_and_quiet)
{
    gw_xml_deleted_t v[] = {{"a", 0}, {"b&", STO_ECORRUPT}, {"c", GW_EDENIED}};
    cr_assert_eq(gw__s3xml_delete_result(&b, v, 3, false), 0);
    const char *err_b =
        "<Error><Key>b&amp;</Key><Code>InternalError</Code>"
        "<Message>We encountered an internal error. Please try again."
        "</Message></Error>";
    const char *err_c = "<Error><Key>c</Key><Code>AccessDenied</Code>"
                        "<Message>Access Denied</Message></Error>";
    char want[1024];
    snprintf(want, sizeof want,
             D "<DeleteResult" NS "><Deleted><Key>a</Key></Deleted>%s%s"
               "</DeleteResult>",
             err_b, err_c);
    assert_doc(want);
    gw__xbuf_reset(&b, 0);
    cr_assert_eq(gw__s3xml_delete_result(&b, v, 3, true), 0);
    snprintf(want, sizeof want, D "<DeleteResult" NS ">%s%s</DeleteResult>",
             err_b, err_c);
    assert_doc(want);
}

Test(gw_s3xml, writers_append_after_existing_bytes)
{
    cr_assert_eq(gw__xbuf_puts(&b, "x"), 0);
    cr_assert_eq(gw__s3xml_location(&b, ""), 0);
    assert_doc("x" D "<LocationConstraint" NS "></LocationConstraint>");
}

Test(gw_s3xml, big_listing_under_a_limit_fails_cleanly)
{
    enum { N = 1000 };
    static gw_xml_object_t many[N];
    static char keys[N][1025];
    for (int i = 0; i < N; i++) {
        memset(keys[i], '&', 1024);
        keys[i][1024] = '\0';
        many[i] = (gw_xml_object_t){keys[i], 1, "e", T0};
    }
    gw_xml_list_t l = {
        .bucket = "bk", .max_keys = N, .objects = many, .n_objects = N};
    gw__xbuf_init(&b, 1 << 20);
    cr_assert_eq(gw__s3xml_list_v2(&b, &l), CLEO_ENOMEM);
    cr_assert_eq(b.len, 0);
    gw__xbuf_destroy(&b);
    gw__xbuf_init(&b, 0);
    cr_assert_eq(gw__s3xml_list_v2(&b, &l), 0);
    cr_assert_gt(b.len, (size_t)N * 1024 * 5);
}
