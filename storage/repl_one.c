/*
 * repl_one.c - the coordinator of a whole-object PUT or a DELETE
 * (repl.h): one call to each reachable replica's engine with the record,
 * the version and (PUT) a reference on the bytes; the answer once W (D)
 * replicas have it. An unlinked actor per write that stops when its last
 * call is back (each bounded by STO__REPL_CALL_MS).
 */
#include "storage/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "actors/actors.h"

typedef struct {
    sto__repl_set_t s;
    rt_from_t from; /* the gateway's call */
    uint32_t type;  /* STO_MSG_PUT or STO_MSG_DELETE */
    uint32_t sent, ok, failed;
    int err; /* a replica's definite error, else 0 */
    bool answered;
    int answer_rc;
    bool bad[STO__REPL_MAX];
    rt_msg_t *msg[STO__REPL_MAX];    /* the calls, until sent */
    Cleo__Storage__ObjectInfo *info; /* a replica's answer (PUT) */
    rt_buf_t *body;                  /* the PUT's bytes */
} one_t;

/* An ObjectInfo for a PUT that every replica answered superseded: what
 * the client wrote (its MD5), under the version stamped. */
static Cleo__Storage__ObjectInfo *info_of_body(const one_t *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    if (EVP_Digest(rt_buf_data(c->body), rt_buf_len(c->body), md, &mdl,
                   EVP_md5(), NULL) != 1 ||
        mdl != 16)
        memset(md, 0, sizeof md);
    Cleo__Storage__ObjectInfo *i = cleo_xmalloc(sizeof *i);
    cleo__storage__object_info__init(i);
    i->bucket = sto__repl_dup(c->s.bucket);
    i->key = sto__repl_dup(c->s.key);
    i->size = rt_buf_len(c->body);
    char *hex = cleo_xmalloc(2 * 16 + 1);
    for (unsigned k = 0; k < 16; k++)
        snprintf(hex + 2 * k, 3, "%02x", md[k]);
    i->etag = hex;
    i->last_modified_ms = c->s.lm;
    i->clock = c->s.clock;
    i->clock_node = c->s.clock_node;
    return i;
}

static void answer(rt_actor_t *self, one_t *c, int status)
{
    c->answered = true;
    c->answer_rc = status;
    rt_msg_t *r = rt_msg_new(c->type);
    r->reason = status;
    if (status == 0 && c->type == STO_MSG_PUT) {
        rt_msg_set_pb(r, c->info != NULL ? c->info : info_of_body(c));
        c->info = NULL;
    }
    (void)rt_reply(rt_actor_rt(self), c->from, r);
}

static int on_replica(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    one_t *c = rt_state(self);
    size_t i = (size_t)(uintptr_t)data;
    if (status == 0 && reply != NULL)
        status = reply->reason;
    if (status == 0 || status == STO_ESUPERSEDED) {
        c->ok++;
        const ProtobufCMessage *pb = status == 0 ? reply->payload : NULL;
        if (c->info == NULL && pb != NULL &&
            pb->descriptor == &cleo__storage__object_info__descriptor) {
            c->info = reply->payload; /* ours now */
            reply->payload = NULL;
        }
    } else {
        c->failed++;
        c->bad[i] = true;
        if (c->err == 0 && sto__repl_definite(status))
            c->err = status;
        if (c->answered)
            logger_log(rt_actor_rt(self), LOG_WARNING,
                       "replica write of %s/%s to %s failed after the "
                       "answer (%s): it needs repair",
                       c->s.bucket, c->s.key, c->s.node[i],
                       cleo_err_name(status));
    }
    if (!c->answered && c->ok >= c->s.need)
        answer(self, c, 0);
    else if (!c->answered && c->sent - c->failed < c->s.need)
        answer(self, c, c->err != 0 ? c->err : CLEO_ENOCONNECTION);
    return c->ok + c->failed == c->sent ? RT_STOP : 0;
}

static int one_init(rt_actor_t *self, void *arg)
{
    one_t *c = arg;
    rt_set_state(self, c);
    for (size_t i = 0; i < c->s.n; i++) {
        rt_msg_t *m = c->msg[i];
        c->msg[i] = NULL;
        if (rt_call(self, c->s.to[i], m, STO__REPL_CALL_MS, on_replica,
                    (void *)(uintptr_t)i) == 0)
            c->sent++;
        else
            c->bad[i] = true;
    }
    if (c->sent < c->s.need) /* a call could not even be made */
        answer(self, c, CLEO_ENOCONNECTION);
    if (c->sent == 0)
        rt_exit_self(self, RT_REASON_NORMAL);
    return 0;
}

static int one_handle(rt_actor_t *self, rt_msg_t *m)
{
    (void)self, (void)m;
    return 0; /* only call replies, which go to on_replica */
}

static void one_free(one_t *c)
{
    for (size_t i = 0; i < STO__REPL_MAX; i++)
        rt_msg_free(c->msg[i]);
    if (c->info != NULL)
        cleo__storage__object_info__free_unpacked(c->info, NULL);
    rt_buf_unref(c->body);
    free(c);
}

static void one_destroy(rt_actor_t *self, int reason)
{
    one_t *c = rt_state(self);
    if (c == NULL)
        return;
    if (!c->answered)
        answer(self, c, reason < 0 ? reason : CLEO_ENOCONNECTION);
    else if (c->answer_rc == 0)
        sto__repl_missed(rt_actor_rt(self), &c->s, c->bad);
    one_free(c);
}

static const rt_behaviour_t one_beh = {.name = "sto_repl_one",
                                       .init = one_init,
                                       .handle = one_handle,
                                       .destroy = one_destroy};

/* Replica i's call: its own copy of the record (unpacked from rec) with
 * the version, and for a PUT a reference on the bytes. */
static rt_msg_t *replica_msg(const one_t *c, const uint8_t *rec, size_t len)
{
    rt_msg_t *m = rt_msg_new(c->type);
    m->tag = c->s.tag;
    if (c->type == STO_MSG_PUT) {
        Cleo__Storage__PutReq *q =
            cleo__storage__put_req__unpack(NULL, len, rec);
        if (q == NULL)
            return rt_msg_free(m), NULL;
        q->version = sto__repl_version(&c->s);
        rt_msg_set_body(m, q, rt_buf_ref(c->body));
    } else {
        Cleo__Storage__ObjectReq *q =
            cleo__storage__object_req__unpack(NULL, len, rec);
        if (q == NULL)
            return rt_msg_free(m), NULL;
        q->version = sto__repl_version(&c->s);
        rt_msg_set_pb(m, q);
    }
    return m;
}

int sto__repl_one_start(rt_actor_t *self, const sto__repl_set_t *s,
                        uint32_t type, const uint8_t *record, size_t len,
                        rt_buf_t *body, rt_from_t from)
{
    one_t *c = cleo_xcalloc(1, sizeof *c); /* control struct */
    c->s = *s;
    c->from = from;
    c->type = type;
    c->body = body;
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++)
        if ((c->msg[i] = replica_msg(c, record, len)) == NULL)
            rc = CLEO_EBADREQ;
    if (rc == 0) {
        rt_spawn_opts_t so = {.sched = RT_SCHED_ANY};
        rc = rt_spawn(rt_actor_rt(self), self, &one_beh, c, &so, NULL);
    }
    if (rc < 0)
        one_free(c);
    return rc;
}
