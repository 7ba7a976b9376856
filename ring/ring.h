/*
 * ring.h - the RING: consistent hashing of objects onto storage nodes.
 *
 * A RING is a pure function of its entries: a list of (node, vnodes,
 * rack). Each node owns vnodes points on a circle of 2^128 positions;
 * an object's position is MD5("<bucket>/<key>"), and its replica set is
 * the next n distinct nodes clockwise from there (on distinct racks when
 * the racks allow it). Every node of a cluster builds the same RING from
 * the same entries, and the RING's checksum says whether two nodes
 * agree. This library is pure computation: no actors, no I/O, no global
 * state. A ring_t is immutable once built, so any number of threads may
 * use one at the same time.
 *
 * Positions. A 128-bit position is an MD5 digest read as a big-endian
 * number (ring_pos_t: hi holds digest bytes 0-7, lo bytes 8-15). A point
 * at position p owns the keys in (previous point, p]: a key maps to the
 * first point at or after its position, wrapping past 2^128 - 1 to the
 * lowest point.
 *
 * Points. Node X's i-th point (0 <= i < vnodes) is chosen among
 * RING_CANDIDATES positions that depend only on X's name and i: the
 * first is MD5("X#i") itself, candidate c >= 1 is MD5 of the 16 bytes of
 * MD5("X#i") followed by the byte c. Of them, the one farthest from
 * X's points 0..i-1 is taken (ties: the lowest c; point 0 is always
 * MD5("X#0")). This spreads each node's own points evenly (Mitchell's
 * best-candidate sampling), which evens out the nodes' shares, while a
 * node's points still depend on nothing but its own name and vnodes:
 * adding or removing a node moves only the keys that must move, and
 * raising a node's vnodes keeps its existing points. Measured over
 * 2,000 sets of 5 node names with 168 vnodes and n = 3 (ring_balance):
 * plain MD5 points (one candidate) give a median balance of 1.052 and a
 * worst of 1.165, 4.5 % of the sets over 1.10; eight candidates give
 * 1.031 and 1.091, none over 1.10. Attaching a sixth node: movement
 * median 1.00, worst 1.09 (1.15 with plain points). The price is with
 * unequal vnodes and n = 1: there, a node with twice the vnodes of four
 * others holds about 2.4 times their keys (2.0 with plain points); with
 * n = 3 and 10 or more nodes it holds 1.9 to 2.2 times (plain: 1.6 to
 * 2.1, as replicas on distinct nodes waste the share of a node's points
 * that follow each other).
 *
 * Racks. A node's rack is a string; "" puts the node in a rack of its
 * own. With at least n racks, the n replicas of a key are on n distinct
 * racks. The walk clockwise takes a node when it is not taken yet and
 * its rack is not used yet or every rack already is; if one round of
 * the circle leaves fewer than n nodes (fewer racks than n), a second
 * round takes the nodes not taken yet, in the order met.
 *
 * Checksum. ring_checksum() is the first 8 bytes, read big-endian, of
 * MD5 over: the string "cleo-ring-1"; then for each node in name order
 * its name length (u32), name bytes, rack length (u32), rack bytes and
 * vnodes (u32); then for each point in table order its position (16
 * bytes) and node index in name order (u32). Every integer is written
 * big-endian, so the checksum is the same on every architecture.
 *
 * Errors are negative CLEO_E* codes (runtime/rt.h). Pointers are labelled
 * borrows, takes, gives or valid until (shared/STYLE.md).
 */
#ifndef CLEO_RING_RING_H
#define CLEO_RING_RING_H

#include <stddef.h>
#include <stdint.h>

#include "proto/cluster.pb-c.h"
#include "runtime/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RING_API __attribute__((visibility("default")))
#define RING_WUR __attribute__((warn_unused_result))

#define RING_VNODES_DEFAULT 168 /* LeoFS's virtual nodes per node */
#define RING_VNODES_MAX 4096    /* points of one node */
#define RING_NODES_MAX 1024     /* entries of one RING */
#define RING_NAME_MAX 256       /* bytes of a node or rack name, NUL incl. */
#define RING_CANDIDATES 8       /* positions tried per point (see above) */
#define RING_ADDR_LEN 33        /* a position in hex: 32 digits and NUL */

/** An immutable RING (opaque). */
typedef struct ring_s ring_t;

/** One node's place on a RING (proto/cluster.proto's RingEntry). */
typedef struct ring_entry_s {
    const char *node; /* "name@host"; 1..RING_NAME_MAX-1 bytes */
    const char *rack; /* "" or NULL: a rack of its own; < RING_NAME_MAX */
    uint32_t vnodes;  /* points on the circle, 1..RING_VNODES_MAX */
} ring_entry_t;

/** A position on the circle: a 128-bit big-endian number. */
typedef struct ring_pos_s {
    uint64_t hi; /* bits 127..64: MD5 digest bytes 0-7 */
    uint64_t lo; /* bits 63..0: digest bytes 8-15 */
} ring_pos_t;

/** One node's share of the replicas (ring_shares()). */
typedef struct ring_share_s {
    double share; /* fraction of all replicas held, 0..1; they sum to 1 */
    double ideal; /* its share by vnodes, capped at 1/n (see ring_shares) */
} ring_share_t;

/** What a change of RING moves (ring_movement()). */
typedef struct ring_move_s {
    double changed;  /* fraction of the key space whose replica set
                        (as a set) differs, 0..1 */
    double ideal;    /* the least fraction any RING could change: see
                        ring_movement() */
    double movement; /* changed / ideal (0 when nothing changed and
                        nothing had to; HUGE_VAL when ideal is 0 but
                        keys changed) */
} ring_move_t;

/* ---------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------- */

/** Build the RING of the given entries, in any order: the same entries
 *  give the same points and checksum whatever their order.
 *  @param entries borrows n_entries entries; their strings are copied.
 *  @param version carried along (ring_version()); 0 means no RING yet in
 *         proto/cluster.proto, but any value is accepted here.
 *  @param out gives the RING: free it with ring_free(). Written only on
 *         success.
 *  @return 0; CLEO_EINVAL (no entries, entries NULL, a node name NULL,
 *          empty or of RING_NAME_MAX bytes or more, a rack of
 *          RING_NAME_MAX bytes or more, vnodes 0 or over
 *          RING_VNODES_MAX, out NULL); CLEO_EEXIST (two entries with one
 *          node name); CLEO_ELIMIT (more than RING_NODES_MAX entries);
 *          CLEO_ENOMEM (allocation failed, or OpenSSL could not compute
 *          MD5). Nothing is allocated on failure. */
RING_API RING_WUR int ring_new(const ring_entry_t *entries, size_t n_entries,
                               uint64_t version, ring_t **out);

/** Free a RING. Accepts NULL; cannot fail.
 *  @param r takes the RING. */
RING_API void ring_free(ring_t *r);

/* ---------------------------------------------------------------------
 * Inspecting
 * ------------------------------------------------------------------- */

/** @param r borrows. @return the version given to ring_new(). */
RING_API uint64_t ring_version(const ring_t *r);

/** @param r borrows. @return the checksum of the point table (see the
 *  top of this file for its exact definition). */
RING_API uint64_t ring_checksum(const ring_t *r);

/** @param r borrows. @return the number of nodes (entries). */
RING_API size_t ring_node_count(const ring_t *r);

/** @param r borrows. @return the number of racks: distinct non-empty
 *  rack names plus one per node without a rack. */
RING_API size_t ring_rack_count(const ring_t *r);

/** @param r borrows. @return the number of points: the sum of vnodes. */
RING_API size_t ring_point_count(const ring_t *r);

/** Node i, in ascending byte order of the node names (the order of
 *  ring_to_pb()'s entries and of ring_point()'s node indices).
 *  @param r borrows.
 *  @param out its strings are valid until ring_free(r); rack is "" for
 *         no rack. Written only on success.
 *  @return 0, or CLEO_EINVAL (i >= ring_node_count(r)). */
RING_API RING_WUR int ring_node(const ring_t *r, size_t i, ring_entry_t *out);

/** Point i of the table, in ascending order of position.
 *  @param r borrows.
 *  @param pos its position. @param node the index of its node (as for
 *         ring_node()). Both written only on success.
 *  @return 0, or CLEO_EINVAL (i >= ring_point_count(r)). */
RING_API RING_WUR int ring_point(const ring_t *r, size_t i, ring_pos_t *pos,
                                 size_t *node);

/* ---------------------------------------------------------------------
 * Looking up
 * ------------------------------------------------------------------- */

/** The position of an object: MD5 of "<bucket>/<key>".
 *  @param bucket borrows. @param key borrows (NUL-terminated both).
 *  @param out written only on success.
 *  @return 0; CLEO_EINVAL (a NULL argument); CLEO_ENOMEM (OpenSSL could
 *          not compute MD5). */
RING_API RING_WUR int ring_key_pos(const char *bucket, const char *key,
                                   ring_pos_t *out);

/** Write a position as 32 lowercase hex digits and a NUL: the RING
 *  address that `cleo-adm whereis` prints (for an object, the md5sum of
 *  "<bucket>/<key>").
 *  @param pos borrows. @param out borrows RING_ADDR_LEN bytes. */
RING_API void ring_pos_hex(const ring_pos_t *pos, char out[RING_ADDR_LEN]);

/** The replica set of the keys at a position: the next n distinct
 *  nodes clockwise (rack-aware, see the top of this file), in walk
 *  order, so out[0] is the primary. Fewer than n when the RING has
 *  fewer nodes. Costs a binary search and a walk of the points until
 *  the set is complete.
 *  @param r borrows. @param pos borrows.
 *  @param n replicas wanted, >= 1.
 *  @param out borrows room for n names; each name written is valid
 *         until ring_free(r).
 *  @param count the number of names written: min(n, nodes).
 *  Written only on success.
 *  @return 0; CLEO_EINVAL (n 0, or a NULL argument); CLEO_ENOMEM (a set
 *          of over 64 nodes could not be allocated). */
RING_API RING_WUR int ring_replicas_at(const ring_t *r, const ring_pos_t *pos,
                                       size_t n, const char **out,
                                       size_t *count);

/** ring_replicas_at() at ring_key_pos(bucket, key).
 *  @param r borrows. @param bucket borrows. @param key borrows.
 *  @param out borrows room for n names, each valid until ring_free(r).
 *  @param count the number written. Both written only on success.
 *  @return 0; CLEO_EINVAL (n 0, a NULL argument); CLEO_ENOMEM (no
 *          MD5, or as ring_replicas_at()). */
RING_API RING_WUR int ring_replicas(const ring_t *r, const char *bucket,
                                    const char *key, size_t n, const char **out,
                                    size_t *count);

/* ---------------------------------------------------------------------
 * proto/cluster.proto's Ring
 * ------------------------------------------------------------------- */

/** Build the RING a Ring message describes, checking its checksum.
 *  @param pb borrows.
 *  @param out gives: free with ring_free(). Written only on success.
 *  @return 0; CLEO_EINVAL (pb or out NULL); CLEO_ENOTFOUND (version 0
 *          and no entries: no RING yet);
 *          CLEO_EPROTO (a NULL entry, or the checksum is not the one
 *          this library computes for the entries: a corrupt message or
 *          a node running another RING algorithm); or ring_new()'s
 *          errors. */
RING_API RING_WUR int ring_from_pb(const Cleo__Cluster__Ring *pb, ring_t **out);

/** Describe a RING as a Ring message: its version, its checksum and its
 *  entries sorted by node.
 *  @param r borrows.
 *  @param out gives a message whose every part is malloc()ed: free it
 *         with cleo__cluster__ring__free_unpacked(m, NULL). Written
 *         only on success.
 *  @return 0, CLEO_EINVAL (a NULL argument) or CLEO_ENOMEM. */
RING_API RING_WUR int ring_to_pb(const ring_t *r, Cleo__Cluster__Ring **out);

/* ---------------------------------------------------------------------
 * Measures (`cleo-adm ring`). Exact: computed from the arcs between
 * points, on which replica sets are constant, not by sampling keys.
 * Each costs a replica walk per point (two RINGs: per point of both).
 * ------------------------------------------------------------------- */

/** Each node's share of the replicas with n replicas per key: the
 *  measure of the keys whose replica set holds the node, divided by
 *  min(n, nodes) so that the shares sum to 1.
 *  The ideal share is proportional to vnodes, except that no node can
 *  hold more than 1/min(n, nodes) (it holds a key at most once): nodes
 *  over that cap get it, and the rest is shared by vnodes among the
 *  others (water-filling). Racks are not in the ideal: with racks of
 *  unequal vnodes, rack-awareness itself makes shares differ from it.
 *  @param r borrows. @param n replicas per key (the system's N), >= 1.
 *  @param out borrows ring_node_count(r) elements, in node order;
 *         written only on success.
 *  @return 0, CLEO_EINVAL (n 0, a NULL argument) or CLEO_ENOMEM. */
RING_API RING_WUR int ring_shares(const ring_t *r, size_t n, ring_share_t *out);

/** Balance: the largest share / ideal ratio over the nodes
 *  (ring_shares()); 1.0 is perfect. With equal vnodes it is the largest
 *  node's share of the key space divided by 1/nodes.
 *  @param r borrows. @param n replicas per key, >= 1.
 *  @param out written only on success.
 *  @return 0, CLEO_EINVAL (n 0, a NULL argument) or CLEO_ENOMEM. */
RING_API RING_WUR int ring_balance(const ring_t *r, size_t n, double *out);

/** Movement from one RING to the next, with n replicas per key.
 *  changed is the measure of the keys whose replica set (compared as a
 *  set of node names) differs between the two. ideal is the least
 *  fraction that any placement must change: a key whose set gains or
 *  loses node X changes, so at least |f_after(X) - f_before(X)| of the
 *  keys change for every node X, where f(X) = min(n, nodes) *
 *  ideal share of X (ring_shares()) is the fraction of keys that X
 *  ideally holds (0 if X is not in that RING); ideal is the largest of
 *  these over all nodes of either RING. Attaching one node to k equal
 *  ones gives ideal = min(n, k + 1) / (k + 1), the new node's keys;
 *  detaching one of k gives min(n, k) / k.
 *  @param before borrows. @param after borrows.
 *  @param n replicas per key, >= 1.
 *  @param out written only on success.
 *  @return 0, CLEO_EINVAL (n 0, a NULL argument) or CLEO_ENOMEM. */
RING_API RING_WUR int ring_movement(const ring_t *before, const ring_t *after,
                                    size_t n, ring_move_t *out);

#ifdef __cplusplus
}
#endif

#endif /* CLEO_RING_RING_H */
