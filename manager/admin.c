/*
 * admin.c - the admin command actor (mgr.h): a gen_server registered as
 * "admin" that answers the introspection server's RT_MSG_ADMIN calls.
 *
 * A command is parsed here, then run as one or two calls with
 * continuations to mgr_users (users), the storage engine (buckets) or the
 * metrics actor (metrics), so the actor never blocks and serves many
 * commands at once. Each command in flight is a cmd_t on the actor's
 * list: the continuations carry it, and terminate() answers and frees
 * whatever is left, since a continuation never runs once its actor is
 * gone.
 */
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "manager/admin.h"
#include "manager/agent_int.h"
#include "manager/mgr.h"
#include "proto/cluster.pb-c.h"
#include "storage/contract.h"

#define CALL_MS 20000u /* below the introspection server's own timeout */
#define METRICS_NAME "metrics" /* actors.h: metrics_start() registers it */

typedef struct admin_s admin_t;

typedef struct cmd_s {
    struct cmd_s *prev, *next; /* the actor's list of commands in flight */
    admin_t *admin;            /* whose list */
    rt_from_t from;
    Cleo__Introspect__AdminReq *req; /* owns the strings c points into */
    mgr__cmd_t c;
    bool owner_checked; /* BUCKET_CREATE, _CHOWN: the owner exists */
} cmd_t;

struct admin_s {
    cmd_t *cmds;
};

static int step(rt_actor_t *self, cmd_t *cmd);

/* ---- commands in flight ------------------------------------------------ */

static void cmd_unlink(cmd_t *cmd)
{
    if (cmd->prev != NULL)
        cmd->prev->next = cmd->next;
    else
        cmd->admin->cmds = cmd->next;
    if (cmd->next != NULL)
        cmd->next->prev = cmd->prev;
}

static void send_reply(rt_actor_t *self, rt_from_t from,
                       Cleo__Introspect__AdminReply *r)
{
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, r);
    (void)gen_server_reply(rt_actor_rt(self), from, m);
}

/* Answer the command with r and forget it. */
static int finish(rt_actor_t *self, cmd_t *cmd, Cleo__Introspect__AdminReply *r)
{
    send_reply(self, cmd->from, r);
    cmd_unlink(cmd);
    if (cmd->req != NULL)
        cleo__introspect__admin_req__free_unpacked(cmd->req, NULL);
    free(cmd);
    return 0;
}

/* ---- requests to other actors ------------------------------------------- */

static rt_msg_t *bucket_req(uint32_t type, const char *name, const char *owner)
{
    Cleo__Storage__BucketReq *r = cleo_xcalloc(1, sizeof *r); /* rule 26 */
    cleo__storage__bucket_req__init(r);
    r->name = mgr__xstrdup(name);
    r->owner = mgr__xstrdup(owner);
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, r);
    return m;
}

/* BUCKET_UPDATE of name's owner or ACL ("" keeps each). */
static rt_msg_t *update_req(const char *name, const char *owner,
                            const char *acl)
{
    rt_msg_t *m = bucket_req(STO_MSG_BUCKET_UPDATE, name, owner);
    Cleo__Storage__BucketReq *r = m->payload;
    r->acl = mgr__xstrdup(acl);
    return m;
}

/* USER_IMPORT of the command's key pair, USER_SET_ROLE of its role. */
static rt_msg_t *user_change_req(const mgr__cmd_t *c)
{
    rt_msg_t *m = rt_msg_new(c->kind == MGR__CMD_USER_IMPORT
                                 ? CLEO__MANAGER__MSG_ID__USER_IMPORT
                                 : CLEO__MANAGER__MSG_ID__USER_SET_ROLE);
    if (c->kind == MGR__CMD_USER_IMPORT) {
        Cleo__Manager__AccessKey *k = cleo_xcalloc(1, sizeof *k); /* r. 26 */
        cleo__manager__access_key__init(k);
        k->user = mgr__xstrdup(c->name);
        k->access_key = mgr__xstrdup(c->value);
        k->secret_key = mgr__xstrdup(c->secret);
        rt_msg_set_pb(m, k);
    } else {
        Cleo__Manager__User *u = cleo_xcalloc(1, sizeof *u);
        cleo__manager__user__init(u);
        u->name = mgr__xstrdup(c->name);
        u->is_admin = strcmp(c->value, "admin") == 0;
        rt_msg_set_pb(m, u);
    }
    return m;
}

/* The reply's record if it is one of d, else NULL. */
static const void *record(const rt_msg_t *reply,
                          const ProtobufCMessageDescriptor *d)
{
    const ProtobufCMessage *pb = reply->payload;
    return pb != NULL && reply->payload_free != NULL && pb->descriptor == d
               ? pb
               : NULL;
}

/* The command's result has come back: answer it, or take the next step. */
static int on_result(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    cmd_t *cmd = data;
    const mgr__cmd_t *c = &cmd->c;
    int rc = status < 0 ? status : reply->reason;
    bool owner =
        c->kind == MGR__CMD_BUCKET_CREATE || c->kind == MGR__CMD_BUCKET_CHOWN;
    if (rc < 0 && owner && !cmd->owner_checked) { /* its USER_GET failed */
        mgr__cmd_t as_user = {
            .kind = MGR__CMD_USER_DELETE,
            .name = c->kind == MGR__CMD_BUCKET_CREATE ? c->owner : c->value};
        return finish(self, cmd, mgr__reply_error(&as_user, rc));
    }
    const Cleo__Cluster__CommandResult *res =
        status == 0 ? record(reply, &cleo__cluster__command_result__descriptor)
                    : NULL;
    if (rc < 0) /* a cluster's managers may say why they refused */
        return finish(self, cmd,
                      mgr__reply_refused(c, rc, res ? res->detail : NULL));
    const void *pb = NULL;
    switch (c->kind) { /* size: dispatch */
    case MGR__CMD_USER_CREATE:
        pb = record(reply, &cleo__manager__access_key__descriptor);
        return finish(self, cmd,
                      pb ? mgr__reply_user_created(pb)
                         : mgr__reply_error(c, CLEO_EPROTO));
    case MGR__CMD_USER_LIST:
        pb = record(reply, &cleo__manager__user_list__descriptor);
        return finish(self, cmd,
                      pb ? mgr__reply_user_list(pb)
                         : mgr__reply_error(c, CLEO_EPROTO));
    case MGR__CMD_BUCKET_CREATE:
    case MGR__CMD_BUCKET_CHOWN:
        if (!cmd->owner_checked) {
            cmd->owner_checked = true;
            return step(self, cmd);
        }
        return finish(self, cmd, mgr__reply_done(c));
    case MGR__CMD_BUCKET_ACL:
        if (c->value != NULL)
            return finish(self, cmd, mgr__reply_done(c));
        pb = record(reply, &cleo__storage__bucket_info__descriptor);
        return finish(self, cmd,
                      pb ? mgr__reply_bucket_acl(pb)
                         : mgr__reply_error(c, CLEO_EPROTO));
    case MGR__CMD_BUCKET_LIST:
        pb = record(reply, &cleo__storage__bucket_list__descriptor);
        return finish(self, cmd,
                      pb ? mgr__reply_bucket_list(pb, c->owner)
                         : mgr__reply_error(c, CLEO_EPROTO));
    case MGR__CMD_BUCKET_DU:
        pb = record(reply, &cleo__storage__bucket_info__descriptor);
        return finish(self, cmd,
                      pb ? mgr__reply_bucket_du(pb)
                         : mgr__reply_error(c, CLEO_EPROTO));
    case MGR__CMD_METRICS:
        pb = record(reply, &cleo__metrics__counters__descriptor);
        return finish(self, cmd,
                      pb ? mgr__reply_metrics(pb)
                         : mgr__reply_error(c, CLEO_EPROTO));
    default:
        return finish(self, cmd, mgr__reply_done(c));
    }
}

/* The call the command makes now, to its actor's registered name. */
static rt_msg_t *next_request(const cmd_t *cmd, const char **to)
{
    const mgr__cmd_t *c = &cmd->c;
    *to = MGR_USERS_NAME;
    switch (c->kind) { /* size: dispatch */
    case MGR__CMD_USER_CREATE:
        return mgr_msg_new(MGR_MSG_USER_CREATE, c->name);
    case MGR__CMD_USER_LIST:
        return mgr_msg_new(MGR_MSG_USER_LIST, NULL);
    case MGR__CMD_USER_DELETE:
        return mgr_msg_new(MGR_MSG_USER_DELETE, c->name);
    case MGR__CMD_USER_IMPORT:
    case MGR__CMD_USER_ROLE:
        return user_change_req(c);
    case MGR__CMD_BUCKET_CHOWN:
        if (!cmd->owner_checked)
            return mgr_msg_new(MGR_MSG_USER_GET, c->value);
        *to = STO_ENGINE_NAME;
        return update_req(c->name, c->value, NULL);
    case MGR__CMD_BUCKET_ACL:
        *to = STO_ENGINE_NAME;
        return c->value != NULL ? update_req(c->name, NULL, c->value)
                                : bucket_req(STO_MSG_BUCKET_DU, c->name, NULL);
    case MGR__CMD_BUCKET_CREATE:
        if (!cmd->owner_checked)
            return mgr_msg_new(MGR_MSG_USER_GET, c->owner);
        *to = STO_ENGINE_NAME;
        return bucket_req(STO_MSG_BUCKET_CREATE, c->name, c->owner);
    case MGR__CMD_BUCKET_DELETE:
        *to = STO_ENGINE_NAME;
        return bucket_req(STO_MSG_BUCKET_DELETE, c->name, NULL);
    case MGR__CMD_BUCKET_LIST:
        *to = STO_ENGINE_NAME;
        return rt_msg_new(STO_MSG_BUCKET_LIST);
    case MGR__CMD_METRICS:
        *to = METRICS_NAME;
        return rt_msg_new(METRICS_MSG_ALL);
    case MGR__CMD_BUCKET_DU:
    default:
        *to = STO_ENGINE_NAME;
        return bucket_req(STO_MSG_BUCKET_DU, c->name, NULL);
    }
}

/* Make the command's next call; its continuation is on_result(). */
static int step(rt_actor_t *self, cmd_t *cmd)
{
    const char *to;
    rt_msg_t *m = next_request(cmd, &to);
    rt_pid_t pid = rt_whereis(rt_actor_rt(self), to);
    if (pid == RT_PID_NONE) {
        rt_msg_free(m);
        return finish(self, cmd, mgr__reply_error(&cmd->c, CLEO_ENOPROC));
    }
    int rc = gen_server_call(self, pid, m, CALL_MS, on_result, cmd);
    if (rc < 0) /* the continuation will not run */
        return finish(self, cmd, mgr__reply_error(&cmd->c, rc));
    return 0;
}

/* ---- cluster commands: the agent runs them ------------------------------- */

static int on_agent(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    cmd_t *cmd = data;
    const Cleo__Introspect__AdminReply *r =
        status == 0 ? record(reply, &cleo__introspect__admin_reply__descriptor)
                    : NULL;
    if (r == NULL)
        return finish(
            self, cmd,
            mgr__reply_error(&cmd->c, status < 0 ? status : CLEO_EPROTO));
    reply->payload = NULL; /* moved into the answer */
    return finish(self, cmd, (Cleo__Introspect__AdminReply *)r);
}

/* Hand the command in req (its AdminReq, taken) to the agent. */
static void to_agent(rt_actor_t *self, cmd_t *cmd, rt_msg_t *req)
{
    rt_pid_t pid = rt_whereis(rt_actor_rt(self), MGR_AGENT_NAME);
    if (pid == RT_PID_NONE) {
        (void)finish(self, cmd, mgr__reply_error(&cmd->c, CLEO_ENOPROC));
        return;
    }
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, req->payload);
    req->payload = NULL;
    if (gen_server_call(self, pid, m, CALL_MS, on_agent, cmd) < 0)
        (void)finish(self, cmd, mgr__reply_error(&cmd->c, CLEO_ENOPROC));
}

/* ---- callbacks ---------------------------------------------------------- */

/* Parse and start one command; it answers itself, now or later. */
static void on_admin(rt_actor_t *self, admin_t *a, rt_msg_t *req,
                     rt_from_t from)
{
    Cleo__Introspect__AdminReq *q = req->payload;
    if (q == NULL || req->payload_free == NULL ||
        q->base.descriptor != &cleo__introspect__admin_req__descriptor) {
        send_reply(
            self, from,
            mgr__reply_new(CLEO_EBADREQ, strdup("bad admin request"), NULL));
        return;
    }
    char err[512];
    mgr__cmd_t c = {.kind = MGR__CMD_CLUSTER};
    /* Cluster commands, and in a cluster (an agent runs) the buckets,
     * which are the managers' there: the agent runs them. */
    bool cluster =
        q->n_argv > 0 &&
        (mgr__agent_is_cmd(q->argv[0]) ||
         (strcmp(q->argv[0], "bucket") == 0 &&
          rt_whereis(rt_actor_rt(self), MGR_AGENT_NAME) != RT_PID_NONE));
    if (!cluster &&
        mgr__cmd_parse((int)q->n_argv, q->argv, &c, err, sizeof err) < 0) {
        send_reply(self, from, mgr__reply_new(CLEO_EBADREQ, strdup(err), NULL));
        return;
    }
    cmd_t *cmd = cleo_xcalloc(1, sizeof *cmd); /* STYLE rule 26 */
    if (cluster) {
        cmd->c = c;
        cmd->from = from;
        cmd->admin = a;
        cmd->next = a->cmds;
        if (a->cmds != NULL)
            a->cmds->prev = cmd;
        a->cmds = cmd;
        to_agent(self, cmd, req);
        return;
    }
    req->payload = NULL; /* the command owns the strings c points into */
    cmd->req = q;
    cmd->c = c;
    cmd->from = from;
    cmd->admin = a;
    if (cmd->c.kind == MGR__CMD_BUCKET_CREATE && cmd->c.owner == NULL)
        cmd->c.owner = MGR_ADMIN_USER;
    cmd->next = a->cmds;
    if (a->cmds != NULL)
        a->cmds->prev = cmd;
    a->cmds = cmd;
    (void)step(self, cmd);
}

static int admin_call(rt_actor_t *self, void *state, rt_msg_t *req,
                      rt_from_t from, rt_msg_t **reply)
{
    if (req->type == RT_MSG_ADMIN) {
        on_admin(self, state, req, from);
        return GEN_NOREPLY;
    }
    *reply = rt_msg_new(req->type);
    (*reply)->reason = CLEO_EBADREQ;
    return 0;
}

static int admin_init(rt_actor_t *self, void *arg, void **state)
{
    admin_t *a = cleo_xcalloc(1, sizeof *a);
    *state = a;
    return 0;
}

static void admin_terminate(rt_actor_t *self, void *state, int reason)
{
    admin_t *a = state;
    if (a == NULL)
        return;
    while (a->cmds != NULL) {
        mgr__cmd_t c = a->cmds->c;
        (void)finish(self, a->cmds, mgr__reply_error(&c, CLEO_ESHUTDOWN));
    }
    free(a);
}

static const gen_server_cbs_t admin_cbs = {
    .name = "mgr_admin",
    .init = admin_init,
    .handle_call = admin_call,
    .terminate = admin_terminate,
};

int mgr_admin_start(rt_actor_t *sup, const sup_child_spec_t *spec, void *extra,
                    rt_pid_t *out)
{
    gen_opts_t go = {.name = MGR_ADMIN_NAME,
                     .link = true,
                     .sched = RT_SCHED_ANY,
                     .trap_exit = true};
    return gen_server_start(rt_actor_rt(sup), sup, &admin_cbs, NULL, &go, out);
}
