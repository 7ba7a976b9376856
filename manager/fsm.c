/*
 * fsm.c - the managers' replicated state machine: the state, apply's
 * dispatch, snapshots and lookups (fsm.h). The operations are in
 * fsm_members.c (members, RING, conf) and fsm_accounts.c (users, keys,
 * buckets).
 */
#include "manager/fsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/mgr.h"
#include "runtime/rt.h"

/* A fresh empty message of type T, malloc'd so free_unpacked frees it. */
#define NEW_MSG(T, init)                                                       \
    ({                                                                         \
        T *m_ = cleo_xmalloc(sizeof *m_);                                      \
        init(m_);                                                              \
        m_;                                                                    \
    })

void mgr__fsm_init(mgr__fsm_t *f)
{
    Cleo__Cluster__ClusterState *st = NEW_MSG(
        Cleo__Cluster__ClusterState, cleo__cluster__cluster_state__init);
    st->conf =
        NEW_MSG(Cleo__Cluster__SystemConf, cleo__cluster__system_conf__init);
    st->ring_cur = NEW_MSG(Cleo__Cluster__Ring, cleo__cluster__ring__init);
    st->ring_prev = NEW_MSG(Cleo__Cluster__Ring, cleo__cluster__ring__init);
    f->st = st;
}

void mgr__fsm_destroy(mgr__fsm_t *f)
{
    if (f == NULL || f->st == NULL)
        return;
    cleo__cluster__cluster_state__free_unpacked(f->st, NULL);
    f->st = NULL;
}

int mgr__fsm_refuse(mgr__fsm_result_t *res, int rc, const char *fmt, ...)
{
    res->status = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
    /* Names echoed from a command may hold anything; the detail stays
     * one printable line. */
    for (char *p = res->detail; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    return rc;
}

char *mgr__fsm_strdup(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return (char *)protobuf_c_empty_string;
    size_t n = strlen(s) + 1;
    char *d = cleo_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

/* Bisection over a sorted array of messages by a string field. */
#define DEFINE_FIND(fn, arr, n, field)                                         \
    size_t fn(const Cleo__Cluster__ClusterState *st, const char *key,          \
              bool *found)                                                     \
    {                                                                          \
        size_t lo = 0, hi = st->n;                                             \
        while (lo < hi) {                                                      \
            size_t mid = lo + (hi - lo) / 2;                                   \
            if (strcmp(st->arr[mid]->field, key) < 0)                          \
                lo = mid + 1;                                                  \
            else                                                               \
                hi = mid;                                                      \
        }                                                                      \
        *found = lo < st->n && strcmp(st->arr[lo]->field, key) == 0;           \
        return lo;                                                             \
    }

DEFINE_FIND(mgr__fsm_find_member, members, n_members, node)
DEFINE_FIND(mgr__fsm_find_user, users, n_users, name)
DEFINE_FIND(mgr__fsm_find_key, keys, n_keys, access_key)
DEFINE_FIND(mgr__fsm_find_bucket, buckets, n_buckets, name)

bool mgr__fsm_token_is_valid(const char *s, size_t max, bool empty_ok)
{
    if (s == NULL)
        return false;
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (n >= max || s[n] <= ' ' || s[n] >= 0x7f)
            return false;
    return n > 0 || empty_ok;
}

bool mgr__fsm_node_is_valid(const char *s)
{
    if (!mgr__fsm_token_is_valid(s, MGR_FSM_NODE_MAX, false))
        return false;
    const char *at = strchr(s, '@');
    return at != NULL && at != s && at[1] != '\0' && !strchr(at + 1, '@');
}

bool mgr__fsm_bucket_name_is_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strnlen(s, 64);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == n - 1) && !alnum)
            return false;
        if (c == '.' && s[i + 1] == '.')
            return false;
    }
    return true;
}

/* The dispatch of one command; applied_index is the caller's. */
static int dispatch(Cleo__Cluster__ClusterState *st,
                    const Cleo__Cluster__Command *cmd, mgr__fsm_result_t *res)
{
    uint64_t now = cmd->proposed_ms;
    switch (cmd->op_case) { /* size: dispatch */
    case CLEO__CLUSTER__COMMAND__OP_MEMBER_ATTACH:
        return mgr__fsm_member_attach(st, cmd->member_attach, now, res);
    case CLEO__CLUSTER__COMMAND__OP_MEMBER_SET_STATE:
        return mgr__fsm_member_set_state(st, cmd->member_set_state, res);
    case CLEO__CLUSTER__COMMAND__OP_RING_REBUILD:
        return mgr__fsm_ring_rebuild(st, cmd->ring_rebuild, res);
    case CLEO__CLUSTER__COMMAND__OP_SET_CONF:
        return mgr__fsm_set_conf(st, cmd->set_conf, res);
    case CLEO__CLUSTER__COMMAND__OP_USER_CREATE:
        return mgr__fsm_user_create(st, cmd->user_create, now, res);
    case CLEO__CLUSTER__COMMAND__OP_USER_DELETE:
        return mgr__fsm_user_delete(st, cmd->user_delete, res);
    case CLEO__CLUSTER__COMMAND__OP_KEY_IMPORT:
        return mgr__fsm_key_import(st, cmd->key_import, now, res);
    case CLEO__CLUSTER__COMMAND__OP_BUCKET_PUT:
        return mgr__fsm_bucket_put(st, cmd->bucket_put, now, res);
    case CLEO__CLUSTER__COMMAND__OP_BUCKET_DELETE:
        return mgr__fsm_bucket_delete(st, cmd->bucket_delete, res);
    case CLEO__CLUSTER__COMMAND__OP_USER_SET_ROLE:
        return mgr__fsm_user_set_role(st, cmd->user_set_role, res);
    default:
        return mgr__fsm_refuse(res, CLEO_EBADREQ, "command has no operation");
    }
}

int mgr__fsm_apply(mgr__fsm_t *f, const Cleo__Cluster__Command *cmd,
                   uint64_t index, mgr__fsm_result_t *res)
{
    mgr__fsm_result_t scratch;
    if (res == NULL)
        res = &scratch;
    res->status = 0;
    res->detail[0] = '\0';
    Cleo__Cluster__ClusterState *st = f->st;
    if (index <= st->applied_index)
        return mgr__fsm_refuse(
            res, CLEO_ESTATE, "index %llu already applied (at %llu)",
            (unsigned long long)index, (unsigned long long)st->applied_index);
    int rc = cmd == NULL ? mgr__fsm_refuse(res, CLEO_EBADREQ, "no command")
                         : dispatch(st, cmd, res);
    st->applied_index = index;
    return rc;
}

int mgr__fsm_apply_bytes(mgr__fsm_t *f, const void *buf, size_t len,
                         uint64_t index, mgr__fsm_result_t *res)
{
    Cleo__Cluster__Command *cmd =
        cleo__cluster__command__unpack(NULL, len, buf);
    if (cmd != NULL) {
        int rc = mgr__fsm_apply(f, cmd, index, res);
        cleo__cluster__command__free_unpacked(cmd, NULL);
        return rc;
    }
    /* Not a command: every manager skips it the same way. */
    mgr__fsm_result_t scratch;
    if (res == NULL)
        res = &scratch;
    if (index <= f->st->applied_index)
        return mgr__fsm_refuse(res, CLEO_ESTATE, "index %llu already applied",
                               (unsigned long long)index);
    f->st->applied_index = index;
    return mgr__fsm_refuse(res, CLEO_EPROTO, "undecodable command (%zu bytes)",
                           len);
}

size_t mgr__fsm_packed_size(const mgr__fsm_t *f)
{
    return cleo__cluster__cluster_state__get_packed_size(f->st);
}

size_t mgr__fsm_pack(const mgr__fsm_t *f, uint8_t *out)
{
    return cleo__cluster__cluster_state__pack(f->st, out);
}

/* ---- restore: a snapshot is adopted only if it is a canonical state */

static bool conf_is_valid(const Cleo__Cluster__SystemConf *c)
{
    if (!mgr__fsm_token_is_valid(c->cluster_id, MGR_FSM_NODE_MAX, true))
        return false;
    if (c->n == 0)
        return c->r == 0 && c->w == 0 && c->d == 0;
    return c->r >= 1 && c->r <= c->n && c->w >= 1 && c->w <= c->n &&
           c->d >= 1 && c->d <= c->n;
}

static const char *members_check(const Cleo__Cluster__ClusterState *st)
{
    for (size_t i = 0; i < st->n_members; i++) {
        const Cleo__Cluster__Member *m = st->members[i];
        if (!mgr__fsm_node_is_valid(m->node))
            return "bad member name";
        if (i > 0 && strcmp(st->members[i - 1]->node, m->node) >= 0)
            return "members not sorted";
        if ((unsigned)m->state >
            CLEO__CLUSTER__MEMBER_STATE__MEMBER_STATE_DETACHED)
            return "bad member state";
        if (m->roles == 0 || m->roles > 7)
            return "bad member roles";
        if (m->vnodes > MGR_FSM_VNODES_MAX ||
            ((m->roles & CLEO__CLUSTER__ROLE__ROLE_STORAGE) && m->vnodes == 0))
            return "bad member vnodes";
        if (!mgr__fsm_token_is_valid(m->address, MGR_FSM_ADDR_MAX, true) ||
            !mgr__fsm_token_is_valid(m->rack, MGR_FSM_RACK_MAX, true))
            return "bad member address or rack";
    }
    return NULL;
}

static const char *accounts_check(const Cleo__Cluster__ClusterState *st)
{
    bool found;
    for (size_t i = 0; i < st->n_users; i++) {
        if (!mgr_user_name_is_valid(st->users[i]->name))
            return "bad user name";
        if (i > 0 && strcmp(st->users[i - 1]->name, st->users[i]->name) >= 0)
            return "users not sorted";
    }
    for (size_t i = 0; i < st->n_keys; i++) {
        const Cleo__Manager__AccessKey *k = st->keys[i];
        if (!mgr_access_key_is_valid(k->access_key) ||
            !mgr_secret_key_is_valid(k->secret_key))
            return "bad access key";
        if (i > 0 && strcmp(st->keys[i - 1]->access_key, k->access_key) >= 0)
            return "keys not sorted";
        mgr__fsm_find_user(st, k->user, &found);
        if (!found)
            return "a key of no user";
    }
    for (size_t i = 0; i < st->n_buckets; i++) {
        const Cleo__Cluster__Bucket *b = st->buckets[i];
        if (!mgr__fsm_bucket_name_is_valid(b->name) ||
            !mgr__fsm_acl_is_valid(b->acl))
            return "bad bucket";
        if (i > 0 && strcmp(st->buckets[i - 1]->name, b->name) >= 0)
            return "buckets not sorted";
        mgr__fsm_find_user(st, b->owner, &found);
        if (!found)
            return "a bucket of no user";
    }
    return NULL;
}

/* Why st is not a canonical state, or NULL if it is. Absent conf and
 * RINGs are filled in empty first, as init makes them. */
static const char *state_check(Cleo__Cluster__ClusterState *st)
{
    if (st->conf == NULL)
        st->conf = NEW_MSG(Cleo__Cluster__SystemConf,
                           cleo__cluster__system_conf__init);
    if (st->ring_cur == NULL)
        st->ring_cur = NEW_MSG(Cleo__Cluster__Ring, cleo__cluster__ring__init);
    if (st->ring_prev == NULL)
        st->ring_prev = NEW_MSG(Cleo__Cluster__Ring, cleo__cluster__ring__init);
    if (!conf_is_valid(st->conf))
        return "bad conf";
    if (mgr__fsm_ring_check(st->ring_cur) < 0 ||
        mgr__fsm_ring_check(st->ring_prev) < 0)
        return "bad RING";
    const char *why = members_check(st);
    return why != NULL ? why : accounts_check(st);
}

int mgr__fsm_restore(mgr__fsm_t *f, const void *buf, size_t len,
                     mgr__fsm_result_t *res)
{
    mgr__fsm_result_t scratch;
    if (res == NULL)
        res = &scratch;
    res->status = 0;
    res->detail[0] = '\0';
    Cleo__Cluster__ClusterState *st =
        cleo__cluster__cluster_state__unpack(NULL, len, buf);
    if (st == NULL)
        return mgr__fsm_refuse(res, CLEO_EPROTO,
                               "undecodable snapshot (%zu bytes)", len);
    const char *why = state_check(st);
    if (why != NULL) {
        cleo__cluster__cluster_state__free_unpacked(st, NULL);
        return mgr__fsm_refuse(res, CLEO_EPROTO, "snapshot: %s", why);
    }
    cleo__cluster__cluster_state__free_unpacked(f->st, NULL);
    f->st = st;
    return 0;
}

/* ---- lookups */

const Cleo__Cluster__ClusterState *mgr__fsm_state(const mgr__fsm_t *f)
{
    return f->st;
}

const Cleo__Cluster__Member *mgr__fsm_member(const mgr__fsm_t *f,
                                             const char *node)
{
    bool found;
    size_t i = mgr__fsm_find_member(f->st, node, &found);
    return found ? f->st->members[i] : NULL;
}

const Cleo__Manager__User *mgr__fsm_user(const mgr__fsm_t *f, const char *name)
{
    bool found;
    size_t i = mgr__fsm_find_user(f->st, name, &found);
    return found ? f->st->users[i] : NULL;
}

const Cleo__Manager__AccessKey *mgr__fsm_key(const mgr__fsm_t *f,
                                             const char *access_key)
{
    bool found;
    size_t i = mgr__fsm_find_key(f->st, access_key, &found);
    return found ? f->st->keys[i] : NULL;
}

const Cleo__Cluster__Bucket *mgr__fsm_bucket(const mgr__fsm_t *f,
                                             const char *name)
{
    bool found;
    size_t i = mgr__fsm_find_bucket(f->st, name, &found);
    return found ? f->st->buckets[i] : NULL;
}
