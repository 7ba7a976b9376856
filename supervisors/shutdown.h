/*
 * shutdown.h - terminating children the OTP way (private to supervisors/).
 *
 * A terminator holds a list of pids to stop, in the order to stop them.
 * For each one it monitors the child, unlinks it (so its EXIT cannot be
 * mistaken for a crash), sends it the exit signal `shutdown` (or `kill`
 * for SUP_BRUTAL_KILL) and waits for the DOWN; if shutdown_ms passes
 * first it kills the child and waits again. Nothing blocks: the owner
 * actor feeds DOWN and timeout messages in, and learns when it is done.
 *
 * Sequential mode stops one child at a time (ordered shutdown); parallel
 * mode signals all at once under one timer (simple_one_for_one children,
 * which OTP stops without a guaranteed order).
 */
#ifndef CLEO_SUPERVISORS_SHUTDOWN_H
#define CLEO_SUPERVISORS_SHUTDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rt.h"

/* The terminator's timer message to its owner: arg = timer generation. */
#define SUP_MSG_TERM_TIMEOUT (RT_MSG_OTP_BASE + 0x38u)

typedef struct sup_term_item_s {
    rt_pid_t pid;
    uint32_t shutdown_ms; /* SUP_BRUTAL_KILL, ms or SUP_INFINITY */
    rt_ref_t mon;         /* monitor while waiting; 0 = down or not yet */
} sup_term_item_t;

typedef struct sup_term_s {
    sup_term_item_t *v;
    size_t n, cap;
    size_t pos, end; /* the batch being stopped: [pos, end) */
    size_t left;     /* children of the batch not down yet */
    rt_ref_t timer;  /* the batch's shutdown timer; 0 = none */
    uint64_t gen;    /* numbers the timers: a stale timeout is ignored */
    bool parallel;   /* one batch of everything */
    bool active;     /* started and not finished */
} sup_term_t;

/* An empty, idle terminator. */
void sup__term_init(sup_term_t *t);
/* Cancel its timer and free its memory (children are left as they are). */
void sup__term_destroy(rt_t *rt, sup_term_t *t);

/* Queue pid to be stopped (before sup__term_start). */
void sup__term_add(sup_term_t *t, rt_pid_t pid, uint32_t shutdown_ms);

/* Start stopping the queued children from self. Returns true if there
 * was nothing to stop (finished at once), false if DOWNs are awaited. */
bool sup__term_start(rt_actor_t *self, sup_term_t *t, bool parallel);

/* Feed a DOWN. Returns true if it belonged to the terminator; *done is
 * set when the last child is down. */
bool sup__term_on_down(rt_actor_t *self, sup_term_t *t, const rt_msg_t *m,
                       bool *done);

/* Feed a SUP_MSG_TERM_TIMEOUT: kill the batch's children still alive. */
void sup__term_on_timeout(rt_actor_t *self, sup_term_t *t, const rt_msg_t *m);

/* True while children are being stopped. */
bool sup__term_is_active(const sup_term_t *t);

/* Hand the queued children of t to a new unlinked "sup_reaper" actor that
 * stops them in order and then exits normally; for a supervisor whose own
 * start failed and so cannot wait for them itself. t is left empty.
 * @param out the reaper's pid (RT_PID_NONE if there was nothing to stop).
 * @return 0 or as rt_spawn(). */
int sup__reaper_start(rt_t *rt, sup_term_t *t, rt_pid_t *out);

#endif
