/*
 * raft.c - the Raft actor (MGR_RAFT_NAME): the front of the managers'
 * Raft. It starts the Raft thread (raft_node.c) and the bridge
 * (raft_bridge.c), hands requests to the thread, forwards to the leader
 * what the thread cannot take, and pushes the state to subscribers.
 *
 * Its handlers never wait: a request becomes an op on the thread's queue
 * and the thread answers the caller itself. Only init (start-up: raft
 * opens and loads its directory) and destroy (raft closes, the thread is
 * joined) wait for the Raft thread.
 */
#include "manager/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/raft_node.h"
#include "proto/types.h"

/* A subscriber of RAFT_STATE pushes. */
typedef struct {
    rt_pid_t pid;
    rt_ref_t mon;
} sub_t;

/* A request forwarded to the leader, waiting for its answer. */
typedef struct fwd_s {
    struct fwd_s *next;
    rt_from_t from;
    uint32_t type;
    char leader[MGR_FSM_NODE_MAX + 1];
} fwd_t;

typedef struct {
    mgr__raft_node_t *node;
    rt_pid_t bridge;
    uint32_t forward_ms;
    sub_t *subs;
    size_t nsubs;
    fwd_t *fwds;
    /* the last state the thread pushed (NULL until the first) */
    Cleo__Cluster__RaftState *meta;
    rt_buf_t *state;
} ractor_t;

/* init's argument: the options, checked. */
typedef struct {
    const mgr__raft_opts_t *o;
} start_arg_t;

static void pb_free(void *p)
{
    protobuf_c_message_free_unpacked(p, NULL);
}

/* ---- requests to the thread ---------------------------------------- */

/* Queue m's request for the thread, with its record (taken from m). */
static int post(ractor_t *a, rt_msg_t *m, void *pb)
{
    mgr__raft_op_t *op = cleo_xcalloc(1, sizeof *op);
    op->type = m->type;
    op->tag = m->tag;
    op->from = rt_msg_caller(m);
    if (pb != NULL) {
        op->payload = pb;
        op->payload_free = pb_free;
        m->payload = NULL; /* ours now: the runtime will not free it */
    }
    mgr__raft_node_post(a->node, op);
    return 0;
}

static int reply_bad(rt_actor_t *self, rt_msg_t *m, const char *what)
{
    rt_from_t from = rt_msg_caller(m);
    if (from.ref != 0)
        (void)rt_reply(rt_actor_rt(self), from,
                       mgr__raft_result_msg(m->type, CLEO_EBADREQ, what));
    return 0;
}

static int on_propose(rt_actor_t *self, ractor_t *a, rt_msg_t *m)
{
    void *cmd = mgr__raft_pb_of(m, &cleo__cluster__command__descriptor);
    if (cmd == NULL)
        return reply_bad(self, m, "PROPOSE needs a Command");
    return post(a, m, cmd);
}

static int on_member(rt_actor_t *self, ractor_t *a, rt_msg_t *m)
{
    Cleo__Cluster__RaftMember *mb =
        mgr__raft_pb_of(m, &cleo__cluster__raft_member__descriptor);
    if (mb == NULL || !mgr__fsm_node_is_valid(mb->node))
        return reply_bad(self, m, "a member change needs a node name");
    return post(a, m, mb);
}

/* The bridge's fds and answers go to the thread as they are. */
static int on_priv_op(ractor_t *a, rt_msg_t *m)
{
    mgr__raft_op_t *op = cleo_xcalloc(1, sizeof *op);
    op->type = m->type;
    op->payload = m->payload;
    op->payload_free = m->payload_free;
    m->payload = NULL;
    mgr__raft_node_post(a->node, op);
    return 0;
}

/* ---- forwarding to the leader -------------------------------------- */

static void fwd_unlink(ractor_t *a, fwd_t *f)
{
    fwd_t **pp = &a->fwds;
    while (*pp != f)
        pp = &(*pp)->next;
    *pp = f->next;
}

/* The leader's answer, relayed as it is; or, when the call failed, the
 * caller is told whether the command can have been applied: not if no
 * Raft actor took it there (CLEO_ENOPROC), maybe otherwise (the
 * connection was lost with the request sent or the call timed out). */
static int on_forwarded(rt_actor_t *self, rt_msg_t *reply, int status,
                        void *data)
{
    ractor_t *a = rt_state(self);
    fwd_t *f = data;
    rt_msg_t *r;
    fwd_unlink(a, f);
    if (status == 0) {
        r = rt_msg_new(f->type);
        r->reason = reply->reason;
        r->payload = reply->payload;
        r->payload_free = reply->payload_free;
        reply->payload = NULL;
    } else {
        char d[MGR_FSM_DETAIL_MAX];
        bool unsent = status == CLEO_ENOPROC;
        snprintf(d, sizeof d, "manager leader %.100s: %s%s", f->leader,
                 cleo_strerror(status),
                 unsent ? "" : "; the outcome is unknown");
        r = mgr__raft_result_msg(
            f->type, unsent ? CLEO_ENOCONNECTION : CLEO_ETIMEDOUT, d);
    }
    (void)rt_reply(rt_actor_rt(self), f->from, r);
    free(f);
    return 0;
}

/* The thread is not the leader but knows who is: call that manager's
 * Raft actor with the request and relay its answer. A leader whose
 * connection is down (it was up while it led us: its heartbeats came
 * over it) is not tried, so the request surely was not applied. */
static int on_forward(rt_actor_t *self, ractor_t *a, mgr__raft_priv_t *p)
{
    rt_t *rt = rt_actor_rt(self);
    uint16_t node;
    rt_pid_t to = RT_PID_NONE;
    if (rt_dist_node(rt, p->node, &node) == 0 && rt_dist_is_up(rt, node))
        to = rt_dist_named(rt, node, MGR_RAFT_NAME);
    if (to == RT_PID_NONE) {
        char d[MGR_FSM_DETAIL_MAX];
        snprintf(d, sizeof d, "%s: the last leader, %.100s, is unreachable",
                 MGR_RAFT_NO_LEADER, p->node);
        (void)rt_reply(rt, p->from,
                       mgr__raft_result_msg(p->type, CLEO_ENOCONNECTION, d));
        return 0;
    }
    fwd_t *f = cleo_xcalloc(1, sizeof *f);
    f->from = p->from;
    f->type = p->type;
    snprintf(f->leader, sizeof f->leader, "%s", p->node);
    f->next = a->fwds;
    a->fwds = f;
    rt_msg_t *req = rt_msg_new(p->type);
    rt_msg_set_pb(req, p->pb);
    p->pb = NULL;
    req->tag = p->hops + 1;
    if (rt_call(self, to, req, a->forward_ms, on_forwarded, f) < 0)
        (void)on_forwarded(self, NULL, CLEO_ENOPROC, f);
    return 0;
}

/* ---- subscribers --------------------------------------------------------- */

static void push(rt_actor_t *self, ractor_t *a, rt_pid_t to)
{
    Cleo__Cluster__RaftState *s = cleo_xmalloc(sizeof *s);
    cleo__cluster__raft_state__init(s);
    s->applied_index = a->meta->applied_index;
    s->has_leader = a->meta->has_leader;
    s->leader = mgr__fsm_strdup(a->meta->leader);
    s->term = a->meta->term;
    s->node = mgr__fsm_strdup(a->meta->node);
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_STATE);
    rt_msg_set_body(m, s, rt_buf_ref(a->state));
    (void)rt_send(rt_actor_rt(self), to, m);
}

static sub_t *sub_find(ractor_t *a, rt_pid_t pid)
{
    for (size_t i = 0; i < a->nsubs; i++)
        if (a->subs[i].pid == pid)
            return &a->subs[i];
    return NULL;
}

static void sub_drop(ractor_t *a, sub_t *s)
{
    *s = a->subs[--a->nsubs];
}

static void reply_empty(rt_actor_t *self, rt_msg_t *m, int status)
{
    rt_from_t from = rt_msg_caller(m);
    if (from.ref == 0)
        return;
    rt_msg_t *r = rt_msg_new(m->type);
    r->reason = status;
    (void)rt_reply(rt_actor_rt(self), from, r);
}

static int on_subscribe(rt_actor_t *self, ractor_t *a, rt_msg_t *m)
{
    if (m->from == RT_PID_NONE) {
        reply_empty(self, m, CLEO_EINVAL);
        return 0;
    }
    if (sub_find(a, m->from) == NULL) {
        a->subs = cleo_xrealloc(a->subs, (a->nsubs + 1) * sizeof *a->subs);
        sub_t *s = &a->subs[a->nsubs++];
        s->pid = m->from;
        (void)rt_monitor(self, m->from, &s->mon);
        if (a->meta != NULL)
            push(self, a, m->from);
    }
    reply_empty(self, m, 0);
    return 0;
}

static int on_unsubscribe(rt_actor_t *self, ractor_t *a, rt_msg_t *m)
{
    sub_t *s = sub_find(a, m->from);
    if (s != NULL) {
        (void)rt_demonitor(self, s->mon);
        sub_drop(a, s);
    }
    reply_empty(self, m, 0);
    return 0;
}

static int on_down(ractor_t *a, rt_msg_t *m)
{
    for (size_t i = 0; i < a->nsubs; i++)
        if (a->subs[i].mon == m->ref) {
            sub_drop(a, &a->subs[i]);
            break;
        }
    return 0;
}

/* The thread applied entries (or the leader changed): keep the state and
 * push it to every subscriber. */
static int on_applied(rt_actor_t *self, ractor_t *a, mgr__raft_priv_t *p)
{
    if (p->pb == NULL || p->buf == NULL)
        return 0;
    if (a->meta != NULL)
        pb_free(a->meta);
    rt_buf_unref(a->state);
    a->meta = p->pb;
    a->state = p->buf;
    p->pb = NULL;
    p->buf = NULL;
    for (size_t i = 0; i < a->nsubs; i++)
        push(self, a, a->subs[i].pid);
    return 0;
}

/* ---- the behaviour ------------------------------------------------------- */

static int ractor_handle(rt_actor_t *self, rt_msg_t *m)
{
    ractor_t *a = rt_state(self);
    mgr__raft_priv_t *p = mgr__raft_priv_of(m);
    switch (m->type) { /* size: dispatch */
    case MGR_RAFT_MSG_PROPOSE:
        return on_propose(self, a, m);
    case MGR_RAFT_MSG_MEMBER_ADD:
    case MGR_RAFT_MSG_MEMBER_REMOVE:
        return on_member(self, a, m);
    case MGR_RAFT_MSG_STATUS:
    case MGR_RAFT_MSG_READ:
        return rt_msg_caller(m).ref != 0 ? post(a, m, NULL) : 0;
    case MGR_RAFT_MSG_SUBSCRIBE:
        return on_subscribe(self, a, m);
    case MGR_RAFT_MSG_UNSUBSCRIBE:
        return on_unsubscribe(self, a, m);
    case RT_MSG_DOWN:
        return on_down(a, m);
    case MGR_RAFT_PRIV_ACCEPT:
    case MGR_RAFT_PRIV_CONNECTED:
        return p != NULL ? on_priv_op(a, m) : 0;
    case MGR_RAFT_PRIV_APPLIED:
        return p != NULL ? on_applied(self, a, p) : 0;
    case MGR_RAFT_PRIV_FORWARD:
        return p != NULL ? on_forward(self, a, p) : 0;
    default:
        return 0;
    }
}

/* Stop the bridge now, and free its name for a restarted Raft actor's
 * (the bridge dies of our exit signal only later). */
static void bridge_stop(rt_t *rt, rt_pid_t bridge)
{
    if (rt_whereis(rt, MGR_RAFT_BRIDGE_NAME) == bridge)
        (void)rt_unregister(rt, MGR_RAFT_BRIDGE_NAME);
    (void)rt_exit(rt, bridge, RT_REASON_KILL);
}

static int ractor_init(rt_actor_t *self, void *arg)
{
    const mgr__raft_opts_t *o = ((const start_arg_t *)arg)->o;
    rt_t *rt = rt_actor_rt(self);
    uint32_t election = o->election_timeout_ms ? o->election_timeout_ms : 1000;
    mgr__raft_bridge_arg_t ba = {
        .raft = rt_self(self), .node = o->node, .open_ms = election};
    rt_spawn_opts_t so = {
        .flags = RT_SPAWN_LINK, .name = MGR_RAFT_BRIDGE_NAME, .sched = 0};
    rt_pid_t bridge;
    int rc = rt_spawn(rt, self, &mgr__raft_bridge_beh, &ba, &so, &bridge);
    if (rc < 0)
        return rc;
    ractor_t *a = cleo_xcalloc(1, sizeof *a);
    a->bridge = bridge;
    /* Above the 10 election timeouts a lost proposal may wait. */
    a->forward_ms =
        o->forward_timeout_ms ? o->forward_timeout_ms : 12 * election + 1000;
    if ((rc = mgr__raft_node_new(rt, rt_self(self), bridge, o, &a->node)) < 0) {
        bridge_stop(rt, bridge);
        free(a);
        return rc;
    }
    rt_set_state(self, a);
    return 0;
}

static void ractor_destroy(rt_actor_t *self, int reason)
{
    ractor_t *a = rt_state(self);
    (void)reason;
    if (a == NULL)
        return;
    mgr__raft_node_free(a->node); /* raft closed, the thread joined */
    bridge_stop(rt_actor_rt(self), a->bridge);
    while (a->fwds != NULL) {
        fwd_t *f = a->fwds;
        a->fwds = f->next;
        free(f);
    }
    free(a->subs);
    if (a->meta != NULL)
        pb_free(a->meta);
    rt_buf_unref(a->state);
    free(a);
}

static const rt_behaviour_t raft_beh = {.name = "mgr_raft",
                                        .init = ractor_init,
                                        .handle = ractor_handle,
                                        .destroy = ractor_destroy};

/* ---- starting --------------------------------------------------------- */

static int opts_check(const mgr__raft_opts_t *o)
{
    if (o == NULL || o->node == NULL || !mgr__fsm_node_is_valid(o->node) ||
        o->dir == NULL || o->dir[0] == '\0' ||
        o->n_managers > MGR_RAFT_MANAGERS_MAX ||
        (o->n_managers > 0 && o->managers == NULL))
        return CLEO_EINVAL;
    for (size_t i = 0; i < o->n_managers; i++) {
        if (o->managers[i] == NULL || !mgr__fsm_node_is_valid(o->managers[i]))
            return CLEO_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (mgr__raft_id(o->managers[i]) == mgr__raft_id(o->managers[j]))
                return CLEO_EINVAL; /* the same name twice */
    }
    return 0;
}

/* Make proto/cluster.proto's records decodable from other managers. */
static void register_types(rt_t *rt)
{
    for (size_t i = 0; cleo_proto_cluster_types[i] != NULL; i++)
        if (rt_dist_register_pb(rt, cleo_proto_cluster_types[i]) < 0)
            return; /* distribution not started: one manager alone */
}

int mgr__raft_start(rt_t *rt, rt_actor_t *self, const mgr__raft_opts_t *o,
                    rt_pid_t *out)
{
    int rc = opts_check(o);
    if (rc < 0)
        return rc;
    register_types(rt);
    start_arg_t arg = {.o = o};
    rt_spawn_opts_t so = {.flags = self != NULL ? RT_SPAWN_LINK : 0,
                          .name = MGR_RAFT_NAME,
                          .sched = RT_SCHED_ANY};
    return rt_spawn(rt, self, &raft_beh, &arg, &so, out);
}

int mgr__raft_sup_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                        void *extra, rt_pid_t *out)
{
    (void)extra;
    return mgr__raft_start(rt_actor_rt(sup), sup, spec->arg, out);
}
