/*
 * gen_event.h - the event manager's private entry points (actors/ only).
 */
#ifndef CLEO_ACTORS_GEN_EVENT_H
#define CLEO_ACTORS_GEN_EVENT_H

#include "actors/actors.h"

/* Start a manager that already holds handler h (init(arg) ran in the
 * manager's init), so an actor can start one without a blocking add. A
 * failing h->init makes the start fail with its code.
 * @param h borrows: static; NULL = no handler. */
int gen_event__start_with(rt_t *rt, rt_actor_t *self, const gen_opts_t *opts,
                          const gen_event_handler_t *h, void *arg,
                          rt_pid_t *out);

/* True if cbs is the event manager's (its status names it gen_event). */
bool gen_event__is_mgr(const gen_server_cbs_t *cbs);

#endif
