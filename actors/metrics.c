/*
 * metrics.c - the node's counters: a gen_server registered as "metrics"
 * holding named 64-bit counters in a small chained hash table. A read of
 * all of them (METRICS_MSG_ALL) answers a Cleo__Metrics__Counters record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/gen.h"

#define MET_BUCKETS 256 /* power of two */

typedef struct met_ent_s {
    struct met_ent_s *next;
    uint64_t value;
    char name[]; /* NUL-terminated */
} met_ent_t;

typedef struct met_s {
    met_ent_t *b[MET_BUCKETS];
    size_t n; /* counters */
} met_t;

/* FNV-1a. */
static size_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h & (MET_BUCKETS - 1));
}

static met_ent_t *lookup(met_t *t, const char *name, bool create)
{
    met_ent_t **head = &t->b[hash(name)];
    for (met_ent_t *e = *head; e != NULL; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    if (!create)
        return NULL;
    size_t len = strlen(name) + 1;
    met_ent_t *e = gen__xcalloc(sizeof *e + len);
    memcpy(e->name, name, len);
    e->next = *head;
    *head = e;
    t->n++;
    return e;
}

static int met_init(rt_actor_t *self, void *arg, void **state)
{
    *state = gen__xcalloc(sizeof(met_t));
    return 0;
}

static rt_msg_t *on_get(met_t *t, const rt_msg_t *req)
{
    met_ent_t *e = lookup(t, req->payload, false);
    rt_msg_t *reply = rt_msg_new(METRICS_MSG_GET);
    reply->arg = e != NULL ? e->value : 0;
    return reply;
}

static int by_name(const void *a, const void *b)
{
    const Cleo__Metrics__Counter *x = *(Cleo__Metrics__Counter *const *)a;
    const Cleo__Metrics__Counter *y = *(Cleo__Metrics__Counter *const *)b;
    return strcmp(x->name, y->name);
}

/* Every counter as a Counters record sorted by name. Each part is its own
 * allocation, as protobuf_c_message_free_unpacked() frees them. The table
 * is small (a counter per name in the code), so the copy is bounded. */
static rt_msg_t *on_all(met_t *t)
{
    Cleo__Metrics__Counters *all = gen__xcalloc(sizeof *all);
    cleo__metrics__counters__init(all);
    all->counters = gen__xcalloc((t->n ? t->n : 1) * sizeof *all->counters);
    for (size_t i = 0; i < MET_BUCKETS; i++) {
        for (met_ent_t *e = t->b[i]; e != NULL; e = e->next) {
            Cleo__Metrics__Counter *c = gen__xcalloc(sizeof *c);
            cleo__metrics__counter__init(c);
            c->name = gen__xstrdup(e->name);
            c->value = e->value;
            all->counters[all->n_counters++] = c;
        }
    }
    qsort(all->counters, all->n_counters, sizeof *all->counters, by_name);
    rt_msg_t *reply = rt_msg_new(METRICS_MSG_ALL);
    rt_msg_set_pb(reply, all);
    return reply;
}

static int met_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    if (req->type == METRICS_MSG_GET && req->payload != NULL)
        *reply = on_get(state, req);
    else if (req->type == METRICS_MSG_ALL)
        *reply = on_all(state);
    return 0; /* anything else: an empty reply */
}

static int met_cast(rt_actor_t *self, void *state, rt_msg_t *m)
{
    if (m->type == METRICS_MSG_INC && m->payload != NULL)
        lookup(state, m->payload, true)->value += m->arg;
    return 0;
}

static void met_terminate(rt_actor_t *self, void *state, int reason)
{
    met_t *t = state;
    for (size_t i = 0; i < MET_BUCKETS; i++) {
        met_ent_t *e = t->b[i];
        while (e != NULL) {
            met_ent_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(t);
}

static void met_format(rt_actor_t *self, void *state, char *buf, size_t len)
{
    const met_t *t = state;
    snprintf(buf, len, "%zu counters", t->n);
}

static const gen_server_cbs_t met_cbs = {
    .name = "metrics",
    .init = met_init,
    .handle_call = met_call,
    .handle_cast = met_cast,
    .terminate = met_terminate,
    .format_status = met_format,
};

int metrics_start(rt_t *rt, rt_actor_t *self, rt_pid_t *out)
{
    gen_opts_t o = {
        .name = "metrics", .link = self != NULL, .sched = RT_SCHED_ANY};
    return gen_server_start(rt, self, &met_cbs, NULL, &o, out);
}

/* A message of type carrying a copy of name. */
static rt_msg_t *name_msg(uint32_t type, const char *name)
{
    rt_msg_t *m = rt_msg_new(type);
    m->payload = gen__xstrdup(name);
    m->payload_free = free;
    return m;
}

void metrics_inc(rt_t *rt, const char *name, uint64_t n)
{
    if (rt == NULL || name == NULL)
        return;
    rt_pid_t to = rt_whereis(rt, "metrics");
    if (to == RT_PID_NONE)
        return;
    rt_msg_t *m = name_msg(METRICS_MSG_INC, name);
    m->arg = n;
    (void)gen_server_cast(rt, to, m);
}

int metrics_get_sync(rt_t *rt, const char *name, uint64_t *out)
{
    if (rt == NULL || name == NULL || out == NULL)
        return CLEO_EINVAL;
    rt_pid_t to = rt_whereis(rt, "metrics");
    if (to == RT_PID_NONE)
        return CLEO_ENOPROC;
    rt_msg_t *reply;
    int rc = gen_server_call_sync(rt, to, name_msg(METRICS_MSG_GET, name),
                                  RT_INFINITY, &reply);
    if (rc < 0)
        return rc;
    *out = reply->arg;
    rt_msg_free(reply);
    return 0;
}

int metrics_all_sync(rt_t *rt, Cleo__Metrics__Counters **out)
{
    if (rt == NULL || out == NULL)
        return CLEO_EINVAL;
    rt_pid_t to = rt_whereis(rt, "metrics");
    if (to == RT_PID_NONE)
        return CLEO_ENOPROC;
    rt_msg_t *reply;
    int rc = gen_server_call_sync(rt, to, rt_msg_new(METRICS_MSG_ALL),
                                  RT_INFINITY, &reply);
    if (rc < 0)
        return rc;
    const ProtobufCMessage *pb = reply->payload;
    if (pb == NULL || reply->payload_free == NULL ||
        pb->descriptor != &cleo__metrics__counters__descriptor) {
        rt_msg_free(reply);
        return CLEO_EPROTO;
    }
    *out = reply->payload;
    reply->payload = NULL; /* the caller's now */
    rt_msg_free(reply);
    return 0;
}
