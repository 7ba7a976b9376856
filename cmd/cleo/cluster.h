/*
 * cluster.h - starting distribution from the node's configuration.
 */
#ifndef CLEO_CMD_CLUSTER_H
#define CLEO_CMD_CLUSTER_H

#include <stdbool.h>

#include "config.h"
#include "manager/mgr.h"
#include "runtime/rt.h"

/** Start distribution if dist.port is set: load the cookie (CLEO_COOKIE,
 *  dist.cookie_file or <data>/cookie), listen, and connect to each peer
 *  of cluster.nodes (this node's own entry is skipped). Prints one line
 *  on failure. @param c, data borrow. @return 0 or a negative code. */
int node_dist_start(rt_t *rt, const cfg_t *c, const char *data);

/** The first peer of cluster.nodes that is not this node, copied into
 *  buf ("name@host:port"). @return buf, or NULL if there is none. */
const char *node_first_peer(const cfg_t *c, char *buf, size_t len);

/** The cluster's options from cluster.managers, node.vnodes, node.rack
 *  and dist.*: NULL when cluster.managers is empty; options with no node
 *  (after one line on stderr) when they cannot work. @param c, data
 *  borrow. @return valid for the process's life (static). */
const mgr_cluster_opts_t *node_cluster_opts(const cfg_t *c, const char *data);

/** True if this node runs mgr_raft: it is in a cluster and runs the
 *  manager role (named in cluster.managers, or waiting for manager-add). */
bool node_is_manager(const mgr_cluster_opts_t *o, unsigned roles);

#endif
