/*
 * agent_admin.c - the cluster's admin commands, answered by the agent on
 * any node (agent.h): the admin actor hands it every command that
 * mgr__agent_is_cmd() names.
 *
 *   cluster-status       members, states, roles, each node's RING
 *                        checksums (asked of each node's agent), N/R/W/D,
 *                        the leader, the managers (cleo-adm status)
 *   ring                 balance and movement of the current RING
 *   whereis BUCKET/KEY   the replica nodes, the ring address and what
 *                        each replica holds (agent_where.c)
 *   node-status NODE     NODE's own view: its status, its RING copy, its
 *                        state, the manager it follows (agent_node.c;
 *                        cleo-adm status NODE)
 *   detach|suspend|resume|rollback NODE, start, rebalance,
 *   update-consistency-level W R D
 *                        proposed to the managers' Raft; refused with one
 *                        line when there is no leader
 *
 * Read-only commands answer from the agent's copy (stale when no manager
 * leads: "leader" is then null), so they work with most managers down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors/actors.h"
#include "manager/admin.h"
#include "manager/agent.h"
#include "manager/agent_int.h"
#include "manager/raft.h"
#include "ring/ring.h"

#define ASK_MS 1500u /* each node's agent, for its RING checksums */

static const char *const state_names[] = {"attached", "running", "suspended",
                                          "stopped", "detached"};

const char *mgr__agent_state_name(int s)
{
    return s >= 0 && s < 5 ? state_names[s] : "?";
}

bool mgr__agent_is_cmd(const char *verb)
{
    static const char *const verbs[] = {
        "cluster-status", "ring",
        "whereis",        "detach",
        "suspend",        "resume",
        "rollback",       "start",
        "rebalance",      "update-consistency-level",
        "manager-add",    "manager-remove",
        "node-status",    "mq-stats"};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verb, verbs[i]) == 0)
            return true;
    return false;
}

void mgr__agent_reply(rt_actor_t *self, rt_from_t from,
                      Cleo__Introspect__AdminReply *r)
{
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, r);
    (void)rt_reply(rt_actor_rt(self), from, m);
}

void mgr__agent_reply_err(rt_actor_t *self, rt_from_t from, int rc,
                          const char *line)
{
    json_t *j =
        json_pack("{s:s, s:s}", "error", line, "code", cleo_err_name(rc));
    char *js = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    mgr__agent_reply(self, from, mgr__reply_new(rc, mgr__xstrdup(line), js));
}

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

uint32_t mgr__agent_conf_n(const agent_t *a)
{
    return a->state->conf != NULL && a->state->conf->n ? a->state->conf->n : 1;
}

/* ---- ring -------------------------------------------------------------- */

static void cmd_ring(rt_actor_t *self, agent_t *a, rt_from_t from)
{
    ring_t *cur = NULL, *prev = NULL;
    if (ring_from_pb(a->state->ring_cur, &cur) < 0) {
        mgr__agent_reply_err(
            self, from, CLEO_ENOTFOUND,
            "no RING yet (cleo-adm start puts the attached nodes in)");
        return;
    }
    uint32_t n = mgr__agent_conf_n(a);
    double bal = 0;
    ring_move_t mv = {0};
    bool has_mov = ring_from_pb(a->state->ring_prev, &prev) == 0 &&
                   ring_movement(prev, cur, n, &mv) == 0;
    if (ring_balance(cur, n, &bal) < 0)
        bal = 0;
    char sum[24], movs[96] = "- (no previous RING)";
    snprintf(sum, sizeof sum, "%016llx",
             (unsigned long long)ring_checksum(cur));
    if (has_mov)
        snprintf(movs, sizeof movs,
                 "%.3f (%.3f of the keys moved; least "
                 "possible %.3f)",
                 mv.movement, mv.changed, mv.ideal);
    json_t *j = json_pack("{s:I, s:s, s:I, s:I, s:f}", "version",
                          (json_int_t)ring_version(cur), "checksum", sum,
                          "nodes", (json_int_t)ring_node_count(cur), "n",
                          (json_int_t)n, "balance", bal);
    json_object_set_new(j, "movement",
                        has_mov && mv.movement < 1e300 ? json_real(mv.movement)
                                                       : json_null());
    /* This node's copy: the manager it came from, and how often a newer
     * RING seen on a storage request made the agent read it at once. */
    json_object_set_new(j, "from", json_string(a->from));
    json_object_set_new(j, "refreshes",
                        json_integer((json_int_t)a->ring_refreshes));
    char *text = NULL;
    if (asprintf(&text,
                 "ring      version %llu, checksum %s, %zu nodes, N=%u\n"
                 "balance   %.3f (the largest share / the ideal)\n"
                 "movement  %s\n",
                 (unsigned long long)ring_version(cur), sum,
                 ring_node_count(cur), n, bal, movs) < 0)
        text = NULL;
    mgr__agent_reply(self, from, mgr__reply_new(0, text, dump(j)));
    ring_free(cur);
    ring_free(prev);
}

/* ---- changes, proposed to the managers --------------------------------- */

typedef struct {
    rt_from_t from;
    char what[96];
} change_t;

static int on_changed(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    change_t *c = data;
    const Cleo__Cluster__CommandResult *res =
        r != NULL && r->payload != NULL ? r->payload : NULL;
    int rc = status < 0 ? status : r->reason;
    if (rc == 0) {
        char *text = NULL;
        if (asprintf(&text, "%s: done\n", c->what) < 0)
            text = NULL;
        mgr__agent_reply(
            self, c->from,
            mgr__reply_new(0, text, dump(json_pack("{s:s}", "done", c->what))));
    } else {
        char line[512];
        const char *d = res != NULL && res->detail != NULL && res->detail[0]
                            ? res->detail
                        : rc == CLEO_ENOCONNECTION || rc == CLEO_ETIMEDOUT
                            ? "no manager leader: the cluster cannot change "
                              "now (read-only commands still answer)"
                            : cleo_strerror(rc);
        snprintf(line, sizeof line, "%s: %s", c->what, d);
        mgr__agent_reply_err(self, c->from, rc, line);
    }
    free(c);
    return 0;
}

rt_pid_t mgr__agent_manager(rt_actor_t *self)
{
    agent_t *a = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    /* This node's mgr_raft when it is a configured manager (one waiting
     * for manager-add knows no leader to forward to). */
    rt_pid_t to = RT_PID_NONE;
    size_t n = mgr__agent_n_managers(a);
    for (size_t i = 0; i < n; i++)
        if (strcmp(mgr__agent_manager_at(a, i), a->o->node) == 0)
            to = rt_whereis(rt, MGR_RAFT_NAME);
    for (size_t i = 0; to == RT_PID_NONE && i < n; i++) {
        uint16_t idx;
        if (rt_dist_node(rt, mgr__agent_manager_at(a, i), &idx) == 0 &&
            rt_dist_is_up(rt, idx))
            to = rt_dist_named(rt, idx, MGR_RAFT_NAME);
    }
    return to;
}

static int on_relayed(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    rt_from_t *from = data;
    rt_msg_t *m = rt_msg_new(MGR_AGENT_PROPOSE);
    m->reason = status < 0 ? status : r->reason;
    if (status == 0 && r->payload != NULL) { /* the CommandResult, moved */
        m->payload = r->payload;
        m->payload_free = r->payload_free;
        r->payload = NULL;
    }
    (void)rt_reply(rt_actor_rt(self), *from, m);
    free(from);
    return 0;
}

void mgr__agent_propose(rt_actor_t *self, rt_msg_t *m)
{
    rt_from_t from = rt_msg_caller(m);
    const ProtobufCMessage *pb = m->payload;
    rt_pid_t to = mgr__agent_manager(self);
    if (pb == NULL || pb->descriptor != &cleo__cluster__command__descriptor ||
        to == RT_PID_NONE) {
        rt_msg_t *r = rt_msg_new(MGR_AGENT_PROPOSE);
        r->reason = pb == NULL ? CLEO_EBADREQ : CLEO_ENOCONNECTION;
        (void)rt_reply(rt_actor_rt(self), from, r);
        return;
    }
    rt_msg_t *p = rt_msg_new(MGR_RAFT_MSG_PROPOSE);
    p->payload = m->payload; /* the Command, moved */
    p->payload_free = m->payload_free;
    m->payload = NULL;
    rt_from_t *f = cleo_xmalloc(sizeof *f);
    *f = from;
    if (rt_call(self, to, p, 20000, on_relayed, f) < 0)
        (void)on_relayed(self, NULL, CLEO_ENOCONNECTION, f);
}

/* manager-add / manager-remove NODE: a change of the Raft configuration
 * (the node must run the manager role; it joins as a voter once caught
 * up), asked of a manager, which hands it to the leader. */
static void cmd_manager(rt_actor_t *self, rt_from_t from, const char *verb,
                        const char *node)
{
    rt_pid_t to = mgr__agent_manager(self);
    change_t *c = cleo_xcalloc(1, sizeof *c);
    c->from = from;
    snprintf(c->what, sizeof c->what, "%s %.64s", verb, node);
    Cleo__Cluster__RaftMember *rm = cleo_xmalloc(sizeof *rm);
    cleo__cluster__raft_member__init(rm);
    rm->node = mgr__xstrdup(node);
    rt_msg_t *m = rt_msg_new(strcmp(verb, "manager-add") == 0
                                 ? MGR_RAFT_MSG_MEMBER_ADD
                                 : MGR_RAFT_MSG_MEMBER_REMOVE);
    rt_msg_set_pb(m, rm);
    if (to == RT_PID_NONE) {
        rt_msg_free(m);
        (void)on_changed(self, NULL, CLEO_ENOCONNECTION, c);
    } else if (rt_call(self, to, m, 30000, on_changed, c) < 0) {
        (void)on_changed(self, NULL, CLEO_ENOCONNECTION, c);
    }
}

/* Propose cmd (takes) to a manager: this node's mgr_raft, else the
 * first reachable manager. */
static void change(rt_actor_t *self, agent_t *a, rt_from_t from,
                   Cleo__Cluster__Command *cmd, const char *what)
{
    rt_pid_t to = mgr__agent_manager(self);
    change_t *c = cleo_xcalloc(1, sizeof *c);
    c->from = from;
    snprintf(c->what, sizeof c->what, "%s", what);
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_PROPOSE);
    rt_msg_set_pb(m, cmd);
    if (to == RT_PID_NONE || rt_call(self, to, m, 20000, on_changed, c) < 0) {
        if (to == RT_PID_NONE)
            rt_msg_free(m);
        (void)on_changed(self, NULL, CLEO_ENOCONNECTION, c);
    }
}

static const Cleo__Cluster__Member *member(const agent_t *a, const char *n)
{
    for (size_t i = 0; i < a->state->n_members; i++)
        if (strcmp(a->state->members[i]->node, n) == 0)
            return a->state->members[i];
    return NULL;
}

/* detach / suspend / resume / rollback NODE. */
static void cmd_state(rt_actor_t *self, agent_t *a, rt_from_t from,
                      const char *verb, const char *node)
{
    static const struct {
        const char *verb;
        int to;
    } t[] = {{"detach", 4}, {"suspend", 2}, {"resume", 1}, {"rollback", 1}};
    const Cleo__Cluster__Member *m = member(a, node);
    char line[384];
    if (m == NULL) {
        snprintf(line, sizeof line, "%s: no member named '%.256s'", verb, node);
        mgr__agent_reply_err(self, from, CLEO_ENOTFOUND, line);
        return;
    }
    int to = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(verb, t[i].verb) == 0)
            to = t[i].to;
    Cleo__Cluster__MemberSetState *s = cleo_xmalloc(sizeof *s);
    cleo__cluster__member_set_state__init(s);
    s->node = mgr__xstrdup(node);
    s->state = (Cleo__Cluster__MemberState)to;
    s->expect = m->state;
    Cleo__Cluster__Command *c = mgr__agent_command();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_SET_STATE;
    c->member_set_state = s;
    snprintf(line, sizeof line, "%s %.256s", verb, node);
    change(self, a, from, c, line);
}

static void cmd_rebuild(rt_actor_t *self, agent_t *a, rt_from_t from,
                        const char *verb)
{
    Cleo__Cluster__RingRebuild *r = cleo_xmalloc(sizeof *r);
    cleo__cluster__ring_rebuild__init(r);
    r->expect_version =
        a->state->ring_cur != NULL ? a->state->ring_cur->version : 0;
    Cleo__Cluster__Command *c = mgr__agent_command();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_RING_REBUILD;
    c->ring_rebuild = r;
    change(self, a, from, c, verb);
}

/* update-consistency-level W R D: N stays. */
static void cmd_level(rt_actor_t *self, agent_t *a, rt_from_t from,
                      char *const *argv)
{
    uint32_t v[3];
    for (int i = 0; i < 3; i++) {
        char *end;
        unsigned long x = strtoul(argv[i], &end, 10);
        if (argv[i][0] == '\0' || *end != '\0' || x == 0 || x > 16) {
            mgr__agent_reply_err(
                self, from, CLEO_EBADREQ,
                "update-consistency-level takes W R D, each 1..N");
            return;
        }
        v[i] = (uint32_t)x;
    }
    Cleo__Cluster__SystemConf *sc = cleo_xmalloc(sizeof *sc);
    cleo__cluster__system_conf__init(sc);
    sc->cluster_id = mgr__xstrdup("");
    sc->n = mgr__agent_conf_n(a);
    sc->w = v[0];
    sc->r = v[1];
    sc->d = v[2];
    Cleo__Cluster__Command *c = mgr__agent_command();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_SET_CONF;
    c->set_conf = sc;
    change(self, a, from, c, "update-consistency-level");
}

/* ---- cluster-status ------------------------------------------------------ */

typedef struct {
    agent_ask_t *ask;
    bool got;
    uint64_t cur, prev; /* that node's RING checksums */
} ask_slot_t;

struct agent_ask_s {
    agent_ask_t *next;
    agent_t *agent;
    rt_from_t from;
    /* NULL: a cluster-status; else a change to make once the checksums
     * are known to agree (taken from its message) */
    Cleo__Introspect__AdminReq *then;
    size_t n, pending;
    ask_slot_t slot[];
};

static char *hex(uint64_t v, bool got)
{
    char *s = cleo_xmalloc(20);
    if (got)
        snprintf(s, 20, "%016llx", (unsigned long long)v);
    else
        snprintf(s, 20, "-");
    return s;
}

static json_t *managers_json(rt_actor_t *self, agent_t *a)
{
    rt_t *rt = rt_actor_rt(self);
    json_t *arr = json_array();
    for (size_t i = 0; i < mgr__agent_n_managers(a); i++) {
        const char *m = mgr__agent_manager_at(a, i);
        uint16_t idx;
        bool up = strcmp(m, a->o->node) == 0 ||
                  (rt_dist_node(rt, m, &idx) == 0 && rt_dist_is_up(rt, idx));
        json_array_append_new(
            arr, json_pack("{s:s, s:b, s:b}", "node", m, "up", up, "leader",
                           a->has_leader && strcmp(m, a->leader) == 0));
    }
    return arr;
}

static void run_change(rt_actor_t *self, agent_t *a, rt_from_t from,
                       const Cleo__Introspect__AdminReq *q);

/* A change waited for every node's RING checksums: refuse it while a
 * node that answered holds another RING than the managers' current one
 * (LeoFS refuses changes while checksums disagree), else make it. */
static void change_answer(rt_actor_t *self, agent_ask_t *k)
{
    agent_t *a = k->agent;
    const Cleo__Cluster__ClusterState *st = a->state;
    uint64_t want = st->ring_cur != NULL ? st->ring_cur->checksum : 0;
    for (size_t i = 0; i < k->n && i < st->n_members; i++) {
        if (!k->slot[i].got || k->slot[i].cur == want)
            continue;
        char line[512];
        snprintf(line, sizeof line,
                 "%s: the nodes' RING checksums disagree (%.256s has "
                 "%016llx, the managers %016llx); try again once they agree",
                 k->then->argv[0], st->members[i]->node,
                 (unsigned long long)k->slot[i].cur, (unsigned long long)want);
        mgr__agent_reply_err(self, k->from, CLEO_ESTATE, line);
        return;
    }
    run_change(self, a, k->from, k->then);
}

static void ask_done(rt_actor_t *self, agent_ask_t *k);

/* Every node answered (or timed out): the reply. */
static void status_answer(rt_actor_t *self, agent_ask_t *k)
{
    agent_t *a = k->agent;
    const Cleo__Cluster__ClusterState *st = a->state;
    json_t *mem = json_array();
    char *text = NULL;
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    const Cleo__Cluster__SystemConf *c = st->conf;
    fprintf(f, "leader    %s (term %llu, applied %llu)\n",
            a->has_leader ? a->leader : "none", (unsigned long long)a->term,
            (unsigned long long)a->applied);
    fprintf(f, "consistency N=%u R=%u W=%u D=%u\n", c ? c->n : 0, c ? c->r : 0,
            c ? c->w : 0, c ? c->d : 0);
    fprintf(f, "ring      current v%llu %016llx, previous v%llu %016llx\n\n",
            st->ring_cur ? (unsigned long long)st->ring_cur->version : 0ull,
            st->ring_cur ? (unsigned long long)st->ring_cur->checksum : 0ull,
            st->ring_prev ? (unsigned long long)st->ring_prev->version : 0ull,
            st->ring_prev ? (unsigned long long)st->ring_prev->checksum : 0ull);
    fprintf(f, "%-28s %-10s %-5s %-16s %-16s\n", "NODE", "STATE", "ROLES",
            "RING CUR", "RING PREV");
    for (size_t i = 0; i < k->n && i < st->n_members; i++) {
        const Cleo__Cluster__Member *m = st->members[i];
        char roles[4];
        snprintf(roles, sizeof roles, "%s%s%s",
                 m->roles & CLEO__CLUSTER__ROLE__ROLE_MANAGER ? "m" : "-",
                 m->roles & CLEO__CLUSTER__ROLE__ROLE_STORAGE ? "s" : "-",
                 m->roles & CLEO__CLUSTER__ROLE__ROLE_GATEWAY ? "g" : "-");
        char *cur = hex(k->slot[i].cur, k->slot[i].got);
        char *prev = hex(k->slot[i].prev, k->slot[i].got);
        fprintf(f, "%-28s %-10s %-5s %-16s %-16s\n", m->node,
                mgr__agent_state_name(m->state), roles, cur, prev);
        json_array_append_new(
            mem,
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "node", m->node,
                      "state", mgr__agent_state_name(m->state), "roles", roles,
                      "rack", m->rack, "vnodes", (json_int_t)m->vnodes,
                      "ring_cur", cur, "ring_prev", prev));
        free(cur);
        free(prev);
    }
    fclose(f);
    json_t *j = json_pack(
        "{s:o, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I}, s:o}", "leader",
        a->has_leader ? json_string(a->leader) : json_null(), "term",
        (json_int_t)a->term, "applied", (json_int_t)a->applied, "managers",
        managers_json(self, a), "consistency", "n", (json_int_t)(c ? c->n : 0),
        "r", (json_int_t)(c ? c->r : 0), "w", (json_int_t)(c ? c->w : 0), "d",
        (json_int_t)(c ? c->d : 0), "members", mem);
    mgr__agent_reply(self, k->from, mgr__reply_new(0, text, dump(j)));
}

static void ask_free(agent_ask_t *k)
{
    if (k->then != NULL)
        cleo__introspect__admin_req__free_unpacked(k->then, NULL);
    free(k);
}

/* The fan-out is complete: answer, unlink, free. */
static void ask_done(rt_actor_t *self, agent_ask_t *k)
{
    agent_t *a = k->agent;
    if (k->then != NULL)
        change_answer(self, k);
    else
        status_answer(self, k);
    for (agent_ask_t **p = &a->asks; *p != NULL; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    ask_free(k);
}

static int on_asked(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    ask_slot_t *s = data;
    agent_ask_t *k = s->ask;
    rt_body_t *b =
        status == 0 && r != NULL && r->reason == 0 ? rt_msg_body(r) : NULL;
    if (b != NULL && b->buf != NULL) {
        Cleo__Cluster__ClusterState *st = cleo__cluster__cluster_state__unpack(
            NULL, rt_buf_len(b->buf), (const uint8_t *)rt_buf_data(b->buf));
        if (st != NULL) {
            s->got = true;
            s->cur = st->ring_cur ? st->ring_cur->checksum : 0;
            s->prev = st->ring_prev ? st->ring_prev->checksum : 0;
            cleo__cluster__cluster_state__free_unpacked(st, NULL);
        }
    }
    if (--k->pending == 0)
        ask_done(self, k);
    return 0;
}

/* Ask every member's agent for its RING checksums; then answer the
 * status (then NULL) or make the change then (taken). */
static void ask_all(rt_actor_t *self, agent_t *a, rt_from_t from,
                    Cleo__Introspect__AdminReq *then)
{
    rt_t *rt = rt_actor_rt(self);
    size_t n = a->state->n_members;
    agent_ask_t *k = cleo_xcalloc(1, sizeof *k + n * sizeof(ask_slot_t));
    k->agent = a;
    k->from = from;
    k->then = then;
    k->n = n;
    k->pending = 1; /* held until every call is made */
    k->next = a->asks;
    a->asks = k;
    for (size_t i = 0; i < n; i++) {
        const char *node = a->state->members[i]->node;
        ask_slot_t *s = &k->slot[i];
        s->ask = k;
        rt_pid_t to = RT_PID_NONE;
        uint16_t idx;
        if (strcmp(node, a->o->node) == 0)
            to = rt_self(self);
        else if (rt_dist_node(rt, node, &idx) == 0 && rt_dist_is_up(rt, idx))
            to = rt_dist_named(rt, idx, MGR_AGENT_NAME);
        if (to == RT_PID_NONE)
            continue;
        k->pending++;
        if (to == rt_self(self)) { /* our own copy, without a call */
            s->got = true;
            s->cur = a->state->ring_cur ? a->state->ring_cur->checksum : 0;
            s->prev = a->state->ring_prev ? a->state->ring_prev->checksum : 0;
            k->pending--;
            continue;
        }
        if (rt_call(self, to, rt_msg_new(MGR_AGENT_GET), ASK_MS, on_asked, s) <
            0)
            k->pending--;
    }
    if (--k->pending == 0)
        ask_done(self, k);
}

/* ---- the node's counters, where the agent stands in for "admin" ------- */

static int on_metrics(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    rt_from_t *from = data;
    const ProtobufCMessage *pb = status == 0 ? r->payload : NULL;
    if (pb != NULL && pb->descriptor == &cleo__metrics__counters__descriptor)
        mgr__agent_reply(self, *from, mgr__reply_metrics((const void *)pb));
    else
        mgr__agent_reply_err(self, *from, status < 0 ? status : CLEO_EPROTO,
                             "metrics service not running");
    free(from);
    return 0;
}

static void cmd_metrics(rt_actor_t *self, rt_from_t from)
{
    rt_pid_t to = rt_whereis(rt_actor_rt(self), "metrics");
    rt_from_t *f = cleo_xmalloc(sizeof *f);
    *f = from;
    if (to == RT_PID_NONE ||
        rt_call(self, to, rt_msg_new(METRICS_MSG_ALL), 5000, on_metrics, f) < 0)
        (void)on_metrics(self, NULL, CLEO_ENOPROC, f);
}

void mgr__agent_admin_drop(agent_t *a)
{
    mgr__agent_where_drop(a);
    mgr__agent_node_drop(a);
    while (a->asks != NULL) {
        agent_ask_t *k = a->asks;
        a->asks = k->next;
        ask_free(k);
    }
}

void mgr__agent_admin(rt_actor_t *self, rt_msg_t *m)
{
    agent_t *a = rt_state(self);
    rt_from_t from = rt_msg_caller(m);
    const Cleo__Introspect__AdminReq *q = m->payload;
    if (q == NULL ||
        q->base.descriptor != &cleo__introspect__admin_req__descriptor ||
        q->n_argv == 0) {
        mgr__agent_reply_err(self, from, CLEO_EBADREQ, "bad admin request");
        return;
    }
    const char *v = q->argv[0];
    size_t argc = q->n_argv;
    if (strcmp(v, "metrics") == 0 && argc == 1) { /* cleo-adm stats */
        cmd_metrics(self, from);
        return;
    }
    if (strcmp(v, "bucket") == 0 && a->state == NULL) {
        mgr__agent_reply_err(
            self, from, CLEO_ENOTFOUND,
            "no cluster state yet: no manager has answered this node");
        return;
    }
    if (strcmp(v, "bucket") == 0) {
        mgr__agent_bucket(self, m);
        return;
    }
    if (strcmp(v, "mq-stats") == 0 && argc <= 2) {
        mgr__agent_mq_stats(self, from, argc == 2 ? q->argv[1] : NULL);
        return;
    }
    if (strcmp(v, "node-status") == 0) { /* no copy needed for itself */
        mgr__agent_node_status(self, from, q);
        return;
    }
    if (!mgr__agent_is_cmd(v)) { /* the agent stands in for "admin" */
        mgr__agent_reply_err(
            self, from, CLEO_ENOPROC,
            "not on this node: it runs no manager role (ask a node "
            "that does)");
        return;
    }
    if (a->state == NULL) {
        mgr__agent_reply_err(
            self, from, CLEO_ENOTFOUND,
            "no cluster state yet: no manager has answered this node");
        return;
    }
    bool one = strcmp(v, "detach") == 0 || strcmp(v, "suspend") == 0 ||
               strcmp(v, "resume") == 0 || strcmp(v, "rollback") == 0 ||
               strcmp(v, "whereis") == 0 || strcmp(v, "manager-add") == 0 ||
               strcmp(v, "manager-remove") == 0;
    if ((one && argc != 2) ||
        (strcmp(v, "update-consistency-level") == 0 && argc != 4) ||
        (!one && strcmp(v, "update-consistency-level") != 0 && argc != 1)) {
        char line[128];
        snprintf(line, sizeof line, "%s: wrong number of arguments", v);
        mgr__agent_reply_err(self, from, CLEO_EBADREQ, line);
        return;
    }
    if (strcmp(v, "cluster-status") == 0) {
        ask_all(self, a, from, NULL);
    } else if (strcmp(v, "ring") == 0) {
        cmd_ring(self, a, from);
    } else if (strcmp(v, "whereis") == 0) {
        mgr__agent_whereis(self, from, q->argv[1]);
    } else if (strncmp(v, "manager-", 8) == 0) {
        cmd_manager(self, from, v, q->argv[1]);
    } else { /* a change of members, RING or conf: checksums first */
        m->payload = NULL;
        ask_all(self, a, from, (Cleo__Introspect__AdminReq *)q);
    }
}

static void run_change(rt_actor_t *self, agent_t *a, rt_from_t from,
                       const Cleo__Introspect__AdminReq *q)
{
    const char *v = q->argv[0];
    if (strcmp(v, "start") == 0 || strcmp(v, "rebalance") == 0)
        cmd_rebuild(self, a, from, v);
    else if (strcmp(v, "update-consistency-level") == 0)
        cmd_level(self, a, from, q->argv + 1);
    else if (q->n_argv == 2)
        cmd_state(self, a, from, v, q->argv[1]);
    else
        mgr__agent_reply_err(self, from, CLEO_EBADREQ,
                             "unknown cluster command");
}
