/*
 * test_msg.c - messages: rt_msg_new() defaults, protobuf-c payloads moved
 * between local actors as the same pointer and freed exactly once, payload
 * ownership on failed sends and when a handler takes it, per-sender FIFO,
 * and rt_send_name().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_test.pb-c.h"
#include "rtt.h"
#include "runtime/rt.h"

enum {
    MSG_PB = 1,   /* relay: take the payload, re-send it to pid in arg */
    MSG_CHECK,    /* sink: report the Ping it carries */
    MSG_SEQ,      /* counter: arg = sequence number */
    MSG_SEQ_END,  /* counter: report REP_SEQ */
    MSG_NEW,      /* prober: report what rt_msg_new() gives inside */
    MSG_BURST,    /* prober: send arg numbered messages to the inbox */
    MSG_KEEP,     /* keeper: take the payload, free it in destroy */
    REP_PB = 100, /* arg = payload pointer, reason = content ok, from */
    REP_FROM,     /* arg = m->from as the sink saw it */
    REP_SEQ,      /* arg = messages seen, reason = out-of-order count */
    REP_NEW,      /* arg = from, reason = 1 if the other fields are zero */
    REP_BURST,    /* arg = sequence number */
    REP_KEPT,
};

static int ping_frees; /* read after rt_shutdown() */

static const uint8_t blob[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* A Ping whose every field is malloc'd, as __unpack() would make it. */
static Cleo__Test__Ping *ping_new(uint64_t seq)
{
    Cleo__Test__Ping *p = malloc(sizeof(*p));
    cleo__test__ping__init(p);
    p->seq = seq;
    p->note = strdup("hello");
    p->data.len = sizeof(blob);
    p->data.data = malloc(sizeof(blob));
    memcpy(p->data.data, blob, sizeof(blob));
    return p;
}

static void ping_free_counted(void *p)
{
    ping_frees++;
    cleo__test__ping__free_unpacked(p, NULL);
}

static bool ping_ok(const Cleo__Test__Ping *p, uint64_t seq)
{
    return p && p->base.descriptor == &cleo__test__ping__descriptor &&
           p->seq == seq && strcmp(p->note, "hello") == 0 &&
           p->data.len == sizeof(blob) &&
           memcmp(p->data.data, blob, sizeof(blob)) == 0;
}

static int on_relay(rt_actor_t *self, rt_msg_t *m)
{
    rt_msg_t *out = rt_msg_new(MSG_CHECK);
    out->payload = m->payload;
    out->payload_free = m->payload_free;
    m->payload = NULL; /* moved on: the runtime must not free it here */
    (void)rt_send(rt_actor_rt(self), (rt_pid_t)m->arg, out);
    return 0;
}

static int on_check(rt_msg_t *m)
{
    rtt_notify(REP_PB, (uintptr_t)m->payload, ping_ok(m->payload, 7));
    rtt_notify(REP_FROM, m->from, 0);
    return 0;
}

static int on_new(rt_actor_t *self)
{
    rt_msg_t *n = rt_msg_new(MSG_NEW);
    bool zero = n->type == MSG_NEW && n->reason == 0 && n->ref == 0 &&
                n->arg == 0 && n->payload == NULL && n->payload_free == NULL;
    rtt_notify(REP_NEW, n->from, zero && n->from == rt_self(self));
    rt_msg_free(n);
    return 0;
}

static int on_burst(rt_msg_t *m)
{
    for (uint64_t i = 0; i < m->arg; i++)
        rtt_notify(REP_BURST, i, 0);
    return 0;
}

typedef struct counter_s {
    uint64_t next, seen;
    int32_t disorder;
    void *kept;
    rt_free_fn kept_free;
} counter_t;

static int on_seq(counter_t *c, rt_msg_t *m)
{
    if (m->arg != c->next)
        c->disorder++;
    c->next = m->arg + 1;
    c->seen++;
    return 0;
}

static int on_keep(counter_t *c, rt_msg_t *m)
{
    c->kept = m->payload;
    c->kept_free = m->payload_free;
    m->payload = NULL;
    rtt_notify(REP_KEPT, (uintptr_t)c->kept, 0);
    return 0;
}

static int actor_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, calloc(1, sizeof(counter_t)));
    return 0;
}

static void actor_destroy(rt_actor_t *self, int reason)
{
    counter_t *c = rt_state(self);
    if (c->kept)
        c->kept_free(c->kept);
    free(c);
}

static int actor_handle(rt_actor_t *self, rt_msg_t *m)
{
    counter_t *c = rt_state(self);
    switch (m->type) {
    case MSG_PB:
        return on_relay(self, m);
    case MSG_CHECK:
        return on_check(m);
    case MSG_SEQ:
        return on_seq(c, m);
    case MSG_SEQ_END:
        rtt_notify(REP_SEQ, c->seen, c->disorder);
        return 0;
    case MSG_NEW:
        return on_new(self);
    case MSG_BURST:
        return on_burst(m);
    case MSG_KEEP:
        return on_keep(c, m);
    default:
        return 0;
    }
}

static const rt_behaviour_t actor_beh = {
    .name = "msg_actor",
    .init = actor_init,
    .handle = actor_handle,
    .destroy = actor_destroy,
};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    rtt_start(&o);
}

static rt_pid_t spawn_actor(const char *name)
{
    rt_spawn_opts_t o = {.name = name, .sched = RT_SCHED_ANY};
    rt_pid_t pid = RT_PID_NONE;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &actor_beh, NULL, &o, &pid), 0);
    return pid;
}

static rt_msg_t *ping_msg(uint32_t type, Cleo__Test__Ping *p)
{
    rt_msg_t *m = rt_msg_new(type);
    m->payload = p;
    m->payload_free = ping_free_counted;
    return m;
}

TestSuite(rt_msg, .init = setup, .fini = rtt_fini, .timeout = 30);

Test(rt_msg, ping_moves_between_actors_as_the_same_pointer)
{
    rt_pid_t relay = spawn_actor(NULL), sink = spawn_actor(NULL);
    Cleo__Test__Ping *p = ping_new(7);
    rt_msg_t *m = ping_msg(MSG_PB, p);
    m->arg = sink;
    cr_assert_eq(rt_send(rtt_rt, relay, m), 0);

    m = rtt_expect_msg(REP_PB, 2000);
    cr_assert_eq(m->arg, (uintptr_t)p, "the struct is moved, not copied");
    cr_assert_eq(m->reason, 1, "the struct arrives intact");
    rt_msg_free(m);
    m = rtt_expect_msg(REP_FROM, 2000);
    cr_assert_eq(m->arg, relay, "from names the sending actor");
    rt_msg_free(m);
    rtt_expect_silence(50);
    rtt_stop_runtime();
    cr_assert_eq(ping_frees, 1, "freed %d times", ping_frees);
}

Test(rt_msg, set_pb_payload_arrives_as_the_same_pointer)
{
    rt_pid_t sink = spawn_actor(NULL);
    Cleo__Test__Ping *p = ping_new(7);
    rt_msg_t *m = rt_msg_new(MSG_CHECK);
    rt_msg_set_pb(m, p);
    cr_assert_eq(m->payload, p);
    cr_assert_not_null(m->payload_free);
    cr_assert_eq(rt_send(rtt_rt, sink, m), 0);
    m = rtt_expect_msg(REP_PB, 2000);
    cr_assert_eq(m->arg, (uintptr_t)p);
    cr_assert_eq(m->reason, 1);
    rt_msg_free(m);
    /* The runtime frees it with free_unpacked; ASan checks it is once. */
}

Test(rt_msg, payload_of_a_send_to_a_dead_pid_is_freed_once)
{
    rt_pid_t pid = spawn_actor(NULL);
    cr_assert_eq(rt_exit(rtt_rt, pid, RT_REASON_KILL), 0);
    for (int i = 0; i < 5000 && rt_is_alive(rtt_rt, pid); i++)
        rtt_sleep_ms(1);
    cr_assert_eq(rt_send(rtt_rt, pid, ping_msg(MSG_CHECK, ping_new(7))),
                 CLEO_ENOPROC);
    rtt_stop_runtime();
    cr_assert_eq(ping_frees, 1);
}

Test(rt_msg, payload_of_a_send_to_a_malformed_pid_is_freed_once)
{
    cr_assert_eq(rt_send(rtt_rt, RT_PID_NONE, ping_msg(MSG_CHECK, ping_new(7))),
                 CLEO_EBADPID);
    rtt_stop_runtime();
    cr_assert_eq(ping_frees, 1);
}

Test(rt_msg, handler_that_clears_the_payload_owns_it)
{
    rt_pid_t keeper = spawn_actor(NULL);
    Cleo__Test__Ping *p = ping_new(7);
    cr_assert_eq(rt_send(rtt_rt, keeper, ping_msg(MSG_KEEP, p)), 0);
    rt_msg_t *m = rtt_expect_msg(REP_KEPT, 2000);
    cr_assert_eq(m->arg, (uintptr_t)p);
    rt_msg_free(m);
    rtt_stop_runtime(); /* the keeper frees it in destroy */
    cr_assert_eq(ping_frees, 1);
}

Test(rt_msg, msg_new_sets_type_and_sender_and_zeroes_the_rest)
{
    rt_msg_t *m = rt_msg_new(1234);
    cr_assert_eq(m->type, 1234);
    cr_assert_eq(m->from, RT_PID_NONE, "no sender outside actors");
    cr_assert_eq(m->reason, 0);
    cr_assert_eq(m->ref, 0);
    cr_assert_eq(m->arg, 0);
    cr_assert_null(m->payload);
    cr_assert_null(m->payload_free);
    rt_msg_free(m);

    rt_pid_t pid = spawn_actor(NULL);
    cr_assert_eq(rt_send(rtt_rt, pid, rt_msg_new(MSG_NEW)), 0);
    m = rtt_expect_msg(REP_NEW, 2000);
    cr_assert_eq(m->arg, pid, "inside an actor, from is its pid");
    cr_assert_eq(m->reason, 1);
    rt_msg_free(m);
}

Test(rt_msg, msg_free_runs_payload_free_and_accepts_null)
{
    rt_msg_free(NULL);
    rt_msg_free(ping_msg(MSG_CHECK, ping_new(1)));
    cr_assert_eq(ping_frees, 1);
}

Test(rt_msg, messages_from_the_test_thread_arrive_in_send_order)
{
    enum { N = 20000 };
    rt_pid_t pid = spawn_actor(NULL);
    for (uint64_t i = 0; i < N; i++) {
        rt_msg_t *m = rt_msg_new(MSG_SEQ);
        m->arg = i;
        cr_assert_eq(rt_send(rtt_rt, pid, m), 0);
    }
    cr_assert_eq(rt_send(rtt_rt, pid, rt_msg_new(MSG_SEQ_END)), 0);
    rt_msg_t *m = rtt_expect_msg(REP_SEQ, 10000);
    cr_assert_eq(m->arg, N);
    cr_assert_eq(m->reason, 0, "%d messages out of order", m->reason);
    rt_msg_free(m);
}

Test(rt_msg, messages_from_an_actor_reach_an_inbox_in_send_order)
{
    enum { N = 5000 };
    rt_pid_t pid = spawn_actor(NULL);
    rt_msg_t *m = rt_msg_new(MSG_BURST);
    m->arg = N;
    cr_assert_eq(rt_send(rtt_rt, pid, m), 0);
    for (uint64_t i = 0; i < N; i++) {
        m = rtt_expect_msg(REP_BURST, 5000);
        cr_assert_eq(m->arg, i);
        cr_assert_eq(m->from, pid);
        rt_msg_free(m);
    }
}

Test(rt_msg, send_name_delivers_to_the_registered_actor)
{
    spawn_actor("sink");
    Cleo__Test__Ping *p = ping_new(7);
    cr_assert_eq(rt_send_name(rtt_rt, "sink", ping_msg(MSG_CHECK, p)), 0);
    rt_msg_t *m = rtt_expect_msg(REP_PB, 2000);
    cr_assert_eq(m->arg, (uintptr_t)p);
    rt_msg_free(m);
}

Test(rt_msg, send_name_to_an_unknown_name_is_enotfound_and_frees)
{
    cr_assert_eq(
        rt_send_name(rtt_rt, "nobody", ping_msg(MSG_CHECK, ping_new(7))),
        CLEO_ENOTFOUND);
    rtt_stop_runtime();
    cr_assert_eq(ping_frees, 1);
}

Test(rt_msg, send_of_null_is_einval)
{
    rt_pid_t pid = spawn_actor("anything");
    cr_assert_eq(rt_send(rtt_rt, pid, NULL), CLEO_EINVAL);
    cr_assert_eq(rt_send_name(rtt_rt, "anything", NULL), CLEO_EINVAL);
}
