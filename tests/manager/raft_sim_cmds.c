/*
 * raft_sim_cmds.c - the seeded PRNG and the random commands of
 * test_raft_sim.c, which includes this file (it is no test of its own):
 * valid and invalid commands of every kind, mostly aimed at names that
 * exist in the proposer's state so that most of them apply.
 */
#include <raft.h>

#include "manager/fsm.h"

#ifndef ST
#define ST(x) CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_##x
#endif

/* ---- a seeded PRNG (splitmix64) */

static uint64_t T_rng;

static uint64_t rnd(void)
{
    uint64_t z = (T_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static bool chance(unsigned percent)
{
    return below(100) < percent;
}

/* ---- random commands, mostly valid against the proposer's own state */

/* Names: the last of each list is invalid, picked 1 time in 20. */
static const char *const T_nodes[] = {"n0@h", "n1@h", "n2@h", "n3@h",
                                      "n4@h", "n5@h", "n 6@h"};
static const char *const T_users[] = {"u0", "u1", "u2", "u3", "-bad"};
static const char *const T_keys[] = {
    "AKIA0000000000000000", "AKIA1111111111111111", "AKIA2222222222222222",
    "AKIA3333333333333333", "AKIA4444444444444444", "k"};
static const char *const T_buckets[] = {"bkt-0", "bkt-1", "bkt-2", "bkt-3",
                                        "Bad"};
static const char *const T_acls[] = {"", "private", "public-read",
                                     "authenticated-read", "everyone"};

#define NOF(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a) (a)[chance(5) ? NOF(a) - 1 : below(NOF(a) - 1)]

/* A name already in the proposer's state most of the time, else one
 * from the list (which may be new, or invalid). */
static const char *pick_node(const Cleo__Cluster__ClusterState *st)
{
    if (st->n_members > 0 && chance(70))
        return st->members[below(st->n_members)]->node;
    return PICK(T_nodes);
}

static const char *pick_user(const Cleo__Cluster__ClusterState *st)
{
    if (st->n_users > 0 && chance(70))
        return st->users[below(st->n_users)]->name;
    return PICK(T_users);
}

static const char *pick_bucket(const Cleo__Cluster__ClusterState *st)
{
    if (st->n_buckets > 0 && chance(60))
        return st->buckets[below(st->n_buckets)]->name;
    return PICK(T_buckets);
}

/* A state to go to from `from`: an allowed one most of the time. */
static int pick_target(int from)
{
    static const int next[5][2] = {
        [ST(ATTACHED)] = {ST(DETACHED), ST(DETACHED)},
        [ST(RUNNING)] = {ST(SUSPENDED), ST(STOPPED)},
        [ST(SUSPENDED)] = {ST(RUNNING), ST(DETACHED)},
        [ST(STOPPED)] = {ST(RUNNING), ST(DETACHED)},
        [ST(DETACHED)] = {ST(RUNNING), ST(RUNNING)},
    };
    if (from >= 0 && from <= ST(DETACHED) && chance(80))
        return next[from][below(2)];
    return (int)below(6); /* 5: outside the enum */
}

/* The packed command (raft_malloc'd, as raft_apply wants it) or NULL. */
static void *pack_cmd(Cleo__Cluster__Command *c, size_t *len)
{
    *len = cleo__cluster__command__get_packed_size(c);
    void *b = raft_malloc(*len + 1);
    cr_assert_not_null(b);
    cleo__cluster__command__pack(c, b);
    return b;
}

static void *cmd_members(const mgr__fsm_t *f, Cleo__Cluster__Command *c,
                         size_t *len)
{
    Cleo__Cluster__Member m = CLEO__CLUSTER__MEMBER__INIT;
    Cleo__Cluster__MemberAttach a = CLEO__CLUSTER__MEMBER_ATTACH__INIT;
    Cleo__Cluster__MemberSetState s = CLEO__CLUSTER__MEMBER_SET_STATE__INIT;
    Cleo__Cluster__RingRebuild r = CLEO__CLUSTER__RING_REBUILD__INIT;
    uint64_t version = mgr__fsm_state(f)->ring_cur->version;
    switch (below(3)) {
    case 0:
        m.node = (char *)PICK(T_nodes);
        m.roles = chance(95) ? 2 + below(6) : below(9);
        m.vnodes = chance(95) ? 16 + below(16) : 0;
        m.rack = chance(50) ? "r1" : "r2";
        a.member = &m;
        c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_ATTACH;
        c->member_attach = &a;
        break;
    case 1: {
        s.node = (char *)pick_node(mgr__fsm_state(f));
        const Cleo__Cluster__Member *cur = mgr__fsm_member(f, s.node);
        s.expect = cur != NULL && chance(85) ? cur->state : below(5);
        s.state = pick_target(s.expect);
        c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_SET_STATE;
        c->member_set_state = &s;
        break;
    }
    default:
        r.expect_version = chance(80) ? version : below(4);
        c->op_case = CLEO__CLUSTER__COMMAND__OP_RING_REBUILD;
        c->ring_rebuild = &r;
    }
    return pack_cmd(c, len);
}

static void *cmd_accounts(const Cleo__Cluster__ClusterState *st,
                          Cleo__Cluster__Command *c, size_t *len)
{
    Cleo__Manager__User u = CLEO__MANAGER__USER__INIT;
    Cleo__Manager__AccessKey k = CLEO__MANAGER__ACCESS_KEY__INIT;
    Cleo__Cluster__UserCreate uc = CLEO__CLUSTER__USER_CREATE__INIT;
    Cleo__Cluster__UserDelete ud = CLEO__CLUSTER__USER_DELETE__INIT;
    Cleo__Cluster__KeyImport ki = CLEO__CLUSTER__KEY_IMPORT__INIT;
    Cleo__Cluster__Bucket b = CLEO__CLUSTER__BUCKET__INIT;
    Cleo__Cluster__BucketPut bp = CLEO__CLUSTER__BUCKET_PUT__INIT;
    Cleo__Cluster__BucketDelete bd = CLEO__CLUSTER__BUCKET_DELETE__INIT;
    u.name = (char *)pick_user(st);
    u.is_admin = chance(10);
    k.access_key = (char *)PICK(T_keys);
    k.secret_key = chance(95) ? "secretsecretsecret" : "x";
    k.user = chance(50) ? "" : u.name;
    b.name = (char *)pick_bucket(st);
    b.owner = u.name;
    b.acl = (char *)PICK(T_acls);
    switch (below(5)) {
    case 0:
        uc.user = &u;
        uc.key = chance(80) ? &k : NULL;
        c->op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
        c->user_create = &uc;
        break;
    case 1:
        ud.name = u.name;
        c->op_case = CLEO__CLUSTER__COMMAND__OP_USER_DELETE;
        c->user_delete = &ud;
        break;
    case 2:
        k.user = u.name;
        ki.key = &k;
        c->op_case = CLEO__CLUSTER__COMMAND__OP_KEY_IMPORT;
        c->key_import = &ki;
        break;
    case 3:
        bp.bucket = &b;
        bp.must_not_exist = chance(60);
        c->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT;
        c->bucket_put = &bp;
        break;
    default:
        bd.name = b.name;
        c->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_DELETE;
        c->bucket_delete = &bd;
    }
    return pack_cmd(c, len);
}

static void *cmd_random(const mgr__fsm_t *f, size_t *len)
{
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.proposed_ms = 1700000000000ull + below(1000000);
    unsigned k = below(100);
    if (k < 2) { /* bytes that are no command */
        *len = 1 + below(8);
        uint8_t *b = raft_malloc(*len);
        cr_assert_not_null(b);
        for (size_t i = 0; i < *len; i++)
            b[i] = (uint8_t)(0xf8 | below(8));
        return b;
    }
    if (k < 4) /* a command without an operation */
        return pack_cmd(&c, len);
    if (k < 12) {
        Cleo__Cluster__SystemConf s = CLEO__CLUSTER__SYSTEM_CONF__INIT;
        s.cluster_id = chance(90) ? "c1" : "c2";
        s.n = 1 + below(3);
        if (chance(75))
            s.w = 1 + below(s.n), s.r = 1 + below(s.n), s.d = 1 + below(s.n);
        else
            s.w = below(s.n + 2), s.r = below(s.n + 2), s.d = below(s.n + 2);
        c.op_case = CLEO__CLUSTER__COMMAND__OP_SET_CONF;
        c.set_conf = &s;
        return pack_cmd(&c, len);
    }
    return k < 56 ? cmd_members(f, &c, len)
                  : cmd_accounts(mgr__fsm_state(f), &c, len);
}
