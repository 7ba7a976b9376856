/*
 * test_introspect_admin.c - the introspection server's ADMIN request
 * (runtime/introspect.c): relayed as an RT_MSG_ADMIN call to the actor
 * registered as "admin", whose AdminReply comes back as the response;
 * "not available" without such an actor; a bad or missing reply, a
 * crashing admin and an empty command answered with an error while the
 * connection keeps serving; requests pipelined behind an ADMIN answered
 * in order. The admin here is a stand-in, not the manager's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/introspect.pb-c.h"
#include "runtime/rt.h"

typedef Cleo__Introspect__Request req_t;
typedef Cleo__Introspect__Response resp_t;

#define K(x) CLEO__INTROSPECT__REQUEST__KIND__##x
#define R(x) CLEO__INTROSPECT__RESPONSE__KIND__##x

static rt_t *rt;
static char dir[64];
static char sock[100];

/* ---- the stand-in admin ------------------------------------------------ */

/* argv[0] says what to do: "echo" answers the words joined, "fail"
 * answers status CLEO_EINVAL, "bare" answers without a record, "crash"
 * exits while handling the call. */
static int admin_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type != RT_MSG_ADMIN)
        return 0;
    const Cleo__Introspect__AdminReq *q = m->payload;
    const char *verb = q != NULL && q->n_argv > 0 ? q->argv[0] : "";
    if (strcmp(verb, "crash") == 0)
        return CLEO_EINVAL;
    rt_msg_t *r = rt_msg_new(RT_MSG_ADMIN);
    if (strcmp(verb, "bare") != 0) {
        Cleo__Introspect__AdminReply *a = calloc(1, sizeof *a);
        cleo__introspect__admin_reply__init(a);
        char text[256] = "";
        for (size_t i = 0; i < q->n_argv; i++)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s",
                     i ? " " : "", q->argv[i]);
        a->status = strcmp(verb, "fail") == 0 ? CLEO_EINVAL : 0;
        a->text = strdup(text);
        a->json = strdup("{}");
        rt_msg_set_pb(r, a);
    }
    (void)rt_reply(rt_actor_rt(self), rt_msg_caller(m), r);
    return 0;
}

static const rt_behaviour_t admin_beh = {.name = "admin_standin",
                                         .handle = admin_handle};

static void spawn_admin(void)
{
    rt_spawn_opts_t so = {.name = "admin", .sched = RT_SCHED_ANY};
    cr_assert_eq(rt_spawn(rt, NULL, &admin_beh, NULL, &so, NULL), 0);
}

/* ---- the client ---------------------------------------------------------- */

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

static void send_req(int fd, const req_t *q)
{
    size_t n = cleo__introspect__request__get_packed_size(q);
    uint8_t *b = malloc(n + 4);
    b[0] = (uint8_t)(n >> 24), b[1] = (uint8_t)(n >> 16);
    b[2] = (uint8_t)(n >> 8), b[3] = (uint8_t)n;
    cleo__introspect__request__pack(q, b + 4);
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

/* Send ADMIN with the n words in argv. */
static void send_admin(int fd, size_t n, const char **argv)
{
    Cleo__Introspect__AdminReq a = CLEO__INTROSPECT__ADMIN_REQ__INIT;
    a.n_argv = n;
    a.argv = (char **)argv;
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(ADMIN);
    q.admin = &a;
    send_req(fd, &q);
}

static resp_t *admin(int fd, size_t n, const char **argv)
{
    send_admin(fd, n, argv);
    return recv_resp(fd);
}

static void expect_error(resp_t *r, int code, const char *has)
{
    cr_assert_eq(r->kind, R(ERROR));
    cr_assert_eq(r->code, code, "code %d (%s)", r->code, r->error);
    cr_assert(strstr(r->error, has) != NULL, "'%s' in '%s'", has, r->error);
    cleo__introspect__response__free_unpacked(r, NULL);
}

static void expect_status(int fd)
{
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(STATUS);
    send_req(fd, &q);
    resp_t *r = recv_resp(fd);
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
}

/* ---- fixture ---------------------------------------------------------- */

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/cleo-ispa-XXXXXX");
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

TestSuite(rt_introspect_admin, .init = setup, .fini = teardown, .timeout = 60);

Test(rt_introspect_admin, without_an_admin_actor_not_available)
{
    int fd = connect_unix();
    const char *argv[] = {"user", "list"};
    expect_error(admin(fd, 2, argv), CLEO_ENOTFOUND, "not available");
    expect_status(fd);
    close(fd);
}

Test(rt_introspect_admin, argv_goes_to_admin_and_its_reply_comes_back)
{
    spawn_admin();
    int fd = connect_unix();
    const char *argv[] = {"echo", "user", "create", "alice"};
    resp_t *r = admin(fd, 4, argv);
    cr_assert_eq(r->kind, R(ADMIN));
    cr_assert_not_null(r->admin);
    cr_assert_eq(r->admin->status, 0);
    cr_assert_str_eq(r->admin->text, "echo user create alice");
    cr_assert_str_eq(r->admin->json, "{}");
    cleo__introspect__response__free_unpacked(r, NULL);

    const char *fail[] = {"fail", "x"};
    r = admin(fd, 2, fail);
    cr_assert_eq(r->kind, R(ADMIN)); /* a failed command is still ADMIN */
    cr_assert_eq(r->admin->status, CLEO_EINVAL);
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}

Test(rt_introspect_admin, bad_replies_and_commands_are_errors_not_hangs)
{
    spawn_admin();
    int fd = connect_unix();
    const char *bare[] = {"bare"};
    expect_error(admin(fd, 1, bare), CLEO_EPROTO, "admin reply");
    expect_error(admin(fd, 0, NULL), CLEO_EBADREQ, "admin command");
    req_t q = CLEO__INTROSPECT__REQUEST__INIT; /* ADMIN without its record */
    q.kind = K(ADMIN);
    send_req(fd, &q);
    expect_error(recv_resp(fd), CLEO_EBADREQ, "admin command");
    const char *crash[] = {"crash"};
    resp_t *r = admin(fd, 1, crash);
    cr_assert_eq(r->kind, R(ERROR));
    cleo__introspect__response__free_unpacked(r, NULL);
    expect_status(fd);
    /* the admin is gone now: not available */
    const char *echo[] = {"echo"};
    expect_error(admin(fd, 1, echo), CLEO_ENOTFOUND, "not available");
    close(fd);
}

Test(rt_introspect_admin, requests_behind_an_admin_wait_their_turn)
{
    spawn_admin();
    int fd = connect_unix();
    const char *argv[] = {"echo", "one"};
    send_admin(fd, 2, argv);
    req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = K(STATUS);
    send_req(fd, &q);
    const char *argv2[] = {"echo", "two"};
    send_admin(fd, 2, argv2);
    resp_t *r = recv_resp(fd);
    cr_assert_eq(r->kind, R(ADMIN));
    cr_assert_str_eq(r->admin->text, "echo one");
    cleo__introspect__response__free_unpacked(r, NULL);
    r = recv_resp(fd);
    cr_assert_eq(r->kind, R(STATUS));
    cleo__introspect__response__free_unpacked(r, NULL);
    r = recv_resp(fd);
    cr_assert_eq(r->kind, R(ADMIN));
    cr_assert_str_eq(r->admin->text, "echo two");
    cleo__introspect__response__free_unpacked(r, NULL);
    close(fd);
}
