/*
 * xmalloc.c - allocation for fixed-size control structures: log and abort
 * on out-of-memory (STYLE rule 26). Client-sized allocations must use a
 * failing allocator and return CLEO_ENOMEM instead.
 */
#include "runtime/pool.h"

#include <stdio.h>
#include <stdlib.h>

static void oom(size_t n)
{
    fprintf(stderr, "cleo: out of memory (%zu bytes)\n", n);
    abort();
}

void *cleo_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        oom(n);
    return p;
}

void *cleo_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL && n != 0 && size != 0)
        oom(n * size);
    return p;
}

void *cleo_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL && n != 0)
        oom(n);
    return q;
}
