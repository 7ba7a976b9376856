/*
 * agent_node.c - cleo-adm status NODE: one member's own view, answered
 * by the agent on any node (agent_admin.c hands it "node-status NODE").
 * When NODE is this node the agent answers for itself; else it asks
 * NODE's agent over distribution ("node-status NODE --here", PEEK_MS),
 * which answers for itself, and passes that AdminReply on unchanged. A
 * name that is no member, a member whose node is not connected, or no
 * answer in time: one line, a non-zero status.
 *
 * A node's view:
 *  - what plain `status` shows of the local node: name, version, roles,
 *    uptime (the process's age, from /proc: the runtime keeps no start
 *    time; the introspection server's, which plain status shows, starts
 *    with the node), actors, memory and schedulers;
 *  - its RING copy: current and previous versions and checksums;
 *  - its state in its copy's members;
 *  - the manager its agent follows (whose state pushes it takes; null
 *    while it follows none), and its copy's leader, term and index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "manager/admin.h"
#include "manager/agent_int.h"

#define PEEK_MS 5000u /* NODE's agent, for its view (call_failure) */

struct agent_peek_s {
    agent_peek_t *next;
    agent_t *agent;
    rt_from_t from;
    char node[256];
};

void mgr__agent_node_drop(agent_t *a)
{
    while (a->peeks != NULL) {
        agent_peek_t *k = a->peeks;
        a->peeks = k->next;
        free(k);
    }
}

/* ---- this node's view ------------------------------------------------- */

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

/* The process's age in ms: its start after boot (/proc/self/stat field
 * 22, in clock ticks) against the time since boot (/proc/uptime); 0 when
 * /proc cannot tell. */
static uint64_t process_age_ms(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long start = 0;
    double up = 0;
    if (p == NULL || sscanf(p + 1,
                            " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
                            &start) != 1)
        return 0;
    if ((f = fopen("/proc/uptime", "r")) == NULL)
        return 0;
    int got = fscanf(f, "%lf", &up);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    double age = up * 1000.0 - (double)start * 1000.0 / (double)hz;
    return got == 1 && hz > 0 && age > 0 ? (uint64_t)age : 0;
}

/* As cleo-adm shows bytes: "12.3 MiB". */
static const char *fmt_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

/* As cleo-adm shows an uptime: "1h 2m 3s". */
static const char *fmt_uptime(uint64_t ms, char *buf, size_t len)
{
    unsigned long long s = ms / 1000, d = s / 86400, h = s / 3600 % 24,
                       m = s / 60 % 60;
    if (d > 0)
        snprintf(buf, len, "%llud %lluh %llum", d, h, m);
    else if (h > 0)
        snprintf(buf, len, "%lluh %llum %llus", h, m, s % 60);
    else
        snprintf(buf, len, "%llum %llus", m, s % 60);
    return buf;
}

static json_t *roles_json(uint32_t roles)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } t[] = {{CLEO__CLUSTER__ROLE__ROLE_MANAGER, "manager"},
             {CLEO__CLUSTER__ROLE__ROLE_STORAGE, "storage"},
             {CLEO__CLUSTER__ROLE__ROLE_GATEWAY, "gateway"}};
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (roles & t[i].bit)
            json_array_append_new(arr, json_string(t[i].name));
    return arr;
}

static json_t *hex_json(const Cleo__Cluster__Ring *r)
{
    char s[20];
    if (r == NULL)
        return json_string("-");
    snprintf(s, sizeof s, "%016llx", (unsigned long long)r->checksum);
    return json_string(s);
}

/* The node's own facts: what plain status shows of the local node. */
static json_t *facts_json(rt_actor_t *self, const agent_t *a)
{
    rt_stats_t st;
    rt_stats(rt_actor_rt(self), &st);
    return json_pack(
        "{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "node",
        a->o->node, "version", rt_version(), "roles", roles_json(a->o->roles),
        "uptime_ms", (json_int_t)process_age_ms(), "actors",
        (json_int_t)st.actors, "spawned", (json_int_t)st.spawned, "exited",
        (json_int_t)st.exited, "crashed", (json_int_t)st.crashed, "rss_bytes",
        (json_int_t)rss_bytes(), "schedulers", (json_int_t)st.schedulers);
}

/* Its copy of the cluster state: RING, its state, whom it follows. */
static void copy_json(const agent_t *a, json_t *j)
{
    const Cleo__Cluster__ClusterState *st = a->state;
    const Cleo__Cluster__Ring *cur = st != NULL ? st->ring_cur : NULL;
    const Cleo__Cluster__Ring *prev = st != NULL ? st->ring_prev : NULL;
    const char *state = "-"; /* not registered yet, or no copy */
    for (size_t i = 0; st != NULL && i < st->n_members; i++)
        if (strcmp(st->members[i]->node, a->o->node) == 0)
            state = mgr__agent_state_name(st->members[i]->state);
    json_object_set_new(j, "state", json_string(state));
    json_object_set_new(j, "ring_cur", hex_json(cur));
    json_object_set_new(j, "ring_prev", hex_json(prev));
    json_object_set_new(j, "ring_version",
                        json_integer(cur ? (json_int_t)cur->version : 0));
    json_object_set_new(j, "ring_prev_version",
                        json_integer(prev ? (json_int_t)prev->version : 0));
    json_object_set_new(j, "follows",
                        a->sub != RT_PID_NONE ? json_string(a->sub_node)
                                              : json_null());
    json_object_set_new(j, "leader",
                        st != NULL && a->has_leader ? json_string(a->leader)
                                                    : json_null());
    json_object_set_new(j, "term", json_integer((json_int_t)a->term));
    json_object_set_new(j, "applied", json_integer((json_int_t)a->applied));
}

static const char *str_of(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s != NULL ? s : "none";
}

static uint64_t int_of(json_t *j, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(j, key));
}

/* The text of a view j, in plain status's layout. @return gives: free. */
static char *view_text(json_t *j)
{
    char *text = NULL, b[32];
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    if (f == NULL)
        return NULL;
    fprintf(f, "node       %s\nversion    %s\nroles      ", str_of(j, "node"),
            str_of(j, "version"));
    json_t *roles = json_object_get(j, "roles");
    for (size_t i = 0; i < json_array_size(roles); i++)
        fprintf(f, "%s%s", i ? ", " : "",
                json_string_value(json_array_get(roles, i)));
    fprintf(f, "%s\n", json_array_size(roles) ? "" : "-");
    fprintf(f, "uptime     %s\n",
            fmt_uptime(int_of(j, "uptime_ms"), b, sizeof b));
    fprintf(f, "actors     %llu (spawned %llu, exited %llu, crashed %llu)\n",
            (unsigned long long)int_of(j, "actors"),
            (unsigned long long)int_of(j, "spawned"),
            (unsigned long long)int_of(j, "exited"),
            (unsigned long long)int_of(j, "crashed"));
    fprintf(f, "memory     %s rss\n",
            fmt_bytes(int_of(j, "rss_bytes"), b, sizeof b));
    fprintf(f, "schedulers %llu\n",
            (unsigned long long)int_of(j, "schedulers"));
    fprintf(f, "state      %s\n", str_of(j, "state"));
    fprintf(f, "ring       current v%llu %s, previous v%llu %s\n",
            (unsigned long long)int_of(j, "ring_version"),
            str_of(j, "ring_cur"),
            (unsigned long long)int_of(j, "ring_prev_version"),
            str_of(j, "ring_prev"));
    fprintf(f, "follows    %s (leader %s, term %llu, applied %llu)\n",
            str_of(j, "follows"), str_of(j, "leader"),
            (unsigned long long)int_of(j, "term"),
            (unsigned long long)int_of(j, "applied"));
    fclose(f);
    return text;
}

static void answer_self(rt_actor_t *self, const agent_t *a, rt_from_t from)
{
    json_t *j = facts_json(self, a);
    copy_json(a, j);
    char *text = view_text(j);
    char *js = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    mgr__agent_reply(self, from, mgr__reply_new(0, text, js));
}

/* ---- another node's, asked of its agent -------------------------------- */

static void peek_unlink(agent_peek_t *k)
{
    for (agent_peek_t **p = &k->agent->peeks; *p != NULL; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            return;
        }
}

static void unreachable(rt_actor_t *self, rt_from_t from, const char *node,
                        int rc, const char *why)
{
    char line[512];
    snprintf(line, sizeof line, "status: %.256s is unreachable (%.200s)", node,
             why);
    mgr__agent_reply_err(self, from, rc, line);
}

/* Why a call to NODE's agent failed: a timeout, or the callee's exit
 * reason (its connection lost, its agent gone). */
static const char *call_failure(int status)
{
    if (status == CLEO_ETIMEDOUT)
        return "no answer in 5 s";
    if (status == CLEO_ENOCONNECTION || status == RT_REASON_NOCONNECTION)
        return "its connection was lost";
    if (status == CLEO_ENOPROC || status == RT_REASON_NOPROC)
        return "its agent is not running";
    return cleo_strerror(status);
}

static int on_peeked(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    agent_peek_t *k = data;
    const ProtobufCMessage *pb = status == 0 ? r->payload : NULL;
    if (pb != NULL &&
        pb->descriptor == &cleo__introspect__admin_reply__descriptor) {
        r->payload = NULL; /* the AdminReply, moved into the answer */
        mgr__agent_reply(self, k->from, (Cleo__Introspect__AdminReply *)pb);
    } else if (status == CLEO_ETIMEDOUT) {
        unreachable(self, k->from, k->node, status, call_failure(status));
    } else {
        unreachable(self, k->from, k->node, CLEO_ENOCONNECTION,
                    status < 0 ? call_failure(status) : "a bad answer");
    }
    peek_unlink(k);
    free(k);
    return 0;
}

/* "node-status NODE --here", asked of pid to. */
static void peek(rt_actor_t *self, agent_t *a, rt_from_t from, rt_pid_t to,
                 const char *node)
{
    Cleo__Introspect__AdminReq *q = cleo_xmalloc(sizeof *q);
    cleo__introspect__admin_req__init(q);
    q->argv = cleo_xcalloc(3, sizeof *q->argv);
    q->argv[q->n_argv++] = mgr__xstrdup("node-status");
    q->argv[q->n_argv++] = mgr__xstrdup(node);
    q->argv[q->n_argv++] = mgr__xstrdup("--here");
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, q);
    agent_peek_t *k = cleo_xcalloc(1, sizeof *k);
    k->agent = a;
    k->from = from;
    snprintf(k->node, sizeof k->node, "%s", node);
    k->next = a->peeks;
    a->peeks = k;
    if (rt_call(self, to, m, PEEK_MS, on_peeked, k) < 0)
        (void)on_peeked(self, NULL, CLEO_ENOCONNECTION, k);
}

void mgr__agent_node_status(rt_actor_t *self, rt_from_t from,
                            const Cleo__Introspect__AdminReq *q)
{
    agent_t *a = rt_state(self);
    bool here = q->n_argv == 3 && strcmp(q->argv[2], "--here") == 0;
    if (q->n_argv != 2 && !here) {
        mgr__agent_reply_err(self, from, CLEO_EBADREQ,
                             "node-status takes NODE");
        return;
    }
    const char *node = q->argv[1];
    if (here || strcmp(node, a->o->node) == 0) {
        answer_self(self, a, from);
        return;
    }
    const Cleo__Cluster__Member *m = NULL;
    for (size_t i = 0; a->state != NULL && i < a->state->n_members; i++)
        if (strcmp(a->state->members[i]->node, node) == 0)
            m = a->state->members[i];
    char line[384];
    if (m == NULL) {
        snprintf(line, sizeof line, "status: no member named '%.256s'%s", node,
                 a->state == NULL ? " (no cluster state yet: no manager has "
                                    "answered this node)"
                                  : "");
        mgr__agent_reply_err(self, from, CLEO_ENOTFOUND, line);
        return;
    }
    rt_t *rt = rt_actor_rt(self);
    uint16_t idx;
    if (rt_dist_node(rt, node, &idx) < 0 || !rt_dist_is_up(rt, idx)) {
        snprintf(line, sizeof line, "not connected; its state: %s",
                 mgr__agent_state_name(m->state));
        unreachable(self, from, node, CLEO_ENOCONNECTION, line);
        return;
    }
    peek(self, a, from, rt_dist_named(rt, idx, MGR_AGENT_NAME), node);
}
