/*
 * users.c - mgr_users: the gen_server that owns the users and their
 * access keys (mgr.h), and its local-store backend (users_int.h).
 *
 * The whole set lives in the actor's memory (tab.c), and reads
 * (KEY_LOOKUP, USER_LIST, USER_GET) are answered from it at once. On a
 * single node it is loaded from RocksDB by a job on the blocking pool
 * when the actor starts; a change is first written by a job on the pool
 * (store.c) and applied to memory when the job reports success, so
 * memory never shows what the disk does not have. In a cluster the table
 * is the managers' (users_cluster.c) and a change is a proposal. Either
 * way changes go one at a time, in arrival order: while one is out,
 * later changes wait in the queue, which also holds every request that
 * arrives before the load is done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"
#include "manager/keys.h"
#include "manager/mgr.h"
#include "manager/store.h"
#include "manager/users_int.h"

typedef mgr__users_t users_t;

static void *xcalloc(size_t n, size_t size)
{
    /* bounded records and control structs (rule 26) */
    return cleo_xcalloc(n ? n : 1, size);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xcalloc(1, n), s, n);
}

/* ---- replies ---------------------------------------------------------- */

void mgr__users_answer(rt_actor_t *self, rt_from_t from, uint32_t type, int rc,
                       void *pb)
{
    rt_msg_t *r = rt_msg_new(type);
    r->reason = rc;
    if (pb != NULL)
        rt_msg_set_pb(r, pb);
    (void)gen_server_reply(rt_actor_rt(self), from, r);
}

static Cleo__Manager__User *user_pb(const mgr__user_t *u)
{
    Cleo__Manager__User *p = xcalloc(1, sizeof *p);
    cleo__manager__user__init(p);
    p->name = xstrdup(u->name);
    p->created_ms = u->created_ms;
    p->is_admin = u->is_admin;
    return p;
}

/* A user with the access keys it owns (a scan: keys are few). */
static Cleo__Manager__UserInfo *info_pb(const mgr__tab_t *t,
                                        const mgr__user_t *u)
{
    Cleo__Manager__UserInfo *p = xcalloc(1, sizeof *p);
    cleo__manager__user_info__init(p);
    p->user = user_pb(u);
    p->access_keys = xcalloc(t->nkeys, sizeof *p->access_keys);
    for (size_t i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i].user, u->name) == 0)
            p->access_keys[p->n_access_keys++] = xstrdup(t->keys[i].access);
    return p;
}

Cleo__Manager__AccessKey *mgr__users_key_pb(const mgr__key_t *k)
{
    Cleo__Manager__AccessKey *p = xcalloc(1, sizeof *p);
    cleo__manager__access_key__init(p);
    p->access_key = xstrdup(k->access);
    p->secret_key = xstrdup(k->secret);
    p->user = xstrdup(k->user);
    p->created_ms = k->created_ms;
    return p;
}

/* ---- request types ---------------------------------------------------- */

static bool is_change(uint32_t type)
{
    return type == MGR_MSG_USER_CREATE || type == MGR_MSG_USER_DELETE ||
           type == MGR__MSG_USER_IMPORT || type == MGR__MSG_USER_SET_ROLE;
}

/* The record a request type needs; NULL for none. */
static const ProtobufCMessageDescriptor *req_desc(uint32_t type)
{
    switch (type) {
    case MGR_MSG_USER_CREATE:
    case MGR_MSG_USER_DELETE:
    case MGR_MSG_USER_GET:
        return &cleo__manager__user_req__descriptor;
    case MGR_MSG_KEY_LOOKUP:
        return &cleo__manager__key_req__descriptor;
    case MGR__MSG_USER_IMPORT:
        return &cleo__manager__access_key__descriptor;
    case MGR__MSG_USER_SET_ROLE:
        return &cleo__manager__user__descriptor;
    default:
        return NULL;
    }
}

/* ---- the local store's backend ---------------------------------------- */

/* Hand a change to the pool; the reply waits for on_written(). */
static void submit(rt_actor_t *self, users_t *u, mgr__job_t *j, rt_from_t from,
                   uint32_t type)
{
    int rc = rt_work_submit(self, mgr__write_run, j, mgr__job_free,
                            MGR__MSG_WRITTEN);
    if (rc < 0) { /* the job was freed */
        mgr__users_answer(self, from, type, rc, NULL);
        return;
    }
    u->writing = true;
    u->wfrom = from;
    u->wtype = type;
}

static void local_create(rt_actor_t *self, users_t *u, const char *name,
                         rt_from_t from)
{
    uint32_t type = MGR_MSG_USER_CREATE;
    if (mgr__tab_user(&u->tab, name) != NULL)
        return mgr__users_answer(self, from, type, CLEO_EEXIST, NULL);
    mgr__op_t ou = {.kind = MGR__OP_PUT_USER}, ok = {.kind = MGR__OP_PUT_KEY};
    int rc = mgr__key_generate(&ok.key, name, &u->tab);
    if (rc < 0)
        return mgr__users_answer(self, from, type, rc, NULL);
    snprintf(ou.user.name, sizeof ou.user.name, "%s", name);
    ou.user.created_ms = ok.key.created_ms;
    mgr__job_t *j = mgr__job_new(rt_actor_rt(self), u->db);
    mgr__job_op(j, &ou);
    mgr__job_op(j, &ok);
    u->wkey = ok.key;
    submit(self, u, j, from, type);
}

/* The table is the store's, so its word on is_admin is final here (in a
 * cluster the managers decide: a copy may lag a role change). */
static void local_remove(rt_actor_t *self, users_t *u, const char *name,
                         rt_from_t from)
{
    uint32_t type = MGR_MSG_USER_DELETE;
    mgr__user_t *user = mgr__tab_user(&u->tab, name);
    if (user == NULL)
        return mgr__users_answer(self, from, type, CLEO_ENOTFOUND, NULL);
    if (user->is_admin)
        return mgr__users_answer(self, from, type, CLEO_ESTATE, NULL);
    mgr__job_t *j = mgr__job_new(rt_actor_rt(self), u->db);
    mgr__op_t op = {.kind = MGR__OP_DEL_USER, .user = *user};
    mgr__job_op(j, &op);
    for (size_t i = 0; i < u->tab.nkeys; i++) {
        if (strcmp(u->tab.keys[i].user, name) != 0)
            continue;
        op = (mgr__op_t){.kind = MGR__OP_DEL_KEY, .key = u->tab.keys[i]};
        mgr__job_op(j, &op);
    }
    submit(self, u, j, from, type);
}

static void local_import(rt_actor_t *self, users_t *u, const mgr__key_t *k,
                         rt_from_t from)
{
    uint32_t type = MGR__MSG_USER_IMPORT;
    if (mgr__tab_key(&u->tab, k->access) != NULL)
        return mgr__users_answer(self, from, type, CLEO_EEXIST, NULL);
    mgr__job_t *j = mgr__job_new(rt_actor_rt(self), u->db);
    if (mgr__tab_user(&u->tab, k->user) == NULL) {
        mgr__op_t ou = {.kind = MGR__OP_PUT_USER};
        snprintf(ou.user.name, sizeof ou.user.name, "%s", k->user);
        ou.user.created_ms = k->created_ms;
        mgr__job_op(j, &ou);
    }
    mgr__op_t ok = {.kind = MGR__OP_PUT_KEY, .key = *k};
    mgr__job_op(j, &ok);
    submit(self, u, j, from, type);
}

static void local_set_role(rt_actor_t *self, users_t *u, const char *name,
                           bool is_admin, rt_from_t from)
{
    uint32_t type = MGR__MSG_USER_SET_ROLE;
    mgr__user_t *user = mgr__tab_user(&u->tab, name);
    if (user == NULL)
        return mgr__users_answer(self, from, type, CLEO_ENOTFOUND, NULL);
    if (user->is_admin == is_admin) /* nothing to write */
        return mgr__users_answer(self, from, type, 0, NULL);
    mgr__op_t op = {.kind = MGR__OP_PUT_USER, .user = *user};
    op.user.is_admin = is_admin;
    mgr__job_t *j = mgr__job_new(rt_actor_rt(self), u->db);
    mgr__job_op(j, &op);
    submit(self, u, j, from, type);
}

static void local_loaded(rt_actor_t *self, users_t *u)
{
    (void)self, (void)u; /* the table is the store's, as loaded */
}

static int local_info(rt_actor_t *self, users_t *u, rt_msg_t *m)
{
    (void)self, (void)u, (void)m;
    return 0; /* stray EXITs and the like */
}

static void local_terminate(users_t *u)
{
    (void)u;
}

const mgr__users_backend_t mgr__users_local = {
    .loaded = local_loaded,
    .create = local_create,
    .remove = local_remove,
    .import = local_import,
    .set_role = local_set_role,
    .info = local_info,
    .terminate = local_terminate,
};

/* ---- requests --------------------------------------------------------- */

/* MGR_ADMIN_USER exists on every node from its first start (in a
 * cluster too, where each node proposes its own admin key), so it is
 * never created by a request, even before the cluster has it. */
static void on_create(rt_actor_t *self, users_t *u, const char *name,
                      rt_from_t from)
{
    uint32_t type = MGR_MSG_USER_CREATE;
    if (!mgr_user_name_is_valid(name))
        return mgr__users_answer(self, from, type, CLEO_EINVAL, NULL);
    if (strcmp(name, MGR_ADMIN_USER) == 0)
        return mgr__users_answer(self, from, type, CLEO_EEXIST, NULL);
    u->be->create(self, u, name, from);
}

/* MGR_ADMIN_USER is an admin for good (user role never makes it a plain
 * user), so it is refused here; another admin user by the backend: the
 * local store's table, or the managers (a copy may not show a role
 * change yet). */
static void on_delete(rt_actor_t *self, users_t *u, const char *name,
                      rt_from_t from)
{
    uint32_t type = MGR_MSG_USER_DELETE;
    if (!mgr_user_name_is_valid(name))
        return mgr__users_answer(self, from, type, CLEO_EINVAL, NULL);
    if (strcmp(name, MGR_ADMIN_USER) == 0)
        return mgr__users_answer(self, from, type, CLEO_ESTATE, NULL);
    u->be->remove(self, u, name, from);
}

/* The operator's pair: the formats of the ones the node makes itself
 * are checked as the environment's (mgr_env_keys). */
static void on_import(rt_actor_t *self, users_t *u,
                      const Cleo__Manager__AccessKey *p, rt_from_t from)
{
    if (!mgr_user_name_is_valid(p->user) ||
        !mgr_access_key_is_valid(p->access_key) ||
        !mgr_secret_key_is_valid(p->secret_key))
        return mgr__users_answer(self, from, MGR__MSG_USER_IMPORT, CLEO_EINVAL,
                                 NULL);
    mgr__key_t k = {.created_ms = mgr__now_ms()};
    snprintf(k.access, sizeof k.access, "%s", p->access_key);
    snprintf(k.secret, sizeof k.secret, "%s", p->secret_key);
    snprintf(k.user, sizeof k.user, "%s", p->user);
    u->be->import(self, u, &k, from);
}

/* MGR_ADMIN_USER stays an admin: each node's admin key is its, and the
 * cluster is never left without one. */
static void on_set_role(rt_actor_t *self, users_t *u,
                        const Cleo__Manager__User *p, rt_from_t from)
{
    uint32_t type = MGR__MSG_USER_SET_ROLE;
    if (!mgr_user_name_is_valid(p->name))
        return mgr__users_answer(self, from, type, CLEO_EINVAL, NULL);
    if (strcmp(p->name, MGR_ADMIN_USER) == 0 && !p->is_admin)
        return mgr__users_answer(self, from, type, CLEO_ESTATE, NULL);
    u->be->set_role(self, u, p->name, p->is_admin, from);
}

static void on_list(rt_actor_t *self, users_t *u, rt_from_t from)
{
    Cleo__Manager__UserList *p = xcalloc(1, sizeof *p);
    cleo__manager__user_list__init(p);
    p->users = xcalloc(u->tab.nusers, sizeof *p->users);
    for (size_t i = 0; i < u->tab.nusers; i++)
        p->users[p->n_users++] = info_pb(&u->tab, &u->tab.users[i]);
    mgr__users_answer(self, from, MGR_MSG_USER_LIST, 0, p);
}

static void on_get(rt_actor_t *self, users_t *u, const char *name,
                   rt_from_t from)
{
    mgr__user_t *user = mgr__tab_user(&u->tab, name);
    if (user == NULL)
        return mgr__users_answer(self, from, MGR_MSG_USER_GET, CLEO_ENOTFOUND,
                                 NULL);
    mgr__users_answer(self, from, MGR_MSG_USER_GET, 0, info_pb(&u->tab, user));
}

/* The gateway's question on every signed request: memory only. */
static void on_lookup(rt_actor_t *self, users_t *u, const char *ak,
                      rt_from_t from)
{
    uint32_t type = MGR_MSG_KEY_LOOKUP;
    mgr__key_t *k = mgr__tab_key(&u->tab, ak);
    if (k == NULL)
        return mgr__users_answer(self, from, type, CLEO_ENOTFOUND, NULL);
    mgr__user_t *user = mgr__tab_user(&u->tab, k->user);
    Cleo__Manager__KeyInfo *p = xcalloc(1, sizeof *p);
    cleo__manager__key_info__init(p);
    p->access_key = xstrdup(k->access);
    p->secret_key = xstrdup(k->secret);
    p->user = xstrdup(k->user);
    p->is_admin = user != NULL && user->is_admin;
    mgr__users_answer(self, from, type, 0, p);
}

/* Serve one request now (a change may go on to the pool).
 * @param pb borrows. */
static void serve(rt_actor_t *self, users_t *u, uint32_t type, void *pb,
                  rt_from_t from)
{
    const Cleo__Manager__UserReq *ur = pb;
    const Cleo__Manager__KeyReq *kr = pb;
    switch (type) { /* size: dispatch */
    case MGR_MSG_USER_CREATE:
        return on_create(self, u, ur->name, from);
    case MGR_MSG_USER_DELETE:
        return on_delete(self, u, ur->name, from);
    case MGR_MSG_USER_LIST:
        return on_list(self, u, from);
    case MGR_MSG_USER_GET:
        return on_get(self, u, ur->name, from);
    case MGR_MSG_KEY_LOOKUP:
        return on_lookup(self, u, kr->access_key, from);
    case MGR__MSG_USER_IMPORT:
        return on_import(self, u, pb, from);
    case MGR__MSG_USER_SET_ROLE:
        return on_set_role(self, u, pb, from);
    }
}

/* ---- the queue -------------------------------------------------------- */

static void enqueue(users_t *u, rt_from_t from, uint32_t type, void *pb)
{
    if (u->qhead == u->qlen)
        u->qhead = u->qlen = 0;
    if (u->qlen == u->qcap) {
        u->qcap = u->qcap ? 2 * u->qcap : 16;
        /* control structure: one entry per waiting call */
        u->q = cleo_xrealloc(u->q, u->qcap * sizeof *u->q);
    }
    u->q[u->qlen++] = (mgr__queued_t){from, type, pb};
}

/* Serve the waiting requests in order until a change goes to the pool. */
static void pump(rt_actor_t *self, users_t *u)
{
    while (!u->writing && u->qhead < u->qlen) {
        mgr__queued_t e = u->q[u->qhead++];
        serve(self, u, e.type, e.pb, e.from);
        if (e.pb != NULL)
            protobuf_c_message_free_unpacked(e.pb, NULL);
    }
}

/* ---- callbacks -------------------------------------------------------- */

static int users_call(rt_actor_t *self, void *state, rt_msg_t *req,
                      rt_from_t from, rt_msg_t **reply)
{
    users_t *u = state;
    const ProtobufCMessageDescriptor *d = req_desc(req->type);
    const ProtobufCMessage *pb = req->payload;
    bool known = d != NULL || req->type == MGR_MSG_USER_LIST;
    if (!known || (d != NULL && (pb == NULL || req->payload_free == NULL ||
                                 pb->descriptor != d))) {
        *reply = rt_msg_new(req->type);
        (*reply)->reason = CLEO_EBADREQ;
        return 0;
    }
    if (u->db == NULL ||
        (is_change(req->type) && (u->writing || u->qhead < u->qlen))) {
        enqueue(u, from, req->type, d != NULL ? req->payload : NULL);
        if (d != NULL)
            req->payload = NULL; /* ours now: freed when served */
        return GEN_NOREPLY;
    }
    serve(self, u, req->type, req->payload, from);
    return GEN_NOREPLY;
}

static int on_loaded(rt_actor_t *self, users_t *u, rt_msg_t *m)
{
    mgr__job_t *j = m->payload;
    if (m->reason < 0) {
        logger_log(rt_actor_rt(self), LOG_ERROR, "manager: cannot open %s: %s",
                   u->opts->dir, cleo_strerror(m->reason));
        return m->reason; /* exit: the supervisor retries */
    }
    u->db = j->db;
    j->db = NULL;
    u->tab = j->tab;
    memset(&j->tab, 0, sizeof j->tab);
    u->be->loaded(self, u);
    pump(self, u);
    return 0;
}

void mgr__users_done(rt_actor_t *self, users_t *u, int rc, void *pb)
{
    u->writing = false;
    mgr__users_answer(self, u->wfrom, u->wtype, rc, pb);
    memset(&u->wkey, 0, sizeof u->wkey); /* no secret lingers */
    pump(self, u);
}

static int on_written(rt_actor_t *self, users_t *u, rt_msg_t *m)
{
    mgr__job_t *j = m->payload;
    int rc = m->reason;
    if (rc == 0)
        mgr__tab_apply(&u->tab, j->ops, j->nops);
    bool pair = rc == 0 && u->wtype == MGR_MSG_USER_CREATE;
    mgr__users_done(self, u, rc, pair ? mgr__users_key_pb(&u->wkey) : NULL);
    return 0;
}

static int users_info(rt_actor_t *self, void *state, rt_msg_t *m)
{
    switch (m->type) {
    case MGR__MSG_LOADED:
        return on_loaded(self, state, m);
    case MGR__MSG_WRITTEN:
        return on_written(self, state, m);
    default:
        return ((users_t *)state)->be->info(self, state, m);
    }
}

static int users_init(rt_actor_t *self, void *arg, void **state)
{
    users_t *u = xcalloc(1, sizeof *u);
    u->opts = arg;
    u->be = u->opts->cluster ? &mgr__users_cluster : &mgr__users_local;
    mgr__job_t *j = mgr__job_new(rt_actor_rt(self), NULL);
    j->opts = u->opts;
    int rc =
        rt_work_submit(self, mgr__load_run, j, mgr__job_free, MGR__MSG_LOADED);
    if (rc < 0) {
        free(u);
        return rc;
    }
    *state = u;
    return 0;
}

static void users_terminate(rt_actor_t *self, void *state, int reason)
{
    users_t *u = state;
    if (u == NULL)
        return;
    /* Callers waiting on us see the server go down, as with OTP. */
    if (u->writing)
        mgr__users_answer(self, u->wfrom, u->wtype, CLEO_ENOPROC, NULL);
    for (size_t i = u->qhead; i < u->qlen; i++) {
        mgr__users_answer(self, u->q[i].from, u->q[i].type, CLEO_ENOPROC, NULL);
        if (u->q[i].pb != NULL)
            protobuf_c_message_free_unpacked(u->q[i].pb, NULL);
    }
    free(u->q);
    if (u->db != NULL) {
        /* Close on the pool; if the pool refuses (the runtime is
         * shutting down), the job is freed at once and closes here. */
        mgr__job_t *j = mgr__job_new(rt_actor_rt(self), u->db);
        mgr__db_drop(u->db); /* not the last: the job holds one */
        (void)rt_work_submit(self, mgr__release_run, j, mgr__job_free,
                             MGR__MSG_RELEASED);
    }
    u->be->terminate(u);
    mgr__tab_destroy(&u->tab);
    free(u);
}

static const gen_server_cbs_t users_cbs = {
    .name = "mgr_users",
    .init = users_init,
    .handle_call = users_call,
    .handle_info = users_info,
    .terminate = users_terminate,
};

int mgr_users_start(rt_actor_t *sup, const sup_child_spec_t *spec, void *extra,
                    rt_pid_t *out)
{
    const mgr_users_opts_t *o = spec->arg;
    if (o == NULL || o->dir == NULL || o->dir[0] == '\0' ||
        (o->admin_access_key == NULL) != (o->admin_secret_key == NULL))
        return CLEO_EINVAL;
    if (o->admin_access_key != NULL &&
        (!mgr_access_key_is_valid(o->admin_access_key) ||
         !mgr_secret_key_is_valid(o->admin_secret_key)))
        return CLEO_EINVAL;
    gen_opts_t go = {.name = MGR_USERS_NAME,
                     .link = true,
                     .sched = RT_SCHED_ANY,
                     .trap_exit = true};
    return gen_server_start(rt_actor_rt(sup), sup, &users_cbs, (void *)o, &go,
                            out);
}
