/*
 * http.h - the HTTP/1.1 request parser of a connection: llhttp in strict
 * mode behind a small pull API (private to gateway/).
 *
 * The owner feeds bytes as they arrive and gets events back: the head is
 * ready (parsing pauses so the request can be routed before its body is
 * read), body bytes (through a callback, never more than the owner fed),
 * the message is complete (parsing pauses again until the response is
 * sent, which is how pipelined requests are answered in order). The URL
 * and headers are copied into one buffer of at most max_header_bytes, so
 * a head is bounded and stays valid until gw__http_next().
 */
#ifndef CLEO_GATEWAY_HTTP_H
#define CLEO_GATEWAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <llhttp.h>

#include "gateway/hdr.h"

typedef enum {
    GW_HTTP_MORE = 0, /* all bytes consumed; feed more */
    GW_HTTP_HEAD,     /* the head is ready (gw__http_head()) */
    GW_HTTP_DONE,     /* the message (head and body) is complete */
} gw_http_ev_t;

typedef struct gw_http_head_s {
    const char *method; /* "GET", static */
    int method_id;      /* llhttp_method_t */
    const char *url;    /* request target as received, NUL-terminated */
    size_t url_len;
    gw_hdr_t *hdrs; /* nhdrs headers, in order */
    size_t nhdrs;
    int64_t content_length; /* -1 = none */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* the connection may carry another request */
    bool expect_continue;   /* Expect: 100-continue */
    uint8_t major, minor;   /* HTTP version */
} gw_http_head_t;

/* Body bytes: p borrows until the callback returns. */
typedef void (*gw_http_body_cb)(void *data, const char *p, size_t n);

typedef struct gw_http_s {
    llhttp_t p;
    gw_http_body_cb on_body;
    void *data; /* passed to on_body */
    /* private */
    char *buf;         /* url, then names and values, NUL after each */
    size_t len, cap;   /* cap = max header bytes */
    uint32_t (*hv)[4]; /* name off, name len, value off, value len */
    size_t nh, max_h;
    int last; /* last callback: 0 none, 1 url, 2 field, 3 value */
    int err;  /* GW_E* from a callback, returned by feed */
    bool head_ready, done;
    gw_http_head_t head;
} gw_http_t;

/* Prepare h; on_body and data are set by the caller afterwards.
 * @return 0 or CLEO_ENOMEM. */
int gw__http_init(gw_http_t *h, size_t max_header_bytes, size_t max_headers);
/* Release what init took. Accepts a zeroed h. */
void gw__http_destroy(gw_http_t *h);

/* Parse up to n bytes of p (borrows). Consumes bytes until an event.
 * @param[out] ev the event that stopped it (GW_HTTP_MORE when all of n
 * was consumed without one).
 * @return bytes consumed (>= 0); GW_EHDRTOOBIG (head over the limits),
 * GW_ETOOLARGE (body over limits set by the owner) or CLEO_EBADREQ
 * (malformed: the connection must be closed after the error reply). */
ssize_t gw__http_feed(gw_http_t *h, const char *p, size_t n, gw_http_ev_t *ev);

/* The head. @return valid until gw__http_next(), after GW_HTTP_HEAD. */
const gw_http_head_t *gw__http_head(const gw_http_t *h);

/* Is the body done (GW_HTTP_DONE seen) for the current message? */
bool gw__http_is_done(const gw_http_t *h);

/* Start on the next message after a GW_HTTP_DONE. */
void gw__http_next(gw_http_t *h);

/* A header's value by name (case-insensitive), NULL if absent.
 * @param[out] len its length. @return valid until gw__http_next(). */
const char *gw__hdr_get(const gw_hdr_t *h, size_t n, const char *name,
                        size_t *len);

#endif /* CLEO_GATEWAY_HTTP_H */
