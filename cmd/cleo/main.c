/*
 * cleo.c - the node. At this stage: start the actor runtime and stay up
 * until SIGINT/SIGTERM, then shut down cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    rt_opts_t opts = {0};
    rt_t *rt;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: cleo\n");
            return 0;
        }
        fprintf(stderr, "cleo: unknown option '%s'\n", argv[i]);
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = rt_new(&opts, &rt);
    if (rc < 0) {
        fprintf(stderr, "cleo: runtime: %s\n", cleo_strerror(rc));
        return 1;
    }
    rt_stats_t st;
    rt_stats(rt, &st);
    printf("cleo: runtime up, %u schedulers; Ctrl-C to stop\n",
           st.schedulers);
    fflush(stdout);
    while (!stop)
        pause();
    printf("cleo: shutting down\n");
    rt_free(rt);
    return 0;
}
