/*
 * test_users_cluster.c - mgr_users in a cluster (manager/users_cluster.c)
 * against a stand-in agent: an actor of the test registered as
 * "mgr_agent" that keeps a real state machine (manager/fsm.h), applies
 * the MGR_AGENT_PROPOSE commands to it and pushes MGR_AGENT_STATE to its
 * subscribers, as the real agent does with the managers' copy. The knobs
 * in K make it refuse (no leader), push late or not at all, or let
 * another node win the race for the admin. The real agent and managers
 * are run by tests/integration/test_cluster_users.py.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "manager/agent.h"
#include "manager/fsm.h"
#include "manager/mgr.h"
#include "proto/introspect.pb-c.h"
#include "supervisors/sup.h"

/* The stand-in agent's own calls (test only). */
#define FAKE_APPLY 0x54455354u /* Command -> CommandResult, not counted */

static char T_dir[64];
static char T_db[96];
static char T_cred[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static mgr_users_opts_t T_opts;

/* The stand-in's knobs (set before the calls they affect) and counts. */
static struct {
    int refuse;             /* every proposal answers this; 0 = none */
    uint32_t push_delay_ms; /* push a new state this late (0 = at once) */
    bool no_push;           /* apply proposals but push nothing */
    bool race_admin;        /* another node's admin lands first */
    atomic_int proposals, creates, imports, deletes;
} K;

static const sup_child_spec_t kids[] = {
    {"users", mgr_users_start, &T_opts, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

/* ---- the stand-in agent ----------------------------------------------- */

typedef struct {
    mgr__fsm_t fsm;
    uint64_t index;
    rt_pid_t subs[8];
    size_t nsubs;
    bool raced;
} fake_t;

static rt_msg_t *state_msg(fake_t *f, uint32_t type)
{
    size_t n = mgr__fsm_packed_size(&f->fsm);
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(n ? n : 1, &b), 0);
    size_t w = mgr__fsm_pack(&f->fsm, (uint8_t *)rt_buf_data(b));
    cr_assert_eq(rt_buf_set_len(b, w), 0);
    Cleo__Cluster__RaftState *rs = cleo_xcalloc(1, sizeof *rs);
    cleo__cluster__raft_state__init(rs);
    rs->applied_index = f->index;
    rs->has_leader = true;
    rs->leader = strdup("n1@127.0.0.1");
    rs->node = strdup("n1@127.0.0.1");
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_body(m, rs, b);
    return m;
}

static void push(rt_actor_t *self, fake_t *f)
{
    rt_t *rt = rt_actor_rt(self);
    for (size_t i = 0; i < f->nsubs && !K.no_push; i++) {
        rt_msg_t *m = state_msg(f, MGR_AGENT_STATE);
        if (K.push_delay_ms > 0)
            (void)rt_send_after(rt, K.push_delay_ms, f->subs[i], m, NULL);
        else
            (void)rt_send(rt, f->subs[i], m);
    }
}

static Cleo__Cluster__Command *admin_create(const char *ak, const char *sk)
{
    Cleo__Cluster__Command *c = cleo_xcalloc(1, sizeof *c);
    cleo__cluster__command__init(c);
    c->proposed_ms = 1000;
    Cleo__Cluster__UserCreate *op = cleo_xcalloc(1, sizeof *op);
    cleo__cluster__user_create__init(op);
    op->user = cleo_xcalloc(1, sizeof *op->user);
    cleo__manager__user__init(op->user);
    op->user->name = strdup(MGR_ADMIN_USER);
    op->user->is_admin = true;
    op->key = cleo_xcalloc(1, sizeof *op->key);
    cleo__manager__access_key__init(op->key);
    op->key->access_key = strdup(ak);
    op->key->secret_key = strdup(sk);
    op->key->user = strdup(MGR_ADMIN_USER);
    c->op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
    c->user_create = op;
    return c;
}

static void count(const Cleo__Cluster__Command *c)
{
    atomic_fetch_add(&K.proposals, 1);
    if (c->op_case == CLEO__CLUSTER__COMMAND__OP_USER_CREATE)
        atomic_fetch_add(&K.creates, 1);
    if (c->op_case == CLEO__CLUSTER__COMMAND__OP_KEY_IMPORT)
        atomic_fetch_add(&K.imports, 1);
    if (c->op_case == CLEO__CLUSTER__COMMAND__OP_USER_DELETE)
        atomic_fetch_add(&K.deletes, 1);
}

/* Apply m's Command and answer its CommandResult. */
static void apply(rt_actor_t *self, fake_t *f, rt_msg_t *m, bool counted)
{
    const Cleo__Cluster__Command *c = m->payload;
    rt_msg_t *r = rt_msg_new(m->type);
    if (counted)
        count(c);
    if (counted && K.refuse != 0) {
        r->reason = K.refuse;
        (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
        return;
    }
    if (counted && K.race_admin && !f->raced &&
        c->op_case == CLEO__CLUSTER__COMMAND__OP_USER_CREATE &&
        c->user_create->user->is_admin) {
        Cleo__Cluster__Command *o =
            admin_create("OTHERNODEKEY", "other-s3cr3t");
        f->raced = true;
        cr_assert_eq(mgr__fsm_apply(&f->fsm, o, ++f->index, NULL), 0);
        protobuf_c_message_free_unpacked(&o->base, NULL);
    }
    mgr__fsm_result_t res;
    r->reason = mgr__fsm_apply(&f->fsm, c, ++f->index, &res);
    Cleo__Cluster__CommandResult *cr = cleo_xcalloc(1, sizeof *cr);
    cleo__cluster__command_result__init(cr);
    cr->status = res.status;
    cr->detail = strdup(res.detail);
    rt_msg_set_pb(r, cr);
    (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
    push(self, f);
}

static int fake_handle(rt_actor_t *self, rt_msg_t *m)
{
    fake_t *f = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    switch (m->type) {
    case MGR_AGENT_SUBSCRIBE:
        cr_assert_lt(f->nsubs, 8);
        f->subs[f->nsubs++] = m->from;
        (void)rt_reply(rt, rt_msg_caller(m), rt_msg_new(m->type));
        (void)rt_send(rt, m->from, state_msg(f, MGR_AGENT_STATE));
        return 0;
    case MGR_AGENT_GET:
        (void)rt_reply(rt, rt_msg_caller(m), state_msg(f, m->type));
        return 0;
    case MGR_AGENT_PROPOSE:
    case FAKE_APPLY:
        apply(self, f, m, m->type == MGR_AGENT_PROPOSE);
        return 0;
    default:
        return 0;
    }
}

static int fake_init(rt_actor_t *self, void *arg)
{
    fake_t *f = cleo_xcalloc(1, sizeof *f);
    mgr__fsm_init(&f->fsm);
    rt_set_state(self, f);
    return 0;
}

static void fake_destroy(rt_actor_t *self, int reason)
{
    fake_t *f = rt_state(self);
    if (f == NULL)
        return;
    mgr__fsm_destroy(&f->fsm);
    free(f);
}

static const rt_behaviour_t fake_beh = {.name = "fake_agent",
                                        .init = fake_init,
                                        .handle = fake_handle,
                                        .destroy = fake_destroy};

static rt_pid_t agent_start(void)
{
    rt_spawn_opts_t so = {.sched = RT_SCHED_ANY, .name = MGR_AGENT_NAME};
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(T_rt, NULL, &fake_beh, NULL, &so, &pid), 0);
    return pid;
}

/* ---- commands for the stand-in ---------------------------------------- */

static Cleo__Cluster__Command *cmd_new(void)
{
    Cleo__Cluster__Command *c = cleo_xcalloc(1, sizeof *c);
    cleo__cluster__command__init(c);
    c->proposed_ms = 2000;
    return c;
}

static Cleo__Cluster__Command *user_create(const char *name, const char *ak,
                                           const char *sk)
{
    Cleo__Cluster__Command *c = admin_create(ak, sk);
    free(c->user_create->user->name);
    c->user_create->user->name = strdup(name);
    c->user_create->user->is_admin = false;
    free(c->user_create->key->user);
    c->user_create->key->user = strdup(name);
    return c;
}

static Cleo__Cluster__Command *user_delete(const char *name)
{
    Cleo__Cluster__Command *c = cmd_new();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_USER_DELETE;
    c->user_delete = cleo_xcalloc(1, sizeof *c->user_delete);
    cleo__cluster__user_delete__init(c->user_delete);
    c->user_delete->name = strdup(name);
    return c;
}

static Cleo__Cluster__Command *bucket_put(const char *name, const char *owner)
{
    Cleo__Cluster__Command *c = cmd_new();
    c->op_case = CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT;
    c->bucket_put = cleo_xcalloc(1, sizeof *c->bucket_put);
    cleo__cluster__bucket_put__init(c->bucket_put);
    c->bucket_put->must_not_exist = true;
    Cleo__Cluster__Bucket *b = cleo_xcalloc(1, sizeof *b);
    cleo__cluster__bucket__init(b);
    b->name = strdup(name);
    b->owner = strdup(owner);
    c->bucket_put->bucket = b;
    return c;
}

/* Apply c (taken) on the stand-in as another node's change would be. */
static void other_node(Cleo__Cluster__Command *c)
{
    rt_msg_t *m = rt_msg_new(FAKE_APPLY), *r = NULL;
    rt_msg_set_pb(m, c);
    rt_pid_t a = rt_whereis(T_rt, MGR_AGENT_NAME);
    cr_assert_eq(rt_call_sync(T_rt, a, m, 5000, &r), 0);
    cr_assert_eq(r->reason, 0);
    rt_msg_free(r);
}

/* The stand-in's state. @return gives. */
static Cleo__Cluster__ClusterState *cluster(void)
{
    rt_msg_t *r = NULL;
    rt_pid_t a = rt_whereis(T_rt, MGR_AGENT_NAME);
    cr_assert_eq(rt_call_sync(T_rt, a, rt_msg_new(MGR_AGENT_GET), 5000, &r), 0);
    rt_body_t *b = rt_msg_body(r);
    cr_assert_not_null(b);
    Cleo__Cluster__ClusterState *st = cleo__cluster__cluster_state__unpack(
        NULL, rt_buf_len(b->buf), (const uint8_t *)rt_buf_data(b->buf));
    cr_assert_not_null(st);
    rt_msg_free(r);
    return st;
}

/* The secret of access key ak in the stand-in's state ("" = none) and
 * its user. */
static void cluster_key(const char *ak, char *secret, char *user)
{
    Cleo__Cluster__ClusterState *st = cluster();
    secret[0] = user[0] = '\0';
    for (size_t i = 0; i < st->n_keys; i++)
        if (strcmp(st->keys[i]->access_key, ak) == 0) {
            strcpy(secret, st->keys[i]->secret_key);
            strcpy(user, st->keys[i]->user);
        }
    cleo__cluster__cluster_state__free_unpacked(st, NULL);
}

static size_t cluster_users(void)
{
    Cleo__Cluster__ClusterState *st = cluster();
    size_t n = st->n_users;
    cleo__cluster__cluster_state__free_unpacked(st, NULL);
    return n;
}

/* ---- the node --------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void users_start(void)
{
    cr_assert_eq(sup_start(T_rt, NULL, "manager_sup", &spec, &T_sup), 0);
    Cleo__Manager__UserList *l = NULL; /* waits for the load */
    cr_assert_eq(mgr_client_user_list_sync(T_rt, &l), 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void stop(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    T_rt = NULL;
}

/* A new runtime: the stand-in agent (if with_agent), then mgr_users. */
static void start(bool with_agent)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    if (with_agent)
        agent_start();
    users_start();
}

static void setup(void)
{
    memset(&K, 0, sizeof K);
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-mgrc-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_db, sizeof T_db, "%s/manager", T_dir);
    snprintf(T_cred, sizeof T_cred, "%s/credentials", T_dir);
    T_opts = (mgr_users_opts_t){.dir = T_db,
                                .credentials = T_cred,
                                .endpoint = "http://127.0.0.1:18080",
                                .no_sync = true,
                                .cluster = true};
}

static void teardown(void)
{
    if (T_rt != NULL)
        stop();
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(mgr_users_cluster, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---------------------------------------------------------- */

static void nap(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait up to 5 s for pred(). */
#define WAIT_FOR(pred, what)                                                   \
    do {                                                                       \
        int i_ = 0;                                                            \
        for (; i_ < 500 && !(pred); i_++)                                      \
            nap(10);                                                           \
        cr_assert(i_ < 500, "timed out waiting for %s", what);                 \
    } while (0)

/* The node's admin access key, from its credentials file. */
static void own_key(char *ak, char *sk)
{
    FILE *f = fopen(T_cred, "r");
    cr_assert_not_null(f);
    char line[512], key[64], val[256];
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%63s = %255s", key, val) == 2) {
            if (strcmp(key, "access_key") == 0)
                strcpy(ak, val);
            if (strcmp(key, "secret_key") == 0)
                strcpy(sk, val);
        }
    fclose(f);
}

/* KEY_LOOKUP on the node: 0 and the user / admin flag, or the status. */
static int lookup(const char *ak, char *user, bool *admin)
{
    Cleo__Manager__KeyInfo *k = NULL;
    int rc = mgr_client_key_lookup_sync(T_rt, ak, &k);
    if (rc == 0) {
        if (user != NULL)
            strcpy(user, k->user);
        if (admin != NULL)
            *admin = k->is_admin;
        protobuf_c_message_free_unpacked(&k->base, NULL);
    }
    return rc;
}

static bool listed(const char *name)
{
    Cleo__Manager__UserList *l = NULL;
    cr_assert_eq(mgr_client_user_list_sync(T_rt, &l), 0);
    bool found = false;
    for (size_t i = 0; i < l->n_users; i++)
        found |= strcmp(l->users[i]->user->name, name) == 0;
    protobuf_c_message_free_unpacked(&l->base, NULL);
    return found;
}

static size_t nusers(void)
{
    Cleo__Manager__UserList *l = NULL;
    cr_assert_eq(mgr_client_user_list_sync(T_rt, &l), 0);
    size_t n = l->n_users;
    protobuf_c_message_free_unpacked(&l->base, NULL);
    return n;
}

static bool cluster_has(const char *ak)
{
    char s[256], u[256];
    cluster_key(ak, s, u);
    return s[0] != '\0';
}

/* ---- the admin key ---------------------------------------------------- */

Test(mgr_users_cluster, the_admin_and_its_key_are_proposed_to_an_empty_cluster)
{
    start(true);
    char ak[256], sk[256], s[256], u[256];
    own_key(ak, sk);
    WAIT_FOR(cluster_has(ak), "the admin key in the cluster");
    cluster_key(ak, s, u);
    cr_assert_str_eq(s, sk);
    cr_assert_str_eq(u, MGR_ADMIN_USER);
    cr_assert_eq(atomic_load(&K.creates), 1);
    cr_assert_eq(atomic_load(&K.imports), 0);
    bool admin = false;
    cr_assert_eq(lookup(ak, u, &admin), 0);
    cr_assert(admin);
    nap(300); /* nothing more is proposed */
    cr_assert_eq(atomic_load(&K.proposals), 1);
}

Test(mgr_users_cluster, the_key_is_imported_when_the_cluster_has_an_admin)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    agent_start();
    other_node(admin_create("OTHERNODEKEY", "other-s3cr3t"));
    users_start();
    char ak[256], sk[256], s[256], u[256];
    own_key(ak, sk);
    WAIT_FOR(cluster_has(ak), "the admin key imported");
    cluster_key(ak, s, u);
    cr_assert_str_eq(s, sk);
    cr_assert_str_eq(u, MGR_ADMIN_USER);
    cr_assert_eq(atomic_load(&K.creates), 0);
    cr_assert_eq(atomic_load(&K.imports), 1);
    bool admin = false;
    cr_assert_eq(lookup("OTHERNODEKEY", u, &admin), 0); /* the other's works */
    cr_assert(admin);
    cr_assert_eq(lookup(ak, u, &admin), 0);
    cr_assert(admin);
    cr_assert_eq(cluster_users(), 1);
}

Test(mgr_users_cluster, a_lost_race_for_the_admin_ends_in_an_import)
{
    K.race_admin = true;
    start(true);
    char ak[256], sk[256];
    own_key(ak, sk);
    WAIT_FOR(cluster_has(ak), "the admin key imported after the race");
    cr_assert(cluster_has("OTHERNODEKEY"));
    cr_assert_eq(atomic_load(&K.creates), 1); /* refused: EEXIST */
    cr_assert_eq(atomic_load(&K.imports), 1);
    nap(1500); /* past the retry: nothing more */
    cr_assert_eq(atomic_load(&K.proposals), 2);
    cr_assert_eq(cluster_users(), 1);
}

Test(mgr_users_cluster, a_key_the_cluster_has_is_not_proposed)
{
    T_opts.admin_access_key = "SAMEPAIRKEY";
    T_opts.admin_secret_key = "same-pair-secret";
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    agent_start();
    other_node(admin_create("SAMEPAIRKEY", "same-pair-secret"));
    users_start();
    WAIT_FOR(lookup("SAMEPAIRKEY", NULL, NULL) == 0, "the key served");
    nap(300);
    cr_assert_eq(atomic_load(&K.proposals), 0);
}

Test(mgr_users_cluster, the_own_key_is_served_until_the_cluster_has_it)
{
    K.refuse = CLEO_ENOCONNECTION; /* no leader: nothing is applied */
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    agent_start();
    other_node(user_create("alice", "ALICEKEY01", "alice-secret"));
    users_start();
    WAIT_FOR(listed("alice"), "the cluster's users");
    char ak[256], sk[256], u[256];
    own_key(ak, sk);
    bool admin = false;
    cr_assert_eq(lookup(ak, u, &admin), 0);
    cr_assert(admin);
    cr_assert_not(cluster_has(ak));
    nap(1200); /* tried again after the retry period */
    cr_assert_geq(atomic_load(&K.creates), 2);
    cr_assert_leq(atomic_load(&K.creates), 4);
}

Test(mgr_users_cluster, the_agent_may_start_after_mgr_users)
{
    start(false);
    char ak[256], sk[256];
    own_key(ak, sk);
    cr_assert_eq(lookup(ak, NULL, NULL), 0); /* the local store's */
    nap(300);
    agent_start();
    WAIT_FOR(cluster_has(ak), "the admin key proposed once the agent ran");
}

/* ---- the table is the cluster's --------------------------------------- */

Test(mgr_users_cluster, the_cluster_state_replaces_the_local_users)
{
    T_opts.cluster = false;
    start(false);
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "local1", &p), 0);
    stop();
    T_opts.cluster = true;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    agent_start();
    other_node(user_create("alice", "ALICEKEY01", "alice-secret"));
    users_start();
    WAIT_FOR(listed("alice"), "the cluster's users");
    cr_assert_not(listed("local1"));
    cr_assert_eq(lookup(p->access_key, NULL, NULL), CLEO_ENOTFOUND);
    char u[256];
    bool admin = true;
    cr_assert_eq(lookup("ALICEKEY01", u, &admin), 0);
    cr_assert_str_eq(u, "alice");
    cr_assert_not(admin);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

Test(mgr_users_cluster, other_nodes_changes_show_up_and_go)
{
    start(true);
    other_node(user_create("frank", "FRANKKEY01", "frank-secret"));
    WAIT_FOR(lookup("FRANKKEY01", NULL, NULL) == 0, "frank's key");
    other_node(user_delete("frank"));
    WAIT_FOR(lookup("FRANKKEY01", NULL, NULL) == CLEO_ENOTFOUND,
             "frank's key gone");
    cr_assert_not(listed("frank"));
}

Test(mgr_users_cluster, a_restarted_agent_is_subscribed_again)
{
    start(true);
    rt_pid_t old = rt_whereis(T_rt, MGR_AGENT_NAME);
    cr_assert_eq(rt_exit(T_rt, old, RT_REASON_KILL), 0);
    WAIT_FOR(rt_whereis(T_rt, MGR_AGENT_NAME) == RT_PID_NONE, "the agent gone");
    agent_start();
    other_node(user_create("george", "GEORGEKEY1", "george-secret"));
    WAIT_FOR(listed("george"), "the new agent's state");
}

/* ---- changes are proposals -------------------------------------------- */

Test(mgr_users_cluster, create_is_proposed_and_answered_once_shown)
{
    start(true);
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "carol", &p), 0);
    cr_assert_str_eq(p->user, "carol");
    cr_assert(listed("carol")); /* no wait: the answer waited */
    char s[256], u[256];
    cluster_key(p->access_key, s, u);
    cr_assert_str_eq(s, p->secret_key);
    cr_assert_str_eq(u, "carol");
    bool admin = true;
    cr_assert_eq(lookup(p->access_key, u, &admin), 0);
    cr_assert_not(admin);
    /* The local store was not written. */
    stop();
    T_opts.cluster = false;
    start(false);
    cr_assert_not(listed("carol"));
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

Test(mgr_users_cluster, delete_is_proposed_and_the_key_stops_at_once)
{
    start(true);
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "carol", &p), 0);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "carol"), 0);
    cr_assert_eq(lookup(p->access_key, NULL, NULL), CLEO_ENOTFOUND);
    cr_assert_not(cluster_has(p->access_key));
    cr_assert_eq(atomic_load(&K.deletes), 1);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

Test(mgr_users_cluster, refusals_are_the_usual_statuses_and_change_nothing)
{
    start(true);
    char ak[256], sk[256];
    own_key(ak, sk);
    WAIT_FOR(cluster_has(ak), "the admin in the cluster");
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "carol", NULL), 0);
    size_t n = cluster_users();
    int before = atomic_load(&K.proposals);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "carol", NULL), CLEO_EEXIST);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "nobody"), CLEO_ENOTFOUND);
    cr_assert_eq(atomic_load(&K.proposals), before + 2); /* the managers' */
    /* Refused here, without a proposal: */
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "a b", NULL), CLEO_EINVAL);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "-x"), CLEO_EINVAL);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, MGR_ADMIN_USER, NULL),
                 CLEO_EEXIST);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, MGR_ADMIN_USER),
                 CLEO_ESTATE);
    cr_assert_eq(atomic_load(&K.proposals), before + 2);
    cr_assert_eq(cluster_users(), n);
    cr_assert_eq(nusers(), n);
}

/* `cleo-adm user ...` through the admin actor: status and its one line. */
static void admin_expect(const char *verb, const char *name, int want,
                         const char *has)
{
    char *argv[] = {"user", (char *)verb, (char *)name};
    Cleo__Introspect__AdminReq q = CLEO__INTROSPECT__ADMIN_REQ__INIT;
    q.n_argv = 3;
    q.argv = argv;
    uint8_t buf[512];
    size_t len = cleo__introspect__admin_req__pack(&q, buf);
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN), *reply = NULL;
    rt_msg_set_pb(m, cleo__introspect__admin_req__unpack(NULL, len, buf));
    rt_pid_t pid = rt_whereis(T_rt, MGR_ADMIN_NAME);
    cr_assert_eq(gen_server_call_sync(T_rt, pid, m, 30000, &reply), 0);
    const Cleo__Introspect__AdminReply *r = reply->payload;
    cr_assert_eq(r->status, want, "%s: %d %s", verb, r->status, r->text);
    cr_assert(strchr(r->text, '\n') == NULL, "one line: %s", r->text);
    cr_assert(strstr(r->text, has) != NULL, "'%s' in '%s'", has, r->text);
    rt_msg_free(reply);
}

Test(mgr_users_cluster, the_admin_command_says_why_a_change_failed)
{
    start(true);
    static const sup_child_spec_t a = {
        "admin", mgr_admin_start, NULL, SUP_TEMPORARY, 5000, SUP_WORKER};
    cr_assert_eq(sup_start_child_sync(T_rt, T_sup, &a, NULL, NULL), 0);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "carol", NULL), 0);
    other_node(bucket_put("carols-bucket", "carol"));
    admin_expect("delete", "carol", CLEO_ESTATE, "owns 1 bucket");
    admin_expect("create", "carol", CLEO_EEXIST, "user 'carol' already exists");
    cr_assert(listed("carol"));
    K.refuse = CLEO_ENOCONNECTION;
    admin_expect("create", "dave", CLEO_ENOCONNECTION, "no manager leader");
    K.refuse = CLEO_ETIMEDOUT;
    admin_expect("delete", "carol", CLEO_ETIMEDOUT, "may or may not");
    cr_assert(listed("carol"));
}

Test(mgr_users_cluster, no_leader_is_an_error_and_changes_nothing)
{
    K.refuse = CLEO_ENOCONNECTION;
    start(true);
    size_t n = nusers();
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "dave", NULL),
                 CLEO_ENOCONNECTION);
    cr_assert_not(listed("dave"));
    cr_assert_eq(nusers(), n);
    cr_assert_eq(cluster_users(), 0);
}

Test(mgr_users_cluster, an_applied_change_waits_for_the_copy)
{
    start(true);
    char ak[256], sk[256];
    own_key(ak, sk);
    WAIT_FOR(cluster_has(ak), "the admin in the cluster");
    K.push_delay_ms = 400; /* the copy lags behind the answer */
    uint64_t t0 = now_ms();
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "erin", NULL), 0);
    cr_assert_geq(now_ms() - t0, 350);
    cr_assert(listed("erin"));
    /* A copy that never comes: answered at the deadline all the same. */
    K.no_push = true;
    t0 = now_ms();
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "erin"), 0);
    cr_assert_geq(now_ms() - t0, 2500);
    cr_assert_lt(now_ms() - t0, 6000);
}

typedef struct {
    const char *mine;
    int rc_mine, rc_shared;
} racer_t;

static void *racer(void *p)
{
    racer_t *r = p;
    r->rc_mine = mgr_client_user_create_sync(T_rt, r->mine, NULL);
    r->rc_shared = mgr_client_user_create_sync(T_rt, "hank", NULL);
    return NULL;
}

Test(mgr_users_cluster, changes_go_one_at_a_time)
{
    start(true);
    K.push_delay_ms = 100; /* each change waits for its copy */
    racer_t r[3] = {{.mine = "ivy"}, {.mine = "jack"}, {.mine = "kate"}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, racer, &r[i]), 0);
    int ok = 0, exists = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(r[i].rc_mine, 0);
        cr_assert(listed(r[i].mine));
        ok += r[i].rc_shared == 0;
        exists += r[i].rc_shared == CLEO_EEXIST;
    }
    cr_assert_eq(ok, 1, "exactly one creates the shared name");
    cr_assert_eq(exists, 2);
    cr_assert_eq(atomic_load(&K.creates), 1 + 3 + 3); /* the admin's too */
}

/* ---- user import, user role ------------------------------------------- */

/* USER_IMPORT (pair of user) or, with ak NULL, USER_SET_ROLE: the
 * status. */
static int change(const char *user, const char *ak, const char *sk,
                  bool is_admin)
{
    rt_msg_t *m, *r = NULL;
    if (ak != NULL) {
        Cleo__Manager__AccessKey *k = cleo_xcalloc(1, sizeof *k);
        cleo__manager__access_key__init(k);
        k->user = strdup(user);
        k->access_key = strdup(ak);
        k->secret_key = strdup(sk);
        m = rt_msg_new(CLEO__MANAGER__MSG_ID__USER_IMPORT);
        rt_msg_set_pb(m, k);
    } else {
        Cleo__Manager__User *u = cleo_xcalloc(1, sizeof *u);
        cleo__manager__user__init(u);
        u->name = strdup(user);
        u->is_admin = is_admin;
        m = rt_msg_new(CLEO__MANAGER__MSG_ID__USER_SET_ROLE);
        rt_msg_set_pb(m, u);
    }
    rt_pid_t pid = rt_whereis(T_rt, MGR_USERS_NAME);
    cr_assert_eq(gen_server_call_sync(T_rt, pid, m, 10000, &r), 0);
    int rc = r->reason;
    rt_msg_free(r);
    return rc;
}

/* start(true), with this node's admin key in the cluster. */
static void started(void)
{
    char ak[256], sk[256];
    start(true);
    own_key(ak, sk);
    WAIT_FOR(cluster_has(ak), "the admin key in the cluster");
}

Test(mgr_users_cluster, import_makes_the_user_or_imports_the_pair)
{
    started();
    int creates = atomic_load(&K.creates), imports = atomic_load(&K.imports);
    char u[256];
    bool admin = true;
    cr_assert_eq(change("dave", "DAVEKEY01", "dave-secret1", false), 0);
    cr_assert_eq(lookup("DAVEKEY01", u, &admin), 0, "shown once answered");
    cr_assert_str_eq(u, "dave");
    cr_assert_not(admin);
    cr_assert_eq(atomic_load(&K.creates), creates + 1, "a UserCreate");
    cr_assert_eq(change("dave", "DAVEKEY02", "dave-secret2", false), 0);
    cr_assert_eq(atomic_load(&K.imports), imports + 1, "then a KeyImport");
    cr_assert_eq(lookup("DAVEKEY02", u, NULL), 0);
    cr_assert_eq(change("erin", "DAVEKEY01", "erin-secret1", false),
                 CLEO_EEXIST, "a taken pair is said so, not 'no user'");
    cr_assert_eq(change("dave", "DAVEKEY01", "dave-secret3", false),
                 CLEO_EEXIST);
    cr_assert_not(listed("erin"));
    cr_assert_eq(cluster_users(), 2);
}

Test(mgr_users_cluster, import_for_a_user_made_meanwhile_is_a_key_import)
{
    started();
    K.no_push = true; /* this node's copy never hears of frank */
    other_node(user_create("frank", "FRANKKEY01", "frank-secret1"));
    int imports = atomic_load(&K.imports);
    cr_assert_eq(change("frank", "FRANKKEY02", "frank-secret2", false), 0);
    cr_assert_eq(atomic_load(&K.imports), imports + 1);
    char s[256], u[256];
    cluster_key("FRANKKEY02", s, u);
    cr_assert_str_eq(u, "frank");
    cr_assert_str_eq(s, "frank-secret2");
}

Test(mgr_users_cluster, role_is_decided_by_the_managers_and_shown)
{
    started();
    bool admin = false;
    cr_assert_eq(change("gina", "GINAKEY01", "gina-secret1", false), 0);
    cr_assert_eq(change("gina", NULL, NULL, true), 0);
    cr_assert_eq(lookup("GINAKEY01", NULL, &admin), 0);
    cr_assert(admin, "the copy shows it once answered");
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "gina"), CLEO_ESTATE);
    cr_assert_eq(change("gina", NULL, NULL, false), 0);
    cr_assert_eq(lookup("GINAKEY01", NULL, &admin), 0);
    cr_assert_not(admin);
    cr_assert_eq(change("nobody", NULL, NULL, true), CLEO_ENOTFOUND);
    cr_assert_eq(change(MGR_ADMIN_USER, NULL, NULL, false), CLEO_ESTATE);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "gina"), 0);
}
