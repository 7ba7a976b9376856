/*
 * node.h - one node: the runtime, the application "cleo" (tree.h), the
 * pid file, and the signals that stop it or reopen its log.
 * Private to cmd/cleo.
 */
#ifndef CLEO_CMD_NODE_H
#define CLEO_CMD_NODE_H

#include "config.h"

typedef struct node_opts_s {
    const cfg_t *cfg;      /* the effective configuration */
    const char *data;      /* absolute data directory */
    const char *sock_path; /* <data>/cleo.sock */
    const char *pid_path;  /* <data>/cleo.pid */
    const char *lock_path; /* <data>/cleo.lock: one node per directory */
    const char *token;     /* admin token; NULL without admin.tcp_port */
} node_opts_t;

/* How long SIGTERM may take to stop the tree before the node gives up
 * waiting and exits non-zero. */
#define NODE_STOP_TIMEOUT_MS 20000u

/** Run a node until SIGINT/SIGTERM (returns 0 after a clean stop) or
 *  until its top supervisor gives up (returns 1). Also returns 1 when it
 *  cannot start. A heart_node_fn.
 *  @param arg borrows: a node_opts_t.
 *  @param beat_fd the heartbeat pipe to heart, or -1.
 *  @param incarnation 0 for the first start under heart. */
int node_run(void *arg, int beat_fd, unsigned incarnation);

#endif /* CLEO_CMD_NODE_H */
