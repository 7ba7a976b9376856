/*
 * repl.h - replicated writes (private to storage/; issue 12).
 *
 * In a cluster a gateway sends a write to the first live node of the
 * key's replica set (the next N distinct nodes on the RING). That node's
 * engine does not write it alone: it stamps one version (its HLC and its
 * node id, sto_version_t), checks that at least W replicas (D for a
 * delete) are reachable, and hands the write to a coordinator actor. The
 * coordinator sends each replica's engine, this node's included, the
 * same write carrying that version (PutReq.version, ObjectReq.version:
 * a replica stores it only if it is newer than what it holds), and
 * answers the gateway once W replicas (D) have it durably. A replica
 * that already holds a newer version (STO_ESUPERSEDED) counts: it is
 * durable there, and newer.
 *
 * Fewer than W reachable: CLEO_ENOCONNECTION at once (the gateway's
 * 503), and nothing is written anywhere. A replica that fails after the
 * answer is logged and counted; the persistent repair queue that retries
 * it is the next step of issue 12.
 *
 * The coordinator is an unlinked actor of its own per write: it holds
 * only its calls (each bounded) and stops when the last is back, so an
 * engine restart neither waits for it nor loses its answer.
 *
 * What is replicated today: whole-object PUT, streamed PUT and DELETE.
 * Copies and multipart uploads are still written on the node that takes
 * them only (the next steps of issue 12).
 *
 * The view: the engine keeps its node's RING copy and the system conf
 * (N, W, R, D), from each cluster state the bucket sync hears of
 * (ENGINE_RING, the packed ClusterState as its body).
 */
#ifndef CLEO_STORAGE_REPL_H
#define CLEO_STORAGE_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring/ring.h"
#include "runtime/rt.h"
#include "storage/sto.h"

/* The engine's view of the cluster. Zero-initialised: no cluster. */
typedef struct {
    ring_t *ring;        /* ring_cur; NULL = no cluster or no RING yet */
    uint32_t version;    /* ring_cur.version, low 32 bits; 0 = none */
    uint32_t n, w, r, d; /* the system conf; 0 before the first */
} sto__view_t;

/* Take a cluster state (the bytes of a packed ClusterState; borrowed).
 * The RING is rebuilt only when its version or checksum changed.
 * @return 0; CLEO_EPROTO (not a ClusterState: the view is unchanged);
 * CLEO_ENOMEM. */
int sto__view_set(sto__view_t *v, const uint8_t *buf, size_t len);

/* Free the view's RING. Accepts NULL. */
void sto__view_free(sto__view_t *v);

/* Is req a write this node must coordinate: a PUT, PUT_BEGIN or DELETE
 * without a version, in a cluster with N > 1? */
bool sto__repl_wants(const sto__view_t *v, const rt_msg_t *req);

/* Coordinate req (sto__repl_wants() said so) on behalf of the engine
 * self, answering `from` from the coordinator.
 * @param req borrows (its record is copied, its bytes referenced).
 * @param db borrows: the HLC the version is stamped from.
 * @param node_id this node's id in versions (sto_opts_t.node_id).
 * @return 0 (the coordinator will answer); CLEO_ENOCONNECTION (fewer
 * than W, or D, replicas reachable: nothing was sent); CLEO_EBADREQ (no
 * or a wrong record); CLEO_EINVAL (the key cannot be placed); or as
 * rt_spawn(). On an error the caller answers `from`. */
int sto__repl_start(rt_actor_t *self, const sto__view_t *v, sto_db_t *db,
                    uint64_t node_id, rt_msg_t *req, rt_from_t from);

/* ---- shared by the coordinators (repl_one.c, repl_stream.c) ---------- */

#define STO__REPL_MAX 16u        /* replicas of a key, at most */
#define STO__REPL_CALL_MS 30000u /* one replica's step */

/* The replicas a write goes to, and the version it carries. */
typedef struct {
    uint32_t n;    /* reachable replicas: to[0..n) */
    uint32_t need; /* W (puts) or D (deletes), <= the replicas */
    rt_pid_t to[STO__REPL_MAX];
    char node[STO__REPL_MAX][256];
    uint64_t clock, clock_node; /* the version stamped */
    uint64_t lm;                /* its last-modified (wall ms) */
    uint32_t tag;               /* the RING version calls carry */
    uint32_t nmiss;             /* replicas unreachable at placement */
    char miss[STO__REPL_MAX][256];
    char bucket[STO_BUCKET_MAX + 1];
    char key[STO_KEY_MAX + 1];
} sto__repl_set_t;

/* A new Version record of s's version. @return gives (to a record). */
Cleo__Storage__Version *sto__repl_version(const sto__repl_set_t *s);

/* A copy of str for a record's field (cleo_xmalloc: a few bytes, so
 * out of memory is the runtime's abort, not an error to pass on). */
char *sto__repl_dup(const char *str);

/* Is rc about the write itself (the same on every replica: a bad key, no
 * bucket, a full disk) rather than about one replica's reachability? */
bool sto__repl_definite(int rc);

/* Queue repair of s's version for every unreachable replica and for
 * each i < s->n with bad[i]. */
void sto__repl_missed(rt_t *rt, const sto__repl_set_t *s, const bool *bad);

/* Start a coordinator of a whole-object PUT or a DELETE: record is the
 * request's record packed (borrowed), body the PUT's bytes (taken).
 * @param s borrows (copied). @return 0 or as rt_spawn(). */
int sto__repl_one_start(rt_actor_t *self, const sto__repl_set_t *s,
                        uint32_t type, const uint8_t *record, size_t len,
                        rt_buf_t *body, rt_from_t from);

/* Start a coordinator of a streamed PUT (PUT_BEGIN): it opens a replica
 * stream on each of s's engines and, once W are open, answers `from` as
 * a put stream itself (storage/contract.h): each WRITE goes to every
 * open replica, COMMIT answers after W commits.
 * @param s borrows (copied). @return 0 or as rt_spawn(). */
int sto__repl_stream_start(rt_actor_t *self, const sto__repl_set_t *s,
                           const uint8_t *record, size_t len, rt_from_t from);

#endif /* CLEO_STORAGE_REPL_H */
