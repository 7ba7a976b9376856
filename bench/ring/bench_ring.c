/*
 * bench_ring.c - the RING library (ring/ring.h): how fast a key finds
 * its replicas, how long a RING takes to build, and the balance and
 * movement figures of `cleo-adm ring`. Run by run.sh.
 *
 * Usage: bench_ring [seconds per lookup figure, default 2]
 * Prints "ring.<figure> <value> <unit>" lines; diagnostics go to stderr.
 *
 *   lookups_5_nodes, lookups_50_nodes  ring_replicas() with n = 3 on one
 *       thread, keys "bench/key-<i>" (MD5 of the key included), per s
 *   new_5_nodes, new_50_nodes  ring_new() of 168 vnodes per node, ms
 *   balance_5_nodes  ring_balance() of 5 nodes of 168 vnodes, n = 3
 *   movement_5_to_6  ring_movement() on attaching a sixth, n = 3
 *   balance_50_nodes  the same for 50 nodes
 *
 * Node names are "n<i>@127.0.0.1", as scripts/cluster.sh names them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ring/ring.h"

#define MAX_NODES 50
#define REPLICAS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_ring: %s failed (%d)\n", what, rc);
    exit(1);
}

/* A RING of `nodes` nodes of 168 vnodes, built `reps` times; prints the
 * mean build time when name is not NULL. */
static ring_t *make(int nodes, int reps, const char *name)
{
    static char names[MAX_NODES + 1][32];
    ring_entry_t e[MAX_NODES + 1];
    for (int i = 0; i < nodes; i++) {
        snprintf(names[i], sizeof names[i], "n%d@127.0.0.1", i + 1);
        e[i] = (ring_entry_t){names[i], "", RING_VNODES_DEFAULT};
    }
    ring_t *r = NULL;
    double t0 = now_s();
    for (int k = 0; k < reps; k++) {
        ring_free(r);
        int rc = ring_new(e, (size_t)nodes, 1, &r);
        if (rc < 0)
            die("ring_new", rc);
    }
    if (name != NULL)
        printf("ring.%s %.2f ms\n", name, (now_s() - t0) * 1e3 / reps);
    return r;
}

/* Lookups per second, in batches of 1,000 keys until `secs` pass. */
static void lookups(const ring_t *r, const char *name, double secs)
{
    const char *out[REPLICAS];
    char key[32];
    size_t count, done = 0, sink = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++, done++) {
            snprintf(key, sizeof key, "key-%zu", done);
            int rc = ring_replicas(r, "bench", key, REPLICAS, out, &count);
            if (rc < 0)
                die("ring_replicas", rc);
            sink += out[0][1];
        }
        t = now_s() - t0;
    } while (t < secs);
    printf("ring.%s %.0f lookups/s\n", name, (double)done / t);
    fprintf(stderr, "bench_ring: %s: %zu lookups (%zu)\n", name, done, sink);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    ring_t *r5 = make(5, 20, "new_5_nodes");
    ring_t *r6 = make(6, 1, NULL);
    ring_t *r50 = make(50, 3, "new_50_nodes");
    lookups(r5, "lookups_5_nodes", secs);
    lookups(r50, "lookups_50_nodes", secs);
    double b;
    ring_move_t m;
    int rc;
    if ((rc = ring_balance(r5, REPLICAS, &b)) < 0)
        die("ring_balance", rc);
    printf("ring.balance_5_nodes %.3f ratio\n", b);
    if ((rc = ring_movement(r5, r6, REPLICAS, &m)) < 0)
        die("ring_movement", rc);
    printf("ring.movement_5_to_6 %.3f ratio\n", m.movement);
    if ((rc = ring_balance(r50, REPLICAS, &b)) < 0)
        die("ring_balance", rc);
    printf("ring.balance_50_nodes %.3f ratio\n", b);
    ring_free(r50);
    ring_free(r6);
    ring_free(r5);
    return 0;
}
