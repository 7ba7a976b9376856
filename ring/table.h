/*
 * table.h - the RING's insides, private to ring/: the node list, the
 * sorted point table, position arithmetic and the replica walk.
 */
#ifndef CLEO_RING_TABLE_H
#define CLEO_RING_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring/ring.h"

typedef struct ring__node_s {
    char *name;       /* owned; in the ring's one string block */
    char *rack;       /* owned; "" = a rack of its own */
    uint32_t vnodes;  /* 1..RING_VNODES_MAX */
    uint32_t rack_id; /* 0..nracks-1; equal for nodes of one rack */
} ring__node_t;

typedef struct ring__point_s {
    ring_pos_t pos;
    uint32_t node; /* index into ring_s.nodes */
} ring__point_t;

struct ring_s {
    uint64_t version;
    uint64_t checksum;
    size_t nnodes;         /* >= 1 */
    size_t nracks;         /* 1..nnodes */
    size_t npoints;        /* sum of vnodes, >= 1 */
    ring__node_t *nodes;   /* sorted by name (strcmp), no duplicates */
    ring__point_t *points; /* sorted by (pos, node) */
    char *strings;         /* the nodes' names and racks */
};

/** a < b as 128-bit numbers. */
static inline bool ring__pos_lt(const ring_pos_t *a, const ring_pos_t *b)
{
    return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

/** The clockwise distance from a to b, (b - a) mod 2^128. */
static inline ring_pos_t ring__pos_sub(const ring_pos_t *b, const ring_pos_t *a)
{
    ring_pos_t d = {b->hi - a->hi, b->lo - a->lo};
    if (b->lo < a->lo)
        d.hi--;
    return d;
}

/** A distance as a fraction of the circle, 2^-128 * d. */
static inline double ring__pos_frac(const ring_pos_t *d)
{
    return (double)d->hi * 0x1p-64 + (double)d->lo * 0x1p-128;
}

/** Read a 16-byte digest as a position. */
ring_pos_t ring__pos_from_md5(const unsigned char md[16]);

/** Fill r->points (r->nodes set, r->points allocated for r->npoints)
 *  and sort them, trying k candidates per point (1: plain MD5).
 *  @return 0 or CLEO_ENOMEM. */
int ring__points_make(ring_t *r, unsigned k);

/** Index of the point owning pos: the first at or after it, wrapping. */
size_t ring__successor(const ring_t *r, const ring_pos_t *pos);

/** The replica walk from point `start` (see ring.h). Writes node
 *  indices to out (room for n) and returns how many: min(n, nnodes). */
size_t ring__walk(const ring_t *r, size_t start, size_t n, uint32_t *out);

#endif /* CLEO_RING_TABLE_H */
