/*
 * test_uv.c - actors pinned to a scheduler own libuv handles on its loop;
 * a crash closes them through the actor's resource destructors.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "runtime/rt.h"

#define MSG_START 1
#define MSG_TICK 2
#define MSG_CRASH 3
#define MSG_REPORT 4

static rt_t *rt;
static rt_inbox_t *ib;
static _Atomic int closed;

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
    atomic_store(&closed, 0);
}

static void teardown(void)
{
    rt_inbox_free(ib);
    rt_free(rt);
}

typedef struct {
    uv_timer_t timer;
    rt_t *rt;
    rt_pid_t pid, report;
    int ticks;
    bool started; /* the timer's close callback frees this */
} ticker_t;

static void on_closed(uv_handle_t *h)
{
    free(h->data);
    atomic_fetch_add(&closed, 1);
}

/* Resource destructor: close the handle; memory goes in the close cb. */
static void close_timer(void *p)
{
    ticker_t *t = p;
    t->timer.data = t;
    uv_close((uv_handle_t *)&t->timer, on_closed);
}

/* Runs on the scheduler thread, outside the turn: only sends. */
static void on_uv_timer(uv_timer_t *h)
{
    ticker_t *t = h->data;
    (void)rt_send(t->rt, t->pid, rt_msg_new(MSG_TICK));
}

static int ticker_handle(rt_actor_t *self, rt_msg_t *m)
{
    ticker_t *t = rt_state(self);
    switch (m->type) {
    case MSG_START:
        cr_assert_not_null(rt_actor_loop(self));
        uv_timer_init(rt_actor_loop(self), &t->timer);
        t->timer.data = t;
        t->report = m->from;
        t->started = true;
        uv_timer_start(&t->timer, on_uv_timer, 5, 5);
        return rt_resource_add(self, close_timer, t, NULL);
    case MSG_TICK:
        if (++t->ticks == 3) {
            rt_msg_t *r = rt_msg_new(MSG_REPORT);
            r->arg = (uint64_t)t->ticks;
            (void)rt_send(rt_actor_rt(self), t->report, r);
        }
        return 0;
    case MSG_CRASH:
        cl_panic("crash with an open uv handle");
    }
    return 0;
}

static int ticker_init(rt_actor_t *self, void *arg)
{
    ticker_t *t = calloc(1, sizeof *t);
    t->rt = rt_actor_rt(self);
    t->pid = rt_self(self);
    rt_set_state(self, t);
    return 0;
}

/* A ticker whose timer never started frees its own state. */
static void ticker_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    ticker_t *t = rt_state(self);
    if (t != NULL && !t->started)
        free(t);
}

static const rt_behaviour_t ticker = {.name = "ticker",
                                      .init = ticker_init,
                                      .handle = ticker_handle,
                                      .destroy = ticker_destroy};

TestSuite(rt_uv, .init = setup, .fini = teardown);

Test(rt_uv, pinned_actor_owns_a_uv_timer_and_a_crash_closes_it)
{
    rt_spawn_opts_t o = {.sched = 1};
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &ticker, NULL, &o, &pid), 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
    cr_assert_eq(info.sched, 1);
    rt_msg_t *m = rt_msg_new(MSG_START);
    m->from = rt_inbox_pid(ib);
    cr_assert_eq(rt_send(rt, pid, m), 0);
    rt_msg_t *r;
    cr_assert_eq(rt_inbox_recv(ib, 2000, &r), 0);
    cr_assert_eq(r->type, MSG_REPORT);
    cr_assert_eq(r->arg, 3);
    rt_msg_free(r);
    cr_assert_eq(rt_inbox_monitor(ib, pid), 0);
    usleep(20000); /* let the monitor land before the crash */
    cr_assert_eq(rt_send(rt, pid, rt_msg_new(MSG_CRASH)), 0);
    cr_assert_eq(rt_inbox_recv(ib, 2000, &r), 0);
    cr_assert_eq(r->type, RT_MSG_DOWN);
    cr_assert_eq(r->reason, CLEO_EPANIC);
    rt_msg_free(r);
    for (int i = 0; i < 200 && atomic_load(&closed) == 0; i++)
        usleep(5000);
    cr_assert_eq(atomic_load(&closed), 1, "the handle was closed");
}

Test(rt_uv, unpinned_actor_has_no_loop)
{
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY};
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &ticker, NULL, &o, &pid), 0);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
    cr_assert_eq(info.sched, -1);
}
