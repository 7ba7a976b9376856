/*
 * store.h - mgr_users' database and its jobs on the blocking pool
 * (private to manager/).
 *
 * RocksDB (default column family) holds "u/<name>" -> User and
 * "k/<access key>" -> AccessKey, both proto/manager.proto records. Every
 * RocksDB call is made by one of the jobs below, which run on the
 * runtime's blocking pool (rt_work_submit), never on a scheduler thread.
 *
 * The handle is reference-counted because a job may still be running
 * when mgr_users dies (a kill does not wait for it): the actor holds one
 * reference, each job in flight another, and the last to let go closes
 * the database. Jobs drop theirs at the end of their run, on the pool,
 * so the close happens there too; the count is guarded by a mutex, as
 * jobs finish on pool threads.
 */
#ifndef CLEO_MANAGER_STORE_H
#define CLEO_MANAGER_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "manager/tab.h"

typedef struct mgr__db_s mgr__db_t;

/* One change, applied to the database by a write job and then to the
 * table by mgr_users. */
typedef enum {
    MGR__OP_PUT_USER = 1,
    MGR__OP_DEL_USER,
    MGR__OP_PUT_KEY,
    MGR__OP_DEL_KEY
} mgr__op_kind_t;

typedef struct mgr__op_s {
    mgr__op_kind_t kind;
    mgr__user_t user; /* PUT_USER; DEL_USER uses user.name */
    mgr__key_t key;   /* PUT_KEY; DEL_KEY uses key.access */
} mgr__op_t;

typedef struct mgr__job_s {
    rt_t *rt;
    mgr__db_t *db; /* one reference while held; NULL once dropped */
    const mgr_users_opts_t *opts; /* load: borrows (outlives the actor) */
    mgr__op_t *ops;               /* write: the changes, applied in order */
    size_t nops, capops;
    mgr__tab_t tab; /* load: everything stored, once the run succeeded */
    bool fresh;     /* load: the admin user was created by this run */
} mgr__job_t;

/* A job holding a new reference on db (NULL for a load). Aborts on
 * out-of-memory. @return gives: pass to rt_work_submit with
 * mgr__job_free. */
mgr__job_t *mgr__job_new(rt_t *rt, mgr__db_t *db);

/* Drop a reference on db; the last one closes the database. Accepts
 * NULL. */
void mgr__db_drop(mgr__db_t *db);

/* Append a change. Aborts on out-of-memory. */
void mgr__job_op(mgr__job_t *j, const mgr__op_t *op);

/* Free a job, its table and its reference if still held (the last one
 * closes the database, here). An rt_free_fn. */
void mgr__job_free(void *job);

/* rt_work_fn's. load: open opts->dir (waiting up to 2 s for a
 * predecessor's jobs to let go of RocksDB's lock), read everything into
 * job->tab, make the admin user on a fresh database or apply the
 * options' key pair, and write the credentials file; on 0, job->db is the
 * new handle with the one reference the actor takes over. write: apply
 * job->ops in one synced batch, then drop the reference. release: just
 * drop the reference (closing the database if it was the last).
 * @return 0, CLEO_ESTORAGE, CLEO_ESTATE (no entropy), -errno (the
 * credentials file). */
int mgr__load_run(void *job);
int mgr__write_run(void *job);
int mgr__release_run(void *job);

/* Apply ops to t, as a write job did to the database. */
void mgr__tab_apply(mgr__tab_t *t, const mgr__op_t *ops, size_t n);

#endif /* CLEO_MANAGER_STORE_H */
