/*
 * test_raft_guard.c - the libraft 0.15 guards of manager/raft_guard.c,
 * one behaviour at a time: a fake raft_io (start and send only) around a
 * hand-made struct raft for the two wrappers, and raft's fixture with one
 * server for the leader's barrier. tests/manager/test_raft_sim.c shows
 * that together they keep the two commit bugs out of a whole cluster.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <raft.h>
#include <raft/fixture.h>
#include <signal.h>
#include <string.h>

#include "manager/raft_guard.h"

/* ---- a fake io: what the guard forwards, per io (io->impl) */

typedef struct {
    raft_io_recv_cb recv;    /* what start was given (the guard's) */
    unsigned starts, sends;  /* calls that reached the io */
    raft_index sent_last;    /* the last sent result's last_log_index */
    unsigned raft_recvs;     /* messages that reached raft */
    raft_index reply_last;   /* what "raft" answers an AppendEntries */
    int reply_rejected;      /* and whether it rejects it */
    struct raft_io_send req; /* the answer's send request */
    unsigned other;          /* calls through the "other" functions */
    int send_rc;             /* what the answer's send returned */
} fake_t;

static int fake_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                      raft_io_recv_cb recv)
{
    (void)msecs;
    (void)tick;
    fake_t *f = io->impl;
    f->recv = recv;
    f->starts++;
    return 0;
}

static int fake_send(struct raft_io *io, struct raft_io_send *req,
                     const struct raft_message *m, raft_io_send_cb cb)
{
    (void)req;
    (void)cb;
    fake_t *f = io->impl;
    f->sends++;
    if (m->type == RAFT_IO_APPEND_ENTRIES_RESULT)
        f->sent_last = m->append_entries_result.last_log_index;
    return 0;
}

/* A second io implementation and a second raft, so that a guard that
 * forwarded to another io's functions would show. */
static int other_send(struct raft_io *io, struct raft_io_send *req,
                      const struct raft_message *m, raft_io_send_cb cb)
{
    ((fake_t *)io->impl)->other++;
    return fake_send(io, req, m, cb);
}

static void raft_recv(struct raft_io *io, struct raft_message *m);

static void other_recv(struct raft_io *io, struct raft_message *m)
{
    ((fake_t *)io->impl)->other++;
    raft_recv(io, m);
}

/* Send an AppendEntries result as raft does. */
static int send_result(struct raft_io *io, raft_index last, int rejected)
{
    fake_t *f = io->impl;
    struct raft_message m = {.type = RAFT_IO_APPEND_ENTRIES_RESULT};
    m.append_entries_result.last_log_index = last;
    m.append_entries_result.rejected = (raft_index)rejected;
    return io->send(io, &f->req, &m, NULL);
}

/* Raft's recv: an AppendEntries is answered at once, from inside recv,
 * as 0.15 does when it has nothing to write. */
static void raft_recv(struct raft_io *io, struct raft_message *m)
{
    fake_t *f = io->impl;
    f->raft_recvs++;
    if (m->type == RAFT_IO_APPEND_ENTRIES)
        f->send_rc = send_result(io, f->reply_last, f->reply_rejected);
}

/* One raft server's worth: the io, a struct raft to stand behind it (as
 * raft_init would: io->data), its log, and the guard. */
typedef struct {
    fake_t fake;
    struct raft_io io;
    struct raft r;
    struct raft_entry entries[8];
    mgr__raft_guard_t g;
} server_t;

static void server_init(server_t *s)
{
    memset(s, 0, sizeof *s);
    s->io.impl = &s->fake;
    s->io.start = fake_start;
    s->io.send = fake_send;
    s->io.data = &s->r;
    s->r.io = &s->io;
    s->r.state = RAFT_FOLLOWER;
    s->r.log.entries = s->entries;
    s->r.log.size = 8;
}

/* The log holds entries offset+1 .. offset+n of the given terms, stored
 * from slot front on (wrapping round the 8 slots). */
static void log_set(server_t *s, raft_index offset, size_t front,
                    const raft_term *terms, size_t n)
{
    struct raft_log *l = &s->r.log;
    l->offset = offset;
    l->front = front;
    l->back = (front + n) % l->size;
    for (size_t i = 0; i < n; i++)
        s->entries[(front + i) % l->size].term = terms[i];
    s->r.last_stored = offset + n;
}

static void wrap_start(server_t *s)
{
    mgr__raft_guard_wrap(&s->g, &s->io);
    cr_assert_eq(s->io.start(&s->io, 100, NULL, raft_recv), 0);
    cr_assert_eq(s->fake.starts, 1);
}

/* The same with the other io implementation and the other raft. */
static void wrap_start_other(server_t *s)
{
    s->io.send = other_send;
    mgr__raft_guard_wrap(&s->g, &s->io);
    cr_assert_eq(s->io.start(&s->io, 100, NULL, other_recv), 0);
}

/* Deliver m as the io would: through what start was given. */
static void deliver(server_t *s, struct raft_message *m)
{
    s->fake.recv(&s->io, m);
}

static void deliver_result(server_t *s, int rejected)
{
    struct raft_message m = {.type = RAFT_IO_APPEND_ENTRIES_RESULT};
    m.append_entries_result.rejected = (raft_index)rejected;
    m.append_entries_result.last_log_index = 5;
    deliver(s, &m);
}

static void deliver_append(server_t *s, raft_index prev, unsigned n)
{
    struct raft_message m = {.type = RAFT_IO_APPEND_ENTRIES};
    m.append_entries.prev_log_index = prev;
    m.append_entries.n_entries = n;
    deliver(s, &m);
}

/* ---- wrapping */

Test(mgr_raft_guard, wrap_replaces_start_and_send_and_unwrap_restores)
{
    server_t s;
    server_init(&s);
    cr_assert_not(mgr__raft_guard_is_wrapped(&s.g));
    mgr__raft_guard_wrap(&s.g, &s.io);
    cr_assert(mgr__raft_guard_is_wrapped(&s.g));
    cr_assert_neq(s.io.start, fake_start);
    cr_assert_neq(s.io.send, fake_send);
    mgr__raft_guard_unwrap(&s.g);
    cr_assert_not(mgr__raft_guard_is_wrapped(&s.g));
    cr_assert_eq(s.io.start, fake_start);
    cr_assert_eq(s.io.send, fake_send);
    /* The same io can be wrapped again, as the simulation does per seed. */
    mgr__raft_guard_wrap(&s.g, &s.io);
    mgr__raft_guard_unwrap(&s.g);
}

Test(mgr_raft_guard, unwrap_accepts_null_unwrapped_and_twice)
{
    server_t s;
    server_init(&s);
    mgr__raft_guard_unwrap(NULL);
    mgr__raft_guard_unwrap(&s.g);
    mgr__raft_guard_wrap(&s.g, &s.io);
    mgr__raft_guard_unwrap(&s.g);
    mgr__raft_guard_unwrap(&s.g);
    cr_assert_eq(s.io.start, fake_start);
}

Test(mgr_raft_guard, wrapping_an_io_twice_is_a_caller_bug, .signal = SIGABRT)
{
    server_t s;
    mgr__raft_guard_t other;
    server_init(&s);
    mgr__raft_guard_wrap(&s.g, &s.io);
    mgr__raft_guard_wrap(&other, &s.io);
}

Test(mgr_raft_guard, wrapping_a_wrapped_guard_is_a_caller_bug,
     .signal = SIGABRT)
{
    server_t a, b;
    server_init(&a);
    server_init(&b);
    mgr__raft_guard_wrap(&a.g, &a.io);
    mgr__raft_guard_wrap(&a.g, &b.io);
}

Test(mgr_raft_guard, start_hands_raft_recv_the_io_messages)
{
    server_t s;
    server_init(&s);
    wrap_start(&s);
    struct raft_message m = {.type = RAFT_IO_REQUEST_VOTE};
    deliver(&s, &m);
    cr_assert_eq(s.fake.raft_recvs, 1);
    mgr__raft_guard_unwrap(&s.g);
}

/* ---- guard 1: no counting while the last stored entry is older */

Test(mgr_raft_guard, leader_drops_success_results_until_it_stores_its_term)
{
    server_t s;
    server_init(&s);
    wrap_start(&s);
    s.r.state = RAFT_LEADER;
    s.r.current_term = 3;
    log_set(&s, 0, 0, (raft_term[]){1, 2, 2}, 3);
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 0, "counted an entry of term 2");
    deliver_result(&s, 4); /* rejections still go through */
    cr_assert_eq(s.fake.raft_recvs, 1);
    log_set(&s, 0, 0, (raft_term[]){1, 2, 2, 3}, 4); /* the barrier */
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 2);
    mgr__raft_guard_unwrap(&s.g);
}

Test(mgr_raft_guard, followers_and_candidates_get_every_result)
{
    server_t s;
    server_init(&s);
    wrap_start(&s);
    s.r.current_term = 3;
    log_set(&s, 0, 0, (raft_term[]){1, 2}, 2);
    deliver_result(&s, 0);
    s.r.state = RAFT_CANDIDATE;
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 2);
    mgr__raft_guard_unwrap(&s.g);
}

/* The last stored entry's term is read from a log that wraps round its
 * buffer, starts after a snapshot, or is only the snapshot. */
Test(mgr_raft_guard, reads_the_term_of_wrapped_and_snapshotted_logs)
{
    server_t s;
    server_init(&s);
    wrap_start(&s);
    s.r.state = RAFT_LEADER;
    s.r.current_term = 3;
    log_set(&s, 10, 6, (raft_term[]){2, 2, 2, 3}, 4); /* slots 6,7,0,1 */
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 1);
    log_set(&s, 10, 6, (raft_term[]){2, 3, 3, 2}, 4);
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 1);
    log_set(&s, 12, 0, NULL, 0); /* all in the snapshot */
    s.r.log.snapshot.last_index = 12;
    s.r.log.snapshot.last_term = 3;
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 2);
    s.r.log.snapshot.last_term = 2;
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 2);
    s.r.last_stored = 20; /* not in the log at all: term 0 */
    deliver_result(&s, 0);
    cr_assert_eq(s.fake.raft_recvs, 2);
    mgr__raft_guard_unwrap(&s.g);
}

/* ---- guard 2: an answer claims no more than its request proved */

Test(mgr_raft_guard, answer_inside_recv_is_capped_at_what_was_sent)
{
    server_t s;
    server_init(&s);
    wrap_start(&s);
    s.fake.reply_last = 9; /* a leftover suffix 7..9 */
    deliver_append(&s, 4, 2);
    cr_assert_eq(s.fake.sends, 1);
    cr_assert_eq(s.fake.sent_last, 6);
    cr_assert_eq(s.fake.send_rc, 0);
    s.fake.reply_last = 5; /* within: as it is */
    deliver_append(&s, 4, 2);
    cr_assert_eq(s.fake.sent_last, 5);
    s.fake.reply_last = 3; /* a heartbeat: prev 3, nothing beyond */
    deliver_append(&s, 3, 0);
    cr_assert_eq(s.fake.sent_last, 3);
    mgr__raft_guard_unwrap(&s.g);
}

Test(mgr_raft_guard, rejections_and_later_answers_are_not_capped)
{
    server_t s;
    server_init(&s);
    wrap_start(&s);
    s.fake.reply_last = 9;
    s.fake.reply_rejected = 5; /* a rejection's hint is raft's business */
    deliver_append(&s, 4, 2);
    cr_assert_eq(s.fake.sent_last, 9);
    /* After the entries are written: sent outside recv, uncapped. */
    cr_assert_eq(send_result(&s.io, 9, 0), 0);
    cr_assert_eq(s.fake.sent_last, 9);
    cr_assert_eq(s.fake.sends, 2);
    mgr__raft_guard_unwrap(&s.g);
}

/* ---- several servers in one process */

Test(mgr_raft_guard, each_io_reaches_its_own_guard)
{
    server_t a, b;
    server_init(&a);
    server_init(&b);
    wrap_start(&a);
    wrap_start_other(&b);
    a.fake.reply_last = b.fake.reply_last = 9;
    deliver_append(&a, 4, 2);
    deliver_append(&b, 1, 1);
    cr_assert_eq(a.fake.sent_last, 6);
    cr_assert_eq(b.fake.sent_last, 2);
    cr_assert_eq(a.fake.other, 0, "a went through b's functions");
    cr_assert_eq(b.fake.other, 2, "b's recv and send");
    mgr__raft_guard_unwrap(&b.g);
    deliver_append(&a, 2, 1); /* a's guard still there */
    cr_assert_eq(a.fake.sent_last, 3);
    cr_assert_eq(a.fake.other, 0);
    mgr__raft_guard_unwrap(&a.g);
}

#define THREADS 4
#define ROUNDS 20000

/* Each thread wraps, uses and unwraps its own server over and over while
 * the others do the same: the registry changes under every lookup. */
static void *thread_main(void *arg)
{
    server_t *s = arg;
    bool odd = s->fake.starts; /* set by the test: the other functions */
    unsigned long ok = 0;
    for (unsigned k = 0; k < ROUNDS; k++) {
        /* No Criterion assertions off the test's thread. */
        server_init(s);
        if (odd)
            s->io.send = other_send;
        mgr__raft_guard_wrap(&s->g, &s->io);
        s->io.start(&s->io, 100, NULL, odd ? other_recv : raft_recv);
        s->fake.reply_last = 100;
        raft_index prev = k % 50;
        deliver_append(s, prev, 3);
        ok += s->fake.sent_last == prev + 3 && s->fake.raft_recvs == 1 &&
              s->fake.other == (odd ? 2u : 0u);
        mgr__raft_guard_unwrap(&s->g);
    }
    return (void *)ok;
}

Test(mgr_raft_guard, guards_on_several_threads_keep_apart)
{
    static server_t s[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i].fake.starts = i % 2;
        cr_assert_eq(pthread_create(&t[i], NULL, thread_main, &s[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *ok;
        cr_assert_eq(pthread_join(t[i], &ok), 0);
        cr_assert_eq((unsigned long)ok, ROUNDS, "thread %d", i);
    }
}

/* ---- poll: a new leader's barrier, under raft's fixture */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
                     void **result)
{
    (void)fsm;
    (void)buf;
    *result = NULL;
    return 0;
}

static struct raft_fixture T_f;
static struct raft_fsm T_fsm = {.version = 1, .apply = fsm_apply};
static mgr__raft_guard_t T_g;

/* One voter, wrapped, stepped until it leads. */
static struct raft *one_leader(void)
{
    memset(&T_f, 0, sizeof T_f);
    cr_assert_eq(raft_fixture_initialize(&T_f), 0);
    cr_assert_eq(raft_fixture_grow(&T_f, &T_fsm), 0);
    mgr__raft_guard_wrap(&T_g, &T_f.servers[0].io);
    struct raft_configuration conf;
    cr_assert_eq(raft_fixture_configuration(&T_f, 1, &conf), 0);
    cr_assert_eq(raft_fixture_bootstrap(&T_f, &conf), 0);
    raft_configuration_close(&conf);
    cr_assert_eq(raft_fixture_start(&T_f), 0);
    struct raft *r = raft_fixture_get(&T_f, 0);
    cr_assert(raft_fixture_step_until_has_leader(&T_f, 10000));
    return r;
}

static void one_close(void)
{
    raft_fixture_close(&T_f);
    mgr__raft_guard_unwrap(&T_g);
}

Test(mgr_raft_guard, poll_appends_one_barrier_per_leader_term)
{
    struct raft *r = one_leader();
    raft_index last = raft_last_index(r);
    mgr__raft_guard_poll(&T_g, r);
    cr_assert_eq(raft_last_index(r), last + 1);
    mgr__raft_guard_poll(&T_g, r);
    cr_assert_eq(raft_last_index(r), last + 1, "a second barrier");
    /* It commits and is applied (its callback frees it: ASan checks). */
    cr_assert(raft_fixture_step_until_applied(&T_f, 0, last + 1, 10000));
    one_close();
}

Test(mgr_raft_guard, a_barrier_pending_at_close_is_freed)
{
    struct raft *r = one_leader();
    raft_index last = raft_last_index(r);
    mgr__raft_guard_poll(&T_g, r);
    cr_assert_eq(raft_last_index(r), last + 1);
    cr_assert_lt(raft_last_applied(r), last + 1);
    one_close(); /* raft fails the barrier: its callback frees it */
}

Test(mgr_raft_guard, poll_on_an_unwrapped_guard_is_a_caller_bug,
     .signal = SIGABRT)
{
    mgr__raft_guard_t g;
    struct raft r;
    memset(&g, 0, sizeof g);
    memset(&r, 0, sizeof r);
    mgr__raft_guard_poll(&g, &r);
}

/* Two voters, each wrapped and polled after every fixture event as the
 * simulation does; leadership moves from one to the other. */
static mgr__raft_guard_t T_gs[2];

static void poll_all(struct raft_fixture *f, struct raft_fixture_event *ev)
{
    (void)ev;
    for (unsigned i = 0; i < f->n; i++)
        mgr__raft_guard_poll(&T_gs[i], &f->servers[i].raft);
}

static bool has_other_leader(struct raft_fixture *f, void *arg)
{
    unsigned l = *(unsigned *)arg;
    return f->leader_id != 0 && f->leader_id - 1 != l;
}

/* The last entry of r's log. */
static const struct raft_entry *last_entry(struct raft *r)
{
    const struct raft_log *l = &r->log;
    raft_index i = raft_last_index(r);
    cr_assert_gt(i, l->offset);
    return &l->entries[(l->front + (i - 1 - l->offset)) % l->size];
}

Test(mgr_raft_guard, every_new_leader_appends_a_barrier_of_its_term)
{
    memset(&T_f, 0, sizeof T_f);
    cr_assert_eq(raft_fixture_initialize(&T_f), 0);
    for (unsigned i = 0; i < 2; i++) {
        cr_assert_eq(raft_fixture_grow(&T_f, &T_fsm), 0);
        mgr__raft_guard_wrap(&T_gs[i], &T_f.servers[i].io);
    }
    struct raft_configuration conf;
    cr_assert_eq(raft_fixture_configuration(&T_f, 2, &conf), 0);
    cr_assert_eq(raft_fixture_bootstrap(&T_f, &conf), 0);
    raft_configuration_close(&conf);
    raft_fixture_hook(&T_f, poll_all);
    cr_assert_eq(raft_fixture_start(&T_f), 0);
    cr_assert(raft_fixture_step_until_has_leader(&T_f, 10000));
    unsigned l = raft_fixture_leader_index(&T_f);
    struct raft *r = raft_fixture_get(&T_f, l);
    cr_assert_eq(last_entry(r)->type, RAFT_BARRIER);
    cr_assert_eq(last_entry(r)->term, r->current_term);
    raft_index before = raft_last_index(r);
    raft_term t0 = r->current_term;
    /* Transfer the leadership: the other one's first entry as leader is
     * its barrier, and nothing but the barrier was appended. */
    static struct raft_transfer req;
    cr_assert_eq(raft_transfer(r, &req, 0, NULL), 0);
    cr_assert(raft_fixture_step_until(&T_f, has_other_leader, &l, 10000));
    struct raft *o = raft_fixture_get(&T_f, 1 - l);
    cr_assert_eq(last_entry(o)->type, RAFT_BARRIER);
    cr_assert_eq(last_entry(o)->term, o->current_term);
    cr_assert_gt(o->current_term, t0);
    cr_assert_eq(raft_last_index(o), before + 1);
    cr_assert(raft_fixture_step_until_applied(&T_f, 2, before + 1, 10000));
    raft_fixture_close(&T_f);
    for (unsigned i = 0; i < 2; i++)
        mgr__raft_guard_unwrap(&T_gs[i]);
}
