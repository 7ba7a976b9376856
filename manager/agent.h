/*
 * agent.h - the cluster agent (private to manager/): one actor on every
 * node of a cluster with managers (cluster.managers set), whatever roles
 * the node runs, registered as MGR_AGENT_NAME. It is this node's link to
 * the managers' Raft (raft.h):
 *
 *  - it registers the node: a MemberAttach proposed to a manager's
 *    mgr_raft (the local one first), tried again every second, on each
 *    manager in turn, until one is applied;
 *  - it keeps a copy of the cluster state: subscribed to one manager's
 *    RAFT_STATE pushes (monitored: when that manager goes, it subscribes
 *    to the next), so a new RING reaches the node at once;
 *  - on the Raft leader's node it is the failure detector, as in LeoFS
 *    the manager watches its nodes: each second and at every NODEUP and
 *    NODEDOWN it compares the members with distribution's live
 *    connections, and proposes running -> stopped for a member it cannot
 *    reach and stopped -> running for one that is back (each proposal
 *    names the state it was decided against, so a stale one changes
 *    nothing). The RING itself never changes on a failure;
 *  - it answers MGR_AGENT_GET (a call, no payload): a RaftState with the
 *    packed ClusterState of its copy as the body (rt_msg_set_body), or
 *    CLEO_ENOTFOUND before the first copy arrives;
 *  - actors of this node (the gateway's RING, mgr_users, storage's bucket
 *    list) subscribe with MGR_AGENT_SUBSCRIBE (a call, no payload) and
 *    get MGR_AGENT_STATE, the same RaftState and body, at once if a copy
 *    is known and after every change;
 *  - MGR_AGENT_PROPOSE (a call: a Command -> CommandResult, the status in
 *    reason) hands a change to a reachable manager, so that an actor
 *    need not know which nodes are managers.
 */
#ifndef CLEO_MANAGER_AGENT_H
#define CLEO_MANAGER_AGENT_H

#include <stdint.h>

#include "manager/contract.h"
#include "manager/mgr.h"
#include "proto/cluster.pb-c.h"
#include "runtime/rt.h"

#define MGR_AGENT_MANAGERS_MAX 16
#define MGR_AGENT_GET CLEO__CLUSTER__AGENT_MSG_ID__AGENT_GET
#define MGR_AGENT_SUBSCRIBE CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE
#define MGR_AGENT_STATE CLEO__CLUSTER__AGENT_MSG_ID__AGENT_STATE
#define MGR_AGENT_PROPOSE CLEO__CLUSTER__AGENT_MSG_ID__AGENT_PROPOSE

/** Start the agent, registered as MGR_AGENT_NAME and linked to sup.
 *  @param o borrows (strings too) while the agent runs. @return 0,
 *  CLEO_EINVAL (no node or managers, too many), CLEO_ESTATE
 *  (distribution is off), or as rt_spawn(). */
RT_WUR int mgr__agent_start(rt_actor_t *sup, const mgr_cluster_opts_t *o,
                            rt_pid_t *out);

#endif /* CLEO_MANAGER_AGENT_H */
