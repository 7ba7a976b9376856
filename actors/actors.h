/*
 * actors.h - OTP behaviours on the cleo runtime: gen_server, gen_statem,
 * gen_event, the application lifecycle, and the shared utility actors
 * (logger, metrics).
 *
 * Conventions as runtime/rt.h: int returns are 0 or a negative CLEO_E*
 * code; pointer parameters carry an ownership word. Functions taking
 * `rt_actor_t *self` run only inside that actor's callbacks. Functions
 * named *_sync block and may only be called from threads that are not
 * schedulers (mains, tests, the blocking pool); they return CLEO_EDEADLK
 * on a scheduler thread.
 */
#ifndef CLEO_ACTORS_ACTORS_H
#define CLEO_ACTORS_ACTORS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/metrics.pb-c.h"
#include "runtime/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ACT_API __attribute__((visibility("default")))
#define ACT_WUR __attribute__((warn_unused_result))

/* Protocol message ids of the OTP layer (see RT_MSG_OTP_BASE). */
#define GEN_MSG_STOP (RT_MSG_OTP_BASE + 0u) /* ask a gen_* to stop */
/* sys:get_status: every behaviour answers it (gen_get_status_sync());
 * the id belongs to the runtime, whose introspection server asks too.
 * (RT_MSG_OTP_BASE + 1 is retired: it was GEN_MSG_STATUS's before.) */
#define GEN_MSG_STATUS RT_MSG_STATUS
/* private: gen_statem timers */
#define GEN_MSG_TIMEOUT (RT_MSG_OTP_BASE + 2u)
#define GEN_EVENT_MSG_ADD (RT_MSG_OTP_BASE + 8u)
#define GEN_EVENT_MSG_DEL (RT_MSG_OTP_BASE + 9u)
#define GEN_EVENT_MSG_WHICH (RT_MSG_OTP_BASE + 10u)
/* To the owner of a supervised handler when the handler is removed (OTP's
 * {gen_event_EXIT, Handler, Reason}); see gen_event_add_sup_handler(). */
#define GEN_EVENT_MSG_EXIT (RT_MSG_OTP_BASE + 11u)
#define GEN_EVENT_MSG_ADD_SUP (RT_MSG_OTP_BASE + 12u) /* private */
#define GEN_EVENT_MSG_SWAP (RT_MSG_OTP_BASE + 13u)    /* private */
/* rt_msg_t.tag values. */
#define GEN_TAG_CAST 0x43415354u /* "CAST": a gen_server/gen_statem cast */
#define GEN_TAG_SYNC 0x53594E43u /* "SYNC": gen_event sync_notify */

/* Handler results shared by the behaviours (besides 0 and <0 errors). */
#define GEN_STOP RT_STOP /* stop normally */
#define GEN_NOREPLY 2    /* handle_call: the reply comes later */

/* A status text (sys:get_status) is at most this many bytes, NUL
 * included; a longer one is cut. */
#define GEN_STATUS_MAX 4096u

/* Options for every gen_* start. */
typedef struct gen_opts_s {
    const char *name; /* register under this name; NULL = none; borrows */
    bool link;        /* link to the starting actor (self must be given) */
    int sched;        /* RT_SCHED_ANY, or pin (actors owning uv handles) */
    bool trap_exit;   /* trap exits (supervised servers that must run
                         terminate on shutdown set this) */
    uint32_t mailbox_limit; /* 0 = unbounded; else rt_spawn_opts_t's:
                               rt_try_send() refuses past it and
                               rt_is_overloaded() says so */
} gen_opts_t;

/* =====================================================================
 * sys:get_status: every behaviour (gen_server, gen_statem, gen_event,
 * supervisor) answers RT_MSG_STATUS with a text: its kind and module,
 * its parent, and what its format_status callback writes.
 * ===================================================================== */

/** Ask pid for its status text (OTP's sys:get_status). Blocking.
 *  @param out gives: free() it.
 *  @return 0, CLEO_EPROTO (an answer without a status text), or as
 *  rt_call_sync(): CLEO_ETIMEDOUT from an actor that does not answer
 *  (not an OTP behaviour, or busy for longer than timeout_ms). */
ACT_API int gen_get_status_sync(rt_t *rt, rt_pid_t pid, uint32_t timeout_ms,
                                char **out);
/** Answer an RT_MSG_STATUS request with text (for behaviours written on
 *  the runtime directly). @param text borrows (copied, cut at
 *  GEN_STATUS_MAX). @return as rt_reply(). */
ACT_API int gen_status_reply(rt_t *rt, rt_from_t from, const char *text);
/** The text of an RT_MSG_STATUS reply, or NULL if reply carries none.
 *  @return valid until reply is freed. */
ACT_API const char *gen_status_text(const rt_msg_t *reply);

/* =====================================================================
 * gen_server
 * ===================================================================== */

typedef struct gen_server_cbs_s {
    const char *name; /* behaviour name shown by introspection; required */
    /* Set *state. Return 0, or <0: start fails with that code. */
    int (*init)(rt_actor_t *self, void *arg, void **state);
    /* A call. Return 0 to reply with *reply (NULL: an empty reply of the
     * request's type), GEN_NOREPLY to reply later with gen_server_reply(),
     * GEN_STOP to reply (if *reply) then stop normally, <0 to crash with
     * that reason (the caller times out or sees the exit). Required. */
    int (*handle_call)(rt_actor_t *self, void *state, rt_msg_t *req,
                       rt_from_t from, rt_msg_t **reply);
    /* A cast. 0 continue, GEN_STOP, or <0. Optional (casts dropped). */
    int (*handle_cast)(rt_actor_t *self, void *state, rt_msg_t *m);
    /* Anything else: timers, RT_MSG_DOWN, RT_MSG_EXIT (when trapping, except
     * from the parent, which stops the server). Optional. */
    int (*handle_info)(rt_actor_t *self, void *state, rt_msg_t *m);
    /* Runs once whenever the server stops, for any reason, even `killed`
     * (cleo has no GC: this is where state is freed). Optional. */
    void (*terminate)(rt_actor_t *self, void *state, int reason);
    /* OTP's format_status: write the state as text for sys:get_status
     * (`cleo-adm info`) into buf, NUL-terminated, at most len bytes
     * (cut if longer). Runs in the server's turn; a panic here only cuts
     * the text. Optional: without it the status shows the module,
     * `running` and the parent. */
    void (*format_status)(rt_actor_t *self, void *state, char *buf, size_t len);
} gen_server_cbs_t;

/** Start a gen_server; init runs before this returns (synchronous from
 *  any thread, including an actor's handler).
 *  @param self borrows: the starting actor or NULL; with opts->link it
 *         becomes the parent whose exit signal stops the server.
 *  @param cbs borrows: static. @param arg passed to init.
 *  @param opts borrows; NULL = defaults. @param out the pid (may be NULL).
 *  @return 0, init's error, or as rt_spawn(). */
ACT_API ACT_WUR int gen_server_start(rt_t *rt, rt_actor_t *self,
                                     const gen_server_cbs_t *cbs, void *arg,
                                     const gen_opts_t *opts, rt_pid_t *out);

/** Asynchronous call from an actor: cb gets the reply or an error (as
 *  rt_call()). @param req takes. */
ACT_API int gen_server_call(rt_actor_t *self, rt_pid_t to, rt_msg_t *req,
                            uint32_t timeout_ms, rt_reply_cb cb, void *data);
/** Blocking call (non-scheduler threads). @param req takes.
 *  @param reply gives. @return as rt_call_sync(). */
ACT_API int gen_server_call_sync(rt_t *rt, rt_pid_t to, rt_msg_t *req,
                                 uint32_t timeout_ms, rt_msg_t **reply);
/** Cast (fire and forget). @param m takes. @return as rt_send(). */
ACT_API int gen_server_cast(rt_t *rt, rt_pid_t to, rt_msg_t *m);
/** Reply to a call handled with GEN_NOREPLY. @param reply takes. */
ACT_API int gen_server_reply(rt_t *rt, rt_from_t from, rt_msg_t *reply);

/** Stop a server with reason and wait until it is gone (terminate ran).
 *  Non-scheduler threads only. @return 0, CLEO_ENOPROC, CLEO_ETIMEDOUT,
 *  CLEO_EDEADLK. */
ACT_API int gen_server_stop_sync(rt_t *rt, rt_pid_t pid, int reason,
                                 uint32_t timeout_ms);
/** Ask a server to stop with reason, without waiting (from actors;
 *  monitor it to learn when it is gone). @return as rt_send(). */
ACT_API int gen_server_stop(rt_t *rt, rt_pid_t pid, int reason);

/* =====================================================================
 * gen_statem (handle_event_function mode, with optional state enter)
 * ===================================================================== */

typedef enum {
    GSM_CALL = 1,      /* ev is the request; from is set */
    GSM_CAST,          /* ev is the cast message */
    GSM_INFO,          /* any other message */
    GSM_ENTER,         /* state enter call: ev is NULL, *next ignored */
    GSM_STATE_TIMEOUT, /* the state timeout fired: ev is its message */
    GSM_TIMEOUT,       /* a generic (named) timeout: ev->arg is the name */
    GSM_EVENT_TIMEOUT  /* the event timeout fired: ev is its message */
} gen_statem_event_t;

/* A timeout time that never expires: setting it only cancels. */
#define GEN_STATEM_INFINITY UINT64_MAX

typedef struct gen_statem_cbs_s {
    const char *name; /* required */
    bool state_enter; /* call GSM_ENTER on every state change */
    /* Set *data and the initial *state. 0 or <0 (start fails). */
    int (*init)(rt_actor_t *self, void *arg, void **data, int *state);
    /* One event in `state`. Set *next (preset to state) to change state;
     * reply to calls with gen_statem_reply() (now or later); request
     * actions with gen_statem_postpone()/_state_timeout()/_timeout().
     * Return 0, GEN_STOP or <0. Required. */
    int (*handle_event)(rt_actor_t *self, gen_statem_event_t type, rt_msg_t *ev,
                        rt_from_t from, int state, void *data, int *next);
    /* As gen_server's terminate. Optional. */
    void (*terminate)(rt_actor_t *self, int state, void *data, int reason);
    /* As gen_server's format_status, for the data. Optional: without it
     * the status shows the state, the postponed events and the live
     * timeouts. */
    void (*format_status)(rt_actor_t *self, int state, void *data, char *buf,
                          size_t len);
} gen_statem_cbs_t;

/** Start a gen_statem; as gen_server_start(). */
ACT_API ACT_WUR int gen_statem_start(rt_t *rt, rt_actor_t *self,
                                     const gen_statem_cbs_t *cbs, void *arg,
                                     const gen_opts_t *opts, rt_pid_t *out);
/** Postpone the event being handled: it is re-delivered, in order, after
 *  the next state change. Only for GSM_CALL/CAST/INFO. @return 0 or
 *  CLEO_ESTATE (not inside such an event). */
ACT_API int gen_statem_postpone(rt_actor_t *self);
/** Set the state timeout: msg arrives as GSM_STATE_TIMEOUT after ms unless
 *  the state changes first (which cancels it). Replaces an earlier one.
 *  @param msg takes (NULL: an empty message). */
ACT_API int gen_statem_state_timeout(rt_actor_t *self, uint64_t ms,
                                     rt_msg_t *msg);
/** Set the event timeout (OTP's {timeout, T, Msg}): msg arrives as
 *  GSM_EVENT_TIMEOUT after ms unless another event arrives first: a
 *  call, cast or info, any timeout's event, or a postponed event retried
 *  after a state change (one waiting to be retried when the callback
 *  returns cancels it at once). A state change alone does not cancel it;
 *  a later one replaces it. ms = 0 delivers it right after the callback
 *  (and its enter call), before any message in the mailbox;
 *  GEN_STATEM_INFINITY starts no timer, so it only cancels. Usable from
 *  init, the enter calls and every event callback.
 *  @param msg takes (NULL: an empty message). @return 0. */
ACT_API int gen_statem_event_timeout(rt_actor_t *self, uint64_t ms,
                                     rt_msg_t *msg);
/** Start (or restart) the generic timeout `name` (> 0): GSM_TIMEOUT with
 *  ev->arg = name after ms, not cancelled by state changes.
 *  @param msg takes (NULL: an empty message). */
ACT_API int gen_statem_timeout(rt_actor_t *self, uint64_t name, uint64_t ms,
                               rt_msg_t *msg);
/** Cancel generic timeout `name`. @return 0 or CLEO_ENOTFOUND. */
ACT_API int gen_statem_cancel_timeout(rt_actor_t *self, uint64_t name);
/** Reply to a GSM_CALL. @param reply takes. */
ACT_API int gen_statem_reply(rt_t *rt, rt_from_t from, rt_msg_t *reply);
/** Cast to a statem (arrives as GSM_CAST). @param m takes. */
ACT_API int gen_statem_cast(rt_t *rt, rt_pid_t to, rt_msg_t *m);
/** The current state of a statem, from its own callbacks. */
ACT_API int gen_statem_state(rt_actor_t *self);

/* =====================================================================
 * gen_event: an event manager with handlers (the logger and the alarm
 * handler are gen_event managers).
 * ===================================================================== */

typedef struct gen_event_handler_s {
    const char *name; /* required; identifies the handler */
    /* Set *state. 0 or <0 (the handler is not added). Optional. */
    int (*init)(void *arg, void **state);
    /* One event; must not take ev's payload (several handlers see it).
     * 0 keeps the handler; GEN_STOP or <0 (or a panic) removes it. */
    int (*handle_event)(void *state, const rt_msg_t *ev);
    /* Runs when the handler is removed, for any reason but a swap that
     * has swap_out. Optional. */
    void (*terminate)(void *state, int reason);
    /* Swapped out (gen_event_swap_handler_sync()): runs instead of
     * terminate and returns what the new handler's swap_in gets (its
     * ownership goes with it; OTP passes terminate's result to the new
     * init). Optional: without it terminate runs with GEN_EVENT_SWAPPED
     * and the new handler gets NULL. */
    void *(*swap_out)(void *state, void *arg);
    /* Added by a swap: runs instead of init, with term from the old
     * handler's swap_out and status 0, or term NULL and status
     * CLEO_ENOTFOUND (the old handler was not installed) or CLEO_EPANIC
     * (its swap_out panicked). Takes term even when it fails. Returns
     * as init. Optional: without it init(arg) runs. */
    int (*swap_in)(void *arg, int status, void *term, void **state);
    /* Its state as text for the manager's status (see gen_server's
     * format_status). Optional. */
    void (*format_status)(void *state, char *buf, size_t len);
} gen_event_handler_t;

/* The reason a supervised handler's owner is told when the handler was
 * swapped out (OTP's {swapped, NewHandler, Pid}). */
#define GEN_EVENT_SWAPPED (-30100)

/* The payload of GEN_EVENT_MSG_EXIT, which a supervised handler's owner
 * gets when the handler goes for any reason but the owner's own death.
 * The message's from is the manager, arg the handler (as a pointer) and
 * reason why: RT_REASON_NORMAL (deleted, or it returned GEN_STOP),
 * RT_REASON_SHUTDOWN (the manager stopped), GEN_EVENT_SWAPPED, or an
 * error (it failed or panicked; from gen_event_add_sup_handler(): it
 * could not be added). */
typedef struct gen_event_exit_s {
    const gen_event_handler_t *handler;    /* the handler that went */
    const gen_event_handler_t *swapped_to; /* GEN_EVENT_SWAPPED: the new
                                              handler; else NULL */
    rt_pid_t new_owner; /* GEN_EVENT_SWAPPED by swap_sup: who supervises
                           the new handler; else RT_PID_NONE */
} gen_event_exit_t;

/** Start an event manager (no handlers). As gen_server_start(). */
ACT_API ACT_WUR int gen_event_start(rt_t *rt, rt_actor_t *self,
                                    const gen_opts_t *opts, rt_pid_t *out);
/** Add handler h (at most once per manager) with init(arg). Blocking.
 *  @param h borrows: static. @return 0, CLEO_EEXIST, init's error, or as
 *  rt_call_sync(). */
ACT_API int gen_event_add_handler_sync(rt_t *rt, rt_pid_t mgr,
                                       const gen_event_handler_t *h, void *arg);
/** Add from an actor, without waiting. @return as rt_send(). */
ACT_API int gen_event_add_handler(rt_t *rt, rt_pid_t mgr,
                                  const gen_event_handler_t *h, void *arg);
/** Add a supervised handler (OTP's add_sup_handler) for owner: the
 *  manager monitors owner, and when owner dies h is removed (terminate
 *  gets owner's exit reason); when h goes for any other reason, owner
 *  gets a GEN_EVENT_MSG_EXIT. Unlike OTP's link, the manager's death
 *  does not kill owner: owner is told RT_REASON_SHUTDOWN (or learns it
 *  from a monitor of its own). Blocking.
 *  @param owner an actor's or an inbox's pid.
 *  @return as gen_event_add_handler_sync(); CLEO_EINVAL for no owner. */
ACT_API int gen_event_add_sup_handler_sync(rt_t *rt, rt_pid_t mgr,
                                           const gen_event_handler_t *h,
                                           void *arg, rt_pid_t owner);
/** As gen_event_add_sup_handler_sync() with self as the owner, from an
 *  actor, without waiting: if h cannot be added (it is there already,
 *  its init fails), self gets a GEN_EVENT_MSG_EXIT with that error.
 *  @return as rt_send(); CLEO_EINVAL. */
ACT_API int gen_event_add_sup_handler(rt_actor_t *self, rt_pid_t mgr,
                                      const gen_event_handler_t *h, void *arg);
/** Replace handler old with h (OTP's swap_handler), with no event in
 *  between: old's swap_out(state, old_arg) runs (or its terminate with
 *  GEN_EVENT_SWAPPED), then h's swap_in(arg, status, term) (or its
 *  init(arg)), and h takes old's place in the order. If old was
 *  supervised, h is supervised by the same owner, who is told
 *  GEN_EVENT_SWAPPED. old goes even if h's init fails; h is added even
 *  if old was not installed. Blocking.
 *  @param old, h borrow: static.
 *  @return 0, h's init error, CLEO_EEXIST (h is installed already, as
 *  another handler than old: nothing changes), CLEO_EINVAL, or as
 *  rt_call_sync(). */
ACT_API int gen_event_swap_handler_sync(rt_t *rt, rt_pid_t mgr,
                                        const gen_event_handler_t *old,
                                        void *old_arg,
                                        const gen_event_handler_t *h,
                                        void *arg);
/** As gen_event_swap_handler_sync(), and h is supervised by owner (OTP's
 *  swap_sup_handler); old's owner, if any, is told GEN_EVENT_SWAPPED and
 *  no longer watched. @return as swap; CLEO_EINVAL for no owner. */
ACT_API int gen_event_swap_sup_handler_sync(rt_t *rt, rt_pid_t mgr,
                                            const gen_event_handler_t *old,
                                            void *old_arg,
                                            const gen_event_handler_t *h,
                                            void *arg, rt_pid_t owner);
/** Remove handler h (terminate runs with reason normal). Blocking.
 *  @return 0, CLEO_ENOTFOUND, or as rt_call_sync(). */
ACT_API int gen_event_delete_handler_sync(rt_t *rt, rt_pid_t mgr,
                                          const gen_event_handler_t *h);
/** How many handlers the manager has now. Blocking. @return >= 0 or as
 *  rt_call_sync(). */
ACT_API int gen_event_count_handlers_sync(rt_t *rt, rt_pid_t mgr);
/** Deliver ev to every handler, asynchronously. @param ev takes. */
ACT_API int gen_event_notify(rt_t *rt, rt_pid_t mgr, rt_msg_t *ev);
/** Deliver ev and wait until every handler has seen it. Blocking.
 *  @param ev takes. */
ACT_API int gen_event_sync_notify(rt_t *rt, rt_pid_t mgr, rt_msg_t *ev,
                                  uint32_t timeout_ms);

/* =====================================================================
 * Applications: a top supervisor started and stopped as a unit.
 * ===================================================================== */

typedef struct app_s app_t;

typedef struct app_spec_s {
    const char *name; /* required */
    /* Start the application's top supervisor (unlinked) and return its
     * pid. Runs on the caller's thread. Required. */
    int (*start)(rt_t *rt, void *arg, rt_pid_t *top);
    void *arg;
    /* The applications that must run before this one (the `applications`
     * key of an OTP .app file): their names, NULL-terminated; NULL =
     * none. Used by app_ctl_start(); app_start() ignores it. Borrows:
     * static. */
    const char *const *deps;
} app_spec_t;

/** Start an application: run spec->start and monitor the top supervisor.
 *  Non-scheduler threads only. @param spec borrows: static.
 *  @param out gives: free with app_free(). @return 0 or start's error. */
ACT_API ACT_WUR int app_start(rt_t *rt, const app_spec_t *spec, app_t **out);
/** Wait until the top supervisor exits (it gave up) or timeout_ms.
 *  @param reason its exit reason. @return 0 (it exited), CLEO_ETIMEDOUT. */
ACT_API int app_wait(app_t *app, uint32_t timeout_ms, int *reason);
/** Stop: send the top supervisor `shutdown` and wait (up to timeout_ms)
 *  until it and its tree are gone. @return 0, CLEO_ETIMEDOUT. */
ACT_API int app_stop(app_t *app, uint32_t timeout_ms);
/** The top supervisor's pid. */
ACT_API rt_pid_t app_top(const app_t *app);
/** Free (stops first if running). Accepts NULL. */
ACT_API void app_free(app_t *app);

/* A set of applications that depend on one another, started and stopped
 * in dependency order (OTP's application controller). Non-scheduler
 * threads only, like app_start(). */
typedef struct app_ctl_s app_ctl_t;

/** A controller for the n specs (none running yet).
 *  @param specs borrows: the array and the specs must outlive the
 *         controller (static).
 *  @param out gives: free with app_ctl_free().
 *  @return 0, CLEO_EINVAL (NULL, a spec without name or start, a name
 *  given twice). */
ACT_API ACT_WUR int app_ctl_new(rt_t *rt, const app_spec_t *const *specs,
                                size_t n, app_ctl_t **out);
/** Start name and, before it, what it depends on, transitively, each once
 *  and in dependency order (OTP's application:ensure_all_started);
 *  running ones stay as they are. If a dependency is unknown or the
 *  dependencies form a cycle, nothing starts. If a start fails, the
 *  applications this call started are stopped again, in reverse order.
 *  @return 0, CLEO_ENOTFOUND (name or a dependency unknown), CLEO_EINVAL
 *  (a dependency cycle), a start's error, or CLEO_EDEADLK. */
ACT_API int app_ctl_start(app_ctl_t *c, const char *name);
/** Stop name, after every running application that depends on it,
 *  directly or not, in reverse start order, each given timeout_ms before
 *  it is killed. (OTP's application:stop leaves the dependents running;
 *  here no application runs without what it depends on.)
 *  @return 0 (also if it was not running), CLEO_ENOTFOUND (unknown),
 *  CLEO_ETIMEDOUT (one had to be killed). */
ACT_API int app_ctl_stop(app_ctl_t *c, const char *name, uint32_t timeout_ms);
/** Stop every running application in reverse start order, which is
 *  reverse dependency order. @return 0 or CLEO_ETIMEDOUT (as stop). */
ACT_API int app_ctl_stop_all(app_ctl_t *c, uint32_t timeout_ms);
/** The running application called name, or NULL.
 *  @return valid until it is stopped. */
ACT_API app_t *app_ctl_app(app_ctl_t *c, const char *name);
/** The running applications' names in start order (OTP's
 *  which_applications): up to max into out. @param out names valid while
 *  the specs are. @return how many run (may exceed max). */
ACT_API size_t app_ctl_which(app_ctl_t *c, const char **out, size_t max);
/** Stop everything (as app_ctl_stop_all with a 10 s timeout) and free.
 *  Accepts NULL. */
ACT_API void app_ctl_free(app_ctl_t *c);

/* =====================================================================
 * Utility actors: logger (a gen_event manager registered as "logger")
 * and metrics (a gen_server registered as "metrics").
 * ===================================================================== */

typedef enum {
    LOG_DEBUG = 0,
    LOG_INFO,
    LOG_NOTICE,
    LOG_WARNING,
    LOG_ERROR
} log_level_t;

/* A log event is a message of this type: reason = level, payload = the
 * NUL-terminated line (malloc'ed), from = the logging actor. */
#define LOG_MSG_EVENT (RT_MSG_OTP_BASE + 16u)
/* Reopen the log file (SIGHUP): a cast to the logger. */
#define LOG_MSG_REOPEN (RT_MSG_OTP_BASE + 17u)

/** Start the logger manager linked to self, registered as "logger", with a
 *  file handler writing to path (NULL: stderr). The file handler reopens
 *  the file on LOG_MSG_REOPEN. @param path borrows (copied). */
ACT_API ACT_WUR int logger_start(rt_t *rt, rt_actor_t *self, const char *path,
                                 log_level_t min, rt_pid_t *out);
/** Log a line through the registered "logger" (dropped if none runs).
 *  Usable from any thread. */
ACT_API void logger_log(rt_t *rt, log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Metrics: named counters, incremented by casts, read by calls. */
#define METRICS_MSG_INC (RT_MSG_OTP_BASE + 24u) /* payload: name; arg: n */
#define METRICS_MSG_GET (RT_MSG_OTP_BASE + 25u) /* payload: name -> arg */
/* Every counter at once: a call without payload; the reply's payload is a
 * Cleo__Metrics__Counters (proto/metrics.proto) listing each counter's
 * name and value, sorted by name (strcmp order); none yet: an empty list.
 * The reply is one snapshot: increments cast before the call by the same
 * sender are in it. */
#define METRICS_MSG_ALL (RT_MSG_OTP_BASE + 26u)

/** Start the metrics server linked to self, registered as "metrics". */
ACT_API ACT_WUR int metrics_start(rt_t *rt, rt_actor_t *self, rt_pid_t *out);
/** Add n to counter name (created at 0). Any thread; asynchronous. */
ACT_API void metrics_inc(rt_t *rt, const char *name, uint64_t n);
/** Read counter name. Blocking. @return 0 or as rt_call_sync(). */
ACT_API int metrics_get_sync(rt_t *rt, const char *name, uint64_t *out);
/** Read every counter (METRICS_MSG_ALL). Blocking: from actors, make the
 *  call with gen_server_call() instead.
 *  @param out gives: free with
 *         cleo__metrics__counters__free_unpacked(*out, NULL).
 *  @return 0, CLEO_EINVAL (NULL argument), CLEO_ENOPROC (no "metrics"),
 *          CLEO_EPROTO (the reply holds no Counters) or as rt_call_sync().
 */
ACT_API int metrics_all_sync(rt_t *rt, Cleo__Metrics__Counters **out);

#ifdef __cplusplus
}
#endif
#endif /* CLEO_ACTORS_ACTORS_H */
