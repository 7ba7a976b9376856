/*
 * rtt.h - helpers shared by the runtime's Criterion tests.
 *
 * One runtime and one inbox per test (rtt_rt, rtt_ib, rtt_ibp), set up by
 * rtt_setup() and torn down by rtt_teardown(). Probes report to the inbox
 * with rtt_report_t payloads; the test thread reads them with rtt_expect()
 * and friends, stashing reports that arrive before they are expected.
 *
 * A probe's state starts with rtt_probe_t, and every probe behaviour
 * hands what it does not handle itself to rtt_probe_handle(), which answers
 * the common commands (RTT_PING, RTT_LINK, RTT_STOP, RTT_MONITOR) and
 * forwards EXIT and DOWN messages, so the helpers that use these work with
 * any probe. A test file numbers its own commands from
 * RTT_CMD_BASE and its own reports from RTT_REP_BASE.
 */
#ifndef RTT_H
#define RTT_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rt.h"

#define RTT_WAIT_MS 10000 /* how long an expected report may take */
#define RTT_QUIET_MS 50   /* how long we watch to see nothing happen */
#define RTT_STASH_MAX 512

enum {
    RTT_PING = 1,  /* ack */
    RTT_LINK,      /* ack reason = rt_link(arg) */
    RTT_STOP,      /* exit: return m->reason (0: RT_STOP) */
    RTT_MONITOR,   /* ack ref, reason = rt_monitor(arg) */
    RTT_CMD_BASE,  /* a test file's own commands start here */
    RTT_ACK = 100, /* a command's answer */
    RTT_EXIT,      /* a trapped RT_MSG_EXIT: other = from */
    RTT_DOWN,      /* an RT_MSG_DOWN: other = from, ref */
    RTT_DESTROY,   /* destroy ran: reason */
    RTT_REP_BASE,  /* a test file's own reports start here */
};

/* What a probe tells the inbox; the payload of every report message. */
typedef struct rtt_report_s {
    uint32_t kind;
    rt_pid_t who;   /* the reporting actor (the inbox for its own EXITs) */
    rt_pid_t other; /* the pid (or id) the report is about */
    rt_ref_t ref;
    int reason; /* an exit reason or a return code */
} rtt_report_t;

/* The start of every probe's state. */
typedef struct rtt_probe_s {
    rt_pid_t to; /* where reports go */
} rtt_probe_t;

extern rt_t *rtt_rt;
extern rt_inbox_t *rtt_ib;
extern rt_pid_t rtt_ibp;

/* ---- the actors' side ------------------------------------------------- */

/* Send a copy of rep to `to`; a send that fails (a gone inbox) is ignored. */
void rtt_report(rt_t *r, rt_pid_t to, const rtt_report_t *rep);

/* Send the inbox a bare message of type with arg and reason; a send that
 * fails (a gone inbox) is ignored. Usable from any thread. */
void rtt_notify(uint32_t type, uint64_t arg, int32_t reason);

/* Report {kind, self, other, ref, reason} to the probe's `to`; returns 0. */
int rtt_tell(rt_actor_t *self, uint32_t kind, rt_pid_t other, rt_ref_t ref,
             int reason);

/* Allocate a zeroed probe state of `size` bytes reporting to the pid in
 * arg; returns 0 or CLEO_ENOMEM. */
int rtt_probe_alloc(rt_actor_t *self, void *arg, size_t size);

/* A behaviour init for a probe whose state is just an rtt_probe_t. */
int rtt_probe_init(rt_actor_t *self, void *arg);

/* A behaviour destroy: reports RTT_DESTROY with the reason, frees state. */
void rtt_probe_destroy(rt_actor_t *self, int reason);

/* Handle the commands all probes share and forward RT_MSG_EXIT and
 * RT_MSG_DOWN as RTT_EXIT and RTT_DOWN; ignore anything else. Returns what
 * the handler should return. */
int rtt_probe_handle(rt_actor_t *self, rt_msg_t *m);

/* Spawn a child of beh (from self, with spawn flags) reporting where self
 * does, and ack with other = child, ref = the monitor ref if any. */
int rtt_probe_spawn(rt_actor_t *self, const rt_behaviour_t *beh,
                    uint32_t flags);

/* ---- the test thread's side ------------------------------------------ */

/* Milliseconds on the monotonic clock. */
uint64_t rtt_now_ms(void);

/* Sleep for ms milliseconds. */
void rtt_sleep_ms(long ms);

/* The report a message carries (its payload, or one made from a system
 * message's fields); frees the message. */
rtt_report_t rtt_to_report(rt_msg_t *m);

/* Take the oldest stashed report of kind (0 = any) from who (0 = anyone). */
bool rtt_take(uint32_t kind, rt_pid_t who, rtt_report_t *out);

/* Wait up to ms for a matching report, stashing the others for later. */
bool rtt_wait_report(uint32_t kind, rt_pid_t who, uint32_t ms,
                     rtt_report_t *out);

/* A matching report, failing the test after RTT_WAIT_MS without one. */
rtt_report_t rtt_expect(uint32_t kind, rt_pid_t who);

/* Fail the test if a matching report arrives within ms. */
void rtt_expect_none(uint32_t kind, rt_pid_t who, uint32_t ms);

/* Send `to` a message of type with arg and reason, asserting it went. */
void rtt_post(rt_pid_t to, uint32_t type, uint64_t arg, int reason);

/* Send a command and wait for its ack. */
rtt_report_t rtt_cmd(rt_pid_t to, uint32_t type, uint64_t arg);

/* Spawn an actor of beh reporting to the inbox, trapping exits or not. */
rt_pid_t rtt_spawn(const rt_behaviour_t *beh, bool trap);

/* a links b, and b has handled the link signal before this returns. */
void rtt_link_ok(rt_pid_t a, rt_pid_t b);

/* The actor died with `reason`, as its destroy callback saw it. */
void rtt_expect_death(rt_pid_t pid, int reason);

/* The actor is alive and answering after signals have had time to land. */
void rtt_expect_alive(rt_pid_t pid);

/* Wait until pid no longer names a live actor. */
void rtt_expect_gone(rt_pid_t pid);

/* A pid of beh that was alive and is now dead. */
rt_pid_t rtt_dead_pid(const rt_behaviour_t *beh);

/* The next inbox message, which must arrive within ms and be of type. */
rt_msg_t *rtt_expect_msg(uint32_t type, uint32_t ms);

/* Fail the test if any inbox message arrives within ms. */
void rtt_expect_silence(uint32_t ms);

/* ---- fixtures --------------------------------------------------------- */

/* Start a runtime made with o and an inbox, and clear the stash. */
void rtt_start(const rt_opts_t *o);

/* A suite .init: rtt_start() with 4 schedulers. */
void rtt_setup(void);

/* A suite .fini: free the inbox, shut down, check no actor outlived it. */
void rtt_teardown(void);

/* A suite .fini: free the inbox, shut down and free the runtime. */
void rtt_fini(void);

/* Free the inbox and shut down, so that what destroy() recorded can be
 * read; the suite's .fini still runs. */
void rtt_stop_runtime(void);

/* ---- the gate: holding a handler on a scheduler thread ---------------- */

/* Open the gate's pipes. */
void rtt_gate_open_pipes(void);

/* In a handler: say we got here, then block until the gate is released;
 * returns 0, or -1 if a pipe failed. The test waits on a pipe, not the
 * inbox: the inbox's proxy actor may be queued behind the blocked handler. */
int rtt_gate_block(void);

/* Wait (up to 5 s) until a handler is blocked on the gate. */
void rtt_gate_wait_blocked(void);

/* Let one blocked handler go. */
void rtt_gate_release(void);

/* For teardowns: let a blocked handler go if the gate is open, without
 * asserting, so no scheduler is left blocked. */
void rtt_gate_unstick(void);

/* Close the gate's pipes. */
void rtt_gate_close_pipes(void);

/* A suite .init for tests that hold handlers: the gate's pipes, then
 * rtt_setup(). */
void rtt_gate_setup(void);

/* Its .fini: let a blocked handler go, rtt_teardown(), close the pipes. */
void rtt_gate_teardown(void);

#endif
