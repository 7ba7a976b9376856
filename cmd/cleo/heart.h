/*
 * heart.h - Erlang's heart for cleo: a small parent process, with no
 * runtime inside it, that runs the node as a child and restarts it when
 * it dies by a signal or stops sending heartbeats.
 *
 * Private to cmd/cleo.
 */
#ifndef CLEO_CMD_HEART_H
#define CLEO_CMD_HEART_H

#include <stdint.h>

/* Run the node in the forked child: `beat_fd` is the write end of the
 * heartbeat pipe (non-blocking), `incarnation` counts the starts (0 for
 * the first). Returns the child's exit code. */
typedef int (*heart_node_fn)(void *arg, int beat_fd, unsigned incarnation);

typedef struct heart_opts_s {
    uint32_t timeout_s;    /* no beat for this long -> SIGKILL, restart */
    uint32_t max_restarts; /* within period_s, else give up */
    uint32_t period_s;     /* seconds */
    const char *pid_path;  /* heart's own pid file; borrows */
    const char *lock_path; /* one heart per data directory; borrows */
    heart_node_fn node;    /* runs in the child */
    void *arg;             /* for node */
} heart_opts_t;

/* Restart backoff: 100 ms, doubling, capped at 5 s. */
#define HEART_BACKOFF_MIN_MS 100u
#define HEART_BACKOFF_MAX_MS 5000u
/* How long a node asked to stop may take before heart kills it. */
#define HEART_STOP_GRACE_MS 30000u

/** Run heart until the node exits by itself or heart gives up. Must be
 *  called before any thread is created (it forks).
 *  @param o borrows.
 *  @return the exit code for the process: 0 after a clean exit or a
 *  forwarded SIGINT/SIGTERM, the node's own non-zero exit code, or 1 when
 *  the restart limit is exceeded or the node cannot be started. */
int heart_run(const heart_opts_t *o);

#endif /* CLEO_CMD_HEART_H */
