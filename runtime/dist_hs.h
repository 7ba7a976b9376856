/*
 * dist_hs.h - the distribution handshake and the cookie (issue 10), as a
 * pure state machine: no sockets, no loop. The transport feeds it the bytes
 * it reads and sends the bytes it produces; once it is done, any bytes
 * after the handshake belong to the frame layer.
 *
 * Protocol (version 1). Every message is a 2-byte big-endian body length,
 * then the body, at most RT_DIST_HS_MAX_MSG bytes; the body's first byte is
 * its type:
 *   HELLO  'H' "CLDH" version:u8 role:u8 creation:u32be nonce[32]
 *          name_len:u8 name[name_len]
 *   PROOF  'P' digest[32]
 *   REFUSE 'R' why:u8
 * Both sides send HELLO at once. The initiator, having the acceptor's
 * HELLO, sends its PROOF. The acceptor checks it and only then sends its
 * own PROOF, so a peer that connects without the cookie never obtains a
 * digest from us; on a wrong digest, or a peer that claims our own name,
 * the acceptor sends REFUSE instead (a diagnostic only: REFUSE is not
 * authenticated, and can do no more than a reset could).
 *
 * A digest is HMAC-SHA256(cookie, label || nonce_i || nonce_a ||
 * creation_i || creation_a || len_i name_i || len_a name_a), always in
 * initiator-then-acceptor order, where label names the role of the prover.
 * So the initiator's digest is useless as the acceptor's (a reflected
 * digest fails), a recorded digest is useless with fresh nonces (a replay
 * fails), and the cookie never crosses the wire. Digests are compared in
 * constant time. Over TLS both sides append 32 bytes of the session's
 * exported keying material (rt__dist_hs_bind) to what the HMAC covers, so
 * proofs made for one TLS session are useless in another: a relay that
 * terminates TLS on both sides cannot pass the handshake on.
 */
#ifndef CLEO_RUNTIME_DIST_HS_H
#define CLEO_RUNTIME_DIST_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/rt.h"

#define RT_DIST_HS_VERSION 1
#define RT_DIST_NAME_MAX 255    /* bytes of name@host */
#define RT_DIST_NONCE_BYTES 32  /* random, fresh per handshake */
#define RT_DIST_DIGEST_BYTES 32 /* HMAC-SHA256 */
#define RT_DIST_COOKIE_MAX 1024 /* bytes; longer is refused */
#define RT_DIST_HS_MAX_MSG 512  /* body bytes; a HELLO is <= 297 */
#define RT_DIST_BIND_BYTES 32   /* TLS channel binding */

typedef enum {
    RT_DIST_HS_INITIATOR = 0, /* we opened the connection */
    RT_DIST_HS_ACCEPTOR = 1,  /* the peer opened it */
} rt_dist_hs_role_t;

/* Why a handshake failed. Every failure returns CLEO_EPROTO from the call
 * that saw it; this reason, from rt__dist_hs_why(), tells them apart (so
 * that a wrong cookie can be logged and counted apart from garbage). */
typedef enum {
    RT_DIST_HS_OK = 0,
    RT_DIST_HS_GARBAGE,        /* malformed message, bad magic or version */
    RT_DIST_HS_OVERSIZE,       /* a length over RT_DIST_HS_MAX_MSG */
    RT_DIST_HS_TRUNCATED,      /* the connection closed mid-handshake */
    RT_DIST_HS_BADCOOKIE,      /* the peer's digest did not verify */
    RT_DIST_HS_OWNNAME,        /* the peer claimed this node's own name */
    RT_DIST_HS_REFUSED_COOKIE, /* the peer refused our digest */
    RT_DIST_HS_REFUSED_NAME,   /* the peer refused our name */
} rt_dist_hs_why_t;

typedef enum {
    RT_DIST_HS_WAIT_HELLO = 0, /* our HELLO sent (queued) */
    RT_DIST_HS_WAIT_PROOF,     /* the peer's HELLO in; its PROOF awaited */
    RT_DIST_HS_DONE,           /* both sides proved the cookie */
    RT_DIST_HS_FAILED,         /* see why */
} rt_dist_hs_state_t;

typedef struct rt_dist_hs_s {
    /* private */
    rt_dist_hs_role_t role;
    rt_dist_hs_state_t state;
    rt_dist_hs_why_t why;
    uint32_t creation;      /* ours */
    uint32_t peer_creation; /* valid from WAIT_PROOF */
    uint8_t name_len, peer_name_len;
    char name[RT_DIST_NAME_MAX + 1];      /* NUL-terminated */
    char peer_name[RT_DIST_NAME_MAX + 1]; /* NUL-terminated */
    uint8_t nonce[RT_DIST_NONCE_BYTES];
    uint8_t peer_nonce[RT_DIST_NONCE_BYTES];
    size_t cookie_len;
    uint8_t cookie[RT_DIST_COOKIE_MAX];        /* cleansed by destroy */
    bool bound;                                /* binding below is set */
    uint8_t binding[RT_DIST_BIND_BYTES];       /* TLS keying material */
    uint8_t in[2 + RT_DIST_HS_MAX_MSG];        /* the message being read */
    size_t in_len;                             /* bytes of in[] filled */
    uint8_t out[2 * (2 + RT_DIST_HS_MAX_MSG)]; /* bytes to send */
    size_t out_len;
} rt_dist_hs_t;

/* Start a handshake: check the name (1..255 printable bytes, "name@host")
 * and cookie, draw a nonce and queue our HELLO for rt__dist_hs_output().
 * name and cookie are borrowed (copied). @return 0; CLEO_EINVAL (bad name,
 * empty or oversize cookie); CLEO_EPROTO if the random generator failed. */
int rt__dist_hs_init(rt_dist_hs_t *hs, rt_dist_hs_role_t role, const char *name,
                     uint32_t creation, const void *cookie, size_t cookie_len);
/* Bind the handshake to a TLS session (both sides, before any byte is
 * fed): the digests also cover b (borrows; RT_DIST_BIND_BYTES). */
void rt__dist_hs_bind(rt_dist_hs_t *hs, const uint8_t *b);
/* Wipe the cookie and nonces. Accepts NULL. */
void rt__dist_hs_destroy(rt_dist_hs_t *hs);

/* Feed bytes read from the peer (any split, down to one at a time). Stops
 * consuming at DONE: the rest belongs to the frame layer. Output it queues
 * (a PROOF or REFUSE) is read with rt__dist_hs_output() and should be sent
 * even after a failure. @return bytes consumed (>= 0), or CLEO_EPROTO with
 * rt__dist_hs_why() set, also on every call after a failure. */
ssize_t rt__dist_hs_feed(rt_dist_hs_t *hs, const void *data, size_t len);
/* The peer closed the connection. @return 0 if the handshake is done,
 * else CLEO_EPROTO (TRUNCATED unless it had failed already). */
int rt__dist_hs_eof(rt_dist_hs_t *hs);

/* Bytes waiting to be sent. @return valid until the next call on hs. */
const uint8_t *rt__dist_hs_output(const rt_dist_hs_t *hs, size_t *len);
/* n bytes of the output were sent; drop them (n <= pending). */
void rt__dist_hs_consumed(rt_dist_hs_t *hs, size_t n);

bool rt__dist_hs_is_done(const rt_dist_hs_t *hs);
rt_dist_hs_why_t rt__dist_hs_why(const rt_dist_hs_t *hs);
/* A static word for a reason ("bad cookie"), for log lines. */
const char *rt__dist_hs_why_str(rt_dist_hs_why_t why);
/* The peer's name. @return valid until destroy; NULL before its HELLO. */
const char *rt__dist_hs_peer_name(const rt_dist_hs_t *hs);
/* The peer's creation (0 before its HELLO). Only trust it once done. */
uint32_t rt__dist_hs_peer_creation(const rt_dist_hs_t *hs);

/* Load the cookie: from the CLEO_COOKIE environment variable if set; else
 * from cookie_file if not NULL (dist.cookie_file; it must exist); else from
 * <data_dir>/cookie, created at first use with 32 random bytes in hex and
 * mode 0400 (atomically: a temporary file made with O_EXCL, then linked
 * into place, so that two nodes starting at once agree on one cookie).
 * Trailing whitespace is dropped. A file with any group/other permission
 * bit, not a regular file, or owned by another user is refused, as ssh
 * does; so is an empty or oversize cookie. Each refusal logs one line.
 * @param out gives: a NUL-terminated cookie, free with free(); written
 *        only on success.
 * @return 0; CLEO_EINVAL (empty or oversize cookie, or no source);
 *         -EACCES (loose permissions or foreign owner); -errno. */
int rt__dist_cookie_load(const char *cookie_file, const char *data_dir,
                         char **out, size_t *out_len);

#endif
