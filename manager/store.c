/*
 * store.c - mgr_users' RocksDB and the jobs that touch it (store.h). All
 * of this runs on the blocking pool. RocksDB's errptr convention is
 * translated here, once: the message is logged and freed, and the caller
 * sees CLEO_ESTORAGE (STYLE rule 23).
 */
#include "manager/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rocksdb/c.h>

#include "actors/actors.h"
#include "manager/keys.h"

#define OPEN_RETRIES 200
#define OPEN_RETRY_NS 10000000L /* 10 ms */
#define DEFAULT_ENDPOINT "http://127.0.0.1:8080"
#define KEY_BUF (2 + MGR_KEY_MAX + 1)

struct mgr__db_s {
    rocksdb_t *rdb;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    uint32_t refs; /* guarded by lock; closed at 0 */
    pthread_mutex_t lock;
};

static void *xcalloc(size_t n, size_t size)
{
    return cleo_xcalloc(n ? n : 1, size); /* control structures (rule 26) */
}

static int rerr(rt_t *rt, char *err, const char *what)
{
    if (err == NULL)
        return 0;
    logger_log(rt, LOG_ERROR, "manager: rocksdb %s: %s", what, err);
    rocksdb_free(err);
    return CLEO_ESTORAGE;
}

/* ---- the handle ---------------------------------------------------- */

static void db_close(mgr__db_t *db)
{
    if (db->rdb != NULL)
        rocksdb_close(db->rdb);
    if (db->opts != NULL)
        rocksdb_options_destroy(db->opts);
    if (db->wo != NULL)
        rocksdb_writeoptions_destroy(db->wo);
    if (db->ro != NULL)
        rocksdb_readoptions_destroy(db->ro);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

static mgr__db_t *db_take(mgr__db_t *db)
{
    pthread_mutex_lock(&db->lock);
    db->refs++;
    pthread_mutex_unlock(&db->lock);
    return db;
}

void mgr__db_drop(mgr__db_t *db)
{
    if (db == NULL)
        return;
    pthread_mutex_lock(&db->lock);
    uint32_t left = --db->refs;
    pthread_mutex_unlock(&db->lock);
    if (left == 0)
        db_close(db);
}

/* Open, waiting out a predecessor whose jobs still hold RocksDB's lock. */
static int db_open(rt_t *rt, const mgr_users_opts_t *o, mgr__db_t **out)
{
    mgr__db_t *db = xcalloc(1, sizeof *db);
    pthread_mutex_init(&db->lock, NULL);
    db->refs = 1;
    db->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db->opts, 1);
    db->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->wo, o->no_sync ? 0 : 1);
    db->ro = rocksdb_readoptions_create();
    char *err = NULL;
    for (int i = 0; i < OPEN_RETRIES; i++) {
        if (i > 0)
            nanosleep(&(struct timespec){0, OPEN_RETRY_NS}, NULL);
        if (err != NULL)
            rocksdb_free(err), err = NULL;
        if ((db->rdb = rocksdb_open(db->opts, o->dir, &err)) != NULL)
            break;
    }
    int rc = rerr(rt, err, "open");
    if (rc < 0) {
        db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* ---- jobs ------------------------------------------------------------ */

mgr__job_t *mgr__job_new(rt_t *rt, mgr__db_t *db)
{
    mgr__job_t *j = xcalloc(1, sizeof *j);
    j->rt = rt;
    j->db = db != NULL ? db_take(db) : NULL;
    return j;
}

void mgr__job_op(mgr__job_t *j, const mgr__op_t *op)
{
    if (j->nops == j->capops) {
        j->capops = j->capops ? 2 * j->capops : 4;
        /* control structure: one entry per key of a user */
        j->ops = cleo_xrealloc(j->ops, j->capops * sizeof *j->ops);
    }
    j->ops[j->nops++] = *op;
}

void mgr__job_free(void *arg)
{
    mgr__job_t *j = arg;
    mgr__db_drop(j->db);
    mgr__tab_destroy(&j->tab);
    free(j->ops);
    free(j);
}

int mgr__release_run(void *arg)
{
    mgr__job_t *j = arg;
    mgr__db_drop(j->db);
    j->db = NULL;
    return 0;
}

/* ---- records --------------------------------------------------------- */

/* Pack a record into a malloc'd buffer. */
static char *pack(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    char *b = xcalloc(1, *n);
    protobuf_c_message_pack(m, (uint8_t *)b);
    return b;
}

static void batch_put_user(rocksdb_writebatch_t *b, const mgr__user_t *u)
{
    Cleo__Manager__User r = CLEO__MANAGER__USER__INIT;
    r.name = (char *)u->name;
    r.created_ms = u->created_ms;
    r.is_admin = u->is_admin;
    char k[KEY_BUF];
    int kn = snprintf(k, sizeof k, "u/%s", u->name);
    size_t vn;
    char *v = pack(&r.base, &vn);
    rocksdb_writebatch_put(b, k, (size_t)kn, v, vn);
    free(v);
}

static void batch_put_key(rocksdb_writebatch_t *b, const mgr__key_t *key)
{
    Cleo__Manager__AccessKey r = CLEO__MANAGER__ACCESS_KEY__INIT;
    r.access_key = (char *)key->access;
    r.secret_key = (char *)key->secret;
    r.user = (char *)key->user;
    r.created_ms = key->created_ms;
    char k[KEY_BUF];
    int kn = snprintf(k, sizeof k, "k/%s", key->access);
    size_t vn;
    char *v = pack(&r.base, &vn);
    rocksdb_writebatch_put(b, k, (size_t)kn, v, vn);
    free(v);
}

static void batch_op(rocksdb_writebatch_t *b, const mgr__op_t *op)
{
    char k[KEY_BUF];
    int kn;
    switch (op->kind) {
    case MGR__OP_PUT_USER:
        batch_put_user(b, &op->user);
        break;
    case MGR__OP_DEL_USER:
        kn = snprintf(k, sizeof k, "u/%s", op->user.name);
        rocksdb_writebatch_delete(b, k, (size_t)kn);
        break;
    case MGR__OP_PUT_KEY:
        batch_put_key(b, &op->key);
        break;
    case MGR__OP_DEL_KEY:
        kn = snprintf(k, sizeof k, "k/%s", op->key.access);
        rocksdb_writebatch_delete(b, k, (size_t)kn);
        break;
    }
}

/* Write ops in one synced batch. */
static int db_write(rt_t *rt, mgr__db_t *db, const mgr__op_t *ops, size_t n)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (size_t i = 0; i < n; i++)
        batch_op(b, &ops[i]);
    char *err = NULL;
    rocksdb_write(db->rdb, db->wo, b, &err);
    rocksdb_writebatch_destroy(b);
    return rerr(rt, err, "write");
}

void mgr__tab_apply(mgr__tab_t *t, const mgr__op_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (ops[i].kind) {
        case MGR__OP_PUT_USER:
            mgr__tab_put_user(t, &ops[i].user);
            break;
        case MGR__OP_DEL_USER:
            mgr__tab_del_user(t, ops[i].user.name);
            break;
        case MGR__OP_PUT_KEY:
            mgr__tab_put_key(t, &ops[i].key);
            break;
        case MGR__OP_DEL_KEY:
            mgr__tab_del_key(t, ops[i].key.access);
            break;
        }
    }
}

int mgr__write_run(void *arg)
{
    mgr__job_t *j = arg;
    int rc = db_write(j->rt, j->db, j->ops, j->nops);
    mgr__db_drop(j->db);
    j->db = NULL;
    return rc;
}

/* ---- loading ---------------------------------------------------------- */

/* One stored record into t; a record that does not decode or does not
 * fit is logged and skipped rather than keeping the node down. */
static void load_record(rt_t *rt, mgr__tab_t *t, const char *k, size_t kn,
                        const char *v, size_t vn)
{
    const uint8_t *p = (const uint8_t *)v;
    if (kn > 2 && k[0] == 'u' && k[1] == '/') {
        Cleo__Manager__User *r = cleo__manager__user__unpack(NULL, vn, p);
        mgr__user_t u = {0};
        if (r != NULL && mgr_user_name_is_valid(r->name)) {
            snprintf(u.name, sizeof u.name, "%s", r->name);
            u.created_ms = r->created_ms;
            u.is_admin = r->is_admin;
            mgr__tab_put_user(t, &u);
        } else {
            logger_log(rt, LOG_WARNING, "manager: bad user record skipped");
        }
        cleo__manager__user__free_unpacked(r, NULL);
        return;
    }
    if (kn > 2 && k[0] == 'k' && k[1] == '/') {
        Cleo__Manager__AccessKey *r =
            cleo__manager__access_key__unpack(NULL, vn, p);
        mgr__key_t key = {0};
        if (r != NULL && strlen(r->access_key) <= MGR_KEY_MAX &&
            strlen(r->secret_key) <= MGR_KEY_MAX &&
            mgr_user_name_is_valid(r->user)) {
            snprintf(key.access, sizeof key.access, "%s", r->access_key);
            snprintf(key.secret, sizeof key.secret, "%s", r->secret_key);
            snprintf(key.user, sizeof key.user, "%s", r->user);
            key.created_ms = r->created_ms;
            mgr__tab_put_key(t, &key);
        } else {
            logger_log(rt, LOG_WARNING, "manager: bad key record skipped");
        }
        cleo__manager__access_key__free_unpacked(r, NULL);
    }
}

static int load_all(rt_t *rt, mgr__db_t *db, mgr__tab_t *t)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator(db->rdb, db->ro);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kn, vn;
        const char *k = rocksdb_iter_key(it, &kn);
        const char *v = rocksdb_iter_value(it, &vn);
        load_record(rt, t, k, kn, v, vn);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return rerr(rt, err, "load");
}

/* The changes that make the options' key pair the admin's only key, or
 * on a fresh database create the admin with that pair or a new one. */
static int bootstrap_ops(mgr__job_t *j)
{
    const mgr_users_opts_t *o = j->opts;
    mgr__tab_t *t = &j->tab;
    j->fresh = t->nusers == 0;
    if (!j->fresh && o->admin_access_key == NULL)
        return 0;
    mgr__op_t op = {.kind = MGR__OP_PUT_USER};
    mgr__user_t *admin = mgr__tab_user(t, MGR_ADMIN_USER);
    if (admin == NULL || !admin->is_admin) {
        snprintf(op.user.name, sizeof op.user.name, "%s", MGR_ADMIN_USER);
        op.user.created_ms = admin ? admin->created_ms : mgr__now_ms();
        op.user.is_admin = true;
        mgr__job_op(j, &op);
    }
    op = (mgr__op_t){.kind = MGR__OP_PUT_KEY};
    if (o->admin_access_key == NULL) {
        int rc = mgr__key_generate(&op.key, MGR_ADMIN_USER, t);
        if (rc < 0)
            return rc;
        mgr__job_op(j, &op);
        return 0;
    }
    snprintf(op.key.access, sizeof op.key.access, "%s", o->admin_access_key);
    snprintf(op.key.secret, sizeof op.key.secret, "%s", o->admin_secret_key);
    snprintf(op.key.user, sizeof op.key.user, "%s", MGR_ADMIN_USER);
    mgr__key_t *cur = mgr__tab_key(t, op.key.access);
    op.key.created_ms = cur ? cur->created_ms : mgr__now_ms();
    if (cur == NULL || strcmp(cur->secret, op.key.secret) != 0 ||
        strcmp(cur->user, MGR_ADMIN_USER) != 0)
        mgr__job_op(j, &op);
    for (size_t i = 0; i < t->nkeys; i++) {
        if (strcmp(t->keys[i].user, MGR_ADMIN_USER) != 0 ||
            strcmp(t->keys[i].access, op.key.access) == 0)
            continue;
        mgr__op_t del = {.kind = MGR__OP_DEL_KEY, .key = t->keys[i]};
        mgr__job_op(j, &del);
    }
    return 0;
}

/* The admin's key pair after the bootstrap ops, for the file. */
static const mgr__key_t *admin_key(const mgr__job_t *j)
{
    for (size_t i = j->nops; i > 0; i--)
        if (j->ops[i - 1].kind == MGR__OP_PUT_KEY)
            return &j->ops[i - 1].key;
    return NULL;
}

/* Write the credentials file. It goes before the records: should the
 * write of the records fail, the next start is fresh again and rewrites
 * the file, whereas the other order could leave a stored admin key that
 * no file shows. */
static int credentials(mgr__job_t *j, const mgr__key_t *k, const char *ep)
{
    const char *path = j->opts->credentials;
    if (path == NULL)
        return 0;
    int rc = mgr__credentials_write(path, ep, k->access, k->secret);
    if (rc < 0)
        logger_log(j->rt, LOG_ERROR, "manager: %s: %s", path, strerror(-rc));
    return rc;
}

/* Log the admin's key and, on a first start, show it on stdout. */
static void announce(mgr__job_t *j, const mgr__key_t *k, const char *ep)
{
    const mgr_users_opts_t *o = j->opts;
    const char *path = o->credentials;
    logger_log(j->rt, LOG_NOTICE, "manager: %s admin key %s%s%s",
               j->fresh ? "created" : "set", k->access,
               path ? "; credentials in " : "", path ? path : "");
    if (!j->fresh || !o->print)
        return;
    bool env = o->admin_access_key != NULL;
    printf("cleo: first start: S3 endpoint %s\n"
           "cleo:   access_key = %s\n"
           "cleo:   secret_key = %s\n"
           "cleo:   (saved in %s)\n",
           ep, k->access, env ? "(from " MGR_ENV_SECRET_KEY ")" : k->secret,
           path ? path : "no file");
    fflush(stdout);
}

int mgr__load_run(void *arg)
{
    mgr__job_t *j = arg;
    int rc = db_open(j->rt, j->opts, &j->db);
    if (rc < 0)
        return rc;
    if ((rc = load_all(j->rt, j->db, &j->tab)) < 0 ||
        (rc = bootstrap_ops(j)) < 0)
        goto fail;
    const mgr__key_t *k = admin_key(j);
    const char *ep =
        j->opts->endpoint != NULL ? j->opts->endpoint : DEFAULT_ENDPOINT;
    if (j->nops == 0)
        return 0; /* nothing to change */
    if ((k != NULL && (rc = credentials(j, k, ep)) < 0) ||
        (rc = db_write(j->rt, j->db, j->ops, j->nops)) < 0)
        goto fail;
    mgr__tab_apply(&j->tab, j->ops, j->nops);
    if (k != NULL)
        announce(j, k, ep);
    return 0;
fail: /* close here, on the pool, not where the job is freed */
    mgr__db_drop(j->db);
    j->db = NULL;
    return rc;
}
