/*
 * test_introspect_status.c - the introspection server's INFO asks the
 * actor for its own status (RT_MSG_STATUS, OTP's sys:get_status) and
 * puts the text in Actor.status; an actor that answers without a status,
 * never answers, is busy in a long handler or dies on the request gets
 * its INFO all the same, without the status, within the server's status
 * timeout, while other connections go on being served. The actors here
 * are stand-ins written on the runtime (runtime/ knows no behaviour).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/introspect.pb-c.h"
#include "runtime/rt.h"

typedef Cleo__Introspect__Request req_t;
typedef Cleo__Introspect__Response resp_t;

#define K(x) CLEO__INTROSPECT__REQUEST__KIND__##x
#define R(x) CLEO__INTROSPECT__RESPONSE__KIND__##x

#define STATUS_MS 1000u /* the server's RT__ISP_STATUS_MS */
#define BUSY 1u         /* to the stand-in: keep the scheduler 3 s */

static rt_t *rt;
static char dir[64];
static char sock[100];

/* ---- the stand-ins ------------------------------------------------------ */

typedef enum { ANSWERS, BARE, SILENT, DIES } kind_t;

/* Answers RT_MSG_STATUS as its kind (the spawn arg) says; BUSY blocks
 * its scheduler for 3 s, as a handler stuck in a system call would. */
static int standin_handle(rt_actor_t *self, rt_msg_t *m)
{
    kind_t k = (kind_t)(uintptr_t)rt_state(self);
    if (m->type == BUSY) {
        sleep(3);
        return 0;
    }
    if (m->type != RT_MSG_STATUS || k == SILENT)
        return 0;
    if (k == DIES)
        return CLEO_EINVAL;
    rt_msg_t *r = rt_msg_new(RT_MSG_STATUS);
    if (k == ANSWERS) {
        Cleo__Introspect__ActorStatus *st = calloc(1, sizeof *st);
        cleo__introspect__actor_status__init(st);
        st->text = strdup("standin\nall well");
        rt_msg_set_pb(r, st);
    }
    (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
    return 0;
}

static int standin_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, arg);
    return 0;
}

static const rt_behaviour_t standin_beh = {.name = "standin",
                                           .init = standin_init,
                                           .handle = standin_handle,
                                           .sys_msgs = true};

static rt_pid_t spawn_standin(kind_t k, const char *name, int sched)
{
    rt_spawn_opts_t so = {.name = name, .sched = sched};
    rt_pid_t pid;
    cr_assert_eq(
        rt_spawn(rt, NULL, &standin_beh, (void *)(uintptr_t)k, &so, &pid), 0);
    return pid;
}

/* ---- the client ---------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int connect_unix(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_req(int fd, int kind, const char *target)
{
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = kind;
    q.target = (char *)target;
    size_t n = cleo__introspect__request__get_packed_size(&q);
    uint8_t *b = malloc(n + 4);
    b[0] = (uint8_t)(n >> 24), b[1] = (uint8_t)(n >> 16);
    b[2] = (uint8_t)(n >> 8), b[3] = (uint8_t)n;
    cleo__introspect__request__pack(&q, b + 4);
    cr_assert_eq(send(fd, b, n + 4, MSG_NOSIGNAL), (ssize_t)(n + 4));
    free(b);
}

static bool read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static resp_t *recv_resp(int fd)
{
    uint8_t h[4];
    cr_assert(read_all(fd, h, 4), "no response");
    uint32_t n = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
    cr_assert_leq(n, 1u << 20);
    uint8_t *b = malloc(n + 1);
    cr_assert(read_all(fd, b, n));
    resp_t *r = cleo__introspect__response__unpack(NULL, n, b);
    free(b);
    cr_assert_not_null(r);
    return r;
}

/* INFO about target: the status text it carries (malloc'd), and how long
 * the answer took in *ms. */
static char *info_status(int fd, const char *target, uint64_t *ms)
{
    uint64_t t0 = now_ms();
    send_req(fd, K(INFO), target);
    resp_t *r = recv_resp(fd);
    *ms = now_ms() - t0;
    cr_assert_eq(r->kind, R(INFO), "INFO answered %d: %s", r->kind, r->error);
    cr_assert_eq(r->n_actor, 1);
    char *s = strdup(r->actor[0]->status);
    cleo__introspect__response__free_unpacked(r, NULL);
    return s;
}

/* ---- fixture ---------------------------------------------------------- */

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/cleo-isps-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &rt), 0);
    rt_introspect_opts_t io = {.path = sock, .node = "t@host"};
    cr_assert_eq(rt_introspect_start(rt, NULL, &io, NULL), 0);
}

static void teardown(void)
{
    rt_shutdown(rt);
    rt_free(rt);
    unlink(sock);
    rmdir(dir);
}

TestSuite(rt_introspect_status, .init = setup, .fini = teardown, .timeout = 60);

Test(rt_introspect_status, info_carries_the_status_the_actor_answers)
{
    spawn_standin(ANSWERS, "good", RT_SCHED_ANY);
    int fd = connect_unix();
    uint64_t ms;
    char *s = info_status(fd, "good", &ms);
    cr_assert_str_eq(s, "standin\nall well");
    cr_assert_lt(ms, STATUS_MS);
    free(s);
    close(fd);
}

Test(rt_introspect_status, an_answer_without_a_status_leaves_it_empty)
{
    spawn_standin(BARE, "bare", RT_SCHED_ANY);
    int fd = connect_unix();
    uint64_t ms;
    char *s = info_status(fd, "bare", &ms);
    cr_assert_str_eq(s, "");
    cr_assert_lt(ms, STATUS_MS);
    free(s);
    close(fd);
}

Test(rt_introspect_status, an_actor_that_dies_on_the_request_gets_its_info)
{
    spawn_standin(DIES, "dies", RT_SCHED_ANY);
    int fd = connect_unix();
    uint64_t ms;
    char *s = info_status(fd, "dies", &ms);
    cr_assert_str_eq(s, "");
    cr_assert_lt(ms, STATUS_MS, "the call learns of the death at once");
    free(s);
    close(fd);
}

Test(rt_introspect_status, a_silent_actor_costs_the_timeout_and_no_more)
{
    spawn_standin(SILENT, "silent", RT_SCHED_ANY);
    int fd = connect_unix(), other = connect_unix();
    send_req(fd, K(INFO), "silent");
    /* Meanwhile another client is served at once. */
    uint64_t t0 = now_ms();
    send_req(other, K(STATUS), "");
    resp_t *r = recv_resp(other);
    cr_assert_eq(r->kind, R(STATUS));
    cr_assert_lt(now_ms() - t0, STATUS_MS / 2);
    cleo__introspect__response__free_unpacked(r, NULL);
    r = recv_resp(fd);
    uint64_t ms = now_ms() - t0;
    cr_assert_eq(r->kind, R(INFO));
    cr_assert_str_eq(r->actor[0]->status, "");
    cr_assert_geq(ms, STATUS_MS - 100);
    cr_assert_lt(ms, STATUS_MS + 1500);
    cleo__introspect__response__free_unpacked(r, NULL);
    /* And the connection keeps serving. */
    uint64_t ms2;
    free(info_status(fd, "silent", &ms2));
    close(other);
    close(fd);
}

Test(rt_introspect_status, a_busy_actor_does_not_hang_the_server)
{
    /* On the scheduler the server is not pinned to: a handler that
     * blocks its own scheduler is point 4's business, not this one's. */
    rt_actor_info_t isp;
    cr_assert_eq(rt_actor_info(rt, rt_whereis(rt, "introspect"), &isp), 0);
    rt_pid_t pid = spawn_standin(ANSWERS, "busy", isp.sched == 0 ? 1 : 0);
    cr_assert_eq(rt_send(rt, pid, rt_msg_new(BUSY)), 0);
    usleep(100 * 1000); /* it is in its 3 s handler now */
    int fd = connect_unix();
    uint64_t ms;
    char *s = info_status(fd, "busy", &ms);
    cr_assert_str_eq(s, "", "a busy actor cannot answer in time");
    cr_assert_lt(ms, STATUS_MS + 1500);
    free(s);
    close(fd);
}
