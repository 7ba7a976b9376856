/*
 * fan.c - calls to several storage nodes at once for one request.
 *
 * Each call's continuation finds the request by its seq and the call by
 * its index, both packed in the call's data word (seq << 16 | index), as
 * DeleteObjects does; a fan never has more calls than a RING has nodes
 * (RING_NODES_MAX, far below 1 << 16).
 */
#include "gateway/fan.h"

#include <stdlib.h>

#include "gateway/err.h"
#include "ring/ring.h"

#define FAN_CALL_MS 60000u

_Static_assert(RING_NODES_MAX < (1 << 16), "a fan's index fits 16 bits");

void s3_fan_free(s3_fan_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        if (f->payload[i] != NULL && f->pfree[i] != NULL)
            f->pfree[i](f->payload[i]);
    free(f->to);
    free(f->status);
    free(f->payload);
    free(f->pfree);
    free(f);
}

/* Every call is in: run the continuation with the fan detached from s,
 * so that it may start another. */
static int finish(gw_req_t *r, s3_t *s)
{
    s3_fan_t *f = s->fan;
    s->fan = NULL;
    int rc = f->fn(r, s, f);
    s3_fan_free(f);
    return rc;
}

static int on_fan_reply(rt_actor_t *self, rt_msg_t *reply, int status,
                        void *data)
{
    uintptr_t d = (uintptr_t)data;
    gw_req_t *r = gw__conn_req(self, (uint64_t)(d >> 16));
    if (r == NULL)
        return 0; /* the request is gone (client left) */
    s3_t *s = r->op;
    s3_fan_t *f = s->fan;
    size_t i = d & 0xFFFF;
    if (f == NULL || i >= f->n)
        return 0;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    f->status[i] = status;
    if (status == 0 && reply != NULL && reply->payload != NULL) {
        f->payload[i] = reply->payload; /* ours: the runtime frees it not */
        f->pfree[i] = reply->payload_free;
        reply->payload = NULL;
    }
    if (++f->done < f->n)
        return 0;
    int rc = finish(r, s);
    if (rc < 0)
        gw__req_fail(r, rc);
    return 0;
}

int s3_fan(gw_req_t *r, rt_pid_t *to, size_t n, const s3_fan_spec_t *spec)
{
    s3_t *s = r->op;
    s3_fan_t *f = calloc(1, sizeof *f);
    if (f == NULL) {
        free(to);
        return CLEO_ENOMEM;
    }
    f->n = n;
    f->to = to;
    f->fn = spec->fn;
    f->data = spec->data;
    f->arg = spec->arg;
    f->status = calloc(n + 1, sizeof *f->status);
    f->payload = calloc(n + 1, sizeof *f->payload);
    f->pfree = calloc(n + 1, sizeof *f->pfree);
    if (f->status == NULL || f->payload == NULL || f->pfree == NULL) {
        s3_fan_free(f);
        return CLEO_ENOMEM;
    }
    s3_fan_free(s->fan); /* none in flight: a fan ends before the next */
    s->fan = f;
    rt_actor_t *self = gw__req_actor(r);
    for (size_t i = 0; i < n; i++) {
        uintptr_t d = (uintptr_t)((r->seq << 16) | i);
        if (rt_call(self, to[i], spec->mk(s, i, spec->mk_arg), FAN_CALL_MS,
                    on_fan_reply, (void *)d) < 0) {
            f->status[i] = GW_EUNAVAILABLE;
            f->done++;
        }
    }
    return f->done == n ? finish(r, s) : 0;
}
