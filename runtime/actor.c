/*
 * actor.c - spawning, running a turn, dying and reaping; introspection.
 */
#include "runtime/actor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel.h"
#include "runtime/pool.h"

__thread rt_actor_t *rt__tls_actor;
__thread rt_msg_t *rt__tls_msg;
/* The innermost guarded frame (turn, init, destroy) cl_panic unwinds to. */
static __thread jmp_buf *tls_jmp;
__thread rt_pid_t rt__tls_call_from;
__thread rt_ref_t rt__tls_call_ref;

/* ---- crash unwinding ------------------------------------------------ */

int rt_guard(int (*fn)(void *p), void *p)
{
    return rt__guarded(fn, p);
}

int rt__guarded(int (*fn)(void *p), void *p)
{
    jmp_buf jb;
    jmp_buf *saved = tls_jmp;
    rt_msg_t *saved_msg = rt__tls_msg;
    int rc;
    tls_jmp = &jb;
    rt__tls_msg = NULL;
    if (setjmp(jb) == 0)
        rc = fn(p);
    else
        rc = CLEO_EPANIC;
    tls_jmp = saved;
    rt__tls_msg = saved_msg;
    return rc;
}

void rt_panic(const char *file, int line, const char *fmt, ...)
{
    char msg[256];
    char pb[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_actor_t *a = rt__tls_actor;
    fprintf(stderr, "cleo: actor %s (%s) panicked at %s:%d: %s\n",
            a ? rt_pid_fmt(a->pid, pb, sizeof pb) : "-", a ? a->beh->name : "-",
            file, line, msg);
    if (tls_jmp == NULL)
        abort();
    /* The message being handled is freed here: the handler will never
     * return to let the runtime do it. */
    rt_msg_free(rt__tls_msg);
    rt__tls_msg = NULL;
    longjmp(*tls_jmp, 1);
}

/* ---- accessors ------------------------------------------------------ */

rt_pid_t rt_self(const rt_actor_t *self)
{
    return self->pid;
}
rt_t *rt_actor_rt(const rt_actor_t *self)
{
    return self->rt;
}
void *rt_state(const rt_actor_t *self)
{
    return self->state;
}
void rt_set_state(rt_actor_t *self, void *state)
{
    self->state = state;
}
rt_actor_t *rt_current(void)
{
    return rt__tls_actor;
}

bool rt_trap_exit(rt_actor_t *self, bool on)
{
    bool was = (self->flags & RT__A_TRAP) != 0;
    if (on)
        self->flags |= RT__A_TRAP;
    else
        self->flags &= (uint8_t)~RT__A_TRAP;
    atomic_store_explicit(&self->pub_trap, on, memory_order_relaxed);
    return was;
}

void rt_exit_self(rt_actor_t *self, int reason)
{
    if (self->flags & RT__A_EXITING)
        return;
    self->flags |= RT__A_EXITING;
    self->exit_reason = reason;
}

rt_actor_ext_t *rt__actor_ext(rt_actor_t *a)
{
    if (a->ext == NULL)
        a->ext = cleo_xcalloc(1, sizeof(rt_actor_ext_t));
    return a->ext;
}

void rt__actor_ext_free(rt_actor_t *a)
{
    rt_actor_ext_t *x = a->ext;
    if (x == NULL)
        return;
    rt__map_destroy(&x->links);
    rt__map_destroy(&x->mons_out);
    rt__map_destroy(&x->mons_in);
    rt__map_destroy(&x->open);
    free(x->calls);
    free(x);
    a->ext = NULL;
}

static uint16_t clamp16(uint32_t n)
{
    return n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

void rt__actor_publish(rt_actor_t *a)
{
    rt_actor_ext_t *x = a->ext;
    atomic_store_explicit(&a->pub_links, x ? clamp16(x->links.n) : 0,
                          memory_order_relaxed);
    atomic_store_explicit(&a->pub_mons,
                          x ? clamp16(x->mons_out.n + x->mons_in.n) : 0,
                          memory_order_relaxed);
}

void *rt_actor_loop(rt_actor_t *self)
{
    if (self->sched < 0 || self->rt->scheds == NULL)
        return NULL;
    return &self->rt->scheds[self->sched].loop;
}

int rt_actor_sched(const rt_actor_t *self)
{
    return self->sched;
}

uint32_t rt_sched_count(rt_t *rt)
{
    return rt->scheds != NULL ? rt->opts.schedulers : 1;
}

/* ---- resources ------------------------------------------------------ */

int rt_resource_add(rt_actor_t *self, rt_free_fn fn, void *ptr, rt_res_t **out)
{
    rt_actor_ext_t *x = rt__actor_ext(self);
    rt_res_t *r = cleo_xmalloc(sizeof *r);
    r->fn = fn;
    r->ptr = ptr;
    r->prev = NULL;
    r->next = x->res;
    if (x->res != NULL)
        x->res->prev = r;
    x->res = r;
    if (out != NULL)
        *out = r;
    return 0;
}

void rt_resource_remove(rt_actor_t *self, rt_res_t *r)
{
    rt_actor_ext_t *x = self->ext;
    if (r == NULL || x == NULL)
        return;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        x->res = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    free(r);
}

static int run_res(void *p)
{
    rt_res_t *r = p;
    r->fn(r->ptr);
    return 0;
}

/* Run every destructor, newest first; a panicking one skips itself. */
static void release_resources(rt_actor_ext_t *x)
{
    rt_res_t *r = x->res;
    x->res = NULL;
    while (r != NULL) {
        rt_res_t *next = r->next;
        (void)rt__guarded(run_res, r);
        free(r);
        r = next;
    }
}

void rt__actor_release(rt_actor_t *a)
{
    if (a->ext != NULL)
        release_resources(a->ext);
}

/* ---- a turn --------------------------------------------------------- */

/* Tell the tracer what a is about to handle (not the contents). */
static void trace(rt_actor_t *a, rt_pid_t tracer, const rt_msg_t *m)
{
    rt_msg_t *t = rt_msg_new(RT_MSG_TRACE);
    t->from = a->pid;
    t->arg = m->type;
    t->ref = m->from;
    t->reason = m->reason;
    (void)rt__send(a->rt, tracer, t);
}

/* Hand m to the runtime or the behaviour; free it. Returns 0 to go on, or
 * 1 with *reason set if the actor must die. */
static int dispatch(rt_actor_t *a, rt_msg_t *m, int *reason)
{
    int rc = 0;
    rt_pid_t tracer = atomic_load_explicit(&a->tracer, memory_order_relaxed);
    if (tracer != RT_PID_NONE && m->type != RT_MSG_TRACE)
        trace(a, tracer, m);
    rt__tls_msg = m;
    if (m->_sys & RT__F_CALL) {
        rt__tls_call_from = m->from;
        rt__tls_call_ref = m->ref;
    }
    if ((m->type < RT_MSG_SYS_BASE && m->_sys == 0) ||
        !rt__signal_handle(a, m, &rc))
        rc = a->beh->handle(a, m);
    rt__tls_msg = NULL;
    rt_msg_free(m);
    /* single writer: a plain increment, read relaxed by introspection */
    atomic_store_explicit(
        &a->msgs, atomic_load_explicit(&a->msgs, memory_order_relaxed) + 1,
        memory_order_relaxed);
    if (rc == RT_STOP) {
        *reason = RT_REASON_NORMAL;
        return 1;
    }
    if (rc < 0) {
        *reason = rc;
        return 1;
    }
    if (a->flags & RT__A_EXITING) {
        *reason = a->exit_reason;
        return 1;
    }
    if (rt__tls_call_ref != 0) {
        /* Survived it unanswered (a deferred reply, a postponed event):
         * the request stays open until answered or until a dies. */
        rt__call_open(a, rt__tls_call_from, rt__tls_call_ref);
        rt__tls_call_ref = 0;
    }
    return 0;
}

/* ---- receiving ---------------------------------------------------- */

/* Signal m was taken: settle its placeholder. A trapped exit (handled
 * is 0) becomes the message at the placeholder's place in the mailbox;
 * anything else leaves it to be skipped. Frees m. */
static void settle(rt_msg_t *m, int handled)
{
    rt_msg_t *ph = m->payload;
    m->payload = NULL;
    if (!handled) {
        ph->type = m->type;
        ph->tag = m->tag;
        ph->reason = m->reason;
        ph->from = m->from;
        ph->ref = m->ref;
        ph->arg = m->arg;
    }
    ph->_sys = 0; /* settled: a message, or a void RT__SYS_PH */
    rt_msg_free(m);
}

/* Take the signal queue, oldest first (it is a stack: reverse it). */
static rt_msg_t *sigq_take(rt_actor_t *a)
{
    /* acquire: pairs with the release CAS in sig_push() (signal.c). */
    rt_msg_t *s =
        atomic_exchange_explicit(&a->sigq, NULL, memory_order_acquire);
    rt_msg_t *fifo = NULL;
    while (s != NULL) {
        rt_msg_t *next = (rt_msg_t *)atomic_load_explicit(&s->_node.next,
                                                          memory_order_relaxed);
        atomic_store_explicit(&s->_node.next, (rt_mnode_t *)fifo,
                              memory_order_relaxed);
        fifo = s;
        s = next;
    }
    return fifo;
}

/* Act on every signal received so far, in order, whatever the mailbox
 * holds (ERTS: a signal takes effect when received). Signals after one
 * that ends the actor find it dead: a link or monitor gets noproc.
 * Returns 1 if the actor must exit (*reason set). */
static int take_signals(rt_actor_t *a, int *reason)
{
    rt_msg_t *m = sigq_take(a);
    while (m != NULL) {
        rt_msg_t *next = (rt_msg_t *)atomic_load_explicit(&m->_node.next,
                                                          memory_order_relaxed);
        if (a->flags & RT__A_EXITING) {
            /* As if it came after the death: noproc to a link or monitor. */
            ((rt_msg_t *)m->payload)->_sys = 0;
            m->payload = NULL;
            rt__signal_on_reap(a->rt, a->pid, a->exit_reason, m);
        } else {
            int rc;
            settle(m, rt__signal_handle(a, m, &rc));
        }
        m = next;
    }
    if (!(a->flags & RT__A_EXITING))
        return 0;
    *reason = a->exit_reason;
    return 1;
}

/* The next message, skipping settled void placeholders; NULL when the
 * mailbox is empty. A placeholder still open means its signal arrived
 * after the last take: take the signals now (it is visible, having been
 * pushed before it). Returns 1 if that ended the actor. */
static int next_msg(rt_actor_t *a, rt_msg_t **out, int *reason)
{
    rt_msg_t *m;
    while ((m = rt_mbox_pop(&a->mbox)) != NULL && m->type == RT__SYS_PH) {
        if ((m->_sys & RT__F_PH_OPEN) && take_signals(a, reason)) {
            rt_msg_free(m);
            return 1;
        }
        if (m->type != RT__SYS_PH)
            break; /* a trapped exit, now in its place */
        rt_msg_free(m);
    }
    *out = m;
    return 0;
}

static rt_turn_t run_batch(rt_actor_t *a, uint32_t batch, uint32_t *handled)
{
    int reason;
    for (uint32_t i = 0; i < batch; i++, (*handled)++) {
        rt_msg_t *m;
        if ((atomic_load_explicit(&a->sigq, memory_order_relaxed) != NULL &&
             take_signals(a, &reason)) ||
            next_msg(a, &m, &reason)) {
            rt__actor_die(a, reason);
            return RT__TURN_DEAD;
        }
        if (m == NULL) {
            /* Publish WAITING before mark_empty: once it succeeds another
             * scheduler may run, and even free, the actor. */
            atomic_store_explicit(&a->run_state, RT_ACTOR_WAITING,
                                  memory_order_relaxed);
            if (rt_mbox_mark_empty(&a->mbox))
                return RT__TURN_IDLE;
            atomic_store_explicit(&a->run_state, RT_ACTOR_RUNNING,
                                  memory_order_relaxed);
            return RT__TURN_MORE;
        }
        if (dispatch(a, m, &reason)) {
            (*handled)++;
            rt__actor_die(a, reason);
            return RT__TURN_DEAD;
        }
    }
    return RT__TURN_MORE;
}

rt_turn_t rt__actor_turn(rt_actor_t *a, uint32_t batch, uint32_t *handled)
{
    jmp_buf jb;
    jmp_buf *saved = tls_jmp;
    rt_actor_t *saved_a = rt__tls_actor;
    rt_pid_t saved_from = rt__tls_call_from;
    rt_ref_t saved_ref = rt__tls_call_ref;
    rt_turn_t r;
    rt__tls_call_ref = 0;
    atomic_store_explicit(&a->run_state, RT_ACTOR_RUNNING,
                          memory_order_relaxed);
    rt__tls_actor = a;
    tls_jmp = &jb;
    if (setjmp(jb) == 0) {
        r = run_batch(a, batch, handled);
    } else {
        /* cl_panic() unwound here; the message was freed by rt_panic. */
        tls_jmp = saved;
        rt__actor_die(a, CLEO_EPANIC);
        r = RT__TURN_DEAD;
    }
    if (r == RT__TURN_MORE)
        atomic_store_explicit(&a->run_state, RT_ACTOR_RUNNABLE,
                              memory_order_relaxed);
    tls_jmp = saved;
    rt__tls_actor = saved_a;
    rt__tls_call_from = saved_from;
    rt__tls_call_ref = saved_ref;
    return r;
}

/* ---- death ---------------------------------------------------------- */

typedef struct {
    rt_actor_t *a;
    int reason;
} destroy_arg_t;

static int run_destroy(void *p)
{
    destroy_arg_t *d = p;
    d->a->beh->destroy(d->a, d->reason);
    return 0;
}

void rt__actor_die(rt_actor_t *a, int reason)
{
    rt_t *rt = a->rt;
    rt_ref_t call_ref = rt__tls_call_ref;
    rt__tls_call_ref = 0;
    a->flags |= RT__A_DEAD | RT__A_EXITING;
    a->exit_reason = reason;
    atomic_store_explicit(&a->run_state, RT_ACTOR_EXITING,
                          memory_order_relaxed);
    if (a->beh->destroy != NULL) {
        destroy_arg_t d = {a, reason};
        rt_actor_t *saved = rt__tls_actor;
        rt__tls_actor = a;
        (void)rt__guarded(run_destroy, &d);
        rt__tls_actor = saved;
    }
    rt__actor_release(a);
    if (call_ref != 0)
        /* Died handling a call: fail it now rather than let the caller
         * wait for its timeout. */
        rt__call_fail(rt, a->pid, rt__tls_call_from, call_ref, reason);
    rt__call_on_death(a, reason);
    rt__table_mark_dead(&rt->table, a);
    /* seq_cst: after marking dead; pairs with rt__registry_add(), which
     * sets has_name and then checks ALIVE (Dekker): one sees the other. */
    if (atomic_load_explicit(&a->has_name, memory_order_seq_cst))
        rt__registry_drop_pid(&rt->reg, a);
    rt__signal_on_death(a, reason);
    rt__actor_ext_free(a);
    atomic_fetch_add_explicit(&rt->exited, 1, memory_order_relaxed);
    if (reason != RT_REASON_NORMAL && reason != RT_REASON_SHUTDOWN)
        atomic_fetch_add_explicit(&rt->crashed, 1, memory_order_relaxed);
    /* The table's pin: the last unpin (maybe this one) reaps. */
    rt__table_unpin(&rt->table, a);
}

void rt__actor_reap(rt_actor_t *a)
{
    rt_t *rt = a->rt;
    rt_pid_t pid = a->pid;
    rt_msg_t *m;
    /* No pins remain, so no producer is mid-push: this drains it all.
     * Signals first: they point at placeholders in the mailbox. */
    m = sigq_take(a);
    while (m != NULL) {
        rt_msg_t *next = (rt_msg_t *)atomic_load_explicit(&m->_node.next,
                                                          memory_order_relaxed);
        m->payload = NULL;
        rt__signal_on_reap(rt, pid, a->exit_reason, m);
        m = next;
    }
    while ((m = rt_mbox_pop(&a->mbox)) != NULL)
        rt__signal_on_reap(rt, pid, a->exit_reason, m);
    rt__pool_free(sizeof *a, a);
    rt__table_release(&rt->table, pid);
    rt__notify_reaped(rt);
}
