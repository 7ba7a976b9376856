/*
 * raft_cluster.c - the managers' Raft clusters of test_raft_bridge.c and
 * test_raft_node.c, which include this file (it is no test of its own):
 * up to four runtimes in the process, each with distribution on a free
 * loopback port (all of them knowing each other) and, for r1..r4, a Raft
 * actor over its own directory under a temporary one; the calls the
 * tests make (STATUS, READ, PROPOSE) from the test's thread; waiting for
 * a leader and for the copies to agree.
 *
 * Election timeouts are short (ELECTION_MS) so that a file runs in
 * seconds; Criterion forks one process per test.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "manager/raft.h"
#include "proto/cluster.pb-c.h"
#include "proto/types.h"

#define NODES_MAX 4
#define ELECTION_MS 250u
#define CALL_MS 5000u
#define WAIT_MS 8000u /* what a convergence may take at most */

typedef struct {
    rt_t *rt;
    char name[64];
    char dir[160];
    uint16_t port;
} tnode_t;

static tnode_t T[NODES_MAX];
static char T_base[64];
static const char *const T_managers[] = {"r1@127.0.0.1", "r2@127.0.0.1",
                                         "r3@127.0.0.1"};
static const char T_cookie[] = "raft-bridge-test";
static uint32_t T_threshold = 16;

/* ---- time ---------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- nodes ------------------------------------------------------------ */

/* Distribution on a free loopback port; every node up knows every other. */
static void dist_up(int i, const char *name)
{
    rt_opts_t ro = {.schedulers = 2};
    cr_assert_eq(rt_new(&ro, &T[i].rt), 0);
    snprintf(T[i].name, sizeof T[i].name, "%s", name);
    rt_dist_opts_t d = {.name = name,
                        .cookie = T_cookie,
                        .cookie_len = strlen(T_cookie),
                        .net_ticktime_ms = 4000};
    cr_assert_eq(rt_dist_start(T[i].rt, &d), 0);
    T[i].port = rt_dist_port(T[i].rt);
    for (int j = 0; j < NODES_MAX; j++) {
        if (j == i || T[j].rt == NULL)
            continue;
        char peer[96];
        uint16_t idx;
        snprintf(peer, sizeof peer, "%s:%u", T[j].name, T[j].port);
        cr_assert_eq(rt_dist_node(T[i].rt, peer, &idx), 0);
        snprintf(peer, sizeof peer, "%s:%u", T[i].name, T[i].port);
        cr_assert_eq(rt_dist_node(T[j].rt, peer, &idx), 0);
    }
}

/* Node i (r<i+1>) with its Raft; managers = the first three. */
static void node_up(int i)
{
    char name[64];
    snprintf(name, sizeof name, "r%d@127.0.0.1", i + 1);
    dist_up(i, name);
    snprintf(T[i].dir, sizeof T[i].dir, "%s/r%d", T_base, i + 1);
    mgr__raft_opts_t o = {.node = T[i].name,
                          .managers = T_managers,
                          .n_managers = 3,
                          .dir = T[i].dir,
                          .election_timeout_ms = ELECTION_MS,
                          .heartbeat_timeout_ms = 25,
                          .snapshot_threshold = T_threshold,
                          .snapshot_trailing = T_threshold / 2,
                          .forward_timeout_ms = CALL_MS};
    rt_pid_t pid;
    int rc = mgr__raft_start(T[i].rt, NULL, &o, &pid);
    cr_assert_eq(rc, 0, "mgr__raft_start: %s", cleo_err_name(rc));
    cr_assert_eq(rt_whereis(T[i].rt, MGR_RAFT_NAME), pid);
    cr_assert_neq(rt_whereis(T[i].rt, MGR_RAFT_BRIDGE_NAME), RT_PID_NONE);
}

static void node_down(int i)
{
    rt_free(T[i].rt);
    T[i].rt = NULL;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* as cmd/cleo does */
    memset(T, 0, sizeof T);
    snprintf(T_base, sizeof T_base, "/tmp/cleo-raft-XXXXXX");
    cr_assert_not_null(mkdtemp(T_base));
}

static void teardown(void)
{
    for (int i = 0; i < NODES_MAX; i++)
        if (T[i].rt != NULL)
            node_down(i);
    nftw(T_base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void three_up(void)
{
    setup();
    for (int i = 0; i < 3; i++)
        node_up(i);
}

/* ---- calls -------------------------------------------------------------- */

static int call(int i, uint32_t type, void *pb, rt_msg_t **reply)
{
    rt_msg_t *m = rt_msg_new(type);
    if (pb != NULL)
        rt_msg_set_pb(m, pb);
    return rt_call_sync(T[i].rt, rt_whereis(T[i].rt, MGR_RAFT_NAME), m, CALL_MS,
                        reply);
}

typedef struct {
    int state;
    char leader[64];
    uint64_t term, applied;
    size_t voters, servers;
} status_t;

static status_t status_of(int i)
{
    rt_msg_t *r;
    status_t s = {0};
    cr_assert_eq(call(i, MGR_RAFT_MSG_STATUS, NULL, &r), 0);
    Cleo__Cluster__RaftStatus *st = r->payload;
    cr_assert_eq(st->base.descriptor, &cleo__cluster__raft_status__descriptor);
    cr_assert_str_eq(st->node, T[i].name);
    s.state = st->state;
    snprintf(s.leader, sizeof s.leader, "%s", st->leader);
    s.term = st->term;
    s.applied = st->applied_index;
    s.servers = st->n_servers;
    for (size_t k = 0; k < st->n_servers; k++)
        s.voters +=
            st->servers[k]->role == CLEO__CLUSTER__RAFT_ROLE__RAFT_ROLE_VOTER;
    rt_msg_free(r);
    return s;
}

/* The node every live node (in mask) calls leader, the leader itself
 * included; -1 if none within ms. */
static int wait_leader(unsigned mask, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    do {
        for (int i = 0; i < NODES_MAX; i++) {
            if (!(mask & (1u << i)) ||
                status_of(i).state !=
                    CLEO__CLUSTER__RAFT_NODE_STATE__RAFT_NODE_LEADER)
                continue;
            bool all = true;
            for (int j = 0; j < NODES_MAX; j++)
                if ((mask & (1u << j)) &&
                    strcmp(status_of(j).leader, T[i].name) != 0)
                    all = false;
            if (all)
                return i;
        }
        sleep_ms(10);
    } while (now_ms() < end);
    return -1;
}

/* A command that attaches storage node s<k> (rack r, "" for none). */
static Cleo__Cluster__Command *attach_cmd(int k, const char *rack,
                                          size_t addr_len)
{
    Cleo__Cluster__Command *c = malloc(sizeof *c);
    cleo__cluster__command__init(c);
    Cleo__Cluster__MemberAttach *a = malloc(sizeof *a);
    cleo__cluster__member_attach__init(a);
    Cleo__Cluster__Member *m = malloc(sizeof *m);
    cleo__cluster__member__init(m);
    char node[64];
    snprintf(node, sizeof node, "s%d@10.0.0.1", k);
    m->node = strdup(node);
    char *addr = malloc(addr_len + 16);
    int n = snprintf(addr, addr_len + 16, "10.0.0.1:%d", 1000 + k);
    while ((size_t)n < addr_len)
        addr[n] = (char)('a' + n % 26), n++; /* a long address */
    addr[n] = '\0';
    m->address = addr;
    m->rack = strdup(rack);
    m->roles = CLEO__CLUSTER__ROLE__ROLE_STORAGE;
    m->vnodes = 8;
    a->member = m;
    c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_ATTACH;
    c->member_attach = a;
    return c;
}

/* PROPOSE through node i: the status (detail copied to detail). Asserts
 * nothing, so that proposer threads may use it: a reply that is not a
 * CommandResult whose status is the reply's is CLEO_EPROTO. */
static int propose(int i, Cleo__Cluster__Command *cmd, char *detail, size_t len)
{
    rt_msg_t *r;
    int rc = call(i, MGR_RAFT_MSG_PROPOSE, cmd, &r);
    if (rc < 0)
        return rc;
    Cleo__Cluster__CommandResult *res = r->payload;
    if (res == NULL ||
        res->base.descriptor != &cleo__cluster__command_result__descriptor ||
        res->status != r->reason) {
        rt_msg_free(r);
        return CLEO_EPROTO;
    }
    rc = res->status;
    if (detail != NULL)
        snprintf(detail, len, "%s", res->detail);
    rt_msg_free(r);
    return rc;
}

/* Node i's copy: its packed ClusterState (malloc'd) and RaftState. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    bool has_leader;
    uint64_t applied;
} copy_t;

static copy_t read_copy(int i)
{
    rt_msg_t *r;
    cr_assert_eq(call(i, MGR_RAFT_MSG_READ, NULL, &r), 0);
    cr_assert_eq(r->reason, 0);
    rt_body_t *b = rt_msg_body(r);
    cr_assert_not_null(b);
    Cleo__Cluster__RaftState *s = b->pb;
    cr_assert_str_eq(s->node, T[i].name);
    copy_t c = {.len = rt_buf_len(b->buf),
                .has_leader = s->has_leader,
                .applied = s->applied_index};
    c.bytes = malloc(c.len + 1);
    memcpy(c.bytes, rt_buf_data(b->buf), c.len);
    rt_msg_free(r);
    return c;
}

static Cleo__Cluster__ClusterState *unpack_copy(const copy_t *c)
{
    Cleo__Cluster__ClusterState *st =
        cleo__cluster__cluster_state__unpack(NULL, c->len, c->bytes);
    cr_assert_not_null(st);
    return st;
}

/* Wait until every node in mask holds the same state with at least
 * `members` members; returns that count. */
static size_t wait_same(unsigned mask, size_t members)
{
    uint64_t end = now_ms() + WAIT_MS;
    for (;;) {
        copy_t c[NODES_MAX] = {0};
        int first = -1;
        bool same = true;
        for (int i = 0; i < NODES_MAX; i++) {
            if (!(mask & (1u << i)))
                continue;
            c[i] = read_copy(i);
            if (first < 0)
                first = i;
            else if (c[i].len != c[first].len ||
                     memcmp(c[i].bytes, c[first].bytes, c[i].len) != 0)
                same = false;
        }
        Cleo__Cluster__ClusterState *st = unpack_copy(&c[first]);
        size_t n = st->n_members;
        cleo__cluster__cluster_state__free_unpacked(st, NULL);
        for (int i = 0; i < NODES_MAX; i++)
            free(c[i].bytes);
        if (same && n >= members)
            return n;
        if (now_ms() >= end)
            for (int i = 0; i < NODES_MAX; i++) {
                if (!(mask & (1u << i)))
                    continue;
                status_t ss = status_of(i);
                copy_t cc = read_copy(i);
                cr_log_error("%s: state %d leader '%s' term %llu applied "
                             "%llu, copy %zu bytes",
                             T[i].name, ss.state, ss.leader,
                             (unsigned long long)ss.term,
                             (unsigned long long)ss.applied, cc.len);
                free(cc.bytes);
            }
        cr_assert_lt(now_ms(), end, "the copies did not converge");
        sleep_ms(20);
    }
}

#define ALL3 0x7u
