/*
 * spawn.c - creating actors, and reading them from other threads
 * (introspection snapshots).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/kernel.h"
#include "runtime/pool.h"

typedef struct {
    rt_actor_t *a;
    void *arg;
} init_arg_t;

static int run_init(void *p)
{
    init_arg_t *ia = p;
    return ia->a->beh->init(ia->a, ia->arg);
}

static int check_opts(rt_t *rt, rt_actor_t *self, const rt_behaviour_t *beh,
                      const rt_spawn_opts_t *o)
{
    if (beh == NULL || beh->handle == NULL || beh->name == NULL)
        return CLEO_EINVAL;
    if ((o->flags & (RT_SPAWN_LINK | RT_SPAWN_MONITOR)) && self == NULL)
        return CLEO_EINVAL;
    if (o->flags & ~(RT_SPAWN_LINK | RT_SPAWN_MONITOR))
        return CLEO_EINVAL;
    uint32_t nsched = rt->scheds ? rt->opts.schedulers : 1;
    if (o->sched != RT_SCHED_ANY &&
        (o->sched < 0 || (uint32_t)o->sched >= nsched))
        return CLEO_EINVAL;
    if (o->name != NULL &&
        (o->name[0] == '\0' || strnlen(o->name, RT_NAME_MAX) >= RT_NAME_MAX))
        return CLEO_EINVAL;
    if (rt__stopping(rt))
        return CLEO_ESHUTDOWN;
    return 0;
}

/* Link/monitor both sides before anyone can see the child (spawn_link
 * is atomic in Erlang too). */
static void bind_spawner(rt_actor_t *self, rt_actor_t *a,
                         const rt_spawn_opts_t *o, rt_ref_t *ref)
{
    if (o->flags & RT_SPAWN_LINK) {
        rt__map_put(&rt__actor_ext(self)->links, a->pid, 0);
        rt__map_put(&rt__actor_ext(a)->links, self->pid, 0);
    }
    if (o->flags & RT_SPAWN_MONITOR) {
        *ref = rt__ref_new(a->rt);
        rt__map_put(&rt__actor_ext(self)->mons_out, *ref, a->pid);
        rt__map_put(&rt__actor_ext(a)->mons_in, *ref, self->pid);
    }
    rt__actor_publish(self);
    rt__actor_publish(a);
}

/* Undo bind_spawner() on the spawner's side after a failed init. */
static void unbind_spawner(rt_actor_t *self, rt_pid_t child, rt_ref_t ref)
{
    rt_actor_ext_t *x = self->ext;
    if (x == NULL)
        return;
    (void)rt__map_del(&x->links, child, NULL);
    if (ref != 0)
        (void)rt__map_del(&x->mons_out, ref, NULL);
    rt__actor_publish(self);
}

/* Tear down a child whose start failed: no exit signals, no destroy;
 * but its resources are released, its call timers cancelled, and links
 * and monitors its init made are silently undone. */
static void abort_child(rt_actor_t *a, rt_pid_t spawner)
{
    rt_t *rt = a->rt;
    a->flags |= RT__A_DEAD | RT__A_EXITING;
    rt__actor_release(a);
    rt__call_on_death(a, RT_REASON_NORMAL); /* calls fail as noproc */
    rt__table_mark_dead(&rt->table, a);
    /* seq_cst: after marking dead, as in rt__actor_die(). */
    if (atomic_load_explicit(&a->has_name, memory_order_seq_cst))
        rt__registry_drop_pid(&rt->reg, a);
    rt__signal_on_abort(a, spawner);
    rt__actor_ext_free(a);
    rt__table_unpin(&rt->table, a);
}

static int run_child_init(rt_actor_t *a, void *arg)
{
    if (a->beh->init == NULL)
        return 0;
    init_arg_t ia = {a, arg};
    rt_actor_t *saved = rt__tls_actor;
    rt__tls_actor = a;
    int rc = rt__guarded(run_init, &ia);
    rt__tls_actor = saved;
    return rc < 0 ? rc : 0;
}

int rt_spawn(rt_t *rt, rt_actor_t *self, const rt_behaviour_t *beh, void *arg,
             const rt_spawn_opts_t *opts, rt_pid_t *out)
{
    static const rt_spawn_opts_t defaults = {.sched = RT_SCHED_ANY};
    const rt_spawn_opts_t *o = opts != NULL ? opts : &defaults;
    rt_pid_t pid;
    rt_ref_t ref = 0;
    int rc = check_opts(rt, self, beh, o);
    if (rc < 0)
        return rc;
    rt_actor_t *a = rt__pool_alloc(sizeof *a);
    memset(a, 0, sizeof *a);
    rt_mbox_init(&a->mbox);
    /* Start "scheduled" so that messages sent while init runs queue up
     * without another thread running the actor; see the end. */
    atomic_store_explicit(&a->mbox.head, &a->mbox.stub, memory_order_relaxed);
    a->beh = beh;
    a->rt = rt;
    a->sched = (int16_t)o->sched;
    a->mbox_limit = o->mailbox_limit;
    if (o->trap_exit)
        (void)rt_trap_exit(a, true);
    if ((rc = rt__table_add(&rt->table, a, &pid)) < 0) {
        rt__pool_free(sizeof *a, a);
        return rc;
    }
    if (o->name != NULL && (rc = rt__registry_add(&rt->reg, o->name, a)) < 0)
        goto fail;
    if (self != NULL)
        bind_spawner(self, a, o, &ref);
    if ((rc = run_child_init(a, arg)) < 0) {
        if (self != NULL)
            unbind_spawner(self, pid, ref);
        goto fail;
    }
    atomic_fetch_add_explicit(&rt->spawned, 1, memory_order_relaxed);
    if (!rt_mbox_mark_empty(&a->mbox))
        rt__schedule(rt, a);
    if (out != NULL)
        *out = pid;
    if (o->mon_ref != NULL && ref != 0)
        *o->mon_ref = ref;
    return 0;
fail:
    abort_child(a, self != NULL ? self->pid : RT_PID_NONE);
    return rc;
}

/* ---- introspection -------------------------------------------------- */

static void fill_info(rt_actor_t *a, rt_actor_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->pid = a->pid;
    out->behaviour = a->beh->name;
    out->msgs = atomic_load_explicit(&a->msgs, memory_order_relaxed);
    out->mailbox = (uint64_t)rt_mbox_len(&a->mbox);
    out->memory = sizeof *a;
    if (a->beh->memory != NULL)
        out->memory += a->beh->memory(a);
    out->links = atomic_load_explicit(&a->pub_links, memory_order_relaxed);
    out->monitors = atomic_load_explicit(&a->pub_mons, memory_order_relaxed);
    out->memory += (out->links + out->monitors) * 16u;
    out->sched = a->sched;
    out->state = atomic_load_explicit(&a->run_state, memory_order_relaxed);
    out->trap_exit = atomic_load_explicit(&a->pub_trap, memory_order_relaxed);
    out->tracer = atomic_load_explicit(&a->tracer, memory_order_relaxed);
    out->mailbox_limit = a->mbox_limit;
    out->long_turns =
        atomic_load_explicit(&a->long_turns, memory_order_relaxed);
    out->long_mqueues =
        atomic_load_explicit(&a->long_mqueues, memory_order_relaxed);
    if (atomic_load_explicit(&a->has_name, memory_order_acquire))
        rt__registry_name_of(&a->rt->reg, a->pid, out->name, sizeof out->name);
}

int rt_actor_info(rt_t *rt, rt_pid_t pid, rt_actor_info_t *out)
{
    rt_actor_t *a;
    int rc = rt__table_pin(&rt->table, pid, &a);
    if (rc < 0)
        return rc;
    fill_info(a, out);
    rt__table_unpin(&rt->table, a);
    return 0;
}

int rt_trace(rt_t *rt, rt_pid_t pid, rt_pid_t tracer)
{
    rt_actor_t *a;
    if (tracer == pid && pid != RT_PID_NONE)
        return CLEO_EINVAL; /* each trace message would make another */
    int rc = rt__table_pin(&rt->table, pid, &a);
    if (rc < 0)
        return rc;
    atomic_store_explicit(&a->tracer, tracer, memory_order_relaxed);
    rt__table_unpin(&rt->table, a);
    return 0;
}

int rt_actor_foreach(rt_t *rt, rt_foreach_cb cb, void *data)
{
    uint32_t used = atomic_load_explicit(&rt->table.used, memory_order_acquire);
    rt_actor_info_t info;
    for (uint32_t i = 0; i < used; i++) {
        rt_actor_t *a = rt__table_pin_slot(&rt->table, i);
        if (a == NULL)
            continue;
        fill_info(a, &info);
        rt__table_unpin(&rt->table, a);
        int rc = cb(&info, data);
        if (rc != 0)
            return rc;
    }
    return 0;
}
