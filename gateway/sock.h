/*
 * sock.h - a client socket as a libuv handle owned by a connection actor
 * (private to gateway/). The handle's callbacks run on the actor's
 * scheduler thread outside its turns, so they only turn events into
 * messages to the owner (rt.h's rule for uv handles); the actor acts on
 * them in its handlers.
 *
 * A socket may carry TLS (gw__sock_tls_attach): the owner sees the same
 * messages with plaintext in them, and a TLS failure or close_notify as a
 * GW_MSG_READ with a negative reason, like a TCP EOF.
 */
#ifndef CLEO_GATEWAY_SOCK_H
#define CLEO_GATEWAY_SOCK_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "runtime/rt.h"

/* Messages the socket sends to its owner. */
#define GW_MSG_BASE 0x47570000u           /* "GW" */
#define GW_MSG_READ (GW_MSG_BASE + 1u)    /* payload rt_buf; reason <0 err */
#define GW_MSG_WRITTEN (GW_MSG_BASE + 2u) /* reason status; arg notify seq */
#define GW_MSG_START (GW_MSG_BASE + 3u)
#define GW_MSG_TICK (GW_MSG_BASE + 4u)
#define GW_MSG_ACCEPT (GW_MSG_BASE + 5u)
#define GW_MSG_CLOSE (GW_MSG_BASE + 6u) /* to self: stop if all is written */

#define GW_READ_BYTES 65536 /* one read's buffer */

typedef struct gw_sock_s {
    uv_tcp_t tcp; /* first: the handle's address is the socket's */
    rt_t *rt;
    rt_pid_t owner; /* the connection actor */
    rt_buf_t *rbuf; /* the buffer lent to libuv for the current read */
    /* TLS (NULL for plain TCP): rbuf then holds ciphertext and is kept;
     * plaintext is collected in pbuf and sent as GW_MSG_READ. */
    struct rt_tls_s *tls;
    rt_buf_t *pbuf; /* plaintext not yet sent (len < GW_READ_BYTES) */
    bool tls_over;  /* TLS failed or ended: the read side is done */
} gw_sock_t;

struct ssl_ctx_st;

/* Make s a TLS server socket on ctx (an accepted socket, before any
 * read). @param ctx borrows (the SSL references it).
 * @return 0 or CLEO_ENOMEM. */
int gw__sock_tls_attach(gw_sock_t *s, struct ssl_ctx_st *ctx);

/* Start reading: every read becomes a GW_MSG_READ to the owner. */
int gw__sock_read_start(gw_sock_t *s);
void gw__sock_read_stop(gw_sock_t *s);

/* Write a body buffer (one reference, taken; may be NULL) after an
 * optional malloc'ed head (taken); a GW_MSG_WRITTEN with arg = notify
 * follows once its bytes (with TLS: their ciphertext) are on the wire.
 * On an error return no message follows. */
int gw__sock_write(gw_sock_t *s, char *head, size_t head_len, rt_buf_t *body,
                   uint64_t notify);

/* Close and free (asynchronously). An rt_free_fn for resources. */
void gw__sock_close(void *s);

/* Fixed-size control structs and bounded strings: abort on
 * out-of-memory (STYLE rule 26, cleo_xcalloc). */
void *gw__xcalloc(size_t n, size_t size);
/* A NUL-terminated copy of n bytes of s. @return gives: free(). */
char *gw__xstrndup(const char *s, size_t n);

#endif /* CLEO_GATEWAY_SOCK_H */
