/*
 * raft_transport.c - the raft_uv_transport that carries Raft over
 * distribution: raft_uv gets uv_pipe_t streams over socketpair()s whose
 * other ends the bridge actor holds (raft_bridge.c). A stream reaches raft
 * already "handshaken": the bridges checked, over the authenticated
 * distribution connection, which node is at the other end.
 *
 *  - connect(id, address): ask the bridge (RAFT_PRIV_CONNECT) to open a
 *    stream to that node's bridge; its answer (RAFT_PRIV_CONNECTED, via
 *    the actor) gives raft the stream or RAFT_NOCONNECTION. A deadline
 *    fails a connect whose answer never comes (a dead bridge), so raft's
 *    retry timer always gets its turn.
 *  - listen(cb): keep cb; each inbound stream the bridge accepted
 *    (RAFT_PRIV_ACCEPT) is handed to it with the peer's id and address.
 *  - close(cb): no more accepts; pending connects end with
 *    RAFT_CANCELED (raft_uv waits for each of them), then cb, deferred to
 *    the next loop pass (raft_node.c's on_check).
 *
 * All on the Raft thread.
 */
#include "manager/raft_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* raft_uv frees the streams it was given with raft_free after uv_close;
 * ours (a failed open) go the same way. */
static void pipe_freed(uv_handle_t *h)
{
    raft_free(h);
}

/* A raft_malloc'd pipe on the Raft loop over fd (taken).
 * @return the stream, or NULL (fd closed). */
static struct uv_stream_s *pipe_of(mgr__raft_node_t *n, int fd)
{
    uv_pipe_t *p = raft_malloc(sizeof *p);
    if (p == NULL) {
        (void)close(fd);
        return NULL;
    }
    (void)uv_pipe_init(&n->loop, p, 0);
    if (uv_pipe_open(p, fd) < 0) {
        (void)close(fd); /* not adopted by the handle */
        uv_close((uv_handle_t *)p, pipe_freed);
        return NULL;
    }
    return (struct uv_stream_s *)p;
}

/* ---- pending connects -------------------------------------------------- */

static void conn_freed(uv_handle_t *h)
{
    free(h->data);
}

/* Give raft the connect's outcome once and forget the connect. */
static void conn_end(mgr__raft_conn_t *c, struct uv_stream_s *stream,
                     int status)
{
    mgr__raft_node_t *n = c->node;
    mgr__raft_conn_t **pp = &n->conns;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_freed);
    c->cb(c->req, stream, status);
}

static void on_deadline(uv_timer_t *t)
{
    conn_end(t->data, NULL, RAFT_NOCONNECTION);
}

static void on_cancel(uv_timer_t *t)
{
    conn_end(t->data, NULL, RAFT_CANCELED);
}

static mgr__raft_conn_t *conn_find(mgr__raft_node_t *n, uint64_t cid)
{
    for (mgr__raft_conn_t *c = n->conns; c != NULL; c = c->next)
        if (c->cid == cid)
            return c;
    return NULL;
}

/* ---- the hooks raft_uv calls ------------------------------------------- */

static int t_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    (void)t, (void)id, (void)address;
    return 0;
}

static int t_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    mgr__raft_node_t *n = t->impl;
    n->accept_cb = cb;
    return 0;
}

static int t_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                     raft_id id, const char *address, raft_uv_connect_cb cb)
{
    mgr__raft_node_t *n = t->impl;
    (void)id;
    if (n->transport_closing || strlen(address) >= MGR_FSM_NODE_MAX)
        return RAFT_NOCONNECTION; /* raft retries after its delay */
    mgr__raft_conn_t *c = cleo_xcalloc(1, sizeof *c);
    c->node = n;
    c->cid = ++n->next_cid;
    c->req = req;
    c->cb = cb;
    (void)uv_timer_init(&n->loop, &c->timer);
    c->timer.data = c;
    c->next = n->conns;
    n->conns = c;
    mgr__raft_priv_t *p = mgr__raft_priv_new();
    p->id = c->cid;
    snprintf(p->node, sizeof p->node, "%s", address);
    int rc =
        rt_send(n->rt, n->bridge, mgr__raft_priv_msg(MGR_RAFT_PRIV_CONNECT, p));
    /* No bridge: fail at once, but never inside this call. */
    (void)uv_timer_start(&c->timer, on_deadline, rc < 0 ? 0 : n->connect_ms, 0);
    return 0;
}

static void t_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    mgr__raft_node_t *n = t->impl;
    n->transport_closing = true;
    n->accept_cb = NULL;
    n->transport_close_cb = cb;
    for (mgr__raft_conn_t *c = n->conns; c != NULL; c = c->next) {
        uv_timer_stop(&c->timer);
        (void)uv_timer_start(&c->timer, on_cancel, 0, 0);
    }
}

void mgr__raft_transport_init(mgr__raft_node_t *n)
{
    memset(&n->transport, 0, sizeof n->transport);
    n->transport.impl = n;
    n->transport.init = t_init;
    n->transport.listen = t_listen;
    n->transport.connect = t_connect;
    n->transport.close = t_close;
}

/* ---- the bridge's answers ---------------------------------------------- */

void mgr__raft_transport_accept(mgr__raft_node_t *n, mgr__raft_priv_t *p)
{
    if (n->accept_cb == NULL || n->transport_closing || p->fd < 0)
        return; /* the fd closes with p: the bridge sees EOF */
    int fd = p->fd;
    p->fd = -1;
    struct uv_stream_s *s = pipe_of(n, fd);
    if (s != NULL)
        n->accept_cb(&n->transport, mgr__raft_id(p->node), p->node, s);
}

void mgr__raft_transport_connected(mgr__raft_node_t *n, mgr__raft_priv_t *p)
{
    mgr__raft_conn_t *c = conn_find(n, p->id);
    if (c == NULL || n->transport_closing)
        return; /* timed out or cancelled: the fd closes with p */
    if (p->status < 0 || p->fd < 0) {
        conn_end(c, NULL, RAFT_NOCONNECTION);
        return;
    }
    int fd = p->fd;
    p->fd = -1;
    struct uv_stream_s *s = pipe_of(n, fd);
    conn_end(c, s, s != NULL ? 0 : RAFT_NOCONNECTION);
}
