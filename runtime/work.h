/*
 * work.h - the blocking-work ("dirty") pool: threads that run functions
 * which may block (disk, fsync), replying to the submitting actor with a
 * message. Scheduler threads never block. A job that panics (cl_panic,
 * rt_assert) fails alone: its reply carries CLEO_EPANIC (work.c).
 */
#ifndef CLEO_RUNTIME_WORK_H
#define CLEO_RUNTIME_WORK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_job_s rt_job_t;

typedef struct rt_work_pool_s {
    rt_t *rt;
    pthread_t *threads;
    uint32_t n;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rt_job_t *head, *tail;
    bool stop;
} rt_work_pool_t;

/* Start n threads. @return 0 or -errno. */
int rt__work_start(rt_work_pool_t *p, rt_t *rt, uint32_t n);
/* Finish queued jobs, join the threads. */
void rt__work_stop(rt_work_pool_t *p);

#endif
