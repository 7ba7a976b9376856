/*
 * loadgen.c - the S3 load generator (issue #5): N keep-alive HTTP/1.1
 * connections on one libuv loop, each sending one request at a time (PUT
 * or GET of --size bytes over a key set, SigV4-signed with
 * UNSIGNED-PAYLOAD), for a duration or a number of requests, with a
 * log-linear latency histogram. Bodies are generated from a 256 KiB
 * pattern as they are sent and received bytes are counted and dropped,
 * so a 1 GiB object is never held in memory.
 *
 * Usage: loadgen --port P --op put|get|mkbucket [--host 127.0.0.1]
 *          [--bucket bench] [--prefix k] [--size 4k] [--conns 1]
 *          [--keys 1000] [--duration 5 | --requests N] [--first 0]
 *          [--auth sigv4|none] [--access-key K] [--secret-key S]
 *          [--region us-east-1]
 * Keys are <prefix>/<8 digits>. A PUT run writes keys first, first+1, ...
 * in order (fresh objects); a GET run reads random keys in [0, keys).
 * Access keys default to $CLEO_ACCESS_KEY / $CLEO_SECRET_KEY.
 *
 * Prints one line:
 *   ops=N errors=E secs=S ops_s=X mb_s=Y p50_ms=A p99_ms=B max_ms=C
 * (MB = 10^6 bytes) and exits 1 if any request failed (the first failure
 * is described on stderr). Responses are parsed for the status line,
 * Content-Length, Transfer-Encoding: chunked and Connection: close; a
 * response with neither length nor chunking runs to the connection's end.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <uv.h>

#include "sign.h"

#define PATTERN_BYTES (256u << 10) /* one write of a large body */
#define READ_BYTES (64u << 10)     /* one read */
#define HEAD_MAX 16384             /* response header bytes */
#define NBUCKETS 1024              /* latency histogram */
#define MAX_CONNS 4096

/* ---- latency histogram (microseconds, 16 sub-buckets per power of 2,
 * so a value is placed within 1/16 = 6%) ----------------------------- */

static uint64_t hist[NBUCKETS];

static int bucket_of(uint64_t us)
{
    if (us < 32)
        return (int)us;
    int msb = 63 - __builtin_clzll(us);
    int shift = msb - 4;
    int i = shift * 16 + (int)(us >> shift);
    return i < NBUCKETS ? i : NBUCKETS - 1;
}

static double bucket_mid_us(int i)
{
    if (i < 32)
        return i;
    int shift = i / 16 - 1;
    double lo = (double)((uint64_t)(i - shift * 16) << shift);
    return lo + (double)(1ull << shift) / 2;
}

/* The value under which fraction q of the samples lie, in ms: the middle
 * of its bucket, but never above the largest sample max_us. */
static double percentile_ms(uint64_t n, double q, uint64_t max_us)
{
    uint64_t want = (uint64_t)(q * (double)n + 0.5), seen = 0;
    if (want == 0)
        want = 1;
    for (int i = 0; i < NBUCKETS; i++) {
        if ((seen += hist[i]) < want)
            continue;
        double us = bucket_mid_us(i);
        return (us < (double)max_us ? us : (double)max_us) / 1000;
    }
    return 0;
}

/* ---- options and run state ------------------------------------------ */

typedef enum { OP_PUT, OP_GET, OP_MKBUCKET } op_t;

static struct {
    const char *host, *bucket, *prefix, *auth, *ak, *sk, *region;
    int port, conns;
    op_t op;
    uint64_t size, keys, requests, first;
    double duration;
} O = {.host = "127.0.0.1",
       .bucket = "bench",
       .prefix = "k",
       .auth = "sigv4",
       .region = "us-east-1",
       .conns = 1,
       .size = 4096,
       .keys = 1000};

static struct {
    uv_loop_t *loop;
    struct sockaddr_in addr;
    char hosthdr[300];
    lg_signer_t signer;
    char pattern[PATTERN_BYTES];
    uint64_t issued, done, errors, bytes, max_us, deadline_ns, t0_ns, t1_ns;
    uint64_t rng;
    int live; /* connections open or opening */
    bool stopping;
    bool reported; /* the first failure was described */
} G;

/* Response parser states; R_DONE once the response is complete. */
enum { R_HEAD, R_BODY, R_CSIZE, R_CDATA, R_CCRLF, R_TRAILER, R_EOF, R_DONE };

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    char hdr[2048]; /* the request's header */
    uint64_t t0_ns;
    uint64_t send_left; /* body bytes still to send */
    bool busy;          /* a request is in flight */
    bool sent;          /* its body is all written */
    bool got;           /* its response is all read */
    /* the response */
    int state, status;
    bool chunked, close_after;
    uint64_t left;  /* body bytes left (R_BODY, R_CDATA) */
    uint64_t recvd; /* body bytes seen */
    char head[HEAD_MAX + 1];
    size_t hlen;
    char line[128]; /* chunk size or trailer line */
    size_t llen;
    char err_body[256]; /* the start of an error response's body */
    size_t elen;
    char rbuf[READ_BYTES];
} conn_t;

static conn_t *C;

static void conn_open(conn_t *c);
static void issue(conn_t *c);

static uint64_t next_rand(void)
{
    G.rng ^= G.rng << 13, G.rng ^= G.rng >> 7, G.rng ^= G.rng << 17;
    return G.rng;
}

static void fail(conn_t *c, const char *what)
{
    G.errors++;
    if (G.reported)
        return;
    G.reported = true;
    for (size_t i = 0; i < c->elen; i++) /* one line for run.sh's log */
        if ((unsigned char)c->err_body[i] < ' ')
            c->err_body[i] = ' ';
    fprintf(stderr, "loadgen: %s (status %d) %.*s\n", what, c->status,
            (int)c->elen, c->err_body);
}

/* ---- connections ---------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    G.live--;
    if (!G.stopping && !c->busy)
        conn_open(c); /* the server closed a kept-alive connection */
}

static void conn_close(conn_t *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static bool should_stop(void)
{
    if (O.requests > 0)
        return G.issued >= O.requests;
    return uv_hrtime() >= G.deadline_ns;
}

/* A request finished (ok or not): record it and go on or stop. */
static void finish(conn_t *c, bool ok)
{
    uint64_t now = uv_hrtime(), us = (now - c->t0_ns) / 1000;
    c->busy = false;
    G.t1_ns = now;
    if (ok) {
        G.done++;
        G.bytes += O.op == OP_MKBUCKET ? 0 : O.size;
        hist[bucket_of(us)]++;
        G.max_us = us > G.max_us ? us : G.max_us;
    }
    if (should_stop())
        G.stopping = true;
    if (G.stopping || !ok || c->close_after) {
        conn_close(c);
        return;
    }
    issue(c);
}

static bool status_ok(int s)
{
    if (O.op == OP_GET)
        return s == 200;
    if (O.op == OP_MKBUCKET)
        return s == 200 || s == 409; /* 409: it exists already */
    return s == 200 || s == 201 || s == 204;
}

/* The response is complete and the request all sent. */
static void response_done(conn_t *c)
{
    c->got = true;
    if (!status_ok(c->status)) {
        fail(c, "unexpected status");
        finish(c, false);
    } else if (O.op == OP_GET && c->recvd != O.size) {
        fail(c, "GET body of the wrong length");
        finish(c, false);
    } else {
        finish(c, true);
    }
}

/* The response is complete: finish now, or when the last write's
 * callback comes (the server may answer before libuv reports it). */
static void response_complete(conn_t *c)
{
    if (c->sent)
        response_done(c);
    else
        c->got = true;
}

/* ---- request -------------------------------------------------------- */

static void on_written(uv_write_t *w, int status);

static void write_more(conn_t *c, const char *hdr, size_t hlen)
{
    uv_buf_t b[2];
    int n = 0;
    if (hdr != NULL)
        b[n++] = uv_buf_init((char *)hdr, (unsigned)hlen);
    size_t piece = c->send_left < PATTERN_BYTES ? c->send_left : PATTERN_BYTES;
    if (piece > 0)
        b[n++] = uv_buf_init(G.pattern, (unsigned)piece);
    c->send_left -= piece;
    int rc =
        uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b, (unsigned)n, on_written);
    if (rc < 0) {
        fail(c, uv_strerror(rc));
        finish(c, false);
    }
}

static void on_written(uv_write_t *w, int status)
{
    conn_t *c = w->data;
    if (status < 0) {
        if (c->busy && !c->got) {
            fail(c, uv_strerror(status));
            finish(c, false);
        }
        return;
    }
    if (c->got && c->send_left > 0) {
        /* Answered before the body was all sent: refused, and the
         * connection cannot be reused. */
        fail(c, "response before the request body was sent");
        finish(c, false);
        return;
    }
    if (c->send_left > 0) {
        write_more(c, NULL, 0);
        return;
    }
    c->sent = true;
    if (c->got) /* the response came before this callback */
        response_done(c);
}

static int build(conn_t *c)
{
    static char date[LG_SIGN_DATE_LEN + 1];
    static time_t date_t;
    char path[512], auth[LG_SIGN_AUTH_MAX + 32] = "";
    const char *method = O.op == OP_GET ? "GET" : "PUT";
    uint64_t k = O.op == OP_GET ? next_rand() % O.keys : O.first + G.issued;
    if (O.op == OP_MKBUCKET)
        snprintf(path, sizeof path, "/%s", O.bucket);
    else
        snprintf(path, sizeof path, "/%s/%s/%08llu", O.bucket, O.prefix,
                 (unsigned long long)k);
    time_t t = time(NULL);
    if (t != date_t)
        lg_sign_date(t, date), date_t = t;
    if (strcmp(O.auth, "sigv4") == 0) {
        char a[LG_SIGN_AUTH_MAX];
        if (lg_sign(&G.signer, method, G.hosthdr, path, date, a) < 0)
            return -1;
        snprintf(auth, sizeof auth, "Authorization: %s\r\n", a);
    }
    uint64_t len = O.op == OP_PUT ? O.size : 0;
    int n = snprintf(c->hdr, sizeof c->hdr,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\n"
                     "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n%s%s",
                     method, path, G.hosthdr, date, auth,
                     O.op == OP_GET ? ""
                                    : "Content-Type: "
                                      "application/octet-stream\r\n");
    if (O.op != OP_GET)
        n += snprintf(c->hdr + n, sizeof c->hdr - (size_t)n,
                      "Content-Length: %llu\r\n", (unsigned long long)len);
    n += snprintf(c->hdr + n, sizeof c->hdr - (size_t)n, "\r\n");
    c->send_left = len;
    return n;
}

static void issue(conn_t *c)
{
    if (should_stop()) {
        G.stopping = true;
        conn_close(c);
        return;
    }
    c->busy = true, c->sent = false, c->got = false;
    c->state = R_HEAD, c->hlen = 0, c->status = 0, c->recvd = 0;
    c->chunked = false, c->close_after = false, c->elen = 0;
    int n = build(c);
    G.issued++;
    c->t0_ns = uv_hrtime();
    if (n < 0) {
        fail(c, "signing failed");
        finish(c, false);
        return;
    }
    write_more(c, c->hdr, (size_t)n);
}

/* ---- response ------------------------------------------------------- */

/* Parse the status line and headers in c->head (NUL-terminated). */
static int parse_head(conn_t *c)
{
    if (sscanf(c->head, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    bool has_len = false;
    c->left = 0;
    for (char *l = strstr(c->head, "\r\n"); l != NULL; l = strstr(l, "\r\n")) {
        l += 2;
        if (strncasecmp(l, "content-length:", 15) == 0) {
            c->left = strtoull(l + 15, NULL, 10);
            has_len = true;
        } else if (strncasecmp(l, "transfer-encoding:", 18) == 0) {
            c->chunked = strstr(l, "chunked") != NULL; /* lower case */
        } else if (strncasecmp(l, "connection:", 11) == 0) {
            c->close_after =
                strncasecmp(l + 11 + strspn(l + 11, " "), "close", 5) == 0;
        }
    }
    if (c->chunked)
        c->state = R_CSIZE, c->llen = 0;
    else if (c->status == 204 || c->status == 304 || c->status / 100 == 1)
        c->state = R_BODY, c->left = 0;
    else if (has_len)
        c->state = R_BODY;
    else
        c->state = R_EOF, c->close_after = true;
    return 0;
}

/* Feed header bytes; returns bytes used, or -1 on a malformed or too
 * long header. */
static ssize_t feed_head(conn_t *c, const char *p, size_t n)
{
    size_t room = HEAD_MAX - c->hlen, take = n < room ? n : room;
    memcpy(c->head + c->hlen, p, take);
    size_t old = c->hlen;
    c->hlen += take;
    c->head[c->hlen] = '\0';
    char *end = strstr(c->head + (old > 3 ? old - 3 : 0), "\r\n\r\n");
    if (end == NULL)
        return c->hlen == HEAD_MAX ? -1 : (ssize_t)take;
    size_t used = (size_t)(end + 4 - c->head) - old;
    end[2] = '\0';
    return parse_head(c) < 0 ? -1 : (ssize_t)used;
}

/* Keep the start of an error body for the report. */
static void keep_err(conn_t *c, const char *p, size_t n)
{
    if (status_ok(c->status))
        return;
    size_t room = sizeof c->err_body - c->elen;
    memcpy(c->err_body + c->elen, p, n < room ? n : room);
    c->elen += n < room ? n : room;
}

/* Body bytes: plain, up to EOF, or chunked. Returns bytes used. */
static size_t feed_body(conn_t *c, const char *p, size_t n)
{
    size_t take;
    switch (c->state) {
    case R_BODY:
    case R_CDATA:
        take = n < c->left ? n : (size_t)c->left;
        keep_err(c, p, take);
        c->left -= take, c->recvd += take;
        if (c->left == 0)
            c->state = c->state == R_BODY ? R_DONE : R_CCRLF;
        return take;
    case R_EOF:
        keep_err(c, p, n);
        c->recvd += n;
        return n;
    default: /* a line: chunk size, CRLF after data, or a trailer */
        for (take = 0; take < n && p[take] != '\n'; take++)
            if (c->llen < sizeof c->line - 1)
                c->line[c->llen++] = p[take];
        if (take == n)
            return n;
        c->line[c->llen] = '\0';
        if (c->state == R_CSIZE) {
            c->left = strtoull(c->line, NULL, 16);
            c->state = c->left == 0 ? R_TRAILER : R_CDATA;
        } else if (c->state == R_CCRLF) {
            c->state = R_CSIZE;
        } else if (c->llen <= 1) { /* the empty line ending trailers */
            c->state = R_DONE;
        }
        c->llen = 0;
        return take + 1;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    conn_t *c = h->data;
    *b = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    conn_t *c = s->data;
    if (nread < 0) {
        if (c->busy && c->state == R_EOF && nread == UV_EOF)
            response_complete(c);
        else if (c->busy)
            fail(c, uv_strerror((int)nread)), finish(c, false);
        else
            conn_close(c);
        return;
    }
    const char *p = b->base;
    size_t n = (size_t)nread;
    while (n > 0 && c->busy && !c->got) {
        ssize_t used = c->state == R_HEAD ? feed_head(c, p, n)
                                          : (ssize_t)feed_body(c, p, n);
        if (used < 0) {
            fail(c, "malformed response header");
            finish(c, false);
            return;
        }
        p += used, n -= (size_t)used;
        if (c->state == R_DONE)
            response_complete(c);
    }
    if (c->state == R_BODY && c->left == 0 && c->busy && !c->got)
        response_complete(c); /* a bodiless response ended with its head */
}

static void on_connect(uv_connect_t *r, int status)
{
    conn_t *c = r->data;
    if (status < 0) {
        fprintf(stderr, "loadgen: connect: %s\n", uv_strerror(status));
        G.errors++;
        conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    issue(c);
}

static void conn_open(conn_t *c)
{
    uv_tcp_init(G.loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    c->tcp.data = c->creq.data = c->wreq.data = c;
    G.live++;
    int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&G.addr,
                            on_connect);
    if (rc < 0) {
        fprintf(stderr, "loadgen: connect: %s\n", uv_strerror(rc));
        G.errors++;
        conn_close(c);
    }
}

/* ---- main ----------------------------------------------------------- */

static uint64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    switch (*end | 0x20) {
    case 'k':
        return (uint64_t)(v * 1024);
    case 'm':
        return (uint64_t)(v * 1024 * 1024);
    case 'g':
        return (uint64_t)(v * 1024 * 1024 * 1024);
    default:
        return (uint64_t)v;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P --op put|get|mkbucket "
                    "[--host H] [--bucket B] [--prefix P] [--size N[k|m|g]] "
                    "[--conns N] [--keys N] [--duration S | --requests N] "
                    "[--first N] [--auth sigv4|none] [--access-key K] "
                    "[--secret-key S] [--region R]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", 1, 0, 'h'},       {"port", 1, 0, 'p'},
        {"op", 1, 0, 'o'},         {"bucket", 1, 0, 'b'},
        {"prefix", 1, 0, 'x'},     {"size", 1, 0, 's'},
        {"conns", 1, 0, 'c'},      {"keys", 1, 0, 'k'},
        {"duration", 1, 0, 'd'},   {"requests", 1, 0, 'n'},
        {"first", 1, 0, 'f'},      {"auth", 1, 0, 'a'},
        {"access-key", 1, 0, 'A'}, {"secret-key", 1, 0, 'S'},
        {"region", 1, 0, 'r'},     {0, 0, 0, 0}};
    const char *op = NULL;
    int ch;
    O.ak = getenv("CLEO_ACCESS_KEY"), O.sk = getenv("CLEO_SECRET_KEY");
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) { /* size: dispatch */
        case 'h':
            O.host = optarg;
            break;
        case 'p':
            O.port = atoi(optarg);
            break;
        case 'o':
            op = optarg;
            break;
        case 'b':
            O.bucket = optarg;
            break;
        case 'x':
            O.prefix = optarg;
            break;
        case 's':
            O.size = parse_size(optarg);
            break;
        case 'c':
            O.conns = atoi(optarg);
            break;
        case 'k':
            O.keys = strtoull(optarg, NULL, 10);
            break;
        case 'd':
            O.duration = atof(optarg);
            break;
        case 'n':
            O.requests = strtoull(optarg, NULL, 10);
            break;
        case 'f':
            O.first = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            O.auth = optarg;
            break;
        case 'A':
            O.ak = optarg;
            break;
        case 'S':
            O.sk = optarg;
            break;
        case 'r':
            O.region = optarg;
            break;
        default:
            usage();
        }
    }
    if (op == NULL || O.port <= 0 || O.conns < 1 || O.conns > MAX_CONNS ||
        O.keys == 0)
        usage();
    O.op = strcmp(op, "put") == 0        ? OP_PUT
           : strcmp(op, "get") == 0      ? OP_GET
           : strcmp(op, "mkbucket") == 0 ? OP_MKBUCKET
                                         : (usage(), OP_PUT);
    if (O.op == OP_MKBUCKET)
        O.requests = 1, O.conns = 1;
    if (O.requests == 0 && O.duration <= 0)
        O.duration = 5;
    if (strcmp(O.auth, "sigv4") == 0 && (O.ak == NULL || O.sk == NULL)) {
        fprintf(stderr, "loadgen: sigv4 needs --access-key/--secret-key or "
                        "CLEO_ACCESS_KEY/CLEO_SECRET_KEY\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    G.loop = uv_default_loop();
    G.rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL);
    for (size_t i = 0; i < PATTERN_BYTES; i++)
        G.pattern[i] = (char)('a' + (i * 7 + i / 251) % 26);
    if (uv_ip4_addr(O.host, O.port, &G.addr) < 0)
        usage();
    snprintf(G.hosthdr, sizeof G.hosthdr, "%s:%d", O.host, O.port);
    if (strcmp(O.auth, "sigv4") == 0 &&
        lg_signer_init(&G.signer, O.ak, O.sk, O.region) < 0)
        usage();
    C = calloc((size_t)O.conns, sizeof *C);
    if (C == NULL)
        return 1;
    G.t0_ns = uv_hrtime();
    G.deadline_ns = G.t0_ns + (uint64_t)(O.duration * 1e9);
    for (int i = 0; i < O.conns; i++)
        conn_open(&C[i]);
    uv_run(G.loop, UV_RUN_DEFAULT);
    double secs = (double)(G.t1_ns - G.t0_ns) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    printf("ops=%llu errors=%llu secs=%.3f ops_s=%.1f mb_s=%.1f "
           "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
           (unsigned long long)G.done, (unsigned long long)G.errors, secs,
           (double)G.done / secs, (double)G.bytes / secs / 1e6,
           percentile_ms(G.done, 0.50, G.max_us),
           percentile_ms(G.done, 0.99, G.max_us), (double)G.max_us / 1000);
    free(C);
    return G.errors > 0 ? 1 : 0;
}
