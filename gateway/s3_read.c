/*
 * s3_read.c - which replica a GET or HEAD reads (issue 12's read path).
 *
 * In a cluster with R > 1 the gateway asks the first R live replicas of
 * the key for their version (HEAD with tombstones) before it reads: the
 * newest (storage/sto.h sto_version_t: clock, then node) is the answer,
 * and the read goes to a replica that holds it. A tombstone is a version
 * like any other: newest, it is NoSuchKey. With R = 1, or without a
 * cluster, the read goes to the first live replica at once, as before.
 *
 * With W + R > N every read quorum meets every write quorum, so a read
 * sees every write acknowledged before it started.
 *
 * Replicas that answered an older version are left as they are here:
 * read-repair comes with the repair queue (the next step of issue 12).
 */
#include "gateway/s3obj.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/fan.h"
#include "gateway/ring.h"
#include "gateway/s3pb.h"
#include "gateway/view.h"
#include "storage/contract.h"

static rt_msg_t *mk_head(s3_t *s, size_t i, void *arg)
{
    (void)i, (void)arg;
    rt_msg_t *m = s3pb_object(STO_MSG_HEAD, s->bucket, s->key);
    ((Cleo__Storage__ObjectReq *)m->payload)->tombstones = true;
    return m;
}

/* Is a newer than b (clock, then node)? */
static bool newer(const Cleo__Storage__ObjectInfo *a,
                  const Cleo__Storage__ObjectInfo *b)
{
    return a->clock != b->clock ? a->clock > b->clock
                                : a->clock_node > b->clock_node;
}

static int on_versions(gw_req_t *r, s3_t *s, s3_fan_t *f)
{
    s3_reply_fn then = (s3_reply_fn)(uintptr_t)f->arg;
    const Cleo__Storage__ObjectInfo *best = NULL;
    size_t at = 0, answered = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->status[i] == CLEO_ENOTFOUND) {
            answered++;
            continue;
        }
        const ProtobufCMessage *pb = f->payload[i];
        if (f->status[i] < 0 || pb == NULL ||
            pb->descriptor != &cleo__storage__object_info__descriptor)
            continue;
        answered++;
        const Cleo__Storage__ObjectInfo *oi = f->payload[i];
        if (best == NULL || newer(oi, best))
            best = oi, at = i;
    }
    if (answered < f->n) /* R replicas must answer */
        return GW_EUNAVAILABLE;
    if (best == NULL || best->deleted) /* absent, or deleted last */
        return then(r, s, NULL, CLEO_ENOTFOUND);
    s->read_at = f->to[at];
    return then(r, s, NULL, 0);
}

int s3_read_pick(gw_req_t *r, s3_t *s, s3_reply_fn then)
{
    const gw_snap_t *snap = s->snap;
    uint32_t want = 1;
    if (r->conf->view != NULL && snap != NULL && snap->st->conf != NULL)
        want = snap->st->conf->r;
    if (want <= 1 || snap == NULL) {
        s->read_at = 0; /* the first live replica */
        return then(r, s, NULL, 0);
    }
    if (want > GW_RING_REPLICAS_MAX)
        want = GW_RING_REPLICAS_MAX;
    rt_pid_t *to = calloc(want, sizeof *to);
    if (to == NULL)
        return CLEO_ENOMEM;
    size_t n = 0;
    int rc =
        gw__ring_live(snap, gw__req_rt(r), s->bucket, s->key, want, to, &n);
    if (rc == 0 && n < want)
        rc = GW_EUNAVAILABLE; /* fewer than R replicas reachable */
    if (rc < 0) {
        free(to);
        return rc;
    }
    s3_fan_spec_t spec = {
        .mk = mk_head, .fn = on_versions, .arg = (uint64_t)(uintptr_t)then};
    return s3_fan(r, to, n, &spec);
}
