/*
 * authtest.h - shared by the auth tests: the vector type that
 * vectors.py emits and a gw_auth_req_t built from a vector.
 */
#ifndef CLEO_TESTS_GATEWAY_AUTHTEST_H
#define CLEO_TESTS_GATEWAY_AUTHTEST_H

#include <stdint.h>
#include <string.h>

#include "gateway/auth.h"
#include "gateway/err.h"

typedef struct vh_s {
    const char *name, *value;
} vh_t;

typedef struct vec_s {
    const char *name, *method, *path, *query, *body;
    size_t nh;
    vh_t h[12];
} vec_t;

#include "auth_vectors.h"

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))

/* A request under test: copies of the vector's strings that a test may
 * tamper with, and the views gw_auth_req_t borrows. */
typedef struct treq_s {
    char method[16], path[512], query[1024];
    char names[16][64], values[16][512];
    gw_hdr_t h[16];
    gw_auth_req_t rq;
} treq_t;

static inline void treq_sync(treq_t *t, size_t nh)
{
    for (size_t i = 0; i < nh; i++) {
        t->h[i] = (gw_hdr_t){t->names[i], strlen(t->names[i]), t->values[i],
                             strlen(t->values[i])};
    }
    t->rq.method = t->method;
    t->rq.method_len = strlen(t->method);
    t->rq.path = t->path;
    t->rq.path_len = strlen(t->path);
    t->rq.query = t->query;
    t->rq.query_len = strlen(t->query);
    t->rq.hdrs = t->h;
    t->rq.nhdrs = nh;
}

static inline void treq_from(treq_t *t, const vec_t *v, int64_t now)
{
    memset(t, 0, sizeof *t);
    strcpy(t->method, v->method);
    strcpy(t->path, v->path);
    strcpy(t->query, v->query);
    for (size_t i = 0; i < v->nh; i++) {
        strcpy(t->names[i], v->h[i].name);
        strcpy(t->values[i], v->h[i].value);
    }
    t->rq.now = now;
    treq_sync(t, v->nh);
}

/* Index of header `name` (exact), or -1. */
static inline int treq_find(const treq_t *t, const char *name)
{
    for (size_t i = 0; i < t->rq.nhdrs; i++)
        if (strcasecmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Set (or add) a header and refresh the views. */
static inline void treq_set(treq_t *t, const char *name, const char *value)
{
    int i = treq_find(t, name);
    size_t nh = t->rq.nhdrs;
    if (i < 0) {
        i = (int)nh++;
        strcpy(t->names[i], name);
    }
    strcpy(t->values[i], value);
    treq_sync(t, nh);
}

/* Parse then verify with `secret`. */
static inline int treq_auth(treq_t *t, const char *secret, gw_auth_t *a)
{
    int rc = gw__auth_parse(&t->rq, a);
    if (rc < 0)
        return rc;
    return gw__auth_verify(&t->rq, a, secret, strlen(secret), NULL);
}

#endif /* CLEO_TESTS_GATEWAY_AUTHTEST_H */
