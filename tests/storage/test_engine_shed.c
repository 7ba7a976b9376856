/*
 * test_engine_shed.c - the engine's load shedding (storage/engine.c,
 * sto_engine_conf_t.mailbox_limit): the engine is spawned with the
 * limit as its mailbox limit; past the limit of writes on the pools a
 * new write is answered CLEO_EOVERLOAD and leaves nothing behind, while
 * reads, maintenance and a stream already open go on. A slow disk is
 * the test-only write delay (debug_write_delay_ms). Each test runs its
 * own runtime and supervisor over a fresh temporary directory.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define TMO 20000u
#define DELAY_MS 500u /* each write job's wait: the slow disk */
#define NPUT 8        /* concurrent writers */

static char T_dir[64];
static char T_path[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static rt_inbox_t *T_owner; /* the streams' owner */
static sto_engine_conf_t T_conf;

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

/* An engine with the given limit and write delay, and the bucket "bkt"
 * (its create is a write: it waits delay_ms too). */
static void start(uint32_t limit, uint32_t delay_ms)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-shed-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    T_conf.opts.no_sync = true;
    T_conf.mailbox_limit = limit;
    T_conf.debug_write_delay_ms = delay_ms;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_eq(rt_inbox_new(T_rt, &T_owner), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
}

static void setup_limited(void)
{
    start(2, DELAY_MS);
}

static void setup_unbounded(void)
{
    start(0, DELAY_MS);
}

static void teardown(void)
{
    rt_inbox_free(T_owner);
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_shed, .init = setup_limited, .fini = teardown, .timeout = 120);
TestSuite(sto_shed_off, .init = setup_unbounded, .fini = teardown,
          .timeout = 120);

static rt_pid_t engine(void)
{
    return rt_whereis(T_rt, STO_ENGINE_NAME);
}

static rt_buf_t *body(size_t n, uint32_t s)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(n, &b), 0);
    for (size_t i = 0; i < n; i++)
        rt_buf_data(b)[i] = (char)(i * 31 + s);
    cr_assert_eq(rt_buf_set_len(b, n), 0);
    return b;
}

/* NPUT one-shot PUTs at once, each from its own thread. */
typedef struct {
    pthread_t th;
    char key[16];
    int rc;
} writer_t;

static void *write_one(void *arg)
{
    writer_t *w = arg;
    w->rc = sto_client_put_sync(T_rt, "bkt", w->key, body(1000, 7), NULL, NULL);
    return NULL;
}

static void put_all(writer_t *w, size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(w[i].key, sizeof w[i].key, "%s%zu", prefix, i);
        cr_assert_eq(pthread_create(&w[i].th, NULL, write_one, &w[i]), 0);
    }
}

static void join_all(writer_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pthread_join(w[i].th, NULL), 0);
}

/* Call `to` (a stream or the engine); the reply's status. */
static int call(rt_pid_t to, rt_msg_t *req, rt_msg_t **out)
{
    rt_msg_t *reply = NULL;
    int rc = gen_server_call_sync(T_rt, to, req, TMO, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (out != NULL)
        *out = reply;
    else
        rt_msg_free(reply);
    return rc;
}

static int put_begin(const char *key, rt_pid_t *out)
{
    Cleo__Storage__PutReq *r = calloc(1, sizeof *r);
    cleo__storage__put_req__init(r);
    r->bucket = strdup("bkt");
    r->key = strdup(key);
    r->content_type = strdup("");
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT_BEGIN);
    rt_msg_set_pb(m, r);
    m->arg = rt_inbox_pid(T_owner);
    rt_msg_t *reply = NULL;
    int rc = call(engine(), m, &reply);
    if (rc == 0)
        *out = reply->from; /* the stream answers for itself */
    rt_msg_free(reply);
    return rc;
}

static int put_write(rt_pid_t st, size_t n)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_WRITE);
    rt_msg_set_buf(m, body(n, 3));
    return call(st, m, NULL);
}

static int put_commit(rt_pid_t st, int64_t size)
{
    Cleo__Storage__PutCommit *c = calloc(1, sizeof *c);
    cleo__storage__put_commit__init(c);
    c->size = size;
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    return call(st, m, NULL);
}

/* Is the object there (0), absent (CLEO_ENOTFOUND), or an error? */
static int head(const char *key)
{
    Cleo__Storage__ObjectInfo *oi = NULL;
    int rc = sto_client_head_sync(T_rt, "bkt", key, &oi);
    if (oi != NULL)
        protobuf_c_message_free_unpacked(&oi->base, NULL);
    return rc;
}

Test(sto_shed, the_engine_is_spawned_with_the_limit_as_its_mailbox_limit)
{
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(T_rt, engine(), &info), 0);
    cr_assert_eq(info.mailbox_limit, 2);
}

Test(sto_shed_off, a_zero_limit_leaves_the_mailbox_unbounded)
{
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(T_rt, engine(), &info), 0);
    cr_assert_eq(info.mailbox_limit, 0);
    cr_assert_not(rt_is_overloaded(T_rt, engine()));
}

Test(sto_shed, writes_past_the_limit_are_refused_and_leave_nothing)
{
    writer_t w[NPUT];
    put_all(w, NPUT, "k");
    join_all(w, NPUT);
    int ok = 0, shed = 0;
    for (size_t i = 0; i < NPUT; i++) {
        cr_assert(w[i].rc == 0 || w[i].rc == CLEO_EOVERLOAD, "%s: %d", w[i].key,
                  w[i].rc);
        if (w[i].rc == 0) {
            ok++;
            cr_assert_eq(head(w[i].key), 0, "%s was stored", w[i].key);
        } else {
            shed++;
            cr_assert_eq(head(w[i].key), CLEO_ENOTFOUND,
                         "%s was refused: nothing of it", w[i].key);
        }
    }
    /* The first two are taken; the others come while they wait on the
     * slow disk (DELAY_MS, far longer than starting the threads). */
    cr_assert(ok >= 1 && ok <= 2, "%d stored", ok);
    cr_assert_eq(shed, NPUT - ok);
    /* The backlog gone, writes are taken again. */
    cr_assert_eq(
        sto_client_put_sync(T_rt, "bkt", "after", body(10, 1), NULL, NULL), 0);
}

Test(sto_shed_off, without_a_limit_every_write_waits_its_turn)
{
    writer_t w[NPUT];
    put_all(w, NPUT, "k");
    join_all(w, NPUT);
    for (size_t i = 0; i < NPUT; i++) {
        cr_assert_eq(w[i].rc, 0, "%s: %d", w[i].key, w[i].rc);
        cr_assert_eq(head(w[i].key), 0);
    }
}

Test(sto_shed, reads_are_not_held_back_by_a_write_backlog)
{
    cr_assert_eq(sto_client_put_sync(T_rt, "bkt", "r", body(10, 1), NULL, NULL),
                 0);
    writer_t w[NPUT];
    put_all(w, NPUT, "k");
    /* Writes are at the limit for DELAY_MS: a read is still served. */
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    cr_assert_eq(head("r"), 0);
    join_all(w, NPUT);
}

Test(sto_shed, a_new_stream_is_refused_but_an_open_one_completes)
{
    rt_pid_t st;
    cr_assert_eq(put_begin("streamed", &st), 0);
    cr_assert_eq(put_write(st, 4096), 0);
    writer_t w[NPUT];
    put_all(w, NPUT, "k");
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    /* The writes are at the limit: a new stream is refused at once... */
    rt_pid_t st2 = RT_PID_NONE;
    cr_assert_eq(put_begin("refused", &st2), CLEO_EOVERLOAD);
    /* ...while the open one goes on to its commit. */
    cr_assert_eq(put_write(st, 4096), 0);
    cr_assert_eq(put_commit(st, 8192), 0);
    join_all(w, NPUT);
    cr_assert_eq(head("streamed"), 0);
    cr_assert_eq(head("refused"), CLEO_ENOTFOUND);
}
