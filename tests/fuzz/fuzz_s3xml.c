/*
 * fuzz_s3xml.c - libFuzzer target for the S3 XML request bodies
 * (gateway/s3xml_in.c): the same bytes go to the DeleteObjects,
 * CompleteMultipartUpload and CreateBucketConfiguration parsers and to
 * the HTTP-date parser. Beyond "no crash, no leak", it checks the
 * parsers' promises (counts, ranges, non-empty strings) and two round
 * trips: keys parsed from a body, escaped by the writer into a new
 * <Delete> body, parse back to the same keys; a parsed date, formatted,
 * parses back to the same second. Built and run by run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/s3xml.h"

#define LIMIT (1u << 20)

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            __builtin_trap();                                                  \
    } while (0)

/* Write the parsed keys back as a <Delete> body and parse it again. */
static void delete_round_trip(const gw_del_req_t *d)
{
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__xbuf_puts(&b, GW_XML_DECL "<Delete xmlns=\"" GW_S3_NS "\">");
    rc = rc ? rc : gw__xbuf_puts(&b, d->quiet ? "<Quiet>true</Quiet>" : "");
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        rc = gw__xbuf_puts(&b, "<Object><Key>");
        rc = rc ? rc : gw__xbuf_esc(&b, d->objs[i].key, strlen(d->objs[i].key));
        rc = rc ? rc : gw__xbuf_puts(&b, "</Key></Object>");
    }
    rc = rc ? rc : gw__xbuf_puts(&b, "</Delete>");
    check(rc == 0);
    gw_del_req_t again;
    check(gw__s3xml_parse_delete(b.base, b.len, SIZE_MAX, &again) == 0);
    check(again.n == d->n && again.quiet == d->quiet);
    for (size_t i = 0; i < d->n; i++)
        check(strcmp(again.objs[i].key, d->objs[i].key) == 0);
    gw__del_req_destroy(&again);
    gw__xbuf_destroy(&b);
}

/* The writers must accept whatever the parser produced. */
static void delete_result(const gw_del_req_t *d)
{
    gw_xml_deleted_t v[GW_DELETE_MAX_KEYS];
    for (size_t i = 0; i < d->n; i++)
        v[i] = (gw_xml_deleted_t){d->objs[i].key, i % 3 ? 0 : GW_EDENIED};
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    check(gw__s3xml_delete_result(&b, v, d->n, d->quiet) == 0);
    check(gw__xbuf_urlenc(&b, d->objs[0].key, strlen(d->objs[0].key)) == 0);
    gw__xbuf_destroy(&b);
}

static void delete_body(const char *s, size_t n)
{
    gw_del_req_t d;
    int rc = gw__s3xml_parse_delete(s, n, LIMIT, &d);
    check(rc == 0 || rc == GW_EBADXML || rc == GW_EMAXMSG || rc == CLEO_ENOMEM);
    if (rc != 0)
        return;
    check(d.n >= 1 && d.n <= GW_DELETE_MAX_KEYS);
    for (size_t i = 0; i < d.n; i++)
        check(d.objs[i].key != NULL && d.objs[i].key[0] != '\0');
    delete_round_trip(&d);
    delete_result(&d);
    gw__del_req_destroy(&d);
}

static void complete_body(const char *s, size_t n)
{
    gw_mpu_req_t m;
    int rc = gw__s3xml_parse_complete(s, n, LIMIT, &m);
    check(rc == 0 || rc == GW_EBADXML || rc == GW_EMAXMSG || rc == CLEO_ENOMEM);
    if (rc != 0)
        return;
    check(m.n >= 1 && m.n <= GW_MPU_MAX_PARTS);
    for (size_t i = 0; i < m.n; i++) {
        check(m.parts[i].part_number >= 1);
        check(m.parts[i].part_number <= GW_MPU_MAX_PARTS);
        check(m.parts[i].etag != NULL && m.parts[i].etag[0] != '\0');
    }
    gw__mpu_req_destroy(&m);
}

static void create_bucket_body(const char *s, size_t n)
{
    char loc[GW_LOCATION_MAX];
    int rc = gw__s3xml_parse_create_bucket(s, n, LIMIT, loc);
    check(rc == 0 || rc == GW_EBADXML || rc == GW_EMAXMSG || rc == CLEO_ENOMEM);
    if (rc == 0)
        check(strlen(loc) < GW_LOCATION_MAX);
}

static void http_date(const char *s, size_t n)
{
    int64_t sec;
    if (gw__http_date_parse(s, n, &sec) != 0 || sec < 0)
        return;
    char t[GW_HTTP_DATE_LEN], iso[GW_ISO8601_LEN];
    gw__http_date_fmt(sec * 1000, t);
    int64_t back;
    check(gw__http_date_parse(t, strlen(t), &back) == 0 && back == sec);
    check(strlen(gw__time_iso8601(sec * 1000, iso)) == GW_ISO8601_LEN - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    delete_body(s, size);
    complete_body(s, size);
    create_bucket_body(s, size);
    http_date(s, size);
    return 0;
}
