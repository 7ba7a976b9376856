/*
 * repair.h - the repairer (private to storage/; issue 12): the actor that
 * keeps the persistent repair queue (rqueue.h) and drains it, and what
 * the write coordinators (repl_one.c, repl_stream.c) call when a replica
 * missed a write.
 *
 * A coordinator that answered a write while some replica did not get it
 * (unreachable when the write came, or failed after the answer) tells
 * the repairer with sto__repair_enqueue(): that node must get at least
 * this version of the key. The repairer persists it through the engine
 * (REPAIR_ADD: one synced write in the `queue` column family) and, when
 * the node is reachable, pushes it: this node's current version of the
 * key, read through its engine (a HEAD that sees tombstones), goes to
 * the node's engine as a replica write of that version (a newer local
 * version than the entry's is what is pushed: the newest wins):
 *
 *   - a tombstone: DELETE with ObjectReq.version;
 *   - an object up to STO__REPAIR_WHOLE_MAX: GET here, one PUT there with
 *     PutReq.version and the bytes;
 *   - a bigger one: GET_OPEN here and PUT_BEGIN there, then each block
 *     read from this node's stream written to the other's, one block at
 *     a time, and STREAM_COMMIT with the size and (for a plain ETag) the
 *     MD5.
 *
 * Success, or STO_ESUPERSEDED (the node already holds that version or a
 * newer one), removes the entry unless it was replaced meanwhile by a
 * newer version (REPAIR_REMOVE). An entry whose key this node no longer
 * holds at that version or newer (absent, its bucket gone, or an older
 * version here) is dropped: only this node's own copy is pushed, and what
 * it lacks is left to read-repair and anti-entropy.
 *
 * When: a target's entries are drained in passes, by bucket and key, at
 * most STO__REPAIR_PARALLEL pushes in flight. A pass starts when the
 * node comes up (distribution's NODEUP), a second after an entry is
 * queued (so the coordinator's own write has landed here), and on a
 * retry timer while the node stays unreachable or pushes fail: 1 s,
 * doubling up to 60 s (sto_repair_conf_t), back to 1 s after a clean
 * pass. A node that is down ends the pass at once (no new pushes).
 */
#ifndef CLEO_STORAGE_REPAIR_H
#define CLEO_STORAGE_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt.h"
#include "storage/rqueue.h"
#include "storage/sto.h"

#define STO__REPAIR_PARALLEL 4u                   /* pushes per target */
#define STO__REPAIR_WHOLE_MAX ((uint64_t)1 << 20) /* one PUT up to this */
#define STO__REPAIR_CALL_MS 30000u                /* one call's timeout */
#define STO__REPAIR_ADD_TRIES 5u /* REPAIR_ADD attempts, a second apart */

/* Tell this node's repairer that node missed version (clock, clock_node)
 * of bucket/key. Asynchronous (a cast): the repairer persists it. Usable
 * from any actor of this node.
 * @param node, bucket, key borrow (copied).
 * @return 0; CLEO_ENOPROC (no repairer runs: logged, nothing queued);
 * CLEO_EINVAL (empty or too long names). */
int sto__repair_enqueue(rt_t *rt, const char *node, const char *bucket,
                        const char *key, uint64_t clock, uint64_t clock_node);

/* ---- one entry's push (repair_push.c), for the repairer ------------- */

/* How a push ended. */
typedef enum {
    STO__PUSH_OK,   /* pushed (or superseded there): the entry is done */
    STO__PUSH_DROP, /* this node does not hold the version: dropped */
    STO__PUSH_FAIL, /* failed here or there: the entry stays */
    STO__PUSH_DOWN, /* the target did not answer: the entry stays */
} sto__push_end_t;

typedef struct sto__push_s sto__push_t;

/* A push ended; removed says whether its entry left the queue. The push
 * is the callee's to free (sto__push_free()). Runs in the repairer. */
typedef void (*sto__push_cb)(rt_actor_t *self, void *data, sto__push_t *p,
                             sto__push_end_t end, bool removed);

/* Start pushing entry e to the engine `target` (the entry's node's),
 * reading through `local` (this node's engine). Every step is a call
 * from self; cb runs once, from a later message, when the push ends.
 * @param e borrows (copied). @param data borrows: passed to cb.
 * @param[out] out the push (gives: free with sto__push_free() after cb,
 * or instead of it when self stops).
 * @return 0; CLEO_EINVAL (cb never runs). */
int sto__push_start(rt_actor_t *self, rt_pid_t local, rt_pid_t target,
                    const sto__rq_entry_t *e, sto__push_cb cb, void *data,
                    sto__push_t **out);

/* Free a push: after its cb, or one still in flight when the repairer
 * stops (its streams, which monitor the repairer, then abort). Accepts
 * NULL. */
void sto__push_free(sto__push_t *p);

#endif /* CLEO_STORAGE_REPAIR_H */
