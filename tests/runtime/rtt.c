/*
 * rtt.c - helpers shared by the runtime's Criterion tests (see rtt.h).
 */
#include "rtt.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

rt_t *rtt_rt;
rt_inbox_t *rtt_ib;
rt_pid_t rtt_ibp;

static rtt_report_t stash[RTT_STASH_MAX]; /* received, not yet expected */
static int nstash;

/* ---- the actors' side ------------------------------------------------- */

/* Send a copy of rep to `to`; a send that fails (a gone inbox) is ignored. */
void rtt_report(rt_t *r, rt_pid_t to, const rtt_report_t *rep)
{
    rtt_report_t *p = malloc(sizeof *p);
    if (p == NULL)
        abort();
    *p = *rep;
    rt_msg_t *m = rt_msg_new(rep->kind);
    m->payload = p;
    m->payload_free = free;
    (void)rt_send(r, to, m); /* the inbox may be gone at shutdown */
}

/* Send the inbox a bare message of type with arg and reason. */
void rtt_notify(uint32_t type, uint64_t arg, int32_t reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    (void)rt_send(rtt_rt, rtt_ibp, m);
}

/* Report {kind, self, other, ref, reason} to the probe's `to`. */
int rtt_tell(rt_actor_t *self, uint32_t kind, rt_pid_t other, rt_ref_t ref,
             int reason)
{
    rtt_probe_t *p = rt_state(self);
    rtt_report_t rep = {kind, rt_self(self), other, ref, reason};
    rtt_report(rt_actor_rt(self), p->to, &rep);
    return 0;
}

/* Allocate a zeroed probe state of size bytes reporting to the pid in arg. */
int rtt_probe_alloc(rt_actor_t *self, void *arg, size_t size)
{
    rtt_probe_t *p = calloc(1, size);
    if (p == NULL)
        return CLEO_ENOMEM;
    p->to = (rt_pid_t)(uintptr_t)arg;
    rt_set_state(self, p);
    return 0;
}

/* A behaviour init for a probe whose state is just an rtt_probe_t. */
int rtt_probe_init(rt_actor_t *self, void *arg)
{
    return rtt_probe_alloc(self, arg, sizeof(rtt_probe_t));
}

/* A behaviour destroy: reports RTT_DESTROY with the reason, frees state. */
void rtt_probe_destroy(rt_actor_t *self, int reason)
{
    rtt_tell(self, RTT_DESTROY, rt_self(self), 0, reason);
    free(rt_state(self));
}

/* Handle the commands all probes share; forward EXIT and DOWN messages. */
int rtt_probe_handle(rt_actor_t *self, rt_msg_t *m)
{
    switch (m->type) {
    case RTT_PING:
        return rtt_tell(self, RTT_ACK, m->arg, 0, 0);
    case RTT_LINK:
        return rtt_tell(self, RTT_ACK, m->arg, 0, rt_link(self, m->arg));
    case RTT_STOP:
        return m->reason == 0 ? RT_STOP : m->reason;
    case RTT_MONITOR: {
        rt_ref_t ref = 0;
        int rc = rt_monitor(self, m->arg, &ref);
        return rtt_tell(self, RTT_ACK, m->arg, ref, rc);
    }
    case RT_MSG_EXIT:
        return rtt_tell(self, RTT_EXIT, m->from, m->ref, m->reason);
    case RT_MSG_DOWN:
        return rtt_tell(self, RTT_DOWN, m->from, m->ref, m->reason);
    default:
        return 0;
    }
}

/* Spawn a child of beh reporting where self does, and ack with the child. */
int rtt_probe_spawn(rt_actor_t *self, const rt_behaviour_t *beh, uint32_t flags)
{
    rtt_probe_t *p = rt_state(self);
    rt_ref_t ref = 0;
    rt_pid_t child = RT_PID_NONE;
    rt_spawn_opts_t o = {
        .flags = flags, .sched = RT_SCHED_ANY, .mon_ref = &ref};
    int rc = rt_spawn(rt_actor_rt(self), self, beh, (void *)(uintptr_t)p->to,
                      &o, &child);
    return rtt_tell(self, RTT_ACK, child, ref, rc);
}

/* ---- the test thread's side ------------------------------------------ */

/* Milliseconds on the monotonic clock. */
uint64_t rtt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleep for ms milliseconds. */
void rtt_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The report a message carries: its payload, or one made from a system
 * message's fields. Frees the message. */
rtt_report_t rtt_to_report(rt_msg_t *m)
{
    rtt_report_t r = {m->type, rtt_ibp, m->from, m->ref, m->reason};
    if (m->type < RT_MSG_SYS_BASE && m->payload != NULL)
        r = *(const rtt_report_t *)m->payload;
    rt_msg_free(m);
    return r;
}

/* Take the oldest stashed report of kind (0 = any) from who (0 = anyone). */
bool rtt_take(uint32_t kind, rt_pid_t who, rtt_report_t *out)
{
    for (int i = 0; i < nstash; i++) {
        if ((kind != 0 && stash[i].kind != kind) ||
            (who != 0 && stash[i].who != who))
            continue;
        *out = stash[i];
        memmove(&stash[i], &stash[i + 1], (nstash - i - 1) * sizeof *stash);
        nstash--;
        return true;
    }
    return false;
}

/* Wait up to ms for a matching report, stashing the others for later. */
bool rtt_wait_report(uint32_t kind, rt_pid_t who, uint32_t ms,
                     rtt_report_t *out)
{
    uint64_t end = rtt_now_ms() + ms;
    for (;;) {
        if (rtt_take(kind, who, out))
            return true;
        uint64_t t = rtt_now_ms();
        rt_msg_t *m = NULL;
        int rc = rt_inbox_recv(rtt_ib, t >= end ? 0 : (uint32_t)(end - t), &m);
        if (rc == CLEO_ETIMEDOUT)
            return false;
        cr_assert_eq(rc, 0, "rt_inbox_recv: %s", cleo_err_name(rc));
        cr_assert_lt(nstash, RTT_STASH_MAX, "too many unexpected reports");
        stash[nstash++] = rtt_to_report(m);
    }
}

/* A matching report, failing the test after RTT_WAIT_MS without one. */
rtt_report_t rtt_expect(uint32_t kind, rt_pid_t who)
{
    rtt_report_t r;
    cr_assert(rtt_wait_report(kind, who, RTT_WAIT_MS, &r),
              "no report %u from %#llx", kind, (unsigned long long)who);
    return r;
}

/* Fail the test if a matching report arrives within ms. */
void rtt_expect_none(uint32_t kind, rt_pid_t who, uint32_t ms)
{
    rtt_report_t r;
    cr_assert_not(rtt_wait_report(kind, who, ms, &r),
                  "unexpected report %u from %#llx (other %#llx, reason %s)",
                  kind, (unsigned long long)who, (unsigned long long)r.other,
                  rt_reason_name(r.reason));
}

/* Send `to` a message of type with arg and reason, asserting it went. */
void rtt_post(rt_pid_t to, uint32_t type, uint64_t arg, int reason)
{
    rt_msg_t *m = rt_msg_new(type);
    m->arg = arg;
    m->reason = reason;
    int rc = rt_send(rtt_rt, to, m);
    cr_assert_eq(rc, 0, "rt_send: %s", cleo_err_name(rc));
}

/* Send a command and wait for its ack. */
rtt_report_t rtt_cmd(rt_pid_t to, uint32_t type, uint64_t arg)
{
    rtt_post(to, type, arg, 0);
    return rtt_expect(RTT_ACK, to);
}

/* Spawn an actor of beh reporting to the inbox, trapping exits or not. */
rt_pid_t rtt_spawn(const rt_behaviour_t *beh, bool trap)
{
    rt_spawn_opts_t o = {.sched = RT_SCHED_ANY, .trap_exit = trap};
    rt_pid_t pid = RT_PID_NONE;
    int rc = rt_spawn(rtt_rt, NULL, beh, (void *)(uintptr_t)rtt_ibp, &o, &pid);
    cr_assert_eq(rc, 0, "rt_spawn: %s", cleo_err_name(rc));
    return pid;
}

/* a links b. The ping makes b handle the link signal, which a sent before
 * its ack, before the test goes on, so a later exit of b cannot find the
 * link still in flight (that would be `noproc`, as in Erlang). */
void rtt_link_ok(rt_pid_t a, rt_pid_t b)
{
    cr_assert_eq(rtt_cmd(a, RTT_LINK, b).reason, 0);
    rtt_cmd(b, RTT_PING, 0);
}

/* The actor died with `reason`, as its destroy callback saw it. */
void rtt_expect_death(rt_pid_t pid, int reason)
{
    rtt_report_t r = rtt_expect(RTT_DESTROY, pid);
    cr_assert_eq(r.reason, reason, "died with %s, expected %s",
                 rt_reason_name(r.reason), rt_reason_name(reason));
}

/* The actor is alive and answering after signals have had time to land. */
void rtt_expect_alive(rt_pid_t pid)
{
    rtt_sleep_ms(RTT_QUIET_MS);
    rtt_cmd(pid, RTT_PING, 0);
    cr_assert(rt_is_alive(rtt_rt, pid));
    rtt_expect_none(RTT_DESTROY, pid, 0);
}

/* Wait until pid no longer names a live actor: destroy may run before the
 * slot is released. */
void rtt_expect_gone(rt_pid_t pid)
{
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_not(rt_is_alive(rtt_rt, pid));
}

/* A pid of beh that was alive and is now dead. */
rt_pid_t rtt_dead_pid(const rt_behaviour_t *beh)
{
    rt_pid_t d = rtt_spawn(beh, false);
    rtt_post(d, RTT_STOP, 0, 0);
    rtt_expect_death(d, RT_REASON_NORMAL);
    rtt_expect_gone(d);
    return d;
}

/* The next inbox message, which must arrive within ms and be of type. */
rt_msg_t *rtt_expect_msg(uint32_t type, uint32_t ms)
{
    rt_msg_t *m = NULL;
    int rc = rt_inbox_recv(rtt_ib, ms, &m);
    cr_assert_eq(rc, 0, "waiting for type %u: %s", type, cleo_err_name(rc));
    cr_assert_eq(m->type, type, "got type %u (arg %llu reason %d), wanted %u",
                 m->type, (unsigned long long)m->arg, m->reason, type);
    return m;
}

/* Fail the test if any inbox message arrives within ms. */
void rtt_expect_silence(uint32_t ms)
{
    rt_msg_t *m = NULL;
    int rc = rt_inbox_recv(rtt_ib, ms, &m);
    cr_assert_eq(rc, CLEO_ETIMEDOUT, "unexpected message type %u",
                 m ? m->type : 0);
}

/* ---- fixtures --------------------------------------------------------- */

/* Start a runtime made with o and an inbox, and clear the stash. */
void rtt_start(const rt_opts_t *o)
{
    cr_assert_eq(rt_new(o, &rtt_rt), 0);
    cr_assert_eq(rt_inbox_new(rtt_rt, &rtt_ib), 0);
    rtt_ibp = rt_inbox_pid(rtt_ib);
    nstash = 0;
}

/* A suite .init: rtt_start() with 4 schedulers. */
void rtt_setup(void)
{
    rt_opts_t o = {.schedulers = 4};
    rtt_start(&o);
}

/* A suite .fini: free the inbox, shut down, check no actor outlived it. */
void rtt_teardown(void)
{
    rt_inbox_free(rtt_ib);
    cr_assert_eq(rt_shutdown(rtt_rt), 0);
    rt_stats_t st;
    rt_stats(rtt_rt, &st);
    cr_assert_eq(st.actors, 0, "%llu actors outlived shutdown",
                 (unsigned long long)st.actors);
    rt_free(rtt_rt);
}

/* A suite .fini: free the inbox, shut down and free the runtime. */
void rtt_fini(void)
{
    rt_inbox_free(rtt_ib);
    cr_assert_eq(rt_shutdown(rtt_rt), 0);
    rt_free(rtt_rt);
}

/* Free the inbox and shut down, so that what destroy() recorded can be
 * read; the suite's .fini still runs. */
void rtt_stop_runtime(void)
{
    rt_inbox_free(rtt_ib);
    rtt_ib = NULL;
    cr_assert_eq(rt_shutdown(rtt_rt), 0);
}

/* ---- the gate: holding a handler on a scheduler thread ---------------- */

/* A handler blocks on gate[0] after writing to ack[1]. */
static int gate[2] = {-1, -1}, ack[2] = {-1, -1};

/* Open the gate's pipes. */
void rtt_gate_open_pipes(void)
{
    cr_assert_eq(pipe(gate), 0);
    cr_assert_eq(pipe(ack), 0);
}

/* In a handler: say we got here, then block until the gate is released. */
int rtt_gate_block(void)
{
    char c = 'g';
    if (write(ack[1], &c, 1) != 1)
        return -1;
    return read(gate[0], &c, 1) == 1 ? 0 : -1;
}

/* Wait (up to 5 s) until a handler is blocked on the gate. */
void rtt_gate_wait_blocked(void)
{
    struct pollfd p = {.fd = ack[0], .events = POLLIN};
    char c;
    cr_assert_eq(poll(&p, 1, 5000), 1, "the handler never reached the gate");
    cr_assert_eq(read(ack[0], &c, 1), 1);
}

/* Let one blocked handler go. */
void rtt_gate_release(void)
{
    cr_assert_eq(write(gate[1], "x", 1), 1);
}

/* For teardowns: let a blocked handler go if the gate is open. */
void rtt_gate_unstick(void)
{
    if (gate[1] >= 0)
        (void)write(gate[1], "x", 1);
}

/* Close the gate's pipes. */
void rtt_gate_close_pipes(void)
{
    for (int i = 0; i < 2; i++) {
        if (gate[i] >= 0)
            close(gate[i]);
        if (ack[i] >= 0)
            close(ack[i]);
    }
}

void rtt_gate_setup(void)
{
    rtt_gate_open_pipes();
    rtt_setup();
}

void rtt_gate_teardown(void)
{
    rtt_gate_unstick();
    rtt_teardown();
    rtt_gate_close_pipes();
}
