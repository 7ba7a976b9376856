/*
 * children.h - a supervisor's child table (private to supervisors/).
 *
 * The children in start order. Each entry keeps its spec (static, or the
 * simple_one_for_one template), the extra argument it is started with, its
 * pid while running and how often the supervisor restarted it. Entries are
 * named by a serial number (uid) that never changes, so deferred work can
 * find a child again after others were added or removed.
 */
#ifndef CLEO_SUPERVISORS_CHILDREN_H
#define CLEO_SUPERVISORS_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisors/sup.h"

#define SUP_ID_MAX 64 /* bytes of an id with its NUL */

typedef struct sup_child_s {
    char id[SUP_ID_MAX];
    const sup_child_spec_t *spec; /* borrows: static or the template */
    void *extra;                  /* simple_one_for_one's start argument */
    rt_pid_t pid;                 /* RT_PID_NONE while not running */
    uint64_t uid;                 /* unique within the supervisor, > 0 */
    uint32_t restarts;            /* automatic restarts so far */
} sup_child_t;

typedef struct sup_children_s {
    sup_child_t *v; /* start order */
    size_t n, cap;
    uint64_t next_uid; /* last uid handed out */
} sup_children_t;

#define SUP_NONE ((size_t)-1) /* "no such child" from the finders */

/* malloc that aborts on out-of-memory (fixed-size control structures). */
void *sup__xmalloc(size_t n);
/* realloc that aborts on out-of-memory. */
void *sup__xrealloc(void *p, size_t n);

/* An empty table. */
void sup__children_init(sup_children_t *c);
/* Free the table's memory (not the children: they are actors). */
void sup__children_destroy(sup_children_t *c);

/* Append a child that is not running yet; spec borrows (static). Returns
 * its index. */
size_t sup__children_add(sup_children_t *c, const sup_child_spec_t *spec,
                         void *extra);
/* Remove entry i, keeping the others in order. */
void sup__children_remove(sup_children_t *c, size_t i);

/* Index of the child with this id, pid or uid, or SUP_NONE. */
size_t sup__children_find_id(const sup_children_t *c, const char *id);
size_t sup__children_find_pid(const sup_children_t *c, rt_pid_t pid);
size_t sup__children_find_uid(const sup_children_t *c, uint64_t uid);

/* The shutdown a child gets: supervisors default to SUP_INFINITY, which is
 * what a 0 (SUP_BRUTAL_KILL) means for them. */
uint32_t sup__child_shutdown_ms(const sup_child_spec_t *spec);

/* True if a child with this restart type is restarted after exiting with
 * reason (OTP: transient children only after abnormal exits). */
bool sup__child_wants_restart(sup_restart_t restart, int reason);

#endif
