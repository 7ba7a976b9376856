/*
 * mgr.h - the manager role (LeoManager): users and access keys, and the
 * admin command set served over the node's introspection socket.
 *
 * Two actors live here:
 *
 *  - mgr_users (a gen_server registered as MGR_USERS_NAME) owns the users
 *    and their access keys. On a single node they are persisted as
 *    proto/manager.proto records in a RocksDB of their own (opts->dir,
 *    normally <data>/manager); every open, read, write and close of it
 *    runs on the runtime's blocking pool, never on a scheduler thread. In
 *    a cluster they are the managers' (proto/cluster.proto's
 *    ClusterState), copied to every node by its agent. Either way the
 *    whole set is kept in the actor's memory, so KEY_LOOKUP (asked by the
 *    gateway on every signed request) and the listings are answered at
 *    once, without the pool or the network.
 *
 *  - admin (a gen_server registered as MGR_ADMIN_NAME) answers the
 *    introspection server's RT_MSG_ADMIN calls (`cleo-adm user ...`,
 *    `cleo-adm bucket ...`) by calling mgr_users and the storage engine
 *    with continuations.
 *
 * Conventions as runtime/rt.h: int functions return 0 or a negative
 * CLEO_E* code; out-parameters are written only on success; pointers
 * carry an ownership word. Strings passed in are borrowed (copied when
 * kept).
 */
#ifndef CLEO_MANAGER_MGR_H
#define CLEO_MANAGER_MGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/contract.h"
#include "runtime/rt.h"
#include "supervisors/sup.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MGR_API __attribute__((visibility("default")))
#define MGR_WUR __attribute__((warn_unused_result))

#define MGR_CLIENT_TIMEOUT_MS 10000u /* the blocking clients' timeout */

/* The names, limits and messages of mgr_users are in manager/contract.h. */

/** A request message of `type` with its record built from `arg`: the
 *  user name for USER_CREATE/DELETE/GET, the access key for KEY_LOOKUP,
 *  ignored (may be NULL) for USER_LIST. Aborts on out-of-memory (the
 *  strings are bounded by the caller).
 *  @param arg borrows (copied).
 *  @return gives: pass it to gen_server_call*() (which takes it). */
MGR_API rt_msg_t *mgr_msg_new(uint32_t type, const char *arg);

/* ---------------------------------------------------------------------
 * Starting the actors (sup_start_fn's for manager_sup).
 * ------------------------------------------------------------------- */

typedef struct mgr_users_opts_s {
    const char *dir;              /* the RocksDB directory; required */
    const char *credentials;      /* file written on first start (0600); NULL
                                     = none */
    const char *endpoint;         /* S3 endpoint written there; NULL =
                                     "http://127.0.0.1:8080" */
    const char *admin_access_key; /* both or neither: the admin's key pair
                                     (CLEO_ACCESS_KEY/CLEO_SECRET_KEY) */
    const char *admin_secret_key;
    bool print;   /* print the endpoint and keys to stdout on first start */
    bool no_sync; /* tests only: writes not synced */
    bool cluster; /* users and keys are the cluster's (cluster.managers
                     set): fed by the local agent, changed by proposals */
} mgr_users_opts_t;

/** Start mgr_users linked to `sup`, trapping exits, registered as
 *  MGR_USERS_NAME. spec->arg is a `const mgr_users_opts_t *` that must
 *  outlive the supervisor (restarts reuse it).
 *
 *  The database is opened on the blocking pool after this returns. On a
 *  fresh database (no users) the actor creates the user MGR_ADMIN_USER
 *  (is_admin) with a new key pair, or the pair given in the options, and
 *  writes opts->credentials (mode 0600): `endpoint = ...`,
 *  `access_key = ...`, `secret_key = ...` lines; with opts->print it also
 *  prints them once to stdout. When a key pair is given and the database
 *  is not fresh, that pair becomes the admin's only key (created or
 *  updated; the admin's other keys are removed) and the credentials file
 *  is rewritten. If the open fails, the actor exits with the error (its
 *  supervisor restarts it).
 *
 *  With opts->cluster the local database still holds this node's admin
 *  and its key pair (made, printed and overridden as above), but the
 *  users and keys served are the cluster's: the actor subscribes to the
 *  local agent (MGR_AGENT_NAME, retried until it runs) and rebuilds its
 *  table from every ClusterState it is sent, which replaces what the
 *  local database holds. USER_CREATE and USER_DELETE become UserCreate
 *  and UserDelete proposals (MGR_AGENT_PROPOSE), answered once the
 *  managers applied them and this node's copy shows the change. When a
 *  state arrives without this node's admin key, the actor proposes it
 *  (UserCreate of the admin, or KeyImport once the admin exists), so the
 *  pair a node prints works on every gateway; until that is applied the
 *  key is still served here.
 *  @return 0, CLEO_EINVAL (no dir, or only one key given), CLEO_EEXIST
 *  (the name is taken), or as gen_server_start(). */
MGR_API MGR_WUR int mgr_users_start(rt_actor_t *sup,
                                    const sup_child_spec_t *spec, void *extra,
                                    rt_pid_t *out);

/** Start the admin command actor linked to `sup`, registered as
 *  MGR_ADMIN_NAME. spec->arg is unused.
 *  @return 0 or as gen_server_start(). */
MGR_API MGR_WUR int mgr_admin_start(rt_actor_t *sup,
                                    const sup_child_spec_t *spec, void *extra,
                                    rt_pid_t *out);

/* ---------------------------------------------------------------------
 * Checks.
 * ------------------------------------------------------------------- */

/** Is name a valid user name (see the statuses above)? @param name
 *  borrows; NULL is not valid. */
MGR_API bool mgr_user_name_is_valid(const char *name);

/** Is s usable as an access key given by the operator: 3..MGR_KEY_MAX
 *  bytes of [A-Za-z0-9]? */
MGR_API bool mgr_access_key_is_valid(const char *s);

/** Is s usable as a secret given by the operator: 8..MGR_KEY_MAX bytes
 *  of printable ASCII without spaces? */
MGR_API bool mgr_secret_key_is_valid(const char *s);

/** Read CLEO_ACCESS_KEY / CLEO_SECRET_KEY from the environment.
 *  @param[out] ak, sk valid until the environment changes; written only
 *  when both are set.
 *  @param err a one-line message (no prefix) on CLEO_EINVAL.
 *  @return 1 both set and valid; 0 neither set; CLEO_EINVAL only one is
 *  set, or one is malformed. */
MGR_API MGR_WUR int mgr_env_keys(const char **ak, const char **sk, char *err,
                                 size_t errlen);

/* ---------------------------------------------------------------------
 * Blocking clients of mgr_users for mains and tests: each sends one
 * request to MGR_USERS_NAME with gen_server_call_sync() and waits up to
 * MGR_CLIENT_TIMEOUT_MS. Not from a scheduler thread (CLEO_EDEADLK).
 * Besides the statuses above they return CLEO_ENOPROC (not running),
 * CLEO_ETIMEDOUT, CLEO_ESHUTDOWN. Records given out are freed with
 * protobuf_c_message_free_unpacked(x, NULL).
 * ------------------------------------------------------------------- */

/** @param name borrows. @param[out] out gives the new key pair; may be
 *  NULL. */
MGR_API MGR_WUR int mgr_client_user_create_sync(rt_t *rt, const char *name,
                                                Cleo__Manager__AccessKey **out);
/** @param name borrows. */
MGR_API MGR_WUR int mgr_client_user_delete_sync(rt_t *rt, const char *name);
/** @param[out] out gives. */
MGR_API MGR_WUR int mgr_client_user_list_sync(rt_t *rt,
                                              Cleo__Manager__UserList **out);
/** @param name borrows. @param[out] out gives. */
MGR_API MGR_WUR int mgr_client_user_get_sync(rt_t *rt, const char *name,
                                             Cleo__Manager__UserInfo **out);
/** @param access_key borrows. @param[out] out gives. */
MGR_API MGR_WUR int mgr_client_key_lookup_sync(rt_t *rt, const char *access_key,
                                               Cleo__Manager__KeyInfo **out);

/* ---------------------------------------------------------------------
 * The cluster (issue 11): on the nodes named in cluster.managers, the
 * managers' Raft (mgr_raft: manager/raft.h) under manager_sup; on every
 * node of a cluster, the agent (mgr_agent: manager/agent.h), which
 * registers the node, keeps a copy of the cluster state and, on the
 * leader's node, detects failed members.
 * ------------------------------------------------------------------- */

typedef struct mgr_cluster_opts_s {
    const char *node;            /* this node, "name@host" */
    const char *address;         /* its distribution "host:port" */
    const char *rack;            /* node.rack; "" = none */
    uint32_t roles;              /* Cleo__Cluster__Role bits */
    uint32_t vnodes;             /* node.vnodes */
    const char *const *managers; /* cluster.managers, as node names */
    size_t n_managers;           /* 1..16 */
    const char *raft_dir;        /* <data>/raft */
    uint32_t election_ms;        /* Raft's election timeout */
    /* The first system conf (cluster.replicas, .r, .w, .d), proposed by
     * the first leader. */
    uint32_t n, r, w, d;
} mgr_cluster_opts_t;

/** sup_start_fn's: spec->arg is a mgr_cluster_opts_t, borrowed (strings
 *  too) while the supervisor runs. mgr_raft_child_start starts mgr_raft
 *  (and its bridge); mgr_agent_child_start starts mgr_agent.
 *  @return 0, CLEO_EINVAL (bad options), CLEO_ESTATE (distribution
 *  off), or as the actors' start functions. */
MGR_API MGR_WUR int mgr_raft_child_start(rt_actor_t *sup,
                                         const sup_child_spec_t *spec,
                                         void *extra, rt_pid_t *out);
MGR_API MGR_WUR int mgr_agent_child_start(rt_actor_t *sup,
                                          const sup_child_spec_t *spec,
                                          void *extra, rt_pid_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CLEO_MANAGER_MGR_H */
