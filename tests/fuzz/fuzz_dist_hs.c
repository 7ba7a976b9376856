/*
 * fuzz_dist_hs.c - libFuzzer target for the distribution handshake state
 * machine (runtime/dist_hs.h). Built and run by run.sh.
 *
 * Input: a mode byte, then a seed byte for the cuts, then the rest.
 *   mode % 3 == 0: the rest is fed, cut as a connection would deliver it,
 *                  to a fresh acceptor;
 *   mode % 3 == 1: the same, to a fresh initiator;
 *   mode % 3 == 2: a real initiator runs against a real acceptor, and the
 *                  rest is a list of tamperings in transit: 4 bytes each,
 *                  direction and offset (u16be, bit 15 the direction) in
 *                  that direction's byte stream, then a byte to xor in.
 *                  The seed byte's bits 6 and 7 give the two sides other
 *                  cookies or the same name.
 * Properties: no crash; a feed consumes no more than it is given, and less
 * only when done; the output is whole messages, at most a HELLO and one
 * PROOF or REFUSE; a failure is sticky; done only with a peer name of
 * 1..255 bytes that is not ours. Fuzzer bytes never complete a handshake
 * (they cannot know the fresh nonce). With a peer in the loop: a side that
 * is done has the true peer name and creation; the initiator is done only
 * if the acceptor is; any tampering, a cookie mismatch or a shared name
 * means not both are done; no tampering, same cookie, two names: both are.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/dist_hs.h"

#define NAME_I "alpha@host-i"
#define NAME_A "beta@host-a"
/* HELLO with the longest name, then a PROOF (the larger of PROOF/REFUSE) */
#define OUT_MAX ((2 + 297) + (2 + 33))

static const char cookie1[] = "fuzz-cookie-one";
static const char cookie2[] = "fuzz-cookie-two";

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

/* One side of a connection, with what it has sent so far. */
typedef struct {
    rt_dist_hs_t hs;
    uint8_t sent[OUT_MAX]; /* all its output, drained */
    size_t sent_len;
    bool failed; /* a feed or eof returned CLEO_EPROTO */
    rt_dist_hs_why_t why;
} side_t;

static uint32_t rnd_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A cut of at most len bytes: tiny, small, or large, as the seed says. */
static size_t cut(uint32_t *s, size_t len)
{
    static const size_t caps[4] = {1, 7, 64, 1024};
    uint32_t r = rnd_next(s);
    size_t n = 1 + (r >> 2) % caps[r & 3];
    return n < len ? n : len;
}

/* Take what the side has queued, checking its bound, into sent[]. */
static void drain(side_t *x)
{
    size_t n;
    const uint8_t *p = rt__dist_hs_output(&x->hs, &n);
    CHECK(n <= sizeof x->hs.out && x->sent_len + n <= OUT_MAX);
    memcpy(x->sent + x->sent_len, p, n);
    x->sent_len += n;
    size_t half = n / 2; /* sent in two steps, as a socket may */
    rt__dist_hs_consumed(&x->hs, half);
    p = rt__dist_hs_output(&x->hs, &half);
    CHECK(half == n - n / 2 &&
          memcmp(p, x->sent + x->sent_len - half, half) == 0);
    rt__dist_hs_consumed(&x->hs, half);
    rt__dist_hs_output(&x->hs, &n);
    CHECK(n == 0);
}

/* The output is our HELLO, then at most one PROOF or REFUSE. */
static void check_sent(const side_t *x)
{
    size_t off = 0, msgs = 0;
    while (off < x->sent_len) {
        CHECK(x->sent_len - off >= 2);
        size_t n = (size_t)x->sent[off] << 8 | x->sent[off + 1];
        CHECK(n >= 1 && n <= RT_DIST_HS_MAX_MSG && off + 2 + n <= x->sent_len);
        uint8_t t = x->sent[off + 2];
        CHECK(msgs == 0 ? t == 'H'
                        : (t == 'P' && n == 33) || (t == 'R' && n == 2));
        off += 2 + n;
        msgs++;
    }
    CHECK(msgs >= 1 && msgs <= 2);
}

static void check_state(side_t *x)
{
    rt_dist_hs_t *hs = &x->hs;
    if (x->failed) { /* sticky, with its first reason */
        CHECK(!rt__dist_hs_is_done(hs) && rt__dist_hs_why(hs) == x->why);
        CHECK(rt__dist_hs_why(hs) != RT_DIST_HS_OK);
        CHECK(strcmp(rt__dist_hs_why_str(rt__dist_hs_why(hs)), "unknown"));
    }
    if (rt__dist_hs_is_done(hs)) {
        const char *p = rt__dist_hs_peer_name(hs);
        CHECK(p != NULL);
        size_t n = strlen(p);
        CHECK(n >= 1 && n <= RT_DIST_NAME_MAX && strcmp(p, hs->name) != 0);
        CHECK(rt__dist_hs_why(hs) == RT_DIST_HS_OK);
    }
}

/* Feed len bytes in one call and check what it did. @return consumed. */
static size_t feed(side_t *x, const uint8_t *p, size_t len)
{
    bool was_failed = x->failed, was_done = rt__dist_hs_is_done(&x->hs);
    ssize_t r = rt__dist_hs_feed(&x->hs, p, len);
    drain(x);
    if (r < 0) {
        CHECK(r == CLEO_EPROTO && !was_done);
        if (!was_failed) {
            x->failed = true;
            x->why = rt__dist_hs_why(&x->hs);
        }
    } else {
        CHECK(!was_failed && (size_t)r <= len);
        CHECK((size_t)r == len || rt__dist_hs_is_done(&x->hs));
    }
    check_state(x);
    return r < 0 ? len : (size_t)r;
}

static void end(side_t *x)
{
    int rc = rt__dist_hs_eof(&x->hs);
    bool done = rt__dist_hs_is_done(&x->hs);
    CHECK(rc == (done ? 0 : CLEO_EPROTO));
    if (!done && !x->failed) {
        CHECK(rt__dist_hs_why(&x->hs) == RT_DIST_HS_TRUNCATED);
        x->failed = true;
        x->why = RT_DIST_HS_TRUNCATED;
    }
    CHECK(rt__dist_hs_eof(&x->hs) == rc); /* and it stays so */
    check_state(x);
    check_sent(x);
}

static void start(side_t *x, rt_dist_hs_role_t role, const char *name,
                  uint32_t creation, const char *cookie)
{
    memset(x, 0, sizeof *x);
    CHECK(rt__dist_hs_init(&x->hs, role, name, creation, cookie,
                           strlen(cookie)) == 0);
    drain(x);
    check_sent(x);
}

/* Arbitrary bytes, in arbitrary cuts, to one side. */
static void one_side(rt_dist_hs_role_t role, uint32_t seed, const uint8_t *d,
                     size_t size)
{
    side_t x;
    start(&x, role, role == RT_DIST_HS_ACCEPTOR ? NAME_A : NAME_I, 7, cookie1);
    while (size > 0) {
        size_t m = cut(&seed, size);
        size_t used = feed(&x, d, m);
        if (rt__dist_hs_is_done(&x.hs))
            __builtin_trap(); /* forged a digest without the nonce */
        d += used;
        size -= used;
    }
    if (x.failed) { /* more bytes after a failure are still refused */
        static const uint8_t more[3] = {0, 1, 'H'};
        feed(&x, more, sizeof more);
    }
    end(&x);
    rt__dist_hs_destroy(&x.hs);
}

typedef struct {
    const uint8_t *muts; /* 4 bytes each */
    size_t n_muts;
    size_t off[2]; /* bytes so far in each direction */
    bool tampered;
} wire_t;

/* Deliver everything from one side not yet delivered to the other, with
 * the tamperings that fall in it, in cuts. @return bytes delivered. */
static size_t deliver(wire_t *w, int dir, side_t *from, size_t *from_pos,
                      side_t *to, uint32_t *seed)
{
    size_t n = from->sent_len - *from_pos, done = 0;
    uint8_t buf[OUT_MAX];
    memcpy(buf, from->sent + *from_pos, n);
    for (size_t i = 0; i < w->n_muts; i++) {
        const uint8_t *m = w->muts + 4 * i;
        if ((m[0] >> 7) != dir || m[3] == 0)
            continue;
        size_t at = ((size_t)(m[0] & 0x7f) << 8 | m[1]) % (OUT_MAX + 1);
        if (at >= w->off[dir] && at < w->off[dir] + n)
            buf[at - w->off[dir]] ^= m[3];
    }
    /* two tamperings of one byte may cancel out */
    if (memcmp(buf, from->sent + *from_pos, n) != 0)
        w->tampered = true;
    w->off[dir] += n;
    *from_pos = from->sent_len;
    while (done < n && !to->failed && !rt__dist_hs_is_done(&to->hs)) {
        size_t m = cut(seed, n - done);
        done += feed(to, buf + done, m);
    }
    return n;
}

static void check_peer(const side_t *x, const char *name, uint32_t creation)
{
    if (!rt__dist_hs_is_done(&x->hs))
        return;
    CHECK(strcmp(rt__dist_hs_peer_name(&x->hs), name) == 0);
    CHECK(rt__dist_hs_peer_creation(&x->hs) == creation);
}

static void two_sides(uint8_t flags, const uint8_t *d, size_t size)
{
    bool other_cookie = flags & 0x80, same_name = flags & 0x40;
    uint32_t seed = 0x9e3779b9u ^ flags, ci = 0x01020304u, ca = 0xfffffff0u;
    const char *name_a = same_name ? NAME_I : NAME_A;
    side_t i, a;
    start(&i, RT_DIST_HS_INITIATOR, NAME_I, ci, cookie1);
    start(&a, RT_DIST_HS_ACCEPTOR, name_a, ca,
          other_cookie ? cookie2 : cookie1);
    wire_t w = {.muts = d, .n_muts = size / 4};
    size_t pos_i = 0, pos_a = 0;
    for (int round = 0; round < 8; round++) {
        size_t moved = deliver(&w, 0, &i, &pos_i, &a, &seed);
        moved += deliver(&w, 1, &a, &pos_a, &i, &seed);
        if (moved == 0)
            break;
    }
    end(&i);
    end(&a);
    bool di = rt__dist_hs_is_done(&i.hs), da = rt__dist_hs_is_done(&a.hs);
    check_peer(&i, name_a, ca);
    check_peer(&a, NAME_I, ci);
    CHECK(!di || da); /* the acceptor proves only once it is done */
    if (w.tampered || other_cookie || same_name)
        CHECK(!(di && da));
    else
        CHECK(di && da);
    if (other_cookie || same_name)
        CHECK(!di && !da);
    rt__dist_hs_destroy(&i.hs);
    rt__dist_hs_destroy(&a.hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0], seed = data[1];
    data += 2;
    size -= 2;
    if (mode % 3 == 0)
        one_side(RT_DIST_HS_ACCEPTOR, 0x9e3779b9u ^ seed, data, size);
    else if (mode % 3 == 1)
        one_side(RT_DIST_HS_INITIATOR, 0x9e3779b9u ^ seed, data, size);
    else
        two_sides(seed, data, size);
    return 0;
}
