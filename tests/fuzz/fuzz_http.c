/*
 * fuzz_http.c - the S3 request path before any storage call: the HTTP
 * parser (gateway/http.c on llhttp), the target and query parser and
 * the router (gateway/s3_route.c) and the credentials parser
 * (gateway/auth.c). The input is fed in two slices at a split point taken
 * from its first byte, so heads split across reads are covered too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/auth.h"
#include "gateway/http.h"
#include "gateway/s3.h"

static void on_body(void *data, const char *p, size_t n)
{
    size_t *total = data;
    *total += n;
    (void)p;
}

static void route_one(const gw_http_head_t *hd)
{
    static gw_conf_t conf;
    gw_conf_init(&conf);
    gw_req_t r = {0};
    r.head = hd;
    r.conf = &conf;
    s3_t s = {0};
    if (s3_parse_target(&r, &s) == 0) {
        (void)s3_route(&r, &s);
        gw_auth_req_t q = {
            hd->method,  strlen(hd->method), s.path,    s.path_len, s.query,
            s.query_len, hd->hdrs,           hd->nhdrs, NULL,       0,
            1764000000};
        gw_auth_t a;
        (void)gw__auth_parse(&q, &a);
    }
    for (size_t i = 0; i < s.nq; i++)
        free(s.q[i].name), free(s.q[i].value);
    free(s.q);
    free(s.key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_http_t h;
    size_t total = 0;
    if (size == 0 || gw__http_init(&h, 4096, 32) != 0)
        return 0;
    h.on_body = on_body;
    h.data = &total;
    size_t split = 1 + data[0] % (size > 1 ? size - 1 : 1);
    const char *p = (const char *)data + 1;
    size_t left = size - 1, first = split < left ? split : left;
    for (int round = 0; left > 0 && round < 64; round++) {
        size_t n = round == 0 ? first : left;
        gw_http_ev_t ev;
        ssize_t used = gw__http_feed(&h, p, n, &ev);
        if (used < 0)
            break;
        p += used, left -= (size_t)used;
        if (ev == GW_HTTP_HEAD)
            route_one(gw__http_head(&h));
        if (ev == GW_HTTP_DONE || (ev == GW_HTTP_HEAD && gw__http_is_done(&h)))
            gw__http_next(&h);
    }
    gw__http_destroy(&h);
    return 0;
}
