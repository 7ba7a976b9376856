/*
 * config.c - the configuration table and its parsers.
 *
 * Every key is one row of `keys[]`: name, default, parser, bounds, field
 * and help text. Defaults are text parsed by the same function as a file
 * value, so a default can never be a value the parser would refuse.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/actors.h"
#include "runtime/rt.h"

typedef struct cfg_key_s cfg_key_t;
typedef int (*cfg_parse_fn)(const cfg_key_t *k, cfg_t *c, const char *v,
                            char *err, size_t errlen);

struct cfg_key_s {
    const char *key;
    const char *def;   /* default, as text */
    const char *shown; /* default as shown in help, when def is computed */
    cfg_parse_fn parse;
    size_t off;        /* offset of the field in cfg_t */
    uint32_t min, max; /* integers: bounds; strings: max = field size */
    const char *doc;
};

static int parse_u32(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                     size_t errlen);
static int parse_bool(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                      size_t errlen);
static int parse_level(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                       size_t errlen);
static int parse_node(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                      size_t errlen);
static int parse_path(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                      size_t errlen);
static int parse_roles(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                       size_t errlen);

#define F(field) offsetof(cfg_t, field)
#define SZ(field) ((uint32_t)sizeof(((cfg_t *)0)->field))

static const cfg_key_t keys[] = {
    {"node.name", "", "cleo@<hostname>", parse_node, F(node_name), 0,
     SZ(node_name), "the node's name, name@host"},
    {"node.roles", "manager,storage,gateway", NULL, parse_roles, F(roles), 0, 0,
     "the role subtrees this node runs: a comma-separated subset of "
     "manager,storage,gateway"},
    {"runtime.schedulers", "0", NULL, parse_u32, F(schedulers), 0, RT_MAX_SCHED,
     "scheduler threads; 0 = one per core"},
    {"runtime.max_actors", "0", NULL, parse_u32, F(max_actors), 0,
     RT_MAX_ACTORS_LIMIT, "most actors alive at once; 0 = 4194304"},
    {"runtime.dirty_threads", "4", NULL, parse_u32, F(dirty_threads), 0, 1024,
     "threads of the blocking-work pool (short blocking jobs: reads)"},
    {"runtime.io_threads", "64", NULL, parse_u32, F(io_threads), 0, 4096,
     "threads of the I/O pool (synced writes wait there: more threads "
     "share more WAL syncs)"},
    {"runtime.long_turn_ms", "100", NULL, parse_u32, F(long_turn_ms), 1,
     3600000,
     "a handler turn longer than this many ms is logged and counted "
     "(cleo-adm stats)"},
    {"runtime.long_mqueue", "10000", NULL, parse_u32, F(long_mqueue), 1,
     UINT32_MAX,
     "a mailbox reaching this many messages is logged and counted "
     "(cleo-adm actors --sort mailbox)"},
    {"log.file", "", "<data>/cleo.log", parse_path, F(log_file), 0,
     SZ(log_file), "log file; \"-\" = stderr"},
    {"log.level", "info", NULL, parse_level, F(log_level), 0, 0,
     "least severe level logged: debug|info|notice|warning|error"},
    {"heart.enabled", "true", NULL, parse_bool, F(heart_enabled), 0, 0,
     "run the node under heart, which restarts it when it dies or hangs"},
    {"heart.timeout", "30", NULL, parse_u32, F(heart_timeout_s), 1, 86400,
     "seconds without a heartbeat before heart kills and restarts the node"},
    {"heart.max_restarts", "5", NULL, parse_u32, F(heart_max_restarts), 0,
     1000000, "restarts allowed within heart.restart_period, then give up"},
    {"heart.restart_period", "60", NULL, parse_u32, F(heart_restart_period_s),
     1, 86400, "seconds over which heart.max_restarts is counted"},
    {"admin.tcp_port", "0", NULL, parse_u32, F(admin_tcp_port), 0, 65535,
     "127.0.0.1 admin port, token in <data>/admin.token; 0 = off"},
    {"dist.address", "127.0.0.1", NULL, parse_path, F(dist_addr), 0,
     SZ(dist_addr), "address the distribution listener binds"},
    {"dist.port", "0", NULL, parse_u32, F(dist_port), 0, 65535,
     "distribution port, for other nodes; 0 = distribution off"},
    {"dist.cookie_file", "", "<data>/cookie", parse_path, F(dist_cookie_file),
     0, SZ(dist_cookie_file),
     "the shared secret (mode 0400); CLEO_COOKIE in the environment wins"},
    {"dist.net_ticktime", "60", NULL, parse_u32, F(dist_ticktime_s), 1, 3600,
     "seconds of silence after which a peer is taken as down"},
    {"dist.max_frame_bytes", "67108864", NULL, parse_u32, F(dist_max_frame),
     4096, 1073741824, "largest distribution frame (and body), bytes"},
    {"dist.tls.cert", "", NULL, parse_path, F(dist_tls_cert), 0,
     SZ(dist_tls_cert),
     "PEM certificate chain: set with dist.tls.key for TLS between nodes"},
    {"dist.tls.key", "", NULL, parse_path, F(dist_tls_key), 0, SZ(dist_tls_key),
     "the certificate's unencrypted PEM key"},
    {"dist.tls.ca", "", NULL, parse_path, F(dist_tls_ca), 0, SZ(dist_tls_ca),
     "PEM CA bundle: peers must present a certificate it signed"},
    {"cluster.nodes", "", NULL, parse_path, F(cluster_nodes), 0,
     SZ(cluster_nodes),
     "peers to connect to at start: name@host:port, comma-separated"},
    {"cluster.managers", "", NULL, parse_path, F(cluster_managers), 0,
     SZ(cluster_managers),
     "the manager nodes (name@host, comma-separated; each in cluster.nodes); "
     "set = this node joins their cluster"},
    {"cluster.election_ms", "1000", NULL, parse_u32, F(cluster_election_ms), 50,
     60000, "the managers' Raft election timeout, ms"},
    {"cluster.replicas", "3", NULL, parse_u32, F(cluster_n), 1, 16,
     "replicas of each object (set once, when the cluster is made)"},
    {"cluster.w", "2", NULL, parse_u32, F(cluster_w), 1, 16,
     "the first write quorum (cleo-adm update-consistency-level changes it)"},
    {"cluster.r", "1", NULL, parse_u32, F(cluster_r), 1, 16,
     "the first read quorum"},
    {"cluster.d", "2", NULL, parse_u32, F(cluster_d), 1, 16,
     "the first delete quorum"},
    {"node.vnodes", "168", NULL, parse_u32, F(node_vnodes), 1, 4096,
     "this storage node's virtual nodes on the RING"},
    {"node.rack", "", NULL, parse_path, F(node_rack), 0, SZ(node_rack),
     "this node's rack: replicas go to distinct racks when there are N"},
    {"gateway.http.address", "127.0.0.1", NULL, parse_path, F(gw_host), 0,
     SZ(gw_host), "IPv4 address the S3 and REST listeners bind"},
    {"gateway.http.port", "8080", NULL, parse_u32, F(gw_port), 0, 65535,
     "S3 API port; 0 = off"},
    {"gateway.https.port", "0", NULL, parse_u32, F(gw_https_port), 0, 65535,
     "S3 API over TLS port; 0 = off"},
    {"gateway.https.cert", "", NULL, parse_path, F(gw_https_cert), 0,
     SZ(gw_https_cert), "PEM certificate chain for gateway.https.port"},
    {"gateway.https.key", "", NULL, parse_path, F(gw_https_key), 0,
     SZ(gw_https_key), "PEM private key (unencrypted) of that certificate"},
    {"gateway.rest.port", "0", NULL, parse_u32, F(gw_rest_port), 0, 65535,
     "LeoFS REST API port; 0 = off"},
    {"gateway.rest.token", "", NULL, parse_path, F(gw_rest_token), 0,
     SZ(gw_rest_token), "REST bearer token; empty = open"},
    {"gateway.region", "us-east-1", NULL, parse_path, F(gw_region), 0,
     SZ(gw_region), "the region S3 clients sign for"},
    {"gateway.domain", "s3.localhost", NULL, parse_path, F(gw_domain), 0,
     SZ(gw_domain), "virtual-host style: Host <bucket>.<domain>"},
    {"gateway.max_header_bytes", "16384", NULL, parse_u32,
     F(gw_max_header_bytes), 1024, 1048576, "request line + headers, bytes"},
    {"gateway.max_headers", "100", NULL, parse_u32, F(gw_max_headers), 8, 1000,
     "headers per request"},
    {"gateway.max_key_bytes", "1024", NULL, parse_u32, F(gw_max_key_bytes), 1,
     1024, "object key length, bytes"},
    {"gateway.max_put_mb", "5120", NULL, parse_u32, F(gw_max_put_mb), 1,
     1048576, "largest single PUT, MiB"},
    {"gateway.idle_timeout_ms", "60000", NULL, parse_u32, F(gw_idle_timeout_ms),
     100, 86400000, "close a connection making no progress for this long"},
    {"gateway.header_timeout_ms", "20000", NULL, parse_u32,
     F(gw_header_timeout_ms), 100, 86400000,
     "a request head must arrive within this (slowloris)"},
    {"gateway.max_connections", "4096", NULL, parse_u32, F(gw_max_conns), 1,
     1000000, "open client connections per listener"},
    {"gateway.cache.max_bytes", "67108864", NULL, parse_u32,
     F(gw_cache_max_bytes), 0, UINT32_MAX, "object cache size; 0 = off"},
    {"gateway.cache.max_object_bytes", "262144", NULL, parse_u32,
     F(gw_cache_max_object_bytes), 0, 16777216,
     "largest object the cache keeps"},
    {"storage.chunk_size", "5242880", NULL, parse_u32, F(sto_chunk_size), 4096,
     67108864, "bytes per stored chunk (and per stream block)"},
    {"storage.tombstone_ttl", "604800", NULL, parse_u32, F(sto_tombstone_ttl_s),
     0, UINT32_MAX,
     "seconds a delete's tombstone is kept before compaction drops it"},
    {"storage.scrub_interval", "86400", NULL, parse_u32,
     F(sto_scrub_interval_s), 0, UINT32_MAX,
     "seconds between scrubs of every chunk; 0 = on demand only"},
    {"storage.compact_interval", "3600", NULL, parse_u32,
     F(sto_compact_interval_s), 0, UINT32_MAX,
     "seconds between tombstone purges + compactions; 0 = on demand only"},
    {"storage.cache_bytes", "67108864", NULL, parse_u32, F(sto_cache_bytes), 0,
     UINT32_MAX, "RocksDB block cache, bytes"},
    {"storage.reserve_mb", "64", NULL, parse_u32, F(sto_reserve_mb), 0, 1048576,
     "free disk MiB puts must leave (deletes use it); 0 = no check"},
    {"storage.mailbox_limit", "2048", NULL, parse_u32, F(sto_mailbox_limit), 0,
     1048576,
     "requests the storage engine holds (in its mailbox; reads, writes on "
     "its pools) before new ones get 503 SlowDown; 0 = unbounded"},
    {"debug.hang_after_ms", "0", NULL, parse_u32, F(debug_hang_after_ms), 0,
     UINT32_MAX,
     "test-only: a scheduler thread of the node's first run "
     "hangs after this many ms; 0 = off"},
    {"debug.storage_write_delay_ms", "0", NULL, parse_u32,
     F(debug_storage_write_delay_ms), 0, 60000,
     "test-only: each storage write job sleeps this long first, as on a "
     "slow disk; 0 = off"},
    {"debug.hang_pinned_after_ms", "0", NULL, parse_u32,
     F(debug_hang_pinned_ms), 0, UINT32_MAX,
     "test-only: in the node's first run an actor pinned to scheduler 0 "
     "(not the heartbeat's) blocks its thread after this many ms; 0 = off"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= 64, "cfg_load_file tracks keys in a 64-bit mask");

static const char *const levels[] = {"debug", "info", "notice", "warning",
                                     "error"};
_Static_assert(sizeof(levels) / sizeof(levels[0]) == LOG_ERROR + 1,
               "one name per log_level_t");

static void *field(const cfg_key_t *k, cfg_t *c)
{
    return (char *)c + k->off;
}

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A decimal integer within the key's bounds: digits only, no sign, no
 * spaces, no hex, so "08" is 8 and "1e3" is refused. */
static int parse_u32(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                     size_t errlen)
{
    uint64_t n = 0;
    bool ok = *v != '\0' && strlen(v) <= 10;
    for (const char *p = v; ok && *p; p++) {
        ok = isdigit((unsigned char)*p);
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (!ok || n < k->min || n > k->max) {
        errf(err, errlen,
             "bad value '%s' for %s: expected an integer in %u..%u", v, k->key,
             k->min, k->max);
        return CLEO_EINVAL;
    }
    *(uint32_t *)field(k, c) = (uint32_t)n;
    return 0;
}

static int parse_bool(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                      size_t errlen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *(bool *)field(k, c) = strcmp(v, yes[i]) == 0;
            return 0;
        }
    }
    errf(err, errlen, "bad value '%s' for %s: expected true or false", v,
         k->key);
    return CLEO_EINVAL;
}

static int parse_level(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                       size_t errlen)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (strcmp(v, levels[i]) == 0) {
            *(int *)field(k, c) = i;
            return 0;
        }
    }
    errf(err, errlen,
         "bad value '%s' for %s: expected debug, info, notice, warning or "
         "error",
         v, k->key);
    return CLEO_EINVAL;
}

static bool is_name_char(char ch, bool host)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '-' ||
           (host && ch == '.');
}

/* name@host, as Erlang's node names: letters, digits, '_' and '-' before
 * the '@', and a host name (dots allowed) after it. "" keeps the computed
 * default. */
static int parse_node(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                      size_t errlen)
{
    const char *at = strchr(v, '@');
    bool ok = *v == '\0' ||
              (at != NULL && at != v && at[1] != '\0' && strlen(v) < k->max);
    for (const char *p = v; ok && *p; p++)
        ok = p == at || is_name_char(*p, p > at);
    if (!ok) {
        errf(err, errlen, "bad value '%s' for %s: expected name@host", v,
             k->key);
        return CLEO_EINVAL;
    }
    strcpy(field(k, c), v);
    return 0;
}

static int parse_path(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                      size_t errlen)
{
    if (strlen(v) >= k->max) {
        errf(err, errlen, "bad value for %s: path longer than %u bytes", k->key,
             k->max - 1);
        return CLEO_EINVAL;
    }
    strcpy(field(k, c), v);
    return 0;
}

/* node.roles: a comma-separated subset of manager,storage,gateway, in
 * any order, each at most once, not empty. */
static int parse_roles(const cfg_key_t *k, cfg_t *c, const char *v, char *err,
                       size_t errlen)
{
    static const struct {
        const char *name;
        unsigned bit;
    } roles[] = {{"manager", CFG_ROLE_MANAGER},
                 {"storage", CFG_ROLE_STORAGE},
                 {"gateway", CFG_ROLE_GATEWAY}};
    unsigned bits = 0;
    bool ok = true;
    for (const char *p = v; ok; p++) {
        size_t n = strcspn(p, ","), i = 0;
        while (i < 3 && (strlen(roles[i].name) != n ||
                         strncmp(p, roles[i].name, n) != 0))
            i++;
        ok = i < 3 && !(bits & roles[i].bit);
        if (ok)
            bits |= roles[i].bit;
        p += n;
        if (*p == '\0')
            break;
    }
    if (!ok) {
        errf(err, errlen,
             "bad value '%s' for %s: expected a comma-separated subset of "
             "manager,storage,gateway, each once",
             v, k->key);
        return CLEO_EINVAL;
    }
    *(unsigned *)field(k, c) = bits;
    return 0;
}

static const cfg_key_t *find_key(const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

void cfg_init(cfg_t *c)
{
    char err[CFG_ERR_MAX];
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NKEYS; i++) {
        int rc = keys[i].parse(&keys[i], c, keys[i].def, err, sizeof(err));
        assert(rc == 0 && "a default must pass its own parser");
        (void)rc;
    }
}

int cfg_set(cfg_t *c, const char *key, const char *value, char *err,
            size_t errlen)
{
    const cfg_key_t *k = find_key(key);
    if (k == NULL) {
        errf(err, errlen, "unknown key '%s'", key);
        return CLEO_ENOTFOUND;
    }
    return k->parse(k, c, value, err, errlen);
}

/* Trim spaces at both ends in place; returns the new start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Split "key = value" (spaces optional) in place. A value may be wrapped
 * in double quotes to keep leading or trailing spaces. */
static int split_kv(char *line, char **key, char **value)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return CLEO_EBADREQ;
    *eq = '\0';
    *key = trim(line);
    *value = trim(eq + 1);
    size_t n = strlen(*value);
    if (n >= 2 && (*value)[0] == '"' && (*value)[n - 1] == '"') {
        (*value)[n - 1] = '\0';
        (*value)++;
    }
    for (const char *p = *key; *p; p++)
        if (isspace((unsigned char)*p))
            return CLEO_EBADREQ;
    return **key == '\0' ? CLEO_EBADREQ : 0;
}

int cfg_set_arg(cfg_t *c, const char *kv, char *err, size_t errlen)
{
    char *copy = strdup(kv), *key, *value;
    if (copy == NULL)
        abort();
    int rc = split_kv(copy, &key, &value);
    if (rc < 0)
        errf(err, errlen, "malformed '%s' (expected key=value)", kv);
    else
        rc = cfg_set(c, key, value, err, errlen);
    free(copy);
    return rc;
}

/* One line of a file; `seen` and `first` catch a key set twice. */
static int load_line(cfg_t *c, char *line, unsigned lineno, uint64_t *seen,
                     unsigned *first, char *err, size_t errlen)
{
    char *key, *value, *s = trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    if (split_kv(s, &key, &value) < 0) {
        errf(err, errlen, "malformed line (expected 'key = value')");
        return CLEO_EBADREQ;
    }
    const cfg_key_t *k = find_key(key);
    if (k != NULL) {
        size_t i = (size_t)(k - keys);
        if (*seen & (UINT64_C(1) << i)) {
            errf(err, errlen, "duplicate key '%s' (first set on line %u)", key,
                 first[i]);
            return CLEO_EBADREQ;
        }
        *seen |= UINT64_C(1) << i;
        first[i] = lineno;
    }
    return cfg_set(c, key, value, err, errlen);
}

int cfg_load_file(cfg_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int rc = -errno;
        errf(err, errlen, "config file %s: %s", path, strerror(errno));
        return rc;
    }
    char *line = NULL, msg[CFG_ERR_MAX];
    size_t cap = 0;
    unsigned lineno = 0, first[NKEYS] = {0};
    uint64_t seen = 0;
    int rc = 0;
    ssize_t n;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n != strlen(line)) {
            rc = CLEO_EBADREQ;
            snprintf(msg, sizeof(msg), "malformed line (NUL byte)");
        } else {
            rc = load_line(c, line, lineno, &seen, first, msg, sizeof(msg));
        }
        if (rc < 0)
            errf(err, errlen, "%s:%u: %s", path, lineno, msg);
    }
    if (rc == 0 && ferror(f)) {
        rc = -EIO;
        errf(err, errlen, "config file %s: read error", path);
    }
    free(line);
    fclose(f);
    return rc;
}

void cfg_finish(cfg_t *c, const char *data)
{
    if (c->node_name[0] == '\0') {
        char host[CFG_NAME_MAX - 8] = "";
        if (gethostname(host, sizeof(host) - 1) < 0)
            host[0] = '\0';
        host[strcspn(host, ".")] = '\0';
        for (const char *p = host; *p; p++)
            if (!is_name_char(*p, false))
                host[0] = '\0';
        snprintf(c->node_name, sizeof(c->node_name), "cleo@%s",
                 host[0] ? host : "localhost");
    }
    if (c->log_file[0] == '\0')
        snprintf(c->log_file, sizeof(c->log_file), "%s/cleo.log", data);
}

void cfg_print_keys(FILE *f)
{
    int w = 0; /* the longest key sets the column */
    for (size_t i = 0; i < NKEYS; i++)
        w = (int)strlen(keys[i].key) > w ? (int)strlen(keys[i].key) : w;
    for (size_t i = 0; i < NKEYS; i++) {
        const char *def = keys[i].shown ? keys[i].shown : keys[i].def;
        fprintf(f, "  %-*s %-16s %s\n", w, keys[i].key, def, keys[i].doc);
    }
}

const char *cfg_level_name(int level)
{
    return level >= 0 && level <= LOG_ERROR ? levels[level] : "?";
}
