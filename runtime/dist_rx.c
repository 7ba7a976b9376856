/*
 * dist_rx.c - the receiving half of a connection, whatever carries its
 * bytes (TCP in dist_conn.c, the simulated network in dist_sim.c): frames
 * decoded, payloads unpacked, bodies gathered, messages delivered.
 */
#include <string.h>

#include "runtime/dist.h"

void rt__dist_rx_init(rt__dist_rx_t *rx, rt_dist_t *d)
{
    memset(rx, 0, sizeof *rx);
    rx->d = d;
    (void)rt__dist_dec_init(&rx->dec, d->max_frame);
}

void rt__dist_rx_destroy(rt__dist_rx_t *rx)
{
    rt__dist_dec_destroy(&rx->dec);
    rt_buf_unref(rx->body);
    rx->body = NULL;
    if (rx->bpb != NULL)
        protobuf_c_message_free_unpacked(rx->bpb, NULL);
    rx->bpb = NULL;
}

/* A frame's payload, unpacked. @return 0 and *out (NULL for none), or -1
 * with *why (an unknown type, or bytes that do not unpack). */
static int payload_of(rt__dist_rx_t *rx, const rt__dist_ev_t *ev,
                      ProtobufCMessage **out, const char **why)
{
    *out = NULL;
    if (ev->hdr.pb == 0 && ev->payload_len == 0)
        return 0;
    if (ev->hdr.pb != 0)
        *out = rt__dist_unpack(rx->d, ev->hdr.pb, ev->payload, ev->payload_len);
    if (*out != NULL)
        return 0;
    *why = ev->hdr.pb != 0 ? "unknown payload type or bad payload"
                           : "payload without a type";
    return -1;
}

/* A whole frame without body bytes (but maybe an empty buffer). */
static int frame_done(rt__dist_rx_t *rx, rt__dnode_t *n,
                      const rt__dist_ev_t *ev, const char **why)
{
    ProtobufCMessage *pb;
    rt_buf_t *empty = NULL;
    if (payload_of(rx, ev, &pb, why) < 0)
        return -1;
    if (ev->hdr.body && rt_buf_new(0, &empty) < 0) {
        if (pb != NULL)
            protobuf_c_message_free_unpacked(pb, NULL);
        *why = "no memory for the body";
        return -1;
    }
    return rt__dist_deliver(rx->d, n, &ev->hdr, pb, empty);
}

/* A frame whose body follows: keep its header and payload until the body
 * is in. */
static int body_begin(rt__dist_rx_t *rx, const rt__dist_ev_t *ev,
                      const char **why)
{
    if (ev->hdr.body_len > rx->d->max_frame) {
        *why = "body over dist.max_frame_bytes";
        return -1;
    }
    if (payload_of(rx, ev, &rx->bpb, why) < 0)
        return -1;
    if (rt_buf_new((size_t)ev->hdr.body_len, &rx->body) < 0) {
        *why = "no memory for the body";
        return -1;
    }
    rx->bhdr = ev->hdr;
    rx->body_have = 0;
    return 0;
}

/* A body chunk; the last one delivers the message. */
static int body_more(rt__dist_rx_t *rx, rt__dnode_t *n, const rt__dist_ev_t *ev,
                     const char **why)
{
    memcpy(rt_buf_data(rx->body) + rx->body_have, ev->body, ev->body_len);
    rx->body_have += ev->body_len;
    if (!ev->body_last)
        return 0;
    rt_buf_t *b = rx->body;
    rx->body = NULL;
    if (rt_buf_set_len(b, rx->body_have) < 0) { /* cannot be */
        rt_buf_unref(b);
        *why = "bad body";
        return -1;
    }
    ProtobufCMessage *pb = rx->bpb;
    rx->bpb = NULL;
    return rt__dist_deliver(rx->d, n, &rx->bhdr, pb, b);
}

int rt__dist_rx_feed(rt__dist_rx_t *rx, rt__dnode_t *n, const uint8_t *p,
                     size_t len, const char **why)
{
    while (len > 0) {
        rt__dist_ev_t ev;
        ssize_t k = rt__dist_dec_feed(&rx->dec, p, len, &ev);
        if (k < 0) {
            *why = k == CLEO_ELIMIT ? "over dist.max_frame_bytes" : "malformed";
            return -1;
        }
        p += k;
        len -= (size_t)k;
        int rc = 0;
        if (ev.kind == RT__DIST_EV_FRAME && ev.hdr.body_len == 0)
            rc = frame_done(rx, n, &ev, why);
        else if (ev.kind == RT__DIST_EV_FRAME)
            rc = body_begin(rx, &ev, why);
        else if (ev.kind == RT__DIST_EV_BODY)
            rc = body_more(rx, n, &ev, why);
        if (rc < 0)
            return -1;
    }
    return 0;
}
