/*
 * gen.c - what the OTP behaviours share: allocation, the per-callback-table
 * runtime behaviours, stop reasons and the blocking stop.
 */
#include "actors/gen.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/introspect.pb-c.h"

void *gen__xcalloc(size_t n)
{
    return cleo_xcalloc(1, n); /* control structs (STYLE rule 26) */
}

char *gen__xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = gen__xcalloc(n);
    memcpy(p, s, n);
    return p;
}

/* A behaviour made for one callback table. The runtime needs an
 * rt_behaviour_t that outlives every actor using it, and introspection may
 * read its name while an actor dies, so entries are never freed: there is
 * one per static callback table in the program. */
typedef struct beh_ent_s {
    struct beh_ent_s *next;
    const void *key;    /* the user's callback table */
    rt_behaviour_t beh; /* tmpl with the user's name */
} beh_ent_t;

/* This is a type table, like Erlang's module table, not actor state: the
 * one lock in actors/ guards a list that only grows. */
static pthread_mutex_t beh_lock = PTHREAD_MUTEX_INITIALIZER;
static beh_ent_t *beh_head;

const rt_behaviour_t *gen__beh(const void *key, const char *name,
                               const rt_behaviour_t *tmpl)
{
    pthread_mutex_lock(&beh_lock);
    beh_ent_t *e = beh_head;
    while (e != NULL && !(e->key == key && e->beh.handle == tmpl->handle))
        e = e->next;
    if (e == NULL) {
        e = gen__xcalloc(sizeof *e);
        e->key = key;
        e->beh = *tmpl;
        e->beh.name = name;
        e->next = beh_head;
        beh_head = e;
    }
    pthread_mutex_unlock(&beh_lock);
    return &e->beh;
}

int gen__stop_rc(int reason)
{
    return reason < 0 ? reason : RT_STOP;
}

rt_spawn_opts_t gen__spawn_opts(const gen_opts_t *o)
{
    rt_spawn_opts_t so = {.sched = RT_SCHED_ANY};
    if (o == NULL)
        return so;
    so.name = o->name;
    so.sched = o->sched;
    so.trap_exit = o->trap_exit;
    so.mailbox_limit = o->mailbox_limit;
    so.flags = o->link ? RT_SPAWN_LINK : 0;
    return so;
}

int gen__await_down(rt_t *rt, rt_inbox_t *ib, rt_pid_t pid, uint32_t timeout_ms,
                    int *reason)
{
    uint64_t end = timeout_ms == RT_INFINITY
                       ? UINT64_MAX
                       : rt_now_ms(rt) + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = rt_now_ms(rt);
        uint32_t left = RT_INFINITY;
        if (end != UINT64_MAX)
            left = now >= end ? 0 : (uint32_t)(end - now);
        rt_msg_t *m;
        int rc = rt_inbox_recv(ib, left, &m);
        if (rc < 0)
            return rc;
        bool down = m->type == RT_MSG_DOWN && m->from == pid;
        if (down && reason != NULL)
            *reason = m->reason;
        rt_msg_free(m);
        if (down)
            return 0;
    }
}

int gen__stop_sync(rt_t *rt, rt_pid_t pid, int reason, uint32_t timeout_ms)
{
    rt_inbox_t *ib;
    if (rt_on_scheduler())
        return CLEO_EDEADLK;
    if (!rt_is_alive(rt, pid))
        return CLEO_ENOPROC;
    int rc = rt_inbox_new(rt, &ib);
    if (rc < 0)
        return rc;
    /* The monitor travels through the inbox's actor; if the server is gone
     * before it lands, the DOWN still comes, with reason noproc. */
    if ((rc = rt_inbox_monitor(ib, pid)) < 0)
        goto out;
    rt_msg_t *m = rt_msg_new(GEN_MSG_STOP);
    m->reason = reason;
    if ((rc = rt_send(rt, pid, m)) < 0)
        goto out;
    rc = gen__await_down(rt, ib, pid, timeout_ms, NULL);
out:
    rt_inbox_free(ib);
    return rc;
}

bool gen__from_parent(rt_actor_t *self, rt_pid_t parent, const rt_msg_t *m)
{
    if (parent == RT_PID_NONE)
        return false;
    if (m->from == parent)
        return true;
    return m->reason == RT_REASON_SHUTDOWN &&
           !rt_is_alive(rt_actor_rt(self), parent);
}

/* ---- sys:get_status ---------------------------------------------------- */

void gen__sbuf_printf(gen_sbuf_t *b, const char *fmt, ...)
{
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < room ? (size_t)n : room - 1;
}

typedef struct sbuf_run_s {
    void (*fn)(void *ctx, char *p, size_t n);
    void *ctx;
    char *p;
    size_t n;
} sbuf_run_t;

static int sbuf_run(void *arg)
{
    sbuf_run_t *r = arg;
    r->fn(r->ctx, r->p, r->n);
    return 0;
}

void gen__sbuf_call(gen_sbuf_t *b, void (*fn)(void *ctx, char *p, size_t n),
                    void *ctx)
{
    sbuf_run_t r = {fn, ctx, b->buf + b->len, b->cap - b->len};
    if (r.n < 2)
        return;
    r.p[0] = '\0';
    (void)rt_guard(sbuf_run, &r); /* a panic keeps what was written */
    r.p[r.n - 1] = '\0';
    b->len += strlen(r.p);
}

void gen__status_head(gen_sbuf_t *b, const char *kind, const char *module,
                      rt_pid_t parent)
{
    char pb[32];
    gen__sbuf_printf(b, "%s%s%s\nstatus: running\nparent: %s", kind,
                     module != NULL ? " " : "", module != NULL ? module : "",
                     parent != RT_PID_NONE ? rt_pid_fmt(parent, pb, sizeof pb)
                                           : "none");
}

bool gen__is_status(const rt_msg_t *m)
{
    return m->type == RT_MSG_STATUS && rt_msg_caller(m).ref != 0;
}

int gen_status_reply(rt_t *rt, rt_from_t from, const char *text)
{
    if (text == NULL)
        text = "";
    size_t n = strnlen(text, GEN_STATUS_MAX - 1);
    Cleo__Introspect__ActorStatus *st = gen__xcalloc(sizeof *st);
    cleo__introspect__actor_status__init(st);
    st->text = memcpy(gen__xcalloc(n + 1), text, n);
    rt_msg_t *r = rt_msg_new(RT_MSG_STATUS);
    rt_msg_set_pb(r, st);
    return rt_reply(rt, from, r);
}

const char *gen_status_text(const rt_msg_t *reply)
{
    const ProtobufCMessage *pb = reply != NULL ? reply->payload : NULL;
    if (pb == NULL || reply->payload_free == NULL ||
        pb->descriptor != &cleo__introspect__actor_status__descriptor)
        return NULL;
    return ((const Cleo__Introspect__ActorStatus *)pb)->text;
}

int gen_get_status_sync(rt_t *rt, rt_pid_t pid, uint32_t timeout_ms, char **out)
{
    rt_msg_t *reply;
    if (out == NULL)
        return CLEO_EINVAL;
    int rc =
        rt_call_sync(rt, pid, rt_msg_new(RT_MSG_STATUS), timeout_ms, &reply);
    if (rc < 0)
        return rc;
    const char *text = gen_status_text(reply);
    if (text != NULL)
        *out = gen__xstrdup(text);
    rt_msg_free(reply);
    return text != NULL ? 0 : CLEO_EPROTO;
}
