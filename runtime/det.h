/*
 * det.h - deterministic mode: the caller's thread is the only scheduler,
 * the next actor is picked by a seeded PRNG, one message per step, and
 * time is a virtual clock moved only by rt_det_advance().
 */
#ifndef CLEO_RUNTIME_DET_H
#define CLEO_RUNTIME_DET_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_det_s {
    rt_actor_t **v; /* runnable actors, unordered */
    uint32_t n, cap;
    uint64_t rng; /* xorshift64* state, from opts.seed */
    uint64_t now; /* virtual ms */
} rt_det_t;

void rt__det_init(rt_det_t *d, uint64_t seed);
void rt__det_destroy(rt_det_t *d);
void rt__det_push(rt_t *rt, rt_actor_t *a);

/* Make progress for a waiter with budget_ms of virtual time left: run
 * runnable actors, else jump the clock to the next timer within budget.
 * Returns false if nothing can happen within the budget. */
bool rt__det_step(rt_t *rt, uint64_t *budget_ms);

#endif
