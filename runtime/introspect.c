/*
 * introspect.c - the node's introspection server: one actor, pinned to a
 * scheduler, that owns a Unix listener (and optionally a loopback TCP
 * one) and every connection, and answers proto/introspect.proto frames.
 *
 * The sockets are bound by rt_introspect_start() on the caller's thread,
 * so bind errors come back to it; the actor then adopts them as libuv
 * handles on its scheduler's loop. Handle callbacks run outside the
 * actor's turn and only send it messages (ACCEPT, READ); everything else
 * happens in its handlers. A connection's memory is freed in its close
 * callback, after it has left the actor's list; a crash closes all of it
 * through the actor's resource destructor.
 */
#include "runtime/introspect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "runtime/pool.h"

#define READ_CHUNK 65536u
#define IN_MAX (2u * (RT__ISP_MAX_FRAME + RT__ISP_HDR)) /* buffered input */
#define WQ_MAX (8u << 20)   /* a client that reads slower is cut off */
#define WQ_TRACE (1u << 20) /* trace events beyond this are dropped */
#define FRAMES_PER_TURN 32u /* then continue with a message to self */

typedef union {
    uv_handle_t h;
    uv_stream_t s;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
} isp_handle_t;

typedef struct conn_s {
    isp_handle_t u; /* must stay first: freed through it */
    uv_shutdown_t sreq;
    uint64_t id;
    rt_t *rt;
    rt_pid_t owner;
    struct conn_s *next; /* the server's list, while attached */
    uint8_t *in;         /* buffered input, len of cap bytes */
    size_t len, cap;
    bool tcp, authed;
    bool busy;                           /* a TREE or TRACE is in flight */
    rt_pid_t tracer;                     /* RT_PID_NONE unless tracing */
    Cleo__Introspect__Response *pending; /* an INFO waiting for the
                                            actor's status; else NULL */
    uint64_t dropped;                    /* trace events not sent */
} conn_t;

typedef struct listener_s {
    isp_handle_t u;
    rt_t *rt;
    rt_pid_t owner;
    int which; /* 0 = unix, 1 = tcp */
} listener_t;

typedef struct isp_s {
    rt__isp_ctx_t ctx;
    char *path, *token, *top, *node;
    ino_t ino;  /* the socket file we made, to unlink only it */
    int fds[2]; /* listening sockets until START adopts them */
    listener_t *lis[2];
    conn_t *conns;
    uint64_t next_id;
    rt_pid_t parent;
} isp_t;

typedef struct wreq_s {
    uv_write_t req;
    uint8_t *buf;
} wreq_t;

/* ---- callbacks (outside the actor's turn: they only send) ---------- */

static void on_handle_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    rt__isp_resp_free(c->pending);
    free(c->in);
    free(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    listener_t *l = server->data;
    if (status < 0)
        return;
    /* The socket stays unaccepted (libuv stops polling) until the actor
     * calls uv_accept() on ACCEPT. */
    rt_msg_t *m = rt_msg_new(RT__ISP_ACCEPT);
    m->arg = (uint64_t)l->which;
    (void)rt_send(l->rt, l->owner, m);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    buf->base = malloc(READ_CHUNK);
    buf->len = buf->base != NULL ? READ_CHUNK : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (nread == 0) {
        free(buf->base);
        return;
    }
    rt_msg_t *m = rt_msg_new(RT__ISP_READ);
    m->arg = c->id;
    m->reason = (int32_t)nread; /* <= READ_CHUNK, or a UV_E* code */
    if (nread > 0) {
        m->payload = buf->base;
        m->payload_free = free;
    } else {
        free(buf->base);
    }
    (void)rt_send(c->rt, c->owner, m);
}

static void on_written(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    free(w->buf);
    free(w);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    uv_close((uv_handle_t *)req->handle, on_conn_closed);
}

/* ---- connections ---------------------------------------------------- */

static conn_t *conn_find(isp_t *s, uint64_t id)
{
    for (conn_t *c = s->conns; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* Take c off the list and close it: after a flush of what was written
 * when graceful, at once otherwise. c must not be used afterwards. */
static void conn_close(isp_t *s, conn_t *c, bool graceful)
{
    for (conn_t **p = &s->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (c->tracer != RT_PID_NONE)
        (void)rt_send(c->rt, c->tracer, rt_msg_new(RT__ISP_TRACER_EXIT));
    uv_read_stop(&c->u.s);
    if (graceful && uv_shutdown(&c->sreq, &c->u.s, on_shutdown) == 0)
        return;
    uv_close(&c->u.h, on_conn_closed);
}

/* Queue one response frame on c; frees r. @return 0 or an error. */
static int conn_send(conn_t *c, Cleo__Introspect__Response *r)
{
    uint8_t *b;
    size_t n;
    int rc = rt__isp_response_encode(r, &b, &n);
    rt__isp_resp_free(r);
    if (rc == CLEO_ELIMIT) {
        r = rt__isp_resp_error(rc, "response too large");
        rc = rt__isp_response_encode(r, &b, &n);
        rt__isp_resp_free(r);
    }
    if (rc < 0)
        return rc;
    wreq_t *w = cleo_xmalloc(sizeof *w);
    w->buf = b;
    uv_buf_t ub = uv_buf_init((char *)b, (unsigned)n);
    if ((rc = uv_write(&w->req, &c->u.s, &ub, 1, on_written)) < 0) {
        free(b);
        free(w);
        return rc;
    }
    return 0;
}

/* Answer with an error and close: the stream can no longer be trusted. */
static void conn_fail(isp_t *s, conn_t *c, int code, const char *what)
{
    (void)conn_send(c, rt__isp_resp_error(code, what));
    conn_close(s, c, true);
}

/* Send r; a client not reading its answers is cut off. */
static void conn_reply(isp_t *s, conn_t *c, Cleo__Introspect__Response *r)
{
    if (conn_send(c, r) < 0 || c->u.s.write_queue_size > WQ_MAX)
        conn_close(s, c, false);
}

/* ---- requests -------------------------------------------------------- */

static int start_tree(rt_actor_t *self, isp_t *s, conn_t *c)
{
    if (s->top == NULL)
        return CLEO_ENOTFOUND;
    rt__isp_tree_t *t = cleo_xcalloc(1, sizeof *t);
    t->rt = s->ctx.rt;
    t->conn = c->id;
    snprintf(t->top, sizeof t->top, "%s", s->top);
    int rc = rt_work_submit(self, rt__isp_tree_walk, t, rt__isp_tree_free,
                            RT__ISP_TREE_DONE);
    if (rc == 0)
        c->busy = true;
    return rc;
}

static int start_trace(rt_actor_t *self, isp_t *s, conn_t *c,
                       const Cleo__Introspect__Request *q)
{
    rt_pid_t pid;
    int rc = rt__isp_target_resolve(s->ctx.rt, q->target, &pid);
    if (rc < 0)
        return rc;
    uint32_t secs = q->seconds != 0 ? q->seconds : RT__ISP_TRACE_DEFAULT_S;
    if (secs > RT__ISP_TRACE_MAX_S)
        secs = RT__ISP_TRACE_MAX_S;
    if ((rc = rt__isp_tracer_start(self, c->id, pid, secs, &c->tracer)) < 0)
        return rc;
    c->busy = true;
    c->dropped = 0;
    return 0;
}

static void resume(rt_actor_t *self, isp_t *s, uint64_t id);

/* An ADMIN request's error: without an "admin" actor (a node without the
 * manager role, or one restarting) the commands are not available. */
static Cleo__Introspect__Response *admin_error(int code)
{
    if (code != CLEO_ENOTFOUND && code != CLEO_ENOPROC)
        return rt__isp_resp_error(code, "admin command");
    Cleo__Introspect__Response *r =
        rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__ERROR);
    r->code = CLEO_ENOTFOUND;
    r->error = rt__isp_strdup("admin commands: not available on this node");
    return r;
}

/* The admin actor's answer (or the call's failure) for connection id. */
static int on_admin_reply(rt_actor_t *self, rt_msg_t *reply, int status,
                          void *data)
{
    isp_t *s = rt_state(self);
    uint64_t id = (uint64_t)(uintptr_t)data;
    conn_t *c = conn_find(s, id);
    if (c == NULL)
        return 0; /* the client left meanwhile */
    const ProtobufCMessage *pb = reply != NULL ? reply->payload : NULL;
    Cleo__Introspect__Response *r;
    if (status < 0) {
        r = admin_error(status);
    } else if (pb == NULL || reply->payload_free == NULL ||
               pb->descriptor != &cleo__introspect__admin_reply__descriptor) {
        r = rt__isp_resp_error(CLEO_EPROTO, "admin reply");
    } else {
        r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__ADMIN);
        r->admin = reply->payload;
        reply->payload = NULL; /* the response's now */
    }
    c->busy = false;
    conn_reply(s, c, r);
    resume(self, s, id);
    return 0;
}

/* Relay an admin command to the registered "admin" actor: the runtime
 * only carries it (the manager role owns the commands). */
static int start_admin(rt_actor_t *self, isp_t *s, conn_t *c,
                       const Cleo__Introspect__Request *q)
{
    rt_pid_t pid = rt_whereis(s->ctx.rt, RT__ISP_ADMIN_NAME);
    if (pid == RT_PID_NONE)
        return CLEO_ENOTFOUND;
    if (q->admin == NULL || q->admin->n_argv == 0)
        return CLEO_EBADREQ;
    /* A deep copy through the wire format, so the message owns every
     * part (the request is freed when dispatch returns). */
    size_t n = cleo__introspect__admin_req__get_packed_size(q->admin);
    uint8_t *b = cleo_xmalloc(n ? n : 1);
    cleo__introspect__admin_req__pack(q->admin, b);
    Cleo__Introspect__AdminReq *copy =
        cleo__introspect__admin_req__unpack(NULL, n, b);
    free(b);
    if (copy == NULL)
        return CLEO_ENOMEM;
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, copy);
    int rc = rt_call(self, pid, m, RT__ISP_ADMIN_MS, on_admin_reply,
                     (void *)(uintptr_t)c->id);
    if (rc == 0)
        c->busy = true;
    return rc;
}

/* The actor's answer to INFO's status request, or the call's failure
 * (a timeout, its death): the INFO goes out either way. */
static int on_status_reply(rt_actor_t *self, rt_msg_t *reply, int status,
                           void *data)
{
    isp_t *s = rt_state(self);
    uint64_t id = (uint64_t)(uintptr_t)data;
    conn_t *c = conn_find(s, id);
    if (c == NULL || c->pending == NULL)
        return 0; /* the client left meanwhile */
    Cleo__Introspect__Response *r = c->pending;
    c->pending = NULL;
    if (status == 0)
        rt__isp_info_status(r, reply);
    c->busy = false;
    conn_reply(s, c, r);
    resume(self, s, id);
    return 0;
}

/* INFO: the runtime's facts, then the behaviour's own status
 * (RT_MSG_STATUS, OTP's sys:get_status), asked with a timeout so that a
 * busy or silent actor delays only this connection. @return the
 * response now, or NULL when it waits for the status. */
static Cleo__Introspect__Response *start_info(rt_actor_t *self, isp_t *s,
                                              conn_t *c, const char *target)
{
    Cleo__Introspect__Response *r = rt__isp_info(&s->ctx, target);
    rt_pid_t pid;
    if (r->kind != CLEO__INTROSPECT__RESPONSE__KIND__INFO || r->n_actor != 1 ||
        rt__isp_pid_parse(r->actor[0]->pid, &pid) < 0 || pid == rt_self(self))
        return r;
    if (rt_call(self, pid, rt_msg_new(RT_MSG_STATUS), RT__ISP_STATUS_MS,
                on_status_reply, (void *)(uintptr_t)c->id) < 0)
        return r;
    c->pending = r;
    c->busy = true;
    return NULL;
}

/* One request. @return false if c was closed. */
static bool dispatch(rt_actor_t *self, isp_t *s, conn_t *c,
                     const Cleo__Introspect__Request *q)
{
    const rt__isp_ctx_t *x = &s->ctx;
    Cleo__Introspect__Response *r = NULL;
    int rc = 0;
    if (c->tcp && !c->authed) {
        if (!rt__isp_token_eq(q->token, s->token)) {
            conn_fail(s, c, -EACCES, "token");
            return false;
        }
        c->authed = true;
    }
    switch (q->kind) { /* size: dispatch */
    case CLEO__INTROSPECT__REQUEST__KIND__STATUS:
        r = rt__isp_status(x);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__ACTORS:
        r = rt__isp_actors(x, q->sort, q->limit);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__INFO:
        r = start_info(self, s, c, q->target);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__KILL:
        r = rt__isp_kill(x, q->target, q->reason);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__STATS:
        r = rt__isp_stats(x);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__NODES:
        r = rt__isp_nodes(x);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__TREE:
        if ((rc = start_tree(self, s, c)) < 0)
            r = rt__isp_resp_error(rc, s->top != NULL ? s->top : "tree");
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__TRACE:
        if ((rc = start_trace(self, s, c, q)) < 0)
            r = rt__isp_resp_error(rc, q->target);
        break;
    case CLEO__INTROSPECT__REQUEST__KIND__ADMIN:
        if ((rc = start_admin(self, s, c, q)) < 0)
            r = admin_error(rc);
        break;
    default:
        r = rt__isp_resp_error(CLEO_EBADREQ, "request kind");
        break;
    }
    if (r == NULL)
        return true; /* answered later */
    conn_reply(s, c, r);
    return conn_find(s, c->id) == c;
}

/* Answer the whole frames buffered on c, a bounded number per turn. */
static void conn_pump(rt_actor_t *self, isp_t *s, conn_t *c)
{
    for (unsigned i = 0; !c->busy; i++) {
        size_t off, n;
        int rc = rt__isp_frame_peek(c->in, c->len, &off, &n);
        if (rc == 0)
            return;
        if (rc < 0) {
            conn_fail(s, c, rc, "frame");
            return;
        }
        if (i == FRAMES_PER_TURN) {
            rt_msg_t *m = rt_msg_new(RT__ISP_READ);
            m->arg = c->id;
            (void)rt_send(s->ctx.rt, rt_self(self), m);
            return;
        }
        Cleo__Introspect__Request *q;
        if ((rc = rt__isp_request_decode(c->in + off, n, &q)) < 0) {
            conn_fail(s, c, rc, "request");
            return;
        }
        c->len -= off + n;
        memmove(c->in, c->in + off + n, c->len);
        bool alive = dispatch(self, s, c, q);
        cleo__introspect__request__free_unpacked(q, NULL);
        if (!alive)
            return;
    }
}

/* Append bytes to c's input. @return 0, CLEO_ELIMIT, CLEO_ENOMEM. */
static int conn_append(conn_t *c, const void *p, size_t n)
{
    if (c->len + n > IN_MAX)
        return CLEO_ELIMIT;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : READ_CHUNK;
        while (cap < c->len + n)
            cap *= 2;
        uint8_t *b = realloc(c->in, cap);
        if (b == NULL)
            return CLEO_ENOMEM;
        c->in = b;
        c->cap = cap;
    }
    memcpy(c->in + c->len, p, n);
    c->len += n;
    return 0;
}

/* ---- handlers -------------------------------------------------------- */

static int on_read_msg(rt_actor_t *self, isp_t *s, rt_msg_t *m)
{
    conn_t *c = conn_find(s, m->arg);
    if (c == NULL)
        return 0; /* bytes for a connection already closed */
    if (m->reason < 0) {
        conn_close(s, c, false);
        return 0;
    }
    if (m->reason > 0) {
        int rc = conn_append(c, m->payload, (size_t)m->reason);
        if (rc < 0) {
            conn_fail(s, c, rc, "input");
            return 0;
        }
    }
    conn_pump(self, s, c);
    return 0;
}

static int on_accept(rt_actor_t *self, isp_t *s, int which)
{
    listener_t *l = s->lis[which & 1];
    if (l == NULL)
        return 0;
    conn_t *c = cleo_xcalloc(1, sizeof *c);
    c->rt = s->ctx.rt;
    c->owner = rt_self(self);
    c->id = ++s->next_id;
    c->tcp = which == 1;
    c->authed = !c->tcp;
    uv_loop_t *loop = rt_actor_loop(self);
    if (c->tcp)
        uv_tcp_init(loop, &c->u.tcp);
    else
        uv_pipe_init(loop, &c->u.pipe, 0);
    c->u.h.data = c;
    if (uv_accept(&l->u.s, &c->u.s) < 0 ||
        uv_read_start(&c->u.s, on_alloc, on_read) < 0) {
        uv_close(&c->u.h, on_conn_closed);
        return 0;
    }
    c->next = s->conns;
    s->conns = c;
    return 0;
}

/* Adopt a bound socket as a listening handle on the actor's loop. */
static int listener_open(rt_actor_t *self, isp_t *s, int which)
{
    uv_loop_t *loop = rt_actor_loop(self);
    listener_t *l = cleo_xcalloc(1, sizeof *l);
    l->rt = s->ctx.rt;
    l->owner = rt_self(self);
    l->which = which;
    int rc = which == 1 ? uv_tcp_init(loop, &l->u.tcp)
                        : uv_pipe_init(loop, &l->u.pipe, 0);
    if (rc < 0) {
        free(l);
        return rc;
    }
    l->u.h.data = l;
    s->lis[which] = l;
    rc = which == 1 ? uv_tcp_open(&l->u.tcp, s->fds[which])
                    : uv_pipe_open(&l->u.pipe, s->fds[which]);
    if (rc < 0)
        return rc; /* the fd stays ours and is closed on exit */
    s->fds[which] = -1;
    return uv_listen(&l->u.s, 64, on_connection);
}

static int on_start(rt_actor_t *self, isp_t *s)
{
    if (rt_actor_loop(self) == NULL)
        return CLEO_ESTATE;
    for (int i = 0; i < 2; i++) {
        int rc = s->fds[i] >= 0 ? listener_open(self, s, i) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int on_tree_done(isp_t *s, rt_msg_t *m)
{
    rt__isp_tree_t *t = m->payload;
    conn_t *c = conn_find(s, t->conn);
    if (c == NULL)
        return 0;
    Cleo__Introspect__Response *r;
    if (t->rc < 0 || t->root == NULL) {
        r = rt__isp_resp_error(t->rc < 0 ? t->rc : CLEO_EPROTO, t->top);
    } else {
        r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__TREE);
        r->root = t->root;
        t->root = NULL;
    }
    c->busy = false;
    conn_reply(s, c, r);
    return 1;
}

static int on_trace_ev(isp_t *s, rt_msg_t *m)
{
    conn_t *c = conn_find(s, m->arg);
    if (c == NULL || c->tracer != m->from)
        return 0;
    if (c->u.s.write_queue_size > WQ_TRACE) {
        c->dropped++;
        return 0;
    }
    Cleo__Introspect__Response *r =
        rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__TRACE_EVENT);
    r->event = m->payload;
    m->payload = NULL;
    conn_reply(s, c, r);
    return 0;
}

static int on_trace_end(isp_t *s, rt_msg_t *m)
{
    conn_t *c = conn_find(s, m->arg);
    if (c == NULL || c->tracer != m->from)
        return 0;
    Cleo__Introspect__Response *r =
        rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__TRACE_END);
    char b[32];
    r->dropped = c->dropped;
    r->target = rt__isp_strdup(rt_pid_fmt(m->ref, b, sizeof b));
    r->exit_reason = rt__isp_strdup(m->tag ? rt_reason_name(m->reason) : "");
    c->tracer = RT_PID_NONE;
    c->busy = false;
    conn_reply(s, c, r);
    return 1;
}

/* Resume a connection whose async request finished. */
static void resume(rt_actor_t *self, isp_t *s, uint64_t id)
{
    conn_t *c = conn_find(s, id);
    if (c != NULL)
        conn_pump(self, s, c);
}

static int isp_handle(rt_actor_t *self, rt_msg_t *m)
{
    isp_t *s = rt_state(self);
    switch (m->type) {
    case RT__ISP_START:
        return on_start(self, s);
    case RT__ISP_ACCEPT:
        return on_accept(self, s, (int)m->arg);
    case RT__ISP_READ:
        return on_read_msg(self, s, m);
    case RT__ISP_TREE_DONE:
        if (on_tree_done(s, m) > 0)
            resume(self, s, ((rt__isp_tree_t *)m->payload)->conn);
        return 0;
    case RT__ISP_TRACE_EV:
        return on_trace_ev(s, m);
    case RT__ISP_TRACE_END:
        if (on_trace_end(s, m) > 0)
            resume(self, s, m->arg);
        return 0;
    case RT_MSG_EXIT:
        /* Trapping exits only so a tracer's death is not ours; the
         * parent's exit signal is obeyed as OTP's children do. */
        if (m->from == s->parent && s->parent != RT_PID_NONE)
            return m->reason == RT_REASON_NORMAL ? RT_STOP : m->reason;
        return 0;
    }
    return 0;
}

/* ---- lifecycle -------------------------------------------------------- */

static void isp_free(isp_t *s)
{
    for (int i = 0; i < 2; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    for (size_t i = 0; i < s->ctx.nroles; i++)
        free(s->ctx.roles[i]);
    free(s->ctx.roles);
    free(s->path);
    free(s->token);
    free(s->top);
    free(s->node);
    free(s);
}

/* Remove the socket file if it is still the one we bound. */
static void unlink_ours(const isp_t *s)
{
    struct stat st;
    if (s->path != NULL && s->ino != 0 && stat(s->path, &st) == 0 &&
        st.st_ino == s->ino)
        (void)unlink(s->path);
}

/* The actor's resource destructor: runs on its scheduler when it dies. */
static void isp_release(void *p)
{
    isp_t *s = p;
    /* The file goes first, so a client racing a restart finds no socket
     * or the new one, never a listener about to close. */
    unlink_ours(s);
    for (int i = 0; i < 2; i++)
        if (s->lis[i] != NULL)
            uv_close(&s->lis[i]->u.h, on_handle_closed);
    while (s->conns != NULL)
        conn_close(s, s->conns, false);
    isp_free(s);
}

static int isp_init(rt_actor_t *self, void *arg)
{
    isp_t *s = arg;
    s->ctx.start_ms = rt_now_ms(rt_actor_rt(self));
    rt_set_state(self, s);
    rt_trap_exit(self, true);
    return rt_resource_add(self, isp_release, s, NULL);
}

static const rt_behaviour_t isp_beh = {
    .name = "introspect",
    .init = isp_init,
    .handle = isp_handle,
};

/* ---- start ------------------------------------------------------------ */

/* Bind the Unix socket: a stale socket file goes first, mode 0600.
 * @return a listening fd or -errno. */
static int bind_unix(const char *path, ino_t *ino)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A socket file nobody answers on is stale; a live one is not ours
     * to take over. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(fd);
            return -EADDRINUSE;
        }
        (void)unlink(path);
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        chmod(path, 0600) < 0 || listen(fd, 64) < 0 || stat(path, &st) < 0)
        goto fail;
    *ino = st.st_ino;
    return fd;
fail:;
    int rc = -errno;
    close(fd);
    return rc;
}

/* Bind 127.0.0.1:port. @return a listening fd or -errno. */
static int bind_tcp(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? rt__isp_strdup(s) : NULL;
}

/* Copy the options into a fresh server state. */
static isp_t *isp_new(rt_t *rt, const rt_introspect_opts_t *o)
{
    isp_t *s = cleo_xcalloc(1, sizeof *s);
    s->fds[0] = s->fds[1] = -1;
    s->ctx.rt = rt;
    s->path = rt__isp_strdup(o->path);
    s->token = dup_or_null(o->token);
    s->top = dup_or_null(o->top);
    s->node = rt__isp_strdup(o->node != NULL ? o->node : "cleo");
    s->ctx.node = s->node;
    size_t n = 0;
    while (o->roles != NULL && o->roles[n] != NULL)
        n++;
    s->ctx.roles = cleo_xcalloc(n + 1, sizeof *s->ctx.roles);
    for (size_t i = 0; i < n; i++)
        s->ctx.roles[i] = rt__isp_strdup(o->roles[i]);
    s->ctx.nroles = n;
    return s;
}

/* The last scheduler: the first ones take the unpinned actors' spill. */
static int pick_sched(rt_t *rt)
{
    rt_stats_t st;
    rt_stats(rt, &st);
    return st.schedulers > 1 ? (int)st.schedulers - 1 : 0;
}

int rt_introspect_start(rt_t *rt, rt_actor_t *self,
                        const rt_introspect_opts_t *opts, rt_pid_t *out)
{
    if (rt == NULL || opts == NULL || opts->path == NULL ||
        opts->path[0] == '\0' ||
        (opts->tcp_port != 0 && (opts->token == NULL || !opts->token[0])))
        return CLEO_EINVAL;
    isp_t *s = isp_new(rt, opts);
    int rc = bind_unix(s->path, &s->ino);
    if (rc < 0)
        goto fail;
    s->fds[0] = rc;
    if (opts->tcp_port != 0) {
        if ((rc = bind_tcp(opts->tcp_port)) < 0)
            goto fail;
        s->fds[1] = rc;
    }
    s->parent = self != NULL ? rt_self(self) : RT_PID_NONE;
    rt_spawn_opts_t so = {.flags = self != NULL ? RT_SPAWN_LINK : 0,
                          .name = "introspect",
                          .sched = pick_sched(rt)};
    rt_pid_t pid;
    if ((rc = rt_spawn(rt, self, &isp_beh, s, &so, &pid)) < 0)
        goto fail;
    /* From here the actor owns s; a failed START makes it exit. */
    if ((rc = rt_send(rt, pid, rt_msg_new(RT__ISP_START))) < 0)
        return rc;
    if (out != NULL)
        *out = pid;
    return 0;
fail:
    unlink_ours(s);
    isp_free(s);
    return rc;
}
