/*
 * test_buf.c - rt_buf_t: reference counting (the bytes live until the last
 * unref), length and capacity rules, and buffers passed between actors by
 * reference, never copied, whether shared or relayed.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtt.h"
#include "runtime/rt.h"

/* A huge rt_buf_new() must come back as CLEO_ENOMEM, not abort the test
 * process inside the sanitizer's allocator. Default visibility: the sanitizer
 * runtime looks the hook up dynamically. */
__attribute__((used, visibility("default"))) const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

__attribute__((used, visibility("default"))) const char *
__tsan_default_options(void)
{
    return "allocator_may_return_null=1";
}

enum {
    MSG_BUF = 1,   /* reader: report the buffer it got */
    MSG_HOP,       /* relay: report, then pass the buffer to the next */
    MSG_KEEP,      /* keeper: take the buffer */
    MSG_READ,      /* keeper: check the kept bytes, unref them */
    REP_BUF = 100, /* arg = rt_buf_t *, reason = bytes ok */
    REP_DATA,      /* arg = rt_buf_data() */
    REP_READ,      /* reason = bytes ok, arg = refs seen */
};

static const char hello[] = "hello, buffers";

static bool bytes_ok(rt_buf_t *b)
{
    return b && rt_buf_len(b) >= sizeof(hello) &&
           memcmp(rt_buf_data(b), hello, sizeof(hello)) == 0;
}

typedef struct node_s {
    rt_pid_t next; /* relay: where to pass the buffer, 0 = last */
    rt_buf_t *kept;
} node_t;

static int node_init(rt_actor_t *self, void *arg)
{
    node_t *n = calloc(1, sizeof(*n));
    n->next = (rt_pid_t)(uintptr_t)arg;
    rt_set_state(self, n);
    return 0;
}

static void node_destroy(rt_actor_t *self, int reason)
{
    node_t *n = rt_state(self);
    rt_buf_unref(n->kept);
    free(n);
}

static int on_buf(rt_msg_t *m)
{
    rt_buf_t *b = m->payload;
    rtt_notify(REP_BUF, (uintptr_t)b, bytes_ok(b));
    rtt_notify(REP_DATA, (uintptr_t)rt_buf_data(b), 0);
    return 0;
}

static int on_hop(rt_actor_t *self, node_t *n, rt_msg_t *m)
{
    rt_buf_t *b = m->payload;
    rtt_notify(REP_DATA, (uintptr_t)rt_buf_data(b), bytes_ok(b));
    if (n->next == RT_PID_NONE)
        return 0;      /* the runtime drops this reference with m */
    m->payload = NULL; /* our reference moves on */
    rt_msg_t *out = rt_msg_new(MSG_HOP);
    rt_msg_set_buf(out, b);
    return rt_send(rt_actor_rt(self), n->next, out) == 0 ? 0 : -1;
}

static int on_keep(node_t *n, rt_msg_t *m)
{
    n->kept = m->payload;
    m->payload = NULL;
    return 0;
}

static int on_read(node_t *n)
{
    rtt_notify(REP_READ, rt_buf_refs(n->kept), bytes_ok(n->kept));
    rt_buf_unref(n->kept);
    n->kept = NULL;
    return 0;
}

static int node_handle(rt_actor_t *self, rt_msg_t *m)
{
    node_t *n = rt_state(self);
    switch (m->type) {
    case MSG_BUF:
        return on_buf(m);
    case MSG_HOP:
        return on_hop(self, n, m);
    case MSG_KEEP:
        return on_keep(n, m);
    case MSG_READ:
        return on_read(n);
    default:
        return 0;
    }
}

static const rt_behaviour_t node_beh = {
    .name = "buf_node",
    .init = node_init,
    .handle = node_handle,
    .destroy = node_destroy,
};

static void setup(void)
{
    rt_opts_t o = {.schedulers = 2};
    rtt_start(&o);
}

static rt_pid_t spawn_node(rt_pid_t next)
{
    rt_pid_t pid = RT_PID_NONE;
    void *arg = (void *)(uintptr_t)next;
    cr_assert_eq(rt_spawn(rtt_rt, NULL, &node_beh, arg, NULL, &pid), 0);
    return pid;
}

/* A buffer of capacity cap holding `hello`. */
static rt_buf_t *hello_buf(size_t cap)
{
    rt_buf_t *b = NULL;
    cr_assert_eq(rt_buf_new(cap, &b), 0);
    memcpy(rt_buf_data(b), hello, sizeof(hello));
    cr_assert_eq(rt_buf_set_len(b, sizeof(hello)), 0);
    return b;
}

static void send_buf(rt_pid_t to, uint32_t type, rt_buf_t *ref)
{
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_buf(m, ref);
    cr_assert_eq(rt_send(rtt_rt, to, m), 0);
}

static void wait_refs(rt_buf_t *b, uint32_t refs)
{
    for (int i = 0; i < 5000 && rt_buf_refs(b) != refs; i++)
        rtt_sleep_ms(1);
    cr_assert_eq(rt_buf_refs(b), refs);
}

TestSuite(rt_buf, .init = setup, .fini = rtt_fini, .timeout = 30);

Test(rt_buf, new_buffer_has_capacity_no_length_and_one_reference)
{
    rt_buf_t *b = NULL;
    cr_assert_eq(rt_buf_new(4096, &b), 0);
    cr_assert_not_null(b);
    cr_assert_not_null(rt_buf_data(b));
    cr_assert_eq(rt_buf_cap(b), 4096);
    cr_assert_eq(rt_buf_len(b), 0);
    cr_assert_eq(rt_buf_refs(b), 1);
    memset(rt_buf_data(b), 0xab, 4096); /* all of cap is writable */
    rt_buf_unref(b);
}

Test(rt_buf, set_len_accepts_up_to_capacity_and_rejects_beyond)
{
    rt_buf_t *b = NULL;
    cr_assert_eq(rt_buf_new(64, &b), 0);
    cr_assert_eq(rt_buf_set_len(b, 10), 0);
    cr_assert_eq(rt_buf_len(b), 10);
    cr_assert_eq(rt_buf_set_len(b, 64), 0);
    cr_assert_eq(rt_buf_len(b), 64);
    cr_assert_eq(rt_buf_set_len(b, 65), CLEO_EINVAL);
    cr_assert_eq(rt_buf_len(b), 64, "a rejected length changes nothing");
    cr_assert_eq(rt_buf_set_len(b, 0), 0);
    cr_assert_eq(rt_buf_len(b), 0);
    rt_buf_unref(b);
}

Test(rt_buf, ref_returns_the_same_buffer_and_counts)
{
    rt_buf_t *b = hello_buf(64);
    cr_assert_eq(rt_buf_ref(b), b);
    cr_assert_eq(rt_buf_ref(b), b);
    cr_assert_eq(rt_buf_refs(b), 3);
    rt_buf_unref(b);
    cr_assert_eq(rt_buf_refs(b), 2);
    rt_buf_unref(b);
    rt_buf_unref(b);
}

Test(rt_buf, data_survives_until_the_last_unref)
{
    rt_buf_t *b = hello_buf(64);
    char *data = rt_buf_data(b);
    rt_buf_t *other = rt_buf_ref(b);
    rt_buf_unref(b); /* the first owner lets go */
    cr_assert_eq(rt_buf_refs(other), 1);
    cr_assert_eq(rt_buf_data(other), data);
    cr_assert_str_eq(rt_buf_data(other), hello); /* ASan: still live */
    rt_buf_unref(other);
}

Test(rt_buf, unref_of_null_is_safe)
{
    rt_buf_unref(NULL);
}

Test(rt_buf, huge_capacity_is_enomem_and_out_is_untouched)
{
    rt_buf_t *b = (rt_buf_t *)0x1;
    cr_assert_eq(rt_buf_new(SIZE_MAX, &b), CLEO_ENOMEM);
    cr_assert_eq(b, (rt_buf_t *)0x1);
    cr_assert_eq(rt_buf_new(SIZE_MAX - 64, &b), CLEO_ENOMEM);
    cr_assert_eq(b, (rt_buf_t *)0x1);
}

Test(rt_buf, buffer_shared_by_two_receivers_is_not_copied)
{
    rt_buf_t *b = hello_buf(1024);
    rt_pid_t r1 = spawn_node(0), r2 = spawn_node(0);
    send_buf(r1, MSG_BUF, rt_buf_ref(b));
    send_buf(r2, MSG_BUF, rt_buf_ref(b));
    int bufs = 0, datas = 0;
    for (int i = 0; i < 4; i++) {
        rt_msg_t *m = NULL;
        cr_assert_eq(rt_inbox_recv(rtt_ib, 2000, &m), 0);
        if (m->type == REP_BUF) {
            bufs++;
            cr_assert_eq(m->arg, (uintptr_t)b, "the payload is the buffer");
            cr_assert_eq(m->reason, 1, "the bytes arrive intact");
        } else {
            cr_assert_eq(m->type, REP_DATA);
            datas++;
            cr_assert_eq(m->arg, (uintptr_t)rt_buf_data(b), "no copy");
        }
        rt_msg_free(m);
    }
    cr_assert_eq(bufs, 2);
    cr_assert_eq(datas, 2);
    wait_refs(b, 1); /* both messages dropped their reference */
    cr_assert_str_eq(rt_buf_data(b), hello);
    rt_buf_unref(b);
}

Test(rt_buf, five_mib_buffer_travels_a_relay_chain_without_copy)
{
    enum { HOPS = 10 };
    rt_buf_t *b = hello_buf(5u << 20);
    cr_assert_eq(rt_buf_set_len(b, 5u << 20), 0);
    rt_pid_t next = RT_PID_NONE;
    for (int i = 0; i < HOPS; i++)
        next = spawn_node(next);
    send_buf(next, MSG_HOP, rt_buf_ref(b));
    for (int i = 0; i < HOPS; i++) {
        rt_msg_t *m = rtt_expect_msg(REP_DATA, 3000);
        cr_assert_eq(m->arg, (uintptr_t)rt_buf_data(b), "hop %d copied", i);
        cr_assert_eq(m->reason, 1);
        rt_msg_free(m);
    }
    wait_refs(b, 1);
    rt_buf_unref(b);
}

Test(rt_buf, receiver_that_keeps_a_buffer_keeps_it_alive)
{
    rt_buf_t *b = hello_buf(64);
    rt_pid_t keeper = spawn_node(0);
    send_buf(keeper, MSG_KEEP, b); /* our only reference moves */
    cr_assert_eq(rt_send(rtt_rt, keeper, rt_msg_new(MSG_READ)), 0);
    rt_msg_t *m = rtt_expect_msg(REP_READ, 2000);
    cr_assert_eq(m->reason, 1, "the kept bytes are intact");
    cr_assert_eq(m->arg, 1, "the keeper holds the only reference");
    rt_msg_free(m);
}

Test(rt_buf, failed_send_drops_the_messages_reference)
{
    rt_buf_t *b = hello_buf(64);
    rt_msg_t *m = rt_msg_new(MSG_BUF);
    rt_msg_set_buf(m, rt_buf_ref(b));
    cr_assert_eq(m->payload, b);
    cr_assert_eq(rt_buf_refs(b), 2);
    cr_assert_eq(rt_send(rtt_rt, RT_PID_NONE, m), CLEO_EBADPID);
    cr_assert_eq(rt_buf_refs(b), 1);
    rt_buf_unref(b);
}

Test(rt_buf, msg_free_drops_the_messages_reference)
{
    rt_buf_t *b = hello_buf(64);
    rt_msg_t *m = rt_msg_new(MSG_BUF);
    rt_msg_set_buf(m, rt_buf_ref(b));
    rt_msg_free(m);
    cr_assert_eq(rt_buf_refs(b), 1);
    rt_buf_unref(b);
}
