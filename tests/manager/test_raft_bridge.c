/*
 * test_raft_bridge.c - the managers' Raft over distribution, through
 * the bridges (manager/raft_bridge.c, raft_transport.c, with raft.c,
 * raft_node.c and raft_ops.c): three runtimes in this process, each with
 * distribution on loopback and a Raft actor over its own directory,
 * elect a leader; proposals made through any of them (the followers
 * forward) apply everywhere in one order; a stopped leader is followed by
 * a new one within a few election timeouts and proposals go on; a node
 * restarted from its directory catches up (by a snapshot bigger than a
 * chunk); dropped connections corrupt nothing; with two of three down,
 * PROPOSE fails fast and READ still answers from the local copy. A fake
 * peer bridge checks the bridge itself: an OPEN naming another node than
 * the caller's is refused; a chunk gap, or bytes raft refuses, close the
 * stream; chunks in order do not.
 */
#include "raft_cluster.c"

TestSuite(mgr_raft_bridge, .init = three_up, .fini = teardown, .timeout = 60);

/* ---- pushes ------------------------------------------------------------- */

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* An inbox on node i subscribed to its RAFT_STATE pushes. */
static rt_inbox_t *subscribe(int i)
{
    rt_inbox_t *ib;
    cr_assert_eq(rt_inbox_new(T[i].rt, &ib), 0);
    rt_msg_t *m = rt_msg_new(MGR_RAFT_MSG_SUBSCRIBE);
    m->from = rt_inbox_pid(ib);
    cr_assert_eq(rt_send(T[i].rt, rt_whereis(T[i].rt, MGR_RAFT_NAME), m), 0);
    return ib;
}

typedef struct {
    uint64_t index[512];
    uint64_t hash[512];
    size_t n;
} pushes_t;

/* The pushes an inbox got: applied index -> hash of the state. */
static void drain(rt_inbox_t *ib, pushes_t *p)
{
    rt_msg_t *m;
    while (rt_inbox_recv(ib, 0, &m) == 0) {
        rt_body_t *b = rt_msg_body(m);
        if (m->type == MGR_RAFT_MSG_STATE && b != NULL && p->n < 512) {
            Cleo__Cluster__RaftState *s = b->pb;
            p->index[p->n] = s->applied_index;
            p->hash[p->n++] =
                fnv((const uint8_t *)rt_buf_data(b->buf), rt_buf_len(b->buf));
        }
        rt_msg_free(m);
    }
}

/* ---- proposers ---------------------------------------------------------- */

typedef struct {
    int node;  /* proposes through this node */
    int first; /* its members are s<first> ... */
    int count;
    int ok; /* proposals answered 0 */
    int statuses[256];
    uint64_t until_ms; /* keep_proposing: stop at this time */
} job_t;

/* Each round attaches a member of its own and re-attaches s0 with a rack
 * naming this round: s0's final rack depends on the order of all. */
static void *proposer(void *arg)
{
    job_t *j = arg;
    for (int k = 0; k < j->count; k++) {
        char rack[32];
        snprintf(rack, sizeof rack, "n%d-%d", j->node, k);
        j->ok += propose(j->node, attach_cmd(0, rack, 0), NULL, 0) == 0;
        j->statuses[k] =
            propose(j->node, attach_cmd(j->first + k, "", 0), NULL, 0);
        j->ok += j->statuses[k] == 0;
    }
    return NULL;
}

Test(mgr_raft_bridge, proposals_through_any_node_apply_everywhere_in_one_order)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0, "no leader");
    rt_inbox_t *ib[3];
    for (int i = 0; i < 3; i++)
        ib[i] = subscribe(i);
    pthread_t th[3];
    job_t jobs[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job_t){.node = i, .first = 1 + 10 * i, .count = 10};
        pthread_create(&th[i], NULL, proposer, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(jobs[i].ok, 20, "node %d: %d of 20 applied", i,
                     jobs[i].ok); /* two of them through followers */
    }
    cr_assert_eq(wait_same(ALL3, 31), 31);
    /* Wherever two managers pushed the same applied index, their states
     * there are the same: one order of commands everywhere. */
    sleep_ms(100);
    pushes_t p[3] = {0};
    size_t common = 0;
    for (int i = 0; i < 3; i++)
        drain(ib[i], &p[i]);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            for (size_t a = 0; a < p[i].n; a++)
                for (size_t b = 0; b < p[j].n; b++)
                    if (p[i].index[a] == p[j].index[b]) {
                        cr_assert_eq(p[i].hash[a], p[j].hash[b],
                                     "index %llu differs",
                                     (unsigned long long)p[i].index[a]);
                        common++;
                    }
    cr_assert_gt(common, 0);
    for (int i = 0; i < 3; i++)
        rt_inbox_free(ib[i]);
}

Test(mgr_raft_bridge, a_stopped_leader_is_followed_and_proposals_go_on)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    cr_assert_eq(propose(l, attach_cmd(1, "", 0), NULL, 0), 0);
    uint64_t t0 = now_ms();
    node_down(l);
    unsigned mask = ALL3 & ~(1u << l);
    int nl = wait_leader(mask, 20 * ELECTION_MS);
    uint64_t took = now_ms() - t0;
    cr_assert_geq(nl, 0, "no new leader");
    cr_log_info("new leader after %llu ms (election timeout %u ms)",
                (unsigned long long)took, ELECTION_MS);
    cr_assert_leq(took, 4 * ELECTION_MS, "new leader after %llu ms",
                  (unsigned long long)took);
    int f = 3 - l - nl; /* the survivor that follows */
    cr_assert_eq(propose(f, attach_cmd(2, "", 0), NULL, 0), 0);
    cr_assert_eq(propose(nl, attach_cmd(3, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(mask, 3), 3);
}

Test(mgr_raft_bridge, a_restarted_node_rejoins_from_its_directory)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    int f = (l + 1) % 3;
    cr_assert_eq(propose(f, attach_cmd(1, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 1), 1);
    node_down(f);
    /* Far past the snapshot threshold, and a state bigger than a 64 KiB
     * chunk: f catches up by an InstallSnapshot sent in pieces. */
    for (int k = 2; k < 302; k++)
        cr_assert_eq(propose(l, attach_cmd(k, "", 220), NULL, 0), 0);
    node_up(f); /* the same directory: no bootstrap this time */
    cr_assert_eq(wait_same(ALL3, 301), 301);
    copy_t c = read_copy(f);
    cr_assert_gt(c.len, 65536u);
    cr_assert(c.has_leader);
    free(c.bytes);
    status_t s = status_of(f);
    cr_assert_eq(s.state, CLEO__CLUSTER__RAFT_NODE_STATE__RAFT_NODE_FOLLOWER);
    cr_assert_str_eq(s.leader, T[l].name);
    cr_assert_eq(s.voters, 3);
}

/* ---- connections dropped mid-stream ----------------------------------- */

static void *keep_proposing(void *arg)
{
    job_t *j = arg;
    for (j->count = 0; now_ms() < j->until_ms && j->count < 256; j->count++) {
        j->statuses[j->count] =
            propose(j->node, attach_cmd(j->first + j->count, "", 100), NULL, 0);
        j->ok += j->statuses[j->count] == 0;
    }
    return NULL;
}

static bool has_member(const Cleo__Cluster__ClusterState *st, int k)
{
    char node[64];
    snprintf(node, sizeof node, "s%d@10.0.0.1", k);
    for (size_t i = 0; i < st->n_members; i++)
        if (strcmp(st->members[i]->node, node) == 0)
            return true;
    return false;
}

Test(mgr_raft_bridge, dropped_connections_corrupt_nothing)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    job_t jobs[2] = {{.node = l, .first = 1000},
                     {.node = (l + 1) % 3, .first = 2000}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        jobs[i].until_ms = now_ms() + 6 * 150;
        pthread_create(&th[i], NULL, keep_proposing, &jobs[i]);
    }
    for (int round = 0; round < 6; round++) {
        sleep_ms(150);
        for (int i = 0; i < 3; i++) {
            uint16_t idx;
            if (i == l)
                continue;
            cr_assert_eq(rt_dist_node(T[l].rt, T[i].name, &idx), 0);
            (void)rt_dist_disconnect(T[l].rt, idx);
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_assert_gt(jobs[0].ok + jobs[1].ok, 0);
    l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0, "no leader after the drops");
    cr_assert_eq(propose(l, attach_cmd(1, "", 0), NULL, 0), 0);
    wait_same(ALL3, 1);
    /* Answered 0: applied. Answered "not applied": absent. */
    copy_t c = read_copy(l);
    Cleo__Cluster__ClusterState *st = unpack_copy(&c);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < jobs[i].count; k++) {
            int s = jobs[i].statuses[k];
            cr_assert(s == 0 || s == CLEO_ENOCONNECTION || s == CLEO_ETIMEDOUT,
                      "status %s", cleo_err_name(s));
            if (s == 0)
                cr_assert(has_member(st, jobs[i].first + k));
            if (s == CLEO_ENOCONNECTION)
                cr_assert(!has_member(st, jobs[i].first + k));
        }
    cleo__cluster__cluster_state__free_unpacked(st, NULL);
    free(c.bytes);
}

Test(mgr_raft_bridge, two_of_three_down_propose_fails_fast_and_read_answers)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    for (int k = 1; k <= 3; k++)
        cr_assert_eq(propose(l, attach_cmd(k, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 3), 3);
    int s = (l + 1) % 3;
    node_down(l);
    node_down(3 - l - s);
    /* At once, while s still names the dead leader. */
    char detail[200];
    uint64_t t0 = now_ms();
    cr_assert_eq(propose(s, attach_cmd(9, "", 0), detail, sizeof detail),
                 CLEO_ENOCONNECTION, "%s", detail);
    cr_assert_lt(now_ms() - t0, ELECTION_MS);
    /* Once it knows there is no leader. */
    uint64_t end = now_ms() + 10 * ELECTION_MS;
    while (status_of(s).leader[0] != '\0')
        cr_assert_lt(now_ms(), end, "s still names a leader");
    t0 = now_ms();
    cr_assert_eq(propose(s, attach_cmd(9, "", 0), detail, sizeof detail),
                 CLEO_ENOCONNECTION);
    cr_assert_lt(now_ms() - t0, 100);
    cr_assert_str_eq(detail, MGR_RAFT_NO_LEADER);
    copy_t c = read_copy(s);
    cr_assert(!c.has_leader);
    Cleo__Cluster__ClusterState *st = unpack_copy(&c);
    cr_assert_eq(st->n_members, 3);
    cleo__cluster__cluster_state__free_unpacked(st, NULL);
    free(c.bytes);
}

/* ---- one manager and a fake peer bridge ---------------------------------- */

TestSuite(mgr_raft_bridge_alone, .init = setup, .fini = teardown,
          .timeout = 30);

enum {
    F_OPEN = 1,     /* arg: 0 = open as ourselves, 1 = claiming to be r2 */
    F_CHUNK,        /* arg: the chunk's seq; reason 1: one byte, else a
                       message raft refuses */
    F_OPENED = 100, /* to the inbox: reason = the OPEN's status */
    F_CLOSED,       /* to the inbox: arg = the stream RAFT_CLOSE names */
};

typedef struct {
    rt_pid_t inbox;
    rt_pid_t peer;   /* r1's bridge, once opened */
    uint64_t stream; /* r1's id for the stream */
} fake_t;

static void fake_tell(rt_actor_t *self, uint32_t type, uint64_t arg, int rc)
{
    fake_t *f = rt_state(self);
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = rc;
    (void)rt_send(rt_actor_rt(self), f->inbox, m);
}

static int fake_opened(rt_actor_t *self, rt_msg_t *reply, int status,
                       void *data)
{
    fake_t *f = rt_state(self);
    (void)data;
    if (status == 0 && (status = reply->reason) == 0) {
        Cleo__Cluster__RaftOpen *o = reply->payload;
        f->peer = reply->from;
        f->stream = o->stream;
    }
    fake_tell(self, F_OPENED, 0, status);
    return 0;
}

static int fake_handle(rt_actor_t *self, rt_msg_t *m)
{
    fake_t *f = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    if (m->type == F_OPEN) {
        uint16_t r1;
        cr_assert_eq(rt_dist_node(rt, "r1@127.0.0.1", &r1), 0);
        Cleo__Cluster__RaftOpen *o = malloc(sizeof *o);
        cleo__cluster__raft_open__init(o);
        o->node = strdup(m->arg == 0 ? "x@127.0.0.1" : "r2@127.0.0.1");
        o->stream = 7;
        rt_msg_t *req = rt_msg_new(CLEO__CLUSTER__MSG_ID__RAFT_OPEN);
        rt_msg_set_pb(req, o);
        return rt_call(self, rt_dist_named(rt, r1, MGR_RAFT_BRIDGE_NAME), req,
                       2000, fake_opened, NULL);
    }
    if (m->type == F_CHUNK) {
        Cleo__Cluster__RaftChunk *c = malloc(sizeof *c);
        cleo__cluster__raft_chunk__init(c);
        c->stream = f->stream;
        c->seq = m->arg;
        /* reason 1: one byte of a preamble. Else a message raft refuses:
         * type 2^64-1 (none), an 8-byte header. */
        rt_buf_t *b;
        size_t n = m->reason == 1 ? 1 : 24;
        cr_assert_eq(rt_buf_new(n, &b), 0);
        memset(rt_buf_data(b), 0xFF, n);
        if (n == 24)
            memcpy(rt_buf_data(b) + 8, "\x08\0\0\0\0\0\0\0", 8);
        cr_assert_eq(rt_buf_set_len(b, n), 0);
        rt_msg_t *out = rt_msg_new(CLEO__CLUSTER__MSG_ID__RAFT_CHUNK);
        rt_msg_set_body(out, c, b);
        (void)rt_send(rt, f->peer, out);
        return 0;
    }
    if (m->type == CLEO__CLUSTER__MSG_ID__RAFT_CLOSE) {
        Cleo__Cluster__RaftClose *c = m->payload;
        fake_tell(self, F_CLOSED, c->stream, 0);
    }
    return 0;
}

static int fake_init(rt_actor_t *self, void *arg)
{
    fake_t *f = calloc(1, sizeof *f);
    f->inbox = *(rt_pid_t *)arg;
    rt_set_state(self, f);
    return 0;
}

static void fake_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    free(rt_state(self));
}

static const rt_behaviour_t fake_beh = {.name = "fake_bridge",
                                        .init = fake_init,
                                        .handle = fake_handle,
                                        .destroy = fake_destroy};

static rt_inbox_t *F_ib;
static rt_pid_t F_fake;

/* r1 (a manager alone) and x, a node with a fake bridge. */
static void fake_up(void)
{
    node_up(0);
    dist_up(3, "x@127.0.0.1");
    for (size_t i = 0; cleo_proto_cluster_types[i] != NULL; i++)
        cr_assert_eq(rt_dist_register_pb(T[3].rt, cleo_proto_cluster_types[i]),
                     0);
    cr_assert_eq(rt_inbox_new(T[3].rt, &F_ib), 0);
    rt_pid_t ibp = rt_inbox_pid(F_ib);
    cr_assert_eq(rt_spawn(T[3].rt, NULL, &fake_beh, &ibp, NULL, &F_fake), 0);
}

static void fake_cmd(uint32_t type, uint64_t arg, int reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    cr_assert_eq(rt_send(T[3].rt, F_fake, m), 0);
}

/* The next inbox message: its type must be type; returns arg, reason. */
static void fake_expect(uint32_t type, uint64_t *arg, int *reason)
{
    rt_msg_t *m;
    int rc = rt_inbox_recv(F_ib, 3000, &m);
    cr_assert_eq(rc, 0, "nothing came: %s", cleo_err_name(rc));
    cr_assert_eq(m->type, type, "got type %u", m->type);
    if (arg != NULL)
        *arg = m->arg;
    if (reason != NULL)
        *reason = m->reason;
    rt_msg_free(m);
}

static void fake_open(void)
{
    int rc;
    fake_cmd(F_OPEN, 0, 0);
    fake_expect(F_OPENED, NULL, &rc);
    cr_assert_eq(rc, 0, "%s", cleo_err_name(rc));
}

static void fake_down(void)
{
    rt_inbox_free(F_ib);
}

Test(mgr_raft_bridge_alone, open_naming_another_node_is_refused)
{
    fake_up();
    int rc;
    fake_cmd(F_OPEN, 1, 0);
    fake_expect(F_OPENED, NULL, &rc);
    cr_assert_eq(rc, CLEO_EINVAL);
    fake_down();
}

Test(mgr_raft_bridge_alone, a_stream_in_order_stays_open)
{
    fake_up();
    fake_open();
    fake_cmd(F_CHUNK, 0, 1); /* one byte of a preamble: raft waits */
    rt_msg_t *m;
    cr_assert_eq(rt_inbox_recv(F_ib, 300, &m), CLEO_ETIMEDOUT);
    fake_down();
}

Test(mgr_raft_bridge_alone, a_gap_in_a_stream_closes_it)
{
    fake_up();
    fake_open();
    fake_cmd(F_CHUNK, 1, 1); /* seq 1 first: chunk 0 was lost */
    uint64_t stream;
    fake_expect(F_CLOSED, &stream, NULL);
    cr_assert_eq(stream, 7);
    fake_down();
}

Test(mgr_raft_bridge_alone, bytes_raft_refuses_close_the_stream)
{
    fake_up();
    fake_open();
    fake_cmd(F_CHUNK, 0, 0); /* a preamble raft cannot take */
    uint64_t stream;
    fake_expect(F_CLOSED, &stream, NULL);
    cr_assert_eq(stream, 7);
    fake_down();
}
