/*
 * minisup.c - see minisup.h.
 */
#include "minisup.h"

#include <stdlib.h>
#include <string.h>

#include "proto/introspect.pb-c.h"

#define MINISUP_GO 1u

typedef struct {
    const minisup_spec_t *spec;
    rt_pid_t parent;
    rt_pid_t *pids;
    unsigned *restarts;
} minisup_t;

static int worker_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    (void)m;
    return 0;
}

static const rt_behaviour_t worker_beh = {.name = "test_worker",
                                          .handle = worker_handle};

int minisup_start_worker(rt_actor_t *sup, void *arg, rt_pid_t *out)
{
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .name = arg, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &worker_beh, NULL, &o, out);
}

int minisup_start_nested(rt_actor_t *sup, void *arg, rt_pid_t *out)
{
    const minisup_nested_t *n = arg;
    return minisup_start(rt_actor_rt(sup), sup, n->name, n->spec, out);
}

int minisup_start_introspect(rt_actor_t *sup, void *arg, rt_pid_t *out)
{
    return rt_introspect_start(rt_actor_rt(sup), sup, arg, out);
}

static char *sdup(const char *s)
{
    return strdup(s != NULL ? s : "");
}

/* The Children protobuf, all malloc'd (rt_msg_set_pb frees it). */
static Cleo__Introspect__Children *children_pb(const minisup_t *s)
{
    Cleo__Introspect__Children *c = calloc(1, sizeof *c);
    cleo__introspect__children__init(c);
    c->strategy = sdup("one_for_one");
    c->intensity = 1000;
    c->period_ms = 5000;
    c->child = calloc(s->spec->n + 1, sizeof *c->child);
    for (size_t i = 0; i < s->spec->n; i++) {
        Cleo__Introspect__Child *ch = calloc(1, sizeof *ch);
        cleo__introspect__child__init(ch);
        char b[32];
        ch->id = sdup(s->spec->kids[i].id);
        ch->pid = sdup(s->pids[i] ? rt_pid_fmt(s->pids[i], b, sizeof b) : "");
        ch->type = sdup(s->spec->kids[i].is_sup ? "supervisor" : "worker");
        ch->restart = sdup("permanent");
        ch->restarts = s->restarts[i];
        ch->behaviour = sdup("");
        c->child[c->n_child++] = ch;
    }
    return c;
}

static int on_exit_sig(rt_actor_t *self, minisup_t *s, rt_msg_t *m)
{
    if (m->from == s->parent && s->parent != RT_PID_NONE)
        return m->reason == 0 ? RT_STOP : m->reason;
    for (size_t i = 0; i < s->spec->n; i++) {
        if (s->pids[i] != m->from)
            continue;
        s->pids[i] = RT_PID_NONE;
        s->restarts[i]++;
        const minisup_child_t *k = &s->spec->kids[i];
        return k->start(self, k->arg, &s->pids[i]) < 0 ? RT_REASON_SHUTDOWN : 0;
    }
    return 0;
}

static int minisup_handle(rt_actor_t *self, rt_msg_t *m)
{
    minisup_t *s = rt_state(self);
    if (m->type == MINISUP_GO) {
        for (size_t i = 0; i < s->spec->n; i++) {
            const minisup_child_t *k = &s->spec->kids[i];
            int rc = k->start(self, k->arg, &s->pids[i]);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    if (m->type == RT_MSG_EXIT)
        return on_exit_sig(self, s, m);
    if (m->type == RT_MSG_WHICH_CHILDREN) {
        rt_msg_t *r = rt_msg_new(RT_MSG_WHICH_CHILDREN);
        rt_msg_set_pb(r, children_pb(s));
        (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
    }
    return 0;
}

static int minisup_init(rt_actor_t *self, void *arg)
{
    minisup_t *s = arg;
    rt_set_state(self, s);
    rt_trap_exit(self, true);
    return rt_send(rt_actor_rt(self), rt_self(self), rt_msg_new(MINISUP_GO));
}

static void minisup_destroy(rt_actor_t *self, int reason)
{
    minisup_t *s = rt_state(self);
    if (s == NULL)
        return;
    /* Children are linked and die with us (they do not trap exits). */
    for (size_t i = 0; i < s->spec->n; i++)
        if (s->pids[i] != RT_PID_NONE)
            (void)rt_exit(rt_actor_rt(self), s->pids[i], RT_REASON_SHUTDOWN);
    free(s->pids);
    free(s->restarts);
    free(s);
}

static const rt_behaviour_t minisup_beh = {.name = "supervisor",
                                           .init = minisup_init,
                                           .handle = minisup_handle,
                                           .destroy = minisup_destroy};

int minisup_start(rt_t *rt, rt_actor_t *self, const char *name,
                  const minisup_spec_t *spec, rt_pid_t *out)
{
    minisup_t *s = calloc(1, sizeof *s);
    s->spec = spec;
    s->parent = self != NULL ? rt_self(self) : RT_PID_NONE;
    s->pids = calloc(spec->n + 1, sizeof *s->pids);
    s->restarts = calloc(spec->n + 1, sizeof *s->restarts);
    rt_spawn_opts_t o = {.flags = self != NULL ? RT_SPAWN_LINK : 0,
                         .name = name,
                         .sched = RT_SCHED_ANY};
    int rc = rt_spawn(rt, self, &minisup_beh, s, &o, out);
    if (rc < 0) {
        free(s->pids);
        free(s->restarts);
        free(s);
    }
    return rc;
}
