/*
 * test_http.c - the request parser behind a connection: heads, bodies,
 * pipelining, limits and the smuggling shapes llhttp's strict mode must
 * refuse.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "gateway/err.h"
#include "gateway/http.h"
#include "runtime/rt.h"

static gw_http_t h;
static char body[1 << 16];
static size_t body_len;

static void on_body(void *data, const char *p, size_t n)
{
    (void)data;
    cr_assert(body_len + n <= sizeof body);
    memcpy(body + body_len, p, n);
    body_len += n;
}

static void setup(void)
{
    cr_assert_eq(gw__http_init(&h, 1024, 8), 0);
    h.on_body = on_body;
    body_len = 0;
}

static void teardown(void)
{
    gw__http_destroy(&h);
}

TestSuite(gw_http, .init = setup, .fini = teardown);

/* Feed s whole; returns the result of the last feed and the event. */
static ssize_t feed(const char *s, gw_http_ev_t *ev)
{
    return gw__http_feed(&h, s, strlen(s), ev);
}

Test(gw_http, get_without_body_is_head_and_done_at_once)
{
    const char *r = "GET /b/k?x=1 HTTP/1.1\r\nHost: a\r\nX-Y:  v v  \r\n\r\n";
    gw_http_ev_t ev;
    cr_assert_eq(feed(r, &ev), (ssize_t)strlen(r));
    cr_assert_eq(ev, GW_HTTP_HEAD);
    cr_assert(gw__http_is_done(&h));
    const gw_http_head_t *hd = gw__http_head(&h);
    cr_assert_str_eq(hd->method, "GET");
    cr_assert_str_eq(hd->url, "/b/k?x=1");
    cr_assert_eq(hd->nhdrs, 2);
    size_t n;
    const char *v = gw__hdr_get(hd->hdrs, hd->nhdrs, "x-y", &n);
    cr_assert_not_null(v);
    cr_assert_eq(n, 3);
    cr_assert(memcmp(v, "v v", 3) == 0);
    cr_assert(hd->keep_alive);
    cr_assert_eq(hd->content_length, -1);
}

Test(gw_http, pipelined_requests_come_one_at_a_time)
{
    const char *r = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                    "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    gw_http_ev_t ev;
    ssize_t used = feed(r, &ev);
    cr_assert_eq(ev, GW_HTTP_HEAD);
    cr_assert_lt(used, (ssize_t)strlen(r));
    cr_assert_str_eq(gw__http_head(&h)->url, "/1");
    gw__http_next(&h);
    ssize_t used2 = gw__http_feed(&h, r + used, strlen(r) - (size_t)used, &ev);
    cr_assert_eq(used + used2, (ssize_t)strlen(r));
    cr_assert_eq(ev, GW_HTTP_HEAD);
    cr_assert_str_eq(gw__http_head(&h)->url, "/2");
}

Test(gw_http, body_by_length_in_pieces)
{
    const char *r = "PUT /b/k HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n"
                    "Expect: 100-continue\r\n\r\n0123456789";
    gw_http_ev_t ev;
    size_t total = strlen(r), off = 0;
    ssize_t used = gw__http_feed(&h, r, 20, &ev); /* part of the head */
    cr_assert_eq(used, 20);
    cr_assert_eq(ev, GW_HTTP_MORE);
    off = 20;
    used = gw__http_feed(&h, r + off, total - off - 4, &ev);
    cr_assert_eq(ev, GW_HTTP_HEAD);
    cr_assert(!gw__http_is_done(&h));
    cr_assert(gw__http_head(&h)->expect_continue);
    cr_assert_eq(gw__http_head(&h)->content_length, 10);
    off += (size_t)used;
    while (off < total) { /* the rest byte by byte */
        used = gw__http_feed(&h, r + off, 1, &ev);
        cr_assert_eq(used, 1);
        off++;
    }
    cr_assert_eq(ev, GW_HTTP_DONE);
    cr_assert_eq(body_len, 10);
    cr_assert(memcmp(body, "0123456789", 10) == 0);
}

Test(gw_http, chunked_body_is_decoded)
{
    const char *r = "PUT /b/k HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                    "\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    gw_http_ev_t ev;
    ssize_t used = feed(r, &ev);
    cr_assert_eq(ev, GW_HTTP_HEAD);
    cr_assert(gw__http_head(&h)->chunked);
    used += gw__http_feed(&h, r + used, strlen(r) - (size_t)used, &ev);
    cr_assert_eq(ev, GW_HTTP_DONE);
    cr_assert_eq(used, (ssize_t)strlen(r));
    cr_assert_eq(body_len, 11);
    cr_assert(memcmp(body, "hello world", 11) == 0);
}

Test(gw_http, length_and_chunked_together_are_refused)
{
    const char *r = "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    gw_http_ev_t ev;
    cr_assert_eq(feed(r, &ev), CLEO_EBADREQ);
}

Test(gw_http, two_different_lengths_are_refused)
{
    const char *r = "PUT /b/k HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                    "Content-Length: 5\r\n\r\nabcde";
    gw_http_ev_t ev;
    cr_assert_eq(feed(r, &ev), CLEO_EBADREQ);
}

Test(gw_http, garbage_is_refused)
{
    gw_http_ev_t ev;
    cr_assert_eq(feed("\x01\x02 nonsense\r\n\r\n", &ev), CLEO_EBADREQ);
}

Test(gw_http, a_head_over_the_byte_limit_is_refused)
{
    char r[2048];
    memset(r, 'a', sizeof r);
    memcpy(r, "GET /", 5);
    r[sizeof r - 1] = '\0';
    gw_http_ev_t ev;
    cr_assert_eq(feed(r, &ev), GW_EHDRTOOBIG);
}

Test(gw_http, too_many_headers_are_refused)
{
    char r[1024] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 9; i++)
        strcat(r, "A: b\r\n");
    strcat(r, "\r\n");
    gw_http_ev_t ev;
    cr_assert_eq(feed(r, &ev), GW_EHDRTOOBIG);
}

Test(gw_http, http10_without_keep_alive_closes)
{
    gw_http_ev_t ev;
    feed("GET / HTTP/1.0\r\nHost: a\r\n\r\n", &ev);
    cr_assert_eq(ev, GW_HTTP_HEAD);
    cr_assert(!gw__http_head(&h)->keep_alive);
}

Test(gw_http, connection_close_is_honoured)
{
    gw_http_ev_t ev;
    feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &ev);
    cr_assert(!gw__http_head(&h)->keep_alive);
}

Test(gw_http, header_split_across_feeds_is_joined)
{
    const char *parts[] = {"GET /x HTTP/1.1\r\nHo", "st: exa", "mple\r\nX-Lo",
                           "ng: 12", "34\r\n\r\n"};
    gw_http_ev_t ev = GW_HTTP_MORE;
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(feed(parts[i], &ev), (ssize_t)strlen(parts[i]));
    cr_assert_eq(ev, GW_HTTP_HEAD);
    const gw_http_head_t *hd = gw__http_head(&h);
    size_t n;
    const char *v = gw__hdr_get(hd->hdrs, hd->nhdrs, "HOST", &n);
    cr_assert(v != NULL && n == 7 && memcmp(v, "example", 7) == 0);
    v = gw__hdr_get(hd->hdrs, hd->nhdrs, "x-long", &n);
    cr_assert(v != NULL && n == 4 && memcmp(v, "1234", 4) == 0);
}
