/*
 * fuzz_dist_frame.c - libFuzzer target for the distribution frame decoder
 * (runtime/dist_frame.c), fed arbitrary bytes cut as a connection would
 * deliver them. The first two input bytes choose the frame limit and the
 * cut size. Every header that decodes must re-encode and decode to the
 * same header. tests/fuzz/run.sh builds and runs it (half the time of
 * the older targets, with the handshake's target taking the other half).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dist_frame.h"

static bool hdr_eq(const rt__dist_hdr_t *a, const rt__dist_hdr_t *b)
{
    return a->kind == b->kind && a->to == b->to && a->from == b->from &&
           a->type == b->type && a->ref == b->ref && a->reason == b->reason &&
           a->tag == b->tag && a->body_len == b->body_len;
}

/* A decoded header must survive its own encoding. */
static void reencode(const rt__dist_hdr_t *h, size_t max)
{
    uint8_t *f;
    size_t n;
    if (rt__dist_frame_encode(h, NULL, max, &f, &n) < 0)
        return; /* only when the header alone exceeds a tiny limit */
    rt__dist_dec_t d;
    rt__dist_ev_t ev;
    if (rt__dist_dec_init(&d, max) < 0)
        __builtin_trap();
    if (rt__dist_dec_feed(&d, f, n, &ev) != (ssize_t)n ||
        ev.kind != RT__DIST_EV_FRAME || !hdr_eq(&ev.hdr, h))
        __builtin_trap();
    rt__dist_dec_destroy(&d);
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = 1 + (size_t)data[0] * 64;
    size_t cut = 1 + data[1];
    data += 2;
    size -= 2;
    rt__dist_dec_t d;
    if (rt__dist_dec_init(&d, max) < 0)
        __builtin_trap();
    while (size > 0) {
        size_t m = size < cut ? size : cut;
        rt__dist_ev_t ev;
        ssize_t r = rt__dist_dec_feed(&d, data, m, &ev);
        if (r < 0)
            break;
        if (r == 0 || (size_t)r > m || d.cap > max)
            __builtin_trap(); /* no progress, overrun, or over the limit */
        if (ev.kind == RT__DIST_EV_FRAME) {
            if (ev.payload_len > max)
                __builtin_trap();
            rt__dist_hdr_t h = ev.hdr;
            reencode(&h, max);
        }
        data += r;
        size -= (size_t)r;
    }
    rt__dist_dec_destroy(&d);
    return 0;
}
