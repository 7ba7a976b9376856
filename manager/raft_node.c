/*
 * raft_node.c - the Raft thread: its uv loop, the queue the Raft actor
 * fills, and raft's life on it (open, bootstrap, start; close).
 *
 * Start-up runs on the thread (so that every raft_* call does) while the
 * actor's init waits for its result; shutdown is raft_close(), then
 * raft_uv_close() in its callback, then the thread's own handles, and the
 * loop runs until every handle is closed before the thread ends.
 */
#include "manager/raft_node.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- private payloads (shared by the raft*.c files) ----------------- */

mgr__raft_priv_t *mgr__raft_priv_new(void)
{
    mgr__raft_priv_t *p = cleo_xcalloc(1, sizeof *p);
    p->fd = -1;
    return p;
}

void mgr__raft_priv_free(void *v)
{
    mgr__raft_priv_t *p = v;
    if (p == NULL)
        return;
    if (p->fd >= 0)
        (void)close(p->fd);
    rt_buf_unref(p->buf);
    if (p->pb != NULL)
        protobuf_c_message_free_unpacked(p->pb, NULL);
    free(p);
}

rt_msg_t *mgr__raft_priv_msg(uint32_t type, mgr__raft_priv_t *p)
{
    rt_msg_t *m = rt_msg_new(type);
    m->payload = p;
    m->payload_free = mgr__raft_priv_free;
    return m;
}

mgr__raft_priv_t *mgr__raft_priv_of(const rt_msg_t *m)
{
    return m->payload != NULL && m->payload_free == mgr__raft_priv_free
               ? m->payload
               : NULL;
}

void *mgr__raft_pb_of(const rt_msg_t *m, const ProtobufCMessageDescriptor *d)
{
    rt_msg_t probe = {0};
    rt_msg_set_pb(&probe, NULL); /* learns the runtime's pb free function */
    const ProtobufCMessage *pb = m->payload;
    return pb != NULL && m->payload_free == probe.payload_free &&
                   pb->descriptor == d
               ? m->payload
               : NULL;
}

rt_msg_t *mgr__raft_result_msg(uint32_t type, int status, const char *detail)
{
    Cleo__Cluster__CommandResult *r = cleo_xmalloc(sizeof *r);
    cleo__cluster__command_result__init(r);
    r->status = status;
    r->detail = mgr__fsm_strdup(detail);
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, r);
    m->reason = status;
    return m;
}

/* ---- the queue -------------------------------------------------------- */

void mgr__raft_op_free(mgr__raft_op_t *op)
{
    if (op == NULL)
        return;
    if (op->payload != NULL && op->payload_free != NULL)
        op->payload_free(op->payload);
    free(op);
}

void mgr__raft_node_post(mgr__raft_node_t *n, mgr__raft_op_t *op)
{
    op->next = NULL;
    pthread_mutex_lock(&n->lock);
    if (n->tail != NULL)
        n->tail->next = op;
    else
        n->head = op;
    n->tail = op;
    pthread_mutex_unlock(&n->lock);
    uv_async_send(&n->wake);
}

/* ---- closing ------------------------------------------------------------ */

static void close_handles(mgr__raft_node_t *n)
{
    uv_close((uv_handle_t *)&n->wake, NULL);
    uv_close((uv_handle_t *)&n->check, NULL);
    uv_close((uv_handle_t *)&n->sweep, NULL);
}

/* raft is closed (all its I/O done): release raft_uv, then our handles. */
static void on_raft_closed(struct raft *r)
{
    mgr__raft_node_t *n = r->data;
    mgr__raft_guard_unwrap(&n->guard);
    raft_uv_close(&n->io);
    mgr__raft_ops_close(n);
    close_handles(n);
}

static void begin_close(mgr__raft_node_t *n)
{
    if (n->closing)
        return;
    n->closing = true;
    if (n->raft_inited)
        raft_close(&n->raft, on_raft_closed);
    else
        close_handles(n);
}

/* ---- the loop's callbacks -------------------------------------------- */

static void on_wake(uv_async_t *a)
{
    mgr__raft_node_t *n = a->data;
    pthread_mutex_lock(&n->lock);
    mgr__raft_op_t *op = n->head;
    n->head = n->tail = NULL;
    bool stop = n->stop;
    pthread_mutex_unlock(&n->lock);
    while (op != NULL) {
        mgr__raft_op_t *next = op->next;
        if (n->closing)
            mgr__raft_op_free(op); /* its caller hears of the actor's end */
        else
            mgr__raft_ops_run(n, op);
        op = next;
    }
    if (stop)
        begin_close(n);
}

static void on_check(uv_check_t *c)
{
    mgr__raft_node_t *n = c->data;
    if (n->transport_closing && n->conns == NULL &&
        n->transport_close_cb != NULL) {
        /* Deferred to here: raft_uv must not see its transport closed
         * inside its own close call. */
        raft_uv_transport_close_cb cb = n->transport_close_cb;
        n->transport_close_cb = NULL;
        cb(&n->transport);
    }
    if (n->closing)
        return;
    mgr__raft_guard_poll(&n->guard, &n->raft);
    mgr__raft_ops_check(n);
}

static void on_sweep(uv_timer_t *t)
{
    mgr__raft_node_t *n = t->data;
    if (!n->closing)
        mgr__raft_ops_sweep(n);
}

/* ---- start-up ----------------------------------------------------------- */

static int loop_open(mgr__raft_node_t *n)
{
    int rc = uv_loop_init(&n->loop);
    if (rc < 0)
        return rc;
    (void)uv_async_init(&n->loop, &n->wake, on_wake);
    (void)uv_check_init(&n->loop, &n->check);
    (void)uv_timer_init(&n->loop, &n->sweep);
    n->wake.data = n->check.data = n->sweep.data = n;
    (void)uv_check_start(&n->check, on_check);
    (void)uv_timer_start(&n->sweep, on_sweep, n->election_ms, n->election_ms);
    return 0;
}

static bool is_manager(const mgr__raft_node_t *n)
{
    for (size_t i = 0; i < n->n_managers; i++)
        if (strcmp(n->managers[i], n->name) == 0)
            return true;
    return false;
}

/* Bootstrap the configuration of every manager on a pristine directory;
 * a directory with a log says RAFT_CANTBOOTSTRAP, which is fine. */
static int bootstrap(mgr__raft_node_t *n)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    int rv = 0;
    for (size_t i = 0; i < n->n_managers && rv == 0; i++)
        rv = raft_configuration_add(&conf, mgr__raft_id(n->managers[i]),
                                    n->managers[i], RAFT_VOTER);
    if (rv == 0)
        rv = raft_bootstrap(&n->raft, &conf);
    raft_configuration_close(&conf);
    return rv == RAFT_CANTBOOTSTRAP ? 0 : rv;
}

static void raft_settings(mgr__raft_node_t *n)
{
    struct raft *r = &n->raft;
    raft_set_election_timeout(r, n->election_ms);
    raft_set_heartbeat_timeout(r, n->heartbeat_ms);
    raft_set_snapshot_threshold(r, n->threshold);
    raft_set_snapshot_trailing(r, n->trailing);
    raft_set_pre_vote(r, true);
    /* A leader waits this long for an InstallSnapshot's result before it
     * sends the snapshot again (0.15 ignores the heartbeats' answers
     * meanwhile), and a result can be lost with a connection: 30 s by
     * default, 10 election timeouts here. */
    raft_set_install_snapshot_timeout(r, 10 * n->election_ms);
}

/* raft_uv, raft_init, bootstrap, raft_start. On failure one line on
 * stderr; what was opened is closed by begin_close(). */
static int raft_open(mgr__raft_node_t *n)
{
    int rv;
    if (mkdir(n->dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "cleo: raft: %s: %s\n", n->dir, strerror(errno));
        return CLEO_ESTORAGE;
    }
    mgr__raft_transport_init(n);
    if ((rv = raft_uv_init(&n->io, &n->loop, n->dir, &n->transport)) != 0) {
        fprintf(stderr, "cleo: raft: %s: %s\n", n->dir, n->io.errmsg);
        return CLEO_ESTORAGE;
    }
    unsigned retry = n->election_ms / 5;
    raft_uv_set_connect_retry_delay(&n->io, retry < 20 ? 20 : retry);
    mgr__raft_guard_wrap(&n->guard, &n->io);
    n->fsm_cb = (struct raft_fsm){.version = 1,
                                  .data = n,
                                  .apply = mgr__raft_fsm_apply,
                                  .snapshot = mgr__raft_fsm_snapshot,
                                  .restore = mgr__raft_fsm_restore};
    if ((rv = raft_init(&n->raft, &n->io, &n->fsm_cb, n->id, n->name)) != 0) {
        fprintf(stderr, "cleo: raft: %s: %s\n", n->dir, raft_errmsg(&n->raft));
        mgr__raft_guard_unwrap(&n->guard);
        raft_uv_close(&n->io);
        return CLEO_ESTORAGE;
    }
    n->raft.data = n;
    n->raft_inited = true;
    raft_settings(n);
    if ((is_manager(n) && (rv = bootstrap(n)) != 0) ||
        (rv = raft_start(&n->raft)) != 0) {
        fprintf(stderr, "cleo: raft: %s: %s\n", n->dir, raft_errmsg(&n->raft));
        return CLEO_ESTORAGE;
    }
    return 0;
}

static void *thread_main(void *arg)
{
    mgr__raft_node_t *n = arg;
    /* A write to a socketpair whose far end is gone fails with EPIPE;
     * blocked here, its SIGPIPE stays pending on this thread, harmless. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int rc = loop_open(n);
    if (rc == 0 && (rc = raft_open(n)) < 0) {
        begin_close(n);
        uv_run(&n->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&n->loop);
    }
    pthread_mutex_lock(&n->lock);
    n->started = true;
    n->start_rc = rc;
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
    if (rc < 0)
        return NULL;
    uv_run(&n->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&n->loop);
    return NULL;
}

/* ---- the node ---------------------------------------------------------- */

static uint64_t nonce(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    return (uint64_t)v << 32;
}

static void node_release(mgr__raft_node_t *n)
{
    mgr__raft_op_t *op = n->head;
    while (op != NULL) {
        mgr__raft_op_t *next = op->next;
        mgr__raft_op_free(op);
        op = next;
    }
    mgr__fsm_destroy(&n->fsm);
    for (size_t i = 0; i < n->n_managers; i++)
        free(n->managers[i]);
    free(n->dir);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

static mgr__raft_node_t *node_make(rt_t *rt, rt_pid_t actor, rt_pid_t bridge,
                                   const mgr__raft_opts_t *o)
{
    mgr__raft_node_t *n = cleo_xcalloc(1, sizeof *n);
    n->rt = rt;
    n->actor = actor;
    n->bridge = bridge;
    snprintf(n->name, sizeof n->name, "%s", o->node);
    n->id = mgr__raft_id(o->node);
    n->dir = cleo_xmalloc(strlen(o->dir) + 1);
    strcpy(n->dir, o->dir);
    for (size_t i = 0; i < o->n_managers; i++) {
        n->managers[i] = cleo_xmalloc(strlen(o->managers[i]) + 1);
        strcpy(n->managers[i], o->managers[i]);
    }
    n->n_managers = o->n_managers;
    n->election_ms = o->election_timeout_ms ? o->election_timeout_ms : 1000;
    n->heartbeat_ms =
        o->heartbeat_timeout_ms ? o->heartbeat_timeout_ms : n->election_ms / 10;
    if (n->heartbeat_ms == 0)
        n->heartbeat_ms = 1;
    n->threshold = o->snapshot_threshold ? o->snapshot_threshold : 1024;
    n->trailing = o->snapshot_trailing ? o->snapshot_trailing : n->threshold;
    n->connect_ms = 2 * n->election_ms + 500;
    n->seq = nonce();
    n->dirty = true; /* the first pass tells the actor the loaded state */
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    mgr__fsm_init(&n->fsm);
    return n;
}

int mgr__raft_node_new(rt_t *rt, rt_pid_t actor, rt_pid_t bridge,
                       const mgr__raft_opts_t *o, mgr__raft_node_t **out)
{
    mgr__raft_node_t *n = node_make(rt, actor, bridge, o);
    int rc = pthread_create(&n->thread, NULL, thread_main, n);
    if (rc != 0) {
        node_release(n);
        return -rc;
    }
    pthread_mutex_lock(&n->lock);
    while (!n->started)
        pthread_cond_wait(&n->cond, &n->lock);
    rc = n->start_rc;
    pthread_mutex_unlock(&n->lock);
    if (rc < 0) {
        pthread_join(n->thread, NULL);
        node_release(n);
        return rc;
    }
    *out = n;
    return 0;
}

void mgr__raft_node_free(mgr__raft_node_t *n)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->lock);
    n->stop = true;
    pthread_mutex_unlock(&n->lock);
    uv_async_send(&n->wake);
    pthread_join(n->thread, NULL);
    node_release(n);
}

uint64_t mgr__raft_id(const char *node)
{
    uint64_t id = raft_digest(node, 0);
    return id != 0 ? id : 1;
}
