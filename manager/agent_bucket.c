/*
 * agent_bucket.c - cleo-adm's bucket commands in a cluster, answered by
 * the agent (agent.h): the buckets are the managers' (ClusterState's),
 * their objects on every storage node.
 *
 *   bucket list [--owner U]  the cluster's buckets, with objects and bytes
 *                            summed over the storage nodes that answered
 *   bucket du NAME           one bucket, summed the same way
 *   bucket create NAME [--owner U]
 *                            a BucketPut proposed to the managers (each
 *                            node's bucket sync then makes its record)
 *   bucket delete NAME       only when every storage node answered and
 *                            none holds an object of it; then BucketDelete
 *   bucket chown NAME USER   a BucketPut update of the owner alone
 *   bucket acl NAME [ACL]    the ACL from the node's copy, or a BucketPut
 *                            update of the ACL alone
 *
 * Usage comes from a BUCKET_LIST asked of every storage member's engine
 * (ASK_MS each); the replies and error lines are the single node's
 * (admin_out.c), so scripts read the same JSON either way. bucket list's
 * JSON adds "nodes": {node: {bucket: objects}} for the engines' own
 * records, what each node holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manager/admin.h"
#include "manager/agent_int.h"
#include "manager/raft.h"
#include "storage/contract.h"

#define ASK_MS 3000u

typedef struct {
    agent_bkt_t *k;
    char node[256]; /* the member asked (the state may change meanwhile) */
} bkt_slot_t;

struct agent_bkt_s {
    agent_bkt_t *next;
    json_t *nodes; /* {node: {bucket: objects}} of the nodes that answered */
    bkt_slot_t *slots;
    agent_t *agent;
    rt_from_t from;
    Cleo__Introspect__AdminReq *req; /* owns the strings c points into */
    mgr__cmd_t c;
    size_t asked, answered, pending;
    Cleo__Storage__BucketList sum; /* the cluster's buckets, usage summed */
};

static void reply(rt_actor_t *self, rt_from_t from,
                  Cleo__Introspect__AdminReply *r)
{
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, r);
    (void)rt_reply(rt_actor_rt(self), from, m);
}

static void bkt_free(agent_bkt_t *k)
{
    for (size_t i = 0; i < k->sum.n_buckets; i++) {
        free(k->sum.buckets[i]->name);
        free(k->sum.buckets[i]->owner);
        free(k->sum.buckets[i]->acl);
        free(k->sum.buckets[i]);
    }
    free(k->sum.buckets);
    json_decref(k->nodes);
    free(k->slots);
    cleo__introspect__admin_req__free_unpacked(k->req, NULL);
    free(k);
}

static void bkt_unlink(agent_bkt_t *k)
{
    for (agent_bkt_t **p = &k->agent->bkts; *p != NULL; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            return;
        }
}

void mgr__agent_bucket_drop(agent_t *a)
{
    while (a->bkts != NULL) {
        agent_bkt_t *k = a->bkts;
        a->bkts = k->next;
        bkt_free(k);
    }
}

/* The cluster's buckets (owner-filtered later by the reply), usage 0. */
static void sum_init(agent_bkt_t *k)
{
    const Cleo__Cluster__ClusterState *st = k->agent->state;
    cleo__storage__bucket_list__init(&k->sum);
    k->sum.buckets = cleo_xcalloc(st->n_buckets + 1, sizeof *k->sum.buckets);
    for (size_t i = 0; i < st->n_buckets; i++) {
        Cleo__Storage__BucketInfo *b = cleo_xmalloc(sizeof *b);
        cleo__storage__bucket_info__init(b);
        b->name = mgr__xstrdup(st->buckets[i]->name);   /* the state may */
        b->owner = mgr__xstrdup(st->buckets[i]->owner); /* change meanwhile */
        b->acl = mgr__xstrdup(st->buckets[i]->acl);
        b->created_ms = st->buckets[i]->created_ms;
        k->sum.buckets[k->sum.n_buckets++] = b;
    }
}

static Cleo__Storage__BucketInfo *find(agent_bkt_t *k, const char *name)
{
    for (size_t i = 0; i < k->sum.n_buckets; i++)
        if (strcmp(k->sum.buckets[i]->name, name) == 0)
            return k->sum.buckets[i];
    return NULL;
}

static void done(rt_actor_t *self, agent_bkt_t *k,
                 Cleo__Introspect__AdminReply *r)
{
    reply(self, k->from, r);
    bkt_unlink(k);
    bkt_free(k);
}

static int on_changed(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    agent_bkt_t *k = data;
    int rc = status < 0 ? status : r->reason;
    const ProtobufCMessage *pb = rc != 0 && r != NULL ? r->payload : NULL;
    const Cleo__Cluster__CommandResult *res =
        pb != NULL &&
                pb->descriptor == &cleo__cluster__command_result__descriptor
            ? (const void *)pb
            : NULL;
    if (rc == 0)
        done(self, k, mgr__reply_done(&k->c));
    else if (res != NULL && res->detail != NULL && res->detail[0] != '\0')
        done(self, k, mgr__reply_refused(&k->c, rc, res->detail));
    else
        done(self, k, mgr__reply_error(&k->c, rc));
    return 0;
}

static void propose(rt_actor_t *self, agent_bkt_t *k,
                    Cleo__Cluster__Command *cmd)
{
    rt_pid_t to = mgr__agent_manager(self);
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_PROPOSE);
    rt_msg_set_pb(m, cmd);
    if (to == RT_PID_NONE) {
        rt_msg_free(m);
        (void)on_changed(self, NULL, CLEO_ENOCONNECTION, k);
    } else if (rt_call(self, to, m, 20000, on_changed, k) < 0) {
        (void)on_changed(self, NULL, CLEO_ENOCONNECTION, k);
    }
}

/* Every storage node answered, or its call failed: answer. */
static void usage_known(rt_actor_t *self, agent_bkt_t *k)
{
    const mgr__cmd_t *c = &k->c;
    Cleo__Storage__BucketInfo *b = c->name != NULL ? find(k, c->name) : NULL;
    if (c->kind == MGR__CMD_BUCKET_LIST) {
        Cleo__Introspect__AdminReply *r =
            mgr__reply_bucket_list(&k->sum, c->owner);
        json_t *j = json_loads(r->json, 0, NULL);
        if (j != NULL && k->nodes != NULL) {
            json_object_set(j, "nodes", k->nodes);
            char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (s != NULL) {
                free(r->json);
                r->json = s;
            }
        }
        json_decref(j);
        done(self, k, r);
    } else if (b == NULL) {
        done(self, k, mgr__reply_error(c, CLEO_ENOTFOUND));
    } else if (c->kind == MGR__CMD_BUCKET_DU) {
        done(self, k, mgr__reply_bucket_du(b));
    } else if (k->answered < k->asked) {
        done(self, k,
             mgr__reply_refused(c, CLEO_ENOCONNECTION,
                                "not every storage node answered: cannot "
                                "tell the bucket is empty everywhere"));
    } else if (b->objects > 0) {
        done(self, k, mgr__reply_error(c, CLEO_ESTATE));
    } else {
        Cleo__Cluster__BucketDelete *d = cleo_xmalloc(sizeof *d);
        cleo__cluster__bucket_delete__init(d);
        d->name = mgr__xstrdup(c->name);
        Cleo__Cluster__Command *cmd = mgr__agent_command();
        cmd->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_DELETE;
        cmd->bucket_delete = d;
        propose(self, k, cmd);
    }
}

static int on_listed(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    bkt_slot_t *s = data;
    agent_bkt_t *k = s->k;
    const ProtobufCMessage *pb =
        status == 0 && r->reason == 0 ? r->payload : NULL;
    if (pb != NULL &&
        pb->descriptor == &cleo__storage__bucket_list__descriptor) {
        const Cleo__Storage__BucketList *l = (const void *)pb;
        k->answered++;
        json_t *mine = json_object();
        for (size_t i = 0; i < l->n_buckets; i++)
            json_object_set_new(
                mine, l->buckets[i]->name,
                json_integer((json_int_t)l->buckets[i]->objects));
        json_object_set_new(k->nodes, s->node, mine);
        for (size_t i = 0; i < l->n_buckets; i++) {
            Cleo__Storage__BucketInfo *b = find(k, l->buckets[i]->name);
            if (b != NULL) {
                b->objects += l->buckets[i]->objects;
                b->bytes += l->buckets[i]->bytes;
            }
        }
    }
    if (--k->pending == 0)
        usage_known(self, k);
    return 0;
}

/* Ask every storage member's engine for its buckets' usage. */
static void ask_usage(rt_actor_t *self, agent_bkt_t *k)
{
    agent_t *a = k->agent;
    rt_t *rt = rt_actor_rt(self);
    k->pending = 1; /* held until every call is made */
    k->nodes = json_object();
    k->slots = cleo_xcalloc(a->state->n_members + 1, sizeof *k->slots);
    for (size_t i = 0; i < a->state->n_members; i++) {
        const Cleo__Cluster__Member *m = a->state->members[i];
        if (!(m->roles & CLEO__CLUSTER__ROLE__ROLE_STORAGE) ||
            m->state == CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_DETACHED)
            continue;
        k->asked++;
        rt_pid_t to = RT_PID_NONE;
        uint16_t idx;
        if (strcmp(m->node, a->o->node) == 0)
            to = rt_whereis(rt, STO_ENGINE_NAME);
        else if (rt_dist_node(rt, m->node, &idx) == 0 && rt_dist_is_up(rt, idx))
            to = rt_dist_named(rt, idx, STO_ENGINE_NAME);
        if (to == RT_PID_NONE)
            continue;
        k->pending++;
        k->slots[i].k = k;
        snprintf(k->slots[i].node, sizeof k->slots[i].node, "%s", m->node);
        if (rt_call(self, to, rt_msg_new(STO_MSG_BUCKET_LIST), ASK_MS,
                    on_listed, &k->slots[i]) < 0)
            k->pending--;
    }
    if (--k->pending == 0)
        usage_known(self, k);
}

static const Cleo__Cluster__Bucket *
state_bucket(const Cleo__Cluster__ClusterState *st, const char *name)
{
    for (size_t i = 0; i < st->n_buckets; i++)
        if (strcmp(st->buckets[i]->name, name) == 0)
            return st->buckets[i];
    return NULL;
}

static bool state_user(const Cleo__Cluster__ClusterState *st, const char *name)
{
    for (size_t i = 0; i < st->n_users; i++)
        if (strcmp(st->users[i]->name, name) == 0)
            return true;
    return false;
}

/* bucket acl NAME from the node's copy. */
static void show_acl(rt_actor_t *self, agent_bkt_t *k,
                     const Cleo__Cluster__Bucket *b)
{
    Cleo__Storage__BucketInfo info = CLEO__STORAGE__BUCKET_INFO__INIT;
    info.name = b->name;
    info.owner = b->owner;
    info.acl = b->acl;
    info.created_ms = b->created_ms;
    done(self, k, mgr__reply_bucket_acl(&info));
}

/* bucket chown NAME USER, bucket acl NAME [ACL]: checked against the
 * node's copy for a clear line, then decided by the managers, which
 * check again (the copy may lag). An update names only what it changes,
 * so a chown and an acl made at once both apply. */
static void change_bucket(rt_actor_t *self, agent_bkt_t *k)
{
    const Cleo__Cluster__ClusterState *st = k->agent->state;
    const mgr__cmd_t *c = &k->c;
    const Cleo__Cluster__Bucket *cur = state_bucket(st, c->name);
    if (cur == NULL)
        return done(self, k, mgr__reply_error(c, CLEO_ENOTFOUND));
    if (c->kind == MGR__CMD_BUCKET_ACL && c->value == NULL)
        return show_acl(self, k, cur);
    bool chown = c->kind == MGR__CMD_BUCKET_CHOWN;
    if (chown && !state_user(st, c->value))
        return done(self, k, mgr__reply_no_user(c->value));
    Cleo__Cluster__Bucket *b = cleo_xmalloc(sizeof *b);
    cleo__cluster__bucket__init(b);
    b->name = mgr__xstrdup(c->name);
    b->owner = mgr__xstrdup(chown ? c->value : "");
    b->acl = mgr__xstrdup(chown ? "" : c->value);
    Cleo__Cluster__BucketPut *p = cleo_xmalloc(sizeof *p);
    cleo__cluster__bucket_put__init(p);
    p->bucket = b;
    p->must_not_exist = false;
    Cleo__Cluster__Command *cmd = mgr__agent_command();
    cmd->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT;
    cmd->bucket_put = p;
    propose(self, k, cmd);
}

void mgr__agent_bucket(rt_actor_t *self, rt_msg_t *m)
{
    agent_t *a = rt_state(self);
    agent_bkt_t *k = cleo_xcalloc(1, sizeof *k);
    k->agent = a;
    k->from = rt_msg_caller(m);
    k->req = m->payload; /* taken: c points into it */
    m->payload = NULL;
    char err[512];
    if (mgr__cmd_parse((int)k->req->n_argv, k->req->argv, &k->c, err,
                       sizeof err) < 0) {
        reply(self, k->from,
              mgr__reply_new(CLEO_EBADREQ, mgr__xstrdup(err), NULL));
        bkt_free(k);
        return;
    }
    k->next = a->bkts;
    a->bkts = k;
    if (k->c.kind == MGR__CMD_BUCKET_CHOWN || k->c.kind == MGR__CMD_BUCKET_ACL)
        return change_bucket(self, k);
    if (k->c.kind != MGR__CMD_BUCKET_CREATE) {
        sum_init(k);
        ask_usage(self, k);
        return;
    }
    if (k->c.owner == NULL)
        k->c.owner = MGR_ADMIN_USER;
    Cleo__Cluster__Bucket *b = cleo_xmalloc(sizeof *b);
    cleo__cluster__bucket__init(b);
    b->name = mgr__xstrdup(k->c.name);
    b->owner = mgr__xstrdup(k->c.owner);
    b->acl = mgr__xstrdup("private");
    Cleo__Cluster__BucketPut *p = cleo_xmalloc(sizeof *p);
    cleo__cluster__bucket_put__init(p);
    p->bucket = b;
    p->must_not_exist = true;
    Cleo__Cluster__Command *cmd = mgr__agent_command();
    cmd->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT;
    cmd->bucket_put = p;
    propose(self, k, cmd);
}
