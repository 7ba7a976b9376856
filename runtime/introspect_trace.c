/*
 * introspect_trace.c - the tracer behind a TRACE request: an actor that
 * becomes the target's tracer, turns each RT_MSG_TRACE into a TraceEvent
 * for the server to stream, and after the requested seconds (or when the
 * target dies) stops tracing, tells the server to send TRACE_END, and
 * exits. Linked to the server, so it dies with it.
 */
#include "runtime/introspect.h"

#include <stdlib.h>

#include "runtime/pool.h"

#define TRACER_TIMEOUT 1u

typedef struct tracer_s {
    rt_pid_t server;
    rt_pid_t target;
    uint64_t conn;
    uint32_t seconds;
    bool done; /* tracing stopped */
} tracer_t;

/* Stop tracing the target if we are still its tracer. */
static void untrace(rt_actor_t *self, tracer_t *t)
{
    rt_actor_info_t info;
    rt_t *rt = rt_actor_rt(self);
    if (t->done)
        return;
    t->done = true;
    if (rt_actor_info(rt, t->target, &info) == 0 &&
        info.tracer == rt_self(self))
        (void)rt_trace(rt, t->target, RT_PID_NONE);
}

/* Takes arg (a tracer_t) whether it succeeds or not. */
static int tracer_init(rt_actor_t *self, void *arg)
{
    tracer_t *t = arg;
    rt_t *rt = rt_actor_rt(self);
    int rc = rt_trace(rt, t->target, rt_self(self));
    if (rc < 0) {
        free(t);
        return rc;
    }
    rt_set_state(self, t);
    rt_ref_t ref;
    if ((rc = rt_monitor(self, t->target, &ref)) == 0)
        rc = rt_send_after(rt, (uint64_t)t->seconds * 1000u, rt_self(self),
                           rt_msg_new(TRACER_TIMEOUT), NULL);
    if (rc < 0) {
        (void)rt_trace(rt, t->target, RT_PID_NONE);
        free(t);
        rt_set_state(self, NULL);
    }
    return rc;
}

static char *pid_dup(rt_pid_t pid)
{
    char b[32];
    return rt__isp_strdup(rt_pid_fmt(pid, b, sizeof b));
}

/* One handled message of the target: forward it as a TraceEvent. The
 * server's own handling of what we forward is skipped, or tracing the
 * server would feed itself forever. */
static int on_trace(rt_actor_t *self, tracer_t *t, const rt_msg_t *m)
{
    if (t->done || m->from != t->target || m->ref == rt_self(self))
        return 0;
    Cleo__Introspect__TraceEvent *ev = cleo_xcalloc(1, sizeof *ev);
    cleo__introspect__trace_event__init(ev);
    ev->pid = pid_dup(m->from);
    ev->from = m->ref != RT_PID_NONE ? pid_dup(m->ref) : rt__isp_strdup("");
    ev->type = (uint32_t)m->arg;
    ev->at_ms = rt_now_ms(rt_actor_rt(self));
    rt_msg_t *fw = rt_msg_new(RT__ISP_TRACE_EV);
    fw->arg = t->conn;
    rt_msg_set_pb(fw, ev);
    if (rt_send(rt_actor_rt(self), t->server, fw) < 0) {
        untrace(self, t);
        return RT_STOP;
    }
    return 0;
}

/* The time is up or the target died: stop and say so. */
static int on_end(rt_actor_t *self, tracer_t *t, bool died, int reason)
{
    untrace(self, t);
    rt_msg_t *end = rt_msg_new(RT__ISP_TRACE_END);
    end->arg = t->conn;
    end->ref = t->target;
    end->tag = died;
    end->reason = reason;
    (void)rt_send(rt_actor_rt(self), t->server, end);
    return RT_STOP;
}

static int tracer_handle(rt_actor_t *self, rt_msg_t *m)
{
    tracer_t *t = rt_state(self);
    switch (m->type) {
    case RT_MSG_TRACE:
        return on_trace(self, t, m);
    case RT_MSG_DOWN:
        return on_end(self, t, true, m->reason);
    case TRACER_TIMEOUT:
        return on_end(self, t, false, 0);
    case RT__ISP_TRACER_EXIT:
        untrace(self, t);
        return RT_STOP;
    }
    return 0;
}

static void tracer_destroy(rt_actor_t *self, int reason)
{
    tracer_t *t = rt_state(self);
    if (t == NULL)
        return;
    untrace(self, t);
    free(t);
}

static const rt_behaviour_t tracer_beh = {
    .name = "introspect_tracer",
    .init = tracer_init,
    .handle = tracer_handle,
    .destroy = tracer_destroy,
};

int rt__isp_tracer_start(rt_actor_t *self, uint64_t conn, rt_pid_t pid,
                         uint32_t seconds, rt_pid_t *out)
{
    tracer_t *t = cleo_xcalloc(1, sizeof *t);
    t->server = rt_self(self);
    t->target = pid;
    t->conn = conn;
    t->seconds = seconds;
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(self), self, &tracer_beh, t, &o, out);
}
