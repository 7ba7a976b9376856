/*
 * call.c - request/reply: rt_call with a continuation and a timeout, the
 * reply side, and the blocking rt_call_sync for non-scheduler threads.
 */
#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"

static rt_msg_t *fail_msg(rt_pid_t from, int status, rt_ref_t ref)
{
    rt_msg_t *m = rt_msg_new(RT__SYS_CALL_FAIL);
    m->from = from;
    m->reason = status;
    m->ref = ref;
    return m;
}

int rt_call(rt_actor_t *self, rt_pid_t to, rt_msg_t *req, uint32_t timeout_ms,
            rt_reply_cb cb, void *data)
{
    if (req == NULL || cb == NULL || req->type >= RT_MSG_PROTO_END) {
        rt_msg_free(req);
        return CLEO_EINVAL;
    }
    rt_t *rt = self->rt;
    rt_callent_t e = {rt__ref_new(rt), to, 0, cb, data};
    if (timeout_ms != RT_INFINITY)
        (void)rt_send_after(rt, timeout_ms, self->pid,
                            fail_msg(to, CLEO_ETIMEDOUT, e.ref), &e.timer);
    rt_actor_ext_t *x = rt__actor_ext(self);
    rt__vec_push((void **)&x->calls, &x->ncalls, &x->capcalls, sizeof e, &e);
    req->from = self->pid;
    req->ref = e.ref;
    req->_sys = RT__F_CALL;
    int rc = rt__send(rt, to, req);
    if (rc == CLEO_ENOCONNECTION)
        rc = RT_REASON_NOCONNECTION;
    if (rc < 0) /* the continuation learns it as a message, never inline */
        (void)rt__send(rt, self->pid, fail_msg(to, rc, e.ref));
    return 0;
}

/* The caller gave up on ref (timeout): the server, which may hold the
 * request open, forgets it, so a request never answered does not stay
 * on it for its whole life. */
static void forget(rt_t *rt, rt_pid_t server, rt_ref_t ref)
{
    rt_msg_t *n = rt_msg_new(RT__SYS_REPLIED);
    n->ref = ref;
    (void)rt__send(rt, server, n);
}

int rt__call_complete(rt_actor_t *a, rt_msg_t *m, int status, int *rc)
{
    rt_actor_ext_t *x = a->ext;
    for (uint32_t i = 0; x != NULL && i < x->ncalls; i++) {
        if (x->calls[i].ref != m->ref)
            continue;
        rt_callent_t e = x->calls[i];
        rt__vec_del(x->calls, &x->ncalls, sizeof e, i);
        if (e.timer != 0 && status != CLEO_ETIMEDOUT)
            (void)rt_timer_cancel(a->rt, e.timer);
        if (status == CLEO_ETIMEDOUT)
            forget(a->rt, m->from, e.ref);
        if (status == 0)
            m->_sys = 0;
        *rc = e.cb(a, status == 0 ? m : NULL, status, e.data);
        return 1;
    }
    /* No such call: a late reply or timeout, dropped; an inbox takes
     * replies raw for rt_call_sync(). */
    return (a->flags & RT__A_RAW_REPLY) ? 0 : 1;
}

void rt__call_fail(rt_t *rt, rt_pid_t dead, rt_pid_t caller, rt_ref_t ref,
                   int reason)
{
    if (reason >= 0)
        reason = CLEO_ENOPROC;
    (void)rt__send(rt, caller, fail_msg(dead, reason, ref));
}

void rt__call_on_death(rt_actor_t *a, int reason)
{
    rt_actor_ext_t *x = a->ext;
    if (x == NULL)
        return;
    for (uint32_t i = 0; i < x->ncalls; i++)
        if (x->calls[i].timer != 0)
            (void)rt_timer_cancel(a->rt, x->calls[i].timer);
    x->ncalls = 0;
    for (uint32_t i = 0; i < x->open.cap; i++)
        if (x->open.e[i].key != 0)
            rt__call_fail(a->rt, a->pid, x->open.e[i].val, x->open.e[i].key,
                          reason);
    rt__map_destroy(&x->open);
}

void rt__call_open(rt_actor_t *a, rt_pid_t from, rt_ref_t ref)
{
    rt__map_put(&rt__actor_ext(a)->open, ref, from);
}

rt_from_t rt_msg_caller(const rt_msg_t *req)
{
    rt_actor_t *cur = rt__tls_actor;
    rt_from_t f = {req->from, (req->_sys & RT__F_CALL) ? req->ref : 0,
                   cur != NULL ? cur->pid : RT_PID_NONE};
    return f;
}

/* The request `from` is answered: its server forgets it. From the
 * server's own turn that is local bookkeeping; from anyone else it is a
 * note to the server, which may be dead by then (the note is dropped). */
static void answered(rt_t *rt, rt_from_t from)
{
    rt_actor_t *cur = rt__tls_actor;
    if (from.server == RT_PID_NONE)
        return;
    if (cur != NULL && cur->pid == from.server) {
        if (from.ref == rt__tls_call_ref)
            rt__tls_call_ref = 0; /* answered inside its own handler */
        else if (cur->ext != NULL)
            (void)rt__map_del(&cur->ext->open, from.ref, NULL);
        return;
    }
    rt_msg_t *m = rt_msg_new(RT__SYS_REPLIED);
    m->ref = from.ref;
    (void)rt__send(rt, from.server, m);
}

int rt_reply(rt_t *rt, rt_from_t from, rt_msg_t *reply)
{
    if (reply == NULL)
        return CLEO_EINVAL;
    if (from.ref == 0 || reply->type >= RT_MSG_PROTO_END) {
        rt_msg_free(reply);
        return CLEO_EINVAL;
    }
    reply->ref = from.ref;
    reply->_sys = RT__F_REPLY;
    answered(rt, from);
    return rt_send(rt, from.pid, reply);
}

/* Wait in ib for the answer to ref: a reply or a call failure, or the
 * loss of the connection to the node of `to`. */
static int await_reply(rt_t *rt, rt_inbox_t *ib, rt_pid_t to, rt_ref_t ref,
                       uint32_t timeout_ms, rt_msg_t **out)
{
    for (;;) {
        rt_msg_t *m;
        int rc = rt_inbox_recv(ib, timeout_ms, &m);
        if (rc < 0)
            return rc;
        if (m->ref == ref && (m->_sys & RT__F_REPLY)) {
            m->_sys = 0;
            *out = m;
            return 0;
        }
        if (m->ref == ref && m->type == RT__SYS_CALL_FAIL) {
            rc = m->reason;
            rt_msg_free(m);
            return rc;
        }
        if (m->type == RT_MSG_NODEDOWN &&
            rt__dist_on_node(rt, to, (uint32_t)m->arg)) {
            rt_msg_free(m);
            return RT_REASON_NOCONNECTION;
        }
        rt_msg_free(m); /* stray: not ours */
    }
}

int rt_call_sync(rt_t *rt, rt_pid_t to, rt_msg_t *req, uint32_t timeout_ms,
                 rt_msg_t **reply_out)
{
    rt_inbox_t *ib;
    if (req == NULL || reply_out == NULL || req->type >= RT_MSG_PROTO_END) {
        rt_msg_free(req);
        return CLEO_EINVAL;
    }
    if (rt_on_scheduler()) {
        rt_msg_free(req);
        return CLEO_EDEADLK;
    }
    /* Check the target first: a bad call must change nothing. */
    int rc = rt__stopping(rt)             ? CLEO_ESHUTDOWN
             : rt__dist_is_remote(rt, to) ? 0
                                          : rt__table_check(&rt->table, to);
    if (rc == 0)
        rc = rt_inbox_new(rt, &ib);
    if (rc < 0) {
        rt_msg_free(req);
        return rc;
    }
    rt_ref_t ref = rt__ref_new(rt);
    req->from = rt_inbox_pid(ib);
    req->ref = ref;
    req->_sys = RT__F_CALL;
    rc = rt_send(rt, to, req);
    if (rc == 0)
        rc = await_reply(rt, ib, to, ref, timeout_ms, reply_out);
    if (rc == CLEO_ETIMEDOUT)
        forget(rt, to, ref);
    rt_inbox_free(ib);
    return rc;
}
