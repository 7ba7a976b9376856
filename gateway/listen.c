/*
 * listen.c - the HTTP listeners: one acceptor actor per scheduler, each
 * pinned to its scheduler with its own SO_REUSEPORT socket, so the kernel
 * spreads connections over the cores and every connection actor lives on
 * the loop its socket was accepted on. The first acceptor is the
 * supervised child; the others are linked to it, so any one's death
 * takes the group down and its supervisor restarts it whole.
 *
 * An HTTPS listener (GW_LISTEN_S3_TLS) is the same group with one
 * SSL_CTX, made on the supervisor's thread before any socket is bound so
 * that a bad certificate or key fails the start. Every acceptor holds a
 * reference to it, as does every connection's SSL (OpenSSL counts them),
 * so it is freed with its last user.
 */
#include "gateway/gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "actors/actors.h"
#include "gateway/api.h"
#include "gateway/conn.h"
#include "gateway/sock.h"

#define BACKLOG 1024

typedef struct {
    uv_tcp_t tcp;
    rt_t *rt;
    rt_pid_t owner;
    int fd; /* bound socket until the handle adopts it */
    const gw_api_t *api;
    const gw_conf_t *conf;
    uint32_t conns;    /* live connection actors */
    uint32_t max;      /* this acceptor's share of max_conns */
    bool open;         /* the handle is initialised */
    rt_tls_ctx_t *tls; /* one reference; NULL = plain HTTP */
} acc_t;

typedef struct {
    int fd;
    const gw_api_t *api;
    const gw_conf_t *conf;
    uint32_t max;
    int *peer_fds; /* the first acceptor spawns the others with these */
    uint32_t npeers;
    rt_tls_ctx_t *tls; /* borrows: each acceptor takes a reference */
} acc_arg_t;

/* A socket bound to host:port with SO_REUSEPORT, listening. */
static int bind_one(const char *host, uint16_t port, int *out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return CLEO_EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, BACKLOG) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    acc_t *l = server->data;
    rt_msg_t *m = rt_msg_new(GW_MSG_ACCEPT);
    m->reason = status;
    (void)rt_send(l->rt, l->owner, m);
}

static void on_acc_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Resource destructor: the listening handle (or the bare fd). */
static void acc_release(void *p)
{
    acc_t *l = p;
    rt_tls_ctx_free(l->tls);
    l->tls = NULL;
    if (l->fd >= 0)
        close(l->fd);
    if (l->open)
        uv_close((uv_handle_t *)&l->tcp, on_acc_closed);
    else
        free(l);
}

static int on_start(rt_actor_t *self, acc_t *l)
{
    int rc = uv_tcp_init(rt_actor_loop(self), &l->tcp);
    if (rc < 0)
        return rc;
    l->open = true;
    l->tcp.data = l;
    if ((rc = uv_tcp_open(&l->tcp, l->fd)) < 0)
        return rc;
    l->fd = -1;
    return uv_listen((uv_stream_t *)&l->tcp, BACKLOG, on_connection);
}

/* S3's answer to a server at its connection limit, written at once
 * (best effort: a fresh socket's send buffer is empty). */
static void refuse_busy(gw_sock_t *s)
{
    static const char busy[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml"
        "\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 126"
        "\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
        "SlowDown</Code><Message>Please reduce your request rate.</Message>"
        "</Error>";
    uv_buf_t b = uv_buf_init((char *)busy, sizeof busy - 1);
    (void)uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
}

static int on_accept(rt_actor_t *self, acc_t *l, rt_msg_t *m)
{
    if (m->reason < 0)
        return 0; /* EMFILE and the like: the next connection may work */
    gw_sock_t *s = gw__xcalloc(1, sizeof *s);
    uv_tcp_init(rt_actor_loop(self), &s->tcp);
    s->tcp.data = s;
    if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&s->tcp) < 0) {
        gw__sock_close(s);
        return 0;
    }
    if (l->conns >= l->max) { /* over max_conns: say so, then close */
        if (l->tls == NULL)
            refuse_busy(s);
        gw__sock_close(s);
        return 0;
    }
    if (l->tls != NULL && gw__sock_tls_attach(s, l->tls) < 0) {
        gw__sock_close(s);
        return 0;
    }
    (void)uv_tcp_nodelay(&s->tcp, 1);
    rt_pid_t pid;
    if (gw__conn_spawn(self, s, l->api, l->conf, &pid) < 0)
        return 0; /* the socket was closed */
    if (rt_monitor(self, pid, NULL) == 0)
        l->conns++;
    return 0;
}

static int acc_handle(rt_actor_t *self, rt_msg_t *m)
{
    acc_t *l = rt_state(self);
    switch (m->type) {
    case GW_MSG_START:
        return on_start(self, l);
    case GW_MSG_ACCEPT:
        return on_accept(self, l, m);
    case RT_MSG_DOWN:
        l->conns--;
        return 0;
    default:
        return 0;
    }
}

static int spawn_acceptor(rt_t *rt, rt_actor_t *self, acc_arg_t *a, int sched,
                          rt_pid_t *out);

const gw_api_t *gw__api(int kind)
{
    return kind == GW_LISTEN_REST ? &gw__rest_api : &gw__s3_api;
}

static int acc_init(rt_actor_t *self, void *arg)
{
    acc_arg_t *a = arg;
    acc_t *l = gw__xcalloc(1, sizeof *l);
    l->rt = rt_actor_rt(self);
    l->owner = rt_self(self);
    l->fd = a->fd;
    a->fd = -1; /* ours now, closed by the resource */
    l->api = a->api, l->conf = a->conf, l->max = a->max;
    l->tls = a->tls != NULL ? rt_tls_ctx_ref(a->tls) : NULL;
    (void)rt_resource_add(self, acc_release, l, NULL);
    rt_set_state(self, l);
    for (uint32_t i = 0; i < a->npeers; i++) {
        acc_arg_t pa = {a->peer_fds[i], a->api, a->conf, a->max,
                        NULL,           0,      a->tls};
        a->peer_fds[i] = -1;
        int rc = spawn_acceptor(l->rt, self, &pa, (int)i + 1, NULL);
        if (rc < 0)
            return rc;
    }
    return rt_send(l->rt, l->owner, rt_msg_new(GW_MSG_START));
}

static const rt_behaviour_t acc_beh = {
    .name = "gw_listener",
    .init = acc_init,
    .handle = acc_handle,
};

static int spawn_acceptor(rt_t *rt, rt_actor_t *self, acc_arg_t *a, int sched,
                          rt_pid_t *out)
{
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = sched};
    int rc = rt_spawn(rt, self, &acc_beh, a, &o, out);
    if (a->fd >= 0) /* init never took it */
        close(a->fd);
    return rc;
}

int gw_listener_start(rt_actor_t *sup, const sup_child_spec_t *spec,
                      void *extra, rt_pid_t *out)
{
    const gw_listen_spec_t *ls = spec->arg;
    const gw_conf_t *c = ls->conf;
    uint16_t port = ls->kind == GW_LISTEN_REST     ? c->rest_port
                    : ls->kind == GW_LISTEN_S3_TLS ? c->https_port
                                                   : c->port;
    (void)extra;
    if (port == 0) {
        *out = RT_PID_NONE;
        return 0;
    }
    rt_t *rt = rt_actor_rt(sup);
    rt_tls_ctx_t *tls = NULL;
    int rc = 0;
    if (ls->kind == GW_LISTEN_S3_TLS) {
        rt_tls_ctx_opts_t to = {.cert = c->https_cert,
                                .key = c->https_key,
                                .what = "(gateway.https.*)"};
        char err[320];
        if ((rc = rt_tls_ctx_new(&to, &tls, err, sizeof err)) < 0) {
            logger_log(rt, LOG_ERROR, "gateway: https: %s", err);
            return rc;
        }
    }
    uint32_t n = rt_sched_count(rt);
    int fds[RT_MAX_SCHED];
    uint32_t nb = 0;
    for (; nb < n && rc == 0; nb++)
        rc = bind_one(c->host, port, &fds[nb]);
    if (rc < 0) {
        for (uint32_t i = 0; i + 1 < nb; i++)
            close(fds[i]);
        rt_tls_ctx_free(tls);
        return rc;
    }
    uint32_t max = c->max_conns / n > 0 ? c->max_conns / n : 1;
    acc_arg_t a = {fds[0], gw__api(ls->kind), c, max, fds + 1, n - 1, tls};
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .sched = 0};
    rc = rt_spawn(rt, sup, &acc_beh, &a, &o, out);
    if (a.fd >= 0)
        close(a.fd);
    for (uint32_t i = 1; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    rt_tls_ctx_free(tls); /* the acceptors hold their own references */
    return rc;
}
