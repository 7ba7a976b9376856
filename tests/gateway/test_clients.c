/*
 * test_clients.c - requests recorded from real clients (aws-cli 1.45,
 * s3cmd 2.3 with SigV4 and SigV2, curl 7.88 --aws-sigv4, rclone 1.60
 * (aws-sdk-go), boto3 1.43 over TLS with aws-chunked trailer checksums;
 * see clients/record.py) go through the whole auth path: parse, verify,
 * body check. Each must pass, and fail once its secret or body is
 * wrong.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth.h"
#include "gateway/err.h"

#define SECRET "s3cr3t/Key+With=Chars"

typedef struct rec_s {
    char *buf; /* the file; names, values and the target point into it */
    gw_hdr_t h[64];
    gw_auth_req_t rq;
    char *body;
    size_t body_len;
} rec_t;

/* Read "METHOD\nTARGET\nname:value\n...\n\nBODY". */
static void rec_load(rec_t *r, const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    memset(r, 0, sizeof *r);
    r->buf = malloc(1 << 16);
    size_t n = fread(r->buf, 1, 1 << 16, f);
    fclose(f);
    char *p = r->buf, *end = r->buf + n, *nl;
    r->rq.method = p;
    nl = memchr(p, '\n', (size_t)(end - p));
    r->rq.method_len = (size_t)(nl - p);
    p = nl + 1;
    nl = memchr(p, '\n', (size_t)(end - p));
    char *q = memchr(p, '?', (size_t)(nl - p));
    r->rq.path = p;
    r->rq.path_len = (size_t)((q ? q : nl) - p);
    r->rq.query = q ? q + 1 : NULL;
    r->rq.query_len = q ? (size_t)(nl - q - 1) : 0;
    for (p = nl + 1; *p != '\n'; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        char *c = memchr(p, ':', (size_t)(nl - p));
        r->h[r->rq.nhdrs++] =
            (gw_hdr_t){p, (size_t)(c - p), c + 1, (size_t)(nl - c - 1)};
    }
    r->rq.hdrs = r->h;
    r->body = p + 1;
    r->body_len = (size_t)(end - p - 1);
}

/* The request's own time, so that skew and expiry pass. */
static int64_t rec_now(const rec_t *r)
{
    const gw_hdr_t *h = gw__auth_hdr(&r->rq, "x-amz-date");
    char v[40];
    int64_t t;
    if (h == NULL)
        h = gw__auth_hdr(&r->rq, "date");
    if (h != NULL && gw__auth_date(h->value, h->value_len, &t) == 0)
        return t;
    if (gw__auth_qparam(&r->rq, "X-Amz-Date", v, sizeof v) == 1 &&
        gw__auth_date(v, strlen(v), &t) == 0)
        return t;
    cr_assert_eq(gw__auth_qparam(&r->rq, "Expires", v, sizeof v), 1);
    return atoll(v) - 60;
}

static int sink(void *data, const char *buf, size_t len)
{
    (void)buf;
    *(size_t *)data += len;
    return 0;
}

/* Check the body as the gateway would; *decoded gets its length. */
static int body_check(const gw_auth_t *a, const char *b, size_t n,
                      size_t *decoded)
{
    int rc = 0;
    *decoded = n;
    if (gw__auth_is_chunked(a)) {
        gw_chunked_t d;
        *decoded = 0;
        rc = gw__chunked_init(&d, a, sink, decoded);
        for (size_t i = 0; i < n && rc == 0; i += 100)
            rc = gw__chunked_feed(&d, b + i, n - i < 100 ? n - i : 100);
        if (rc == 0)
            rc = gw__chunked_finish(&d);
        gw__chunked_destroy(&d);
    } else if (a->payload == GW_PAYLOAD_SHA256) {
        gw_sha256_check_t c;
        rc = gw__sha256_check_init(&c, a->payload_sha256);
        gw__sha256_check_update(&c, b, n);
        if (rc == 0)
            rc = gw__sha256_check_final(&c);
        gw__sha256_check_destroy(&c);
    }
    return rc;
}

static void one(const char *path, const char *name)
{
    rec_t r;
    gw_auth_t a;
    size_t dec;
    rec_load(&r, path);
    r.rq.now = rec_now(&r);
    cr_assert_eq(gw__auth_parse(&r.rq, &a), 0, "%s", name);
    cr_assert_neq(a.kind, GW_AUTH_ANON, "%s", name);
    cr_assert_str_eq(a.access_key, "AKIDTEST");
    cr_assert_eq(gw__auth_verify(&r.rq, &a, SECRET, strlen(SECRET), NULL), 0,
                 "%s", name);
    cr_assert_eq(body_check(&a, r.body, r.body_len, &dec), 0, "%s", name);
    if (strncmp(name, "boto3_tls_trailer", 17) == 0) {
        cr_assert_eq(a.payload, GW_PAYLOAD_UNSIGNED_TRAILER);
        cr_assert_eq(dec, 300);
    }
    cr_assert_eq(gw__auth_verify(&r.rq, &a, "x", 1, NULL), GW_ESIGNATURE);
    /* A changed body byte is caught wherever the body is covered. */
    char *digit = memchr(r.body, '0', r.body_len);
    char *hello = memchr(r.body, 'h', r.body_len);
    char *victim = digit ? digit : hello;
    if (victim != NULL && a.payload != GW_PAYLOAD_NONE &&
        a.payload != GW_PAYLOAD_UNSIGNED) {
        *victim ^= 1;
        cr_assert_lt(body_check(&a, r.body, r.body_len, &dec), 0, "%s", name);
    }
    free(r.buf);
}

Test(gw_clients, recorded_requests_verify)
{
    char self[] = __FILE__, dir[512];
    snprintf(dir, sizeof dir, "%s/clients", dirname(self));
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".req") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        one(path, e->d_name);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 17);
}
