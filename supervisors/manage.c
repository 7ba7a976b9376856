/*
 * manage.c - the supervisor's management calls (start_child,
 * terminate_child, restart_child, delete_child) and its queries
 * (which_children, count_children, the RT_MSG_WHICH_CHILDREN protocol
 * message answered with a Cleo__Introspect__Children protobuf, and
 * RT_MSG_STATUS answered with a Cleo__Introspect__ActorStatus text).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/introspect.pb-c.h"
#include "supervisors/server.h"

int sup__child_spec_check(const sup_child_spec_t *c)
{
    if (c == NULL || c->id == NULL || c->start == NULL)
        return CLEO_EINVAL;
    size_t len = strnlen(c->id, SUP_ID_MAX);
    if (len == 0 || len >= SUP_ID_MAX)
        return CLEO_EINVAL;
    if ((unsigned)c->restart > SUP_TEMPORARY ||
        (unsigned)c->type > SUP_SUPERVISOR)
        return CLEO_EINVAL;
    return 0;
}

/* ---- management ------------------------------------------------------ */

static int start_simple(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    sup_req_t *req = ev->payload;
    size_t i = sup__children_add(&s->kids, &s->spec->children[0], req->extra);
    int rc = sup__child_start(self, s, i);
    rt_pid_t pid = s->kids.v[i].pid;
    if (rc < 0 || pid == RT_PID_NONE)
        sup__children_remove(&s->kids, i);
    sup__reply(self, ev->caller, rc, rc < 0 ? 0 : pid, NULL, NULL);
    return 0;
}

int sup__on_start_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    sup_req_t *req = ev->payload;
    if (sup__is_simple(s))
        return start_simple(self, s, ev);
    int rc = sup__child_spec_check(req->spec);
    if (rc == 0 && sup__children_find_id(&s->kids, req->spec->id) != SUP_NONE)
        rc = CLEO_EEXIST;
    if (rc < 0) {
        sup__reply(self, ev->caller, rc, 0, NULL, NULL);
        return 0;
    }
    size_t i = sup__children_add(&s->kids, req->spec, NULL);
    rc = sup__child_start(self, s, i);
    rt_pid_t pid = s->kids.v[i].pid;
    /* OTP keeps no spec for a child that failed to start, nor for a
     * temporary child that chose not to run. */
    if (rc < 0 || (pid == RT_PID_NONE && req->spec->restart == SUP_TEMPORARY))
        sup__children_remove(&s->kids, i);
    sup__reply(self, ev->caller, rc, rc < 0 ? 0 : pid, NULL, NULL);
    return 0;
}

/* The child a management request names; SUP_NONE with *rc set if none
 * fits (or the request is not for this kind of supervisor). */
static size_t req_child(sup_state_t *s, const sup_req_t *req, bool by_pid,
                        int *rc)
{
    size_t i = SUP_NONE;
    *rc = CLEO_ENOTFOUND;
    if (sup__is_simple(s) && (!by_pid || req->has_id))
        *rc = CLEO_EINVAL; /* OTP: {error, simple_one_for_one} */
    else if (req->has_id)
        i = sup__children_find_id(&s->kids, req->id);
    else if (by_pid)
        i = sup__children_find_pid(&s->kids, req->pid);
    if (i != SUP_NONE)
        *rc = 0;
    return i;
}

int sup__on_terminate_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    int rc;
    size_t i = req_child(s, ev->payload, true, &rc);
    if (i != SUP_NONE && s->kids.v[i].pid != RT_PID_NONE) {
        sup__terminate_begin(self, s, i, ev->caller);
        return 0;
    }
    sup__reply(self, ev->caller, rc, 0, NULL, NULL);
    return 0;
}

int sup__on_restart_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    int rc;
    size_t i = req_child(s, ev->payload, false, &rc);
    if (i != SUP_NONE && s->kids.v[i].pid != RT_PID_NONE)
        rc = CLEO_ESTATE;
    else if (i != SUP_NONE)
        rc = sup__child_start(self, s, i);
    rt_pid_t pid = rc == 0 ? s->kids.v[i].pid : RT_PID_NONE;
    sup__reply(self, ev->caller, rc, pid, NULL, NULL);
    return 0;
}

int sup__on_delete_child(rt_actor_t *self, sup_state_t *s, sup_ev_t *ev)
{
    int rc;
    size_t i = req_child(s, ev->payload, false, &rc);
    if (i != SUP_NONE && s->kids.v[i].pid != RT_PID_NONE)
        rc = CLEO_ESTATE;
    else if (i != SUP_NONE)
        sup__children_remove(&s->kids, i);
    sup__reply(self, ev->caller, rc, 0, NULL, NULL);
    return 0;
}

/* ---- queries -------------------------------------------------------- */

int sup__on_which(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    size_t n = s->kids.n;
    sup_child_info_t *v = sup__xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const sup_child_t *c = &s->kids.v[i];
        memset(&v[i], 0, sizeof v[i]);
        memcpy(v[i].id, c->id, sizeof v[i].id);
        v[i].pid = c->pid;
        v[i].type = c->spec->type;
        v[i].restart = c->spec->restart;
        v[i].restarts = c->restarts;
    }
    sup__reply(self, rt_msg_caller(m), 0, n, v, free);
    return 0;
}

int sup__on_count(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    sup_counts_t *k = sup__xmalloc(sizeof *k);
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < s->kids.n; i++) {
        const sup_child_t *c = &s->kids.v[i];
        k->specs++;
        k->active += c->pid != RT_PID_NONE;
        if (c->spec->type == SUP_SUPERVISOR)
            k->supervisors++;
        else
            k->workers++;
    }
    sup__reply(self, rt_msg_caller(m), 0, 0, k, free);
    return 0;
}

static const char *const strategy_names[] = {
    "one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"};
static const char *const restart_names[] = {"permanent", "transient",
                                            "temporary"};

static char *xstrdup(const char *str)
{
    size_t n = strlen(str) + 1;
    return memcpy(sup__xmalloc(n), str, n);
}

static Cleo__Introspect__Child *pb_child(rt_t *rt, const sup_child_t *c)
{
    Cleo__Introspect__Child *p = sup__xmalloc(sizeof *p);
    cleo__introspect__child__init(p);
    char pid[32] = "";
    rt_actor_info_t info;
    const char *beh = "";
    if (c->pid != RT_PID_NONE) {
        rt_pid_fmt(c->pid, pid, sizeof pid);
        if (rt_actor_info(rt, c->pid, &info) == 0)
            beh = info.behaviour;
    }
    p->id = xstrdup(c->id);
    p->pid = xstrdup(pid);
    p->type =
        xstrdup(c->spec->type == SUP_SUPERVISOR ? "supervisor" : "worker");
    p->restart = xstrdup(restart_names[c->spec->restart]);
    p->restarts = c->restarts;
    p->behaviour = xstrdup(beh);
    return p;
}

int sup__on_which_pb(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    rt_from_t caller = rt_msg_caller(m);
    if (caller.ref == 0)
        return 0;
    Cleo__Introspect__Children *pb = sup__xmalloc(sizeof *pb);
    cleo__introspect__children__init(pb);
    pb->strategy = xstrdup(strategy_names[s->spec->flags.strategy]);
    pb->intensity = s->spec->flags.intensity;
    pb->period_ms = s->period_ms;
    pb->restarts = sup__restarts_in_period(self, s);
    pb->n_child = s->kids.n;
    pb->child = sup__xmalloc((s->kids.n ? s->kids.n : 1) * sizeof *pb->child);
    for (size_t i = 0; i < s->kids.n; i++)
        pb->child[i] = pb_child(rt_actor_rt(self), &s->kids.v[i]);
    rt_msg_t *r = rt_msg_new(RT_MSG_WHICH_CHILDREN);
    rt_msg_set_pb(r, pb);
    (void)rt_reply(rt_actor_rt(self), caller, r);
    return 0;
}

/* ---- sys:get_status ---------------------------------------------------- */

#define STATUS_MAX 4096 /* bytes of text, as actors.h's GEN_STATUS_MAX */

/* Append printf-style text at *len, cut to fit buf[STATUS_MAX]. */
static void __attribute__((format(printf, 3, 4)))
status_add(char *buf, size_t *len, const char *fmt, ...)
{
    size_t room = STATUS_MAX - *len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < room ? (size_t)n : room - 1;
}

static const char *op_name(sup_op_t op)
{
    switch (op) {
    case SUP_OP_RESTART:
        return "restarting children";
    case SUP_OP_TERMINATE:
        return "terminating a child";
    case SUP_OP_SHUTDOWN:
        return "shutting down";
    default:
        return "running";
    }
}

/* The status as OTP's supervisor shows it through sys:get_status: its
 * flags, the restarts in the period, the child counts, then each child. */
static void status_text(rt_actor_t *self, sup_state_t *s, char *buf)
{
    size_t len = 0, active = 0, sups = 0;
    char pb[32];
    for (size_t i = 0; i < s->kids.n; i++) {
        active += s->kids.v[i].pid != RT_PID_NONE;
        sups += s->kids.v[i].spec->type == SUP_SUPERVISOR;
    }
    buf[0] = '\0';
    status_add(buf, &len, "supervisor\nstatus: %s\nparent: %s", op_name(s->op),
               s->parent != RT_PID_NONE ? rt_pid_fmt(s->parent, pb, sizeof pb)
                                        : "none");
    status_add(buf, &len,
               "\nstrategy: %s\nintensity: %u restarts in %u ms (%u now)"
               "\nchildren: %zu specs, %zu active, %zu workers, "
               "%zu supervisors",
               strategy_names[s->spec->flags.strategy],
               s->spec->flags.intensity, s->period_ms,
               sup__restarts_in_period(self, s), s->kids.n, active,
               s->kids.n - sups, sups);
    for (size_t i = 0; i < s->kids.n; i++) {
        const sup_child_t *c = &s->kids.v[i];
        status_add(buf, &len, "\n  %s %s %s, restarts %u", c->id,
                   c->pid != RT_PID_NONE ? rt_pid_fmt(c->pid, pb, sizeof pb)
                                         : "(not running)",
                   restart_names[c->spec->restart], c->restarts);
    }
}

int sup__on_status(rt_actor_t *self, sup_state_t *s, rt_msg_t *m)
{
    rt_from_t caller = rt_msg_caller(m);
    if (caller.ref == 0)
        return 0;
    char *buf = sup__xmalloc(STATUS_MAX);
    status_text(self, s, buf);
    Cleo__Introspect__ActorStatus *pb = sup__xmalloc(sizeof *pb);
    cleo__introspect__actor_status__init(pb);
    pb->text = buf;
    rt_msg_t *r = rt_msg_new(RT_MSG_STATUS);
    rt_msg_set_pb(r, pb);
    (void)rt_reply(rt_actor_rt(self), caller, r);
    return 0;
}
