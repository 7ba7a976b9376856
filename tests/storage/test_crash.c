/*
 * test_crash.c - kill -9 a writer 20 times at random points (fixed seed)
 * and check after each restart that every acknowledged object is there
 * with its ETag and bytes, and that nothing is partially visible: every
 * visible object is a complete version that was attempted, the
 * bucket's stats agree with what is visible, and the chunks of the
 * interrupted put were freed at open.
 */
#include <signal.h>
#include <sys/wait.h>

#include "stot.c"

/* After stot.c: the writer uses its helpers. */
#include "crash_writer.c"

#define ROUNDS 20
#define MAXREC 20000

typedef struct {
    char key[32];
    bool acked;      /* some version was acknowledged */
    uint32_t a_seed; /* the last acknowledged version */
    size_t a_size;
    char a_etag[33];
    bool pending; /* an attempt after the last ack */
    uint32_t p_seed;
    size_t p_size;
    char p_etag[33];
} rec_t;

static rec_t recs[MAXREC];
static size_t nrecs;

TestSuite(sto_crash, .init = t_setup, .fini = t_teardown);

static rec_t *rec_find(const char *key, bool add)
{
    for (size_t i = 0; i < nrecs; i++)
        if (strcmp(recs[i].key, key) == 0)
            return &recs[i];
    if (!add)
        return NULL;
    cr_assert(nrecs < MAXREC);
    rec_t *r = &recs[nrecs++];
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    return r;
}

static void on_line(char *line, int *acks)
{
    char key[32], etag[33];
    unsigned seed;
    size_t size;
    if (sscanf(line, "T %31s %u %zu %32s", key, &seed, &size, etag) == 4) {
        rec_t *r = rec_find(key, true);
        r->pending = true;
        r->p_seed = seed;
        r->p_size = size;
        memcpy(r->p_etag, etag, 33);
    } else if (sscanf(line, "A %31s", key) == 1) {
        rec_t *r = rec_find(key, false);
        cr_assert(r != NULL && r->pending, "ack without attempt: %s", key);
        r->acked = true;
        r->pending = false;
        r->a_seed = r->p_seed;
        r->a_size = r->p_size;
        memcpy(r->a_etag, r->p_etag, 33);
        (*acks)++;
    } else {
        cr_assert_fail("bad line from the writer: %s", line);
    }
}

/* Fork a writer, kill it after `after` acks plus a random delay. */
static void round_run(int round, unsigned *seed)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_writer_run(T_path, round, fds[1]);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    int after = 1 + rand_r(seed) % 40, acks = 0;
    bool killed = false;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        on_line(line, &acks);
        if (!killed && acks >= after) {
            usleep((useconds_t)(rand_r(seed) % 4000));
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    free(line);
    fclose(f);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
              "writer exited by itself (status %d)", st);
}

/* What survives for r must be the last ack or the one attempt after it,
 * whole; a key never acknowledged may also be absent. */
static void check_rec(const rec_t *r, uint64_t *objs, uint64_t *bytes,
                      uint64_t *chunks)
{
    sto_meta_t *m = NULL;
    int rc = sto_head(T_db, "crash", r->key, &m);
    if (rc == CLEO_ENOTFOUND) {
        cr_assert(!r->acked, "acknowledged %s is missing", r->key);
        return;
    }
    cr_assert_eq(rc, 0);
    bool is_a = r->acked && strcmp(m->etag, r->a_etag) == 0;
    bool is_p = r->pending && strcmp(m->etag, r->p_etag) == 0;
    cr_assert(is_a || is_p, "%s has etag %s: neither acked nor pending", r->key,
              m->etag);
    uint32_t seed = is_a ? r->a_seed : r->p_seed;
    size_t size = is_a ? r->a_size : r->p_size;
    cr_assert_eq(m->size, size);
    sto_meta_free(m);
    cr_assert_eq(t_get_check("crash", r->key, NULL, seed, 50000), (ssize_t)size,
                 "%s unreadable", r->key);
    (*objs)++;
    *bytes += size;
    *chunks += (size + T_CHUNK - 1) / T_CHUNK;
}

static void verify_all(void)
{
    uint64_t objs = 0, bytes = 0, chunks = 0;
    for (size_t i = 0; i < nrecs; i++)
        check_rec(&recs[i], &objs, &bytes, &chunks);
    /* Interrupted puts were swept at open: no orphan chunks. */
    cr_assert_eq(t_data_count(), chunks);
    sto_list_opts_t lo = {.max_keys = MAXREC};
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "crash", &lo, &l), 0);
    cr_assert_eq(l->n_entries, objs, "visible objects nobody wrote");
    sto_list_free(l);
    sto_bucket_info_t info;
    cr_assert_eq(sto_bucket_du(T_db, "crash", &info), 0);
    cr_assert_eq(info.objects, objs);
    cr_assert_eq(info.bytes, bytes);
}

Test(sto_crash, acknowledged_writes_survive_kill_9, .timeout = 300)
{
    sto_db_close(T_db); /* the writer owns the DB while it runs */
    T_db = NULL;
    unsigned seed = 20261125;
    size_t acked = 0;
    for (int round = 0; round < ROUNDS; round++) {
        round_run(round, &seed);
        t_reopen();
        verify_all();
        sto_db_close(T_db);
        T_db = NULL;
    }
    for (size_t i = 0; i < nrecs; i++)
        acked += recs[i].acked;
    cr_log_info("%zu keys, %zu acknowledged, over %d kills", nrecs, acked,
                ROUNDS);
    cr_expect_gt(acked, ROUNDS);
    t_reopen();
}
