/*
 * test_pool.c - the block pool's shared depot: a thread that frees more
 * blocks than it keeps hands whole batches to the depot, a thread that
 * runs dry takes them back (the same blocks, not fresh mallocs), and an
 * exiting thread's batches are kept rather than lost. Skipped in builds
 * that link the plain-malloc pool (sanitizers).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "runtime/pool.h"

#define SIZE 64
#define N 12000 /* more than a thread keeps (4096 blocks + one batch) */

static void *blocks[N];

static void skip_without_pool(void)
{
    if (rt__pool_depot_batches(SIZE) < 0)
        cr_skip_test("this build has no pool (plain malloc)");
}

/* Allocate N blocks on the calling thread. */
static void *alloc_all(void *unused)
{
    (void)unused;
    for (int i = 0; i < N; i++)
        blocks[i] = rt__pool_alloc(SIZE);
    return NULL;
}

/* Free the N blocks on the calling thread; the thread then exits. */
static void *free_all(void *unused)
{
    (void)unused;
    for (int i = 0; i < N; i++)
        rt__pool_free(SIZE, blocks[i]);
    return NULL;
}

/* One block allocated on a fresh thread. */
static void *alloc_one(void *out)
{
    *(void **)out = rt__pool_alloc(SIZE);
    return NULL;
}

static void on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fn, arg), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
}

static bool is_one_of_the_blocks(void *p)
{
    for (int i = 0; i < N; i++)
        if (blocks[i] == p)
            return true;
    return false;
}

Test(rt_pool, a_thread_that_frees_more_than_it_keeps_fills_the_depot)
{
    skip_without_pool();
    int before = rt__pool_depot_batches(SIZE);
    on_thread(alloc_all, NULL);
    on_thread(free_all, NULL);
    /* The batches beyond what the freeing thread keeps went to the depot
     * while it ran, and the ones it kept when it exited. */
    int after = rt__pool_depot_batches(SIZE);
    cr_assert_geq(after - before, N / 256 - 1, "depot %d -> %d", before, after);
}

Test(rt_pool, a_thread_that_runs_dry_takes_a_batch_from_the_depot)
{
    skip_without_pool();
    on_thread(alloc_all, NULL);
    on_thread(free_all, NULL);
    int before = rt__pool_depot_batches(SIZE);
    cr_assert_gt(before, 0);
    void *p = NULL;
    on_thread(alloc_one, &p);
    cr_assert(is_one_of_the_blocks(p), "a fresh malloc, not a pooled block");
    /* The taker kept the rest of its batch in its current list, which
     * goes back to malloc when it exits: one batch less. */
    cr_assert_eq(rt__pool_depot_batches(SIZE), before - 1);
    rt__pool_free(SIZE, p);
}

Test(rt_pool, blocks_above_the_largest_class_bypass_the_pool)
{
    void *p = rt__pool_alloc(RT_POOL_MAX + 1);
    cr_assert_not_null(p);
    rt__pool_free(RT_POOL_MAX + 1, p);
    rt__pool_free(SIZE, NULL); /* accepted, as free(NULL) */
}
