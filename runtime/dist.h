/*
 * dist.h - distribution inside the runtime (issue 10): the node table,
 * routing of messages and signals to remote pids, the bookkeeping that
 * turns a lost connection into noconnection exactly once, and the
 * connection layer (dist_conn.c) that runs on a thread of its own.
 *
 * Threads. Senders (schedulers, pool threads, outside threads) only touch
 * a node entry under its lock: they append to its outbound queue and wake
 * the dist thread. The dist thread owns the sockets, encodes and writes
 * the queue, decodes frames and delivers them as local sends. Entries are
 * never freed before rt_free(), so a pid's node index is always safe to
 * look up.
 *
 * Noconnection. Every local pid that takes part in a link, monitor or
 * call across a node goes into that node's `rel` set. When the connection
 * is lost, each such actor gets one RT__SYS_NODEDOWN signal; the actor
 * itself (signal.c) then fires each of its links and monitors to pids of
 * that node once and fails its calls to them: its own tables say what is
 * left, so nothing fires twice.
 */
#ifndef CLEO_RUNTIME_DIST_H
#define CLEO_RUNTIME_DIST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "runtime/dist_frame.h"
#include "runtime/dist_hs.h"
#include "runtime/map.h"
#include "runtime/rt.h"

/* A signal (actor.h numbering): the node arg's connection was lost. */
#define RT__SYS_NODEDOWN (UINT32_MAX - 18)

/* A node's connection state (entry lock). */
typedef enum {
    RT__DN_IDLE = 0, /* no connection; one opens at the next send */
    RT__DN_PENDING,  /* a connection is being set up; sends queue */
    RT__DN_UP,       /* connected: sends queue and are written */
    RT__DN_DEAD,     /* an older creation of a restarted node: forever */
} rt__dn_state_t;

struct rt__dconn_s;

/* Outbound bytes: frames encoded by the senders, and bodies either copied
 * in (small) or referenced (a buffer's bytes, sent without a copy). */
typedef struct rt__dchunk_s {
    struct rt__dchunk_s *next;
    rt_buf_t *buf; /* a referenced body (one reference held); NULL = bytes */
    size_t off;    /* where the bytes still to send start */
    size_t len;    /* bytes still to send, from off */
    size_t cap;    /* bytes at bytes[] */
    uint8_t bytes[];
} rt__dchunk_t;

#define RT__DCHUNK_BYTES (64u * 1024) /* a byte chunk's usual capacity */
#define RT__DCOPY_MAX (16u * 1024)    /* bodies up to this are copied */

/* The bytes of chunk k still to send (k->len of them). */
const uint8_t *rt__dchunk_data(const rt__dchunk_t *k);

/* Write what this thread's actor turn queued for other nodes: the
 * scheduler calls it after each turn. */
void rt__dist_flush_turn(void);

/* Free a chunk list. Accepts NULL. */
void rt__dchunk_free_all(rt__dchunk_t *c);

typedef struct rt__dnode_s {
    pthread_mutex_t lock; /* guards everything down to `rel` */
    rt__dn_state_t state;
    uint32_t creation;      /* 0 until a connection binds it */
    uint16_t idx;           /* this entry's index in pids */
    _Atomic uint16_t newer; /* entry of this name's newer creation, or 0 */
    bool dirty;             /* on the dist thread's work list */
    bool want_connect;      /* a connection should be opened */
    bool want_close;        /* rt_dist_disconnect: close the connection */
    uint64_t retry_ms;      /* after a failed connect: none before this */
    /* Senders write the queue straight to the socket (on their own
     * thread, under the lock; an actor's at the end of its turn) when the
     * node is up and the loop has no write in flight: no thread hop for
     * the common case, one system call for a burst. */
    int fd;     /* the UP connection's socket; -1 = none (write queued) */
    bool wbusy; /* the dist thread has writes in flight */
    rt__dchunk_t *oq_head; /* outbound frames, in order */
    rt__dchunk_t *oq_tail;
    uint64_t oq_bytes;
    rt_map_t rel; /* local pids with links/monitors/calls here */
    /* Set once (before the entry is published) or by the dist thread: */
    char name[RT_DIST_NAME_MAX + 1];
    char host[RT_DIST_NAME_MAX + 1]; /* to connect to; "" = unknown */
    uint16_t port;                   /* 0 = unknown */
    struct rt__dconn_s *conn;        /* the UP connection (dist thread) */
    /* Counters, read by rt_dist_nodes() without the lock: */
    _Atomic uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
    _Atomic uint64_t up_since_ms, last_recv_ms;
    char addr[64]; /* peer address of the UP connection (entry lock) */
} rt__dnode_t;

#define RT__DIST_MAX_NODES 65536u
#define RT__DIST_MAX_NAMES 4096u /* interned names for rt_dist_named() */

typedef struct rt_dist_s {
    rt_t *rt;
    char name[RT_DIST_NAME_MAX + 1];
    uint32_t creation;
    uint8_t *cookie;
    size_t cookie_len;
    uint32_t tick_ms; /* net_ticktime */
    uint32_t max_frame;
    uint16_t port;     /* bound */
    rt_tls_ctx_t *tls; /* one reference; NULL = plain TCP */
    bool tls_verify;   /* with a CA: peers' certificates are checked */

    pthread_mutex_t lock;            /* the table, names, subscribers */
    _Atomic(rt__dnode_t *) *nodes;   /* RT__DIST_MAX_NODES slots */
    uint32_t nnodes;                 /* highest index used + 1 */
    char *names[RT__DIST_MAX_NAMES]; /* interned; index = slot of pid */
    uint32_t nnames;
    rt_map_t subs;      /* pid -> 0: rt_monitor_nodes subscribers */
    rt_map_t pbs;       /* name hash -> descriptor pointer */
    rt__dnode_t **work; /* dirty entries for the dist thread */
    uint32_t nwork, capwork;

    /* The connections live on scheduler 0's loop (dist_conn.c). */
    uv_loop_t *loop;
    _Atomic int handles; /* open handles on it; stop waits for 0 */
    uv_async_t wake;
    uv_tcp_t listener;
    uv_timer_t ticker;
    _Atomic int stopping;
    _Atomic bool running;      /* the transport is TCP and up */
    rt_map_t logged;           /* peer hosts whose bad cookie was logged */
    struct rt__dconn_s *conns; /* all connections, any state */
    char *listen_addr;

    _Atomic uint64_t bad_cookie, bad_handshake, bad_frame, dropped;
    _Atomic uint64_t connects, disconnects;
} rt_dist_t;

/* ---- dist.c: table and routing (any thread) ---------------------- */

/* True if pid names an actor of another node (a known index). */
bool rt__dist_is_remote(rt_t *rt, rt_pid_t pid);

/* Route m (a message or a signal, see signal.c) to remote pid `to`.
 * Takes m. @return 0 (queued, or dropped as Erlang drops a send to an
 * unreachable node); CLEO_ENOCONNECTION when the node is known dead and
 * m was a link or monitor (the caller fires it at once); CLEO_EINVAL (a
 * payload that cannot be packed); CLEO_EBADPID (unknown node). */
int rt__dist_route(rt_t *rt, rt_pid_t to, rt_msg_t *m);

/* n (locked by the caller) has work for the dist thread: put it on the
 * work list unless it is there, unlock it, and wake the thread. */
void rt__dist_work_unlock(rt_dist_t *d, rt__dnode_t *n);

/* Bytes of one whole frame (a tick) for n if it is up: as a sender's,
 * straight to the socket or queued behind what is. */
void rt__dist_send_raw(rt_dist_t *d, rt__dnode_t *n, const void *p, size_t len);

/* Take the work list (entries put there by rt__dist_work_unlock).
 * @return gives: free() it; *n entries. */
rt__dnode_t **rt__dist_take_work(rt_dist_t *d, uint32_t *n);

/* The entry for idx, or NULL. */
rt__dnode_t *rt__dist_node_get(rt_dist_t *d, uint32_t idx);

/* The entry for (name, creation) that a new connection binds to: the
 * entry of that name if unbound or of that creation, else a new entry;
 * then *old is the superseded entry, which the caller must bring down
 * (it becomes DEAD). Dist thread.
 * @return the entry, or NULL if the table is full. */
rt__dnode_t *rt__dist_bind(rt_dist_t *d, const char *name, uint32_t creation,
                           rt__dnode_t **old);

/* Move the frames queued on `from` for {name, node} pids to the end of
 * `to`'s queue, and drop the rest: `from` was found to be an old
 * creation of `to`'s node (dist thread). */
void rt__dist_requeue_named(rt__dnode_t *from, rt__dnode_t *to);

/* True if pid is on node idx (named pids: on its newest creation). */
bool rt__dist_on_node(rt_t *rt, rt_pid_t pid, uint32_t idx);

/* Deliver a decoded frame from node n (dist thread). Takes pb and body.
 * @return 0, or CLEO_EPROTO (a frame no peer may send: close). */
int rt__dist_deliver(rt_dist_t *d, rt__dnode_t *n, const rt__dist_hdr_t *h,
                     ProtobufCMessage *pb, rt_buf_t *body);

/* The entry of name (newest creation), created unbound if unknown.
 * @return NULL if the table is full. */
rt__dnode_t *rt__dist_declare(rt_dist_t *d, const char *name);

/* A payload type's wire id: FNV-1a of its protobuf full name, never 0. */
uint32_t rt__dist_pb_hash(const char *full_name);

/* The entry of name (newest creation), or NULL. */
rt__dnode_t *rt__dist_find(rt_dist_t *d, const char *name);

/* The interned name of a named pid's slot, or NULL. */
const char *rt__dist_name_of(rt_dist_t *d, uint32_t slot);

/* A connection of n came up / went down (dist thread): NODEUP to the
 * subscribers; on down, NODEDOWN signals to n's rel set and NODEDOWN
 * messages to subscribers, and the queue is dropped. */
void rt__dist_on_up(rt_dist_t *d, rt__dnode_t *n);
void rt__dist_on_down(rt_dist_t *d, rt__dnode_t *n, bool was_up);

/* Decode a payload of type hash pb. @return the message, or NULL (unknown
 * type or bad bytes). */
ProtobufCMessage *rt__dist_unpack(rt_dist_t *d, uint32_t pb, const void *p,
                                  size_t n);

/* Wall clock in ms. */
uint64_t rt__dist_now_ms(void);
/* The clock retries are timed by: virtual in deterministic mode. */
uint64_t rt__dist_clock(rt_dist_t *d);

/* ---- dist_rx.c: receiving, for any transport ---------------------- */

/* One connection's receiving state. */
typedef struct rt__dist_rx_s {
    rt_dist_t *d;
    rt__dist_dec_t dec;
    rt__dist_hdr_t bhdr; /* the frame whose body is arriving */
    rt_buf_t *body;      /* NULL = no body pending */
    size_t body_have;
    ProtobufCMessage *bpb; /* that frame's payload, unpacked */
} rt__dist_rx_t;

void rt__dist_rx_init(rt__dist_rx_t *rx, rt_dist_t *d);
void rt__dist_rx_destroy(rt__dist_rx_t *rx);
/* Bytes from the peer of entry n, in order: every whole frame is
 * delivered. @return 0, or -1 with *why (static) for bytes no peer may
 * send: close the connection. */
int rt__dist_rx_feed(rt__dist_rx_t *rx, rt__dnode_t *n, const uint8_t *p,
                     size_t len, const char **why);

/* ---- dist_conn.c: TCP connections on scheduler 0's loop ----------- */

/* Start the thread: listen on address (already validated). */
int rt__dist_conn_start(rt_dist_t *d, const char *address, uint16_t port);
/* Wake the thread: an entry is dirty or wants a connection. */
void rt__dist_conn_kick(rt_dist_t *d);
/* Stop the thread: flush what is queued (briefly), close, join. */
void rt__dist_conn_stop(rt_dist_t *d);

/* ---- dist_api.c ----------------------------------------------------- */

/* Are o's name and cookie acceptable? */
bool rt__dist_opts_ok(const rt_dist_opts_t *o);
/* A distribution state for rt from o (checked), with no transport yet.
 * @return gives: published by the caller in rt->dist. */
rt_dist_t *rt__dist_new(rt_t *rt, const rt_dist_opts_t *o);

/* ---- for kernel.c ------------------------------------------------- */

void rt__dist_shutdown(rt_t *rt); /* after the actors are gone */
void rt__dist_free(rt_t *rt);

#endif
