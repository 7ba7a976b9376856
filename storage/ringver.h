/*
 * ringver.h - the RING version on storage requests (private to
 * storage/): the engine's side of manager/contract.h's exchange.
 *
 * A gateway in a cluster sets a storage call's rt_msg_t.tag to its RING
 * copy's version (low 32 bits; 0 = no cluster, never compared). The
 * engine knows its node's version from the bucket sync, which follows
 * the node's agent (ENGINE_RING, with each cluster state). On each request:
 *
 *  - tag newer than the node's: this node is behind; its agent is told
 *    (AGENT_RING_SEEN) and reads the state from the manager leader at
 *    once;
 *  - tag older: the sender is behind; the agent of the sender's node is
 *    told the same way, over distribution.
 *
 * The request itself is served either way: the RING says which node
 * holds a key, and with one node per key today (replication is issue
 * 12) the engine answers for what it has. Each node is told at most once
 * a second per version, so a flood of requests from a node that is
 * behind sends one hint, not one per request.
 */
#ifndef CLEO_STORAGE_RINGVER_H
#define CLEO_STORAGE_RINGVER_H

#include <stdint.h>

#include "runtime/rt.h"

/* The engine's record. Zero-initialised is valid (version unknown). */
typedef struct {
    uint32_t ver;      /* the node's RING version, 0 = not known yet */
    uint32_t *told;    /* per node index: the version last hinted to it */
    uint64_t *told_ms; /* and when (rt_now_ms) */
    uint32_t ntold;    /* entries of both arrays */
    uint64_t hints;    /* hints sent, for tests and the curious */
} sto__ringver_t;

/* The node's version changed (ENGINE_RING). */
void sto__ringver_set(sto__ringver_t *v, uint32_t ver);

/* Compare request req's tag (from its caller from) with the node's
 * version and hint whichever side is behind. Cannot fail: a hint that
 * cannot be sent is dropped (the next request tries again). */
void sto__ringver_check(rt_actor_t *self, sto__ringver_t *v,
                        const rt_msg_t *req, rt_from_t from);

/* Free the record's arrays (the engine is going). Accepts NULL. */
void sto__ringver_free(sto__ringver_t *v);

#endif /* CLEO_STORAGE_RINGVER_H */
