/*
 * raft.h - the managers' Raft (private to manager/): the replicated
 * state machine of manager/fsm.h run by libraft (canonical raft 0.15,
 * with raft_uv for the disk), its traffic carried over cleo's
 * distribution connections, so Raft opens no port of its own.
 *
 * Three parts on each manager:
 *
 *  - the Raft actor (registered MGR_RAFT_NAME) takes the requests of
 *    proto/cluster.proto's enum MsgId: PROPOSE, STATUS, READ, SUBSCRIBE,
 *    UNSUBSCRIBE, MEMBER_ADD, MEMBER_REMOVE. A follower forwards PROPOSE
 *    and the member changes to the leader's Raft actor ({MGR_RAFT_NAME,
 *    leader node}) and relays its answer.
 *  - the Raft thread, started by the actor: its own uv loop running
 *    raft, raft_uv (log, snapshots, metadata, with their fsyncs) and the
 *    transport, so that no disk wait or FSM work lands on a scheduler.
 *    The actor hands it requests through a mutex queue and a uv_async;
 *    it answers callers itself (rt_reply, rt_send: legal from any
 *    thread).
 *  - the bridge actor (registered MGR_RAFT_BRIDGE_NAME, pinned): Raft's
 *    streams to other managers are uv_pipe_t's over socketpair()s; the
 *    bridge holds the other ends and carries their bytes as RAFT_CHUNK
 *    messages to the peer manager's bridge. A stream never outlives its
 *    distribution connection (or the peer bridge): chunks are numbered,
 *    and a gap, a DOWN of the peer bridge, a lost connection (NODEDOWN)
 *    or a chunk for a stream the peer no longer has (answered with
 *    RAFT_CLOSE) closes it on both sides; Raft then reconnects.
 *
 * Raft ids are raft_digest(node, 0) and Raft addresses are the node names
 * ("name@host") exactly, so every manager must be known to distribution
 * (cluster.nodes). A manager named in opts.managers bootstraps the
 * identical configuration of all of them on a pristine directory; a
 * later start finds its log there. A node not named starts empty and
 * waits until a MEMBER_ADD brings it in.
 *
 * The process must ignore SIGPIPE (cmd/cleo does): a write to a
 * socketpair whose far end is closed would raise it.
 *
 * Conventions as runtime/rt.h: int functions return 0 or a negative
 * CLEO_E* code; pointers carry an ownership word.
 */
#ifndef CLEO_MANAGER_RAFT_H
#define CLEO_MANAGER_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cluster.pb-c.h"
#include "runtime/rt.h"
#include "supervisors/sup.h"

#define MGR_RAFT_NAME "mgr_raft"
#define MGR_RAFT_BRIDGE_NAME "mgr_raft_bridge"
#define MGR_RAFT_MANAGERS_MAX 16 /* servers in opts.managers */
#define MGR_RAFT_NO_LEADER "no manager leader"

/* The messages (proto/cluster.proto's enum MsgId says each one's request
 * and reply records). Every request is a call (rt_call, rt_call_sync)
 * except SUBSCRIBE/UNSUBSCRIBE, which may also be plain sends. Records
 * are set with rt_msg_set_pb(); READ's reply and the RAFT_STATE pushes
 * carry the packed ClusterState as the body (rt_msg_body()->buf) beside
 * their RaftState.
 *
 * PROPOSE answers once the command is applied on the leader, with the
 * CommandResult of fsm.h (its status also in reply->reason). Each entry
 * carries its proposer's id and a sequence number, so a proposal whose
 * leader lost its leadership (the entry may still commit) waits until
 * that log index is applied here and answers what happened there: the
 * command's result if the entry is its own, CLEO_ENOCONNECTION ("not
 * applied") if another took the index, CLEO_ETIMEDOUT ("outcome
 * unknown") if it cannot tell within 10 election timeouts (or a snapshot
 * covered the index). Give PROPOSE and the member changes a call timeout
 * above that. STATUS and READ answer from this manager at once, leader or
 * not: READ's copy may be stale (RaftState.has_leader says whether a
 * leader is known), and with no quorum it may miss writes the old leader
 * acknowledged. */
#define MGR_RAFT_MSG_PROPOSE CLEO__CLUSTER__MSG_ID__RAFT_PROPOSE
#define MGR_RAFT_MSG_STATUS CLEO__CLUSTER__MSG_ID__RAFT_STATUS
#define MGR_RAFT_MSG_READ CLEO__CLUSTER__MSG_ID__RAFT_READ
#define MGR_RAFT_MSG_SUBSCRIBE CLEO__CLUSTER__MSG_ID__RAFT_SUBSCRIBE
#define MGR_RAFT_MSG_UNSUBSCRIBE CLEO__CLUSTER__MSG_ID__RAFT_UNSUBSCRIBE
#define MGR_RAFT_MSG_MEMBER_ADD CLEO__CLUSTER__MSG_ID__RAFT_MEMBER_ADD
#define MGR_RAFT_MSG_MEMBER_REMOVE CLEO__CLUSTER__MSG_ID__RAFT_MEMBER_REMOVE
#define MGR_RAFT_MSG_STATE CLEO__CLUSTER__MSG_ID__RAFT_STATE

typedef struct mgr__raft_opts_s {
    const char *node;              /* this node, "name@host"; required */
    const char *const *managers;   /* cluster.managers, n_managers names */
    size_t n_managers;             /* 1..MGR_RAFT_MANAGERS_MAX, or 0 for
                                      a node that waits to be added */
    const char *dir;               /* the Raft directory (<data>/raft),
                                      made if missing; required */
    uint32_t election_timeout_ms;  /* 0 = 1000 */
    uint32_t heartbeat_timeout_ms; /* 0 = election / 10 */
    uint32_t snapshot_threshold;   /* entries between snapshots; 0 = 1024.
                                      The same on every manager. */
    uint32_t snapshot_trailing;    /* entries kept behind one; 0 = the
                                      threshold */
    uint32_t forward_timeout_ms;   /* a follower's wait for the leader's
                                      answer; 0 = 12 election timeouts
                                      + 1 s */
} mgr__raft_opts_t;

/** Start the Raft actor, registered as MGR_RAFT_NAME, and its bridge,
 *  registered as MGR_RAFT_BRIDGE_NAME and linked to it; the actor is
 *  linked to self when self is given. The Raft thread opens the
 *  directory, loads (or bootstraps) the log and starts raft before this
 *  returns, so the calling thread waits for that disk work once.
 *  Registers proto/cluster.proto's types with distribution when it is
 *  started.
 *  @param self borrows: the spawning actor (a supervisor), or NULL.
 *  @param o borrows (strings copied).
 *  @param out the actor's pid (written only on success; may be NULL).
 *  @return 0; CLEO_EINVAL (no node or dir, a bad or duplicate manager
 *  name, too many); CLEO_EEXIST (a name is taken); CLEO_ESTORAGE (raft
 *  could not open, bootstrap or load the directory: one line on stderr
 *  says why); -errno (thread, loop); or as rt_spawn(). */
RT_WUR int mgr__raft_start(rt_t *rt, rt_actor_t *self,
                           const mgr__raft_opts_t *o, rt_pid_t *out);

/** mgr__raft_start() as a supervisor child's start function: spec->arg
 *  is a mgr__raft_opts_t (borrowed while the supervisor lives). */
RT_WUR int mgr__raft_sup_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                               void *extra, rt_pid_t *out);

/** The Raft id of a node name (raft_digest(node, 0), never 0).
 *  @param node borrows. */
uint64_t mgr__raft_id(const char *node);

#endif /* CLEO_MANAGER_RAFT_H */
