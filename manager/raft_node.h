/*
 * raft_node.h - the inside of manager/raft.h (private to the raft*.c
 * files): the Raft thread and what runs on it, and the payloads of the
 * private messages between the Raft actor, its thread and its bridge.
 *
 * Threads: a mgr__raft_node_t is made and freed by the Raft actor; in
 * between, everything below its "raft thread only" marker belongs to the
 * Raft thread, and the actor reaches it only through
 * mgr__raft_node_post() (a mutex queue and a uv_async). Every raft_*
 * call, raft_uv callback and transport hook runs on the Raft thread.
 */
#ifndef CLEO_MANAGER_RAFT_NODE_H
#define CLEO_MANAGER_RAFT_NODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "manager/fsm.h"
#include "manager/raft.h"
#include "manager/raft_guard.h"

/* ---------------------------------------------------------------------
 * Private messages' payloads (types RAFT_PRIV_*): one C struct, set with
 * mgr__raft_priv_msg(). No frame from another node can carry it, which
 * is how a handler knows such a message is local.
 * ------------------------------------------------------------------- */

#define MGR_RAFT_PRIV_CONNECT CLEO__CLUSTER__MSG_ID__RAFT_PRIV_CONNECT
#define MGR_RAFT_PRIV_CONNECTED CLEO__CLUSTER__MSG_ID__RAFT_PRIV_CONNECTED
#define MGR_RAFT_PRIV_ACCEPT CLEO__CLUSTER__MSG_ID__RAFT_PRIV_ACCEPT
#define MGR_RAFT_PRIV_READ CLEO__CLUSTER__MSG_ID__RAFT_PRIV_READ
#define MGR_RAFT_PRIV_EOF CLEO__CLUSTER__MSG_ID__RAFT_PRIV_EOF
#define MGR_RAFT_PRIV_APPLIED CLEO__CLUSTER__MSG_ID__RAFT_PRIV_APPLIED
#define MGR_RAFT_PRIV_FORWARD CLEO__CLUSTER__MSG_ID__RAFT_PRIV_FORWARD
#define MGR_RAFT_MSG_OPEN CLEO__CLUSTER__MSG_ID__RAFT_OPEN
#define MGR_RAFT_MSG_CHUNK CLEO__CLUSTER__MSG_ID__RAFT_CHUNK
#define MGR_RAFT_MSG_CLOSE CLEO__CLUSTER__MSG_ID__RAFT_CLOSE

typedef struct mgr__raft_priv_s {
    uint64_t id;    /* a connect id (CONNECT, CONNECTED) or stream id */
    int fd;         /* a socket end handed over; -1 = none; closed when
                       the payload is freed unless taken (set to -1) */
    int status;     /* CONNECTED: 0 or CLEO_E*; EOF: the read error */
    rt_buf_t *buf;  /* READ: the bytes; APPLIED: the packed state */
    void *pb;       /* APPLIED: a RaftState; FORWARD: the request's record */
    rt_from_t from; /* FORWARD: the caller to answer */
    uint32_t type;  /* FORWARD: the request's type */
    uint32_t hops;  /* FORWARD: forwards so far */
    char node[MGR_FSM_NODE_MAX + 1]; /* CONNECT: the peer; ACCEPT: the
                                        peer; FORWARD: the leader */
} mgr__raft_priv_t;

/* A zeroed payload with fd = -1. Aborts on out-of-memory. */
mgr__raft_priv_t *mgr__raft_priv_new(void);
/* Free a payload: close its fd, drop its buffer, free its record.
 * Accepts NULL. */
void mgr__raft_priv_free(void *p);
/* A message of type carrying p (takes it). */
rt_msg_t *mgr__raft_priv_msg(uint32_t type, mgr__raft_priv_t *p);
/* m's private payload, or NULL if m carries none (then it did not come
 * from this node's Raft parts and is ignored). */
mgr__raft_priv_t *mgr__raft_priv_of(const rt_msg_t *m);

/* m's record if it is a protobuf of descriptor d (set by rt_msg_set_pb
 * or, as distribution delivers it, alone); NULL otherwise. */
void *mgr__raft_pb_of(const rt_msg_t *m, const ProtobufCMessageDescriptor *d);

/* A malloc'd CommandResult {status, detail}; a reply of type carrying it
 * with reason = status. */
rt_msg_t *mgr__raft_result_msg(uint32_t type, int status, const char *detail);

/* ---------------------------------------------------------------------
 * The Raft thread.
 * ------------------------------------------------------------------- */

/* An operation queued for the Raft thread: a request as its message
 * brought it. */
typedef struct mgr__raft_op_s {
    struct mgr__raft_op_s *next;
    uint32_t type;  /* a MsgId */
    uint32_t tag;   /* PROPOSE, MEMBER_*: forwards so far */
    rt_from_t from; /* the caller; from.ref 0 = not a call */
    void *payload;  /* taken from the message */
    rt_free_fn payload_free;
} mgr__raft_op_t;

/* A pending connect of the transport. */
typedef struct mgr__raft_conn_s {
    uv_timer_t timer; /* the deadline, then the deferred callback */
    struct mgr__raft_node_s *node;
    struct mgr__raft_conn_s *next;
    uint64_t cid;
    struct raft_uv_connect *req;
    raft_uv_connect_cb cb;
    struct uv_stream_s *stream; /* the result to give; NULL = failed */
    int status;                 /* the RAFT_* status to give */
    bool done;                  /* its callback ran (or is to run) */
} mgr__raft_conn_t;

/* A proposal waiting for its entry: the raft_apply request while raft
 * holds it, then (leadership lost) until its index is applied. */
typedef struct mgr__raft_prop_s {
    struct raft_apply req; /* req.index: the entry's index */
    struct mgr__raft_prop_s *next;
    struct mgr__raft_node_s *node;
    rt_from_t from;
    uint64_t seq;
    uint64_t deadline_ms; /* lost ones: answer "unknown" after this */
    bool lost;
} mgr__raft_prop_t;

/* A membership change: raft_add then raft_assign, or raft_remove. */
typedef struct mgr__raft_change_s {
    struct raft_change req;
    struct mgr__raft_node_s *node;
    rt_from_t from;
    uint64_t id;
    char name[MGR_FSM_NODE_MAX + 1];
    bool adding; /* raft_add done, raft_assign next */
    bool remove; /* raft_remove */
} mgr__raft_change_t;

typedef struct mgr__raft_node_s {
    /* set before the thread starts; read-only after */
    rt_t *rt;
    rt_pid_t actor;  /* the Raft actor */
    rt_pid_t bridge; /* its bridge */
    char name[MGR_FSM_NODE_MAX + 1];
    uint64_t id;
    char *dir;
    char *managers[MGR_RAFT_MANAGERS_MAX];
    size_t n_managers;
    uint32_t election_ms, heartbeat_ms, threshold, trailing;
    uint32_t connect_ms; /* a connect's deadline */

    /* shared: the queue, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* started */
    mgr__raft_op_t *head, *tail;
    bool stop;    /* the actor asks the thread to end */
    bool started; /* start-up done; start_rc says how */
    int start_rc;
    pthread_t thread;
    uv_async_t wake; /* uv_async_send() from any thread */

    /* raft thread only */
    uv_loop_t loop;
    uv_check_t check; /* after each loop pass: publish, guard */
    uv_timer_t sweep; /* lost proposals' deadlines */
    struct raft raft;
    struct raft_io io;
    struct raft_fsm fsm_cb;
    mgr__fsm_t fsm;
    bool raft_inited, closing;
    mgr__fsm_result_t result; /* the last apply's, for its callback */
    mgr__raft_prop_t *props;  /* proposals, newest first */
    uint64_t seq;             /* the next proposal's */
    bool dirty;               /* applied something since the last push */
    raft_id pushed_leader;    /* what the last push said */
    /* the transport (raft_transport.c) */
    struct raft_uv_transport transport;
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb transport_close_cb;
    bool transport_closing;
    mgr__raft_conn_t *conns;
    uint64_t next_cid;
    mgr__raft_guard_t guard; /* raft_guard.h: two 0.15 bugs kept out */
} mgr__raft_node_t;

/* raft_node.c ------------------------------------------------------- */

/* Make the node and start its thread, which opens the directory and
 * starts raft; wait for that. @param o borrows. @param out gives: free
 * with mgr__raft_node_free(). @return 0, CLEO_ESTORAGE (raft failed:
 * one line on stderr), -errno. */
int mgr__raft_node_new(rt_t *rt, rt_pid_t actor, rt_pid_t bridge,
                       const mgr__raft_opts_t *o, mgr__raft_node_t **out);
/* Close raft, end the thread (joined) and free the node. Accepts NULL. */
void mgr__raft_node_free(mgr__raft_node_t *n);
/* Queue op for the thread. @param op takes. */
void mgr__raft_node_post(mgr__raft_node_t *n, mgr__raft_op_t *op);
/* Free an op and its payload. */
void mgr__raft_op_free(mgr__raft_op_t *op);

/* raft_ops.c: the requests, on the Raft thread ------------------------ */

/* Run one op (takes it). */
void mgr__raft_ops_run(mgr__raft_node_t *n, mgr__raft_op_t *op);
/* The FSM callbacks raft calls (fsm_cb). */
int mgr__raft_fsm_apply(struct raft_fsm *f, const struct raft_buffer *buf,
                        void **result);
int mgr__raft_fsm_snapshot(struct raft_fsm *f, struct raft_buffer *bufs[],
                           unsigned *n_bufs);
int mgr__raft_fsm_restore(struct raft_fsm *f, struct raft_buffer *buf);
/* After each loop pass: settle lost proposals whose index is applied,
 * push the state to the actor if it changed. */
void mgr__raft_ops_check(mgr__raft_node_t *n);
/* Answer lost proposals past their deadline. */
void mgr__raft_ops_sweep(mgr__raft_node_t *n);
/* raft is closed: answer every proposal left with CLEO_ESHUTDOWN. */
void mgr__raft_ops_close(mgr__raft_node_t *n);

/* raft_transport.c -------------------------------------------------- */

/* Fill n->transport (before raft_uv_init). */
void mgr__raft_transport_init(mgr__raft_node_t *n);
/* The bridge made an inbound stream (RAFT_PRIV_ACCEPT): hand it to raft.
 * @param p borrows (its fd is taken). */
void mgr__raft_transport_accept(mgr__raft_node_t *n, mgr__raft_priv_t *p);
/* The bridge answered a connect (RAFT_PRIV_CONNECTED). @param p borrows
 * (its fd is taken). */
void mgr__raft_transport_connected(mgr__raft_node_t *n, mgr__raft_priv_t *p);

/* raft_bridge.c: the bridge actor ------------------------------------ */

/* rt_spawn()'s arg for mgr__raft_bridge_beh (borrowed during init). The
 * bridge must be pinned to a scheduler (it holds uv handles). */
typedef struct mgr__raft_bridge_arg_s {
    rt_pid_t raft;    /* the Raft actor: accepted and connected fds go there */
    const char *node; /* this node's name */
    uint32_t open_ms; /* an OPEN call's timeout */
} mgr__raft_bridge_arg_t;

extern const rt_behaviour_t mgr__raft_bridge_beh;

#endif /* CLEO_MANAGER_RAFT_NODE_H */
