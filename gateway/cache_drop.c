/*
 * cache_drop.c - invalidation sent by the request handlers.
 */
#include "gateway/cache.h"
#include "gateway/s3obj.h"
#include "gateway/s3pb.h"

void gw__cache_drop(rt_t *rt, const char *bucket, const char *key)
{
    rt_pid_t c = rt_whereis(rt, GW_CACHE_NAME);
    if (c != RT_PID_NONE)
        (void)rt_send(rt, c, s3pb_object(GW_MSG_CACHE_DROP, bucket, key));
}

void s3obj_changed(gw_req_t *r, s3_t *s)
{
    gw__cache_drop(gw__req_rt(r), s->bucket, s->key != NULL ? s->key : "");
}
