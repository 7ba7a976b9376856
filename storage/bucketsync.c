/*
 * bucketsync.c - a storage node's bucket records follow the cluster's
 * buckets (issue 11: the bucket registry is the managers'; storage keeps
 * only per-node usage).
 *
 * The engine takes objects only into a bucket it has a record of, and a
 * cluster's keys land on any node of the RING, so every storage node
 * needs a record of every bucket of the cluster. This actor (registered
 * STO_BUCKET_SYNC_NAME, in storage_sup after the engine) subscribes to
 * the node's cluster agent and, for every cluster state, reconciles:
 * it lists the engine's records, creates the missing ones (owner from
 * the cluster) and deletes the ones the cluster no longer has, which the
 * engine refuses while they hold objects (those are kept, and tried
 * again at later passes).
 *
 * It lives in storage, not in the gateway or the manager, because it
 * concerns the node's own engine: a storage-only node (no gateway) needs
 * it, it must run again when the engine restarts (rest_for_one restarts
 * it with the engine), and it needs nothing but its local engine and
 * the agent's pushes (the agent's name from manager/contract.h, its
 * message ids from proto/cluster.proto).
 *
 * Deleting is careful. A gateway that created a bucket tells every
 * storage node at once, before this node's copy of the state has it, so
 * a record missing from the state is deleted only if the bucket was in
 * an earlier state this actor saw (the cluster deleted it), or if the
 * record is older than SYNC_GRACE_MS (a node that was down while the
 * bucket went). States come in Raft order; one older than the last seen
 * (from a lagging manager) is ignored.
 */
#include "storage/sto.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "manager/contract.h"
#include "proto/cluster.pb-c.h"

#define SYNC_TICK_MS 1000u    /* look for the agent, retry a failed pass */
#define SYNC_PERIOD_MS 30000u /* a pass even without a new state */
#define SYNC_GRACE_MS 60000u  /* a record this young may be ahead of us */
#define SYNC_CALL_MS 30000u
/* Its timer: the storage role's id for a maintenance actor's own tick
 * (it never leaves the actor). */
#define SYNC_TICK CLEO__STORAGE__MSG_ID__MAINT_TICK

typedef struct {
    rt_pid_t agent; /* monitored and subscribed to, or 0 */
    rt_ref_t agent_mon;
    bool sub_busy;
    Cleo__Cluster__ClusterState *want; /* the latest state, or NULL */
    char **seen; /* bucket names of the states since the last pass */
    size_t n_seen;
    bool busy;    /* a pass is in flight */
    bool again;   /* pass again: a new state came, or a call failed */
    size_t calls; /* the pass's engine calls in flight */
    uint64_t last_pass_ms;
} bsync_t;

/* ---- names ------------------------------------------------------------- */

static bool has_name(char *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return true;
    return false;
}

static void seen_add(bsync_t *b, const Cleo__Cluster__ClusterState *st)
{
    for (size_t i = 0; i < st->n_buckets; i++) {
        const char *name = st->buckets[i]->name;
        if (has_name(b->seen, b->n_seen, name))
            continue;
        b->seen = cleo_xrealloc(b->seen, (b->n_seen + 1) * sizeof *b->seen);
        b->seen[b->n_seen++] = cleo_xmalloc(strlen(name) + 1);
        strcpy(b->seen[b->n_seen - 1], name);
    }
}

static void seen_clear(bsync_t *b)
{
    for (size_t i = 0; i < b->n_seen; i++)
        free(b->seen[i]);
    free(b->seen);
    b->seen = NULL;
    b->n_seen = 0;
}

static const Cleo__Cluster__Bucket *wanted(const bsync_t *b, const char *name)
{
    for (size_t i = 0; i < b->want->n_buckets; i++)
        if (strcmp(b->want->buckets[i]->name, name) == 0)
            return b->want->buckets[i];
    return NULL;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a pass ----------------------------------------------------------- */

static void pass_end(rt_actor_t *self)
{
    bsync_t *b = rt_state(self);
    b->busy = false;
    b->last_pass_ms = rt_now_ms(rt_actor_rt(self));
    if (!b->again) { /* the next pass starts from this state's names */
        seen_clear(b);
        seen_add(b, b->want);
    }
}

static int on_changed(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    bsync_t *b = rt_state(self);
    if (status == 0 && reply != NULL)
        status = reply->reason;
    /* CLEO_EEXIST: made meanwhile; CLEO_ESTATE: not empty, kept;
     * CLEO_ENOTFOUND: gone already. Anything else: try again. */
    if (status < 0 && status != CLEO_EEXIST && status != CLEO_ESTATE &&
        status != CLEO_ENOTFOUND)
        b->again = true;
    (void)data;
    if (--b->calls == 0)
        pass_end(self);
    return 0;
}

static void change(rt_actor_t *self, uint32_t type, const char *name,
                   const char *owner)
{
    bsync_t *b = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    Cleo__Storage__BucketReq *q = cleo_xmalloc(sizeof *q);
    cleo__storage__bucket_req__init(q);
    q->name = strdup(name);
    q->owner = strdup(owner != NULL ? owner : "");
    if (q->name == NULL || q->owner == NULL)
        cl_panic("bucket sync: out of memory");
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, q);
    rt_pid_t engine = rt_whereis(rt, STO_ENGINE_NAME);
    if (engine == RT_PID_NONE ||
        rt_call(self, engine, m, SYNC_CALL_MS, on_changed, NULL) < 0) {
        if (engine == RT_PID_NONE)
            rt_msg_free(m);
        b->again = true;
        return;
    }
    b->calls++;
}

/* May the local record l, absent from the cluster's state, go? */
static bool may_drop(const bsync_t *b, const Cleo__Storage__BucketInfo *l)
{
    if (has_name(b->seen, b->n_seen, l->name))
        return true; /* the cluster had it and deleted it */
    return l->created_ms + SYNC_GRACE_MS < wall_ms();
}

static int on_local(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    bsync_t *b = rt_state(self);
    (void)data;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    if (status < 0 || reply == NULL || reply->payload == NULL) {
        b->again = true;
        pass_end(self);
        return 0;
    }
    const Cleo__Storage__BucketList *l = reply->payload;
    b->calls = 1; /* held until every change is sent */
    for (size_t i = 0; i < b->want->n_buckets; i++) {
        const Cleo__Cluster__Bucket *w = b->want->buckets[i];
        bool have = false;
        for (size_t j = 0; j < l->n_buckets && !have; j++)
            have = strcmp(l->buckets[j]->name, w->name) == 0;
        if (!have)
            change(self, STO_MSG_BUCKET_CREATE, w->name, w->owner);
    }
    for (size_t j = 0; j < l->n_buckets; j++)
        if (wanted(b, l->buckets[j]->name) == NULL &&
            may_drop(b, l->buckets[j]))
            change(self, STO_MSG_BUCKET_DELETE, l->buckets[j]->name, NULL);
    if (--b->calls == 0)
        pass_end(self);
    return 0;
}

static void pass(rt_actor_t *self)
{
    bsync_t *b = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (b->busy || b->want == NULL)
        return;
    rt_pid_t engine = rt_whereis(rt, STO_ENGINE_NAME);
    b->again = false;
    if (engine == RT_PID_NONE ||
        rt_call(self, engine, rt_msg_new(STO_MSG_BUCKET_LIST), SYNC_CALL_MS,
                on_local, NULL) < 0) {
        b->again = true;
        return;
    }
    b->busy = true;
}

/* ---- the agent -------------------------------------------------------- */

static int on_subscribed(rt_actor_t *self, rt_msg_t *reply, int status,
                         void *data)
{
    bsync_t *b = rt_state(self);
    (void)data;
    b->sub_busy = false;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    if (status < 0 && b->agent != RT_PID_NONE) {
        (void)rt_demonitor(self, b->agent_mon);
        b->agent = RT_PID_NONE;
    }
    return 0;
}

static void subscribe(rt_actor_t *self)
{
    bsync_t *b = rt_state(self);
    rt_pid_t to = rt_whereis(rt_actor_rt(self), MGR_AGENT_NAME);
    if (to == RT_PID_NONE || rt_monitor(self, to, &b->agent_mon) < 0)
        return;
    b->agent = to;
    rt_msg_t *m = rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE);
    if (rt_call(self, to, m, SYNC_CALL_MS, on_subscribed, NULL) == 0)
        b->sub_busy = true;
}

/* The engine keeps its node's RING and N/W/R/D (repl.h) and compares
 * requests' RING versions with it (ringver.h): it hears of each cluster
 * state from here, as this actor follows the agent and restarts with the
 * engine. @param buf borrows: the packed ClusterState. */
static void tell_engine(rt_actor_t *self, rt_buf_t *buf)
{
    rt_t *rt = rt_actor_rt(self);
    rt_pid_t engine = rt_whereis(rt, STO_ENGINE_NAME);
    if (engine == RT_PID_NONE)
        return;
    rt_msg_t *m = rt_msg_new(CLEO__STORAGE__MSG_ID__ENGINE_RING);
    rt_msg_set_buf(m, rt_buf_ref(buf));
    (void)rt_send(rt, engine, m);
}

static void on_state(rt_actor_t *self, rt_msg_t *m)
{
    bsync_t *b = rt_state(self);
    rt_body_t *body = rt_msg_body(m);
    if (m->from != b->agent || body == NULL || body->buf == NULL)
        return;
    Cleo__Cluster__ClusterState *st = cleo__cluster__cluster_state__unpack(
        NULL, rt_buf_len(body->buf), (const uint8_t *)rt_buf_data(body->buf));
    if (st == NULL)
        return;
    if (b->want != NULL && st->applied_index < b->want->applied_index) {
        cleo__cluster__cluster_state__free_unpacked(st, NULL);
        return; /* older than what we have: a lagging manager's */
    }
    if (b->want != NULL)
        cleo__cluster__cluster_state__free_unpacked(b->want, NULL);
    b->want = st;
    tell_engine(self, body->buf);
    seen_add(b, st);
    b->again = true; /* after the pass in flight, if any */
    pass(self);
}

/* ---- the actor -------------------------------------------------------- */

static void tick(rt_actor_t *self)
{
    bsync_t *b = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (b->agent == RT_PID_NONE && !b->sub_busy)
        subscribe(self);
    if (!b->busy &&
        (b->again || rt_now_ms(rt) - b->last_pass_ms >= SYNC_PERIOD_MS))
        pass(self);
    (void)rt_send_after(rt, SYNC_TICK_MS, rt_self(self), rt_msg_new(SYNC_TICK),
                        NULL);
}

static int bsync_handle(rt_actor_t *self, rt_msg_t *m)
{
    bsync_t *b = rt_state(self);
    switch (m->type) {
    case SYNC_TICK:
        tick(self);
        return 0;
    case CLEO__CLUSTER__AGENT_MSG_ID__AGENT_STATE:
        on_state(self, m);
        return 0;
    case RT_MSG_DOWN:
        if (m->ref == b->agent_mon && b->agent != RT_PID_NONE)
            b->agent = RT_PID_NONE; /* restarted: subscribe again */
        return 0;
    default:
        return 0;
    }
}

static int bsync_init(rt_actor_t *self, void *arg)
{
    (void)arg;
    rt_set_state(self, cleo_xcalloc(1, sizeof(bsync_t)));
    return rt_send(rt_actor_rt(self), rt_self(self), rt_msg_new(SYNC_TICK));
}

static void bsync_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    bsync_t *b = rt_state(self);
    if (b == NULL)
        return;
    if (b->want != NULL)
        cleo__cluster__cluster_state__free_unpacked(b->want, NULL);
    seen_clear(b);
    free(b);
}

static const rt_behaviour_t bsync_beh = {
    .name = STO_BUCKET_SYNC_NAME,
    .init = bsync_init,
    .handle = bsync_handle,
    .destroy = bsync_destroy,
};

int sto_bucket_sync_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                          void *extra, rt_pid_t *out)
{
    (void)spec, (void)extra;
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK,
                         .name = STO_BUCKET_SYNC_NAME,
                         .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &bsync_beh, NULL, &o, out);
}
