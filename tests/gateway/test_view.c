/*
 * test_view.c - gateway/view.c and viewsub.c: a cluster gateway's view.
 * The holder: nothing before the first state; a published state read
 * with its buckets, RING and N; a snapshot held by a reader outlives
 * newer ones; snapshots of one RING share it; bad bytes change nothing;
 * readers in threads beside a publisher (run under ASan and TSan). The
 * actor, against a fake cluster agent registered as mgr_agent: it finds
 * an agent that starts after it, publishes what the agent pushes,
 * subscribes again when the agent restarts, and answers waits for a
 * bucket to appear or go.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/s3pb.h"
#include "gateway/view.h"
#include "manager/contract.h"
#include "supervisors/sup.h"

/* ---- states ---------------------------------------------------------------
 */

typedef struct {
    const char *names[8]; /* buckets, sorted; NULL-terminated */
    const char *owner;
    const char *nodes[4];  /* the RING's nodes; NULL-terminated */
    uint64_t ring_version; /* 0: no RING */
    uint32_t n;            /* conf N; 0: no conf */
    uint64_t applied;
} st_spec_t;

/* A packed ClusterState. @return gives a malloc'd buffer of *len bytes. */
static uint8_t *state_pack(const st_spec_t *sp, size_t *len)
{
    Cleo__Cluster__ClusterState st = CLEO__CLUSTER__CLUSTER_STATE__INIT;
    st.applied_index = sp->applied;
    Cleo__Cluster__SystemConf conf = CLEO__CLUSTER__SYSTEM_CONF__INIT;
    conf.n = sp->n;
    if (sp->n > 0)
        st.conf = &conf;
    Cleo__Cluster__Bucket bk[8], *bp[8];
    while (sp->names[st.n_buckets] != NULL) {
        size_t i = st.n_buckets++;
        cleo__cluster__bucket__init(&bk[i]);
        bk[i].name = (char *)sp->names[i];
        bk[i].owner = (char *)(sp->owner ? sp->owner : "admin");
        bp[i] = &bk[i];
    }
    st.buckets = bp;
    Cleo__Cluster__Ring *ring = NULL;
    if (sp->ring_version > 0) {
        ring_entry_t e[4];
        size_t n = 0;
        while (sp->nodes[n] != NULL) {
            e[n] = (ring_entry_t){sp->nodes[n], "", 16};
            n++;
        }
        ring_t *r;
        cr_assert_eq(ring_new(e, n, sp->ring_version, &r), 0);
        cr_assert_eq(ring_to_pb(r, &ring), 0);
        ring_free(r);
        st.ring_cur = ring;
    }
    *len = cleo__cluster__cluster_state__get_packed_size(&st);
    uint8_t *buf = malloc(*len + 1);
    cleo__cluster__cluster_state__pack(&st, buf);
    if (ring != NULL)
        cleo__cluster__ring__free_unpacked(ring, NULL);
    return buf;
}

static int publish(gw_view_t *v, const st_spec_t *sp)
{
    size_t len;
    uint8_t *buf = state_pack(sp, &len);
    int rc = gw__view_publish(v, buf, len);
    free(buf);
    return rc;
}

/* ---- the holder -----------------------------------------------------------
 */

Test(gw_view, nothing_before_the_first_state)
{
    gw_view_t *v = gw_view_new();
    cr_assert_null(gw__view_get(v));
    cr_assert_null(gw__view_get(NULL));
    gw__snap_release(NULL);
    gw_view_free(v);
}

Test(gw_view, a_published_state_is_read_with_buckets_ring_and_n)
{
    gw_view_t *v = gw_view_new();
    st_spec_t sp = {.names = {"alpha", "beta", "gamma"},
                    .owner = "ann",
                    .nodes = {"n1@h", "n2@h", "n3@h"},
                    .ring_version = 4,
                    .n = 3,
                    .applied = 17};
    cr_assert_eq(publish(v, &sp), 0);
    gw_snap_t *s = gw__view_get(v);
    cr_assert_not_null(s);
    cr_assert_eq(s->applied, 17);
    cr_assert_eq(s->n, 3);
    cr_assert_not_null(s->ring);
    cr_assert_eq(ring_version(s->ring), 4);
    cr_assert_eq(ring_node_count(s->ring), 3);
    const Cleo__Cluster__Bucket *b = gw__snap_bucket(s, "beta");
    cr_assert_not_null(b);
    cr_assert_str_eq(b->owner, "ann");
    cr_assert_not_null(gw__snap_bucket(s, "alpha"));
    cr_assert_not_null(gw__snap_bucket(s, "gamma"));
    cr_assert_null(gw__snap_bucket(s, "delta"));
    cr_assert_null(gw__snap_bucket(s, "aaa"));
    cr_assert_null(gw__snap_member(s, "n1@h")); /* no members given */
    gw__snap_release(s);
    gw_view_free(v);
}

Test(gw_view, a_state_without_ring_or_conf_has_no_ring_and_n_1)
{
    gw_view_t *v = gw_view_new();
    st_spec_t sp = {.names = {"a1b"}, .applied = 3};
    cr_assert_eq(publish(v, &sp), 0);
    gw_snap_t *s = gw__view_get(v);
    cr_assert_null(s->ring);
    cr_assert_eq(s->n, 1);
    gw__snap_release(s);
    gw_view_free(v);
}

Test(gw_view, a_held_snapshot_outlives_newer_ones)
{
    gw_view_t *v = gw_view_new();
    st_spec_t a = {
        .names = {"old"}, .nodes = {"n1@h"}, .ring_version = 1, .applied = 1};
    st_spec_t b = {
        .names = {"new"}, .nodes = {"n2@h"}, .ring_version = 2, .applied = 2};
    cr_assert_eq(publish(v, &a), 0);
    gw_snap_t *held = gw__view_get(v);
    cr_assert_eq(publish(v, &b), 0);
    cr_assert_eq(publish(v, &b), 0);
    gw_snap_t *cur = gw__view_get(v);
    cr_assert_eq(cur->applied, 2);
    /* the held one still reads as it was (ASan: no use after free) */
    cr_assert_not_null(gw__snap_bucket(held, "old"));
    cr_assert_null(gw__snap_bucket(held, "new"));
    ring_entry_t e;
    cr_assert_eq(ring_node(held->ring, 0, &e), 0);
    cr_assert_str_eq(e.node, "n1@h");
    gw__snap_release(held);
    gw__snap_release(cur);
    gw_view_free(v);
}

Test(gw_view, snapshots_of_one_ring_version_share_it)
{
    gw_view_t *v = gw_view_new();
    st_spec_t a = {.names = {"b1x"},
                   .nodes = {"n1@h", "n2@h"},
                   .ring_version = 5,
                   .applied = 1};
    cr_assert_eq(publish(v, &a), 0);
    gw_snap_t *s1 = gw__view_get(v);
    a.applied = 2, a.names[0] = "b2x"; /* a bucket change only */
    cr_assert_eq(publish(v, &a), 0);
    gw_snap_t *s2 = gw__view_get(v);
    cr_assert_eq(s1->ring, s2->ring);
    gw__snap_release(s1); /* the RING stays for s2 */
    a.applied = 3, a.ring_version = 6, a.nodes[2] = "n3@h";
    cr_assert_eq(publish(v, &a), 0);
    gw_snap_t *s3 = gw__view_get(v);
    cr_assert_neq(s3->ring, s2->ring);
    cr_assert_eq(ring_node_count(s3->ring), 3);
    cr_assert_eq(ring_node_count(s2->ring), 2);
    gw__snap_release(s2);
    gw__snap_release(s3);
    gw_view_free(v);
}

Test(gw_view, bad_bytes_or_a_bad_ring_change_nothing)
{
    gw_view_t *v = gw_view_new();
    st_spec_t a = {.names = {"keep"}, .applied = 9};
    cr_assert_eq(publish(v, &a), 0);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x0f, 0x12};
    cr_assert_eq(gw__view_publish(v, junk, sizeof junk), CLEO_EPROTO);
    /* a RING whose checksum does not match its entries */
    Cleo__Cluster__RingEntry e = CLEO__CLUSTER__RING_ENTRY__INIT, *ep = &e;
    e.node = "n1@h", e.vnodes = 8;
    Cleo__Cluster__Ring r = CLEO__CLUSTER__RING__INIT;
    r.version = 1, r.checksum = 12345, r.n_entries = 1, r.entries = &ep;
    Cleo__Cluster__ClusterState st = CLEO__CLUSTER__CLUSTER_STATE__INIT;
    st.applied_index = 10, st.ring_cur = &r;
    uint8_t buf[256];
    size_t len = cleo__cluster__cluster_state__pack(&st, buf);
    cr_assert_eq(gw__view_publish(v, buf, len), CLEO_EPROTO);
    gw_snap_t *s = gw__view_get(v);
    cr_assert_eq(s->applied, 9);
    cr_assert_not_null(gw__snap_bucket(s, "keep"));
    gw__snap_release(s);
    gw_view_free(v);
}

static gw_view_t *T_shared;
static pthread_mutex_t T_lock = PTHREAD_MUTEX_INITIALIZER;
static bool T_stop;

static bool stopped(void)
{
    pthread_mutex_lock(&T_lock);
    bool s = T_stop;
    pthread_mutex_unlock(&T_lock);
    return s;
}

/* Reads until stopped. @return the number of bad reads (no Criterion
 * assertion off the test's own thread). */
static void *reader(void *arg)
{
    unsigned long *reads = arg, bad = 0;
    while (!stopped()) {
        gw_snap_t *s = gw__view_get(T_shared);
        if (s != NULL) {
            /* every state has bucket "b" and a one-node RING */
            const char *node;
            size_t n;
            if (gw__snap_bucket(s, "b") == NULL ||
                ring_replicas(s->ring, "b", "k", 1, &node, &n) != 0 || n != 1)
                bad++;
            (*reads)++;
        }
        gw__snap_release(s);
    }
    return (void *)bad;
}

Test(gw_view, readers_in_threads_beside_a_publisher)
{
    T_shared = gw_view_new();
    T_stop = false;
    pthread_t t[4];
    unsigned long reads[4] = {0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, reader, &reads[i]), 0);
    for (uint64_t i = 1; i <= 300; i++) {
        st_spec_t sp = {.names = {"b"},
                        .nodes = {i % 2 ? "n1@h" : "n2@h"},
                        .ring_version = 1 + i / 10,
                        .applied = i};
        cr_assert_eq(publish(T_shared, &sp), 0);
    }
    pthread_mutex_lock(&T_lock);
    T_stop = true;
    pthread_mutex_unlock(&T_lock);
    unsigned long total = 0;
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        cr_assert_eq((unsigned long)bad, 0, "reader %d read a bad state", i);
        total += reads[i];
    }
    cr_assert_gt(total, 0);
    gw_view_free(T_shared);
}

/* ---- the actor, against a fake agent ------------------------------------ */

#define FAKE_PUSH 0x7A7A0001u /* test -> fake agent: a packed state */

typedef struct {
    rt_pid_t sub; /* the subscriber */
} fake_t;

static int fake_handle(rt_actor_t *self, rt_msg_t *m)
{
    fake_t *f = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (m->type == CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE) {
        f->sub = m->from;
        (void)rt_reply(
            rt, rt_msg_caller(m),
            rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE));
    } else if (m->type == FAKE_PUSH && f->sub != 0) {
        Cleo__Cluster__RaftState *rs = malloc(sizeof *rs);
        cleo__cluster__raft_state__init(rs);
        rt_msg_t *st = rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_STATE);
        rt_msg_set_body(st, rs, m->payload);
        m->payload = NULL; /* the buffer's reference moved on */
        (void)rt_send(rt, f->sub, st);
    }
    return 0;
}

static int fake_init(rt_actor_t *self, void *arg)
{
    (void)arg;
    rt_set_state(self, calloc(1, sizeof(fake_t)));
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

static rt_t *A_rt;
static gw_conf_t A_conf;
static rt_pid_t A_sup;

static rt_pid_t fake_start(void)
{
    rt_spawn_opts_t o = {.name = MGR_AGENT_NAME, .sched = RT_SCHED_ANY};
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(A_rt, NULL, &fake_beh, NULL, &o, &pid), 0);
    return pid;
}

static const sup_child_spec_t view_kids[] = {
    {"gw_view", gw_view_start, &A_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t view_sup = {{SUP_ONE_FOR_ONE, 5, 5000}, view_kids, 1};

static void actor_setup(void)
{
    gw_conf_init(&A_conf);
    A_conf.view = gw_view_new();
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &A_rt), 0);
    cr_assert_eq(sup_start(A_rt, NULL, "gateway_sup", &view_sup, &A_sup), 0);
    cr_assert_neq(rt_whereis(A_rt, GW_VIEW_NAME), RT_PID_NONE);
}

static void actor_teardown(void)
{
    cr_assert_eq(rt_shutdown(A_rt), 0);
    rt_free(A_rt);
    gw_view_free(A_conf.view);
}

/* Push sp through the fake agent until the view shows its applied index
 * (the first pushes may come before the view has subscribed). */
static bool push_until_seen(const st_spec_t *sp, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        size_t len;
        uint8_t *p = state_pack(sp, &len);
        rt_buf_t *b;
        cr_assert_eq(rt_buf_new(len, &b), 0);
        memcpy(rt_buf_data(b), p, len);
        cr_assert_eq(rt_buf_set_len(b, len), 0);
        free(p);
        rt_msg_t *m = rt_msg_new(FAKE_PUSH);
        rt_msg_set_buf(m, b);
        (void)rt_send_name(A_rt, MGR_AGENT_NAME, m);
        usleep(20000);
        gw_snap_t *s = gw__view_get(A_conf.view);
        bool seen = s != NULL && s->applied == sp->applied;
        gw__snap_release(s);
        if (seen)
            return true;
    }
    return false;
}

TestSuite(gw_view_actor, .init = actor_setup, .fini = actor_teardown,
          .timeout = 60);

Test(gw_view_actor, finds_an_agent_that_starts_later_and_publishes_its_state)
{
    usleep(300000); /* the view looks for the agent meanwhile */
    fake_start();
    st_spec_t sp = {.names = {"one"},
                    .nodes = {"n1@h"},
                    .ring_version = 1,
                    .n = 1,
                    .applied = 5};
    cr_assert(push_until_seen(&sp, 3000));
    gw_snap_t *s = gw__view_get(A_conf.view);
    cr_assert_not_null(gw__snap_bucket(s, "one"));
    cr_assert_not_null(s->ring);
    gw__snap_release(s);
}

Test(gw_view_actor, subscribes_again_when_the_agent_restarts)
{
    rt_pid_t a = fake_start();
    st_spec_t sp = {.names = {"one"}, .applied = 5};
    cr_assert(push_until_seen(&sp, 3000));
    cr_assert_eq(rt_exit(A_rt, a, RT_REASON_KILL), 0);
    while (rt_whereis(A_rt, MGR_AGENT_NAME) == a)
        usleep(1000);
    fake_start(); /* a new agent, with no subscriber yet */
    sp.applied = 6, sp.names[0] = "two";
    cr_assert(push_until_seen(&sp, 3000), "no state after the restart");
}

typedef struct {
    const char *bucket;
    bool exists;
    int status;
} wait_t;

static void *waiter(void *arg)
{
    wait_t *w = arg;
    rt_msg_t *m = s3pb_bucket(GW_MSG_VIEW_WAIT, w->bucket, NULL), *reply;
    m->arg = w->exists;
    w->status =
        rt_call_sync(A_rt, rt_whereis(A_rt, GW_VIEW_NAME), m, 5000, &reply);
    if (w->status == 0) {
        w->status = reply->reason;
        rt_msg_free(reply);
    }
    return NULL;
}

Test(gw_view_actor, a_wait_is_answered_once_the_view_shows_the_change)
{
    fake_start();
    st_spec_t sp = {.names = {"old"}, .applied = 1};
    cr_assert(push_until_seen(&sp, 3000));
    wait_t in = {"new", true, 1}, gone = {"old", false, 1},
           now = {"old", true, 1};
    waiter(&now); /* already true: answered at once */
    cr_assert_eq(now.status, 0);
    pthread_t t1, t2;
    cr_assert_eq(pthread_create(&t1, NULL, waiter, &in), 0);
    cr_assert_eq(pthread_create(&t2, NULL, waiter, &gone), 0);
    usleep(200000); /* both wait */
    sp.applied = 2, sp.names[0] = "new";
    cr_assert(push_until_seen(&sp, 3000));
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cr_assert_eq(in.status, 0);
    cr_assert_eq(gone.status, 0);
}
