/*
 * ring.c - the one-node ring: the local storage engine, or the peer's.
 */
#include "gateway/ring.h"

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

rt_pid_t gw__ring_storage(const gw_conf_t *conf, rt_t *rt, const char *bucket)
{
    (void)bucket; /* every bucket lives on the one storage node */
    return gw__role_pid(conf, rt, STO_ENGINE_NAME);
}
