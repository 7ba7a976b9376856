/*
 * repl_stream.c - the coordinator of a streamed PUT (repl.h): to the
 * gateway it is a put stream (storage/contract.h: WRITE calls, then one
 * COMMIT or ABORT); behind it, one replica stream per reachable replica,
 * all fed at once.
 *
 *  - open: PUT_BEGIN, with the version, to every replica's engine; once
 *    all have answered, W open streams answer the gateway's PUT_BEGIN
 *    (fewer: CLEO_ENOCONNECTION, and the open ones are dropped);
 *  - WRITE: the buffer (by reference) to every open replica, answered
 *    once each has answered, so memory stays one block per replica and
 *    the slowest replica paces the client. A replica that fails is
 *    dropped (it needs repair); fewer than W left fails the put;
 *  - COMMIT: to every open replica, answered after W commits (a replica
 *    superseded by a newer version counts);
 *  - ABORT, the opener's death, or STO_STREAM_IDLE_MS without a call:
 *    the coordinator stops, and the replica streams, which monitor it as
 *    their opener, abort their puts.
 */
#include "storage/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"

#define TICK_MS 5000u
#define TICK CLEO__STORAGE__MSG_ID__STREAM_TICK

typedef struct {
    sto__repl_set_t s;
    rt_from_t call; /* the gateway's call in flight (ref 0 = none) */
    uint32_t step;  /* its type: PUT_BEGIN, WRITE, COMMIT */
    rt_pid_t owner; /* the gateway's actor, monitored */
    rt_pid_t stream[STO__REPL_MAX];  /* open replica streams (0 = none) */
    uint32_t open;                   /* how many */
    uint32_t pending;                /* replica calls of this step in flight */
    uint32_t ok;                     /* commits done */
    int err;                         /* a replica's definite error, else 0 */
    char etag[STO_ETAG_MAX + 1];     /* PutCommit's md5 as hex, or "" */
    Cleo__Storage__ObjectInfo *info; /* a replica's commit answer */
    uint64_t last_ms;                /* the last call from the gateway */
    bool committed;                  /* COMMIT answered 0 */
    rt_msg_t *begin[STO__REPL_MAX];  /* the PUT_BEGIN calls, until sent */
} strm_t;

static void reply(rt_actor_t *self, strm_t *c, int status, void *pb)
{
    rt_msg_t *r = rt_msg_new(c->step);
    r->reason = status;
    if (pb != NULL)
        rt_msg_set_pb(r, pb);
    (void)rt_reply(rt_actor_rt(self), c->call, r);
    c->call.ref = 0;
}

/* Replica i is gone from this put (it needs repair). */
static void drop(rt_actor_t *self, strm_t *c, size_t i, int status)
{
    if (c->stream[i] == RT_PID_NONE)
        return;
    c->stream[i] = RT_PID_NONE;
    c->open--;
    if (c->err == 0 && sto__repl_definite(status))
        c->err = status;
    if (c->step != CLEO__STORAGE__MSG_ID__PUT_BEGIN)
        logger_log(rt_actor_rt(self), LOG_WARNING,
                   "replica stream of %s/%s to %s failed (%s): it needs "
                   "repair",
                   c->s.bucket, c->s.key, c->s.node[i], cleo_err_name(status));
}

static int fail_code(const strm_t *c)
{
    return c->err != 0 ? c->err : CLEO_ENOCONNECTION;
}

/* ---- the steps ------------------------------------------------------ */

static int on_begun(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    strm_t *c = rt_state(self);
    size_t i = (size_t)(uintptr_t)data;
    if (status == 0 && r != NULL)
        status = r->reason;
    if (status == 0) {
        c->stream[i] = r->from;
        c->open++;
    } else if (c->err == 0 && sto__repl_definite(status)) {
        c->err = status;
    }
    if (--c->pending > 0)
        return 0;
    if (c->open < c->s.need) {
        reply(self, c, fail_code(c), NULL);
        return RT_STOP; /* the open replica streams end with their opener */
    }
    Cleo__Storage__StreamRef *ref = cleo_xmalloc(sizeof *ref);
    cleo__storage__stream_ref__init(ref);
    ref->stream = 1;
    reply(self, c, 0, ref);
    return 0;
}

static int on_written(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    strm_t *c = rt_state(self);
    size_t i = (size_t)(uintptr_t)data;
    if (status == 0 && r != NULL)
        status = r->reason;
    if (status < 0)
        drop(self, c, i, status);
    if (--c->pending > 0)
        return 0;
    if (c->open < c->s.need) {
        reply(self, c, fail_code(c), NULL);
        return RT_STOP;
    }
    reply(self, c, 0, NULL);
    return 0;
}

/* The answer to COMMIT when every replica that committed was superseded
 * (a newer version of the key is there): what the client sent. */
static Cleo__Storage__ObjectInfo *info_superseded(const strm_t *c)
{
    Cleo__Storage__ObjectInfo *i = cleo_xmalloc(sizeof *i);
    cleo__storage__object_info__init(i);
    i->bucket = sto__repl_dup(c->s.bucket);
    i->key = sto__repl_dup(c->s.key);
    i->etag = sto__repl_dup(c->etag);
    i->last_modified_ms = c->s.lm;
    i->clock = c->s.clock;
    i->clock_node = c->s.clock_node;
    return i;
}

static int on_committed(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    strm_t *c = rt_state(self);
    size_t i = (size_t)(uintptr_t)data;
    if (status == 0 && r != NULL)
        status = r->reason;
    const ProtobufCMessage *pb = r != NULL ? r->payload : NULL;
    if (status == 0 || status == STO_ESUPERSEDED) {
        c->ok++;
        if (c->info == NULL && pb != NULL &&
            pb->descriptor == &cleo__storage__object_info__descriptor) {
            c->info = r->payload; /* ours now */
            r->payload = NULL;
        }
    } else {
        drop(self, c, i, status);
    }
    if (c->call.ref != 0 && c->ok >= c->s.need) {
        reply(self, c, 0, c->info != NULL ? c->info : info_superseded(c));
        c->committed = true;
        c->info = NULL;
    }
    if (--c->pending > 0)
        return 0;
    if (c->call.ref != 0)
        reply(self, c, fail_code(c), NULL);
    return RT_STOP;
}

/* Send a copy of m's payload shape to every open replica stream as a
 * call of type m->type, continuing in cb. */
static void fan(rt_actor_t *self, strm_t *c, const rt_msg_t *m, rt_reply_cb cb)
{
    for (size_t i = 0; i < c->s.n; i++) {
        if (c->stream[i] == RT_PID_NONE)
            continue;
        rt_msg_t *q = rt_msg_new(m->type);
        q->tag = c->s.tag;
        if (m->type == STO_MSG_STREAM_WRITE) {
            rt_msg_set_buf(q, rt_buf_ref(m->payload));
        } else if (m->type == STO_MSG_STREAM_COMMIT) {
            const Cleo__Storage__PutCommit *pc = m->payload;
            Cleo__Storage__PutCommit *cp = cleo_xmalloc(sizeof *cp);
            cleo__storage__put_commit__init(cp);
            cp->size = pc->size;
            if (pc->md5.len > 0) {
                cp->md5.data = cleo_xmalloc(pc->md5.len);
                memcpy(cp->md5.data, pc->md5.data, pc->md5.len);
                cp->md5.len = pc->md5.len;
            }
            rt_msg_set_pb(q, cp);
        }
        if (rt_call(self, c->stream[i], q, STO__REPL_CALL_MS, cb,
                    (void *)(uintptr_t)i) == 0)
            c->pending++;
        else
            drop(self, c, i, CLEO_EINVAL);
    }
}

/* A call from the gateway: WRITE, COMMIT or ABORT. */
static int on_call(rt_actor_t *self, strm_t *c, rt_msg_t *m)
{
    rt_from_t from = rt_msg_caller(m);
    bool write = m->type == STO_MSG_STREAM_WRITE;
    bool commit = m->type == STO_MSG_STREAM_COMMIT;
    const ProtobufCMessage *pb = m->payload;
    int bad = c->call.ref != 0 ? CLEO_ESTATE : 0;
    if (bad == 0 && write && m->payload == NULL)
        bad = CLEO_EBADREQ;
    if (bad == 0 && commit &&
        (pb == NULL ||
         pb->descriptor != &cleo__storage__put_commit__descriptor))
        bad = CLEO_EBADREQ;
    if (bad < 0 || (!write && !commit)) { /* ABORT, or a bad call */
        rt_msg_t *r = rt_msg_new(m->type);
        r->reason = bad < 0 ? bad : 0;
        (void)rt_reply(rt_actor_rt(self), from, r);
        return bad == CLEO_ESTATE ? 0 : RT_STOP;
    }
    c->call = from;
    c->step = m->type;
    c->last_ms = rt_now_ms(rt_actor_rt(self));
    if (commit) {
        const Cleo__Storage__PutCommit *pc = m->payload;
        for (size_t k = 0; k < pc->md5.len && k < 16; k++)
            snprintf(c->etag + 2 * k, 3, "%02x", pc->md5.data[k]);
    }
    fan(self, c, m, write ? on_written : on_committed);
    if (c->pending == 0) { /* nothing could be sent */
        reply(self, c, fail_code(c), NULL);
        return RT_STOP;
    }
    return 0;
}

/* ---- the actor ------------------------------------------------------ */

static int strm_handle(rt_actor_t *self, rt_msg_t *m)
{
    strm_t *c = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    switch (m->type) {
    case TICK:
        if (c->call.ref == 0 && rt_now_ms(rt) - c->last_ms > STO_STREAM_IDLE_MS)
            return RT_STOP;
        (void)rt_send_after(rt, TICK_MS, rt_self(self), rt_msg_new(TICK), NULL);
        return 0;
    case RT_MSG_DOWN: /* the opener went: so does the put */
        return m->from == c->owner ? RT_STOP : 0;
    case STO_MSG_STREAM_WRITE:
    case STO_MSG_STREAM_COMMIT:
    case STO_MSG_STREAM_ABORT:
        return on_call(self, c, m);
    default:
        return 0;
    }
}

static int strm_init(rt_actor_t *self, void *arg)
{
    strm_t *c = arg;
    rt_t *rt = rt_actor_rt(self);
    rt_set_state(self, c);
    rt_ref_t mon;
    if (rt_monitor(self, c->owner, &mon) < 0)
        return CLEO_ENOPROC;
    for (size_t i = 0; i < c->s.n; i++) {
        rt_msg_t *q = c->begin[i];
        c->begin[i] = NULL;
        if (rt_call(self, c->s.to[i], q, STO__REPL_CALL_MS, on_begun,
                    (void *)(uintptr_t)i) == 0)
            c->pending++;
    }
    c->last_ms = rt_now_ms(rt);
    if (c->pending == 0)
        return CLEO_ENOCONNECTION;
    return rt_send_after(rt, TICK_MS, rt_self(self), rt_msg_new(TICK), NULL) < 0
               ? CLEO_ENOMEM
               : 0;
}

static void strm_free(strm_t *c)
{
    for (size_t i = 0; i < STO__REPL_MAX; i++)
        rt_msg_free(c->begin[i]);
    if (c->info != NULL)
        cleo__storage__object_info__free_unpacked(c->info, NULL);
    free(c);
}

static void strm_destroy(rt_actor_t *self, int reason)
{
    strm_t *c = rt_state(self);
    if (c == NULL)
        return;
    if (c->call.ref != 0)
        reply(self, c, reason < 0 ? reason : CLEO_ENOPROC, NULL);
    if (c->committed) {
        bool bad[STO__REPL_MAX] = {false};
        for (size_t i = 0; i < c->s.n; i++)
            bad[i] = c->stream[i] == RT_PID_NONE;
        sto__repl_missed(rt_actor_rt(self), &c->s, bad);
    }
    strm_free(c);
}

static const rt_behaviour_t strm_beh = {.name = "sto_repl_stream",
                                        .init = strm_init,
                                        .handle = strm_handle,
                                        .destroy = strm_destroy};

int sto__repl_stream_start(rt_actor_t *self, const sto__repl_set_t *s,
                           const uint8_t *record, size_t len, rt_from_t from)
{
    strm_t *c = cleo_xcalloc(1, sizeof *c); /* control struct */
    c->s = *s;
    c->call = from;
    c->step = STO_MSG_PUT_BEGIN;
    c->owner = from.pid;
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        Cleo__Storage__PutReq *q =
            cleo__storage__put_req__unpack(NULL, len, record);
        if (q == NULL) {
            rc = CLEO_EBADREQ;
            break;
        }
        q->version = sto__repl_version(s);
        c->begin[i] = rt_msg_new(STO_MSG_PUT_BEGIN);
        c->begin[i]->tag = s->tag;
        rt_msg_set_pb(c->begin[i], q);
    }
    if (rc == 0) {
        rt_spawn_opts_t so = {.sched = RT_SCHED_ANY};
        rc = rt_spawn(rt_actor_rt(self), self, &strm_beh, c, &so, NULL);
    }
    if (rc < 0) {
        c->call.ref = 0; /* the engine answers */
        strm_free(c);
    }
    return rc;
}
