/*
 * test_work.c - rt_work_submit(): fn runs on the blocking pool, never on a
 * scheduler thread; the reply comes back to the submitting actor with the
 * argument as payload (freed once, with arg_free) and fn's status in
 * reason; blocking work does not stall the schedulers; a job that panics
 * (cl_panic, rt_assert) fails alone, with CLEO_EPANIC for its submitter,
 * on either pool and inline in deterministic mode.
 *
 * One scheduler, four pool threads: anything that blocked the scheduler
 * would show up as a late pong.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_SUBMIT = 1,      /* arg = sleep ms, reason = fn's status */
    MSG_SUBMIT_KEEP,     /* as SUBMIT; the handler takes the payload on done */
    MSG_SUBMIT_STATIC,   /* static arg, arg_free NULL */
    MSG_SUBMIT_IO,       /* as SUBMIT, on the I/O pool */
    MSG_SUBMIT_PANIC,    /* as SUBMIT; fn then panics (reason = PANIC_*) */
    MSG_SUBMIT_IO_PANIC, /* as SUBMIT_PANIC, on the I/O pool */
    MSG_DONE,            /* the reply type */
    MSG_PING,
    REP_DONE = 100, /* arg = job index, reason = status, ref-free flags */
    REP_FLAGS,      /* arg = job index, reason = DONE_* flags */
    REP_SUBMIT_RC,  /* rt_work_submit() failed: reason = rc */
    REP_PONG,
};

#define DONE_OFF_SCHED 1 /* fn saw rt_on_scheduler() == false */
#define DONE_NO_ACTOR 2  /* fn saw rt_current() == NULL */
#define DONE_SAME_PTR 4  /* reply payload is the submitted pointer */
#define DONE_FREE_FN 8   /* reply payload_free is the given arg_free */
#define DONE_ALL 15
#define MAX_JOBS 256

#define PANIC_CL 1     /* fn calls cl_panic() */
#define PANIC_ASSERT 2 /* fn fails an rt_assert() */

static int job_frees; /* read after rt_shutdown() */

typedef struct job_s {
    int idx;
    int sleep_ms;
    int ret;
    int panic;      /* PANIC_*: how fn fails after its work; 0 = returns */
    bool keep;      /* the handler takes ownership of the payload */
    bool on_sched;  /* written by fn */
    bool had_actor; /* written by fn */
} job_t;

typedef struct boss_s {
    int next;
    job_t *sent[MAX_JOBS];
} boss_t;

static job_t static_job = {.idx = MAX_JOBS - 1};

static void job_free(void *p)
{
    job_frees++;
    free(p);
}

static int work_fn(void *arg)
{
    job_t *j = arg;
    j->on_sched = rt_on_scheduler();
    j->had_actor = rt_current() != NULL;
    if (j->sleep_ms > 0)
        rtt_sleep_ms(j->sleep_ms);
    if (j->panic == PANIC_CL)
        cl_panic("job %d gives up", j->idx);
    rt_assert(j->panic != PANIC_ASSERT);
    return j->ret;
}

static int boss_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, calloc(1, sizeof(boss_t)));
    return 0;
}

static void boss_destroy(rt_actor_t *self, int reason)
{
    free(rt_state(self));
}

static int on_submit(rt_actor_t *self, boss_t *b, rt_msg_t *m, bool keep,
                     bool io)
{
    bool panics = m->type == MSG_SUBMIT_PANIC || m->type == MSG_SUBMIT_IO_PANIC;
    job_t *j = calloc(1, sizeof(*j));
    j->idx = b->next++ % (MAX_JOBS - 1);
    j->sleep_ms = (int)m->arg;
    j->ret = panics ? 0 : m->reason;
    j->panic = panics ? m->reason : 0;
    j->keep = keep;
    b->sent[j->idx] = j;
    int rc = (io ? rt_work_submit_io : rt_work_submit)(self, work_fn, j,
                                                       job_free, MSG_DONE);
    if (rc != 0)
        rtt_notify(REP_SUBMIT_RC, (uint64_t)j->idx, rc);
    return 0;
}

static int on_submit_static(rt_actor_t *self, boss_t *b, rt_msg_t *m)
{
    static_job.ret = m->reason;
    b->sent[static_job.idx] = &static_job;
    int rc = rt_work_submit(self, work_fn, &static_job, NULL, MSG_DONE);
    if (rc != 0)
        rtt_notify(REP_SUBMIT_RC, (uint64_t)static_job.idx, rc);
    return 0;
}

static int on_done(boss_t *b, rt_msg_t *m)
{
    job_t *j = m->payload;
    int flags = 0;
    flags |= !j->on_sched ? DONE_OFF_SCHED : 0;
    flags |= !j->had_actor ? DONE_NO_ACTOR : 0;
    flags |= b->sent[j->idx] == j ? DONE_SAME_PTR : 0;
    bool is_static = j == &static_job;
    flags |=
        m->payload_free == (is_static ? NULL : job_free) ? DONE_FREE_FN : 0;
    rtt_notify(REP_FLAGS, (uint64_t)j->idx, flags);
    rtt_notify(REP_DONE, (uint64_t)j->idx, m->reason);
    b->sent[j->idx] = NULL;
    if (j->keep) {
        m->payload = NULL; /* ours now: the runtime must not free it */
        job_free(j);
    }
    return 0;
}

static int boss_handle(rt_actor_t *self, rt_msg_t *m)
{
    boss_t *b = rt_state(self);
    switch (m->type) {
    case MSG_SUBMIT:
        return on_submit(self, b, m, false, false);
    case MSG_SUBMIT_KEEP:
        return on_submit(self, b, m, true, false);
    case MSG_SUBMIT_IO:
    case MSG_SUBMIT_IO_PANIC:
        return on_submit(self, b, m, false, true);
    case MSG_SUBMIT_PANIC:
        return on_submit(self, b, m, false, false);
    case MSG_SUBMIT_STATIC:
        return on_submit_static(self, b, m);
    case MSG_DONE:
        return on_done(b, m);
    case MSG_PING:
        rtt_notify(REP_PONG, 0, 0);
        return 0;
    default:
        return 0;
    }
}

static const rt_behaviour_t boss_beh = {
    .name = "boss",
    .init = boss_init,
    .handle = boss_handle,
    .destroy = boss_destroy,
};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 1, .dirty_threads = 4, .io_threads = 8};
    rtt_start(&o);
}

static rt_pid_t spawn_boss(void)
{
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &boss_beh, NULL, NULL, &pid), 0);
    return pid;
}

static void submit(rt_pid_t boss, uint32_t type, int sleep_ms, int ret)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = (uint64_t)sleep_ms;
    m->reason = ret;
    cr_assert_eq(rt_send(rtt_rt, boss, m), 0);
}

/* Expect REP_FLAGS then REP_DONE for one job; return its status. */
static int expect_done(int *idx_out, uint32_t ms)
{
    rt_msg_t *m = rtt_expect_msg(REP_FLAGS, ms);
    cr_assert_eq(m->reason, DONE_ALL, "job %llu flags %d",
                 (unsigned long long)m->arg, m->reason);
    rt_msg_free(m);
    m = rtt_expect_msg(REP_DONE, ms);
    int status = m->reason;
    if (idx_out)
        *idx_out = (int)m->arg;
    rt_msg_free(m);
    return status;
}

TestSuite(rt_work, .init = setup, .fini = rtt_fini, .timeout = 30);

Test(rt_work, fn_runs_off_the_schedulers_and_replies_with_arg_and_status)
{
    cr_assert_not(rt_on_scheduler(), "the test thread is no scheduler");
    submit(spawn_boss(), MSG_SUBMIT, 0, 7);
    cr_assert_eq(expect_done(NULL, 3000), 7);
    rtt_expect_silence(50);
}

Test(rt_work, negative_status_arrives_in_reason)
{
    submit(spawn_boss(), MSG_SUBMIT, 0, CLEO_ESTORAGE);
    cr_assert_eq(expect_done(NULL, 3000), CLEO_ESTORAGE);
}

Test(rt_work, reply_payload_is_freed_once_with_arg_free)
{
    submit(spawn_boss(), MSG_SUBMIT, 0, 0);
    cr_assert_eq(expect_done(NULL, 3000), 0);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 1);
}

Test(rt_work, handler_that_clears_the_payload_owns_it)
{
    submit(spawn_boss(), MSG_SUBMIT_KEEP, 0, 0);
    cr_assert_eq(expect_done(NULL, 3000), 0);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 1, "freed by the handler only");
}

Test(rt_work, null_arg_free_is_allowed)
{
    submit(spawn_boss(), MSG_SUBMIT_STATIC, 0, 3);
    cr_assert_eq(expect_done(NULL, 3000), 3);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 0);
}

Test(rt_work, blocking_work_does_not_stall_the_scheduler)
{
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT, 400, 0);
    rtt_sleep_ms(20); /* let the job start */
    uint64_t t0 = rt_now_ms(rtt_rt);
    cr_assert_eq(rt_send(rtt_rt, boss, rt_msg_new(MSG_PING)), 0);
    rt_msg_free(rtt_expect_msg(REP_PONG, 2000));
    uint64_t pong_ms = rt_now_ms(rtt_rt) - t0;
    cr_assert_lt(pong_ms, 200, "pong took %llu ms while the job slept",
                 (unsigned long long)pong_ms);
    cr_assert_eq(expect_done(NULL, 3000), 0);
    cr_assert_geq(rt_now_ms(rtt_rt) - t0, 300, "the job really blocked");
}

Test(rt_work, jobs_run_in_parallel_on_the_pool)
{
    rt_pid_t boss = spawn_boss();
    uint64_t t0 = rt_now_ms(rtt_rt);
    for (int i = 0; i < 4; i++)
        submit(boss, MSG_SUBMIT, 250, i);
    for (int i = 0; i < 4; i++)
        expect_done(NULL, 3000);
    uint64_t took = rt_now_ms(rtt_rt) - t0;
    cr_assert_lt(took, 900, "4 x 250 ms jobs on 4 threads took %llu ms",
                 (unsigned long long)took);
}

Test(rt_work, io_jobs_run_off_the_schedulers_and_reply_once)
{
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT_IO, 0, 5);
    cr_assert_eq(expect_done(NULL, 3000), 5);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 1);
}

Test(rt_work, a_full_blocking_pool_does_not_hold_io_jobs_back)
{
    rt_pid_t boss = spawn_boss();
    for (int i = 0; i < 4; i++) /* every blocking-pool thread busy */
        submit(boss, MSG_SUBMIT, 500, 1);
    uint64_t t0 = rt_now_ms(rtt_rt);
    for (int i = 0; i < 8; i++) /* eight waits at once on eight threads */
        submit(boss, MSG_SUBMIT_IO, 200, 2);
    for (int i = 0; i < 8; i++) /* the I/O jobs come back first */
        cr_assert_eq(expect_done(NULL, 3000), 2, "reply %d", i);
    uint64_t took = rt_now_ms(rtt_rt) - t0;
    cr_assert_lt(took, 450, "8 x 200 ms on the I/O pool took %llu ms",
                 (unsigned long long)took);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(expect_done(NULL, 3000), 1);
}

Test(rt_work, each_of_many_jobs_replies_once)
{
    enum { N = 200 };
    bool seen[MAX_JOBS] = {false};
    rt_pid_t boss = spawn_boss();
    for (int i = 0; i < N; i++)
        submit(boss, MSG_SUBMIT, 0, i);
    for (int i = 0; i < N; i++) {
        int idx = -1;
        int status = expect_done(&idx, 5000);
        cr_assert_eq(status, idx, "job %d got status %d", idx, status);
        cr_assert_not(seen[idx], "job %d replied twice", idx);
        seen[idx] = true;
    }
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, N);
}

Test(rt_work, job_running_at_shutdown_is_freed_once)
{
    submit(spawn_boss(), MSG_SUBMIT, 200, 0);
    rtt_sleep_ms(30); /* fn is now sleeping on a pool thread */
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 1, "arg freed exactly once, reply or not");
}

/* ---- a panicking job fails alone ----------------------------------- */

/* The boss answers a ping: the submitter outlived its job's panic. */
static void expect_pong(rt_pid_t boss)
{
    cr_assert_eq(rt_send(rtt_rt, boss, rt_msg_new(MSG_PING)), 0);
    rt_msg_free(rtt_expect_msg(REP_PONG, 3000));
}

Test(rt_work, cl_panic_in_a_job_fails_that_job_with_epanic)
{
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT_PANIC, 0, PANIC_CL);
    cr_assert_eq(expect_done(NULL, 3000), CLEO_EPANIC);
    expect_pong(boss);
    submit(boss, MSG_SUBMIT, 0, 7); /* the pool goes on */
    cr_assert_eq(expect_done(NULL, 3000), 7);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 2, "the panicked job's arg freed once too");
}

Test(rt_work, failed_rt_assert_in_an_io_job_fails_that_job_with_epanic)
{
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT_IO_PANIC, 0, PANIC_ASSERT);
    cr_assert_eq(expect_done(NULL, 3000), CLEO_EPANIC);
    expect_pong(boss);
    submit(boss, MSG_SUBMIT_IO, 0, 5);
    cr_assert_eq(expect_done(NULL, 3000), 5);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(job_frees, 2);
}

Test(rt_work, cl_panic_in_an_io_job_fails_that_job_with_epanic)
{
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT_IO_PANIC, 0, PANIC_CL);
    cr_assert_eq(expect_done(NULL, 3000), CLEO_EPANIC);
    expect_pong(boss);
}

Test(rt_work, failed_rt_assert_in_a_job_fails_that_job_with_epanic)
{
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT_PANIC, 0, PANIC_ASSERT);
    cr_assert_eq(expect_done(NULL, 3000), CLEO_EPANIC);
    expect_pong(boss);
}

Test(rt_work, every_pool_thread_outlives_a_panicking_job)
{
    rt_pid_t boss = spawn_boss();
    for (int i = 0; i < 4; i++) /* one panic on each of the four threads */
        submit(boss, MSG_SUBMIT_PANIC, 100, i % 2 ? PANIC_CL : PANIC_ASSERT);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(expect_done(NULL, 3000), CLEO_EPANIC, "job %d", i);
    uint64_t t0 = rt_now_ms(rtt_rt);
    for (int i = 0; i < 4; i++)
        submit(boss, MSG_SUBMIT, 250, i);
    for (int i = 0; i < 4; i++)
        cr_assert_geq(expect_done(NULL, 3000), 0);
    uint64_t took = rt_now_ms(rtt_rt) - t0;
    cr_assert_lt(took, 900, "4 x 250 ms jobs after 4 panics took %llu ms",
                 (unsigned long long)took);
}

Test(rt_work, a_job_panic_is_logged_with_its_submitter)
{
    cr_redirect_stderr();
    rt_pid_t boss = spawn_boss();
    submit(boss, MSG_SUBMIT_PANIC, 0, PANIC_CL);
    cr_assert_eq(expect_done(NULL, 3000), CLEO_EPANIC);
    fflush(stderr);
    char want[64], line[512];
    snprintf(want, sizeof want, "of %s panicked",
             rt_pid_fmt(boss, line, sizeof line));
    FILE *err = cr_get_redirected_stderr();
    bool where = false, whose = false;
    while (!(where && whose) && fgets(line, sizeof line, err) != NULL) {
        where = where || strstr(line, "job 0 gives up") != NULL;
        whose = whose || (strstr(line, "blocking-pool job") != NULL &&
                          strstr(line, want) != NULL);
    }
    cr_assert(where, "the panic's own line (file:line: message)");
    cr_assert(whose, "a line naming the pool and the submitter %s", want);
}

/* ---- deterministic mode: the job runs inline --------------------------- */

static int det_status = 1;    /* the reply's reason; 1 = no reply */
static bool det_after_submit; /* the handler went on after submitting */
static int det_destroy = 1;   /* the boss's exit reason; 1 = alive */

static int det_handle(rt_actor_t *self, rt_msg_t *m)
{
    if (m->type == MSG_SUBMIT_PANIC) {
        job_t *j = calloc(1, sizeof *j);
        j->panic = m->reason;
        int rc = rt_work_submit(self, work_fn, j, job_free, MSG_DONE);
        det_after_submit = rc == 0;
    } else if (m->type == MSG_DONE) {
        det_status = m->reason;
    }
    return 0;
}

static void det_destroy_fn(rt_actor_t *self, int reason)
{
    det_destroy = reason;
}

static const rt_behaviour_t det_beh = {
    .name = "det_boss", .handle = det_handle, .destroy = det_destroy_fn};

static void det_panic_case(int how)
{
    rt_opts_t o = {.deterministic = true, .seed = 7, .max_actors = 64};
    rt_t *r = NULL;
    cr_assert_eq(rt_new(&o, &r), 0);
    rt_pid_t boss = RT_PID_NONE;
    cr_assert_eq(rt_spawn(r, NULL, &det_beh, NULL, NULL, &boss), 0);
    rt_msg_t *m = rt_msg_new(MSG_SUBMIT_PANIC);
    m->reason = how;
    cr_assert_eq(rt_send(r, boss, m), 0);
    cr_assert_geq(rt_det_run(r, 0), 0);
    cr_assert(det_after_submit, "rt_work_submit returned to the handler");
    cr_assert_eq(det_status, CLEO_EPANIC, "reply reason %d", det_status);
    cr_assert(rt_is_alive(r, boss), "the submitter did not crash");
    cr_assert_eq(det_destroy, 1);
    cr_assert_eq(rt_shutdown(r), 0);
    rt_free(r);
    cr_assert_eq(job_frees, 1, "the job's arg freed once, with the reply");
}

Test(rt_work_det, inline_job_panic_fails_the_job_not_the_submitter)
{
    det_panic_case(PANIC_CL);
}

Test(rt_work_det, inline_job_failed_assert_fails_the_job_not_the_submitter)
{
    det_panic_case(PANIC_ASSERT);
}
