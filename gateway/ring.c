/*
 * ring.c - the storage engine of a key: the primary of its replica set on
 * the node's RING copy in a cluster, the one-node ring otherwise.
 */
#include "gateway/ring.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "storage/contract.h"

rt_pid_t gw__role_pid(const gw_conf_t *conf, rt_t *rt, const char *name)
{
    rt_pid_t pid = rt_whereis(rt, name);
    uint16_t node;
    if (pid != RT_PID_NONE || conf->peer == NULL || conf->peer[0] == '\0' ||
        rt_dist_node(rt, conf->peer, &node) < 0)
        return pid;
    return rt_dist_named(rt, node, name);
}

/* The one-node ring of a gateway without a cluster. */
static int one_node(const gw_conf_t *conf, rt_t *rt, rt_pid_t *out)
{
    rt_pid_t pid = gw__role_pid(conf, rt, STO_ENGINE_NAME);
    if (pid == RT_PID_NONE)
        return GW_EUNAVAILABLE;
    *out = pid;
    return 0;
}

int gw__ring_node_engine(rt_t *rt, const char *node, rt_pid_t *out)
{
    const char *self = rt_dist_name(rt);
    if (self != NULL && strcmp(node, self) == 0) {
        rt_pid_t pid = rt_whereis(rt, STO_ENGINE_NAME);
        if (pid == RT_PID_NONE)
            return GW_EUNAVAILABLE;
        *out = pid;
        return 0;
    }
    uint16_t idx;
    if (rt_dist_node(rt, node, &idx) < 0)
        return GW_EUNAVAILABLE;
    /* A primary without a connection fails the request at once (503)
     * rather than after a connect timeout; the reconnect started here
     * serves the next one. */
    if (!rt_dist_is_up(rt, idx)) {
        (void)rt_dist_connect(rt, idx);
        return GW_EUNAVAILABLE;
    }
    rt_pid_t pid = rt_dist_named(rt, idx, STO_ENGINE_NAME);
    if (pid == RT_PID_NONE)
        return GW_EUNAVAILABLE;
    *out = pid;
    return 0;
}

int gw__ring_live(const gw_snap_t *snap, rt_t *rt, const char *bucket,
                  const char *key, size_t max, rt_pid_t *out, size_t *n)
{
    if (snap == NULL || snap->ring == NULL || key == NULL)
        return GW_EUNAVAILABLE; /* no RING yet (before `cleo-adm start`) */
    const char *node[GW_RING_REPLICAS_MAX];
    size_t got;
    uint32_t want =
        snap->n < GW_RING_REPLICAS_MAX ? snap->n : GW_RING_REPLICAS_MAX;
    int rc = ring_replicas(snap->ring, bucket, key, want, node, &got);
    if (rc < 0 || got == 0)
        return rc == CLEO_ENOMEM ? rc : GW_EUNAVAILABLE;
    *n = 0;
    for (size_t i = 0; i < got && *n < max; i++)
        if (gw__ring_node_engine(rt, node[i], &out[*n]) == 0)
            (*n)++;
    return *n > 0 ? 0 : GW_EUNAVAILABLE;
}

int gw__ring_primary(const gw_conf_t *conf, rt_t *rt, const gw_snap_t *snap,
                     const char *bucket, const char *key, rt_pid_t *out)
{
    if (conf->view == NULL)
        return one_node(conf, rt, out);
    size_t n;
    /* The first live node of the replica set (it coordinates a write). */
    return gw__ring_live(snap, rt, bucket, key, 1, out, &n);
}

int gw__ring_engines(const gw_conf_t *conf, rt_t *rt, const gw_snap_t *snap,
                     bool all_up, rt_pid_t **out, size_t *n)
{
    size_t nodes = 1;
    if (conf->view != NULL) {
        if (snap == NULL || snap->ring == NULL)
            return GW_EUNAVAILABLE;
        nodes = ring_node_count(snap->ring);
    }
    rt_pid_t *v = calloc(nodes, sizeof *v);
    if (v == NULL)
        return CLEO_ENOMEM;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < nodes && rc == 0; i++) {
        ring_entry_t e;
        if (conf->view == NULL)
            rc = one_node(conf, rt, &v[k]);
        else if ((rc = ring_node(snap->ring, i, &e)) == 0)
            rc = gw__ring_node_engine(rt, e.node, &v[k]);
        if (rc == 0)
            k++;
        else if (rc == GW_EUNAVAILABLE && !all_up && conf->view != NULL)
            rc = 0; /* left out */
    }
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}
