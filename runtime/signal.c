/*
 * signal.c - sending, and Erlang's signals: links, monitors, exits.
 *
 * Link and monitor bookkeeping is per actor and touched only by its own
 * turns, so every change to the other side travels as a signal. A signal
 * goes on the receiver's signal queue, which it empties before each
 * message (actor.c, take_signals): an exit, link or monitor takes effect
 * when it is received, in constant time whatever the backlog, as in
 * ERTS. Per-pair order with messages is kept by a placeholder that the
 * sender pushes into the mailbox right after the signal: it holds the
 * signal's place among the sender's messages. A trapped exit becomes a
 * message at that place; otherwise the placeholder is skipped. The
 * placeholder's push is also what schedules the receiver.
 */
#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"

static rt_msg_t *sys_msg(uint32_t type, rt_pid_t from, int reason, rt_ref_t ref,
                         uint32_t sys)
{
    rt_msg_t *m = rt_msg_new(type);
    m->from = from;
    m->reason = reason;
    m->ref = ref;
    m->_sys = sys;
    return m;
}

/* ---- sending -------------------------------------------------------- */

#define SEND_SIG 0x1u     /* m is a signal */
#define SEND_BOUNDED 0x2u /* refuse past the receiver's mailbox limit */

/* The mailbox of a just reached opts.long_mqueue: count it, and log the
 * 1st, 2nd, 4th, 8th... time, so a queue that hovers there cannot flood
 * the log. */
static void long_mqueue(rt_t *rt, rt_actor_t *a, int64_t len)
{
    char pb[32];
    atomic_fetch_add_explicit(&rt->long_mqueues, 1, memory_order_relaxed);
    uint32_t n =
        atomic_fetch_add_explicit(&a->long_mqueues, 1, memory_order_relaxed) +
        1;
    if ((n & (n - 1)) == 0)
        fprintf(stderr,
                "cleo: long message queue: %s (%s) has %lld messages "
                "queued (%u time%s)\n",
                rt_pid_fmt(a->pid, pb, sizeof pb), a->beh->name, (long long)len,
                n, n == 1 ? "" : "s");
}

/* Push signal m on a's signal queue, with a placeholder that the caller
 * pushes into the mailbox. Everything the receiver reads of both is
 * written before the push of m. @return gives: the placeholder. */
static rt_msg_t *sig_push(rt_actor_t *a, rt_msg_t *m)
{
    rt_msg_t *ph = rt_msg_new(RT__SYS_PH);
    ph->from = m->from;
    ph->_sys = RT__F_PH_OPEN;
    m->_sys |= RT__F_SIG;
    m->payload = ph; /* not owned: payload_free stays NULL */
    m->payload_free = NULL;
    rt_msg_t *old = atomic_load_explicit(&a->sigq, memory_order_relaxed);
    do
        atomic_store_explicit(&m->_node.next, (rt_mnode_t *)old,
                              memory_order_relaxed);
    /* release: publishes m and ph to the owner; pairs with the acquire
     * exchange in take_signals() (actor.c). */
    while (!atomic_compare_exchange_weak_explicit(
        &a->sigq, &old, m, memory_order_release, memory_order_relaxed));
    return ph;
}

static int deliver(rt_t *rt, rt_pid_t to, rt_msg_t *m, unsigned how)
{
    rt_actor_t *a;
    if (RT_PID_NODE(to) != rt->opts.node && to != RT_PID_NONE &&
        rt__dist_is_remote(rt, to))
        return rt__dist_route(rt, to, m);
    int rc = rt__table_pin(&rt->table, to, &a);
    if (rc < 0) {
        if (rc == CLEO_ENOPROC)
            atomic_fetch_add_explicit(&rt->dropped, 1, memory_order_relaxed);
        rt_msg_free(m);
        return rc;
    }
    if ((how & SEND_BOUNDED) && a->mbox_limit != 0 &&
        rt_mbox_len(&a->mbox) >= (int64_t)a->mbox_limit) {
        rt__table_unpin(&rt->table, a);
        rt_msg_free(m);
        return CLEO_EOVERLOAD;
    }
    if (how & SEND_SIG)
        m = sig_push(a, m); /* m is now the placeholder */
    int64_t len;
    if (rt_mbox_push_len(&a->mbox, m, &len)) {
        atomic_store_explicit(&a->run_state, RT_ACTOR_RUNNABLE,
                              memory_order_relaxed);
        rt__schedule(rt, a);
    }
    if (len == (int64_t)rt->opts.long_mqueue)
        long_mqueue(rt, a, len);
    rt__table_unpin(&rt->table, a);
    return 0;
}

int rt__send(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    return deliver(rt, to, m, 0);
}

int rt__send_sig(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    return deliver(rt, to, m, SEND_SIG);
}

/* Outside actors, only a running runtime takes sends. */
static bool send_refused(rt_t *rt)
{
    int st = atomic_load_explicit(&rt->state, memory_order_acquire);
    /* While stopping, actors may still talk (to terminate in order); the
     * outside world may not. */
    return st == RT_STATE_DOWN || (st != RT_STATE_RUNNING && !rt__tls_actor);
}

int rt_send(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    if (m == NULL)
        return CLEO_EINVAL;
    if (send_refused(rt)) {
        rt_msg_free(m);
        return CLEO_ESHUTDOWN;
    }
    return rt__send(rt, to, m);
}

int rt_try_send(rt_t *rt, rt_pid_t to, rt_msg_t *m)
{
    if (m == NULL)
        return CLEO_EINVAL;
    if (send_refused(rt)) {
        rt_msg_free(m);
        return CLEO_ESHUTDOWN;
    }
    return deliver(rt, to, m, SEND_BOUNDED);
}

bool rt_is_overloaded(rt_t *rt, rt_pid_t pid)
{
    rt_actor_t *a;
    if (rt__table_pin(&rt->table, pid, &a) < 0)
        return false;
    bool over =
        a->mbox_limit != 0 && rt_mbox_len(&a->mbox) >= (int64_t)a->mbox_limit;
    rt__table_unpin(&rt->table, a);
    return over;
}

int rt_send_name(rt_t *rt, const char *name, rt_msg_t *m)
{
    rt_pid_t pid = name ? rt_whereis(rt, name) : RT_PID_NONE;
    if (pid == RT_PID_NONE) {
        rt_msg_free(m);
        return CLEO_ENOTFOUND;
    }
    return rt_send(rt, pid, m);
}

bool rt_is_alive(rt_t *rt, rt_pid_t pid)
{
    return rt__table_alive(&rt->table, pid);
}

/* ---- link and monitor bookkeeping ----------------------------------- */

static bool link_del(rt_actor_t *a, rt_pid_t pid)
{
    if (a->ext == NULL || !rt__map_del(&a->ext->links, pid, NULL))
        return false;
    rt__actor_publish(a);
    return true;
}

static bool link_has(rt_actor_t *a, rt_pid_t pid)
{
    return a->ext != NULL && rt__map_get(&a->ext->links, pid, NULL);
}

static void link_add(rt_actor_t *a, rt_pid_t pid)
{
    rt__map_put(&rt__actor_ext(a)->links, pid, 0);
    rt__actor_publish(a);
}

/* Remove ref from a monitor map; false if absent. */
static bool mon_del(rt_actor_t *a, rt_map_t *m, rt_ref_t ref, rt_pid_t *pid)
{
    uint64_t v;
    if (!rt__map_del(m, ref, &v))
        return false;
    if (pid != NULL)
        *pid = v;
    rt__actor_publish(a);
    return true;
}

static bool local_pid(rt_t *rt, rt_pid_t pid)
{
    return pid != RT_PID_NONE && RT_PID_NODE(pid) == rt->opts.node &&
           RT_PID_GEN(pid) != 0 && RT_PID_SLOT(pid) < rt->table.max;
}

/* A local pid, or a remote one (named ones only if named is true). */
static bool pid_ok(rt_t *rt, rt_pid_t pid, bool named)
{
    return local_pid(rt, pid) ||
           (rt__dist_is_remote(rt, pid) && (named || RT_PID_GEN(pid) != 0));
}

/* The reason a link or monitor fires with when its signal cannot go. */
static int unreachable_reason(int rc)
{
    return rc == CLEO_ENOCONNECTION ? RT_REASON_NOCONNECTION : RT_REASON_NOPROC;
}

int rt_link(rt_actor_t *self, rt_pid_t pid)
{
    rt_t *rt = self->rt;
    if (!pid_ok(rt, pid, false))
        return CLEO_EBADPID;
    if (pid == self->pid || link_has(self, pid))
        return 0;
    link_add(self, pid);
    int rc = rt__send_sig(rt, pid, sys_msg(RT__SYS_LINK, self->pid, 0, 0, 0));
    if (rc == CLEO_ENOPROC || rc == CLEO_EBADPID || rc == CLEO_ENOCONNECTION)
        /* Already dead or unreachable: the link fires at once. */
        (void)rt__send_sig(
            rt, self->pid,
            sys_msg(RT_MSG_EXIT, pid, unreachable_reason(rc), 0, RT__F_LINK));
    return 0;
}

int rt_unlink(rt_actor_t *self, rt_pid_t pid)
{
    if (!link_del(self, pid))
        return 0;
    (void)rt__send_sig(self->rt, pid,
                       sys_msg(RT__SYS_UNLINK, self->pid, 0, 0, 0));
    return 0;
}

int rt_monitor(rt_actor_t *self, rt_pid_t pid, rt_ref_t *out)
{
    rt_t *rt = self->rt;
    if (!pid_ok(rt, pid, true))
        return CLEO_EBADPID;
    rt_ref_t ref = rt__ref_new(rt);
    rt__map_put(&rt__actor_ext(self)->mons_out, ref, pid);
    rt__actor_publish(self);
    int rc =
        rt__send_sig(rt, pid, sys_msg(RT__SYS_MONITOR, self->pid, 0, ref, 0));
    if (rc == CLEO_ENOPROC || rc == CLEO_EBADPID || rc == CLEO_ENOCONNECTION)
        (void)rt__send(
            rt, self->pid,
            sys_msg(RT_MSG_DOWN, pid, unreachable_reason(rc), ref, 0));
    if (out != NULL)
        *out = ref;
    return 0;
}

int rt_demonitor(rt_actor_t *self, rt_ref_t ref)
{
    rt_pid_t target;
    if (self->ext == NULL || !mon_del(self, &self->ext->mons_out, ref, &target))
        return CLEO_ENOTFOUND;
    (void)rt__send_sig(self->rt, target,
                       sys_msg(RT__SYS_DEMONITOR, self->pid, 0, ref, 0));
    return 0;
}

int rt_exit(rt_t *rt, rt_pid_t pid, int reason)
{
    rt_actor_t *cur = rt__tls_actor;
    rt_msg_t *m =
        sys_msg(RT_MSG_EXIT, cur ? cur->pid : RT_PID_NONE, reason, 0, 0);
    if (send_refused(rt)) {
        rt_msg_free(m);
        return CLEO_ESHUTDOWN;
    }
    return rt__send_sig(rt, pid, m);
}

/* ---- receiving signals ---------------------------------------------- */

/* An exit signal: die, ignore, or (trapping) pass on as a message. */
static int on_exit_signal(rt_actor_t *a, rt_msg_t *m)
{
    int reason = m->reason;
    uint32_t f = m->_sys;
    if (f & RT__F_SHUTDOWN) {
        rt_exit_self(a, RT_REASON_SHUTDOWN);
        return 1;
    }
    if (f & RT__F_LINK) {
        if (!link_del(a, m->from))
            return 1; /* unlinked meanwhile: the signal is void */
    } else if (reason == RT_REASON_KILL) {
        rt_exit_self(a, RT_REASON_KILLED);
        return 1;
    }
    if (a->flags & RT__A_TRAP) {
        m->_sys = 0;
        return 0;
    }
    if (reason == RT_REASON_NORMAL) {
        if (m->from == a->pid && !(f & RT__F_LINK))
            rt_exit_self(a, RT_REASON_NORMAL);
        return 1;
    }
    rt_exit_self(a, reason);
    return 1;
}

static int on_down(rt_actor_t *a, rt_msg_t *m)
{
    /* A DOWN for a monitor removed by demonitor is discarded. */
    if (a->ext == NULL || !mon_del(a, &a->ext->mons_out, m->ref, NULL))
        return 1;
    return 0;
}

/* Remove from map the entries whose value (a pid) is on node idx. */
static void drop_on_node(rt_actor_t *a, rt_map_t *map, uint32_t idx)
{
    uint64_t keys[64];
    uint32_t k;
    do {
        k = 0;
        for (uint32_t i = 0; i < map->cap && k < 64; i++)
            if (map->e[i].key != 0 &&
                rt__dist_on_node(a->rt, map->e[i].val, idx))
                keys[k++] = map->e[i].key;
        for (uint32_t i = 0; i < k; i++)
            (void)mon_del(a, map, keys[i], NULL);
    } while (k == 64);
}

/* The connection to node idx was lost (dist.c): each link and monitor
 * to a pid there fires with noconnection, through the same paths a real
 * exit or DOWN takes, so each fires once; calls to it fail; what the
 * peer held on us (its monitors, its open requests) is forgotten. */
static void on_nodedown(rt_actor_t *a, uint32_t idx)
{
    rt_actor_ext_t *x = a->ext;
    rt_t *rt = a->rt;
    if (x == NULL)
        return;
    for (uint32_t i = 0; i < x->links.cap; i++)
        if (x->links.e[i].key != 0 &&
            rt__dist_on_node(rt, x->links.e[i].key, idx))
            (void)rt__send_sig(rt, a->pid,
                               sys_msg(RT_MSG_EXIT, x->links.e[i].key,
                                       RT_REASON_NOCONNECTION, 0, RT__F_LINK));
    for (uint32_t i = 0; i < x->mons_out.cap; i++)
        if (x->mons_out.e[i].key != 0 &&
            rt__dist_on_node(rt, x->mons_out.e[i].val, idx))
            (void)rt__send(rt, a->pid,
                           sys_msg(RT_MSG_DOWN, x->mons_out.e[i].val,
                                   RT_REASON_NOCONNECTION, x->mons_out.e[i].key,
                                   0));
    for (uint32_t i = 0; i < x->ncalls; i++)
        if (rt__dist_on_node(rt, x->calls[i].to, idx))
            (void)rt__send(rt, a->pid,
                           sys_msg(RT__SYS_CALL_FAIL, x->calls[i].to,
                                   RT_REASON_NOCONNECTION, x->calls[i].ref, 0));
    drop_on_node(a, &x->mons_in, idx);
    drop_on_node(a, &x->open, idx);
}

/* An inbox's thread waits in rt_call_sync() with no call entry here: it
 * gets a NODEDOWN message and fails the call itself (call.c). */
static void inbox_nodedown(rt_actor_t *a, uint32_t idx)
{
    if (!(a->flags & RT__A_RAW_REPLY))
        return;
    rt_msg_t *m =
        sys_msg(RT_MSG_NODEDOWN, RT_PID_NONE, RT_REASON_NOCONNECTION, 0, 0);
    m->arg = idx;
    (void)rt__send(a->rt, a->pid, m);
}

int rt__signal_handle(rt_actor_t *a, rt_msg_t *m, int *rc)
{
    *rc = 0;
    /* A reply first: its type is the replier's choice, never a signal. */
    if (m->_sys & RT__F_REPLY)
        return rt__call_complete(a, m, 0, rc);
    switch (m->type) { /* size: dispatch */
    case RT_MSG_EXIT:
        return on_exit_signal(a, m);
    case RT_MSG_DOWN:
        return on_down(a, m);
    case RT__SYS_LINK:
        if (!link_has(a, m->from))
            link_add(a, m->from);
        return 1;
    case RT__SYS_UNLINK:
        (void)link_del(a, m->from);
        return 1;
    case RT__SYS_MONITOR:
        rt__map_put(&rt__actor_ext(a)->mons_in, m->ref, m->from);
        rt__actor_publish(a);
        return 1;
    case RT__SYS_DEMONITOR:
        if (a->ext != NULL)
            (void)mon_del(a, &a->ext->mons_in, m->ref, NULL);
        return 1;
    case RT__SYS_CALL_FAIL:
        return rt__call_complete(a, m, m->reason, rc);
    case RT_MSG_STATUS:
        if (a->beh->sys_msgs || !(m->_sys & RT__F_CALL))
            return 0;
        rt__call_fail(a->rt, a->pid, m->from, m->ref, CLEO_EINVAL);
        rt__tls_call_ref = 0; /* answered */
        return 1;
    case RT__SYS_REPLIED:
        if (a->ext != NULL)
            (void)rt__map_del(&a->ext->open, m->ref, NULL);
        return 1;
    case RT__SYS_INBOX:
        return 0;
    case RT__SYS_NODEDOWN:
        on_nodedown(a, (uint32_t)m->arg);
        inbox_nodedown(a, (uint32_t)m->arg);
        return 1;
    default:
        return 0;
    }
}

void rt__signal_on_death(rt_actor_t *a, int reason)
{
    rt_actor_ext_t *x = a->ext;
    if (x == NULL)
        return;
    for (uint32_t i = 0; i < x->links.cap; i++)
        if (x->links.e[i].key != 0)
            (void)rt__send_sig(
                a->rt, x->links.e[i].key,
                sys_msg(RT_MSG_EXIT, a->pid, reason, 0, RT__F_LINK));
    for (uint32_t i = 0; i < x->mons_in.cap; i++)
        if (x->mons_in.e[i].key != 0)
            (void)rt__send(
                a->rt, x->mons_in.e[i].val,
                sys_msg(RT_MSG_DOWN, a->pid, reason, x->mons_in.e[i].key, 0));
    /* The targets of our monitors forget us (as Erlang's do). */
    for (uint32_t i = 0; i < x->mons_out.cap; i++)
        if (x->mons_out.e[i].key != 0)
            (void)rt__send_sig(
                a->rt, x->mons_out.e[i].val,
                sys_msg(RT__SYS_DEMONITOR, a->pid, 0, x->mons_out.e[i].key, 0));
}

void rt__signal_on_abort(rt_actor_t *a, rt_pid_t spawner)
{
    rt_actor_ext_t *x = a->ext;
    if (x == NULL)
        return;
    for (uint32_t i = 0; i < x->links.cap; i++)
        if (x->links.e[i].key != 0 && x->links.e[i].key != spawner)
            (void)rt__send_sig(a->rt, x->links.e[i].key,
                               sys_msg(RT__SYS_UNLINK, a->pid, 0, 0, 0));
    for (uint32_t i = 0; i < x->mons_out.cap; i++)
        if (x->mons_out.e[i].key != 0)
            (void)rt__send_sig(
                a->rt, x->mons_out.e[i].val,
                sys_msg(RT__SYS_DEMONITOR, a->pid, 0, x->mons_out.e[i].key, 0));
}

void rt__signal_on_reap(rt_t *rt, rt_pid_t dead, int reason, rt_msg_t *m)
{
    if (m->type == RT__SYS_LINK && (m->_sys & RT__F_SIG))
        (void)rt__send_sig(
            rt, m->from,
            sys_msg(RT_MSG_EXIT, dead, RT_REASON_NOPROC, 0, RT__F_LINK));
    else if (m->type == RT__SYS_MONITOR && (m->_sys & RT__F_SIG))
        (void)rt__send(rt, m->from,
                       sys_msg(RT_MSG_DOWN, dead, RT_REASON_NOPROC, m->ref, 0));
    else if (m->_sys & RT__F_CALL)
        /* Queued before the death: the caller learns the real reason,
         * as OTP's monitoring gen_server:call does. */
        rt__call_fail(rt, dead, m->from, m->ref, reason);
    rt_msg_free(m);
}
