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
    void *state;    /* the handler's, from its init */
    rt_pid_t owner; /* who supervises it (add_sup_handler); 0 = none */
    rt_ref_t mon;   /* the manager's monitor of owner; 0 = none */
} ge_ent_t;

typedef struct ge_mgr_s {
    ge_ent_t *v; /* handlers in the order they were added */
    size_t n, cap;
} ge_mgr_t;

typedef struct ge_start_s {
    const gen_event_handler_t *h; /* NULL = none */
    void *arg;
} ge_start_t;

/* The payload of GEN_EVENT_MSG_ADD_SUP and GEN_EVENT_MSG_SWAP. */
typedef struct ge_req_s {
    const gen_event_handler_t *h;   /* ADD_SUP: to add; SWAP: the new one */
    void *arg;                      /* its init (or swap_in) argument */
    const gen_event_handler_t *old; /* SWAP: the one to replace */
    void *old_arg;                  /* SWAP: its swap_out argument */
    rt_pid_t owner; /* who supervises h; 0 = SWAP: old's owner, if any */
} ge_req_t;

/* ---- guarded handler callbacks --------------------------------------- */

typedef struct ge_run_s {
    const gen_event_handler_t *h;
    void *arg;
    void **state;
    const rt_msg_t *ev;
    int reason;
    bool swap;  /* init by swap_in, in a swap */
    int status; /* swap_in: how the swap_out went */
    void *term; /* swap_out's result / swap_in's argument */
    char *buf;  /* format_status */
    size_t len;
} ge_run_t;

static int run_init(void *p)
{
    ge_run_t *r = p;
    if (r->swap && r->h->swap_in != NULL)
        return r->h->swap_in(r->arg, r->status, r->term, r->state);
    return r->h->init != NULL ? r->h->init(r->arg, r->state) : 0;
}

static int run_event(void *p)
{
    ge_run_t *r = p;
    return r->h->handle_event(*r->state, r->ev);
}

static int run_terminate(void *p)
{
    ge_run_t *r = p;
    if (r->h->terminate != NULL)
        r->h->terminate(*r->state, r->reason);
    return 0;
}

static int run_swap_out(void *p)
{
    ge_run_t *r = p;
    r->term = r->h->swap_out(*r->state, r->arg);
    return 0;
}

static int run_format(void *p)
{
    ge_run_t *r = p;
    r->h->format_status(*r->state, r->buf, r->len);
    return 0;
}

/* ---- the handler list -------------------------------------------------- */

static bool valid(const gen_event_handler_t *h)
{
    return h != NULL && h->name != NULL && h->handle_event != NULL;
}

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

/* Put e at index i (<= g->n), after the handlers before it. */
static void insert_at(ge_mgr_t *g, size_t i, ge_ent_t e)
{
    if (g->n == g->cap) { /* a handful of fixed-size entries */
        size_t cap = g->cap ? g->cap * 2 : 4;
        ge_ent_t *v = gen__xcalloc(cap * sizeof *v);
        if (g->n > 0)
            memcpy(v, g->v, g->n * sizeof *v);
        free(g->v);
        g->v = v;
        g->cap = cap;
    }
    memmove(&g->v[i + 1], &g->v[i], (g->n - i) * sizeof *g->v);
    g->v[i] = e;
    g->n++;
}

/* Take the handler at i out of the list (no callback runs). */
static ge_ent_t take_at(ge_mgr_t *g, size_t i)
{
    ge_ent_t e = g->v[i];
    memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof *g->v);
    g->n--;
    return e;
}

/* Run h's init (or, in a swap, its swap_in). Returns 0 or its error
 * (CLEO_EPANIC if it panicked). */
static int init_handler(const gen_event_handler_t *h, void *arg, bool swap,
                        int status, void *term, void **state)
{
    ge_run_t r = {.h = h,
                  .arg = arg,
                  .state = state,
                  .swap = swap,
                  .status = status,
                  .term = term};
    *state = NULL;
    return rt_guard(run_init, &r);
}

/* Watch owner for e: when it dies, e goes (see on_owner_down). */
static void supervise(rt_actor_t *self, ge_ent_t *e, rt_pid_t owner)
{
    e->owner = owner;
    e->mon = 0;
    if (owner != RT_PID_NONE && rt_monitor(self, owner, &e->mon) < 0)
        e->mon = 0; /* a malformed pid: nobody to watch or to tell */
}

static void unsupervise(rt_actor_t *self, ge_ent_t *e)
{
    if (e->mon != 0)
        (void)rt_demonitor(self, e->mon);
    e->mon = 0;
}

/* Tell owner that handler h went, and why (OTP's gen_event_EXIT). */
static void tell(rt_actor_t *self, rt_pid_t owner, const gen_event_handler_t *h,
                 int reason, const gen_event_handler_t *to, rt_pid_t new_owner)
{
    if (owner == RT_PID_NONE)
        return;
    gen_event_exit_t *x = gen__xcalloc(sizeof *x);
    x->handler = h;
    x->swapped_to = to;
    x->new_owner = new_owner;
    rt_msg_t *m = rt_msg_new(GEN_EVENT_MSG_EXIT);
    m->reason = reason;
    m->arg = (uint64_t)(uintptr_t)h;
    m->payload = x;
    m->payload_free = free;
    (void)rt_send(rt_actor_rt(self), owner, m);
}

/* Add h with init(arg), supervised by owner (0 = none). Returns 0,
 * CLEO_EEXIST, CLEO_EINVAL or init's error (CLEO_EPANIC if it
 * panicked). */
static int add(rt_actor_t *self, ge_mgr_t *g, const gen_event_handler_t *h,
               void *arg, rt_pid_t owner)
{
    if (!valid(h))
        return CLEO_EINVAL;
    if (find(g, h->name, NULL) != NULL)
        return CLEO_EEXIST;
    ge_ent_t e = {h, NULL, RT_PID_NONE, 0};
    int rc = init_handler(h, arg, false, 0, NULL, &e.state);
    if (rc < 0)
        return rc;
    supervise(self, &e, owner);
    insert_at(g, g->n, e);
    return 0;
}

/* Run e's terminate with reason (it is out of the list already). */
static void terminate(ge_ent_t *e, int reason)
{
    ge_run_t r = {.h = e->h, .state = &e->state, .reason = reason};
    (void)rt_guard(run_terminate, &r);
}

/* Remove the handler at i: terminate with reason, and its owner is told
 * `why` (OTP: normal, shutdown, or the error). */
static void remove_at(rt_actor_t *self, ge_mgr_t *g, size_t i, int reason,
                      int why)
{
    ge_ent_t e = take_at(g, i);
    unsupervise(self, &e);
    terminate(&e, reason);
    tell(self, e.owner, e.h, why, NULL, RT_PID_NONE);
}

/* Give ev to every handler, in order, dropping those that ask to go. */
static void deliver(rt_actor_t *self, ge_mgr_t *g, const rt_msg_t *ev)
{
    size_t i = 0;
    while (i < g->n) {
        ge_run_t r = {.h = g->v[i].h, .state = &g->v[i].state, .ev = ev};
        int rc = rt_guard(run_event, &r);
        if (rc == GEN_STOP || rc < 0) {
            int why = rc == GEN_STOP ? RT_REASON_NORMAL : rc;
            remove_at(self, g, i, why, why);
        } else {
            i++;
        }
    }
}

/* A supervising owner died: its handlers go, terminated with its exit
 * reason; there is nobody left to tell. @return false if the DOWN was
 * not about an owner. */
static bool on_owner_down(ge_mgr_t *g, const rt_msg_t *m)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].mon != m->ref || m->ref == 0)
            continue;
        ge_ent_t e = take_at(g, i);
        terminate(&e, m->reason);
        return true;
    }
    return false;
}

/* ---- swap_handler ------------------------------------------------------ */

/* Take old out for a swap: its swap_out result (or NULL after its
 * terminate) goes to the new handler. @return swap_in's status: 0, or
 * CLEO_EPANIC if swap_out panicked. */
static int swap_out(ge_ent_t *old, void *arg, void **term)
{
    ge_run_t r = {.h = old->h,
                  .arg = arg,
                  .state = &old->state,
                  .reason = GEN_EVENT_SWAPPED};
    *term = NULL;
    if (old->h->swap_out == NULL) {
        terminate(old, GEN_EVENT_SWAPPED);
        return 0;
    }
    int rc = rt_guard(run_swap_out, &r);
    *term = rc < 0 ? NULL : r.term;
    return rc < 0 ? rc : 0;
}

/* OTP's swap_handler: in this one turn, so that no event falls between,
 * old goes (swap_out or terminate; its owner is told GEN_EVENT_SWAPPED)
 * and q->h comes in at its place, supervised by q->owner or else by
 * old's owner. old goes even if the new handler's init fails. */
static int swap(rt_actor_t *self, ge_mgr_t *g, const ge_req_t *q)
{
    if (!valid(q->h) || q->old == NULL || q->old->name == NULL)
        return CLEO_EINVAL;
    size_t at = g->n;
    ge_ent_t *old = find(g, q->old->name, &at);
    ge_ent_t *other = find(g, q->h->name, NULL);
    if (other != NULL && other != old)
        return CLEO_EEXIST;
    ge_ent_t e = {q->h, NULL, RT_PID_NONE, 0};
    int status = CLEO_ENOTFOUND;
    void *term = NULL;
    if (old != NULL) {
        ge_ent_t o = take_at(g, at);
        status = swap_out(&o, q->old_arg, &term);
        tell(self, o.owner, o.h, GEN_EVENT_SWAPPED, q->h, q->owner);
        if (q->owner == RT_PID_NONE) { /* the owner carries over */
            e.owner = o.owner;
            e.mon = o.mon;
        } else {
            unsupervise(self, &o);
        }
    }
    int rc = init_handler(q->h, q->arg, true, status, term, &e.state);
    if (rc < 0) {
        unsupervise(self, &e);
        return rc;
    }
    if (q->owner != RT_PID_NONE)
        supervise(self, &e, q->owner);
    insert_at(g, at, e);
    return 0;
}

/* ---- status ------------------------------------------------------------ */

/* The handlers, each with its owner and its own status text. */
static void format_status(rt_actor_t *self, void *state, char *buf, size_t len)
{
    ge_mgr_t *g = state;
    gen_sbuf_t b = {buf, 0, len};
    char pb[32];
    gen__sbuf_printf(&b, "handlers: %zu", g->n);
    for (size_t i = 0; i < g->n; i++) {
        const ge_ent_t *e = &g->v[i];
        gen__sbuf_printf(&b, "\n  %s", e->h->name);
        if (e->owner != RT_PID_NONE)
            gen__sbuf_printf(&b, " (supervised by %s)",
                             rt_pid_fmt(e->owner, pb, sizeof pb));
        if (e->h->format_status == NULL || b.cap - b.len < 4)
            continue;
        gen__sbuf_printf(&b, ": ");
        ge_run_t r = {.h = e->h,
                      .state = (void **)&e->state,
                      .buf = buf + b.len,
                      .len = b.cap - b.len};
        r.buf[0] = '\0';
        (void)rt_guard(run_format, &r); /* a panic leaves what it wrote */
        r.buf[r.len - 1] = '\0';
        b.len += strlen(r.buf);
    }
}

/* ---- the manager as a gen_server --------------------------------------- */

static int mgr_init(rt_actor_t *self, void *arg, void **state)
{
    const ge_start_t *st = arg;
    ge_mgr_t *g = gen__xcalloc(sizeof *g);
    if (st != NULL && st->h != NULL) {
        int rc = add(self, g, st->h, st->arg, RT_PID_NONE);
        if (rc < 0) {
            free(g);
            return rc;
        }
    }
    *state = g;
    return 0;
}

static const gen_event_handler_t *req_handler(const rt_msg_t *req)
{
    return (const gen_event_handler_t *)(uintptr_t)req->arg;
}

/* A management request, by call (status in the reply) or by cast
 * (ADD_SUP tells its owner of a failure). @return its status. */
static int on_request(rt_actor_t *self, ge_mgr_t *g, const rt_msg_t *req)
{
    const ge_req_t *q = req->payload;
    const gen_event_handler_t *h = req_handler(req);
    size_t at;
    switch (req->type) { /* size: dispatch */
    case GEN_EVENT_MSG_ADD:
        return add(self, g, h, req->payload, RT_PID_NONE);
    case GEN_EVENT_MSG_ADD_SUP:
        if (q == NULL || q->owner == RT_PID_NONE)
            return CLEO_EINVAL;
        return add(self, g, q->h, q->arg, q->owner);
    case GEN_EVENT_MSG_SWAP:
        return q != NULL ? swap(self, g, q) : CLEO_EINVAL;
    case GEN_EVENT_MSG_DEL:
        if (h == NULL || h->name == NULL || find(g, h->name, &at) == NULL)
            return CLEO_ENOTFOUND;
        remove_at(self, g, at, RT_REASON_NORMAL, RT_REASON_NORMAL);
        return 0;
    default:
        return CLEO_EINVAL;
    }
}

static bool is_request(uint32_t type)
{
    return type == GEN_EVENT_MSG_ADD || type == GEN_EVENT_MSG_ADD_SUP ||
           type == GEN_EVENT_MSG_SWAP || type == GEN_EVENT_MSG_DEL;
}

static int mgr_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    ge_mgr_t *g = state;
    *reply = rt_msg_new(req->type);
    if (is_request(req->type))
        (*reply)->reason = on_request(self, g, req);
    else if (req->type == GEN_EVENT_MSG_WHICH)
        (*reply)->arg = g->n;
    else /* sync_notify: answer after every handler ran */
        deliver(self, g, req);
    return 0;
}

static int mgr_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    ge_mgr_t *g = state;
    if (!is_request(m->type)) {
        deliver(self, g, m);
        return 0;
    }
    int rc = on_request(self, g, m);
    const ge_req_t *q = m->payload;
    if (rc < 0 && m->type == GEN_EVENT_MSG_ADD_SUP && q != NULL)
        tell(self, q->owner, q->h, rc, NULL, RT_PID_NONE);
    return 0;
}

static int mgr_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    if (m->type == RT_MSG_DOWN && on_owner_down(state, m))
        return 0;
    deliver(self, state, m);
    return 0;
}

/* OTP: the handlers are terminated with the manager's reason, and their
 * owners are told `shutdown`. */
static void mgr_terminate(rt_actor_t *self, void *state, int reason)
{
    ge_mgr_t *g = state;
    while (g->n > 0)
        remove_at(self, g, g->n - 1, reason, RT_REASON_SHUTDOWN);
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
    .format_status = format_status,
};

bool gen_event__is_mgr(const gen_server_cbs_t *cbs)
{
    return cbs == &mgr_cbs;
}

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

int gen_event_add_handler(rt_t *rt, rt_pid_t mgr, const gen_event_handler_t *h,
                          void *arg)
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

/* ---- supervised handlers and swaps ------------------------------------- */

static rt_msg_t *req_msg(uint32_t type, const gen_event_handler_t *h, void *arg,
                         rt_pid_t owner)
{
    ge_req_t *q = gen__xcalloc(sizeof *q);
    q->h = h;
    q->arg = arg;
    q->owner = owner;
    rt_msg_t *m = rt_msg_new(type);
    m->arg = (uint64_t)(uintptr_t)h;
    m->payload = q;
    m->payload_free = free;
    return m;
}

int gen_event_add_sup_handler_sync(rt_t *rt, rt_pid_t mgr,
                                   const gen_event_handler_t *h, void *arg,
                                   rt_pid_t owner)
{
    if (!valid(h) || owner == RT_PID_NONE)
        return CLEO_EINVAL;
    rt_msg_t *m = req_msg(GEN_EVENT_MSG_ADD_SUP, h, arg, owner);
    return mgr_call_sync(rt, mgr, m, RT_INFINITY, NULL);
}

int gen_event_add_sup_handler(rt_actor_t *self, rt_pid_t mgr,
                              const gen_event_handler_t *h, void *arg)
{
    if (self == NULL || !valid(h))
        return CLEO_EINVAL;
    rt_msg_t *m = req_msg(GEN_EVENT_MSG_ADD_SUP, h, arg, rt_self(self));
    m->tag = GEN_TAG_CAST;
    return rt_send(rt_actor_rt(self), mgr, m);
}

static int swap_sync(rt_t *rt, rt_pid_t mgr, const gen_event_handler_t *old,
                     void *old_arg, const gen_event_handler_t *h, void *arg,
                     rt_pid_t owner)
{
    if (old == NULL || old->name == NULL || !valid(h))
        return CLEO_EINVAL;
    rt_msg_t *m = req_msg(GEN_EVENT_MSG_SWAP, h, arg, owner);
    ge_req_t *q = m->payload;
    q->old = old;
    q->old_arg = old_arg;
    return mgr_call_sync(rt, mgr, m, RT_INFINITY, NULL);
}

int gen_event_swap_handler_sync(rt_t *rt, rt_pid_t mgr,
                                const gen_event_handler_t *old, void *old_arg,
                                const gen_event_handler_t *h, void *arg)
{
    return swap_sync(rt, mgr, old, old_arg, h, arg, RT_PID_NONE);
}

int gen_event_swap_sup_handler_sync(rt_t *rt, rt_pid_t mgr,
                                    const gen_event_handler_t *old,
                                    void *old_arg, const gen_event_handler_t *h,
                                    void *arg, rt_pid_t owner)
{
    if (owner == RT_PID_NONE)
        return CLEO_EINVAL;
    return swap_sync(rt, mgr, old, old_arg, h, arg, owner);
}
