/*
 * test_ring.c - ring/ring.c and ring/table.c: building a RING from its
 * entries, the checksum, lookups and replica sets (racks too), the Ring
 * message, and bad input. The measures are in test_measure.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ring/ring.h"

#define NAMES 8

static const char *names[NAMES] = {
    "n1@127.0.0.1", "n2@127.0.0.1", "n3@127.0.0.1", "n4@127.0.0.1",
    "n5@127.0.0.1", "n6@127.0.0.1", "n7@127.0.0.1", "n8@127.0.0.1",
};

/* The RING of names[0..n) with `vnodes` each and no racks. */
static ring_t *ring_of(size_t n, uint32_t vnodes)
{
    ring_entry_t e[NAMES];
    for (size_t i = 0; i < n; i++)
        e[i] = (ring_entry_t){names[i], "", vnodes};
    ring_t *r = NULL;
    cr_assert_eq(ring_new(e, n, 7, &r), 0);
    return r;
}

static ring_pos_t md5_pos(const char *s)
{
    unsigned char md[16];
    cr_assert_eq(EVP_Digest(s, strlen(s), md, NULL, EVP_md5(), NULL), 1);
    ring_pos_t p = {0, 0};
    for (int i = 0; i < 8; i++) {
        p.hi = p.hi << 8 | md[i];
        p.lo = p.lo << 8 | md[8 + i];
    }
    return p;
}

static bool pos_eq(ring_pos_t a, ring_pos_t b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

/* The name of the node owning point i. */
static const char *point_node(const ring_t *r, size_t i)
{
    ring_pos_t pos;
    size_t node;
    ring_entry_t e;
    cr_assert_eq(ring_point(r, i, &pos, &node), 0);
    cr_assert_eq(ring_node(r, node, &e), 0);
    return e.node;
}

static const char *rack_of(const ring_t *r, const char *node)
{
    ring_entry_t e;
    for (size_t i = 0; i < ring_node_count(r); i++) {
        cr_assert_eq(ring_node(r, i, &e), 0);
        if (strcmp(e.node, node) == 0)
            return e.rack;
    }
    cr_assert_fail("no node %s", node);
    return NULL;
}

/* ---- building and determinism ------------------------------------- */

Test(ring_ring, same_entries_in_any_order_give_same_points_and_checksum)
{
    ring_entry_t e[5], f[5];
    for (size_t i = 0; i < 5; i++)
        e[i] = (ring_entry_t){names[i], i % 2 ? "r1" : "r2", 100 + i};
    for (size_t i = 0; i < 5; i++)
        f[i] = e[(i * 3 + 2) % 5]; /* a permutation */
    ring_t *a, *b;
    cr_assert_eq(ring_new(e, 5, 1, &a), 0);
    cr_assert_eq(ring_new(f, 5, 1, &b), 0);
    cr_assert_eq(ring_checksum(a), ring_checksum(b));
    cr_assert_eq(ring_point_count(a), 510);
    cr_assert_eq(ring_point_count(b), 510);
    for (size_t i = 0; i < ring_point_count(a); i++) {
        ring_pos_t pa, pb;
        size_t na, nb;
        cr_assert_eq(ring_point(a, i, &pa, &na), 0);
        cr_assert_eq(ring_point(b, i, &pb, &nb), 0);
        cr_assert(pos_eq(pa, pb) && na == nb, "point %zu differs", i);
        if (i > 0) { /* sorted ascending */
            ring_pos_t pp;
            size_t np;
            cr_assert_eq(ring_point(a, i - 1, &pp, &np), 0);
            cr_assert(pp.hi < pa.hi || (pp.hi == pa.hi && pp.lo <= pa.lo));
        }
    }
    ring_free(a);
    ring_free(b);
}

Test(ring_ring, checksum_is_pinned_across_processes_and_architectures)
{
    /* The checksum is a defined function of the entries (ring.h): a
     * node on another architecture or release must compute this very
     * value. Changing the algorithm must change the "cleo-ring-1" tag
     * and this constant together. */
    ring_t *r = ring_of(5, 168);
    cr_assert_eq(ring_checksum(r), 0x8d38099e627ba3f5ull, "checksum %#llx",
                 (unsigned long long)ring_checksum(r));
    ring_free(r);
}

Test(ring_ring, node_points_start_with_md5_and_depend_only_on_the_node)
{
    /* Point 0 of every node is MD5("<node>#0"), and a node's points are
     * the same whatever other nodes share the RING. */
    ring_t *one = ring_of(1, 168), *five = ring_of(5, 168);
    ring_pos_t p0 = md5_pos("n1@127.0.0.1#0");
    size_t mine = 0, found0 = 0;
    for (size_t i = 0; i < ring_point_count(five); i++) {
        ring_pos_t pos;
        size_t node;
        cr_assert_eq(ring_point(five, i, &pos, &node), 0);
        if (strcmp(point_node(five, i), "n1@127.0.0.1") != 0)
            continue;
        ring_pos_t q;
        size_t qn;
        cr_assert_eq(ring_point(one, mine++, &q, &qn), 0);
        cr_assert(pos_eq(pos, q), "n1's point %zu moved", mine - 1);
        found0 += pos_eq(pos, p0);
    }
    cr_assert_eq(mine, 168);
    cr_assert_eq(found0, 1);
    ring_free(one);
    ring_free(five);
}

Test(ring_ring, raising_vnodes_keeps_the_existing_points)
{
    ring_t *a = ring_of(1, 100), *b = ring_of(1, 168);
    size_t j = 0;
    for (size_t i = 0; i < ring_point_count(a); i++) {
        ring_pos_t pa, pb;
        size_t na, nb;
        cr_assert_eq(ring_point(a, i, &pa, &na), 0);
        do
            cr_assert_eq(ring_point(b, j++, &pb, &nb), 0);
        while (!pos_eq(pa, pb) && j < ring_point_count(b));
        cr_assert(pos_eq(pa, pb), "point %zu of 100 is gone at 168", i);
    }
    ring_free(a);
    ring_free(b);
}

Test(ring_ring, checksum_changes_when_an_entry_changes)
{
    ring_entry_t e[3] = {
        {names[0], "", 168}, {names[1], "", 168}, {names[2], "", 168}};
    ring_t *base, *r;
    cr_assert_eq(ring_new(e, 3, 1, &base), 0);
    uint64_t sum = ring_checksum(base);

    cr_assert_eq(ring_new(e, 3, 2, &r), 0); /* the version is not in it */
    cr_assert_eq(ring_checksum(r), sum);
    cr_assert_eq(ring_version(r), 2);
    ring_free(r);

    ring_entry_t v[3] = {e[0], e[1], {names[2], "", 169}};
    cr_assert_eq(ring_new(v, 3, 1, &r), 0);
    cr_assert_neq(ring_checksum(r), sum, "vnodes");
    ring_free(r);

    ring_entry_t k[3] = {e[0], e[1], {names[2], "rack-b", 168}};
    cr_assert_eq(ring_new(k, 3, 1, &r), 0);
    cr_assert_neq(ring_checksum(r), sum, "rack");
    ring_free(r);

    ring_entry_t n[3] = {e[0], e[1], {names[3], "", 168}};
    cr_assert_eq(ring_new(n, 3, 1, &r), 0);
    cr_assert_neq(ring_checksum(r), sum, "name");
    ring_free(r);

    cr_assert_eq(ring_new(e, 2, 1, &r), 0);
    cr_assert_neq(ring_checksum(r), sum, "one node fewer");
    ring_free(r);
    ring_free(base);
}

Test(ring_ring, nodes_are_listed_by_name_with_racks_counted)
{
    ring_entry_t e[4] = {
        {"c@h", "r1", 2}, {"a@h", NULL, 3}, {"b@h", "r1", 4}, {"d@h", "", 5}};
    ring_t *r;
    cr_assert_eq(ring_new(e, 4, 9, &r), 0);
    cr_assert_eq(ring_node_count(r), 4);
    cr_assert_eq(ring_point_count(r), 14);
    cr_assert_eq(ring_rack_count(r), 3); /* r1, and a@h and d@h alone */
    const char *want[4] = {"a@h", "b@h", "c@h", "d@h"};
    for (size_t i = 0; i < 4; i++) {
        ring_entry_t got;
        cr_assert_eq(ring_node(r, i, &got), 0);
        cr_assert_str_eq(got.node, want[i]);
    }
    ring_entry_t a;
    cr_assert_eq(ring_node(r, 0, &a), 0);
    cr_assert_str_eq(a.rack, "");
    cr_assert_eq(a.vnodes, 3);
    ring_free(r);
}

/* ---- lookups ------------------------------------------------------ */

Test(ring_ring, key_position_is_md5_of_bucket_slash_key)
{
    ring_pos_t pos;
    char hex[RING_ADDR_LEN];
    cr_assert_eq(ring_key_pos("photos", "cat.jpg", &pos), 0);
    ring_pos_hex(&pos, hex);
    cr_assert_str_eq(hex, "e3968994c9392f35a7ac9e248417601b");
    cr_assert(pos_eq(pos, md5_pos("photos/cat.jpg")));
}

Test(ring_ring, replicas_are_n_distinct_nodes_starting_at_the_owner)
{
    ring_t *r = ring_of(5, 168);
    for (int k = 0; k < 2000; k++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", k);
        const char *out[3];
        size_t count = 0;
        cr_assert_eq(ring_replicas(r, "b", key, 3, out, &count), 0);
        cr_assert_eq(count, 3);
        cr_assert(strcmp(out[0], out[1]) && strcmp(out[0], out[2]) &&
                  strcmp(out[1], out[2]));
        /* out[0] owns the first point at or after the key. */
        ring_pos_t kp, pp;
        size_t i = 0, node;
        cr_assert_eq(ring_key_pos("b", key, &kp), 0);
        for (; i < ring_point_count(r); i++) {
            cr_assert_eq(ring_point(r, i, &pp, &node), 0);
            if (pp.hi > kp.hi || (pp.hi == kp.hi && pp.lo >= kp.lo))
                break;
        }
        cr_assert_str_eq(out[0], point_node(r, i % ring_point_count(r)));
    }
    ring_free(r);
}

Test(ring_ring, fewer_nodes_than_n_give_every_node_once)
{
    ring_t *r = ring_of(2, 168);
    const char *out[5] = {0};
    size_t count = 0;
    cr_assert_eq(ring_replicas(r, "b", "k", 5, out, &count), 0);
    cr_assert_eq(count, 2);
    cr_assert_str_neq(out[0], out[1]);
    cr_assert_null(out[2]);
    ring_free(r);
}

Test(ring_ring, many_replicas_past_the_stack_set)
{
    /* More than 64 replicas: ring_replicas_at allocates its set. */
    static char nm[100][16];
    ring_entry_t e[100];
    for (int i = 0; i < 100; i++) {
        snprintf(nm[i], sizeof nm[i], "s%02d@h", i);
        e[i] = (ring_entry_t){nm[i], "", 2};
    }
    ring_t *r;
    cr_assert_eq(ring_new(e, 100, 1, &r), 0);
    const char *out[100];
    size_t count = 0;
    cr_assert_eq(ring_replicas(r, "b", "k", 100, out, &count), 0);
    cr_assert_eq(count, 100);
    for (int i = 0; i < 100; i++)
        for (int j = i + 1; j < 100; j++)
            cr_assert_str_neq(out[i], out[j]);
    ring_free(r);
}

Test(ring_ring, lookup_wraps_around_the_top_of_the_space)
{
    ring_t *r = ring_of(3, 16);
    size_t last = ring_point_count(r) - 1, node;
    ring_pos_t top = {UINT64_MAX, UINT64_MAX}, zero = {0, 0}, lastp;
    cr_assert_eq(ring_point(r, last, &lastp, &node), 0);
    const char *out[1];
    size_t count;
    /* Past the last point: the lowest point owns it. */
    cr_assert_eq(ring_replicas_at(r, &top, 1, out, &count), 0);
    cr_assert_str_eq(out[0], point_node(r, 0));
    ring_pos_t above = lastp;
    if (++above.lo == 0)
        above.hi++;
    cr_assert_eq(ring_replicas_at(r, &above, 1, out, &count), 0);
    cr_assert_str_eq(out[0], point_node(r, 0));
    /* At a point: that point owns it. */
    cr_assert_eq(ring_replicas_at(r, &lastp, 1, out, &count), 0);
    cr_assert_str_eq(out[0], point_node(r, last));
    cr_assert_eq(ring_replicas_at(r, &zero, 1, out, &count), 0);
    cr_assert_str_eq(out[0], point_node(r, 0));
    /* The whole walk wraps too: past the top it is the walk from 0. */
    const char *three[3], *from0[3];
    cr_assert_eq(ring_replicas_at(r, &top, 3, three, &count), 0);
    cr_assert_eq(count, 3);
    cr_assert_eq(ring_replicas_at(r, &zero, 3, from0, &count), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(three[i], from0[i]);
    /* From the last point, the second replica is met after the top. */
    cr_assert_eq(ring_replicas_at(r, &lastp, 3, three, &count), 0);
    size_t i = 0;
    while (strcmp(point_node(r, i), three[0]) == 0)
        i++;
    cr_assert_str_eq(three[1], point_node(r, i));
    ring_free(r);
}

/* ---- racks -------------------------------------------------------- */

Test(ring_ring, replicas_land_on_distinct_racks_when_there_are_enough)
{
    /* 6 nodes in 3 racks, two each; the names interleave the racks. */
    ring_entry_t e[6];
    const char *racks[3] = {"ra", "rb", "rc"};
    for (size_t i = 0; i < 6; i++)
        e[i] = (ring_entry_t){names[i], racks[i % 3], 168};
    ring_t *r;
    cr_assert_eq(ring_new(e, 6, 1, &r), 0);
    cr_assert_eq(ring_rack_count(r), 3);
    size_t plain_same = 0;
    ring_t *norack = ring_of(6, 168);
    for (int k = 0; k < 2000; k++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%d", k);
        const char *out[3];
        size_t count;
        cr_assert_eq(ring_replicas(r, "b", key, 3, out, &count), 0);
        cr_assert_eq(count, 3);
        const char *a = rack_of(r, out[0]), *b = rack_of(r, out[1]),
                   *c = rack_of(r, out[2]);
        cr_assert(strcmp(a, b) && strcmp(a, c) && strcmp(b, c),
                  "%s: racks %s %s %s", key, a, b, c);
        /* Without racks the same keys often share a rack. */
        cr_assert_eq(ring_replicas(norack, "b", key, 3, out, &count), 0);
        a = rack_of(r, out[0]), b = rack_of(r, out[1]), c = rack_of(r, out[2]);
        plain_same += !strcmp(a, b) || !strcmp(a, c) || !strcmp(b, c);
    }
    cr_assert_gt(plain_same, 500, "the rack rule did nothing: %zu", plain_same);
    ring_free(norack);
    ring_free(r);
}

Test(ring_ring, fewer_racks_than_n_fall_back_to_distinct_nodes)
{
    /* 5 nodes in 2 racks (3 + 2), n = 3: both racks, then any node. */
    ring_entry_t e[5];
    for (size_t i = 0; i < 5; i++)
        e[i] = (ring_entry_t){names[i], i < 3 ? "ra" : "rb", 168};
    ring_t *r;
    cr_assert_eq(ring_new(e, 5, 1, &r), 0);
    for (int k = 0; k < 1000; k++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%d", k);
        const char *out[4];
        size_t count;
        cr_assert_eq(ring_replicas(r, "b", key, 4, out, &count), 0);
        cr_assert_eq(count, 4);
        for (int i = 0; i < 4; i++)
            for (int j = i + 1; j < 4; j++)
                cr_assert_str_neq(out[i], out[j]);
        cr_assert_str_neq(rack_of(r, out[0]), rack_of(r, out[1]),
                          "the first two replicas share a rack");
    }
    /* One rack for all: plain distinct nodes. */
    for (size_t i = 0; i < 5; i++)
        e[i].rack = "same";
    ring_t *one;
    cr_assert_eq(ring_new(e, 5, 1, &one), 0);
    const char *out[3];
    size_t count;
    cr_assert_eq(ring_replicas(one, "b", "k", 3, out, &count), 0);
    cr_assert_eq(count, 3);
    cr_assert(strcmp(out[0], out[1]) && strcmp(out[1], out[2]) &&
              strcmp(out[0], out[2]));
    ring_free(one);
    ring_free(r);
}

/* ---- the Ring message --------------------------------------------- */

Test(ring_ring, proto_round_trip_keeps_entries_version_and_checksum)
{
    ring_entry_t e[3] = {{"z@h", "r2", 10}, {"a@h", "r1", 20}, {"m@h", "", 30}};
    ring_t *r, *back;
    cr_assert_eq(ring_new(e, 3, 42, &r), 0);
    Cleo__Cluster__Ring *pb;
    cr_assert_eq(ring_to_pb(r, &pb), 0);
    cr_assert_eq(pb->version, 42);
    cr_assert_eq(pb->checksum, ring_checksum(r));
    cr_assert_eq(pb->n_entries, 3);
    cr_assert_str_eq(pb->entries[0]->node, "a@h"); /* sorted by node */
    cr_assert_str_eq(pb->entries[1]->node, "m@h");
    cr_assert_str_eq(pb->entries[2]->node, "z@h");
    cr_assert_str_eq(pb->entries[2]->rack, "r2");
    cr_assert_eq(pb->entries[1]->vnodes, 30);

    size_t len = cleo__cluster__ring__get_packed_size(pb);
    uint8_t *buf = malloc(len);
    cleo__cluster__ring__pack(pb, buf);
    Cleo__Cluster__Ring *wire = cleo__cluster__ring__unpack(NULL, len, buf);
    cr_assert_not_null(wire);
    cr_assert_eq(ring_from_pb(wire, &back), 0);
    cr_assert_eq(ring_checksum(back), ring_checksum(r));
    cr_assert_eq(ring_version(back), 42);
    cr_assert_eq(ring_point_count(back), 60);

    wire->checksum ^= 1; /* another algorithm, or corruption */
    ring_t *bad = NULL;
    cr_assert_eq(ring_from_pb(wire, &bad), CLEO_EPROTO);
    cr_assert_null(bad);
    cleo__cluster__ring__free_unpacked(wire, NULL);
    free(buf);
    cleo__cluster__ring__free_unpacked(pb, NULL);
    ring_free(back);
    ring_free(r);
}

Test(ring_ring, proto_without_a_ring_or_with_bad_entries_is_refused)
{
    Cleo__Cluster__Ring pb = CLEO__CLUSTER__RING__INIT;
    ring_t *r = NULL;
    cr_assert_eq(ring_from_pb(&pb, &r), CLEO_ENOTFOUND); /* no RING yet */
    pb.version = 3;
    cr_assert_eq(ring_from_pb(&pb, &r), CLEO_EINVAL);
    Cleo__Cluster__RingEntry *slots[2] = {NULL, NULL};
    pb.entries = slots;
    pb.n_entries = 2;
    cr_assert_eq(ring_from_pb(&pb, &r), CLEO_EPROTO);
    Cleo__Cluster__RingEntry a = CLEO__CLUSTER__RING_ENTRY__INIT,
                             b = CLEO__CLUSTER__RING_ENTRY__INIT;
    a.node = "x@h", a.vnodes = 4;
    b.node = "x@h", b.vnodes = 4;
    slots[0] = &a, slots[1] = &b;
    cr_assert_eq(ring_from_pb(&pb, &r), CLEO_EEXIST);
    b.node = "y@h", b.vnodes = 0;
    cr_assert_eq(ring_from_pb(&pb, &r), CLEO_EINVAL);
    cr_assert_null(r);
    cr_assert_eq(ring_from_pb(NULL, &r), CLEO_EINVAL);
}

/* ---- bad input ---------------------------------------------------- */

static int try_new(const ring_entry_t *e, size_t n)
{
    ring_t *r = (ring_t *)&r; /* a sentinel: must stay unwritten */
    int rc = ring_new(e, n, 1, &r);
    if (rc == 0)
        ring_free(r);
    else
        cr_assert_eq(r, (ring_t *)&r, "out written on failure");
    return rc;
}

Test(ring_ring, bad_entries_are_refused_with_clear_codes)
{
    char long_name[RING_NAME_MAX + 1];
    memset(long_name, 'x', RING_NAME_MAX);
    long_name[RING_NAME_MAX] = '\0';
    ring_entry_t ok = {"a@h", "", 168};
    cr_assert_eq(try_new(&ok, 0), CLEO_EINVAL, "zero entries");
    cr_assert_eq(try_new(NULL, 1), CLEO_EINVAL, "NULL entries");
    ring_entry_t dup[3] = {ok, {"b@h", "", 1}, ok};
    cr_assert_eq(try_new(dup, 3), CLEO_EEXIST, "duplicate names");
    ring_entry_t e = ok;
    e.vnodes = 0;
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "vnodes 0");
    e.vnodes = RING_VNODES_MAX + 1;
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "vnodes over the cap");
    e.vnodes = UINT32_MAX;
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "vnodes absurd");
    e.vnodes = RING_VNODES_MAX;
    cr_assert_eq(try_new(&e, 1), 0, "vnodes at the cap");
    e = ok, e.node = "";
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "empty name");
    e.node = NULL;
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "NULL name");
    e.node = long_name;
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "name too long");
    long_name[RING_NAME_MAX - 1] = '\0';
    cr_assert_eq(try_new(&e, 1), 0, "name of RING_NAME_MAX - 1 bytes");
    long_name[RING_NAME_MAX - 1] = 'x';
    e = ok, e.rack = long_name;
    cr_assert_eq(try_new(&e, 1), CLEO_EINVAL, "rack too long");
    cr_assert_eq(ring_new(&ok, 1, 1, NULL), CLEO_EINVAL, "out NULL");
}

Test(ring_ring, too_many_entries_hit_the_limit)
{
    size_t n = RING_NODES_MAX + 1;
    ring_entry_t *e = calloc(n, sizeof *e);
    char(*nm)[16] = calloc(n, sizeof *nm);
    for (size_t i = 0; i < n; i++) {
        snprintf(nm[i], sizeof nm[i], "n%zu@h", i);
        e[i] = (ring_entry_t){nm[i], "", 1};
    }
    cr_assert_eq(try_new(e, n), CLEO_ELIMIT);
    cr_assert_eq(try_new(e, n - 1), 0);
    free(nm);
    free(e);
}

Test(ring_ring, bad_lookups_are_refused_and_write_nothing)
{
    ring_t *r = ring_of(3, 8);
    const char *out[3] = {"unset", "unset", "unset"};
    size_t count = 99;
    ring_pos_t pos = {1, 2};
    cr_assert_eq(ring_replicas(r, "b", "k", 0, out, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas(r, NULL, "k", 3, out, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas(r, "b", NULL, 3, out, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas(NULL, "b", "k", 3, out, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas_at(r, &pos, 0, out, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas_at(r, NULL, 1, out, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas_at(r, &pos, 1, NULL, &count), CLEO_EINVAL);
    cr_assert_eq(ring_replicas_at(r, &pos, 1, out, NULL), CLEO_EINVAL);
    cr_assert_str_eq(out[0], "unset");
    cr_assert_eq(count, 99);
    ring_entry_t e;
    size_t node;
    cr_assert_eq(ring_node(r, 3, &e), CLEO_EINVAL);
    cr_assert_eq(ring_point(r, 24, &pos, &node), CLEO_EINVAL);
    cr_assert_eq(ring_key_pos("b", "k", NULL), CLEO_EINVAL);
    Cleo__Cluster__Ring *pb = NULL;
    cr_assert_eq(ring_to_pb(NULL, &pb), CLEO_EINVAL);
    cr_assert_null(pb);
    ring_free(NULL); /* accepted */
    ring_free(r);
}
