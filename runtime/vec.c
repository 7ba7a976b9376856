/*
 * vec.c - tiny growable arrays for per-actor bookkeeping (links,
 * monitors, calls). Order is not kept: deletion swaps in the last element.
 */
#include <string.h>

#include "runtime/actor.h"
#include "runtime/pool.h"

void rt__vec_push(void **arr, uint32_t *n, uint32_t *cap, size_t size,
                  const void *el)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = cleo_xrealloc(*arr, (size_t)*cap * size);
    }
    memcpy((char *)*arr + (size_t)*n * size, el, size);
    (*n)++;
}

void rt__vec_del(void *arr, uint32_t *n, size_t size, uint32_t i)
{
    (*n)--;
    if (i != *n)
        memcpy((char *)arr + (size_t)i * size, (char *)arr + (size_t)*n * size,
               size);
}
