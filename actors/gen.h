/*
 * gen.h - helpers shared by the OTP behaviours (private to actors/).
 */
#ifndef CLEO_ACTORS_GEN_H
#define CLEO_ACTORS_GEN_H

#include <stddef.h>

#include "actors/actors.h"

/* Allocate n zeroed bytes for a fixed-size control struct; aborts on
 * out-of-memory (STYLE B3 26). */
void *gen__xcalloc(size_t n);

/* Duplicate a NUL-terminated string; aborts on out-of-memory. */
char *gen__xstrdup(const char *s);

/* The runtime behaviour for a gen_* instance: tmpl with its name replaced
 * by `name`, made once per key (the user's static callback table) and
 * kept for the life of the process, so introspection shows the user's
 * name. @param key borrows: static. @param tmpl borrows: static. */
const rt_behaviour_t *gen__beh(const void *key, const char *name,
                               const rt_behaviour_t *tmpl);

/* What a handler returns to stop with an exit reason: RT_STOP for normal
 * (or a positive, meaningless reason), the reason itself otherwise. */
int gen__stop_rc(int reason);

/* True if an EXIT message m must stop a behaviour whose parent is
 * `parent`: it comes from the parent, or it is `shutdown` and the parent
 * is already dead (a supervisor whose start failed hands its children to
 * a reaper, which can only ask). */
bool gen__from_parent(rt_actor_t *self, rt_pid_t parent, const rt_msg_t *m);

/* Turn gen_opts_t (NULL = defaults) into spawn options. */
rt_spawn_opts_t gen__spawn_opts(const gen_opts_t *o);

/* Ask pid to stop with reason (GEN_MSG_STOP) and wait until its DOWN
 * arrives. Non-scheduler threads. @return 0, CLEO_ENOPROC, CLEO_ETIMEDOUT,
 * CLEO_EDEADLK. */
int gen__stop_sync(rt_t *rt, rt_pid_t pid, int reason, uint32_t timeout_ms);

/* Wait in ib for the DOWN of pid, up to timeout_ms on the runtime's
 * clock. @param reason out: its exit reason (may be NULL).
 * @return 0 or CLEO_ETIMEDOUT / CLEO_EDEADLK. */
int gen__await_down(rt_t *rt, rt_inbox_t *ib, rt_pid_t pid, uint32_t timeout_ms,
                    int *reason);

/* A status text being written into a fixed buffer: every append is cut
 * to fit, and buf stays NUL-terminated. */
typedef struct gen_sbuf_s {
    char *buf;
    size_t len; /* bytes written, NUL excluded */
    size_t cap; /* bytes of buf, NUL included; > 0 */
} gen_sbuf_t;

/* Append printf-style text, cut to fit. */
void gen__sbuf_printf(gen_sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append what fn(ctx, p, n) writes into the room left (a user's
 * format_status), run under rt_guard so that a panic only cuts it. */
void gen__sbuf_call(gen_sbuf_t *b, void (*fn)(void *ctx, char *p, size_t n),
                    void *ctx);

/* Begin a status: "<kind> <module>", "status: running", "parent: <pid>"
 * (or none); module may be NULL. */
void gen__status_head(gen_sbuf_t *b, const char *kind, const char *module,
                      rt_pid_t parent);

/* True for a status request (a call of type RT_MSG_STATUS). */
bool gen__is_status(const rt_msg_t *m);

#endif
