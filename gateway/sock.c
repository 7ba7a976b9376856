/*
 * sock.c - libuv callbacks of a client socket, turned into messages.
 *
 * With TLS the engine (tls.c) sits between the handle and the messages:
 * on_read_tls feeds it ciphertext and sends the plaintext on, and
 * gw__sock_write encrypts before the write. Everything runs on the
 * socket's scheduler thread, in libuv callbacks or the owner's handlers,
 * so the engine needs no lock; the callbacks still only send messages to
 * the owner and touch nothing but this struct (rt.h's rule).
 */
#include "gateway/sock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Plaintext encrypted per step of a write: the engine's output BIO never
 * holds more than this (plus record overhead) between drains. */
#define TLS_SLICE 65536

typedef struct {
    uv_write_t w;
    char *head;
    rt_buf_t *body;
    uint64_t notify;
    bool quiet; /* the socket's own bytes (TLS records): no message */
} wreq_t;

void *gw__xcalloc(size_t n, size_t size)
{
    return cleo_xcalloc(n, size);
}

char *gw__xstrndup(const char *s, size_t n)
{
    char *c = cleo_xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    gw_sock_t *s = h->data;
    (void)hint;
    *buf = uv_buf_init(NULL, 0);
    if (s->rbuf == NULL && rt_buf_new(GW_READ_BYTES, &s->rbuf) < 0)
        return; /* libuv reports UV_ENOBUFS to on_read */
    *buf = uv_buf_init(rt_buf_data(s->rbuf), GW_READ_BYTES);
}

static void send_error(gw_sock_t *s, int reason)
{
    rt_msg_t *m = rt_msg_new(GW_MSG_READ);
    m->reason = reason;
    (void)rt_send(s->rt, s->owner, m);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    gw_sock_t *s = st->data;
    (void)buf;
    if (nread == 0)
        return; /* EAGAIN: keep the buffer for the next read */
    if (nread < 0) {
        send_error(s, (int)nread);
        return;
    }
    /* libuv never reads past the buffer it was lent; if it ever did,
     * this callback runs outside any turn (no actor to crash), so the
     * owner is told as for a failed read and closes the connection. */
    int rc = rt_buf_set_len(s->rbuf, (size_t)nread);
    if (rc < 0) {
        send_error(s, rc);
        return;
    }
    rt_msg_t *m = rt_msg_new(GW_MSG_READ);
    rt_msg_set_buf(m, s->rbuf);
    s->rbuf = NULL;
    (void)rt_send(s->rt, s->owner, m);
}

static void on_written(uv_write_t *w, int status)
{
    wreq_t *q = (wreq_t *)w;
    gw_sock_t *s = w->handle->data;
    if (!q->quiet) {
        rt_msg_t *m = rt_msg_new(GW_MSG_WRITTEN);
        m->reason = status;
        m->arg = q->notify;
        (void)rt_send(s->rt, s->owner, m);
    }
    free(q->head);
    rt_buf_unref(q->body);
    free(q);
}

/* Bytes as they are onto the wire; on_written runs once unless this
 * fails (then head and body are released here). */
static int raw_write(gw_sock_t *s, char *head, size_t head_len, rt_buf_t *body,
                     uint64_t notify, bool quiet)
{
    wreq_t *q = gw__xcalloc(1, sizeof *q);
    uv_buf_t b[2];
    unsigned n = 0;
    q->head = head, q->body = body, q->notify = notify, q->quiet = quiet;
    if (head_len > 0)
        b[n++] = uv_buf_init(head, (unsigned)head_len);
    if (body != NULL && rt_buf_len(body) > 0)
        b[n++] = uv_buf_init(rt_buf_data(body), (unsigned)rt_buf_len(body));
    if (n == 0) { /* nothing to send: report it written at once */
        b[n++] = uv_buf_init((char *)"", 0);
    }
    int rc = uv_write(&q->w, (uv_stream_t *)&s->tcp, b, n, on_written);
    if (rc < 0) {
        free(q->head);
        rt_buf_unref(q->body);
        free(q);
    }
    return rc;
}

/* ---- TLS ------------------------------------------------------------- */

int gw__sock_tls_attach(gw_sock_t *s, struct ssl_ctx_st *ctx)
{
    rt_assert(s->tls == NULL); /* runs in the acceptor's turn */
    return rt_tls_new(ctx, true, &s->tls);
}

/* The engine's waiting ciphertext (handshake, session tickets, alerts,
 * close_notify) onto the wire, with no message to the owner. */
static void tls_flush(gw_sock_t *s)
{
    size_t n = rt_tls_pending(s->tls);
    if (n == 0)
        return;
    char *p = gw__xcalloc(1, n); /* bounded: no application data here */
    n = rt_tls_drain(s->tls, p, n);
    (void)raw_write(s, p, n, NULL, 0, true);
}

/* A plain HTTP request on the TLS port gets a plain answer before the
 * close, as nginx does, so a misconfigured client learns why. */
static void tls_refuse_http(gw_sock_t *s)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
        "BadRequest</Code><Message>This port speaks HTTPS only."
        "</Message></Error>";
    static const char fmt[] = "HTTP/1.1 400 Bad Request\r\n"
                              "Content-Type: application/xml\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n"
                              "\r\n%s";
    size_t cap = sizeof fmt + sizeof body + 32;
    char *p = gw__xcalloc(1, cap);
    int n = snprintf(p, cap, fmt, sizeof body - 1, body);
    (void)raw_write(s, p, (size_t)n, NULL, 0, true);
}

/* The plaintext collected so far, to the owner. */
static void plain_send(gw_sock_t *s)
{
    if (s->pbuf == NULL || rt_buf_len(s->pbuf) == 0)
        return;
    rt_msg_t *m = rt_msg_new(GW_MSG_READ);
    rt_msg_set_buf(m, s->pbuf);
    s->pbuf = NULL;
    (void)rt_send(s->rt, s->owner, m);
}

/* Decrypt all the engine can, in messages of at most GW_READ_BYTES.
 * @return 0 when it needs more ciphertext, or <0 (EOF, TLS failure). */
static ssize_t decrypt(gw_sock_t *s)
{
    for (;;) {
        if (s->pbuf == NULL && rt_buf_new(GW_READ_BYTES, &s->pbuf) < 0)
            return UV_ENOBUFS;
        size_t len = rt_buf_len(s->pbuf);
        ssize_t n = rt_tls_read(s->tls, rt_buf_data(s->pbuf) + len,
                                GW_READ_BYTES - len);
        if (n <= 0)
            return n;
        int rc = rt_buf_set_len(s->pbuf, len + (size_t)n);
        if (rc < 0) /* n <= the room it was given; no turn to crash here */
            return rc;
        if (len + (size_t)n == GW_READ_BYTES)
            plain_send(s);
    }
}

/* Ciphertext arrives: the handshake advances, plaintext goes to the
 * owner, and the engine's answers go out. A failure or close_notify
 * ends the read side with a GW_MSG_READ carrying the reason. The read
 * buffer stays with the socket: the engine copied its bytes. */
static void on_read_tls(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    gw_sock_t *s = st->data;
    (void)buf;
    if (nread == 0 || s->tls_over)
        return;
    ssize_t rc = nread;
    if (nread > 0) {
        rc = rt_tls_feed(s->tls, rt_buf_data(s->rbuf), (size_t)nread) < 0
                 ? UV_ENOBUFS
                 : decrypt(s);
        plain_send(s);
        if (rt_tls_is_http(s->tls))
            tls_refuse_http(s);
        else
            tls_flush(s);
    }
    if (rc < 0) {
        s->tls_over = true;
        (void)uv_read_stop(st);
        send_error(s, (int)rc);
    }
}

/* Ciphertext waiting in the engine, appended to o (grown as needed). */
typedef struct {
    char *p;
    size_t len, cap;
} obuf_t;

static int take(gw_sock_t *s, obuf_t *o)
{
    size_t n = rt_tls_pending(s->tls);
    if (o->len + n > o->cap) {
        size_t cap = o->len + n + o->cap / 8;
        char *p = realloc(o->p, cap);
        if (p == NULL)
            return UV_ENOBUFS;
        o->p = p, o->cap = cap;
    }
    o->len += rt_tls_drain(s->tls, o->p + o->len, n);
    return 0;
}

/* Encrypt n bytes into o, a slice at a time. */
static int seal(gw_sock_t *s, const char *p, size_t n, obuf_t *o)
{
    while (n > 0) {
        size_t k = n < TLS_SLICE ? n : TLS_SLICE;
        int rc = rt_tls_write(s->tls, p, k);
        if (rc < 0 || (rc = take(s, o)) < 0)
            return rc;
        p += k, n -= k;
    }
    return 0;
}

/* One write's plaintext becomes one buffer of ciphertext and one
 * uv_write, so its GW_MSG_WRITTEN still means "on the wire". */
static int tls_write(gw_sock_t *s, char *head, size_t head_len, rt_buf_t *body,
                     uint64_t notify)
{
    size_t blen = body != NULL ? rt_buf_len(body) : 0;
    size_t plain = head_len + blen;
    obuf_t o = {NULL, 0, plain + plain / 32 + 1024};
    int rc = (o.p = malloc(o.cap)) == NULL ? UV_ENOBUFS : 0;
    if (rc == 0)
        rc = seal(s, head, head_len, &o);
    if (rc == 0 && blen > 0)
        rc = seal(s, rt_buf_data(body), blen, &o);
    free(head);
    rt_buf_unref(body);
    if (rc < 0) {
        free(o.p);
        return rc;
    }
    return raw_write(s, o.p, o.len, NULL, notify, false);
}

/* ---- the API --------------------------------------------------------- */

int gw__sock_read_start(gw_sock_t *s)
{
    if (s->tls == NULL)
        return uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
    if (s->tls_over)
        return 0; /* the owner has (or will have) the ending message */
    return uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read_tls);
}

void gw__sock_read_stop(gw_sock_t *s)
{
    (void)uv_read_stop((uv_stream_t *)&s->tcp);
}

int gw__sock_write(gw_sock_t *s, char *head, size_t head_len, rt_buf_t *body,
                   uint64_t notify)
{
    if (s->tls != NULL)
        return tls_write(s, head, head_len, body, notify);
    return raw_write(s, head, head_len, body, notify, false);
}

static void on_closed(uv_handle_t *h)
{
    gw_sock_t *s = h->data;
    rt_tls_free(s->tls);
    rt_buf_unref(s->pbuf);
    rt_buf_unref(s->rbuf);
    free(s);
}

/* With TLS, a close_notify goes first: libuv tries a write at once when
 * nothing is queued (the owner closes once its writes are out), and
 * uv_close cancels it otherwise. */
void gw__sock_close(void *p)
{
    gw_sock_t *s = p;
    if (s->tls != NULL) {
        rt_tls_shutdown(s->tls);
        tls_flush(s);
    }
    uv_close((uv_handle_t *)&s->tcp, on_closed);
}
