/*
 * tree.h - the node's supervision tree, started as the application "cleo":
 *
 *   cleo_sup (one_for_one)
 *   ├── kernel_sup (one_for_one): logger, metrics, introspect, heart
 *   ├── manager_sup (rest_for_one): mgr_users, admin
 *   ├── storage_sup (rest_for_one): sto_engine, sto_scrubber,
 *   │                               sto_compactor
 *   └── gateway_sup (one_for_one)
 *
 * kernel_sup always runs; of the role supervisors only those of the
 * node's roles (node.roles) are started, in this order.
 * Every supervisor and kernel service is registered under its name.
 * Private to cmd/cleo.
 */
#ifndef CLEO_CMD_TREE_H
#define CLEO_CMD_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/actors.h"
#include "gateway/gw.h"
#include "manager/mgr.h"
#include "storage/sto.h"

/* What the kernel services need from the node's configuration. */
typedef struct tree_env_s {
    const char *node;       /* node name, name@host */
    const char *sock_path;  /* introspection socket */
    const char *log_path;   /* log file; NULL = stderr */
    int log_level;          /* a log_level_t */
    uint16_t tcp_port;      /* admin TCP port; 0 = none */
    const char *token;      /* admin token, with tcp_port */
    int beat_fd;            /* heartbeat pipe to heart; -1 = no heart */
    uint32_t hang_after_ms; /* test-only: hang a scheduler; 0 = never */
    /* storage_sup's children's conf (copied; its path must outlive the
     * application) */
    const sto_engine_conf_t *storage;
    const char *data_dir;    /* absolute data directory */
    const char *s3_endpoint; /* for <data>/credentials; NULL = the
                                manager's default (127.0.0.1:8080) */
    const gw_conf_t *gw;     /* the gateway's configuration */
    unsigned roles;          /* the roles run: CFG_ROLE_* bits (config.h) */
    /* cluster.managers set: mgr_agent runs, and mgr_raft on a manager
     * (borrowed, static); NULL = no cluster */
    const mgr_cluster_opts_t *cluster;
    bool raft; /* this node is one of the managers */
} tree_env_t;

/** Set the environment the tree's children start with; call before
 *  app_start(&tree_app). @param env borrows; its strings must stay valid
 *  until the application has stopped. */
void tree_configure(const tree_env_t *env);

/** The application: its start function starts cleo_sup (unlinked). */
extern const app_spec_t tree_app;

/* Messages of the heartbeat actor ("heart"). */
enum {
    TREE_MSG_BEAT = 1, /* a timer tick: write a beat, re-arm */
    TREE_MSG_HANG      /* test-only: block this scheduler thread forever */
};

/* Milliseconds between heartbeats. */
#define TREE_BEAT_MS 1000u
/* A beat is withheld while a scheduler has been in one turn for longer
 * (rt_sched_stuck_ms): heart then restarts a node whose scheduler stays
 * stuck for heart.timeout, though the heartbeat runs on elsewhere. */
#define TREE_STUCK_MS TREE_BEAT_MS

/** Test-only (debug.hang_pinned_after_ms): spawn an actor pinned to
 *  scheduler 0, registered as "debug_hang", that blocks its scheduler
 *  thread for good after_ms from now. @return 0 or as rt_spawn(). */
int tree_debug_hang_start(rt_t *rt, uint32_t after_ms);

#endif /* CLEO_CMD_TREE_H */
