/*
 * users_cluster.c - mgr_users in a cluster (users_int.h): the users and
 * access keys are the managers' (proto/cluster.proto's ClusterState),
 * and this node's copy comes from its agent (agent.h).
 *
 * The table served is rebuilt from every state the agent pushes, so a
 * user created through any node signs requests on this node's gateway as
 * soon as the copy arrives, and a deleted one stops. A change is a
 * Command proposed through the agent; the managers decide it (a
 * duplicate, an unknown user ... are refused there, the same on every
 * manager), and the caller is answered once the change is applied and
 * this node's copy shows it, so that a read after the answer sees it (or
 * after SEEN_MS at the latest, should the copy lag behind). USER_CREATE
 * is a UserCreate, USER_DELETE a UserDelete, USER_SET_ROLE a
 * UserSetRole; USER_IMPORT is a UserCreate with the pair when the copy
 * has no such user, else a KeyImport (and a UserCreate refused as a
 * duplicate is tried once as a KeyImport: the user may have been made
 * through another node meanwhile).
 *
 * This node's admin key pair stays in the local store, where the first
 * start made it (and printed it). Until the managers have it, it is
 * served here beside the cluster's keys; each state that lacks it makes
 * the actor propose it: UserCreate of the admin with that key while the
 * cluster has no admin, KeyImport of the key once it has. Nodes starting
 * together race for the UserCreate: one wins, the others are refused
 * (CLEO_EEXIST, a no-op) and decide again on the next state, which has
 * the admin, so they import. Each proposal is decided on the latest
 * state, one at a time, and a refused one is tried again only on a newer
 * state or after BOOT_RETRY_MS; a pair already there is never proposed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"
#include "manager/agent.h"
#include "manager/keys.h"
#include "manager/users_int.h"

#define CALL_MS 15000u      /* a proposal: below the admin command's 20 s */
#define SUB_MS 5000u        /* the agent's MGR_AGENT_SUBSCRIBE */
#define TICK_MS 100u        /* the timer, while something waits on it */
#define SEEN_MS 3000u       /* an applied change's wait for the copy */
#define BOOT_RETRY_MS 1000u /* a refused admin key, without a new state */

typedef mgr__users_t users_t;

static void check_admin(rt_actor_t *self, users_t *u);

/* ---- the timer ---------------------------------------------------------- */

static bool pending(const users_t *u)
{
    return u->agent == RT_PID_NONE || (u->writing && u->seen) || u->boot_wait;
}

static void arm(rt_actor_t *self, users_t *u)
{
    if (u->tick_armed || !pending(u))
        return;
    rt_msg_t *m = rt_msg_new(MGR__MSG_TICK);
    u->tick_armed =
        rt_send_after(rt_actor_rt(self), TICK_MS, rt_self(self), m, NULL) == 0;
}

/* ---- the agent ---------------------------------------------------------- */

static int on_subscribed(rt_actor_t *self, rt_msg_t *reply, int status,
                         void *data)
{
    users_t *u = data;
    u->sub_busy = false;
    if (status == 0 && reply->reason == 0)
        return 0;
    logger_log(rt_actor_rt(self), LOG_WARNING,
               "manager: cannot subscribe to %s: %s", MGR_AGENT_NAME,
               cleo_strerror(status < 0 ? status : reply->reason));
    (void)rt_demonitor(self, u->agent_mon);
    u->agent = RT_PID_NONE;
    arm(self, u); /* try again */
    return 0;
}

/* Subscribe to the local agent, if it runs: it is started after the
 * manager role, and restarted on its own, so the timer looks again. */
static void subscribe(rt_actor_t *self, users_t *u)
{
    if (u->agent != RT_PID_NONE || u->sub_busy)
        return;
    rt_pid_t a = rt_whereis(rt_actor_rt(self), MGR_AGENT_NAME);
    if (a == RT_PID_NONE || rt_monitor(self, a, &u->agent_mon) < 0)
        return;
    u->agent = a;
    u->sub_busy = gen_server_call(self, a, rt_msg_new(MGR_AGENT_SUBSCRIBE),
                                  SUB_MS, on_subscribed, u) == 0;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(cleo_xmalloc(n), s, n); /* a bounded name (rule 26) */
}

static Cleo__Cluster__Command *command_new(uint64_t now_ms)
{
    Cleo__Cluster__Command *c = cleo_xcalloc(1, sizeof *c); /* rule 26 */
    cleo__cluster__command__init(c);
    c->proposed_ms = now_ms;
    return c;
}

static Cleo__Manager__User *user_new(const char *name, uint64_t created_ms,
                                     bool is_admin)
{
    Cleo__Manager__User *p = cleo_xcalloc(1, sizeof *p);
    cleo__manager__user__init(p);
    p->name = xstrdup(name);
    p->created_ms = created_ms;
    p->is_admin = is_admin;
    return p;
}

/* Propose cmd (taken) through the agent; cb as rt_call's, with u.
 * @return 0 (cb will run) or CLEO_ENOCONNECTION (no agent: cb will
 * not). */
static int propose(rt_actor_t *self, users_t *u, Cleo__Cluster__Command *cmd,
                   rt_reply_cb cb)
{
    rt_msg_t *m = rt_msg_new(MGR_AGENT_PROPOSE);
    rt_msg_set_pb(m, cmd);
    rt_pid_t a = rt_whereis(rt_actor_rt(self), MGR_AGENT_NAME);
    if (a == RT_PID_NONE || gen_server_call(self, a, m, CALL_MS, cb, u) < 0) {
        if (a == RT_PID_NONE)
            rt_msg_free(m);
        return CLEO_ENOCONNECTION;
    }
    return 0;
}

/* ---- the table from a state ---------------------------------------------- */

static bool fits(const char *s, size_t max)
{
    return s != NULL && strlen(s) <= max;
}

/* The state's users and keys, and this node's admin keys the state does
 * not have yet. Records that do not fit the table (the managers check
 * them, so none should) are skipped. */
static void rebuild(users_t *u)
{
    const Cleo__Cluster__ClusterState *st = u->state;
    mgr__tab_t t = {0};
    for (size_t i = 0; i < st->n_users; i++) {
        const Cleo__Manager__User *p = st->users[i];
        mgr__user_t r = {.created_ms = p->created_ms, .is_admin = p->is_admin};
        if (!mgr_user_name_is_valid(p->name))
            continue;
        snprintf(r.name, sizeof r.name, "%s", p->name);
        mgr__tab_put_user(&t, &r);
    }
    for (size_t i = 0; i < st->n_keys; i++) {
        const Cleo__Manager__AccessKey *p = st->keys[i];
        mgr__key_t k = {.created_ms = p->created_ms};
        if (!fits(p->access_key, MGR_KEY_MAX) ||
            !fits(p->secret_key, MGR_KEY_MAX) || !fits(p->user, MGR_USER_MAX))
            continue;
        snprintf(k.access, sizeof k.access, "%s", p->access_key);
        snprintf(k.secret, sizeof k.secret, "%s", p->secret_key);
        snprintf(k.user, sizeof k.user, "%s", p->user);
        mgr__tab_put_key(&t, &k);
    }
    for (size_t i = 0; i < u->nown; i++) {
        if (mgr__tab_key(&t, u->own[i].key.access) != NULL)
            continue; /* the cluster's word wins */
        mgr__tab_put_key(&t, &u->own[i].key);
        if (mgr__tab_user(&t, MGR_ADMIN_USER) == NULL) {
            mgr__user_t a = {.created_ms = u->own[i].key.created_ms,
                             .is_admin = true};
            snprintf(a.name, sizeof a.name, "%s", MGR_ADMIN_USER);
            mgr__tab_put_user(&t, &a);
        }
    }
    mgr__tab_destroy(&u->tab);
    u->tab = t;
}

/* ---- a change in flight ----------------------------------------------------
 */

/* Does the copy show the change in flight? */
static bool shown(const users_t *u)
{
    const mgr__key_t *k = mgr__tab_key(&u->tab, u->wkey.access);
    const mgr__user_t *user = mgr__tab_user(&u->tab, u->wkey.user);
    switch (u->wtype) {
    case MGR_MSG_USER_CREATE:
        return k != NULL;
    case MGR__MSG_USER_IMPORT:
        return k != NULL && strcmp(k->user, u->wkey.user) == 0;
    case MGR__MSG_USER_SET_ROLE:
        return user != NULL && user->is_admin == u->wadmin;
    default: /* USER_DELETE */
        return user == NULL;
    }
}

/* Answer an applied change once the copy shows it, or at its deadline. */
static void check_seen(rt_actor_t *self, users_t *u)
{
    if (!u->writing || !u->seen)
        return;
    if (!shown(u) && rt_now_ms(rt_actor_rt(self)) < u->wait_until_ms)
        return;
    u->seen = false;
    bool pair = u->wtype == MGR_MSG_USER_CREATE;
    mgr__users_done(self, u, 0, pair ? mgr__users_key_pb(&u->wkey) : NULL);
}

static Cleo__Cluster__Command *key_import_cmd(const mgr__key_t *k);

static int on_changed(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    users_t *u = data;
    int rc = status < 0 ? status : reply->reason;
    /* A UserCreate refused as a duplicate: the user was made meanwhile
     * through another node, or the key is taken. The KeyImport tells
     * which: it succeeds, or says the key is taken, or finds no user
     * (then it was the key). */
    bool import = u->wtype == MGR__MSG_USER_IMPORT;
    if (rc == CLEO_EEXIST && import && u->wmade) {
        u->wmade = false;
        u->wretry = true;
        rc = propose(self, u, key_import_cmd(&u->wkey), on_changed);
        if (rc == 0)
            return 0;
        status = rc; /* the first refusal's detail is not this one's */
    } else if (rc == CLEO_ENOTFOUND && import && u->wretry) {
        status = rc = CLEO_EEXIST;
    }
    if (rc < 0) {
        const ProtobufCMessage *pb = status == 0 ? reply->payload : NULL;
        bool detail =
            pb != NULL && reply->payload_free != NULL &&
            pb->descriptor == &cleo__cluster__command_result__descriptor;
        if (detail)
            reply->payload = NULL; /* the managers' reason, moved on */
        mgr__users_done(self, u, rc, detail ? (void *)pb : NULL);
        return 0;
    }
    u->seen = true;
    u->wait_until_ms = rt_now_ms(rt_actor_rt(self)) + SEEN_MS;
    check_seen(self, u);
    arm(self, u);
    return 0;
}

/* Propose cmd (taken) as the change that answers from. */
static void change(rt_actor_t *self, users_t *u, Cleo__Cluster__Command *cmd,
                   rt_from_t from, uint32_t type)
{
    int rc = propose(self, u, cmd, on_changed);
    if (rc < 0) {
        memset(&u->wkey, 0, sizeof u->wkey);
        mgr__users_answer(self, from, type, rc, NULL);
        return;
    }
    u->writing = true;
    u->wfrom = from;
    u->wtype = type;
    u->seen = false;
}

static void cluster_create(rt_actor_t *self, users_t *u, const char *name,
                           rt_from_t from)
{
    mgr__key_t k;
    int rc = mgr__key_generate(&k, name, &u->tab);
    if (rc < 0)
        return mgr__users_answer(self, from, MGR_MSG_USER_CREATE, rc, NULL);
    Cleo__Cluster__UserCreate *op = cleo_xcalloc(1, sizeof *op);
    cleo__cluster__user_create__init(op);
    op->user = user_new(name, k.created_ms, false);
    op->key = mgr__users_key_pb(&k);
    Cleo__Cluster__Command *cmd = command_new(k.created_ms);
    cmd->op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
    cmd->user_create = op;
    u->wkey = k;
    change(self, u, cmd, from, MGR_MSG_USER_CREATE);
}

static void cluster_remove(rt_actor_t *self, users_t *u, const char *name,
                           rt_from_t from)
{
    Cleo__Cluster__UserDelete *op = cleo_xcalloc(1, sizeof *op);
    cleo__cluster__user_delete__init(op);
    op->name = xstrdup(name);
    Cleo__Cluster__Command *cmd = command_new(mgr__now_ms());
    cmd->op_case = CLEO__CLUSTER__COMMAND__OP_USER_DELETE;
    cmd->user_delete = op;
    memset(&u->wkey, 0, sizeof u->wkey);
    snprintf(u->wkey.user, sizeof u->wkey.user, "%s", name);
    change(self, u, cmd, from, MGR_MSG_USER_DELETE);
}

/* The KeyImport of k. @return gives: to propose(). */
static Cleo__Cluster__Command *key_import_cmd(const mgr__key_t *k)
{
    Cleo__Cluster__KeyImport *op = cleo_xcalloc(1, sizeof *op);
    cleo__cluster__key_import__init(op);
    op->key = mgr__users_key_pb(k);
    Cleo__Cluster__Command *cmd = command_new(k->created_ms);
    cmd->op_case = CLEO__CLUSTER__COMMAND__OP_KEY_IMPORT;
    cmd->key_import = op;
    return cmd;
}

static bool state_has_user(const Cleo__Cluster__ClusterState *st,
                           const char *name);

/* A user the copy does not have is made with the key (UserCreate), as
 * leofs-adm import-user does; else the key is imported. */
static void cluster_import(rt_actor_t *self, users_t *u, const mgr__key_t *k,
                           rt_from_t from)
{
    Cleo__Cluster__Command *cmd;
    u->wkey = *k;
    u->wretry = false;
    u->wmade = u->state == NULL || !state_has_user(u->state, k->user);
    if (u->wmade) {
        Cleo__Cluster__UserCreate *op = cleo_xcalloc(1, sizeof *op);
        cleo__cluster__user_create__init(op);
        op->user = user_new(k->user, k->created_ms, false);
        op->key = mgr__users_key_pb(k);
        cmd = command_new(k->created_ms);
        cmd->op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
        cmd->user_create = op;
    } else {
        cmd = key_import_cmd(k);
    }
    change(self, u, cmd, from, MGR__MSG_USER_IMPORT);
}

static void cluster_set_role(rt_actor_t *self, users_t *u, const char *name,
                             bool is_admin, rt_from_t from)
{
    Cleo__Cluster__UserSetRole *op = cleo_xcalloc(1, sizeof *op);
    cleo__cluster__user_set_role__init(op);
    op->name = xstrdup(name);
    op->is_admin = is_admin;
    Cleo__Cluster__Command *cmd = command_new(mgr__now_ms());
    cmd->op_case = CLEO__CLUSTER__COMMAND__OP_USER_SET_ROLE;
    cmd->user_set_role = op;
    memset(&u->wkey, 0, sizeof u->wkey);
    snprintf(u->wkey.user, sizeof u->wkey.user, "%s", name);
    u->wadmin = is_admin;
    change(self, u, cmd, from, MGR__MSG_USER_SET_ROLE);
}

/* ---- this node's admin keys ------------------------------------------------
 */

static int on_boot(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    users_t *u = data;
    int rc = status < 0 ? status : reply->reason;
    mgr__own_key_t *o = &u->own[u->boot_at];
    rt_t *rt = rt_actor_rt(self);
    u->boot_busy = false;
    if (rc == 0) {
        o->done = true;
        logger_log(rt, LOG_NOTICE, "manager: admin key %s added to the cluster",
                   o->key.access);
        check_admin(self, u); /* the next one, if any */
        return 0;
    }
    /* A lost race (CLEO_EEXIST) is expected when nodes start together. */
    if (rc != u->boot_rc)
        logger_log(rt, rc == CLEO_EEXIST ? LOG_INFO : LOG_WARNING,
                   "manager: admin key %s not added yet: %s", o->key.access,
                   cleo_strerror(rc));
    u->boot_rc = rc;
    u->boot_wait = true;
    u->boot_retry_ms = rt_now_ms(rt) + BOOT_RETRY_MS;
    arm(self, u);
    return 0;
}

static bool state_has_user(const Cleo__Cluster__ClusterState *st,
                           const char *name)
{
    for (size_t i = 0; i < st->n_users; i++)
        if (strcmp(st->users[i]->name, name) == 0)
            return true;
    return false;
}

/* The first of this node's admin keys that the state lacks; the ones it
 * has are done. NULL when none is missing. */
static mgr__own_key_t *missing(users_t *u)
{
    const Cleo__Cluster__ClusterState *st = u->state;
    mgr__own_key_t *first = NULL;
    for (size_t i = 0; i < u->nown; i++) {
        mgr__own_key_t *o = &u->own[i];
        for (size_t j = 0; j < st->n_keys && !o->done; j++)
            o->done = strcmp(st->keys[j]->access_key, o->key.access) == 0;
        if (!o->done && first == NULL)
            first = o;
    }
    return first;
}

/* Propose the first admin key the state lacks (see the top). */
static void check_admin(rt_actor_t *self, users_t *u)
{
    const Cleo__Cluster__ClusterState *st = u->state;
    if (st == NULL || u->boot_busy)
        return;
    if (u->boot_wait && st->applied_index <= u->boot_index &&
        rt_now_ms(rt_actor_rt(self)) < u->boot_retry_ms)
        return;
    mgr__own_key_t *o = missing(u);
    u->boot_wait = false;
    if (o == NULL)
        return;
    Cleo__Cluster__Command *cmd = command_new(mgr__now_ms());
    if (state_has_user(st, MGR_ADMIN_USER)) {
        Cleo__Cluster__KeyImport *op = cleo_xcalloc(1, sizeof *op);
        cleo__cluster__key_import__init(op);
        op->key = mgr__users_key_pb(&o->key);
        cmd->op_case = CLEO__CLUSTER__COMMAND__OP_KEY_IMPORT;
        cmd->key_import = op;
    } else {
        Cleo__Cluster__UserCreate *op = cleo_xcalloc(1, sizeof *op);
        cleo__cluster__user_create__init(op);
        op->user = user_new(MGR_ADMIN_USER, o->key.created_ms, true);
        op->key = mgr__users_key_pb(&o->key);
        cmd->op_case = CLEO__CLUSTER__COMMAND__OP_USER_CREATE;
        cmd->user_create = op;
    }
    u->boot_at = (size_t)(o - u->own);
    u->boot_index = st->applied_index;
    if (propose(self, u, cmd, on_boot) == 0)
        u->boot_busy = true;
    else /* no agent: as a refusal */
        (void)on_boot(self, NULL, CLEO_ENOCONNECTION, u);
}

/* ---- the backend ------------------------------------------------------------
 */

static int on_state(rt_actor_t *self, users_t *u, rt_msg_t *m)
{
    rt_body_t *b = rt_msg_body(m);
    if (b == NULL || b->buf == NULL)
        return 0;
    Cleo__Cluster__ClusterState *st = cleo__cluster__cluster_state__unpack(
        NULL, rt_buf_len(b->buf), (const uint8_t *)rt_buf_data(b->buf));
    if (st == NULL) {
        logger_log(rt_actor_rt(self), LOG_WARNING,
                   "manager: a cluster state that does not unpack: skipped");
        return 0;
    }
    if (u->state != NULL)
        cleo__cluster__cluster_state__free_unpacked(u->state, NULL);
    u->state = st;
    rebuild(u);
    check_seen(self, u);
    check_admin(self, u);
    return 0;
}

static void on_tick(rt_actor_t *self, users_t *u)
{
    u->tick_armed = false;
    subscribe(self, u);
    check_seen(self, u);
    check_admin(self, u);
    arm(self, u);
}

/* The agent is gone: its supervisor restarts it, and the timer
 * subscribes to the new one. The table stays as the last state left it. */
static void on_down(rt_actor_t *self, users_t *u, rt_ref_t ref)
{
    if (u->agent == RT_PID_NONE || ref != u->agent_mon)
        return;
    u->agent = RT_PID_NONE;
    arm(self, u);
}

/* The local store is loaded: its admin keys are this node's. */
static void cluster_loaded(rt_actor_t *self, users_t *u)
{
    const mgr__tab_t *t = &u->tab;
    u->own = cleo_xcalloc(t->nkeys ? t->nkeys : 1, sizeof *u->own);
    for (size_t i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i].user, MGR_ADMIN_USER) == 0)
            u->own[u->nown++].key = t->keys[i];
    u->agent = RT_PID_NONE;
    subscribe(self, u);
    arm(self, u);
}

static int cluster_info(rt_actor_t *self, users_t *u, rt_msg_t *m)
{
    switch (m->type) {
    case MGR_AGENT_STATE:
        return on_state(self, u, m);
    case MGR__MSG_TICK:
        on_tick(self, u);
        return 0;
    case RT_MSG_DOWN:
        on_down(self, u, m->ref);
        return 0;
    default:
        return 0;
    }
}

static void cluster_terminate(users_t *u)
{
    if (u->state != NULL)
        cleo__cluster__cluster_state__free_unpacked(u->state, NULL);
    free(u->own);
}

const mgr__users_backend_t mgr__users_cluster = {
    .loaded = cluster_loaded,
    .create = cluster_create,
    .remove = cluster_remove,
    .import = cluster_import,
    .set_role = cluster_set_role,
    .info = cluster_info,
    .terminate = cluster_terminate,
};
