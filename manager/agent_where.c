/*
 * agent_where.c - cleo-adm whereis BUCKET/KEY, answered by the agent on
 * any node (agent_admin.c hands it over): the key's ring address, its
 * replica nodes from this node's RING copy, and what each replica's
 * storage engine holds. Each engine is asked at once (a HEAD with
 * tombstones, over distribution for another node's; WHERE_MS each), and
 * the answer waits for all of them:
 *
 *   present      etag, size, clock and last-modified of the object
 *   deleted      a tombstone: the clock and last-modified of the delete
 *   absent       neither (nor the bucket, on that node)
 *   unreachable  the node is down, its engine is not running, or no
 *                answer in WHERE_MS; any other failure is named instead
 *
 * The command answers whatever the replicas say: a replica that cannot
 * be asked is a line of the answer, not a failure of the command.
 *
 * clock is the version the replica's engine stamped on the object
 * (ObjectInfo.clock), as a decimal string: 64 bits do not fit a JSON
 * number that every reader keeps exact. Today each engine stamps its own
 * (storage/db.c), so one version's clocks differ between replicas; the
 * cluster-wide hybrid logical clock (issue 12) fills the same field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manager/admin.h"
#include "manager/agent_int.h"
#include "ring/ring.h"
#include "storage/contract.h"

#define WHERE_MS 3000u /* each replica's HEAD */
#define WHERE_MAX 16   /* replicas asked: N is at most 16 */

typedef enum {
    REP_PRESENT,
    REP_DELETED,
    REP_ABSENT,
    REP_UNREACHABLE, /* not connected, or the call failed */
    REP_ERROR,       /* the engine answered with an error */
} rep_state_t;

typedef struct {
    agent_where_t *w;
    char node[256]; /* a copy: the RING may change meanwhile */
    rep_state_t state;
    int rc; /* REP_ERROR: the engine's */
    char etag[STO_ETAG_MAX + 1];
    uint64_t size, clock, lm_ms; /* lm_ms: last-modified, wall clock */
} rep_t;

struct agent_where_s {
    agent_where_t *next;
    agent_t *agent;
    rt_from_t from;
    char addr[RING_ADDR_LEN];
    size_t n, pending;
    rep_t rep[WHERE_MAX];
};

static void where_unlink(agent_where_t *w)
{
    for (agent_where_t **p = &w->agent->wheres; *p != NULL; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

void mgr__agent_where_drop(agent_t *a)
{
    while (a->wheres != NULL) {
        agent_where_t *w = a->wheres;
        a->wheres = w->next;
        free(w);
    }
}

static const char *rep_error(const rep_t *p)
{
    return p->state == REP_UNREACHABLE ? "unreachable" : cleo_strerror(p->rc);
}

static json_t *rep_json(const rep_t *p)
{
    bool known = p->state == REP_PRESENT || p->state == REP_DELETED;
    char clock[24] = "";
    if (known)
        snprintf(clock, sizeof clock, "%llu", (unsigned long long)p->clock);
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:b}", "node", p->node, "etag",
                          p->etag, "clock", clock, "size", (json_int_t)p->size,
                          "deleted", p->state == REP_DELETED);
    if (p->state == REP_UNREACHABLE || p->state == REP_ERROR)
        json_object_set_new(j, "error", json_string(rep_error(p)));
    else
        json_object_set_new(j, "absent", json_boolean(p->state == REP_ABSENT));
    if (known)
        json_object_set_new(j, "last_modified_ms",
                            json_integer((json_int_t)p->lm_ms));
    return j;
}

static void rep_line(FILE *f, size_t i, const rep_t *p)
{
    fprintf(f, "replica %-5zu %-24s ", i + 1, p->node);
    switch (p->state) {
    case REP_PRESENT:
        fprintf(f, "present  etag %s  size %llu  clock %llu\n", p->etag,
                (unsigned long long)p->size, (unsigned long long)p->clock);
        break;
    case REP_DELETED:
        fprintf(f, "deleted  clock %llu\n", (unsigned long long)p->clock);
        break;
    case REP_ABSENT:
        fprintf(f, "absent\n");
        break;
    default:
        fprintf(f, "%s\n", rep_error(p));
    }
}

/* Every replica answered or failed: the reply; then unlink and free. */
static void where_answer(rt_actor_t *self, agent_where_t *w)
{
    json_t *arr = json_array();
    char *text = NULL;
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    if (f != NULL)
        fprintf(f, "ring address  %s\n", w->addr);
    for (size_t i = 0; i < w->n; i++) {
        if (f != NULL)
            rep_line(f, i, &w->rep[i]);
        json_array_append_new(arr, rep_json(&w->rep[i]));
    }
    if (f != NULL)
        fclose(f);
    json_t *j = json_pack("{s:s, s:o}", "address", w->addr, "replicas", arr);
    char *js = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    mgr__agent_reply(self, w->from, mgr__reply_new(0, text, js));
    where_unlink(w);
    free(w);
}

static int on_head(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    rep_t *p = data;
    agent_where_t *w = p->w;
    int rc = status < 0 ? status : r->reason;
    const ProtobufCMessage *pb = rc == 0 ? r->payload : NULL;
    if (status < 0) {
        p->state = REP_UNREACHABLE;
    } else if (pb != NULL &&
               pb->descriptor == &cleo__storage__object_info__descriptor) {
        const Cleo__Storage__ObjectInfo *o = (const void *)pb;
        p->state = o->deleted ? REP_DELETED : REP_PRESENT;
        snprintf(p->etag, sizeof p->etag, "%s", o->etag);
        p->size = o->size;
        p->clock = o->clock;
        p->lm_ms = o->last_modified_ms;
    } else if (rc == CLEO_ENOTFOUND || rc == STO_ENOBUCKET) {
        p->state = REP_ABSENT;
    } else {
        p->state = REP_ERROR;
        p->rc = rc < 0 ? rc : CLEO_EPROTO;
    }
    if (--w->pending == 0)
        where_answer(self, w);
    return 0;
}

/* The engine of node: this node's, or the one of a connected node;
 * RT_PID_NONE otherwise. */
static rt_pid_t engine_of(rt_actor_t *self, const agent_t *a, const char *node)
{
    rt_t *rt = rt_actor_rt(self);
    uint16_t idx;
    if (strcmp(node, a->o->node) == 0)
        return rt_whereis(rt, STO_ENGINE_NAME);
    if (rt_dist_node(rt, node, &idx) == 0 && rt_dist_is_up(rt, idx))
        return rt_dist_named(rt, idx, STO_ENGINE_NAME);
    return RT_PID_NONE;
}

/* HEAD bucket/key (borrowed), tombstones included, on p's node. A call
 * that fails (the node or its engine gone, no answer in time: the status
 * is then a timeout or the callee's exit reason) leaves it unreachable;
 * an answer with an error is the engine's. */
static void ask_head(rt_actor_t *self, rep_t *p, const char *bucket,
                     const char *key)
{
    agent_where_t *w = p->w;
    rt_pid_t to = engine_of(self, w->agent, p->node);
    if (to == RT_PID_NONE) {
        p->state = REP_UNREACHABLE;
        return;
    }
    Cleo__Storage__ObjectReq *q = cleo_xmalloc(sizeof *q);
    cleo__storage__object_req__init(q);
    q->bucket = mgr__xstrdup(bucket);
    q->key = mgr__xstrdup(key);
    q->tombstones = true;
    rt_msg_t *m = rt_msg_new(STO_MSG_HEAD);
    rt_msg_set_pb(m, q);
    w->pending++;
    if (rt_call(self, to, m, WHERE_MS, on_head, p) < 0) {
        w->pending--;
        p->state = REP_UNREACHABLE;
    }
}

/* The replicas of bucket/key on the copy's current RING into w (names
 * copied) and its ring address. @return 0 or a line's code, *why set. */
static int place(agent_where_t *w, const char *bucket, const char *key,
                 const char **why)
{
    ring_t *cur = NULL;
    if (ring_from_pb(w->agent->state->ring_cur, &cur) < 0) {
        *why = "no RING yet (cleo-adm start puts the attached nodes in)";
        return CLEO_ENOTFOUND;
    }
    uint32_t n = mgr__agent_conf_n(w->agent);
    const char *reps[WHERE_MAX];
    size_t got = 0;
    ring_pos_t pos;
    int rc = ring_key_pos(bucket, key, &pos);
    if (rc == 0)
        rc = ring_replicas_at(cur, &pos, n > WHERE_MAX ? WHERE_MAX : n, reps,
                              &got);
    if (rc < 0) {
        ring_free(cur);
        *why = "cannot place that key";
        return rc;
    }
    ring_pos_hex(&pos, w->addr);
    for (size_t i = 0; i < got; i++) {
        w->rep[i].w = w;
        snprintf(w->rep[i].node, sizeof w->rep[i].node, "%s", reps[i]);
    }
    w->n = got;
    ring_free(cur);
    return 0;
}

void mgr__agent_whereis(rt_actor_t *self, rt_from_t from, const char *path)
{
    agent_t *a = rt_state(self);
    const char *slash = strchr(path, '/');
    if (slash == NULL || slash == path || slash[1] == '\0' ||
        slash - path > 255) {
        mgr__agent_reply_err(self, from, CLEO_EBADREQ,
                             "whereis takes BUCKET/KEY");
        return;
    }
    char bucket[256];
    snprintf(bucket, sizeof bucket, "%.*s", (int)(slash - path), path);
    agent_where_t *w = cleo_xcalloc(1, sizeof *w);
    w->agent = a;
    w->from = from;
    const char *why = NULL;
    int rc = place(w, bucket, slash + 1, &why);
    if (rc < 0) {
        mgr__agent_reply_err(self, from, rc, why);
        free(w);
        return;
    }
    w->next = a->wheres;
    a->wheres = w;
    w->pending = 1; /* held until every call is made */
    for (size_t i = 0; i < w->n; i++)
        ask_head(self, &w->rep[i], bucket, slash + 1);
    if (--w->pending == 0)
        where_answer(self, w);
}
