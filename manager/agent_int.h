/*
 * agent_int.h - the agent's state, shared by agent.c (the actor) and
 * agent_admin.c (its admin commands). Private to those two files.
 */
#ifndef CLEO_MANAGER_AGENT_INT_H
#define CLEO_MANAGER_AGENT_INT_H

#include <stdbool.h>

#include "manager/agent.h"
#include "proto/introspect.pb-c.h"

typedef struct agent_ask_s agent_ask_t; /* a cluster-status in flight */
typedef struct agent_bkt_s agent_bkt_t; /* a bucket command in flight */

/* A whereis (agent_where.c) and a status NODE (agent_node.c) in flight. */
typedef struct agent_where_s agent_where_t;
typedef struct agent_peek_s agent_peek_t;

typedef struct {
    const mgr_cluster_opts_t *o; /* borrowed from the supervisor's arg */
    bool registered, attach_busy, sub_busy;
    size_t next_attach, next_sub; /* managers tried in turn */
    rt_pid_t sub;                 /* the mgr_raft subscribed to, or 0 */
    rt_ref_t sub_mon;
    char sub_node[256]; /* its node: pushes from any other are ignored */
    Cleo__Cluster__ClusterState *state; /* the latest copy, or NULL */
    rt_buf_t *packed;                   /* its bytes (one reference) */
    uint64_t applied, term;             /* of the copy's RaftState */
    bool has_leader;
    char leader[256], from[256]; /* its leader, and the manager it came from */
    uint32_t fd_busy;            /* failure-detector proposals in flight */
    agent_ask_t *asks;           /* cluster-status commands in flight */
    agent_bkt_t *bkts; /* bucket commands in flight (agent_bucket.c) */
    /* whereis and status NODE in flight (agent_where.c, agent_node.c) */
    agent_where_t *wheres;
    agent_peek_t *peeks;
    /* The managers as the Raft configuration last said (RAFT_STATUS of
     * the subscribed manager: manager-add/remove change it); none yet =
     * cluster.managers. */
    char voters[16][256];
    size_t n_voters;
    bool status_busy;
    uint32_t leaderless;   /* ticks the subscribed manager knew no leader */
    uint32_t status_fails; /* its status calls unanswered in a row */
    uint32_t local_waits;  /* ticks waited for this node's mgr_raft */
    rt_pid_t subs[32];     /* local subscribers (MGR_AGENT_SUBSCRIBE) */
    rt_ref_t sub_refs[32];
    size_t n_subs;
    /* A newer RING seen on a storage request (AGENT_RING_SEEN): reads of
     * the state in flight (one per manager), and the refreshes made. */
    uint32_t reads;
    uint64_t ring_refreshes;
} agent_t;

/* True if verb is a cluster command the agent answers (agent_admin.c). */
bool mgr__agent_is_cmd(const char *verb);

/* Run an RT_MSG_ADMIN request m (its AdminReq) and answer it, now or
 * later. */
void mgr__agent_admin(rt_actor_t *self, rt_msg_t *m);

/* The node's RING checksums, for another node's cluster-status: an
 * AGENT_GET reply carries the whole state; this is what it is used for. */

/* The managers (the voters last seen, else cluster.managers): how many,
 * and the i-th's name. */
size_t mgr__agent_n_managers(const agent_t *a);
const char *mgr__agent_manager_at(const agent_t *a, size_t i);

/* A manager's mgr_raft to propose to: this node's, else the first
 * reachable manager's; RT_PID_NONE if none. */
rt_pid_t mgr__agent_manager(rt_actor_t *self);

/* Relay a MGR_AGENT_PROPOSE request m (its Command) to a manager and its
 * answer to m's caller. */
void mgr__agent_propose(rt_actor_t *self, rt_msg_t *m);

/* Run cleo-adm's bucket command m (its AdminReq, taken) against the
 * cluster's buckets (agent_bucket.c); a copy of the state is known. */
void mgr__agent_bucket(rt_actor_t *self, rt_msg_t *m);

/* Free the bucket commands in flight (the actor is going). */
void mgr__agent_bucket_drop(agent_t *a);

/* A new Command stamped with the wall clock (proposed_ms: the state
 * machine reads no clock). @return gives: to rt_msg_set_pb. */
Cleo__Cluster__Command *mgr__agent_command(void);

/* Free the commands in flight (the actor is going). */
void mgr__agent_admin_drop(agent_t *a);

/* Answer an admin command: r (takes) to from. */
void mgr__agent_reply(rt_actor_t *self, rt_from_t from,
                      Cleo__Introspect__AdminReply *r);

/* Answer an admin command with status rc and the one line (borrows);
 * its JSON is {"error": line, "code": rc's name}. */
void mgr__agent_reply_err(rt_actor_t *self, rt_from_t from, int rc,
                          const char *line);

/* N of the copy's system conf (1 before the first). */
uint32_t mgr__agent_conf_n(const agent_t *a);

/* A member state's name ("running", ...; "?" for none known). */
const char *mgr__agent_state_name(int s);

/* whereis BUCKET/KEY (path borrows; agent_where.c): the replica nodes
 * and ring address, and what each replica's storage holds (a HEAD of
 * each, tombstones included); a copy of the state is known. */
void mgr__agent_whereis(rt_actor_t *self, rt_from_t from, const char *path);

/* Free the whereis in flight (the actor is going). */
void mgr__agent_where_drop(agent_t *a);

/* node-status NODE [--here] (q borrows; agent_node.c): NODE's own view
 * (this node's, or asked of NODE's agent over distribution; --here: this
 * node's whatever the name). Needs no copy of the state for this node. */
void mgr__agent_node_status(rt_actor_t *self, rt_from_t from,
                            const Cleo__Introspect__AdminReq *q);

/* mq-stats [NODE] (agent_mq.c): NODE's (NULL: this node's) repair
 * queues, asked of its sto_repair. */
void mgr__agent_mq_stats(rt_actor_t *self, rt_from_t from, const char *node);

/* Free the status NODE in flight (the actor is going). */
void mgr__agent_node_drop(agent_t *a);

#endif
