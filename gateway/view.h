/*
 * view.h - a cluster gateway's view of the cluster (private to gateway/):
 * the node's RING copy, the system conf's N and the cluster's buckets,
 * as one immutable snapshot per cluster state.
 *
 * The gw_view actor (viewsub.c) subscribes to the node's cluster agent
 * and publishes a new snapshot for every state it gets; connection
 * actors take a reference to the current one when a request starts and
 * read it without a message hop, so every step of a request sees one
 * RING and one bucket list. A snapshot is freed with its last reference.
 *
 * Sharing: the holder's current pointer and every snapshot's reference
 * count are guarded by one mutex, held only to read or swap a pointer and
 * to count (never across a lookup, an allocation or a call), so the
 * scheme is plain to ThreadSanitizer. STYLE keeps atomics inside
 * runtime/; like storage's stripe locks, this is state that threads must
 * share by nature (every connection reads what one actor writes), and a
 * message per request to ask for it would put one actor on every
 * request's path. Snapshots of one RING version share one ring_t (it is
 * immutable and built once: 168 points per node, each MD5 refined).
 */
#ifndef CLEO_GATEWAY_VIEW_H
#define CLEO_GATEWAY_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "proto/cluster.pb-c.h"
#include "ring/ring.h"

typedef struct gw_ringref_s gw_ringref_t;

/* One published state. Every field is immutable once published. */
typedef struct gw_snap_s {
    const Cleo__Cluster__ClusterState *st; /* the whole state; its lists
                                              are sorted by name */
    const ring_t *ring;                    /* ring_cur; NULL = no RING yet */
    uint32_t n;                            /* replicas (conf N), >= 1 */
    uint64_t applied;                      /* the state's applied_index */
    /* private */
    gw_view_t *_view;
    uint32_t _refs;         /* under the view's lock */
    gw_ringref_t *_ringref; /* shared by snapshots of one RING */
} gw_snap_t;

/* A reference to the current snapshot.
 * @return gives: release with gw__snap_release(); NULL before the first
 * state (or v NULL). */
gw_snap_t *gw__view_get(gw_view_t *v);

/* Drop a reference. Accepts NULL; cannot fail. @param s takes. */
void gw__snap_release(gw_snap_t *s);

/* Publish a packed ClusterState as the current snapshot (the view
 * actor's). The RING is built from ring_cur unless the current snapshot
 * has the same version and checksum (then it is shared).
 * @param buf borrows.
 * @return 0; CLEO_EPROTO (the bytes do not unpack, or a RING whose
 * checksum is wrong: nothing changes); CLEO_ENOMEM. */
int gw__view_publish(gw_view_t *v, const uint8_t *buf, size_t len);

/* The bucket named name in s, or NULL. @return valid while s is held. */
const Cleo__Cluster__Bucket *gw__snap_bucket(const gw_snap_t *s,
                                             const char *name);

/* The member named node in s, or NULL. @return valid while s is held. */
const Cleo__Cluster__Member *gw__snap_member(const gw_snap_t *s,
                                             const char *node);

/* Messages of the gw_view actor (local calls only). */
#define GW_VIEW_NAME "gw_view"
/* BucketReq {name}, arg 1 = until the bucket exists, 0 = until it is
 * gone -> no payload, once the view shows it (status 0) */
#define GW_MSG_VIEW_WAIT (0x47570200u)
#define GW_MSG_VIEW_TICK (0x47570201u) /* the actor's own timer */

#endif /* CLEO_GATEWAY_VIEW_H */
