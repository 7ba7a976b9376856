/*
 * s3pb.h - storage.proto requests built by the S3 layer (private to
 * gateway/). Records come from malloc, as rt_msg_set_pb() frees them;
 * their strings are bounded (names, keys <= 1 KiB), so out-of-memory
 * aborts as for control structs. Each returns a message that gives:
 * pass it to s3_call() (which takes it).
 */
#ifndef CLEO_GATEWAY_S3PB_H
#define CLEO_GATEWAY_S3PB_H

#include <stdint.h>

#include "proto/storage.pb-c.h"
#include "runtime/rt.h"

/* A malloc'ed copy of s (NULL reads as ""). Aborts on out-of-memory. */
char *s3pb_str(const char *s);

/* BucketReq {name, owner} as type. */
rt_msg_t *s3pb_bucket(uint32_t type, const char *name, const char *owner);
/* ObjectReq {bucket, key} as type. */
rt_msg_t *s3pb_object(uint32_t type, const char *bucket, const char *key);
/* ListReq. */
rt_msg_t *s3pb_list(const char *bucket, const char *prefix, const char *delim,
                    const char *start_after, uint32_t max_keys);
/* A bare record of the given descriptor, zero-initialised. */
void *s3pb_new(const ProtobufCMessageDescriptor *d);

#endif /* CLEO_GATEWAY_S3PB_H */
