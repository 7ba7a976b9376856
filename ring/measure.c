/*
 * measure.c - balance and movement, computed exactly. A key's replica
 * set depends only on the point that owns it, so it is constant on each
 * arc (previous point, point]: a node's share is the sum of the arcs
 * whose set holds it, and two RINGs differ on the pieces cut by the
 * points of both. Every measure is one replica walk per point.
 */
#include "ring/ring.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ring/table.h"

/* The arc that point i owns, as a fraction of the circle. When every
 * point sits at one position (one point, say), point 0 owns it all. */
static double arc(const ring_t *r, size_t i)
{
    const ring_pos_t *p = &r->points[i].pos;
    const ring_pos_t *prev = &r->points[i == 0 ? r->npoints - 1 : i - 1].pos;
    ring_pos_t d = ring__pos_sub(p, prev);
    if (i == 0 && d.hi == 0 && d.lo == 0)
        return 1.0;
    return ring__pos_frac(&d);
}

static size_t replicas(const ring_t *r, size_t n)
{
    return n < r->nnodes ? n : r->nnodes;
}

/* The replica set of every point: sets[i * want .. + want). */
static uint32_t *point_sets(const ring_t *r, size_t want)
{
    uint32_t *sets = malloc(r->npoints * want * sizeof *sets);
    if (sets == NULL)
        return NULL;
    for (size_t i = 0; i < r->npoints; i++)
        ring__walk(r, i, want, &sets[i * want]);
    return sets;
}

/* Ideal shares by vnodes, none over 1/want (water-filling). Capping a
 * node only raises the others' proportional shares, so every node over
 * the cap with the shares at the start of a pass stays over it, and a
 * pass may cap them all. ideal[j] is -1 for a capped node until the
 * last loop. */
static void ideal_shares(const ring_t *r, size_t want, double *ideal)
{
    double cap = 1.0 / (double)want, left = 1.0, weight = 0;
    for (size_t j = 0; j < r->nnodes; j++) {
        ideal[j] = 0;
        weight += r->nodes[j].vnodes;
    }
    for (bool more = true; more;) {
        double l = left, w = weight;
        more = false;
        for (size_t j = 0; j < r->nnodes; j++) {
            if (ideal[j] != 0 || l * r->nodes[j].vnodes / w <= cap)
                continue;
            ideal[j] = -1;
            left -= cap;
            weight -= r->nodes[j].vnodes;
            more = true;
        }
    }
    for (size_t j = 0; j < r->nnodes; j++)
        ideal[j] = ideal[j] < 0 ? cap : left * r->nodes[j].vnodes / weight;
}

int ring_shares(const ring_t *r, size_t n, ring_share_t *out)
{
    if (r == NULL || n == 0 || out == NULL)
        return CLEO_EINVAL;
    size_t want = replicas(r, n);
    uint32_t *set = malloc(want * sizeof *set);
    double *acc = calloc(r->nnodes, sizeof *acc);
    double *ideal = malloc(r->nnodes * sizeof *ideal);
    int rc = CLEO_ENOMEM;
    if (set == NULL || acc == NULL || ideal == NULL)
        goto out;
    for (size_t i = 0; i < r->npoints; i++) {
        double a = arc(r, i);
        ring__walk(r, i, want, set);
        for (size_t k = 0; k < want; k++)
            acc[set[k]] += a;
    }
    ideal_shares(r, want, ideal);
    for (size_t j = 0; j < r->nnodes; j++)
        out[j] = (ring_share_t){acc[j] / (double)want, ideal[j]};
    rc = 0;
out:
    free(ideal);
    free(acc);
    free(set);
    return rc;
}

int ring_balance(const ring_t *r, size_t n, double *out)
{
    if (r == NULL || n == 0 || out == NULL)
        return CLEO_EINVAL;
    ring_share_t *s = malloc(r->nnodes * sizeof *s);
    if (s == NULL)
        return CLEO_ENOMEM;
    int rc = ring_shares(r, n, s);
    if (rc == 0) {
        double worst = 0;
        for (size_t j = 0; j < r->nnodes; j++)
            worst = fmax(worst, s[j].share / s[j].ideal);
        *out = worst;
    }
    free(s);
    return rc;
}

/* ---- movement ---------------------------------------------------- */

/* The least fraction of keys that must change (ring.h): the largest
 * change of a node's ideal fraction of keys, over the nodes of both
 * RINGs (matched by name; both lists are sorted by name). */
static int ideal_move(const ring_t *a, const ring_t *b, size_t n, double *out)
{
    size_t wa = replicas(a, n), wb = replicas(b, n);
    double *ia = malloc(a->nnodes * sizeof *ia);
    double *ib = malloc(b->nnodes * sizeof *ib);
    if (ia == NULL || ib == NULL) {
        free(ia);
        free(ib);
        return CLEO_ENOMEM;
    }
    ideal_shares(a, wa, ia);
    ideal_shares(b, wb, ib);
    double most = 0;
    size_t i = 0, j = 0;
    while (i < a->nnodes || j < b->nnodes) {
        int c = i == a->nnodes   ? 1
                : j == b->nnodes ? -1
                                 : strcmp(a->nodes[i].name, b->nodes[j].name);
        double fa = c <= 0 ? (double)wa * ia[i++] : 0;
        double fb = c >= 0 ? (double)wb * ib[j++] : 0;
        most = fmax(most, fabs(fb - fa));
    }
    free(ia);
    free(ib);
    *out = most;
    return 0;
}

/* map[j]: the index in a of b's node j, or UINT32_MAX. */
static void map_nodes(const ring_t *a, const ring_t *b, uint32_t *map)
{
    size_t i = 0;
    for (size_t j = 0; j < b->nnodes; j++) {
        while (i < a->nnodes && strcmp(a->nodes[i].name, b->nodes[j].name) < 0)
            i++;
        bool same =
            i < a->nnodes && strcmp(a->nodes[i].name, b->nodes[j].name) == 0;
        map[j] = same ? (uint32_t)i : UINT32_MAX;
    }
}

static bool same_set(const uint32_t *sa, size_t na, const uint32_t *sb,
                     size_t nb, const uint32_t *map)
{
    if (na != nb)
        return false;
    for (size_t k = 0; k < nb; k++) {
        size_t m = 0;
        while (m < na && sa[m] != map[sb[k]])
            m++;
        if (m == na)
            return false;
    }
    return true;
}

/* The measure of the keys whose set differs. Walks the points of both
 * RINGs in one ascending merge: the piece (prev, x] before each
 * breakpoint x is owned in each RING by its first point at or after x
 * (index 0 past the end), and the first piece wraps round from the
 * highest breakpoint. */
static double changed(const ring_t *a, const uint32_t *sa, size_t wa,
                      const ring_t *b, const uint32_t *sb, size_t wb,
                      const uint32_t *map)
{
    const ring_pos_t *la = &a->points[a->npoints - 1].pos;
    const ring_pos_t *lb = &b->points[b->npoints - 1].pos;
    ring_pos_t prev = ring__pos_lt(la, lb) ? *lb : *la;
    double sum = 0;
    size_t i = 0, j = 0;
    bool first = true;
    while (i < a->npoints || j < b->npoints) {
        const ring_pos_t *pa = i < a->npoints ? &a->points[i].pos : NULL;
        const ring_pos_t *pb = j < b->npoints ? &b->points[j].pos : NULL;
        ring_pos_t x = pb == NULL || (pa && !ring__pos_lt(pb, pa)) ? *pa : *pb;
        ring_pos_t d = ring__pos_sub(&x, &prev);
        double len = ring__pos_frac(&d);
        if (first && d.hi == 0 && d.lo == 0)
            len = 1.0; /* one breakpoint in all: the whole circle */
        size_t oa = i < a->npoints ? i : 0, ob = j < b->npoints ? j : 0;
        if (!same_set(&sa[oa * wa], wa, &sb[ob * wb], wb, map))
            sum += len;
        while (i < a->npoints && !ring__pos_lt(&x, &a->points[i].pos))
            i++;
        while (j < b->npoints && !ring__pos_lt(&x, &b->points[j].pos))
            j++;
        prev = x;
        first = false;
    }
    return sum;
}

int ring_movement(const ring_t *before, const ring_t *after, size_t n,
                  ring_move_t *out)
{
    if (before == NULL || after == NULL || n == 0 || out == NULL)
        return CLEO_EINVAL;
    size_t wa = replicas(before, n), wb = replicas(after, n);
    uint32_t *sa = point_sets(before, wa), *sb = point_sets(after, wb);
    uint32_t *map = malloc(after->nnodes * sizeof *map);
    ring_move_t m = {0, 0, 0};
    int rc = CLEO_ENOMEM;
    if (sa == NULL || sb == NULL || map == NULL ||
        (rc = ideal_move(before, after, n, &m.ideal)) < 0)
        goto out;
    map_nodes(before, after, map);
    m.changed = changed(before, sa, wa, after, sb, wb, map);
    if (m.ideal > 0)
        m.movement = m.changed / m.ideal;
    else
        m.movement = m.changed > 0 ? HUGE_VAL : 0;
    *out = m;
out:
    free(map);
    free(sb);
    free(sa);
    return rc;
}
