/*
 * test_mbox.c - the intrusive MPSC mailbox: FIFO, the empty/scheduled tag,
 * and many producers against one consumer.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "../../runtime/mbox.c"

static rt_msg_t *node(uint64_t v)
{
    rt_msg_t *m = calloc(1, sizeof *m);
    m->arg = v;
    return m;
}

Test(rt_mbox, pop_on_empty_returns_null)
{
    rt_mbox_t q;
    rt_mbox_init(&q);
    cr_assert_null(rt_mbox_pop(&q));
    cr_assert_eq(rt_mbox_len(&q), 0);
}

Test(rt_mbox, first_push_reports_empty_then_not)
{
    rt_mbox_t q;
    rt_mbox_init(&q);
    cr_assert(rt_mbox_push(&q, node(1)));
    cr_assert_not(rt_mbox_push(&q, node(2)));
    cr_assert_eq(rt_mbox_len(&q), 2);
    free(rt_mbox_pop(&q));
    free(rt_mbox_pop(&q));
}

Test(rt_mbox, pops_in_fifo_order)
{
    rt_mbox_t q;
    rt_mbox_init(&q);
    for (uint64_t i = 0; i < 1000; i++)
        rt_mbox_push(&q, node(i));
    for (uint64_t i = 0; i < 1000; i++) {
        rt_msg_t *m = rt_mbox_pop(&q);
        cr_assert_not_null(m);
        cr_assert_eq(m->arg, i);
        free(m);
    }
    cr_assert_null(rt_mbox_pop(&q));
}

Test(rt_mbox, mark_empty_makes_next_push_schedule)
{
    rt_mbox_t q;
    rt_mbox_init(&q);
    cr_assert(rt_mbox_push(&q, node(1)));
    free(rt_mbox_pop(&q));
    cr_assert_null(rt_mbox_pop(&q));
    cr_assert(rt_mbox_mark_empty(&q));
    cr_assert(rt_mbox_push(&q, node(2)), "push after mark_empty schedules");
    free(rt_mbox_pop(&q));
}

Test(rt_mbox, mark_empty_fails_while_messages_wait)
{
    rt_mbox_t q;
    rt_mbox_init(&q);
    rt_mbox_push(&q, node(1));
    free(rt_mbox_pop(&q));
    rt_mbox_push(&q, node(2)); /* arrives after the pop saw none */
    cr_assert_not(rt_mbox_mark_empty(&q));
    rt_msg_t *m = rt_mbox_pop(&q);
    cr_assert_eq(m->arg, 2);
    free(m);
}

#define PRODUCERS 4
#define PER 50000

static rt_mbox_t shared;
static _Atomic int scheduled;

static void *producer(void *arg)
{
    uint64_t id = (uintptr_t)arg;
    for (uint64_t i = 0; i < PER; i++)
        if (rt_mbox_push(&shared, node(id << 32 | i)))
            atomic_fetch_add(&scheduled, 1);
    return NULL;
}

Test(rt_mbox, many_producers_keep_per_producer_order)
{
    pthread_t t[PRODUCERS];
    uint64_t next[PRODUCERS] = {0};
    rt_mbox_init(&shared);
    atomic_store(&scheduled, 0);
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, (void *)i);
    uint64_t got = 0;
    while (got < (uint64_t)PRODUCERS * PER) {
        rt_msg_t *m = rt_mbox_pop(&shared);
        if (m == NULL)
            continue;
        uint64_t id = m->arg >> 32, seq = m->arg & 0xFFFFFFFF;
        cr_assert_eq(seq, next[id], "producer %lu: got %lu want %lu",
                     (unsigned long)id, (unsigned long)seq,
                     (unsigned long)next[id]);
        next[id]++;
        got++;
        free(m);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&scheduled), 1, "exactly one push scheduled");
    cr_assert_null(rt_mbox_pop(&shared));
}
