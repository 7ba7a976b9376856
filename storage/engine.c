/*
 * engine.c - the storage engine actor: a gen_server that owns the
 * database and answers storage.proto requests. It never touches RocksDB
 * on a scheduler thread: the open (with its retries) is a job on the
 * blocking pool, calls that arrive meanwhile wait in a queue, every
 * request becomes a job (job.c) or a stream actor (stream.c) answered
 * when its work comes back, so the server keeps taking requests while
 * jobs run (group commit needs many puts in flight at once), and the
 * close is a job too (inline only at runtime shutdown).
 *
 * Load shedding (conf->mailbox_limit, storage.mailbox_limit): the engine
 * hands each request to a pool at once, so under a flood its mailbox
 * stays short and the backlog is the pools' queues. The limit therefore
 * bounds three things: the mailbox (a spawn option: senders that check
 * rt_is_overloaded(), as the gateway does, refuse before sending), and
 * the reads and the writes queued or running on the pools (counted here:
 * past the limit a new request is answered CLEO_EOVERLOAD at once, and
 * nothing of it is done). Streams already open are not counted and never
 * refused: a stream has one job at a time, and cutting a PUT in the
 * middle would waste what the client already sent; a new stream is
 * refused while the writes are at the limit.
 */
#include "storage/engine.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/actors.h"
#include "storage/job.h"
#include "storage/repl.h"
#include "storage/ringver.h"
#include "storage/sto.h"
#include "storage/stream.h"

/* The done message of a job, sent to the engine by the pool. */
#define STO__MSG_DONE CLEO__STORAGE__MSG_ID__ENGINE_JOB_DONE

/* The open's done message, sent to the engine by the pool. */
#define STO__MSG_OPENED CLEO__STORAGE__MSG_ID__ENGINE_OPENED
/* The close's done message (to a dead engine: dropped). */
#define STO__MSG_CLOSED CLEO__STORAGE__MSG_ID__ENGINE_CLOSED

/* A restarted engine may find its predecessor's last jobs (a compaction,
 * a stream's abort) still holding the database open (RocksDB's lock), so
 * the open retries for this long, on the pool. */
#define OPEN_RETRIES 3000
#define OPEN_RETRY_NS 10000000L /* 10 ms */

/* A request handed to the pool and not yet answered. The engine keeps
 * its own record rather than a pointer to the job, which the pool owns
 * and may free once the engine is gone. */
typedef struct {
    uint64_t id;
    rt_from_t from;
    uint32_t type;
} pending_t;

/* A call that came while the database was opening. */
typedef struct {
    rt_msg_t *req; /* a copy of the request's header and payload */
    rt_from_t from;
} queued_t;

typedef struct {
    const sto_engine_conf_t *conf; /* borrowed: outlives the engine */
    bool opening;    /* the open is on the pool: calls wait in queue */
    queued_t *queue; /* nqueue calls, in arrival order */
    size_t nqueue, capqueue;
    int open_rc;       /* the open's error, answered to the queue */
    sto__dbref_t *ref; /* the engine's reference; NULL while opening */
    pending_t *pend;   /* unanswered requests, in submission order */
    size_t npend, cappend;
    uint64_t next_id;
    uint32_t inflight[2]; /* on the pools: [0] writes, [1] reads */
    sto__ringver_t ring;  /* the node's RING version (ringver.h) */
    sto__view_t view;     /* its RING and N/W/R/D (repl.h) */
} engine_t;

sto__dbref_t *sto__dbref_take(sto__dbref_t *ref)
{
    pthread_mutex_lock(&ref->lock);
    ref->refs++;
    pthread_mutex_unlock(&ref->lock);
    return ref;
}

void sto__dbref_drop(sto__dbref_t *ref)
{
    if (ref == NULL)
        return;
    pthread_mutex_lock(&ref->lock);
    uint32_t left = --ref->refs;
    pthread_mutex_unlock(&ref->lock);
    if (left > 0)
        return;
    sto_db_close(ref->db);
    pthread_mutex_destroy(&ref->lock);
    free(ref);
}

/* The open as blocking work: its result is a reference on the database,
 * dropped (closing it) if the engine is gone when it comes back. */
typedef struct {
    const sto_engine_conf_t *conf;
    sto__dbref_t *ref; /* set by run_open() */
} open_job_t;

/* Open the database, waiting out a predecessor's jobs that still hold
 * it. On the pool: the sleeps block no scheduler. */
static int run_open(void *arg)
{
    open_job_t *o = arg;
    const sto_engine_conf_t *c = o->conf;
    sto_db_t *db = NULL;
    int rc = CLEO_ESTORAGE;
    for (int i = 0; i < OPEN_RETRIES && rc == CLEO_ESTORAGE; i++) {
        if (i > 0)
            nanosleep(&(struct timespec){0, OPEN_RETRY_NS}, NULL);
        rc = sto_db_open(c->path, &c->opts, &db);
    }
    if (rc < 0)
        return rc;
    sto__dbref_t *ref = cleo_xcalloc(1, sizeof *ref); /* STYLE rule 26 */
    ref->db = db;
    ref->refs = 1;
    pthread_mutex_init(&ref->lock, NULL);
    o->ref = ref;
    return 0;
}

static void open_free(void *arg)
{
    open_job_t *o = arg;
    sto__dbref_drop(o->ref);
    free(o);
}

/* Drop a reference as blocking work: the last one closes the database,
 * which flushes and joins RocksDB's threads. */
static int run_drop(void *arg)
{
    sto__dbref_drop(arg);
    return 0;
}

void sto_engine_conf_init(sto_engine_conf_t *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    sto_opts_init(&c->opts);
    c->mailbox_limit = STO_DEFAULT_MAILBOX_LIMIT;
}

/* Start opening on the pool and return at once: the supervisor's start
 * never waits on the disk, and calls queue until the open is done. */
static int eng_init(rt_actor_t *self, void *arg, void **state)
{
    engine_t *e = cleo_xcalloc(1, sizeof *e); /* STYLE rule 26 */
    open_job_t *o = cleo_xcalloc(1, sizeof *o);
    e->conf = arg;
    e->opening = true;
    o->conf = arg;
    int rc = rt_work_submit(self, run_open, o, open_free, STO__MSG_OPENED);
    if (rc < 0) { /* o is freed */
        free(e);
        return rc;
    }
    *state = e;
    return 0;
}

static void pending_add(engine_t *e, const pending_t *p)
{
    if (e->npend == e->cappend) {
        e->cappend = e->cappend ? 2 * e->cappend : 16;
        /* control struct: one entry per request in flight */
        e->pend = cleo_xrealloc(e->pend, e->cappend * sizeof *e->pend);
    }
    e->pend[e->npend++] = *p;
}

/* Forget request id. Jobs mostly finish in submission order, so the
 * search from the front is short. */
static void pending_del(engine_t *e, uint64_t id)
{
    for (size_t i = 0; i < e->npend; i++) {
        if (e->pend[i].id != id)
            continue;
        memmove(&e->pend[i], &e->pend[i + 1],
                (e->npend - i - 1) * sizeof *e->pend);
        e->npend--;
        return;
    }
}

/* Reply at once with status rc and no payload. */
static int answer_now(const rt_msg_t *req, int rc, rt_msg_t **reply)
{
    *reply = rt_msg_new(req->type);
    (*reply)->reason = rc;
    return 0;
}

/* Reads are short (RocksDB's cache, or one chunk from disk): the
 * blocking pool. Everything else waits on a synced write (or is long:
 * scrub, compaction): the I/O pool, where many wait at once and share
 * group commits without holding reads back. */
static bool is_read(uint32_t type)
{
    const sto__op_t *op = sto__op_find(type);
    return op != NULL && op->kind == STO__OP_READ;
}

/* The maintenance actors' requests come one at a time and are never
 * shed; every client request may be. */
static bool sheds(uint32_t type)
{
    const sto__op_t *op = sto__op_find(type);
    return op == NULL || op->kind != STO__OP_MAINT;
}

/* Are the pools holding as many requests of this kind (read or write)
 * as the limit allows? Then type is refused: counted and answered
 * CLEO_EOVERLOAD by the caller. */
static bool is_full(rt_actor_t *self, const engine_t *e, bool read,
                    uint32_t type)
{
    uint32_t limit = e->conf->mailbox_limit;
    if (limit == 0 || e->inflight[read] < limit || !sheds(type))
        return false;
    metrics_inc(rt_actor_rt(self), "sto.overload", 1);
    return true;
}

/* A write job: after the test-only delay (as on a slow disk), the
 * request's sto_* call. On the I/O pool: the sleep blocks no scheduler. */
static int run_write(void *arg)
{
    sto__job_t *j = arg;
    uint32_t ms = j->ref->write_delay_ms;
    if (ms != 0)
        nanosleep(&(struct timespec){(time_t)(ms / 1000),
                                     (long)(ms % 1000) * 1000000L},
                  NULL);
    return sto__job_run(j);
}

/* A request: hand it to the pool; the reply waits for on_done(). */
static int on_request(rt_actor_t *self, engine_t *e, rt_msg_t *req,
                      rt_from_t from, rt_msg_t **reply)
{
    if (!sto__job_is_valid(req))
        return answer_now(req, CLEO_EBADREQ, reply);
    bool read = is_read(req->type);
    if (is_full(self, e, read, req->type))
        return answer_now(req, CLEO_EOVERLOAD, reply);
    sto__job_t *j = sto__job_new(e->ref, req, from);
    j->id = ++e->next_id;
    int rc = read ? rt_work_submit(self, sto__job_run, j, sto__job_free,
                                   STO__MSG_DONE)
                  : rt_work_submit_io(self, run_write, j, sto__job_free,
                                      STO__MSG_DONE);
    if (rc < 0) /* the job was freed with its request */
        return answer_now(req, rc, reply);
    e->inflight[read]++;
    pending_add(e, &(pending_t){e->next_id, from, req->type});
    return GEN_NOREPLY;
}

/* A stream request: a stream actor takes it and answers the caller. */
static int on_stream(rt_actor_t *self, engine_t *e, rt_msg_t *req,
                     rt_from_t from, rt_msg_t **reply)
{
    if (!sto__stream_req_is_valid(req))
        return answer_now(req, CLEO_EBADREQ, reply);
    if (is_full(self, e, false, req->type)) /* the disk is behind */
        return answer_now(req, CLEO_EOVERLOAD, reply);
    int rc =
        sto__stream_start(self, e->ref, req, from, e->conf->stream_idle_ms);
    return rc < 0 ? answer_now(req, rc, reply) : GEN_NOREPLY;
}

/* A request type the engine does not know: a caller's bug, answered
 * rather than crashing the engine that everyone shares. */
static int on_unknown(rt_msg_t *req, rt_msg_t **reply)
{
    return answer_now(req, CLEO_EBADREQ, reply);
}

/* By the dispatch table (job.h): a job on a pool, or a stream. GET_OPEN
 * is a job, and becomes a stream only if more than a block remains. */
static int dispatch(rt_actor_t *self, engine_t *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    const sto__op_t *op = sto__op_find(req->type);
    if (op == NULL)
        return on_unknown(req, reply);
    sto__ringver_check(self, &state->ring, req, from);
    if (sto__repl_wants(&state->view, req)) { /* a write to replicate */
        int rc = sto__repl_start(self, &state->view, state->ref->db,
                                 state->conf->opts.node_id, req, from);
        return rc < 0 ? answer_now(req, rc, reply) : GEN_NOREPLY;
    }
    if (op->kind == STO__OP_STREAM)
        return on_stream(self, state, req, from, reply);
    return on_request(self, state, req, from, reply);
}

/* A call while the database opens: keep it (its payload moved to a
 * header of our own, as the runtime frees req) until on_opened(). */
static int on_queue(engine_t *e, rt_msg_t *req, rt_from_t from)
{
    if (e->nqueue == e->capqueue) {
        e->capqueue = e->capqueue ? 2 * e->capqueue : 16;
        /* control struct: one entry per waiting call */
        e->queue = cleo_xrealloc(e->queue, e->capqueue * sizeof *e->queue);
    }
    rt_msg_t *q = rt_msg_new(req->type);
    q->arg = req->arg;
    q->tag = req->tag;
    q->payload = req->payload;
    q->payload_free = req->payload_free;
    req->payload = NULL;
    e->queue[e->nqueue++] = (queued_t){q, from};
    return GEN_NOREPLY;
}

static int eng_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    engine_t *e = state;
    uint32_t limit = e->conf->mailbox_limit;
    if (e->opening && limit != 0 && e->nqueue >= limit && sheds(req->type))
        return answer_now(req, CLEO_EOVERLOAD, reply);
    if (e->opening)
        return on_queue(e, req, from);
    return dispatch(self, e, req, from, reply);
}

/* Serve the calls that waited for the open, in order. */
static void serve_queue(rt_actor_t *self, engine_t *e)
{
    for (size_t i = 0; i < e->nqueue; i++) {
        queued_t *q = &e->queue[i];
        rt_msg_t *reply = NULL;
        if (dispatch(self, e, q->req, q->from, &reply) != GEN_NOREPLY)
            (void)gen_server_reply(rt_actor_rt(self), q->from,
                                   reply ? reply : rt_msg_new(q->req->type));
        rt_msg_free(q->req);
    }
    e->nqueue = 0;
}

/* The open is back: serve, or stop with its error so that the
 * supervisor restarts the engine (and the waiting calls learn it). */
static int on_opened(rt_actor_t *self, engine_t *e, rt_msg_t *m)
{
    open_job_t *o = m->payload;
    if (m->reason < 0) {
        logger_log(rt_actor_rt(self), LOG_ERROR,
                   "sto_engine: cannot open %s: %s", e->conf->path,
                   sto_strerror(m->reason));
        e->open_rc = m->reason;
        return m->reason;
    }
    e->ref = o->ref;
    e->ref->rt = rt_actor_rt(self);
    e->ref->write_delay_ms = e->conf->debug_write_delay_ms;
    o->ref = NULL;
    e->opening = false;
    serve_queue(self, e);
    return 0;
}

/* A job is done: answer its caller with its status and result. The job
 * (now empty of results) is freed with m. */
static int on_done(rt_actor_t *self, engine_t *e, rt_msg_t *m)
{
    sto__job_t *j = m->payload;
    pending_del(e, j->id);
    e->inflight[is_read(j->type)]--;
    rt_msg_t *reply = rt_msg_new(j->type);
    reply->reason = m->reason;
    if (m->reason == 0 && j->get != NULL) { /* more than one block */
        rt_pid_t pid;
        int rc = sto__stream_adopt_get(self, e->ref, j->get, j->left, j->owner,
                                       e->conf->stream_idle_ms, &pid);
        if (rc == 0) { /* the stream is the reply's sender: see sto.h */
            ((Cleo__Storage__GetOpen *)j->res)->stream = 1;
            reply->from = pid;
            j->get = NULL;
        }
        reply->reason = rc;
    }
    if (reply->reason == 0 && j->out != NULL)
        rt_msg_set_body(reply, j->res, j->out);
    else if (reply->reason == 0 && j->res != NULL)
        rt_msg_set_pb(reply, j->res);
    if (reply->reason == 0)
        j->res = NULL, j->out = NULL;
    (void)gen_server_reply(rt_actor_rt(self), j->from, reply);
    return 0;
}

/* ENGINE_RING: a cluster state (its packed bytes as the payload buffer),
 * from the bucket sync. */
static void on_cluster(engine_t *e, const rt_msg_t *m)
{
    rt_buf_t *b = m->payload;
    if (b == NULL || sto__view_set(&e->view, (const uint8_t *)rt_buf_data(b),
                                   rt_buf_len(b)) < 0)
        return;
    sto__ringver_set(&e->ring, e->view.version);
}

static int eng_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case STO__MSG_DONE:
        return on_done(self, state, m);
    case STO__MSG_OPENED:
        return on_opened(self, state, m);
    case CLEO__STORAGE__MSG_ID__ENGINE_RING:
        on_cluster(state, m);
        return 0;
    default:
        return 0; /* stray EXITs and the like */
    }
}

static void eng_terminate(rt_actor_t *self, void *state, int reason)
{
    (void)reason;
    engine_t *e = state;
    if (e == NULL)
        return;
    /* The jobs in flight will report to a dead pid: answer their callers
     * now, as Erlang's call would see the server go down. A put may still
     * commit after this answer, as after a timeout. */
    for (size_t i = 0; i < e->npend; i++) {
        rt_msg_t *reply = rt_msg_new(e->pend[i].type);
        reply->reason = CLEO_ENOPROC;
        (void)gen_server_reply(rt_actor_rt(self), e->pend[i].from, reply);
    }
    for (size_t i = 0; i < e->nqueue; i++) {
        rt_msg_t *reply = rt_msg_new(e->queue[i].req->type);
        reply->reason = e->open_rc < 0 ? e->open_rc : CLEO_ENOPROC;
        (void)gen_server_reply(rt_actor_rt(self), e->queue[i].from, reply);
        rt_msg_free(e->queue[i].req);
    }
    free(e->pend);
    free(e->queue);
    sto__ringver_free(&e->ring);
    sto__view_free(&e->view);
    /* The close (unless jobs in flight hold the database) runs on the
     * pool; at shutdown the pool refuses work and it runs here. */
    if (e->ref != NULL &&
        rt_work_submit(self, run_drop, e->ref, NULL, STO__MSG_CLOSED) < 0)
        sto__dbref_drop(e->ref);
    free(e);
}

static const gen_server_cbs_t engine_cbs = {
    .name = "sto_engine",
    .init = eng_init,
    .handle_call = eng_call,
    .handle_info = eng_info,
    .terminate = eng_terminate,
};

int sto_engine_start(rt_actor_t *sup, const sup_child_spec_t *spec, void *extra,
                     rt_pid_t *out)
{
    (void)extra;
    const sto_engine_conf_t *c = spec->arg;
    gen_opts_t o = {.name = STO_ENGINE_NAME,
                    .link = true,
                    .sched = RT_SCHED_ANY,
                    .trap_exit = true,
                    .mailbox_limit = c->mailbox_limit};
    return gen_server_start(rt_actor_rt(sup), sup, &engine_cbs, spec->arg, &o,
                            out);
}
