/*
 * dist_frame.h - the distribution wire frame codec (private to runtime/).
 * Pure functions over bytes, no sockets: the transport feeds what it reads
 * and writes what these produce.
 *
 * A frame on the wire:
 *
 *   u32 L (big-endian) | varint H | FrameHeader (H bytes) | payload | body
 *                        \________________ L bytes _______/
 *
 * The payload is the message packed by its protobuf-c descriptor (empty
 * for none); which descriptor is the receiver's business (its role's
 * dispatch table, by header.type). The body, header.body_len raw bytes,
 * follows outside L so that it streams through in bounded memory: the
 * decoder hands it out in chunks borrowed from the caller's input and
 * never buffers it. L is bounded by max_frame_bytes; the body is not.
 */
#ifndef CLEO_RUNTIME_DIST_FRAME_H
#define CLEO_RUNTIME_DIST_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/dist.pb-c.h"
#include "runtime/rt.h"

#define RT__DIST_FRAME_PREFIX 4 /* bytes of the length prefix */
/* Decoder buffers above this size are released between frames. */
#define RT__DIST_FRAME_KEEP (64u * 1024)

/* The header as plain C; kind is a CLEO__DIST__FRAME_HEADER__KIND__*. */
typedef struct rt__dist_hdr_s {
    uint32_t kind;             /* Cleo__Dist__FrameHeader__Kind, validated */
    uint64_t to;               /* receiving pid */
    uint64_t from;             /* sending pid */
    uint32_t type;             /* message id in the receiver role's contract */
    uint64_t ref;              /* call/monitor/unlink reference, 0 = none */
    int32_t reason;            /* exit reason or reply status */
    uint32_t tag;              /* sender's small per-message value */
    uint64_t body_len;         /* raw body bytes after the frame */
    uint32_t pb;               /* payload type hash (FNV-1a of the full name) */
    bool body;                 /* a buffer of body_len bytes (maybe 0) */
    char to_name[RT_NAME_MAX]; /* "" or the registered name `to` means */
} rt__dist_hdr_t;

/* ---- encoding ------------------------------------------------------- */

/* Bytes rt__dist_frame_pack() writes for h and payload: the prefix plus L
 * (not the body).
 * @param h borrows. @param payload borrows; NULL = empty payload.
 * @return 0 and *out; CLEO_EINVAL (h->kind not a Kind); CLEO_ELIMIT (L
 *         above max_frame_bytes). */
int rt__dist_frame_size(const rt__dist_hdr_t *h,
                        const ProtobufCMessage *payload, size_t max_frame_bytes,
                        size_t *out);

/* Write the frame (prefix, header, payload) into dst, which holds at least
 * the size rt__dist_frame_size() gave for the same h and payload. The
 * caller then writes h->body_len body bytes itself.
 * @param h borrows. @param payload borrows, may be NULL. @param dst borrows.
 * @return the bytes written. */
size_t rt__dist_frame_pack(const rt__dist_hdr_t *h,
                           const ProtobufCMessage *payload, uint8_t *dst);

/* Size, allocate and pack in one go.
 * @param h borrows. @param payload borrows, may be NULL.
 * @param out gives: a malloc'd buffer of *n bytes, free with free().
 * @return 0; CLEO_EINVAL; CLEO_ELIMIT; CLEO_ENOMEM. */
int rt__dist_frame_encode(const rt__dist_hdr_t *h,
                          const ProtobufCMessage *payload,
                          size_t max_frame_bytes, uint8_t **out, size_t *n);

/* ---- decoding ------------------------------------------------------- */

typedef enum {
    RT__DIST_EV_NONE = 0, /* all input consumed; more bytes needed */
    RT__DIST_EV_FRAME,    /* a whole frame: hdr and payload are set */
    RT__DIST_EV_BODY,     /* a chunk of the current frame's body */
} rt__dist_ev_kind_t;

/* What one rt__dist_dec_feed() call produced. */
typedef struct rt__dist_ev_s {
    rt__dist_ev_kind_t kind;
    rt__dist_hdr_t hdr;     /* FRAME: the header; BODY: the frame's */
    const uint8_t *payload; /* FRAME: packed payload, valid until the next
                               feed or destroy (into the input or the
                               decoder's buffer); NULL when empty */
    size_t payload_len;     /* FRAME: bytes at payload */
    const uint8_t *body;    /* BODY: a chunk of the caller's input */
    size_t body_len;        /* BODY: bytes at body, > 0 */
    bool body_last;         /* BODY: the frame's last body chunk */
} rt__dist_ev_t;

/* An incremental decoder for one connection's byte stream. */
typedef struct rt__dist_dec_s {
    /* private */
    size_t max_frame; /* bound on L, and on every buffer below */
    int err;          /* 0, or the sticky error */
    int state;        /* PREFIX, FRAME or BODY (dist_frame.c) */
    uint8_t pfx[RT__DIST_FRAME_PREFIX]; /* partial length prefix */
    size_t pfx_len;                     /* bytes in pfx */
    size_t need;                        /* FRAME: L */
    size_t have;                        /* FRAME: bytes of L buffered in buf */
    uint8_t *buf;       /* malloc'd, cap <= max_frame; NULL when cap 0 */
    size_t cap;         /* bytes at buf */
    rt__dist_hdr_t hdr; /* BODY: the header of the frame being streamed */
    uint64_t body_left; /* BODY: bytes still to come */
} rt__dist_dec_t;

/* Start a decoder. Nothing is allocated until a frame arrives in pieces.
 * @param d borrows: caller-allocated. @return 0, CLEO_EINVAL (limit 0 or
 *         above UINT32_MAX). */
int rt__dist_dec_init(rt__dist_dec_t *d, size_t max_frame_bytes);

/* Release the decoder's buffer. Accepts NULL; cannot fail. */
void rt__dist_dec_destroy(rt__dist_dec_t *d);

/* Consume bytes from in until one event is ready or in runs out; call
 * again with the rest (in + return value) until it is all consumed. A
 * truncated frame is kept and completed by later calls. A length above
 * max_frame_bytes is refused before anything is buffered. After an error
 * every later call returns the same error: close the connection.
 * @param in borrows; body chunks and payloads may point into it, so keep
 *        it until the event is handled. @param ev borrows: written always.
 * @return bytes consumed (0 only for n == 0); CLEO_ELIMIT (oversize
 *         frame); CLEO_EPROTO (zero length, bad header length, header that
 *         does not unpack, unknown kind, to_name of RT_NAME_MAX bytes or
 *         more); CLEO_ENOMEM. */
ssize_t rt__dist_dec_feed(rt__dist_dec_t *d, const uint8_t *in, size_t n,
                          rt__dist_ev_t *ev);

/* True between frames: no partial frame or body pending (a clean place
 * for the connection to end). */
bool rt__dist_dec_is_idle(const rt__dist_dec_t *d);

#endif
