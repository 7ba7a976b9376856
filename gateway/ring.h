/*
 * ring.h - where a bucket's objects live (private to gateway/). The
 * embedded default has a one-node ring: the local storage engine. The
 * cluster issue replaces the lookup, not its callers.
 */
#ifndef CLEO_GATEWAY_RING_H
#define CLEO_GATEWAY_RING_H

#include "runtime/rt.h"

/* The storage actor serving bucket (borrows), or 0 when none is up. */
rt_pid_t gw__ring_storage(rt_t *rt, const char *bucket);

#endif /* CLEO_GATEWAY_RING_H */
