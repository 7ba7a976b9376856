/*
 * raft_guard.h - guards against two commit bugs of libraft 0.15, applied
 * at the raft_io boundary (private to manager/). The managers' Raft node
 * (raft_uv) and the simulation under raft's fixture
 * (tests/manager/test_raft_sim.c, which finds both bugs and shows them
 * with CLEO_RAFT_SIM_UNGUARDED=1) use the same code.
 *
 * 1. A leader commits entries of an earlier term by counting replicas
 *    (Raft's figure 8; fixed upstream in 0.17.1): 0.15 only tries to
 *    commit the leader's last stored entry, whatever its term. So a new
 *    leader appends a barrier of its own term at once (poll, below), and
 *    the successful AppendEntries results it receives while its last
 *    stored entry is of an earlier term are dropped: the follower is
 *    asked again at the next heartbeat.
 * 2. A follower whose log has a leftover suffix beyond an AppendEntries'
 *    entries answers with its own last stored index, and the leader
 *    takes that as the match index even where the leftovers differ from
 *    its own entries (still so in 0.18.1). The answer sent while raft
 *    handles an AppendEntries is capped at prev_log_index + n_entries,
 *    which is all the request proved. An answer sent later, once the new
 *    entries are stored, has no leftover suffix: they truncated it.
 *
 * The guard wraps the io's start (to see raft's recv callback) and send.
 * raft_init sets io->data to the struct raft, so the wrappers find their
 * guard in a small registry keyed by the io pointer, under a mutex: any
 * number of guards, on any threads, may live in one process. Each guard
 * is used by one thread, the one that runs its raft (every raft_* call
 * and every io callback).
 */
#ifndef CLEO_MANAGER_RAFT_GUARD_H
#define CLEO_MANAGER_RAFT_GUARD_H

#include <stdbool.h>

#include <raft.h>

typedef int (*mgr__raft_guard_start_fn)(struct raft_io *io, unsigned msecs,
                                        raft_io_tick_cb tick,
                                        raft_io_recv_cb recv);
typedef int (*mgr__raft_guard_send_fn)(struct raft_io *io,
                                       struct raft_io_send *req,
                                       const struct raft_message *m,
                                       raft_io_send_cb cb);

/* One per raft server, embedded by the caller. All zero is "not wrapped"
 * (what mgr__raft_guard_unwrap accepts). */
typedef struct mgr__raft_guard_s {
    /* private */
    struct raft_io *_io;             /* wrapped; NULL = not wrapped */
    struct mgr__raft_guard_s *_next; /* the registry's list */
    mgr__raft_guard_start_fn _start; /* the io's own */
    mgr__raft_guard_send_fn _send;   /* the io's own */
    raft_io_recv_cb _recv;           /* raft's, given to start */
    raft_term _barrier_term; /* the term whose barrier was appended, 0 none */
    bool _in_append;         /* raft is handling an AppendEntries */
    raft_index _append_end;  /* its prev_log_index + n_entries */
} mgr__raft_guard_t;

/** Initialise g and wrap io's start and send with the guards. Call it
 *  once the io is initialised (raft_uv_init, or raft_fixture_grow) and
 *  before raft_start (or raft_fixture_start); before raft_init is fine.
 *  Cannot fail. Wrapping an io that a guard wraps, or a g that is
 *  wrapped, is a caller bug (rt_assert; off an actor it aborts).
 *  @param g borrows: valid until mgr__raft_guard_unwrap(g).
 *  @param io borrows: valid until mgr__raft_guard_unwrap(g). */
void mgr__raft_guard_wrap(mgr__raft_guard_t *g, struct raft_io *io);

/** A new leader appends a barrier of its own term: call it on the raft's
 *  thread after every event that may have made r the leader (for
 *  raft_uv, once per loop pass from a uv_check handle; under the fixture
 *  from its event hook), never from inside a raft callback. Does nothing
 *  unless r leads in a term whose barrier it has not appended yet. If
 *  raft refuses the barrier (a leadership transfer is going on) the next
 *  call tries again. The barrier request is the guard's: allocated here,
 *  freed in its callback (which raft runs once applied, or when the
 *  leadership or raft itself goes), so it does not depend on g.
 *  @param g borrows; wrapped around r's io.
 *  @param r borrows. */
void mgr__raft_guard_poll(mgr__raft_guard_t *g, struct raft *r);

/** Whether g wraps an io. @param g borrows. */
bool mgr__raft_guard_is_wrapped(const mgr__raft_guard_t *g);

/** Take g out of the registry and give io its own start and send back.
 *  Call it once raft is closed (raft_close's callback ran, or
 *  raft_fixture_close returned) and before the io's memory is reused.
 *  Accepts NULL and an all-zero or already unwrapped g; cannot fail.
 *  @param g borrows. */
void mgr__raft_guard_unwrap(mgr__raft_guard_t *g);

#endif /* CLEO_MANAGER_RAFT_GUARD_H */
