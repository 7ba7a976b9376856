/*
 * test_metrics_all.c - reading every counter at once (METRICS_MSG_ALL):
 * an empty list before any increment, every counter with its value sorted
 * by name, the same answer to an actor's asynchronous call, and
 * CLEO_ENOPROC without a server.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

TestSuite(metrics_all, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

Test(metrics_all, no_counters_is_an_empty_list)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    Cleo__Metrics__Counters *all = NULL;
    cr_assert_eq(metrics_all_sync(rtt_rt, &all), 0);
    cr_assert_not_null(all);
    cr_assert_eq(all->n_counters, 0);
    cleo__metrics__counters__free_unpacked(all, NULL);
}

Test(metrics_all, lists_every_counter_sorted_by_name)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    /* Names chosen to land out of order in the hash table. */
    static const char *names[] = {"zz.last", "gw.cache.miss", "a",
                                  "gw.cache.hit", "m.middle"};
    for (size_t i = 0; i < 5; i++)
        metrics_inc(rtt_rt, names[i], i + 1);
    metrics_inc(rtt_rt, "gw.cache.hit", 10);
    Cleo__Metrics__Counters *all = NULL;
    cr_assert_eq(metrics_all_sync(rtt_rt, &all), 0);
    cr_assert_eq(all->n_counters, 5);
    static const char *want[] = {"a", "gw.cache.hit", "gw.cache.miss",
                                 "m.middle", "zz.last"};
    static const uint64_t want_v[] = {3, 14, 2, 5, 1};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_str_eq(all->counters[i]->name, want[i]);
        cr_assert_eq(all->counters[i]->value, want_v[i], "%s", want[i]);
    }
    cleo__metrics__counters__free_unpacked(all, NULL);
}

Test(metrics_all, many_counters_are_all_listed)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "c.%04d", i);
        metrics_inc(rtt_rt, name, (uint64_t)i);
    }
    Cleo__Metrics__Counters *all = NULL;
    cr_assert_eq(metrics_all_sync(rtt_rt, &all), 0);
    cr_assert_eq(all->n_counters, 1000);
    for (size_t i = 0; i < all->n_counters; i++) {
        snprintf(name, sizeof name, "c.%04zu", i);
        cr_assert_str_eq(all->counters[i]->name, name);
        cr_assert_eq(all->counters[i]->value, i);
    }
    cleo__metrics__counters__free_unpacked(all, NULL);
}

/* An actor asks with a continuation, as the admin actor does. */
static atomic_int replies;
static atomic_uint_fast64_t seen_value;

static int on_all(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    const Cleo__Metrics__Counters *all = reply != NULL ? reply->payload : NULL;
    if (status == 0 && all != NULL &&
        all->base.descriptor == &cleo__metrics__counters__descriptor &&
        all->n_counters == 1 && strcmp(all->counters[0]->name, "x") == 0)
        atomic_store(&seen_value, all->counters[0]->value);
    atomic_fetch_add(&replies, 1);
    return RT_STOP;
}

static int asker_init(rt_actor_t *self, void *arg)
{
    rt_pid_t to = rt_whereis(rt_actor_rt(self), "metrics");
    return gen_server_call(self, to, rt_msg_new(METRICS_MSG_ALL), 5000, on_all,
                           NULL);
}

static int asker_handle(rt_actor_t *self, rt_msg_t *m)
{
    return 0;
}

static const rt_behaviour_t asker = {
    .name = "asker", .init = asker_init, .handle = asker_handle};

Test(metrics_all, an_actor_gets_the_list_through_a_continuation)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    metrics_inc(rtt_rt, "x", 42);
    uint64_t v = 0;
    cr_assert_eq(metrics_get_sync(rtt_rt, "x", &v), 0); /* x exists now */
    cr_assert_eq(v, 42);
    atomic_store(&replies, 0);
    atomic_store(&seen_value, 0);
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &asker, NULL, NULL, NULL), 0);
    for (int i = 0; i < 5000 && atomic_load(&replies) == 0; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(atomic_load(&replies), 1);
    cr_assert_eq(atomic_load(&seen_value), 42);
}

Test(metrics_all, without_a_server_is_enoproc)
{
    Cleo__Metrics__Counters *all = (void *)&all;
    cr_assert_eq(metrics_all_sync(rtt_rt, &all), CLEO_ENOPROC);
    cr_assert_eq(all, (void *)&all); /* untouched on failure */
    cr_assert_eq(metrics_all_sync(rtt_rt, NULL), CLEO_EINVAL);
}
