/*
 * test_s3xml_time.c - gateway/s3xml_time.c: ISO 8601 and HTTP-date
 * formatting, the three HTTP-date forms, round trips and refusals.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/s3xml.h"

#define T0 INT64_C(1795625338000) /* 2026-11-25T16:48:58.000Z */
#define T0S "2026-11-25T16:48:58.000Z"

Test(gw_s3xml_time, iso8601_with_milliseconds)
{
    char t[GW_ISO8601_LEN];
    cr_assert_str_eq(gw__time_iso8601(T0, t), T0S);
    cr_assert_str_eq(gw__time_iso8601(T0 + 7, t), "2026-11-25T16:48:58.007Z");
    cr_assert_str_eq(gw__time_iso8601(0, t), "1970-01-01T00:00:00.000Z");
    cr_assert_str_eq(gw__time_iso8601(INT64_C(951782400123), t),
                     "2000-02-29T00:00:00.123Z");
    cr_assert_str_eq(gw__time_iso8601(-5, t), "1970-01-01T00:00:00.000Z");
    cr_assert_str_eq(gw__time_iso8601(INT64_MAX, t),
                     "9999-12-31T23:59:59.999Z");
}

Test(gw_s3xml_time, http_date_format)
{
    char t[GW_HTTP_DATE_LEN];
    cr_assert_str_eq(gw__http_date_fmt(T0 + 999, t),
                     "Wed, 25 Nov 2026 16:48:58 GMT");
    cr_assert_str_eq(gw__http_date_fmt(INT64_C(784111777000), t),
                     "Sun, 06 Nov 1994 08:49:37 GMT");
    cr_assert_str_eq(gw__http_date_fmt(0, t), "Thu, 01 Jan 1970 00:00:00 GMT");
}

Test(gw_s3xml_time, http_date_parse_three_forms)
{
    int64_t s = 0;
    const char *forms[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "  Sun, 06 Nov 1994 08:49:37 GMT\t",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        s = 0;
        cr_assert_eq(gw__http_date_parse(forms[i], strlen(forms[i]), &s), 0,
                     "%s", forms[i]);
        cr_assert_eq(s, 784111777, "%s", forms[i]);
    }
    const char *y2k = "Tuesday, 29-Feb-00 00:00:00 GMT";
    cr_assert_eq(gw__http_date_parse(y2k, strlen(y2k), &s), 0);
    cr_assert_eq(s, 951782400);
    const char *two = "Thu Nov 26 10:00:00 2026";
    cr_assert_eq(gw__http_date_parse(two, strlen(two), &s), 0);
    cr_assert_eq(s, 1795687200);
}

Test(gw_s3xml_time, http_date_round_trip)
{
    char t[GW_HTTP_DATE_LEN];
    int64_t secs[] = {0, 784111777, 951782400, 1795625338,
                      INT64_C(253402300799)};
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        gw__http_date_fmt(secs[i] * 1000, t);
        int64_t back = -1;
        cr_assert_eq(gw__http_date_parse(t, strlen(t), &back), 0, "%s", t);
        cr_assert_eq(back, secs[i], "%s", t);
    }
}

Test(gw_s3xml_time, http_date_parse_rejects)
{
    const char *bad[] = {
        "",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37 94",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:4a:37 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t s = 42;
        cr_assert_eq(gw__http_date_parse(bad[i], strlen(bad[i]), &s),
                     CLEO_EINVAL, "%s", bad[i]);
        cr_assert_eq(s, 42, "written on failure: %s", bad[i]);
    }
    /* Not NUL-terminated: only n bytes are read. */
    const char *s = "Sun, 06 Nov 1994 08:49:37 GMTxxxx";
    int64_t out;
    cr_assert_eq(gw__http_date_parse(s, 29, &out), 0);
}
