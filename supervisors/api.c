/*
 * api.c - the functions of sup.h: starting a supervisor (checking its
 * spec first, so a bad one starts nothing) and the blocking management
 * calls, each one rt_call_sync() with a request of server.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisors/server.h"
#include "supervisors/sup.h"

/* ---- starting ------------------------------------------------------- */

static int spec_check(const sup_spec_t *spec)
{
    if (spec == NULL || (spec->nchildren > 0 && spec->children == NULL))
        return CLEO_EINVAL;
    if ((unsigned)spec->flags.strategy > SUP_SIMPLE_ONE_FOR_ONE)
        return CLEO_EINVAL;
    if (spec->flags.strategy == SUP_SIMPLE_ONE_FOR_ONE && spec->nchildren != 1)
        return CLEO_EINVAL;
    for (size_t i = 0; i < spec->nchildren; i++) {
        if (sup__child_spec_check(&spec->children[i]) < 0)
            return CLEO_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->children[i].id, spec->children[j].id) == 0)
                return CLEO_EINVAL;
    }
    return 0;
}

/* Wait until the reaper of a failed start has stopped every child, so
 * the failed start leaves nothing behind. Only where blocking is allowed:
 * on a scheduler thread the children stop asynchronously. */
static void wait_reaper(rt_t *rt, rt_pid_t reaper)
{
    rt_inbox_t *ib;
    if (reaper == RT_PID_NONE || rt_on_scheduler() || rt_inbox_new(rt, &ib) < 0)
        return;
    if (rt_inbox_monitor(ib, reaper) == 0) {
        for (;;) {
            rt_msg_t *m;
            if (rt_inbox_recv(ib, RT_INFINITY, &m) < 0)
                break;
            bool down = m->type == RT_MSG_DOWN && m->from == reaper;
            rt_msg_free(m);
            if (down)
                break;
        }
    }
    rt_inbox_free(ib);
}

int sup_start(rt_t *rt, rt_actor_t *self, const char *name,
              const sup_spec_t *spec, rt_pid_t *out)
{
    int rc = spec_check(spec);
    if (rc < 0)
        return rc;
    sup_init_t ia = {spec, self ? rt_self(self) : RT_PID_NONE, RT_PID_NONE};
    rt_spawn_opts_t o = {
        .flags = self ? RT_SPAWN_LINK : 0,
        .name = name,
        .sched = RT_SCHED_ANY,
        .trap_exit = true,
    };
    rc = rt_spawn(rt, self, &sup__behaviour, &ia, &o, out);
    if (rc < 0)
        wait_reaper(rt, ia.reaper);
    return rc;
}

int sup_start_child_sup(rt_actor_t *sup, const sup_child_spec_t *spec,
                        void *extra, rt_pid_t *out)
{
    const sup_child_sup_t *cs = spec != NULL ? spec->arg : NULL;
    if (cs == NULL)
        return CLEO_EINVAL;
    return sup_start(rt_actor_rt(sup), sup, cs->name, cs->spec, out);
}

/* ---- management calls ----------------------------------------------- */

/* Send a request and wait for the reply. The status is the reply's reason;
 * *reply_out (may be NULL) gets the reply on success. */
static int call(rt_t *rt, rt_pid_t sup, uint32_t type, sup_req_t *req,
                rt_msg_t **reply_out)
{
    rt_msg_t *m = rt_msg_new(type), *r = NULL;
    if (req != NULL) {
        m->payload = req;
        m->payload_free = free;
    }
    int rc = rt_call_sync(rt, sup, m, RT_INFINITY, &r);
    if (rc == 0)
        rc = r->reason;
    if (rc == 0 && reply_out != NULL)
        *reply_out = r;
    else
        rt_msg_free(r);
    return rc;
}

/* A request naming a child by id (NULL: none); NULL if the id is too
 * long or empty. */
static sup_req_t *req_new(const char *id, rt_pid_t pid)
{
    sup_req_t *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->pid = pid;
    if (id != NULL) {
        size_t len = strnlen(id, SUP_ID_MAX);
        if (len == 0 || len >= SUP_ID_MAX) {
            free(req);
            return NULL;
        }
        memcpy(req->id, id, len + 1);
        req->has_id = true;
    }
    return req;
}

int sup_start_child_sync(rt_t *rt, rt_pid_t sup, const sup_child_spec_t *spec,
                         void *extra, rt_pid_t *out)
{
    sup_req_t *req = req_new(NULL, RT_PID_NONE);
    if (req == NULL)
        return CLEO_ENOMEM;
    req->spec = spec;
    req->extra = extra;
    rt_msg_t *r = NULL;
    int rc = call(rt, sup, SUP_MSG_START_CHILD, req, &r);
    if (rc < 0)
        return rc;
    if (out != NULL)
        *out = r->arg;
    rt_msg_free(r);
    return 0;
}

int sup_terminate_child_sync(rt_t *rt, rt_pid_t sup, const char *id,
                             rt_pid_t pid)
{
    sup_req_t *req = req_new(id, pid);
    if (req == NULL)
        return CLEO_EINVAL;
    return call(rt, sup, SUP_MSG_TERMINATE_CHILD, req, NULL);
}

int sup_restart_child_sync(rt_t *rt, rt_pid_t sup, const char *id,
                           rt_pid_t *out)
{
    sup_req_t *req = id != NULL ? req_new(id, RT_PID_NONE) : NULL;
    if (req == NULL)
        return CLEO_EINVAL;
    rt_msg_t *r = NULL;
    int rc = call(rt, sup, SUP_MSG_RESTART_CHILD, req, &r);
    if (rc < 0)
        return rc;
    if (out != NULL)
        *out = r->arg;
    rt_msg_free(r);
    return 0;
}

int sup_delete_child_sync(rt_t *rt, rt_pid_t sup, const char *id)
{
    sup_req_t *req = id != NULL ? req_new(id, RT_PID_NONE) : NULL;
    if (req == NULL)
        return CLEO_EINVAL;
    return call(rt, sup, SUP_MSG_DELETE_CHILD, req, NULL);
}

int sup_which_children_sync(rt_t *rt, rt_pid_t sup, sup_child_info_t **out,
                            size_t *n)
{
    rt_msg_t *r = NULL;
    int rc = call(rt, sup, SUP_MSG_WHICH, NULL, &r);
    if (rc < 0)
        return rc;
    *out = r->payload;
    *n = (size_t)r->arg;
    r->payload = NULL; /* the caller frees it */
    r->payload_free = NULL;
    rt_msg_free(r);
    return 0;
}

int sup_count_children_sync(rt_t *rt, rt_pid_t sup, sup_counts_t *out)
{
    rt_msg_t *r = NULL;
    int rc = call(rt, sup, SUP_MSG_COUNT, NULL, &r);
    if (rc < 0)
        return rc;
    *out = *(sup_counts_t *)r->payload;
    rt_msg_free(r);
    return 0;
}
