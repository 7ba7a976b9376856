/*
 * rqjob.c - the engine's runs of the repair queue's requests (rqueue.h):
 * REPAIR_ADD, REPAIR_REMOVE, REPAIR_SCAN and REPAIR_COUNT, from their
 * storage.proto records to the sto__rq_* calls and back. On the pool.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/job.h"
#include "storage/pb.h"
#include "storage/rqueue.h"

/* The item's version, or CLEO_EINVAL when it has none. */
static int item_version(const Cleo__Storage__RepairItem *r, sto_version_t *v)
{
    if (r->version == NULL)
        return CLEO_EINVAL;
    *v = (sto_version_t){r->version->clock, r->version->node};
    return 0;
}

static Cleo__Storage__RepairResult *result_new(bool changed, bool created)
{
    Cleo__Storage__RepairResult *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__repair_result__init(p);
    p->changed = changed;
    p->created = created;
    return p;
}

int sto__rq_run_add(sto_db_t *db, sto__job_t *j)
{
    const Cleo__Storage__RepairItem *r = j->req;
    sto_version_t v;
    sto__rq_added_t what;
    int rc = item_version(r, &v);
    if (rc == 0)
        rc = sto__rq_add(db, r->node, r->bucket, r->key, &v, &what);
    if (rc == 0)
        j->res = result_new(what != STO__RQ_KEPT, what == STO__RQ_ADDED);
    return rc;
}

int sto__rq_run_remove(sto_db_t *db, sto__job_t *j)
{
    const Cleo__Storage__RepairItem *r = j->req;
    sto_version_t v;
    bool removed = false;
    int rc = item_version(r, &v);
    if (rc == 0)
        rc = sto__rq_remove(db, r->node, r->bucket, r->key, &v, &removed);
    if (rc == 0)
        j->res = result_new(removed, false);
    return rc;
}

static Cleo__Storage__RepairItem *item_pb(const sto__rq_entry_t *e)
{
    Cleo__Storage__RepairItem *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__repair_item__init(p);
    p->node = sto__pb_strdup(e->node);
    p->bucket = sto__pb_strdup(e->bucket);
    p->key = sto__pb_strdup(e->key);
    p->version = sto__pb_calloc(1, sizeof *p->version);
    cleo__storage__version__init(p->version);
    p->version->clock = e->v.clock;
    p->version->node = e->v.node;
    return p;
}

int sto__rq_run_scan(sto_db_t *db, sto__job_t *j)
{
    const Cleo__Storage__RepairScan *r = j->req;
    sto__rq_entry_t *es = NULL;
    size_t n = 0;
    bool more = false;
    int rc = sto__rq_scan(db, r->node, r->after_bucket, r->after_key, r->max,
                          &es, &n, &more);
    if (rc < 0)
        return rc;
    Cleo__Storage__RepairList *l = sto__pb_calloc(1, sizeof *l);
    cleo__storage__repair_list__init(l);
    l->items = sto__pb_calloc(n, sizeof *l->items);
    l->n_items = n;
    for (size_t i = 0; i < n; i++)
        l->items[i] = item_pb(&es[i]);
    l->more = more;
    free(es);
    j->res = l;
    return 0;
}

int sto__rq_run_count(sto_db_t *db, sto__job_t *j)
{
    const Cleo__Storage__RepairScan *r = j->req;
    sto__rq_count_t *cs = NULL;
    size_t n = 0;
    int rc = sto__rq_count(db, r->node, &cs, &n);
    if (rc < 0)
        return rc;
    Cleo__Storage__RepairStats *s = sto__pb_calloc(1, sizeof *s);
    cleo__storage__repair_stats__init(s);
    s->targets = sto__pb_calloc(n, sizeof *s->targets);
    s->n_targets = n;
    for (size_t i = 0; i < n; i++) {
        Cleo__Storage__RepairCount *c = sto__pb_calloc(1, sizeof *c);
        cleo__storage__repair_count__init(c);
        c->node = sto__pb_strdup(cs[i].node);
        c->entries = cs[i].entries;
        s->targets[i] = c;
    }
    free(cs);
    j->res = s;
    return 0;
}
