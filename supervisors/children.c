/*
 * children.c - the child table: an ordered array, searched linearly. A
 * supervisor rarely has more than a few dozen static children; dynamic
 * (simple_one_for_one) tables grow larger, and a lookup by pid per exit
 * is still cheap next to spawning the replacement.
 */
#include "supervisors/children.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *sup__xmalloc(size_t n)
{
    return cleo_xmalloc(n != 0 ? n : 1); /* STYLE rule 26 */
}

void *sup__xrealloc(void *p, size_t n)
{
    return cleo_xrealloc(p, n != 0 ? n : 1);
}

void sup__children_init(sup_children_t *c)
{
    memset(c, 0, sizeof *c);
}

void sup__children_destroy(sup_children_t *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

size_t sup__children_add(sup_children_t *c, const sup_child_spec_t *spec,
                         void *extra)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = sup__xrealloc(c->v, c->cap * sizeof *c->v);
    }
    sup_child_t *k = &c->v[c->n];
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", spec->id);
    k->spec = spec;
    k->extra = extra;
    k->uid = ++c->next_uid;
    return c->n++;
}

void sup__children_remove(sup_children_t *c, size_t i)
{
    memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof *c->v);
    c->n--;
}

size_t sup__children_find_id(const sup_children_t *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].id, id) == 0)
            return i;
    return SUP_NONE;
}

size_t sup__children_find_pid(const sup_children_t *c, rt_pid_t pid)
{
    if (pid == RT_PID_NONE)
        return SUP_NONE;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].pid == pid)
            return i;
    return SUP_NONE;
}

size_t sup__children_find_uid(const sup_children_t *c, uint64_t uid)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].uid == uid)
            return i;
    return SUP_NONE;
}

uint32_t sup__child_shutdown_ms(const sup_child_spec_t *spec)
{
    if (spec->type == SUP_SUPERVISOR && spec->shutdown_ms == SUP_BRUTAL_KILL)
        return SUP_INFINITY;
    return spec->shutdown_ms;
}

bool sup__child_wants_restart(sup_restart_t restart, int reason)
{
    switch (restart) {
    case SUP_PERMANENT:
        return true;
    case SUP_TRANSIENT:
        return reason != RT_REASON_NORMAL && reason != RT_REASON_SHUTDOWN;
    default:
        return false;
    }
}
