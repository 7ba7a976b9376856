/*
 * introspect.h - private to the introspection server (introspect*.c).
 *
 * introspect.c owns the actor, its listeners and connections;
 * introspect_frame.c splits the byte stream into frames and parses
 * targets (pure functions, fuzzed by tests/fuzz/); introspect_req.c builds
 * the responses; introspect_trace.c is the tracer actor behind TRACE.
 */
#ifndef CLEO_RUNTIME_INTROSPECT_H
#define CLEO_RUNTIME_INTROSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/introspect.pb-c.h"
#include "runtime/rt.h"

#ifndef CLEO_VERSION
#define CLEO_VERSION "0.1.0"
#endif

#define RT__ISP_MAX_FRAME (1u << 20) /* bytes of protobuf in one frame */
#define RT__ISP_HDR 4                /* big-endian length prefix */
#define RT__ISP_TRACE_MAX_S 3600u    /* longest TRACE */
#define RT__ISP_TRACE_DEFAULT_S 5u
#define RT__ISP_CALL_MS 2000u      /* per WHICH_CHILDREN call */
#define RT__ISP_TREE_DEPTH 16      /* deepest supervisor nesting */
#define RT__ISP_ADMIN_NAME "admin" /* who answers ADMIN requests */
#define RT__ISP_ADMIN_MS 30000u    /* an ADMIN request's call */
#define RT__ISP_STATUS_MS                                                      \
    1000u /* INFO's RT_MSG_STATUS call: an actor                               \
             that does not answer (not an OTP                                  \
             behaviour, or busy) costs this */

/* The server's own message types (application range). */
enum {
    RT__ISP_START = 1,   /* open the listeners on the pinned loop */
    RT__ISP_ACCEPT,      /* arg: 0 = unix, 1 = tcp listener is readable */
    RT__ISP_READ,        /* arg: conn id; reason: nread; payload: bytes */
    RT__ISP_TREE_DONE,   /* rt_work_submit reply; payload: rt__isp_tree_t */
    RT__ISP_TRACE_EV,    /* from a tracer: arg conn id; payload: pb */
    RT__ISP_TRACE_END,   /* from a tracer: arg conn id, ref the target's
                            pid, tag 1 if it exited with reason */
    RT__ISP_TRACER_EXIT, /* to a tracer: stop now (its client left) */
};

/* What the TREE walk produces on a pool thread. */
typedef struct rt__isp_tree_s {
    rt_t *rt;
    uint64_t conn;                 /* whom to answer */
    char top[RT_NAME_MAX];         /* registered top supervisor */
    int rc;                        /* 0 or an error for the client */
    Cleo__Introspect__Child *root; /* malloc'd tree; NULL on error */
} rt__isp_tree_t;

/* ---- frames and targets (introspect_frame.c) ------------------------ */

/* Look at the front of buf: 1 and *off, *n (payload offset and size) when
 * a whole frame is there, 0 when more bytes are needed, CLEO_EPROTO for a
 * zero length, CLEO_ELIMIT for a length above RT__ISP_MAX_FRAME. */
int rt__isp_frame_peek(const uint8_t *buf, size_t len, size_t *off, size_t *n);

/* Unpack one frame's payload. @param out gives: free with
 * cleo__introspect__request__free_unpacked(). @return 0, CLEO_EPROTO. */
int rt__isp_request_decode(const uint8_t *p, size_t n,
                           Cleo__Introspect__Request **out);

/* Pack a response with its length prefix. @param out gives: free().
 * @return 0, CLEO_ELIMIT (above a frame), CLEO_ENOMEM. */
int rt__isp_response_encode(const Cleo__Introspect__Response *r, uint8_t **out,
                            size_t *n);

/* Parse "<node.slot.gen>". @return 0, CLEO_EBADPID. */
int rt__isp_pid_parse(const char *s, rt_pid_t *out);

/* A target: a pid text or a registered name. @return 0, CLEO_EBADPID,
 * CLEO_ENOTFOUND (no such name), CLEO_EINVAL (empty). */
int rt__isp_target_resolve(rt_t *rt, const char *s, rt_pid_t *out);

/* Compare a token in time that depends only on the lengths. */
bool rt__isp_token_eq(const char *a, const char *b);

/* Map a KILL reason text ("" = kill). @return 0, CLEO_EINVAL. */
int rt__isp_reason_parse(const char *s, int *out);

/* ---- responses (introspect_req.c) ----------------------------------- */

/* What the request builders need from the server. */
typedef struct rt__isp_ctx_s {
    rt_t *rt;
    const char *node;
    char **roles;
    size_t nroles;
    uint64_t start_ms; /* when the server started, on rt's clock */
} rt__isp_ctx_t;

/* A response, heap-owned: every string and array malloc'd, so one
 * protobuf_c_message_free_unpacked() releases it. */
Cleo__Introspect__Response *rt__isp_resp_new(int kind);
void rt__isp_resp_free(Cleo__Introspect__Response *r);
Cleo__Introspect__Response *rt__isp_resp_error(int code, const char *what);
char *rt__isp_strdup(const char *s);

/* The synchronous requests. Each returns a response (never NULL). */
Cleo__Introspect__Response *rt__isp_status(const rt__isp_ctx_t *c);
Cleo__Introspect__Response *rt__isp_stats(const rt__isp_ctx_t *c);
/* NODES: rt_dist_name/creation/port/stats and up to 256 peers. */
Cleo__Introspect__Response *rt__isp_nodes(const rt__isp_ctx_t *c);
Cleo__Introspect__Response *rt__isp_actors(const rt__isp_ctx_t *c,
                                           const char *sort, uint32_t limit);
Cleo__Introspect__Response *rt__isp_info(const rt__isp_ctx_t *c,
                                         const char *target);
Cleo__Introspect__Response *
rt__isp_kill(const rt__isp_ctx_t *c, const char *target, const char *reason);

/* Put the status text of an RT_MSG_STATUS reply (a
 * Cleo__Introspect__ActorStatus) in an INFO response; a reply without
 * one leaves it out. @param reply borrows. */
void rt__isp_info_status(Cleo__Introspect__Response *r, const rt_msg_t *reply);

/* The TREE walk: an rt_work_fn for a rt__isp_tree_t, and its free. */
int rt__isp_tree_walk(void *arg);
void rt__isp_tree_free(void *arg);

/* ---- tracing (introspect_trace.c) ----------------------------------- */

/* Spawn a tracer for pid that streams to conn of the server `self` for
 * seconds. @return 0 and the tracer's pid, or as rt_spawn()/rt_trace(). */
int rt__isp_tracer_start(rt_actor_t *self, uint64_t conn, rt_pid_t pid,
                         uint32_t seconds, rt_pid_t *out);

#endif
