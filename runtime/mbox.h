/*
 * mbox.h - the actor mailbox: Vyukov's intrusive MPSC queue with an
 * embedded stub, plus Pony's trick of tagging the head pointer's low bit
 * to mean "empty and not scheduled". The producer whose push clears the
 * tag is the one that must schedule the actor, so an actor is on at most
 * one run queue at a time.
 */
#ifndef CLEO_RUNTIME_MBOX_H
#define CLEO_RUNTIME_MBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_mbox_s {
    rt_mnode_t *_Atomic head; /* producers' end; low bit 1 = unscheduled */
    rt_mnode_t *tail;         /* consumer's end; owner thread only */
    rt_mnode_t stub;          /* re-pushed when the queue runs dry */
    _Atomic int64_t len;      /* messages queued (approximate) */
} rt_mbox_t;

/* Initialise empty and unscheduled. */
void rt_mbox_init(rt_mbox_t *q);

/* Push m (any thread). Returns true if the mailbox was empty and
 * unscheduled: the caller must now schedule the actor. @param m takes. */
bool rt_mbox_push(rt_mbox_t *q, rt_msg_t *m);
/* As rt_mbox_push(), and write the queue length after the push to *len
 * (exact for this push: each push sees a different length). */
bool rt_mbox_push_len(rt_mbox_t *q, rt_msg_t *m, int64_t *len);

/* Pop the oldest message, or NULL if none is ready (owner only).
 * @return gives. */
rt_msg_t *rt_mbox_pop(rt_mbox_t *q);

/* Try to mark the mailbox empty and unscheduled after rt_mbox_pop()
 * returned NULL (owner only). Returns false if a push raced in: the actor
 * must stay scheduled. */
bool rt_mbox_mark_empty(rt_mbox_t *q);

/* The owner keeps a popped message in a private queue (1) or takes one
 * from there (-1): rt_mbox_len() keeps counting it until it is handled. */
void rt_mbox_count(rt_mbox_t *q, int64_t delta);

/* Messages queued now (any thread; a snapshot). */
int64_t rt_mbox_len(const rt_mbox_t *q);

#endif
