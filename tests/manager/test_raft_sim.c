/*
 * test_raft_sim.c - the managers' state machine (manager/fsm.c) under
 * libraft's deterministic fixture (raft/fixture.h): 3- and 5-server
 * clusters, over many seeds, with random valid and invalid commands
 * proposed to whoever leads, leaders killed and revived, leadership
 * transferred and deposed, and partitions (symmetric and one-way) made
 * and healed, all chosen by a seeded PRNG of our own.
 *
 * Checked on every apply: the indexes a server applies only grow; every
 * server that applies index i applies the same command bytes, gets the
 * same result and ends in the same state (hashed); a restored snapshot
 * is the state some server had after the same index. Checked at the end
 * (healed, revived, a barrier committed and applied everywhere): each
 * server's sequence of applied indexes, with restores as jumps, is a
 * prefix of the one common command sequence with nothing skipped, and
 * every server's packed state is byte-identical.
 *
 * A kill here is a pause: the fixture keeps a killed server's memory and
 * cannot restart one from its disk, so restore is exercised by snapshots
 * installed on servers that fell behind (small snapshot thresholds).
 *
 * libraft 0.15 has two commit bugs that this simulation finds; the
 * guards of manager/raft_guard.h (at the raft_io boundary) keep them out,
 * and CLEO_RAFT_SIM_UNGUARDED=1 turns the guards off to show them.
 *
 * Each size runs CLEO_RAFT_SIM_SEEDS seeds (default 1000) from
 * CLEO_RAFT_SIM_FIRST (default 0); CLEO_RAFT_SIM_SEED runs that one seed
 * only (a failure names its seed).
 */
#include <criterion/criterion.h>
#include <raft.h>
#include <raft/fixture.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/fsm.h"
#include "manager/raft_guard.h"

#define MAX_SERVERS 5
#define ST(x) CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_##x
#define ACTIONS_PER_SEED 400
#define FINAL_MS 60000 /* simulated time allowed to converge at the end */

/* The PRNG (rnd, below, chance) and the random commands (cmd_random). */
#include "raft_sim_cmds.c"

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* ---- what every server must agree on, per Raft index */

typedef struct {
    bool set;
    uint64_t cmd;   /* hash of the command bytes */
    uint64_t state; /* hash of the packed state after applying it */
    int status;     /* its result */
} canon_t;

typedef struct {
    uint64_t index; /* applied index, or the restored state's */
    bool restore;
} event_t;

typedef struct {
    unsigned i;
    mgr__fsm_t fsm;
    struct raft *raft;
    mgr__fsm_result_t last; /* what apply hands raft as the result */
    uint64_t last_index;    /* the last command index applied or restored */
    event_t *ev;
    size_t nev, capev;
} server_t;

static struct raft_fixture T_f;
static struct raft_fsm T_fsms[MAX_SERVERS];
static server_t T_s[MAX_SERVERS];
static unsigned T_n;
static uint64_t T_seed;
static canon_t *T_canon;
static size_t T_ncanon;
static bool T_cut[MAX_SERVERS][MAX_SERVERS]; /* messages i -> j dropped */

/* Totals over all seeds: each must be non-zero for the run to count. */
static struct {
    unsigned long applied, refused, restores, kills, partitions, proposals,
        lost, leaders, transfers, deposes;
} T_tot;

static uint64_t state_hash(const mgr__fsm_t *f)
{
    size_t n = mgr__fsm_packed_size(f);
    uint8_t *b = malloc(n + 1);
    mgr__fsm_pack(f, b);
    uint64_t h = fnv(b, n);
    free(b);
    return h;
}

static canon_t *canon_at(uint64_t index)
{
    if (index >= T_ncanon) {
        size_t n = T_ncanon ? T_ncanon : 256;
        while (n <= index)
            n *= 2;
        T_canon = realloc(T_canon, n * sizeof *T_canon);
        memset(T_canon + T_ncanon, 0, (n - T_ncanon) * sizeof *T_canon);
        T_ncanon = n;
    }
    return &T_canon[index];
}

static void event_add(server_t *s, uint64_t index, bool restore)
{
    if (s->nev == s->capev) {
        s->capev = s->capev ? 2 * s->capev : 256;
        s->ev = realloc(s->ev, s->capev * sizeof *s->ev);
    }
    s->ev[s->nev++] = (event_t){index, restore};
}

/* ---- the raft_fsm around mgr__fsm */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
                     void **result)
{
    server_t *s = fsm->data;
    /* libraft 0.15 does not pass the entry's index: during apply,
     * last_applied is the entry before it (replicationApply sets it after
     * each entry, barriers and configuration changes included). */
    uint64_t index = raft_last_applied(s->raft) + 1;
    cr_assert_gt(index, s->last_index,
                 "seed %llu: server %u applied %llu "
                 "after %llu",
                 (unsigned long long)T_seed, s->i, (unsigned long long)index,
                 (unsigned long long)s->last_index);
    int rc =
        mgr__fsm_apply_bytes(&s->fsm, buf->base, buf->len, index, &s->last);
    cr_assert_eq(rc, s->last.status);
    uint64_t ch = fnv(buf->base, buf->len), sh = state_hash(&s->fsm);
    canon_t *c = canon_at(index);
    if (!c->set) {
        *c = (canon_t){true, ch, sh, rc};
    } else {
        cr_assert_eq(c->cmd, ch,
                     "seed %llu: server %u applied another "
                     "command at %llu",
                     (unsigned long long)T_seed, s->i,
                     (unsigned long long)index);
        cr_assert_eq(c->status, rc, "seed %llu: index %llu",
                     (unsigned long long)T_seed, (unsigned long long)index);
        cr_assert_eq(c->state, sh, "seed %llu: server %u diverged at %llu",
                     (unsigned long long)T_seed, s->i,
                     (unsigned long long)index);
    }
    s->last_index = index;
    event_add(s, index, false);
    T_tot.applied++;
    T_tot.refused += rc < 0;
    /* The result must not be allocated: libraft drops it on followers
     * (only a leader's raft_apply callback sees it). It stays valid until
     * this server's next apply. */
    *result = &s->last;
    return 0;
}

/* Version 1 snapshot: libraft takes both the array and the buffers and
 * frees them with raft_free. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                        unsigned *n_bufs)
{
    server_t *s = fsm->data;
    size_t n = mgr__fsm_packed_size(&s->fsm);
    struct raft_buffer *b = raft_malloc(sizeof *b);
    cr_assert_not_null(b);
    b->base = raft_malloc(n + 1);
    cr_assert_not_null(b->base);
    b->len = mgr__fsm_pack(&s->fsm, b->base);
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

/* On success the FSM owns buf->base (frees it with raft_free); on failure
 * libraft frees it. */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    server_t *s = fsm->data;
    mgr__fsm_result_t r;
    if (mgr__fsm_restore(&s->fsm, buf->base, buf->len, &r) < 0) {
        cr_assert_fail("seed %llu: server %u: %s", (unsigned long long)T_seed,
                       s->i, r.detail);
        return RAFT_MALFORMED;
    }
    raft_free(buf->base);
    uint64_t at = mgr__fsm_state(&s->fsm)->applied_index;
    if (at > 0) {
        canon_t *c = canon_at(at);
        cr_assert(c->set, "seed %llu: a snapshot at %llu nobody applied",
                  (unsigned long long)T_seed, (unsigned long long)at);
        cr_assert_eq(c->state, state_hash(&s->fsm),
                     "seed %llu: server %u restored a state never seen",
                     (unsigned long long)T_seed, s->i);
    }
    cr_assert_geq(at, s->last_index);
    s->last_index = at;
    event_add(s, at, true);
    T_tot.restores++;
    return 0;
}

/* ---- driving the cluster */

static void on_applied(struct raft_apply *req, int status, void *result)
{
    if (status == 0) {
        const mgr__fsm_result_t *r = result;
        cr_assert_not_null(r);
        cr_assert_leq(r->status, 0);
    } else {
        T_tot.lost++; /* the entry may still commit under the next leader */
    }
    free(req);
}

static void on_barrier(struct raft_barrier *req, int status)
{
    free(req);
}

/* A transfer's request embeds the raft_io_send of its TimeoutNow
 * message, and 0.15 may call back before that send completes: requests
 * are kept until the fixture is closed. */
static struct raft_transfer *T_transfers[ACTIONS_PER_SEED];
static unsigned T_ntransfers;

static void on_transfer(struct raft_transfer *req)
{
    (void)req;
}

static bool alive(unsigned i)
{
    return raft_fixture_alive(&T_f, i);
}

/* A random alive server in the leader state (the fixture's stable leader
 * or a stale one that has not heard of the new term yet), or T_n. */
static unsigned any_leader(void)
{
    unsigned ls[MAX_SERVERS], n = 0;
    for (unsigned i = 0; i < T_n; i++)
        if (alive(i) && raft_state(T_s[i].raft) == RAFT_LEADER)
            ls[n++] = i;
    return n == 0 ? T_n : ls[below(n)];
}

/* Make the fixture's links what T_cut and the dead servers say: kill and
 * revive reset every link of the server they touch. */
static void links_apply(void)
{
    for (unsigned i = 0; i < T_n; i++) {
        for (unsigned j = 0; j < T_n; j++) {
            if (i == j)
                continue;
            if (T_cut[i][j] || !alive(i) || !alive(j))
                raft_fixture_saturate(&T_f, i, j);
            else
                raft_fixture_desaturate(&T_f, i, j);
        }
    }
}

static void propose(void)
{
    unsigned l = any_leader();
    if (l == T_n)
        return;
    server_t *s = &T_s[l];
    struct raft_buffer buf;
    buf.base = cmd_random(&s->fsm, &buf.len);
    struct raft_apply *req = malloc(sizeof *req);
    /* One buffer per raft_apply: with several, 0.15 calls back once, at
     * the first entry's apply, and the others' results are lost. */
    int rv = raft_apply(s->raft, req, &buf, 1, on_applied);
    if (rv != 0) {
        /* Refused before the log took it: the buffer is still ours. */
        cr_assert_eq(rv, RAFT_NOTLEADER, "seed %llu: raft_apply %s",
                     (unsigned long long)T_seed, raft_strerror(rv));
        raft_free(buf.base);
        free(req);
        return;
    }
    T_tot.proposals++;
}

static unsigned n_dead(void)
{
    unsigned d = 0;
    for (unsigned i = 0; i < T_n; i++)
        d += !alive(i);
    return d;
}

static void kill_one(void)
{
    if (n_dead() >= (T_n - 1) / 2 && chance(80))
        return; /* mostly keep a majority up, so the log moves */
    unsigned l = any_leader();
    unsigned i = l < T_n && chance(70) ? l : below(T_n);
    if (!alive(i) || n_dead() + 1 >= T_n)
        return;
    raft_fixture_kill(&T_f, i);
    links_apply();
    T_tot.kills++;
}

static void revive_one(void)
{
    unsigned i = below(T_n);
    if (alive(i))
        return;
    raft_fixture_revive(&T_f, i);
    links_apply();
}

static void partition(void)
{
    memset(T_cut, 0, sizeof T_cut);
    if (chance(25)) { /* one way only */
        unsigned i = below(T_n), j = below(T_n);
        T_cut[i][j] = i != j;
    } else {
        unsigned side[MAX_SERVERS];
        for (unsigned i = 0; i < T_n; i++)
            side[i] = below(2);
        for (unsigned i = 0; i < T_n; i++)
            for (unsigned j = 0; j < T_n; j++)
                T_cut[i][j] = side[i] != side[j];
    }
    links_apply();
    T_tot.partitions++;
}

static void heal(void)
{
    memset(T_cut, 0, sizeof T_cut);
    links_apply();
}

static bool calm(void)
{
    for (unsigned i = 0; i < T_n; i++)
        for (unsigned j = 0; j < T_n; j++)
            if (T_cut[i][j])
                return false;
    return n_dead() == 0;
}

/* raft_transfer to any voter, or the fixture's depose where its
 * preconditions (asserted inside libraft) hold. raft_fixture_elect is not
 * used: its final assertion (the chosen server is the stable leader)
 * fails under the random timeouts and links of this simulation. */
static void leadership(void)
{
    unsigned l = any_leader();
    unsigned followers = 0;
    for (unsigned i = 0; i < T_n; i++)
        followers += raft_state(T_s[i].raft) == RAFT_FOLLOWER;
    if (calm() && T_f.leader_id != 0 && l == T_f.leader_id - 1 &&
        followers == T_n - 1 && chance(50)) {
        raft_fixture_depose(&T_f);
        T_tot.deposes++;
        return;
    }
    if (l == T_n)
        return;
    struct raft_transfer *req = malloc(sizeof *req);
    if (raft_transfer(T_s[l].raft, req, 0, on_transfer) != 0) {
        free(req);
        return;
    }
    T_transfers[T_ntransfers++] = req;
    T_tot.transfers++;
}

static void step(void)
{
    for (unsigned i = 0; i < T_n; i++)
        raft_fixture_set_randomized_election_timeout(&T_f, i,
                                                     1000 + below(1000));
    if (chance(20))
        raft_fixture_step_until_elapsed(&T_f, below(400));
    else
        raft_fixture_step_n(&T_f, 1 + below(40));
}

static void act(void)
{
    unsigned k = below(100);
    if (k < 45)
        propose();
    else if (k < 50)
        kill_one();
    else if (k < 57)
        revive_one();
    else if (k < 61)
        partition();
    else if (k < 66)
        heal();
    else if (k < 69)
        leadership();
    step();
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? (unsigned)strtoul(v, NULL, 10) : dflt;
}

/* ---- guards against two commit bugs of libraft 0.15
 *
 * This simulation finds both; CLEO_RAFT_SIM_UNGUARDED=1 turns the guards
 * off to show them (3 servers: seed 146 loses liveness, both sizes have
 * seeds where two servers apply different commands at one index).
 *
 * 1. A leader commits entries of an earlier term by counting replicas
 *    (Raft's figure 8; upstream fixed it in 0.17.1, replicationQuorum).
 *    0.15 only tries to commit the leader's last stored entry, so the
 *    guard makes a new leader append a barrier of its own term at once
 *    and holds back the AppendEntries results it receives while its last
 *    stored entry is of an earlier term.
 * 2. A follower whose log has a leftover suffix beyond an AppendEntries'
 *    entries answers with its own last stored index, and the leader
 *    takes that as the match index even where the leftovers differ from
 *    its own entries (still so in the last upstream release, 0.18.1: it
 *    only caps the hint at its own last index). The guard caps the
 *    answer at prev_log_index + n_entries, which is all the request
 *    proved.
 * Both live at the raft_io boundary, in manager/raft_guard.c, which the
 * managers' Raft node applies to its raft_uv io as this applies it to
 * each fixture server's io. */

static bool T_guard;
static mgr__raft_guard_t T_guards[MAX_SERVERS];

/* After every fixture event: a new leader appends its barrier at once. */
static void on_event(struct raft_fixture *f, struct raft_fixture_event *ev)
{
    (void)ev;
    for (unsigned i = 0; i < f->n; i++)
        mgr__raft_guard_poll(&T_guards[i], &f->servers[i].raft);
}

/* ---- the fixture's fake disk
 *
 * Its truncate(index) keeps the first index - 1 stored entries, as if the
 * stored log always began at index 1; after an installed snapshot (a
 * snapshot_put with trailing 0 empties it) the log begins later, and a
 * later truncation reads past the array (0.15's src/fixture.c,
 * ioMethodTruncate). Nothing reads those entries back (servers are
 * never restarted from them), so every truncation but the emptying one
 * (index 1) is skipped on the fake disk; raft's own in-memory log is
 * truncated as usual. */

static int (*T_truncate)(struct raft_io *io, raft_index index);

static int io_truncate(struct raft_io *io, raft_index index)
{
    return index == 1 ? T_truncate(io, index) : 0;
}

/* ---- one seed */

static unsigned T_threshold, T_trailing;

static void cluster_start(unsigned n)
{
    /* The same on every server, as in a real cluster: with a follower
     * whose threshold is lower than the leader's, 0.15 can crash (see
     * the report on issue 11). */
    T_threshold = 4 + below(8);
    T_trailing = 1 + below(2 * T_threshold);
    /* raft_fixture_initialize() leaves n and leader_id as they were. */
    memset(&T_f, 0, sizeof T_f);
    cr_assert_eq(raft_fixture_initialize(&T_f), 0);
    T_n = n;
    for (unsigned i = 0; i < n; i++) {
        server_t *s = &T_s[i];
        *s = (server_t){.i = i};
        mgr__fsm_init(&s->fsm);
        T_fsms[i] = (struct raft_fsm){.version = 1,
                                      .data = s,
                                      .apply = fsm_apply,
                                      .snapshot = fsm_snapshot,
                                      .restore = fsm_restore};
        cr_assert_eq(raft_fixture_grow(&T_f, &T_fsms[i]), 0);
        s->raft = raft_fixture_get(&T_f, i);
        T_truncate = T_f.servers[i].io.truncate;
        T_f.servers[i].io.truncate = io_truncate;
        /* Small, so snapshots are taken often and lagging servers get
         * them installed (restore). */
        raft_set_snapshot_threshold(s->raft, T_threshold);
        raft_set_snapshot_trailing(s->raft, T_trailing);
        raft_set_pre_vote(s->raft, chance(50));
        raft_fixture_set_network_latency(&T_f, i, 5 + below(30));
        raft_fixture_set_disk_latency(&T_f, i, 1 + below(20));
        if (T_guard)
            mgr__raft_guard_wrap(&T_guards[i], &T_f.servers[i].io);
    }
    struct raft_configuration conf;
    cr_assert_eq(raft_fixture_configuration(&T_f, n, &conf), 0);
    cr_assert_eq(raft_fixture_bootstrap(&T_f, &conf), 0);
    raft_configuration_close(&conf);
    if (T_guard)
        raft_fixture_hook(&T_f, on_event);
    cr_assert_eq(raft_fixture_start(&T_f), 0);
    memset(T_cut, 0, sizeof T_cut);
}

/* Heal, revive, commit a barrier under a leader and step until every
 * server has applied it. */
static void converge(void)
{
    memset(T_cut, 0, sizeof T_cut);
    for (unsigned i = 0; i < T_n; i++)
        if (!alive(i))
            raft_fixture_revive(&T_f, i);
    links_apply();
    for (int attempt = 0; attempt < 20; attempt++) {
        for (unsigned i = 0; i < T_n; i++) /* no split votes forever */
            raft_fixture_set_randomized_election_timeout(&T_f, i,
                                                         1000 + 150 * i);
        if (!raft_fixture_step_until_has_leader(&T_f, 10000))
            continue;
        struct raft *r = T_s[raft_fixture_leader_index(&T_f)].raft;
        struct raft_barrier *b = malloc(sizeof *b);
        if (raft_barrier(r, b, on_barrier) != 0) {
            free(b); /* a leadership transfer is still going on */
            raft_fixture_step_until_elapsed(&T_f, 500);
            continue;
        }
        /* 0.15's new leader appends no entry of its own term, so entries
         * of earlier terms commit only with this barrier. */
        raft_index target = raft_last_index(r);
        if (raft_fixture_step_until_applied(&T_f, T_n, target, FINAL_MS))
            return;
    }
    for (unsigned i = 0; i < T_n; i++) {
        struct raft *r = T_s[i].raft;
        fprintf(stderr,
                "server %u: alive %d state %d term %llu last %llu commit "
                "%llu applied %llu snapshot %llu\n",
                i, alive(i), raft_state(r), r->current_term, raft_last_index(r),
                r->commit_index, raft_last_applied(r),
                r->log.snapshot.last_index);
    }
    cr_assert_fail("seed %llu: the cluster did not converge",
                   (unsigned long long)T_seed);
}

static uint64_t next_command(uint64_t pos)
{
    for (uint64_t j = pos + 1; j < T_ncanon; j++)
        if (T_canon[j].set)
            return j;
    return 0;
}

/* Each server's applies, with restores as jumps, walk the one common
 * command sequence without skipping, and all end at its end. */
static void check_sequences(void)
{
    uint64_t last = 0;
    for (uint64_t j = 0; j < T_ncanon; j++)
        if (T_canon[j].set)
            last = j;
    for (unsigned i = 0; i < T_n; i++) {
        const server_t *s = &T_s[i];
        uint64_t pos = 0;
        for (size_t e = 0; e < s->nev; e++) {
            if (!s->ev[e].restore)
                cr_assert_eq(s->ev[e].index, next_command(pos),
                             "seed %llu: server %u skipped a command",
                             (unsigned long long)T_seed, i);
            pos = s->ev[e].index;
        }
        cr_assert_eq(pos, last, "seed %llu: server %u ends at %llu of %llu",
                     (unsigned long long)T_seed, i, (unsigned long long)pos,
                     (unsigned long long)last);
    }
}

static void check_states(void)
{
    size_t n0 = mgr__fsm_packed_size(&T_s[0].fsm);
    uint8_t *b0 = malloc(n0 + 1);
    mgr__fsm_pack(&T_s[0].fsm, b0);
    for (unsigned i = 1; i < T_n; i++) {
        size_t n = mgr__fsm_packed_size(&T_s[i].fsm);
        uint8_t *b = malloc(n + 1);
        mgr__fsm_pack(&T_s[i].fsm, b);
        cr_assert(n == n0 && memcmp(b, b0, n) == 0,
                  "seed %llu: server %u's state differs from server 0's",
                  (unsigned long long)T_seed, i);
        free(b);
    }
    free(b0);
}

static void run_seed(uint64_t seed, unsigned n)
{
    T_seed = seed;
    T_rng = seed * 0x2545f4914f6cdd1dull + n;
    cluster_start(n);
    raft_id leader = 0;
    for (int a = 0; a < ACTIONS_PER_SEED; a++) {
        act();
        if (T_f.leader_id != 0 && T_f.leader_id != leader)
            T_tot.leaders++;
        leader = T_f.leader_id;
    }
    converge();
    check_sequences();
    check_states();
    raft_fixture_close(&T_f);
    for (unsigned i = 0; i < n; i++)
        mgr__raft_guard_unwrap(&T_guards[i]);
    while (T_ntransfers > 0)
        free(T_transfers[--T_ntransfers]);
    for (unsigned i = 0; i < n; i++) {
        mgr__fsm_destroy(&T_s[i].fsm);
        free(T_s[i].ev);
    }
    free(T_canon);
    T_canon = NULL;
    T_ncanon = 0;
}

static void run_seeds(unsigned n)
{
    memset(&T_tot, 0, sizeof T_tot);
    T_guard = env_unsigned("CLEO_RAFT_SIM_UNGUARDED", 0) == 0;
    const char *one = getenv("CLEO_RAFT_SIM_SEED");
    if (one != NULL && *one != '\0') {
        run_seed(strtoull(one, NULL, 10), n);
        return;
    }
    unsigned seeds = env_unsigned("CLEO_RAFT_SIM_SEEDS", 1000);
    unsigned first = env_unsigned("CLEO_RAFT_SIM_FIRST", 0);
    for (unsigned s = first; s < first + seeds; s++)
        run_seed(s, n);
    fprintf(stderr,
            "raft_sim %u servers, %u seeds: %lu proposals, %lu applies "
            "(%lu refused), %lu lost at the proposer, %lu restores, %lu "
            "kills, %lu partitions, %lu leaders, %lu transfers, %lu "
            "deposes\n",
            n, seeds, T_tot.proposals, T_tot.applied, T_tot.refused, T_tot.lost,
            T_tot.restores, T_tot.kills, T_tot.partitions, T_tot.leaders,
            T_tot.transfers, T_tot.deposes);
    /* The run exercised what it claims to. */
    cr_assert_gt(T_tot.refused, 0);
    cr_assert_gt(T_tot.applied, T_tot.refused);
    cr_assert_gt(T_tot.restores, seeds / 10);
    cr_assert_gt(T_tot.kills, seeds);
    cr_assert_gt(T_tot.partitions, seeds);
    cr_assert_gt(T_tot.leaders, seeds);
}

TestSuite(mgr_raft_sim, .timeout = 600);

Test(mgr_raft_sim, three_servers_apply_one_sequence)
{
    run_seeds(3);
}

Test(mgr_raft_sim, five_servers_apply_one_sequence)
{
    run_seeds(5);
}
