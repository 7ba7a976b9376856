/*
 * contract.h - what other roles may use of the storage role: its
 * registered names, message type ids, error codes, limits and timeouts.
 * Everything else in storage/ (sto.h and the rest) is the role's own: the
 * gateway and the manager reach storage by messages only, and their build
 * targets see this header but not sto.h (the CMake target
 * cleo_sto_contract).
 *
 * The message ids are defined once, as proto/storage.proto's enum MsgId;
 * the STO_MSG_* names here are aliases of its generated constants, and
 * the request and reply record of each id are named beside it there.
 */
#ifndef CLEO_STORAGE_CONTRACT_H
#define CLEO_STORAGE_CONTRACT_H

#include "proto/storage.pb-c.h"
#include "runtime/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------
 * Errors. Besides the project's CLEO_E* codes, storage has its
 * own in the reserved range -20100..-20199 (not yet known to
 * cleo_err_name(); storage/sto.h's sto_err_name() names them):
 *   CLEO_EINVAL    bad bucket name, key (empty, >1024 bytes, not UTF-8),
 *                  option or owner
 *   CLEO_EEXIST    bucket already exists
 *   CLEO_ENOTFOUND no such bucket (bucket calls) or object (object calls;
 *                  a tombstone reads as not found)
 *   CLEO_ESTATE    bucket not empty (delete)
 *   CLEO_EBADREQ   a commit whose size or MD5 disagrees with the data
 *   CLEO_ENOMEM    a client-sized allocation failed
 *   CLEO_ESTORAGE  RocksDB failed (its message is logged to stderr)
 * ------------------------------------------------------------------- */

#define STO_ENOBUCKET (-20101)  /* object call on a bucket that is absent */
#define STO_ECORRUPT (-20102)   /* a chunk failed its checksum or is gone */
#define STO_ERANGE (-20103)     /* unsatisfiable range (S3 InvalidRange) */
#define STO_ENOUPLOAD (-20104)  /* no such multipart upload (NoSuchUpload) */
#define STO_EBADPART (-20105)   /* a part missing or its ETag differs */
#define STO_EPARTORDER (-20106) /* parts not in ascending order */
#define STO_ETOOSMALL (-20107)  /* a part but the last under 5 MiB */
/* The disk is full (free space under opts.reserve_bytes, or RocksDB's "No
 * space left"): the put fails, nothing of it is visible, deletes and reads
 * still work. */
#define STO_ENOSPACE (-20108)
/* A replica's write (PutReq.version, ObjectReq.version) of a version not
 * newer than the key's current one: nothing changed. A coordinator counts
 * it as a durable copy: the replica holds a newer version. */
#define STO_ESUPERSEDED (-20109)

/* ---------------------------------------------------------------------
 * Limits.
 * ------------------------------------------------------------------- */

#define STO_ETAG_MAX 38      /* chars of an ETag: 32 hex, or 32 hex "-" N */
#define STO_KEY_MAX 1024     /* bytes of an object key */
#define STO_BUCKET_MAX 63    /* bytes of a bucket name */
#define STO_OWNER_MAX 127    /* bytes of a bucket owner */
#define STO_UPLOAD_ID_LEN 32 /* hex characters of an upload id */
#define STO_PART_MAX 10000u  /* part numbers are 1..STO_PART_MAX */

/* GetReq.range_kind: a byte range with HTTP Range semantics. */
typedef enum {
    STO_RANGE_ALL = 0, /* the whole object */
    STO_RANGE_SPAN,    /* bytes first..last inclusive (last clamped) */
    STO_RANGE_FROM,    /* bytes first..end ("first-") */
    STO_RANGE_SUFFIX,  /* the last suffix_len bytes ("-n") */
} sto_range_kind_t;

/* ---------------------------------------------------------------------
 * The engine actor: a gen_server registered as STO_ENGINE_NAME that owns
 * the database (opened in its init, closed when it stops, reopened when
 * its supervisor restarts it) and answers the requests below. Each
 * request runs on the runtime's blocking-work pool, never on a scheduler
 * thread; the reply follows when the work is done.
 *
 * Every request is a call (rt_call / gen_server_call*). Its type is a
 * value of proto/storage.proto's enum MsgId (aliased STO_MSG_* below);
 * its payload is the record named beside that value, set with
 * rt_msg_set_pb(), except PUT (rt_msg_set_body()). The reply has the
 * request's type, the status in reply->reason (0 or a code of the
 * matching sto_* call in storage/sto.h; CLEO_EBADREQ for a missing or wrong
 * payload or an unknown type) and, when the status is 0, the payload named.
 * ------------------------------------------------------------------- */

#define STO_ENGINE_NAME "sto_engine"
#define STO_MSG_BUCKET_CREATE CLEO__STORAGE__MSG_ID__BUCKET_CREATE
#define STO_MSG_BUCKET_DELETE CLEO__STORAGE__MSG_ID__BUCKET_DELETE
#define STO_MSG_BUCKET_EXISTS CLEO__STORAGE__MSG_ID__BUCKET_EXISTS
#define STO_MSG_BUCKET_LIST CLEO__STORAGE__MSG_ID__BUCKET_LIST
#define STO_MSG_BUCKET_DU CLEO__STORAGE__MSG_ID__BUCKET_DU
#define STO_MSG_BUCKET_UPDATE CLEO__STORAGE__MSG_ID__BUCKET_UPDATE
#define STO_MSG_HEAD CLEO__STORAGE__MSG_ID__HEAD
#define STO_MSG_DELETE CLEO__STORAGE__MSG_ID__DELETE
#define STO_MSG_LIST CLEO__STORAGE__MSG_ID__LIST
#define STO_MSG_PUT CLEO__STORAGE__MSG_ID__PUT
#define STO_MSG_GET CLEO__STORAGE__MSG_ID__GET

/* ---- streams: any size, one block in memory -------------------------
 * PUT_BEGIN and MPU_PART_BEGIN answer with a StreamRef from a stream
 * actor (linked to the engine) that owns the open put: the reply's
 * sender (m->from) is the stream's pid, as a pid only crosses nodes in a
 * frame's from. Send it
 * WRITE calls (payload: an rt_buf_t set with rt_msg_set_buf(), one at a
 * time: wait for each reply, which is the backpressure) and then one
 * COMMIT (PutCommit -> ObjectInfo, or PartInfo for a part) or ABORT
 * (no payload -> no payload). GET_OPEN answers with a body {GetOpen, the
 * first block}; when GetOpen.stream is not 0, READ calls to the reply's
 * sender (the stream) answer
 * with the next block as an rt_buf_t payload (at most one chunk), an
 * empty one at the end. A stream stops after COMMIT, ABORT, the end of a
 * read, an error, when the caller that opened it dies (it monitors it)
 * or after STO_STREAM_IDLE_MS without a request; an unfinished put is
 * then aborted and nothing of it becomes visible.
 *
 * Details (storage/stream.c):
 * - The opener is the caller's pid; a caller whose pid does not live as
 *   long as the stream (gen_server_call_sync() calls from a transient
 *   pid) names the owner to monitor in the opening request's `arg`
 *   (e.g. an rt_inbox_pid()); arg 0 = the caller.
 * - A block is at most the database's chunk_size bytes. A READ answered
 *   with the block that ends the span leaves the stream only briefly
 *   (STO_STREAM_LINGER_MS) to answer one more READ with the empty
 *   block: a client may stop after GetOpen.len bytes or read to empty.
 * - ABORT also closes a get stream early. A call while another is in
 *   flight is answered CLEO_ESTATE (ABORT is then answered after it); a
 *   WRITE or COMMIT to a get stream, a READ to a put stream or a
 *   missing or wrong payload (or a PutCommit.md5 that is neither empty
 *   nor 16 bytes) is answered CLEO_EBADREQ. After an error reply other
 *   than CLEO_ESTATE the stream has stopped (later calls: CLEO_ENOPROC).
 * - A WRITE's buffer may be any size (its bytes are copied into chunks;
 *   the reference is dropped once written); a chunk_size at a time keeps
 *   memory per stream at about two chunks. */
#define STO_STREAM_IDLE_MS 60000u
#define STO_STREAM_LINGER_MS 1000u
#define STO_MSG_PUT_BEGIN CLEO__STORAGE__MSG_ID__PUT_BEGIN
#define STO_MSG_STREAM_WRITE CLEO__STORAGE__MSG_ID__STREAM_WRITE
#define STO_MSG_STREAM_COMMIT CLEO__STORAGE__MSG_ID__STREAM_COMMIT
#define STO_MSG_STREAM_ABORT CLEO__STORAGE__MSG_ID__STREAM_ABORT
#define STO_MSG_GET_OPEN CLEO__STORAGE__MSG_ID__GET_OPEN
#define STO_MSG_STREAM_READ CLEO__STORAGE__MSG_ID__STREAM_READ
#define STO_MSG_COPY CLEO__STORAGE__MSG_ID__COPY

/* ---- multipart uploads ----------------------------------------------
 * Parts are stored as they arrive under their own ids; COMPLETE writes
 * the object's metadata with the parts' chunk references (no data is
 * copied) in one synced batch; ABORT and expiry (storage.mpu_ttl) free
 * them. Errors: STO_ENOUPLOAD, STO_EBADPART, STO_EPARTORDER,
 * STO_ETOOSMALL, CLEO_EINVAL (part number outside 1..10000). */
#define STO_MSG_MPU_CREATE CLEO__STORAGE__MSG_ID__MPU_CREATE
#define STO_MSG_MPU_PART_BEGIN CLEO__STORAGE__MSG_ID__MPU_PART_BEGIN
#define STO_MSG_MPU_PART_COPY CLEO__STORAGE__MSG_ID__MPU_PART_COPY
#define STO_MSG_MPU_COMPLETE CLEO__STORAGE__MSG_ID__MPU_COMPLETE
#define STO_MSG_MPU_ABORT CLEO__STORAGE__MSG_ID__MPU_ABORT
#define STO_MSG_MPU_LIST_PARTS CLEO__STORAGE__MSG_ID__MPU_LIST_PARTS
#define STO_MSG_MPU_LIST_UPLOADS CLEO__STORAGE__MSG_ID__MPU_LIST_UPLOADS

/* ---- maintenance -----------------------------------------------------
 * SCRUB and COMPACT are calls to the scrubber (STO_SCRUBBER_NAME) and
 * the compactor (STO_COMPACTOR_NAME), which also run them every
 * sto_engine_conf_t interval. They pass them to the engine (which owns
 * the database) as jobs; the engine answers them directly too. A call
 * that comes while one runs shares its result. The scrubber logs each
 * corrupt chunk (logger_log, LOG_ERROR) and a summary. */
#define STO_MSG_SCRUB CLEO__STORAGE__MSG_ID__SCRUB
#define STO_MSG_COMPACT CLEO__STORAGE__MSG_ID__COMPACT
#define STO_MSG_PURGE CLEO__STORAGE__MSG_ID__PURGE
#define STO_SCRUBBER_NAME "sto_scrubber"
#define STO_COMPACTOR_NAME "sto_compactor"

#define STO_WHOLE_MAX ((uint64_t)64 << 20) /* bytes of a whole-object GET */

/* ---- the repairer (sto.h has its details) ----------------------------
 * On each storage node of a cluster, registered STO_REPAIR_NAME: it
 * keeps the persistent repair queue. REPAIR_STATS (a call, no payload)
 * answers RepairStats: per target node, the entries queued and what was
 * repaired, failed and dropped since it started (cleo-adm mq-stats).
 * REPAIR_ENQUEUE (a send, RepairItem) asks it to bring a node up to at
 * least a version of a key. */
#define STO_REPAIR_NAME "sto_repair"
#define STO_MSG_REPAIR_ENQUEUE CLEO__STORAGE__MSG_ID__REPAIR_ENQUEUE
#define STO_MSG_REPAIR_STATS CLEO__STORAGE__MSG_ID__REPAIR_STATS

#ifdef __cplusplus
}
#endif
#endif /* CLEO_STORAGE_CONTRACT_H */
