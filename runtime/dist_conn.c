/*
 * dist_conn.c - distribution's connections, on scheduler 0's libuv loop
 * (callbacks run on that thread between actor turns): it listens,
 * connects, runs the handshake (dist_hs.c), writes the frames senders
 * queued on node entries (dist.c) and decodes what peers send
 * (dist_frame.c) into local deliveries, so a message read for an actor
 * on that scheduler runs without a thread hop. It alone opens, reads and
 * closes sockets; senders write whole frames straight to an idle socket
 * (dist.c) or queue them, and reach it through entry locks and one
 * uv_async.
 *
 * Two connections to one peer (both sides connecting at once) are
 * settled when the acceptor learns the peer's name: the connection
 * opened by the node with the smaller name is kept, on both sides.
 *
 * With TLS (d->tls) the engine sits between the socket and all of the
 * above: the TLS handshake comes first, then the cookie handshake runs
 * inside it, bound to the session; every write is encrypted on this
 * loop (senders never write the socket themselves: the node's fd stays
 * -1), and every read is decrypted before the handshake or frame layer
 * sees it.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"

#define READ_BYTES (64u * 1024)
#define WQ_MAX (16u << 20) /* bytes in flight before a node's queue waits */

typedef struct rt__dconn_s {
    uv_tcp_t tcp; /* tcp.data = this */
    rt_dist_t *d;
    struct rt__dconn_s *next, *prev; /* d->conns */
    rt__dnode_t *node; /* outgoing: the node dialled; else once bound */
    bool outgoing, up, closing, checked, blocked;
    bool begun; /* the cookie handshake started (after TLS's, with TLS) */
    bool hot;   /* counted in scheduler 0's io_hot */
    rt_dist_hs_t hs;
    rt__dist_rx_t rx; /* frames in */
    uint8_t *rbuf;
    rt_tls_t *tls; /* NULL = plain TCP */
    uint8_t *pbuf; /* with TLS: decrypted bytes, READ_BYTES */
    uint64_t last_recv_ms, last_send_ms, born_ms;
    size_t wq_bytes;
    char addr[64]; /* peer ip:port */
} rt__dconn_t;

typedef struct {
    uv_write_t req;
    rt__dconn_t *c;
    rt__dchunk_t *chunks; /* freed when written */
    size_t bytes;
    uv_buf_t bufs[];
} wreq_t;

static void conn_close(rt__dconn_t *c, const char *why);
static void flush(rt__dconn_t *c);

/* ---- writing -------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    rt__dconn_t *c = w->c;
    c->wq_bytes -= w->bytes;
    rt__dchunk_free_all(w->chunks);
    free(w);
    if (status < 0) {
        conn_close(c, uv_strerror(status));
        return;
    }
    if (c->blocked && c->wq_bytes < WQ_MAX / 2) {
        c->blocked = false;
        flush(c);
    }
    if (c->wq_bytes == 0 && c->up && !c->closing) {
        /* Idle again: senders may write directly, after what queued
         * meanwhile goes out. */
        rt__dnode_t *n = c->node;
        pthread_mutex_lock(&n->lock);
        bool more = n->oq_head != NULL;
        n->wbusy = more;
        pthread_mutex_unlock(&n->lock);
        if (more)
            flush(c);
    }
}

/* Write a chunk list (taken) on c's socket as it is. */
static void write_raw(rt__dconn_t *c, rt__dchunk_t *q)
{
    uint32_t n = 0;
    size_t bytes = 0;
    for (rt__dchunk_t *k = q; k != NULL; k = k->next)
        n++;
    wreq_t *w = cleo_xmalloc(sizeof *w + n * sizeof(uv_buf_t));
    w->c = c;
    w->chunks = q;
    n = 0;
    for (rt__dchunk_t *k = q; k != NULL; k = k->next) {
        char *p = (char *)rt__dchunk_data(k);
        w->bufs[n++] = uv_buf_init(p, (unsigned)k->len);
        bytes += k->len;
    }
    w->bytes = bytes;
    c->wq_bytes += bytes;
    if (c->up && c->node != NULL) { /* senders queue behind this write */
        pthread_mutex_lock(&c->node->lock);
        c->node->wbusy = true;
        pthread_mutex_unlock(&c->node->lock);
    }
    c->last_send_ms = rt__dist_now_ms();
    if (c->node != NULL)
        atomic_fetch_add_explicit(&c->node->bytes_out, bytes,
                                  memory_order_relaxed);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, w->bufs, n, on_written);
    if (rc < 0) {
        c->wq_bytes -= bytes;
        rt__dchunk_free_all(q);
        free(w);
        conn_close(c, uv_strerror(rc));
    }
}

static rt__dchunk_t *chunk_new(size_t len)
{
    rt__dchunk_t *k = cleo_xmalloc(sizeof *k + len);
    k->next = NULL;
    k->buf = NULL;
    k->off = 0;
    k->len = len;
    k->cap = len;
    return k;
}

/* With TLS: write the ciphertext the engine has ready. */
static void tls_send(rt__dconn_t *c)
{
    size_t n = rt_tls_pending(c->tls);
    if (n == 0 || c->closing)
        return;
    rt__dchunk_t *k = chunk_new(n);
    k->len = rt_tls_drain(c->tls, (char *)k->bytes, n);
    write_raw(c, k);
}

/* Write a chunk list (taken) on c, through TLS when it has it. */
static void write_chunks(rt__dconn_t *c, rt__dchunk_t *q)
{
    if (c->tls == NULL) {
        write_raw(c, q);
        return;
    }
    int rc = 0;
    for (rt__dchunk_t *k = q; k != NULL && rc == 0; k = k->next)
        rc = rt_tls_write(c->tls, (const char *)rt__dchunk_data(k), k->len);
    rt__dchunk_free_all(q);
    if (rc < 0) {
        conn_close(c, "TLS write failed");
        return;
    }
    tls_send(c);
}

/* Write bytes (a copy) on c: the handshake's messages. */
static void write_copy(rt__dconn_t *c, const void *p, size_t len)
{
    rt__dchunk_t *k = chunk_new(len);
    memcpy(k->bytes, p, len);
    write_chunks(c, k);
}

/* Take c's node queue and write it, unless too much is in flight. */
static void flush(rt__dconn_t *c)
{
    rt__dnode_t *n = c->node;
    if (!c->up || c->closing || n == NULL)
        return;
    if (c->wq_bytes >= WQ_MAX) {
        c->blocked = true;
        return;
    }
    pthread_mutex_lock(&n->lock);
    rt__dchunk_t *q = n->oq_head;
    n->oq_head = n->oq_tail = NULL;
    n->oq_bytes = 0;
    n->wbusy |= q != NULL; /* before a sender can see the queue empty */
    pthread_mutex_unlock(&n->lock);
    if (q != NULL)
        write_chunks(c, q);
}

/* ---- closing -------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    rt__dconn_t *c = h->data;
    rt_dist_t *d = c->d;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    rt__dnode_t *n = c->node;
    if (c->hot)
        rt__sched_io_hot(d->rt, 0, -1);
    if (c->up) {
        rt__dist_on_down(d, n, true);
    } else if (c->outgoing && n != NULL) {
        /* A failed attempt: the node is unreachable unless another
         * connection to it is under way or up. */
        bool other = false;
        for (rt__dconn_t *o = d->conns; o != NULL && !other; o = o->next)
            other = o->node == n && !o->closing;
        pthread_mutex_lock(&n->lock);
        bool pending = n->state == RT__DN_PENDING;
        pthread_mutex_unlock(&n->lock);
        if (!other && pending)
            rt__dist_on_down(d, n, false);
    }
    rt__dist_hs_destroy(&c->hs);
    rt__dist_rx_destroy(&c->rx);
    atomic_fetch_sub(&d->handles, 1);
    rt_tls_free(c->tls);
    free(c->pbuf);
    free(c->rbuf);
    free(c);
}

static void conn_close(rt__dconn_t *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->node != NULL) { /* no sender may write to the fd once closed */
        pthread_mutex_lock(&c->node->lock);
        if (c->node->conn == c)
            c->node->fd = -1;
        pthread_mutex_unlock(&c->node->lock);
    }
    if (c->up && why != NULL)
        fprintf(stderr, "cleo: dist: connection to %s (%s) lost: %s\n",
                c->node->name, c->addr, why);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* ---- reading -------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    rt__dconn_t *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->rbuf, READ_BYTES);
}

/* A protocol error on an up connection: log, count, close. */
static void bad_frame(rt__dconn_t *c, const char *what)
{
    fprintf(stderr, "cleo: dist: bad frame from %s (%s): %s; closing\n",
            c->node ? c->node->name : "?", c->addr, what);
    atomic_fetch_add_explicit(&c->d->bad_frame, 1, memory_order_relaxed);
    conn_close(c, NULL);
}

/* Decode frames from p[0..n). @return -1 once c is closing. */
static int read_frames(rt__dconn_t *c, const uint8_t *p, size_t n)
{
    const char *why = NULL;
    if (rt__dist_rx_feed(&c->rx, c->node, p, n, &why) < 0) {
        bad_frame(c, why);
        return -1;
    }
    return 0;
}

/* ---- the handshake and binding -------------------------------------- */

/* Log a refused handshake; a wrong cookie once per peer address. */
static void hs_failed(rt__dconn_t *c)
{
    rt_dist_t *d = c->d;
    rt_dist_hs_why_t why = rt__dist_hs_why(&c->hs);
    const char *peer = rt__dist_hs_peer_name(&c->hs);
    if (why == RT_DIST_HS_BADCOOKIE || why == RT_DIST_HS_REFUSED_COOKIE) {
        atomic_fetch_add_explicit(&d->bad_cookie, 1, memory_order_relaxed);
        char host[64];
        snprintf(host, sizeof host, "%s", c->addr);
        char *colon = strrchr(host, ':');
        if (colon != NULL)
            *colon = '\0';
        uint32_t h = rt__dist_pb_hash(host);
        if (rt__map_get(&d->logged, h, NULL))
            return;
        rt__map_put(&d->logged, h, 1);
    } else {
        atomic_fetch_add_explicit(&d->bad_handshake, 1, memory_order_relaxed);
    }
    fprintf(stderr, "cleo: dist: handshake with %s (%s) refused: %s\n",
            peer ? peer : "?", c->addr, rt__dist_hs_why_str(why));
}

/* The acceptor knows the peer's name: settle two connections at once. */
static bool keep_incoming(rt__dconn_t *c)
{
    rt_dist_t *d = c->d;
    const char *peer = rt__dist_hs_peer_name(&c->hs);
    for (rt__dconn_t *o = d->conns; o != NULL; o = o->next) {
        if (o == c || o->closing || !o->outgoing || o->up ||
            strcmp(o->node->name, peer) != 0)
            continue;
        if (strcmp(d->name, peer) < 0)
            return false; /* ours wins: the peer keeps it too */
        o->node = NULL;   /* theirs wins: drop ours quietly */
        conn_close(o, NULL);
    }
    return true;
}

/* The handshake is done: bind c to the peer's entry and bring it up. */
static void hs_done(rt__dconn_t *c)
{
    rt_dist_t *d = c->d;
    const char *peer = rt__dist_hs_peer_name(&c->hs);
    if (c->outgoing && strcmp(peer, c->node->name) != 0) {
        fprintf(stderr, "cleo: dist: %s answered as %s; closing\n",
                c->node->name, peer);
        atomic_fetch_add_explicit(&d->bad_handshake, 1, memory_order_relaxed);
        conn_close(c, NULL);
        return;
    }
    rt__dnode_t *old;
    rt__dnode_t *n =
        rt__dist_bind(d, peer, rt__dist_hs_peer_creation(&c->hs), &old);
    if (n == NULL) {
        fprintf(stderr, "cleo: dist: node table full; refusing %s\n", peer);
        conn_close(c, NULL);
        return;
    }
    /* The peer restarted (old) or reconnected: it has given up what went
     * over the connection it had, so we do too, before the new one. */
    bool old_done = false;
    for (rt__dconn_t *o = d->conns; o != NULL; o = o->next) {
        if (o == c || !o->up || (o->node != n && o->node != old))
            continue;
        fprintf(stderr, "cleo: dist: %s reconnected; old connection closed\n",
                peer);
        o->up = false;
        old_done |= o->node == old;
        rt__dist_on_down(d, o->node, true);
        conn_close(o, NULL);
    }
    if (old != NULL && c->node == old)
        rt__dist_requeue_named(old, n); /* sends to {name, node} go on */
    if (old != NULL && !old_done)
        rt__dist_on_down(d, old, false);
    c->node = n;
    c->up = true;
    uv_os_fd_t fd = -1; /* with TLS only this loop writes */
    if (c->tls == NULL)
        (void)uv_fileno((uv_handle_t *)&c->tcp, &fd);
    pthread_mutex_lock(&n->lock);
    n->state = RT__DN_UP;
    n->conn = c;
    n->fd = fd;
    n->wbusy = c->wq_bytes > 0 || n->oq_head != NULL;
    n->retry_ms = 0;
    snprintf(n->addr, sizeof n->addr, "%s", c->addr);
    pthread_mutex_unlock(&n->lock);
    rt__sched_io_hot(d->rt, 0, 1);
    c->hot = true;
    rt__dist_on_up(d, n);
    flush(c);
}

/* Bytes before and at the end of the handshake. @return bytes consumed,
 * or -1 once c is closing. */
static ssize_t read_hs(rt__dconn_t *c, const uint8_t *p, size_t n)
{
    ssize_t k = rt__dist_hs_feed(&c->hs, p, n);
    size_t olen;
    const uint8_t *out = rt__dist_hs_output(&c->hs, &olen);
    if (olen > 0) {
        write_copy(c, out, olen);
        rt__dist_hs_consumed(&c->hs, olen);
    }
    if (k < 0) {
        hs_failed(c);
        conn_close(c, NULL);
        return -1;
    }
    if (!c->outgoing && !c->checked && rt__dist_hs_peer_name(&c->hs)) {
        c->checked = true;
        if (!keep_incoming(c)) {
            conn_close(c, NULL);
            return -1;
        }
    }
    if (rt__dist_hs_is_done(&c->hs))
        hs_done(c);
    return c->closing ? -1 : k;
}

/* Plain bytes from the peer: the cookie handshake's, then frames. */
static void on_plain(rt__dconn_t *c, const uint8_t *p, size_t n)
{
    if (!c->up) {
        ssize_t k = read_hs(c, p, n);
        if (k < 0 || !c->up)
            return;
        p += k;
        n -= (size_t)k;
    }
    atomic_store_explicit(&c->node->last_recv_ms, c->last_recv_ms,
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&c->node->bytes_in, (uint64_t)n,
                              memory_order_relaxed);
    (void)read_frames(c, p, n);
}

/* Start the cookie handshake (with TLS, once its handshake is done, and
 * bound to the session): queue our HELLO. @return 0 or < 0. */
static int hs_begin(rt__dconn_t *c)
{
    rt_dist_t *d = c->d;
    int rc = rt__dist_hs_init(
        &c->hs, c->outgoing ? RT_DIST_HS_INITIATOR : RT_DIST_HS_ACCEPTOR,
        d->name, d->creation, d->cookie, d->cookie_len);
    if (rc < 0)
        return rc;
    if (c->tls != NULL) {
        uint8_t b[RT_DIST_BIND_BYTES];
        if (rt_tls_export(c->tls, "EXPORTER-cleo-dist-v1", b, sizeof b) < 0)
            return CLEO_EPROTO;
        rt__dist_hs_bind(&c->hs, b);
    }
    c->begun = true;
    size_t olen;
    const uint8_t *out = rt__dist_hs_output(&c->hs, &olen);
    write_copy(c, out, olen);
    rt__dist_hs_consumed(&c->hs, olen);
    return 0;
}

/* TLS failed (a handshake refused, a bad record, an alert): say why,
 * count it, send the alert if any, close. */
static void tls_failed(rt__dconn_t *c)
{
    atomic_fetch_add_explicit(c->up ? &c->d->bad_frame : &c->d->bad_handshake,
                              1, memory_order_relaxed);
    fprintf(stderr, "cleo: dist: TLS with %s (%s) failed: %s; closing\n",
            c->node != NULL ? c->node->name : "?", c->addr, rt_tls_why(c->tls));
    tls_send(c);
    conn_close(c, NULL);
}

/* With TLS: ciphertext p[0..n) in (n = 0 to start a client's handshake);
 * plaintext out to on_plain. */
static void on_cipher(rt__dconn_t *c, const uint8_t *p, size_t n)
{
    if (rt_tls_feed(c->tls, (const char *)p, n) < 0) {
        conn_close(c, "out of memory");
        return;
    }
    for (;;) {
        ssize_t k = rt_tls_read(c->tls, (char *)c->pbuf, READ_BYTES);
        if (!c->begun && rt_tls_is_up(c->tls) && hs_begin(c) < 0) {
            conn_close(c, NULL);
            return;
        }
        if (k == UV_EOF) {
            conn_close(c, "closed by peer");
            return;
        }
        if (k < 0) {
            tls_failed(c);
            return;
        }
        if (k == 0)
            break;
        on_plain(c, c->pbuf, (size_t)k);
        if (c->closing)
            return;
    }
    tls_send(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rt__dconn_t *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        if (c->begun && !c->up && !rt__dist_hs_is_done(&c->hs) &&
            rt__dist_hs_eof(&c->hs) < 0 && !c->outgoing)
            hs_failed(c);
        conn_close(c, nread == UV_EOF ? "closed by peer"
                                      : uv_strerror((int)nread));
        return;
    }
    c->last_recv_ms = rt__dist_now_ms();
    if (c->tls != NULL)
        on_cipher(c, (const uint8_t *)buf->base, (size_t)nread);
    else
        on_plain(c, (const uint8_t *)buf->base, (size_t)nread);
}

/* ---- opening -------------------------------------------------------- */

static rt__dconn_t *conn_new(rt_dist_t *d, bool outgoing)
{
    rt__dconn_t *c = cleo_xcalloc(1, sizeof *c);
    c->d = d;
    c->outgoing = outgoing;
    c->rbuf = cleo_xmalloc(READ_BYTES);
    c->born_ms = c->last_recv_ms = rt__dist_now_ms();
    (void)uv_tcp_init(d->loop, &c->tcp);
    atomic_fetch_add(&d->handles, 1);
    c->tcp.data = c;
    (void)uv_tcp_nodelay(&c->tcp, 1);
    rt__dist_rx_init(&c->rx, d);
    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    return c;
}

/* Begin on a connected c: TLS's handshake first when configured, else
 * the cookie handshake. */
static void conn_begin(rt__dconn_t *c)
{
    rt_dist_t *d = c->d;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char ip[48] = "?";
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6)
            (void)uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
        else
            (void)uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
        snprintf(c->addr, sizeof c->addr, "%s:%u", ip,
                 ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    if (d->tls != NULL && rt_tls_new(d->tls, !c->outgoing, &c->tls) < 0) {
        conn_close(c, NULL);
        return;
    }
    if (c->tls != NULL)
        c->pbuf = cleo_xmalloc(READ_BYTES);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0 ||
        (c->tls == NULL && hs_begin(c) < 0)) {
        conn_close(c, NULL);
        return;
    }
    if (c->tls != NULL && c->outgoing)
        on_cipher(c, NULL, 0); /* the ClientHello */
}

static void on_connection(uv_stream_t *srv, int status)
{
    rt_dist_t *d = srv->data;
    if (status < 0)
        return;
    rt__dconn_t *c = conn_new(d, false);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c, NULL);
        return;
    }
    conn_begin(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    rt__dconn_t *c = req->data;
    free(req);
    if (c->closing)
        return;
    if (status < 0) {
        fprintf(stderr, "cleo: dist: cannot connect to %s: %s\n", c->node->name,
                uv_strerror(status));
        conn_close(c, NULL);
        return;
    }
    conn_begin(c);
}

/* Open a connection to n (it wants one). */
static void dial(rt_dist_t *d, rt__dnode_t *n)
{
    char host[RT_DIST_NAME_MAX + 1], port[8];
    pthread_mutex_lock(&n->lock);
    snprintf(host, sizeof host, "%s", n->host);
    snprintf(port, sizeof port, "%u", n->port);
    n->want_connect = false;
    pthread_mutex_unlock(&n->lock);
    rt__dconn_t *c = conn_new(d, true);
    c->node = n;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    uv_connect_t *req = cleo_xmalloc(sizeof *req);
    req->data = c;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL ||
        uv_tcp_connect(req, &c->tcp, ai->ai_addr, on_connect) < 0) {
        fprintf(stderr, "cleo: dist: cannot connect to %s at %s:%s\n", n->name,
                host, port);
        free(req);
        conn_close(c, NULL);
    }
    if (ai != NULL)
        freeaddrinfo(ai);
}

/* ---- the loop ------------------------------------------------------- */

/* Entries with queued frames or wanting a connection. */
static void on_wake(uv_async_t *a)
{
    rt_dist_t *d = a->data;
    uint32_t nwork;
    rt__dnode_t **work = rt__dist_take_work(d, &nwork);
    for (uint32_t i = 0; i < nwork; i++) {
        rt__dnode_t *n = work[i];
        pthread_mutex_lock(&n->lock);
        n->dirty = false;
        bool want = n->want_connect, drop = n->want_close;
        n->want_close = false;
        rt__dconn_t *c = n->state == RT__DN_UP ? n->conn : NULL;
        pthread_mutex_unlock(&n->lock);
        if (want && !atomic_load(&d->stopping))
            dial(d, n);
        if (c != NULL && drop)
            conn_close(c, "disconnected here");
        else if (c != NULL)
            flush(c);
    }
    free(work);
}

/* Every quarter tick: send a tick where nothing was sent, drop a peer
 * silent for a whole tick, and a handshake that takes as long. */
static void on_tick(uv_timer_t *t)
{
    rt_dist_t *d = t->data;
    uint64_t now = rt__dist_now_ms();
    static const rt__dist_hdr_t tick = {
        .kind = CLEO__DIST__FRAME_HEADER__KIND__TICK};
    for (rt__dconn_t *c = d->conns; c != NULL; c = c->next) {
        if (c->closing)
            continue;
        if (now - c->last_recv_ms >= d->tick_ms) {
            if (c->up)
                fprintf(stderr, "cleo: dist: %s (%s) silent for %u ms\n",
                        c->node->name, c->addr, d->tick_ms);
            conn_close(c, c->up ? "net tick timeout" : NULL);
            continue;
        }
        if (c->up && now - c->last_send_ms >= d->tick_ms / 4) {
            uint8_t b[32];
            size_t len = rt__dist_frame_pack(&tick, NULL, b);
            c->last_send_ms = now;
            rt__dist_send_raw(d, c->node, b, len); /* in frame order */
        }
    }
}

/* The handles distribution owns on the scheduler's loop: closing one
 * counts down (rt__dist_conn_stop waits for zero). */
static void on_handle_closed(uv_handle_t *h)
{
    rt_dist_t *d = h->data;
    atomic_fetch_sub(&d->handles, 1);
}

typedef struct {
    rt_dist_t *d;
    struct sockaddr_storage ss;
    int rc;
} start_t;

/* On scheduler 0's thread: the listener, the wake-up and the ticker. */
static void start_on_loop(void *arg)
{
    start_t *st = arg;
    rt_dist_t *d = st->d;
    uv_tcp_init(d->loop, &d->listener);
    d->listener.data = d;
    atomic_store(&d->handles, 1);
    st->rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&st->ss, 0);
    if (st->rc == 0)
        st->rc = uv_listen((uv_stream_t *)&d->listener, 128, on_connection);
    if (st->rc < 0) {
        uv_close((uv_handle_t *)&d->listener, on_handle_closed);
        return;
    }
    int sl = sizeof st->ss;
    (void)uv_tcp_getsockname(&d->listener, (struct sockaddr *)&st->ss, &sl);
    d->port = ntohs(((struct sockaddr_in *)&st->ss)->sin_port);
    uv_async_init(d->loop, &d->wake, on_wake);
    d->wake.data = d;
    uv_timer_init(d->loop, &d->ticker);
    d->ticker.data = d;
    atomic_store(&d->handles, 3);
    uint32_t q = d->tick_ms / 4 ? d->tick_ms / 4 : 1;
    uv_timer_start(&d->ticker, on_tick, q, q);
}

static void nothing(void *arg)
{
    (void)arg;
}

/* Let scheduler 0's loop run until every handle of d is closed. */
static void wait_closed(rt_dist_t *d)
{
    while (atomic_load(&d->handles) > 0) {
        rt__sched_call(d->rt, 0, nothing, NULL);
        if (atomic_load(&d->handles) > 0)
            uv_sleep(1);
    }
}

int rt__dist_conn_start(rt_dist_t *d, const char *address, uint16_t port)
{
    start_t st = {.d = d};
    int rc = uv_ip4_addr(address, port, (struct sockaddr_in *)&st.ss);
    if (rc < 0)
        rc = uv_ip6_addr(address, port, (struct sockaddr_in6 *)&st.ss);
    if (rc < 0)
        return CLEO_EINVAL;
    d->loop = rt__sched_loop(d->rt, 0);
    rt__sched_call(d->rt, 0, start_on_loop, &st);
    if (st.rc < 0) {
        wait_closed(d);
        return st.rc;
    }
    d->running = true;
    return 0;
}

void rt__dist_conn_kick(rt_dist_t *d)
{
    if (d->running) /* else the simulated network takes the work */
        (void)uv_async_send(&d->wake);
}

/* On scheduler 0's thread: write what is queued, then close everything
 * (quietly: no NODEDOWN into a runtime that is stopping). */
static void stop_on_loop(void *arg)
{
    rt_dist_t *d = arg;
    on_wake(&d->wake);
    for (rt__dconn_t *c = d->conns; c != NULL; c = c->next) {
        c->up = false;
        conn_close(c, NULL);
    }
    uv_close((uv_handle_t *)&d->listener, on_handle_closed);
    uv_close((uv_handle_t *)&d->wake, on_handle_closed);
    uv_close((uv_handle_t *)&d->ticker, on_handle_closed);
}

void rt__dist_conn_stop(rt_dist_t *d)
{
    if (!d->running)
        return;
    d->running = false;
    atomic_store(&d->stopping, 1);
    rt__sched_call(d->rt, 0, stop_on_loop, d);
    wait_closed(d);
}
