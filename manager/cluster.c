/*
 * cluster.c - the cluster's children for the node's supervision tree
 * (mgr.h, "The cluster"): mgr_raft on the managers, mgr_agent on every
 * node, both started from one mgr_cluster_opts_t.
 */
#include "manager/mgr.h"

#include "manager/agent.h"
#include "manager/raft.h"

int mgr_agent_child_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                          void *extra, rt_pid_t *out)
{
    (void)extra;
    return mgr__agent_start(sup, spec->arg, out);
}

int mgr_raft_child_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                         void *extra, rt_pid_t *out)
{
    (void)extra;
    const mgr_cluster_opts_t *c = spec->arg;
    if (c == NULL || c->node == NULL || c->raft_dir == NULL)
        return CLEO_EINVAL;
    mgr__raft_opts_t o = {.node = c->node,
                          .managers = c->managers,
                          .n_managers = c->n_managers,
                          .dir = c->raft_dir,
                          .election_timeout_ms = c->election_ms};
    return mgr__raft_start(rt_actor_rt(sup), sup, &o, out);
}
