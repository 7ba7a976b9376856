/*
 * conn.c - the connection actor: socket events in, one request at a time
 * through the parser, bodies to the handler in bounded blocks, responses
 * out (conn.h). Reading stops while the unparsed input is over IN_MAX or
 * the handler holds a block, which is how a slow storage or a slow
 * handler pushes back on the client (STYLE rule 47).
 */
#include "gateway/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/err.h"
#include "gateway/sock.h"

#define IN_MAX (256u << 10) /* unparsed input bytes before reading stops */
#define IN_SLOTS 96         /* buffers queued (each one read) */
/* Reads that may still arrive after reading stops: libuv delivers up to
 * 32 reads of one socket in one pass of the loop (uv__read), all before
 * this actor runs again; seen overflowing 8 when storage answered slowly
 * across distribution. */
#define IN_SLACK 40
#define WRITES_MAX 4 /* answers in flight before pipelined heads wait */
#define DISCARD_MAX                                                            \
    (1u << 20) /* body bytes read and dropped after an answer                  \
                */

typedef enum { P_HEAD, P_WAIT, P_BODY, P_DONE } phase_t;

struct gw_conn_s {
    rt_t *rt;
    rt_pid_t pid;
    gw_sock_t *sock;
    const gw_api_t *api;
    const gw_conf_t *conf;
    gw_http_t http;
    rt_buf_t *in[IN_SLOTS]; /* unparsed input, FIFO */
    size_t in_head, in_n, in_off, in_bytes;
    bool reading;
    phase_t phase;
    gw_req_t *req;
    uint64_t seq;
    size_t writes;   /* in flight */
    bool closing;    /* close once the writes are out */
    bool eof;        /* the client closed its side */
    char *pend_head; /* a response head not yet written */
    size_t pend_len;
    uint64_t last_ms;   /* last progress by the client */
    uint64_t head_ms;   /* when the current head started */
    bool head_started;  /* bytes of a head have arrived */
    bool closing_after; /* the answer being sent is the last */
    void *api_state;    /* the API's per-connection caches */
};

typedef struct {
    gw_sock_t *sock;
    const gw_api_t *api;
    const gw_conf_t *conf;
    bool taken; /* init ran: the socket is the actor's resource */
} conn_arg_t;

static void pump(gw_conn_t *c);
static void body_deliver(gw_conn_t *c, gw_req_t *r);
static void req_maybe_finish(gw_conn_t *c);

/* ---- the request ----------------------------------------------------- */

gw_req_t *gw__conn_req(rt_actor_t *self, uint64_t seq)
{
    gw_conn_t *c = rt_state(self);
    return c != NULL && c->req != NULL && c->req->seq == seq ? c->req : NULL;
}

void **gw__conn_api_state(gw_req_t *r)
{
    return &r->conn->api_state;
}

rt_t *gw__req_rt(gw_req_t *r)
{
    return r->conn->rt;
}

rt_actor_t *gw__req_actor(gw_req_t *r)
{
    (void)r;
    return rt_current(); /* handlers run only in the conn's own turns */
}

rt_buf_t *gw__buf_of(const void *p, size_t n)
{
    rt_buf_t *b;
    if (rt_buf_new(n ? n : 1, &b) < 0)
        return NULL;
    memcpy(rt_buf_data(b), p, n);
    int rc = rt_buf_set_len(b, n);
    rt_assert(rc == 0); /* n <= cap by construction; in the conn's turn */
    return b;
}

static void req_free(gw_req_t *r)
{
    if (r == NULL)
        return;
    if (r->op_free != NULL)
        r->op_free(r);
    rt_buf_unref(r->body);
    free(r);
}

static gw_req_t *req_new(gw_conn_t *c)
{
    gw_req_t *r = gw__xcalloc(1, sizeof *r);
    r->conn = c;
    r->seq = ++c->seq;
    r->conf = c->conf;
    r->head = gw__http_head(&c->http);
    return r;
}

/* ---- writing --------------------------------------------------------- */

static void conn_close(gw_conn_t *c)
{
    bool was = c->closing;
    c->closing = true;
    if (c->reading) {
        gw__sock_read_stop(c->sock);
        c->reading = false;
    }
    /* With no write left to report back, nothing would stop the actor
     * before its idle timeout: tell it now. */
    if (!was && c->writes == 0)
        (void)rt_send(c->rt, c->pid, rt_msg_new(GW_MSG_CLOSE));
}

static int write_out(gw_conn_t *c, rt_buf_t *body, uint64_t notify)
{
    int rc = gw__sock_write(c->sock, c->pend_head, c->pend_len, body, notify);
    c->pend_head = NULL, c->pend_len = 0;
    if (rc < 0) {
        conn_close(c);
        return rc;
    }
    c->writes++;
    return 0;
}

/* Does r's answer end the connection? When the body is not read yet:
 * a small one with a known length is read and dropped, anything else
 * (unknown or large length, a client waiting for 100-continue, a body
 * the handler was reading when it failed) leaves the stream at an
 * unknown place, so the connection closes after the answer. */
static bool will_close(gw_conn_t *c, gw_req_t *r)
{
    if (c->closing || c->closing_after || r->head == NULL ||
        !r->head->keep_alive)
        return true;
    if (r->body_done)
        return false;
    if (r->mode == GW_BODY_BUFFER || r->mode == GW_BODY_STREAM)
        return true;
    int64_t cl = r->head->content_length;
    return cl < 0 || cl > DISCARD_MAX || r->head->expect_continue;
}

static const char *reason(int status)
{
    switch (status) { /* size: dispatch */
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 416:
        return "Range Not Satisfiable";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return status < 500 ? "Error" : "Internal Server Error";
    }
}

static void fmt_date(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int gw__resp_head(gw_req_t *r, int status, const gw_kv_t *kv, size_t n,
                  int64_t content_length)
{
    gw_conn_t *c = r->conn;
    size_t cap = 512;
    if (content_length < 0)
        return CLEO_EPROTO; /* a GET's length comes from storage's record */
    for (size_t i = 0; i < n; i++)
        cap += strlen(kv[i].name) + strlen(kv[i].value) + 4;
    char *h = malloc(cap), date[64];
    if (h == NULL)
        return CLEO_ENOMEM;
    fmt_date(date, sizeof date);
    bool keep = !will_close(c, r);
    if (!keep)
        c->closing_after = true;
    size_t len = (size_t)snprintf(
        h, cap,
        "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: cleo\r\n"
        "x-amz-request-id: %016llX%08llX\r\n",
        status, reason(status), date, (unsigned long long)c->pid,
        (unsigned long long)r->seq);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(h + len, cap - len, "%s: %s\r\n", kv[i].name,
                                kv[i].value);
    len += (size_t)snprintf(h + len, cap - len, "Content-Length: %lld\r\n",
                            (long long)content_length);
    len += (size_t)snprintf(h + len, cap - len, "%s\r\n",
                            keep ? "" : "Connection: close\r\n");
    free(c->pend_head);
    c->pend_head = h, c->pend_len = len;
    r->responded = true;
    return 0;
}

int gw__resp_body(gw_req_t *r, rt_buf_t *b)
{
    if (r->no_body) {
        rt_buf_unref(b);
        b = NULL;
    }
    return write_out(r->conn, b, r->on_written != NULL ? r->seq : 0);
}

int gw__resp_full(gw_req_t *r, int status, const gw_kv_t *kv, size_t n,
                  const char *ctype, rt_buf_t *body)
{
    gw_kv_t all[24];
    size_t k = 0;
    if (ctype != NULL)
        all[k++] = (gw_kv_t){"Content-Type", ctype};
    for (size_t i = 0; i < n && k < 24; i++)
        all[k++] = kv[i];
    int64_t len = body != NULL ? (int64_t)rt_buf_len(body) : 0;
    int rc = gw__resp_head(r, status, all, k, len);
    if (rc < 0) {
        rt_buf_unref(body);
        return rc;
    }
    r->on_written = NULL;
    (void)gw__resp_body(r, body); /* a failed write closes the connection */
    gw__resp_end(r); /* may free r: nothing may touch it after this */
    return 0;
}

void gw__resp_end(gw_req_t *r)
{
    gw_conn_t *c = r->conn;
    if (c->pend_head != NULL)
        (void)write_out(c, NULL, 0);
    r->ended = true;
    bool keep = r->head != NULL && r->head->keep_alive;
    if (!keep)
        c->closing = true;
    req_maybe_finish(c);
}

void gw__req_fail(gw_req_t *r, int err)
{
    gw_conn_t *c = r->conn;
    if (r->ended)
        return;
    if (r->responded) { /* half a response is out: only closing is honest */
        conn_close(c);
        r->ended = true;
        req_maybe_finish(c);
        return;
    }
    r->on_written = NULL;
    if (c->api->error(r, err) < 0) {
        conn_close(c);
        r->ended = true;
        req_maybe_finish(c);
    }
}

/* ---- the body -------------------------------------------------------- */

static void send_continue(gw_conn_t *c, gw_req_t *r)
{
    static const char k[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (r->head == NULL || !r->head->expect_continue || r->responded)
        return;
    char *h = malloc(sizeof k - 1);
    if (h == NULL)
        return;
    memcpy(h, k, sizeof k - 1);
    if (gw__sock_write(c->sock, h, sizeof k - 1, NULL, 0) == 0)
        c->writes++;
}

int gw__req_read_body(gw_req_t *r, gw_body_mode_t mode, uint64_t max)
{
    gw_conn_t *c = r->conn;
    r->mode = mode;
    r->body_max = max;
    if (mode != GW_BODY_DISCARD) /* even for an empty body: clients that
                                    asked wait for it (botocore does) */
        send_continue(c, r);
    if (r->body_done) { /* no body, or it ended before it was asked for */
        body_deliver(c, r);
        return 0;
    }
    if (c->phase == P_WAIT)
        c->phase = P_BODY;
    pump(c);
    return 0;
}

static int block_new(gw_req_t *r, size_t cap)
{
    return rt_buf_new(cap, &r->body);
}

int gw__req_body_put(gw_req_t *r, const char *p, size_t n)
{
    r->body_bytes += n;
    if (r->mode == GW_BODY_DISCARD || n == 0)
        return 0;
    if (r->body_bytes > r->body_max)
        return GW_ETOOLARGE;
    if (r->body == NULL) {
        int64_t cl = r->head->content_length;
        uint64_t want = cl > 0 ? (uint64_t)cl : GW_BLOCK;
        if (want > r->body_max)
            want = r->body_max > 0 ? r->body_max : 1;
        size_t cap = r->mode == GW_BODY_STREAM ? GW_BLOCK : (size_t)want;
        if (block_new(r, cap) < 0)
            return CLEO_ENOMEM;
    }
    size_t len = rt_buf_len(r->body);
    if (len + n > rt_buf_cap(r->body)) { /* BUFFER without a length: grow */
        rt_buf_t *b;
        if (rt_buf_new(2 * (len + n), &b) < 0)
            return CLEO_ENOMEM;
        memcpy(rt_buf_data(b), rt_buf_data(r->body), len);
        rt_buf_unref(r->body);
        r->body = b;
    }
    memcpy(rt_buf_data(r->body) + len, p, n);
    return rt_buf_set_len(r->body, len + n);
}

static void on_http_body(void *data, const char *p, size_t n)
{
    gw_conn_t *c = data;
    gw_req_t *r = c->req;
    if (r == NULL || (r->ended && r->mode != GW_BODY_DISCARD))
        return;
    int rc = r->filter != NULL ? r->filter(r, p, n) : gw__req_body_put(r, p, n);
    if (rc < 0) {
        r->mode = GW_BODY_DISCARD;
        c->closing_after = true; /* the rest of the body is not read */
        gw__req_fail(r, rc);
        conn_close(c); /* the rest of the body cannot be trusted */
    }
}

/* STREAM: hand the filled block (or the end) to the handler. */
static void block_hand(gw_conn_t *c, gw_req_t *r, bool last)
{
    rt_buf_t *b = r->body;
    r->body = NULL;
    r->block_busy = true;
    int rc = r->on_block(r, b, last);
    if (rc < 0)
        gw__req_fail(r, rc);
}

void gw__req_block_done(gw_req_t *r)
{
    r->block_busy = false;
    if (r->body_done && !r->ended && r->mode == GW_BODY_STREAM) {
        block_hand(r->conn, r, true); /* what is left, as the last block */
        return;
    }
    pump(r->conn);
}

/* How many bytes the parser may take now without overfilling a block. */
static size_t body_room(gw_conn_t *c, gw_req_t *r)
{
    if (r->mode != GW_BODY_STREAM)
        return SIZE_MAX;
    size_t len = r->body != NULL ? rt_buf_len(r->body) : 0;
    if (len == GW_BLOCK && !r->block_busy)
        block_hand(c, r, false), len = 0;
    return len == GW_BLOCK ? 0 : GW_BLOCK - len;
}

/* The body is complete: give it to the handler. */
static void body_deliver(gw_conn_t *c, gw_req_t *r)
{
    if (r->ended)
        return;
    if (r->mode == GW_BODY_BUFFER) {
        int rc = r->on_body(r);
        if (rc < 0)
            gw__req_fail(r, rc);
    } else if (r->mode == GW_BODY_STREAM && !r->block_busy) {
        block_hand(c, r, true);
    }
}

static void body_end(gw_conn_t *c, gw_req_t *r)
{
    r->body_done = true;
    if (r->ended) /* answered early; its body is now dropped: next */
        req_maybe_finish(c);
    else
        body_deliver(c, r);
}

/* ---- parsing --------------------------------------------------------- */

static void in_drop(gw_conn_t *c, size_t n)
{
    c->in_off += n;
    c->in_bytes -= n;
    rt_buf_t *b = c->in[c->in_head];
    if (c->in_off < rt_buf_len(b))
        return;
    rt_buf_unref(b);
    c->in_head = (c->in_head + 1) % IN_SLOTS;
    c->in_n--;
    c->in_off = 0;
}

/* A malformed request: answer it (there may be no head) and close. */
static void bad_request(gw_conn_t *c, int err)
{
    c->closing_after = true; /* the stream is lost: the answer says close */
    if (c->req == NULL)
        c->req = req_new(c);
    gw_req_t *r = c->req;
    if (c->phase == P_HEAD)
        r->head = NULL; /* the head is incomplete */
    c->phase = P_DONE;
    r->body_done = true;
    gw__req_fail(r, err);
    conn_close(c);
}

/* What the parser accepts but the gateway must refuse: HTTP other than
 * 1.x, and a transfer coding other than plain chunked (S3 stores bytes,
 * not gzip streams; the body's end would be unknown). */
static int head_check(const gw_http_head_t *h)
{
    if (h->major != 1)
        return CLEO_EBADREQ;
    size_t n;
    const char *te = gw__hdr_get(h->hdrs, h->nhdrs, "transfer-encoding", &n);
    if (te != NULL && !(n == 7 && strncasecmp(te, "chunked", 7) == 0))
        return GW_ENOTIMPL;
    return 0;
}

static void on_head(gw_conn_t *c, bool done)
{
    int bad = head_check(gw__http_head(&c->http));
    if (bad < 0) {
        c->req = req_new(c);
        c->closing_after = true; /* the body's end cannot be found */
        c->phase = P_DONE;
        c->req->body_done = true;
        gw__req_fail(c->req, bad);
        return;
    }
    gw_req_t *r = req_new(c);
    c->req = r;
    c->head_started = false;
    c->phase = done ? P_DONE : P_WAIT;
    r->body_done = done;
    if (r->head->method_id == HTTP_HEAD)
        r->no_body = true;
    int rc = c->api->begin(r);
    if (rc < 0)
        gw__req_fail(r, rc);
}

/* One feed of the parser. Returns false when it must stop. */
static bool parse_step(gw_conn_t *c)
{
    rt_buf_t *b = c->in[c->in_head];
    const char *p = rt_buf_data(b) + c->in_off;
    size_t n = rt_buf_len(b) - c->in_off;
    if (c->phase == P_BODY) {
        size_t room = body_room(c, c->req);
        if (room == 0)
            return false;
        n = n < room ? n : room;
    }
    if (c->phase == P_HEAD && !c->head_started) {
        c->head_started = true;
        c->head_ms = rt_now_ms(c->rt);
    }
    gw_http_ev_t ev;
    ssize_t used = gw__http_feed(&c->http, p, n, &ev);
    if (used < 0) {
        bad_request(c, (int)used);
        return false;
    }
    in_drop(c, (size_t)used);
    if (ev == GW_HTTP_HEAD)
        on_head(c, gw__http_is_done(&c->http));
    else if (ev == GW_HTTP_DONE && c->req != NULL) {
        c->phase = P_DONE;
        body_end(c, c->req);
    }
    return true;
}

static void pump(gw_conn_t *c)
{
    while (c->in_n > 0 && !c->closing) {
        if (c->phase == P_WAIT || c->phase == P_DONE)
            break;
        if (c->phase == P_HEAD && c->writes > WRITES_MAX)
            break; /* answers the client is not reading: wait for them */
        if (!parse_step(c))
            break;
    }
    bool want = !c->closing && !c->eof && c->in_bytes < IN_MAX &&
                c->in_n < IN_SLOTS - IN_SLACK;
    if (want && !c->reading)
        c->reading = gw__sock_read_start(c->sock) == 0;
    else if (!want && c->reading) {
        gw__sock_read_stop(c->sock);
        c->reading = false;
    }
}

/* The request ends when both its response and its body are done. */
static void req_maybe_finish(gw_conn_t *c)
{
    gw_req_t *r = c->req;
    if (r == NULL || !r->ended)
        return;
    if (c->closing_after)
        conn_close(c); /* will_close() said so in the answer's head */
    if (!r->body_done && r->mode != GW_BODY_DISCARD) {
        r->mode = GW_BODY_DISCARD; /* answered early: drop a small body */
        c->phase = P_BODY;
    }
    if (!r->body_done && !c->closing) {
        pump(c);
        return;
    }
    c->req = NULL;
    req_free(r);
    gw__http_next(&c->http);
    c->phase = P_HEAD;
    if (c->eof && c->in_n == 0)
        conn_close(c); /* the client is done sending: nothing more to do */
    pump(c);
}

/* ---- the actor ------------------------------------------------------- */

static int on_read_msg(rt_actor_t *self, gw_conn_t *c, rt_msg_t *m)
{
    if (m->reason < 0 || m->payload == NULL) {
        c->eof = true; /* EOF or error: a partial request dies with it */
        if (c->req != NULL && !c->req->body_done)
            conn_close(c);
        if (c->req == NULL || c->req->ended)
            conn_close(c);
        return c->closing && c->writes == 0 ? RT_STOP : 0;
    }
    if (c->in_n == IN_SLOTS) /* cannot happen: reading stops before */
        return CLEO_ELIMIT;
    rt_buf_t *b = m->payload;
    m->payload = NULL; /* ours: the runtime will not unref it */
    c->in[(c->in_head + c->in_n++) % IN_SLOTS] = b;
    c->in_bytes += rt_buf_len(b);
    c->last_ms = rt_now_ms(c->rt);
    pump(c);
    return c->closing && c->writes == 0 ? RT_STOP : 0;
}

static int on_written_msg(rt_actor_t *self, gw_conn_t *c, rt_msg_t *m)
{
    c->writes--;
    if (c->writes == WRITES_MAX && c->req == NULL)
        pump(c); /* pipelined heads were waiting for the client to read */
    c->last_ms = rt_now_ms(c->rt);
    if (m->reason < 0)
        conn_close(c);
    gw_req_t *r = c->req;
    if (m->arg != 0 && r != NULL && r->seq == m->arg && !c->closing &&
        r->on_written != NULL) {
        int rc = r->on_written(r);
        if (rc < 0)
            gw__req_fail(r, rc);
    }
    return c->closing && c->writes == 0 ? RT_STOP : 0;
}

static void tick_arm(gw_conn_t *c)
{
    uint32_t t = c->conf->idle_timeout_ms;
    if (c->conf->header_timeout_ms < t)
        t = c->conf->header_timeout_ms;
    t = t / 4 > 50 ? t / 4 : 50;
    (void)rt_send_after(c->rt, t, c->pid, rt_msg_new(GW_MSG_TICK), NULL);
}

/* Timeouts: a head that takes too long (slowloris), or no progress from
 * the client (idle keep-alive, a stalled body, a client that stopped
 * reading a response). Waiting on storage is not the client's fault. */
static int on_tick(gw_conn_t *c)
{
    uint64_t now = rt_now_ms(c->rt);
    bool waiting_client = c->req == NULL || c->phase == P_BODY || c->writes > 0;
    if (c->phase == P_HEAD && c->head_started &&
        now - c->head_ms >= c->conf->header_timeout_ms) {
        bad_request(c, GW_ETIMEOUT);
        return c->writes == 0 ? RT_STOP : 0;
    }
    if (waiting_client && now - c->last_ms >= c->conf->idle_timeout_ms)
        return RT_STOP; /* the socket closes with the actor */
    tick_arm(c);
    return 0;
}

static int on_start(gw_conn_t *c)
{
    c->last_ms = rt_now_ms(c->rt);
    tick_arm(c);
    pump(c);
    return 0;
}

static int conn_init(rt_actor_t *self, void *arg)
{
    conn_arg_t *a = arg;
    a->taken = true;
    gw_conn_t *c = gw__xcalloc(1, sizeof *c);
    c->rt = rt_actor_rt(self);
    c->pid = rt_self(self);
    c->sock = a->sock;
    c->api = a->api;
    c->conf = a->conf;
    c->sock->rt = c->rt;
    c->sock->owner = c->pid;
    c->sock->tcp.data = c->sock;
    (void)rt_resource_add(self, gw__sock_close, c->sock, NULL);
    rt_set_state(self, c);
    if (gw__http_init(&c->http, c->conf->max_header_bytes,
                      c->conf->max_headers) < 0)
        return CLEO_ENOMEM;
    c->http.on_body = on_http_body;
    c->http.data = c;
    return rt_send(c->rt, c->pid, rt_msg_new(GW_MSG_START));
}

static int conn_handle(rt_actor_t *self, rt_msg_t *m)
{
    gw_conn_t *c = rt_state(self);
    switch (m->type) {
    case GW_MSG_READ:
        return on_read_msg(self, c, m);
    case GW_MSG_WRITTEN:
        return on_written_msg(self, c, m);
    case GW_MSG_TICK:
        return on_tick(c);
    case GW_MSG_START:
        return on_start(c);
    case GW_MSG_CLOSE:
        return c->closing && c->writes == 0 ? RT_STOP : 0;
    default:
        return 0;
    }
}

static void conn_destroy(rt_actor_t *self, int reason)
{
    gw_conn_t *c = rt_state(self);
    (void)reason;
    if (c == NULL)
        return;
    req_free(c->req);
    for (size_t i = 0; i < c->in_n; i++)
        rt_buf_unref(c->in[(c->in_head + i) % IN_SLOTS]);
    free(c->pend_head);
    gw__http_destroy(&c->http);
    if (c->api_state != NULL && c->api->conn_free != NULL)
        c->api->conn_free(c->api_state);
    free(c);
}

static const rt_behaviour_t conn_beh = {
    .name = "gw_conn",
    .init = conn_init,
    .handle = conn_handle,
    .destroy = conn_destroy,
};

int gw__conn_spawn(rt_actor_t *listener, void *sock, const gw_api_t *api,
                   const gw_conf_t *conf, rt_pid_t *out)
{
    conn_arg_t a = {sock, api, conf, false};
    rt_spawn_opts_t o = {.sched = rt_actor_sched(listener)};
    int rc = rt_spawn(rt_actor_rt(listener), listener, &conn_beh, &a, &o, out);
    if (rc < 0 && !a.taken)
        gw__sock_close(sock);
    return rc;
}
