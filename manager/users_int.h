/*
 * users_int.h - mgr_users' state, shared by users.c (the actor, its
 * requests and the local store) and users_cluster.c (the cluster: the
 * agent's states and the proposals). Private to those two files.
 *
 * Where the table comes from and where a change goes is a backend,
 * chosen once when the actor starts: the local store (users.c), or the
 * cluster (users_cluster.c). The request path is the same for both: it
 * reads u->tab and hands changes to u->be.
 */
#ifndef CLEO_MANAGER_USERS_INT_H
#define CLEO_MANAGER_USERS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "manager/store.h"
#include "proto/cluster.pb-c.h"

/* The pool's done messages and the cluster's timer. */
#define MGR__MSG_LOADED CLEO__MANAGER__MSG_ID__USERS_LOADED
#define MGR__MSG_WRITTEN CLEO__MANAGER__MSG_ID__USERS_WRITTEN
/* to a dead pid: */
#define MGR__MSG_RELEASED CLEO__MANAGER__MSG_ID__USERS_RELEASED
#define MGR__MSG_TICK CLEO__MANAGER__MSG_ID__USERS_TICK
/* The operator's changes that only cleo-adm makes (manager.proto). */
#define MGR__MSG_USER_IMPORT CLEO__MANAGER__MSG_ID__USER_IMPORT
#define MGR__MSG_USER_SET_ROLE CLEO__MANAGER__MSG_ID__USER_SET_ROLE

typedef struct mgr__users_s mgr__users_t;

/* One of this node's admin keys (from the local store) in a cluster. */
typedef struct mgr__own_key_s {
    mgr__key_t key;
    bool done; /* the managers have it (applied, or refused as a
                  duplicate access key) */
} mgr__own_key_t;

typedef struct mgr__users_backend_s {
    /* The local store is loaded into u->tab; u->db is set. */
    void (*loaded)(rt_actor_t *self, mgr__users_t *u);
    /* Make the change and answer `from`, now or later. name is valid and
     * not an admin user's of u->tab. A change that goes on (to the pool,
     * to the managers) sets u->writing and u->wfrom, u->wtype. */
    void (*create)(rt_actor_t *self, mgr__users_t *u, const char *name,
                   rt_from_t from);
    void (*remove)(rt_actor_t *self, mgr__users_t *u, const char *name,
                   rt_from_t from);
    /* k (valid names and formats) added to k->user, which is made if
     * absent. */
    void (*import)(rt_actor_t *self, mgr__users_t *u, const mgr__key_t *k,
                   rt_from_t from);
    /* name's is_admin set; name is valid, and not MGR_ADMIN_USER made a
     * plain user. */
    void (*set_role)(rt_actor_t *self, mgr__users_t *u, const char *name,
                     bool is_admin, rt_from_t from);
    /* A message other than the requests and the pool's. @return as a
     * handler. */
    int (*info)(rt_actor_t *self, mgr__users_t *u, rt_msg_t *m);
    /* Release what the backend holds (the actor is going). */
    void (*terminate)(mgr__users_t *u);
} mgr__users_backend_t;

/* A request waiting for the load or for the change before it. */
typedef struct mgr__queued_s {
    rt_from_t from;
    uint32_t type;
    void *pb; /* its record (ProtobufCMessage *), owned here; may be NULL */
} mgr__queued_t;

struct mgr__users_s {
    const mgr_users_opts_t *opts;
    const mgr__users_backend_t *be;
    mgr__db_t *db;    /* one reference; NULL until the load is done */
    mgr__tab_t tab;   /* what is served: the store's, or the cluster's */
    mgr__queued_t *q; /* waiting requests, q[qhead..qlen) in order */
    size_t qhead, qlen, qcap;
    bool writing;    /* a change is on the pool or with the managers */
    rt_from_t wfrom; /* whom that change answers */
    uint32_t wtype;  /* its request type */
    mgr__key_t wkey; /* USER_CREATE: the new pair, for the reply;
                        USER_IMPORT: the pair; USER_DELETE and
                        USER_SET_ROLE in a cluster: wkey.user is the name */
    bool wadmin;     /* USER_SET_ROLE: the role asked for */
    bool wmade;      /* USER_IMPORT in a cluster: proposed as a UserCreate
                        (refused as a duplicate: tried as a KeyImport) */
    bool wretry;     /* USER_IMPORT: that KeyImport is the one out */

    /* ---- the cluster (users_cluster.c) ---- */
    Cleo__Cluster__ClusterState *state; /* the agent's latest, or NULL */
    rt_pid_t agent;         /* subscribed to; RT_PID_NONE = not (yet) */
    rt_ref_t agent_mon;     /* its monitor */
    bool sub_busy;          /* a MGR_AGENT_SUBSCRIBE call is out */
    bool tick_armed;        /* a MGR__MSG_TICK is on its way */
    bool seen;              /* wait: the managers applied the change */
    uint64_t wait_until_ms; /* rt_now_ms(): answer anyway after this */
    mgr__own_key_t *own;    /* this node's admin keys */
    size_t nown;
    bool boot_busy; /* an admin key's proposal is out: own[boot_at] */
    size_t boot_at;
    bool boot_wait;         /* the last one failed: wait for a newer state */
    uint64_t boot_index;    /* the applied_index it was decided on */
    uint64_t boot_retry_ms; /* rt_now_ms(): or try again after this */
    int boot_rc;            /* its status (logged when it changes) */
};

/* Answer from with status rc and pb (taken; NULL = none). */
void mgr__users_answer(rt_actor_t *self, rt_from_t from, uint32_t type, int rc,
                       void *pb);

/* The AccessKey record of k. @return gives. */
Cleo__Manager__AccessKey *mgr__users_key_pb(const mgr__key_t *k);

/* The change in flight is done: answer it with rc (and the new pair for
 * a created user), clear it, and serve the requests that waited. */
void mgr__users_done(rt_actor_t *self, mgr__users_t *u, int rc, void *pb);

/* The backends. */
extern const mgr__users_backend_t mgr__users_local;
extern const mgr__users_backend_t mgr__users_cluster;

#endif /* CLEO_MANAGER_USERS_INT_H */
