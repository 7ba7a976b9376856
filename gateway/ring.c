/*
 * ring.c - the one-node ring of the embedded default.
 */
#include "gateway/ring.h"

#include "storage/sto.h"

rt_pid_t gw__ring_storage(rt_t *rt, const char *bucket)
{
    (void)bucket; /* every bucket lives on the one node */
    return rt_whereis(rt, STO_ENGINE_NAME);
}
