/*
 * gw.h - LeoGateway: the S3 (and LeoFS REST) HTTP front end.
 *
 * Public API of gateway/: the configuration and the listener that the
 * node's gateway_sup starts. Everything else in the folder is private.
 * The gateway reaches storage only by messages to storage actors
 * (storage/contract.h's STO_MSG_*), found through the ring (gw_ring: one node
 * in the embedded default).
 */
#ifndef CLEO_GATEWAY_GW_H
#define CLEO_GATEWAY_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rt.h"
#include "supervisors/sup.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_API __attribute__((visibility("default")))
#define GW_WUR __attribute__((warn_unused_result))

/* The gateway's configuration (gateway.* keys). Strings borrow: they
 * must outlive the gateway (the node keeps its config for its life). */
typedef struct gw_conf_s {
    const char *host;       /* listen address, "127.0.0.1" */
    uint16_t port;          /* S3 over HTTP; 0 = off */
    uint16_t rest_port;     /* LeoFS REST; 0 = off */
    const char *rest_token; /* bearer token for REST; "" = open */
    uint16_t https_port;    /* S3 over TLS; 0 = off */
    const char *https_cert; /* PEM paths */
    const char *https_key;
    const char *region;         /* "us-east-1" */
    const char *domain;         /* virtual-host suffix, "s3.localhost" */
    uint32_t max_header_bytes;  /* request line + headers */
    uint32_t max_headers;       /* header count */
    uint32_t max_key_bytes;     /* object key length (1024) */
    uint64_t max_put_bytes;     /* single PUT (5 GiB) */
    uint32_t idle_timeout_ms;   /* no progress from the client */
    uint32_t header_timeout_ms; /* head not complete (slowloris) */
    uint32_t max_conns;         /* per listener */
    uint64_t cache_max_bytes;   /* object cache; 0 = off */
    uint64_t cache_max_object_bytes;
    /* The node that runs the storage and manager roles when this one
     * does not ("name@host:port", from cluster.nodes); NULL or "" = this
     * node. Requests then go to {name, node} pids over distribution. */
    const char *peer;
    /* cluster.managers is set: the gateway keeps the node's RING copy
     * and the cluster's buckets here (gw_view_new, filled by the gw_view
     * actor), sends each object to the primary of its replica set and
     * asks the managers for bucket changes. NULL = no cluster: the
     * one-node ring of the local or peer engine, buckets in storage. */
    struct gw_view_s *view;
} gw_conf_t;

/** Fill c with the defaults (S3 on 127.0.0.1:8080). */
GW_API void gw_conf_init(gw_conf_t *c);

/** The holder of a cluster gateway's view: the latest immutable
 *  snapshot of the node's RING copy, N and the cluster's buckets, which
 *  the gw_view actor publishes and every connection actor reads without
 *  a message (gateway/view.h). One per node, made before the gateway
 *  starts and kept for the node's life (conf->view).
 *  Aborts on out-of-memory (a fixed-size control struct).
 *  @return gives: free with gw_view_free() once no gateway uses it. */
typedef struct gw_view_s gw_view_t;
GW_API gw_view_t *gw_view_new(void);
/** Free a view and its snapshot. Accepts NULL. @param v takes. */
GW_API void gw_view_free(gw_view_t *v);

/** A sup_start_fn for the view actor (registered "gw_view"): it
 *  subscribes to the node's cluster agent (manager/contract.h's
 *  MGR_AGENT_NAME) and publishes each cluster state it gets into
 *  conf->view. spec->arg is the `const gw_conf_t *` (borrowed for the
 *  actor's life). With conf->view NULL (no cluster) it starts nothing
 *  (*out = 0). Start it before the listeners. */
GW_API GW_WUR int gw_view_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                                void *extra, rt_pid_t *out);

/** A sup_start_fn for one HTTP listener. spec->arg is a
 *  `const gw_listen_spec_t *` (static or outliving the supervisor). The
 *  socket is bound before this returns, so a taken port fails the start
 *  with -EADDRINUSE. A port of 0 in the spec's conf starts nothing and
 *  returns 0 with *out = 0 (SUP_TEMPORARY children: "ignore"). */
typedef struct gw_listen_spec_s {
    const gw_conf_t *conf; /* borrows */
    int kind;              /* GW_LISTEN_S3, GW_LISTEN_REST, GW_LISTEN_S3_TLS */
} gw_listen_spec_t;

#define GW_LISTEN_S3 0
#define GW_LISTEN_REST 1
/* S3 over TLS 1.2+ on conf->https_port with the PEM certificate chain
 * conf->https_cert and key conf->https_key. A missing, unreadable or
 * mismatched certificate or key fails the start with CLEO_EINVAL after
 * one line naming the file in the log. */
#define GW_LISTEN_S3_TLS 2

GW_API GW_WUR int gw_listener_start(rt_actor_t *sup,
                                    const sup_child_spec_t *spec, void *extra,
                                    rt_pid_t *out);

/** A sup_start_fn for the object cache actor (registered "gw_cache").
 *  spec->arg is the `const gw_conf_t *` (borrowed for the actor's life).
 *  With gateway.cache.max_bytes 0 it starts nothing (*out = 0). */
GW_API GW_WUR int gw_cache_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                                 void *extra, rt_pid_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CLEO_GATEWAY_GW_H */
