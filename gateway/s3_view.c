/*
 * s3_view.c - S3's bucket operations in a cluster, where the bucket
 * registry is the managers' (proto/cluster.proto's buckets, as in
 * LeoFS): ListBuckets, HeadBucket and the owner checks read the view
 * (view.h); CreateBucket and DeleteBucket are Raft commands proposed
 * through the node's cluster agent.
 *
 * Storage keeps a record of each bucket too (its engine takes objects
 * only into a bucket it knows), which follows the cluster's list: each
 * storage node reconciles its records with every cluster state
 * (storage/bucketsync.c). A create or delete here also tells every
 * reachable storage node at once, so a client's next request finds the
 * record wherever its key lands, and answers once this node's view
 * shows the change (read-your-writes through one gateway; another
 * gateway sees it when its node applies the entry, within a Raft
 * heartbeat).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "gateway/err.h"
#include "gateway/fan.h"
#include "gateway/ring.h"
#include "gateway/s3.h"
#include "gateway/s3pb.h"
#include "manager/contract.h"
#include "storage/contract.h"

#define PROPOSE_MS 25000u /* the agent relays for 20 s at most */
#define WAIT_MS 12000u    /* the view's own limit is 10 s */

/* ---- reading the view -----------------------------------------------------
 */

int s3_view_may_read(s3_t *s, const char *bucket)
{
    if (s->snap == NULL)
        return GW_EUNAVAILABLE; /* no cluster state yet */
    const Cleo__Cluster__Bucket *b = gw__snap_bucket(s->snap, bucket);
    if (b == NULL)
        return GW_ENOBUCKET;
    if (!s->is_admin && strcmp(b->owner, s->user) != 0)
        return GW_EDENIED;
    return 0;
}

int s3_view_authorise(gw_req_t *r, s3_t *s)
{
    (void)r;
    return s3_view_may_read(s, s->bucket);
}

int s3_view_list_buckets(gw_req_t *r, s3_t *s)
{
    if (s->snap == NULL)
        return GW_EUNAVAILABLE;
    const Cleo__Cluster__ClusterState *st = s->snap->st;
    gw_xml_bucket_t *v = calloc(st->n_buckets + 1, sizeof *v);
    if (v == NULL)
        return CLEO_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < st->n_buckets; i++) {
        const Cleo__Cluster__Bucket *b = st->buckets[i];
        if (s->is_admin || strcmp(b->owner, s->user) == 0)
            v[n++] = (gw_xml_bucket_t){b->name, (int64_t)b->created_ms};
    }
    gw_xml_owner_t o = {s->user, s->user};
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__s3xml_buckets(&b, &o, v, n);
    free(v);
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

/* ---- the steps shared by create and delete ------------------------------- */

static rt_msg_t *bucket_msg(s3_t *s, size_t i, void *arg)
{
    (void)i;
    uint32_t type = *(const uint32_t *)arg;
    return s3pb_bucket(type, s->bucket,
                       type == STO_MSG_BUCKET_CREATE ? s->user : NULL);
}

/* Wait for this node's view to show the change, then answer. */
static int wait_view(gw_req_t *r, s3_t *s, bool exists, s3_reply_fn fn)
{
    rt_pid_t v = rt_whereis(gw__req_rt(r), GW_VIEW_NAME);
    if (v == RT_PID_NONE)
        return fn(r, s, NULL, 0);
    rt_msg_t *m = s3pb_bucket(GW_MSG_VIEW_WAIT, s->bucket, NULL);
    m->arg = exists;
    return s3_call(r, v, m, fn);
}

/* Tell every reachable storage node (type: BUCKET_CREATE or _DELETE);
 * their answers do not matter (each node's reconcile catches up), so
 * the fan's continuation goes straight on to fn. */
static int tell_storage(gw_req_t *r, s3_t *s, uint32_t type, s3_fan_fn fn)
{
    rt_pid_t *to = NULL;
    size_t n = 0;
    if (s->snap != NULL && s->snap->ring != NULL &&
        gw__ring_engines(r->conf, gw__req_rt(r), s->snap, false, &to, &n) < 0)
        n = 0, to = NULL;
    s3_fan_spec_t fs = {.mk = bucket_msg, .mk_arg = &type, .fn = fn};
    return s3_fan(r, to, n, &fs);
}

/* A proposal's status as an S3 error. */
static int proposal_err(gw_req_t *r, int status)
{
    switch (status) {
    case CLEO_EINVAL:
        return GW_EBUCKETNAME; /* the managers' bucket-name rules */
    case CLEO_ENOTFOUND:
        logger_log(gw__req_rt(r), LOG_WARNING,
                   "gateway: the cluster has no user of this access key "
                   "(a user of this node only?): bucket change refused");
        return GW_EDENIED;
    case CLEO_EBADREQ:
    case CLEO_ENOPROC:
        return GW_EUNAVAILABLE;
    default:
        return status; /* no manager (ENOCONNECTION), lost (ETIMEDOUT) */
    }
}

static Cleo__Cluster__Command *command_new(void)
{
    Cleo__Cluster__Command *c = s3pb_new(&cleo__cluster__command__descriptor);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->proposed_ms =
        (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return c;
}

/* Propose c (takes) through the node's agent, which hands it to a
 * manager; fn gets the CommandResult's status (the agent answers within
 * its own 20 s relay limit, well inside s3_call's). */
static int propose(gw_req_t *r, Cleo__Cluster__Command *c, s3_reply_fn fn)
{
    rt_pid_t agent = rt_whereis(gw__req_rt(r), MGR_AGENT_NAME);
    rt_msg_t *m = rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_PROPOSE);
    rt_msg_set_pb(m, c);
    if (agent == RT_PID_NONE) {
        rt_msg_free(m);
        return GW_EUNAVAILABLE;
    }
    return s3_call(r, agent, m, fn);
}

/* ---- CreateBucket ---------------------------------------------------------
 */

static int on_created_seen(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    (void)m, (void)status; /* committed: answer even if the view lags */
    char loc[80];
    snprintf(loc, sizeof loc, "/%s", s->bucket);
    gw_kv_t kv[] = {{"Location", loc}};
    return gw__resp_full(r, 200, kv, 1, NULL, NULL);
}

static int on_created_told(gw_req_t *r, s3_t *s, s3_fan_t *f)
{
    (void)f;
    return wait_view(r, s, true, on_created_seen);
}

/* The bucket exists: the caller's (BucketAlreadyOwnedByYou) or another
 * user's, by the freshest view. */
static int exists_err(gw_req_t *r, s3_t *s)
{
    gw_snap_t *now = gw__view_get(r->conf->view);
    const Cleo__Cluster__Bucket *b =
        now != NULL ? gw__snap_bucket(now, s->bucket) : NULL;
    bool mine = b != NULL && strcmp(b->owner, s->user) == 0;
    gw__snap_release(now);
    return mine ? GW_EOWNED : GW_EBUCKETEXISTS;
}

static int on_put_applied(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    (void)m;
    if (status == CLEO_EEXIST)
        return exists_err(r, s);
    if (status < 0)
        return proposal_err(r, status);
    return tell_storage(r, s, STO_MSG_BUCKET_CREATE, on_created_told);
}

int s3_view_create_bucket(gw_req_t *r, s3_t *s)
{
    if (s->snap == NULL)
        return GW_EUNAVAILABLE;
    if (gw__snap_bucket(s->snap, s->bucket) != NULL)
        return exists_err(r, s);
    Cleo__Cluster__Bucket *b = s3pb_new(&cleo__cluster__bucket__descriptor);
    b->name = s3pb_str(s->bucket);
    b->owner = s3pb_str(s->user);
    b->acl = s3pb_str(""); /* the managers' default: private */
    Cleo__Cluster__BucketPut *bp =
        s3pb_new(&cleo__cluster__bucket_put__descriptor);
    bp->bucket = b;
    bp->must_not_exist = true;
    Cleo__Cluster__Command *c = command_new();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT;
    c->bucket_put = bp;
    return propose(r, c, on_put_applied);
}

/* ---- DeleteBucket ---------------------------------------------------------
 */

static int on_deleted_seen(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    (void)s, (void)m, (void)status;
    return s3_empty(r, 204);
}

static int on_deleted_told(gw_req_t *r, s3_t *s, s3_fan_t *f)
{
    (void)f;
    return wait_view(r, s, false, on_deleted_seen);
}

static int on_delete_applied(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    (void)m;
    if (status == CLEO_ENOTFOUND)
        return GW_ENOBUCKET; /* deleted meanwhile */
    if (status < 0)
        return proposal_err(r, status);
    return tell_storage(r, s, STO_MSG_BUCKET_DELETE, on_deleted_told);
}

/* Every node answered a one-key page: the bucket is empty if all are. */
static int on_emptiness(gw_req_t *r, s3_t *s, s3_fan_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->status[i] == STO_ENOBUCKET)
            continue; /* no record there: nothing in it there */
        if (f->status[i] < 0)
            return f->status[i];
        const Cleo__Storage__ListReply *l = f->payload[i];
        if (l != NULL && (l->n_entries > 0 || l->n_prefixes > 0))
            return CLEO_ESTATE; /* BucketNotEmpty */
    }
    Cleo__Cluster__BucketDelete *bd =
        s3pb_new(&cleo__cluster__bucket_delete__descriptor);
    bd->name = s3pb_str(s->bucket);
    Cleo__Cluster__Command *c = command_new();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_DELETE;
    c->bucket_delete = bd;
    return propose(r, c, on_delete_applied);
}

static rt_msg_t *probe_msg(s3_t *s, size_t i, void *arg)
{
    (void)i, (void)arg;
    return s3pb_list(s->bucket, "", "", "", 1);
}

/* Empty on every storage node of the RING (all must answer: one that
 * cannot might hold objects), then the managers' BucketDelete. A PUT
 * racing the delete can still land after its node answered; its object
 * then stays on that node, whose bucket record the reconcile keeps
 * while it is not empty. */
int s3_view_delete_bucket(gw_req_t *r, s3_t *s)
{
    rt_pid_t *to = NULL;
    size_t n = 0;
    if (s->snap != NULL && s->snap->ring != NULL) {
        int rc =
            gw__ring_engines(r->conf, gw__req_rt(r), s->snap, true, &to, &n);
        if (rc < 0)
            return rc;
    }
    s3_fan_spec_t fs = {.mk = probe_msg, .fn = on_emptiness};
    return s3_fan(r, to, n, &fs);
}
