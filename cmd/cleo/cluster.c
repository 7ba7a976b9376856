/*
 * cluster.c - start distribution from the configuration (dist.*, and the
 * static membership in cluster.nodes).
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int node_dist_start(rt_t *rt, const cfg_t *c, const char *data)
{
    if (c->dist_port == 0)
        return 0;
    char *cookie = NULL;
    size_t clen = 0;
    int rc = rt_dist_cookie_load(c->dist_cookie_file, data, &cookie, &clen);
    if (rc < 0) {
        fprintf(stderr, "cleo: dist: no cookie: %s\n", cleo_strerror(rc));
        return rc;
    }
    rt_dist_opts_t o = {.name = c->node_name,
                        .address = c->dist_addr,
                        .port = (uint16_t)c->dist_port,
                        .cookie = cookie,
                        .cookie_len = clen,
                        .net_ticktime_ms = c->dist_ticktime_s * 1000,
                        .max_frame_bytes = c->dist_max_frame};
    rc = rt_dist_start(rt, &o);
    OPENSSL_cleanse(cookie, clen);
    free(cookie);
    if (rc < 0) {
        fprintf(stderr, "cleo: dist: cannot listen on %s:%u: %s\n",
                c->dist_addr, c->dist_port, cleo_strerror(rc));
        return rc;
    }
    char list[sizeof c->cluster_nodes], *save = NULL;
    snprintf(list, sizeof list, "%s", c->cluster_nodes);
    for (char *p = strtok_r(list, ", ", &save); p != NULL;
         p = strtok_r(NULL, ", ", &save)) {
        uint16_t idx;
        rc = rt_dist_node(rt, p, &idx);
        if (rc == CLEO_EINVAL && strchr(p, ':') != NULL &&
            strncmp(p, c->node_name, strlen(c->node_name)) == 0 &&
            p[strlen(c->node_name)] == ':')
            continue; /* this node itself: one list serves every node */
        if (rc < 0) {
            fprintf(stderr,
                    "cleo: cluster.nodes: bad peer \"%s\" (want "
                    "name@host:port): %s\n",
                    p, cleo_strerror(rc));
            return rc;
        }
        (void)rt_dist_connect(rt, idx);
    }
    return 0;
}
