/*
 * server.c - the supervisor actor: starting children, reacting to their
 * exits by strategy, restart intensity, and the ordered shutdown.
 *
 * Everything that waits (children stopping) goes through the terminator
 * in shutdown.c, so no handler blocks its scheduler. Between the moment
 * the terminator starts and the moment it reports done, the supervisor is
 * "busy" (s->op != SUP_OP_NONE) and defers events; see server.h.
 */
#include "supervisors/server.h"

#include <stdlib.h>
#include <string.h>

#define SUP_DEFAULT_PERIOD_MS 5000u /* OTP's period when the spec says 0 */

static int dispatch(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev);
static void drain(rt_actor_t *self, sup_state_t *s);

bool sup__is_simple(const sup_state_t *s)
{
    return s->spec->flags.strategy == SUP_SIMPLE_ONE_FOR_ONE;
}

int sup__child_start(rt_actor_t *self, sup_state_t *s, size_t i)
{
    sup_child_t *c = &s->kids.v[i];
    rt_pid_t pid = RT_PID_NONE;
    c->pid = RT_PID_NONE;
    int rc = c->spec->start(self, c->spec, c->extra, &pid);
    if (rc < 0)
        return rc;
    c->pid = pid;
    return 0;
}

void sup__reply(rt_actor_t *self, rt_from_t caller, int status, uint64_t arg,
                void *payload, rt_free_fn payload_free)
{
    if (caller.ref == 0) {
        if (payload_free != NULL)
            payload_free(payload);
        return;
    }
    rt_msg_t *r = rt_msg_new(SUP_MSG_REPLY);
    r->reason = status;
    r->arg = arg;
    r->payload = payload;
    r->payload_free = payload_free;
    (void)rt_reply(rt_actor_rt(self), caller, r);
}

/* ---- deferred events ------------------------------------------------ */

static void ev_free(sup_ev_t *ev)
{
    if (ev->payload_free != NULL)
        ev->payload_free(ev->payload);
    ev->payload = NULL;
    ev->payload_free = NULL;
}

/* A deferred request that will not be served: answer it with status. */
static void ev_reject(rt_actor_t *self, sup_ev_t *ev, int status)
{
    sup__reply(self, ev->caller, status, 0, NULL, NULL);
    ev_free(ev);
}

static void pend_push(sup_state_t *s, const sup_ev_t *ev)
{
    if (s->phead > 0 && s->phead == s->pn)
        s->phead = s->pn = 0;
    if (s->pn == s->pcap) {
        s->pcap = s->pcap ? s->pcap * 2 : 8;
        s->pend = sup__xrealloc(s->pend, s->pcap * sizeof *s->pend);
    }
    s->pend[s->pn++] = *ev;
}

static void pend_reject_all(rt_actor_t *self, sup_state_t *s, int status)
{
    while (s->phead < s->pn)
        ev_reject(self, &s->pend[s->phead++], status);
    s->phead = s->pn = 0;
}

/* Handle deferred events while the supervisor is idle. Re-entrant calls
 * (an event that finishes an operation at once) return at once: the
 * outer loop goes on. */
static void drain(rt_actor_t *self, sup_state_t *s)
{
    if (s->draining)
        return;
    s->draining = true;
    while (s->op == SUP_OP_NONE && s->phead < s->pn) {
        sup_ev_t ev = s->pend[s->phead++];
        (void)dispatch(self, s, &ev);
        ev_free(&ev);
    }
    if (s->op == SUP_OP_SHUTDOWN)
        pend_reject_all(self, s, CLEO_ESTATE);
    s->draining = false;
}

/* ---- operations: stop children, then continue ------------------------ */

static void finish_restart(rt_actor_t *self, sup_state_t *s);

/* The terminator is done: finish the operation it served. */
static void op_done(rt_actor_t *self, sup_state_t *s)
{
    sup_op_t op = s->op;
    s->op = SUP_OP_NONE;
    switch (op) {
    case SUP_OP_RESTART:
        finish_restart(self, s);
        break;
    case SUP_OP_TERMINATE: {
        size_t i = sup__children_find_uid(&s->kids, s->op_uid);
        if (i != SUP_NONE &&
            (sup__is_simple(s) || s->kids.v[i].spec->restart == SUP_TEMPORARY))
            sup__children_remove(&s->kids, i);
        sup__reply(self, s->op_caller, 0, 0, NULL, NULL);
        break;
    }
    case SUP_OP_SHUTDOWN:
        s->op = SUP_OP_SHUTDOWN; /* stays: nothing more is served */
        rt_exit_self(self, s->exit_reason);
        break;
    default:
        break;
    }
    drain(self, s);
}

/* Start the terminator on what was queued in s->term, for op. */
static void op_begin(rt_actor_t *self, sup_state_t *s, sup_op_t op)
{
    s->op = op;
    bool parallel = op == SUP_OP_SHUTDOWN && sup__is_simple(s);
    if (sup__term_start(self, &s->term, parallel))
        op_done(self, s);
}

static void queue_stop(sup_state_t *s, size_t i)
{
    sup_child_t *c = &s->kids.v[i];
    sup__term_add(&s->term, c->pid, sup__child_shutdown_ms(c->spec));
}

void sup__terminate_begin(rt_actor_t *self, sup_state_t *s, size_t i,
                          rt_from_t caller)
{
    queue_stop(s, i);
    s->kids.v[i].pid = RT_PID_NONE;
    s->op_uid = s->kids.v[i].uid;
    s->op_caller = caller;
    op_begin(self, s, SUP_OP_TERMINATE);
}

/* Stop every child in reverse start order, then exit with reason. */
static int shutdown_begin(rt_actor_t *self, sup_state_t *s, int reason)
{
    s->exit_reason = reason;
    for (size_t i = s->kids.n; i-- > 0;)
        if (s->kids.v[i].pid != RT_PID_NONE)
            queue_stop(s, i);
    op_begin(self, s, SUP_OP_SHUTDOWN);
    pend_reject_all(self, s, CLEO_ESTATE);
    return 0;
}

/* ---- restarts ------------------------------------------------------- */

uint32_t sup__restarts_in_period(rt_actor_t *self, sup_state_t *s)
{
    uint64_t now = rt_now_ms(rt_actor_rt(self));
    size_t k = 0;
    for (size_t i = 0; i < s->nhist; i++)
        if (now - s->hist[i] < s->period_ms)
            s->hist[k++] = s->hist[i];
    s->nhist = k;
    return (uint32_t)k;
}

/* Record a restart now; false if that makes more than `intensity` within
 * the period (OTP's reached_max_restart_intensity). */
static bool add_restart(rt_actor_t *self, sup_state_t *s)
{
    (void)sup__restarts_in_period(self, s);
    if (s->nhist == s->hcap) {
        s->hcap = s->hcap ? s->hcap * 2 : 8;
        s->hist = sup__xrealloc(s->hist, s->hcap * sizeof *s->hist);
    }
    s->hist[s->nhist++] = rt_now_ms(rt_actor_rt(self));
    return s->nhist <= s->spec->flags.intensity;
}

/* A start failed during a restart: try again from a message, as OTP does,
 * so the retry counts against the intensity and other messages run. */
static void try_again(rt_actor_t *self, uint64_t uid)
{
    rt_msg_t *m = rt_msg_new(SUP_MSG_TRY_AGAIN);
    m->arg = uid;
    (void)rt_send(rt_actor_rt(self), rt_self(self), m);
}

static void restart_one(rt_actor_t *self, sup_state_t *s, size_t i)
{
    s->kids.v[i].restarts++;
    if (sup__child_start(self, s, i) < 0)
        try_again(self, s->kids.v[i].uid);
}

/* Start again the children from s->restart_from on, in order, once the
 * running ones among them have stopped. */
static void finish_restart(rt_actor_t *self, sup_state_t *s)
{
    for (size_t i = s->restart_from; i < s->kids.n; i++) {
        sup_child_t *c = &s->kids.v[i];
        if (c->pid != RT_PID_NONE)
            continue;
        c->restarts++;
        if (sup__child_start(self, s, i) < 0) {
            try_again(self, s->kids.v[i].uid);
            return;
        }
        if (s->kids.v[i].pid == RT_PID_NONE &&
            s->kids.v[i].spec->restart == SUP_TEMPORARY)
            sup__children_remove(&s->kids, i--);
    }
}

/* Stop the running children from index `from` on in reverse start order
 * (temporary ones are forgotten), then restart them all in order. */
static void restart_range(rt_actor_t *self, sup_state_t *s, size_t from)
{
    for (size_t i = s->kids.n; i-- > from;) {
        if (s->kids.v[i].pid == RT_PID_NONE)
            continue;
        queue_stop(s, i);
        if (s->kids.v[i].spec->restart == SUP_TEMPORARY)
            sup__children_remove(&s->kids, i);
        else
            s->kids.v[i].pid = RT_PID_NONE;
    }
    s->restart_from = from;
    op_begin(self, s, SUP_OP_RESTART);
}

/* Child i is down and must be restarted: by strategy, unless that is one
 * restart too many. */
static int restart_child(rt_actor_t *self, sup_state_t *s, size_t i)
{
    if (!add_restart(self, s))
        return shutdown_begin(self, s, RT_REASON_SHUTDOWN);
    switch (s->spec->flags.strategy) {
    case SUP_ONE_FOR_ALL:
        restart_range(self, s, 0);
        break;
    case SUP_REST_FOR_ONE:
        restart_range(self, s, i);
        break;
    default:
        restart_one(self, s, i);
        break;
    }
    return 0;
}

/* ---- events --------------------------------------------------------- */

/* An EXIT: from the parent (stop), from a child (restart or forget), or
 * from anyone else (ignored), with two exceptions: a top supervisor obeys
 * an abnormal exit signal sent from outside any actor (how an application
 * or a main stops it), and any supervisor obeys `shutdown` once its parent
 * is dead (a supervisor whose start failed can no longer tell us). An EXIT
 * from a child retired by a restart is ignored: its pid is gone from the
 * table, and it must not stop the tree. */
static int on_exit_msg(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    if (s->parent != RT_PID_NONE && ev->from == s->parent)
        return shutdown_begin(self, s, ev->reason);
    size_t i = sup__children_find_pid(&s->kids, ev->from);
    if (i == SUP_NONE) {
        bool outside =
            ev->from == RT_PID_NONE && ev->reason != RT_REASON_NORMAL;
        bool orphan = s->parent != RT_PID_NONE &&
                      ev->reason == RT_REASON_SHUTDOWN &&
                      !rt_is_alive(rt_actor_rt(self), s->parent);
        if ((s->parent == RT_PID_NONE && outside) || orphan)
            return shutdown_begin(self, s, ev->reason);
        return 0;
    }
    sup_child_t *c = &s->kids.v[i];
    c->pid = RT_PID_NONE;
    if (sup__child_wants_restart(c->spec->restart, ev->reason))
        return restart_child(self, s, i);
    if (sup__is_simple(s) || c->spec->restart == SUP_TEMPORARY)
        sup__children_remove(&s->kids, i);
    return 0;
}

static int on_try_again(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    size_t i = sup__children_find_uid(&s->kids, ev->arg);
    if (i == SUP_NONE || s->kids.v[i].pid != RT_PID_NONE)
        return 0;
    return restart_child(self, s, i);
}

static int on_unknown(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    sup__reply(self, ev->caller, CLEO_EINVAL, 0, NULL, NULL);
    return 0;
}

static bool is_request(uint32_t type)
{
    return type == SUP_MSG_START_CHILD || type == SUP_MSG_TERMINATE_CHILD ||
           type == SUP_MSG_RESTART_CHILD || type == SUP_MSG_DELETE_CHILD;
}

static int dispatch(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    /* A management request without its payload (a malformed message from
     * some actor) is refused, never dereferenced. */
    if (is_request(ev->type) && ev->payload == NULL) {
        sup__reply(self, ev->caller, CLEO_EINVAL, 0, NULL, NULL);
        return 0;
    }
    switch (ev->type) {
    case RT_MSG_EXIT:
        return on_exit_msg(self, s, ev);
    case SUP_MSG_TRY_AGAIN:
        return on_try_again(self, s, ev);
    case SUP_MSG_START_CHILD:
        return sup__on_start_child(self, s, ev);
    case SUP_MSG_TERMINATE_CHILD:
        return sup__on_terminate_child(self, s, ev);
    case SUP_MSG_RESTART_CHILD:
        return sup__on_restart_child(self, s, ev);
    case SUP_MSG_DELETE_CHILD:
        return sup__on_delete_child(self, s, ev);
    default:
        return on_unknown(self, s, ev);
    }
}

/* A message that may change the child table: now, later, or refused. */
static int on_event(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    sup_ev_t ev = {m->type,          m->from,    m->reason,      m->arg,
                   rt_msg_caller(m), m->payload, m->payload_free};
    m->payload = NULL; /* the event owns it now */
    m->payload_free = NULL;
    if (s->op == SUP_OP_SHUTDOWN) {
        ev_reject(self, &ev, CLEO_ESTATE);
        return 0;
    }
    if (s->op != SUP_OP_NONE) {
        pend_push(s, &ev);
        return 0;
    }
    (void)dispatch(self, s, &ev);
    ev_free(&ev);
    drain(self, s);
    return 0;
}

static int on_down(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    bool done;
    if (sup__term_on_down(self, &s->term, m, &done) && done)
        op_done(self, s);
    return 0;
}

static int on_term_timeout(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    sup__term_on_timeout(self, &s->term, m);
    return 0;
}

/* ---- the behaviour -------------------------------------------------- */

static sup_state_t *state_new(const sup_init_t *ia)
{
    sup_state_t *s = sup__xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->spec = ia->spec;
    s->parent = ia->parent;
    s->period_ms = ia->spec->flags.period_ms ? ia->spec->flags.period_ms
                                             : SUP_DEFAULT_PERIOD_MS;
    sup__children_init(&s->kids);
    sup__term_init(&s->term);
    return s;
}

static void state_free(rt_t *rt, sup_state_t *s)
{
    sup__term_destroy(rt, &s->term);
    sup__children_destroy(&s->kids);
    free(s->hist);
    free(s->pend);
    free(s);
}

/* A child failed to start inside init: unlink the started ones and hand
 * them to a reaper, which stops them in reverse order. */
static void init_abort(rt_actor_t *self, sup_state_t *s, sup_init_t *ia)
{
    for (size_t i = s->kids.n; i-- > 0;) {
        if (s->kids.v[i].pid == RT_PID_NONE)
            continue;
        queue_stop(s, i);
        (void)rt_unlink(self, s->kids.v[i].pid);
    }
    (void)sup__reaper_start(rt_actor_rt(self), &s->term, &ia->reaper);
}

static int sup_init(rt_actor_t *self, void *arg)
{
    sup_init_t *ia = arg;
    sup_state_t *s = state_new(ia);
    int rc = 0;
    if (!sup__is_simple(s)) {
        for (size_t k = 0; k < ia->spec->nchildren; k++) {
            size_t i =
                sup__children_add(&s->kids, &ia->spec->children[k], NULL);
            if ((rc = sup__child_start(self, s, i)) < 0)
                break;
            if (s->kids.v[i].pid == RT_PID_NONE &&
                s->kids.v[i].spec->restart == SUP_TEMPORARY)
                sup__children_remove(&s->kids, i);
        }
    }
    if (rc < 0) {
        init_abort(self, s, ia);
        state_free(rt_actor_rt(self), s);
        return rc;
    }
    rt_set_state(self, s);
    return 0;
}

static int sup_handle(rt_actor_t *self, rt_msg_t *m)
{
    sup_state_t *s = rt_state(self);
    switch (m->type) {
    case RT_MSG_DOWN:
        return on_down(self, s, m);
    case SUP_MSG_TERM_TIMEOUT:
        return on_term_timeout(self, s, m);
    case RT_MSG_WHICH_CHILDREN:
        return sup__on_which_pb(self, s, m);
    case RT_MSG_STATUS:
        return sup__on_status(self, s, m);
    case SUP_MSG_WHICH:
        return sup__on_which(self, s, m);
    case SUP_MSG_COUNT:
        return sup__on_count(self, s, m);
    default:
        return on_event(self, s, m);
    }
}

/* Callers still waiting for deferred requests learn the supervisor is
 * gone; the children die through their links. */
static void sup_destroy(rt_actor_t *self, int reason)
{
    sup_state_t *s = rt_state(self);
    if (s == NULL)
        return;
    pend_reject_all(self, s, CLEO_ENOPROC);
    if (s->op == SUP_OP_TERMINATE)
        sup__reply(self, s->op_caller, CLEO_ENOPROC, 0, NULL, NULL);
    state_free(rt_actor_rt(self), s);
    rt_set_state(self, NULL);
}

/* Called from other threads, even during destroy (rt.h): the fixed part
 * only, never the state. */
static size_t sup_memory(const rt_actor_t *self)
{
    (void)self;
    return sizeof(sup_state_t);
}

const rt_behaviour_t sup__behaviour = {
    .name = "supervisor",
    .init = sup_init,
    .handle = sup_handle,
    .destroy = sup_destroy,
    .memory = sup_memory,
    .sys_msgs = true,
};
