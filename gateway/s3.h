/*
 * s3.h - the S3 API over a connection's requests (private to gateway/).
 *
 * s3.c parses the target (path-style or virtual-host), the query and the
 * credentials, checks them (auth.c, the manager's keys) and dispatches to
 * the operation's handler: s3_bucket.c, s3_object.c, s3_mpu.c. Handlers
 * talk to storage only by calls to storage actors (storage/contract.h) through
 * s3_call(), whose continuation finds the request again by its seq.
 */
#ifndef CLEO_GATEWAY_S3_H
#define CLEO_GATEWAY_S3_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "gateway/auth.h"
#include "gateway/conn.h"
#include "gateway/s3xml.h"
#include "proto/storage.pb-c.h"

typedef enum {
    S3_LIST_BUCKETS = 1,
    S3_CREATE_BUCKET,
    S3_DELETE_BUCKET,
    S3_HEAD_BUCKET,
    S3_GET_LOCATION,
    S3_GET_VERSIONING,
    S3_GET_ACL,
    S3_LIST_OBJECTS,
    S3_LIST_OBJECTS_V2,
    S3_LIST_UPLOADS,
    S3_DELETE_OBJECTS,
    S3_PUT_OBJECT,
    S3_COPY_OBJECT,
    S3_GET_OBJECT,
    S3_HEAD_OBJECT,
    S3_DELETE_OBJECT,
    S3_MPU_CREATE,
    S3_MPU_PART,
    S3_MPU_PART_COPY,
    S3_MPU_COMPLETE,
    S3_MPU_ABORT,
    S3_MPU_LIST_PARTS,
} s3_op_t;

typedef struct {
    char *name;  /* decoded */
    char *value; /* decoded; "" when absent */
} s3_qp_t;

typedef struct s3_s s3_t;
struct gw_snap_s;
struct s3_fan_s;
/* A storage reply for request r; status as rt_reply_cb's, else
 * reply->reason. Return 0 or an error to answer with. */
typedef int (*s3_reply_fn)(gw_req_t *r, s3_t *s, rt_msg_t *reply, int status);

struct s3_s {
    s3_op_t op;
    char bucket[64]; /* "" for the service */
    bool vhost;      /* the bucket came from the Host header */
    char *key;       /* decoded, NUL-terminated; NULL for bucket ops */
    size_t key_len;
    const char *path; /* raw path (into the head) */
    size_t path_len;
    const char *query; /* raw query without '?', or NULL */
    size_t query_len;
    s3_qp_t *q;
    size_t nq;
    gw_auth_t auth;
    char user[128]; /* the authenticated user */
    bool is_admin;
    s3_reply_fn pending; /* the continuation awaiting storage */
    /* body checks */
    bool has_md5;
    uint8_t md5[16];
    bool check_sha;
    gw_sha256_check_t sha;
    bool chunked;
    gw_chunked_t dec;
    /* operation state */
    rt_pid_t stream;   /* storage stream actor */
    bool commit_after; /* the block being written is the last */
    uint32_t part;     /* UploadPart: the part number */
    /* GET streaming: the next block is read while this one is written */
    rt_buf_t *next_buf;   /* a block read ahead, waiting for the socket */
    bool reading;         /* a READ is in flight */
    bool writing;         /* a block is being written */
    bool eof;             /* the stream said it is done */
    bool cache_fill;      /* GET missed the cache: fill it after */
    uint64_t cache_epoch; /* the cache's drop epoch at the miss */
    int64_t want_len;     /* body length for a put, -1 unknown */
    void *x;              /* op-specific, freed by x_free */
    void (*x_free)(void *x);
    /* cluster: the view this request works with (one reference), taken
     * when it starts; NULL without a cluster or before the first state */
    struct gw_snap_s *snap;
    struct s3_fan_s *fan; /* calls to several nodes in flight (fan.h) */
    rt_msg_t *hit;    /* cluster: a cache hit waiting for its primary's HEAD */
    rt_pid_t read_at; /* the replica a GET/HEAD reads (s3_read.c); 0 = the
                         first live one */
};

/* Split r's target into s's bucket, key and query (s3_route.c).
 * @return 0, GW_EBADREQ, GW_EARGUMENT (bad escape, NUL, unsafe key),
 * GW_EBUCKETNAME, GW_EKEYTOOLONG, CLEO_ENOMEM. */
int s3_parse_target(gw_req_t *r, s3_t *s);
/* The operation r names (an s3_op_t), or GW_EMETHOD / GW_ENOTIMPL. */
int s3_route(gw_req_t *r, s3_t *s);

/* Give r a fresh s3_t (r->op, freed with the request) with the target
 * parsed: bucket, key, query. @return 0 or the error to answer. */
int s3_setup(gw_req_t *r);

/* The value of query parameter name, NULL if absent ("" if no value). */
const char *s3_q(const s3_t *s, const char *name);
/* A request header's value as a NUL-terminated copy into out (cap
 * bytes), or NULL when absent or too long. */
const char *s3_hdr(gw_req_t *r, const char *name, char *out, size_t cap);

/* Call a storage actor: to, or when to = 0 the ring's choice for s's
 * bucket and key (ring.h: the key's primary in a cluster; a call
 * without a key then fails with GW_EUNAVAILABLE, as it names no node).
 * A new request to the ring's storage is refused, with nothing sent,
 * while that actor is over its mailbox limit: CLEO_EOVERLOAD, which is
 * 503 SlowDown. A call to a given actor (to != 0: a stream already
 * open, the cache) is never refused, so a PUT in flight completes.
 * @param req takes. */
int s3_call(gw_req_t *r, rt_pid_t to, rt_msg_t *req, s3_reply_fn fn);

/* s3_call to the ring's choice for bucket/key (borrowed), which need not
 * be the request's own (a copy's source). @param req takes. */
int s3_call_at(gw_req_t *r, const char *bucket, const char *key, rt_msg_t *req,
               s3_reply_fn fn);

/* Before a request that reads its body and then calls storage: 0, or
 * CLEO_EOVERLOAD while the key's storage actor is over its mailbox
 * limit (refused before the body is read), GW_EUNAVAILABLE if none. */
int s3_storage_check(gw_req_t *r, s3_t *s);

/* Answer with err as an S3 XML error. @return 0 or <0 if nothing could
 * be sent. */
int s3_error(gw_req_t *r, int err);
/* Answer status with the XML in b (taken) as the body. */
int s3_xml(gw_req_t *r, int status, gw_xbuf_t *b);
/* Answer status with no body. */
int s3_empty(gw_req_t *r, int status);

/* DeleteObjects (s3_multi.c). */
int s3_multi_delete(gw_req_t *r, s3_t *s);

/* Listings from every storage node, merged (s3_list.c): every node of
 * the RING (the one engine without a cluster) is asked for the same
 * page of s's bucket, and fn gets a message whose payload is the merged
 * ListReply (MpuUploadList), as if one node had answered for the whole
 * bucket. In a cluster a node without the bucket's record gives an
 * empty page (the bucket's existence is the view's); any other error of
 * a node is fn's status. Strings borrow (copied before this returns);
 * max (>= 1, <= 1000) is the page size.
 * @return 0, or an error to answer with (fn never runs). */
int s3_list_all(gw_req_t *r, const char *prefix, const char *delim,
                const char *after, uint32_t max, s3_reply_fn fn);
int s3_uploads_all(gw_req_t *r, const char *prefix, const char *key_marker,
                   const char *upload_id_marker, uint32_t max, s3_reply_fn fn);

/* Bucket operations of a cluster, whose buckets are the managers'
 * (s3_view.c): answered from s->snap, changes proposed to the managers
 * through the node's cluster agent. */
int s3_view_list_buckets(gw_req_t *r, s3_t *s);
int s3_view_create_bucket(gw_req_t *r, s3_t *s);
int s3_view_delete_bucket(gw_req_t *r, s3_t *s);
/* Authorise s's operation on s's bucket from the view: NoSuchBucket,
 * AccessDenied (not the owner, not an admin), 503 before the first
 * state. @return 0 or the error. */
int s3_view_authorise(gw_req_t *r, s3_t *s);
/* May s's user read bucket (a copy's source)? 0, GW_ENOBUCKET,
 * GW_EDENIED or GW_EUNAVAILABLE, from the view. */
int s3_view_may_read(s3_t *s, const char *bucket);

/* Handlers by family. */
int s3_bucket_op(gw_req_t *r, s3_t *s);
int s3_object_op(gw_req_t *r, s3_t *s);
int s3_mpu_op(gw_req_t *r, s3_t *s);

/* The body filter for checked bodies (MD5 / SHA-256 / aws-chunked). */
int s3_body_filter(gw_req_t *r, const char *p, size_t n);
/* At the end of the body: the final checks. 0 or the error. */
int s3_body_final(gw_req_t *r, s3_t *s);
/* Set up the body checks of s (from the auth and Content-MD5). */
int s3_body_checks(gw_req_t *r, s3_t *s);

/* A PutReq for s's bucket and key with the request's metadata headers
 * (Content-Type, Content-Encoding, Cache-Control, x-amz-meta-*).
 * @return gives (protobuf_c_message_free_unpacked), or NULL: ENOMEM. */
Cleo__Storage__PutReq *s3_put_req(gw_req_t *r, s3_t *s);

#endif /* CLEO_GATEWAY_S3_H */
