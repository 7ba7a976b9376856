/*
 * ring.c - the RING's public face: checking and copying the entries,
 * the rack ids, the checksum, lookups, and the Ring message.
 */
#include "ring/ring.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ring/table.h"

/* ---- building ---------------------------------------------------- */

static int check_entry(const ring_entry_t *e)
{
    if (e->node == NULL || e->node[0] == '\0' ||
        strnlen(e->node, RING_NAME_MAX) >= RING_NAME_MAX)
        return CLEO_EINVAL;
    if (e->rack != NULL && strnlen(e->rack, RING_NAME_MAX) >= RING_NAME_MAX)
        return CLEO_EINVAL;
    if (e->vnodes == 0 || e->vnodes > RING_VNODES_MAX)
        return CLEO_EINVAL;
    return 0;
}

static int check_entries(const ring_entry_t *entries, size_t n)
{
    if (entries == NULL || n == 0)
        return CLEO_EINVAL;
    if (n > RING_NODES_MAX)
        return CLEO_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        int rc = check_entry(&entries[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int node_cmp(const void *a, const void *b)
{
    const ring__node_t *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Copy the entries' strings into one block and sort the nodes by name.
 * @return 0, CLEO_EEXIST (a name twice) or CLEO_ENOMEM. */
static int copy_nodes(ring_t *r, const ring_entry_t *entries)
{
    size_t bytes = 0;
    for (size_t i = 0; i < r->nnodes; i++) {
        const char *rack = entries[i].rack ? entries[i].rack : "";
        bytes += strlen(entries[i].node) + strlen(rack) + 2;
    }
    r->nodes = calloc(r->nnodes, sizeof *r->nodes);
    r->strings = malloc(bytes);
    if (r->nodes == NULL || r->strings == NULL)
        return CLEO_ENOMEM;
    char *s = r->strings;
    for (size_t i = 0; i < r->nnodes; i++) {
        const char *rack = entries[i].rack ? entries[i].rack : "";
        size_t nl = strlen(entries[i].node) + 1, rl = strlen(rack) + 1;
        r->nodes[i].name = memcpy(s, entries[i].node, nl);
        r->nodes[i].rack = memcpy(s + nl, rack, rl);
        r->nodes[i].vnodes = entries[i].vnodes;
        s += nl + rl;
        r->npoints += entries[i].vnodes;
    }
    qsort(r->nodes, r->nnodes, sizeof *r->nodes, node_cmp);
    for (size_t i = 1; i < r->nnodes; i++)
        if (strcmp(r->nodes[i - 1].name, r->nodes[i].name) == 0)
            return CLEO_EEXIST;
    return 0;
}

/* Number the racks: nodes of one non-empty rack share an id, a node
 * without a rack gets one of its own. Quadratic in nodes, which are at
 * most RING_NODES_MAX and numbered once per RING. */
static void number_racks(ring_t *r)
{
    r->nracks = 0;
    for (size_t i = 0; i < r->nnodes; i++) {
        ring__node_t *nd = &r->nodes[i];
        size_t j = 0;
        if (nd->rack[0] != '\0')
            while (j < i && strcmp(r->nodes[j].rack, nd->rack) != 0)
                j++;
        if (nd->rack[0] != '\0' && j < i)
            nd->rack_id = r->nodes[j].rack_id;
        else
            nd->rack_id = (uint32_t)r->nracks++;
    }
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static int update_str(EVP_MD_CTX *ctx, const char *s)
{
    unsigned char len[4];
    put_u32(len, (uint32_t)strlen(s));
    return EVP_DigestUpdate(ctx, len, 4) == 1 &&
           EVP_DigestUpdate(ctx, s, strlen(s)) == 1;
}

/* The checksum defined in ring.h. @return 0 or CLEO_ENOMEM. */
static int checksum(ring_t *r)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char b[20], md[16];
    int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, "cleo-ring-1", 11) == 1;
    for (size_t i = 0; ok && i < r->nnodes; i++) {
        put_u32(b, r->nodes[i].vnodes);
        ok = update_str(ctx, r->nodes[i].name) &&
             update_str(ctx, r->nodes[i].rack) &&
             EVP_DigestUpdate(ctx, b, 4) == 1;
    }
    for (size_t i = 0; ok && i < r->npoints; i++) {
        put_u64(b, r->points[i].pos.hi);
        put_u64(b + 8, r->points[i].pos.lo);
        put_u32(b + 16, r->points[i].node);
        ok = EVP_DigestUpdate(ctx, b, 20) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return CLEO_ENOMEM;
    r->checksum = ring__pos_from_md5(md).hi;
    return 0;
}

int ring_new(const ring_entry_t *entries, size_t n_entries, uint64_t version,
             ring_t **out)
{
    int rc = check_entries(entries, n_entries);
    if (rc < 0 || out == NULL)
        return rc < 0 ? rc : CLEO_EINVAL;
    ring_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return CLEO_ENOMEM;
    r->version = version;
    r->nnodes = n_entries;
    if ((rc = copy_nodes(r, entries)) < 0)
        goto fail;
    number_racks(r);
    rc = CLEO_ENOMEM;
    if ((r->points = malloc(r->npoints * sizeof *r->points)) == NULL)
        goto fail;
    if ((rc = ring__points_make(r, RING_CANDIDATES)) < 0 ||
        (rc = checksum(r)) < 0)
        goto fail;
    *out = r;
    return 0;
fail:
    ring_free(r);
    return rc;
}

void ring_free(ring_t *r)
{
    if (r == NULL)
        return;
    free(r->points);
    free(r->strings);
    free(r->nodes);
    free(r);
}

/* ---- inspecting -------------------------------------------------- */

uint64_t ring_version(const ring_t *r)
{
    return r->version;
}
uint64_t ring_checksum(const ring_t *r)
{
    return r->checksum;
}
size_t ring_node_count(const ring_t *r)
{
    return r->nnodes;
}
size_t ring_rack_count(const ring_t *r)
{
    return r->nracks;
}
size_t ring_point_count(const ring_t *r)
{
    return r->npoints;
}

int ring_node(const ring_t *r, size_t i, ring_entry_t *out)
{
    if (r == NULL || out == NULL || i >= r->nnodes)
        return CLEO_EINVAL;
    out->node = r->nodes[i].name;
    out->rack = r->nodes[i].rack;
    out->vnodes = r->nodes[i].vnodes;
    return 0;
}

int ring_point(const ring_t *r, size_t i, ring_pos_t *pos, size_t *node)
{
    if (r == NULL || pos == NULL || node == NULL || i >= r->npoints)
        return CLEO_EINVAL;
    *pos = r->points[i].pos;
    *node = r->points[i].node;
    return 0;
}

/* ---- looking up -------------------------------------------------- */

int ring_key_pos(const char *bucket, const char *key, ring_pos_t *out)
{
    if (bucket == NULL || key == NULL || out == NULL)
        return CLEO_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[16];
    int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, bucket, strlen(bucket)) == 1 &&
             EVP_DigestUpdate(ctx, "/", 1) == 1 &&
             EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
             EVP_DigestFinal_ex(ctx, md, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return CLEO_ENOMEM;
    *out = ring__pos_from_md5(md);
    return 0;
}

void ring_pos_hex(const ring_pos_t *pos, char out[RING_ADDR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[i] = hex[pos->hi >> (60 - 4 * i) & 0xf];
        out[16 + i] = hex[pos->lo >> (60 - 4 * i) & 0xf];
    }
    out[32] = '\0';
}

int ring_replicas_at(const ring_t *r, const ring_pos_t *pos, size_t n,
                     const char **out, size_t *count)
{
    if (r == NULL || pos == NULL || n == 0 || out == NULL || count == NULL)
        return CLEO_EINVAL;
    /* The walk works on node indices; the set is at most all nodes. */
    uint32_t idx[64], *set = idx;
    size_t want = n < r->nnodes ? n : r->nnodes;
    if (want > 64 && (set = malloc(want * sizeof *set)) == NULL)
        return CLEO_ENOMEM;
    size_t got = ring__walk(r, ring__successor(r, pos), want, set);
    for (size_t i = 0; i < got; i++)
        out[i] = r->nodes[set[i]].name;
    *count = got;
    if (set != idx)
        free(set);
    return 0;
}

int ring_replicas(const ring_t *r, const char *bucket, const char *key,
                  size_t n, const char **out, size_t *count)
{
    ring_pos_t pos;
    int rc = ring_key_pos(bucket, key, &pos);
    if (rc < 0)
        return rc;
    return ring_replicas_at(r, &pos, n, out, count);
}

/* ---- the Ring message -------------------------------------------- */

int ring_from_pb(const Cleo__Cluster__Ring *pb, ring_t **out)
{
    if (pb == NULL || out == NULL)
        return CLEO_EINVAL;
    if (pb->version == 0 && pb->n_entries == 0)
        return CLEO_ENOTFOUND;
    if (pb->n_entries > RING_NODES_MAX)
        return CLEO_ELIMIT;
    if (pb->n_entries == 0 || pb->entries == NULL)
        return CLEO_EINVAL;
    ring_entry_t *e = malloc(pb->n_entries * sizeof *e);
    if (e == NULL)
        return CLEO_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < pb->n_entries && rc == 0; i++) {
        const Cleo__Cluster__RingEntry *pe = pb->entries[i];
        if (pe == NULL)
            rc = CLEO_EPROTO;
        else
            e[i] = (ring_entry_t){pe->node, pe->rack, pe->vnodes};
    }
    ring_t *r = NULL;
    if (rc == 0)
        rc = ring_new(e, pb->n_entries, pb->version, &r);
    free(e);
    if (rc == 0 && r->checksum != pb->checksum) {
        ring_free(r);
        rc = CLEO_EPROTO;
    }
    if (rc == 0)
        *out = r;
    return rc;
}

static int entry_to_pb(const ring__node_t *nd, Cleo__Cluster__RingEntry **out)
{
    Cleo__Cluster__RingEntry *pe = malloc(sizeof *pe);
    if (pe == NULL)
        return CLEO_ENOMEM;
    cleo__cluster__ring_entry__init(pe);
    pe->vnodes = nd->vnodes;
    pe->node = strdup(nd->name);
    pe->rack = strdup(nd->rack);
    if (pe->node == NULL || pe->rack == NULL) {
        cleo__cluster__ring_entry__free_unpacked(pe, NULL);
        return CLEO_ENOMEM;
    }
    *out = pe;
    return 0;
}

int ring_to_pb(const ring_t *r, Cleo__Cluster__Ring **out)
{
    if (r == NULL || out == NULL)
        return CLEO_EINVAL;
    Cleo__Cluster__Ring *pb = malloc(sizeof *pb);
    if (pb == NULL)
        return CLEO_ENOMEM;
    cleo__cluster__ring__init(pb);
    pb->version = r->version;
    pb->checksum = r->checksum;
    int rc = CLEO_ENOMEM;
    pb->entries = calloc(r->nnodes, sizeof *pb->entries);
    if (pb->entries == NULL)
        goto fail;
    for (size_t i = 0; i < r->nnodes; i++) {
        if ((rc = entry_to_pb(&r->nodes[i], &pb->entries[i])) < 0)
            goto fail;
        pb->n_entries = i + 1;
    }
    *out = pb;
    return 0;
fail:
    cleo__cluster__ring__free_unpacked(pb, NULL);
    return rc;
}
