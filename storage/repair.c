/*
 * repair.c - the repairer (repair.h, sto.h): a gen_server that persists
 * the replicas a write missed and drains them, target by target.
 *
 * Each target (a node that missed writes) has a record here: how many
 * entries it has queued (counted from the engine at start and at the end
 * of each pass, tracked in between from the adds and removes), its retry
 * timer and backoff, and the pass in progress: a page of entries scanned
 * from the queue after a cursor, and the pushes (repair_push.c) in
 * flight. The database is the engine's: every queue operation is a call
 * to it, run on its pool. Records live until the repairer stops (a
 * cluster has few nodes).
 */
#include "storage/repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"
#include "storage/pb.h"

#define TICK CLEO__STORAGE__MSG_ID__REPAIR_TICK
#define TICK_COUNT 0   /* a TICK's arg: count the whole queue */
#define RETRY_MS 1000u /* a failed count or add: again after */

typedef struct repair_s repair_t;

typedef struct {
    repair_t *owner;
    char node[STO__RQ_NODE_MAX + 1];
    uint32_t idx;                       /* in owner->t */
    uint64_t queued;                    /* entries queued */
    uint64_t repaired, failed, dropped; /* since the repairer started */
    uint32_t backoff_ms;                /* the next retry's delay */
    uint32_t retry_ms; /* the armed timer's delay; 0 = none armed */
    rt_ref_t timer;
    uint32_t gen; /* a timer's tick of another generation is stale */
    bool passing; /* a pass runs */
    bool again;   /* an entry came during the pass: another one after */
    bool down;    /* the pass met the target unreachable: no new pushes */
    uint32_t pass_ok, pass_dropped, pass_failed; /* this pass's pushes */
    rt_pid_t engine;                 /* the target's engine, for this pass */
    Cleo__Storage__RepairList *page; /* entries scanned; NULL = none */
    size_t next;                     /* the page's next entry to push */
    sto__push_t *push[STO__REPAIR_PARALLEL]; /* in flight (NULL = free) */
    uint32_t inflight;
} target_t;

struct repair_s {
    uint32_t min_ms, max_ms; /* backoff */
    target_t **t;
    size_t nt, capt;
};

/* An entry on its way into the queue: REPAIR_ADD's callback data. */
typedef struct {
    repair_t *s;
    sto__rq_entry_t e;
    uint32_t tries; /* attempts made, this one included */
} add_t;

static rt_pid_t engine(rt_actor_t *self)
{
    return rt_whereis(rt_actor_rt(self), STO_ENGINE_NAME);
}

static int status_of(const rt_msg_t *reply, int status)
{
    return status == 0 && reply != NULL ? reply->reason : status;
}

static bool is_pb(const void *pb, const ProtobufCMessageDescriptor *d)
{
    return pb != NULL && ((const ProtobufCMessage *)pb)->descriptor == d;
}

/* The record of node, made if new. */
static target_t *target_get(repair_t *s, const char *node)
{
    for (size_t i = 0; i < s->nt; i++)
        if (strcmp(s->t[i]->node, node) == 0)
            return s->t[i];
    if (s->nt == s->capt) {
        s->capt = s->capt ? 2 * s->capt : 4;
        /* control struct: one per node of the cluster */
        s->t = cleo_xrealloc(s->t, s->capt * sizeof *s->t);
    }
    target_t *t = cleo_xcalloc(1, sizeof *t);
    t->owner = s;
    snprintf(t->node, sizeof t->node, "%s", node);
    t->idx = (uint32_t)s->nt;
    t->backoff_ms = s->min_ms;
    s->t[s->nt++] = t;
    return t;
}

/* The target's engine over distribution, or RT_PID_NONE while it is not
 * connected (a connection is then asked for: NODEUP follows). */
static rt_pid_t target_engine(rt_t *rt, const char *node)
{
    uint16_t idx;
    if (rt_dist_name(rt) == NULL || rt_dist_node(rt, node, &idx) < 0)
        return RT_PID_NONE;
    if (!rt_dist_is_up(rt, idx)) {
        (void)rt_dist_connect(rt, idx);
        return RT_PID_NONE;
    }
    return rt_dist_named(rt, idx, STO_ENGINE_NAME);
}

/* ---- timers ---------------------------------------------------------- */

static void arm(rt_actor_t *self, target_t *t, uint32_t ms)
{
    rt_msg_t *m = rt_msg_new(TICK);
    m->arg = ((uint64_t)(t->idx + 1) << 32) | ++t->gen;
    if (rt_send_after(rt_actor_rt(self), ms, rt_self(self), m, &t->timer) == 0)
        t->retry_ms = ms;
}

static void disarm(rt_actor_t *self, target_t *t)
{
    if (t->retry_ms == 0)
        return;
    (void)rt_timer_cancel(rt_actor_rt(self), t->timer);
    t->retry_ms = 0;
    t->gen++; /* a tick already queued is stale */
}

/* Retry after the backoff, which doubles for the next time. */
static void retry(rt_actor_t *self, target_t *t)
{
    disarm(self, t);
    arm(self, t, t->backoff_ms);
    uint32_t max = t->owner->max_ms;
    t->backoff_ms = t->backoff_ms > max / 2 ? max : 2 * t->backoff_ms;
}

/* ---- counting -------------------------------------------------------- */

static void count_target(rt_actor_t *self, target_t *t);

static Cleo__Storage__RepairScan *scan_req(const char *node)
{
    Cleo__Storage__RepairScan *q = sto__pb_calloc(1, sizeof *q);
    cleo__storage__repair_scan__init(q);
    q->node = sto__pb_strdup(node);
    return q;
}

/* A target's count is in: the queue's truth replaces the tracking. If
 * entries are left with nothing to drain them, a retry is armed. */
static int on_counted(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    target_t *t = data;
    int st = status_of(reply, status);
    const Cleo__Storage__RepairStats *r = st == 0 ? reply->payload : NULL;
    if (!is_pb(r, &cleo__storage__repair_stats__descriptor))
        return 0; /* the tracked count stands */
    t->queued = r->n_targets == 1 ? r->targets[0]->entries : 0;
    if (t->queued > 0 && !t->passing && t->retry_ms == 0)
        retry(self, t);
    return 0;
}

static void count_target(rt_actor_t *self, target_t *t)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_REPAIR_COUNT);
    rt_msg_set_pb(m, scan_req(t->node));
    (void)gen_server_call(self, engine(self), m, STO__REPAIR_CALL_MS,
                          on_counted, t);
}

static void pass_start(rt_actor_t *self, target_t *t);

/* The whole queue's count, at start: a record and a pass per target. */
static int on_counted_all(rt_actor_t *self, rt_msg_t *reply, int status,
                          void *data)
{
    repair_t *s = data;
    int st = status_of(reply, status);
    const Cleo__Storage__RepairStats *r = st == 0 ? reply->payload : NULL;
    if (!is_pb(r, &cleo__storage__repair_stats__descriptor)) {
        rt_msg_t *m = rt_msg_new(TICK); /* arg TICK_COUNT: again */
        (void)rt_send_after(rt_actor_rt(self), RETRY_MS, rt_self(self), m,
                            NULL);
        return 0;
    }
    for (size_t i = 0; i < r->n_targets; i++) {
        target_t *t = target_get(s, r->targets[i]->node);
        t->queued = r->targets[i]->entries;
        if (t->queued > 0)
            pass_start(self, t);
    }
    return 0;
}

static void count_all(rt_actor_t *self, repair_t *s)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_REPAIR_COUNT);
    rt_msg_set_pb(m, scan_req(""));
    if (gen_server_call(self, engine(self), m, STO__REPAIR_CALL_MS,
                        on_counted_all, s) < 0)
        (void)on_counted_all(self, NULL, CLEO_ENOPROC, s);
}

/* ---- a pass over one target's entries -------------------------------- */

static void fill(rt_actor_t *self, target_t *t);

static void page_free(target_t *t)
{
    if (t->page != NULL)
        cleo__storage__repair_list__free_unpacked(t->page, NULL);
    t->page = NULL;
    t->next = 0;
}

/* One line per pass that did something (not per retry of a node that
 * stays down, which would fill the log). */
static void pass_log(rt_actor_t *self, const target_t *t)
{
    if (t->pass_ok == 0 && t->pass_dropped == 0)
        return;
    logger_log(rt_actor_rt(self), t->pass_failed > 0 ? LOG_WARNING : LOG_INFO,
               "%s: %s: %u repaired, %u dropped, %u failed%s", STO_REPAIR_NAME,
               t->node, t->pass_ok, t->pass_dropped, t->pass_failed,
               t->down ? " (unreachable)" : "");
}

/* The pass is over: a clean one resets the backoff (and runs again soon
 * if entries came meanwhile); a failed one retries after it. */
static void pass_end(rt_actor_t *self, target_t *t)
{
    t->passing = false;
    page_free(t);
    pass_log(self, t);
    if (t->down || t->pass_failed > 0) {
        retry(self, t);
    } else {
        t->backoff_ms = t->owner->min_ms;
        if (t->again && t->retry_ms == 0)
            arm(self, t, t->owner->min_ms);
    }
    t->again = false;
    count_target(self, t);
}

static int on_scanned(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    target_t *t = data;
    int st = status_of(reply, status);
    Cleo__Storage__RepairList *l = st == 0 ? reply->payload : NULL;
    if (!is_pb(l, &cleo__storage__repair_list__descriptor)) {
        t->pass_failed++;
        pass_end(self, t);
        return 0;
    }
    reply->payload = NULL; /* ours */
    page_free(t);
    t->page = l;
    fill(self, t);
    return 0;
}

/* Scan the page after the cursor (the last entry of the page before). */
static void scan(rt_actor_t *self, target_t *t)
{
    Cleo__Storage__RepairScan *q = scan_req(t->node);
    const Cleo__Storage__RepairList *l = t->page;
    if (l != NULL && l->n_items > 0) {
        const Cleo__Storage__RepairItem *last = l->items[l->n_items - 1];
        q->after_bucket = sto__pb_strdup(last->bucket);
        q->after_key = sto__pb_strdup(last->key);
    }
    q->max = STO__RQ_PAGE;
    rt_msg_t *m = rt_msg_new(STO_MSG_REPAIR_SCAN);
    rt_msg_set_pb(m, q);
    if (gen_server_call(self, engine(self), m, STO__REPAIR_CALL_MS, on_scanned,
                        t) < 0) {
        t->pass_failed++;
        pass_end(self, t);
    }
}

static void on_push_end(rt_actor_t *self, void *data, sto__push_t *p,
                        sto__push_end_t how, bool removed)
{
    target_t *t = data;
    for (size_t i = 0; i < STO__REPAIR_PARALLEL; i++)
        if (t->push[i] == p)
            t->push[i] = NULL;
    sto__push_free(p);
    t->inflight--;
    rt_t *rt = rt_actor_rt(self);
    if (how == STO__PUSH_OK) {
        t->repaired++, t->pass_ok++;
        metrics_inc(rt, "sto.repair.repaired", 1);
    } else if (how == STO__PUSH_DROP) {
        t->dropped++, t->pass_dropped++;
        metrics_inc(rt, "sto.repair.dropped", 1);
    } else {
        t->failed++;
        t->pass_failed++;
        t->down = t->down || how == STO__PUSH_DOWN;
        metrics_inc(rt, "sto.repair.failed", 1);
    }
    if (removed && t->queued > 0)
        t->queued--;
    fill(self, t);
}

/* One more push into a free slot, of the page's next entry. */
static void push_next(rt_actor_t *self, target_t *t)
{
    const Cleo__Storage__RepairItem *it = t->page->items[t->next++];
    sto__rq_entry_t e = {.v = {0, 0}};
    snprintf(e.node, sizeof e.node, "%s", t->node);
    snprintf(e.bucket, sizeof e.bucket, "%s", it->bucket);
    snprintf(e.key, sizeof e.key, "%s", it->key);
    if (it->version != NULL)
        e.v = (sto_version_t){it->version->clock, it->version->node};
    size_t slot = 0;
    while (t->push[slot] != NULL)
        slot++;
    if (sto__push_start(self, engine(self), t->engine, &e, on_push_end, t,
                        &t->push[slot]) == 0) {
        t->inflight++;
        return;
    }
    t->push[slot] = NULL;
    t->failed++, t->pass_failed++; /* no engine here: the entry stays */
}

/* Keep up to STO__REPAIR_PARALLEL pushes going; when the page is done,
 * scan the next, and when the queue is, end the pass. A push that failed
 * leaves its entry for the retry and the pass goes on; a target found
 * down lets the pushes in flight finish and starts no more. */
static void fill(rt_actor_t *self, target_t *t)
{
    const Cleo__Storage__RepairList *l = t->page;
    while (!t->down && l != NULL && t->next < l->n_items &&
           t->inflight < STO__REPAIR_PARALLEL)
        push_next(self, t);
    if (t->inflight > 0)
        return;
    if (!t->down && l != NULL && l->more && t->next >= l->n_items) {
        scan(self, t);
        return;
    }
    pass_end(self, t);
}

static void pass_start(rt_actor_t *self, target_t *t)
{
    if (t->passing) {
        t->again = true;
        return;
    }
    disarm(self, t);
    if (t->queued == 0)
        return;
    t->engine = target_engine(rt_actor_rt(self), t->node);
    t->down = t->engine == RT_PID_NONE;
    if (t->down) {
        retry(self, t);
        return;
    }
    t->passing = true;
    t->pass_ok = t->pass_dropped = t->pass_failed = 0;
    page_free(t);
    scan(self, t);
}

/* ---- entries coming in ---------------------------------------------- */

static rt_msg_t *item_msg(const sto__rq_entry_t *e)
{
    Cleo__Storage__RepairItem *it = sto__pb_calloc(1, sizeof *it);
    cleo__storage__repair_item__init(it);
    it->node = sto__pb_strdup(e->node);
    it->bucket = sto__pb_strdup(e->bucket);
    it->key = sto__pb_strdup(e->key);
    it->version = sto__pb_calloc(1, sizeof *it->version);
    cleo__storage__version__init(it->version);
    it->version->clock = e->v.clock;
    it->version->node = e->v.node;
    rt_msg_t *m = rt_msg_new(STO_MSG_REPAIR_ADD);
    rt_msg_set_pb(m, it);
    return m;
}

/* The add failed: again in a second (as a REPAIR_ENQUEUE to self whose
 * arg counts the tries), or, after the last try, the entry is lost. */
static void add_failed(rt_actor_t *self, add_t *a, int st)
{
    rt_t *rt = rt_actor_rt(self);
    if (a->tries < STO__REPAIR_ADD_TRIES) {
        rt_msg_t *m = item_msg(&a->e);
        m->type = STO_MSG_REPAIR_ENQUEUE;
        m->arg = a->tries;
        (void)rt_send_after(rt, RETRY_MS, rt_self(self), m, NULL);
    } else {
        logger_log(rt, LOG_ERROR,
                   "%s: cannot queue %s/%s for %s (%s): it stays unrepaired "
                   "until read-repair or anti-entropy",
                   STO_REPAIR_NAME, a->e.bucket, a->e.key, a->e.node,
                   cleo_err_name(st));
        metrics_inc(rt, "sto.repair.lost", 1);
    }
    free(a);
}

/* The entry is persisted: count it, and drain it a second from now (the
 * coordinator's own write lands here first) or after the pass running. */
static int on_added(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    add_t *a = data;
    int st = status_of(reply, status);
    const Cleo__Storage__RepairResult *r = st == 0 ? reply->payload : NULL;
    if (!is_pb(r, &cleo__storage__repair_result__descriptor)) {
        add_failed(self, a, st < 0 ? st : CLEO_EPROTO);
        return 0;
    }
    target_t *t = target_get(a->s, a->e.node);
    free(a);
    if (r->created) {
        t->queued++;
        metrics_inc(rt_actor_rt(self), "sto.repair.queued", 1);
    }
    if (t->passing)
        t->again = true;
    else if (t->retry_ms == 0)
        arm(self, t, t->owner->min_ms);
    return 0;
}

/* REPAIR_ENQUEUE: a RepairItem from a coordinator (or an add to retry,
 * arg = the tries made). Persist it through the engine. */
static int on_enqueue(rt_actor_t *self, repair_t *s, rt_msg_t *m)
{
    const Cleo__Storage__RepairItem *it = m->payload;
    if (!is_pb(it, &cleo__storage__repair_item__descriptor) ||
        it->version == NULL || it->node[0] == '\0' ||
        strlen(it->node) > STO__RQ_NODE_MAX ||
        strlen(it->bucket) > STO_BUCKET_MAX || strlen(it->key) > STO_KEY_MAX)
        return 0; /* a caller's bug: nothing to queue */
    const char *me = rt_dist_name(rt_actor_rt(self));
    if (me != NULL && strcmp(me, it->node) == 0)
        return 0; /* this node repairs others, not itself */
    add_t *a = cleo_xcalloc(1, sizeof *a); /* control struct */
    a->s = s;
    snprintf(a->e.node, sizeof a->e.node, "%s", it->node);
    snprintf(a->e.bucket, sizeof a->e.bucket, "%s", it->bucket);
    snprintf(a->e.key, sizeof a->e.key, "%s", it->key);
    a->e.v = (sto_version_t){it->version->clock, it->version->node};
    a->tries = (uint32_t)m->arg + 1;
    if (gen_server_call(self, engine(self), item_msg(&a->e),
                        STO__REPAIR_CALL_MS, on_added, a) < 0)
        add_failed(self, a, CLEO_ENOPROC);
    return 0;
}

/* A timer: a target's retry (arg: its index + 1, and the timer's
 * generation), or the count of the whole queue (arg TICK_COUNT). */
static int on_tick(rt_actor_t *self, repair_t *s, const rt_msg_t *m)
{
    if (m->arg == TICK_COUNT) {
        count_all(self, s);
        return 0;
    }
    size_t i = (size_t)(m->arg >> 32) - 1;
    if (i >= s->nt || s->t[i]->gen != (uint32_t)m->arg)
        return 0; /* stale: cancelled or replaced */
    s->t[i]->retry_ms = 0;
    pass_start(self, s->t[i]);
    return 0;
}

/* A node connected: drain its queue now, with the backoff reset. */
static int on_nodeup(rt_actor_t *self, repair_t *s, const rt_msg_t *m)
{
    rt_t *rt = rt_actor_rt(self);
    for (size_t i = 0; i < s->nt; i++) {
        target_t *t = s->t[i];
        uint16_t idx;
        if (rt_dist_node(rt, t->node, &idx) < 0 || idx != m->arg)
            continue;
        t->backoff_ms = s->min_ms;
        pass_start(self, t);
    }
    return 0;
}

/* ---- introspection --------------------------------------------------- */

static Cleo__Storage__RepairCount *count_pb(const target_t *t)
{
    Cleo__Storage__RepairCount *c = sto__pb_calloc(1, sizeof *c);
    cleo__storage__repair_count__init(c);
    c->node = sto__pb_strdup(t->node);
    c->entries = t->queued;
    c->repaired = t->repaired;
    c->failed = t->failed;
    c->dropped = t->dropped;
    c->retry_ms = t->retry_ms;
    return c;
}

static int by_node(const void *a, const void *b)
{
    return strcmp((*(const target_t *const *)a)->node,
                  (*(const target_t *const *)b)->node);
}

/* The targets sorted by node. @return gives: free() it. */
static target_t **sorted(const repair_t *s)
{
    target_t **v = cleo_xcalloc(s->nt + 1, sizeof *v);
    if (s->nt > 0) {
        memcpy(v, s->t, s->nt * sizeof *v);
        qsort(v, s->nt, sizeof *v, by_node);
    }
    return v;
}

static int on_stats(const repair_t *s, const rt_msg_t *req, rt_msg_t **reply)
{
    Cleo__Storage__RepairStats *st = sto__pb_calloc(1, sizeof *st);
    cleo__storage__repair_stats__init(st);
    st->targets = sto__pb_calloc(s->nt, sizeof *st->targets);
    target_t **v = sorted(s);
    for (size_t i = 0; i < s->nt; i++)
        st->targets[st->n_targets++] = count_pb(v[i]);
    free(v);
    *reply = rt_msg_new(req->type);
    rt_msg_set_pb(*reply, st);
    return 0;
}

static void rp_status(rt_actor_t *self, void *state, char *buf, size_t len)
{
    (void)self;
    const repair_t *s = state;
    target_t **v = sorted(s);
    size_t at =
        (size_t)snprintf(buf, len, "repair queue: %zu target(s)", s->nt);
    for (size_t i = 0; i < s->nt && at < len; i++) {
        const target_t *t = v[i];
        at += (size_t)snprintf(
            buf + at, len - at,
            "\n  %s: %llu queued, %llu repaired, %llu failed, %llu dropped%s",
            t->node, (unsigned long long)t->queued,
            (unsigned long long)t->repaired, (unsigned long long)t->failed,
            (unsigned long long)t->dropped, t->passing ? ", draining" : "");
        if (t->retry_ms > 0 && at < len)
            at += (size_t)snprintf(buf + at, len - at, ", next try in %u ms",
                                   t->retry_ms);
    }
    free(v);
}

/* ---- the server ------------------------------------------------------ */

static int rp_init(rt_actor_t *self, void *arg, void **state)
{
    const sto_repair_conf_t *c = arg;
    repair_t *s = cleo_xcalloc(1, sizeof *s); /* control struct */
    s->min_ms = c != NULL && c->backoff_min_ms ? c->backoff_min_ms
                                               : STO_REPAIR_BACKOFF_MIN_MS;
    s->max_ms = c != NULL && c->backoff_max_ms ? c->backoff_max_ms
                                               : STO_REPAIR_BACKOFF_MAX_MS;
    if (s->max_ms < s->min_ms)
        s->max_ms = s->min_ms;
    /* Without distribution (a single node, tests) there is no NODEUP:
     * the retry timer alone finds targets. */
    (void)rt_monitor_nodes(self, true);
    rt_msg_t *m = rt_msg_new(TICK); /* arg TICK_COUNT: read the queue */
    int rc = rt_send(rt_actor_rt(self), rt_self(self), m);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static int rp_call(rt_actor_t *self, void *state, rt_msg_t *req, rt_from_t from,
                   rt_msg_t **reply)
{
    (void)self, (void)from;
    if (req->type == STO_MSG_REPAIR_STATS)
        return on_stats(state, req, reply);
    *reply = rt_msg_new(req->type);
    (*reply)->reason = CLEO_EBADREQ;
    return 0;
}

static int rp_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    return m->type == STO_MSG_REPAIR_ENQUEUE ? on_enqueue(self, state, m) : 0;
}

static int rp_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case STO_MSG_REPAIR_ENQUEUE: /* an add to retry */
        return on_enqueue(self, state, m);
    case TICK:
        return on_tick(self, state, m);
    case RT_MSG_NODEUP:
        return on_nodeup(self, state, m);
    default:
        return 0;
    }
}

/* The pushes in flight are abandoned: their streams here and there
 * monitor the repairer and abort; their entries stay queued. */
static void rp_terminate(rt_actor_t *self, void *state, int reason)
{
    (void)self, (void)reason;
    repair_t *s = state;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nt; i++) {
        target_t *t = s->t[i];
        for (size_t k = 0; k < STO__REPAIR_PARALLEL; k++)
            sto__push_free(t->push[k]);
        page_free(t);
        free(t);
    }
    free(s->t);
    free(s);
}

static const gen_server_cbs_t repair_cbs = {
    .name = "sto_repair",
    .init = rp_init,
    .handle_call = rp_call,
    .handle_cast = rp_cast,
    .handle_info = rp_info,
    .terminate = rp_terminate,
    .format_status = rp_status,
};

int sto_repair_start(rt_actor_t *sup, const sup_child_spec_t *spec, void *extra,
                     rt_pid_t *out)
{
    (void)extra;
    gen_opts_t o = {.name = STO_REPAIR_NAME,
                    .link = true,
                    .sched = RT_SCHED_ANY,
                    .trap_exit = true};
    return gen_server_start(rt_actor_rt(sup), sup, &repair_cbs, spec->arg, &o,
                            out);
}

int sto__repair_enqueue(rt_t *rt, const char *node, const char *bucket,
                        const char *key, uint64_t clock, uint64_t clock_node)
{
    if (node == NULL || bucket == NULL || key == NULL || node[0] == '\0' ||
        strlen(node) > STO__RQ_NODE_MAX || strlen(bucket) > STO_BUCKET_MAX ||
        strlen(key) > STO_KEY_MAX)
        return CLEO_EINVAL;
    rt_pid_t to = rt_whereis(rt, STO_REPAIR_NAME);
    if (to == RT_PID_NONE) {
        logger_log(rt, LOG_WARNING,
                   "no %s: %s/%s stays unrepaired on %s until read-repair or "
                   "anti-entropy",
                   STO_REPAIR_NAME, bucket, key, node);
        return CLEO_ENOPROC;
    }
    sto__rq_entry_t e = {.v = {clock, clock_node}};
    snprintf(e.node, sizeof e.node, "%s", node);
    snprintf(e.bucket, sizeof e.bucket, "%s", bucket);
    snprintf(e.key, sizeof e.key, "%s", key);
    rt_msg_t *m = item_msg(&e);
    m->type = STO_MSG_REPAIR_ENQUEUE;
    return gen_server_cast(rt, to, m);
}
