/*
 * table.c - the point table: each node's points (MD5 candidates, the
 * farthest from the node's own earlier points taken), the sorted table,
 * the binary search for a position's point, and the replica walk.
 */
#include "ring/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* One MD5 context and algorithm, fetched once per RING built rather
 * than once per digest (OpenSSL 3 looks the algorithm up on each
 * implicit fetch). */
typedef struct {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
} hasher_t;

ring_pos_t ring__pos_from_md5(const unsigned char md[16])
{
    ring_pos_t p = {0, 0};
    for (int i = 0; i < 8; i++) {
        p.hi = p.hi << 8 | md[i];
        p.lo = p.lo << 8 | md[8 + i];
    }
    return p;
}

static int md5(hasher_t *h, const void *data, size_t len, unsigned char *out)
{
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 ||
        EVP_DigestUpdate(h->ctx, data, len) != 1 ||
        EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
        return CLEO_ENOMEM;
    return 0;
}

/* The RING_CANDIDATES positions of node `name`'s point i (ring.h). */
static int candidates(hasher_t *h, const char *name, uint32_t i, unsigned k,
                      ring_pos_t *out)
{
    char label[RING_NAME_MAX + 16];
    unsigned char d0[16], buf[17], d[16];
    int len = snprintf(label, sizeof label, "%s#%u", name, (unsigned)i);
    int rc = md5(h, label, (size_t)len, d0);
    if (rc < 0)
        return rc;
    out[0] = ring__pos_from_md5(d0);
    memcpy(buf, d0, 16);
    for (unsigned c = 1; c < k; c++) {
        buf[16] = (unsigned char)c;
        if ((rc = md5(h, buf, sizeof buf, d)) < 0)
            return rc;
        out[c] = ring__pos_from_md5(d);
    }
    return 0;
}

/* Index of the first of own[0..n) not below p. */
static size_t lower_bound(const ring_pos_t *own, size_t n, const ring_pos_t *p)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring__pos_lt(&own[mid], p))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The circular distance from p to the nearest of own[0..n), n >= 1. */
static ring_pos_t nearest(const ring_pos_t *own, size_t n, const ring_pos_t *p,
                          size_t *at)
{
    size_t i = lower_bound(own, n, p);
    const ring_pos_t *succ = &own[i == n ? 0 : i];
    const ring_pos_t *pred = &own[i == 0 ? n - 1 : i - 1];
    ring_pos_t a = ring__pos_sub(p, pred), b = ring__pos_sub(succ, p);
    *at = i;
    return ring__pos_lt(&a, &b) ? a : b;
}

/* Node `node`'s points into out[0..vnodes), each the candidate farthest
 * from the node's earlier points; own is scratch for vnodes positions,
 * kept sorted. */
static int node_points(hasher_t *h, const ring__node_t *nd, uint32_t node,
                       unsigned k, ring_pos_t *own, ring__point_t *out)
{
    ring_pos_t cand[RING_CANDIDATES];
    for (uint32_t i = 0; i < nd->vnodes; i++) {
        int rc = candidates(h, nd->name, i, i == 0 ? 1 : k, cand);
        if (rc < 0)
            return rc;
        size_t best = 0, at = 0, best_at = 0;
        ring_pos_t best_d = {0, 0};
        for (unsigned c = 0; i > 0 && c < k; c++) {
            ring_pos_t d = nearest(own, i, &cand[c], &at);
            if (c == 0 || ring__pos_lt(&best_d, &d)) {
                best = c;
                best_d = d;
                best_at = at;
            }
        }
        memmove(&own[best_at + 1], &own[best_at],
                (i - best_at) * sizeof own[0]);
        own[best_at] = cand[best];
        out[i] = (ring__point_t){cand[best], node};
    }
    return 0;
}

static int point_cmp(const void *a, const void *b)
{
    const ring__point_t *x = a, *y = b;
    if (ring__pos_lt(&x->pos, &y->pos))
        return -1;
    if (ring__pos_lt(&y->pos, &x->pos))
        return 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

int ring__points_make(ring_t *r, unsigned k)
{
    hasher_t h = {EVP_MD_fetch(NULL, "MD5", NULL), EVP_MD_CTX_new()};
    uint32_t most = 0;
    for (size_t j = 0; j < r->nnodes; j++)
        most = r->nodes[j].vnodes > most ? r->nodes[j].vnodes : most;
    ring_pos_t *own = malloc(most * sizeof *own);
    int rc = CLEO_ENOMEM;
    if (h.md == NULL || h.ctx == NULL || own == NULL)
        goto out;
    size_t at = 0;
    for (size_t j = 0; j < r->nnodes; j++) {
        rc = node_points(&h, &r->nodes[j], (uint32_t)j, k, own, &r->points[at]);
        if (rc < 0)
            goto out;
        at += r->nodes[j].vnodes;
    }
    qsort(r->points, r->npoints, sizeof r->points[0], point_cmp);
    rc = 0;
out:
    free(own);
    EVP_MD_CTX_free(h.ctx);
    EVP_MD_free(h.md);
    return rc;
}

size_t ring__successor(const ring_t *r, const ring_pos_t *pos)
{
    size_t lo = 0, hi = r->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring__pos_lt(&r->points[mid].pos, pos))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == r->npoints ? 0 : lo;
}

static bool taken(const uint32_t *set, size_t n, uint32_t node)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == node)
            return true;
    return false;
}

static bool rack_taken(const ring_t *r, const uint32_t *set, size_t n,
                       uint32_t node)
{
    for (size_t i = 0; i < n; i++)
        if (r->nodes[set[i]].rack_id == r->nodes[node].rack_id)
            return true;
    return false;
}

size_t ring__walk(const ring_t *r, size_t start, size_t n, uint32_t *out)
{
    size_t want = n < r->nnodes ? n : r->nnodes, got = 0, racks = 0;
    /* First round: a new rack each time until every rack is used. */
    size_t i = start;
    for (size_t step = 0; step < r->npoints && got < want; step++) {
        uint32_t node = r->points[i].node;
        i = i + 1 == r->npoints ? 0 : i + 1;
        if (taken(out, got, node))
            continue;
        if (racks < r->nracks) {
            if (rack_taken(r, out, got, node))
                continue;
            racks++;
        }
        out[got++] = node;
    }
    /* Second round, only with fewer racks than n: nodes passed over
     * above because their rack was used at the time. */
    for (size_t step = 0; step < r->npoints && got < want; step++) {
        uint32_t node = r->points[i].node;
        i = i + 1 == r->npoints ? 0 : i + 1;
        if (!taken(out, got, node))
            out[got++] = node;
    }
    return got;
}
