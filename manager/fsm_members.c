/*
 * fsm_members.c - the state machine's members, RING and system conf
 * (fsm.h): LeoFS's member states and the start / rebalance that puts
 * attached storage nodes into a new RING.
 */
#include "manager/fsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"
#include "runtime/rt.h"

_Static_assert(MGR_FSM_VNODES_MAX == RING_VNODES_MAX, "vnodes bound");
_Static_assert(MGR_FSM_NODE_MAX < RING_NAME_MAX, "node name bound");
_Static_assert(MGR_FSM_RACK_MAX < RING_NAME_MAX, "rack name bound");

#define ST(x) CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_##x
#define ROLE_STORAGE CLEO__CLUSTER__ROLE__ROLE_STORAGE
#define ROLES_ALL 7u

static const char *state_name(int s)
{
    static const char *const names[] = {"attached", "running", "suspended",
                                        "stopped", "detached"};
    return s >= 0 && s <= ST(DETACHED) ? names[s] : "unknown";
}

/* Replace a string field of a message owned by the state. */
static void set_str(char **dst, const char *src)
{
    if (*dst != protobuf_c_empty_string)
        free(*dst);
    *dst = mgr__fsm_strdup(src);
}

static int attach_check(const Cleo__Cluster__Member *m, mgr__fsm_result_t *res)
{
    if (m == NULL)
        return mgr__fsm_refuse(res, CLEO_EINVAL, "attach: no member");
    if (!mgr__fsm_node_is_valid(m->node))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "attach: bad node name '%.*s'",
                               64, m->node);
    if (m->roles == 0 || (m->roles & ~ROLES_ALL) != 0)
        return mgr__fsm_refuse(res, CLEO_EINVAL, "attach %s: bad roles %u",
                               m->node, m->roles);
    if (m->vnodes > MGR_FSM_VNODES_MAX ||
        ((m->roles & ROLE_STORAGE) && m->vnodes == 0))
        return mgr__fsm_refuse(res, CLEO_EINVAL,
                               "attach %s: %u vnodes (a storage member has "
                               "1..%d)",
                               m->node, m->vnodes, MGR_FSM_VNODES_MAX);
    if (!mgr__fsm_token_is_valid(m->address, MGR_FSM_ADDR_MAX, true) ||
        !mgr__fsm_token_is_valid(m->rack, MGR_FSM_RACK_MAX, true))
        return mgr__fsm_refuse(res, CLEO_EINVAL,
                               "attach %s: bad address or rack", m->node);
    return 0;
}

int mgr__fsm_member_attach(Cleo__Cluster__ClusterState *st,
                           const Cleo__Cluster__MemberAttach *op,
                           uint64_t now_ms, mgr__fsm_result_t *res)
{
    const Cleo__Cluster__Member *m = op != NULL ? op->member : NULL;
    int rc = attach_check(m, res);
    if (rc < 0)
        return rc;
    bool found;
    size_t i = mgr__fsm_find_member(st, m->node, &found);
    Cleo__Cluster__Member *t;
    if (found) {
        /* A known node (a restart): its state and join time stay. */
        t = st->members[i];
    } else {
        t = cleo_xmalloc(sizeof *t);
        cleo__cluster__member__init(t);
        t->node = mgr__fsm_strdup(m->node);
        t->state = ST(ATTACHED);
        t->joined_ms = now_ms;
        MGR__FSM_INSERT(st->members, st->n_members, i, t);
    }
    set_str(&t->address, m->address);
    set_str(&t->rack, m->rack);
    t->roles = m->roles;
    t->vnodes = m->vnodes;
    return 0;
}

bool mgr__fsm_transition_is_allowed(int from, int to, bool in_ring)
{
    switch (to) {
    case ST(SUSPENDED): /* suspend */
        return from == ST(RUNNING);
    case ST(RUNNING): /* resume, the failure detector, rollback */
        return from == ST(SUSPENDED) || from == ST(STOPPED) ||
               (from == ST(DETACHED) && in_ring);
    case ST(STOPPED): /* the failure detector */
        return from == ST(RUNNING);
    case ST(DETACHED):
        return from == ST(ATTACHED) || from == ST(RUNNING) ||
               from == ST(STOPPED) || from == ST(SUSPENDED);
    default: /* nothing goes back to attached */
        return false;
    }
}

static bool ring_has(const Cleo__Cluster__Ring *ring, const char *node)
{
    for (size_t i = 0; i < ring->n_entries; i++)
        if (strcmp(ring->entries[i]->node, node) == 0)
            return true;
    return false;
}

int mgr__fsm_member_set_state(Cleo__Cluster__ClusterState *st,
                              const Cleo__Cluster__MemberSetState *op,
                              mgr__fsm_result_t *res)
{
    if (op == NULL)
        return mgr__fsm_refuse(res, CLEO_EBADREQ, "set state: no operation");
    if ((unsigned)op->state > ST(DETACHED) ||
        (unsigned)op->expect > ST(DETACHED))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "%.*s: no such state", 64,
                               op->node);
    bool found;
    size_t i = mgr__fsm_find_member(st, op->node, &found);
    if (!found)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no member '%.*s'", 64,
                               op->node);
    Cleo__Cluster__Member *m = st->members[i];
    if (m->state != op->expect)
        return mgr__fsm_refuse(
            res, CLEO_ESTATE, "%s is %s, not %s (the command is stale)",
            m->node, state_name(m->state), state_name(op->expect));
    if (!mgr__fsm_transition_is_allowed(m->state, op->state,
                                        ring_has(st->ring_cur, m->node)))
        return mgr__fsm_refuse(res, CLEO_ESTATE, "%s is %s: cannot become %s",
                               m->node, state_name(m->state),
                               state_name(op->state));
    m->state = op->state;
    return 0;
}

/* Does the member go on the next RING? */
static bool is_ring_candidate(const Cleo__Cluster__Member *m)
{
    return (m->roles & ROLE_STORAGE) && m->state != ST(DETACHED);
}

/* The next RING: the candidates' entries through cleo_ring, which
 * sorts them by node and computes the checksum. */
static int ring_build(const Cleo__Cluster__ClusterState *st, size_t n,
                      Cleo__Cluster__Ring **out, mgr__fsm_result_t *res)
{
    ring_entry_t *es = cleo_xmalloc(n * sizeof *es);
    size_t k = 0;
    for (size_t i = 0; i < st->n_members; i++) {
        const Cleo__Cluster__Member *m = st->members[i];
        if (is_ring_candidate(m))
            es[k++] = (ring_entry_t){m->node, m->rack, m->vnodes};
    }
    ring_t *ring = NULL;
    int rc = ring_new(es, n, st->ring_cur->version + 1, &ring);
    free(es);
    if (rc == 0) {
        rc = ring_to_pb(ring, out);
        ring_free(ring);
    }
    /* Every manager computes the same RING from the same state, so a
     * refusal is the same everywhere, except out of memory. */
    if (rc == CLEO_ENOMEM)
        cl_panic("fsm: out of memory building a RING of %zu nodes", n);
    if (rc < 0)
        return mgr__fsm_refuse(res, rc, "cannot build a RING of %zu nodes: %s",
                               n, cleo_strerror(rc));
    return 0;
}

int mgr__fsm_ring_rebuild(Cleo__Cluster__ClusterState *st,
                          const Cleo__Cluster__RingRebuild *op,
                          mgr__fsm_result_t *res)
{
    if (op == NULL)
        return mgr__fsm_refuse(res, CLEO_EBADREQ, "rebuild: no operation");
    if (op->expect_version != st->ring_cur->version)
        return mgr__fsm_refuse(res, CLEO_ESTATE,
                               "the RING is at version %llu, not %llu (the "
                               "command is stale)",
                               (unsigned long long)st->ring_cur->version,
                               (unsigned long long)op->expect_version);
    size_t n = 0;
    for (size_t i = 0; i < st->n_members; i++)
        n += is_ring_candidate(st->members[i]);
    if (n == 0)
        return mgr__fsm_refuse(res, CLEO_ESTATE,
                               "no storage member to put in the RING");
    Cleo__Cluster__Ring *ring;
    int rc = ring_build(st, n, &ring, res);
    if (rc < 0)
        return rc;
    cleo__cluster__ring__free_unpacked(st->ring_prev, NULL);
    st->ring_prev = st->ring_cur;
    st->ring_cur = ring;
    for (size_t i = 0; i < st->n_members; i++)
        if (st->members[i]->state == ST(ATTACHED))
            st->members[i]->state = ST(RUNNING);
    return 0;
}

int mgr__fsm_set_conf(Cleo__Cluster__ClusterState *st,
                      const Cleo__Cluster__SystemConf *op,
                      mgr__fsm_result_t *res)
{
    if (op == NULL)
        return mgr__fsm_refuse(res, CLEO_EBADREQ, "set conf: no operation");
    unsigned n = op->n, w = op->w, r = op->r, d = op->d;
    if (n < 1 || w < 1 || w > n || r < 1 || r > n || d < 1 || d > n)
        return mgr__fsm_refuse(res, CLEO_EINVAL,
                               "consistency level out of range: need 1 <= W, "
                               "R, D <= N (N=%u W=%u R=%u D=%u)",
                               n, w, r, d);
    Cleo__Cluster__SystemConf *c = st->conf;
    if (!mgr__fsm_token_is_valid(op->cluster_id, MGR_FSM_NODE_MAX, true))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "bad cluster id");
    if (op->cluster_id[0] != '\0' && c->cluster_id[0] != '\0' &&
        strcmp(op->cluster_id, c->cluster_id) != 0)
        return mgr__fsm_refuse(res, CLEO_EINVAL, "the cluster id is %s, not %s",
                               c->cluster_id, op->cluster_id);
    if (st->ring_cur->version > 0 && c->n != 0 && n != c->n)
        return mgr__fsm_refuse(res, CLEO_ESTATE,
                               "N is %u and cannot change once the RING "
                               "exists",
                               c->n);
    if (c->cluster_id[0] == '\0' && op->cluster_id[0] != '\0')
        set_str(&c->cluster_id, op->cluster_id);
    c->n = n;
    c->w = w;
    c->r = r;
    c->d = d;
    return 0;
}

int mgr__fsm_ring_check(const Cleo__Cluster__Ring *ring)
{
    if (ring->version == 0)
        return ring->n_entries == 0 && ring->checksum == 0 ? 0 : CLEO_EPROTO;
    for (size_t i = 0; i < ring->n_entries; i++) {
        const Cleo__Cluster__RingEntry *e = ring->entries[i];
        if (!mgr__fsm_node_is_valid(e->node) || e->vnodes == 0 ||
            e->vnodes > MGR_FSM_VNODES_MAX ||
            !mgr__fsm_token_is_valid(e->rack, MGR_FSM_RACK_MAX, true))
            return CLEO_EPROTO;
        if (i > 0 && strcmp(ring->entries[i - 1]->node, e->node) >= 0)
            return CLEO_EPROTO;
    }
    ring_t *r = NULL;
    int rc = ring_from_pb(ring, &r); /* checks the checksum */
    ring_free(r);
    return rc == 0 || rc == CLEO_ENOMEM ? rc : CLEO_EPROTO;
}
