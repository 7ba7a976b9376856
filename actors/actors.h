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
#define GEN_MSG_STOP (RT_MSG_OTP_BASE + 0u)   /* ask a gen_* to stop */
#define GEN_MSG_STATUS (RT_MSG_OTP_BASE + 1u) /* reserved: sys:get_status */
#define GEN_MSG_TIMEOUT (RT_MSG_OTP_BASE + 2u) /* private: gen_statem timers */
#define GEN_EVENT_MSG_ADD (RT_MSG_OTP_BASE + 8u)
#define GEN_EVENT_MSG_DEL (RT_MSG_OTP_BASE + 9u)
#define GEN_EVENT_MSG_WHICH (RT_MSG_OTP_BASE + 10u)
/* rt_msg_t.tag values. */
#define GEN_TAG_CAST 0x43415354u /* "CAST": a gen_server/gen_statem cast */
#define GEN_TAG_SYNC 0x53594E43u /* "SYNC": gen_event sync_notify */

/* Handler results shared by the behaviours (besides 0 and <0 errors). */
#define GEN_STOP RT_STOP /* stop normally */
#define GEN_NOREPLY 2    /* handle_call: the reply comes later */

/* Options for every gen_* start. */
typedef struct gen_opts_s {
    const char *name; /* register under this name; NULL = none; borrows */
    bool link;        /* link to the starting actor (self must be given) */
    int sched;        /* RT_SCHED_ANY, or pin (actors owning uv handles) */
    bool trap_exit;   /* trap exits (supervised servers that must run
                         terminate on shutdown set this) */
} gen_opts_t;

/* =====================================================================
 * gen_server
 * ===================================================================== */

typedef struct gen_server_cbs_s {
    const char *name; /* behaviour name shown by introspection; required */
    /* Set *state. Return 0, or <0: start fails with that code. */
    int (*init)(rt_actor_t *self, void *arg, void **state);
    /* A call. Return 0 to reply with *reply (NULL: an empty reply of the
     * request's type), GEN_NOREPLY to reply later with gen_server_reply(),
    uint32_t mailbox_limit; /* 0 = unbounded; else rt_spawn_opts_t's:
                               rt_try_send() refuses past it and
                               rt_is_overloaded() says so */
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
    GSM_TIMEOUT        /* a generic (named) timeout: ev->arg is the name */
} gen_statem_event_t;

typedef struct gen_statem_cbs_s {
    const char *name; /* required */
    bool state_enter; /* call GSM_ENTER on every state change */
    /* Set *data and the initial *state. 0 or <0 (start fails). */
    int (*init)(rt_actor_t *self, void *arg, void **data, int *state);
    /* One event in `state`. Set *next (preset to state) to change state;
     * reply to calls with gen_statem_reply() (now or later); request
     * actions with gen_statem_postpone()/_state_timeout()/_timeout().
     * Return 0, GEN_STOP or <0. Required. */
    int (*handle_event)(rt_actor_t *self, gen_statem_event_t type,
                        rt_msg_t *ev, rt_from_t from, int state, void *data,
                        int *next);
    /* As gen_server's terminate. Optional. */
    void (*terminate)(rt_actor_t *self, int state, void *data, int reason);
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
    /* Runs when the handler is removed, for any reason. Optional. */
    void (*terminate)(void *state, int reason);
} gen_event_handler_t;

/** Start an event manager (no handlers). As gen_server_start(). */
ACT_API ACT_WUR int gen_event_start(rt_t *rt, rt_actor_t *self,
                                    const gen_opts_t *opts, rt_pid_t *out);
/** Add handler h (at most once per manager) with init(arg). Blocking.
 *  @param h borrows: static. @return 0, CLEO_EEXIST, init's error, or as
 *  rt_call_sync(). */
ACT_API int gen_event_add_handler_sync(rt_t *rt, rt_pid_t mgr,
                                       const gen_event_handler_t *h,
                                       void *arg);
/** Add from an actor, without waiting. @return as rt_send(). */
ACT_API int gen_event_add_handler(rt_t *rt, rt_pid_t mgr,
                                  const gen_event_handler_t *h, void *arg);
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
} app_spec_t;

/** Start an application: run spec->start and monitor the top supervisor.
 *  Non-scheduler threads only. @param spec borrows: static.
 *  @param out gives: free with app_free(). @return 0 or start's error. */
ACT_API ACT_WUR int app_start(rt_t *rt, const app_spec_t *spec,
                              app_t **out);
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
ACT_API ACT_WUR int logger_start(rt_t *rt, rt_actor_t *self,
                                 const char *path, log_level_t min,
                                 rt_pid_t *out);
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
ACT_API ACT_WUR int metrics_start(rt_t *rt, rt_actor_t *self,
                                  rt_pid_t *out);
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
