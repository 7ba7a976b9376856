/*
 * raft_bridge.c - the bridge actor (MGR_RAFT_BRIDGE_NAME): Raft's byte
 * streams between managers, carried as distribution messages.
 *
 * Each stream is a socketpair(): one end goes to the Raft thread (a
 * uv_pipe_t that raft_uv reads or writes), the other stays here as a
 * uv_pipe_t on this actor's scheduler loop. What raft writes is read here
 * and sent as numbered RAFT_CHUNKs to the peer manager's bridge, which
 * writes them into its own end. Raft's framing passes through untouched.
 *
 * Opening (raft on X connects to Y): X's bridge calls Y's bridge with
 * RAFT_OPEN {X, X's stream id}; Y's bridge checks that the call came over
 * the distribution connection of the node it names (so one authenticated
 * node cannot speak for another), makes the socketpair, hands raft its
 * end (RAFT_PRIV_ACCEPT) and answers with its own stream id; only then X
 * makes its socketpair and hands raft the other end (RAFT_PRIV_CONNECTED).
 *
 * A stream dies with its distribution connection, never outliving it: a
 * connection lost drops frames in flight, so chunks are numbered per
 * stream and a gap closes the stream; each side monitors the peer bridge,
 * so a lost connection or a dead peer bridge closes its streams; an end
 * raft closes (EOF here) closes the peer's end with RAFT_CLOSE. Raft then
 * sees EOF or a failed write and connects again.
 *
 * The uv callbacks run on this actor's scheduler outside its turns: they
 * touch only their stream's struct and send messages to this actor.
 */
#include "manager/raft_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BYTES 65536 /* a read, and so a chunk, at most */
#define SMALL_READ 4096  /* reads below this are copied to a fitting buffer */

typedef struct bstream_s {
    uv_pipe_t pipe; /* our end of the socketpair */
    struct bstream_s *next;
    /* for the callbacks (set at creation, read-only) */
    rt_t *rt;
    rt_pid_t owner; /* this bridge */
    uint64_t id;    /* ours */
    /* the handlers' */
    uint64_t peer_id; /* the peer bridge's id for the stream */
    rt_pid_t peer;    /* the peer bridge */
    rt_ref_t mon;     /* our monitor of it */
    uint64_t seq_out, seq_in;
    /* the callbacks' */
    rt_buf_t *rbuf; /* lent to libuv for the next read */
} bstream_t;

/* An OPEN call in flight (its continuation's data). */
typedef struct opening_s {
    struct opening_s *next;
    uint64_t cid; /* the Raft thread's connect */
    uint64_t id;  /* our id for the stream */
} opening_t;

typedef struct {
    rt_pid_t raft;
    char node[MGR_FSM_NODE_MAX + 1];
    uint32_t open_ms;
    uint64_t next_id;
    bstream_t *streams;
    opening_t *openings;
} bridge_t;

/* ---- the socket ends' callbacks ------------------------------------- */

static void stream_freed(uv_handle_t *h)
{
    bstream_t *s = h->data;
    rt_buf_unref(s->rbuf);
    free(s);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    bstream_t *s = h->data;
    (void)hint;
    *buf = uv_buf_init(NULL, 0);
    if (s->rbuf == NULL && rt_buf_new(READ_BYTES, &s->rbuf) < 0)
        return; /* libuv reports UV_ENOBUFS to on_read */
    *buf = uv_buf_init(rt_buf_data(s->rbuf), READ_BYTES);
}

static void tell_owner(bstream_t *s, uint32_t type, rt_buf_t *b, int status)
{
    mgr__raft_priv_t *p = mgr__raft_priv_new();
    p->id = s->id;
    p->buf = b;
    p->status = status;
    (void)rt_send(s->rt, s->owner, mgr__raft_priv_msg(type, p));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    bstream_t *s = st->data;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) { /* EOF: raft closed its end (or a read failed) */
        uv_read_stop(st);
        tell_owner(s, MGR_RAFT_PRIV_EOF, NULL, (int)nread);
        return;
    }
    rt_buf_t *b = NULL;
    if (nread < SMALL_READ && rt_buf_new((size_t)nread, &b) == 0) {
        memcpy(rt_buf_data(b), rt_buf_data(s->rbuf), (size_t)nread);
    } else {
        b = s->rbuf;
        s->rbuf = NULL;
    }
    if (rt_buf_set_len(b, (size_t)nread) < 0) { /* cannot be: nread <= cap */
        rt_buf_unref(b);
        uv_read_stop(st);
        tell_owner(s, MGR_RAFT_PRIV_EOF, NULL, CLEO_EINVAL);
        return;
    }
    tell_owner(s, MGR_RAFT_PRIV_READ, b, 0);
}

typedef struct {
    uv_write_t w;
    rt_buf_t *buf;
} wreq_t;

static void on_written(uv_write_t *w, int status)
{
    wreq_t *q = (wreq_t *)w;
    (void)status; /* a failed write: the read side sees EOF as well */
    rt_buf_unref(q->buf);
    free(q);
}

/* ---- the stream table --------------------------------------------------- */

static bstream_t *stream_find(bridge_t *b, uint64_t id)
{
    for (bstream_t *s = b->streams; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* Tell the bridge `to` that its stream `id` is gone. */
static void send_close(rt_actor_t *self, rt_pid_t to, uint64_t id)
{
    Cleo__Cluster__RaftClose *c = cleo_xmalloc(sizeof *c);
    cleo__cluster__raft_close__init(c);
    c->stream = id;
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_CLOSE);
    rt_msg_set_pb(m, c);
    (void)rt_send(rt_actor_rt(self), to, m);
}

/* Close a stream; tell the peer bridge unless it is gone. */
static void stream_kill(rt_actor_t *self, bridge_t *b, bstream_t *s, bool tell)
{
    bstream_t **pp = &b->streams;
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    if (tell) {
        send_close(self, s->peer, s->peer_id);
        (void)rt_demonitor(self, s->mon);
    }
    uv_close((uv_handle_t *)&s->pipe, stream_freed);
}

/* A new stream with the peer bridge: a socketpair whose one end this
 * actor reads and writes. @param id ours, 0 = a new one. @param other set
 * to the end for raft.
 * @return the stream, or NULL (no socket: nothing made). */
static bstream_t *stream_new(rt_actor_t *self, bridge_t *b, uint64_t id,
                             uint64_t peer_id, rt_pid_t peer, int *other)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return NULL;
    bstream_t *s = cleo_xcalloc(1, sizeof *s);
    s->rt = rt_actor_rt(self);
    s->owner = rt_self(self);
    s->id = id != 0 ? id : ++b->next_id;
    s->peer_id = peer_id;
    s->peer = peer;
    (void)uv_pipe_init(rt_actor_loop(self), &s->pipe, 0);
    s->pipe.data = s;
    if (uv_pipe_open(&s->pipe, sv[0]) < 0) {
        (void)close(sv[0]);
        (void)close(sv[1]);
        uv_close((uv_handle_t *)&s->pipe, stream_freed);
        return NULL;
    }
    if (uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read) < 0) {
        (void)close(sv[1]);
        uv_close((uv_handle_t *)&s->pipe, stream_freed);
        return NULL;
    }
    (void)rt_monitor(self, peer, &s->mon);
    s->next = b->streams;
    b->streams = s;
    *other = sv[1];
    return s;
}

/* ---- opening: this side ------------------------------------------------- */

static void tell_connected(rt_actor_t *self, bridge_t *b, uint64_t cid, int fd,
                           int status)
{
    mgr__raft_priv_t *p = mgr__raft_priv_new();
    p->id = cid;
    p->fd = fd;
    p->status = status;
    (void)rt_send(rt_actor_rt(self), b->raft,
                  mgr__raft_priv_msg(MGR_RAFT_PRIV_CONNECTED, p));
}

static int on_opened(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    bridge_t *b = rt_state(self);
    opening_t *o = data;
    opening_t **pp = &b->openings;
    while (*pp != o)
        pp = &(*pp)->next;
    *pp = o->next;
    const Cleo__Cluster__RaftOpen *r = NULL;
    if (status == 0 && (status = reply->reason) == 0 &&
        (r = mgr__raft_pb_of(reply, &cleo__cluster__raft_open__descriptor)) ==
            NULL)
        status = CLEO_EPROTO;
    int fd = -1;
    if (status == 0 &&
        stream_new(self, b, o->id, r->stream, reply->from, &fd) == NULL)
        status = CLEO_ENOMEM;
    tell_connected(self, b, o->cid, fd, status);
    free(o);
    return 0;
}

/* The Raft thread wants a stream to p->node's Raft. */
static int on_connect(rt_actor_t *self, bridge_t *b, mgr__raft_priv_t *p)
{
    rt_t *rt = rt_actor_rt(self);
    uint16_t node;
    rt_pid_t to = RT_PID_NONE;
    if (rt_dist_node(rt, p->node, &node) == 0)
        to = rt_dist_named(rt, node, MGR_RAFT_BRIDGE_NAME);
    if (to == RT_PID_NONE) {
        tell_connected(self, b, p->id, -1, CLEO_ENOCONNECTION);
        return 0;
    }
    Cleo__Cluster__RaftOpen *req = cleo_xmalloc(sizeof *req);
    cleo__cluster__raft_open__init(req);
    req->node = mgr__fsm_strdup(b->node);
    opening_t *o = cleo_xcalloc(1, sizeof *o);
    o->cid = p->id;
    o->id = req->stream = ++b->next_id;
    o->next = b->openings;
    b->openings = o;
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_OPEN);
    rt_msg_set_pb(m, req);
    if (rt_call(self, to, m, b->open_ms, on_opened, o) < 0) {
        b->openings = o->next;
        free(o);
        tell_connected(self, b, p->id, -1, CLEO_ENOCONNECTION);
    }
    return 0;
}

/* ---- opening: the other side -------------------------------------------- */

static void open_reply(rt_actor_t *self, rt_from_t from, int status,
                       uint64_t id)
{
    bridge_t *b = rt_state(self);
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_OPEN);
    m->reason = status;
    if (status == 0) {
        Cleo__Cluster__RaftOpen *r = cleo_xmalloc(sizeof *r);
        cleo__cluster__raft_open__init(r);
        r->node = mgr__fsm_strdup(b->node);
        r->stream = id;
        rt_msg_set_pb(m, r);
    }
    (void)rt_reply(rt_actor_rt(self), from, m);
}

/* Another manager's bridge opens a stream to our Raft. */
static int on_open(rt_actor_t *self, bridge_t *b, rt_msg_t *m)
{
    rt_t *rt = rt_actor_rt(self);
    rt_from_t from = rt_msg_caller(m);
    const Cleo__Cluster__RaftOpen *o =
        mgr__raft_pb_of(m, &cleo__cluster__raft_open__descriptor);
    uint16_t node;
    if (from.ref == 0)
        return 0;
    if (o == NULL || !mgr__fsm_node_is_valid(o->node)) {
        open_reply(self, from, CLEO_EBADREQ, 0);
        return 0;
    }
    /* The name must be the node at the other end of the connection. */
    if (rt_dist_node(rt, o->node, &node) < 0 || node != RT_PID_NODE(m->from)) {
        open_reply(self, from, CLEO_EINVAL, 0);
        return 0;
    }
    int fd;
    bstream_t *s = stream_new(self, b, 0, o->stream, m->from, &fd);
    if (s == NULL) {
        open_reply(self, from, CLEO_ENOMEM, 0);
        return 0;
    }
    mgr__raft_priv_t *p = mgr__raft_priv_new();
    p->fd = fd;
    snprintf(p->node, sizeof p->node, "%s", o->node);
    (void)rt_send(rt, b->raft, mgr__raft_priv_msg(MGR_RAFT_PRIV_ACCEPT, p));
    open_reply(self, from, 0, s->id);
    return 0;
}

/* ---- bytes both ways ---------------------------------------------------- */

/* Raft wrote: send the bytes to the peer bridge. */
static int on_bytes(rt_actor_t *self, bridge_t *b, mgr__raft_priv_t *p)
{
    bstream_t *s = stream_find(b, p->id);
    if (s == NULL)
        return 0; /* closed meanwhile */
    Cleo__Cluster__RaftChunk *c = cleo_xmalloc(sizeof *c);
    cleo__cluster__raft_chunk__init(c);
    c->stream = s->peer_id;
    c->seq = s->seq_out++;
    c->sender = s->id;
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_CHUNK);
    rt_msg_set_body(m, c, p->buf);
    p->buf = NULL;
    (void)rt_send(rt_actor_rt(self), s->peer, m);
    return 0;
}

/* The peer bridge sent bytes: write them into our end for raft. */
static int on_chunk(rt_actor_t *self, bridge_t *b, rt_msg_t *m)
{
    rt_body_t *body = rt_msg_body(m);
    const Cleo__Cluster__RaftChunk *c = NULL;
    if (body != NULL && body->buf != NULL && body->pb != NULL &&
        ((ProtobufCMessage *)body->pb)->descriptor ==
            &cleo__cluster__raft_chunk__descriptor)
        c = body->pb;
    if (c == NULL)
        return 0;
    bstream_t *s = stream_find(b, c->stream);
    if (s == NULL || s->peer != m->from) {
        /* Gone here (or never ours): the sender's end must go too, or
         * its raft would write into a stream that leads nowhere. */
        send_close(self, m->from, c->sender);
        return 0;
    }
    if (c->seq != s->seq_in) { /* frames were lost: the stream is broken */
        stream_kill(self, b, s, true);
        return 0;
    }
    s->seq_in++;
    wreq_t *q = cleo_xcalloc(1, sizeof *q);
    q->buf = rt_buf_ref(body->buf);
    uv_buf_t ub =
        uv_buf_init(rt_buf_data(q->buf), (unsigned)rt_buf_len(q->buf));
    if (uv_write(&q->w, (uv_stream_t *)&s->pipe, &ub, 1, on_written) < 0) {
        rt_buf_unref(q->buf);
        free(q);
        stream_kill(self, b, s, true);
    }
    return 0;
}

static int on_close(rt_actor_t *self, bridge_t *b, rt_msg_t *m)
{
    const Cleo__Cluster__RaftClose *c =
        mgr__raft_pb_of(m, &cleo__cluster__raft_close__descriptor);
    bstream_t *s = c != NULL ? stream_find(b, c->stream) : NULL;
    if (s != NULL && s->peer == m->from) {
        (void)rt_demonitor(self, s->mon);
        stream_kill(self, b, s, false);
    }
    return 0;
}

static int on_eof(rt_actor_t *self, bridge_t *b, mgr__raft_priv_t *p)
{
    bstream_t *s = stream_find(b, p->id);
    if (s != NULL)
        stream_kill(self, b, s, true);
    return 0;
}

/* A distribution connection was lost: frames in flight on it are gone,
 * so every stream with that node goes. (The monitors say so too, but a
 * monitor set up as the connection fell may have gone over the next
 * one.) No frame of a later connection is handled before this. */
static int on_nodedown(rt_actor_t *self, bridge_t *b, rt_msg_t *m)
{
    for (bstream_t *s = b->streams, *next; s != NULL; s = next) {
        next = s->next;
        if (RT_PID_NODE(s->peer) == (uint32_t)m->arg) {
            (void)rt_demonitor(self, s->mon);
            stream_kill(self, b, s, false);
        }
    }
    return 0;
}

/* The peer bridge died or its connection was lost. */
static int on_down(rt_actor_t *self, bridge_t *b, rt_msg_t *m)
{
    for (bstream_t *s = b->streams; s != NULL; s = s->next)
        if (s->mon == m->ref) {
            stream_kill(self, b, s, false);
            break;
        }
    return 0;
}

/* ---- the behaviour --------------------------------------------------------
 */

static int bridge_init(rt_actor_t *self, void *arg)
{
    const mgr__raft_bridge_arg_t *a = arg;
    bridge_t *b = cleo_xcalloc(1, sizeof *b);
    b->raft = a->raft;
    snprintf(b->node, sizeof b->node, "%s", a->node);
    b->open_ms = a->open_ms;
    rt_set_state(self, b);
    (void)rt_monitor_nodes(self, true); /* CLEO_ESTATE: no distribution */
    return 0;
}

static int bridge_handle(rt_actor_t *self, rt_msg_t *m)
{
    bridge_t *b = rt_state(self);
    mgr__raft_priv_t *p = mgr__raft_priv_of(m);
    switch (m->type) { /* size: dispatch */
    case MGR_RAFT_MSG_OPEN:
        return on_open(self, b, m);
    case MGR_RAFT_MSG_CHUNK:
        return on_chunk(self, b, m);
    case MGR_RAFT_MSG_CLOSE:
        return on_close(self, b, m);
    case RT_MSG_DOWN:
        return on_down(self, b, m);
    case RT_MSG_NODEDOWN:
        return on_nodedown(self, b, m);
    case MGR_RAFT_PRIV_CONNECT:
        return p != NULL ? on_connect(self, b, p) : 0;
    case MGR_RAFT_PRIV_READ:
        return p != NULL ? on_bytes(self, b, p) : 0;
    case MGR_RAFT_PRIV_EOF:
        return p != NULL ? on_eof(self, b, p) : 0;
    default:
        return 0;
    }
}

/* Close every end (raft sees EOF on its own); free the rest. */
static void bridge_destroy(rt_actor_t *self, int reason)
{
    bridge_t *b = rt_state(self);
    (void)reason;
    if (b == NULL)
        return;
    (void)rt_monitor_nodes(self, false);
    while (b->streams != NULL) {
        bstream_t *s = b->streams;
        b->streams = s->next;
        uv_close((uv_handle_t *)&s->pipe, stream_freed);
    }
    while (b->openings != NULL) {
        opening_t *o = b->openings;
        b->openings = o->next;
        free(o);
    }
    free(b);
}

const rt_behaviour_t mgr__raft_bridge_beh = {.name = "mgr_raft_bridge",
                                             .init = bridge_init,
                                             .handle = bridge_handle,
                                             .destroy = bridge_destroy};
