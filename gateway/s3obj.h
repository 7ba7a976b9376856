/*
 * s3obj.h - object operations shared between s3_object.c, s3_get.c and
 * s3_mpu.c (private to gateway/).
 */
#ifndef CLEO_GATEWAY_S3OBJ_H
#define CLEO_GATEWAY_S3OBJ_H

#include "gateway/s3.h"

/* GetObject and HeadObject. */
int s3obj_get(gw_req_t *r, s3_t *s);
/* A GET's or HEAD's replica (s3_read.c): with R > 1, the one of the
 * first R live replicas that holds the newest version, into s->read_at
 * (0 = the first live replica); then `then` runs with status 0, or
 * CLEO_ENOTFOUND when the newest is a tombstone or none has the key.
 * @return 0, or an error to answer with (GW_EUNAVAILABLE: fewer than R
 * replicas reachable or answering). */
int s3_read_pick(gw_req_t *r, s3_t *s, s3_reply_fn then);
/* CopyObject. */
int s3obj_copy(gw_req_t *r, s3_t *s);
/* The object s names was written or deleted through this gateway: drop
 * it from the object cache. */
void s3obj_changed(gw_req_t *r, s3_t *s);
/* Body length and checks of a PUT or UploadPart. */
int s3_put_prepare(gw_req_t *r, s3_t *s);
/* A storage stream (put or part) was opened: read the body into it. */
int s3_on_stream_begun(gw_req_t *r, s3_t *s, rt_msg_t *m, int status);
/* Is the source bucket/key's primary another node than s's key's
 * (s3_xcopy.c)? Then storage cannot copy by itself. */
bool s3obj_is_remote_copy(gw_req_t *r, s3_t *s, const char *src_bucket,
                          const char *src_key);
/* CopyObject from another node: the gateway carries the bytes. The
 * source strings borrow (copied first: s->x is replaced). */
int s3obj_xcopy(gw_req_t *r, s3_t *s, const char *src_bucket,
                const char *src_key, bool replace);
/* UploadPartCopy from another node. @param q takes (not s->x). */
int s3obj_xcopy_part(gw_req_t *r, s3_t *s, Cleo__Storage__MpuPartCopyReq *q);
/* An UploadPart's stream committed (s3_mpu.c). */
int s3_on_part_done(gw_req_t *r, s3_t *s, rt_msg_t *m, int status);
/* Conditional headers against an object's ETag and Last-Modified
 * (prefix "" for GET/HEAD, "x-amz-copy-source-" for copies).
 * @return 0, GW_EPRECOND or GW_ENOTMODIFIED. */
int s3obj_conditions(gw_req_t *r, const char *prefix, const char *etag,
                     uint64_t last_modified_ms);
/* Object headers (ETag, Last-Modified, type, metadata, overrides) for
 * info into kv (cap entries, strings in arena of arena_len bytes).
 * @return the number of entries. */
size_t s3obj_headers(gw_req_t *r, s3_t *s, const Cleo__Storage__ObjectInfo *oi,
                     gw_kv_t *kv, size_t cap, char *arena, size_t arena_len);

#endif /* CLEO_GATEWAY_S3OBJ_H */
