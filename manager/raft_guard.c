/*
 * raft_guard.c - guards against two commit bugs of libraft 0.15 at the
 * raft_io boundary; raft_guard.h says what each keeps out and why.
 *
 * raft owns io->data (raft_init sets it to the struct raft) and the io
 * implementation owns io->impl, so nothing in the io can point back at
 * its guard: the wrappers find it in a list of wrapped guards keyed by
 * the io pointer. The list is shared by every raft thread of the process
 * and changes only in wrap and unwrap, so a mutex around the walk is
 * enough; the rest of a guard is touched by its own raft thread only.
 */
#include "manager/raft_guard.h"

#include <pthread.h>
#include <stdlib.h>

#include "runtime/rt.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static mgr__raft_guard_t *registry; /* wrapped guards; under registry_lock */

/* The guard wrapping io. An io that reaches a wrapper is wrapped, so a
 * miss is a broken invariant (an io unwrapped while raft still runs). */
static mgr__raft_guard_t *guard_of(const struct raft_io *io)
{
    pthread_mutex_lock(&registry_lock);
    mgr__raft_guard_t *g = registry;
    while (g != NULL && g->_io != io)
        g = g->_next;
    pthread_mutex_unlock(&registry_lock);
    rt_assert(g != NULL);
    return g;
}

/* The term of the entry at index in r's log, 0 when the log does not have
 * it. 0.15's struct raft_log is public; this is its logTermOf. */
static raft_term term_of(const struct raft *r, raft_index index)
{
    const struct raft_log *l = &r->log;
    size_t n =
        l->back >= l->front ? l->back - l->front : l->size - l->front + l->back;
    if (index == l->snapshot.last_index && index > 0)
        return l->snapshot.last_term;
    if (index <= l->offset || index > l->offset + n)
        return 0;
    return l->entries[(l->front + (index - 1 - l->offset)) % l->size].term;
}

/* A leader whose last stored entry is of an earlier term must not count
 * replicas yet (guard 1). A successful result owns no memory, so
 * dropping it releases nothing. */
static bool hold_back(struct raft *r, const struct raft_message *m)
{
    return m->type == RAFT_IO_APPEND_ENTRIES_RESULT &&
           m->append_entries_result.rejected == 0 &&
           raft_state(r) == RAFT_LEADER &&
           term_of(r, r->last_stored) < r->current_term;
}

static void guard_recv(struct raft_io *io, struct raft_message *m)
{
    mgr__raft_guard_t *g = guard_of(io);
    if (hold_back(io->data, m))
        return;
    if (m->type != RAFT_IO_APPEND_ENTRIES) {
        g->_recv(io, m);
        return;
    }
    /* Read before recv: raft frees the entries while handling them. */
    g->_append_end =
        m->append_entries.prev_log_index + m->append_entries.n_entries;
    g->_in_append = true;
    g->_recv(io, m);
    g->_in_append = false;
}

static int guard_send(struct raft_io *io, struct raft_io_send *req,
                      const struct raft_message *m, raft_io_send_cb cb)
{
    mgr__raft_guard_t *g = guard_of(io);
    if (!g->_in_append || m->type != RAFT_IO_APPEND_ENTRIES_RESULT ||
        m->append_entries_result.rejected != 0 ||
        m->append_entries_result.last_log_index <= g->_append_end)
        return g->_send(io, req, m, cb);
    /* Guard 2. Both raft_uv (encodes it) and the fixture (copies it) are
     * done with the message when send returns, so a copy on the stack
     * will do. */
    struct raft_message capped = *m;
    capped.append_entries_result.last_log_index = g->_append_end;
    return g->_send(io, req, &capped, cb);
}

static int guard_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                       raft_io_recv_cb recv)
{
    mgr__raft_guard_t *g = guard_of(io);
    g->_recv = recv;
    return g->_start(io, msecs, tick, guard_recv);
}

void mgr__raft_guard_wrap(mgr__raft_guard_t *g, struct raft_io *io)
{
    pthread_mutex_lock(&registry_lock);
    bool taken = false;
    for (const mgr__raft_guard_t *o = registry; o != NULL; o = o->_next)
        taken |= o == g || o->_io == io;
    if (!taken) {
        *g = (mgr__raft_guard_t){._io = io,
                                 ._next = registry,
                                 ._start = io->start,
                                 ._send = io->send};
        registry = g;
    }
    pthread_mutex_unlock(&registry_lock);
    rt_assert(!taken); /* io or g is wrapped already */
    io->start = guard_start;
    io->send = guard_send;
}

bool mgr__raft_guard_is_wrapped(const mgr__raft_guard_t *g)
{
    return g->_io != NULL;
}

void mgr__raft_guard_unwrap(mgr__raft_guard_t *g)
{
    if (g == NULL || g->_io == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    mgr__raft_guard_t **p = &registry;
    while (*p != NULL && *p != g)
        p = &(*p)->_next;
    if (*p == g)
        *p = g->_next;
    pthread_mutex_unlock(&registry_lock);
    g->_io->start = g->_start;
    g->_io->send = g->_send;
    *g = (mgr__raft_guard_t){0};
}

static void on_barrier(struct raft_barrier *req, int status)
{
    (void)status; /* applied, or the leadership went: either way done */
    free(req);
}

void mgr__raft_guard_poll(mgr__raft_guard_t *g, struct raft *r)
{
    rt_assert(g->_io != NULL && r->io == g->_io);
    if (raft_state(r) != RAFT_LEADER || g->_barrier_term == r->current_term)
        return;
    struct raft_barrier *b = cleo_xmalloc(sizeof *b);
    if (raft_barrier(r, b, on_barrier) == 0)
        g->_barrier_term = r->current_term;
    else
        free(b); /* a transfer is going on: the next poll tries again */
}
