/*
 * test_sysmon.c - the system monitor (runtime/sysmon.c, and the turn each
 * scheduler publishes in runtime/sched.c): a turn longer than
 * opts.long_turn_ms is logged with pid, name and behaviour and counted on
 * the actor and in rt_stats; a turn still running is seen by the monitor
 * thread before it ends; rt_sched_stuck_ms() and rt_stats() show the turn
 * running now; short turns are not counted.
 *
 * stderr is redirected to a file for each test, so the log lines can be
 * read back.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtt.h"
#include "runtime/rt.h"
#include "runtime/sysmon.h"

#define LONG_TURN_MS 50

enum {
    MSG_PING = 1,  /* notify REP_PONG */
    MSG_SLEEP,     /* sleep arg ms, then notify REP_DONE */
    MSG_GATE,      /* block on the gate, then notify REP_DONE */
    MSG_SLEEP_DIE, /* sleep arg ms, then exit with -5 */
    REP_PONG = 100,
    REP_DONE,
};

static int sleeper_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    switch (m->type) {
    case MSG_PING:
        rtt_notify(REP_PONG, 0, 0);
        return 0;
    case MSG_SLEEP:
        rtt_sleep_ms((long)m->arg);
        rtt_notify(REP_DONE, 0, 0);
        return 0;
    case MSG_GATE:
        if (rtt_gate_block() < 0)
            return -1;
        rtt_notify(REP_DONE, 0, 0);
        return 0;
    case MSG_SLEEP_DIE:
        rtt_sleep_ms((long)m->arg);
        return -5;
    default:
        return 0;
    }
}

static const rt_behaviour_t sleeper_beh = {
    .name = "sleeper",
    .handle = sleeper_handle,
};

static FILE *log_file;
static int saved_stderr = -1;

/* The runtime logs to fd 2: point it at a temporary file. */
static void capture_stderr(void)
{
    fflush(stderr);
    log_file = tmpfile();
    cr_assert_not_null(log_file);
    saved_stderr = dup(2);
    cr_assert_geq(saved_stderr, 0);
    cr_assert_geq(dup2(fileno(log_file), 2), 0);
}

static void restore_stderr(void)
{
    if (saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
    fclose(log_file);
    log_file = NULL;
}

/* Everything logged so far (static buffer). */
static const char *logged(void)
{
    static char buf[16384];
    fflush(stderr);
    size_t n = (size_t)pread(fileno(log_file), buf, sizeof buf - 1, 0);
    buf[n < sizeof buf ? n : 0] = '\0';
    return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void setup(void)
{
    capture_stderr();
    rt_opts_t o = {.schedulers = 2, .long_turn_ms = LONG_TURN_MS};
    rtt_start(&o);
}

static void teardown(void)
{
    rtt_gate_unstick();
    rtt_fini();
    rtt_gate_close_pipes();
    restore_stderr();
}

static rt_pid_t spawn_sleeper(const char *name)
{
    rt_spawn_opts_t o = {.name = name, .sched = RT_SCHED_ANY};
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &sleeper_beh, NULL, &o, &pid), 0);
    return pid;
}

static void post(rt_pid_t to, uint32_t type, uint64_t arg)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    cr_assert_eq(rt_send(rtt_rt, to, m), 0);
}

static void expect(uint32_t type)
{
    rt_msg_free(rtt_expect_msg(type, RTT_WAIT_MS));
}

static rt_actor_info_t info_of(rt_pid_t pid)
{
    rt_actor_info_t info;
    int rc = rt_actor_info(rtt_rt, pid, &info);
    cr_assert_eq(rc, 0, "%s", cleo_err_name(rc));
    return info;
}

static rt_stats_t stats(void)
{
    rt_stats_t s;
    rt_stats(rtt_rt, &s);
    return s;
}

/* The count is taken just after the turn ends, a moment after the
 * handler's notification: poll for it. */
static uint64_t wait_long_turns(uint64_t want)
{
    uint64_t n = 0;
    for (int i = 0; i < 2000 && (n = stats().long_turns) < want; i++)
        rtt_sleep_ms(1);
    return n;
}

static bool any_running(void)
{
    rt_stats_t s = stats();
    for (uint32_t i = 0; i < s.schedulers; i++)
        if (s.sched[i].running != RT_PID_NONE || s.sched[i].turn_ms != 0)
            return true;
    return false;
}

/* Wait until no scheduler is in a turn (the runtime is idle); returns
 * rt_sched_stuck_ms() then. */
static uint64_t wait_not_stuck(void)
{
    for (int i = 0;
         i < 2000 && (rt_sched_stuck_ms(rtt_rt) > 0 || any_running()); i++)
        rtt_sleep_ms(1);
    cr_assert_not(any_running(), "a turn is still published");
    return rt_sched_stuck_ms(rtt_rt);
}

TestSuite(rt_sysmon, .init = setup, .fini = teardown, .timeout = 60);

Test(rt_sysmon, long_turn_is_logged_and_counted)
{
    rt_pid_t pid = spawn_sleeper("slowpoke");
    char p[32], want[96];
    post(pid, MSG_SLEEP, 300);
    expect(REP_DONE);
    cr_assert_eq(wait_long_turns(1), 1);
    cr_assert_eq(info_of(pid).long_turns, 1);
    const char *log = logged();
    snprintf(want, sizeof want, "long turn: %s slowpoke (behaviour sleeper)",
             rt_pid_fmt(pid, p, sizeof p));
    cr_assert(strstr(log, want) != NULL, "no '%s' in:\n%s", want, log);
    cr_assert_eq(count_of(log, "long turn: "), 1, "logged once:\n%s", log);
    cr_assert(strstr(log, "long turn in progress: ") != NULL,
              "the monitor thread did not see it:\n%s", log);
}

Test(rt_sysmon, short_turns_are_not_counted)
{
    rt_pid_t pid = spawn_sleeper(NULL);
    for (int i = 0; i < 20; i++) {
        post(pid, MSG_PING, 0);
        expect(REP_PONG);
    }
    post(pid, MSG_SLEEP, 5); /* well under LONG_TURN_MS */
    expect(REP_DONE);
    rtt_sleep_ms(2 * LONG_TURN_MS);
    cr_assert_eq(info_of(pid).long_turns, 0);
    cr_assert_eq(stats().long_turns, 0);
    cr_assert(strstr(logged(), "long turn") == NULL, "%s", logged());
}

Test(rt_sysmon, stuck_turn_is_seen_while_it_runs)
{
    rtt_gate_open_pipes();
    rt_pid_t pid = spawn_sleeper("stuck");
    char p[32], want[96];
    post(pid, MSG_GATE, 0);
    rtt_gate_wait_blocked();
    rtt_sleep_ms(3 * LONG_TURN_MS);
    /* Still in the turn: the watchdog saw it, the turn is published. */
    uint64_t stuck = rt_sched_stuck_ms(rtt_rt);
    cr_assert_geq(stuck, 2 * LONG_TURN_MS, "stuck %llu ms",
                  (unsigned long long)stuck);
    rt_stats_t s = stats();
    bool seen = false;
    for (uint32_t i = 0; i < s.schedulers; i++)
        if (s.sched[i].running == pid)
            seen = s.sched[i].turn_ms >= 2 * LONG_TURN_MS;
    cr_assert(seen, "no scheduler shows the stuck turn");
    cr_assert_eq(s.long_turns, 0, "not counted before it ends");
    const char *log = logged();
    snprintf(want, sizeof want,
             "long turn in progress: %s stuck (behaviour sleeper) on "
             "scheduler",
             rt_pid_fmt(pid, p, sizeof p));
    cr_assert(strstr(log, want) != NULL, "no '%s' in:\n%s", want, log);
    rtt_sleep_ms(3 * LONG_TURN_MS);
    cr_assert_eq(count_of(logged(), "long turn in progress"), 1,
                 "logged once per stuck turn:\n%s", logged());

    rtt_gate_release();
    expect(REP_DONE);
    cr_assert_eq(wait_long_turns(1), 1);
    cr_assert_eq(info_of(pid).long_turns, 1);
    cr_assert_eq(wait_not_stuck(), 0);
}

Test(rt_sysmon, long_turn_that_ends_in_death_is_counted)
{
    rt_pid_t pid = spawn_sleeper(NULL);
    char p[32], want[64];
    post(pid, MSG_SLEEP_DIE, 2 * LONG_TURN_MS);
    cr_assert_eq(wait_long_turns(1), 1);
    for (int i = 0; i < 2000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
    snprintf(want, sizeof want, "long turn: %s (behaviour sleeper)",
             rt_pid_fmt(pid, p, sizeof p));
    cr_assert(strstr(logged(), want) != NULL, "no '%s' in:\n%s", want,
              logged());
}

Test(rt_sysmon, stuck_ms_is_zero_when_idle)
{
    rt_pid_t pid = spawn_sleeper(NULL);
    post(pid, MSG_PING, 0);
    expect(REP_PONG);
    cr_assert_eq(wait_not_stuck(), 0);
}

static int napper_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self;
    rtt_sleep_ms((long)m->arg);
    return 0;
}

static const rt_behaviour_t napper_beh = {.name = "napper",
                                          .handle = napper_handle};

/* Send a nap of ms to pid on rt and wait until it has been handled. */
static void nap(rt_t *rt, rt_pid_t pid, uint64_t ms, uint64_t nth)
{
    rt_msg_t *m = rt_msg_new(1);
    m->arg = ms;
    cr_assert_eq(rt_send(rt, pid, m), 0);
    rt_actor_info_t info = {0};
    for (int i = 0; i < 5000 && info.msgs < nth; i++) {
        rtt_sleep_ms(1);
        cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
    }
    cr_assert_eq(info.msgs, nth);
    rtt_sleep_ms(10); /* the count follows the turn's end */
}

Test(rt_sysmon, default_long_turn_is_100_ms)
{
    rt_t *rt;
    rt_pid_t pid;
    cr_assert_eq(rt_new(&(rt_opts_t){.schedulers = 1}, &rt), 0);
    cr_assert_eq(rt_spawn(rt, NULL, &napper_beh, NULL, NULL, &pid), 0);
    nap(rt, pid, 60, 1);
    rt_stats_t s;
    rt_stats(rt, &s);
    cr_assert_eq(s.long_turns, 0, "60 ms is not long by default");
    nap(rt, pid, 150, 2);
    for (int i = 0; i < 2000 && (rt_stats(rt, &s), s.long_turns) == 0; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(s.long_turns, 1, "150 ms is");
    rt_actor_info_t info;
    cr_assert_eq(rt_actor_info(rt, pid, &info), 0);
    cr_assert_eq(info.long_turns, 1);
    rt_free(rt);
}

Test(rt_sysmon, watch_interval_is_bounded)
{
    cr_assert_eq(rt__sysmon_interval_ms(1), RT_SYSMON_MIN_MS);
    cr_assert_eq(rt__sysmon_interval_ms(60), 30);
    cr_assert_eq(rt__sysmon_interval_ms(100000), RT_SYSMON_MAX_MS);
}

Test(rt_sysmon, deterministic_mode_is_never_stuck)
{
    rt_t *rt;
    rt_opts_t o = {.deterministic = true, .seed = 1};
    cr_assert_eq(rt_new(&o, &rt), 0);
    cr_assert_eq(rt_sched_stuck_ms(rt), 0);
    rt_stats_t s;
    rt_stats(rt, &s);
    cr_assert_eq(s.sched[0].running, RT_PID_NONE);
    rt_free(rt);
}
