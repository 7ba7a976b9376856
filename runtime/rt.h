/*
 * rt.h - the cleo actor runtime: Erlang's process model in C.
 *
 * An actor is a behaviour (a table of callbacks), a state pointer and a
 * lock-free mailbox. Handlers run to completion on scheduler threads; an
 * actor never has a stack of its own. Actors are named by 64-bit pids
 * (node, slot, generation): a send to a dead pid is dropped and counted,
 * never a use-after-free, even while the slot is reused.
 *
 * Conventions (see shared/STYLE.md): functions returning int give 0 or a
 * negative CLEO_E* code; pointer parameters say who owns them with one of
 * "borrows", "takes", "gives" or "valid until".
 *
 * Threads: every function may be called from any thread unless it takes an
 * `rt_actor_t *self`, which may only be used by that actor's own handlers
 * (init, handle, destroy) while they run.
 */
#ifndef CLEO_RUNTIME_RT_H
#define CLEO_RUNTIME_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RT_API __attribute__((visibility("default")))
#define RT_WUR __attribute__((warn_unused_result))

/* ---------------------------------------------------------------------
 * Errors (project-wide: every module returns these).
 * System errors are -errno; project errors live below -20000.
 * ------------------------------------------------------------------- */

#define CLEO__ERR(e) (-(e))
#define CLEO_ENOTFOUND (-20001)     /* no such thing (name, timer, key) */
#define CLEO_EINVAL (-20002)        /* invalid argument from a caller */
#define CLEO_EBADPID (-20003)       /* malformed or never-valid pid */
#define CLEO_ENOPROC (-20004)       /* the actor is dead; the message dropped */
#define CLEO_EEXIST (-20005)        /* name or entry already taken */
#define CLEO_ELIMIT (-20006)        /* a configured limit was reached */
#define CLEO_ESHUTDOWN (-20007)     /* the runtime is shutting down or down */
#define CLEO_ETIMEDOUT (-20008)     /* a call or wait timed out */
#define CLEO_EDEADLK (-20009)       /* blocking call from a scheduler thread */
#define CLEO_ENOMEM (-20010)        /* a client-sized allocation failed */
#define CLEO_EPROTO (-20011)        /* undecodable message or frame */
#define CLEO_ESTORAGE (-20012)      /* storage engine error */
#define CLEO_EBADREQ (-20013)       /* malformed request */
#define CLEO_EPANIC (-20014)        /* an actor called cl_panic/failed assert */
#define CLEO_ESTATE (-20015)        /* the call is not valid in this state */
#define CLEO_EOVERLOAD (-20016)     /* receiver over its mailbox limit */
#define CLEO_ENOCONNECTION (-20017) /* no connection to the pid's node */

/** Short symbolic name of an error code ("CLEO_ENOPROC", "ENOENT"). Never
 *  NULL; the string is static. */
RT_API const char *cleo_err_name(int err);
/** Human-readable message for an error code. Never NULL; static string. */
RT_API const char *cleo_strerror(int err);

/** The one plain buffer type: a borrowed view of bytes. */
typedef struct {
    char *base;
    size_t len;
} cleo_buf_t;

/** Allocation for fixed-size control structures (STYLE rule 26): on
 *  out-of-memory they log and abort, so no role needs an abort() of its
 *  own. Client-sized allocations must fail with CLEO_ENOMEM instead.
 *  @return gives: free with free(); never NULL (NULL for a 0-byte
 *  calloc/realloc, as the libc call may). */
RT_API void *cleo_xmalloc(size_t n);
RT_API void *cleo_xcalloc(size_t n, size_t size);
RT_API void *cleo_xrealloc(void *p, size_t n);

/* ---------------------------------------------------------------------
 * Exit reasons. A reason is an int: 0 is `normal`, the named ones below
 * are Erlang's atoms, and any other negative value is an error code that
 * made the actor exit (e.g. a handler's return value).
 * ------------------------------------------------------------------- */

#define RT_REASON_NORMAL 0
#define RT_REASON_KILL (-30001)   /* untrappable when sent by rt_exit() */
#define RT_REASON_KILLED (-30002) /* what a killed actor's links see */
#define RT_REASON_NOPROC (-30003) /* link/monitor target was already dead */
#define RT_REASON_SHUTDOWN (-30004)
#define RT_REASON_NOCONNECTION (-30005)
#define RT_REASON_PANIC CLEO_EPANIC

/** Name of a reason ("normal", "killed", or the error name). Static. */
RT_API const char *rt_reason_name(int reason);

/* ---------------------------------------------------------------------
 * Pids: 16 bits node | 24 bits generation | 24 bits slot. 0 is no pid.
 * ------------------------------------------------------------------- */

typedef uint64_t rt_pid_t;
#define RT_PID_NONE ((rt_pid_t)0)
#define RT_PID_NODE(p) ((uint32_t)((p) >> 48))
#define RT_PID_GEN(p) ((uint32_t)(((p) >> 24) & 0xFFFFFF))
#define RT_PID_SLOT(p) ((uint32_t)((p)&0xFFFFFF))
#define RT_PID_MAKE(node, gen, slot)                                           \
    (((uint64_t)(node) << 48) | ((uint64_t)((gen)&0xFFFFFF) << 24) |           \
     ((uint64_t)(slot)&0xFFFFFF))
#define RT_MAX_ACTORS_LIMIT (1u << 24)

/** Format a pid as "<node.slot.gen>" into buf (at least 32 bytes); returns
 *  buf. */
RT_API char *rt_pid_fmt(rt_pid_t pid, char *buf, size_t len);

/* ---------------------------------------------------------------------
 * Opaque types.
 * ------------------------------------------------------------------- */

typedef struct rt_s rt_t;             /* one runtime (one node) */
typedef struct rt_actor_s rt_actor_t; /* an actor; only its handlers see it */
typedef struct rt_buf_s rt_buf_t;     /* reference-counted bytes */
typedef struct rt_inbox_s rt_inbox_t; /* a mailbox for a non-actor thread */
typedef uint64_t rt_ref_t;            /* monitor/call/timer reference */

/* ---------------------------------------------------------------------
 * Messages. Every message starts with this header. An application payload
 * is a pointer the header carries (typically a protobuf-c message struct),
 * moved to a local receiver without copy; `arg` holds a small inline value.
 * ------------------------------------------------------------------- */

typedef void (*rt_free_fn)(void *p);

/* The intrusive mailbox link; private to the runtime. */
typedef struct rt_mnode_s {
    struct rt_mnode_s *_Atomic next;
} rt_mnode_t;

typedef struct rt_msg_s rt_msg_t;
struct rt_msg_s {
    /* private */
    rt_mnode_t _node; /* mailbox link; must stay first */
    uint32_t _sys;    /* runtime flags (call, reply, signal kind) */
    /* public */
    uint32_t tag;            /* free for behaviours (gen_server: cast) */
    uint32_t type;           /* < RT_MSG_SYS_BASE for applications */
    int32_t reason;          /* EXIT/DOWN: exit reason; call: status */
    rt_pid_t from;           /* sender (0 outside an actor) */
    rt_ref_t ref;            /* call or monitor reference, 0 = none */
    uint64_t arg;            /* small inline payload */
    void *payload;           /* owned by the message; see payload_free */
    rt_free_fn payload_free; /* frees payload with the message; NULL = none */
};

/* System message types, reserved at the top of the id range. Applications
 * use ids below RT_MSG_SYS_BASE. Handlers see EXIT (when trapping exits),
 * DOWN, TRACE and the protocol messages; the rest are consumed by the
 * runtime. */
#define RT_MSG_SYS_BASE 0xFFFFFF00u
#define RT_MSG_EXIT (UINT32_MAX - 1) /* from = dead pid, reason */
#define RT_MSG_DOWN (UINT32_MAX - 2) /* ref = monitor, from, reason */
#define RT_MSG_TRACE                                                           \
    (UINT32_MAX - 3) /* from = traced pid, arg = type of                       \
                        the message it handled, ref = that                     \
                        message's sender */

/* Protocol messages: well-known requests that several behaviours answer
 * (like OTP's system messages). They pass through to handlers and may be
 * sent with rt_call(). 0x00-0x3F belong to the runtime, 0x40-0x7F to the
 * OTP layer (actors/, supervisors/). */
#define RT_MSG_PROTO_BASE RT_MSG_SYS_BASE
#define RT_MSG_PROTO_END (RT_MSG_SYS_BASE + 0x80u)
/* Asked of supervisors: reply payload is a Cleo__Introspect__Children
 * protobuf (proto/introspect.proto) listing the children. */
#define RT_MSG_WHICH_CHILDREN (RT_MSG_PROTO_BASE + 1u)
/* Asked by the introspection server of the actor registered as "admin"
 * (the manager role's): payload a Cleo__Introspect__AdminReq, reply
 * payload a Cleo__Introspect__AdminReply (proto/introspect.proto). */
#define RT_MSG_ADMIN (RT_MSG_PROTO_BASE + 2u)
/* sys:get_status, asked by the introspection server for `cleo-adm info`
 * (with a timeout: an actor may not answer). The OTP behaviours answer
 * with a reply whose payload is a Cleo__Introspect__ActorStatus
 * (proto/introspect.proto) holding their status text. */
#define RT_MSG_STATUS (RT_MSG_PROTO_BASE + 3u)
#define RT_MSG_OTP_BASE (RT_MSG_PROTO_BASE + 0x40u)

/** Allocate a message header of `type` from the runtime's pool, with
 *  from = the calling actor's pid (0 outside actors) and all else zero.
 *  Aborts on out-of-memory (fixed-size control struct).
 *  @return gives: pass it to rt_send() or free it with rt_msg_free(). */
RT_API rt_msg_t *rt_msg_new(uint32_t type);

/** Free a message and its payload (via payload_free). Accepts NULL.
 *  @param m takes. */
RT_API void rt_msg_free(rt_msg_t *m);

/** Set a protobuf-c message as payload; it is freed with
 *  protobuf_c_message_free_unpacked(pb, NULL), so every field must come
 *  from malloc (as __unpack() makes them) or be static.
 *  @param pb takes: a ProtobufCMessage *. */
RT_API void rt_msg_set_pb(rt_msg_t *m, void *pb);

/** Set a reference-counted buffer as payload (unref'd with the message).
 *  @param b takes one reference. */
RT_API void rt_msg_set_buf(rt_msg_t *m, rt_buf_t *b);

/** A record and bulk bytes together (a whole-object PUT or GET): both
 *  cross the wire, the record packed, the bytes as the frame's body. */
typedef struct rt_body_s {
    void *pb;      /* a protobuf-c message (ProtobufCMessage *), or NULL */
    rt_buf_t *buf; /* one reference, or NULL */
} rt_body_t;

/** Make {pb, buf} m's payload, freed with the message (pb as
 *  rt_msg_set_pb frees it). Any payload m had is freed first. Aborts on
 *  out-of-memory (a fixed-size struct).
 *  @param pb takes. @param buf takes one reference. */
RT_API void rt_msg_set_body(rt_msg_t *m, void *pb, rt_buf_t *buf);

/** m's payload as a body, or NULL if it was not set by rt_msg_set_body().
 *  @return valid until m is freed or its payload taken. */
RT_API rt_body_t *rt_msg_body(const rt_msg_t *m);

/* ---------------------------------------------------------------------
 * Reference-counted buffers for bulk data: a 5 MiB chunk travels between
 * actors by reference, never copied.
 * ------------------------------------------------------------------- */

/** Allocate a buffer of capacity `cap` with len 0 and one reference.
 *  @param out gives: release with rt_buf_unref().
 *  @return 0, or CLEO_ENOMEM (the size comes from clients). */
RT_API RT_WUR int rt_buf_new(size_t cap, rt_buf_t **out);
/** Take another reference. @return b. */
RT_API rt_buf_t *rt_buf_ref(rt_buf_t *b);
/** Drop a reference; frees on the last one. Accepts NULL. */
RT_API void rt_buf_unref(rt_buf_t *b);
/** The bytes. @return valid until the last reference is dropped. */
RT_API char *rt_buf_data(rt_buf_t *b);
RT_API size_t rt_buf_len(const rt_buf_t *b);
RT_API size_t rt_buf_cap(const rt_buf_t *b);
/** Set the length (<= cap). @return 0 or CLEO_EINVAL. */
RT_API RT_WUR int rt_buf_set_len(rt_buf_t *b, size_t len);
RT_API uint32_t rt_buf_refs(const rt_buf_t *b);

/* ---------------------------------------------------------------------
 * Behaviours.
 * ------------------------------------------------------------------- */

/* Return from handle() to stop normally (reason `normal`). */
#define RT_STOP 1

typedef struct rt_behaviour_s {
    const char *name; /* shown by introspection; required */
    /* Runs inside rt_spawn() on the spawner's thread, before the pid is
     * returned; may set the state and send. Returns 0, or <0 and the
     * spawn fails with that code (no exit signals are sent, destroy does
     * not run; resources it added are released, its call timers
     * cancelled and links/monitors it made silently undone). Optional.
     * Create uv handles from a message to self, not here. */
    int (*init)(rt_actor_t *self, void *arg);
    /* One message. Return 0 to continue, RT_STOP to exit normally, <0 to
     * exit with that reason. The runtime frees `m` after it returns unless
     * the handler cleared m->payload (then it owns the payload). Required.
     */
    int (*handle)(rt_actor_t *self, rt_msg_t *m);
    /* Runs once when the actor dies, for any reason, on its scheduler:
     * release the state here. Optional. */
    void (*destroy)(rt_actor_t *self, int reason);
    /* Bytes of state owned by this actor, for introspection. Optional.
     * Called from other threads (introspection, rt_actor_info) while the
     * actor may be running: it must not read the state, only values the
     * actor publishes through atomics. */
    size_t (*memory)(const rt_actor_t *self);
    /* True if handle() answers the protocol calls (RT_MSG_STATUS), as the
     * OTP behaviours do. Otherwise the runtime fails such a call at once
     * with CLEO_EINVAL, as an unanswerable request would otherwise wait
     * for its timeout and stay open on the actor. */
    bool sys_msgs;
} rt_behaviour_t;

/* ---------------------------------------------------------------------
 * The runtime.
 * ------------------------------------------------------------------- */

typedef struct rt_opts_s {
    uint32_t schedulers;    /* threads; 0 = one per core */
    uint32_t max_actors;    /* 0 = 1<<22; at most RT_MAX_ACTORS_LIMIT */
    uint32_t dirty_threads; /* blocking-work pool size; 0 = 4 */
    uint32_t io_threads;    /* I/O-wait pool size (rt_work_submit_io); 0 = 64 */
    uint16_t node;          /* node index put in pids; default 0 */
    bool deterministic;     /* one thread, seeded PRNG, virtual clock */
    uint64_t seed;          /* deterministic mode's PRNG seed */
    uint32_t long_turn_ms;  /* a turn longer than this is logged and
                               counted (system_monitor long_schedule);
                               0 = 100 */
    uint32_t long_mqueue;   /* a mailbox reaching this many messages is
                               logged and counted (long_message_queue);
                               0 = 10000 */
} rt_opts_t;

/** Create a runtime and start its schedulers (none in deterministic mode:
 *  the caller drives it with rt_det_run()).
 *  @param opts borrows; NULL = defaults.
 *  @param out gives: stop with rt_shutdown(), free with rt_free().
 *  @return 0, CLEO_EINVAL (bad option) or -errno from thread/loop setup. */
RT_API RT_WUR int rt_new(const rt_opts_t *opts, rt_t **out);

/** Stop accepting spawns and outside sends, kill every actor with reason
 *  `shutdown` (destroy callbacks and resource destructors run), wait until
 *  all are gone, join the scheduler and pool threads. Idempotent: a
 *  concurrent caller waits until the shutdown in progress is complete.
 *  Must not be called from a scheduler thread. Inboxes then return
 *  CLEO_ESHUTDOWN once drained. An untrappable kill already pending on
 *  an actor wins over shutdown (its links see RT_REASON_KILLED).
 *  @return 0, CLEO_EDEADLK from a scheduler thread. */
RT_API int rt_shutdown(rt_t *rt);

/** Shut down if needed (waiting for a concurrent rt_shutdown to finish)
 *  and free everything. Accepts NULL. No other call may follow. */
RT_API void rt_free(rt_t *rt);

/** True on a scheduler thread of any runtime (where blocking is banned). */
RT_API bool rt_on_scheduler(void);

/** Milliseconds on the runtime's clock (monotonic, or virtual in
 *  deterministic mode). */
RT_API uint64_t rt_now_ms(rt_t *rt);

/* ---------------------------------------------------------------------
 * Spawning and identity.
 * ------------------------------------------------------------------- */

#define RT_SPAWN_LINK 0x1u    /* link spawner and child (spawner: actor) */
#define RT_SPAWN_MONITOR 0x2u /* spawner monitors child; ref in mon_ref */
#define RT_SCHED_ANY (-1)

typedef struct rt_spawn_opts_s {
    uint32_t flags;    /* RT_SPAWN_* */
    const char *name;  /* register under this name; NULL = none; borrows */
    int sched;         /* pin to this scheduler; RT_SCHED_ANY = not pinned */
    bool trap_exit;    /* start with trap_exit on */
    rt_ref_t *mon_ref; /* out: the monitor ref with RT_SPAWN_MONITOR */
    uint32_t mailbox_limit; /* 0 = unbounded; past it rt_try_send()
                               refuses and rt_is_overloaded() is true */
} rt_spawn_opts_t;

/** Spawn an actor. init(self, arg) runs before this returns.
 *  @param self borrows: the spawning actor, or NULL from outside actors
 *         (then LINK/MONITOR are CLEO_EINVAL).
 *  @param beh borrows: must stay valid while the actor lives (static).
 *  @param arg passed to init; ownership as the behaviour documents.
 *  @param opts borrows; NULL = defaults (no link, any scheduler).
 *  @param out the new pid (written only on success); may be NULL.
 *  @return 0; CLEO_EINVAL (NULL beh/handle, bad sched, LINK/MONITOR
 *          without self); CLEO_ELIMIT (max_actors alive); CLEO_EEXIST
 *          (name taken: nothing spawned); CLEO_ESHUTDOWN; or init's error.
 */
RT_API RT_WUR int rt_spawn(rt_t *rt, rt_actor_t *self,
                           const rt_behaviour_t *beh, void *arg,
                           const rt_spawn_opts_t *opts, rt_pid_t *out);

/** The actor's own pid. */
RT_API rt_pid_t rt_self(const rt_actor_t *self);
/** The runtime an actor lives in. */
RT_API rt_t *rt_actor_rt(const rt_actor_t *self);
/** The state pointer (NULL until set). */
RT_API void *rt_state(const rt_actor_t *self);
/** Set the state pointer. @param state takes: free it in destroy(). */
RT_API void rt_set_state(rt_actor_t *self, void *state);
/** The actor running on this thread now, or NULL. */
RT_API rt_actor_t *rt_current(void);

/** Turn trap_exit on/off. Trapping turns exit signals into RT_MSG_EXIT
 *  messages (except an untrappable kill). @return the previous value. */
RT_API bool rt_trap_exit(rt_actor_t *self, bool on);

/** Exit the calling actor after the current handler returns, with
 *  `reason` (RT_REASON_NORMAL for a normal exit). */
RT_API void rt_exit_self(rt_actor_t *self, int reason);

/** Crash the calling actor now: unwind to the scheduler, run destroy and
 *  resource destructors, send exit signals with reason CLEO_EPANIC. Only
 *  inside a handler; never returns. Elsewhere it aborts the process. */
RT_API _Noreturn void rt_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define cl_panic(...) rt_panic(__FILE__, __LINE__, __VA_ARGS__)
/** Run fn(p) so that a cl_panic() inside it abandons only fn: the caller
 *  (e.g. an event manager calling a handler) survives.
 *  @return fn's result, or CLEO_EPANIC if it panicked. */
RT_API int rt_guard(int (*fn)(void *p), void *p);

/** A runtime assertion: on failure, crashes the calling actor only. */
#define rt_assert(c)                                                           \
    ((c) ? (void)0 : rt_panic(__FILE__, __LINE__, "assertion %s", #c))

/* ---------------------------------------------------------------------
 * Sending.
 * ------------------------------------------------------------------- */

/** Send m to `to`. Always takes m: on any error it is freed.
 *  Per sender-receiver pair, messages arrive in send order.
 *  @param m takes.
 *  @return 0 delivered to a live mailbox; CLEO_ENOPROC the actor is dead
 *          (dropped and counted); CLEO_EBADPID malformed pid or another
 *          node's (no distribution yet); CLEO_ESHUTDOWN after shutdown
 *          began (from outside actors) or completed; CLEO_EINVAL m NULL.
 */
RT_API int rt_send(rt_t *rt, rt_pid_t to, rt_msg_t *m);

/** Send to a registered name. Takes m as rt_send().
 *  @return as rt_send(), or CLEO_ENOTFOUND (no such name). */
RT_API int rt_send_name(rt_t *rt, const char *name, rt_msg_t *m);

/** Send m to `to` unless its mailbox holds mailbox_limit (a spawn
 *  option) messages or more: the sender sheds load instead of letting
 *  memory grow. Takes m as rt_send(). An unbounded actor never refuses.
 *  @return as rt_send(), or CLEO_EOVERLOAD (refused; m freed). */
RT_API int rt_try_send(rt_t *rt, rt_pid_t to, rt_msg_t *m);

/** True if pid is a live actor whose mailbox is at or over its limit
 *  (a snapshot: the length may change at once). */
RT_API bool rt_is_overloaded(rt_t *rt, rt_pid_t pid);

/** True if pid names a live actor of this runtime (a snapshot). */
RT_API bool rt_is_alive(rt_t *rt, rt_pid_t pid);

/* ---------------------------------------------------------------------
 * Links, monitors, exit signals (Erlang's semantics).
 * ------------------------------------------------------------------- */

/** Link self and pid. If pid is dead (or dies before the link arrives),
 *  self receives an exit signal with reason RT_REASON_NOPROC.
 *  @return 0, CLEO_EBADPID. */
RT_API int rt_link(rt_actor_t *self, rt_pid_t pid);
/** Remove a link (both sides). @return 0 (also if not linked). */
RT_API int rt_unlink(rt_actor_t *self, rt_pid_t pid);

/** Monitor pid: one RT_MSG_DOWN {ref, from=pid, reason} arrives when it
 *  dies (reason RT_REASON_NOPROC if already dead).
 *  @param out the reference. @return 0, CLEO_EBADPID. */
RT_API int rt_monitor(rt_actor_t *self, rt_pid_t pid, rt_ref_t *out);
/** Remove a monitor; a DOWN for it not yet handled is discarded.
 *  @return 0, or CLEO_ENOTFOUND if ref is not an active monitor. */
RT_API int rt_demonitor(rt_actor_t *self, rt_ref_t ref);

/** Send an exit signal to pid (Erlang's exit/2). RT_REASON_KILL kills
 *  even a trapping actor, whose links then see RT_REASON_KILLED; `normal`
 *  is ignored by a non-trapping actor other than the sender itself.
 *  @return as rt_send(). */
RT_API int rt_exit(rt_t *rt, rt_pid_t pid, int reason);

/* ---------------------------------------------------------------------
 * Registry: names -> pids, freed when the actor dies.
 * ------------------------------------------------------------------- */

#define RT_NAME_MAX 128

/** Register name for pid. @param name borrows (copied).
 *  @return 0; CLEO_EINVAL (empty or >= RT_NAME_MAX); CLEO_EEXIST (name
 *  taken, or pid already has a name); CLEO_ENOPROC (pid dead);
 *  CLEO_EBADPID. */
RT_API int rt_register(rt_t *rt, const char *name, rt_pid_t pid);
/** @return 0 or CLEO_ENOTFOUND. */
RT_API int rt_unregister(rt_t *rt, const char *name);
/** The pid registered under name, or RT_PID_NONE. */
RT_API rt_pid_t rt_whereis(rt_t *rt, const char *name);

/* ---------------------------------------------------------------------
 * Timers (millisecond resolution, on the schedulers' loops).
 * ------------------------------------------------------------------- */

/** Send m to `to` after ms milliseconds (a deadline past UINT64_MAX
 *  saturates: the timer never fires). @param m takes. @param out the timer
 * reference (may be NULL).
 *  @return 0, CLEO_EBADPID, CLEO_ESHUTDOWN (m freed on error). */
RT_API int rt_send_after(rt_t *rt, uint64_t ms, rt_pid_t to, rt_msg_t *m,
                         rt_ref_t *out);
/** Cancel a timer. @return 0 if cancelled before firing (its message is
 *  freed), CLEO_ENOTFOUND if it already fired or was cancelled. */
RT_API int rt_timer_cancel(rt_t *rt, rt_ref_t ref);

/* ---------------------------------------------------------------------
 * Calls: request/reply with a continuation and a timeout.
 * ------------------------------------------------------------------- */

#define RT_INFINITY UINT32_MAX

/* The continuation: reply is the reply (status 0; the runtime frees it
 * after this returns unless payload is cleared) or NULL with status
 * CLEO_ETIMEDOUT / CLEO_ENOPROC (callee already dead) / CLEO_EBADPID, or
 * the callee's exit reason if it died before answering: while handling
 * the request, after deferring its reply, or with the request still
 * queued (CLEO_ENOPROC for a normal stop, CLEO_EPANIC for a panic). Runs in the
 * caller actor's context; returns like a handler (0, RT_STOP or <0 to exit). */
typedef int (*rt_reply_cb)(rt_actor_t *self, rt_msg_t *reply, int status,
                           void *data);

/** Who to answer: copied out of a request so a reply can be deferred,
 *  even by another actor (a reply from elsewhere tells `server`, so that
 *  its death no longer fails the call). */
typedef struct rt_from_s {
    rt_pid_t pid;    /* the caller */
    rt_ref_t ref;    /* the call; 0 = not a call */
    rt_pid_t server; /* the actor that took the request; 0 = unknown */
} rt_from_t;

/** Send req to `to` as a call; cb runs exactly once, with the reply or an
 *  error (at once, as a message, if `to` is dead). A late reply after a
 *  timeout is dropped.
 *  @param req takes. @param data borrows: passed to cb.
 *  @return 0 (cb will run), or CLEO_EINVAL (cb never runs). */
RT_API int rt_call(rt_actor_t *self, rt_pid_t to, rt_msg_t *req,
                   uint32_t timeout_ms, rt_reply_cb cb, void *data);

/** The caller of a request (valid for rt_reply until the reply is sent).
 *  ref is 0 if m was not sent with rt_call(). Call it from the handler
 *  that took the request: server is the calling actor.
 *
 *  Like OTP's gen_server:call, which monitors the callee, a call never
 *  outlives its server: a request the server took and has not answered
 *  when it dies fails at once with the server's exit reason (deferred
 *  replies, postponed events), and so does one still queued in its
 *  mailbox; a call to a dead pid fails with CLEO_ENOPROC. */
RT_API rt_from_t rt_msg_caller(const rt_msg_t *req);

/** Reply to a call. @param reply takes.
 *  @return as rt_send(); CLEO_EINVAL if from.ref is 0 or reply->type is
 *          a runtime type (>= RT_MSG_PROTO_END). */
RT_API int rt_reply(rt_t *rt, rt_from_t from, rt_msg_t *reply);

/** Blocking call for threads that are not schedulers (mains, tests).
 *  @param req takes. @param reply_out gives: free with rt_msg_free().
 *  @return 0; CLEO_EDEADLK on a scheduler thread (req freed);
 *          CLEO_ETIMEDOUT; CLEO_ENOPROC; CLEO_EBADPID; CLEO_ESHUTDOWN;
 *          or the callee's exit reason if it died handling the request
 *          (as for rt_reply_cb). */
RT_API int rt_call_sync(rt_t *rt, rt_pid_t to, rt_msg_t *req,
                        uint32_t timeout_ms, rt_msg_t **reply_out);

/* ---------------------------------------------------------------------
 * Inboxes: a pid with a mailbox for a non-actor thread (a test, a main),
 * like Erlang's shell process. Trap-exit is on: links and monitors it asks
 * for arrive as RT_MSG_EXIT / RT_MSG_DOWN messages.
 * ------------------------------------------------------------------- */

/** @param out gives: free with rt_inbox_free(). @return 0,
 *  CLEO_ESHUTDOWN, CLEO_ELIMIT. */
RT_API RT_WUR int rt_inbox_new(rt_t *rt, rt_inbox_t **out);
RT_API rt_pid_t rt_inbox_pid(const rt_inbox_t *ib);
/** Wait up to timeout_ms for the next message (RT_INFINITY = forever).
 *  In deterministic mode it runs the runtime while waiting.
 *  @param out gives: free with rt_msg_free(). @return 0, CLEO_ETIMEDOUT,
 *  CLEO_ESHUTDOWN once the inbox's actor is dead (killed, shut down) and
 *  the messages it queued are taken, CLEO_EDEADLK on a scheduler thread.
 */
RT_API int rt_inbox_recv(rt_inbox_t *ib, uint32_t timeout_ms, rt_msg_t **out);
/** Link / monitor from the inbox (asynchronous: done by its actor).
 *  @return 0 or as rt_send(). */
RT_API int rt_inbox_link(rt_inbox_t *ib, rt_pid_t pid);
RT_API int rt_inbox_monitor(rt_inbox_t *ib, rt_pid_t pid);
/** Kill the inbox's actor and free it. Accepts NULL. */
RT_API void rt_inbox_free(rt_inbox_t *ib);

/* ---------------------------------------------------------------------
 * Blocking work: never on a scheduler thread.
 * ------------------------------------------------------------------- */

/* Runs on a pool thread; returns a status that arrives in reply->reason. */
typedef int (*rt_work_fn)(void *arg);

/** Run fn(arg) on the blocking pool, then send `self` a message of
 *  reply_type with payload = arg, payload_free = arg_free, reason = fn's
 *  return. In deterministic mode fn runs inline at once. A cl_panic() or
 *  failed rt_assert() in fn fails that job only: reason = CLEO_EPANIC
 *  (inline too: the submitter's turn goes on); a memory fault is not
 *  contained.
 *  @param arg takes (freed with arg_free with the reply, or at once on an
 *         error return; NULL fn allowed).
 *  @return 0, CLEO_ESHUTDOWN, CLEO_EINVAL. */
RT_API int rt_work_submit(rt_actor_t *self, rt_work_fn fn, void *arg,
                          rt_free_fn arg_free, uint32_t reply_type);

/** As rt_work_submit(), on the I/O pool: for jobs that mostly wait on
 *  the device (synced writes), so that many can wait at once (sharing a
 *  group commit) without keeping short jobs on the blocking pool waiting,
 *  and without a crowd of threads woken for every short job.
 *  @return as rt_work_submit(). */
RT_API int rt_work_submit_io(rt_actor_t *self, rt_work_fn fn, void *arg,
                             rt_free_fn arg_free, uint32_t reply_type);

/* ---------------------------------------------------------------------
 * Resources: destructors run when the actor dies, crash or not (Erlang's
 * "a process owns its ports").
 * ------------------------------------------------------------------- */

typedef struct rt_res_s rt_res_t;

/** Register fn(ptr) to run when self dies.
 *  @param out gives a handle for rt_resource_remove (may be NULL).
 *  @return 0. */
RT_API int rt_resource_add(rt_actor_t *self, rt_free_fn fn, void *ptr,
                           rt_res_t **out);
/** Remove a registered resource without running its destructor. */
RT_API void rt_resource_remove(rt_actor_t *self, rt_res_t *res);

/** The libuv loop of the scheduler a pinned actor lives on (uv_loop_t *),
 *  for its handles; NULL if the actor is not pinned or the runtime is
 *  deterministic. Use it from handlers (not init). The handles' callbacks
 *  run on that scheduler's thread outside any turn: they must only send
 *  messages (to the actor), never touch its state. Close handles from a
 *  resource destructor so a crash closes them too. */
RT_API void *rt_actor_loop(rt_actor_t *self);

/** The scheduler an actor is pinned to, or RT_SCHED_ANY. Spawn a helper
 *  with this to share the actor's loop (e.g. an accepted socket). */
RT_API int rt_actor_sched(const rt_actor_t *self);

/** Number of scheduler threads (1 in deterministic mode). */
RT_API uint32_t rt_sched_count(rt_t *rt);

/* ---------------------------------------------------------------------
 * Introspection and statistics.
 * ------------------------------------------------------------------- */

typedef enum {
    RT_ACTOR_WAITING = 0, /* empty mailbox */
    RT_ACTOR_RUNNABLE,    /* messages queued */
    RT_ACTOR_RUNNING,
    RT_ACTOR_EXITING
} rt_actor_state_t;

typedef struct rt_actor_info_s {
    rt_pid_t pid;
    const char *behaviour;  /* static name */
    char name[RT_NAME_MAX]; /* registered name or "" */
    uint64_t msgs;          /* messages handled */
    uint64_t mailbox;       /* messages queued */
    uint64_t memory;        /* bytes: actor + bookkeeping + state */
    uint32_t links, monitors;
    int sched; /* pinned scheduler or -1 */
    rt_actor_state_t state;
    bool trap_exit;
    rt_pid_t tracer;        /* RT_PID_NONE if not traced */
    uint32_t mailbox_limit; /* 0 = unbounded */
    uint32_t long_turns;    /* turns longer than opts.long_turn_ms */
    uint32_t long_mqueues;  /* times the mailbox reached opts.long_mqueue */
} rt_actor_info_t;

/** Trace pid: for each message it handles, tracer gets an RT_MSG_TRACE
 *  (sender and type, not the contents); RT_MSG_TRACE messages themselves
 *  are not traced. tracer = RT_PID_NONE stops.
 *  @return 0, CLEO_ENOPROC, CLEO_EBADPID, CLEO_EINVAL (tracer == pid). */
RT_API int rt_trace(rt_t *rt, rt_pid_t pid, rt_pid_t tracer);

/** Snapshot one actor. @return 0, CLEO_ENOPROC, CLEO_EBADPID. */
RT_API int rt_actor_info(rt_t *rt, rt_pid_t pid, rt_actor_info_t *out);

typedef int (*rt_foreach_cb)(const rt_actor_info_t *info, void *data);
/** Call cb for each live actor (snapshot per actor); stops early when cb
 *  returns non-zero, returning that value. */
RT_API int rt_actor_foreach(rt_t *rt, rt_foreach_cb cb, void *data);

#define RT_MAX_SCHED 64

typedef struct rt_sched_stats_s {
    uint64_t runs;    /* actor turns */
    uint64_t msgs;    /* messages handled */
    uint64_t steals;  /* actors stolen from other schedulers */
    uint64_t sleeps;  /* times it slept in its loop */
    uint64_t busy_ns; /* time spent running actors */
    uint32_t queue;   /* run-queue length now */
    uint64_t turn_ms; /* age of the turn running now; 0 = none */
    rt_pid_t running; /* the actor in that turn; RT_PID_NONE = none */
} rt_sched_stats_t;

typedef struct rt_stats_s {
    uint64_t actors;       /* alive now */
    uint64_t spawned;      /* total */
    uint64_t exited;       /* total */
    uint64_t crashed;      /* exits with reasons other than normal/shutdown */
    uint64_t dropped;      /* messages sent to dead pids */
    uint64_t timers;       /* pending */
    uint64_t long_turns;   /* turns longer than opts.long_turn_ms */
    uint64_t long_mqueues; /* mailboxes that reached opts.long_mqueue */
    uint32_t schedulers;
    uint32_t max_actors;
    rt_sched_stats_t sched[RT_MAX_SCHED];
} rt_stats_t;

/** Snapshot the runtime's counters. */
RT_API void rt_stats(rt_t *rt, rt_stats_t *out);

/** Age in ms of the oldest turn running now on any scheduler (0 when
 *  every scheduler is between turns or asleep): a scheduler stuck in a
 *  handler shows here, as heart's beat checks. */
RT_API uint64_t rt_sched_stuck_ms(rt_t *rt);

/* ---------------------------------------------------------------------
 * Introspection server: the node's Unix socket (and optional loopback TCP
 * listener) speaking proto/introspect.proto, for cleo-adm.
 * ------------------------------------------------------------------- */

typedef struct rt_introspect_opts_s {
    const char *path;         /* Unix socket path (created 0600); required */
    uint16_t tcp_port;        /* 0 = no TCP listener; else 127.0.0.1 only */
    const char *token;        /* required with tcp_port: clients must send it */
    const char *top;          /* registered name of the top supervisor, for
                                 TREE (e.g. "cleo_sup") */
    const char *node;         /* node name for STATUS */
    const char *const *roles; /* NULL-terminated, for STATUS; may be NULL */
} rt_introspect_opts_t;

/** Start the introspection server: an actor pinned to a scheduler, linked
 *  to self (its supervisor) when self is given, registered as
 *  "introspect". Strings in opts are copied.
 *  @return 0, CLEO_EINVAL, -errno (socket), or as rt_spawn(). */
RT_API RT_WUR int rt_introspect_start(rt_t *rt, rt_actor_t *self,
                                      const rt_introspect_opts_t *opts,
                                      rt_pid_t *out);

/** The version the node reports (STATUS's, CLEO_VERSION), for a node's
 *  view asked over distribution (cleo-adm status NODE).
 *  @return static: valid for the process's life. */
RT_API const char *rt_version(void);

/* ---------------------------------------------------------------------
 * Distribution (runtime/dist*.c): runtimes in other processes, as Erlang's
 * nodes. A pid's node field indexes this runtime's node table: the local
 * node is opts.node; a remote node gets an index when first known (by
 * name and creation), so a restarted peer's old pids stay dead. Every pid
 * API (send, call, link, monitor, exit) takes remote pids; a lost
 * connection gives each link and monitor across it RT_REASON_NOCONNECTION
 * once, and fails calls in flight with CLEO_ENOCONNECTION. A message to a
 * remote pid must carry a protobuf-c payload (rt_msg_set_pb, its type
 * registered with rt_dist_register_pb on the receiving node), a buffer
 * (rt_msg_set_buf; sent as the frame's body), both (rt_msg_set_body) or
 * nothing. Pids inside
 * payloads are not translated: only a frame's to and from are.
 * ------------------------------------------------------------------- */

typedef struct rt_dist_opts_s {
    const char *name;         /* "name@host"; required, copied */
    const char *address;      /* listen address; NULL = "127.0.0.1" */
    uint16_t port;            /* listen port; 0 = any free port */
    const void *cookie;       /* shared secret; required, copied */
    size_t cookie_len;        /* 1..1024 bytes */
    uint32_t net_ticktime_ms; /* a peer silent this long is dropped; a tick
                                 goes every quarter of it; 0 = 60000 */
    uint32_t max_frame_bytes; /* longer frames close the connection;
                                 0 = 64 MiB */
    uint32_t creation;        /* 0 = drawn at random (never 0) */
    /* TLS on every connection (dist.tls.*): set cert and key to turn it
     * on; then every peer must speak TLS too. With ca set, each side
     * must present a certificate chaining to it. The cookie handshake
     * runs inside TLS, bound to the session (rt_tls_export), so a relay
     * in the middle fails it. Paths, borrowed; NULL = off. */
    const char *tls_cert, *tls_key, *tls_ca;
} rt_dist_opts_t;

/* Messages the node monitor sends (rt_monitor_nodes): arg = node index,
 * reason = RT_REASON_NOCONNECTION for NODEDOWN. */
#define RT_MSG_NODEUP (UINT32_MAX - 4)
#define RT_MSG_NODEDOWN (UINT32_MAX - 5)

/** Start distribution: listen on address:port and accept peers that know
 *  the cookie. Call once, before any remote pid is used.
 *  @param opts borrows. @return 0; CLEO_EINVAL (bad name or cookie, or
 *          unusable TLS files: one line on stderr says which);
 *          CLEO_ESTATE (started already, or deterministic mode); -errno
 *          (bind/listen, thread). */
RT_API RT_WUR int rt_dist_start(rt_t *rt, const rt_dist_opts_t *opts);

/** Load the cookie: CLEO_COOKIE if set; else cookie_file (NULL or "" =
 *  none); else <data_dir>/cookie, created with a random value and mode
 *  0400 at first use. A file readable by group or others is refused.
 *  @param out gives: free with free(). @return 0; CLEO_EINVAL; -EACCES;
 *          -errno. Each refusal logs one line. */
RT_API int rt_dist_cookie_load(const char *cookie_file, const char *data_dir,
                               char **out, size_t *out_len);

/** The port distribution listens on (0 = not started). */
RT_API uint16_t rt_dist_port(rt_t *rt);
/** This node's name and creation (NULL and 0 if not started). */
RT_API const char *rt_dist_name(rt_t *rt);
RT_API uint32_t rt_dist_creation(rt_t *rt);

/** The node index of a peer. "name@host:port" declares the peer's
 *  address (kept for connecting on demand); "name@host" looks a known
 *  peer up. The index follows the peer's newest creation.
 *  @param peer borrows. @return 0 and *out; CLEO_EINVAL (malformed, or
 *          this node's own name); CLEO_ENOTFOUND (unknown, no address);
 *          CLEO_ELIMIT (node table full); CLEO_ESTATE (not started). */
RT_API int rt_dist_node(rt_t *rt, const char *peer, uint16_t *out);

/** Connect to node now if not connected (cluster.nodes); otherwise a
 *  connection opens at the first send. @return 0, CLEO_EINVAL. */
RT_API int rt_dist_connect(rt_t *rt, uint16_t node);

/** Close the connection to node (Erlang's disconnect_node): its links
 *  and monitors fire with noconnection here; the next send reconnects.
 *  @return 0, CLEO_EINVAL (unknown node). */
RT_API int rt_dist_disconnect(rt_t *rt, uint16_t node);

/** True if node has a live connection. */
RT_API bool rt_dist_is_up(rt_t *rt, uint16_t node);

/** {name, node} as a pid, for send, call, monitor and link (Erlang's
 *  {Name, Node}): resolved on that node when each frame arrives, and
 *  following the node's newest creation. A named pid is never a local
 *  actor (its generation is 0).
 *  @param name borrows (interned). @return the pid, or RT_PID_NONE
 *          (bad node or name, or too many names). */
RT_API rt_pid_t rt_dist_named(rt_t *rt, uint16_t node, const char *name);

/** Subscribe self to RT_MSG_NODEUP / RT_MSG_NODEDOWN for every peer
 *  (Erlang's net_kernel:monitor_nodes); on = false unsubscribes.
 *  @return 0; CLEO_ESTATE (not started). */
RT_API int rt_monitor_nodes(rt_actor_t *self, bool on);

/** Make a protobuf-c message type decodable from the wire (each role
 *  registers its contract's request and reply types at start).
 *  @param descriptor borrows (static). @return 0; CLEO_EEXIST (another
 *          type with the same name hash). */
struct ProtobufCMessageDescriptor;
RT_API int rt_dist_register_pb(rt_t *rt,
                               const struct ProtobufCMessageDescriptor *d);

#define RT_DIST_ADDR_MAX 272 /* "host:port" as shown */

typedef struct rt_dist_node_info_s {
    uint16_t node;                  /* index in pids */
    char name[256];                 /* name@host */
    char address[RT_DIST_ADDR_MAX]; /* host:port connected to or from */
    uint32_t creation;              /* 0 = never connected */
    bool up;                        /* connected now */
    uint64_t up_since_ms;           /* wall clock, ms; 0 if down */
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
    uint64_t last_recv_ms; /* ms since anything (a tick at least) came */
} rt_dist_node_info_t;

/** Snapshot the node table: each peer ever known, in its newest
 *  creation (the local node excluded).
 *  @param out borrows: room for max entries. @return entries written. */
RT_API uint32_t rt_dist_nodes(rt_t *rt, rt_dist_node_info_t *out, uint32_t max);

typedef struct rt_dist_stats_s {
    uint64_t bad_cookie;    /* handshakes refused for a wrong cookie */
    uint64_t bad_handshake; /* garbage, oversize, truncated, own name */
    uint64_t bad_frame;     /* connections closed for a bad frame */
    uint64_t dropped;       /* frames for dead or unknown pids */
    uint64_t connects, disconnects;
    bool tls;        /* every connection is TLS */
    bool tls_verify; /* peers must present a certificate the CA signed */
} rt_dist_stats_t;

RT_API void rt_dist_stats(rt_t *rt, rt_dist_stats_t *out);

/* ---------------------------------------------------------------------
 * The simulated network (runtime/dist_sim.c): several deterministic
 * runtimes (nodes) in one process on one seeded schedule, for testing
 * distribution. Each step the seed picks one thing to happen: a message
 * handled on some node, a connection set up, a node's queued frames
 * sent, frames delivered, or (with faults on) a connection reset. Frames
 * on a connection arrive in order; a reset drops those in flight, as a
 * lost TCP connection does. The same seed replays the same run.
 * ------------------------------------------------------------------- */

typedef struct rt_sim_s rt_sim_t;

typedef struct rt_sim_opts_s {
    uint64_t seed;
    uint32_t reset_per_mille; /* chance per step that a random connection
                                 is reset; 0 = none */
} rt_sim_opts_t;

/** A simulated network. @param o borrows. @param out gives: free with
 *  rt_sim_free(). @return 0, CLEO_EINVAL. */
RT_API int rt_sim_new(const rt_sim_opts_t *o, rt_sim_t **out);

/** Add a node: a deterministic runtime with distribution on the
 *  simulated network, known to every other node (by name, as for
 *  rt_dist_node) and connecting on demand. Its contract types must be
 *  registered (rt_dist_register_pb) as with TCP.
 *  @param name borrows ("name@host"). @param out gives a runtime owned
 *  by sim (freed by rt_sim_free). @return 0, CLEO_EINVAL, CLEO_ELIMIT. */
RT_API int rt_sim_node(rt_sim_t *sim, const char *name, rt_t **out);

/** Run the seeded schedule until nothing more can happen without time
 *  passing, or max_steps (0 = no limit). @return steps taken. */
RT_API ssize_t rt_sim_run(rt_sim_t *sim, uint64_t max_steps);

/** Move every node's virtual clock forward by ms, running in between.
 *  @return 0. */
RT_API int rt_sim_advance(rt_sim_t *sim, uint64_t ms);

/** Cut (cut = true) or heal the link between two nodes: a cut drops
 *  their connection now and refuses new ones until healed.
 *  @return 0, CLEO_EINVAL. */
RT_API int rt_sim_cut(rt_sim_t *sim, rt_t *a, rt_t *b, bool cut);

/** Connections reset so far (by faults or cuts). */
RT_API uint64_t rt_sim_resets(const rt_sim_t *sim);

/** Free the network and its nodes' runtimes. Accepts NULL. */
RT_API void rt_sim_free(rt_sim_t *sim);

/* ---------------------------------------------------------------------
 * TLS engine: one SSL between two memory BIOs, doing no I/O of its own.
 * Ciphertext from the network goes in with rt_tls_feed(), plaintext comes
 * out of rt_tls_read(); plaintext goes in with rt_tls_write() and the
 * ciphertext for the network (handshake records, data, alerts) comes out
 * of rt_tls_drain(). The caller decides when bytes move, so nothing
 * blocks. An engine is not thread safe: one thread uses it. Used by the
 * gateway's HTTPS and by distribution connections (dist.tls.*).
 * OpenSSL 3; TLS 1.2 or later; renegotiation refused.
 * ------------------------------------------------------------------- */

typedef struct ssl_ctx_st rt_tls_ctx_t; /* an OpenSSL SSL_CTX */
typedef struct rt_tls_s rt_tls_t;

typedef struct rt_tls_ctx_opts_s {
    const char *cert; /* PEM certificate chain; required for a server */
    const char *key;  /* its unencrypted PEM key; required with cert */
    const char *ca;   /* PEM CA bundle: when set, the peer must present a
                         certificate chaining to it (servers ask clients for
                         one); NULL or "" = the peer is not verified */
    const char *what; /* for messages: "gateway.https", "dist.tls" */
} rt_tls_ctx_opts_t;

/** A context for servers and clients alike (the engine's role is chosen
 *  by rt_tls_new). Files are read now: a missing, unreadable or
 *  mismatched file fails with one line in err naming the file and the
 *  reason. @param o, borrows. @param err borrows: filled on failure
 *  (NUL-terminated, cut to errlen). @param out gives: release with
 *  rt_tls_ctx_free(). @return 0 or CLEO_EINVAL. */
RT_API int rt_tls_ctx_new(const rt_tls_ctx_opts_t *o, rt_tls_ctx_t **out,
                          char *err, size_t errlen);

/** Take another reference to ctx. @return ctx. */
RT_API rt_tls_ctx_t *rt_tls_ctx_ref(rt_tls_ctx_t *ctx);

/** Drop a reference; the last one frees the context. Accepts NULL. */
RT_API void rt_tls_ctx_free(rt_tls_ctx_t *ctx);

/** An engine on ctx (which it references), as the server (accepting)
 *  or the client (connecting; its first rt_tls_read() queues the
 *  ClientHello for rt_tls_drain()).
 *  @param out gives: release with rt_tls_free(). @return 0, CLEO_ENOMEM. */
RT_API int rt_tls_new(rt_tls_ctx_t *ctx, bool server, rt_tls_t **out);

/** Free the engine. Accepts NULL. */
RT_API void rt_tls_free(rt_tls_t *t);

/** Ciphertext from the network. @param p borrows.
 *  @return 0, CLEO_ENOMEM, or CLEO_EINVAL (n over INT_MAX). */
RT_API int rt_tls_feed(rt_tls_t *t, const char *p, size_t n);

/** Decrypted bytes into out (borrows; the handshake advances as a side
 *  effect and its records wait in rt_tls_drain()).
 *  @return >0 bytes; 0 when more ciphertext is needed; UV_EOF (-4095)
 *  on close_notify; UV_EPROTO (-71) on a handshake failure, an alert, a
 *  refused certificate, a renegotiation attempt or garbage (the engine
 *  is then failed; an alert may wait in rt_tls_drain()). */
RT_API ssize_t rt_tls_read(rt_tls_t *t, char *out, size_t cap);

/** True once the handshake is complete. */
RT_API bool rt_tls_is_up(const rt_tls_t *t);

/** Encrypt all n bytes. @param p borrows. @return 0, or UV_EPROTO
 *  (handshake not complete, engine failed). */
RT_API int rt_tls_write(rt_tls_t *t, const char *p, size_t n);

/** Bytes of ciphertext waiting for the network. */
RT_API size_t rt_tls_pending(const rt_tls_t *t);

/** Move up to cap bytes of waiting ciphertext into out (borrows).
 *  @return bytes moved. */
RT_API size_t rt_tls_drain(rt_tls_t *t, char *out, size_t cap);

/** Queue a close_notify (handshake complete, engine not failed). */
RT_API void rt_tls_shutdown(rt_tls_t *t);

/** True when the failure was a plain HTTP request on a TLS port. */
RT_API bool rt_tls_is_http(const rt_tls_t *t);

/** One line on why the engine failed ("" if it did not): OpenSSL's
 *  reason, e.g. "certificate verify failed". Valid until t is freed. */
RT_API const char *rt_tls_why(const rt_tls_t *t);

/** RFC 5705 keying material for label (borrows): both ends of one TLS
 *  session derive the same n bytes (into out, borrows), no one else can.
 *  Binds an inner authentication to this session. @return 0, UV_EPROTO
 *  (handshake not complete). */
RT_API int rt_tls_export(rt_tls_t *t, const char *label, uint8_t *out,
                         size_t n);

/* ---------------------------------------------------------------------
 * Deterministic mode (opts.deterministic): the caller's thread is the one
 * scheduler; the next actor to run is chosen by a seeded PRNG, one message
 * per step, and timers fire on a virtual clock that only the test moves.
 * The same seed replays the same interleaving.
 * ------------------------------------------------------------------- */

/** Run until no actor is runnable or max_steps messages were handled
 *  (0 = no limit). @return messages handled, or CLEO_ESTATE if the
 *  runtime is not deterministic. */
RT_API ssize_t rt_det_run(rt_t *rt, uint64_t max_steps);
/** Move the virtual clock forward by ms, firing due timers in order and
 *  running actors in between. @return 0 or CLEO_ESTATE. */
RT_API int rt_det_advance(rt_t *rt, uint64_t ms);

#ifdef __cplusplus
}
#endif
#endif /* CLEO_RUNTIME_RT_H */
