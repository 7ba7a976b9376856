/*
 * agent_mq.c - `cleo-adm mq-stats [NODE]` (issue 12), as LeoFS's: the
 * repair queues of a storage node (its sto_repair: storage/contract.h),
 * one line per target node with the entries queued for it and what the
 * repairer did since it started. NODE defaults to this node; another is
 * asked over distribution.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manager/admin.h"
#include "manager/agent_int.h"
#include "storage/contract.h"

#define MQ_CALL_MS 3000u

typedef struct {
    rt_from_t from;
    char node[256];
} mq_ask_t;

static char *mq_text(const char *node, const Cleo__Storage__RepairStats *st,
                     json_t *arr)
{
    char *text = NULL;
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    if (f == NULL)
        return NULL;
    fprintf(f, "repair queues of %s\n", node);
    if (st->n_targets == 0)
        fprintf(f, "  (none: every replica has every write)\n");
    for (size_t i = 0; i < st->n_targets; i++) {
        const Cleo__Storage__RepairCount *t = st->targets[i];
        fprintf(f,
                "  %-24s %8llu queued  %8llu repaired  %6llu failed  "
                "%6llu dropped%s\n",
                t->node, (unsigned long long)t->entries,
                (unsigned long long)t->repaired, (unsigned long long)t->failed,
                (unsigned long long)t->dropped,
                t->retry_ms > 0 ? "  (retrying)" : "");
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}",
                                             "node", t->node, "entries",
                                             (json_int_t)t->entries, "repaired",
                                             (json_int_t)t->repaired, "failed",
                                             (json_int_t)t->failed, "dropped",
                                             (json_int_t)t->dropped, "retry_ms",
                                             (json_int_t)t->retry_ms));
    }
    fclose(f);
    return text;
}

static int on_mq(rt_actor_t *self, rt_msg_t *r, int status, void *data)
{
    mq_ask_t *k = data;
    const ProtobufCMessage *pb =
        status == 0 && r->reason == 0 ? r->payload : NULL;
    if (pb == NULL ||
        pb->descriptor != &cleo__storage__repair_stats__descriptor) {
        char line[512];
        snprintf(line, sizeof line,
                 "mq-stats: %.256s answered no repair queues (%s)", k->node,
                 cleo_err_name(status < 0 ? status : CLEO_EPROTO));
        mgr__agent_reply_err(self, k->from, status < 0 ? status : CLEO_EPROTO,
                             line);
        free(k);
        return 0;
    }
    const Cleo__Storage__RepairStats *st = (const void *)pb;
    json_t *arr = json_array();
    char *text = mq_text(k->node, st, arr);
    json_int_t total = 0;
    for (size_t i = 0; i < st->n_targets; i++)
        total += (json_int_t)st->targets[i]->entries;
    json_t *j = json_pack("{s:s, s:I, s:o}", "node", k->node, "entries", total,
                          "targets", arr);
    char *js = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    mgr__agent_reply(self, k->from, mgr__reply_new(0, text, js));
    free(k);
    return 0;
}

void mgr__agent_mq_stats(rt_actor_t *self, rt_from_t from, const char *node)
{
    agent_t *a = rt_state(self);
    rt_t *rt = rt_actor_rt(self);
    const char *me = a->o->node;
    if (node == NULL)
        node = me;
    rt_pid_t to = RT_PID_NONE;
    uint16_t idx;
    if (strcmp(node, me) == 0)
        to = rt_whereis(rt, STO_REPAIR_NAME);
    else if (rt_dist_node(rt, node, &idx) == 0 && rt_dist_is_up(rt, idx))
        to = rt_dist_named(rt, idx, STO_REPAIR_NAME);
    else {
        char line[512];
        snprintf(line, sizeof line, "mq-stats: %.256s is not a connected node",
                 node);
        mgr__agent_reply_err(self, from, CLEO_ENOTFOUND, line);
        return;
    }
    mq_ask_t *k = cleo_xcalloc(1, sizeof *k); /* one call's context */
    k->from = from;
    snprintf(k->node, sizeof k->node, "%s", node);
    if (to == RT_PID_NONE || rt_call(self, to, rt_msg_new(STO_MSG_REPAIR_STATS),
                                     MQ_CALL_MS, on_mq, k) < 0)
        (void)on_mq(self, NULL, CLEO_ENOPROC, k);
}
