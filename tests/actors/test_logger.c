/*
 * test_logger.c - the logger: a gen_event manager registered as "logger"
 * whose file handler writes "2026-11-25T14:00:00.123Z level <pid> text"
 * lines, drops lines below its level, and reopens its file on
 * LOG_MSG_REOPEN (how logrotate's SIGHUP reaches it). logger_log works
 * from any thread and drops lines when no logger runs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/rtt.c"
#include "actors/actors.h"

#define T_LOG 1 /* cast to the test server: log arg's text */

static char dir[64];
static char path[128];
static rt_pid_t logger;

static void setup(void)
{
    rtt_setup();
    strcpy(dir, "/tmp/cleo_logger_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cleo.log", dir);
    logger = RT_PID_NONE;
}

static void teardown(void)
{
    rtt_teardown();
    char p[160];
    snprintf(p, sizeof p, "%s/cleo.log.1", dir);
    unlink(p);
    unlink(path);
    rmdir(dir);
}

TestSuite(logger, .init = setup, .fini = teardown, .timeout = 60);

static void start(log_level_t min)
{
    int rc = logger_start(rtt_rt, NULL, path, min, &logger);
    cr_assert_eq(rc, 0, "logger_start: %s", cleo_err_name(rc));
}

/* Wait until the logger handled everything sent before. */
static void flush(void)
{
    cr_assert_eq(
        gen_event_sync_notify(rtt_rt, logger, rt_msg_new(T_LOG + 1), 5000), 0);
}

/* The whole file at p ("" if missing); static buffer. */
static const char *slurp(const char *p)
{
    static char buf[8192];
    buf[0] = '\0';
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

Test(logger, writes_a_formatted_line_to_the_file)
{
    start(LOG_DEBUG);
    cr_assert_eq(rt_whereis(rtt_rt, "logger"), logger);
    logger_log(rtt_rt, LOG_INFO, "hello %d", 42);
    flush();
    const char *s = slurp(path);
    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                         "[0-9]{2}\\.[0-9]{3}Z info <[0-9.]+> hello 42\n$",
                         REG_EXTENDED),
                 0);
    int m = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    cr_assert_eq(m, 0, "line was: %s", s);
}

Test(logger, lines_below_the_level_are_dropped)
{
    start(LOG_WARNING);
    logger_log(rtt_rt, LOG_DEBUG, "d");
    logger_log(rtt_rt, LOG_INFO, "i");
    logger_log(rtt_rt, LOG_NOTICE, "n");
    logger_log(rtt_rt, LOG_WARNING, "w");
    logger_log(rtt_rt, LOG_ERROR, "e\n"); /* a trailing newline is dropped */
    flush();
    const char *s = slurp(path);
    cr_assert_eq(count_lines(s), 2, "file: %s", s);
    cr_assert_not_null(strstr(s, " warning "));
    cr_assert_not_null(strstr(s, " error "));
    cr_assert_null(strstr(s, " info "));
}

Test(logger, reopen_after_rename_writes_to_a_new_file)
{
    start(LOG_DEBUG);
    char old[160];
    snprintf(old, sizeof old, "%s/cleo.log.1", dir);
    logger_log(rtt_rt, LOG_INFO, "before");
    flush();
    cr_assert_eq(rename(path, old), 0);
    logger_log(rtt_rt, LOG_INFO, "still old");
    cr_assert_eq(gen_server_cast(rtt_rt, logger, rt_msg_new(LOG_MSG_REOPEN)),
                 0);
    logger_log(rtt_rt, LOG_INFO, "after");
    flush();
    const char *s = slurp(old);
    cr_assert_eq(count_lines(s), 2, "old file: %s", s);
    cr_assert_not_null(strstr(s, "before"));
    cr_assert_not_null(strstr(s, "still old"));
    s = slurp(path);
    cr_assert_eq(count_lines(s), 1, "new file: %s", s);
    cr_assert_not_null(strstr(s, "after"));
}

static int srv_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    return 0;
}

static int srv_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    logger_log(rt_actor_rt(self), LOG_NOTICE, "from an actor");
    return 0;
}

static const gen_server_cbs_t srv_cbs = {
    .name = "logging_srv", .handle_call = srv_call, .handle_cast = srv_cast};

Test(logger, a_line_logged_by_an_actor_names_its_pid)
{
    start(LOG_DEBUG);
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(gen_server_start(rtt_rt, NULL, &srv_cbs, NULL, NULL, &pid), 0);
    rt_msg_t *req = rt_msg_new(T_LOG), *reply = NULL;
    cr_assert_eq(gen_server_cast(rtt_rt, pid, rt_msg_new(T_LOG)), 0);
    /* The call answers after the cast was handled, hence logged. */
    cr_assert_eq(gen_server_call_sync(rtt_rt, pid, req, 5000, &reply), 0);
    rt_msg_free(reply);
    flush();
    char want[64], pb[32];
    snprintf(want, sizeof want, " notice %s from an actor\n",
             rt_pid_fmt(pid, pb, sizeof pb));
    const char *s = slurp(path);
    cr_assert_not_null(strstr(s, want), "file: %s", s);
}

Test(logger, without_a_logger_lines_are_dropped)
{
    logger_log(rtt_rt, LOG_ERROR, "nobody listens");
    cr_assert_str_eq(slurp(path), "");
}

Test(logger, a_second_logger_is_eexist)
{
    start(LOG_DEBUG);
    cr_assert_eq(logger_start(rtt_rt, NULL, path, LOG_DEBUG, NULL),
                 CLEO_EEXIST);
}

Test(logger, an_unopenable_path_fails_the_start_and_registers_nothing)
{
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir.log", dir);
    cr_assert_eq(logger_start(rtt_rt, NULL, bad, LOG_DEBUG, NULL), -ENOENT);
    cr_assert_eq(rt_whereis(rtt_rt, "logger"), RT_PID_NONE);
    cr_assert_eq(logger_start(rtt_rt, NULL, path, 99, NULL), CLEO_EINVAL);
}

Test(logger, stderr_logger_accepts_lines_and_reopen)
{
    cr_assert_eq(logger_start(rtt_rt, NULL, NULL, LOG_ERROR, &logger), 0);
    logger_log(rtt_rt, LOG_INFO, "filtered");
    cr_assert_eq(gen_server_cast(rtt_rt, logger, rt_msg_new(LOG_MSG_REOPEN)),
                 0);
    flush();
    cr_assert_eq(gen_event_count_handlers_sync(rtt_rt, logger), 1);
}
