/*
 * test_metrics.c - the metrics server: registered as "metrics", counters
 * created at zero by their first increment, increments from any thread
 * applied in order before a later read from the same thread.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define THREADS 4
#define INCS 1000

TestSuite(metrics, .init = rtt_setup, .fini = rtt_teardown, .timeout = 60);

Test(metrics, start_registers_metrics)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(metrics_start(rtt_rt, NULL, &pid), 0);
    cr_assert_eq(rt_whereis(rtt_rt, "metrics"), pid);
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), CLEO_EEXIST);
}

Test(metrics, an_unknown_counter_reads_zero)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    uint64_t v = 99;
    cr_assert_eq(metrics_get_sync(rtt_rt, "nope", &v), 0);
    cr_assert_eq(v, 0);
}

Test(metrics, increments_add_up_per_name)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    metrics_inc(rtt_rt, "puts", 1);
    metrics_inc(rtt_rt, "puts", 2);
    metrics_inc(rtt_rt, "bytes", 4096);
    uint64_t v = 0;
    cr_assert_eq(metrics_get_sync(rtt_rt, "puts", &v), 0);
    cr_assert_eq(v, 3);
    cr_assert_eq(metrics_get_sync(rtt_rt, "bytes", &v), 0);
    cr_assert_eq(v, 4096);
}

static void *inc_many(void *arg)
{
    for (int i = 0; i < INCS; i++)
        metrics_inc(rtt_rt, "hits", 1);
    return arg;
}

Test(metrics, increments_from_many_threads_are_all_counted)
{
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, inc_many, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t v = 0;
    for (int i = 0; i < 5000 && v < THREADS * INCS; i++) {
        cr_assert_eq(metrics_get_sync(rtt_rt, "hits", &v), 0);
        if (v < THREADS * INCS)
            rtt_sleep_ms(1);
    }
    cr_assert_eq(v, THREADS * INCS);
}

Test(metrics, without_a_server_inc_is_dropped_and_get_is_enoproc)
{
    metrics_inc(rtt_rt, "x", 1);
    uint64_t v = 7;
    cr_assert_eq(metrics_get_sync(rtt_rt, "x", &v), CLEO_ENOPROC);
    cr_assert_eq(v, 7);
    cr_assert_eq(metrics_get_sync(rtt_rt, NULL, &v), CLEO_EINVAL);
}

Test(metrics, counters_die_with_the_server)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(metrics_start(rtt_rt, NULL, &pid), 0);
    metrics_inc(rtt_rt, "x", 5);
    cr_assert_eq(gen_server_stop_sync(rtt_rt, pid, 0, 5000), 0);
    cr_assert_eq(metrics_start(rtt_rt, NULL, NULL), 0);
    uint64_t v = 1;
    cr_assert_eq(metrics_get_sync(rtt_rt, "x", &v), 0);
    cr_assert_eq(v, 0);
}
