/*
 * metrics.c - the node's counters: a gen_server registered as "metrics"
 * holding named 64-bit counters in a small chained hash table.
 */
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

static int met_call(rt_actor_t *self, void *state, rt_msg_t *req,
                    rt_from_t from, rt_msg_t **reply)
{
    if (req->type != METRICS_MSG_GET || req->payload == NULL)
        return 0; /* an empty reply */
    met_ent_t *e = lookup(state, req->payload, false);
    *reply = rt_msg_new(METRICS_MSG_GET);
    (*reply)->arg = e != NULL ? e->value : 0;
    return 0;
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

static const gen_server_cbs_t met_cbs = {
    .name = "metrics",
    .init = met_init,
    .handle_call = met_call,
    .handle_cast = met_cast,
    .terminate = met_terminate,
};

int metrics_start(rt_t *rt, rt_actor_t *self, rt_pid_t *out)
{
    gen_opts_t o = {.name = "metrics", .link = self != NULL,
                    .sched = RT_SCHED_ANY};
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
