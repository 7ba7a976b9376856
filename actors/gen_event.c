/*
 * gen_event.c - OTP's gen_event: a manager (a gen_server) holding handlers
 * that each see every event in turn. A handler that asks to go, fails or
 * panics is removed and terminated; the manager and the other handlers go
 * on.
 */
#include "actors/gen_event.h"

#include <stdlib.h>
#include <string.h>

#include "actors/gen.h"

typedef struct ge_ent_s {
    const gen_event_handler_t *h;
    void *state; /* the handler's, from its init */
} ge_ent_t;

typedef struct ge_mgr_s {
    ge_ent_t *v; /* handlers in the order they were added */
    size_t n, cap;
} ge_mgr_t;

typedef struct ge_start_s {
    const gen_event_handler_t *h; /* NULL = none */
    void *arg;
} ge_start_t;

/* ---- guarded handler callbacks --------------------------------------- */

typedef struct ge_run_s {
    const gen_event_handler_t *h;
    void *arg;
    void **state;
    const rt_msg_t *ev;
    int reason;
} ge_run_t;

static int run_init(void *p)
{
    ge_run_t *r = p;
    return r->h->init(r->arg, r->state);
}

static int run_event(void *p)
{
    ge_run_t *r = p;
    return r->h->handle_event(*r->state, r->ev);
}

static int run_terminate(void *p)
{
    ge_run_t *r = p;
    r->h->terminate(*r->state, r->reason);
    return 0;
}

/* ---- the handler list -------------------------------------------------- */

static ge_ent_t *find(ge_mgr_t *g, const char *name, size_t *at)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->v[i].h->name, name) == 0) {
            if (at != NULL)
                *at = i;
            return &g->v[i];
        }
    return NULL;
}

/* Add h with init(arg). Returns 0, CLEO_EEXIST, CLEO_EINVAL or init's
 * error (CLEO_EPANIC if it panicked). */
static int add(ge_mgr_t *g, const gen_event_handler_t *h, void *arg)
{
    if (h == NULL || h->name == NULL || h->handle_event == NULL)
        return CLEO_EINVAL;
    if (find(g, h->name, NULL) != NULL)
        return CLEO_EEXIST;
    void *state = NULL;
    if (h->init != NULL) {
        ge_run_t r = {.h = h, .arg = arg, .state = &state};
        int rc = rt_guard(run_init, &r);
        if (rc < 0)
            return rc;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 4;
        ge_ent_t *v = realloc(g->v, g->cap * sizeof *v);
        if (v == NULL)
            abort(); /* a handful of fixed-size entries */
        g->v = v;
    }
    g->v[g->n++] = (ge_ent_t){h, state};
    return 0;
}

/* Remove the handler at i, running its terminate with reason. */
static void remove_at(ge_mgr_t *g, size_t i, int reason)
{
    ge_ent_t e = g->v[i];
    memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof *g->v);
    g->n--;
    if (e.h->terminate != NULL) {
        ge_run_t r = {.h = e.h, .state = &e.state, .reason = reason};
        (void)rt_guard(run_terminate, &r);
    }
}

/* Give ev to every handler, in order, dropping those that ask to go. */
static void deliver(ge_mgr_t *g, const rt_msg_t *ev)
{
    size_t i = 0;
    while (i < g->n) {
        ge_run_t r = {.h = g->v[i].h, .state = &g->v[i].state, .ev = ev};
        int rc = rt_guard(run_event, &r);
        if (rc == GEN_STOP || rc < 0)
            remove_at(g, i, rc == GEN_STOP ? RT_REASON_NORMAL : rc);
        else
            i++;
    }
}

/* ---- the manager as a gen_server --------------------------------------- */

static int mgr_init(rt_actor_t *self, void *arg, void **state)
{
    const ge_start_t *st = arg;
    ge_mgr_t *g = gen__xcalloc(sizeof *g);
    if (st != NULL && st->h != NULL) {
        int rc = add(g, st->h, st->arg);
        if (rc < 0) {
            free(g);
            return rc;
        }
    }
    *state = g;
    return 0;
}

static int mgr_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    ge_mgr_t *g = state;
    size_t at;
    *reply = rt_msg_new(req->type);
    switch (req->type) { /* size: dispatch */
    case GEN_EVENT_MSG_ADD:
        (*reply)->reason = add(g, (const gen_event_handler_t *)(uintptr_t)
                                      req->arg,
                               req->payload);
        return 0;
    case GEN_EVENT_MSG_DEL: {
        const gen_event_handler_t *h =
            (const gen_event_handler_t *)(uintptr_t)req->arg;
        if (h == NULL || h->name == NULL || find(g, h->name, &at) == NULL)
            (*reply)->reason = CLEO_ENOTFOUND;
        else
            remove_at(g, at, RT_REASON_NORMAL);
        return 0;
    }
    case GEN_EVENT_MSG_WHICH:
        (*reply)->arg = g->n;
        return 0;
    default: /* sync_notify: answer after every handler ran */
        deliver(g, req);
        return 0;
    }
}

static int mgr_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    ge_mgr_t *g = state;
    if (m->type == GEN_EVENT_MSG_ADD)
        (void)add(g, (const gen_event_handler_t *)(uintptr_t)m->arg,
                  m->payload);
    else
        deliver(g, m);
    return 0;
}

static int mgr_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    deliver(state, m);
    return 0;
}

static void mgr_terminate(rt_actor_t *self, void *state, int reason)
{
    ge_mgr_t *g = state;
    while (g->n > 0)
        remove_at(g, g->n - 1, reason);
    free(g->v);
    free(g);
}

static const gen_server_cbs_t mgr_cbs = {
    .name = "gen_event",
    .init = mgr_init,
    .handle_call = mgr_call,
    .handle_cast = mgr_cast,
    .handle_info = mgr_info,
    .terminate = mgr_terminate,
};

int gen_event__start_with(rt_t *rt, rt_actor_t *self, const gen_opts_t *opts,
                          const gen_event_handler_t *h, void *arg,
                          rt_pid_t *out)
{
    ge_start_t st = {h, arg};
    return gen_server_start(rt, self, &mgr_cbs, &st, opts, out);
}

int gen_event_start(rt_t *rt, rt_actor_t *self, const gen_opts_t *opts,
                    rt_pid_t *out)
{
    return gen_event__start_with(rt, self, opts, NULL, NULL, out);
}

static rt_msg_t *add_msg(const gen_event_handler_t *h, void *arg)
{
    rt_msg_t *m = rt_msg_new(GEN_EVENT_MSG_ADD);
    m->arg = (uint64_t)(uintptr_t)h;
    m->payload = arg; /* the handler's init arg; not owned */
    return m;
}

/* Call the manager and turn the reply's status into the result; *arg gets
 * the reply's arg (may be NULL). */
static int mgr_call_sync(rt_t *rt, rt_pid_t mgr, rt_msg_t *req,
                         uint32_t timeout_ms, uint64_t *arg)
{
    rt_msg_t *reply;
    int rc = rt_call_sync(rt, mgr, req, timeout_ms, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (arg != NULL)
        *arg = reply->arg;
    rt_msg_free(reply);
    return rc;
}

int gen_event_add_handler_sync(rt_t *rt, rt_pid_t mgr,
                               const gen_event_handler_t *h, void *arg)
{
    if (h == NULL || h->name == NULL || h->handle_event == NULL)
        return CLEO_EINVAL;
    return mgr_call_sync(rt, mgr, add_msg(h, arg), RT_INFINITY, NULL);
}

int gen_event_add_handler(rt_t *rt, rt_pid_t mgr,
                          const gen_event_handler_t *h, void *arg)
{
    if (h == NULL || h->name == NULL || h->handle_event == NULL)
        return CLEO_EINVAL;
    rt_msg_t *m = add_msg(h, arg);
    m->tag = GEN_TAG_CAST;
    return rt_send(rt, mgr, m);
}

int gen_event_delete_handler_sync(rt_t *rt, rt_pid_t mgr,
                                  const gen_event_handler_t *h)
{
    if (h == NULL || h->name == NULL)
        return CLEO_EINVAL;
    rt_msg_t *m = rt_msg_new(GEN_EVENT_MSG_DEL);
    m->arg = (uint64_t)(uintptr_t)h;
    return mgr_call_sync(rt, mgr, m, RT_INFINITY, NULL);
}

int gen_event_count_handlers_sync(rt_t *rt, rt_pid_t mgr)
{
    uint64_t n = 0;
    int rc = mgr_call_sync(rt, mgr, rt_msg_new(GEN_EVENT_MSG_WHICH),
                           RT_INFINITY, &n);
    return rc < 0 ? rc : (int)n;
}

int gen_event_notify(rt_t *rt, rt_pid_t mgr, rt_msg_t *ev)
{
    if (ev == NULL)
        return CLEO_EINVAL;
    ev->tag = GEN_TAG_CAST;
    return rt_send(rt, mgr, ev);
}

int gen_event_sync_notify(rt_t *rt, rt_pid_t mgr, rt_msg_t *ev,
                          uint32_t timeout_ms)
{
    if (ev == NULL)
        return CLEO_EINVAL;
    ev->tag = GEN_TAG_SYNC;
    return mgr_call_sync(rt, mgr, ev, timeout_ms, NULL);
}
