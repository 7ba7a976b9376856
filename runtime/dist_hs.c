/*
 * dist_hs.c - the distribution handshake state machine and the cookie
 * file. The protocol and its reasons are described in dist_hs.h.
 */
#include "runtime/dist_hs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

enum { MSG_HELLO = 'H', MSG_PROOF = 'P', MSG_REFUSE = 'R' };

static const uint8_t hello_magic[4] = {'C', 'L', 'D', 'H'};
/* type, magic, version, role, creation, nonce, name_len */
#define HELLO_FIXED (1 + 4 + 1 + 1 + 4 + RT_DIST_NONCE_BYTES + 1)
#define PROOF_LEN (1 + RT_DIST_DIGEST_BYTES)
#define REFUSE_LEN 2

/* A name is name@host: printable ASCII without spaces, one '@' with
 * something on both sides, at most RT_DIST_NAME_MAX bytes. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > RT_DIST_NAME_MAX)
        return false;
    size_t at = n, ats = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return false;
        if (c == '@') {
            at = i;
            ats++;
        }
    }
    return ats == 1 && at > 0 && at + 1 < n;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Queue one message: its length, then the body. The out buffer holds two
 * of the largest messages and at most HELLO plus PROOF or REFUSE is ever
 * queued, so this cannot overflow. */
static uint8_t *out_msg(rt_dist_hs_t *hs, size_t body_len)
{
    if (hs->out_len + 2 + body_len > sizeof hs->out)
        abort(); /* a broken invariant of this file, not peer input */
    uint8_t *p = hs->out + hs->out_len;
    p[0] = (uint8_t)(body_len >> 8);
    p[1] = (uint8_t)body_len;
    hs->out_len += 2 + body_len;
    return p + 2;
}

static int fail(rt_dist_hs_t *hs, rt_dist_hs_why_t why)
{
    hs->state = RT_DIST_HS_FAILED;
    hs->why = why;
    return CLEO_EPROTO;
}

/* Fail, and tell the peer why (our refusal of its cookie or name). */
static int refuse(rt_dist_hs_t *hs, rt_dist_hs_why_t why)
{
    uint8_t *p = out_msg(hs, REFUSE_LEN);
    p[0] = MSG_REFUSE;
    p[1] = (uint8_t)why;
    return fail(hs, why);
}

/* The digest the prover (a role) must present: see dist_hs.h. */
static void digest(const rt_dist_hs_t *hs, rt_dist_hs_role_t prover,
                   uint8_t md[RT_DIST_DIGEST_BYTES])
{
    static const char *const labels[2] = {"cleo-dist-hs-v1 initiator",
                                          "cleo-dist-hs-v1 acceptor"};
    bool we_init = hs->role == RT_DIST_HS_INITIATOR;
    const uint8_t *ni = we_init ? hs->nonce : hs->peer_nonce;
    const uint8_t *na = we_init ? hs->peer_nonce : hs->nonce;
    const char *name_i = we_init ? hs->name : hs->peer_name;
    const char *name_a = we_init ? hs->peer_name : hs->name;
    uint8_t len_i = we_init ? hs->name_len : hs->peer_name_len;
    uint8_t len_a = we_init ? hs->peer_name_len : hs->name_len;
    uint8_t buf[32 + 2 * RT_DIST_NONCE_BYTES + 8 + 2 * (1 + 255) +
                RT_DIST_BIND_BYTES];
    size_t n = strlen(labels[prover]) + 1; /* the NUL ends the label */
    memcpy(buf, labels[prover], n);
    memcpy(buf + n, ni, RT_DIST_NONCE_BYTES);
    n += RT_DIST_NONCE_BYTES;
    memcpy(buf + n, na, RT_DIST_NONCE_BYTES);
    n += RT_DIST_NONCE_BYTES;
    put32(buf + n, we_init ? hs->creation : hs->peer_creation);
    put32(buf + n + 4, we_init ? hs->peer_creation : hs->creation);
    n += 8;
    buf[n++] = len_i;
    memcpy(buf + n, name_i, len_i);
    n += len_i;
    buf[n++] = len_a;
    memcpy(buf + n, name_a, len_a);
    n += len_a;
    if (hs->bound) {
        memcpy(buf + n, hs->binding, RT_DIST_BIND_BYTES);
        n += RT_DIST_BIND_BYTES;
    }
    unsigned int mdlen = RT_DIST_DIGEST_BYTES;
    if (HMAC(EVP_sha256(), hs->cookie, (int)hs->cookie_len, buf, n, md,
             &mdlen) == NULL)
        abort(); /* SHA-256 HMAC cannot fail with valid arguments */
    OPENSSL_cleanse(buf, sizeof buf);
}

static void send_proof(rt_dist_hs_t *hs)
{
    uint8_t *p = out_msg(hs, PROOF_LEN);
    p[0] = MSG_PROOF;
    digest(hs, hs->role, p + 1);
}

int rt__dist_hs_init(rt_dist_hs_t *hs, rt_dist_hs_role_t role, const char *name,
                     uint32_t creation, const void *cookie, size_t cookie_len)
{
    size_t n = name == NULL ? 0 : strlen(name);
    if (!name_ok(name, n) || cookie == NULL || cookie_len == 0 ||
        cookie_len > RT_DIST_COOKIE_MAX ||
        (role != RT_DIST_HS_INITIATOR && role != RT_DIST_HS_ACCEPTOR))
        return CLEO_EINVAL;
    memset(hs, 0, sizeof *hs);
    hs->role = role;
    hs->creation = creation;
    hs->name_len = (uint8_t)n;
    memcpy(hs->name, name, n);
    hs->cookie_len = cookie_len;
    memcpy(hs->cookie, cookie, cookie_len);
    if (RAND_bytes(hs->nonce, RT_DIST_NONCE_BYTES) != 1) {
        rt__dist_hs_destroy(hs);
        return CLEO_EPROTO;
    }
    uint8_t *p = out_msg(hs, HELLO_FIXED + n);
    p[0] = MSG_HELLO;
    memcpy(p + 1, hello_magic, 4);
    p[5] = RT_DIST_HS_VERSION;
    p[6] = (uint8_t)role;
    put32(p + 7, creation);
    memcpy(p + 11, hs->nonce, RT_DIST_NONCE_BYTES);
    p[11 + RT_DIST_NONCE_BYTES] = (uint8_t)n;
    memcpy(p + HELLO_FIXED, name, n);
    return 0;
}

void rt__dist_hs_bind(rt_dist_hs_t *hs, const uint8_t *b)
{
    memcpy(hs->binding, b, RT_DIST_BIND_BYTES);
    hs->bound = true;
}

void rt__dist_hs_destroy(rt_dist_hs_t *hs)
{
    if (hs == NULL)
        return;
    OPENSSL_cleanse(hs, sizeof *hs);
    hs->state = RT_DIST_HS_FAILED;
}

/* The peer's HELLO: check it all before keeping any of it. The peer must
 * play the other role: two initiators or two acceptors means a reflected
 * or crossed connection. */
static int on_hello(rt_dist_hs_t *hs, const uint8_t *b, size_t n)
{
    if (n < HELLO_FIXED || memcmp(b + 1, hello_magic, 4) != 0 ||
        b[5] != RT_DIST_HS_VERSION || b[6] != (uint8_t)(1 - hs->role))
        return fail(hs, RT_DIST_HS_GARBAGE);
    uint8_t name_len = b[11 + RT_DIST_NONCE_BYTES];
    const char *name = (const char *)b + HELLO_FIXED;
    if (n != HELLO_FIXED + (size_t)name_len || !name_ok(name, name_len))
        return fail(hs, RT_DIST_HS_GARBAGE);
    if (name_len == hs->name_len && memcmp(name, hs->name, name_len) == 0)
        return refuse(hs, RT_DIST_HS_OWNNAME);
    hs->peer_creation = get32(b + 7);
    memcpy(hs->peer_nonce, b + 11, RT_DIST_NONCE_BYTES);
    hs->peer_name_len = name_len;
    memcpy(hs->peer_name, name, name_len);
    hs->peer_name[name_len] = '\0';
    hs->state = RT_DIST_HS_WAIT_PROOF;
    /* The initiator proves first; the acceptor only after checking. */
    if (hs->role == RT_DIST_HS_INITIATOR)
        send_proof(hs);
    return 0;
}

static int on_proof(rt_dist_hs_t *hs, const uint8_t *b, size_t n)
{
    if (n != PROOF_LEN)
        return fail(hs, RT_DIST_HS_GARBAGE);
    uint8_t want[RT_DIST_DIGEST_BYTES];
    digest(hs, (rt_dist_hs_role_t)(1 - hs->role), want);
    int diff = CRYPTO_memcmp(want, b + 1, RT_DIST_DIGEST_BYTES);
    OPENSSL_cleanse(want, sizeof want);
    if (diff != 0)
        return hs->role == RT_DIST_HS_ACCEPTOR
                   ? refuse(hs, RT_DIST_HS_BADCOOKIE)
                   : fail(hs, RT_DIST_HS_BADCOOKIE);
    if (hs->role == RT_DIST_HS_ACCEPTOR)
        send_proof(hs);
    hs->state = RT_DIST_HS_DONE;
    return 0;
}

/* A REFUSE names our fault as the peer saw it. */
static int on_refuse(rt_dist_hs_t *hs, const uint8_t *b, size_t n)
{
    if (n != REFUSE_LEN)
        return fail(hs, RT_DIST_HS_GARBAGE);
    if (b[1] == RT_DIST_HS_BADCOOKIE)
        return fail(hs, RT_DIST_HS_REFUSED_COOKIE);
    if (b[1] == RT_DIST_HS_OWNNAME)
        return fail(hs, RT_DIST_HS_REFUSED_NAME);
    return fail(hs, RT_DIST_HS_GARBAGE);
}

/* One whole message body: dispatch on its type and our state. */
static int on_msg(rt_dist_hs_t *hs, const uint8_t *b, size_t n)
{
    if (n == 0)
        return fail(hs, RT_DIST_HS_GARBAGE);
    if (b[0] == MSG_REFUSE)
        return on_refuse(hs, b, n);
    if (b[0] == MSG_HELLO && hs->state == RT_DIST_HS_WAIT_HELLO)
        return on_hello(hs, b, n);
    if (b[0] == MSG_PROOF && hs->state == RT_DIST_HS_WAIT_PROOF)
        return on_proof(hs, b, n);
    return fail(hs, RT_DIST_HS_GARBAGE);
}

ssize_t rt__dist_hs_feed(rt_dist_hs_t *hs, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t used = 0;
    while (used < len && hs->state < RT_DIST_HS_DONE) {
        size_t want = 2;
        if (hs->in_len >= 2)
            want += (size_t)hs->in[0] << 8 | hs->in[1];
        size_t take = want - hs->in_len;
        if (take > len - used)
            take = len - used;
        memcpy(hs->in + hs->in_len, p + used, take);
        hs->in_len += take;
        used += take;
        if (want == 2 && hs->in_len == 2) {
            /* The length is in: refuse it before reading any body. */
            size_t body = (size_t)hs->in[0] << 8 | hs->in[1];
            if (body > RT_DIST_HS_MAX_MSG)
                return fail(hs, RT_DIST_HS_OVERSIZE);
            if (body == 0)
                return fail(hs, RT_DIST_HS_GARBAGE);
            continue;
        }
        if (hs->in_len < want)
            continue;
        hs->in_len = 0;
        if (on_msg(hs, hs->in + 2, want - 2) < 0)
            break;
    }
    if (hs->state == RT_DIST_HS_FAILED)
        return CLEO_EPROTO;
    return (ssize_t)used;
}

int rt__dist_hs_eof(rt_dist_hs_t *hs)
{
    if (hs->state == RT_DIST_HS_DONE)
        return 0;
    if (hs->state == RT_DIST_HS_FAILED)
        return CLEO_EPROTO;
    return fail(hs, RT_DIST_HS_TRUNCATED);
}

const uint8_t *rt__dist_hs_output(const rt_dist_hs_t *hs, size_t *len)
{
    *len = hs->out_len;
    return hs->out;
}

void rt__dist_hs_consumed(rt_dist_hs_t *hs, size_t n)
{
    if (n > hs->out_len)
        abort(); /* the caller's bug */
    memmove(hs->out, hs->out + n, hs->out_len - n);
    hs->out_len -= n;
}

bool rt__dist_hs_is_done(const rt_dist_hs_t *hs)
{
    return hs->state == RT_DIST_HS_DONE;
}

rt_dist_hs_why_t rt__dist_hs_why(const rt_dist_hs_t *hs)
{
    return hs->why;
}

const char *rt__dist_hs_why_str(rt_dist_hs_why_t why)
{
    switch (why) { /* size: dispatch */
    case RT_DIST_HS_OK:
        return "ok";
    case RT_DIST_HS_GARBAGE:
        return "malformed handshake";
    case RT_DIST_HS_OVERSIZE:
        return "oversize handshake message";
    case RT_DIST_HS_TRUNCATED:
        return "connection closed during the handshake";
    case RT_DIST_HS_BADCOOKIE:
        return "bad cookie";
    case RT_DIST_HS_OWNNAME:
        return "peer claims this node's own name";
    case RT_DIST_HS_REFUSED_COOKIE:
        return "peer refused our cookie";
    case RT_DIST_HS_REFUSED_NAME:
        return "peer refused our name (it is its own)";
    }
    return "unknown";
}

const char *rt__dist_hs_peer_name(const rt_dist_hs_t *hs)
{
    return hs->peer_name_len > 0 ? hs->peer_name : NULL;
}

uint32_t rt__dist_hs_peer_creation(const rt_dist_hs_t *hs)
{
    return hs->peer_creation;
}

/* ---- the cookie ---- */

/* Drop trailing whitespace (a file written by echo ends in a newline),
 * then refuse an empty or oversize cookie. */
static int cookie_finish(char *s, size_t n, const char *from, char **out,
                         size_t *out_len)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
                     s[n - 1] == '\t'))
        n--;
    s[n] = '\0';
    if (n == 0 || n > RT_DIST_COOKIE_MAX) {
        fprintf(stderr, "cleo: dist: the cookie from %s is %s\n", from,
                n == 0 ? "empty" : "longer than 1024 bytes");
        OPENSSL_cleanse(s, n);
        free(s);
        return CLEO_EINVAL;
    }
    *out = s;
    *out_len = n;
    return 0;
}

/* Like ssh with a private key: the cookie is a secret, so a file others
 * may read, or that someone else owns, is refused rather than used. */
static int cookie_check(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "cleo: dist: cookie %s is not a regular file\n", path);
        return -EACCES;
    }
    if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
        fprintf(stderr,
                "cleo: dist: cookie file %s has mode %03o and owner %u; "
                "it must be owned by this user and have no group or other "
                "permissions (chmod 400 %s)\n",
                path, (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid, path);
        return -EACCES;
    }
    return 0;
}

static int cookie_read(const char *path, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    int rc = cookie_check(fd, path);
    char *s = NULL;
    if (rc < 0)
        goto fail;
    /* One byte over the limit tells an oversize cookie apart. */
    s = cleo_xmalloc(RT_DIST_COOKIE_MAX + 2);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, s + n, RT_DIST_COOKIE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto fail;
        }
        n += (size_t)r;
        if (r == 0 || n == RT_DIST_COOKIE_MAX + 1)
            break;
    }
    close(fd);
    return cookie_finish(s, n, path, out, out_len);
fail:
    if (s != NULL)
        OPENSSL_cleanse(s, RT_DIST_COOKIE_MAX + 2);
    free(s);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Create <dir>/cookie with a fresh random cookie, mode 0400. The new file
 * is complete before it has its name: written under a temporary name made
 * with O_EXCL, then link()ed into place. link, unlike rename, fails if the
 * name exists, so when two nodes race the loser keeps the winner's cookie
 * (EEXIST is success here: the caller reads the file). */
static int cookie_create(const char *dir, const char *path)
{
    uint8_t raw[32];
    uint32_t tag;
    char hex[2 * sizeof raw + 2], tmp[4096];
    if (RAND_bytes(raw, sizeof raw) != 1 ||
        RAND_bytes((uint8_t *)&tag, sizeof tag) != 1)
        return CLEO_EPROTO;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[2 * sizeof raw] = '\n';
    OPENSSL_cleanse(raw, sizeof raw);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.cookie.%ld.%08x.tmp", dir,
                         (long)getpid(), (unsigned)tag) >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, hex, 2 * sizeof raw + 1);
    OPENSSL_cleanse(hex, sizeof hex);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && link(tmp, path) < 0 && errno != EEXIST)
        rc = -errno;
    unlink(tmp);
    if (rc == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
        fsync(fd); /* the new name survives a crash */
        close(fd);
    }
    return rc;
}

int rt__dist_cookie_load(const char *cookie_file, const char *data_dir,
                         char **out, size_t *out_len)
{
    const char *env = getenv("CLEO_COOKIE");
    if (env != NULL) {
        size_t n = strlen(env);
        if (n > RT_DIST_COOKIE_MAX)
            n = RT_DIST_COOKIE_MAX + 1; /* refused as oversize */
        char *s = cleo_xmalloc(n + 1);
        memcpy(s, env, n);
        return cookie_finish(s, n, "CLEO_COOKIE", out, out_len);
    }
    if (cookie_file != NULL && cookie_file[0] != '\0') {
        int rc = cookie_read(cookie_file, out, out_len);
        if (rc == -ENOENT)
            fprintf(stderr, "cleo: dist: cookie file %s does not exist\n",
                    cookie_file);
        return rc;
    }
    if (data_dir == NULL || data_dir[0] == '\0')
        return CLEO_EINVAL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/cookie", data_dir) >=
        sizeof path)
        return -ENAMETOOLONG;
    int rc = cookie_read(path, out, out_len);
    if (rc != -ENOENT)
        return rc;
    if ((rc = cookie_create(data_dir, path)) < 0) {
        fprintf(stderr, "cleo: dist: cannot create cookie %s: %s\n", path,
                cleo_strerror(rc));
        return rc;
    }
    return cookie_read(path, out, out_len);
}
