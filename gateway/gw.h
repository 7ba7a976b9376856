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
} gw_conf_t;

/** Fill c with the defaults (S3 on 127.0.0.1:8080). */
GW_API void gw_conf_init(gw_conf_t *c);

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
