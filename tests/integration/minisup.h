/*
 * minisup.h - a minimal one_for_one supervisor for the introspection
 * tests and the test node, standing in until supervisors/ lands: it
 * restarts any child that exits, counts the restarts, and answers
 * RT_MSG_WHICH_CHILDREN as runtime/rt.h specifies.
 */
#ifndef MINISUP_H
#define MINISUP_H

#include <stddef.h>

#include "runtime/rt.h"

/* Start one child linked to sup; write its pid. Return 0 or <0. */
typedef int (*minisup_start_fn)(rt_actor_t *sup, void *arg, rt_pid_t *out);

typedef struct minisup_child_s {
    const char *id;
    minisup_start_fn start;
    void *arg;
    int is_sup; /* 1 = the child is a supervisor */
} minisup_child_t;

typedef struct minisup_spec_s {
    const minisup_child_t *kids;
    size_t n;
} minisup_spec_t;

/* A nested supervisor child: arg is a minisup_nested_t. */
typedef struct minisup_nested_s {
    const char *name;
    const minisup_spec_t *spec;
} minisup_nested_t;

/* Start a supervisor (registered as name unless NULL), linked to self
 * if given; its children start before its first call is answered. */
int minisup_start(rt_t *rt, rt_actor_t *self, const char *name,
                  const minisup_spec_t *spec, rt_pid_t *out);

/* minisup_start_fn for a nested supervisor. */
int minisup_start_nested(rt_actor_t *sup, void *arg, rt_pid_t *out);

/* minisup_start_fn for a worker that ignores messages; arg is its name
 * (or NULL). */
int minisup_start_worker(rt_actor_t *sup, void *arg, rt_pid_t *out);

/* minisup_start_fn for the introspection server; arg is its opts. */
int minisup_start_introspect(rt_actor_t *sup, void *arg, rt_pid_t *out);

#endif
