/*
 * rqueue.h - the persistent repair queue (private to storage/; issue 12).
 *
 * When a write reaches W replicas but not all N, each replica that missed
 * it needs repair. The queue remembers, for each such replica's node
 * (the target), which keys it must get and at least which version. It
 * lives in the database's `queue` column family, one entry per (target,
 * bucket, key):
 *
 *   queue CF  node '\0' bucket '\0' key -> Version {clock, node}
 *
 * so one target's entries scan together, by bucket then key. A newer
 * version for the same target and key replaces the entry; an older one
 * leaves it. Every change is one synced write: the queue survives kill -9.
 * The repairer (repair.c) is its only user, through the engine (the
 * database is the engine's): the REPAIR_* requests below.
 *
 * Thread-safe as the rest of sto.h: the read-modify-writes take the
 * key's stripe lock, so an add and a remove of one entry never interleave.
 */
#ifndef CLEO_STORAGE_RQUEUE_H
#define CLEO_STORAGE_RQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/sto.h"

#define STO__RQ_NODE_MAX 255  /* bytes of a target's name */
#define STO__RQ_PAGE 64u      /* entries a scan gives by default */
#define STO__RQ_PAGE_MAX 256u /* and at most */

/* One entry: target node must get at least version v of bucket/key. */
typedef struct {
    char node[STO__RQ_NODE_MAX + 1];
    char bucket[STO_BUCKET_MAX + 1];
    char key[STO_KEY_MAX + 1];
    sto_version_t v;
} sto__rq_entry_t;

/* What an add did. */
typedef enum {
    STO__RQ_KEPT = 0, /* the entry names the same or a newer version */
    STO__RQ_REPLACED, /* the entry named an older version: now v */
    STO__RQ_ADDED,    /* there was no entry: there is one now */
} sto__rq_added_t;

/* One target's entry count. */
typedef struct {
    char node[STO__RQ_NODE_MAX + 1];
    uint64_t entries;
} sto__rq_count_t;

/* Queue version v of bucket/key for node, unless its entry names the
 * same or a newer version. One synced write.
 * @param node, bucket, key, v borrow.
 * @param[out] out what was done; may be NULL.
 * An entry that does not decode is replaced (STO__RQ_REPLACED).
 * @return 0, CLEO_EINVAL (node empty or too long, bucket or key empty
 * or too long), CLEO_ESTORAGE, STO_ENOSPACE. */
int sto__rq_add(sto_db_t *db, const char *node, const char *bucket,
                const char *key, const sto_version_t *v, sto__rq_added_t *out);

/* Remove node's entry for bucket/key if the version it names is not
 * newer than v (v was pushed: the target holds at least v now). An entry
 * replaced meanwhile by a newer version stays. One synced write.
 * @param node, bucket, key, v borrow.
 * An entry that does not decode is removed.
 * @param[out] removed whether it was removed; may be NULL.
 * @return 0 (also when there is no entry), CLEO_EINVAL, CLEO_ESTORAGE. */
int sto__rq_remove(sto_db_t *db, const char *node, const char *bucket,
                   const char *key, const sto_version_t *v, bool *removed);

/* Up to max of node's entries after the cursor (after_bucket,
 * after_key), by bucket then key; both "" (or NULL) = from the first.
 * @param node, after_bucket, after_key borrow. @param max 0 = the
 * default page; at most STO__RQ_PAGE_MAX.
 * @param[out] out gives: free() it (NULL when *n is 0).
 * @param[out] more whether entries follow the last one given.
 * @return 0, CLEO_EINVAL (node empty or too long), CLEO_ENOMEM,
 * CLEO_ESTORAGE. Entries that do not decode are skipped (logged). */
int sto__rq_scan(sto_db_t *db, const char *node, const char *after_bucket,
                 const char *after_key, size_t max, sto__rq_entry_t **out,
                 size_t *n, bool *more);

/* Each target's entry count, by node name; only node's when node is
 * neither NULL nor "" (none: *n = 0).
 * @param[out] out gives: free() it (NULL when *n is 0).
 * @return 0, CLEO_EINVAL (node too long), CLEO_ENOMEM, CLEO_ESTORAGE. */
int sto__rq_count(sto_db_t *db, const char *node, sto__rq_count_t **out,
                  size_t *n);

/* ---- the engine's runs (rqjob.c): its dispatch table's rows for
 * REPAIR_ADD, REPAIR_REMOVE, REPAIR_SCAN and REPAIR_COUNT (job.h's
 * sto__op_t.run; kind STO__OP_MAINT: the I/O pool, never shed). --------- */

struct sto__job_s;
int sto__rq_run_add(sto_db_t *db, struct sto__job_s *j);
int sto__rq_run_remove(sto_db_t *db, struct sto__job_s *j);
int sto__rq_run_scan(sto_db_t *db, struct sto__job_s *j);
int sto__rq_run_count(sto_db_t *db, struct sto__job_s *j);

#endif /* CLEO_STORAGE_RQUEUE_H */
