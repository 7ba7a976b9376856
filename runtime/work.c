/*
 * work.c - the blocking-work pool (see work.h).
 *
 * A job runs under a guard frame (rt__guarded): a cl_panic() or failed
 * rt_assert() in it abandons that job only, and its submitter gets the
 * usual reply with reason CLEO_EPANIC, as a caller of a crashed server
 * would. The pool thread goes on with the next job. What the job itself
 * held at the panic (its own allocations, a lock it took) is not undone:
 * only arg, freed with the reply, is. A memory fault is not a panic and
 * still kills the node (heart restarts it).
 */
#include "runtime/work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

struct rt_job_s {
    rt_job_t *next;
    rt_work_fn fn;
    void *arg;
    rt_free_fn arg_free;
    rt_pid_t to;
    uint32_t type;
    bool io;       /* on the I/O pool (named in the panic line) */
    bool returned; /* fn returned: a CLEO_EPANIC status is its own */
};

/* fn(arg), inside rt__guarded()'s frame. */
static int call_fn(void *p)
{
    rt_job_t *j = p;
    int status = j->fn(j->arg);
    j->returned = true;
    return status;
}

/* rt_panic() has printed where and why; this line says whose job it was
 * and what becomes of it. */
static void log_panic(const rt_job_t *j)
{
    char pb[32];
    fprintf(stderr,
            "cleo: %s-pool job %p (reply type %u) of %s panicked: the job "
            "fails with CLEO_EPANIC, the node goes on\n",
            j->io ? "io" : "blocking", (void *)j->fn, (unsigned)j->type,
            rt_pid_fmt(j->to, pb, sizeof pb));
}

/* Run one job and send its reply (on whatever thread runs it). */
static void run_job(rt_t *rt, rt_job_t *j)
{
    int status = 0;
    if (j->fn != NULL) {
        status = rt__guarded(call_fn, j);
        if (!j->returned)
            log_panic(j);
    }
    rt_msg_t *m = rt_msg_new(j->type);
    m->from = RT_PID_NONE;
    m->reason = status;
    m->payload = j->arg;
    m->payload_free = j->arg_free;
    (void)rt__send(rt, j->to, m);
    free(j);
}

static void *worker(void *arg)
{
    rt_work_pool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        rt_job_t *j = p->head;
        if (j == NULL)
            break; /* stop, and the queue is drained */
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        run_job(p->rt, j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    rt__pool_flush();
    return NULL;
}

int rt__work_start(rt_work_pool_t *p, rt_t *rt, uint32_t n)
{
    p->rt = rt;
    p->head = p->tail = NULL;
    p->stop = false;
    p->n = 0;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->threads = cleo_xcalloc(n ? n : 1, sizeof(pthread_t));
    for (uint32_t i = 0; i < n; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker, p);
        if (rc != 0)
            return -rc;
        p->n++;
    }
    return 0;
}

void rt__work_stop(rt_work_pool_t *p)
{
    if (p->threads == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
}

static int submit(rt_actor_t *self, rt_work_pool_t *p, rt_work_fn fn, void *arg,
                  rt_free_fn arg_free, uint32_t reply_type, bool io);

int rt_work_submit(rt_actor_t *self, rt_work_fn fn, void *arg,
                   rt_free_fn arg_free, uint32_t reply_type)
{
    return submit(self, &self->rt->work, fn, arg, arg_free, reply_type, false);
}

int rt_work_submit_io(rt_actor_t *self, rt_work_fn fn, void *arg,
                      rt_free_fn arg_free, uint32_t reply_type)
{
    return submit(self, &self->rt->io, fn, arg, arg_free, reply_type, true);
}

static int submit(rt_actor_t *self, rt_work_pool_t *p, rt_work_fn fn, void *arg,
                  rt_free_fn arg_free, uint32_t reply_type, bool io)
{
    rt_t *rt = self->rt;
    int rc = 0;
    if (reply_type >= RT_MSG_SYS_BASE)
        rc = CLEO_EINVAL;
    else if (atomic_load_explicit(&rt->state, memory_order_acquire) !=
             RT_STATE_RUNNING)
        rc = CLEO_ESHUTDOWN;
    if (rc < 0) {
        /* arg is taken on every path. */
        if (arg_free != NULL && arg != NULL)
            arg_free(arg);
        return rc;
    }
    rt_job_t *j = cleo_xmalloc(sizeof *j);
    *j = (rt_job_t){NULL, fn, arg, arg_free, self->pid, reply_type, io, false};
    if (rt->opts.deterministic) {
        /* inline: no thread may perturb the schedule. The guard frame
         * in run_job() stops a panic here too: it fails the job, not
         * the submitting actor's turn. */
        run_job(rt, j);
        return 0;
    }
    pthread_mutex_lock(&p->lock);
    if (p->tail != NULL)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}
