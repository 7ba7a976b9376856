/*
 * introspect_req.c - the answers of the introspection server: node
 * status, statistics, the actor list, one actor, exit signals, and the
 * supervision-tree walk (run on the blocking pool, as it waits on calls).
 *
 * Every response is built from malloc'd parts so that one
 * protobuf_c_message_free_unpacked() releases it, whatever its shape.
 */
#include "runtime/introspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/pool.h"

typedef Cleo__Introspect__Response resp_t;
typedef Cleo__Introspect__Actor actor_t;
typedef Cleo__Introspect__Child child_t;
typedef Cleo__Introspect__Children children_t;

char *rt__isp_strdup(const char *s)
{
    if (s == NULL)
        s = "";
    size_t n = strlen(s) + 1;
    return memcpy(cleo_xmalloc(n), s, n);
}

static void *xcalloc(size_t n, size_t size)
{
    return cleo_xcalloc(n != 0 ? n : 1, size);
}

static char *pid_dup(rt_pid_t pid)
{
    char b[32];
    return rt__isp_strdup(pid == RT_PID_NONE ? ""
                                             : rt_pid_fmt(pid, b, sizeof b));
}

resp_t *rt__isp_resp_new(int kind)
{
    resp_t *r = xcalloc(1, sizeof *r);
    cleo__introspect__response__init(r);
    r->kind = kind;
    return r;
}

void rt__isp_resp_free(resp_t *r)
{
    if (r != NULL)
        cleo__introspect__response__free_unpacked(r, NULL);
}

resp_t *rt__isp_resp_error(int code, const char *what)
{
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__ERROR);
    char line[256];
    if (what != NULL && *what != '\0')
        snprintf(line, sizeof line, "%s: %s", what, cleo_strerror(code));
    else
        snprintf(line, sizeof line, "%s", cleo_strerror(code));
    r->code = code;
    r->error = rt__isp_strdup(line);
    return r;
}

/* ---- STATS / STATUS ------------------------------------------------- */

/* Resident set size from /proc/self/statm; 0 if unreadable. */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The turn a scheduler is in now: its age, its actor and that actor's
 * registered name (else its behaviour), for stats and top. */
static void sched_turn(rt_t *rt, const rt_sched_stats_t *y,
                       Cleo__Introspect__Sched *x)
{
    rt_actor_info_t info;
    x->turn_ms = y->turn_ms;
    x->running = pid_dup(y->running);
    if (y->running != RT_PID_NONE && rt_actor_info(rt, y->running, &info) == 0)
        x->running_name =
            rt__isp_strdup(info.name[0] ? info.name : info.behaviour);
    else
        x->running_name = rt__isp_strdup("");
}

static Cleo__Introspect__Stats *stats_new(const rt__isp_ctx_t *c)
{
    rt_stats_t st;
    rt_stats(c->rt, &st);
    Cleo__Introspect__Stats *s = xcalloc(1, sizeof *s);
    cleo__introspect__stats__init(s);
    s->actors = st.actors;
    s->spawned = st.spawned;
    s->exited = st.exited;
    s->crashed = st.crashed;
    s->dropped = st.dropped;
    s->timers = st.timers;
    s->rss_bytes = rss_bytes();
    s->uptime_ms = rt_now_ms(c->rt) - c->start_ms;
    s->max_actors = st.max_actors;
    s->long_turns = st.long_turns;
    s->long_mqueues = st.long_mqueues;
    uint32_t ns = st.schedulers < RT_MAX_SCHED ? st.schedulers : RT_MAX_SCHED;
    s->sched = xcalloc(ns, sizeof *s->sched);
    for (uint32_t i = 0; i < ns; i++) {
        Cleo__Introspect__Sched *x = xcalloc(1, sizeof *x);
        cleo__introspect__sched__init(x);
        const rt_sched_stats_t *y = &st.sched[i];
        x->id = i;
        x->runs = y->runs;
        x->msgs = y->msgs;
        x->steals = y->steals;
        x->sleeps = y->sleeps;
        x->busy_ns = y->busy_ns;
        x->queue = y->queue;
        sched_turn(c->rt, y, x);
        /* Busy share since the server started, which is the node's start
         * for a server its main launches; clients wanting a recent rate
         * difference busy_ns themselves. */
        double up_ns = (double)(s->uptime_ms > 0 ? s->uptime_ms : 1) * 1e6;
        x->utilisation = (double)y->busy_ns / up_ns;
        if (x->utilisation > 1.0)
            x->utilisation = 1.0;
        s->sched[s->n_sched++] = x;
    }
    return s;
}

resp_t *rt__isp_stats(const rt__isp_ctx_t *c)
{
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__STATS);
    r->stats = stats_new(c);
    return r;
}

const char *rt_version(void)
{
    return CLEO_VERSION;
}

resp_t *rt__isp_status(const rt__isp_ctx_t *c)
{
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__STATUS);
    r->node = rt__isp_strdup(c->node);
    r->version = rt__isp_strdup(rt_version());
    r->roles = xcalloc(c->nroles, sizeof *r->roles);
    for (size_t i = 0; i < c->nroles; i++)
        r->roles[r->n_roles++] = rt__isp_strdup(c->roles[i]);
    r->stats = stats_new(c);
    return r;
}

/* ---- NODES ---------------------------------------------------------- */

#define ISP_NODES_MAX 256 /* peers shown; more are left out */

static Cleo__Introspect__DistNode *dist_node_new(const rt_dist_node_info_t *i)
{
    Cleo__Introspect__DistNode *x = xcalloc(1, sizeof *x);
    cleo__introspect__dist_node__init(x);
    x->node = i->node;
    x->name = rt__isp_strdup(i->name);
    x->address = rt__isp_strdup(i->address);
    x->creation = i->creation;
    x->up = i->up;
    x->up_since_ms = i->up_since_ms;
    x->msgs_in = i->msgs_in;
    x->msgs_out = i->msgs_out;
    x->bytes_in = i->bytes_in;
    x->bytes_out = i->bytes_out;
    x->last_recv_ms = i->last_recv_ms;
    return x;
}

resp_t *rt__isp_nodes(const rt__isp_ctx_t *c)
{
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__NODES);
    Cleo__Introspect__Nodes *n = xcalloc(1, sizeof *n);
    cleo__introspect__nodes__init(n);
    r->nodes = n;
    const char *name = rt_dist_name(c->rt);
    n->enabled = name != NULL;
    n->name = rt__isp_strdup(name);
    n->creation = rt_dist_creation(c->rt);
    n->port = rt_dist_port(c->rt);
    rt_dist_stats_t st;
    rt_dist_stats(c->rt, &st);
    n->bad_cookie = st.bad_cookie;
    n->bad_handshake = st.bad_handshake;
    n->bad_frame = st.bad_frame;
    n->dropped = st.dropped;
    n->connects = st.connects;
    n->disconnects = st.disconnects;
    n->tls = st.tls;
    n->tls_verify = st.tls_verify;
    rt_dist_node_info_t *info = xcalloc(ISP_NODES_MAX, sizeof *info);
    uint32_t k = rt_dist_nodes(c->rt, info, ISP_NODES_MAX);
    n->nodes = xcalloc(k, sizeof *n->nodes);
    for (uint32_t i = 0; i < k; i++)
        n->nodes[n->n_nodes++] = dist_node_new(&info[i]);
    free(info);
    return r;
}

/* ---- ACTORS / INFO -------------------------------------------------- */

static const char *state_name(rt_actor_state_t s)
{
    switch (s) {
    case RT_ACTOR_WAITING:
        return "waiting";
    case RT_ACTOR_RUNNABLE:
        return "runnable";
    case RT_ACTOR_RUNNING:
        return "running";
    case RT_ACTOR_EXITING:
        return "exiting";
    }
    return "unknown";
}

static actor_t *actor_new(const rt_actor_info_t *i)
{
    actor_t *a = xcalloc(1, sizeof *a);
    cleo__introspect__actor__init(a);
    a->pid = pid_dup(i->pid);
    a->name = rt__isp_strdup(i->name);
    a->behaviour = rt__isp_strdup(i->behaviour);
    a->mailbox = i->mailbox;
    a->msgs = i->msgs;
    a->memory = i->memory;
    a->state = rt__isp_strdup(state_name(i->state));
    a->links = i->links;
    a->monitors = i->monitors;
    a->sched = i->sched;
    a->trap_exit = i->trap_exit;
    a->long_turns = i->long_turns;
    a->long_mqueues = i->long_mqueues;
    a->mailbox_limit = i->mailbox_limit;
    return a;
}

typedef struct {
    rt_actor_info_t *v;
    size_t n, cap;
} infos_t;

static int collect(const rt_actor_info_t *info, void *data)
{
    infos_t *s = data;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        rt_actor_info_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return CLEO_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *info;
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    const rt_actor_info_t *x = a, *y = b;
    uint32_t sx = RT_PID_SLOT(x->pid), sy = RT_PID_SLOT(y->pid);
    return sx < sy ? -1 : sx > sy;
}
#define DESC_BY(field)                                                         \
    static int by_##field(const void *a, const void *b)                        \
    {                                                                          \
        const rt_actor_info_t *x = a, *y = b;                                  \
        if (x->field != y->field)                                              \
            return x->field > y->field ? -1 : 1;                               \
        return by_pid(a, b);                                                   \
    }
DESC_BY(mailbox)
DESC_BY(memory)
DESC_BY(msgs)
DESC_BY(long_turns)

/* An actor costs roughly this many bytes in a frame, plus its strings
 * (long_turns, long_mqueues and mailbox_limit add up to 16). */
#define ACTOR_WIRE_BYTES 80u

resp_t *rt__isp_actors(const rt__isp_ctx_t *c, const char *sort, uint32_t limit)
{
    int (*cmp)(const void *, const void *) = by_pid;
    if (sort != NULL && strcmp(sort, "mailbox") == 0)
        cmp = by_mailbox;
    else if (sort != NULL && strcmp(sort, "memory") == 0)
        cmp = by_memory;
    else if (sort != NULL && strcmp(sort, "msgs") == 0)
        cmp = by_msgs;
    else if (sort != NULL && strcmp(sort, "long_turns") == 0)
        cmp = by_long_turns;
    else if (sort != NULL && *sort != '\0')
        return rt__isp_resp_error(CLEO_EINVAL, "sort key");
    infos_t s = {0};
    if (rt_actor_foreach(c->rt, collect, &s) < 0) {
        free(s.v);
        return rt__isp_resp_error(CLEO_ENOMEM, "actors");
    }
    qsort(s.v, s.n, sizeof *s.v, cmp);
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__ACTORS);
    r->total = s.n;
    size_t n = limit != 0 && limit < s.n ? limit : s.n;
    r->actor = xcalloc(n, sizeof *r->actor);
    size_t bytes = 64;
    for (size_t i = 0; i < n; i++) {
        bytes +=
            ACTOR_WIRE_BYTES + strlen(s.v[i].name) + strlen(s.v[i].behaviour);
        if (bytes > RT__ISP_MAX_FRAME)
            break; /* the rest does not fit one frame; total says so */
        r->actor[r->n_actor++] = actor_new(&s.v[i]);
    }
    free(s.v);
    return r;
}

resp_t *rt__isp_info(const rt__isp_ctx_t *c, const char *target)
{
    rt_pid_t pid;
    rt_actor_info_t info;
    int rc = rt__isp_target_resolve(c->rt, target, &pid);
    if (rc == 0)
        rc = rt_actor_info(c->rt, pid, &info);
    if (rc < 0)
        return rt__isp_resp_error(rc, target);
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__INFO);
    r->actor = xcalloc(1, sizeof *r->actor);
    r->actor[r->n_actor++] = actor_new(&info);
    return r;
}

void rt__isp_info_status(resp_t *r, const rt_msg_t *reply)
{
    const ProtobufCMessage *pb = reply != NULL ? reply->payload : NULL;
    if (r->n_actor != 1 || pb == NULL || reply->payload_free == NULL ||
        pb->descriptor != &cleo__introspect__actor_status__descriptor)
        return;
    const Cleo__Introspect__ActorStatus *st = (const void *)pb;
    actor_t *a = r->actor[0];
    if (a->status != protobuf_c_empty_string)
        free(a->status);
    a->status = rt__isp_strdup(st->text);
}

resp_t *rt__isp_kill(const rt__isp_ctx_t *c, const char *target,
                     const char *reason)
{
    rt_pid_t pid;
    int why;
    int rc = rt__isp_target_resolve(c->rt, target, &pid);
    if (rc < 0)
        return rt__isp_resp_error(rc, target);
    if ((rc = rt__isp_reason_parse(reason, &why)) < 0)
        return rt__isp_resp_error(rc, "reason");
    /* rt_exit() to a dead pid is dropped quietly, so ask first. */
    if (!rt_is_alive(c->rt, pid))
        return rt__isp_resp_error(CLEO_ENOPROC, target);
    if ((rc = rt_exit(c->rt, pid, why)) < 0)
        return rt__isp_resp_error(rc, target);
    resp_t *r = rt__isp_resp_new(CLEO__INTROSPECT__RESPONSE__KIND__KILLED);
    r->target = pid_dup(pid);
    return r;
}

/* ---- TREE (on a pool thread) ---------------------------------------- */

/* Ask sup for its children; the reply's payload is copied through the
 * wire format, so the tree owns only malloc'd memory whatever the
 * supervisor's strings were. */
static int which_children(rt_t *rt, rt_pid_t sup, children_t **out)
{
    rt_msg_t *rep;
    int rc = rt_call_sync(rt, sup, rt_msg_new(RT_MSG_WHICH_CHILDREN),
                          RT__ISP_CALL_MS, &rep);
    if (rc < 0)
        return rc;
    const ProtobufCMessage *pb = rep->payload;
    if (pb == NULL ||
        pb->descriptor != &cleo__introspect__children__descriptor) {
        rt_msg_free(rep);
        return CLEO_EPROTO;
    }
    size_t n = protobuf_c_message_get_packed_size(pb);
    uint8_t *b = malloc(n + 1);
    if (b == NULL) {
        rt_msg_free(rep);
        return CLEO_ENOMEM;
    }
    protobuf_c_message_pack(pb, b);
    rt_msg_free(rep);
    *out = cleo__introspect__children__unpack(NULL, n, b);
    free(b);
    return *out != NULL ? 0 : CLEO_EPROTO;
}

/* Fill in a child: its behaviour if the supervisor left it out, and the
 * children of a running child supervisor, depth levels down at most. */
static void child_fill(rt_t *rt, child_t *ch, int depth)
{
    rt_pid_t pid;
    rt_actor_info_t info;
    if (rt__isp_pid_parse(ch->pid, &pid) < 0)
        return;
    if ((ch->behaviour == NULL || *ch->behaviour == '\0') &&
        rt_actor_info(rt, pid, &info) == 0) {
        if (ch->behaviour != protobuf_c_empty_string)
            free(ch->behaviour);
        ch->behaviour = rt__isp_strdup(info.behaviour);
    }
    if (strcmp(ch->type, "supervisor") != 0 || depth >= RT__ISP_TREE_DEPTH)
        return;
    children_t *kids;
    if (which_children(rt, pid, &kids) < 0)
        return; /* a supervisor that died mid-walk shows as a leaf */
    ch->children = kids;
    for (size_t i = 0; i < kids->n_child; i++)
        child_fill(rt, kids->child[i], depth + 1);
}

int rt__isp_tree_walk(void *arg)
{
    rt__isp_tree_t *t = arg;
    rt_pid_t top = rt_whereis(t->rt, t->top);
    if (t->top[0] == '\0' || top == RT_PID_NONE) {
        t->rc = CLEO_ENOTFOUND;
        return t->rc;
    }
    child_t *root = xcalloc(1, sizeof *root);
    cleo__introspect__child__init(root);
    root->id = rt__isp_strdup(t->top);
    root->pid = pid_dup(top);
    root->type = rt__isp_strdup("supervisor");
    root->restart = rt__isp_strdup("permanent");
    root->behaviour = rt__isp_strdup("");
    child_fill(t->rt, root, 0);
    if (root->children == NULL) {
        cleo__introspect__child__free_unpacked(root, NULL);
        t->rc = rt_is_alive(t->rt, top) ? CLEO_EPROTO : CLEO_ENOPROC;
        return t->rc;
    }
    t->root = root;
    return 0;
}

void rt__isp_tree_free(void *arg)
{
    rt__isp_tree_t *t = arg;
    if (t == NULL)
        return;
    if (t->root != NULL)
        cleo__introspect__child__free_unpacked(t->root, NULL);
    free(t);
}
