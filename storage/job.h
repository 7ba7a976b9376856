/*
 * job.h - one engine request as a unit of blocking work (private to
 * storage/). The engine actor fills a job from a call, the blocking pool
 * runs it with sto__job_run(), and the engine turns it into the reply.
 */
#ifndef CLEO_STORAGE_JOB_H
#define CLEO_STORAGE_JOB_H

#include "storage/engine.h"
#include "storage/sto.h"

typedef struct sto__job_s {
    sto__dbref_t *ref; /* one reference on the engine's database */
    uint32_t type;     /* the request's STO_MSG_* */
    rt_from_t from;    /* who to answer */
    uint64_t id;       /* the engine's number for it, to find it pending */
    void *req;         /* the request record (ProtobufCMessage *) or NULL */
    rt_buf_t *body;    /* PUT: the object's bytes (one reference) */
    void *res;         /* the reply record, set by the run on success */
    rt_buf_t *out;     /* GET: the object's bytes (one reference) */
    sto_get_t *get;    /* GET_OPEN: still open when more than the first
                          block remains (the engine hands it to a stream) */
    uint64_t left;     /* GET_OPEN: span bytes after the first block */
    rt_pid_t owner;    /* GET_OPEN: the stream's owner (req->arg or caller) */
} sto__job_t;

/* Take the payload of req (a validated call) into a new job holding one
 * reference on ref. Aborts on out-of-memory. @return gives: free with
 * sto__job_free(). */
sto__job_t *sto__job_new(sto__dbref_t *ref, rt_msg_t *req, rt_from_t from);

/* Is req's payload the record its type needs? */
bool sto__job_is_valid(const rt_msg_t *req);

/* Run the job's sto_* call (blocking: on the pool only). An rt_work_fn.
 * @return 0 or the call's error; on 0 job->res (and job->out) are set. */
int sto__job_run(void *job);

/* Free the job, its records and buffers, and drop its database
 * reference (the last one closes the database). An rt_free_fn. */
void sto__job_free(void *job);

/* ---- the engine's dispatch table ------------------------------------
 * One entry per request id the engine answers (storage.proto's MsgId):
 * its record types, where it runs, and the run. The engine dispatches by
 * it (engine.c), a job checks and takes its payload by it and runs it
 * (job.c). */

typedef enum {
    STO__OP_READ,   /* a short read: the blocking pool */
    STO__OP_WRITE,  /* waits on a synced write: the I/O pool */
    STO__OP_MAINT,  /* the maintenance actors': the I/O pool, never shed */
    STO__OP_STREAM, /* opens a stream actor (stream.c), which answers */
} sto__op_kind_t;

typedef struct sto__op_s {
    uint32_t id;         /* the STO_MSG_* */
    sto__op_kind_t kind; /* where it runs */
    bool body;           /* the request is an rt_body_t {req, bytes} */
    const ProtobufCMessageDescriptor *req;   /* NULL: no payload */
    const ProtobufCMessageDescriptor *reply; /* NULL: no payload; in an
                                                rt_body_t for GET and
                                                GET_OPEN */
    int (*run)(sto_db_t *db, sto__job_t *j); /* NULL for STO__OP_STREAM */
} sto__op_t;

/* The entry of id, or NULL for an id the engine does not answer. */
const sto__op_t *sto__op_find(uint32_t id);

/* The multipart runs but MPU_PART_BEGIN's (mpujob.c), for the table. */
int sto__mpu_run_create(sto_db_t *db, sto__job_t *j);
int sto__mpu_run_part_copy(sto_db_t *db, sto__job_t *j);
int sto__mpu_run_complete(sto_db_t *db, sto__job_t *j);
int sto__mpu_run_abort(sto_db_t *db, sto__job_t *j);
int sto__mpu_run_list_parts(sto_db_t *db, sto__job_t *j);
int sto__mpu_run_list_uploads(sto_db_t *db, sto__job_t *j);

#endif /* CLEO_STORAGE_JOB_H */
