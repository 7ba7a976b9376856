/*
 * pool.c - per-thread size-class free lists (64..512 bytes) with a shared
 * depot, after Bonwick's magazines.
 *
 * Each thread keeps, per class, a current list of up to BATCH blocks and
 * up to LOCAL full batches. A thread that frees more than it allocates (a
 * scheduler where actors die, say, while another spawns them) hands whole
 * batches to the depot under one lock per BATCH blocks, and a thread whose
 * lists run dry takes a batch back the same way, instead of a malloc or a
 * free per block. The depot is bounded (about 1 MiB per class); beyond it
 * batches go back to malloc. Thread exit flushes the thread's lists to the
 * depot (or malloc) through a pthread key destructor.
 */
#include "runtime/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NCLASS 4  /* 64, 128, 256, 512 */
#define BATCH 256 /* blocks per batch */
#define LOCAL 16  /* full batches a thread keeps per class (4096 blocks) */
#define DEPOT 64  /* depot batches of class 0; class c keeps DEPOT >> c */

typedef struct block_s {
    struct block_s *next;
} block_t;

/* A full batch: BATCH blocks chained through next; its first block also
 * links the batches of a stack. */
typedef struct batch_s {
    block_t first;
    struct batch_s *next_batch;
} batch_t;

typedef struct {
    block_t *cur[NCLASS];  /* the current list */
    uint32_t len[NCLASS];  /* blocks in cur */
    batch_t *full[NCLASS]; /* full batches, a stack */
    uint32_t nfull[NCLASS];
    int registered;
} cache_t;

static __thread cache_t cache;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static struct {
    pthread_mutex_t lock; /* guards the stacks and counts */
    batch_t *top[NCLASS];
    uint32_t n[NCLASS];
} depot = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int size_class(size_t size)
{
    if (size <= 64)
        return 0;
    if (size <= 128)
        return 1;
    if (size <= 256)
        return 2;
    return 3;
}

/* Free a chain of blocks to malloc. */
static void free_chain(block_t *b)
{
    while (b != NULL) {
        block_t *next = b->next;
        free(b);
        b = next;
    }
}

/* Give a full batch to the depot, or to malloc if the depot is full. */
static void depot_put(int c, batch_t *bt)
{
    pthread_mutex_lock(&depot.lock);
    if (depot.n[c] < (uint32_t)(DEPOT >> c)) {
        bt->next_batch = depot.top[c];
        depot.top[c] = bt;
        depot.n[c]++;
        bt = NULL;
    }
    pthread_mutex_unlock(&depot.lock);
    if (bt != NULL)
        free_chain(&bt->first);
}

/* Take a full batch from the depot, or NULL. */
static batch_t *depot_take(int c)
{
    pthread_mutex_lock(&depot.lock);
    batch_t *bt = depot.top[c];
    if (bt != NULL) {
        depot.top[c] = bt->next_batch;
        depot.n[c]--;
    }
    pthread_mutex_unlock(&depot.lock);
    return bt;
}

static void flush_cache(void *unused)
{
    (void)unused;
    for (int c = 0; c < NCLASS; c++) {
        free_chain(cache.cur[c]);
        cache.cur[c] = NULL;
        cache.len[c] = 0;
        while (cache.full[c] != NULL) {
            batch_t *bt = cache.full[c];
            cache.full[c] = bt->next_batch;
            depot_put(c, bt);
        }
        cache.nfull[c] = 0;
    }
}

static void make_key(void)
{
    pthread_key_create(&key, flush_cache);
}

static __attribute__((noinline)) void hold_slow(void)
{
    pthread_once(&once, make_key);
    pthread_setspecific(key, &cache);
    cache.registered = 1;
}

/* Register the destructor once per thread, before it first holds blocks,
 * so that they are returned when the thread exits. */
static inline void hold(void)
{
    if (!cache.registered)
        hold_slow();
}

/* Refill cur[c] from a local full batch or the depot. False if neither
 * had one. Out of line: the fast paths stay small. */
static __attribute__((noinline)) bool refill(int c)
{
    batch_t *bt = cache.full[c];
    if (bt != NULL) {
        cache.full[c] = bt->next_batch;
        cache.nfull[c]--;
    } else if ((bt = depot_take(c)) == NULL) {
        return false;
    } else {
        hold();
    }
    cache.cur[c] = &bt->first;
    cache.len[c] = BATCH;
    return true;
}

void *rt__pool_alloc(size_t size)
{
    if (size > RT_POOL_MAX)
        return cleo_xmalloc(size);
    int c = size_class(size);
    if (cache.cur[c] == NULL && !refill(c))
        return cleo_xmalloc((size_t)64 << c);
    block_t *b = cache.cur[c];
    cache.cur[c] = b->next;
    cache.len[c]--;
    return b;
}

/* cur[c] is full: keep it as a full batch, or give it to the depot when
 * the thread already keeps LOCAL of them. */
static __attribute__((noinline)) void spill(int c)
{
    batch_t *bt = (batch_t *)cache.cur[c];
    cache.cur[c] = NULL;
    cache.len[c] = 0;
    if (cache.nfull[c] >= LOCAL) {
        depot_put(c, bt);
        return;
    }
    bt->next_batch = cache.full[c];
    cache.full[c] = bt;
    cache.nfull[c]++;
}

void rt__pool_free(size_t size, void *p)
{
    if (p == NULL)
        return;
    if (size > RT_POOL_MAX) {
        free(p);
        return;
    }
    hold();
    int c = size_class(size);
    if (cache.len[c] == BATCH)
        spill(c);
    block_t *b = p;
    b->next = cache.cur[c];
    cache.cur[c] = b;
    cache.len[c]++;
}

void rt__pool_flush(void)
{
    flush_cache(NULL);
}

int rt__pool_depot_batches(size_t size)
{
    int c = size_class(size);
    pthread_mutex_lock(&depot.lock);
    int n = (int)depot.n[c];
    pthread_mutex_unlock(&depot.lock);
    return n;
}
