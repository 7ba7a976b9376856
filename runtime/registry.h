/*
 * registry.h - names -> pids (Erlang's register/whereis), one mutex-
 * guarded pair of hash tables: by name and by pid.
 */
#ifndef CLEO_RUNTIME_REGISTRY_H
#define CLEO_RUNTIME_REGISTRY_H

#include <pthread.h>
#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_regent_s rt_regent_t;

typedef struct rt_registry_s {
    pthread_mutex_t lock;
    rt_regent_t **by_name; /* nb buckets */
    rt_regent_t **by_pid;  /* nb buckets */
    uint32_t nb;           /* power of two */
    uint32_t n;            /* entries */
} rt_registry_t;

int rt__registry_init(rt_registry_t *r);
void rt__registry_destroy(rt_registry_t *r);

/* Register a (alive, pinned by the caller) under name.
 * @return 0, CLEO_EEXIST (name taken or a named), CLEO_ENOPROC (died). */
int rt__registry_add(rt_registry_t *r, const char *name, rt_actor_t *a);

/* Drop a's name, if any (a dying actor). */
void rt__registry_drop_pid(rt_registry_t *r, rt_actor_t *a);

/* Copy pid's name into buf ("" if none). */
void rt__registry_name_of(rt_registry_t *r, rt_pid_t pid, char *buf,
                          size_t len);

#endif
