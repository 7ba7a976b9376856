/*
 * det.c - deterministic mode (see det.h). Same seed, same schedule: every
 * choice comes from the PRNG, and nothing else runs concurrently (the
 * blocking pool runs jobs inline in this mode).
 */
#include "runtime/det.h"

#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

void rt__det_init(rt_det_t *d, uint64_t seed)
{
    *d = (rt_det_t){0};
    d->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

void rt__det_destroy(rt_det_t *d)
{
    free(d->v);
    d->v = NULL;
}

static uint64_t next_rand(rt_det_t *d)
{
    uint64_t x = d->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void rt__det_push(rt_t *rt, rt_actor_t *a)
{
    rt_det_t *d = &rt->det;
    rt__vec_push((void **)&d->v, &d->n, &d->cap, sizeof a, &a);
}

ssize_t rt_det_run(rt_t *rt, uint64_t max_steps)
{
    if (!rt->opts.deterministic)
        return CLEO_ESTATE;
    rt_det_t *d = &rt->det;
    uint64_t steps = 0;
    bool was = rt__tls_det;
    rt__tls_det = true;
    while (d->n > 0 && (max_steps == 0 || steps < max_steps)) {
        uint32_t i = (uint32_t)(next_rand(d) % d->n);
        rt_actor_t *a = d->v[i];
        d->v[i] = d->v[--d->n];
        uint32_t handled = 0;
        /* One message per step: the finest interleaving. */
        rt_turn_t r = rt__actor_turn(a, 1, &handled);
        rt__dist_flush_turn();
        if (r == RT__TURN_MORE)
            rt__det_push(rt, a);
        steps += handled;
    }
    rt__tls_det = was;
    return (ssize_t)steps;
}

int rt_det_advance(rt_t *rt, uint64_t ms)
{
    if (!rt->opts.deterministic)
        return CLEO_ESTATE;
    uint64_t target = rt->det.now + ms;
    for (;;) {
        (void)rt_det_run(rt, 0);
        uint64_t next = rt__timers_next(&rt->timers);
        if (next > target)
            break;
        if (next > rt->det.now)
            rt->det.now = next;
        (void)rt__timers_expire(&rt->timers, rt, rt->det.now);
    }
    rt->det.now = target;
    (void)rt_det_run(rt, 0);
    return 0;
}

bool rt__det_step(rt_t *rt, uint64_t *budget_ms)
{
    if (rt_det_run(rt, 0) > 0)
        return true;
    uint64_t next = rt__timers_next(&rt->timers);
    if (next == UINT64_MAX)
        return false;
    uint64_t wait = next > rt->det.now ? next - rt->det.now : 0;
    if (wait > *budget_ms)
        return false;
    *budget_ms -= wait;
    (void)rt_det_advance(rt, wait);
    return true;
}
