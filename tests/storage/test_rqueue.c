/*
 * test_rqueue.c - the persistent repair queue (storage/rqueue.c): entries
 * per target, newer versions replacing older ones, remove only while the
 * entry names a version not newer than the one pushed, scans in order
 * from a cursor, counts per target, and the queue surviving a reopen and
 * a kill -9; an add racing removes on other threads never loses the
 * newest version.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "stot.c"

#include "storage/rqueue.h"

TestSuite(sto_rqueue, .init = t_setup, .fini = t_teardown, .timeout = 60);

static sto_version_t V(uint64_t clock, uint64_t node)
{
    return (sto_version_t){clock, node};
}

static void add(const char *node, const char *bucket, const char *key,
                uint64_t clock, sto__rq_added_t want)
{
    sto_version_t v = V(clock, 7);
    sto__rq_added_t got = (sto__rq_added_t)-1;
    cr_assert_eq(sto__rq_add(T_db, node, bucket, key, &v, &got), 0);
    cr_assert_eq(got, want, "add %s %s/%s %llu: %d, not %d", node, bucket, key,
                 (unsigned long long)clock, got, want);
}

/* All of node's entries, in one scan. */
static size_t scan_all(const char *node, sto__rq_entry_t **out)
{
    bool more = true;
    size_t n = 99;
    cr_assert_eq(
        sto__rq_scan(T_db, node, NULL, NULL, STO__RQ_PAGE_MAX, out, &n, &more),
        0);
    cr_assert_not(more);
    return n;
}

static uint64_t count_of(const char *node)
{
    sto__rq_count_t *cs = NULL;
    size_t n = 0;
    cr_assert_eq(sto__rq_count(T_db, node, &cs, &n), 0);
    cr_assert(n <= 1);
    uint64_t c = n == 1 ? cs[0].entries : 0;
    if (n == 1)
        cr_assert_str_eq(cs[0].node, node);
    free(cs);
    return c;
}

Test(sto_rqueue, add_then_scan_gives_the_entry)
{
    add("n3@host", "photos", "cat.jpg", 100, STO__RQ_ADDED);
    sto__rq_entry_t *es = NULL;
    cr_assert_eq(scan_all("n3@host", &es), 1);
    cr_assert_str_eq(es[0].node, "n3@host");
    cr_assert_str_eq(es[0].bucket, "photos");
    cr_assert_str_eq(es[0].key, "cat.jpg");
    cr_assert_eq(es[0].v.clock, 100);
    cr_assert_eq(es[0].v.node, 7);
    free(es);
    cr_assert_eq(scan_all("n2@host", &es), 0);
    cr_assert_null(es);
}

Test(sto_rqueue, a_newer_version_replaces_an_older_one_never_the_reverse)
{
    add("n3", "b1", "k", 100, STO__RQ_ADDED);
    add("n3", "b1", "k", 200, STO__RQ_REPLACED);
    add("n3", "b1", "k", 150, STO__RQ_KEPT);
    add("n3", "b1", "k", 200, STO__RQ_KEPT);
    /* Same clock, a higher node id: newer (the tie-break). */
    sto_version_t v = V(200, 9);
    sto__rq_added_t got;
    cr_assert_eq(sto__rq_add(T_db, "n3", "b1", "k", &v, &got), 0);
    cr_assert_eq(got, STO__RQ_REPLACED);
    sto__rq_entry_t *es = NULL;
    cr_assert_eq(scan_all("n3", &es), 1);
    cr_assert_eq(es[0].v.clock, 200);
    cr_assert_eq(es[0].v.node, 9);
    free(es);
    cr_assert_eq(count_of("n3"), 1);
}

Test(sto_rqueue, remove_only_while_the_entry_is_not_newer_than_the_push)
{
    add("n3", "b1", "k", 200, STO__RQ_ADDED);
    sto_version_t older = V(199, 7), same = V(200, 7);
    bool removed = true;
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "k", &older, &removed), 0);
    cr_assert_not(removed, "a push of an older version leaves the entry");
    cr_assert_eq(count_of("n3"), 1);
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "k", &same, &removed), 0);
    cr_assert(removed);
    cr_assert_eq(count_of("n3"), 0);
    /* Nothing there: still 0, not removed. */
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "k", &same, &removed), 0);
    cr_assert_not(removed);
    /* A newer version pushed (this node held a newer one) removes too. */
    add("n3", "b1", "k", 300, STO__RQ_ADDED);
    sto_version_t newer = V(500, 1);
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "k", &newer, &removed), 0);
    cr_assert(removed);
}

Test(sto_rqueue, an_entry_replaced_during_its_push_stays)
{
    /* The repairer read v1 and pushed it; meanwhile a write of v2
     * missed the node again and replaced the entry. */
    add("n3", "b1", "k", 100, STO__RQ_ADDED);
    add("n3", "b1", "k", 101, STO__RQ_REPLACED);
    sto_version_t pushed = V(100, 7);
    bool removed = true;
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "k", &pushed, &removed), 0);
    cr_assert_not(removed);
    sto__rq_entry_t *es = NULL;
    cr_assert_eq(scan_all("n3", &es), 1);
    cr_assert_eq(es[0].v.clock, 101);
    free(es);
}

Test(sto_rqueue, targets_are_kept_apart_and_scan_by_bucket_then_key)
{
    /* "n1" is a prefix of "n10": the separator keeps them apart. */
    add("n10", "aa", "x", 5, STO__RQ_ADDED);
    add("n1", "ab", "a", 5, STO__RQ_ADDED);
    add("n1", "a", "z", 5, STO__RQ_ADDED);
    add("n1", "a", "b/c", 5, STO__RQ_ADDED);
    add("n1", "a", "b", 5, STO__RQ_ADDED);
    add("n2", "a", "b", 5, STO__RQ_ADDED);
    sto__rq_entry_t *es = NULL;
    cr_assert_eq(scan_all("n1", &es), 4);
    const char *want[][2] = {{"a", "b"}, {"a", "b/c"}, {"a", "z"}, {"ab", "a"}};
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(es[i].node, "n1");
        cr_assert_str_eq(es[i].bucket, want[i][0]);
        cr_assert_str_eq(es[i].key, want[i][1]);
    }
    free(es);
    sto__rq_count_t *cs = NULL;
    size_t n = 0;
    cr_assert_eq(sto__rq_count(T_db, NULL, &cs, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(cs[0].node, "n1");
    cr_assert_eq(cs[0].entries, 4);
    cr_assert_str_eq(cs[1].node, "n10");
    cr_assert_eq(cs[1].entries, 1);
    cr_assert_str_eq(cs[2].node, "n2");
    cr_assert_eq(cs[2].entries, 1);
    free(cs);
    cr_assert_eq(count_of("n10"), 1);
    cr_assert_eq(count_of("n4"), 0);
}

Test(sto_rqueue, scan_pages_from_a_cursor)
{
    char key[32];
    for (int i = 0; i < 150; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        add("n3", "b1", key, 10 + (uint64_t)i, STO__RQ_ADDED);
    }
    add("n4", "b1", "k000", 1, STO__RQ_ADDED); /* never in n3's pages */
    char ab[STO_BUCKET_MAX + 1] = "", ak[STO_KEY_MAX + 1] = "";
    size_t total = 0, pages = 0;
    bool more = true;
    while (more) {
        sto__rq_entry_t *es = NULL;
        size_t n = 0;
        cr_assert_eq(sto__rq_scan(T_db, "n3", ab, ak, 64, &es, &n, &more), 0);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "k%03zu", total + i);
            cr_assert_str_eq(es[i].key, key);
            cr_assert_eq(es[i].v.clock, 10 + total + i);
        }
        total += n;
        pages++;
        if (n > 0) {
            strcpy(ab, es[n - 1].bucket);
            strcpy(ak, es[n - 1].key);
        }
        free(es);
    }
    cr_assert_eq(total, 150);
    cr_assert_eq(pages, 3);
    /* A cursor whose entry was removed meanwhile: the scan goes on after
     * it. */
    sto_version_t v = V(1000, 0);
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "k100", &v, NULL), 0);
    sto__rq_entry_t *es = NULL;
    size_t n = 0;
    cr_assert_eq(sto__rq_scan(T_db, "n3", "b1", "k100", 2, &es, &n, &more), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(es[0].key, "k101");
    cr_assert_str_eq(es[1].key, "k102");
    cr_assert(more);
    free(es);
}

Test(sto_rqueue, bad_arguments_are_refused)
{
    sto_version_t v = V(1, 1);
    char longname[STO__RQ_NODE_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cr_assert_eq(sto__rq_add(T_db, "", "b1", "k", &v, NULL), CLEO_EINVAL);
    cr_assert_eq(sto__rq_add(T_db, longname, "b1", "k", &v, NULL), CLEO_EINVAL);
    cr_assert_eq(sto__rq_add(T_db, "n3", "", "k", &v, NULL), CLEO_EINVAL);
    cr_assert_eq(sto__rq_add(T_db, "n3", "b1", "", &v, NULL), CLEO_EINVAL);
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "", &v, NULL), CLEO_EINVAL);
    sto__rq_entry_t *es = NULL;
    size_t n = 0;
    bool more;
    cr_assert_eq(sto__rq_scan(T_db, "", NULL, NULL, 0, &es, &n, &more),
                 CLEO_EINVAL);
    sto__rq_count_t *cs = NULL;
    cr_assert_eq(sto__rq_count(T_db, longname, &cs, &n), CLEO_EINVAL);
    cr_assert_eq(count_of("n3"), 0, "nothing was written");
}

Test(sto_rqueue, entries_survive_a_reopen)
{
    add("n3", "b1", "a", 100, STO__RQ_ADDED);
    add("n3", "b1", "b", 100, STO__RQ_ADDED);
    add("n2", "b1", "a", 100, STO__RQ_ADDED);
    sto_version_t v = V(100, 7);
    cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", "a", &v, NULL), 0);
    t_reopen();
    cr_assert_eq(count_of("n3"), 1);
    cr_assert_eq(count_of("n2"), 1);
    add("n3", "b1", "b", 100, STO__RQ_KEPT);
}

Test(sto_rqueue, entries_survive_kill_9)
{
    sto_db_close(T_db);
    T_db = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) { /* the writer: add, then die without closing */
        sto_opts_t o;
        t_opts(&o);
        if (sto_db_open(T_path, &o, &T_db) < 0)
            _exit(2);
        char key[16];
        for (int i = 0; i < 50; i++) {
            sto_version_t v = V(100 + (uint64_t)i, 1);
            snprintf(key, sizeof key, "k%02d", i);
            if (sto__rq_add(T_db, "n3", "b1", key, &v, NULL) < 0)
                _exit(3);
        }
        raise(SIGKILL);
        _exit(4);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
    sto_opts_t o;
    t_opts(&o);
    t_open_with(&o);
    cr_assert_eq(count_of("n3"), 50, "every acknowledged add is there");
}

/* ---- an add racing removes ------------------------------------------ */

#define RACE_N 100
#define RACE_ROUNDS 1000

/* Shared with the remover thread, through atomics. */
static int race_round;    /* the key the remover works on; -1 = stop */
static int race_ack = -1; /* the last round it finished a cycle of */
static uint64_t race_removed_max[RACE_ROUNDS]; /* the newest it removed */

/* The repairer's loop, as fast as it goes: read the entry, "push" it,
 * remove it if it still names that version. */
static void *remover(void *arg)
{
    (void)arg;
    int r;
    char key[16];
    while ((r = __atomic_load_n(&race_round, __ATOMIC_ACQUIRE)) >= 0) {
        snprintf(key, sizeof key, "k%d", r);
        sto__rq_entry_t *es = NULL;
        size_t n = 0;
        bool more, removed = false;
        if (sto__rq_scan(T_db, "n3", NULL, NULL, 1, &es, &n, &more) == 0 &&
            n == 1 && strcmp(es[0].key, key) == 0 &&
            sto__rq_remove(T_db, "n3", "b1", key, &es[0].v, &removed) == 0 &&
            removed && es[0].v.clock > race_removed_max[r])
            race_removed_max[r] = es[0].v.clock;
        free(es);
        __atomic_store_n(&race_ack, r, __ATOMIC_RELEASE);
    }
    return NULL;
}

Test(sto_rqueue, a_remove_racing_adds_never_loses_the_newest_version)
{
    sto_opts_t o;
    t_opts(&o);
    o.no_sync = true; /* many writes: the race is the point, not the disk */
    sto_db_close(T_db);
    t_open_with(&o);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, remover, NULL), 0);
    char key[16];
    for (int round = 0; round < RACE_ROUNDS; round++) {
        snprintf(key, sizeof key, "k%d", round);
        while (__atomic_load_n(&race_ack, __ATOMIC_ACQUIRE) != round)
            ; /* the remover is on this round's key */
        for (uint64_t c = 1; c <= RACE_N; c++) {
            sto_version_t v = V(c, 1);
            cr_assert_eq(sto__rq_add(T_db, "n3", "b1", key, &v, NULL), 0);
        }
        int next = round + 1 < RACE_ROUNDS ? round + 1 : -1;
        __atomic_store_n(&race_round, next, __ATOMIC_RELEASE);
        while (next >= 0 &&
               __atomic_load_n(&race_ack, __ATOMIC_ACQUIRE) != next)
            ; /* the remover has left this round's key */
        if (next < 0)
            pthread_join(th, NULL);
        sto__rq_entry_t *es = NULL;
        size_t n = scan_all("n3", &es);
        /* The last add (RACE_N) is either still queued, or a remove took
         * exactly it: never removed by a push of an older version. */
        if (n == 1)
            cr_assert_eq(es[0].v.clock, RACE_N);
        else
            cr_assert_eq(race_removed_max[round], RACE_N,
                         "round %d: the newest entry was lost", round);
        free(es);
        sto_version_t last = V(RACE_N, 1);
        cr_assert_eq(sto__rq_remove(T_db, "n3", "b1", key, &last, NULL), 0);
    }
}
