/*
 * fan.h - one request's calls to several storage nodes at once (private
 * to gateway/): a listing asks every node of the RING, a bucket change
 * tells them all. The calls go out together; the continuation runs once,
 * when the last one is answered (or has failed), with every reply's
 * status and payload in hand.
 */
#ifndef CLEO_GATEWAY_FAN_H
#define CLEO_GATEWAY_FAN_H

#include <stddef.h>

#include "gateway/s3.h"

typedef struct s3_fan_s s3_fan_t;

/* All calls are in. Return 0 or an error to answer with, as s3_reply_fn.
 * f is freed after this returns: keep a payload by setting its slot to
 * NULL (the continuation then owns it and frees it with pfree[i]). */
typedef int (*s3_fan_fn)(gw_req_t *r, s3_t *s, s3_fan_t *f);

/* Builds call i's request. @return gives a message. */
typedef rt_msg_t *(*s3_fan_msg_fn)(s3_t *s, size_t i, void *arg);

struct s3_fan_s {
    size_t n;          /* calls */
    size_t done;       /* answered so far */
    rt_pid_t *to;      /* n callees (owned) */
    int *status;       /* per call: 0, the reply's reason or the error */
    void **payload;    /* per call: the reply's payload (status 0) or NULL */
    rt_free_fn *pfree; /* per call: payload's free function */
    s3_fan_fn fn;
    void *data;   /* for fn (borrowed) */
    uint64_t arg; /* for fn */
};

/* What to ask and whom to tell. */
typedef struct s3_fan_spec_s {
    s3_fan_msg_fn mk; /* builds each call's request */
    void *mk_arg;     /* for mk, during s3_fan() only */
    s3_fan_fn fn;     /* the continuation */
    void *data;       /* f->data: must outlive the fan */
    uint64_t arg;     /* f->arg */
} s3_fan_spec_t;

/* Call each of to[0..n) with the request spec->mk builds; spec->fn runs
 * once, after the last reply, as a continuation of the connection
 * actor. With n 0, fn runs at once and its result is returned.
 * @param to takes: a malloc'd array of n pids (NULL when n is 0).
 * @param spec borrows.
 * @return 0, or an error to answer with (then fn never runs). */
int s3_fan(gw_req_t *r, rt_pid_t *to, size_t n, const s3_fan_spec_t *spec);

/* Free a fan and the payloads it still holds. Accepts NULL. */
void s3_fan_free(s3_fan_t *f);

#endif /* CLEO_GATEWAY_FAN_H */
