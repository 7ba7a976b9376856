/*
 * testnode.c - a tiny cleo node for the introspection integration tests,
 * standing in for cmd/cleo until its supervision tree lands:
 *
 *   cleo_sup
 *   ├── kernel_sup: logger, metrics, introspect
 *   └── workers_sup: w1, pinger (busy: a message to itself every 20 ms)
 *
 * usage: cleo-testnode --data DIR [--tcp-port N --token T]
 * The socket is DIR/cleo.sock. SIGINT/SIGTERM shut it down.
 */
#include <errno.h>
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

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

#define PING 7u

static int pinger_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)m;
    return rt_send_after(rt_actor_rt(self), 20, rt_self(self),
                         rt_msg_new(PING), NULL) < 0 ? -1 : 0;
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
    rt_spawn_opts_t o = {.flags = RT_SPAWN_LINK, .name = arg,
                         .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &pinger, NULL, &o, out);
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
                    "--token T]\n");
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
    if ((rc = rt_new(&o, &rt)) < 0 ||
        (rc = minisup_start(rt, NULL, "cleo_sup", &top_spec, NULL)) < 0) {
        fprintf(stderr, "cleo-testnode: %s\n", cleo_strerror(rc));
        return 1;
    }
    printf("cleo-testnode: up, socket %s\n", sock);
    fflush(stdout);
    while (!stop)
        pause();
    rt_free(rt);
    return 0;
}
