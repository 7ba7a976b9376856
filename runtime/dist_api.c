/*
 * dist_api.c - distribution's public calls (rt.h): start and stop, naming
 * peers, {name, node} pids, the node monitor, the payload type registry,
 * and the snapshots behind `cleo-adm nodes`.
 */
#include <arpa/inet.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"

static void dist_free(rt_dist_t *d);

static rt_dist_t *dist_of(rt_t *rt)
{
    return atomic_load_explicit(&rt->dist, memory_order_acquire);
}

/* "name@host": 1..255 printable bytes with one '@' not at either end. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n == 0 || n > RT_DIST_NAME_MAX || at == NULL || at == s ||
        at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
            return false;
    return true;
}

rt_dist_t *rt__dist_new(rt_t *rt, const rt_dist_opts_t *o)
{
    rt_dist_t *d = cleo_xcalloc(1, sizeof *d);
    d->rt = rt;
    snprintf(d->name, sizeof d->name, "%s", o->name);
    d->creation = o->creation;
    while (d->creation == 0)
        if (RAND_bytes((unsigned char *)&d->creation, sizeof d->creation) != 1)
            d->creation = (uint32_t)rt__dist_now_ms();
    d->cookie = cleo_xmalloc(o->cookie_len);
    memcpy(d->cookie, o->cookie, o->cookie_len);
    d->cookie_len = o->cookie_len;
    d->tick_ms = o->net_ticktime_ms ? o->net_ticktime_ms : 60000;
    d->max_frame = o->max_frame_bytes ? o->max_frame_bytes : 64u << 20;
    d->nnodes = 1;
    d->nodes = cleo_xcalloc(RT__DIST_MAX_NODES, sizeof *d->nodes);
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

bool rt__dist_opts_ok(const rt_dist_opts_t *o)
{
    return o != NULL && o->name != NULL && name_ok(o->name) &&
           o->cookie != NULL && o->cookie_len > 0 &&
           o->cookie_len <= RT_DIST_COOKIE_MAX;
}

int rt_dist_start(rt_t *rt, const rt_dist_opts_t *o)
{
    if (!rt__dist_opts_ok(o))
        return CLEO_EINVAL;
    if (rt->opts.deterministic || dist_of(rt) != NULL)
        return CLEO_ESTATE;
    rt_tls_ctx_t *tls = NULL;
    if ((o->tls_cert != NULL && o->tls_cert[0] != '\0') ||
        (o->tls_key != NULL && o->tls_key[0] != '\0') ||
        (o->tls_ca != NULL && o->tls_ca[0] != '\0')) {
        /* Every node is a server too: it needs a certificate. */
        rt_tls_ctx_opts_t to = {.cert = o->tls_cert ? o->tls_cert : "",
                                .key = o->tls_key,
                                .ca = o->tls_ca,
                                .what = "(dist.tls.*)"};
        char err[320];
        if (to.cert[0] == '\0' || to.key == NULL || to.key[0] == '\0') {
            fprintf(stderr, "cleo: dist: tls: dist.tls.cert and "
                            "dist.tls.key must both be set\n");
            return CLEO_EINVAL;
        }
        if (rt_tls_ctx_new(&to, &tls, err, sizeof err) < 0) {
            fprintf(stderr, "cleo: dist: tls: %s\n", err);
            return CLEO_EINVAL;
        }
    }
    rt_dist_t *d = rt__dist_new(rt, o);
    d->tls = tls;
    d->tls_verify = tls != NULL && o->tls_ca != NULL && o->tls_ca[0] != '\0';
    int rc =
        rt__dist_conn_start(d, o->address ? o->address : "127.0.0.1", o->port);
    if (rc < 0) {
        dist_free(d);
        return rc;
    }
    atomic_store_explicit(&rt->dist, d, memory_order_release);
    return 0;
}

int rt_dist_cookie_load(const char *cookie_file, const char *data_dir,
                        char **out, size_t *out_len)
{
    if (cookie_file != NULL && cookie_file[0] == '\0')
        cookie_file = NULL;
    return rt__dist_cookie_load(cookie_file, data_dir, out, out_len);
}

uint16_t rt_dist_port(rt_t *rt)
{
    rt_dist_t *d = dist_of(rt);
    return d ? d->port : 0;
}

const char *rt_dist_name(rt_t *rt)
{
    rt_dist_t *d = dist_of(rt);
    return d ? d->name : NULL;
}

uint32_t rt_dist_creation(rt_t *rt)
{
    rt_dist_t *d = dist_of(rt);
    return d ? d->creation : 0;
}

/* Split "name@host[:port]" into name ("name@host"), host and port. */
static int parse_peer(const char *peer, char *name, char *host, uint16_t *port)
{
    const char *colon = strrchr(peer, ':');
    size_t nl = colon ? (size_t)(colon - peer) : strlen(peer);
    if (nl == 0 || nl > RT_DIST_NAME_MAX)
        return CLEO_EINVAL;
    memcpy(name, peer, nl);
    name[nl] = '\0';
    if (!name_ok(name))
        return CLEO_EINVAL;
    *port = 0;
    if (colon != NULL) {
        char *end;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
            return CLEO_EINVAL;
        *port = (uint16_t)p;
    }
    snprintf(host, RT_DIST_NAME_MAX + 1, "%s", strchr(name, '@') + 1);
    return 0;
}

int rt_dist_node(rt_t *rt, const char *peer, uint16_t *out)
{
    rt_dist_t *d = dist_of(rt);
    char name[RT_DIST_NAME_MAX + 1], host[RT_DIST_NAME_MAX + 1];
    uint16_t port;
    if (d == NULL)
        return CLEO_ESTATE;
    if (peer == NULL || parse_peer(peer, name, host, &port) < 0 ||
        strcmp(name, d->name) == 0)
        return CLEO_EINVAL;
    rt__dnode_t *n = rt__dist_find(d, name);
    if (n == NULL && port == 0)
        return CLEO_ENOTFOUND;
    if (n == NULL) {
        n = rt__dist_declare(d, name);
        if (n == NULL)
            return CLEO_ELIMIT;
    }
    if (port != 0) {
        pthread_mutex_lock(&n->lock);
        snprintf(n->host, sizeof n->host, "%s", host);
        n->port = port;
        pthread_mutex_unlock(&n->lock);
    }
    *out = n->idx;
    return 0;
}

/* Ask the dist thread to connect to node, or to drop its connection. */
static int poke(rt_t *rt, uint16_t node, bool connect)
{
    rt_dist_t *d = dist_of(rt);
    rt__dnode_t *n = rt__dist_node_get(d, node);
    if (n == NULL)
        return CLEO_EINVAL;
    pthread_mutex_lock(&n->lock);
    bool kick = connect ? n->state == RT__DN_IDLE && n->port != 0
                        : n->state == RT__DN_UP;
    if (kick && connect) {
        n->state = RT__DN_PENDING;
        n->want_connect = true;
        n->retry_ms = 0;
    }
    n->want_close |= kick && !connect;
    if (kick)
        rt__dist_work_unlock(d, n);
    else
        pthread_mutex_unlock(&n->lock);
    return 0;
}

int rt_dist_connect(rt_t *rt, uint16_t node)
{
    return poke(rt, node, true);
}

int rt_dist_disconnect(rt_t *rt, uint16_t node)
{
    return poke(rt, node, false);
}

bool rt_dist_is_up(rt_t *rt, uint16_t node)
{
    rt__dnode_t *n = rt__dist_node_get(dist_of(rt), node);
    if (n == NULL)
        return false;
    pthread_mutex_lock(&n->lock);
    bool up = n->state == RT__DN_UP;
    pthread_mutex_unlock(&n->lock);
    return up;
}

rt_pid_t rt_dist_named(rt_t *rt, uint16_t node, const char *name)
{
    rt_dist_t *d = dist_of(rt);
    if (rt__dist_node_get(d, node) == NULL || name == NULL || name[0] == '\0' ||
        strlen(name) >= RT_NAME_MAX)
        return RT_PID_NONE;
    uint32_t slot = 0;
    pthread_mutex_lock(&d->lock);
    for (uint32_t i = 0; i < d->nnames && slot == 0; i++)
        if (strcmp(d->names[i], name) == 0)
            slot = i + 1;
    if (slot == 0 && d->nnames < RT__DIST_MAX_NAMES) {
        d->names[d->nnames++] = strdup(name);
        slot = d->names[d->nnames - 1] ? d->nnames : 0;
    }
    pthread_mutex_unlock(&d->lock);
    return slot ? RT_PID_MAKE(node, 0, slot) : RT_PID_NONE;
}

int rt_monitor_nodes(rt_actor_t *self, bool on)
{
    rt_dist_t *d = dist_of(self->rt);
    if (d == NULL)
        return CLEO_ESTATE;
    rt_pid_t me = rt_self(self);
    pthread_mutex_lock(&d->lock);
    if (on)
        rt__map_put(&d->subs, me, 0);
    else
        (void)rt__map_del(&d->subs, me, NULL);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

int rt_dist_register_pb(rt_t *rt, const ProtobufCMessageDescriptor *desc)
{
    rt_dist_t *d = dist_of(rt);
    if (d == NULL)
        return CLEO_ESTATE;
    if (desc == NULL)
        return CLEO_EINVAL;
    uint32_t h = rt__dist_pb_hash(desc->name);
    uint64_t v;
    int rc = 0;
    pthread_mutex_lock(&d->lock);
    if (rt__map_get(&d->pbs, h, &v) && v != (uintptr_t)desc)
        rc = CLEO_EEXIST;
    else
        rt__map_put(&d->pbs, h, (uintptr_t)desc);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

uint32_t rt_dist_nodes(rt_t *rt, rt_dist_node_info_t *out, uint32_t max)
{
    rt_dist_t *d = dist_of(rt);
    uint32_t k = 0;
    if (d == NULL)
        return 0;
    pthread_mutex_lock(&d->lock);
    uint32_t nn = d->nnodes;
    pthread_mutex_unlock(&d->lock);
    uint64_t now = rt__dist_now_ms();
    for (uint32_t i = 1; i < nn && k < max; i++) {
        rt__dnode_t *n = rt__dist_node_get(d, i);
        if (n == NULL || atomic_load(&n->newer) != 0)
            continue; /* an old creation of a restarted node */
        rt_dist_node_info_t *o = &out[k++];
        memset(o, 0, sizeof *o);
        o->node = n->idx;
        snprintf(o->name, sizeof o->name, "%s", n->name);
        pthread_mutex_lock(&n->lock);
        o->up = n->state == RT__DN_UP;
        o->creation = n->creation;
        if (n->addr[0] != '\0')
            snprintf(o->address, sizeof o->address, "%s", n->addr);
        else if (n->port != 0)
            snprintf(o->address, sizeof o->address, "%s:%u", n->host, n->port);
        pthread_mutex_unlock(&n->lock);
        o->up_since_ms = atomic_load(&n->up_since_ms);
        o->msgs_in = atomic_load(&n->msgs_in);
        o->msgs_out = atomic_load(&n->msgs_out);
        o->bytes_in = atomic_load(&n->bytes_in);
        o->bytes_out = atomic_load(&n->bytes_out);
        uint64_t lr = atomic_load(&n->last_recv_ms);
        o->last_recv_ms = lr != 0 && now > lr ? now - lr : 0;
    }
    return k;
}

void rt_dist_stats(rt_t *rt, rt_dist_stats_t *out)
{
    rt_dist_t *d = dist_of(rt);
    memset(out, 0, sizeof *out);
    if (d == NULL)
        return;
    out->bad_cookie = atomic_load(&d->bad_cookie);
    out->bad_handshake = atomic_load(&d->bad_handshake);
    out->bad_frame = atomic_load(&d->bad_frame);
    out->dropped = atomic_load(&d->dropped);
    out->connects = atomic_load(&d->connects);
    out->disconnects = atomic_load(&d->disconnects);
    out->tls = d->tls != NULL;
    out->tls_verify = d->tls_verify;
}

void rt__dist_shutdown(rt_t *rt)
{
    rt_dist_t *d = dist_of(rt);
    if (d != NULL)
        rt__dist_conn_stop(d);
}

/* Free d and everything it holds (its transport is stopped). */
static void dist_free(rt_dist_t *d)
{
    for (uint32_t i = 0; i < RT__DIST_MAX_NODES; i++) {
        rt__dnode_t *n = atomic_load(&d->nodes[i]);
        if (n == NULL)
            continue;
        rt__dchunk_free_all(n->oq_head);
        rt__map_destroy(&n->rel);
        pthread_mutex_destroy(&n->lock);
        free(n);
    }
    for (uint32_t i = 0; i < d->nnames; i++)
        free(d->names[i]);
    rt__map_destroy(&d->subs);
    rt__map_destroy(&d->logged);
    rt__map_destroy(&d->pbs);
    free(d->work);
    free(d->nodes);
    OPENSSL_cleanse(d->cookie, d->cookie_len);
    free(d->cookie);
    rt_tls_ctx_free(d->tls);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void rt__dist_free(rt_t *rt)
{
    rt_dist_t *d = dist_of(rt);
    if (d == NULL)
        return;
    rt__dist_conn_stop(d);
    atomic_store_explicit(&rt->dist, NULL, memory_order_release);
    dist_free(d);
}
