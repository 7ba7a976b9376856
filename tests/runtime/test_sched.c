/*
 * test_sched.c - scheduling: an actor queued behind a long-running handler
 * is stolen by an idle scheduler; a lone ping-pong pair is not split; a
 * pair that keeps each other runnable (each runs next, before the queue)
 * does not starve a queued actor; an idle scheduler looks for work a
 * moment before it sleeps, so work that comes microseconds later needs no
 * wake.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt.h"

#define MSG_GO 1
#define MSG_PING 2
#define MSG_PONG 3

static rt_t *rt;
static rt_inbox_t *ib;

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(rt_inbox_new(rt, &ib), 0);
}

static void teardown(void)
{
    rt_inbox_free(ib);
    rt_free(rt);
}

TestSuite(rt_sched, .init = setup, .fini = teardown);

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Answers a ping to the pid in arg. */
static int ponger(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *r = rt_msg_new(MSG_PONG);
    (void)rt_send(rt_actor_rt(self), (rt_pid_t)m->arg, r);
    return 0;
}
static const rt_behaviour_t ponger_beh = {.name = "ponger", .handle = ponger};

/* On GO: queue a ping for the ponger (on this scheduler), then hog the
 * thread for 300 ms, as a badly written handler would. */
static int hog(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *p = rt_msg_new(MSG_PING);
    p->arg = m->arg;
    (void)rt_send(rt_actor_rt(self), (rt_pid_t)m->ref, p);
    usleep(300 * 1000);
    return 0;
}
static const rt_behaviour_t hog_beh = {.name = "hog", .handle = hog};

Test(rt_sched, actor_behind_a_long_handler_is_stolen_by_an_idle_scheduler)
{
    rt_pid_t hogp, pong;
    cr_assert_eq(rt_spawn(rt, NULL, &hog_beh, NULL, NULL, &hogp), 0);
    cr_assert_eq(rt_spawn(rt, NULL, &ponger_beh, NULL, NULL, &pong), 0);
    usleep(20000); /* both schedulers asleep */
    rt_msg_t *go = rt_msg_new(MSG_GO);
    go->ref = pong;
    go->arg = rt_inbox_pid(ib);
    uint64_t t0 = now_ms();
    cr_assert_eq(rt_send(rt, hogp, go), 0);
    rt_msg_t *r;
    cr_assert_eq(rt_inbox_recv(ib, 2000, &r), 0);
    uint64_t dt = now_ms() - t0;
    cr_assert_eq(r->type, MSG_PONG);
    rt_msg_free(r);
    cr_assert_lt(dt, 150, "pong took %lu ms behind a 300 ms handler",
                 (unsigned long)dt);
    rt_stats_t st;
    rt_stats(rt, &st);
    cr_assert_geq(st.sched[0].steals + st.sched[1].steals, 1);
}

/* Bounces a counter with a peer until it reaches n, then reports. */
static int bouncer(rt_actor_t *self, rt_msg_t *m)
{
    rt_pid_t *peer = rt_state(self);
    if (m->type == MSG_GO) {
        *peer = (rt_pid_t)m->ref;
        return 0;
    }
    rt_msg_t *r = rt_msg_new(MSG_PING);
    r->arg = m->arg + 1;
    r->ref = m->ref;
    rt_pid_t to = m->arg + 1 >= 100000 ? (rt_pid_t)m->ref : *peer;
    (void)rt_send(rt_actor_rt(self), to, r);
    return 0;
}

static int bouncer_init(rt_actor_t *self, void *arg)
{
    static rt_pid_t peers[2];
    rt_set_state(self, &peers[(uintptr_t)arg]);
    return 0;
}
static const rt_behaviour_t bouncer_beh = {
    .name = "bouncer", .init = bouncer_init, .handle = bouncer};

Test(rt_sched, ping_pong_pair_finishes_and_counts_its_turns)
{
    rt_pid_t a, b;
    cr_assert_eq(rt_spawn(rt, NULL, &bouncer_beh, (void *)0, NULL, &a), 0);
    cr_assert_eq(rt_spawn(rt, NULL, &bouncer_beh, (void *)1, NULL, &b), 0);
    rt_msg_t *g = rt_msg_new(MSG_GO);
    g->ref = b;
    cr_assert_eq(rt_send(rt, a, g), 0);
    g = rt_msg_new(MSG_GO);
    g->ref = a;
    cr_assert_eq(rt_send(rt, b, g), 0);
    rt_msg_t *p = rt_msg_new(MSG_PING);
    p->ref = rt_inbox_pid(ib);
    cr_assert_eq(rt_send(rt, a, p), 0);
    rt_msg_t *r;
    cr_assert_eq(rt_inbox_recv(ib, 10000, &r), 0);
    cr_assert_eq(r->arg, 100000);
    rt_msg_free(r);
    rt_stats_t st;
    rt_stats(rt, &st);
    cr_assert_geq(st.sched[0].msgs + st.sched[1].msgs, 100000);
}

/* One scheduler: the pair bounces 100000 times, each made runnable by the
 * other's turn and run next; the ponger, queued meanwhile, must still get
 * its turn long before they finish (RT_NEXT_RUNS in sched.c). */
Test(rt_sched, a_pair_running_each_other_next_does_not_starve_the_queue)
{
    rt_t *r1;
    rt_inbox_t *ib1;
    rt_opts_t o = {.schedulers = 1};
    cr_assert_eq(rt_new(&o, &r1), 0);
    cr_assert_eq(rt_inbox_new(r1, &ib1), 0);
    rt_pid_t a, b, pong;
    cr_assert_eq(rt_spawn(r1, NULL, &bouncer_beh, (void *)0, NULL, &a), 0);
    cr_assert_eq(rt_spawn(r1, NULL, &bouncer_beh, (void *)1, NULL, &b), 0);
    cr_assert_eq(rt_spawn(r1, NULL, &ponger_beh, NULL, NULL, &pong), 0);
    rt_msg_t *g = rt_msg_new(MSG_GO);
    g->ref = b;
    cr_assert_eq(rt_send(r1, a, g), 0);
    g = rt_msg_new(MSG_GO);
    g->ref = a;
    cr_assert_eq(rt_send(r1, b, g), 0);
    rt_msg_t *p = rt_msg_new(MSG_PING);
    p->ref = rt_inbox_pid(ib1);
    cr_assert_eq(rt_send(r1, a, p), 0);
    p = rt_msg_new(MSG_PING);
    p->arg = rt_inbox_pid(ib1);
    cr_assert_eq(rt_send(r1, pong, p), 0);
    rt_msg_t *r;
    cr_assert_eq(rt_inbox_recv(ib1, 10000, &r), 0);
    cr_assert_eq(r->type, MSG_PONG, "the pair finished first (arg %llu)",
                 (unsigned long long)r->arg);
    rt_msg_free(r);
    cr_assert_eq(rt_inbox_recv(ib1, 10000, &r), 0);
    cr_assert_eq(r->arg, 100000);
    rt_msg_free(r);
    rt_inbox_free(ib1);
    rt_free(r1);
}

#define QUICK_N 200
static _Atomic uint32_t quick_handled;

/* Counts what it gets. */
static int counter(rt_actor_t *self, rt_msg_t *m)
{
    atomic_fetch_add(&quick_handled, 1);
    return 0;
}
static const rt_behaviour_t counter_beh = {.name = "counter",
                                           .handle = counter};

/* On GO (ref = the counter): QUICK_N times, send a ping, wait until it
 * was handled, then wait 10 us more (long enough for a scheduler that
 * sleeps at once to be asleep) before the next. Keeps this scheduler
 * awake meanwhile, so the other one has a reason to look for work. */
static int quick_sender(rt_actor_t *self, rt_msg_t *m)
{
    for (uint32_t i = 1; i <= QUICK_N; i++) {
        (void)rt_send(rt_actor_rt(self), (rt_pid_t)m->ref,
                      rt_msg_new(MSG_PING));
        uint64_t t0 = now_ms();
        while (atomic_load(&quick_handled) < i && now_ms() - t0 < 2000)
            ;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        do
            clock_gettime(CLOCK_MONOTONIC, &b);
        while ((b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec <
               10000);
    }
    (void)rt_send(rt_actor_rt(self), (rt_pid_t)m->arg, rt_msg_new(MSG_PONG));
    return 0;
}
static const rt_behaviour_t quick_sender_beh = {.name = "quick_sender",
                                                .handle = quick_sender};

Test(rt_sched, work_that_comes_microseconds_later_needs_no_wake)
{
    rt_spawn_opts_t on0 = {.sched = 0}, on1 = {.sched = 1};
    rt_pid_t snd, cnt;
    cr_assert_eq(rt_spawn(rt, NULL, &quick_sender_beh, NULL, &on0, &snd), 0);
    cr_assert_eq(rt_spawn(rt, NULL, &counter_beh, NULL, &on1, &cnt), 0);
    rt_stats_t before, after;
    rt_stats(rt, &before);
    rt_msg_t *go = rt_msg_new(MSG_GO);
    go->ref = cnt;
    go->arg = rt_inbox_pid(ib);
    cr_assert_eq(rt_send(rt, snd, go), 0);
    rt_msg_t *r;
    cr_assert_eq(rt_inbox_recv(ib, 10000, &r), 0);
    cr_assert_eq(r->type, MSG_PONG);
    rt_msg_free(r);
    rt_stats(rt, &after);
    cr_assert_eq(atomic_load(&quick_handled), QUICK_N);
    uint64_t sleeps = after.sched[1].sleeps - before.sched[1].sleeps;
    /* Without the spin it sleeps before every ping (about QUICK_N times);
     * with it, rarely. The bound leaves room for a loaded machine that
     * preempts the spinning thread. */
    cr_assert_lt(sleeps, QUICK_N * 3 / 4, "scheduler 1 slept %llu times in %d",
                 (unsigned long long)sleeps, QUICK_N);
}
