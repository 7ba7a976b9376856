/*
 * stream.h - stream actors (private to storage/): one gen_server per
 * open streaming put, multipart part or get, spawned by the engine for
 * PUT_BEGIN, MPU_PART_BEGIN and GET_OPEN (sto.h, "streams").
 *
 * A stream actor owns one sto_put_t or sto_get_t and one reference on the
 * engine's database. Every sto_* call it makes runs on the blocking pool
 * and the call that asked for it is answered when the job comes back, so
 * the actor only moves buffers and records. It is linked to the engine
 * (trapping: the engine's exit stops it cleanly) and monitors the owner
 * that opened it; on every stop its put is aborted on the pool.
 */
#ifndef CLEO_STORAGE_STREAM_H
#define CLEO_STORAGE_STREAM_H

#include "storage/engine.h"
#include "storage/sto.h"

/* Is req a well-formed PUT_BEGIN, MPU_PART_BEGIN or GET_OPEN? */
bool sto__stream_req_is_valid(const rt_msg_t *req);

/* Start a stream actor for req (validated) on behalf of the engine self:
 * it takes req's record, a reference on ref, and answers `from` itself
 * once the put or get is open (or failed). idle_ms: 0 = the default.
 * @return 0 (the reply will come from the stream), or as
 * gen_server_start() (nobody answered: the engine answers with it). */
/* Start a stream actor that carries on a get the engine already opened
 * and read the first block of (GET_OPEN's fast path): it answers READs
 * for the `left` bytes after it. Linked to self (the engine), monitoring
 * owner. @param get takes (closed here on failure). @param[out] out the
 * stream's pid. @return 0 or as gen_server_start(). */
int sto__stream_adopt_get(rt_actor_t *self, sto__dbref_t *ref, sto_get_t *get,
                          uint64_t left, rt_pid_t owner, uint32_t idle_ms,
                          rt_pid_t *out);

int sto__stream_start(rt_actor_t *self, sto__dbref_t *ref, rt_msg_t *req,
                      rt_from_t from, uint32_t idle_ms);

#endif /* CLEO_STORAGE_STREAM_H */
