/*
 * table.h - the actor table: pid -> actor with generation checks and pins.
 *
 * Each slot has one 64-bit word: generation (24 bits) | ALIVE | CACHED |
 * pin count. A sender pins a slot by CAS-incrementing the count while the
 * generation matches and ALIVE is set; the actor's memory stays valid
 * while pinned.
 * The table itself holds one pin while the actor is alive. Death clears
 * ALIVE (no new pins); the last unpin reaps the actor and frees the slot
 * with the generation bumped, so a stale pid never reaches a new actor.
 *
 * Free slots: a shared stack under a lock, and in front of it one small
 * cache per scheduler (owner-only, no atomics), so that a spawn and a
 * reap on a scheduler take no lock. A slot taken on a scheduler (CACHED)
 * goes back to the cache of the scheduler that reaps it; one taken on
 * another thread goes back to the shared stack. The limit (max_actors) is
 * enforced on the live count, not on slot indexes: the table has room for
 * the limit plus every cache full, so a slot parked in one scheduler's
 * cache never makes a spawn elsewhere fail.
 */
#ifndef CLEO_RUNTIME_TABLE_H
#define CLEO_RUNTIME_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_slot_s {
    _Atomic uint64_t word;
    rt_actor_t *_Atomic actor;
} rt_slot_t;

/* Free slots a scheduler keeps for itself (owner only). */
#define RT_SLOT_CACHE 64

typedef struct rt_slot_cache_s {
    uint32_t n;
    uint32_t idx[RT_SLOT_CACHE];
} rt_slot_cache_t;

typedef struct rt_table_s {
    rt_slot_t *slots;      /* max entries, lazily touched pages */
    uint32_t max;          /* slot indexes: limit + room for caches */
    uint32_t limit;        /* live actors at most (opts.max_actors) */
    uint32_t cache_cap;    /* slots each scheduler cache may hold */
    uint16_t node;         /* node index of local pids */
    _Atomic uint32_t used; /* slots ever handed out (high-water) */
    _Atomic uint32_t live; /* slots in use (alive or not yet reaped) */
    pthread_mutex_t lock;  /* guards the free stack */
    uint32_t *free;        /* stack of free slot indexes */
    uint32_t nfree;
    rt_slot_cache_t *caches; /* RT_MAX_SCHED, by scheduler index */
} rt_table_t;

/* limit: live actors at most (<= RT_MAX_ACTORS_LIMIT). */
int rt__table_init(rt_table_t *t, uint32_t limit, uint16_t node);
void rt__table_destroy(rt_table_t *t);

/* Allocate a slot for a, alive with one pin (the table's).
 * @return 0 and the pid in *out, or CLEO_ELIMIT (limit actors live). */
int rt__table_add(rt_table_t *t, rt_actor_t *a, rt_pid_t *out);

/* Pin pid's actor. @return 0 and the actor (valid until rt__table_unpin)
 * in *out; CLEO_EBADPID (malformed/never valid) or CLEO_ENOPROC (dead). */
int rt__table_pin(rt_table_t *t, rt_pid_t pid, rt_actor_t **out);

/* Pin slot i's actor whatever its generation (for scans). NULL if free
 * or dead. */
rt_actor_t *rt__table_pin_slot(rt_table_t *t, uint32_t i);

/* Drop a pin; the last pin of a dead actor reaps it (rt__actor_reap). */
void rt__table_unpin(rt_table_t *t, rt_actor_t *a);

/* Mark dead: no new pins succeed. The table's own pin stays until
 * rt__table_unpin(). Owner only. */
void rt__table_mark_dead(rt_table_t *t, rt_actor_t *a);

/* 0 if pid is alive now, else CLEO_EBADPID or CLEO_ENOPROC. */
int rt__table_check(rt_table_t *t, rt_pid_t pid);

/* True if pid is alive now. */
bool rt__table_alive(rt_table_t *t, rt_pid_t pid);

/* Free a reaped actor's slot, bumping its generation. */
void rt__table_release(rt_table_t *t, rt_pid_t pid);

#endif
