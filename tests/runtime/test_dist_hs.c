/*
 * test_dist_hs.c - the distribution handshake as a pure state machine (two
 * of them talking in memory) and the cookie file: success, wrong cookie,
 * reflected and replayed digests, garbage, truncation, oversize and own
 * names, byte-at-a-time feeding; cookie from env, file, creation, refusals.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/dist_hs.h"

#define COOKIE "sesame"

static void init(rt_dist_hs_t *hs, rt_dist_hs_role_t role, const char *name,
                 uint32_t creation, const char *cookie)
{
    cr_assert_eq(
        rt__dist_hs_init(hs, role, name, creation, cookie, strlen(cookie)), 0);
}

/* Move a's pending output into b, chunk bytes per feed (0 = all at once).
 * @return the last feed's result (bytes consumed or CLEO_EPROTO). */
static ssize_t pump(rt_dist_hs_t *a, rt_dist_hs_t *b, size_t chunk)
{
    size_t n;
    const uint8_t *p = rt__dist_hs_output(a, &n);
    uint8_t copy[2048];
    cr_assert_leq(n, sizeof copy);
    memcpy(copy, p, n);
    rt__dist_hs_consumed(a, n);
    ssize_t r = 0;
    for (size_t off = 0; off < n && r >= 0;) {
        size_t len = chunk == 0 || n - off < chunk ? n - off : chunk;
        r = rt__dist_hs_feed(b, copy + off, len);
        off += len;
    }
    return r;
}

/* Run both sides until neither has output. */
static void converse(rt_dist_hs_t *i, rt_dist_hs_t *a, size_t chunk)
{
    for (int round = 0; round < 8; round++) {
        size_t ni, na;
        rt__dist_hs_output(i, &ni);
        rt__dist_hs_output(a, &na);
        if (ni == 0 && na == 0)
            return;
        pump(i, a, chunk);
        pump(a, i, chunk);
    }
    cr_assert_fail("the handshake did not settle");
}

static void assert_learned(rt_dist_hs_t *i, rt_dist_hs_t *a)
{
    cr_assert(rt__dist_hs_is_done(i));
    cr_assert(rt__dist_hs_is_done(a));
    cr_assert_str_eq(rt__dist_hs_peer_name(i), "b@host2");
    cr_assert_str_eq(rt__dist_hs_peer_name(a), "a@host1");
    cr_assert_eq(rt__dist_hs_peer_creation(i), 0xB0B0B0B0u);
    cr_assert_eq(rt__dist_hs_peer_creation(a), 0xA1A1A1A1u);
    cr_assert_eq(rt__dist_hs_why(i), RT_DIST_HS_OK);
}

Test(rt_dist_hs, two_sides_succeed_and_learn_name_and_creation)
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 0xA1A1A1A1u, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 0xB0B0B0B0u, COOKIE);
    cr_assert_eq(rt__dist_hs_eof(&i), CLEO_EPROTO); /* not done yet */
    rt__dist_hs_destroy(&i);
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 0xA1A1A1A1u, COOKIE);
    converse(&i, &a, 0);
    assert_learned(&i, &a);
    cr_assert_eq(rt__dist_hs_eof(&i), 0);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, byte_at_a_time_feeding_succeeds)
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 0xA1A1A1A1u, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 0xB0B0B0B0u, COOKIE);
    converse(&i, &a, 1);
    assert_learned(&i, &a);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, bytes_after_the_handshake_are_left_for_frames)
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    pump(&i, &a, 0); /* HELLO i -> a */
    pump(&a, &i, 0); /* HELLO a -> i; i queues PROOF */
    pump(&i, &a, 0); /* PROOF i -> a; a queues PROOF */
    size_t n;
    const uint8_t *p = rt__dist_hs_output(&a, &n);
    uint8_t buf[256];
    memcpy(buf, p, n);
    memcpy(buf + n, "FRAME", 5);
    cr_assert_eq(rt__dist_hs_feed(&i, buf, n + 5), (ssize_t)n);
    cr_assert(rt__dist_hs_is_done(&i));
    cr_assert_eq(rt__dist_hs_feed(&i, "more", 4), 0);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, wrong_cookie_fails_on_both_sides)
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, "sesame");
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, "sesamf");
    pump(&i, &a, 0);
    pump(&a, &i, 0);
    cr_assert_eq(pump(&i, &a, 0), CLEO_EPROTO); /* a checks i's proof */
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_BADCOOKIE);
    size_t n;
    rt__dist_hs_output(&a, &n);
    cr_assert_eq(n, 4, "the acceptor sends a REFUSE and no digest");
    cr_assert_eq(pump(&a, &i, 0), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&i), RT_DIST_HS_REFUSED_COOKIE);
    cr_assert_not(rt__dist_hs_is_done(&i));
    cr_assert_not(rt__dist_hs_is_done(&a));
    /* Failed stays failed. */
    cr_assert_eq(rt__dist_hs_feed(&i, "x", 1), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_eof(&a), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_BADCOOKIE);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

/* Over TLS both sides bind the handshake to their session's keying
 * material. A relay that ends TLS on each side has two sessions, so the
 * two sides hold different bindings: the right cookie no longer suffices. */
Test(rt_dist_hs, proofs_bound_to_different_tls_sessions_fail)
{
    uint8_t b1[RT_DIST_BIND_BYTES], b2[RT_DIST_BIND_BYTES];
    memset(b1, 0x11, sizeof b1);
    memset(b2, 0x11, sizeof b2);
    b2[31] = 0x12;
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 0xA1A1A1A1u, "sesame");
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 0xB0B0B0B0u, "sesame");
    rt__dist_hs_bind(&i, b1);
    rt__dist_hs_bind(&a, b2);
    pump(&i, &a, 0);
    pump(&a, &i, 0);
    cr_assert_eq(pump(&i, &a, 0), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_BADCOOKIE);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
    /* The same session on both sides passes. */
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 0xA1A1A1A1u, "sesame");
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 0xB0B0B0B0u, "sesame");
    rt__dist_hs_bind(&i, b1);
    rt__dist_hs_bind(&a, b1);
    converse(&i, &a, 0);
    assert_learned(&i, &a);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
    /* Bound on one side only (a plain relay in the middle) fails too. */
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 0xA1A1A1A1u, "sesame");
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 0xB0B0B0B0u, "sesame");
    rt__dist_hs_bind(&a, b1);
    pump(&i, &a, 0);
    pump(&a, &i, 0);
    cr_assert_eq(pump(&i, &a, 0), CLEO_EPROTO);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, an_acceptor_with_the_wrong_cookie_fails_the_initiator)
{
    /* A fake acceptor that answers HELLO with some digest: the initiator
     * (a node dialling a stranger) refuses its proof. */
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, "sesame");
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, "sesame");
    pump(&i, &a, 0);
    pump(&a, &i, 0);
    pump(&i, &a, 0);
    cr_assert(rt__dist_hs_is_done(&a));
    size_t n;
    const uint8_t *p = rt__dist_hs_output(&a, &n);
    uint8_t proof[64];
    memcpy(proof, p, n);
    proof[n - 1] ^= 1; /* a digest computed with another cookie */
    cr_assert_eq(rt__dist_hs_feed(&i, proof, n), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&i), RT_DIST_HS_BADCOOKIE);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, a_reflected_digest_fails)
{
    /* The initiator's own PROOF sent back to it as the acceptor's: same
     * nonces and names, but labelled for the other role. */
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    pump(&i, &a, 0);
    pump(&a, &i, 0);
    size_t n;
    const uint8_t *p = rt__dist_hs_output(&i, &n);
    uint8_t proof[64];
    cr_assert_eq(n, 35);
    memcpy(proof, p, n);
    cr_assert_eq(rt__dist_hs_feed(&i, proof, n), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&i), RT_DIST_HS_BADCOOKIE);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, a_replayed_digest_fails)
{
    /* Record a good session's acceptor PROOF and play it, with the same
     * acceptor HELLO, to a new initiator: its fresh nonce defeats it. */
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    pump(&i, &a, 0);
    size_t hn, pn;
    uint8_t hello[600], proof[64];
    const uint8_t *p = rt__dist_hs_output(&a, &hn);
    memcpy(hello, p, hn);
    pump(&a, &i, 0);
    pump(&i, &a, 0);
    p = rt__dist_hs_output(&a, &pn);
    memcpy(proof, p, pn);
    pump(&a, &i, 0);
    cr_assert(rt__dist_hs_is_done(&i));
    rt__dist_hs_destroy(&i);

    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    cr_assert_eq(rt__dist_hs_feed(&i, hello, hn), (ssize_t)hn);
    cr_assert_eq(rt__dist_hs_feed(&i, proof, pn), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&i), RT_DIST_HS_BADCOOKIE);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, a_peer_in_the_same_role_is_refused)
{
    /* Our HELLO reflected back to us (or two initiators crossed). */
    rt_dist_hs_t i, j;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&j, RT_DIST_HS_INITIATOR, "b@host2", 2, COOKIE);
    cr_assert_eq(pump(&j, &i, 0), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&i), RT_DIST_HS_GARBAGE);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&j);
}

Test(rt_dist_hs, a_peer_claiming_our_own_name_is_refused)
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "a@host1", 2, COOKIE);
    cr_assert_eq(pump(&i, &a, 0), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_OWNNAME);
    cr_assert_null(rt__dist_hs_peer_name(&a));
    /* a's queued HELLO then REFUSE reach i, which learns why. */
    cr_assert_eq(pump(&a, &i, 0), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&i), RT_DIST_HS_OWNNAME);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

Test(rt_dist_hs, garbage_first_bytes_fail)
{
    static const char *const junk[] = {
        "GET / HTTP/1.1\r\n\r\n", /* length 0x4745: oversize */
        "\x00\x00",               /* an empty message */
        "\x00\x03zzz",            /* unknown type */
        "\x00\x04HXXX",           /* a HELLO without magic */
        "\x00\x02P1",             /* a PROOF before any HELLO */
        "\x00\x02R\x09",          /* a REFUSE with an unknown reason */
    };
    static const size_t lens[] = {18, 2, 5, 6, 4, 4};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        rt_dist_hs_t a;
        init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
        cr_assert_eq(rt__dist_hs_feed(&a, junk[k], lens[k]), CLEO_EPROTO,
                     "junk %zu", k);
        cr_assert_neq(rt__dist_hs_why(&a), RT_DIST_HS_OK);
        rt__dist_hs_destroy(&a);
    }
    rt_dist_hs_t a;
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    cr_assert_eq(rt__dist_hs_feed(&a, "GET", 3), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_OVERSIZE);
    rt__dist_hs_destroy(&a);
}

/* A HELLO from i, edited by edit(), fed to a fresh acceptor. */
static int feed_edited_hello(void (*edit)(uint8_t *m, size_t *n))
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    size_t n;
    uint8_t m[1024];
    const uint8_t *p = rt__dist_hs_output(&i, &n);
    memcpy(m, p, n);
    edit(m, &n);
    ssize_t r = rt__dist_hs_feed(&a, m, n);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
    return (int)(r < 0 ? r : 0);
}

static void set_name(uint8_t *m, size_t *n, const char *name, size_t len)
{
    size_t body = 1 + 4 + 1 + 1 + 4 + 32 + 1 + len;
    m[0] = (uint8_t)(body >> 8);
    m[1] = (uint8_t)body;
    m[2 + 43] = (uint8_t)len;
    memcpy(m + 2 + 44, name, len);
    *n = 2 + body;
}

static void long_name(uint8_t *m, size_t *n)
{
    char name[255];
    memset(name, 'x', sizeof name);
    name[0] = 'a';
    name[1] = '@';
    set_name(m, n, name, sizeof name); /* 255 bytes: allowed */
}

static void no_at_name(uint8_t *m, size_t *n)
{
    set_name(m, n, "ahost", 5);
}

static void bad_byte_name(uint8_t *m, size_t *n)
{
    set_name(m, n, "a@h\nst", 6);
}

static void wrong_len(uint8_t *m, size_t *n)
{
    (void)n;
    m[2 + 43] = 200; /* the name length disagrees with the body */
}

static void bad_version(uint8_t *m, size_t *n)
{
    (void)n;
    m[2 + 5] = 2;
}

static void untouched(uint8_t *m, size_t *n)
{
    (void)m;
    (void)n;
}

Test(rt_dist_hs, names_are_bounded_and_checked)
{
    cr_assert_eq(feed_edited_hello(untouched), 0);
    cr_assert_eq(feed_edited_hello(long_name), 0);
    cr_assert_eq(feed_edited_hello(no_at_name), CLEO_EPROTO);
    cr_assert_eq(feed_edited_hello(bad_byte_name), CLEO_EPROTO);
    cr_assert_eq(feed_edited_hello(wrong_len), CLEO_EPROTO);
    cr_assert_eq(feed_edited_hello(bad_version), CLEO_EPROTO);
}

Test(rt_dist_hs, an_oversize_name_or_message_fails)
{
    /* A name over 255 cannot be said in a HELLO; the nearest a peer can
     * get is a message longer than the limit. */
    rt_dist_hs_t a;
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    uint8_t hdr[2] = {(RT_DIST_HS_MAX_MSG + 1) >> 8,
                      (RT_DIST_HS_MAX_MSG + 1) & 0xff};
    cr_assert_eq(rt__dist_hs_feed(&a, hdr, 2), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_OVERSIZE);
    rt__dist_hs_destroy(&a);
    char big[300];
    memset(big, 'x', sizeof big);
    big[0] = 'a';
    big[1] = '@';
    big[299] = '\0';
    cr_assert_eq(rt__dist_hs_init(&a, RT_DIST_HS_ACCEPTOR, big, 1, COOKIE, 6),
                 CLEO_EINVAL);
    cr_assert_eq(rt__dist_hs_init(&a, RT_DIST_HS_ACCEPTOR, "b@h", 1, "", 0),
                 CLEO_EINVAL);
    cr_assert_eq(rt__dist_hs_init(&a, RT_DIST_HS_ACCEPTOR, "bh", 1, "c", 1),
                 CLEO_EINVAL);
}

Test(rt_dist_hs, truncated_then_closed_fails)
{
    rt_dist_hs_t i, a;
    init(&i, RT_DIST_HS_INITIATOR, "a@host1", 1, COOKIE);
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    size_t n;
    const uint8_t *p = rt__dist_hs_output(&i, &n);
    cr_assert_eq(rt__dist_hs_feed(&a, p, n - 3), (ssize_t)(n - 3));
    cr_assert_eq(rt__dist_hs_eof(&a), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_TRUNCATED);
    rt__dist_hs_destroy(&a);
    /* Closed after the HELLO, before the proof. */
    init(&a, RT_DIST_HS_ACCEPTOR, "b@host2", 2, COOKIE);
    cr_assert_eq(pump(&i, &a, 0), (ssize_t)n);
    cr_assert_eq(rt__dist_hs_eof(&a), CLEO_EPROTO);
    cr_assert_eq(rt__dist_hs_why(&a), RT_DIST_HS_TRUNCATED);
    rt__dist_hs_destroy(&i);
    rt__dist_hs_destroy(&a);
}

/* ---- the cookie ---- */

static char dir[] = "/tmp/cleo_cookie_XXXXXX";

static void mkdir_tmp(void)
{
    strcpy(dir, "/tmp/cleo_cookie_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    unsetenv("CLEO_COOKIE");
}

static void rm_tmp(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    unsetenv("CLEO_COOKIE");
}

static void write_file(const char *path, const char *s, mode_t mode)
{
    unlink(path); /* it may be 0400 */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

Test(rt_dist_cookie, env_wins_over_file_and_data, .init = mkdir_tmp,
     .fini = rm_tmp)
{
    char path[300], *c = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/mine", dir);
    write_file(path, "fromfile\n", 0400);
    setenv("CLEO_COOKIE", "fromenv", 1);
    cr_assert_eq(rt__dist_cookie_load(path, dir, &c, &n), 0);
    cr_assert_str_eq(c, "fromenv");
    cr_assert_eq(n, 7);
    free(c);
    setenv("CLEO_COOKIE", "", 1);
    c = NULL;
    cr_assert_eq(rt__dist_cookie_load(path, dir, &c, &n), CLEO_EINVAL);
    cr_assert_null(c);
}

Test(rt_dist_cookie, file_is_read_and_trimmed, .init = mkdir_tmp,
     .fini = rm_tmp)
{
    char path[300], *c = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/mine", dir);
    write_file(path, "fromfile \n", 0600);
    cr_assert_eq(rt__dist_cookie_load(path, dir, &c, &n), 0);
    cr_assert_str_eq(c, "fromfile");
    cr_assert_eq(n, 8);
    free(c);
    /* A named file that does not exist is an error, not created. */
    snprintf(path, sizeof path, "%s/absent", dir);
    cr_assert_eq(rt__dist_cookie_load(path, dir, &c, &n), -ENOENT);
    cr_assert_eq(access(path, F_OK), -1);
}

Test(rt_dist_cookie, created_in_data_dir_with_mode_0400, .init = mkdir_tmp,
     .fini = rm_tmp)
{
    char path[300], *c = NULL, *c2 = NULL;
    size_t n = 0, n2 = 0;
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), 0);
    cr_assert_eq(n, 64);
    snprintf(path, sizeof path, "%s/cookie", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0400);
    /* The second start reads the same cookie; no temp file is left. */
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c2, &n2), 0);
    cr_assert_str_eq(c, c2);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0);
    free(c);
    free(c2);
}

Test(rt_dist_cookie, a_group_or_world_readable_file_is_refused,
     .init = mkdir_tmp, .fini = rm_tmp)
{
    char path[300], *c = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/cookie", dir);
    write_file(path, "secret\n", 0644);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), -EACCES);
    cr_assert_eq(rt__dist_cookie_load(path, NULL, &c, &n), -EACCES);
    write_file(path, "secret\n", 0640);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), -EACCES);
    cr_assert_null(c);
    chmod(path, 0400);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), 0);
    free(c);
}

Test(rt_dist_cookie, an_empty_or_oversize_cookie_is_refused, .init = mkdir_tmp,
     .fini = rm_tmp)
{
    char path[300], *c = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/cookie", dir);
    write_file(path, "", 0400);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), CLEO_EINVAL);
    write_file(path, " \n", 0400);
    cr_assert_eq(rt__dist_cookie_load(path, NULL, &c, &n), CLEO_EINVAL);
    static char big[RT_DIST_COOKIE_MAX + 2];
    memset(big, 'k', RT_DIST_COOKIE_MAX + 1);
    write_file(path, big, 0400);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), CLEO_EINVAL);
    setenv("CLEO_COOKIE", big, 1);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), CLEO_EINVAL);
    cr_assert_null(c);
    big[RT_DIST_COOKIE_MAX] = '\0'; /* exactly the limit: accepted */
    setenv("CLEO_COOKIE", big, 1);
    cr_assert_eq(rt__dist_cookie_load(NULL, dir, &c, &n), 0);
    cr_assert_eq(n, RT_DIST_COOKIE_MAX);
    free(c);
    unsetenv("CLEO_COOKIE");
    cr_assert_eq(rt__dist_cookie_load(NULL, NULL, &c, &n), CLEO_EINVAL);
}
