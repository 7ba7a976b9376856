/*
 * test_bucketsync.c - storage/bucketsync.c: a storage node's bucket
 * records follow the cluster's buckets. A real engine and the sync actor
 * under one supervisor, and a fake cluster agent (registered mgr_agent)
 * through which each test pushes cluster states: missing records are
 * made with the cluster's owner; a bucket the cluster deleted is dropped
 * when empty and kept while it holds objects; a young local record the
 * cluster never had (a gateway's create ahead of this node's state) is
 * kept; a state older than one seen is ignored; the sync subscribes
 * again when the agent restarts.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "manager/contract.h"
#include "proto/cluster.pb-c.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

static char T_dir[64];
static char T_path[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static sto_engine_conf_t T_conf;

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER},
    {"sync", sto_bucket_sync_start, NULL, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_REST_FOR_ONE, 10, 5000}, kids, 2};

/* ---- a fake cluster agent --------------------------------------------- */

#define FAKE_PUSH 0x7A7A0001u /* test -> fake agent: a packed state */

static int fake_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_pid_t *sub = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (m->type == CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE) {
        *sub = m->from;
        (void)rt_reply(
            rt, rt_msg_caller(m),
            rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE));
    } else if (m->type == FAKE_PUSH && *sub != 0) {
        Cleo__Cluster__RaftState *rs = malloc(sizeof *rs);
        cleo__cluster__raft_state__init(rs);
        rt_msg_t *st = rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_STATE);
        rt_msg_set_body(st, rs, m->payload);
        m->payload = NULL; /* the buffer's reference moved on */
        (void)rt_send(rt, *sub, st);
    }
    return 0;
}

static int fake_init(rt_actor_t *self, void *arg)
{
    (void)arg;
    rt_set_state(self, calloc(1, sizeof(rt_pid_t)));
    return 0;
}

static void fake_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    free(rt_state(self));
}

static const rt_behaviour_t fake_beh = {.name = "fake_agent",
                                        .init = fake_init,
                                        .handle = fake_handle,
                                        .destroy = fake_destroy};

static rt_pid_t fake_start(void)
{
    rt_spawn_opts_t o = {.name = MGR_AGENT_NAME, .sched = RT_SCHED_ANY};
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(T_rt, NULL, &fake_beh, NULL, &o, &pid), 0);
    return pid;
}

/* Push a state with buckets names (NULL-terminated; owner "own-<name>")
 * at applied index `applied`. */
static void push(const char *const *names, uint64_t applied)
{
    Cleo__Cluster__ClusterState st = CLEO__CLUSTER__CLUSTER_STATE__INIT;
    Cleo__Cluster__Bucket bk[8], *bp[8];
    char owners[8][32];
    st.applied_index = applied;
    for (; names[st.n_buckets] != NULL; st.n_buckets++) {
        size_t i = st.n_buckets;
        cleo__cluster__bucket__init(&bk[i]);
        bk[i].name = (char *)names[i];
        snprintf(owners[i], sizeof owners[i], "own-%s", names[i]);
        bk[i].owner = owners[i];
        bp[i] = &bk[i];
    }
    st.buckets = bp;
    size_t len = cleo__cluster__cluster_state__get_packed_size(&st);
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(len + 1, &b), 0);
    cleo__cluster__cluster_state__pack(&st, (uint8_t *)rt_buf_data(b));
    cr_assert_eq(rt_buf_set_len(b, len), 0);
    rt_msg_t *m = rt_msg_new(FAKE_PUSH);
    rt_msg_set_buf(m, b);
    cr_assert_eq(rt_send_name(T_rt, MGR_AGENT_NAME, m), 0);
}

/* ---- the engine's records ------------------------------------------------ */

/* The engine's record of name: its owner copied into owner (if not
 * NULL). @return whether it exists. */
static bool record(const char *name, char *owner, size_t cap)
{
    Cleo__Storage__BucketList *l;
    cr_assert_eq(sto_client_bucket_list_sync(T_rt, &l), 0);
    bool found = false;
    for (size_t i = 0; i < l->n_buckets; i++)
        if (strcmp(l->buckets[i]->name, name) == 0) {
            found = true;
            if (owner != NULL)
                snprintf(owner, cap, "%s", l->buckets[i]->owner);
        }
    protobuf_c_message_free_unpacked(&l->base, NULL);
    return found;
}

/* Push names at applied until the engine has (or lacks) bucket `sign`
 * (the first pushes may precede the subscription). */
static bool push_until(const char *const *names, uint64_t applied,
                       const char *sign, bool present)
{
    for (int t = 0; t < 150; t++) {
        push(names, applied);
        usleep(20000);
        if (record(sign, NULL, 0) == present)
            return true;
    }
    return false;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-bsync-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_neq(rt_whereis(T_rt, STO_BUCKET_SYNC_NAME), RT_PID_NONE);
}

static void teardown(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_bucketsync, .init = setup, .fini = teardown, .timeout = 60);

Test(sto_bucketsync, missing_records_are_made_with_the_cluster_owner)
{
    fake_start();
    const char *s1[] = {"alpha", "beta", NULL};
    cr_assert(push_until(s1, 1, "beta", true));
    char owner[64];
    cr_assert(record("alpha", owner, sizeof owner));
    cr_assert_str_eq(owner, "own-alpha");
    cr_assert(record("beta", owner, sizeof owner));
    cr_assert_str_eq(owner, "own-beta");
}

Test(sto_bucketsync, a_bucket_the_cluster_deleted_is_dropped_when_empty)
{
    fake_start();
    const char *s1[] = {"alpha", "beta", NULL}, *s2[] = {"alpha", NULL};
    cr_assert(push_until(s1, 1, "beta", true));
    cr_assert(push_until(s2, 2, "beta", false));
    cr_assert(record("alpha", NULL, 0));
}

Test(sto_bucketsync, a_deleted_bucket_holding_objects_is_kept)
{
    fake_start();
    const char *s1[] = {"full", NULL}, *s2[] = {"other", NULL};
    cr_assert(push_until(s1, 1, "full", true));
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(4, &b), 0);
    memcpy(rt_buf_data(b), "data", 4);
    cr_assert_eq(rt_buf_set_len(b, 4), 0);
    cr_assert_eq(sto_client_put_sync(T_rt, "full", "k", b, NULL, NULL), 0);
    /* "other" appears in the pass that would drop "full" */
    cr_assert(push_until(s2, 2, "other", true));
    usleep(100000);
    cr_assert(record("full", NULL, 0), "a bucket with objects was dropped");
}

Test(sto_bucketsync, a_young_record_the_cluster_never_had_is_kept)
{
    fake_start();
    /* a gateway made it on this engine before this node's state has it */
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "early", "ann"), 0);
    const char *s1[] = {"alpha", NULL};
    cr_assert(push_until(s1, 1, "alpha", true));
    usleep(100000);
    cr_assert(record("early", NULL, 0));
}

Test(sto_bucketsync, a_state_older_than_one_seen_is_ignored)
{
    fake_start();
    const char *s10[] = {"alpha", "beta", NULL};
    cr_assert(push_until(s10, 10, "beta", true));
    /* an older state from a lagging manager: no beta, a stale gamma */
    const char *s5[] = {"alpha", "gamma", NULL};
    push(s5, 5);
    usleep(300000); /* time for a pass, were it taken */
    cr_assert(record("beta", NULL, 0), "the older state dropped beta");
    cr_assert_not(record("gamma", NULL, 0), "the older state made gamma");
    const char *s11[] = {"alpha", "beta", "delta", NULL};
    cr_assert(push_until(s11, 11, "delta", true));
}

Test(sto_bucketsync, subscribes_again_when_the_agent_restarts)
{
    rt_pid_t a = fake_start();
    const char *s1[] = {"alpha", NULL};
    cr_assert(push_until(s1, 1, "alpha", true));
    cr_assert_eq(rt_exit(T_rt, a, RT_REASON_KILL), 0);
    while (rt_whereis(T_rt, MGR_AGENT_NAME) == a)
        usleep(1000);
    fake_start();
    const char *s2[] = {"alpha", "beta", NULL};
    cr_assert(push_until(s2, 2, "beta", true), "no state after the restart");
}
