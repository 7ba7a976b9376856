/*
 * contract.h - what other roles may use of the manager role: its
 * registered names, limits and the messages of mgr_users. The rest of
 * manager/ (mgr.h) is the role's own; the gateway's build target sees
 * this header only (the CMake target cleo_mgr_contract).
 *
 * The message ids are defined once, as proto/manager.proto's enum MsgId;
 * the MGR_MSG_* names here are aliases of its generated constants, and
 * the request and reply record of each id are named beside it there.
 */
#ifndef CLEO_MANAGER_CONTRACT_H
#define CLEO_MANAGER_CONTRACT_H

#include "proto/cluster.pb-c.h"
#include "proto/manager.pb-c.h"
#include "runtime/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MGR_USERS_NAME "mgr_users"
#define MGR_ADMIN_NAME "admin"
/* The cluster agent, on every node of a cluster (cluster.managers set):
 * a local actor calls it with proto/cluster.proto's AgentMsgId
 * AGENT_SUBSCRIBE (no payload) to get AGENT_STATE pushes (RaftState with
 * the packed ClusterState as the body) at once and at every change, and
 * AGENT_PROPOSE (a Command -> CommandResult, the status in reason) to
 * change the cluster state. Any actor, of this node or another, sends it
 * AGENT_RING_SEEN (tag = a RING version it saw) when a storage request
 * or reply carried a newer RING than its own: the agent then refreshes
 * its copy at once (proto/cluster.proto).
 *
 * The RING version on storage requests: a gateway sets a storage call's
 * rt_msg_t.tag to its RING copy's version (low 32 bits; 0 without a
 * cluster) and the engine compares it with its node's, so whichever
 * side is behind hears of it on the first request. */
#define MGR_AGENT_NAME "mgr_agent"
#define MGR_AGENT_RING_SEEN CLEO__CLUSTER__AGENT_MSG_ID__AGENT_RING_SEEN

#define MGR_USER_MAX 64        /* bytes of a user name */
#define MGR_ACCESS_KEY_LEN 20  /* generated access keys: [A-Z0-9] */
#define MGR_SECRET_KEY_LEN 40  /* generated secrets: [A-Za-z0-9+/] */
#define MGR_KEY_MAX 128        /* bytes of an access key or secret */
#define MGR_ADMIN_USER "admin" /* the user made on first start */
#define MGR_ENV_ACCESS_KEY "CLEO_ACCESS_KEY"
#define MGR_ENV_SECRET_KEY "CLEO_SECRET_KEY"

/* ---------------------------------------------------------------------
 * Messages of mgr_users. Every request is a call (rt_call /
 * gen_server_call / gen_server_call_sync) to MGR_USERS_NAME whose type
 * is a value of proto/manager.proto's enum MsgId (aliased MGR_MSG_*
 * below) and whose payload is the record named beside that value, set
 * with rt_msg_set_pb() (manager/mgr.h's mgr_msg_new() builds one). The reply
 * has the request's type, the status in reply->reason and, when it is 0, the
 * payload named (a ProtobufCMessage, freed with the reply unless the
 * continuation clears reply->payload and keeps it).
 *
 * Statuses: 0; CLEO_EINVAL (bad user name: empty, over MGR_USER_MAX
 * bytes, or not [A-Za-z0-9][A-Za-z0-9._-]*); CLEO_EEXIST (the user
 * exists); CLEO_ENOTFOUND (no such user or access key); CLEO_ESTATE
 * (USER_DELETE of an admin user: the node would lose its admin key);
 * CLEO_EBADREQ (missing or wrong payload, unknown type); CLEO_ESTORAGE
 * (RocksDB failed: nothing changed). In a cluster (mgr.h), changes are
 * decided by the managers and may also answer CLEO_ENOCONNECTION (no
 * manager leader: nothing changed) or CLEO_ETIMEDOUT (the managers did
 * not answer: the change may or may not be applied); a refusal by the
 * managers carries their cleo.cluster.CommandResult, whose detail says
 * why in one line (CLEO_ESTATE: e.g. the user still owns buckets).
 *
 * Requests that arrive while the database is still being opened wait
 * for it; changes are applied one at a time, in arrival order. Reads
 * see every change already answered.
 *
 * From an actor (the gateway, once per signed request), never blocking:
 *
 *     static int on_key(rt_actor_t *self, rt_msg_t *reply, int status,
 *                       void *data)
 *     {
 *         req_t *r = data;               // the caller's own context
 *         if (status == 0)
 *             status = reply->reason;    // CLEO_ENOTFOUND: unknown key
 *         if (status < 0)
 *             return answer_403(self, r, status); // InvalidAccessKeyId
 *         const Cleo__Manager__KeyInfo *k = reply->payload;
 *         return check_signature(self, r, k->secret_key, k->user,
 *                                k->is_admin);   // payload freed after
 *     }
 *     rt_pid_t users = rt_whereis(rt_actor_rt(self), MGR_USERS_NAME);
 *     gen_server_call(self, users, mgr_msg_new(MGR_MSG_KEY_LOOKUP, ak),
 *                     1000, on_key, r);  // status CLEO_ENOPROC if none
 * ------------------------------------------------------------------- */

#define MGR_MSG_USER_CREATE CLEO__MANAGER__MSG_ID__USER_CREATE
#define MGR_MSG_USER_DELETE CLEO__MANAGER__MSG_ID__USER_DELETE
#define MGR_MSG_USER_LIST CLEO__MANAGER__MSG_ID__USER_LIST
#define MGR_MSG_USER_GET CLEO__MANAGER__MSG_ID__USER_GET
#define MGR_MSG_KEY_LOOKUP CLEO__MANAGER__MSG_ID__KEY_LOOKUP

#ifdef __cplusplus
}
#endif
#endif /* CLEO_MANAGER_CONTRACT_H */
