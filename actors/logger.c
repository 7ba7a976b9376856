/*
 * logger.c - the node's logger: a gen_event manager registered as "logger"
 * with a file handler. Lines are formatted by the logging thread, so the
 * manager only filters and writes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "actors/gen.h"
#include "actors/gen_event.h"

#define LOG_LINE_MAX 2048 /* bytes of one formatted line, NUL included */

typedef struct log_file_s {
    char *path;      /* NULL = stderr */
    int fd;          /* -1 when the file could not be opened */
    log_level_t min; /* lines below this level are dropped */
} log_file_t;

typedef struct log_start_s {
    const char *path;
    log_level_t min;
} log_start_t;

static const char *const level_names[] = {"debug", "info", "notice", "warning",
                                          "error"};

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

static int file_init(void *arg, void **state)
{
    const log_start_t *st = arg;
    log_file_t *f = gen__xcalloc(sizeof *f);
    f->min = st->min;
    f->fd = STDERR_FILENO;
    if (st->path != NULL) {
        f->path = gen__xstrdup(st->path);
        if ((f->fd = open_log(f->path)) < 0) {
            int rc = f->fd;
            free(f->path);
            free(f);
            return rc;
        }
    }
    *state = f;
    return 0;
}

/* Reopen the file under its path (after logrotate renamed it). On failure
 * the old file stays in use: losing the log is worse than a stale name. */
static void file_reopen(log_file_t *f)
{
    if (f->path == NULL)
        return;
    int fd = open_log(f->path);
    if (fd < 0)
        return;
    close(f->fd);
    f->fd = fd;
}

/* Writing a line is a short append to a local file or stderr: the one
 * blocking call the logger makes, and it makes no fsync. */
static void file_write(log_file_t *f, const char *line)
{
    struct iovec iov[2] = {{(void *)line, strlen(line)}, {"\n", 1}};
    ssize_t n = writev(f->fd, iov, 2);
    (void)n; /* nowhere to report a failed log write */
}

static int file_event(void *state, const rt_msg_t *ev)
{
    log_file_t *f = state;
    if (ev->type == LOG_MSG_REOPEN)
        file_reopen(f);
    else if (ev->type == LOG_MSG_EVENT && ev->payload != NULL &&
             ev->reason >= (int)f->min)
        file_write(f, ev->payload);
    return 0;
}

static void file_terminate(void *state, int reason)
{
    log_file_t *f = state;
    if (f->path != NULL)
        close(f->fd);
    free(f->path);
    free(f);
}

static void file_format(void *state, char *buf, size_t len)
{
    const log_file_t *f = state;
    snprintf(buf, len, "%s, level %s", f->path != NULL ? f->path : "stderr",
             level_names[f->min]);
}

static const gen_event_handler_t file_handler = {
    .name = "logger_file",
    .init = file_init,
    .handle_event = file_event,
    .terminate = file_terminate,
    .format_status = file_format,
};

int logger_start(rt_t *rt, rt_actor_t *self, const char *path, log_level_t min,
                 rt_pid_t *out)
{
    if (rt == NULL || (unsigned)min > LOG_ERROR)
        return CLEO_EINVAL;
    log_start_t st = {path, min};
    gen_opts_t o = {
        .name = "logger", .link = self != NULL, .sched = RT_SCHED_ANY};
    return gen_event__start_with(rt, self, &o, &file_handler, &st, out);
}

/* "2026-11-25T14:00:00.123Z" into buf (at least 32 bytes). */
static void fmt_time(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void logger_log(rt_t *rt, log_level_t level, const char *fmt, ...)
{
    if (rt == NULL || fmt == NULL || (unsigned)level > LOG_ERROR)
        return;
    rt_pid_t to = rt_whereis(rt, "logger");
    if (to == RT_PID_NONE)
        return;
    char ts[40], pid[32];
    rt_actor_t *cur = rt_current();
    rt_pid_t me = cur != NULL ? rt_self(cur) : RT_PID_NONE;
    fmt_time(ts, sizeof ts);
    rt_pid_fmt(me, pid, sizeof pid);
    char *line = malloc(LOG_LINE_MAX);
    if (line == NULL)
        return; /* a log line is not worth an abort */
    int n =
        snprintf(line, LOG_LINE_MAX, "%s %s %s ", ts, level_names[level], pid);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && n < LOG_LINE_MAX)
        vsnprintf(line + n, LOG_LINE_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0'; /* the handler ends every line itself */
    rt_msg_t *m = rt_msg_new(LOG_MSG_EVENT);
    m->reason = (int32_t)level;
    m->from = me;
    m->payload = line;
    m->payload_free = free;
    (void)gen_event_notify(rt, to, m);
}
