/*
 * fsm_accounts.c - the state machine's users, access keys and buckets
 * (fsm.h): the cluster-wide registry that replaces mgr_users' local
 * store and storage's bucket records.
 */
#include "manager/fsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/mgr.h"
#include "runtime/rt.h"

bool mgr__fsm_acl_is_valid(const char *acl)
{
    static const char *const canned[] = {
        "private", "public-read", "public-read-write", "authenticated-read"};
    for (size_t i = 0; i < sizeof canned / sizeof canned[0]; i++)
        if (acl != NULL && strcmp(acl, canned[i]) == 0)
            return true;
    return false;
}

static void set_str(char **dst, const char *src)
{
    if (*dst != protobuf_c_empty_string)
        free(*dst);
    *dst = mgr__fsm_strdup(src);
}

/* Add a copy of k, owned by user, at index i of the keys. */
static void key_insert(Cleo__Cluster__ClusterState *st, size_t i,
                       const Cleo__Manager__AccessKey *k, const char *user,
                       uint64_t now_ms)
{
    Cleo__Manager__AccessKey *t = cleo_xmalloc(sizeof *t);
    cleo__manager__access_key__init(t);
    t->access_key = mgr__fsm_strdup(k->access_key);
    t->secret_key = mgr__fsm_strdup(k->secret_key);
    t->user = mgr__fsm_strdup(user);
    t->created_ms = now_ms;
    MGR__FSM_INSERT(st->keys, st->n_keys, i, t);
}

static int key_check(const Cleo__Cluster__ClusterState *st,
                     const Cleo__Manager__AccessKey *k, size_t *at,
                     mgr__fsm_result_t *res)
{
    if (!mgr_access_key_is_valid(k->access_key) ||
        !mgr_secret_key_is_valid(k->secret_key))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "bad access key or secret");
    bool found;
    *at = mgr__fsm_find_key(st, k->access_key, &found);
    if (found)
        return mgr__fsm_refuse(res, CLEO_EEXIST, "access key %s exists",
                               k->access_key);
    return 0;
}

int mgr__fsm_user_create(Cleo__Cluster__ClusterState *st,
                         const Cleo__Cluster__UserCreate *op, uint64_t now_ms,
                         mgr__fsm_result_t *res)
{
    if (op == NULL || op->user == NULL)
        return mgr__fsm_refuse(res, CLEO_EINVAL, "user create: no user");
    const char *name = op->user->name;
    if (!mgr_user_name_is_valid(name))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "bad user name '%.*s'", 64,
                               name != NULL ? name : "");
    bool found;
    size_t ui = mgr__fsm_find_user(st, name, &found);
    if (found)
        return mgr__fsm_refuse(res, CLEO_EEXIST, "user %s exists", name);
    const Cleo__Manager__AccessKey *k = op->key;
    size_t ki = 0;
    int rc;
    if (k != NULL) {
        if ((rc = key_check(st, k, &ki, res)) < 0)
            return rc;
        if (k->user[0] != '\0' && strcmp(k->user, name) != 0)
            return mgr__fsm_refuse(res, CLEO_EINVAL,
                                   "user %s: the key is for '%.*s'", name, 64,
                                   k->user);
    }
    Cleo__Manager__User *u = cleo_xmalloc(sizeof *u);
    cleo__manager__user__init(u);
    u->name = mgr__fsm_strdup(name);
    u->created_ms = now_ms;
    u->is_admin = op->user->is_admin;
    MGR__FSM_INSERT(st->users, st->n_users, ui, u);
    if (k != NULL)
        key_insert(st, ki, k, name, now_ms);
    return 0;
}

int mgr__fsm_user_delete(Cleo__Cluster__ClusterState *st,
                         const Cleo__Cluster__UserDelete *op,
                         mgr__fsm_result_t *res)
{
    if (op == NULL)
        return mgr__fsm_refuse(res, CLEO_EBADREQ, "user delete: no operation");
    bool found;
    size_t ui = mgr__fsm_find_user(st, op->name, &found);
    if (!found)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no user '%.*s'", 64,
                               op->name);
    Cleo__Manager__User *u = st->users[ui];
    if (u->is_admin)
        return mgr__fsm_refuse(res, CLEO_ESTATE, "%s is an admin user",
                               u->name);
    size_t owned = 0;
    for (size_t i = 0; i < st->n_buckets; i++)
        owned += strcmp(st->buckets[i]->owner, u->name) == 0;
    if (owned > 0)
        return mgr__fsm_refuse(res, CLEO_ESTATE,
                               "%s owns %zu bucket(s): delete or chown them "
                               "first",
                               u->name, owned);
    for (size_t i = st->n_keys; i-- > 0;) {
        if (strcmp(st->keys[i]->user, u->name) != 0)
            continue;
        cleo__manager__access_key__free_unpacked(st->keys[i], NULL);
        MGR__FSM_REMOVE(st->keys, st->n_keys, i);
    }
    cleo__manager__user__free_unpacked(u, NULL);
    MGR__FSM_REMOVE(st->users, st->n_users, ui);
    return 0;
}

int mgr__fsm_key_import(Cleo__Cluster__ClusterState *st,
                        const Cleo__Cluster__KeyImport *op, uint64_t now_ms,
                        mgr__fsm_result_t *res)
{
    if (op == NULL || op->key == NULL)
        return mgr__fsm_refuse(res, CLEO_EINVAL, "key import: no key");
    const Cleo__Manager__AccessKey *k = op->key;
    bool found;
    mgr__fsm_find_user(st, k->user, &found);
    if (!found)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no user '%.*s'", 64,
                               k->user);
    size_t ki = 0;
    int rc = key_check(st, k, &ki, res);
    if (rc < 0)
        return rc;
    key_insert(st, ki, k, k->user, now_ms);
    return 0;
}

int mgr__fsm_user_set_role(Cleo__Cluster__ClusterState *st,
                           const Cleo__Cluster__UserSetRole *op,
                           mgr__fsm_result_t *res)
{
    if (op == NULL)
        return mgr__fsm_refuse(res, CLEO_EBADREQ, "user role: no operation");
    bool found;
    size_t ui = mgr__fsm_find_user(st, op->name, &found);
    if (!found)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no user '%.*s'", 64,
                               op->name);
    /* Every node's own admin key belongs to this user: it stays an
     * admin, so the cluster always has one. */
    if (strcmp(op->name, MGR_ADMIN_USER) == 0 && !op->is_admin)
        return mgr__fsm_refuse(res, CLEO_ESTATE,
                               "%s is the built-in admin user", op->name);
    st->users[ui]->is_admin = op->is_admin;
    return 0;
}

/* A bucket_put's ACL: a create's "" is the default, an update's keeps
 * the bucket's (NULL). */
static const char *put_acl(const Cleo__Cluster__BucketPut *op)
{
    if (op->bucket->acl[0] != '\0')
        return op->bucket->acl;
    return op->must_not_exist ? MGR_FSM_ACL_DEFAULT : NULL;
}

int mgr__fsm_bucket_put(Cleo__Cluster__ClusterState *st,
                        const Cleo__Cluster__BucketPut *op, uint64_t now_ms,
                        mgr__fsm_result_t *res)
{
    if (op == NULL || op->bucket == NULL)
        return mgr__fsm_refuse(res, CLEO_EINVAL, "bucket put: no bucket");
    const Cleo__Cluster__Bucket *b = op->bucket;
    if (!mgr__fsm_bucket_name_is_valid(b->name))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "bad bucket name '%.*s'", 64,
                               b->name);
    const char *acl = put_acl(op);
    if (acl != NULL && !mgr__fsm_acl_is_valid(acl))
        return mgr__fsm_refuse(res, CLEO_EINVAL, "bad ACL '%.*s'", 64, acl);
    bool found = b->owner[0] == '\0' && !op->must_not_exist; /* keep it */
    if (!found)
        mgr__fsm_find_user(st, b->owner, &found);
    if (!found)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no user '%.*s'", 64,
                               b->owner);
    size_t i = mgr__fsm_find_bucket(st, b->name, &found);
    if (found && op->must_not_exist)
        return mgr__fsm_refuse(res, CLEO_EEXIST, "bucket %s exists", b->name);
    if (!found && !op->must_not_exist)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no bucket %s", b->name);
    Cleo__Cluster__Bucket *t;
    if (found) {
        t = st->buckets[i];
    } else {
        t = cleo_xmalloc(sizeof *t);
        cleo__cluster__bucket__init(t);
        t->name = mgr__fsm_strdup(b->name);
        t->created_ms = now_ms;
        MGR__FSM_INSERT(st->buckets, st->n_buckets, i, t);
    }
    if (b->owner[0] != '\0')
        set_str(&t->owner, b->owner);
    if (acl != NULL)
        set_str(&t->acl, acl);
    return 0;
}

int mgr__fsm_bucket_delete(Cleo__Cluster__ClusterState *st,
                           const Cleo__Cluster__BucketDelete *op,
                           mgr__fsm_result_t *res)
{
    if (op == NULL)
        return mgr__fsm_refuse(res, CLEO_EBADREQ,
                               "bucket delete: no operation");
    bool found;
    size_t i = mgr__fsm_find_bucket(st, op->name, &found);
    if (!found)
        return mgr__fsm_refuse(res, CLEO_ENOTFOUND, "no bucket '%.*s'", 64,
                               op->name);
    cleo__cluster__bucket__free_unpacked(st->buckets[i], NULL);
    MGR__FSM_REMOVE(st->buckets, st->n_buckets, i);
    return 0;
}
