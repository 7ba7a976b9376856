/*
 * test_dist_tls.c - distribution over TLS (dist.tls.*) between two
 * runtimes in this process on loopback: A is rtt's runtime, B a second
 * one with an echo server. Certificates are made for the run with the
 * openssl command: a CA, two node certificates it signed, and a third
 * from a CA nobody trusts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/dist.pb-c.h"
#include "rtt.h"

enum {
    T_ECHO = RTT_CMD_BASE + 10,
    T_ECHOED,
};

static const char cookie[] = "tls-cookie";
static char dir[64];
static rt_t *rtb;
static uint16_t b_on_a;

/* ---- certificates ------------------------------------------------------ */

/* dir/<ca>.crt and its key: a self-signed CA. */
static void make_ca(const char *ca)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-subj /CN=%s -keyout %s.key -out %s.crt 2>/dev/null",
             dir, ca, ca, ca);
    cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
}

/* dir/<name>.crt and its key, signed by ca. */
static void make_node(const char *ca, const char *name)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -subj /CN=%s "
             "-keyout %s.key -out %s.csr 2>/dev/null && "
             "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key "
             "-CAcreateserial -days 2 -out %s.crt 2>/dev/null",
             dir, name, name, name, name, ca, ca, name);
    cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
}

static void make_certs(void)
{
    snprintf(dir, sizeof dir, "/tmp/cleo-dtls-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    make_ca("ca");
    make_node("ca", "a");
    make_node("ca", "b");
    make_ca("evil");
    make_node("evil", "c");
}

static char *path(const char *file)
{
    static char p[8][128];
    static int i;
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, file);
    return p[i];
}

/* ---- nodes ------------------------------------------------------------- */

static int echo_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type != T_ECHO)
        return 0;
    rt_msg_t *r = rt_msg_new(T_ECHOED);
    r->tag = m->tag;
    r->payload = m->payload; /* moved */
    r->payload_free = m->payload_free;
    m->payload = NULL;
    rt_from_t f = rt_msg_caller(m);
    if (f.ref != 0)
        (void)rt_reply(rt_actor_rt(self), f, r);
    else
        (void)rt_send(rt_actor_rt(self), m->from, r);
    return 0;
}

static const rt_behaviour_t echo_beh = {.name = "echo", .handle = echo_handle};

/* Distribution options for node `who` ("a", "b", "c"; NULL = no TLS),
 * trusting ca (NULL = no verification). */
static rt_dist_opts_t opts(const char *name, const char *who, const char *ca)
{
    rt_dist_opts_t d = {.name = name,
                        .cookie = cookie,
                        .cookie_len = strlen(cookie),
                        .net_ticktime_ms = 2000};
    if (who != NULL) {
        char f[16];
        snprintf(f, sizeof f, "%s.crt", who);
        d.tls_cert = path(f);
        snprintf(f, sizeof f, "%s.key", who);
        d.tls_key = path(f);
    }
    if (ca != NULL) {
        char f[16];
        snprintf(f, sizeof f, "%s.crt", ca);
        d.tls_ca = path(f);
    }
    return d;
}

/* A (rtt's runtime) with a_tls, B with b_tls; A learns B's address. */
static void start(const char *a_tls, const char *b_tls, const char *ca)
{
    rtt_setup();
    rt_dist_opts_t da = opts("a@127.0.0.1", a_tls, ca);
    cr_assert_eq(rt_dist_start(rtt_rt, &da), 0);
    cr_assert_eq(
        rt_dist_register_pb(rtt_rt, &cleo__dist__frame_header__descriptor), 0);
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rtb), 0);
    rt_dist_opts_t db = opts("b@127.0.0.1", b_tls, ca);
    cr_assert_eq(rt_dist_start(rtb, &db), 0);
    cr_assert_eq(
        rt_dist_register_pb(rtb, &cleo__dist__frame_header__descriptor), 0);
    rt_pid_t echo;
    rt_spawn_opts_t so = {.sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rtb, NULL, &echo_beh, NULL, &so, &echo), 0);
    cr_assert_eq(rt_register(rtb, "echo", echo), 0);
    char peer[64];
    snprintf(peer, sizeof peer, "b@127.0.0.1:%u", rt_dist_port(rtb));
    cr_assert_eq(rt_dist_node(rtt_rt, peer, &b_on_a), 0);
}

static void setup(void)
{
    make_certs();
}

static void teardown(void)
{
    if (rtb != NULL)
        rt_free(rtb);
    rtb = NULL;
    rtt_teardown();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

TestSuite(dist_tls, .init = setup, .fini = teardown, .timeout = 60);

static rt_msg_t *pbmsg(uint32_t tag)
{
    Cleo__Dist__FrameHeader *h = malloc(sizeof *h);
    cleo__dist__frame_header__init(h);
    h->tag = tag;
    rt_msg_t *m = rt_msg_new(T_ECHO);
    rt_msg_set_pb(m, h);
    m->tag = tag;
    m->from = rtt_ibp;
    return m;
}

/* A call to B's echo. @return its status. */
static int call_echo(uint32_t tag, uint32_t timeout_ms)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    rt_msg_t *rep = NULL;
    int rc = rt_call_sync(rtt_rt, echo, pbmsg(tag), timeout_ms, &rep);
    if (rc == 0) {
        cr_assert_eq(((Cleo__Dist__FrameHeader *)rep->payload)->tag, tag);
        rt_msg_free(rep);
    }
    return rc;
}

/* B's handshake refusals, waited for up to 3 s to reach at least n. */
static uint64_t b_refusals(uint64_t n)
{
    rt_dist_stats_t st;
    for (int i = 0; i < 300; i++) {
        rt_dist_stats(rtb, &st);
        if (st.bad_handshake + st.bad_cookie >= n)
            break;
        rtt_sleep_ms(10);
    }
    return st.bad_handshake + st.bad_cookie;
}

Test(dist_tls, calls_bodies_and_order_cross_a_verified_tls_connection)
{
    start("a", "b", "ca");
    cr_assert_eq(call_echo(7, 5000), 0);
    cr_assert(rt_dist_is_up(rtt_rt, b_on_a));
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    enum { LEN = 3 << 20, N = 5000 };
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(LEN, &b), 0);
    for (size_t i = 0; i < LEN; i++)
        rt_buf_data(b)[i] = (char)(i * 13 + 1);
    cr_assert_eq(rt_buf_set_len(b, LEN), 0);
    rt_msg_t *m = rt_msg_new(T_ECHO);
    m->from = rtt_ibp;
    rt_msg_set_buf(m, b);
    cr_assert_eq(rt_send(rtt_rt, echo, m), 0);
    for (uint32_t i = 1; i <= N; i++)
        cr_assert_eq(rt_send(rtt_rt, echo, pbmsg(i)), 0);
    rt_msg_t *r = rtt_expect_msg(T_ECHOED, RTT_WAIT_MS);
    rt_buf_t *rb = r->payload;
    cr_assert_eq(rt_buf_len(rb), LEN);
    for (size_t i = 0; i < LEN; i++)
        cr_assert_eq(rt_buf_data(rb)[i], (char)(i * 13 + 1), "byte %zu", i);
    rt_msg_free(r);
    for (uint32_t i = 1; i <= N; i++) {
        r = rtt_expect_msg(T_ECHOED, RTT_WAIT_MS);
        cr_assert_eq(r->tag, i, "message %u arrived as %u", i, r->tag);
        rt_msg_free(r);
    }
    rt_dist_stats_t st;
    rt_dist_stats(rtb, &st);
    cr_assert_eq(st.bad_handshake + st.bad_cookie + st.bad_frame, 0);
}

Test(dist_tls, a_lost_connection_comes_back_over_tls)
{
    start("a", "b", NULL); /* encrypted, peers not verified */
    cr_assert_eq(call_echo(1, 5000), 0);
    cr_assert_eq(rt_dist_disconnect(rtt_rt, b_on_a), 0);
    for (int i = 0; i < 200 && rt_dist_is_up(rtt_rt, b_on_a); i++)
        rtt_sleep_ms(10);
    cr_assert_not(rt_dist_is_up(rtt_rt, b_on_a));
    cr_assert_eq(call_echo(2, 5000), 0); /* the send dials again */
}

Test(dist_tls, a_plain_node_cannot_talk_to_a_tls_node)
{
    start(NULL, "b", NULL);
    int rc = call_echo(3, 1500);
    cr_assert_neq(rc, 0, "a plain peer got through");
    cr_assert_not(rt_dist_is_up(rtt_rt, b_on_a));
    cr_assert_geq(b_refusals(1), 1);
}

Test(dist_tls, a_certificate_from_another_ca_is_refused)
{
    rtt_setup();
    rt_dist_opts_t da = opts("a@127.0.0.1", "c", "ca"); /* c: signed by evil */
    cr_assert_eq(rt_dist_start(rtt_rt, &da), 0);
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rtb), 0);
    rt_dist_opts_t db = opts("b@127.0.0.1", "b", "ca");
    cr_assert_eq(rt_dist_start(rtb, &db), 0);
    char peer[64];
    snprintf(peer, sizeof peer, "b@127.0.0.1:%u", rt_dist_port(rtb));
    cr_assert_eq(rt_dist_node(rtt_rt, peer, &b_on_a), 0);
    cr_assert_neq(call_echo(4, 1500), 0);
    cr_assert_not(rt_dist_is_up(rtt_rt, b_on_a));
    cr_assert_geq(b_refusals(1), 1);
    rt_dist_stats_t st;
    rt_dist_stats(rtt_rt, &st);
    cr_assert_eq(st.bad_cookie, 0, "refused by TLS, before any cookie");
}

Test(dist_tls, the_first_bytes_on_the_wire_are_a_tls_handshake)
{
    start("a", "b", NULL);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sl), 0);
    cr_assert_eq(listen(ls, 1), 0);
    cr_assert_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char peer[64];
    uint16_t idx;
    snprintf(peer, sizeof peer, "x@127.0.0.1:%u", ntohs(sa.sin_port));
    cr_assert_eq(rt_dist_node(rtt_rt, peer, &idx), 0);
    cr_assert_eq(rt_dist_connect(rtt_rt, idx), 0);
    int fd = accept(ls, NULL, NULL);
    cr_assert_geq(fd, 0);
    unsigned char b[3] = {0};
    cr_assert_eq(recv(fd, b, sizeof b, MSG_WAITALL), 3);
    /* A TLS handshake record (22) of version 3.x: a ClientHello, where a
     * plain node would send the cookie HELLO's length. */
    cr_assert_eq(b[0], 0x16);
    cr_assert_eq(b[1], 0x03);
    close(fd);
    close(ls);
}

Test(dist_tls, unusable_tls_files_refuse_to_start)
{
    rtt_setup();
    rt_dist_opts_t d = opts("a@127.0.0.1", "a", NULL);
    d.tls_cert = path("missing.crt");
    cr_assert_eq(rt_dist_start(rtt_rt, &d), CLEO_EINVAL);
    d = opts("a@127.0.0.1", "a", NULL);
    d.tls_key = path("b.key"); /* another certificate's key */
    cr_assert_eq(rt_dist_start(rtt_rt, &d), CLEO_EINVAL);
    d = opts("a@127.0.0.1", NULL, "ca"); /* a CA without a certificate */
    cr_assert_eq(rt_dist_start(rtt_rt, &d), CLEO_EINVAL);
    d = opts("a@127.0.0.1", "a", NULL);
    d.tls_ca = path("a.key"); /* not certificates */
    cr_assert_eq(rt_dist_start(rtt_rt, &d), CLEO_EINVAL);
    d = opts("a@127.0.0.1", "a", "ca"); /* and then a good one starts */
    cr_assert_eq(rt_dist_start(rtt_rt, &d), 0);
}
