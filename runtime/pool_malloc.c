/*
 * pool_malloc.c - the pool as plain malloc/free, linked into sanitizer
 * builds so ASan/TSan track every message and actor (STYLE rule 65).
 */
#include "runtime/pool.h"

#include <stdio.h>
#include <stdlib.h>

void *rt__pool_alloc(size_t size)
{
    return cleo_xmalloc(size);
}

void rt__pool_free(size_t size, void *p)
{
    (void)size;
    free(p);
}

void rt__pool_flush(void) {}

int rt__pool_depot_batches(size_t size)
{
    (void)size;
    return -1;
}
