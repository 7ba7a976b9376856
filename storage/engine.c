/*
 * engine.c - the storage engine actor: a gen_server that owns the
 * database and answers storage.proto requests. Outside init (open) and
 * terminate (close), as in OTP, it never touches RocksDB on a scheduler
 * thread: every request becomes a job on the blocking pool (job.c) and
 * is answered when the job's done message comes back, so the server keeps
 * taking requests while jobs run (group commit needs many puts in flight
 * at once).
 */
#include "storage/engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/actors.h"
#include "storage/job.h"
#include "storage/sto.h"
#include "storage/stream.h"

/* The done message of a job, sent to the engine by the pool. */
#define STO__MSG_DONE (STO_MSG_BASE + 0xFFu)

/* A restarted engine may find its predecessor's last jobs still holding
 * the database open (RocksDB's lock), so init retries for this long. */
#define OPEN_RETRIES 200
#define OPEN_RETRY_NS 10000000L /* 10 ms */

/* A request handed to the pool and not yet answered. The engine keeps
 * its own record rather than a pointer to the job, which the pool owns
 * and may free once the engine is gone. */
typedef struct {
    uint64_t id;
    rt_from_t from;
    uint32_t type;
} pending_t;

typedef struct {
    const sto_engine_conf_t *conf; /* borrowed: outlives the engine */
    sto__dbref_t *ref; /* the engine's reference */
    pending_t *pend;   /* unanswered requests, in submission order */
    size_t npend, cappend;
    uint64_t next_id;
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

/* Open the database, waiting out a predecessor's jobs that still hold
 * it. Blocking, as OTP's init is: it runs once per (re)start. */
static int open_db(const sto_engine_conf_t *c, sto_db_t **out)
{
    int rc = CLEO_ESTORAGE;
    for (int i = 0; i < OPEN_RETRIES && rc == CLEO_ESTORAGE; i++) {
        if (i > 0)
            nanosleep(&(struct timespec){0, OPEN_RETRY_NS}, NULL);
        rc = sto_db_open(c->path, &c->opts, out);
    }
    return rc;
}

void sto_engine_conf_init(sto_engine_conf_t *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    sto_opts_init(&c->opts);
}

static int eng_init(rt_actor_t *self, void *arg, void **state)
{
    (void)self;
    sto_db_t *db;
    int rc = open_db(arg, &db);
    if (rc < 0)
        return rc;
    engine_t *e = calloc(1, sizeof *e);
    sto__dbref_t *ref = calloc(1, sizeof *ref);
    if (e == NULL || ref == NULL)
        abort(); /* fixed-size control structs (STYLE rule 26) */
    ref->db = db;
    ref->refs = 1;
    pthread_mutex_init(&ref->lock, NULL);
    e->ref = ref;
    e->conf = arg;
    *state = e;
    return 0;
}

static void pending_add(engine_t *e, const pending_t *p)
{
    if (e->npend == e->cappend) {
        e->cappend = e->cappend ? 2 * e->cappend : 16;
        e->pend = realloc(e->pend, e->cappend * sizeof *e->pend);
        if (e->pend == NULL)
            abort(); /* control struct: one entry per request in flight */
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

/* A request: hand it to the pool; the reply waits for on_done(). */
static int on_request(rt_actor_t *self, engine_t *e, rt_msg_t *req,
                      rt_from_t from, rt_msg_t **reply)
{
    if (!sto__job_is_valid(req))
        return answer_now(req, CLEO_EBADREQ, reply);
    sto__job_t *j = sto__job_new(e->ref, req, from);
    j->id = ++e->next_id;
    int rc =
        rt_work_submit(self, sto__job_run, j, sto__job_free, STO__MSG_DONE);
    if (rc < 0) /* the job was freed with its request */
        return answer_now(req, rc, reply);
    pending_add(e, &(pending_t){e->next_id, from, req->type});
    return GEN_NOREPLY;
}

/* A stream request: a stream actor takes it and answers the caller. */
static int on_stream(rt_actor_t *self, engine_t *e, rt_msg_t *req,
                     rt_from_t from, rt_msg_t **reply)
{
    if (!sto__stream_req_is_valid(req))
        return answer_now(req, CLEO_EBADREQ, reply);
    int rc = sto__stream_start(self, e->ref, req, from, e->conf->stream_idle_ms);
    return rc < 0 ? answer_now(req, rc, reply) : GEN_NOREPLY;
}

/* A request type the engine does not know: a caller's bug, answered
 * rather than crashing the engine that everyone shares. */
static int on_unknown(rt_msg_t *req, rt_msg_t **reply)
{
    return answer_now(req, CLEO_EBADREQ, reply);
}

static int eng_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    switch (req->type) { /* size: dispatch */
    case STO_MSG_BUCKET_CREATE:
    case STO_MSG_BUCKET_DELETE:
    case STO_MSG_BUCKET_EXISTS:
    case STO_MSG_BUCKET_LIST:
    case STO_MSG_BUCKET_DU:
    case STO_MSG_HEAD:
    case STO_MSG_DELETE:
    case STO_MSG_LIST:
    case STO_MSG_PUT:
    case STO_MSG_GET:
        return on_request(self, state, req, from, reply);
    case STO_MSG_PUT_BEGIN:
    case STO_MSG_MPU_PART_BEGIN:
    case STO_MSG_GET_OPEN:
        return on_stream(self, state, req, from, reply);
    default:
        return on_unknown(req, reply);
    }
}

/* A job is done: answer its caller with its status and result. The job
 * (now empty of results) is freed with m. */
static int on_done(rt_actor_t *self, engine_t *e, rt_msg_t *m)
{
    sto__job_t *j = m->payload;
    pending_del(e, j->id);
    rt_msg_t *reply = rt_msg_new(j->type);
    reply->reason = m->reason;
    if (m->reason == 0 && j->out != NULL)
        sto_msg_set_body(reply, j->res, j->out);
    else if (m->reason == 0 && j->res != NULL)
        rt_msg_set_pb(reply, j->res);
    if (m->reason == 0)
        j->res = NULL, j->out = NULL;
    (void)gen_server_reply(rt_actor_rt(self), j->from, reply);
    return 0;
}

static int eng_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case STO__MSG_DONE:
        return on_done(self, state, m);
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
    free(e->pend);
    sto__dbref_drop(e->ref); /* closes now unless jobs are in flight */
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
    gen_opts_t o = {.name = STO_ENGINE_NAME,
                    .link = true,
                    .sched = RT_SCHED_ANY,
                    .trap_exit = true};
    return gen_server_start(rt_actor_rt(sup), sup, &engine_cbs, spec->arg, &o,
                            out);
}
