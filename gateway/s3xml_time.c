/*
 * s3xml_time.c - S3's dates: ISO 8601 with milliseconds for XML bodies,
 * and RFC 7231 HTTP-dates for headers (all three forms parsed, the
 * IMF-fixdate written). See s3xml.h for the contracts.
 *
 * Civil-from-days and days-from-civil are Howard Hinnant's algorithms:
 * exact for the proleptic Gregorian calendar and free of time zones,
 * locales and time_t width, so nothing here depends on the process's TZ.
 */
#include "gateway/s3xml.h"

#include <stdint.h>
#include <string.h>

#define MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                 "Thu", "Fri", "Sat"};
static const char *const wdays_long[7] = {"Sunday",    "Monday",   "Tuesday",
                                          "Wednesday", "Thursday", "Friday",
                                          "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

typedef struct civil_s {
    int year, mon, mday; /* mon 1..12 */
    int hour, min, sec, ms, wday;
} civil_t;

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Split clamped milliseconds (0..MAX_MS) into calendar fields. */
static civil_t civil_from_ms(int64_t ms)
{
    ms = ms < 0 ? 0 : ms > MAX_MS ? MAX_MS : ms;
    civil_t c;
    int64_t days = ms / 86400000, rem = ms % 86400000;
    c.ms = (int)(rem % 1000);
    c.sec = (int)(rem / 1000 % 60);
    c.min = (int)(rem / 60000 % 60);
    c.hour = (int)(rem / 3600000);
    c.wday = (int)((days + 4) % 7); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = (int)(yoe + era * 400 + (c.mon <= 2));
    return c;
}

/* Write `v` as exactly `width` decimal digits; returns the end. */
static char *digits_out(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

char *gw__time_iso8601(int64_t ms, char out[GW_ISO8601_LEN])
{
    civil_t c = civil_from_ms(ms);
    char *p = digits_out(out, c.year, 4);
    *p++ = '-';
    p = digits_out(p, c.mon, 2);
    *p++ = '-';
    p = digits_out(p, c.mday, 2);
    *p++ = 'T';
    p = digits_out(p, c.hour, 2);
    *p++ = ':';
    p = digits_out(p, c.min, 2);
    *p++ = ':';
    p = digits_out(p, c.sec, 2);
    *p++ = '.';
    p = digits_out(p, c.ms, 3);
    memcpy(p, "Z", 2);
    return out;
}

char *gw__http_date_fmt(int64_t ms, char out[GW_HTTP_DATE_LEN])
{
    civil_t c = civil_from_ms(ms);
    char *p = out;
    memcpy(p, wdays[c.wday], 3);
    memcpy(p + 3, ", ", 2);
    p = digits_out(p + 5, c.mday, 2);
    *p++ = ' ';
    memcpy(p, months[c.mon - 1], 3);
    p[3] = ' ';
    p = digits_out(p + 4, c.year, 4);
    *p++ = ' ';
    p = digits_out(p, c.hour, 2);
    *p++ = ':';
    p = digits_out(p, c.min, 2);
    *p++ = ':';
    p = digits_out(p, c.sec, 2);
    memcpy(p, " GMT", 5);
    return out;
}

/* A cursor over the date text. */
typedef struct cur_s {
    const char *p, *end;
} cur_t;

static bool lit(cur_t *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Exactly `n` digits. */
static bool num(cur_t *c, int n, int *out)
{
    if (c->end - c->p < n)
        return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return false;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *out = v;
    return true;
}

static bool month(cur_t *c, int *mon)
{
    for (int i = 0; i < 12; i++) {
        if (lit(c, months[i])) {
            *mon = i + 1;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool clock_time(cur_t *c, civil_t *t)
{
    return num(c, 2, &t->hour) && lit(c, ":") && num(c, 2, &t->min) &&
           lit(c, ":") && num(c, 2, &t->sec);
}

/* The day-name that starts each form; true and `*full` when it was the
 * long form (RFC 850). */
static bool day_name(cur_t *c, bool *full)
{
    for (int i = 0; i < 7; i++) {
        if (lit(c, wdays_long[i])) {
            *full = true;
            return true;
        }
    }
    for (int i = 0; i < 7; i++) {
        if (lit(c, wdays[i])) {
            *full = false;
            return true;
        }
    }
    return false;
}

/* After the day name: the rest of one of the three forms. */
static bool date_rest(cur_t *c, bool full, civil_t *t)
{
    if (full) { /* RFC 850: ", 06-Nov-94 08:49:37 GMT" */
        if (!(lit(c, ", ") && num(c, 2, &t->mday) && lit(c, "-") &&
              month(c, &t->mon) && lit(c, "-") && num(c, 2, &t->year) &&
              lit(c, " ") && clock_time(c, t) && lit(c, " GMT")))
            return false;
        t->year += t->year >= 70 ? 1900 : 2000;
        return true;
    }
    if (lit(c, ", ")) /* IMF-fixdate: ", 06 Nov 1994 08:49:37 GMT" */
        return num(c, 2, &t->mday) && lit(c, " ") && month(c, &t->mon) &&
               lit(c, " ") && num(c, 4, &t->year) && lit(c, " ") &&
               clock_time(c, t) && lit(c, " GMT");
    /* asctime: " Nov  6 08:49:37 1994" */
    if (!(lit(c, " ") && month(c, &t->mon) && lit(c, " ")))
        return false;
    if (!num(c, 2, &t->mday) && !(lit(c, " ") && num(c, 1, &t->mday)))
        return false;
    return lit(c, " ") && clock_time(c, t) && lit(c, " ") &&
           num(c, 4, &t->year);
}

static bool date_valid(const civil_t *t)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    bool leap = (t->year % 4 == 0 && t->year % 100 != 0) || t->year % 400 == 0;
    if (t->mday < 1 || t->mday > mdays[t->mon - 1])
        return false;
    if (t->mon == 2 && t->mday == 29 && !leap)
        return false;
    return t->hour < 24 && t->min < 60 && t->sec <= 60;
}

int gw__http_date_parse(const char *s, size_t n, int64_t *out_sec)
{
    cur_t c = {s, s + n};
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    civil_t t = {0};
    bool full;
    if (!day_name(&c, &full) || !date_rest(&c, full, &t) || c.p != c.end ||
        !date_valid(&t))
        return CLEO_EINVAL;
    int64_t days = days_from_civil(t.year, t.mon, t.mday);
    *out_sec = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec;
    return 0;
}
