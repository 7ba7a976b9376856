/*
 * ring.h - where a key's object lives (private to gateway/).
 *
 * In a cluster (conf->view set) the answer comes from the node's RING
 * copy (view.h): the primary of the key's replica set, reached as the
 * storage engine of that node ({sto_engine, node} over distribution, or
 * the local engine when the primary is this node). Without a cluster the
 * RING has one node: the local storage engine, or the one on the peer
 * named in the configuration. Callers see one interface either way.
 */
#ifndef CLEO_GATEWAY_RING_H
#define CLEO_GATEWAY_RING_H

#include <stddef.h>

#include "gateway/gw.h"
#include "gateway/view.h"
#include "runtime/rt.h"

/* The actor registered as name that serves this gateway: the local one
 * if this node runs it, else {name, conf->peer} over distribution (the
 * same code path either way). @return 0 when there is none. */
rt_pid_t gw__role_pid(const gw_conf_t *conf, rt_t *rt, const char *name);

/* The storage engine of node (borrows): the local one for this node,
 * else {sto_engine, node} if distribution has a live connection to it.
 * @return 0 and *out; GW_EUNAVAILABLE (no engine here, an unknown node,
 * or no connection: a reconnect is started for the next request). */
int gw__ring_node_engine(rt_t *rt, const char *node, rt_pid_t *out);

#define GW_RING_REPLICAS_MAX 16

/* The storage engine that serves bucket/key (both borrowed): in a
 * cluster, that of the first live node of its replica set on snap's RING
 * (the primary unless it is down; a write's coordinator, storage/repl.h),
 * else the one-node ring.
 * @param snap borrows; NULL without a cluster (or before the first state).
 * @return 0 and *out; GW_EUNAVAILABLE (no RING yet, no replica is
 * reachable, no engine runs). */
int gw__ring_primary(const gw_conf_t *conf, rt_t *rt, const gw_snap_t *snap,
                     const char *bucket, const char *key, rt_pid_t *out);

/* The engines of the live nodes of bucket/key's replica set on snap's
 * RING, in RING order, at most max of them (out has room for max).
 * @return 0 and *n >= 1; GW_EUNAVAILABLE (no RING, or no replica
 * reachable). */
int gw__ring_live(const gw_snap_t *snap, rt_t *rt, const char *bucket,
                  const char *key, size_t max, rt_pid_t *out, size_t *n);

/* Every storage node's engine: the distinct nodes of snap's RING in a
 * cluster (in node-name order), else the one engine.
 * @param out gives a malloc'd array of *n pids (free()).
 * @param all_up true: GW_EUNAVAILABLE unless every node is reachable;
 * false: the unreachable ones are left out.
 * @return 0; GW_EUNAVAILABLE (no RING yet, no engine, or as all_up);
 * CLEO_ENOMEM. */
int gw__ring_engines(const gw_conf_t *conf, rt_t *rt, const gw_snap_t *snap,
                     bool all_up, rt_pid_t **out, size_t *n);

#endif /* CLEO_GATEWAY_RING_H */
