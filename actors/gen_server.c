/*
 * gen_server.c - OTP's gen_server as a runtime behaviour whose state wraps
 * the user's: calls (immediate or deferred replies), casts, infos, stop
 * requests, the parent's exit signal, and terminate on every stop.
 */
#include <stdlib.h>

#include "actors/gen.h"
#include "actors/gen_event.h"

typedef struct gs_s {
    const gen_server_cbs_t *cbs;
    void *state;     /* the user's, from init */
    rt_pid_t parent; /* the linked starter; RT_PID_NONE if none */
} gs_t;

typedef struct gs_start_s {
    const gen_server_cbs_t *cbs;
    void *arg;
    rt_pid_t parent;
} gs_start_t;

static int gs_init(rt_actor_t *self, void *arg)
{
    const gs_start_t *st = arg;
    gs_t *s = gen__xcalloc(sizeof *s);
    s->cbs = st->cbs;
    s->parent = st->parent;
    int rc = 0;
    if (s->cbs->init != NULL)
        rc = s->cbs->init(self, st->arg, &s->state);
    if (rc < 0) {
        /* No destroy runs after a failed init: free the wrapper here. */
        free(s);
        return rc;
    }
    rt_set_state(self, s);
    return 0;
}

/* A call: run handle_call and send the reply it made, unless deferred. */
static int on_call(rt_actor_t *self, gs_t *s, rt_msg_t *m, rt_from_t from)
{
    rt_msg_t *reply = NULL;
    int rc = s->cbs->handle_call(self, s->state, m, from, &reply);
    if (rc < 0 || rc == GEN_NOREPLY || (rc != 0 && rc != GEN_STOP)) {
        rt_msg_free(reply);
        return rc == GEN_NOREPLY ? 0 : rc < 0 ? rc : CLEO_EINVAL;
    }
    if (reply == NULL && rc == 0)
        reply = rt_msg_new(m->type);
    if (reply != NULL)
        (void)rt_reply(rt_actor_rt(self), from, reply);
    return rc == GEN_STOP ? RT_STOP : 0;
}

typedef struct gs_fmt_s {
    rt_actor_t *self;
    gs_t *s;
} gs_fmt_t;

static void fmt_state(void *ctx, char *p, size_t n)
{
    gs_fmt_t *f = ctx;
    f->s->cbs->format_status(f->self, f->s->state, p, n);
}

/* sys:get_status: the kind, module and parent, then format_status's
 * text. */
static int on_status(rt_actor_t *self, gs_t *s, rt_msg_t *m)
{
    char buf[GEN_STATUS_MAX];
    gen_sbuf_t b = {buf, 0, sizeof buf};
    bool mgr = gen_event__is_mgr(s->cbs);
    gen__status_head(&b, mgr ? "gen_event" : "gen_server",
                     mgr ? NULL : s->cbs->name, s->parent);
    if (s->cbs->format_status != NULL) {
        gen__sbuf_printf(&b, "\n%s", mgr ? "" : "state: ");
        gs_fmt_t f = {self, s};
        gen__sbuf_call(&b, fmt_state, &f);
    }
    (void)gen_status_reply(rt_actor_rt(self), rt_msg_caller(m), buf);
    return 0;
}

/* A message in the system range that the behaviour itself handles:
 * *rc is then the handler's result. Kept off the path of plain calls
 * and casts, which pay one comparison for all of it. */
static bool on_system(rt_actor_t *self, gs_t *s, rt_msg_t *m, int *rc)
{
    if (m->type == GEN_MSG_STOP) {
        *rc = gen__stop_rc(m->reason);
        return true;
    }
    /* OTP: a trapping server stops when its parent exits, with its
     * reason; this is how a supervisor shuts it down. */
    if (m->type == RT_MSG_EXIT && gen__from_parent(self, s->parent, m)) {
        *rc = gen__stop_rc(m->reason);
        return true;
    }
    if (gen__is_status(m)) {
        *rc = on_status(self, s, m);
        return true;
    }
    return false;
}

static int gs_handle(rt_actor_t *self, rt_msg_t *m)
{
    gs_t *s = rt_state(self);
    int rc;
    if (__builtin_expect(m->type >= RT_MSG_PROTO_BASE, 0) &&
        on_system(self, s, m, &rc))
        return rc;
    rt_from_t from = rt_msg_caller(m);
    if (from.ref != 0)
        return on_call(self, s, m, from);
    if (m->tag == GEN_TAG_CAST)
        return s->cbs->handle_cast != NULL
                   ? s->cbs->handle_cast(self, s->state, m)
                   : 0;
    return s->cbs->handle_info != NULL ? s->cbs->handle_info(self, s->state, m)
                                       : 0;
}

static void gs_destroy(rt_actor_t *self, int reason)
{
    gs_t *s = rt_state(self);
    if (s == NULL)
        return;
    if (s->cbs->terminate != NULL)
        s->cbs->terminate(self, s->state, reason);
    free(s);
    rt_set_state(self, NULL);
}

static size_t gs_memory(const rt_actor_t *self)
{
    return sizeof(gs_t);
}

static const rt_behaviour_t gs_tmpl = {
    .name = "gen_server",
    .init = gs_init,
    .handle = gs_handle,
    .destroy = gs_destroy,
    .memory = gs_memory,
    .sys_msgs = true,
};

int gen_server_start(rt_t *rt, rt_actor_t *self, const gen_server_cbs_t *cbs,
                     void *arg, const gen_opts_t *opts, rt_pid_t *out)
{
    if (rt == NULL || cbs == NULL || cbs->name == NULL ||
        cbs->handle_call == NULL)
        return CLEO_EINVAL;
    if (opts != NULL && opts->link && self == NULL)
        return CLEO_EINVAL;
    rt_spawn_opts_t so = gen__spawn_opts(opts);
    gs_start_t st = {cbs, arg,
                     so.flags & RT_SPAWN_LINK ? rt_self(self) : RT_PID_NONE};
    return rt_spawn(rt, self, gen__beh(cbs, cbs->name, &gs_tmpl), &st, &so,
                    out);
}

int gen_server_call(rt_actor_t *self, rt_pid_t to, rt_msg_t *req,
                    uint32_t timeout_ms, rt_reply_cb cb, void *data)
{
    return rt_call(self, to, req, timeout_ms, cb, data);
}

int gen_server_call_sync(rt_t *rt, rt_pid_t to, rt_msg_t *req,
                         uint32_t timeout_ms, rt_msg_t **reply)
{
    return rt_call_sync(rt, to, req, timeout_ms, reply);
}

int gen_server_cast(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    if (m == NULL)
        return CLEO_EINVAL;
    m->tag = GEN_TAG_CAST;
    return rt_send(rt, to, m);
}

int gen_server_reply(rt_t *rt, rt_from_t from, rt_msg_t *reply)
{
    return rt_reply(rt, from, reply);
}

int gen_server_stop_sync(rt_t *rt, rt_pid_t pid, int reason,
                         uint32_t timeout_ms)
{
    return gen__stop_sync(rt, pid, reason, timeout_ms);
}

int gen_server_stop(rt_t *rt, rt_pid_t pid, int reason)
{
    rt_msg_t *m = rt_msg_new(GEN_MSG_STOP);
    m->reason = reason;
    return rt_send(rt, pid, m);
}
