/*
 * test_raft_node.c - the managers' Raft actor and thread (manager/raft.c,
 * raft_node.c, raft_ops.c) as other actors use them: a refused command
 * answers its refusal, a request without its record is a bad one; a
 * manager joins (MEMBER_ADD, through a follower) and leaves
 * (MEMBER_REMOVE) the Raft configuration, and the refusals of both; bad
 * start options, an unusable directory, a second start; one manager alone
 * without distribution leads itself. Subscribers get the state after
 * each batch of applies, until they unsubscribe or die. A proposal whose
 * leader steps down before it commits answers its result once its index
 * is applied after all, or "outcome unknown" if it cannot be told; a
 * killed Raft actor starts again at once.
 */
#include "raft_cluster.c"

TestSuite(mgr_raft_node, .init = three_up, .fini = teardown, .timeout = 60);

Test(mgr_raft_node, a_refused_command_answers_its_refusal_everywhere_alike)
{
    cr_assert_geq(wait_leader(ALL3, WAIT_MS), 0);
    Cleo__Cluster__Command *c = malloc(sizeof *c);
    cleo__cluster__command__init(c);
    Cleo__Cluster__MemberSetState *ss = malloc(sizeof *ss);
    cleo__cluster__member_set_state__init(ss);
    ss->node = strdup("nobody@10.0.0.9");
    ss->state = CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_SUSPENDED;
    c->op_case = CLEO__CLUSTER__COMMAND__OP_MEMBER_SET_STATE;
    c->member_set_state = ss;
    char detail[200];
    cr_assert_eq(propose(1, c, detail, sizeof detail), CLEO_ENOTFOUND);
    cr_assert_neq(detail[0], '\0');
    /* PROPOSE without a Command is a bad request. */
    rt_msg_t *r;
    cr_assert_eq(call(2, MGR_RAFT_MSG_PROPOSE, NULL, &r), 0);
    cr_assert_eq(r->reason, CLEO_EBADREQ);
    rt_msg_free(r);
    cr_assert_eq(propose(0, attach_cmd(1, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 1), 1);
}

/* ---- membership ---------------------------------------------------- */

static int member(int i, uint32_t type, const char *node, char *detail,
                  size_t len)
{
    Cleo__Cluster__RaftMember *mb = malloc(sizeof *mb);
    cleo__cluster__raft_member__init(mb);
    mb->node = strdup(node);
    rt_msg_t *r;
    cr_assert_eq(call(i, type, mb, &r), 0);
    Cleo__Cluster__CommandResult *res = r->payload;
    cr_assert_not_null(res);
    int rc = res->status;
    snprintf(detail, len, "%s", res->detail);
    rt_msg_free(r);
    return rc;
}

Test(mgr_raft_node, a_manager_is_added_and_removed)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    int f = (l + 1) % 3;
    cr_assert_eq(propose(l, attach_cmd(1, "", 0), NULL, 0), 0);
    node_up(3); /* r4: not in the managers' list, so it waits */
    cr_assert_eq(status_of(3).servers, 0);
    char d[200];
    cr_assert_eq(
        member(f, MGR_RAFT_MSG_MEMBER_ADD, "r4@127.0.0.1", d, sizeof d), 0,
        "%s", d);
    cr_assert_eq(status_of(l).voters, 4);
    cr_assert_eq(wait_same(0xFu, 1), 1);
    cr_assert_geq(wait_leader(0xFu, WAIT_MS), 0);
    cr_assert_eq(propose(3, attach_cmd(2, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(0xFu, 2), 2);
    cr_assert_eq(
        member(l, MGR_RAFT_MSG_MEMBER_ADD, "r4@127.0.0.1", d, sizeof d),
        CLEO_EEXIST);
    cr_assert_eq(
        member(f, MGR_RAFT_MSG_MEMBER_REMOVE, "r4@127.0.0.1", d, sizeof d), 0,
        "%s", d);
    cr_assert_eq(status_of(l).voters, 3);
    cr_assert_eq(
        member(l, MGR_RAFT_MSG_MEMBER_REMOVE, "r9@127.0.0.1", d, sizeof d),
        CLEO_ENOTFOUND);
    cr_assert_eq(propose(f, attach_cmd(3, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 3), 3);
}

/* ---- subscribers ---------------------------------------------------- */

/* The members of the next RAFT_STATE push in ib; -1 if none within ms. */
static int next_push(rt_inbox_t *ib, uint32_t ms)
{
    rt_msg_t *m;
    if (rt_inbox_recv(ib, ms, &m) < 0)
        return -1;
    cr_assert_eq(m->type, MGR_RAFT_MSG_STATE);
    rt_body_t *b = rt_msg_body(m);
    cr_assert_not_null(b);
    copy_t c = {.bytes = (uint8_t *)rt_buf_data(b->buf),
                .len = rt_buf_len(b->buf)};
    Cleo__Cluster__ClusterState *st = unpack_copy(&c);
    int n = (int)st->n_members;
    cleo__cluster__cluster_state__free_unpacked(st, NULL);
    rt_msg_free(m);
    return n;
}

static void tell(int i, rt_inbox_t *ib, uint32_t type)
{
    rt_msg_t *m = rt_msg_new(type);
    m->from = rt_inbox_pid(ib);
    cr_assert_eq(rt_send(T[i].rt, rt_whereis(T[i].rt, MGR_RAFT_NAME), m), 0);
}

Test(mgr_raft_node, subscribers_get_each_new_state_until_they_unsubscribe)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    rt_inbox_t *ib;
    cr_assert_eq(rt_inbox_new(T[1].rt, &ib), 0);
    tell(1, ib, MGR_RAFT_MSG_SUBSCRIBE);
    cr_assert_eq(next_push(ib, 2000), 0); /* the state known, at once */
    cr_assert_eq(propose(l, attach_cmd(1, "", 0), NULL, 0), 0);
    int n;
    while ((n = next_push(ib, 2000)) == 0)
        ;
    cr_assert_eq(n, 1);
    tell(1, ib, MGR_RAFT_MSG_UNSUBSCRIBE);
    while (next_push(ib, 200) >= 0)
        ;
    cr_assert_eq(propose(l, attach_cmd(2, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 2), 2);
    cr_assert_eq(next_push(ib, 300), -1);
    rt_inbox_free(ib);
    /* A subscriber by call (rt_call_sync's own inbox, gone after it) is
     * answered, then dropped when it dies. */
    rt_msg_t *r;
    cr_assert_eq(call(1, MGR_RAFT_MSG_SUBSCRIBE, NULL, &r), 0);
    cr_assert_eq(r->reason, 0);
    rt_msg_free(r);
    cr_assert_eq(propose(l, attach_cmd(3, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 3), 3);
}

/* ---- proposals whose leader lost its leadership ------------------------ */

typedef struct {
    int node, k, rc;
    char detail[200];
} late_t;

static void *propose_late(void *arg)
{
    late_t *p = arg;
    p->rc =
        propose(p->node, attach_cmd(p->k, "", 0), p->detail, sizeof p->detail);
    return NULL;
}

/* The leader l alone: a proposal to it is pending when it steps down. */
static void leader_alone(int l, late_t *p, pthread_t *th)
{
    cr_assert_eq(propose(l, attach_cmd(1, "", 0), NULL, 0), 0);
    cr_assert_eq(wait_same(ALL3, 1), 1);
    node_down((l + 1) % 3);
    node_down((l + 2) % 3);
    *p = (late_t){.node = l, .k = 2};
    pthread_create(th, NULL, propose_late, p);
    uint64_t end = now_ms() + 10 * ELECTION_MS;
    while (status_of(l).state ==
           CLEO__CLUSTER__RAFT_NODE_STATE__RAFT_NODE_LEADER)
        cr_assert_lt(now_ms(), end, "the leader alone did not step down");
}

Test(mgr_raft_node, a_lost_proposal_that_commits_later_answers_its_result)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    late_t p;
    pthread_t th;
    leader_alone(l, &p, &th);
    /* A follower back: l's log is the longer, so l leads again and its
     * entry of the earlier term commits under the new term's barrier. */
    int f = (l + 1) % 3;
    node_up(f);
    pthread_join(th, NULL);
    cr_assert_eq(p.rc, 0, "%s: %s", cleo_err_name(p.rc), p.detail);
    cr_assert_eq(wait_same((1u << l) | (1u << f), 2), 2);
}

Test(mgr_raft_node, a_lost_proposal_that_cannot_be_told_is_unknown)
{
    int l = wait_leader(ALL3, WAIT_MS);
    cr_assert_geq(l, 0);
    late_t p;
    pthread_t th;
    leader_alone(l, &p, &th);
    pthread_join(th, NULL); /* after 10 election timeouts */
    cr_assert_eq(p.rc, CLEO_ETIMEDOUT, "%s: %s", cleo_err_name(p.rc), p.detail);
    /* raft's answer, not the call's own timeout */
    cr_assert_not_null(strstr(p.detail, "outcome is unknown"), "%s", p.detail);
}

/* ---- one manager ------------------------------------------------------ */

TestSuite(mgr_raft_node_alone, .init = setup, .fini = teardown, .timeout = 30);

Test(mgr_raft_node_alone, bad_options_are_refused)
{
    rt_opts_t ro = {.schedulers = 1};
    cr_assert_eq(rt_new(&ro, &T[0].rt), 0);
    snprintf(T[0].name, sizeof T[0].name, "a@h");
    const char *dup[] = {"a@h", "a@h"};
    const char *bad[] = {"a@h", "no-at-sign"};
    char dir[200];
    snprintf(dir, sizeof dir, "%s/x", T_base);
    mgr__raft_opts_t o = {.node = "a@h", .dir = dir};
    rt_pid_t pid;
    o.node = NULL;
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), CLEO_EINVAL);
    o.node = "a@h";
    o.managers = dup, o.n_managers = 2;
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), CLEO_EINVAL);
    o.managers = bad;
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), CLEO_EINVAL);
    o.dir = "";
    o.managers = dup, o.n_managers = 1;
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), CLEO_EINVAL);
    /* A file where the directory should be. */
    FILE *fp = fopen(dir, "w");
    cr_assert_not_null(fp);
    fclose(fp);
    o.dir = dir;
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), CLEO_ESTORAGE);
    cr_assert_eq(rt_whereis(T[0].rt, MGR_RAFT_NAME), RT_PID_NONE);
    cr_assert_eq(rt_whereis(T[0].rt, MGR_RAFT_BRIDGE_NAME), RT_PID_NONE);
    /* A manager alone, without distribution: it leads itself. */
    remove(dir);
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), 0);
    cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), CLEO_EEXIST);
    uint64_t end = now_ms() + WAIT_MS;
    while (status_of(0).state !=
           CLEO__CLUSTER__RAFT_NODE_STATE__RAFT_NODE_LEADER)
        cr_assert_lt(now_ms(), end);
    cr_assert_eq(propose(0, attach_cmd(1, "", 0), NULL, 0), 0);
}

Test(mgr_raft_node_alone, a_killed_raft_actor_starts_again_at_once)
{
    rt_opts_t ro = {.schedulers = 2};
    cr_assert_eq(rt_new(&ro, &T[0].rt), 0);
    snprintf(T[0].name, sizeof T[0].name, "a@h");
    snprintf(T[0].dir, sizeof T[0].dir, "%s/a", T_base);
    const char *mgrs[] = {"a@h"};
    mgr__raft_opts_t o = {.node = "a@h",
                          .managers = mgrs,
                          .n_managers = 1,
                          .dir = T[0].dir,
                          .election_timeout_ms = ELECTION_MS};
    rt_pid_t pid;
    for (int round = 0; round < 2; round++) {
        /* Once the name is free, destroy has run: raft closed, its thread
         * joined, the bridge's name released. */
        cr_assert_eq(mgr__raft_start(T[0].rt, NULL, &o, &pid), 0);
        uint64_t end = now_ms() + WAIT_MS;
        while (status_of(0).state !=
               CLEO__CLUSTER__RAFT_NODE_STATE__RAFT_NODE_LEADER)
            cr_assert_lt(now_ms(), end);
        cr_assert_eq(propose(0, attach_cmd(round, "", 0), NULL, 0), 0);
        copy_t c = read_copy(0);
        Cleo__Cluster__ClusterState *st = unpack_copy(&c);
        cr_assert_eq(st->n_members, (size_t)round + 1);
        cleo__cluster__cluster_state__free_unpacked(st, NULL);
        free(c.bytes);
        cr_assert_eq(rt_exit(T[0].rt, pid, RT_REASON_KILL), 0);
        while (rt_whereis(T[0].rt, MGR_RAFT_NAME) != RT_PID_NONE)
            sleep_ms(1);
    }
}
