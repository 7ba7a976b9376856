/*
 * sup.h - OTP's supervisor on the cleo runtime: strategies one_for_one,
 * one_for_all, rest_for_one, simple_one_for_one; restart intensity and
 * period; permanent / transient / temporary children; ordered shutdown
 * with a per-child timeout then kill; the child management calls.
 *
 * A supervisor is an actor that traps exits. Its children are linked to
 * it. It answers RT_MSG_WHICH_CHILDREN (see runtime/rt.h) with a
 * Cleo__Introspect__Children protobuf, which is how `cleo-adm tree` sees
 * it. When restarts exceed the intensity within the period, it shuts its
 * children down and exits with reason RT_REASON_SHUTDOWN, so the failure
 * escalates to its parent.
 *
 * Conventions as runtime/rt.h. *_sync functions block and are only for
 * threads that are not schedulers (CLEO_EDEADLK otherwise).
 */
#ifndef CLEO_SUPERVISORS_SUP_H
#define CLEO_SUPERVISORS_SUP_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SUP_API __attribute__((visibility("default")))
#define SUP_WUR __attribute__((warn_unused_result))

typedef enum {
    SUP_ONE_FOR_ONE = 0,
    SUP_ONE_FOR_ALL,
    SUP_REST_FOR_ONE,
    SUP_SIMPLE_ONE_FOR_ONE
} sup_strategy_t;

typedef enum {
    SUP_PERMANENT = 0, /* always restarted */
    SUP_TRANSIENT,     /* restarted after an abnormal exit only */
    SUP_TEMPORARY      /* never restarted */
} sup_restart_t;

typedef enum { SUP_WORKER = 0, SUP_SUPERVISOR } sup_child_type_t;

#define SUP_BRUTAL_KILL                                                        \
    0u                             /* shutdown_ms: kill at once (for a         \
                                      SUP_SUPERVISOR child, 0 means the        \
                                      default, SUP_INFINITY) */
#define SUP_INFINITY UINT32_MAX    /* shutdown_ms: wait forever */
#define SUP_DEFAULT_SHUTDOWN 5000u /* OTP's default for workers */

typedef struct sup_child_spec_s sup_child_spec_t;

/* Start one child: spawn it linked to the supervisor (`sup` as the
 * spawning actor with RT_SPAWN_LINK, or gen_opts_t.link = true) and write
 * its pid. `extra` is NULL except for simple_one_for_one children, where
 * it is sup_start_child()'s argument (passed again on every restart).
 * Return 0 or <0 (the start failed). Returning 0 with *out = RT_PID_NONE
 * is OTP's `ignore`: the spec is kept, not running (a temporary or simple
 * child is dropped). */
typedef int (*sup_start_fn)(rt_actor_t *sup, const sup_child_spec_t *spec,
                            void *extra, rt_pid_t *out);

struct sup_child_spec_s {
    const char *id;     /* unique within the supervisor; required */
    sup_start_fn start; /* required */
    void *arg;          /* for start, via spec->arg */
    sup_restart_t restart;
    uint32_t shutdown_ms;  /* SUP_BRUTAL_KILL, ms, or SUP_INFINITY */
    sup_child_type_t type; /* supervisors default to SUP_INFINITY */
};

typedef struct sup_flags_s {
    sup_strategy_t strategy;
    uint32_t intensity; /* max restarts within period_ms (OTP default 1) */
    uint32_t period_ms; /* (OTP default 5000; 0 here means 5000) */
} sup_flags_t;

typedef struct sup_spec_s {
    sup_flags_t flags;
    const sup_child_spec_t *children; /* static const table; borrows. For
                                         simple_one_for_one: exactly one,
                                         the template */
    size_t nchildren;
} sup_spec_t;

/** Start a supervisor and its children in order; returns when all are
 *  started. If a child fails to start, the ones already started are shut
 *  down in reverse order and the supervisor's start fails with the
 *  child's error.
 *  @param self borrows: the parent actor (the supervisor links to it), or
 *         NULL for a top supervisor.
 *  @param name register under it (NULL = none); borrows.
 *  @param spec borrows: must outlive the supervisor (static).
 *  @param out the pid (may be NULL).
 *  @return 0, CLEO_EINVAL (bad spec), a child's error, or as rt_spawn(). */
SUP_API SUP_WUR int sup_start(rt_t *rt, rt_actor_t *self, const char *name,
                              const sup_spec_t *spec, rt_pid_t *out);

/** A sup_start_fn for a child that is itself a supervisor: spec->arg must
 *  point to a sup_child_sup_t. */
typedef struct sup_child_sup_s {
    const char *name;       /* registered name or NULL */
    const sup_spec_t *spec; /* the child supervisor's spec */
} sup_child_sup_t;
SUP_API int sup_start_child_sup(rt_actor_t *sup, const sup_child_spec_t *spec,
                                void *extra, rt_pid_t *out);

/* ---- management (blocking; from non-scheduler threads) -------------
 * The supervisor answers these through private messages in the range
 * RT_MSG_OTP_BASE + 0x30 .. 0x3F. While it waits for children to stop
 * (a one_for_all / rest_for_one restart, a terminate_child) requests are
 * answered afterwards; once it is shutting down, with CLEO_ESTATE.
 * terminate (by id), restart and delete on a simple_one_for_one
 * supervisor are CLEO_EINVAL (OTP: {error, simple_one_for_one}); an id
 * that is empty or longer than 63 bytes is CLEO_EINVAL. */

/** Add and start a child (one_for_one & co: spec, extra NULL; simple:
 *  spec NULL, extra passed to the template's start).
 *  @param spec borrows: must outlive the child (static).
 *  @return 0, CLEO_EEXIST (id taken), the start's error, or as
 *  rt_call_sync(). */
SUP_API int sup_start_child_sync(rt_t *rt, rt_pid_t sup,
                                 const sup_child_spec_t *spec, void *extra,
                                 rt_pid_t *out);
/** Stop a child (by id; or by pid for simple_one_for_one, id NULL). The
 *  spec stays (restart_child can start it again). @return 0,
 *  CLEO_ENOTFOUND. */
SUP_API int sup_terminate_child_sync(rt_t *rt, rt_pid_t sup, const char *id,
                                     rt_pid_t pid);
/** Start again a terminated child. @return 0, CLEO_ENOTFOUND, CLEO_ESTATE
 *  (it is running), the start's error. */
SUP_API int sup_restart_child_sync(rt_t *rt, rt_pid_t sup, const char *id,
                                   rt_pid_t *out);
/** Forget a terminated child's spec. @return 0, CLEO_ENOTFOUND,
 *  CLEO_ESTATE (running). */
SUP_API int sup_delete_child_sync(rt_t *rt, rt_pid_t sup, const char *id);

typedef struct sup_child_info_s {
    char id[64];
    rt_pid_t pid; /* RT_PID_NONE if not running */
    sup_child_type_t type;
    sup_restart_t restart;
    uint32_t restarts; /* times restarted by the supervisor (automatic
                          restarts, not restart_child) */
} sup_child_info_t;

/** The children, in start order. @param out gives: free(). @param n count.
 *  @return 0 or as rt_call_sync(). */
SUP_API int sup_which_children_sync(rt_t *rt, rt_pid_t sup,
                                    sup_child_info_t **out, size_t *n);

typedef struct sup_counts_s {
    uint32_t specs, active, supervisors, workers;
} sup_counts_t;
/** OTP's count_children. @return 0 or as rt_call_sync(). */
SUP_API int sup_count_children_sync(rt_t *rt, rt_pid_t sup, sup_counts_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CLEO_SUPERVISORS_SUP_H */
