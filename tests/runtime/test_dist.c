/*
 * test_dist.c - distribution between two runtimes in this process over
 * real loopback TCP: A is rtt's runtime (with the inbox and probes), B a
 * second runtime holding an echo server. Payloads cross as protobuf
 * (FrameHeader stands in for an application message) or buffer bodies.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/dist.pb-c.h"
#include "rtt.h"

enum {
    T_ECHO = RTT_CMD_BASE + 10, /* answer T_ECHOED (reply if a call) */
    T_ECHOED,
    T_SPAWN, /* echo spawns a worker that says T_HELLO to the sender */
    T_HELLO,
    T_DIE,   /* the worker exits with m->reason */
    T_WATCH, /* an A probe: subscribe to node up/down */
    T_NODE = RTT_REP_BASE + 1,
};

static rt_t *rtb;       /* node B */
static uint16_t b_on_a; /* B's index in A's pids */

static rt_msg_t *pbmsg(uint32_t type, uint32_t tag)
{
    Cleo__Dist__FrameHeader *h = malloc(sizeof *h);
    cleo__dist__frame_header__init(h);
    h->tag = tag;
    h->reason = -(int32_t)tag;
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, h);
    m->tag = tag;
    m->from = rtt_ibp; /* answers come to the inbox */
    return m;
}

/* ---- B's actors ------------------------------------------------------ */

static int worker_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    return m->type == T_DIE ? m->reason : 0;
}

static const rt_behaviour_t worker_beh = {.name = "worker",
                                          .handle = worker_handle};

static int echo_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_t *rt = rt_actor_rt(self);
    if (m->type == T_SPAWN) {
        rt_pid_t w;
        rt_spawn_opts_t o = {.sched = RT_SCHED_ANY};
        if (rt_spawn(rt, self, &worker_beh, NULL, &o, &w) == 0) {
            rt_msg_t *h = rt_msg_new(T_HELLO);
            h->from = w; /* the worker's pid crosses as the frame's from */
            (void)rt_send(rt, m->from, h);
        }
        return 0;
    }
    if (m->type != T_ECHO)
        return 0;
    rt_msg_t *r = rt_msg_new(T_ECHOED);
    r->tag = m->tag;
    r->payload = m->payload; /* moved */
    r->payload_free = m->payload_free;
    m->payload = NULL;
    rt_from_t f = rt_msg_caller(m);
    if (f.ref != 0)
        (void)rt_reply(rt, f, r);
    else
        (void)rt_send(rt, m->from, r);
    return 0;
}

static const rt_behaviour_t echo_beh = {.name = "echo", .handle = echo_handle};

/* Takes calls and never answers them. */
static int hold_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    (void)m;
    return 0;
}

static const rt_behaviour_t hold_beh = {.name = "hold", .handle = hold_handle};

/* ---- A's probe: rtt's commands, plus node monitoring ----------------- */

static int watch_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == T_WATCH)
        return rtt_tell(self, RTT_ACK, 0, 0, rt_monitor_nodes(self, true));
    if (m->type == RT_MSG_NODEUP || m->type == RT_MSG_NODEDOWN)
        return rtt_tell(self, T_NODE, m->type, m->arg, m->reason);
    if (m->type == T_HELLO)
        return rtt_tell(self, T_HELLO, m->from, 0, 0);
    return rtt_probe_handle(self, m);
}

static const rt_behaviour_t watch_beh = {.name = "watch",
                                         .init = rtt_probe_init,
                                         .handle = watch_handle,
                                         .destroy = rtt_probe_destroy};

/* ---- fixture --------------------------------------------------------- */

static const char cookie[] = "test-cookie";

static rt_t *node_new(const char *name, const char *ck, uint32_t tick_ms)
{
    rt_t *rt;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
    rt_dist_opts_t d = {.name = name,
                        .cookie = ck,
                        .cookie_len = strlen(ck),
                        .net_ticktime_ms = tick_ms};
    int rc = rt_dist_start(rt, &d);
    cr_assert_eq(rc, 0, "rt_dist_start: %s", cleo_err_name(rc));
    cr_assert_eq(rt_dist_register_pb(rt, &cleo__dist__frame_header__descriptor),
                 0);
    return rt;
}

static void b_start(void)
{
    rtb = node_new("b@127.0.0.1", cookie, 2000);
    rt_pid_t echo;
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rtb, NULL, &echo_beh, NULL, &o, &echo), 0);
    cr_assert_eq(rt_register(rtb, "echo", echo), 0);
    char peer[64];
    snprintf(peer, sizeof peer, "b@127.0.0.1:%u", rt_dist_port(rtb));
    cr_assert_eq(rt_dist_node(rtt_rt, peer, &b_on_a), 0);
}

static void setup(void)
{
    rtt_setup();
    rt_dist_opts_t d = {.name = "a@127.0.0.1",
                        .cookie = cookie,
                        .cookie_len = strlen(cookie),
                        .net_ticktime_ms = 2000};
    cr_assert_eq(rt_dist_start(rtt_rt, &d), 0);
    cr_assert_eq(
        rt_dist_register_pb(rtt_rt, &cleo__dist__frame_header__descriptor), 0);
    b_start();
}

static void teardown(void)
{
    rt_free(rtb);
    rtt_teardown();
}

TestSuite(dist, .init = setup, .fini = teardown, .timeout = 60);

/* A thread that drops the connection to node a->node after 300 ms. */
static void *disconnect_soon(void *arg)
{
    const uint16_t *node = arg;
    rtt_sleep_ms(300);
    (void)rt_dist_disconnect(rtt_rt, *node);
    return NULL;
}

/* The next inbox message of type from B, with its payload's tag. */
static rt_msg_t *expect_from_b(uint32_t type)
{
    rt_msg_t *m = rtt_expect_msg(type, RTT_WAIT_MS);
    cr_assert_eq(RT_PID_NODE(m->from), b_on_a, "from node %u",
                 RT_PID_NODE(m->from));
    return m;
}

Test(dist, send_to_a_named_pid_and_get_the_answer)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    cr_assert_neq(echo, RT_PID_NONE);
    cr_assert_eq(rt_send(rtt_rt, echo, pbmsg(T_ECHO, 42)), 0);
    rt_msg_t *m = expect_from_b(T_ECHOED);
    cr_assert_eq(m->tag, 42);
    Cleo__Dist__FrameHeader *h = m->payload;
    cr_assert_not_null(h);
    cr_assert_eq(h->tag, 42);
    cr_assert_eq(h->reason, -42);
    rt_msg_free(m);
    cr_assert(rt_dist_is_up(rtt_rt, b_on_a));
}

Test(dist, per_pair_order_holds_for_many_messages)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    enum { N = 20000 };
    for (uint32_t i = 1; i <= N; i++)
        cr_assert_eq(rt_send(rtt_rt, echo, pbmsg(T_ECHO, i)), 0);
    for (uint32_t i = 1; i <= N; i++) {
        rt_msg_t *m = rtt_expect_msg(T_ECHOED, RTT_WAIT_MS);
        cr_assert_eq(m->tag, i, "message %u arrived as %u", i, m->tag);
        rt_msg_free(m);
    }
}

Test(dist, a_call_to_a_remote_server_gets_its_reply)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    rt_msg_t *rep = NULL;
    int rc = rt_call_sync(rtt_rt, echo, pbmsg(T_ECHO, 7), 5000, &rep);
    cr_assert_eq(rc, 0, "call: %s", cleo_err_name(rc));
    cr_assert_eq(rep->type, T_ECHOED);
    cr_assert_eq(((Cleo__Dist__FrameHeader *)rep->payload)->tag, 7);
    rt_msg_free(rep);
}

Test(dist, a_buffer_body_crosses_whole)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    enum { LEN = 3 << 20 };
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(LEN, &b), 0);
    for (size_t i = 0; i < LEN; i++)
        rt_buf_data(b)[i] = (char)(i * 7 + 3);
    cr_assert_eq(rt_buf_set_len(b, LEN), 0);
    rt_msg_t *m = rt_msg_new(T_ECHO);
    m->from = rtt_ibp;
    rt_msg_set_buf(m, b);
    cr_assert_eq(rt_send(rtt_rt, echo, m), 0);
    rt_msg_t *r = expect_from_b(T_ECHOED);
    rt_buf_t *rb = r->payload;
    cr_assert_eq(rt_buf_len(rb), LEN);
    for (size_t i = 0; i < LEN; i++)
        cr_assert_eq(rt_buf_data(rb)[i], (char)(i * 7 + 3), "byte %zu", i);
    rt_msg_free(r);
}

static void no_free(void *p)
{
    (void)p;
}

Test(dist, a_payload_the_wire_cannot_carry_fails_the_send)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    static int x;
    rt_msg_t *m = rt_msg_new(T_ECHO);
    m->payload = &x;
    m->payload_free = no_free;
    cr_assert_eq(rt_send(rtt_rt, echo, m), CLEO_EINVAL);
}

/* A probe on A learns a worker on B by its hello, links and monitors it;
 * the worker's real exit reason crosses to both. */
static rt_pid_t remote_worker(rt_pid_t probe)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    rt_msg_t *m = rt_msg_new(T_SPAWN);
    m->from = probe; /* the hello goes to the probe */
    cr_assert_eq(rt_send(rtt_rt, echo, m), 0);
    rtt_report_t r = rtt_expect(T_HELLO, probe);
    cr_assert_neq(RT_PID_NODE(r.other), 0, "a pid of another node");
    return r.other;
}

Test(dist, link_and_monitor_across_nodes_see_the_real_reason)
{
    rt_pid_t p = rtt_spawn(&watch_beh, true);
    rt_pid_t w = remote_worker(p);
    cr_assert_eq(rtt_cmd(p, RTT_LINK, w).reason, 0);
    rtt_report_t mon = rtt_cmd(p, RTT_MONITOR, w);
    cr_assert_eq(mon.reason, 0);
    rtt_sleep_ms(100); /* the link and monitor land on B */
    rt_msg_t *die = rt_msg_new(T_DIE);
    die->reason = CLEO_EPROTO;
    cr_assert_eq(rt_send(rtt_rt, w, die), 0);
    rtt_report_t e = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(e.other, w);
    cr_assert_eq(e.reason, CLEO_EPROTO);
    rtt_report_t d = rtt_expect(RTT_DOWN, p);
    cr_assert_eq(d.ref, mon.ref);
    cr_assert_eq(d.reason, CLEO_EPROTO);
}

Test(dist, a_link_to_a_dead_remote_pid_fires_noproc)
{
    rt_pid_t p = rtt_spawn(&watch_beh, true);
    rt_pid_t w = remote_worker(p);
    rt_msg_t *die = rt_msg_new(T_DIE);
    die->reason = RT_STOP;
    cr_assert_eq(rt_send(rtt_rt, w, die), 0);
    rtt_sleep_ms(100);
    cr_assert_eq(rtt_cmd(p, RTT_LINK, w).reason, 0);
    rtt_report_t e = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(e.reason, RT_REASON_NOPROC);
}

Test(dist, losing_the_node_fires_noconnection_once_and_nodedown)
{
    rt_pid_t p = rtt_spawn(&watch_beh, true);
    cr_assert_eq(rtt_cmd(p, T_WATCH, 0).reason, 0);
    rt_pid_t w = remote_worker(p);
    rtt_report_t up = rtt_expect(T_NODE, p);
    cr_assert_eq(up.other, RT_MSG_NODEUP);
    cr_assert_eq(up.ref, b_on_a);
    cr_assert_eq(rtt_cmd(p, RTT_LINK, w).reason, 0);
    rtt_report_t mon = rtt_cmd(p, RTT_MONITOR, w);
    rtt_sleep_ms(100);
    /* The connection drops (B itself lives on: an orderly stop of B
     * would send the worker's real exit reason first). */
    cr_assert_eq(rt_dist_disconnect(rtt_rt, b_on_a), 0);
    rtt_report_t e = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(e.other, w);
    cr_assert_eq(e.reason, RT_REASON_NOCONNECTION);
    rtt_report_t d = rtt_expect(RTT_DOWN, p);
    cr_assert_eq(d.ref, mon.ref);
    cr_assert_eq(d.reason, RT_REASON_NOCONNECTION);
    rtt_report_t nd = rtt_expect(T_NODE, p);
    cr_assert_eq(nd.other, RT_MSG_NODEDOWN);
    rtt_expect_none(RTT_EXIT, p, 300);
    rtt_expect_none(RTT_DOWN, p, 1);
    cr_assert_not(rt_dist_is_up(rtt_rt, b_on_a));
    /* The next send connects again, to the same creation; w itself was
     * linked to p, so B killed it with noconnection on its side. */
    rt_pid_t w2 = remote_worker(p);
    cr_assert_eq(RT_PID_NODE(w2), RT_PID_NODE(w));
    cr_assert(rt_dist_is_up(rtt_rt, b_on_a));
    cr_assert_eq(rtt_cmd(p, RTT_LINK, w2).reason, 0);
    rtt_sleep_ms(100);
    rt_msg_t *die = rt_msg_new(T_DIE);
    die->reason = CLEO_EBADREQ;
    cr_assert_eq(rt_send(rtt_rt, w2, die), 0);
    rtt_report_t again = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(again.reason, CLEO_EBADREQ, "%s", cleo_err_name(again.reason));
}

Test(dist, a_restarted_node_has_a_new_creation_and_old_pids_are_dead)
{
    rt_pid_t p = rtt_spawn(&watch_beh, true);
    rt_pid_t w = remote_worker(p);
    uint32_t c1 = rt_dist_creation(rtb);
    rt_free(rtb);
    b_start(); /* same name, new port, new creation */
    cr_assert_neq(rt_dist_creation(rtb), c1);
    rt_pid_t w2 = remote_worker(p);
    cr_assert_neq(RT_PID_NODE(w2), RT_PID_NODE(w), "new creation, new index");
    cr_assert_eq(rtt_cmd(p, RTT_LINK, w).reason, 0);
    rtt_report_t e = rtt_expect(RTT_EXIT, p);
    cr_assert_eq(e.other, w);
    cr_assert_eq(e.reason, RT_REASON_NOCONNECTION);
}

Test(dist, a_wrong_cookie_is_refused_and_counted)
{
    rt_t *c = node_new("c@127.0.0.1", "not-the-cookie", 2000);
    char peer[64];
    uint16_t b_on_c;
    snprintf(peer, sizeof peer, "b@127.0.0.1:%u", rt_dist_port(rtb));
    cr_assert_eq(rt_dist_node(c, peer, &b_on_c), 0);
    cr_assert_eq(rt_dist_connect(c, b_on_c), 0);
    rt_dist_stats_t st = {0};
    for (int i = 0; i < 200 && st.bad_cookie == 0; i++) {
        rtt_sleep_ms(10);
        rt_dist_stats(rtb, &st);
    }
    cr_assert_eq(st.bad_cookie, 1);
    cr_assert_not(rt_dist_is_up(c, b_on_c));
    rt_dist_node_info_t ni[4];
    uint32_t n = rt_dist_nodes(rtb, ni, 4);
    for (uint32_t i = 0; i < n; i++)
        cr_assert(strcmp(ni[i].name, "c@127.0.0.1") != 0 || !ni[i].up);
    rt_free(c);
}

/* Raw bytes at a node's distribution port. */
static void raw_send(uint16_t port, const void *p, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(write(fd, p, n), (ssize_t)n);
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) /* until the node closes */
        ;
    close(fd);
}

Test(dist, garbage_before_the_handshake_is_refused_and_the_node_goes_on)
{
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_send(rt_dist_port(rtb), junk, sizeof junk - 1);
    rt_dist_stats_t st;
    rt_dist_stats(rtb, &st);
    cr_assert_geq(st.bad_handshake, 1);
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    cr_assert_eq(rt_send(rtt_rt, echo, pbmsg(T_ECHO, 5)), 0);
    rt_msg_t *m = expect_from_b(T_ECHOED);
    cr_assert_eq(m->tag, 5);
    rt_msg_free(m);
}

Test(dist, a_send_to_an_unknown_name_is_dropped)
{
    rt_pid_t nobody = rt_dist_named(rtt_rt, b_on_a, "nobody");
    cr_assert_eq(rt_send(rtt_rt, nobody, pbmsg(T_ECHO, 1)), 0);
    rt_dist_stats_t st = {0};
    for (int i = 0; i < 200 && st.dropped == 0; i++) {
        rtt_sleep_ms(10);
        rt_dist_stats(rtb, &st);
    }
    cr_assert_eq(st.dropped, 1);
}

Test(dist, a_record_and_its_bytes_cross_together)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(100000, &b), 0);
    memset(rt_buf_data(b), 'z', 100000);
    cr_assert_eq(rt_buf_set_len(b, 100000), 0);
    rt_msg_t *m = pbmsg(T_ECHO, 9);
    void *pb = m->payload;
    m->payload = NULL; /* moved into the body */
    rt_msg_set_body(m, pb, b);
    cr_assert_eq(rt_send(rtt_rt, echo, m), 0);
    rt_msg_t *r = expect_from_b(T_ECHOED);
    rt_body_t *body = rt_msg_body(r);
    cr_assert_not_null(body);
    cr_assert_eq(((Cleo__Dist__FrameHeader *)body->pb)->tag, 9);
    cr_assert_eq(rt_buf_len(body->buf), 100000);
    cr_assert_eq(rt_buf_data(body->buf)[99999], 'z');
    rt_msg_free(r);
}

Test(dist, an_empty_buffer_stays_a_buffer)
{
    rt_pid_t echo = rt_dist_named(rtt_rt, b_on_a, "echo");
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(0, &b), 0);
    rt_msg_t *m = pbmsg(T_ECHO, 3);
    void *pb = m->payload;
    m->payload = NULL;
    rt_msg_set_body(m, pb, b);
    cr_assert_eq(rt_send(rtt_rt, echo, m), 0);
    rt_msg_t *r = expect_from_b(T_ECHOED);
    rt_body_t *body = rt_msg_body(r);
    cr_assert_not_null(body, "still a record and a buffer");
    cr_assert_not_null(body->buf);
    cr_assert_eq(rt_buf_len(body->buf), 0);
    rt_msg_free(r);
    rt_msg_t *e = rt_msg_new(T_ECHO);
    e->from = rtt_ibp;
    cr_assert_eq(rt_buf_new(0, &b), 0);
    rt_msg_set_buf(e, b);
    cr_assert_eq(rt_send(rtt_rt, echo, e), 0);
    r = expect_from_b(T_ECHOED);
    cr_assert_not_null(r->payload, "an empty buffer arrives as one");
    cr_assert_eq(rt_buf_len(r->payload), 0);
    rt_msg_free(r);
}

/* A call from a non-actor thread to a server that holds it unanswered:
 * losing the connection ends it with noconnection, not at its timeout. */
Test(dist, a_sync_call_ends_when_the_connection_is_lost)
{
    rt_pid_t hold = rt_dist_named(rtt_rt, b_on_a, "hold");
    rt_pid_t h;
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rtb, NULL, &hold_beh, NULL, &o, &h), 0);
    cr_assert_eq(rt_register(rtb, "hold", h), 0);
    cr_assert_eq(rt_send(rtt_rt, rt_dist_named(rtt_rt, b_on_a, "echo"),
                         pbmsg(T_ECHO, 1)),
                 0);
    rt_msg_free(expect_from_b(T_ECHOED)); /* connected */
    uint64_t t0 = rtt_now_ms();
    rt_msg_t *rep = NULL;
    static struct {
        uint16_t node;
    } arg;
    arg.node = b_on_a;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, disconnect_soon, &arg), 0);
    int rc = rt_call_sync(rtt_rt, hold, pbmsg(T_ECHO, 2), 20000, &rep);
    pthread_join(th, NULL);
    cr_assert_eq(rc, RT_REASON_NOCONNECTION, "%s", cleo_err_name(rc));
    cr_assert_lt(rtt_now_ms() - t0, 10000, "ended by the loss, not timeout");
}
