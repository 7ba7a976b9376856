/*
 * node.c - run one node: lock the data directory, start the runtime and
 * the application, then wait for a signal or for the tree to give up.
 *
 * Signals are blocked in every thread (the runtime's threads inherit the
 * mask of the thread that creates them) and taken synchronously by the
 * main thread with sigtimedwait(), so no runtime function ever runs in a
 * signal handler.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/actors.h"
#include "cluster.h"
#include "runtime/rt.h"
#include "tree.h"
#include "util.h"

/* How often the main thread checks whether the tree gave up. */
#define NODE_POLL_MS 200

static void signals_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    /* A peer that goes away must surface as EPIPE, not kill the node. */
    signal(SIGPIPE, SIG_IGN);
}

/* One node per data directory: an flock held for the node's lifetime
 * (released by the kernel when it dies, however it dies). */
static int lock_data(const node_opts_t *o)
{
    int fd = util_lock(o->lock_path);
    if (fd == -EWOULDBLOCK)
        fprintf(stderr, "cleo: data directory %s is in use by another node\n",
                o->data);
    else if (fd < 0)
        fprintf(stderr, "cleo: %s: %s\n", o->lock_path, strerror(-fd));
    return fd;
}

/* The gateway's view of the configuration. Static: the gateway borrows
 * it for the node's life. */
static const gw_conf_t *node_gw_conf(const cfg_t *c)
{
    static gw_conf_t g;
    gw_conf_init(&g);
    g.host = c->gw_host;
    g.port = (uint16_t)c->gw_port;
    g.rest_port = (uint16_t)c->gw_rest_port;
    g.rest_token = c->gw_rest_token;
    g.https_port = (uint16_t)c->gw_https_port;
    g.https_cert = c->gw_https_cert;
    g.https_key = c->gw_https_key;
    g.region = c->gw_region;
    g.domain = c->gw_domain;
    g.max_header_bytes = c->gw_max_header_bytes;
    g.max_headers = c->gw_max_headers;
    g.max_key_bytes = c->gw_max_key_bytes;
    g.max_put_bytes = (uint64_t)c->gw_max_put_mb << 20;
    g.idle_timeout_ms = c->gw_idle_timeout_ms;
    g.header_timeout_ms = c->gw_header_timeout_ms;
    g.max_conns = c->gw_max_conns;
    g.cache_max_bytes = c->gw_cache_max_bytes;
    g.cache_max_object_bytes = c->gw_cache_max_object_bytes;
    /* A gateway without local storage or manager uses the peer's. */
    static char peer[sizeof c->cluster_nodes];
    if ((c->roles & (CFG_ROLE_STORAGE | CFG_ROLE_MANAGER)) !=
        (CFG_ROLE_STORAGE | CFG_ROLE_MANAGER))
        g.peer = node_first_peer(c, peer, sizeof peer);
    /* In a cluster the RING and the buckets are the managers': the
     * gateway keeps its view of them for the node's life. */
    static gw_view_t *view;
    if (c->cluster_managers[0] != '\0' && view == NULL)
        view = gw_view_new();
    g.view = view;
    return &g;
}

/* FNV-1a 64 of the node's name: its id in the object versions its
 * storage stamps (sto_opts_t.node_id, the tie-break of equal clocks). */
static uint64_t node_id_of(const char *name)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return h;
}

/* The storage actors' view of the configuration (static: the tree copies
 * it, but its path must outlive the application). */
static const sto_engine_conf_t *node_sto_conf(const cfg_t *c, const char *data)
{
    static char path[4096 + 16];
    static sto_engine_conf_t s;
    snprintf(path, sizeof path, "%s/storage", data);
    sto_engine_conf_init(&s, path);
    s.opts.chunk_size = c->sto_chunk_size;
    s.opts.tombstone_ttl_ms = (uint64_t)c->sto_tombstone_ttl_s * 1000;
    s.opts.cache_bytes = c->sto_cache_bytes;
    s.opts.reserve_bytes = (uint64_t)c->sto_reserve_mb << 20;
    /* A single node (distribution off) keeps 0, as sto_opts_init. */
    s.opts.node_id = c->dist_port != 0 ? node_id_of(c->node_name) : 0;
    s.scrub_interval_ms = (uint64_t)c->sto_scrub_interval_s * 1000;
    s.compact_interval_ms = (uint64_t)c->sto_compact_interval_s * 1000;
    s.mailbox_limit = c->sto_mailbox_limit;
    s.debug_write_delay_ms = c->debug_storage_write_delay_ms;
    return &s;
}

static int start(const node_opts_t *o, int beat_fd, unsigned incarnation,
                 rt_t **rt, app_t **app)
{
    const cfg_t *c = o->cfg;
    rt_opts_t ro = {.schedulers = c->schedulers,
                    .max_actors = c->max_actors,
                    .dirty_threads = c->dirty_threads,
                    .io_threads = c->io_threads,
                    .long_turn_ms = c->long_turn_ms,
                    .long_mqueue = c->long_mqueue};
    int rc = rt_new(&ro, rt);
    if (rc < 0) {
        fprintf(stderr, "cleo: runtime: %s\n", cleo_strerror(rc));
        return rc;
    }
    if ((rc = node_dist_start(*rt, c, o->data)) < 0) {
        rt_free(*rt);
        *rt = NULL;
        return rc;
    }
    static char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "http://%s:%u", c->gw_host, c->gw_port);
    tree_env_t env = {
        .node = c->node_name,
        .sock_path = o->sock_path,
        .log_path = strcmp(c->log_file, "-") == 0 ? NULL : c->log_file,
        .log_level = c->log_level,
        .tcp_port = (uint16_t)c->admin_tcp_port,
        .token = o->token,
        .beat_fd = beat_fd,
        /* Only the first run hangs, so a test sees heart recover. */
        .hang_after_ms = incarnation == 0 ? c->debug_hang_after_ms : 0,
        .storage = node_sto_conf(c, o->data),
        .data_dir = o->data,
        .gw = node_gw_conf(c),
        .s3_endpoint = endpoint,
        .roles = c->roles,
        .cluster = node_cluster_opts(c, o->data),
    };
    env.raft = node_is_manager(env.cluster, c->roles);
    if (env.cluster != NULL && env.cluster->node == NULL) {
        rt_free(*rt);
        *rt = NULL;
        return CLEO_EINVAL;
    }
    tree_configure(&env);
    /* A node killed with SIGKILL leaves its socket behind; the data lock
     * proves no live node owns it. */
    unlink(o->sock_path);
    if ((rc = app_start(*rt, &tree_app, app)) < 0) {
        fprintf(stderr, "cleo: start-up failed: %s (%s)\n", cleo_strerror(rc),
                cleo_err_name(rc));
        rt_free(*rt);
        *rt = NULL;
        return rc;
    }
    /* Test-only, and only the first run, so a test sees heart recover. */
    if (incarnation == 0 && c->debug_hang_pinned_ms > 0 &&
        (rc = tree_debug_hang_start(*rt, c->debug_hang_pinned_ms)) < 0)
        fprintf(stderr, "cleo: debug.hang_pinned_after_ms: %s\n",
                cleo_strerror(rc));
    return 0;
}

static void announce(rt_t *rt, const node_opts_t *o)
{
    const cfg_t *c = o->cfg;
    int rc = util_pidfile_write(o->pid_path, getpid());
    if (rc < 0)
        fprintf(stderr, "cleo: %s: %s\n", o->pid_path, strerror(-rc));
    char tcp[64] = "";
    if (c->admin_tcp_port)
        snprintf(tcp, sizeof(tcp), "; admin tcp 127.0.0.1:%u",
                 c->admin_tcp_port);
    printf("cleo: node %s up; data %s; admin socket %s%s\n", c->node_name,
           o->data, o->sock_path, tcp);
    fflush(stdout);
    logger_log(rt, LOG_NOTICE, "cleo: node %s up; data %s; admin socket %s%s",
               c->node_name, o->data, o->sock_path, tcp);
    rt_stats_t st;
    rt_stats(rt, &st);
    logger_log(rt, LOG_INFO,
               "pid %ld; %u schedulers; max %u actors; log level %s",
               (long)getpid(), st.schedulers, st.max_actors,
               cfg_level_name(c->log_level));
}

static void reopen_log(rt_t *rt)
{
    rt_pid_t logger = rt_whereis(rt, "logger");
    if (logger != RT_PID_NONE)
        gen_server_cast(rt, logger, rt_msg_new(LOG_MSG_REOPEN));
    logger_log(rt, LOG_NOTICE, "SIGHUP: log file reopened");
}

/* Wait for SIGINT/SIGTERM (returns the signal) or for the top supervisor
 * to exit (returns 0 and sets *reason). SIGHUP reopens the log. */
static int wait_stop(rt_t *rt, app_t *app, const sigset_t *set, int *reason)
{
    struct timespec ts = {0, NODE_POLL_MS * 1000000L};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            return sig;
        if (sig == SIGHUP)
            reopen_log(rt);
        if (app_wait(app, 0, reason) == 0)
            return 0;
    }
}

int node_run(void *arg, int beat_fd, unsigned incarnation)
{
    const node_opts_t *o = arg;
    sigset_t set;
    signals_block(&set);
    int lock = lock_data(o);
    if (lock < 0)
        return 1;
    rt_t *rt = NULL;
    app_t *app = NULL;
    if (start(o, beat_fd, incarnation, &rt, &app) < 0) {
        close(lock);
        return 1;
    }
    announce(rt, o);
    int reason = 0, code = 0;
    int sig = wait_stop(rt, app, &set, &reason);
    if (sig != 0) {
        logger_log(rt, LOG_NOTICE, "%s: node %s stopping",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", o->cfg->node_name);
        if (app_stop(app, NODE_STOP_TIMEOUT_MS) < 0) {
            fprintf(stderr, "cleo: the tree did not stop within %u s\n",
                    NODE_STOP_TIMEOUT_MS / 1000);
            util_pidfile_remove(o->pid_path, getpid());
            /* An actor that will not die would block rt_free forever. */
            _exit(1);
        }
    } else {
        fprintf(stderr, "cleo: cleo_sup exited (%s); node %s stopping\n",
                rt_reason_name(reason), o->cfg->node_name);
        code = 1;
    }
    app_free(app);
    rt_free(rt);
    /* The introspection server removes its socket when it stops; this
     * covers a server that could not. */
    unlink(o->sock_path);
    if (beat_fd >= 0)
        close(beat_fd);
    util_pidfile_remove(o->pid_path, getpid());
    close(lock);
    return code;
}
