/*
 * dist.c - the node table, routing to remote pids, and the bookkeeping
 * of a lost connection (see dist.h). Sockets live in dist_conn.c.
 */
#include "runtime/dist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <openssl/rand.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"

static rt_dist_t *dist_of(rt_t *rt)
{
    return atomic_load_explicit(&rt->dist, memory_order_acquire);
}

uint64_t rt__dist_clock(rt_dist_t *d)
{
    return d->rt->opts.deterministic ? rt_now_ms(d->rt) : rt__dist_now_ms();
}

uint64_t rt__dist_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

rt__dnode_t *rt__dist_node_get(rt_dist_t *d, uint32_t idx)
{
    if (d == NULL || idx >= RT__DIST_MAX_NODES)
        return NULL;
    return atomic_load_explicit(&d->nodes[idx], memory_order_acquire);
}

/* The entry of n's name with the newest creation. */
static rt__dnode_t *newest(rt_dist_t *d, rt__dnode_t *n)
{
    uint16_t nx;
    while ((nx = atomic_load_explicit(&n->newer, memory_order_acquire)) != 0)
        n = rt__dist_node_get(d, nx);
    return n;
}

bool rt__dist_is_remote(rt_t *rt, rt_pid_t pid)
{
    rt_dist_t *d = dist_of(rt);
    return d != NULL && pid != RT_PID_NONE &&
           RT_PID_NODE(pid) != rt->opts.node &&
           rt__dist_node_get(d, RT_PID_NODE(pid)) != NULL;
}

bool rt__dist_on_node(rt_t *rt, rt_pid_t pid, uint32_t idx)
{
    rt_dist_t *d = dist_of(rt);
    rt__dnode_t *n;
    if (d == NULL || pid == RT_PID_NONE || RT_PID_NODE(pid) == rt->opts.node)
        return false;
    if (RT_PID_NODE(pid) == idx)
        return true;
    n = rt__dist_node_get(d, RT_PID_NODE(pid));
    return RT_PID_GEN(pid) == 0 && n != NULL && newest(d, n)->idx == idx;
}

/* ---- the table ------------------------------------------------------ */

/* A new entry at the next free index (d->lock held). */
static rt__dnode_t *node_new_locked(rt_dist_t *d, const char *name)
{
    uint32_t idx = d->nnodes;
    if (idx == d->rt->opts.node)
        idx++;
    if (idx >= RT__DIST_MAX_NODES)
        return NULL;
    rt__dnode_t *n = cleo_xcalloc(1, sizeof *n);
    pthread_mutex_init(&n->lock, NULL);
    n->fd = -1;
    n->idx = (uint16_t)idx;
    snprintf(n->name, sizeof n->name, "%s", name);
    d->nnodes = idx + 1;
    atomic_store_explicit(&d->nodes[idx], n, memory_order_release);
    return n;
}

/* The newest entry of name (d->lock held), or NULL. */
static rt__dnode_t *find_locked(rt_dist_t *d, const char *name)
{
    for (uint32_t i = 1; i < d->nnodes; i++) {
        rt__dnode_t *n = rt__dist_node_get(d, i);
        if (n != NULL && strcmp(n->name, name) == 0)
            return newest(d, n);
    }
    return NULL;
}

rt__dnode_t *rt__dist_find(rt_dist_t *d, const char *name)
{
    pthread_mutex_lock(&d->lock);
    rt__dnode_t *n = find_locked(d, name);
    pthread_mutex_unlock(&d->lock);
    return n;
}

rt__dnode_t *rt__dist_declare(rt_dist_t *d, const char *name)
{
    pthread_mutex_lock(&d->lock);
    rt__dnode_t *n = find_locked(d, name);
    if (n == NULL)
        n = node_new_locked(d, name);
    pthread_mutex_unlock(&d->lock);
    return n;
}

rt__dnode_t *rt__dist_bind(rt_dist_t *d, const char *name, uint32_t creation,
                           rt__dnode_t **old)
{
    *old = NULL;
    pthread_mutex_lock(&d->lock);
    rt__dnode_t *n = find_locked(d, name);
    if (n != NULL && (n->creation == 0 || n->creation == creation)) {
        n->creation = creation;
        pthread_mutex_unlock(&d->lock);
        return n;
    }
    rt__dnode_t *fresh = node_new_locked(d, name);
    if (fresh != NULL) {
        fresh->creation = creation;
        if (n != NULL) {
            pthread_mutex_lock(&n->lock);
            snprintf(fresh->host, sizeof fresh->host, "%s", n->host);
            fresh->port = n->port;
            pthread_mutex_unlock(&n->lock);
            atomic_store_explicit(&n->newer, fresh->idx, memory_order_release);
            *old = n;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return fresh;
}

const char *rt__dist_name_of(rt_dist_t *d, uint32_t slot)
{
    const char *s = NULL;
    pthread_mutex_lock(&d->lock);
    if (slot >= 1 && slot <= d->nnames)
        s = d->names[slot - 1];
    pthread_mutex_unlock(&d->lock);
    return s;
}

/* ---- sending -------------------------------------------------------- */

/* A local pid taking part in a link, monitor or call with node n: it is
 * told if the connection goes (entry lock held). Dead pids are pruned
 * when the set doubles. */
static void rel_add(rt_t *rt, rt__dnode_t *n, rt_pid_t pid)
{
    if (pid == RT_PID_NONE || RT_PID_NODE(pid) != rt->opts.node ||
        rt__map_get(&n->rel, pid, NULL))
        return;
    if (n->rel.n >= 1024 && n->rel.n + 1 >= n->rel.cap / 2) {
        rt_pid_t dead[64];
        uint32_t nd = 0;
        for (uint32_t i = 0; i < n->rel.cap && nd < 64; i++)
            if (n->rel.e[i].key != 0 && !rt_is_alive(rt, n->rel.e[i].key))
                dead[nd++] = n->rel.e[i].key;
        for (uint32_t i = 0; i < nd; i++)
            (void)rt__map_del(&n->rel, dead[i], NULL);
    }
    rt__map_put(&n->rel, pid, 0);
}

/* Does m set up something that a lost connection must undo? */
static bool is_relation(const rt_msg_t *m)
{
    return m->type == RT__SYS_LINK || m->type == RT__SYS_MONITOR ||
           (m->_sys & RT__F_CALL);
}

/* The frame kind for m (see signal.c and call.c for what each is). */
static uint32_t kind_of(const rt_msg_t *m)
{
    if (m->_sys & RT__F_REPLY)
        return CLEO__DIST__FRAME_HEADER__KIND__REPLY;
    if (m->_sys & RT__F_CALL)
        return CLEO__DIST__FRAME_HEADER__KIND__CALL;
    switch (m->type) { /* size: dispatch */
    case RT_MSG_EXIT:
        return (m->_sys & RT__F_LINK)
                   ? CLEO__DIST__FRAME_HEADER__KIND__LINK_EXIT
                   : CLEO__DIST__FRAME_HEADER__KIND__SIGNAL_EXIT;
    case RT__SYS_LINK:
        return CLEO__DIST__FRAME_HEADER__KIND__LINK;
    case RT__SYS_UNLINK:
        return CLEO__DIST__FRAME_HEADER__KIND__UNLINK;
    case RT__SYS_MONITOR:
        return CLEO__DIST__FRAME_HEADER__KIND__MONITOR;
    case RT__SYS_DEMONITOR:
        return CLEO__DIST__FRAME_HEADER__KIND__DEMONITOR;
    case RT_MSG_DOWN:
        return CLEO__DIST__FRAME_HEADER__KIND__DOWN;
    case RT__SYS_CALL_FAIL:
        return CLEO__DIST__FRAME_HEADER__KIND__CALL_FAIL;
    case RT__SYS_REPLIED:
        return CLEO__DIST__FRAME_HEADER__KIND__REPLIED;
    default:
        return CLEO__DIST__FRAME_HEADER__KIND__MSG;
    }
}

/* A pid as the peer n reads it: node 0 = the sender (us), 1 = the
 * receiver (n); a third node's pid cannot be named and goes as 0. */
static uint64_t pid_out(rt_t *rt, rt__dnode_t *n, rt_pid_t pid)
{
    if (pid == RT_PID_NONE)
        return 0;
    if (RT_PID_NODE(pid) == rt->opts.node)
        return RT_PID_MAKE(0, RT_PID_GEN(pid), RT_PID_SLOT(pid));
    if (rt__dist_on_node(rt, pid, n->idx) && RT_PID_GEN(pid) != 0)
        return RT_PID_MAKE(1, RT_PID_GEN(pid), RT_PID_SLOT(pid));
    return 0;
}

/* A pid from peer n as ours; 0 if it names neither side. */
static rt_pid_t pid_in(rt_t *rt, rt__dnode_t *n, uint64_t w)
{
    if (w == 0 || RT_PID_GEN(w) == 0 || RT_PID_NODE(w) > 1)
        return RT_PID_NONE;
    return RT_PID_MAKE(RT_PID_NODE(w) == 0 ? n->idx : rt->opts.node,
                       RT_PID_GEN(w), RT_PID_SLOT(w));
}

uint32_t rt__dist_pb_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h != 0 ? h : 1;
}

void rt__dchunk_free_all(rt__dchunk_t *c)
{
    while (c != NULL) {
        rt__dchunk_t *nx = c->next;
        rt_buf_unref(c->buf);
        free(c);
        c = nx;
    }
}

/* Append a frame's a[0..al) and its copied body b[0..bl) to n's queue,
 * together in one chunk, so that a queue can be walked frame by frame
 * (requeue_named) (entry lock held). */
static void oq_put(rt__dnode_t *n, const void *a, size_t al, const void *b,
                   size_t bl)
{
    size_t len = al + bl;
    rt__dchunk_t *t = n->oq_tail;
    if (t == NULL || t->buf != NULL || t->cap - t->off - t->len < len) {
        size_t cap = len > RT__DCHUNK_BYTES ? len : RT__DCHUNK_BYTES;
        t = cleo_xmalloc(sizeof *t + cap);
        t->next = NULL;
        t->buf = NULL;
        t->off = 0;
        t->len = 0;
        t->cap = cap;
        if (n->oq_tail != NULL)
            n->oq_tail->next = t;
        else
            n->oq_head = t;
        n->oq_tail = t;
    }
    memcpy(t->bytes + t->off + t->len, a, al);
    if (bl > 0)
        memcpy(t->bytes + t->off + t->len + al, b, bl);
    t->len += len;
    n->oq_bytes += len;
}

/* Append a referenced body (entry lock held). Takes one reference. */
static void oq_ref(rt__dnode_t *n, rt_buf_t *b, size_t off)
{
    rt__dchunk_t *t = cleo_xmalloc(sizeof *t);
    t->next = NULL;
    t->buf = b;
    t->off = off;
    t->len = rt_buf_len(b) - off;
    t->cap = 0;
    if (n->oq_tail != NULL)
        n->oq_tail->next = t;
    else
        n->oq_head = t;
    n->oq_tail = t;
    n->oq_bytes += t->len;
}

/* m's payload as a record and bytes, either or both NULL. @return 0, or
 * -1 for a payload the wire cannot carry. */
static int payload_parts(const rt_msg_t *m, const ProtobufCMessage **pb,
                         rt_buf_t **b)
{
    *pb = NULL;
    *b = NULL;
    switch (rt__msg_payload_kind(m)) {
    case RT__PAYLOAD_NONE:
        return 0;
    case RT__PAYLOAD_PB:
        *pb = m->payload;
        return 0;
    case RT__PAYLOAD_BUF:
        *b = m->payload;
        return 0;
    case RT__PAYLOAD_BODY:
        *pb = rt_msg_body(m)->pb;
        *b = rt_msg_body(m)->buf;
        return 0;
    default:
        return -1;
    }
}

/* Encode m's frame for n into *out (a malloc'd buffer, or stack when it
 * fits). @return 0; CLEO_EINVAL (payload cannot be packed); CLEO_ELIMIT. */
static int encode(rt_dist_t *d, rt__dnode_t *n, rt_pid_t to, const rt_msg_t *m,
                  uint8_t *stack, size_t stack_len, uint8_t **out, size_t *len)
{
    rt__dist_hdr_t h = {
        .kind = kind_of(m),
        .to = pid_out(d->rt, n, to),
        .from = pid_out(d->rt, n, m->from),
        .type = m->type,
        .ref = m->ref,
        .reason = m->reason,
        .tag = m->tag,
    };
    const ProtobufCMessage *pb;
    rt_buf_t *b;
    if (payload_parts(m, &pb, &b) < 0)
        return CLEO_EINVAL;
    if (pb != NULL)
        h.pb = rt__dist_pb_hash(pb->descriptor->name);
    if (b != NULL) {
        h.body = true;
        h.body_len = rt_buf_len(b);
    }
    if (RT_PID_GEN(to) == 0) {
        const char *nm = rt__dist_name_of(d, RT_PID_SLOT(to));
        if (nm == NULL)
            return CLEO_EINVAL;
        snprintf(h.to_name, sizeof h.to_name, "%s", nm);
    }
    size_t sz;
    int rc = rt__dist_frame_size(&h, pb, d->max_frame, &sz);
    if (rc < 0)
        return rc;
    uint8_t *p = sz <= stack_len ? stack : malloc(sz);
    if (p == NULL)
        return CLEO_ENOMEM;
    *len = rt__dist_frame_pack(&h, pb, p);
    *out = p;
    return 0;
}

rt__dnode_t **rt__dist_take_work(rt_dist_t *d, uint32_t *n)
{
    pthread_mutex_lock(&d->lock);
    rt__dnode_t **w = d->work;
    *n = d->nwork;
    d->work = NULL;
    d->nwork = d->capwork = 0;
    pthread_mutex_unlock(&d->lock);
    return w;
}

void rt__dist_work_unlock(rt_dist_t *d, rt__dnode_t *n)
{
    bool kick = !n->dirty;
    n->dirty = true;
    pthread_mutex_unlock(&n->lock);
    if (kick) {
        pthread_mutex_lock(&d->lock);
        rt__vec_push((void **)&d->work, &d->nwork, &d->capwork, sizeof n, &n);
        pthread_mutex_unlock(&d->lock);
        rt__dist_conn_kick(d);
    }
}

/* Can n take frames now? An idle node with an address starts connecting
 * (unless a connect failed within the last second); a pid of a restarted
 * node's old creation never can (entry lock held). */
static bool reachable_locked(rt_dist_t *d, rt__dnode_t *n)
{
    if (n->state == RT__DN_DEAD ||
        atomic_load_explicit(&n->newer, memory_order_relaxed) != 0)
        return false;
    if (n->state != RT__DN_IDLE)
        return true;
    if (n->port == 0 || (n->retry_ms != 0 && rt__dist_clock(d) < n->retry_ms))
        return false;
    n->state = RT__DN_PENDING;
    n->want_connect = true;
    return true;
}

const uint8_t *rt__dchunk_data(const rt__dchunk_t *k)
{
    return (k->buf ? (const uint8_t *)rt_buf_data(k->buf) : k->bytes) + k->off;
}

/* Drop the first `sent` bytes of n's queue (entry lock held). */
static void oq_consume(rt__dnode_t *n, size_t sent)
{
    n->oq_bytes -= sent;
    while (sent > 0) {
        rt__dchunk_t *k = n->oq_head;
        if (sent < k->len) {
            k->off += sent;
            k->len -= sent;
            return;
        }
        sent -= k->len;
        n->oq_head = k->next;
        if (n->oq_head == NULL)
            n->oq_tail = NULL;
        k->next = NULL;
        rt__dchunk_free_all(k);
    }
}

/* Write n's queue straight to its socket, as much as it takes without
 * blocking, when n is up and the dist loop has no write in flight; the
 * rest is left to the loop. Entry lock held; unlocks it. */
static void flush_locked(rt_dist_t *d, rt__dnode_t *n)
{
    while (n->oq_head != NULL && n->state == RT__DN_UP && n->fd >= 0 &&
           !n->wbusy) {
        struct iovec iov[64];
        int niov = 0;
        for (rt__dchunk_t *k = n->oq_head; k != NULL && niov < 64; k = k->next)
            iov[niov++] = (struct iovec){(void *)rt__dchunk_data(k), k->len};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
        ssize_t w;
        do
            w = sendmsg(n->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w <= 0)
            break; /* would block, or an error the loop will see */
        atomic_fetch_add_explicit(&n->bytes_out, (uint64_t)w,
                                  memory_order_relaxed);
        oq_consume(n, (size_t)w);
    }
    if (n->oq_head != NULL)
        rt__dist_work_unlock(d, n);
    else
        pthread_mutex_unlock(&n->lock);
}

/* Entries a turn sent to, written once at the turn's end: a burst of
 * sends goes out in one system call, a lone reply at once. */
#define TURN_MAX 16
static __thread struct {
    rt_dist_t *d;
    rt__dnode_t *n;
} turn_dirty[TURN_MAX];
static __thread uint32_t turn_n;

void rt__dist_flush_turn(void)
{
    for (uint32_t i = 0; i < turn_n; i++) {
        rt__dnode_t *n = turn_dirty[i].n;
        pthread_mutex_lock(&n->lock);
        flush_locked(turn_dirty[i].d, n);
    }
    turn_n = 0;
}

/* Queue frame f and body b (may be NULL) on n; inside a turn the write
 * waits for the turn's end, outside it happens now. Unlocks n. */
static void send_locked(rt_dist_t *d, rt__dnode_t *n, const uint8_t *f,
                        size_t flen, rt_buf_t *b)
{
    size_t blen = b != NULL ? rt_buf_len(b) : 0;
    if (b != NULL && blen <= RT__DCOPY_MAX) {
        oq_put(n, f, flen, rt_buf_data(b), blen);
    } else {
        oq_put(n, f, flen, NULL, 0);
        if (b != NULL)
            oq_ref(n, rt_buf_ref(b), 0);
    }
    if (rt__tls_actor != NULL) {
        for (uint32_t i = 0; i < turn_n; i++)
            if (turn_dirty[i].n == n) {
                pthread_mutex_unlock(&n->lock);
                return;
            }
        if (turn_n < TURN_MAX) {
            turn_dirty[turn_n].d = d;
            turn_dirty[turn_n++].n = n;
            pthread_mutex_unlock(&n->lock);
            return;
        }
    }
    flush_locked(d, n);
}

/* Queue the encoded frame (and m's body) on n, unless n cannot be
 * reached. @return 0, or CLEO_ENOCONNECTION (nothing queued). */
static int enqueue(rt_dist_t *d, rt__dnode_t *n, const rt_msg_t *m,
                   const uint8_t *f, size_t flen)
{
    pthread_mutex_lock(&n->lock);
    if (!reachable_locked(d, n)) {
        pthread_mutex_unlock(&n->lock);
        return CLEO_ENOCONNECTION;
    }
    const ProtobufCMessage *pb;
    rt_buf_t *b;
    (void)payload_parts(m, &pb, &b);
    if (is_relation(m))
        rel_add(d->rt, n, m->from);
    send_locked(d, n, f, flen, b);
    return 0;
}

void rt__dist_send_raw(rt_dist_t *d, rt__dnode_t *n, const void *p, size_t len)
{
    pthread_mutex_lock(&n->lock);
    if (n->state != RT__DN_UP) {
        pthread_mutex_unlock(&n->lock);
        return;
    }
    send_locked(d, n, p, len, NULL);
}

int rt__dist_route(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    rt_dist_t *d = dist_of(rt);
    rt__dnode_t *n = rt__dist_node_get(d, RT_PID_NODE(to));
    if (n == NULL) {
        rt_msg_free(m);
        return CLEO_EBADPID;
    }
    if (RT_PID_GEN(to) == 0) /* {name, node}: its newest creation */
        n = newest(d, n);
    uint8_t stack[512], *f;
    size_t flen;
    int rc = encode(d, n, to, m, stack, sizeof stack, &f, &flen);
    if (rc == 0) {
        rc = enqueue(d, n, m, f, flen);
        if (f != stack)
            free(f);
        if (rc == CLEO_ENOCONNECTION) {
            atomic_fetch_add_explicit(&d->dropped, 1, memory_order_relaxed);
            rc = is_relation(m) ? rc : 0; /* a plain send just drops */
        } else {
            atomic_fetch_add_explicit(&n->msgs_out, 1, memory_order_relaxed);
        }
    }
    rt_msg_free(m);
    return rc;
}

/* ---- receiving ------------------------------------------------------ */

ProtobufCMessage *rt__dist_unpack(rt_dist_t *d, uint32_t pb, const void *p,
                                  size_t n)
{
    uint64_t v = 0;
    pthread_mutex_lock(&d->lock);
    bool ok = rt__map_get(&d->pbs, pb, &v);
    pthread_mutex_unlock(&d->lock);
    if (!ok)
        return NULL;
    return protobuf_c_message_unpack((const ProtobufCMessageDescriptor *)v,
                                     NULL, n, p);
}

/* A frame kind as the local message type and flags it becomes; sig is
 * set for the kinds that travel as signals. 0 type = no message. */
static uint32_t type_of(const rt__dist_hdr_t *h, uint32_t *sys, bool *sig)
{
    *sys = 0;
    *sig = false;
    switch (h->kind) { /* size: dispatch */
    case CLEO__DIST__FRAME_HEADER__KIND__MSG:
        return h->type;
    case CLEO__DIST__FRAME_HEADER__KIND__CALL:
        *sys = RT__F_CALL;
        return h->type;
    case CLEO__DIST__FRAME_HEADER__KIND__REPLY:
        *sys = RT__F_REPLY;
        return h->type;
    case CLEO__DIST__FRAME_HEADER__KIND__LINK_EXIT:
        *sys = RT__F_LINK;
        *sig = true;
        return RT_MSG_EXIT;
    case CLEO__DIST__FRAME_HEADER__KIND__SIGNAL_EXIT:
        *sig = true;
        return RT_MSG_EXIT;
    case CLEO__DIST__FRAME_HEADER__KIND__LINK:
        *sig = true;
        return RT__SYS_LINK;
    case CLEO__DIST__FRAME_HEADER__KIND__UNLINK:
        *sig = true;
        return RT__SYS_UNLINK;
    case CLEO__DIST__FRAME_HEADER__KIND__MONITOR:
        *sig = true;
        return RT__SYS_MONITOR;
    case CLEO__DIST__FRAME_HEADER__KIND__DEMONITOR:
        *sig = true;
        return RT__SYS_DEMONITOR;
    case CLEO__DIST__FRAME_HEADER__KIND__DOWN:
        return RT_MSG_DOWN;
    case CLEO__DIST__FRAME_HEADER__KIND__CALL_FAIL:
        return RT__SYS_CALL_FAIL;
    case CLEO__DIST__FRAME_HEADER__KIND__REPLIED:
        return RT__SYS_REPLIED;
    default:
        return 0; /* TICK */
    }
}

/* The local target of a link, monitor or call from a peer is dead or
 * unknown: answer as a local one would (noproc). */
static void answer_noproc(rt_t *rt, rt_pid_t to, const rt_msg_t *m)
{
    rt_msg_t *r;
    if (m->type == RT__SYS_LINK) {
        r = rt_msg_new(RT_MSG_EXIT);
        r->_sys = RT__F_LINK;
    } else if (m->type == RT__SYS_MONITOR) {
        r = rt_msg_new(RT_MSG_DOWN);
    } else if (m->_sys & RT__F_CALL) {
        r = rt_msg_new(RT__SYS_CALL_FAIL);
    } else {
        return;
    }
    r->from = to;
    r->reason = (m->_sys & RT__F_CALL) ? CLEO_ENOPROC : RT_REASON_NOPROC;
    r->ref = m->ref;
    if (m->type == RT__SYS_LINK)
        (void)rt__send_sig(rt, m->from, r);
    else
        (void)rt__send(rt, m->from, r);
}

int rt__dist_deliver(rt_dist_t *d, rt__dnode_t *n, const rt__dist_hdr_t *h,
                     ProtobufCMessage *pb, rt_buf_t *body)
{
    rt_t *rt = d->rt;
    uint32_t sys;
    bool sig;
    uint32_t type = type_of(h, &sys, &sig);
    atomic_fetch_add_explicit(&n->msgs_in, 1, memory_order_relaxed);
    if (type == 0) { /* a tick */
        if (pb != NULL)
            protobuf_c_message_free_unpacked(pb, NULL);
        rt_buf_unref(body);
        return 0;
    }
    rt_msg_t *m = rt_msg_new(type);
    m->_sys = sys;
    m->from = pid_in(rt, n, h->from);
    m->ref = h->ref;
    m->reason = h->reason;
    m->tag = h->tag;
    if (pb != NULL && body != NULL)
        rt_msg_set_body(m, pb, body);
    else if (pb != NULL)
        rt_msg_set_pb(m, pb);
    else if (body != NULL)
        rt_msg_set_buf(m, body);
    rt_pid_t to = h->to_name[0] != '\0' ? rt_whereis(rt, h->to_name)
                                        : pid_in(rt, n, h->to);
    if (to == RT_PID_NONE || RT_PID_NODE(to) != rt->opts.node) {
        answer_noproc(rt, to, m);
        atomic_fetch_add_explicit(&d->dropped, 1, memory_order_relaxed);
        rt_msg_free(m);
        return 0;
    }
    if (type == RT__SYS_LINK || type == RT__SYS_MONITOR || (sys & RT__F_CALL)) {
        pthread_mutex_lock(&n->lock);
        rel_add(rt, n, to);
        pthread_mutex_unlock(&n->lock);
    }
    /* A dead target answers links, monitors and calls itself (actor.c,
     * signal.c): the noproc goes back across. */
    int rc = sig ? rt__send_sig(rt, to, m) : rt__send(rt, to, m);
    if (rc == CLEO_ENOPROC || rc == CLEO_EBADPID) {
        rt_msg_t probe = {.type = type,
                          ._sys = sys,
                          .from = pid_in(rt, n, h->from),
                          .ref = h->ref};
        answer_noproc(rt, to, &probe);
    }
    return 0;
}

/* ---- connections coming and going ----------------------------------- */

/* Send type (NODEUP/NODEDOWN) about n to every subscriber; forget the
 * dead ones. */
static void notify_subs(rt_dist_t *d, rt__dnode_t *n, uint32_t type)
{
    pthread_mutex_lock(&d->lock);
    uint32_t k = 0, cap = d->subs.n;
    rt_pid_t *to = cap ? cleo_xmalloc(cap * sizeof *to) : NULL;
    for (uint32_t i = 0; i < d->subs.cap && k < cap; i++)
        if (d->subs.e[i].key != 0)
            to[k++] = d->subs.e[i].key;
    pthread_mutex_unlock(&d->lock);
    for (uint32_t i = 0; i < k; i++) {
        rt_msg_t *m = rt_msg_new(type);
        m->from = RT_PID_NONE;
        m->arg = n->idx;
        m->reason = type == RT_MSG_NODEDOWN ? RT_REASON_NOCONNECTION : 0;
        if (rt__send(d->rt, to[i], m) == CLEO_ENOPROC) {
            pthread_mutex_lock(&d->lock);
            (void)rt__map_del(&d->subs, to[i], NULL);
            pthread_mutex_unlock(&d->lock);
        }
    }
    free(to);
}

void rt__dist_on_up(rt_dist_t *d, rt__dnode_t *n)
{
    atomic_store_explicit(&n->up_since_ms, rt__dist_now_ms(),
                          memory_order_relaxed);
    atomic_store_explicit(&n->last_recv_ms, rt__dist_now_ms(),
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&d->connects, 1, memory_order_relaxed);
    notify_subs(d, n, RT_MSG_NODEUP);
}

void rt__dist_on_down(rt_dist_t *d, rt__dnode_t *n, bool was_up)
{
    pthread_mutex_lock(&n->lock);
    rt__dchunk_t *q = n->oq_head;
    n->oq_head = n->oq_tail = NULL;
    n->oq_bytes = 0;
    rt_map_t rel = n->rel;
    memset(&n->rel, 0, sizeof n->rel);
    bool dead = atomic_load_explicit(&n->newer, memory_order_acquire) != 0;
    n->state = dead ? RT__DN_DEAD : RT__DN_IDLE;
    n->want_connect = false;
    n->conn = NULL;
    n->fd = -1;
    n->wbusy = false;
    n->addr[0] = '\0';
    if (!was_up)
        n->retry_ms = rt__dist_clock(d) + 1000;
    pthread_mutex_unlock(&n->lock);
    rt__dchunk_free_all(q);
    atomic_store_explicit(&n->up_since_ms, 0, memory_order_relaxed);
    /* Each actor with links, monitors or calls here fires them itself,
     * once (signal.c: on_nodedown). */
    for (uint32_t i = 0; i < rel.cap; i++) {
        if (rel.e[i].key == 0)
            continue;
        rt_msg_t *m = rt_msg_new(RT__SYS_NODEDOWN);
        m->from = RT_PID_NONE;
        m->arg = n->idx;
        (void)rt__send_sig(d->rt, rel.e[i].key, m);
    }
    rt__map_destroy(&rel);
    if (was_up) {
        atomic_fetch_add_explicit(&d->disconnects, 1, memory_order_relaxed);
        notify_subs(d, n, RT_MSG_NODEDOWN);
    }
}

/* The header of the frame at p (one of ours, so well formed). */
static Cleo__Dist__FrameHeader *peek(const uint8_t *p, size_t *flen)
{
    uint32_t l = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                 (uint32_t)p[2] << 8 | p[3];
    uint64_t hl = 0;
    size_t i = 0;
    for (int sh = 0; i < 10; sh += 7) {
        uint8_t c = p[4 + i++];
        hl |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            break;
    }
    *flen = 4 + (size_t)l;
    return cleo__dist__frame_header__unpack(NULL, (size_t)hl, p + 4 + i);
}

void rt__dist_requeue_named(rt__dnode_t *from, rt__dnode_t *to)
{
    pthread_mutex_lock(&from->lock);
    rt__dchunk_t *q = from->oq_head;
    from->oq_head = from->oq_tail = NULL;
    from->oq_bytes = 0;
    pthread_mutex_unlock(&from->lock);
    pthread_mutex_lock(&to->lock);
    for (rt__dchunk_t *c = q; c != NULL; c = c->next) {
        for (size_t off = c->off; c->buf == NULL && off < c->off + c->len;) {
            size_t flen;
            Cleo__Dist__FrameHeader *h = peek(c->bytes + off, &flen);
            if (h == NULL)
                break; /* cannot be: we wrote it */
            bool named = h->to_name != NULL && h->to_name[0] != '\0';
            bool copied = h->body_len <= RT__DCOPY_MAX;
            size_t blen = copied ? (size_t)h->body_len : 0;
            cleo__dist__frame_header__free_unpacked(h, NULL);
            if (named)
                oq_put(to, c->bytes + off, flen, c->bytes + off + flen, blen);
            off += flen + blen;
            if (!copied && c->next != NULL && c->next->buf != NULL) {
                c = c->next; /* its referenced body */
                if (named)
                    oq_ref(to, rt_buf_ref(c->buf), 0);
            }
        }
    }
    pthread_mutex_unlock(&to->lock);
    rt__dchunk_free_all(q);
}
