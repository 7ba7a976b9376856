/*
 * buf.c - reference-counted byte buffers: bulk data moves between actors
 * by reference. The allocation is client-sized, so failure is an error
 * (CLEO_ENOMEM), not an abort.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/rt.h"

struct rt_buf_s {
    _Atomic uint32_t refs;
    size_t len;
    size_t cap;
    char data[];
};

int rt_buf_new(size_t cap, rt_buf_t **out)
{
    if (cap > SIZE_MAX - sizeof(rt_buf_t))
        return CLEO_ENOMEM;
    rt_buf_t *b = malloc(sizeof *b + cap);
    if (b == NULL)
        return CLEO_ENOMEM;
    atomic_init(&b->refs, 1);
    b->len = 0;
    b->cap = cap;
    *out = b;
    return 0;
}

rt_buf_t *rt_buf_ref(rt_buf_t *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void rt_buf_unref(rt_buf_t *b)
{
    if (b == NULL)
        return;
    /* acq_rel: the last owner sees all writes of the others; pairs with
     * the same operation on other threads. */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

char *rt_buf_data(rt_buf_t *b)
{
    return b->data;
}
size_t rt_buf_len(const rt_buf_t *b)
{
    return b->len;
}
size_t rt_buf_cap(const rt_buf_t *b)
{
    return b->cap;
}

int rt_buf_set_len(rt_buf_t *b, size_t len)
{
    if (len > b->cap)
        return CLEO_EINVAL;
    b->len = len;
    return 0;
}

uint32_t rt_buf_refs(const rt_buf_t *b)
{
    return atomic_load_explicit(&b->refs, memory_order_relaxed);
}
