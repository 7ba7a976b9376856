/*
 * conn.h - the connection actor: one per client socket (private to
 * gateway/). It owns the socket and the HTTP parser, answers requests in
 * order (pipelining), and streams bodies both ways with backpressure: it
 * stops reading the socket while the request's handler (the S3 or REST
 * layer) has a body block in flight to storage, and sends a response body
 * one piece at a time as the socket drains.
 *
 * The handler side sees a gw_req_t per request. At the head, the conn
 * calls the API's begin function (gw_api_t); the handler then either
 * answers at once, or asks for the body (buffered whole, or streamed in
 * blocks), and answers when its calls to storage come back. Every
 * gw_req_t pointer is valid until gw__resp_end() of that request or the
 * connection's death; continuations carry the request's seq, not the
 * pointer, and find it again with gw__conn_req().
 */
#ifndef CLEO_GATEWAY_CONN_H
#define CLEO_GATEWAY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"
#include "gateway/http.h"

#define GW_BLOCK ((size_t)1 << 20) /* bytes per streamed body block */

typedef struct gw_conn_s gw_conn_t;
typedef struct gw_req_s gw_req_t;

typedef enum {
    GW_BODY_NONE = 0, /* not asked for yet (the parser waits) */
    GW_BODY_DISCARD,  /* read and drop (after an early answer) */
    GW_BODY_BUFFER,   /* collect it whole, up to body_max, then on_body */
    GW_BODY_STREAM,   /* blocks of GW_BLOCK to on_block */
} gw_body_mode_t;

/* A block of a streamed body, or the end (last; block may be empty).
 * @param block takes one reference. Return 0, or <0 to fail the request
 * (the handler has answered or the conn answers with the error). */
typedef int (*gw_block_fn)(gw_req_t *r, rt_buf_t *block, bool last);
/* The buffered body is complete (r->body; may be NULL when empty). */
typedef int (*gw_body_fn)(gw_req_t *r);
/* A body filter (aws-chunked): decodes n raw bytes and passes the
 * result to gw__req_body_put(). Returns 0 or an error (the request fails
 * and the connection closes). */
typedef int (*gw_filter_fn)(gw_req_t *r, const char *p, size_t n);
/* The request ends early (client gone, timeout): release op state.
 * Also called on normal end if set. */
typedef void (*gw_op_free_fn)(gw_req_t *r);
/* A response body piece was written: send the next one. */
typedef int (*gw_written_fn)(gw_req_t *r);

struct gw_req_s {
    gw_conn_t *conn;
    uint64_t seq;               /* per connection, from 1 */
    const gw_http_head_t *head; /* valid until the response ends */
    const gw_conf_t *conf;
    /* body, chosen by the handler */
    gw_body_mode_t mode;
    uint64_t body_max;   /* bytes accepted; more is EntityTooLarge */
    uint64_t body_bytes; /* decoded bytes so far */
    rt_buf_t *body;      /* BUFFER: the body; STREAM: the filling block */
    gw_block_fn on_block;
    gw_body_fn on_body;
    gw_filter_fn filter;
    bool block_busy; /* STREAM: the handler holds a block (one at a time) */
    bool body_done;  /* the whole body was read */
    /* response */
    bool responded; /* head sent */
    bool ended;     /* gw__resp_end() called */
    bool no_body;   /* HEAD, 304: the head only */
    gw_written_fn on_written;
    /* handler state */
    void *op;
    gw_op_free_fn op_free;
};

/* What a listener serves: the begin function runs when a request's head
 * is parsed. Return 0 (the handler has taken the request), or <0: the
 * conn answers with that error and discards the body. */
typedef int (*gw_begin_fn)(gw_req_t *r);

typedef struct gw_api_s {
    const char *name; /* "s3", "rest" */
    gw_begin_fn begin;
    /* An error response for err on r (S3 XML or JSON). Called by the conn
     * for limits and malformed requests, and by handlers. */
    int (*error)(gw_req_t *r, int err);
    /* Frees the API's per-connection state (gw__conn_api_state()). */
    void (*conn_free)(void *state);
} gw_api_t;

/* The API's per-connection state slot (caches that must not be shared
 * between actors): NULL until the API sets it; freed by conn_free. */
void **gw__conn_api_state(gw_req_t *r);

/* Spawn the connection actor for an accepted socket on the current
 * (listener's) scheduler. @param sock takes: an accepted gw_sock_t
 * (closed here if the spawn fails). @param listener the listener's pid (gets a
 * DOWN when the connection ends). @param api, conf borrow (static). */
int gw__conn_spawn(rt_actor_t *listener, void *sock, const gw_api_t *api,
                   const gw_conf_t *conf, rt_pid_t *out);

/* The request with this seq on the connection actor self, or NULL if it
 * has ended (for continuations). */
gw_req_t *gw__conn_req(rt_actor_t *self, uint64_t seq);

/* The runtime of r's connection (valid in its destroy too). */
rt_t *gw__req_rt(gw_req_t *r);

/* The actor owning r's connection (for rt_call). */
rt_actor_t *gw__req_actor(gw_req_t *r);

/* Ask for the body in mode (BUFFER or STREAM or DISCARD); sends 100
 * Continue when the client waits for it. @return 0. */
int gw__req_read_body(gw_req_t *r, gw_body_mode_t mode, uint64_t max);

/* STREAM: the handler is done with its block; reading resumes. */
void gw__req_block_done(gw_req_t *r);

/* From a filter: append decoded bytes to the body. @param p borrows. */
int gw__req_body_put(gw_req_t *r, const char *p, size_t n);

/* A response header line to add. */
typedef struct gw_kv_s {
    const char *name;
    const char *value;
} gw_kv_t;

/* Send the status line and headers. content_length >= 0: every answer
 * here knows its length (a GET's from storage's span, XML is built
 * whole), so responses are never chunked.
 * Date, Server, x-amz-request-id, Content-Length and Connection are
 * added. @param kv borrows. @return 0, CLEO_ENOMEM, CLEO_EPROTO (a
 * negative length), or a socket error. */
int gw__resp_head(gw_req_t *r, int status, const gw_kv_t *kv, size_t n,
                  int64_t content_length);

/* Send a body piece; on_written (if set) runs when it is on the wire.
 * @param b takes one reference. */
int gw__resp_body(gw_req_t *r, rt_buf_t *b);

/* A whole response in one go: head, then body (may be NULL).
 * @param body takes one reference. */
int gw__resp_full(gw_req_t *r, int status, const gw_kv_t *kv, size_t n,
                  const char *ctype, rt_buf_t *body);

/* The response is complete. When the body has also been read, the
 * request ends (op_free runs, r is freed) and the next one starts. */
void gw__resp_end(gw_req_t *r);

/* Fail the request now: answer err if nothing was sent, else close the
 * connection (a response cannot be taken back). */
void gw__req_fail(gw_req_t *r, int err);

/* A copy of bytes into a new buffer. @return gives, or NULL on ENOMEM. */
rt_buf_t *gw__buf_of(const void *p, size_t n);

#endif /* CLEO_GATEWAY_CONN_H */
