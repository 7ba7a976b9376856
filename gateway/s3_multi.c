/*
 * s3_multi.c - DeleteObjects: up to 1000 keys in one XML body, deleted
 * with a window of storage calls in flight (each delete is its own
 * synced write, so running them together lets them share WAL syncs).
 * Under overload the request is refused before its body is read; a key
 * whose delete storage refuses, or that comes while storage is over its
 * limit, is reported as a SlowDown error for that key and not deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/ring.h"
#include "gateway/s3obj.h"
#include "gateway/s3pb.h"
#include "storage/contract.h"

#define BODY_MAX (2u << 20)
#define WINDOW 32

typedef struct {
    gw_del_req_t req;
    gw_xml_deleted_t *out;
    size_t next, done;
} multi_t;

static void multi_free(void *x)
{
    multi_t *m = x;
    gw__del_req_destroy(&m->req);
    free(m->out);
    free(m);
}

static int finish(gw_req_t *r, s3_t *s, multi_t *mt)
{
    s3obj_changed(r, s); /* again: a GET during the deletes may have
                            filled the cache with a key now gone */
    gw_xbuf_t b;
    gw__xbuf_init(&b, 0);
    int rc = gw__s3xml_delete_result(&b, mt->out, mt->req.n, mt->req.quiet);
    if (rc < 0) {
        gw__xbuf_destroy(&b);
        return rc;
    }
    return s3_xml(r, 200, &b);
}

static int send_next(gw_req_t *r, s3_t *s, multi_t *mt);

/* data packs the request's seq and the key's index. */
static int on_one(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    uintptr_t d = (uintptr_t)data;
    gw_req_t *r = gw__conn_req(self, d >> 16);
    if (r == NULL)
        return 0;
    s3_t *s = r->op;
    multi_t *mt = s->x;
    size_t i = d & 0xFFFF;
    if (status == 0)
        status = reply->reason;
    mt->out[i].err = status == CLEO_ENOTFOUND ? 0 : status;
    mt->done++;
    int rc = send_next(r, s, mt);
    if (rc < 0)
        gw__req_fail(r, rc);
    return 0;
}

/* Fill the window; the last key done (answered or refused) finishes. */
static int send_next(gw_req_t *r, s3_t *s, multi_t *mt)
{
    rt_actor_t *self = gw__req_actor(r);
    rt_t *rt = rt_actor_rt(self);
    while (mt->next < mt->req.n && mt->next - mt->done < WINDOW) {
        size_t i = mt->next++;
        mt->out[i].key = mt->req.objs[i].key;
        rt_pid_t to;
        int err = gw__ring_primary(r->conf, rt, s->snap, s->bucket,
                                   mt->out[i].key, &to);
        if (err == 0 && rt_is_overloaded(rt, to))
            err = CLEO_EOVERLOAD; /* shed: this key is not deleted */
        if (err < 0) {
            mt->out[i].err = err;
            mt->done++;
            continue;
        }
        rt_msg_t *m = s3pb_object(STO_MSG_DELETE, s->bucket, mt->out[i].key);
        int rc = rt_call(self, to, m, 60000, on_one,
                         (void *)(uintptr_t)((r->seq << 16) | i));
        if (rc < 0)
            return rc;
    }
    return mt->done == mt->req.n ? finish(r, s, mt) : 0;
}

static int on_body(gw_req_t *r)
{
    s3_t *s = r->op;
    multi_t *mt = s->x;
    int rc = s3_body_final(r, s);
    if (rc < 0)
        return rc;
    if (r->body == NULL)
        return GW_EBADXML;
    rc = gw__s3xml_parse_delete(rt_buf_data(r->body), rt_buf_len(r->body),
                                BODY_MAX, &mt->req);
    if (rc < 0)
        return rc;
    mt->out = calloc(mt->req.n, sizeof *mt->out);
    if (mt->out == NULL)
        return CLEO_ENOMEM;
    s3obj_changed(r, s); /* any of the keys: drop the bucket's entries */
    return send_next(r, s, mt);
}

int s3_multi_delete(gw_req_t *r, s3_t *s)
{
    multi_t *mt = calloc(1, sizeof *mt);
    if (mt == NULL)
        return CLEO_ENOMEM;
    s->x = mt, s->x_free = multi_free;
    int rc = s3_body_checks(r, s);
    if (rc < 0)
        return rc;
    if (r->head->content_length > (int64_t)BODY_MAX)
        return GW_EMAXMSG;
    if (r->conf->view == NULL && (rc = s3_storage_check(r, s)) < 0)
        return rc; /* one node; in a cluster each key is checked */
    r->on_body = on_body;
    return gw__req_read_body(r, GW_BODY_BUFFER, BODY_MAX);
}
