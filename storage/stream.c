/*
 * stream.c - stream actors (see stream.h and sto.h, "streams").
 *
 * The actor and its jobs hand the sto_put_t / sto_get_t back and forth:
 * while a job is in flight the job owns it and the actor holds NULL, so
 * no two threads ever touch one (sto.h: a put or get belongs to one
 * thread at a time). If the actor dies meanwhile, the job's message is
 * dropped and job_free() disposes of what it still holds.
 */
#include "storage/stream.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/db.h"
#include "storage/pb.h"

/* Private message types of a stream actor (the storage range's top). */
/* a job is back from the pool: */
#define MSG_DONE CLEO__STORAGE__MSG_ID__STREAM_JOB_DONE
#define MSG_TICK CLEO__STORAGE__MSG_ID__STREAM_TICK /* the idle timer */

enum {
    OP_OPEN_PUT = 1, /* sto_put_begin */
    OP_OPEN_PART,    /* sto_mpu_part_begin */
    OP_OPEN_GET,     /* sto_get_open and the first block */
    OP_WRITE,        /* sto_put_write */
    OP_COMMIT,       /* sto_put_commit */
    OP_READ,         /* the next block */
    OP_BYE           /* abort the put / close the get, drop the db */
};

/* One unit of blocking work; see the file comment for who owns put/get. */
typedef struct {
    int op;
    sto__dbref_t *ref; /* one reference, dropped with the job */
    sto_put_t *put;    /* the job's while in flight */
    sto_get_t *get;    /* the job's while in flight */
    void *req;         /* OPEN_*: the opening record */
    void *res;         /* OPEN_GET, COMMIT: the reply record */
    rt_buf_t *buf;     /* WRITE: the bytes; OPEN_GET, READ: the block */
    size_t block;      /* bytes per block (the chunk size) */
    uint64_t left;     /* get: span bytes not yet read */
    uint32_t part;     /* part number of a part put; 0 = a plain put */
    int64_t size;      /* COMMIT: expected bytes, -1 = unchecked */
    uint8_t md5[16];   /* COMMIT: expected MD5 when has_md5 */
    bool has_md5;
} sjob_t;

typedef struct {
    uint32_t kind;     /* PUT_BEGIN, MPU_PART_BEGIN or GET_OPEN */
    sto__dbref_t *ref; /* the stream's reference on the database */
    rt_pid_t engine;   /* linked: its exit stops the stream */
    rt_ref_t mon;      /* monitor on the owner; 0 = none */
    sto_put_t *put;    /* NULL while a job holds it */
    sto_get_t *get;    /* NULL while a job holds it */
    uint32_t part;     /* part number; 0 = a plain put */
    size_t block;      /* bytes per block */
    uint64_t left;     /* get: span bytes not yet sent */
    bool busy;         /* a job is in flight */
    bool closing;      /* stop when the job in flight is back */
    bool ended;        /* get: the last block was sent */
    int waiting_op;    /* the op of the job in flight */
    rt_from_t waiting; /* the call it answers (ref 0 = none) */
    uint32_t waiting_type;
    rt_from_t abort_from; /* an ABORT that came while busy */
    uint32_t idle_ms;
    uint64_t deadline_ms; /* runtime clock: stop when idle past it */
    rt_ref_t timer;       /* the pending tick; 0 = none */
} stream_t;

typedef struct {
    sto__dbref_t *ref;
    rt_msg_t *req;
    rt_from_t from;
    rt_pid_t engine;
    uint32_t idle_ms;
    sto_get_t *get; /* adopt: a get the engine opened; NULL = open one */
    uint64_t left;  /* adopt: span bytes after its first block */
    rt_pid_t owner; /* adopt: the pid to monitor */
} start_t;

/* ---- payload probes -------------------------------------------------
 * rt_msg_set_buf() and rt_msg_set_pb() mark a payload by its free
 * function; a probe message on the stack reveals which one each uses. */

static bool has_buf(const rt_msg_t *m)
{
    rt_msg_t probe = {0};
    rt_msg_set_buf(&probe, NULL);
    return m->payload != NULL && m->payload_free == probe.payload_free;
}

static bool has_pb(const rt_msg_t *m, const ProtobufCMessageDescriptor *d)
{
    rt_msg_t probe = {0};
    rt_msg_set_pb(&probe, NULL);
    return m->payload != NULL && m->payload_free == probe.payload_free &&
           ((const ProtobufCMessage *)m->payload)->descriptor == d;
}

static const ProtobufCMessageDescriptor *open_desc(uint32_t type)
{
    switch (type) {
    case STO_MSG_PUT_BEGIN:
        return &cleo__storage__put_req__descriptor;
    case STO_MSG_MPU_PART_BEGIN:
        return &cleo__storage__mpu_part_req__descriptor;
    case STO_MSG_GET_OPEN:
        return &cleo__storage__get_req__descriptor;
    default:
        return NULL;
    }
}

bool sto__stream_req_is_valid(const rt_msg_t *req)
{
    const ProtobufCMessageDescriptor *d = open_desc(req->type);
    return d != NULL && has_pb(req, d);
}

/* ---- jobs: on the pool ---------------------------------------------- */

/* Give back what the job still holds. On the pool this is the real
 * abort; on a scheduler thread (the runtime is shutting down and refused
 * the work, or a dying stream's mailbox was drained there) it must not
 * touch the disk: the put is forgotten and the next open's sweep frees
 * its chunks, as after a crash. Closing a get only releases a snapshot
 * and memory. */
static void job_dispose(sjob_t *j)
{
    if (j->put != NULL && rt_on_scheduler())
        sto__put_forget(j->put);
    else if (j->put != NULL)
        sto_put_abort(j->put);
    sto_get_close(j->get);
    j->put = NULL;
    j->get = NULL;
}

static void job_free(void *arg)
{
    sjob_t *j = arg;
    job_dispose(j);
    if (j->req != NULL)
        protobuf_c_message_free_unpacked(j->req, NULL);
    if (j->res != NULL)
        protobuf_c_message_free_unpacked(j->res, NULL);
    rt_buf_unref(j->buf);
    sto__dbref_drop(j->ref);
    free(j);
}

static sjob_t *job_new(const stream_t *s, int op)
{
    sjob_t *j = sto__xcalloc(1, sizeof *j);
    j->op = op;
    j->ref = sto__dbref_take(s->ref);
    j->block = s->block;
    j->left = s->left;
    j->part = s->part;
    return j;
}

/* PUT_BEGIN; with a version, a replica's stream: its commit stores that
 * version only if newer, else answers STO_ESUPERSEDED. */
static int run_open_put(sjob_t *j)
{
    sto_put_opts_t o;
    sto_kv_t *kv = sto__pb_put_opts(j->req, &o);
    Cleo__Storage__PutReq *r = j->req;
    sto_version_t v;
    if (sto__pb_version(r->version, &v, &o.now_ms))
        o.version = &v; /* copied by sto_put_begin */
    int rc = sto_put_begin(j->ref->db, r->bucket, r->key, &o, &j->put);
    free(kv);
    return rc;
}

static int run_open_part(sjob_t *j)
{
    Cleo__Storage__MpuPartReq *r = j->req;
    return sto_mpu_part_begin(j->ref->db, r->bucket, r->key, r->upload_id,
                              r->part_number, &j->put);
}

/* Read the next block (at most j->block bytes) of the span. */
static int read_block(sjob_t *j)
{
    size_t want = j->left < j->block ? (size_t)j->left : j->block;
    rt_buf_t *b;
    int rc = rt_buf_new(want, &b);
    if (rc < 0)
        return rc;
    size_t got = 0;
    while (got < want) {
        ssize_t n = sto_get_read(j->get, rt_buf_data(b) + got, want - got);
        if (n <= 0) {
            rt_buf_unref(b);
            return n < 0 ? (int)n : STO_ECORRUPT; /* short: chunks gone */
        }
        got += (size_t)n;
    }
    if ((rc = rt_buf_set_len(b, got)) < 0) { /* got == want == cap */
        rt_buf_unref(b);
        return rc;
    }
    j->buf = b;
    j->left -= got;
    return 0;
}

static int run_open_get(sjob_t *j)
{
    Cleo__Storage__GetReq *r = j->req;
    sto_range_t rg = {.kind = (sto_range_kind_t)r->range_kind,
                      .first = r->first,
                      .last = r->last,
                      .suffix_len = r->suffix_len};
    if (r->range_kind > STO_RANGE_SUFFIX)
        return CLEO_EINVAL;
    int rc = sto_get_open(j->ref->db, r->bucket, r->key, &rg, &j->get);
    if (rc < 0)
        return rc;
    Cleo__Storage__GetOpen *g = sto__pb_calloc(1, sizeof *g);
    cleo__storage__get_open__init(g);
    g->info = sto__pb_object_info(sto_get_meta(j->get));
    sto_get_span(j->get, &g->first, &g->len);
    j->res = g;
    j->left = g->len;
    return read_block(j);
}

static Cleo__Storage__PartInfo *part_pb(const sto_meta_t *m, uint32_t part)
{
    Cleo__Storage__PartInfo *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__part_info__init(p);
    p->part_number = part;
    p->etag = sto__pb_strdup(m->etag);
    p->size = m->size;
    p->last_modified_ms = m->last_modified_ms;
    return p;
}

static int run_commit(sjob_t *j)
{
    sto_put_t *p = j->put;
    j->put = NULL; /* taken by the commit whatever its result */
    sto_meta_t *m = NULL;
    int rc = sto_put_commit(p, j->size, j->has_md5 ? j->md5 : NULL, &m);
    if (rc < 0)
        return rc;
    if (j->part != 0)
        j->res = part_pb(m, j->part);
    else
        j->res = sto__pb_object_info(m);
    sto_meta_free(m);
    return 0;
}

static int job_run(void *arg)
{
    sjob_t *j = arg;
    switch (j->op) { /* size: dispatch */
    case OP_OPEN_PUT:
        return run_open_put(j);
    case OP_OPEN_PART:
        return run_open_part(j);
    case OP_OPEN_GET:
        return run_open_get(j);
    case OP_WRITE:
        return sto_put_write(j->put, rt_buf_data(j->buf), rt_buf_len(j->buf));
    case OP_COMMIT:
        return run_commit(j);
    case OP_READ:
        return read_block(j);
    case OP_BYE: /* the last reference may close the database: here */
        job_dispose(j);
        sto__dbref_drop(j->ref);
        j->ref = NULL;
        return 0;
    default:
        return CLEO_EBADREQ;
    }
}

/* ---- the actor ------------------------------------------------------ */

static void arm(rt_actor_t *self, stream_t *s, uint64_t ms)
{
    if (s->timer != 0)
        (void)rt_timer_cancel(rt_actor_rt(self), s->timer);
    s->timer = 0;
    (void)rt_send_after(rt_actor_rt(self), ms, rt_self(self),
                        rt_msg_new(MSG_TICK), &s->timer);
}

static void touch(rt_actor_t *self, stream_t *s)
{
    s->deadline_ms = rt_now_ms(rt_actor_rt(self)) + s->idle_ms;
}

/* Hand j to the pool; the reply to `from` waits for on_done(). On an
 * error j (and the put or get it took) is already disposed of. */
static int submit(rt_actor_t *self, stream_t *s, sjob_t *j, rt_from_t from,
                  uint32_t type)
{
    int op = j->op;
    /* Reads on the blocking pool; puts (which write) on the I/O pool. */
    int rc = (op == OP_READ || op == OP_OPEN_GET
                  ? rt_work_submit
                  : rt_work_submit_io)(self, job_run, j, job_free, MSG_DONE);
    if (rc < 0)
        return rc;
    s->busy = true;
    s->waiting_op = op;
    s->waiting = from;
    s->waiting_type = type;
    return 0;
}

/* A get the engine opened: no open job, READs from the second block. */
static int adopt_init(rt_actor_t *self, start_t *a, void **state)
{
    stream_t *s = sto__xcalloc(1, sizeof *s);
    s->kind = STO_MSG_GET_OPEN;
    s->ref = sto__dbref_take(a->ref);
    s->engine = a->engine;
    s->block = a->ref->db->o.chunk_size;
    s->idle_ms = a->idle_ms != 0 ? a->idle_ms : STO_STREAM_IDLE_MS;
    int rc = rt_link(self, s->engine);
    if (rc == 0 && a->owner != RT_PID_NONE)
        rc = rt_monitor(self, a->owner, &s->mon);
    if (rc < 0) {
        sto__dbref_drop(s->ref);
        free(s);
        return rc;
    }
    s->get = a->get, a->get = NULL; /* ours now */
    s->left = a->left;
    touch(self, s);
    arm(self, s, s->idle_ms);
    *state = s;
    return 0;
}

static int st_init(rt_actor_t *self, void *arg, void **state)
{
    start_t *a = arg;
    if (a->get != NULL)
        return adopt_init(self, a, state);
    stream_t *s = sto__xcalloc(1, sizeof *s);
    s->kind = a->req->type;
    s->ref = sto__dbref_take(a->ref);
    s->engine = a->engine;
    s->block = a->ref->db->o.chunk_size;
    s->idle_ms = a->idle_ms != 0 ? a->idle_ms : STO_STREAM_IDLE_MS;
    rt_pid_t owner = a->req->arg != 0 ? (rt_pid_t)a->req->arg : a->from.pid;
    int rc = rt_link(self, s->engine);
    if (rc == 0 && owner != RT_PID_NONE)
        rc = rt_monitor(self, owner, &s->mon);
    if (rc < 0) {
        sto__dbref_drop(s->ref);
        free(s);
        return rc;
    }
    if (s->kind == STO_MSG_MPU_PART_BEGIN)
        s->part = ((Cleo__Storage__MpuPartReq *)a->req->payload)->part_number;
    int op = s->kind == STO_MSG_GET_OPEN         ? OP_OPEN_GET
             : s->kind == STO_MSG_MPU_PART_BEGIN ? OP_OPEN_PART
                                                 : OP_OPEN_PUT;
    sjob_t *j = job_new(s, op);
    j->req = a->req->payload;
    a->req->payload = NULL; /* the job's now */
    touch(self, s);
    arm(self, s, s->idle_ms);
    if ((rc = submit(self, s, j, a->from, s->kind)) < 0) {
        sto__dbref_drop(s->ref);
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Answer req now with status rc and no payload. */
static int answer(const rt_msg_t *req, int rc, rt_msg_t **reply)
{
    *reply = rt_msg_new(req->type);
    (*reply)->reason = rc;
    return 0;
}

/* Answer req with error rc and stop (after the job in flight, if any). */
static int fail(stream_t *s, const rt_msg_t *req, int rc, rt_msg_t **reply)
{
    answer(req, rc, reply);
    if (!s->busy)
        return GEN_STOP;
    s->closing = true;
    return 0;
}

static bool is_put(const stream_t *s)
{
    return s->kind != STO_MSG_GET_OPEN;
}

static int on_write(rt_actor_t *self, stream_t *s, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    if (s->busy)
        return answer(req, CLEO_ESTATE, reply);
    if (!is_put(s) || s->put == NULL || !has_buf(req))
        return fail(s, req, CLEO_EBADREQ, reply);
    sjob_t *j = job_new(s, OP_WRITE);
    j->put = s->put;
    s->put = NULL;
    j->buf = req->payload;
    req->payload = NULL; /* the job's reference now */
    int rc = submit(self, s, j, from, req->type);
    return rc < 0 ? fail(s, req, rc, reply) : GEN_NOREPLY;
}

static int on_commit(rt_actor_t *self, stream_t *s, rt_msg_t *req,
                     rt_from_t from, rt_msg_t **reply)
{
    if (s->busy)
        return answer(req, CLEO_ESTATE, reply);
    if (!is_put(s) || s->put == NULL ||
        !has_pb(req, &cleo__storage__put_commit__descriptor))
        return fail(s, req, CLEO_EBADREQ, reply);
    const Cleo__Storage__PutCommit *c = req->payload;
    if (c->md5.len != 0 && c->md5.len != 16)
        return fail(s, req, CLEO_EBADREQ, reply);
    sjob_t *j = job_new(s, OP_COMMIT);
    j->put = s->put;
    s->put = NULL;
    j->size = c->size < 0 ? -1 : c->size;
    j->has_md5 = c->md5.len == 16;
    if (j->has_md5)
        memcpy(j->md5, c->md5.data, 16);
    int rc = submit(self, s, j, from, req->type);
    return rc < 0 ? fail(s, req, rc, reply) : GEN_NOREPLY;
}

/* The empty block that marks the end of a read. */
static int answer_end(const rt_msg_t *req, rt_msg_t **reply)
{
    rt_buf_t *b;
    int rc = rt_buf_new(0, &b);
    answer(req, rc, reply);
    if (rc == 0)
        rt_msg_set_buf(*reply, b);
    return GEN_STOP;
}

static int on_read(rt_actor_t *self, stream_t *s, rt_msg_t *req, rt_from_t from,
                   rt_msg_t **reply)
{
    if (s->busy)
        return answer(req, CLEO_ESTATE, reply);
    if (is_put(s))
        return fail(s, req, CLEO_EBADREQ, reply);
    if (s->ended)
        return answer_end(req, reply);
    sjob_t *j = job_new(s, OP_READ);
    j->get = s->get;
    s->get = NULL;
    int rc = submit(self, s, j, from, req->type);
    return rc < 0 ? fail(s, req, rc, reply) : GEN_NOREPLY;
}

static int on_abort(stream_t *s, const rt_msg_t *req, rt_from_t from,
                    rt_msg_t **reply)
{
    if (!s->busy) {
        answer(req, 0, reply);
        return GEN_STOP;
    }
    if (s->abort_from.ref == 0)
        s->abort_from = from;
    s->closing = true;
    return GEN_NOREPLY;
}

static int st_call(rt_actor_t *self, void *state, rt_msg_t *req, rt_from_t from,
                   rt_msg_t **reply)
{
    stream_t *s = state;
    touch(self, s);
    switch (req->type) {
    case STO_MSG_STREAM_WRITE:
        return on_write(self, s, req, from, reply);
    case STO_MSG_STREAM_COMMIT:
        return on_commit(self, s, req, from, reply);
    case STO_MSG_STREAM_READ:
        return on_read(self, s, req, from, reply);
    case STO_MSG_STREAM_ABORT:
        return on_abort(s, req, from, reply);
    default:
        return fail(s, req, CLEO_EBADREQ, reply);
    }
}

/* The successful reply's payload for the job j that came back. */
static void done_payload(rt_actor_t *self, stream_t *s, sjob_t *j,
                         rt_msg_t *reply)
{
    switch (j->op) {
    case OP_OPEN_PUT:
    case OP_OPEN_PART: {
        Cleo__Storage__StreamRef *r = sto__pb_calloc(1, sizeof *r);
        cleo__storage__stream_ref__init(r);
        r->stream = 1; /* the stream is this reply's sender */
        rt_msg_set_pb(reply, r);
        return;
    }
    case OP_OPEN_GET:
        ((Cleo__Storage__GetOpen *)j->res)->stream = s->left > 0;
        rt_msg_set_body(reply, j->res, j->buf);
        j->res = NULL, j->buf = NULL;
        return;
    case OP_COMMIT:
        rt_msg_set_pb(reply, j->res);
        j->res = NULL;
        return;
    case OP_READ:
        rt_msg_set_buf(reply, j->buf);
        j->buf = NULL;
        return;
    default:
        return; /* WRITE: no payload */
    }
}

/* Does the stream stop once job op answered with rc? */
static bool done_stops(const stream_t *s, int op, int rc)
{
    return rc < 0 || s->closing || op == OP_COMMIT ||
           (op == OP_OPEN_GET && s->left == 0);
}

/* A job is back: take the put or get back, answer the call it served. */
static int on_done(rt_actor_t *self, stream_t *s, rt_msg_t *m)
{
    sjob_t *j = m->payload;
    rt_t *rt = rt_actor_rt(self);
    s->busy = false;
    s->put = j->put, s->get = j->get;
    j->put = NULL, j->get = NULL;
    if (j->op == OP_OPEN_GET || j->op == OP_READ)
        s->left = j->left;
    rt_msg_t *reply = rt_msg_new(s->waiting_type);
    reply->reason = m->reason;
    if (m->reason == 0)
        done_payload(self, s, j, reply);
    (void)gen_server_reply(rt, s->waiting, reply);
    s->waiting = (rt_from_t){0};
    bool stop = done_stops(s, j->op, m->reason);
    if (s->abort_from.ref != 0) {
        (void)gen_server_reply(rt, s->abort_from,
                               rt_msg_new(STO_MSG_STREAM_ABORT));
        s->abort_from = (rt_from_t){0};
    }
    touch(self, s);
    if (!stop && j->op == OP_READ && s->left == 0) {
        s->ended = true; /* linger for one READ that gets the empty block */
        s->deadline_ms = rt_now_ms(rt) + STO_STREAM_LINGER_MS;
        arm(self, s, STO_STREAM_LINGER_MS);
    }
    return stop ? GEN_STOP : 0;
}

/* Stop now, or once the job in flight is back. */
static int close_soon(stream_t *s)
{
    if (!s->busy)
        return GEN_STOP;
    s->closing = true;
    return 0;
}

static int on_tick(rt_actor_t *self, stream_t *s)
{
    uint64_t now = rt_now_ms(rt_actor_rt(self));
    s->timer = 0;
    if (!s->busy && now >= s->deadline_ms)
        return GEN_STOP;
    arm(self, s,
        s->busy || now >= s->deadline_ms ? s->idle_ms : s->deadline_ms - now);
    return 0;
}

static int on_down(stream_t *s, const rt_msg_t *m)
{
    return m->ref == s->mon ? close_soon(s) : 0;
}

static int on_engine_exit(stream_t *s, const rt_msg_t *m)
{
    return m->from == s->engine ? close_soon(s) : 0;
}

static int st_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case MSG_DONE:
        return on_done(self, state, m);
    case MSG_TICK:
        return on_tick(self, state);
    case RT_MSG_DOWN:
        return on_down(state, m);
    case RT_MSG_EXIT:
        return on_engine_exit(state, m);
    default:
        return 0;
    }
}

/* Answer a call that will not get its reply: the stream is going. */
static void answer_gone(rt_t *rt, rt_from_t from, uint32_t type)
{
    if (from.ref == 0)
        return;
    rt_msg_t *r = rt_msg_new(type);
    r->reason = CLEO_ENOPROC;
    (void)gen_server_reply(rt, from, r);
}

/* Abort the put (or close the get) and drop the database reference on
 * the pool; if the pool refuses (shutdown), job_free does it here. */
static void st_terminate(rt_actor_t *self, void *state, int reason)
{
    (void)reason;
    stream_t *s = state;
    rt_t *rt = rt_actor_rt(self);
    if (s->timer != 0)
        (void)rt_timer_cancel(rt, s->timer);
    answer_gone(rt, s->waiting, s->waiting_type);
    answer_gone(rt, s->abort_from, STO_MSG_STREAM_ABORT);
    sjob_t *j = sto__xcalloc(1, sizeof *j);
    j->op = OP_BYE;
    j->ref = s->ref; /* the stream's reference passes to the job */
    j->put = s->put;
    j->get = s->get;
    (void)rt_work_submit(self, job_run, j, job_free, MSG_DONE);
    free(s);
}

static const gen_server_cbs_t stream_cbs = {
    .name = "sto_stream",
    .init = st_init,
    .handle_call = st_call,
    .handle_info = st_info,
    .terminate = st_terminate,
};

int sto__stream_adopt_get(rt_actor_t *self, sto__dbref_t *ref, sto_get_t *get,
                          uint64_t left, rt_pid_t owner, uint32_t idle_ms,
                          rt_pid_t *out)
{
    start_t a = {ref,     NULL, {0, 0, 0}, rt_self(self),
                 idle_ms, get,  left,      owner};
    gen_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = true};
    int rc =
        gen_server_start(rt_actor_rt(self), self, &stream_cbs, &a, &o, out);
    sto_get_close(a.get); /* init did not take it: only a snapshot, memory */
    return rc;
}

int sto__stream_start(rt_actor_t *self, sto__dbref_t *ref, rt_msg_t *req,
                      rt_from_t from, uint32_t idle_ms)
{
    start_t a = {ref, req, from, rt_self(self), idle_ms, NULL, 0, 0};
    /* Not linked through gen_opts: a linked starter would be the
     * stream's parent, whose exit stops it at once, while a trapped
     * exit lets a stream with a job in flight wait for it. No mailbox
     * limit: the owner has one call in flight at a time (a second is
     * answered CLEO_ESTATE), so the mailbox stays a few messages long,
     * and a limit could only cut an admitted PUT in the middle; load is
     * shed when a stream is asked for (engine.c). */
    gen_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = true};
    return gen_server_start(rt_actor_rt(self), self, &stream_cbs, &a, &o, NULL);
}
