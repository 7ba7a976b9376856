/*
 * pool.c - per-thread size-class free lists (64..512 bytes).
 *
 * A block freed on another thread simply joins that thread's list; each
 * list is capped so memory migrates back to jemalloc instead of piling up
 * on a consumer thread. Thread exit flushes the lists through a pthread
 * key destructor.
 */
#include "runtime/pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NCLASS 4   /* 64, 128, 256, 512 */
#define CAP 4096   /* blocks kept per class per thread */

typedef struct block_s {
    struct block_s *next;
} block_t;

typedef struct {
    block_t *head[NCLASS];
    uint32_t len[NCLASS];
    int registered;
} cache_t;

static __thread cache_t cache;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

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

static void flush_cache(void *unused)
{
    (void)unused;
    for (int c = 0; c < NCLASS; c++) {
        block_t *b = cache.head[c];
        while (b != NULL) {
            block_t *next = b->next;
            free(b);
            b = next;
        }
        cache.head[c] = NULL;
        cache.len[c] = 0;
    }
}

static void make_key(void)
{
    pthread_key_create(&key, flush_cache);
}

void *rt__pool_alloc(size_t size)
{
    if (size > RT_POOL_MAX)
        return cleo_xmalloc(size);
    int c = size_class(size);
    block_t *b = cache.head[c];
    if (b != NULL) {
        cache.head[c] = b->next;
        cache.len[c]--;
        return b;
    }
    return cleo_xmalloc((size_t)64 << c);
}

void rt__pool_free(size_t size, void *p)
{
    if (p == NULL)
        return;
    if (size > RT_POOL_MAX) {
        free(p);
        return;
    }
    int c = size_class(size);
    if (cache.len[c] >= CAP) {
        free(p);
        return;
    }
    if (!cache.registered) {
        /* Register the destructor once per thread so its cache is
         * returned to malloc when the thread exits. */
        pthread_once(&once, make_key);
        pthread_setspecific(key, &cache);
        cache.registered = 1;
    }
    block_t *b = p;
    b->next = cache.head[c];
    cache.head[c] = b;
    cache.len[c]++;
}

void rt__pool_flush(void)
{
    flush_cache(NULL);
}
