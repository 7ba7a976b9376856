/*
 * cluster.c - start distribution from the configuration (dist.*, and the
 * static membership in cluster.nodes).
 */
#include "cluster.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proto/cluster.pb-c.h"
#include "proto/types.h"

/* True if peer ("name@host:port") names this node. */
static bool is_self(const cfg_t *c, const char *peer)
{
    size_t n = strlen(c->node_name);
    return strncmp(peer, c->node_name, n) == 0 &&
           (peer[n] == ':' || peer[n] == '\0');
}

const char *node_first_peer(const cfg_t *c, char *buf, size_t len)
{
    char list[sizeof c->cluster_nodes], *save = NULL;
    snprintf(list, sizeof list, "%s", c->cluster_nodes);
    for (char *p = strtok_r(list, ", ", &save); p != NULL;
         p = strtok_r(NULL, ", ", &save))
        if (!is_self(c, p)) {
            snprintf(buf, len, "%s", p);
            return buf;
        }
    return NULL;
}

/* Every type of the roles' contracts decodes from the wire. */
static int register_types(rt_t *rt)
{
    const ProtobufCMessageDescriptor *const *lists[] = {
        cleo_proto_storage_types, cleo_proto_manager_types,
        cleo_proto_introspect_types, cleo_proto_storage_meta_types,
        cleo_proto_cluster_types};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (size_t k = 0; lists[i][k] != NULL; k++) {
            int rc = rt_dist_register_pb(rt, lists[i][k]);
            if (rc < 0) {
                fprintf(stderr, "cleo: dist: type %s: %s\n", lists[i][k]->name,
                        cleo_strerror(rc));
                return rc;
            }
        }
    return 0;
}

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
                        .max_frame_bytes = c->dist_max_frame,
                        .tls_cert = c->dist_tls_cert,
                        .tls_key = c->dist_tls_key,
                        .tls_ca = c->dist_tls_ca};
    rc = rt_dist_start(rt, &o);
    OPENSSL_cleanse(cookie, clen);
    free(cookie);
    bool tls = c->dist_tls_cert[0] || c->dist_tls_key[0] || c->dist_tls_ca[0];
    if (rc == CLEO_EINVAL && tls) /* rt_dist_start said which file */
        return rc;
    if (rc < 0) {
        fprintf(stderr, "cleo: dist: cannot listen on %s:%u: %s\n",
                c->dist_addr, c->dist_port, cleo_strerror(rc));
        return rc;
    }
    if ((rc = register_types(rt)) < 0)
        return rc;
    char list[sizeof c->cluster_nodes], *save = NULL;
    snprintf(list, sizeof list, "%s", c->cluster_nodes);
    for (char *p = strtok_r(list, ", ", &save); p != NULL;
         p = strtok_r(NULL, ", ", &save)) {
        uint16_t idx;
        if (is_self(c, p))
            continue; /* this node itself: one list serves every node */
        rc = rt_dist_node(rt, p, &idx);
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

const mgr_cluster_opts_t *node_cluster_opts(const cfg_t *c, const char *data)
{
    static char list[sizeof c->cluster_managers], raft_dir[4096], address[96];
    static const char *managers[16];
    static mgr_cluster_opts_t o;
    if (c->cluster_managers[0] == '\0')
        return NULL;
    if (c->dist_port == 0) {
        fprintf(stderr, "cleo: cluster.managers needs distribution "
                        "(dist.port)\n");
        return &o; /* o.node NULL: the caller refuses to start */
    }
    snprintf(list, sizeof list, "%s", c->cluster_managers);
    size_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(list, ", ", &save); p != NULL;
         p = strtok_r(NULL, ", ", &save)) {
        char *colon = strchr(p, ':');
        if (colon != NULL) /* name@host:port: the port is cluster.nodes' */
            *colon = '\0';
        if (n == sizeof managers / sizeof managers[0]) {
            fprintf(stderr, "cleo: cluster.managers: at most 16 managers\n");
            return &o;
        }
        managers[n++] = p;
    }
    snprintf(raft_dir, sizeof raft_dir, "%s/raft", data);
    snprintf(address, sizeof address, "%s:%u", c->dist_addr, c->dist_port);
    uint32_t roles = 0;
    if (c->roles & CFG_ROLE_MANAGER)
        roles |= CLEO__CLUSTER__ROLE__ROLE_MANAGER;
    if (c->roles & CFG_ROLE_STORAGE)
        roles |= CLEO__CLUSTER__ROLE__ROLE_STORAGE;
    if (c->roles & CFG_ROLE_GATEWAY)
        roles |= CLEO__CLUSTER__ROLE__ROLE_GATEWAY;
    o = (mgr_cluster_opts_t){.node = c->node_name,
                             .address = address,
                             .rack = c->node_rack,
                             .roles = roles,
                             .vnodes = c->node_vnodes,
                             .managers = managers,
                             .n_managers = n,
                             .raft_dir = raft_dir,
                             .election_ms = c->cluster_election_ms,
                             .n = c->cluster_n,
                             .r = c->cluster_r,
                             .w = c->cluster_w,
                             .d = c->cluster_d};
    return &o;
}

bool node_is_manager(const mgr_cluster_opts_t *o, unsigned roles)
{
    /* One not named in cluster.managers runs Raft too, idle until a
     * manager-add brings it in. */
    return o != NULL && o->node != NULL && (roles & CFG_ROLE_MANAGER);
}
