/*
 * heart.c - the parent process that keeps a node alive.
 *
 * Like Erlang's heart, it is deliberately tiny: no runtime, no threads,
 * one poll() loop over a self-pipe (signals) and the heartbeat pipe. The
 * node writes a byte to that pipe every second from a runtime timer; a
 * node whose schedulers hang stops beating and is killed with SIGKILL.
 * A node that dies by a signal is restarted after a backoff; a node that
 * exits by itself ends heart with the same exit code.
 */
#include "heart.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

typedef struct heart_s {
    const heart_opts_t *o;
    pid_t self;
    int lock_fd;            /* flock on opts.lock_path */
    pid_t child;            /* 0 = none running */
    int beat_fd;            /* read end of the heartbeat pipe; -1 = none */
    uint64_t last_beat_ms;  /* monotonic; the child's start counts */
    bool stopping;          /* SIGINT/SIGTERM forwarded */
    uint64_t stop_deadline; /* monotonic ms, when stopping */
    bool killed;            /* SIGKILL already sent to this child */
    unsigned incarnation;   /* starts so far, minus one */
    uint64_t *restarts;     /* monotonic ms of recent restarts */
    size_t nrestarts;
} heart_t;

/* The self-pipe: the handler only writes the signal number to it. */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(sig_pipe[1], &b, 1);
    (void)n; /* a full pipe already holds a wake-up */
    errno = saved;
}

static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

static int signals_install(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NHANDLED; i++)
        if (sigaction(handled[i], &sa, NULL) < 0)
            return -errno;
    return 0;
}

static void signals_restore(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NHANDLED; i++)
        sigaction(handled[i], &sa, NULL);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
}

/* In the forked child: become the node. INT/TERM/HUP stay blocked from
 * before the fork until the node waits for them, so none is lost or
 * kills a half-started node. */
static _Noreturn void child_main(heart_t *h, int beat[2])
{
    close(beat[0]);
    close(h->lock_fd);
    signals_restore();
    /* If heart dies (even by SIGKILL), the node is asked to stop rather
     * than left running unsupervised. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != h->self)
        _exit(1);
    int fl = fcntl(beat[1], F_GETFL);
    fcntl(beat[1], F_SETFL, fl | O_NONBLOCK);
    exit(h->o->node(h->o->arg, beat[1], h->incarnation));
}

static int spawn(heart_t *h)
{
    int beat[2];
    if (pipe2(beat, O_CLOEXEC) < 0)
        return -errno;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0)
        child_main(h, beat);
    int rc = pid < 0 ? -errno : 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(beat[1]);
    if (rc < 0) {
        close(beat[0]);
        return rc;
    }
    fcntl(beat[0], F_SETFL, fcntl(beat[0], F_GETFL) | O_NONBLOCK);
    h->child = pid;
    h->beat_fd = beat[0];
    h->last_beat_ms = util_now_ms();
    h->killed = false;
    return 0;
}

static void stop_child(heart_t *h, int sig)
{
    if (!h->stopping) {
        h->stopping = true;
        h->stop_deadline = util_now_ms() + HEART_STOP_GRACE_MS;
    }
    if (h->child > 0)
        kill(h->child, sig);
}

/* Drain the self-pipe and act on each signal. */
static void on_signals(heart_t *h)
{
    unsigned char b[64];
    ssize_t n;
    while ((n = read(sig_pipe[0], b, sizeof(b))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (b[i] == SIGINT || b[i] == SIGTERM)
                stop_child(h, b[i]);
            else if (b[i] == SIGHUP && h->child > 0)
                kill(h->child, SIGHUP);
        }
    }
}

static void on_beats(heart_t *h)
{
    char b[256];
    ssize_t n = read(h->beat_fd, b, sizeof(b));
    if (n > 0) {
        h->last_beat_ms = util_now_ms();
    } else if (n == 0) {
        /* The node closed the pipe: it is exiting; SIGCHLD follows. */
        close(h->beat_fd);
        h->beat_fd = -1;
    }
}

/* Kill the child when it stopped beating, or when it was asked to stop
 * and overran the grace period. Returns ms until the next check. */
static int check_deadlines(heart_t *h)
{
    uint64_t now = util_now_ms();
    uint64_t limit = (uint64_t)h->o->timeout_s * 1000;
    uint64_t due = h->stopping ? h->stop_deadline : h->last_beat_ms + limit;
    if (h->killed)
        return 1000;
    if (now < due)
        return (int)(due - now < 1000 ? due - now : 1000);
    if (h->stopping)
        fprintf(stderr,
                "cleo: heart: node %ld did not stop within %u s; "
                "killing it\n",
                (long)h->child, HEART_STOP_GRACE_MS / 1000);
    else
        fprintf(stderr,
                "cleo: heart: no heartbeat from node %ld for %u s; "
                "killing it\n",
                (long)h->child, h->o->timeout_s);
    kill(h->child, SIGKILL);
    h->killed = true;
    return 1000;
}

/* Wait until the child ends, beating, forwarding signals and enforcing
 * the heartbeat timeout meanwhile. Returns its wait status. */
static int watch(heart_t *h)
{
    int status = 1 << 8; /* "exited with 1" if the child vanished */
    for (;;) {
        pid_t r = waitpid(h->child, &status, WNOHANG);
        if (r == h->child || (r < 0 && errno == ECHILD))
            break;
        int wait_ms = check_deadlines(h);
        struct pollfd p[2] = {{sig_pipe[0], POLLIN, 0},
                              {h->beat_fd, POLLIN, 0}};
        if (poll(p, h->beat_fd >= 0 ? 2 : 1, wait_ms) < 0)
            continue;
        if (p[0].revents)
            on_signals(h);
        if (h->beat_fd >= 0 && p[1].revents)
            on_beats(h);
    }
    if (h->beat_fd >= 0)
        close(h->beat_fd);
    h->beat_fd = -1;
    h->child = 0;
    return status;
}

/* Record a restart now and return how many fall within the period. */
static size_t note_restart(heart_t *h)
{
    uint64_t now = util_now_ms(), period = (uint64_t)h->o->period_s * 1000;
    size_t keep = 0;
    for (size_t i = 0; i < h->nrestarts; i++)
        if (now - h->restarts[i] < period)
            h->restarts[keep++] = h->restarts[i];
    uint64_t *p = realloc(h->restarts, (keep + 1) * sizeof(*p));
    if (p == NULL)
        abort();
    h->restarts = p;
    h->restarts[keep] = now;
    h->nrestarts = keep + 1;
    return h->nrestarts;
}

static uint32_t backoff_ms(size_t n)
{
    uint64_t ms = HEART_BACKOFF_MIN_MS;
    for (size_t i = 1; i < n && ms < HEART_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < HEART_BACKOFF_MAX_MS ? (uint32_t)ms : HEART_BACKOFF_MAX_MS;
}

/* Sleep ms while still answering signals. Returns true if asked to stop. */
static bool backoff(heart_t *h, uint32_t ms)
{
    uint64_t end = util_now_ms() + ms;
    uint64_t now;
    while (!h->stopping && (now = util_now_ms()) < end) {
        struct pollfd p = {sig_pipe[0], POLLIN, 0};
        if (poll(&p, 1, (int)(end - now)) > 0)
            on_signals(h);
    }
    return h->stopping;
}

static const char *describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with code %d", WEXITSTATUS(status));
    else
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    return buf;
}

/* What heart does after the node ended with `status`: < 0 to restart it,
 * else the exit code of heart. */
static int decide(heart_t *h, int status, pid_t pid)
{
    char what[96];
    describe(status, what, sizeof(what));
    if (h->stopping) {
        if (WIFEXITED(status))
            return WEXITSTATUS(status);
        int sig = WTERMSIG(status);
        return sig == SIGTERM || sig == SIGINT ? 0 : 1;
    }
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) != 0)
            fprintf(stderr, "cleo: heart: node %ld %s; not restarting\n",
                    (long)pid, what);
        return WEXITSTATUS(status);
    }
    size_t n = note_restart(h);
    if (n > h->o->max_restarts) {
        fprintf(stderr,
                "cleo: heart: node %ld %s; more than %u restarts "
                "within %u s, giving up\n",
                (long)pid, what, h->o->max_restarts, h->o->period_s);
        return 1;
    }
    uint32_t ms = backoff_ms(n);
    fprintf(stderr, "cleo: heart: node %ld %s; restart %zu of %u in %u ms\n",
            (long)pid, what, n, h->o->max_restarts, ms);
    return backoff(h, ms) ? 0 : -1;
}

int heart_run(const heart_opts_t *o)
{
    heart_t h = {.o = o, .self = getpid(), .beat_fd = -1};
    if ((h.lock_fd = util_lock(o->lock_path)) < 0) {
        fprintf(stderr, "cleo: heart: %s: %s\n", o->lock_path,
                h.lock_fd == -EWOULDBLOCK ? "another heart runs here"
                                          : strerror(-h.lock_fd));
        return 1;
    }
    int rc = signals_install();
    if (rc == 0)
        rc = util_pidfile_write(o->pid_path, h.self);
    if (rc < 0) {
        fprintf(stderr, "cleo: heart: %s\n", strerror(-rc));
        signals_restore();
        close(h.lock_fd);
        return 1;
    }
    int code = -1;
    while (code < 0) {
        if ((rc = spawn(&h)) < 0) {
            fprintf(stderr, "cleo: heart: fork: %s\n", strerror(-rc));
            code = 1;
            break;
        }
        pid_t pid = h.child;
        code = decide(&h, watch(&h), pid);
        h.incarnation++;
    }
    util_pidfile_remove(o->pid_path, h.self);
    free(h.restarts);
    signals_restore();
    close(h.lock_fd);
    return code;
}
