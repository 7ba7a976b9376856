/*
 * server.h - the supervisor actor's state and messages (private to
 * supervisors/). server.c holds the behaviour, restarts and shutdown;
 * manage.c the management calls; api.c the functions of sup.h.
 *
 * While the supervisor waits for children to stop (a restart under
 * one_for_all or rest_for_one, terminate_child, or its own shutdown),
 * messages that may change the child table are deferred in arrival order
 * and handled when it is idle again, as OTP's supervisor leaves them in
 * its mailbox while it blocks in a receive. Queries are answered at once.
 * Once it is shutting down, requests are answered with CLEO_ESTATE.
 */
#ifndef CLEO_SUPERVISORS_SERVER_H
#define CLEO_SUPERVISORS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisors/children.h"
#include "supervisors/shutdown.h"
#include "supervisors/sup.h"

/* Requests (rt_call_sync from api.c) and internal messages. The range
 * RT_MSG_OTP_BASE + 0x30..0x3F belongs to supervisors/. */
#define SUP_MSG_START_CHILD (RT_MSG_OTP_BASE + 0x30u)
#define SUP_MSG_TERMINATE_CHILD (RT_MSG_OTP_BASE + 0x31u)
#define SUP_MSG_RESTART_CHILD (RT_MSG_OTP_BASE + 0x32u)
#define SUP_MSG_DELETE_CHILD (RT_MSG_OTP_BASE + 0x33u)
#define SUP_MSG_WHICH (RT_MSG_OTP_BASE + 0x34u) /* reply: info array, arg n */
#define SUP_MSG_COUNT (RT_MSG_OTP_BASE + 0x35u) /* reply: sup_counts_t */
#define SUP_MSG_TRY_AGAIN (RT_MSG_OTP_BASE + 0x36u) /* arg = child uid */
#define SUP_MSG_REPLY (RT_MSG_OTP_BASE + 0x37u)     /* reason = status */

/* The payload of a request (malloc'ed, freed with free()). */
typedef struct sup_req_s {
    const sup_child_spec_t *spec; /* start_child: static */
    void *extra;                  /* start_child: simple's argument */
    rt_pid_t pid;                 /* terminate_child by pid */
    bool has_id;
    char id[SUP_ID_MAX];
} sup_req_t;

/* A message that may be deferred: the fields of m that matter, and its
 * payload taken over. */
typedef struct sup_ev_s {
    uint32_t type;
    rt_pid_t from;
    int reason;
    uint64_t arg;
    rt_from_t caller; /* ref 0 if not a call */
    void *payload;
    rt_free_fn payload_free;
} sup_ev_t;

typedef enum {
    SUP_OP_NONE = 0,
    SUP_OP_RESTART,   /* stopping siblings before starting them again */
    SUP_OP_TERMINATE, /* terminate_child */
    SUP_OP_SHUTDOWN   /* stopping everything, then exiting */
} sup_op_t;

/* What sup_start() passes to the supervisor's init. */
typedef struct sup_init_s {
    const sup_spec_t *spec;
    rt_pid_t parent; /* RT_PID_NONE for a top supervisor */
    rt_pid_t reaper; /* out: stops the started children after a failure */
} sup_init_t;

typedef struct sup_state_s {
    const sup_spec_t *spec; /* borrows: static */
    rt_pid_t parent;
    uint32_t period_ms; /* spec's, or the default */
    sup_children_t kids;
    sup_term_t term;
    sup_op_t op;
    size_t restart_from; /* SUP_OP_RESTART: first index started again */
    uint64_t op_uid;     /* SUP_OP_TERMINATE: the child */
    rt_from_t op_caller; /* SUP_OP_TERMINATE: who waits for the answer */
    int exit_reason;     /* SUP_OP_SHUTDOWN: the reason to exit with */
    uint64_t *hist;      /* restart times (ms) within the period */
    size_t nhist, hcap;
    sup_ev_t *pend; /* deferred events: [phead, pn) in arrival order */
    size_t phead, pn, pcap;
    bool draining;
} sup_state_t;

/* The supervisor's behaviour (init takes a sup_init_t *). */
extern const rt_behaviour_t sup__behaviour;

/* True for simple_one_for_one supervisors. */
bool sup__is_simple(const sup_state_t *s);

/* Start child i; 0 (pid recorded, or RT_PID_NONE if it chose not to run)
 * or the start function's error. */
int sup__child_start(rt_actor_t *self, sup_state_t *s, size_t i);

/* Answer a call (nothing if caller.ref is 0). @param payload takes. */
void sup__reply(rt_actor_t *self, rt_from_t caller, int status, uint64_t arg,
                void *payload, rt_free_fn payload_free);

/* Stop child i (running) for terminate_child; answers caller when done. */
void sup__terminate_begin(rt_actor_t *self, sup_state_t *s, size_t i,
                          rt_from_t caller);

/* Restarts within the current period. */
uint32_t sup__restarts_in_period(rt_actor_t *self, sup_state_t *s);

/* Management and queries (manage.c); ev / m borrowed. */
int sup__on_start_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev);
int sup__on_terminate_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev);
int sup__on_restart_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev);
int sup__on_delete_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev);
int sup__on_which(rt_actor_t *self, sup_state_t *s, rt_msg_t *m);
int sup__on_count(rt_actor_t *self, sup_state_t *s, rt_msg_t *m);
int sup__on_which_pb(rt_actor_t *self, sup_state_t *s, rt_msg_t *m);
/* RT_MSG_STATUS (sys:get_status): strategy, intensity, child counts and
 * the children, as text. */
int sup__on_status(rt_actor_t *self, sup_state_t *s, rt_msg_t *m);

/* Check a child spec: id (1..63 bytes), start, enums. 0 or CLEO_EINVAL. */
int sup__child_spec_check(const sup_child_spec_t *c);

#endif
