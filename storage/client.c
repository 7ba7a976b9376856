/*
 * client.c - the blocking client helpers: build a storage.proto request,
 * call the registered engine, take the status and record out of the
 * reply.
 */
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/pb.h"
#include "storage/sto.h"

/* ---- requests ------------------------------------------------------ */

/* Call the engine with req and return the reply's status; on 0, *out
 * gives the reply itself. */
static int call_reply(rt_t *rt, rt_msg_t *req, rt_msg_t **out)
{
    rt_pid_t pid = rt_whereis(rt, STO_ENGINE_NAME);
    if (pid == RT_PID_NONE) {
        rt_msg_free(req);
        return CLEO_ENOPROC;
    }
    rt_msg_t *reply;
    int rc = gen_server_call_sync(rt, pid, req, STO_CLIENT_TIMEOUT_MS, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (rc == 0)
        *out = reply;
    else
        rt_msg_free(reply);
    return rc;
}

/* As call_reply(); on 0, *out gives the reply's payload (NULL if none)
 * unless out is NULL. */
static int call(rt_t *rt, rt_msg_t *req, void **out)
{
    rt_msg_t *reply = NULL;
    int rc = call_reply(rt, req, &reply);
    if (rc == 0 && out != NULL) {
        *out = reply->payload;
        reply->payload = NULL; /* given to the caller */
    }
    if (rc == 0)
        rt_msg_free(reply);
    return rc;
}

static rt_msg_t *bucket_req(uint32_t type, const char *name, const char *owner)
{
    Cleo__Storage__BucketReq *r = sto__pb_calloc(1, sizeof *r);
    cleo__storage__bucket_req__init(r);
    r->name = sto__pb_strdup(name);
    r->owner = sto__pb_strdup(owner);
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, r);
    return m;
}

static rt_msg_t *object_req(uint32_t type, const char *bucket, const char *key)
{
    Cleo__Storage__ObjectReq *r = sto__pb_calloc(1, sizeof *r);
    cleo__storage__object_req__init(r);
    r->bucket = sto__pb_strdup(bucket);
    r->key = sto__pb_strdup(key);
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, r);
    return m;
}

int sto_client_bucket_create_sync(rt_t *rt, const char *name, const char *owner)
{
    return call(rt, bucket_req(STO_MSG_BUCKET_CREATE, name, owner), NULL);
}

int sto_client_bucket_delete_sync(rt_t *rt, const char *name)
{
    return call(rt, bucket_req(STO_MSG_BUCKET_DELETE, name, NULL), NULL);
}

int sto_client_bucket_exists_sync(rt_t *rt, const char *name, bool *out)
{
    void *p = NULL;
    int rc = call(rt, bucket_req(STO_MSG_BUCKET_EXISTS, name, NULL), &p);
    if (rc < 0)
        return rc;
    Cleo__Storage__BucketExists *e = p;
    *out = e->exists;
    protobuf_c_message_free_unpacked(p, NULL);
    return 0;
}

int sto_client_bucket_list_sync(rt_t *rt, Cleo__Storage__BucketList **out)
{
    void *p = NULL;
    int rc = call(rt, rt_msg_new(STO_MSG_BUCKET_LIST), &p);
    if (rc == 0)
        *out = p;
    return rc;
}

int sto_client_bucket_du_sync(rt_t *rt, const char *name,
                              Cleo__Storage__BucketInfo **out)
{
    void *p = NULL;
    int rc = call(rt, bucket_req(STO_MSG_BUCKET_DU, name, NULL), &p);
    if (rc == 0)
        *out = p;
    return rc;
}

static Cleo__Storage__PutReq *put_req(const char *bucket, const char *key,
                                      const sto_put_opts_t *o)
{
    Cleo__Storage__PutReq *r = sto__pb_calloc(1, sizeof *r);
    cleo__storage__put_req__init(r);
    r->bucket = sto__pb_strdup(bucket);
    r->key = sto__pb_strdup(key);
    if (o == NULL)
        return r;
    r->content_type = sto__pb_strdup(o->content_type);
    r->content_encoding = sto__pb_strdup(o->content_encoding);
    r->cache_control = sto__pb_strdup(o->cache_control);
    r->n_user_meta = o->n_user_meta;
    r->user_meta = sto__pb_user_meta(o->user_meta, o->n_user_meta);
    return r;
}

int sto_client_put_sync(rt_t *rt, const char *bucket, const char *key,
                        rt_buf_t *body, const sto_put_opts_t *o,
                        Cleo__Storage__ObjectInfo **out)
{
    rt_msg_t *m = rt_msg_new(STO_MSG_PUT);
    rt_msg_set_body(m, put_req(bucket, key, o), body);
    void *p = NULL;
    int rc = call(rt, m, &p);
    if (rc == 0 && out != NULL)
        *out = p;
    else if (rc == 0)
        protobuf_c_message_free_unpacked(p, NULL);
    return rc;
}

int sto_client_get_sync(rt_t *rt, const char *bucket, const char *key,
                        rt_buf_t **body, Cleo__Storage__ObjectInfo **info)
{
    rt_msg_t *reply = NULL;
    int rc = call_reply(rt, object_req(STO_MSG_GET, bucket, key), &reply);
    if (rc < 0)
        return rc;
    rt_body_t *b = rt_msg_body(reply); /* always a body on success */
    if (b == NULL) {
        rt_msg_free(reply);
        return CLEO_EPROTO;
    }
    *body = b->buf;
    b->buf = NULL;
    if (info != NULL)
        *info = b->pb, b->pb = NULL;
    rt_msg_free(reply);
    return 0;
}

int sto_client_copy_sync(rt_t *rt, const char *src_bucket, const char *src_key,
                         const char *bucket, const char *key,
                         const sto_put_opts_t *o,
                         Cleo__Storage__ObjectInfo **out)
{
    Cleo__Storage__CopyReq *r = sto__pb_calloc(1, sizeof *r);
    cleo__storage__copy_req__init(r);
    r->src_bucket = sto__pb_strdup(src_bucket);
    r->src_key = sto__pb_strdup(src_key);
    r->dst = put_req(bucket, key, o);
    r->replace_meta = o != NULL;
    rt_msg_t *m = rt_msg_new(STO_MSG_COPY);
    rt_msg_set_pb(m, r);
    void *p = NULL;
    int rc = call(rt, m, &p);
    if (rc == 0 && out != NULL)
        *out = p;
    else if (rc == 0)
        protobuf_c_message_free_unpacked(p, NULL);
    return rc;
}

int sto_client_head_sync(rt_t *rt, const char *bucket, const char *key,
                         Cleo__Storage__ObjectInfo **out)
{
    void *p = NULL;
    int rc = call(rt, object_req(STO_MSG_HEAD, bucket, key), &p);
    if (rc == 0)
        *out = p;
    return rc;
}

int sto_client_delete_sync(rt_t *rt, const char *bucket, const char *key)
{
    return call(rt, object_req(STO_MSG_DELETE, bucket, key), NULL);
}

int sto_client_list_sync(rt_t *rt, const char *bucket, const sto_list_opts_t *o,
                         Cleo__Storage__ListReply **out)
{
    Cleo__Storage__ListReq *r = sto__pb_calloc(1, sizeof *r);
    cleo__storage__list_req__init(r);
    r->bucket = sto__pb_strdup(bucket);
    if (o != NULL) {
        r->prefix = sto__pb_strdup(o->prefix);
        r->delimiter = sto__pb_strdup(o->delimiter);
        r->start_after = sto__pb_strdup(o->start_after);
        r->max_keys = o->max_keys > 1000 ? 1000 : (uint32_t)o->max_keys;
    }
    rt_msg_t *m = rt_msg_new(STO_MSG_LIST);
    rt_msg_set_pb(m, r);
    void *p = NULL;
    int rc = call(rt, m, &p);
    if (rc == 0)
        *out = p;
    return rc;
}
