/*
 * tree.c - the node's supervision tree and the heartbeat actor.
 *
 * The tree is static const child spec tables (STYLE rule 48). cleo_sup's
 * children are kernel_sup and the rows of the node's roles (node.roles),
 * picked from the const table once per start.
 */
#include "tree.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "actors/actors.h"
#include "config.h"
#include "manager/mgr.h"
#include "runtime/rt.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

static tree_env_t env;

/* The storage actors' conf: static, as their child specs point at it. */
static sto_engine_conf_t sto_conf;

void tree_configure(const tree_env_t *e)
{
    env = *e;
    sto_conf = *e->storage;
}

/* ---- the heartbeat actor --------------------------------------------
 * It writes one byte to heart's pipe every TREE_BEAT_MS from a runtime
 * timer, so the beats stop when the runtime stalls. It is not pinned, so
 * when one scheduler hangs it runs on another and the timer alone would
 * keep beating: it also withholds the beat while any scheduler has been
 * in one turn for more than TREE_STUCK_MS. Heart kills the node after
 * heart.timeout without a beat, so a scheduler stuck for about
 * heart.timeout gets the node restarted. Without heart it idles. */

typedef struct hb_s {
    const tree_env_t *env;
    bool withheld; /* the last beat was withheld: a scheduler is stuck */
} hb_t;

static int beat_arm(rt_actor_t *self, uint32_t type, uint64_t ms)
{
    rt_msg_t *m = rt_msg_new(type);
    return rt_send_after(rt_actor_rt(self), ms, rt_self(self), m, NULL);
}

static int hb_init(rt_actor_t *self, void *arg, void **state)
{
    const tree_env_t *e = arg;
    hb_t *hb = cleo_xcalloc(1, sizeof *hb);
    int rc = 0;
    hb->env = e;
    *state = hb;
    if (e->beat_fd >= 0)
        rc = rt_send(rt_actor_rt(self), rt_self(self),
                     rt_msg_new(TREE_MSG_BEAT));
    if (rc == 0 && e->hang_after_ms > 0)
        rc = beat_arm(self, TREE_MSG_HANG, e->hang_after_ms);
    return rc;
}

static void hb_terminate(rt_actor_t *self, void *state, int reason)
{
    free(state);
}

static int hb_call(rt_actor_t *self, void *state, rt_msg_t *req, rt_from_t from,
                   rt_msg_t **reply)
{
    return 0; /* an empty reply: "alive" */
}

/* True if the beat is due: no scheduler stuck (logged once per stall). */
static bool beat_due(rt_actor_t *self, hb_t *hb)
{
    rt_t *rt = rt_actor_rt(self);
    uint64_t stuck = rt_sched_stuck_ms(rt);
    bool due = stuck <= TREE_STUCK_MS;
    if (!due && !hb->withheld)
        logger_log(rt, LOG_WARNING,
                   "heartbeat withheld: a scheduler has been in one turn "
                   "for %llu ms; heart restarts the node if it stays stuck",
                   (unsigned long long)stuck);
    else if (due && hb->withheld)
        logger_log(rt, LOG_NOTICE, "heartbeat resumed");
    hb->withheld = !due;
    return due;
}

static int on_beat(rt_actor_t *self, hb_t *hb)
{
    char b = 'b';
    /* The pipe is non-blocking: a full pipe means heart is behind, and
     * the beats already queued are proof enough of life. A closed pipe
     * (heart gone) is not our failure either: the node keeps running
     * until its own SIGTERM (PR_SET_PDEATHSIG) arrives. */
    if (beat_due(self, hb)) {
        ssize_t n = write(hb->env->beat_fd, &b, 1);
        (void)n;
    }
    return beat_arm(self, TREE_MSG_BEAT, TREE_BEAT_MS);
}

static int on_hang(rt_actor_t *self)
{
    logger_log(rt_actor_rt(self), LOG_WARNING,
               "debug.hang_after_ms: hanging a scheduler thread on purpose");
    /* Deliberately blocks the scheduler thread for good (test-only). */
    for (;;)
        sleep(3600);
    return 0;
}

static int hb_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case TREE_MSG_BEAT:
        return on_beat(self, state);
    case TREE_MSG_HANG:
        return on_hang(self);
    default:
        return 0;
    }
}

static const gen_server_cbs_t heartbeat_cbs = {
    .name = "heartbeat",
    .init = hb_init,
    .handle_call = hb_call,
    .handle_info = hb_info,
    .terminate = hb_terminate,
};

/* ---- debug.hang_pinned_after_ms (test-only) -------------------------
 * An actor pinned to scheduler 0 that blocks its thread for good: a
 * hang in an actor other than the heartbeat's, which runs on elsewhere. */

static int hang_init(rt_actor_t *self, void *arg)
{
    uint64_t ms = (uint64_t)(uintptr_t)arg;
    return beat_arm(self, TREE_MSG_HANG, ms);
}

static int hang_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type != TREE_MSG_HANG)
        return 0;
    logger_log(rt_actor_rt(self), LOG_WARNING,
               "debug.hang_pinned_after_ms: hanging scheduler 0 on purpose");
    for (;;)
        sleep(3600);
    return 0;
}

static const rt_behaviour_t hang_beh = {
    .name = "debug_hang", .init = hang_init, .handle = hang_handle};

int tree_debug_hang_start(rt_t *rt, uint32_t after_ms)
{
    rt_spawn_opts_t o = {.name = "debug_hang", .sched = 0};
    return rt_spawn(rt, NULL, &hang_beh, (void *)(uintptr_t)after_ms, &o, NULL);
}

/* ---- kernel_sup's children ------------------------------------------ */

static int start_logger(rt_actor_t *sup, const sup_child_spec_t *spec,
                        void *extra, rt_pid_t *out)
{
    const tree_env_t *e = spec->arg;
    return logger_start(rt_actor_rt(sup), sup, e->log_path,
                        (log_level_t)e->log_level, out);
}

static int start_metrics(rt_actor_t *sup, const sup_child_spec_t *spec,
                         void *extra, rt_pid_t *out)
{
    return metrics_start(rt_actor_rt(sup), sup, out);
}

/* The names of the node's roles, as introspection's STATUS reports them;
 * filled by tree_start (NULL-terminated). */
static const char *roles[4];

static int start_introspect(rt_actor_t *sup, const sup_child_spec_t *spec,
                            void *extra, rt_pid_t *out)
{
    const tree_env_t *e = spec->arg;
    rt_introspect_opts_t o = {
        .path = e->sock_path,
        .tcp_port = e->tcp_port,
        .token = e->tcp_port ? e->token : NULL,
        .top = "cleo_sup",
        .node = e->node,
        .roles = roles,
    };
    return rt_introspect_start(rt_actor_rt(sup), sup, &o, out);
}

static int start_heartbeat(rt_actor_t *sup, const sup_child_spec_t *spec,
                           void *extra, rt_pid_t *out)
{
    gen_opts_t o = {.name = "heartbeat", .link = true, .sched = RT_SCHED_ANY};
    return gen_server_start(rt_actor_rt(sup), sup, &heartbeat_cbs, spec->arg,
                            &o, out);
}

static const sup_child_spec_t kernel_children[] = {
    {"logger", start_logger, &env, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
    {"metrics", start_metrics, &env, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
    {"introspect", start_introspect, &env, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
    {"heartbeat", start_heartbeat, &env, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
};

/* ---- manager_sup's children -----------------------------------------
 * mgr_users keeps the users and keys in <data>/manager and, on a fresh
 * data directory, makes the admin's key pair, writes <data>/credentials
 * and prints the endpoint and keys once to stdout (from its load job on
 * the blocking pool; see mgr.h). CLEO_ACCESS_KEY/CLEO_SECRET_KEY, checked
 * by main before start-up, make that pair the admin's key. In a cluster
 * (cluster.managers set) the users and keys served are the managers',
 * and this node's admin key is proposed to them (mgr.h). */

static char mgr_dir[PATH_MAX], mgr_cred[PATH_MAX];
static mgr_users_opts_t mgr_opts; /* filled once: restarts reuse it while
                                     a predecessor's jobs may read it */

static int start_mgr_users(rt_actor_t *sup, const sup_child_spec_t *spec,
                           void *extra, rt_pid_t *out)
{
    const tree_env_t *e = spec->arg;
    if (mgr_opts.dir == NULL) {
        const char *ak = NULL, *sk = NULL;
        char err[256];
        if (mgr_env_keys(&ak, &sk, err, sizeof err) < 0) {
            logger_log(rt_actor_rt(sup), LOG_ERROR, "manager: %s", err);
            return CLEO_EINVAL;
        }
        snprintf(mgr_dir, sizeof mgr_dir, "%s/manager", e->data_dir);
        snprintf(mgr_cred, sizeof mgr_cred, "%s/credentials", e->data_dir);
        mgr_opts = (mgr_users_opts_t){.dir = mgr_dir,
                                      .credentials = mgr_cred,
                                      .endpoint = e->s3_endpoint,
                                      .admin_access_key = ak,
                                      .admin_secret_key = sk,
                                      .print = true,
                                      .cluster = e->cluster != NULL};
    }
    sup_child_spec_t s = *spec;
    s.arg = &mgr_opts;
    return mgr_users_start(sup, &s, extra, out);
}

/* mgr_raft comes first on the managers (tree_start leaves it out
 * elsewhere): rest_for_one restarts what follows with it. */
static const sup_child_spec_t manager_children[] = {
    {"mgr_raft", mgr_raft_child_start, NULL, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"mgr_users", start_mgr_users, &env, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
    {"admin", mgr_admin_start, NULL, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
};

/* ---- the supervisors ------------------------------------------------ */

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const sup_spec_t kernel_spec = {
    {SUP_ONE_FOR_ONE, 5, 10000}, kernel_children, NELEMS(kernel_children)};
/* The role supervisors start empty; their issues add the children. */
static sup_child_spec_t manager_chosen[NELEMS(manager_children)];
static sup_spec_t manager_spec = {
    {SUP_REST_FOR_ONE, 5, 10000}, manager_chosen, 0};
/* The bucket sync (storage/bucketsync.c) runs on the nodes of a
 * cluster only: elsewhere the engine's records are the buckets. */
static int start_sto_bucket_sync(rt_actor_t *sup, const sup_child_spec_t *spec,
                                 void *extra, rt_pid_t *out)
{
    if (env.cluster == NULL) {
        *out = RT_PID_NONE; /* OTP's ignore */
        return 0;
    }
    return sto_bucket_sync_start(sup, spec, extra, out);
}

/* The repairer (storage/repair.c) drains the replicas a write missed:
 * there are none outside a cluster. */
static int start_sto_repair(rt_actor_t *sup, const sup_child_spec_t *spec,
                            void *extra, rt_pid_t *out)
{
    if (env.cluster == NULL) {
        *out = RT_PID_NONE; /* OTP's ignore */
        return 0;
    }
    return sto_repair_start(sup, spec, extra, out);
}

/* rest_for_one: the scrubber and compactor call the engine, so an engine
 * restart restarts them too (their runs in flight were answered). */
static const sup_child_spec_t storage_children[] = {
    {"sto_engine", sto_engine_start, &sto_conf, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"sto_scrubber", sto_scrubber_start, &sto_conf, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"sto_compactor", sto_compactor_start, &sto_conf, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"sto_bucket_sync", start_sto_bucket_sync, NULL, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"sto_repair", start_sto_repair, NULL, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
};
static const sup_spec_t storage_spec = {
    {SUP_REST_FOR_ONE, 5, 10000}, storage_children, NELEMS(storage_children)};
static const gw_listen_spec_t s3_listen = {NULL, GW_LISTEN_S3};
static const gw_listen_spec_t rest_listen = {NULL, GW_LISTEN_REST};
static const gw_listen_spec_t https_listen = {NULL, GW_LISTEN_S3_TLS};

/* The listeners read the gateway's configuration from the environment:
 * spec->arg is the listen spec, whose conf is filled in here. */
static int start_listener(rt_actor_t *sup, const sup_child_spec_t *spec,
                          void *extra, rt_pid_t *out)
{
    gw_listen_spec_t ls = *(const gw_listen_spec_t *)spec->arg;
    ls.conf = env.gw;
    sup_child_spec_t s = *spec;
    s.arg = &ls;
    return gw_listener_start(sup, &s, extra, out);
}

static int start_cache(rt_actor_t *sup, const sup_child_spec_t *spec,
                       void *extra, rt_pid_t *out)
{
    sup_child_spec_t s = *spec;
    s.arg = (void *)env.gw;
    return gw_cache_start(sup, &s, extra, out);
}

/* In a cluster, the gateway's view of the RING and the buckets (it
 * starts nothing otherwise); before the listeners, which read it. */
static int start_view(rt_actor_t *sup, const sup_child_spec_t *spec,
                      void *extra, rt_pid_t *out)
{
    sup_child_spec_t s = *spec;
    s.arg = (void *)env.gw;
    return gw_view_start(sup, &s, extra, out);
}

static const sup_child_spec_t gateway_children[] = {
    {"gw_view", start_view, NULL, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
    {"gw_cache", start_cache, NULL, SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,
     SUP_WORKER},
    {"s3_listener", start_listener, (void *)&s3_listen, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"rest_listener", start_listener, (void *)&rest_listen, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
    {"https_listener", start_listener, (void *)&https_listen, SUP_PERMANENT,
     SUP_DEFAULT_SHUTDOWN, SUP_WORKER},
};
static const sup_spec_t gateway_spec = {
    {SUP_ONE_FOR_ONE, 5, 10000}, gateway_children, NELEMS(gateway_children)};

static const sup_child_sup_t kernel_sup = {"kernel_sup", &kernel_spec};
static const sup_child_sup_t manager_sup = {"manager_sup", &manager_spec};
static const sup_child_sup_t storage_sup = {"storage_sup", &storage_spec};
static const sup_child_sup_t gateway_sup = {"gateway_sup", &gateway_spec};

/* spec->arg is `void *`; sup_start_child_sup only reads through it. */
#define SUP_CHILD(id, arg)                                                     \
    {                                                                          \
        id, sup_start_child_sup, (void *)&(arg), SUP_PERMANENT, SUP_INFINITY,  \
            SUP_SUPERVISOR                                                     \
    }

static const sup_child_spec_t agent_child = {
    "mgr_agent",   mgr_agent_child_start, NULL,
    SUP_PERMANENT, SUP_DEFAULT_SHUTDOWN,  SUP_WORKER};

static const sup_child_spec_t cleo_children[] = {
    SUP_CHILD("kernel_sup", kernel_sup),
    SUP_CHILD("manager_sup", manager_sup),
    SUP_CHILD("storage_sup", storage_sup),
    SUP_CHILD("gateway_sup", gateway_sup),
};

/* Row i + 1 of cleo_children is the role with bit 1 << i. */
static const struct {
    const char *name;
    unsigned bit;
} role_rows[] = {{"manager", CFG_ROLE_MANAGER},
                 {"storage", CFG_ROLE_STORAGE},
                 {"gateway", CFG_ROLE_GATEWAY}};
_Static_assert(NELEMS(role_rows) + 1 == NELEMS(cleo_children),
               "one row of cleo_children per role, after kernel_sup");

/* cleo_sup's children on this node: kernel_sup, then the chosen roles'.
 * Static: the supervisor borrows its spec for as long as it runs. */
static sup_child_spec_t chosen[NELEMS(cleo_children) + 1];
static sup_spec_t cleo_spec = {{SUP_ONE_FOR_ONE, 3, 10000}, chosen, 0};

static int tree_start(rt_t *rt, void *arg, rt_pid_t *top)
{
    size_t n = 0, r = 0, m = 0;
    for (size_t i = 0; i < NELEMS(manager_children); i++) {
        if (i == 0 && !env.raft)
            continue; /* mgr_raft: on the managers only */
        manager_chosen[m] = manager_children[i];
        if (i == 0)
            manager_chosen[m].arg = (void *)env.cluster;
        m++;
    }
    manager_spec.nchildren = m;
    chosen[n++] = cleo_children[0]; /* kernel_sup */
    for (size_t i = 0; i < NELEMS(role_rows); i++) {
        if (env.roles & role_rows[i].bit) {
            chosen[n++] = cleo_children[i + 1];
            roles[r++] = role_rows[i].name;
        }
    }
    roles[r] = NULL;
    if (env.cluster != NULL) { /* last: the local mgr_raft is up */
        chosen[n] = agent_child;
        chosen[n++].arg = (void *)env.cluster;
    }
    cleo_spec.nchildren = n;
    return sup_start(rt, NULL, "cleo_sup", &cleo_spec, top);
}

const app_spec_t tree_app = {.name = "cleo", .start = tree_start};
