/*
 * test_dist_frame.c - the distribution frame codec (runtime/dist_frame.c):
 * every kind round-trips; payload and body bytes arrive intact however the
 * stream is cut; truncated frames wait; oversize lengths are refused
 * before anything is buffered; garbage is CLEO_EPROTO and stays so; and
 * random bytes never crash the decoder.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test.pb-c.h"
#include "runtime/dist_frame.h"

#define MAXF 16
#define MAX_FRAME (1u << 20)

/* Everything a decoder handed out, copied. */
typedef struct {
    int frames;
    rt__dist_hdr_t hdr[MAXF];
    uint8_t *payload[MAXF];
    size_t payload_len[MAXF];
    uint8_t *body[MAXF];
    size_t body_len[MAXF];
    int body_chunks[MAXF];
    bool body_done[MAXF];
} got_t;

static void got_free(got_t *g)
{
    for (int i = 0; i < g->frames; i++) {
        free(g->payload[i]);
        free(g->body[i]);
    }
    memset(g, 0, sizeof(*g));
}

static void got_event(got_t *g, const rt__dist_ev_t *ev)
{
    if (ev->kind == RT__DIST_EV_FRAME) {
        cr_assert_lt(g->frames, MAXF);
        int i = g->frames++;
        g->hdr[i] = ev->hdr;
        g->payload_len[i] = ev->payload_len;
        g->payload[i] = malloc(ev->payload_len + 1);
        if (ev->payload_len > 0)
            memcpy(g->payload[i], ev->payload, ev->payload_len);
        g->body[i] = malloc(ev->hdr.body_len + 1);
        g->body_done[i] = ev->hdr.body_len == 0;
    } else if (ev->kind == RT__DIST_EV_BODY) {
        int i = g->frames - 1;
        cr_assert_geq(i, 0);
        cr_assert_not(g->body_done[i]);
        cr_assert_gt(ev->body_len, 0);
        cr_assert_leq(g->body_len[i] + ev->body_len, g->hdr[i].body_len);
        memcpy(g->body[i] + g->body_len[i], ev->body, ev->body_len);
        g->body_len[i] += ev->body_len;
        g->body_chunks[i]++;
        g->body_done[i] = ev->body_last;
        cr_assert_eq(ev->body_last, g->body_len[i] == g->hdr[i].body_len);
    }
}

/* Feed in[0..n) in chunks of `chunk` bytes. @return 0 or the error. */
static int feed_all(rt__dist_dec_t *d, const uint8_t *in, size_t n,
                    size_t chunk, got_t *g)
{
    for (size_t at = 0; at < n; at += chunk) {
        const uint8_t *p = in + at;
        size_t m = n - at < chunk ? n - at : chunk;
        while (m > 0) {
            rt__dist_ev_t ev;
            ssize_t r = rt__dist_dec_feed(d, p, m, &ev);
            if (r < 0)
                return (int)r;
            cr_assert_gt(r, 0, "no progress on %zu bytes", m);
            cr_assert_leq((size_t)r, m);
            got_event(g, &ev);
            p += r;
            m -= (size_t)r;
        }
    }
    return 0;
}

static rt__dist_hdr_t hdr_of(uint32_t kind, uint64_t body_len)
{
    return (rt__dist_hdr_t){
        .kind = kind,
        .to = 0x0102030405060708ull + kind,
        .from = 0xfffffffffffffff0ull - kind,
        .type = 1000 + kind,
        .ref = 0x8000000000000001ull * (kind + 1),
        .reason = -20000 - (int32_t)kind,
        .tag = 7 * kind,
        .body_len = body_len,
        .pb = 0x9e3779b9u + kind,
        .body = body_len > 0,
        .to_name = "storage",
    };
}

static void assert_hdr_eq(const rt__dist_hdr_t *a, const rt__dist_hdr_t *b)
{
    cr_assert_eq(a->kind, b->kind);
    cr_assert_eq(a->to, b->to);
    cr_assert_eq(a->from, b->from);
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->ref, b->ref);
    cr_assert_eq(a->reason, b->reason);
    cr_assert_eq(a->tag, b->tag);
    cr_assert_eq(a->body_len, b->body_len);
    cr_assert_eq(a->pb, b->pb);
    cr_assert_eq(a->body, b->body);
    cr_assert_str_eq(a->to_name, b->to_name);
}

/* Append a frame (and its body, pattern-filled from seed) to *buf. */
static void append_frame(uint8_t **buf, size_t *len, const rt__dist_hdr_t *h,
                         const ProtobufCMessage *pl, uint8_t seed)
{
    uint8_t *f;
    size_t n;
    cr_assert_eq(rt__dist_frame_encode(h, pl, MAX_FRAME, &f, &n), 0);
    *buf = realloc(*buf, *len + n + h->body_len);
    memcpy(*buf + *len, f, n);
    for (uint64_t i = 0; i < h->body_len; i++)
        (*buf)[*len + n + i] = (uint8_t)(seed + i * 31);
    *len += n + h->body_len;
    free(f);
}

static void assert_body(const got_t *g, int i, uint8_t seed)
{
    cr_assert(g->body_done[i]);
    cr_assert_eq(g->body_len[i], g->hdr[i].body_len);
    for (size_t k = 0; k < g->body_len[i]; k++)
        cr_assert_eq(g->body[i][k], (uint8_t)(seed + k * 31), "byte %zu", k);
}

static Cleo__Test__Ping ping_of(uint8_t *data, size_t n, uint64_t seq)
{
    Cleo__Test__Ping p = CLEO__TEST__PING__INIT;
    p.seq = seq;
    p.note = "hello";
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i ^ seq);
    p.data.data = data;
    p.data.len = n;
    return p;
}

static void assert_ping(const got_t *g, int i, uint64_t seq, size_t n)
{
    Cleo__Test__Ping *p =
        cleo__test__ping__unpack(NULL, g->payload_len[i], g->payload[i]);
    cr_assert_not_null(p);
    cr_assert_eq(p->seq, seq);
    cr_assert_str_eq(p->note, "hello");
    cr_assert_eq(p->data.len, n);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(p->data.data[k], (uint8_t)(k ^ seq));
    cleo__test__ping__free_unpacked(p, NULL);
}

Test(rt_dist_frame, every_kind_round_trips_with_its_header)
{
    uint8_t *buf = NULL, data[64];
    size_t len = 0;
    int nk = CLEO__DIST__FRAME_HEADER__KIND__LINK_EXIT + 1;
    cr_assert_eq(nk, 13);
    for (int k = 0; k < nk; k++) {
        rt__dist_hdr_t h = hdr_of((uint32_t)k, (uint64_t)k * 3);
        Cleo__Test__Ping p = ping_of(data, sizeof(data), (uint64_t)k);
        append_frame(&buf, &len, &h, &p.base, (uint8_t)k);
    }
    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    cr_assert_eq(feed_all(&d, buf, len, len, &g), 0);
    cr_assert_eq(g.frames, nk);
    for (int k = 0; k < nk; k++) {
        rt__dist_hdr_t h = hdr_of((uint32_t)k, (uint64_t)k * 3);
        assert_hdr_eq(&g.hdr[k], &h);
        assert_ping(&g, k, (uint64_t)k, sizeof(data));
        assert_body(&g, k, (uint8_t)k);
    }
    cr_assert(rt__dist_dec_is_idle(&d));
    got_free(&g);
    rt__dist_dec_destroy(&d);
    free(buf);
}

Test(rt_dist_frame, payload_and_body_arrive_intact_and_body_is_not_copied)
{
    static uint8_t data[5000];
    uint8_t *buf = NULL;
    size_t len = 0;
    rt__dist_hdr_t h = hdr_of(CLEO__DIST__FRAME_HEADER__KIND__MSG, 70000);
    Cleo__Test__Ping p = ping_of(data, sizeof(data), 42);
    append_frame(&buf, &len, &h, &p.base, 9);

    rt__dist_dec_t d;
    rt__dist_ev_t ev;
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    ssize_t r = rt__dist_dec_feed(&d, buf, len, &ev);
    cr_assert_eq(ev.kind, RT__DIST_EV_FRAME);
    cr_assert_eq((size_t)r, len - 70000);
    /* A whole frame in the input is parsed in place: nothing buffered. */
    cr_assert_null(d.buf);
    cr_assert(ev.payload >= buf && ev.payload < buf + len);
    r = rt__dist_dec_feed(&d, buf + r, len - (size_t)r, &ev);
    cr_assert_eq(r, 70000);
    cr_assert_eq(ev.kind, RT__DIST_EV_BODY);
    cr_assert_eq(ev.body, buf + len - 70000);
    cr_assert(ev.body_last);
    assert_hdr_eq(&ev.hdr, &h);

    got_t g = {0};
    rt__dist_dec_destroy(&d);
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    cr_assert_eq(feed_all(&d, buf, len, 4096, &g), 0);
    cr_assert_eq(g.frames, 1);
    assert_ping(&g, 0, 42, sizeof(data));
    assert_body(&g, 0, 9);
    cr_assert_gt(g.body_chunks[0], 1);
    got_free(&g);
    rt__dist_dec_destroy(&d);
    free(buf);
}

Test(rt_dist_frame, frames_fed_one_byte_at_a_time_decode)
{
    uint8_t *buf = NULL, data[300];
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        rt__dist_hdr_t h =
            hdr_of(CLEO__DIST__FRAME_HEADER__KIND__REPLY, (uint64_t)i * 100);
        Cleo__Test__Ping p = ping_of(data, sizeof(data), (uint64_t)i);
        append_frame(&buf, &len, &h, &p.base, (uint8_t)(i + 1));
    }
    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    cr_assert_eq(feed_all(&d, buf, len, 1, &g), 0);
    cr_assert_eq(g.frames, 3);
    for (int i = 0; i < 3; i++) {
        assert_ping(&g, i, (uint64_t)i, sizeof(data));
        assert_body(&g, i, (uint8_t)(i + 1));
        cr_assert_eq(g.body_chunks[i], i * 100);
    }
    cr_assert(rt__dist_dec_is_idle(&d));
    got_free(&g);
    rt__dist_dec_destroy(&d);
    free(buf);
}

Test(rt_dist_frame, several_frames_in_one_chunk_each_come_out)
{
    uint8_t *buf = NULL, data[10];
    size_t len = 0;
    for (int i = 0; i < 12; i++) {
        rt__dist_hdr_t h = hdr_of((uint32_t)(i % 10), (uint64_t)(i % 3));
        Cleo__Test__Ping p = ping_of(data, sizeof(data), (uint64_t)i);
        append_frame(&buf, &len, &h, i % 2 ? &p.base : NULL, (uint8_t)i);
    }
    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    cr_assert_eq(feed_all(&d, buf, len, len, &g), 0);
    cr_assert_eq(g.frames, 12);
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(g.hdr[i].type, 1000 + (uint32_t)(i % 10));
        if (i % 2)
            assert_ping(&g, i, (uint64_t)i, sizeof(data));
        else
            cr_assert_eq(g.payload_len[i], 0);
        assert_body(&g, i, (uint8_t)i);
    }
    got_free(&g);
    rt__dist_dec_destroy(&d);
    free(buf);
}

Test(rt_dist_frame, truncated_frame_waits_for_the_rest)
{
    uint8_t *buf = NULL, data[100];
    size_t len = 0;
    rt__dist_hdr_t h = hdr_of(CLEO__DIST__FRAME_HEADER__KIND__DOWN, 0);
    Cleo__Test__Ping p = ping_of(data, sizeof(data), 5);
    append_frame(&buf, &len, &h, &p.base, 0);

    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    for (size_t cut = 1; cut < len; cut++) {
        cr_assert_eq(feed_all(&d, buf, cut, cut, &g), 0);
        cr_assert_eq(g.frames, 0, "a frame out of %zu of %zu bytes", cut, len);
        cr_assert_not(rt__dist_dec_is_idle(&d));
        cr_assert_eq(feed_all(&d, buf + cut, len - cut, len, &g), 0);
        cr_assert_eq(g.frames, 1);
        assert_ping(&g, 0, 5, sizeof(data));
        cr_assert(rt__dist_dec_is_idle(&d));
        got_free(&g);
    }
    rt__dist_dec_destroy(&d);
    free(buf);
}

Test(rt_dist_frame, length_over_max_is_refused_before_buffering)
{
    rt__dist_dec_t d;
    rt__dist_ev_t ev;
    uint8_t pfx[4] = {0x00, 0x00, 0x04, 0x01}; /* 1025 */
    cr_assert_eq(rt__dist_dec_init(&d, 1024), 0);
    cr_assert_eq(rt__dist_dec_feed(&d, pfx, 2, &ev), 2);
    cr_assert_eq(rt__dist_dec_feed(&d, pfx + 2, 2, &ev), CLEO_ELIMIT);
    cr_assert_null(d.buf);
    cr_assert_eq(d.cap, 0);
    /* Sticky: the connection is to be closed. */
    uint8_t ok[8] = {0, 0, 0, 1, 0};
    cr_assert_eq(rt__dist_dec_feed(&d, ok, 5, &ev), CLEO_ELIMIT);
    cr_assert_eq(ev.kind, RT__DIST_EV_NONE);
    cr_assert_not(rt__dist_dec_is_idle(&d));
    rt__dist_dec_destroy(&d);

    /* A 4 GiB length too, and the encoder refuses to build one. */
    uint8_t big[4] = {0xff, 0xff, 0xff, 0xff};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    cr_assert_eq(rt__dist_dec_feed(&d, big, 4, &ev), CLEO_ELIMIT);
    cr_assert_null(d.buf);
    rt__dist_dec_destroy(&d);
    uint8_t data[2000], *f = NULL;
    size_t n = 0;
    Cleo__Test__Ping p = ping_of(data, sizeof(data), 1);
    rt__dist_hdr_t h = hdr_of(0, 0);
    cr_assert_eq(rt__dist_frame_encode(&h, &p.base, 1024, &f, &n), CLEO_ELIMIT);
    cr_assert_null(f);
}

/* Feed bytes to a fresh decoder and return what feed_all returned. */
static int decode_bytes(const uint8_t *b, size_t n)
{
    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    int rc = feed_all(&d, b, n, n, &g);
    if (rc < 0) {
        rt__dist_ev_t ev;
        cr_assert_eq(rt__dist_dec_feed(&d, b, n, &ev), rc, "not sticky");
    }
    got_free(&g);
    rt__dist_dec_destroy(&d);
    return rc;
}

Test(rt_dist_frame, garbage_is_eproto)
{
    /* L = 0: not even a header length. */
    const uint8_t zero[] = {0, 0, 0, 0};
    cr_assert_eq(decode_bytes(zero, sizeof(zero)), CLEO_EPROTO);
    /* Header length 9 in a frame of 4. */
    const uint8_t longh[] = {0, 0, 0, 4, 9, 0x08, 0x01, 0x00};
    cr_assert_eq(decode_bytes(longh, sizeof(longh)), CLEO_EPROTO);
    /* A header length varint that never ends. */
    const uint8_t runaway[] = {0, 0, 0, 3, 0x80, 0x80, 0x80};
    cr_assert_eq(decode_bytes(runaway, sizeof(runaway)), CLEO_EPROTO);
    /* Header bytes that are no FrameHeader (field 0, bad wire type). */
    const uint8_t bad[] = {0, 0, 0, 4, 3, 0xff, 0xff, 0xff};
    cr_assert_eq(decode_bytes(bad, sizeof(bad)), CLEO_EPROTO);
    /* A valid header with an unknown kind (kind = 42). */
    const uint8_t kind[] = {0, 0, 0, 3, 2, 0x08, 42};
    cr_assert_eq(decode_bytes(kind, sizeof(kind)), CLEO_EPROTO);
    /* The same with kind = TICK decodes, so the bytes above are right. */
    const uint8_t tick[] = {0, 0, 0, 3, 2, 0x08, 9};
    cr_assert_eq(decode_bytes(tick, sizeof(tick)), 0);
    /* The encoder refuses a kind it does not know. */
    rt__dist_hdr_t h = hdr_of(13, 0);
    size_t n;
    cr_assert_eq(rt__dist_frame_size(&h, NULL, MAX_FRAME, &n), CLEO_EINVAL);
}

Test(rt_dist_frame, empty_header_payload_and_body_decode)
{
    /* An all-default MSG header packs to zero bytes: L is 1. */
    rt__dist_hdr_t h = {0};
    uint8_t *f;
    size_t n;
    cr_assert_eq(rt__dist_frame_encode(&h, NULL, MAX_FRAME, &f, &n), 0);
    cr_assert_eq(n, 5);
    rt__dist_dec_t d;
    rt__dist_ev_t ev;
    cr_assert_eq(rt__dist_dec_init(&d, 1), 0);
    cr_assert_eq(rt__dist_dec_feed(&d, f, n, &ev), 5);
    cr_assert_eq(ev.kind, RT__DIST_EV_FRAME);
    assert_hdr_eq(&ev.hdr, &h);
    cr_assert_null(ev.payload);
    cr_assert_eq(ev.payload_len, 0);
    cr_assert(rt__dist_dec_is_idle(&d));
    cr_assert_eq(rt__dist_dec_feed(&d, f, 0, &ev), 0);
    cr_assert_eq(ev.kind, RT__DIST_EV_NONE);
    rt__dist_dec_destroy(&d);
    free(f);
    cr_assert_eq(rt__dist_dec_init(&d, 0), CLEO_EINVAL);
}

Test(rt_dist_frame, frame_of_exactly_max_bytes_passes_and_one_more_fails)
{
    uint8_t data[3000], *f;
    size_t n, sz;
    Cleo__Test__Ping p = ping_of(data, sizeof(data), 3);
    rt__dist_hdr_t h = hdr_of(CLEO__DIST__FRAME_HEADER__KIND__MSG, 0);
    cr_assert_eq(rt__dist_frame_size(&h, &p.base, MAX_FRAME, &sz), 0);
    size_t max = sz - RT__DIST_FRAME_PREFIX;
    cr_assert_eq(rt__dist_frame_size(&h, &p.base, max - 1, &n), CLEO_ELIMIT);
    cr_assert_eq(rt__dist_frame_encode(&h, &p.base, max, &f, &n), 0);
    cr_assert_eq(n, sz);

    /* In two pieces, so the decoder buffers it: at most max bytes. */
    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, max), 0);
    cr_assert_eq(feed_all(&d, f, n, n / 2, &g), 0);
    cr_assert_eq(g.frames, 1);
    cr_assert_eq(d.cap, max);
    assert_ping(&g, 0, 3, sizeof(data));
    got_free(&g);
    rt__dist_dec_destroy(&d);

    cr_assert_eq(rt__dist_dec_init(&d, max - 1), 0);
    cr_assert_eq(feed_all(&d, f, n, 1, &g), CLEO_ELIMIT);
    cr_assert_null(d.buf);
    rt__dist_dec_destroy(&d);
    free(f);
}

Test(rt_dist_frame, large_buffer_is_released_between_frames)
{
    static uint8_t data[100000];
    uint8_t *buf = NULL;
    size_t len = 0;
    rt__dist_hdr_t h = hdr_of(0, 0);
    Cleo__Test__Ping p = ping_of(data, sizeof(data), 8);
    append_frame(&buf, &len, &h, &p.base, 0);
    rt__dist_dec_t d;
    got_t g = {0};
    cr_assert_eq(rt__dist_dec_init(&d, MAX_FRAME), 0);
    cr_assert_eq(feed_all(&d, buf, len, 1000, &g), 0);
    cr_assert_geq(d.cap, sizeof(data));
    rt__dist_ev_t ev;
    cr_assert_eq(rt__dist_dec_feed(&d, buf, 1, &ev), 1);
    cr_assert_null(d.buf);
    cr_assert_eq(d.cap, 0);
    got_free(&g);
    rt__dist_dec_destroy(&d);
    free(buf);
}

/* One fuzz round: a valid stream, maybe mutated, or pure noise, fed in
 * random cuts. The decoder must make progress, keep its buffer within the
 * limit, and on error stay in error. */
static void fuzz_round(unsigned *seed, uint8_t *buf, size_t len)
{
    rt__dist_dec_t d;
    size_t max = 64 + (size_t)(rand_r(seed) % 4096);
    cr_assert_eq(rt__dist_dec_init(&d, max), 0);
    int err = 0;
    size_t at = 0;
    while (at < len) {
        size_t m = 1 + (size_t)rand_r(seed) % 97;
        if (m > len - at)
            m = len - at;
        rt__dist_ev_t ev;
        ssize_t r = rt__dist_dec_feed(&d, buf + at, m, &ev);
        cr_assert_leq(d.cap, max);
        if (r < 0) {
            cr_assert(r == CLEO_EPROTO || r == CLEO_ELIMIT);
            cr_assert(err == 0 || err == (int)r);
            err = (int)r;
            at += m;
            continue;
        }
        cr_assert_eq(err, 0, "error state left");
        cr_assert(r > 0 && (size_t)r <= m);
        if (ev.kind == RT__DIST_EV_FRAME)
            cr_assert_leq(ev.payload_len, max);
        at += (size_t)r;
    }
    rt__dist_dec_destroy(&d);
}

Test(rt_dist_frame, random_bytes_never_crash_the_decoder)
{
    unsigned seed = 20261207;
    uint8_t data[200];
    for (int round = 0; round < 3000; round++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int frames = 1 + rand_r(&seed) % 4;
        for (int i = 0; i < frames; i++) {
            rt__dist_hdr_t h = hdr_of((uint32_t)(rand_r(&seed) % 10),
                                      (uint64_t)(rand_r(&seed) % 50));
            Cleo__Test__Ping p =
                ping_of(data, (size_t)rand_r(&seed) % 200, (uint64_t)i);
            append_frame(&buf, &len, &h, &p.base, 1);
        }
        int mode = round % 3; /* 0 valid, 1 mutated, 2 noise */
        for (size_t i = 0; mode > 0 && i < len; i++)
            if (mode == 2 || rand_r(&seed) % 50 == 0)
                buf[i] = (uint8_t)rand_r(&seed);
        fuzz_round(&seed, buf, len);
        free(buf);
    }
}

Test(rt_dist_frame, a_name_of_rt_name_max_bytes_is_eproto)
{
    /* Header: field 9 (to_name), length 128: one byte too many. */
    uint8_t b[4 + 1 + 3 + 128];
    memset(b, 'x', sizeof b);
    size_t l = sizeof b - 4;
    b[0] = 0;
    b[1] = 0;
    b[2] = 0;
    b[3] = (uint8_t)l;
    b[4] = 3 + 128;    /* header length */
    b[5] = 9 << 3 | 2; /* field 9, length-delimited */
    b[6] = 0x80;       /* varint 128 */
    b[7] = 0x01;
    cr_assert_eq(decode_bytes(b, sizeof b), CLEO_EPROTO);
}
