/*
 * test_fsm.c - the managers' state machine (manager/fsm.c,
 * fsm_members.c, fsm_accounts.c): each rule of members, states, RING,
 * conf, users, keys and buckets, and each refusal. Every command goes
 * through run(), which packs it, applies the bytes and then checks two
 * things: a refusal left the packed state as it was (only applied_index
 * moves), and every state packs, restores into a fresh machine and packs
 * again to the same bytes (apply keeps the state canonical).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/fsm.h"
#include "manager/mgr.h"
#include "ring/ring.h"

#define ST(x) CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_##x
#define R_MGR CLEO__CLUSTER__ROLE__ROLE_MANAGER
#define R_STO CLEO__CLUSTER__ROLE__ROLE_STORAGE
#define R_GW CLEO__CLUSTER__ROLE__ROLE_GATEWAY
#define R_ALL (R_MGR | R_STO | R_GW)

static mgr__fsm_t F;
static uint64_t T_index;        /* the last index given to apply */
static mgr__fsm_result_t T_res; /* the last result */

static void setup(void)
{
    mgr__fsm_init(&F);
    T_index = 0;
}

static void teardown(void)
{
    mgr__fsm_destroy(&F);
}

TestSuite(mgr_fsm, .init = setup, .fini = teardown);

static uint8_t *pack(const mgr__fsm_t *f, size_t *len)
{
    *len = mgr__fsm_packed_size(f);
    uint8_t *b = malloc(*len + 1);
    cr_assert_eq(mgr__fsm_pack(f, b), *len);
    return b;
}

/* The packed state with applied_index set to `at`. */
static uint8_t *pack_at(uint64_t at, size_t *len)
{
    uint64_t was = F.st->applied_index;
    F.st->applied_index = at;
    uint8_t *b = pack(&F, len);
    F.st->applied_index = was;
    return b;
}

/* Restore the packed state into a fresh machine: it must be accepted and
 * pack back to the same bytes. */
static void check_canonical(void)
{
    size_t n, m;
    uint8_t *a = pack(&F, &n);
    mgr__fsm_t g;
    mgr__fsm_init(&g);
    mgr__fsm_result_t r;
    int rc = mgr__fsm_restore(&g, a, n, &r);
    cr_assert_eq(rc, 0, "restore of an applied state: %s", r.detail);
    uint8_t *b = pack(&g, &m);
    cr_assert_eq(n, m);
    cr_assert_eq(memcmp(a, b, n), 0);
    free(a);
    free(b);
    mgr__fsm_destroy(&g);
}

static int run(Cleo__Cluster__Command *c)
{
    c->proposed_ms = 1000000 + T_index;
    size_t cl = cleo__cluster__command__get_packed_size(c);
    uint8_t *cb = malloc(cl + 1);
    cleo__cluster__command__pack(c, cb);
    size_t bl;
    uint8_t *before = pack(&F, &bl);
    uint64_t at = ++T_index;
    int rc = mgr__fsm_apply_bytes(&F, cb, cl, at, &T_res);
    cr_assert_eq(rc, T_res.status);
    cr_assert_eq(F.st->applied_index, at);
    if (rc < 0) {
        cr_assert_neq(T_res.detail[0], '\0', "a refusal says why");
        cr_assert_null(strchr(T_res.detail, '\n'));
        size_t al;
        uint8_t *after = pack_at(at - 1, &al);
        cr_assert_eq(al, bl, "refusal changed the state: %s", T_res.detail);
        cr_assert_eq(memcmp(before, after, bl), 0,
                     "refusal changed the state: %s", T_res.detail);
        free(after);
    } else {
        cr_assert_eq(T_res.detail[0], '\0');
    }
    free(before);
    free(cb);
    check_canonical();
    return rc;
}

/* ---- command builders */

static int attach4(const char *node, uint32_t roles, uint32_t vnodes,
                   const char *rack, const char *addr)
{
    Cleo__Cluster__Member m = CLEO__CLUSTER__MEMBER__INIT;
    m.node = (char *)node;
    m.roles = roles;
    m.vnodes = vnodes;
    m.rack = (char *)rack;
    m.address = (char *)addr;
    m.state = ST(RUNNING); /* ignored: a new member is attached */
    m.joined_ms = 7;       /* ignored: the command's time is used */
    Cleo__Cluster__MemberAttach a = CLEO__CLUSTER__MEMBER_ATTACH__INIT;
    a.member = &m;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_ATTACH;
    c.member_attach = &a;
    return run(&c);
}

static int attach(const char *node)
{
    return attach4(node, R_ALL, 168, "", "127.0.0.1:4370");
}

static int set_state(const char *node, int expect, int state)
{
    Cleo__Cluster__MemberSetState s = CLEO__CLUSTER__MEMBER_SET_STATE__INIT;
    s.node = (char *)node;
    s.expect = expect;
    s.state = state;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_SET_STATE;
    c.member_set_state = &s;
    return run(&c);
}

static int rebuild(uint64_t expect_version)
{
    Cleo__Cluster__RingRebuild r = CLEO__CLUSTER__RING_REBUILD__INIT;
    r.expect_version = expect_version;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_RING_REBUILD;
    c.ring_rebuild = &r;
    return run(&c);
}

static int set_conf(const char *id, uint32_t n, uint32_t w, uint32_t r,
                    uint32_t d)
{
    Cleo__Cluster__SystemConf s = CLEO__CLUSTER__SYSTEM_CONF__INIT;
    s.cluster_id = (char *)id;
    s.n = n;
    s.w = w;
    s.r = r;
    s.d = d;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_SET_CONF;
    c.set_conf = &s;
    return run(&c);
}

static int user_create(const char *name, bool admin, const char *ak,
                       const char *sk, const char *key_user)
{
    Cleo__Manager__User u = CLEO__MANAGER__USER__INIT;
    u.name = (char *)name;
    u.is_admin = admin;
    Cleo__Manager__AccessKey k = CLEO__MANAGER__ACCESS_KEY__INIT;
    k.access_key = (char *)ak;
    k.secret_key = (char *)sk;
    k.user = (char *)key_user;
    Cleo__Cluster__UserCreate uc = CLEO__CLUSTER__USER_CREATE__INIT;
    uc.user = &u;
    uc.key = ak != NULL ? &k : NULL;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
    c.user_create = &uc;
    return run(&c);
}

static int user_delete(const char *name)
{
    Cleo__Cluster__UserDelete d = CLEO__CLUSTER__USER_DELETE__INIT;
    d.name = (char *)name;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_USER_DELETE;
    c.user_delete = &d;
    return run(&c);
}

static int key_import(const char *user, const char *ak, const char *sk)
{
    Cleo__Manager__AccessKey k = CLEO__MANAGER__ACCESS_KEY__INIT;
    k.access_key = (char *)ak;
    k.secret_key = (char *)sk;
    k.user = (char *)user;
    Cleo__Cluster__KeyImport ki = CLEO__CLUSTER__KEY_IMPORT__INIT;
    ki.key = &k;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_KEY_IMPORT;
    c.key_import = &ki;
    return run(&c);
}

static int user_set_role(const char *name, bool is_admin)
{
    Cleo__Cluster__UserSetRole r = CLEO__CLUSTER__USER_SET_ROLE__INIT;
    r.name = (char *)name;
    r.is_admin = is_admin;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_USER_SET_ROLE;
    c.user_set_role = &r;
    return run(&c);
}

static int bucket_put(const char *name, const char *owner, const char *acl,
                      bool must_not_exist)
{
    Cleo__Cluster__Bucket b = CLEO__CLUSTER__BUCKET__INIT;
    b.name = (char *)name;
    b.owner = (char *)owner;
    b.acl = (char *)acl;
    b.created_ms = 3; /* ignored */
    Cleo__Cluster__BucketPut p = CLEO__CLUSTER__BUCKET_PUT__INIT;
    p.bucket = &b;
    p.must_not_exist = must_not_exist;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT;
    c.bucket_put = &p;
    return run(&c);
}

static int bucket_delete(const char *name)
{
    Cleo__Cluster__BucketDelete d = CLEO__CLUSTER__BUCKET_DELETE__INIT;
    d.name = (char *)name;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_DELETE;
    c.bucket_delete = &d;
    return run(&c);
}

static int state_of(const char *node)
{
    const Cleo__Cluster__Member *m = mgr__fsm_member(&F, node);
    cr_assert_not_null(m, "%s", node);
    return m->state;
}

#define AK1 "AKIAONE0000000000001"
#define AK2 "AKIATWO0000000000002"
#define SK "secretsecretsecret12"

/* ---- members */

Test(mgr_fsm, empty_state_is_canonical)
{
    const Cleo__Cluster__ClusterState *st = mgr__fsm_state(&F);
    cr_assert_eq(st->n_members, 0);
    cr_assert_eq(st->ring_cur->version, 0);
    cr_assert_eq(st->ring_cur->checksum, 0);
    check_canonical();
}

Test(mgr_fsm, attach_adds_new_members_as_attached_sorted_by_node)
{
    cr_assert_eq(attach("n2@127.0.0.1"), 0);
    uint64_t joined = 1000000 + T_index - 1;
    cr_assert_eq(attach("n1@127.0.0.1"), 0);
    const Cleo__Cluster__ClusterState *st = mgr__fsm_state(&F);
    cr_assert_eq(st->n_members, 2);
    cr_assert_str_eq(st->members[0]->node, "n1@127.0.0.1");
    cr_assert_str_eq(st->members[1]->node, "n2@127.0.0.1");
    const Cleo__Cluster__Member *m = mgr__fsm_member(&F, "n2@127.0.0.1");
    cr_assert_eq(m->state, ST(ATTACHED));
    cr_assert_eq(m->joined_ms, joined, "joined_ms is the command's time");
    cr_assert_eq(m->vnodes, 168);
    cr_assert_str_eq(m->address, "127.0.0.1:4370");
    cr_assert_null(mgr__fsm_member(&F, "n3@127.0.0.1"));
}

Test(mgr_fsm, attach_of_a_known_node_keeps_its_state_and_updates_the_rest)
{
    cr_assert_eq(attach("n1@h"), 0);
    uint64_t joined = mgr__fsm_member(&F, "n1@h")->joined_ms;
    cr_assert_eq(rebuild(0), 0);
    cr_assert_eq(set_state("n1@h", ST(RUNNING), ST(STOPPED)), 0);
    cr_assert_eq(attach4("n1@h", R_STO, 64, "rack-b", "10.0.0.9:4370"), 0);
    const Cleo__Cluster__Member *m = mgr__fsm_member(&F, "n1@h");
    cr_assert_eq(m->state, ST(STOPPED), "a restart does not change state");
    cr_assert_eq(m->joined_ms, joined);
    cr_assert_eq(m->roles, R_STO);
    cr_assert_eq(m->vnodes, 64);
    cr_assert_str_eq(m->rack, "rack-b");
    cr_assert_str_eq(m->address, "10.0.0.9:4370");
    cr_assert_eq(mgr__fsm_state(&F)->n_members, 1);
}

Test(mgr_fsm, attach_refuses_bad_input)
{
    cr_assert_eq(attach("n1@h"), 0);
    const char *bad[] = {"", "nohost", "@h", "n@", "a b@h", "n@h@x", "n\n1@h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(attach(bad[i]), CLEO_EINVAL, "'%s'", bad[i]);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    longname[5] = '@';
    cr_assert_eq(attach(longname), CLEO_EINVAL);
    cr_assert_eq(attach4("n2@h", 0, 168, "", ""), CLEO_EINVAL, "no role");
    cr_assert_eq(attach4("n2@h", 8, 168, "", ""), CLEO_EINVAL, "role 8");
    cr_assert_eq(attach4("n2@h", R_STO, 0, "", ""), CLEO_EINVAL, "0 vnodes");
    cr_assert_eq(attach4("n2@h", R_GW, MGR_FSM_VNODES_MAX + 1, "", ""),
                 CLEO_EINVAL);
    cr_assert_eq(attach4("n2@h", R_ALL, 168, "rack a", ""), CLEO_EINVAL);
    cr_assert_eq(attach4("n2@h", R_ALL, 168, "", "h :1"), CLEO_EINVAL);
    /* A refusal of a known node changes nothing either. */
    cr_assert_eq(attach4("n1@h", 0, 168, "", ""), CLEO_EINVAL);
    cr_assert_eq(attach4("n2@h", R_GW, 0, "", ""), 0, "gateway: 0 vnodes");
    Cleo__Cluster__MemberAttach a = CLEO__CLUSTER__MEMBER_ATTACH__INIT;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_ATTACH;
    c.member_attach = &a;
    cr_assert_eq(run(&c), CLEO_EINVAL, "no member");
}

Test(mgr_fsm, refusal_detail_is_one_line)
{
    cr_assert_eq(attach("n\n1@h"), CLEO_EINVAL);
    cr_assert_null(strchr(T_res.detail, '\n'));
    cr_assert_neq(strstr(T_res.detail, "n?1@h"), NULL, "%s", T_res.detail);
}

/* Members in every state: a attached, r running, s suspended, t stopped,
 * d detached (d was running, so it is still on the RING). */
static void five_states(void)
{
    const char *n[] = {"a@h", "d@h", "r@h", "s@h", "t@h"};
    for (int i = 1; i < 5; i++)
        cr_assert_eq(attach(n[i]), 0);
    cr_assert_eq(rebuild(0), 0);
    cr_assert_eq(attach(n[0]), 0);
    cr_assert_eq(set_state("s@h", ST(RUNNING), ST(SUSPENDED)), 0);
    cr_assert_eq(set_state("t@h", ST(RUNNING), ST(STOPPED)), 0);
    cr_assert_eq(set_state("d@h", ST(RUNNING), ST(DETACHED)), 0);
}

Test(mgr_fsm, set_state_follows_the_leofs_table)
{
    /* allowed[from][to], from the LeoFS rules written out by hand. */
    static const bool allowed[5][5] = {
        /* to: attached running suspended stopped detached */
        [ST(ATTACHED)] = {0, 0, 0, 0, 1},  [ST(RUNNING)] = {0, 0, 1, 1, 1},
        [ST(SUSPENDED)] = {0, 1, 0, 0, 1}, [ST(STOPPED)] = {0, 1, 0, 0, 1},
        [ST(DETACHED)] = {0, 1, 0, 0, 0}, /* rollback: still on the RING */
    };
    const char *who[5] = {[ST(ATTACHED)] = "a@h",
                          [ST(RUNNING)] = "r@h",
                          [ST(SUSPENDED)] = "s@h",
                          [ST(STOPPED)] = "t@h",
                          [ST(DETACHED)] = "d@h"};
    for (int from = 0; from < 5; from++) {
        for (int to = 0; to < 5; to++) {
            mgr__fsm_destroy(&F);
            setup();
            five_states();
            cr_assert_eq(state_of(who[from]), from);
            int rc = set_state(who[from], from, to);
            if (allowed[from][to]) {
                cr_assert_eq(rc, 0, "%d -> %d: %s", from, to, T_res.detail);
                cr_assert_eq(state_of(who[from]), to);
            } else {
                cr_assert_eq(rc, CLEO_ESTATE, "%d -> %d", from, to);
            }
            cr_assert_eq(mgr__fsm_transition_is_allowed(from, to, true),
                         allowed[from][to]);
        }
    }
}

Test(mgr_fsm, resume_of_a_running_node_is_refused)
{
    five_states();
    cr_assert_eq(set_state("r@h", ST(RUNNING), ST(RUNNING)), CLEO_ESTATE);
    cr_assert_neq(strstr(T_res.detail, "running"), NULL);
    cr_assert_eq(set_state("s@h", ST(SUSPENDED), ST(RUNNING)), 0);
    cr_assert_eq(set_state("s@h", ST(RUNNING), ST(SUSPENDED)), 0);
}

Test(mgr_fsm, set_state_refuses_a_stale_expect)
{
    five_states();
    /* Decided while r was suspended; it is running now. */
    cr_assert_eq(set_state("r@h", ST(SUSPENDED), ST(RUNNING)), CLEO_ESTATE);
    cr_assert_neq(strstr(T_res.detail, "stale"), NULL, "%s", T_res.detail);
    /* A detach decided while t was running, after t stopped. */
    cr_assert_eq(set_state("t@h", ST(RUNNING), ST(DETACHED)), CLEO_ESTATE);
    cr_assert_eq(state_of("t@h"), ST(STOPPED));
}

Test(mgr_fsm, set_state_refuses_unknown_nodes_and_states)
{
    five_states();
    cr_assert_eq(set_state("x@h", ST(RUNNING), ST(SUSPENDED)), CLEO_ENOTFOUND);
    cr_assert_eq(set_state("r@h", ST(RUNNING), 9), CLEO_EINVAL);
    cr_assert_eq(set_state("r@h", -1, ST(SUSPENDED)), CLEO_EINVAL);
}

Test(mgr_fsm, rollback_needs_the_node_on_the_current_ring)
{
    five_states();
    cr_assert_eq(set_state("a@h", ST(ATTACHED), ST(DETACHED)), 0);
    cr_assert_eq(set_state("a@h", ST(DETACHED), ST(RUNNING)), CLEO_ESTATE,
                 "never on a RING");
    uint64_t v = mgr__fsm_state(&F)->ring_cur->version;
    cr_assert_eq(rebuild(v), 0); /* d leaves the RING */
    cr_assert_eq(set_state("d@h", ST(DETACHED), ST(RUNNING)), CLEO_ESTATE);
}

/* ---- RING */

Test(mgr_fsm, rebuild_puts_storage_members_on_a_new_ring)
{
    cr_assert_eq(attach4("c@h", R_STO, 100, "r2", ""), 0);
    cr_assert_eq(attach4("a@h", R_STO | R_MGR, 168, "r1", ""), 0);
    cr_assert_eq(attach4("g@h", R_GW, 0, "", ""), 0);
    cr_assert_eq(attach4("b@h", R_ALL, 50, "", ""), 0);
    cr_assert_eq(rebuild(0), 0);
    const Cleo__Cluster__ClusterState *st = mgr__fsm_state(&F);
    const Cleo__Cluster__Ring *r = st->ring_cur;
    cr_assert_eq(r->version, 1);
    cr_assert_eq(r->n_entries, 3, "the gateway is not on the RING");
    cr_assert_str_eq(r->entries[0]->node, "a@h");
    cr_assert_str_eq(r->entries[1]->node, "b@h");
    cr_assert_str_eq(r->entries[2]->node, "c@h");
    cr_assert_eq(r->entries[0]->vnodes, 168);
    cr_assert_str_eq(r->entries[0]->rack, "r1");
    cr_assert_eq(r->entries[2]->vnodes, 100);
    cr_assert_neq(r->checksum, 0);
    ring_t *ring = NULL;
    cr_assert_eq(ring_from_pb(r, &ring), 0, "cleo_ring's checksum");
    cr_assert_eq(ring_version(ring), 1);
    cr_assert_eq(ring_node_count(ring), 3);
    ring_free(ring);
    cr_assert_eq(st->ring_prev->version, 0);
    cr_assert_eq(st->ring_prev->n_entries, 0);
    for (size_t i = 0; i < st->n_members; i++)
        cr_assert_eq(st->members[i]->state, ST(RUNNING), "%s",
                     st->members[i]->node);
}

Test(mgr_fsm, rebalance_keeps_stopped_and_suspended_and_drops_detached)
{
    five_states();
    const Cleo__Cluster__ClusterState *st = mgr__fsm_state(&F);
    uint64_t sum1 = st->ring_cur->checksum;
    cr_assert_eq(rebuild(1), 0);
    st = mgr__fsm_state(&F);
    cr_assert_eq(st->ring_cur->version, 2);
    cr_assert_eq(st->ring_prev->version, 1);
    cr_assert_eq(st->ring_prev->checksum, sum1);
    cr_assert_eq(st->ring_prev->n_entries, 4);
    const char *want[] = {"a@h", "r@h", "s@h", "t@h"};
    cr_assert_eq(st->ring_cur->n_entries, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(st->ring_cur->entries[i]->node, want[i]);
    cr_assert_neq(st->ring_cur->checksum, sum1);
    cr_assert_eq(state_of("a@h"), ST(RUNNING));
    cr_assert_eq(state_of("s@h"), ST(SUSPENDED));
    cr_assert_eq(state_of("t@h"), ST(STOPPED));
    cr_assert_eq(state_of("d@h"), ST(DETACHED));
}

Test(mgr_fsm, rebuild_refuses_a_stale_version_or_no_storage)
{
    cr_assert_eq(rebuild(0), CLEO_ESTATE, "no member at all");
    cr_assert_eq(attach4("g@h", R_GW, 0, "", ""), 0);
    cr_assert_eq(rebuild(0), CLEO_ESTATE, "no storage member");
    cr_assert_eq(state_of("g@h"), ST(ATTACHED));
    cr_assert_eq(attach("n1@h"), 0);
    cr_assert_eq(rebuild(1), CLEO_ESTATE, "version 1 does not exist yet");
    cr_assert_eq(rebuild(0), 0);
    cr_assert_eq(rebuild(0), CLEO_ESTATE, "decided against version 0");
    cr_assert_neq(strstr(T_res.detail, "stale"), NULL);
    cr_assert_eq(rebuild(1), 0);
}

Test(mgr_fsm, ring_check_takes_only_rings_as_rebuild_makes_them)
{
    cr_assert_eq(attach4("b@h", R_STO, 20, "r1", ""), 0);
    cr_assert_eq(attach4("a@h", R_STO, 30, "", ""), 0);
    cr_assert_eq(rebuild(0), 0);
    Cleo__Cluster__Ring *r = F.st->ring_cur;
    cr_assert_eq(mgr__fsm_ring_check(r), 0);
    cr_assert_eq(mgr__fsm_ring_check(F.st->ring_prev), 0, "the empty RING");
    r->checksum ^= 1;
    cr_assert_eq(mgr__fsm_ring_check(r), CLEO_EPROTO, "checksum");
    r->checksum ^= 1;
    r->entries[1]->vnodes++;
    cr_assert_eq(mgr__fsm_ring_check(r), CLEO_EPROTO, "vnodes changed");
    r->entries[1]->vnodes--;
    Cleo__Cluster__RingEntry *e0 = r->entries[0];
    r->entries[0] = r->entries[1];
    r->entries[1] = e0;
    cr_assert_eq(mgr__fsm_ring_check(r), CLEO_EPROTO, "not sorted");
    r->entries[1] = r->entries[0];
    r->entries[0] = e0;
    uint64_t v = r->version;
    r->version = 0;
    cr_assert_eq(mgr__fsm_ring_check(r), CLEO_EPROTO, "version 0, entries");
    r->version = v;
    cr_assert_eq(mgr__fsm_ring_check(r), 0);
}

/* ---- conf */

Test(mgr_fsm, set_conf_checks_the_consistency_level)
{
    cr_assert_eq(set_conf("c1", 3, 2, 1, 2), 0);
    const Cleo__Cluster__SystemConf *c = mgr__fsm_state(&F)->conf;
    cr_assert_str_eq(c->cluster_id, "c1");
    cr_assert_eq(c->n, 3);
    cr_assert_eq(c->w, 2);
    cr_assert_eq(c->r, 1);
    cr_assert_eq(c->d, 2);
    cr_assert_eq(set_conf("", 0, 0, 0, 0), CLEO_EINVAL, "N = 0");
    cr_assert_eq(set_conf("", 3, 0, 1, 1), CLEO_EINVAL, "W = 0");
    cr_assert_eq(set_conf("", 3, 1, 0, 1), CLEO_EINVAL, "R = 0");
    cr_assert_eq(set_conf("", 3, 1, 1, 0), CLEO_EINVAL, "D = 0");
    cr_assert_eq(set_conf("", 3, 4, 1, 1), CLEO_EINVAL, "W > N");
    cr_assert_eq(set_conf("", 3, 1, 4, 1), CLEO_EINVAL, "R > N");
    cr_assert_eq(set_conf("", 3, 1, 1, 4), CLEO_EINVAL, "D > N");
    cr_assert_neq(strstr(T_res.detail, "W, R, D <= N"), NULL);
    cr_assert_eq(set_conf("c2", 3, 1, 1, 1), CLEO_EINVAL, "another cluster");
    cr_assert_eq(set_conf("", 3, 3, 3, 3), 0, "empty id keeps it");
    cr_assert_str_eq(mgr__fsm_state(&F)->conf->cluster_id, "c1");
    cr_assert_eq(set_conf("c1", 2, 1, 1, 1), 0, "N changes before a RING");
}

Test(mgr_fsm, n_is_fixed_once_the_ring_exists)
{
    cr_assert_eq(set_conf("c1", 3, 2, 2, 2), 0);
    cr_assert_eq(attach("n1@h"), 0);
    cr_assert_eq(rebuild(0), 0);
    cr_assert_eq(set_conf("c1", 2, 1, 1, 1), CLEO_ESTATE);
    cr_assert_eq(set_conf("c1", 3, 1, 1, 1), 0, "W R D still change");
}

/* ---- users, keys, buckets */

Test(mgr_fsm, user_create_adds_the_user_and_its_key)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    uint64_t t = 1000000 + T_index - 1;
    const Cleo__Manager__User *u = mgr__fsm_user(&F, "bob");
    cr_assert_not_null(u);
    cr_assert_eq(u->created_ms, t);
    cr_assert_not(u->is_admin);
    const Cleo__Manager__AccessKey *k = mgr__fsm_key(&F, AK1);
    cr_assert_not_null(k);
    cr_assert_str_eq(k->user, "bob");
    cr_assert_str_eq(k->secret_key, SK);
    cr_assert_eq(user_create("al", true, NULL, NULL, NULL), 0, "no key");
    cr_assert(mgr__fsm_user(&F, "al")->is_admin);
    cr_assert_str_eq(mgr__fsm_state(&F)->users[0]->name, "al", "sorted");
}

Test(mgr_fsm, user_create_refuses_duplicates_and_bad_input)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, "bob"), 0);
    cr_assert_eq(user_create("bob", false, AK2, SK, ""), CLEO_EEXIST);
    cr_assert_eq(user_create("eve", false, AK1, SK, ""), CLEO_EEXIST,
                 "the access key is taken");
    cr_assert_null(mgr__fsm_user(&F, "eve"));
    cr_assert_eq(user_create("", false, AK2, SK, ""), CLEO_EINVAL);
    cr_assert_eq(user_create("-x", false, AK2, SK, ""), CLEO_EINVAL);
    cr_assert_eq(user_create("eve", false, "a", SK, ""), CLEO_EINVAL);
    cr_assert_eq(user_create("eve", false, AK2, "short", ""), CLEO_EINVAL);
    cr_assert_eq(user_create("eve", false, AK2, SK, "bob"), CLEO_EINVAL,
                 "a key for another user");
    Cleo__Cluster__UserCreate uc = CLEO__CLUSTER__USER_CREATE__INIT;
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
    c.user_create = &uc;
    cr_assert_eq(run(&c), CLEO_EINVAL, "no user");
}

Test(mgr_fsm, user_delete_removes_the_user_and_its_keys)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(key_import("bob", AK2, SK), 0);
    cr_assert_eq(user_create("root", true, "AKIAROOT000000000003", SK, ""), 0);
    cr_assert_eq(user_delete("nobody"), CLEO_ENOTFOUND);
    cr_assert_eq(user_delete("root"), CLEO_ESTATE, "an admin user");
    cr_assert_eq(bucket_put("bobs", "bob", "", true), 0);
    cr_assert_eq(user_delete("bob"), CLEO_ESTATE, "bob owns a bucket");
    cr_assert_eq(bucket_delete("bobs"), 0);
    cr_assert_eq(user_delete("bob"), 0);
    cr_assert_null(mgr__fsm_user(&F, "bob"));
    cr_assert_null(mgr__fsm_key(&F, AK1));
    cr_assert_null(mgr__fsm_key(&F, AK2));
    cr_assert_eq(mgr__fsm_state(&F)->n_keys, 1);
}

Test(mgr_fsm, key_import_refuses_duplicates_and_unknown_users)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(key_import("eve", AK2, SK), CLEO_ENOTFOUND);
    cr_assert_eq(key_import("bob", AK1, SK), CLEO_EEXIST);
    cr_assert_eq(key_import("bob", AK2, "bad secret"), CLEO_EINVAL);
    cr_assert_eq(key_import("bob", AK2, SK), 0);
    cr_assert_str_eq(mgr__fsm_key(&F, AK2)->user, "bob");
}

Test(mgr_fsm, user_set_role_makes_and_unmakes_admins)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(user_set_role("bob", true), 0);
    cr_assert(mgr__fsm_user(&F, "bob")->is_admin);
    cr_assert_eq(user_delete("bob"), CLEO_ESTATE, "an admin now");
    cr_assert_eq(user_set_role("bob", true), 0, "the role it has: a no-op");
    cr_assert_eq(user_set_role("bob", false), 0);
    cr_assert_not(mgr__fsm_user(&F, "bob")->is_admin);
    cr_assert_eq(mgr__fsm_user(&F, "bob")->created_ms, 1000000,
                 "a role change keeps the rest");
    cr_assert_eq(user_delete("bob"), 0, "a plain user again");
}

Test(mgr_fsm, user_set_role_refuses_unknown_users_and_the_builtin_admin)
{
    cr_assert_eq(user_set_role("nobody", true), CLEO_ENOTFOUND);
    cr_assert_eq(user_create(MGR_ADMIN_USER, true, AK1, SK, ""), 0);
    cr_assert_eq(user_set_role(MGR_ADMIN_USER, false), CLEO_ESTATE);
    cr_assert(strstr(T_res.detail, "built-in") != NULL, "%s", T_res.detail);
    cr_assert(mgr__fsm_user(&F, MGR_ADMIN_USER)->is_admin);
    cr_assert_eq(user_set_role(MGR_ADMIN_USER, true), 0);
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    c.op_case = CLEO__CLUSTER__COMMAND__OP_USER_SET_ROLE; /* no record */
    cr_assert_eq(mgr__fsm_apply(&F, &c, ++T_index, &T_res), CLEO_EBADREQ);
}

Test(mgr_fsm, bucket_update_keeps_what_it_leaves_empty)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(user_create("eve", false, AK2, SK, ""), 0);
    cr_assert_eq(bucket_put("photos", "bob", "public-read", true), 0);
    cr_assert_eq(bucket_put("photos", "eve", "", false), 0, "a chown");
    const Cleo__Cluster__Bucket *b = mgr__fsm_bucket(&F, "photos");
    cr_assert_str_eq(b->owner, "eve");
    cr_assert_str_eq(b->acl, "public-read", "the ACL kept");
    cr_assert_eq(bucket_put("photos", "", "authenticated-read", false), 0);
    b = mgr__fsm_bucket(&F, "photos");
    cr_assert_str_eq(b->owner, "eve", "the owner kept");
    cr_assert_str_eq(b->acl, "authenticated-read");
    cr_assert_eq(bucket_put("photos", "nobody", "", false), CLEO_ENOTFOUND);
    cr_assert_eq(bucket_put("photos", "", "everyone", false), CLEO_EINVAL);
    cr_assert_eq(bucket_put("nothere", "", "private", false), CLEO_ENOTFOUND);
    cr_assert_str_eq(mgr__fsm_bucket(&F, "photos")->owner, "eve");
}

Test(mgr_fsm, bucket_put_create_and_update)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(user_create("eve", false, AK2, SK, ""), 0);
    cr_assert_eq(bucket_put("photos", "bob", "", false), CLEO_ENOTFOUND,
                 "an update needs the bucket");
    cr_assert_eq(bucket_put("photos", "bob", "", true), 0);
    uint64_t t = 1000000 + T_index - 1;
    const Cleo__Cluster__Bucket *b = mgr__fsm_bucket(&F, "photos");
    cr_assert_str_eq(b->owner, "bob");
    cr_assert_str_eq(b->acl, MGR_FSM_ACL_DEFAULT);
    cr_assert_eq(b->created_ms, t);
    cr_assert_eq(bucket_put("photos", "eve", "", true), CLEO_EEXIST);
    cr_assert_eq(bucket_put("photos", "eve", "public-read", false), 0);
    b = mgr__fsm_bucket(&F, "photos");
    cr_assert_str_eq(b->owner, "eve");
    cr_assert_str_eq(b->acl, "public-read");
    cr_assert_eq(b->created_ms, t, "an update keeps created_ms");
}

Test(mgr_fsm, bucket_put_refuses_bad_input)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(bucket_put("ab", "bob", "", true), CLEO_EINVAL);
    cr_assert_eq(bucket_put("Photos", "bob", "", true), CLEO_EINVAL);
    cr_assert_eq(bucket_put("a..b", "bob", "", true), CLEO_EINVAL);
    cr_assert_eq(bucket_put("-ab", "bob", "", true), CLEO_EINVAL);
    cr_assert_eq(bucket_put("photos", "bob", "everyone", true), CLEO_EINVAL);
    cr_assert_eq(bucket_put("photos", "eve", "", true), CLEO_ENOTFOUND);
    cr_assert_eq(bucket_put("photos", "", "", true), CLEO_ENOTFOUND);
    cr_assert_null(mgr__fsm_bucket(&F, "photos"));
}

Test(mgr_fsm, bucket_delete_refuses_unknown_buckets)
{
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(bucket_put("b-2", "bob", "", true), 0);
    cr_assert_eq(bucket_put("b-1", "bob", "", true), 0);
    cr_assert_eq(bucket_delete("b-3"), CLEO_ENOTFOUND);
    cr_assert_eq(bucket_delete("b-1"), 0);
    cr_assert_eq(bucket_delete("b-1"), CLEO_ENOTFOUND);
    cr_assert_eq(mgr__fsm_state(&F)->n_buckets, 1);
}

/* ---- commands, indexes, snapshots */

Test(mgr_fsm, command_without_operation_is_refused)
{
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    cr_assert_eq(run(&c), CLEO_EBADREQ);
}

Test(mgr_fsm, undecodable_command_is_skipped_with_eproto)
{
    cr_assert_eq(attach("n1@h"), 0);
    size_t bl;
    uint8_t *before = pack_at(2, &bl);
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    cr_assert_eq(mgr__fsm_apply_bytes(&F, junk, sizeof junk, 2, &T_res),
                 CLEO_EPROTO);
    cr_assert_eq(F.st->applied_index, 2, "the entry is skipped, as applied");
    size_t al;
    uint8_t *after = pack(&F, &al);
    cr_assert_eq(al, bl);
    cr_assert_eq(memcmp(before, after, bl), 0);
    free(before);
    free(after);
}

Test(mgr_fsm, an_index_already_applied_changes_nothing)
{
    cr_assert_eq(attach("n1@h"), 0);
    size_t bl, al;
    uint8_t *before = pack(&F, &bl);
    Cleo__Cluster__Command c = CLEO__CLUSTER__COMMAND__INIT;
    cr_assert_eq(mgr__fsm_apply(&F, &c, 1, &T_res), CLEO_ESTATE);
    cr_assert_eq(mgr__fsm_apply(&F, NULL, 0, NULL), CLEO_ESTATE);
    uint8_t *after = pack(&F, &al);
    cr_assert_eq(al, bl);
    cr_assert_eq(memcmp(before, after, bl), 0, "not even applied_index");
    cr_assert_eq(mgr__fsm_apply(&F, NULL, 2, &T_res), CLEO_EBADREQ);
    free(before);
    free(after);
}

/* A state with something of everything. */
static void populate(void)
{
    five_states();
    cr_assert_eq(set_conf("c1", 3, 2, 2, 2), 0);
    cr_assert_eq(user_create("bob", false, AK1, SK, ""), 0);
    cr_assert_eq(user_create("al", true, AK2, SK, ""), 0);
    cr_assert_eq(bucket_put("photos", "bob", "", true), 0);
    cr_assert_eq(rebuild(1), 0);
}

Test(mgr_fsm, snapshot_restores_to_the_same_bytes)
{
    populate();
    size_t n, m;
    uint8_t *a = pack(&F, &n);
    mgr__fsm_t g;
    mgr__fsm_init(&g);
    cr_assert_eq(attach("other@h"), 0); /* F moves on */
    cr_assert_eq(mgr__fsm_restore(&F, a, n, NULL), 0);
    uint8_t *b = pack(&F, &m);
    cr_assert_eq(m, n);
    cr_assert_eq(memcmp(a, b, n), 0);
    cr_assert_null(mgr__fsm_member(&F, "other@h"));
    cr_assert_eq(mgr__fsm_state(&F)->applied_index, T_index - 1);
    mgr__fsm_destroy(&g);
    free(a);
    free(b);
}

/* Pack st, restore it over F (populated) and expect a refusal that
 * leaves F as it was. */
static void expect_restore_refused(const Cleo__Cluster__ClusterState *st,
                                   const char *why)
{
    size_t n = cleo__cluster__cluster_state__get_packed_size(st);
    uint8_t *buf = malloc(n + 1);
    cleo__cluster__cluster_state__pack(st, buf);
    size_t bl, al;
    uint8_t *before = pack(&F, &bl);
    mgr__fsm_result_t r;
    cr_assert_eq(mgr__fsm_restore(&F, buf, n, &r), CLEO_EPROTO, "%s", why);
    cr_assert_neq(r.detail[0], '\0');
    uint8_t *after = pack(&F, &al);
    cr_assert_eq(al, bl, "%s", why);
    cr_assert_eq(memcmp(before, after, bl), 0, "%s", why);
    free(buf);
    free(before);
    free(after);
}

Test(mgr_fsm, restore_rejects_garbage_and_keeps_the_state)
{
    populate();
    size_t bl, al;
    uint8_t *before = pack(&F, &bl);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(0xff - i * 7);
    cr_assert_eq(mgr__fsm_restore(&F, junk, sizeof junk, NULL), CLEO_EPROTO);
    cr_assert_eq(mgr__fsm_restore(&F, before, bl - 3, NULL), CLEO_EPROTO,
                 "truncated");
    uint8_t *after = pack(&F, &al);
    cr_assert_eq(al, bl);
    cr_assert_eq(memcmp(before, after, bl), 0);
    free(before);
    free(after);
}

Test(mgr_fsm, restore_rejects_a_state_that_breaks_an_invariant)
{
    populate();
    Cleo__Cluster__ClusterState *st = F.st;
    /* Each break is made on F's own state, packed, and undone. */
    Cleo__Cluster__Member *m0 = st->members[0];
    st->members[0] = st->members[1];
    st->members[1] = m0;
    expect_restore_refused(st, "members not sorted");
    st->members[1] = st->members[0];
    st->members[0] = m0;
    st->ring_cur->checksum ^= 1;
    expect_restore_refused(st, "wrong checksum");
    st->ring_cur->checksum ^= 1;
    st->conf->w = 4;
    expect_restore_refused(st, "W > N");
    st->conf->w = 2;
    st->members[0]->state = 7;
    expect_restore_refused(st, "state outside the enum");
    st->members[0]->state = ST(RUNNING);
    char *owner = st->buckets[0]->owner;
    st->buckets[0]->owner = "ghost";
    expect_restore_refused(st, "a bucket of no user");
    st->buckets[0]->owner = owner;
    char *user = st->keys[0]->user;
    st->keys[0]->user = "ghost";
    expect_restore_refused(st, "a key of no user");
    st->keys[0]->user = user;
    check_canonical(); /* F is whole again */
}
