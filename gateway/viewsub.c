/*
 * viewsub.c - the gw_view actor: keeps a cluster gateway's view (view.h)
 * up to date from the node's cluster agent.
 *
 * The agent starts after the roles (it is cleo_sup's last child), so the
 * actor looks for it on a timer, monitors it once found and subscribes
 * again when it is restarted. Each MGR agent state is published as a
 * snapshot; each member's distribution address is declared, so that a
 * storage node this node was never told of (cluster.nodes) can be
 * reached as soon as it is on the RING.
 *
 * It also answers GW_MSG_VIEW_WAIT: a bucket change the gateway proposed
 * is committed before this node's copy shows it (the proposal's answer
 * comes from the leader, the copy from the manager the agent follows),
 * so CreateBucket and DeleteBucket wait for the view to show their change
 * before answering: a client that goes on through the same gateway sees
 * it.
 */
#include "gateway/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"
#include "manager/contract.h"
#include "proto/storage.pb-c.h"

#define TICK_MS 250u     /* look for the agent, expire waiters */
#define CALL_MS 5000u    /* the subscribe call */
#define WAIT_MS 10000u   /* a waiter's longest wait */
#define WAITERS_MAX 4096 /* calls waiting at once; more are refused */

typedef struct {
    rt_from_t from;
    char name[64];
    bool exists;          /* wait until it exists (or until it is gone) */
    uint64_t deadline_ms; /* then answered CLEO_ETIMEDOUT */
} waiter_t;

typedef struct {
    const gw_conf_t *conf;
    rt_pid_t agent; /* monitored and subscribed to, or 0 */
    rt_ref_t agent_mon;
    bool sub_busy; /* a subscribe call is in flight */
    waiter_t *w;
    size_t nw, capw;
} view_actor_t;

/* ---- waiters ------------------------------------------------------------ */

static bool waiter_done(gw_view_t *v, const waiter_t *w)
{
    gw_snap_t *s = gw__view_get(v);
    bool has = s != NULL && gw__snap_bucket(s, w->name) != NULL;
    gw__snap_release(s);
    return s != NULL && has == w->exists;
}

static void waiter_answer(rt_actor_t *self, const waiter_t *w, int status)
{
    rt_msg_t *r = rt_msg_new(GW_MSG_VIEW_WAIT);
    r->reason = status;
    (void)rt_reply(rt_actor_rt(self), w->from, r);
}

/* Answer the waiters whose change the view shows, and those out of time. */
static void waiters_check(rt_actor_t *self)
{
    view_actor_t *a = rt_state(self);
    uint64_t now = rt_now_ms(rt_actor_rt(self));
    size_t k = 0;
    for (size_t i = 0; i < a->nw; i++) {
        waiter_t *w = &a->w[i];
        if (waiter_done(a->conf->view, w))
            waiter_answer(self, w, 0);
        else if (now >= w->deadline_ms)
            waiter_answer(self, w, CLEO_ETIMEDOUT);
        else
            a->w[k++] = *w;
    }
    a->nw = k;
}

static void on_wait(rt_actor_t *self, rt_msg_t *m)
{
    view_actor_t *a = rt_state(self);
    const ProtobufCMessage *pb = m->payload;
    waiter_t w = {.from = rt_msg_caller(m), .exists = m->arg != 0};
    if (pb == NULL ||
        pb->descriptor != &cleo__storage__bucket_req__descriptor) {
        waiter_answer(self, &w, CLEO_EBADREQ);
        return;
    }
    snprintf(w.name, sizeof w.name, "%s",
             ((const Cleo__Storage__BucketReq *)pb)->name);
    if (waiter_done(a->conf->view, &w)) {
        waiter_answer(self, &w, 0);
        return;
    }
    if (a->nw == WAITERS_MAX) {
        waiter_answer(self, &w, CLEO_ELIMIT);
        return;
    }
    if (a->nw == a->capw) {
        a->capw = a->capw ? 2 * a->capw : 16;
        a->w = cleo_xrealloc(a->w, a->capw * sizeof *a->w);
    }
    w.deadline_ms = rt_now_ms(rt_actor_rt(self)) + WAIT_MS;
    a->w[a->nw++] = w;
}

/* ---- the agent ------------------------------------------------------------
 */

static int on_subscribed(rt_actor_t *self, rt_msg_t *reply, int status,
                         void *data)
{
    (void)data;
    view_actor_t *a = rt_state(self);
    a->sub_busy = false;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    if (status < 0 && a->agent != RT_PID_NONE) {
        (void)rt_demonitor(self, a->agent_mon);
        a->agent = RT_PID_NONE; /* the next tick tries again */
    }
    return 0;
}

static void subscribe(rt_actor_t *self)
{
    view_actor_t *a = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    rt_pid_t to = rt_whereis(rt, MGR_AGENT_NAME);
    if (to == RT_PID_NONE || rt_monitor(self, to, &a->agent_mon) < 0)
        return;
    a->agent = to;
    rt_msg_t *m = rt_msg_new(CLEO__CLUSTER__AGENT_MSG_ID__AGENT_SUBSCRIBE);
    if (rt_call(self, to, m, CALL_MS, on_subscribed, NULL) == 0)
        a->sub_busy = true;
}

/* Declare each member's distribution address ("name@host:port"), so that
 * the RING's nodes can be reached by name. */
static void declare_members(rt_t *rt, const gw_snap_t *s)
{
    const char *self = rt_dist_name(rt);
    for (size_t i = 0; i < s->st->n_members; i++) {
        const Cleo__Cluster__Member *m = s->st->members[i];
        const char *colon = strrchr(m->address, ':');
        if (colon == NULL || (self != NULL && strcmp(m->node, self) == 0))
            continue;
        char peer[RING_NAME_MAX + 16];
        uint16_t idx;
        snprintf(peer, sizeof peer, "%s%s", m->node, colon);
        (void)rt_dist_node(rt, peer, &idx);
    }
}

static void on_state(rt_actor_t *self, rt_msg_t *m)
{
    view_actor_t *a = rt_state(self);
    rt_body_t *b = rt_msg_body(m);
    if (m->from != a->agent || b == NULL || b->buf == NULL)
        return;
    rt_t *rt = rt_actor_rt(self);
    int rc =
        gw__view_publish(a->conf->view, (const uint8_t *)rt_buf_data(b->buf),
                         rt_buf_len(b->buf));
    if (rc < 0) {
        logger_log(rt, LOG_WARNING, "gw_view: a cluster state was refused: %s",
                   cleo_strerror(rc));
        return;
    }
    gw_snap_t *s = gw__view_get(a->conf->view);
    declare_members(rt, s);
    gw__snap_release(s);
    waiters_check(self);
}

/* ---- the actor ------------------------------------------------------------
 */

static void tick(rt_actor_t *self)
{
    view_actor_t *a = rt_state(self);
    if (a->agent == RT_PID_NONE && !a->sub_busy)
        subscribe(self);
    if (a->nw > 0)
        waiters_check(self);
    (void)rt_send_after(rt_actor_rt(self), TICK_MS, rt_self(self),
                        rt_msg_new(GW_MSG_VIEW_TICK), NULL);
}

static int view_handle(rt_actor_t *self, rt_msg_t *m)
{
    view_actor_t *a = rt_state(self);
    switch (m->type) {
    case GW_MSG_VIEW_TICK:
        tick(self);
        return 0;
    case CLEO__CLUSTER__AGENT_MSG_ID__AGENT_STATE:
        on_state(self, m);
        return 0;
    case GW_MSG_VIEW_WAIT:
        on_wait(self, m);
        return 0;
    case RT_MSG_DOWN:
        if (m->ref == a->agent_mon && a->agent != RT_PID_NONE)
            a->agent = RT_PID_NONE; /* restarted: subscribe again */
        return 0;
    default:
        return 0;
    }
}

static int view_init(rt_actor_t *self, void *arg)
{
    view_actor_t *a = cleo_xcalloc(1, sizeof *a);
    a->conf = arg;
    rt_set_state(self, a);
    return rt_send(rt_actor_rt(self), rt_self(self),
                   rt_msg_new(GW_MSG_VIEW_TICK));
}

static void view_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    view_actor_t *a = rt_state(self);
    if (a == NULL)
        return;
    free(a->w); /* their calls fail with this actor's exit */
    free(a);
}

static const rt_behaviour_t view_beh = {
    .name = GW_VIEW_NAME,
    .init = view_init,
    .handle = view_handle,
    .destroy = view_destroy,
};

int gw_view_start(rt_actor_t *sup, const sup_child_spec_t *spec, void *extra,
                  rt_pid_t *out)
{
    const gw_conf_t *conf = spec->arg;
    (void)extra;
    if (conf == NULL || conf->view == NULL) {
        *out = RT_PID_NONE; /* no cluster: OTP's ignore */
        return 0;
    }
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .name = GW_VIEW_NAME, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &view_beh, (void *)conf, &o, out);
}
