/*
 * testnode.c - a tiny cleo node for the introspection integration tests,
 * standing in for cmd/cleo until its supervision tree lands:
 *
 *   cleo_sup
 *   ├── kernel_sup: logger, metrics, introspect
 *   └── workers_sup: w1, pinger (busy: a message to itself every 20 ms)
 *
 * usage: cleo-testnode --data DIR [--tcp-port N --token T] [--hog]
 * The socket is DIR/cleo.sock. SIGINT/SIGTERM shut it down.
 *
 * --hog (test_adm_sysmon.py) adds, outside the tree, with
 * long_turn_ms 50 and long_mqueue 100: "hog", pinned to scheduler 0
 * with a mailbox limit of 1000, whose every message blocks its scheduler
 * for HOG_MS and which is sent HOG_MSGS at start (so it stays in one turn
 * with a long queue); and "blip", pinned to scheduler 1, which is sent
 * one message that takes BLIP_MS (one long turn, then idle).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "minisup.h"

static volatile sig_atomic_t stop;
static rt_introspect_opts_t isp;
static char sock[4096];
static const char *const roles[] = {"test", NULL};
static int hog;                    /* --hog */
static int hog_pipe[2] = {-1, -1}; /* readable once the node stops */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

#define PING 7u

static int pinger_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)m;
    return rt_send_after(rt_actor_rt(self), 20, rt_self(self), rt_msg_new(PING),
                         NULL) < 0
               ? -1
               : 0;
}

static int pinger_init(rt_actor_t *self, void *arg)
{
    (void)arg;
    return rt_send(rt_actor_rt(self), rt_self(self), rt_msg_new(PING));
}

static const rt_behaviour_t pinger = {
    .name = "pinger", .init = pinger_init, .handle = pinger_handle};

static int start_pinger(rt_actor_t *sup, void *arg, rt_pid_t *out)
{
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .name = arg, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &pinger, NULL, &o, out);
}

/* ---- --hog ---------------------------------------------------------- */

#define HOG_MS 2000
#define HOG_MSGS 200
#define HOG_LIMIT 1000
#define BLIP_MS 120

/* Block this scheduler thread for ms, or until the node stops. */
static int block_ms(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    struct pollfd p = {hog_pipe[0], POLLIN, 0};
    (void)poll(&p, 1, (int)m->arg);
    return 0;
}

static const rt_behaviour_t blocker_beh = {.name = "blocker",
                                           .handle = block_ms};

/* Spawn name pinned to sched and send it n messages that block ms. */
static int start_blocker(rt_t *rt, const char *name, int sched, uint32_t limit,
                         int n, uint64_t ms)
{
    rt_spawn_opts_t o = {.name = name, .sched = sched, .mailbox_limit = limit};
    rt_pid_t pid;
    int rc = rt_spawn(rt, NULL, &blocker_beh, NULL, &o, &pid);
    for (int i = 0; rc == 0 && i < n; i++) {
        rt_msg_t *m = rt_msg_new(1);
        m->arg = ms;
        rc = rt_send(rt, pid, m);
    }
    return rc;
}

static int start_hogs(rt_t *rt)
{
    int rc;
    if (pipe(hog_pipe) < 0)
        return -errno;
    if ((rc = start_blocker(rt, "hog", 0, HOG_LIMIT, HOG_MSGS, HOG_MS)) < 0)
        return rc;
    return start_blocker(rt, "blip", 1, 0, 1, BLIP_MS);
}

static const minisup_child_t kernel_kids[] = {
    {"logger", minisup_start_worker, "logger", 0},
    {"metrics", minisup_start_worker, "metrics", 0},
    {"introspect", minisup_start_introspect, &isp, 0},
};
static const minisup_spec_t kernel_spec = {kernel_kids, 3};
static const minisup_nested_t kernel_sup = {"kernel_sup", &kernel_spec};
static const minisup_child_t work_kids[] = {
    {"w1", minisup_start_worker, "w1", 0},
    {"pinger", start_pinger, "pinger", 0},
};
static const minisup_spec_t work_spec = {work_kids, 2};
static const minisup_nested_t work_sup = {"workers_sup", &work_spec};
static const minisup_child_t top_kids[] = {
    {"kernel_sup", minisup_start_nested, (void *)&kernel_sup, 1},
    {"workers_sup", minisup_start_nested, (void *)&work_sup, 1},
};
static const minisup_spec_t top_spec = {top_kids, 2};

static int usage(void)
{
    fprintf(stderr, "usage: cleo-testnode --data DIR [--tcp-port N "
                    "--token T] [--hog]\n");
    return 2;
}

static int parse(int argc, char **argv)
{
    const char *data = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--tcp-port") == 0 && i + 1 < argc)
            isp.tcp_port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            isp.token = argv[++i];
        else if (strcmp(argv[i], "--hog") == 0)
            hog = 1;
        else
            return usage();
    }
    if (data == NULL)
        return usage();
    if (mkdir(data, 0700) < 0 && errno != EEXIST) {
        perror(data);
        return 1;
    }
    snprintf(sock, sizeof sock, "%s/cleo.sock", data);
    isp.path = sock;
    isp.top = "cleo_sup";
    isp.node = "testnode@127.0.0.1";
    isp.roles = roles;
    return 0;
}

int main(int argc, char **argv)
{
    int rc = parse(argc, argv);
    if (rc != 0)
        return rc;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rt_t *rt;
    rt_opts_t o = {.schedulers = 2};
    if (hog) {
        o.long_turn_ms = 50;
        o.long_mqueue = 100;
    }
    if ((rc = rt_new(&o, &rt)) < 0 ||
        (rc = minisup_start(rt, NULL, "cleo_sup", &top_spec, NULL)) < 0 ||
        (hog && (rc = start_hogs(rt)) < 0)) {
        fprintf(stderr, "cleo-testnode: %s\n", cleo_strerror(rc));
        return 1;
    }
    printf("cleo-testnode: up, socket %s\n", sock);
    fflush(stdout);
    while (!stop)
        pause();
    if (hog_pipe[1] >= 0)
        close(hog_pipe[1]); /* the blocked handlers return at once */
    rt_free(rt);
    return 0;
}
