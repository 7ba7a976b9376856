/*
 * actor.h - the actor struct and the runtime-internal actor operations.
 */
#ifndef CLEO_RUNTIME_ACTOR_H
#define CLEO_RUNTIME_ACTOR_H

#include <stdatomic.h>
#include <stdint.h>

#include "runtime/map.h"
#include "runtime/mbox.h"
#include "runtime/rt.h"

/* Internal system message types (handlers never see them). */
#define RT__SYS_LINK (UINT32_MAX - 10)
#define RT__SYS_UNLINK (UINT32_MAX - 11)
#define RT__SYS_MONITOR (UINT32_MAX - 12)
#define RT__SYS_DEMONITOR (UINT32_MAX - 13)
#define RT__SYS_CALL_FAIL (UINT32_MAX - 14) /* reason = status, ref */
#define RT__SYS_INBOX (UINT32_MAX - 15)     /* an inbox's command */
#define RT__SYS_REPLIED                                                        \
    (UINT32_MAX - 16) /* ref was answered by another                           \
                         actor: forget it */
#define RT__SYS_PH                                                             \
    (UINT32_MAX - 17) /* a signal's place in the                               \
                         mailbox (see signal.c) */

/* rt_msg_t._sys flags. */
#define RT__F_CALL 0x1u     /* a request sent by rt_call: answer it */
#define RT__F_REPLY 0x2u    /* a reply to a call (ref) */
#define RT__F_LINK 0x4u     /* exit signal caused by a link */
#define RT__F_SHUTDOWN 0x8u /* exit signal from rt_shutdown: untrappable */
#define RT__F_SIG                                                              \
    0x10u                   /* a signal (exit, link, monitor and their         \
                               undoing), in the signal queue; payload is       \
                               its placeholder in the mailbox */
#define RT__F_PH_OPEN 0x20u /* a placeholder whose signal is not taken */

/* rt_actor_t.flags (owner only). */
#define RT__A_TRAP 0x1u
#define RT__A_EXITING 0x2u /* rt_exit_self() asked to exit */
#define RT__A_DEAD 0x4u
#define RT__A_RAW_REPLY 0x8u /* replies go to handle() (inboxes) */

typedef struct rt_callent_s {
    rt_ref_t ref;
    rt_pid_t to;    /* the callee, for noconnection */
    rt_ref_t timer; /* 0 = none */
    rt_reply_cb cb;
    void *data;
} rt_callent_t;

struct rt_res_s {
    rt_free_fn fn;
    void *ptr;
    struct rt_res_s *prev, *next;
};

/* Bookkeeping most actors never need: allocated on first use. */
typedef struct rt_actor_ext_s {
    rt_map_t links;      /* linked pid -> 0 */
    rt_map_t mons_out;   /* ref -> target pid: monitors this actor holds */
    rt_map_t mons_in;    /* ref -> watcher pid: monitors held on it */
    rt_callent_t *calls; /* outstanding rt_call()s */
    rt_map_t open;       /* ref -> caller pid: requests this actor took
                            and has not answered (deferred replies) */
    uint32_t ncalls, capcalls;
    struct rt_res_s *res; /* registered resources, newest first */
} rt_actor_ext_t;

struct rt_actor_s {
    rt_mbox_t mbox;             /* must stay first: hot for senders */
    rt_msg_t *_Atomic sigq;     /* signals not yet taken, newest first
                                   (a Treiber stack the owner empties) */
    struct rt_actor_s *rq_next; /* run-queue link, under the queue lock */
    const rt_behaviour_t *beh;
    void *state;
    rt_t *rt;
    rt_pid_t pid;
    _Atomic uint64_t msgs;         /* handled; written by the owner only */
    rt_actor_ext_t *ext;           /* NULL until links/monitors/calls/res */
    int32_t exit_reason;           /* valid with RT__A_EXITING */
    int16_t sched;                 /* pinned scheduler or -1 */
    uint8_t flags;                 /* RT__A_*; owner only */
    _Atomic uint8_t run_state;     /* rt_actor_state_t, for introspection */
    _Atomic uint8_t has_name;      /* set under the registry lock */
    _Atomic uint8_t pub_trap;      /* mirrors RT__A_TRAP for other threads */
    _Atomic uint16_t pub_links;    /* mirrors ext->nlinks */
    _Atomic uint16_t pub_mons;     /* mirrors ext->nout + ext->nin */
    _Atomic uint16_t long_turns;   /* turns over opts.long_turn_ms (mod
                                      2^16); sysmon adds, read relaxed */
    _Atomic uint16_t long_mqueues; /* times the mailbox reached
                                      opts.long_mqueue (mod 2^16) */
    uint32_t mbox_limit;           /* 0 = unbounded (rt_try_send) */
    _Atomic rt_pid_t tracer;       /* gets RT_MSG_TRACE per message; 0 = off */
};
_Static_assert(sizeof(struct rt_actor_s) <= 128,
               "an idle actor fits a 128-byte pool block");

/* The actor and message being handled on this thread (NULL outside). */
extern __thread rt_actor_t *rt__tls_actor;
extern __thread rt_msg_t *rt__tls_msg;
/* The call request being handled on this thread (ref 0 = none, or
 * answered already): if the handler returns without replying it becomes
 * an open request of the actor (rt__call_open); if the actor dies
 * handling it, the caller is told at once (rt__actor_die). */
extern __thread rt_pid_t rt__tls_call_from;
extern __thread rt_ref_t rt__tls_call_ref;

/* Publish link/monitor counts for introspection (owner only). */
void rt__actor_publish(rt_actor_t *a);

/* Outcome of one turn. */
typedef enum {
    RT__TURN_IDLE = 0, /* mailbox empty and marked unscheduled */
    RT__TURN_MORE,     /* still scheduled: put it back on a run queue */
    RT__TURN_DEAD      /* the actor died during the turn */
} rt_turn_t;

/* Run up to batch messages of a (a scheduled actor) on this thread;
 * *handled counts them. */
rt_turn_t rt__actor_turn(rt_actor_t *a, uint32_t batch, uint32_t *handled);

/* Run fn(p) so that a cl_panic() inside only abandons fn: used for init,
 * destroy and resource destructors. Returns CLEO_EPANIC if fn panicked. */
int rt__guarded(int (*fn)(void *p), void *p);

/* Kill a now, on its own turn, with reason: destroy, resources, exit
 * signals, table. */
void rt__actor_die(rt_actor_t *a, int reason);

/* Free a dead actor once no pin remains: answers pending link/monitor
 * requests with noproc, frees queued messages and the slot. */
void rt__actor_reap(rt_actor_t *a);

/* Run a dying actor's resource destructors, newest first. */
void rt__actor_release(rt_actor_t *a);

/* A child whose init failed: silently undo the links and monitors it
 * made (UNLINK / DEMONITOR to the partners), except with spawner. */
void rt__signal_on_abort(rt_actor_t *a, rt_pid_t spawner);

/* The actor's ext, allocated on first use. */
rt_actor_ext_t *rt__actor_ext(rt_actor_t *a);
/* Free the ext (links, monitors, calls); resources must be gone. */
void rt__actor_ext_free(rt_actor_t *a);

/* Handle one runtime message (signal/call machinery). Returns 1 if it was
 * consumed (with *rc a handler-like result: 0, RT_STOP or <0), 0 if it
 * must go to the behaviour's handle(). */
int rt__signal_handle(rt_actor_t *a, rt_msg_t *m, int *rc);

/* Send exit signals and DOWNs for a dying actor. */
void rt__signal_on_death(rt_actor_t *a, int reason);

/* Answer what is found in a dead actor's mailbox and free it: a request
 * fails with the actor's exit reason, a link or monitor with noproc. */
void rt__signal_on_reap(rt_t *rt, rt_pid_t dead, int reason, rt_msg_t *m);

/* Handle a reply (status 0) or a call failure (m is the CALL_FAIL
 * message, status its reason); frees nothing. Returns 1 if consumed, with
 * *rc the continuation's result; 0 if no call matches (raw-reply actors
 * then see the message). */
int rt__call_complete(rt_actor_t *a, rt_msg_t *m, int status, int *rc);

/* Tell caller that dead failed its call ref: a CALL_FAIL carrying the
 * exit reason (CLEO_ENOPROC for a normal exit, 0 being success). */
void rt__call_fail(rt_t *rt, rt_pid_t dead, rt_pid_t caller, rt_ref_t ref,
                   int reason);

/* Cancel the timers of outstanding calls and fail the requests a took
 * and never answered (dying actor). */
void rt__call_on_death(rt_actor_t *a, int reason);

/* a took request (from, ref) and its handler returned without replying:
 * remember it so a's death fails it. */
void rt__call_open(rt_actor_t *a, rt_pid_t from, rt_ref_t ref);

/* Deliver m to pid bypassing the shutdown check (runtime-internal sends).
 * Takes m. Returns as rt_send(). */
int rt__send(rt_t *rt, rt_pid_t to, rt_msg_t *m);

/* Send a signal (exit, link, monitor and their undoing): as rt__send(),
 * and the receiver acts on it when it is received, ahead of the messages
 * queued before it, keeping per-pair order (Erlang's signals). */
int rt__send_sig(rt_t *rt, rt_pid_t to, rt_msg_t *m);

/* What a message's payload is (msg.c): what the wire can carry. */
#define RT__PAYLOAD_NONE 0
#define RT__PAYLOAD_PB 1   /* rt_msg_set_pb */
#define RT__PAYLOAD_BUF 2  /* rt_msg_set_buf */
#define RT__PAYLOAD_BODY 3 /* rt_msg_set_body */
/* @return an RT__PAYLOAD_*, or -1 for a payload only C can read. */
int rt__msg_payload_kind(const rt_msg_t *m);

/* Growable-array helpers (vec.c). */
void rt__vec_push(void **arr, uint32_t *n, uint32_t *cap, size_t size,
                  const void *el);
void rt__vec_del(void *arr, uint32_t *n, size_t size, uint32_t i);

#endif
