/*
 * test_introspect.c - the introspection server: a runtime with a small
 * supervision tree (tests/integration/minisup.c) and the server as one of
 * its children, driven over its Unix and TCP sockets by a tiny blocking
 * client. Every request kind, and bad input that must leave the node
 * answering.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/introspect.pb-c.h"
#include "runtime/rt.h"

#include "../integration/minisup.c"

typedef Cleo__Introspect__Request req_t;
typedef Cleo__Introspect__Response resp_t;

#define K(x) CLEO__INTROSPECT__REQUEST__KIND__##x
#define R(x) CLEO__INTROSPECT__RESPONSE__KIND__##x
#define TOKEN "s3cret-token"

static rt_t *rt;
static char dir[64];
static char sock[100];
/* Where connect_unix() goes: sock, or another server's path. A pointer,
 * so switching never rewrites sock, which the server side reads. */
static const char *sock_target = sock;
static uint16_t port;
static rt_introspect_opts_t isp_opts;
static const char *const roles[] = {"storage", "gateway", NULL};

static const minisup_child_t kernel_kids[] = {
    {"logger", minisup_start_worker, "logger", 0},
    {"introspect", minisup_start_introspect, &isp_opts, 0},
};
static const minisup_spec_t kernel_spec = {kernel_kids, 2};
static const minisup_nested_t kernel_sup = {"kernel_sup", &kernel_spec};
static const minisup_child_t work_kids[] = {
    {"w1", minisup_start_worker, "w1", 0},
    {"w2", minisup_start_worker, NULL, 0},
};
static const minisup_spec_t work_spec = {work_kids, 2};
static const minisup_nested_t work_sup = {"work_sup", &work_spec};
static const minisup_child_t top_kids[] = {
    {"kernel_sup", minisup_start_nested, (void *)&kernel_sup, 1},
    {"work_sup", minisup_start_nested, (void *)&work_sup, 1},
};
static const minisup_spec_t top_spec = {top_kids, 2};

/* ---- the client ------------------------------------------------------ */

static void set_timeout(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static int connect_unix(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_target);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    set_timeout(fd);
    return fd;
}

static int connect_tcp(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    set_timeout(fd);
    return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the server may have closed on us: a test checks */
        b += w;
        n -= (size_t)w;
    }
}

static bool read_all(int fd, void *p, size_t n)
{
    char *b = p;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static void send_frame(int fd, const void *p, uint32_t n)
{
    uint8_t h[4] = {n >> 24, n >> 16, n >> 8, n};
    write_all(fd, h, 4);
    write_all(fd, p, n);
}

static void send_req(int fd, const req_t *q)
{
    size_t n = cleo__introspect__request__get_packed_size(q);
    uint8_t *b = malloc(n + 1);
    cleo__introspect__request__pack(q, b);
    send_frame(fd, b, (uint32_t)n);
    free(b);
}

/* The next response, or NULL at EOF / timeout. */
static resp_t *recv_resp(int fd)
{
    uint8_t h[4];
    if (!read_all(fd, h, 4))
        return NULL;
    uint32_t n = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
    cr_assert_leq(n, 1u << 20);
    uint8_t *b = malloc(n + 1);
    cr_assert(read_all(fd, b, n));
    resp_t *r = cleo__introspect__response__unpack(NULL, n, b);
    free(b);
    cr_assert_not_null(r, "an undecodable response");
    return r;
}

static resp_t *call(int fd, int kind, const char *target)
{
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = kind;
    q.target = (char *)(target != NULL ? target : "");
    send_req(fd, &q);
    resp_t *r = recv_resp(fd);
    cr_assert_not_null(r, "no response to kind %d", kind);
    return r;
}

static void expect_error(resp_t *r, int code)
{
    cr_assert_eq(r->kind, R(ERROR));
    cr_assert_eq(r->code, code, "code %d (%s), want %s", r->code, r->error,
                 cleo_err_name(code));
    cr_assert(r->error != NULL && r->error[0] != '\0');
    cleo__introspect__response__free_unpacked(r, NULL);
}

/* The server closed fd (EOF, not a timeout). */
static void expect_closed(int fd)
{
    char c;
    cr_assert_eq(recv(fd, &c, 1, 0), 0, "connection still open");
    close(fd);
}

/* A new connection gets a STATUS answer: the node is still serving. */
static void expect_serving(void)
{
    int fd = connect_unix();
    cr_assert_geq(fd, 0);
    resp_t *r = call(fd, K(STATUS), NULL);
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

/* ---- fixture ---------------------------------------------------------- */

static uint16_t free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static void wait_serving(void)
{
    for (int i = 0; i < 500; i++) {
        int fd = connect_unix();
        if (fd >= 0) {
            close(fd);
            return;
        }
        usleep(10000);
    }
    cr_assert_fail("the server never listened");
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/cleo-isp-XXXXXX");
    _Static_assert(sizeof dir + 16 < sizeof sock, "paths fit");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/cleo.sock", dir);
    port = free_port();
    isp_opts = (rt_introspect_opts_t){.path = sock,
                                      .tcp_port = port,
                                      .token = TOKEN,
                                      .top = "cleo_sup",
                                      .node = "test@local",
                                      .roles = roles};
    rt_opts_t o = {.schedulers = 4};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(minisup_start(rt, NULL, "cleo_sup", &top_spec, NULL), 0);
    wait_serving();
}

static void teardown(void)
{
    rt_free(rt);
    struct stat st;
    cr_expect_neq(stat(sock, &st), 0, "the socket file was removed");
    unlink(sock);
    rmdir(dir);
}

TestSuite(rt_introspect, .init = setup, .fini = teardown, .timeout = 60);

/* The text of a pid that was alive and is now dead. */
static char *dead_pid(char *buf, size_t len)
{
    rt_pid_t pid;
    cr_assert_eq(rt_spawn(rt, NULL, &worker_beh, NULL, NULL, &pid), 0);
    cr_assert_eq(rt_exit(rt, pid, RT_REASON_KILL), 0);
    for (int i = 0; i < 500 && rt_is_alive(rt, pid); i++)
        usleep(1000);
    cr_assert(!rt_is_alive(rt, pid));
    return rt_pid_fmt(pid, buf, len);
}

/* ---- requests ---------------------------------------------------------- */

Test(rt_introspect, socket_is_private_to_the_owner)
{
    struct stat st;
    cr_assert_eq(stat(sock, &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(rt_introspect, status_names_node_version_roles_and_stats)
{
    int fd = connect_unix();
    resp_t *r = call(fd, K(STATUS), NULL);
    cr_assert_eq(r->kind, R(STATUS));
    cr_assert_str_eq(r->node, "test@local");
    cr_assert(r->version[0] != '\0');
    cr_assert_eq(r->n_roles, 2);
    cr_assert_str_eq(r->roles[0], "storage");
    cr_assert_not_null(r->stats);
    cr_assert_geq(r->stats->actors, 7);
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

static const Cleo__Introspect__Actor *find_actor(const resp_t *r,
                                                 const char *name)
{
    for (size_t i = 0; i < r->n_actor; i++)
        if (strcmp(r->actor[i]->name, name) == 0)
            return r->actor[i];
    return NULL;
}

Test(rt_introspect, actors_lists_every_live_actor)
{
    int fd = connect_unix();
    resp_t *r = call(fd, K(ACTORS), NULL);
    cr_assert_eq(r->kind, R(ACTORS));
    cr_assert_eq(r->n_actor, r->total);
    const Cleo__Introspect__Actor *a = find_actor(r, "introspect");
    cr_assert_not_null(a);
    cr_assert_str_eq(a->behaviour, "introspect");
    cr_assert_geq(a->sched, 0, "the server is pinned");
    cr_assert(a->trap_exit);
    cr_assert_not_null(find_actor(r, "cleo_sup"));
    cr_assert_not_null(find_actor(r, "w1"));
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, actors_sort_and_limit)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(ACTORS);
    q.sort = "msgs";
    q.limit = 3;
    send_req(fd, &q);
    resp_t *r = recv_resp(fd);
    cr_assert_eq(r->kind, R(ACTORS));
    cr_assert_eq(r->n_actor, 3);
    cr_assert_gt(r->total, 3);
    cr_assert_geq(r->actor[0]->msgs, r->actor[1]->msgs);
    cr_assert_geq(r->actor[1]->msgs, r->actor[2]->msgs);
    cleo__introspect__response__free_unpacked(r, NULL);
    q.sort = "colour";
    send_req(fd, &q);
    expect_error(recv_resp(fd), CLEO_EINVAL);
    close(fd);
}

Test(rt_introspect, info_by_name_and_by_pid)
{
    int fd = connect_unix();
    resp_t *r = call(fd, K(INFO), "w1");
    cr_assert_eq(r->kind, R(INFO));
    cr_assert_eq(r->n_actor, 1);
    cr_assert_str_eq(r->actor[0]->behaviour, "test_worker");
    char pid[32];
    snprintf(pid, sizeof pid, "%s", r->actor[0]->pid);
    cleo__introspect__response__free_unpacked(r, NULL);
    r = call(fd, K(INFO), pid);
    cr_assert_eq(r->kind, R(INFO));
    cr_assert_str_eq(r->actor[0]->name, "w1");
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, stats_report_schedulers_and_memory)
{
    int fd = connect_unix();
    resp_t *r = call(fd, K(STATS), NULL);
    cr_assert_eq(r->kind, R(STATS));
    cr_assert_eq(r->stats->n_sched, 4);
    cr_assert_gt(r->stats->rss_bytes, 0);
    cr_assert_eq(r->stats->max_actors, 1u << 22);
    for (size_t i = 0; i < r->stats->n_sched; i++) {
        cr_assert_eq(r->stats->sched[i]->id, i);
        cr_assert(r->stats->sched[i]->utilisation >= 0.0 &&
                  r->stats->sched[i]->utilisation <= 1.0);
    }
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

static const Cleo__Introspect__Child *child(const Cleo__Introspect__Child *p,
                                            const char *id)
{
    cr_assert_not_null(p->children, "%s has no children", p->id);
    for (size_t i = 0; i < p->children->n_child; i++)
        if (strcmp(p->children->child[i]->id, id) == 0)
            return p->children->child[i];
    cr_assert_fail("no child %s under %s", id, p->id);
    return NULL;
}

Test(rt_introspect, tree_walks_nested_supervisors)
{
    int fd = connect_unix();
    resp_t *r = call(fd, K(TREE), NULL);
    cr_assert_eq(r->kind, R(TREE), "%s", r->error);
    cr_assert_str_eq(r->root->id, "cleo_sup");
    cr_assert_str_eq(r->root->behaviour, "supervisor");
    cr_assert_str_eq(r->root->children->strategy, "one_for_one");
    const Cleo__Introspect__Child *k = child(r->root, "kernel_sup");
    cr_assert_str_eq(k->type, "supervisor");
    const Cleo__Introspect__Child *i = child(k, "introspect");
    cr_assert_str_eq(i->behaviour, "introspect");
    cr_assert_eq(i->restarts, 0);
    const Cleo__Introspect__Child *w = child(child(r->root, "work_sup"), "w2");
    cr_assert_str_eq(w->behaviour, "test_worker");
    cr_assert_null(w->children);
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

/* The pid text of w1 as the tree shows it, and its restart count. */
static void w1_in_tree(int fd, char *pid, size_t len, uint32_t *restarts)
{
    resp_t *r = call(fd, K(TREE), NULL);
    cr_assert_eq(r->kind, R(TREE));
    const Cleo__Introspect__Child *w = child(child(r->root, "work_sup"), "w1");
    snprintf(pid, len, "%s", w->pid);
    *restarts = w->restarts;
    cleo__introspect__response__free_unpacked(r, NULL);
}

Test(rt_introspect, kill_makes_the_supervisor_restart_the_worker)
{
    int fd = connect_unix();
    char before[32], after[32];
    uint32_t n;
    w1_in_tree(fd, before, sizeof before, &n);
    cr_assert_eq(n, 0);
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(KILL);
    q.target = "w1";
    send_req(fd, &q);
    resp_t *r = recv_resp(fd);
    cr_assert_eq(r->kind, R(KILLED));
    cr_assert_str_eq(r->target, before);
    cleo__introspect__response__free_unpacked(r, NULL);
    for (int i = 0; i < 200; i++) {
        w1_in_tree(fd, after, sizeof after, &n);
        if (n == 1 && after[0] != '\0')
            break;
        usleep(10000);
    }
    cr_assert_eq(n, 1);
    cr_assert_str_neq(after, before);
    expect_error(call(fd, K(INFO), before), CLEO_ENOPROC);
    expect_error(call(fd, K(KILL), before), CLEO_ENOPROC);
    close(fd);
}

Test(rt_introspect, kill_with_an_unknown_reason_is_refused)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(KILL);
    q.target = "w1";
    q.reason = "because";
    send_req(fd, &q);
    expect_error(recv_resp(fd), CLEO_EINVAL);
    close(fd);
}

Test(rt_introspect, trace_streams_events_then_ends)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(TRACE);
    q.target = "w1";
    q.seconds = 1;
    send_req(fd, &q);
    usleep(100000); /* let the tracer attach */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rt_send_name(rt, "w1", rt_msg_new(42)), 0);
    int events = 0;
    resp_t *r;
    while ((r = recv_resp(fd)) != NULL && r->kind == R(TRACE_EVENT)) {
        cr_assert_eq(r->event->type, 42);
        cr_assert_str_eq(r->event->from, "");
        events++;
        cleo__introspect__response__free_unpacked(r, NULL);
    }
    cr_assert_not_null(r);
    cr_assert_eq(r->kind, R(TRACE_END));
    cleo__introspect__response__free_unpacked(r, NULL);
    cr_assert_eq(events, 3);
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, rt_whereis(rt, "w1"), &info), 0);
    cr_assert_eq(info.tracer, RT_PID_NONE, "tracing stopped");
    r = call(fd, K(STATUS), NULL); /* the connection serves again */
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, trace_ends_early_when_the_target_dies)
{
    int fd = connect_unix();
    rt_pid_t w2;
    cr_assert_eq(rt_spawn(rt, NULL, &worker_beh, NULL, NULL, &w2), 0);
    char pid[32];
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(TRACE);
    q.target = rt_pid_fmt(w2, pid, sizeof pid);
    q.seconds = 60;
    send_req(fd, &q);
    rt_actor_info_t info;
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(rt_actor_info(rt, w2, &info), 0);
        if (info.tracer != RT_PID_NONE)
            break;
        usleep(10000);
    }
    cr_assert_eq(rt_exit(rt, w2, RT_REASON_KILL), 0);
    resp_t *r = recv_resp(fd);
    cr_assert_not_null(r);
    cr_assert_eq(r->kind, R(TRACE_END));
    cr_assert_str_eq(r->target, pid);
    cr_assert_str_eq(r->exit_reason, "killed");
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, trace_of_the_server_itself_does_not_feed_back)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(TRACE);
    q.target = "introspect";
    q.seconds = 1;
    send_req(fd, &q);
    int events = 0;
    resp_t *r;
    while ((r = recv_resp(fd)) != NULL && r->kind == R(TRACE_EVENT)) {
        events++;
        cleo__introspect__response__free_unpacked(r, NULL);
    }
    cr_assert_not_null(r);
    cr_assert_eq(r->kind, R(TRACE_END));
    cr_assert_lt(events, 100);
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, client_leaving_mid_trace_stops_the_tracer)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(TRACE);
    q.target = "logger";
    q.seconds = 60;
    send_req(fd, &q);
    rt_pid_t pid = rt_whereis(rt, "logger");
    rt_actor_info_t info;
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
        if (info.tracer != RT_PID_NONE)
            break;
        usleep(10000);
    }
    cr_assert_neq(info.tracer, RT_PID_NONE);
    close(fd);
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
        if (info.tracer == RT_PID_NONE)
            break;
        usleep(10000);
    }
    cr_assert_eq(info.tracer, RT_PID_NONE);
    expect_serving();
}

Test(rt_introspect, trace_of_a_dead_pid_is_an_error)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(TRACE);
    char dead[32];
    q.target = dead_pid(dead, sizeof dead);
    send_req(fd, &q);
    expect_error(recv_resp(fd), CLEO_ENOPROC);
    close(fd);
}

/* ---- bad input ----------------------------------------------------------- */

Test(rt_introspect, oversized_frame_is_refused_and_closed)
{
    int fd = connect_unix();
    uint8_t h[4] = {0x00, 0x10, 0x00, 0x01}; /* 1 MiB + 1 */
    write_all(fd, h, 4);
    expect_error(recv_resp(fd), CLEO_ELIMIT);
    expect_closed(fd);
    expect_serving();
}

Test(rt_introspect, zero_length_frame_is_refused_and_closed)
{
    int fd = connect_unix();
    uint8_t h[4] = {0};
    write_all(fd, h, 4);
    expect_error(recv_resp(fd), CLEO_EPROTO);
    expect_closed(fd);
    expect_serving();
}

Test(rt_introspect, garbage_bytes_are_refused_and_closed)
{
    int fd = connect_unix();
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x13, 0x37};
    send_frame(fd, junk, sizeof junk);
    expect_error(recv_resp(fd), CLEO_EPROTO);
    expect_closed(fd);
    expect_serving();
}

Test(rt_introspect, truncated_frame_then_hangup_is_harmless)
{
    int fd = connect_unix();
    uint8_t h[6] = {0, 0, 0, 100, 8, 1};
    write_all(fd, h, sizeof h);
    close(fd);
    expect_serving();
}

Test(rt_introspect, unknown_kind_is_an_error_and_the_connection_lives)
{
    int fd = connect_unix();
    expect_error(call(fd, 77, NULL), CLEO_EBADREQ);
    /* UNKNOWN with nothing else would pack to a 0-byte frame. */
    expect_error(call(fd, K(UNKNOWN), "x"), CLEO_EBADREQ);
    resp_t *r = call(fd, K(STATUS), NULL);
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, bad_targets_are_errors)
{
    int fd = connect_unix();
    expect_error(call(fd, K(INFO), "no_such_name"), CLEO_ENOTFOUND);
    expect_error(call(fd, K(KILL), "no_such_name"), CLEO_ENOTFOUND);
    char dead[32];
    expect_error(call(fd, K(INFO), dead_pid(dead, sizeof dead)), CLEO_ENOPROC);
    expect_error(call(fd, K(INFO), "<0.1.x>"), CLEO_EBADPID);
    expect_error(call(fd, K(INFO), "<9.1.1>"), CLEO_EBADPID);
    expect_error(call(fd, K(INFO), "<0.99999999.1>"), CLEO_EBADPID);
    expect_error(call(fd, K(INFO), ""), CLEO_EINVAL);
    close(fd);
    expect_serving();
}

Test(rt_introspect, many_requests_in_one_write_are_all_answered)
{
    int fd = connect_unix();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(STATUS);
    size_t n = cleo__introspect__request__get_packed_size(&q);
    uint8_t one[16];
    cleo__introspect__request__pack(&q, one + 4);
    one[0] = one[1] = one[2] = 0;
    one[3] = (uint8_t)n;
    uint8_t *all = malloc(100 * (n + 4));
    for (int i = 0; i < 100; i++)
        memcpy(all + i * (n + 4), one, n + 4);
    write_all(fd, all, 100 * (n + 4));
    free(all);
    for (int i = 0; i < 100; i++) {
        resp_t *r = recv_resp(fd);
        cr_assert_not_null(r, "answer %d", i);
        cr_assert_eq(r->kind, R(STATUS));
        cleo__introspect__response__free_unpacked(r, NULL);
    }
    close(fd);
}

Test(rt_introspect, tcp_without_token_is_refused)
{
    int fd = connect_tcp();
    expect_error(call(fd, K(STATUS), NULL), -EACCES);
    expect_closed(fd);
    expect_serving();
}

Test(rt_introspect, tcp_with_wrong_token_is_refused)
{
    int fd = connect_tcp();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(STATUS);
    q.token = "s3cret-tokeN";
    send_req(fd, &q);
    expect_error(recv_resp(fd), -EACCES);
    expect_closed(fd);
    fd = connect_tcp();
    q.token = "s3cret-token-and-more";
    send_req(fd, &q);
    expect_error(recv_resp(fd), -EACCES);
    expect_closed(fd);
    expect_serving();
}

Test(rt_introspect, tcp_with_token_serves_then_needs_it_no_more)
{
    int fd = connect_tcp();
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(STATUS);
    q.token = TOKEN;
    send_req(fd, &q);
    resp_t *r = recv_resp(fd);
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
    r = call(fd, K(ACTORS), NULL);
    cr_assert_eq(r->kind, R(ACTORS));
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, killed_server_is_restarted_and_serves_again)
{
    rt_pid_t old = rt_whereis(rt, "introspect");
    int fd = connect_unix();
    resp_t *r = call(fd, K(KILL), "introspect");
    cr_assert_eq(r->kind, R(KILLED));
    cleo__introspect__response__free_unpacked(r, NULL);
    expect_closed(fd);
    for (int i = 0; i < 500; i++) {
        rt_pid_t p = rt_whereis(rt, "introspect");
        if (p != RT_PID_NONE && p != old && (fd = connect_unix()) >= 0)
            break;
        usleep(10000);
    }
    cr_assert_geq(fd, 0);
    r = call(fd, K(STATUS), NULL);
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect, start_refuses_bad_options)
{
    rt_introspect_opts_t o = {.path = NULL};
    cr_assert_eq(rt_introspect_start(rt, NULL, &o, NULL), CLEO_EINVAL);
    o.path = "/tmp/x.sock";
    o.tcp_port = 1;
    cr_assert_eq(rt_introspect_start(rt, NULL, &o, NULL), CLEO_EINVAL);
    o.tcp_port = 0;
    o.path = "/nonexistent-dir/cleo.sock";
    cr_assert_eq(rt_introspect_start(rt, NULL, &o, NULL), -ENOENT);
    o.path = sock; /* a live server's socket is not stale */
    cr_assert_eq(rt_introspect_start(rt, NULL, &o, NULL), -EADDRINUSE);
    char other[100];
    snprintf(other, sizeof other, "%s/other.sock", dir);
    o.path = other; /* the name "introspect" is taken */
    cr_assert_eq(rt_introspect_start(rt, NULL, &o, NULL), CLEO_EEXIST);
    struct stat st;
    cr_assert_neq(stat(other, &st), 0, "a failed start leaves no socket");
    expect_serving();
}

Test(rt_introspect, stale_socket_file_is_replaced)
{
    char other[100];
    snprintf(other, sizeof other, "%s/stale.sock", dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", other);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd); /* the file stays, nobody listens: stale */
    rt_t *rt2;
    rt_opts_t ro = {.schedulers = 1};
    cr_assert_eq(rt_new(&ro, &rt2), 0);
    rt_introspect_opts_t o = {.path = other};
    rt_pid_t pid;
    cr_assert_eq(rt_introspect_start(rt2, NULL, &o, &pid), 0);
    sock_target = other;
    expect_serving();
    sock_target = sock;
    rt_free(rt2);
    struct stat st;
    cr_assert_neq(stat(other, &st), 0, "removed at shutdown");
}
