/*
 * registry.c - the name registry (see registry.h).
 */
#include "runtime/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

struct rt_regent_s {
    char *name;
    rt_pid_t pid;
    rt_actor_t *a;
    rt_regent_t *next_name, *next_pid;
};

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t hash_pid(rt_pid_t p)
{
    return (uint32_t)((p * 0x9E3779B97F4A7C15ull) >> 32);
}

int rt__registry_init(rt_registry_t *r)
{
    r->nb = 64;
    r->n = 0;
    r->by_name = cleo_xcalloc(r->nb, sizeof(rt_regent_t *));
    r->by_pid = cleo_xcalloc(r->nb, sizeof(rt_regent_t *));
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void rt__registry_destroy(rt_registry_t *r)
{
    for (uint32_t i = 0; i < r->nb; i++) {
        rt_regent_t *e = r->by_name[i];
        while (e != NULL) {
            rt_regent_t *next = e->next_name;
            free(e->name);
            free(e);
            e = next;
        }
    }
    free(r->by_name);
    free(r->by_pid);
    pthread_mutex_destroy(&r->lock);
}

static rt_regent_t *find_name(rt_registry_t *r, const char *name)
{
    rt_regent_t *e = r->by_name[hash_name(name) & (r->nb - 1)];
    while (e != NULL && strcmp(e->name, name) != 0)
        e = e->next_name;
    return e;
}

static rt_regent_t *find_pid(rt_registry_t *r, rt_pid_t pid)
{
    rt_regent_t *e = r->by_pid[hash_pid(pid) & (r->nb - 1)];
    while (e != NULL && e->pid != pid)
        e = e->next_pid;
    return e;
}

static void link_entry(rt_registry_t *r, rt_regent_t *e)
{
    uint32_t hn = hash_name(e->name) & (r->nb - 1);
    uint32_t hp = hash_pid(e->pid) & (r->nb - 1);
    e->next_name = r->by_name[hn];
    r->by_name[hn] = e;
    e->next_pid = r->by_pid[hp];
    r->by_pid[hp] = e;
}

/* Double the bucket arrays when the load passes one. */
static void grow(rt_registry_t *r)
{
    rt_registry_t old = *r;
    r->nb *= 2;
    r->by_name = cleo_xcalloc(r->nb, sizeof(rt_regent_t *));
    r->by_pid = cleo_xcalloc(r->nb, sizeof(rt_regent_t *));
    for (uint32_t i = 0; i < old.nb; i++) {
        rt_regent_t *e = old.by_name[i];
        while (e != NULL) {
            rt_regent_t *next = e->next_name;
            link_entry(r, e);
            e = next;
        }
    }
    free(old.by_name);
    free(old.by_pid);
}

static void unlink_entry(rt_registry_t *r, rt_regent_t *e)
{
    rt_regent_t **pp = &r->by_name[hash_name(e->name) & (r->nb - 1)];
    while (*pp != e)
        pp = &(*pp)->next_name;
    *pp = e->next_name;
    pp = &r->by_pid[hash_pid(e->pid) & (r->nb - 1)];
    while (*pp != e)
        pp = &(*pp)->next_pid;
    *pp = e->next_pid;
    /* seq_cst (not relaxed): readers load it without the lock. */
    atomic_store_explicit(&e->a->has_name, 0, memory_order_seq_cst);
    free(e->name);
    free(e);
    r->n--;
}

int rt__registry_add(rt_registry_t *r, const char *name, rt_actor_t *a)
{
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    if (find_name(r, name) != NULL ||
        atomic_load_explicit(&a->has_name, memory_order_relaxed)) {
        rc = CLEO_EEXIST;
        goto out;
    }
    /* seq_cst store then load: pairs with rt__actor_die() (Dekker). */
    atomic_store_explicit(&a->has_name, 1, memory_order_seq_cst);
    if (!rt__table_alive(&a->rt->table, a->pid)) {
        atomic_store_explicit(&a->has_name, 0, memory_order_seq_cst);
        rc = CLEO_ENOPROC;
        goto out;
    }
    if (r->n >= r->nb)
        grow(r);
    rt_regent_t *e = cleo_xmalloc(sizeof *e);
    e->name = strdup(name);
    if (e->name == NULL)
        abort();
    e->pid = a->pid;
    e->a = a;
    link_entry(r, e);
    r->n++;
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void rt__registry_drop_pid(rt_registry_t *r, rt_actor_t *a)
{
    pthread_mutex_lock(&r->lock);
    rt_regent_t *e = find_pid(r, a->pid);
    if (e != NULL)
        unlink_entry(r, e);
    pthread_mutex_unlock(&r->lock);
}

void rt__registry_name_of(rt_registry_t *r, rt_pid_t pid, char *buf, size_t len)
{
    pthread_mutex_lock(&r->lock);
    rt_regent_t *e = find_pid(r, pid);
    snprintf(buf, len, "%s", e ? e->name : "");
    pthread_mutex_unlock(&r->lock);
}

/* ---- public API ----------------------------------------------------- */

static bool name_ok(const char *name)
{
    return name != NULL && name[0] != '\0' &&
           strnlen(name, RT_NAME_MAX) < RT_NAME_MAX;
}

int rt_register(rt_t *rt, const char *name, rt_pid_t pid)
{
    rt_actor_t *a;
    if (!name_ok(name))
        return CLEO_EINVAL;
    int rc = rt__table_pin(&rt->table, pid, &a);
    if (rc < 0)
        return rc;
    rc = rt__registry_add(&rt->reg, name, a);
    rt__table_unpin(&rt->table, a);
    return rc;
}

int rt_unregister(rt_t *rt, const char *name)
{
    if (!name_ok(name))
        return CLEO_ENOTFOUND;
    pthread_mutex_lock(&rt->reg.lock);
    rt_regent_t *e = find_name(&rt->reg, name);
    if (e != NULL)
        unlink_entry(&rt->reg, e);
    pthread_mutex_unlock(&rt->reg.lock);
    return e != NULL ? 0 : CLEO_ENOTFOUND;
}

rt_pid_t rt_whereis(rt_t *rt, const char *name)
{
    if (!name_ok(name))
        return RT_PID_NONE;
    pthread_mutex_lock(&rt->reg.lock);
    rt_regent_t *e = find_name(&rt->reg, name);
    rt_pid_t pid = e ? e->pid : RT_PID_NONE;
    pthread_mutex_unlock(&rt->reg.lock);
    return pid;
}
