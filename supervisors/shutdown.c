/*
 * shutdown.c - the terminator state machine and the reaper actor.
 *
 * OTP's supervisor stops a child with monitor, unlink, exit(shutdown) and
 * a receive with a timeout. Here the receive is the owner's mailbox: the
 * owner passes DOWN and timer messages in, and a monitor that races with
 * the child's death still yields exactly one DOWN (reason noproc).
 */
#include "supervisors/shutdown.h"

#include <stdlib.h>
#include <string.h>

#include "supervisors/children.h"
#include "supervisors/sup.h"

void sup__term_init(sup_term_t *t)
{
    memset(t, 0, sizeof *t);
}

void sup__term_destroy(rt_t *rt, sup_term_t *t)
{
    if (t->timer != 0)
        (void)rt_timer_cancel(rt, t->timer);
    free(t->v);
    memset(t, 0, sizeof *t);
}

void sup__term_add(sup_term_t *t, rt_pid_t pid, uint32_t shutdown_ms)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->v = sup__xrealloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n++] = (sup_term_item_t){pid, shutdown_ms, 0};
}

bool sup__term_is_active(const sup_term_t *t)
{
    return t->active;
}

/* Arm the batch's timer: the longest finite shutdown in it, none if any
 * child may take forever or all are killed at once. */
static void arm_timer(rt_actor_t *self, sup_term_t *t)
{
    uint32_t ms = 0;
    for (size_t i = t->pos; i < t->end; i++) {
        uint32_t s = t->v[i].shutdown_ms;
        if (s == SUP_INFINITY)
            return;
        if (s > ms)
            ms = s;
    }
    if (ms == SUP_BRUTAL_KILL)
        return;
    rt_msg_t *m = rt_msg_new(SUP_MSG_TERM_TIMEOUT);
    m->arg = ++t->gen;
    if (rt_send_after(rt_actor_rt(self), ms, rt_self(self), m, &t->timer) < 0)
        t->timer = 0;
}

/* Signal every child of the next batch. */
static void start_batch(rt_actor_t *self, sup_term_t *t)
{
    rt_t *rt = rt_actor_rt(self);
    t->end = t->parallel ? t->n : t->pos + 1;
    t->left = t->end - t->pos;
    for (size_t i = t->pos; i < t->end; i++) {
        sup_term_item_t *it = &t->v[i];
        (void)rt_monitor(self, it->pid, &it->mon);
        (void)rt_unlink(self, it->pid);
        int reason = it->shutdown_ms == SUP_BRUTAL_KILL ? RT_REASON_KILL
                                                        : RT_REASON_SHUTDOWN;
        (void)rt_exit(rt, it->pid, reason);
    }
    arm_timer(self, t);
}

/* The batch is down: move on, or finish. Returns true when finished. */
static bool next_batch(rt_actor_t *self, sup_term_t *t)
{
    if (t->timer != 0) {
        (void)rt_timer_cancel(rt_actor_rt(self), t->timer);
        t->timer = 0;
    }
    t->pos = t->end;
    if (t->pos < t->n) {
        start_batch(self, t);
        return false;
    }
    t->active = false;
    t->n = t->pos = t->end = t->left = 0;
    return true;
}

bool sup__term_start(rt_actor_t *self, sup_term_t *t, bool parallel)
{
    t->parallel = parallel;
    t->pos = t->end = t->left = 0;
    if (t->n == 0)
        return true;
    t->active = true;
    start_batch(self, t);
    return false;
}

bool sup__term_on_down(rt_actor_t *self, sup_term_t *t, const rt_msg_t *m,
                       bool *done)
{
    *done = false;
    if (!t->active)
        return false;
    for (size_t i = t->pos; i < t->end; i++) {
        sup_term_item_t *it = &t->v[i];
        if (it->mon == 0 || it->mon != m->ref)
            continue;
        it->mon = 0;
        if (--t->left == 0)
            *done = next_batch(self, t);
        return true;
    }
    return false;
}

void sup__term_on_timeout(rt_actor_t *self, sup_term_t *t, const rt_msg_t *m)
{
    if (!t->active || t->timer == 0 || m->arg != t->gen)
        return; /* stale: its batch finished before the timer fired */
    t->timer = 0;
    for (size_t i = t->pos; i < t->end; i++)
        if (t->v[i].mon != 0)
            (void)rt_exit(rt_actor_rt(self), t->v[i].pid, RT_REASON_KILL);
}

/* ---- the reaper ------------------------------------------------------- */

static int reaper_init(rt_actor_t *self, void *arg)
{
    sup_term_t *t = sup__xmalloc(sizeof *t);
    *t = *(sup_term_t *)arg;
    rt_set_state(self, t);
    (void)sup__term_start(self, t, false);
    return 0;
}

static int reaper_handle(rt_actor_t *self, rt_msg_t *m)
{
    sup_term_t *t = rt_state(self);
    bool done = false;
    switch (m->type) {
    case RT_MSG_DOWN:
        (void)sup__term_on_down(self, t, m, &done);
        return done ? RT_STOP : 0;
    case SUP_MSG_TERM_TIMEOUT:
        sup__term_on_timeout(self, t, m);
        return 0;
    default:
        return 0;
    }
}

static void reaper_destroy(rt_actor_t *self, int reason)
{
    sup_term_t *t = rt_state(self);
    if (t == NULL)
        return;
    sup__term_destroy(rt_actor_rt(self), t);
    free(t);
}

static const rt_behaviour_t reaper_beh = {
    .name = "sup_reaper",
    .init = reaper_init,
    .handle = reaper_handle,
    .destroy = reaper_destroy,
};

int sup__reaper_start(rt_t *rt, sup_term_t *t, rt_pid_t *out)
{
    *out = RT_PID_NONE;
    if (t->n == 0)
        return 0;
    int rc = rt_spawn(rt, NULL, &reaper_beh, t, NULL, out);
    if (rc < 0) {
        /* No reaper: the children cannot be waited for, so kill them. */
        for (size_t i = 0; i < t->n; i++)
            (void)rt_exit(rt, t->v[i].pid, RT_REASON_KILL);
        free(t->v);
    }
    sup__term_init(t); /* the reaper owns the vector now */
    return rc;
}
