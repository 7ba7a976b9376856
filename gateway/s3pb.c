/*
 * s3pb.c - storage.proto requests of the S3 layer.
 */
#include "gateway/s3pb.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/sock.h"
#include "storage/contract.h"

char *s3pb_str(const char *s)
{
    s = s != NULL ? s : "";
    return gw__xstrndup(s, strlen(s)); /* bounded strings (STYLE rule 26) */
}

void *s3pb_new(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = gw__xcalloc(1, d->sizeof_message);
    d->message_init(m);
    return m;
}

rt_msg_t *s3pb_bucket(uint32_t type, const char *name, const char *owner)
{
    Cleo__Storage__BucketReq *q =
        s3pb_new(&cleo__storage__bucket_req__descriptor);
    q->name = s3pb_str(name);
    q->owner = s3pb_str(owner);
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, q);
    return m;
}

rt_msg_t *s3pb_object(uint32_t type, const char *bucket, const char *key)
{
    Cleo__Storage__ObjectReq *q =
        s3pb_new(&cleo__storage__object_req__descriptor);
    q->bucket = s3pb_str(bucket);
    q->key = s3pb_str(key);
    rt_msg_t *m = rt_msg_new(type);
    rt_msg_set_pb(m, q);
    return m;
}

rt_msg_t *s3pb_list(const char *bucket, const char *prefix, const char *delim,
                    const char *start_after, uint32_t max_keys)
{
    Cleo__Storage__ListReq *q = s3pb_new(&cleo__storage__list_req__descriptor);
    q->bucket = s3pb_str(bucket);
    q->prefix = s3pb_str(prefix);
    q->delimiter = s3pb_str(delim);
    q->start_after = s3pb_str(start_after);
    q->max_keys = max_keys;
    rt_msg_t *m = rt_msg_new(STO_MSG_LIST);
    rt_msg_set_pb(m, q);
    return m;
}
