/*
 * cluster.h - starting distribution from the node's configuration.
 */
#ifndef CLEO_CMD_CLUSTER_H
#define CLEO_CMD_CLUSTER_H

#include "config.h"
#include "runtime/rt.h"

/** Start distribution if dist.port is set: load the cookie (CLEO_COOKIE,
 *  dist.cookie_file or <data>/cookie), listen, and connect to each peer
 *  of cluster.nodes (this node's own entry is skipped). Prints one line
 *  on failure. @param c, data borrow. @return 0 or a negative code. */
int node_dist_start(rt_t *rt, const cfg_t *c, const char *data);

/** The first peer of cluster.nodes that is not this node, copied into
 *  buf ("name@host:port"). @return buf, or NULL if there is none. */
const char *node_first_peer(const cfg_t *c, char *buf, size_t len);

#endif
