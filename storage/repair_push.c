/*
 * repair_push.c - one repair queue entry's push (repair.h): this node's
 * version of the key, read through its engine, written to the target's
 * engine as a replica write of that version, then the entry removed.
 * A chain of calls from the repairer, each continuing in the next
 * callback; a big object moves one block at a time.
 */
#include "storage/repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"
#include "storage/pb.h"

struct sto__push_s {
    rt_pid_t local, target;          /* this node's engine, the target's */
    sto__rq_entry_t e;               /* the entry */
    Cleo__Storage__ObjectInfo *info; /* the version pushed; NULL before */
    rt_pid_t rd;                     /* this node's get stream; NONE = none */
    rt_pid_t wr;                     /* the target's put stream; NONE = none */
    uint64_t left;                   /* bytes still to read from rd */
    rt_buf_t *blk;                   /* the block read, not yet written */
    sto__push_cb cb;
    void *data;
};

static int vcmp(const sto_version_t *a, const sto_version_t *b)
{
    if (a->clock != b->clock)
        return a->clock < b->clock ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node ? 1 : 0;
}

static int status_of(const rt_msg_t *reply, int status)
{
    return status == 0 && reply != NULL ? reply->reason : status;
}

static bool is_pb(const void *pb, const ProtobufCMessageDescriptor *d)
{
    return pb != NULL && ((const ProtobufCMessage *)pb)->descriptor == d;
}

/* Did the target (or the way to it) not answer, rather than refuse? */
static bool is_down(int rc)
{
    return rc == CLEO_ENOCONNECTION || rc == CLEO_ETIMEDOUT ||
           rc == CLEO_ENOPROC || rc == CLEO_EBADPID || rc == CLEO_EOVERLOAD ||
           rc == CLEO_ESHUTDOWN;
}

static int ignore(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    (void)self, (void)reply, (void)status, (void)data;
    return 0;
}

/* Stop a stream that is still open (its put aborts, its get closes). */
static void stream_abort(rt_actor_t *self, rt_pid_t *s)
{
    if (*s == RT_PID_NONE)
        return;
    (void)gen_server_call(self, *s, rt_msg_new(STO_MSG_STREAM_ABORT),
                          STO__REPAIR_CALL_MS, ignore, NULL);
    *s = RT_PID_NONE;
}

/* The end: streams still open are aborted, and the repairer told. */
static int end(rt_actor_t *self, sto__push_t *p, sto__push_end_t how,
               bool removed)
{
    stream_abort(self, &p->rd);
    stream_abort(self, &p->wr);
    p->cb(self, p->data, p, how, removed);
    return 0;
}

/* A call of the push; on a refusal (no callback) the push ends. */
static int call(rt_actor_t *self, sto__push_t *p, rt_pid_t to, rt_msg_t *m,
                rt_reply_cb cb)
{
    if (gen_server_call(self, to, m, STO__REPAIR_CALL_MS, cb, p) < 0)
        return end(self, p, STO__PUSH_FAIL, false);
    return 0;
}

static sto_version_t info_version(const Cleo__Storage__ObjectInfo *i)
{
    return (sto_version_t){i->clock, i->clock_node};
}

static Cleo__Storage__Version *version_pb(const Cleo__Storage__ObjectInfo *i)
{
    Cleo__Storage__Version *v = sto__pb_calloc(1, sizeof *v);
    cleo__storage__version__init(v);
    v->clock = i->clock;
    v->node = i->clock_node;
    v->last_modified_ms = i->last_modified_ms;
    return v;
}

static Cleo__Storage__ObjectReq *object_req(const sto__push_t *p)
{
    Cleo__Storage__ObjectReq *q = sto__pb_calloc(1, sizeof *q);
    cleo__storage__object_req__init(q);
    q->bucket = sto__pb_strdup(p->e.bucket);
    q->key = sto__pb_strdup(p->e.key);
    return q;
}

/* The replica write's record: the pushed version's metadata. */
static Cleo__Storage__PutReq *put_req(const sto__push_t *p)
{
    const Cleo__Storage__ObjectInfo *i = p->info;
    Cleo__Storage__PutReq *q = sto__pb_calloc(1, sizeof *q);
    cleo__storage__put_req__init(q);
    q->bucket = sto__pb_strdup(p->e.bucket);
    q->key = sto__pb_strdup(p->e.key);
    q->content_type = sto__pb_strdup(i->content_type);
    q->content_encoding = sto__pb_strdup(i->content_encoding);
    q->cache_control = sto__pb_strdup(i->cache_control);
    q->n_user_meta = i->n_user_meta;
    q->user_meta = sto__pb_calloc(i->n_user_meta, sizeof *q->user_meta);
    for (size_t k = 0; k < i->n_user_meta; k++) {
        Cleo__Storage__MetaKV *kv = sto__pb_calloc(1, sizeof *kv);
        cleo__storage__meta_kv__init(kv);
        kv->key = sto__pb_strdup(i->user_meta[k]->key);
        kv->value = sto__pb_strdup(i->user_meta[k]->value);
        q->user_meta[k] = kv;
    }
    q->version = version_pb(i);
    return q;
}

/* Take the ObjectInfo the push now carries (ours: freed with p). */
static void info_set(sto__push_t *p, Cleo__Storage__ObjectInfo *i)
{
    if (p->info != NULL)
        cleo__storage__object_info__free_unpacked(p->info, NULL);
    p->info = i;
}

/* ---- the entry leaves the queue ------------------------------------- */

static int on_removed(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    const Cleo__Storage__RepairResult *r = st == 0 ? reply->payload : NULL;
    bool removed =
        is_pb(r, &cleo__storage__repair_result__descriptor) && r->changed;
    bool pushed = p->info != NULL;
    if (st < 0)
        return end(self, p, STO__PUSH_FAIL, false);
    return end(self, p, pushed ? STO__PUSH_OK : STO__PUSH_DROP, removed);
}

/* Remove the entry unless it names a version newer than v's. */
static int remove_entry(rt_actor_t *self, sto__push_t *p, sto_version_t v)
{
    Cleo__Storage__RepairItem *it = sto__pb_calloc(1, sizeof *it);
    cleo__storage__repair_item__init(it);
    it->node = sto__pb_strdup(p->e.node);
    it->bucket = sto__pb_strdup(p->e.bucket);
    it->key = sto__pb_strdup(p->e.key);
    it->version = sto__pb_calloc(1, sizeof *it->version);
    cleo__storage__version__init(it->version);
    it->version->clock = v.clock;
    it->version->node = v.node;
    rt_msg_t *m = rt_msg_new(STO_MSG_REPAIR_REMOVE);
    rt_msg_set_pb(m, it);
    return call(self, p, p->local, m, on_removed);
}

/* Nothing to push: the entry goes (unless replaced meanwhile). */
static int drop(rt_actor_t *self, sto__push_t *p)
{
    info_set(p, NULL);
    return remove_entry(self, p, p->e.v);
}

/* The target answered the replica write. */
static int on_pushed(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    if (st != CLEO_ETIMEDOUT) /* a stream that answered has stopped */
        p->wr = RT_PID_NONE;
    if (st < 0 && st != STO_ESUPERSEDED)
        return end(self, p, is_down(st) ? STO__PUSH_DOWN : STO__PUSH_FAIL,
                   false);
    return remove_entry(self, p, info_version(p->info));
}

/* ---- a tombstone, a whole object ------------------------------------ */

static int push_delete(rt_actor_t *self, sto__push_t *p)
{
    Cleo__Storage__ObjectReq *q = object_req(p);
    q->version = version_pb(p->info);
    rt_msg_t *m = rt_msg_new(STO_MSG_DELETE);
    rt_msg_set_pb(m, q);
    return call(self, p, p->target, m, on_pushed);
}

static int on_got(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    rt_body_t *b = st == 0 ? rt_msg_body(reply) : NULL;
    if (st == 0 && (b == NULL || b->buf == NULL ||
                    !is_pb(b->pb, &cleo__storage__object_info__descriptor)))
        st = CLEO_EPROTO;
    if (st < 0) /* gone or changed since the HEAD: the next pass */
        return end(self, p, STO__PUSH_FAIL, false);
    info_set(p, b->pb); /* what was read, maybe newer than the HEAD's */
    b->pb = NULL;
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT);
    rt_msg_set_body(m, put_req(p), b->buf); /* the reference moves */
    b->buf = NULL;
    return call(self, p, p->target, m, on_pushed);
}

static int get_whole(rt_actor_t *self, sto__push_t *p)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_GET);
    rt_msg_set_pb(m, object_req(p));
    return call(self, p, p->local, m, on_got);
}

/* ---- a big object: one block at a time ------------------------------ */

static int write_block(rt_actor_t *self, sto__push_t *p);

static int on_read(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    rt_buf_t *b = st == 0 ? reply->payload : NULL;
    if (st == 0 && (b == NULL || rt_buf_len(b) == 0 || rt_buf_len(b) > p->left))
        st = STO_ECORRUPT; /* short or long: not the object we opened */
    if (st < 0) {
        if (st != CLEO_ETIMEDOUT) /* it answered: it has stopped */
            p->rd = RT_PID_NONE;
        return end(self, p, STO__PUSH_FAIL, false);
    }
    reply->payload = NULL; /* ours */
    p->left -= rt_buf_len(b);
    p->blk = b;
    if (p->left == 0)
        p->rd = RT_PID_NONE; /* it ends by itself after the last block */
    return write_block(self, p);
}

/* The MD5 of a plain ETag (32 hex digits) into md5, else false. */
static bool etag_md5(const char *etag, uint8_t md5[16])
{
    if (strlen(etag) != 32)
        return false;
    for (int k = 0; k < 16; k++) {
        unsigned v;
        if (sscanf(etag + 2 * k, "%2x", &v) != 1)
            return false;
        md5[k] = (uint8_t)v;
    }
    return true;
}

static int commit(rt_actor_t *self, sto__push_t *p)
{
    Cleo__Storage__PutCommit *c = sto__pb_calloc(1, sizeof *c);
    cleo__storage__put_commit__init(c);
    c->size = (int64_t)p->info->size;
    uint8_t md5[16];
    if (etag_md5(p->info->etag, md5)) {
        c->md5.data = sto__pb_calloc(1, sizeof md5);
        memcpy(c->md5.data, md5, sizeof md5);
        c->md5.len = sizeof md5;
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    return call(self, p, p->wr, m, on_pushed);
}

static int on_written(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    if (st < 0) {
        if (st != CLEO_ETIMEDOUT) /* it answered: it has stopped */
            p->wr = RT_PID_NONE;
        return end(self, p, is_down(st) ? STO__PUSH_DOWN : STO__PUSH_FAIL,
                   false);
    }
    if (p->left == 0)
        return commit(self, p);
    return call(self, p, p->rd, rt_msg_new(STO_MSG_STREAM_READ), on_read);
}

static int write_block(rt_actor_t *self, sto__push_t *p)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_STREAM_WRITE);
    rt_msg_set_buf(m, p->blk); /* the reference moves */
    p->blk = NULL;
    return call(self, p, p->wr, m, on_written);
}

static int on_begun(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    if (st < 0)
        return end(self, p, is_down(st) ? STO__PUSH_DOWN : STO__PUSH_FAIL,
                   false);
    p->wr = reply->from; /* the stream answers (storage/contract.h) */
    return write_block(self, p);
}

static int on_opened(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    rt_body_t *b = st == 0 ? rt_msg_body(reply) : NULL;
    Cleo__Storage__GetOpen *go = b != NULL ? b->pb : NULL;
    if (st == 0 &&
        (!is_pb(go, &cleo__storage__get_open__descriptor) || go->info == NULL ||
         b->buf == NULL || rt_buf_len(b->buf) > go->len))
        st = CLEO_EPROTO;
    if (st < 0)
        return end(self, p, STO__PUSH_FAIL, false);
    if (go->stream != 0)
        p->rd = reply->from;
    p->left = go->len - rt_buf_len(b->buf);
    if (p->left > 0 && p->rd == RT_PID_NONE)
        return end(self, p, STO__PUSH_FAIL, false);
    info_set(p, go->info); /* the version read, maybe newer */
    go->info = NULL;
    p->blk = b->buf;
    b->buf = NULL;
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT_BEGIN);
    rt_msg_set_pb(m, put_req(p));
    return call(self, p, p->target, m, on_begun);
}

static int get_open(rt_actor_t *self, sto__push_t *p)
{
    Cleo__Storage__GetReq *q = sto__pb_calloc(1, sizeof *q);
    cleo__storage__get_req__init(q);
    q->bucket = sto__pb_strdup(p->e.bucket);
    q->key = sto__pb_strdup(p->e.key);
    rt_msg_t *m = rt_msg_new(STO_MSG_GET_OPEN);
    rt_msg_set_pb(m, q);
    return call(self, p, p->local, m, on_opened);
}

/* ---- the start: what does this node hold? --------------------------- */

static int on_head(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    sto__push_t *p = data;
    int st = status_of(reply, status);
    if (st == CLEO_ENOTFOUND || st == STO_ENOBUCKET)
        return drop(self, p);
    if (st == 0 &&
        !is_pb(reply->payload, &cleo__storage__object_info__descriptor))
        st = CLEO_EPROTO;
    if (st < 0)
        return end(self, p, STO__PUSH_FAIL, false);
    info_set(p, reply->payload);
    reply->payload = NULL;
    sto_version_t have = info_version(p->info);
    if (vcmp(&have, &p->e.v) < 0)
        return drop(self, p);
    if (p->info->deleted)
        return push_delete(self, p);
    if (p->info->size <= STO__REPAIR_WHOLE_MAX)
        return get_whole(self, p);
    return get_open(self, p);
}

int sto__push_start(rt_actor_t *self, rt_pid_t local, rt_pid_t target,
                    const sto__rq_entry_t *e, sto__push_cb cb, void *data,
                    sto__push_t **out)
{
    if (local == RT_PID_NONE || target == RT_PID_NONE || cb == NULL)
        return CLEO_EINVAL;
    sto__push_t *p = cleo_xcalloc(1, sizeof *p); /* control struct */
    p->local = local, p->target = target;
    p->e = *e;
    p->rd = p->wr = RT_PID_NONE;
    p->cb = cb, p->data = data;
    Cleo__Storage__ObjectReq *q = object_req(p);
    q->tombstones = true;
    rt_msg_t *m = rt_msg_new(STO_MSG_HEAD);
    rt_msg_set_pb(m, q);
    if (gen_server_call(self, local, m, STO__REPAIR_CALL_MS, on_head, p) < 0) {
        free(p);
        return CLEO_EINVAL;
    }
    *out = p;
    return 0;
}

void sto__push_free(sto__push_t *p)
{
    if (p == NULL)
        return;
    if (p->info != NULL)
        cleo__storage__object_info__free_unpacked(p->info, NULL);
    rt_buf_unref(p->blk);
    free(p);
}
