/*
 * gen_statem.c - OTP's gen_statem in handle_event_function mode: state
 * enter calls, a state timeout cancelled by a state change, an event
 * timeout cancelled by any event, named generic timeouts, postponed
 * events re-delivered in order after the next state change, and calls
 * answered now or later.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/gen.h"

#define GSM_MAGIC 0x4753544du /* "GSTM": rt_state() is a gsm_t */

/* An event waiting in a queue: what it was classified as when it came. */
typedef struct gsm_ev_s {
    gen_statem_event_t type;
    rt_from_t from; /* GSM_CALL only */
    rt_msg_t *m;    /* owned by the queue */
} gsm_ev_t;

typedef struct gsm_q_s {
    gsm_ev_t *v;
    size_t n, cap;
} gsm_q_t;

typedef struct gsm_tmo_s {
    uint64_t name; /* > 0 */
    uint64_t gen;  /* the live timer's generation */
    rt_ref_t timer;
} gsm_tmo_t;

typedef struct gsm_s {
    uint32_t magic; /* GSM_MAGIC */
    const gen_statem_cbs_t *cbs;
    void *data;
    int state;
    rt_pid_t parent;        /* the linked starter; RT_PID_NONE if none */
    gen_statem_event_t cur; /* the event being handled; 0 = none */
    bool postpone;          /* the current event asked to be postponed */
    uint64_t seq;           /* last timer generation handed out */
    uint64_t st_gen;        /* the live state timeout; 0 = none */
    rt_ref_t st_timer;
    uint64_t ev_gen;   /* the live event timeout; 0 = none */
    rt_ref_t ev_timer; /* 0 for a time-out zero sent to self */
    rt_msg_t *ev_req;  /* an event timeout asked for in this turn,
                          armed when it ends; NULL = none */
    uint64_t ev_req_ms;
    bool in_turn;   /* inside init or a turn: requests wait */
    gsm_tmo_t *tmo; /* live generic timeouts */
    size_t ntmo, captmo;
    gsm_q_t postponed; /* waiting for a state change, in order */
    gsm_q_t ready;     /* re-delivered before the mailbox */
} gsm_t;

typedef struct gsm_start_s {
    const gen_statem_cbs_t *cbs;
    void *arg;
    rt_pid_t parent;
} gsm_start_t;

static void free_msg(void *p)
{
    rt_msg_free(p);
}

/* ---- queues ------------------------------------------------------------ */

static void q_push(gsm_q_t *q, gsm_ev_t ev)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        gsm_ev_t *v = cleo_xrealloc(q->v, q->cap * sizeof *v);
        q->v = v;
    }
    q->v[q->n++] = ev;
}

static gsm_ev_t q_shift(gsm_q_t *q)
{
    gsm_ev_t ev = q->v[0];
    memmove(&q->v[0], &q->v[1], (q->n - 1) * sizeof *q->v);
    q->n--;
    return ev;
}

/* dst = src ++ dst; src is left empty. */
static void q_prepend(gsm_q_t *dst, gsm_q_t *src)
{
    if (src->n == 0)
        return;
    for (size_t i = 0; i < dst->n; i++)
        q_push(src, dst->v[i]);
    free(dst->v);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

static void q_free(gsm_q_t *q)
{
    for (size_t i = 0; i < q->n; i++)
        rt_msg_free(q->v[i].m);
    free(q->v);
    memset(q, 0, sizeof *q);
}

/* ---- timers ------------------------------------------------------------ */

static gsm_t *self_gsm(rt_actor_t *self)
{
    gsm_t *s = rt_state(self);
    rt_assert(s != NULL && s->magic == GSM_MAGIC);
    return s;
}

/* The message a timer of kind carries for self: a GEN_MSG_TIMEOUT with
 * msg, stamped with a new generation so that one that fired before being
 * cancelled can be told stale. */
static rt_msg_t *timeout_msg(gsm_t *s, gen_statem_event_t kind, rt_msg_t *msg)
{
    rt_msg_t *c = rt_msg_new(GEN_MSG_TIMEOUT);
    c->reason = (int32_t)kind;
    c->arg = ++s->seq;
    c->payload = msg != NULL ? msg : rt_msg_new(0);
    c->payload_free = free_msg;
    return c;
}

/* Arm a timer of kind for self. */
static int arm(rt_actor_t *self, gsm_t *s, gen_statem_event_t kind, uint64_t ms,
               rt_msg_t *msg, rt_ref_t *timer)
{
    rt_msg_t *c = timeout_msg(s, kind, msg);
    return rt_send_after(rt_actor_rt(self), ms, rt_self(self), c, timer);
}

/* Cancel the live event timeout, and drop one asked for earlier in this
 * turn: an event arrived (OTP: "unless another event arrives or has
 * arrived", a retried postponed event included). */
static void cancel_event_timeout(rt_actor_t *self, gsm_t *s)
{
    if (s->ev_gen != 0 && s->ev_timer != 0)
        (void)rt_timer_cancel(rt_actor_rt(self), s->ev_timer);
    s->ev_gen = 0;
    s->ev_timer = 0;
    rt_msg_free(s->ev_req);
    s->ev_req = NULL;
}

/* Start the event timeout: a timer, or for time zero a message to self
 * (from init, or outside a turn), which any event handled before it
 * makes stale. A runtime shutting down starts none. */
static void arm_event_timeout(rt_actor_t *self, gsm_t *s, uint64_t ms,
                              rt_msg_t *msg)
{
    rt_t *rt = rt_actor_rt(self);
    rt_msg_t *c = timeout_msg(s, GSM_EVENT_TIMEOUT, msg);
    s->ev_gen = s->seq;
    s->ev_timer = 0;
    int rc = ms == 0 ? rt_send(rt, rt_self(self), c)
                     : rt_send_after(rt, ms, rt_self(self), c, &s->ev_timer);
    if (rc < 0)
        s->ev_gen = 0;
}

static void cancel_state_timeout(rt_actor_t *self, gsm_t *s)
{
    if (s->st_gen != 0)
        (void)rt_timer_cancel(rt_actor_rt(self), s->st_timer);
    s->st_gen = 0;
    s->st_timer = 0;
}

static gsm_tmo_t *find_tmo(gsm_t *s, uint64_t name)
{
    for (size_t i = 0; i < s->ntmo; i++)
        if (s->tmo[i].name == name)
            return &s->tmo[i];
    return NULL;
}

static void del_tmo(gsm_t *s, gsm_tmo_t *t)
{
    *t = s->tmo[--s->ntmo];
}

static gsm_tmo_t *add_tmo(gsm_t *s, uint64_t name)
{
    if (s->ntmo == s->captmo) {
        s->captmo = s->captmo ? s->captmo * 2 : 4;
        gsm_tmo_t *v = cleo_xrealloc(s->tmo, s->captmo * sizeof *v);
        s->tmo = v;
    }
    gsm_tmo_t *t = &s->tmo[s->ntmo++];
    memset(t, 0, sizeof *t);
    t->name = name;
    return t;
}

/* Release everything but the user's data; no callbacks run. */
static void gsm_free(rt_actor_t *self, gsm_t *s)
{
    cancel_state_timeout(self, s);
    cancel_event_timeout(self, s);
    for (size_t i = 0; i < s->ntmo; i++)
        (void)rt_timer_cancel(rt_actor_rt(self), s->tmo[i].timer);
    free(s->tmo);
    q_free(&s->postponed);
    q_free(&s->ready);
    free(s);
}

/* ---- events ------------------------------------------------------------ */

static int stop_rc(int rc)
{
    return rc < 0 ? rc : rc == GEN_STOP ? RT_STOP : 0;
}

/* The state enter call, if the callbacks asked for them. */
static int enter(rt_actor_t *self, gsm_t *s)
{
    if (!s->cbs->state_enter)
        return 0;
    int next = s->state;
    rt_from_t none = {0, 0, 0};
    s->cur = GSM_ENTER;
    int rc = s->cbs->handle_event(self, GSM_ENTER, NULL, none, s->state,
                                  s->data, &next);
    s->cur = 0;
    return stop_rc(rc);
}

/* Enter state next: cancel the old state's timeout unless the transition
 * just set one for the new state, run the enter call and put the
 * postponed events ahead of everything else. */
static int change(rt_actor_t *self, gsm_t *s, int next, uint64_t st_gen)
{
    s->state = next;
    if (s->st_gen != 0 && s->st_gen == st_gen)
        cancel_state_timeout(self, s);
    q_prepend(&s->ready, &s->postponed);
    return enter(self, s);
}

/* Keep a mailbox message for later: the runtime frees the header it
 * handed us, so a new one takes over the payload. */
static rt_msg_t *clone_msg(rt_msg_t *m)
{
    rt_msg_t *c = rt_msg_new(m->type);
    c->tag = m->tag;
    c->reason = m->reason;
    c->from = m->from;
    c->ref = m->ref;
    c->arg = m->arg;
    c->payload = m->payload;
    c->payload_free = m->payload_free;
    m->payload = NULL;
    return c;
}

/* Handle one event. owned: ev.m belongs to us (a re-delivery) rather than
 * to the runtime. *kept is set when ev.m went to the postponed queue. */
static int on_event(rt_actor_t *self, gsm_t *s, gsm_ev_t ev, bool owned,
                    bool *kept)
{
    int next = s->state;
    uint64_t st_gen = s->st_gen;
    cancel_event_timeout(self, s);
    s->cur = ev.type;
    s->postpone = false;
    int rc = s->cbs->handle_event(self, ev.type, ev.m, ev.from, s->state,
                                  s->data, &next);
    s->cur = 0;
    *kept = s->postpone;
    if (s->postpone) {
        if (!owned)
            ev.m = clone_msg(ev.m);
        q_push(&s->postponed, ev);
        s->postpone = false;
    }
    if ((rc = stop_rc(rc)) != 0)
        return rc;
    return next != s->state ? change(self, s, next, st_gen) : 0;
}

/* A timer fired: drop it if it was cancelled or replaced meanwhile. */
static int on_timeout(rt_actor_t *self, gsm_t *s, rt_msg_t *c)
{
    gen_statem_event_t kind = (gen_statem_event_t)c->reason;
    rt_msg_t *ev = c->payload;
    if (ev == NULL || c->from != rt_self(self))
        return 0; /* not one of our timers: a forged message, ignored */
    if (kind == GSM_STATE_TIMEOUT) {
        if (c->arg != s->st_gen)
            return 0;
        s->st_gen = 0;
        s->st_timer = 0;
    } else if (kind == GSM_EVENT_TIMEOUT) {
        if (c->arg != s->ev_gen)
            return 0;
        s->ev_gen = 0;
        s->ev_timer = 0;
    } else {
        gsm_tmo_t *t = find_tmo(s, ev->arg);
        if (t == NULL || t->gen != c->arg)
            return 0;
        del_tmo(s, t);
    }
    c->payload = NULL;
    bool kept;
    gsm_ev_t e = {kind, {0, 0, 0}, ev};
    int rc = on_event(self, s, e, true, &kept);
    rt_msg_free(ev); /* timeouts cannot be postponed */
    return rc;
}

/* A message from the mailbox, as a call, cast or info. */
static int on_msg(rt_actor_t *self, gsm_t *s, rt_msg_t *m)
{
    gsm_ev_t ev = {GSM_INFO, rt_msg_caller(m), m};
    bool kept;
    if (ev.from.ref != 0)
        ev.type = GSM_CALL;
    else if (m->tag == GEN_TAG_CAST)
        ev.type = GSM_CAST;
    return on_event(self, s, ev, false, &kept);
}

/* The event timeout asked for in this turn, delivered now (time zero,
 * before anything in the mailbox) or armed. */
static int fire_event_timeout(rt_actor_t *self, gsm_t *s, rt_msg_t *msg)
{
    bool kept;
    gsm_ev_t e = {GSM_EVENT_TIMEOUT, {0}, msg};
    int rc = on_event(self, s, e, true, &kept);
    rt_msg_free(msg); /* timeouts cannot be postponed */
    return rc;
}

/* End a turn: re-deliver what a state change released, ahead of the
 * mailbox (each such event cancels an event timeout asked for before
 * it), then start the event timeout the last callback asked for. */
static int end_turn(rt_actor_t *self, gsm_t *s, int rc)
{
    for (;;) {
        while (rc == 0 && s->ready.n > 0) {
            gsm_ev_t ev = q_shift(&s->ready);
            bool kept;
            rc = on_event(self, s, ev, true, &kept);
            if (!kept)
                rt_msg_free(ev.m);
        }
        if (rc != 0 || s->ev_req == NULL)
            return rc;
        rt_msg_t *msg = s->ev_req;
        s->ev_req = NULL;
        if (s->ev_req_ms != 0) {
            arm_event_timeout(self, s, s->ev_req_ms, msg);
            return 0;
        }
        rc = fire_event_timeout(self, s, msg);
    }
}

typedef struct gsm_fmt_s {
    rt_actor_t *self;
    gsm_t *s;
} gsm_fmt_t;

static void fmt_data(void *ctx, char *p, size_t n)
{
    gsm_fmt_t *f = ctx;
    f->s->cbs->format_status(f->self, f->s->state, f->s->data, p, n);
}

/* sys:get_status: the state, what waits, the live timeouts, then
 * format_status's text for the data. Not an event: it cancels no event
 * timeout. */
static int on_status(rt_actor_t *self, gsm_t *s, rt_msg_t *m)
{
    char buf[GEN_STATUS_MAX];
    gen_sbuf_t b = {buf, 0, sizeof buf};
    gen__status_head(&b, "gen_statem", s->cbs->name, s->parent);
    gen__sbuf_printf(&b,
                     "\nstate: %d\npostponed: %zu\ntimeouts: state %s, "
                     "event %s, generic %zu",
                     s->state, s->postponed.n, s->st_gen ? "on" : "off",
                     s->ev_gen ? "on" : "off", s->ntmo);
    if (s->cbs->format_status != NULL) {
        gen__sbuf_printf(&b, "\ndata: ");
        gsm_fmt_t f = {self, s};
        gen__sbuf_call(&b, fmt_data, &f);
    }
    (void)gen_status_reply(rt_actor_rt(self), rt_msg_caller(m), buf);
    return 0;
}

static int gsm_handle(rt_actor_t *self, rt_msg_t *m)
{
    gsm_t *s = rt_state(self);
    if (m->type == GEN_MSG_STOP)
        return gen__stop_rc(m->reason);
    if (m->type == RT_MSG_EXIT && gen__from_parent(self, s->parent, m))
        return gen__stop_rc(m->reason);
    if (gen__is_status(m))
        return on_status(self, s, m);
    s->in_turn = true;
    int rc = m->type == GEN_MSG_TIMEOUT ? on_timeout(self, s, m)
                                        : on_msg(self, s, m);
    rc = end_turn(self, s, rc);
    s->in_turn = false;
    return rc;
}

static int gsm_init(rt_actor_t *self, void *arg)
{
    const gsm_start_t *st = arg;
    gsm_t *s = gen__xcalloc(sizeof *s);
    s->magic = GSM_MAGIC;
    s->cbs = st->cbs;
    s->parent = st->parent;
    /* Set first: init and the enter call may already set timeouts. */
    rt_set_state(self, s);
    s->in_turn = true;
    int rc = s->cbs->init != NULL
                 ? s->cbs->init(self, st->arg, &s->data, &s->state)
                 : 0;
    if (rc >= 0 && (rc = enter(self, s)) < 0 && s->cbs->terminate != NULL)
        s->cbs->terminate(self, s->state, s->data, rc);
    s->in_turn = false;
    if (rc == 0 && s->ev_req != NULL) {
        rt_msg_t *msg = s->ev_req;
        s->ev_req = NULL;
        arm_event_timeout(self, s, s->ev_req_ms, msg);
    }
    if (rc < 0) {
        rt_set_state(self, NULL);
        gsm_free(self, s);
        return rc;
    }
    if (rc == RT_STOP) { /* the first enter call asked to stop */
        rt_msg_t *m = rt_msg_new(GEN_MSG_STOP);
        (void)rt_send(rt_actor_rt(self), rt_self(self), m);
    }
    return 0;
}

static void gsm_destroy(rt_actor_t *self, int reason)
{
    gsm_t *s = rt_state(self);
    if (s == NULL)
        return;
    if (s->cbs->terminate != NULL)
        s->cbs->terminate(self, s->state, s->data, reason);
    rt_set_state(self, NULL);
    gsm_free(self, s);
}

/* Called from other threads, even while the statem is being destroyed
 * (rt.h): the fixed part only, never the state. */
static size_t gsm_memory(const rt_actor_t *self)
{
    (void)self;
    return sizeof(gsm_t);
}

static const rt_behaviour_t gsm_tmpl = {
    .name = "gen_statem",
    .init = gsm_init,
    .handle = gsm_handle,
    .destroy = gsm_destroy,
    .memory = gsm_memory,
    .sys_msgs = true,
};

/* ---- public ------------------------------------------------------------ */

int gen_statem_start(rt_t *rt, rt_actor_t *self, const gen_statem_cbs_t *cbs,
                     void *arg, const gen_opts_t *opts, rt_pid_t *out)
{
    if (rt == NULL || cbs == NULL || cbs->name == NULL ||
        cbs->handle_event == NULL)
        return CLEO_EINVAL;
    if (opts != NULL && opts->link && self == NULL)
        return CLEO_EINVAL;
    rt_spawn_opts_t so = gen__spawn_opts(opts);
    gsm_start_t st = {cbs, arg,
                      so.flags & RT_SPAWN_LINK ? rt_self(self) : RT_PID_NONE};
    return rt_spawn(rt, self, gen__beh(cbs, cbs->name, &gsm_tmpl), &st, &so,
                    out);
}

int gen_statem_postpone(rt_actor_t *self)
{
    gsm_t *s = self_gsm(self);
    if (s->cur != GSM_CALL && s->cur != GSM_CAST && s->cur != GSM_INFO)
        return CLEO_ESTATE;
    s->postpone = true;
    return 0;
}

int gen_statem_state_timeout(rt_actor_t *self, uint64_t ms, rt_msg_t *msg)
{
    gsm_t *s = self_gsm(self);
    cancel_state_timeout(self, s);
    int rc = arm(self, s, GSM_STATE_TIMEOUT, ms, msg, &s->st_timer);
    if (rc < 0)
        return rc;
    s->st_gen = s->seq;
    return 0;
}

int gen_statem_event_timeout(rt_actor_t *self, uint64_t ms, rt_msg_t *msg)
{
    gsm_t *s = self_gsm(self);
    cancel_event_timeout(self, s); /* a new one replaces the old */
    if (ms == GEN_STATEM_INFINITY) {
        rt_msg_free(msg);
        return 0;
    }
    if (msg == NULL)
        msg = rt_msg_new(0);
    if (!s->in_turn) {
        arm_event_timeout(self, s, ms, msg);
        return 0;
    }
    s->ev_req = msg;
    s->ev_req_ms = ms;
    return 0;
}

int gen_statem_timeout(rt_actor_t *self, uint64_t name, uint64_t ms,
                       rt_msg_t *msg)
{
    gsm_t *s = self_gsm(self);
    if (name == 0) {
        rt_msg_free(msg);
        return CLEO_EINVAL;
    }
    if (msg == NULL)
        msg = rt_msg_new(0);
    msg->arg = name;
    gsm_tmo_t *t = find_tmo(s, name);
    if (t != NULL)
        (void)rt_timer_cancel(rt_actor_rt(self), t->timer);
    else
        t = add_tmo(s, name);
    int rc = arm(self, s, GSM_TIMEOUT, ms, msg, &t->timer);
    if (rc < 0) {
        del_tmo(s, t);
        return rc;
    }
    t->gen = s->seq;
    return 0;
}

int gen_statem_cancel_timeout(rt_actor_t *self, uint64_t name)
{
    gsm_t *s = self_gsm(self);
    gsm_tmo_t *t = find_tmo(s, name);
    if (t == NULL)
        return CLEO_ENOTFOUND;
    (void)rt_timer_cancel(rt_actor_rt(self), t->timer);
    del_tmo(s, t);
    return 0;
}

int gen_statem_reply(rt_t *rt, rt_from_t from, rt_msg_t *reply)
{
    return rt_reply(rt, from, reply);
}

int gen_statem_cast(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    if (m == NULL)
        return CLEO_EINVAL;
    m->tag = GEN_TAG_CAST;
    return rt_send(rt, to, m);
}

int gen_statem_state(rt_actor_t *self)
{
    return self_gsm(self)->state;
}
