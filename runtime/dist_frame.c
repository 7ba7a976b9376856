/*
 * dist_frame.c - the distribution frame codec: length prefix, varint
 * header length, FrameHeader, payload; the body streamed after. Pure
 * functions over bytes, so tests/fuzz/fuzz_dist_frame.c can drive the
 * decoder with garbage.
 */
#include "runtime/dist_frame.h"

#include <stdlib.h>
#include <string.h>

enum { ST_PREFIX, ST_FRAME, ST_BODY };

#define VARINT_MAX 10 /* bytes of a 64-bit varint */

static bool kind_is_valid(uint32_t k)
{
    return k <= CLEO__DIST__FRAME_HEADER__KIND__LINK_EXIT;
}

static void hdr_to_pb(const rt__dist_hdr_t *h, Cleo__Dist__FrameHeader *pb)
{
    cleo__dist__frame_header__init(pb);
    pb->kind = (Cleo__Dist__FrameHeader__Kind)h->kind;
    pb->to = h->to;
    pb->from = h->from;
    pb->type = h->type;
    pb->ref = h->ref;
    pb->reason = h->reason;
    pb->tag = h->tag;
    pb->body_len = h->body_len;
    pb->pb = h->pb;
    pb->body = h->body || h->body_len > 0;
    /* protobuf-c packs a string field only when it is not "" */
    pb->to_name = (char *)h->to_name;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(uint64_t v, uint8_t *p)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Read a varint from p[0..n): its byte count, or 0 if it is malformed or
 * runs past n. */
static size_t varint_get(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < VARINT_MAX; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

int rt__dist_frame_size(const rt__dist_hdr_t *h,
                        const ProtobufCMessage *payload, size_t max_frame_bytes,
                        size_t *out)
{
    if (!kind_is_valid(h->kind))
        return CLEO_EINVAL;
    Cleo__Dist__FrameHeader pb;
    hdr_to_pb(h, &pb);
    size_t hl = cleo__dist__frame_header__get_packed_size(&pb);
    size_t pl = payload ? protobuf_c_message_get_packed_size(payload) : 0;
    size_t l = varint_size(hl) + hl + pl;
    if (l > max_frame_bytes || l > UINT32_MAX)
        return CLEO_ELIMIT;
    *out = RT__DIST_FRAME_PREFIX + l;
    return 0;
}

size_t rt__dist_frame_pack(const rt__dist_hdr_t *h,
                           const ProtobufCMessage *payload, uint8_t *dst)
{
    Cleo__Dist__FrameHeader pb;
    hdr_to_pb(h, &pb);
    size_t hl = cleo__dist__frame_header__get_packed_size(&pb);
    uint8_t *p = dst + RT__DIST_FRAME_PREFIX;
    p += varint_put(hl, p);
    p += cleo__dist__frame_header__pack(&pb, p);
    if (payload != NULL)
        p += protobuf_c_message_pack(payload, p);
    size_t l = (size_t)(p - dst) - RT__DIST_FRAME_PREFIX;
    dst[0] = (uint8_t)(l >> 24);
    dst[1] = (uint8_t)(l >> 16);
    dst[2] = (uint8_t)(l >> 8);
    dst[3] = (uint8_t)l;
    return (size_t)(p - dst);
}

int rt__dist_frame_encode(const rt__dist_hdr_t *h,
                          const ProtobufCMessage *payload,
                          size_t max_frame_bytes, uint8_t **out, size_t *n)
{
    size_t sz;
    int rc = rt__dist_frame_size(h, payload, max_frame_bytes, &sz);
    if (rc < 0)
        return rc;
    uint8_t *b = malloc(sz);
    if (b == NULL)
        return CLEO_ENOMEM;
    size_t w = rt__dist_frame_pack(h, payload, b);
    (void)w; /* equal to sz: the sizes above are the packer's own */
    *out = b;
    *n = sz;
    return 0;
}

int rt__dist_dec_init(rt__dist_dec_t *d, size_t max_frame_bytes)
{
    if (max_frame_bytes == 0 || max_frame_bytes > UINT32_MAX)
        return CLEO_EINVAL;
    memset(d, 0, sizeof(*d));
    d->max_frame = max_frame_bytes;
    d->state = ST_PREFIX;
    return 0;
}

void rt__dist_dec_destroy(rt__dist_dec_t *d)
{
    if (d == NULL)
        return;
    free(d->buf);
    d->buf = NULL;
    d->cap = 0;
}

bool rt__dist_dec_is_idle(const rt__dist_dec_t *d)
{
    return d->err == 0 && d->state == ST_PREFIX && d->pfx_len == 0;
}

static ssize_t fail(rt__dist_dec_t *d, int rc)
{
    d->err = rc;
    return rc;
}

/* Parse the L bytes of one frame at q into ev; the payload points into q.
 * Sets up the body state when the header announces one. */
static int frame_parse(rt__dist_dec_t *d, const uint8_t *q, size_t l,
                       rt__dist_ev_t *ev)
{
    uint64_t hl;
    size_t vl = varint_get(q, l, &hl);
    if (vl == 0 || hl > l - vl)
        return CLEO_EPROTO;
    Cleo__Dist__FrameHeader *pb =
        cleo__dist__frame_header__unpack(NULL, (size_t)hl, q + vl);
    if (pb == NULL)
        return CLEO_EPROTO;
    rt__dist_hdr_t h = {
        .kind = (uint32_t)pb->kind,
        .to = pb->to,
        .from = pb->from,
        .type = pb->type,
        .ref = pb->ref,
        .reason = pb->reason,
        .tag = pb->tag,
        .body_len = pb->body_len,
        .pb = pb->pb,
        .body = pb->body || pb->body_len > 0,
    };
    size_t nl = pb->to_name != NULL ? strlen(pb->to_name) : 0;
    if (nl < sizeof h.to_name && nl > 0)
        memcpy(h.to_name, pb->to_name, nl + 1);
    cleo__dist__frame_header__free_unpacked(pb, NULL);
    if (nl >= sizeof h.to_name)
        return CLEO_EPROTO;
    if (!kind_is_valid(h.kind))
        return CLEO_EPROTO;
    size_t off = vl + (size_t)hl;
    ev->kind = RT__DIST_EV_FRAME;
    ev->hdr = h;
    ev->payload = off < l ? q + off : NULL;
    ev->payload_len = l - off;
    d->hdr = h;
    d->body_left = h.body_len;
    d->state = h.body_len > 0 ? ST_BODY : ST_PREFIX;
    return 0;
}

/* The prefix is complete: check L before buffering any of it. */
static int frame_begin(rt__dist_dec_t *d, uint32_t l)
{
    if (l == 0)
        return CLEO_EPROTO;
    if (l > d->max_frame)
        return CLEO_ELIMIT;
    d->need = l;
    d->have = 0;
    d->pfx_len = 0;
    d->state = ST_FRAME;
    return 0;
}

/* Buffer up to need bytes of a frame that arrived in pieces. */
static int frame_buffer(rt__dist_dec_t *d, const uint8_t *in, size_t n,
                        size_t *used)
{
    if (d->cap < d->need) {
        uint8_t *b = realloc(d->buf, d->need);
        if (b == NULL)
            return CLEO_ENOMEM;
        d->buf = b;
        d->cap = d->need;
    }
    size_t k = d->need - d->have;
    if (k > n)
        k = n;
    memcpy(d->buf + d->have, in, k);
    d->have += k;
    *used = k;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static ssize_t body_chunk(rt__dist_dec_t *d, const uint8_t *in, size_t n,
                          rt__dist_ev_t *ev)
{
    size_t k = d->body_left < n ? (size_t)d->body_left : n;
    d->body_left -= k;
    ev->kind = RT__DIST_EV_BODY;
    ev->hdr = d->hdr;
    ev->body = in;
    ev->body_len = k;
    ev->body_last = d->body_left == 0;
    if (ev->body_last)
        d->state = ST_PREFIX;
    return (ssize_t)k;
}

ssize_t rt__dist_dec_feed(rt__dist_dec_t *d, const uint8_t *in, size_t n,
                          rt__dist_ev_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (d->err < 0)
        return d->err;
    if (d->state == ST_PREFIX && d->pfx_len == 0 &&
        d->cap > RT__DIST_FRAME_KEEP) {
        /* The previous event may point into buf only until this call. */
        free(d->buf);
        d->buf = NULL;
        d->cap = 0;
    }
    size_t off = 0;
    int rc;
    while (off < n) {
        if (d->state == ST_BODY)
            return (ssize_t)off + body_chunk(d, in + off, n - off, ev);
        if (d->state == ST_PREFIX) {
            size_t k = RT__DIST_FRAME_PREFIX - d->pfx_len;
            if (k > n - off)
                k = n - off;
            memcpy(d->pfx + d->pfx_len, in + off, k);
            d->pfx_len += k;
            off += k;
            if (d->pfx_len < RT__DIST_FRAME_PREFIX)
                break;
            if ((rc = frame_begin(d, be32(d->pfx))) < 0)
                return fail(d, rc);
            continue;
        }
        /* ST_FRAME: parse in place when the whole frame is in the input. */
        if (d->have == 0 && n - off >= d->need) {
            if ((rc = frame_parse(d, in + off, d->need, ev)) < 0)
                return fail(d, rc);
            return (ssize_t)(off + d->need);
        }
        size_t used;
        if ((rc = frame_buffer(d, in + off, n - off, &used)) < 0)
            return fail(d, rc);
        off += used;
        if (d->have == d->need) {
            if ((rc = frame_parse(d, d->buf, d->need, ev)) < 0)
                return fail(d, rc);
            break;
        }
    }
    return (ssize_t)off;
}
