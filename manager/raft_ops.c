/*
 * raft_ops.c - the Raft actor's requests as the Raft thread runs them:
 * proposals (raft_apply, and what becomes of those whose leadership is
 * lost), membership changes, status and reads; the FSM callbacks raft
 * calls; and the state pushed to the actor after each batch of applies.
 *
 * Everything here runs on the Raft thread. Callers are answered with
 * rt_reply() straight from here; a request this manager cannot take
 * because it is not the leader goes back to the actor (RAFT_PRIV_FORWARD)
 * to be forwarded, at most MAX_HOPS times.
 */
#include "manager/raft_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HOPS 2       /* forwards of one request between managers */
#define LOST_TIMEOUTS 10 /* election timeouts a lost proposal may wait */
#define ENTRY_HEAD 4     /* bytes of an entry's length prefix */

/* ---- answers -------------------------------------------------------- */

/* raft's error codes as ours. */
static int raft_err(int rv)
{
    switch (rv) { /* size: dispatch */
    case 0:
        return 0;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST:
        return CLEO_ENOCONNECTION;
    case RAFT_NOMEM:
        return CLEO_ENOMEM;
    case RAFT_SHUTDOWN:
        return CLEO_ESHUTDOWN;
    case RAFT_CANTCHANGE:
        return CLEO_ESTATE;
    case RAFT_BADID:
    case RAFT_NOTFOUND:
        return CLEO_ENOTFOUND;
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
        return CLEO_EEXIST;
    case RAFT_NOCONNECTION:
        return CLEO_ETIMEDOUT;
    case RAFT_TOOBIG:
        return CLEO_ELIMIT;
    case RAFT_BADROLE:
    case RAFT_INVALID:
        return CLEO_EINVAL;
    default:
        return CLEO_ESTORAGE;
    }
}

/* Answer a call with a CommandResult {status, detail}. */
static void answer(mgr__raft_node_t *n, rt_from_t from, uint32_t type,
                   int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void answer(mgr__raft_node_t *n, rt_from_t from, uint32_t type,
                   int status, const char *fmt, ...)
{
    if (from.ref == 0)
        return;
    char detail[MGR_FSM_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    (void)rt_reply(n->rt, from, mgr__raft_result_msg(type, status, detail));
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Not the leader: send the request to the actor to forward it to the
 * leader this manager knows, or answer that there is none. Takes op's
 * payload when forwarding. */
static void not_leader(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&n->raft, &id, &addr);
    if (id == 0 || id == n->id || addr == NULL || op->tag >= MAX_HOPS) {
        answer(n, op->from, op->type, CLEO_ENOCONNECTION, "%s",
               MGR_RAFT_NO_LEADER);
        return;
    }
    mgr__raft_priv_t *p = mgr__raft_priv_new();
    p->from = op->from;
    p->type = op->type;
    p->hops = op->tag;
    p->pb = op->payload;
    op->payload = NULL;
    snprintf(p->node, sizeof p->node, "%s", addr);
    (void)rt_send(n->rt, n->actor,
                  mgr__raft_priv_msg(MGR_RAFT_PRIV_FORWARD, p));
}

/* ---- proposals ------------------------------------------------------ */

static void prop_unlink(mgr__raft_node_t *n, mgr__raft_prop_t *p)
{
    mgr__raft_prop_t **pp = &n->props;
    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
}

/* Answer a proposal and forget it. */
static void prop_end(mgr__raft_prop_t *p, int status, const char *detail)
{
    mgr__raft_node_t *n = p->node;
    prop_unlink(n, p);
    answer(n, p->from, MGR_RAFT_MSG_PROPOSE, status, "%s", detail);
    free(p);
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    mgr__raft_prop_t *p = req->data;
    mgr__raft_node_t *n = p->node;
    if (status == 0) {
        const mgr__fsm_result_t *res = result;
        prop_end(p, res->status, res->detail);
    } else if (status == RAFT_LEADERSHIPLOST && !n->closing) {
        /* The entry may still commit: wait for its index (settle). */
        p->lost = true;
        p->deadline_ms =
            uv_now(&n->loop) + (uint64_t)LOST_TIMEOUTS * n->election_ms;
    } else if (n->closing) {
        prop_end(p, CLEO_ESHUTDOWN,
                 "the manager is shutting down; the outcome is unknown");
    } else {
        prop_end(p, raft_err(status), raft_strerror(status));
    }
}

/* Settle the lost proposals up to index: the one at index gets the
 * result if the entry applied there is its own; any other was replaced
 * (its index held another entry) and was not applied. */
static void settle(mgr__raft_node_t *n, raft_index index,
                   const Cleo__Cluster__RaftEntry *e)
{
    mgr__raft_prop_t *p = n->props, *next;
    for (; p != NULL; p = next) {
        next = p->next;
        if (!p->lost || p->req.index > index)
            continue;
        if (p->req.index == index && e != NULL && e->proposer == n->id &&
            e->seq == p->seq)
            prop_end(p, n->result.status, n->result.detail);
        else
            prop_end(p, CLEO_ENOCONNECTION,
                     "manager leadership was lost before the command "
                     "committed: it was not applied");
    }
}

/* A log entry's bytes: the packed RaftEntry's length (4 bytes, big
 * endian), the RaftEntry, and zeros up to a multiple of 8 bytes. raft_uv
 * 0.15 writes entries into its segments as they are yet needs their
 * lengths to be multiples of 8 (uv_segment.c asserts it where asserts are
 * compiled in; where not, as in Debian's build, the segment's size comes
 * out wrong and the log no longer loads). @return 0 or CLEO_ENOMEM. */
static int entry_pack(const Cleo__Cluster__RaftEntry *e, struct raft_buffer *b)
{
    size_t len = cleo__cluster__raft_entry__get_packed_size(e);
    if (len > UINT32_MAX - 8)
        return CLEO_ENOMEM;
    b->len = (ENTRY_HEAD + len + 7) & ~(size_t)7;
    uint8_t *p = raft_calloc(1, b->len);
    if (p == NULL)
        return CLEO_ENOMEM;
    p[0] = (uint8_t)(len >> 24), p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    (void)cleo__cluster__raft_entry__pack(e, p + ENTRY_HEAD);
    b->base = p;
    return 0;
}

/* The RaftEntry in an entry's bytes, or NULL. */
static Cleo__Cluster__RaftEntry *entry_unpack(const struct raft_buffer *b)
{
    const uint8_t *p = b->base;
    if (b->len < ENTRY_HEAD)
        return NULL;
    size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
                 (size_t)p[3];
    if (len > b->len - ENTRY_HEAD)
        return NULL;
    return cleo__cluster__raft_entry__unpack(NULL, len, p + ENTRY_HEAD);
}

static void on_propose(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    Cleo__Cluster__Command *cmd = op->payload;
    if (raft_state(&n->raft) != RAFT_LEADER) {
        not_leader(n, op);
        return;
    }
    if (cmd->proposed_ms == 0)
        cmd->proposed_ms = wall_ms();
    Cleo__Cluster__RaftEntry e = CLEO__CLUSTER__RAFT_ENTRY__INIT;
    e.proposer = n->id;
    e.seq = n->seq++;
    e.command = cmd;
    struct raft_buffer b;
    if (entry_pack(&e, &b) < 0) {
        answer(n, op->from, op->type, CLEO_ENOMEM, "no memory");
        return;
    }
    mgr__raft_prop_t *p = cleo_xcalloc(1, sizeof *p);
    p->node = n;
    p->from = op->from;
    p->seq = e.seq;
    p->req.data = p;
    p->next = n->props; /* before raft_apply: its callback unlinks it */
    n->props = p;
    int rv = raft_apply(&n->raft, &p->req, &b, 1, on_applied);
    if (rv != 0) {
        raft_free(b.base);
        prop_unlink(n, p);
        free(p);
        if (rv == RAFT_NOTLEADER)
            not_leader(n, op); /* a transfer is going on */
        else
            answer(n, op->from, op->type, raft_err(rv), "raft: %s",
                   raft_strerror(rv));
    }
}

/* ---- the FSM (raft's callbacks) --------------------------------------- */

int mgr__raft_fsm_apply(struct raft_fsm *f, const struct raft_buffer *buf,
                        void **result)
{
    mgr__raft_node_t *n = f->data;
    /* raft sets last_applied once apply returns (replicationApply). */
    raft_index index = raft_last_applied(&n->raft) + 1;
    Cleo__Cluster__RaftEntry *e = entry_unpack(buf);
    if (e == NULL) { /* refused the same way on every manager */
        (void)mgr__fsm_apply_bytes(&n->fsm, buf->base, buf->len, index,
                                   &n->result);
    } else {
        static const Cleo__Cluster__Command none = CLEO__CLUSTER__COMMAND__INIT;
        (void)mgr__fsm_apply(&n->fsm, e->command ? e->command : &none, index,
                             &n->result);
    }
    settle(n, index, e);
    if (e != NULL)
        cleo__cluster__raft_entry__free_unpacked(e, NULL);
    n->dirty = true;
    *result = &n->result;
    return 0; /* anything else would stall raft at this index */
}

int mgr__raft_fsm_snapshot(struct raft_fsm *f, struct raft_buffer *bufs[],
                           unsigned *n_bufs)
{
    mgr__raft_node_t *n = f->data;
    size_t len = mgr__fsm_packed_size(&n->fsm);
    struct raft_buffer *b = raft_malloc(sizeof *b);
    if (b == NULL)
        return RAFT_NOMEM;
    if ((b->base = raft_malloc(len ? len : 1)) == NULL) {
        raft_free(b);
        return RAFT_NOMEM;
    }
    b->len = mgr__fsm_pack(&n->fsm, b->base);
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

int mgr__raft_fsm_restore(struct raft_fsm *f, struct raft_buffer *buf)
{
    mgr__raft_node_t *n = f->data;
    mgr__fsm_result_t res;
    if (mgr__fsm_restore(&n->fsm, buf->base, buf->len, &res) < 0) {
        fprintf(stderr, "cleo: raft: snapshot refused: %s\n", res.detail);
        return RAFT_CORRUPT; /* raft frees buf */
    }
    raft_free(buf->base); /* ours on success */
    /* A lost proposal whose index the snapshot covers cannot be told. */
    for (mgr__raft_prop_t *p = n->props, *next; p != NULL; p = next) {
        next = p->next;
        if (p->lost && p->req.index <= mgr__fsm_state(&n->fsm)->applied_index)
            prop_end(p, CLEO_ETIMEDOUT,
                     "manager leadership was lost; the outcome is unknown");
    }
    n->dirty = true;
    return 0;
}

/* ---- membership --------------------------------------------------------- */

static const struct raft_server *server_of(const mgr__raft_node_t *n,
                                           raft_id id)
{
    const struct raft_configuration *c = &n->raft.configuration;
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return &c->servers[i];
    return NULL;
}

static void change_end(mgr__raft_change_t *c, int rv, uint32_t type)
{
    mgr__raft_node_t *n = c->node;
    if (rv == 0)
        answer(n, c->from, type, 0, "%s", "");
    else if (rv == RAFT_LEADERSHIPLOST && !n->closing)
        answer(n, c->from, type, CLEO_ETIMEDOUT,
               "manager leadership was lost during the change of %s; the "
               "outcome is unknown",
               c->name);
    else if (n->closing)
        answer(n, c->from, type, CLEO_ESHUTDOWN,
               "the manager is shutting down; check the configuration");
    else
        answer(n, c->from, type, raft_err(rv), "raft: %s: %s", c->name,
               raft_strerror(rv));
    free(c);
}

static void on_changed(struct raft_change *req, int status)
{
    mgr__raft_change_t *c = req->data;
    mgr__raft_node_t *n = c->node;
    if (status == 0 && c->adding && n->closing) {
        status = RAFT_SHUTDOWN;
    } else if (status == 0 && c->adding) {
        c->adding = false; /* added as a spare: now make it a voter */
        status = raft_assign(&n->raft, &c->req, c->id, RAFT_VOTER, on_changed);
        if (status == 0)
            return;
    }
    change_end(c, status,
               c->remove ? MGR_RAFT_MSG_MEMBER_REMOVE
                         : MGR_RAFT_MSG_MEMBER_ADD);
}

/* Start the change c describes: raft_remove, raft_add (then assign), or
 * raft_assign alone for a server that is there but not a voter (an add
 * whose promotion failed before). @return raft_*'s code. */
static int change_start(mgr__raft_change_t *c, const struct raft_server *s)
{
    struct raft *r = &c->node->raft;
    if (c->remove)
        return raft_remove(r, &c->req, c->id, on_changed);
    if (s != NULL)
        return raft_assign(r, &c->req, c->id, RAFT_VOTER, on_changed);
    c->adding = true;
    return raft_add(r, &c->req, c->id, c->name, on_changed);
}

static void on_member(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    const Cleo__Cluster__RaftMember *mb = op->payload;
    bool add = op->type == MGR_RAFT_MSG_MEMBER_ADD;
    if (raft_state(&n->raft) != RAFT_LEADER) {
        not_leader(n, op);
        return;
    }
    raft_id id = mgr__raft_id(mb->node);
    const struct raft_server *s = server_of(n, id);
    if (add && s != NULL && s->role == RAFT_VOTER) {
        answer(n, op->from, op->type, CLEO_EEXIST, "%s is a manager already",
               mb->node);
        return;
    }
    if (!add && s == NULL) {
        answer(n, op->from, op->type, CLEO_ENOTFOUND, "%s is not a manager",
               mb->node);
        return;
    }
    mgr__raft_change_t *c = cleo_xcalloc(1, sizeof *c);
    c->node = n;
    c->from = op->from;
    c->id = id;
    c->req.data = c;
    c->remove = !add;
    snprintf(c->name, sizeof c->name, "%s", mb->node);
    int rv = change_start(c, s);
    if (rv == RAFT_NOTLEADER) {
        free(c);
        not_leader(n, op);
    } else if (rv != 0) {
        change_end(c, rv, op->type);
    }
}

/* ---- status and reads ----------------------------------------------- */

static void on_status(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    struct raft *r = &n->raft;
    Cleo__Cluster__RaftStatus *st = cleo_xmalloc(sizeof *st);
    cleo__cluster__raft_status__init(st);
    raft_id lid = 0;
    const char *laddr = NULL;
    raft_leader(r, &lid, &laddr);
    st->node = mgr__fsm_strdup(n->name);
    st->id = n->id;
    st->state = (Cleo__Cluster__RaftNodeState)raft_state(r);
    st->leader = mgr__fsm_strdup(lid != 0 ? laddr : NULL);
    st->term = r->current_term;
    st->commit_index = r->commit_index;
    st->applied_index = raft_last_applied(r);
    st->last_index = raft_last_index(r);
    const struct raft_configuration *c = &r->configuration;
    st->servers = cleo_xcalloc(c->n ? c->n : 1, sizeof *st->servers);
    for (unsigned i = 0; i < c->n; i++) {
        Cleo__Cluster__RaftServer *s = cleo_xmalloc(sizeof *s);
        cleo__cluster__raft_server__init(s);
        s->node = mgr__fsm_strdup(c->servers[i].address);
        s->id = c->servers[i].id;
        s->role = (Cleo__Cluster__RaftRole)c->servers[i].role;
        st->servers[st->n_servers++] = s;
    }
    rt_msg_t *m = rt_msg_new(op->type);
    rt_msg_set_pb(m, st);
    (void)rt_reply(n->rt, op->from, m);
}

/* The local copy as {RaftState, packed ClusterState}. @return 0 or
 * CLEO_ENOMEM. */
static int state_pack(mgr__raft_node_t *n, Cleo__Cluster__RaftState **pb,
                      rt_buf_t **buf)
{
    size_t len = mgr__fsm_packed_size(&n->fsm);
    if (rt_buf_new(len, buf) < 0)
        return CLEO_ENOMEM;
    size_t got = mgr__fsm_pack(&n->fsm, (uint8_t *)rt_buf_data(*buf));
    if (rt_buf_set_len(*buf, got) < 0) { /* cannot be: got == len */
        rt_buf_unref(*buf);
        return CLEO_ENOMEM;
    }
    raft_id lid = 0;
    const char *laddr = NULL;
    raft_leader(&n->raft, &lid, &laddr);
    Cleo__Cluster__RaftState *s = cleo_xmalloc(sizeof *s);
    cleo__cluster__raft_state__init(s);
    s->applied_index = raft_last_applied(&n->raft);
    s->has_leader = lid != 0;
    s->leader = mgr__fsm_strdup(lid != 0 ? laddr : NULL);
    s->term = n->raft.current_term;
    s->node = mgr__fsm_strdup(n->name);
    *pb = s;
    return 0;
}

static void on_read(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    Cleo__Cluster__RaftState *s;
    rt_buf_t *b;
    if (state_pack(n, &s, &b) < 0) {
        answer(n, op->from, op->type, CLEO_ENOMEM, "no memory");
        return;
    }
    rt_msg_t *m = rt_msg_new(op->type);
    rt_msg_set_body(m, s, b);
    (void)rt_reply(n->rt, op->from, m);
}

void mgr__raft_ops_run(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    switch (op->type) { /* size: dispatch */
    case MGR_RAFT_MSG_PROPOSE:
        on_propose(n, op);
        break;
    case MGR_RAFT_MSG_MEMBER_ADD:
    case MGR_RAFT_MSG_MEMBER_REMOVE:
        on_member(n, op);
        break;
    case MGR_RAFT_MSG_STATUS:
        on_status(n, op);
        break;
    case MGR_RAFT_MSG_READ:
        on_read(n, op);
        break;
    case MGR_RAFT_PRIV_ACCEPT:
        mgr__raft_transport_accept(n, op->payload);
        break;
    case MGR_RAFT_PRIV_CONNECTED:
        mgr__raft_transport_connected(n, op->payload);
        break;
    default:
        break;
    }
    mgr__raft_op_free(op);
}

/* ---- after each loop pass ----------------------------------------------- */

void mgr__raft_ops_check(mgr__raft_node_t *n)
{
    raft_index applied = raft_last_applied(&n->raft);
    /* Lost proposals whose index went by as a barrier or configuration
     * entry (no apply call): theirs was replaced there. */
    settle(n, applied, NULL);
    raft_id lid = 0;
    const char *laddr = NULL;
    raft_leader(&n->raft, &lid, &laddr);
    if (!n->dirty && lid == n->pushed_leader)
        return;
    Cleo__Cluster__RaftState *s;
    rt_buf_t *b;
    if (state_pack(n, &s, &b) < 0)
        return; /* no memory now: the next pass tries again */
    n->dirty = false;
    n->pushed_leader = lid;
    mgr__raft_priv_t *p = mgr__raft_priv_new();
    p->pb = s;
    p->buf = b;
    (void)rt_send(n->rt, n->actor,
                  mgr__raft_priv_msg(MGR_RAFT_PRIV_APPLIED, p));
}

void mgr__raft_ops_sweep(mgr__raft_node_t *n)
{
    uint64_t now = uv_now(&n->loop);
    for (mgr__raft_prop_t *p = n->props, *next; p != NULL; p = next) {
        next = p->next;
        if (p->lost && p->deadline_ms <= now)
            prop_end(p, CLEO_ETIMEDOUT,
                     "manager leadership was lost; the outcome is unknown");
    }
}

void mgr__raft_ops_close(mgr__raft_node_t *n)
{
    while (n->props != NULL)
        prop_end(n->props, CLEO_ESHUTDOWN,
                 "the manager is shutting down; the outcome is unknown");
}
