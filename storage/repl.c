/*
 * repl.c - replicated writes (repl.h): the engine's view of the cluster,
 * where a write goes (its replicas and its version), and the start of
 * its coordinator (repl_one.c for a whole object or a delete,
 * repl_stream.c for a streamed put).
 */
#include "storage/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cluster.pb-c.h"
#include "storage/repair.h"

/* ---- the view ------------------------------------------------------- */

int sto__view_set(sto__view_t *v, const uint8_t *buf, size_t len)
{
    Cleo__Cluster__ClusterState *st =
        cleo__cluster__cluster_state__unpack(NULL, len, buf);
    if (st == NULL)
        return CLEO_EPROTO;
    int rc = 0;
    const Cleo__Cluster__Ring *rp = st->ring_cur;
    bool same = v->ring != NULL && rp != NULL &&
                ring_version(v->ring) == rp->version &&
                ring_checksum(v->ring) == rp->checksum;
    if (!same) {
        ring_t *r = NULL;
        if (rp != NULL && rp->version != 0 && rp->n_entries > 0 &&
            (rc = ring_from_pb(rp, &r)) < 0) {
            cleo__cluster__cluster_state__free_unpacked(st, NULL);
            return rc;
        }
        ring_free(v->ring);
        v->ring = r;
    }
    v->version = rp != NULL ? (uint32_t)rp->version : 0;
    if (st->conf != NULL) {
        v->n = st->conf->n;
        v->w = st->conf->w;
        v->r = st->conf->r;
        v->d = st->conf->d;
    }
    cleo__cluster__cluster_state__free_unpacked(st, NULL);
    return 0;
}

void sto__view_free(sto__view_t *v)
{
    if (v == NULL)
        return;
    ring_free(v->ring);
    v->ring = NULL;
}

bool sto__repl_wants(const sto__view_t *v, const rt_msg_t *req)
{
    if (v->ring == NULL || v->n < 2)
        return false;
    const ProtobufCMessage *pb = NULL;
    if (req->type == STO_MSG_PUT_BEGIN) {
        pb = req->payload;
        return pb != NULL &&
               pb->descriptor == &cleo__storage__put_req__descriptor &&
               ((const Cleo__Storage__PutReq *)pb)->version == NULL;
    }
    if (req->type == STO_MSG_PUT) {
        rt_body_t *b = rt_msg_body(req);
        pb = b != NULL ? b->pb : NULL;
        return pb != NULL &&
               pb->descriptor == &cleo__storage__put_req__descriptor &&
               ((const Cleo__Storage__PutReq *)pb)->version == NULL;
    }
    if (req->type == STO_MSG_DELETE) {
        pb = req->payload;
        return pb != NULL &&
               pb->descriptor == &cleo__storage__object_req__descriptor &&
               ((const Cleo__Storage__ObjectReq *)pb)->version == NULL;
    }
    return false;
}

/* ---- where a write goes ---------------------------------------------- */

/* The engine of replica node: this node's (self), or {sto_engine, node}
 * if distribution has a live connection to it; RT_PID_NONE if neither. */
static rt_pid_t engine_of(rt_actor_t *self, const char *node)
{
    rt_t *rt = rt_actor_rt(self);
    const char *me = rt_dist_name(rt);
    uint16_t idx;
    if (me != NULL && strcmp(node, me) == 0)
        return rt_self(self);
    if (rt_dist_node(rt, node, &idx) < 0)
        return RT_PID_NONE;
    if (!rt_dist_is_up(rt, idx)) {
        (void)rt_dist_connect(rt, idx); /* for the next write */
        return RT_PID_NONE;
    }
    return rt_dist_named(rt, idx, STO_ENGINE_NAME);
}

Cleo__Storage__Version *sto__repl_version(const sto__repl_set_t *s)
{
    Cleo__Storage__Version *v = cleo_xmalloc(sizeof *v);
    cleo__storage__version__init(v);
    v->clock = s->clock;
    v->node = s->clock_node;
    v->last_modified_ms = s->lm;
    return v;
}

void sto__repl_missed(rt_t *rt, const sto__repl_set_t *s, const bool *bad)
{
    for (uint32_t k = 0; k < s->nmiss; k++)
        (void)sto__repair_enqueue(rt, s->miss[k], s->bucket, s->key, s->clock,
                                  s->clock_node);
    for (uint32_t i = 0; i < s->n; i++)
        if (bad[i])
            (void)sto__repair_enqueue(rt, s->node[i], s->bucket, s->key,
                                      s->clock, s->clock_node);
}

char *sto__repl_dup(const char *str)
{
    size_t n = strlen(str) + 1;
    char *d = cleo_xmalloc(n); /* a record's field */
    memcpy(d, str, n);
    return d;
}

bool sto__repl_definite(int rc)
{
    return rc == STO_ENOBUCKET || rc == CLEO_EINVAL || rc == CLEO_EBADREQ ||
           rc == STO_ENOSPACE;
}

/* The reachable replicas of s's key, in RING order; fewer than s->need
 * is CLEO_ENOCONNECTION. */
static int place(rt_actor_t *self, const sto__view_t *v, sto__repl_set_t *s)
{
    const char *names[STO__REPL_MAX];
    size_t got = 0;
    uint32_t n = v->n > STO__REPL_MAX ? STO__REPL_MAX : v->n;
    int rc = ring_replicas(v->ring, s->bucket, s->key, n, names, &got);
    if (rc < 0)
        return rc;
    s->n = 0;
    for (size_t i = 0; i < got; i++) {
        rt_pid_t to = engine_of(self, names[i]);
        if (to == RT_PID_NONE) {
            snprintf(s->miss[s->nmiss++], sizeof s->miss[0], "%s", names[i]);
            continue;
        }
        s->to[s->n] = to;
        snprintf(s->node[s->n], sizeof s->node[0], "%s", names[i]);
        s->n++;
    }
    if (s->need == 0 || s->need > got)
        s->need = (uint32_t)got;
    return s->n < s->need ? CLEO_ENOCONNECTION : 0;
}

/* req's record (PutReq or ObjectReq, checked by sto__repl_wants()), its
 * bucket and key into s. */
static const ProtobufCMessage *record_of(rt_msg_t *req, sto__repl_set_t *s)
{
    const ProtobufCMessage *pb;
    const char *bucket, *key;
    if (req->type == STO_MSG_PUT) {
        const Cleo__Storage__PutReq *q = rt_msg_body(req)->pb;
        pb = &q->base, bucket = q->bucket, key = q->key;
    } else if (req->type == STO_MSG_PUT_BEGIN) {
        const Cleo__Storage__PutReq *q = req->payload;
        pb = &q->base, bucket = q->bucket, key = q->key;
    } else {
        const Cleo__Storage__ObjectReq *q = req->payload;
        pb = &q->base, bucket = q->bucket, key = q->key;
    }
    if (strlen(bucket) > STO_BUCKET_MAX || strlen(key) > STO_KEY_MAX ||
        key[0] == '\0')
        return NULL;
    strcpy(s->bucket, bucket);
    strcpy(s->key, key);
    return pb;
}

int sto__repl_start(rt_actor_t *self, const sto__view_t *v, sto_db_t *db,
                    uint64_t node_id, rt_msg_t *req, rt_from_t from)
{
    sto__repl_set_t *s = cleo_xcalloc(1, sizeof *s); /* control struct */
    s->tag = v->version;
    s->need = req->type == STO_MSG_DELETE ? v->d : v->w;
    const ProtobufCMessage *pb = record_of(req, s);
    int rc = pb == NULL ? CLEO_EINVAL : place(self, v, s);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->clock = sto_clock_next(db);
    s->clock_node = node_id;
    s->lm = s->clock >> 16; /* the clock's wall ms */
    size_t len = protobuf_c_message_get_packed_size(pb);
    uint8_t *rec = cleo_xmalloc(len + 1); /* one record */
    protobuf_c_message_pack(pb, rec);
    if (req->type == STO_MSG_PUT_BEGIN) {
        rc = sto__repl_stream_start(self, s, rec, len, from);
    } else {
        rt_buf_t *body = NULL;
        rt_body_t *b = req->type == STO_MSG_PUT ? rt_msg_body(req) : NULL;
        if (b != NULL && b->buf != NULL)
            body = rt_buf_ref(b->buf);
        else if (req->type == STO_MSG_PUT && rt_buf_new(0, &body) < 0)
            body = NULL, rc = CLEO_ENOMEM;
        if (rc == 0)
            rc = sto__repl_one_start(self, s, req->type, rec, len, body, from);
    }
    free(rec);
    free(s);
    return rc;
}
