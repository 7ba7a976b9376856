/*
 * inbox.c - a pid and mailbox for threads that are not actors (tests,
 * mains). A proxy actor moves what it receives into a locked queue that
 * the thread waits on; commands (link, monitor) travel to the proxy as
 * messages so only its own handler touches its links.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

#define CMD_LINK 1
#define CMD_MONITOR 2
#define CMD_CLOSE 3

struct rt_inbox_s {
    rt_t *rt;
    rt_pid_t pid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rt_msg_t *head, *tail; /* chained through _node.next, under lock */
    bool closed;           /* under lock: the proxy actor is dead */
    _Atomic int refs;      /* the caller's and the proxy actor's */
};

static void inbox_unref(rt_inbox_t *ib)
{
    /* acq_rel: the last owner sees every write of the other one. */
    if (atomic_fetch_sub_explicit(&ib->refs, 1, memory_order_acq_rel) != 1)
        return;
    rt_msg_t *m = ib->head;
    while (m != NULL) {
        rt_msg_t *next = (rt_msg_t *)atomic_load_explicit(&m->_node.next,
                                                          memory_order_relaxed);
        rt_msg_free(m);
        m = next;
    }
    pthread_mutex_destroy(&ib->lock);
    pthread_cond_destroy(&ib->cond);
    free(ib);
}

static int proxy_init(rt_actor_t *self, void *arg)
{
    rt_set_state(self, arg);
    self->flags |= RT__A_RAW_REPLY;
    (void)rt_trap_exit(self, true);
    return 0;
}

static int proxy_handle(rt_actor_t *self, rt_msg_t *m)
{
    rt_inbox_t *ib = rt_state(self);
    if (m->type == RT__SYS_INBOX) {
        rt_ref_t ref;
        if (m->reason == CMD_CLOSE)
            return RT_STOP; /* a normal exit: closing is not a crash */
        if (m->reason == CMD_LINK)
            (void)rt_link(self, (rt_pid_t)m->arg);
        else
            (void)rt_monitor(self, (rt_pid_t)m->arg, &ref);
        return 0;
    }
    /* Move the message: a fresh header takes the payload. */
    rt_msg_t *c = rt_msg_new(m->type);
    *c = *m;
    atomic_store_explicit(&c->_node.next, NULL, memory_order_relaxed);
    m->payload = NULL;
    pthread_mutex_lock(&ib->lock);
    if (ib->tail != NULL)
        atomic_store_explicit(&ib->tail->_node.next, &c->_node,
                              memory_order_relaxed);
    else
        ib->head = c;
    ib->tail = c;
    pthread_cond_signal(&ib->cond);
    pthread_mutex_unlock(&ib->lock);
    return 0;
}

static void proxy_destroy(rt_actor_t *self, int reason)
{
    (void)reason;
    rt_inbox_t *ib = rt_state(self);
    /* Dead (closed, killed, shut down): nothing more will come; wake
     * waiters so they drain the queue and then see CLEO_ESHUTDOWN. */
    pthread_mutex_lock(&ib->lock);
    ib->closed = true;
    pthread_cond_broadcast(&ib->cond);
    pthread_mutex_unlock(&ib->lock);
    inbox_unref(ib);
}

static const rt_behaviour_t proxy = {
    .name = "inbox",
    .init = proxy_init,
    .handle = proxy_handle,
    .destroy = proxy_destroy,
};

int rt_inbox_new(rt_t *rt, rt_inbox_t **out)
{
    rt_inbox_t *ib = cleo_xcalloc(1, sizeof *ib);
    ib->rt = rt;
    pthread_mutex_init(&ib->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ib->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&ib->refs, 2);
    int rc = rt_spawn(rt, NULL, &proxy, ib, NULL, &ib->pid);
    if (rc < 0) {
        atomic_store(&ib->refs, 1);
        inbox_unref(ib);
        return rc;
    }
    *out = ib;
    return 0;
}

rt_pid_t rt_inbox_pid(const rt_inbox_t *ib)
{
    return ib->pid;
}

static rt_msg_t *take_locked(rt_inbox_t *ib)
{
    rt_msg_t *m = ib->head;
    if (m != NULL) {
        ib->head = (rt_msg_t *)atomic_load_explicit(&m->_node.next,
                                                    memory_order_relaxed);
        if (ib->head == NULL)
            ib->tail = NULL;
    }
    return m;
}

/* Deterministic mode: run the runtime instead of sleeping. */
static int recv_det(rt_inbox_t *ib, uint32_t timeout_ms, rt_msg_t **out)
{
    uint64_t budget = timeout_ms == RT_INFINITY ? UINT64_MAX : timeout_ms;
    for (;;) {
        pthread_mutex_lock(&ib->lock);
        rt_msg_t *m = take_locked(ib);
        bool closed = ib->closed;
        pthread_mutex_unlock(&ib->lock);
        if (m != NULL) {
            *out = m;
            return 0;
        }
        if (closed)
            return CLEO_ESHUTDOWN;
        if (!rt__det_step(ib->rt, &budget))
            return CLEO_ETIMEDOUT;
    }
}

int rt_inbox_recv(rt_inbox_t *ib, uint32_t timeout_ms, rt_msg_t **out)
{
    if (rt__tls_sched != NULL || rt__tls_det)
        return CLEO_EDEADLK;
    if (ib->rt->opts.deterministic)
        return recv_det(ib, timeout_ms, out);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&ib->lock);
    while (ib->head == NULL && !ib->closed && rc == 0) {
        if (timeout_ms == RT_INFINITY)
            pthread_cond_wait(&ib->cond, &ib->lock);
        else if (pthread_cond_timedwait(&ib->cond, &ib->lock, &ts) != 0)
            rc = ib->head ? 0 : CLEO_ETIMEDOUT;
    }
    rt_msg_t *m = take_locked(ib);
    bool closed = ib->closed;
    pthread_mutex_unlock(&ib->lock);
    if (m == NULL)
        return closed ? CLEO_ESHUTDOWN : CLEO_ETIMEDOUT;
    *out = m;
    return 0;
}

static int command(rt_inbox_t *ib, int cmd, rt_pid_t pid)
{
    rt_msg_t *m = rt_msg_new(RT__SYS_INBOX);
    m->reason = cmd;
    m->arg = pid;
    return rt_send(ib->rt, ib->pid, m);
}

int rt_inbox_link(rt_inbox_t *ib, rt_pid_t pid)
{
    return command(ib, CMD_LINK, pid);
}

int rt_inbox_monitor(rt_inbox_t *ib, rt_pid_t pid)
{
    return command(ib, CMD_MONITOR, pid);
}

void rt_inbox_free(rt_inbox_t *ib)
{
    if (ib == NULL)
        return;
    (void)command(ib, CMD_CLOSE, RT_PID_NONE);
    if (ib->rt->opts.deterministic)
        (void)rt_det_run(ib->rt, 0);
    inbox_unref(ib);
}
