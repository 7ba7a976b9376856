/*
 * config.h - the node's configuration: a table of dotted keys, each with a
 * default, read from one `key = value` file and overridden by --set.
 *
 * Private to cmd/cleo. The table in config.c is the one place a key is
 * declared: its default, its parser, its bounds and its help line.
 */
#ifndef CLEO_CMD_CONFIG_H
#define CLEO_CMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_NAME_MAX 256  /* node.name, NUL included */
#define CFG_PATH_MAX 4096 /* log.file, NUL included */
#define CFG_ERR_MAX 512   /* room for one error line */

/* node.roles: the role subtrees a node runs, as bits of cfg_t.roles. */
#define CFG_ROLE_MANAGER 0x1u
#define CFG_ROLE_STORAGE 0x2u
#define CFG_ROLE_GATEWAY 0x4u
#define CFG_ROLE_ALL (CFG_ROLE_MANAGER | CFG_ROLE_STORAGE | CFG_ROLE_GATEWAY)

/* The effective configuration. Strings are NUL-terminated and inline. */
typedef struct cfg_s {
    char node_name[CFG_NAME_MAX]; /* "" = cleo@<hostname> (cfg_finish) */
    unsigned roles;               /* CFG_ROLE_* bits; never 0 */
    uint32_t schedulers;          /* threads; 0 = one per core */
    uint32_t max_actors;          /* 0 = the runtime's default */
    uint32_t dirty_threads;       /* 0 = the runtime's default */
    uint32_t io_threads;          /* 0 = the runtime's default */
    uint32_t long_turn_ms;        /* a longer turn is logged, counted */
    uint32_t long_mqueue;         /* a mailbox this long is logged */
    char log_file[CFG_PATH_MAX];  /* "" = <data>/cleo.log; "-" = stderr */
    int log_level;                /* a log_level_t */
    bool heart_enabled;
    uint32_t heart_timeout_s;        /* seconds without a beat -> kill */
    uint32_t heart_max_restarts;     /* within heart_restart_period_s */
    uint32_t heart_restart_period_s; /* seconds */
    uint32_t admin_tcp_port;         /* 0 = no TCP listener */
    uint32_t debug_hang_after_ms;    /* test-only; 0 = off */
    uint32_t debug_hang_pinned_ms;   /* test-only; 0 = off */
    /* storage.* */
    uint32_t sto_chunk_size;         /* bytes per chunk */
    uint32_t sto_tombstone_ttl_s;    /* seconds a tombstone is kept */
    uint32_t sto_scrub_interval_s;   /* seconds; 0 = on demand only */
    uint32_t sto_compact_interval_s; /* seconds; 0 = on demand only */
    uint32_t sto_cache_bytes;        /* RocksDB block cache, bytes */
    uint32_t sto_reserve_mb;         /* free MiB puts leave; 0 = no check */
    uint32_t sto_mailbox_limit;      /* engine backlog; 0 = unbounded */
    uint32_t debug_storage_write_delay_ms; /* test-only; 0 = off */
    /* dist.* and cluster.* (distribution, issue 10) */
    char dist_addr[64];                  /* listen address */
    uint32_t dist_port;                  /* 0 = distribution off */
    char dist_cookie_file[CFG_PATH_MAX]; /* "" = <data>/cookie */
    uint32_t dist_ticktime_s;            /* net_ticktime, seconds */
    uint32_t dist_max_frame;             /* bytes */
    char dist_tls_cert[CFG_PATH_MAX];    /* "" = TLS off */
    char dist_tls_key[CFG_PATH_MAX];
    char dist_tls_ca[CFG_PATH_MAX]; /* "" = peers not verified */
    char cluster_nodes[1024];       /* peers name@host:port, commas */
    char cluster_managers[1024];    /* manager nodes name@host, commas */
    uint32_t cluster_election_ms;   /* Raft election timeout */
    uint32_t cluster_n, cluster_w, cluster_r, cluster_d; /* first conf */
    uint32_t node_vnodes; /* virtual nodes on the RING */
    char node_rack[64];   /* "" = none */
    /* gateway.* */
    char gw_host[64];                 /* listen address */
    uint32_t gw_port;                 /* S3 HTTP port; 0 = off */
    uint32_t gw_rest_port;            /* REST port; 0 = off */
    uint32_t gw_https_port;           /* S3 over TLS port; 0 = off */
    char gw_https_cert[CFG_PATH_MAX]; /* PEM certificate chain path */
    char gw_https_key[CFG_PATH_MAX];  /* PEM private key path */
    char gw_rest_token[128];          /* bearer token; "" = open */
    char gw_region[32];
    char gw_domain[128]; /* virtual-host suffix */
    uint32_t gw_max_header_bytes;
    uint32_t gw_max_headers;
    uint32_t gw_max_key_bytes;
    uint32_t gw_max_put_mb; /* MiB */
    uint32_t gw_idle_timeout_ms;
    uint32_t gw_header_timeout_ms;
    uint32_t gw_max_conns;
    uint32_t gw_cache_max_bytes;
    uint32_t gw_cache_max_object_bytes;
} cfg_t;

/** Fill c with every key's default. Cannot fail (the defaults are checked
 *  by the same parsers as file values; a bad default is an assert). */
void cfg_init(cfg_t *c);

/** Set one key from its text value.
 *  @param key, value borrow.
 *  @param err out: a one-line message (no prefix) on failure.
 *  @return 0, CLEO_ENOTFOUND (unknown key) or CLEO_EINVAL (bad value). */
int cfg_set(cfg_t *c, const char *key, const char *value, char *err,
            size_t errlen);

/** Apply a `key=value` argument of --set.
 *  @return 0, or as cfg_set(); CLEO_EBADREQ when there is no '='. */
int cfg_set_arg(cfg_t *c, const char *kv, char *err, size_t errlen);

/** Read a config file: `key = value` lines, `#` comment lines and blank
 *  lines. A key may appear once per file.
 *  @param err out: "<path>:<line>: <message>" or "<path>: <errno text>".
 *  @return 0, -errno (cannot read), CLEO_EBADREQ (malformed line or
 *  duplicate key) or as cfg_set(). */
int cfg_load_file(cfg_t *c, const char *path, char *err, size_t errlen);

/** Fill the defaults that depend on the host and the data directory:
 *  node.name (cleo@<short hostname>) and log.file (<data>/cleo.log).
 *  @param data borrows: the data directory. */
void cfg_finish(cfg_t *c, const char *data);

/** Print every key with its default and meaning (for --help). */
void cfg_print_keys(FILE *f);

/** The name of a log level ("info"). Static. */
const char *cfg_level_name(int level);

#endif /* CLEO_CMD_CONFIG_H */
