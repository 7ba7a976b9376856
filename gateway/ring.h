/*
 * ring.h - where a bucket's objects live (private to gateway/). The
 * embedded default has a one-node ring: the local storage engine, or the
 * one on the peer named in the configuration. The ring issue replaces
 * the lookup, not its callers.
 */
#ifndef CLEO_GATEWAY_RING_H
#define CLEO_GATEWAY_RING_H

#include "gateway/gw.h"
#include "runtime/rt.h"

/* The actor registered as name that serves this gateway: the local one
 * if this node runs it, else {name, conf->peer} over distribution (the
 * same code path either way). @return 0 when there is none. */
rt_pid_t gw__role_pid(const gw_conf_t *conf, rt_t *rt, const char *name);

/* The storage actor serving bucket (borrows), or 0 when none is up. */
rt_pid_t gw__ring_storage(const gw_conf_t *conf, rt_t *rt, const char *bucket);

#endif /* CLEO_GATEWAY_RING_H */
