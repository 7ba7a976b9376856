/*
 * agent.c - the cluster agent (agent.h): registers the node with the
 * managers, keeps a copy of the cluster state, and on the Raft leader's
 * node turns distribution's view of the members into state changes.
 *
 * One timer drives the retries: every tick the agent registers if it is
 * not yet, subscribes if it has no manager, and (on the leader's node)
 * checks the members. Calls are asynchronous (rt_call); at most one of
 * each kind is in flight.
 */
#include "manager/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "manager/agent_int.h"
#include "manager/raft.h"

#define CALL_MS 5000u
#define TICK_MS 1000u /* retry and check period */
/* The manager followed is asked for the Raft configuration every tick;
 * STATUS_FAILS answers missed in a row (each waited STATUS_MS) and the
 * agent follows another. */
#define STATUS_MS 3000u
#define STATUS_FAILS 4u
#define READ_MS 1000u /* a refresh's read (answered locally by a manager) */

/* A manager's mgr_raft: the local one, or {mgr_raft, node}. */
static rt_pid_t raft_of(rt_actor_t *self, const char *mgr)
{
    agent_t *a = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (strcmp(mgr, a->o->node) == 0)
        return rt_whereis(rt, MGR_RAFT_NAME);
    uint16_t idx;
    if (rt_dist_node(rt, mgr, &idx) < 0)
        return RT_PID_NONE;
    return rt_dist_named(rt, idx, MGR_RAFT_NAME);
}

/* Propose cmd (takes) to the manager `to`; cb as rt_call's. */
static int propose(rt_actor_t *self, rt_pid_t to, Cleo__Cluster__Command *cmd,
                   rt_reply_cb cb, void *data)
{
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_PROPOSE);
    rt_msg_set_pb(m, cmd);
    return rt_call(self, to, m, CALL_MS, cb, data);
}

Cleo__Cluster__Command *mgr__agent_command(void)
{
    Cleo__Cluster__Command *c = cleo_xmalloc(sizeof *c);
    cleo__cluster__command__init(c);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->proposed_ms =
        (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return c;
}

/* ---- registering ------------------------------------------------------ */

static int on_attached(rt_actor_t *self, rt_msg_t *reply, int status,
                       void *data)
{
    (void)data;
    agent_t *a = rt_state(self);
    a->attach_busy = false;
    if (status == 0 && reply != NULL && reply->reason == 0)
        a->registered = true;
    return 0;
}

static void attach(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    const char *mgr =
        mgr__agent_manager_at(a, a->next_attach++ % mgr__agent_n_managers(a));
    rt_pid_t to = raft_of(self, mgr);
    if (to == RT_PID_NONE)
        return;
    Cleo__Cluster__Member *mb = cleo_xmalloc(sizeof *mb);
    cleo__cluster__member__init(mb);
    mb->node = strdup(a->o->node);
    mb->address = strdup(a->o->address ? a->o->address : "");
    mb->rack = strdup(a->o->rack ? a->o->rack : "");
    mb->roles = a->o->roles;
    mb->vnodes = a->o->vnodes ? a->o->vnodes : 168;
    Cleo__Cluster__MemberAttach *at = cleo_xmalloc(sizeof *at);
    cleo__cluster__member_attach__init(at);
    at->member = mb;
    Cleo__Cluster__Command *c = mgr__agent_command();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_ATTACH;
    c->member_attach = at;
    if (propose(self, to, c, on_attached, NULL) == 0)
        a->attach_busy = true;
}

/* ---- the copy of the state ------------------------------------------- */

/* Leave the subscribed manager (its copy stopped moving, or the
 * subscription failed): the next tick subscribes to another. */
static void drop_sub(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    if (a->sub == RT_PID_NONE)
        return;
    (void)rt_demonitor(self, a->sub_mon);
    (void)rt_send(rt_actor_rt(self), a->sub,
                  rt_msg_new(MGR_RAFT_MSG_UNSUBSCRIBE));
    a->sub = RT_PID_NONE;
    a->sub_node[0] = '\0';
}

static int on_subscribed(rt_actor_t *self, rt_msg_t *reply, int status,
                         void *data)
{
    (void)data;
    (void)reply;
    agent_t *a = rt_state(self);
    a->sub_busy = false;
    if (status < 0)
        drop_sub(self);
    return 0;
}

static void subscribe(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    const char *mgr =
        mgr__agent_manager_at(a, a->next_sub % mgr__agent_n_managers(a));
    rt_pid_t to = raft_of(self, mgr);
    /* A manager starts by following its own copy (first_manager()): no
     * hop, and no other manager's hang leaves it behind. Its mgr_raft may
     * not be registered at the first ticks; wait a few for it. After a
     * drop (a manager behind, hung, or removed) the next one is tried. */
    bool local = strcmp(mgr, a->o->node) == 0;
    if (to == RT_PID_NONE && local && a->local_waits++ < 5)
        return;
    a->next_sub++;
    if (to == RT_PID_NONE || rt_monitor(self, to, &a->sub_mon) < 0)
        return;
    a->sub = to;
    snprintf(a->sub_node, sizeof a->sub_node, "%s", mgr);
    if (rt_call(self, to, rt_msg_new(MGR_RAFT_MSG_SUBSCRIBE), CALL_MS,
                on_subscribed, NULL) == 0)
        a->sub_busy = true;
}

/* Keep the state in body b (a RaftState and the packed ClusterState):
 * a push of the manager subscribed to (read false) unless it is older
 * than the copy; or a read's answer (read true) only if it is newer.
 * @return true if kept. */
static bool keep(agent_t *a, rt_body_t *b, bool read)
{
    if (b == NULL || b->pb == NULL || b->buf == NULL)
        return false;
    const Cleo__Cluster__RaftState *rs = b->pb;
    Cleo__Cluster__ClusterState *st = cleo__cluster__cluster_state__unpack(
        NULL, rt_buf_len(b->buf), (const uint8_t *)rt_buf_data(b->buf));
    if (st == NULL)
        return false;
    uint64_t have = a->state != NULL ? a->state->applied_index : 0;
    /* Never back: a manager followed anew may be behind the copy (which
     * a read, or the manager followed before, gave); its pushes count
     * once it has caught up. */
    bool stale = a->state != NULL &&
                 (read ? st->applied_index <= have : st->applied_index < have);
    if (!read && strcmp(rs->node, a->sub_node) != 0)
        stale = true; /* a manager left behind, still pushing */
    if (stale) {
        cleo__cluster__cluster_state__free_unpacked(st, NULL);
        return false;
    }
    if (a->state != NULL)
        cleo__cluster__cluster_state__free_unpacked(a->state, NULL);
    rt_buf_unref(a->packed);
    a->state = st;
    a->packed = rt_buf_ref(b->buf);
    a->applied = rs->applied_index;
    a->term = rs->term;
    a->has_leader = rs->has_leader;
    snprintf(a->leader, sizeof a->leader, "%s", rs->leader);
    snprintf(a->from, sizeof a->from, "%s", rs->node);
    return true;
}

/* The copy as a message of type: RaftState and the packed state. */
static rt_msg_t *state_msg(agent_t *a, uint32_t type)
{
    rt_msg_t *r = rt_msg_new(type);
    if (a->state == NULL) {
        r->reason = CLEO_ENOTFOUND;
    } else {
        Cleo__Cluster__RaftState *rs = cleo_xmalloc(sizeof *rs);
        cleo__cluster__raft_state__init(rs);
        rs->applied_index = a->applied;
        rs->term = a->term;
        rs->has_leader = a->has_leader;
        rs->leader = strdup(a->leader);
        rs->node = strdup(a->from);
        rt_msg_set_body(r, rs, rt_buf_ref(a->packed));
    }
    return r;
}

static void answer_get(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *r = state_msg(rt_state(self), MGR_AGENT_GET);
    (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
}

/* Every local subscriber gets the copy. */
static void push(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    for (size_t i = 0; i < a->n_subs && a->state != NULL; i++)
        (void)rt_send(rt_actor_rt(self), a->subs[i],
                      state_msg(a, MGR_AGENT_STATE));
}

static void subscribe_local(rt_actor_t *self, rt_msg_t *m)
{
    agent_t *a = rt_state(self);
    rt_msg_t *r = rt_msg_new(MGR_AGENT_SUBSCRIBE);
    if (a->n_subs == sizeof a->subs / sizeof a->subs[0])
        r->reason = CLEO_ELIMIT;
    else if (rt_monitor(self, m->from, &a->sub_refs[a->n_subs]) == 0)
        a->subs[a->n_subs++] = m->from;
    (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
    if (r->reason == 0 && a->state != NULL)
        (void)rt_send(rt_actor_rt(self), m->from,
                      state_msg(a, MGR_AGENT_STATE));
}

/* A DOWN: a local subscriber's, or the subscribed manager's. */
static void on_down(agent_t *a, rt_ref_t ref)
{
    if (ref == a->sub_mon && a->sub != RT_PID_NONE) {
        a->sub = RT_PID_NONE; /* the next tick subscribes elsewhere */
        a->sub_node[0] = '\0';
    }
    for (size_t i = 0; i < a->n_subs; i++)
        if (a->sub_refs[i] == ref) {
            a->subs[i] = a->subs[--a->n_subs];
            a->sub_refs[i] = a->sub_refs[a->n_subs];
            return;
        }
}

/* ---- the failure detector (on the leader's node) ---------------------- */

static int on_fd_done(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    (void)reply, (void)status, (void)data;
    agent_t *a = rt_state(self);
    a->fd_busy--;
    return 0;
}

/* Is member m reachable: this node, or a live connection. The leader
 * also dials members it has an address for, so a member that returns is
 * seen. */
static bool reachable(rt_actor_t *self, const Cleo__Cluster__Member *m)
{
    agent_t *a = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (strcmp(m->node, a->o->node) == 0)
        return true;
    uint16_t idx;
    int rc = rt_dist_node(rt, m->node, &idx);
    if (rc == CLEO_ENOTFOUND && m->address[0] != '\0') {
        const char *colon = strrchr(m->address, ':');
        char peer[320];
        snprintf(peer, sizeof peer, "%s%s", m->node, colon ? colon : "");
        rc = rt_dist_node(rt, peer, &idx);
    }
    if (rc < 0)
        return false;
    if (!rt_dist_is_up(rt, idx)) {
        (void)rt_dist_connect(rt, idx);
        return false;
    }
    return true;
}

static void set_state(rt_actor_t *self, const char *node,
                      Cleo__Cluster__MemberState to,
                      Cleo__Cluster__MemberState expect)
{
    agent_t *a = rt_state(self);
    Cleo__Cluster__MemberSetState *s = cleo_xmalloc(sizeof *s);
    cleo__cluster__member_set_state__init(s);
    s->node = strdup(node);
    s->state = to;
    s->expect = expect;
    Cleo__Cluster__Command *c = mgr__agent_command();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_SET_STATE;
    c->member_set_state = s;
    rt_pid_t raft = rt_whereis(rt_actor_rt(self), MGR_RAFT_NAME);
    if (raft != RT_PID_NONE && propose(self, raft, c, on_fd_done, NULL) == 0)
        a->fd_busy++;
}

/* The first leader gives the cluster its system conf (cluster.replicas ...)
 * and an id. */
static void first_conf(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    Cleo__Cluster__SystemConf *sc = cleo_xmalloc(sizeof *sc);
    cleo__cluster__system_conf__init(sc);
    uint8_t id[8];
    char hex[17];
    if (RAND_bytes(id, sizeof id) != 1)
        memset(id, 0, sizeof id);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    sc->cluster_id = strdup(hex);
    sc->n = a->o->n ? a->o->n : 1;
    sc->r = a->o->r ? a->o->r : 1;
    sc->w = a->o->w ? a->o->w : 1;
    sc->d = a->o->d ? a->o->d : 1;
    Cleo__Cluster__Command *c = mgr__agent_command();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_SET_CONF;
    c->set_conf = sc;
    rt_pid_t raft = rt_whereis(rt_actor_rt(self), MGR_RAFT_NAME);
    if (raft != RT_PID_NONE && propose(self, raft, c, on_fd_done, NULL) == 0)
        a->fd_busy++;
}

static void check_members(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    if (a->state == NULL || !a->has_leader ||
        strcmp(a->leader, a->o->node) != 0 || a->fd_busy > 0)
        return;
    if (a->state->conf == NULL || a->state->conf->n == 0) {
        first_conf(self);
        return;
    }
    for (size_t i = 0; i < a->state->n_members; i++) {
        const Cleo__Cluster__Member *m = a->state->members[i];
        bool up = reachable(self, m);
        if (m->state == CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_RUNNING &&
            !up)
            set_state(self, m->node,
                      CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_STOPPED,
                      CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_RUNNING);
        else if (m->state ==
                     CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_STOPPED &&
                 up)
            set_state(self, m->node,
                      CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_RUNNING,
                      CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_STOPPED);
    }
}

/* ---- the managers as Raft sees them ------------------------------------ */

size_t mgr__agent_n_managers(const agent_t *a)
{
    return a->n_voters > 0 ? a->n_voters : a->o->n_managers;
}

const char *mgr__agent_manager_at(const agent_t *a, size_t i)
{
    return a->n_voters > 0 ? a->voters[i] : a->o->managers[i];
}

static int on_status(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    (void)data;
    agent_t *a = rt_state(self);
    a->status_busy = false;
    const ProtobufCMessage *pb = status == 0 ? reply->payload : NULL;
    if (pb == NULL ||
        pb->descriptor != &cleo__cluster__raft_status__descriptor) {
        /* No answer: a manager that hangs (SIGSTOP, a stuck host) keeps
         * its connection until net_ticktime, and its pushes stop. */
        if (++a->status_fails >= STATUS_FAILS) {
            drop_sub(self);
            a->status_fails = 0;
        }
        return 0;
    }
    a->status_fails = 0;
    const Cleo__Cluster__RaftStatus *st = (const void *)pb;
    size_t n = 0;
    bool member = false;
    for (size_t i = 0; i < st->n_servers && n < 16; i++) {
        if (st->servers[i]->role != CLEO__CLUSTER__RAFT_ROLE__RAFT_ROLE_VOTER)
            continue;
        snprintf(a->voters[n++], sizeof a->voters[0], "%s",
                 st->servers[i]->node);
        member |= strcmp(st->servers[i]->node, st->node) == 0;
    }
    if (n > 0)
        a->n_voters = n;
    a->leaderless = st->leader[0] == '\0' ? a->leaderless + 1 : 0;
    if (a->leaderless >= 3) { /* it may be cut off, or removed */
        drop_sub(self);
        a->leaderless = 0;
    }
    if (n > 0 && !member) /* removed: its copy no longer moves */
        drop_sub(self);
    return 0;
}

/* Ask the subscribed manager for the Raft configuration. */
static void ask_status(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    if (a->sub == RT_PID_NONE || a->status_busy)
        return;
    if (rt_call(self, a->sub, rt_msg_new(MGR_RAFT_MSG_STATUS), STATUS_MS,
                on_status, NULL) == 0)
        a->status_busy = true;
}

/* ---- a newer RING seen on a storage request: refresh at once --------- */

static uint32_t ring_version(const agent_t *a)
{
    return a->state != NULL && a->state->ring_cur != NULL
               ? (uint32_t)a->state->ring_cur->version
               : 0;
}

/* Follow manager mgr from the next subscription on. */
static void prefer(agent_t *a, const char *mgr)
{
    for (size_t i = 0; i < mgr__agent_n_managers(a); i++)
        if (strcmp(mgr__agent_manager_at(a, i), mgr) == 0)
            a->next_sub = i;
}

static int on_read(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    (void)data;
    agent_t *a = rt_state(self);
    a->reads--;
    if (status == 0 && reply != NULL && reply->reason == 0 &&
        keep(a, rt_msg_body(reply), true)) {
        a->ring_refreshes++;
        push(self);
    }
    /* The last answer is in: if the manager followed was behind (or
     * hangs), follow the one that gave the copy. */
    if (a->reads == 0 && strcmp(a->from, a->sub_node) != 0) {
        drop_sub(self);
        prefer(a, a->from);
        subscribe(self);
    }
    return 0;
}

/* AGENT_RING_SEEN: a storage request or reply carried RING version v. If
 * it is newer than the copy, read the state from every manager at once
 * (a read is answered locally by each; one may hang, another be behind)
 * and keep the newest. The hints come at most once a second per node
 * and version, so this is at most a round of reads a second. */
static void ring_seen(rt_actor_t *self, uint32_t v)
{
    agent_t *a = rt_state(self);
    if (a->state == NULL || v <= ring_version(a) || a->reads > 0)
        return;
    for (size_t i = 0; i < mgr__agent_n_managers(a); i++) {
        rt_pid_t to = raft_of(self, mgr__agent_manager_at(a, i));
        if (to != RT_PID_NONE &&
            rt_call(self, to, rt_msg_new(MGR_RAFT_MSG_READ), READ_MS, on_read,
                    NULL) == 0)
            a->reads++;
    }
}

/* ---- the actor -------------------------------------------------------- */

static void tick(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    if (!a->registered && !a->attach_busy)
        attach(self);
    if (a->sub == RT_PID_NONE && !a->sub_busy)
        subscribe(self);
    ask_status(self);
    check_members(self);
    (void)rt_send_after(rt_actor_rt(self), TICK_MS, rt_self(self),
                        rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_TICK),
                        NULL);
}

static int agent_handle(rt_actor_t *self, rt_msg_t *m)
{
    agent_t *a = rt_state(self);
    switch (m->type) {
    case CLEO__CLUSTER__AGENT_MSG_ID__AGENT_TICK:
        tick(self);
        return 0;
    case MGR_RAFT_MSG_STATE:
        if (keep(a, rt_msg_body(m), false))
            push(self);
        check_members(self);
        return 0;
    case MGR_AGENT_SUBSCRIBE:
        subscribe_local(self, m);
        return 0;
    case MGR_AGENT_GET:
        answer_get(self, m);
        return 0;
    case RT_MSG_ADMIN:
        mgr__agent_admin(self, m);
        return 0;
    case MGR_AGENT_PROPOSE:
        mgr__agent_propose(self, m);
        return 0;
    case MGR_AGENT_RING_SEEN:
        ring_seen(self, m->tag);
        return 0;
    case RT_MSG_DOWN:
        on_down(a, m->ref);
        return 0;
    case RT_MSG_NODEUP:
    case RT_MSG_NODEDOWN:
        check_members(self);
        return 0;
    default:
        return 0;
    }
}

/* ---- the stand-in "admin" on a node without the manager role ---------- */

static int on_stood_in(rt_actor_t *self, rt_msg_t *reply, int status,
                       void *data)
{
    rt_from_t *from = data;
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    m->reason = status;
    if (status == 0 && reply->payload != NULL) {
        m->payload = reply->payload; /* the AdminReply, moved */
        m->payload_free = reply->payload_free;
        reply->payload = NULL;
    }
    (void)rt_reply(rt_actor_rt(self), *from, m);
    free(from);
    return 0;
}

/* Hands each admin command to the agent (its state: the agent's pid). */
static int stand_in_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type != RT_MSG_ADMIN)
        return 0;
    rt_pid_t agent = (rt_pid_t)(uintptr_t)rt_state(self);
    rt_from_t *from = cleo_xmalloc(sizeof *from);
    *from = rt_msg_caller(m);
    rt_msg_t *f = rt_msg_new(RT_MSG_ADMIN);
    f->payload = m->payload; /* the AdminReq, moved */
    f->payload_free = m->payload_free;
    m->payload = NULL;
    if (rt_call(self, agent, f, 30000, on_stood_in, from) < 0)
        (void)on_stood_in(self, NULL, CLEO_ENOPROC, from);
    return 0;
}

static int stand_in_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, arg);
    return 0;
}

static const rt_behaviour_t stand_in_beh = {
    .name = "admin", .init = stand_in_init, .handle = stand_in_handle};

/* The manager to follow first: this node's own if it is one (no hop),
 * else one chosen by the node's name, so the managers share the pushes. */
static size_t first_manager(const agent_t *a)
{
    size_t n = mgr__agent_n_managers(a);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = a->o->node; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (size_t i = 0; i < n; i++)
        if (strcmp(mgr__agent_manager_at(a, i), a->o->node) == 0)
            return i;
    return h % n;
}

static int agent_init(rt_actor_t *self, void *arg)
{
    agent_t *a = cleo_xcalloc(1, sizeof *a);
    a->o = arg;
    rt_set_state(self, a);
    a->next_sub = first_manager(a);
    (void)rt_monitor_nodes(self, true);
    /* Without the manager role there is no admin actor: a stand-in
     * takes its name, so cleo-adm's cluster commands work on any node. */
    if (!(a->o->roles & CLEO__CLUSTER__ROLE__ROLE_MANAGER)) {
        rt_spawn_opts_t so = {
            .flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY, .name = "admin"};
        int rc = rt_spawn(rt_actor_rt(self), self, &stand_in_beh,
                          (void *)(uintptr_t)rt_self(self), &so, NULL);
        if (rc < 0 && rc != CLEO_EEXIST) { /* destroy will not run */
            rt_set_state(self, NULL);
            free(a);
            return rc;
        }
    }
    return rt_send(rt_actor_rt(self), rt_self(self),
                   rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_TICK));
}

static void agent_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    agent_t *a = rt_state(self);
    if (a == NULL)
        return;
    if (a->state != NULL)
        cleo__cluster__cluster_state__free_unpacked(a->state, NULL);
    rt_buf_unref(a->packed);
    mgr__agent_admin_drop(a);
    mgr__agent_bucket_drop(a);
    free(a);
}

static const rt_behaviour_t agent_beh = {.name = MGR_AGENT_NAME,
                                         .init = agent_init,
                                         .handle = agent_handle,
                                         .destroy = agent_destroy};

int mgr__agent_start(rt_actor_t *sup, const mgr_cluster_opts_t *o,
                     rt_pid_t *out)
{
    rt_t *rt = rt_actor_rt(sup);
    if (o == NULL || o->node == NULL || o->n_managers == 0 ||
        o->n_managers > MGR_AGENT_MANAGERS_MAX)
        return CLEO_EINVAL;
    if (rt_dist_name(rt) == NULL)
        return CLEO_ESTATE;
    rt_spawn_opts_t so = {
        .flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY, .name = MGR_AGENT_NAME};
    return rt_spawn(rt, sup, &agent_beh, (void *)o, &so, out);
}
