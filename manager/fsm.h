/*
 * fsm.h - the managers' replicated state machine (private to manager/):
 * the whole cluster state of proto/cluster.proto (members, the RING
 * current and previous, N/R/W/D, users, access keys, buckets) in memory,
 * changed only by applying Commands in Raft log order.
 *
 * Every manager applies the same commands in the same order and must end
 * in the same state, byte for byte, so apply is a pure function of the
 * state, the command and its index: no clock (times come from
 * Command.proposed_ms), no randomness, no I/O, and the state is kept in a
 * canonical form (every list sorted by its key, unique) so that packing
 * it gives the same bytes everywhere.
 *
 * A command the state forbids (resume of a running node, a stale expect,
 * a duplicate user ...) is still applied, as a no-op: it answers a
 * negative CLEO_E* status and a one-line detail, changes nothing but
 * ClusterState.applied_index, and the same refusal happens on every
 * manager. A command is never half applied: each one is checked whole
 * before the first change.
 *
 * The state is a Cleo__Cluster__ClusterState whose every part is
 * malloc'd as protobuf-c's unpack would (strings left empty point at
 * protobuf_c_empty_string), so protobuf_c_message_free_unpacked() frees
 * it and a restored snapshot is adopted as it is. Not thread-safe: one
 * owner (the Raft actor) at a time.
 *
 * Conventions as runtime/rt.h: int functions return 0 or a negative
 * CLEO_E* code; pointers carry an ownership word.
 */
#ifndef CLEO_MANAGER_FSM_H
#define CLEO_MANAGER_FSM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cluster.pb-c.h"

#define MGR_FSM_DETAIL_MAX 200  /* bytes of a result's detail, NUL included */
#define MGR_FSM_NODE_MAX 255    /* bytes of a node name "name@host" */
#define MGR_FSM_ADDR_MAX 255    /* bytes of a member's address */
#define MGR_FSM_RACK_MAX 64     /* bytes of a rack name */
#define MGR_FSM_VNODES_MAX 4096 /* vnodes of a member (RING_VNODES_MAX) */
#define MGR_FSM_ACL_DEFAULT "private"

/* The result of one apply: what CommandResult carries back. */
typedef struct mgr__fsm_result_s {
    int status;                      /* 0 or a negative CLEO_E* code */
    char detail[MGR_FSM_DETAIL_MAX]; /* one line; "" on success */
} mgr__fsm_result_t;

typedef struct mgr__fsm_s {
    /* private */
    Cleo__Cluster__ClusterState *st; /* owned; never NULL after init */
} mgr__fsm_t;

/** Initialise f with the empty state (no members, RING version 0, conf
 *  all zero, applied_index 0). Aborts on out-of-memory. */
void mgr__fsm_init(mgr__fsm_t *f);

/** Release what init, apply and restore took. Accepts NULL. */
void mgr__fsm_destroy(mgr__fsm_t *f);

/** Apply one command at Raft index `index`.
 *
 *  The rules (each refusal changes nothing but applied_index):
 *  - member_attach: a new node is added as ATTACHED (joined_ms =
 *    proposed_ms); a known node keeps its state and joined_ms, and its
 *    address, roles, rack and vnodes are updated. CLEO_EINVAL: no member,
 *    a bad node name, unknown role bits or no role, a storage member
 *    without 1..MGR_FSM_VNODES_MAX vnodes, an address or rack too long or
 *    with spaces or control characters.
 *  - member_set_state: CLEO_ENOTFOUND unknown node; CLEO_ESTATE the
 *    member is not in `expect` (stale), or the change is not one of
 *    mgr__fsm_transition_is_allowed(); CLEO_EINVAL a state outside the
 *    enum.
 *  - ring_rebuild: CLEO_ESTATE expect_version is not ring_cur.version,
 *    or there is no storage member to put in the RING. Otherwise
 *    ring_prev = ring_cur; ring_cur = the entries (node, vnodes, rack) of
 *    the storage members that are attached, running, stopped or
 *    suspended, sorted by node, version + 1, with the checksum of
 *    ring/ring.h (cleo_ring); attached members (of any role) become
 *    running. CLEO_ELIMIT: over RING_NODES_MAX storage members. Out of
 *    memory while building the RING crashes the caller (cl_panic):
 *    refusing on one manager only would split the states.
 *  - set_conf: CLEO_EINVAL unless N >= 1 and 1 <= W, R, D <= N, or a
 *    cluster_id other than the one set (an empty one keeps it);
 *    CLEO_ESTATE a change of N once a RING exists (it would move every
 *    key's replicas).
 *  - user_create: CLEO_EINVAL bad user name (mgr_user_name_is_valid),
 *    bad access key or secret, a key for another user; CLEO_EEXIST the
 *    user or the access key exists. created_ms = proposed_ms.
 *  - user_delete: CLEO_ENOTFOUND; CLEO_ESTATE an admin user. Its keys go
 *    with it (its buckets stay, owned by the name).
 *  - key_import: CLEO_EINVAL bad key or secret; CLEO_ENOTFOUND no such
 *    user; CLEO_EEXIST the access key exists.
 *  - user_set_role: the user's is_admin. CLEO_ENOTFOUND no such user;
 *    CLEO_ESTATE MGR_ADMIN_USER made a plain user (each node's admin key
 *    is its). Setting the role a user has is a success that changes
 *    nothing.
 *  - bucket_put: CLEO_EINVAL bad bucket name or ACL (canned ACLs only;
 *    a create's "" = MGR_FSM_ACL_DEFAULT); CLEO_ENOTFOUND the owner is
 *    not a user, or must_not_exist is false and the bucket does not
 *    exist; CLEO_EEXIST must_not_exist and it exists. A create sets
 *    created_ms = proposed_ms; an update changes owner and ACL only, and
 *    an empty owner or ACL keeps the bucket's (chown and acl each send
 *    one, so that two made at once both apply).
 *  - bucket_delete: CLEO_ENOTFOUND.
 *  - no operation set: CLEO_EBADREQ.
 *  An index not above applied_index is refused with CLEO_ESTATE and
 *  changes nothing at all (the entry was applied already).
 *
 *  @param cmd borrows. @param[out] res the status and detail; may be NULL.
 *  @return res->status: 0 or the refusal's code. */
int mgr__fsm_apply(mgr__fsm_t *f, const Cleo__Cluster__Command *cmd,
                   uint64_t index, mgr__fsm_result_t *res);

/** Apply a packed Command. Bytes that do not unpack are applied as a
 *  refusal (CLEO_EPROTO, applied_index advances) so that every manager
 *  skips the same entry. @param buf borrows. @return as mgr__fsm_apply. */
int mgr__fsm_apply_bytes(mgr__fsm_t *f, const void *buf, size_t len,
                         uint64_t index, mgr__fsm_result_t *res);

/** The exact size of mgr__fsm_pack()'s output. */
size_t mgr__fsm_packed_size(const mgr__fsm_t *f);

/** Pack the whole state as a ClusterState (the snapshot's body). The same
 *  state packs to the same bytes.
 *  @param out borrows: at least mgr__fsm_packed_size() bytes.
 *  @return the bytes written. */
size_t mgr__fsm_pack(const mgr__fsm_t *f, uint8_t *out);

/** Replace the state with a packed ClusterState. On error the state is
 *  left as it was.
 *  @param buf borrows. @param[out] res the detail of a refusal; may be
 *  NULL.
 *  @return 0; CLEO_EPROTO the bytes do not unpack, or break an invariant
 *  of the state (a list not sorted or with duplicates, a bad name, a
 *  state outside the enum, a key of no user, a RING whose checksum does
 *  not match its entries). */
int mgr__fsm_restore(mgr__fsm_t *f, const void *buf, size_t len,
                     mgr__fsm_result_t *res);

/** The state. @return valid until the next apply, restore or destroy. */
const Cleo__Cluster__ClusterState *mgr__fsm_state(const mgr__fsm_t *f);

/** Lookups. @param key borrows. @return valid until the next apply,
 *  restore or destroy; NULL when absent. */
const Cleo__Cluster__Member *mgr__fsm_member(const mgr__fsm_t *f,
                                             const char *node);
const Cleo__Manager__User *mgr__fsm_user(const mgr__fsm_t *f, const char *name);
const Cleo__Manager__AccessKey *mgr__fsm_key(const mgr__fsm_t *f,
                                             const char *access_key);
const Cleo__Cluster__Bucket *mgr__fsm_bucket(const mgr__fsm_t *f,
                                             const char *name);

/** May a member go from state `from` to `to`? The LeoFS rules: suspend
 *  running -> suspended; resume suspended -> running; the failure
 *  detector running -> stopped and stopped -> running; detach from
 *  attached, running, stopped or suspended; rollback detached -> running
 *  while the node is still on the current RING (in_ring). Nothing goes
 *  to attached (only member_attach makes one) and nothing stays put. */
bool mgr__fsm_transition_is_allowed(int from, int to, bool in_ring);

/** Is ring a RING as rebuild makes them: version 0 with no entries and
 *  checksum 0 (no RING yet), or entries sorted by node with valid names,
 *  racks and vnodes whose checksum is the one ring/ring.h computes?
 *  @param ring borrows.
 *  @return 0; CLEO_EPROTO it is not; CLEO_ENOMEM (cleo_ring could not
 *  build it). */
int mgr__fsm_ring_check(const Cleo__Cluster__Ring *ring);

/* ---------------------------------------------------------------------
 * Internal to fsm*.c: the operations, each checking the whole command
 * before its first change.
 * ------------------------------------------------------------------- */

/* Set res to a refusal (detail from fmt, control characters replaced)
 * and return rc. */
int mgr__fsm_refuse(mgr__fsm_result_t *res, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A malloc'd copy of s, or protobuf_c_empty_string for NULL or "". */
char *mgr__fsm_strdup(const char *s);

/* The index of the first element not below key in a sorted array;
 * *found says whether it equals key. */
size_t mgr__fsm_find_member(const Cleo__Cluster__ClusterState *st,
                            const char *node, bool *found);
size_t mgr__fsm_find_user(const Cleo__Cluster__ClusterState *st,
                          const char *name, bool *found);
size_t mgr__fsm_find_key(const Cleo__Cluster__ClusterState *st,
                         const char *access_key, bool *found);
size_t mgr__fsm_find_bucket(const Cleo__Cluster__ClusterState *st,
                            const char *name, bool *found);

/* Is s 1..max bytes of printable ASCII without spaces (0 bytes allowed
 * when empty_ok)? */
bool mgr__fsm_token_is_valid(const char *s, size_t max, bool empty_ok);

/* Is s a node name: a valid token of at most MGR_FSM_NODE_MAX bytes with
 * one '@' that is neither first nor last? */
bool mgr__fsm_node_is_valid(const char *s);

/* Is s an S3 bucket name (3..63 of [a-z0-9.-], alphanumeric at both
 * ends, no "..")? */
bool mgr__fsm_bucket_name_is_valid(const char *s);

/* Put item at index `at` of the array of n pointers arr (n grows by
 * one), or take the pointer at `at` out of it (the caller frees the
 * element). Aborts on out-of-memory. */
#define MGR__FSM_INSERT(arr, n, at, item)                                      \
    do {                                                                       \
        (arr) = cleo_xrealloc((arr), ((n) + 1) * sizeof *(arr));               \
        memmove(&(arr)[(at) + 1], &(arr)[(at)], ((n) - (at)) * sizeof *(arr)); \
        (arr)[(at)] = (item);                                                  \
        (n)++;                                                                 \
    } while (0)
#define MGR__FSM_REMOVE(arr, n, at)                                            \
    do {                                                                       \
        memmove(&(arr)[(at)], &(arr)[(at) + 1],                                \
                ((n) - (at)-1) * sizeof *(arr));                               \
        (n)--;                                                                 \
    } while (0)

/* fsm_members.c */
int mgr__fsm_member_attach(Cleo__Cluster__ClusterState *st,
                           const Cleo__Cluster__MemberAttach *op,
                           uint64_t now_ms, mgr__fsm_result_t *res);
int mgr__fsm_member_set_state(Cleo__Cluster__ClusterState *st,
                              const Cleo__Cluster__MemberSetState *op,
                              mgr__fsm_result_t *res);
int mgr__fsm_ring_rebuild(Cleo__Cluster__ClusterState *st,
                          const Cleo__Cluster__RingRebuild *op,
                          mgr__fsm_result_t *res);
int mgr__fsm_set_conf(Cleo__Cluster__ClusterState *st,
                      const Cleo__Cluster__SystemConf *op,
                      mgr__fsm_result_t *res);

/* fsm_accounts.c */
int mgr__fsm_user_create(Cleo__Cluster__ClusterState *st,
                         const Cleo__Cluster__UserCreate *op, uint64_t now_ms,
                         mgr__fsm_result_t *res);
int mgr__fsm_user_delete(Cleo__Cluster__ClusterState *st,
                         const Cleo__Cluster__UserDelete *op,
                         mgr__fsm_result_t *res);
int mgr__fsm_key_import(Cleo__Cluster__ClusterState *st,
                        const Cleo__Cluster__KeyImport *op, uint64_t now_ms,
                        mgr__fsm_result_t *res);
int mgr__fsm_user_set_role(Cleo__Cluster__ClusterState *st,
                           const Cleo__Cluster__UserSetRole *op,
                           mgr__fsm_result_t *res);
int mgr__fsm_bucket_put(Cleo__Cluster__ClusterState *st,
                        const Cleo__Cluster__BucketPut *op, uint64_t now_ms,
                        mgr__fsm_result_t *res);
int mgr__fsm_bucket_delete(Cleo__Cluster__ClusterState *st,
                           const Cleo__Cluster__BucketDelete *op,
                           mgr__fsm_result_t *res);

/* Is the bucket ACL one of the canned ones? */
bool mgr__fsm_acl_is_valid(const char *acl);

#endif /* CLEO_MANAGER_FSM_H */
