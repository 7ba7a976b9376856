/*
 * maintactor.c - the scrubber and the compactor (sto.h, "maintenance"):
 * two gen_servers of one kind that run a maintenance job periodically
 * and on demand. They own no database handle: each run is a call to the
 * engine, which runs it on the blocking pool, so the database stays the
 * engine's alone and a restarted engine is simply found again by name.
 *
 * One run at a time: calls that arrive while a run is in flight wait for
 * it and share its result (a second scrub right after the first would
 * only repeat it), and a tick that finds a run in flight is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/pb.h"
#include "storage/sto.h"

#define MSG_TICK CLEO__STORAGE__MSG_ID__MAINT_TICK /* the periodic timer */

/* What distinguishes the two actors. */
typedef struct {
    const char *name; /* registered name and log prefix */
    uint32_t type;    /* STO_MSG_SCRUB or STO_MSG_COMPACT */
} kind_t;

static const kind_t scrubber = {STO_SCRUBBER_NAME, STO_MSG_SCRUB};
static const kind_t compactor = {STO_COMPACTOR_NAME, STO_MSG_COMPACT};

typedef struct {
    const kind_t *k;
    uint64_t interval_ms; /* 0 = on demand only */
    bool running;         /* a call to the engine is in flight */
    rt_from_t *waiting;   /* callers of the run in flight */
    size_t nwait, capwait;
    uint64_t runs; /* runs finished, for the log */
} maint_t;

typedef struct {
    const kind_t *k;
    const sto_engine_conf_t *conf;
} start_t;

static int arm(rt_actor_t *self, const maint_t *s)
{
    if (s->interval_ms == 0)
        return 0;
    return rt_send_after(rt_actor_rt(self), s->interval_ms, rt_self(self),
                         rt_msg_new(MSG_TICK), NULL);
}

static int mt_init(rt_actor_t *self, void *arg, void **state)
{
    const start_t *a = arg;
    maint_t *s = cleo_xcalloc(1, sizeof *s); /* STYLE rule 26 */
    s->k = a->k;
    s->interval_ms = a->k->type == STO_MSG_SCRUB ? a->conf->scrub_interval_ms
                                                 : a->conf->compact_interval_ms;
    int rc = arm(self, s);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* The reply for one waiting caller: a copy of the result. */
static rt_msg_t *result_for(const maint_t *s, int status,
                            const Cleo__Storage__ScrubReport *rep)
{
    rt_msg_t *m = rt_msg_new(s->k->type);
    m->reason = status;
    if (status < 0 || rep == NULL)
        return m;
    Cleo__Storage__ScrubReport *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__scrub_report__init(p);
    p->chunks = rep->chunks;
    p->bytes = rep->bytes;
    p->corrupt = rep->corrupt;
    rt_msg_set_pb(m, p);
    return m;
}

static void log_result(rt_actor_t *self, const maint_t *s, int status,
                       const Cleo__Storage__ScrubReport *rep)
{
    rt_t *rt = rt_actor_rt(self);
    if (status < 0)
        logger_log(rt, LOG_ERROR, "%s: failed: %s", s->k->name,
                   sto_strerror(status));
    else if (rep != NULL)
        logger_log(rt, rep->corrupt > 0 ? LOG_ERROR : LOG_INFO,
                   "%s: %llu chunk(s), %llu byte(s), %llu corrupt", s->k->name,
                   (unsigned long long)rep->chunks,
                   (unsigned long long)rep->bytes,
                   (unsigned long long)rep->corrupt);
    else
        logger_log(rt, LOG_INFO, "%s: done", s->k->name);
}

/* The engine answered (or failed): answer everyone who waited. An
 * rt_reply_cb; also called directly when there is no engine. */
static int run_reply(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    maint_t *s = data;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    const Cleo__Storage__ScrubReport *rep =
        status == 0 && reply != NULL && s->k->type == STO_MSG_SCRUB
            ? reply->payload
            : NULL;
    log_result(self, s, status, rep);
    for (size_t i = 0; i < s->nwait; i++)
        (void)gen_server_reply(rt_actor_rt(self), s->waiting[i],
                               result_for(s, status, rep));
    s->nwait = 0;
    s->running = false;
    s->runs++;
    return 0;
}

/* Start a run: one call to the engine, with no timeout (a scrub reads
 * the whole database); the engine answers even when it stops. */
static void run_start(rt_actor_t *self, maint_t *s)
{
    rt_pid_t eng = rt_whereis(rt_actor_rt(self), STO_ENGINE_NAME);
    s->running = true;
    if (eng == RT_PID_NONE) {
        (void)run_reply(self, NULL, CLEO_ENOPROC, s);
        return;
    }
    (void)gen_server_call(self, eng, rt_msg_new(s->k->type), RT_INFINITY,
                          run_reply, s);
}

static void wait_add(maint_t *s, rt_from_t from)
{
    if (s->nwait == s->capwait) {
        s->capwait = s->capwait ? 2 * s->capwait : 4;
        /* control struct: one entry per waiting caller */
        s->waiting = cleo_xrealloc(s->waiting, s->capwait * sizeof *s->waiting);
    }
    s->waiting[s->nwait++] = from;
}

static int on_run(rt_actor_t *self, maint_t *s, rt_from_t from)
{
    wait_add(s, from);
    if (!s->running)
        run_start(self, s);
    return GEN_NOREPLY;
}

static int on_unknown(const rt_msg_t *req, rt_msg_t **reply)
{
    *reply = rt_msg_new(req->type);
    (*reply)->reason = CLEO_EBADREQ;
    return 0;
}

static int mt_call(rt_actor_t *self, void *state, rt_msg_t *req, rt_from_t from,
                   rt_msg_t **reply)
{
    maint_t *s = state;
    if (req->type == s->k->type)
        return on_run(self, s, from);
    return on_unknown(req, reply);
}

static int on_tick(rt_actor_t *self, maint_t *s)
{
    if (!s->running)
        run_start(self, s);
    return arm(self, s);
}

static int mt_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case MSG_TICK:
        return on_tick(self, state);
    default:
        return 0;
    }
}

static void mt_terminate(rt_actor_t *self, void *state, int reason)
{
    (void)reason;
    maint_t *s = state;
    for (size_t i = 0; i < s->nwait; i++) {
        rt_msg_t *r = rt_msg_new(s->k->type);
        r->reason = CLEO_ENOPROC;
        (void)gen_server_reply(rt_actor_rt(self), s->waiting[i], r);
    }
    free(s->waiting);
    free(s);
}

static const gen_server_cbs_t maint_cbs = {
    .name = "sto_maint",
    .init = mt_init,
    .handle_call = mt_call,
    .handle_info = mt_info,
    .terminate = mt_terminate,
};

static int start(rt_actor_t *sup, const kind_t *k, const sup_child_spec_t *spec,
                 rt_pid_t *out)
{
    start_t a = {k, spec->arg};
    gen_opts_t o = {.name = k->name,
                    .link = true,
                    .sched = RT_SCHED_ANY,
                    .trap_exit = true};
    return gen_server_start(rt_actor_rt(sup), sup, &maint_cbs, &a, &o, out);
}

int sto_scrubber_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                       void *extra, rt_pid_t *out)
{
    (void)extra;
    return start(sup, &scrubber, spec, out);
}

int sto_compactor_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                        void *extra, rt_pid_t *out)
{
    (void)extra;
    return start(sup, &compactor, spec, out);
}
